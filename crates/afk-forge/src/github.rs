// One file: GitHub's ForgeReads and ForgeWrites (~830 lines: one impl each, every call GitHub spells its own way) and their tests.
//! GitHub REST (api.github.com, or GitHub Enterprise Server's `/api/v3`) with
//! the shapes of `contracts/github-rest-subset.json`, mapped onto the
//! forge-neutral model. Where GitHub differs from Gitea:
//!
//! - labels are added and removed by name (`priority/high` percent-encoded),
//!   and adding one the repo lacks creates it: poll needs no label list
//!   (`GET .../labels`, outside the contract's subset, serves init and doctor);
//! - the issue list holds pull requests too (a `pull_request` key), never
//!   dispatched; `type=` would filter by *issue type*, so it is not sent;
//! - who added a label is the `actor` of a timeline `labeled` event;
//! - permission `role_name` `maintain` is write and `triage` is read;
//! - blockers come from `.../dependencies/blocked_by` (404/410: none);
//! - CI is the combined status *and* the check runs of a commit, one verdict
//!   per context name ([`merge_ci`]);
//! - the pull request list has no `merged`: `merged_at` says it;
//! - issues close with `state_reason: completed`.
//!
//! Rate limits and conditional requests live in [`super::http::Http`].

use super::http::{Failure, ForgeError, Http, enc, repo_path as rp};
pub use super::model::*;
use super::rest::{NewPull, Rest};
use super::{Diagnosis, ForgeReads, ForgeWrites};
use crate::types::{IssueNumber, Permission, PrNumber, RepoName};
use anyhow::Result;
use serde::Deserialize;
use serde_json::json;

/// A login, wherever GitHub nests one (`actor`, `user`); null or absent: "".
#[derive(Debug, Clone, Deserialize, Default)]
struct Login {
    #[serde(default)]
    login: String,
}

#[derive(Debug, Clone, Deserialize, Default)]
struct Named {
    #[serde(default)]
    name: String,
}

/// One timeline entry, only the fields afk reads. Some kinds (`committed`,
/// `cross-referenced`) carry no `id`.
#[derive(Debug, Clone, Deserialize)]
struct WireEvent {
    #[serde(default)]
    id: i64,
    #[serde(default)]
    event: String,
    #[serde(default)]
    actor: Option<Login>,
    #[serde(default)]
    label: Option<Named>,
    #[serde(default)]
    created_at: Option<String>,
}

impl WireEvent {
    fn into_event(self) -> TimelineEvent {
        let kind = match self.event.as_str() {
            "labeled" => EventKind::LabelAdded,
            "unlabeled" => EventKind::LabelRemoved,
            "renamed" => EventKind::Renamed,
            _ => EventKind::Other,
        };
        TimelineEvent {
            id: self.id,
            kind,
            label: self.label.map(|l| l.name),
            actor: self.actor.map(|a| a.login).unwrap_or_default(),
            created_at: self.created_at,
        }
    }
}

/// afk's permission level (`admin` / `write` / `read` / `none`) from GitHub's
/// answer: the role when it is one of GitHub's five (`maintain` is write,
/// `triage` is read), else `permission` (a custom organisation role says
/// which base permission it has there).
pub fn permission_level(permission: &str, role_name: &str) -> &'static str {
    fn level(s: &str) -> Option<&'static str> {
        match s.to_ascii_lowercase().as_str() {
            "admin" => Some("admin"),
            "maintain" | "write" | "push" => Some("write"),
            "triage" | "read" | "pull" => Some("read"),
            "none" => Some("none"),
            _ => None,
        }
    }
    level(role_name)
        .or_else(|| level(permission))
        .unwrap_or("none")
}

#[derive(Debug, Clone, Deserialize)]
struct WireStatus {
    #[serde(default)]
    context: String,
    #[serde(default)]
    state: String,
    #[serde(default)]
    target_url: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    updated_at: Option<String>,
}

/// A status line of the neutral model, built through serde so that what the
/// model does not (yet) have is left out and what it gains is filled in.
fn status_line(v: serde_json::Value) -> Result<CommitStatus> {
    Ok(serde_json::from_value(v)?)
}

#[derive(Debug, Clone, Deserialize)]
struct WireCombined {
    #[serde(default)]
    sha: String,
    #[serde(default)]
    statuses: Vec<WireStatus>,
}

#[derive(Debug, Clone, Deserialize)]
struct WireCheckRun {
    #[serde(default)]
    name: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    conclusion: Option<String>,
    #[serde(default)]
    html_url: Option<String>,
    #[serde(default)]
    details_url: Option<String>,
    #[serde(default)]
    started_at: Option<String>,
    #[serde(default)]
    completed_at: Option<String>,
}

/// A check run's state in commit-status terms: `success`/`neutral`/`skipped`
/// succeed; `failure`/`timed_out`/`cancelled`/`action_required`/`stale` fail;
/// anything not completed (`queued`, `in_progress`, ...) is pending.
pub fn check_run_state(status: &str, conclusion: Option<&str>) -> &'static str {
    if status != "completed" {
        return "pending";
    }
    match conclusion.unwrap_or("") {
        "success" | "neutral" | "skipped" => "success",
        "failure" | "timed_out" | "cancelled" | "action_required" | "stale" => "failure",
        _ => "pending",
    }
}

/// 2 fails, 1 is unfinished, 0 succeeded.
fn rank(state: &str) -> u8 {
    match state {
        "success" => 0,
        "failure" | "error" => 2,
        _ => 1,
    }
}

/// One verdict per context name over a commit's statuses and check runs (a
/// name reported by both, or by several check runs, takes the worst: failure,
/// then pending, then success), each with its build URL (the status
/// `target_url`, the check run's `html_url`); the combined state fails on any
/// failure, succeeds only when every context did, and is pending otherwise
/// (nothing reported at all included).
pub fn merge_ci(sha: &str, lines: Vec<CommitStatus>) -> CombinedStatus {
    let mut merged: Vec<CommitStatus> = vec![];
    for l in lines {
        match merged.iter_mut().find(|m| m.context == l.context) {
            None => merged.push(l),
            Some(m) if rank(&l.status) > rank(&m.status) => *m = l,
            Some(_) => {}
        }
    }
    let worst = merged.iter().map(|s| rank(&s.status)).max();
    let state = match worst {
        Some(2) => "failure",
        Some(0) => "success",
        _ => "pending",
    };
    CombinedStatus {
        state: state.into(),
        sha: sha.into(),
        statuses: Some(merged),
    }
}

#[derive(Debug, Clone, Deserialize, Default)]
struct WireGitCommit {
    #[serde(default)]
    message: String,
    #[serde(default)]
    committer: Option<CommitPerson>,
}

#[derive(Debug, Clone, Deserialize, Default)]
struct WireBranchCommit {
    #[serde(default)]
    sha: String,
    #[serde(default)]
    commit: WireGitCommit,
}

/// `branch-with-protection`, the fields afk reads.
#[derive(Debug, Clone, Deserialize)]
struct WireBranch {
    #[serde(default)]
    name: String,
    #[serde(default)]
    commit: WireBranchCommit,
}

pub struct Github {
    pub rest: Rest,
    /// the GitHub App afk runs as, and the allowlist doctor checks against
    /// its installation; None: a person's token
    app: Option<(std::sync::Arc<super::app::App>, Vec<RepoName>)>,
    /// afk's labels in the config's spelling: GitHub compares label names
    /// without case, so each name read is answered in afk's
    /// (`model::spelled`)
    labels: Vec<String>,
}

/// GitHub's list has no `merged`: `merged_at` says it.
fn with_merged(mut p: PullRequest) -> PullRequest {
    p.merged = p.merged || p.merged_at.as_deref().is_some_and(|m| !m.is_empty());
    p
}

impl Github {
    /// One GraphQL query at `/graphql` beside the REST root (`/api/graphql`
    /// beside GitHub Enterprise's `/api/v3`; the same origin only): its
    /// answer's `data`.
    fn graphql(
        &self,
        what: &str,
        query: &str,
        vars: serde_json::Value,
    ) -> Result<serde_json::Value> {
        let body = json!({"query": query, "variables": vars});
        let root = self.rest.http.root();
        let beside = root.strip_suffix("/v3").unwrap_or(root);
        graphql_data(
            self.rest.http.post_json_beside(beside, "/graphql", &body)?,
            what,
        )
    }

    pub fn new(http: Http) -> Github {
        Github {
            rest: Rest::new(http),
            app: None,
            labels: vec![],
        }
    }

    /// The same, answering label names in the spelling of `labels` (afk's
    /// own, the config's) where GitHub's differs only in case.
    pub fn spelling(mut self, labels: Vec<String>) -> Github {
        self.labels = labels;
        self
    }

    /// GitHub as a GitHub App's installation: afk is `<slug>[bot]`.
    pub fn with_app(
        http: Http,
        app: std::sync::Arc<super::app::App>,
        allowlist: Vec<RepoName>,
    ) -> Github {
        Github {
            rest: Rest::new(http),
            app: Some((app, allowlist)),
            labels: vec![],
        }
    }
}

/// How many other reviews' line comments one read of a review's keeps to
/// find the threads its comments reply in.
const THREAD_HELD: usize = 300;

/// How many pages of 100 review threads one turn's resolution read asks for.
const THREAD_PAGES: usize = 10;

impl ForgeReads for Github {
    fn requests(&self) -> usize {
        self.rest.http.requests()
    }

    fn costly_requests(&self) -> usize {
        self.rest.http.costly_requests()
    }

    fn revalidate(&self, concurrency: usize) {
        self.rest.http.revalidate(concurrency);
    }

    fn adds_missing_labels(&self) -> bool {
        true
    }

    /// A person's token: `GET /user`. An app: its bot user (an
    /// installation token cannot call `GET /user`).
    fn me(&self) -> Result<User> {
        match &self.app {
            Some((app, _)) => Ok(User {
                id: 0,
                login: app.bot_login()?,
            }),
            None => self.rest.me(),
        }
    }

    fn git_credentials(&self) -> Option<Result<(String, String)>> {
        self.app.as_ref().map(|_| {
            self.rest
                .http
                .token()
                .map(|t| ("x-access-token".to_string(), t))
        })
    }

    /// Open issues carrying `label`, every page; pull requests (a
    /// `pull_request` key) are dropped and the label re-checked.
    /// GitHub's `labels=` filter matches without case, as its labels do.
    fn issues_with_label(&self, repo: &RepoName, label: &str) -> Result<Vec<Issue>> {
        let all: Vec<Issue> = self.rest.http.get_all(&format!(
            "/repos/{}/issues?state=open&labels={}",
            rp(repo),
            enc(label)
        ))?;
        let all = all.into_iter().map(|i| i.spelled(&self.labels)).collect();
        Ok(crate::model::open_issues_with(all, label))
    }

    fn issue(&self, repo: &RepoName, number: IssueNumber) -> Result<Issue> {
        Ok(self.rest.issue(repo, number)?.spelled(&self.labels))
    }

    fn timeline(&self, repo: &RepoName, number: IssueNumber) -> Result<Vec<TimelineEvent>> {
        let wire: Vec<WireEvent> = self.rest.timeline(repo, number)?;
        Ok(wire
            .into_iter()
            .map(WireEvent::into_event)
            .map(|mut e| {
                e.label = e.label.map(|l| spelled(l, &self.labels));
                e
            })
            .collect())
    }

    fn is_public(&self, repo: &RepoName) -> Result<bool> {
        self.rest.is_public(repo)
    }

    /// The collaborator's level by `permission` and `role_name`; not a user
    /// is `none`; 403 (afk's account may not look) is the error the caller
    /// reports as refused.
    /// GitHub answers `read` for any account on a public repository
    /// (docs/fidelity/github.md): there, `read` is a collaborator's only
    /// when `GET …/collaborators/{login}` says so (204), else `none`.
    fn permission(&self, repo: &RepoName, login: &str) -> Result<Permission> {
        let mut level = match self.rest.permission(repo, login)? {
            Some(p) => permission_level(&p.permission, &p.role_name),
            None => "none",
        };
        if level == "read" && self.rest.is_open(repo)? && !self.rest.is_collaborator(repo, login)? {
            level = "none";
        }
        Ok(Permission::from_forge(level))
    }

    /// The issues blocking this one; 404/410 means dependencies are off: none.
    fn dependencies(&self, repo: &RepoName, number: IssueNumber) -> Result<Vec<Issue>> {
        self.rest.all_or_none(
            &format!(
                "/repos/{}/issues/{number}/dependencies/blocked_by",
                rp(repo)
            ),
            &[Failure::NotFound, Failure::Gone],
        )
    }

    fn hooks(&self, repo: &RepoName) -> Result<Vec<crate::HookInfo>> {
        self.rest.hooks(repo)
    }

    fn repo_labels(&self, repo: &RepoName) -> Result<Vec<Label>> {
        let mut all = self.rest.repo_labels(repo)?;
        for l in &mut all {
            l.name = spelled(std::mem::take(&mut l.name), &self.labels);
        }
        Ok(all)
    }

    fn comments(&self, repo: &RepoName, on: Target) -> Result<Vec<Comment>> {
        self.rest
            .http
            .get_all(&format!("/repos/{}/issues/{on}/comments", rp(repo)))
    }

    fn open_pulls(&self, repo: &RepoName) -> Result<Vec<PullRequest>> {
        let v = self.rest.open_pulls(repo)?;
        Ok(v.into_iter().map(with_merged).collect())
    }

    fn recent_closed_pulls(&self, repo: &RepoName) -> Result<Vec<PullRequest>> {
        let v: Vec<PullRequest> = self.rest.http.json(
            "GET",
            &format!(
                "/repos/{}/pulls?state=closed&sort=updated&direction=desc&per_page=50",
                rp(repo)
            ),
            None,
        )?;
        Ok(v.into_iter().map(with_merged).collect())
    }

    fn pull(&self, repo: &RepoName, number: PrNumber) -> Result<PullRequest> {
        self.rest.pull(repo, number).map(with_merged)
    }

    /// The commit's combined status and its check runs, merged per context name.
    fn combined_status(&self, repo: &RepoName, sha: &str) -> Result<CombinedStatus> {
        let st: WireCombined = self.rest.http.json(
            "GET",
            &format!(
                "/repos/{}/commits/{}/status?per_page=100",
                rp(repo),
                enc(sha)
            ),
            None,
        )?;
        let runs: Vec<WireCheckRun> = self.rest.http.get_all_in(
            &format!("/repos/{}/commits/{}/check-runs", rp(repo), enc(sha)),
            "check_runs",
        )?;
        let mut lines: Vec<CommitStatus> = st
            .statuses
            .into_iter()
            .map(|s| {
                status_line(json!({"context": s.context, "status": s.state,
                    "target_url": s.target_url, "description": s.description,
                    "updated_at": s.updated_at}))
            })
            .collect::<Result<_>>()?;
        for r in runs {
            lines.push(status_line(json!({
                "context": r.name,
                "status": check_run_state(&r.status, r.conclusion.as_deref()),
                "target_url": r.html_url.or(r.details_url),
                "description": r.conclusion.unwrap_or(r.status),
                "updated_at": r.completed_at.or(r.started_at),
            }))?);
        }
        let sha = if st.sha.is_empty() { sha } else { &st.sha };
        Ok(merge_ci(sha, lines))
    }

    /// The branch's commits, newest first, down to the first older than
    /// `since`. GitHub's `since` is sent rounded down to the day, so the URL
    /// (and its ETag) stays the same all day and an unchanged branch is a 304.
    fn commits(
        &self,
        repo: &RepoName,
        branch: &str,
        since: time::OffsetDateTime,
    ) -> Result<Vec<super::Commit>> {
        let day = since
            .to_offset(time::UtcOffset::UTC)
            .replace_time(time::Time::MIDNIGHT);
        let mut out = vec![];
        self.rest.http.walk(
            &format!(
                "/repos/{}/commits?sha={}&since={}",
                rp(repo),
                enc(branch),
                enc(&crate::clock::ts(day))
            ),
            |page: Vec<super::commits::WireCommit>| {
                let page = page.into_iter().map(|w| w.into_commit()).collect();
                super::commits::keep_until(page, since, &mut out)
            },
        )?;
        Ok(out)
    }

    /// `GET /repos/{o}/{r}/commits/{sha}`: its `files` (every page; a merge's
    /// against its first parent), each with its `patch` when GitHub shows one.
    fn diff(&self, repo: &RepoName, sha: &str) -> Result<Vec<super::FileDiff>> {
        let files: Vec<super::commits::WireFile> = self.rest.http.get_all_in(
            &format!("/repos/{}/commits/{}", rp(repo), enc(sha)),
            "files",
        )?;
        Ok(files
            .into_iter()
            .map(super::commits::WireFile::into_diff)
            .collect())
    }

    /// `GET .../branches/{branch}`: the head commit's sha, message and git
    /// committer (`commit.commit.committer`; the outer `committer` is a
    /// GitHub account, or null).
    fn branch(&self, repo: &RepoName, name: &str) -> Result<Option<BranchHead>> {
        let b: Option<WireBranch> = self.rest.branch(repo, name)?;
        Ok(b.map(|b| BranchHead {
            name: b.name,
            commit: HeadCommit {
                id: b.commit.sha,
                message: b.commit.commit.message,
                committer: b.commit.commit.committer,
            },
        }))
    }

    fn reactions(
        &self,
        repo: &RepoName,
        _on: Target,
        comment: i64,
    ) -> Result<Vec<(String, String)>> {
        self.rest.reactions(repo, comment)
    }

    /// Every page, each conditional.
    fn reviews(&self, repo: &RepoName, pr: PrNumber) -> Result<Vec<Review>> {
        self.rest.reviews(repo, pr)
    }

    /// One GraphQL `node` query for the comment's `lastEditedAt`.
    fn comment_ever_edited(&self, c: &super::model::Comment) -> Result<Option<bool>> {
        let Some(id) = c.node_id.as_deref().filter(|i| !i.is_empty()) else {
            return Ok(None);
        };
        let query = "query($id:ID!){node(id:$id){... on IssueComment{lastEditedAt}}}";
        let data = self.graphql("lastEditedAt", query, json!({"id": id}))?;
        let node = &data["node"];
        if node.is_null() || node.get("lastEditedAt").is_none() {
            anyhow::bail!("forge: GraphQL lastEditedAt: no such comment in the answer");
        }
        Ok(Some(!node["lastEditedAt"].is_null()))
    }

    /// GraphQL `reviewThreads` in pages of 100 threads (the first 100
    /// comments of each: REST stays the one source of text, author and id),
    /// at `/graphql` beside the REST root (`/api/graphql` beside GitHub
    /// Enterprise's `/api/v3`); at most `THREAD_PAGES` pages, the threads
    /// past them read as unresolved (they still ask).
    fn resolved_line_comments(
        &self,
        repo: &RepoName,
        pr: PrNumber,
    ) -> Result<Option<std::collections::HashSet<i64>>> {
        let (owner, name) = repo.as_str().split_once('/').unwrap_or(("", repo.as_str()));
        // `fullDatabaseId` (a BigInt, as a string): `databaseId` is an Int,
        // deprecated, and cannot hold the review comment ids GitHub now
        // gives (past 2^31-1: docs/fidelity/github.md); a GitHub Enterprise
        // Server too old to know the field is asked `databaseId`
        let ask = |id: &str| {
            format!(
                "query($owner:String!,$name:String!,$number:Int!,$after:String){{repository(owner:$owner,name:$name){{pullRequest(number:$number){{reviewThreads(first:100,after:$after){{pageInfo{{hasNextPage endCursor}} nodes{{isResolved comments(first:100){{nodes{{{id}}}}}}}}}}}}}}}"
            )
        };
        let mut query = ask("fullDatabaseId");
        let mut resolved = std::collections::HashSet::new();
        let mut after = serde_json::Value::Null;
        for _ in 0..THREAD_PAGES {
            let vars = json!({"owner": owner, "name": name, "number": pr.0, "after": after});
            let data = match self.graphql("reviewThreads", &query, vars.clone()) {
                Err(e) if after.is_null() && format!("{e:#}").contains("fullDatabaseId") => {
                    query = ask("databaseId");
                    self.graphql("reviewThreads", &query, vars)?
                }
                other => other?,
            };
            resolved.extend(resolved_in(&data)?);
            let page = &data["repository"]["pullRequest"]["reviewThreads"]["pageInfo"];
            match (page["hasNextPage"].as_bool(), page["endCursor"].as_str()) {
                (Some(true), Some(cursor)) if !cursor.is_empty() => after = json!(cursor),
                _ => break,
            }
        }
        Ok(Some(resolved))
    }

    /// The review's line comments from the PR's one list of them (`GET
    /// .../pulls/{n}/comments`, oldest first, conditional, read no further
    /// than one more than can be kept), and where one replies in a thread
    /// (`in_reply_to_id`: GitHub makes a reply a review of its own) the
    /// thread's comments before it, so the ask quotes its thread whole
    /// (watch keeps the trusted ones). Others' comments are held at most
    /// `THREAD_HELD`, the newest.
    fn line_comments(&self, repo: &RepoName, pr: PrNumber, review: i64) -> Result<LineComments> {
        use std::collections::VecDeque;
        let mut mine = vec![];
        let mut others: VecDeque<super::reviews::WireLineComment> = VecDeque::new();
        self.rest.http.walk(
            &format!("/repos/{}/pulls/{pr}/comments", rp(repo)),
            |page: Vec<super::reviews::WireLineComment>| {
                for c in page {
                    if c.review_id() == Some(review) {
                        mine.push(c);
                    } else {
                        if others.len() == THREAD_HELD {
                            others.pop_front();
                        }
                        others.push_back(c);
                    }
                }
                mine.len() <= crate::core::review_bounds::LINE_COMMENTS_MAX
            },
        )?;
        let threads: Vec<(i64, i64)> = mine.iter().map(|c| (c.thread(), c.id())).collect();
        let mut all: Vec<_> = others
            .into_iter()
            .filter(|o| {
                threads
                    .iter()
                    .any(|(t, before)| o.thread() == *t && o.id() < *before)
            })
            .chain(mine)
            .collect();
        all.sort_by_key(|c| c.id());
        Ok(super::reviews::keep_comments(
            all,
            super::reviews::Lines::Github,
        ))
    }

    /// The token's kind and scopes (`x-oauth-scopes`, classic tokens only)
    /// and the rate limit left (`GET /rate_limit`, which costs none).
    fn diagnose(&self) -> Vec<Diagnosis> {
        let mut out = vec![];
        if let Some((app, allowlist)) = &self.app {
            out.extend(app.diagnose(&self.rest.http, allowlist));
            if out.iter().any(|d| d.check == "installation" && !d.ok) {
                // without an installation there is no token to ask with
                return out;
            }
        } else {
            self.diagnose_token(&mut out);
        }
        self.diagnose_rate(&mut out);
        out
    }
}

impl ForgeWrites for Github {
    /// By name; GitHub creates a label the repo does not have yet.
    fn add_label(&self, repo: &RepoName, number: IssueNumber, name: &str) -> Result<()> {
        self.rest.http.send(
            "POST",
            &format!("/repos/{}/issues/{number}/labels", rp(repo)),
            Some(&json!({ "labels": [name] })),
        )?;
        Ok(())
    }

    /// By name, percent-encoded.
    fn remove_label(&self, repo: &RepoName, number: IssueNumber, name: &str) -> Result<()> {
        self.rest.remove_label(repo, number, &enc(name))
    }

    fn create_label(&self, repo: &RepoName, name: &str, color: &str) -> Result<()> {
        self.rest.create_label(repo, name, color)
    }

    fn create_comment(&self, repo: &RepoName, on: Target, body: &str) -> Result<Comment> {
        self.rest.create_comment(repo, on, body)
    }

    fn edit_comment(&self, repo: &RepoName, _on: Target, id: i64, body: &str) -> Result<Comment> {
        self.rest.edit_comment(repo, id, body)
    }

    fn edit_issue_body(&self, repo: &RepoName, on: Target, body: &str) -> Result<()> {
        self.rest.edit_issue_body(repo, on, body)
    }

    fn close_issue(&self, repo: &RepoName, number: IssueNumber) -> Result<()> {
        self.rest
            .close_issue(repo, number, json!({ "state_reason": "completed" }))
    }

    fn create_pull(
        &self,
        repo: &RepoName,
        head: &str,
        base: &str,
        title: &str,
        body: &str,
    ) -> Result<PullRequest> {
        let pr = NewPull {
            head,
            base,
            title,
            body,
        };
        self.rest.create_pull(repo, pr, false).map(with_merged)
    }

    /// `draft: true`; where GitHub refuses drafts for the repository (422),
    /// Gitea's `WIP: ` title prefix instead.
    fn create_draft_pull(
        &self,
        repo: &RepoName,
        head: &str,
        base: &str,
        title: &str,
        body: &str,
    ) -> Result<PullRequest> {
        let pr = NewPull {
            head,
            base,
            title,
            body,
        };
        let drafted = self.rest.create_pull(repo, pr, true);
        match drafted {
            Err(e)
                if ForgeError::kind_of(&e) == Some(Failure::Unprocessable)
                    && !format!("{e:#}")
                        .to_ascii_lowercase()
                        .contains("already exist") =>
            {
                self.create_pull(
                    repo,
                    head,
                    base,
                    &format!("{}{title}", super::WIP_PREFIX),
                    body,
                )
            }
            other => other.map(with_merged),
        }
    }

    fn close_pull(&self, repo: &RepoName, number: PrNumber) -> Result<()> {
        self.rest.close_pull(repo, number)
    }

    fn react(&self, repo: &RepoName, _on: Target, comment: i64, content: &str) -> Result<()> {
        self.rest.react(repo, comment, content)
    }

    /// `PUT .../pulls/{n}/update-branch` with `expected_head_sha`: 202
    /// accepted; a 422 says why not (a head that moved, a conflict, nothing
    /// new on the base). GitHub only merges the base in.
    fn update_branch(
        &self,
        repo: &RepoName,
        pr: PrNumber,
        style: UpdateStyle,
        expected_head_sha: &str,
        _under_way: Option<&str>,
    ) -> Result<BranchUpdate> {
        if style == UpdateStyle::Rebase {
            anyhow::bail!(
                "forge: GitHub cannot rebase a pull request's branch, only merge its base in: set watch.update_branch = \"merge\""
            );
        }
        let body = match expected_head_sha {
            "" => json!({}),
            sha => json!({ "expected_head_sha": sha }),
        };
        match self.rest.http.send(
            "PUT",
            &format!("/repos/{}/pulls/{pr}/update-branch", rp(repo)),
            Some(&body),
        ) {
            Ok(_) => Ok(BranchUpdate::Started),
            Err(e) => match ForgeError::kind_of(&e) {
                Some(Failure::Unprocessable) => {
                    Ok(super::reviews::refusal(&super::reviews::words(&e)))
                }
                Some(Failure::Forbidden) => Ok(BranchUpdate::Refused(super::reviews::words(&e))),
                _ => Err(e),
            },
        }
    }
}

impl Github {
    fn diagnose_token(&self, out: &mut Vec<Diagnosis>) {
        match self.rest.http.send("GET", "/user", None) {
            Err(e) => out.push(Diagnosis::fail("token", e.to_string())),
            Ok(r) => out.push(match r.scopes {
                Some(s) => {
                    let have: Vec<&str> = s
                        .split(',')
                        .map(str::trim)
                        .filter(|x| !x.is_empty())
                        .collect();
                    if have.contains(&"repo") {
                        Diagnosis::ok("token", format!("a classic token with scopes {s}"))
                    } else {
                        Diagnosis::fail(
                            "token",
                            format!(
                                "a classic token without the \"repo\" scope (it has: {}); afk reads and writes issues, pull requests and statuses",
                                if have.is_empty() { "none".to_string() } else { have.join(", ") }
                            ),
                        )
                    }
                }
                None => Diagnosis::ok(
                    "token",
                    "a fine-grained or app token (no x-oauth-scopes): it needs Issues and Pull requests read/write, Commit statuses, Checks and Metadata read, Contents read/write for upgrade".into(),
                ),
            }),
        }
    }

    fn diagnose_rate(&self, out: &mut Vec<Diagnosis>) {
        match self
            .rest
            .http
            .json::<serde_json::Value>("GET", "/rate_limit", None)
        {
            // GitHub Enterprise Server with rate limiting off (its
            // default) answers 404 "Rate limiting is not enabled." and
            // sends no limit headers: no limit, not a failure (the token
            // was read just before, so the API root is right)
            Err(e) if ForgeError::kind_of(&e) == Some(Failure::NotFound) => {
                out.push(Diagnosis::ok(
                    "rate limit",
                    "not enabled on this server: no limit".to_string(),
                ))
            }
            Err(e) => out.push(Diagnosis::fail("rate limit", e.to_string())),
            Ok(v) => {
                let core = if v["resources"]["core"].is_object() {
                    &v["resources"]["core"]
                } else {
                    &v["rate"]
                };
                let remaining = core["remaining"].as_u64().unwrap_or(0);
                let limit = core["limit"].as_u64().unwrap_or(0);
                let reset = super::http::reset_text(core["reset"].as_u64());
                let detail = format!("{remaining} of {limit} requests left, resets at {reset}");
                out.push(if remaining > 0 {
                    Diagnosis::ok("rate limit", detail)
                } else {
                    Diagnosis::fail("rate limit", format!("spent: {detail}"))
                });
            }
        }
    }
}

/// The `data` of a GraphQL answer to the query for `what`; an answer with
/// `errors` is an error, never read as empty.
fn graphql_data(v: serde_json::Value, what: &str) -> Result<serde_json::Value> {
    if let Some(e) = v.get("errors").filter(|e| !e.is_null()) {
        let first = e[0]["message"].as_str().unwrap_or("an error");
        anyhow::bail!(
            "forge: GraphQL {what}: {}",
            crate::core::sanitize::one_line(first, 200)
        );
    }
    Ok(v["data"].clone())
}

/// The line comment ids in resolved threads of a GraphQL `reviewThreads`
/// answer's data; one without the threads is an error (never read as
/// "none resolved").
fn resolved_in(data: &serde_json::Value) -> Result<std::collections::HashSet<i64>> {
    let Some(threads) = data["repository"]["pullRequest"]["reviewThreads"]["nodes"].as_array()
    else {
        anyhow::bail!("forge: GraphQL reviewThreads: no threads in the answer");
    };
    Ok(threads
        .iter()
        .filter(|t| t["isResolved"] == true)
        .flat_map(|t| {
            t["comments"]["nodes"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .filter_map(|c| {
            (c["fullDatabaseId"].as_str())
                .and_then(|id| id.parse::<i64>().ok())
                .or_else(|| c["databaseId"].as_i64())
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_resolved_thread_is_graphqls_word_and_an_error_is_never_none_resolved() {
        let v = json!({"data": {"repository": {"pullRequest": {"reviewThreads": {"nodes": [
            {"isResolved": true, "comments": {"nodes": [{"databaseId": 1}, {"databaseId": 2}]}},
            {"isResolved": false, "comments": {"nodes": [{"databaseId": 3}]}},
        ]}}}}});
        // `fullDatabaseId` is a BigInt as a string: an id past 2^31-1 reads
        let big = json!({"data": {"repository": {"pullRequest": {"reviewThreads": {"nodes": [
            {"isResolved": true, "comments": {"nodes": [{"fullDatabaseId": "2147483648"}, {"fullDatabaseId": "7"}]}},
        ]}}}}});
        let got = resolved_in(&graphql_data(big, "reviewThreads").unwrap()).unwrap();
        assert_eq!(got, [2_147_483_648, 7].into_iter().collect());
        let got = resolved_in(&graphql_data(v, "reviewThreads").unwrap()).unwrap();
        assert_eq!(got, [1, 2].into_iter().collect());
        assert!(
            graphql_data(
                json!({"errors": [{"message": "rate limited"}]}),
                "reviewThreads"
            )
            .is_err()
        );
        assert!(resolved_in(&json!({"repository": null})).is_err());
    }

    #[test]
    fn maintain_is_write_and_triage_is_read() {
        let cases = [
            (("admin", "admin"), "admin"),
            (("write", "maintain"), "write"),
            (("write", "write"), "write"),
            (("read", "triage"), "read"),
            (("read", "read"), "read"),
            (("none", "none"), "none"),
            (("write", "security-reviewer"), "write"),
            (("read", ""), "read"),
            (("maintain", ""), "write"),
            (("triage", ""), "read"),
            (("", ""), "none"),
        ];
        for ((permission, role), want) in cases {
            assert_eq!(
                permission_level(permission, role),
                want,
                "permission {permission}, role {role}"
            );
        }
    }

    #[test]
    fn check_run_conclusions_map_onto_status_states() {
        let cases = [
            (("completed", Some("success")), "success"),
            (("completed", Some("neutral")), "success"),
            (("completed", Some("skipped")), "success"),
            (("completed", Some("failure")), "failure"),
            (("completed", Some("timed_out")), "failure"),
            (("completed", Some("cancelled")), "failure"),
            (("completed", Some("action_required")), "failure"),
            (("completed", Some("stale")), "failure"),
            (("completed", None), "pending"),
            (("queued", None), "pending"),
            (("in_progress", None), "pending"),
            (("waiting", None), "pending"),
        ];
        for ((status, conclusion), want) in cases {
            assert_eq!(
                check_run_state(status, conclusion),
                want,
                "{status} {conclusion:?}"
            );
        }
    }

    fn line(context: &str, state: &str, url: &str) -> CommitStatus {
        status_line(json!({"context": context, "status": state, "target_url": url})).unwrap()
    }

    #[test]
    fn statuses_and_check_runs_merge_into_one_verdict_per_context() {
        type Case = (
            Vec<CommitStatus>,
            &'static str,
            Vec<(&'static str, &'static str, &'static str)>,
        );
        let cases: Vec<Case> = vec![
            (vec![], "pending", vec![]),
            (
                vec![
                    line("ci/build", "success", "s"),
                    line("test", "success", "r"),
                ],
                "success",
                vec![("ci/build", "success", "s"), ("test", "success", "r")],
            ),
            // the same name from a status and a check run: the worse wins, with its URL
            (
                vec![line("ci", "success", "s"), line("ci", "failure", "r")],
                "failure",
                vec![("ci", "failure", "r")],
            ),
            (
                vec![line("ci", "pending", "s"), line("ci", "success", "r")],
                "pending",
                vec![("ci", "pending", "s")],
            ),
            (
                vec![line("a", "error", "s"), line("b", "pending", "r")],
                "failure",
                vec![("a", "error", "s"), ("b", "pending", "r")],
            ),
        ];
        for (i, (lines, state, want)) in cases.into_iter().enumerate() {
            let c = merge_ci("abc", lines);
            assert_eq!(c.state, state, "case {i}");
            let got: Vec<(String, String, String)> = c
                .statuses
                .unwrap()
                .into_iter()
                .map(|s| (s.context, s.status, s.target_url.unwrap_or_default()))
                .collect();
            let want: Vec<(String, String, String)> = want
                .into_iter()
                .map(|(a, b, c)| (a.into(), b.into(), c.into()))
                .collect();
            assert_eq!(got, want, "case {i}");
        }
    }

    #[test]
    fn timeline_label_events_carry_their_actor() {
        let wire: Vec<WireEvent> = serde_json::from_value(json!([
            {"id": 1, "event": "labeled", "actor": {"login": "alice"}, "label": {"name": "ready", "color": "fff"}},
            {"id": 2, "event": "unlabeled", "actor": {"login": "bob"}, "label": {"name": "ready", "color": "fff"}},
            {"id": 3, "event": "renamed", "actor": {"login": "mallory"}, "rename": {"from": "a", "to": "b"}},
            {"event": "committed", "sha": "abc"},
            {"id": 5, "event": "labeled", "actor": null, "label": {"name": "x", "color": "fff"}},
        ]))
        .unwrap();
        let got: Vec<(EventKind, Option<String>, String)> = wire
            .into_iter()
            .map(|w| w.into_event())
            .map(|e| (e.kind, e.label, e.actor))
            .collect();
        assert_eq!(
            got,
            vec![
                (EventKind::LabelAdded, Some("ready".into()), "alice".into()),
                (EventKind::LabelRemoved, Some("ready".into()), "bob".into()),
                (EventKind::Renamed, None, "mallory".into()),
                (EventKind::Other, None, "".into()),
                (EventKind::LabelAdded, Some("x".into()), "".into()),
            ]
        );
    }

    #[test]
    fn a_pull_request_is_merged_when_merged_at_is_set() {
        let cases = [
            (
                json!({"number": 1, "merged_at": "2026-01-01T00:00:00Z"}),
                true,
            ),
            (json!({"number": 1, "merged_at": null}), false),
            (json!({"number": 1, "merged": true}), true),
            (json!({"number": 1}), false),
        ];
        for (v, want) in cases {
            let p: PullRequest = serde_json::from_value(v.clone()).unwrap();
            assert_eq!(with_merged(p).merged, want, "{v}");
        }
    }
}
