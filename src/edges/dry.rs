//! A dry run's adapters: the real tick code runs against them. The forge's
//! reads pass through and its writes are recorded (and answered with
//! plausible values); the runner observes but starts and stops nothing; the
//! notifier sends nothing; git clones and fetches afk's own work folder and
//! records its pushes.

use crate::core::budget::spend::Ledger;
use crate::core::upgrade::commit::TreeChange;
use crate::forge::{self, Comment, Forge, ForgeReads, ForgeWrites, PullRequest, Target};
use crate::git::{Checkout, GitOps, Lease};
use crate::runner::{Observed, Runner, RunnerHandle, Turn};
use crate::types::{IssueNumber, PrNumber, RepoName};
use anyhow::Result;
use std::path::Path;
use std::sync::{Arc, Mutex};

/// What a dry tick would have written, in the order it would have: one line
/// per forge write or agent start or stop.
#[derive(Default)]
pub struct Recorder(Mutex<Vec<String>>);

impl Recorder {
    pub(crate) fn note(&self, line: String) {
        if let Ok(mut v) = self.0.lock() {
            v.push(line);
        }
    }
    pub fn lines(&self) -> Vec<String> {
        self.0.lock().map(|v| v.clone()).unwrap_or_default()
    }
}

/// The forge of a dry run: reads go to the real forge, writes to the recorder.
pub struct RecordingForge {
    pub inner: Box<dyn Forge>,
    pub recorder: Arc<Recorder>,
}

impl RecordingForge {
    /// A comment id no forge hands out (negative, one per recorded comment).
    fn comment(&self, body: &str) -> Comment {
        let n = self.recorder.lines().len() as i64;
        Comment {
            id: -1 - n,
            body: body.to_string(),
            html_url: String::new(),
            user: None,
            created_at: None,
            updated_at: None,
            node_id: None,
        }
    }
}

impl RecordingForge {
    /// Where an issue is, as afk's reports name it
    /// (`core::prompt::place`): a tracker's issue by its key, never a
    /// `#N` that may be another issue on the forge.
    fn place(&self, repo: &RepoName, number: IssueNumber) -> String {
        let key = self.inner.reads().tracker_ref(repo, number).ok().flatten();
        crate::core::prompt::place(repo.as_str(), number, key.as_ref().map(|(k, _)| k.as_str()))
    }
}

/// Whether `c` is a comment a dry run's forge recorded rather than posted.
pub fn recorded(c: &Comment) -> bool {
    c.id < 0
}

/// Its reads are the real forge's: nothing of them is written here.
impl Forge for RecordingForge {
    fn reads(&self) -> &(dyn ForgeReads + 'static) {
        self.inner.reads()
    }
}

/// Every write is recorded instead, and answered as the forge would.
impl ForgeWrites for RecordingForge {
    fn add_label(&self, repo: &RepoName, number: IssueNumber, name: &str) -> Result<()> {
        let at = self.place(repo, number);
        self.recorder.note(format!("{at}: add label \"{name}\""));
        Ok(())
    }
    fn remove_label(&self, repo: &RepoName, number: IssueNumber, name: &str) -> Result<()> {
        let at = self.place(repo, number);
        self.recorder.note(format!("{at}: remove label \"{name}\""));
        Ok(())
    }
    fn create_label(&self, repo: &RepoName, name: &str, _color: &str) -> Result<()> {
        self.recorder
            .note(format!("{repo}: create label \"{name}\""));
        Ok(())
    }
    fn create_comment(&self, repo: &RepoName, on: Target, body: &str) -> Result<Comment> {
        let c = self.comment(body);
        let at = match on {
            Target::Issue(n) => self.place(repo, n),
            _ => format!("{repo}#{on}"),
        };
        self.recorder.note(format!("{at}: comment"));
        Ok(c)
    }
    fn edit_comment(&self, repo: &RepoName, _on: Target, id: i64, body: &str) -> Result<Comment> {
        let mut c = self.comment(body);
        c.id = id;
        self.recorder.note(format!("{repo}: edit comment {id}"));
        Ok(c)
    }
    fn edit_issue_body(&self, repo: &RepoName, on: Target, body: &str) -> Result<()> {
        self.recorder.note(format!(
            "{repo}#{on}: edit the body ({} characters)",
            body.chars().count()
        ));
        Ok(())
    }
    fn close_issue(&self, repo: &RepoName, number: IssueNumber) -> Result<()> {
        let at = self.place(repo, number);
        self.recorder.note(format!("{at}: close"));
        Ok(())
    }
    fn create_pull(
        &self,
        repo: &RepoName,
        head: &str,
        base: &str,
        title: &str,
        body: &str,
    ) -> Result<PullRequest> {
        self.recorder
            .note(format!("{repo}: open a pull request {head} → {base}"));
        Ok(PullRequest {
            state: forge::State::Open,
            head: forge::Branch {
                name: head.into(),
                ..Default::default()
            },
            base: forge::Branch {
                name: base.into(),
                ..Default::default()
            },
            body: Some(format!("{title}\n\n{body}")),
            ..Default::default()
        })
    }
    fn close_pull(&self, repo: &RepoName, number: PrNumber) -> Result<()> {
        self.recorder.note(format!("{repo}#{number}: close"));
        Ok(())
    }
    /// Recorded where the issue is a tracker's (the link afk would make).
    fn link_pull(
        &self,
        repo: &RepoName,
        issue: IssueNumber,
        pr: &forge::PullRequest,
        merged: bool,
    ) -> Result<()> {
        if let Some((key, _)) = self.inner.reads().tracker_ref(repo, issue)? {
            let how = if merged { " (merged)" } else { "" };
            self.recorder
                .note(format!("{key}: link to {repo}#{}{how}", pr.number));
        }
        Ok(())
    }
    /// Recorded where the issue is a tracker's (the activity afk would
    /// post in its agent session, if it has one).
    fn tell_session(
        &self,
        repo: &RepoName,
        issue: IssueNumber,
        note: &crate::core::tracker::agent_session::Note,
    ) -> Result<()> {
        if let Some((key, _)) = self.inner.reads().tracker_ref(repo, issue)? {
            self.recorder.note(format!(
                "{key}: agent session {} \"{}\" (if delegated)",
                note.kind.as_str(),
                note.body
            ));
        }
        Ok(())
    }
    fn react(&self, repo: &RepoName, _on: Target, comment: i64, content: &str) -> Result<()> {
        self.recorder
            .note(format!("{repo}: react \"{content}\" on comment {comment}"));
        Ok(())
    }
    /// Recorded, and answered as started: the head does not move.
    fn update_branch(
        &self,
        repo: &RepoName,
        pr: PrNumber,
        style: forge::UpdateStyle,
        _expected_head_sha: &str,
        _under_way: Option<&str>,
    ) -> Result<forge::BranchUpdate> {
        self.recorder.note(format!(
            "{repo}#{pr}: update the branch ({})",
            style.as_str()
        ));
        Ok(forge::BranchUpdate::Started)
    }
}

/// The runner of a dry run: it observes the agents there are (reads pass
/// through) and starts, resumes and stops none, recording what it would.
pub struct IdleRunner {
    pub inner: Box<dyn Runner>,
    pub recorder: Arc<Recorder>,
}

/// Where a turn's issue is, as afk's reports name it: a tracker's issue
/// by the key its branch carries.
fn turn_place(t: &Turn) -> String {
    let key = crate::core::prompt::tracker_key(t.branch, t.issue);
    crate::core::prompt::place(t.repo.as_str(), t.issue, key.as_deref())
}

/// What a start that never happened hands back.
fn no_agent() -> RunnerHandle {
    RunnerHandle::Thread {
        id: "dry-run".into(),
    }
}

impl Runner for IdleRunner {
    fn start(&self, t: &Turn) -> Result<RunnerHandle> {
        self.recorder
            .note(format!("{}: start an agent", turn_place(t)));
        Ok(no_agent())
    }
    fn resume(&self, _handle: Option<&RunnerHandle>, t: &Turn) -> Result<RunnerHandle> {
        self.recorder.note(format!(
            "{}: start the agent's turn {}",
            turn_place(t),
            t.turn
        ));
        Ok(no_agent())
    }
    fn prefetch(&self) -> Result<()> {
        self.inner.prefetch()
    }
    /// A turn left unfinished stays so: finishing it creates a Job.
    fn settle(&self, _handle: Option<&RunnerHandle>, _run_dir: &Path) -> Result<()> {
        Ok(())
    }
    fn observe(&self, handle: Option<&RunnerHandle>, run_dir: &Path) -> Result<Observed> {
        self.inner.observe(handle, run_dir)
    }
    fn looks_locally(&self) -> bool {
        self.inner.looks_locally()
    }
    fn stop(&self, handle: &RunnerHandle) {
        self.recorder
            .note(format!("stop the agent {}", handle.stored()));
    }
    fn read_spend(
        &self,
        run_dir: &Path,
        meter: &crate::core::budget::spend::Meter,
        ledger: &mut Ledger,
        finished: bool,
    ) {
        self.inner.read_spend(run_dir, meter, ledger, finished)
    }
    fn start_record(&self, _run_id: &str, run_dir: &Path) -> Result<Option<RunnerHandle>> {
        // the run folder's record only: finding a kubernetes Job again
        // recreates its ConfigMap, a write
        Ok(crate::runner::start_record(run_dir))
    }
    fn bind_instance(&self, instance: &str) {
        self.inner.bind_instance(instance)
    }
    fn check(&self) -> (crate::core::doctor::Level, String) {
        self.inner.check()
    }
}

/// The git of a dry run: afk's own clones of upstream are cloned and
/// fetched as in a real tick (they are afk's reads, kept in its work
/// folder); a push, a fixer's folder and its clone are recorded, not made.
pub struct RecordingGit {
    pub inner: Box<dyn GitOps>,
    pub recorder: Arc<Recorder>,
}

impl GitOps for RecordingGit {
    fn upstream(&self, recipe: &str, url: &str) -> Result<Checkout> {
        self.inner.upstream(recipe, url)
    }
    fn commit(
        &self,
        dir: &Path,
        parent: &str,
        files: &[(String, Vec<u8>)],
        message: &str,
    ) -> Result<String> {
        // objects in afk's own clone, no ref moved
        self.inner.commit(dir, parent, files, message)
    }
    fn changes(&self, dir: &Path, parent: &str, sha: &str) -> Result<Vec<TreeChange>> {
        self.inner.changes(dir, parent, sha)
    }
    fn push(&self, _dir: &Path, url: &str, sha: &str, branch: &str, _lease: &Lease) -> Result<()> {
        let short = &sha[..sha.len().min(10)];
        self.recorder
            .note(format!("{url}: push {short} to {branch}"));
        Ok(())
    }
    fn look(&self, at: &crate::git::LookAt) -> Result<crate::git::Look> {
        // a read: at most a fetch into afk's own clone, as `upstream` does
        self.inner.look(at)
    }
    fn clone_branch(&self, url: &str, branch: &str, dest: &Path) -> Result<()> {
        self.recorder
            .note(format!("{url}: clone {branch} into {}", dest.display()));
        Ok(())
    }
    fn new_branch(&self, dir: &Path, name: &str) -> Result<()> {
        self.recorder
            .note(format!("{}: new branch {name}", dir.display()));
        Ok(())
    }
    fn fresh_folder(&self, dir: &Path) -> Result<()> {
        self.recorder
            .note(format!("{}: make the fixer's folder", dir.display()));
        Ok(())
    }
}

/// A dry run's workspace: it makes, pushes and removes nothing, and says
/// what it would have done.
pub struct DryWorkspace {
    pub recorder: Arc<Recorder>,
}

impl crate::workspace::Checkouts for DryWorkspace {
    fn make(&self, _: &dyn Forge, at: &crate::workspace::At) -> Result<crate::workspace::Made> {
        self.recorder
            .note(format!("make the checkout of {} on {}", at.repo, at.branch));
        Ok(crate::workspace::Made {
            base: String::new(),
            head: String::new(),
            existed: false,
        })
    }
    fn forward(
        &self,
        _: &dyn Forge,
        at: &crate::workspace::At,
        turn: u32,
    ) -> Result<crate::workspace::Forwarded> {
        self.recorder.note(format!(
            "forward turn {turn}'s work of run {} to {} {}",
            at.run_id, at.repo, at.branch
        ));
        Ok(crate::workspace::Forwarded::Nothing)
    }
    fn remove(&self, at: &crate::workspace::At) -> Result<()> {
        self.recorder
            .note(format!("remove the checkout of run {}", at.run_id));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::forge::{BranchUpdate, Review, ReviewState, UpdateStyle};
    use afk_forge_memory::MemoryForge;

    #[test]
    fn a_dry_forge_reads_reviews_and_only_records_reactions_and_branch_updates() {
        let pr = PullRequest {
            number: PrNumber(8),
            state: forge::State::Open,
            ..Default::default()
        };
        let review = Review {
            id: 80,
            author: "alice".into(),
            state: ReviewState::ChangesRequested,
            commit_sha: "abc".into(),
            submitted_at: None,
            body: "rename it".into(),
            body_cut: false,
            comments_count: None,
        };
        let inner = MemoryForge::new("afk-bot")
            .repo("acme/api")
            .issue("acme/api", 7, "fix it")
            .comment("acme/api", 7, "alice", "/afk stop")
            .pull("acme/api", pr)
            .review("acme/api", 8, review.clone())
            .branch_update("acme/api", 8, BranchUpdate::Conflict);
        let comment = inner.comments_now("acme/api", 7)[0].id;
        let recorder = Arc::new(Recorder::default());
        let dry = RecordingForge {
            inner: Box::new(inner),
            recorder: recorder.clone(),
        };
        let repo = RepoName::parse("acme/api").unwrap();
        let dry: &dyn Forge = &dry;
        assert_eq!(dry.reviews(&repo, PrNumber(8)).unwrap(), [review]);
        let on = Target::Issue(IssueNumber(7));
        dry.react(&repo, on, comment, "eyes").unwrap();
        let got = dry
            .update_branch(&repo, PrNumber(8), UpdateStyle::Merge, "abc", None)
            .unwrap();
        assert_eq!(got, BranchUpdate::Started, "nothing asked, nothing refused");
        assert_eq!(
            recorder.lines(),
            [
                format!("acme/api: react \"eyes\" on comment {comment}"),
                "acme/api#8: update the branch (merge)".to_string()
            ]
        );
    }
}
