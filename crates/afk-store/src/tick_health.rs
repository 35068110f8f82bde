//! Tick health (docs/reports.md#afk-status): per tick kind, the last start,
//! end, exit code and error count, so `afk status` can say when each kind last
//! ran and how.

use super::Store;
use anyhow::Result;

/// Migration 14: one row per tick kind.
pub const SCHEMA: &str = "CREATE TABLE tick_health (
    kind TEXT PRIMARY KEY,
    started_at TEXT,
    ended_at TEXT,
    exit_code INTEGER,
    errors INTEGER
);";

/// One tick kind's last start and end.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct TickHealth {
    pub kind: String,
    pub started: Option<String>,
    pub ended: Option<String>,
    pub exit: Option<i64>,
    pub errors: Option<i64>,
}

impl Store {
    /// A tick of `kind` took its lock and opened the state at `at` (RFC 3339).
    pub fn tick_started(&self, kind: &str, at: &str) -> Result<()> {
        self.conn
            .execute(
                "INSERT INTO tick_health (kind, started_at) VALUES (?1, ?2)
                 ON CONFLICT(kind) DO UPDATE SET started_at = excluded.started_at",
                rusqlite::params![kind, at],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// A tick of `kind` ended at `at` with `exit` and `errors`.
    pub fn tick_ended(&self, kind: &str, at: &str, exit: u8, errors: usize) -> Result<()> {
        self.conn
            .execute(
                "INSERT INTO tick_health (kind, ended_at, exit_code, errors) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT(kind) DO UPDATE SET ended_at = excluded.ended_at,
                   exit_code = excluded.exit_code, errors = excluded.errors",
                rusqlite::params![kind, at, i64::from(exit), errors as i64],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Every kind with a record, by kind.
    pub fn tick_health(&self) -> Result<Vec<TickHealth>> {
        let mut st = self
            .conn
            .prepare("SELECT kind, started_at, ended_at, exit_code, errors FROM tick_health ORDER BY kind")
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map([], |r| {
                Ok(TickHealth {
                    kind: r.get(0)?,
                    started: r.get(1)?,
                    ended: r.get(2)?,
                    exit: r.get(3)?,
                    errors: r.get(4)?,
                })
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.err(e))
    }
}
