//! What a pull request's answers mean: a vote as a review, a thread's
//! status as an ask, the merge status as a conflict, policy evaluations
//! and statuses as CI, a ref update's status, an edited comment, and a
//! description within the limit (as the service counts its characters).

use afk_model::ReviewState;

/// A PR comment's id as afk keeps it: its thread's id and its own (a
/// comment is addressed by both; its own id counts from 1 in each thread).
pub fn pr_comment_id(thread: i64, comment: i64) -> i64 {
    (thread << 20) | (comment & 0xF_FFFF)
}

/// The `(thread, comment)` of a PR comment id ([`pr_comment_id`]).
pub fn pr_comment_parts(id: i64) -> (i64, i64) {
    (id >> 20, id & 0xF_FFFF)
}

/// A reviewer's `vote` as a review: `-10` (rejected) and `-5` (waiting for
/// the author) ask for changes, `10` and `5` approve, `0` is no vote.
pub fn vote_state(vote: i64) -> Option<ReviewState> {
    match vote {
        -10 | -5 => Some(ReviewState::ChangesRequested),
        10 | 5 => Some(ReviewState::Approved),
        0 => None,
        _ => Some(ReviewState::Other),
    }
}

/// A system comment of a PR thread that may record a vote: its author, its
/// `publishedDate`, and its thread's `CodeReviewThreadType` and
/// `CodeReviewVoteResult` properties (as the thread gives them, when it does).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VoteRecord {
    pub author: String,
    pub published: Option<String>,
    pub kind: Option<String>,
    pub result: Option<String>,
}

/// When `voter`'s current `vote` was cast: the `publishedDate` of the
/// latest system comment by them that records a vote (its thread's type
/// `VoteUpdate`, or a thread that names no type), when that record is of
/// this vote (its `CodeReviewVoteResult`, when given). None: no such
/// record; the first tick that saw the vote dates it.
pub fn vote_date(records: &[VoteRecord], voter: &str, vote: i64) -> Option<String> {
    let parse = |s: &str| {
        time::OffsetDateTime::parse(s.trim(), &time::format_description::well_known::Rfc3339).ok()
    };
    let (_, latest) = records
        .iter()
        .filter(|r| r.author.eq_ignore_ascii_case(voter))
        .filter(|r| {
            r.kind
                .as_deref()
                .is_none_or(|k| k.eq_ignore_ascii_case("VoteUpdate"))
        })
        .filter_map(|r| Some((parse(r.published.as_deref()?)?, r)))
        .max_by_key(|(at, _)| *at)?;
    let this_vote = latest
        .result
        .as_deref()
        .is_none_or(|v| v.trim().parse::<i64>().ok() == Some(vote));
    if this_vote {
        latest.published.clone()
    } else {
        None
    }
}

/// What a thread's `status` makes of its first trusted comment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Thread {
    /// `active` or `pending`: an ask
    Ask,
    /// `fixed`, `wontFix`, `closed` or `byDesign`, set by anyone
    Superseded,
    /// no status (`unknown`, absent) or another word: talk, never an ask
    Talk,
}

pub fn thread(status: Option<&str>) -> Thread {
    match status.unwrap_or("") {
        s if s.eq_ignore_ascii_case("active") || s.eq_ignore_ascii_case("pending") => Thread::Ask,
        s if ["fixed", "wontFix", "closed", "byDesign"]
            .iter()
            .any(|w| s.eq_ignore_ascii_case(w)) =>
        {
            Thread::Superseded
        }
        _ => Thread::Talk,
    }
}

/// A pull request's `mergeStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Merge {
    /// `notSet`, `queued`, absent: ask again next tick, never a conflict
    Computing,
    /// `conflicts`, `failure` (its `mergeFailureMessage` quoted)
    Conflict,
    /// `succeeded`, and `rejectedByPolicy` (a policy's verdict, not a conflict)
    Clean,
}

pub fn merge(status: Option<&str>) -> Merge {
    match status.unwrap_or("") {
        "conflicts" | "failure" => Merge::Conflict,
        "succeeded" | "rejectedByPolicy" => Merge::Clean,
        _ => Merge::Computing,
    }
}

/// A policy evaluation's `status` as a commit status's word (`success`,
/// `failure`, `pending`), None for `notApplicable`; a build validation whose
/// run is of an older head (`context.isExpired`) is pending.
pub fn policy_state(status: &str, expired: bool) -> Option<&'static str> {
    let word = match status {
        "approved" => "success",
        "rejected" | "broken" => "failure",
        "queued" | "running" => "pending",
        _ => return None,
    };
    Some(if expired { "pending" } else { word })
}

/// A PR or commit status's `state` as a commit status's word; None for
/// `notSet` and `notApplicable`.
pub fn status_state(state: &str) -> Option<&'static str> {
    match state {
        "succeeded" => Some("success"),
        "failed" | "error" => Some("failure"),
        "pending" => Some("pending"),
        _ => None,
    }
}

/// A status's name as `ci_contexts` names it: `genre/name`, or `name` when
/// the genre is empty.
pub fn status_context(genre: &str, name: &str) -> String {
    if genre.trim().is_empty() {
        name.to_string()
    } else {
        format!("{genre}/{name}")
    }
}

/// A ref update's `updateStatus` after afk's merge commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefUpdate {
    Done,
    /// `staleOldObjectId`: someone pushed; wait for the next tick
    Stale,
    /// anything else: the forge could not (turn `conflict`)
    Refused(String),
}

pub fn ref_update(status: &str) -> RefUpdate {
    match status {
        "succeeded" => RefUpdate::Done,
        "staleOldObjectId" => RefUpdate::Stale,
        other => RefUpdate::Refused(other.to_string()),
    }
}

/// Whether a PR comment was edited: `lastContentUpdatedDate` later than
/// `publishedDate` (likes and status changes move only `lastUpdatedDate`).
/// Both RFC 3339 from the same service: compared as parsed times.
pub fn pr_comment_edited(published: &str, last_content_updated: Option<&str>) -> bool {
    let parse = |s: &str| {
        time::OffsetDateTime::parse(s.trim(), &time::format_description::well_known::Rfc3339).ok()
    };
    match (parse(published), last_content_updated.and_then(parse)) {
        (Some(p), Some(u)) => u > p,
        // an unreadable date is no proof of an untouched comment
        (None, _) => true,
        (Some(_), None) => false,
    }
}

/// Whether a work-item comment was edited: its `version` is above 1.
pub fn work_item_comment_edited(version: i64) -> bool {
    version > 1
}

/// How Azure DevOps counts a description's characters: in UTF-16 units, as
/// its strings are (a character beyond the Basic Multilingual Plane, an
/// emoji, is two).
pub fn description_len(s: &str) -> usize {
    s.encode_utf16().count()
}

/// A PR description within `max` ([`description_len`]): as it is when it
/// fits. Else its first paragraph (`Closes #N`) and its footer (from the last
/// `\n---\n`: the run id and afk's marker) stay whole, and of what is between
/// as many whole lines as fit, never stopping inside a fenced block, then a
/// line saying that the rest was cut there and how much. A body whose first
/// paragraph and footer leave no room is cut at its end.
pub fn fit_description(body: &str, max: usize) -> String {
    if description_len(body) <= max {
        return body.to_string();
    }
    let (rest, tail) = body.split_at(body.rfind("\n---\n").unwrap_or(body.len()));
    let (head, middle) = rest.split_at(rest.find("\n\n").map_or(rest.len(), |i| i + 2));
    let note = |n: usize| {
        format!(
            "\n(afk cut {n} characters here to fit the forge's limit of {max} for this description)\n"
        )
    };
    let fixed = description_len(head)
        + description_len(tail)
        + description_len(&note(description_len(middle)));
    let Some(room) = max.checked_sub(fixed) else {
        return cut_end(body, max);
    };
    // whole lines, and the end of the last one outside a fence
    let (mut used, mut end, mut safe) = (0, 0, 0);
    let mut fence: Option<(char, usize)> = None;
    for line in middle.split_inclusive('\n') {
        let n = description_len(line);
        if used + n > room {
            break;
        }
        used += n;
        end += line.len();
        let t = line.trim();
        let c = t.chars().next().filter(|c| *c == '`' || *c == '~');
        let run = c.map_or(0, |c| t.chars().take_while(|x| *x == c).count());
        match (fence, c) {
            (None, Some(c)) if run >= 3 => fence = Some((c, run)),
            (Some((f, open)), Some(c)) if c == f && run >= open && run == t.chars().count() => {
                fence = None
            }
            _ => {}
        }
        if fence.is_none() {
            safe = end;
        }
    }
    let (kept, dropped) = middle.split_at(safe);
    format!("{head}{kept}{}{tail}", note(description_len(dropped)))
}

/// The first characters of `s` within `max` UTF-16 units.
fn cut_end(s: &str, max: usize) -> String {
    let mut used = 0;
    s.chars()
        .take_while(|c| {
            used += c.len_utf16();
            used <= max
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pr_comment_id_keeps_its_thread_and_its_own() {
        for (thread, comment) in [(1, 1), (44, 3), (1234567, 3), (2_000_000_000, 1000)] {
            let id = pr_comment_id(thread, comment);
            assert!(id > 0, "never a vote's (negative) id");
            assert_eq!(pr_comment_parts(id), (thread, comment));
        }
    }

    #[test]
    fn a_vote_is_a_review_minus_ten_and_minus_five_ask_ten_and_five_approve() {
        let cases = [
            (-10, Some(ReviewState::ChangesRequested)),
            (-5, Some(ReviewState::ChangesRequested)),
            (0, None),
            (5, Some(ReviewState::Approved)),
            (10, Some(ReviewState::Approved)),
            (3, Some(ReviewState::Other)),
        ];
        for (vote, want) in cases {
            assert_eq!(vote_state(vote), want, "{vote}");
        }
    }

    #[test]
    fn a_thread_asks_while_active_or_pending_and_is_superseded_when_resolved() {
        let cases = [
            (Some("active"), Thread::Ask),
            (Some("pending"), Thread::Ask),
            (Some("fixed"), Thread::Superseded),
            (Some("wontFix"), Thread::Superseded),
            (Some("closed"), Thread::Superseded),
            (Some("byDesign"), Thread::Superseded),
            (Some("unknown"), Thread::Talk),
            (None, Thread::Talk),
        ];
        for (status, want) in cases {
            assert_eq!(thread(status), want, "{status:?}");
        }
    }

    #[test]
    fn merge_status_conflicts_only_on_conflicts_or_failure() {
        let cases = [
            (Some("notSet"), Merge::Computing),
            (Some("queued"), Merge::Computing),
            (None, Merge::Computing),
            (Some("conflicts"), Merge::Conflict),
            (Some("failure"), Merge::Conflict),
            (Some("succeeded"), Merge::Clean),
            (Some("rejectedByPolicy"), Merge::Clean),
        ];
        for (status, want) in cases {
            assert_eq!(merge(status), want, "{status:?}");
        }
    }

    #[test]
    fn ci_words_from_policy_evaluations_and_statuses() {
        let policies = [
            ("approved", false, Some("success")),
            ("rejected", false, Some("failure")),
            ("broken", false, Some("failure")),
            ("queued", false, Some("pending")),
            ("running", false, Some("pending")),
            ("notApplicable", false, None),
            ("approved", true, Some("pending")),
        ];
        for (s, expired, want) in policies {
            assert_eq!(policy_state(s, expired), want, "{s} {expired}");
        }
        let statuses = [
            ("succeeded", Some("success")),
            ("failed", Some("failure")),
            ("error", Some("failure")),
            ("pending", Some("pending")),
            ("notSet", None),
            ("notApplicable", None),
        ];
        for (s, want) in statuses {
            assert_eq!(status_state(s), want, "{s}");
        }
        assert_eq!(status_context("", "lint"), "lint");
        assert_eq!(status_context("ci", "lint"), "ci/lint");
    }

    #[test]
    fn a_ref_update_is_done_stale_or_refused() {
        assert_eq!(ref_update("succeeded"), RefUpdate::Done);
        assert_eq!(ref_update("staleOldObjectId"), RefUpdate::Stale);
        assert_eq!(
            ref_update("rejectedByPolicy"),
            RefUpdate::Refused("rejectedByPolicy".into())
        );
    }

    #[test]
    fn an_edit_is_told_by_content_date_or_version() {
        let p = "2026-01-01T10:00:00Z";
        assert!(!pr_comment_edited(p, Some("2026-01-01T10:00:00Z")));
        assert!(pr_comment_edited(p, Some("2026-01-01T10:00:01.5Z")));
        assert!(!pr_comment_edited(p, None));
        assert!(pr_comment_edited("garbage", None));
        assert!(!work_item_comment_edited(1));
        assert!(work_item_comment_edited(2));
    }

    #[test]
    fn a_description_keeps_closes_and_its_footer_and_cuts_between_where_it_says() {
        let footer =
            "\n---\nOpened by afk for run 3.\n<!-- afk:pr-body run=3 head=ab turns=1 -->\n";
        let body = |middle: &str| format!("Closes #7\n\n{middle}{footer}");
        let lines = |n: usize, w: usize| (0..n).map(|i| format!("{i:0w$}\n")).collect::<String>();
        let fenced = format!("{}```text\n{}```\n", lines(3, 9), lines(40, 9));
        // (what, body, limit, kept whole, cut)
        let cases: Vec<(&str, String, usize, Vec<String>, bool)> = vec![
            ("fits", body("short\n"), 4000, vec![body("short\n")], false),
            (
                "exactly the limit",
                body("x\n"),
                description_len(&body("x\n")),
                vec![body("x\n")],
                false,
            ),
            (
                "the middle cut at a line's end",
                body(&lines(1000, 9)),
                600,
                vec!["Closes #7\n\n0000".into(), footer.into()],
                true,
            ),
            (
                "never inside a fence",
                body(&fenced),
                300,
                vec!["000000002\n\n(afk cut".into(), footer.into()],
                true,
            ),
            (
                "emoji count twice",
                body(&"\u{1F600}\n".repeat(400)),
                1000,
                vec!["Closes #7\n\n\u{1F600}\n".into(), footer.into()],
                true,
            ),
            (
                "no room for the head and the footer: the end cut",
                "y".repeat(50),
                20,
                vec!["y".repeat(20)],
                false,
            ),
        ];
        for (what, b, max, kept, cut) in cases {
            let got = fit_description(&b, max);
            assert!(
                description_len(&got) <= max,
                "{what}: {}",
                description_len(&got)
            );
            for k in &kept {
                assert!(got.contains(k.as_str()), "{what}: {k:?} in {got:?}");
            }
            assert_eq!(
                got.contains("characters here to fit the forge's limit of"),
                cut,
                "{what}: {got:?}"
            );
            if cut {
                assert!(
                    got.starts_with("Closes #7\n\n") && got.ends_with(footer),
                    "{what}: {got:?}"
                );
                let fences = got.lines().filter(|l| l.starts_with("```")).count();
                assert_eq!(fences % 2, 0, "{what}: a fence left open: {got:?}");
            }
        }
    }

    #[test]
    fn a_vote_is_dated_by_the_latest_system_comment_recording_it() {
        let r = |author: &str, at: &str, kind: Option<&str>, result: Option<&str>| VoteRecord {
            author: author.into(),
            published: Some(at.into()),
            kind: kind.map(str::to_string),
            result: result.map(str::to_string),
        };
        let vote = Some("VoteUpdate");
        let cases = [
            (
                "one record",
                vec![r("A", "2026-01-01T10:00:00Z", vote, Some("-5"))],
                -5,
                Some("2026-01-01T10:00:00Z"),
            ),
            (
                "the latest by time, not by text",
                vec![
                    r("a", "2026-01-01T10:00:00.5Z", vote, Some("-5")),
                    r("a", "2026-01-01T10:00:00Z", vote, Some("10")),
                ],
                -5,
                Some("2026-01-01T10:00:00.5Z"),
            ),
            (
                "a record of another value: undated",
                vec![r("a", "2026-01-01T10:00:00Z", vote, Some("10"))],
                -5,
                None,
            ),
            (
                "no type and no value: a system comment by them",
                vec![r("a", "2026-01-01T10:00:00Z", None, None)],
                -10,
                Some("2026-01-01T10:00:00Z"),
            ),
            (
                "their push is no vote",
                vec![
                    r("a", "2026-01-01T10:00:00Z", vote, Some("-5")),
                    r("a", "2026-01-02T10:00:00Z", Some("RefUpdate"), None),
                ],
                -5,
                Some("2026-01-01T10:00:00Z"),
            ),
            (
                "someone else's vote",
                vec![r("b", "2026-01-01T10:00:00Z", vote, Some("-5"))],
                -5,
                None,
            ),
            ("none", vec![], -5, None),
        ];
        for (what, records, v, want) in cases {
            assert_eq!(vote_date(&records, "a", v).as_deref(), want, "{what}");
        }
    }
}
