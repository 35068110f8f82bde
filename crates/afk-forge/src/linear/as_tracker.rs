//! Linear as the [`Tracker`] beside the forge: each answer through the
//! adapter's own reads and writes (mod.rs, writes.rs).

use super::Linear;
use crate::model::{Comment, Issue, TimelineEvent};
use crate::tracker::Tracker;
use crate::types::{IssueNumber, Permission};
use afk_wire::tracker::agent_session::Note;
use anyhow::Result;

impl Tracker for Linear {
    fn requests(&self) -> usize {
        Linear::requests(self)
    }
    fn diagnose(&self) -> Vec<crate::Diagnosis> {
        Linear::diagnose(self)
    }
    fn labelled(&self, label: &str) -> Result<Vec<Issue>> {
        let found = Linear::labelled(self, label)?;
        found.iter().map(|i| self.to_issue(i)).collect()
    }
    fn unplaced(&self, label: &str) -> Result<Vec<crate::Unplaced>> {
        Linear::unplaced(self, label)
    }
    fn issue(&self, id: IssueNumber) -> Result<Issue> {
        self.to_issue(&self.wire_issue(id)?)
    }
    fn timeline(&self, id: IssueNumber, me_login: &str) -> Result<Vec<TimelineEvent>> {
        Linear::timeline(self, id, me_login)
    }
    fn armer(&self, id: IssueNumber, login: &str, never: &[&str]) -> Result<Permission> {
        Linear::armer(self, id, login, never)
    }
    fn reference(&self, id: IssueNumber) -> Result<(String, String)> {
        let i = self.wire_issue(id)?;
        Ok((i.identifier.clone(), i.url.clone()))
    }
    fn blockers(&self, id: IssueNumber) -> Result<Vec<Issue>> {
        Linear::blockers(self, id)
    }
    fn own_comments(&self, id: IssueNumber, me_login: &str) -> Result<Vec<Comment>> {
        Linear::own_comments(self, id, me_login)
    }
    /// With `ready = "status"` the ready label is the issue's state, which
    /// only a person (or the move into done) changes, and with `ready =
    /// "delegate"` the delegation, which stays while afk works: nothing to
    /// take off.
    fn label(&self, id: IssueNumber, name: &str, add: bool) -> Result<()> {
        if !add && self.stands_for(name) {
            return Ok(());
        }
        Linear::label(self, id, name, add)
    }
    fn post_comment(&self, id: IssueNumber, body: &str, me_login: &str) -> Result<Comment> {
        Linear::post_comment(self, id, body, me_login)
    }
    fn edit_comment(
        &self,
        id: IssueNumber,
        comment: i64,
        body: &str,
        me_login: &str,
    ) -> Result<Comment> {
        Linear::edit_comment(self, id, comment, body, me_login)
    }
    fn complete(&self, id: IssueNumber) -> Result<()> {
        Linear::complete(self, id)
    }
    fn link_pull(&self, id: IssueNumber, url: &str, title: &str, merged: bool) -> Result<()> {
        self.attach(id, url, title, merged)
    }
    fn tell(&self, id: IssueNumber, note: &Note) -> Result<()> {
        Linear::tell(self, id, note)
    }
    fn make_labels(
        &self,
        wanted: &[(&str, &str)],
        dry_run: bool,
        new_id: &mut dyn FnMut() -> String,
    ) -> Vec<(String, Result<&'static str>)> {
        Linear::make_labels(self, wanted, dry_run, new_id)
    }
    fn gone(&self, e: &anyhow::Error) -> bool {
        format!("{e:#}").contains("Entity not found")
    }
    fn acknowledge(&self, session: &str) -> Result<()> {
        self.post_note(
            session,
            &afk_wire::tracker::agent_session::acknowledgement(),
            None,
        )
    }
    fn session_tick(
        &self,
        id: IssueNumber,
        run: u64,
        now_secs: i64,
        never: &[&str],
    ) -> Result<Option<String>> {
        Linear::session_tick(self, id, run, now_secs, never)
    }
}
