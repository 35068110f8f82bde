//! The forge adapter: the [`Forge`] every command talks to (its
//! [`ForgeReads`] and [`ForgeWrites`]), its
//! forge-neutral shapes (`model`), the HTTP plumbing (`http`), the
//! Gitea/Forgejo v1 implementation (`gitea`), the GitHub REST one
//! (`github`) and the GitLab v4 one (`gitlab`). The commands' unit tests'
//! in-memory forge is a crate of its own (`afk-forge-memory`, a
//! dev-dependency: test code apart from the forges).
//!
//! Its own crate (`afk-forge`): it never sees the config, the store or a
//! command. The binary's edges build the one the config names
//! (`edges::forges`) and hand it the store's caches; the binary re-exports
//! it as `afk::forge`.

pub mod app;
pub mod azure;
pub mod commits;
pub mod gitea;
pub mod github;
pub mod gitlab;
mod gitlab_doctor;
mod gitlab_talk;
pub mod jira;
pub mod linear;
mod memo;
/// The HTTP helper every forge call goes through: the `afk-http` crate.
pub use afk_http as http;
pub mod model;
pub mod profile;
pub mod rest;
mod reviews;
pub mod setup;
pub mod tracked;
pub mod tracker;

pub use commits::{Commit, FileDiff};
pub use gitea::Gitea;
pub use github::Github;
pub use http::{Failure, ForgeError, LastTry, fan_out};

// the paths this crate's files name, as in the binary they came from
// (afk-wire is the part of afk-core they use, re-exported there under the
// same names: `crate::core::sanitize` is `afk_core::sanitize`)
use afk_host::clock;
use afk_model as types;
use afk_wire as core;
pub use model::*;

/// A label afk names that the repository does not have, where adding it
/// would fail or make it (Gitea's add takes a label's id; GitLab makes a
/// label it is handed): callers tell it from any other failure by type
/// (`anyhow::Error::downcast_ref`), to make the label or go on without it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoSuchLabel {
    pub repo: String,
    pub name: String,
    /// what the forge would do with it, for the words (`""`: nothing)
    pub note: &'static str,
}

impl std::fmt::Display for NoSuchLabel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "forge: label \"{}\" does not exist in {}{}: create it (afk init --create-labels)",
            self.name, self.repo, self.note
        )
    }
}
impl std::error::Error for NoSuchLabel {}

/// The forge or the tracker refused to close an issue for a reason only a
/// person can change (Gitea: its dependencies are still open, a `412`;
/// Jira: no transition into Done is afk's to make, or Jira refused the one
/// there is; Linear: the team has no state to finish it in): the issue
/// stays open, and asking again changes nothing. Callers tell it from any
/// other failure by type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloseRefused {
    /// the issue, as its service names it (`acme/api#3`, `PLAT-7`)
    pub issue: String,
    /// why, in afk's words
    pub why: String,
}

impl std::fmt::Display for CloseRefused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} was not closed: {}", self.issue, self.why)
    }
}
impl std::error::Error for CloseRefused {}
pub use profile::{ForgeKind, Profile, Setup};

use crate::types::{IssueNumber, Permission, PrNumber, RepoName};
use anyhow::Result;

/// What afk reads on a forge (and what its client counts). `repo` is always
/// `owner/name` from the allowlist (validated at config load);
/// implementations encode it. Every forge kind implements it and
/// [`ForgeWrites`]; a wrapper that writes otherwise (a dry run's) hands its
/// reads on through [`Forge::reads`]. Every method a tick needs is
/// required: Gitea/Forgejo, GitHub and GitLab each have every capability
/// here, so a new kind that lacks one is a compile error, never a run-time
/// refusal; a capability some kinds lack would be a trait of its own that
/// only they implement, asked for with an accessor returning `Option`.
/// The provided methods are tunings with a right answer for every kind
/// (counts, revalidation, labels made on the fly, doctor lines, git's
/// credentials).
pub trait ForgeReads: Send + Sync {
    /// Requests sent so far in this tick (for reports and the benchmark).
    fn requests(&self) -> usize;
    /// Of those, the ones that cost rate limit (GitHub: every answer but a 304).
    fn costly_requests(&self) -> usize {
        self.requests()
    }
    /// At a tick's end: read again, once, the lists this tick's own writes
    /// changed (a checklist edited, a label moved), where reads are
    /// conditional (GitHub), so the next tick's `If-None-Match` matches and
    /// an idle tick after a busy one costs no rate limit. Nothing by default.
    fn revalidate(&self, _concurrency: usize) {}
    /// Whether adding a label the repo does not have creates it (GitHub), so
    /// a missing label need not stop a dispatch. False by default (Gitea
    /// refuses an unknown label).
    fn adds_missing_labels(&self) -> bool {
        false
    }
    /// Forge-specific `afk doctor` lines (GitHub: the token's kind and scopes,
    /// the rate limit left). None by default.
    fn diagnose(&self) -> Vec<Diagnosis> {
        vec![]
    }
    /// The token afk uses, where the forge describes it (GitLab's `GET
    /// /personal_access_tokens/self`: scopes, expiry) for `afk doctor`. None:
    /// the forge says nothing more than [`ForgeReads::diagnose`].
    fn token_info(&self) -> Option<Result<TokenInfo>> {
        None
    }
    /// Whether this tick may still make its optional reads (doctor's, the
    /// once-a-tick rereads of lists that did not change): false once the
    /// forge slowed afk down (Azure DevOps' `X-RateLimit-Delay` or
    /// `X-RateLimit-Remaining: 0`). True by default.
    fn optional_reads(&self) -> bool {
        true
    }
    /// The repository's default branch and its branch protection rules
    /// (GitLab's `protected_branches`) for `afk doctor`. None: the forge's
    /// rules are not read.
    fn branch_rules(&self, _repo: &RepoName) -> Option<Result<BranchRules>> {
        None
    }
    /// afk's own account.
    fn me(&self) -> Result<User>;
    /// The user and password git pushes with, when the forge decides them
    /// (a GitHub App: `x-access-token` and the installation token). None:
    /// afk's login and the configured token.
    fn git_credentials(&self) -> Option<Result<(String, String)>> {
        None
    }
    /// Whether afk's git may go to `repo` by its name now (git's fetch and
    /// push address a repository by name): an error when the repository
    /// afk first read is named otherwise now, as its old name may be
    /// another's (Azure DevOps). Every other kind: yes, as the forge's own
    /// redirects and the allowlist re-check decide there.
    fn git_by_name(&self, _repo: &RepoName) -> Result<()> {
        Ok(())
    }
    /// Open issues (never pull requests) carrying `label`, every page.
    fn issues_with_label(&self, repo: &RepoName, label: &str) -> Result<Vec<Issue>>;
    fn issue(&self, repo: &RepoName, number: IssueNumber) -> Result<Issue>;
    fn timeline(&self, repo: &RepoName, number: IssueNumber) -> Result<Vec<TimelineEvent>>;
    /// The collaborator's permission (`none` for a stranger), ranked and with
    /// the forge's word; an error with status 403 when the forge refuses the lookup.
    fn permission(&self, repo: &RepoName, login: &str) -> Result<Permission>;
    /// The trust of `login`, who armed issue `number`: on a forge, their
    /// permission on the repository ([`ForgeReads::permission`]); with a
    /// tracker beside the forge, the tracker's own rule on its own accounts
    /// (docs/trackers.md#who-is-trusted).
    fn armer_permission(
        &self,
        repo: &RepoName,
        number: IssueNumber,
        login: &str,
    ) -> Result<Permission> {
        let _ = number;
        self.permission(repo, login)
    }
    /// The key and web address of a run's issue where it is a tracker's
    /// (`PLAT-123`, its browse URL: docs/trackers.md); None: a forge issue,
    /// named `#N`.
    fn tracker_ref(
        &self,
        repo: &RepoName,
        number: IssueNumber,
    ) -> Result<Option<(String, String)>> {
        let _ = (repo, number);
        Ok(None)
    }
    /// How many nodes of a tracker issue's description afk did not know
    /// (`Tracker::unknown_nodes`); none for a forge issue.
    fn tracker_unknown_nodes(&self, repo: &RepoName, number: IssueNumber) -> Result<usize> {
        let _ = (repo, number);
        Ok(0)
    }
    /// The tracker's issues carrying `label` that the map sends to no
    /// repository or to several (docs/trackers.md#the-map): worked on
    /// nowhere, and said as poll's skips. None on a forge.
    fn unplaced(&self, label: &str) -> Result<Vec<Unplaced>> {
        let _ = label;
        Ok(vec![])
    }
    /// Whether anyone may read the repository (the forge's `private` is
    /// false; GitHub's `visibility` is `public`): afk's comments there quote
    /// none of an agent's own text.
    fn is_public(&self, repo: &RepoName) -> Result<bool>;
    /// The repository's webhooks (`afk doctor`: is the forge's webhook for
    /// `afk hook` configured); an error with 403 or 404 when the token may
    /// not read them.
    fn hooks(&self, repo: &RepoName) -> Result<Vec<HookInfo>>;
    /// Issues this one depends on; none when the feature is off.
    fn dependencies(&self, repo: &RepoName, number: IssueNumber) -> Result<Vec<Issue>>;
    /// The repo's labels, fetched at most once per tick.
    fn repo_labels(&self, repo: &RepoName) -> Result<Vec<Label>>;
    /// The comments on issue or pull request `on`, every page.
    fn comments(&self, repo: &RepoName, on: Target) -> Result<Vec<Comment>>;
    fn open_pulls(&self, repo: &RepoName) -> Result<Vec<PullRequest>>;
    /// The most recently updated closed (or merged) pull requests: one page.
    fn recent_closed_pulls(&self, repo: &RepoName) -> Result<Vec<PullRequest>>;
    fn pull(&self, repo: &RepoName, number: PrNumber) -> Result<PullRequest>;
    /// The combined status of a commit (its latest status per context).
    fn combined_status(&self, repo: &RepoName, sha: &str) -> Result<CombinedStatus>;
    /// The commits of `branch`, newest first, down to (without) the first one
    /// older than `since`: what harvest reads to find reverted merges
    /// (docs/how-it-works.md#afk-harvest-and-the-template-canary).
    fn commits(
        &self,
        repo: &RepoName,
        branch: &str,
        since: time::OffsetDateTime,
    ) -> Result<Vec<Commit>>;
    /// What commit `sha` changed against its first parent (a merge: what it
    /// brought into its base branch), file by file: what harvest compares to
    /// tell a revert from a message that only says so
    /// (docs/how-it-works.md#afk-harvest-and-the-template-canary).
    fn diff(&self, repo: &RepoName, sha: &str) -> Result<Vec<FileDiff>>;
    /// A branch and its head commit; `None` when the branch does not exist.
    fn branch(&self, repo: &RepoName, name: &str) -> Result<Option<BranchHead>>;
    /// The reviews of pull request `pr` afk's account sees, oldest first (the
    /// latest `core::review_bounds::REVIEWS_MAX` when there are more), each
    /// body kept to `core::review_bounds::REVIEW_BODY_BYTES`. Conditional
    /// where the forge allows it: an unchanged list costs no rate limit.
    fn reviews(&self, repo: &RepoName, pr: PrNumber) -> Result<Vec<Review>>;
    /// The line comments of review `review` of pull request `pr`, in the
    /// forge's order, kept as `core::review_bounds::keep_line_comments` says
    /// (the cut said by `more`); reading stops once more than can be kept were seen.
    fn line_comments(&self, repo: &RepoName, pr: PrNumber, review: i64) -> Result<LineComments>;
    /// Whether comment `c` was ever edited, where the forge tells it apart
    /// from its dates (GitHub: GraphQL `lastEditedAt`, set by any edit, even
    /// one in the comment's own second); None where it does not.
    fn comment_ever_edited(&self, c: &crate::model::Comment) -> Result<Option<bool>> {
        let _ = c;
        Ok(None)
    }
    /// Who reacted to comment `comment` of issue or PR `on`, and with what:
    /// (login, content), GitLab's award `thumbsup` read as `+1`; the first
    /// [`REACTIONS_MAX`] only (one page): what afk asks of its own question
    /// (`core::command_proof`).
    fn reactions(&self, repo: &RepoName, on: Target, comment: i64)
    -> Result<Vec<(String, String)>>;
    /// The ids of pull request `pr`'s line comments in resolved threads,
    /// where the forge shows resolution only apart from its REST answers
    /// (GitHub: one GraphQL `reviewThreads` query); None where the line
    /// comments already say (Gitea's `resolver`, GitLab's discussions).
    fn resolved_line_comments(
        &self,
        repo: &RepoName,
        pr: PrNumber,
    ) -> Result<Option<std::collections::HashSet<i64>>> {
        let _ = (repo, pr);
        Ok(None)
    }
}

/// Gitea's default work-in-progress title prefix (`[repository.pull-request]
/// WORK_IN_PROGRESS_PREFIXES`): a PR so titled cannot be merged there.
pub const WIP_PREFIX: &str = "WIP: ";

/// How many reactions on one comment afk reads: one page
/// ([`ForgeReads::reactions`]).
pub const REACTIONS_MAX: usize = 50;

/// What afk changes on a forge: every method here writes. A dry run's forge
/// implements only these (recording them) and reads through the real one.
pub trait ForgeWrites: Send + Sync {
    fn add_label(&self, repo: &RepoName, number: IssueNumber, name: &str) -> Result<()>;
    /// Removing a label the issue does not carry is not an error.
    fn remove_label(&self, repo: &RepoName, number: IssueNumber, name: &str) -> Result<()>;
    fn create_label(&self, repo: &RepoName, name: &str, color: &str) -> Result<()>;
    fn create_comment(&self, repo: &RepoName, on: Target, body: &str) -> Result<Comment>;
    /// Answer comment `to` of `on` where it was said: a reply in its thread
    /// where the forge keeps threads (Azure DevOps' PR threads); by default
    /// a new comment on `on`.
    fn reply_to_comment(
        &self,
        repo: &RepoName,
        on: Target,
        to: i64,
        body: &str,
    ) -> Result<Comment> {
        let _ = to;
        self.create_comment(repo, on, body)
    }
    /// Edit comment `id` (afk's own) on issue or PR `on`: GitLab names a
    /// note by its issue or merge request; Gitea and GitHub by its id alone.
    fn edit_comment(&self, repo: &RepoName, on: Target, id: i64, body: &str) -> Result<Comment>;
    fn close_issue(&self, repo: &RepoName, number: IssueNumber) -> Result<()>;
    /// Replace an issue's body (the status issue's: `status_issue` in
    /// docs/configuration.md) or a PR's (watch's refreshed PR body): Gitea
    /// and GitHub edit both as the issue of that number.
    fn edit_issue_body(&self, repo: &RepoName, on: Target, body: &str) -> Result<()>;
    /// Open a pull request from `head` (a branch of `repo`) into `base`.
    fn create_pull(
        &self,
        repo: &RepoName,
        head: &str,
        base: &str,
        title: &str,
        body: &str,
    ) -> Result<PullRequest>;
    /// Open a pull request as a draft (`[gate] draft`): GitHub's `draft`,
    /// GitLab's `Draft: `; by default Gitea's and Forgejo's work-in-progress
    /// title prefix ([`WIP_PREFIX`]).
    fn create_draft_pull(
        &self,
        repo: &RepoName,
        head: &str,
        base: &str,
        title: &str,
        body: &str,
    ) -> Result<PullRequest> {
        self.create_pull(repo, head, base, &format!("{WIP_PREFIX}{title}"), body)
    }
    /// Close a pull request without merging it.
    /// Tell the run's issue where its pull request is (`merged`: and that it
    /// merged), where the issue is a tracker's: a link on the tracker issue
    /// (docs/trackers.md). Nothing on a forge, whose PR names its issue.
    fn link_pull(
        &self,
        repo: &RepoName,
        issue: IssueNumber,
        pr: &PullRequest,
        merged: bool,
    ) -> Result<()> {
        let _ = (repo, issue, pr, merged);
        Ok(())
    }
    /// Say a step of the run of `issue` where a tracker beside the forge
    /// shows an agent's work (Linear's agent session), once per note's
    /// key. Nothing on a forge.
    fn tell_session(
        &self,
        repo: &RepoName,
        issue: IssueNumber,
        note: &afk_wire::tracker::agent_session::Note,
    ) -> Result<()> {
        let _ = (repo, issue, note);
        Ok(())
    }
    /// A watch tick's look at that place while run `run` is in flight
    /// (`Tracker::session_tick`): who stopped the run there, if anyone.
    fn session_tick(
        &self,
        repo: &RepoName,
        issue: IssueNumber,
        run: u64,
        now_secs: i64,
    ) -> Result<Option<String>> {
        let _ = (repo, issue, run, now_secs);
        Ok(None)
    }
    fn close_pull(&self, repo: &RepoName, number: PrNumber) -> Result<()>;
    /// React with `content` (`eyes`, `+1`, …) on comment `comment` of issue
    /// or PR `on`: afk's quiet acknowledgement. Reacting so again is no error.
    fn react(&self, repo: &RepoName, on: Target, comment: i64, content: &str) -> Result<()>;
    /// Ask the forge to bring pull request `pr`'s branch up to date with its
    /// base (`style`; GitHub merges only) while its head is
    /// `expected_head_sha` (GitHub checks it; Gitea cannot). What the forge
    /// could not do is an answer ([`BranchUpdate`]), not an error.
    /// `under_way` is the token of an update a previous tick asked for on
    /// this base that the forge was still making ([`BranchUpdate::Pending`]):
    /// it is asked after, never asked again.
    fn update_branch(
        &self,
        repo: &RepoName,
        pr: PrNumber,
        style: UpdateStyle,
        expected_head_sha: &str,
        under_way: Option<&str>,
    ) -> Result<BranchUpdate>;
}

/// A forge afk talks to: its writes, and the reads that go with them. A
/// forge kind is one by implementing both traits (the blanket impl below);
/// a wrapper of another forge's reads (the dry run's) implements
/// [`ForgeWrites`] and this trait's [`reads`](Forge::reads). On a `&dyn
/// Forge` a read is called as any method (`forge.pull(..)`): `dyn Forge`
/// dereferences to its reads, the one place they are handed on.
pub trait Forge: ForgeWrites {
    /// Where this forge's reads go: itself, for a forge kind.
    fn reads(&self) -> &(dyn ForgeReads + 'static);
}

impl<T: ForgeReads + ForgeWrites + 'static> Forge for T {
    fn reads(&self) -> &(dyn ForgeReads + 'static) {
        self
    }
}

impl<'a> std::ops::Deref for dyn Forge + 'a {
    type Target = dyn ForgeReads;
    fn deref(&self) -> &Self::Target {
        self.reads()
    }
}

/// The token afk uses as the forge describes it ([`ForgeReads::token_info`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TokenInfo {
    pub scopes: Vec<String>,
    /// `YYYY-MM-DD`; None: it never expires
    pub expires_at: Option<String>,
    /// false: revoked or expired
    pub active: bool,
}

/// A list the forge refuses to show (403, 404: a feature off, a plan
/// without it, a token that may not read it) read as none; any other
/// failure as it is.
pub(crate) fn none_if_refused<T>(r: Result<Vec<T>>) -> Result<Vec<T>> {
    match r {
        Err(e)
            if matches!(
                ForgeError::kind_of(&e),
                Some(Failure::NotFound | Failure::Forbidden)
            ) =>
        {
            Ok(vec![])
        }
        other => other,
    }
}

/// A tracker issue the map places in no repository, or in several
/// ([`ForgeReads::unplaced`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unplaced {
    pub number: IssueNumber,
    pub key: String,
    /// the `[[tracker.map]]` entries that match it, numbered from 1: none
    /// (unmapped) or more than one (ambiguous)
    pub entries: Vec<usize>,
}

/// A repository's default branch and its protection rules
/// ([`ForgeReads::branch_rules`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BranchRules {
    pub default_branch: String,
    /// (the rule's name, a branch or a wildcard such as `afk/*`; the access
    /// levels that may push)
    pub rules: Vec<(String, Vec<i64>)>,
}

/// One forge-specific `afk doctor` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnosis {
    pub check: String,
    pub ok: bool,
    pub detail: String,
    /// not ok, and only a warning (Azure DevOps: a tag not made yet, a
    /// default branch without build validation, bypass holders)
    pub warn: bool,
}

impl Diagnosis {
    pub fn ok(check: &str, detail: String) -> Diagnosis {
        Diagnosis {
            check: check.into(),
            ok: true,
            detail,
            warn: false,
        }
    }
    pub fn fail(check: &str, detail: String) -> Diagnosis {
        Diagnosis {
            check: check.into(),
            ok: false,
            detail,
            warn: false,
        }
    }
    pub fn warn(check: &str, detail: String) -> Diagnosis {
        Diagnosis {
            warn: true,
            ..Diagnosis::fail(check, detail)
        }
    }
}
