//! Issue #31: a summary line never disagrees with the exit code (SPEC 10.1).
//! Each command is run in the shapes that used to disagree, and the error
//! count its first line states is > 0 exactly when it exits non-zero.

use crate::support::*;
use serde_json::json;

/// The error count a summary's first line states (`1 error`, `2 errors`,
/// `errors 0`).
fn stated_errors(human: &str) -> usize {
    let first = human.lines().next().unwrap_or("");
    let words: Vec<&str> = first
        .split(|c: char| c == ' ' || c == ',' || c == ':')
        .filter(|w| !w.is_empty())
        .collect();
    for (i, w) in words.iter().enumerate() {
        if w.starts_with("error") {
            let before = i.checked_sub(1).and_then(|j| words[j].parse().ok());
            let after = words.get(i + 1).and_then(|n| n.parse().ok());
            if let Some(n) = after.or(before) {
                return n;
            }
        }
    }
    panic!("no error count in the summary: {first:?}")
}

/// Run `afk <args>` for its human summary; assert it agrees with the exit
/// code, and return both.
pub fn agreeing(afk: &Afk, args: &[&str]) -> (i32, String) {
    let out = afk.cmd().args(args).output().unwrap();
    let code = out.status.code().unwrap_or(-1);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let n = stated_errors(&text);
    assert_eq!(
        n > 0,
        code != 0,
        "afk {args:?}: the summary says {n} error(s), the exit code is {code}:\n{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (code, text)
}

#[test]
fn the_summary_reader_finds_each_commands_count() {
    let table = [
        ("watch: 1 run, 0 errors", 0),
        ("watch: 0 runs, 1 error", 1),
        ("poll: dispatched 1, skipped 0, errors 2", 2),
        (
            "upgrade: 1 recipe, 0 open, 0 candidates, 1 skipped, 1 error",
            1,
        ),
        (
            "harvest: 0 outcomes recorded, 0 reverted, 0 checkpoints, 0 decisions, errors 0",
            0,
        ),
    ];
    for (line, want) in table {
        assert_eq!(stated_errors(line), want, "{line}");
    }
}

/// A run in flight is a run of the summary, whether or not watching it
/// failed; with no error the summary says none and watch exits 0.
#[test]
fn watch_counts_a_run_in_flight_and_only_real_errors() {
    let sb = Sandbox::start(json!({"repos": [repo("acme/api", json!([ready(1, "alice")]))]}));
    let afk = Afk::agent(&sb, "pr", "", "");
    let (code, _) = agreeing(&afk, &["poll"]);
    assert_eq!(code, 0);
    afk.wait_agent(1);
    let (code, text) = agreeing(&afk, &["watch"]);
    assert_eq!(code, 0, "{text}");
    assert!(text.starts_with("watch: 1 run, 0 errors"), "{text}");
    // the run's issue cannot be read: one error, and still one run looked at
    sb.faults(json!([{"method": "GET", "path": "/repos/acme/api/issues/1", "status": 500}]));
    let (code, text) = agreeing(&afk, &["watch"]);
    assert_eq!(code, 1, "{text}");
    assert!(text.starts_with("watch: 1 run, 1 error"), "{text}");
    sb.faults(json!([]));
}

/// A run whose agent is still working (its first turn in flight) is watched
/// without an error.
#[test]
fn watch_right_after_poll_with_the_agent_still_working_is_no_error() {
    let sb = Sandbox::start(json!({"repos": [repo("acme/api", json!([ready(1, "alice")]))]}));
    let afk = Afk::agent(&sb, "spend", "", "[budget]\nrun_usd = 1000.0\n");
    let (code, _) = agreeing(&afk, &["poll"]);
    assert_eq!(code, 0);
    let (code, text) = agreeing(&afk, &["watch"]);
    assert_eq!(code, 0, "{text}");
    assert!(text.starts_with("watch: 1 run, 0 errors"), "{text}");
    // the agent this test started (its own process group) is stopped
    let pid = std::fs::read_to_string(afk.scratch.path("state/runs/1/agent.pid")).unwrap();
    let pid = pid.split_whitespace().next().unwrap().to_string();
    std::process::Command::new("kill")
        .args(["-TERM", "--", &format!("-{pid}")])
        .status()
        .unwrap();
}
