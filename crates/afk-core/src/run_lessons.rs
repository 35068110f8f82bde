//! The automatic lessons a run's watch records
//! (docs/how-it-works.md#afk-watch-the-lifecycle): which kind, at which stage,
//! and their words. `ops/watch` only adds the run's repo, work item and id
//! and hands them to the journal.

use super::kinds::LessonKind;
use crate::types::RepoName;
use std::time::Duration;

/// One automatic lesson's content.
#[derive(Debug, Clone, PartialEq)]
pub struct RunLesson {
    pub kind: LessonKind,
    pub stage: &'static str,
    pub root_cause: String,
    pub suggestion: String,
    pub detail: Option<String>,
}

/// The most failing checks a `gate_failure` lesson names.
pub(crate) const CONTEXTS_MAX: usize = 10;

/// The most characters of one text field of a lesson (its root cause,
/// suggestion, detail) the journal keeps: a lesson's words may come from an
/// agent or a forge.
pub(crate) const LESSON_TEXT_MAX: usize = 2_000;

/// A lesson's text field as the journal keeps it: at most `LESSON_TEXT_MAX`
/// characters, the cut said. Newlines are kept (a person's lesson may have them).
pub fn lesson_text(text: &str) -> String {
    match text.char_indices().nth(LESSON_TEXT_MAX) {
        None => text.to_string(),
        Some((at, _)) => {
            let more = text[at..].chars().count();
            format!("{}{}", &text[..at], super::sanitize::cut_note(more))
        }
    }
}

/// CI went red on the agent's PR: the failing checks (`ci::Verdict::failing`)
/// by name, one short line each.
/// At most `CONTEXTS_MAX` of them, then how many more: the names are the
/// forge's, and a workflow can report hundreds.
pub fn gate_failure(failing: &[(String, Option<String>)]) -> RunLesson {
    let mut contexts: Vec<String> = failing
        .iter()
        .take(CONTEXTS_MAX)
        .map(|f| super::sanitize::one_line(&f.0, 80))
        .collect();
    if failing.len() > CONTEXTS_MAX {
        let n = failing.len() - CONTEXTS_MAX;
        contexts.push(super::bounds::more(n, "failing check", "failing checks"));
    }
    let list = contexts.join(", ");
    RunLesson {
        kind: LessonKind::GateFailure,
        stage: "ci",
        root_cause: format!("CI red on the agent's PR: {list}"),
        suggestion: "run the failing checks locally before pushing".into(),
        detail: Some(list).filter(|d| !d.is_empty()),
    }
}

/// The agent's PR has been green and unmerged for over a day.
pub fn merge_hold() -> RunLesson {
    RunLesson {
        kind: LessonKind::MergeHold,
        stage: "merge",
        root_cause: "the agent's PR has been green and unmerged for over a day".into(),
        suggestion: "review and merge it, or close it with a reason".into(),
        detail: None,
    }
}

/// The deploy (`deploy_context`) failed after the merge; `repo` is frozen.
pub fn deploy_degraded(deploy_context: &str, repo: &RepoName) -> RunLesson {
    RunLesson {
        kind: LessonKind::DeployDegraded,
        stage: "deploy",
        root_cause: format!("the deploy ({deploy_context}) failed after merge"),
        suggestion: format!("fix or roll back, then `afk status --unfreeze {repo}`"),
        detail: None,
    }
}

/// What a trusted person asked of the agent that it did not satisfy: the
/// last review (or `/afk fix`) still open when the review turns ran out.
#[derive(Debug, Clone, Copy)]
pub struct Unresolved<'a> {
    /// the reviewer's login (forge data)
    pub by: &'a str,
    /// a review (false: a command)
    pub review: bool,
    /// a command's verb as afk names it (`TalkSaid::verb`: `` `fix` ``)
    pub verb: &'a str,
    /// the review's body or the command's text (outside text)
    pub text: &'a str,
    /// the line comments' places, `path:line` (outside text)
    pub places: &'a [String],
    /// review turns used
    pub turns: u32,
}

/// How much of the reviewer's words a `review_unresolved` lesson quotes, in characters.
pub(crate) const REVIEW_QUOTE_MAX: usize = 300;

/// What a review turn would have taken says, as the `review_unresolved`
/// lesson weighs it: who asked, whether the ask has words of its own (a
/// body), whether it has line comments.
#[derive(Debug, Clone, Copy)]
pub struct AskShown<'a> {
    pub author: &'a str,
    pub text: bool,
    pub places: bool,
}

/// Which asks (of those a review turn would have taken, in the order the
/// forge gave them) a `review_unresolved` lesson quotes: its words from the
/// last ask with a body (else the last with line comments, else the last),
/// and its places from that ask, or when it has none from the same
/// person's last ask that has some. Azure DevOps gives a reviewer's vote,
/// a thread and a line thread as three asks, where other forges give one
/// review.
pub fn quoted_asks(asks: &[AskShown]) -> Option<(usize, usize)> {
    let text = (asks.iter().rposition(|a| a.text))
        .or_else(|| asks.iter().rposition(|a| a.places))
        .or_else(|| asks.len().checked_sub(1))?;
    let places = match asks[text].places {
        true => text,
        false => (asks.iter())
            .rposition(|a| a.places && a.author == asks[text].author)
            .unwrap_or(text),
    };
    Some((text, places))
}

/// A trusted reviewer still asked for changes when no review turn was left:
/// who asked, what (one bounded line), and where (at most `CONTEXTS_MAX`
/// places, then how many more).
pub fn review_unresolved(u: &Unresolved) -> RunLesson {
    use super::sanitize::one_line;
    let by = one_line(u.by, 100);
    let asked = if u.review {
        "requested changes".to_string()
    } else {
        format!("asked ({})", u.verb)
    };
    let quote = one_line(u.text, REVIEW_QUOTE_MAX);
    let quote = if quote.is_empty() {
        String::new()
    } else {
        format!(": \"{quote}\"")
    };
    let mut places: Vec<String> = u
        .places
        .iter()
        .take(CONTEXTS_MAX)
        .map(|p| one_line(p, 120))
        .collect();
    if u.places.len() > CONTEXTS_MAX {
        let n = u.places.len() - CONTEXTS_MAX;
        places.push(super::bounds::more(n, "line comment", "line comments"));
    }
    RunLesson {
        kind: LessonKind::ReviewUnresolved,
        stage: "review",
        root_cause: format!(
            "a trusted reviewer ({by}) {asked} and still did after {}{quote}",
            crate::plural(u.turns as usize, "review turn", "review turns")
        ),
        suggestion:
            "answer every point of the review (its text and each line comment) before pushing; \
                     when the issue cannot be done as asked, say so on the PR"
                .into(),
        detail: Some(places.join(", ")).filter(|d| !d.is_empty()),
    }
}

/// What a run spent and took, against its `[budget]` limits.
#[derive(Debug, Clone, Copy)]
pub struct Spent {
    pub spend_usd: Option<f64>,
    /// `budget.run_usd` (0: none)
    pub run_usd: f64,
    /// `budget.run_time`
    pub run_time: Option<Duration>,
    /// since dispatch
    pub age: Duration,
    pub turns: u32,
}

/// The run went over its budget.
pub fn budget_exceeded(s: &Spent) -> RunLesson {
    use crate::budget::spend::{age_text, usd};
    let turns = crate::plural(s.turns as usize, "agent turn", "agent turns");
    let ran = match s.spend_usd {
        Some(x) => format!("spent {} in {}, {turns}", usd(x), age_text(s.age)),
        // a timeout with no spend known: say so, not "spent nothing"
        None => format!(
            "ran {}, {turns}, the agent reported no spend",
            age_text(s.age)
        ),
    };
    let limits = format!(
        "budget.run_usd {}, budget.run_time {}",
        if s.run_usd > 0.0 {
            usd(s.run_usd)
        } else {
            "none".into()
        },
        s.run_time
            .map_or("none".into(), crate::types::format_duration)
    );
    RunLesson {
        kind: LessonKind::BudgetExceeded,
        stage: "budget",
        root_cause: format!("the run went over its budget: {ran} ({limits})"),
        suggestion: "split the issue into smaller ones, or raise the limit if the work is worth it"
            .into(),
        detail: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_unresolved_lesson_quotes_the_last_words_and_that_persons_last_places() {
        let ask = |author, text, places| AskShown {
            author,
            text,
            places,
        };
        let (vote, thread, line) = (
            ask("alice", false, false),
            ask("alice", true, false),
            ask("alice", false, true),
        );
        // (the asks, (the one whose words, the one whose places))
        type Case<'a> = (Vec<AskShown<'a>>, Option<(usize, usize)>);
        let cases: Vec<Case> = vec![
            (vec![], None),
            (vec![vote], Some((0, 0))),
            // one review with words and lines (the other forges)
            (vec![ask("alice", true, true)], Some((0, 0))),
            // Azure DevOps: a vote, a thread, a line thread of one person
            (vec![vote, thread, line], Some((1, 2))),
            (vec![thread, line, vote], Some((0, 1))),
            // the last words win; lines of their own are theirs
            (vec![thread, ask("alice", true, true)], Some((1, 1))),
            // no words: the last lines
            (vec![line, vote], Some((0, 0))),
            // another person's lines are not the words' places
            (vec![ask("bob", false, true), thread], Some((1, 1))),
        ];
        for (i, (asks, want)) in cases.into_iter().enumerate() {
            assert_eq!(quoted_asks(&asks), want, "case {i}");
        }
    }

    #[test]
    fn an_unresolved_review_names_the_reviewer_the_request_and_its_places_bounded() {
        let places: Vec<String> = (0..15).map(|i| format!("src/{i}.rs:{i}")).collect();
        let long = "x".repeat(5_000);
        let cases: [(Unresolved, &str, Option<&str>); 4] = [
            (
                Unresolved {
                    by: "alice",
                    review: true,
                    verb: "changes requested",
                    text: "add a test\n<!-- and merge -->",
                    places: &places[..1],
                    turns: 2,
                },
                "a trusted reviewer (alice) requested changes and still did after 2 review turns: \"add a test\"",
                Some("src/0.rs:0"),
            ),
            (
                Unresolved {
                    by: "bob",
                    review: false,
                    verb: "`fix`",
                    text: "use the new API",
                    places: &[],
                    turns: 1,
                },
                "a trusted reviewer (bob) asked (`fix`) and still did after 1 review turn: \"use the new API\"",
                None,
            ),
            (
                Unresolved {
                    by: "carol",
                    review: true,
                    verb: "changes requested",
                    text: "",
                    places: &places,
                    turns: 3,
                },
                "a trusted reviewer (carol) requested changes and still did after 3 review turns",
                Some("src/9.rs:9, … and 5 more line comments"),
            ),
            (
                Unresolved {
                    by: "dan",
                    review: true,
                    verb: "changes requested",
                    text: &long,
                    places: &[],
                    turns: 3,
                },
                "a trusted reviewer (dan) requested changes and still did after 3 review turns: \"xxx",
                None,
            ),
        ];
        for (u, cause, detail_end) in cases {
            let l = review_unresolved(&u);
            assert_eq!(l.kind, LessonKind::ReviewUnresolved);
            assert_eq!(l.stage, "review");
            assert!(l.root_cause.starts_with(cause), "{}", l.root_cause);
            assert!(
                !l.root_cause.contains("merge"),
                "HTML comments hide nothing: {}",
                l.root_cause
            );
            assert!(
                l.root_cause.chars().count() < REVIEW_QUOTE_MAX + 200,
                "bounded"
            );
            match detail_end {
                Some(end) => assert!(
                    l.detail.as_deref().unwrap().ends_with(end),
                    "{:?}",
                    l.detail
                ),
                None => assert_eq!(l.detail, None),
            }
        }
    }

    #[test]
    fn a_lesson_names_a_bounded_number_of_checks_and_keeps_bounded_text() {
        let failing = |n: usize| -> Vec<(String, Option<String>)> {
            (0..n).map(|i| (format!("ci/{i}\n## x"), None)).collect()
        };
        let cases = [
            (0, 0, false),
            (3, 3, false),
            (10, 10, false),
            (500, 10, true),
        ];
        for (n, named, cut) in cases {
            let l = gate_failure(&failing(n));
            assert_eq!(l.root_cause.matches("ci/").count(), named, "{n}");
            assert_eq!(
                l.root_cause.contains("… and 490 more failing checks"),
                cut,
                "{n}"
            );
            assert!(!l.root_cause.contains('\n'));
        }
        let texts = [
            ("short\ntext".to_string(), "short\ntext".to_string()),
            ("x".repeat(LESSON_TEXT_MAX), "x".repeat(LESSON_TEXT_MAX)),
            (
                "x".repeat(LESSON_TEXT_MAX + 5),
                "x".repeat(LESSON_TEXT_MAX) + "… (cut: 5 more characters)",
            ),
        ];
        for (text, want) in texts {
            assert_eq!(lesson_text(&text), want);
        }
    }

    #[test]
    fn each_watch_lesson_has_its_kind_and_stage() {
        let spent = Spent {
            spend_usd: None,
            run_usd: 0.0,
            run_time: None,
            age: Duration::from_secs(60),
            turns: 1,
        };
        let cases = [
            (
                gate_failure(&[("ci/test".into(), None)]),
                LessonKind::GateFailure,
                "ci",
            ),
            (merge_hold(), LessonKind::MergeHold, "merge"),
            (
                deploy_degraded("deploy/prod", &"o/r".parse().unwrap()),
                LessonKind::DeployDegraded,
                "deploy",
            ),
            (
                budget_exceeded(&spent),
                LessonKind::BudgetExceeded,
                "budget",
            ),
        ];
        for (l, kind, stage) in cases {
            assert_eq!((l.kind, l.stage), (kind, stage), "{l:?}");
        }
    }

    #[test]
    fn a_gate_failure_names_each_failing_check_on_one_short_line() {
        let l = gate_failure(&[("ci/a\nforged".into(), None), ("x".repeat(200), None)]);
        let d = l.detail.unwrap();
        assert!(!d.contains('\n'), "{d}");
        assert!(d.starts_with("ci/a"));
        assert!(d.len() < 200);
        assert_eq!(gate_failure(&[]).detail, None);
    }

    #[test]
    fn a_budget_lesson_states_what_was_spent_against_which_limits() {
        let l = budget_exceeded(&Spent {
            spend_usd: Some(2.5),
            run_usd: 2.0,
            run_time: Some(Duration::from_secs(3600)),
            age: Duration::from_secs(7200),
            turns: 3,
        });
        assert!(l.root_cause.contains("spent $2.50"), "{}", l.root_cause);
        assert!(
            l.root_cause
                .contains("budget.run_usd $2.00, budget.run_time 1h"),
            "{}",
            l.root_cause
        );
        assert!(l.root_cause.contains("3 agent turns"), "{}", l.root_cause);
        let none = budget_exceeded(&Spent {
            spend_usd: None,
            run_usd: 0.0,
            run_time: None,
            age: Duration::from_secs(1),
            turns: 1,
        });
        assert!(
            !none.root_cause.contains("spent nothing"),
            "{}",
            none.root_cause
        );
        assert!(
            none.root_cause.contains("the agent reported no spend")
                && none.root_cause.contains("1 agent turn,"),
            "{}",
            none.root_cause
        );
        assert!(
            none.root_cause
                .contains("budget.run_usd none, budget.run_time none")
        );
    }
}
