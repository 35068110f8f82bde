//! Pure decisions: no I/O, no clock, no randomness. Time and draws come in as arguments.

pub mod answers;
pub mod canary;
pub mod checklist;
pub mod ci;
pub mod compose;
pub mod dispatch;
pub mod end_plan;
pub mod escalation;
pub mod explain;
pub mod heartbeat;
pub mod outcome;
pub mod progress;
pub mod prompt;
pub mod routing;
pub mod run_state;
pub mod sandbox_dir;
pub mod sanitize;
pub mod tags;
pub mod upgrade;
pub mod verdict;
