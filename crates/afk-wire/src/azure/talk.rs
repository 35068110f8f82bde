//! What a pull request's answers mean (SPEC 2.2.16, 2.2.17, 2.2.20 to
//! 2.2.23): a vote as a review, a thread's status as an ask, the merge
//! status as a conflict, policy evaluations and statuses as CI, a ref
//! update's status, an edited comment, and a description within the limit.

use afk_model::ReviewState;

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

/// A ref update's `updateStatus` after afk's merge commit (SPEC 2.2.23).
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

/// A PR description within Azure DevOps' limit (in characters): `head`
/// (`Closes #N`), the agent's `message`, `tail` (the run id), the message
/// cut where needed and the cut said.
pub fn fit_description(head: &str, message: &str, tail: &str, max: usize) -> String {
    let whole = format!("{head}\n\n{message}\n\n{tail}");
    if whole.chars().count() <= max {
        return whole;
    }
    const CUT: &str = "\n\n(afk cut this message to fit Azure DevOps' description limit)";
    let fixed = head.chars().count() + tail.chars().count() + CUT.chars().count() + 4;
    let room = max.saturating_sub(fixed);
    let kept: String = message.chars().take(room).collect();
    let out = format!("{head}\n\n{kept}{CUT}\n\n{tail}");
    out.chars().take(max).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn a_description_fits_the_limit_and_says_it_was_cut() {
        let short = fit_description("Closes #7", "done", "run 3", 4000);
        assert_eq!(short, "Closes #7\n\ndone\n\nrun 3");
        let long = fit_description("Closes #7", &"x".repeat(5000), "run 3", 4000);
        assert!(long.chars().count() <= 4000, "{}", long.len());
        assert!(long.starts_with("Closes #7") && long.ends_with("run 3"));
        assert!(long.contains("cut this message"));
    }
}
