// One file: the forge's outgoing webhooks (~740 lines: each dialect's events, headers and signatures, one delivery's path) and their tests, kept beside them as everywhere in the sandbox.
//! The forge's outgoing webhooks (docs/sandbox.md#webhooks): with a URL
//! set (`afk sandbox --hook-url`, a seed's `hook_url`, `/_admin/webhook`),
//! what happens on the forge — an issue or PR labelled or unlabelled,
//! opened, closed or reopened, a comment, a review, a commit status, a
//! check run, a push — is posted there as the dialect's signed delivery, in
//! its shape and headers: Gitea `X-Gitea-Event`/`X-Gitea-Delivery`/
//! `X-Gitea-Signature` (hex HMAC-SHA256 of the body), GitHub
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

    fn queue(&self, event: String, headers: Vec<(String, String)>, body: Vec<u8>, id: String) {
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
            json!([{"id": 1, "url": url, "issues_events": true, "note_events": true,
                    "merge_requests_events": true, "pipeline_events": true, "push_events": true}])
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
        let Some((name, body)) = self.payload(dialect, &event) else {
            return;
        };
        let body = serde_json::to_vec(&body).unwrap_or_default();
        let id = uuid();
        let headers = signed(dialect, &name, &id, &body, self.outbox.secret());
        self.outbox.queue(name, headers, body, id);
    }

    fn repo_json(&self, dialect: Dialect, full: &str) -> Value {
        let id = self.repos.get(full).map_or(0, |r| r.id);
        let (owner, name) = full.rsplit_once('/').unwrap_or(("", full));
        let url = format!("{}/{full}", self.base);
        match dialect {
            Dialect::Gitlab => json!({"id": id, "name": name, "path_with_namespace": full,
                "namespace": owner, "web_url": url}),
            Dialect::Gitea | Dialect::Github => {
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
            Dialect::Gitea | Dialect::Github => {
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

    /// The event's name (the event header's value) and body in `dialect`;
    /// None for what this dialect sends no webhook for.
    fn payload(&self, dialect: Dialect, event: &Event) -> Option<(String, Value)> {
        let repo_of = |e: &Event| match e {
            Event::Labeled { repo, .. }
            | Event::State { repo, .. }
            | Event::Comment { repo, .. }
            | Event::Review { repo, .. }
            | Event::Status { repo, .. }
            | Event::CheckRun { repo, .. }
            | Event::Push { repo, .. } => repo.clone(),
        };
        let full = repo_of(event);
        let repository = self.repo_json(dialect, &full);
        let gl = match dialect {
            Dialect::Gitlab => true,
            Dialect::Gitea | Dialect::Github => false,
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
            Event::Review { number, id, .. } => {
                self.review_payload(dialect, &full, *number, *id)?
            }
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
                (if pull { "pull_request" } else { "issues" }, b)
            }
            Dialect::Github => {
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
            Dialect::Gitea | Dialect::Github => {
                let key = if pull { "pull_request" } else { "issue" };
                let mut b = json!({"action": action, "number": number, "sender": me});
                b[key] = item;
                (if pull { "pull_request" } else { "issues" }, b)
            }
        }
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
                let mut b = json!({"object_kind": "note", "event_type": "note", "user": user,
                    "object_attributes": {"id": id, "note": c.body, "noteable_type": noteable,
                                          "action": action}});
                b[key] = item;
                ("Note Hook", b)
            }
            Dialect::Gitea | Dialect::Github => {
                let mut issue = item;
                if pull {
                    issue["pull_request"] = json!({"url": issue["html_url"]});
                }
                let action = if edited { "edited" } else { "created" };
                let b = json!({"action": action, "issue": issue, "is_pull": pull,
                    "comment": {"id": id, "body": c.body, "user": user}, "sender": user});
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
                let (name, kind) = match r.verdict {
                    Verdict::Approved => (
                        "pull_request_review_approved",
                        "pull_request_review_approved",
                    ),
                    Verdict::ChangesRequested => (
                        "pull_request_review_rejected",
                        "pull_request_review_rejected",
                    ),
                    _ => ("pull_request_review_comment", "pull_request_review_comment"),
                };
                let b = json!({"action": "reviewed", "number": number, "pull_request": item,
                    "review": {"type": kind, "content": r.body}, "sender": user});
                (name, b)
            }
            Dialect::Github => {
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
            Dialect::Gitea | Dialect::Github => (
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
            Dialect::Gitea | Dialect::Gitlab => return None,
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
            Dialect::Gitea | Dialect::Github => {
                let me = self.me_json();
                let b = json!({"ref": r#ref, "before": before, "after": after,
                    "pusher": me, "sender": me});
                ("push", b)
            }
        }
    }
}

/// A delivery's headers in `dialect`: its event, its id, its signature.
fn signed(
    dialect: Dialect,
    event: &str,
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
            h("X-Gitea-Delivery", id.into()),
            h("X-Gitea-Signature", mac()),
        ],
        Dialect::Github => vec![
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
        let g = signed(Dialect::Gitea, "issues", "id-1", body, "s3cret");
        assert_eq!(get(&g, "X-Gitea-Signature"), Some(mac.clone()));
        assert_eq!(get(&g, "X-Gitea-Delivery").as_deref(), Some("id-1"));
        let h = signed(Dialect::Github, "issues", "id-1", body, "s3cret");
        assert_eq!(
            get(&h, "X-Hub-Signature-256"),
            Some(format!("sha256={mac}"))
        );
        assert_eq!(get(&h, "X-GitHub-Event").as_deref(), Some("issues"));
        let l = signed(Dialect::Gitlab, "Issue Hook", "id-1", body, "s3cret");
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
            crate::http::Reply::Send { status, .. } => status,
            _ => 0,
        }
    }

    fn header<'a>(h: &'a [(String, String)], name: &str) -> Option<&'a str> {
        h.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    #[test]
    fn a_label_and_a_status_are_posted_signed_in_each_dialects_shape() {
        for dialect in Dialect::ALL {
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
            }
            let (h, body) = rx.recv_timeout(wait).expect("the status's delivery");
            let b: Value = serde_json::from_slice(&body).unwrap();
            let (event, want) = match dialect {
                Dialect::Gitea => ("X-Gitea-Event", "status"),
                Dialect::Github => ("X-GitHub-Event", "status"),
                Dialect::Gitlab => ("X-Gitlab-Event", "Pipeline Hook"),
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
    #[test]
    fn a_comments_edit_is_delivered_as_an_edit() {
        for dialect in Dialect::ALL {
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
            }
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}
