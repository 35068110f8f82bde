// One file: the in-memory forge (~850 lines: one impl of ForgeReads and ForgeWrites over one seeded state, each method as short as a real forge's) and its tests.
//! An in-memory [`Forge`](afk_forge::Forge) for unit tests of the commands
//! (a dev-dependency only: test code, apart from the forges; the HTTP path
//! keeps its sandbox tests).
//! Seeded builder-style, it counts every call ([`MemoryForge::requests`]) and
//! records every write in order ([`MemoryForge::writes`]). It behaves like a
//! real forge where a client could get it wrong: comments and label events
//! are by the token's user ([`ForgeReads::me`]), adding a label an issue carries
//! changes nothing, another user's comment can be edited (as an admin's
//! token can), and what does not exist is a [`Failure::NotFound`]
//! [`ForgeError`]. It shares no rule with afk-core: no decision is made here.
//! Some seeding methods share a name with the trait's (`issue`, `pull`,
//! `permission`, `branch`, `diff`): call the trait's (`ForgeReads::issue(&f, ..)`, or through `&dyn Forge`).

use afk_forge::{
    BranchHead, BranchUpdate, CombinedStatus, Comment, Commit, CommitStatus, Failure, FileDiff,
    ForgeError, ForgeReads, ForgeWrites, HookInfo, Issue, Label, LineComment, LineComments,
    PullRequest, Review, State, Target, UpdateStyle, User,
};
use afk_host::clock;
use afk_model as types;
use afk_wire as core;
use anyhow::Result;
use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use types::{IssueNumber, Permission, PrNumber, RepoName, TimelineEvent, TimelineKind};

/// One issue (or a PR's conversation) with what hangs off it.
#[derive(Default)]
struct Thread {
    issue: Option<Issue>,
    comments: Vec<Comment>,
    timeline: Vec<TimelineEvent>,
}

#[derive(Default)]
struct Repo {
    labels: Vec<Label>,
    /// the repository's webhooks (`hook`)
    hooks: Vec<HookInfo>,
    /// issues and pulls share one number sequence, as on both forges
    threads: BTreeMap<u64, Thread>,
    pulls: BTreeMap<u64, PullRequest>,
    /// lower-cased login → permission
    permissions: HashMap<String, String>,
    statuses: HashMap<String, Vec<CommitStatus>>,
    branches: HashMap<String, BranchHead>,
    /// branch → commits, oldest first
    commits: HashMap<String, Vec<Commit>>,
    diffs: HashMap<String, Vec<FileDiff>>,
    /// pull number → its reviews, oldest first
    reviews: BTreeMap<u64, Vec<Review>>,
    /// review id → its line comments
    line_comments: HashMap<i64, Vec<LineComment>>,
    /// (comment id, content, who), in the order they were added
    reactions: Vec<(i64, String, String)>,
    /// pull number → what asking to update its branch comes to (none: started)
    updates: HashMap<u64, BranchUpdate>,
}

fn next(ids: &mut i64) -> i64 {
    *ids += 1;
    *ids
}

impl Repo {
    /// The conversation of issue or PR `n`.
    fn thread(&mut self, repo: &str, n: u64) -> Result<&mut Thread> {
        let exists =
            self.pulls.contains_key(&n) || self.threads.get(&n).is_some_and(|t| t.issue.is_some());
        if !exists {
            return Err(not_found(format!("/repos/{repo}/issues/{n}")));
        }
        Ok(self.threads.entry(n).or_default())
    }

    fn issue(&mut self, repo: &str, n: u64) -> Result<&mut Issue> {
        match self.threads.get_mut(&n).and_then(|t| t.issue.as_mut()) {
            Some(i) => Ok(i),
            None => Err(not_found(format!("/repos/{repo}/issues/{n}"))),
        }
    }

    /// Put `name` on the issue as `actor`; false when it carried it already.
    fn put_label(
        &mut self,
        ids: &mut i64,
        at: (&str, u64),
        name: &str,
        actor: &str,
    ) -> Result<bool> {
        let (repo, n) = at;
        let Some(label) = self.labels.iter().find(|l| l.name == name).cloned() else {
            return Err(refused(
                "POST",
                format!("/repos/{repo}/issues/{n}/labels"),
                404,
                &format!("label {name:?} does not exist"),
            ));
        };
        let issue = self.issue(repo, n)?;
        if issue.has_label(name) {
            return Ok(false);
        }
        issue.labels.push(label);
        let id = next(ids);
        self.thread(repo, n)?.timeline.push(TimelineEvent {
            id,
            kind: TimelineKind::LabelAdded,
            label: Some(name.into()),
            actor: actor.into(),
            created_at: None,
        });
        Ok(true)
    }

    fn add_comment(
        &mut self,
        ids: &mut i64,
        at: (&str, u64),
        author: &str,
        body: &str,
    ) -> Result<Comment> {
        let (repo, n) = at;
        let id = next(ids);
        let c = Comment {
            id,
            body: body.into(),
            html_url: format!("https://forge.test/{repo}/issues/{n}#issuecomment-{id}"),
            user: user(author),
            created_at: None,
            updated_at: None,
            node_id: None,
        };
        self.thread(repo, n)?.comments.push(c.clone());
        Ok(c)
    }

    fn next_number(&self) -> u64 {
        let issues = self.threads.keys().next_back().copied().unwrap_or(0);
        let pulls = self.pulls.keys().next_back().copied().unwrap_or(0);
        issues.max(pulls) + 1
    }
}

#[derive(Default)]
struct World {
    repos: BTreeMap<String, Repo>,
    ids: i64,
    writes: Vec<String>,
}

/// See the module's documentation. A clone is the same forge: its world,
/// requests and calls are shared (a test hands a clone to the code under
/// test and reads the writes through its own).
#[derive(Clone)]
pub struct MemoryForge {
    me: String,
    creates_labels: bool,
    /// trait method name → the status it fails with
    failing: HashMap<&'static str, Failure>,
    world: std::sync::Arc<Mutex<World>>,
    requests: std::sync::Arc<AtomicUsize>,
    /// trait method name → calls
    calls: std::sync::Arc<Mutex<HashMap<&'static str, usize>>>,
}

/// The typed error a real forge's client returns for `status`.
fn refused(method: &str, path: String, status: u16, message: &str) -> anyhow::Error {
    anyhow::Error::new(ForgeError {
        service: "forge",
        method: method.into(),
        path,
        status: Some(status),
        message: message.into(),
        kind: Failure::answered(status),
        retries: 0,
        reason: None,
    })
}

/// A call [`MemoryForge::failing`] makes fail: the error a real client
/// returns that meets `kind`.
fn seeded(method: &str, path: String, kind: Failure) -> anyhow::Error {
    anyhow::Error::new(ForgeError {
        service: "forge",
        method: method.into(),
        path,
        status: kind.status(),
        message: format!("{kind:?} (seeded)"),
        kind,
        retries: 0,
        reason: None,
    })
}

fn not_found(path: String) -> anyhow::Error {
    refused("GET", path, 404, "Not Found")
}

fn user(login: &str) -> Option<User> {
    Some(User {
        id: 0,
        login: login.into(),
    })
}

impl MemoryForge {
    /// A forge whose token belongs to `me`, with no repositories.
    pub fn new(me: &str) -> MemoryForge {
        MemoryForge {
            me: me.into(),
            creates_labels: false,
            failing: HashMap::new(),
            world: Default::default(),
            requests: Default::default(),
            calls: Default::default(),
        }
    }

    /// Adding a label the repo does not have creates it (GitHub), instead of
    /// failing (Gitea).
    pub fn creating_labels(mut self) -> Self {
        self.creates_labels = true;
        self
    }

    /// Every call of the trait method `method` fails as `kind` says
    /// (`Forbidden`: a refused permission lookup; `Other(500)`: a broken
    /// forge; `NoAnswer`: a time-out, so a write may or may not have
    /// landed; `RateLimited`: the limit is spent; `Exhausted(..)`: retries
    /// used up, after an answer or none). Nothing is written.
    pub fn failing(mut self, method: &'static str, kind: Failure) -> Self {
        self.failing.insert(method, kind);
        self
    }

    pub fn repo(self, repo: &str) -> Self {
        self.world
            .lock()
            .unwrap()
            .repos
            .entry(repo.into())
            .or_default();
        self
    }

    /// Labels the repo has (to be put on issues).
    pub fn labels(self, repo: &str, names: &[&str]) -> Self {
        self.seed(repo, |r, ids| {
            for n in names {
                let id = next(ids);
                r.labels.push(Label {
                    id,
                    name: n.to_string(),
                });
            }
        })
    }

    /// An open issue.
    pub fn issue(self, repo: &str, number: u64, title: &str) -> Self {
        self.seed(repo, |r, ids| {
            assert!(!r.pulls.contains_key(&number), "{repo}#{number} is a PR");
            let t = r.threads.entry(number).or_default();
            assert!(t.issue.is_none(), "{repo}#{number} seeded twice");
            t.issue = Some(Issue {
                id: next(ids),
                number: IssueNumber(number),
                title: title.into(),
                body: None,
                state: State::Open,
                labels: vec![],
                html_url: format!("https://forge.test/{repo}/issues/{number}"),
                pull_request: None,
                repository: None,
                user: None,
                updated_at: None,
            });
        })
    }

    /// Change a seeded issue (its body, state, `updated_at`, …).
    pub fn with_issue(self, repo: &str, number: u64, f: impl FnOnce(&mut Issue)) -> Self {
        self.seed(repo, |r, _| f(r.issue(repo, number).expect("seeded issue")))
    }

    /// `actor` put `label` (one of the repo's) on the issue: the label and its timeline event.
    pub fn labelled(self, repo: &str, number: u64, label: &str, actor: &str) -> Self {
        self.seed(repo, |r, ids| {
            r.put_label(ids, (repo, number), label, actor)
                .expect("seeded issue and label");
        })
    }

    /// A comment by `author`.
    pub fn comment(self, repo: &str, number: u64, author: &str, body: &str) -> Self {
        self.seed(repo, |r, ids| {
            r.add_comment(ids, (repo, number), author, body)
                .expect("seeded issue");
        })
    }

    /// `login`'s permission on the repo (`admin`, `write`, `read`, …).
    /// A webhook on `repo` posting to `url`.
    pub fn hook(self, repo: &str, url: &str) -> Self {
        self.seed(repo, |r, _| {
            r.hooks.push(HookInfo {
                url: url.into(),
                active: true,
            })
        })
    }

    pub fn permission(self, repo: &str, login: &str, permission: &str) -> Self {
        self.seed(repo, |r, _| {
            r.permissions
                .insert(login.to_ascii_lowercase(), permission.into());
        })
    }

    /// A pull request; its number must be free among the repo's issues.
    pub fn pull(self, repo: &str, pr: PullRequest) -> Self {
        self.seed(repo, |r, _| {
            let n = pr.number.0;
            assert!(
                !r.threads.contains_key(&n) && !r.pulls.contains_key(&n),
                "{repo}#{n} taken"
            );
            r.pulls.insert(n, pr);
        })
    }

    /// A commit status on `sha` (`success`, `failure`, `pending`, `error`).
    pub fn status(self, repo: &str, sha: &str, context: &str, state: &str) -> Self {
        self.seed(repo, |r, _| {
            r.statuses
                .entry(sha.into())
                .or_default()
                .push(CommitStatus {
                    context: context.into(),
                    status: state.into(),
                    target_url: None,
                    updated_at: None,
                    description: None,
                });
        })
    }

    pub fn branch(self, repo: &str, head: BranchHead) -> Self {
        self.seed(repo, |r, _| {
            r.branches.insert(head.name.clone(), head);
        })
    }

    /// A commit on `branch`, newer than those seeded on it before.
    pub fn commit(self, repo: &str, branch: &str, c: Commit) -> Self {
        self.seed(repo, |r, _| {
            r.commits.entry(branch.into()).or_default().push(c)
        })
    }

    /// What commit `sha` changed.
    pub fn diff(self, repo: &str, sha: &str, files: Vec<FileDiff>) -> Self {
        self.seed(repo, |r, _| {
            r.diffs.insert(sha.into(), files);
        })
    }

    /// A review of pull request `pr` (seeded with `.pull` first), after those seeded before.
    pub fn review(self, repo: &str, pr: u64, review: Review) -> Self {
        self.seed(repo, |r, _| {
            assert!(r.pulls.contains_key(&pr), "{repo}#{pr} is no PR");
            r.reviews.entry(pr).or_default().push(review)
        })
    }

    /// A line comment of review `c.review_id`.
    pub fn line_comment(self, repo: &str, c: LineComment) -> Self {
        self.seed(repo, |r, _| {
            let review = c.review_id.expect("a line comment names its review");
            r.line_comments.entry(review).or_default().push(c)
        })
    }

    /// What asking to update pull request `pr`'s branch comes to (default: started).
    pub fn branch_update(self, repo: &str, pr: u64, outcome: BranchUpdate) -> Self {
        self.seed(repo, |r, _| {
            r.updates.insert(pr, outcome);
        })
    }

    /// The reactions on comment `id` as the forge holds them now: (content, who).
    pub fn reactions_now(&self, repo: &str, id: i64) -> Vec<(String, String)> {
        let w = self.world.lock().unwrap();
        w.repos[repo]
            .reactions
            .iter()
            .filter(|(c, ..)| *c == id)
            .map(|(_, content, who)| (content.clone(), who.clone()))
            .collect()
    }

    /// How many times the trait method `method` was called.
    pub fn calls(&self, method: &str) -> usize {
        self.calls.lock().unwrap().get(method).copied().unwrap_or(0)
    }

    /// Every write so far, in order, one line each (`add_label acme/api#7 agent:in-progress`).
    pub fn writes(&self) -> Vec<String> {
        self.world.lock().unwrap().writes.clone()
    }

    /// The issue as the forge holds it now (its labels, state).
    pub fn issue_now(&self, repo: &str, number: u64) -> Issue {
        let mut w = self.world.lock().unwrap();
        let r = w.repos.get_mut(repo).expect("seeded repo");
        r.issue(repo, number).expect("seeded issue").clone()
    }

    /// The comments of an issue or PR as the forge holds them now.
    pub fn comments_now(&self, repo: &str, number: u64) -> Vec<Comment> {
        let w = self.world.lock().unwrap();
        w.repos[repo]
            .threads
            .get(&number)
            .map_or(vec![], |t| t.comments.clone())
    }

    fn seed(self, repo: &str, f: impl FnOnce(&mut Repo, &mut i64)) -> Self {
        let mut guard = self.world.lock().unwrap();
        let World { repos, ids, .. } = &mut *guard;
        let r = repos
            .get_mut(repo)
            .unwrap_or_else(|| panic!("seed {repo} with .repo() first"));
        f(r, ids);
        drop(guard);
        self
    }

    /// Count the call, fail it when told to, else answer from the repo; a
    /// write's line (`Some`) is recorded once it succeeded.
    fn call<T>(
        &self,
        method: &'static str,
        repo: &str,
        f: impl FnOnce(&mut Repo, &mut i64) -> Result<(T, Option<String>)>,
    ) -> Result<T> {
        self.count(method);
        if let Some(&kind) = self.failing.get(method) {
            return Err(seeded(method, format!("/repos/{repo}"), kind));
        }
        let mut guard = self.world.lock().unwrap();
        let World { repos, ids, writes } = &mut *guard;
        let Some(r) = repos.get_mut(repo) else {
            return Err(not_found(format!("/repos/{repo}")));
        };
        let (out, write) = f(r, ids)?;
        writes.extend(write);
        Ok(out)
    }

    fn count(&self, method: &'static str) {
        self.requests.fetch_add(1, Ordering::SeqCst);
        *self.calls.lock().unwrap().entry(method).or_default() += 1;
    }

    /// A read.
    fn read<T>(
        &self,
        method: &'static str,
        repo: &str,
        f: impl FnOnce(&mut Repo) -> Result<T>,
    ) -> Result<T> {
        self.call(method, repo, |r, _| Ok((f(r)?, None)))
    }
}

/// The combined state of a commit's statuses, as both forges combine them:
/// any failure or error fails it, else any pending keeps it pending, else
/// success; no status at all is pending.
fn combined(statuses: &[CommitStatus]) -> &'static str {
    let any = |s: &[&str]| statuses.iter().any(|c| s.contains(&c.status.as_str()));
    if any(&["failure", "error"]) {
        "failure"
    } else if statuses.is_empty() || any(&["pending"]) {
        "pending"
    } else {
        "success"
    }
}

impl ForgeReads for MemoryForge {
    fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }

    fn adds_missing_labels(&self) -> bool {
        self.creates_labels
    }

    fn me(&self) -> Result<User> {
        self.count("me");
        if let Some(&kind) = self.failing.get("me") {
            return Err(seeded("me", "/user".into(), kind));
        }
        Ok(User {
            id: 1,
            login: self.me.clone(),
        })
    }

    fn issues_with_label(&self, repo: &RepoName, label: &str) -> Result<Vec<Issue>> {
        self.read("issues_with_label", repo, |r| {
            Ok(r.threads
                .values()
                .filter_map(|t| t.issue.clone())
                .filter(|i| i.state == State::Open && i.has_label(label))
                .collect())
        })
    }

    fn issue(&self, repo: &RepoName, number: IssueNumber) -> Result<Issue> {
        self.read("issue", repo, |r| r.issue(repo, number.0).cloned())
    }

    fn timeline(&self, repo: &RepoName, number: IssueNumber) -> Result<Vec<TimelineEvent>> {
        self.read("timeline", repo, |r| {
            Ok(r.thread(repo, number.0)?.timeline.clone())
        })
    }

    /// The commands' unit tests' repositories are private.
    fn is_public(&self, _repo: &RepoName) -> Result<bool> {
        Ok(false)
    }

    fn permission(&self, repo: &RepoName, login: &str) -> Result<Permission> {
        self.read("permission", repo, |r| {
            let p = r.permissions.get(&login.to_ascii_lowercase());
            Ok(Permission::from_forge(p.map_or("none", String::as_str)))
        })
    }

    /// Dependencies are off: none.
    fn dependencies(&self, repo: &RepoName, number: IssueNumber) -> Result<Vec<Issue>> {
        self.read("dependencies", repo, |r| {
            r.issue(repo, number.0).map(|_| vec![])
        })
    }

    fn hooks(&self, repo: &RepoName) -> Result<Vec<HookInfo>> {
        self.read("hooks", repo, |r| Ok(r.hooks.clone()))
    }

    fn repo_labels(&self, repo: &RepoName) -> Result<Vec<Label>> {
        self.read("repo_labels", repo, |r| Ok(r.labels.clone()))
    }

    fn comments(&self, repo: &RepoName, on: Target) -> Result<Vec<Comment>> {
        self.read("comments", repo, |r| {
            Ok(r.thread(repo, on.number())?.comments.clone())
        })
    }

    fn open_pulls(&self, repo: &RepoName) -> Result<Vec<PullRequest>> {
        self.read("open_pulls", repo, |r| {
            Ok(r.pulls
                .values()
                .filter(|p| p.state == State::Open)
                .cloned()
                .collect())
        })
    }

    /// Closed pulls, the highest numbers first (the most recent, here).
    fn recent_closed_pulls(&self, repo: &RepoName) -> Result<Vec<PullRequest>> {
        self.read("recent_closed_pulls", repo, |r| {
            Ok(r.pulls
                .values()
                .rev()
                .filter(|p| p.state == State::Closed)
                .cloned()
                .collect())
        })
    }

    fn pull(&self, repo: &RepoName, number: PrNumber) -> Result<PullRequest> {
        self.read("pull", repo, |r| {
            r.pulls
                .get(&number.0)
                .cloned()
                .ok_or_else(|| not_found(format!("/repos/{repo}/pulls/{number}")))
        })
    }

    fn combined_status(&self, repo: &RepoName, sha: &str) -> Result<CombinedStatus> {
        self.read("combined_status", repo, |r| {
            let mut latest: Vec<CommitStatus> = vec![];
            for s in r.statuses.get(sha).into_iter().flatten() {
                latest.retain(|l| l.context != s.context);
                latest.push(s.clone());
            }
            Ok(CombinedStatus {
                state: combined(&latest).into(),
                sha: sha.into(),
                statuses: Some(latest),
            })
        })
    }

    fn commits(
        &self,
        repo: &RepoName,
        branch: &str,
        since: time::OffsetDateTime,
    ) -> Result<Vec<Commit>> {
        self.read("commits", repo, |r| {
            let Some(all) = r.commits.get(branch) else {
                return Err(not_found(format!("/repos/{repo}/commits?sha={branch}")));
            };
            let older = |c: &&Commit| {
                let at = c.date.as_deref().and_then(clock::parse);
                at.is_some_and(|t| t < since)
            };
            Ok(all
                .iter()
                .rev()
                .take_while(|c| !older(c))
                .cloned()
                .collect())
        })
    }

    fn diff(&self, repo: &RepoName, sha: &str) -> Result<Vec<FileDiff>> {
        self.read("diff", repo, |r| {
            r.diffs
                .get(sha)
                .cloned()
                .ok_or_else(|| not_found(format!("/repos/{repo}/commits/{sha}")))
        })
    }

    fn branch(&self, repo: &RepoName, name: &str) -> Result<Option<BranchHead>> {
        self.read("branch", repo, |r| Ok(r.branches.get(name).cloned()))
    }

    /// As the forge holds them now: (who, content).
    fn reactions(
        &self,
        repo: &RepoName,
        _on: Target,
        comment: i64,
    ) -> Result<Vec<(String, String)>> {
        self.read("reactions", repo, |r| {
            Ok(r.reactions
                .iter()
                .filter(|(c, ..)| *c == comment)
                .map(|(_, content, who)| (who.clone(), content.clone()))
                .collect())
        })
    }

    /// The seeded reviews, pending ones by others left out (as both forges do).
    fn reviews(&self, repo: &RepoName, pr: PrNumber) -> Result<Vec<Review>> {
        self.read("reviews", repo, |r| {
            if !r.pulls.contains_key(&pr.0) {
                return Err(not_found(format!("/repos/{repo}/pulls/{pr}/reviews")));
            }
            Ok(r.reviews
                .get(&pr.0)
                .into_iter()
                .flatten()
                .filter(|x| x.state != afk_forge::ReviewState::Pending || x.author == self.me)
                .cloned()
                .collect())
        })
    }

    /// The seeded line comments, kept as the trait promises.
    fn line_comments(&self, repo: &RepoName, pr: PrNumber, review: i64) -> Result<LineComments> {
        self.read("line_comments", repo, |r| {
            if !r
                .reviews
                .get(&pr.0)
                .is_some_and(|v| v.iter().any(|x| x.id == review))
            {
                return Err(not_found(format!(
                    "/repos/{repo}/pulls/{pr}/reviews/{review}/comments"
                )));
            }
            let all = r.line_comments.get(&review).cloned().unwrap_or_default();
            Ok(core::review_bounds::keep_line_comments(all))
        })
    }
}

impl ForgeWrites for MemoryForge {
    fn add_label(&self, repo: &RepoName, number: IssueNumber, name: &str) -> Result<()> {
        let creates = self.creates_labels;
        self.call("add_label", repo, |r, ids| {
            if creates && !r.labels.iter().any(|l| l.name == name) {
                let id = next(ids);
                r.labels.push(Label {
                    id,
                    name: name.into(),
                });
            }
            r.put_label(ids, (repo, number.0), name, &self.me)?;
            Ok(((), Some(format!("add_label {repo}#{number} {name}"))))
        })
    }

    fn remove_label(&self, repo: &RepoName, number: IssueNumber, name: &str) -> Result<()> {
        self.call("remove_label", repo, |r, ids| {
            let issue = r.issue(repo, number.0)?;
            if !issue.has_label(name) {
                return Ok(((), Some(format!("remove_label {repo}#{number} {name}"))));
            }
            issue.labels.retain(|l| l.name != name);
            let id = next(ids);
            r.thread(repo, number.0)?.timeline.push(TimelineEvent {
                id,
                kind: TimelineKind::LabelRemoved,
                label: Some(name.into()),
                actor: self.me.clone(),
                created_at: None,
            });
            Ok(((), Some(format!("remove_label {repo}#{number} {name}"))))
        })
    }

    fn create_label(&self, repo: &RepoName, name: &str, _color: &str) -> Result<()> {
        self.call("create_label", repo, |r, ids| {
            if r.labels.iter().any(|l| l.name == name) {
                let path = format!("/repos/{repo}/labels");
                return Err(refused("POST", path, 409, "label exists"));
            }
            let id = next(ids);
            r.labels.push(Label {
                id,
                name: name.into(),
            });
            Ok(((), Some(format!("create_label {repo} {name}"))))
        })
    }

    fn create_comment(&self, repo: &RepoName, on: Target, body: &str) -> Result<Comment> {
        self.call("create_comment", repo, |r, ids| {
            let c = r.add_comment(ids, (repo, on.number()), &self.me, body)?;
            let line = format!("create_comment {repo}#{on} {}", c.id);
            Ok((c, Some(line)))
        })
    }

    /// Any comment of the repo, whoever wrote it (an admin's token may).
    fn edit_comment(&self, repo: &RepoName, _on: Target, id: i64, body: &str) -> Result<Comment> {
        self.call("edit_comment", repo, |r, _| {
            let found = r
                .threads
                .iter_mut()
                .find_map(|(n, t)| Some((*n, t.comments.iter_mut().find(|c| c.id == id)?)));
            let Some((n, c)) = found else {
                return Err(not_found(format!("/repos/{repo}/issues/comments/{id}")));
            };
            c.body = body.into();
            Ok((c.clone(), Some(format!("edit_comment {repo}#{n} {id}"))))
        })
    }

    fn close_issue(&self, repo: &RepoName, number: IssueNumber) -> Result<()> {
        self.call("close_issue", repo, |r, _| {
            r.issue(repo, number.0)?.state = State::Closed;
            Ok(((), Some(format!("close_issue {repo}#{number}"))))
        })
    }

    fn edit_issue_body(&self, repo: &RepoName, on: Target, body: &str) -> Result<()> {
        self.call("edit_issue_body", repo, |r, _| {
            r.issue(repo, on.number())?.body = Some(body.into());
            Ok(((), Some(format!("edit_issue_body {repo}#{on}"))))
        })
    }

    fn create_pull(
        &self,
        repo: &RepoName,
        head: &str,
        base: &str,
        title: &str,
        body: &str,
    ) -> Result<PullRequest> {
        self.call("create_pull", repo, |r, _| {
            let open = |p: &&PullRequest| p.state == State::Open && p.head.name == head;
            if r.pulls.values().any(|p| open(&p) && p.base.name == base) {
                let path = format!("/repos/{repo}/pulls");
                return Err(refused(
                    "POST",
                    path,
                    409,
                    "a pull request for this branch exists",
                ));
            }
            let n = r.next_number();
            let pr = PullRequest {
                number: PrNumber(n),
                state: State::Open,
                head: afk_forge::Branch {
                    name: head.into(),
                    ..Default::default()
                },
                base: afk_forge::Branch {
                    name: base.into(),
                    ..Default::default()
                },
                body: Some(body.into()),
                html_url: format!("https://forge.test/{repo}/pulls/{n}"),
                user: user(&self.me),
                ..Default::default()
            };
            r.pulls.insert(n, pr.clone());
            Ok((
                pr,
                Some(format!("create_pull {repo}#{n} {head} -> {base}: {title}")),
            ))
        })
    }

    fn close_pull(&self, repo: &RepoName, number: PrNumber) -> Result<()> {
        self.call("close_pull", repo, |r, _| {
            let Some(p) = r.pulls.get_mut(&number.0) else {
                return Err(not_found(format!("/repos/{repo}/pulls/{number}")));
            };
            p.state = State::Closed;
            Ok(((), Some(format!("close_pull {repo}#{number}"))))
        })
    }

    /// By the token's user; reacting so again adds nothing and writes nothing.
    fn react(&self, repo: &RepoName, _on: Target, comment: i64, content: &str) -> Result<()> {
        self.call("react", repo, |r, _| {
            if !r
                .threads
                .values()
                .any(|t| t.comments.iter().any(|c| c.id == comment))
            {
                return Err(not_found(format!(
                    "/repos/{repo}/issues/comments/{comment}/reactions"
                )));
            }
            let reaction = (comment, content.to_string(), self.me.clone());
            if r.reactions.contains(&reaction) {
                return Ok(((), None));
            }
            r.reactions.push(reaction);
            Ok(((), Some(format!("react {repo} {comment} {content}"))))
        })
    }

    /// What was seeded with [`MemoryForge::branch_update`] (default: started;
    /// the head is not moved: seed the pull again for that).
    fn update_branch(
        &self,
        repo: &RepoName,
        pr: PrNumber,
        style: UpdateStyle,
        expected_head_sha: &str,
        _under_way: Option<&str>,
    ) -> Result<BranchUpdate> {
        self.call("update_branch", repo, |r, _| {
            if !r.pulls.contains_key(&pr.0) {
                return Err(not_found(format!("/repos/{repo}/pulls/{pr}")));
            }
            let outcome = r
                .updates
                .get(&pr.0)
                .cloned()
                .unwrap_or(BranchUpdate::Started);
            let line = format!(
                "update_branch {repo}#{pr} {} {expected_head_sha}",
                style.as_str()
            );
            Ok((outcome, Some(line)))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const R: &str = "acme/api";
    /// `R` as the forge's methods take it.
    static API: std::sync::LazyLock<RepoName> =
        std::sync::LazyLock::new(|| RepoName::parse(R).unwrap());

    fn forge() -> MemoryForge {
        MemoryForge::new("afk-bot")
            .repo(R)
            .labels(R, &["ready", "busy"])
            .issue(R, 7, "fix it")
            .labelled(R, 7, "ready", "alice")
            .comment(R, 7, "bob", "hello")
    }

    fn kind(e: &anyhow::Error) -> Option<Failure> {
        ForgeError::kind_of(e)
    }

    #[test]
    fn comments_are_authored_by_the_tokens_user() {
        let f = forge();
        let c = f
            .create_comment(&API, Target::Issue(IssueNumber(7)), "afk here")
            .unwrap();
        assert_eq!(c.author(), "afk-bot");
        let all = f.comments(&API, Target::Issue(IssueNumber(7))).unwrap();
        let authors: Vec<&str> = all.iter().map(|c| c.author()).collect();
        assert_eq!(authors, ["bob", "afk-bot"]);
        assert_eq!(f.writes(), [format!("create_comment acme/api#7 {}", c.id)]);
    }

    #[test]
    fn adding_a_label_twice_keeps_one_and_one_event() {
        let f = forge();
        f.add_label(&API, IssueNumber(7), "busy").unwrap();
        f.add_label(&API, IssueNumber(7), "busy").unwrap();
        let labels: Vec<String> = f
            .issue_now(R, 7)
            .labels
            .into_iter()
            .map(|l| l.name)
            .collect();
        assert_eq!(labels, ["ready", "busy"]);
        let events = f.timeline(&API, IssueNumber(7)).unwrap();
        let busy: Vec<&TimelineEvent> = events
            .iter()
            .filter(|e| e.label.as_deref() == Some("busy"))
            .collect();
        assert_eq!(busy.len(), 1);
        assert_eq!(busy[0].actor, "afk-bot");
        assert_eq!(events[0].actor, "alice");
        // both calls were sent: each is recorded
        assert_eq!(f.writes().len(), 2);
    }

    #[test]
    fn what_does_not_exist_is_not_found() {
        let f = forge();
        let cases: Vec<anyhow::Error> = vec![
            ForgeReads::issue(&f, &API, IssueNumber(8)).unwrap_err(),
            ForgeReads::issue(&f, &RepoName::parse("acme/other").unwrap(), IssueNumber(7))
                .unwrap_err(),
            f.comments(&API, Target::Issue(IssueNumber(8))).unwrap_err(),
            f.edit_comment(&API, Target::Issue(IssueNumber(7)), 999, "x")
                .unwrap_err(),
            ForgeReads::pull(&f, &API, PrNumber(7)).unwrap_err(),
            ForgeReads::diff(&f, &API, "abc").unwrap_err(),
        ];
        for e in cases {
            assert_eq!(kind(&e), Some(Failure::NotFound), "{e}");
        }
        // a label Gitea does not have is refused; GitHub creates it
        let e = f.add_label(&API, IssueNumber(7), "new").unwrap_err();
        assert_eq!(kind(&e), Some(Failure::NotFound));
        assert!(f.writes().is_empty());
        let gh = forge().creating_labels();
        gh.add_label(&API, IssueNumber(7), "new").unwrap();
        assert!(gh.issue_now(R, 7).has_label("new"));
    }

    #[test]
    fn every_call_is_counted_and_seeded_failures_are_typed() {
        let f = forge().failing("permission", Failure::Forbidden);
        assert_eq!(f.requests(), 0);
        let e = ForgeReads::permission(&f, &API, "alice").unwrap_err();
        assert_eq!(kind(&e), Some(Failure::Forbidden));
        f.me().unwrap();
        let _ = ForgeReads::issue(&f, &API, IssueNumber(99));
        assert_eq!(f.requests(), 3);
        assert_eq!((f.calls("permission"), f.calls("issue")), (1, 1));
        let silent = forge().failing("create_comment", Failure::NoAnswer);
        let e = silent
            .create_comment(&API, Target::Issue(IssueNumber(7)), "x")
            .unwrap_err();
        assert_eq!(kind(&e), Some(Failure::NoAnswer));
        assert!(silent.writes().is_empty());
        let g = forge().permission(R, "Alice", "admin");
        assert_eq!(
            ForgeReads::permission(&g, &API, "alice").unwrap().word(),
            "admin"
        );
        assert_eq!(
            ForgeReads::permission(&g, &API, "mallory").unwrap().word(),
            "none"
        );
    }

    #[test]
    fn another_users_comment_can_be_edited_as_an_admin_can() {
        let f = forge();
        let bobs = f.comments(&API, Target::Issue(IssueNumber(7))).unwrap()[0].id;
        f.edit_comment(&API, Target::Issue(IssueNumber(7)), bobs, "rewritten")
            .unwrap();
        assert_eq!(f.comments_now(R, 7)[0].body, "rewritten");
        assert_eq!(f.comments_now(R, 7)[0].author(), "bob");
        assert_eq!(f.writes(), [format!("edit_comment acme/api#7 {bobs}")]);
    }

    #[test]
    fn removing_and_closing_change_what_is_listed() {
        let f = forge();
        assert_eq!(f.issues_with_label(&API, "ready").unwrap().len(), 1);
        f.remove_label(&API, IssueNumber(7), "ready").unwrap();
        f.remove_label(&API, IssueNumber(7), "ready").unwrap();
        assert!(f.issues_with_label(&API, "ready").unwrap().is_empty());
        f.add_label(&API, IssueNumber(7), "ready").unwrap();
        f.close_issue(&API, IssueNumber(7)).unwrap();
        assert!(f.issues_with_label(&API, "ready").unwrap().is_empty());
        assert_eq!(
            f.writes(),
            [
                "remove_label acme/api#7 ready",
                "remove_label acme/api#7 ready",
                "add_label acme/api#7 ready",
                "close_issue acme/api#7",
            ]
        );
    }

    #[test]
    fn pulls_share_the_issue_numbers_and_one_open_pull_per_branch() {
        let f = forge();
        let pr = f
            .create_pull(&API, "afk/issue-7", "main", "t", "b")
            .unwrap();
        assert_eq!(pr.number, PrNumber(8));
        assert_eq!(pr.author(), "afk-bot");
        let again = f
            .create_pull(&API, "afk/issue-7", "main", "t", "b")
            .unwrap_err();
        assert_eq!(kind(&again), Some(Failure::Conflict));
        assert_eq!(f.open_pulls(&API).unwrap().len(), 1);
        f.close_pull(&API, pr.number).unwrap();
        assert!(f.open_pulls(&API).unwrap().is_empty());
        assert_eq!(f.recent_closed_pulls(&API).unwrap()[0].number, pr.number);
        // a PR's conversation takes comments
        f.create_comment(&API, Target::Pr(pr.number), "note")
            .unwrap();
        assert_eq!(f.comments_now(R, 8).len(), 1);
    }

    #[test]
    fn the_latest_status_per_context_is_combined() {
        let f = forge()
            .status(R, "s1", "ci", "failure")
            .status(R, "s1", "ci", "success")
            .status(R, "s1", "lint", "pending")
            .status(R, "s2", "ci", "success");
        let s1 = f.combined_status(&API, "s1").unwrap();
        assert_eq!(s1.state, "pending");
        assert_eq!(s1.statuses.unwrap().len(), 2);
        assert_eq!(f.combined_status(&API, "s2").unwrap().state, "success");
        assert_eq!(f.combined_status(&API, "none").unwrap().state, "pending");
    }

    #[test]
    fn commits_are_listed_newest_first_down_to_since() {
        let c = |sha: &str, date: &str| Commit {
            sha: sha.into(),
            message: sha.into(),
            date: Some(date.into()),
            author: None,
        };
        let f = forge()
            .commit(R, "main", c("a", "2026-01-01T00:00:00Z"))
            .commit(R, "main", c("b", "2026-01-03T00:00:00Z"))
            .commit(R, "main", c("c", "2026-01-05T00:00:00Z"));
        let since = clock::parse("2026-01-02T00:00:00Z").unwrap();
        let got: Vec<String> = f
            .commits(&API, "main", since)
            .unwrap()
            .into_iter()
            .map(|c| c.sha)
            .collect();
        assert_eq!(got, ["c", "b"]);
        let e = f.commits(&API, "gone", since).unwrap_err();
        assert_eq!(kind(&e), Some(Failure::NotFound));
    }

    fn pr(n: u64) -> PullRequest {
        PullRequest {
            number: PrNumber(n),
            state: State::Open,
            ..Default::default()
        }
    }

    fn rv(id: i64, author: &str, state: afk_forge::ReviewState) -> Review {
        Review {
            id,
            author: author.into(),
            state,
            commit_sha: "abc".into(),
            submitted_at: None,
            body: String::new(),
            body_cut: false,
            comments_count: None,
        }
    }

    #[test]
    fn reviews_line_comments_reactions_and_branch_updates_are_served_as_seeded() {
        use afk_forge::ReviewState::*;
        let lc = |id, review| LineComment {
            id,
            review_id: Some(review),
            path: "a.rs".into(),
            line: Some(3),
            body: "no".into(),
            author: "alice".into(),
            body_cut: false,
            created_at: None,
            commit: None,
            outdated: false,
        };
        let mut f = forge()
            .pull(R, pr(8))
            .review(R, 8, rv(80, "alice", ChangesRequested))
            .review(R, 8, rv(81, "bob", Pending))
            .review(R, 8, rv(82, "afk-bot", Pending));
        for i in 0..21 {
            f = f.line_comment(R, lc(100 + i, 80));
        }
        let f = f.branch_update(R, 8, BranchUpdate::Conflict);
        let ids: Vec<i64> = f
            .reviews(&API, PrNumber(8))
            .unwrap()
            .iter()
            .map(|r| r.id)
            .collect();
        assert_eq!(ids, [80, 82], "bob's pending review is his alone");
        let lines = f.line_comments(&API, PrNumber(8), 80).unwrap();
        assert_eq!((lines.kept.len(), lines.more), (20, true));
        assert_eq!(
            kind(&f.line_comments(&API, PrNumber(8), 99).unwrap_err()),
            Some(Failure::NotFound)
        );
        let comment = f.comments_now(R, 7)[0].id;
        f.react(&API, Target::Issue(IssueNumber(7)), comment, "eyes")
            .unwrap();
        f.react(&API, Target::Issue(IssueNumber(7)), comment, "eyes")
            .unwrap();
        assert_eq!(
            f.reactions_now(R, comment),
            [("eyes".to_string(), "afk-bot".to_string())]
        );
        assert_eq!(
            kind(
                &f.react(&API, Target::Issue(IssueNumber(7)), 424242, "eyes")
                    .unwrap_err()
            ),
            Some(Failure::NotFound)
        );
        let got = f
            .update_branch(&API, PrNumber(8), UpdateStyle::Merge, "abc", None)
            .unwrap();
        assert_eq!(got, BranchUpdate::Conflict);
        assert_eq!(
            f.writes(),
            [
                format!("react acme/api {comment} eyes"),
                "update_branch acme/api#8 merge abc".to_string()
            ]
        );
    }
}
