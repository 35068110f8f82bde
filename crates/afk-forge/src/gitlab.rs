// One file: GitLab's ForgeReads and ForgeWrites (one impl each, every call GitLab spells its own way), its wire shapes and their tests.
//! GitLab REST API v4 (SPEC 2.1), mapped onto the forge-neutral model.
//! Where GitLab differs from Gitea and GitHub:
//!
//! - a project is named by its full path of any depth, URL-encoded as one
//!   segment (`/projects/acme%2Fplatform%2Fsvc`);
//! - issues (`#N`) and merge requests (`!M`) are numbered apart: a
//!   [`Target::Issue`] is an issue's notes, a [`Target::Pr`] a merge request's;
//! - who armed an issue is the user of its `resource_label_events`; the
//!   "timeline" is those events, its state events and its notes (a system
//!   note `changed the description` or `changed title from` is an edit);
//! - trust is an access level (`members/all/:user_id`): Owner 50, Maintainer
//!   40 (`admin`), Developer 30 (`write`), Reporter 20 (`read`); Planner 15,
//!   Guest 10 and Minimal access 5 meet none; a user not `active`, or a bot
//!   user, none either (a bot is trusted only by name, `trusted_users`);
//! - labels are written with `add_labels`/`remove_labels` only (never
//!   `labels=`, which replaces), and only labels the project has;
//! - CI is the merge request's `head_pipeline`, else its newest pipeline of
//!   the head, else the head's commit statuses ([`pipeline_state`]);
//! - a merge request's branch can only be rebased (`PUT .../rebase`);
//! - GitLab runs quick actions (`/merge`) at a line's start in what afk
//!   writes: every body afk sends goes through
//!   [`crate::core::sanitize::no_quick_actions`];
//! - system notes are never comments (never a command, never a review).
//!
//! A moved project's `301` is never followed (`afk-http` refuses every
//! redirect and says where it pointed).

use super::http::{Failure, ForgeError, Http, enc};
pub use super::model::*;
use super::{ForgeReads, ForgeWrites};
use crate::core::sanitize::{no_quick_actions, one_line};
use crate::types::{Access, IssueNumber, Permission, PrNumber, RepoName};
use anyhow::Result;
use serde::Deserialize;
use serde_json::json;
use std::collections::HashMap;
use std::sync::Mutex;

/// GitLab's longest merge request title.
const TITLE_MAX: usize = 255;

/// `/projects/:id` with the full path URL-encoded as one segment.
pub fn project(repo: &RepoName) -> String {
    format!("/projects/{}", enc(repo.as_str()))
}

/// A user wherever GitLab nests one (`author`, `user`); null or absent: none.
#[derive(Debug, Clone, Deserialize, Default)]
struct WireUser {
    #[serde(default)]
    id: i64,
    #[serde(default)]
    username: String,
    #[serde(default)]
    state: Option<String>,
    #[serde(default)]
    bot: Option<bool>,
}

impl WireUser {
    fn user(&self) -> User {
        User {
            id: self.id,
            login: self.username.clone(),
        }
    }
}

#[derive(Debug, Clone, Deserialize, Default)]
struct WireRefs {
    #[serde(default)]
    full: String,
}

/// An issue (`API::Entities::Issue`), the fields afk reads.
#[derive(Debug, Clone, Deserialize)]
struct WireIssue {
    #[serde(default)]
    id: i64,
    iid: u64,
    #[serde(default)]
    title: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    state: String,
    /// names (the list's default; `with_labels_details` is never asked)
    #[serde(default)]
    labels: Vec<String>,
    #[serde(default)]
    web_url: String,
    #[serde(default)]
    author: Option<WireUser>,
    #[serde(default)]
    updated_at: Option<String>,
    #[serde(default)]
    references: Option<WireRefs>,
    /// on an issue link: how it relates to the issue asked about
    #[serde(default)]
    link_type: Option<String>,
}

/// GitLab's `opened` / `closed` (and a merge request's `merged`, `locked`).
fn state_of(s: &str) -> State {
    match s {
        "opened" | "locked" => State::Open,
        "closed" | "merged" => State::Closed,
        _ => State::Unknown,
    }
}

/// `group/sub/project` of a reference `group/sub/project#12` (`!12`).
fn project_of_reference(full: &str) -> Option<&str> {
    let (path, n) = full.rsplit_once(['#', '!'])?;
    (!path.is_empty() && !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())).then_some(path)
}

impl WireIssue {
    fn into_issue(self) -> Issue {
        let repository = self
            .references
            .as_ref()
            .and_then(|r| project_of_reference(&r.full))
            .map(|p| RepoMeta {
                full_name: p.to_string(),
            });
        Issue {
            id: self.id,
            number: IssueNumber(self.iid),
            title: self.title,
            body: self.description,
            state: state_of(&self.state),
            labels: self
                .labels
                .into_iter()
                .map(|name| Label { id: 0, name })
                .collect(),
            html_url: self.web_url,
            pull_request: None,
            repository,
            user: self.author.map(|a| a.user()),
            updated_at: self.updated_at,
        }
    }
}

/// A pipeline as a merge request or a list names it (`PipelineBasic`).
#[derive(Debug, Clone, Deserialize, Default)]
pub struct WirePipeline {
    #[serde(default)]
    pub id: i64,
    #[serde(default)]
    pub sha: String,
    #[serde(rename = "ref", default)]
    pub git_ref: String,
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub web_url: Option<String>,
    #[serde(default)]
    pub updated_at: Option<String>,
    /// `external`: the pipeline of commit statuses another CI posted, of
    /// which GitLab lists no jobs
    #[serde(default)]
    pub source: Option<String>,
}

/// A merge request (`API::Entities::MergeRequest`), the fields afk reads.
#[derive(Debug, Clone, Deserialize)]
struct WireMr {
    iid: u64,
    #[serde(default)]
    state: String,
    #[serde(default)]
    sha: Option<String>,
    #[serde(default)]
    merge_commit_sha: Option<String>,
    #[serde(default)]
    squash_commit_sha: Option<String>,
    #[serde(default)]
    source_branch: String,
    #[serde(default)]
    target_branch: String,
    #[serde(default)]
    source_project_id: i64,
    #[serde(default)]
    target_project_id: i64,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    web_url: String,
    #[serde(default)]
    author: Option<WireUser>,
    #[serde(default)]
    merged_at: Option<String>,
    #[serde(default)]
    updated_at: Option<String>,
    #[serde(default)]
    detailed_merge_status: Option<String>,
    #[serde(default)]
    has_conflicts: bool,
    #[serde(default)]
    rebase_in_progress: Option<bool>,
    #[serde(default)]
    merge_error: Option<String>,
    #[serde(default)]
    head_pipeline: Option<WirePipeline>,
}

/// Whether a merge request can merge as it stands, from its
/// `detailed_merge_status` (SPEC 2.1.20): still computing (or absent, or a
/// rebase running) is `None`, never a conflict; `conflict` (or
/// `has_conflicts`), `need_rebase`, or a rebase that ended in a
/// `merge_error` is `Some(false)`; any other value is no conflict.
pub fn mergeable(
    detailed: Option<&str>,
    has_conflicts: bool,
    rebase_in_progress: Option<bool>,
    merge_error: Option<&str>,
) -> Option<bool> {
    if rebase_in_progress == Some(true) {
        return None;
    }
    if rebase_in_progress == Some(false) && merge_error.is_some_and(|e| !e.trim().is_empty()) {
        return Some(false);
    }
    match detailed {
        None | Some("unchecked" | "checking" | "preparing" | "approvals_syncing") => None,
        Some("conflict" | "need_rebase") => Some(false),
        Some(_) if has_conflicts => Some(false),
        Some(_) => Some(true),
    }
}

impl WireMr {
    fn into_pull(self, repo: &RepoName) -> PullRequest {
        let same = self.source_project_id == self.target_project_id;
        let merged = self.state == "merged";
        let mergeable = mergeable(
            self.detailed_merge_status.as_deref(),
            self.has_conflicts,
            self.rebase_in_progress,
            self.merge_error.as_deref(),
        );
        let merge_commit_sha = self
            .merge_commit_sha
            .filter(|s| !s.is_empty())
            .or(self.squash_commit_sha.filter(|s| !s.is_empty()));
        PullRequest {
            number: PrNumber(self.iid),
            state: state_of(&self.state),
            merged,
            merge_commit_sha,
            head: Branch {
                name: self.source_branch,
                sha: self.sha.unwrap_or_default(),
                repo: Some(RepoMeta {
                    // a fork's merge request: never this project's branch
                    full_name: if same {
                        repo.as_str().to_string()
                    } else {
                        format!("(project {})", self.source_project_id)
                    },
                }),
            },
            body: self.description,
            html_url: self.web_url,
            user: self.author.map(|a| a.user()),
            merged_at: if merged { self.merged_at } else { None },
            base: Branch {
                name: self.target_branch,
                sha: String::new(),
                repo: Some(RepoMeta {
                    full_name: repo.as_str().to_string(),
                }),
            },
            mergeable,
        }
    }
}

/// A resource label event (`doc/api/resource_label_events.md`).
#[derive(Debug, Clone, Deserialize)]
struct WireLabelEvent {
    id: i64,
    #[serde(default)]
    user: Option<WireUser>,
    #[serde(default)]
    created_at: Option<String>,
    /// null: the label was deleted since (the event is skipped)
    #[serde(default)]
    label: Option<WireLabel>,
    #[serde(default)]
    action: String,
}

#[derive(Debug, Clone, Deserialize)]
struct WireLabel {
    #[serde(default)]
    id: i64,
    #[serde(default)]
    name: String,
}

/// A resource state event (`doc/api/resource_state_events.md`).
#[derive(Debug, Clone, Deserialize)]
struct WireStateEvent {
    id: i64,
    #[serde(default)]
    user: Option<WireUser>,
    #[serde(default)]
    created_at: Option<String>,
}

/// A note (`doc/api/notes.md`), the fields afk reads.
#[derive(Debug, Clone, Deserialize)]
struct WireNote {
    id: i64,
    #[serde(default)]
    body: String,
    #[serde(default)]
    author: Option<WireUser>,
    #[serde(default)]
    created_at: Option<String>,
    #[serde(default)]
    updated_at: Option<String>,
    #[serde(default)]
    system: bool,
    #[serde(default)]
    resolved_at: Option<String>,
}

impl WireNote {
    /// A system note saying the title or the description changed.
    fn is_edit(&self) -> bool {
        self.system
            && (self.body.starts_with("changed the description")
                || self.body.starts_with("changed title from"))
    }

    fn into_comment(self) -> Comment {
        Comment {
            id: self.id,
            body: self.body,
            html_url: String::new(),
            user: self.author.map(|a| a.user()),
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
    }
}

/// An award emoji (`doc/api/emoji_reactions.md`): when it was given.
#[derive(Debug, Clone, Deserialize)]
struct WireAward {
    #[serde(default)]
    created_at: Option<String>,
}

/// Whether a note was edited (SPEC 2.1.19): GitLab moves `updated_at` when
/// anyone reacts to a note or resolves its thread, and its REST answer has
/// no edit time, so a note is edited when `updated_at` is more than a second
/// after its `created_at`, its `resolved_at` and each of its award emoji.
pub fn note_edited(
    created_at: Option<&str>,
    updated_at: Option<&str>,
    resolved_at: Option<&str>,
    awards: &[Option<&str>],
) -> bool {
    if !afk_wire::edits::edited(created_at, updated_at) {
        return false;
    }
    std::iter::once(resolved_at)
        .chain(awards.iter().copied())
        .flatten()
        .all(|t| afk_wire::edits::edited(Some(t), updated_at))
}

/// An issue's access level (`members/all/:user_id`) as afk ranks it, and
/// its words: Owner 50, Maintainer 40 (`admin`), Developer 30 (`write`),
/// Reporter 20 (`read`); Planner 15, Guest 10, Minimal access 5 and no
/// access meet none.
pub fn access_level(level: i64) -> (Access, String) {
    let (access, role) = match level {
        l if l >= 50 => (Access::Owner, "Owner"),
        l if l >= 40 => (Access::Admin, "Maintainer"),
        l if l >= 30 => (Access::Write, "Developer"),
        l if l >= 20 => (Access::Read, "Reporter"),
        15 => (Access::None, "Planner"),
        10 => (Access::None, "Guest"),
        5 => (Access::None, "Minimal access"),
        _ => (Access::None, "No access"),
    };
    (access, format!("{role} ({level})"))
}

#[derive(Debug, Clone, Deserialize)]
struct WireMember {
    #[serde(default)]
    access_level: Option<i64>,
    #[serde(default)]
    state: Option<String>,
}

/// A pipeline's or a job's or a commit status's `status` in afk's words
/// (SPEC 2.1.14): `success`; `failed` and `canceled` fail; `skipped` is no
/// status (None); everything else (`created`, `pending`, `running`,
/// `manual`, `scheduled`, `canceling`, …) is pending.
pub fn pipeline_state(status: &str) -> Option<&'static str> {
    match status {
        "success" => Some("success"),
        "failed" | "canceled" => Some("failure"),
        "skipped" => None,
        _ => Some("pending"),
    }
}

/// A job of a pipeline, or a commit status: the same fields afk reads.
#[derive(Debug, Clone, Deserialize)]
struct WireJob {
    #[serde(default)]
    id: i64,
    #[serde(default)]
    name: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    web_url: Option<String>,
    #[serde(default)]
    target_url: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    finished_at: Option<String>,
    #[serde(default)]
    created_at: Option<String>,
    /// a commit status's pipeline
    #[serde(default)]
    pipeline_id: Option<i64>,
}

/// The latest job (or status) of each name, as status lines by name;
/// skipped ones left out.
fn latest_per_name(mut jobs: Vec<WireJob>) -> Vec<CommitStatus> {
    jobs.sort_by_key(|j| std::cmp::Reverse(j.id));
    let mut seen: Vec<String> = vec![];
    let mut out = vec![];
    for j in jobs {
        if seen.contains(&j.name) {
            continue;
        }
        seen.push(j.name.clone());
        let Some(state) = pipeline_state(&j.status) else {
            continue;
        };
        out.push(CommitStatus {
            context: j.name,
            status: state.into(),
            target_url: j.web_url.or(j.target_url),
            updated_at: j.finished_at.or(j.created_at),
            description: j.description.or(Some(j.status)),
        });
    }
    out.sort_by(|a, b| a.context.cmp(&b.context));
    out
}

/// The one status a chosen pipeline says of itself, its jobs and its state.
fn pipeline_status(sha: &str, p: &WirePipeline, jobs: Vec<WireJob>) -> CombinedStatus {
    let Some(state) = pipeline_state(&p.status) else {
        return CombinedStatus {
            state: String::new(),
            sha: sha.into(),
            statuses: Some(vec![]),
        };
    };
    let mut lines = latest_per_name(jobs);
    if lines.is_empty() {
        lines.push(CommitStatus {
            context: "pipeline".into(),
            status: state.into(),
            target_url: p.web_url.clone(),
            updated_at: p.updated_at.clone(),
            description: Some(p.status.clone()),
        });
    }
    CombinedStatus {
        state: state.into(),
        sha: sha.into(),
        statuses: Some(lines),
    }
}

/// Whether `p` is the pipeline of merge request `iid`'s head `sha`: its own
/// sha, or a merged results or merge train pipeline of that merge request
/// (whose sha is a temporary merge commit).
fn of_head(p: &WirePipeline, iid: u64, sha: &str) -> bool {
    p.sha == sha
        || p.git_ref == format!("refs/merge-requests/{iid}/merge")
        || p.git_ref == format!("refs/merge-requests/{iid}/train")
}

/// A text GitLab refused: it answers what a note or description carries
/// (too long, invalid) with `400` and its validation errors
/// (`render_validation_error!`) where Gitea and GitHub answer `422`, so it
/// is the same refusal to afk ([`Failure::Unprocessable`]: shortened once,
/// then given up); any other error is left as it is.
pub fn refused_text(e: anyhow::Error) -> anyhow::Error {
    match e.downcast::<ForgeError>() {
        Ok(mut fe) if fe.kind == Failure::Other(400) => {
            fe.kind = Failure::Unprocessable;
            fe.into()
        }
        Ok(fe) => fe.into(),
        Err(e) => e,
    }
}

/// A merge request's title that can never make it a draft: one sanitised
/// line from which every leading draft marker (`Draft:`, `[Draft]`,
/// `(Draft)`, any case) is dropped.
pub fn mr_title(title: &str) -> String {
    let mut t = one_line(title, usize::MAX);
    loop {
        let lower = t.to_ascii_lowercase();
        let cut = ["draft:", "[draft]", "(draft)"]
            .iter()
            .find(|m| lower.starts_with(*m))
            .map(|m| m.len());
        match cut {
            Some(n) => t = t[n..].trim_start().to_string(),
            None => break,
        }
    }
    one_line(&t, TITLE_MAX)
}

/// A label name as `add_labels`/`remove_labels` take it (comma-separated):
/// a name with a comma would be two labels.
fn label_param(name: &str) -> Result<&str> {
    if name.contains(',') {
        anyhow::bail!(
            "forge: GitLab takes labels as a comma-separated list; the label \"{name}\" has a comma"
        );
    }
    Ok(name)
}

#[derive(Debug, Clone, Deserialize)]
struct WireBranchCommit {
    #[serde(default)]
    id: String,
    #[serde(default)]
    message: String,
    #[serde(default)]
    committer_name: String,
    #[serde(default)]
    committer_email: String,
}

#[derive(Debug, Clone, Deserialize)]
struct WireBranch {
    #[serde(default)]
    name: String,
    commit: WireBranchCommit,
}

#[derive(Debug, Clone, Deserialize)]
struct WireCommit {
    id: String,
    #[serde(default)]
    message: String,
    #[serde(default)]
    committed_date: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
struct WireDiff {
    #[serde(default)]
    old_path: String,
    #[serde(default)]
    new_path: String,
    #[serde(default)]
    diff: String,
    #[serde(default)]
    new_file: bool,
    #[serde(default)]
    deleted_file: bool,
}

impl WireDiff {
    fn into_diff(self) -> super::FileDiff {
        super::FileDiff {
            old_path: (!self.new_file).then_some(self.old_path),
            new_path: (!self.deleted_file).then_some(self.new_path),
            patch: (!self.diff.is_empty()).then_some(self.diff),
        }
    }
}

/// What one tick keeps of GitLab: labels, afk's account, user ids by
/// username, and the head pipeline of each merge request head it read.
#[derive(Default)]
struct Kept {
    labels: HashMap<RepoName, Vec<Label>>,
    me: Option<User>,
    users: HashMap<String, i64>,
    /// (project, head sha) → the merge request's iid and its head pipeline
    heads: HashMap<(RepoName, String), (u64, Option<WirePipeline>)>,
    /// (project, merge request iid) → the line comments of each review read
    talk: HashMap<(RepoName, u64), std::collections::BTreeMap<i64, LineComments>>,
}

pub struct Gitlab {
    pub http: Http,
    kept: Mutex<Kept>,
}

impl Gitlab {
    pub fn new(http: Http) -> Gitlab {
        Gitlab {
            http,
            kept: Mutex::new(Kept::default()),
        }
    }

    fn remember_user(&self, u: &WireUser) {
        if u.id != 0 && !u.username.is_empty() {
            let mut k = self.kept.lock().unwrap();
            k.users.insert(u.username.to_ascii_lowercase(), u.id);
        }
    }

    fn remember_mr(&self, repo: &RepoName, m: &WireMr) {
        if let Some(sha) = m.sha.as_deref().filter(|s| !s.is_empty()) {
            let mut k = self.kept.lock().unwrap();
            k.heads.insert(
                (repo.clone(), sha.to_string()),
                (m.iid, m.head_pipeline.clone()),
            );
        }
    }

    fn pulls(&self, repo: &RepoName, list: Vec<WireMr>) -> Vec<PullRequest> {
        list.into_iter()
            .map(|m| {
                self.remember_mr(repo, &m);
                m.into_pull(repo)
            })
            .collect()
    }

    /// A username's id: one read of the label events told it, else
    /// `GET /users?username=` (None: no such user).
    fn user_id(&self, login: &str) -> Result<Option<i64>> {
        let key = login.to_ascii_lowercase();
        if let Some(id) = self.kept.lock().unwrap().users.get(&key) {
            return Ok(Some(*id));
        }
        let found: Vec<WireUser> =
            self.http
                .json("GET", &format!("/users?username={}", enc(login)), None)?;
        let id = found
            .into_iter()
            .find(|u| u.username.eq_ignore_ascii_case(login))
            .map(|u| u.id);
        if let Some(id) = id {
            self.kept.lock().unwrap().users.insert(key, id);
        }
        Ok(id)
    }

    fn notes_path(repo: &RepoName, on: Target) -> String {
        match on {
            Target::Issue(n) => format!("{}/issues/{n}/notes", project(repo)),
            Target::Pr(n) => format!("{}/merge_requests/{n}/notes", project(repo)),
        }
    }

    fn notes(&self, repo: &RepoName, on: Target) -> Result<Vec<WireNote>> {
        self.http.get_all(&format!(
            "{}?sort=asc&order_by=created_at",
            Self::notes_path(repo, on)
        ))
    }

    /// `PUT /projects/:id/issues/:iid` with `fields`.
    fn put_issue(
        &self,
        repo: &RepoName,
        number: IssueNumber,
        fields: serde_json::Value,
    ) -> Result<()> {
        self.http.send(
            "PUT",
            &format!("{}/issues/{number}", project(repo)),
            Some(&fields),
        )?;
        Ok(())
    }

    fn label_exists(&self, repo: &RepoName, name: &str) -> Result<()> {
        if self.repo_labels(repo)?.iter().any(|l| l.name == name) {
            return Ok(());
        }
        anyhow::bail!(
            "forge: label \"{name}\" does not exist in {repo} (GitLab would create it): create it (afk init --create-labels)"
        )
    }

    /// The merge request afk's account has open from `head` (the answer to
    /// a `409` on creating one): afk's by its account id, else none.
    fn own_open_mr(&self, repo: &RepoName, head: &str) -> Result<Option<PullRequest>> {
        let me = self.me()?;
        let open: Vec<WireMr> = self.http.get_all(&format!(
            "{}/merge_requests?state=opened&source_branch={}",
            project(repo),
            enc(head)
        ))?;
        Ok(open
            .into_iter()
            .find(|m| {
                m.source_branch == head
                    && m.source_project_id == m.target_project_id
                    && m.author
                        .as_ref()
                        .is_some_and(|a| a.id == me.id && me.id != 0)
            })
            .map(|m| {
                self.remember_mr(repo, &m);
                m.into_pull(repo)
            }))
    }

    /// The lines of pipeline `p`: its jobs, or for an external pipeline (of
    /// which GitLab lists no jobs) the commit statuses posted in it.
    fn jobs_status(&self, repo: &RepoName, sha: &str, p: &WirePipeline) -> Result<CombinedStatus> {
        let jobs: Vec<WireJob> = match pipeline_state(&p.status) {
            None => vec![],
            Some(_) if p.source.as_deref() == Some("external") => {
                let of = if p.sha.is_empty() { sha } else { &p.sha };
                let all: Vec<WireJob> = self.http.get_all(&format!(
                    "{}/repository/commits/{}/statuses",
                    project(repo),
                    enc(of)
                ))?;
                all.into_iter()
                    .filter(|s| s.pipeline_id.is_none_or(|id| id == p.id))
                    .collect()
            }
            Some(_) => self
                .http
                .get_all(&format!("{}/pipelines/{}/jobs", project(repo), p.id))?,
        };
        Ok(pipeline_status(sha, p, jobs))
    }
}

impl ForgeReads for Gitlab {
    fn requests(&self) -> usize {
        self.http.requests()
    }

    fn token_info(&self) -> Option<Result<crate::TokenInfo>> {
        Some(self.read_token_info())
    }

    fn branch_rules(&self, repo: &RepoName) -> Option<Result<crate::BranchRules>> {
        Some(self.read_branch_rules(repo))
    }

    /// `GET /user`: a person's account, or an access token's bot user.
    fn me(&self) -> Result<User> {
        if let Some(me) = &self.kept.lock().unwrap().me {
            return Ok(me.clone());
        }
        let u: WireUser = self.http.json("GET", "/user", None)?;
        if u.username.is_empty() {
            anyhow::bail!("forge: GET /user: GitLab's answer names no username");
        }
        let me = u.user();
        self.kept.lock().unwrap().me = Some(me.clone());
        Ok(me)
    }

    /// Git over HTTPS: user `oauth2`, the token as the password.
    fn git_credentials(&self) -> Option<Result<(String, String)>> {
        Some(self.http.token().map(|t| ("oauth2".to_string(), t)))
    }

    fn is_public(&self, repo: &RepoName) -> Result<bool> {
        let p: serde_json::Value = self.http.json("GET", &project(repo), None)?;
        Ok(p["visibility"].as_str() == Some("public"))
    }

    /// `GET /projects/:id/issues?state=opened&labels=…`, every page; the
    /// label re-checked on each (merge requests are never in that list).
    fn issues_with_label(&self, repo: &RepoName, label: &str) -> Result<Vec<Issue>> {
        let all: Vec<WireIssue> = self.http.get_all(&format!(
            "{}/issues?state=opened&labels={}",
            project(repo),
            enc(label)
        ))?;
        Ok(super::model::open_issues_with(
            all.into_iter().map(WireIssue::into_issue).collect(),
            label,
        ))
    }

    fn issue(&self, repo: &RepoName, number: IssueNumber) -> Result<Issue> {
        let i: WireIssue =
            self.http
                .json("GET", &format!("{}/issues/{number}", project(repo)), None)?;
        Ok(i.into_issue())
    }

    /// The issue's label events (who armed it), its state events and its
    /// notes, in time order. A note is dated by its `updated_at` (an edited
    /// comment moves the issue's too); a system note saying the title or
    /// description changed is a rename. Only label events keep their ids;
    /// the others' are negated, so no id of one kind is taken for another's.
    fn timeline(&self, repo: &RepoName, number: IssueNumber) -> Result<Vec<TimelineEvent>> {
        let base = format!("{}/issues/{number}", project(repo));
        let labels: Vec<WireLabelEvent> = self
            .http
            .get_all(&format!("{base}/resource_label_events"))?;
        let states: Vec<WireStateEvent> = self
            .http
            .get_all(&format!("{base}/resource_state_events"))?;
        let notes = self.notes(repo, Target::Issue(number))?;
        let mut out: Vec<TimelineEvent> = vec![];
        for e in labels {
            let Some(label) = e.label.filter(|l| !l.name.is_empty()) else {
                continue;
            };
            if let Some(u) = &e.user {
                self.remember_user(u);
            }
            let kind = match e.action.as_str() {
                "add" => EventKind::LabelAdded,
                "remove" => EventKind::LabelRemoved,
                _ => EventKind::Other,
            };
            out.push(TimelineEvent {
                id: e.id,
                kind,
                label: Some(label.name),
                actor: e.user.map(|u| u.username).unwrap_or_default(),
                created_at: e.created_at,
            });
        }
        for e in states {
            out.push(TimelineEvent {
                id: -e.id,
                kind: EventKind::Other,
                label: None,
                actor: e.user.map(|u| u.username).unwrap_or_default(),
                created_at: e.created_at,
            });
        }
        for n in notes {
            out.push(TimelineEvent {
                id: -n.id,
                kind: if n.is_edit() {
                    EventKind::Renamed
                } else {
                    EventKind::Other
                },
                label: None,
                actor: n.author.map(|u| u.username).unwrap_or_default(),
                created_at: n.updated_at.or(n.created_at),
            });
        }
        // time order, stable (label events are oldest first already); an
        // undated event last, so a rename nobody dated counts as after
        out.sort_by_key(|e| {
            let t = e.created_at.as_deref().and_then(crate::clock::parse);
            (t.is_none(), t)
        });
        Ok(out)
    }

    /// `members/all/:user_id`'s access level (inherited and shared
    /// membership, the highest); not a member (404) or no such user: none;
    /// a refused lookup is the error. A user who is not `active`, or a bot
    /// user (`GET /users/:id`), meets none.
    fn permission(&self, repo: &RepoName, login: &str) -> Result<Permission> {
        let Some(id) = self.user_id(login)? else {
            return Ok(Permission::ranked(Access::None, "no such user"));
        };
        let m: WireMember =
            match self
                .http
                .json("GET", &format!("{}/members/all/{id}", project(repo)), None)
            {
                Ok(m) => m,
                Err(e) if ForgeError::kind_of(&e) == Some(Failure::NotFound) => {
                    return Ok(Permission::ranked(Access::None, "not a member"));
                }
                Err(e) => return Err(e),
            };
        let Some(level) = m.access_level else {
            return Ok(Permission::ranked(Access::None, "no access level"));
        };
        if let Some(state) = m.state.as_deref().filter(|s| *s != "active") {
            return Ok(Permission::ranked(Access::None, &format!("{state} user")));
        }
        let (access, word) = access_level(level);
        if access == Access::None {
            return Ok(Permission::ranked(access, &word));
        }
        let u: WireUser = self.http.json("GET", &format!("/users/{id}"), None)?;
        if u.bot == Some(true) {
            return Ok(Permission::ranked(
                Access::None,
                &format!("bot user, {word}"),
            ));
        }
        if u.state.as_deref().is_some_and(|s| s != "active") {
            return Ok(Permission::ranked(
                Access::None,
                &format!("{} user", u.state.unwrap_or_default()),
            ));
        }
        Ok(Permission::ranked(access, &word))
    }

    /// `GET .../issues/:iid/links`, those that block this one; a `403`/`404`
    /// (a tier without blocking links, GitLab Free) means none.
    fn dependencies(&self, repo: &RepoName, number: IssueNumber) -> Result<Vec<Issue>> {
        match self.http.json::<Vec<WireIssue>>(
            "GET",
            &format!("{}/issues/{number}/links", project(repo)),
            None,
        ) {
            Ok(v) => Ok(v
                .into_iter()
                .filter(|i| i.link_type.as_deref() == Some("is_blocked_by"))
                .map(WireIssue::into_issue)
                .collect()),
            Err(e)
                if matches!(
                    ForgeError::kind_of(&e),
                    Some(Failure::NotFound | Failure::Forbidden)
                ) =>
            {
                Ok(vec![])
            }
            Err(e) => Err(e),
        }
    }

    /// `GET /projects/:id/labels` (group labels included), once per tick.
    /// `GET /projects/:id/hooks`: GitLab's hooks have no active flag.
    fn hooks(&self, repo: &RepoName) -> Result<Vec<crate::HookInfo>> {
        let wire: Vec<serde_json::Value> =
            self.http
                .json("GET", &format!("{}/hooks", project(repo)), None)?;
        Ok(wire
            .iter()
            .map(|h| crate::HookInfo {
                url: h["url"].as_str().unwrap_or_default().to_string(),
                active: true,
            })
            .collect())
    }

    fn repo_labels(&self, repo: &RepoName) -> Result<Vec<Label>> {
        if let Some(l) = self.kept.lock().unwrap().labels.get(repo) {
            return Ok(l.clone());
        }
        let wire: Vec<WireLabel> = self.http.get_all(&format!("{}/labels", project(repo)))?;
        let l: Vec<Label> = wire
            .into_iter()
            .map(|w| Label {
                id: w.id,
                name: w.name,
            })
            .collect();
        self.kept
            .lock()
            .unwrap()
            .labels
            .insert(repo.clone(), l.clone());
        Ok(l)
    }

    /// The notes of an issue or a merge request, oldest first, system notes
    /// left out. A note whose `updated_at` moved only by a reaction or a
    /// resolve is given back unedited ([`note_edited`]; its award emoji read
    /// only when its dates differ).
    fn comments(&self, repo: &RepoName, on: Target) -> Result<Vec<Comment>> {
        let mut out = vec![];
        for mut n in self.notes(repo, on)? {
            if n.system {
                continue;
            }
            if afk_wire::edits::edited(n.created_at.as_deref(), n.updated_at.as_deref()) {
                let awards: Vec<WireAward> = self.http.get_all(&format!(
                    "{}/{}/award_emoji",
                    Self::notes_path(repo, on),
                    n.id
                ))?;
                let at: Vec<Option<&str>> =
                    awards.iter().map(|a| a.created_at.as_deref()).collect();
                if !note_edited(
                    n.created_at.as_deref(),
                    n.updated_at.as_deref(),
                    n.resolved_at.as_deref(),
                    &at,
                ) {
                    n.updated_at = n.created_at.clone();
                }
            }
            out.push(n.into_comment());
        }
        Ok(out)
    }

    fn open_pulls(&self, repo: &RepoName) -> Result<Vec<PullRequest>> {
        let v: Vec<WireMr> = self
            .http
            .get_all(&format!("{}/merge_requests?state=opened", project(repo)))?;
        Ok(self.pulls(repo, v))
    }

    /// The most recently updated merged and closed merge requests: one page of each.
    fn recent_closed_pulls(&self, repo: &RepoName) -> Result<Vec<PullRequest>> {
        let mut all: Vec<WireMr> = vec![];
        for state in ["merged", "closed"] {
            let v: Vec<WireMr> = self.http.json(
                "GET",
                &format!(
                    "{}/merge_requests?state={state}&order_by=updated_at&sort=desc&page=1&per_page=50",
                    project(repo)
                ),
                None,
            )?;
            all.extend(v);
        }
        all.sort_by(|a, b| b.updated_at.cmp(&a.updated_at));
        Ok(self.pulls(repo, all))
    }

    /// The single merge request (its `GET` also starts GitLab's mergeability
    /// check), with whether a rebase is running.
    fn pull(&self, repo: &RepoName, number: PrNumber) -> Result<PullRequest> {
        let m: WireMr = self.http.json(
            "GET",
            &format!(
                "{}/merge_requests/{number}?include_rebase_in_progress=true",
                project(repo)
            ),
            None,
        )?;
        self.remember_mr(repo, &m);
        Ok(m.into_pull(repo))
    }

    /// CI of `sha` (SPEC 2.1.14): for a merge request head read this tick,
    /// its `head_pipeline` when that is of the head, else its newest
    /// pipeline of the head; else (or for any other commit) the head's
    /// commit statuses, the latest per name (a pipeline's jobs are among
    /// them). A chosen pipeline's jobs are its lines.
    fn combined_status(&self, repo: &RepoName, sha: &str) -> Result<CombinedStatus> {
        let head = self
            .kept
            .lock()
            .unwrap()
            .heads
            .get(&(repo.clone(), sha.to_string()))
            .cloned();
        if let Some((iid, head_pipeline)) = head {
            if let Some(p) = head_pipeline.filter(|p| of_head(p, iid, sha)) {
                return self.jobs_status(repo, sha, &p);
            }
            let pipelines: Vec<WirePipeline> = self.http.json(
                "GET",
                &format!("{}/merge_requests/{iid}/pipelines", project(repo)),
                None,
            )?;
            if let Some(p) = pipelines
                .into_iter()
                .filter(|p| p.sha == sha)
                .max_by_key(|p| p.id)
            {
                return self.jobs_status(repo, sha, &p);
            }
        }
        let statuses: Vec<WireJob> = self.http.get_all(&format!(
            "{}/repository/commits/{}/statuses",
            project(repo),
            enc(sha)
        ))?;
        Ok(super::github::merge_ci(sha, latest_per_name(statuses)))
    }

    /// `GET .../repository/commits?ref_name=…&since=…`, newest first, down
    /// to the first older than `since`.
    fn commits(
        &self,
        repo: &RepoName,
        branch: &str,
        since: time::OffsetDateTime,
    ) -> Result<Vec<super::Commit>> {
        let mut out = vec![];
        self.http.walk(
            &format!(
                "{}/repository/commits?ref_name={}&since={}",
                project(repo),
                enc(branch),
                enc(&crate::clock::ts(since))
            ),
            |page: Vec<WireCommit>| {
                let page = page
                    .into_iter()
                    .map(|w| super::Commit {
                        sha: w.id,
                        message: w.message,
                        date: w.committed_date,
                        author: None,
                    })
                    .collect();
                super::commits::keep_until(page, since, &mut out)
            },
        )?;
        Ok(out)
    }

    /// `GET .../repository/commits/:sha/diff`: what it changed against its
    /// first parent, file by file.
    fn diff(&self, repo: &RepoName, sha: &str) -> Result<Vec<super::FileDiff>> {
        let files: Vec<WireDiff> = self.http.get_all(&format!(
            "{}/repository/commits/{}/diff",
            project(repo),
            enc(sha)
        ))?;
        Ok(files.into_iter().map(WireDiff::into_diff).collect())
    }

    /// The conversation on merge request `pr` (SPEC 2.1.16-18): each
    /// person's unresolved resolvable threads and reviewer state
    /// `requested_changes`, superseded by resolution or their later
    /// approval, as one request for changes each (`gitlab_talk`). Reads
    /// `.../discussions`, `.../reviewers` and the merge request's notes
    /// (GitLab writes approvals and change requests as system notes).
    fn reviews(&self, repo: &RepoName, pr: PrNumber) -> Result<Vec<Review>> {
        let base = format!("{}/merge_requests/{pr}", project(repo));
        let head = {
            let k = self.kept.lock().unwrap();
            k.heads
                .iter()
                .find(|((r, _), (iid, _))| r == repo && *iid == pr.0)
                .map(|((_, sha), _)| sha.clone())
        };
        let head = match head {
            Some(h) => h,
            None => self.pull(repo, pr)?.head.sha,
        };
        let discussions: Vec<super::gitlab_talk::Discussion> =
            self.http.get_all(&format!("{base}/discussions"))?;
        // one answer, not paged: the description declares no `page` here
        let reviewers: Vec<super::gitlab_talk::Reviewer> =
            self.http.json("GET", &format!("{base}/reviewers"), None)?;
        let notes: Vec<super::gitlab_talk::TalkNote> = self
            .http
            .get_all(&format!("{base}/notes?sort=asc&order_by=created_at"))?;
        let (reviews, lines) = super::gitlab_talk::reviews(&head, &discussions, &reviewers, &notes);
        self.kept
            .lock()
            .unwrap()
            .talk
            .insert((repo.clone(), pr.0), lines);
        Ok(reviews)
    }

    /// The notes of the threads of `review` (as [`Self::reviews`] made it
    /// this tick; read again when it was not).
    fn line_comments(&self, repo: &RepoName, pr: PrNumber, review: i64) -> Result<LineComments> {
        let kept = |s: &Self| {
            s.kept
                .lock()
                .unwrap()
                .talk
                .get(&(repo.clone(), pr.0))
                .map(|t| t.get(&review).cloned().unwrap_or_default())
        };
        if let Some(l) = kept(self) {
            return Ok(l);
        }
        self.reviews(repo, pr)?;
        Ok(kept(self).unwrap_or_default())
    }

    /// `GET .../repository/branches/:branch` (the name encoded as one segment).
    fn branch(&self, repo: &RepoName, name: &str) -> Result<Option<BranchHead>> {
        match self.http.json::<WireBranch>(
            "GET",
            &format!("{}/repository/branches/{}", project(repo), enc(name)),
            None,
        ) {
            Ok(b) => Ok(Some(BranchHead {
                name: b.name,
                commit: HeadCommit {
                    id: b.commit.id,
                    message: b.commit.message,
                    committer: Some(CommitPerson {
                        name: b.commit.committer_name,
                        email: b.commit.committer_email,
                    }),
                },
            })),
            Err(e) if ForgeError::kind_of(&e) == Some(Failure::NotFound) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

impl ForgeWrites for Gitlab {
    /// `PUT` the issue with `add_labels` (never `labels=`, which replaces),
    /// once the project is known to have the label: GitLab's `add_labels`
    /// would make a missing one.
    fn add_label(&self, repo: &RepoName, number: IssueNumber, name: &str) -> Result<()> {
        self.label_exists(repo, name)?;
        self.put_issue(repo, number, json!({ "add_labels": label_param(name)? }))
    }

    fn remove_label(&self, repo: &RepoName, number: IssueNumber, name: &str) -> Result<()> {
        self.put_issue(repo, number, json!({ "remove_labels": label_param(name)? }))
    }

    /// `POST /projects/:id/labels`; GitLab's color is `#rrggbb`.
    fn create_label(&self, repo: &RepoName, name: &str, color: &str) -> Result<()> {
        let color = if color.starts_with('#') {
            color.to_string()
        } else {
            format!("#{color}")
        };
        self.http.send(
            "POST",
            &format!("{}/labels", project(repo)),
            Some(&json!({ "name": name, "color": color })),
        )?;
        self.kept.lock().unwrap().labels.remove(repo);
        Ok(())
    }

    /// A note on the issue or the merge request, no line of it a quick action.
    fn create_comment(&self, repo: &RepoName, on: Target, body: &str) -> Result<Comment> {
        let n: WireNote = self
            .http
            .json(
                "POST",
                &Self::notes_path(repo, on),
                Some(&json!({ "body": no_quick_actions(body) })),
            )
            .map_err(refused_text)?;
        Ok(n.into_comment())
    }

    fn edit_comment(&self, repo: &RepoName, on: Target, id: i64, body: &str) -> Result<Comment> {
        let n: WireNote = self
            .http
            .json(
                "PUT",
                &format!("{}/{id}", Self::notes_path(repo, on)),
                Some(&json!({ "body": no_quick_actions(body) })),
            )
            .map_err(refused_text)?;
        Ok(n.into_comment())
    }

    fn close_issue(&self, repo: &RepoName, number: IssueNumber) -> Result<()> {
        self.put_issue(repo, number, json!({ "state_event": "close" }))
    }

    /// The issue's or the merge request's `description`.
    fn edit_issue_body(&self, repo: &RepoName, on: Target, body: &str) -> Result<()> {
        let path = match on {
            Target::Issue(n) => format!("{}/issues/{n}", project(repo)),
            Target::Pr(n) => format!("{}/merge_requests/{n}", project(repo)),
        };
        self.http
            .send(
                "PUT",
                &path,
                Some(&json!({ "description": no_quick_actions(body) })),
            )
            .map_err(refused_text)?;
        Ok(())
    }

    /// `POST /projects/:id/merge_requests` from `head` into `base`, never a
    /// draft by accident ([`mr_title`]); `remove_source_branch` is not sent
    /// (the project's setting decides). A `409` (one is open from that
    /// branch already) is adopted only when it is afk's own.
    fn create_pull(
        &self,
        repo: &RepoName,
        head: &str,
        base: &str,
        title: &str,
        body: &str,
    ) -> Result<PullRequest> {
        match self.http.json::<WireMr>(
            "POST",
            &format!("{}/merge_requests", project(repo)),
            Some(&json!({
                "source_branch": head,
                "target_branch": base,
                "title": mr_title(title),
                "description": no_quick_actions(body),
            })),
        ) {
            Ok(m) => {
                self.remember_mr(repo, &m);
                Ok(m.into_pull(repo))
            }
            Err(e) if ForgeError::kind_of(&e) == Some(Failure::Conflict) => {
                match self.own_open_mr(repo, head)? {
                    Some(p) => Ok(p),
                    None => Err(e.context(format!(
                        "forge: a merge request from {head} is open in {repo} and it is not afk's"
                    ))),
                }
            }
            Err(e) => Err(e),
        }
    }

    fn close_pull(&self, repo: &RepoName, number: PrNumber) -> Result<()> {
        self.http.send(
            "PUT",
            &format!("{}/merge_requests/{number}", project(repo)),
            Some(&json!({ "state_event": "close" })),
        )?;
        Ok(())
    }

    /// Award emoji `content` (afk acknowledges with `eyes`) on note
    /// `comment`; GitLab's `404` "has already been taken" means it is there.
    fn react(&self, repo: &RepoName, on: Target, comment: i64, content: &str) -> Result<()> {
        match self.http.send(
            "POST",
            &format!("{}/{comment}/award_emoji", Self::notes_path(repo, on)),
            Some(&json!({ "name": content })),
        ) {
            Ok(_) => Ok(()),
            Err(e)
                if ForgeError::kind_of(&e) == Some(Failure::NotFound)
                    && super::reviews::words(&e).contains("already been taken") =>
            {
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    /// `PUT .../merge_requests/:iid/rebase`: `202` accepted (GitLab reports
    /// later: `merge_error` once `rebase_in_progress` is false, read by
    /// [`mergeable`]); a `403` refused; a `409` (one already running) waits.
    /// GitLab's API cannot merge the base in.
    fn update_branch(
        &self,
        repo: &RepoName,
        pr: PrNumber,
        style: UpdateStyle,
        _expected_head_sha: &str,
    ) -> Result<BranchUpdate> {
        if style != UpdateStyle::Rebase {
            anyhow::bail!(
                "forge: GitLab cannot merge the target branch into a merge request's branch, only rebase it: set watch.update_branch = \"rebase\""
            );
        }
        match self.http.send(
            "PUT",
            &format!("{}/merge_requests/{pr}/rebase", project(repo)),
            Some(&json!({})),
        ) {
            Ok(_) => Ok(BranchUpdate::Started),
            Err(e) => match ForgeError::kind_of(&e) {
                Some(Failure::Conflict) => Ok(BranchUpdate::HeadMoved),
                Some(Failure::Forbidden) => Ok(BranchUpdate::Refused(super::reviews::words(&e))),
                _ => Err(e),
            },
        }
    }
}

#[cfg(test)]
#[path = "gitlab_tests.rs"]
mod tests;
