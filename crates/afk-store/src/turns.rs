//! Each corrective turn of a run: when it started and why (red CI, a
//! review, a `fix` command, a conflict, no PR), recorded with the turn's
//! count before the agent starts; `afk runs show`'s timeline reads it.

use super::Store;
use crate::types::RunId;
use anyhow::Result;
use rusqlite::{OptionalExtension, params};

/// Migration 19: one row per corrective turn (the first turn is the
/// dispatch, the run's own `created_at`).
pub const SCHEMA: &str = "CREATE TABLE turns (
    run_id INTEGER NOT NULL,
    turn INTEGER NOT NULL,
    started_at TEXT NOT NULL,
    reason TEXT NOT NULL,
    why TEXT NOT NULL,
    PRIMARY KEY (run_id, turn)
);";

/// A corrective turn as recorded.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TurnRow {
    pub turn: u32,
    pub started_at: String,
    /// the watch action's reason (`ci-red`, `review`, `conflict`, `no-pr`)
    pub reason: String,
    /// one line: `core::turn_reason::why`
    pub why: String,
}

impl Store {
    /// A corrective turn: one more agent start, recorded before the start
    /// (never two agents for one turn), with when and why, in one
    /// transaction. Returns the turn's number.
    pub fn begin_turn(&self, id: RunId, reason: &str, why: &str) -> Result<u32> {
        let at = self.stamp();
        let tx = self.conn.unchecked_transaction().map_err(|e| self.err(e))?;
        let turn = tx
            .query_row(
                "UPDATE runs SET turns=turns+1, updated_at=?2 WHERE id=?1 RETURNING turns",
                params![id, at],
                |r| r.get::<_, i64>(0),
            )
            .optional()
            .map_err(|e| self.err(e))?;
        let Some(turn) = turn else {
            return Ok(0);
        };
        tx.execute(
            "INSERT OR REPLACE INTO turns (run_id, turn, started_at, reason, why)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![id, turn, at, reason, why],
        )
        .map_err(|e| self.err(e))?;
        tx.commit().map_err(|e| self.err(e))?;
        Ok(turn as u32)
    }

    /// A run's recorded corrective turns, in order.
    pub fn turns(&self, id: RunId) -> Result<Vec<TurnRow>> {
        let mut st = self
            .conn
            .prepare(
                "SELECT turn, started_at, reason, why FROM turns WHERE run_id = ?1 ORDER BY turn",
            )
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map([id], |r| {
                Ok(TurnRow {
                    turn: r.get::<_, i64>(0)? as u32,
                    started_at: r.get(1)?,
                    reason: r.get(2)?,
                    why: r.get(3)?,
                })
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<Vec<_>, _>>().map_err(|e| self.err(e))
    }
}
