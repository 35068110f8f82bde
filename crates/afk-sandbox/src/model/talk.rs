//! The conversation's state beside the forge model: reviews with their line
//! comments, reactions, mergeability and what a PR's next branch update does
//! (`crate::reviews` acts on it; `routes/*/reviews.rs` render it).

use std::collections::BTreeMap;

/// What a review says, in neither forge's spelling.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    Approved,
    ChangesRequested,
    Commented,
    /// started, not submitted (only its author sees it on a real forge)
    Pending,
}

impl Verdict {
    /// Any forge's word (`REQUEST_CHANGES`, `CHANGES_REQUESTED` or `requested_changes`, `COMMENT`
    /// or `COMMENTED`, `APPROVE` or `APPROVED`), any case.
    pub(crate) fn parse(s: &str) -> Option<Verdict> {
        match s.to_ascii_uppercase().as_str() {
            "APPROVED" | "APPROVE" => Some(Verdict::Approved),
            // GitLab's reviewer state: `requested_changes`
            "REQUEST_CHANGES" | "CHANGES_REQUESTED" | "REQUESTED_CHANGES" => {
                Some(Verdict::ChangesRequested)
            }
            "COMMENT" | "COMMENTED" => Some(Verdict::Commented),
            "PENDING" => Some(Verdict::Pending),
            _ => None,
        }
    }
}

/// A comment on one line of a file in the PR's diff.
pub(crate) struct LineComment {
    pub(crate) id: i64,
    pub(crate) path: String,
    pub(crate) line: u64,
    pub(crate) body: String,
    /// when (`Forge::stamp`)
    pub(crate) at: String,
    /// who wrote it, when not the review's author (a reply in the review's
    /// thread, which Gitea keeps under the review's id)
    pub(crate) user: Option<String>,
    /// GitHub: the thread's first comment, when this one is a reply
    pub(crate) in_reply_to: Option<i64>,
}

impl LineComment {
    /// Who wrote it: its own author, else the review's.
    pub(crate) fn author<'a>(&'a self, review: &'a Review) -> &'a str {
        self.user.as_deref().unwrap_or(&review.user)
    }
}

pub(crate) struct Review {
    pub(crate) id: i64,
    pub(crate) repo: String,
    pub(crate) pr: u64,
    pub(crate) user: String,
    pub(crate) verdict: Verdict,
    pub(crate) body: String,
    /// the commit it was made on
    pub(crate) commit: String,
    /// when it was submitted (`Forge::stamp`)
    pub(crate) at: String,
    pub(crate) dismissed: bool,
    pub(crate) comments: Vec<LineComment>,
    /// who resolved the thread of its first line comment (Gitea shows it as
    /// that thread's comments' `resolver`; GitHub in GraphQL only)
    pub(crate) resolved_by: Option<String>,
}

/// A reaction on an issue comment.
pub(crate) struct Reaction {
    pub(crate) id: i64,
    pub(crate) user: String,
    pub(crate) content: String,
    pub(crate) at: String,
}

/// What the next branch update of a PR does, set by a test.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum NextUpdate {
    /// a new commit on the head branch, whatever git would say
    Succeed,
    /// refused as a conflict, nothing changed
    Conflict,
}

/// How a branch update ended.
pub(crate) enum Updated {
    /// the head branch has a new commit
    Moved,
    /// the base has nothing the head lacks: nothing to do
    UpToDate,
    Conflict,
    /// the head is not the one the caller expected (GitHub's `expected_head_sha`)
    HeadMoved,
    /// not an open pull request
    NotOpen,
}

/// The conversation's state, beside the forge model.
#[derive(Default)]
pub(crate) struct Talk {
    /// reviews by id, in the order they were submitted
    pub(crate) reviews: BTreeMap<i64, Review>,
    /// comment id → its reactions, oldest first
    pub(crate) reactions: BTreeMap<i64, Vec<Reaction>>,
    /// (repo, pr) → what the forge says of its mergeability (`None`: still
    /// computing); a PR not here is mergeable while open
    pub(crate) mergeable: BTreeMap<(String, u64), Option<bool>>,
    /// (repo, pr) → what its next branch update does
    pub(crate) next_update: BTreeMap<(String, u64), NextUpdate>,
}
