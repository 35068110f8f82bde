//! afk's decisions: pure functions, no I/O, no clock, no randomness. Time and
//! draws come in as arguments; what a tick observed comes in as plain values
//! (the model's types), and a decision, a plan or a text goes out. This crate
//! depends on the model, afk-wire and data crates only (serde, time, YAML
//! events), so naming an adapter from here does not compile.

/// The model's values, under the name the rest of afk knows them by.
use afk_model as types;

/// The rules the host, the client and the forges share with the decisions:
/// afk-wire's (so a decision's edit does not rebuild them), under the names
/// they always had here (`afk_core::sanitize`, `crate::core::app_token`).
pub use afk_wire::{
    app_token, azure, blocked_by, redact, retry_after, revalidate, review_bounds, sanitize,
    secrets, tracker,
};

// The rooms: a folder per concern, whose `mod.rs` says what it decides.
pub mod agent_box;
pub mod doctor;
pub mod gate;
pub mod gateway;
pub mod kube;
pub mod status;
pub mod telemetry;
pub mod upgrade;

// The lifecycle's rules (poll → watch → harvest: dispatch, run_state,
// escalation, conversation, canary, …) and the small rules they share.
pub mod agent;
pub mod agent_log;
pub mod answer;
pub mod answers;
pub mod base64;
pub mod bounds;
pub mod box_reason;
pub mod budget;
pub mod canary;
pub mod checklist;
pub mod churn;
pub mod ci;
pub mod command_proof;
pub mod conversation;
pub mod demo;
pub mod dispatch;
pub mod end_plan;
pub mod entra;
pub mod escalation;
pub mod event_fold;
pub mod explain;
pub mod final_message;
pub mod fixer_exit;
pub mod git_refs;
pub mod gitlinks;
pub mod heartbeat;
pub mod hook;
pub mod hosts;
pub mod journal;
pub mod kinds;
pub mod lines;
pub mod outcome;
pub mod placeholders;
pub mod progress;
pub mod prompt;
pub mod registry_auth;
pub mod routing;
pub mod run_history;
pub mod run_lessons;
pub mod run_spend;
pub mod run_state;
pub mod sandbox_dir;
pub mod schedule;
pub mod survival;
pub mod tick_deadline;
pub mod tick_errors;
pub mod turn_reason;
pub mod undo;
pub mod workspace_pr;
pub mod zero_touch;

/// `1 run`, `2 runs`, `0 runs`: a count with the word that fits it.
pub fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_count_takes_the_singular_only_for_one() {
        for (n, want) in [(0, "0 runs"), (1, "1 run"), (2, "2 runs")] {
            assert_eq!(super::plural(n, "run", "runs"), want);
        }
    }
}
