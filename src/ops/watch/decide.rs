//! Decide, the third of watch's phases for a run: what the pure rules of
//! `core::run_state` need, gathered from what watch saw of the run (`Seen`,
//! which carries the run as settle left it), and their answer with its
//! words. It reads nothing and writes nothing; a run watch saw blind (its
//! reads failed) is held to its limits alone
//! (`core::run_state::limit_over`).

use super::lists::Watch;
use super::observe::Seen;
use crate::core::conversation::{self, ConflictFacts, ConflictStep};
use crate::core::run_state::{
    self, Action, Blind, Pr, RunState, RunStatus, Talk, decided_action, fix_turns_used, next_action,
};
use crate::store::runs::Run;
use std::time::Duration;

/// What watch decided for a run, with why in words.
pub(crate) struct Decision {
    pub action: Action,
    pub detail: String,
}

/// The decision for `run`: `core::run_state::next_action` on what watch saw;
/// for a run seen blind, an escalation when a limit is over and nothing
/// otherwise. Each decision is logged with its why.
pub(crate) fn decide(w: &Watch, seen: &Seen) -> Option<Decision> {
    let run = &seen.run;
    if seen.blind {
        // a paused run waits for a tick that sees it (its rows need the forge)
        if seen.heard.talk.pause.since.is_some() {
            return None;
        }
        let why = run_state::limit_over(&blind(w, run, seen))?;
        // the run's own limit first, as `RunState::money_limit` names it
        let over_run =
            crate::core::budget::spend::over_run_usd(run_usd(w, &seen.heard.talk), seen.spend_usd);
        let action = at_limit(w, why, day_stop(seen).filter(|_| !over_run));
        crate::log::decision(&format!(
            "{}#{} run {}: {} (its forge reads failed; the limit holds)",
            run.repo,
            run.issue,
            run.id,
            action.name()
        ));
        let detail = "a limit is over; the forge could not be read this tick".into();
        return Some(Decision { action, detail });
    }
    let state = run_state(w, run, seen);
    let action = next_action(&state);
    let detail = match (&action, &w.t.config().tracker) {
        // a tracker's issue closes to afk in the tracker's own ways
        (Action::Abandon, Some(_)) => {
            crate::core::explain::abandoned_in_tracker(seen.issue_closed_as)
        }
        _ => crate::core::explain::watch(&action, &state, &ci_seen(seen, w.t.settled.profile)),
    };
    crate::log::decision(&format!(
        "{}#{} run {}: {}: {detail}",
        run.repo,
        run.issue,
        run.id,
        action.name()
    ));
    Some(Decision { action, detail })
}

/// A blind run over a limit: a money or time limit pauses it where
/// `budget.pause_for` is set, anything else escalates.
fn at_limit(
    w: &Watch,
    why: run_state::Escalation,
    day: Option<crate::core::budget::Limit>,
) -> Action {
    use crate::core::budget::Limit;
    use run_state::Escalation;
    let limit = match why {
        Escalation::OverBudget => day.unwrap_or(Limit::RunUsd),
        Escalation::Timeout => Limit::RunTime,
        _ => return Action::Escalate(why),
    };
    match w.t.config().budget.pause_for {
        Some(_) => Action::Pause(limit),
        None => Action::Escalate(why),
    }
}

/// A blind run's limits: its money, run time and stall clock from the
/// runner, the run's files and the store alone.
fn blind(w: &Watch, run: &Run, seen: &Seen) -> Blind {
    let talk = &seen.heard.talk;
    Blind {
        held: talk.held_since.is_some(),
        awaiting_merge: run.green_since.is_some(),
        spend_usd: seen.spend_usd,
        run_usd: run_usd(w, talk),
        budget_stop: seen.budget_stopped(),
        age: held_age(w, seen.age, talk),
        run_time: run_time(w, talk),
        since_progress: seen.since_progress,
        stall_after: w.t.settled.stall_after,
    }
}

/// What the decision rule needs of one run, from the run and what watch saw.
fn run_state(w: &Watch, run: &Run, seen: &Seen) -> RunState {
    let cfg = w.t.config();
    let talk = &seen.heard.talk;
    RunState {
        decided: decided_action(run.state, run.end_reason.as_deref()),
        agent: seen.agent,
        blocked: seen.blocked.is_some(),
        cannot_start: seen.cannot_start.clone(),
        push_problem: seen.forwarded.problem.as_ref().map(|(p, _)| *p),
        pr: seen.pr_state(),
        head_sha: seen.pr.as_ref().map(|p| p.head.sha.clone()),
        ci_sha: seen.ci_sha.clone(),
        ci: seen.ci.checks,
        deploy_configured: !cfg.watch.deploy_context.is_empty(),
        deploy: seen.deploy,
        // continuation turns count against no corrective budget
        turns: run.turns.saturating_sub(talk.pause.continuations),
        fix_forward_max: cfg.watch.fix_forward_max,
        since_progress: seen.since_progress,
        stall_after: w.t.settled.stall_after,
        issue_open: seen.issue_open,
        // a started run's label is poll's to add: its absence is no person's doing
        in_progress_label: seen.in_progress_label || run.state == RunStatus::Started,
        spend_usd: seen.spend_usd,
        run_usd: run_usd(w, talk),
        budget_stop: seen.budget_stopped(),
        age: held_age(w, seen.age, talk),
        run_time: run_time(w, talk),
        talk: Talk {
            stop: talk.stopped_by.is_some(),
            held: talk.held_since.is_some(),
            asked: seen.heard.asked.iter().map(|a| a.budget).collect(),
            review_turns_used: talk.review_turns,
            review_turns_max: cfg.watch.review_turns_max,
            conflict: conflict(w, run, seen),
            retest_due: conversation::retest_due(
                !cfg.watch.retest_comment.is_empty(),
                seen.ci_sha.as_deref(),
                talk.retest_sha.as_deref(),
            ),
            retest_waiting: conversation::retest_waits(
                talk.retest_sha.as_deref(),
                seen.ci_sha.as_deref(),
                talk.retest_at.as_deref().and_then(crate::clock::parse),
                seen.ci_newest_at,
            ),
        },
        pause: pausing(w, seen),
    }
}

/// What a PR the forge may call conflicting gets (docs/reviews.md#conflicts):
/// only an open PR whose `mergeable` is known.
fn conflict(w: &Watch, run: &Run, seen: &Seen) -> Option<ConflictStep> {
    let cfg = w.t.config();
    let p = seen.pr.as_ref().filter(|_| seen.pr_state() == Pr::Open)?;
    let talk = &seen.heard.talk;
    let turns = run.turns.saturating_sub(talk.pause.continuations);
    let fix_turns = fix_turns_used(turns, talk.review_turns);
    let facts = ConflictFacts {
        mergeable: p.mergeable,
        update: cfg.watch.update_branch,
        // afk's branch by the one rule, as settle found the PR (`pr.rs`)
        afk_branch: seen.afk_branch,
        base_sha: &p.base.sha,
        asked_for_base: talk.update_base.as_deref(),
        under_way: talk.update_op.as_ref().map(|_| talk.update_asks),
        turns_left: fix_turns < cfg.watch.fix_forward_max,
    };
    Some(conversation::conflict_step(&facts))
}

use super::limits::secs_since;
pub(super) use super::limits::{held_age, run_time, run_usd};

/// The pause standing on the run, and whether a person continued it, as
/// the store keeps them, and the day's cap the gateway stopped its turn at.
fn pausing(w: &Watch, seen: &Seen) -> run_state::Pausing {
    let p = &seen.heard.talk.pause;
    let since = p.since.as_deref().and_then(crate::clock::parse);
    let paused = p
        .limit
        .as_deref()
        .and_then(crate::core::budget::Limit::parse)
        .map(|limit| run_state::Paused {
            limit,
            since: Duration::from_secs(secs_since(w, p.since.as_deref())),
            day_reopened: since
                .is_some_and(|since| crate::core::budget::turn_day::day_reopened(since, w.t.now)),
        });
    let day_stop = day_stop(seen);
    run_state::Pausing {
        pause_for: w.t.config().budget.pause_for,
        paused,
        continued: p
            .continued
            .as_deref()
            .and_then(run_state::ContinuedBy::parse),
        braked: !w.t.config().poll.enabled,
        day_stop,
        day_spent: seen.heard.day_continuations >= w.t.config().budget.day_continuations,
    }
}

/// The day's cap the run's last turn was stopped at, if it was
/// (`core::run_state::day_stop`): the gateway's stop names its limit; an
/// agent that stopped itself at what it was handed stopped at the limit with
/// the least room as its turn started (`run_files::agent_stop_limit`).
fn day_stop(seen: &Seen) -> Option<crate::core::budget::Limit> {
    use run_state::StopSource;
    let gateway = seen
        .gateway_stop
        .as_ref()
        .and_then(|r| crate::core::budget::Limit::parse(r.limit));
    let source = match (gateway, &seen.agent_budget_stop) {
        (Some(l), _) => StopSource::Gateway(l),
        (None, Some(_)) => StopSource::Agent(seen.agent_stop_limit),
        (None, None) => StopSource::None,
    };
    run_state::day_stop(source)
}

/// What watch saw of CI, for the words of its decision.
fn ci_seen(seen: &Seen, profile: &crate::forge::Profile) -> crate::core::explain::CiSeen {
    crate::core::explain::CiSeen {
        counted: seen.ci.counted,
        waiting: seen.ci.waiting.clone(),
        failing: seen.ci.failing.iter().map(|f| f.0.clone()).collect(),
        pr: seen.pr.as_ref().map(|p| profile.pr_ref(p.number)),
    }
}
