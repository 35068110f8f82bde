//! The open upgrade PRs' test flows, one step per tick
//! (docs/how-it-works.md#afk-upgrade): read each PR's comments and the
//! `ci_context` status of its head, let `core::upgrade::verdict::next_step` decide and
//! `core::upgrade::queue` admit it (one test run or fixer in flight across recipes with
//! `serial_tests`; those in flight first, then the oldest), and do that step:
//! the test comment, the fixer, a place in the queue, or the end of the flow
//! (`ending.rs`).

use super::ending::{done, finish, stale_test};
use super::fault::Fault;
use super::gather;
use super::report::PrItem;
use super::up::Up;
use crate::core::upgrade::Bump;
use crate::core::upgrade::end as upgrade_end;
use crate::core::upgrade::queue::{self, Slot};
use crate::core::upgrade::verdict::{
    self, CommentView, Facts as StepFacts, Fixer, Outcome, StatusView, Step, Tests,
};
use crate::forge::{CombinedStatus, Comment, Forge, PullRequest, Target, fan_out};
use crate::store::upgrades::{NewUpgrade, Upgrade};
use crate::types::{PrNumber, RepoName};
use anyhow::Result;
use std::collections::HashMap;

/// A PR's comments and its head's combined status.
pub(super) struct PrFacts {
    pub comments: Vec<Comment>,
    pub status: CombinedStatus,
}

/// By (mirror, PR number).
pub(super) type Facts = HashMap<(RepoName, PrNumber), Result<PrFacts, Fault>>;

/// The comments and head status of every afk PR, at most `concurrency` at once.
pub(super) fn fetch(
    forge: &dyn Forge,
    recipes: &[gather::Recipe],
    prs: &[Vec<(PullRequest, Bump)>],
    concurrency: usize,
) -> Facts {
    let jobs: Vec<(&RepoName, &PullRequest)> = recipes
        .iter()
        .zip(prs)
        .flat_map(|(r, ps)| ps.iter().map(move |(p, _)| (&r.mirror, p)))
        .collect();
    let got = fan_out(&jobs, concurrency, |(mirror, p)| {
        let comments = forge.comments(mirror, Target::Pr(p.number))?;
        let status = forge.combined_status(mirror, &p.head.sha)?;
        Ok::<_, anyhow::Error>(PrFacts { comments, status })
    });
    jobs.iter()
        .zip(got)
        .map(|((m, p), r)| (((*m).clone(), p.number), r.map_err(|e| Fault::outer(&e))))
        .collect()
}

/// The comment views `core::upgrade::verdict` reads.
pub fn views(comments: &[Comment]) -> Vec<CommentView<'_>> {
    comments
        .iter()
        .map(|c| CommentView {
            author: c.author(),
            body: &c.body,
            created_at: c.created_at.as_deref().and_then(crate::clock::parse),
        })
        .collect()
}

/// The status views `core::upgrade::verdict` reads.
pub fn status_views(s: &CombinedStatus) -> Vec<StatusView<'_>> {
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

/// A final outcome the flow reached before: recorded in the store, or said
/// by afk's marked comment (the state file may be lost).
pub(super) fn final_outcome(
    me: &str,
    row: Option<&Upgrade>,
    comments: &[Comment],
) -> Option<Outcome> {
    row.and_then(|w| w.outcome.as_deref())
        .and_then(Outcome::parse_final)
        .or_else(|| {
            [
                Outcome::Failed,
                Outcome::Stuck,
                Outcome::SuccessPendingTests,
            ]
            .into_iter()
            .find(|o| super::ending::marked(comments, me, &o.to_string()).is_some())
        })
}

/// One open PR whose flow this tick moves on.
pub(super) struct Flow {
    /// its recipe's index in the tick's recipes
    pub recipe: usize,
    pub pr: PullRequest,
    pub bump: Bump,
    /// opened in this tick (no comments, no statuses yet)
    pub new: bool,
}

/// What one flow's step reads.
struct Seen {
    comments: Vec<Comment>,
    status: CombinedStatus,
    row: Upgrade,
}

/// Move every open PR's flow on by one step, in queue order: those with a
/// test run in flight first, then the others oldest first (the order afk
/// first recorded them), so the slot goes to the oldest waiting PR.
pub(super) fn advance_all(
    up: &mut Up,
    recipes: &[gather::Recipe],
    flows: Vec<Flow>,
    facts: &Facts,
) {
    let testme = up.t.config().upgrade.testme_comment.clone();
    let mut ready = vec![];
    for f in flows {
        let r = &recipes[f.recipe];
        match seen(up, r, &f, facts) {
            Ok(seen) => {
                let runs = verdict::test_runs(&views(&seen.comments), &up.me, &testme);
                let age = if seen.row.id != 0 {
                    seen.row.id
                } else {
                    i64::MAX
                };
                ready.push((queue::order_key(runs, age), f, seen));
            }
            Err(e) => up.report.error(&r.name, Some(f.pr.number), e),
        }
    }
    ready.sort_by_key(|(k, _, _)| *k);
    let mut slot = Slot::new(up.t.config().upgrade.serial_tests);
    for (_, f, seen) in ready {
        let r = &recipes[f.recipe];
        if let Err(e) = step(up, r, &f.pr, &f.bump, &seen, &mut slot) {
            up.report.error(&r.name, Some(f.pr.number), e);
        }
    }
}

/// A flow's comments, head status and row (created when new).
fn seen(up: &mut Up, r: &gather::Recipe, f: &Flow, facts: &Facts) -> Result<Seen, Fault> {
    let (comments, status) = match facts.get(&(r.mirror.clone(), f.pr.number)) {
        _ if f.new => (vec![], CombinedStatus::default()),
        None => (vec![], CombinedStatus::default()),
        // re-made in this tick (`current.rs`): the status read was the old head's
        Some(Ok(x)) if up.remade.contains(&(r.mirror.clone(), f.pr.number)) => {
            (x.comments.clone(), CombinedStatus::default())
        }
        Some(Ok(x)) => (x.comments.clone(), x.status.clone()),
        Some(Err(e)) => return Err(e.clone()),
    };
    let stored = f.bump.stored();
    let new = NewUpgrade {
        mirror: &r.mirror,
        pr: f.pr.number,
        recipe: &r.name,
        branch: &f.pr.head.name,
        url: &f.pr.html_url,
        image: &stored.0,
        from_tag: &stored.1,
        to_tag: &stored.2,
    };
    let row = up.t.store().ensure_upgrade(&new)?;
    Ok(Seen {
        comments,
        status,
        row,
    })
}

/// The facts `core::upgrade::verdict::next_step` decides on.
fn step_facts(
    up: &mut Up,
    pr: &PullRequest,
    seen: &Seen,
    reading: &verdict::Reading,
) -> Result<StepFacts> {
    let cfg = up.t.config();
    let (testme, max) = (
        cfg.upgrade.testme_comment.clone(),
        cfg.upgrade.max_test_runs,
    );
    let (row, comments) = (&seen.row, &seen.comments);
    let cv = views(comments);
    let runs = verdict::test_runs(&cv, &up.me, &testme);
    let final_outcome = final_outcome(&up.me, Some(row), comments);
    let (mut fixer, fixer_quiet) = if row.fixer_run == Some(runs) && runs > 0 {
        super::fixer::observe(up, row)?
    } else {
        (Fixer::None, None)
    };
    // `--with-tests`: while a tests branch has no PR yet, the fixer is the tests fixer
    let tests = match (&row.tests_branch, row.tests_pr) {
        (None, _) => Tests::None,
        (Some(_), Some(_)) => Tests::Opened,
        (Some(b), None) => match std::mem::replace(&mut fixer, Fixer::None) {
            Fixer::Running => Tests::Working,
            _ => Tests::Exited {
                pushed: super::with_tests::pushed(up, b)?,
            },
        },
    };
    let with_tests = up.opts.with_tests && cfg.upgrade.tests_repo.is_some();
    let since = |t| crate::core::progress::since(t, up.t.now);
    Ok(StepFacts {
        final_outcome,
        test_runs: runs,
        max_test_runs: max,
        verdict: reading.verdict,
        fixer,
        head_moved: row.fixer_base.as_deref().is_some_and(|b| b != pr.head.sha),
        // afk re-made the branch (`current.rs`) after its last test run
        head_untested: runs > 0
            && row.pushed_sha.as_deref() == Some(pr.head.sha.as_str())
            && row.tested_sha.is_some()
            && row.tested_sha != row.pushed_sha,
        since_test: (runs > 0)
            .then(|| verdict::cutoff(&cv, &up.me, &testme))
            .flatten()
            .map(since),
        verdict_timeout: cfg.upgrade.verdict_timeout,
        fixer_quiet,
        stall_after: up.t.settled.stall_after,
        with_tests,
        tests,
    })
}

/// One PR and what its step reads.
struct At<'a> {
    r: &'a gather::Recipe,
    pr: &'a PullRequest,
    bump: &'a Bump,
    row: &'a Upgrade,
    comments: &'a [Comment],
    reading: verdict::Reading,
}

fn step(
    up: &mut Up,
    r: &gather::Recipe,
    pr: &PullRequest,
    bump: &Bump,
    seen: &Seen,
    slot: &mut Slot,
) -> Result<()> {
    let cfg = &up.t.config().upgrade;
    let (testme, ctx_name) = (cfg.testme_comment.clone(), cfg.ci_context.clone());
    let cv = views(&seen.comments);
    let reading = verdict::read(
        &status_views(&seen.status),
        &ctx_name,
        verdict::cutoff(&cv, &up.me, &testme),
    );
    let facts = step_facts(up, pr, seen, &reading)?;
    let next = slot.admit(verdict::next_step(&facts), facts.test_runs);
    let row = &seen.row;
    if row.id != 0 {
        let place = match next {
            Step::Queued(n) => Some(n),
            _ => None,
        };
        up.t.store().upgrade_step(row.id, next.open_step(), place)?;
    }
    let mut item = PrItem {
        recipe: r.name.clone(),
        url: pr.html_url.clone(),
        number: pr.number,
        image: bump.image.clone(),
        from: bump.from().to_string(),
        to: bump.to.clone(),
        bumps: super::report::bumps_of(bump),
        result: next.outcome(),
        verdict: reading.verdict,
        build_url: reading.build_url.clone(),
        test_runs: facts.test_runs,
        max_test_runs: facts.max_test_runs,
        why: row.final_reason.clone(),
        tests_pr: row.tests_pr_url.clone(),
        fixer: None,
    };
    let at = At {
        r,
        pr,
        bump,
        row,
        comments: &seen.comments,
        reading,
    };
    act(up, &at, &next, &mut item)?;
    up.report.prs.push(item);
    Ok(())
}

/// Do one step on the forge (a dry run's records it) and say so in the report.
fn act(up: &mut Up, at: &At, next: &Step, item: &mut PrItem) -> Result<()> {
    let (r, pr, row) = (at.r, at.pr, at.row);
    let (runs, max) = (item.test_runs, item.max_test_runs);
    let name = r.name.as_str();
    let say =
        |up: &mut Up, action, why: String| up.report.act(name, action, Some(pr.number), Some(why));
    match next {
        Step::Testme => {
            let testme = super::with_tests::testme_body(up, row);
            up.forge
                .create_comment(&r.mirror, Target::Pr(pr.number), &testme)?;
            up.t.store().upgrade_tested(row.id, &pr.head.sha)?;
            item.test_runs += 1;
            item.verdict = verdict::Verdict::Pending;
            item.build_url = None;
            say(up, "testme", format!("test run {} of {max}", runs + 1));
        }
        Step::Wait(why) => say(up, "wait", why.to_string()),
        Step::Queued(place) => {
            item.why = Some(format!("queued (place {place})"));
            say(
                up,
                "wait",
                format!(
                    "queued (place {place}): serial_tests, another recipe's test run is in flight"
                ),
            );
        }
        Step::StartFixer => {
            super::fixer::start(up, r, pr, at.bump, row, runs, &at.reading)?;
            say(
                up,
                "start_fixer",
                format!("test run {runs} of {max} was RED"),
            );
        }
        Step::Green | Step::GreenWithTests => {}
        Step::TestsFixer => {
            super::with_tests::start_fixer(up, r, pr, at.bump, row, runs)?;
            let repo = up.t.config().upgrade.tests_repo.as_deref().unwrap_or("");
            let why = format!("a stale test: the fixer updates it in {repo}");
            say(up, "start_fixer", why);
        }
        Step::TestsPr => {
            // as a bump's PR (open.rs): a dry run opens none, so names none
            // (the recording forge's PR has no number and no URL to report)
            let n = if up.dry() {
                None
            } else {
                let (n, url) = super::with_tests::open_pr(up, r, pr, at.bump, row)?;
                item.tests_pr = Some(url);
                Some(n)
            };
            up.report
                .act(name, "open_pr", n, Some(at.bump.tests_title()));
            item.test_runs += 1;
            item.verdict = verdict::Verdict::Pending;
            item.build_url = None;
            say(
                up,
                "testme",
                format!("test run {} of {max}, with the updated tests", runs + 1),
            );
        }
        Step::Fail(f) => fail(up, at, item, f)?,
        Step::Stuck(s) => ending(up, at, item, &upgrade_end::stuck(&s.to_string()))?,
        Step::StaleTest => stale_test(up, r, pr, row, at.comments, item)?,
        Step::Done(o) => done(up, r, pr, row, *o, &at.reading, at.comments)?,
    }
    Ok(())
}

/// FAILED: with the fixer's exit status and log's last lines when its end
/// ended the flow (in the comment and the report); a fixer that failed to
/// run or died is also the tick's error (`Failure::is_tick_error`).
fn fail(up: &mut Up, at: &At, item: &mut PrItem, f: &verdict::Failure) -> Result<()> {
    let fixer = match f {
        verdict::Failure::FixerPushedNothing { exit } => Some(super::report::FixerItem {
            exit: *exit,
            log: super::fixer::log_tail(at.row),
        }),
        verdict::Failure::NotGreen { .. } => None,
    };
    let section = fixer
        .as_ref()
        .map(|x| crate::core::fixer_exit::section(x.exit, &x.log));
    let end = upgrade_end::failed(
        &f.to_string(),
        at.reading.build_url.as_deref(),
        section.as_deref(),
    );
    if f.is_tick_error() {
        let log = at.row.fixer_dir.as_deref().unwrap_or("its run folder");
        let last = fixer.as_ref().and_then(|x| x.log.last());
        up.report.error(
            &at.r.name,
            Some(at.pr.number),
            format!(
                "{f}{}; its log: {log}/agent.log",
                last.map(|l| format!(" (last line: {l})"))
                    .unwrap_or_default()
            ),
        );
    }
    item.fixer = fixer;
    ending(up, at, item, &end)
}

/// FAILED or STUCK: applied and said in the report.
fn ending(up: &mut Up, at: &At, item: &mut PrItem, end: &upgrade_end::UpgradeEnd) -> Result<()> {
    finish(up, at.r, at.pr, at.row, end, at.comments)?;
    item.why = Some(end.why.clone());
    let what = format!("{} — {}", end.outcome, end.why);
    up.report
        .act(&at.r.name, "comment", Some(at.pr.number), Some(what));
    Ok(())
}
