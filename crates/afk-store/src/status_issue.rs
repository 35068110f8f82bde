//! What afk last wrote to the status issue (`status_issue`,
//! docs/configuration.md): which issue and the digest of the body, recorded
//! after each edit, so a tick whose text is unchanged asks the forge nothing
//! (`core::status::issue::needs_edit`).

use super::Store;
use anyhow::Result;
use rusqlite::{OptionalExtension, params};

/// Migration 20: one row, replaced by every edit.
pub const SCHEMA: &str = "CREATE TABLE status_issue_written (
    one INTEGER PRIMARY KEY CHECK (one = 1),
    issue TEXT NOT NULL,
    digest TEXT NOT NULL,
    written_at TEXT NOT NULL
);";

impl Store {
    /// (issue, digest) of the body afk last wrote to the status issue.
    pub fn status_issue_written(&self) -> Result<Option<(String, String)>> {
        self.conn
            .query_row(
                "SELECT issue, digest FROM status_issue_written WHERE one = 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(|e| self.err(e))
    }

    /// afk wrote the body of `digest` to `issue`, now.
    pub fn record_status_issue_written(&self, issue: &str, digest: &str) -> Result<()> {
        self.conn
            .execute(
                "INSERT OR REPLACE INTO status_issue_written (one, issue, digest, written_at)
                 VALUES (1, ?1, ?2, ?3)",
                params![issue, digest, self.stamp()],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }
}
