//! Adapters for a tick that may need no forge and never runs an agent
//! (harvest: the forge only when a merged success is watched for reverts).
//! The forge is built on its first call, so a tick that needs none is never
//! failed by a forge it could not build; a call after a failed build answers
//! that error. `OnDemandRunner` is the same for a runner (upgrade's fixers).

use crate::forge::{
    BranchHead, BranchUpdate, CombinedStatus, Comment, Commit, FileDiff, Forge, ForgeReads,
    ForgeWrites, Issue, Label, LineComments, PullRequest, Review, UpdateStyle, User,
};
use crate::runner::{Observed, Runner, RunnerHandle, Turn};
use crate::types::{IssueNumber, Permission, RepoName, TimelineEvent};
use anyhow::{Result, anyhow, bail};
use std::path::Path;
use std::sync::OnceLock;

type Build = Box<dyn Fn() -> Result<Box<dyn Forge>> + Send + Sync>;

/// A forge built on first use.
pub struct OnDemandForge {
    build: Build,
    built: OnceLock<Result<Box<dyn Forge>, String>>,
}

impl OnDemandForge {
    pub fn new(build: Build) -> OnDemandForge {
        OnDemandForge {
            build,
            built: OnceLock::new(),
        }
    }
    /// The forge when an earlier call built it; None when nothing asked yet.
    fn built(&self) -> Option<&dyn Forge> {
        match self.built.get() {
            Some(Ok(f)) => Some(f.as_ref()),
            _ => None,
        }
    }

    fn get(&self) -> Result<&dyn Forge> {
        let built = self
            .built
            .get_or_init(|| (self.build)().map_err(|e| e.to_string()));
        match built {
            Ok(f) => Ok(f.as_ref()),
            Err(e) => Err(anyhow!("{e}")),
        }
    }
}

// every other call builds the forge first (or answers why it could not)
impl ForgeReads for OnDemandForge {
    // a forge never built made no request: counting builds nothing
    fn requests(&self) -> usize {
        self.built().map_or(0, |f| f.requests())
    }
    fn costly_requests(&self) -> usize {
        self.built().map_or(0, |f| f.costly_requests())
    }
    fn me(&self) -> Result<User> {
        self.get()?.me()
    }
    fn issues_with_label(&self, repo: &RepoName, label: &str) -> Result<Vec<Issue>> {
        self.get()?.issues_with_label(repo, label)
    }
    fn issue(&self, repo: &RepoName, number: IssueNumber) -> Result<Issue> {
        self.get()?.issue(repo, number)
    }
    fn timeline(&self, repo: &RepoName, number: IssueNumber) -> Result<Vec<TimelineEvent>> {
        self.get()?.timeline(repo, number)
    }
    fn permission(&self, repo: &RepoName, login: &str) -> Result<Permission> {
        self.get()?.permission(repo, login)
    }
    fn is_public(&self, repo: &RepoName) -> Result<bool> {
        self.get()?.is_public(repo)
    }
    fn dependencies(&self, repo: &RepoName, number: IssueNumber) -> Result<Vec<Issue>> {
        self.get()?.dependencies(repo, number)
    }
    fn repo_labels(&self, repo: &RepoName) -> Result<Vec<Label>> {
        self.get()?.repo_labels(repo)
    }
    fn comments(&self, repo: &RepoName, number: IssueNumber) -> Result<Vec<Comment>> {
        self.get()?.comments(repo, number)
    }
    fn open_pulls(&self, repo: &RepoName) -> Result<Vec<PullRequest>> {
        self.get()?.open_pulls(repo)
    }
    fn recent_closed_pulls(&self, repo: &RepoName) -> Result<Vec<PullRequest>> {
        self.get()?.recent_closed_pulls(repo)
    }
    fn pull(&self, repo: &RepoName, number: IssueNumber) -> Result<PullRequest> {
        self.get()?.pull(repo, number)
    }
    fn combined_status(&self, repo: &RepoName, sha: &str) -> Result<CombinedStatus> {
        self.get()?.combined_status(repo, sha)
    }
    fn commits(
        &self,
        repo: &RepoName,
        branch: &str,
        since: time::OffsetDateTime,
    ) -> Result<Vec<Commit>> {
        self.get()?.commits(repo, branch, since)
    }
    fn diff(&self, repo: &RepoName, sha: &str) -> Result<Vec<FileDiff>> {
        self.get()?.diff(repo, sha)
    }
    fn branch(&self, repo: &RepoName, name: &str) -> Result<Option<BranchHead>> {
        self.get()?.branch(repo, name)
    }
    fn reviews(&self, repo: &RepoName, pr: IssueNumber) -> Result<Vec<Review>> {
        self.get()?.reviews(repo, pr)
    }
    fn line_comments(&self, repo: &RepoName, pr: IssueNumber, review: i64) -> Result<LineComments> {
        self.get()?.line_comments(repo, pr, review)
    }
}

impl ForgeWrites for OnDemandForge {
    fn add_label(&self, repo: &RepoName, number: IssueNumber, name: &str) -> Result<()> {
        self.get()?.add_label(repo, number, name)
    }
    fn remove_label(&self, repo: &RepoName, number: IssueNumber, name: &str) -> Result<()> {
        self.get()?.remove_label(repo, number, name)
    }
    fn create_label(&self, repo: &RepoName, name: &str, color: &str) -> Result<()> {
        self.get()?.create_label(repo, name, color)
    }
    fn create_comment(&self, repo: &RepoName, number: IssueNumber, body: &str) -> Result<Comment> {
        self.get()?.create_comment(repo, number, body)
    }
    fn edit_comment(&self, repo: &RepoName, id: i64, body: &str) -> Result<Comment> {
        self.get()?.edit_comment(repo, id, body)
    }
    fn close_issue(&self, repo: &RepoName, number: IssueNumber) -> Result<()> {
        self.get()?.close_issue(repo, number)
    }
    fn edit_issue_body(&self, repo: &RepoName, number: IssueNumber, body: &str) -> Result<()> {
        self.get()?.edit_issue_body(repo, number, body)
    }
    fn create_pull(
        &self,
        repo: &RepoName,
        head: &str,
        base: &str,
        title: &str,
        body: &str,
    ) -> Result<PullRequest> {
        self.get()?.create_pull(repo, head, base, title, body)
    }
    fn close_pull(&self, repo: &RepoName, number: IssueNumber) -> Result<()> {
        self.get()?.close_pull(repo, number)
    }
    fn react(&self, repo: &RepoName, comment: i64, content: &str) -> Result<()> {
        self.get()?.react(repo, comment, content)
    }
    fn update_branch(
        &self,
        repo: &RepoName,
        pr: IssueNumber,
        style: UpdateStyle,
        expected_head_sha: &str,
    ) -> Result<BranchUpdate> {
        self.get()?
            .update_branch(repo, pr, style, expected_head_sha)
    }
}

/// The runner of a tick that runs no agents.
pub struct NoAgents;

impl Runner for NoAgents {
    fn start(&self, _t: &Turn) -> Result<RunnerHandle> {
        bail!("this tick starts no agents")
    }
    fn resume(&self, _handle: Option<&RunnerHandle>, _t: &Turn) -> Result<RunnerHandle> {
        bail!("this tick starts no agents")
    }
    fn observe(&self, _handle: Option<&RunnerHandle>, _run_dir: &Path) -> Result<Observed> {
        bail!("this tick observes no agents")
    }
    fn stop(&self, _handle: &RunnerHandle) {}
    fn check(&self) -> (crate::core::doctor::Level, String) {
        (
            crate::core::doctor::Level::Ok,
            "no agents in this tick".into(),
        )
    }
}

/// A runner built on first use (upgrade: only a fixer needs one, so a tick
/// that starts none is never failed by a runner it could not build).
pub struct OnDemandRunner {
    build: Box<dyn Fn() -> Result<Box<dyn Runner>> + Send + Sync>,
    built: OnceLock<Result<Box<dyn Runner>, String>>,
    /// the instance id bound before the runner was built, handed on at build
    instance: OnceLock<String>,
}

impl OnDemandRunner {
    pub fn new(build: Box<dyn Fn() -> Result<Box<dyn Runner>> + Send + Sync>) -> OnDemandRunner {
        OnDemandRunner {
            build,
            built: OnceLock::new(),
            instance: OnceLock::new(),
        }
    }
    fn get(&self) -> Result<&dyn Runner> {
        let built = self.built.get_or_init(|| {
            let r = (self.build)().map_err(|e| format!("{e:#}"))?;
            if let Some(id) = self.instance.get() {
                r.bind_instance(id);
            }
            Ok(r)
        });
        match built {
            Ok(r) => Ok(r.as_ref()),
            Err(e) => Err(anyhow!("{e}")),
        }
    }
}

impl Runner for OnDemandRunner {
    fn start(&self, t: &Turn) -> Result<RunnerHandle> {
        self.get()?.start(t)
    }
    fn resume(&self, handle: Option<&RunnerHandle>, t: &Turn) -> Result<RunnerHandle> {
        self.get()?.resume(handle, t)
    }
    fn prefetch(&self) -> Result<()> {
        self.get()?.prefetch()
    }
    fn settle(&self, handle: Option<&RunnerHandle>, run_dir: &Path) -> Result<()> {
        self.get()?.settle(handle, run_dir)
    }
    fn observe(&self, handle: Option<&RunnerHandle>, run_dir: &Path) -> Result<Observed> {
        self.get()?.observe(handle, run_dir)
    }
    fn forwarded(
        &self,
        handle: Option<&RunnerHandle>,
    ) -> Option<crate::core::kube_workspace::Result> {
        self.get().ok()?.forwarded(handle)
    }
    fn stop(&self, handle: &RunnerHandle) {
        if let Ok(r) = self.get() {
            r.stop(handle)
        }
    }
    fn read_spend(
        &self,
        run_dir: &Path,
        meter: &crate::core::spend::Meter,
        ledger: &mut crate::core::spend::Ledger,
        finished: bool,
    ) {
        if let Ok(r) = self.get() {
            r.read_spend(run_dir, meter, ledger, finished)
        }
    }
    fn start_record(&self, run_id: &str, run_dir: &Path) -> Result<Option<RunnerHandle>> {
        self.get()?.start_record(run_id, run_dir)
    }
    fn check(&self) -> (crate::core::doctor::Level, String) {
        match self.get() {
            Ok(r) => r.check(),
            Err(e) => (crate::core::doctor::Level::Fail, e.to_string()),
        }
    }
    fn bind_instance(&self, instance: &str) {
        let _ = self.instance.set(instance.to_string());
        if let Some(Ok(r)) = self.built.get() {
            r.bind_instance(instance);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::forge::memory::MemoryForge;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Counting what a forge did builds no forge: a harvest that watches no
    /// revert reads no token and opens no ETag cache, and reports 0 requests.
    #[test]
    fn a_forge_is_built_by_its_first_call_and_never_by_counting() {
        let builds = Arc::new(AtomicUsize::new(0));
        let counted = builds.clone();
        let f = OnDemandForge::new(Box::new(move || {
            counted.fetch_add(1, Ordering::SeqCst);
            Ok(Box::new(MemoryForge::new("afk-bot")) as Box<dyn Forge>)
        }));
        assert_eq!((f.requests(), f.costly_requests()), (0, 0));
        assert_eq!(builds.load(Ordering::SeqCst), 0, "counting built it");
        assert_eq!(f.me().unwrap().login, "afk-bot");
        assert_eq!(builds.load(Ordering::SeqCst), 1);
        assert_eq!(f.requests(), 1, "the built forge's count");
        f.me().unwrap();
        assert_eq!(builds.load(Ordering::SeqCst), 1, "built once");
    }
}
