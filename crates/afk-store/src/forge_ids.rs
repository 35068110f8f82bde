//! The ids a forge addresses a repository by after its first read (Azure
//! DevOps' project and repository GUIDs), kept per forge (its API root: one
//! organization's ids are never another's) and name (the allowlist's
//! `project/repository`, lower-cased by the forge), so a rename keeps them:
//! a later tick reads the repository by its ids and finds its new name.
//! Recorded once, at the name's first read, and never changed. The file is
//! never created here (the tick's opening does that); a dry run reads and
//! never writes. Unlike the caches beside it, a failure is the caller's
//! error: ids that cannot be read must never become a read by the name,
//! which a rename may have given another repository.

use anyhow::Result;
use rusqlite::{Connection, OptionalExtension, params};
use std::path::PathBuf;

/// Migration 35.
pub const SCHEMA: &str = "CREATE TABLE forge_ids (
        forge TEXT NOT NULL,
        name TEXT NOT NULL,
        project_id TEXT NOT NULL,
        repository_id TEXT NOT NULL,
        recorded_at TEXT NOT NULL,
        PRIMARY KEY (forge, name)
    );";

/// The state file as the forge's keeper of repositories' ids (the binary's
/// edges make it one).
#[derive(Debug, Clone)]
pub struct IdFile {
    pub path: PathBuf,
    /// the forge's API root
    pub forge: String,
    /// reads, never writes
    pub dry_run: bool,
}

impl IdFile {
    /// The file, when it is there and has the table (a dry run reads an
    /// older afk's file as it is: no table, no ids).
    fn open(&self, write: bool) -> Result<Option<Connection>> {
        super::open_with_table(&self.path, "forge_ids", write)
    }

    /// The `(project id, repository id)` recorded for `name`, if any.
    pub fn recorded(&self, name: &str) -> Result<Option<(String, String)>> {
        let Some(c) = self.open(false)? else {
            return Ok(None);
        };
        c.query_row(
            "SELECT project_id, repository_id FROM forge_ids WHERE forge = ?1 AND name = ?2",
            params![self.forge, name],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()
        .map_err(|e| anyhow::Error::new(super::describe(&self.path, &e)))
    }

    /// Every `(name, project id, repository id)` recorded for this forge:
    /// one read a tick (each repository's own read would open the file
    /// once more, on its critical path).
    pub fn all(&self) -> Result<Vec<(String, String, String)>> {
        let Some(c) = self.open(false)? else {
            return Ok(vec![]);
        };
        let failed = |e: rusqlite::Error| anyhow::Error::new(super::describe(&self.path, &e));
        let mut st = c
            .prepare("SELECT name, project_id, repository_id FROM forge_ids WHERE forge = ?1")
            .map_err(failed)?;
        let rows = st
            .query_map(params![self.forge], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .map_err(failed)?;
        rows.collect::<std::result::Result<Vec<_>, _>>()
            .map_err(failed)
    }

    /// Record `name`'s ids; the first record stays. A dry run writes nothing.
    pub fn record(&self, name: &str, project_id: &str, repository_id: &str) -> Result<()> {
        if self.dry_run {
            return Ok(());
        }
        let Some(c) = self.open(true)? else {
            return Ok(());
        };
        c.execute(
            "INSERT INTO forge_ids (forge, name, project_id, repository_id, recorded_at)
             VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (forge, name) DO NOTHING",
            params![
                self.forge,
                name,
                project_id,
                repository_id,
                crate::clock::ts(crate::clock::now())
            ],
        )
        .map_err(|e| anyhow::Error::new(super::describe(&self.path, &e)))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("afk-forge-ids-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let p = dir.join("afk.db");
        drop(super::super::Store::open(&p).unwrap());
        p
    }

    fn ids(path: &std::path::Path, forge: &str, dry_run: bool) -> IdFile {
        IdFile {
            path: path.to_path_buf(),
            forge: forge.into(),
            dry_run,
        }
    }

    #[test]
    fn a_repository_s_first_ids_stay_and_a_dry_run_records_none() {
        let p = file("first");
        let org = "https://dev.azure.com/acme";
        let real = ids(&p, org, false);
        assert_eq!(real.recorded("acme/old").unwrap(), None);
        ids(&p, org, true).record("acme/old", "p1", "r1").unwrap();
        assert_eq!(real.recorded("acme/old").unwrap(), None, "a dry run's");
        real.record("acme/old", "p1", "r1").unwrap();
        real.record("acme/old", "p2", "r2").unwrap();
        let first = Some(("p1".to_string(), "r1".to_string()));
        assert_eq!(real.recorded("acme/old").unwrap(), first, "the first stays");
        assert_eq!(ids(&p, org, true).recorded("acme/old").unwrap(), first);
        // another organization's, another name's
        assert_eq!(
            ids(&p, "https://dev.azure.com/other", false)
                .recorded("acme/old")
                .unwrap(),
            None
        );
        assert_eq!(real.recorded("acme/new").unwrap(), None);
        let _ = std::fs::remove_dir_all(p.parent().unwrap());
    }

    #[test]
    fn no_file_is_no_ids_and_is_never_created() {
        let dir = std::env::temp_dir().join(format!("afk-forge-ids-none-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let p = dir.join("afk.db");
        let real = ids(&p, "https://dev.azure.com/acme", false);
        assert_eq!(real.recorded("acme/old").unwrap(), None);
        real.record("acme/old", "p1", "r1").unwrap();
        assert!(!p.exists());
    }
}
