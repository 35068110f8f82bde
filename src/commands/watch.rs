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
}

pub fn run(ctx: &Session, a: &Args) -> Result<Outcome> {
    if let Some(d) = a.wait_agents {
        watch::wait_agents_first(d);
    }
    crate::tick::run(ctx, TickKind::Watch, |c| watch::tick(c, &Scope::All))
}
