//! When afk first saw each reviewer's vote at its value (Azure DevOps'
//! reviewer list dates no vote; a vote the service recorded no system
//! comment for is dated by the first tick that saw it at that value), kept
//! per forge (its API root), pull request and reviewer. A vote seen at
//! another value than the one kept is a new vote: its moment replaces the
//! old. The file is never created here (the tick's opening does that); a
//! dry run reads and never writes. A failure is the caller's error: a vote
//! whose date cannot be kept is not dated by a guess.

use anyhow::Result;
use rusqlite::{Connection, OptionalExtension, params};
use std::path::PathBuf;

/// Migration 36.
pub const SCHEMA: &str = "CREATE TABLE forge_votes (
        forge TEXT NOT NULL,
        pr TEXT NOT NULL,
        voter TEXT NOT NULL,
        vote INTEGER NOT NULL,
        first_seen TEXT NOT NULL,
        PRIMARY KEY (forge, pr, voter)
    );";

/// The state file as the forge's keeper of votes' first sightings (the
/// binary's edges make it one).
#[derive(Debug, Clone)]
pub struct VoteFile {
    pub path: PathBuf,
    /// the forge's API root
    pub forge: String,
    /// reads, never writes
    pub dry_run: bool,
}

impl VoteFile {
    /// The file, when it is there and has the table.
    fn open(&self, write: bool) -> Result<Option<Connection>> {
        super::open_with_table(&self.path, "forge_votes", write)
    }

    /// When `voter`'s `vote` on pull request `pr` was first seen: the kept
    /// moment while the vote is the one kept, else `now` (kept, unless a dry
    /// run or there is no file).
    pub fn first_seen(&self, pr: &str, voter: &str, vote: i64, now: &str) -> Result<String> {
        let failed = |e: rusqlite::Error| anyhow::Error::new(super::describe(&self.path, &e));
        let Some(c) = self.open(!self.dry_run)? else {
            return Ok(now.to_string());
        };
        let kept: Option<(i64, String)> = c
            .query_row(
                "SELECT vote, first_seen FROM forge_votes WHERE forge = ?1 AND pr = ?2 AND voter = ?3",
                params![self.forge, pr, voter],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(failed)?;
        if let Some((v, at)) = kept
            && v == vote
        {
            return Ok(at);
        }
        if !self.dry_run {
            // another tick may have kept it since: the first record of this
            // value stays
            c.execute(
                "INSERT INTO forge_votes (forge, pr, voter, vote, first_seen)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (forge, pr, voter) DO UPDATE SET vote = excluded.vote,
                     first_seen = excluded.first_seen
                 WHERE forge_votes.vote != excluded.vote",
                params![self.forge, pr, voter, vote, now],
            )
            .map_err(failed)?;
            return c
                .query_row(
                    "SELECT first_seen FROM forge_votes WHERE forge = ?1 AND pr = ?2 AND voter = ?3",
                    params![self.forge, pr, voter],
                    |r| r.get(0),
                )
                .map_err(failed);
        }
        Ok(now.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("afk-forge-votes-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let p = dir.join("afk.db");
        drop(super::super::Store::open(&p).unwrap());
        p
    }

    fn votes(path: &std::path::Path, forge: &str, dry_run: bool) -> VoteFile {
        VoteFile {
            path: path.to_path_buf(),
            forge: forge.into(),
            dry_run,
        }
    }

    #[test]
    fn a_vote_is_dated_by_its_first_sighting_at_its_value() {
        let p = file("first");
        let org = "https://dev.azure.com/acme";
        let real = votes(&p, org, false);
        let (t1, t2, t3) = (
            "2026-11-28T10:00:00Z",
            "2026-11-28T11:00:00Z",
            "2026-11-28T12:00:00Z",
        );
        // (vote, now, the date it gets)
        let cases = [
            (-5, t1, t1),
            (-5, t2, t1), // the same vote: its first sighting
            (10, t2, t2), // another value: a new vote
            (-5, t3, t3), // back to -5: new again
            (-5, "2026-11-28T13:00:00Z", t3),
        ];
        for (vote, now, want) in cases {
            assert_eq!(
                real.first_seen("7", "id-alice", vote, now).unwrap(),
                want,
                "{vote} at {now}"
            );
        }
        // another reviewer, another PR, another organization: their own
        assert_eq!(real.first_seen("7", "id-bob", -5, t2).unwrap(), t2);
        assert_eq!(real.first_seen("8", "id-alice", -5, t2).unwrap(), t2);
        let other = votes(&p, "https://dev.azure.com/other", false);
        assert_eq!(other.first_seen("7", "id-alice", -5, t1).unwrap(), t1);
        let _ = std::fs::remove_dir_all(p.parent().unwrap());
    }

    #[test]
    fn a_dry_run_keeps_no_sighting_and_no_file_is_never_created() {
        let p = file("dry");
        let org = "https://dev.azure.com/acme";
        let t1 = "2026-11-28T10:00:00Z";
        let t2 = "2026-11-28T11:00:00Z";
        assert_eq!(
            votes(&p, org, true).first_seen("7", "a", -5, t1).unwrap(),
            t1
        );
        assert_eq!(
            votes(&p, org, false).first_seen("7", "a", -5, t2).unwrap(),
            t2,
            "the dry run kept none"
        );
        assert_eq!(
            votes(&p, org, true).first_seen("7", "a", -5, "x").unwrap(),
            t2,
            "it reads"
        );
        let _ = std::fs::remove_dir_all(p.parent().unwrap());
        let dir = std::env::temp_dir().join(format!("afk-forge-votes-none-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let none = dir.join("afk.db");
        assert_eq!(
            votes(&none, org, false)
                .first_seen("7", "a", -5, t1)
                .unwrap(),
            t1
        );
        assert!(!none.exists());
    }
}
