//! The forge adapter: the [`Forge`] trait every command talks to, its
//! forge-neutral shapes (`model`), the HTTP plumbing (`http`), the
//! Gitea/Forgejo v1 implementation (`gitea`) and the GitHub REST one
//! (`github`). [`from_config`] / [`for_tick`] build the one the config names.

pub mod app;
pub mod commits;
pub mod gitea;
pub mod github;
/// The HTTP helper every forge call goes through: the `afk-http` crate.
pub use afk_http as http;
pub mod memory;
pub mod model;
pub mod rest;

pub use commits::{Commit, FileDiff};
pub use gitea::Gitea;
pub use github::Github;
pub use http::{Failure, ForgeError, LastTry, fan_out};
pub use model::*;

use crate::config::Config;
use crate::types::{IssueNumber, Permission, RepoName};
use anyhow::Result;

/// Everything afk reads and writes on a forge. `repo` is always `owner/name`
/// from the allowlist (validated at config load); implementations encode it.
pub trait Forge: Send + Sync {
    /// Requests sent so far in this tick (for reports and the benchmark).
    fn requests(&self) -> usize;
    /// Of those, the ones that cost rate limit (GitHub: every answer but a 304).
    fn costly_requests(&self) -> usize {
        self.requests()
    }
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
    /// afk's own account.
    fn me(&self) -> Result<User>;
    /// The user and password git pushes with, when the forge decides them
    /// (a GitHub App: `x-access-token` and the installation token). None:
    /// afk's login and the configured token.
    fn git_credentials(&self) -> Option<Result<(String, String)>> {
        None
    }
    /// Open issues (never pull requests) carrying `label`, every page.
    fn issues_with_label(&self, repo: &RepoName, label: &str) -> Result<Vec<Issue>>;
    fn issue(&self, repo: &RepoName, number: IssueNumber) -> Result<Issue>;
    fn timeline(&self, repo: &RepoName, number: IssueNumber) -> Result<Vec<TimelineEvent>>;
    /// The collaborator's permission (`none` for a stranger), ranked and with
    /// the forge's word; an error with status 403 when the forge refuses the lookup.
    fn permission(&self, repo: &RepoName, login: &str) -> Result<Permission>;
    /// Issues this one depends on; none when the feature is off.
    fn dependencies(&self, repo: &RepoName, number: IssueNumber) -> Result<Vec<Issue>>;
    /// The repo's labels, fetched at most once per tick.
    fn repo_labels(&self, repo: &RepoName) -> Result<Vec<Label>>;
    fn add_label(&self, repo: &RepoName, number: IssueNumber, name: &str) -> Result<()>;
    /// Removing a label the issue does not carry is not an error.
    fn remove_label(&self, repo: &RepoName, number: IssueNumber, name: &str) -> Result<()>;
    fn create_label(&self, repo: &RepoName, name: &str, color: &str) -> Result<()>;
    fn comments(&self, repo: &RepoName, number: IssueNumber) -> Result<Vec<Comment>>;
    fn create_comment(&self, repo: &RepoName, number: IssueNumber, body: &str) -> Result<Comment>;
    fn edit_comment(&self, repo: &RepoName, id: i64, body: &str) -> Result<Comment>;
    fn open_pulls(&self, repo: &RepoName) -> Result<Vec<PullRequest>>;
    /// The most recently updated closed (or merged) pull requests: one page.
    fn recent_closed_pulls(&self, repo: &RepoName) -> Result<Vec<PullRequest>>;
    fn pull(&self, repo: &RepoName, number: IssueNumber) -> Result<PullRequest>;
    /// The combined status of a commit (its latest status per context).
    fn combined_status(&self, repo: &RepoName, sha: &str) -> Result<CombinedStatus>;
    fn close_issue(&self, repo: &RepoName, number: IssueNumber) -> Result<()>;

    /// The commits of `branch`, newest first, down to (without) the first one
    /// older than `since`: what harvest reads to find reverted merges (SPEC 7.3).
    fn commits(
        &self,
        repo: &RepoName,
        branch: &str,
        since: time::OffsetDateTime,
    ) -> Result<Vec<Commit>> {
        let _ = (branch, since);
        anyhow::bail!("forge: listing the commits of {repo} is not supported by this forge yet")
    }
    /// What commit `sha` changed against its first parent (a merge: what it
    /// brought into its base branch), file by file: what harvest compares to
    /// tell a revert from a message that only says so (SPEC 7.3).
    fn diff(&self, repo: &RepoName, sha: &str) -> Result<Vec<FileDiff>> {
        let _ = sha;
        anyhow::bail!("forge: reading the diffs of {repo} is not supported by this forge yet")
    }
    // upgrade
    /// Open a pull request from `head` (a branch of `repo`) into `base`.
    fn create_pull(
        &self,
        repo: &RepoName,
        head: &str,
        base: &str,
        title: &str,
        body: &str,
    ) -> Result<PullRequest>;
    /// Close a pull request without merging it.
    fn close_pull(&self, repo: &RepoName, number: IssueNumber) -> Result<()>;
    /// A branch and its head commit; `None` when the branch does not exist.
    fn branch(&self, repo: &RepoName, name: &str) -> Result<Option<BranchHead>>;
}

/// One forge-specific `afk doctor` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnosis {
    pub check: String,
    pub ok: bool,
    pub detail: String,
}

impl Diagnosis {
    pub fn ok(check: &str, detail: String) -> Diagnosis {
        Diagnosis {
            check: check.into(),
            ok: true,
            detail,
        }
    }
    pub fn fail(check: &str, detail: String) -> Diagnosis {
        Diagnosis {
            check: check.into(),
            ok: false,
            detail,
        }
    }
}

/// The forge the config names, with its token; no conditional-request cache.
/// A GitHub App's installation token is exchanged and not kept.
pub fn from_config(c: &Config) -> Result<Box<dyn Forge>> {
    build(c, None, None)
}

/// As [`from_config`], for a tick that keeps a GitHub App's installation
/// token with `keeper` (the caller's: the state file's `app_tokens`, reused
/// while fresh; a dry run's keeper stores nothing), without conditional
/// requests (harvest, upgrade).
pub fn with_keeper(c: &Config, keeper: Box<dyn app::TokenKeeper>) -> Result<Box<dyn Forge>> {
    build(c, None, Some(keeper))
}

/// The forge for a tick: as [`with_keeper`], and on GitHub every GET is
/// conditional on the `ETag` kept in `cache` (the caller's: the state file's
/// `etags` table, `store::etags`), so an unchanged answer is a 304 that costs
/// no rate limit. The forge never opens the store itself.
pub fn for_tick(
    c: &Config,
    cache: Box<dyn http::ConditionalCache>,
    keeper: Box<dyn app::TokenKeeper>,
) -> Result<Box<dyn Forge>> {
    build(c, Some(cache), Some(keeper))
}

fn build(
    c: &Config,
    cache: Option<Box<dyn http::ConditionalCache>>,
    keeper: Option<Box<dyn app::TokenKeeper>>,
) -> Result<Box<dyn Forge>> {
    if c.github_app() {
        return build_app(c, cache, keeper);
    }
    let token = c.forge_token()?;
    let source = match &c.forge.token_file {
        None => c.forge.token_env.clone(),
        Some(p) => format!("forge.token_file {}", p.display()),
    };
    let root = c.api_root()?;
    // the key a connect error names
    let key = if !c.forge.api_url.is_empty() {
        "forge.api_url"
    } else if c.forge.kind == crate::config::ForgeKind::Github {
        "forge.kind = github: api.github.com"
    } else {
        "forge.url"
    };
    if c.forge.kind == crate::config::ForgeKind::Github {
        let mut h = http::Http::github(&root, &token, &source, c.forge_timeout(), c.forge.retries);
        h.set_url_key(key);
        if let Some(cache) = cache {
            h.set_cache(cache);
        }
        return Ok(Box::new(Github::new(h)));
    }
    let mut h = http::Http::new(&root, &token, &source, c.forge_timeout(), c.forge.retries);
    h.set_url_key(key);
    Ok(Box::new(Gitea::new(h)))
}

/// GitHub as an app's installation (config validation made sure of GitHub).
fn build_app(
    c: &Config,
    cache: Option<Box<dyn http::ConditionalCache>>,
    keeper: Option<Box<dyn app::TokenKeeper>>,
) -> Result<Box<dyn Forge>> {
    let root = c.api_root()?;
    let app = std::sync::Arc::new(app::App::load(c, &root, keeper)?);
    // the token is fetched (or read from the state file) by the first request
    let mut h = http::Http::github(
        &root,
        "",
        "the GitHub App's installation (forge.app_id, forge.app_installation_id)",
        c.forge_timeout(),
        c.forge.retries,
    );
    h.set_url_key(if c.forge.api_url.is_empty() {
        "forge.kind = github: api.github.com"
    } else {
        "forge.api_url"
    });
    if let Some(cache) = cache {
        h.set_cache(cache);
    }
    h.set_refresher(app.clone());
    Ok(Box::new(Github::with_app(h, app, c.poll.allowlist.clone())))
}
