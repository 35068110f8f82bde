// One file: the forge's outgoing webhooks (~1000 lines: each dialect's events, headers and signatures, one delivery's path) and their tests, kept beside them as everywhere in the sandbox.
//! The forge's outgoing webhooks (docs/sandbox.md#webhooks): with a URL
//! set (`afk sandbox --hook-url`, a seed's `hook_url`, `/_admin/webhook`),
//! what happens on the forge — an issue or PR labelled or unlabelled,
//! opened, closed or reopened, a comment, a review, a reply in a review's
//! thread, a commit status, a check run, a push — is posted there as the
//! dialect's signed delivery, in its shape and headers: Gitea
//! `X-Gitea-Event` (the event's family) and `X-Gitea-Event-Type` (its
//! type)/`X-Gitea-Delivery`/`X-Gitea-Signature` (hex HMAC-SHA256 of the
//! body), GitHub
//! `X-GitHub-Event`/`X-GitHub-Delivery`/`X-Hub-Signature-256`
//! (`sha256=`…), GitLab `X-Gitlab-Event`/`X-Gitlab-Event-UUID`/
//! `X-Gitlab-Token` (the secret itself).
//!
//! What happened is found two ways: a request that may change the forge is
//! served between a [`Before`] and [`Forge::webhook_changes`] (every new
//! thing takes an id from the one sequence, so "new" is "an id past the
//! last one before"; a state is compared), and the changes that also come
//! from the sandbox's own threads (a CI's statuses, a push over git) are
//! sent where they happen. Deliveries go out from one sender thread through
//! a bounded queue, so no answer of the forge waits for them; one that
//! fails, or finds the queue full, is logged and dropped, as a forge drops
//! a delivery it could not make. `/_admin/webhooks` lists them.

use super::model::Forge;
pub(crate) use super::model::outbox::{Delivery, Event, Outbox};
use super::model::talk::Verdict;
use super::routes::Dialect;
use serde_json::{Value, json};
use std::collections::{BTreeMap, VecDeque};
use std::io::{Read, Write};
use std::sync::mpsc::{Receiver, TrySendError, sync_channel};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How many deliveries may wait for the sender; more are dropped.
const QUEUE: usize = 256;
/// How many deliveries `/_admin/webhooks` keeps (the newest).
const KEPT: usize = 1000;

/// The forge as it was before a request: the last id handed out and each
/// issue's and PR's state.
pub(crate) struct Before {
    last_id: i64,
    states: BTreeMap<(String, u64), (String, bool)>,
}

impl Outbox {
    /// Deliveries are being sent.
    pub(crate) fn on(&self) -> bool {
        self.url.is_some()
    }

    /// Send to `url` (None: stop), signed with `secret`; the sender thread
    /// starts with the first URL.
    pub(crate) fn set(
        &mut self,
        url: Option<String>,
        secret: Option<String>,
    ) -> Result<(), String> {
        if let Some(u) = &url {
            parse_url(u)?;
        }
        if let Some(s) = secret {
            self.secret = s;
        }
        if url.is_some() && self.secret.is_empty() {
            self.secret = super::draw_token("hook");
        }
        if url.is_some() && self.tx.is_none() {
            let (tx, rx) = sync_channel(QUEUE);
            let sent = self.sent.clone();
            std::thread::spawn(move || sender(rx, sent));
            self.tx = Some(tx);
        }
        self.url = url;
        Ok(())
    }

    /// The secret deliveries are signed with ("" when none is set yet).
    pub(crate) fn secret(&self) -> &str {
        &self.secret
    }

    /// The URL deliveries go to.
    pub(crate) fn url(&self) -> Option<&str> {
        self.url.as_deref()
    }

    pub(crate) fn queue(
        &self,
        event: String,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
        id: String,
    ) {
        let (Some(url), Some(tx)) = (&self.url, &self.tx) else {
            return;
        };
        let d = Delivery {
            url: url.clone(),
            event,
            id,
            headers,
            body,
        };
        if let Err(TrySendError::Full(d) | TrySendError::Disconnected(d)) = tx.try_send(d) {
            eprintln!(
                "sandbox: webhook {} ({}) dropped: the queue is full",
                d.event, d.id
            );
            keep(
                &self.sent,
                json!({"event": d.event, "delivery": d.id, "error": "queue full"}),
            );
        }
    }
}

impl Forge {
    /// What a request is compared with afterwards (None: no webhooks sent).
    pub(crate) fn webhook_before(&self) -> Option<Before> {
        self.outbox.on().then(|| Before {
            last_id: self.last_id(),
            states: self
                .repos
                .iter()
                .flat_map(|(name, r)| {
                    r.issues
                        .values()
                        .map(move |i| ((name.clone(), i.number), (i.state.clone(), i.merged)))
                })
                .collect(),
        })
    }

    /// What changed since `before`, sent.
    pub(crate) fn webhook_changes(&mut self, before: Before) {
        let new = |id: i64| id > before.last_id;
        let mut events = vec![];
        for (name, r) in &self.repos {
            for i in r.issues.values() {
                let action = match before.states.get(&(name.clone(), i.number)) {
                    _ if new(i.id) => Some("opened"),
                    None => None,
                    Some((state, merged)) if *state != i.state || *merged != i.merged => {
                        Some(if i.state == "open" {
                            "reopened"
                        } else {
                            "closed"
                        })
                    }
                    Some(_) => None,
                };
                if let Some(action) = action {
                    events.push(Event::State {
                        repo: name.clone(),
                        number: i.number,
                        action,
                    });
                }
                for ev in i.timeline.iter().filter(|e| new(e.id)) {
                    events.push(Event::Labeled {
                        repo: name.clone(),
                        number: i.number,
                        label: ev.name.clone(),
                        added: ev.added,
                        by: ev.by.clone(),
                    });
                }
            }
        }
        for c in self.comments.values().filter(|c| new(c.id)) {
            events.push(Event::Comment {
                repo: c.repo.clone(),
                number: c.issue,
                id: c.id,
                edited: false,
            });
        }
        for (note, list) in &self.talk.reactions {
            let Some(c) = self.comments.get(note) else {
                continue;
            };
            for a in list.iter().filter(|a| new(a.id)) {
                events.push(Event::Award {
                    repo: c.repo.clone(),
                    number: c.issue,
                    note: *note,
                    id: a.id,
                });
            }
        }
        for id in std::mem::take(&mut self.outbox.edited) {
            if let Some(c) = self.comments.get(&id).filter(|c| !new(c.id)) {
                events.push(Event::Comment {
                    repo: c.repo.clone(),
                    number: c.issue,
                    id,
                    edited: true,
                });
            }
        }
        for r in self.talk.reviews.values() {
            if new(r.id) && r.verdict != Verdict::Pending {
                events.push(Event::Review {
                    repo: r.repo.clone(),
                    number: r.pr,
                    id: r.id,
                });
                // GitHub delivers each line comment a review creates (a
                // reply in a thread among them) as well as the review
                for c in &r.comments {
                    events.push(Event::LineComment {
                        repo: r.repo.clone(),
                        number: r.pr,
                        review: r.id,
                        id: c.id,
                    });
                }
            }
            // a line comment new under a review submitted before: a reply
            // in its thread, which Gitea keeps under the replied review
            // (a new review's own line comments go with its delivery)
            if !new(r.id) && r.verdict != Verdict::Pending {
                for c in r.comments.iter().filter(|c| new(c.id)) {
                    events.push(Event::ThreadReply {
                        repo: r.repo.clone(),
                        number: r.pr,
                        review: r.id,
                        id: c.id,
                    });
                }
            }
        }
        for e in events {
            self.webhook(e);
        }
    }

    /// The repository's webhooks as the forge lists them (`GET …/hooks`):
    /// none, or the one the sandbox posts to; GitLab's shape with `gitlab`.
    pub(crate) fn hooks_listed(&self, gitlab: bool) -> Value {
        let Some(url) = self.outbox.url() else {
            return json!([]);
        };
        if gitlab {
            // `lib/api/entities/project_hook.rb`: one flag per event, and
            // the hook's `alert_status` (`executable` until GitLab disables it)
            json!([{"id": 1, "url": url, "issues_events": true, "note_events": true,
                    "confidential_note_events": true, "merge_requests_events": true,
                    "pipeline_events": true, "push_events": true, "emoji_events": true,
                    "alert_status": self.gl.hook_alert.as_deref().unwrap_or("executable"),
                    "disabled_until": null}])
        } else {
            json!([{"id": 1, "type": "gitea", "active": true,
                    "events": ["issues", "issue_comment", "pull_request", "status", "push"],
                    "config": {"url": url, "content_type": "json"}}])
        }
    }

    /// Send `event` as this sandbox's dialect delivers it.
    pub(crate) fn webhook(&mut self, event: Event) {
        if !self.outbox.on() {
            return;
        }
        let dialect = Dialect::parse(self.outbox.dialect).unwrap_or_default();
        if dialect == Dialect::AzureDevops {
            // service hooks, in `routes::azure::hooks`
            self.az_webhook(&event);
            return;
        }
        let Some((kind, body)) = self.payload(dialect, &event) else {
            return;
        };
        // Gitea names the family in its event header and the type beside it
        let name = match dialect {
            Dialect::Gitea => gitea_event(&kind).to_string(),
            Dialect::Github | Dialect::Gitlab | Dialect::AzureDevops => kind.clone(),
        };
        let body = serde_json::to_vec(&body).unwrap_or_default();
        let id = uuid();
        let headers = signed(
            dialect,
            (name.as_str(), kind.as_str()),
            &id,
            &body,
            self.outbox.secret(),
        );
        self.outbox.queue(name, headers, body, id);
    }

    fn repo_json(&self, dialect: Dialect, full: &str) -> Value {
        let id = self.repos.get(full).map_or(0, |r| r.id);
        let (owner, name) = full.rsplit_once('/').unwrap_or(("", full));
        let url = format!("{}/{full}", self.base);
        match dialect {
            Dialect::Gitlab => json!({"id": id, "name": name, "path_with_namespace": full,
                "namespace": owner, "web_url": url}),
            Dialect::Gitea | Dialect::Github | Dialect::AzureDevops => {
                json!({"id": id, "name": name, "full_name": full, "owner": {"login": owner},
                "private": self.repos.get(full).is_some_and(|r| r.private), "html_url": url})
            }
        }
    }

    /// An issue or PR as a delivery shows it: number, title, state, labels.
    fn item_json(&self, dialect: Dialect, full: &str, number: u64) -> (Value, bool) {
        let Some((r, i)) = self
            .repos
            .get(full)
            .and_then(|r| r.issues.get(&number).map(|i| (r, i)))
        else {
            return (json!({"number": number}), false);
        };
        let labels: Vec<&str> = i
            .labels
            .iter()
            .filter_map(|l| {
                r.labels
                    .iter()
                    .find(|(id, _)| id == l)
                    .map(|(_, n)| n.as_str())
            })
            .collect();
        let shown = Forge::shown(number);
        // as the forges do, the item's time of change: no two events carry
        // the same body (afk takes one body delivered twice for a replay)
        let updated = time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        let mut v = match dialect {
            Dialect::Gitlab => json!({"id": i.id, "iid": shown, "title": i.title,
                "state": if i.state == "open" { "opened" } else if i.merged { "merged" } else { "closed" },
                "labels": labels.iter().map(|n| json!({"title": n})).collect::<Vec<_>>()}),
            Dialect::Gitea | Dialect::Github | Dialect::AzureDevops => {
                let mut v = json!({"id": i.id, "number": number, "title": i.title,
                    "state": i.state, "user": {"login": i.author},
                    "labels": labels.iter().map(|n| json!({"name": n})).collect::<Vec<_>>(),
                    "html_url": format!("{}/{full}/{}/{number}", self.base,
                        if i.pull { "pulls" } else { "issues" })});
                if i.pull {
                    v["merged"] = json!(i.merged);
                    v["head"] = json!({"ref": i.head, "sha": self.head_sha(full, i)});
                    v["base"] = json!({"ref": i.base});
                }
                v
            }
        };
        v["updated_at"] = json!(updated);
        (v, i.pull)
    }

    /// The event's name and body in `dialect`; None for what this dialect
    /// sends no webhook for. The name is GitHub's and GitLab's event
    /// header, and Gitea's event type (`X-Gitea-Event-Type`, a
    /// `HookEventType` of Gitea's modules/webhook/type.go), whose family is
    /// its `X-Gitea-Event` ([`gitea_event`]).
    fn payload(&self, dialect: Dialect, event: &Event) -> Option<(String, Value)> {
        let repo_of = |e: &Event| match e {
            Event::Labeled { repo, .. }
            | Event::State { repo, .. }
            | Event::Comment { repo, .. }
            | Event::Award { repo, .. }
            | Event::Review { repo, .. }
            | Event::ThreadReply { repo, .. }
            | Event::LineComment { repo, .. }
            | Event::Status { repo, .. }
            | Event::CheckRun { repo, .. }
            | Event::Push { repo, .. } => repo.clone(),
        };
        let full = repo_of(event);
        let repository = self.repo_json(dialect, &full);
        let gl = match dialect {
            Dialect::Gitlab => true,
            Dialect::Gitea | Dialect::Github | Dialect::AzureDevops => false,
        };
        let (name, mut body): (&str, Value) = match event {
            Event::Labeled {
                number,
                label,
                added,
                by,
                ..
            } => self.labeled_payload(dialect, &full, *number, label, *added, by),
            Event::State { number, action, .. } => {
                self.state_payload(dialect, &full, *number, action)
            }
            Event::Comment {
                number, id, edited, ..
            } => self.comment_payload(dialect, &full, *number, *id, *edited)?,
            Event::Award {
                number, note, id, ..
            } => match dialect {
                Dialect::Gitlab => self.award_payload(dialect, &full, *number, *note, *id)?,
                // Gitea and GitHub deliver no reaction; Azure DevOps' likes
                // are not events
                Dialect::Gitea | Dialect::Github | Dialect::AzureDevops => return None,
            },
            Event::Review { number, id, .. } => {
                self.review_payload(dialect, &full, *number, *id)?
            }
            Event::ThreadReply {
                number, review, id, ..
            } => self.thread_reply_payload(dialect, &full, *number, *review, *id)?,
            Event::LineComment {
                number, review, id, ..
            } => match dialect {
                Dialect::Github => {
                    self.thread_reply_payload(dialect, &full, *number, *review, *id)?
                }
                // Gitea: a review's line comments go with its delivery;
                // GitLab: they are notes, delivered as notes
                Dialect::Gitea | Dialect::Gitlab | Dialect::AzureDevops => return None,
            },
            Event::Status {
                sha,
                state,
                context,
                ..
            } => self.status_payload(dialect, sha, state, context),
            Event::CheckRun {
                sha,
                name,
                conclusion,
                ..
            } => self.check_run_payload(dialect, sha, name, conclusion.as_deref())?,
            Event::Push {
                branch,
                before,
                after,
                ..
            } => self.push_payload(dialect, branch, before, after),
        };
        body[if gl { "project" } else { "repository" }] = repository;
        Some((name.to_string(), body))
    }

    /// The sandbox's own account as a delivery's sender or user.
    fn me_json(&self) -> Value {
        json!({"login": self.me, "username": self.me})
    }

    /// A label added to or removed from an issue or PR, as `by` did.
    fn labeled_payload(
        &self,
        dialect: Dialect,
        full: &str,
        number: u64,
        label: &str,
        added: bool,
        by: &str,
    ) -> (&'static str, Value) {
        let (item, pull) = self.item_json(dialect, full, number);
        let sender = json!({"login": by, "username": by});
        match dialect {
            Dialect::Gitea => {
                let key = if pull { "pull_request" } else { "issue" };
                let mut b = json!({"action": "label_updated", "number": number,
                    "label": {"name": label}, "sender": sender});
                b[key] = item;
                // services/webhook/notifier.go, IssueChangeLabels: the
                // types of the `pull_request` and `issues` families
                (
                    if pull {
                        "pull_request_label"
                    } else {
                        "issue_label"
                    },
                    b,
                )
            }
            Dialect::Github | Dialect::AzureDevops => {
                let key = if pull { "pull_request" } else { "issue" };
                let action = if added { "labeled" } else { "unlabeled" };
                let mut b = json!({"action": action, "label": {"name": label}, "sender": sender});
                b[key] = item;
                (if pull { "pull_request" } else { "issues" }, b)
            }
            Dialect::Gitlab => {
                let kind = if pull { "merge_request" } else { "issue" };
                let mut attrs = item.clone();
                attrs["action"] = json!("update");
                let b = json!({"object_kind": kind, "event_type": kind, "user": sender,
                    "object_attributes": attrs, "labels": item["labels"],
                    "changes": {"labels": {"label": label, "added": added}}});
                (
                    if pull {
                        "Merge Request Hook"
                    } else {
                        "Issue Hook"
                    },
                    b,
                )
            }
        }
    }

    /// An issue or PR opened, closed, reopened (or, on GitLab, merged).
    fn state_payload(
        &self,
        dialect: Dialect,
        full: &str,
        number: u64,
        action: &str,
    ) -> (&'static str, Value) {
        let (item, pull) = self.item_json(dialect, full, number);
        let me = self.me_json();
        match dialect {
            Dialect::Gitlab => {
                let kind = if pull { "merge_request" } else { "issue" };
                let word = match action {
                    "opened" => "open",
                    "reopened" => "reopen",
                    _ if item["state"] == "merged" => "merge",
                    _ => "close",
                };
                let mut attrs = item;
                attrs["action"] = json!(word);
                let b = json!({"object_kind": kind, "event_type": kind, "user": me,
                    "object_attributes": attrs});
                (
                    if pull {
                        "Merge Request Hook"
                    } else {
                        "Issue Hook"
                    },
                    b,
                )
            }
            Dialect::Gitea | Dialect::Github | Dialect::AzureDevops => {
                let key = if pull { "pull_request" } else { "issue" };
                let mut b = json!({"action": action, "number": number, "sender": me});
                b[key] = item;
                (if pull { "pull_request" } else { "issues" }, b)
            }
        }
    }

    /// GitLab's `Emoji Hook` for award `id` on note `note` of item `number`
    /// (doc/user/project/integrations/webhook_events.md, "Emoji events"):
    /// `object_kind: emoji`, the award as `object_attributes` (`awardable_type:
    /// Note`), the note and its issue or merge request; None when the note
    /// or the award is gone.
    fn award_payload(
        &self,
        dialect: Dialect,
        full: &str,
        number: u64,
        note: i64,
        id: i64,
    ) -> Option<(&'static str, Value)> {
        let (item, pull) = self.item_json(dialect, full, number);
        let c = self.comments.get(&note)?;
        let a = self
            .talk
            .reactions
            .get(&note)?
            .iter()
            .find(|a| a.id == id)?;
        let user = json!({"login": a.user, "username": a.user});
        let mut b = json!({"object_kind": "emoji", "event_type": "award", "user": user,
            "object_attributes": {"id": id, "name": a.content, "awardable_type": "Note",
                "awardable_id": note, "created_at": a.at, "updated_at": a.at, "action": "award"},
            "note": {"id": note, "note": c.body, "noteable_type": if pull { "MergeRequest" } else { "Issue" }}});
        b[if pull { "merge_request" } else { "issue" }] = item;
        Some(("Emoji Hook", b))
    }

    /// A comment on an issue or PR; None when the comment is gone.
    fn comment_payload(
        &self,
        dialect: Dialect,
        full: &str,
        number: u64,
        id: i64,
        edited: bool,
    ) -> Option<(&'static str, Value)> {
        let (item, pull) = self.item_json(dialect, full, number);
        let c = self.comments.get(&id)?;
        let user = json!({"login": c.user, "username": c.user});
        Some(match dialect {
            Dialect::Gitlab => {
                let (key, noteable) = if pull {
                    ("merge_request", "MergeRequest")
                } else {
                    ("issue", "Issue")
                };
                let action = if edited { "update" } else { "create" };
                // lib/gitlab/hook_data/note_builder.rb: every note names its
                // discussion (an individual note its own) and its type, a
                // note on a line of the diff its position
                let first = self.gl.in_thread.get(&id).copied();
                let thread = first.and_then(|f| self.gl.threads.get(&f));
                let kind = match thread {
                    Some(t) if t.position.is_some() => json!("DiffNote"),
                    Some(_) => json!("DiscussionNote"),
                    None => Value::Null,
                };
                let mut b = json!({"object_kind": "note", "event_type": "note", "user": user,
                    "object_attributes": {"id": id, "note": c.body, "noteable_type": noteable,
                        "action": action, "type": kind,
                        "discussion_id": crate::routes::gitlab::shapes::discussion_id(
                            first.unwrap_or(id))}});
                if let Some((path, line)) = thread.and_then(|t| t.position.as_ref()) {
                    b["object_attributes"]["position"] = json!({"old_path": path,
                        "new_path": path, "position_type": "text", "old_line": null,
                        "new_line": line});
                }
                b[key] = item;
                ("Note Hook", b)
            }
            Dialect::Gitea | Dialect::Github | Dialect::AzureDevops => {
                let pr = item.clone();
                let mut issue = item;
                if pull {
                    issue["pull_request"] = json!({"url": issue["html_url"]});
                }
                let action = if edited { "edited" } else { "created" };
                let mut b = json!({"action": action, "issue": issue, "is_pull": pull,
                    "comment": {"id": id, "body": c.body, "user": user}, "sender": user});
                // Gitea (services/webhook/notifier.go, CreateIssueComment and
                // UpdateComment): a PR's comment is of type
                // `pull_request_comment` (the `issue_comment` family), with
                // the PR beside the issue
                if pull && dialect == Dialect::Gitea {
                    b["pull_request"] = pr;
                    return Some(("pull_request_comment", b));
                }
                ("issue_comment", b)
            }
        })
    }

    /// A review of a PR; None when the review is gone.
    fn review_payload(
        &self,
        dialect: Dialect,
        full: &str,
        number: u64,
        id: i64,
    ) -> Option<(&'static str, Value)> {
        let (item, _) = self.item_json(dialect, full, number);
        let r = self.talk.reviews.get(&id)?;
        let user = json!({"login": r.user, "username": r.user});
        Some(match dialect {
            Dialect::Gitea => {
                // services/webhook/notifier.go, PullRequestReview: the type
                // by the review's verdict (its family, `X-Gitea-Event`:
                // `pull_request_approved`, `_rejected`, `_comment`), named
                // again in the payload's `review.type`; the review's line
                // comments send nothing of their own
                let kind = match r.verdict {
                    Verdict::Approved => "pull_request_review_approved",
                    Verdict::ChangesRequested => "pull_request_review_rejected",
                    _ => "pull_request_review_comment",
                };
                let b = json!({"action": "reviewed", "number": number, "pull_request": item,
                    "review": {"type": kind, "content": r.body}, "sender": user});
                (kind, b)
            }
            Dialect::Github | Dialect::AzureDevops => {
                let state = match r.verdict {
                    Verdict::Approved => "approved",
                    Verdict::ChangesRequested => "changes_requested",
                    _ => "commented",
                };
                let b = json!({"action": "submitted", "pull_request": item, "sender": user,
                    "review": {"id": id, "state": state, "body": r.body, "user": user,
                               "commit_id": r.commit}});
                ("pull_request_review", b)
            }
            Dialect::Gitlab => {
                let mut attrs = item;
                attrs["action"] = json!(match r.verdict {
                    Verdict::Approved => "approved",
                    _ => "update",
                });
                let b = json!({"object_kind": "merge_request", "event_type": "merge_request",
                    "user": user, "object_attributes": attrs});
                ("Merge Request Hook", b)
            }
        })
    }

    /// A reply (comment `id`) in the thread of review `review`, which the
    /// forge keeps under that review; None when either is gone.
    ///
    /// Gitea: a reply on the PR's Files page (`CreateCodeComment` with a
    /// review to reply to, services/pull/review.go) is not part of a review
    /// and notifies as a comment (`notify_service.CreateIssueComment`),
    /// which services/webhook/notifier.go's `CreateIssueComment` delivers as
    /// type `pull_request_comment` (`X-Gitea-Event: issue_comment`, the
    /// family modules/webhook/type.go names), `action: created`, `is_pull:
    /// true`, the comment (modules/structs/hook.go, `IssueCommentPayload`)
    /// beside the issue and the PR.
    ///
    /// GitHub (docs.github.com/en/webhooks/webhook-events-and-payloads,
    /// `pull_request_review_comment`: "Activity related to pull request
    /// review comments in the pull request's unified diff", action
    /// `created`; the payload's `comment` is a review comment as the REST
    /// API's pulls/comments shows it: `id`, `body`, `user`, `path`, `line`,
    /// `pull_request_review_id`, `in_reply_to_id` for a reply, beside
    /// `pull_request`, `repository` and `sender`): a reply in a thread is a
    /// review of its own (`reviews::reply`; the REST API's "create a reply
    /// for a review comment" makes one too), delivered as that review
    /// (`pull_request_review` `submitted`) and as its one comment
    /// (`Event::LineComment`, `pull_request_review_comment` `created`, its
    /// `in_reply_to_id` the thread's first comment); each line comment of a
    /// review is delivered so. GitLab's replies are notes of the thread,
    /// delivered as notes (`Note Hook` with the thread's `discussion_id`).
    fn thread_reply_payload(
        &self,
        dialect: Dialect,
        full: &str,
        number: u64,
        review: i64,
        id: i64,
    ) -> Option<(&'static str, Value)> {
        let r = self.talk.reviews.get(&review)?;
        let c = r.comments.iter().find(|c| c.id == id)?;
        let who = c.author(r);
        let user = json!({"login": who, "username": who});
        let (item, _) = self.item_json(dialect, full, number);
        match dialect {
            Dialect::Gitea => {
                let mut issue = item.clone();
                issue["pull_request"] = json!({"url": item["html_url"]});
                let b = json!({"action": "created", "issue": issue, "pull_request": item,
                    "is_pull": true, "sender": user,
                    "comment": {"id": id, "body": c.body, "user": user, "created_at": c.at,
                                "pull_request_url": item["html_url"]}});
                Some(("pull_request_comment", b))
            }
            Dialect::Github | Dialect::AzureDevops => {
                let b = json!({"action": "created", "pull_request": item, "sender": user,
                    "comment": {"id": id, "body": c.body, "user": user, "path": c.path,
                                "line": c.line, "pull_request_review_id": review,
                                "in_reply_to_id": c.in_reply_to, "created_at": c.at}});
                Some(("pull_request_review_comment", b))
            }
            Dialect::Gitlab => None,
        }
    }

    /// A commit status (GitLab: its pipeline).
    fn status_payload(
        &self,
        dialect: Dialect,
        sha: &str,
        state: &str,
        context: &str,
    ) -> (&'static str, Value) {
        let me = self.me_json();
        match dialect {
            Dialect::Gitlab => {
                let status = match state {
                    "failure" | "error" => "failed",
                    "warning" => "success",
                    s => s,
                };
                let b = json!({"object_kind": "pipeline", "user": me,
                    "object_attributes": {"sha": sha, "status": status, "name": context}});
                ("Pipeline Hook", b)
            }
            Dialect::Gitea | Dialect::Github | Dialect::AzureDevops => (
                "status",
                json!({"sha": sha, "state": state, "context": context, "sender": me}),
            ),
        }
    }

    /// A check run created or completed; GitHub's alone.
    fn check_run_payload(
        &self,
        dialect: Dialect,
        sha: &str,
        name: &str,
        conclusion: Option<&str>,
    ) -> Option<(&'static str, Value)> {
        match dialect {
            Dialect::Github => {}
            // their checks are commit statuses (and GitLab's pipelines)
            Dialect::Gitea | Dialect::Gitlab | Dialect::AzureDevops => return None,
        }
        let action = if conclusion.is_some() {
            "completed"
        } else {
            "created"
        };
        let b = json!({"action": action, "sender": self.me_json(), "check_run": {"name": name,
            "head_sha": sha, "status": if conclusion.is_some() { "completed" } else { "in_progress" },
            "conclusion": conclusion}});
        Some(("check_run", b))
    }

    /// A push to `branch`.
    fn push_payload(
        &self,
        dialect: Dialect,
        branch: &str,
        before: &str,
        after: &str,
    ) -> (&'static str, Value) {
        let r#ref = format!("refs/heads/{branch}");
        match dialect {
            Dialect::Gitlab => {
                let b = json!({"object_kind": "push", "event_name": "push", "ref": r#ref,
                    "before": before, "after": after, "checkout_sha": after,
                    "user_username": self.me});
                ("Push Hook", b)
            }
            Dialect::Gitea | Dialect::Github | Dialect::AzureDevops => {
                let me = self.me_json();
                let b = json!({"ref": r#ref, "before": before, "after": after,
                    "pusher": me, "sender": me});
                ("push", b)
            }
        }
    }
}

/// Gitea's `X-Gitea-Event` for a delivery of type `kind` (its
/// `X-Gitea-Event-Type`): the family `HookEventType.Event()` names in
/// Gitea's modules/webhook/type.go; services/webhook/deliver.go
/// (`addDefaultHeaders`) sends both. A type of a family of its own (`push`,
/// `status`) is its own family.
fn gitea_event(kind: &str) -> &str {
    match kind {
        "issue_assign" | "issue_label" | "issue_milestone" => "issues",
        "pull_request_assign"
        | "pull_request_label"
        | "pull_request_milestone"
        | "pull_request_sync"
        | "pull_request_review_request" => "pull_request",
        "pull_request_comment" => "issue_comment",
        "pull_request_review_approved" => "pull_request_approved",
        "pull_request_review_rejected" => "pull_request_rejected",
        "pull_request_review_comment" => "pull_request_comment",
        other => other,
    }
}

/// A delivery's headers in `dialect`: its event (and Gitea's event type:
/// `(event, type)`), its id, its signature.
fn signed(
    dialect: Dialect,
    (event, kind): (&str, &str),
    id: &str,
    body: &[u8],
    secret: &str,
) -> Vec<(String, String)> {
    let mac = || {
        let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret.as_bytes());
        ring::hmac::sign(&key, body)
            .as_ref()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    };
    let h = |k: &str, v: String| (k.to_string(), v);
    match dialect {
        Dialect::Gitea => vec![
            h("User-Agent", "Go-http-client/1.1".into()),
            h("X-Gitea-Event", event.into()),
            h("X-Gitea-Event-Type", kind.into()),
            h("X-Gitea-Delivery", id.into()),
            h("X-Gitea-Signature", mac()),
        ],
        Dialect::Github | Dialect::AzureDevops => vec![
            h("User-Agent", "GitHub-Hookshot/sandbox".into()),
            h("X-GitHub-Event", event.into()),
            h("X-GitHub-Delivery", id.into()),
            h("X-Hub-Signature-256", format!("sha256={}", mac())),
        ],
        Dialect::Gitlab => vec![
            h("User-Agent", "GitLab/sandbox".into()),
            h("X-Gitlab-Event", event.into()),
            h("X-Gitlab-Event-UUID", id.into()),
            h("X-Gitlab-Token", secret.into()),
        ],
    }
}

/// A delivery id, as a UUID is written.
fn uuid() -> String {
    let t = super::draw_token("d");
    let h = &t[2..];
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// `http://host:port/path` as (host:port, path); only plain HTTP.
fn parse_url(url: &str) -> Result<(String, String), String> {
    let rest = url
        .strip_prefix("http://")
        .ok_or(format!("webhook URL {url:?}: only http:// URLs"))?;
    let (host, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    if host.is_empty() {
        return Err(format!("webhook URL {url:?}: no host"));
    }
    let host = if host.contains(':') && !host.ends_with(']') {
        host.to_string()
    } else {
        format!("{host}:80")
    };
    Ok((host, path.to_string()))
}

fn keep(sent: &Mutex<VecDeque<Value>>, entry: Value) {
    if let Ok(mut s) = sent.lock() {
        if s.len() >= KEPT {
            s.pop_front();
        }
        s.push_back(entry);
    }
}

/// The sender thread: each delivery posted in turn; how it ended kept, a
/// failure also logged.
fn sender(rx: Receiver<Delivery>, sent: Arc<Mutex<VecDeque<Value>>>) {
    for d in rx {
        let mut entry = json!({"event": d.event, "delivery": d.id, "url": d.url});
        match post(&d) {
            Ok(status) => {
                entry["status"] = json!(status);
                if !(200..300).contains(&status) {
                    eprintln!(
                        "sandbox: webhook {} ({}) to {}: answered {status}",
                        d.event, d.id, d.url
                    );
                }
            }
            Err(e) => {
                eprintln!(
                    "sandbox: webhook {} ({}) to {} failed, dropped: {e}",
                    d.event, d.id, d.url
                );
                entry["error"] = json!(e.to_string());
            }
        }
        keep(&sent, entry);
    }
}

/// POST one delivery; its answer's status.
fn post(d: &Delivery) -> std::io::Result<u16> {
    use std::net::ToSocketAddrs;
    let bad = |m: String| std::io::Error::new(std::io::ErrorKind::InvalidInput, m);
    let (host, path) = parse_url(&d.url).map_err(bad)?;
    let addr = host
        .to_socket_addrs()?
        .next()
        .ok_or_else(|| bad(format!("{host}: no address")))?;
    let mut s = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
    s.set_read_timeout(Some(Duration::from_secs(30)))?;
    s.set_write_timeout(Some(Duration::from_secs(10)))?;
    let _ = s.set_nodelay(true);
    let mut req = format!(
        "POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n",
        d.body.len()
    );
    for (k, v) in &d.headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    let mut bytes = req.into_bytes();
    bytes.extend_from_slice(&d.body);
    s.write_all(&bytes)?;
    let mut head = vec![];
    let mut buf = [0u8; 512];
    while !head.windows(2).any(|w| w == b"\r\n") {
        // a signal to this process (a child's end) interrupts the read, never the delivery
        let n = match s.read(&mut buf) {
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            r => r?,
        };
        if n == 0 {
            break;
        }
        head.extend_from_slice(&buf[..n]);
    }
    let line = String::from_utf8_lossy(&head);
    line.split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| {
            bad(format!(
                "no HTTP status in {:?}",
                line.lines().next().unwrap_or("")
            ))
        })
}

#[cfg(test)]
mod tests {
    /// The dialects whose deliveries are signed (Azure DevOps sends Basic
    /// auth instead, tested in `routes/azure`).
    pub(super) const SIGNED: [Dialect; 3] = [Dialect::Gitea, Dialect::Github, Dialect::Gitlab];

    use super::*;

    #[test]
    fn a_url_is_plain_http_with_a_port() {
        assert_eq!(
            parse_url("http://127.0.0.1:8765/afk-hook").unwrap(),
            ("127.0.0.1:8765".into(), "/afk-hook".into())
        );
        assert_eq!(parse_url("http://h").unwrap(), ("h:80".into(), "/".into()));
        assert!(parse_url("https://h/x").is_err());
        assert!(parse_url("http:///x").is_err());
    }

    #[test]
    fn each_dialect_signs_its_own_way() {
        let body = br#"{"a":1}"#;
        let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, b"s3cret");
        let mac: String = ring::hmac::sign(&key, body)
            .as_ref()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let get = |h: &[(String, String)], k: &str| {
            h.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
        };
        let g = signed(
            Dialect::Gitea,
            ("issues", "issue_label"),
            "id-1",
            body,
            "s3cret",
        );
        assert_eq!(get(&g, "X-Gitea-Signature"), Some(mac.clone()));
        assert_eq!(get(&g, "X-Gitea-Delivery").as_deref(), Some("id-1"));
        assert_eq!(get(&g, "X-Gitea-Event").as_deref(), Some("issues"));
        assert_eq!(
            get(&g, "X-Gitea-Event-Type").as_deref(),
            Some("issue_label")
        );
        let h = signed(
            Dialect::Github,
            ("issues", "issues"),
            "id-1",
            body,
            "s3cret",
        );
        assert_eq!(
            get(&h, "X-Hub-Signature-256"),
            Some(format!("sha256={mac}"))
        );
        assert_eq!(get(&h, "X-GitHub-Event").as_deref(), Some("issues"));
        let l = signed(
            Dialect::Gitlab,
            ("Issue Hook", "Issue Hook"),
            "id-1",
            body,
            "s3cret",
        );
        assert_eq!(get(&l, "X-Gitlab-Token").as_deref(), Some("s3cret"));
        assert_eq!(get(&l, "X-Gitlab-Event-UUID").as_deref(), Some("id-1"));
        let u = uuid();
        assert_eq!(u.len(), 36);
        assert_ne!(u, uuid());
    }
}

#[cfg(test)]
mod delivered {
    use crate::http::Request;
    use crate::{Dialect, Seed};
    use serde_json::{Value, json};
    use std::io::{Read, Write};
    use std::net::TcpListener;
    use std::sync::mpsc;
    use std::time::Duration;

    /// One request a receiver got: its headers and body.
    type Got = (Vec<(String, String)>, Vec<u8>);

    /// A receiver on loopback: each request's (headers, body), answered 202.
    fn receiver() -> (String, mpsc::Receiver<Got>) {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/afk-hook", l.local_addr().unwrap());
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for s in l.incoming() {
                let Ok(mut s) = s else { continue };
                let mut buf = vec![];
                let mut chunk = [0u8; 4096];
                let (head, len) = loop {
                    let n = s.read(&mut chunk).unwrap();
                    buf.extend_from_slice(&chunk[..n]);
                    if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&buf[..i]).to_string();
                        let len: usize = head
                            .lines()
                            .find_map(|l| l.strip_prefix("Content-Length: "))
                            .unwrap()
                            .parse()
                            .unwrap();
                        buf.drain(..i + 4);
                        break (head, len);
                    }
                };
                while buf.len() < len {
                    let n = s.read(&mut chunk).unwrap();
                    buf.extend_from_slice(&chunk[..n]);
                }
                let headers = head
                    .lines()
                    .skip(1)
                    .filter_map(|l| l.split_once(": "))
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect();
                let _ = s.write_all(b"HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n");
                let _ = tx.send((headers, buf));
            }
        });
        (url, rx)
    }

    fn admin(sb: &crate::Sandbox, path: &str, body: Value) -> u16 {
        admin_json(sb, path, body).0
    }

    /// An admin call's status and its JSON answer.
    fn admin_json(sb: &crate::Sandbox, path: &str, body: Value) -> (u16, Value) {
        let req = Request {
            method: "POST".into(),
            path: format!("/_admin{path}"),
            raw_path: format!("/_admin{path}"),
            query: vec![],
            raw_query: String::new(),
            headers: vec![],
            body: serde_json::to_vec(&body).unwrap(),
        };
        match crate::handle(&sb.state, sb.dialect, req) {
            crate::http::Reply::Send { status, body, .. } => {
                (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
            }
            _ => (0, Value::Null),
        }
    }

    fn header<'a>(h: &'a [(String, String)], name: &str) -> Option<&'a str> {
        h.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    #[test]
    fn a_label_and_a_status_are_posted_signed_in_each_dialects_shape() {
        for dialect in super::tests::SIGNED {
            let (url, rx) = receiver();
            let seed: Seed = serde_json::from_value(json!({
                "hook_url": url, "hook_secret": "s3cret",
                "repos": [{"name": "acme/api", "issues": [{"number": 1, "title": "t"}]}]}))
            .unwrap();
            let dir = std::env::temp_dir().join(format!(
                "afk-sandbox-webhooks-{}-{}",
                std::process::id(),
                dialect.as_str()
            ));
            let sb =
                crate::start_with(dialect, "127.0.0.1:0", Some(seed), Some(dir.clone())).unwrap();
            let label = json!({"repo": "acme/api", "issue": 1, "label": "ready-for-agent"});
            assert_eq!(admin(&sb, "/label", label), 200, "{dialect:?}");
            let status = json!({"repo": "acme/api", "sha": "a".repeat(40), "state": "failure", "context": "ci"});
            assert_eq!(admin(&sb, "/status", status), 200, "{dialect:?}");
            let wait = Duration::from_secs(30);
            let (h, body) = rx.recv_timeout(wait).expect("the label's delivery");
            let b: Value = serde_json::from_slice(&body).unwrap();
            let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, b"s3cret");
            let mac: String = ring::hmac::sign(&key, &body)
                .as_ref()
                .iter()
                .map(|x| format!("{x:02x}"))
                .collect();
            match dialect {
                Dialect::Gitea => {
                    assert_eq!(header(&h, "X-Gitea-Event"), Some("issues"));
                    assert_eq!(header(&h, "X-Gitea-Event-Type"), Some("issue_label"));
                    assert_eq!(header(&h, "X-Gitea-Signature"), Some(mac.as_str()));
                    assert!(header(&h, "X-Gitea-Delivery").is_some());
                    assert_eq!(b["repository"]["full_name"], "acme/api");
                    assert_eq!(b["action"], "label_updated");
                    assert_eq!(b["issue"]["labels"][0]["name"], "ready-for-agent");
                }
                Dialect::Github => {
                    assert_eq!(header(&h, "X-GitHub-Event"), Some("issues"));
                    let sig = format!("sha256={mac}");
                    assert_eq!(header(&h, "X-Hub-Signature-256"), Some(sig.as_str()));
                    assert!(header(&h, "X-GitHub-Delivery").is_some());
                    assert_eq!(b["repository"]["full_name"], "acme/api");
                    assert_eq!(b["action"], "labeled");
                    assert_eq!(b["label"]["name"], "ready-for-agent");
                }
                Dialect::Gitlab => {
                    assert_eq!(header(&h, "X-Gitlab-Event"), Some("Issue Hook"));
                    assert_eq!(header(&h, "X-Gitlab-Token"), Some("s3cret"));
                    assert!(header(&h, "X-Gitlab-Event-UUID").is_some());
                    assert_eq!(b["project"]["path_with_namespace"], "acme/api");
                    assert_eq!(b["object_kind"], "issue");
                }
                Dialect::AzureDevops => {
                    unreachable!("Azure DevOps deliveries are tested in routes/azure")
                }
            }
            let (h, body) = rx.recv_timeout(wait).expect("the status's delivery");
            let b: Value = serde_json::from_slice(&body).unwrap();
            let (event, want) = match dialect {
                Dialect::Gitea => ("X-Gitea-Event", "status"),
                Dialect::Github => ("X-GitHub-Event", "status"),
                Dialect::Gitlab => ("X-Gitlab-Event", "Pipeline Hook"),
                Dialect::AzureDevops => {
                    unreachable!("Azure DevOps deliveries are tested in routes/azure")
                }
            };
            assert_eq!(header(&h, event), Some(want), "{dialect:?}");
            if dialect == Dialect::Gitlab {
                assert_eq!(b["object_attributes"]["status"], "failed");
            } else {
                assert_eq!(b["state"], "failure");
            }
            // nothing was sent for the seed itself
            assert!(rx.try_recv().is_err(), "{dialect:?}");
            let _ = std::fs::remove_dir_all(dir);
        }
    }

    /// A comment's edit is delivered as each forge delivers it: GitHub's
    /// and Gitea's `issue_comment` with `action: edited`, GitLab's `Note
    /// Hook` with `object_attributes.action: update`; its writing as
    /// `created` / `create`.
    /// GitLab delivers an award on a note as an `Emoji Hook` (webhook
    /// events: "Emoji events"): the award, the note and its issue.
    #[test]
    fn an_award_on_a_note_is_gitlabs_emoji_hook() {
        let (url, rx) = receiver();
        let seed: Seed = serde_json::from_value(json!({
            "hook_url": url, "hook_secret": "s3cret", "token": "t0k-emoji",
            "repos": [{"name": "acme/api", "issues": [{"number": 1, "title": "t"}]}]}))
        .unwrap();
        let dir = std::env::temp_dir().join(format!("afk-sandbox-emoji-{}", std::process::id()));
        let sb = crate::start_with(
            Dialect::Gitlab,
            "127.0.0.1:0",
            Some(seed),
            Some(dir.clone()),
        )
        .unwrap();
        let made = json!({"repo": "acme/api", "issue": 1, "body": "may I?", "user": "afk-bot"});
        assert_eq!(admin(&sb, "/comment", made), 201);
        let wait = Duration::from_secs(30);
        let (_, body) = rx.recv_timeout(wait).expect("the note's delivery");
        let note = serde_json::from_slice::<Value>(&body).unwrap()["object_attributes"]["id"]
            .as_i64()
            .unwrap();
        let award = json!({"note": note, "name": "thumbsup", "user": "alice"});
        assert_eq!(admin(&sb, "/award", award), 201);
        let (h, body) = rx.recv_timeout(wait).expect("the award's delivery");
        let b: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(header(&h, "X-Gitlab-Event"), Some("Emoji Hook"), "{b}");
        assert_eq!(b["object_kind"], "emoji", "{b}");
        assert_eq!(b["object_attributes"]["awardable_id"], note, "{b}");
        assert_eq!(b["object_attributes"]["name"], "thumbsup", "{b}");
        assert_eq!(b["project"]["path_with_namespace"], "acme/api", "{b}");
        drop(sb);
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn a_comments_edit_is_delivered_as_an_edit() {
        for dialect in super::tests::SIGNED {
            let (url, rx) = receiver();
            let seed: Seed = serde_json::from_value(json!({
                "hook_url": url, "hook_secret": "s3cret", "token": "t0k-edits",
                "repos": [{"name": "acme/api", "issues": [{"number": 1, "title": "t"}]}]}))
            .unwrap();
            let dir = std::env::temp_dir().join(format!(
                "afk-sandbox-edits-{}-{}",
                std::process::id(),
                dialect.as_str()
            ));
            let sb =
                crate::start_with(dialect, "127.0.0.1:0", Some(seed), Some(dir.clone())).unwrap();
            let me = sb.state.lock().unwrap().me.clone();
            let made = json!({"repo": "acme/api", "issue": 1, "body": "thanks", "user": me});
            assert_eq!(admin(&sb, "/comment", made), 201, "{dialect:?}");
            let wait = Duration::from_secs(30);
            let (_, body) = rx.recv_timeout(wait).expect("the comment's delivery");
            let b: Value = serde_json::from_slice(&body).unwrap();
            let id = match dialect {
                Dialect::Gitlab => b["object_attributes"]["id"].as_i64().unwrap(),
                _ => b["comment"]["id"].as_i64().unwrap(),
            };
            let (method, path, auth) = match dialect {
                Dialect::Gitea => (
                    "PATCH",
                    format!("/api/v1/repos/acme/api/issues/comments/{id}"),
                    "token t0k-edits",
                ),
                Dialect::Github => (
                    "PATCH",
                    format!("/api/v3/repos/acme/api/issues/comments/{id}"),
                    "Bearer t0k-edits",
                ),
                Dialect::Gitlab => (
                    "PUT",
                    format!("/api/v4/projects/acme%2Fapi/issues/1/notes/{id}"),
                    "Bearer t0k-edits",
                ),
                Dialect::AzureDevops => {
                    unreachable!("Azure DevOps deliveries are tested in routes/azure")
                }
            };
            let req = Request {
                method: method.into(),
                path: path.replace("%2F", "/"),
                raw_path: path,
                query: vec![],
                raw_query: String::new(),
                headers: vec![
                    ("Authorization".into(), auth.into()),
                    ("Content-Type".into(), "application/json".into()),
                ],
                body: serde_json::to_vec(&json!({"body": "/afk hold"})).unwrap(),
            };
            let status = match crate::handle(&sb.state, sb.dialect, req) {
                crate::http::Reply::Send { status, .. } => status,
                _ => 0,
            };
            assert_eq!(status, 200, "{dialect:?}");
            let (h, body) = rx.recv_timeout(wait).expect("the edit's delivery");
            let b: Value = serde_json::from_slice(&body).unwrap();
            match dialect {
                Dialect::Gitlab => {
                    assert_eq!(header(&h, "X-Gitlab-Event"), Some("Note Hook"));
                    assert_eq!(b["object_attributes"]["action"], "update");
                    assert_eq!(b["object_attributes"]["id"], id);
                }
                Dialect::Gitea => {
                    assert_eq!(header(&h, "X-Gitea-Event"), Some("issue_comment"));
                    assert_eq!(
                        (&b["action"], &b["comment"]["id"]),
                        (&json!("edited"), &json!(id))
                    );
                }
                Dialect::Github => {
                    assert_eq!(header(&h, "X-GitHub-Event"), Some("issue_comment"));
                    assert_eq!(
                        (&b["action"], &b["comment"]["id"]),
                        (&json!("edited"), &json!(id))
                    );
                }
                Dialect::AzureDevops => {
                    unreachable!("Azure DevOps deliveries are tested in routes/azure")
                }
            }
            let _ = std::fs::remove_dir_all(dir);
        }
    }

    /// Issue 82 item 5: a reply in a review's thread is delivered as each
    /// forge delivers it, so an afk that runs on events hears it. Gitea
    /// (`Forge::thread_reply_payload`'s sources): `X-Gitea-Event:
    /// issue_comment` of type `pull_request_comment`, `action: created`,
    /// `is_pull: true`, the reply's own id and author; the review before it
    /// `pull_request_rejected` of type `pull_request_review_rejected`.
    /// GitHub (issue 82 requirement 3): `pull_request_review_comment`
    /// `created`, the reply's id, author and `in_reply_to_id` (the thread's
    /// first comment), after the review of its own the reply is there
    /// (`pull_request_review` `submitted`); the review before it sent its
    /// line comment so too (`in_reply_to_id` none). GitLab: the thread's new
    /// note (`Note Hook`, `noteable_type: MergeRequest`, a `DiffNote` of the
    /// line thread's `discussion_id`).
    #[test]
    fn a_reply_in_a_review_thread_is_delivered_as_its_forge_delivers_it() {
        for dialect in super::tests::SIGNED {
            let (url, rx) = receiver();
            let seed: Seed = serde_json::from_value(json!({
                "hook_url": url, "hook_secret": "s3cret",
                "repos": [{"name": "acme/api", "issues": [
                    {"number": 2, "title": "the fix", "pull": true, "head": "afk/issue-1"}]}]}))
            .unwrap();
            let dir = std::env::temp_dir().join(format!(
                "afk-sandbox-replies-{}-{}",
                std::process::id(),
                dialect.as_str()
            ));
            let sb =
                crate::start_with(dialect, "127.0.0.1:0", Some(seed), Some(dir.clone())).unwrap();
            let review = json!({"repo": "acme/api", "pr": 2, "user": "alice",
                "state": "REQUEST_CHANGES", "body": "Please rename",
                "comments": [{"path": "src/lib.rs", "line": 3, "body": "rename this"}]});
            let (status, made) = admin_json(&sb, "/review", review);
            assert_eq!(status, 201, "{dialect:?}: {made}");
            let reply = json!({"review": made["id"], "user": "root",
                "body": "still wrong: call it parse_all"});
            let (status, said) = admin_json(&sb, "/reply", reply);
            assert_eq!(status, 201, "{dialect:?}: {said}");
            let id = said["id"].as_i64().unwrap();
            // the deliveries in the order sent, up to the reply's
            let wait = Duration::from_secs(30);
            let mut got: Vec<(Vec<(String, String)>, Value)> = vec![];
            loop {
                let (h, body) = rx
                    .recv_timeout(wait)
                    .unwrap_or_else(|_| panic!("{dialect:?}: no reply delivered: {got:?}"));
                let b: Value = serde_json::from_slice(&body).unwrap();
                let the_reply = match dialect {
                    Dialect::Gitea => b["comment"]["id"] == id,
                    Dialect::Github => b["comment"]["id"] == id,
                    Dialect::Gitlab => b["object_attributes"]["id"] == id,
                    Dialect::AzureDevops => {
                        unreachable!("Azure DevOps deliveries are tested in routes/azure")
                    }
                };
                got.push((h, b));
                if the_reply {
                    break;
                }
            }
            let (h, b) = got.last().unwrap();
            match dialect {
                Dialect::Gitea => {
                    assert_eq!(header(h, "X-Gitea-Event"), Some("issue_comment"));
                    assert_eq!(
                        header(h, "X-Gitea-Event-Type"),
                        Some("pull_request_comment")
                    );
                    assert_eq!(b["action"], "created", "{b}");
                    assert_eq!(b["is_pull"], true, "{b}");
                    assert_eq!(b["comment"]["user"]["login"], "root", "{b}");
                    assert_eq!(b["comment"]["body"], "still wrong: call it parse_all");
                    assert_eq!(b["issue"]["number"], 2, "{b}");
                    assert_eq!(b["pull_request"]["number"], 2, "{b}");
                    assert_eq!(b["repository"]["full_name"], "acme/api", "{b}");
                    let (h, b) = got
                        .iter()
                        .find(|(_, b)| b["action"] == "reviewed")
                        .expect("the review's delivery");
                    assert_eq!(header(h, "X-Gitea-Event"), Some("pull_request_rejected"));
                    assert_eq!(
                        header(h, "X-Gitea-Event-Type"),
                        Some("pull_request_review_rejected")
                    );
                    assert_eq!(b["review"]["type"], "pull_request_review_rejected");
                }
                Dialect::Github => {
                    let first = &made["comments"][0];
                    assert_eq!(
                        header(h, "X-GitHub-Event"),
                        Some("pull_request_review_comment")
                    );
                    assert_eq!(b["action"], "created", "{b}");
                    assert_eq!(b["comment"]["user"]["login"], "root", "{b}");
                    assert_eq!(b["comment"]["body"], "still wrong: call it parse_all");
                    assert_eq!(&b["comment"]["in_reply_to_id"], first, "{b}");
                    assert_eq!(b["comment"]["path"], "src/lib.rs", "{b}");
                    assert_eq!(b["comment"]["line"], 3, "{b}");
                    assert_eq!(b["pull_request"]["number"], 2, "{b}");
                    assert_eq!(b["repository"]["full_name"], "acme/api", "{b}");
                    assert_eq!(b["sender"]["login"], "root", "{b}");
                    // the reply's review of its own, sent before it
                    let of_its_own = &b["comment"]["pull_request_review_id"];
                    assert_ne!(of_its_own, &made["id"], "{b}");
                    let (h, r) = got
                        .iter()
                        .find(|(_, r)| &r["review"]["id"] == of_its_own)
                        .expect("the reply's review's delivery");
                    assert_eq!(header(h, "X-GitHub-Event"), Some("pull_request_review"));
                    assert_eq!(r["action"], "submitted", "{r}");
                    assert_eq!(r["review"]["user"]["login"], "root", "{r}");
                    // the first review and its line comment, as GitHub sends them
                    let (h, r) = got
                        .iter()
                        .find(|(_, r)| r["review"]["id"] == made["id"])
                        .expect("the review's delivery");
                    assert_eq!(header(h, "X-GitHub-Event"), Some("pull_request_review"));
                    assert_eq!(r["review"]["state"], "changes_requested", "{r}");
                    let (h, c) = got
                        .iter()
                        .find(|(_, c)| &c["comment"]["id"] == first)
                        .expect("the review's line comment's delivery");
                    assert_eq!(
                        header(h, "X-GitHub-Event"),
                        Some("pull_request_review_comment")
                    );
                    assert_eq!(c["action"], "created", "{c}");
                    assert_eq!(c["comment"]["in_reply_to_id"], Value::Null, "{c}");
                    assert_eq!(c["comment"]["pull_request_review_id"], made["id"], "{c}");
                }
                Dialect::Gitlab => {
                    assert_eq!(header(h, "X-Gitlab-Event"), Some("Note Hook"));
                    assert_eq!(b["object_kind"], "note", "{b}");
                    let a = &b["object_attributes"];
                    assert_eq!(a["action"], "create", "{b}");
                    assert_eq!(a["noteable_type"], "MergeRequest", "{b}");
                    assert_eq!(a["type"], "DiffNote", "{b}");
                    assert_eq!(a["note"], "still wrong: call it parse_all", "{b}");
                    assert_eq!(b["user"]["username"], "root", "{b}");
                    // the line comment's thread (its first note's)
                    let first = made["comments"][0].as_i64().unwrap();
                    assert_eq!(
                        a["discussion_id"],
                        crate::routes::gitlab::shapes::discussion_id(first),
                        "{b}"
                    );
                }
                Dialect::AzureDevops => {
                    unreachable!("Azure DevOps deliveries are tested in routes/azure")
                }
            }
            let _ = std::fs::remove_dir_all(dir);
        }
    }

    #[test]
    fn gitea_names_each_event_types_family_as_its_type_go_does() {
        let cases = [
            ("issues", "issues"),
            ("issue_label", "issues"),
            ("issue_comment", "issue_comment"),
            ("pull_request", "pull_request"),
            ("pull_request_label", "pull_request"),
            ("pull_request_sync", "pull_request"),
            ("pull_request_comment", "issue_comment"),
            ("pull_request_review_approved", "pull_request_approved"),
            ("pull_request_review_rejected", "pull_request_rejected"),
            ("pull_request_review_comment", "pull_request_comment"),
            ("status", "status"),
            ("push", "push"),
        ];
        for (kind, family) in cases {
            assert_eq!(super::gitea_event(kind), family, "{kind}");
        }
    }
}
