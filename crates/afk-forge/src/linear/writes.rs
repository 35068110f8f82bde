//! afk's writes on a Linear issue: its labels one by one by id
//! (`issueAddLabel`/`issueRemoveLabel`, never a replacement of the whole
//! set), its own comments (`commentCreate`, `commentUpdate` with
//! `skipEditedAt`), the link to the PR (`attachmentCreate`, an upsert by
//! URL) and the move into done (`issueUpdate` with the state alone).

use super::{Linear, queries};
use crate::model::{Comment, User};
use crate::types::IssueNumber;
use afk_wire::tracker::linear as rules;
use afk_wire::tracker::loud;
use anyhow::{Result, anyhow};
use serde_json::{Value, json};

impl Linear {
    /// Add or remove one label by its id, read by name in the issue's team
    /// and the workspace (compared without case, as Linear's filter
    /// compares them); a label neither has is the issue's error naming it
    /// (afk makes them only through `afk init --create-labels`). Removing a label the issue does
    /// not carry sends nothing.
    pub fn label(&self, n: IssueNumber, name: &str, add: bool) -> Result<()> {
        let i = self.wire_issue(n)?;
        let m = self.label_map(&i.team.id)?;
        let ids: Vec<&String> = m
            .iter()
            .filter(|(_, l)| l.eq_ignore_ascii_case(name))
            .map(|(id, _)| id)
            .collect();
        let Some(first) = ids.first() else {
            return Err(anyhow!(
                "linear: {}: no label \"{name}\" in team {} or the workspace (afk init --create-labels makes afk's in the workspace)",
                i.identifier,
                i.team.key
            ));
        };
        let carried: Vec<&&String> = ids.iter().filter(|id| i.label_ids.contains(id)).collect();
        let (query, label) = match add {
            true if !carried.is_empty() => return Ok(()),
            true => (queries::ADD_LABEL, (*first).clone()),
            false => match carried.first() {
                None => return Ok(()),
                Some(id) => (queries::REMOVE_LABEL, (**id).clone()),
            },
        };
        self.write(
            if add {
                "issueAddLabel"
            } else {
                "issueRemoveLabel"
            },
            query,
            json!({"id": i.id, "label": label}),
        )?;
        self.forget(n);
        Ok(())
    }

    /// Make afk's labels in the workspace (`afk init --create-labels`):
    /// each wanted name the workspace's labels lack (compared without case,
    /// as afk finds a label) is created workspace-level, with the id
    /// `new_id` draws. A name every mapped team has as its own label
    /// exists; one only some have is an error, as Linear refuses a
    /// workspace label of a team label's name (docs/fidelity/linear.md). A
    /// create whose answer is lost or refused is looked for by that id in
    /// the workspace's labels read again, never sent twice. A dry run reads
    /// and makes nothing.
    pub fn make_labels(
        &self,
        wanted: &[(&str, &str)],
        dry_run: bool,
        new_id: &mut dyn FnMut() -> String,
    ) -> Vec<(String, Result<&'static str>)> {
        let (mut have, teams) = match self.label_names_now() {
            Ok(got) => got,
            Err(e) => {
                let line = format!("{e:#}");
                return wanted
                    .iter()
                    .map(|(n, _)| (n.to_string(), Err(anyhow!("{line}"))))
                    .collect();
            }
        };
        let mut out = vec![];
        for (name, colour) in wanted {
            let holders: Vec<&str> = (teams.iter())
                .filter(|(_, names)| names.iter().any(|h| h.eq_ignore_ascii_case(name)))
                .map(|(key, _)| key.as_str())
                .collect();
            let got = match (have.iter().any(|h| h.eq_ignore_ascii_case(name)), dry_run) {
                (true, _) => Ok("exists"),
                _ if !holders.is_empty() && holders.len() == teams.len() => Ok("exists"),
                _ if !holders.is_empty() => Err(anyhow!(
                    "linear: label \"{name}\" is team {}'s own and not every mapped team's, and Linear takes no workspace label of a team label's name",
                    holders.join(", ")
                )),
                (false, true) => Ok("would_create"),
                (false, false) => self.create_label(name, colour, &new_id()),
            };
            if got.is_ok() {
                have.push(name.to_string());
            }
            out.push((name.to_string(), got));
        }
        out
    }

    /// One workspace label by the id afk drew; after an error, the label is
    /// looked for by that id (the create may have landed).
    fn create_label(&self, name: &str, colour: &str, id: &str) -> Result<&'static str> {
        let input = json!({"id": id, "name": name, "color": format!("#{colour}")});
        let sent = self.write(
            "issueLabelCreate",
            queries::LABEL_CREATE,
            json!({ "input": input }),
        );
        match sent {
            Ok(_) => Ok("created"),
            Err(e) => match self.workspace_labels() {
                Ok(all) if all.iter().any(|l| l["id"] == id) => Ok("created"),
                _ => Err(e),
            },
        }
    }

    /// The workspace's label names, and each mapped team's own by its key
    /// (every page of each, read afresh); a mapped team afk's user cannot
    /// see is an error.
    #[allow(clippy::type_complexity)]
    fn label_names_now(&self) -> Result<(Vec<String>, Vec<(String, Vec<String>)>)> {
        let names = |all: Vec<Value>| -> Vec<String> {
            all.iter()
                .filter_map(|l| l["name"].as_str().map(str::to_string))
                .collect()
        };
        let mut teams = vec![];
        for (key, id) in self.mapped_teams()? {
            let id = id.ok_or_else(|| {
                anyhow!(
                    "linear: team {key} (tracker.map) is not there, or afk's user cannot see it"
                )
            })?;
            let own = self.all(
                "team.labels",
                queries::TEAM_LABELS,
                json!({ "team": id }),
                "/team/labels",
            )?;
            teams.push((key, names(own)));
        }
        Ok((names(self.workspace_labels()?), teams))
    }

    /// The workspace's labels (every page), read afresh.
    fn workspace_labels(&self) -> Result<Vec<Value>> {
        self.all(
            "organization.labels",
            queries::WORKSPACE_LABELS,
            json!({}),
            "/organization/labels",
        )
    }

    /// Drop this tick's read of issue `n` (a write changed it).
    fn forget(&self, n: IssueNumber) {
        self.issues.lock().unwrap().remove(&n.0);
    }

    /// afk's own comments on the issue (every page; others' are no concern
    /// of afk's: a tracker comment is never a command), written by
    /// `me_login`, each with its number (`comment_number`).
    pub fn own_comments(&self, n: IssueNumber, me_login: &str) -> Result<Vec<Comment>> {
        self.own_wire_comments(n)?
            .into_iter()
            .map(|c| self.comment(&c, me_login))
            .collect()
    }

    fn own_wire_comments(&self, n: IssueNumber) -> Result<Vec<Value>> {
        let i = self.wire_issue(n)?;
        let me = self.me()?;
        let all = self.all(
            "issue.comments",
            queries::COMMENTS,
            json!({"id": i.id}),
            "/issue/comments",
        )?;
        Ok(all
            .into_iter()
            .filter(|c| c["user"]["id"].as_str() == Some(me.id.as_str()))
            .collect())
    }

    fn comment(&self, c: &Value, me_login: &str) -> Result<Comment> {
        let id = c["id"].as_str().unwrap_or("");
        Ok(Comment {
            id: rules::event_id(id).map_err(|e| anyhow!("{e}"))?,
            body: rules::marker_in(c["body"].as_str().unwrap_or("")),
            html_url: String::new(),
            user: Some(User {
                id: 0,
                login: me_login.to_string(),
            }),
            created_at: c["createdAt"].as_str().map(str::to_string),
            updated_at: c["updatedAt"].as_str().map(str::to_string),
            node_id: None,
        })
    }

    /// Post afk's comment in Markdown, as afk wrote it.
    pub fn post_comment(&self, n: IssueNumber, body: &str, me_login: &str) -> Result<Comment> {
        let i = self.wire_issue(n)?;
        let p = self.write(
            "commentCreate",
            queries::COMMENT_CREATE,
            json!({"input": {"issueId": i.id, "body": afk_wire::tracker::within(&loud::fenced(&rules::marker_out(body)), afk_wire::tracker::TEXT_MAX)}}),
        )?;
        self.comment(&p["comment"], me_login)
    }

    /// Edit afk's own comment numbered `comment` (found again among afk's
    /// comments on the issue by its number; another's is never edited).
    pub fn edit_comment(
        &self,
        n: IssueNumber,
        comment: i64,
        body: &str,
        me_login: &str,
    ) -> Result<Comment> {
        let own = self.own_wire_comments(n)?;
        let id = own
            .iter()
            .filter_map(|c| c["id"].as_str())
            .find(|id| rules::event_id(id).ok() == Some(comment))
            .ok_or_else(|| {
                anyhow!(
                    "linear: afk has no comment numbered {comment} on issue {}",
                    n.0
                )
            })?
            .to_string();
        let p = self.write(
            "commentUpdate",
            queries::COMMENT_UPDATE,
            json!({"id": id, "input": {"body": afk_wire::tracker::within(&loud::fenced(&rules::marker_out(body)), afk_wire::tracker::TEXT_MAX)}}),
        )?;
        self.comment(&p["comment"], me_login)
    }

    /// Link the issue to its pull request: `attachmentCreate`, which
    /// updates the attachment of the same URL and issue, so a repeat (or a
    /// write whose answer was lost) changes nothing.
    pub fn attach(&self, n: IssueNumber, url: &str, title: &str, merged: bool) -> Result<()> {
        let i = self.wire_issue(n)?;
        let subtitle = if merged { "merged" } else { "open" };
        self.write(
            "attachmentCreate",
            queries::ATTACH,
            json!({"input": {"issueId": i.id, "url": url, "title": title, "subtitle": subtitle}}),
        )?;
        Ok(())
    }

    /// Move the issue into done, once: nothing when its state is finished
    /// already; else the state named `done_state` in its team, or the
    /// team's `completed` state of lowest position. No such state is
    /// [`crate::CloseRefused`]: a person's to mend, never asked again.
    pub fn complete(&self, n: IssueNumber) -> Result<()> {
        self.forget(n);
        let i = self.wire_issue(n)?;
        if i.done() {
            return Ok(());
        }
        let states = self.states(&i.team.id)?;
        let want = &self.setup.done_state;
        let target = match want.is_empty() {
            false => states.iter().find(|s| s.name.eq_ignore_ascii_case(want)),
            true => states
                .iter()
                .filter(|s| s.kind == "completed")
                .min_by(|a, b| {
                    a.position
                        .unwrap_or(0.0)
                        .total_cmp(&b.position.unwrap_or(0.0))
                }),
        }
        .ok_or_else(|| {
            anyhow::Error::new(crate::CloseRefused {
                issue: format!("linear: {}", i.identifier),
                why: match want.is_empty() {
                    true => format!("team {} has no completed state", i.team.key),
                    false => format!(
                        "team {} has no state named \"{want}\" (tracker.done_state)",
                        i.team.key
                    ),
                },
            })
        })?;
        self.write(
            "issueUpdate",
            queries::SET_STATE,
            json!({"id": i.id, "input": {"stateId": target.id}}),
        )?;
        self.forget(n);
        Ok(())
    }
}
