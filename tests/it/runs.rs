//! `afk runs` and `afk runs show`: the history a person reads after the fact.

use crate::support::*;
use serde_json::json;

both_dialects! {
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
