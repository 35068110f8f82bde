//! `afk watch`: one lifecycle tick over the runs in flight
//! (docs/how-it-works.md#afk-watch-the-lifecycle). For each run, in parallel,
//! four phases: settle (`settle.rs`: the writes that catch up on the last
//! turn: a start left pending finished, its work forwarded and afk's PR
//! opened, the conversation heard and its stop, hold and resume carried out)
//! → observe (`observe.rs`: issue, CI, deploy, mergeability, spend,
//! progress, into one `Seen`) → decide (the pure
//! `core::run_state::next_action`) → act (`act.rs`, carrying out
//! `core::end_plan` for end states). End states are decided in SQLite first
//! (with their outbox event, in one transaction) and their forge writes are
//! resumed on the next tick if one fails, so every step is idempotent.

mod act;
mod asks;
mod comments;
mod forward;
mod lists;
mod observe;
mod settle;
mod summary;
mod talk;

pub use summary::ActionItem;
#[cfg(test)]
mod tests;

use crate::core::run_state::{RunState, decided_action, next_action};
use crate::forge::fan_out;
use crate::session::{Outcome, Session};
use crate::store::runs::Run;
use crate::tick::{self, ErrorItem, Tick, record_transient};
use crate::types::TickKind;
use anyhow::Result;
use lists::Watch;
use serde::Serialize;
use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

/// `afk watch`'s own flag; cron keeps the plain tick.
#[derive(clap::Args, Debug, Default)]
pub struct Args {
    /// First wait, bounded, for agents that are running to end, then tick
    /// (at a person's speed: `afk poll` then `afk watch --wait-agents`
    /// shows the PRs). DURATION: how long at most [2m]. The command runner's
    /// agents only (another runner's would cost a request per look)
    #[arg(long, value_name = "DURATION", num_args = 0..=1, default_missing_value = "2m",
          value_parser = crate::config::parse_duration)]
    pub wait_agents: Option<std::time::Duration>,
}

/// How long this process's watch tick first waits for running agents
/// (`--wait-agents`); unset: not at all (cron, the demo, the benchmark).
static WAIT_AGENTS: OnceLock<std::time::Duration> = OnceLock::new();

/// The watch report (`--json`).
#[derive(Serialize, Debug, Default)]
pub struct Report {
    #[serde(flatten)]
    pub head: tick::Head,
    pub actions: Vec<ActionItem>,
    pub errors: Vec<ErrorItem>,
    pub events: crate::notify::Delivery,
    pub requests: usize,
    /// of those, the ones that cost rate limit (GitHub: all but 304s)
    pub costly_requests: usize,
    /// what a dry run would have written (forge writes, agents started or stopped)
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub writes: Vec<String>,
}

/// What one tick did.
pub type Ended<'s> = tick::Ended<'s, Report>;

tick::tick_report!(
    Report,
    quiet_human: |r: &Report| match (&r.head.reason, r.head.stepped_aside) {
        (Some(why), _) => format!("watch: disabled ({why}); nothing done\n"),
        (None, false) => "watch: no runs in flight\n".to_string(),
        (None, true) => String::new(),
    },
);

pub fn run(ctx: &Session, a: &Args) -> Result<Outcome> {
    if let Some(d) = a.wait_agents {
        let _ = WAIT_AGENTS.set(d);
    }
    tick::run(ctx, TickKind::Watch, tick)
}

/// `--wait-agents`: under the tick's lock, before anything is read from the
/// forge, wait until no run's agent is running (each looked at in the run
/// folder, as the command runner keeps it), at most the given time, the
/// tick's deadline and a SIGTERM. Says what it waited for and how long.
fn wait_agents(t: &Tick) {
    let Some(most) = WAIT_AGENTS.get().copied() else {
        return;
    };
    if t.config().runner.kind != crate::types::RunnerKind::Command {
        crate::log::info(
            "watch: --wait-agents waits for the command runner's agents only; not waiting",
        );
        return;
    }
    let runs = match t.store().runs_in_flight() {
        Ok(r) => r,
        Err(_) => return,
    };
    let started = std::time::Instant::now();
    let running = |r: &Run| {
        t.runner
            .observe(r.handle.as_ref(), &t.run_dir(r))
            .is_ok_and(|o| o.agent == crate::core::run_state::Agent::Running)
    };
    let mut waiting: Vec<&Run> = runs.iter().filter(|r| running(r)).collect();
    if waiting.is_empty() {
        return;
    }
    let n = waiting.len();
    while !waiting.is_empty() && started.elapsed() < most && crate::deadline::stopping().is_none() {
        std::thread::sleep(std::time::Duration::from_millis(200));
        waiting.retain(|r| running(r));
    }
    crate::log::info(&format!(
        "watch: waited {} for {n} running agent{}{}",
        crate::types::format_duration(std::time::Duration::from_secs(started.elapsed().as_secs())),
        if n == 1 { "" } else { "s" },
        match waiting.len() {
            0 => String::new(),
            k => format!(
                "; {k} still running after --wait-agents {}",
                crate::types::format_duration(most)
            ),
        }
    ));
}

/// One watch tick; `run` prints it, the demo and the benchmark read it.
pub fn tick(ctx: &Session) -> Result<Ended<'_>> {
    tick::open(ctx, TickKind::Watch, watch)
}

/// The tick itself, the same code whether its edges are real or dry.
fn watch(t: Box<Tick>) -> Result<Ended> {
    wait_agents(&t);
    let cfg = t.config();
    let mut errors: Vec<ErrorItem> = vec![];
    // Claims a dead poll tick left behind are poll's to resolve; watch does it
    // too when poll is not running, so a disabled poll leaves nothing hanging.
    if let Some(_poll) = t.lock_if_free(TickKind::Poll) {
        errors.extend(crate::claims::recover_claims(&t));
    }
    let watched = crate::core::run_state::RunStatus::watched_set();
    let rows = t.store().runs_in_each(&watched)?;
    let w = Watch {
        t: &t,
        me: OnceLock::new(),
        pulls: Mutex::new(HashMap::new()),
        labelled: Mutex::new(HashMap::new()),
        opened: Mutex::new(vec![]),
        notes: Mutex::new(vec![]),
    };
    let runs: Vec<Run> = rows
        .iter()
        .filter_map(|r| r.as_ref().ok().cloned())
        .collect();
    lists::prefetch(&w, &runs);
    let results = fan_out(&rows, cfg.forge.concurrency, |r| match r {
        Ok(run) => process(&w, run),
        Err(bad) => (None, vec![unreadable(bad)]),
    });
    let mut actions = vec![];
    for (a, e) in results {
        actions.extend(a);
        errors.extend(e);
    }
    // what this tick's writes changed, read again: the next tick's reads match
    t.forge.revalidate(cfg.forge.concurrency);
    record_transient(&t.journal, &errors, TickKind::Watch);
    let errors = tick::one_per_cause(errors);
    let delivery = t.notify();
    let writes = t.writes();
    // every run in flight was looked at, whether watching it failed or not
    let human = summary::human(t.tense(), rows.len(), &actions, &errors, delivery, &writes);
    Ok(Ended {
        code: if errors.is_empty() { 0 } else { 1 },
        report: Report {
            head: tick::Head::on(TickKind::Watch, t.tense()),
            actions,
            errors,
            events: delivery,
            requests: t.forge.requests(),
            costly_requests: t.forge.costly_requests(),
            writes,
        },
        human,
        tick: Some(t),
    })
}

/// A run whose stored repo is not `owner/name` (an edited state file): an
/// error for that run; the others are watched.
fn unreadable(bad: &crate::store::runs::Unreadable) -> ErrorItem {
    ErrorItem::msg(
        &bad.repo,
        Some(bad.issue),
        format!("run {}: state file: {}", bad.id, bad.error),
    )
}

/// Observe one run, decide, act. Each run opens its own connection: the
/// workers run in parallel.
fn process(w: &Watch, run: &Run) -> (Option<ActionItem>, Vec<ErrorItem>) {
    let err = |e: &anyhow::Error| run_error(run, e);
    let store = match w.t.source().open() {
        Ok(s) => s.at(w.t.now),
        Err(e) => return (None, vec![err(&e)]),
    };
    // settle (the writes that catch up on the last turn) → observe (reads,
    // into one value) → decide (core) → act
    let seen = match settle::settle(w, &store, run)
        .and_then(|s| observe::observe(w, s))
        .and_then(|seen| observe::record(w, &store, run, &seen.record).map(|()| seen))
    {
        Ok(s) => s,
        // the forge (or the agent's checkout) could not be read: the
        // limits still apply, from what afk holds itself
        Err(e) => return blind(w, &store, run, vec![err(&e)]),
    };
    let state = run_state(w, run, &seen);
    let action = next_action(&state);
    let detail = crate::core::explain::watch(&action, &state, &ci_seen(&seen));
    crate::log::decision(&format!(
        "{}#{} run {}: {}: {detail}",
        run.repo,
        run.issue,
        run.id,
        action.name()
    ));
    let mut item = action_item(run, &action, seen.spend_usd, detail);
    let said = item.said();
    let res = act::act(w, &store, run, &seen, action).and_then(|()| {
        // where the run stands, for `afk status`: written only when it
        // changed, so an idle tick takes no write lock for it
        if run.watch_said.as_deref() == Some(said.as_str()) {
            return Ok(());
        }
        store.set_watch_said(run.id, &said)
    });
    w.notes.lock().unwrap().retain(|(id, text)| {
        let mine = *id == run.id;
        if mine {
            item.notes.push(text.clone());
        }
        !mine
    });
    (
        Some(item),
        res.err().map(|e| vec![err(&e)]).unwrap_or_default(),
    )
}

/// What the report says watch did with one run.
fn action_item(
    run: &Run,
    action: &crate::core::run_state::Action,
    spend_usd: Option<f64>,
    detail: String,
) -> ActionItem {
    ActionItem {
        repo: run.repo.clone(),
        issue: run.issue,
        run_id: run.id,
        action: action.name().into(),
        reason: action.reason(),
        spend_usd,
        detail: Some(detail),
        notes: vec![],
    }
}

/// An error of one run's step, said with the run.
fn run_error(run: &Run, e: &anyhow::Error) -> ErrorItem {
    ErrorItem {
        message: format!("run {}: {e:#}", run.id),
        ..ErrorItem::from_err(&run.repo, Some(run.issue), e)
    }
}

/// A run whose reads failed this tick: its money limit, run time and stall
/// clock, from the runner, the run's files and the store alone
/// (`core::run_state::limit_over`); over one, the agent is stopped and the
/// run escalated as ever (the forge writes resumed by a later tick when they
/// fail too). The reads' failure is the tick's error, said once.
fn blind(
    w: &Watch,
    store: &crate::store::Store,
    run: &Run,
    mut errors: Vec<ErrorItem>,
) -> (Option<ActionItem>, Vec<ErrorItem>) {
    if run.state.decided() {
        return (None, errors);
    }
    let err = |e: &anyhow::Error| run_error(run, e);
    let seen = match observe::blind(w, store, run)
        .and_then(|seen| observe::record(w, store, run, &seen.record).map(|()| seen))
    {
        Ok(s) => s,
        Err(e) => {
            errors.push(err(&e));
            return (None, errors);
        }
    };
    let cfg = w.t.config();
    let talk = &seen.heard.talk;
    let facts = crate::core::run_state::Blind {
        held: talk.held_since.is_some(),
        awaiting_merge: run.green_since.is_some(),
        spend_usd: seen.spend_usd,
        run_usd: cfg.budget.run_usd,
        age: held_age(w, seen.age, talk),
        run_time: cfg.budget.run_time,
        since_progress: seen.since_progress,
        stall_after: cfg.stall_after(),
    };
    let Some(why) = crate::core::run_state::limit_over(&facts) else {
        return (None, errors);
    };
    let action = crate::core::run_state::Action::Escalate(why);
    crate::log::decision(&format!(
        "{}#{} run {}: {} (its forge reads failed; the limit holds)",
        run.repo,
        run.issue,
        run.id,
        action.name()
    ));
    let item = action_item(
        run,
        &action,
        seen.spend_usd,
        "a limit is over; the forge could not be read this tick".into(),
    );
    if let Err(e) = act::act(w, store, run, &seen, action) {
        errors.push(err(&e));
    }
    (Some(item), errors)
}

/// What the decision rule needs of one run, from the run and what watch saw.
fn run_state(w: &Watch, run: &Run, seen: &observe::Seen) -> RunState {
    let cfg = w.t.config();
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
        turns_used: crate::core::run_state::fix_turns_used(run.turns, seen.heard.talk.review_turns),
        fix_forward_max: cfg.watch.fix_forward_max,
        since_progress: seen.since_progress,
        stall_after: cfg.stall_after(),
        issue_open: seen.issue_open,
        // a started run's label is poll's to add: its absence is no person's doing
        in_progress_label: seen.in_progress_label
            || run.state == crate::core::run_state::RunStatus::Started,
        spend_usd: seen.spend_usd,
        run_usd: cfg.budget.run_usd,
        age: held_age(w, seen.age, &seen.heard.talk),
        run_time: cfg.budget.run_time,
        talk: crate::core::run_state::Talk {
            stop: seen.heard.talk.stopped_by.is_some(),
            held: seen.heard.talk.held_since.is_some(),
            review_asked: !seen.heard.asked.is_empty(),
            review_turns_used: seen.heard.talk.review_turns,
            review_turns_max: cfg.watch.review_turns_max,
            conflict: conflict(w, run, seen),
            retest_due: crate::core::conversation::retest_due(
                !cfg.watch.retest_comment.is_empty(),
                seen.ci_sha.as_deref(),
                seen.heard.talk.retest_sha.as_deref(),
            ),
            retest_waiting: crate::core::conversation::retest_waits(
                seen.heard.talk.retest_sha.as_deref(),
                seen.ci_sha.as_deref(),
                seen.heard
                    .talk
                    .retest_at
                    .as_deref()
                    .and_then(crate::clock::parse),
                seen.ci_newest_at,
            ),
        },
    }
}

/// What a PR the forge may call conflicting gets (docs/reviews.md#conflicts):
/// only an open PR whose `mergeable` is known.
fn conflict(
    w: &Watch,
    run: &Run,
    seen: &observe::Seen,
) -> Option<crate::core::conversation::ConflictStep> {
    let cfg = w.t.config();
    let p = seen
        .pr
        .as_ref()
        .filter(|_| seen.pr_state() == crate::core::run_state::Pr::Open)?;
    let fix_turns = crate::core::run_state::fix_turns_used(run.turns, seen.heard.talk.review_turns);
    let facts = crate::core::conversation::ConflictFacts {
        mergeable: p.mergeable,
        update: cfg.watch.update_branch,
        afk_branch: p.head.name == run.branch && p.head_repo().is_none_or(|r| run.repo == r),
        base_sha: &p.base.sha,
        asked_for_base: seen.heard.talk.update_base.as_deref(),
        turns_left: fix_turns < cfg.watch.fix_forward_max,
    };
    Some(crate::core::conversation::conflict_step(&facts))
}

/// The run's age without the time it was held (a hold pauses the run-time clock).
fn held_age(
    w: &Watch,
    age: std::time::Duration,
    talk: &crate::store::talk::Talk,
) -> std::time::Duration {
    let now_held = talk
        .held_since
        .as_deref()
        .and_then(crate::clock::parse)
        .map_or(0, |since| {
            crate::core::progress::since(since, w.t.now).as_secs()
        });
    let held = std::time::Duration::from_secs(talk.held_secs + now_held);
    age.saturating_sub(held)
}

/// What watch saw of CI, for the words of its decision.
fn ci_seen(seen: &observe::Seen) -> crate::core::explain::CiSeen {
    crate::core::explain::CiSeen {
        counted: seen.ci.counted,
        waiting: seen.ci.waiting.clone(),
        failing: seen.ci.failing.iter().map(|f| f.0.clone()).collect(),
        pr: seen.pr.as_ref().map(|p| p.number),
    }
}
