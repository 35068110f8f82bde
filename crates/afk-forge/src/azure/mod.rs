//! Azure DevOps Services, REST 7.1: work items as issues, tags as labels,
//! Azure Repos pull requests, trust by the ACL. Every path is a template
//! of `contracts/azure-devops-7.1-subset.json` under the organization's
//! URL (the API root), with its `api-version`; names are percent-encoded
//! one segment each, and after the first read a project and a repository
//! are addressed by their ids, so a rename cannot send a later request
//! elsewhere. The decisions are `afk_wire::azure`'s (`afk_core::azure`):
//! this adapter asks, maps and sends.
//!
//! One job a file: `mod.rs` (the forge, its paths and the traits handed
//! on), `wire.rs` (the answers' shapes), `ready.rs` (the ready work items:
//! the project's WIQL query once a tick), `items.rs` (work items: their
//! reads, tags, comments, closing), `trust.rs` (who armed, the ACL),
//! `pulls.rs` (pull requests, CI, threads and votes, the branch update),
//! `doctor.rs` (doctor's Azure DevOps lines, the service-hook subscriptions).

mod doctor;
mod items;
mod pulls;
mod ready;
mod trust;
mod wire;

use crate::http::{Http, MAX_PAGES, enc};
use crate::memo::Memo;
use crate::model::*;
use crate::types::{IssueNumber, Permission, PrNumber, RepoName};
use crate::{ForgeReads, ForgeWrites};
use afk_wire::azure::repo as repo_ids;
use afk_wire::azure::trust as rules;
use afk_wire::azure::{API_VERSION, org};
use anyhow::{Result, anyhow};
use std::collections::HashMap;
use std::sync::Mutex;

/// The forge of `kind = "azure-devops"`.
pub struct AzureDevops {
    http: Http,
    /// identities are read at the organization's identity service
    /// (`forge.vssps_url`'s default, or on loopback the sandbox itself)
    ids: Http,
    /// each allowlisted repository as first read this tick, by its
    /// lower-cased `project/repository`
    repos: Memo<String, wire::Repository>,
    /// each project's name in the work-item reads' paths (by its name as
    /// configured, lower-cased), the same all tick ([`AzureDevops::project_ref`])
    projects: Memo<String, String>,
    /// each `(project, type)`'s states and their categories, once a tick
    states: Memo<(String, String), Vec<wire::TypeState>>,
    /// each security namespace's actions (their bits by name), once a tick
    namespaces: Memo<String, Vec<wire::Action>>,
    /// each identity read (by its lower-cased path: an account name, an
    /// id), once a tick
    identities: Memo<String, Vec<wire::Identity>>,
    /// each project ACL entry's effective bits (by its lower-cased path:
    /// the namespace, the token, the descriptor), once a tick: every
    /// repository of the project waits for it
    acls: Memo<String, Option<(i64, i64)>>,
    /// each repository ACL entry's, once a tick: one repository's read,
    /// in line with its other reads
    repo_acls: Memo<String, Option<(i64, i64)>>,
    /// each project's policy types (by its id), once a tick: the id of the
    /// type named `Status`, if it has one
    policy_types: Memo<String, Option<String>>,
    /// each project's open work items tagged with a label (by the
    /// project's id, its name as configured, the label; all lower-cased):
    /// one WIQL query a project a tick, whichever of its repositories asks
    tagged: Memo<(String, String, String), ready::Tagged>,
    /// each repository's active PRs as last listed this tick (by its
    /// lower-cased name): the CI of a head one of them has is that PR's,
    /// without listing them again; a head none has lists them anew
    active: Mutex<HashMap<String, Vec<PullRequest>>>,
    /// each PR's threads, once a tick (its reviews, comments, a thread's
    /// line comments and likes all read them); afk's own write to a thread
    /// of the PR forgets them, whatever its outcome
    threads: Memo<(String, u64), Vec<wire::Thread>>,
    /// each work item as afk last read it this tick, all its fields: the
    /// first try of a write's compare-and-swap on `/rev` starts from it
    /// instead of reading the item again; a write to the item takes it
    /// out, and a refused `test` reads the item anew
    seen: Mutex<HashMap<u64, wire::WorkItem>>,
    /// each login given this tick (lower-cased) and the identity id it
    /// names, for `permission` to rank that identity; None when two
    /// identities were given it (then it names none)
    logins: Mutex<HashMap<String, Option<String>>>,
    /// afk's account: its identity id and its user (the login afk's
    /// comparisons use; [`AzureDevops::login_of`] gives it to that id alone)
    me: Memo<(), (String, User)>,
    /// the config's work-item types, close state and area paths
    setup: crate::setup::Setup,
}

/// Commits a page of a branch's listing (200 a page).
const COMMITS_PAGE: usize = 200;

/// Changes a page of a commit's diff (the service's own default).
const DIFF_PAGE: usize = 100;

/// `path` with its `api-version`.
fn v(path: &str, version: &str) -> String {
    let sep = if path.contains('?') { '&' } else { '?' };
    format!("{path}{sep}api-version={version}")
}

// A PR comment's id as afk keeps it, its thread's and its own, and back:
// pure, beside the core that links a thread by it (`afk_core::answer`).
pub(crate) use afk_wire::azure::talk::{pr_comment_id, pr_comment_parts};

/// What a comment's `node_id` says of it on this forge: whether it was ever
/// edited, as the answer told it (a PR comment's `lastContentUpdatedDate`
/// after its `publishedDate`, a work-item comment's `version` above 1).
const EDITED: &str = "azure-devops:edited";
const UNEDITED: &str = "azure-devops:unedited";

pub(crate) fn edit_mark(edited: bool) -> &'static str {
    if edited { EDITED } else { UNEDITED }
}

impl AzureDevops {
    /// The forge over `http` (rooted at the organization's URL), with the
    /// config's `setup`; identities at `setup.vssps_url`, else its default.
    pub fn new(http: Http, setup: &crate::setup::Setup) -> AzureDevops {
        let vssps = match setup.vssps_url.trim() {
            "" => org::default_vssps_url(http.root()),
            set => set.to_string(),
        };
        let ids = http.sibling(&vssps);
        AzureDevops {
            http,
            ids,
            repos: Memo::default(),
            projects: Memo::default(),
            states: Memo::shared(),
            threads: Memo::default(),
            active: Mutex::default(),
            tagged: Memo::shared(),
            namespaces: Memo::shared(),
            identities: Memo::shared(),
            acls: Memo::shared(),
            repo_acls: Memo::default(),
            policy_types: Memo::shared(),
            seen: Mutex::new(HashMap::new()),
            logins: Mutex::new(HashMap::new()),
            me: Memo::shared(),
            setup: setup.clone(),
        }
    }

    /// The repository `repo` names, read once a tick: by the ids kept from
    /// its first read (`Setup::repo_ids`), so a rename keeps them; by its
    /// names only at that first read, whose ids are then kept. Its
    /// `project.name`/`name` are what the allowlist re-check compares: a
    /// renamed one answers its new name.
    fn repository(&self, repo: &RepoName) -> Result<wire::Repository> {
        let key = repo_ids::key(repo);
        self.repos.get(key.clone(), || {
            let book = self.setup.repo_ids.as_deref();
            let kept = match book {
                Some(b) => b.recorded(&key)?,
                None => None,
            };
            let path = match &kept {
                Some((project, id)) => {
                    format!("/{}/_apis/git/repositories/{}", enc(project), enc(id))
                }
                None => format!(
                    "/{}/_apis/git/repositories/{}",
                    enc(repo.owner()),
                    enc(repo.name())
                ),
            };
            let r: wire::Repository = self.http.json("GET", &v(&path, API_VERSION), None)?;
            if let Some(b) = book
                && repo_ids::records(kept.is_some(), repo, &r.project.name, &r.name)
            {
                b.record(&key, &r.project.id, &r.id)?;
            }
            Ok(r)
        })
    }

    /// Nothing is written to `repo` once it was renamed: the repository
    /// its kept ids name must still have the allowlist's name.
    fn writable(&self, repo: &RepoName) -> Result<()> {
        let r = self.repository(repo)?;
        match repo_ids::renamed(repo, &r.project.name, &r.name) {
            None => Ok(()),
            Some(now) => Err(anyhow!(
                "forge: {repo} is named {now} now (renamed); afk writes nothing there while poll.allowlist names {repo}"
            )),
        }
    }

    /// The project of `repo` as its work items' reads name it (the poll's
    /// WIQL query, the states, the batch reads: each takes a project's id
    /// or its name): the project id its repository's first read recorded,
    /// else its name as the allowlist gives it, the same for every read of
    /// the tick. No repository's answer is waited for, so a project's
    /// query goes out beside its repositories' first reads.
    pub(super) fn project_ref(&self, repo: &RepoName) -> Result<String> {
        self.projects.get(repo.owner().to_lowercase(), || {
            let recorded = match self.setup.repo_ids.as_deref() {
                Some(book) => book.recorded(&repo_ids::key(repo))?,
                None => None,
            };
            Ok(recorded.map_or_else(|| repo.owner().to_string(), |(project, _)| project))
        })
    }

    /// `/{project}/_apis/wit` as the project's reads name it
    /// ([`AzureDevops::project_ref`]): no repository's answer waited for.
    fn project_wit(&self, repo: &RepoName) -> Result<String> {
        Ok(format!("/{}/_apis/wit", enc(&self.project_ref(repo)?)))
    }

    /// `/{projectId}/_apis/git/repositories/{repositoryId}`.
    fn git(&self, repo: &RepoName) -> Result<String> {
        let r = self.repository(repo)?;
        Ok(format!(
            "/{}/_apis/git/repositories/{}",
            enc(&r.project.id),
            enc(&r.id)
        ))
    }

    /// `/{projectId}/_apis`.
    fn apis(&self, repo: &RepoName) -> Result<String> {
        Ok(format!(
            "/{}/_apis",
            enc(&self.repository(repo)?.project.id)
        ))
    }

    /// The name the forge gives `repo` now (`project/repository`).
    fn full_name(&self, repo: &RepoName) -> Result<String> {
        let r = self.repository(repo)?;
        Ok(repo_ids::name_now(&r.project.name, &r.name))
    }

    /// afk's account: `authenticatedUser` of `connectionData`, read once:
    /// its identity id (what "afk's own" is decided by) and its user, whose
    /// login is its `uniqueName` (else its id).
    fn connected(&self) -> Result<(String, User)> {
        self.me.get((), || {
            // the 7.1 files do not describe this endpoint (the contract says
            // so): asked with 7.1 as every request is; the
            // service's location resource is released only in preview, and
            // a service that refuses 7.1 for it (`400`,
            // `VssInvalidPreviewVersionException`) is asked once more with
            // the preview version
            let ask = |version: &str| -> Result<wire::ConnectionData> {
                self.http
                    .json("GET", &v("/_apis/connectionData", version), None)
            };
            let c = match ask(API_VERSION) {
                Err(e)
                    if crate::http::ForgeError::kind_of(&e)
                        == Some(crate::http::Failure::Other(400)) =>
                {
                    ask(afk_wire::azure::PREVIEW_1)?
                }
                other => other?,
            };
            let who = c.authenticated_user;
            let id = who.id.trim().to_string();
            if id.is_empty() {
                return Err(anyhow!(
                    "forge: GET /_apis/connectionData: the answer's authenticatedUser has no id"
                ));
            }
            let login = rules::login(&id, who.unique_name());
            self.remember(&login, &id);
            Ok((id, User { id: 0, login }))
        })
    }

    /// afk's account as `me()` gives it: its login is its `uniqueName`.
    fn account(&self) -> Result<User> {
        Ok(self.connected()?.1)
    }

    /// afk's account's identity id: every "is it afk's?" of this adapter
    /// compares it, never a login.
    fn account_id(&self) -> Result<String> {
        Ok(self.connected()?.0)
    }

    /// The login of identity `id` (its `uniqueName` as the answer wrote it,
    /// else its id): afk's account's own login for afk's id, and for no
    /// other identity (`rules::login_beside_afk`). Recorded for
    /// `permission`'s way back to the id.
    fn login_of(&self, id: &str, unique_name: Option<&str>) -> Result<String> {
        let (afk_id, afk) = self.connected()?;
        let login = rules::login_beside_afk(id, unique_name, &afk_id, &afk.login);
        self.remember(&login, id);
        Ok(login)
    }

    /// [`AzureDevops::login_of`] of an `IdentityRef`.
    fn login_of_ref(&self, who: &wire::IdentityRef) -> Result<String> {
        self.login_of(&who.id, who.unique_name.as_deref())
    }

    /// That `login` was given to identity `id` this tick; a login given to
    /// two identities names neither.
    fn remember(&self, login: &str, id: &str) {
        let id = id.trim();
        if login.is_empty() || id.is_empty() {
            return;
        }
        let mut logins = self.logins.lock().unwrap();
        let slot = logins
            .entry(login.to_ascii_lowercase())
            .or_insert_with(|| Some(id.to_string()));
        if slot
            .as_deref()
            .is_some_and(|known| !known.eq_ignore_ascii_case(id))
        {
            *slot = None;
        }
    }

    /// The identity id `login` was given to this tick: `Some(None)` when it
    /// was given to two, None when it was given to none.
    fn remembered(&self, login: &str) -> Option<Option<String>> {
        self.logins
            .lock()
            .unwrap()
            .get(&login.to_ascii_lowercase())
            .cloned()
    }

    /// `GET .../commits?searchCriteria.itemVersion.version=<branch>&
    /// searchCriteria.fromDate=<since>`, newest first, by
    /// `searchCriteria.$top`/`searchCriteria.$skip` until a short page, down
    /// to the first commit older than `since`. A listed commit's `comment`
    /// is the message as the list gives it (a long one may come cut).
    fn branch_commits(
        &self,
        repo: &RepoName,
        branch: &str,
        since: time::OffsetDateTime,
    ) -> Result<Vec<crate::Commit>> {
        let base = format!(
            "{}/commits?searchCriteria.itemVersion.version={}&searchCriteria.itemVersion.versionType=branch&searchCriteria.fromDate={}",
            self.git(repo)?,
            enc(branch),
            enc(&crate::clock::ts(since))
        );
        let mut out = vec![];
        for page in 0..MAX_PAGES {
            let path = v(
                &format!(
                    "{base}&searchCriteria.$top={COMMITS_PAGE}&searchCriteria.$skip={}",
                    page * COMMITS_PAGE
                ),
                API_VERSION,
            );
            let list: wire::List<wire::GitCommit> = self.http.json("GET", &path, None)?;
            let n = list.value.len();
            let commits = list
                .value
                .into_iter()
                .map(wire::GitCommit::into_commit)
                .collect();
            if !crate::commits::keep_until(commits, since, &mut out) || n < COMMITS_PAGE {
                return Ok(out);
            }
        }
        Err(anyhow!(
            "forge: {repo}: the commits of {branch} did not end after {MAX_PAGES} pages"
        ))
    }

    /// `GET .../diffs/commits` from commit `sha`'s first parent
    /// (`baseVersionOptions=firstParent`) to `sha`, base against target
    /// (`diffCommonCommit=false`), by `$top`/`$skip` until
    /// `allChangesIncluded` or a short page: the files it changed, without
    /// their text (the service shows none).
    fn commit_diff(&self, repo: &RepoName, sha: &str) -> Result<Vec<crate::FileDiff>> {
        let base = format!(
            "{}/diffs/commits?baseVersion={sha}&baseVersionType=commit&baseVersionOptions=firstParent&targetVersion={sha}&targetVersionType=commit&diffCommonCommit=false",
            self.git(repo)?,
            sha = enc(sha)
        );
        let mut out = vec![];
        for page in 0..MAX_PAGES {
            let path = v(
                &format!("{base}&$top={DIFF_PAGE}&$skip={}", page * DIFF_PAGE),
                API_VERSION,
            );
            let d: wire::CommitDiffs = self.http.json("GET", &path, None)?;
            let n = d.changes.len();
            out.extend(d.changes.into_iter().filter_map(wire::Change::into_diff));
            if d.all_changes_included == Some(true) || n < DIFF_PAGE {
                return Ok(out);
            }
        }
        Err(anyhow!(
            "forge: {repo}: the changes of {sha} did not end after {MAX_PAGES} pages"
        ))
    }

    /// A capability this adapter does not have yet, as the error it is.
    fn not_yet(what: &str) -> anyhow::Error {
        anyhow!("azure-devops: {what} is not supported yet (issue #86)")
    }
}

impl ForgeReads for AzureDevops {
    /// The repository read by the ids of afk's first read must still have
    /// the allowlist's name: a renamed one's old name may be another's now.
    fn git_by_name(&self, repo: &RepoName) -> Result<()> {
        self.writable(repo)
    }

    fn requests(&self) -> usize {
        self.http.requests() + self.ids.requests()
    }

    fn costly_requests(&self) -> usize {
        self.http.costly_requests() + self.ids.costly_requests()
    }

    /// A tag the project lacks is created by the first write that adds it
    /// (Contributors may create tag definitions).
    fn adds_missing_labels(&self) -> bool {
        true
    }

    fn me(&self) -> Result<User> {
        self.account()
    }

    fn issues_with_label(&self, repo: &RepoName, label: &str) -> Result<Vec<Issue>> {
        self.ready_items(repo, label)
    }

    fn issue(&self, repo: &RepoName, number: IssueNumber) -> Result<Issue> {
        self.work_item(repo, number)
    }

    fn timeline(&self, repo: &RepoName, number: IssueNumber) -> Result<Vec<TimelineEvent>> {
        self.item_timeline(repo, number)
    }

    fn permission(&self, repo: &RepoName, login: &str) -> Result<Permission> {
        self.acl_permission(repo, login)
    }

    /// The project's `visibility`.
    fn is_public(&self, repo: &RepoName) -> Result<bool> {
        let r = self.repository(repo)?;
        let p: wire::ProjectRef = self.http.json(
            "GET",
            &v(
                &format!("/_apis/projects/{}", enc(&r.project.id)),
                API_VERSION,
            ),
            None,
        )?;
        match p.visibility {
            Some(vis) => Ok(vis.eq_ignore_ascii_case("public")),
            None => Err(anyhow!(
                "forge: GET /_apis/projects/{}: the answer has no visibility",
                r.project.id
            )),
        }
    }

    /// The organization's `webHooks` subscriptions (a 403 is "can't tell":
    /// the list needs a Project Collection Administrator).
    fn hooks(&self, _repo: &RepoName) -> Result<Vec<HookInfo>> {
        self.subscriptions()
    }

    fn optional_reads(&self) -> bool {
        self.http.optional_reads()
    }
    fn diagnose(&self) -> Vec<crate::Diagnosis> {
        self.diagnosis()
    }

    fn dependencies(&self, repo: &RepoName, number: IssueNumber) -> Result<Vec<Issue>> {
        self.blockers(repo, number)
    }

    fn repo_labels(&self, repo: &RepoName) -> Result<Vec<Label>> {
        self.project_tags(repo)
    }

    fn comments(&self, repo: &RepoName, on: Target) -> Result<Vec<Comment>> {
        match on {
            Target::Issue(n) => self.item_comments(repo, n),
            Target::Pr(n) => self.pr_comments(repo, n),
        }
    }

    fn open_pulls(&self, repo: &RepoName) -> Result<Vec<PullRequest>> {
        self.active_pulls(repo)
    }

    fn recent_closed_pulls(&self, repo: &RepoName) -> Result<Vec<PullRequest>> {
        // one page of each: `completed` (merged) and `abandoned`
        let mut out = self.pulls_page(repo, "completed")?;
        out.extend(self.pulls_page(repo, "abandoned")?);
        Ok(out)
    }

    fn pull(&self, repo: &RepoName, number: PrNumber) -> Result<PullRequest> {
        self.read_pull(repo, number)
    }

    fn combined_status(&self, repo: &RepoName, sha: &str) -> Result<CombinedStatus> {
        self.pr_ci(repo, sha)
    }

    fn commits(
        &self,
        repo: &RepoName,
        branch: &str,
        since: time::OffsetDateTime,
    ) -> Result<Vec<crate::Commit>> {
        self.branch_commits(repo, branch, since)
    }

    fn diff(&self, repo: &RepoName, sha: &str) -> Result<Vec<crate::FileDiff>> {
        self.commit_diff(repo, sha)
    }

    fn branch(&self, repo: &RepoName, name: &str) -> Result<Option<BranchHead>> {
        self.branch_head(repo, name)
    }

    fn reviews(&self, repo: &RepoName, pr: PrNumber) -> Result<Vec<Review>> {
        self.votes_and_threads(repo, pr)
    }

    fn line_comments(&self, repo: &RepoName, pr: PrNumber, review: i64) -> Result<LineComments> {
        self.thread_comments(repo, pr, review)
    }

    /// Edits are told by the answers (`lastContentUpdatedDate`; a work item
    /// comment's `version`), as marked on the comment when it was read; a
    /// comment not read here is told by its dates.
    fn comment_ever_edited(&self, c: &Comment) -> Result<Option<bool>> {
        Ok(Some(match c.node_id.as_deref() {
            Some(EDITED) => true,
            Some(UNEDITED) => false,
            _ => c.edited(),
        }))
    }

    fn reactions(
        &self,
        repo: &RepoName,
        on: Target,
        comment: i64,
    ) -> Result<Vec<(String, String)>> {
        match on {
            Target::Issue(n) => self.item_likes(repo, n, comment),
            Target::Pr(n) => self.pr_likes(repo, n, comment),
        }
    }
}

impl ForgeWrites for AzureDevops {
    fn add_label(&self, repo: &RepoName, number: IssueNumber, name: &str) -> Result<()> {
        self.writable(repo)?;
        self.write_tags(repo, number, &[name], &[], None)
    }

    fn remove_label(&self, repo: &RepoName, number: IssueNumber, name: &str) -> Result<()> {
        self.writable(repo)?;
        self.write_tags(repo, number, &[], &[name], None)
    }

    /// A tag is made by the first write that adds it: nothing to send.
    fn create_label(&self, _repo: &RepoName, _name: &str, _color: &str) -> Result<()> {
        Ok(())
    }

    // someone else's `#N`, `!M` and `@name` in a body were defused where
    // the run's text was made (watch's `Watch::shown`)
    // a comment past the service's limit is its `400`: refused text
    // (`http::refused_text`), shortened once as on the other forges
    fn create_comment(&self, repo: &RepoName, on: Target, body: &str) -> Result<Comment> {
        self.writable(repo)?;
        match on {
            Target::Issue(n) => self.post_item_comment(repo, n, body),
            Target::Pr(n) => self.post_pr_thread(repo, n, body),
        }
        .map_err(crate::http::refused_text)
    }

    fn reply_to_comment(
        &self,
        repo: &RepoName,
        on: Target,
        to: i64,
        body: &str,
    ) -> Result<Comment> {
        match on {
            // a work item's comments have no threads: a comment of its own
            Target::Issue(_) => self.create_comment(repo, on, body),
            Target::Pr(n) => {
                self.writable(repo)?;
                self.post_pr_reply(repo, n, to, body)
                    .map_err(crate::http::refused_text)
            }
        }
    }

    fn edit_comment(&self, repo: &RepoName, on: Target, id: i64, body: &str) -> Result<Comment> {
        self.writable(repo)?;
        match on {
            Target::Issue(n) => self.patch_item_comment(repo, n, id, body),
            Target::Pr(n) => self.patch_pr_comment(repo, n, id, body),
        }
        .map_err(crate::http::refused_text)
    }

    fn close_issue(&self, repo: &RepoName, number: IssueNumber) -> Result<()> {
        self.writable(repo)?;
        self.close_item(repo, number)
    }

    fn edit_issue_body(&self, repo: &RepoName, on: Target, body: &str) -> Result<()> {
        self.writable(repo)?;
        match on {
            Target::Issue(n) => self.write_description(repo, n, body),
            Target::Pr(n) => self.patch_pull(repo, n, &serde_json::json!({ "description": body })),
        }
    }

    fn create_pull(
        &self,
        repo: &RepoName,
        head: &str,
        base: &str,
        title: &str,
        body: &str,
    ) -> Result<PullRequest> {
        self.writable(repo)?;
        self.open_pull(repo, (head, base), (title, body), false)
    }

    fn create_draft_pull(
        &self,
        repo: &RepoName,
        head: &str,
        base: &str,
        title: &str,
        body: &str,
    ) -> Result<PullRequest> {
        self.writable(repo)?;
        self.open_pull(repo, (head, base), (title, body), true)
    }

    /// `status: "abandoned"`; afk never sets `completed`.
    fn close_pull(&self, repo: &RepoName, number: PrNumber) -> Result<()> {
        self.writable(repo)?;
        self.patch_pull(repo, number, &serde_json::json!({ "status": "abandoned" }))
    }

    /// The acknowledgement is afk's like, whatever `content` names.
    fn react(&self, repo: &RepoName, on: Target, comment: i64, _content: &str) -> Result<()> {
        self.writable(repo)?;
        match on {
            Target::Issue(n) => self.like_item_comment(repo, n, comment),
            Target::Pr(n) => self.like_pr_comment(repo, n, comment),
        }
    }

    fn update_branch(
        &self,
        repo: &RepoName,
        pr: PrNumber,
        style: UpdateStyle,
        expected_head_sha: &str,
        under_way: Option<&str>,
    ) -> Result<BranchUpdate> {
        self.writable(repo)?;
        match style {
            UpdateStyle::Merge => self.merge_base_in(repo, pr, expected_head_sha, under_way),
            UpdateStyle::Rebase => Err(Self::not_yet(
                "rebasing a pull request's branch (Azure Repos cannot; use update_branch = \"merge\")",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_path_carries_its_api_version() {
        assert_eq!(v("/_apis/x", "7.1"), "/_apis/x?api-version=7.1");
        assert_eq!(
            v("/_apis/x?$top=1", "7.1"),
            "/_apis/x?$top=1&api-version=7.1"
        );
    }
}
