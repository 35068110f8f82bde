//! Line survival (docs/reports.md#afk-report): how much of what a merged
//! run added is still there `survival_window` after the merge. Pure: git's
//! answers (the merge's `-U0` diff, `git blame --line-porcelain` of the tip
//! at the window, the first-parent history) come in as text or plain
//! values; what to count and the run's figure go out.
//!
//! The rules, stated once:
//! - **due**: once per run, at the first harvest tick at or after
//!   merged_at + window.
//! - **added lines**: the `+` lines of the merge's diff in text files (a
//!   binary file's diff has none), not blank (whitespace only).
//! - **the tip at the window**: the newest first-parent commit whose
//!   committer date is at or before merged_at + window.
//! - **surviving lines**: the tip's lines blamed on one of the run's
//!   commits and not blank, at most the added lines.
//! - **the run's figure**: surviving / added; a run that added no counted
//!   line has none (`no_lines`).
//! - **the run's commits**: `B..M`, B being M's first parent, except for a
//!   rebase merge of k > 1 commits: when M and its first-parent ancestors,
//!   k of them ending at M, have the PR's k patch-ids in order, B is the
//!   parent of the earliest of them.
//! - **renames**: a path the change added lines to is blamed where
//!   `git diff -M --name-status M D` says it went; a path D deleted counts
//!   nothing.

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;
use time::OffsetDateTime;

/// The default `harvest.survival_window`.
pub const DEFAULT_WINDOW: &str = "30d";

/// A line counts when it is not blank (whitespace only).
pub fn counted(line: &str) -> bool {
    !line.trim().is_empty()
}

/// Whether a merged run's survival is due: its window has ended.
pub fn due(merged_at: OffsetDateTime, window: Duration, now: OffsetDateTime) -> bool {
    time::Duration::try_from(window)
        .ok()
        .and_then(|w| merged_at.checked_add(w))
        .is_some_and(|end| now >= end)
}

/// The end of a run's window: merged_at + window (None: past the
/// calendar's end).
pub fn window_end(merged_at: OffsetDateTime, window: Duration) -> Option<OffsetDateTime> {
    time::Duration::try_from(window)
        .ok()
        .and_then(|w| merged_at.checked_add(w))
}

/// The counted added lines of a `git diff -U0 --no-renames` output, per
/// path (the `+++ b/<path>` it is under; a deleted file's `+++ /dev/null`
/// has none).
pub fn added_lines(diff: &str) -> BTreeMap<String, usize> {
    let mut out: BTreeMap<String, usize> = BTreeMap::new();
    let mut path: Option<String> = None;
    let mut in_hunk = false;
    for line in diff.lines() {
        if line.starts_with("diff --git ") {
            path = None;
            in_hunk = false;
        } else if !in_hunk && let Some(p) = line.strip_prefix("+++ ") {
            path = p.strip_prefix("b/").map(str::to_string);
        } else if line.starts_with("@@") {
            in_hunk = true;
        } else if in_hunk
            && let (Some(p), Some(text)) = (&path, line.strip_prefix('+'))
            && counted(text)
        {
            *out.entry(p.clone()).or_default() += 1;
        }
    }
    out
}

/// Each line of a `git blame --line-porcelain` output with the commit it is
/// blamed on: (sha, the line's text).
pub fn blamed_lines(porcelain: &str) -> Vec<(String, String)> {
    let mut out = vec![];
    let mut sha: Option<String> = None;
    for line in porcelain.lines() {
        if let Some(text) = line.strip_prefix('\t') {
            if let Some(s) = sha.take() {
                out.push((s, text.to_string()));
            }
        } else if sha.is_none() {
            let first = line.split(' ').next().unwrap_or("");
            if first.len() >= 40 && first.chars().all(|c| c.is_ascii_hexdigit()) {
                sha = Some(first.to_ascii_lowercase());
            }
        }
    }
    out
}

/// The surviving lines of one blamed file: not blank, blamed on one of the
/// run's commits (lower-case shas).
pub fn surviving(blamed: &[(String, String)], run_commits: &HashSet<String>) -> usize {
    blamed
        .iter()
        .filter(|(sha, text)| counted(text) && run_commits.contains(sha))
        .count()
}

/// The tip at the window: of a first-parent history (sha, committer date)
/// newest first, the newest commit dated at or before `end`.
pub(crate) fn tip_at(
    first_parent: &[(String, OffsetDateTime)],
    end: OffsetDateTime,
) -> Option<&str> {
    first_parent
        .iter()
        .find(|(_, at)| *at <= end)
        .map(|(sha, _)| sha.as_str())
}

/// The shas of a `git rev-list` output (lower-case; other lines skipped).
pub fn shas(rev_list: &str) -> HashSet<String> {
    rev_list
        .lines()
        .map(str::trim)
        .filter(|l| is_sha(l))
        .map(str::to_ascii_lowercase)
        .collect()
}

fn is_sha(s: &str) -> bool {
    (s.len() == 40 || s.len() == 64) && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The (commit, patch-id) pairs of a `git patch-id --stable` output
/// (`<patch-id> <commit>` a line), in its order.
pub fn patch_ids(out: &str) -> Vec<(String, String)> {
    out.lines()
        .filter_map(|l| {
            let (pid, commit) = l.trim().split_once(' ')?;
            (is_sha(pid) && is_sha(commit))
                .then(|| (commit.to_ascii_lowercase(), pid.to_ascii_lowercase()))
        })
        .collect()
}

/// The rebase-merge rule: `first_parent` is M and its first-parent
/// ancestors, newest first; `pr` the patch-ids of the PR's commits, newest
/// first. With k > 1 PR commits whose patch-ids are, in order, those of the
/// k first-parent commits ending at M, the earliest of those k (B is its
/// parent); else None (B is M's first parent).
pub fn rebase_earliest<'a>(
    first_parent: &'a [String],
    ids: &[(String, String)],
    pr: &[String],
) -> Option<&'a str> {
    let k = pr.len();
    if k < 2 || first_parent.len() < k {
        return None;
    }
    let id_of = |sha: &str| {
        ids.iter()
            .find(|(c, _)| c.eq_ignore_ascii_case(sha))
            .map(|(_, p)| p.as_str())
    };
    let same = first_parent[..k]
        .iter()
        .zip(pr)
        .all(|(c, want)| id_of(c.as_str()).is_some_and(|p| p.eq_ignore_ascii_case(want)));
    same.then(|| first_parent[k - 1].as_str())
}

/// The tip at the window from a `git log --first-parent --format='%H %ct'`
/// output (newest first): the newest commit whose committer date (unix
/// seconds) is at or before `end` (unix seconds).
pub fn tip_in(log: &str, end: i64) -> Option<String> {
    let history: Vec<(String, OffsetDateTime)> = log
        .lines()
        .filter_map(|l| {
            let (sha, at) = l.trim().split_once(' ')?;
            let at = OffsetDateTime::from_unix_timestamp(at.trim().parse().ok()?).ok()?;
            is_sha(sha).then(|| (sha.to_ascii_lowercase(), at))
        })
        .collect();
    let end = OffsetDateTime::from_unix_timestamp(end).ok()?;
    tip_at(&history, end).map(str::to_string)
}

/// Where each path of `added` is at the tip, from `git diff -M
/// --name-status M D`: its new name when renamed, None when deleted, itself
/// otherwise.
pub fn paths_at_tip(
    added: &BTreeMap<String, usize>,
    name_status: &str,
) -> Vec<(String, Option<String>)> {
    let mut moved: BTreeMap<&str, Option<&str>> = BTreeMap::new();
    for line in name_status.lines() {
        let mut parts = line.split('\t');
        let status = parts.next().unwrap_or("");
        match (status.chars().next(), parts.next(), parts.next()) {
            (Some('R'), Some(from), Some(to)) => {
                moved.insert(from, Some(to));
            }
            (Some('D'), Some(path), None) => {
                moved.insert(path, None);
            }
            _ => {}
        }
    }
    added
        .keys()
        .map(|p| {
            let at = match moved.get(p.as_str()) {
                Some(to) => (*to).map(str::to_string),
                None => Some(p.clone()),
            };
            (p.clone(), at)
        })
        .collect()
}

/// A run's survival as stored: its counted added lines and those surviving.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Survived {
    pub lines_added: u64,
    pub lines_surviving: u64,
}

impl Survived {
    /// The run's figure, surviving capped at added; None: no counted line.
    pub fn of(lines_added: u64, lines_surviving: u64) -> Survived {
        Survived {
            lines_added,
            lines_surviving: lines_surviving.min(lines_added),
        }
    }

    pub fn rate(&self) -> Option<f64> {
        (self.lines_added > 0).then(|| self.lines_surviving as f64 / self.lines_added as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const A: &str = "1111111111111111111111111111111111111111";
    const B: &str = "2222222222222222222222222222222222222222";

    #[test]
    fn due_at_merge_plus_the_window_not_before() {
        let m = datetime!(2026-05-01 00:00 UTC);
        let day = Duration::from_secs(86_400);
        let table = [
            (m, false),
            (
                m + time::Duration::days(30) - time::Duration::seconds(1),
                false,
            ),
            (m + time::Duration::days(30), true),
            (m + time::Duration::days(31), true),
        ];
        for (now, want) in table {
            assert_eq!(due(m, day * 30, now), want, "{now}");
        }
        assert!(!due(m, Duration::MAX, m + time::Duration::days(9999)));
    }

    #[test]
    fn added_lines_are_the_plus_lines_of_text_files_not_blank() {
        let diff = "\
diff --git a/src/a.rs b/src/a.rs
index 1..2 100644
--- a/src/a.rs
+++ b/src/a.rs
@@ -1,0 +2,4 @@
+fn a() {}
+
+   \t
+++counter;
diff --git a/logo.png b/logo.png
Binary files a/logo.png and b/logo.png differ
diff --git a/old.txt b/old.txt
deleted file mode 100644
--- a/old.txt
+++ /dev/null
@@ -1,2 +0,0 @@
-gone
-too
diff --git a/new.md b/new.md
new file mode 100644
--- /dev/null
+++ b/new.md
@@ -0,0 +1,2 @@
+# title
+text
";
        let got = added_lines(diff);
        assert_eq!(
            got,
            BTreeMap::from([("new.md".to_string(), 2), ("src/a.rs".to_string(), 2)]),
            "blank lines, a binary file and a deletion add nothing; `+++` inside a hunk is a line"
        );
    }

    #[test]
    fn blamed_lines_pair_each_line_with_its_commit() {
        let porcelain = format!(
            "{A} 1 1 2\nauthor x\nsummary one\nfilename f\n\tfirst\n\
             {A} 2 2\nauthor x\nfilename f\n\t\n\
             {B} 5 3 1\nauthor y\nsummary two\nfilename f\n\tthird\n"
        );
        assert_eq!(
            blamed_lines(&porcelain),
            vec![
                (A.to_string(), "first".to_string()),
                (A.to_string(), String::new()),
                (B.to_string(), "third".to_string()),
            ]
        );
        let ours = HashSet::from([A.to_string()]);
        assert_eq!(
            surviving(&blamed_lines(&porcelain), &ours),
            1,
            "a blank line of the run's is not counted, another commit's line is not the run's"
        );
    }

    #[test]
    fn the_tip_at_the_window_is_the_newest_first_parent_commit_at_or_before_its_end() {
        let end = datetime!(2026-05-31 00:00 UTC);
        let history = vec![
            ("c3".to_string(), end + time::Duration::seconds(1)),
            ("c2".to_string(), end),
            ("c1".to_string(), end - time::Duration::days(3)),
        ];
        assert_eq!(tip_at(&history, end), Some("c2"));
        assert_eq!(tip_at(&history[..1], end), None);
    }

    #[test]
    fn the_runs_commits_are_b_to_m_unless_a_rebase_merge_of_k_commits_matches() {
        fn pr(v: &[&str]) -> Vec<String> {
            v.iter().map(|s| s.to_string()).collect()
        }
        let fp: Vec<String> = ["m", "m1", "m2", "m3"].map(String::from).to_vec();
        let ids: Vec<(String, String)> = [("m", "p3"), ("m1", "p2"), ("m2", "p1"), ("m3", "p0")]
            .map(|(c, p)| (c.to_string(), p.to_string()))
            .to_vec();
        let table: [(&str, Vec<String>, Option<&str>); 5] = [
            ("three rebased commits", pr(&["p3", "p2", "p1"]), Some("m2")),
            ("one commit: a squash or merge", pr(&["p3"]), None),
            ("no PR commits known", pr(&[]), None),
            ("another order", pr(&["p2", "p3"]), None),
            (
                "a commit that is not on the branch",
                pr(&["p3", "px"]),
                None,
            ),
        ];
        for (name, want_pr, want) in table {
            assert_eq!(rebase_earliest(&fp, &ids, &want_pr), want, "{name}");
        }
        assert_eq!(
            rebase_earliest(&fp[..1], &ids, &pr(&["p3", "p2"])),
            None,
            "fewer first-parent commits than the PR's"
        );
        let out = format!("{B} {A}\n\nnot a line\n");
        assert_eq!(patch_ids(&out), vec![(A.to_string(), B.to_string())]);
        assert_eq!(
            shas(&format!("{A}\n{}\n", B.to_uppercase())),
            HashSet::from([A.to_string(), B.to_string()])
        );
    }

    #[test]
    fn the_tip_at_the_window_is_read_from_the_first_parent_log() {
        let log = format!("{A} 2000\n{B} 1000\n");
        assert_eq!(tip_in(&log, 2500).as_deref(), Some(A));
        assert_eq!(tip_in(&log, 2000).as_deref(), Some(A), "at the end counts");
        assert_eq!(tip_in(&log, 1999).as_deref(), Some(B));
        assert_eq!(tip_in(&log, 999), None);
    }

    #[test]
    fn renamed_paths_are_blamed_where_they_went_deleted_ones_count_nothing() {
        let added = BTreeMap::from([
            ("a.rs".to_string(), 2),
            ("b.rs".to_string(), 1),
            ("c.rs".to_string(), 4),
        ]);
        let ns = "R087\ta.rs\tsrc/a.rs\nD\tb.rs\nM\tc.rs\nA\td.rs\n";
        assert_eq!(
            paths_at_tip(&added, ns),
            vec![
                ("a.rs".to_string(), Some("src/a.rs".to_string())),
                ("b.rs".to_string(), None),
                ("c.rs".to_string(), Some("c.rs".to_string())),
            ]
        );
    }

    #[test]
    fn survival_is_surviving_over_added_capped_none_without_a_line() {
        let table = [
            ((10, 6), Some(0.6), 6),
            ((10, 12), Some(1.0), 10),
            ((4, 0), Some(0.0), 0),
            ((0, 0), None, 0),
            ((0, 3), None, 0),
        ];
        for ((added, surv), rate, kept) in table {
            let s = Survived::of(added, surv);
            assert_eq!(s.rate(), rate, "{added}/{surv}");
            assert_eq!(s.lines_surviving, kept, "{added}/{surv}");
        }
    }
}
