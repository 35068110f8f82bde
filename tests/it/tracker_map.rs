//! The tracker's map across repositories (docs/trackers.md, "The map"):
//! each `[[tracker.map]]` entry sends its issues to its own
//! allowlisted repository, one run each in the same tick, the pull request
//! on that repository; an issue two entries match is `ambiguous-mapping`,
//! naming both, and nothing is written on it. On Jira (entries by
//! component) and on Linear (entries by project and by label).

use crate::support::*;
use crate::tracker_linear::config_with;
use serde_json::{Value, json};

/// A sandbox with the repositories acme/api and acme/web, and afk polling
/// both.
fn two_repos() -> (Sandbox, Afk) {
    let sb = Sandbox::start(
        json!({"repos": [repo("acme/api", json!([])), repo("acme/web", json!([]))]}),
    );
    let afk = Afk::agent_in_afks_workspace(&sb, "pr", "");
    config_with(
        &afk,
        "allowlist = [\"acme/api\"]",
        "allowlist = [\"acme/api\", \"acme/web\"]",
    );
    (sb, afk)
}

/// The skip poll's report gives for the issue numbered `n`.
fn skip_of(r: &Value, n: u64) -> Value {
    (r["skipped"].as_array().unwrap().iter())
        .find(|s| s["issue"] == json!(n))
        .cloned()
        .unwrap_or_else(|| panic!("no skip for {n}: {r}"))
}

/// Each dispatch of poll's report: (repository, issue number).
fn dispatched(r: &Value) -> Vec<(String, u64)> {
    let mut d: Vec<(String, u64)> = (r["dispatched"].as_array().unwrap().iter())
        .map(|d| {
            (
                d["repo"].as_str().unwrap().to_string(),
                d["issue"].as_u64().unwrap(),
            )
        })
        .collect();
    d.sort();
    d
}

/// Once the agents end, watch opens each run's pull request on its own
/// repository, on the branch named by the issue's key.
fn each_pr_on_its_repository(sb: &Sandbox, afk: &Afk, branches: [(&str, &str); 2]) {
    for id in [1, 2] {
        assert_eq!(afk.wait_agent(id), 0);
    }
    let (code, r, err) = afk.watch();
    assert_eq!(code, 0, "{err} {r}");
    for (repo, branch) in branches {
        let heads: Vec<String> = sb.open_prs(repo).into_iter().map(|p| p.head).collect();
        assert_eq!(heads, [branch], "{repo}: {r}");
    }
}

#[test]
fn each_jira_map_entry_sends_its_issues_to_its_own_repository_and_two_entries_are_ambiguous() {
    let (sb, mut afk) = two_repos();
    let (block, token) = crate::tracker_jira::jira_people_and_block(&sb);
    let block = block.replace(
        "[[tracker.map]]\nproject = \"PLAT\"\nrepo = \"acme/api\"\n",
        "[[tracker.map]]\nproject = \"PLAT\"\ncomponent = \"api\"\nrepo = \"acme/api\"\n\n\
         [[tracker.map]]\nproject = \"PLAT\"\ncomponent = \"web\"\nrepo = \"acme/web\"\n",
    );
    assert!(block.contains("acme/web"), "{block}");
    let text = std::fs::read_to_string(&afk.config).unwrap();
    std::fs::write(&afk.config, text + &block).unwrap();
    afk.env.push(("AFK_TRACKER_TOKEN".into(), token));
    let made = |components: Value| {
        let id = sb.admin(
            "POST",
            "/jira/issue",
            Some(
                json!({"project": "PLAT", "summary": "Fix it", "creator": "alice-1",
                        "components": components}),
            ),
        )["id"]
            .as_str()
            .unwrap()
            .to_string();
        crate::tracker_jira::arm(&sb, &id, "alice-1", Value::Null);
        id.parse::<u64>().unwrap()
    };
    let api = made(json!(["api"]));
    let web = made(json!(["web"]));
    let both = made(json!(["api", "web"]));
    let (code, r, err) = afk.poll();
    assert_eq!(code, 0, "{err} {r}");
    assert_eq!(
        dispatched(&r),
        [("acme/api".to_string(), api), ("acme/web".to_string(), web)],
        "{r}"
    );
    let s = skip_of(&r, both);
    assert_eq!(s["reason"], "ambiguous-mapping", "{s}");
    assert!(
        s["detail"].as_str().unwrap().contains("entries 1, 2"),
        "{s}"
    );
    let labels = |n: u64| crate::tracker_jira::jira_labels(&sb, &n.to_string());
    assert_eq!(labels(both), ["ready-for-agent"], "nothing written on it");
    for n in [api, web] {
        assert!(
            labels(n).contains(&"agent-in-progress".to_string()),
            "{n}: {:?}",
            labels(n)
        );
    }
    each_pr_on_its_repository(
        &sb,
        &afk,
        [
            ("acme/api", "afk/issue-plat-1"),
            ("acme/web", "afk/issue-plat-2"),
        ],
    );
}

#[test]
fn each_linear_map_entry_sends_its_issues_to_its_own_repository_and_two_entries_are_ambiguous() {
    let (sb, mut afk) = two_repos();
    let p = crate::tracker_linear::people(&sb);
    sb.admin("POST", "/linear/project", Some(json!({"name": "Website"})));
    sb.admin("POST", "/linear/label", Some(json!({"name": "backend"})));
    let block = crate::tracker_linear::tracker_block(&sb).replace(
        "[[tracker.map]]\nteam = \"ENG\"\nrepo = \"acme/api\"\n",
        "[[tracker.map]]\nteam = \"ENG\"\nlabel = \"backend\"\nrepo = \"acme/api\"\n\n\
         [[tracker.map]]\nteam = \"ENG\"\nproject = \"Website\"\nrepo = \"acme/web\"\n",
    );
    assert!(block.contains("acme/web"), "{block}");
    let text = std::fs::read_to_string(&afk.config).unwrap();
    std::fs::write(&afk.config, text + &block).unwrap();
    let key = sb.admin("GET", "/linear/credentials", None)["key"]
        .as_str()
        .unwrap()
        .to_string();
    afk.env.push(("AFK_TRACKER_TOKEN".into(), key));
    let made = |labels: &[&str], project: Option<&str>| {
        let made = sb.admin(
            "POST",
            "/linear/issue",
            Some(json!({"team": "ENG", "title": "Fix it", "creator": p.alice,
                        "labels": labels, "project": project})),
        );
        let key = made["identifier"].as_str().unwrap().to_string();
        crate::tracker_linear::arm(&sb, &key, Some(&p.alice));
        key
    };
    made(&["backend"], None);
    made(&[], Some("Website"));
    let both = made(&["backend"], Some("Website"));
    let (code, r, err) = afk.poll();
    assert_eq!(code, 0, "{err} {r}");
    // afk numbers Linear's issues in the order it first sees them
    let d = dispatched(&r);
    assert_eq!(
        (d.iter().map(|(repo, _)| repo.as_str()).collect::<Vec<_>>()),
        ["acme/api", "acme/web"],
        "{r}"
    );
    let skipped = r["skipped"].as_array().unwrap();
    let s = (skipped.iter())
        .find(|s| s["reason"] == "ambiguous-mapping")
        .unwrap_or_else(|| panic!("no ambiguous-mapping: {r}"));
    let detail = s["detail"].as_str().unwrap();
    assert!(
        detail.starts_with(&both) && detail.contains("entries 1, 2"),
        "{s}"
    );
    assert_eq!(
        crate::tracker_linear::labels(&sb, &both),
        ["backend", "ready-for-agent"],
        "nothing written on it"
    );
    each_pr_on_its_repository(
        &sb,
        &afk,
        [
            ("acme/api", "afk/issue-eng-1"),
            ("acme/web", "afk/issue-eng-2"),
        ],
    );
}
