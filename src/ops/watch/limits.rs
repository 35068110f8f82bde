//! A run's limits as a tick holds them: the config's, or the larger ones a
//! trusted `/afk budget` set for the run. Read by the decision, the pause,
//! the continuation and the budget verb alike.

use super::lists::Watch;
use std::time::Duration;

/// The run's money limit: the config's `budget.run_usd`, or the larger limit
/// a trusted `/afk budget` set for it (0: none).
pub(super) fn run_usd(w: &Watch, talk: &crate::store::talk::Talk) -> f64 {
    crate::core::budget::pause::run_usd(w.t.config().budget.run_usd, talk.pause.limit_cents)
}

/// The run's time limit: `budget.run_time`, or the longer one a trusted
/// `/afk budget time` set for it (None: none).
pub(super) fn run_time(w: &Watch, talk: &crate::store::talk::Talk) -> Option<Duration> {
    crate::core::budget::pause::run_time(w.t.config().budget.run_time, talk.pause.limit_time_secs)
}

/// The run's working time: its age without the time it was held or paused
/// (a hold and a pause stop the run-time clock).
pub(super) fn held_age(w: &Watch, age: Duration, talk: &crate::store::talk::Talk) -> Duration {
    let held = talk.held_secs + secs_since(w, talk.held_since.as_deref());
    let paused = talk.pause.secs + secs_since(w, talk.pause.since.as_deref());
    age.saturating_sub(Duration::from_secs(held + paused))
}

/// Whole seconds from a stored moment to now (0: none, or unreadable).
pub(super) fn secs_since(w: &Watch, since: Option<&str>) -> u64 {
    since.and_then(crate::clock::parse).map_or(0, |since| {
        crate::core::progress::since(since, w.t.now).as_secs()
    })
}
