//! afk's writes on a Jira issue: its labels one by one, its own comments
//! (ADF it builds, marked by a comment property), the link to the PR, the
//! Done transition (docs/fidelity/jira-cloud.md).

use super::{Jira, PROPERTY, WireComment, split_marker};
use crate::http::{Failure, ForgeError};
use crate::model::Comment;
use crate::types::IssueNumber;
use afk_wire::tracker::adf;
use anyhow::{Result, anyhow};
use serde_json::{Value, json};

impl Jira {
    /// Add or remove one label (`PUT /rest/api/3/issue/{id}` with
    /// `update.labels` `add`/`remove` only: never `set`, which races with
    /// people). Jira makes a label on its first use.
    pub fn label(&self, id: IssueNumber, name: &str, add: bool) -> Result<()> {
        let op = if add { "add" } else { "remove" };
        self.http.send(
            "PUT",
            &format!("/rest/api/3/issue/{}", id.0),
            Some(&json!({"update": {"labels": [{ op: name }]}})),
        )?;
        self.issues.lock().unwrap().remove(&id.0);
        Ok(())
    }

    /// Post afk's comment: its first line, when it is a marker (`<!-- afk:… -->`),
    /// becomes the visible `afk · checklist` line afk finds it by, and the
    /// comment property `afk` too; the whole is ADF text.
    pub fn post_comment(&self, id: IssueNumber, body: &str, me_login: &str) -> Result<Comment> {
        let (marker, _) = split_marker(body);
        let mut req = json!({ "body": adf_of(body) });
        if let Some(m) = &marker {
            req["properties"] = json!([{ "key": PROPERTY, "value": { "marker": m } }]);
        }
        let c: WireComment = self.http.json(
            "POST",
            &format!("/rest/api/3/issue/{}/comment", id.0),
            Some(&req),
        )?;
        self.comment(id, c, me_login)
    }

    /// Edit afk's own comment `comment` (its marker line written again, its
    /// property left as it was).
    pub fn edit_comment(
        &self,
        id: IssueNumber,
        comment: i64,
        body: &str,
        me_login: &str,
    ) -> Result<Comment> {
        let c: WireComment = self.http.json(
            "PUT",
            &format!("/rest/api/3/issue/{}/comment/{comment}", id.0),
            Some(&json!({ "body": adf_of(body) })),
        )?;
        self.comment(id, c, me_login)
    }

    /// Move the issue into Done, once: nothing when its status category is
    /// Done already; else the transition `afk_wire::tracker::done` picks
    /// (`GET`, then `POST …/transitions` with the transition's id alone).
    /// None to pick, or a `400` (Jira's answer to a missing permission and
    /// to a transition screen's required field alike), is
    /// [`crate::CloseRefused`]: a person's to mend, never asked again; a
    /// `409` (a conflicting update) or no answer is an error the next tick
    /// tries again.
    pub fn complete(&self, id: IssueNumber) -> Result<()> {
        self.issues.lock().unwrap().remove(&id.0);
        let i = self.issue(id)?;
        if i.done()? {
            return Ok(());
        }
        let t: Value = self.http.json(
            "GET",
            &format!("/rest/api/3/issue/{}/transitions", id.0),
            None,
        )?;
        let list = t
            .get("transitions")
            .and_then(Value::as_array)
            .ok_or_else(|| anyhow!("jira: the transitions answer has no list"))?;
        let refused = |why: String| {
            anyhow::Error::new(crate::CloseRefused {
                issue: format!("jira: {}", i.key),
                why,
            })
        };
        let wanted = &self.setup.done_transition;
        let Some(pick) = afk_wire::tracker::done::jira_transition(list, wanted) else {
            return Err(refused(match wanted.is_empty() {
                true => "no transition into Done is available to afk's account: it needs the permission to transition issues, or set tracker.done_transition".into(),
                false => format!("no transition named \"{wanted}\" (tracker.done_transition) is available to afk's account: it needs the permission to transition issues, or name one it may make"),
            }));
        };
        let sent = self.http.send(
            "POST",
            &format!("/rest/api/3/issue/{}/transitions", id.0),
            Some(&json!({"transition": {"id": pick.id}})),
        );
        match sent {
            Err(e) if ForgeError::kind_of(&e) == Some(Failure::Other(400)) => {
                return Err(refused(format!(
                    "Jira refused the transition \"{}\" ({}): a field its screen requires, or the permission to transition issues ({e:#})",
                    pick.name, pick.id
                )));
            }
            Err(e) => {
                return Err(e.context(format!(
                    "jira: the transition \"{}\" of {} into Done",
                    pick.name, i.key
                )));
            }
            Ok(_) => {}
        }
        self.issues.lock().unwrap().remove(&id.0);
        Ok(())
    }

    /// Link the issue to its pull request (`POST
    /// /rest/api/3/issue/{id}/remotelink`): an upsert by `globalId`
    /// (`afk:<the PR's web address>`), so a repeat, or a write whose answer
    /// was lost, changes nothing; every write carries the whole link (Jira
    /// sets what a write leaves out to null), `resolved` once merged.
    pub fn remote_link(
        &self,
        id: IssueNumber,
        url: &str,
        title: &str,
        resolved: bool,
    ) -> Result<()> {
        let link = json!({
            "globalId": format!("afk:{url}"),
            "relationship": "pull request",
            "object": {
                "url": url,
                "title": title,
                "status": {"resolved": resolved},
            },
        });
        self.http.send(
            "POST",
            &format!("/rest/api/3/issue/{}/remotelink", id.0),
            Some(&link),
        )?;
        Ok(())
    }
}

/// A comment's ADF: its marker line visible (`afk_wire::tracker::marker`),
/// outside text fenced, cut to Jira's limit.
fn adf_of(body: &str) -> Value {
    use afk_wire::tracker::{TEXT_MAX, loud, marker, within};
    adf::from_markdown(&within(&loud::fenced(&marker::marker_out(body)), TEXT_MAX))
}
