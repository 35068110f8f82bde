//! The GitHub App's installation token and its expiry
//! (docs/github.md#as-a-github-app), kept in the state file (mode 0600) so
//! ticks reuse it until 5 minutes before it expires
//! (`core::app_token::reuse_stored`). The file is never created here (the
//! tick's opening does that); a dry run never writes. A failure only loses
//! reuse: it is logged at debug and the token is exchanged again.

use rusqlite::{Connection, OpenFlags, OptionalExtension, params};
use std::path::Path;
use time::OffsetDateTime;

/// Migration 11.
pub const SCHEMA: &str = "CREATE TABLE app_tokens (
        app_id INTEGER NOT NULL,
        installation_id INTEGER NOT NULL,
        token TEXT NOT NULL,
        expires_at TEXT NOT NULL,
        PRIMARY KEY (app_id, installation_id)
    );";

fn debug(e: impl std::fmt::Display) {
    crate::log::debug(&format!("app token store: {e}"));
}

fn open(path: &Path, write: bool) -> Option<Connection> {
    if !path.exists() {
        return None;
    }
    let flags = if write {
        OpenFlags::SQLITE_OPEN_READ_WRITE
    } else {
        OpenFlags::SQLITE_OPEN_READ_ONLY
    } | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let c = Connection::open_with_flags(path, flags)
        .map_err(debug)
        .ok()?;
    c.busy_timeout(super::busy_timeout()).map_err(debug).ok()?;
    Some(c)
}

/// The stored token of this installation and when it expires.
pub fn load(path: &Path, app_id: u64, installation_id: u64) -> Option<(String, OffsetDateTime)> {
    let c = open(path, false)?;
    let row: Option<(String, String)> = c
        .query_row(
            "SELECT token, expires_at FROM app_tokens WHERE app_id = ?1 AND installation_id = ?2",
            params![app_id as i64, installation_id as i64],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()
        .map_err(debug)
        .ok()?;
    let (token, at) = row?;
    Some((token, crate::clock::parse(&at)?))
}

/// Keep a freshly exchanged token (replacing the one before).
pub fn save(
    path: &Path,
    app_id: u64,
    installation_id: u64,
    token: &str,
    expires_at: OffsetDateTime,
) {
    let Some(c) = open(path, true) else {
        return;
    };
    if let Err(e) = c.execute(
        "INSERT INTO app_tokens (app_id, installation_id, token, expires_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (app_id, installation_id) DO UPDATE SET token = excluded.token, expires_at = excluded.expires_at",
        params![
            app_id as i64,
            installation_id as i64,
            token,
            crate::clock::ts(expires_at)
        ],
    ) {
        debug(e);
    }
}

/// The state file as the forge's token keeper (the binary's edges make it
/// one): a dry run's reads and never writes.
pub struct TokenFile {
    pub path: std::path::PathBuf,
    pub dry_run: bool,
}

impl TokenFile {
    /// The kept token of this installation and when it expires.
    pub fn load(&self, app_id: u64, installation_id: u64) -> Option<(String, OffsetDateTime)> {
        load(&self.path, app_id, installation_id)
    }

    /// Keep a freshly exchanged token; a dry run's keeper writes nothing.
    pub fn save(&self, app_id: u64, installation_id: u64, token: &str, expires_at: OffsetDateTime) {
        if !self.dry_run {
            save(&self.path, app_id, installation_id, token, expires_at);
        }
    }
}
