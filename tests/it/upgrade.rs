//! `afk upgrade` and `afk upgrade verdict` through the binary
//! (docs/how-it-works.md#afk-upgrade), against the sandbox (a forge with
//! git-backed mirrors served over smart HTTP, an OCI registry, CI statuses
//! posted through its admin API) and an upstream git repository on disk. The
//! seed's acceptance list (V1-V9) is the outline.

use crate::support;

use crate::support::{Afk, Plays, Sandbox, Scratch, git};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

pub(crate) const MIRROR: &str = "maint/nginx";
const CTX: &str = "cc-ci/testme";

pub(crate) const COMPOSE: &str = "version: \"3.8\"\r\n\r\nservices:\r\n  app:\r\n    # the web server\r\n    image: \"nginx:1.25.3\"   # keep quoted\r\n    deploy:\r\n      labels:\r\n        - \"coop-cloud.${STACK_NAME}.version=1.2.3+1.25.3\"\r\n  db:\r\n    image: postgres:15.4\r\n";

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
  missing) echo "about to start the agent"; exec afk-test-no-such-agent ;;
  hang) exec sleep 600 ;;
  stale)
    if [ -n "${AFK_TESTS_REPO:-}" ]; then
      echo "updated for the new welcome text" >> test_nginx.sh
      git add test_nginx.sh
      git -c user.name=fixer -c user.email=fixer@agent.invalid commit -qm "update the stale test"
      git push -q "$FIXER_GIT/$AFK_TESTS_REPO.git" "HEAD:refs/heads/$AFK_TESTS_BRANCH"
      exit 0
    fi
    printf '%s\n' '{"status":"stale-test","test":"test_homepage","why":"the welcome text changed in 1.26"}' >> "$AFK_PROGRESS_FILE"
    exit 0 ;;
esac
echo "fix for run $AFK_TURN" >> FIXES
git add FIXES
git -c user.name=fixer -c user.email=fixer@agent.invalid commit -qm "fix run $AFK_TURN"
git push -q "$FIXER_GIT/$AFK_REPO.git" "HEAD:refs/heads/$AFK_BRANCH"
"#;

/// An upstream recipe repository on disk, and a work clone to change it.
pub(crate) struct Upstream {
    pub(crate) bare: PathBuf,
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

    pub(crate) fn commit(&self, files: &[(&str, &str)], msg: &str) -> String {
        for (f, t) in files {
            std::fs::write(self.work.join(f), t).unwrap();
        }
        git(&self.work, &["add", "-A"]);
        git(&self.work, &["commit", "-q", "-m", msg]);
        git(&self.work, &["push", "-q", "origin", "main"]);
        git(&self.work, &["rev-parse", "HEAD"])
    }
}

pub(crate) struct Setup {
    pub(crate) sb: Sandbox,
    pub(crate) afk: Afk,
    pub(crate) upstream: Upstream,
}

/// A sandbox with the mirror `maint/nginx`, the registry's tags, an upstream
/// with `compose`, and a config whose fixer runs in `mode`; `extra` is
/// appended to `[upgrade]`.
pub(crate) fn setup(compose: &str, mode: &str, extra: &str) -> Setup {
    setup_recipes(compose, mode, extra, &[])
}

/// `setup`, plus more recipes (`name`, compose) with their mirrors `maint/<name>`.
fn setup_recipes(compose: &str, mode: &str, extra: &str, more: &[(&str, &str)]) -> Setup {
    let mut repos = vec![json!({"name": MIRROR}), json!({"name": "maint/tests"})];
    repos.extend(
        more.iter()
            .map(|(n, _)| json!({"name": format!("maint/{n}")})),
    );
    let sb = Sandbox::start(json!({"me": "afk-bot", "repos": repos}));
    let mut names = vec!["\"nginx\"".to_string()];
    names.extend(more.iter().map(|(n, _)| format!("\"{n}\"")));
    let recipes = names.join(", ");
    sb.admin(
        "POST",
        "/registry",
        Some(json!({"images": {"library/nginx": NGINX, "library/postgres": POSTGRES}})),
    );
    // the scenarios here are about one image: one PR per image unless a test
    // says otherwise (`group_by`, docs/configuration.md)
    let group = if extra.contains("group_by") {
        ""
    } else {
        "group_by = \"image\"\n"
    };
    let afk_text = |scratch: &Scratch| {
        let fixer = scratch.write("fixer.sh", FIXER);
        format!(
            "state_path = \"state/afk.db\"\n[forge]\n{forge}timeout = \"5s\"\nretries = 1\n\
             [runner]\nconfine = \"none\"\ncommand = [\"env\", \"FIXER_MODE={mode}\", \"FIXER_GIT={git}\", \"sh\", \"{fixer}\"]\n\
             [notify]\nwebhook_env = \"AFK_TEST_WEBHOOK\"\n\
             [upgrade]\nrecipes = [{recipes}]\nupstream = \"{up}/{{recipe}}.git\"\nmirror = \"maint/{{recipe}}\"\n\
             work_dir = \"work\"\n{group}{extra}\n[upgrade.registry_mirrors]\n\"docker.io\" = \"{url}\"\n",
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
    for (n, c) in more {
        Upstream::new(&afk.scratch, n, &[("compose.yml", c)]);
    }
    Setup { sb, afk, upstream }
}

/// The stop file stops an upgrade tick before anything else: no request, no
/// state folder, no work folder, no clone, no app key or token read.
#[test]
fn the_stop_file_stops_an_upgrade_tick_without_io() {
    let s = setup(COMPOSE, "ok", "");
    let text = std::fs::read_to_string(&s.afk.config).unwrap();
    std::fs::write(&s.afk.config, format!("stop_file = \"STOP\"\n{text}")).unwrap();
    s.afk.scratch.write("STOP", "");
    s.sb.clear_requests();
    let (code, r, err) = s.upgrade(&[]);
    assert_eq!(code, 0, "{err}");
    assert!(r["reason"].as_str().unwrap().contains("stop file"), "{r}");
    assert!(s.sb.requests().is_empty(), "{:?}", s.sb.requests());
    assert!(!s.afk.scratch.path("state").exists());
    assert!(!s.afk.scratch.path("work").exists());
}

impl Setup {
    pub(crate) fn upgrade(&self, args: &[&str]) -> (i32, Value, String) {
        let mut a = vec!["upgrade"];
        a.extend_from_slice(args);
        self.afk.json(&a)
    }

    pub(crate) fn mirror_git(&self) -> PathBuf {
        self.sb.git.join(format!("{MIRROR}.git"))
    }

    /// A file of a branch of the mirror, as bytes turned text.
    pub(crate) fn show(&self, rev: &str, file: &str) -> String {
        git(&self.mirror_git(), &["show", &format!("{rev}:{file}")])
    }

    pub(crate) fn head(&self, branch: &str) -> String {
        git(
            &self.mirror_git(),
            &["rev-parse", &format!("refs/heads/{branch}")],
        )
    }

    /// CI reports `state` on the head of `branch`.
    pub(crate) fn ci(&self, branch: &str, state: &str) {
        self.sb.status(MIRROR, branch, CTX, state);
    }

    /// Pin afk's clock `minutes` from the real now (a tick that runs later).
    fn at(&self, minutes: i64) {
        let t = time::OffsetDateTime::now_utc() + time::Duration::minutes(minutes);
        let text = t
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap();
        *self.afk.now.borrow_mut() = Some(text);
    }

    /// The registry paths asked since the requests were last cleared.
    fn registry_asks(&self) -> usize {
        self.sb
            .requests()
            .iter()
            .filter(|q| q["path"].as_str().unwrap().starts_with("/v2/"))
            .count()
    }

    pub(crate) fn comments(&self, pr: u64) -> Vec<Value> {
        self.comments_in(MIRROR, pr)
    }

    fn comments_in(&self, repo: &str, pr: u64) -> Vec<Value> {
        let st = self.sb.admin("GET", "/state", None);
        st["repos"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == repo)
            .unwrap()["comments"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| self.sb.is_on_pr(c, pr))
            .cloned()
            .collect()
    }

    fn pr_state(&self, pr: u64) -> String {
        self.sb.issue(MIRROR, pr)["state"]
            .as_str()
            .unwrap()
            .to_string()
    }

    /// Points the config's docker.io mirror at `url` instead of the sandbox.
    fn mirror_docker_io_at(&self, url: &str) {
        let text = std::fs::read_to_string(&self.afk.config).unwrap().replace(
            &format!("\"docker.io\" = \"{}\"", self.sb.url),
            &format!("\"docker.io\" = \"{url}\""),
        );
        std::fs::write(&self.afk.config, text).unwrap();
    }

    /// An upgrade tick (no flags); the number of the PR its report shows.
    fn upgrade_pr_number(&self) -> u64 {
        let (_, r, _) = self.upgrade(&[]);
        pr_of(&r)["number"].as_u64().unwrap()
    }

    /// Opens the PR, fails CI on `branch`, starts fixer run 1 and waits for
    /// it to exit; the PR's number.
    fn red_until_the_fixer_ends(&self, branch: &str) -> u64 {
        let n = self.upgrade_pr_number();
        self.ci(branch, "failure");
        self.upgrade(&[]);
        self.wait_fixer(1);
        n
    }

    /// Wait (bounded) for the `--with-tests` fixer of test run `run` to exit;
    /// its run dir.
    fn wait_fixer_tests(&self, run: u32) -> PathBuf {
        self.wait_run(&format!("-{run}-tests"))
    }

    /// Wait (bounded) for the fixer of test run `run` to exit; its run dir.
    fn wait_fixer(&self, run: u32) -> PathBuf {
        self.wait_run(&format!("-{run}"))
    }

    fn wait_run(&self, suffix: &str) -> PathBuf {
        let run = suffix;
        let runs = self.afk.scratch.path("state/runs");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            let dir = std::fs::read_dir(&runs).ok().and_then(|d| {
                d.filter_map(|e| e.ok())
                    .map(|e| e.path())
                    .find(|p| p.to_string_lossy().ends_with(run))
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

pub(crate) fn pr_of(report: &Value) -> &Value {
    let prs = report["prs"].as_array().unwrap();
    assert_eq!(prs.len(), 1, "one PR in {report}");
    &prs[0]
}

/// The named fields of each object of a JSON array, as text.
fn fields(list: &Value, keys: &[&str]) -> Vec<Vec<String>> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|o| {
            keys.iter()
                .map(|k| match &o[*k] {
                    Value::String(s) => s.clone(),
                    v => v.to_string(),
                })
                .collect()
        })
        .collect()
}

pub(crate) fn actions(report: &Value) -> Vec<String> {
    report["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["action"].as_str().unwrap().to_string())
        .collect()
}

/// The real now, `minutes` ago, as RFC 3339.
fn ago(minutes: i64) -> String {
    (time::OffsetDateTime::now_utc() - time::Duration::minutes(minutes))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

/// The real `git`'s path.
fn real_git() -> String {
    let real = std::process::Command::new("sh")
        .args(["-c", "command -v git"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&real.stdout).trim().to_string()
}

/// A `git` on PATH that records its arguments, then runs the real one.
pub(crate) fn git_shim(s: &Scratch) -> (PathBuf, PathBuf) {
    let log = s.path("git-argv.log");
    let bin = shim_with(
        s,
        &format!("printf '%s\\n' \"$*\" >> '{}'\n", log.display()),
    );
    (bin, log)
}

/// A `git` on PATH that runs `script` (sh; `$REAL_GIT` is the real git) and
/// then the real one; returns the directory to put first on PATH.
fn shim_with(s: &Scratch, script: &str) -> PathBuf {
    let real = real_git();
    let bin = s.path("shim");
    std::fs::create_dir_all(&bin).unwrap();
    let shim = bin.join("git");
    std::fs::write(
        &shim,
        format!("#!/bin/sh\nREAL_GIT='{real}'\n{script}exec \"$REAL_GIT\" \"$@\"\n"),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&shim, std::fs::Permissions::from_mode(0o755)).unwrap();
    bin
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

/// Every file below `dir`, asserting that none holds `secret`.
fn files_without(dir: &Path, secret: &str) -> Vec<PathBuf> {
    let mut files = vec![];
    files_under(dir, &mut files);
    for f in &files {
        let bytes = std::fs::read(f).unwrap();
        let hit = bytes.windows(secret.len()).any(|w| w == secret.as_bytes());
        assert!(!hit, "the token is written in {}", f.display());
    }
    files
}

#[test]
fn the_token_reaches_git_only_through_askpass_never_argv_urls_or_files() {
    const SECRET: &str = "tok-9f3a7c1e5b2d4a6f8e0c";
    let s = setup(COMPOSE, "push", "");
    s.sb.admin("POST", "/seed", Some(json!({"token": SECRET})));
    let (shim, log) = git_shim(&s.afk.scratch);
    // the push to the mirror (which needs the token) succeeds
    s.open_red_and_fix_through(&shim, SECRET);
    let argv = std::fs::read_to_string(&log).unwrap();
    assert!(argv.contains("push"), "git was used: {argv}");
    assert!(!argv.contains(SECRET), "the token is in a git command line");
    let files = files_without(&s.afk.scratch.dir, SECRET);
    assert!(files.iter().any(|f| f.ends_with(".git/config")));
}

/// [`setup`] with fixer mode "push", afk signed in as the seeded GitHub App.
fn setup_as_github_app() -> Setup {
    let s = setup(COMPOSE, "push", "");
    crate::github_app::seed_app(&s.sb);
    crate::github_app::use_app(&s.afk, "test-app-key-pkcs1.pem", 0o600);
    s
}

/// Issue 21 item 3: as a GitHub App, upgrade's pushes go as `x-access-token`
/// with the installation token (afk has no other token here), through the
/// same askpass file: never in argv or the work tree; the PR is the bot's.
#[test]
fn as_a_github_app_upgrade_pushes_as_x_access_token_with_the_installation_token() {
    support::with_dialect(support::Dialect::Github, || {
        let s = setup_as_github_app();
        let log = s.afk.scratch.path("git-argv.log");
        let shim = shim_with(
            &s.afk.scratch,
            &format!(
                "printf '%s | %s\\n' \"$AFK_GIT_USERNAME\" \"$*\" >> '{}'\n",
                log.display()
            ),
        );
        let path = format!("{}:{}", shim.display(), std::env::var("PATH").unwrap());
        // an upgrade tick with the app's key only (no token) and `shim` first on PATH
        let upgrade_as_app = || {
            s.afk
                .cmd()
                .env_remove("AFK_FORGE_TOKEN")
                .env("PATH", &path)
                .args(["--json", "upgrade"])
                .output()
                .unwrap()
        };
        let out = upgrade_as_app();
        let r: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{r} {err}");
        assert_eq!(actions(&r)[..2], ["reconcile", "open_pr"], "{r}");
        let argv = std::fs::read_to_string(&log).unwrap();
        assert!(
            argv.lines()
                .any(|l| l.starts_with("x-access-token | ") && l.contains("push")),
            "{argv}"
        );
        let token = crate::github_app::TOKEN_HEAD;
        assert!(!argv.contains(token), "the token is in a git command line");
        files_without(&s.afk.scratch.path("work"), token);
        assert!(s.head("afk/upgrade-nginx-1.26.0").len() == 40);
        let n = pr_of(&r)["number"].as_u64().unwrap();
        assert_eq!(s.sb.issue(MIRROR, n)["user"]["login"], "afk-app[bot]");
        assert_eq!(crate::github_app::exchanges(&s.sb), 1);
        // the next upgrade tick reuses the token kept in the state file
        let out = upgrade_as_app();
        assert_eq!(out.status.code(), Some(0));
        assert_eq!(
            crate::github_app::exchanges(&s.sb),
            1,
            "one token, two ticks"
        );
    });
}

/// Issue 21 item 2: as a GitHub App only `<slug>[bot]`'s PRs are afk's: one
/// by a person named like the app, by another app's bot, or by the account
/// afk used before is not, even on afk's branch with afk's marker.
#[test]
fn as_a_github_app_only_the_bots_upgrade_prs_are_afks() {
    support::with_dialect(support::Dialect::Github, || {
        let s = setup_as_github_app();
        let branch = "afk/upgrade-nginx-1.26.0";
        s.sb.push_commit(MIRROR, branch, "evil.txt");
        let body = "<!-- afk-upgrade: {\"recipe\":\"nginx\",\"path\":\"nginx\",\"image\":\"library/nginx\",\"to\":\"1.26.0\",\"update_type\":\"minor\",\"sites\":[{\"file\":\"compose.yml\",\"service\":\"app\",\"from\":\"1.25.3\"}]} -->";
        let prs: Vec<Value> = ["afk-app", "other-app[bot]", "afk-bot"]
            .iter()
            .map(|who| json!({"title": "Upgrade nginx", "body": body, "pull": true, "head": branch, "author": who}))
            .collect();
        s.sb.admin(
            "POST",
            "/seed",
            Some(json!({"repos": [{"name": MIRROR, "issues": prs}]})),
        );
        let before = s.head(branch);
        let out = s
            .afk
            .cmd()
            .env_remove("AFK_FORGE_TOKEN")
            .args(["--json", "upgrade"])
            .output()
            .unwrap();
        let r: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
        assert_eq!(out.status.code(), Some(0), "{r}");
        assert!(r["prs"].as_array().unwrap().is_empty(), "not afk's: {r}");
        assert_eq!(s.head(branch), before, "never pushed over their commit");
        for n in 1..=3 {
            assert!(s.comments(n).is_empty(), "PR #{n} is not tested");
            assert_eq!(s.pr_state(n), "open", "nor closed");
        }
    });
}

/// `min_release_age` against the real registry (Debian's docker-registry):
/// configs pushed with and without `created`, one tag behind an index.
#[test]
fn release_age_from_a_real_registry() {
    let reg = support::registry::RealRegistry::start();
    let strings = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    reg.push_image(
        "library/nginx",
        &strings(&["1.25.3", "1.25.5"]),
        Some(&ago(30 * 1440)),
        false,
    );
    reg.push_image("library/nginx", &strings(&["1.26.0"]), Some(&ago(60)), true);
    reg.push_image("library/postgres", &strings(&["15.4", "15.6"]), None, false);
    let s = setup(COMPOSE, "push", "min_release_age = \"3d\"");
    s.mirror_docker_io_at(&reg.url);
    let (code, r, err) = s.upgrade(&["--dry-run"]);
    assert_eq!(code, 0, "{r} {err}");
    let selected: Vec<Vec<String>> = fields(&r["candidates"], &["image", "proposed", "selected"])
        .into_iter()
        .filter(|row| row[2] == "true")
        .collect();
    assert_eq!(
        selected,
        [
            ["library/nginx", "1.25.5", "true"],
            ["library/postgres", "15.6", "true"]
        ],
        "{r}"
    );
    let waiting = fields(&r["waiting"], &["image", "tag"]);
    assert_eq!(
        waiting,
        [["library/nginx", "1.26.0"], ["library/postgres", "15.6"]],
        "{r}"
    );
    assert!(r["waiting"][0]["until"].is_string(), "{r}");
    assert!(r["waiting"][1]["until"].is_null(), "{r}");
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
    s.mirror_docker_io_at(&reg.url);
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
fn the_demo_upgrade_act_scans_queues_goes_red_fix_green_and_shows_a_stuck_flow() {
    // a demo that hangs is killed at 60 s and fails here (`support::demo`)
    let out = support::demo(&["--json", "demo"], 60);
    let doc: Value = serde_json::from_slice(&out.stdout).expect("one JSON document");
    let ticks = doc["upgrade"].as_array().unwrap();
    // per tick: (recipe, verdict, result, test runs) of each PR, by recipe
    let steps: Vec<Vec<Vec<String>>> = ticks
        .iter()
        .map(|t| {
            let mut prs = fields(&t["prs"], &["recipe", "verdict", "result", "test_runs"]);
            prs.sort();
            prs
        })
        .collect();
    let s = |r: &str, v: &str, res: &str, n: u64| {
        vec![r.to_string(), v.to_string(), res.to_string(), n.to_string()]
    };
    assert_eq!(
        steps,
        vec![
            vec![
                s("cache", "PENDING", "PENDING", 0),
                s("web", "PENDING", "PENDING", 1)
            ],
            vec![
                s("cache", "PENDING", "PENDING", 0),
                s("web", "RED", "PENDING", 1)
            ],
            vec![
                s("cache", "PENDING", "PENDING", 0),
                s("web", "PENDING", "PENDING", 2)
            ],
            vec![
                s("cache", "PENDING", "PENDING", 1),
                s("web", "GREEN", "SUCCESS", 2)
            ],
            vec![
                s("cache", "PENDING", "STUCK", 1),
                s("web", "GREEN", "SUCCESS", 2)
            ],
        ]
    );
    // the first tick scanned, and queued cache behind web
    assert!(ticks[0]["candidates"].as_array().unwrap().len() >= 2);
    assert!(
        ticks[0]["actions"].to_string().contains("queued (place 1)"),
        "{}",
        ticks[0]
    );
    assert!(
        ticks[1]["candidates"].as_array().unwrap().is_empty(),
        "no second scan"
    );
    // the build id is never proposed
    assert!(!ticks[0]["candidates"].to_string().contains("2041837"));
}

#[test]
fn the_registry_token_flow_and_link_paging_of_the_sandbox_are_followed() {
    let s = setup(COMPOSE, "push", "registry_auth_env = \"AFK_TEST_REG\"\n");
    s.sb.admin(
        "POST",
        "/registry",
        Some(json!({"auth": true, "credentials": "bot:reg-secret", "page_size": 2})),
    );
    // the docker.io mirror is the sandbox: its host is the one the secret is for
    let auth_host = |host: &str| {
        let text = std::fs::read_to_string(&s.afk.config).unwrap();
        let text: String = text
            .lines()
            .filter(|l| !l.starts_with("registry_auth_host"))
            .map(|l| {
                if l.starts_with("registry_auth_env") {
                    format!("{l}\nregistry_auth_host = \"{host}\"\n")
                } else {
                    format!("{l}\n")
                }
            })
            .collect();
        std::fs::write(&s.afk.config, text).unwrap();
    };
    auth_host(s.sb.url.trim_start_matches("http://"));
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
    // a mirror on another host than registry_auth_host is asked anonymously
    auth_host("registry.example.org");
    let (code, r) = run("bot:reg-secret");
    assert_eq!(code, 1, "{r}");
    let reason = r["skipped"][0]["reason"].as_str().unwrap();
    assert!(
        reason.contains("401") && reason.contains("registry_auth_host (registry.example.org)"),
        "{reason}"
    );
}

#[test]
fn v1_only_afks_exact_test_comments_are_runs_and_a_lost_state_file_loses_no_count() {
    let s = setup(COMPOSE, "push", "");
    let branch = "afk/upgrade-nginx-1.26.0";
    let n = s.upgrade_pr_number();
    for (user, body) in [
        ("alice", "!testme"),
        ("afk-bot", "!testmexyz"),
        ("mallory", "!testme"),
    ] {
        s.sb.admin(
            "POST",
            "/comment",
            Some(json!({"repo": MIRROR, "pr": n, "body": body, "user": user})),
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
    let n = s.upgrade_pr_number();
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
    // the table while the flow runs: the PR as owner/repo#N (a GitLab merge
    // request's owner/repo!N; the URL is in --json), no result yet, and the
    // runs column says what it counts
    let out = s.afk.cmd().arg("upgrade").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[1].contains("TEST RUNS"), "{text}");
    let row: Vec<&str> = lines[2].split("  ").filter(|c| !c.trim().is_empty()).collect();
    assert_eq!(row[0].trim(), format!("{MIRROR}{}", s.sb.dialect.pr_ref(n)), "{text}");
    assert!(!lines[2].contains("http"), "{text}");
    assert_eq!(
        text.matches("PENDING").count(),
        1,
        "the verdict says PENDING, the result is empty until the flow ends: {text}"
    );
    assert!(lines[2].contains("1 of 3"), "{text}");

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
            && lines[2].contains("1 of 3"),
        "{text}"
    );
    assert!(text.contains("RESULT: SUCCESS"), "seed 003's wording: {text}");
}

/// `group_by = "recipe"` (the default): a recipe with an app and a database
/// image gets one PR carrying both bumps, its version label bumped once (minor:
/// the largest kind), tested once; the next scan's PR for the recipe
/// supersedes it; the report and the summary show each bump.
#[test]
fn one_pr_per_recipe_carries_every_bump_bumps_the_version_once_and_is_superseded() {
    let s = setup(COMPOSE, "push", "group_by = \"recipe\"");
    s.sb.admin(
        "POST",
        "/registry",
        Some(json!({"images": {"library/postgres": ["15.6"]}})),
    );
    let (code, r, err) = s.upgrade(&[]);
    assert_eq!(code, 0, "{r} {err}");
    assert_eq!(actions(&r)[..3], ["reconcile", "open_pr", "testme"], "{r}");
    let prs = r["prs"].as_array().unwrap();
    assert_eq!(prs.len(), 1, "{r}");
    let n = prs[0]["number"].as_u64().unwrap();
    assert_eq!(
        fields(&prs[0]["bumps"], &["image", "from", "to"]),
        [
            ["library/nginx", "1.25.3", "1.26.0"],
            ["library/postgres", "15.4", "15.6"]
        ]
    );
    let issue = s.sb.issue(MIRROR, n);
    assert_eq!(
        issue["title"],
        "Upgrade nginx: nginx 1.25.3 → 1.26.0, postgres 15.4 → 15.6"
    );
    let branch = "afk/upgrade-nginx-1.3.0+1.26.0";
    assert!(!s.head(branch).is_empty(), "the recipe's branch");
    let want = COMPOSE
        .replace("nginx:1.25.3", "nginx:1.26.0")
        .replace("postgres:15.4", "postgres:15.6")
        .replace("1.2.3+1.25.3", "1.3.0+1.26.0");
    assert_eq!(s.show(branch, "compose.yml"), want.trim_end());
    assert_eq!(s.comments(n).len(), 1, "tested once");
    let out = s.afk.cmd().arg("upgrade").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("library/nginx 1.25.3 → 1.26.0, library/postgres 15.4 → 15.6"),
        "{text}"
    );
    let status = s.afk.cmd().arg("status").output().unwrap();
    let status = String::from_utf8_lossy(&status.stdout);
    assert!(
        status.contains("library/nginx 1.25.3 → 1.26.0, library/postgres 15.4 → 15.6"),
        "{status}"
    );

    // a later scan finds a newer nginx: one new PR for the recipe, the old closed
    s.sb.admin(
        "POST",
        "/registry",
        Some(json!({"images": {"library/nginx": ["1.26.1"]}})),
    );
    let (code, r, err) = s.upgrade(&["--scan"]);
    assert_eq!(code, 0, "{r} {err}");
    let prs = r["prs"].as_array().unwrap();
    assert_eq!(prs.len(), 1, "{r}");
    let m = prs[0]["number"].as_u64().unwrap();
    assert_ne!(m, n);
    assert_eq!(
        fields(&r["closed"], &["pr", "reason"]),
        [[n.to_string(), format!("superseded by #{m}")]]
    );
    assert_eq!(s.pr_state(n), "closed");
    let branch = "afk/upgrade-nginx-1.3.0+1.26.1";
    assert!(!s.head(branch).is_empty(), "the recipe's new branch");
    assert!(s.show(branch, "compose.yml").contains("version=1.3.0+1.26.1"));
    assert_eq!(s.comments(m).len(), 1, "tested once");
    s.ci(branch, "success");
    let (code, r, _) = s.upgrade(&[]);
    assert_eq!(code, 0, "{r}");
    assert_eq!(pr_of(&r)["result"], "SUCCESS");
    assert_eq!(s.comments(m).len(), 1);
}

/// `min_release_age`: the best tag, pushed an hour ago, waits (the report says
/// until when) and the best older one is proposed; the image configs are read
/// (manifest → config blob) only for the tags that would be chosen; days later
/// the young tag is proposed and supersedes the first PR.
#[test]
fn a_tag_younger_than_min_release_age_waits_and_is_proposed_later() {
    let s = setup(COMPOSE, "push", "min_release_age = \"3d\"");
    s.sb.admin(
        "POST",
        "/registry",
        Some(json!({"created": {"library/nginx": {"1.26.0": ago(60), "1.25.5": ago(30 * 1440)}}})),
    );
    s.sb.clear_requests();
    let (code, r, err) = s.upgrade(&[]);
    assert_eq!(code, 0, "{r} {err}");
    let waiting = fields(&r["waiting"], &["image", "tag"]);
    assert_eq!(waiting, [["library/nginx", "1.26.0"]], "{r}");
    let until = r["waiting"][0]["until"].as_str().unwrap();
    assert!(r["waiting"][0]["reason"].as_str().unwrap().contains(until));
    assert_eq!(pr_of(&r)["to"], "1.25.5", "{r}");
    let asked: Vec<String> = s
        .sb
        .requests()
        .iter()
        .filter_map(|q| q["path"].as_str().map(str::to_string))
        .filter(|p| p.contains("/manifests/") || p.contains("/blobs/"))
        .collect();
    assert_eq!(asked.len(), 4, "two tags, a manifest and a config each: {asked:?}");
    assert!(asked[0].ends_with("/library/nginx/manifests/1.26.0"), "{asked:?}");
    assert!(asked[2].ends_with("/library/nginx/manifests/1.25.5"), "{asked:?}");
    let human = s.afk.cmd().args(["upgrade", "--dry-run"]).output().unwrap();
    let text = String::from_utf8_lossy(&human.stdout);
    assert!(
        text.contains("library/nginx:1.26.0 younger than min_release_age: waits until"),
        "{text}"
    );

    // four days later the tag is old enough: proposed, the first PR superseded
    s.at(4 * 1440);
    let (code, r, err) = s.upgrade(&["--scan"]);
    assert_eq!(code, 0, "{r} {err}");
    assert!(r.get("waiting").is_none(), "{r}");
    assert_eq!(pr_of(&r)["to"], "1.26.0", "{r}");
    assert_eq!(r["closed"].as_array().unwrap().len(), 1, "{r}");
}

/// An image config without `created` (here behind an index, whose
/// `linux/amd64` manifest is the one read) is treated as old enough, and said.
#[test]
fn an_image_config_without_created_is_old_enough_and_said() {
    let s = setup(COMPOSE, "push", "min_release_age = \"3d\"");
    s.sb.admin(
        "POST",
        "/registry",
        Some(json!({"indexes": ["library/nginx"], "created": {"library/nginx": {"1.26.0": null}}})),
    );
    let (code, r, err) = s.upgrade(&[]);
    assert_eq!(code, 0, "{r} {err}");
    assert_eq!(pr_of(&r)["to"], "1.26.0", "{r}");
    assert_eq!(
        fields(&r["waiting"], &["tag", "until"]),
        [["1.26.0", "null"]]
    );
    assert!(
        r["waiting"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("no created time"),
        "{r}"
    );
}

#[test]
fn v4_red_fixer_pushes_next_test_stale_green_ignored_then_green() {
    let s = setup(COMPOSE, "push", "");
    let branch = "afk/upgrade-nginx-1.26.0";
    let n = s.upgrade_pr_number();
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
        !env.contains(crate::support::TOKEN),
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
    let n = s.upgrade_pr_number();
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
        text.contains("RESULT: FAILED — upgrade not green after 3 test runs"),
        "seed 003's wording in the summary: {text}"
    );
    let last = s.comments(n).last().unwrap()["body"].as_str().unwrap().to_string();
    assert!(
        last.contains("RESULT: FAILED — upgrade not green after 3 test runs"),
        "seed 003's wording on the PR: {last}"
    );
}

#[test]
fn a_fixer_that_pushes_nothing_fails_the_flow() {
    let s = setup(COMPOSE, "nothing", "");
    let branch = "afk/upgrade-nginx-1.26.0";
    s.red_until_the_fixer_ends(branch);
    let (_, r, _) = s.upgrade(&[]);
    assert_eq!(pr_of(&r)["result"], "FAILED");
    assert_eq!(
        r["actions"][0]["reason"],
        "FAILED — the fixer pushed nothing"
    );
}

/// Issue #31: a fixer whose command is missing exits 127; the tick that sees
/// it end says so (exit status, its log's last lines) in the report and the
/// FAILED comment, counts it as an error and exits 1; `afk runs` lists it.
#[test]
fn a_fixer_that_cannot_run_is_an_error_with_its_exit_status_and_log() {
    let s = setup(COMPOSE, "missing", "");
    let branch = "afk/upgrade-nginx-1.26.0";
    let n = s.red_until_the_fixer_ends(branch);
    let (code, r, err) = s.upgrade(&[]);
    assert_eq!(code, 1, "a fixer that could not run fails the tick: {r}");
    let pr = pr_of(&r);
    assert_eq!(pr["result"], "FAILED");
    assert_eq!(pr["fixer"]["exit"], 127, "{pr}");
    let log: Vec<&str> = pr["fixer"]["log"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap())
        .collect();
    assert_eq!(log[0], "about to start the agent", "{log:?}");
    assert!(log.last().unwrap().contains("not found"), "{log:?}");
    let errors = r["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{r}");
    let message = errors[0]["message"].as_str().unwrap();
    assert!(
        message.contains("the fixer exited 127 (its command was not found")
            && message.contains("agent.log"),
        "{message}"
    );
    assert!(err.contains("exited 127"), "{err}");
    let last = s.comments(n).last().unwrap()["body"].as_str().unwrap().to_string();
    assert!(
        last.contains("RESULT: FAILED — the fixer exited 127")
            && last.contains("The fixer exited 127")
            && last.contains("```text\nabout to start the agent\n"),
        "{last}"
    );
    // the flow is over: the next tick neither repeats the error nor fails
    let (code, r, _) = s.upgrade(&[]);
    assert_eq!(code, 0, "{r}");
    // afk runs lists the fixer's run, and shows it
    let (code, runs, _) = s.afk.json(&["runs"]);
    assert_eq!(code, 0);
    let f = &runs["fixers"][0];
    assert_eq!(
        (f["kind"].as_str(), f["recipe"].as_str(), f["pr"].as_u64()),
        (Some("fixer"), Some("nginx"), Some(n))
    );
    assert_eq!((f["state"].as_str(), f["exit"].as_i64()), (Some("exited"), Some(127)));
    assert_eq!(f["flow"], "FAILED");
    let id = f["id"].as_str().unwrap().to_string();
    assert!(id.starts_with("upgrade-") && id.ends_with("-1"), "{id}");
    let human = s.afk.cmd().arg("runs").output().unwrap();
    let text = String::from_utf8_lossy(&human.stdout);
    assert!(
        !text.contains("no runs") && text.contains("upgrade fixers:") && text.contains(&id),
        "{text}"
    );
    let shown = s.afk.cmd().args(["runs", "show", &id]).output().unwrap();
    let text = String::from_utf8_lossy(&shown.stdout);
    assert_eq!(shown.status.code(), Some(0), "{text}");
    assert!(text.contains("exited 127") && text.contains("not found"), "{text}");
    let none = s.afk.cmd().args(["runs", "show", "upgrade-99-1"]).output().unwrap();
    assert_eq!(none.status.code(), Some(1));
}

#[test]
fn v5_a_stale_test_gets_one_comment_and_no_test_change() {
    let s = setup(COMPOSE, "stale", "");
    let branch = "afk/upgrade-nginx-1.26.0";
    let n = s.upgrade_pr_number();
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
    let (code, r, _) = s.upgrade(&["--scan"]);
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
        .position(|w| w == &format!("POST {}", support::api_path(s.sb.dialect, MIRROR, &s.sb.dialect.pr_rest(None))))
        .unwrap();
    let closed = writes
        .iter()
        .position(|w| {
            let pr = support::api_path(s.sb.dialect, MIRROR, &s.sb.dialect.pr_rest(Some(first)));
            w == &format!("{} {pr}", s.sb.dialect.issue_edit().0)
        })
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

/// Issue #31: a recipe skipped for an error (an image the registry does not
/// know: 404) is an error of the tick, in the summary's count and the
/// report's `errors`, as the exit code says; a dry run too.
#[test]
fn a_recipe_skipped_for_a_404_counts_as_an_error_in_a_dry_run() {
    let s = setup(COMPOSE, "push", "");
    s.sb.faults(json!([{"path": "/v2/library/postgres/tags/list", "status": 404}]));
    let (code, text) = crate::summaries::agreeing(&s.afk, &["--dry-run", "upgrade"]);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("1 skipped, 1 error"), "{text}");
    assert!(text.contains("SKIPPED — "), "{text}");
    assert_eq!(text.matches("SKIPPED").count(), 1, "said once: {text}");
    let (code, r, _) = s.upgrade(&["--dry-run"]);
    assert_eq!(code, 1);
    let errors = r["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{r}");
    assert!(
        errors[0]["message"].as_str().unwrap().starts_with("SKIPPED — ")
            && errors[0]["message"].as_str().unwrap().contains("404"),
        "{r}"
    );
}

/// A forge call that used up its retries is a `transient_retry` lesson of
/// the upgrade stage, written on the tick's journal (a dry run's: its copy,
/// so none reaches the file), whether it broke a recipe or the whole tick.
#[test]
fn an_upgrade_call_that_exhausts_its_retries_records_a_transient_retry_lesson() {
    let s = setup(COMPOSE, "push", "");
    let transient = |s: &Setup| {
        s.afk.sql_rows(
            "SELECT stage, coalesce(repo, '') FROM lessons WHERE lesson_type = 'transient_retry'",
        )
    };
    s.sb.faults(json!([{"path": s.sb.dialect.pulls_part(), "status": 503}]));
    let (code, r, err) = s.upgrade(&[]);
    assert_eq!(code, 1, "{err} {r}");
    let mirror = vec!["upgrade".to_string(), MIRROR.to_string()];
    assert!(transient(&s).contains(&mirror), "{:?}", transient(&s));
    s.afk.sql("DELETE FROM lessons");
    let (code, r, err) = s.upgrade(&["--dry-run"]);
    assert_eq!(code, 1, "{err} {r}");
    assert!(transient(&s).is_empty(), "{:?}", transient(&s));
    // afk's own login unread: the tick ends at once, its lesson still written
    s.sb.faults(json!([{"path": "/user", "status": 503}]));
    let (code, r, err) = s.upgrade(&[]);
    assert_eq!(code, 1, "{err} {r}");
    let tick = vec!["upgrade".to_string(), String::new()];
    assert_eq!(transient(&s), vec![tick]);
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
    let n = s.upgrade_pr_number();
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
}

#[test]
fn a_verdict_that_cannot_be_read_exits_4_never_red() {
    let s = setup(COMPOSE, "push", "");
    let (_, r, _) = s.upgrade(&[]);
    let pr = pr_of(&r)["number"].as_u64().unwrap().to_string();
    s.ci("afk/upgrade-nginx-1.26.0", "failure");
    // a typo in the PR number: no such PR
    let (code, r, _) = s.afk.json(&["upgrade", "verdict", MIRROR, "999"]);
    assert_eq!(code, 4, "{r}");
    assert!(r["errors"][0]["message"].as_str().unwrap().contains("404"), "{r}");
    assert_eq!(r["errors"][0]["repo"], MIRROR, "{r}");
    assert_eq!(r["verdict"], Value::Null, "{r}");
    let out = s.afk.cmd().args(["upgrade", "verdict", MIRROR, "999"]).output().unwrap();
    assert_eq!(out.status.code(), Some(4));
    assert!(!String::from_utf8_lossy(&out.stdout).contains("VERDICT="));
    assert_eq!(String::from_utf8_lossy(&out.stderr).lines().count(), 1);
    // an outage while reading: the forge answers 500 (the PR is RED, but unread)
    let one_pr = format!("{}/", s.sb.dialect.pulls_part());
    s.sb.faults(json!([{"path": one_pr, "status": 500}]));
    let out = s.afk.cmd().args(["upgrade", "verdict", MIRROR, &pr]).output().unwrap();
    assert_eq!(out.status.code(), Some(4), "{}", String::from_utf8_lossy(&out.stderr));
    s.sb.faults(json!([]));
    let out = s.afk.cmd().args(["upgrade", "verdict", MIRROR, &pr]).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "read, it is RED");
    // a usage error stays 2
    let out = s.afk.cmd().args(["upgrade", "verdict", "nope", &pr]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn a_testme_comment_of_several_words_is_afks_own() {
    let s = setup(COMPOSE, "push", "testme_comment = \"@ci-bot test this upgrade\"\n");
    let branch = "afk/upgrade-nginx-1.26.0";
    let (_, r, _) = s.upgrade(&[]);
    let n = pr_of(&r)["number"].as_u64().unwrap();
    assert_eq!(s.comments(n)[0]["body"], "@ci-bot test this upgrade");
    assert_eq!(pr_of(&r)["test_runs"], 1);
    s.ci(branch, "failure");
    let pr = n.to_string();
    let (code, r, _) = s.afk.json(&["upgrade", "verdict", MIRROR, &pr]);
    assert_eq!((code, r["test_runs"].as_u64()), (1, Some(1)), "{r}");
    // --post asks again: the RED before it is stale, and two runs are counted
    let (code, r, _) = s.afk.json(&["upgrade", "verdict", MIRROR, &pr, "--post"]);
    assert_eq!(code, 3, "{r}");
    assert_eq!(r["verdict"], "PENDING");
    assert_eq!(r["test_runs"], 2);
    // a longer comment that only starts with the command's first word is not one
    s.sb.admin(
        "POST",
        "/comment",
        Some(json!({"repo": MIRROR, "pr": n, "body": "@ci-bot test this upgrade-please", "user": "afk-bot"})),
    );
    let (_, r, _) = s.afk.json(&["upgrade", "verdict", MIRROR, &pr]);
    assert_eq!(r["test_runs"], 2, "{r}");
}

}

// ---- the hardening of issue 16: git, its environment, afk's own commit ----------

/// An HTTP server on another loopback address that asks for basic auth
/// (401) and records every `Authorization` header it is sent: where a
/// redirected git would hand the token.
fn auth_recorder() -> (String, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    use std::io::{BufRead, Write};
    let listener = std::net::TcpListener::bind("127.0.0.3:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = std::sync::Arc::new(std::sync::Mutex::new(vec![]));
    let log = seen.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            let mut reader = std::io::BufReader::new(conn.try_clone().unwrap());
            let mut auth = None;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line.trim().is_empty() {
                    break;
                }
                if let Some((k, v)) = line.split_once(':')
                    && k.eq_ignore_ascii_case("authorization")
                {
                    auth = Some(v.trim().to_string());
                }
            }
            let reply = match auth {
                Some(a) => {
                    log.lock().unwrap().push(a);
                    "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                }
                None => {
                    "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"elsewhere\"\r\n\
                     Content-Length: 0\r\nConnection: close\r\n\r\n"
                }
            };
            let mut conn = conn;
            let _ = conn.write_all(reply.as_bytes());
        }
    });
    (url, seen)
}

/// Issue 16 item 2: the forge redirects git (the push of a new PR, then the
/// fixer's clone) to another host that asks for a password. git must not
/// follow, and the askpass helper must not answer for that host.
#[test]
fn the_token_never_follows_a_git_redirect_to_another_host() {
    let s = setup(COMPOSE, "push", "");
    let (elsewhere, seen) = auth_recorder();
    s.sb.admin("POST", "/git_redirect", Some(json!({ "to": elsewhere })));
    let (code, r, _) = s.upgrade(&[]);
    assert_eq!(code, 1, "the push fails: {r}");
    assert!(r["prs"].as_array().unwrap().is_empty(), "{r}");
    assert_eq!(*seen.lock().unwrap(), Vec::<String>::new(), "push: {r}");
    // the PR opened without the redirect; then the fixer's clone is redirected
    s.sb.admin("POST", "/git_redirect", Some(json!({ "to": null })));
    let (code, r, _) = s.upgrade(&[]);
    assert_eq!(code, 0, "{r}");
    s.ci("afk/upgrade-nginx-1.26.0", "failure");
    s.sb.admin("POST", "/git_redirect", Some(json!({ "to": elsewhere })));
    let (code, r, _) = s.upgrade(&[]);
    assert_eq!(code, 1, "the fixer's clone fails: {r}");
    let errors = r["errors"].to_string();
    assert!(errors.contains("fixer"), "{r}");
    assert_eq!(*seen.lock().unwrap(), Vec::<String>::new(), "clone: {r}");
}

/// Issue 16 item 3: no git child holds the token in its environment (where
/// any process of the same user reads it in /proc/<pid>/environ); askpass
/// reads it from a sealed memfd that only that git call inherited, which no
/// path names (issue 46: no file another process could open).
#[test]
fn no_git_child_carries_the_token_in_its_environment() {
    const SECRET: &str = "tok-5e1d9c3b7a2f4e6d8c0b";
    let s = setup(COMPOSE, "push", "");
    s.sb.admin("POST", "/seed", Some(json!({"token": SECRET})));
    let envs = s.afk.scratch.path("git-env.log");
    let files = s.afk.scratch.path("secret-files.log");
    let shim = shim_with(
        &s.afk.scratch,
        &format!(
            "env >> '{envs}'\n\
             [ -n \"${{AFK_GIT_SECRET_FD:-}}\" ] && echo \"fd $(readlink /proc/self/fd/$AFK_GIT_SECRET_FD)\" >> '{files}'\n",
            envs = envs.display(),
            files = files.display(),
        ),
    );
    s.open_red_and_fix_through(&shim, SECRET);
    let env = std::fs::read_to_string(&envs).unwrap();
    assert!(
        env.contains("GIT_ASKPASS="),
        "an authenticated call was made"
    );
    assert!(!env.contains(SECRET), "the token is in a git environment");
    // the push and the fixer's clone each inherited the secret's memfd, no file
    let used = std::fs::read_to_string(&files).unwrap_or_default();
    let used: Vec<&str> = used.lines().collect();
    assert!(used.len() >= 2, "{used:?}");
    for line in &used {
        assert!(line.starts_with("fd /memfd:afk-git-secret"), "{line}");
    }
    let askpass = s.afk.scratch.path("work/.afk-askpass");
    let script = std::fs::read_to_string(&askpass).unwrap();
    assert!(!script.contains(SECRET), "{script}");
    files_without(&s.afk.scratch.dir, SECRET);
}

/// Issue 16 item 3: while afk runs, another process of its own user cannot
/// read afk's environment (which holds the forge token): afk makes itself
/// non-dumpable at start. The reader is afk's own git child, so afk is
/// certainly running and waiting for it.
///
/// The tests run as root here, and root reads any /proc/<pid>/environ through
/// CAP_SYS_PTRACE (and /proc files of a root process are root's either way).
/// So as root both afk and the reader run without any capability (setpriv
/// clears the bounding set): a capability-less root is then exactly a
/// same-user attacker, whom the kernel refuses only when afk is not dumpable.
/// As another user, both run as that user unchanged.
#[test]
fn afk_is_not_readable_by_a_process_of_its_own_user() {
    use std::os::unix::fs::MetadataExt;
    let s = setup(COMPOSE, "push", "");
    let peek = s.afk.scratch.path("peek.log");
    let shim = shim_with(
        &s.afk.scratch,
        &format!(
            "if cat /proc/$PPID/environ >/dev/null 2>&1; then echo READ >> '{p}'; \
             else echo DENIED >> '{p}'; fi\n",
            p = peek.display()
        ),
    );
    let path = format!("{}:{}", shim.display(), std::env::var("PATH").unwrap());
    let root = std::fs::metadata("/proc/self").unwrap().uid() == 0;
    let afk = support::afk_bin();
    let mut argv: Vec<std::ffi::OsString> = vec![];
    if root {
        argv.extend(["--bounding-set=-all", "--inh-caps=-all"].map(Into::into));
        argv.push(afk.clone().into());
    }
    argv.extend([
        "--config".into(),
        s.afk.config.clone().into_os_string(),
        "--json".into(),
        "upgrade".into(),
    ]);
    let out = std::process::Command::new(if root { "setpriv".into() } else { afk })
        .args(&argv)
        .env("AFK_FORGE_TOKEN", support::TOKEN)
        .env("PATH", &path)
        .env("AFK_TEST_WEBHOOK", format!("{}/_hooks/webhook", s.sb.url))
        .output()
        .unwrap();
    let r: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{r} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let seen = std::fs::read_to_string(&peek).unwrap();
    assert!(seen.contains("DENIED"), "git ran and peeked: {seen}");
    assert!(!seen.contains("READ"), "afk's environment was read: {seen}");
}

impl Setup {
    /// `afk --json upgrade` with `shim` first on PATH.
    fn upgrade_through(&self, shim: &Path) -> (i32, Value) {
        self.upgrade_through_as(shim, support::TOKEN)
    }

    /// `afk --json upgrade` with `shim` first on PATH and `token` as the
    /// forge token.
    fn upgrade_through_as(&self, shim: &Path, token: &str) -> (i32, Value) {
        let path = format!("{}:{}", shim.display(), std::env::var("PATH").unwrap());
        let out = self
            .afk
            .cmd()
            .env("AFK_FORGE_TOKEN", token)
            .env("PATH", &path)
            .args(["--json", "upgrade"])
            .output()
            .unwrap();
        let r: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
        (out.status.code().unwrap_or(-1), r)
    }

    /// Through `shim` with `token`: a tick opens the bump's PR, its CI goes
    /// red, and the next tick starts the fixer, which is waited for.
    fn open_red_and_fix_through(&self, shim: &Path, token: &str) {
        let (code, r) = self.upgrade_through_as(shim, token);
        assert_eq!(code, 0, "{r}");
        assert_eq!(actions(&r)[..2], ["reconcile", "open_pr"]);
        self.ci("afk/upgrade-nginx-1.26.0", "failure");
        let (code, r) = self.upgrade_through_as(shim, token);
        assert_eq!(code, 0, "{r}");
        self.wait_fixer(1);
    }

    /// The branches of the mirror.
    fn branches(&self) -> Vec<String> {
        git(
            &self.mirror_git(),
            &["for-each-ref", "--format=%(refname:short)", "refs/heads"],
        )
        .lines()
        .map(str::to_string)
        .collect()
    }
}

/// Issue 16 item 6: a hostile upstream names a compose file so that its name,
/// written into `git update-index --index-info`, adds lines of its own:
/// `abra.sh` replaced by an executable and files upstream `main` does not
/// have, in a commit under afk's name. afk's commit changes compose.yml only.
#[test]
fn a_compose_file_name_cannot_inject_lines_into_afks_commit() {
    let s = setup(COMPOSE, "push", "");
    let payload = "#!/bin/sh\necho pwned\n";
    s.upstream.commit(
        &[("abra.sh", "#!/bin/sh\necho ok\n"), ("payload", payload)],
        "files",
    );
    let blob = git(&s.upstream.work, &["rev-parse", "HEAD:payload"]);
    let hostile = format!("compose.a\n100755 {blob}\tabra.sh\n100644 {blob}\tcompose.b.yml");
    let main = s.upstream.commit(
        &[(
            hostile.as_str(),
            "services:\n  app:\n    image: nginx:1.25.3\n",
        )],
        "an override",
    );
    let (code, r, _) = s.upgrade(&[]);
    assert_eq!(code, 0, "{r}");
    let branch = "afk/upgrade-nginx-1.26.0";
    let changed = git(
        &s.mirror_git(),
        &[
            "diff-tree",
            "-r",
            "--no-renames",
            "--name-status",
            &main,
            branch,
        ],
    );
    assert_eq!(changed, "M\tcompose.yml", "afk's commit changed more");
}

/// Issue 16 item 6: whatever git was fed, afk checks its commit before the
/// push and pushes none that changes more than the image lines (and the
/// version label) of the files it meant to change. Here a `git` on PATH adds
/// an entry of its own to `update-index`.
#[test]
fn afk_pushes_no_commit_that_changes_more_than_it_meant() {
    let s = setup(COMPOSE, "push", "");
    s.upstream.commit(
        &[
            ("abra.sh", "#!/bin/sh\necho ok\n"),
            ("payload", "#!/bin/sh\n"),
        ],
        "files",
    );
    let blob = git(&s.upstream.work, &["rev-parse", "HEAD:payload"]);
    let shim = shim_with(
        &s.afk.scratch,
        &format!(
            "case \" $* \" in *' update-index '*)\n\
               t='\\n'; case \" $* \" in *' -z '*) t='\\0' ;; esac\n\
               {{ cat; printf \"100755 {blob}\\tabra.sh$t\"; }} | \"$REAL_GIT\" \"$@\"; exit $? ;;\n\
             esac\n"
        ),
    );
    let (code, r) = s.upgrade_through(&shim);
    assert_eq!(code, 1, "{r}");
    assert!(r["prs"].as_array().unwrap().is_empty(), "{r}");
    assert_eq!(s.branches(), ["main"], "{r}");
    assert!(r["errors"].to_string().contains("abra.sh"), "{r}");
}

/// Issue 16 item 7: an image path outside the OCI name grammar
/// (`x;id>PWNED;`) never becomes an upgrade branch, where it would reach an
/// agent's shell.
#[test]
fn a_hostile_image_path_never_becomes_a_branch() {
    let compose =
        "services:\n  app:\n    image: \"x;id>PWNED;:1.0\"\n  web:\n    image: nginx:1.25.3\n";
    let s = setup(compose, "push", "");
    s.sb.admin(
        "POST",
        "/registry",
        Some(json!({"images": {"library/nginx": NGINX, "library/x;id>PWNED;": ["1.0", "1.1"]}})),
    );
    let (code, r, _) = s.upgrade(&[]);
    assert_eq!(code, 0, "{r}");
    let branches = s.branches();
    assert!(
        branches
            .iter()
            .all(|b| !b.contains(';') && !b.contains('>')),
        "{branches:?}"
    );
    assert!(
        branches.contains(&"afk/upgrade-nginx-1.26.0".to_string()),
        "{branches:?} {r}"
    );
    let candidates = r["candidates"].to_string();
    assert!(!candidates.contains("PWNED"), "{r}");
}

#[test]
fn a_bare_build_id_is_never_a_version_and_15_moves_to_16() {
    let compose = "services:\n  app:\n    image: nginx:15\n  db:\n    image: postgres:2041837\n";
    let s = setup(compose, "push", "allow_major = true\n");
    s.sb.admin(
        "POST",
        "/registry",
        Some(json!({"images": {
            "library/nginx": ["15", "16", "2041837", "3081422", "20240115"],
            "library/postgres": ["2041837", "2041900", "16"]
        }})),
    );
    let (code, r, err) = s.upgrade(&["--dry-run"]);
    assert_eq!(code, 0, "{r} {err}");
    let got = fields(&r["candidates"], &["image", "current", "proposed"]);
    let row = |i: &str, c: &str, p: &str| vec![i.to_string(), c.to_string(), p.to_string()];
    assert_eq!(
        got,
        vec![
            row("library/nginx", "15", "16"),
            row("library/postgres", "2041837", "2041900"),
        ]
    );
}

#[test]
fn registries_are_asked_once_per_scan_every_and_open_prs_move_on_every_tick() {
    let s = setup(COMPOSE, "push", "scan_every = \"7d\"\n");
    let branch = "afk/upgrade-nginx-1.26.0";
    s.at(0);
    s.sb.clear_requests();
    let (code, r, _) = s.upgrade(&[]);
    assert_eq!(code, 0, "{r}");
    assert!(s.registry_asks() > 0, "the first tick scans");
    let n = pr_of(&r)["number"].as_u64().unwrap();
    // ticks every 15 minutes: the PR's flow moves on, the registry is not asked
    s.ci(branch, "failure");
    s.sb.clear_requests();
    s.at(15);
    let (_, r, _) = s.upgrade(&[]);
    assert_eq!(actions(&r), ["start_fixer"], "{r}");
    assert_eq!(s.registry_asks(), 0, "no scan within scan_every");
    assert!(r["candidates"].as_array().unwrap().is_empty());
    s.wait_fixer(1);
    s.at(30);
    let (_, r, _) = s.upgrade(&[]);
    assert_eq!(actions(&r), ["testme"], "{r}");
    s.ci(branch, "success");
    s.at(45);
    let (_, r, _) = s.upgrade(&[]);
    assert_eq!(
        pr_of(&r)["result"],
        "SUCCESS",
        "RED → fix → GREEN within 4 ticks"
    );
    assert_eq!(s.registry_asks(), 0);
    // a newer tag appears: only a scan (forced, or due) finds it
    s.sb.admin(
        "POST",
        "/registry",
        Some(json!({"images": {"library/nginx": ["1.26.1"]}})),
    );
    s.at(60);
    let (_, r, _) = s.upgrade(&[]);
    assert!(!actions(&r).contains(&"open_pr".to_string()), "{r}");
    // --dry-run always shows what a scan would find, and records nothing
    let (_, r, _) = s.upgrade(&["--dry-run"]);
    assert!(actions(&r).contains(&"open_pr".to_string()), "{r}");
    s.sb.clear_requests();
    let (_, r, _) = s.upgrade(&[]);
    assert_eq!(s.registry_asks(), 0, "a dry run records no scan: {r}");
    let (_, r, _) = s.upgrade(&["--scan"]);
    assert!(s.registry_asks() > 0);
    assert!(actions(&r).contains(&"open_pr".to_string()), "{r}");
    assert_eq!(r["closed"][0]["pr"], n);
    // a week after the last scan, the tick scans by itself
    s.sb.clear_requests();
    s.at(60 + 7 * 24 * 60 + 1);
    s.upgrade(&[]);
    assert!(s.registry_asks() > 0, "scan_every passed");
}

#[test]
fn tests_run_one_recipe_at_a_time_oldest_first_and_a_final_result_frees_the_slot() {
    let web = "services:\n  web:\n    image: caddy:2.7.0\n";
    let s = setup_recipes(COMPOSE, "push", "", &[("web", web)]);
    s.sb.admin(
        "POST",
        "/registry",
        Some(json!({"images": {"library/caddy": ["2.7.0", "2.8.4"]}})),
    );
    let (code, r, _) = s.upgrade(&[]);
    assert_eq!(code, 0, "{r}");
    let prs = r["prs"].as_array().unwrap();
    assert_eq!(prs.len(), 2, "{r}");
    let nginx = prs.iter().find(|p| p["recipe"] == "nginx").unwrap()["number"]
        .as_u64()
        .unwrap();
    let web_pr = prs.iter().find(|p| p["recipe"] == "web").unwrap()["number"]
        .as_u64()
        .unwrap();
    assert_eq!(s.comments(nginx).len(), 1, "the oldest is tested");
    assert!(
        s.comments_in("maint/web", web_pr).is_empty(),
        "the other waits"
    );
    let queued = r["actions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["recipe"] == "web" && a["action"] == "wait")
        .unwrap_or_else(|| panic!("{r}"));
    assert!(
        queued["reason"]
            .as_str()
            .unwrap()
            .contains("queued (place 1)"),
        "{queued}"
    );
    let out = s.afk.cmd().arg("upgrade").output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("queued"));
    // afk status shows both flows with the queue place
    let (code, st, _) = s.afk.json(&["status"]);
    assert_eq!(code, 0, "{st}");
    let flows = st["upgrades"].as_array().unwrap_or_else(|| panic!("{st}"));
    assert_eq!(flows.len(), 2, "{st}");
    let w = flows.iter().find(|f| f["recipe"] == "web").unwrap();
    assert_eq!(
        (w["pr"].as_u64(), w["queue_place"].as_u64()),
        (Some(web_pr), Some(1)),
        "{w}"
    );
    assert_eq!(w["step"], "queued");
    assert!(w["since"].is_string(), "{w}");
    let human = s.afk.cmd().arg("status").output().unwrap();
    let text = String::from_utf8_lossy(&human.stdout);
    assert!(
        text.contains("maint/web#") && text.contains("queued"),
        "{text}"
    );
    // GREEN frees the slot on the same tick
    s.ci("afk/upgrade-nginx-1.26.0", "success");
    let (_, r, _) = s.upgrade(&[]);
    let results = fields(&r["prs"], &["recipe", "result"]);
    assert!(
        results.contains(&vec!["nginx".into(), "SUCCESS".into()]),
        "{r}"
    );
    assert_eq!(s.comments_in("maint/web", web_pr).len(), 1, "{r}");
    let (_, st, _) = s.afk.json(&["status"]);
    let flows = st["upgrades"].as_array().unwrap();
    assert_eq!(flows.len(), 1, "a final flow is no longer listed: {st}");
    assert_eq!(flows[0]["step"], "testing");
}

#[test]
fn a_test_run_with_no_verdict_ends_stuck_after_verdict_timeout() {
    let s = setup(COMPOSE, "push", "verdict_timeout = \"24h\"\n");
    let text = std::fs::read_to_string(&s.afk.config).unwrap().replace(
        "[notify]\n",
        "[notify]\nevents = [\"upgrade.failed\", \"upgrade.stuck\"]\n",
    );
    std::fs::write(&s.afk.config, text).unwrap();
    let n = s.upgrade_pr_number();
    s.at(23 * 60);
    let (_, r, _) = s.upgrade(&[]);
    assert_eq!(actions(&r), ["wait"], "{r}");
    // the CI never answers: a day later the flow ends STUCK, once
    s.at(24 * 60 + 5);
    let (code, r, _) = s.upgrade(&[]);
    assert_eq!(code, 0, "{r}");
    assert_eq!(pr_of(&r)["result"], "STUCK", "{r}");
    let reason = r["actions"][0]["reason"].as_str().unwrap();
    assert!(reason.starts_with("STUCK — no verdict"), "{reason}");
    let stuck: Vec<Value> = s
        .comments(n)
        .into_iter()
        .filter(|c| c["body"].as_str().unwrap().contains("STUCK"))
        .collect();
    assert_eq!(stuck.len(), 1);
    s.at(10 * 365 * 24 * 60);
    s.sb.clear_requests();
    let (_, r, _) = s.upgrade(&[]);
    assert_eq!(pr_of(&r)["result"], "STUCK", "final");
    assert!(s.sb.writes().is_empty(), "{:?}", s.sb.writes());
    let lessons = s.afk.sql_rows("SELECT lesson_type FROM lessons");
    assert_eq!(lessons, vec![vec!["upgrade_stuck".to_string()]]);
    let hooks: Vec<Value> =
        s.sb.hooks()
            .into_iter()
            .filter(|h| h["body"]["event"] == "upgrade.stuck")
            .collect();
    assert_eq!(hooks.len(), 1, "{hooks:?}");
    let (_, st, _) = s.afk.json(&["status"]);
    assert!(st["upgrades"].as_array().unwrap().is_empty(), "{st}");
}

#[test]
fn a_fixer_that_makes_no_progress_is_stopped_and_the_flow_ends_stuck() {
    let s = setup(COMPOSE, "hang", "");
    let branch = "afk/upgrade-nginx-1.26.0";
    s.upgrade(&[]);
    s.ci(branch, "failure");
    let (_, r, _) = s.upgrade(&[]);
    assert_eq!(actions(&r), ["start_fixer"]);
    let (_, st, _) = s.afk.json(&["status"]);
    assert_eq!(st["upgrades"][0]["step"], "fixing", "{st}");
    s.at(4 * 60);
    let (_, r, _) = s.upgrade(&[]);
    assert_eq!(pr_of(&r)["result"], "STUCK", "{r}");
    assert!(
        r["actions"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("the fixer made no progress"),
        "{r}"
    );
    // the fixer was stopped
    let runs = s.afk.scratch.path("state/runs");
    let dir = std::fs::read_dir(&runs)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .find(|p| p.to_string_lossy().ends_with("-1"))
        .unwrap();
    let pid = std::fs::read_to_string(dir.join("agent.pid")).unwrap();
    let pid = pid.split_whitespace().next().unwrap();
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let state = stat
        .rsplit(')')
        .next()
        .unwrap_or("")
        .split_whitespace()
        .next();
    assert!(
        matches!(state, None | Some("Z") | Some("X")),
        "the fixer runs on: {stat}"
    );
}

#[test]
fn a_tick_lists_a_mirrors_prs_once_and_asks_no_branch_it_does_not_push() {
    let s = setup(COMPOSE, "push", "");
    let n = s.upgrade_pr_number();
    for args in [&["--scan"][..], &[][..], &["--dry-run"][..]] {
        s.sb.clear_requests();
        let (code, r, _) = s.upgrade(args);
        assert_eq!(code, 0, "{r}");
        assert_eq!(pr_of(&r)["number"], n);
        let gets: Vec<String> =
            s.sb.requests()
                .iter()
                .filter(|q| q["method"] == "GET")
                .map(|q| q["path"].as_str().unwrap().to_string())
                .collect();
        let pulls = gets
            .iter()
            .filter(|p| p.ends_with(&format!("{MIRROR}/pulls")))
            .count();
        assert_eq!(pulls, 1, "{args:?}: {gets:?}");
        assert!(
            !gets.iter().any(|p| p.contains("/branches/afk")),
            "{args:?}: the PR's own branch is not asked for: {gets:?}"
        );
    }
}

#[test]
fn with_tests_needs_a_tests_repo_and_the_stale_comment_names_it_only_then() {
    let s = setup(COMPOSE, "stale", "");
    let (code, r, err) = s.upgrade(&["--with-tests"]);
    assert_eq!(code, 2, "{r} {err}");
    assert!(
        r.to_string().contains("tests_repo") || err.contains("tests_repo"),
        "{r} {err}"
    );
    assert!(s.sb.writes().is_empty());
    // without tests_repo the stale-test comment does not send people to --with-tests
    let branch = "afk/upgrade-nginx-1.26.0";
    let n = s.red_until_the_fixer_ends(branch);
    let (_, r, _) = s.upgrade(&[]);
    assert_eq!(pr_of(&r)["result"], "SUCCESS-PENDING-TESTS");
    let body = s
        .comments(n)
        .into_iter()
        .map(|c| c["body"].as_str().unwrap().to_string())
        .find(|b| b.contains("looks stale"))
        .unwrap();
    assert!(!body.contains("--with-tests"), "{body}");
}

#[test]
fn with_tests_pairs_a_tests_pr_and_green_with_the_updated_tests_is_success_testpr() {
    let s = setup(COMPOSE, "stale", "tests_repo = \"maint/tests\"\n");
    // the tests repository has a main branch
    s.sb.push_commit("maint/tests", "main", "test_nginx.sh");
    // a CI that answers every test comment: RED with the old tests, GREEN
    // when the comment names the updated tests' branch
    let tests_branch = "afk/tests-nginx-1.26.0";
    s.sb.admin(
        "POST",
        "/ci",
        Some(json!({"repo": MIRROR, "trigger": "!testme", "context": CTX,
                    "states": ["failure"], "tests": {tests_branch: "success"}})),
    );
    let (_, r, _) = s.upgrade(&["--with-tests"]);
    let n = pr_of(&r)["number"].as_u64().unwrap();
    let (_, r, _) = s.upgrade(&["--with-tests"]);
    assert_eq!(actions(&r), ["start_fixer"], "{r}");
    s.wait_fixer(1);
    // the fixer says a test is stale: with --with-tests it updates it
    let (_, r, _) = s.upgrade(&["--with-tests"]);
    assert_eq!(actions(&r), ["start_fixer"], "{r}");
    assert_eq!(pr_of(&r)["result"], "PENDING");
    let dir = s.wait_fixer_tests(1);
    let env = std::fs::read_to_string(dir.join("got-env")).unwrap();
    // the tests fixer's AFK_RUN_ID is its run folder's name, as `afk runs` lists it
    let folder = dir.file_name().unwrap().to_string_lossy().to_string();
    assert!(folder.ends_with("-1-tests"), "{folder}");
    assert!(
        env.lines().any(|l| l == format!("AFK_RUN_ID={folder}")),
        "{env}"
    );
    assert!(
        env.lines().any(|l| l == "AFK_TESTS_REPO=maint/tests"),
        "{env}"
    );
    assert!(
        env.lines()
            .any(|l| l == format!("AFK_TESTS_BRANCH={tests_branch}")),
        "{env}"
    );
    // the tests PR is opened, the two are cross-linked, and the recipe PR is
    // tested against the updated tests
    let (code, r, _) = s.upgrade(&["--with-tests"]);
    assert_eq!(code, 0, "{r}");
    assert_eq!(actions(&r), ["open_pr", "testme"], "{r}");
    let testmes: Vec<String> = s
        .comments(n)
        .iter()
        .map(|c| c["body"].as_str().unwrap().to_string())
        .filter(|b| b.starts_with("!testme"))
        .collect();
    assert_eq!(
        testmes.last().unwrap(),
        &format!("!testme tests={tests_branch}")
    );
    let st = s.sb.admin("GET", "/state", None);
    let tests = st["repos"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "maint/tests")
        .unwrap();
    let tpr = &tests["issues"][0];
    assert_eq!(tpr["title"], "Update nginx tests for nginx 1.26.0");
    let tn = tpr["number"].as_u64().unwrap();
    assert!(s.comments_in("maint/tests", tn).iter().any(|c| {
        c["body"]
            .as_str()
            .unwrap()
            .contains(&format!("{MIRROR}#{n}"))
    }));
    let notes: Vec<String> = s
        .comments(n)
        .iter()
        .map(|c| c["body"].as_str().unwrap().to_string())
        .filter(|b| b.contains(&format!("maint/tests#{tn}")))
        .collect();
    assert_eq!(notes.len(), 1, "{notes:?}");
    // the cross-note says which test was stale and why, as the fixer said it
    assert!(
        notes[0].contains("test\\_homepage")
            && notes[0].contains("the welcome text changed in 1.26"),
        "{}",
        notes[0]
    );
    let back: Vec<String> = s
        .comments_in("maint/tests", tn)
        .iter()
        .map(|c| c["body"].as_str().unwrap().to_string())
        .collect();
    assert!(
        back.iter().any(|b| b.contains("test\\_homepage")),
        "{back:?}"
    );
    let (_, r, _) = s.upgrade(&["--with-tests"]);
    let pr = pr_of(&r);
    assert_eq!(pr["result"], "SUCCESS+TESTPR", "{r}");
    assert!(
        pr["tests_pr"].as_str().unwrap().contains(&format!("/{tn}")),
        "{pr}"
    );
    assert_eq!(s.pr_state(n), "open", "nothing is merged");
    let out = s
        .afk
        .cmd()
        .args(["upgrade", "--with-tests"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("SUCCESS+TESTPR") && text.contains("maint/tests"),
        "{text}"
    );
}

/// What an upgrade tick decided to do to the mirrors: reconcile, open and
/// close, with the reasons (a new PR's first test comment is its flow's, which
/// a dry run, opening no PR, has none of).
fn upgrade_plan(r: &Value) -> Vec<String> {
    r["actions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| ["reconcile", "open_pr", "close_pr"].contains(&a["action"].as_str().unwrap()))
        .map(|a| format!("{} {} {}", a["recipe"], a["action"], a["reason"]))
        .collect()
}

/// Every file of the state folder with its bytes (SQLite's side files left out).
fn state_files(afk: &Afk) -> Vec<(PathBuf, Vec<u8>)> {
    let mut paths = vec![];
    files_under(&afk.scratch.path("state"), &mut paths);
    paths.sort();
    paths
        .into_iter()
        .filter(|p| {
            !p.to_string_lossy().ends_with("-wal") && !p.to_string_lossy().ends_with("-shm")
        })
        .map(|p| {
            let b = std::fs::read(&p).unwrap();
            (p, b)
        })
        .collect()
}

#[test]
fn a_dry_upgrade_and_the_real_one_make_the_same_plan_and_the_dry_one_pushes_and_writes_nothing() {
    let s = setup(COMPOSE, "push", "");
    // the first tick: the mirror is reconciled, a bump opened
    let (code, dry, err) = s.upgrade(&["--dry-run"]);
    assert_eq!(code, 0, "{err}");
    assert!(s.sb.writes().is_empty(), "{:?}", s.sb.writes());
    assert!(!s.afk.state().exists(), "no state file");
    let out = s.afk.cmd().args(["--dry-run", "upgrade"]).output().unwrap();
    let human = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        human.contains("would write:") && human.contains(": push "),
        "{human}"
    );
    assert!(s.sb.writes().is_empty(), "{:?}", s.sb.writes());
    let (code, real, err) = s.upgrade(&[]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(upgrade_plan(&dry), upgrade_plan(&real));
    assert_eq!(dry["candidates"], real["candidates"]);
    assert!(
        upgrade_plan(&real).iter().any(|a| a.contains("open_pr")),
        "{real}"
    );
    let n = pr_of(&real)["number"].as_u64().unwrap();

    // upstream takes the bump itself: the mirror follows, the PR is closed
    let up = s.upstream.commit(
        &[(
            "compose.yml",
            &COMPOSE.replace("nginx:1.25.3", "nginx:1.26.0"),
        )],
        "nginx 1.26.0",
    );
    let main = s.head("main");
    let (rows, files) = (
        s.afk.sql_rows("SELECT * FROM upgrades ORDER BY id"),
        state_files(&s.afk),
    );
    s.sb.clear_requests();
    let (code, dry, err) = s.upgrade(&["--dry-run"]);
    assert_eq!(code, 0, "{err}");
    assert!(s.sb.writes().is_empty(), "{:?}", s.sb.writes());
    assert_eq!(s.head("main"), main, "nothing pushed");
    assert_eq!(s.pr_state(n), "open");
    assert_eq!(s.afk.sql_rows("SELECT * FROM upgrades ORDER BY id"), rows);
    assert_eq!(state_files(&s.afk), files, "the state file is unchanged");
    let (code, real, err) = s.upgrade(&[]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(upgrade_plan(&dry), upgrade_plan(&real));
    assert_eq!(dry["closed"], real["closed"]);
    assert_eq!(
        real["closed"],
        json!([{"recipe": "nginx", "pr": n, "reason": "merged upstream (1.26.0)"}])
    );
    assert_eq!(s.head("main"), up);
    assert_eq!(s.pr_state(n), "closed");
}

#[test]
fn a_dry_upgrade_starts_no_fixer_and_names_the_one_the_real_tick_starts() {
    let s = setup(COMPOSE, "push", "");
    let branch = "afk/upgrade-nginx-1.26.0";
    let n = s.upgrade_pr_number();
    s.ci(branch, "failure");
    let (head, files) = (s.head(branch), state_files(&s.afk));
    s.sb.clear_requests();
    let out = s.afk.cmd().args(["--dry-run", "upgrade"]).output().unwrap();
    let human = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        human.contains(&format!("{MIRROR}#{n}: start an agent")),
        "{human}"
    );
    let (code, dry, err) = s.upgrade(&["--dry-run"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(actions(&dry), ["start_fixer"]);
    assert!(s.sb.writes().is_empty(), "{:?}", s.sb.writes());
    assert_eq!(
        state_files(&s.afk),
        files,
        "no run folder, no state written"
    );
    let runs = s.afk.scratch.path("state/runs");
    let folders = std::fs::read_dir(&runs).map(|d| d.count()).unwrap_or(0);
    assert_eq!(folders, 0, "no fixer folder");
    let (code, real, err) = s.upgrade(&[]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(dry["actions"], real["actions"]);
    s.wait_fixer(1);
    assert_ne!(s.head(branch), head, "the real fixer pushed");
}

#[test]
fn an_https_upstream_is_asked_for_main_by_afk_s_own_client_not_a_git_process() {
    let sb = Sandbox::start(json!({"repos": [crate::support::repo("coop/web", json!([]))]}));
    let scratch = Scratch::new();
    let mut git = afk::git::Git::new(&scratch.path("recipes"), None, vec![]);
    // as the session hands it out
    git.set_main_reader(afk::upstream_refs::reader(std::time::Duration::from_secs(
        5,
    )));
    let url = format!("{}/coop/web.git", sb.url);
    let first = git.upstream("web", &url).unwrap();
    // upstream moves; the next look must see it, and ask without git
    sb.commit_as(
        "coop/web",
        "main",
        "alice",
        &[("compose.yml", "x")],
        "moved",
    );
    let before = sb.admin("GET", "/git", None).as_array().unwrap().len();
    let second = git.upstream("web", &url).unwrap();
    assert_ne!(first.main, second.main, "the moved main is seen");
    let log = sb.admin("GET", "/git", None);
    let asked: Vec<&serde_json::Value> = log.as_array().unwrap()[before..].iter().collect();
    let refs: Vec<&str> = asked
        .iter()
        .filter(|r| r["method"] == "GET")
        .map(|r| r["agent"].as_str().unwrap())
        .collect();
    // one advertisement read by afk's client, then git's own fetch of the new main
    assert!(refs[0].starts_with("afk"), "{asked:?}");
    assert_eq!(
        refs.iter().filter(|a| a.starts_with("afk")).count(),
        1,
        "{asked:?}"
    );
    // unchanged: afk's read alone, no git process at all
    let before = sb.admin("GET", "/git", None).as_array().unwrap().len();
    git.upstream("web", &url).unwrap();
    let log = sb.admin("GET", "/git", None);
    let asked: Vec<&serde_json::Value> = log.as_array().unwrap()[before..].iter().collect();
    assert_eq!(asked.len(), 1, "{asked:?}");
    assert!(
        asked[0]["agent"].as_str().unwrap().starts_with("afk"),
        "{asked:?}"
    );
}
