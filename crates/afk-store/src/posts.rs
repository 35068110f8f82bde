//! The pending_posts table: a comment POST is written down before it is sent
//! and cleared once its comment is known, so a POST whose answer was lost is
//! looked for before it is ever repeated.

use super::Store;
use anyhow::Result;
use rusqlite::{OptionalExtension, params};
use time::OffsetDateTime;

impl Store {
    pub fn note_post(&self, key: &str) -> Result<()> {
        self.conn
            .execute(
                "INSERT OR REPLACE INTO pending_posts (key, attempted_at) VALUES (?1, ?2)",
                params![key, self.stamp()],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    pub fn post_attempt(&self, key: &str) -> Result<Option<OffsetDateTime>> {
        let at: Option<String> = self
            .conn
            .query_row(
                "SELECT attempted_at FROM pending_posts WHERE key = ?1",
                [key],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.err(e))?;
        Ok(at.as_deref().and_then(crate::clock::parse))
    }

    pub fn clear_post(&self, key: &str) -> Result<()> {
        self.conn
            .execute("DELETE FROM pending_posts WHERE key = ?1", [key])
            .map_err(|e| self.err(e))?;
        Ok(())
    }
}
