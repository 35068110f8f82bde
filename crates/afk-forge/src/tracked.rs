//! A forge with a tracker beside it (docs/trackers.md): the run's issue is
//! the tracker's, everything else the forge's. The issue side of the forge
//! traits (the ready and in-progress lists, the issue, its timeline, who
//! armed it, its blockers, its labels, afk's comments on it, its closing)
//! goes to the tracker (`Tracker`: Jira); the code side (pull requests, CI, reviews, branches,
//! hooks, afk's account) to the forge, as before. So poll and watch decide
//! with the same rules whichever holds the issue.
//!
//! Two things cross over, each said where it happens: afk's own Jira
//! account is written as afk's forge login (afk has one name for itself),
//! and the status issue stays the forge's.
//!
//! A tracker comment is never a command (commands are heard on the forge's
//! pull request, with the forge's trust): the issue's comments afk reads
//! are its own alone.

use crate::model::*;
use crate::tracker::Tracker;
use crate::types::{IssueNumber, Permission, PrNumber, RepoName};
use crate::{BranchRules, Diagnosis, Forge, ForgeReads, ForgeWrites, TokenInfo};
use anyhow::Result;

/// A tracker's answer that the run's issue is not there (deleted, or out
/// of afk's sight): watch reads it as gone once it said so two ticks in a
/// row (one answer may be a blip of permissions or of the tracker's own).
#[derive(Debug)]
pub struct IssueGone(pub String);

impl std::fmt::Display for IssueGone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the tracker's issue is not there: {}", self.0)
    }
}

impl std::error::Error for IssueGone {}

/// The forge, and the tracker for the issues.
pub struct Tracked {
    pub forge: Box<dyn Forge>,
    pub tracker: Box<dyn Tracker>,
    /// `runner.agent_login`: never trusted to arm, whatever the tracker says
    pub agent_login: String,
    /// the status issue (`status_issue`): a forge issue
    pub status_issue: Option<(RepoName, IssueNumber)>,
}

impl Tracked {
    fn reads(&self) -> &dyn ForgeReads {
        self.forge.reads()
    }

    /// Whether `(repo, number)` is the forge's status issue rather than a
    /// tracker issue.
    fn forge_issue(&self, repo: &RepoName, number: IssueNumber) -> bool {
        self.status_issue
            .as_ref()
            .is_some_and(|(r, n)| r == repo && *n == number)
    }

    fn me_login(&self) -> Result<String> {
        Ok(self.reads().me()?.login)
    }

    /// A comment write on an issue the tracker says is not there: nothing
    /// to write on, said, and answered as written (id 0: no comment), so a
    /// run whose issue was deleted can end; any other answer as it came.
    fn unless_gone(&self, n: IssueNumber, body: &str, got: Result<Comment>) -> Result<Comment> {
        match got {
            Err(e) if self.tracker.gone(&e) => {
                afk_host::log::warn(&format!(
                    "tracker issue {n}: not there, so afk's comment was not written ({e:#})"
                ));
                Ok(Comment {
                    id: 0,
                    body: body.to_string(),
                    html_url: String::new(),
                    user: None,
                    created_at: None,
                    updated_at: None,
                    node_id: None,
                })
            }
            other => other,
        }
    }
}

impl ForgeReads for Tracked {
    fn requests(&self) -> usize {
        self.reads().requests() + self.tracker.requests()
    }
    fn costly_requests(&self) -> usize {
        self.reads().costly_requests() + self.tracker.requests()
    }
    fn revalidate(&self, concurrency: usize) {
        self.reads().revalidate(concurrency)
    }
    /// Jira makes a label on its first use.
    fn adds_missing_labels(&self) -> bool {
        true
    }
    /// The forge's lines, then the tracker's.
    fn diagnose(&self) -> Vec<Diagnosis> {
        let mut out = self.reads().diagnose();
        out.extend(self.tracker.diagnose());
        out
    }
    fn token_info(&self) -> Option<Result<TokenInfo>> {
        self.reads().token_info()
    }
    fn optional_reads(&self) -> bool {
        self.reads().optional_reads()
    }
    fn branch_rules(&self, repo: &RepoName) -> Option<Result<BranchRules>> {
        self.reads().branch_rules(repo)
    }
    fn me(&self) -> Result<User> {
        self.reads().me()
    }
    fn git_credentials(&self) -> Option<Result<(String, String)>> {
        self.reads().git_credentials()
    }
    fn git_by_name(&self, repo: &RepoName) -> Result<()> {
        self.reads().git_by_name(repo)
    }
    /// The tracker issues carrying `label` that the map sends to `repo`.
    /// When there are some, the forge is asked for the repository first:
    /// a forge that does not answer fails the repository's tick as it
    /// does without a tracker, so nothing is dispatched onto it
    /// (docs/trackers.md#rate-limits-and-outages).
    fn issues_with_label(&self, repo: &RepoName, label: &str) -> Result<Vec<Issue>> {
        let mut out = vec![];
        for issue in self.tracker.labelled(label)? {
            if issue
                .repository
                .as_ref()
                .is_some_and(|r| r.full_name == repo.as_str())
            {
                out.push(issue);
            }
        }
        if !out.is_empty() {
            self.reads().is_public(repo)?;
        }
        Ok(out)
    }
    /// A tracker issue the map now sends to another repository, or to none
    /// (moved to another project, its component changed), is no longer
    /// `repo`'s: it reads as closed here, so its run there ends.
    fn issue(&self, repo: &RepoName, number: IssueNumber) -> Result<Issue> {
        if self.forge_issue(repo, number) {
            return self.reads().issue(repo, number);
        }
        let mut issue = match self.tracker.issue(number) {
            Ok(i) => i,
            Err(e) if self.tracker.gone(&e) => {
                return Err(anyhow::Error::new(IssueGone(format!("{e:#}"))));
            }
            Err(e) => return Err(e),
        };
        if issue
            .repository
            .as_ref()
            .is_none_or(|r| r.full_name != repo.as_str())
        {
            issue.state = State::Closed;
        }
        Ok(issue)
    }
    fn timeline(&self, repo: &RepoName, number: IssueNumber) -> Result<Vec<TimelineEvent>> {
        match self.forge_issue(repo, number) {
            true => self.reads().timeline(repo, number),
            false => self.tracker.timeline(number, &self.me_login()?),
        }
    }
    fn permission(&self, repo: &RepoName, login: &str) -> Result<Permission> {
        self.reads().permission(repo, login)
    }
    /// Jira's own rule on Jira's accounts; afk's own (written as its forge
    /// login) and the agent's are never trusted.
    fn armer_permission(
        &self,
        _repo: &RepoName,
        number: IssueNumber,
        login: &str,
    ) -> Result<Permission> {
        let me = self.me_login()?;
        if login.eq_ignore_ascii_case(&me) {
            return Ok(Permission::ranked(
                crate::types::Access::None,
                "afk's own account",
            ));
        }
        self.tracker
            .armer(number, login, &[self.agent_login.as_str()])
    }
    fn unplaced(&self, label: &str) -> Result<Vec<crate::Unplaced>> {
        self.tracker.unplaced(label)
    }
    fn tracker_ref(
        &self,
        repo: &RepoName,
        number: IssueNumber,
    ) -> Result<Option<(String, String)>> {
        if self.forge_issue(repo, number) {
            return Ok(None);
        }
        self.tracker.reference(number).map(Some)
    }
    fn tracker_unknown_nodes(&self, repo: &RepoName, number: IssueNumber) -> Result<usize> {
        match self.forge_issue(repo, number) {
            true => Ok(0),
            false => self.tracker.unknown_nodes(number),
        }
    }
    fn is_public(&self, repo: &RepoName) -> Result<bool> {
        self.reads().is_public(repo)
    }
    fn hooks(&self, repo: &RepoName) -> Result<Vec<HookInfo>> {
        self.reads().hooks(repo)
    }
    fn dependencies(&self, repo: &RepoName, number: IssueNumber) -> Result<Vec<Issue>> {
        match self.forge_issue(repo, number) {
            true => self.reads().dependencies(repo, number),
            false => self.tracker.blockers(number),
        }
    }
    fn repo_labels(&self, repo: &RepoName) -> Result<Vec<Label>> {
        self.reads().repo_labels(repo)
    }
    fn comments(&self, repo: &RepoName, on: Target) -> Result<Vec<Comment>> {
        match on {
            // an issue the tracker says is not there holds none of afk's
            Target::Issue(n) if !self.forge_issue(repo, n) => {
                match self.tracker.own_comments(n, &self.me_login()?) {
                    Err(e) if self.tracker.gone(&e) => Ok(vec![]),
                    other => other,
                }
            }
            _ => self.reads().comments(repo, on),
        }
    }
    fn open_pulls(&self, repo: &RepoName) -> Result<Vec<PullRequest>> {
        self.reads().open_pulls(repo)
    }
    fn recent_closed_pulls(&self, repo: &RepoName) -> Result<Vec<PullRequest>> {
        self.reads().recent_closed_pulls(repo)
    }
    fn pull(&self, repo: &RepoName, number: PrNumber) -> Result<PullRequest> {
        self.reads().pull(repo, number)
    }
    fn combined_status(&self, repo: &RepoName, sha: &str) -> Result<CombinedStatus> {
        self.reads().combined_status(repo, sha)
    }
    fn commits(
        &self,
        repo: &RepoName,
        branch: &str,
        since: time::OffsetDateTime,
    ) -> Result<Vec<crate::Commit>> {
        self.reads().commits(repo, branch, since)
    }
    fn diff(&self, repo: &RepoName, sha: &str) -> Result<Vec<crate::FileDiff>> {
        self.reads().diff(repo, sha)
    }
    fn branch(&self, repo: &RepoName, name: &str) -> Result<Option<BranchHead>> {
        self.reads().branch(repo, name)
    }
    fn reviews(&self, repo: &RepoName, pr: PrNumber) -> Result<Vec<Review>> {
        self.reads().reviews(repo, pr)
    }
    fn line_comments(&self, repo: &RepoName, pr: PrNumber, review: i64) -> Result<LineComments> {
        self.reads().line_comments(repo, pr, review)
    }
    fn comment_ever_edited(&self, c: &Comment) -> Result<Option<bool>> {
        self.reads().comment_ever_edited(c)
    }
    /// Reactions on a tracker issue's comments are nobody's answer.
    fn reactions(
        &self,
        repo: &RepoName,
        on: Target,
        comment: i64,
    ) -> Result<Vec<(String, String)>> {
        match on {
            Target::Issue(n) if !self.forge_issue(repo, n) => Ok(vec![]),
            _ => self.reads().reactions(repo, on, comment),
        }
    }
    fn resolved_line_comments(
        &self,
        repo: &RepoName,
        pr: PrNumber,
    ) -> Result<Option<std::collections::HashSet<i64>>> {
        self.reads().resolved_line_comments(repo, pr)
    }
}

impl ForgeWrites for Tracked {
    fn add_label(&self, repo: &RepoName, number: IssueNumber, name: &str) -> Result<()> {
        match self.forge_issue(repo, number) {
            true => self.forge.add_label(repo, number, name),
            false => self.tracker.label(number, name, true),
        }
    }
    /// A label the tracker reads from something else (Jira's ready status)
    /// is not taken off (`Tracker::label`).
    /// An issue the tracker says is not there carries no label to remove.
    fn remove_label(&self, repo: &RepoName, number: IssueNumber, name: &str) -> Result<()> {
        match self.forge_issue(repo, number) {
            true => self.forge.remove_label(repo, number, name),
            false => match self.tracker.label(number, name, false) {
                Err(e) if self.tracker.gone(&e) => Ok(()),
                other => other,
            },
        }
    }
    /// Jira makes labels on their first use: nothing to make.
    fn create_label(&self, _repo: &RepoName, _name: &str, _color: &str) -> Result<()> {
        Ok(())
    }
    fn create_comment(&self, repo: &RepoName, on: Target, body: &str) -> Result<Comment> {
        match on {
            Target::Issue(n) if !self.forge_issue(repo, n) => {
                let posted = self.tracker.post_comment(n, body, &self.me_login()?);
                self.unless_gone(n, body, posted)
            }
            _ => self.forge.create_comment(repo, on, body),
        }
    }
    fn reply_to_comment(
        &self,
        repo: &RepoName,
        on: Target,
        to: i64,
        body: &str,
    ) -> Result<Comment> {
        match on {
            Target::Issue(n) if !self.forge_issue(repo, n) => {
                self.tracker.post_comment(n, body, &self.me_login()?)
            }
            _ => self.forge.reply_to_comment(repo, on, to, body),
        }
    }
    fn edit_comment(&self, repo: &RepoName, on: Target, id: i64, body: &str) -> Result<Comment> {
        match on {
            Target::Issue(n) if !self.forge_issue(repo, n) => {
                let edited = self.tracker.edit_comment(n, id, body, &self.me_login()?);
                self.unless_gone(n, body, edited)
            }
            _ => self.forge.edit_comment(repo, on, id, body),
        }
    }
    /// A tracker issue is moved into Done.
    fn close_issue(&self, repo: &RepoName, number: IssueNumber) -> Result<()> {
        match self.forge_issue(repo, number) {
            true => self.forge.close_issue(repo, number),
            false => self.tracker.complete(number),
        }
    }
    fn edit_issue_body(&self, repo: &RepoName, on: Target, body: &str) -> Result<()> {
        self.forge.edit_issue_body(repo, on, body)
    }
    fn create_pull(
        &self,
        repo: &RepoName,
        head: &str,
        base: &str,
        title: &str,
        body: &str,
    ) -> Result<PullRequest> {
        self.forge.create_pull(repo, head, base, title, body)
    }
    fn create_draft_pull(
        &self,
        repo: &RepoName,
        head: &str,
        base: &str,
        title: &str,
        body: &str,
    ) -> Result<PullRequest> {
        self.forge.create_draft_pull(repo, head, base, title, body)
    }
    fn close_pull(&self, repo: &RepoName, number: PrNumber) -> Result<()> {
        self.forge.close_pull(repo, number)
    }
    /// A remote link on the Jira issue, titled `acme/api#M: <title>`.
    fn link_pull(
        &self,
        repo: &RepoName,
        issue: IssueNumber,
        pr: &PullRequest,
        merged: bool,
    ) -> Result<()> {
        if self.forge_issue(repo, issue) {
            return Ok(());
        }
        let title = format!("{repo}#{}: {}", pr.number, pr.title);
        self.tracker.link_pull(issue, &pr.html_url, &title, merged)
    }
    fn tell_session(
        &self,
        repo: &RepoName,
        issue: IssueNumber,
        note: &afk_wire::tracker::agent_session::Note,
    ) -> Result<()> {
        match self.forge_issue(repo, issue) {
            true => Ok(()),
            false => self.tracker.tell(issue, note),
        }
    }
    /// The agent's account is never trusted to stop a run there either.
    fn session_tick(
        &self,
        repo: &RepoName,
        issue: IssueNumber,
        run: u64,
        now_secs: i64,
    ) -> Result<Option<String>> {
        match self.forge_issue(repo, issue) {
            true => Ok(None),
            false => self
                .tracker
                .session_tick(issue, run, now_secs, &[self.agent_login.as_str()]),
        }
    }
    fn react(&self, repo: &RepoName, on: Target, comment: i64, content: &str) -> Result<()> {
        self.forge.react(repo, on, comment, content)
    }
    fn update_branch(
        &self,
        repo: &RepoName,
        pr: PrNumber,
        style: UpdateStyle,
        expected_head_sha: &str,
        under_way: Option<&str>,
    ) -> Result<BranchUpdate> {
        self.forge
            .update_branch(repo, pr, style, expected_head_sha, under_way)
    }
}
