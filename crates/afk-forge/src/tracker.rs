//! A tracker beside the forge (docs/trackers.md): what the issue side of a
//! [`Tracked`](crate::tracked::Tracked) forge asks of Jira (and of Linear
//! next), one trait so poll and watch read either through the same forge
//! traits. An issue is named by the tracker's stable id as afk's number.

use crate::model::{Comment, Issue, TimelineEvent};
use crate::types::{IssueNumber, Permission};
use afk_wire::tracker::agent_session::Note;
use anyhow::Result;

/// The tracker's reads and writes of its own issues. Each method answers
/// for one issue by its stable id, as this tick read it.
pub trait Tracker: Send + Sync {
    /// The requests made to the tracker this tick.
    fn requests(&self) -> usize;
    /// Doctor's tracker lines.
    fn diagnose(&self) -> Vec<crate::Diagnosis>;
    /// The mapped issues carrying `label` (its ready rule's reading of it)
    /// that are not done, each with the repository the map sends it to
    /// (None: unmapped or ambiguous).
    fn labelled(&self, label: &str) -> Result<Vec<Issue>>;
    /// The issues carrying `label` that the map sends to no repository or
    /// to several: worked on nowhere, never one picked.
    fn unplaced(&self, label: &str) -> Result<Vec<crate::Unplaced>>;
    /// One issue in afk's shape, its repository the map's.
    fn issue(&self, id: IssueNumber) -> Result<Issue>;
    /// The issue's history as afk's timeline, afk's own account written as
    /// `me_login`.
    fn timeline(&self, id: IssueNumber, me_login: &str) -> Result<Vec<TimelineEvent>>;
    /// The tracker's own trust rule on the account `login`; the accounts
    /// in `never` are never trusted.
    fn armer(&self, id: IssueNumber, login: &str, never: &[&str]) -> Result<Permission>;
    /// The issue's key and web address.
    fn reference(&self, id: IssueNumber) -> Result<(String, String)>;
    /// How many nodes of the issue's description afk did not know and
    /// wrote as `[<type>]` with their text (Jira's ADF; none elsewhere).
    fn unknown_nodes(&self, id: IssueNumber) -> Result<usize> {
        let _ = id;
        Ok(0)
    }
    /// The issues blocking this one, each named by its key.
    fn blockers(&self, id: IssueNumber) -> Result<Vec<Issue>>;
    /// afk's own comments on the issue, each written by `me_login`.
    fn own_comments(&self, id: IssueNumber, me_login: &str) -> Result<Vec<Comment>>;
    /// Add or remove one of afk's labels (a label the tracker reads from
    /// something else, as the ready status, is not removed).
    fn label(&self, id: IssueNumber, name: &str, add: bool) -> Result<()>;
    fn post_comment(&self, id: IssueNumber, body: &str, me_login: &str) -> Result<Comment>;
    fn edit_comment(
        &self,
        id: IssueNumber,
        comment: i64,
        body: &str,
        me_login: &str,
    ) -> Result<Comment>;
    /// Move the issue into done, once.
    fn complete(&self, id: IssueNumber) -> Result<()>;
    /// Link the pull request at `url` from the issue (an upsert).
    fn link_pull(&self, id: IssueNumber, url: &str, title: &str, merged: bool) -> Result<()>;
    /// Say a step of the issue's run where the tracker shows an agent's
    /// work (Linear's agent session: docs/trackers.md#linears-agents-api),
    /// once per note's key; nothing where it shows none.
    fn tell(&self, id: IssueNumber, note: &Note) -> Result<()> {
        let _ = (id, note);
        Ok(())
    }
    /// Make afk's labels where the tracker keeps them (`afk init
    /// --create-labels`), each wanted name with what was done: `exists`,
    /// `created`, `would_create` (a dry run) or `made_on_first_use` (Jira,
    /// this default: a label is made the first time one is added, so there
    /// is nothing to make and nothing is sent).
    fn make_labels(
        &self,
        wanted: &[(&str, &str)],
        dry_run: bool,
        new_id: &mut dyn FnMut() -> String,
    ) -> Vec<(String, Result<&'static str>)> {
        let _ = (dry_run, new_id);
        made_on_first_use(wanted)
    }
    /// Whether `e`, an answer to a read of one issue, says the issue is not
    /// there (deleted, or out of afk's sight): Jira's 404, Linear's
    /// "Entity not found".
    fn gone(&self, e: &anyhow::Error) -> bool {
        let _ = e;
        false
    }
    /// Acknowledge agent session `session` the moment its delegation is
    /// heard (Linear's first thought; nothing where the tracker has no
    /// sessions).
    fn acknowledge(&self, session: &str) -> Result<()> {
        let _ = session;
        Ok(())
    }
    /// A watch tick's look at that place while run `run` is in flight:
    /// people's words there answered (afk takes instructions on the pull
    /// request), kept from going stale, and who stopped the run there (a
    /// person the tracker trusts; never the accounts in `never`).
    fn session_tick(
        &self,
        id: IssueNumber,
        run: u64,
        now_secs: i64,
        never: &[&str],
    ) -> Result<Option<String>> {
        let _ = (id, run, now_secs, never);
        Ok(None)
    }
}

/// Each wanted label made the first time afk adds one (Jira's labels):
/// nothing to make, and nothing sent.
pub fn made_on_first_use(wanted: &[(&str, &str)]) -> Vec<(String, Result<&'static str>)> {
    wanted
        .iter()
        .map(|(n, _)| (n.to_string(), Ok("made_on_first_use")))
        .collect()
}
