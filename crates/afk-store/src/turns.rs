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

/// Migration 29: the PR's head when a turn started, and the id of afk's
/// answer comment once the turn's work is on the PR (docs/reviews.md#the-answer).
pub const ANSWER_SCHEMA: &str = "ALTER TABLE turns ADD COLUMN head TEXT;
    ALTER TABLE turns ADD COLUMN answer INTEGER;";

/// What a turn's answer on the PR is made from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TurnAnswer {
    pub started_at: String,
    /// the PR's head as it started
    pub head: Option<String>,
    /// afk's answer comment, once posted
    pub answer: Option<i64>,
}

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
        self.begin(id, reason, why, (None, None))
    }

    /// A paused run's continuation turn, recorded as [`Store::begin_turn`]
    /// (`reason` `continue`) with its `run.continued` event in the outbox,
    /// in one transaction.
    pub fn begin_continuation(
        &self,
        id: RunId,
        why: &str,
        (event, past): (&crate::events::NewEvent, &crate::talk::Past),
    ) -> Result<u32> {
        self.begin(id, "continue", why, (Some(event), Some(past)))
    }

    /// How many times `id` continued by itself after a day's-cap pause (its
    /// continuation turns whose why ends `(day)`, as watch records them).
    pub fn day_continuations(&self, id: RunId) -> Result<u32> {
        let n: i64 = self
            .conn
            .query_row(
                "SELECT COUNT(*) FROM turns WHERE run_id=?1 AND reason='continue' AND why LIKE '%(day)'",
                params![id],
                |r| r.get(0),
            )
            .map_err(|e| self.err(e))?;
        Ok(u32::try_from(n).unwrap_or(u32::MAX))
    }

    fn begin(
        &self,
        id: RunId,
        reason: &str,
        why: &str,
        (event, past): (Option<&crate::events::NewEvent>, Option<&crate::talk::Past>),
    ) -> Result<u32> {
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
        let body = serde_json::json!({"turn": turn, "reason": reason});
        crate::journal::append(&tx, &at, Some(id.0), "turn.begun", &body)
            .map_err(|e| self.err(e))?;
        if let Some(ev) = event {
            crate::events::insert_event(&tx, ev, &at).map_err(|e| self.err(e))?;
        }
        // a continuation's line in the run's pause history
        if let Some(p) = past {
            crate::talk::note_past(&tx, id, &at, p).map_err(|e| self.err(e))?;
        }
        tx.commit().map_err(|e| self.err(e))?;
        Ok(turn as u32)
    }

    /// The PR's head as turn `turn` of `id` starts.
    pub fn set_turn_head(&self, id: RunId, turn: u32, head: &str) -> Result<()> {
        self.conn
            .execute(
                "UPDATE turns SET head = ?3 WHERE run_id = ?1 AND turn = ?2",
                params![id, turn, head],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Turn `turn` of `id`: when it started, the head it started from and
    /// its answer's comment id (None: no such turn).
    pub fn turn_answer(&self, id: RunId, turn: u32) -> Result<Option<TurnAnswer>> {
        self.conn
            .query_row(
                "SELECT started_at, head, answer FROM turns WHERE run_id = ?1 AND turn = ?2",
                params![id, turn],
                |r| {
                    Ok(TurnAnswer {
                        started_at: r.get(0)?,
                        head: r.get(1)?,
                        answer: r.get(2)?,
                    })
                },
            )
            .optional()
            .map_err(|e| self.err(e))
    }

    /// Turn `turn` of `id` was answered on the PR by comment `comment`.
    pub fn set_turn_answer(&self, id: RunId, turn: u32, comment: i64) -> Result<()> {
        self.conn
            .execute(
                "UPDATE turns SET answer = ?3 WHERE run_id = ?1 AND turn = ?2",
                params![id, turn, comment],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
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
