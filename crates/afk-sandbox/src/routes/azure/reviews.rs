//! The shared admin API's reviews (`/_admin/review`, `/reply`, `/resolve`,
//! `/dismiss`) as Azure DevOps keeps them: it has no review object, only
//! the reviewer's vote and the threads people write. An approval is a vote
//! of 10, a change request −5 (or the vote the state names: `"-10"`), a
//! comment no vote; the body a thread of its own (active on a change
//! request, a plain comment otherwise); each line comment a thread on its
//! file's line, active, as the web UI starts one (a line comment naming
//! another `user`: their reply in the review's last thread). A pending
//! review shows nothing: Azure DevOps has no drafts that others can read.

use crate::model::Forge;
use crate::model::azure::ReviewShown as Shown;
use serde_json::{Value, json};

/// A review's words: its body and its line comments `(path, line, body,
/// another user)`.
pub(crate) type Words<'a> = (&'a str, &'a [(String, u64, String, Option<String>)]);

impl Forge {
    /// Review `rid` of `(repo, number)` by `user`: its vote (`vote`, none for
    /// a comment), its threads; each line comment's thread id, in order.
    pub(crate) fn az_review(
        &mut self,
        (repo, number, rid): (&str, u64, i64),
        (vote, changes, pending): (Option<i64>, bool, bool),
        user: &str,
        (body, lines): Words,
    ) -> Result<Vec<i64>, String> {
        self.az_sync();
        let pr =
            (self.az.pr_of(repo, number)).ok_or(format!("no pull request for {repo}!{number}"))?;
        let by = self.az.ensure(user);
        let mut shown = Shown {
            pr,
            by: by.clone(),
            ..Shown::default()
        };
        let mut ids = vec![];
        if pending {
            self.az.reviews.insert(rid, shown);
            return Ok(lines.iter().map(|_| self.id()).collect());
        }
        if !body.trim().is_empty() {
            let status = changes.then_some("active");
            let t = self.az_new_thread(pr, &by, body, status, Value::Null, "text");
            self.az_comment_event(pr, t, 1);
            shown.threads.push(t);
        }
        for (path, line, text, other) in lines {
            let t = match (other, shown.threads.last()) {
                (Some(who), Some(&last)) => {
                    let who = self.az.ensure(who);
                    let c = super::threads::add_reply(self, last, &who, text, 1);
                    self.az_comment_event(pr, last, c);
                    last
                }
                _ => {
                    let who = match other {
                        Some(o) => self.az.ensure(o),
                        None => by.clone(),
                    };
                    let context = json!({
                        "filePath": format!("/{}", path.trim_start_matches('/')),
                        "rightFileStart": {"line": line, "offset": 1},
                        "rightFileEnd": {"line": line, "offset": 1},
                    });
                    let t = self.az_new_thread(pr, &who, text, Some("active"), context, "text");
                    self.az_comment_event(pr, t, 1);
                    shown.threads.push(t);
                    shown.line_thread.get_or_insert(t);
                    t
                }
            };
            ids.push(t as i64);
        }
        if let Some(v) = vote {
            super::threads::vote(self, pr, &by, v, true)?;
            self.az_pr_updated(pr);
        }
        self.az.reviews.insert(rid, shown);
        Ok(ids)
    }

    /// `user`'s reply in the thread of review `rid`'s first line comment:
    /// the thread's id.
    pub(crate) fn az_review_reply(
        &mut self,
        rid: i64,
        user: &str,
        text: &str,
    ) -> Result<u64, String> {
        let r = self.az.reviews.get(&rid).ok_or("no such review")?;
        let (pr, t) = (
            r.pr,
            r.line_thread
                .ok_or("the review has no line comment to reply to")?,
        );
        let by = self.az.ensure(user);
        let c = super::threads::add_reply(self, t, &by, text, 1);
        self.az_comment_event(pr, t, c);
        Ok(t)
    }

    /// The thread of review `rid`'s first line comment resolved (`fixed`)
    /// or active again.
    pub(crate) fn az_review_resolve(&mut self, rid: i64, resolved: bool) -> Result<(), String> {
        let r = self.az.reviews.get(&rid).ok_or("no such review")?;
        let t = r.line_thread.ok_or("the review has no thread")?;
        let at = super::now(self);
        if let Some(th) = self.az.threads.get_mut(&t) {
            th.status = Some(if resolved { "fixed" } else { "active" }.into());
            th.updated = at;
        }
        Ok(())
    }

    /// Review `rid` dismissed as Azure DevOps can: its reviewer's vote reset
    /// (as a push resets votes under the branch policy "reset code reviewer
    /// votes when there are new changes") and its threads closed.
    pub(crate) fn az_review_dismiss(&mut self, rid: i64) -> Result<(), String> {
        let r = self.az.reviews.get(&rid).cloned().ok_or("no such review")?;
        let at = super::now(self);
        for t in &r.threads {
            if let Some(th) = self.az.threads.get_mut(t) {
                th.status = Some("closed".into());
                th.updated = at.clone();
            }
        }
        if self
            .az
            .prs
            .get(&r.pr)
            .is_some_and(|p| p.votes.get(&r.by).is_some_and(|v| *v != 0))
        {
            super::threads::vote(self, r.pr, &r.by, 0, true)?;
            self.az_pr_updated(r.pr);
        }
        Ok(())
    }
}
