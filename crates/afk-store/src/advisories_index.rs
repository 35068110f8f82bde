//! The change gate's advisories, indexed by package in a file of their own
//! beside the state file (`advisories.index`, SQLite): made from a whole
//! read of the folder, kept under that folder's fingerprint, so a gate that
//! judges a turn's dependencies reads only their packages, never the
//! folder's every record. The entries are text `afk_core::gate::osv::Entries`
//! makes and reads; this file only keeps them. A file that is missing,
//! unreadable or made for another fingerprint is no index: the folder is
//! read whole, and the index made again.

use rusqlite::{Connection, OpenFlags, OptionalExtension, params};
use std::path::Path;

/// An index made for the folder as it is now.
pub struct KeptIndex {
    conn: Connection,
}

impl KeptIndex {
    /// The index at `path` when it was made for `fingerprint`; None
    /// otherwise (missing, unreadable, another folder's or an older one's).
    pub fn open_if(path: &Path, fingerprint: &str) -> Option<KeptIndex> {
        let md = std::fs::symlink_metadata(path).ok()?;
        if !md.is_file() {
            return None;
        }
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags).ok()?;
        let kept: Option<String> = conn
            .query_row("SELECT v FROM meta WHERE k = 'fingerprint'", [], |r| {
                r.get(0)
            })
            .optional()
            .ok()?;
        (kept.as_deref() == Some(fingerprint)).then_some(KeptIndex { conn })
    }

    /// The entries kept for `name` of `ecosystem` (None: no record names it).
    pub fn entries(&self, ecosystem: &str, name: &str) -> anyhow::Result<Option<String>> {
        Ok(self
            .conn
            .query_row(
                "SELECT entries FROM packages WHERE eco = ?1 AND name = ?2",
                params![ecosystem, name],
                |r| r.get(0),
            )
            .optional()?)
    }
}

/// Make the index at `path` for `fingerprint` from `packages` (ecosystem,
/// name, entries): written whole beside it and renamed over it, so a reader
/// finds the old index or the new one, never half of one; private (0600).
pub fn keep_index<'a>(
    path: &Path,
    fingerprint: &str,
    packages: impl Iterator<Item = (String, &'a str, String)>,
) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = std::path::PathBuf::from(tmp);
    let _ = std::fs::remove_file(&tmp);
    {
        let mut conn = Connection::open(&tmp)?;
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o600))?;
        conn.execute_batch(
            "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;
             CREATE TABLE meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);
             CREATE TABLE packages (eco TEXT NOT NULL, name TEXT NOT NULL, entries TEXT NOT NULL,
                                    PRIMARY KEY (eco, name)) WITHOUT ROWID;",
        )?;
        let tx = conn.transaction()?;
        {
            let mut put =
                tx.prepare("INSERT INTO packages (eco, name, entries) VALUES (?1, ?2, ?3)")?;
            for (eco, name, entries) in packages {
                put.execute(params![eco, name, entries])?;
            }
        }
        tx.execute(
            "INSERT INTO meta (k, v) VALUES ('fingerprint', ?1)",
            params![fingerprint],
        )?;
        tx.commit()?;
    }
    std::fs::rename(&tmp, path)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_index_is_read_only_under_the_fingerprint_it_was_made_for() {
        let dir = std::env::temp_dir().join(format!("afk-adv-index-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("advisories.index");
        assert!(KeptIndex::open_if(&path, "f1").is_none(), "none made yet");
        let rows = vec![("Npm".to_string(), "left-pad", "[1]".to_string())];
        keep_index(&path, "f1", rows.into_iter()).unwrap();
        let ix = KeptIndex::open_if(&path, "f1").expect("made for f1");
        assert_eq!(
            ix.entries("Npm", "left-pad").unwrap().as_deref(),
            Some("[1]")
        );
        assert_eq!(ix.entries("Npm", "right-pad").unwrap(), None);
        assert!(
            KeptIndex::open_if(&path, "f2").is_none(),
            "another folder's"
        );
        std::fs::write(&path, "not sqlite").unwrap();
        assert!(KeptIndex::open_if(&path, "f1").is_none(), "not an index");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
