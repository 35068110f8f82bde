// One file: the pull requests, their CI, threads and votes (~1020 lines) as one adapter, and the table tests of its readings beside them
//! Pull requests: created with the work item linked and never auto-completed,
//! read and listed (`$top`/`$skip`, 100 a page), abandoned to close; CI from
//! policy evaluations, PR statuses, else commit statuses; threads and votes
//! as reviews; thread comments, their likes; the branch brought up to date by
//! the forge's merge and a ref compare-and-swap.

use super::wire::{self, Pull};
use super::{AzureDevops, pr_comment_id, pr_comment_parts, v};
use crate::http::{Failure, ForgeError, MAX_PAGES, enc};
use crate::model::*;
use crate::types::{PrNumber, RepoName};
use afk_wire::azure::repo as repo_ids;
use afk_wire::azure::talk::{self, Merge, RefUpdate, Thread};
use afk_wire::azure::{API_VERSION, BUILD_POLICY_TYPE, DESCRIPTION_MAX, PREVIEW_1};
use afk_wire::review_bounds::{REVIEW_BODY_BYTES, cut, keep_line_comments};
use anyhow::{Result, anyhow};
use serde_json::json;

/// Pull requests a page.
const PULLS_PAGE: usize = 100;

/// How long afk waits, in ms, before each time it asks whether the forge's
/// merge is done: the first at once, about a second in all; a merge still
/// under way then is asked after by the next tick.
const MERGE_WAITS: [u64; 3] = [0, 250, 750];

/// `refs/heads/` before a branch's name.
const HEADS: &str = "refs/heads/";

impl AzureDevops {
    /// The PR's web address: `{url}/{project}/_git/{repo}/pullrequest/{M}`.
    fn pull_url(&self, repo: &RepoName, n: u64) -> String {
        format!(
            "{}/{}/_git/{}/pullrequest/{n}",
            self.http.root(),
            enc(repo.owner()),
            enc(repo.name())
        )
    }

    /// `p` as a pull request, its author by login.
    fn to_pull(&self, repo: &RepoName, p: Pull) -> Result<PullRequest> {
        let merged = p.status == "completed";
        let open = p.status == "active";
        let branch = |name: &str, sha: Option<&wire::CommitRef>| Branch {
            name: name.strip_prefix(HEADS).unwrap_or(name).to_string(),
            sha: sha.map(|c| c.commit_id.clone()).unwrap_or_default(),
            repo: Some(RepoMeta {
                full_name: repo.to_string(),
            }),
            label: None,
        };
        Ok(PullRequest {
            // only Gitea's `mergeable` reads a title and a draft
            title: String::new(),
            draft: None,
            number: PrNumber(p.pull_request_id),
            state: if open { State::Open } else { State::Closed },
            merged,
            merge_commit_sha: p
                .last_merge_commit
                .as_ref()
                .filter(|_| merged)
                .map(|c| c.commit_id.clone()),
            head: branch(&p.source_ref_name, p.last_merge_source_commit.as_ref()),
            base: branch(&p.target_ref_name, p.last_merge_target_commit.as_ref()),
            body: p.description.clone(),
            html_url: self.pull_url(repo, p.pull_request_id),
            user: Some(User {
                id: 0,
                login: self.login_of_ref(&p.created_by)?,
            }),
            merged_at: p.closed_date.clone().filter(|_| merged),
            mergeable: match talk::merge(p.merge_status.as_deref()) {
                Merge::Conflict => Some(false),
                Merge::Clean => Some(true),
                Merge::Computing => None,
            },
        })
    }

    /// Every page of the repository's pull requests of `status`.
    pub(super) fn pulls_with_status(
        &self,
        repo: &RepoName,
        status: &str,
    ) -> Result<Vec<PullRequest>> {
        let base = format!(
            "{}/pullrequests?searchCriteria.status={status}",
            self.git(repo)?
        );
        let mut out = vec![];
        for page in 0..MAX_PAGES {
            let path = v(
                &format!("{base}&$top={PULLS_PAGE}&$skip={}", page * PULLS_PAGE),
                API_VERSION,
            );
            let list: wire::List<Pull> = self.http.json("GET", &path, None)?;
            let n = list.value.len();
            for p in list.value {
                out.push(self.to_pull(repo, p)?);
            }
            if n < PULLS_PAGE {
                return Ok(out);
            }
        }
        Err(anyhow!(
            "forge: {repo}: pull requests did not end after {MAX_PAGES} pages"
        ))
    }

    /// The repository's active pull requests, listed now and kept as the
    /// tick's latest list ([`AzureDevops::pr_ci`] finds a head's PR there).
    pub(super) fn active_pulls(&self, repo: &RepoName) -> Result<Vec<PullRequest>> {
        let list = self.pulls_with_status(repo, "active")?;
        (self.active.lock().unwrap()).insert(repo_ids::key(repo.as_str()), list.clone());
        Ok(list)
    }

    /// One page (the most recent) of pull requests of `status`.
    pub(super) fn pulls_page(&self, repo: &RepoName, status: &str) -> Result<Vec<PullRequest>> {
        let path = format!(
            "{}/pullrequests?searchCriteria.status={status}&$top={PULLS_PAGE}",
            self.git(repo)?
        );
        let list: wire::List<Pull> = self.http.json("GET", &v(&path, API_VERSION), None)?;
        list.value
            .into_iter()
            .map(|p| self.to_pull(repo, p))
            .collect()
    }

    fn wire_pull(&self, repo: &RepoName, n: u64) -> Result<Pull> {
        let path = format!("{}/pullrequests/{n}", self.git(repo)?);
        self.http.json("GET", &v(&path, API_VERSION), None)
    }

    /// The single PR (a list cuts descriptions to 400 characters).
    pub(super) fn read_pull(&self, repo: &RepoName, n: PrNumber) -> Result<PullRequest> {
        self.to_pull(repo, self.wire_pull(repo, n.0)?)
    }

    /// Exactly `sourceRefName`, `targetRefName`, `title`, `description`
    /// (within 4,000 characters), `workItemRefs` (the run's work item,
    /// from `afk/issue-<N>`) and `isDraft`; a 409 is the caller's
    /// (watch's `forward::adopt`).
    pub(super) fn open_pull(
        &self,
        repo: &RepoName,
        (head, base): (&str, &str),
        (title, body): (&str, &str),
        draft: bool,
    ) -> Result<PullRequest> {
        let source = format!("{HEADS}{head}");
        let mut fields = json!({
            "sourceRefName": source,
            "targetRefName": format!("{HEADS}{base}"),
            "title": title,
            "description": fit(body),
            "isDraft": draft,
        });
        // TODO(#86): the run's work item is handed in, not read from the branch
        if let Some(n) = head
            .strip_prefix("afk/issue-")
            .and_then(|n| n.parse::<u64>().ok())
        {
            fields["workItemRefs"] = json!([{ "id": n.to_string() }]);
        }
        let path = v(&format!("{}/pullrequests", self.git(repo)?), API_VERSION);
        // a 409 (TF401179: an active PR of this branch exists) is the
        // caller's to settle: watch adopts the branch's PR by the one rule
        // (afk's account opened it) and says so, as on every forge
        let p: Pull = self.http.json("POST", &path, Some(&fields))?;
        self.to_pull(repo, p)
    }

    /// `PATCH` of `title`/`description`, or `status: "abandoned"`: nothing else.
    pub(super) fn patch_pull(
        &self,
        repo: &RepoName,
        n: PrNumber,
        body: &serde_json::Value,
    ) -> Result<()> {
        let mut body = body.clone();
        if let Some(d) = body.get("description").and_then(|d| d.as_str()).map(fit) {
            body["description"] = json!(d);
        }
        let path = format!("{}/pullrequests/{}", self.git(repo)?, n.0);
        self.http
            .send("PATCH", &v(&path, API_VERSION), Some(&body))?;
        Ok(())
    }

    /// The CI of head `sha`: the policy evaluations (build validation and
    /// status policies) and the latest PR statuses of the active PR whose head
    /// it is; else, and only then, the commit's statuses.
    pub(super) fn pr_ci(&self, repo: &RepoName, sha: &str) -> Result<CombinedStatus> {
        let of_head = |list: &[PullRequest]| {
            list.iter()
                .find(|p| p.head.sha.eq_ignore_ascii_case(sha))
                .cloned()
        };
        // the tick's list, when a PR there has this head; else a fresh one
        let listed = self
            .active
            .lock()
            .unwrap()
            .get(&repo_ids::key(repo.as_str()))
            .cloned();
        let pr = match listed.as_deref().and_then(of_head) {
            Some(p) => Some(p),
            None => of_head(&self.active_pulls(repo)?),
        };
        let mut statuses = vec![];
        if let Some(pr) = &pr {
            statuses.extend(self.policy_statuses(repo, pr.number, sha)?);
            let path = format!("{}/pullRequests/{}/statuses", self.git(repo)?, pr.number.0);
            let list: wire::List<wire::Status> =
                self.http.json("GET", &v(&path, API_VERSION), None)?;
            // a status posted on an iteration is of that iteration's head
            // alone: the iterations are read only when one is
            let iteration = match list.value.iter().any(|s| s.iteration_id.is_some()) {
                true => {
                    let path = format!(
                        "{}/pullRequests/{}/iterations",
                        self.git(repo)?,
                        pr.number.0
                    );
                    let all: wire::List<wire::Iteration> =
                        self.http.json("GET", &v(&path, API_VERSION), None)?;
                    iteration_of(&all.value, sha)
                }
                false => None,
            };
            statuses.extend(latest(of_iteration(list.value, iteration)));
        }
        if statuses.is_empty() {
            let path = format!(
                "{}/commits/{}/statuses?latestOnly=true",
                self.git(repo)?,
                enc(sha)
            );
            let list: wire::List<wire::Status> =
                self.http.json("GET", &v(&path, API_VERSION), None)?;
            statuses.extend(latest(list.value));
        }
        Ok(CombinedStatus {
            state: combined(&statuses).to_string(),
            sha: sha.to_string(),
            statuses: Some(statuses),
        })
    }

    /// The build validation and status policies' evaluations as statuses of
    /// head `sha`.
    fn policy_statuses(
        &self,
        repo: &RepoName,
        pr: PrNumber,
        sha: &str,
    ) -> Result<Vec<CommitStatus>> {
        let r = self.repository(repo)?;
        let apis = self.apis(repo)?;
        let status_type = self.policy_types.get(r.project.id.clone(), || {
            let types: wire::List<wire::PolicyTypeRef> = self.http.json(
                "GET",
                &v(&format!("{apis}/policy/types"), API_VERSION),
                None,
            )?;
            Ok(types
                .value
                .into_iter()
                .find(|t| t.display_name.as_deref() == Some("Status"))
                .map(|t| t.id))
        })?;
        let artifact = format!("vstfs:///CodeReview/CodeReviewId/{}/{}", r.project.id, pr.0);
        let base = format!("{apis}/policy/evaluations?artifactId={}", enc(&artifact));
        let mut out = vec![];
        for page in 0..MAX_PAGES {
            let path = v(&format!("{base}&$top=200&$skip={}", page * 200), PREVIEW_1);
            let list: wire::List<wire::Evaluation> = self.http.json("GET", &path, None)?;
            let n = list.value.len();
            for e in list.value {
                let id = e.configuration.kind.id.to_lowercase();
                let build = id == BUILD_POLICY_TYPE;
                let status = status_type
                    .as_ref()
                    .is_some_and(|s| s.eq_ignore_ascii_case(&id));
                if build && of_another_head(&e, sha) {
                    out.extend(stale_status(e));
                } else if build || status {
                    let run = if build {
                        self.validation_build(&apis, &e)?
                    } else {
                        None
                    };
                    out.extend(evaluation_status(e, build, run.as_ref()));
                }
            }
            if n < 200 {
                return Ok(out);
            }
        }
        Err(anyhow!(
            "forge: {repo}: policy evaluations did not end after {MAX_PAGES} pages"
        ))
    }

    /// The build a build validation's evaluation ran (`GET
    /// .../build/builds/{context.buildId}`), read only when it is needed:
    /// the policy has no `settings.displayName` (its definition's name names
    /// it), or the evaluation failed (the corrective prompt names the build).
    /// None without a build yet, or when the build is gone.
    fn validation_build(&self, apis: &str, ev: &wire::Evaluation) -> Result<Option<wire::Build>> {
        let named = !setting(ev, "displayName").is_empty();
        let failed = talk::policy_state(&ev.status, expired(ev)) == Some("failure");
        if named && !failed {
            return Ok(None);
        }
        let Some(id) = ev
            .context
            .as_ref()
            .and_then(|c| c.get("buildId"))
            .and_then(|x| x.as_i64())
        else {
            return Ok(None);
        };
        let path = v(&format!("{apis}/build/builds/{id}"), API_VERSION);
        match self.http.json::<wire::Build>("GET", &path, None) {
            Ok(b) => Ok(Some(b)),
            Err(e) if ForgeError::kind_of(&e) == Some(Failure::NotFound) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The PR's threads (no paging), read once a tick until afk writes to
    /// one of them ([`AzureDevops::writing_threads`]).
    fn threads(&self, repo: &RepoName, pr: PrNumber) -> Result<Vec<wire::Thread>> {
        self.threads.get(threads_key(repo, pr), || {
            let path = format!("{}/pullRequests/{}/threads", self.git(repo)?, pr.0);
            let list: wire::List<wire::Thread> =
                self.http.json("GET", &v(&path, API_VERSION), None)?;
            Ok(list.value.into_iter().filter(|t| !t.is_deleted).collect())
        })
    }

    /// `write` to a thread of `pr`; its threads are read again after it,
    /// whatever it answered (an answer lost may have landed).
    fn writing_threads<T>(
        &self,
        repo: &RepoName,
        pr: PrNumber,
        write: impl FnOnce() -> Result<T>,
    ) -> Result<T> {
        let done = write();
        self.threads.forget(&threads_key(repo, pr));
        done
    }

    /// The text comments of every thread, each as a comment whose id
    /// names its thread too ([`pr_comment_id`]).
    pub(super) fn pr_comments(&self, repo: &RepoName, pr: PrNumber) -> Result<Vec<Comment>> {
        let url = self.pull_url(repo, pr.0);
        let mut out = vec![];
        for t in self.threads(repo, pr)? {
            for c in t.comments.into_iter().filter(is_text) {
                let login = self.login_of_ref(&c.author)?;
                out.push(to_comment(&url, t.id, login, c));
            }
        }
        Ok(out)
    }

    /// Each thread whose first comment is text, as a review of its status
    /// (an ask while `active`/`pending`, dismissed once resolved, talk
    /// otherwise), and each person's vote (never a group's).
    pub(super) fn votes_and_threads(&self, repo: &RepoName, pr: PrNumber) -> Result<Vec<Review>> {
        let mut out = vec![];
        let threads = self.threads(repo, pr)?;
        let records = vote_records(&threads);
        for t in threads {
            let Some(first) = t.comments.iter().find(|c| c.parent_comment_id == 0) else {
                continue;
            };
            if !is_text(first) {
                continue;
            }
            // talk is no review at all: not even a comment review, whose
            // author's line comments would ask
            let state = match talk::thread(t.status.as_deref()) {
                Thread::Ask => ReviewState::ChangesRequested,
                Thread::Superseded => ReviewState::Dismissed,
                Thread::Talk => ReviewState::Other,
            };
            // a line thread's first comment is quoted among its line
            // comments with its `path:line` (`thread_comments`); another
            // thread's is its body, and its replies its line comments
            let said = match on_a_line(&t) {
                true => "",
                false => first.content.as_deref().unwrap_or(""),
            };
            let (body, body_cut) = cut(said, REVIEW_BODY_BYTES);
            out.push(Review {
                id: t.id,
                author: self.login_of_ref(&first.author)?,
                state,
                commit_sha: String::new(),
                submitted_at: t
                    .comments
                    .iter()
                    .filter_map(|c| c.published_date.clone())
                    .max(),
                body,
                body_cut,
                comments_count: Some(t.comments.iter().filter(|c| is_text(c)).count() as u64),
            });
        }
        let path = format!("{}/pullRequests/{}/reviewers", self.git(repo)?, pr.0);
        let list: wire::List<wire::Reviewer> =
            self.http.json("GET", &v(&path, API_VERSION), None)?;
        for r in list.value.into_iter().filter(|r| !r.is_container) {
            if let Some(state) = talk::vote_state(r.vote) {
                // the latest system comment recording it, else the first
                // tick that saw it at that value, which afk keeps
                let submitted_at = match talk::vote_date(&records, &r.id, r.vote) {
                    Some(at) => Some(at),
                    None => match &self.setup.votes_seen {
                        Some(book) => Some(book.first_seen(&pr.0.to_string(), &r.id, r.vote)?),
                        None => None,
                    },
                };
                out.push(Review {
                    id: vote_id(&r.id, submitted_at.as_deref()),
                    author: self.login_of(&r.id, r.unique_name.as_deref())?,
                    state,
                    commit_sha: String::new(),
                    submitted_at,
                    body: String::new(),
                    body_cut: false,
                    comments_count: None,
                });
            }
        }
        in_supersede_order(&mut out);
        Ok(out)
    }

    /// A thread's text comments, `path:line` from its context.
    pub(super) fn thread_comments(
        &self,
        repo: &RepoName,
        pr: PrNumber,
        thread: i64,
    ) -> Result<LineComments> {
        let Some(t) = self.threads(repo, pr)?.into_iter().find(|t| t.id == thread) else {
            return Ok(LineComments::default());
        };
        let ctx = t.thread_context.clone();
        let line_thread = on_a_line(&t);
        let first = (t.comments.iter())
            .find(|c| c.parent_comment_id == 0)
            .map(|c| c.id);
        // the service's paths start at the repository's root, `/src/lib.rs`:
        // said as the agent's checkout has them, `src/lib.rs`
        let path = ctx
            .as_ref()
            .and_then(|c| c.file_path.as_deref())
            .map(|p| p.trim_start_matches('/').to_string())
            .unwrap_or_default();
        let line = ctx.as_ref().and_then(|c| {
            c.right_file_start
                .as_ref()
                .or(c.left_file_start.as_ref())
                .map(|p| p.line)
        });
        let mut all = vec![];
        for c in t.comments.into_iter().filter(is_text) {
            // another thread's first comment is its review's body
            if !line_thread && Some(c.id) == first {
                continue;
            }
            all.push(LineComment {
                id: pr_comment_id(t.id, c.id),
                review_id: Some(t.id),
                path: path.clone(),
                line,
                author: self.login_of_ref(&c.author)?,
                body: c.content.unwrap_or_default(),
                body_cut: false,
                created_at: c.published_date,
                commit: None,
                outdated: false,
            });
        }
        Ok(keep_line_comments(all))
    }

    /// The retest comment and the replies: a new thread without a status.
    pub(super) fn post_pr_thread(
        &self,
        repo: &RepoName,
        pr: PrNumber,
        body: &str,
    ) -> Result<Comment> {
        let path = format!("{}/pullRequests/{}/threads", self.git(repo)?, pr.0);
        let thread = json!({ "comments": [{ "parentCommentId": 0, "content": body, "commentType": "text" }] });
        let t: wire::Thread = self.writing_threads(repo, pr, || {
            self.http
                .json("POST", &v(&path, API_VERSION), Some(&thread))
        })?;
        let c = t
            .comments
            .into_iter()
            .next()
            .ok_or_else(|| anyhow!("forge: POST {path}: the new thread has no comment"))?;
        let login = self.login_of_ref(&c.author)?;
        Ok(to_comment(&self.pull_url(repo, pr.0), t.id, login, c))
    }

    /// A reply in the thread of PR comment `to` (`POST .../threads/{id}/comments`
    /// with `parentCommentId`): where a command was said.
    pub(super) fn post_pr_reply(
        &self,
        repo: &RepoName,
        pr: PrNumber,
        to: i64,
        body: &str,
    ) -> Result<Comment> {
        let (thread, parent) = pr_comment_parts(to);
        let path = format!(
            "{}/pullRequests/{}/threads/{thread}/comments",
            self.git(repo)?,
            pr.0
        );
        let reply = json!({ "parentCommentId": parent, "content": body, "commentType": "text" });
        let c: wire::PrComment = self.writing_threads(repo, pr, || {
            self.http.json("POST", &v(&path, API_VERSION), Some(&reply))
        })?;
        let login = self.login_of_ref(&c.author)?;
        Ok(to_comment(&self.pull_url(repo, pr.0), thread, login, c))
    }

    pub(super) fn patch_pr_comment(
        &self,
        repo: &RepoName,
        pr: PrNumber,
        id: i64,
        body: &str,
    ) -> Result<Comment> {
        let (thread, comment) = pr_comment_parts(id);
        let path = format!(
            "{}/pullRequests/{}/threads/{thread}/comments/{comment}",
            self.git(repo)?,
            pr.0
        );
        let c: wire::PrComment = self.writing_threads(repo, pr, || {
            self.http.json(
                "PATCH",
                &v(&path, API_VERSION),
                Some(&json!({ "content": body })),
            )
        })?;
        let login = self.login_of_ref(&c.author)?;
        Ok(to_comment(&self.pull_url(repo, pr.0), thread, login, c))
    }

    /// Who liked a PR comment (`usersLiked`), each as `+1`, by login as a
    /// comment's author is (afk's own like is afk's login).
    pub(super) fn pr_likes(
        &self,
        repo: &RepoName,
        pr: PrNumber,
        id: i64,
    ) -> Result<Vec<(String, String)>> {
        let (thread, comment) = pr_comment_parts(id);
        let liked = self
            .threads(repo, pr)?
            .into_iter()
            .find(|t| t.id == thread)
            .and_then(|t| t.comments.into_iter().find(|c| c.id == comment))
            .map(|c| c.users_liked)
            .unwrap_or_default();
        liked
            .iter()
            .take(crate::REACTIONS_MAX)
            .map(|u| Ok((self.login_of_ref(u)?, "+1".to_string())))
            .collect()
    }

    /// afk's like on a PR comment; one already there is no error.
    pub(super) fn like_pr_comment(&self, repo: &RepoName, pr: PrNumber, id: i64) -> Result<()> {
        let (thread, comment) = pr_comment_parts(id);
        let path = format!(
            "{}/pullRequests/{}/threads/{thread}/comments/{comment}/likes",
            self.git(repo)?,
            pr.0
        );
        let liked = self.writing_threads(repo, pr, || {
            self.http.send("POST", &v(&path, API_VERSION), None)
        });
        match liked {
            Ok(_) => Ok(()),
            Err(e) if ForgeError::kind_of(&e) == Some(Failure::Conflict) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// `refs/heads/{name}` and its head commit; None when it does not exist.
    pub(super) fn branch_head(&self, repo: &RepoName, name: &str) -> Result<Option<BranchHead>> {
        let path = format!(
            "{}/refs?filter={}",
            self.git(repo)?,
            enc(&format!("heads/{name}"))
        );
        let refs: Vec<serde_json::Value> = self
            .http
            .get_all_continued(&v(&path, API_VERSION), "value")?;
        let full = format!("{HEADS}{name}");
        Ok(refs
            .iter()
            .find(|r| r.get("name").and_then(|n| n.as_str()) == Some(full.as_str()))
            .and_then(|r| r.get("objectId").and_then(|o| o.as_str()))
            .map(|sha| BranchHead {
                name: name.to_string(),
                commit: HeadCommit {
                    id: sha.to_string(),
                    message: String::new(),
                    committer: None,
                },
            }))
    }

    /// The forge merges the target's head into `afk/issue-<N>`
    /// (`POST .../merges`, asked until done), then moves the branch with a
    /// compare-and-swap on the head afk saw. A merge still under way when
    /// this tick stops asking is [`BranchUpdate::Pending`] with its
    /// `mergeOperationId`, which a later tick hands back as `under_way`: it
    /// is asked after (`GET .../merges/{id}`), never made again.
    pub(super) fn merge_base_in(
        &self,
        repo: &RepoName,
        pr: PrNumber,
        head: &str,
        under_way: Option<&str>,
    ) -> Result<BranchUpdate> {
        let p = self.wire_pull(repo, pr.0)?;
        let Some(branch) = p
            .source_ref_name
            .strip_prefix(HEADS)
            .filter(|b| b.starts_with("afk/issue-"))
        else {
            return Ok(BranchUpdate::Refused(format!(
                "{} is not afk's branch",
                p.source_ref_name
            )));
        };
        let git = self.git(repo)?;
        let m = match under_way.and_then(|t| t.parse::<i64>().ok()) {
            Some(id) => {
                let path = format!("{git}/merges/{id}");
                match self
                    .http
                    .json::<wire::Merge>("GET", &v(&path, API_VERSION), None)
                {
                    Ok(m) => m,
                    Err(e) if ForgeError::kind_of(&e) == Some(Failure::NotFound) => {
                        return Ok(BranchUpdate::Refused(format!(
                            "the forge's merge operation {id} is gone"
                        )));
                    }
                    Err(e) => return Err(e),
                }
            }
            None => {
                let base = p
                    .target_ref_name
                    .strip_prefix(HEADS)
                    .unwrap_or(&p.target_ref_name);
                let Some(target) = self.branch_head(repo, base)? else {
                    return Ok(BranchUpdate::Refused(format!(
                        "the target branch {base} does not exist"
                    )));
                };
                let ask = json!({
                    "parents": [head, target.commit.id],
                    "comment": format!("Merge {base} into {branch}"),
                });
                self.http.json(
                    "POST",
                    &v(&format!("{git}/merges"), API_VERSION),
                    Some(&ask),
                )?
            }
        };
        // made from another head: someone pushed since; the next tick looks
        // at the new head (a compare-and-swap on it would drop their commits)
        if (m.parents.as_ref().and_then(|ps| ps.first())).is_some_and(|from| from != head) {
            return Ok(BranchUpdate::HeadMoved);
        }
        let m = self.merge_settled(&git, m)?;
        let merge_commit = m
            .detailed_status
            .as_ref()
            .and_then(|d| d.get("mergeCommitId"))
            .and_then(|c| c.as_str())
            .map(str::to_string);
        let status = m.status.as_deref().unwrap_or("");
        let merge_commit = match (status, merge_commit) {
            ("completed", Some(c)) => c,
            ("failed", _) => return Ok(BranchUpdate::Conflict),
            ("queued" | "inProgress", _) => {
                return Ok(BranchUpdate::Pending(m.merge_operation_id.to_string()));
            }
            ("", _) => {
                return Err(anyhow!(
                    "forge: merge operation {}: the answer has no status",
                    m.merge_operation_id
                ));
            }
            (other, _) => {
                return Ok(BranchUpdate::Refused(format!(
                    "the forge's merge is {other}"
                )));
            }
        };
        let update = json!([{ "name": format!("{HEADS}{branch}"), "oldObjectId": head, "newObjectId": merge_commit }]);
        let list: wire::List<wire::RefUpdateResult> = self.http.json(
            "POST",
            &v(&format!("{git}/refs"), API_VERSION),
            Some(&update),
        )?;
        let status = list
            .value
            .into_iter()
            .next()
            .map(|r| r.update_status)
            .ok_or_else(|| anyhow!("forge: POST {git}/refs: the answer has no updateStatus"))?;
        Ok(match talk::ref_update(&status) {
            RefUpdate::Done => BranchUpdate::Started,
            RefUpdate::Stale => BranchUpdate::HeadMoved,
            RefUpdate::Refused(why) => BranchUpdate::Refused(why),
        })
    }

    /// Merge operation `m` asked after until it is no longer `queued` or
    /// `inProgress`, at most [`MERGE_WAITS`] more times, the first at once:
    /// what it is then.
    fn merge_settled(&self, git: &str, mut m: wire::Merge) -> Result<wire::Merge> {
        for wait in MERGE_WAITS {
            if !matches!(m.status.as_deref(), Some("queued" | "inProgress")) {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(wait));
            let path = format!("{git}/merges/{}", m.merge_operation_id);
            m = self.http.json("GET", &v(&path, API_VERSION), None)?;
        }
        Ok(m)
    }
}

/// The key of a PR's threads in the tick's memory: its repository, as
/// the config names it in any case, and its number.
fn threads_key(repo: &RepoName, pr: PrNumber) -> (String, u64) {
    (repo_ids::key(repo.as_str()), pr.0)
}

/// The system comments of the PR's threads, each with what its thread says
/// it records (`CodeReviewThreadType`, `CodeReviewVoteResult`, the voter as
/// `CodeReviewVotedByTfId`, else the comment's author): what dates a vote
/// (`talk::vote_date`).
fn vote_records(threads: &[wire::Thread]) -> Vec<talk::VoteRecord> {
    threads
        .iter()
        .flat_map(|t| {
            let kind = t.property("CodeReviewThreadType");
            let result = t.property("CodeReviewVoteResult");
            // the service writes a vote's record as its own group and names
            // the voter here (docs/fidelity/azure-devops.md)
            let voted_by = t.property("CodeReviewVotedByTfId");
            t.comments
                .iter()
                .filter(|c| {
                    !c.is_deleted
                        && c.comment_type
                            .as_deref()
                            .is_some_and(|k| k.eq_ignore_ascii_case("system"))
                })
                .map(move |c| talk::VoteRecord {
                    author: voted_by.clone().unwrap_or_else(|| c.author.id.clone()),
                    published: c.published_date.clone(),
                    kind: kind.clone(),
                    result: result.clone(),
                })
        })
        .collect()
}

/// Whether thread `t` is on a file's line (its context names a file).
fn on_a_line(t: &wire::Thread) -> bool {
    (t.thread_context.as_ref())
        .and_then(|c| c.file_path.as_deref())
        .is_some_and(|p| !p.trim_start_matches('/').is_empty())
}

/// A text comment, not deleted (system comments record votes and pushes).
fn is_text(c: &wire::PrComment) -> bool {
    !c.is_deleted
        && c.comment_type
            .as_deref()
            .is_none_or(|t| t.eq_ignore_ascii_case("text"))
}

/// PR comment `c` of `thread`, by `login` (its author's).
fn to_comment(url: &str, thread: i64, login: String, c: wire::PrComment) -> Comment {
    let edited = c
        .published_date
        .as_deref()
        .is_some_and(|p| talk::pr_comment_edited(p, c.last_content_updated_date.as_deref()));
    Comment {
        id: pr_comment_id(thread, c.id),
        body: c.content.unwrap_or_default(),
        html_url: url.to_string(),
        user: Some(User { id: 0, login }),
        updated_at: c.last_content_updated_date.or(c.published_date.clone()),
        created_at: c.published_date,
        node_id: Some(super::edit_mark(edited).to_string()),
    }
}

/// A description within Azure DevOps' 4,000 characters. afk's own body
/// comes made within it (`afk_core::workspace_pr::body_within`); anything
/// longer keeps `Closes #N` and the footer (the run id, afk's marker), and
/// is cut between them where it says.
fn fit(body: &str) -> String {
    talk::fit_description(body, DESCRIPTION_MAX)
}

/// The id of a reviewer's vote as a review, apart from thread ids
/// (negative): from the identity's id and the vote's date, so the same vote
/// keeps its id tick after tick, and a vote cast again later (a `-5` after
/// an approval) is a review of its own, asked of once more.
fn vote_id(identity: &str, dated: Option<&str>) -> i64 {
    // FNV-1a, 64 bits: stable across builds and platforms
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let text = format!(
        "{}\n{}",
        identity.trim().to_ascii_lowercase(),
        dated.unwrap_or("")
    );
    for b in text.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    -((h >> 2) as i64) - 1
}

/// The iteration whose head is `sha`, the latest if more than one (a head
/// pushed again); None when none is (the service has not made it yet).
fn iteration_of(all: &[wire::Iteration], sha: &str) -> Option<i64> {
    (all.iter())
        .filter(|i| {
            (i.source_ref_commit.as_ref()).is_some_and(|c| c.commit_id.eq_ignore_ascii_case(sha))
        })
        .map(|i| i.id)
        .max()
}

/// The PR statuses of the head's iteration: one posted on no iteration is
/// the PR's, whatever its head; one posted on an iteration counts only
/// while that iteration's head is the head judged (`head`: its id, None
/// when no iteration has it).
fn of_iteration(all: Vec<wire::Status>, head: Option<i64>) -> Vec<wire::Status> {
    (all.into_iter())
        .filter(|s| s.iteration_id.is_none() || s.iteration_id == head)
        .collect()
}

/// The latest status per `genre/name`, as commit statuses.
fn latest(all: Vec<wire::Status>) -> Vec<CommitStatus> {
    let mut out: Vec<(String, Option<i64>, CommitStatus)> = vec![];
    for s in all {
        let context =
            talk::status_context(s.context.genre.as_deref().unwrap_or(""), &s.context.name);
        let Some(word) = talk::status_state(&s.state) else {
            continue;
        };
        let status = CommitStatus {
            context: context.clone(),
            status: word.to_string(),
            target_url: s.target_url,
            updated_at: s.creation_date,
            description: s.description,
        };
        match out.iter_mut().find(|(c, _, _)| *c == context) {
            Some(slot) if s.iteration_id >= slot.1 => *slot = (context, s.iteration_id, status),
            Some(_) => {}
            None => out.push((context, s.iteration_id, status)),
        }
    }
    out.into_iter().map(|(_, _, s)| s).collect()
}

/// Whether a build validation's run is of an older head (`context.isExpired`).
fn expired(ev: &wire::Evaluation) -> bool {
    ev.context
        .as_ref()
        .and_then(|c| c.get("isExpired"))
        .and_then(|x| x.as_bool())
        .unwrap_or(false)
}

/// A text of the evaluated policy's `settings` ("" when absent).
fn setting<'a>(ev: &'a wire::Evaluation, key: &str) -> &'a str {
    ev.configuration
        .settings
        .as_ref()
        .and_then(|s| s.get(key))
        .and_then(|x| x.as_str())
        .unwrap_or("")
}

/// Whether a build validation's evaluation ran on another head than `sha`
/// (its `context.lastMergeSourceCommitId`): after a push the service
/// re-queues the policy asynchronously, and until it does the evaluation
/// still listed is the old head's. It judges that head alone
/// (docs/fidelity/azure-devops.md). An evaluation that names no head is
/// taken as it says.
fn of_another_head(ev: &wire::Evaluation, sha: &str) -> bool {
    ev.context
        .as_ref()
        .and_then(|c| c.get("lastMergeSourceCommitId"))
        .and_then(serde_json::Value::as_str)
        .is_some_and(|head| !head.is_empty() && !head.eq_ignore_ascii_case(sha))
}

/// A build validation's evaluation of an older head as this head's status:
/// pending, named as [`evaluation_status`] names it (its build not read).
fn stale_status(ev: wire::Evaluation) -> Option<CommitStatus> {
    let mut s = evaluation_status(ev, true, None)?;
    s.status = "pending".to_string();
    s.description = Some("evaluated an earlier head; not yet this one".to_string());
    s.target_url = None;
    Some(s)
}

/// A policy evaluation as a status named as `ci_contexts` names it: a build
/// validation by its policy's `settings.displayName`, else its build
/// definition's name (from `run`, the build it ran), else the definition's
/// id; a status policy by `genre/name`. A failed build validation's status
/// carries its build's web address and says the build's definition and
/// `result`: anyone's pipeline names these, so they are data (the
/// corrective prompt fences them).
fn evaluation_status(
    ev: wire::Evaluation,
    build: bool,
    run: Option<&wire::Build>,
) -> Option<CommitStatus> {
    let word = talk::policy_state(&ev.status, build && expired(&ev))?;
    let context = if build {
        match (
            setting(&ev, "displayName"),
            run.and_then(wire::Build::definition_name),
        ) {
            ("", Some(name)) => name.to_string(),
            ("", None) => format!(
                "build definition {}",
                ev.configuration
                    .settings
                    .as_ref()
                    .and_then(|s| s.get("buildDefinitionId"))
                    .map(|x| x.to_string())
                    .unwrap_or_default()
            ),
            (name, _) => name.to_string(),
        }
    } else {
        talk::status_context(setting(&ev, "statusGenre"), setting(&ev, "statusName"))
    };
    let failed_run = run.filter(|_| build && word == "failure");
    Some(CommitStatus {
        target_url: failed_run.and_then(|b| b.web()).map(str::to_string),
        description: Some(match failed_run {
            Some(b) => format!(
                "build {}, result {}",
                b.definition_name().unwrap_or(context.as_str()),
                b.result.as_deref().unwrap_or("none")
            ),
            None => ev.status,
        }),
        context,
        status: word.to_string(),
        updated_at: None,
    })
}

/// The combined state: failure over pending over success; "" for none.
fn combined(statuses: &[CommitStatus]) -> &'static str {
    let has = |w: &str| statuses.iter().any(|s| s.status == w);
    if has("failure") {
        "failure"
    } else if has("pending") {
        "pending"
    } else if has("success") {
        "success"
    } else {
        ""
    }
}

/// The reviews in the order the core reads "a later one by the same person
/// supersedes" by: a resolved thread or talk first (it resolves itself,
/// never another thread), then the asks and the votes by their dates (a
/// vote supersedes a thread only when it came after the thread's last
/// comment), an undated vote last.
fn in_supersede_order(reviews: &mut [Review]) {
    reviews.sort_by(|a, b| {
        let rank = |r: &Review| match (r.state, &r.submitted_at) {
            (ReviewState::Dismissed | ReviewState::Commented | ReviewState::Other, _) => 0,
            (_, Some(_)) => 1,
            (_, None) => 2,
        };
        (rank(a), &a.submitted_at).cmp(&(rank(b), &b.submitted_at))
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pr_status_counts_only_for_the_iteration_whose_head_is_judged() {
        let it = |id: i64, head: Option<&str>| wire::Iteration {
            id,
            source_ref_commit: head.map(|h| wire::CommitRef {
                commit_id: h.into(),
            }),
        };
        let iterations = [
            it(1, Some("aaa")),
            it(2, Some("BBB")),
            it(3, None),
            it(4, Some("aaa")),
        ];
        // (the head judged, its iteration)
        for (sha, want) in [("bbb", Some(2)), ("aaa", Some(4)), ("ccc", None)] {
            assert_eq!(iteration_of(&iterations, sha), want, "{sha}");
        }
        let status = |name: &str, on: Option<i64>| wire::Status {
            state: "failed".into(),
            context: wire::StatusContext {
                name: name.into(),
                genre: None,
            },
            target_url: None,
            description: None,
            creation_date: None,
            iteration_id: on,
        };
        let all = || {
            vec![
                status("pr", None),
                status("one", Some(1)),
                status("two", Some(2)),
            ]
        };
        // (the head's iteration, the statuses that count)
        let cases: [(Option<i64>, &[&str]); 3] = [
            (Some(2), &["pr", "two"]),
            (Some(1), &["pr", "one"]),
            // a head no iteration has yet: only the PR's own
            (None, &["pr"]),
        ];
        for (head, want) in cases {
            let got: Vec<String> = (of_iteration(all(), head).into_iter())
                .map(|s| s.context.name)
                .collect();
            assert_eq!(got, want, "{head:?}");
        }
    }

    #[test]
    fn azure_reviews_supersede_by_date_and_a_resolved_thread_supersedes_no_other() {
        let r = |id: i64, state: ReviewState, at: Option<&str>| Review {
            id,
            author: "alice".into(),
            state,
            commit_sha: String::new(),
            submitted_at: at.map(str::to_string),
            body: String::new(),
            body_cut: false,
            comments_count: None,
        };
        use ReviewState::{Approved, ChangesRequested, Dismissed};
        // (the reviews as read, the ids in the order the core reads them)
        let cases: [(Vec<Review>, Vec<i64>); 3] = [
            // her fixed thread 2 comes before her active thread 1
            (
                vec![
                    r(1, ChangesRequested, Some("2026-01-01T10:00:00Z")),
                    r(2, Dismissed, Some("2026-01-01T11:00:00Z")),
                ],
                vec![2, 1],
            ),
            // an approval older than the thread's last comment comes before it
            (
                vec![
                    r(1, ChangesRequested, Some("2026-01-01T12:00:00Z")),
                    r(9, Approved, Some("2026-01-01T11:00:00Z")),
                ],
                vec![9, 1],
            ),
            // a later approval after it; an undated vote last
            (
                vec![
                    r(8, Approved, None),
                    r(9, Approved, Some("2026-01-01T13:00:00Z")),
                    r(1, ChangesRequested, Some("2026-01-01T12:00:00Z")),
                ],
                vec![1, 9, 8],
            ),
        ];
        for (mut reviews, want) in cases {
            in_supersede_order(&mut reviews);
            let got: Vec<i64> = reviews.iter().map(|r| r.id).collect();
            assert_eq!(got, want);
        }
    }

    #[test]
    fn a_description_is_cut_to_four_thousand_characters_and_keeps_closes_and_the_run() {
        assert_eq!(fit("short"), "short");
        let footer = "\n---\nOpened by afk for run 3.\n";
        let long = fit(&format!("Closes #7\n\n{}{footer}", "é\n".repeat(5000)));
        assert!(talk::description_len(&long) <= DESCRIPTION_MAX);
        assert!(
            long.starts_with("Closes #7\n\n") && long.ends_with(footer),
            "{long}"
        );
        assert!(long.contains("characters here to fit"), "{long}");
    }

    #[test]
    fn a_vote_s_id_is_stable_never_a_thread_s_and_a_later_vote_s_own() {
        let id = "0b8c61b4-7a3f-4c1e-9d2a-1f2e3d4c5b6a";
        let at = Some("2026-11-28T10:00:00Z");
        let a = vote_id(id, at);
        // (identity, date, the same id as `a`)
        let cases = [
            (id, at, true),
            ("0B8C61B4-7A3F-4C1E-9D2A-1F2E3D4C5B6A", at, true),
            (id, Some("2026-11-28T11:00:00Z"), false),
            (id, None, false),
            ("1b8c61b4-7a3f-4c1e-9d2a-1f2e3d4c5b6a", at, false),
        ];
        for (who, when, same) in cases {
            assert_eq!(vote_id(who, when) == a, same, "{who} {when:?}");
            assert!(vote_id(who, when) < 0, "{who} {when:?}");
        }
        assert!(vote_id("", None) < 0);
    }

    #[test]
    fn ci_is_failure_over_pending_over_success() {
        let s = |w: &str| CommitStatus {
            context: "c".into(),
            status: w.into(),
            target_url: None,
            updated_at: None,
            description: None,
        };
        assert_eq!(combined(&[s("success"), s("pending")]), "pending");
        assert_eq!(combined(&[s("success"), s("failure")]), "failure");
        assert_eq!(combined(&[s("success")]), "success");
        assert_eq!(combined(&[]), "");
    }

    #[test]
    fn a_build_validation_is_named_by_its_policy_else_its_definition() {
        let ev = |status: &str, display: Option<&str>| -> wire::Evaluation {
            let mut settings = json!({ "buildDefinitionId": 12 });
            if let Some(d) = display {
                settings["displayName"] = json!(d);
            }
            serde_json::from_value(json!({
                "status": status,
                "configuration": { "type": { "id": BUILD_POLICY_TYPE }, "settings": settings },
                "context": { "buildId": 3, "isExpired": false },
            }))
            .unwrap()
        };
        let run: wire::Build = serde_json::from_value(json!({
            "id": 3, "result": "failed",
            "definition": { "id": 12, "name": "web-ci" },
            "_links": { "web": { "href": "https://dev.azure.com/o/p/_build/results?buildId=3" } },
        }))
        .unwrap();
        let web = Some("https://dev.azure.com/o/p/_build/results?buildId=3");
        let failed = "build web-ci, result failed";
        // (evaluation, the build read, context, state, url, what it says)
        let cases = [
            (
                ev("approved", Some("CI")),
                None,
                "CI",
                "success",
                None,
                "approved",
            ),
            (
                ev("approved", None),
                Some(&run),
                "web-ci",
                "success",
                None,
                "approved",
            ),
            (
                ev("queued", None),
                None,
                "build definition 12",
                "pending",
                None,
                "queued",
            ),
            (
                ev("rejected", Some("CI")),
                Some(&run),
                "CI",
                "failure",
                web,
                failed,
            ),
            (
                ev("rejected", None),
                Some(&run),
                "web-ci",
                "failure",
                web,
                failed,
            ),
            (
                ev("broken", Some("CI")),
                None,
                "CI",
                "failure",
                None,
                "broken",
            ),
        ];
        for (e, b, context, state, url, said) in cases {
            let s = evaluation_status(e, true, b).unwrap();
            assert_eq!(
                (
                    s.context.as_str(),
                    s.status.as_str(),
                    s.target_url.as_deref(),
                    s.description.as_deref()
                ),
                (context, state, url, Some(said)),
                "{context} {state}"
            );
        }
        assert!(evaluation_status(ev("notApplicable", Some("CI")), true, None).is_none());
    }
}
