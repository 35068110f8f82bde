//! The armed issues the last poll tick skipped, and why (the status issue
//! shows them: `status_issue` in docs/configuration.md): replaced whole by
//! every poll tick that examined the allowlist, so it is always one tick's
//! list.

use super::Store;
use anyhow::Result;
use rusqlite::params;

/// Migration 16: the last poll's skips, and one row saying a poll recorded them.
pub const SCHEMA: &str = "CREATE TABLE poll_skips (
    repo TEXT NOT NULL,
    issue INTEGER NOT NULL,
    reason TEXT NOT NULL
);
CREATE TABLE poll_skips_recorded (one INTEGER PRIMARY KEY CHECK (one = 1));";

impl Store {
    /// Replace the last poll's skips with `skips` (repo, issue, reason).
    pub fn record_poll_skips(&self, skips: &[(String, u64, String)]) -> Result<()> {
        let tx = self.conn.unchecked_transaction().map_err(|e| self.err(e))?;
        tx.execute("DELETE FROM poll_skips", [])
            .map_err(|e| self.err(e))?;
        for (repo, issue, reason) in skips {
            tx.execute(
                "INSERT INTO poll_skips (repo, issue, reason) VALUES (?1, ?2, ?3)",
                params![repo, *issue as i64, reason],
            )
            .map_err(|e| self.err(e))?;
        }
        tx.execute(
            "INSERT OR IGNORE INTO poll_skips_recorded (one) VALUES (1)",
            [],
        )
        .map_err(|e| self.err(e))?;
        tx.commit().map_err(|e| self.err(e))
    }

    /// The last poll's skips, in the order it reported them; None when no
    /// poll tick has recorded any yet.
    pub fn poll_skips(&self) -> Result<Option<Vec<(String, u64, String)>>> {
        let recorded: i64 = self
            .conn
            .query_row("SELECT COUNT(*) FROM poll_skips_recorded", [], |r| r.get(0))
            .map_err(|e| self.err(e))?;
        if recorded == 0 {
            return Ok(None);
        }
        let mut st = self
            .conn
            .prepare("SELECT repo, issue, reason FROM poll_skips ORDER BY rowid")
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map([], |r| {
                Ok((r.get(0)?, r.get::<_, i64>(1)? as u64, r.get(2)?))
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<Vec<_>, _>>()
            .map(Some)
            .map_err(|e| self.err(e))
    }
}

#[cfg(test)]
mod tests {
    use crate::Store;

    #[test]
    fn the_last_polls_skips_replace_the_ones_before() {
        let dir = std::env::temp_dir().join(format!("afk-skips-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let s = Store::open(&dir.join("afk.db")).unwrap();
        assert_eq!(s.poll_skips().unwrap(), None, "no poll recorded yet");
        let one = ("acme/api".to_string(), 3, "capacity".to_string());
        let two = ("acme/web".to_string(), 9, "untrusted".to_string());
        s.record_poll_skips(&[one.clone(), two.clone()]).unwrap();
        assert_eq!(s.poll_skips().unwrap(), Some(vec![one, two.clone()]));
        s.record_poll_skips(std::slice::from_ref(&two)).unwrap();
        assert_eq!(s.poll_skips().unwrap(), Some(vec![two]));
        s.record_poll_skips(&[]).unwrap();
        assert_eq!(s.poll_skips().unwrap(), Some(vec![]), "a poll skipped none");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
