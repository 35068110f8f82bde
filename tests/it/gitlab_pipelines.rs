//! GitLab's merged results pipelines (docs/fidelity/gitlab.md): CI that runs
//! on a temporary merge commit at `refs/merge-requests/N/merge`, whose sha is
//! never the merge request's head. The sandbox makes one as GitLab's
//! `MergeToRefService` does (`/_admin/merge_ref`), and keeps the request's
//! `head_pipeline` as GitLab keeps it: the newest pipeline made for it, so
//! the old head's right after a push.

use crate::support::*;
use serde_json::json;

/// The merge ref's commit for merge request `mr` at its head now, with one
/// status `state` on it: a merged results pipeline.
fn merged_results(sb: &Sandbox, mr: u64, state: &str) -> String {
    let r = sb.admin(
        "POST",
        "/merge_ref",
        Some(json!({"repo": "acme/api", "pr": mr})),
    );
    assert_eq!(r["ref"], format!("refs/merge-requests/{mr}/merge"), "{r}");
    let sha = r["sha"].as_str().unwrap().to_string();
    sb.admin(
        "POST",
        "/status",
        Some(json!({"repo": "acme/api", "sha": sha, "context": "test", "state": state})),
    );
    sha
}

/// A merged results pipeline that merged the head is the head's CI, red or
/// green; after a push the request's `head_pipeline` is still the old head's
/// merged results pipeline (green), and that is no verdict on the new head:
/// watch waits for CI until a pipeline merges the new head.
#[test]
fn a_merged_results_pipeline_is_the_heads_ci_and_a_stale_one_after_a_push_is_not() {
    let sb = Sandbox::start_in(
        Dialect::Gitlab,
        json!({"repos": [repo("acme/api", json!([ready(1, "alice")]))]}),
    );
    let afk = Afk::agent(&sb, "pr", "", "");
    let (code, r, err) = afk.poll();
    assert_eq!(code, 0, "{err} {r}");
    assert_eq!(afk.wait_agent(1), 0);
    let (code, r, err) = afk.watch();
    assert_eq!(code, 0, "{err} {r}");
    assert_eq!(
        action_of(&r, 1),
        ("wait".into(), Some("ci-pending".into())),
        "{r}"
    );
    let mr = sb.open_prs("acme/api")[0].number;

    merged_results(&sb, mr, "success");
    let (code, r, err) = afk.watch();
    assert_eq!(code, 0, "{err} {r}");
    assert_eq!(
        action_of(&r, 1),
        ("wait".into(), Some("awaiting-merge".into())),
        "the merged results pipeline is the head's CI: {r}"
    );

    // the head moves (afk's own account pushes to its branch); GitLab has
    // made no pipeline for it yet
    sb.commit_as(
        "acme/api",
        "afk/issue-1",
        "afk-bot",
        &[("more.txt", "more\n")],
        "more",
    );
    let one = sb.api(&sb.dialect.body_path("acme/api", On::Pr(mr)));
    assert_eq!(
        one.1["head_pipeline"]["ref"],
        format!("refs/merge-requests/{mr}/merge"),
        "the stale head pipeline: {}",
        one.1
    );
    let (code, r, err) = afk.watch();
    assert_eq!(code, 0, "{err} {r}");
    assert_eq!(
        action_of(&r, 1),
        ("wait".into(), Some("ci-pending".into())),
        "the old head's pipeline is no verdict on the new head: {r}"
    );

    merged_results(&sb, mr, "failure");
    let (code, r, err) = afk.watch();
    assert_eq!(code, 0, "{err} {r}");
    assert_eq!(
        action_of(&r, 1),
        ("corrective_turn".into(), Some("ci-red".into())),
        "red merged results of the new head: {r}"
    );
}
