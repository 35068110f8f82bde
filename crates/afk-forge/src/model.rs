//! The forge-neutral shapes every [`super::Forge`] answers in. They deserialize
//! from Gitea's JSON directly (its field names); other dialects map into them.

pub use crate::types::{BranchUpdate, LineComment, LineComments, Review, ReviewState, UpdateStyle};
use crate::types::{IssueNumber, PrNumber};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Deserialize, Serialize, Default)]
pub struct User {
    #[serde(default)]
    pub id: i64,
    pub login: String,
}

/// One of a repository's webhooks: where it posts, and whether it is on.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct HookInfo {
    pub url: String,
    pub active: bool,
}

/// A hook as Gitea and GitHub list it (`GET /repos/{o}/{r}/hooks`).
#[derive(Deserialize)]
pub(crate) struct WireHook {
    #[serde(default = "yes")]
    active: bool,
    /// Gitea's kind of hook (`gitea`, `slack`, `discord`, …); GitHub's is
    /// `Repository` or `Organization`
    #[serde(default, rename = "type")]
    pub(crate) kind: String,
    #[serde(default)]
    config: WireHookConfig,
}

#[derive(Deserialize, Default)]
struct WireHookConfig {
    #[serde(default)]
    url: String,
}

fn yes() -> bool {
    true
}

/// A list the forge may send as `null`: none.
fn null_is_none<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Vec<T>, D::Error> {
    Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
}

impl From<WireHook> for HookInfo {
    fn from(w: WireHook) -> Self {
        HookInfo {
            url: w.config.url,
            active: w.active,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Label {
    pub id: i64,
    pub name: String,
}

#[derive(Debug, Clone, Deserialize, Serialize, Default)]
pub struct RepoMeta {
    #[serde(default)]
    pub full_name: String,
}

/// Whether an issue or pull request is open, as both forges spell it. A
/// merged pull request is `Closed` (with `merged` set).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    Open,
    Closed,
    /// missing, or a word neither forge uses: neither open nor closed
    #[default]
    #[serde(other)]
    Unknown,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Open => "open",
            State::Closed => "closed",
            State::Unknown => "unknown",
        }
    }
}

impl std::fmt::Display for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Issue {
    #[serde(default)]
    pub id: i64,
    pub number: IssueNumber,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub body: Option<String>,
    #[serde(default)]
    pub state: State,
    /// Gitea sends `null` for no labels where it could not load the issue
    /// (a blocker it hides from afk's account: docs/fidelity/gitea.md)
    #[serde(default, deserialize_with = "null_is_none")]
    pub labels: Vec<Label>,
    #[serde(default)]
    pub html_url: String,
    #[serde(default)]
    pub pull_request: Option<serde_json::Value>,
    #[serde(default)]
    pub repository: Option<RepoMeta>,
    /// Who opened it (doctor: may afk's account edit the status issue?).
    #[serde(default)]
    pub user: Option<User>,
    /// When anything about the issue last changed (RFC 3339).
    #[serde(default)]
    pub updated_at: Option<String>,
}

/// The open issues of a list that carry `label`, pull requests left out. The
/// label is re-checked: a forge may drop an unknown label from its filter and
/// answer every open issue.
pub fn open_issues_with(all: Vec<Issue>, label: &str) -> Vec<Issue> {
    all.into_iter()
        .filter(|i| !i.is_pull() && i.has_label(label) && i.state != State::Closed)
        .collect()
}

/// A label's name in afk's own spelling, on a forge that compares label
/// names without case (GitHub: a repository cannot hold `bug` and `Bug`, and
/// adding `bug` attaches the `Bug` it has, in its own spelling): the name of
/// `ours` (the config's labels) it equals without case, else as it came.
/// Every name afk reads passes here on such a forge, so the rest of afk
/// compares names exactly (docs/fidelity/github.md).
pub fn spelled(name: String, ours: &[String]) -> String {
    let folded = name.to_lowercase();
    match ours.iter().find(|o| o.to_lowercase() == folded) {
        Some(o) => o.clone(),
        None => name,
    }
}

impl Issue {
    /// Its label names in afk's spelling ([`spelled`]).
    pub fn spelled(mut self, ours: &[String]) -> Issue {
        for l in &mut self.labels {
            l.name = spelled(std::mem::take(&mut l.name), ours);
        }
        self
    }

    pub fn has_label(&self, name: &str) -> bool {
        self.labels.iter().any(|l| l.name == name)
    }
    pub fn is_pull(&self) -> bool {
        self.pull_request.as_ref().is_some_and(|v| !v.is_null())
    }
}

pub use crate::types::{TimelineEvent, TimelineKind as EventKind};

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Comment {
    pub id: i64,
    #[serde(default)]
    pub body: String,
    #[serde(default)]
    pub html_url: String,
    /// The author: only comments by afk's own account are afk's.
    #[serde(default)]
    pub user: Option<User>,
    #[serde(default)]
    pub created_at: Option<String>,
    /// When its body was last changed (both forges send it; equal to
    /// `created_at`, or within its second, when never edited).
    #[serde(default)]
    pub updated_at: Option<String>,
    /// GitHub's GraphQL id (`IC_…`): its `lastEditedAt` tells an edit its
    /// dates cannot
    #[serde(default)]
    pub node_id: Option<String>,
}

impl Comment {
    /// Edited after it was written (beyond the forge's own second): an
    /// edited comment is nobody's command and no trusted answer.
    pub fn edited(&self) -> bool {
        afk_wire::edits::edited(self.created_at.as_deref(), self.updated_at.as_deref())
    }

    pub fn author(&self) -> &str {
        self.user.as_ref().map(|u| u.login.as_str()).unwrap_or("")
    }
}

#[derive(Debug, Clone, Deserialize, Serialize, Default)]
pub struct Branch {
    #[serde(rename = "ref", default)]
    pub name: String,
    #[serde(default)]
    pub sha: String,
    /// The repository the branch lives in: a fork's differs from the base's.
    /// None where the forge no longer says (Gitea, once a merged PR's head
    /// branch is deleted: `head.repo` is `null`).
    #[serde(default)]
    pub repo: Option<RepoMeta>,
    /// Gitea's and GitHub's `label` as the forge sent it (Gitea: the head
    /// branch's name, kept when its `ref` becomes `refs/pull/{n}/head`);
    /// read by the Gitea adapter only.
    #[serde(default, skip_serializing)]
    pub label: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize, Default)]
pub struct PullRequest {
    pub number: PrNumber,
    /// Its title: Gitea's `mergeable` depends on it (see [`PullRequest::mergeable`]).
    #[serde(default)]
    pub title: String,
    /// Whether it is a draft, where the forge says (Gitea: a work-in-progress
    /// title, by the instance's own prefixes; GitHub: a draft PR).
    #[serde(default)]
    pub draft: Option<bool>,
    #[serde(default)]
    pub state: State,
    #[serde(default)]
    pub merged: bool,
    #[serde(default)]
    pub merge_commit_sha: Option<String>,
    #[serde(default)]
    pub head: Branch,
    #[serde(default)]
    pub body: Option<String>,
    #[serde(default)]
    pub html_url: String,
    /// Who opened it.
    #[serde(default)]
    pub user: Option<User>,
    #[serde(default)]
    pub merged_at: Option<String>,
    /// The branch it merges into (harvest watches it for reverts).
    #[serde(default)]
    pub base: Branch,
    /// Whether the forge can merge it as it stands: `None` when the forge
    /// did not say (GitHub's `null` while it is still computing, or a list
    /// that does not carry it): ask again later, never read it as `false`.
    /// Gitea answers `false` while it is still checking, and for every
    /// work-in-progress PR (its adapter reads that `false` as `None`:
    /// docs/fidelity/gitea.md).
    #[serde(default)]
    pub mergeable: Option<bool>,
}

impl PullRequest {
    pub fn author(&self) -> &str {
        self.user.as_ref().map(|u| u.login.as_str()).unwrap_or("")
    }
    pub fn head_repo(&self) -> Option<&str> {
        self.head.repo.as_ref().map(|r| r.full_name.as_str())
    }
    /// Open and not merged: the one test of an open PR watch asks.
    pub fn is_open(&self) -> bool {
        self.state == State::Open && !self.merged
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct CommitStatus {
    #[serde(default)]
    pub context: String,
    /// Gitea names the state `status` in this object (`state` when creating one).
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub target_url: Option<String>,
    /// When the status was last set: the upgrade verdict counts only a status
    /// newer than afk's latest test request (an older GREEN is stale).
    #[serde(default)]
    pub updated_at: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize, Default)]
pub struct CombinedStatus {
    #[serde(default)]
    pub state: String,
    #[serde(default)]
    pub sha: String,
    #[serde(default)]
    pub statuses: Option<Vec<CommitStatus>>,
}

// upgrade

/// The author or committer of a commit, as a branch's head names them.
#[derive(Debug, Clone, Deserialize, Serialize, Default)]
pub struct CommitPerson {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub email: String,
}

/// A branch's head commit (Gitea's `PayloadCommit`, the fields afk reads).
#[derive(Debug, Clone, Deserialize, Serialize, Default)]
pub struct HeadCommit {
    /// the commit's sha
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub message: String,
    #[serde(default)]
    pub committer: Option<CommitPerson>,
}

/// A branch and its head commit: who made the latest commit decides whether
/// afk may push to it (only to branches whose head afk made).
#[derive(Debug, Clone, Deserialize, Serialize, Default)]
pub struct BranchHead {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub commit: HeadCommit,
}

/// What a comment or a reaction is on: an issue or a pull request. Gitea
/// and GitHub number both in one sequence (a PR's comments are its issue's);
/// a forge that does not (GitLab: merge-request notes) maps each its own way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Target {
    Issue(IssueNumber),
    Pr(PrNumber),
}

impl Target {
    /// Its number in its own sequence: the one sequence of Gitea and GitHub,
    /// where a PR's thread is its issue's (their `issues/{n}/comments`).
    pub fn number(self) -> u64 {
        match self {
            Target::Issue(n) => n.0,
            Target::Pr(n) => n.0,
        }
    }

    /// The pull request it is, when it is one.
    pub fn pr(self) -> Option<PrNumber> {
        match self {
            Target::Pr(n) => Some(n),
            Target::Issue(_) => None,
        }
    }
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.number())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_label_name_that_differs_only_in_case_is_spelled_as_afks() {
        let ours = vec![
            "ready-for-agent".to_string(),
            "agent-in-progress".to_string(),
        ];
        // (as the forge answered, as afk reads it)
        let table = [
            ("Ready-For-Agent", "ready-for-agent"),
            ("AGENT-IN-PROGRESS", "agent-in-progress"),
            ("ready-for-agent", "ready-for-agent"),
            ("Bug", "Bug"),
            ("ready-for-agents", "ready-for-agents"),
        ];
        for (answered, read) in table {
            assert_eq!(spelled(answered.into(), &ours), read, "{answered}");
        }
        assert_eq!(spelled("Ready-For-Agent".into(), &[]), "Ready-For-Agent");
    }
}
