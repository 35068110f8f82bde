//! `afk watch`: one lifecycle tick over the runs in flight; the tick itself
//! is `ops::watch`.

use crate::ops::{Scope, watch};
use crate::session::{Outcome, Session};
use crate::types::TickKind;
use anyhow::Result;

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
    /// The watch a turn's end starts (the turn's keeper, docs/hook.md): run
    /// RUN's watch only; under the kill switch nothing, no I/O.
    #[arg(long, value_name = "RUN", hide = true)]
    pub after_turn: Option<i64>,
}

pub fn run(ctx: &Session, a: &Args) -> Result<Outcome> {
    if let Some(run) = a.after_turn {
        return after_turn(ctx, crate::types::RunId(run));
    }
    // the change gate's advisories, before the tick touches anything: a
    // record that is not one stops it here (exit 2), never a silent pass
    crate::advisories::check(ctx.load()?, ctx.state_dir())?;
    if let Some(d) = a.wait_agents {
        watch::wait_agents_first(d);
        // and for the watch an agent's end started (docs/hook.md), so this
        // tick reports what that one did rather than step aside beside it
        ctx.load()?;
        let _ = crate::lock::wait_free(ctx.state_dir(), TickKind::Watch.as_str(), d);
    }
    // an event's tick holding the lock (a turn's end, a webhook: one
    // repository's) is waited for within hook.wait_lock, then this tick
    // runs; another watch of every run is stepped aside from, as ever (#82)
    let again = crate::events::outwait_event_ticks(ctx, TickKind::Watch);
    let event = crate::tick::Event {
        first: &|_| true,
        again: &again,
    };
    crate::tick::run(ctx, TickKind::Watch, |c| {
        watch::tick_if(c, &Scope::All, &event)
    })
}

/// The watch a turn's end starts (docs/hook.md#a-turns-end): the run's
/// repository's event tick, as a delivery's is (its slot, or folded into
/// the follow-up of the event tick that holds it; the lock waited for
/// within `hook.wait_lock`; counted with the event ticks). The brakes hold
/// as for every trigger: nothing read or written, no flag.
fn after_turn(ctx: &Session, run: crate::types::RunId) -> Result<Outcome> {
    let cfg = ctx.load()?;
    let stopped = ctx.paths().stop.exists();
    if crate::core::hook::brake(cfg.poll.enabled, stopped.then_some("")).is_some() {
        return Ok(Outcome::OK);
    }
    crate::advisories::check(cfg, ctx.state_dir())?;
    let repo = match ctx.read_store()?.run(run)? {
        Some(r) => r.repo,
        None => return Ok(Outcome::OK),
    };
    let line = crate::core::event_fold::due_line(None, "-", 0);
    let Some(slot) = crate::events::slot_or_fold(ctx, TickKind::Watch, &repo, &line)? else {
        return Ok(Outcome::OK);
    };
    let tick = |kind, repo: &crate::types::RepoName, event: &crate::tick::Event| {
        let scope = Scope::Repo(repo.clone());
        crate::tick::run(ctx, kind, |c| watch::tick_if(c, &scope, event))
    };
    crate::events::event_ticks(ctx, cfg, (TickKind::Watch, &repo), slot, &[], &tick)
}
