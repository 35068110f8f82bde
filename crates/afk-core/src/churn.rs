//! What harvest reads from afk's git cache for the figures the published
//! agent leaderboards use (docs/reports.md#compared-with-published-figures),
//! pure: which merged runs a tick looks at, the log records git prints, the
//! revert of a merge found at any time after it, and the 7-day file churn.
//!
//! The rules, stated once:
//! - **which repositories**: one with a run merged within [`WATCH_DAYS`] of
//!   the tick; only such a repository costs a fetch (of the default branch,
//!   the one fetch line survival makes too). There, every merged run whose
//!   revert is not found yet is looked at, whatever its age, and every run
//!   whose churn is due and not counted yet is counted.
//! - **a revert**: a later commit of the default branch whose message says
//!   `This reverts commit <merge>` (`outcome::reverts`) and whose diff undoes
//!   the merge's (`undo::undoes`), whoever made it; the oldest such commit.
//!   The date is the revert's committer date (when it landed).
//! - **7-day churn**: the files the run's PR changed, at their names after
//!   it (git's rename detection), and of those the ones that a commit on the
//!   default branch's first-parent line after the merge, committed at most
//!   [`CHURN_DAYS`] after it, changed (a later rename changes the old name);
//!   a commit that is another afk run's merge counts, and also in `by_afk`.
//!   Due once `merged_at + 7 days` has passed.

use std::collections::{BTreeSet, HashSet};

/// The days after a merge in which a change to one of its files is churn.
pub(crate) const CHURN_DAYS: i64 = 7;
/// A repository with a run merged within this many days is fetched.
pub(crate) const WATCH_DAYS: i64 = 30;
/// `git log -z --format` of [`log_records`]: the sha and the committer time
/// on the first line, the message after; `-z` ends each record with a NUL,
/// which no commit message holds (one a person wrote cannot forge a record).
pub const LOG_FORMAT: &str = "%H %ct%n%B";

/// A merged run harvest may look at: its merge's time in unix seconds and
/// what is recorded of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Watched {
    pub merged_at: i64,
    /// the revert is already found
    pub reverted: bool,
    /// the churn is already counted
    pub churn_counted: bool,
}

/// What a tick does for one merged run of a repository it fetched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Todo {
    pub revert: bool,
    pub churn: bool,
}

impl Todo {
    pub fn any(self) -> bool {
        self.revert || self.churn
    }
}

/// Whether the repository of `runs` is fetched at `now`: a run merged within
/// [`WATCH_DAYS`] and something left to do.
pub fn fetch_due(runs: &[Watched], now: i64) -> bool {
    let recent = runs
        .iter()
        .any(|w| now - w.merged_at <= WATCH_DAYS * 86_400);
    recent && runs.iter().any(|w| todo(w, now).any())
}

/// What a fetched repository's tick does for `w` at `now`.
pub fn todo(w: &Watched, now: i64) -> Todo {
    Todo {
        revert: !w.reverted,
        churn: !w.churn_counted && now >= churn_end(w.merged_at),
    }
}

/// The end of a merge's churn window, unix seconds.
pub fn churn_end(merged_at: i64) -> i64 {
    merged_at.saturating_add(CHURN_DAYS * 86_400)
}

/// One commit of a log printed with [`LOG_FORMAT`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub sha: String,
    pub at: i64,
    pub message: String,
}

/// The records of a log printed with `-z` and [`LOG_FORMAT`], newest first
/// as git prints them; a record that does not read is skipped.
pub fn log_records(text: &str) -> Vec<Record> {
    text.split('\0')
        .filter_map(|r| {
            let r = r.trim_start_matches('\n');
            let (head, message) = r.split_once('\n').unwrap_or((r, ""));
            let (sha, at) = head.split_once(' ')?;
            let sha = sha.trim().to_ascii_lowercase();
            let at = at.trim().parse().ok()?;
            (sha.len() >= 40 && sha.chars().all(|c| c.is_ascii_hexdigit())).then(|| Record {
                sha,
                at,
                message: message.to_string(),
            })
        })
        .collect()
}

/// The records that say they revert `merge_sha`, oldest first: each is a
/// revert once its diff proves it.
pub fn revert_candidates<'r>(merge_sha: &str, newest_first: &'r [Record]) -> Vec<&'r Record> {
    newest_first
        .iter()
        .rev()
        .filter(|r| !r.sha.eq_ignore_ascii_case(merge_sha))
        .filter(|r| crate::outcome::reverts(&r.message, merge_sha))
        .collect()
}

/// One commit of the first-parent line after a merge, with the paths it
/// changed against its first parent (renames as a deletion and an addition).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Changer {
    pub sha: String,
    pub at: i64,
    pub paths: Vec<String>,
}

/// The marker that starts each commit of a `--name-only` log printed with
/// `--format=%x00%H %ct` (its line starts with a NUL).
const CHANGER_START: char = '\0';

/// The commits of a log printed with `--format=%x00%H %ct --name-only`.
pub fn changers(text: &str) -> Vec<Changer> {
    let mut out: Vec<Changer> = vec![];
    // the paths below a header that did not read belong to no commit
    let mut open = false;
    for line in text.lines() {
        if let Some(head) = line.strip_prefix(CHANGER_START) {
            let mut parts = head.split(' ');
            let sha = parts.next().unwrap_or("").to_ascii_lowercase();
            let at = parts.next().and_then(|t| t.trim().parse().ok());
            open = false;
            if let Some(at) = at.filter(|_| sha.len() >= 40) {
                out.push(Changer {
                    sha,
                    at,
                    paths: vec![],
                });
                open = true;
            }
            continue;
        }
        if line.is_empty() || !open {
            continue;
        }
        if let Some(c) = out.last_mut() {
            c.paths.push(line.to_string());
        }
    }
    out
}

/// A merged run's 7-day churn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct Churned {
    /// the files its PR changed
    pub files: u64,
    /// of those, changed again within the window
    pub changed_again: u64,
    /// of those, changed by another afk run's merge
    pub by_afk: u64,
}

/// The churn of a PR that changed `pr_files`, merged at `merged_at`, over
/// the commits after its merge (`after`); `afk_merges`: the merge commits
/// of afk's runs.
pub fn churn_of(
    pr_files: &[String],
    merged_at: i64,
    after: &[Changer],
    afk_merges: &HashSet<String>,
) -> Churned {
    let files: BTreeSet<&str> = pr_files.iter().map(String::as_str).collect();
    let end = churn_end(merged_at);
    let mut again: BTreeSet<&str> = BTreeSet::new();
    let mut by_afk: BTreeSet<&str> = BTreeSet::new();
    for c in after.iter().filter(|c| c.at <= end) {
        let afk = afk_merges.contains(&c.sha);
        for p in &c.paths {
            if let Some(f) = files.get(p.as_str()) {
                again.insert(f);
                if afk {
                    by_afk.insert(f);
                }
            }
        }
    }
    Churned {
        files: files.len() as u64,
        changed_again: again.len() as u64,
        by_afk: by_afk.len() as u64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400;

    fn w(merged_days_ago: i64, reverted: bool, churn_counted: bool) -> Watched {
        Watched {
            merged_at: 100 * DAY - merged_days_ago * DAY,
            reverted,
            churn_counted,
        }
    }

    /// A repository is fetched when it has a run merged within 30 days and
    /// something left to do; there, a revert is looked for at any age and
    /// churn is counted once its 7 days passed.
    #[test]
    fn a_repository_is_fetched_only_with_a_merge_in_30_days_and_work_left() {
        let now = 100 * DAY;
        for (runs, fetched, why) in [
            (vec![w(1, false, false)], true, "a fresh merge"),
            (vec![w(30, false, true)], true, "30 days: still watched"),
            (vec![w(31, false, false)], false, "older only: no fetch"),
            (
                vec![w(31, false, false), w(2, true, true)],
                true,
                "an old run's revert is looked for with a recent one",
            ),
            (vec![w(2, true, true)], false, "nothing left to do"),
            (vec![], false, "no run"),
        ] {
            assert_eq!(fetch_due(&runs, now), fetched, "{why}");
        }
        for (run, revert, churn, why) in [
            (w(1, false, false), true, false, "churn inside its 7 days"),
            (w(7, false, false), true, true, "7 days passed: churn due"),
            (w(8, true, false), false, true, "reverted: churn still due"),
            (w(8, false, true), true, false, "churn counted once"),
            (w(400, false, true), true, false, "a revert at any age"),
        ] {
            assert_eq!(todo(&run, now), Todo { revert, churn }, "{why}");
        }
    }

    const M: &str = "1111111111111111111111111111111111111111";
    const R: &str = "2222222222222222222222222222222222222222";
    const S: &str = "3333333333333333333333333333333333333333";

    /// The log's records read back (a message's own lines, a record mark
    /// among them, forge no record); a revert's candidates are the commits
    /// naming the whole sha, oldest first, never the merge itself.
    #[test]
    fn a_revert_candidate_names_the_whole_merge_sha_oldest_first() {
        let log = format!(
            "{S} 300\nRevert \"x\"\n\nThis reverts commit {M}.\n\u{1e}\n{R} 5\nforged\n\0\
             {R} 200\nRevert \"x\"\n\nThis reverts commit {M}.\n\0\
             {M} 100\nx (#1)\n\nThis reverts commit {M}.\n\0\
             nonsense x\ny\0"
        );
        let records = log_records(&log);
        assert_eq!(records.len(), 3, "{records:?}");
        assert_eq!(records[1].at, 200);
        let found: Vec<&str> = revert_candidates(M, &records)
            .iter()
            .map(|r| r.sha.as_str())
            .collect();
        assert_eq!(found, [R, S]);
        assert!(
            revert_candidates(&M[..12], &records).is_empty(),
            "a short sha is no proof"
        );
    }

    fn changer(sha: &str, at: i64, paths: &[&str]) -> Changer {
        Changer {
            sha: sha.into(),
            at,
            paths: paths.iter().map(|p| p.to_string()).collect(),
        }
    }

    /// The churn rule: files changed again within 7 days of the merge, each
    /// once; later changes do not count; another afk run's merge counts and
    /// is also counted apart.
    #[test]
    fn churn_counts_the_prs_files_changed_again_within_7_days() {
        let merged = 1_000;
        let files: Vec<String> = ["a.rs", "b.rs", "new/name.rs", "d.rs"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let afk: HashSet<String> = [S.to_string()].into();
        let after = [
            changer(R, merged + 60, &["a.rs", "other.rs"]),
            changer(R, merged + 2 * DAY, &["a.rs"]),
            changer(S, merged + 7 * DAY, &["new/name.rs"]),
            changer(M, merged + 7 * DAY + 1, &["d.rs"]),
        ];
        assert_eq!(
            churn_of(&files, merged, &after, &afk),
            Churned {
                files: 4,
                changed_again: 2,
                by_afk: 1
            }
        );
        assert_eq!(
            churn_of(&files, merged, &[], &afk),
            Churned {
                files: 4,
                changed_again: 0,
                by_afk: 0
            },
            "nothing after: no churn, still counted"
        );
    }

    /// The name-only log reads as commits and their paths.
    #[test]
    fn a_name_only_log_reads_as_commits_and_paths() {
        let text = format!("\0{R} 200\n\na.rs\nsrc/b c.rs\n\0{S} 100\n\ny\n\0junk\nx\n");
        assert_eq!(
            changers(&text),
            vec![
                changer(R, 200, &["a.rs", "src/b c.rs"]),
                changer(S, 100, &["y"]),
            ],
            "a path under a header that does not read belongs to no commit"
        );
    }
}
