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
}
