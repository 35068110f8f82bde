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
        // the brakes hold for a turn's end as for every trigger
        if !ctx.load()?.poll.enabled {
            return Ok(Outcome::OK);
        }
        let scope = Scope::Run(crate::types::RunId(run));
        return crate::tick::run(ctx, TickKind::Watch, |c| watch::tick(c, &scope));
    }
    if let Some(d) = a.wait_agents {
        watch::wait_agents_first(d);
        // and for the watch an agent's end started (docs/hook.md), so this
        // tick reports what that one did rather than step aside beside it
        ctx.load()?;
        let _ = crate::lock::wait_free(ctx.state_dir(), TickKind::Watch.as_str(), d);
    }
    crate::tick::run(ctx, TickKind::Watch, |c| watch::tick(c, &Scope::All))
}
