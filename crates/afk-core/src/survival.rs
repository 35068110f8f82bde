//! Line survival (SPEC 7.3; docs/reports.md#afk-report): how much of what a
//! merged run added is still there `survival_window` after the merge. Pure:
//! git's answers (the merge's `-U0` diff, `git blame --line-porcelain` of
//! the tip at the window, the first-parent history) come in as text or
//! plain values; what to count and the run's figure go out.
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
pub fn tip_at(first_parent: &[(String, OffsetDateTime)], end: OffsetDateTime) -> Option<&str> {
    first_parent
        .iter()
        .find(|(_, at)| *at <= end)
        .map(|(sha, _)| sha.as_str())
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
