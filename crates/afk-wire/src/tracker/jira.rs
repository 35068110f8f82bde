//! Jira Cloud's ready rule (docs/trackers.md#jira): which issues the search
//! asks for, who armed an issue (from Jira's changelog, never from the
//! caller-written `historyMetadata`), whether it changed after, whether that
//! person is trusted, and what blocks it. Every value comes in as Jira sent
//! it; the adapter does the reading.

pub use super::described::{MAX_DESCRIBED_BLOCKERS, description_blockers, is_key};
pub use super::trust::{Armer, Trust, trust};
use afk_model::tracker::{JiraChange, JiraChangeItem};
use afk_model::{TimelineEvent, TimelineKind};
use time::OffsetDateTime;

/// A Jira time: ISO 8601 with milliseconds and an offset without a colon
/// (`2019-02-27T13:30:21.153+0300`), or with one, or `Z`. Compared as an
/// instant, never as text.
pub fn time(s: &str) -> Option<OffsetDateTime> {
    use time::format_description::well_known::Rfc3339;
    if let Ok(t) = OffsetDateTime::parse(s, &Rfc3339) {
        return Some(t);
    }
    // `+hhmm` / `-hhmm` at the end: put the colon in
    let b = s.as_bytes();
    let n = b.len();
    if n > 5 && matches!(b[n - 5], b'+' | b'-') && b[n - 4..].iter().all(u8::is_ascii_digit) {
        let fixed = format!("{}:{}", &s[..n - 2], &s[n - 2..]);
        return OffsetDateTime::parse(&fixed, &Rfc3339).ok();
    }
    None
}

/// `X-RateLimit-Reset` as epoch seconds: Jira documents `yyyy-MM-ddTHH:mmZ`,
/// with no seconds (docs/fidelity/jira-cloud.md); a time with seconds or
/// an offset is read as [`time`] reads one. None: not a time.
pub fn rate_limit_reset(s: &str) -> Option<i64> {
    let s = s.trim();
    if let Some(t) = time(s) {
        return Some(t.unix_timestamp());
    }
    // `HH:mm` then the zone: put the seconds in
    let (date, clock) = s.split_once('T')?;
    let zone_at = clock.find(['Z', '+', '-'])?;
    let (hm, zone) = clock.split_at(zone_at);
    let minutes = hm.len() == 5 && hm.as_bytes()[2] == b':';
    match minutes {
        true => time(&format!("{date}T{hm}:00{zone}")).map(|t| t.unix_timestamp()),
        false => None,
    }
}

/// A JQL string literal: quoted, with `\` and `"` escaped.
pub fn quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if matches!(c, '"' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// The one search a tick makes: the mapped projects' issues carrying the
/// ready label that are not done, in key order. The search only nominates:
/// every candidate is read again and checked on that answer.
pub fn ready_jql(projects: &[String], ready_label: &str) -> String {
    let list: Vec<String> = projects.iter().map(|p| quoted(p)).collect();
    format!(
        "project in ({}) AND labels = {} AND statusCategory != Done ORDER BY key ASC",
        list.join(", "),
        quoted(ready_label)
    )
}

/// The search with `ready = "status"`: the mapped projects' issues in the
/// ready status (an id unquoted, a name quoted) that are not done.
pub fn ready_status_jql(projects: &[String], status: &str) -> String {
    let list: Vec<String> = projects.iter().map(|p| quoted(p)).collect();
    let status = match !status.is_empty() && status.chars().all(|c| c.is_ascii_digit()) {
        true => status.to_string(),
        false => quoted(status),
    };
    format!(
        "project in ({}) AND status = {status} AND statusCategory != Done ORDER BY key ASC",
        list.join(", ")
    )
}

/// With `ready = "status"` (`ready` is the ready status's id and the ready
/// label it stands for), a changelog item as label events: a move into the
/// ready status adds the ready label, a move out of it removes it; a real
/// label of that name is no arming (it is dropped). Without, the item
/// as it is.
fn status_arms(i: &JiraChangeItem, ready: Option<(&str, &str)>) -> Option<(bool, bool)> {
    let (id, _) = ready?;
    if i.field_id.as_deref() != Some("status") {
        return None;
    }
    let into = i.to.as_deref() == Some(id);
    let out_of = i.from.as_deref() == Some(id);
    Some((into && !out_of, out_of && !into))
}

/// The labels a changelog item's `fromString`/`toString` holds (Jira writes
/// them separated by spaces; a label holds none).
fn labels_of(s: Option<&str>) -> Vec<&str> {
    s.unwrap_or("")
        .split(' ')
        .filter(|l| !l.is_empty())
        .collect()
}

fn adds_label(i: &JiraChangeItem, label: &str) -> bool {
    i.field_id.as_deref() == Some("labels")
        && labels_of(i.to_string.as_deref()).contains(&label)
        && !labels_of(i.from_string.as_deref()).contains(&label)
}

fn removes_label(i: &JiraChangeItem, label: &str) -> bool {
    i.field_id.as_deref() == Some("labels")
        && labels_of(i.from_string.as_deref()).contains(&label)
        && !labels_of(i.to_string.as_deref()).contains(&label)
}

/// The changelog in the order it happened: by time, then by id (Jira
/// answers oldest first; the sort holds whatever the page order).
pub fn in_order(changes: &[JiraChange]) -> Vec<&JiraChange> {
    let mut v: Vec<&JiraChange> = changes.iter().collect();
    v.sort_by_key(|c| (time(&c.created), c.id.parse::<u64>().unwrap_or(u64::MAX)));
    v
}

/// An instant as afk's events carry it: RFC 3339.
pub fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// The fields whose change after the arming means what reaches the agent
/// is no longer what was armed.
const PROMPT_FIELDS: [&str; 5] = [
    "summary",
    "description",
    "environment",
    "project",
    "issuetype",
];

/// What the issue is now, beside its changelog.
pub struct Now<'a> {
    /// its `creator`'s accountId (None: not said)
    pub creator: Option<&'a str>,
    /// its `created` time, as Jira wrote it
    pub created: Option<&'a str>,
    /// its labels
    pub labels: &'a [String],
    /// with `ready = "status"`: the ready status's id and the ready label
    /// it stands for (`status_arms`)
    pub ready: Option<(&'a str, &'a str)>,
}

/// Which changes to the issue's fields the map reads.
pub struct MapReads<'a> {
    /// the map narrows by component
    pub components: bool,
    /// the labels the map narrows by
    pub labels: &'a [String],
}

/// A changelog entry whose id is no number afk can record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadEntry(pub String);

impl std::fmt::Display for BadEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "jira: a changelog entry's id is not a number ({:?})",
            self.0
        )
    }
}

/// An issue's changelog as afk's forge-neutral timeline, in the order it
/// happened, so the forges' ready rule reads it as it reads a forge's
/// (the arming is the last event that added the ready label, by its
/// author; an edit after it needs a new arming):
/// - every label a `labels` item added or removed is a label event by the
///   entry's `author` (`""`: an anonymous change, never trusted); Jira
///   writes labels separated by spaces;
/// - a label the issue carries that no entry added came with its creation
///   (Jira writes no changelog item for values given at creation): a label
///   event first, id 0, by the issue's `creator` (never its `reporter`,
///   which others may set);
/// - an entry by anyone but `me` (afk's accountId) that changes what
///   enters the prompt or picks the repository is one `Renamed` event,
///   before its label events: the summary, description, environment,
///   project or type, a move (`Key`, which has no `fieldId`), the
///   components where the map narrows by them, a label the map narrows by.
///
/// `historyMetadata` (written by whoever calls the API) is never read.
/// `me` is written as `me_login` (afk's one name for its own account).
pub fn timeline(
    changes: &[JiraChange],
    (me, me_login): (&str, &str),
    now: &Now,
    map: &MapReads,
) -> Result<Vec<TimelineEvent>, BadEntry> {
    let ordered = in_order(changes);
    let mut out = vec![];
    let event =
        |id: i64, kind: TimelineKind, label: Option<&str>, actor: &str, at: Option<&str>| {
            TimelineEvent {
                id,
                kind,
                label: label.map(str::to_string),
                actor: match actor == me && !me.is_empty() {
                    true => me_login.to_string(),
                    false => actor.to_string(),
                },
                created_at: at.and_then(time).map(rfc3339),
            }
        };
    let ready_label = now.ready.map(|(_, l)| l);
    let added_ever = |label: &str| {
        changes.iter().flat_map(|c| c.items.iter()).any(|i| {
            match (Some(label) == ready_label, status_arms(i, now.ready)) {
                (true, Some((into, _))) => into,
                (true, None) => false,
                (false, _) => adds_label(i, label),
            }
        })
    };
    for l in now.labels.iter().filter(|l| !added_ever(l)) {
        out.push(event(
            0,
            TimelineKind::LabelAdded,
            Some(l),
            now.creator.unwrap_or(""),
            now.created,
        ));
    }
    for c in ordered {
        let id: i64 = c.id.parse().map_err(|_| BadEntry(c.id.clone()))?;
        let by = c.author.as_ref().map_or("", |a| a.account_id.as_str());
        let at = Some(c.created.as_str());
        let reads = |i: &JiraChangeItem| {
            let f = i.field_id.as_deref();
            f.is_some_and(|f| PROMPT_FIELDS.contains(&f))
                || (f.is_none() && i.field == "Key")
                || (map.components && f == Some("components"))
                || map
                    .labels
                    .iter()
                    .any(|l| adds_label(i, l) || removes_label(i, l))
        };
        if (by != me || me.is_empty()) && c.items.iter().any(reads) {
            out.push(event(id, TimelineKind::Renamed, None, by, at));
        }
        for i in c
            .items
            .iter()
            .filter(|i| i.field_id.as_deref() == Some("labels"))
        {
            let from = labels_of(i.from_string.as_deref());
            let to = labels_of(i.to_string.as_deref());
            // with `ready = "status"` the ready label is the status's alone
            let real = |l: &&&str| Some(**l) != ready_label;
            for l in to.iter().filter(|l| !from.contains(l)).filter(real) {
                out.push(event(id, TimelineKind::LabelAdded, Some(l), by, at));
            }
            for l in from.iter().filter(|l| !to.contains(l)).filter(real) {
                out.push(event(id, TimelineKind::LabelRemoved, Some(l), by, at));
            }
        }
        for (into, out_of) in c.items.iter().filter_map(|i| status_arms(i, now.ready)) {
            let kind = match (into, out_of) {
                (true, _) => TimelineKind::LabelAdded,
                (_, true) => TimelineKind::LabelRemoved,
                _ => continue,
            };
            out.push(event(id, kind, ready_label, by, at));
        }
    }
    Ok(out)
}

/// What an issue link says of a blocker, from the issue's `issuelinks`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Blocker {
    /// the blocker's key, not done (or its status category unread)
    Open(String),
}

/// The issues blocking this one: `issuelinks` entries of the type named
/// `link_type` that carry `inwardIssue` (this issue *is blocked by* that
/// one) whose status category is not `done`. A link whose blocker shows no
/// status category blocks (an absent category is not "done").
pub fn blockers(issuelinks: &serde_json::Value, link_type: &str) -> Vec<Blocker> {
    let Some(links) = issuelinks.as_array() else {
        return vec![];
    };
    links
        .iter()
        .filter(|l| l.pointer("/type/name").and_then(|v| v.as_str()) == Some(link_type))
        .filter_map(|l| l.get("inwardIssue"))
        .filter(|i| {
            i.pointer("/fields/status/statusCategory/key")
                .and_then(|v| v.as_str())
                != Some("done")
        })
        .map(|i| {
            let key = i.get("key").and_then(|v| v.as_str()).unwrap_or("?");
            Blocker::Open(key.to_string())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tracker::trust::tests::account;
    use serde_json::json;

    /// The rule "`X-RateLimit-Reset` is read as Jira writes it, minutes
    /// and `Z`, or any time with seconds".
    #[test]
    fn jiras_rate_limit_reset_is_read_with_or_without_seconds() {
        let cases = [
            ("2026-11-30T17:10Z", Some(1_796_058_600)),
            ("2026-11-30T17:10:30Z", Some(1_796_058_630)),
            ("2026-11-30T17:10:30.000+0000", Some(1_796_058_630)),
            ("2026-11-30T18:10+0100", Some(1_796_058_600)),
            (" 2026-11-30T17:10Z ", Some(1_796_058_600)),
            ("1796058600", None),
            ("2026-11-30T17Z", None),
            ("", None),
        ];
        for (text, want) in cases {
            assert_eq!(rate_limit_reset(text), want, "{text:?}");
        }
    }

    fn change(id: &str, by: Option<&str>, at: &str, items: Vec<JiraChangeItem>) -> JiraChange {
        JiraChange {
            id: id.into(),
            author: by.map(|b| account(b, "atlassian", true)),
            created: at.into(),
            items,
        }
    }

    fn item(field_id: Option<&str>, field: &str, from: &str, to: &str) -> JiraChangeItem {
        JiraChangeItem {
            field: field.into(),
            field_id: field_id.map(str::to_string),
            from: None,
            to: None,
            from_string: Some(from.into()),
            to_string: Some(to.into()),
        }
    }

    fn labels(from: &str, to: &str) -> JiraChangeItem {
        item(Some("labels"), "labels", from, to)
    }

    #[test]
    fn jira_times_are_read_with_or_without_the_offsets_colon() {
        let cases = [
            ("2019-02-27T13:30:21.153+0300", Some(1551263421)),
            ("2019-02-27T10:30:21.153+0000", Some(1551263421)),
            ("2019-02-27T10:30:21.153Z", Some(1551263421)),
            ("2019-02-27T13:30:21.153+03:00", Some(1551263421)),
            ("2019-02-27 10:30", None),
            ("", None),
        ];
        for (s, want) in cases {
            assert_eq!(time(s).map(|t| t.unix_timestamp()), want, "{s}");
        }
    }

    #[test]
    fn the_ready_search_quotes_every_string_it_names() {
        let cases = [
            (
                vec!["10000".to_string()],
                "agent-ready",
                r#"project in ("10000") AND labels = "agent-ready" AND statusCategory != Done ORDER BY key ASC"#,
            ),
            (
                vec!["10000".into(), "10001".into()],
                r#"a"b\c"#,
                r#"project in ("10000", "10001") AND labels = "a\"b\\c" AND statusCategory != Done ORDER BY key ASC"#,
            ),
        ];
        for (projects, label, want) in cases {
            assert_eq!(ready_jql(&projects, label), want);
        }
    }

    fn kinds(events: &[TimelineEvent]) -> Vec<(i64, &'static str, String, String)> {
        events
            .iter()
            .map(|e| {
                let k = match e.kind {
                    TimelineKind::LabelAdded => "+",
                    TimelineKind::LabelRemoved => "-",
                    TimelineKind::Renamed => "edit",
                    TimelineKind::Other => "other",
                };
                (
                    e.id,
                    k,
                    e.label.clone().unwrap_or_default(),
                    e.actor.clone(),
                )
            })
            .collect()
    }

    /// The rule "a Jira changelog is afk's timeline": label events by the
    /// entry's author, a label given at creation by the creator, an edit of
    /// what the agent reads by anyone but afk, in the order it happened.
    #[test]
    fn a_jira_changelog_is_read_as_the_timeline_the_ready_rule_reads() {
        let t = "2026-01-01T10:00:00.000+0000";
        let t2 = "2026-01-01T11:00:00.000+0000";
        let t3 = "2026-01-01T12:00:00.000+0000";
        let e =
            |id: i64, k: &'static str, l: &str, by: &str| (id, k, l.to_string(), by.to_string());
        let map_labels = vec!["backend".to_string()];
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        type Case = (
            &'static str,
            Vec<JiraChange>,
            Vec<String>,
            bool,
            Vec<(i64, &'static str, String, String)>,
        );
        let cases: Vec<Case> = vec![
            (
                "the label came with the issue: its creator",
                vec![],
                s(&["ready"]),
                false,
                vec![e(0, "+", "ready", "c-1")],
            ),
            (
                "armed, removed, armed again",
                vec![
                    change("101", Some("alice"), t, vec![labels("", "ready")]),
                    change("102", Some("bob"), t2, vec![labels("ready", "")]),
                    change("103", Some("mallory"), t3, vec![labels("x", "x ready")]),
                ],
                s(&["x", "ready"]),
                false,
                vec![
                    e(0, "+", "x", "c-1"),
                    e(101, "+", "ready", "alice"),
                    e(102, "-", "ready", "bob"),
                    e(103, "+", "ready", "mallory"),
                ],
            ),
            (
                "pages out of order: by time",
                vec![
                    change("103", Some("mallory"), t3, vec![labels("", "ready")]),
                    change("101", Some("alice"), t, vec![labels("", "ready")]),
                ],
                s(&["ready"]),
                false,
                vec![
                    e(101, "+", "ready", "alice"),
                    e(103, "+", "ready", "mallory"),
                ],
            ),
            (
                "a label holding the name is another label",
                vec![change(
                    "101",
                    Some("bob"),
                    t,
                    vec![labels("", "ready-later")],
                )],
                s(&["ready", "ready-later"]),
                false,
                vec![e(0, "+", "ready", "c-1"), e(101, "+", "ready-later", "bob")],
            ),
            (
                "an anonymous change has no author",
                vec![change("101", None, t, vec![labels("", "ready")])],
                s(&["ready"]),
                false,
                vec![e(101, "+", "ready", "")],
            ),
            (
                "afk's own change is afk's login, and no edit",
                vec![change(
                    "101",
                    Some("jira-afk"),
                    t,
                    vec![
                        labels("ready", "ready wip"),
                        item(Some("summary"), "summary", "a", "b"),
                    ],
                )],
                s(&["ready", "wip"]),
                false,
                vec![e(0, "+", "ready", "c-1"), e(101, "+", "wip", "afk-bot")],
            ),
            (
                "an edit of what the agent reads, before the entry's labels",
                vec![change(
                    "101",
                    Some("bob"),
                    t,
                    vec![
                        labels("", "ready"),
                        item(Some("description"), "description", "a", "b"),
                    ],
                )],
                s(&["ready"]),
                false,
                vec![e(101, "edit", "", "bob"), e(101, "+", "ready", "bob")],
            ),
            (
                "a move's key",
                vec![change(
                    "101",
                    Some("bob"),
                    t,
                    vec![item(None, "Key", "PLAT-1", "OPS-9")],
                )],
                s(&[]),
                false,
                vec![e(101, "edit", "", "bob")],
            ),
            (
                "priority is not read",
                vec![change(
                    "101",
                    Some("bob"),
                    t,
                    vec![item(Some("priority"), "priority", "Low", "High")],
                )],
                s(&[]),
                false,
                vec![],
            ),
            (
                "components, where the map reads them",
                vec![change(
                    "101",
                    Some("bob"),
                    t,
                    vec![item(Some("components"), "Component", "api", "web")],
                )],
                s(&[]),
                true,
                vec![e(101, "edit", "", "bob")],
            ),
            (
                "components, where it does not",
                vec![change(
                    "101",
                    Some("bob"),
                    t,
                    vec![item(Some("components"), "Component", "api", "web")],
                )],
                s(&[]),
                false,
                vec![],
            ),
            (
                "a map label is an edit",
                vec![change("101", Some("bob"), t, vec![labels("", "backend")])],
                s(&["backend"]),
                false,
                vec![e(101, "edit", "", "bob"), e(101, "+", "backend", "bob")],
            ),
        ];
        for (name, changes, now_labels, components, want) in cases {
            let now = Now {
                creator: Some("c-1"),
                created: Some(t),
                labels: &now_labels,
                ready: None,
            };
            let map = MapReads {
                components,
                labels: &map_labels,
            };
            let got = timeline(&changes, ("jira-afk", "afk-bot"), &now, &map).unwrap();
            assert_eq!(kinds(&got), want, "{name}");
        }
        let bad = vec![change("x", Some("alice"), t, vec![labels("", "ready")])];
        let now = Now {
            creator: None,
            created: None,
            labels: &[],
            ready: None,
        };
        let map = MapReads {
            components: false,
            labels: &[],
        };
        assert!(
            timeline(&bad, ("a", "b"), &now, &map).is_err(),
            "an id that is no number"
        );
        let got = timeline(&changes_at(t), ("a", "b"), &now, &map).unwrap();
        assert_eq!(got[0].created_at.as_deref(), Some("2026-01-01T10:00:00Z"));
    }

    fn changes_at(t: &str) -> Vec<JiraChange> {
        vec![change("5", Some("p"), t, vec![labels("", "x")])]
    }

    /// The rule "trust, Jira".
    #[test]
    fn with_ready_status_a_move_into_the_ready_status_is_the_arming_and_a_real_label_is_none() {
        let t = "2026-01-01T10:00:00.000+0000";
        let status = |from: &str, to: &str| JiraChangeItem {
            field: "status".into(),
            field_id: Some("status".into()),
            from: Some(from.into()),
            to: Some(to.into()),
            from_string: Some(format!("status {from}")),
            to_string: Some(format!("status {to}")),
        };
        let e = |id: i64, k: &'static str, by: &str| (id, k, "ready".to_string(), by.to_string());
        type Case = (
            &'static str,
            Vec<JiraChange>,
            Vec<String>,
            Vec<(i64, &'static str, String, String)>,
        );
        let cases: Vec<Case> = vec![
            (
                "moved into it by alice",
                vec![change("101", Some("alice"), t, vec![status("1", "7")])],
                vec!["ready".into()],
                vec![e(101, "+", "alice")],
            ),
            (
                "moved out of it, then in again by mallory",
                vec![
                    change("101", Some("alice"), t, vec![status("1", "7")]),
                    change("102", Some("bob"), t, vec![status("7", "3")]),
                    change("103", Some("mallory"), t, vec![status("3", "7")]),
                ],
                vec!["ready".into()],
                vec![
                    e(101, "+", "alice"),
                    e(102, "-", "bob"),
                    e(103, "+", "mallory"),
                ],
            ),
            (
                "made in it: its creator",
                vec![],
                vec!["ready".into()],
                vec![e(0, "+", "c-1")],
            ),
            (
                "a real label of the name arms nothing",
                vec![change("101", Some("mallory"), t, vec![labels("", "ready")])],
                vec![],
                vec![],
            ),
            (
                "another status move is none",
                vec![change("101", Some("bob"), t, vec![status("1", "3")])],
                vec![],
                vec![],
            ),
        ];
        let map = MapReads {
            components: false,
            labels: &[],
        };
        for (name, changes, now_labels, want) in cases {
            let now = Now {
                creator: Some("c-1"),
                created: Some(t),
                labels: &now_labels,
                ready: Some(("7", "ready")),
            };
            let got = timeline(&changes, ("jira-afk", "afk-bot"), &now, &map).unwrap();
            assert_eq!(kinds(&got), want, "{name}");
        }
        assert_eq!(
            ready_status_jql(&["PLAT".into()], "10100"),
            "project in (\"PLAT\") AND status = 10100 AND statusCategory != Done ORDER BY key ASC"
        );
        assert_eq!(
            ready_status_jql(&["PLAT".into()], "Ready \"now\""),
            "project in (\"PLAT\") AND status = \"Ready \\\"now\\\"\" AND statusCategory != Done ORDER BY key ASC"
        );
    }

    #[test]
    fn an_issue_is_blocked_by_an_inward_link_of_the_type_whose_blocker_is_not_done() {
        let link = |ty: &str, side: &str, key: &str, cat: Option<&str>| {
            let status = match cat {
                Some(c) => json!({"name": "S", "statusCategory": {"key": c}}),
                None => json!({"name": "S"}),
            };
            json!({"type": {"name": ty, "inward": "is blocked by", "outward": "blocks"},
                   side: {"key": key, "fields": {"status": status}}})
        };
        let cases: Vec<(&str, serde_json::Value, Vec<&str>)> = vec![
            ("none", json!([]), vec![]),
            (
                "an open blocker",
                json!([link("Blocks", "inwardIssue", "P-1", Some("indeterminate"))]),
                vec!["P-1"],
            ),
            (
                "a done blocker",
                json!([link("Blocks", "inwardIssue", "P-1", Some("done"))]),
                vec![],
            ),
            (
                "a blocker with no category",
                json!([link("Blocks", "inwardIssue", "P-1", None)]),
                vec!["P-1"],
            ),
            (
                "this one blocks another",
                json!([link("Blocks", "outwardIssue", "P-2", Some("new"))]),
                vec![],
            ),
            (
                "another link type",
                json!([link("Relates", "inwardIssue", "P-3", Some("new"))]),
                vec![],
            ),
        ];
        for (name, links, want) in cases {
            let got: Vec<String> = blockers(&links, "Blocks")
                .into_iter()
                .map(|Blocker::Open(k)| k)
                .collect();
            assert_eq!(got, want, "{name}");
        }
    }
}
