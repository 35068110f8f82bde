//! What afk first read of each comment on a run's issue and PR
//! (docs/reviews.md#commands): its body's hash and whether it was a command
//! then, so a comment read as no command never becomes one, whatever its
//! dates say (`core::conversation::not_a_command`). A first read is kept
//! once and never changed. Bounded: at most `READ_COMMENTS_MAX` per run one
//! by one; past it the lowest ids are folded into one mark per run, the
//! highest id folded. Poll keeps here too, under the escalated run, what it
//! read of the comments since the escalation: an answer is carried into the
//! next prompt only as first read (`core::answers::not_carried`).

use super::Store;
use crate::core::conversation::{READ_COMMENTS_MAX, ReadBefore};
use crate::types::RunId;
use anyhow::Result;
use rusqlite::{OptionalExtension, params};
use sha2::{Digest, Sha256};
use std::collections::HashMap;

/// Migration 23: additive, two new tables (an older state file opens).
pub const SCHEMA: &str = "CREATE TABLE comments_read (
        run_id INTEGER NOT NULL,
        comment INTEGER NOT NULL,
        body_hash TEXT NOT NULL,
        command INTEGER NOT NULL,
        PRIMARY KEY (run_id, comment)
    ) WITHOUT ROWID;
    CREATE TABLE comments_folded (
        run_id INTEGER PRIMARY KEY,
        up_to INTEGER NOT NULL
    );";

/// A run's first reads: those kept one by one, and the highest id folded
/// (0: none).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reads {
    pub kept: HashMap<i64, ReadBefore>,
    pub folded_up_to: i64,
}

/// A comment body's hash as kept: the first 128 bits of its SHA-256, hex.
pub fn body_hash(body: &str) -> String {
    Sha256::digest(body.as_bytes())[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl Store {
    /// What afk first read of the comments of `run`.
    pub fn comments_read(&self, run: RunId) -> Result<Reads> {
        let mut st = self
            .conn
            .prepare("SELECT comment, body_hash, command FROM comments_read WHERE run_id = ?1")
            .map_err(|e| self.err(e))?;
        let kept = st
            .query_map([run], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    ReadBefore {
                        body_hash: r.get(1)?,
                        command: r.get(2)?,
                    },
                ))
            })
            .map_err(|e| self.err(e))?
            .collect::<Result<HashMap<_, _>, _>>()
            .map_err(|e| self.err(e))?;
        let folded_up_to = self
            .conn
            .query_row(
                "SELECT up_to FROM comments_folded WHERE run_id = ?1",
                [run],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.err(e))?
            .unwrap_or(0);
        Ok(Reads { kept, folded_up_to })
    }

    /// Keep afk's first reads of comments of `run`, `(id, body, command)`,
    /// in one transaction (a read after the first changes nothing). Past
    /// `READ_COMMENTS_MAX` kept for the run, the lowest ids are folded into
    /// the run's mark.
    pub fn note_comments_read(&self, run: RunId, reads: &[(i64, &str, bool)]) -> Result<()> {
        if reads.is_empty() {
            return Ok(());
        }
        let tx = self.conn.unchecked_transaction().map_err(|e| self.err(e))?;
        for (id, body, command) in reads {
            tx.execute(
                "INSERT OR IGNORE INTO comments_read (run_id, comment, body_hash, command)
                 VALUES (?1, ?2, ?3, ?4)",
                params![run, id, body_hash(body), command],
            )
            .map_err(|e| self.err(e))?;
        }
        let count: i64 = tx
            .query_row(
                "SELECT COUNT(*) FROM comments_read WHERE run_id = ?1",
                [run],
                |r| r.get(0),
            )
            .map_err(|e| self.err(e))?;
        let over = count - READ_COMMENTS_MAX as i64;
        if over > 0 {
            let up_to: i64 = tx
                .query_row(
                    "SELECT comment FROM comments_read WHERE run_id = ?1
                     ORDER BY comment LIMIT 1 OFFSET ?2",
                    params![run, over - 1],
                    |r| r.get(0),
                )
                .map_err(|e| self.err(e))?;
            tx.execute(
                "DELETE FROM comments_read WHERE run_id = ?1 AND comment <= ?2",
                params![run, up_to],
            )
            .map_err(|e| self.err(e))?;
            tx.execute(
                "INSERT INTO comments_folded (run_id, up_to) VALUES (?1, ?2)
                 ON CONFLICT (run_id) DO UPDATE SET up_to = max(up_to, excluded.up_to)",
                params![run, up_to],
            )
            .map_err(|e| self.err(e))?;
        }
        tx.commit().map_err(|e| self.err(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    /// A state file from before this table (a run's trail in it) opens,
    /// gains the table and keeps what it held.
    #[test]
    fn a_state_file_from_before_opens_and_keeps_its_trail() {
        let dir = std::env::temp_dir().join(format!("afk-store-read-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("afk.db");
        let before = crate::MIGRATIONS.iter().position(|m| *m == SCHEMA).unwrap();
        let c = rusqlite::Connection::open(&p).unwrap();
        for sql in &crate::MIGRATIONS[..before] {
            c.execute_batch(sql).unwrap();
        }
        c.pragma_update(None, "user_version", before as i64)
            .unwrap();
        c.execute(
            "INSERT INTO talk_items (run_id, kind, item, author, what, outcome, at)
             VALUES (1, 'comment', 7, 'alice', 'hold', 'done', '2026-01-01T00:00:00Z')",
            [],
        )
        .unwrap();
        drop(c);
        let store = Store::open(&p).unwrap();
        assert_eq!(store.talk_items(RunId(1)).unwrap().len(), 1);
        assert_eq!(store.comments_read(RunId(1)).unwrap(), Reads::default());
        store
            .note_comments_read(RunId(1), &[(8, "thanks", false)])
            .unwrap();
        assert_eq!(store.comments_read(RunId(1)).unwrap().kept.len(), 1);
        drop(store);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_first_read_is_kept_once_and_bounded_per_run() {
        let store = Store::read(Path::new("/nonexistent/afk.db")).unwrap();
        store
            .note_comments_read(RunId(1), &[(7, "thanks", false), (8, "/afk stop", true)])
            .unwrap();
        // a later read (an edit into a command) changes nothing
        store
            .note_comments_read(RunId(1), &[(7, "/afk hold", true)])
            .unwrap();
        store
            .note_comments_read(RunId(2), &[(7, "/afk hold", true)])
            .unwrap();
        let r = store.comments_read(RunId(1)).unwrap();
        assert_eq!(
            r.kept[&7],
            ReadBefore {
                body_hash: body_hash("thanks"),
                command: false
            }
        );
        assert_eq!(r.folded_up_to, 0);
        assert!(
            store.comments_read(RunId(2)).unwrap().kept[&7].command,
            "per run"
        );
        assert_eq!(store.comments_read(RunId(3)).unwrap(), Reads::default());
        // past the cap the lowest ids fold into one mark
        assert!(r.kept[&8].command);
        let many: Vec<(i64, &str, bool)> = (100..100 + READ_COMMENTS_MAX as i64 + 4)
            .map(|id| (id, "x", false))
            .collect();
        store.note_comments_read(RunId(1), &many).unwrap();
        let r = store.comments_read(RunId(1)).unwrap();
        assert_eq!(r.kept.len(), READ_COMMENTS_MAX);
        assert_eq!(r.folded_up_to, 103, "7, 8 and 100..=103 folded");
        assert!(!r.kept.contains_key(&7) && !r.kept.contains_key(&103));
        assert!(r.kept.contains_key(&104));
        // the mark only rises
        store
            .note_comments_read(RunId(1), &[(1, "y", true)])
            .unwrap();
        let r = store.comments_read(RunId(1)).unwrap();
        assert_eq!((r.folded_up_to, r.kept.contains_key(&1)), (103, false));
        assert_eq!(store.comments_read(RunId(2)).unwrap().kept.len(), 1);
        assert_ne!(body_hash("thanks"), body_hash("/afk hold"));
        assert_eq!(body_hash("thanks").len(), 32);
    }
}
