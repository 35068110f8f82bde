//! Pure decisions: no I/O, no clock, no randomness. Time and draws come in as arguments.

pub mod answers;
pub mod cadence;
pub mod canary;
pub mod checklist;
pub mod ci;
pub mod compose;
pub mod dispatch;
pub mod end_plan;
pub mod escalation;
pub mod outcome;
pub mod placeholders;
pub mod progress;
pub mod prompt;
pub mod queue;
pub mod registry_auth;
pub mod routing;
pub mod run_state;
pub mod sandbox_dir;
pub mod sanitize;
pub mod spend;
pub mod tags;
pub mod undo;
pub mod upgrade;
pub mod upgrade_commit;
pub mod verdict;
