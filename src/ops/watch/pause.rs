//! A run paused at a limit, one of act's steps: the agent stopped if it
//! still runs, the pause and its `run.paused` event recorded once in the
//! store (`Store::pause`), the paused label added and one comment on the
//! issue (found again by its marker). The run stays in flight: no end, its
//! checkout, home and branch kept. Its continuation turn is
//! `turn::continuation`.

use super::lists::Watch;
use super::observe::Seen;
use crate::core::budget::Limit;
use crate::core::budget::pause::{self, Figures};
use crate::core::kinds::EventKind;
use crate::core::run_state::Agent;
use crate::forge::Target;
use crate::store::Store;
use crate::store::events::NewEvent;
use crate::store::runs::Run;
use crate::store::talk::Past;
use anyhow::Result;
use std::time::Duration;

/// Pause `run` at `limit`: stop its agent, record the pause with its event
/// (once: a second tick records nothing), label the issue and say so in one
/// comment.
pub(super) fn pause(
    w: &Watch,
    store: &Store,
    run: &Run,
    seen: &Seen,
    limit: Limit,
    notes: &mut Vec<String>,
) -> Result<()> {
    stop_agent(
        w,
        store,
        (run, seen),
        &format!("at {}: stopped, the run pauses", limit.key()),
    )?;
    let n = seen.heard.talk.pause.count + 1;
    // the pause's spend: the run's once its agent was stopped, what its
    // turn had in flight counted
    let stopped = store.run(run.id)?.and_then(|r| r.spend_usd);
    let spend_usd = stopped.or(seen.spend_usd);
    let pr = forward(w, run, seen, spend_usd)?;
    let f = Figures {
        spend_usd: spend_usd.unwrap_or(0.0),
        pr: pr.map(|n| w.t.settled.profile.pr_ref(n)),
        ..figures(w, run, seen, limit, n)
    };
    let first = pause::first_sentence(&f);
    let url = crate::core::escalation::link(&run.url);
    let url = url.as_deref().unwrap_or("");
    let text = pause::notification(&place(run), &first, url);
    // the checklist's line for this pause, kept after it
    let past = Past {
        limit: limit.key().to_string(),
        limit_words: crate::core::budget::pause_history::limit_words(&f),
        spend_usd: Some(f.spend_usd),
        ..Past::default()
    };
    let event = NewEvent {
        kind: EventKind::RunPaused,
        repo: &run.repo,
        issue: run.issue,
        run_id: run.id,
        // the limit (`afk_pauses_total{limit}`)
        reason: Some(limit.key()),
        url: Some(url).filter(|u| !u.is_empty()),
        text: &text,
    };
    let recorded =
        store
            .source()
            .open()?
            .at(w.t.now)
            .pause(run.id, limit.key(), (Some(event), &past))?;
    let n = recorded.unwrap_or(seen.heard.talk.pause.count.max(1));
    announce(w, store, run, (Figures { n, ..f }, pr), notes)?;
    crate::log::decision(&format!(
        "{} run {}: paused at {} (pause {n})",
        place(run),
        run.id,
        limit.key()
    ));
    Ok(())
}

/// The stopped turn's work forwarded as any turn's end forwards it: its
/// uncommitted changes committed by afk, the branch pushed, afk's PR opened
/// or updated, the gate as always; the PR's reference handed back. Settle
/// forwarded already where the agent had ended. What forwarding meets (a
/// conflict, a refusal, the gate's) is handled as at a turn that ended by
/// itself at a limit: its commits kept (the run folder), and the limit's
/// row, which stands above the push rows (`core::run_state::next_action`),
/// pauses the run all the same.
fn forward(
    w: &Watch,
    run: &Run,
    seen: &Seen,
    spend_usd: Option<f64>,
) -> Result<Option<crate::types::PrNumber>> {
    let known = seen.pr.as_ref().map(|p| p.number);
    if seen.agent != Agent::Running {
        return Ok(known);
    }
    let found = super::pr::find(w, run)?;
    let (forwarded, found) =
        super::forward::step(w, run, &seen.run_dir, (Agent::Vanished, spend_usd), found)?;
    if let Some((problem, why)) = &forwarded.problem {
        crate::log::warn(&format!(
            "{} run {}: the paused turn's work was not forwarded ({problem:?}{}{why}): the next tick meets it again",
            place(run),
            run.id,
            if why.is_empty() { "" } else { ": " },
        ));
    }
    Ok(found.map(|(p, _)| p.number).or(known))
}

/// A running agent stopped, and what its turn had in flight until the stop
/// kept as the run's spend (`spend::after_stop`): a pause's, and an end's
/// that stops the agent. `why` ends the log line.
pub(super) fn stop_agent(
    w: &Watch,
    store: &Store,
    (run, seen): (&Run, &Seen),
    why: &str,
) -> Result<()> {
    let (Agent::Running, Some(h)) = (seen.agent, &seen.run.handle) else {
        return Ok(());
    };
    w.t.runner.stop(h);
    // afk's own words: the run's limit or end (docs/audit.md)
    afk_host::journal::record(
        "agent.stopped",
        &serde_json::json!({"run": run.id.0, "turn": run.turns.max(1), "why": why}),
    );
    crate::log::info(&format!(
        "{} run {}: its agent was still running {why}",
        place(run),
        run.id
    ));
    super::spend::after_stop(
        w,
        store,
        run,
        (seen.record.spend.as_ref().map(|(_, s)| s), &seen.run_dir),
    )
}

/// A pause recorded whose label or comment a tick failed to put on the
/// forge: said again, once each (the comment found by its marker).
pub(super) fn say_again(
    w: &Watch,
    store: &Store,
    run: &Run,
    seen: &Seen,
    limit: Limit,
    notes: &mut Vec<String>,
) -> Result<()> {
    let n = seen.heard.talk.pause.count.max(1);
    let pr = seen.pr.as_ref().map(|p| p.number);
    announce(w, store, run, (figures(w, run, seen, limit, n), pr), notes)
}

/// The paused label and the pause's one comment, then noted as said.
/// `pr`: the run's PR as this tick knows it (the pausing tick may have
/// opened it: the run's record does not name it yet), whose own reference
/// stays linked.
fn announce(
    w: &Watch,
    store: &Store,
    run: &Run,
    (f, pr): (Figures, Option<crate::types::PrNumber>),
    notes: &mut Vec<String>,
) -> Result<()> {
    let n = f.n;
    let label = &w.t.config().budget.paused_label;
    if !label.is_empty() {
        super::labels::add(w, run, label)?;
    }
    let (marker, body) = pause::comment(&f);
    let body = crate::redact::text(&body).into_owned();
    let key = format!("run:{}:paused:{n}", run.id);
    super::comments::post_once(
        w,
        store,
        run,
        Target::Issue(run.issue),
        (&key, &marker),
        &w.shown(run, pr, &body),
        notes,
    )?;
    store.pause_said(run.id)
}

/// The paused label off the issue, when there is one (a continuation, an end).
pub(super) fn unlabel(w: &Watch, run: &Run) -> Result<()> {
    let label = &w.t.config().budget.paused_label;
    if !label.is_empty() {
        w.t.forge()?.remove_label(&run.repo, run.issue, label)?;
    }
    Ok(())
}

/// The figures of `run`'s pause number `n` at `limit`, as watch saw it.
pub(super) fn figures<'a>(
    w: &'a Watch,
    run: &'a Run,
    seen: &Seen,
    limit: Limit,
    n: u32,
) -> Figures<'a> {
    let b = &w.t.config().budget;
    let talk = &seen.heard.talk;
    let pause_for = b.pause_for.unwrap_or(Duration::ZERO);
    // a day's cap opens again at the next 00:00 UTC, while
    // the run's continuations by itself last (`budget.day_continuations`)
    let day_spent = seen.heard.day_continuations >= b.day_continuations;
    let until = match limit.is_day() && !day_spent {
        true => crate::core::budget::turn_day::next_midnight(w.t.now),
        false => w.t.now + pause_for,
    };
    let day_cap_usd = match limit {
        Limit::RepoDayUsd => b.repo_day_usd,
        _ => b.day_usd,
    };
    Figures {
        run_id: run.id,
        n,
        limit,
        prefix: &w.t.settled.command_prefix,
        spend_usd: seen.spend_usd.unwrap_or(0.0),
        run_usd: super::decide::run_usd(w, talk),
        max_run_usd: b.max_run_usd,
        day_cap_usd,
        worked: super::decide::held_age(w, seen.age, talk),
        run_time: super::decide::run_time(w, talk),
        max_run_time: b.max_run_time,
        branch: &run.branch,
        // the work so far, where its PR is known
        pr: seen
            .pr
            .as_ref()
            .map(|p| w.t.settled.profile.pr_ref(p.number)),
        pause_for,
        until: until_words(until),
        day_spent: limit.is_day() && day_spent,
        // with a tracker, the run's issue is the tracker's (the status
        // issue, the one forge issue, runs nothing)
        pr_only: w.t.config().tracker.is_some(),
    }
}

/// `2026-12-04 14:03 UTC`.
fn until_words(t: time::OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02} UTC",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute()
    )
}

/// Where the run's issue is, as every report names it: a tracker's issue by
/// its key (its `#N` is afk's number, maybe another issue on the forge).
fn place(run: &Run) -> String {
    let key = crate::core::prompt::tracker_key(&run.branch, run.issue);
    crate::core::prompt::place(run.repo.as_str(), run.issue, key.as_deref())
}
