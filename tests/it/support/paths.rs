//! The forge API paths the suites call and look for in the sandbox's
//! request log, by the dialect they play: one table keyed by the forge kind
//! beside [`Plays`], so no suite writes a dialect's `/repos/…` or
//! `/projects/…` itself (issue "Structure VI", item 3; `style.rs` reads the
//! suites to hold them to it). Each is a path under the API root
//! ([`Sandbox::api_url`](super::Sandbox::api_url)), as `Sandbox::api` takes
//! it and as the request log records it.

use super::{Dialect, On, Plays};

/// Which pull (merge) requests a list asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listed {
    Open,
    All,
}

/// The forge API paths of a repository the suites name, per dialect.
pub trait Paths: Plays {
    /// Issue `n`: `issues/n` on every forge.
    fn issue_path(self, repo: &str, n: u64) -> String;
    /// The issue list (`query` after a `?`, e.g. `limit=100`; none when empty).
    fn issues_path(self, repo: &str, query: &str) -> String;
    /// The comments on issue `n`: `issues/n/comments`, GitLab's
    /// `issues/n/notes`.
    fn issue_comments_path(self, repo: &str, n: u64) -> String;
    /// What afk reads to learn who armed issue `n` ([`Plays::differs`]'s
    /// `timeline`): `issues/n/timeline`, GitLab's
    /// `issues/n/resource_label_events`.
    fn timeline_path(self, repo: &str, n: u64) -> String;
    /// The repository's labels.
    fn labels_path(self, repo: &str) -> String;
    /// The PR list: `pulls?state=open|all`, GitLab's
    /// `merge_requests?state=opened|all`, Azure DevOps's
    /// `pullrequests?searchCriteria.status=active|all`.
    fn prs_path(self, repo: &str, which: Listed) -> String;
    /// Where the body of `on` is edited ([`Plays::issue_edit`]'s method):
    /// a PR's through its issue (`issues/n`) on Gitea and GitHub, a merge
    /// request's own (`merge_requests/n`) on GitLab.
    fn body_path(self, repo: &str, on: On) -> String;
    /// The combined status of commit `sha` (or a branch): `commits/sha/status`.
    /// GitLab combines none (its pipeline is its statuses'): no test asks it
    /// there, and one that does fails here, not on a wrong path.
    fn combined_status_path(self, repo: &str, sha: &str) -> String;
}

impl Paths for Dialect {
    fn issue_path(self, repo: &str, n: u64) -> String {
        self.repo_path(repo, &format!("issues/{n}"))
    }
    fn issues_path(self, repo: &str, query: &str) -> String {
        match query {
            "" => self.repo_path(repo, "issues"),
            _ => self.repo_path(repo, &format!("issues?{query}")),
        }
    }
    fn issue_comments_path(self, repo: &str, n: u64) -> String {
        self.repo_path(repo, self.issue_comments(n).trim_start_matches('/'))
    }
    fn timeline_path(self, repo: &str, n: u64) -> String {
        self.repo_path(repo, &format!("issues/{n}{}", self.differs().timeline))
    }
    fn labels_path(self, repo: &str) -> String {
        self.repo_path(repo, "labels")
    }
    fn prs_path(self, repo: &str, which: Listed) -> String {
        let state = match (self, which) {
            (_, Listed::All) => "all",
            (Dialect::Gitea | Dialect::Github, Listed::Open) => "open",
            (Dialect::Gitlab, Listed::Open) => "opened",
            (Dialect::AzureDevops, Listed::Open) => "active",
        };
        let key = match self {
            Dialect::AzureDevops => "searchCriteria.status",
            _ => "state",
        };
        self.repo_path(repo, &format!("{}?{key}={state}", self.pr_rest(None)))
    }
    fn body_path(self, repo: &str, on: On) -> String {
        let rest = match (self, on) {
            (Dialect::Gitea | Dialect::Github, On::Issue(n) | On::Pr(n)) => format!("issues/{n}"),
            (Dialect::Gitlab, On::Issue(n)) => format!("issues/{n}"),
            (Dialect::Gitlab, On::Pr(n)) => self.pr_rest(Some(n)),
            (Dialect::AzureDevops, On::Issue(n)) => format!("wit/workitems/{n}"),
            (Dialect::AzureDevops, On::Pr(n)) => self.pr_rest(Some(n)),
        };
        self.repo_path(repo, &rest)
    }
    fn combined_status_path(self, repo: &str, sha: &str) -> String {
        match self {
            Dialect::Gitea | Dialect::Github => {
                self.repo_path(repo, &format!("commits/{sha}/status"))
            }
            Dialect::Gitlab => panic!("GitLab has no combined status of {sha}"),
            Dialect::AzureDevops => self.repo_path(repo, &format!("commits/{sha}/statuses")),
        }
    }
}
