//! What the status page reads that no other command does: the last ended
//! runs with their outcome, the open escalations, spend per day and per repo,
//! recent upgrade flows and the registry scans. Aggregated in SQL, each on
//! an index, so the page costs milliseconds over a large state file.

use super::Store;
use super::runs::{COLS, NCOLS, Run, row};
use super::upgrades::Upgrade;
use anyhow::Result;
use rusqlite::params;

/// An open escalation is an escalated run no later run of its issue took over.
const OPEN_ESCALATION: &str = "state = 'escalated' AND NOT EXISTS (SELECT 1 FROM runs x
    WHERE x.repo = runs.repo AND x.issue = runs.issue AND x.id > runs.id AND x.state != 'failed')";

impl Store {
    /// The last `limit` ended runs, newest first, with harvest's outcome.
    pub fn ended_runs(&self, limit: usize) -> Result<Vec<(Run, Option<String>)>> {
        let mut st = self
            .conn
            .prepare(&format!(
                "SELECT {COLS}, (SELECT outcome FROM outcomes o WHERE o.run_id = runs.id) FROM runs
                 WHERE ended_at IS NOT NULL ORDER BY ended_at DESC, id DESC LIMIT ?1"
            ))
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map([limit as i64], |r| Ok((row(r)?, r.get(NCOLS)?)))
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.err(e))
    }

    /// The oldest `limit` open escalations, and how many are open in all.
    pub fn open_escalations(&self, limit: usize) -> Result<(Vec<Run>, usize)> {
        let total: i64 = self
            .conn
            .query_row(
                &format!("SELECT COUNT(*) FROM runs WHERE {OPEN_ESCALATION}"),
                [],
                |r| r.get(0),
            )
            .map_err(|e| self.err(e))?;
        let mut st = self
            .conn
            .prepare(&format!(
                "SELECT {COLS} FROM runs WHERE {OPEN_ESCALATION}
                 ORDER BY COALESCE(ended_at, updated_at), id LIMIT ?1"
            ))
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map([limit as i64], row)
            .map_err(|e| self.err(e))?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(|e| self.err(e))?;
        Ok((rows, total as usize))
    }

    /// Spend per UTC dispatch day from `from` (`YYYY-MM-DD`) on, oldest
    /// first: (day, spend, runs). Counts what the budget counts
    /// (`core::budget::spend::counts_toward_day`: every run but a failed start).
    pub fn spend_by_day(&self, from: &str) -> Result<Vec<(String, f64, usize)>> {
        let mut st = self
            .conn
            .prepare(
                "SELECT substr(created_at, 1, 10) AS d, COALESCE(SUM(spend_usd), 0), COUNT(*)
                 FROM runs WHERE created_at >= ?1 AND state != 'failed' GROUP BY d ORDER BY d",
            )
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map([from], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get::<_, i64>(2)? as usize))
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.err(e))
    }

    /// Spend per repo of the runs dispatched in `[from, to)`, by repo.
    pub fn spend_by_repo(&self, from: &str, to: &str) -> Result<Vec<(String, f64)>> {
        let mut st = self
            .conn
            .prepare(
                "SELECT repo, COALESCE(SUM(spend_usd), 0) FROM runs
                 WHERE created_at >= ?1 AND created_at < ?2 AND state != 'failed'
                 GROUP BY repo ORDER BY repo",
            )
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map(params![from, to], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.err(e))
    }

    /// The open upgrade flows, then the most recently ended, `limit` in all.
    pub fn recent_upgrades(&self, limit: usize) -> Result<Vec<Upgrade>> {
        let mut st = self
            .conn
            .prepare(&format!(
                "SELECT {} FROM upgrades ORDER BY (step IS NULL OR outcome IS NOT NULL OR closed_reason IS NOT NULL), id DESC LIMIT ?1",
                super::upgrades::COLS
            ))
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map([limit as i64], super::upgrades::row)
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.err(e))
    }

    /// Every recipe's last registry scan: (recipe, when).
    pub fn scans(&self) -> Result<Vec<(String, String)>> {
        let mut st = self
            .conn
            .prepare("SELECT recipe, scanned_at FROM upgrade_scans ORDER BY recipe")
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.err(e))
    }
}
