//! How much of a pull request's reviews afk keeps (docs/reviews.md#reviews):
//! the latest reviews, each body cut, a review's line comments bounded one by
//! one and in all. The forges read reviews by these bounds; the conversation's
//! other rules (which review asks for a turn, commands, conflicts) are
//! afk-core's `conversation`, which re-exports these.

use afk_model::{LineComment, LineComments};

/// The most reviews of one pull request afk keeps: the latest.
pub const REVIEWS_MAX: usize = 100;
/// The most line comments of one review afk keeps.
pub const LINE_COMMENTS_MAX: usize = 20;
/// The most of one line comment's text afk keeps, in bytes.
pub const LINE_COMMENT_BYTES: usize = 4 * 1024;
/// The most of a review's text afk keeps, in bytes: its body alone, and its
/// line comments' texts together.
pub const REVIEW_BODY_BYTES: usize = 32 * 1024;

/// The most reviewers whose latest state-changing review afk keeps beside
/// the latest [`REVIEWS_MAX`] reviews.
pub const REVIEWERS_MAX: usize = 1000;

/// The reviews afk keeps of a pull request, fed one by one in the forge's
/// order (oldest first): the latest [`REVIEWS_MAX`], and besides them each
/// reviewer's latest state-changing review (approval, request for changes,
/// dismissal; [`REVIEWERS_MAX`] reviewers at most), so no number of others'
/// comments pushes a trusted person's standing review out. Memory is bounded
/// by both caps, not by how many reviews there are.
#[derive(Debug, Default)]
pub struct KeptReviews<R> {
    recent: std::collections::VecDeque<(u64, R)>,
    standing: std::collections::HashMap<String, (u64, R)>,
    n: u64,
}

impl<R: Clone> KeptReviews<R> {
    pub fn new() -> Self {
        KeptReviews {
            recent: std::collections::VecDeque::new(),
            standing: std::collections::HashMap::new(),
            n: 0,
        }
    }

    /// Take the next review: `author`, and whether its state changes the
    /// reviewer's standing.
    pub fn push(&mut self, author: &str, state_changing: bool, r: R) {
        let n = self.n;
        self.n += 1;
        if state_changing && !author.is_empty() {
            let key = author.to_ascii_lowercase();
            if self.standing.len() < REVIEWERS_MAX || self.standing.contains_key(&key) {
                self.standing.insert(key, (n, r.clone()));
            }
        }
        if self.recent.len() == REVIEWS_MAX {
            self.recent.pop_front();
        }
        self.recent.push_back((n, r));
    }

    /// What was kept, in the forge's order.
    pub fn into_vec(self) -> Vec<R> {
        let first_recent = self.recent.front().map_or(u64::MAX, |(n, _)| *n);
        let mut all: Vec<(u64, R)> = self
            .standing
            .into_values()
            .filter(|(n, _)| *n < first_recent)
            .collect();
        all.extend(self.recent);
        all.sort_by_key(|(n, _)| *n);
        all.into_iter().map(|(_, r)| r).collect()
    }
}

/// `text` cut to at most `max` bytes on a character boundary, and whether it was.
pub fn cut(text: &str, max: usize) -> (String, bool) {
    if text.len() <= max {
        return (text.to_string(), false);
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    (text[..end].to_string(), true)
}

/// A review's line comments, in the order the forge gave them, as afk keeps
/// them: at most [`LINE_COMMENTS_MAX`], each text cut to
/// [`LINE_COMMENT_BYTES`], all the texts together at most
/// [`REVIEW_BODY_BYTES`] (the comment that reaches it is cut to what is
/// left; those after it are left out). `more` says some were left out.
/// Takes an iterator so a reader can stop once [`LINE_COMMENTS_MAX`] + 1 were seen.
pub fn keep_line_comments(all: impl IntoIterator<Item = LineComment>) -> LineComments {
    let mut out = LineComments::default();
    let mut used = 0;
    for mut c in all {
        let room = LINE_COMMENT_BYTES.min(REVIEW_BODY_BYTES - used);
        if out.kept.len() == LINE_COMMENTS_MAX || room == 0 {
            out.more = true;
            break;
        }
        let (body, was_cut) = cut(&c.body, room);
        used += body.len();
        c.body = body;
        c.body_cut |= was_cut;
        out.kept.push(c);
    }
    out
}

#[cfg(test)]
mod kept_tests {
    use super::*;

    #[test]
    fn no_number_of_others_comments_hides_a_reviewers_standing_review() {
        // alice asks for changes, then 150 comments by mallory, bob approves twice
        let mut k = KeptReviews::new();
        k.push("alice", true, "alice: changes".to_string());
        k.push("bob", true, "bob: approve 1".to_string());
        for i in 0..150 {
            k.push("mallory", false, format!("mallory: comment {i}"));
        }
        k.push("Bob", true, "bob: approve 2".to_string());
        let v = k.into_vec();
        assert_eq!(v[0], "alice: changes", "kept, first: {:?}", &v[..3]);
        assert!(
            !v.contains(&"bob: approve 1".to_string()),
            "only bob's latest standing"
        );
        assert_eq!(v.last().unwrap(), "bob: approve 2");
        assert_eq!(
            v.len(),
            1 + REVIEWS_MAX,
            "the latest {REVIEWS_MAX} and alice's"
        );
        assert_eq!(
            v[1], "mallory: comment 51",
            "then the latest of the rest, in order"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outside_text_is_cut_on_a_character_boundary() {
        let cases = [
            ("", 4, "", false),
            ("abcd", 4, "abcd", false),
            ("abcde", 4, "abcd", true),
            // "é" is two bytes: never split
            ("abcé", 4, "abc", true),
            ("ééé", 5, "éé", true),
            ("x", 0, "", true),
        ];
        for (text, max, want, was) in cases {
            assert_eq!(cut(text, max), (want.to_string(), was), "{text:?} {max}");
        }
    }

    fn lc(id: i64, bytes: usize) -> LineComment {
        LineComment {
            id,
            review_id: Some(1),
            path: "a.rs".into(),
            line: Some(1),
            body: "x".repeat(bytes),
            author: "alice".into(),
            body_cut: false,
            created_at: None,
            commit: None,
            outdated: false,
        }
    }

    #[test]
    fn at_most_twenty_line_comments_of_4_kib_each_and_32_kib_in_all_are_kept() {
        let k = LINE_COMMENT_BYTES;
        // (comment sizes, kept sizes, which were cut, more left out)
        type Case = (Vec<usize>, Vec<usize>, Vec<bool>, bool);
        let cases: Vec<Case> = vec![
            (vec![], vec![], vec![], false),
            (vec![10, 20], vec![10, 20], vec![false, false], false),
            (vec![k + 1], vec![k], vec![true], false),
            (vec![1; 21], vec![1; 20], vec![false; 20], true),
            (vec![1; 20], vec![1; 20], vec![false; 20], false),
            // eight full ones fill 32 KiB: the ninth is left out
            (vec![k; 9], vec![k; 8], vec![false; 8], true),
            // the one that reaches the total is cut to what is left
            (
                [vec![k; 7], vec![k - 10, 100, 5]].concat(),
                [vec![k; 7], vec![k - 10, 10]].concat(),
                [vec![false; 8], vec![true]].concat(),
                true,
            ),
        ];
        for (i, (sizes, want, cuts, more)) in cases.into_iter().enumerate() {
            let all = sizes.iter().enumerate().map(|(n, s)| lc(n as i64, *s));
            let got = keep_line_comments(all);
            let lens: Vec<usize> = got.kept.iter().map(|c| c.body.len()).collect();
            let got_cuts: Vec<bool> = got.kept.iter().map(|c| c.body_cut).collect();
            assert_eq!((lens, got_cuts, got.more), (want, cuts, more), "case {i}");
        }
    }
}
