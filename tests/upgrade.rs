//! `afk upgrade` and `afk upgrade verdict` through the binary (SPEC 8), against
//! the sandbox (a forge with git-backed mirrors served over smart HTTP, an OCI
//! registry, CI statuses posted through its admin API) and an upstream git
//! repository on disk. The seed's acceptance list (V1-V9) is the outline.

#[macro_use]
mod support;

use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use support::{Afk, Sandbox, Scratch, git};

const MIRROR: &str = "maint/nginx";
const CTX: &str = "cc-ci/testme";

const COMPOSE: &str = "version: \"3.8\"\r\n\r\nservices:\r\n  app:\r\n    # the web server\r\n    image: \"nginx:1.25.3\"   # keep quoted\r\n    deploy:\r\n      labels:\r\n        - \"coop-cloud.${STACK_NAME}.version=1.2.3+1.25.3\"\r\n  db:\r\n    image: postgres:15.4\r\n";

const NGINX: &[&str] = &[
    "1.24.0",
    "1.25.3",
    "1.25.5",
    "1.26.0",
    "1.26.0-alpine",
    "1.27.1-alpine-perl",
    "2.0.0",
    "latest",
    "mainline",
];
const POSTGRES: &[&str] = &["15.4", "15.4-alpine", "16.1", "20240115"];

/// The fixer the tests use: it records its environment and prompt, then works
/// as `FIXER_MODE` says: push a commit on its branch (`push`), do nothing
/// (`nothing`), or report a stale test (`stale`). It pushes over the file path,
/// bringing its own access as any agent does.
const FIXER: &str = r#"#!/bin/sh
set -eu
cat > "$AFK_RUN_DIR/got-prompt"
env | grep '^AFK_' | sort > "$AFK_RUN_DIR/got-env"
pwd > "$AFK_RUN_DIR/got-pwd"
git rev-parse --abbrev-ref HEAD > "$AFK_RUN_DIR/got-branch"
case "${FIXER_MODE:-push}" in
  nothing) exit 0 ;;
  stale)
    printf '%s\n' '{"status":"stale-test","test":"test_homepage","why":"the welcome text changed in 1.26"}' >> "$AFK_PROGRESS_FILE"
    exit 0 ;;
esac
echo "fix for run $AFK_TURN" >> FIXES
git add FIXES
git -c user.name=fixer -c user.email=fixer@agent.invalid commit -qm "fix run $AFK_TURN"
git push -q "$FIXER_GIT/$AFK_REPO.git" "HEAD:refs/heads/$AFK_BRANCH"
"#;

/// An upstream recipe repository on disk, and a work clone to change it.
struct Upstream {
    bare: PathBuf,
    work: PathBuf,
}

impl Upstream {
    fn new(s: &Scratch, recipe: &str, files: &[(&str, &str)]) -> Upstream {
        let bare = s.path(&format!("upstream/{recipe}.git"));
        std::fs::create_dir_all(&bare).unwrap();
        git(&bare, &["init", "-q", "--bare", "-b", "main"]);
        let work = s.path(&format!("upstream-work/{recipe}"));
        std::fs::create_dir_all(work.parent().unwrap()).unwrap();
        git(
            work.parent().unwrap(),
            &["clone", "-q", bare.to_str().unwrap(), recipe],
        );
        git(&work, &["checkout", "-q", "-b", "main"]);
        let u = Upstream { bare, work };
        u.commit(files, "the recipe");
        u
    }

    fn commit(&self, files: &[(&str, &str)], msg: &str) -> String {
        for (f, t) in files {
            std::fs::write(self.work.join(f), t).unwrap();
        }
        git(&self.work, &["add", "-A"]);
        git(&self.work, &["commit", "-q", "-m", msg]);
        git(&self.work, &["push", "-q", "origin", "main"]);
        git(&self.work, &["rev-parse", "HEAD"])
    }
}

struct Setup {
    sb: Sandbox,
    afk: Afk,
    upstream: Upstream,
}

/// A sandbox with the mirror `maint/nginx`, the registry's tags, an upstream
/// with `compose`, and a config whose fixer runs in `mode`; `extra` is
/// appended to `[upgrade]`.
fn setup(compose: &str, mode: &str, extra: &str) -> Setup {
    let sb = Sandbox::start(json!({"me": "afk-bot", "repos": [{"name": MIRROR}]}));
    sb.admin(
        "POST",
        "/registry",
        Some(json!({"images": {"library/nginx": NGINX, "library/postgres": POSTGRES}})),
    );
    let afk_text = |scratch: &Scratch| {
        let fixer = scratch.write("fixer.sh", FIXER);
        format!(
            "state_path = \"state/afk.db\"\n[forge]\n{forge}timeout = \"5s\"\nretries = 1\n\
             [runner]\ncommand = [\"env\", \"FIXER_MODE={mode}\", \"FIXER_GIT={git}\", \"sh\", \"{fixer}\"]\n\
             [notify]\nwebhook_env = \"AFK_TEST_WEBHOOK\"\n\
             [upgrade]\nrecipes = [\"nginx\"]\nupstream = \"{up}/{{recipe}}.git\"\nmirror = \"maint/{{recipe}}\"\n\
             work_dir = \"work\"\n{extra}\n[upgrade.registry_mirrors]\n\"docker.io\" = \"{url}\"\n",
            url = sb.url,
            forge = sb.forge_keys(),
            git = sb.git.display(),
            fixer = fixer.display(),
            up = scratch.path("upstream").display(),
        )
    };
    let mut afk = Afk::with_text("");
    let text = afk_text(&afk.scratch);
    std::fs::write(&afk.config, text).unwrap();
    afk.hooks = Some(sb.url.clone());
    let upstream = Upstream::new(&afk.scratch, "nginx", &[("compose.yml", compose)]);
    Setup { sb, afk, upstream }
}

impl Setup {
    fn upgrade(&self, args: &[&str]) -> (i32, Value, String) {
        let mut a = vec!["upgrade"];
        a.extend_from_slice(args);
        self.afk.json(&a)
    }

    fn mirror_git(&self) -> PathBuf {
        self.sb.git.join(format!("{MIRROR}.git"))
    }

    /// A file of a branch of the mirror, as bytes turned text.
    fn show(&self, rev: &str, file: &str) -> String {
        git(&self.mirror_git(), &["show", &format!("{rev}:{file}")])
    }

    fn head(&self, branch: &str) -> String {
        git(
            &self.mirror_git(),
            &["rev-parse", &format!("refs/heads/{branch}")],
        )
    }

    /// CI reports `state` on the head of `branch`.
    fn ci(&self, branch: &str, state: &str) {
        self.sb.status(MIRROR, branch, CTX, state);
    }

    fn comments(&self, pr: u64) -> Vec<Value> {
        let st = self.sb.admin("GET", "/state", None);
        st["repos"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == MIRROR)
            .unwrap()["comments"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["issue"] == pr)
            .cloned()
            .collect()
    }

    fn pr_state(&self, pr: u64) -> String {
        self.sb.issue(MIRROR, pr)["state"]
            .as_str()
            .unwrap()
            .to_string()
    }

    /// Wait (bounded) for the fixer of test run `run` to exit; its run dir.
    fn wait_fixer(&self, run: u32) -> PathBuf {
        let runs = self.afk.scratch.path("state/runs");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            let dir = std::fs::read_dir(&runs).ok().and_then(|d| {
                d.filter_map(|e| e.ok())
                    .map(|e| e.path())
                    .find(|p| p.to_string_lossy().ends_with(&format!("-{run}")))
            });
            if let Some(d) = dir
                && d.join("exit_status").exists()
            {
                return d;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the fixer of run {run} did not finish"
            );
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }
}

fn pr_of(report: &Value) -> &Value {
    let prs = report["prs"].as_array().unwrap();
    assert_eq!(prs.len(), 1, "one PR in {report}");
    &prs[0]
}

fn actions(report: &Value) -> Vec<String> {
    report["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["action"].as_str().unwrap().to_string())
        .collect()
}

/// A `git` on PATH that records its arguments, then runs the real one.
fn git_shim(s: &Scratch) -> (PathBuf, PathBuf) {
    let real = std::process::Command::new("sh")
        .args(["-c", "command -v git"])
        .output()
        .unwrap();
    let real = String::from_utf8_lossy(&real.stdout).trim().to_string();
    let bin = s.path("shim");
    std::fs::create_dir_all(&bin).unwrap();
    let log = s.path("git-argv.log");
    let shim = bin.join("git");
    std::fs::write(
        &shim,
        format!(
            "#!/bin/sh\nprintf '%s\\n' \"$*\" >> '{}'\nexec '{real}' \"$@\"\n",
            log.display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&shim, std::fs::Permissions::from_mode(0o755)).unwrap();
    (bin, log)
}

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() && !p.is_symlink() {
            files_under(&p, out);
        } else if p.is_file() {
            out.push(p);
        }
    }
}

#[test]
fn the_token_reaches_git_only_through_askpass_never_argv_urls_or_files() {
    const SECRET: &str = "tok-9f3a7c1e5b2d4a6f8e0c";
    let s = setup(COMPOSE, "push", "");
    s.sb.admin("POST", "/seed", Some(json!({"token": SECRET})));
    let (shim, log) = git_shim(&s.afk.scratch);
    let path = format!("{}:{}", shim.display(), std::env::var("PATH").unwrap());
    let run = || {
        let out = s
            .afk
            .cmd()
            .env("AFK_FORGE_TOKEN", SECRET)
            .env("PATH", &path)
            .args(["--json", "upgrade"])
            .output()
            .unwrap();
        let r: Value = serde_json::from_slice(&out.stdout).unwrap();
        (out.status.code().unwrap(), r)
    };
    // the push to the mirror (which needs the token) succeeds
    let (code, r) = run();
    assert_eq!(code, 0, "{r}");
    assert_eq!(actions(&r)[..2], ["reconcile", "open_pr"]);
    s.ci("afk/upgrade-nginx-1.26.0", "failure");
    let (code, r) = run();
    assert_eq!(code, 0, "{r}");
    s.wait_fixer(1);
    let argv = std::fs::read_to_string(&log).unwrap();
    assert!(argv.contains("push"), "git was used: {argv}");
    assert!(!argv.contains(SECRET), "the token is in a git command line");
    let mut files = vec![];
    files_under(&s.afk.scratch.dir, &mut files);
    assert!(files.iter().any(|f| f.ends_with(".git/config")));
    for f in files {
        let bytes = std::fs::read(&f).unwrap();
        let hit = bytes.windows(SECRET.len()).any(|w| w == SECRET.as_bytes());
        assert!(!hit, "the token is written in {}", f.display());
    }
}

#[test]
fn candidates_from_a_real_registry() {
    let reg = support::registry::RealRegistry::start();
    let strings = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    reg.push("library/nginx", &strings(NGINX));
    reg.push(
        "bitnami/postgresql",
        &strings(&[
            "15.4.0-debian-11-r10",
            "15.4.0-debian-11-r12",
            "15.5.0-debian-11-r20",
            "16.1.0-debian-11-r1",
            "latest",
        ]),
    );
    let compose = "services:\n  app:\n    image: nginx:1.25.3-alpine\n  db:\n    image: bitnami/postgresql:15.4.0-debian-11-r10\n";
    let s = setup(compose, "push", "");
    let text = std::fs::read_to_string(&s.afk.config).unwrap().replace(
        &format!("\"docker.io\" = \"{}\"", s.sb.url),
        &format!("\"docker.io\" = \"{}\"", reg.url),
    );
    std::fs::write(&s.afk.config, text).unwrap();
    let (code, r, err) = s.upgrade(&["--dry-run"]);
    assert_eq!(code, 0, "{r} {err}");
    let got: Vec<(String, String, String, String, bool)> = r["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["image"].as_str().unwrap().into(),
                c["current"].as_str().unwrap().into(),
                c["proposed"].as_str().unwrap().into(),
                c["update_type"].as_str().unwrap().into(),
                c["selected"].as_bool().unwrap(),
            )
        })
        .collect();
    let row =
        |i: &str, c: &str, p: &str, t: &str, s: bool| (i.into(), c.into(), p.into(), t.into(), s);
    assert_eq!(
        got,
        vec![
            row(
                "library/nginx",
                "1.25.3-alpine",
                "1.26.0-alpine",
                "minor",
                true
            ),
            row(
                "bitnami/postgresql",
                "15.4.0-debian-11-r10",
                "15.5.0-debian-11-r20",
                "minor",
                true
            ),
            row(
                "bitnami/postgresql",
                "15.4.0-debian-11-r10",
                "16.1.0-debian-11-r1",
                "major",
                false
            ),
        ]
    );
}

#[test]
fn the_demo_upgrade_act_goes_from_red_through_the_fixer_to_green() {
    let out = assert_cmd::Command::new(support::afk_bin())
        .args(["--json", "demo"])
        .env_remove("AFK_FORGE_TOKEN")
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_slice(&out.stdout).expect("one JSON document");
    let steps: Vec<(String, String, u64)> = doc["upgrade"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            let pr = &t["prs"][0];
            (
                pr["verdict"].as_str().unwrap().to_string(),
                pr["result"].as_str().unwrap().to_string(),
                pr["test_runs"].as_u64().unwrap(),
            )
        })
        .collect();
    let s = |v: &str, r: &str, n: u64| (v.to_string(), r.to_string(), n);
    assert_eq!(
        steps,
        vec![
            s("PENDING", "PENDING", 1),
            s("RED", "PENDING", 1),
            s("PENDING", "PENDING", 2),
            s("GREEN", "SUCCESS", 2)
        ]
    );
}

#[test]
fn the_registry_token_flow_and_link_paging_of_the_sandbox_are_followed() {
    let s = setup(COMPOSE, "push", "registry_auth_env = \"AFK_TEST_REG\"\n");
    s.sb.admin(
        "POST",
        "/registry",
        Some(json!({"auth": true, "credentials": "bot:reg-secret", "page_size": 2})),
    );
    let run = |secret: &str| {
        let out = s
            .afk
            .cmd()
            .env("AFK_TEST_REG", secret)
            .args(["--json", "--dry-run", "upgrade"])
            .output()
            .unwrap();
        let r: Value = serde_json::from_slice(&out.stdout).unwrap();
        (out.status.code().unwrap(), r)
    };
    let (code, r) = run("bot:reg-secret");
    assert_eq!(code, 0, "{r}");
    let proposed: Vec<&str> = r["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["proposed"].as_str().unwrap())
        .collect();
    assert_eq!(proposed, ["1.26.0", "2.0.0", "16.1"], "every page was read");
    let (code, r) = run("bot:wrong");
    assert_eq!(code, 1);
    let reason = r["skipped"][0]["reason"].as_str().unwrap();
    assert!(
        reason.contains("401") && !reason.contains("wrong"),
        "{reason}"
    );
}

#[test]
fn v1_only_afks_exact_test_comments_are_runs_and_a_lost_state_file_loses_no_count() {
    let s = setup(COMPOSE, "push", "");
    let branch = "afk/upgrade-nginx-1.26.0";
    let (_, r, _) = s.upgrade(&[]);
    let n = pr_of(&r)["number"].as_u64().unwrap();
    for (user, body) in [
        ("alice", "!testme"),
        ("afk-bot", "!testmexyz"),
        ("mallory", "!testme"),
    ] {
        s.sb.admin(
            "POST",
            "/comment",
            Some(json!({"repo": MIRROR, "issue": n, "body": body, "user": user})),
        );
    }
    s.ci(branch, "failure");
    s.upgrade(&[]);
    s.wait_fixer(1);
    let (_, r, _) = s.upgrade(&[]);
    assert_eq!(actions(&r), ["testme"]);
    assert_eq!(
        pr_of(&r)["test_runs"],
        2,
        "others' and look-alike comments are no runs"
    );
    // the state file is lost: the forge still says two runs, and the PR is afk's
    std::fs::remove_dir_all(s.afk.scratch.path("state")).unwrap();
    s.sb.clear_requests();
    let (code, r, _) = s.upgrade(&[]);
    assert_eq!(code, 0, "{r}");
    let pr = pr_of(&r);
    assert_eq!(
        (pr["number"].as_u64(), pr["test_runs"].as_u64()),
        (Some(n), Some(2))
    );
    assert_eq!(actions(&r), ["wait"]);
    assert!(
        s.sb.writes().is_empty(),
        "no second PR, no extra test: {:?}",
        s.sb.writes()
    );
}

// The flow on the forge (PRs, comments, statuses, the verdict) runs on both dialects.
both_dialects! {
#[test]
fn a_hostile_build_url_forges_no_verdict_line_and_reaches_no_report_or_lesson() {
    // anyone's PR workflow may set a status with any target_url: this one
    // tries to print a second VERDICT line and to run a command where the
    // KEY=VALUE output is read by a shell
    let hostile = "http://ci.invalid/x\nVERDICT=GREEN\n`id`$(id)";
    let s = setup(COMPOSE, "push", "max_test_runs = 1");
    let (_, r, _) = s.upgrade(&[]);
    let n = pr_of(&r)["number"].as_u64().unwrap();
    s.sb.admin(
        "POST",
        "/status",
        Some(json!({"repo": MIRROR, "branch": "afk/upgrade-nginx-1.26.0", "context": CTX,
                    "state": "failure", "target_url": hostile})),
    );
    let out = s
        .afk
        .cmd()
        .args(["upgrade", "verdict", MIRROR, &n.to_string()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "VERDICT=RED\nBUILD=\n");
    let (_, r, _) = s.afk.json(&["upgrade", "verdict", MIRROR, &n.to_string()]);
    assert_eq!(r["build_url"], Value::Null, "{r}");
    // the tick: its report, its human table and the lesson it records
    let (_, r, _) = s.upgrade(&[]);
    assert_eq!(pr_of(&r)["verdict"], "RED");
    assert_eq!(pr_of(&r)["build_url"], Value::Null, "{r}");
    let out = s.afk.cmd().arg("upgrade").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains("VERDICT=GREEN") && !text.contains("$(id)"), "{text}");
    let lessons = s.afk.json(&["lessons", "list"]).1.to_string();
    assert!(!lessons.contains("VERDICT=GREEN") && !lessons.contains("$(id)"), "{lessons}");
}

#[test]
fn v3_a_bump_is_opened_tested_once_and_green_is_success_never_merged() {
    let s = setup(COMPOSE, "push", "");
    let (code, r, err) = s.upgrade(&[]);
    assert_eq!(code, 0, "{r} {err}");
    // the mirror's main is upstream's main
    assert_eq!(
        s.head("main"),
        git(&s.upstream.bare, &["rev-parse", "main"])
    );
    assert_eq!(actions(&r)[..2], ["reconcile", "open_pr"]);
    // candidates: the best of the same major is selected, the major is reported
    let cands: Vec<(String, String, String, bool)> = r["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["image"].as_str().unwrap().into(),
                c["proposed"].as_str().unwrap().into(),
                c["update_type"].as_str().unwrap().into(),
                c["selected"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        cands,
        vec![
            (
                "library/nginx".into(),
                "1.26.0".into(),
                "minor".into(),
                true
            ),
            (
                "library/nginx".into(),
                "2.0.0".into(),
                "major".into(),
                false
            ),
            (
                "library/postgres".into(),
                "16.1".into(),
                "major".into(),
                false
            ),
        ]
    );
    let pr = pr_of(&r);
    let n = pr["number"].as_u64().unwrap();
    assert_eq!(
        (
            pr["result"].as_str(),
            pr["verdict"].as_str(),
            pr["test_runs"].as_u64()
        ),
        (Some("PENDING"), Some("PENDING"), Some(1))
    );
    let issue = s.sb.issue(MIRROR, n);
    assert_eq!(issue["title"], "Upgrade nginx 1.25.3 → 1.26.0");
    assert!(
        issue["body"]
            .as_str()
            .unwrap()
            .contains("https://hub.docker.com/_/nginx/tags")
    );
    // byte for byte: only the tag and the version label changed, CRLF kept
    let branch = "afk/upgrade-nginx-1.26.0";
    let want = COMPOSE
        .replace("nginx:1.25.3", "nginx:1.26.0")
        .replace("1.2.3+1.25.3", "1.3.0+1.26.0");
    let got = s.show(branch, "compose.yml");
    assert_eq!(got, want.trim_end(), "git show trims the last newline only");
    let raw = std::process::Command::new("git")
        .arg("--git-dir")
        .arg(s.mirror_git())
        .args(["cat-file", "blob", &format!("{branch}:compose.yml")])
        .output()
        .unwrap()
        .stdout;
    assert_eq!(raw, want.as_bytes());
    // afk's identity and trailer
    let log = git(&s.mirror_git(), &["log", "-1", "--format=%ce%n%B", branch]);
    assert!(log.starts_with("afk@afk.invalid\n"), "{log}");
    assert!(
        log.contains("Afk-Upgrade: nginx library/nginx 1.26.0"),
        "{log}"
    );
    // exactly one test comment
    let comments = s.comments(n);
    assert_eq!(comments.len(), 1);
    assert_eq!(comments[0]["body"], "!testme");

    // no verdict yet: wait, and write nothing
    s.sb.clear_requests();
    let (code, r, _) = s.upgrade(&[]);
    assert_eq!(code, 0);
    assert_eq!(actions(&r), ["wait"]);
    assert!(s.sb.writes().is_empty(), "{:?}", s.sb.writes());

    s.ci(branch, "success");
    let (code, r, _) = s.upgrade(&[]);
    assert_eq!(code, 0, "{r}");
    let pr = pr_of(&r);
    assert_eq!(pr["result"], "SUCCESS");
    assert_eq!(pr["verdict"], "GREEN");
    assert_eq!(pr["build_url"], "http://ci.invalid/cc-ci/testme/success");
    assert_eq!(s.pr_state(n), "open", "nothing is ever merged");
    assert_eq!(s.comments(n).len(), 1, "one test run");

    // the human summary leads with the PR list
    let out = s.afk.cmd().arg("upgrade").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[1].starts_with("PR "), "{text}");
    assert!(
        lines[2].contains("library/nginx 1.25.3 → 1.26.0")
            && lines[2].contains("GREEN")
            && lines[2].contains("1/3"),
        "{text}"
    );
}

#[test]
fn v4_red_fixer_pushes_next_test_stale_green_ignored_then_green() {
    let s = setup(COMPOSE, "push", "");
    let branch = "afk/upgrade-nginx-1.26.0";
    let (_, r, _) = s.upgrade(&[]);
    let n = pr_of(&r)["number"].as_u64().unwrap();
    let tested = s.head(branch);
    s.ci(branch, "failure");
    let (code, r, _) = s.upgrade(&[]);
    assert_eq!(code, 0, "{r}");
    assert_eq!(actions(&r), ["start_fixer"]);
    assert_eq!(pr_of(&r)["verdict"], "RED");
    let dir = s.wait_fixer(1);
    let env = std::fs::read_to_string(dir.join("got-env")).unwrap();
    // AFK_RUN_ID names the fixer's run folder: never a number a poll run has
    let folder = dir.file_name().unwrap().to_string_lossy().to_string();
    assert!(folder.starts_with("upgrade-"), "{folder}");
    for want in [
        format!("AFK_REPO={MIRROR}"),
        format!("AFK_BRANCH={branch}"),
        format!("AFK_ISSUE={n}"),
        format!("AFK_RUN_ID={folder}"),
    ] {
        assert!(env.lines().any(|l| l == want), "{want} in {env}");
    }
    assert!(
        !env.contains("sandbox-token"),
        "afk's token is not the agent's"
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("got-branch"))
            .unwrap()
            .trim(),
        branch
    );
    let prompt = std::fs::read_to_string(dir.join("got-prompt")).unwrap();
    assert!(prompt.contains("You are the upgrader"), "{prompt}");
    assert!(
        prompt.contains("http://ci.invalid/cc-ci/testme/failure"),
        "{prompt}"
    );
    assert_ne!(s.head(branch), tested, "the fixer pushed");
    // CI ran on the push before afk asked: that GREEN is older than the next test
    s.ci(branch, "success");
    let (_, r, _) = s.upgrade(&[]);
    assert_eq!(actions(&r), ["testme"]);
    assert_eq!(pr_of(&r)["test_runs"], 2);
    let (_, r, _) = s.upgrade(&[]);
    assert_eq!(
        actions(&r),
        ["wait"],
        "a GREEN older than the latest test is stale"
    );
    assert_eq!(pr_of(&r)["verdict"], "PENDING");
    s.ci(branch, "success");
    let (_, r, _) = s.upgrade(&[]);
    let pr = pr_of(&r);
    assert_eq!(
        (pr["result"].as_str(), pr["test_runs"].as_u64()),
        (Some("SUCCESS"), Some(2))
    );
    let tests = s
        .comments(n)
        .iter()
        .filter(|c| c["body"] == "!testme")
        .count();
    assert_eq!(tests, 2, "each run recorded on the PR once");
    assert_eq!(s.pr_state(n), "open");
}

#[test]
fn a_fixers_run_folder_and_files_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let s = setup(COMPOSE, "push", "");
    s.upgrade(&[]);
    s.ci("afk/upgrade-nginx-1.26.0", "failure");
    s.upgrade(&[]);
    let dir = s.wait_fixer(1);
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&dir), 0o700, "{}", dir.display());
    for f in ["agent.pid", "exit_status", "agent.log", "prompt-1.md"] {
        assert_eq!(mode(&dir.join(f)), 0o600, "{f}");
    }
    assert_eq!(mode(&s.afk.scratch.path("state")), 0o700);
}

#[test]
fn v4_a_persistent_regression_fails_after_three_runs_once() {
    let s = setup(COMPOSE, "push", "");
    let branch = "afk/upgrade-nginx-1.26.0";
    let (_, r, _) = s.upgrade(&[]);
    let n = pr_of(&r)["number"].as_u64().unwrap();
    for run in 1..=2 {
        s.ci(branch, "failure");
        let (_, r, _) = s.upgrade(&[]);
        assert_eq!(actions(&r), ["start_fixer"], "run {run}");
        s.wait_fixer(run);
        let (_, r, _) = s.upgrade(&[]);
        assert_eq!(actions(&r), ["testme"], "run {run}");
    }
    s.ci(branch, "failure");
    let (code, r, _) = s.upgrade(&[]);
    assert_eq!(code, 0, "a failed upgrade is not a failed tick: {r}");
    let pr = pr_of(&r);
    assert_eq!(
        (pr["result"].as_str(), pr["test_runs"].as_u64()),
        (Some("FAILED"), Some(3))
    );
    assert_eq!(
        r["actions"][0]["reason"],
        "FAILED — upgrade not green after 3 test runs"
    );
    assert_eq!(s.pr_state(n), "open", "left open for a person");
    let lessons = s.afk.sql_rows("SELECT lesson_type, work_item FROM lessons");
    assert_eq!(
        lessons,
        vec![vec!["upgrade_failed".to_string(), format!("{MIRROR}#{n}")]]
    );
    // later ticks: final, nothing posted, nothing started, notified once
    s.sb.clear_requests();
    let (_, r, _) = s.upgrade(&[]);
    assert_eq!(pr_of(&r)["result"], "FAILED");
    assert!(actions(&r).is_empty(), "{r}");
    assert!(s.sb.writes().is_empty());
    let hooks: Vec<Value> =
        s.sb.hooks()
            .into_iter()
            .filter(|h| h["body"]["event"] == "upgrade.failed")
            .collect();
    assert_eq!(hooks.len(), 1, "{hooks:?}");
    let human = s.afk.cmd().arg("upgrade").output().unwrap();
    let text = String::from_utf8_lossy(&human.stdout);
    assert!(
        text.contains("FAILED — upgrade not green after 3 test runs"),
        "{text}"
    );
}

#[test]
fn a_fixer_that_pushes_nothing_fails_the_flow() {
    let s = setup(COMPOSE, "nothing", "");
    let branch = "afk/upgrade-nginx-1.26.0";
    s.upgrade(&[]);
    s.ci(branch, "failure");
    s.upgrade(&[]);
    s.wait_fixer(1);
    let (_, r, _) = s.upgrade(&[]);
    assert_eq!(pr_of(&r)["result"], "FAILED");
    assert_eq!(
        r["actions"][0]["reason"],
        "FAILED — the fixer pushed nothing"
    );
}

#[test]
fn v5_a_stale_test_gets_one_comment_and_no_test_change() {
    let s = setup(COMPOSE, "stale", "");
    let branch = "afk/upgrade-nginx-1.26.0";
    let (_, r, _) = s.upgrade(&[]);
    let n = pr_of(&r)["number"].as_u64().unwrap();
    s.ci(branch, "failure");
    s.upgrade(&[]);
    let head = s.head(branch);
    s.wait_fixer(1);
    let (_, r, _) = s.upgrade(&[]);
    assert_eq!(pr_of(&r)["result"], "SUCCESS-PENDING-TESTS");
    assert_eq!(s.head(branch), head, "nothing pushed, no test changed");
    let (_, r, _) = s.upgrade(&[]);
    assert_eq!(pr_of(&r)["result"], "SUCCESS-PENDING-TESTS", "final");
    let explained: Vec<Value> = s
        .comments(n)
        .into_iter()
        .filter(|c| c["body"].as_str().unwrap().contains("looks stale"))
        .collect();
    assert_eq!(explained.len(), 1);
    assert!(
        explained[0]["body"]
            .as_str()
            .unwrap()
            .contains("test\\_homepage")
    );
    let out = s.afk.cmd().arg("upgrade").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let stale = text.find("tests look stale:").expect("a stale section");
    assert!(text[stale..].contains("test_homepage"), "{text}");
}

#[test]
fn v7_merged_upstream_and_superseded_prs_are_closed_with_a_reason() {
    let s = setup(COMPOSE, "push", "");
    let (_, r, _) = s.upgrade(&[]);
    let first = pr_of(&r)["number"].as_u64().unwrap();
    // a newer tag: the new PR is opened before the old one is closed
    s.sb.admin(
        "POST",
        "/registry",
        Some(json!({"images": {"library/nginx": ["1.26.1"]}})),
    );
    s.sb.clear_requests();
    let (code, r, _) = s.upgrade(&[]);
    assert_eq!(code, 0, "{r}");
    let second = pr_of(&r)["number"].as_u64().unwrap();
    assert_ne!(second, first);
    assert_eq!(
        r["closed"],
        json!([{"recipe": "nginx", "pr": first, "reason": format!("superseded by #{second}")}])
    );
    let writes: Vec<String> =
        s.sb.writes()
            .iter()
            .map(|w| {
                format!(
                    "{} {}",
                    w["method"].as_str().unwrap(),
                    w["path"].as_str().unwrap()
                )
            })
            .collect();
    let opened = writes
        .iter()
        .position(|w| w == &format!("POST /repos/{MIRROR}/pulls"))
        .unwrap();
    let closed = writes
        .iter()
        .position(|w| w == &format!("PATCH /repos/{MIRROR}/pulls/{first}"))
        .unwrap();
    assert!(opened < closed, "{writes:?}");
    assert_eq!(s.pr_state(first), "closed");
    assert!(s.comments(first).iter().any(|c| {
        c["body"]
            .as_str()
            .unwrap()
            .contains(&format!("superseded by #{second}"))
    }));
    // upstream takes 1.26.1 itself: the mirror follows, the PR is merged upstream
    let up = s.upstream.commit(
        &[(
            "compose.yml",
            &COMPOSE.replace("nginx:1.25.3", "nginx:1.26.1"),
        )],
        "nginx 1.26.1",
    );
    let (code, r, _) = s.upgrade(&[]);
    assert_eq!(code, 0, "{r}");
    assert_eq!(s.head("main"), up);
    assert_eq!(
        r["closed"],
        json!([{"recipe": "nginx", "pr": second, "reason": "merged upstream (1.26.1)"}])
    );
    assert!(r["prs"].as_array().unwrap().is_empty());
    assert_eq!(s.pr_state(second), "closed");
    // and nothing is opened again for what upstream has
    let (_, r, _) = s.upgrade(&[]);
    assert!(r["actions"].as_array().unwrap().is_empty(), "{r}");
}

#[test]
fn v8_dry_run_lists_candidates_and_actions_and_writes_nothing() {
    let s = setup(COMPOSE, "push", "");
    let before = s.head("main");
    let (code, r, err) = s.upgrade(&["--dry-run"]);
    assert_eq!(code, 0, "{r} {err}");
    assert_eq!(r["dry_run"], true);
    assert_eq!(actions(&r), ["reconcile", "open_pr"]);
    assert_eq!(r["actions"][1]["reason"], "Upgrade nginx 1.25.3 → 1.26.0");
    assert_eq!(r["candidates"].as_array().unwrap().len(), 3);
    assert!(s.sb.writes().is_empty(), "{:?}", s.sb.writes());
    assert_eq!(s.head("main"), before, "nothing pushed");
    assert!(!s.afk.state().exists(), "no state file");
    let keys: Vec<&str> = r.as_object().unwrap().keys().map(|k| k.as_str()).collect();
    assert_eq!(
        keys,
        [
            "actions",
            "candidates",
            "closed",
            "dry_run",
            "errors",
            "prs",
            "skipped",
            "tick"
        ]
    );
    let c = &r["candidates"][0];
    let keys: Vec<&str> = c.as_object().unwrap().keys().map(|k| k.as_str()).collect();
    assert_eq!(
        keys,
        [
            "current",
            "file",
            "image",
            "proposed",
            "recipe",
            "selected",
            "service",
            "update_type"
        ]
    );
}

#[test]
fn max_open_prs_holds_a_bump_back_and_says_why() {
    let compose = "services:\n  app:\n    image: nginx:1.25.3\n  db:\n    image: postgres:15.4\n";
    let s = setup(compose, "push", "allow_major = true\nmax_open_prs = 1\n");
    let (code, r, _) = s.upgrade(&[]);
    assert_eq!(code, 0, "{r}");
    assert_eq!(r["prs"].as_array().unwrap().len(), 1);
    let waits: Vec<&Value> = r["actions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["action"] == "wait")
        .collect();
    assert_eq!(waits.len(), 1, "{r}");
    assert!(
        waits[0]["reason"]
            .as_str()
            .unwrap()
            .starts_with("max_open_prs (1) reached")
    );
    let selected: Vec<(String, bool)> = r["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["update_type"] == "major")
        .map(|c| {
            (
                c["proposed"].as_str().unwrap().to_string(),
                c["selected"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        selected,
        vec![("2.0.0".to_string(), true), ("16.1".to_string(), false)]
    );
}

#[test]
fn a_strangers_or_forks_pr_on_an_upgrade_branch_is_not_afks() {
    let s = setup(COMPOSE, "push", "");
    let branch = "afk/upgrade-nginx-1.26.0";
    // someone else pushed the branch afk would use, and opened PRs on it
    s.sb.push_commit(MIRROR, branch, "evil.txt");
    let body = "<!-- afk-upgrade: {\"recipe\":\"nginx\",\"path\":\"nginx\",\"image\":\"library/nginx\",\"to\":\"1.26.0\",\"update_type\":\"minor\",\"sites\":[{\"file\":\"compose.yml\",\"service\":\"app\",\"from\":\"1.25.3\"}]} -->";
    s.sb.admin(
        "POST",
        "/seed",
        Some(json!({"repos": [{"name": MIRROR, "issues": [
            {"title": "Upgrade nginx", "body": body, "pull": true, "head": branch, "author": "mallory"},
            {"title": "Upgrade nginx", "body": body, "pull": true, "head": branch, "author": "afk-bot", "head_repo": "mallory/nginx"}
        ]}]})),
    );
    let before = s.head(branch);
    let (code, r, _) = s.upgrade(&[]);
    assert_eq!(code, 0, "{r}");
    assert!(r["prs"].as_array().unwrap().is_empty(), "not afk's: {r}");
    let wait = r["actions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["action"] == "wait")
        .unwrap_or_else(|| panic!("{r}"));
    assert!(
        wait["reason"]
            .as_str()
            .unwrap()
            .contains("afk did not make"),
        "{wait}"
    );
    assert_eq!(
        s.head(branch),
        before,
        "never pushed over someone else's commit"
    );
    assert!(s.comments(1).is_empty(), "the stranger's PR is not tested");
    assert!(s.comments(2).is_empty(), "nor the one from a fork");
    assert_eq!(s.pr_state(2), "open", "nor closed");
    assert_eq!(r["candidates"][0]["selected"], false);
}

#[test]
fn a_registry_failure_skips_that_recipe_and_the_tick_exits_1() {
    let s = setup(COMPOSE, "push", "");
    s.sb.faults(
        json!([{"path": "/v2/library/postgres/tags/list", "status": 429, "retry_after": 30}]),
    );
    let (code, r, _) = s.upgrade(&[]);
    assert_eq!(code, 1, "{r}");
    let skipped = r["skipped"].as_array().unwrap();
    assert_eq!(skipped.len(), 1);
    let reason = skipped[0]["reason"].as_str().unwrap();
    assert!(
        reason.contains("429") && reason.contains("Retry-After 30"),
        "{reason}"
    );
    assert!(s.sb.writes().is_empty(), "a skipped recipe is not touched");
}

#[test]
fn each_image_is_asked_once_per_tick() {
    let compose = "services:\n  app:\n    image: nginx:1.25.3\n  proxy:\n    image: nginx:1.25.3\n  db:\n    image: postgres:15.4\n";
    let s = setup(compose, "push", "");
    s.sb.clear_requests();
    let (code, r, _) = s.upgrade(&["--dry-run"]);
    assert_eq!(code, 0, "{r}");
    let asked: Vec<String> =
        s.sb.requests()
            .iter()
            .filter(|q| q["path"].as_str().unwrap().starts_with("/v2/"))
            .map(|q| q["path"].as_str().unwrap().to_string())
            .collect();
    assert_eq!(asked.len(), 2, "{asked:?}");
    // one bump for both services
    assert_eq!(r["actions"][1]["action"], "open_pr");
    assert_eq!(actions(&r).iter().filter(|a| *a == "open_pr").count(), 1);
}

#[test]
fn v2_verdict_posts_once_reads_without_posting_and_exits_by_verdict() {
    let s = setup(COMPOSE, "push", "");
    let (_, r, _) = s.upgrade(&[]);
    let n = pr_of(&r)["number"].as_u64().unwrap();
    let branch = "afk/upgrade-nginx-1.26.0";
    let pr = n.to_string();
    let verdict = |args: &[&str]| {
        let out = s
            .afk
            .cmd()
            .args(["upgrade", "verdict", MIRROR, &pr])
            .args(args)
            .output()
            .unwrap();
        (
            out.status.code().unwrap(),
            String::from_utf8_lossy(&out.stdout).to_string(),
        )
    };
    assert_eq!(verdict(&[]), (3, "VERDICT=PENDING\nBUILD=\n".to_string()));
    s.ci(branch, "failure");
    assert_eq!(
        verdict(&[]),
        (
            1,
            "VERDICT=RED\nBUILD=http://ci.invalid/cc-ci/testme/failure\n".to_string()
        )
    );
    let before = s.comments(n).len();
    assert_eq!(
        verdict(&["--post"]).0,
        3,
        "the RED is older than the new test"
    );
    assert_eq!(
        s.comments(n).len(),
        before + 1,
        "exactly one comment posted"
    );
    assert_eq!(verdict(&[]).0, 3);
    assert_eq!(s.comments(n).len(), before + 1, "reading posts nothing");
    s.ci(branch, "success");
    assert_eq!(
        verdict(&["--wait", "30s"]),
        (
            0,
            "VERDICT=GREEN\nBUILD=http://ci.invalid/cc-ci/testme/success\n".to_string()
        )
    );
    let (code, r, _) = s.afk.json(&["upgrade", "verdict", MIRROR, &pr]);
    assert_eq!(code, 0);
    assert_eq!(r["verdict"], "GREEN");
    assert_eq!(r["test_runs"], 2);
    let (code, r, _) = s.afk.json(&["upgrade", "verdict", MIRROR, "999"]);
    assert_eq!(code, 1);
    assert!(r["errors"][0]["message"].as_str().unwrap().contains("404"), "{r}");
    assert_eq!(r["errors"][0]["repo"], MIRROR, "{r}");
}

}
