// One file: the verdict's rules (~440 lines) and the table tests that pin them, kept beside them as everywhere in core.
//! The test verdict of an upgrade PR and the next step of its flow
//! (docs/how-it-works.md#afk-upgrade): which `ci_context` status counts (only
//! one updated after afk's latest test request: an older GREEN is stale), how
//! many test runs afk has used (its own test comments, so a lost state file
//! loses nothing), and what the flow does next. Time comes in as parsed values.

use crate::sanitize::safe_url;
use serde::Serialize;
use std::fmt;
use std::time::Duration;
use time::OffsetDateTime;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Verdict {
    Green,
    Red,
    Pending,
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Verdict::Green => "GREEN",
            Verdict::Red => "RED",
            Verdict::Pending => "PENDING",
        })
    }
}

/// A PR comment as the verdict sees it.
#[derive(Debug, Clone)]
pub struct CommentView<'a> {
    pub author: &'a str,
    pub body: &'a str,
    pub created_at: Option<OffsetDateTime>,
}

/// A commit status as the verdict sees it.
#[derive(Debug, Clone)]
pub struct StatusView<'a> {
    pub context: &'a str,
    pub state: &'a str,
    pub updated_at: Option<OffsetDateTime>,
    pub target_url: Option<&'a str>,
    pub description: Option<&'a str>,
}

/// Whether a comment is the test command: its body (leading whitespace
/// aside) is exactly `testme`, or `testme` followed by whitespace and more
/// (`!testme`, `!testme tests=afk/tests-x-1` and, for a command of several
/// words, `@ci-bot test this upgrade`; never `!testmexyz`).
pub(crate) fn is_testme(body: &str, testme: &str) -> bool {
    let testme = testme.trim();
    if testme.is_empty() {
        return false;
    }
    match body.trim_start().strip_prefix(testme) {
        Some(rest) => rest.is_empty() || rest.starts_with(char::is_whitespace),
        None => false,
    }
}

/// The test runs afk has used on a PR: its own test comments.
pub fn test_runs(comments: &[CommentView], me: &str, testme: &str) -> u32 {
    comments
        .iter()
        .filter(|c| c.author == me && is_testme(c.body, testme))
        .count() as u32
}

/// The time a status must be strictly later than to count: afk's latest
/// test comment; if afk posted none, the latest one by anyone; if there is
/// none at all, `None` (the latest status counts).
pub fn cutoff(comments: &[CommentView], me: &str, testme: &str) -> Option<OffsetDateTime> {
    let latest = |mine: bool| {
        comments
            .iter()
            .filter(|c| is_testme(c.body, testme) && (!mine || c.author == me))
            .filter_map(|c| c.created_at)
            .max()
    };
    latest(true).or_else(|| latest(false))
}

/// What the verdict rests on: the counted status, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reading {
    pub verdict: Verdict,
    /// the counted status's target URL (the build)
    pub build_url: Option<String>,
    /// the counted status's description (set by CI: untrusted)
    pub description: Option<String>,
    /// a status of the context exists but is not newer than the cutoff
    pub stale: bool,
}

/// The verdict of `context` among a head commit's statuses: the latest of
/// that context counts only when updated strictly after `cutoff`. success →
/// GREEN; failure, error (and any other finished state, like `warning`) →
/// RED; pending or nothing that counts → PENDING.
pub fn read(statuses: &[StatusView], context: &str, cutoff: Option<OffsetDateTime>) -> Reading {
    let latest = statuses
        .iter()
        .filter(|s| s.context == context)
        .max_by_key(|s| s.updated_at);
    let counts = |s: &&StatusView| match (cutoff, s.updated_at) {
        (None, _) => true,
        (Some(c), Some(at)) => at > c,
        (Some(_), None) => false,
    };
    match latest.filter(counts) {
        None => Reading {
            verdict: Verdict::Pending,
            build_url: None,
            description: None,
            stale: latest.is_some(),
        },
        Some(s) => Reading {
            verdict: match s.state {
                "success" => Verdict::Green,
                "pending" | "" => Verdict::Pending,
                _ => Verdict::Red,
            },
            // anyone's CI may set any target_url: only a plain http(s) URL
            // is carried on (it is printed as `BUILD=`, tabled and journaled)
            build_url: s.target_url.and_then(safe_url),
            description: s.description.map(str::to_string),
            stale: false,
        },
    }
}

/// A PR flow's result, as the report names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Outcome {
    #[serde(rename = "SUCCESS")]
    Success,
    #[serde(rename = "SUCCESS-PENDING-TESTS")]
    SuccessPendingTests,
    /// GREEN against the updated tests of a paired tests PR (`--with-tests`)
    #[serde(rename = "SUCCESS+TESTPR")]
    SuccessTestPr,
    #[serde(rename = "FAILED")]
    Failed,
    #[serde(rename = "STUCK")]
    Stuck,
    #[serde(rename = "PENDING")]
    Pending,
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Outcome::Success => "SUCCESS",
            Outcome::SuccessPendingTests => "SUCCESS-PENDING-TESTS",
            Outcome::SuccessTestPr => "SUCCESS+TESTPR",
            Outcome::Failed => "FAILED",
            Outcome::Stuck => "STUCK",
            Outcome::Pending => "PENDING",
        })
    }
}

impl Outcome {
    /// A final outcome from its stored or marked text.
    pub fn parse_final(s: &str) -> Option<Outcome> {
        match s {
            "FAILED" => Some(Outcome::Failed),
            "STUCK" => Some(Outcome::Stuck),
            "SUCCESS-PENDING-TESTS" => Some(Outcome::SuccessPendingTests),
            _ => None,
        }
    }
}

/// The fixer of the current test run, as the runner and the PR show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fixer {
    /// none started for the current run
    None,
    Running,
    /// it exited (or vanished); `stale_test` when it reported a stale test;
    /// `exit`: its exit status (none: it vanished without one)
    Exited {
        stale_test: bool,
        exit: Option<i32>,
    },
}

/// Everything the next step of one PR's flow depends on.
#[derive(Debug, Clone)]
pub struct Facts {
    /// a final outcome recorded before (store, or afk's marked comment)
    pub final_outcome: Option<Outcome>,
    pub test_runs: u32,
    pub max_test_runs: u32,
    pub verdict: Verdict,
    pub fixer: Fixer,
    /// the PR head moved past the commit the fixer started on
    pub head_moved: bool,
    /// afk re-made the branch on a new `main` after its last test run (own
    /// branches kept current): the head is one no test ran on
    pub head_untested: bool,
    /// how long ago afk's latest test comment was posted (none: unknown)
    pub since_test: Option<Duration>,
    pub verdict_timeout: Duration,
    /// how long the running fixer has shown no progress
    pub fixer_quiet: Option<Duration>,
    /// `runner.stall_after`
    pub stall_after: Duration,
    /// this tick runs `--with-tests` and `upgrade.tests_repo` is set
    pub with_tests: bool,
    pub tests: Tests,
}

/// Where the update of a stale test stands (`--with-tests`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tests {
    /// none was started
    None,
    /// the fixer is updating the test in the tests repository
    Working,
    /// it exited; `pushed`: its branch holds a commit of its own
    Exited { pushed: bool },
    /// the tests PR is open and the recipe PR is tested against it
    Opened,
}

/// Why a flow ends STUCK (nothing waits silently).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stuck {
    NoVerdict { after: Duration },
    FixerStalled { after: Duration },
}

impl fmt::Display for Stuck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Stuck::NoVerdict { after } => write!(
                f,
                "no verdict {} after the test comment (upgrade.verdict_timeout)",
                crate::types::format_duration(*after)
            ),
            Stuck::FixerStalled { after } => write!(
                f,
                "the fixer made no progress for {} (runner.stall_after)",
                crate::types::format_duration(*after)
            ),
        }
    }
}

/// Why a flow ends FAILED.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    NotGreen {
        runs: u32,
    },
    /// the fixer ended with `exit` (none: without a status) and pushed nothing
    FixerPushedNothing {
        exit: Option<i32>,
    },
}

impl Failure {
    /// Whether this end is also an error of the tick that decides it (a fixer
    /// that failed to run or died: `core::fixer_exit::failed`), so the tick
    /// exits 1 and its summary counts it. A fixer that ran and pushed nothing,
    /// or an upgrade that stays RED, is the flow's end, not the tick's error.
    pub fn is_tick_error(&self) -> bool {
        match self {
            Failure::NotGreen { .. } => false,
            Failure::FixerPushedNothing { exit } => crate::fixer_exit::failed(*exit),
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::NotGreen { runs } => write!(
                f,
                "upgrade not green after {runs} test run{}",
                if *runs == 1 { "" } else { "s" }
            ),
            Failure::FixerPushedNothing { exit: Some(0) } => {
                f.write_str("the fixer pushed nothing")
            }
            Failure::FixerPushedNothing { exit } => write!(
                f,
                "the fixer {} and pushed nothing",
                crate::fixer_exit::exit_text(*exit)
            ),
        }
    }
}

/// Why a flow waits while its fixer runs.
pub(crate) const FIXER_WORKING: &str = "the fixer is working";
/// Why a flow waits while its fixer updates a stale test (`--with-tests`).
pub(crate) const TESTS_WORKING: &str = "the fixer is updating the stale test";

/// What one tick does for one open upgrade PR.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// post the test comment (the first run, or after the fixer pushed)
    Testme,
    /// nothing to do yet (why)
    Wait(&'static str),
    /// RED with runs left: start the fixer on the branch
    StartFixer,
    /// GREEN: SUCCESS (nothing is merged)
    Green,
    /// end the flow FAILED: leave the PR open, lesson, `upgrade.failed`
    Fail(Failure),
    /// the fixer says a test is stale: one explanatory comment, SUCCESS-PENDING-TESTS
    StaleTest,
    /// the flow ended before: nothing more for this PR
    Done(Outcome),
    /// waiting for a test run or fixer to start: `serial_tests`, place in the queue
    Queued(u32),
    /// nothing came for too long: stop the fixer, one comment, lesson, `upgrade.stuck`
    Stuck(Stuck),
    /// `--with-tests`: start the fixer on the tests repository to update the stale test
    TestsFixer,
    /// `--with-tests`: open the tests PR, cross-link, test the recipe PR against it
    TestsPr,
    /// `--with-tests`: GREEN against the updated tests: SUCCESS+TESTPR
    GreenWithTests,
}

impl Step {
    /// The step an open flow is at after this one, as `afk status` lists it
    /// (`None`: the flow ended, or ends with this step).
    pub fn open_step(&self) -> Option<&'static str> {
        match self {
            Step::Testme => Some("testing"),
            Step::Wait(w) if *w == FIXER_WORKING => Some("fixing"),
            Step::Wait(w) if *w == TESTS_WORKING => Some("updating-tests"),
            Step::TestsFixer => Some("updating-tests"),
            Step::TestsPr => Some("testing"),
            Step::StartFixer => Some("fixing"),
            Step::Wait(_) => Some("testing"),
            Step::Queued(_) => Some("queued"),
            Step::Green
            | Step::GreenWithTests
            | Step::Fail(_)
            | Step::StaleTest
            | Step::Done(_)
            | Step::Stuck(_) => None,
        }
    }

    pub fn outcome(&self) -> Outcome {
        match self {
            Step::Testme
            | Step::Wait(_)
            | Step::StartFixer
            | Step::Queued(_)
            | Step::TestsFixer
            | Step::TestsPr => Outcome::Pending,
            Step::GreenWithTests => Outcome::SuccessTestPr,
            Step::Stuck(_) => Outcome::Stuck,
            Step::Green => Outcome::Success,
            Step::Fail(_) => Outcome::Failed,
            Step::StaleTest => Outcome::SuccessPendingTests,
            Step::Done(o) => *o,
        }
    }
}

/// The next step of a PR's flow (docs/how-it-works.md#afk-upgrade).
pub fn next_step(f: &Facts) -> Step {
    if let Some(o) = f.final_outcome {
        return Step::Done(o);
    }
    if f.test_runs == 0 || f.head_untested {
        return Step::Testme;
    }
    match f.tests {
        Tests::Working => {
            return match f.fixer_quiet {
                Some(q) if q > f.stall_after => Step::Stuck(Stuck::FixerStalled {
                    after: f.stall_after,
                }),
                _ => Step::Wait(TESTS_WORKING),
            };
        }
        Tests::Exited { pushed: true } => return Step::TestsPr,
        Tests::Exited { pushed: false } => return Step::StaleTest,
        Tests::None | Tests::Opened => {}
    }
    match f.fixer {
        Fixer::Running => {
            return match f.fixer_quiet {
                Some(q) if q > f.stall_after => Step::Stuck(Stuck::FixerStalled {
                    after: f.stall_after,
                }),
                _ => Step::Wait(FIXER_WORKING),
            };
        }
        Fixer::Exited {
            stale_test: true, ..
        } if f.with_tests && f.tests == Tests::None => {
            return Step::TestsFixer;
        }
        Fixer::Exited {
            stale_test: true, ..
        } => return Step::StaleTest,
        Fixer::Exited {
            stale_test: false, ..
        } if f.head_moved => {
            return if f.test_runs < f.max_test_runs {
                Step::Testme
            } else {
                Step::Fail(Failure::NotGreen { runs: f.test_runs })
            };
        }
        Fixer::Exited {
            stale_test: false,
            exit,
        } => return Step::Fail(Failure::FixerPushedNothing { exit }),
        Fixer::None => {}
    }
    match f.verdict {
        Verdict::Green if f.tests == Tests::Opened => Step::GreenWithTests,
        Verdict::Green => Step::Green,
        Verdict::Pending => match f.since_test {
            Some(t) if t > f.verdict_timeout => Step::Stuck(Stuck::NoVerdict {
                after: f.verdict_timeout,
            }),
            _ => Step::Wait("waiting for the test verdict"),
        },
        Verdict::Red if f.test_runs >= f.max_test_runs => {
            Step::Fail(Failure::NotGreen { runs: f.test_runs })
        }
        Verdict::Red => Step::StartFixer,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn c<'a>(author: &'a str, body: &'a str, at: Option<OffsetDateTime>) -> CommentView<'a> {
        CommentView {
            author,
            body,
            created_at: at,
        }
    }

    fn st<'a>(context: &'a str, state: &'a str, at: Option<OffsetDateTime>) -> StatusView<'a> {
        StatusView {
            context,
            state,
            updated_at: at,
            target_url: Some("http://ci/1"),
            description: None,
        }
    }

    const T1: OffsetDateTime = datetime!(2026-01-01 10:00 UTC);
    const T2: OffsetDateTime = datetime!(2026-01-01 11:00 UTC);
    const T3: OffsetDateTime = datetime!(2026-01-01 12:00 UTC);

    #[test]
    fn only_the_exact_test_command_is_a_test_run_and_only_afks_count() {
        let comments = [
            c("afk-bot", "!testme", Some(T1)),
            c("afk-bot", "!testmexyz", Some(T2)),
            c("alice", "!testme", Some(T3)),
            c("afk-bot", "  !testme please", Some(T2)),
            c("afk-bot", "looks good", Some(T3)),
        ];
        assert_eq!(test_runs(&comments, "afk-bot", "!testme"), 2);
        assert_eq!(test_runs(&comments, "alice", "!testme"), 1);
        assert_eq!(test_runs(&[], "afk-bot", "!testme"), 0);
    }

    #[test]
    fn a_test_command_is_the_whole_command_or_it_then_whitespace() {
        let cases = [
            ("!testme", "!testme", true),
            ("  !testme please", "!testme", true),
            ("!testme tests=afk/tests-web-1.26.0", "!testme", true),
            ("!testmexyz", "!testme", false),
            ("please !testme", "!testme", false),
            (
                "@ci-bot test this upgrade",
                "@ci-bot test this upgrade",
                true,
            ),
            (
                "@ci-bot test this upgrade\ntests=b",
                "@ci-bot test this upgrade",
                true,
            ),
            (
                "@ci-bot test this upgrade-x",
                "@ci-bot test this upgrade",
                false,
            ),
            ("@ci-bot test", "@ci-bot test this upgrade", false),
            ("@ci-bot", "@ci-bot test this upgrade", false),
            ("anything", "", false),
        ];
        for (body, testme, want) in cases {
            assert_eq!(is_testme(body, testme), want, "{body:?} as {testme:?}");
        }
    }

    #[test]
    fn the_cutoff_is_afks_latest_test_else_anyones_else_none() {
        let cases: [(Vec<CommentView>, Option<OffsetDateTime>); 4] = [
            (
                vec![
                    c("afk-bot", "!testme", Some(T1)),
                    c("alice", "!testme", Some(T3)),
                ],
                Some(T1),
            ),
            (
                vec![
                    c("alice", "!testme", Some(T1)),
                    c("bob", "!testme", Some(T2)),
                ],
                Some(T2),
            ),
            (vec![c("afk-bot", "hello", Some(T3))], None),
            (vec![], None),
        ];
        for (comments, want) in cases {
            assert_eq!(
                cutoff(&comments, "afk-bot", "!testme"),
                want,
                "case {comments:?}"
            );
        }
    }

    #[test]
    fn a_green_older_than_the_latest_test_is_stale_and_pending() {
        let ctx = "cc-ci/testme";
        let cases = [
            (
                vec![st(ctx, "success", Some(T3))],
                Some(T2),
                Verdict::Green,
                false,
            ),
            (
                vec![st(ctx, "success", Some(T1))],
                Some(T2),
                Verdict::Pending,
                true,
            ),
            (
                vec![st(ctx, "success", Some(T2))],
                Some(T2),
                Verdict::Pending,
                true,
            ),
            (
                vec![st(ctx, "failure", Some(T3))],
                Some(T2),
                Verdict::Red,
                false,
            ),
            (
                vec![st(ctx, "error", Some(T3))],
                Some(T2),
                Verdict::Red,
                false,
            ),
            (
                vec![st(ctx, "warning", Some(T3))],
                Some(T2),
                Verdict::Red,
                false,
            ),
            (
                vec![st(ctx, "pending", Some(T3))],
                Some(T2),
                Verdict::Pending,
                false,
            ),
            (
                vec![st("other", "success", Some(T3))],
                Some(T2),
                Verdict::Pending,
                false,
            ),
            (vec![], Some(T2), Verdict::Pending, false),
            (
                vec![st(ctx, "success", Some(T1))],
                None,
                Verdict::Green,
                false,
            ),
            (
                vec![st(ctx, "success", None)],
                Some(T1),
                Verdict::Pending,
                true,
            ),
            (
                vec![st(ctx, "failure", Some(T1)), st(ctx, "success", Some(T3))],
                Some(T2),
                Verdict::Green,
                false,
            ),
        ];
        for (statuses, cut, want, stale) in cases {
            let r = read(&statuses, ctx, cut);
            assert_eq!(
                (r.verdict, r.stale),
                (want, stale),
                "case {statuses:?} after {cut:?}"
            );
        }
        let r = read(&[st(ctx, "failure", Some(T3))], ctx, Some(T2));
        assert_eq!(r.build_url.as_deref(), Some("http://ci/1"));
    }

    #[test]
    fn a_build_url_is_carried_only_when_it_is_a_plain_http_link() {
        let cases = [
            (
                Some("https://ci.example/build/7?x=1"),
                Some("https://ci.example/build/7?x=1"),
            ),
            (Some("http://ci/1\nVERDICT=GREEN"), None),
            (Some("http://ci/`id`"), None),
            (Some("http://ci/$(id)"), None),
            (Some("javascript:alert(1)"), None),
            (Some("http://ci/\u{1b}[2J"), None),
            (Some(""), None),
            (None, None),
        ];
        for (url, want) in cases {
            let s = StatusView {
                target_url: url,
                ..st("ci", "failure", Some(T1))
            };
            assert_eq!(read(&[s], "ci", None).build_url.as_deref(), want, "{url:?}");
        }
    }

    fn facts() -> Facts {
        Facts {
            final_outcome: None,
            test_runs: 1,
            max_test_runs: 3,
            verdict: Verdict::Pending,
            fixer: Fixer::None,
            head_moved: false,
            head_untested: false,
            since_test: Some(Duration::from_secs(3600)),
            verdict_timeout: Duration::from_secs(24 * 3600),
            fixer_quiet: None,
            stall_after: Duration::from_secs(3 * 3600),
            with_tests: false,
            tests: Tests::None,
        }
    }

    #[test]
    fn a_branch_remade_on_a_new_main_gets_the_next_test_run_unless_its_flow_is_over() {
        let remade = Facts {
            head_untested: true,
            ..facts()
        };
        let cases = [
            (
                "a GREEN of the old head is not this head's",
                Facts {
                    verdict: Verdict::Green,
                    ..remade.clone()
                },
                Step::Testme,
            ),
            (
                "nor is a RED",
                Facts {
                    verdict: Verdict::Red,
                    ..remade.clone()
                },
                Step::Testme,
            ),
            ("while pending", remade.clone(), Step::Testme),
            (
                "at max_test_runs it is still tested once",
                Facts {
                    test_runs: 3,
                    ..remade.clone()
                },
                Step::Testme,
            ),
            (
                "a final flow stays final",
                Facts {
                    final_outcome: Some(Outcome::Failed),
                    ..remade.clone()
                },
                Step::Done(Outcome::Failed),
            ),
            (
                "once tested, the verdict counts",
                Facts {
                    verdict: Verdict::Green,
                    ..facts()
                },
                Step::Green,
            ),
        ];
        for (name, f, want) in cases {
            assert_eq!(next_step(&f), want, "{name}");
        }
    }

    #[test]
    fn with_tests_a_stale_test_is_updated_in_a_paired_pr_and_green_is_success_testpr() {
        let stale = Facts {
            verdict: Verdict::Red,
            fixer: Fixer::Exited {
                stale_test: true,
                exit: Some(0),
            },
            ..facts()
        };
        let cases = [
            (
                "without --with-tests: SUCCESS-PENDING-TESTS",
                stale.clone(),
                Step::StaleTest,
            ),
            (
                "with it: the fixer updates the test",
                Facts {
                    with_tests: true,
                    ..stale.clone()
                },
                Step::TestsFixer,
            ),
            (
                "while it works",
                Facts {
                    with_tests: true,
                    tests: Tests::Working,
                    fixer: Fixer::None,
                    ..stale.clone()
                },
                Step::Wait(TESTS_WORKING),
            ),
            (
                "it pushed: the tests PR",
                Facts {
                    with_tests: true,
                    tests: Tests::Exited { pushed: true },
                    fixer: Fixer::None,
                    ..stale.clone()
                },
                Step::TestsPr,
            ),
            (
                "it pushed nothing: the stale test is reported",
                Facts {
                    with_tests: true,
                    tests: Tests::Exited { pushed: false },
                    fixer: Fixer::None,
                    ..stale.clone()
                },
                Step::StaleTest,
            ),
            (
                "GREEN against the updated tests",
                Facts {
                    tests: Tests::Opened,
                    verdict: Verdict::Green,
                    test_runs: 2,
                    ..facts()
                },
                Step::GreenWithTests,
            ),
            (
                "RED against them counts as a run",
                Facts {
                    tests: Tests::Opened,
                    verdict: Verdict::Red,
                    test_runs: 3,
                    ..facts()
                },
                Step::Fail(Failure::NotGreen { runs: 3 }),
            ),
        ];
        for (name, f, want) in cases {
            assert_eq!(next_step(&f), want, "{name}");
        }
        assert_eq!(Step::GreenWithTests.outcome().to_string(), "SUCCESS+TESTPR");
    }

    #[test]
    fn nothing_waits_silently_no_verdict_or_a_quiet_fixer_is_stuck() {
        let h = |n: u64| Some(Duration::from_secs(n * 3600));
        let cases = [
            (
                "a test an hour old waits",
                facts(),
                Step::Wait("waiting for the test verdict"),
            ),
            (
                "a test 24h old to the second still waits",
                Facts {
                    since_test: h(24),
                    ..facts()
                },
                Step::Wait("waiting for the test verdict"),
            ),
            (
                "no verdict a day after the test comment",
                Facts {
                    since_test: h(25),
                    ..facts()
                },
                Step::Stuck(Stuck::NoVerdict {
                    after: Duration::from_secs(24 * 3600),
                }),
            ),
            (
                "years later, still STUCK, never wait",
                Facts {
                    since_test: h(24 * 365 * 3),
                    ..facts()
                },
                Step::Stuck(Stuck::NoVerdict {
                    after: Duration::from_secs(24 * 3600),
                }),
            ),
            (
                "a verdict that came late still counts",
                Facts {
                    since_test: h(48),
                    verdict: Verdict::Green,
                    ..facts()
                },
                Step::Green,
            ),
            (
                "a working fixer",
                Facts {
                    fixer: Fixer::Running,
                    fixer_quiet: h(1),
                    since_test: h(30),
                    verdict: Verdict::Red,
                    ..facts()
                },
                Step::Wait("the fixer is working"),
            ),
            (
                "a fixer quiet longer than stall_after",
                Facts {
                    fixer: Fixer::Running,
                    fixer_quiet: h(4),
                    verdict: Verdict::Red,
                    ..facts()
                },
                Step::Stuck(Stuck::FixerStalled {
                    after: Duration::from_secs(3 * 3600),
                }),
            ),
            (
                "STUCK is final",
                Facts {
                    final_outcome: Some(Outcome::Stuck),
                    since_test: h(100),
                    ..facts()
                },
                Step::Done(Outcome::Stuck),
            ),
        ];
        for (name, f, want) in cases {
            assert_eq!(next_step(&f), want, "{name}");
        }
        assert_eq!(
            Stuck::NoVerdict {
                after: Duration::from_secs(86400)
            }
            .to_string(),
            "no verdict 1d after the test comment (upgrade.verdict_timeout)"
        );
    }

    #[test]
    fn row_each_state_of_the_flow_has_one_next_step() {
        let cases = [
            (
                "a new PR is tested first",
                Facts {
                    test_runs: 0,
                    ..facts()
                },
                Step::Testme,
            ),
            (
                "a test in flight waits",
                facts(),
                Step::Wait("waiting for the test verdict"),
            ),
            (
                "GREEN succeeds",
                Facts {
                    verdict: Verdict::Green,
                    ..facts()
                },
                Step::Green,
            ),
            (
                "RED with runs left starts the fixer",
                Facts {
                    verdict: Verdict::Red,
                    ..facts()
                },
                Step::StartFixer,
            ),
            (
                "RED on the last run fails",
                Facts {
                    verdict: Verdict::Red,
                    test_runs: 3,
                    ..facts()
                },
                Step::Fail(Failure::NotGreen { runs: 3 }),
            ),
            (
                "a working fixer is waited for",
                Facts {
                    verdict: Verdict::Red,
                    fixer: Fixer::Running,
                    ..facts()
                },
                Step::Wait("the fixer is working"),
            ),
            (
                "a fixer that pushed is followed by the next test",
                Facts {
                    verdict: Verdict::Red,
                    fixer: Fixer::Exited {
                        stale_test: false,
                        exit: Some(0),
                    },
                    head_moved: true,
                    ..facts()
                },
                Step::Testme,
            ),
            (
                "a fixer that pushed nothing fails the flow",
                Facts {
                    verdict: Verdict::Red,
                    fixer: Fixer::Exited {
                        stale_test: false,
                        exit: Some(0),
                    },
                    ..facts()
                },
                Step::Fail(Failure::FixerPushedNothing { exit: Some(0) }),
            ),
            (
                "a fixer that could not run fails the flow with its status",
                Facts {
                    verdict: Verdict::Red,
                    fixer: Fixer::Exited {
                        stale_test: false,
                        exit: Some(127),
                    },
                    ..facts()
                },
                Step::Fail(Failure::FixerPushedNothing { exit: Some(127) }),
            ),
            (
                "a stale test is reported, not fixed",
                Facts {
                    verdict: Verdict::Red,
                    fixer: Fixer::Exited {
                        stale_test: true,
                        exit: Some(0),
                    },
                    head_moved: true,
                    ..facts()
                },
                Step::StaleTest,
            ),
            (
                "a final flow stays final",
                Facts {
                    verdict: Verdict::Red,
                    final_outcome: Some(Outcome::Failed),
                    ..facts()
                },
                Step::Done(Outcome::Failed),
            ),
            (
                "SUCCESS-PENDING-TESTS is final too",
                Facts {
                    test_runs: 0,
                    final_outcome: Some(Outcome::SuccessPendingTests),
                    ..facts()
                },
                Step::Done(Outcome::SuccessPendingTests),
            ),
        ];
        for (name, f, want) in cases {
            assert_eq!(next_step(&f), want, "{name}");
        }
    }

    #[test]
    fn failures_read_as_the_report_says_them() {
        assert_eq!(
            Failure::NotGreen { runs: 3 }.to_string(),
            "upgrade not green after 3 test runs"
        );
        let cases = [
            (
                Failure::NotGreen { runs: 3 },
                false,
                "upgrade not green after 3 test runs",
            ),
            (
                Failure::FixerPushedNothing { exit: Some(0) },
                false,
                "the fixer pushed nothing",
            ),
            (
                Failure::FixerPushedNothing { exit: Some(127) },
                true,
                "the fixer exited 127 (its command was not found: check runner.command) and pushed nothing",
            ),
            (
                Failure::FixerPushedNothing { exit: None },
                true,
                "the fixer ended without an exit status and pushed nothing",
            ),
        ];
        for (f, error, words) in cases {
            assert_eq!(f.to_string(), words);
            assert_eq!(
                f.is_tick_error(),
                error,
                "a failed fixer is the tick's error: {words}"
            );
        }
        assert_eq!(
            Step::StaleTest.outcome().to_string(),
            "SUCCESS-PENDING-TESTS"
        );
    }
}
