//! How a PR's flow ends on the forge: FAILED and STUCK decided once in
//! SQLite with their event, a lesson, and one comment (afk's marked comment,
//! never repeated); STUCK stops the fixer first. A stale test ends it
//! SUCCESS-PENDING-TESTS with one explanatory comment.

use super::report::PrItem;
use super::{Up, gather};
use crate::core::upgrade;
use crate::core::verdict::{self, Outcome};
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

/// The fixer says a test is stale: SUCCESS-PENDING-TESTS, one comment.
pub(super) fn stale_test(
    up: &mut Up,
    r: &gather::Recipe,
    pr: &PullRequest,
    row: &Upgrade,
    comments: &[Comment],
    item: &mut PrItem,
) -> Result<()> {
    let st = super::fixer::stale_report(row).unwrap_or(upgrade::StaleTest {
        test: String::new(),
        why: String::new(),
    });
    let why = format!(
        "test {} looks stale: {}",
        crate::core::sanitize::one_line(&st.test, 200),
        crate::core::sanitize::one_line(&st.why, 300)
    );
    if !up.dry() {
        up.store
            .finish_upgrade(row.id, "SUCCESS-PENDING-TESTS", &why, None)?;
        let body = upgrade::stale_test_comment(&st, !up.ctx.config.upgrade.tests_repo.is_empty());
        post_final(
            up,
            &r.mirror,
            pr.number,
            row,
            "SUCCESS-PENDING-TESTS",
            &body,
            comments,
        )?;
    }
    item.why = Some(why.clone());
    up.report.act(
        &r.name,
        "comment",
        Some(pr.number),
        Some(format!("SUCCESS-PENDING-TESTS — {why}")),
    );
    Ok(())
}

/// A flow that ended before: its final comment, if posting it failed on an
/// earlier tick, is posted now.
pub(super) fn done(
    up: &mut Up,
    r: &gather::Recipe,
    pr: &PullRequest,
    row: &Upgrade,
    o: Outcome,
    reading: &verdict::Reading,
    comments: &[Comment],
) -> Result<()> {
    if up.dry() || row.final_comment_id.is_some() || row.outcome.is_none() {
        return Ok(());
    }
    let kind = o.to_string();
    let body = match o {
        Outcome::SuccessPendingTests => super::fixer::stale_report(row)
            .map(|st| {
                upgrade::stale_test_comment(&st, !up.ctx.config.upgrade.tests_repo.is_empty())
            })
            .unwrap_or_else(|| {
                format!(
                    "afk: a test looks stale for this upgrade.\n\n{}",
                    upgrade::final_marker(&kind)
                )
            }),
        Outcome::Stuck => upgrade::stuck_comment(
            row.final_reason
                .as_deref()
                .unwrap_or("nothing came for too long"),
        ),
        _ => upgrade::failed_comment(
            row.final_reason
                .as_deref()
                .unwrap_or("the upgrade did not pass"),
            reading.build_url.as_deref(),
        ),
    };
    post_final(up, &r.mirror, pr.number, row, &kind, &body, comments)
}
