//! The upgrades table: one row per upgrade PR afk opened (or found), with what
//! its flow needs between ticks that the forge does not show: the commit afk
//! last asked to test, the fixer it started, and a final outcome decided
//! together with its `upgrade.failed` event. The forge stays the source of
//! the run count (afk's test comments) and of the bump (the PR body's marker).

use super::{Store, now};
use crate::types::IssueNumber;
use anyhow::Result;
use rusqlite::{OptionalExtension, params};

pub const SCHEMA: &str = "CREATE TABLE upgrades (
        id INTEGER PRIMARY KEY,
        mirror TEXT NOT NULL,
        pr INTEGER NOT NULL,
        recipe TEXT NOT NULL,
        branch TEXT NOT NULL,
        url TEXT NOT NULL DEFAULT '',
        image TEXT NOT NULL DEFAULT '',
        from_tag TEXT NOT NULL DEFAULT '',
        to_tag TEXT NOT NULL DEFAULT '',
        tested_sha TEXT,
        fixer_run INTEGER,
        fixer_base TEXT,
        fixer_handle TEXT,
        fixer_pid INTEGER,
        fixer_start_time INTEGER,
        fixer_dir TEXT,
        outcome TEXT,
        final_reason TEXT,
        final_comment_id INTEGER,
        closed_reason TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        UNIQUE(mirror, pr)
    );";

/// One upgrade PR's row.
#[derive(Debug, Clone, Default)]
pub struct Upgrade {
    pub id: i64,
    pub mirror: String,
    pub pr: IssueNumber,
    pub recipe: String,
    pub branch: String,
    pub url: String,
    pub image: String,
    pub from_tag: String,
    pub to_tag: String,
    /// the PR head when afk last posted the test command
    pub tested_sha: Option<String>,
    /// the test run the fixer was started for, the head it started on
    pub fixer_run: Option<u32>,
    pub fixer_base: Option<String>,
    pub fixer_handle: Option<String>,
    pub fixer_pid: Option<i64>,
    pub fixer_start_time: Option<i64>,
    pub fixer_dir: Option<String>,
    /// a final outcome (`FAILED`, `SUCCESS-PENDING-TESTS`) once decided
    pub outcome: Option<String>,
    pub final_reason: Option<String>,
    /// the comment that says so, once posted
    pub final_comment_id: Option<i64>,
    pub closed_reason: Option<String>,
}

/// What identifies a new row.
pub struct NewUpgrade<'a> {
    pub mirror: &'a str,
    pub pr: IssueNumber,
    pub recipe: &'a str,
    pub branch: &'a str,
    pub url: &'a str,
    pub image: &'a str,
    pub from_tag: &'a str,
    pub to_tag: &'a str,
}

const COLS: &str = "id, mirror, pr, recipe, branch, url, image, from_tag, to_tag, tested_sha, \
    fixer_run, fixer_base, fixer_handle, fixer_pid, fixer_start_time, fixer_dir, outcome, \
    final_reason, final_comment_id, closed_reason";

fn row(r: &rusqlite::Row) -> rusqlite::Result<Upgrade> {
    Ok(Upgrade {
        id: r.get(0)?,
        mirror: r.get(1)?,
        pr: r.get(2)?,
        recipe: r.get(3)?,
        branch: r.get(4)?,
        url: r.get(5)?,
        image: r.get(6)?,
        from_tag: r.get(7)?,
        to_tag: r.get(8)?,
        tested_sha: r.get(9)?,
        fixer_run: r.get::<_, Option<i64>>(10)?.map(|n| n as u32),
        fixer_base: r.get(11)?,
        fixer_handle: r.get(12)?,
        fixer_pid: r.get(13)?,
        fixer_start_time: r.get(14)?,
        fixer_dir: r.get(15)?,
        outcome: r.get(16)?,
        final_reason: r.get(17)?,
        final_comment_id: r.get(18)?,
        closed_reason: r.get(19)?,
    })
}

impl Store {
    pub fn upgrade(&self, mirror: &str, pr: IssueNumber) -> Result<Option<Upgrade>> {
        self.conn
            .query_row(
                &format!("SELECT {COLS} FROM upgrades WHERE mirror=?1 AND pr=?2"),
                params![mirror, pr],
                row,
            )
            .optional()
            .map_err(|e| self.err(e))
    }

    /// The row of a PR, created when it is new (a PR afk opened, or one it
    /// finds on the forge after its state file was lost).
    pub fn ensure_upgrade(&self, n: &NewUpgrade) -> Result<Upgrade> {
        let t = now();
        self.conn
            .execute(
                "INSERT OR IGNORE INTO upgrades (mirror, pr, recipe, branch, url, image, from_tag, to_tag, created_at, updated_at)
                 VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?9)",
                params![n.mirror, n.pr, n.recipe, n.branch, n.url, n.image, n.from_tag, n.to_tag, t],
            )
            .map_err(|e| self.err(e))?;
        Ok(self.upgrade(n.mirror, n.pr)?.expect("just inserted"))
    }

    fn set(&self, id: i64, sql: &str, values: &[&dyn rusqlite::ToSql]) -> Result<()> {
        let mut p: Vec<&dyn rusqlite::ToSql> = values.to_vec();
        let t = now();
        p.push(&t);
        p.push(&id);
        let n = values.len();
        self.conn
            .execute(
                &format!(
                    "UPDATE upgrades SET {sql}, updated_at=?{} WHERE id=?{}",
                    n + 1,
                    n + 2
                ),
                rusqlite::params_from_iter(p),
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// afk posted the test command with the PR head at `sha`.
    pub fn upgrade_tested(&self, id: i64, sha: &str) -> Result<()> {
        self.set(id, "tested_sha=?1", &[&sha])
    }

    /// The fixer for test run `run` started on `base`.
    pub fn upgrade_fixer(
        &self,
        id: i64,
        run: u32,
        base: &str,
        handle: &crate::runner::RunnerHandle,
        dir: &str,
    ) -> Result<()> {
        let (pid, start) = handle.pid().unzip();
        self.set(
            id,
            "fixer_run=?1, fixer_base=?2, fixer_handle=?3, fixer_pid=?4, fixer_start_time=?5, fixer_dir=?6",
            &[&(run as i64), &base, &handle.stored(), &pid, &start, &dir],
        )
    }

    /// Decide a final outcome once: true for the one caller that decided it,
    /// with its `upgrade.failed` event (when `event` is given) in the same
    /// transaction, so it is notified exactly once.
    pub fn finish_upgrade(
        &mut self,
        id: i64,
        outcome: &str,
        reason: &str,
        event: Option<(&str, Option<&str>)>,
    ) -> Result<bool> {
        let path = self.path.clone();
        let err = |e: rusqlite::Error| anyhow::anyhow!(super::describe(&path, &e));
        let tx = self.conn.transaction().map_err(err)?;
        let t = now();
        let n = tx
            .execute(
                "UPDATE upgrades SET outcome=?1, final_reason=?2, updated_at=?3 WHERE id=?4 AND outcome IS NULL",
                params![outcome, reason, t, id],
            )
            .map_err(err)?;
        if n == 1
            && let Some((text, url)) = event
        {
            let (mirror, pr): (String, i64) = tx
                .query_row("SELECT mirror, pr FROM upgrades WHERE id=?1", [id], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })
                .map_err(err)?;
            tx.execute(
                "INSERT INTO events (kind, at, repo, issue, run_id, reason, url, text) VALUES ('upgrade.failed', ?1, ?2, ?3, NULL, ?4, ?5, ?6)",
                params![t, mirror, pr, reason, url, text],
            )
            .map_err(err)?;
        }
        tx.commit().map_err(err)?;
        Ok(n == 1)
    }

    /// The comment that ends the flow was posted.
    pub fn upgrade_final_comment(&self, id: i64, comment_id: i64) -> Result<()> {
        self.set(id, "final_comment_id=?1", &[&comment_id])
    }

    /// afk closed the PR (or found it closed).
    pub fn upgrade_closed(&self, id: i64, reason: &str) -> Result<()> {
        self.set(id, "closed_reason=?1", &[&reason])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_final_outcome_is_decided_once_with_one_event() {
        let mut s = Store::open_for_read(std::path::Path::new("/nonexistent/afk.db")).unwrap();
        let n = NewUpgrade {
            mirror: "maint/nginx",
            pr: IssueNumber(4),
            recipe: "nginx",
            branch: "afk/upgrade-nginx-1.26.0",
            url: "http://forge/maint/nginx/pulls/4",
            image: "library/nginx",
            from_tag: "1.25.3",
            to_tag: "1.26.0",
        };
        let u = s.ensure_upgrade(&n).unwrap();
        assert_eq!(s.ensure_upgrade(&n).unwrap().id, u.id, "one row per PR");
        s.upgrade_tested(u.id, "abc").unwrap();
        let ev = Some((
            "nginx: upgrade not green",
            Some("http://forge/maint/nginx/pulls/4"),
        ));
        assert!(s.finish_upgrade(u.id, "FAILED", "not green", ev).unwrap());
        assert!(!s.finish_upgrade(u.id, "FAILED", "not green", ev).unwrap());
        let events: i64 = s
            .conn
            .query_row(
                "SELECT COUNT(*) FROM events WHERE kind='upgrade.failed' AND issue=4",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(events, 1);
        let got = s.upgrade("maint/nginx", IssueNumber(4)).unwrap().unwrap();
        assert_eq!(got.outcome.as_deref(), Some("FAILED"));
        assert_eq!(got.tested_sha.as_deref(), Some("abc"));
    }
}
