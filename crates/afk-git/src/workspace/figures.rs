//! The leaderboard figures read from afk's cache
//! (docs/reports.md#compared-with-published-figures): the forge's default
//! branch fetched once per repository and tick ([`Workspace::fetch_tip`],
//! shared with line survival), then the merges' reverts from one log of the
//! branch, and each due run's 7-day churn from its PR's files and the
//! first-parent log after its merge. Every output read bounded; what to
//! count is `afk_core::churn`'s.

use super::survival::{SURVIVAL_READ, SurvivalDue, TIP_REF};
use super::{Workspace, is_sha};
use afk_core::churn::{self as rules, Churned, Todo};
use afk_core::undo;
use anyhow::{Result, bail};
use std::collections::HashSet;
use std::path::Path;

/// The branch's log read to find reverts, at most: past it, older reverts
/// are not found this tick (a lower bound, never a wrong one).
const LOG_READ: u64 = 16 << 20;
/// A day, in seconds: the log starts a day before the oldest merge it
/// serves, for committer clocks a little behind.
const SLACK: i64 = 86_400;

/// One merged run the tick looks at.
#[derive(Debug, Clone, Copy)]
pub struct FiguresDue<'a> {
    pub merge_sha: &'a str,
    /// the PR's head at the merge, when afk knows it (a rebase merge's files)
    pub pr_head: Option<&'a str>,
    /// unix seconds
    pub merged_at: i64,
    pub todo: Todo,
}

/// What was found for one run: its revert (sha, committer time) and its
/// churn, each when the run was due for it and it was found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FiguresFound {
    pub revert: Option<(String, i64)>,
    pub churn: Option<Churned>,
}

impl Workspace {
    /// Each due run looked at in `repo`'s cache, fetched by
    /// [`Workspace::fetch_tip`]: one result per run, in order. A merge the
    /// cache does not hold on the default branch finds nothing (its figures
    /// stay pending); `afk_merges`: the merged commits of afk's runs of the
    /// repository, lower case.
    pub fn figures(
        &self,
        repo: &str,
        due: &[FiguresDue],
        afk_merges: &HashSet<String>,
    ) -> Result<Vec<Result<FiguresFound>>> {
        let (cache, _lock) = self.open_cache(repo)?;
        let on_branch: Vec<bool> = due
            .iter()
            .map(|d| self.on_tip(&cache, d.merge_sha))
            .collect();
        let oldest = due
            .iter()
            .zip(&on_branch)
            .filter(|(d, on)| **on && d.todo.revert)
            .map(|(d, _)| d.merged_at)
            .min();
        let records = match oldest {
            Some(t) => {
                let since = format!("--since={}", iso(t - SLACK));
                let format = format!("--format={}", rules::LOG_FORMAT);
                let args = ["log", "-z", "--no-color", &format, &since, TIP_REF];
                rules::log_records(&self.read_text(&cache, &args, LOG_READ)?)
            }
            None => vec![],
        };
        Ok(due
            .iter()
            .zip(on_branch)
            .map(|(d, on)| {
                if !on {
                    return Ok(FiguresFound::default());
                }
                let mut found = FiguresFound::default();
                if d.todo.revert {
                    found.revert = self.revert_of(&cache, d.merge_sha, &records)?;
                }
                if d.todo.churn {
                    found.churn = Some(self.churn(&cache, d, afk_merges)?);
                }
                Ok(found)
            })
            .collect())
    }

    /// Whether `sha` is a commit of the fetched default branch.
    fn on_tip(&self, cache: &Path, sha: &str) -> bool {
        is_sha(sha)
            && self.has_object(cache, &format!("{sha}^{{commit}}"))
            && self
                .git
                .exit_of(cache, &["merge-base", "--is-ancestor", sha, TIP_REF], &[])
                .is_ok_and(|c| c == 0)
    }

    /// The oldest record that names `merge_sha` and whose diff undoes the
    /// merge's, with its committer time.
    fn revert_of(
        &self,
        cache: &Path,
        merge_sha: &str,
        records: &[rules::Record],
    ) -> Result<Option<(String, i64)>> {
        let candidates = rules::revert_candidates(merge_sha, records);
        if candidates.is_empty() {
            return Ok(None);
        }
        // a diff longer than afk reads proves nothing: no revert found by it
        // (never an error a commit's size could repeat on every tick)
        let Ok(merge) = self.diff_in(cache, merge_sha) else {
            return Ok(None);
        };
        let merge = undo::git_file_diffs(&merge);
        for c in candidates {
            let Ok(commit) = self.diff_in(cache, &c.sha) else {
                continue;
            };
            if undo::undoes(&merge, &undo::git_file_diffs(&commit)) {
                return Ok(Some((c.sha.clone(), c.at)));
            }
        }
        Ok(None)
    }

    /// The run's 7-day churn: its PR's files (B..M, renames followed), and
    /// the first-parent commits after M committed within 7 days of the merge.
    fn churn(&self, cache: &Path, d: &FiguresDue, afk_merges: &HashSet<String>) -> Result<Churned> {
        let m = d.merge_sha;
        if !is_sha(m) {
            bail!("{m:?} is no commit id");
        }
        let b = self.base_of(
            cache,
            &SurvivalDue {
                merge_sha: m,
                pr_head: d.pr_head,
                window_end: 0,
            },
        )?;
        let names = [
            "-c",
            "core.quotePath=false",
            "diff",
            "-M",
            "--name-only",
            "--no-color",
            b.as_str(),
            m,
        ];
        let pr_files: Vec<String> = self
            .read_text(cache, &names, SURVIVAL_READ)?
            .lines()
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect();
        let until = format!("--until={}", iso(rules::churn_end(d.merged_at)));
        let not_m = format!("^{m}");
        let log = [
            "-c",
            "core.quotePath=false",
            "log",
            "--first-parent",
            "--diff-merges=first-parent",
            "--no-renames",
            "--name-only",
            "--no-color",
            "--format=%x00%H %ct",
            &until,
            TIP_REF,
            &not_m,
        ];
        let after = rules::changers(&self.read_text(cache, &log, SURVIVAL_READ)?);
        Ok(rules::churn_of(&pr_files, d.merged_at, &after, afk_merges))
    }
}

/// Unix seconds as a date git's `--since` and `--until` read exactly
/// (`@<seconds>`, git's own form for a commit's date).
fn iso(t: i64) -> String {
    format!("@{t}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workspace::tests_git::{commit_at as commit, git_at};

    const DAY: i64 = 86_400;

    /// Against real git: a revert 20 days after the merge is found with its
    /// date; a message naming the merge whose diff does not undo it is not;
    /// churn counts the files changed again within 7 days (a rename of the
    /// PR's file followed), not after; a merge not on the branch finds
    /// nothing.
    #[test]
    fn a_late_revert_and_the_7_day_churn_are_read_from_the_cache() {
        let dir = std::env::temp_dir().join(format!("afk-git-figures-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let forge = dir.join("forge");
        std::fs::create_dir_all(&forge).unwrap();
        let t = 1_700_000_000;
        git_at(&forge, t, &["init", "-q", "-b", "main"]);
        commit(&forge, t, &[("a.txt", "a\n"), ("old.txt", "o\n")], "start");
        git_at(&forge, t, &["mv", "old.txt", "moved.txt"]);
        let m = commit(
            &forge,
            t + DAY,
            &[("a.txt", "a\nb\n"), ("c.txt", "c\n"), ("d.txt", "d\n")],
            "the run (#1)",
        );
        let m2 = commit(
            &forge,
            t + DAY + 60,
            &[("a.txt", "a\nb\nc\n"), ("e.txt", "e\n")],
            "another run (#2)",
        );
        commit(&forge, t + 2 * DAY, &[("c.txt", "c\nc2\n")], "c again");
        commit(
            &forge,
            t + 3 * DAY,
            &[("moved.txt", "o\nx\n")],
            "moved again",
        );
        commit(
            &forge,
            t + 9 * DAY,
            &[("d.txt", "d\nd2\n")],
            "d after 7 days",
        );
        let fake = commit(
            &forge,
            t + 10 * DAY,
            &[("zzz.txt", "z\n")],
            &format!("Revert \"another run\"\n\nThis reverts commit {m2}."),
        );
        // the real revert, 20 days on
        git_at(&forge, t + 21 * DAY, &["revert", "--no-edit", &m2]);
        let revert = git_at(&forge, t + 21 * DAY, &["rev-parse", "HEAD"]);
        let ws = Workspace::new(&dir.join("cache"), "t", None);
        ws.fetch_tip("acme/api", &forge.to_string_lossy()).unwrap();
        let all = Todo {
            revert: true,
            churn: true,
        };
        let due = |sha: &'static str, at: i64| FiguresDue {
            merge_sha: sha,
            pr_head: None,
            merged_at: at,
            todo: all,
        };
        let (m, m2): (&'static str, &'static str) = (m.leak(), m2.leak());
        let gone: &'static str = "e".repeat(40).leak();
        let afk: HashSet<String> = [m2.to_string()].into();
        let found = ws
            .figures(
                "acme/api",
                &[due(m, t + DAY), due(m2, t + DAY + 60), due(gone, t)],
                &afk,
            )
            .unwrap();
        let found: Vec<FiguresFound> = found.into_iter().map(|f| f.unwrap()).collect();
        assert_ne!(revert, fake);
        assert_eq!(found[0].revert, None, "{found:?}");
        assert_eq!(
            found[0].churn,
            Some(Churned {
                files: 4,
                changed_again: 3,
                by_afk: 1
            }),
            "a.txt, c.txt, d.txt and moved.txt; a.txt (by afk's other run), c.txt and moved.txt again within 7 days"
        );
        assert_eq!(found[1].revert, Some((revert, t + 21 * DAY)), "{found:?}");
        assert_eq!(
            found[1].churn,
            Some(Churned {
                files: 2,
                changed_again: 0,
                by_afk: 0
            }),
            "the revert came after 7 days"
        );
        assert_eq!(found[2], FiguresFound::default(), "not on the branch");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
