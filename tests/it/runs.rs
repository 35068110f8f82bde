//! `afk runs` and `afk runs show`: the history a person reads after the fact.

use crate::support::*;
use serde_json::json;

both_dialects! {
    azure_devops_plays;
#[test]
fn runs_lists_the_history_and_show_gives_one_runs_timeline() {
    let sb = Sandbox::start(json!({"repos": [repo("acme/api", json!([ready(1, "alice")]))]}));
    let afk = Afk::agent(&sb, "blocked", "", "");
    afk.poll();
    afk.wait_agent(1);
    afk.watch();
    let (code, r, err) = afk.json(&["runs"]);
    assert_eq!(code, 0, "{err}");
    let runs = r["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0]["state"], "escalated");
    assert_eq!(runs[0]["reason"], "blocked");
    assert_eq!(runs[0]["repo"], "acme/api");
    let (_, none, _) = afk.json(&["runs", "--status", "succeeded"]);
    assert_eq!(none["runs"], json!([]));
    let (code, s, err) = afk.json(&["runs", "show", "1", "--log"]);
    assert_eq!(code, 0, "{err}");
    let whats: Vec<&str> = s["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["what"].as_str().unwrap())
        .collect();
    assert_eq!(whats.first(), Some(&"dispatched"), "{whats:?}");
    assert!(
        whats.iter().any(|w| w.starts_with("run.escalated")),
        "{whats:?}"
    );
    assert!(
        whats.iter().any(|w| w.starts_with("escalated blocked")),
        "{whats:?}"
    );
    assert!(
        s["files"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f == "prompt-1.md")
    );
    assert!(
        s["agent_log"]
            .as_str()
            .unwrap()
            .contains("demo agent: run 1")
    );
    let out = afk.cmd().args(["runs", "show", "99"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no run with id 99"));
    // human output: a table, and the timeline
    let out = afk.cmd().args(["runs"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("RUN"), "{text}");
    assert!(
        text.contains("acme/api#1") && text.contains("escalated"),
        "{text}"
    );
}
}

/// Bytes a terminal acts on: escape sequences (title, clear screen, hyperlinks),
/// bell, carriage return (overwrites a line), backspace, C1 controls (8-bit
/// CSI), bidi overrides.
const TERMINAL_ATTACK: &str = "ok\u{1b}]0;pwned\u{7}\u{1b}[2J\u{1b}[31mred\rover\u{8}\u{9b}31m\u{202e}desrever\u{7f}\n\tindented\n";

fn assert_terminal_safe(text: &str) {
    for c in text.chars() {
        assert!(
            c == '\n' || c == '\t' || !(c.is_control() || ('\u{202a}'..='\u{202e}').contains(&c)),
            "{c:?} reached the terminal in {text:?}"
        );
    }
}

#[test]
fn runs_show_log_never_prints_the_agents_control_characters_raw() {
    let sb = Sandbox::start(json!({"repos": [repo("acme/api", json!([
        {"number": 1, "title": "fix \u{1b}[2Jthe\u{7} parser", "body": "do it", "labels": ["ready-for-agent"], "labeled_by": "alice"}
    ]))]}));
    let afk = Afk::agent(&sb, "blocked", "", "");
    afk.poll();
    afk.wait_agent(1);
    let log = afk.scratch.path("state/runs/1/agent.log");
    let mut f = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
    std::io::Write::write_all(&mut f, TERMINAL_ATTACK.as_bytes()).unwrap();
    afk.watch();
    for args in [&["runs", "show", "1", "--log"][..], &["runs"], &["status"]] {
        let out = afk.cmd().args(args).output().unwrap();
        assert!(out.status.success(), "{args:?}");
        let text = String::from_utf8_lossy(&out.stdout);
        assert_terminal_safe(&text);
        assert_terminal_safe(&String::from_utf8_lossy(&out.stderr));
        if args.len() == 4 {
            // still readable: the text is there, the controls shown as escapes
            assert!(text.contains("\tindented\n"), "{text}");
            assert!(text.contains("\\x1b]0;pwned"), "{text}");
        }
    }
    // --json keeps the log as it was (JSON escapes every control itself)
    let (_, s, _) = afk.json(&["runs", "show", "1", "--log"]);
    assert!(s["agent_log"].as_str().unwrap().contains(TERMINAL_ATTACK));
}

/// Each corrective turn has its own line in `afk runs show`'s timeline, with
/// when it started and why (no PR, then red CI naming the context), and the
/// head line counts the turns in words that fit the count.
#[test]
fn runs_show_gives_each_turn_its_time_and_reason() {
    let sb = Sandbox::start(json!({"repos": [repo("acme/api", json!([ready(1, "alice")]))]}));
    let afk = Afk::agent(&sb, "late-pr", "fix_forward_max = 3", "");
    let (code, _, err) = afk.poll();
    assert_eq!(code, 0, "{err}");
    afk.wait_agent(1);
    let shown = |afk: &Afk| {
        let (code, s, err) = afk.json(&["runs", "show", "1"]);
        assert_eq!(code, 0, "{err}");
        let out = afk.cmd().args(["runs", "show", "1"]).output().unwrap();
        (s, String::from_utf8_lossy(&out.stdout).into_owned())
    };
    let (_, text) = shown(&afk);
    assert!(text.contains(", 1 agent turn, "), "{text}");
    // turn 1 ended without a PR: turn 2
    let (_, r, err) = afk.watch();
    assert_eq!(action_of(&r, 1).0, "corrective_turn", "{r}\n{err}");
    afk.wait_agent(1);
    // turn 2 opened the PR; its CI is red: turn 3
    sb.status("acme/api", "afk/issue-1", "ci/test", "failure");
    let (_, r, err) = afk.watch();
    assert_eq!(
        action_of(&r, 1),
        ("corrective_turn".into(), Some("ci-red".into())),
        "{r}\n{err}"
    );
    let (s, text) = shown(&afk);
    let turns: Vec<(String, String)> = s["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["at"].as_str().unwrap().to_string(),
                m["what"].as_str().unwrap().to_string(),
            )
        })
        .filter(|(_, w)| w.starts_with("turn "))
        .collect();
    let whats: Vec<&str> = turns.iter().map(|(_, w)| w.as_str()).collect();
    assert_eq!(
        whats,
        [
            "turn 2 started: the agent stopped without a pull request",
            "turn 3 started: CI red: ci/test",
        ],
        "{s}"
    );
    assert!(turns.iter().all(|(at, _)| at.len() >= 20), "{turns:?}");
    assert_eq!(s["turns"][1]["reason"], "ci-red", "{s}");
    assert!(text.contains(", 3 agent turns, "), "{text}");
    assert!(text.contains("turn 3 started: CI red: ci/test"), "{text}");
    assert!(!text.contains("(s)"), "{text}");
}

#[test]
fn the_timeline_stamps_the_pr_when_a_watch_first_saw_it_not_when_the_agent_last_wrote() {
    let sb = Sandbox::start(json!({"repos": [repo("acme/api", json!([ready(1, "alice")]))]}));
    let afk = Afk::agent(&sb, "pr", "", "");
    let (code, _, err) = afk.poll();
    assert_eq!(code, 0, "{err}");
    afk.wait_agent(1);
    // the watch that sees the PR runs two hours after the agent's last line
    afk.later(2);
    let (_, r, err) = afk.watch();
    assert_eq!(
        action_of(&r, 1).1.as_deref(),
        Some("ci-pending"),
        "{r}\n{err}"
    );
    let (code, s, err) = afk.json(&["runs", "show", "1"]);
    assert_eq!(code, 0, "{err}");
    let at = |prefix: &str| {
        s["timeline"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["what"].as_str().unwrap_or("").starts_with(prefix))
            .and_then(|m| m["at"].as_str())
            .map(|t| afk::clock::parse(t).unwrap())
            .unwrap_or_else(|| panic!("no {prefix} in {s}"))
    };
    let gap = at("PR #") - at("dispatched");
    assert!(
        gap >= time::Duration::minutes(119),
        "PR stamped {gap} after dispatch: {s}"
    );
}
