//! Line survival (docs/reports.md#afk-report) read from afk's cache: one
//! fetch of the forge's default branch per repository, then per merged run
//! the git of the steps docs/reports.md#how-line-survival-is-counted lists
//! (`rev-list B..M`, the rebase-merge patch-ids,
//! `diff -U0 --no-renames B M`, the first-parent log for the tip at the
//! window, `diff -M --name-status M D` and `blame -w --line-porcelain D`),
//! every output read bounded. What to count is `afk_core::survival`'s; this
//! file only asks git.

use super::{Workspace, is_sha};
use afk_core::survival::{self as rules, Survived};
use anyhow::{Context, Result, bail};
use std::path::Path;

/// What afk reads of one git output here at most (a diff, a blame, a
/// commit list): past it, what was read is what is counted (a lower bound).
pub const SURVIVAL_READ: u64 = 32 << 20;
/// The first-parent history read to find the tip at a window's end, at most.
const HISTORY_READ: u64 = 4 << 20;
/// A PR's commits looked at for the rebase-merge rule, at most.
const PR_COMMITS: usize = 250;
/// Where the forge's default branch is fetched to in the cache.
pub(super) const TIP_REF: &str = "refs/forge/survival/HEAD";

/// One merged run whose line survival is due.
#[derive(Debug, Clone, Copy)]
pub struct SurvivalDue<'a> {
    /// the merged commit the forge reported (M)
    pub merge_sha: &'a str,
    /// the PR's head at the merge, when afk knows it (a rebase merge's commits)
    pub pr_head: Option<&'a str>,
    /// merged_at + `survival_window`, in unix seconds
    pub window_end: i64,
}

impl Workspace {
    /// `url`'s default branch fetched into `repo`'s cache (one fetch, afk's
    /// credential), then each due run counted: one result per run, in order.
    /// A fetch that fails is the repository's error.
    pub fn survival(
        &self,
        repo: &str,
        url: &str,
        due: &[SurvivalDue],
    ) -> Result<Vec<Result<Survived>>> {
        self.fetch_tip(repo, url)?;
        self.survival_fetched(repo, due)
    }

    /// `url`'s default branch fetched into `repo`'s cache: the one fetch a
    /// harvest tick makes per repository for line survival and the
    /// leaderboard figures.
    pub fn fetch_tip(&self, repo: &str, url: &str) -> Result<()> {
        let (cache, _lock) = self.open_cache(repo)?;
        self.fetch_ref(&cache, url, &format!("+HEAD:{TIP_REF}"))
            .context("the forge's default branch could not be fetched into afk's git cache")
    }

    /// Each due run counted in `repo`'s cache, its default branch fetched
    /// by [`Workspace::fetch_tip`]: one result per run, in order.
    pub fn survival_fetched(
        &self,
        repo: &str,
        due: &[SurvivalDue],
    ) -> Result<Vec<Result<Survived>>> {
        let (cache, _lock) = self.open_cache(repo)?;
        Ok(due
            .iter()
            .map(|d| {
                self.survived(&cache, d)
                    .with_context(|| format!("survival of the merge {}", d.merge_sha))
            })
            .collect())
    }

    /// Steps 1 to 4 of docs/reports.md#how-line-survival-is-counted for one run.
    fn survived(&self, cache: &Path, d: &SurvivalDue) -> Result<Survived> {
        let m = d.merge_sha;
        if !is_sha(m) || !self.has_object(cache, &format!("{m}^{{commit}}")) {
            bail!("the merged commit is not in afk's git cache (not on the default branch?)");
        }
        let b = self.base_of(cache, d)?;
        let range = format!("{b}..{m}");
        let commits = rules::shas(&self.read_text(cache, &["rev-list", &range], SURVIVAL_READ)?);
        let diff_args = [
            "diff",
            "-U0",
            "--no-renames",
            "--no-color",
            "--no-ext-diff",
            "--no-textconv",
            b.as_str(),
            m,
        ];
        let added = rules::added_lines(&self.read_text(cache, &diff_args, SURVIVAL_READ)?);
        let lines_added: usize = added.values().sum();
        if lines_added == 0 {
            return Ok(Survived::of(0, 0));
        }
        let log = self.read_text(
            cache,
            &["log", "--first-parent", "--format=%H %ct", TIP_REF],
            HISTORY_READ,
        )?;
        let Some(tip) = rules::tip_in(&log, d.window_end) else {
            bail!("no commit of the default branch is dated at or before the window's end");
        };
        let moves = self.read_text(
            cache,
            &["diff", "-M", "--name-status", "--no-color", m, &tip],
            SURVIVAL_READ,
        )?;
        let mut kept = 0usize;
        for (_, at) in rules::paths_at_tip(&added, &moves) {
            let Some(path) = at else {
                continue;
            };
            if !self.has_object(cache, &format!("{tip}:{path}")) {
                continue;
            }
            let blame = ["blame", "-w", "--line-porcelain", &tip, "--", &path];
            let porcelain = self.read_text(cache, &blame, SURVIVAL_READ)?;
            kept += rules::surviving(&rules::blamed_lines(&porcelain), &commits);
        }
        Ok(Survived::of(lines_added as u64, kept as u64))
    }

    /// B: M's first parent, or the rebase-merge rule's.
    pub(super) fn base_of(&self, cache: &Path, d: &SurvivalDue) -> Result<String> {
        if let Some(b) = self.rebase_base(cache, d) {
            return Ok(b);
        }
        let first = format!("{}^1", d.merge_sha);
        let b = self
            .git
            .run(
                Some(cache),
                None,
                &["rev-parse", "-q", "--verify", &first],
                None,
            )
            .context("the merged commit has no parent")?;
        Ok(b.trim().to_string())
    }

    /// The rebase-merge rule's B (`afk_core::survival::rebase_earliest`),
    /// when the PR's head is in the cache and the rule applies; None
    /// otherwise (whatever could not be read: the rule does not apply).
    fn rebase_base(&self, cache: &Path, d: &SurvivalDue) -> Option<String> {
        let m = d.merge_sha;
        let head = d
            .pr_head
            .filter(|h| is_sha(h) && !h.eq_ignore_ascii_case(m))
            .filter(|h| self.has_object(cache, &format!("{h}^{{commit}}")))?;
        let fork = self
            .git
            .run(Some(cache), None, &["merge-base", head, m], None)
            .ok()?;
        let range = format!("{}..{head}", fork.trim());
        let n = PR_COMMITS.to_string();
        let pr_commits = rules::shas(
            &self
                .read_text(
                    cache,
                    &["rev-list", "--max-count", &n, &range],
                    HISTORY_READ,
                )
                .ok()?,
        );
        let k = pr_commits.len();
        if !(2..PR_COMMITS).contains(&k) {
            return None;
        }
        let pr_log = [
            "log",
            "-p",
            "--no-color",
            "--no-ext-diff",
            "--no-textconv",
            &range,
        ];
        let pr_ids = self.patch_ids(cache, &pr_log)?;
        if pr_ids.len() != k {
            return None;
        }
        let k_text = k.to_string();
        let fp_list = ["rev-list", "--first-parent", "--max-count", &k_text, m];
        let first_parent: Vec<String> = self
            .read_text(cache, &fp_list, HISTORY_READ)
            .ok()?
            .lines()
            .map(|l| l.trim().to_ascii_lowercase())
            .filter(|l| is_sha(l))
            .collect();
        let fp_log = [
            "log",
            "-p",
            "--first-parent",
            "--no-color",
            "--no-ext-diff",
            "--no-textconv",
            "--max-count",
            &k_text,
            m,
        ];
        let fp_ids = self.patch_ids(cache, &fp_log)?;
        let pr: Vec<String> = pr_ids.into_iter().map(|(_, p)| p).collect();
        let earliest = rules::rebase_earliest(&first_parent, &fp_ids, &pr)?;
        let parent = format!("{earliest}^1");
        self.git
            .run(
                Some(cache),
                None,
                &["rev-parse", "-q", "--verify", &parent],
                None,
            )
            .ok()
            .map(|b| b.trim().to_string())
            .filter(|b| is_sha(b))
    }

    /// The (commit, patch-id) pairs of the patches `log_args` prints, newest
    /// first; None when they could not be read.
    fn patch_ids(&self, cache: &Path, log_args: &[&str]) -> Option<Vec<(String, String)>> {
        let log = self.read_text(cache, log_args, SURVIVAL_READ).ok()?;
        let out = self
            .git
            .run(
                Some(cache),
                None,
                &["patch-id", "--stable"],
                Some(log.as_bytes()),
            )
            .ok()?;
        Some(rules::patch_ids(&out))
    }

    /// Whether `spec` (`<sha>^{commit}`, `<tree-ish>:<path>`) names an object
    /// in the cache.
    pub(super) fn has_object(&self, cache: &Path, spec: &str) -> bool {
        self.git
            .exit_of(cache, &["cat-file", "-e", spec], &[])
            .is_ok_and(|c| c == 0)
    }

    /// `git args`' stdout in the cache, at most `cap` bytes of it.
    pub(super) fn read_text(&self, cache: &Path, args: &[&str], cap: u64) -> Result<String> {
        let mut left = cap;
        let mut text = String::new();
        self.read_lines(cache, args, &mut left, |l| {
            text.push_str(l);
            text.push('\n');
        })?;
        Ok(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workspace::tests_git::{commit_at as commit, git_at};

    #[test]
    fn lines_rewritten_before_the_windows_end_do_not_survive_later_ones_do() {
        let dir = std::env::temp_dir().join(format!("afk-git-survival-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let forge = dir.join("forge");
        std::fs::create_dir_all(&forge).unwrap();
        git_at(&forge, 1000, &["init", "-q", "-b", "main"]);
        commit(&forge, 1000, &[("a.txt", "x\n")], "start");
        // the run's merge: 4 + 2 counted lines, one blank, one binary file
        let m = commit(
            &forge,
            2000,
            &[
                ("a.txt", "x\none\ntwo\n\nthree\nfour\n"),
                ("b.txt", "bee\nbop\n"),
                ("logo.bin", "\0\u{1}\u{2}binary"),
            ],
            "the run",
        );
        // before the window's end: `two` rewritten, b.txt moved
        git_at(&forge, 3000, &["mv", "b.txt", "c.txt"]);
        commit(
            &forge,
            3000,
            &[("a.txt", "x\none\nTWO\n\nthree\nfour\n")],
            "rewrite two, move b",
        );
        // after it: `one` rewritten, which must not count
        commit(
            &forge,
            5000,
            &[("a.txt", "x\nONE\nTWO\n\nthree\nfour\n")],
            "late",
        );
        let ws = Workspace::new(&dir.join("cache"), "t", None);
        let url = forge.to_string_lossy().to_string();
        let due = [
            SurvivalDue {
                merge_sha: &m,
                pr_head: None,
                window_end: 4000,
            },
            SurvivalDue {
                merge_sha: "0123456789012345678901234567890123456789",
                pr_head: None,
                window_end: 4000,
            },
        ];
        let got = ws.survival("acme/api", &url, &due).unwrap();
        assert_eq!(got[0].as_ref().unwrap(), &Survived::of(6, 5));
        assert!(
            got[1].is_err(),
            "a merge the cache does not hold is the run's error"
        );
        // a run that added only blank lines: no line counted
        let blank = commit(
            &forge,
            6000,
            &[("a.txt", "x\nONE\nTWO\n\nthree\nfour\n\n\n")],
            "blank",
        );
        let due = [SurvivalDue {
            merge_sha: &blank,
            pr_head: None,
            window_end: 7000,
        }];
        let got = ws.survival("acme/api", &url, &due).unwrap();
        assert_eq!(got[0].as_ref().unwrap(), &Survived::of(0, 0));
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// A rebase merge of two commits: with the PR's head in the cache, both
    /// rebased commits are the run's (their patch-ids match the PR's); without
    /// it, only the last one, M itself.
    #[test]
    fn a_rebase_merges_commits_are_the_runs_when_their_patch_ids_match_the_prs() {
        let dir = std::env::temp_dir().join(format!("afk-git-rebase-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let forge = dir.join("forge");
        std::fs::create_dir_all(&forge).unwrap();
        git_at(&forge, 1000, &["init", "-q", "-b", "main"]);
        commit(&forge, 1000, &[("a.txt", "x\n")], "start");
        git_at(&forge, 1000, &["checkout", "-q", "-b", "feature"]);
        let f1 = commit(&forge, 1100, &[("f1.txt", "one\ntwo\n")], "first");
        let f2 = commit(&forge, 1200, &[("f2.txt", "three\n")], "second");
        git_at(&forge, 1300, &["checkout", "-q", "main"]);
        commit(&forge, 1300, &[("a.txt", "x\ny\n")], "meanwhile");
        git_at(&forge, 1400, &["cherry-pick", &f1]);
        git_at(&forge, 1400, &["cherry-pick", &f2]);
        let m = git_at(&forge, 1400, &["rev-parse", "HEAD"]);
        let ws = Workspace::new(&dir.join("cache"), "t", None);
        let url = forge.to_string_lossy().to_string();
        let alone = SurvivalDue {
            merge_sha: &m,
            pr_head: None,
            window_end: 5000,
        };
        let with_pr = SurvivalDue {
            pr_head: Some(f2.as_str()),
            ..alone
        };
        let got = ws.survival("acme/api", &url, &[alone]).unwrap();
        assert_eq!(got[0].as_ref().unwrap(), &Survived::of(1, 1), "M alone");
        let cache = ws.cache_of("acme/api");
        git_at(
            &cache,
            1500,
            &[
                "fetch",
                "-q",
                &url,
                "+refs/heads/feature:refs/heads/feature",
            ],
        );
        let got = ws.survival("acme/api", &url, &[with_pr]).unwrap();
        assert_eq!(
            got[0].as_ref().unwrap(),
            &Survived::of(3, 3),
            "both rebased commits"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
