//! `afk runs` and `afk runs show`: the history a person reads after the fact.

#[macro_use]
mod support;
use serde_json::json;
use support::*;

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
    assert_eq!(out.status.code(), Some(2));
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
