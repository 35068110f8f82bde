//! Issue #31: a summary line never disagrees with the exit code
//! (docs/exit-codes.md).
//! Each command is run in the shapes that used to disagree, and the error
//! count its first line states is > 0 exactly when it exits non-zero.

use crate::support::*;
use serde_json::json;

/// The error count a summary's first line states (`1 error`, `2 errors`,
/// `errors 0`).
fn stated_errors(human: &str) -> usize {
    let first = human.lines().next().unwrap_or("");
    let words: Vec<&str> = first
        .split([' ', ',', ':'])
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
    sb.faults(
        json!([{"method": "GET", "path": sb.dialect.issue_path("acme/api", 1), "status": 500}]),
    );
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
    let afk = Afk::agent(
        &sb,
        "spend",
        "",
        "[budget]\npause_for = \"0s\"\nrun_usd = 1000.0\n",
    );
    let _stop = StopsAgent(&afk);
    let (code, _) = agreeing(&afk, &["poll"]);
    assert_eq!(code, 0);
    let (code, text) = agreeing(&afk, &["watch"]);
    assert_eq!(code, 0, "{text}");
    assert!(text.starts_with("watch: 1 run, 0 errors"), "{text}");
}

/// Wait (bounded) for `path` to exist: the agent's own marker.
fn wait_for(path: &std::path::Path) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !path.exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "{} never appeared",
            path.display()
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

/// Stops the agent of run 1 (its own process group), which the test
/// started, when the test ends, passed or not.
struct StopsAgent<'a>(&'a Afk);

impl Drop for StopsAgent<'_> {
    fn drop(&mut self) {
        let Ok(pid) = std::fs::read_to_string(self.0.scratch.path("state/runs/1/agent.pid")) else {
            return;
        };
        if let Some(pid) = pid.split_whitespace().next() {
            let _ = std::process::Command::new("kill")
                .args(["-TERM", "--", &format!("-{pid}")])
                .status();
        }
    }
}

/// `afk status` shows what a run in flight's agent reported spending
/// (`cost_usd` lines) before any watch tick read it.
#[test]
fn status_shows_a_run_in_flights_spend_without_a_watch_tick() {
    let sb = Sandbox::start(json!({"repos": [repo("acme/api", json!([ready(1, "alice")]))]}));
    let afk = Afk::agent(&sb, "spend", "", "");
    let _stop = StopsAgent(&afk);
    let (code, _) = agreeing(&afk, &["poll"]);
    assert_eq!(code, 0);
    wait_for(&afk.scratch.path("state/runs/1/home/spent"));
    let (code, st, err) = afk.json(&["status"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(st["runs"][0]["spend_usd"], json!(0.35), "{st}");
    assert_eq!(st["spend"]["today_usd"], json!(0.35), "{st}");
    // the shape of `ticks` in docs/reports.md#afk-status, exactly
    let keys: Vec<&str> = st["ticks"][0]
        .as_object()
        .unwrap()
        .keys()
        .map(|k| k.as_str())
        .collect();
    assert_eq!(
        keys,
        ["ended", "errors", "exit", "kind", "started", "state"]
    );
    assert_eq!(st["ticks"].as_array().unwrap().len(), 4);
    let human = afk.cmd().arg("status").output().unwrap();
    let text = String::from_utf8_lossy(&human.stdout);
    assert!(text.contains("$0.35"), "{text}");
    // nothing was stored: status writes nothing
    assert_eq!(
        afk.sql_rows("SELECT spend_usd IS NULL FROM runs WHERE id = 1"),
        vec![vec!["1".to_string()]]
    );
}

/// The status page shows tick health, one row per kind, and a banner at the
/// top naming a kind that failed (written by that very tick) or is overdue
/// (decided when the page is written: the page runs no script).
#[test]
fn the_status_page_has_tick_health_and_a_banner_for_a_failed_or_overdue_kind() {
    let sb = Sandbox::start(json!({"repos": [repo("acme/api", json!([ready(1, "alice")]))]}));
    let afk = Afk::agent(&sb, "pr", "", "");
    let text = std::fs::read_to_string(&afk.config).unwrap();
    std::fs::write(
        &afk.config,
        format!("status_page = \"www/index.html\"\n{text}"),
    )
    .unwrap();
    std::fs::create_dir_all(afk.scratch.path("www")).unwrap();
    let page = || std::fs::read_to_string(afk.scratch.path("www/index.html")).unwrap();
    let (code, _) = agreeing(&afk, &["poll"]);
    assert_eq!(code, 0);
    afk.wait_agent(1);
    let html = page();
    assert!(html.contains("<h2>Tick health</h2>"), "{html}");
    assert!(
        html.contains("<meta name=\"afk-generated\" content=\"20"),
        "{html}"
    );
    assert!(!html.contains("TICK HEALTH:"), "all well: no banner");
    sb.faults(
        json!([{"method": "GET", "path": sb.dialect.issue_path("acme/api", 1), "status": 500}]),
    );
    let (code, _) = agreeing(&afk, &["watch"]);
    assert_eq!(code, 1);
    sb.faults(json!([]));
    let html = page();
    let banner = html
        .find("TICK HEALTH: watch FAILED (exit 1, 1 error at")
        .expect(&html);
    assert!(
        banner < html.find("id=\"stop\"").unwrap(),
        "the banner is at the top"
    );
    // an hour later nothing has run: every kind that ran is overdue
    afk.later(1);
    let out = afk.cmd().args(["status", "--html"]).output().unwrap();
    let html = String::from_utf8_lossy(&out.stdout);
    assert!(
        html.contains("TICK HEALTH: poll OVERDUE") && html.contains("watch OVERDUE"),
        "{html}"
    );
    assert!(html.contains("expected every 5m"), "{html}");
}
