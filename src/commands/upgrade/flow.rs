//! One open upgrade PR's test flow, one step per tick (SPEC 8 steps 4-7): read
//! its comments and the `ci_context` status of its head, let
//! `core::verdict::next_step` decide, and do that step: the test comment, the
//! fixer, or the end of the flow (lesson, `upgrade.failed`, one comment).

use super::report::PrItem;
use super::{Up, gather};
use crate::core::upgrade::{self, Bump};
use crate::core::verdict::{
    self, CommentView, Facts as StepFacts, Fixer, Outcome, StatusView, Step,
};
use crate::forge::{CombinedStatus, Comment, Forge, PullRequest, fan_out};
use crate::store::upgrades::{NewUpgrade, Upgrade};
use crate::types::IssueNumber;
use anyhow::Result;
use std::collections::HashMap;

/// A PR's comments and its head's combined status.
pub(super) struct PrFacts {
    pub comments: Vec<Comment>,
    pub status: CombinedStatus,
}

/// By (mirror, PR number).
pub(super) type Facts = HashMap<(String, IssueNumber), Result<PrFacts, String>>;

/// The comments and head status of every afk PR, at most `concurrency` at once.
pub(super) fn fetch(
    forge: &dyn Forge,
    recipes: &[gather::Recipe],
    prs: &[Vec<(PullRequest, Bump)>],
    concurrency: usize,
) -> Facts {
    let jobs: Vec<(&str, &PullRequest)> = recipes
        .iter()
        .zip(prs)
        .flat_map(|(r, ps)| ps.iter().map(move |(p, _)| (r.mirror.as_str(), p)))
        .collect();
    let got = fan_out(&jobs, concurrency, |(mirror, p)| {
        let comments = forge.comments(mirror, p.number)?;
        let status = forge.combined_status(mirror, &p.head.sha)?;
        Ok::<_, anyhow::Error>(PrFacts { comments, status })
    });
    jobs.iter()
        .zip(got)
        .map(|((m, p), r)| ((m.to_string(), p.number), r.map_err(|e| e.to_string())))
        .collect()
}

/// The comment views `core::verdict` reads.
pub(super) fn views(comments: &[Comment]) -> Vec<CommentView<'_>> {
    comments
        .iter()
        .map(|c| CommentView {
            author: c.author(),
            body: &c.body,
            created_at: c.created_at.as_deref().and_then(crate::clock::parse),
        })
        .collect()
}

/// The status views `core::verdict` reads.
pub(super) fn status_views(s: &CombinedStatus) -> Vec<StatusView<'_>> {
    s.statuses
        .as_deref()
        .unwrap_or_default()
        .iter()
        .map(|s| StatusView {
            context: &s.context,
            state: &s.status,
            updated_at: s.updated_at.as_deref().and_then(crate::clock::parse),
            target_url: s.target_url.as_deref(),
            description: s.description.as_deref(),
        })
        .collect()
}

/// The id of afk's comment marked as ending the flow with `kind`, if any.
pub(super) fn marked(comments: &[Comment], me: &str, kind: &str) -> Option<i64> {
    comments
        .iter()
        .find(|c| c.author() == me && upgrade::parse_final(&c.body).as_deref() == Some(kind))
        .map(|c| c.id)
}

/// Move one PR's flow on by one step and add it to the report. `facts` is
/// `None` for a PR opened in this tick (no comments, no statuses yet).
pub(super) fn advance(
    up: &mut Up,
    r: &gather::Recipe,
    pr: &PullRequest,
    bump: &Bump,
    facts: Option<&Result<PrFacts, String>>,
) {
    let (comments, status) = match facts {
        None => (vec![], CombinedStatus::default()),
        Some(Ok(f)) => (f.comments.clone(), f.status.clone()),
        Some(Err(e)) => {
            up.report.error(&r.name, Some(pr.number), e);
            return;
        }
    };
    if let Err(e) = step(up, r, pr, bump, &comments, &status) {
        up.report.error(&r.name, Some(pr.number), format!("{e:#}"));
    }
}

fn step(
    up: &mut Up,
    r: &gather::Recipe,
    pr: &PullRequest,
    bump: &Bump,
    comments: &[Comment],
    status: &CombinedStatus,
) -> Result<()> {
    let cfg = &up.ctx.config.upgrade;
    let (testme, ctx_name, max) = (
        cfg.testme_comment.clone(),
        cfg.ci_context.clone(),
        cfg.max_test_runs,
    );
    let new = NewUpgrade {
        mirror: &r.mirror,
        pr: pr.number,
        recipe: &r.name,
        branch: &pr.head.name,
        url: &pr.html_url,
        image: &bump.image,
        from_tag: bump.from(),
        to_tag: &bump.to,
    };
    let row = if up.dry() {
        up.store.upgrade(&r.mirror, pr.number)?.unwrap_or_default()
    } else {
        up.store.ensure_upgrade(&new)?
    };
    let cv = views(comments);
    let runs = verdict::test_runs(&cv, &up.me, &testme);
    let reading = verdict::read(
        &status_views(status),
        &ctx_name,
        verdict::cutoff(&cv, &up.me, &testme),
    );
    let final_outcome = row
        .outcome
        .as_deref()
        .and_then(Outcome::parse_final)
        .or_else(|| {
            ["FAILED", "SUCCESS-PENDING-TESTS"]
                .into_iter()
                .find(|k| marked(comments, &up.me, k).is_some())
                .and_then(Outcome::parse_final)
        });
    let fixer = if row.fixer_run == Some(runs) && runs > 0 {
        super::fixer::observe(up, &row)?
    } else {
        Fixer::None
    };
    let head_moved = row.fixer_base.as_deref().is_some_and(|b| b != pr.head.sha);
    let next = verdict::next_step(&StepFacts {
        final_outcome,
        test_runs: runs,
        max_test_runs: max,
        verdict: reading.verdict,
        fixer,
        head_moved,
    });
    let mut item = PrItem {
        recipe: r.name.clone(),
        url: pr.html_url.clone(),
        number: pr.number,
        image: bump.image.clone(),
        from: bump.from().to_string(),
        to: bump.to.clone(),
        result: next.outcome(),
        verdict: reading.verdict,
        build_url: reading.build_url.clone(),
        test_runs: runs,
        max_test_runs: max,
        why: row.final_reason.clone(),
    };
    let name = r.name.as_str();
    match &next {
        Step::Testme => {
            if !up.dry() {
                up.forge.create_comment(&r.mirror, pr.number, &testme)?;
                up.store.upgrade_tested(row.id, &pr.head.sha)?;
            }
            item.test_runs += 1;
            item.verdict = verdict::Verdict::Pending;
            item.build_url = None;
            up.report.act(
                name,
                "testme",
                Some(pr.number),
                Some(format!("test run {} of {max}", runs + 1)),
            );
        }
        Step::Wait(why) => up
            .report
            .act(name, "wait", Some(pr.number), Some(why.to_string())),
        Step::StartFixer => {
            if !up.dry() {
                super::fixer::start(up, r, pr, bump, &row, runs, &reading)?;
            }
            up.report.act(
                name,
                "start_fixer",
                Some(pr.number),
                Some(format!("test run {runs} of {max} was RED")),
            );
        }
        Step::Green => {}
        Step::Fail(f) => {
            let why = f.to_string();
            if !up.dry() {
                fail(
                    up,
                    r,
                    pr,
                    &row,
                    &why,
                    reading.build_url.as_deref(),
                    comments,
                )?;
            }
            item.why = Some(why.clone());
            up.report.act(
                name,
                "comment",
                Some(pr.number),
                Some(format!("FAILED — {why}")),
            );
        }
        Step::StaleTest => {
            let st = super::fixer::stale_report(&row).unwrap_or(upgrade::StaleTest {
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
                let body = upgrade::stale_test_comment(&st);
                post_final(
                    up,
                    &r.mirror,
                    pr.number,
                    &row,
                    "SUCCESS-PENDING-TESTS",
                    &body,
                    comments,
                )?;
            }
            item.why = Some(why.clone());
            up.report.act(
                name,
                "comment",
                Some(pr.number),
                Some(format!("SUCCESS-PENDING-TESTS — {why}")),
            );
        }
        Step::Done(o) => {
            // a final comment whose post failed on an earlier tick is posted now
            if !up.dry() && row.final_comment_id.is_none() && row.outcome.is_some() {
                let kind = o.to_string();
                let body = match o {
                    Outcome::SuccessPendingTests => super::fixer::stale_report(&row)
                        .map(|st| upgrade::stale_test_comment(&st))
                        .unwrap_or_else(|| {
                            format!(
                                "afk: a test looks stale for this upgrade.\n\n{}",
                                upgrade::final_marker(&kind)
                            )
                        }),
                    _ => upgrade::failed_comment(
                        row.final_reason
                            .as_deref()
                            .unwrap_or("the upgrade did not pass"),
                        reading.build_url.as_deref(),
                    ),
                };
                post_final(up, &r.mirror, pr.number, &row, &kind, &body, comments)?;
            }
        }
    }
    up.report.prs.push(item);
    Ok(())
}

/// End a flow FAILED: decided once in SQLite with its `upgrade.failed` event,
/// a lesson, and one comment; the PR stays open.
fn fail(
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
fn post_final(
    up: &mut Up,
    mirror: &str,
    number: IssueNumber,
    row: &Upgrade,
    kind: &str,
    body: &str,
    comments: &[Comment],
) -> Result<()> {
    let id = match marked(comments, &up.me, kind) {
        Some(id) => id,
        None => up.forge.create_comment(mirror, number, body)?.id,
    };
    if row.id != 0 {
        up.store.upgrade_final_comment(row.id, id)?;
    }
    Ok(())
}
