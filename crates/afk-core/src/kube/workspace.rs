// One file: the turn's pod and its git containers' rules (~500 lines) and the table tests that pin them, kept beside them
//! afk's workspace inside a turn's Job
//! (docs/kubernetes.md#3-the-agents-image-and-the-git-around-it), pure: the pod
//! a turn becomes when `runner.workspace = "afk"` runs on Kubernetes, and the
//! one line its forwarding container leaves for the tick.
//!
//! The pod runs, in order (init containers run one after another, each to
//! its end, before the main container):
//! 1. `checkout` (init, `git_image`, the forge credential mounted): afk's
//!    cache on a volume of the git containers' own, the agent's checkout on
//!    the shared `work` volume, standalone (no object borrowed from a path
//!    the agent cannot see);
//! 2. `agent` (init, the agent's image, **no** credential mounted): the
//!    agent in the checkout; its exit status kept in a file, so the pod goes
//!    on to forwarding whatever the agent's status;
//! 3. `forward` (main, `git_image`, the credential mounted): the turn's work
//!    read from the checkout into the cache and only `afk/issue-<N>` pushed
//!    (docs/how-it-works.md#the-workspace); its result is its termination
//!    message, and its exit code is the agent's.

use crate::types::Invalid;
use serde_json::{Value, json};

/// The shared volume's mount point: the run folder of the pod (the checkout
/// and the agent's local push repository).
pub(crate) const WORK_PATH: &str = "/workspace";
/// The agent's checkout (its working directory).
pub(crate) const CHECKOUT_PATH: &str = "/workspace/work";
/// Where the agent's wrapper keeps its exit status.
pub(crate) const AGENT_EXIT_PATH: &str = "/workspace/agent-exit";
/// afk's cache repository: a volume only the git containers mount.
pub(crate) const CACHE_PATH: &str = "/afk-git";
/// The forge credential (`git_secret`): mounted only in the git containers.
pub(crate) const SECRET_PATH: &str = "/afk-git-secret";
/// The forwarding container's result: Kubernetes keeps at most 4096 bytes
/// of it as the container's termination message.
pub(crate) const RESULT_PATH: &str = "/dev/termination-log";
/// What Kubernetes keeps of a termination message.
pub const RESULT_MAX: usize = 4096;

/// How the git containers hand `git_secret`'s `token` to git: the tick
/// says (`SCHEME_VAR`), from the forge's profile and the kind of credential
/// afk itself holds, so the git containers never branch on the forge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GitAuth {
    /// `username` (afk's login) and `token` as the password, through askpass
    Login,
    /// a PAT as `Authorization: Basic` of `:` and the token, with no user
    /// name (Azure DevOps); the Secret needs no `username`
    Basic,
    /// an Entra access token as `Authorization: Bearer`
    Bearer,
}

/// The variable that tells the git containers the [`GitAuth`].
pub const SCHEME_VAR: &str = "AFK_GIT_SCHEME";

impl GitAuth {
    pub fn as_str(self) -> &'static str {
        match self {
            GitAuth::Login => "login",
            GitAuth::Basic => "basic",
            GitAuth::Bearer => "bearer",
        }
    }

    /// The value of [`SCHEME_VAR`]; unset or empty is [`GitAuth::Login`] (a
    /// Job made before the variable existed), anything else unknown an
    /// error: never a credential sent in a way the tick did not ask for.
    // Err is a string: the one line the box prints before it exits
    pub fn parse(value: Option<&str>) -> std::result::Result<GitAuth, String> {
        match value.map(str::trim).unwrap_or("") {
            "" | "login" => Ok(GitAuth::Login),
            "basic" => Ok(GitAuth::Basic),
            "bearer" => Ok(GitAuth::Bearer),
            other => Err(format!(
                "{SCHEME_VAR} {:?} is not login, basic or bearer",
                crate::sanitize::one_line(other, 40)
            )),
        }
    }

    /// Whether git gets the credential as a header (no user name needed).
    pub fn is_header(self) -> bool {
        self != GitAuth::Login
    }
}

/// The git side of a turn's pod.
pub struct GitSide<'a> {
    /// `runner.kubernetes.git_image` (afk's own image by default)
    pub image: &'a str,
    /// `runner.kubernetes.git_secret`: key `token`, and `username` when
    /// `auth` is [`GitAuth::Login`]
    pub secret: &'a str,
    /// how the git containers hand the token to git
    pub auth: GitAuth,
    /// the repository's git URL on the forge (no credential in it)
    pub url: &'a str,
    /// the change gate's policy the forwarding container applies
    /// ([`gate_env`]): `[gate]`'s protected, allow and size limits
    pub gate: &'a str,
}

/// The variable that hands `[gate]` to the forwarding container.
pub const GATE_VAR: &str = "AFK_GATE";

/// `[gate]` as the forwarding container reads it (`GATE_VAR`): one JSON
/// object of the protected and allowed globs, the size limits, whether
/// a dependency may come from anywhere (`dependency_sources = "any"`) and
/// the words with which a commit resolves a work item (Azure DevOps).
pub fn gate_env(policy: &crate::gate::Policy, protected: &[String], allow: &[String]) -> String {
    json!({
        "protected": protected,
        "allow": allow,
        "max_files": policy.max_files,
        "max_bytes": policy.max_bytes,
        "dependency_sources": if policy.any_source { "any" } else { "registry" },
        "resolving": policy.resolving,
        "tracker": policy.tracker.0,
        "tracker_keys": policy.tracker.1,
    })
    .to_string()
}

/// The policy in `GATE_VAR`'s text; a text that is not one is the built-in
/// set with no size limit and no `allow` (closed: never a gate lifted by a
/// text afk did not write), with why.
pub fn gate_policy(text: Option<&str>) -> (crate::gate::Policy, Option<String>) {
    let closed = || crate::gate::Policy::of(&[], &[], 0, 0).expect("the built-in set parses");
    let Some(text) = text.filter(|t| !t.trim().is_empty()) else {
        return (closed(), Some(format!("{GATE_VAR} is not set")));
    };
    let v: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => return (closed(), Some(format!("{GATE_VAR} does not read ({e})"))),
    };
    let globs = |k: &str| -> Vec<String> {
        v[k].as_array()
            .into_iter()
            .flatten()
            .filter_map(|g| g.as_str().map(str::to_string))
            .collect()
    };
    let n = |k: &str| v[k].as_u64().unwrap_or(0);
    match crate::gate::Policy::of(
        &globs("protected"),
        &globs("allow"),
        n("max_files"),
        n("max_bytes"),
    ) {
        Ok(mut p) => {
            // only the word afk writes lifts the registry rule
            p.any_source = v["dependency_sources"] == "any";
            p.resolving = globs("resolving");
            p.tracker = (
                v["tracker"].as_str().unwrap_or("").to_string(),
                globs("tracker_keys"),
            );
            (p, None)
        }
        Err((key, e)) => (closed(), Some(format!("{GATE_VAR}: {key}: {e}"))),
    }
}

fn git_container(name: &str, g: &GitSide, env: &[(String, String)], template: &Value) -> Value {
    let mut vars: Vec<Value> = env
        .iter()
        .filter(|(k, _)| {
            // what the git side needs; never the agent's own extras
            matches!(
                k.as_str(),
                "AFK_RUN_ID" | "AFK_REPO" | "AFK_ISSUE" | "AFK_BRANCH" | "AFK_TURN"
            )
        })
        .map(|(k, v)| json!({"name": k, "value": v}))
        .collect();
    for (k, v) in [
        ("AFK_GIT_URL", g.url),
        ("AFK_WORKSPACE_DIR", WORK_PATH),
        ("AFK_GIT_CACHE", CACHE_PATH),
        ("AFK_GIT_SECRET", SECRET_PATH),
        ("AFK_AGENT_EXIT", AGENT_EXIT_PATH),
        ("AFK_RESULT_FILE", RESULT_PATH),
        (SCHEME_VAR, g.auth.as_str()),
        (GATE_VAR, g.gate),
    ] {
        vars.push(json!({"name": k, "value": v}));
    }
    json!({
        "name": name,
        "image": g.image,
        "command": ["afk", "workspace", name],
        "env": vars,
        "volumeMounts": [
            {"name": "work", "mountPath": WORK_PATH},
            {"name": "git", "mountPath": CACHE_PATH},
            {"name": SECRET_VOLUME, "mountPath": SECRET_PATH, "readOnly": true}
        ],
        "terminationMessagePath": RESULT_PATH,
        "terminationMessagePolicy": "File",
        "resources": template["resources"].clone(),
        "securityContext": template["securityContext"].clone()
    })
}

/// Turn a Job of one `agent` container into the workspace's pod: checkout
/// and agent as init containers, forwarding as the main container. The
/// agent's container mounts the shared checkout and the prompt, nothing of
/// the git side; its command runs under `sh` so that its exit status is
/// kept (`$AFK_AGENT_EXIT`) and the pod goes on to forward its work.
pub fn with_git(job: &mut Value, g: &GitSide, env: &[(String, String)]) {
    let pod = &mut job["spec"]["template"]["spec"];
    let mut agent = pod["containers"][0].take();
    let argv = agent["command"].take();
    let argv = argv.as_array().cloned().unwrap_or_default();
    agent["command"] = json!(crate::kube::watchdog::agent_command(&argv, false));
    agent["workingDir"] = json!(CHECKOUT_PATH);
    if let Some(vars) = agent["env"].as_array_mut() {
        vars.retain(|v| v["name"] != "AFK_WORKSPACE");
        vars.push(json!({"name": "AFK_WORKSPACE", "value": "afk"}));
        vars.push(json!({"name": "AFK_AGENT_EXIT", "value": AGENT_EXIT_PATH}));
    }
    if let Some(mounts) = agent["volumeMounts"].as_array_mut() {
        mounts.push(json!({"name": "work", "mountPath": WORK_PATH}));
    }
    let checkout = git_container("checkout", g, env, &agent);
    let forward = git_container("forward", g, env, &agent);
    pod["initContainers"] = json!([checkout, agent]);
    pod["containers"] = json!([forward]);
    if let Some(vols) = pod["volumes"].as_array_mut() {
        vols.push(json!({"name": "work", "emptyDir": {}}));
        vols.push(json!({"name": "git", "emptyDir": {}}));
        // the kubelet writes a Secret's files as root: group 1000 (the pod's
        // fsGroup, the git containers' user's group) may read them, others
        // not; only the git containers mount it (kubernetes#57923)
        vols.push(
            json!({"name": SECRET_VOLUME, "secret": {"secretName": g.secret, "defaultMode": 0o440}}),
        );
    }
    pod["securityContext"]["fsGroup"] = json!(1000);
}

/// What the forwarding container did, as its termination message says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Result {
    /// The turn left no new commit and no change.
    Nothing,
    /// The branch on the forge is now `sha`.
    Pushed {
        sha: String,
        commits: usize,
        leftover: bool,
        base: String,
        /// the run's dependency changes at `sha`, as the PR body lists them
        /// (`deps::body_lines`: names, versions, lockfiles)
        deps: Vec<String>,
    },
    /// Someone else pushed and the turn's work does not apply on their head.
    Conflict { head: String },
    /// afk would not forward the checkout, or could not: the reason.
    Refused(String),
    /// The change gate refused the turn: nothing pushed; its reasons as
    /// `gate::lines` says them (paths, counts, versions and ids only).
    Gated { lines: Vec<String> },
}

/// How much of the termination message a gate's reasons may take.
const GATED_BYTES: usize = 3000;

/// How much of it a push's dependency lines may take (beside the push).
const DEPS_BYTES: usize = 2500;

/// `lines`, each one line of at most 400 bytes, within `max` bytes in all:
/// past it, one line says how many more there were.
fn bounded_lines(lines: &[String], max: usize) -> Vec<String> {
    let mut kept: Vec<String> = vec![];
    let mut used = 0;
    for l in lines {
        let l = crate::sanitize::one_line(l, 400);
        if used + l.len() > max {
            kept.push(format!("- and {} more", lines.len() - kept.len()));
            break;
        }
        used += l.len() + 4;
        kept.push(l);
    }
    kept
}

/// The lines of a list `v` holds (at most 60, each one line of at most 400
/// bytes): data the pod wrote, never more.
fn lines_in(v: &Value) -> Vec<String> {
    v.as_array()
        .into_iter()
        .flatten()
        .take(60)
        .filter_map(|l| l.as_str())
        .map(|l| crate::sanitize::one_line(l, 400))
        .collect()
}

/// The termination message for `r`: one JSON object, within Kubernetes's
/// 4096 bytes (a long reason is cut and says so).
pub fn message(r: &Result) -> String {
    let v = match r {
        Result::Nothing => json!({"forwarded": "nothing"}),
        Result::Pushed {
            sha,
            commits,
            leftover,
            base,
            deps,
        } => json!({"forwarded": "pushed", "sha": sha, "commits": commits,
            "leftover": leftover, "base": crate::sanitize::one_line(base, 200),
            "deps": bounded_lines(deps, DEPS_BYTES)}),
        Result::Conflict { head } => json!({"forwarded": "conflict", "head": head}),
        Result::Refused(why) => {
            json!({"forwarded": "refused", "why": crate::sanitize::one_line(why, 3000)})
        }
        Result::Gated { lines } => {
            json!({"forwarded": "gated", "reasons": bounded_lines(lines, GATED_BYTES)})
        }
    };
    v.to_string()
}

fn is_sha(s: &str) -> bool {
    matches!(s.len(), 40 | 64) && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The forwarding container's result from its termination message (the pod
/// is the agent's to run too, so its words are checked, never trusted as
/// more than data): None for a message afk's container never writes.
pub fn parse(message: &str) -> Option<Result> {
    let v: Value = serde_json::from_str(message.get(..RESULT_MAX).unwrap_or(message)).ok()?;
    let text = |k: &str| v[k].as_str().map(str::to_string);
    match v["forwarded"].as_str()? {
        "nothing" => Some(Result::Nothing),
        "pushed" => {
            let sha = text("sha").filter(|s| is_sha(s))?;
            Some(Result::Pushed {
                sha,
                commits: v["commits"].as_u64().unwrap_or(0) as usize,
                leftover: v["leftover"].as_bool().unwrap_or(false),
                base: crate::sanitize::one_line(&text("base").unwrap_or_default(), 200),
                deps: lines_in(&v["deps"]),
            })
        }
        "conflict" => Some(Result::Conflict {
            head: text("head").filter(|s| is_sha(s)).unwrap_or_default(),
        }),
        "refused" => Some(Result::Refused(crate::sanitize::one_line(
            &text("why").unwrap_or_default(),
            500,
        ))),
        "gated" => Some(Result::Gated {
            lines: lines_in(v.get("reasons")?),
        }),
        _ => None,
    }
}

/// The name of the git credential's volume in a turn's pod.
pub(crate) const SECRET_VOLUME: &str = "git-secret";

/// Whether a container of `pod` (a pod spec) may read the files of the
/// Secret volume `volume` as the kubelet writes them: root's, moded
/// `defaultMode` (0644 unset), and with a pod `fsGroup` that group's with
/// group read added (kubernetes/kubernetes#57923). The container runs as its
/// `runAsUser` (else the pod's; neither: the image's, taken as root), its
/// `runAsGroup` (else the image's: 0), with the `fsGroup` and
/// `supplementalGroups` as further groups. Each container that mounts the
/// volume: (name, may read).
pub(crate) fn secret_readers(pod: &Value, volume: &str) -> Vec<(String, bool)> {
    let id = |v: &Value| v.as_u64();
    let sc = &pod["securityContext"];
    let fs_group = id(&sc["fsGroup"]);
    let Some(vol) = pod["volumes"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|v| v["name"] == volume)
    else {
        return vec![];
    };
    let mut mode = id(&vol["secret"]["defaultMode"]).unwrap_or(0o644) & 0o777;
    let file_group = match fs_group {
        Some(g) => {
            mode |= 0o440;
            g
        }
        None => 0,
    };
    let containers = ["initContainers", "containers"]
        .iter()
        .flat_map(|k| pod[*k].as_array().cloned().unwrap_or_default());
    containers
        .filter(|c| {
            c["volumeMounts"]
                .as_array()
                .is_some_and(|m| m.iter().any(|m| m["name"] == volume))
        })
        .map(|c| {
            let csc = &c["securityContext"];
            let uid = id(&csc["runAsUser"])
                .or_else(|| id(&sc["runAsUser"]))
                .unwrap_or(0);
            let gid = id(&csc["runAsGroup"])
                .or_else(|| id(&sc["runAsGroup"]))
                .unwrap_or(0);
            let mut groups: Vec<u64> = vec![gid];
            groups.extend(fs_group);
            groups.extend(
                sc["supplementalGroups"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(id),
            );
            let read = uid == 0
                || (groups.contains(&file_group) && mode & 0o040 != 0)
                || mode & 0o004 != 0;
            (c["name"].as_str().unwrap_or("").to_string(), read)
        })
        .collect()
}

/// The rule doctor checks on the pod afk will send: every container that
/// mounts the git credential can read it, and the agent's container does not
/// mount it. (ok, what to say).
pub fn secret_verdict(pod: &Value) -> (bool, String) {
    let readers = secret_readers(pod, SECRET_VOLUME);
    if readers.iter().any(|(name, _)| name == "agent") {
        return (
            false,
            "the agent's container mounts the git credential: it must never".into(),
        );
    }
    let blind: Vec<&str> = readers
        .iter()
        .filter(|(_, read)| !read)
        .map(|(name, _)| name.as_str())
        .collect();
    if blind.is_empty() {
        (
            true,
            format!(
                "the git containers ({}) can read runner.kubernetes.git_secret as the kubelet writes it; the agent's cannot mount it",
                readers
                    .iter()
                    .map(|r| r.0.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )
    } else {
        (
            false,
            format!(
                "the container{} {} cannot read runner.kubernetes.git_secret's files as the kubelet writes them (root's; give the pod an fsGroup the container's user is in)",
                if blind.len() == 1 { "" } else { "s" },
                blind.join(", ")
            ),
        )
    }
}

/// Where a key of the mounted git Secret is read, as the folders below the
/// mount to walk and then the key: the kubelet writes each key as a link
/// `key -> ..data/key`, `..data` a link to a folder `..<timestamp>` beside
/// it holding the files (its atomic writer). Those two links are the
/// kubelet's, inside the Secret's own mount (which the agent's container
/// never mounts), so they are followed, and nothing else is: `key_link` is
/// what the key's entry links to (None: a plain file, read as it is),
/// `data_link` what `..data` links to. The folders and the key are then
/// opened without following a link, so neither leads out of the mount.
pub fn secret_key_path(
    key: &str,
    key_link: Option<&str>,
    data_link: Option<&str>,
) -> std::result::Result<Vec<String>, Invalid> {
    let plain = |s: &str| !s.is_empty() && s != "." && s != ".." && !s.contains('/');
    if !plain(key) || key.starts_with("..") {
        return Err(Invalid(format!("{key:?} is not a Secret's key")));
    }
    let Some(link) = key_link else {
        return Ok(vec![key.to_string()]);
    };
    if link != format!("..data/{key}") {
        return Err(Invalid(format!(
            "it links to {link:?}, not to ..data/{key} as the kubelet's do"
        )));
    }
    match data_link {
        Some(d) if plain(d) && d.starts_with("..") && d.len() > 2 && d != "..data" => {
            Ok(vec![d.to_string(), key.to_string()])
        }
        Some(d) => Err(Invalid(format!(
            "..data links to {d:?}, not to a folder ..<timestamp> beside it as the kubelet's does"
        ))),
        None => Err("..data is not a link as the kubelet writes it".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A turn Job's pod as `with_git` makes it from a plain agent container.
    fn with_git_pod() -> Value {
        let mut job = json!({"spec": {"template": {"spec": {"securityContext": {"runAsUser": 1000}, "containers": [{"name": "agent", "command": ["true"], "env": [], "volumeMounts": []}], "volumes": []}}}});
        let g = GitSide {
            image: "afk",
            secret: "afk-git",
            auth: GitAuth::Login,
            url: "https://git.example.org/a/b.git",
            gate: "{}",
        };
        with_git(&mut job, &g, &[]);
        job["spec"]["template"]["spec"].take()
    }

    #[test]
    fn the_git_secret_is_readable_by_the_pods_group_on_a_plain_cluster() {
        let pod = &with_git_pod();
        assert_eq!(pod["securityContext"]["fsGroup"], 1000, "{pod}");
        let secret = pod["volumes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["name"] == "git-secret")
            .unwrap();
        assert_eq!(secret["secret"]["defaultMode"], 0o440, "{secret}");
    }

    #[test]
    fn the_git_credential_is_readable_by_every_git_container_and_mounted_by_no_agent() {
        let built = with_git_pod;
        let secret_mode = |pod: &mut Value, m: u64| {
            for v in pod["volumes"].as_array_mut().unwrap() {
                if v["name"] == SECRET_VOLUME {
                    v["secret"]["defaultMode"] = json!(m);
                }
            }
        };
        let as_built = built();
        let mut no_fs_group = built();
        no_fs_group["securityContext"]
            .as_object_mut()
            .unwrap()
            .remove("fsGroup");
        let mut owner_only = no_fs_group.clone();
        secret_mode(&mut owner_only, 0o400);
        let mut world_readable = no_fs_group.clone();
        secret_mode(&mut world_readable, 0o444);
        let mut as_root = owner_only.clone();
        as_root["securityContext"]["runAsUser"] = json!(0);
        let mut agent_mounts = built();
        agent_mounts["initContainers"][1]["volumeMounts"]
            .as_array_mut()
            .unwrap()
            .push(json!({"name": SECRET_VOLUME, "mountPath": "/x"}));
        let cases = [
            (
                "afk's pod: fsGroup 1000 makes 0440 group 1000's",
                as_built,
                true,
            ),
            (
                "0440 root's, uid 1000 in group 0 (the image's)",
                no_fs_group,
                true,
            ),
            (
                "0400 root's: only root reads it (kubernetes#57923)",
                owner_only,
                false,
            ),
            ("0444: anyone", world_readable, true),
            ("root reads anything", as_root, true),
            ("the agent mounting it is refused", agent_mounts, false),
        ];
        for (rule, pod, want) in cases {
            let (ok, said) = secret_verdict(&pod);
            assert_eq!(ok, want, "{rule}: {said}");
        }
        let mut blind = built();
        blind["securityContext"]
            .as_object_mut()
            .unwrap()
            .remove("fsGroup");
        secret_mode(&mut blind, 0o400);
        let (_, said) = secret_verdict(&blind);
        assert!(
            said.contains("checkout, forward") && said.contains("fsGroup"),
            "{said}"
        );
    }

    fn job() -> Value {
        json!({"spec": {"template": {"spec": {
            "containers": [{"name": "agent", "image": "agent:1", "command": ["claude", "-p"],
                "env": [{"name": "AFK_REPO", "value": "acme/api"}],
                "envFrom": [{"secretRef": {"name": "model-key"}}],
                "volumeMounts": [{"name": "prompt", "mountPath": "/afk", "readOnly": true}],
                "resources": {"limits": {"cpu": "1"}}, "securityContext": {"runAsNonRoot": true}}],
            "volumes": [{"name": "prompt", "configMap": {"name": "x"}}]
        }}}})
    }

    fn env() -> Vec<(String, String)> {
        [
            ("AFK_RUN_ID", "7"),
            ("AFK_REPO", "acme/api"),
            ("AFK_BRANCH", "afk/issue-3"),
            ("AFK_BUDGET_USD", "2"),
        ]
        .into_iter()
        .map(|(k, v)| (k.into(), v.into()))
        .collect()
    }

    /// The git containers are told how to hand the token to git, and take
    /// only the words the tick writes (on Azure DevOps the same header as
    /// afk's own git).
    #[test]
    fn the_git_containers_are_told_how_git_gets_the_credential() {
        for auth in [GitAuth::Login, GitAuth::Basic, GitAuth::Bearer] {
            let mut j = job();
            let g = GitSide {
                image: "afk:1",
                secret: "afk-git",
                auth,
                url: "https://dev.azure.com/fabrikam/Fabrikam/_git/api",
                gate: "{}",
            };
            with_git(&mut j, &g, &env());
            let pod = &j["spec"]["template"]["spec"];
            for git in [&pod["initContainers"][0], &pod["containers"][0]] {
                let said: Vec<&Value> = git["env"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|v| v["name"] == SCHEME_VAR)
                    .map(|v| &v["value"])
                    .collect();
                assert_eq!(said, [&json!(auth.as_str())], "{auth:?}");
            }
            let agent = pod["initContainers"][1]["env"].to_string();
            assert!(!agent.contains(SCHEME_VAR), "{agent}");
            assert_eq!(GitAuth::parse(Some(auth.as_str())), Ok(auth));
        }
        assert_eq!(GitAuth::parse(None), Ok(GitAuth::Login));
        assert_eq!(GitAuth::parse(Some(" ")), Ok(GitAuth::Login));
        assert!(GitAuth::parse(Some("Basic")).is_err());
        assert!(GitAuth::parse(Some("token")).is_err());
        assert!(GitAuth::Basic.is_header() && GitAuth::Bearer.is_header());
        assert!(!GitAuth::Login.is_header());
    }

    #[test]
    fn the_forge_credential_is_mounted_only_in_the_git_containers() {
        let mut j = job();
        let g = GitSide {
            image: "afk:1",
            secret: "afk-git",
            auth: GitAuth::Login,
            url: "https://forge.example/acme/api.git",
            gate: "{}",
        };
        with_git(&mut j, &g, &env());
        let pod = &j["spec"]["template"]["spec"];
        let names = |k: &str| -> Vec<String> {
            pod[k]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["name"].as_str().unwrap().to_string())
                .collect()
        };
        // the order is the guarantee: checkout, then the agent, then forwarding
        assert_eq!(names("initContainers"), ["checkout", "agent"]);
        assert_eq!(names("containers"), ["forward"]);
        let mounts = |c: &Value| -> Vec<String> {
            c["volumeMounts"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| m["name"].as_str().unwrap().to_string())
                .collect()
        };
        let agent = &pod["initContainers"][1];
        assert_eq!(mounts(agent), ["prompt", "work"], "the agent: no git side");
        assert_eq!(agent["envFrom"][0]["secretRef"]["name"], "model-key");
        assert_eq!(agent["workingDir"], CHECKOUT_PATH);
        assert_eq!(agent["command"][0], "/bin/sh");
        assert_eq!(
            agent["command"][4], "claude",
            "the agent's own argv follows"
        );
        for git in [&pod["initContainers"][0], &pod["containers"][0]] {
            assert_eq!(mounts(git), ["work", "git", "git-secret"]);
            assert!(
                git.get("envFrom").is_none(),
                "the model's key stays the agent's"
            );
            let vars = git["env"].to_string();
            assert!(vars.contains("AFK_GIT_URL") && !vars.contains("AFK_BUDGET_USD"));
            assert_eq!(git["securityContext"]["runAsNonRoot"], true);
        }
        let secret = pod["volumes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["name"] == "git-secret")
            .unwrap();
        assert_eq!(secret["secret"]["secretName"], "afk-git");
    }

    #[test]
    fn the_gate_reaches_the_forwarding_container_as_written_and_closed_when_it_does_not_read() {
        let mut written = crate::gate::Policy::of(&[], &[], 5, 0)
            .unwrap()
            .with_resolving(&["fixes", "closes"]);
        written.any_source = true;
        let text = gate_env(
            &written,
            &["deploy/**".into()],
            &[".github/workflows/docs.yml".into()],
        );
        let (p, why) = gate_policy(Some(&text));
        assert_eq!(why, None);
        assert!(p.any_source);
        assert_eq!(p.resolving, ["fixes", "closes"]);
        assert!(p.protects("deploy/prod.yml"));
        assert!(p.protects(".github/workflows/ci.yml"));
        assert!(!p.protects(".github/workflows/docs.yml"), "allowed by name");
        assert_eq!(p.max_files, 5);
        // absent, not JSON, a bad glob: the built-in set, nothing allowed
        for bad in [None, Some(""), Some("{"), Some(r#"{"allow": ["a/../b"]}"#)] {
            let (p, why) = gate_policy(bad);
            assert!(why.is_some(), "{bad:?}");
            assert!(p.protects(".github/workflows/docs.yml"), "{bad:?}");
            assert!(p.allow.is_empty() && p.max_files == 0, "{bad:?}");
            assert!(!p.any_source, "{bad:?}");
        }
    }

    #[test]
    fn the_forwarding_result_reads_back_and_nothing_else_does() {
        let sha = "a".repeat(40);
        let pushed = Result::Pushed {
            sha: sha.clone(),
            commits: 2,
            leftover: true,
            base: "main".into(),
            deps: vec!["- `bytes` 1.4.0 → 1.5.0 (crates.io, `Cargo.lock`)".into()],
        };
        let long = Result::Refused("x".repeat(10_000));
        for r in [
            Result::Nothing,
            pushed,
            Result::Conflict { head: sha.clone() },
            Result::Refused("a symlinked .git".into()),
            Result::Gated {
                lines: vec!["- `.github/workflows/ci.yml`: modified by abc1234".into()],
            },
        ] {
            assert_eq!(parse(&message(&r)), Some(r.clone()), "{r:?}");
        }
        let many = Result::Gated {
            lines: (0..500)
                .map(|i| format!("- `p{i}.yml`: {}", "x".repeat(300)))
                .collect(),
        };
        for big in [&long, &many] {
            assert!(
                message(big).len() <= RESULT_MAX,
                "within what Kubernetes keeps"
            );
        }
        assert!(message(&many).contains("more"), "the cut is said");
        for hostile in [
            "",
            "not json",
            "{\"forwarded\": \"pushed\", \"sha\": \"main\"}",
            "{\"forwarded\": \"merged\"}",
            "{}",
        ] {
            assert_eq!(parse(hostile), None, "{hostile}");
        }
    }

    #[test]
    fn a_secret_key_is_read_only_through_the_kubelets_links_inside_its_mount() {
        let ts = "..2026_01_01_12_00_00.123";
        let kubelets = Some("..data/token");
        // (rule, what `token` links to, what `..data` links to, the path read)
        type Case<'a> = (&'a str, Option<&'a str>, Option<&'a str>, &'a [&'a str]);
        let cases: [Case; 12] = [
            (
                "the atomic writer's layout",
                kubelets,
                Some(ts),
                &[ts, "token"],
            ),
            ("a plain file (no kubelet links)", None, None, &["token"]),
            (
                "a key linking anywhere else",
                Some("/etc/passwd"),
                Some(ts),
                &[],
            ),
            (
                "a key linking out through ..",
                Some("../token"),
                Some(ts),
                &[],
            ),
            (
                "a key linking to another key",
                Some("..data/username"),
                Some(ts),
                &[],
            ),
            (
                "a key linking past ..data",
                Some("..2026/token"),
                Some(ts),
                &[],
            ),
            ("..data out of the mount", kubelets, Some("/tmp/x"), &[]),
            ("..data up a folder", kubelets, Some(".."), &[]),
            (
                "..data through a nested path",
                kubelets,
                Some("..ts/../.."),
                &[],
            ),
            ("..data to itself", kubelets, Some("..data"), &[]),
            (
                "..data to a name not the kubelet's",
                kubelets,
                Some("data"),
                &[],
            ),
            ("..data not a link", kubelets, None, &[]),
        ];
        for (rule, key_link, data_link, want) in cases {
            let got = secret_key_path("token", key_link, data_link).unwrap_or_default();
            assert_eq!(got, want, "{rule}");
        }
        for key in ["", ".", "..", "a/b", "..data"] {
            assert!(
                secret_key_path(key, None, None).is_err(),
                "{key:?} is no key"
            );
        }
    }
}
