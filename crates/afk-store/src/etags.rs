//! The conditional-request cache: per URL, the `ETag` and body (and `Link`)
//! the forge last answered, so the next GET sends `If-None-Match` and a 304
//! (which costs no GitHub rate limit) reuses the stored body.
//!
//! The table lives in the state file (`etags`, migration in `afk-store`'s `lib.rs`).
//! Reads go to the file on demand; writes are kept in memory and written in
//! one transaction when the cache is dropped at the end of the tick (or on
//! `flush`), so a tick never holds a write lock while it talks to the forge.
//! A dry run reads and never writes. Rows unused for `KEEP_DAYS` are pruned.
//! Every failure here only loses caching: it is logged at debug and ignored.

use crate::types::Cached;
use rusqlite::{Connection, OpenFlags, OptionalExtension, params};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Rows not used for this long are deleted when the cache is written.
const KEEP_DAYS: i64 = 7;

pub struct EtagCache {
    path: PathBuf,
    read_only: bool,
    /// opened on first use; None inside when the file or table is not there
    conn: Mutex<Option<Option<Connection>>>,
    /// answers with a new ETag, written at the end
    fresh: Mutex<HashMap<String, Cached>>,
    /// URLs whose stored entry was used (their `used_at` moves on)
    hits: Mutex<HashSet<String>>,
}

fn debug(e: impl std::fmt::Display) {
    crate::log::debug(&format!("etag cache: {e}"));
}

impl EtagCache {
    /// The cache in the state file at `path`; `read_only` for `--dry-run`.
    pub fn new(path: &Path, read_only: bool) -> EtagCache {
        EtagCache {
            path: path.to_path_buf(),
            read_only,
            conn: Mutex::new(None),
            fresh: Mutex::new(HashMap::new()),
            hits: Mutex::new(HashSet::new()),
        }
    }

    /// Open the file without ever creating it: the tick's opening does that.
    fn open(&self) -> Option<Connection> {
        if !self.path.exists() {
            return None;
        }
        let flags = if self.read_only {
            OpenFlags::SQLITE_OPEN_READ_ONLY
        } else {
            OpenFlags::SQLITE_OPEN_READ_WRITE
        } | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let c = Connection::open_with_flags(&self.path, flags)
            .map_err(debug)
            .ok()?;
        c.busy_timeout(super::busy_timeout()).map_err(debug).ok()?;
        // the table exists only once the migration ran
        c.query_row("SELECT count(*) FROM etags WHERE 0", [], |_| Ok(()))
            .map_err(debug)
            .ok()?;
        Some(c)
    }

    fn with_conn<R>(&self, f: impl FnOnce(&Connection) -> Option<R>) -> Option<R> {
        let mut guard = self.conn.lock().unwrap();
        if guard.is_none() {
            *guard = Some(self.open());
        }
        guard.as_ref().and_then(|c| c.as_ref()).and_then(f)
    }

    /// Write what this tick learnt: new entries, and the use of old ones.
    pub fn flush(&self) {
        if self.read_only {
            return;
        }
        let fresh: Vec<(String, Cached)> = self.fresh.lock().unwrap().drain().collect();
        let hits: Vec<String> = self.hits.lock().unwrap().drain().collect();
        if fresh.is_empty() && hits.is_empty() {
            return;
        }
        let now = crate::clock::now().unix_timestamp();
        let mut guard = self.conn.lock().unwrap();
        if guard.is_none() {
            *guard = Some(self.open());
        }
        let Some(Some(c)) = guard.as_mut() else {
            return;
        };
        let write = |c: &mut Connection| -> rusqlite::Result<()> {
            let tx = c.transaction()?;
            {
                let mut put = tx.prepare(
                    "INSERT OR REPLACE INTO etags (url, etag, body, link, used_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                )?;
                for (url, e) in &fresh {
                    put.execute(params![url, e.etag, e.body, e.link, now])?;
                }
                let mut touch = tx.prepare("UPDATE etags SET used_at = ?2 WHERE url = ?1")?;
                for url in &hits {
                    touch.execute(params![url, now])?;
                }
            }
            tx.execute(
                "DELETE FROM etags WHERE used_at < ?1",
                params![now - KEEP_DAYS * 86_400],
            )?;
            tx.commit()
        };
        if let Err(e) = write(c) {
            debug(e);
        }
    }
}

/// What the forge's `ConditionalCache` asks (the binary's edges wire it).
impl EtagCache {
    /// The entry of `url`: this tick's answer, else the stored one.
    pub fn get(&self, url: &str) -> Option<Cached> {
        if let Some(e) = self.fresh.lock().unwrap().get(url) {
            return Some(e.clone());
        }
        let found = self.with_conn(|c| {
            c.query_row(
                "SELECT etag, body, link FROM etags WHERE url = ?1",
                params![url],
                |r| {
                    Ok(Cached {
                        etag: r.get(0)?,
                        body: r.get(1)?,
                        link: r.get(2)?,
                    })
                },
            )
            .optional()
            .map_err(debug)
            .ok()
            .flatten()
        });
        if found.is_some() && !self.read_only {
            self.hits.lock().unwrap().insert(url.to_string());
        }
        found
    }

    /// Keep `entry` for `url` (written at the end of the tick; never in a dry run).
    pub fn put(&self, url: &str, entry: Cached) {
        if !self.read_only {
            self.fresh.lock().unwrap().insert(url.to_string(), entry);
        }
    }
}

impl Drop for EtagCache {
    fn drop(&mut self) {
        self.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(tag: &str) -> Cached {
        Cached {
            etag: tag.into(),
            body: format!("[\"{tag}\"]"),
            link: None,
        }
    }

    #[test]
    fn entries_survive_the_tick_and_a_dry_run_writes_nothing() {
        let dir = std::env::temp_dir().join(format!("afk-etags-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let p = dir.join("afk.db");
        drop(super::super::Store::open(&p).unwrap());
        let url = "https://api.github.com/repos/a/b/issues?per_page=100";
        {
            let c = EtagCache::new(&p, false);
            assert_eq!(c.get(url), None);
            c.put(url, entry("W/\"1\""));
            assert_eq!(c.get(url), Some(entry("W/\"1\"")), "seen within the tick");
        }
        let c = EtagCache::new(&p, true);
        assert_eq!(c.get(url), Some(entry("W/\"1\"")), "stored at the end");
        c.put(url, entry("W/\"2\""));
        drop(c);
        assert_eq!(
            EtagCache::new(&p, false).get(url),
            Some(entry("W/\"1\"")),
            "the dry run kept nothing"
        );
        // a file that does not exist is never created
        let none = dir.join("nope.db");
        let c = EtagCache::new(&none, false);
        c.put(url, entry("x"));
        drop(c);
        assert!(!none.exists());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
