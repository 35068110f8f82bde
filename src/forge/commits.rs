//! A branch's commit list, newest first (SPEC 7.3: reverts of merged
//! successes). The forge-neutral [`Commit`], Gitea's wire shape of
//! `GET /repos/{owner}/{repo}/commits`, and where a listing stops.

use serde::Deserialize;
use time::OffsetDateTime;

/// One commit of a branch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Commit {
    pub sha: String,
    pub message: String,
    /// the committer date as the forge reports it (RFC 3339), if any
    pub date: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct WireWho {
    #[serde(default)]
    pub date: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct WireCommitInner {
    #[serde(default)]
    pub message: String,
    #[serde(default)]
    pub author: Option<WireWho>,
    #[serde(default)]
    pub committer: Option<WireWho>,
}

/// Gitea's `Commit`: `sha`, `commit.message`, `commit.committer.date` (then
/// `commit.author.date`, then `created`).
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct WireCommit {
    pub sha: String,
    #[serde(default)]
    pub commit: WireCommitInner,
    #[serde(default)]
    pub created: Option<String>,
}

impl WireCommit {
    pub(crate) fn into_commit(self) -> Commit {
        let c = self.commit;
        let date = c
            .committer
            .and_then(|w| w.date)
            .or(c.author.and_then(|w| w.date))
            .or(self.created);
        Commit {
            sha: self.sha,
            message: c.message,
            date,
        }
    }
}

/// Keep a page's commits down to the first one older than `since`; true when
/// the listing may go on to the next page. A date that does not parse never
/// stops it.
pub(crate) fn keep_until(page: Vec<Commit>, since: OffsetDateTime, out: &mut Vec<Commit>) -> bool {
    for c in page {
        let older = c
            .date
            .as_deref()
            .and_then(crate::clock::parse)
            .is_some_and(|d| d < since);
        if older {
            return false;
        }
        out.push(c);
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn a_listing_stops_at_the_first_commit_older_than_since() {
        let c = |sha: &str, date: Option<&str>| Commit {
            sha: sha.into(),
            message: String::new(),
            date: date.map(str::to_string),
        };
        let since = datetime!(2026-03-01 12:00 UTC);
        let cases = [
            (
                vec![
                    c("a", Some("2026-03-02T00:00:00Z")),
                    c("b", Some("2026-03-01T12:00:00Z")),
                ],
                vec!["a", "b"],
                true,
            ),
            (
                vec![
                    c("a", Some("2026-03-02T00:00:00+02:00")),
                    c("b", Some("2026-03-01T13:00:00+02:00")),
                    c("c", Some("2026-03-03T00:00:00Z")),
                ],
                vec!["a"],
                false,
            ),
            (
                vec![c("a", None), c("b", Some("not a date"))],
                vec!["a", "b"],
                true,
            ),
            (vec![], vec![], true),
        ];
        for (page, want, more) in cases {
            let mut out = vec![];
            let go_on = keep_until(page, since, &mut out);
            let got: Vec<&str> = out.iter().map(|c| c.sha.as_str()).collect();
            assert_eq!((got, go_on), (want.clone(), more), "{want:?}");
        }
    }

    #[test]
    fn the_committer_date_wins_then_the_author_date_then_created() {
        let w = |committer: Option<&str>, author: Option<&str>, created: Option<&str>| WireCommit {
            sha: "s".into(),
            commit: WireCommitInner {
                message: "m".into(),
                author: Some(WireWho {
                    date: author.map(str::to_string),
                }),
                committer: Some(WireWho {
                    date: committer.map(str::to_string),
                }),
            },
            created: created.map(str::to_string),
        };
        let cases = [
            (w(Some("c"), Some("a"), Some("x")), Some("c")),
            (w(None, Some("a"), Some("x")), Some("a")),
            (w(None, None, Some("x")), Some("x")),
            (w(None, None, None), None),
        ];
        for (wire, want) in cases {
            assert_eq!(wire.into_commit().date.as_deref(), want);
        }
    }
}
