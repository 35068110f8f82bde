//! A GitLab project in a subgroup (`acme/platform/api`: a
//! project's full path, nested groups) through the whole lifecycle: poll
//! arms and dispatches it, the merge request is opened (by the agent in its
//! own workspace, by afk in afk's), watch follows CI to the merge and closes
//! the run, and the history reads the run back from the state file by its
//! full path.

use crate::support::*;
use serde_json::json;

const NESTED: &str = "acme/platform/api";

/// The sandbox's GitLab with one armed issue in a nested project, and afk
/// allowed there only; `afk_workspace`: afk pushes and opens the merge
/// request (the agent only commits), else the agent does both.
fn setup(afk_workspace: bool) -> (Sandbox, Afk) {
    let sb = Sandbox::start_in(
        Dialect::Gitlab,
        json!({"repos": [repo(NESTED, json!([ready(1, "alice")]))]}),
    );
    let afk = Afk::agent(&sb, "pr", "", "");
    let mut text = std::fs::read_to_string(&afk.config).unwrap();
    assert!(text.contains("allowlist = [\"acme/api\"]"), "{text}");
    text = text.replace(
        "allowlist = [\"acme/api\"]",
        &format!("allowlist = [\"{NESTED}\"]"),
    );
    if afk_workspace {
        let git = format!("\"AFK_DEMO_GIT={}\", ", sb.url);
        assert!(text.contains(&git), "{text}");
        text = text.replace(&git, "").replace(
            "workspace = \"agent\"",
            "workspace = \"afk\"\nconfine = \"none\"",
        );
    }
    std::fs::write(&afk.config, text).unwrap();
    (sb, afk)
}

fn lifecycle(afk_workspace: bool) {
    let (sb, afk) = setup(afk_workspace);
    let (code, r, err) = afk.poll();
    assert_eq!(code, 0, "{err} {r}");
    assert_eq!(r["dispatched"][0]["repo"], NESTED, "{r}");
    assert_eq!(r["dispatched"][0]["run_id"], 1, "{r}");
    assert_eq!(afk.wait_agent(1), 0);
    assert!(
        sb.labels_of(NESTED, 1)
            .contains(&"agent-in-progress".to_string())
    );

    // the first watch forwards afk's work (afk's workspace) or finds the
    // agent's merge request, and waits for CI
    let (code, r, err) = afk.watch();
    assert_eq!(code, 0, "{err} {r}");
    assert_eq!(
        action_of(&r, 1),
        ("wait".into(), Some("ci-pending".into())),
        "{r}"
    );
    let mrs = sb.open_prs(NESTED);
    assert_eq!(mrs.len(), 1, "one merge request");
    assert_eq!(mrs[0].head, "afk/issue-1");
    let mr = mrs[0].number;

    sb.status(NESTED, "afk/issue-1", "ci/build", "success");
    let (code, r, err) = afk.watch();
    assert_eq!(code, 0, "{err} {r}");
    assert_eq!(
        action_of(&r, 1),
        ("wait".into(), Some("awaiting-merge".into())),
        "{r}"
    );

    sb.merge(NESTED, mr);
    let (code, r, err) = afk.watch();
    assert_eq!(code, 0, "{err} {r}");
    assert_eq!(action_of(&r, 1).0, "succeed", "{r}");
    assert_eq!(sb.issue(NESTED, 1)["state"], "closed");

    // the state file gives the run back by its full path
    let (code, runs, err) = afk.json(&["runs"]);
    assert_eq!(code, 0, "{err}");
    let row = &runs["runs"][0];
    assert_eq!(row["repo"], NESTED, "{runs}");
    assert_eq!(row["state"], "succeeded", "{runs}");
    let (code, show, err) = afk.json(&["runs", "show", "1"]);
    assert_eq!(code, 0, "{err}");
    let timeline = show["timeline"].to_string();
    assert!(timeline.contains(&format!("PR !{mr}")), "{timeline}");
    let out = afk.cmd().args(["runs"]).output().unwrap();
    assert_success(&out);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(&format!("{NESTED}#1")) && text.contains(&format!("!{mr}")),
        "{text}"
    );
}

#[test]
fn a_nested_projects_issue_goes_from_armed_to_merged_in_the_agents_workspace() {
    lifecycle(false);
}

#[test]
fn a_nested_projects_issue_goes_from_armed_to_merged_in_afks_workspace() {
    lifecycle(true);
}
