//! The clocks of a run (docs/how-it-works.md#afk-watch-the-lifecycle): what
//! counts as progress, since when nothing changed, since when the PR has been
//! green, and when that becomes a `merge_hold` lesson. Pure: `now` and the
//! stored marks come in.
//!
//! What afk reads of the agent's progress file is bounded, whatever the agent
//! wrote: its last [`TAIL_BYTES`] ([`window`]; the phase and a `blocked`
//! report are the latest lines, so the tail is where they are), and of that
//! only lines up to [`MAX_LINE`] bytes; longer ones are skipped and counted.

use super::run_state::Checks;
use std::time::Duration;
use time::OffsetDateTime;

/// A PR green and unmerged for longer than this is a `merge_hold` lesson.
pub const MERGE_HOLD_AFTER: Duration = Duration::from_secs(24 * 3600);

/// Everything whose change counts as progress: the agent's files growing, the
/// runner's own marks, a new head, a CI or PR state change, a deploy state
/// change, a new turn.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Marks<'a> {
    pub progress_len: u64,
    pub log_len: u64,
    pub runner_marks: &'a str,
    pub head_sha: Option<&'a str>,
    pub ci: Checks,
    /// `state:merged` of the PR, empty without one.
    pub pr_state: &'a str,
    pub deploy: Checks,
    pub turns: u32,
}

/// The progress fingerprint stored on the run: equal fingerprints mean
/// nothing changed. What afk observes of the world comes first, the agent's
/// own files after the `|`, so [`last_change`] can tell a change the agent
/// made (dated by its log) from one afk saw happen.
pub fn fingerprint(m: &Marks) -> String {
    format!(
        "a{}:h{}:c{:?}:r{}:d{:?}:t{}|p{}:l{}",
        m.runner_marks,
        m.head_sha.unwrap_or(""),
        m.ci,
        m.pr_state,
        m.deploy,
        m.turns,
        m.progress_len,
        m.log_len,
    )
}

/// The part of a fingerprint afk observed of the world (before the `|`).
fn world(fp: &str) -> &str {
    fp.rsplit_once('|').map_or(fp, |(w, _)| w)
}

/// What the run row remembers of the last observation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    pub fingerprint: Option<String>,
    pub changed_at: Option<OffsetDateTime>,
}

/// When the last observed change happened. Dispatch is a change: the first
/// observation of a run measures from its dispatch (or from the agent's last
/// write, when its files show one later), never from "now" — otherwise a run
/// first seen long after its agent went quiet would get a fresh stall clock.
/// `log_clock`: the time the agent's own log gives its last line (a pod
/// log's timestamps, docs/runners.md#kubernetes-a-job-per-turn): when only the
/// agent's files changed, that is when it last made progress, not the moment
/// afk happened to look.
pub fn last_change(
    stored: &Stored,
    fp: &str,
    dispatched_at: OffsetDateTime,
    agent_wrote_at: Option<OffsetDateTime>,
    log_clock: Option<OffsetDateTime>,
    now: OffsetDateTime,
) -> OffsetDateTime {
    let before = stored.changed_at.unwrap_or(dispatched_at);
    match &stored.fingerprint {
        None => agent_wrote_at
            .map_or(dispatched_at, |w| w.max(dispatched_at))
            .min(now),
        Some(old) if old == fp => before,
        Some(old) => match log_clock {
            Some(t) if world(old) == world(fp) => t.min(now).max(before),
            _ => now,
        },
    }
}

/// Time since the last change (zero when the clock went backwards).
pub fn since(last: OffsetDateTime, now: OffsetDateTime) -> Duration {
    let d = now - last;
    Duration::from_secs(d.whole_seconds().max(0) as u64)
}

/// Whether a comment may be posted again after an earlier POST got no answer
/// (it may have landed): not before twice the request timeout and 5 s have
/// passed since that attempt, so a slow forge's late write is seen first.
/// No earlier attempt: post.
pub fn may_post_again(
    attempted_at: Option<OffsetDateTime>,
    now: OffsetDateTime,
    request_timeout: Duration,
) -> bool {
    let grace = request_timeout * 2 + Duration::from_secs(5);
    attempted_at.is_none_or(|at| since(at, now) >= grace)
}

/// Since when the PR has been green: kept while it stays green, set now when it
/// turns green, cleared otherwise.
pub fn green_since(
    prev: Option<OffsetDateTime>,
    green_now: bool,
    now: OffsetDateTime,
) -> Option<OffsetDateTime> {
    if green_now {
        Some(prev.unwrap_or(now))
    } else {
        None
    }
}

/// A PR green but unmerged for longer than [`MERGE_HOLD_AFTER`].
pub fn merge_hold_due(green_since: Option<OffsetDateTime>, now: OffsetDateTime) -> bool {
    green_since.is_some_and(|g| since(g, now) > MERGE_HOLD_AFTER)
}

/// The most of the progress file afk reads for the phase, a `blocked` report
/// and `runs show`: its last 8 MiB (memory per run is this, not the file).
pub const TAIL_BYTES: u64 = 8 << 20;

/// The longest progress line read: 4 MiB, room for a `blocked` report with a
/// reason of a megabyte and thousands of questions; a longer line is skipped.
pub const MAX_LINE: usize = 4 << 20;

/// Where a progress file's tail, read from offset `from` to its end, starts
/// being whole lines, and how many lines in it are too long to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// The first byte of the first whole line (the file's start, or just after
    /// the first line end: a line the window cut is not read).
    pub start: usize,
    /// Lines over [`MAX_LINE`]: the cut first one when what is seen of it is
    /// over already, and every whole one.
    pub skipped: usize,
}

/// The whole lines of `bytes`, a file's last bytes read from offset `from`.
pub fn window(bytes: &[u8], from: u64) -> Window {
    let start = match bytes.iter().position(|b| *b == b'\n') {
        _ if from == 0 => 0,
        Some(i) => i + 1,
        None => bytes.len(),
    };
    let cut_too_long = usize::from(start > MAX_LINE);
    let whole = bytes[start..]
        .split(|b| *b == b'\n')
        .filter(|l| l.len() > MAX_LINE)
        .count();
    Window {
        start,
        skipped: cut_too_long + whole,
    }
}

/// The progress lines afk reads, the latest first: every one up to
/// [`MAX_LINE`] bytes.
fn readable(progress: &[u8]) -> impl Iterator<Item = &[u8]> {
    progress
        .rsplit(|b| *b == b'\n')
        .filter(|l| l.len() <= MAX_LINE)
}

/// The readable lines that are JSON, the latest first, read lossily: a bad
/// byte or a broken line is skipped, the rest counts.
pub(crate) fn readable_json(progress: &[u8]) -> impl Iterator<Item = serde_json::Value> {
    readable(progress).filter_map(|raw| {
        serde_json::from_str::<serde_json::Value>(String::from_utf8_lossy(raw).trim()).ok()
    })
}

/// What a blocked agent said in its progress file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blocked {
    pub reason: String,
    pub questions: Vec<String>,
}

/// The reason and the questions of a blocked report (a progress line, or an
/// agent thread's `blocked` object): a reason that is not a string is none,
/// and only string questions count.
fn blocked_of(v: &serde_json::Value) -> Blocked {
    Blocked {
        reason: v["reason"].as_str().unwrap_or("").to_string(),
        questions: v["questions"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|q| q.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default(),
    }
}

/// An agent thread's `blocked` field
/// (docs/runners.md#http-an-agent-thread-service): an object `{reason,
/// questions}` means blocked, as does a bare string (taken as the reason);
/// absent, null, false or anything else means not blocked.
pub fn thread_blocked(v: Option<&serde_json::Value>) -> Option<Blocked> {
    match v? {
        serde_json::Value::Object(_) => Some(blocked_of(v?)),
        serde_json::Value::String(reason) => Some(Blocked {
            reason: reason.clone(),
            questions: vec![],
        }),
        _ => None,
    }
}

/// Read the agent's progress file (JSON lines): the last `{"status":"blocked"}`
/// wins until a later `{"phase":…}` line replaces it. Lines are read one by
/// one and lossily: a bad byte, a broken line or one over [`MAX_LINE`] is
/// skipped, the rest counts.
pub fn blocked_in(progress: &[u8]) -> Option<Blocked> {
    // from the end: the latest line that decides is the one that counts
    readable_json(progress).find_map(|v| {
        if v["status"] == "blocked" {
            Some(Some(blocked_of(&v)))
        } else {
            v.get("phase").is_some().then_some(None)
        }
    })?
}

/// The agent's latest phase (`{"phase":"green"}`) and when: the line's own
/// `at` (RFC 3339) when it has one, else `written_at` (when the progress file
/// was last written). The name is cleaned to one short line: it is agent text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phase {
    pub name: String,
    pub at: Option<String>,
}

pub fn latest_phase(progress: &[u8], written_at: Option<&str>) -> Option<Phase> {
    let (name, at) = readable_json(progress).find_map(|v| {
        let name = v["phase"].as_str()?;
        let at = v["at"]
            .as_str()
            .filter(|t| crate::types::stamp::parse(t).is_some())
            .map(str::to_string);
        Some((super::sanitize::one_line(name, 40), at))
    })?;
    if name.is_empty() {
        return None;
    }
    Some(Phase {
        name,
        at: at.or_else(|| written_at.map(str::to_string)),
    })
}

/// The progress file's lines as `runs show` prints them: each cleaned to one
/// line of at most `LINE_MAX` characters (the cut said), empty ones dropped,
/// the last `max` kept.
pub fn lines(progress: &[u8], max: usize) -> Vec<String> {
    let mut last: Vec<String> = readable(progress)
        .map(|raw| super::sanitize::one_line_cut(&String::from_utf8_lossy(raw), LINE_MAX))
        .filter(|l| !l.is_empty())
        .take(max)
        .collect();
    last.reverse();
    last
}

/// The most characters of one progress line `runs show` prints.
pub(crate) const LINE_MAX: usize = 400;

/// A run's PR counts as green while it is open, unmerged, and its CI verdict
/// is a success (the merge-hold clock runs only then).
pub fn is_green(pr_open: bool, pr_merged: bool, ci: Checks) -> bool {
    pr_open && !pr_merged && ci == Checks::Success
}

/// What watch stores of one observation of a run; a new one is written only
/// when it differs from the stored one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observed<'a> {
    pub pr: Option<crate::types::PrNumber>,
    pub head_sha: Option<&'a str>,
    pub fingerprint: Option<&'a str>,
    pub changed_at: Option<&'a str>,
    pub green_since: Option<&'a str>,
    /// the PR head's CI ([`Checks::word`]); None: no PR
    pub ci: Option<&'a str>,
}

/// Whether this observation changes what is stored (so it is written).
pub fn observation_changed(stored: &Observed, now: &Observed) -> bool {
    stored != now
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_latest_phase_wins_with_its_own_time_or_the_files() {
        let w = Some("2026-01-01T12:00:00Z");
        let p = |n: &str, at: Option<&str>| {
            Some(Phase {
                name: n.into(),
                at: at.map(str::to_string),
            })
        };
        let table: [(&[u8], Option<Phase>); 6] = [
            (b"", None),
            (
                b"{\"phase\":\"tests-red\"}\n{\"phase\":\"green\"}\n",
                p("green", w),
            ),
            (
                b"{\"phase\":\"pushed\",\"at\":\"2026-01-01T11:00:00Z\"}\n{\"cost_usd\":1}\n",
                p("pushed", Some("2026-01-01T11:00:00Z")),
            ),
            (b"{\"phase\":\"x\",\"at\":\"yesterday\"}\n", p("x", w)),
            (b"{\"phase\":\"a\\u001b[31mb\"}\nnot json\n", p("a[31mb", w)),
            (b"{\"status\":\"blocked\"}\n{\"phase\":\"\"}\n", None),
        ];
        for (i, (bytes, want)) in table.into_iter().enumerate() {
            assert_eq!(latest_phase(bytes, w), want, "case {i}");
        }
    }

    #[test]
    fn only_the_whole_lines_of_the_tail_are_read_and_long_ones_are_skipped() {
        let long = vec![b'x'; MAX_LINE + 1];
        let with = |parts: &[&[u8]]| parts.concat();
        let cases: [(Vec<u8>, u64, usize, usize, &str); 6] = [
            (
                b"a\nb\n".to_vec(),
                0,
                0,
                0,
                "the whole file: from its start",
            ),
            (
                b"t of a line\nb\n".to_vec(),
                9,
                12,
                0,
                "a tail: the cut first line is not read",
            ),
            (
                b"no end in sight".to_vec(),
                9,
                15,
                0,
                "a tail without a line end: nothing",
            ),
            (
                long.clone(),
                1 << 30,
                long.len(),
                1,
                "a cut line over the limit is counted",
            ),
            (
                with(&[b"a\n", &long, b"\nb\n"]),
                0,
                0,
                1,
                "a whole line over the limit",
            ),
            (with(&[&long, b"\n", &long]), 0, 0, 2, "each counted"),
        ];
        for (bytes, from, start, skipped, why) in cases {
            assert_eq!(window(&bytes, from), Window { start, skipped }, "{why}");
        }
        // a line over the limit is no report, whatever it holds
        let huge = format!(
            "{{\"status\":\"blocked\",\"reason\":\"{}\"}}\n",
            "r".repeat(MAX_LINE)
        );
        assert_eq!(blocked_in(huge.as_bytes()), None);
        assert_eq!(lines(huge.as_bytes(), 5), Vec::<String>::new());
        // a megabyte's reason and 5,000 questions fit
        let questions: Vec<String> = (0..5000).map(|i| format!("question {i}?")).collect();
        let big = serde_json::json!({"status": "blocked", "reason": "r".repeat(1 << 20), "questions": questions});
        let b = blocked_in(format!("{big}\n").as_bytes()).unwrap();
        assert_eq!((b.reason.len(), b.questions.len()), (1 << 20, 5000));
    }

    #[test]
    fn the_latest_deciding_line_wins_blocked_or_not() {
        let cases: [(&[u8], Option<&str>); 5] = [
            (b"{\"status\":\"blocked\",\"reason\":\"a\"}\n", Some("a")),
            (b"{\"status\":\"blocked\",\"reason\":\"a\"}\n{\"phase\":\"green\"}\n", None),
            (b"{\"phase\":\"x\"}\n{\"status\":\"blocked\",\"reason\":\"b\"}\n{\"cost_usd\":1}\nnot json\n", Some("b")),
            (b"{\"status\":\"blocked\",\"reason\":\"a\"}\n{\"status\":\"blocked\",\"reason\":\"c\",\"phase\":\"p\"}\n", Some("c")),
            (b"", None),
        ];
        for (bytes, want) in cases {
            let got = blocked_in(bytes);
            assert_eq!(
                got.as_ref().map(|b| b.reason.as_str()),
                want,
                "{}",
                String::from_utf8_lossy(bytes)
            );
        }
    }

    #[test]
    fn progress_lines_are_one_line_each_and_the_last_ones() {
        assert_eq!(lines(b"a\n\nb\nc\n", 2), vec!["b", "c"]);
        assert_eq!(lines(b"x\ty\r\n", 5), vec!["x y"]);
    }

    #[test]
    fn a_comment_is_posted_again_only_after_twice_the_timeout_and_five_seconds() {
        let t0 = datetime!(2026-01-01 00:00 UTC);
        let timeout = Duration::from_secs(10);
        let s = time::Duration::seconds;
        let cases = [
            (None, t0, true),
            (Some(t0), t0, false),
            (Some(t0), t0 + s(24), false),
            (Some(t0), t0 + s(25), true),
            (Some(t0), t0 - s(60), false),
        ];
        for (attempted, now, want) in cases {
            assert_eq!(
                may_post_again(attempted, now, timeout),
                want,
                "{attempted:?} {now}"
            );
        }
    }
    use time::macros::datetime;

    const T0: OffsetDateTime = datetime!(2026-01-01 00:00 UTC);

    fn m(progress_len: u64) -> Marks<'static> {
        Marks {
            progress_len,
            log_len: 0,
            runner_marks: "",
            head_sha: None,
            ci: Checks::None,
            pr_state: "",
            deploy: Checks::None,
            turns: 1,
        }
    }

    #[test]
    fn fingerprint_changes_with_every_kind_of_progress() {
        let base = fingerprint(&m(0));
        let changed = [
            fingerprint(&m(1)),
            fingerprint(&Marks { log_len: 5, ..m(0) }),
            fingerprint(&Marks {
                runner_marks: "green:t",
                ..m(0)
            }),
            fingerprint(&Marks {
                head_sha: Some("abc"),
                ..m(0)
            }),
            fingerprint(&Marks {
                ci: Checks::Failure,
                ..m(0)
            }),
            fingerprint(&Marks {
                pr_state: "open:false",
                ..m(0)
            }),
            fingerprint(&Marks {
                deploy: Checks::Pending,
                ..m(0)
            }),
            fingerprint(&Marks { turns: 2, ..m(0) }),
        ];
        for (i, f) in changed.iter().enumerate() {
            assert_ne!(f, &base, "mark {i}");
        }
        assert_eq!(fingerprint(&m(0)), base);
    }

    #[test]
    fn stall_clock_runs_from_the_last_observed_change_and_dispatch_is_one() {
        let now = T0 + time::Duration::hours(5);
        let dispatched = T0;
        let seen_at = T0 + time::Duration::hours(1);
        let stored = |fp: Option<&str>, at: Option<OffsetDateTime>| Stored {
            fingerprint: fp.map(str::to_string),
            changed_at: at,
        };
        let cases = [
            // first observation: from dispatch, not from now
            (stored(None, None), "a", None, dispatched),
            // first observation, the agent wrote later than dispatch
            (stored(None, None), "a", Some(seen_at), seen_at),
            // a write time in the future (clock skew) is capped at now
            (
                stored(None, None),
                "a",
                Some(now + time::Duration::hours(1)),
                now,
            ),
            // unchanged: the stored time stands
            (stored(Some("a"), Some(seen_at)), "a", None, seen_at),
            // unchanged but no time stored: dispatch
            (stored(Some("a"), None), "a", None, dispatched),
            // changed: now
            (stored(Some("a"), Some(seen_at)), "b", None, now),
        ];
        for (i, (s, fp, wrote, want)) in cases.into_iter().enumerate() {
            assert_eq!(
                last_change(&s, fp, dispatched, wrote, None, now),
                want,
                "case {i}"
            );
        }
        assert_eq!(since(T0, now), Duration::from_secs(5 * 3600));
        assert_eq!(since(now, T0), Duration::ZERO);
    }

    #[test]
    fn stall_clock_follows_the_log_s_last_timestamp_when_only_the_agent_wrote() {
        let now = T0 + time::Duration::seconds(125);
        let dispatched = T0;
        let logged = T0 + time::Duration::seconds(55);
        let looked = T0 + time::Duration::seconds(70);
        let stored = |fp: &str| Stored {
            fingerprint: Some(fp.to_string()),
            changed_at: Some(T0 + time::Duration::seconds(10)),
        };
        let cases = [
            (
                "the log grew: its last line's time",
                "w|p1:l1",
                "w|p1:l9",
                Some(logged),
                logged,
            ),
            (
                "afk saw the world change: now",
                "w|p1:l1",
                "v|p1:l9",
                Some(logged),
                now,
            ),
            (
                "no log clock (a local process): now",
                "w|p1:l1",
                "w|p1:l9",
                None,
                now,
            ),
            (
                "a log clock in the future is now",
                "w|p1:l1",
                "w|p1:l9",
                Some(now + time::Duration::hours(1)),
                now,
            ),
            (
                "a log clock before the last change keeps that change",
                "w|p1:l1",
                "w|p1:l9",
                Some(T0),
                T0 + time::Duration::seconds(10),
            ),
            (
                "an old fingerprint without a `|`: now",
                "p1:l1:a",
                "w|p1:l9",
                Some(logged),
                now,
            ),
        ];
        for (rule, old, fp, clock, want) in cases {
            assert_eq!(
                last_change(&stored(old), fp, dispatched, None, clock, now),
                want,
                "{rule}"
            );
        }
        // the issue's case: silent since 55 s, first seen at 70 s, stalled at 125 s with 1m
        let seen = last_change(
            &stored("w|p0:l0"),
            "w|p1:l1",
            dispatched,
            None,
            Some(logged),
            looked,
        );
        assert_eq!(since(seen, now), Duration::from_secs(70));
    }

    #[test]
    fn green_since_is_kept_while_green_and_cleared_otherwise() {
        let now = T0 + time::Duration::hours(2);
        let cases = [
            (None, true, Some(now)),
            (Some(T0), true, Some(T0)),
            (Some(T0), false, None),
            (None, false, None),
        ];
        for (prev, green, want) in cases {
            assert_eq!(green_since(prev, green, now), want, "{prev:?} {green}");
        }
    }

    #[test]
    fn merge_hold_is_due_after_a_day_green() {
        let cases = [
            (None, false),
            (Some(T0), false),
            (Some(T0 - time::Duration::hours(24)), false),
            (Some(T0 - time::Duration::hours(25)), true),
        ];
        for (g, want) in cases {
            assert_eq!(merge_hold_due(g, T0), want, "{g:?}");
        }
    }

    #[test]
    fn blocked_wins_until_a_later_phase_and_bad_lines_are_skipped() {
        let b = |r: &str| {
            Some(Blocked {
                reason: r.into(),
                questions: vec![],
            })
        };
        let cases: Vec<(&[u8], Option<Blocked>)> = vec![
            (b"", None),
            (b"{\"phase\":\"green\"}\n", None),
            (b"{\"status\":\"blocked\",\"reason\":\"key\"}\n", b("key")),
            (b"{\"status\":\"blocked\",\"reason\":\"key\"}\n{\"phase\":\"pushed\"}\n", None),
            // one bad byte hides nothing
            (b"{\"phase\":\"x\xff\"}\n\xff\xfe garbage\n{\"status\":\"blocked\",\"reason\":\"r\"}\n", b("r")),
            // a torn last line is skipped
            (b"{\"status\":\"blocked\",\"reason\":\"a\"}\n{\"phase\":", b("a")),
        ];
        for (i, (bytes, want)) in cases.into_iter().enumerate() {
            assert_eq!(blocked_in(bytes), want, "case {i}");
        }
        let q = blocked_in(
            b"{\"status\":\"blocked\",\"reason\":\"r\",\"questions\":[\"a?\",1,\"b?\"]}",
        )
        .unwrap();
        assert_eq!(q.questions, vec!["a?", "b?"]);
    }

    #[test]
    fn a_threads_blocked_field_is_an_object_or_a_reason_else_nothing() {
        use serde_json::json;
        let b = |r: &str, q: &[&str]| {
            Some(Blocked {
                reason: r.into(),
                questions: q.iter().map(|s| s.to_string()).collect(),
            })
        };
        let cases = [
            (None, None),
            (Some(json!(null)), None),
            (Some(json!(false)), None),
            (Some(json!(true)), None),
            (Some(json!(3)), None),
            (Some(json!(["why?"])), None),
            (Some(json!({})), b("", &[])),
            (Some(json!({"reason": "no key"})), b("no key", &[])),
            (
                Some(json!({"reason": 7, "questions": ["a?", 1, null, "b?"]})),
                b("", &["a?", "b?"]),
            ),
            (Some(json!({"questions": "a?"})), b("", &[])),
            (Some(json!("need a key")), b("need a key", &[])),
        ];
        for (v, want) in cases {
            assert_eq!(thread_blocked(v.as_ref()), want, "{v:?}");
        }
    }

    #[test]
    fn only_an_open_unmerged_pr_with_successful_ci_is_green() {
        let cases = [
            (true, false, Checks::Success, true),
            (true, false, Checks::Pending, false),
            (true, false, Checks::Failure, false),
            (true, true, Checks::Success, false),
            (false, false, Checks::Success, false),
            (false, false, Checks::None, false),
        ];
        for (open, merged, ci, want) in cases {
            assert_eq!(is_green(open, merged, ci), want, "{open} {merged} {ci:?}");
        }
    }

    #[test]
    fn an_observation_is_written_when_any_stored_part_of_it_changes() {
        let base = Observed {
            pr: Some(crate::types::PrNumber(2)),
            head_sha: Some("a"),
            fingerprint: Some("f"),
            changed_at: Some("t"),
            green_since: None,
            ci: Some("pending"),
        };
        assert!(!observation_changed(&base, &base.clone()));
        let variants = [
            Observed {
                pr: None,
                ..base.clone()
            },
            Observed {
                head_sha: Some("b"),
                ..base.clone()
            },
            Observed {
                fingerprint: Some("g"),
                ..base.clone()
            },
            Observed {
                changed_at: Some("u"),
                ..base.clone()
            },
            Observed {
                green_since: Some("t"),
                ..base.clone()
            },
            Observed {
                ci: Some("red"),
                ..base.clone()
            },
        ];
        for v in variants {
            assert!(observation_changed(&base, &v), "{v:?}");
        }
    }
}
