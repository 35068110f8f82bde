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
/// repositories' ids ([`RepoIds`]) and the votes' first sightings
/// ([`VotesSeen`]), both the state file's.
#[derive(Debug, Clone)]
pub struct Books {
    pub repo_ids: Arc<dyn RepoIds>,
    pub votes_seen: Arc<dyn VotesSeen>,
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
