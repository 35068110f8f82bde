//! The conversation on a GitLab merge request
//! (docs/gitlab.md#what-differs-from-gitea-and-github) as the forge-neutral
//! reviews the core decides on: GitLab has no reviews, so each person's
//! standing request for changes is one [`Review`] made of their unresolved
//! resolvable threads and their reviewer state `requested_changes`,
//! superseded by resolution (a resolved thread is not read) or by the same
//! person's later `approved this merge request`.
//!
//! The review's id is the newest note id in it (a new reply in a thread, or a
//! new request, asks again: "acted on once per last note"); its commit is the
//! merge request's head (an unresolved thread stands whatever the head); its
//! line comments are the positioned threads' notes (`path:line`), its body
//! the other threads' notes and, for a reviewer state, the person's own
//! notes on the merge request since their latest approval.

use super::model::{LineComment, LineComments, Review, ReviewState};
use crate::core::review_bounds::{self, REVIEW_BODY_BYTES};
use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Deserialize, Default)]
pub(crate) struct TalkUser {
    #[serde(default)]
    pub username: String,
}

#[derive(Debug, Clone, Deserialize, Default)]
pub(crate) struct Position {
    #[serde(default)]
    new_path: Option<String>,
    #[serde(default)]
    new_line: Option<u64>,
    #[serde(default)]
    old_path: Option<String>,
    #[serde(default)]
    old_line: Option<u64>,
    /// the merge request's head when the note was written
    #[serde(default)]
    head_sha: Option<String>,
}

/// A note of a discussion, or of `GET .../notes` (`doc/api/notes.md`).
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct TalkNote {
    pub id: i64,
    #[serde(default)]
    pub body: String,
    #[serde(default)]
    pub author: Option<TalkUser>,
    #[serde(default)]
    pub created_at: Option<String>,
    #[serde(default)]
    pub system: bool,
    #[serde(default)]
    pub resolvable: bool,
    #[serde(default)]
    pub resolved: Option<bool>,
    #[serde(default)]
    pub position: Option<Position>,
}

impl TalkNote {
    fn login(&self) -> &str {
        self.author.as_ref().map_or("", |a| a.username.as_str())
    }
    fn at(&self) -> Option<time::OffsetDateTime> {
        self.created_at.as_deref().and_then(crate::clock::parse)
    }
}

/// A discussion (`doc/api/discussions.md`): a thread, or one individual note.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Discussion {
    #[serde(default)]
    pub individual_note: bool,
    #[serde(default)]
    pub notes: Vec<TalkNote>,
}

/// One reviewer of `.../reviewers` (`user`, `state`).
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Reviewer {
    #[serde(default)]
    pub user: Option<TalkUser>,
    #[serde(default)]
    pub state: String,
}

/// What one person asks of the merge request, gathered.
#[derive(Default)]
struct Asking {
    author: String,
    newest: i64,
    at: Option<String>,
    body: Vec<String>,
    lines: Vec<LineComment>,
    /// the notes its threads hold, everyone's: a reply moves it
    count: u64,
}

impl Asking {
    fn saw(&mut self, n: &TalkNote) {
        if n.id > self.newest {
            self.newest = n.id;
            self.at = n.created_at.clone();
        }
    }
}

/// A thread on a line: each of its people's notes as a line comment at the
/// line's new place (else its old one).
fn line_comments(d: &Discussion, p: &Position) -> Vec<LineComment> {
    let (path, line) = match (&p.new_path, p.new_line) {
        (Some(path), Some(line)) => (path.clone(), Some(line)),
        _ => (
            p.old_path
                .clone()
                .or(p.new_path.clone())
                .unwrap_or_default(),
            p.old_line,
        ),
    };
    d.notes
        .iter()
        .filter(|n| !n.system)
        .map(|n| LineComment {
            id: n.id,
            review_id: None,
            path: path.clone(),
            line,
            body: n.body.clone(),
            author: n.login().to_string(),
            body_cut: false,
            created_at: n.created_at.clone(),
            commit: p.head_sha.clone(),
            outdated: false,
        })
        .collect()
}

/// Each person's (lower case) latest approval, and latest request for
/// changes, from GitLab's system notes.
#[allow(clippy::type_complexity)]
fn approvals_and_requests(
    notes: &[TalkNote],
) -> (
    BTreeMap<String, time::OffsetDateTime>,
    BTreeMap<String, &TalkNote>,
) {
    let key = |l: &str| l.to_ascii_lowercase();
    let mut approved: BTreeMap<String, time::OffsetDateTime> = BTreeMap::new();
    let mut requested: BTreeMap<String, &TalkNote> = BTreeMap::new();
    for n in notes.iter().filter(|n| n.system && !n.login().is_empty()) {
        if n.body.starts_with("approved this merge request") {
            if let Some(at) = n.at() {
                let e = approved.entry(key(n.login())).or_insert(at);
                *e = (*e).max(at);
            }
        } else if n.body.starts_with("requested changes") {
            requested.insert(key(n.login()), n);
        }
    }
    (approved, requested)
}

/// The reviews of a merge request whose head is `head_sha`, from its
/// discussions, its reviewers and its notes (system ones included: the
/// approvals and change requests GitLab writes as notes), with each one's
/// line comments by review id.
pub(crate) fn reviews(
    head_sha: &str,
    discussions: &[Discussion],
    reviewers: &[Reviewer],
    notes: &[TalkNote],
) -> (Vec<Review>, BTreeMap<i64, LineComments>) {
    let key = |l: &str| l.to_ascii_lowercase();
    let (approved, requested) = approvals_and_requests(notes);
    let superseded =
        |login: &str, at: Option<time::OffsetDateTime>| match (approved.get(&key(login)), at) {
            (Some(a), Some(at)) => *a > at,
            (Some(_), None) => true,
            (None, _) => false,
        };
    let mut asks: BTreeMap<String, Asking> = BTreeMap::new();
    // a general thread (no line of the diff) asks nothing on its own: its
    // starter's words are the body of an ask the person makes otherwise
    // (a line comment, their request for changes)
    let mut general: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for d in discussions.iter().filter(|d| !d.individual_note) {
        let Some(first) = d.notes.first() else {
            continue;
        };
        if first.system || !first.resolvable || first.resolved != Some(false) {
            continue;
        }
        let starter = first.login();
        if starter.is_empty() {
            continue;
        }
        let own: Vec<&TalkNote> = d
            .notes
            .iter()
            .filter(|n| !n.system && n.login().eq_ignore_ascii_case(starter))
            .collect();
        let last = own.iter().filter_map(|n| n.at()).max();
        if superseded(starter, last) {
            continue;
        }
        let Some(position) = first.position.as_ref() else {
            general
                .entry(key(starter))
                .or_default()
                .extend(own.iter().map(|n| n.body.trim().to_string()));
            continue;
        };
        let a = asks.entry(key(starter)).or_default();
        a.author = starter.to_string();
        // the ask is the starter's, dated and named by their own notes:
        // another's reply (trusted or not: watch decides) moves the count
        for n in &own {
            a.saw(n);
        }
        a.count += d.notes.iter().filter(|n| !n.system).count() as u64;
        a.lines.extend(line_comments(d, position));
    }
    for r in reviewers.iter().filter(|r| r.state == "requested_changes") {
        let login = r.user.as_ref().map_or("", |u| u.username.as_str());
        if login.is_empty() {
            continue;
        }
        let request = requested.get(&key(login)).copied();
        if superseded(login, request.and_then(|n| n.at())) {
            continue;
        }
        let a = asks.entry(key(login)).or_default();
        a.author = login.to_string();
        match request {
            Some(n) => a.saw(n),
            // no note dates it: one stable id for this person's request
            None if a.newest == 0 => a.newest = -(key(login).bytes().map(i64::from).sum::<i64>()),
            None => {}
        }
        // the person's own words on the merge request since their approval
        let since = approved.get(&key(login)).copied();
        for n in notes.iter().filter(|n| {
            !n.system
                && !n.resolvable
                && n.login().eq_ignore_ascii_case(login)
                && !n.body.trim_start().starts_with('/')
                && since.is_none_or(|s| n.at().is_some_and(|at| at > s))
        }) {
            a.body.push(n.body.trim().to_string());
        }
    }
    for (who, bodies) in general {
        if let Some(a) = asks.get_mut(&who) {
            a.body.extend(bodies);
        }
    }
    into_reviews(asks, head_sha)
}

/// Each person's ask as the review afk reads (named by its newest note, on
/// the head), with its line comments by review id, bounded.
fn into_reviews(
    asks: BTreeMap<String, Asking>,
    head_sha: &str,
) -> (Vec<Review>, BTreeMap<i64, LineComments>) {
    let mut out = vec![];
    let mut lines = BTreeMap::new();
    for (_, a) in asks {
        let (body, body_cut) = review_bounds::cut(&a.body.join("\n\n"), REVIEW_BODY_BYTES);
        let mut kept = review_bounds::keep_line_comments(a.lines.into_iter().map(|mut c| {
            c.review_id = Some(a.newest);
            c
        }));
        kept.kept.sort_by_key(|c| c.id);
        lines.insert(a.newest, kept);
        out.push(Review {
            id: a.newest,
            author: a.author,
            state: ReviewState::ChangesRequested,
            commit_sha: head_sha.to_string(),
            submitted_at: a.at,
            body,
            body_cut,
            comments_count: Some(a.count),
        });
    }
    out.sort_by_key(|r| r.id);
    (out, lines)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn note(id: i64, who: &str, body: &str, at: &str) -> serde_json::Value {
        json!({"id": id, "body": body, "author": {"username": who}, "created_at": at,
               "system": false, "resolvable": true, "resolved": false})
    }

    fn parse<T: serde::de::DeserializeOwned>(v: serde_json::Value) -> T {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn unresolved_threads_and_requested_changes_ask_resolution_and_later_approval_supersede() {
        let mut diff = note(3, "alice", "off by one", "2026-01-01T00:00:03Z");
        diff["position"] = json!({"new_path": "src/a.rs", "new_line": 7, "old_path": "src/a.rs", "old_line": null});
        let mut resolved = note(5, "alice", "typo", "2026-01-01T00:00:05Z");
        resolved["resolved"] = json!(true);
        let discussions: Vec<Discussion> = parse(json!([
            {"individual_note": false, "notes": [diff, note(4, "bob", "agreed", "2026-01-01T00:00:04Z")]},
            {"individual_note": false, "notes": [resolved]},
            {"individual_note": false, "notes": [note(6, "carol", "rename it", "2026-01-01T00:00:06Z")]},
            {"individual_note": true, "notes": [{"id": 7, "body": "nice", "author": {"username": "dave"}, "system": false}]},
        ]));
        let notes: Vec<TalkNote> = parse(json!([
            {"id": 8, "body": "requested changes", "author": {"username": "erin"}, "system": true, "created_at": "2026-01-01T00:00:08Z"},
            {"id": 9, "body": "please split it", "author": {"username": "erin"}, "system": false, "created_at": "2026-01-01T00:00:09Z"},
            {"id": 10, "body": "approved this merge request", "author": {"username": "carol"}, "system": true, "created_at": "2026-01-01T00:00:10Z"},
        ]));
        let reviewers: Vec<Reviewer> = parse(json!([
            {"user": {"username": "erin"}, "state": "requested_changes"},
            {"user": {"username": "carol"}, "state": "approved"},
        ]));
        let (reviews, lines) = reviews("abc", &discussions, &reviewers, &notes);
        let got: Vec<(i64, &str, &str)> = reviews
            .iter()
            .map(|r| (r.id, r.author.as_str(), r.body.as_str()))
            .collect();
        // alice's ask is named by her own newest note: bob's reply in her
        // thread moves its count, which watch reads (trusted or not)
        assert_eq!(got, [(3, "alice", ""), (8, "erin", "please split it")]);
        assert_eq!(reviews[0].comments_count, Some(2));
        assert!(
            reviews
                .iter()
                .all(|r| r.commit_sha == "abc" && r.state == ReviewState::ChangesRequested)
        );
        let alice = &lines[&3].kept;
        assert_eq!(alice.len(), 2);
        assert_eq!(
            (
                alice[0].path.as_str(),
                alice[0].line,
                alice[0].body.as_str()
            ),
            ("src/a.rs", Some(7), "off by one")
        );
        assert_eq!(alice[1].author, "bob");
    }

    #[test]
    fn a_thread_without_a_line_asks_nothing_alone_and_is_the_body_of_the_persons_request() {
        let discussions: Vec<Discussion> = parse(json!([
            {"individual_note": false, "notes": [note(6, "carol", "rename it", "2026-01-01T00:00:06Z")]},
        ]));
        let approved: Vec<TalkNote> = parse(json!([
            {"id": 2, "body": "approved this merge request", "author": {"username": "carol"}, "system": true, "created_at": "2026-01-01T00:00:02Z"},
        ]));
        // a general thread alone: plain words, no ask
        let (alone, _) = reviews("abc", &discussions, &[], &approved);
        assert!(alone.is_empty(), "{alone:?}");
        // with the person's request for changes (after an earlier approval):
        // the body of that ask
        let requested: Vec<TalkNote> = parse(json!([
            {"id": 2, "body": "approved this merge request", "author": {"username": "carol"}, "system": true, "created_at": "2026-01-01T00:00:02Z"},
            {"id": 5, "body": "requested changes", "author": {"username": "carol"}, "system": true, "created_at": "2026-01-01T00:00:05Z"},
        ]));
        let reviewers: Vec<Reviewer> = parse(json!([
            {"user": {"username": "carol"}, "state": "requested_changes"},
        ]));
        let (asked, _) = reviews("abc", &discussions, &reviewers, &requested);
        assert_eq!(asked.len(), 1, "{asked:?}");
        assert_eq!(asked[0].body, "rename it");
    }
}
