//! What a tick reads of the config that is derived rather than written:
//! the forge kind's profile, who does the git around a turn, the agent and
//! how its spend is metered, the derived durations and the canary's policy;
//! and the keys watch hears a run's conversation by: whether and how a
//! comment commands, whose words count. Resolved once, when the tick opens
//! (`edges::Adapters::open`, kept as `Tick::settled`), so an operation
//! reads a value, never recomputes it, and none branches on the config's
//! raw keys.

use super::Config;
use crate::core::budget::spend::Meter;
use crate::core::canary::Policy;
use crate::forge::Profile;
use crate::types::{Access, AgentKind, Workspace};
use std::time::Duration;

/// A tick's settings, resolved once ([`Config::settled`]).
#[derive(Debug, Clone)]
pub struct Settled {
    /// `forge.kind`'s profile: closing words, a PR's sigil and web path.
    pub profile: &'static Profile,
    /// Who does the git around a turn, as a turn's prompt words it (ticks
    /// ask their `Checkouts` whether afk does, never this).
    pub workspace: Workspace,
    /// The agent program (`runner.agent`, or what `runner.command` implies).
    pub agent: AgentKind,
    /// How the ledger reads the agent's spend.
    pub meter: Meter,
    /// A run with no progress for this long is stalled (`runner.stall_after`).
    pub stall_after: Duration,
    /// How long a forge call may take (`forge.timeout`): an unanswered
    /// POST is not sent again before it has passed.
    pub forge_timeout: Duration,
    /// The canary decision's `[harvest]` keys.
    pub canary: Policy,
    /// What a comment's command begins with (`watch.command_prefix`);
    /// empty: no comment is a command, and watch reads none for one.
    pub command_prefix: String,
    /// The agent's own forge account (`runner.agent_login`; empty: unset):
    /// never trusted, its words no command, its PR the run's.
    pub agent_login: String,
    /// The logins trusted by name (`poll.trusted_users`): the ready
    /// label's rule (`core::dispatch::trust`), which says who may speak
    /// to afk.
    pub trusted_users: Vec<String>,
    /// The access on the repository anyone else needs by that rule
    /// (`poll.trusted_permission`).
    pub trusted_permission: Access,
}

impl Config {
    /// The derived settings a tick reads, resolved now.
    pub fn settled(&self) -> Settled {
        Settled {
            profile: self.profile(),
            workspace: self.runner.workspace(),
            agent: self.runner.agent(),
            meter: self.runner.meter(),
            stall_after: self.stall_after(),
            forge_timeout: self.forge_timeout(),
            canary: self.harvest.policy(),
            command_prefix: self.watch.command_prefix.clone(),
            agent_login: self.runner.agent_login.clone(),
            trusted_users: self.poll.trusted_users.clone(),
            trusted_permission: self.poll.trusted_permission,
        }
    }
}
