//! Jira as the [`Tracker`] beside the forge: each answer through the
//! adapter's own reads and writes (mod.rs, trust.rs, writes.rs).

use super::Jira;
use crate::model::{Comment, Issue, TimelineEvent};
use crate::tracker::Tracker;
use crate::types::{IssueNumber, Permission};
use anyhow::Result;

impl Tracker for Jira {
    fn requests(&self) -> usize {
        Jira::requests(self)
    }
    fn diagnose(&self) -> Vec<crate::Diagnosis> {
        Jira::diagnose(self)
    }
    fn labelled(&self, label: &str) -> Result<Vec<Issue>> {
        let found = Jira::labelled(self, label)?;
        found.iter().map(|i| self.to_issue(i)).collect()
    }
    fn unplaced(&self, label: &str) -> Result<Vec<crate::Unplaced>> {
        Jira::unplaced(self, label)
    }
    fn issue(&self, id: IssueNumber) -> Result<Issue> {
        self.to_issue(&Jira::issue(self, id)?)
    }
    fn timeline(&self, id: IssueNumber, me_login: &str) -> Result<Vec<TimelineEvent>> {
        Jira::timeline(self, id, me_login)
    }
    fn armer(&self, id: IssueNumber, login: &str, never: &[&str]) -> Result<Permission> {
        Jira::armer(self, id, login, never)
    }
    fn reference(&self, id: IssueNumber) -> Result<(String, String)> {
        let i = Jira::issue(self, id)?;
        Ok((i.key.clone(), self.web_url(&i.key)))
    }
    fn unknown_nodes(&self, id: IssueNumber) -> Result<usize> {
        let i = Jira::issue(self, id)?;
        let text = afk_wire::tracker::adf::to_text(&i.fields.description)
            .map_err(|e| anyhow::anyhow!("jira: {}: {e}", i.key))?;
        Ok(text.unknown)
    }
    fn blockers(&self, id: IssueNumber) -> Result<Vec<Issue>> {
        Jira::blockers(self, id)
    }
    fn own_comments(&self, id: IssueNumber, me_login: &str) -> Result<Vec<Comment>> {
        Jira::own_comments(self, id, me_login)
    }
    /// With `ready = "status"` the ready label is the issue's status, which
    /// only a person (or the Done move) changes: nothing to take off.
    fn label(&self, id: IssueNumber, name: &str, add: bool) -> Result<()> {
        if !add && self.ready_status_of(name).is_some() {
            return Ok(());
        }
        Jira::label(self, id, name, add)
    }
    fn post_comment(&self, id: IssueNumber, body: &str, me_login: &str) -> Result<Comment> {
        Jira::post_comment(self, id, body, me_login)
    }
    fn edit_comment(
        &self,
        id: IssueNumber,
        comment: i64,
        body: &str,
        me_login: &str,
    ) -> Result<Comment> {
        Jira::edit_comment(self, id, comment, body, me_login)
    }
    fn complete(&self, id: IssueNumber) -> Result<()> {
        Jira::complete(self, id)
    }
    fn link_pull(&self, id: IssueNumber, url: &str, title: &str, merged: bool) -> Result<()> {
        self.remote_link(id, url, title, merged)
    }
    fn gone(&self, e: &anyhow::Error) -> bool {
        Jira::gone(e)
    }
}
