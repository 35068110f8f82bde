//! The runs table: one row per dispatch of an issue.

use super::{Store, now};
use anyhow::Result;
use rusqlite::params;

/// States in which a run holds its repo's slot: also the decided end states
/// whose forge writes are not all done yet.
pub const IN_FLIGHT: &[&str] = &[
    "dispatching",
    "started",
    "dispatched",
    "escalating",
    "succeeding",
    "abandoning",
];

#[derive(Debug, Clone)]
pub struct Run {
    pub id: i64,
    pub repo: String,
    pub issue: u64,
    pub state: String,
    pub ready_event_id: Option<i64>,
    pub run_dir: Option<String>,
    pub created_at: String,
}

pub struct NewRun<'a> {
    pub repo: &'a str,
    pub issue: u64,
    pub title: &'a str,
    pub url: &'a str,
    pub ready_event_id: Option<i64>,
    pub template_name: &'a str,
    pub template_version_id: Option<i64>,
    pub template_version: Option<i64>,
    pub template_hash: Option<&'a str>,
    pub runner_kind: &'a str,
    pub branch: &'a str,
}

fn in_flight_sql() -> String {
    IN_FLIGHT
        .iter()
        .map(|s| format!("'{s}'"))
        .collect::<Vec<_>>()
        .join(",")
}

impl Store {
    /// The claim: a run in state `dispatching`, before any side effect.
    pub fn claim_run(&self, r: &NewRun) -> Result<i64> {
        let t = now();
        self.conn
            .execute(
                "INSERT INTO runs (repo, issue, title, url, ready_event_id, state, template_name,
                  template_version_id, template_version, template_hash, runner_kind, branch,
                  created_at, updated_at)
                 VALUES (?1,?2,?3,?4,?5,'dispatching',?6,?7,?8,?9,?10,?11,?12,?12)",
                params![
                    r.repo,
                    r.issue as i64,
                    r.title,
                    r.url,
                    r.ready_event_id,
                    r.template_name,
                    r.template_version_id,
                    r.template_version,
                    r.template_hash,
                    r.runner_kind,
                    r.branch,
                    t
                ],
            )
            .map_err(|e| self.err(e))?;
        Ok(self.conn.last_insert_rowid())
    }

    /// The agent started: record its handle with the state in one write.
    pub fn mark_started(
        &self,
        id: i64,
        run_dir: &str,
        handle: &str,
        pid: Option<i64>,
        start_time: Option<i64>,
    ) -> Result<()> {
        self.conn
            .execute(
                "UPDATE runs SET state='started', run_dir=?2, runner_handle=?3, runner_pid=?4,
                  runner_start_time=?5, turns=1, updated_at=?6 WHERE id=?1",
                params![id, run_dir, handle, pid, start_time, now()],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    pub fn set_state(&self, id: i64, state: &str) -> Result<()> {
        self.conn
            .execute(
                "UPDATE runs SET state=?2, updated_at=?3 WHERE id=?1",
                params![id, state, now()],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    pub fn mark_failed(&self, id: i64, error: &str) -> Result<()> {
        let t = now();
        self.conn
            .execute(
                "UPDATE runs SET state='failed', error=?2, updated_at=?3, ended_at=?3 WHERE id=?1",
                params![id, error, t],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    fn runs_where(&self, cond: &str, p: impl rusqlite::Params) -> Result<Vec<Run>> {
        let sql = format!(
            "SELECT id, repo, issue, state, ready_event_id, run_dir, created_at FROM runs WHERE {cond} ORDER BY id"
        );
        let mut st = self.conn.prepare(&sql).map_err(|e| self.err(e))?;
        let rows = st
            .query_map(p, |r| {
                Ok(Run {
                    id: r.get(0)?,
                    repo: r.get(1)?,
                    issue: r.get::<_, i64>(2)? as u64,
                    state: r.get(3)?,
                    ready_event_id: r.get(4)?,
                    run_dir: r.get(5)?,
                    created_at: r.get(6)?,
                })
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.err(e))
    }

    pub fn runs_in_flight(&self) -> Result<Vec<Run>> {
        self.runs_where(&format!("state IN ({})", in_flight_sql()), [])
    }

    pub fn runs_in_state(&self, state: &str) -> Result<Vec<Run>> {
        self.runs_where("state = ?1", [state])
    }

    pub fn run(&self, id: i64) -> Result<Option<Run>> {
        Ok(self.runs_where("id = ?1", [id])?.into_iter().next())
    }

    /// Every arming (repo, issue, ready-label event) already handled: any run
    /// for it other than a failed start. Loaded once per tick.
    pub fn handled_armings(&self) -> Result<std::collections::HashSet<(String, u64, i64)>> {
        let mut st = self
            .conn
            .prepare(
                "SELECT DISTINCT repo, issue, ready_event_id FROM runs
                 WHERE ready_event_id IS NOT NULL AND state != 'failed'",
            )
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, i64>(1)? as u64,
                    r.get::<_, i64>(2)?,
                ))
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.err(e))
    }
}
