//! The ticks' operations: poll, watch, harvest and upgrade, each one body
//! over the one `Tick` and a [`Scope`]. A command (`commands/<x>.rs`) parses
//! its arguments and calls its operation; the demo, the benchmark and any
//! other entry point (a webhook-started tick) call the same operations, so
//! no command names another.
//!
//! poll and watch take a [`Scope`]; harvest is always over every ended run
//! (a canary's figures are its template's runs in every repository) and
//! upgrade over the recipes it is given.
//!
//! The loop on events is `event_loop`: every entry point's watch
//! (cron's, `afk hook`'s, a turn's end's, the demo's) and its
//! preconditions, an event's scoped tick, its slot or fold, its follow-ups
//! and the follow-up watch; `afk hook` and `afk watch` only call it.
//!
//! Below the commands, above the shared tick code (`tick.rs`, `edges/`,
//! `claims.rs`, `budget.rs`, `page/`): an operation names no command.

pub mod event_loop;
pub mod harvest;
pub mod poll;
pub mod session_ack;
pub mod upgrade;
pub mod watch;

use crate::store::runs::Run;
use crate::types::{RepoName, RunId};

/// What a tick is over: every allowlisted repository (cron's tick), one
/// repository (an event about it), or one run.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Scope {
    #[default]
    All,
    Repo(RepoName),
    Run(RunId),
}

impl Scope {
    /// Whether a repository is in scope (a run scope names runs, not
    /// repositories: every repository is, and its runs are filtered).
    pub fn has_repo(&self, repo: &RepoName) -> bool {
        match self {
            Scope::Repo(r) => r == repo,
            Scope::All | Scope::Run(_) => true,
        }
    }

    /// Whether a run is in scope.
    pub fn has_run(&self, run: &Run) -> bool {
        match self {
            Scope::All => true,
            Scope::Repo(r) => *r == run.repo,
            Scope::Run(id) => *id == run.id,
        }
    }

    /// How the scope reads in a log line: empty for every repository.
    pub fn said(&self) -> String {
        match self {
            Scope::All => String::new(),
            Scope::Repo(r) => format!(" (scope: {r})"),
            Scope::Run(id) => format!(" (scope: run {id})"),
        }
    }
}
