//! What harvest found in afk's git cache for the figures the published
//! agent leaderboards use (`core::churn`, `core::status::leaderboard`;
//! docs/reports.md#compared-with-published-figures): per merged run, the
//! commit that reverted its merge and when it landed, and its 7-day file
//! churn. Each is written once.

use super::Store;
use crate::core::churn::Churned;
use crate::types::{RepoName, RunId};
use anyhow::Result;
use rusqlite::params;

/// Migration 39: one row per merged run harvest has found something for.
pub const SCHEMA: &str = "CREATE TABLE run_figures (
    run_id INTEGER PRIMARY KEY,
    reverted_sha TEXT,
    reverted_at TEXT,
    churn_files INTEGER,
    churn_again INTEGER,
    churn_by_afk INTEGER
);";

/// A merged run, as the figures' harvest step reads it.
#[derive(Debug, Clone)]
pub struct MergedRun {
    pub run_id: RunId,
    pub repo: RepoName,
    pub merge_sha: String,
    pub merged_at: String,
    /// the PR's head at the merge, when known
    pub head_sha: Option<String>,
    pub reverted: bool,
    pub churn_counted: bool,
}

impl Store {
    /// Every succeeded run with a recorded merge, oldest merge first, with
    /// what is found of it so far. A row whose repo does not parse is left
    /// out, as everywhere.
    pub fn merged_runs(&self) -> Result<Vec<MergedRun>> {
        let mut st = self
            .conn
            .prepare(
                "SELECT r.id, r.repo, r.merge_sha, r.merged_at, r.head_sha,
                        f.reverted_sha IS NOT NULL, f.churn_files IS NOT NULL
                 FROM runs r LEFT JOIN run_figures f ON f.run_id = r.id
                 WHERE r.state = 'succeeded' AND r.merge_sha IS NOT NULL
                   AND r.merged_at IS NOT NULL
                 ORDER BY r.merged_at, r.id",
            )
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map([], |r| {
                let Ok(repo) = RepoName::parse_any(&r.get::<_, String>(1)?) else {
                    return Ok(None);
                };
                Ok(Some(MergedRun {
                    run_id: r.get(0)?,
                    repo,
                    merge_sha: r.get(2)?,
                    merged_at: r.get(3)?,
                    head_sha: r.get(4)?,
                    reverted: r.get::<_, Option<bool>>(5)?.unwrap_or(false),
                    churn_counted: r.get::<_, Option<bool>>(6)?.unwrap_or(false),
                }))
            })
            .map_err(|e| self.err(e))?;
        let all: Vec<Option<MergedRun>> =
            rows.collect::<Result<_, _>>().map_err(|e| self.err(e))?;
        Ok(all.into_iter().flatten().collect())
    }

    /// The merged commits of every afk run of `repo` (lower case).
    pub fn merge_shas(&self, repo: &RepoName) -> Result<Vec<String>> {
        let mut st = self
            .conn
            .prepare("SELECT merge_sha FROM runs WHERE repo = ?1 AND merge_sha IS NOT NULL")
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map([repo.as_str()], |r| r.get::<_, String>(0))
            .map_err(|e| self.err(e))?;
        let all: Vec<String> = rows.collect::<Result<_, _>>().map_err(|e| self.err(e))?;
        Ok(all.into_iter().map(|s| s.to_ascii_lowercase()).collect())
    }

    /// The commit `sha` that reverted the run's merge, landed at `at`; the
    /// first one found stays. Whether this wrote it.
    pub fn set_revert_found(&self, run: RunId, sha: &str, at: &str) -> Result<bool> {
        let n = self
            .conn
            .execute(
                "INSERT INTO run_figures (run_id, reverted_sha, reverted_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT (run_id) DO UPDATE SET reverted_sha = ?2, reverted_at = ?3
                 WHERE reverted_sha IS NULL",
                params![run, sha.to_ascii_lowercase(), at],
            )
            .map_err(|e| self.err(e))?;
        Ok(n == 1)
    }

    /// The run's 7-day churn, counted once. Whether this wrote it.
    pub fn set_churn(&self, run: RunId, c: Churned) -> Result<bool> {
        let n = self
            .conn
            .execute(
                "INSERT INTO run_figures (run_id, churn_files, churn_again, churn_by_afk)
                 VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (run_id) DO UPDATE SET churn_files = ?2, churn_again = ?3,
                     churn_by_afk = ?4
                 WHERE churn_files IS NULL",
                params![run, c.files as i64, c.changed_again as i64, c.by_afk as i64],
            )
            .map_err(|e| self.err(e))?;
        Ok(n == 1)
    }
}

#[cfg(test)]
mod tests {
    use crate::Store;
    use crate::core::churn::Churned;
    use crate::types::RunId;

    /// A revert and a churn are each written once: a second finding does not
    /// replace the first.
    #[test]
    fn a_revert_and_a_churn_are_each_written_once() {
        let dir = std::env::temp_dir().join(format!("afk-figures-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let s = Store::open(&dir.join("state.db")).unwrap();
        let run = RunId(7);
        assert!(
            s.set_revert_found(run, "AB", "2026-05-01T00:00:00Z")
                .unwrap()
        );
        assert!(
            !s.set_revert_found(run, "cd", "2026-05-02T00:00:00Z")
                .unwrap()
        );
        let c = Churned {
            files: 3,
            changed_again: 1,
            by_afk: 0,
        };
        assert!(s.set_churn(run, c).unwrap());
        assert!(!s.set_churn(run, Churned::default()).unwrap());
        let row: (String, String, i64) = s
            .conn
            .query_row(
                "SELECT reverted_sha, reverted_at, churn_files FROM run_figures WHERE run_id = 7",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .unwrap();
        assert_eq!(row, ("ab".into(), "2026-05-01T00:00:00Z".into(), 3));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
