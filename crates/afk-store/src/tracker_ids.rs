//! afk's numbers for a tracker's issues whose stable id is no number
//! (Linear's UUIDs): each id is given the next number of its tracker (its
//! API root) at its first sighting, kept, and never changed, so a run
//! records a number as a forge run does and the tracker is asked by the
//! id. The file is never created here (the tick's opening does that); a
//! dry run reads, and numbers an id it has not seen in memory alone. A
//! failure is the caller's error: an issue is never read by a guessed id.

use anyhow::Result;
use rusqlite::{Connection, OptionalExtension, params};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Mutex;

/// Migration 40.
pub const SCHEMA: &str = "CREATE TABLE tracker_ids (
        tracker TEXT NOT NULL,
        number INTEGER NOT NULL,
        id TEXT NOT NULL,
        recorded_at TEXT NOT NULL,
        PRIMARY KEY (tracker, number),
        UNIQUE (tracker, id)
    );";

/// The state file as the tracker's book of numbers (the binary's edges
/// make it one).
#[derive(Debug)]
pub struct NumberFile {
    pub path: PathBuf,
    /// the tracker's API root
    pub tracker: String,
    /// reads, never writes
    pub dry_run: bool,
    /// a dry run's numbers for ids the file has not seen
    pub unseen: Mutex<HashMap<String, u64>>,
    /// a number never given: the status issue's (`status_issue`), a forge
    /// issue afk reads and writes by its number beside the tracker's
    pub skip: Option<u64>,
}

impl NumberFile {
    pub fn new(path: PathBuf, tracker: String, dry_run: bool) -> NumberFile {
        NumberFile {
            path,
            tracker,
            dry_run,
            unseen: Mutex::new(HashMap::new()),
            skip: None,
        }
    }

    /// [`NumberFile::new`] that never gives the number `skip`.
    pub fn skipping(mut self, skip: Option<u64>) -> NumberFile {
        self.skip = skip;
        self
    }

    /// The number after `top`, past [`NumberFile::skip`].
    fn after(&self, top: u64) -> u64 {
        match top + 1 {
            n if Some(n) == self.skip => n + 1,
            n => n,
        }
    }

    fn open(&self, write: bool) -> Result<Option<Connection>> {
        super::open_with_table(&self.path, "tracker_ids", write)
    }

    fn failed(&self, e: rusqlite::Error) -> anyhow::Error {
        anyhow::Error::new(super::describe(&self.path, &e))
    }

    /// The number kept for `id`, if any.
    fn kept(&self, c: &Connection, id: &str) -> Result<Option<u64>> {
        c.query_row(
            "SELECT number FROM tracker_ids WHERE tracker = ?1 AND id = ?2",
            params![self.tracker, id],
            |r| r.get::<_, i64>(0),
        )
        .optional()
        .map(|n| n.map(|n| n as u64))
        .map_err(|e| self.failed(e))
    }

    /// The number of `id`: the kept one, else the next of this tracker,
    /// kept now (one statement: two ticks numbering at once cannot give
    /// one number twice).
    /// A dry run before any tick (no state file yet, or one without the
    /// table) keeps no number: its own are in memory, from 1.
    pub fn number(&self, id: &str) -> Result<u64> {
        let c = self.open(!self.dry_run)?;
        if c.is_none() && !self.dry_run {
            anyhow::bail!(
                "state: {} has no table of tracker numbers (an older afk's file: run a tick without --dry-run once)",
                self.path.display()
            );
        }
        if let Some(n) = c.as_ref().map(|c| self.kept(c, id)).transpose()?.flatten() {
            return Ok(n);
        }
        if self.dry_run {
            let top: i64 = match &c {
                None => 0,
                Some(c) => c
                    .query_row(
                        "SELECT COALESCE(MAX(number), 0) FROM tracker_ids WHERE tracker = ?1",
                        params![self.tracker],
                        |r| r.get(0),
                    )
                    .map_err(|e| self.failed(e))?,
            };
            let mut unseen = self.unseen.lock().unwrap_or_else(|e| e.into_inner());
            let top = (unseen.values().copied())
                .chain([top as u64])
                .max()
                .unwrap_or(0);
            let next = self.after(top);
            return Ok(*unseen.entry(id.to_string()).or_insert(next));
        }
        let c = c.expect("a tick that writes has the table (checked above)");
        // the skipped number is passed over in the one statement
        let skip = self.skip.map_or(-1, |n| n as i64);
        c.execute(
            "INSERT INTO tracker_ids (tracker, number, id, recorded_at)
             SELECT ?1, CASE WHEN COALESCE(MAX(number), 0) + 1 = ?4
                 THEN COALESCE(MAX(number), 0) + 2 ELSE COALESCE(MAX(number), 0) + 1 END,
             ?2, ?3 FROM tracker_ids WHERE tracker = ?1
             ON CONFLICT DO NOTHING",
            params![
                self.tracker,
                id,
                crate::clock::ts(crate::clock::now()),
                skip
            ],
        )
        .map_err(|e| self.failed(e))?;
        self.kept(&c, id)?
            .ok_or_else(|| anyhow::anyhow!("state: the tracker id {id} was not numbered"))
    }

    /// The id numbered `n`, None when no id is.
    pub fn id(&self, n: u64) -> Result<Option<String>> {
        if let Some((id, _)) = self
            .unseen
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .find(|(_, m)| **m == n)
        {
            return Ok(Some(id.clone()));
        }
        let Some(c) = self.open(false)? else {
            return Ok(None);
        };
        c.query_row(
            "SELECT id FROM tracker_ids WHERE tracker = ?1 AND number = ?2",
            params![self.tracker, n as i64],
            |r| r.get(0),
        )
        .optional()
        .map_err(|e| self.failed(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("afk-tracker-ids-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let p = dir.join("afk.db");
        drop(super::super::Store::open(&p).unwrap());
        p
    }

    /// The rule "an id is numbered at its first sighting, per tracker, and
    /// the number stays; a dry run numbers in memory and keeps nothing".
    #[test]
    fn a_tracker_id_keeps_its_first_number_and_a_dry_run_keeps_none() {
        let p = file("first");
        let root = "https://api.linear.app/graphql";
        let real = NumberFile::new(p.clone(), root.into(), false);
        assert_eq!(real.number("uuid-a").unwrap(), 1);
        assert_eq!(real.number("uuid-b").unwrap(), 2);
        assert_eq!(real.number("uuid-a").unwrap(), 1);
        assert_eq!(real.id(2).unwrap().as_deref(), Some("uuid-b"));
        assert_eq!(real.id(3).unwrap(), None);
        let dry = NumberFile::new(p.clone(), root.into(), true);
        assert_eq!(dry.number("uuid-c").unwrap(), 3);
        assert_eq!(dry.id(3).unwrap().as_deref(), Some("uuid-c"));
        assert_eq!(real.id(3).unwrap(), None, "a dry run keeps nothing");
        // another tracker's numbers are its own
        let other = NumberFile::new(p.clone(), "http://127.0.0.1:1/linear".into(), false);
        assert_eq!(other.number("uuid-b").unwrap(), 1);
        assert_eq!(real.number("uuid-c").unwrap(), 3);
        let _ = std::fs::remove_dir_all(p.parent().unwrap());
    }

    /// The rule "a dry run before any tick numbers in memory, and makes no
    /// file": a newcomer's first `afk --dry-run poll`; a tick that writes
    /// without its table is the error it was.
    #[test]
    fn a_dry_run_before_any_tick_numbers_in_memory_and_makes_no_file() {
        let dir = std::env::temp_dir().join(format!("afk-tracker-ids-none-{}", std::process::id()));
        let p = dir.join("afk.db");
        let dry = NumberFile::new(p.clone(), "https://api.linear.app/graphql".into(), true);
        assert_eq!(dry.number("uuid-a").unwrap(), 1);
        assert_eq!(dry.number("uuid-b").unwrap(), 2);
        assert_eq!(dry.number("uuid-a").unwrap(), 1);
        assert_eq!(dry.id(2).unwrap().as_deref(), Some("uuid-b"));
        assert!(!p.exists() && !dir.exists(), "a dry run makes no file");
    }

    /// The rule "no tracker issue is given the status issue's number": the
    /// forge's status issue and a tracker's issue are told apart by it.
    #[test]
    fn no_tracker_issue_is_given_the_status_issues_number() {
        let p = file("skip");
        let root = "https://api.linear.app/graphql";
        let real = NumberFile::new(p.clone(), root.into(), false).skipping(Some(2));
        assert_eq!(real.number("uuid-a").unwrap(), 1);
        assert_eq!(real.number("uuid-b").unwrap(), 3);
        assert_eq!(real.number("uuid-c").unwrap(), 4);
        let dry = NumberFile::new(p.clone(), root.into(), true).skipping(Some(5));
        assert_eq!(dry.number("uuid-d").unwrap(), 6);
        assert_eq!(dry.number("uuid-e").unwrap(), 7);
        let first =
            NumberFile::new(p.clone(), "http://127.0.0.1:1/linear".into(), false).skipping(Some(1));
        assert_eq!(first.number("uuid-a").unwrap(), 2);
        let _ = std::fs::remove_dir_all(p.parent().unwrap());
    }
}
