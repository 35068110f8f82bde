//! An operator's second week (issue 20): the quick start run twice, dry runs
//! that write nothing, per-tick heartbeats, decisions visible at `-v`, and the
//! messages an operator reads, all through the binary.

#[allow(unused_imports)]
use crate::support::*;
#[allow(unused_imports)]
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

const ON: &str = "enabled = true\nallowlist = [\"acme/api\"]";

/// acme/api with issue #1 armed by alice.
fn one_ready_issue() -> Sandbox {
    Sandbox::start(json!({"repos": [repo("acme/api", json!([ready(1, "alice")]))]}))
}

/// An afk with the scripted agent in `pr` mode (`watch` in [watch]) that has
/// dispatched issue #1 and whose agent has finished.
fn first_run_done(sb: &Sandbox, watch: &str) -> Afk {
    let afk = Afk::agent(sb, "pr", watch, "");
    let (code, r, err) = afk.poll();
    assert_eq!(code, 0, "{err} {r}");
    afk.wait_agent(1);
    afk
}

/// `afk <args>` without --json: what it printed on stdout.
fn stdout_of(afk: &Afk, args: &[&str]) -> String {
    let out = afk.cmd().args(args).output().unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `afk <args>` with a forge token the forge refuses.
fn with_a_wrong_token(afk: &Afk, args: &[&str]) -> std::process::Output {
    afk.cmd()
        .env("AFK_FORGE_TOKEN", "wrong")
        .args(args)
        .output()
        .unwrap()
}

/// Where the config the sandbox printed starts among its lines.
pub(crate) fn config_start(lines: &[String]) -> usize {
    lines
        .iter()
        .position(|l| l.starts_with("# --- afk.toml"))
        .expect("the sandbox prints a config")
}

/// A child process killed on drop, so a failing test never leaves it running.
pub(crate) struct Running(pub(crate) Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `afk template add implementer --file <file>` (with `--canary` when asked),
/// which must succeed.
fn add_template(afk: &Afk, file: &Path, canary: bool) {
    let mut args = vec![
        "template",
        "add",
        "implementer",
        "--file",
        file.to_str().unwrap(),
    ];
    if canary {
        args.push("--canary");
    }
    let (code, _, err) = afk.json(&args);
    assert_eq!(code, 0, "{err}");
}

/// Runs `cmd`, which must exit with `code`; its stderr.
fn failing(cmd: &mut assert_cmd::Command, code: i32) -> String {
    let out = cmd.output().unwrap();
    assert_eq!(out.status.code(), Some(code));
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A command that must end within a minute.
fn bounded(args: &[&str]) -> std::process::Output {
    assert_cmd::Command::new(afk_bin())
        .args(args)
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .unwrap()
}

/// `afk sandbox <args>` as the quick start runs it: its printed lines (up to
/// the config's last line) and the running child.
pub(crate) fn sandbox_cli(args: &[&str]) -> (Running, Vec<String>) {
    let mut child = Command::new(afk_bin())
        .arg("sandbox")
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut lines = vec![];
    // with --tracker the config ends with its map entry's repository
    let tracker = args.contains(&"--tracker");
    loop {
        let mut line = String::new();
        if out.read_line(&mut line).unwrap() == 0 {
            // it ended before its config: what it said on stderr is why
            let _ = child.wait();
            let mut err = String::new();
            let _ = std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err);
            panic!("afk sandbox {args:?} ended before printing its config: {lines:?}\n{err}");
        }
        let mapped = lines.iter().any(|l: &String| l == "[[tracker.map]]");
        let last = match tracker {
            true => mapped && line.starts_with("repo = "),
            false => line.starts_with("ci_contexts"),
        };
        lines.push(line.trim_end().to_string());
        if last {
            break;
        }
    }
    (Running(child), lines)
}

/// SIGTERM, then the exit status (bounded: a sandbox that ignores it fails the test).
fn terminate(child: &mut Running) -> std::process::ExitStatus {
    // SAFETY: signalling a child this test started, by its id.
    unsafe { libc::kill(child.0.id() as i32, libc::SIGTERM) };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        if let Some(st) = child.0.try_wait().unwrap() {
            return st;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the sandbox ignored SIGTERM"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// The config the sandbox printed, as the quick start saves it, with an agent
/// that exits at once (`true`): a run is recorded, nothing lingers.
fn saved_config(lines: &[String], to: &Path) -> PathBuf {
    let start = config_start(lines);
    let mut text = String::new();
    for l in &lines[start..] {
        if l.starts_with("command = ") {
            text.push_str("command = [\"true\"]\n");
        } else {
            text.push_str(l);
            text.push('\n');
        }
    }
    let path = to.join("afk.toml");
    std::fs::write(&path, text).unwrap();
    path
}

fn quick_start_poll(config: &Path, lines: &[String]) -> Value {
    let token = crate::operator3::printed(lines, "AFK_SANDBOX_TOKEN");
    let out = assert_cmd::Command::new(afk_bin())
        .env("AFK_FORGE_TOKEN", token)
        .env_remove("AFK_CONFIG")
        // a turn's end starts no watch that would write in the state after
        // the test's own ticks (however the suite was started)
        .env(TURN_END_WATCH, "off")
        .args(["--config", config.to_str().unwrap(), "--json", "poll"])
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .unwrap();
    assert_success(&out);
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn the_quick_start_runs_twice_on_the_same_sandbox_dir() {
    let s = Scratch::new();
    let dir = s.path("sb");
    let d = dir.to_str().unwrap();
    let (mut first, lines) = sandbox_cli(&["--example", "--dir", d]);
    let r = quick_start_poll(&saved_config(&lines, &s.dir), &lines);
    let dispatched = r["dispatched"].as_array().unwrap().len();
    assert!(dispatched > 0, "{r}");
    // each run's agent (`true`) has ended and said so: nothing of the first
    // sandbox's state is still being written when the next one starts over
    for id in 1..=dispatched {
        let done = dir.join(format!("afk-state/runs/{id}/exit_status"));
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while !done.exists() {
            assert!(
                std::time::Instant::now() < deadline,
                "run {id}'s agent never ended"
            );
            std::thread::yield_now();
        }
    }

    // a second sandbox while the first still serves the folder is refused, touching nothing
    let again = bounded(&["sandbox", "--example", "--dir", d]);
    assert_eq!(again.status.code(), Some(2));
    let err = String::from_utf8_lossy(&again.stderr);
    assert!(err.contains("another afk sandbox"), "{err}");
    assert!(dir.join("afk-state/afk.db").exists());
    assert!(terminate(&mut first).success());

    // the next one starts over: every issue is dispatched again, none already handled
    let (mut second, lines) = sandbox_cli(&["--example", "--dir", d]);
    let r = quick_start_poll(&saved_config(&lines, &s.dir), &lines);
    assert_eq!(r["dispatched"].as_array().unwrap().len(), dispatched, "{r}");
    assert!(terminate(&mut second).success());
    let mut err = String::new();
    std::io::Read::read_to_string(&mut second.0.stderr.take().unwrap(), &mut err).unwrap();
    assert!(err.contains("started over"), "{err}");
    assert!(dir.exists(), "a --dir the operator chose is kept");
}

#[test]
fn the_sandbox_refuses_a_dir_that_is_not_a_sandbox() {
    let s = Scratch::new();
    let precious = s.write("notes.txt", "keep me\n");
    let out = bounded(&["sandbox", "--dir", s.dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not empty") && err.contains("--dir"), "{err}");
    assert_eq!(std::fs::read_to_string(precious).unwrap(), "keep me\n");
    assert_eq!(std::fs::read_dir(&s.dir).unwrap().count(), 1);
}

#[test]
fn the_plain_sandbox_removes_its_temporary_folder_on_exit() {
    let (mut child, lines) = sandbox_cli(&["--example"]);
    let git = PathBuf::from(lines[1].strip_prefix("AFK_SANDBOX_GIT=").unwrap());
    assert!(git.join("acme/api.git").exists());
    assert!(terminate(&mut child).success());
    assert!(!git.exists(), "{} is left behind", git.display());
}

#[test]
fn a_dry_run_of_man_with_a_dir_writes_nothing() {
    let s = Scratch::new();
    let dir = s.path("man1");
    let out = bounded(&["--dry-run", "man", "--dir", dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(&format!("would write {}", dir.join("afk-poll.1").display())),
        "{text}"
    );
    assert!(!dir.exists(), "a dry run created {}", dir.display());
}

// ---- 1: a heartbeat per tick kind, /start before the work -------------------

#[test]
fn each_tick_kind_pings_its_own_heartbeat_with_a_start_before_the_work() {
    let sb = one_ready_issue();
    let afk = Afk::new(
        &sb,
        ON,
        "[notify]\nheartbeat_env = \"AFK_TEST_HB\"\n[notify.heartbeat]\nwatch = \"AFK_TEST_HB_WATCH\"\n",
    );
    let run = |args: &[&str]| {
        let out = afk
            .cmd()
            .env("AFK_TEST_HB", format!("{}/_hooks/hb-{{tick}}/", sb.url))
            .env("AFK_TEST_HB_WATCH", format!("{}/_hooks/watch-only", sb.url))
            .args(args)
            .output()
            .unwrap();
        assert_success(&out);
    };
    run(&["--dry-run", "poll"]);
    assert!(sb.hooks().is_empty(), "a dry run pings nothing");
    for t in ["poll", "watch", "harvest"] {
        run(&[t]);
    }
    let got: Vec<(String, String)> = sb
        .hooks()
        .iter()
        .map(|h| {
            (
                h["hook"].as_str().unwrap().to_string(),
                h["user_agent"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let ua = format!("afk/{}", env!("CARGO_PKG_VERSION"));
    let want: Vec<(String, String)> = [
        "hb-poll/start",
        "hb-poll",
        "watch-only/start",
        "watch-only",
        "hb-harvest/start",
        "hb-harvest",
    ]
    .iter()
    .map(|h| (h.to_string(), ua.clone()))
    .collect();
    assert_eq!(got, want);
}

// ---- 2: -v shows each decision with its why; --json skips carry `detail` ----

#[test]
fn poll_at_v_says_why_each_issue_was_skipped_and_json_carries_the_detail() {
    let plain = json!({"number": 5, "title": "prerequisite", "body": "", "labels": []});
    let mut blocked = ready(1, "alice");
    blocked["body"] = json!("Blocked by #5");
    let issues = json!([
        blocked,
        ready(2, "mallory"),
        ready(3, "alice"),
        ready(4, "alice"),
        plain
    ]);
    let sb = Sandbox::start(json!({"repos": [repo("acme/api", issues)]}));
    let afk = Afk::new(&sb, ON, "");
    let (code, r, err) = afk.json(&["-v", "--dry-run", "poll"]);
    assert_eq!(code, 0, "{err}");
    for line in [
        "acme/api#1: blocked: blocked by acme/api#5",
        "acme/api#2: untrusted: labelled by mallory (read < write); a trusted person removes and re-adds \"ready-for-agent\" to arm it",
        "acme/api#4: lower-priority: acme/api#3 goes first",
        "acme/api#3: dispatch",
    ] {
        assert!(err.contains(line), "no {line:?} in\n{err}");
    }
    let detail = |n: u64| {
        r["skipped"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["issue"] == n)
            .map(|s| s["detail"].as_str().unwrap_or("").to_string())
            .unwrap()
    };
    assert_eq!(
        detail(2),
        "labelled by mallory (read < write); a trusted person removes and re-adds \"ready-for-agent\" to arm it"
    );
    assert_eq!(detail(1), "blocked by acme/api#5");
    // without -v, no decision lines
    let (_, _, err) = afk.json(&["--dry-run", "poll"]);
    assert!(!err.contains("labelled by"), "{err}");
}

#[test]
fn watch_at_v_says_what_a_run_waits_for() {
    let sb = one_ready_issue();
    let afk = first_run_done(&sb, "ci_contexts = [\"build\", \"lint\", \"test\"]");
    sb.status("acme/api", "afk/issue-1", "build", "success");
    let (code, r, err) = afk.json(&["-v", "watch"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("run 1: wait: CI pending on 2 of 3 contexts (lint, test)"),
        "{err}"
    );
    assert_eq!(
        r["actions"][0]["detail"],
        "CI pending on 2 of 3 contexts (lint, test)"
    );
}

// ---- 3: the agent's phases in the checklist, status and runs show ----------

#[test]
fn the_agents_latest_phase_shows_in_the_checklist_status_and_runs_show() {
    let sb = one_ready_issue();
    let afk = first_run_done(&sb, "");
    let (code, _, err) = afk.watch();
    assert_eq!(code, 0, "{err}");
    let st = sb.admin("GET", "/state", None);
    let comments: Vec<String> = st["repos"][0]["comments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["body"].as_str().unwrap().to_string())
        .collect();
    let checklist = comments
        .iter()
        .find(|c| c.starts_with("<!-- afk:checklist -->"))
        .expect("a checklist");
    assert!(checklist.contains("agent phase: pushed"), "{checklist}");

    let (code, s, err) = afk.json(&["status"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(s["runs"][0]["phase"], "pushed", "{s}");
    assert!(
        s["runs"][0]["phase_at"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z')),
        "{s}"
    );
    let text = stdout_of(&afk, &["status"]);
    assert!(text.contains("PHASE") && text.contains("pushed"), "{text}");

    let (code, shown, err) = afk.json(&["runs", "show", "1"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(shown["phase"], "pushed");
    let lines: Vec<&str> = shown["progress"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap())
        .collect();
    assert_eq!(
        lines,
        vec![
            "{\"phase\":\"tests-red\"}",
            "{\"phase\":\"green\"}",
            "{\"phase\":\"pushed\"}"
        ]
    );
    let text = stdout_of(&afk, &["runs", "show", "1"]);
    assert!(
        text.contains("progress.jsonl") && text.contains("{\"phase\":\"green\"}"),
        "{text}"
    );
    assert!(text.contains("agent phase: pushed"), "{text}");
}

// ---- 4: lessons in afk status; [lessons] list_limit --------------------------

#[test]
fn status_shows_open_lessons_by_type_and_the_newest_and_list_limit_is_the_default() {
    let afk = Afk::with_text("state_path = \"s/afk.db\"\n[lessons]\nlist_limit = 2\n");
    for (ty, cause) in [
        ("gate_failure", "CI red on build"),
        ("transient_retry", "forge slow"),
        ("gate_failure", "CI red on lint"),
    ] {
        let (code, _, err) = afk.json(&[
            "lessons",
            "record",
            "--type",
            ty,
            "--repo",
            "acme/api",
            "--root-cause",
            cause,
        ]);
        assert_eq!(code, 0, "{err}");
    }
    let (code, _, err) = afk.json(&["lessons", "update", "2", "--status", "closed"]);
    assert_eq!(code, 0, "{err}");
    let (code, s, err) = afk.json(&["status"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(s["lessons"]["open"], 2, "{s}");
    assert_eq!(s["lessons"]["by_type"], json!({"gate_failure": 2}), "{s}");
    assert_eq!(s["lessons"]["newest"][0]["id"], 3, "{s}");
    let text = stdout_of(&afk, &["status"]);
    assert!(text.contains("lessons: 2 open (gate_failure 2)"), "{text}");
    assert!(text.contains("CI red on lint"), "{text}");

    let (code, l, err) = afk.json(&["lessons", "list"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        l["lessons"].as_array().unwrap().len(),
        2,
        "list_limit is the default"
    );
    let (_, l, _) = afk.json(&["lessons", "list", "--limit", "3"]);
    assert_eq!(l["lessons"].as_array().unwrap().len(), 3);
}

// ---- 5: metrics named as promtool wants; afk_build_info ---------------------

/// promtool's naming lints, for a textfile: every family has HELP and TYPE,
/// counters end in `_total` and nothing else does, no sample without a family.
fn promtool_lint(text: &str) -> Vec<String> {
    let mut problems = vec![];
    let mut types: std::collections::BTreeMap<String, String> = Default::default();
    let mut helps = std::collections::BTreeSet::new();
    for l in text.lines() {
        if let Some(rest) = l.strip_prefix("# TYPE ") {
            let (name, ty) = rest.split_once(' ').unwrap();
            types.insert(name.to_string(), ty.to_string());
        } else if let Some(rest) = l.strip_prefix("# HELP ") {
            helps.insert(rest.split(' ').next().unwrap().to_string());
        } else if !l.is_empty() {
            let name = l.split(['{', ' ']).next().unwrap();
            if !types.contains_key(name) {
                problems.push(format!("{name}: a sample before its TYPE"));
            }
        }
    }
    for (name, ty) in &types {
        if !helps.contains(name) {
            problems.push(format!("{name}: no HELP"));
        }
        if ty == "counter" && !name.ends_with("_total") {
            problems.push(format!("{name}: a counter should end in _total"));
        }
        if ty != "counter" && name.ends_with("_total") {
            problems.push(format!("{name}: only counters end in _total"));
        }
    }
    problems
}

#[test]
fn the_metrics_file_names_counters_as_counters_and_carries_build_info() {
    let sb = one_ready_issue();
    let afk = Afk::new(&sb, ON, "metrics_file = \"m/afk.prom\"\n");
    // metrics_file must be a top-level key: put it first
    let text = std::fs::read_to_string(&afk.config).unwrap();
    let text = format!(
        "metrics_file = \"m/afk.prom\"\n{}",
        text.replace("metrics_file = \"m/afk.prom\"\n", "")
    );
    std::fs::write(&afk.config, text).unwrap();
    std::fs::create_dir_all(afk.scratch.path("m")).unwrap();
    let (code, _, err) = afk.poll();
    assert_eq!(code, 0, "{err}");
    afk.sql("UPDATE runs SET state = 'escalated', end_reason = 'stalled', ended_at = created_at");
    let (code, _, err) = afk.watch();
    assert_eq!(code, 0, "{err}");
    let m = std::fs::read_to_string(afk.scratch.path("m/afk.prom")).unwrap();
    assert_eq!(promtool_lint(&m), Vec::<String>::new(), "{m}");
    assert!(m.contains("# TYPE afk_escalations_total counter"), "{m}");
    assert!(
        m.contains("afk_escalations_total{reason=\"stalled\"} 1"),
        "{m}"
    );
    let version = env!("CARGO_PKG_VERSION");
    assert!(
        m.contains(&format!("afk_build_info{{version=\"{version}\"}} 1")),
        "{m}"
    );
}

// ---- 6: doctor says what will fail, with the fix -----------------------------

#[test]
fn doctor_fails_or_warns_on_what_would_make_the_ticks_fail() {
    let r = json!({"name": "acme/api", "collaborators": {"afk-bot": "read", "alice": "write"}, "issues": []});
    let sb = Sandbox::start(json!({ "repos": [r] }));
    let afk = Afk::new(&sb, ON, "[notify]\nwebhook_env = \"AFK_TEST_UNSET_HOOK\"\n");
    let text = std::fs::read_to_string(&afk.config).unwrap();
    std::fs::write(
        &afk.config,
        format!("metrics_file = \"nowhere/afk.prom\"\n{text}"),
    )
    .unwrap();
    // the webhook's variable stays unset, whatever the machine has
    let doctor = |args: &[&str]| {
        afk.cmd()
            .env_remove("AFK_TEST_UNSET_HOOK")
            .args(args)
            .output()
            .unwrap()
    };
    let out = doctor(&["doctor"]);
    let text = String::from_utf8_lossy(&out.stdout);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{text}");
    for want in [
        "FAIL repo acme/api: afk-bot has read on acme/api",
        "WARN notify: notify.webhook_env names AFK_TEST_UNSET_HOOK, which is not set",
    ] {
        assert!(text.contains(want), "no {want:?} in\n{text}");
    }
    let metrics = text
        .lines()
        .find(|l| l.starts_with("FAIL metrics:"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(metrics.contains("does not exist"), "{metrics}");
    assert!(
        !err.contains("doctor: asking the forge"),
        "no progress lines in cron mail without -v: {err}"
    );
    let out = doctor(&["-v", "doctor"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("doctor: asking the forge"),
        "-v: progress while it waits: {err}"
    );

    // -q: only the problems
    let out = doctor(&["-q", "doctor"]);
    let quiet = String::from_utf8_lossy(&out.stdout);
    assert!(
        quiet
            .lines()
            .all(|l| l.starts_with("FAIL") || l.starts_with("WARN")),
        "{quiet}"
    );
    assert!(quiet.contains("FAIL metrics"), "{quiet}");

    let (_, r, _) = afk.json(&["doctor"]);
    let levels: Vec<&str> = r["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["level"].as_str().unwrap())
        .collect();
    assert!(
        levels.contains(&"warn") && levels.contains(&"fail") && levels.contains(&"ok"),
        "{r}"
    );

    // a bad token: one prefix, not two
    let out = with_a_wrong_token(&afk, &["doctor"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("FAIL forge: GET /user returned 401"),
        "{text}"
    );
    assert!(!text.contains("forge: forge:"), "{text}");
}

#[test]
fn doctor_warns_when_poll_is_enabled_with_an_empty_allowlist() {
    let sb = Sandbox::start(json!({"repos": [repo("acme/api", json!([]))]}));
    let afk = Afk::new(&sb, "enabled = true\nallowlist = []", "");
    let out = afk.cmd().arg("doctor").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "a warning does not fail: {text}"
    );
    assert!(
        text.contains("WARN poll: enabled, but poll.allowlist is empty"),
        "{text}"
    );
}

// ---- 7: messages that name the host, the key and the line --------------------

fn afk_in(dir: &Path) -> assert_cmd::Command {
    let mut c = assert_cmd::Command::new(afk_bin());
    c.current_dir(dir)
        .env("AFK_FORGE_TOKEN", TOKEN)
        .env_remove("AFK_CONFIG")
        .env_remove("AFK_LOG")
        .env("HOME", dir)
        .env_remove("XDG_CONFIG_HOME")
        .timeout(std::time::Duration::from_secs(60));
    c
}

#[test]
fn a_refused_connection_names_the_host_and_the_key() {
    let afk = Afk::with_text(
        "state_path = \"s/afk.db\"\n[forge]\nurl = \"http://127.0.0.1:1\"\nretries = 0\n[poll]\nenabled = true\nallowlist = [\"a/b\"]\n[runner]\ncommand = [\"true\"]\n",
    );
    let err = failing(afk.cmd().arg("poll"), 1);
    assert!(
        err.contains("cannot connect to http://127.0.0.1:1 (forge.url): connection refused"),
        "{err}"
    );
}

#[test]
fn config_errors_name_the_key_and_line_in_words_not_rust_types() {
    let cases = [
        (
            "[forge]\nurl = \"git.example.org\"\n",
            "forge.url at line 2: \"git.example.org\" is not an http(s) URL",
        ),
        (
            "[forge]\nconcurrency = \"many\"\n",
            "expected a whole number",
        ),
        ("[poll]\nmax_in_flight = -1\n", "expected a whole number"),
        ("[poll]\nenabled = \"yes\"\n", "expected true or false"),
        ("[harvest]\nsample = \"half\"\n", "expected a number"),
        ("[poll]\nallowlist = \"acme/api\"\n", "expected a list"),
    ];
    for (text, want) in cases {
        let afk = Afk::with_text(text);
        let out = afk.cmd().arg("doctor").output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{text}: {err}");
        assert!(err.contains(want), "{text}: {err}");
        for rust in [
            "usize", "u32", "u64", "i64", "f64", "bool", "sequence", "struct ",
        ] {
            assert!(!err.contains(rust), "{text}: a Rust type in {err}");
        }
    }
}

/// Advice is kept apart from the message (issue 48): `--json` carries it as
/// `hints`, the error says only what is wrong, and stderr's one line is the
/// message and then each hint.
#[test]
fn an_errors_advice_is_a_hint_of_its_own_in_json_and_ends_the_line_on_stderr() {
    let s = Scratch::new();
    // (args, the exit code, the hint, what the error says)
    let cases: [(&[&str], i32, &str, &str); 3] = [
        (
            &["--json", "doctor"],
            2,
            "pass --config PATH, or run `afk init` to write ./afk.toml",
            "config: no config file",
        ),
        (
            &["--json", "version"],
            2,
            "use `afk --version`",
            "`afk version` is not a command",
        ),
        (
            &["--json", "--config", "afk.toml", "init"],
            2,
            "pass --force to overwrite it",
            "init: afk.toml exists",
        ),
    ];
    for (i, (args, code, hint, said)) in cases.into_iter().enumerate() {
        if i == 2 {
            // init's refusal: the file is there
            s.write("afk.toml", "state_path = \"s/afk.db\"\n");
        }
        let out = afk_in(&s.dir).args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(code), "{args:?}");
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(doc["hints"], serde_json::json!([hint]), "{args:?}: {doc}");
        let error = doc["error"].as_str().unwrap();
        assert!(
            error.starts_with(said) && !error.contains(hint),
            "{args:?}: {error}"
        );
        let err = String::from_utf8(out.stderr).unwrap();
        assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
        assert!(
            err.trim().ends_with(&format!("; {hint}")),
            "{args:?}: {err}"
        );
    }
    // a run that is not there: the list is where to look
    let out = afk_in(&s.dir)
        .args(["--json", "runs", "show", "99"])
        .output()
        .unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["error"], "runs: no run with id 99", "{doc}");
    assert_eq!(doc["hints"], serde_json::json!(["`afk runs` lists them"]));
    // an error with no advice has no hints field
    let out = afk_in(&s.dir)
        .args(["--json", "lessons", "update", "999", "--status", "done"])
        .output()
        .unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        doc.get("error").is_some() && doc.get("hints").is_none(),
        "{doc}"
    );
    // a lower crate's error names what happened; its advice is the binary's
    // hint: a state file of a newer afk says "upgrade afk" apart
    std::fs::create_dir_all(s.dir.join("s")).unwrap();
    let c = rusqlite::Connection::open(s.dir.join("s/afk.db")).unwrap();
    c.pragma_update(None, "application_id", 0x6166_6b31)
        .unwrap();
    c.pragma_update(None, "user_version", 99).unwrap();
    drop(c);
    for json in [true, false] {
        let mut cmd = afk_in(&s.dir);
        if json {
            cmd.arg("--json");
        }
        let out = cmd
            .args(["--config", "afk.toml", "status"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1));
        let err = String::from_utf8(out.stderr).unwrap();
        assert!(
            err.contains("written by a newer afk (schema 99")
                && err.trim().ends_with("); upgrade afk"),
            "{err}"
        );
        if json {
            let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
            assert_eq!(doc["hints"], json!(["upgrade afk"]), "{doc}");
            let error = doc["error"].as_str().unwrap();
            assert!(!error.contains("upgrade afk"), "{error}");
        }
    }
}

#[test]
fn no_config_found_lists_where_afk_looked_and_an_empty_afk_config_is_unset() {
    let s = Scratch::new();
    let err = failing(afk_in(&s.dir).arg("doctor"), 2);
    for want in [
        "--config",
        "$AFK_CONFIG",
        "./afk.toml",
        ".config/afk/config.toml",
        "afk init",
    ] {
        assert!(err.contains(want), "no {want} in {err}");
    }
    // an empty AFK_CONFIG is as if unset: ./afk.toml is found
    s.write("afk.toml", "state_path = \"s/afk.db\"\n");
    let out = afk_in(&s.dir)
        .env("AFK_CONFIG", "")
        .args(["lessons", "list"])
        .output()
        .unwrap();
    assert_success(&out);
}

#[test]
fn an_unknown_afk_log_and_q_with_v_are_usage_errors() {
    let s = Scratch::new();
    s.write("afk.toml", "state_path = \"s/afk.db\"\n");
    let err = failing(
        afk_in(&s.dir)
            .env("AFK_LOG", "jsn")
            .args(["lessons", "list"]),
        2,
    );
    assert!(
        err.contains("AFK_LOG") && err.contains("json") && err.contains("plain"),
        "{err}"
    );
    let err = failing(afk_in(&s.dir).args(["-q", "-v", "lessons", "list"]), 2);
    assert!(
        err.contains("--quiet") && err.contains("--verbose"),
        "{err}"
    );
}

// ---- 8: a configuration mistake is one error per tick, not a transient ------

fn error_lines(stderr: &str) -> Vec<&str> {
    stderr.lines().filter(|l| l.contains("ERROR")).collect()
}

#[test]
fn a_refused_connection_is_one_error_line_per_tick_and_no_transient_lesson() {
    let afk = Afk::with_text(
        "state_path = \"s/afk.db\"\n[forge]\nurl = \"http://127.0.0.1:1\"\nretries = 2\n[runner]\ncommand = [\"true\"]\n\
         [poll]\nenabled = true\nallowlist = [\"acme/a\", \"acme/b\", \"acme/c\"]\n",
    );
    let (code, r, err) = afk.json(&["poll"]);
    assert_eq!(code, 1);
    assert_eq!(error_lines(&err).len(), 1, "{err}");
    assert_eq!(r["errors"].as_array().unwrap().len(), 1, "{r}");
    assert!(
        err.contains("cannot connect to http://127.0.0.1:1 (forge.url)"),
        "{err}"
    );
    let (_, l, _) = afk.json(&["lessons", "list"]);
    assert_eq!(
        l["lessons"],
        json!([]),
        "a refused connection is no transient"
    );
}

#[test]
fn a_refused_token_is_one_error_line_per_tick_and_no_transient_lesson() {
    let sb = Sandbox::start(json!({"repos": [
        repo("acme/a", json!([ready(1, "alice")])),
        repo("acme/b", json!([ready(1, "alice")])),
    ]}));
    let afk = Afk::new(
        &sb,
        "enabled = true\nallowlist = [\"acme/a\", \"acme/b\"]",
        "",
    );
    let out = with_a_wrong_token(&afk, &["--json", "poll"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_eq!(error_lines(&err).len(), 1, "{err}");
    assert!(
        err.contains("401") && err.contains("AFK_FORGE_TOKEN"),
        "{err}"
    );
    let (_, l, _) = afk.json(&["lessons", "list"]);
    assert_eq!(l["lessons"], json!([]));
}

#[test]
fn harvest_records_a_transient_retry_when_a_forge_call_exhausts_its_retries() {
    let sb = Sandbox::start(json!({"repos": [repo("acme/api", json!([]))]}));
    let afk = Afk::with_text(&format!(
        "state_path = \"state/afk.db\"\n[forge]\n{}timeout = \"5s\"\nretries = 1\n",
        sb.forge_keys()
    ));
    let v1 = afk.scratch.write("v1.md", "v1\n");
    add_template(&afk, &v1, false);
    let now = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    afk.sql(&format!(
        "INSERT INTO runs (repo, issue, state, template_name, template_version_id, template_version,
           template_hash, created_at, updated_at, ended_at, merge_sha, base_branch, merged_at)
         VALUES ('acme/api', 1, 'succeeded', 'implementer', 1, 1, 'h', '{now}', '{now}', '{now}',
           'abc123', 'main', '{now}');"
    ));
    sb.faults(json!([{"status": 503}]));
    let (code, r, err) = afk.json(&["harvest"]);
    assert_eq!(code, 1, "{err} {r}");
    let (_, l, _) = afk.json(&["lessons", "list", "--type", "transient_retry"]);
    let lessons = l["lessons"].as_array().unwrap();
    assert_eq!(lessons.len(), 1, "{l}");
    assert_eq!(lessons[0]["stage"], "harvest");
    assert_eq!(lessons[0]["repo"], "acme/api");
    // the call's own words, carried by the error the tick collected
    let detail = lessons[0]["detail"].as_str().unwrap();
    assert!(
        detail.starts_with(&format!("forge: GET {}/", sb.path("acme/api", "")))
            && detail.contains("failed after 1 retries"),
        "{detail}"
    );
}

// ---- 9: exit codes and --json documents ----------------------------------------

#[test]
fn not_found_is_exit_1_everywhere_and_json_errors_are_one_document() {
    let afk = Afk::with_text("state_path = \"s/afk.db\"\n");
    let v1 = afk.scratch.write("v1.md", "v1\n");
    add_template(&afk, &v1, false);
    assert_eq!(afk.json(&["lessons", "record", "--type", "x"]).0, 0);
    for args in [
        vec!["runs", "show", "99"],
        vec!["lessons", "update", "999", "--status", "closed"],
        vec!["template", "show", "implementer@9"],
    ] {
        let (code, doc, err) = afk.json(&args);
        assert_eq!(code, 1, "{args:?}: {err}");
        assert_eq!(doc["exit"], 1, "{args:?}: {doc}");
        assert!(
            doc["error"].as_str().is_some_and(|e| !e.is_empty()),
            "{args:?}: {doc}"
        );
    }
    // a usage error under --json is a document too
    let (code, doc, _) = afk.json(&["poll", "--bogus"]);
    assert_eq!(code, 2);
    assert_eq!(doc["exit"], 2, "{doc}");
    assert!(doc["error"].as_str().unwrap().contains("--bogus"), "{doc}");
    // --help is no error, and prints no document
    let out = afk
        .cmd()
        .args(["--json", "poll", "--help"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(!String::from_utf8_lossy(&out.stdout).starts_with('{'));
}

#[test]
fn init_honours_json() {
    let s = Scratch::new();
    let path = s.path("afk.toml");
    let init = || {
        let out = assert_cmd::Command::new(afk_bin())
            .args(["--json", "--config", path.to_str().unwrap(), "init"])
            .output()
            .unwrap();
        let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
        (out.status.code(), doc)
    };
    let (code, doc) = init();
    assert_eq!(code, Some(0));
    assert_eq!(doc["command"], "init");
    assert_eq!(doc["written"], path.to_str().unwrap());
    assert!(path.exists());
    let (code, doc) = init();
    assert_eq!(code, Some(2));
    assert_eq!(doc["exit"], 2);
}

#[test]
fn status_age_is_seconds_and_every_runs_show_moment_has_a_time() {
    let sb = one_ready_issue();
    let afk = first_run_done(&sb, "");
    afk.watch();
    sb.status("acme/api", "afk/issue-1", "ci/build", "success");
    afk.watch();
    let (_, prs) = sb.api(&sb.dialect.prs_path("acme/api", Listed::Open));
    sb.merge("acme/api", prs[0]["number"].as_u64().unwrap());
    let (_, s, _) = afk.json(&["status"]);
    let age = &s["runs"][0]["age"];
    assert!(age.is_i64() || age.is_u64(), "age in seconds: {s}");
    let (_, w, _) = afk.watch();
    assert_eq!(action_of(&w, 1).0, "succeed");
    afk.json(&["harvest"]);
    let (code, shown, err) = afk.json(&["runs", "show", "1"]);
    assert_eq!(code, 0, "{err}");
    for m in shown["timeline"].as_array().unwrap() {
        assert!(
            m["at"].as_str().is_some_and(|t| t.ends_with('Z')),
            "{shown}"
        );
    }
}

// ---- 10: harvest says why runs on the built-in preamble have no outcome ------

#[test]
fn harvest_says_runs_on_the_built_in_preamble_have_no_outcome() {
    let afk =
        Afk::with_text("state_path = \"state/afk.db\"\n[forge]\nurl = \"http://127.0.0.1:1\"\n");
    // a tick creates the state file; then an ended run that used the built-in preamble
    assert_eq!(afk.json(&["lessons", "record", "--type", "x"]).0, 0);
    afk.sql(
        "INSERT INTO runs (repo, issue, state, created_at, updated_at, ended_at)
         VALUES ('acme/api', 1, 'escalated', '2026-01-01T10:00:00Z', '2026-01-01T11:00:00Z', '2026-01-01T11:00:00Z');",
    );
    let (code, r, err) = afk.json(&["--dry-run", "harvest"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(r["builtin_runs"], 1, "{r}");
    assert_eq!(
        r["note"], "0 outcomes: no template versions yet — afk template add",
        "{r}"
    );
    let text = stdout_of(&afk, &["harvest"]);
    assert!(
        text.contains("0 outcomes: no template versions yet — afk template add"),
        "{text}"
    );
}

// ---- 14: the demo's closing hint works; the demo is deterministic --------------

fn demo(args: &[&str], cwd: &Path) -> (String, Value) {
    let out = assert_cmd::Command::new(afk_bin())
        .arg("demo")
        .args(args)
        .current_dir(cwd)
        .env_remove("AFK_FORGE_TOKEN")
        .env_remove("AFK_CANARY_SEED")
        .env_remove("AFK_CONFIG")
        // the whole demo, git included, beside the rest of the suite on 2 cores
        .timeout(std::time::Duration::from_secs(300))
        .output()
        .unwrap();
    assert_success(&out);
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let doc = serde_json::from_str(&text).unwrap_or(Value::Null);
    (text, doc)
}

/// Which template version each canary-act dispatch went to, in order.
fn routed_versions(doc: &Value) -> Vec<i64> {
    doc["canary"]["ticks"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|t| t["dispatched"].as_array().cloned().unwrap_or_default())
        .map(|d| d["template_version"].as_i64().unwrap_or(0))
        .collect()
}

#[test]
fn the_demo_routes_the_same_way_every_time_and_its_closing_hint_works() {
    let s = Scratch::new();
    let (_, a) = demo(&["--json"], &s.dir);
    let (_, b) = demo(&["--json"], &s.dir);
    assert!(!routed_versions(&a).is_empty());
    assert_eq!(
        routed_versions(&a),
        routed_versions(&b),
        "a fixed canary seed"
    );

    let (text, _) = demo(&["--keep"], &s.dir);
    let hint = text
        .lines()
        .find_map(|l| {
            l.split('`')
                .find(|part| part.starts_with("afk ") && part.contains("template show"))
        })
        .unwrap_or_else(|| panic!("no template show hint in\n{text}"))
        .to_string();
    // run it as the user would, from where they stand
    let words: Vec<&str> = hint.split_whitespace().skip(1).collect();
    let out = assert_cmd::Command::new(afk_bin())
        .args(&words)
        .current_dir(&s.dir)
        .env_remove("AFK_CONFIG")
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{hint}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("AFK-DEMO-WORSE"));
    let kept = text
        .lines()
        .find_map(|l| l.strip_prefix("kept: "))
        .and_then(|l| l.split_whitespace().next())
        .unwrap();
    let _ = std::fs::remove_dir_all(kept);
}

// ---- 13: the sandbox's admin API is documented, and the quick start moves a run on

#[test]
fn every_admin_call_of_the_sandbox_is_in_docs_sandbox_md() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let code = std::fs::read_to_string(root.join("crates/afk-sandbox/src/admin.rs")).unwrap();
    let doc = std::fs::read_to_string(root.join("docs/sandbox.md")).unwrap();
    let mut calls = vec![];
    for line in code.lines() {
        let l = line.trim_start();
        for method in ["GET", "POST", "DELETE"] {
            if let Some(rest) = l.strip_prefix(&format!("(\"{method}\", \"")) {
                let path = rest.split('"').next().unwrap();
                calls.push(format!("`{method} /_admin{path}`"));
            }
        }
    }
    assert!(calls.len() > 20, "{calls:?}");
    let missing: Vec<&String> = calls.iter().filter(|c| !doc.contains(c.as_str())).collect();
    assert!(missing.is_empty(), "undocumented admin calls: {missing:?}");
}

#[test]
fn the_quick_start_moves_a_run_on_to_success_with_the_admin_api() {
    let s = Scratch::new();
    let (mut sb, lines) = sandbox_cli(&["--example", "--dir", s.path("sb").to_str().unwrap()]);
    let url = lines[0]
        .strip_prefix("AFK_SANDBOX_URL=")
        .unwrap()
        .to_string();
    let start = config_start(&lines);
    let config = s.write("afk.toml", &(lines[start..].join("\n") + "\n"));
    let token = crate::operator3::printed(&lines, "AFK_SANDBOX_TOKEN");
    let afk = |args: &[&str]| {
        let out = assert_cmd::Command::new(afk_bin())
            .env("AFK_FORGE_TOKEN", &token)
            // this test runs the README's watch ticks itself
            .env("AFK_TURN_END_WATCH", "off")
            .args(["--config", config.to_str().unwrap(), "--json"])
            .args(args)
            .timeout(std::time::Duration::from_secs(60))
            .output()
            .unwrap();
        serde_json::from_slice::<Value>(&out.stdout).unwrap()
    };
    let r = afk(&["poll"]);
    let run = r["dispatched"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["repo"] == "acme/api")
        .unwrap()["run_id"]
        .as_i64()
        .unwrap();
    let exit = s.path(&format!("sb/afk-state/runs/{run}/exit_status"));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !exit.exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "the agent did not finish"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    // the README's next step: afk pushes the agent's commit and opens its PR
    let w = afk(&["watch"]);
    assert!(w.to_string().contains("ci-pending"), "{w}");
    // the calls docs/sandbox.md shows, as curl makes them
    let post = |path: &str, body: Value| {
        ureq::post(&format!("{url}/_admin{path}"))
            .send_json(body)
            .unwrap();
    };
    post(
        "/status",
        json!({"repo": "acme/api", "branch": "afk/issue-1", "context": "ci/build", "state": "success"}),
    );
    let w = afk(&["watch"]);
    assert!(w.to_string().contains("awaiting-merge"), "{w}");
    // the sandbox started without --dialect speaks its default
    let d = Dialect::default();
    let prs: Value = ureq::get(&format!(
        "{url}{}{}",
        d.prefix(),
        d.prs_path("acme/api", Listed::Open)
    ))
    .set("Authorization", &format!("token {token}"))
    .call()
    .unwrap()
    .into_json()
    .unwrap();
    assert_eq!(
        prs[0]["number"], 4,
        "the number README's quick start merges"
    );
    post("/merge", json!({"repo": "acme/api", "pr": 4}));
    let w = afk(&["watch"]);
    let a = w["actions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["repo"] == "acme/api")
        .unwrap();
    assert_eq!(a["action"], "succeed", "{w}");
    terminate(&mut sb);
}

// ---- 15: systemd units: sandboxed, levels for journald, one tick per minute ----

fn unit_files() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("contrib/systemd");
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    v.sort();
    v
}

/// The minutes of the hour a schedule starts a tick in: `*:M/N` (systemd),
/// `M-59/N`, `*/N`, `M` (cron), `... HH:MM:SS` (systemd, weekly).
fn minutes(spec: &str) -> Vec<u32> {
    let m = if let Some(rest) = spec.strip_prefix("*:") {
        rest.to_string()
    } else if spec.contains(':') {
        spec.split_whitespace()
            .last()
            .unwrap()
            .split(':')
            .nth(1)
            .unwrap()
            .to_string()
    } else {
        spec.to_string()
    };
    let (start, step) = match m.split_once('/') {
        Some((s, n)) => (
            if s == "*" {
                0
            } else {
                s.split('-').next().unwrap().parse().unwrap()
            },
            n.parse().unwrap(),
        ),
        None => (m.parse().unwrap(), 60),
    };
    (start..60).step_by(step).collect()
}

#[test]
fn no_two_ticks_start_in_the_same_minute() {
    let mut taken: std::collections::BTreeMap<u32, String> = Default::default();
    for p in unit_files()
        .into_iter()
        .filter(|p| p.extension().unwrap() == "timer")
    {
        let text = std::fs::read_to_string(&p).unwrap();
        let spec = text
            .lines()
            .find_map(|l| l.strip_prefix("OnCalendar="))
            .unwrap();
        for m in minutes(spec) {
            let name = p.file_name().unwrap().to_string_lossy().to_string();
            if let Some(other) = taken.insert(m, name.clone()) {
                panic!("{name} and {other} both start at minute {m}");
            }
        }
        let delay = text
            .lines()
            .find_map(|l| l.strip_prefix("RandomizedDelaySec="))
            .unwrap_or("0");
        let secs: u32 = delay.trim_end_matches('s').parse().unwrap_or(u32::MAX);
        assert!(
            secs <= 30,
            "{}: a delay of {delay} moves the tick into another minute",
            p.display()
        );
    }
    let cron =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("contrib/crontab"))
            .unwrap();
    let mut taken: std::collections::BTreeMap<u32, String> = Default::default();
    for l in cron
        .lines()
        .filter(|l| l.contains(" afk ") && !l.starts_with('#'))
    {
        let tick = l.split_whitespace().last().unwrap().to_string();
        for m in minutes(l.split_whitespace().next().unwrap()) {
            if let Some(other) = taken.insert(m, tick.clone()) {
                panic!("cron: {tick} and {other} both start at minute {m}");
            }
        }
    }
}

#[test]
fn systemd_units_are_sandboxed_and_log_levels_to_journald() {
    for p in unit_files()
        .into_iter()
        .filter(|p| p.extension().unwrap() == "service")
    {
        let text = std::fs::read_to_string(&p).unwrap();
        let at = p.display();
        assert!(
            text.contains("\nEnvironment=AFK_LOG=journal\n"),
            "{at}: levels for journald"
        );
        for key in [
            "NoNewPrivileges=yes",
            "ProtectSystem=strict",
            "PrivateTmp=yes",
            "UMask=0077",
            "CapabilityBoundingSet=\n",
        ] {
            assert!(text.contains(key), "{at}: {key}");
        }
        let starts_agents = text.contains("KillMode=process");
        assert_eq!(
            text.contains("ProtectHome=yes"),
            !starts_agents,
            "{at}: ProtectHome= only where no agent runs"
        );
        // systemd-analyze's own score, where this machine has it
        let Ok(out) = Command::new("systemd-analyze")
            .args(["security", "--offline=true"])
            .arg(&p)
            .output()
        else {
            continue;
        };
        let report = String::from_utf8_lossy(&out.stdout);
        let Some(score) = report
            .lines()
            .find_map(|l| l.split("exposure level for ").nth(1))
            .and_then(|l| l.split(": ").nth(1))
            .and_then(|l| l.split_whitespace().next())
            .and_then(|s| s.parse::<f64>().ok())
        else {
            continue;
        };
        let most = if starts_agents { 5.0 } else { 2.5 };
        assert!(
            score <= most,
            "{at}: systemd-analyze security says {score} (at most {most})\n{report}"
        );
    }
}

#[test]
fn afk_log_journal_gives_journald_levels_and_no_timestamps() {
    let s = Scratch::new();
    let out = afk_in(&s.dir)
        .env("AFK_LOG", "journal")
        .args(["--config", "missing.toml", "doctor"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    let line = err.lines().next().unwrap();
    assert!(line.starts_with("<3>afk: config:"), "{line}");
}

// ---- 11: help, man pages and docs agree with the binary ----------------------

#[test]
fn every_command_s_help_has_its_exit_status_and_man_pages_their_sections() {
    let mut cmd = afk::cli::command().disable_help_subcommand(true);
    cmd.build();
    fn walk(c: &clap::Command, path: Vec<String>, out: &mut Vec<Vec<String>>) {
        out.push(path.clone());
        for s in c.get_subcommands().filter(|s| !s.is_hide_set()) {
            let mut p = path.clone();
            p.push(s.get_name().to_string());
            walk(s, p, out);
        }
    }
    let mut paths = vec![];
    walk(&cmd, vec![], &mut paths);
    assert!(paths.len() > 20);
    for p in &paths {
        let out = bounded(
            &[
                p.iter().map(String::as_str).collect::<Vec<_>>(),
                vec!["--help"],
            ]
            .concat(),
        );
        let help = String::from_utf8_lossy(&out.stdout);
        assert!(
            help.contains("Exit status:"),
            "afk {} --help has no exit status",
            p.join(" ")
        );
    }
    let s = Scratch::new();
    let out = bounded(&["man", "--dir", s.dir.to_str().unwrap()]);
    assert!(out.status.success());
    for page in std::fs::read_dir(&s.dir).unwrap() {
        let page = page.unwrap().path();
        let text = std::fs::read_to_string(&page).unwrap();
        for sh in [
            ".SH \"EXIT STATUS\"",
            ".SH \"ENVIRONMENT\"",
            ".SH \"FILES\"",
            ".SH \"SEE ALSO\"",
        ] {
            assert!(text.contains(sh), "{}: no {sh}", page.display());
        }
        assert!(!text.contains(".SH EXTRA"), "{}", page.display());
    }
    let top = std::fs::read_to_string(s.dir.join("afk.1")).unwrap();
    let synopsis = top
        .split(".SH SYNOPSIS")
        .nth(1)
        .unwrap()
        .split(".SH")
        .next()
        .unwrap();
    assert!(synopsis.contains("\\-\\-config <PATH>"), "{synopsis}");
    let list = std::fs::read_to_string(s.dir.join("afk-lessons-list.1")).unwrap();
    assert!(list.contains("\\-\\-limit <N>"), "{list}");
}

#[test]
fn help_version_readme_and_configs_say_the_same_things() {
    let help = String::from_utf8_lossy(&bounded(&["--help"]).stdout).to_string();
    for var in [
        "AFK_CONFIG",
        "AFK_LOG",
        "AFK_CANARY_SEED",
        "AFK_BUSY_TIMEOUT_MS",
    ] {
        assert!(help.contains(var), "--help's environment lacks {var}");
    }
    let version = String::from_utf8_lossy(&bounded(&["--version"]).stdout).to_string();
    assert!(
        version.starts_with(&format!("afk {}\n", env!("CARGO_PKG_VERSION"))),
        "{version}"
    );
    assert!(
        version.contains("\ncommit: ") && version.contains("\ntarget: "),
        "{version}"
    );
    let demo = String::from_utf8_lossy(&bounded(&["demo", "--help"]).stdout).to_string();
    for act in ["poll", "watch", "lessons", "canary", "upgrade"] {
        assert!(
            demo.contains(act),
            "demo --help does not describe the {act} act"
        );
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    for cmd in ["| `afk runs`", "| `afk report`"] {
        assert!(
            readme.contains(cmd),
            "the README's command table lists {cmd}"
        );
    }
    // one real agent: Claude Code by name, in afk's workspace
    let line = |file: &str, key: &str| {
        std::fs::read_to_string(root.join(file))
            .unwrap()
            .lines()
            .find(|l| l.starts_with(&format!("{key} = ")))
            .map(|l| l.split('#').next().unwrap().trim().to_string())
            .unwrap_or_else(|| panic!("{file}: no {key} line"))
    };
    for file in [
        "examples/afk.toml",
        "contrib/afk.toml",
        "docs/configuration.md",
    ] {
        assert_eq!(
            line(file, "agent"),
            "agent = \"claude\"",
            "{file}: one real agent"
        );
        assert_eq!(line(file, "workspace"), "workspace = \"afk\"", "{file}");
    }
}

#[test]
fn a_single_run_is_one_run() {
    let sb = one_ready_issue();
    let afk = Afk::agent(&sb, "pr", "", "");
    assert_eq!(afk.poll().0, 0);
    let text = stdout_of(&afk, &["--dry-run", "watch"]);
    assert!(
        text.starts_with("watch (dry run): 1 run, 0 errors"),
        "{text}"
    );
    let text = stdout_of(&afk, &["status"]);
    assert!(text.contains("1 run in flight"), "{text}");
}

// ---- 17: a better canary graduates, end to end -------------------------------

#[test]
fn a_better_canary_graduates_through_poll_watch_and_harvest_and_is_announced_once() {
    const REPOS: usize = 6;
    let repos: Vec<String> = (1..=REPOS).map(|i| format!("acme/lab{i}")).collect();
    let seed: Vec<Value> = repos
        .iter()
        .map(|r| {
            repo(
                r,
                json!((1..=4).map(|n| ready(n, "alice")).collect::<Vec<_>>()),
            )
        })
        .collect();
    let sb = Sandbox::start(json!({ "repos": seed }));
    let allow: Vec<String> = repos.iter().map(|r| format!("\"{r}\"")).collect();
    let mut afk = Afk::with_text(&format!(
        "state_path = \"state/afk.db\"\n[forge]\n{forge}timeout = \"5s\"\nretries = 1\n\
         [runner]\nconfine = \"none\"\ncommand = [\"env\", \"AFK_DEMO_GIT={git}\", \"AFK_DEMO_API={api}\", \"AFK_DEMO_FORGE={kind}\", \"AFK_DEMO_TOKEN={TOKEN}\", \"sh\", \"{agent}\"]\n\
         [watch]\nci_contexts = [\"ci/build\"]\nfix_forward_max = 0\n\
         [harvest]\ncanary = true\nsample = 0.5\nmin_samples = 4\ncheck_every = 2\nmax_samples = 8\nearly_failures = 0\n\
         [notify]\nwebhook_env = \"AFK_TEST_WEBHOOK\"\n\
         [poll]\nenabled = true\nallowlist = [{allow}]\nmax_in_flight = {REPOS}\nmax_per_tick = {REPOS}\n",
        forge = sb.forge_keys(),
        git = sb.git.display(),
        api = sb.api_url(),
        kind = sb.dialect.name(),
        agent = demo_agent().display(),
        allow = allow.join(", "),
    ));
    afk.hooks = Some(sb.url.clone());
    // the current version makes the scripted agent stop without a PR; the canary does not
    let v1 = afk.scratch.write(
        "v1.md",
        "Work on the issue.\nAFK-DEMO-WORSE: stop when it gets hard.\n",
    );
    let v2 = afk.scratch.write(
        "v2.md",
        "Work on the issue, test it, open a pull request.\n",
    );
    add_template(&afk, &v1, false);
    add_template(&afk, &v2, true);
    let tick = |args: &[&str]| {
        let out = afk
            .cmd()
            .env("AFK_CANARY_SEED", "7")
            .arg("--json")
            .args(args)
            .output()
            .unwrap();
        let doc: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{args:?}: {} {doc}",
            String::from_utf8_lossy(&out.stderr)
        );
        doc
    };
    let mut decision = Value::Null;
    for _round in 0..8 {
        let p = tick(&["poll"]);
        for d in p["dispatched"].as_array().unwrap() {
            afk.wait_agent(d["run_id"].as_i64().unwrap());
        }
        // CI goes green on every PR and a person merges it
        for r in &repos {
            let (_, prs) = sb.api(&sb.dialect.prs_path(r, Listed::Open));
            for pr in prs.as_array().unwrap() {
                let branch = pr["head"]["ref"].as_str().unwrap();
                sb.status(r, branch, "ci/build", "success");
                sb.merge(r, pr["number"].as_u64().unwrap());
            }
        }
        tick(&["watch"]);
        let h = tick(&["harvest"]);
        if let Some(d) = h["decisions"].as_array().and_then(|d| d.first()) {
            decision = d.clone();
            break;
        }
    }
    assert_eq!(decision["decision"], "auto_promoted", "{decision}");
    assert_eq!(decision["version"], 2);
    let (_, l, _) = afk.json(&["template", "list"]);
    let statuses: Vec<(i64, String)> = l["templates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["version"].as_i64().unwrap(),
                t["status"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        statuses,
        vec![(1, "retired".to_string()), (2, "current".to_string())]
    );
    // announced once, and once only however often harvest runs
    tick(&["harvest"]);
    tick(&["watch"]);
    let promoted: Vec<Value> = sb
        .hooks()
        .into_iter()
        .filter(|h| h["hook"] == "webhook" && h["body"]["event"] == "candidate.auto_promoted")
        .collect();
    assert_eq!(promoted.len(), 1, "{promoted:?}");
}

// ---- 18: gate_failure lessons name the failing check and the agent -----------

#[test]
fn a_direct_ci_red_escalation_records_a_gate_failure_naming_the_check_and_the_agent() {
    let sb = one_ready_issue();
    let afk = first_run_done(
        &sb,
        "ci_contexts = [\"ci/build\", \"ci/lint\"]\nfix_forward_max = 0",
    );
    sb.status("acme/api", "afk/issue-1", "ci/build", "failure");
    sb.status("acme/api", "afk/issue-1", "ci/lint", "success");
    let (code, w, err) = afk.watch();
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        action_of(&w, 1),
        ("escalate".to_string(), Some("ci-red".to_string()))
    );
    let (_, l, _) = afk.json(&["lessons", "list", "--type", "gate_failure"]);
    let lessons = l["lessons"].as_array().unwrap();
    assert_eq!(lessons.len(), 1, "{l}");
    assert_eq!(
        lessons[0]["detail"], "ci/build",
        "the failing check, not its URL: {l}"
    );
    let agent = lessons[0]["agent"].as_str().unwrap_or("");
    assert!(
        agent.contains("afk-bot"),
        "the account the agent pushed as: {l}"
    );
}

#[test]
fn a_corrective_turn_s_gate_failure_names_the_check_too() {
    let sb = one_ready_issue();
    let afk = first_run_done(&sb, "ci_contexts = [\"ci/build\"]");
    sb.status("acme/api", "afk/issue-1", "ci/build", "failure");
    let (_, w, _) = afk.watch();
    assert_eq!(action_of(&w, 1).0, "corrective_turn");
    let (_, l, _) = afk.json(&["lessons", "list", "--type", "gate_failure"]);
    assert_eq!(l["lessons"][0]["detail"], "ci/build", "{l}");
    assert!(
        l["lessons"][0]["agent"]
            .as_str()
            .is_some_and(|a| a.contains("afk-bot")),
        "{l}"
    );
}

// ---- 19: "dispatched since the canary went live" is exact within a second ------

#[test]
fn a_run_dispatched_before_the_canary_in_the_same_second_is_not_control() {
    let sb = one_ready_issue();
    let afk = Afk::new(
        &sb,
        ON,
        "[harvest]\ncanary = true\nsample = 0.5\nmin_samples = 1\ncheck_every = 1\nmax_samples = 4\nearly_failures = 0\n",
    );
    let at = |t: &str| *afk.now.borrow_mut() = Some(format!("2026-01-01T12:00:{t}Z"));
    let v1 = afk.scratch.write("v1.md", "v1\n");
    let v2 = afk.scratch.write("v2.md", "v2\n");
    at("00.100");
    add_template(&afk, &v1, false);
    at("00.300");
    let (code, r, err) = afk.poll();
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        r["dispatched"][0]["template_version"], 1,
        "no canary yet: {r}"
    );
    at("00.700");
    add_template(&afk, &v2, true);
    // run 1 (current version) ends later; a canary run is dispatched and ends after the canary went live
    afk.sql(
        "UPDATE runs SET state = 'succeeded', ended_at = '2026-01-01T12:30:00.000000Z', updated_at = '2026-01-01T12:30:00.000000Z' WHERE id = 1;
         INSERT INTO runs (repo, issue, state, template_name, template_version_id, template_version, template_hash,
                           created_at, updated_at, ended_at)
         VALUES ('acme/api', 2, 'escalated', 'implementer', 2, 2, 'h', '2026-01-01T12:10:00.000000Z',
                 '2026-01-01T12:40:00.000000Z', '2026-01-01T12:40:00.000000Z');",
    );
    at("59.000");
    *afk.now.borrow_mut() = Some("2026-01-01T13:00:00Z".into());
    let (code, h, err) = afk.json(&["--dry-run", "harvest"]);
    assert_eq!(code, 0, "{err}");
    let cp = &h["checkpoints"][0];
    assert_eq!(cp["canary"], json!({"success": 0, "failure": 1}), "{h}");
    assert_eq!(
        cp["control"],
        json!({"success": 0, "failure": 0}),
        "run 1 was dispatched 0.4 s before the canary went live: {h}"
    );
}
