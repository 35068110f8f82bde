//! How a burst of events for one repository is folded (docs/hook.md,
//! "Bursts"): one event-started tick of each kind per repository at a time
//! holds its slot (`<state dir>/event-<kind>-<key>.lock`); a trigger that
//! finds the slot taken writes one line into the repository's due flag
//! (`event-<kind>-<key>.due`, a file, never the state file) and ends; the slot's holder
//! clears the flag as its tick opens (that tick reads the forge after
//! every trigger before it) and does one follow-up when the flag is there
//! again at its end. These rules name the files and read the flag; the
//! binary takes the slot and runs the ticks.

use crate::types::TickKind;

/// The part of a slot's or flag's file name that names the repository:
/// its name in lower case (the forges' names are case-insensitive), every
/// byte but `a-z 0-9 . -` written `_` and two hex digits, so two names
/// never share a file and none leaves the state folder.
pub(crate) fn repo_key(repo: &str) -> String {
    let mut key = String::with_capacity(repo.len());
    for b in repo.to_ascii_lowercase().bytes() {
        match b {
            b'a'..=b'z' | b'0'..=b'9' | b'.' | b'-' => key.push(b as char),
            _ => key.push_str(&format!("_{b:02x}")),
        }
    }
    key
}

/// The slot's lock name (in the state folder, `.lock` added by the lock)
/// for the event ticks of `kind` over `repo`.
pub fn slot_name(kind: TickKind, repo: &str) -> String {
    format!("event-{}-{}", kind.as_str(), repo_key(repo))
}

/// The due flag's file name beside that slot.
pub fn flag_name(kind: TickKind, repo: &str) -> String {
    format!("{}.due", slot_name(kind, repo))
}

/// How much of a due flag is read: a burst's lines past it are folded all
/// the same (the flag's being there is what asks for the follow-up), only
/// their ids are not recorded.
pub const FLAG_READ_MAX: usize = 64 * 1024;

/// How many follow-ups one event's process does at most: a burst during a
/// tick is one; afk's own writes in it (a push, a checklist) make events
/// of their own, one more; past these the flag waits for the next trigger
/// or cron's watch.
pub const FOLLOW_UPS_MAX: usize = 3;

/// How many folded deliveries a follow-up records as handled.
pub(crate) const IDS_MAX: usize = 256;

/// The longest delivery id or fingerprint a flag line carries.
const ID_MAX: usize = 128;

/// One folded trigger's line: its delivery id (or `-`), the fingerprint of
/// what it delivered, and the earliest time (Unix milliseconds) its
/// follow-up may read the forge (a new comment's: its edit grace later).
pub fn due_line(delivery: Option<&str>, print: &str, not_before_ms: i64) -> String {
    format!(
        "{}\t{}\t{not_before_ms}\n",
        id_or_dash(delivery.unwrap_or("")),
        id_or_dash(print)
    )
}

/// An id as a flag line keeps it: printable ASCII without tabs, bounded;
/// anything else is `-` (not recorded).
fn id_or_dash(id: &str) -> String {
    let ok = !id.is_empty() && id.len() <= ID_MAX && id.bytes().all(|b| b.is_ascii_graphic());
    if ok { id.to_string() } else { "-".into() }
}

/// What a due flag asks of the follow-up.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Due {
    /// the folded deliveries' ids and fingerprints, to record as handled
    /// (at most [`IDS_MAX`], each once)
    pub ids: Vec<String>,
    /// the follow-up reads the forge no earlier than this (Unix ms)
    pub not_before_ms: i64,
}

/// Read a due flag's text (at most [`FLAG_READ_MAX`] of it, cut anywhere):
/// the ids of its well-formed lines and their latest `not_before`. A line
/// that is not three fields (cut, garbled) adds nothing but its being
/// there, which the caller has already seen.
pub fn due_of(text: &str) -> Due {
    let mut due = Due::default();
    for line in text.lines() {
        let fields: Vec<&str> = line.split('\t').collect();
        let [delivery, print, at] = fields[..] else {
            continue;
        };
        let Ok(at) = at.parse::<i64>() else { continue };
        due.not_before_ms = due.not_before_ms.max(at);
        for id in [delivery, print] {
            if id != "-"
                && id_or_dash(id) == id
                && due.ids.len() < IDS_MAX
                && !due.ids.iter().any(|x| x == id)
            {
                due.ids.push(id.to_string());
            }
        }
    }
    due
}

/// Whether one of the flag's lines in `text` asks for a tick now (its
/// time at or before `now_ms`: a turn's end, a status, a review; not a new
/// comment in its edit grace). Lines that are not well formed ask nothing.
pub fn asks_now(text: &str, now_ms: i64) -> bool {
    text.lines().any(|line| {
        let fields: Vec<&str> = line.split('\t').collect();
        matches!(fields[..], [_, _, at] if at.parse::<i64>().is_ok_and(|at| at <= now_ms))
    })
}

/// What an issue event's tick is followed by: poll reads the issue, then
/// watch, where a run of that repository is in flight, acts on it (a
/// closed or unlabelled issue's run abandoned and its agent stopped).
pub fn then_watch(kind: TickKind, runs_in_flight: usize) -> bool {
    kind == TickKind::Poll && runs_in_flight > 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_repository_names_one_file_and_never_leaves_the_state_folder() {
        let cases = [
            ("acme/web", "acme_2fweb"),
            ("Acme/Web", "acme_2fweb"),
            ("grp/sub/proj", "grp_2fsub_2fproj"),
            ("a_b/c", "a_5fb_2fc"),
            ("a/b_c", "a_2fb_5fc"),
            ("../../etc", ".._2f.._2fetc"),
            ("x y\u{e9}", "x_20y_c3_a9"),
        ];
        for (repo, key) in cases {
            assert_eq!(repo_key(repo), key, "{repo}");
            assert!(!repo_key(repo).contains('/'), "{repo}");
        }
        assert_eq!(
            slot_name(TickKind::Watch, "acme/web"),
            "event-watch-acme_2fweb"
        );
        assert_eq!(
            flag_name(TickKind::Poll, "acme/web"),
            "event-poll-acme_2fweb.due"
        );
    }

    #[test]
    fn a_follow_up_records_each_folded_delivery_once_and_waits_for_the_latest_grace() {
        let cases: [(&str, &[&str], i64); 6] = [
            ("", &[], 0),
            ("d1\tp1\t100\n", &["d1", "p1"], 100),
            (
                "d1\tp1\t100\n-\tp2\t300\nd1\tp1\t200\n",
                &["d1", "p1", "p2"],
                300,
            ),
            // a line cut where the reader stopped adds nothing
            ("d1\tp1\t100\nd2\tp", &["d1", "p1"], 100),
            // garbled lines: nothing from them
            ("d1 p1 100\nd2\tp2\tsoon\n\t\t\n", &[], 0),
            // an id with a space or a tab inside is not one
            ("d 1\tp1\t5\n", &["p1"], 5),
        ];
        for (text, ids, at) in cases {
            let due = due_of(text);
            assert_eq!(due.ids, ids, "{text:?}");
            assert_eq!(due.not_before_ms, at, "{text:?}");
        }
    }

    #[test]
    fn a_line_asks_now_unless_it_waits_for_a_new_comments_grace() {
        let cases = [
            ("", false),
            ("d1\tp1\t100\n", true),
            ("d1\tp1\t101\n", false),
            ("-\t-\t0\n", true),
            ("d1\tp1\t900\n-\t-\t50\n", true),
            // a line cut after a time reads as that time (an early tick at
            // worst); one cut before it, or garbled, asks nothing
            ("d1\tp1\t5", true),
            ("d1\tp1\n", false),
            ("d1\tp1\tsoon\n", false),
        ];
        for (text, now) in cases {
            assert_eq!(asks_now(text, 100), now, "{text:?}");
        }
    }

    #[test]
    fn a_flag_line_keeps_only_ids_it_can_read_back() {
        let cases = [
            (Some("abc-1"), "f00d", 7, "abc-1\tf00d\t7\n"),
            (None, "f00d", 7, "-\tf00d\t7\n"),
            (Some("has\ttab"), "f00d", 7, "-\tf00d\t7\n"),
            (Some("new\nline"), "", 7, "-\t-\t7\n"),
        ];
        for (delivery, print, at, line) in cases {
            assert_eq!(due_line(delivery, print, at), line);
        }
        let long = "x".repeat(ID_MAX + 1);
        assert_eq!(due_line(Some(&long), "p", 1), "-\tp\t1\n");
        // never more than IDS_MAX ids, however long the burst
        let burst: String = (0..IDS_MAX + 50)
            .map(|i| due_line(Some(&format!("d{i}")), "-", 1))
            .collect();
        assert_eq!(due_of(&burst).ids.len(), IDS_MAX);
    }

    #[test]
    fn an_issue_event_is_followed_by_watch_only_where_a_run_is_in_flight() {
        let cases = [
            (TickKind::Poll, 0, false),
            (TickKind::Poll, 1, true),
            (TickKind::Poll, 3, true),
            (TickKind::Watch, 1, false),
            (TickKind::Watch, 0, false),
        ];
        for (kind, runs, then) in cases {
            assert_eq!(then_watch(kind, runs), then, "{kind:?} {runs}");
        }
    }
}
