//! `afk watch`: one lifecycle tick over the runs in flight
//! (docs/how-it-works.md#afk-watch-the-lifecycle). For each run, in parallel,
//! four phases: settle (`settle.rs`: the writes that catch up on the last
//! turn: a start left pending finished, the spend read (`spend.rs`), the
//! run's PR found once (`pr.rs`), its work forwarded and afk's PR opened,
//! the conversation heard and its stop, hold and resume carried out)
//! → observe (`observe.rs`, reads only: issue, CI, deploy, mergeability,
//! progress, into one `Seen`, which carries the run as settle left it)
//! → decide (`decide.rs`: the pure `core::run_state` rules on it) → act
//! (`act.rs`, which writes what was decided: what the look found kept, a
//! corrective turn (`turn.rs`), a branch update or retest, `core::end_plan`
//! carried out for end states, afk's comments (`comments.rs`) and afk's PR
//! body (`pr_body.rs`)). End states are decided in SQLite first (with their
//! outbox event, in one transaction) and their forge writes are resumed on
//! the next tick if one fails, so every step is idempotent.

mod act;
mod comments;
mod decide;
mod forward;
mod labels;
mod limits;
mod lists;
mod observe;
mod pause;
mod pr;
mod pr_body;
mod settle;
mod spend;
mod summary;
mod talk;
mod turn;

pub use summary::ActionItem;
#[cfg(test)]
mod tests;

use super::Scope;
use crate::forge::fan_out;
use crate::session::Session;
use crate::store::runs::Run;
use crate::tick::{self, ErrorItem, Tick, record_transient};
use crate::types::TickKind;
use anyhow::Result;
use lists::Watch;
use serde::Serialize;
use std::sync::OnceLock;

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

/// `afk watch --wait-agents`: this process's watch ticks first wait, at
/// most `most`, for the running agents to end.
pub fn wait_agents_first(most: std::time::Duration) {
    let _ = WAIT_AGENTS.set(most);
}

/// `--wait-agents`: under the tick's lock, before anything is read from the
/// forge, wait until no run's agent is running (each looked at in the run
/// folder, as the command runner keeps it), at most the given time, the
/// tick's deadline and a SIGTERM. Says what it waited for and how long.
fn wait_agents(t: &Tick) {
    let Some(most) = WAIT_AGENTS.get().copied() else {
        return;
    };
    if !t.runner.looks_locally() {
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

/// One watch tick over `scope`; `afk watch` prints it, the demo and the
/// benchmark read it.
pub fn tick<'s>(ctx: &'s Session, scope: &Scope) -> Result<Ended<'s>> {
    tick_if(ctx, scope, &tick::Event::cron())
}

/// [`tick`] for an event (`tick::Event`: afk hook's delivery recorded
/// under the tick's lock, its bounded wait for a tick that took the lock).
pub fn tick_if<'s>(ctx: &'s Session, scope: &Scope, event: &tick::Event) -> Result<Ended<'s>> {
    tick::open_if(ctx, TickKind::Watch, event, |t| watch(t, scope))
}

/// The tick itself, the same code whether its edges are real or dry.
fn watch<'s>(t: Box<Tick<'s>>, scope: &Scope) -> Result<Ended<'s>> {
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
    let w = Watch::new(&t);
    let rows: Vec<_> = rows
        .into_iter()
        .filter(|r| {
            r.as_ref()
                .map_or(*scope == Scope::All, |run| scope.has_run(run))
        })
        .collect();
    let runs: Vec<Run> = rows
        .iter()
        .filter_map(|r| r.as_ref().ok().cloned())
        .collect();
    lists::prefetch(&w, &runs);
    let results = watch_rows(&w, &rows, cfg.forge.concurrency);
    let mut actions = vec![];
    for (a, e) in results {
        actions.extend(a);
        errors.extend(e);
    }
    // what this tick's writes changed, read again: the next tick's reads match
    t.forge()?.revalidate(cfg.forge.concurrency);
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
            requests: t.forge_requests().0,
            costly_requests: t.forge_requests().1,
            writes,
        },
        human,
        tick: Some(t),
    })
}

/// Each row watched, its result at its row's place: the runs paused at a
/// day's cap one by one, oldest first, so that at the first tick after
/// midnight they continue in that order, then the others fanned out
/// (`core::budget::turn_day::watch_order`).
fn watch_rows(
    w: &Watch,
    rows: &[Result<Run, crate::store::runs::Unreadable>],
    concurrency: usize,
) -> Vec<(Option<ActionItem>, Vec<ErrorItem>)> {
    let one = |r: &Result<Run, crate::store::runs::Unreadable>| match r {
        Ok(run) => process(w, run),
        Err(bad) => (None, vec![unreadable(bad)]),
    };
    let paused: Vec<Option<String>> = rows
        .iter()
        .map(|r| {
            let run = r.as_ref().ok()?;
            w.t.store().talk(run.id).ok()?.pause.limit
        })
        .collect();
    let order: Vec<_> = rows
        .iter()
        .zip(&paused)
        .map(|(r, p)| (r.as_ref().ok().map(|run| run.id), p.as_deref()))
        .collect();
    let (first, rest) = crate::core::budget::turn_day::watch_order(&order);
    let mut results: Vec<Option<(Option<ActionItem>, Vec<ErrorItem>)>> =
        rows.iter().map(|_| None).collect();
    for i in first {
        results[i] = Some(one(&rows[i]));
    }
    let fanned: Vec<&Result<Run, crate::store::runs::Unreadable>> =
        rest.iter().map(|&i| &rows[i]).collect();
    let done = fan_out(&fanned, concurrency, |r| one(r));
    for (i, r) in rest.into_iter().zip(done) {
        results[i] = Some(r);
    }
    results.into_iter().flatten().collect()
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

/// One run's step: settle → observe → decide → act. Each run opens its own
/// connection: the workers run in parallel.
fn process(w: &Watch, run: &Run) -> (Option<ActionItem>, Vec<ErrorItem>) {
    let began = time::OffsetDateTime::now_utc();
    let err = |e: &anyhow::Error| run_error(run, e);
    let store = match w.t.source().open() {
        Ok(s) => s.at(w.t.now),
        Err(e) => return (None, vec![err(&e)]),
    };
    let mut errors = vec![];
    // settle (the writes that catch up on the last turn) → observe (reads,
    // into one value)
    let seen = match settle::settle(w, &store, run).and_then(|s| observe::observe(w, s)) {
        Ok(s) => s,
        // the forge (or the agent's checkout) could not be read: the
        // limits still apply, from what afk holds itself
        Err(e) => {
            errors.push(err(&e));
            if run.state.decided() {
                return (None, errors);
            }
            match store
                .talk(run.id)
                .and_then(|talk| observe::blind(w, run, talk))
            {
                Ok(s) => s,
                Err(e) => {
                    errors.push(err(&e));
                    return (None, errors);
                }
            }
        }
    };
    let mut seen = seen;
    session_tick(w, &store, run, &mut seen);
    // → decide (core) → act (the only writer), both over what settle and
    // observe made of the run
    let decision = decide::decide(w, &seen);
    let mut notes = vec![];
    let action = decision.as_ref().map(|d| d.action);
    if let Err(e) = act::act(w, &store, &seen, action, &mut notes) {
        errors.push(err(&e));
    }
    let item = decision.map(|d| ActionItem {
        notes,
        spend_usd: entry_spend(&store, &seen, &d.action),
        ..action_item(&seen, &d.action, d.detail)
    });
    if let Some(item) = &item
        && crate::spans::on()
    {
        tick_span(&store, run, item, &errors, began);
    }
    (item, errors)
}

/// A run in flight and its agent session (Linear's, when the issue was
/// delegated: `Tracker::session_tick`): people's prompts there answered,
/// the session kept from going stale, and a trusted person's `stop` there
/// heard as `/afk stop` is (kept in the run's talk, so it stands). A
/// failure is said; the next tick looks again.
fn session_tick(w: &Watch, store: &crate::store::Store, run: &Run, seen: &mut observe::Seen) {
    if run.state.decided() {
        return;
    }
    let now = w.t.now.unix_timestamp();
    let looked =
        w.t.forge()
            .and_then(|f| f.session_tick(&run.repo, run.issue, run.id.0 as u64, now));
    let who = match looked {
        Ok(who) => who,
        Err(e) => {
            crate::log::warn(&format!(
                "{}#{}: the agent session was not read: {e:#}",
                run.repo, run.issue
            ));
            return;
        }
    };
    let talk = &mut seen.heard.talk;
    if let (Some(who), None) = (who, &talk.stopped_by) {
        talk.stopped_by = Some(format!("{who} (a stop in the Linear agent session)"));
        if let Err(e) = store.set_talk(run.id, talk) {
            crate::log::warn(&format!("{}#{}: {e:#}", run.repo, run.issue));
        }
    }
}

/// The run's `afk.watch` span, when this tick touched it: acted, or
/// changed its record while it waited (pushed, opened the PR).
fn tick_span(
    store: &crate::store::Store,
    run: &Run,
    item: &ActionItem,
    errors: &[ErrorItem],
    began: time::OffsetDateTime,
) {
    let Ok(Some(now)) = store.run(run.id) else {
        return;
    };
    if item.action == "wait" && crate::spans::marks(run) == crate::spans::marks(&now) {
        return;
    }
    let messages: Vec<&str> = errors.iter().map(|e| e.message.as_str()).collect();
    crate::spans::tick_work(
        store,
        crate::spans::TickWork {
            kind: TickKind::Watch,
            run: &now,
            action: &item.action,
            reason: item.reason.as_deref(),
            turn: (now.turns > run.turns).then_some(now.turns),
            error: crate::core::telemetry::spans::error_type(&messages),
            began,
        },
    );
}

/// What the report says watch did with one run.
fn action_item(
    seen: &observe::Seen,
    action: &crate::core::run_state::Action,
    detail: String,
) -> ActionItem {
    let run = &seen.run;
    ActionItem {
        repo: run.repo.clone(),
        issue: run.issue,
        key: crate::core::prompt::tracker_key(&run.branch, run.issue),
        run_id: run.id,
        action: action.name().into(),
        // a tracker's issue closed to the run says how (`moved`,
        // `tracker-issue-gone`); a forge's abandonment carries no reason
        reason: match action {
            crate::core::run_state::Action::Abandon => seen.issue_closed_as.map(String::from),
            _ => action.reason(),
        },
        spend_usd: seen.spend_usd,
        detail: Some(detail),
        notes: vec![],
    }
}

/// The spend a run's entry says: what the tick read; a pause's always, and
/// as it stands once its agent was stopped (what the turn had in flight
/// counted, `pause::stop_agent`): the pause's spend.
fn entry_spend(
    store: &crate::store::Store,
    seen: &observe::Seen,
    action: &crate::core::run_state::Action,
) -> Option<f64> {
    let pausing = matches!(action, crate::core::run_state::Action::Pause(_));
    let stopped = match pausing {
        true => store
            .run(seen.run.id)
            .ok()
            .flatten()
            .and_then(|r| r.spend_usd),
        false => None,
    };
    crate::core::budget::pause::report_spend(pausing, stopped.or(seen.spend_usd))
}

/// An error of one run's step, said with the run.
fn run_error(run: &Run, e: &anyhow::Error) -> ErrorItem {
    ErrorItem {
        message: format!("run {}: {e:#}", run.id),
        ..ErrorItem::from_err(&run.repo, Some(run.issue), e)
    }
}
