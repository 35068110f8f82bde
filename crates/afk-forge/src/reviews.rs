//! The conversation on a pull request as both forges send it (docs/reviews.md):
//! their review and line-comment JSON read into the forge-neutral shapes,
//! kept bounded as `core::review_bounds` says, and what GitHub's refusals of a
//! branch update mean. One copy for `gitea` and `github`.

use super::http::{ForgeError, Http};
use super::model::{BranchUpdate, LineComment, LineComments, Review, ReviewState, User};
use crate::core::review_bounds::{self, LINE_COMMENTS_MAX, REVIEW_BODY_BYTES};
use anyhow::Result;
use serde::Deserialize;

/// A review as either forge sends it (Gitea `PullReview`, GitHub
/// `pull-request-review`), the fields afk reads.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct WireReview {
    id: i64,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    state: String,
    /// Gitea's dismissal (GitHub says `DISMISSED` in `state`)
    #[serde(default)]
    dismissed: bool,
    #[serde(default)]
    commit_id: Option<String>,
    #[serde(default)]
    submitted_at: Option<String>,
    #[serde(default)]
    user: Option<User>,
    /// Gitea: the line comments its threads hold, replies included
    #[serde(default)]
    comments_count: Option<u64>,
}

impl WireReview {
    fn into_review(self) -> Review {
        let state = if self.dismissed {
            ReviewState::Dismissed
        } else {
            ReviewState::from_forge(&self.state)
        };
        let (body, body_cut) =
            review_bounds::cut(self.body.as_deref().unwrap_or(""), REVIEW_BODY_BYTES);
        Review {
            id: self.id,
            author: self.user.map(|u| u.login).unwrap_or_default(),
            state,
            commit_sha: self.commit_id.unwrap_or_default(),
            submitted_at: self.submitted_at,
            body,
            body_cut,
            comments_count: self.comments_count,
        }
    }
}

/// A line comment as either forge sends it (Gitea `PullReviewComment`,
/// GitHub `pull-request-review-comment`), the fields afk reads.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct WireLineComment {
    id: i64,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    path: Option<String>,
    /// GitHub: the line in the file (null on an outdated diff)
    #[serde(default)]
    line: Option<u64>,
    #[serde(default)]
    original_line: Option<u64>,
    /// Gitea: the new file's line (0: the comment is on the old side); on
    /// GitHub the place in the diff, never read there
    #[serde(default)]
    position: Option<u64>,
    /// Gitea: the old file's line
    #[serde(default)]
    original_position: Option<u64>,
    #[serde(default)]
    pull_request_review_id: Option<i64>,
    #[serde(default)]
    user: Option<User>,
    /// Gitea: who resolved the thread this comment is in (null: open)
    #[serde(default)]
    resolver: Option<User>,
    #[serde(default)]
    created_at: Option<String>,
    /// GitHub: the commit it was written on is `original_commit_id`. Gitea
    /// sends the commit that last changed its line (`LineBlame`) as
    /// `commit_id` and `""` as `original_commit_id`: neither is the head it
    /// was written on, so a Gitea comment names none
    /// (docs/fidelity/gitea.md)
    #[serde(default)]
    commit_id: Option<String>,
    #[serde(default)]
    original_commit_id: Option<String>,
    /// GitHub: the thread's first comment, when this one replies in it
    #[serde(default)]
    in_reply_to_id: Option<i64>,
}

/// Which forge sent a line comment: they put its line in different fields.
#[derive(Clone, Copy)]
pub(crate) enum Lines {
    Gitea,
    Github,
}

impl WireLineComment {
    pub(crate) fn review_id(&self) -> Option<i64> {
        self.pull_request_review_id
    }

    /// The thread it is in: its first comment's id (its own when it starts one).
    pub(crate) fn thread(&self) -> i64 {
        self.in_reply_to_id.unwrap_or(self.id)
    }

    pub(crate) fn id(&self) -> i64 {
        self.id
    }

    fn into_comment(self, lines: Lines) -> LineComment {
        let nonzero = |n: Option<u64>| n.filter(|n| *n > 0);
        let line = match lines {
            Lines::Github => self.line.or(self.original_line),
            Lines::Gitea => nonzero(self.position).or(nonzero(self.original_position)),
        };
        LineComment {
            id: self.id,
            review_id: self.pull_request_review_id,
            path: self.path.unwrap_or_default(),
            line,
            body: self.body.unwrap_or_default(),
            author: self.user.map(|u| u.login).unwrap_or_default(),
            body_cut: false,
            created_at: self.created_at,
            commit: match lines {
                Lines::Github => self.original_commit_id.or(self.commit_id),
                Lines::Gitea => None,
            },
            outdated: false,
        }
    }
}

/// A pull request's reviews, every page of `path`, as
/// `review_bounds::KeptReviews` keeps them: the latest `REVIEWS_MAX` and
/// each reviewer's latest standing review (both forges list the oldest first).
pub(crate) fn read_reviews(http: &Http, path: &str) -> Result<Vec<Review>> {
    let mut kept = review_bounds::KeptReviews::new();
    http.walk(path, |page: Vec<WireReview>| {
        for w in page {
            let r = w.into_review();
            let standing = matches!(
                r.state,
                ReviewState::ChangesRequested | ReviewState::Approved | ReviewState::Dismissed
            );
            kept.push(&r.author.clone(), standing, r);
        }
        true
    })?;
    Ok(kept.into_vec())
}

/// One review's line comments from `wire`, taken no further than one more
/// than can be kept, bounded as `core::review_bounds` says.
pub(crate) fn keep_comments(
    wire: impl IntoIterator<Item = WireLineComment>,
    lines: Lines,
) -> LineComments {
    review_bounds::keep_line_comments(
        wire.into_iter()
            .take(LINE_COMMENTS_MAX + 1)
            .map(|w| w.into_comment(lines)),
    )
}

/// Gitea's line comments without those in a resolved thread (a `resolver`
/// on any of the thread's comments, a thread being a file's line): a
/// resolved thread asks nothing, whoever resolved it (docs/reviews.md).
pub(crate) fn without_resolved(wire: Vec<WireLineComment>) -> Vec<WireLineComment> {
    let thread = |w: &WireLineComment| (w.path.clone(), w.position, w.original_position);
    let resolved: Vec<_> = wire
        .iter()
        .filter(|w| w.resolver.is_some())
        .map(thread)
        .collect();
    wire.into_iter()
        .filter(|w| !resolved.contains(&thread(w)))
        .collect()
}

/// What a refused branch update means, from the forge's words (GitHub
/// answers each with 422 and a `message`).
pub(crate) fn refusal(message: &str) -> BranchUpdate {
    let m = message.to_ascii_lowercase();
    if m.contains("expected head sha") {
        BranchUpdate::HeadMoved
    } else if m.contains("no new commits") {
        BranchUpdate::UpToDate
    } else if m.contains("conflict") {
        BranchUpdate::Conflict
    } else {
        BranchUpdate::Refused(message.to_string())
    }
}

/// The words of a failed call (the forge's `message` inside afk's), for [`refusal`].
pub(crate) fn words(e: &anyhow::Error) -> String {
    e.downcast_ref::<ForgeError>()
        .map(|f| f.message.clone())
        .unwrap_or_else(|| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_resolved_thread_on_gitea_asks_nothing_whoever_resolved_it() {
        let c = |id: i64, path: &str, pos: u64, resolver: Option<&str>| -> WireLineComment {
            serde_json::from_value(json!({"id": id, "path": path, "position": pos,
                "resolver": resolver.map(|r| json!({"login": r}))}))
            .unwrap()
        };
        let wire = vec![
            c(1, "a.rs", 3, Some("bob")),
            c(2, "a.rs", 3, None),
            c(3, "a.rs", 4, None),
            c(4, "b.rs", 3, None),
        ];
        let kept: Vec<i64> = without_resolved(wire).iter().map(|w| w.id).collect();
        assert_eq!(kept, [3, 4]);
    }

    #[test]
    fn a_review_state_is_one_word_whatever_forge_said_it() {
        let cases = [
            (
                json!({"id": 1, "state": "CHANGES_REQUESTED"}),
                ReviewState::ChangesRequested,
            ),
            (
                json!({"id": 1, "state": "REQUEST_CHANGES"}),
                ReviewState::ChangesRequested,
            ),
            (json!({"id": 1, "state": "APPROVED"}), ReviewState::Approved),
            (
                json!({"id": 1, "state": "COMMENTED"}),
                ReviewState::Commented,
            ),
            (json!({"id": 1, "state": "COMMENT"}), ReviewState::Commented),
            (
                json!({"id": 1, "state": "DISMISSED"}),
                ReviewState::Dismissed,
            ),
            // Gitea: a dismissal beside the state it had
            (
                json!({"id": 1, "state": "REQUEST_CHANGES", "dismissed": true}),
                ReviewState::Dismissed,
            ),
            (json!({"id": 1, "state": "PENDING"}), ReviewState::Pending),
            (
                json!({"id": 1, "state": "REQUEST_REVIEW"}),
                ReviewState::Other,
            ),
            (json!({"id": 1}), ReviewState::Other),
        ];
        for (v, want) in cases {
            let w: WireReview = serde_json::from_value(v.clone()).unwrap();
            assert_eq!(w.into_review().state, want, "{v}");
        }
    }

    #[test]
    fn a_review_without_author_commit_or_body_reads_as_empty() {
        let w: WireReview = serde_json::from_value(
            json!({"id": 7, "state": "APPROVED", "user": null, "commit_id": null, "body": null}),
        )
        .unwrap();
        let r = w.into_review();
        assert_eq!(
            (
                r.author.as_str(),
                r.commit_sha.as_str(),
                r.body.as_str(),
                r.body_cut
            ),
            ("", "", "", false)
        );
    }

    #[test]
    fn a_line_comment_is_on_the_line_each_forge_names() {
        let cases = [
            (
                Lines::Github,
                json!({"id": 1, "line": 5, "position": 2}),
                Some(5),
            ),
            (
                Lines::Github,
                json!({"id": 1, "line": null, "original_line": 4}),
                Some(4),
            ),
            (Lines::Github, json!({"id": 1, "position": 2}), None),
            (
                Lines::Gitea,
                json!({"id": 1, "position": 5, "original_position": 0}),
                Some(5),
            ),
            (
                Lines::Gitea,
                json!({"id": 1, "position": 0, "original_position": 3}),
                Some(3),
            ),
            (
                Lines::Gitea,
                json!({"id": 1, "position": 0, "original_position": 0}),
                None,
            ),
        ];
        for (lines, v, want) in cases {
            let w: WireLineComment = serde_json::from_value(v.clone()).unwrap();
            assert_eq!(w.into_comment(lines).line, want, "{v}");
        }
    }

    #[test]
    fn a_refused_branch_update_means_what_the_forge_said() {
        let cases = [
            (
                "unexpected answer (expected head sha didn't match current head ref.)",
                BranchUpdate::HeadMoved,
            ),
            (
                "unexpected answer (There are no new commits on the base branch.)",
                BranchUpdate::UpToDate,
            ),
            (
                "unexpected answer (merge conflict between base and head)",
                BranchUpdate::Conflict,
            ),
            (
                "unexpected answer (Pull request is not open.)",
                BranchUpdate::Refused("unexpected answer (Pull request is not open.)".into()),
            ),
        ];
        for (message, want) in cases {
            assert_eq!(refusal(message), want, "{message}");
        }
    }
}
