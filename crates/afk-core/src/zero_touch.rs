//! Zero-touch merges (docs/reports.md#afk-report): whether a run watch
//! carried to `succeed` merged with no person's hand on it, decided once
//! at the merge from what afk already holds (the PR's head as the merged
//! PR reports it, the heads afk recorded for the run, the trail of reviews
//! and commands watch heard): no forge request of its own. Pure.
//!
//! The rules, stated once:
//! - **no one else's commit**: the head at the merge is one afk recorded
//!   for the run (its push with `workspace = "afk"`, the head at the end of
//!   one of the run's turns with `workspace = "agent"`); any other head is
//!   someone's commit after afk's last one, whoever made it (`commit`).
//! - **no one asked for changes**: no trusted person's change request (even
//!   one later dismissed, superseded or stale), no ask afk took (a line
//!   comment, a reply in a thread, `fix`), no `stop` carried out
//!   (`changes_requested`). Approvals, plain comments, `hold`/`resume`,
//!   merging and the corrective turns on red CI or conflicts are no touch.
//! - **unknown**: a run for which afk recorded no head (an older afk
//!   carried it), or whose merged PR names no head, gets no verdict.

use crate::types::{Handled, TalkSaid};

/// Why a change request was not heard when it is no person's request
/// (`conversation::why_not_taken`): its author is no person afk listens to,
/// or it is a thread a command opened (the command is what it said: `hold`
/// and `resume` are no touch, `fix` and `stop` count as themselves).
pub(crate) const NOT_A_PERSON: [&str; 3] = [
    crate::conversation::UNTRUSTED,
    crate::conversation::OWN_ACCOUNT,
    crate::conversation::A_COMMAND,
];

/// Why a merged run is not zero-touch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Touched {
    /// the head at the merge is not a commit afk recorded for the run
    Commit,
    /// a trusted person asked for changes, or stopped the run
    ChangesRequested,
}

/// The verdict stored on the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ZeroTouch {
    Yes,
    Not(Touched),
}

impl ZeroTouch {
    /// The stored word: `yes`, `commit`, `changes_requested`.
    pub fn as_str(self) -> &'static str {
        match self {
            ZeroTouch::Yes => "yes",
            ZeroTouch::Not(Touched::Commit) => "commit",
            ZeroTouch::Not(Touched::ChangesRequested) => "changes_requested",
        }
    }

    /// The inverse of [`ZeroTouch::as_str`]; None: not a stored word
    /// (unknown).
    pub fn parse(s: &str) -> Option<ZeroTouch> {
        match s {
            "yes" => Some(ZeroTouch::Yes),
            "commit" => Some(ZeroTouch::Not(Touched::Commit)),
            "changes_requested" => Some(ZeroTouch::Not(Touched::ChangesRequested)),
            _ => None,
        }
    }
}

/// Whether one item of the run's trail (what was said, what afk did with
/// it) is a person asking for changes.
pub(crate) fn asks_for_changes(what: &TalkSaid, handled: &Handled) -> bool {
    let taken = matches!(handled, Handled::Taken { .. });
    match what {
        // every trusted person's change request, taken or not
        TalkSaid::ChangesRequested => match handled {
            Handled::Ignored(why) => !NOT_A_PERSON.contains(&why.as_str()),
            _ => true,
        },
        TalkSaid::LineComments | TalkSaid::Fix(_) => taken,
        TalkSaid::Stop => matches!(handled, Handled::Done),
        // a raise of the run's limits asks for no change in the work
        TalkSaid::CommentReview
        | TalkSaid::Hold
        | TalkSaid::Resume
        | TalkSaid::Budget(_)
        | TalkSaid::Unknown(_) => false,
    }
}

/// The zero-touch rule (the module's header). `head`: the head the merged
/// PR reports; `afk_heads`: the heads afk recorded for the run; `trail`:
/// the run's heard items; `stopped`: a trusted person's `stop` is on the
/// run. None: unknown.
pub fn zero_touch<'t>(
    head: &str,
    afk_heads: &[String],
    trail: impl IntoIterator<Item = (&'t TalkSaid, &'t Handled)>,
    stopped: bool,
) -> Option<ZeroTouch> {
    let head = head.trim();
    if head.is_empty() || afk_heads.is_empty() {
        return None;
    }
    if !afk_heads
        .iter()
        .any(|h| h.trim().eq_ignore_ascii_case(head))
    {
        return Some(ZeroTouch::Not(Touched::Commit));
    }
    if stopped || trail.into_iter().any(|(w, h)| asks_for_changes(w, h)) {
        return Some(ZeroTouch::Not(Touched::ChangesRequested));
    }
    Some(ZeroTouch::Yes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::TurnBudget;

    fn taken() -> Handled {
        Handled::Taken {
            turn: 1,
            max: 3,
            budget: TurnBudget::Review,
        }
    }

    #[test]
    fn asks_for_changes_counts_a_persons_request_an_ask_taken_and_a_stop() {
        let ignored = |why: &str| Handled::Ignored(why.into());
        let fix = TalkSaid::Fix("rename it".into());
        let table: &[(&TalkSaid, Handled, bool)] = &[
            // a trusted change request: taken, queued, stale, superseded
            (&TalkSaid::ChangesRequested, taken(), true),
            (&TalkSaid::ChangesRequested, Handled::Queued, true),
            (
                &TalkSaid::ChangesRequested,
                ignored("stale head: an older head, before the last turn started"),
                true,
            ),
            (
                &TalkSaid::ChangesRequested,
                ignored("superseded by the same person's later review"),
                true,
            ),
            // no person's: untrusted, afk's or the agent's own account, a
            // thread a command opened (Azure DevOps)
            (&TalkSaid::ChangesRequested, ignored("untrusted"), false),
            (
                &TalkSaid::ChangesRequested,
                ignored("a command, not a request for changes"),
                false,
            ),
            (
                &TalkSaid::ChangesRequested,
                ignored("afk's or the agent's own account"),
                false,
            ),
            // an ask counts only when afk took it
            (&TalkSaid::LineComments, taken(), true),
            (&TalkSaid::LineComments, Handled::Queued, false),
            (&TalkSaid::LineComments, ignored("untrusted"), false),
            (&fix, taken(), true),
            (&fix, Handled::Queued, false),
            (&fix, ignored("untrusted"), false),
            // a stop carried out; not one awaiting proof or ignored
            (&TalkSaid::Stop, Handled::Done, true),
            (&TalkSaid::Stop, Handled::Awaiting(7), false),
            (&TalkSaid::Stop, ignored("untrusted"), false),
            // never a touch
            (&TalkSaid::CommentReview, ignored("its body alone"), false),
            (&TalkSaid::Hold, Handled::Done, false),
            (&TalkSaid::Resume, Handled::Done, false),
            (&TalkSaid::Budget("+5".into()), Handled::Done, false),
            (
                &TalkSaid::Unknown("lgtm".into()),
                Handled::Answered("unknown verb".into()),
                false,
            ),
        ];
        for (what, handled, want) in table {
            assert_eq!(
                asks_for_changes(what, handled),
                *want,
                "{} / {}",
                what.words(),
                handled.words()
            );
        }
    }

    #[test]
    fn zero_touch_needs_afks_head_at_the_merge_and_no_persons_ask() {
        let heads = vec!["aaa111".to_string(), "bbb222".to_string()];
        let heads = heads.as_slice();
        let none: &[String] = &[];
        let cr = (TalkSaid::ChangesRequested, taken());
        let approval_like = (TalkSaid::CommentReview, Handled::Ignored("x".into()));
        let untrusted = (
            TalkSaid::ChangesRequested,
            Handled::Ignored("untrusted".into()),
        );
        type Case<'a> = (
            &'a str,
            &'a [String],
            Vec<&'a (TalkSaid, Handled)>,
            bool,
            Option<ZeroTouch>,
        );
        let table: Vec<Case> = vec![
            // afk's last push is the head, nobody asked
            ("bbb222", heads, vec![], false, Some(ZeroTouch::Yes)),
            // an earlier head of afk's counts too (afk's own branch update)
            (
                "AAA111",
                heads,
                vec![&approval_like],
                false,
                Some(ZeroTouch::Yes),
            ),
            // someone's commit after afk's: whoever made it
            (
                "ccc333",
                heads,
                vec![],
                false,
                Some(ZeroTouch::Not(Touched::Commit)),
            ),
            // a commit is said before a change request
            (
                "ccc333",
                heads,
                vec![&cr],
                true,
                Some(ZeroTouch::Not(Touched::Commit)),
            ),
            (
                "bbb222",
                heads,
                vec![&cr],
                false,
                Some(ZeroTouch::Not(Touched::ChangesRequested)),
            ),
            (
                "bbb222",
                heads,
                vec![&untrusted],
                false,
                Some(ZeroTouch::Yes),
            ),
            // a stop on the run
            (
                "bbb222",
                heads,
                vec![],
                true,
                Some(ZeroTouch::Not(Touched::ChangesRequested)),
            ),
            // unknown: no head afk recorded, no head reported
            ("bbb222", none, vec![], false, None),
            ("", heads, vec![], false, None),
        ];
        for (i, (head, afk, trail, stopped, want)) in table.into_iter().enumerate() {
            let got = zero_touch(head, afk, trail.iter().map(|(w, h)| (w, h)), stopped);
            assert_eq!(got, want, "case {i}");
        }
    }

    #[test]
    fn zero_touch_reads_back_as_stored() {
        for z in [
            ZeroTouch::Yes,
            ZeroTouch::Not(Touched::Commit),
            ZeroTouch::Not(Touched::ChangesRequested),
        ] {
            assert_eq!(ZeroTouch::parse(z.as_str()), Some(z));
        }
        assert_eq!(ZeroTouch::parse(""), None);
        assert_eq!(ZeroTouch::parse("maybe"), None);
    }
}
