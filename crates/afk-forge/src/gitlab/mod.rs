//! GitLab REST API v4 (docs/gitlab.md), mapped onto the forge-neutral model.
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
//!
//! Here: the wire shapes and the client's helpers; [`reads`] and [`writes`]
//! are the two trait impls, `tests` their tests against a scripted GitLab.

mod reads;
#[cfg(test)]
mod tests;
mod writes;

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
/// `detailed_merge_status` (docs/gitlab.md#what-afk-reads-and-writes): still
/// computing (or absent, or a rebase running) is `None`, never a conflict;
/// `conflict` (or `has_conflicts`), `need_rebase`, or a rebase that ended in
/// a `merge_error` is `Some(false)`; any other value is no conflict.
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
            // only Gitea's `mergeable` reads a title and a draft
            title: String::new(),
            draft: None,
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
                label: None,
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
                label: None,
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

/// A resource state event (`doc/api/resource_state_events.md`), or a
/// milestone, weight or iteration event, read for their dates alone.
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
    /// A system note saying the title or the description changed. An edit
    /// that toggles a task-list item leaves only `marked the checklist item
    /// … as completed` (older GitLab: `marked the task …`), even when other
    /// text changed with it (docs/fidelity/gitlab.md): an edit too.
    fn is_edit(&self) -> bool {
        self.system
            && [
                "changed the description",
                "changed title from",
                "marked the checklist item",
                "marked the task",
            ]
            .iter()
            .any(|p| self.body.starts_with(p))
    }

    fn into_comment(self) -> Comment {
        Comment {
            id: self.id,
            body: self.body,
            html_url: String::new(),
            user: self.author.map(|a| a.user()),
            created_at: self.created_at,
            updated_at: self.updated_at,
            node_id: None,
        }
    }
}

/// An award emoji (`doc/api/emoji_reactions.md`): which, by whom, when.
#[derive(Debug, Clone, Deserialize)]
struct WireAward {
    #[serde(default)]
    created_at: Option<String>,
    #[serde(default)]
    name: String,
    #[serde(default)]
    user: Option<WireUser>,
}

impl WireAward {
    /// (who, name), `thumbsup` read as `+1` (`ForgeReads::reactions`).
    fn reaction(&self) -> (String, String) {
        let name = match self.name.as_str() {
            "thumbsup" => "+1".to_string(),
            other => other.to_string(),
        };
        let who = self.user.as_ref().map(|u| u.username.clone());
        (who.unwrap_or_default(), name)
    }
}

/// Whether a note was edited (docs/gitlab.md#what-differs-from-gitea-and-github):
/// GitLab moves `updated_at` when anyone reacts to a note or resolves its
/// thread, and its REST answer has no edit time, so a note is edited when
/// `updated_at` is more than a second after its `created_at`, its
/// `resolved_at` and each of its award emoji.
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

/// The GraphQL query for a note's edit time (`Query.note`, GitLab 15.9 and
/// later; `Note.lastEditedAt`, `app/graphql/types/notes/base_note_interface.rb`).
pub(crate) const NOTE_EDITED_QUERY: &str = "query($id: NoteID!) { note(id: $id) { lastEditedAt } }";

/// Whether a note was ever edited, as the `data` of GitLab's answer to
/// [`NOTE_EDITED_QUERY`] says (docs/fidelity/gitlab.md): GitLab sets
/// `lastEditedAt` only when the note's text changes
/// (`Notes::UpdateService#update_note`), never for an emoji or a resolve,
/// so any time there is an edit, even one in the note's own second, and
/// `null` is none. None when the answer does not say (no note: one the
/// token cannot read; no field).
pub fn note_ever_edited(data: &serde_json::Value) -> Option<bool> {
    match data["note"].as_object()?.get("lastEditedAt")? {
        serde_json::Value::Null => Some(false),
        serde_json::Value::String(_) => Some(true),
        _ => None,
    }
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
/// (docs/gitlab.md#what-afk-reads-and-writes): `success`; `failed` and
/// `canceled` fail; `skipped` is no status (None); everything else
/// (`created`, `pending`, `running`, `manual`, `scheduled`, `canceling`, …)
/// is pending.
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

/// Whether `p` is a merged results or merge train pipeline of merge request
/// `iid`: its sha a temporary merge commit, whose parents say which head it
/// merged (`Gitlab::pipeline_of_head`).
fn merge_ref_of(p: &WirePipeline, iid: u64) -> bool {
    p.git_ref == format!("refs/merge-requests/{iid}/merge")
        || p.git_ref == format!("refs/merge-requests/{iid}/train")
}

/// A commit as `GET .../repository/commits/:sha` answers it: afk reads its
/// parents only.
#[derive(Debug, Deserialize)]
struct WireParents {
    parent_ids: Vec<String>,
}

/// A text GitLab refused: it answers what a note or description carries
/// (too long, invalid) with `400` and its validation errors
/// (`render_validation_error!`) where Gitea and GitHub answer `422`
/// ([`crate::http::refused_text`]).
pub use crate::http::refused_text;

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
    /// (project, note) → its award emoji as read this tick: (who, name as
    /// `reactions` gives it)
    awards: HashMap<(RepoName, i64), Vec<(String, String)>>,
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
        Err(anyhow::Error::new(crate::NoSuchLabel {
            repo: repo.to_string(),
            name: name.to_string(),
            note: " (GitLab would create it)",
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
