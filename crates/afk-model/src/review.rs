//! The conversation on a pull request, forge-neutral (docs/reviews.md): a
//! review with its normalised state, its line comments as kept (bounded:
//! outside text), and what a branch update came to. The forges map their words
//! onto these; the core decides on them.

use serde::Serialize;

/// What a review says, the same whatever forge said it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReviewState {
    /// GitHub `CHANGES_REQUESTED`, Gitea `REQUEST_CHANGES`
    ChangesRequested,
    /// `APPROVED` on both
    Approved,
    /// GitHub `COMMENTED`, Gitea `COMMENT`
    Commented,
    /// GitHub `DISMISSED`; Gitea says it as `dismissed: true` beside the state
    Dismissed,
    /// started and not submitted (only its author sees it)
    Pending,
    /// a word neither forge uses for a review (Gitea's `REQUEST_REVIEW` is a
    /// request for one, not a review)
    Other,
}

impl ReviewState {
    /// A forge's word for a review's state, either forge's spelling, any case.
    pub fn from_forge(word: &str) -> ReviewState {
        match word.to_ascii_uppercase().as_str() {
            "CHANGES_REQUESTED" | "REQUEST_CHANGES" => ReviewState::ChangesRequested,
            "APPROVED" => ReviewState::Approved,
            "COMMENTED" | "COMMENT" => ReviewState::Commented,
            "DISMISSED" => ReviewState::Dismissed,
            "PENDING" => ReviewState::Pending,
            _ => ReviewState::Other,
        }
    }
}

/// One review of a pull request, as afk keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Review {
    pub id: i64,
    /// the reviewer's login ("" when the forge names none: a deleted account)
    pub author: String,
    pub state: ReviewState,
    /// the commit the review was made on ("" when the forge lost it)
    pub commit_sha: String,
    /// when it was submitted (RFC 3339; none for a pending one)
    pub submitted_at: Option<String>,
    /// the review's text, at most `core::review_bounds::REVIEW_BODY_BYTES`
    pub body: String,
    /// the text was longer and was cut
    pub body_cut: bool,
    /// how many line comments its threads hold (Gitea's `comments_count`,
    /// which a reply in a thread moves; None where the forge says not)
    pub comments_count: Option<u64>,
}

/// A comment on one line of a file in a pull request's diff.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LineComment {
    pub id: i64,
    /// the review it belongs to
    pub review_id: Option<i64>,
    pub path: String,
    /// the line in the file (the new side; the old side's when only it is known)
    pub line: Option<u64>,
    /// at most `core::conversation::LINE_COMMENT_BYTES`
    pub body: String,
    pub author: String,
    /// the text was longer and was cut
    pub body_cut: bool,
    /// when it was written, as the forge dates it (RFC 3339)
    pub created_at: Option<String>,
    /// the commit it was written on, where the forge says
    pub commit: Option<String>,
    /// a push has outdated it: the PR's head is no longer `commit` (its
    /// `line` is that commit's)
    pub outdated: bool,
}

/// A review's line comments as kept: at most so many, each and all together
/// bounded (`core::review_bounds::keep_line_comments`), the cut said.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct LineComments {
    pub kept: Vec<LineComment>,
    /// more comments were there than were kept
    pub more: bool,
}

/// How a forge brings a pull request's branch up to date with its base.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum UpdateStyle {
    /// merge the base into the head branch (both forges)
    Merge,
    /// rebase the head onto the base (Gitea only)
    Rebase,
}

impl UpdateStyle {
    pub fn as_str(self) -> &'static str {
        match self {
            UpdateStyle::Merge => "merge",
            UpdateStyle::Rebase => "rebase",
        }
    }
}

/// What asking the forge to update a pull request's branch came to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BranchUpdate {
    /// done (Gitea) or accepted (GitHub, 202): the head moves
    Started,
    /// the base has nothing the head lacks (GitHub's 422 "no new commits")
    UpToDate,
    /// the head is no longer the commit afk named (GitHub's
    /// `expected_head_sha`): look again next tick
    HeadMoved,
    /// the base does not merge (or rebase) cleanly into the head
    Conflict,
    /// the forge would not, for another reason it gave (a 403, another 422)
    Refused(String),
    /// the forge is still making it (Azure DevOps's merge operation):
    /// asked after next tick by this token, never asked again
    Pending(String),
}

crate::named_enum! {
    /// What a talk item afk looked at is: a review, or a comment (a command).
    TalkKind { Review => "review", Comment => "comment", Reply => "reply" }
}

crate::named_enum! {
    /// A verb a command says after the prefix (docs/reviews.md#commands),
    /// each once, here: what it says is [`TalkSaid::of_verb`] (a match that
    /// names every one), and a turn's reason keeps each as code
    /// (`core::turn_reason::md`), so a new verb is a compile error where it
    /// is missing.
    CommandVerb {
        Stop => "stop",
        Hold => "hold",
        Resume => "resume",
        Fix => "fix",
        Budget => "budget",
    }
}

/// What a review or command afk looked at said, typed from hearing it to
/// acting on it; the store keeps its words ([`TalkSaid::words`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TalkSaid {
    /// a review that requests changes
    ChangesRequested,
    /// a comment review's line comments (a single line comment, a reply
    /// in a thread): an ask as a change request is
    LineComments,
    /// a comment review looked at and not taken (untrusted, stale, its
    /// body alone, only others' line comments): what it was, never an ask
    CommentReview,
    Stop,
    Hold,
    Resume,
    /// `fix <text>`: the instruction, bounded by whoever built it
    Fix(String),
    /// `budget <args>`: the words after the verb as written (bounded like
    /// `fix`'s), read by `core::budget::budget_command` when carried out; "" and
    /// any words not its grammar are answered with the grammar
    Budget(String),
    /// a verb afk does not know (its words, cleaned and bounded)
    Unknown(String),
}

/// Which limit a turn someone asked for counts against (docs/reviews.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TurnBudget {
    /// `watch.review_turns_max`: a review's changes, `fix`
    Review,
    /// `watch.fix_forward_max`, as every turn after the first that is not a
    /// review turn
    Fix,
}

/// What hearing a trusted command does (docs/reviews.md#commands).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// carried out at once on the run's conversation state (stop, hold,
    /// resume, budget)
    Now,
    /// queued for the next turn asked for, counted against its budget
    Queued(TurnBudget),
    /// not a verb afk knows: answered with the verbs
    Answered,
}

impl TalkSaid {
    /// The verbs a command may say after the prefix, as the reply to an
    /// unknown one lists them.
    pub const VERBS: &'static str = "stop, hold, resume, fix <text>, budget +<usd>";

    /// What a command's verb (any case) and the rest of its line say: each
    /// verb once, here. `fix` needs its instruction; `budget` keeps its
    /// words, whatever they are (malformed ones are answered with its
    /// grammar); any other word is an unknown verb, kept as written.
    pub fn of_verb(verb: &str, text: &str) -> TalkSaid {
        match CommandVerb::parse(&verb.to_ascii_lowercase()) {
            Some(CommandVerb::Stop) => TalkSaid::Stop,
            Some(CommandVerb::Hold) => TalkSaid::Hold,
            Some(CommandVerb::Resume) => TalkSaid::Resume,
            Some(CommandVerb::Fix) if !text.is_empty() => TalkSaid::Fix(text.to_string()),
            Some(CommandVerb::Budget) => TalkSaid::Budget(text.to_string()),
            Some(CommandVerb::Fix) | None => TalkSaid::Unknown(verb.to_string()),
        }
    }

    /// What hearing it from a trusted person does.
    pub fn effect(&self) -> Effect {
        match self {
            TalkSaid::Stop | TalkSaid::Hold | TalkSaid::Resume | TalkSaid::Budget(_) => Effect::Now,
            TalkSaid::ChangesRequested
            | TalkSaid::LineComments
            | TalkSaid::CommentReview
            | TalkSaid::Fix(_) => Effect::Queued(TurnBudget::Review),
            TalkSaid::Unknown(_) => Effect::Answered,
        }
    }

    /// How a turn's line names it (`fix`, `changes requested`).
    pub fn verb(&self) -> String {
        match self {
            TalkSaid::ChangesRequested => "changes requested".into(),
            TalkSaid::LineComments => "line comments".into(),
            TalkSaid::CommentReview => "comment review".into(),
            TalkSaid::Fix(_) => "`fix`".into(),
            TalkSaid::Budget(_) => "`budget`".into(),
            other => format!("`{}`", other.words()),
        }
    }

    /// The instruction it carries (`fix`'s text), "" when none (a
    /// `budget`'s words are no instruction to the agent).
    pub fn text(&self) -> &str {
        match self {
            TalkSaid::Fix(text) => text,
            _ => "",
        }
    }

    /// The words stored and shown (`fix: make it faster`).
    pub fn words(&self) -> String {
        match self {
            TalkSaid::ChangesRequested => "changes requested".into(),
            TalkSaid::LineComments => "line comments".into(),
            TalkSaid::CommentReview => "comment review".into(),
            TalkSaid::Stop => "stop".into(),
            TalkSaid::Hold => "hold".into(),
            TalkSaid::Resume => "resume".into(),
            TalkSaid::Fix(text) => format!("fix: {text}"),
            TalkSaid::Budget(args) if args.is_empty() => "budget".into(),
            TalkSaid::Budget(args) => format!("budget: {args}"),
            TalkSaid::Unknown(verb) => format!("unknown verb `{verb}`"),
        }
    }

    /// What stored words say: the inverse of [`TalkSaid::words`].
    pub fn parse(words: &str) -> TalkSaid {
        match words {
            "changes requested" => TalkSaid::ChangesRequested,
            "line comments" => TalkSaid::LineComments,
            "comment review" => TalkSaid::CommentReview,
            "stop" => TalkSaid::Stop,
            "hold" => TalkSaid::Hold,
            "resume" => TalkSaid::Resume,
            "budget" => TalkSaid::Budget(String::new()),
            w => match (w.strip_prefix("fix: "), w.strip_prefix("budget: ")) {
                (Some(text), _) => TalkSaid::Fix(text.into()),
                (None, Some(args)) => TalkSaid::Budget(args.into()),
                (None, None) => TalkSaid::Unknown(
                    w.strip_prefix("unknown verb `")
                        .and_then(|v| v.strip_suffix('`'))
                        .unwrap_or(w)
                        .into(),
                ),
            },
        }
    }
}

/// What afk did with a review or command it looked at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Handled {
    /// a command waiting for the next turn of its budget (`Effect::Queued`)
    Queued,
    /// carried out at once (stop, hold, resume)
    Done,
    /// taken by the turn `turn` of at most `max` of its budget
    Taken {
        turn: u32,
        max: u32,
        budget: TurnBudget,
    },
    /// answered with a comment (an unknown verb), and why
    Answered(String),
    /// a command afk cannot prove unedited (docs/reviews.md#commands):
    /// afk asked its author on the thread, in its comment `0`, and carries
    /// it out once they add a 👍 there
    Awaiting(i64),
    /// not acted on, and why (untrusted, edited, afk's own, …)
    Ignored(String),
}

impl Handled {
    /// The words stored and shown (`taken: review turn 1 of 3`).
    pub fn words(&self) -> String {
        match self {
            Handled::Queued => "queued".into(),
            Handled::Done => "done".into(),
            Handled::Taken {
                turn,
                max,
                budget: TurnBudget::Review,
            } => format!("taken: review turn {turn} of {max}"),
            Handled::Taken {
                turn,
                max,
                budget: TurnBudget::Fix,
            } => format!("taken: corrective turn {turn} of {max}"),
            Handled::Answered(why) => format!("answered: {why}"),
            Handled::Awaiting(question) => {
                format!("awaiting: its author's 👍 on comment {question}")
            }
            Handled::Ignored(why) => format!("ignored: {why}"),
        }
    }

    /// What stored words say: the inverse of [`Handled::words`] (words of
    /// no known shape are an answer's, so never read as queued or ignored).
    pub fn parse(words: &str) -> Handled {
        let taken = |rest: &str| {
            let (budget, rest) = match rest.strip_prefix("review turn ") {
                Some(rest) => (TurnBudget::Review, rest),
                None => (TurnBudget::Fix, rest.strip_prefix("corrective turn ")?),
            };
            let (turn, max) = rest.split_once(" of ")?;
            Some(Handled::Taken {
                turn: turn.parse().ok()?,
                max: max.parse().ok()?,
                budget,
            })
        };
        match words {
            "queued" => Handled::Queued,
            "done" => Handled::Done,
            w => match w.split_once(": ") {
                Some(("taken", rest)) => taken(rest).unwrap_or(Handled::Answered(w.into())),
                Some(("ignored", why)) => Handled::Ignored(why.into()),
                Some(("answered", why)) => Handled::Answered(why.into()),
                Some(("awaiting", rest)) => rest
                    .strip_prefix("its author's 👍 on comment ")
                    .and_then(|id| id.parse().ok())
                    .map_or(Handled::Answered(w.into()), Handled::Awaiting),
                _ => Handled::Answered(w.into()),
            },
        }
    }

    /// Whether afk acted on it (the checklist lists only those).
    pub fn acted_on(&self) -> bool {
        !matches!(self, Handled::Ignored(_))
    }
}

#[cfg(test)]
mod talk_tests {
    use super::*;

    #[test]
    fn what_was_said_and_what_afk_did_read_back_as_they_were_written() {
        let said = [
            TalkSaid::ChangesRequested,
            TalkSaid::LineComments,
            TalkSaid::CommentReview,
            TalkSaid::Stop,
            TalkSaid::Hold,
            TalkSaid::Resume,
            TalkSaid::Fix("make it: faster".into()),
            TalkSaid::Unknown("frobnicate".into()),
        ];
        for s in said {
            assert_eq!(TalkSaid::parse(&s.words()), s, "{}", s.words());
        }
        let handled = [
            Handled::Queued,
            Handled::Done,
            Handled::Taken {
                turn: 2,
                max: 3,
                budget: TurnBudget::Review,
            },
            Handled::Taken {
                turn: 1,
                max: 2,
                budget: TurnBudget::Fix,
            },
            Handled::Answered("unknown verb".into()),
            Handled::Awaiting(4242),
            Handled::Ignored("edited after it was written".into()),
        ];
        for h in handled {
            assert_eq!(Handled::parse(&h.words()), h, "{}", h.words());
        }
        // a fix whose text looks like a stored word is still a fix
        assert_eq!(TalkSaid::parse("fix: stop"), TalkSaid::Fix("stop".into()));
        assert_eq!(
            TalkSaid::parse("fix: budget: 5"),
            TalkSaid::Fix("budget: 5".into())
        );
        assert_eq!(TalkSaid::parse("budget: +5"), TalkSaid::Budget("+5".into()));
        assert!(!Handled::parse("ignored: untrusted").acted_on());
        assert!(Handled::parse("queued").acted_on());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_trusted_verb_is_done_at_once_queued_or_answered() {
        let table = [
            ("stop", "", TalkSaid::Stop, Effect::Now),
            ("HOLD", "", TalkSaid::Hold, Effect::Now),
            ("resume", "now", TalkSaid::Resume, Effect::Now),
            (
                "fix",
                "rename it",
                TalkSaid::Fix("rename it".into()),
                Effect::Queued(TurnBudget::Review),
            ),
            // fix needs its instruction
            ("fix", "", TalkSaid::Unknown("fix".into()), Effect::Answered),
            // budget keeps its words, even none or not its grammar: the
            // grammar answers them when carried out
            ("budget", "+5", TalkSaid::Budget("+5".into()), Effect::Now),
            (
                "Budget",
                "time  +2h",
                TalkSaid::Budget("time  +2h".into()),
                Effect::Now,
            ),
            ("budget", "", TalkSaid::Budget("".into()), Effect::Now),
            (
                "budget",
                "fix: stop",
                TalkSaid::Budget("fix: stop".into()),
                Effect::Now,
            ),
            (
                "Merge",
                "",
                TalkSaid::Unknown("Merge".into()),
                Effect::Answered,
            ),
        ];
        for (verb, text, said, effect) in table {
            let got = TalkSaid::of_verb(verb, text);
            assert_eq!(got, said, "{verb} {text}");
            assert_eq!(got.effect(), effect, "{verb} {text}");
            // what is stored reads back as itself
            assert_eq!(TalkSaid::parse(&got.words()), got, "{verb} {text}");
        }
        // every verb the reply lists is known, and it lists every verb
        let listed: Vec<&str> = TalkSaid::VERBS
            .split(", ")
            .map(|v| v.split(' ').next().unwrap())
            .collect();
        assert_eq!(listed, CommandVerb::NAMES);
        for verb in listed {
            let said = TalkSaid::of_verb(verb, "x");
            assert_ne!(said.effect(), Effect::Answered, "{verb}");
        }
    }
}
