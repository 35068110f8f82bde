//! How a PR's flow ends on the forge: FAILED and STUCK decided once in
//! SQLite with their event, a lesson, and one comment (afk's marked comment,
//! never repeated); STUCK stops the fixer first.

use super::{Up, gather};
use crate::core::upgrade;
use crate::forge::{Comment, PullRequest};
use crate::runner::RunnerHandle;
use crate::store::upgrades::Upgrade;
use crate::types::IssueNumber;
use anyhow::Result;

/// End a flow FAILED: decided once in SQLite with its `upgrade.failed` event,
/// a lesson, and one comment; the PR stays open.
pub(super) fn fail(
    up: &mut Up,
    r: &gather::Recipe,
    pr: &PullRequest,
    row: &Upgrade,
    why: &str,
    build_url: Option<&str>,
    comments: &[Comment],
) -> Result<()> {
    let url = crate::core::escalation::link(&pr.html_url);
    let text = format!(
        "upgrade of {} ({} {} → {}) FAILED — {why}; PR #{} left open{}",
        r.name,
        row.image,
        row.from_tag,
        row.to_tag,
        pr.number,
        url.as_deref().map(|u| format!(": {u}")).unwrap_or_default()
    );
    if up
        .store
        .finish_upgrade(row.id, "FAILED", why, Some((&text, url.as_deref())))?
    {
        up.journal.auto(crate::store::lessons::NewLesson {
            lesson_type: "upgrade_failed".into(),
            repo: Some(r.mirror.clone()),
            work_item: Some(format!("{}#{}", r.mirror, pr.number)),
            stage: Some("upgrade".into()),
            agent: Some("afk".into()),
            root_cause: Some(format!("{} {} → {}: {why}", row.image, row.from_tag, row.to_tag)),
            suggestion: Some(
                "look at the last build and the fixer's log; fix the recipe by hand or pin the old version"
                    .into(),
            ),
            detail: build_url.map(str::to_string),
            ..Default::default()
        });
    }
    let body = upgrade::failed_comment(why, build_url);
    post_final(up, &r.mirror, pr.number, row, "FAILED", &body, comments)
}

/// Post the comment that ends a flow, unless afk already did.
pub(super) fn post_final(
    up: &mut Up,
    mirror: &str,
    number: IssueNumber,
    row: &Upgrade,
    kind: &str,
    body: &str,
    comments: &[Comment],
) -> Result<()> {
    let id = match super::flow::marked(comments, &up.me, kind) {
        Some(id) => id,
        None => up.forge.create_comment(mirror, number, body)?.id,
    };
    if row.id != 0 {
        up.store.upgrade_final_comment(row.id, id)?;
    }
    Ok(())
}

/// End a flow STUCK: the fixer (if any) stopped, then as FAILED: decided once
/// with its `upgrade.stuck` event, a lesson, one comment; the PR stays open.
pub(super) fn stuck(
    up: &mut Up,
    r: &gather::Recipe,
    pr: &PullRequest,
    row: &Upgrade,
    why: &str,
    comments: &[Comment],
) -> Result<()> {
    if let Some(h) = RunnerHandle::from_stored(
        row.fixer_handle.as_deref(),
        row.fixer_pid,
        row.fixer_start_time,
    ) {
        up.runner()?.stop(&h);
    }
    let url = crate::core::escalation::link(&pr.html_url);
    let text = format!(
        "upgrade of {} ({} {} → {}) STUCK — {why}; PR #{} left open{}",
        r.name,
        row.image,
        row.from_tag,
        row.to_tag,
        pr.number,
        url.as_deref().map(|u| format!(": {u}")).unwrap_or_default()
    );
    if up
        .store
        .finish_upgrade(row.id, "STUCK", why, Some((&text, url.as_deref())))?
    {
        up.journal.auto(crate::store::lessons::NewLesson {
            lesson_type: "upgrade_stuck".into(),
            repo: Some(r.mirror.clone()),
            work_item: Some(format!("{}#{}", r.mirror, pr.number)),
            stage: Some("upgrade".into()),
            agent: Some("afk".into()),
            root_cause: Some(format!("{} {} → {}: {why}", row.image, row.from_tag, row.to_tag)),
            suggestion: Some(
                "check that the CI answers afk's test comment (its bridge may reject afk's account) and that the fixer can run; test the PR by hand"
                    .into(),
            ),
            ..Default::default()
        });
    }
    let body = upgrade::stuck_comment(why);
    post_final(up, &r.mirror, pr.number, row, "STUCK", &body, comments)
}
