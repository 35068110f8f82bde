//! The frozen_repos table: repos where a deploy failed, closed to dispatch
//! until a person runs `afk status --unfreeze REPO`.

use super::Store;
use crate::types::RepoName;
use anyhow::Result;
use rusqlite::params;

#[derive(Debug, Clone, serde::Serialize)]
pub struct Freeze {
    pub repo: String,
    pub reason: String,
    pub since: String,
}

impl Store {
    pub fn freeze(&self, repo: &RepoName, reason: &str, run_id: crate::types::RunId) -> Result<()> {
        self.conn
            .execute(
                "INSERT OR IGNORE INTO frozen_repos (repo, reason, run_id, frozen_at) VALUES (?1,?2,?3,?4)",
                params![repo, reason, run_id, self.stamp()],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    pub fn unfreeze(&self, repo: &RepoName) -> Result<bool> {
        let n = self
            .conn
            .execute("DELETE FROM frozen_repos WHERE repo=?1", [repo])
            .map_err(|e| self.err(e))?;
        Ok(n == 1)
    }

    pub fn freezes(&self) -> Result<Vec<Freeze>> {
        let mut st = self
            .conn
            .prepare("SELECT repo, reason, frozen_at FROM frozen_repos ORDER BY repo")
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map([], |r| {
                Ok(Freeze {
                    repo: r.get(0)?,
                    reason: r.get(1)?,
                    since: r.get(2)?,
                })
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.err(e))
    }

    /// The frozen repos poll skips; a row whose repo does not parse names no
    /// repo poll asks about, so it is left out.
    pub fn frozen_repos(&self) -> Result<Vec<RepoName>> {
        Ok(self
            .freezes()?
            .into_iter()
            .filter_map(|f| RepoName::parse_any(&f.repo).ok())
            .collect())
    }
}
