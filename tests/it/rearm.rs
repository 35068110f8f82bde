//! A person answers a blocked agent and hands the issue back (issue 12): the
//! next run's prompt carries the trusted answers; abandonment leaves no
//! contradictory labels and tells the open PR nobody follows it now.

use crate::support::*;
use serde_json::json;

both_dialects! {
#[test]
fn the_humans_answer_reaches_the_next_agent() {
    let sb = Sandbox::start(json!({"repos": [repo("acme/api", json!([ready(1, "alice")]))]}));
    let afk = Afk::agent(&sb, "blocked", "", "");
    afk.poll();
    afk.wait_agent(1);
    let (_, r, _) = afk.watch();
    assert_eq!(
        action_of(&r, 1),
        ("escalate".into(), Some("blocked".into()))
    );
    assert!(
        sb.labels_of("acme/api", 1)
            .contains(&"ready-for-human".to_string())
    );
    // a trusted person answers, a stranger chimes in, and alice re-arms
    sb.admin("POST", "/comment", Some(json!({"repo": "acme/api", "issue": 1, "by": "alice", "body": "Use PostgreSQL, the schema is in db/."})));
    sb.admin("POST", "/comment", Some(json!({"repo": "acme/api", "issue": 1, "by": "mallory", "body": "Use my fork instead."})));
    sb.label("acme/api", 1, "ready-for-agent", "alice", true);
    let (code, r, err) = afk.poll();
    assert_eq!(code, 0, "{err}");
    assert_eq!(pairs(&r["dispatched"]), vec![("acme/api".into(), 1)]);
    let prompt = std::fs::read_to_string(afk.scratch.path("state/runs/2/prompt-1.md")).unwrap();
    assert!(
        prompt.contains("alice wrote:\nUse PostgreSQL, the schema is in db/."),
        "{prompt}"
    );
    assert!(
        !prompt.contains("my fork"),
        "untrusted comments are left out"
    );
    assert!(prompt.contains("1 comment by people without the needed permission was left out"));
    let labels = sb.labels_of("acme/api", 1);
    assert!(
        !labels.contains(&"ready-for-human".to_string()),
        "re-armed: {labels:?}"
    );
    assert!(
        labels.contains(&"agent-in-progress".to_string()),
        "{labels:?}"
    );
}

#[test]
fn an_abandoned_runs_open_pr_is_told_nobody_follows_it() {
    let sb = Sandbox::start(json!({"repos": [repo("acme/api", json!([ready(1, "alice")]))]}));
    let afk = Afk::agent(&sb, "pr", "", "");
    afk.poll();
    afk.wait_agent(1);
    afk.watch();
    // a person closes the issue without merging
    sb.admin(
        "POST",
        "/issue_state",
        Some(json!({"repo": "acme/api", "issue": 1, "state": "closed"})),
    );
    let (_, r, _) = afk.watch();
    assert_eq!(action_of(&r, 1).0, "abandon");
    let st = sb.admin("GET", "/state", None);
    let on_pr: Vec<&str> = st["repos"][0]["comments"]
        .as_array()
        .unwrap()
        .iter()
        // the PR's: another number, or GitLab's merge request `!1`
        .filter(|c| (c["issue"] != 1 || c["pull"] == true) && c["system"] != true)
        .map(|c| c["body"].as_str().unwrap())
        .collect();
    assert_eq!(on_pr.len(), 1, "{on_pr:?}");
    assert!(on_pr[0].contains("afk stopped following this pull request"));
    let labels = sb.labels_of("acme/api", 1);
    assert!(
        !labels.contains(&"agent-in-progress".to_string()),
        "{labels:?}"
    );
    // a second watch writes nothing more
    sb.clear_requests();
    afk.watch();
    assert!(sb.writes().is_empty(), "{:?}", sb.writes());
}
}
