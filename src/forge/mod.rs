//! The forge adapter: the [`Forge`] trait every command talks to, its
//! forge-neutral shapes (`model`), the HTTP plumbing (`http`) and the
//! Gitea/Forgejo v1 implementation (`gitea`). [`from_config`] builds the one
//! the config names.

pub mod commits;
pub mod gitea;
pub mod http;
pub mod model;

pub use commits::Commit;
pub use gitea::Gitea;
pub use http::{ForgeError, fan_out};
pub use model::*;

use crate::config::Config;
use anyhow::Result;

/// Everything afk reads and writes on a forge. `repo` is always `owner/name`
/// from the allowlist (validated at config load); implementations encode it.
pub trait Forge: Sync {
    /// Requests sent so far in this tick (for reports and the benchmark).
    fn requests(&self) -> usize;
    /// afk's own account.
    fn me(&self) -> Result<User>;
    /// Open issues (never pull requests) carrying `label`, every page.
    fn issues_with_label(&self, repo: &str, label: &str) -> Result<Vec<Issue>>;
    fn issue(&self, repo: &str, number: u64) -> Result<Issue>;
    fn timeline(&self, repo: &str, number: u64) -> Result<Vec<TimelineEvent>>;
    /// The collaborator's permission (`none` for a stranger); an error with
    /// status 403 when the forge refuses the lookup.
    fn permission(&self, repo: &str, login: &str) -> Result<Option<String>>;
    /// Issues this one depends on; none when the feature is off.
    fn dependencies(&self, repo: &str, number: u64) -> Result<Vec<Issue>>;
    /// The repo's labels, fetched at most once per tick.
    fn repo_labels(&self, repo: &str) -> Result<Vec<Label>>;
    fn add_label(&self, repo: &str, number: u64, name: &str) -> Result<()>;
    /// Removing a label the issue does not carry is not an error.
    fn remove_label(&self, repo: &str, number: u64, name: &str) -> Result<()>;
    fn create_label(&self, repo: &str, name: &str, color: &str) -> Result<()>;
    fn comments(&self, repo: &str, number: u64) -> Result<Vec<Comment>>;
    fn create_comment(&self, repo: &str, number: u64, body: &str) -> Result<Comment>;
    fn edit_comment(&self, repo: &str, id: i64, body: &str) -> Result<Comment>;
    fn open_pulls(&self, repo: &str) -> Result<Vec<PullRequest>>;
    /// The most recently updated closed (or merged) pull requests: one page.
    fn recent_closed_pulls(&self, repo: &str) -> Result<Vec<PullRequest>>;
    fn pull(&self, repo: &str, number: u64) -> Result<PullRequest>;
    /// The combined status of a commit (its latest status per context).
    fn combined_status(&self, repo: &str, sha: &str) -> Result<CombinedStatus>;
    fn close_issue(&self, repo: &str, number: u64) -> Result<()>;

    /// The commits of `branch`, newest first, down to (without) the first one
    /// older than `since`: what harvest reads to find reverted merges (SPEC 7.3).
    fn commits(
        &self,
        repo: &str,
        branch: &str,
        since: time::OffsetDateTime,
    ) -> Result<Vec<Commit>> {
        let _ = (branch, since);
        anyhow::bail!("forge: listing the commits of {repo} is not supported by this forge yet")
    }
    // upgrade
    /// Open a pull request from `head` (a branch of `repo`) into `base`.
    fn create_pull(
        &self,
        repo: &str,
        head: &str,
        base: &str,
        title: &str,
        body: &str,
    ) -> Result<PullRequest>;
    /// Close a pull request without merging it.
    fn close_pull(&self, repo: &str, number: u64) -> Result<()>;
    /// A branch and its head commit; `None` when the branch does not exist.
    fn branch(&self, repo: &str, name: &str) -> Result<Option<BranchHead>>;
}

/// The forge the config names, with its token.
pub fn from_config(c: &Config) -> Result<Box<dyn Forge>> {
    if c.forge.kind == crate::config::ForgeKind::Github {
        return Err(anyhow::Error::new(crate::config::ConfigError(
            "config: forge.kind = \"github\" is not supported yet in this version (use gitea or forgejo)"
                .into(),
        )));
    }
    let token = c.forge_token()?;
    let source = match &c.forge.token_file {
        None => c.forge.token_env.clone(),
        Some(p) => format!("forge.token_file {}", p.display()),
    };
    Ok(Box::new(Gitea::new(http::Http::new(
        &c.api_root()?,
        &token,
        &source,
        c.forge_timeout(),
        c.forge.retries,
    ))))
}
