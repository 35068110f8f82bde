//! How a PR's flow ends on the forge: the plan is `core::upgrade::end`'s
//! (outcome, event, lesson, comment); here it is applied — decided once in
//! SQLite with its event, a lesson, and one comment (afk's marked comment,
//! never repeated); STUCK stops the fixer first.

use super::gather;
use super::report::PrItem;
use super::up::Up;
use crate::core::upgrade;
use crate::core::upgrade::end::{self as upgrade_end, Subject, UpgradeEnd};
use crate::core::upgrade::verdict::{self, Outcome};
use crate::forge::{Comment, PullRequest, Target};
use crate::runner::RunnerHandle;
use crate::store::upgrades::Upgrade;
use crate::types::{PrNumber, RepoName};
use anyhow::Result;

/// End a flow FAILED or STUCK (`end` from `core::upgrade::end`): the fixer
/// stopped when the plan says so, the end decided once in SQLite with its
/// event, a lesson, and one comment; the PR stays open.
pub(super) fn finish(
    up: &mut Up,
    r: &gather::Recipe,
    pr: &PullRequest,
    row: &Upgrade,
    end: &UpgradeEnd,
    comments: &[Comment],
) -> Result<()> {
    if end.stop_fixer
        && let Some(h) = RunnerHandle::from_stored(
            row.fixer_handle.as_deref(),
            row.fixer_pid,
            row.fixer_start_time,
        )
    {
        up.runner()?.stop(&h);
    }
    let subject = Subject {
        recipe: &r.name,
        image: &row.image,
        from_tag: &row.from_tag,
        to_tag: &row.to_tag,
        pr: pr.number,
        pr_sigil: up.t.settled.profile.pr_sigil,
    };
    let url = crate::core::escalation::link(&pr.html_url);
    let text = upgrade_end::event_text(&subject, end, url.as_deref());
    let event = end.event.map(|k| (k, text.as_str(), url.as_deref()));
    if up
        .t
        .store()
        .finish_upgrade(row.id, end.outcome, &end.why, event)?
        && let Some(lesson) = end.lesson
    {
        up.t.journal.auto(crate::store::lessons::NewLesson {
            lesson_type: lesson.into(),
            repo: Some(r.mirror.to_string()),
            work_item: Some(format!("{}#{}", r.mirror, pr.number)),
            stage: Some("upgrade".into()),
            agent: Some("afk".into()),
            root_cause: Some(upgrade_end::root_cause(&subject, end)),
            suggestion: Some(end.suggestion.into()),
            detail: end.detail.clone(),
            ..Default::default()
        });
    }
    post_final(
        up,
        &r.mirror,
        pr.number,
        row,
        end.outcome,
        &end.comment,
        comments,
    )
}

/// Post the comment that ends a flow, unless afk already did.
pub(super) fn post_final(
    up: &mut Up,
    mirror: &RepoName,
    number: PrNumber,
    row: &Upgrade,
    outcome: Outcome,
    body: &str,
    comments: &[Comment],
) -> Result<()> {
    let id = match marked(comments, &up.me, &outcome.to_string()) {
        Some(id) => id,
        None => {
            up.forge
                .create_comment(mirror, Target::Pr(number), body)?
                .id
        }
    };
    if row.id != 0 {
        up.t.store().upgrade_final_comment(row.id, id)?;
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
    let end = upgrade_end::stale_test(&st, up.t.config().upgrade.tests_repo.is_some());
    finish(up, r, pr, row, &end, comments)?;
    item.why = Some(end.why.clone());
    up.report.act(
        &r.name,
        "comment",
        Some(pr.number),
        Some(format!("{} — {}", end.outcome, end.why)),
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
    if row.final_comment_id.is_some() || row.outcome.is_none() {
        return Ok(());
    }
    let body = upgrade_end::owed_comment(
        o,
        row.final_reason.as_deref(),
        reading.build_url.as_deref(),
        super::fixer::stale_report(row).as_ref(),
        up.t.config().upgrade.tests_repo.is_some(),
    );
    post_final(up, &r.mirror, pr.number, row, o, &body, comments)
}

/// The id of afk's comment marked as ending the flow with `kind`, if any.
pub(super) fn marked(comments: &[Comment], me: &str, kind: &str) -> Option<i64> {
    comments
        .iter()
        .find(|c| c.author() == me && upgrade::parse_final(&c.body).as_deref() == Some(kind))
        .map(|c| c.id)
}
