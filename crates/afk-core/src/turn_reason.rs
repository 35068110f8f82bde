//! Why a corrective turn started (docs/how-it-works.md#afk-watch-the-lifecycle,
//! docs/reviews.md), in one line: the state file keeps it beside the turn's
//! start (`turns`), and `afk runs show`'s timeline gives each turn its line
//! with it.

use crate::run_state::Correction;
use crate::sanitize::one_line;

/// Someone in the PR's conversation who asked for the turn: a trusted
/// reviewer's review (`review`: changes requested, a comment review's line
/// comments, a reply in a thread), else a command, named by its verb
/// (`TalkSaid::verb`: `` `fix` ``, `changes requested`, `line comments`,
/// `prompt::REPLY_VERB`); `lines`: the ask quotes line comments.
#[derive(Debug, Clone, Copy)]
pub struct Asker<'a> {
    pub author: &'a str,
    pub review: bool,
    pub verb: &'a str,
    pub lines: bool,
}

/// What a review that asked was, as a turn's line names it: its state
/// (changes requested, a comment review, a reply in a thread) and whether
/// it came with line comments.
fn review_was(a: &Asker) -> String {
    let lines = if a.lines { " with line comments" } else { "" };
    if a.verb == crate::prompt::REPLY_VERB {
        "a reply in a review thread".to_string()
    } else if a.verb == crate::types::TalkSaid::LineComments.verb() {
        format!("a comment review{lines}")
    } else {
        format!("changes requested{lines}")
    }
}

/// The line of a `gate` turn: the change gate refused the turn before it
/// (docs/security.md#the-change-gate); a turn refused again is escalated.
pub const GATE: &str = "the change gate refused the turn";

/// How long a turn's line may be (the names in it are forge text).
const MAX_CHARS: usize = 200;

/// The line for a turn of `kind`: the failing CI contexts (names and build
/// URLs as `core::ci` keeps them; the names only), or who asked.
pub fn why(kind: Correction, failing: &[(String, Option<String>)], asked: &[Asker]) -> String {
    let line = match kind {
        Correction::NoPr => "the agent stopped without a pull request".to_string(),
        Correction::Conflict => "the pull request conflicts with its base".to_string(),
        Correction::Gate => GATE.to_string(),
        Correction::CiRed if failing.is_empty() => "CI red".to_string(),
        Correction::CiRed => {
            let names: Vec<&str> = failing.iter().map(|(n, _)| n.as_str()).collect();
            format!("CI red: {}", names.join(", "))
        }
        Correction::Asked(_) => {
            // reviews first, each kind of review in the order asked, then
            // each command's verb in the order asked
            let said = |a: &Asker| {
                if a.review {
                    review_was(a)
                } else {
                    format!("{} asked", a.verb)
                }
            };
            let mut groups: Vec<String> = vec![];
            let reviews = asked.iter().filter(|a| a.review);
            for a in reviews.chain(asked.iter().filter(|a| !a.review)) {
                if !groups.contains(&said(a)) {
                    groups.push(said(a));
                }
            }
            let parts: Vec<String> = groups
                .into_iter()
                .map(|group| {
                    let mut who: Vec<&str> = vec![];
                    for a in asked.iter().filter(|a| said(a) == group) {
                        if !who.contains(&a.author) {
                            who.push(a.author);
                        }
                    }
                    format!("{group} by {}", who.join(", "))
                })
                .collect();
            if parts.is_empty() {
                "changes requested".to_string()
            } else {
                parts.join("; ")
            }
        }
    };
    crate::sanitize::one_line_cut(&line, MAX_CHARS)
}

/// A turn's reason as markdown (afk's PR body): the forge's names in it
/// escaped, afk's own code spans (a command's verb: `` `fix` ``) kept, so
/// they show as code and not as `` \`fix\` ``.
pub fn md(why: &str) -> String {
    let verbs: Vec<String> = crate::types::CommandVerb::ALL
        .iter()
        .map(|v| format!("`{v}`"))
        .collect();
    let verbs: Vec<&str> = verbs.iter().map(String::as_str).collect();
    crate::sanitize::md_text_keeping(why, &verbs)
}

/// A turn's timeline line: `turn 2 started: CI red: build` (the reason read
/// back from the state file is cleaned again: a file can be edited).
pub fn line(turn: u32, why: &str) -> String {
    format!("turn {turn} started: {}", one_line(why, 2 * MAX_CHARS))
}

/// The line for corrective turns that started before afk kept each one's
/// start and reason (a state file from an older afk): counted, once.
pub(crate) fn unrecorded(n: usize) -> String {
    format!(
        "{} (started before afk recorded each turn's reason)",
        crate::plural(n, "corrective turn", "corrective turns")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::TurnBudget;

    fn ctx(name: &str) -> Failing {
        (name.to_string(), Some(format!("http://ci.invalid/{name}")))
    }

    const ALICE: Asker = Asker {
        author: "alice",
        review: true,
        verb: "changes requested",
        lines: false,
    };
    const BOB_FIX: Asker = Asker {
        author: "bob",
        review: false,
        verb: "`fix`",
        lines: false,
    };
    const CAROL_RETRY: Asker = Asker {
        author: "carol",
        review: false,
        verb: "`retry`",
        lines: false,
    };
    /// a review by `author` of state `verb` (`TalkSaid::verb`), with line
    /// comments or without
    fn reviewed<'a>(author: &'a str, verb: &'a str, lines: bool) -> Asker<'a> {
        Asker {
            author,
            review: true,
            verb,
            lines,
        }
    }

    /// A failing CI context: its name and build URL.
    type Failing = (String, Option<String>);

    #[test]
    fn a_turns_reason_in_markdown_keeps_afks_code_spans_and_escapes_the_forges_names() {
        let cases = [
            ("`fix` asked by bob", "`fix` asked by bob"),
            (
                "changes requested by a_b; `fix` asked by c*d",
                r"changes requested by a\_b; `fix` asked by c\*d",
            ),
            ("CI red: `build` [x](y)", r"CI red: \`build\` \[x\]\(y\)"),
            ("CI red: ci/build", "CI red: ci/build"),
        ];
        for (why, want) in cases {
            assert_eq!(md(why), want, "case {why:?}");
        }
    }

    #[test]
    fn every_command_verb_is_kept_as_code_in_a_turns_reason() {
        use crate::types::{CommandVerb, TalkSaid};
        for v in CommandVerb::ALL {
            let said = TalkSaid::of_verb(v.as_str(), "x").verb();
            let why = format!("{said} asked by a_b");
            assert_eq!(md(&why), format!(r"{said} asked by a\_b"), "{v}");
        }
    }

    #[test]
    fn each_turn_says_why_it_started_red_ci_review_fix_conflict_or_no_pr() {
        let red = [ctx("build"), ctx("lint")];
        let cases: &[(Correction, &[Failing], &[Asker], &str)] = &[
            (
                Correction::NoPr,
                &[],
                &[],
                "the agent stopped without a pull request",
            ),
            (Correction::CiRed, &red, &[], "CI red: build, lint"),
            (Correction::CiRed, &[], &[], "CI red"),
            (
                Correction::Asked(TurnBudget::Review),
                &[],
                &[ALICE, ALICE],
                "changes requested by alice",
            ),
            (
                Correction::Asked(TurnBudget::Review),
                &[],
                &[BOB_FIX],
                "`fix` asked by bob",
            ),
            (
                Correction::Asked(TurnBudget::Fix),
                &[],
                &[CAROL_RETRY, BOB_FIX, CAROL_RETRY],
                "`retry` asked by carol; `fix` asked by bob",
            ),
            (
                Correction::Asked(TurnBudget::Review),
                &[],
                &[BOB_FIX, ALICE],
                "changes requested by alice; `fix` asked by bob",
            ),
            (
                Correction::Asked(TurnBudget::Review),
                &[],
                &[],
                "changes requested",
            ),
            (
                Correction::Conflict,
                &red,
                &[ALICE],
                "the pull request conflicts with its base",
            ),
        ];
        for (kind, failing, asked, want) in cases {
            assert_eq!(why(*kind, failing, asked), *want, "{kind:?}");
        }
    }

    #[test]
    fn a_review_turns_line_says_what_each_review_was_and_whether_it_had_line_comments() {
        let comment = crate::types::TalkSaid::LineComments.verb();
        let changes = crate::types::TalkSaid::ChangesRequested.verb();
        let reply = crate::prompt::REPLY_VERB;
        let cases: &[(&[Asker], &str)] = &[
            (
                &[reviewed("alice", &comment, true)],
                "a comment review with line comments by alice",
            ),
            (
                &[reviewed("alice", &changes, true)],
                "changes requested with line comments by alice",
            ),
            (
                &[reviewed("alice", &changes, false)],
                "changes requested by alice",
            ),
            (
                &[reviewed("root", reply, true)],
                "a reply in a review thread by root",
            ),
            // each kind of review its own words, in the order asked, then
            // the commands
            (
                &[
                    BOB_FIX,
                    reviewed("alice", &comment, true),
                    reviewed("dave", &changes, false),
                    reviewed("erin", &comment, true),
                ],
                "a comment review with line comments by alice, erin; \
                 changes requested by dave; `fix` asked by bob",
            ),
            // a comment review whose threads were resolved asks by its body
            (
                &[reviewed("alice", &comment, false)],
                "a comment review by alice",
            ),
        ];
        for (asked, want) in cases {
            let got = why(Correction::Asked(TurnBudget::Review), &[], asked);
            assert_eq!(got, *want, "{asked:?}");
        }
    }

    #[test]
    fn a_turn_s_line_is_one_bounded_line_whatever_the_forge_named() {
        let hostile = [(format!("a\nb\u{1b}[31m{}", "x".repeat(500)), None)];
        let w = why(Correction::CiRed, &hostile, &[]);
        assert!(!w.contains('\n') && !w.contains('\u{1b}'), "{w:?}");
        assert!(w.chars().count() <= MAX_CHARS + 40, "{}", w.chars().count());
        assert_eq!(line(2, "CI red: build"), "turn 2 started: CI red: build");
        assert!(!line(3, "a\nb").contains('\n'));
    }

    #[test]
    fn turns_from_before_their_reasons_were_kept_are_counted_in_one_line() {
        for (n, want) in [
            (
                1,
                "1 corrective turn (started before afk recorded each turn's reason)",
            ),
            (
                2,
                "2 corrective turns (started before afk recorded each turn's reason)",
            ),
        ] {
            assert_eq!(unrecorded(n), want);
        }
    }
}
