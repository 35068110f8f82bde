//! The money and time a run may spend, and what happens at a limit: the
//! spend afk reads and records and the limits it is held to (`spend`,
//! `turn_day`), the pause at a limit and its history (`pause`,
//! `pause_history`), and the trusted `/afk budget` command that raises one
//! (`budget_command`). Beside the room: the gateway's own stop inside a turn
//! (`gateway::budget`, which reads `spend`'s limits) and `run_spend`, which
//! joins the gateway's metered record to the agent's reports (it reads
//! `gateway::metered`; inside the room it would make a circle). The flow
//! from a pause to its continuation is ARCHITECTURE.md's pause trace.

pub mod budget_command;
pub mod pause;
pub mod pause_history;
pub mod spend;
pub mod turn_day;

/// The limit a run paused at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// `budget.run_usd` (or the run's own money limit, a stop at a limit)
    RunUsd,
    /// `budget.run_time` (or the run's own time limit)
    RunTime,
    /// `budget.day_usd`: the gateway stopped the turn at the day's cap;
    /// paused until the next 00:00 UTC, then continued by itself
    DayUsd,
    /// `budget.repo_day_usd`: the same, the repository's day
    RepoDayUsd,
}

impl Limit {
    /// The key's name: the report's `reason`.
    pub fn key(self) -> &'static str {
        match self {
            Limit::RunUsd => "run_usd",
            Limit::RunTime => "run_time",
            Limit::DayUsd => "day_usd",
            Limit::RepoDayUsd => "repo_day_usd",
        }
    }
    /// A stored key read back (`key`'s words); None for any other.
    pub fn parse(s: &str) -> Option<Limit> {
        [
            Limit::RunUsd,
            Limit::RunTime,
            Limit::DayUsd,
            Limit::RepoDayUsd,
        ]
        .into_iter()
        .find(|l| l.key() == s)
    }
    /// A day's cap: its pause has no `pause_for` deadline and ends at the
    /// next 00:00 UTC by itself.
    pub fn is_day(self) -> bool {
        matches!(self, Limit::DayUsd | Limit::RepoDayUsd)
    }
    /// The escalation's word when a run at this limit does not pause, or
    /// its pause ends with nobody continuing it (`run_state::escalation_at`
    /// is the same, as the state machine's value).
    pub fn escalates_as(self) -> &'static str {
        match self {
            Limit::RunUsd | Limit::DayUsd | Limit::RepoDayUsd => "over-budget",
            Limit::RunTime => "timeout",
        }
    }
}
