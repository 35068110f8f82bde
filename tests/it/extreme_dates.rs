//! Issue 47: no outside value panics a tick. Every date the forge (and the
//! agent's PR calls through it) answers with — labels' events, comments,
//! reviews, statuses, PRs, merges — set to the extremes RFC 3339 allows,
//! through a whole run: poll, the agent, watch with a command, a review and
//! a merge, harvest and every report. A tick may refuse or wait; it never
//! panics (exit 101), and the state stays readable.

use crate::support::*;
use serde_json::json;

fn no_panic(what: &str, (code, out, err): (i32, String, String)) {
    assert_ne!(code, 101, "{what} panicked: {err}");
    assert!(!err.contains("panicked"), "{what}: {err}");
    assert!(!out.contains("panicked"), "{what}: {out}");
}

fn run(afk: &Afk, args: &[&str]) -> (i32, String, String) {
    let out = afk.cmd().args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

fn whole_run_at(date: &str) {
    let sb = Sandbox::start(json!({"repos": [repo("acme/api", json!([ready(1, "alice")]))]}));
    sb.faults(json!([{"dates": date}]));
    let afk = Afk::agent(&sb, "pr", "", "");
    let poll = run(&afk, &["--json", "poll"]);
    assert!(
        poll.1.contains("\"run_id\": 1"),
        "dispatched whatever the dates: {poll:?}"
    );
    no_panic("poll", poll);
    afk.wait_agent(1);
    no_panic("watch", run(&afk, &["--json", "watch"]));
    sb.status("acme/api", "afk/issue-1", "ci/build", "success");
    let pr = sb.dialect.first_pr(1);
    sb.admin(
        "POST",
        "/comment",
        Some(json!({"repo": "acme/api", "issue": 1, "user": "alice", "body": "/afk hold"})),
    );
    no_panic("watch after a command", run(&afk, &["--json", "watch"]));
    sb.admin(
        "POST",
        "/review",
        Some(json!({"repo": "acme/api", "pr": pr, "user": "alice", "state": "APPROVED", "body": "ok"})),
    );
    sb.admin(
        "POST",
        "/comment",
        Some(json!({"repo": "acme/api", "issue": 1, "user": "alice", "body": "/afk resume"})),
    );
    no_panic("watch after a review", run(&afk, &["--json", "watch"]));
    sb.admin(
        "POST",
        "/merge",
        Some(json!({"repo": "acme/api", "pr": pr})),
    );
    let merged = run(&afk, &["--json", "watch"]);
    assert!(
        merged.1.contains("\"succeed\""),
        "the run ends whatever the dates: {merged:?}"
    );
    no_panic("watch after the merge", merged);
    for args in [
        &["--json", "watch"][..],
        &["--json", "harvest"],
        &["--json", "status"],
        &["status"],
        &["status", "--html"],
        &["--json", "runs"],
        &["--json", "runs", "show", "1"],
        &["--json", "lessons", "list"],
        &["--json", "doctor"],
    ] {
        no_panic(&args.join(" "), run(&afk, args));
    }
}

both_dialects! {
    azure_devops_plays;
#[test]
fn a_whole_run_with_every_forge_date_at_the_end_of_time_never_panics() {
    whole_run_at("9999-12-31T23:59:59Z");
}

#[test]
fn a_whole_run_with_every_forge_date_at_year_zero_never_panics() {
    whole_run_at("0000-01-01T00:00:00Z");
}
}

/// The Kubernetes API's dates too (a Job's and a pod's times, each log
/// line's stamp), at either extreme, through turns and their logs.
#[test]
fn kubernetes_dates_at_either_extreme_never_panic_a_tick() {
    use crate::kubernetes::{n, setup, wait_done};
    for date in ["9999-12-31T23:59:59Z", "0000-01-01T00:00:00Z"] {
        let script =
            "echo \"{\\\"phase\\\":\\\"tests-red\\\"}\"; echo \"{\\\"cost_usd\\\": 0.75}\"";
        let (sb, afk) = setup(1, script, "fix_forward_max = 1");
        sb.faults(json!([{"dates": date}]));
        let poll = run(&afk, &["--json", "poll"]);
        assert!(poll.1.contains("\"run_id\": 1"), "{date}: {poll:?}");
        no_panic("poll", poll);
        wait_done(&sb, &n(&afk, "1-1"));
        for args in [
            &["--json", "watch"][..],
            &["--json", "watch"],
            &["--json", "status"],
            &["--json", "runs", "show", "1"],
        ] {
            no_panic(&format!("{date}: {}", args.join(" ")), run(&afk, args));
        }
        let log =
            std::fs::read_to_string(afk.scratch.path("state/runs/1/agent.log")).unwrap_or_default();
        assert!(log.contains("tests-red"), "{date}: the log was read: {log}");
    }
}
