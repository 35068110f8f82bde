//! How an upgrade PR's flow ends (docs/how-it-works.md#afk-upgrade): the
//! [`UpgradeEnd`] plan — the typed outcome, the outbox event and lesson it
//! records, the advice, the final comment and the event's text — that
//! `ops/upgrade/ending.rs` only applies (decided once in SQLite, then one
//! marked comment).

use crate::kinds::{EventKind, LessonKind};
use crate::upgrade::verdict::Outcome;
use crate::upgrade::{self, StaleTest};

/// What ends a flow, decided here and applied by the command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpgradeEnd {
    /// FAILED, STUCK or SUCCESS-PENDING-TESTS
    pub outcome: Outcome,
    /// the stored reason (`final_reason`)
    pub why: String,
    /// the outbox event written with the outcome (None: nothing notifies)
    pub event: Option<EventKind>,
    /// the lesson recorded when this caller decided the end
    pub lesson: Option<LessonKind>,
    /// the lesson's advice
    pub suggestion: &'static str,
    /// the lesson's detail: the last build, for a FAILED
    pub detail: Option<String>,
    /// the one comment that ends the flow (carries its marker)
    pub comment: String,
    /// whether the runner's fixer is stopped first
    pub stop_fixer: bool,
}

/// FAILED: the `upgrade.failed` event and lesson; the PR stays open.
/// `fixer`: the fixer's exit status and log's last lines, when it ended the
/// flow (`core::fixer_exit::section`), shown in the comment.
pub fn failed(why: &str, build_url: Option<&str>, fixer: Option<&str>) -> UpgradeEnd {
    UpgradeEnd {
        outcome: Outcome::Failed,
        why: why.to_string(),
        event: Some(EventKind::UpgradeFailed),
        lesson: Some(LessonKind::UpgradeFailed),
        suggestion: "look at the last build and the fixer's log; fix the recipe by hand or pin the old version",
        detail: build_url.map(str::to_string),
        comment: upgrade::failed_comment(why, build_url, fixer),
        stop_fixer: false,
    }
}

/// STUCK: the fixer stopped, the `upgrade.stuck` event and lesson; the PR stays open.
pub fn stuck(why: &str) -> UpgradeEnd {
    UpgradeEnd {
        outcome: Outcome::Stuck,
        why: why.to_string(),
        event: Some(EventKind::UpgradeStuck),
        lesson: Some(LessonKind::UpgradeStuck),
        suggestion: "check that the CI answers afk's test comment (its bridge may reject afk's account) and that the fixer can run; test the PR by hand",
        detail: None,
        comment: upgrade::stuck_comment(why),
        stop_fixer: true,
    }
}

/// SUCCESS-PENDING-TESTS: the fixer says a test is stale; no event, no
/// lesson, one explanatory comment. `tests_repo`: `upgrade.tests_repo` is set
/// (so `--with-tests` works).
pub fn stale_test(st: &StaleTest, tests_repo: bool) -> UpgradeEnd {
    let why = format!(
        "test {} looks stale: {}",
        crate::sanitize::one_line(&st.test, 200),
        crate::sanitize::one_line(&st.why, 300)
    );
    UpgradeEnd {
        outcome: Outcome::SuccessPendingTests,
        why,
        event: None,
        lesson: None,
        suggestion: "",
        detail: None,
        comment: upgrade::stale_test_comment(st, tests_repo),
        stop_fixer: false,
    }
}

/// The final comment a flow that ended on an earlier tick still owes (its
/// posting failed then): rebuilt from the stored outcome and reason.
pub fn owed_comment(
    o: Outcome,
    final_reason: Option<&str>,
    build_url: Option<&str>,
    stale: Option<&StaleTest>,
    tests_repo: bool,
) -> String {
    match o {
        Outcome::SuccessPendingTests => match stale {
            Some(st) => upgrade::stale_test_comment(st, tests_repo),
            None => format!(
                "afk: a test looks stale for this upgrade.\n\n{}",
                upgrade::final_marker(&o.to_string())
            ),
        },
        Outcome::Stuck => {
            upgrade::stuck_comment(final_reason.unwrap_or("nothing came for too long"))
        }
        _ => upgrade::failed_comment(
            final_reason.unwrap_or("the upgrade did not pass"),
            build_url,
            None,
        ),
    }
}

/// The flow an upgrade PR is in, for the event's text.
pub struct Subject<'a> {
    pub recipe: &'a str,
    pub image: &'a str,
    pub from_tag: &'a str,
    pub to_tag: &'a str,
    pub pr: crate::types::PrNumber,
    /// how the forge names a PR for a person (`#`, GitLab's `!`)
    pub pr_sigil: char,
}

/// The outbox event's text: what ended, why, and where the PR is.
pub fn event_text(s: &Subject, end: &UpgradeEnd, url: Option<&str>) -> String {
    format!(
        "upgrade of {} ({}) {} — {}; PR {}{} left open{}",
        s.recipe,
        crate::upgrade::bump_text(s.image, s.from_tag, s.to_tag),
        end.outcome,
        end.why,
        s.pr_sigil,
        s.pr,
        url.map(|u| format!(": {u}")).unwrap_or_default()
    )
}

/// The lesson's root cause: which bump ended and why.
pub fn root_cause(s: &Subject, end: &UpgradeEnd) -> String {
    format!(
        "{}: {}",
        crate::upgrade::bump_text(s.image, s.from_tag, s.to_tag),
        end.why
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::PrNumber;

    #[test]
    fn each_end_records_its_own_event_and_lesson_and_only_stuck_stops_the_fixer() {
        let st = StaleTest {
            test: "t_login".into(),
            why: "the page moved".into(),
        };
        let cases = [
            (
                failed("not green", Some("http://ci/1"), None),
                Outcome::Failed,
                Some(EventKind::UpgradeFailed),
                Some(LessonKind::UpgradeFailed),
                false,
            ),
            (
                stuck("no verdict"),
                Outcome::Stuck,
                Some(EventKind::UpgradeStuck),
                Some(LessonKind::UpgradeStuck),
                true,
            ),
            (
                stale_test(&st, true),
                Outcome::SuccessPendingTests,
                None,
                None,
                false,
            ),
        ];
        for (end, outcome, event, lesson, stop) in cases {
            assert_eq!(end.outcome, outcome);
            assert_eq!(end.event, event, "{outcome}");
            assert_eq!(end.lesson, lesson, "{outcome}");
            assert_eq!(end.stop_fixer, stop, "{outcome}");
            // the comment carries the marker that keeps it from being posted twice
            assert!(
                end.comment
                    .contains(&upgrade::final_marker(&outcome.to_string())),
                "{outcome}: {}",
                end.comment
            );
        }
    }

    #[test]
    fn a_stale_test_reason_is_one_short_line_whatever_the_fixer_wrote() {
        let st = StaleTest {
            test: "a\nb".into(),
            why: "x".repeat(1000),
        };
        let end = stale_test(&st, false);
        assert!(!end.why.contains('\n'));
        assert!(end.why.starts_with("test a"));
        assert!(end.why.len() < 600);
    }

    #[test]
    fn an_owed_comment_is_rebuilt_from_the_stored_outcome_with_a_default_reason() {
        let cases = [
            (Outcome::Failed, None, "the upgrade did not pass"),
            (Outcome::Failed, Some("red twice"), "red twice"),
            (Outcome::Stuck, None, "nothing came for too long"),
            (Outcome::SuccessPendingTests, None, "a test looks stale"),
        ];
        for (o, reason, want) in cases {
            let c = owed_comment(o, reason, None, None, false);
            assert!(c.contains(want), "{o}: {c}");
            assert!(c.contains(&upgrade::final_marker(&o.to_string())), "{o}");
        }
    }

    #[test]
    fn the_event_text_names_the_bump_the_outcome_and_the_pr() {
        let s = Subject {
            recipe: "web",
            image: "nginx",
            from_tag: "1.0",
            to_tag: "1.1",
            pr: PrNumber(4),
            pr_sigil: '#',
        };
        let end = failed("not green", None, None);
        assert_eq!(
            event_text(&s, &end, Some("http://f/pr/4")),
            "upgrade of web (nginx 1.0 → 1.1) FAILED — not green; PR #4 left open: http://f/pr/4"
        );
        assert_eq!(
            event_text(&s, &end, None),
            "upgrade of web (nginx 1.0 → 1.1) FAILED — not green; PR #4 left open"
        );
        assert_eq!(root_cause(&s, &end), "nginx 1.0 → 1.1: not green");
        // a GitLab merge request is !M
        let s = Subject { pr_sigil: '!', ..s };
        assert!(event_text(&s, &end, None).ends_with("; PR !4 left open"));
    }
}
