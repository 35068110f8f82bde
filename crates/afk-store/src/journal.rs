//! The journal (docs/audit.md): one entry per act afk performs, each hashed
//! over the one before (`core::journal`). A decision's entry is appended in
//! the transaction that records the decision (`events::insert_event`), so
//! a crash leaves both or neither; a forge write's, once its answer came,
//! through the tick's [`JournalFile`] in a transaction of its own. Never
//! pruned by afk.

use super::Store;
use crate::core::journal::{Entry, GENESIS, next};
use anyhow::Result;
use rusqlite::{OptionalExtension, params};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// Migration 38.
pub const SCHEMA: &str = "CREATE TABLE journal (
        seq INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        run INTEGER,
        kind TEXT NOT NULL,
        body TEXT NOT NULL,
        hash TEXT NOT NULL
    );
    CREATE INDEX journal_by_run ON journal(run) WHERE run IS NOT NULL;";

/// Append inside the caller's transaction: the next entry after the last.
pub(crate) fn append(
    tx: &rusqlite::Transaction,
    at: &str,
    run: Option<i64>,
    kind: &str,
    body: &Value,
) -> rusqlite::Result<()> {
    let last: Option<(i64, String)> = tx
        .query_row(
            "SELECT seq, hash FROM journal ORDER BY seq DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let (prev, seq) = last
        .map(|(s, h)| (h, s as u64))
        .unwrap_or_else(|| (GENESIS.to_string(), 0));
    let e = next(&prev, seq, at, run, kind, body);
    tx.execute(
        "INSERT INTO journal (seq, at, run, kind, body, hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![e.seq as i64, e.at, e.run, e.kind, e.body, e.hash],
    )?;
    Ok(())
}

fn entry(r: &rusqlite::Row) -> rusqlite::Result<Entry> {
    Ok(Entry {
        seq: r.get::<_, i64>(0)? as u64,
        at: r.get(1)?,
        run: r.get(2)?,
        kind: r.get(3)?,
        body: r.get(4)?,
        hash: r.get(5)?,
    })
}

impl Store {
    /// Every entry, in the order stored (by `seq`), from `since` (RFC 3339) on.
    pub fn journal(&self, since: Option<&str>) -> Result<Vec<Entry>> {
        if !self.has_table("journal")? {
            return Ok(vec![]);
        }
        let mut q = self
            .conn
            .prepare(
                "SELECT seq, at, run, kind, body, hash FROM journal
                 WHERE ?1 IS NULL OR at >= ?1 ORDER BY rowid",
            )
            .map_err(|e| self.err(e))?;
        let rows = q
            .query_map([since], entry)
            .map_err(|e| self.err(e))?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(|e| self.err(e))?;
        Ok(rows)
    }

    /// A run's entries, oldest first.
    pub fn journal_of_run(&self, run: i64) -> Result<Vec<Entry>> {
        if !self.has_table("journal")? {
            return Ok(vec![]);
        }
        let mut q = self
            .conn
            .prepare(
                "SELECT seq, at, run, kind, body, hash FROM journal WHERE run = ?1 ORDER BY seq",
            )
            .map_err(|e| self.err(e))?;
        let rows = q
            .query_map([run], entry)
            .map_err(|e| self.err(e))?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(|e| self.err(e))?;
        Ok(rows)
    }

    /// The chain's head: how many entries, and the last one's hash (None:
    /// no entry yet).
    pub fn journal_head(&self) -> Result<Option<(u64, String)>> {
        if !self.has_table("journal")? {
            return Ok(None);
        }
        self.conn
            .query_row(
                "SELECT seq, hash FROM journal ORDER BY seq DESC LIMIT 1",
                [],
                |r| Ok((r.get::<_, i64>(0)? as u64, r.get(1)?)),
            )
            .optional()
            .map_err(|e| self.err(e))
    }

    /// The chain's head as the last run ended: that `run.ended` entry's
    /// sequence number and hash (None: no run has ended yet). It moves only
    /// at a run's end, so the status issue that shows it is edited then.
    pub fn journal_head_at_run_end(&self) -> Result<Option<(u64, String)>> {
        if !self.has_table("journal")? {
            return Ok(None);
        }
        self.conn
            .query_row(
                "SELECT seq, hash FROM journal WHERE kind = 'run.ended' ORDER BY seq DESC LIMIT 1",
                [],
                |r| Ok((r.get::<_, i64>(0)? as u64, r.get(1)?)),
            )
            .optional()
            .map_err(|e| self.err(e))
    }

    fn has_table(&self, name: &str) -> Result<bool> {
        let n: i64 = self
            .conn
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?1",
                [name],
                |r| r.get(0),
            )
            .map_err(|e| self.err(e))?;
        Ok(n > 0)
    }
}

/// The state file as the keeper of a tick's forge writes and pushes: one
/// connection of its own, opened at the first entry and closed when this is
/// dropped (the tick drops it before its own connection, so the file's last
/// close still checkpoints it), each entry in a transaction of its own (the
/// write it records happened on the forge, not in this file).
pub struct JournalFile {
    path: PathBuf,
    conn: std::sync::Mutex<Option<rusqlite::Connection>>,
}

impl JournalFile {
    /// The state file at `path`, when it is there and has the journal.
    pub fn open(path: &Path) -> Result<Option<JournalFile>> {
        Ok(
            super::open_with_table(path, "journal", false)?.map(|_| JournalFile {
                path: path.to_path_buf(),
                conn: std::sync::Mutex::new(None),
            }),
        )
    }

    /// Append one entry now.
    pub fn append(&self, at: &str, run: Option<i64>, kind: &str, body: &Value) -> Result<()> {
        let failed = |e: rusqlite::Error| anyhow::Error::new(super::describe(&self.path, &e));
        let mut held = self.conn.lock().unwrap_or_else(|e| e.into_inner());
        if held.is_none() {
            let Some(c) = super::open_with_table(&self.path, "journal", true)? else {
                anyhow::bail!("journal: {} has no journal", self.path.display());
            };
            *held = Some(c);
        }
        let c = held.as_mut().expect("opened above");
        let tx = c
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(failed)?;
        append(&tx, at, run, kind, body).map_err(failed)?;
        tx.commit().map_err(failed)
    }
}
