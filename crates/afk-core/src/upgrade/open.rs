//! Whether afk opens a PR for a selected bump no open PR covers
//! (docs/how-it-works.md#afk-upgrade), or the bump waits, and why. Decided in
//! two steps because the second needs a forge request the first may make
//! unnecessary: before asking for the branch ([`why_wait`]) and once its head
//! is known ([`why_not_push`]).

use crate::types::PrNumber;

/// A PR afk opened on the bump's branch earlier that is now closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Prior {
    pub number: PrNumber,
    pub merged: bool,
    /// how the forge names it for a person (`#`, GitLab's `!`)
    pub sigil: char,
}

/// Why the bump waits before afk even looks at its branch: afk never opens a
/// PR again on a branch whose afk PR was closed or merged, and never goes past
/// `max_open_prs` (counting the open PRs the new one would close as gone).
/// `None`: look at the branch.
pub fn why_wait(
    prior: Option<Prior>,
    branch: &str,
    open: usize,
    replaces: usize,
    max: usize,
    title: &str,
) -> Option<String> {
    if let Some(p) = prior {
        let how = if p.merged { "merged" } else { "closed" };
        return Some(format!(
            "{}{} on {branch} was {how}; afk does not open it again",
            p.sigil, p.number
        ));
    }
    if open.saturating_sub(replaces) >= max {
        return Some(format!("max_open_prs ({max}) reached: {title} waits"));
    }
    None
}

/// Why the bump waits once its branch's head is known: afk never pushes over
/// a commit it did not make. `head_by_afk` is `None` when the branch does not
/// exist yet.
pub fn why_not_push(branch: &str, head_by_afk: Option<bool>) -> Option<String> {
    (head_by_afk == Some(false))
        .then(|| format!("{branch} holds a commit afk did not make; not pushing to it"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const B: &str = "afk/upgrade-app-1.26.0";
    const T: &str = "nginx 1.25.3 → 1.26.0";

    #[test]
    fn a_closed_afk_pr_is_never_reopened_and_max_open_prs_counts_what_the_new_pr_closes() {
        let closed = Some(Prior {
            number: PrNumber(7),
            merged: false,
            sigil: '#',
        });
        let merged = Some(Prior {
            number: PrNumber(8),
            merged: true,
            sigil: '#',
        });
        // a GitLab merge request is named !M
        let gitlab = Some(Prior {
            number: PrNumber(8),
            merged: true,
            sigil: '!',
        });
        // (prior, open, replaces, max, wait reason)
        type Case = (Option<Prior>, usize, usize, usize, Option<&'static str>);
        let cases: &[Case] = &[
            (None, 0, 0, 2, None),
            (None, 1, 0, 2, None),
            (
                None,
                2,
                0,
                2,
                Some("max_open_prs (2) reached: nginx 1.25.3 → 1.26.0 waits"),
            ),
            (
                None,
                3,
                0,
                2,
                Some("max_open_prs (2) reached: nginx 1.25.3 → 1.26.0 waits"),
            ),
            // the PR it supersedes will be closed: room for the new one
            (None, 2, 1, 2, None),
            (
                None,
                0,
                3,
                0,
                Some("max_open_prs (0) reached: nginx 1.25.3 → 1.26.0 waits"),
            ),
            (
                closed,
                0,
                0,
                2,
                Some("#7 on afk/upgrade-app-1.26.0 was closed; afk does not open it again"),
            ),
            (
                merged,
                0,
                0,
                2,
                Some("#8 on afk/upgrade-app-1.26.0 was merged; afk does not open it again"),
            ),
            (
                gitlab,
                0,
                0,
                2,
                Some("!8 on afk/upgrade-app-1.26.0 was merged; afk does not open it again"),
            ),
            // a closed PR wins over the limit
            (
                closed,
                5,
                0,
                2,
                Some("#7 on afk/upgrade-app-1.26.0 was closed; afk does not open it again"),
            ),
        ];
        for &(prior, open, replaces, max, want) in cases {
            assert_eq!(
                why_wait(prior, B, open, replaces, max, T).as_deref(),
                want,
                "{prior:?} open {open} replaces {replaces} max {max}"
            );
        }
    }

    #[test]
    fn afk_pushes_only_to_a_new_branch_or_one_whose_head_it_made() {
        let foreign = "afk/upgrade-app-1.26.0 holds a commit afk did not make; not pushing to it";
        for (head, want) in [
            (None, None),
            (Some(true), None),
            (Some(false), Some(foreign)),
        ] {
            assert_eq!(why_not_push(B, head).as_deref(), want, "{head:?}");
        }
    }
}
