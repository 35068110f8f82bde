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

/// What ends: the result, the lesson it records and its advice.
struct End<'a> {
    result: &'static str,
    lesson: &'static str,
    suggestion: &'static str,
    why: &'a str,
    build_url: Option<&'a str>,
    body: String,
}

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
    let end = End {
        result: "FAILED",
        lesson: "upgrade_failed",
        suggestion: "look at the last build and the fixer's log; fix the recipe by hand or pin the old version",
        why,
        build_url,
        body: upgrade::failed_comment(why, build_url),
    };
    finish(up, r, pr, row, &end, comments)
}

/// End a flow STUCK: the fixer (if any) stopped, then as FAILED but with the
/// `upgrade.stuck` event and lesson; the PR stays open.
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
    let end = End {
        result: "STUCK",
        lesson: "upgrade_stuck",
        suggestion: "check that the CI answers afk's test comment (its bridge may reject afk's account) and that the fixer can run; test the PR by hand",
        why,
        build_url: None,
        body: upgrade::stuck_comment(why),
    };
    finish(up, r, pr, row, &end, comments)
}

/// The end decided once (with its event and lesson), then its one comment.
fn finish(
    up: &mut Up,
    r: &gather::Recipe,
    pr: &PullRequest,
    row: &Upgrade,
    end: &End,
    comments: &[Comment],
) -> Result<()> {
    let why = end.why;
    let url = crate::core::escalation::link(&pr.html_url);
    let text = format!(
        "upgrade of {} ({} {} → {}) {} — {why}; PR #{} left open{}",
        r.name,
        row.image,
        row.from_tag,
        row.to_tag,
        end.result,
        pr.number,
        url.as_deref().map(|u| format!(": {u}")).unwrap_or_default()
    );
    if up
        .store
        .finish_upgrade(row.id, end.result, why, Some((&text, url.as_deref())))?
    {
        up.journal.auto(crate::store::lessons::NewLesson {
            lesson_type: end.lesson.into(),
            repo: Some(r.mirror.clone()),
            work_item: Some(format!("{}#{}", r.mirror, pr.number)),
            stage: Some("upgrade".into()),
            agent: Some("afk".into()),
            root_cause: Some(format!(
                "{} {} → {}: {why}",
                row.image, row.from_tag, row.to_tag
            )),
            suggestion: Some(end.suggestion.into()),
            detail: end.build_url.map(str::to_string),
            ..Default::default()
        });
    }
    post_final(
        up, &r.mirror, pr.number, row, end.result, &end.body, comments,
    )
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
