//! `afk watch`: one lifecycle tick over the runs in flight, or the watch a
//! turn's end starts; both are `ops::event_loop`'s (its preconditions, the
//! waits), the tick itself `ops::watch`.

use crate::ops::event_loop;
use crate::session::{Outcome, Session};
use crate::types::RunId;
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
    match a.after_turn {
        Some(run) => event_loop::after_turn(ctx, RunId(run)),
        None => event_loop::watch_all(ctx, a.wait_agents),
    }
}
