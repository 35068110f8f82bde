//! Zero-touch merges and line survival (docs/reports.md#afk-report): the heads
//! afk recorded for each run (its pushes, the head at the end of a turn), and
//! each merged run's zero-touch verdict and line counts, each written once.
//! The rules are `core::zero_touch` and `core::survival`.

use super::Store;
use crate::core::survival::Survived;
use crate::core::zero_touch::ZeroTouch;
use crate::types::{RepoName, RunId};
use anyhow::Result;
use rusqlite::params;

/// Migration 31.
pub const SCHEMA: &str = "ALTER TABLE runs ADD COLUMN zero_touch TEXT;
    ALTER TABLE runs ADD COLUMN lines_added INTEGER;
    ALTER TABLE runs ADD COLUMN lines_surviving INTEGER;
    CREATE TABLE run_heads (
        run_id INTEGER NOT NULL,
        turn INTEGER NOT NULL,
        sha TEXT NOT NULL,
        PRIMARY KEY (run_id, sha)
    ) WITHOUT ROWID;";

/// A merged run whose line survival is not counted yet.
#[derive(Debug, Clone)]
pub struct Uncounted {
    pub run_id: RunId,
    pub repo: RepoName,
    /// the merged commit the forge reported
    pub merge_sha: String,
    pub merged_at: String,
    /// the PR's head as afk last saw it (a rebase merge's commits)
    pub head_sha: Option<String>,
}

impl Store {
    /// The merged (`succeeded`) runs with a merge commit on record whose
    /// line survival is not counted yet, oldest merge first; harvest picks
    /// those whose window has ended (`core::survival::due`). A row whose repo
    /// does not parse is left out, as everywhere.
    pub fn uncounted_survivals(&self) -> Result<Vec<Uncounted>> {
        let mut st = self
            .conn
            .prepare(
                "SELECT id, repo, merge_sha, merged_at, head_sha FROM runs
                 WHERE state = 'succeeded' AND merge_sha IS NOT NULL AND merged_at IS NOT NULL
                   AND lines_added IS NULL
                 ORDER BY merged_at, id",
            )
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map([], |r| {
                let Ok(repo) = RepoName::parse_any(&r.get::<_, String>(1)?) else {
                    return Ok(None);
                };
                Ok(Some(Uncounted {
                    run_id: r.get(0)?,
                    repo,
                    merge_sha: r.get(2)?,
                    merged_at: r.get(3)?,
                    head_sha: r.get(4)?,
                }))
            })
            .map_err(|e| self.err(e))?;
        let all: Vec<Option<Uncounted>> =
            rows.collect::<Result<_, _>>().map_err(|e| self.err(e))?;
        Ok(all.into_iter().flatten().collect())
    }

    /// afk pushed `sha` to the run's branch at turn `turn`: whether it is new
    /// (a head kept already is kept once).
    pub fn note_afk_head(&self, run: RunId, turn: u32, sha: &str) -> Result<bool> {
        let added = self
            .conn
            .execute(
                "INSERT OR IGNORE INTO run_heads (run_id, turn, sha) VALUES (?1, ?2, ?3)",
                params![run, turn, sha.to_ascii_lowercase()],
            )
            .map_err(|e| self.err(e))?;
        Ok(added > 0)
    }

    /// The PR's head as afk first saw it after turn `turn` ended (an agent
    /// that pushes itself): kept only when none is kept for that turn yet.
    pub fn note_turn_end_head(&self, run: RunId, turn: u32, sha: &str) -> Result<()> {
        self.conn
            .execute(
                "INSERT OR IGNORE INTO run_heads (run_id, turn, sha)
                 SELECT ?1, ?2, ?3
                 WHERE NOT EXISTS (SELECT 1 FROM run_heads WHERE run_id = ?1 AND turn = ?2)",
                params![run, turn, sha.to_ascii_lowercase()],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Every head afk recorded for the run, by turn.
    pub fn afk_heads(&self, run: RunId) -> Result<Vec<String>> {
        let mut st = self
            .conn
            .prepare("SELECT sha FROM run_heads WHERE run_id = ?1 ORDER BY turn, sha")
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map([run], |r| r.get::<_, String>(0))
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<Vec<_>, _>>().map_err(|e| self.err(e))
    }

    /// The run's zero-touch verdict, decided at its merge: the first stays.
    pub fn set_zero_touch(&self, run: RunId, z: ZeroTouch) -> Result<()> {
        self.conn
            .execute(
                "UPDATE runs SET zero_touch = ?2 WHERE id = ?1 AND zero_touch IS NULL",
                params![run, z.as_str()],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// The run's line survival, counted once its window ended: the first stays.
    pub fn set_survival(&self, run: RunId, s: Survived) -> Result<()> {
        self.set_survival_of(run, s, 0)
    }

    /// [`Store::set_survival`], with the window it was counted over
    /// (seconds) for its late fact's span, recorded with it.
    pub fn set_survival_of(&self, run: RunId, s: Survived, window_s: i64) -> Result<()> {
        let tx = self.conn.unchecked_transaction().map_err(|e| self.err(e))?;
        let n = tx
            .execute(
                "UPDATE runs SET lines_added = ?2, lines_surviving = ?3
                 WHERE id = ?1 AND lines_added IS NULL",
                params![run, s.lines_added as i64, s.lines_surviving as i64],
            )
            .map_err(|e| self.err(e))?;
        if n == 1 {
            let fact = crate::core::telemetry::spans::Fact::Survival {
                window_s,
                added: s.lines_added,
                surviving: s.lines_surviving,
            };
            super::run_span::record_fact(&tx, run.0, &fact, &self.stamp_precise())
                .map_err(|e| self.err(e))?;
        }
        tx.commit().map_err(|e| self.err(e))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::Store;
    use crate::core::survival::Survived;
    use crate::core::zero_touch::{Touched, ZeroTouch};
    use crate::runs::NewRun;
    use crate::types::{RepoName, RunId, RunnerKind};
    use time::macros::datetime;

    /// A folder removed when the test ends: a test leaves nothing behind.
    struct Gone(std::path::PathBuf);

    impl Drop for Gone {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn store(name: &str) -> (std::path::PathBuf, RunId) {
        let dir = std::env::temp_dir().join(format!("afk-touch-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let path = dir.join("state.db");
        let repo = RepoName::parse("acme/api").unwrap();
        let new = NewRun {
            repo: &repo,
            issue: crate::types::IssueNumber(1),
            title: "t",
            url: "u",
            ready_event_id: Some(1),
            armed_at: None,
            template_name: "implementer",
            template_version_id: None,
            template_version: None,
            template_hash: None,
            runner_kind: RunnerKind::Command,
            branch: "afk/issue-1",
        };
        let t0 = datetime!(2026-05-01 10:00 UTC);
        let id = Store::open(&path).unwrap().at(t0).claim_run(&new).unwrap();
        (path, id)
    }

    #[test]
    fn a_turns_end_head_is_its_first_and_afks_pushes_are_all_kept() {
        let (path, id) = store("heads");
        let _gone = Gone(path.parent().unwrap().to_path_buf());
        let s = Store::open(&path).unwrap();
        s.note_turn_end_head(id, 1, "AAA").unwrap();
        s.note_turn_end_head(id, 1, "bbb").unwrap();
        assert!(s.note_afk_head(id, 2, "ccc").unwrap());
        assert!(s.note_afk_head(id, 2, "ddd").unwrap());
        assert!(!s.note_afk_head(id, 2, "ddd").unwrap(), "kept once");
        assert_eq!(s.afk_heads(id).unwrap(), ["aaa", "ccc", "ddd"]);
        assert!(s.afk_heads(RunId(id.0 + 1)).unwrap().is_empty());
    }

    #[test]
    fn uncounted_survivals_are_the_merged_runs_not_yet_counted() {
        let (path, id) = store("uncounted");
        let _gone = Gone(path.parent().unwrap().to_path_buf());
        let s = Store::open(&path).unwrap();
        assert!(s.uncounted_survivals().unwrap().is_empty(), "not merged");
        s.conn
            .execute(
                "UPDATE runs SET state = 'succeeded', merge_sha = 'abc', head_sha = 'def',
                   merged_at = '2026-05-01T12:00:00Z' WHERE id = ?1",
                [id],
            )
            .unwrap();
        let due = s.uncounted_survivals().unwrap();
        assert_eq!(due.len(), 1);
        assert_eq!(
            (
                due[0].run_id,
                due[0].merge_sha.as_str(),
                due[0].head_sha.as_deref()
            ),
            (id, "abc", Some("def"))
        );
        s.set_survival(id, Survived::of(3, 2)).unwrap();
        assert!(s.uncounted_survivals().unwrap().is_empty(), "counted once");
    }

    #[test]
    fn zero_touch_and_survival_are_recorded_once() {
        let (path, id) = store("once");
        let _gone = Gone(path.parent().unwrap().to_path_buf());
        let s = Store::open(&path).unwrap();
        s.set_zero_touch(id, ZeroTouch::Not(Touched::Commit))
            .unwrap();
        s.set_zero_touch(id, ZeroTouch::Yes).unwrap();
        s.set_survival(id, Survived::of(10, 6)).unwrap();
        s.set_survival(id, Survived::of(3, 3)).unwrap();
        let got: (String, i64, i64) = s
            .conn
            .query_row(
                "SELECT zero_touch, lines_added, lines_surviving FROM runs WHERE id = ?1",
                [id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .unwrap();
        assert_eq!(got, ("commit".to_string(), 10, 6));
    }
}
