//! Poll's budget gate (SPEC 3, `[budget]` day limits): what the runs
//! dispatched on the current UTC day spent, each run's stored figure brought
//! up to date with what its agent wrote since watch last read it (in memory:
//! only watch stores a ledger, so poll and watch never count a byte twice),
//! against `day_usd` and `repo_day_usd`. The rules are `core::spend`'s.

use crate::commands::Ctx;
use crate::core::spend::{self, DayLimits, DayRun, Ledger, Stop};
use crate::runner::Runner;
use crate::store::Store;
use crate::store::runs::Run;
use crate::types::RepoName;
use anyhow::Result;
use time::OffsetDateTime;

/// The day limits reached at `now` (empty: dispatch may go on everywhere).
/// Without a day limit set, nothing is read.
pub fn stops(
    ctx: &Ctx,
    store: &Store,
    runner: &dyn Runner,
    now: OffsetDateTime,
    repos: &[RepoName],
) -> Result<Vec<Stop>> {
    let b = &ctx.config.budget;
    if b.day_usd <= 0.0 && b.repo_day_usd <= 0.0 {
        return Ok(vec![]);
    }
    let runs = store.runs_of_day(spend::day_of(now))?;
    let spends: Vec<Option<f64>> = runs.iter().map(|r| current(ctx, runner, r)).collect();
    let day: Vec<DayRun> = runs
        .iter()
        .zip(spends)
        .map(|(r, spend_usd)| DayRun {
            repo: &r.repo,
            dispatched_at: crate::clock::parse(&r.created_at).unwrap_or(now),
            spend_usd,
        })
        .collect();
    let limits = DayLimits {
        day_usd: b.day_usd,
        repo_day_usd: b.repo_day_usd,
    };
    Ok(spend::day_stops(limits, &day, now, repos))
}

/// A run's spend now: its stored figure, and while its agent may still be at
/// work, what the agent wrote since (a torn last line waits for watch).
fn current(ctx: &Ctx, runner: &dyn Runner, r: &Run) -> Option<f64> {
    if !r.state.watched() {
        return r.spend_usd;
    }
    let mut ledger = Ledger::from_stored(r.spend_ledger.as_deref());
    ledger.begin_turn(r.turns.max(1));
    let dir = r
        .run_dir
        .as_ref()
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| ctx.runs_dir().join(r.id.to_string()));
    runner.read_spend(&dir, &mut ledger, false);
    ledger.spend()
}
