//! What a kind's forge may need of the config beside its client (its own
//! module: the profile names each kind's constructor, and a forge that
//! takes a [`Setup`] must not import the profile back).

use std::sync::Arc;

/// What a kind's forge may need of the config beside its client; the
/// binary fills it from `[forge]` and `[forge.azure_devops]`, and for a
/// tick hands in where repositories' ids are kept ([`RepoIds`]).
#[derive(Debug, Clone, Default)]
pub struct Setup {
    /// where identities are read (`forge.vssps_url`, its default resolved)
    pub vssps_url: String,
    /// the work-item types afk dispatches
    pub work_item_types: Vec<String>,
    /// the state a work item moves to on success ("": the type's first Completed)
    pub close_state: String,
    /// `(project/repository, area path)` of each allowlisted repository
    pub area_paths: Vec<(String, String)>,
    /// an Entra token's `exp` (Unix seconds, read unverified), for doctor;
    /// None with a PAT
    pub entra_expiry: Option<i64>,
    /// `poll.trusted_users`: on Azure DevOps an entry may be an identity's
    /// id (a GUID), which only the identity read tells; a `uniqueName` is
    /// the login there, compared by the core as every kind's login is
    pub trusted_users: Vec<String>,
    /// where the ids of a repository's first read are kept between ticks:
    /// the state file's, handed in by the binary's edges for a tick; None
    /// outside a tick (a command's forge reads by the names)
    pub repo_ids: Option<Arc<dyn RepoIds>>,
    /// when each reviewer's vote was first seen at its value: the state
    /// file's, handed in with `repo_ids`; None outside a tick (a vote no
    /// system comment dates is then undated)
    pub votes_seen: Option<Arc<dyn VotesSeen>>,
    /// afk's own labels in the config's spelling: a forge that compares
    /// label names without case answers each in this spelling
    /// (`model::spelled`)
    pub labels: Vec<String>,
}

/// What the binary's edges hand a tick's forge to keep between ticks: the
/// repositories' ids ([`RepoIds`]), the votes' first sightings
/// ([`VotesSeen`]) and a tracker's issue numbers ([`IssueNumbers`]), all
/// the state file's.
#[derive(Debug, Clone)]
pub struct Books {
    pub repo_ids: Arc<dyn RepoIds>,
    pub votes_seen: Arc<dyn VotesSeen>,
    /// a tracker's issue numbers ([`IssueNumbers`]), the state file's
    pub issue_numbers: Arc<dyn IssueNumbers>,
    /// the agent sessions `afk hook` heard of ([`AgentSessions`])
    pub agent_sessions: Arc<dyn AgentSessions>,
    /// where the tracker's spent rate limit is kept between ticks
    /// (`afk_http::RateCarry`)
    pub tracker_rate: Arc<dyn crate::http::RateCarry>,
}

/// The agent sessions (Linear's Agents API) whose `created` delivery
/// `afk hook` verified, each with the issue the delivery named: a hint,
/// which the tracker checks with Linear's own answer before it counts
/// (docs/trackers.md#linears-agents-api). Kept beside the state file by
/// the binary's edges.
pub trait AgentSessions: Send + Sync + std::fmt::Debug {
    /// The sessions heard of for issue `issue` (the tracker's id).
    fn heard(&self, issue: &str) -> anyhow::Result<Vec<String>>;
}

/// No session heard of: a command's tracker outside a tick.
#[derive(Debug, Default)]
pub struct NoSessions;

impl AgentSessions for NoSessions {
    fn heard(&self, _issue: &str) -> anyhow::Result<Vec<String>> {
        Ok(vec![])
    }
}

/// Where a kind whose reviewer list dates no vote (Azure DevOps) keeps
/// when it first saw each vote at its value, for a vote no system comment
/// dates: the caller's (the state file's `forge_votes` table, through the
/// binary's edges). A dry run's reads and never writes. A failure is the
/// caller's error: a vote is not dated by a guess.
pub trait VotesSeen: Send + Sync + std::fmt::Debug {
    /// When `voter`'s (an identity id) `vote` on pull request `pr` was first
    /// seen: the kept moment while the vote is the one kept, else this
    /// tick's, which is kept (RFC 3339).
    fn first_seen(&self, pr: &str, voter: &str, vote: i64) -> anyhow::Result<String>;
}

/// Where a kind that addresses a repository by ids after its first read
/// (Azure DevOps: the project's and the repository's GUIDs) keeps them
/// between ticks, by the allowlist's name lower-cased: the caller's (the
/// state file's `forge_ids` table, through the binary's edges), so the
/// forge never opens the store itself. A dry run's reads and never writes.
/// Unlike a cache, a failure is the caller's error: ids that cannot be read
/// must never become a read by the name, which a rename may have given
/// another repository.
pub trait RepoIds: Send + Sync + std::fmt::Debug {
    /// The `(project id, repository id)` recorded for `name` (lower-cased
    /// `project/repository`), None when none are.
    fn recorded(&self, name: &str) -> anyhow::Result<Option<(String, String)>>;
    /// Record them for `name`, at its first read; the first record stays
    /// (a later one of the same name changes nothing).
    fn record(&self, name: &str, project_id: &str, repository_id: &str) -> anyhow::Result<()>;
}

/// Where a tracker whose issue ids are no numbers (Linear's UUIDs) keeps
/// afk's number for each, given at its first sighting and never changed:
/// the caller's (the state file's `tracker_ids` table, through the
/// binary's edges), so a run records a number as a forge run does and the
/// tracker is asked by the id. A failure is the caller's error: an issue
/// is never read by a guessed id.
pub trait IssueNumbers: Send + Sync + std::fmt::Debug {
    /// afk's number for the tracker's issue `id`.
    fn number(&self, id: &str) -> anyhow::Result<u64>;
    /// The issue id numbered `n`; None when no id is.
    fn id(&self, n: u64) -> anyhow::Result<Option<String>>;
}

/// Numbers kept in memory alone, for a command's tracker outside a tick
/// (doctor): valid while the process lives, recorded on no run.
#[derive(Debug, Default)]
pub struct NumbersInMemory(std::sync::Mutex<Vec<String>>);

impl IssueNumbers for NumbersInMemory {
    fn number(&self, id: &str) -> anyhow::Result<u64> {
        let mut ids = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let at = match ids.iter().position(|i| i == id) {
            Some(at) => at,
            None => {
                ids.push(id.to_string());
                ids.len() - 1
            }
        };
        Ok(at as u64 + 1)
    }
    fn id(&self, n: u64) -> anyhow::Result<Option<String>> {
        let ids = self.0.lock().unwrap_or_else(|e| e.into_inner());
        Ok(n.checked_sub(1).and_then(|i| ids.get(i as usize)).cloned())
    }
}
