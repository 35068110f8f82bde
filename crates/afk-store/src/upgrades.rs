//! The upgrades table: one row per upgrade PR afk opened (or found), with what
//! its flow needs between ticks that the forge does not show: the commit afk
//! last asked to test, the fixer it started, and a final outcome decided
//! together with its `upgrade.failed` event. The forge stays the source of
//! the run count (afk's test comments) and of the bump (the PR body's marker).

use super::Store;
use crate::core::kinds::EventKind;
use crate::core::upgrade::verdict::Outcome;
use crate::types::{PrNumber, RepoName};
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

/// Migration: what the flow needs to finish (the scan cadence, the test queue,
/// STUCK, `--with-tests`; docs/configuration.md#upgrade-recipe-upgrades): when
/// the fixer started, the step an open flow is at (for `afk status`) and since
/// when, its place in the test queue, the paired tests PR, and each recipe's
/// last registry scan.
pub const FLOW_SCHEMA: &str = "ALTER TABLE upgrades ADD COLUMN fixer_started_at TEXT;
    ALTER TABLE upgrades ADD COLUMN step TEXT;
    ALTER TABLE upgrades ADD COLUMN step_since TEXT;
    ALTER TABLE upgrades ADD COLUMN queue_place INTEGER;
    ALTER TABLE upgrades ADD COLUMN tests_branch TEXT;
    ALTER TABLE upgrades ADD COLUMN tests_pr INTEGER;
    ALTER TABLE upgrades ADD COLUMN tests_pr_url TEXT;
    CREATE TABLE upgrade_scans (
        recipe TEXT PRIMARY KEY,
        scanned_at TEXT NOT NULL
    );";

/// Migration: what afk last pushed to a PR's branch and the `main` it made
/// that commit on (own branches kept current,
/// docs/how-it-works.md#afk-upgrade): a branch whose head is still that commit
/// is afk's own, and one made on the `main` of now needs no look.
pub const PUSHED_SCHEMA: &str = "ALTER TABLE upgrades ADD COLUMN pushed_sha TEXT;
    ALTER TABLE upgrades ADD COLUMN pushed_on TEXT;";

/// One upgrade PR's row.
#[derive(Debug, Clone, Default)]
pub struct Upgrade {
    pub id: i64,
    pub mirror: String,
    pub pr: PrNumber,
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
    pub fixer_started_at: Option<String>,
    /// the step an open flow is at (`queued`, `testing`, `fixing`, `updating-tests`); none once it ended
    pub step: Option<String>,
    pub step_since: Option<String>,
    pub queue_place: Option<u32>,
    /// `--with-tests`: the tests repository's branch and PR paired with this one
    pub tests_branch: Option<String>,
    pub tests_pr: Option<PrNumber>,
    pub tests_pr_url: Option<String>,
    /// the commit afk last pushed to the branch, and the `main` it was made on
    pub pushed_sha: Option<String>,
    pub pushed_on: Option<String>,
}

/// What identifies a new row.
pub struct NewUpgrade<'a> {
    pub mirror: &'a RepoName,
    pub pr: PrNumber,
    pub recipe: &'a str,
    pub branch: &'a str,
    pub url: &'a str,
    pub image: &'a str,
    pub from_tag: &'a str,
    pub to_tag: &'a str,
}

pub(super) const COLS: &str = "id, mirror, pr, recipe, branch, url, image, from_tag, to_tag, tested_sha, \
    fixer_run, fixer_base, fixer_handle, fixer_pid, fixer_start_time, fixer_dir, outcome, \
    final_reason, final_comment_id, closed_reason, fixer_started_at, step, step_since, queue_place, \
    tests_branch, tests_pr, tests_pr_url, pushed_sha, pushed_on";

pub(super) fn row(r: &rusqlite::Row) -> rusqlite::Result<Upgrade> {
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
        fixer_started_at: r.get(20)?,
        step: r.get(21)?,
        step_since: r.get(22)?,
        queue_place: r.get::<_, Option<i64>>(23)?.map(|n| n as u32),
        tests_branch: r.get(24)?,
        tests_pr: r.get(25)?,
        tests_pr_url: r.get(26)?,
        pushed_sha: r.get(27)?,
        pushed_on: r.get(28)?,
    })
}

impl Store {
    pub fn upgrade(&self, mirror: &RepoName, pr: PrNumber) -> Result<Option<Upgrade>> {
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
        let t = self.stamp();
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
        let t = self.stamp();
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

    /// afk pushed `sha`, made on `main`, to the PR's branch.
    pub fn upgrade_pushed(&self, id: i64, sha: &str, main: &str) -> Result<()> {
        self.set(id, "pushed_sha=?1, pushed_on=?2", &[&sha, &main])
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
        handle: &crate::types::RunnerHandle,
        dir: &str,
    ) -> Result<()> {
        let (pid, start) = handle.pid().unzip();
        self.set(
            id,
            "fixer_run=?1, fixer_base=?2, fixer_handle=?3, fixer_pid=?4, fixer_start_time=?5, fixer_dir=?6, fixer_started_at=?7",
            &[&(run as i64), &base, &handle.stored(), &pid, &start, &dir, &self.stamp()],
        )
    }

    /// The step an open flow is at (none: it ended), kept since it began, and
    /// its place in the test queue.
    pub fn upgrade_step(&self, id: i64, step: Option<&str>, place: Option<u32>) -> Result<()> {
        self.conn
            .execute(
                "UPDATE upgrades SET step_since = CASE WHEN step IS ?1 THEN step_since ELSE ?3 END,
                    step=?1, queue_place=?2 WHERE id=?4",
                params![step, place.map(i64::from), self.stamp(), id],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// The flows of `mirror` whose PR is no longer among its open ones (merged
    /// or closed by a person) are no longer open flows.
    pub fn upgrade_steps_end_except(&self, mirror: &RepoName, open: &[PrNumber]) -> Result<()> {
        let list = open
            .iter()
            .map(|n| n.0.to_string())
            .collect::<Vec<_>>()
            .join(",");
        self.conn
            .execute(
                &format!(
                    "UPDATE upgrades SET step=NULL, queue_place=NULL WHERE mirror=?1 AND step IS NOT NULL AND pr NOT IN ({list})"
                ),
                params![mirror],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Every open flow (a step and no final outcome), oldest first.
    pub fn open_upgrades(&self) -> Result<Vec<Upgrade>> {
        self.upgrades_where(
            "step IS NOT NULL AND outcome IS NULL AND closed_reason IS NULL ORDER BY id",
        )
    }

    /// Every upgrade PR a fixer was ever started for, newest first (`afk
    /// runs` lists their fixers' run folders).
    pub fn upgrades_with_fixers(&self) -> Result<Vec<Upgrade>> {
        self.upgrades_where("fixer_dir IS NOT NULL ORDER BY id DESC")
    }

    /// Every row `clause` (a fixed condition and order, never outside text)
    /// selects.
    fn upgrades_where(&self, clause: &str) -> Result<Vec<Upgrade>> {
        let mut st = self
            .conn
            .prepare(&format!("SELECT {COLS} FROM upgrades WHERE {clause}"))
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map([], row)
            .map_err(|e| self.err(e))?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(|e| self.err(e))?;
        Ok(rows)
    }

    /// When the registries were last asked for `recipe`'s images.
    pub fn last_scan(&self, recipe: &str) -> Result<Option<String>> {
        self.conn
            .query_row(
                "SELECT scanned_at FROM upgrade_scans WHERE recipe=?1",
                [recipe],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.err(e))
    }

    /// The registries were asked for `recipe`'s images now.
    pub fn record_scan(&self, recipe: &str) -> Result<()> {
        self.conn
            .execute(
                "INSERT INTO upgrade_scans (recipe, scanned_at) VALUES (?1, ?2)
                 ON CONFLICT(recipe) DO UPDATE SET scanned_at=excluded.scanned_at",
                params![recipe, self.stamp()],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// `--with-tests`: the tests branch, and once opened, the tests PR.
    pub fn upgrade_tests(&self, id: i64, branch: &str, pr: Option<(PrNumber, &str)>) -> Result<()> {
        let (n, url) = pr.unzip();
        self.set(
            id,
            "tests_branch=?1, tests_pr=COALESCE(?2, tests_pr), tests_pr_url=COALESCE(?3, tests_pr_url)",
            &[&branch, &n, &url],
        )
    }

    /// Decide a final outcome once: true for the one caller that decided it,
    /// with its event (kind, text, url; when given) in the same transaction,
    /// so it is notified exactly once. The flow is no longer open.
    pub fn finish_upgrade(
        &mut self,
        id: i64,
        outcome: Outcome,
        reason: &str,
        event: Option<(EventKind, &str, Option<&str>)>,
    ) -> Result<bool> {
        let at = self.stamp();
        let outcome = outcome.to_string();
        let path = self.path.clone();
        let err = |e: rusqlite::Error| anyhow::Error::new(super::describe(&path, &e));
        let tx = self.immediate()?;
        let t = at.clone();
        let n = tx
            .execute(
                "UPDATE upgrades SET outcome=?1, final_reason=?2, updated_at=?3, step=NULL, queue_place=NULL WHERE id=?4 AND outcome IS NULL",
                params![outcome, reason, t, id],
            )
            .map_err(err)?;
        if n == 1
            && let Some((kind, text, url)) = event
        {
            let (mirror, pr): (String, i64) = tx
                .query_row("SELECT mirror, pr FROM upgrades WHERE id=?1", [id], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })
                .map_err(err)?;
            tx.execute(
                "INSERT INTO events (kind, at, repo, issue, run_id, reason, url, text) VALUES (?7, ?1, ?2, ?3, NULL, ?4, ?5, ?6)",
                params![t, mirror, pr, reason, url, text, kind.as_str()],
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
        self.set(
            id,
            "closed_reason=?1, step=NULL, queue_place=NULL",
            &[&reason],
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_final_outcome_is_decided_once_with_one_event() {
        let mut s = Store::read(std::path::Path::new("/nonexistent/afk.db")).unwrap();
        let mirror = RepoName::parse("maint/nginx").unwrap();
        let n = NewUpgrade {
            mirror: &mirror,
            pr: PrNumber(4),
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
            EventKind::UpgradeFailed,
            "nginx: upgrade not green",
            Some("http://forge/maint/nginx/pulls/4"),
        ));
        assert!(
            s.finish_upgrade(u.id, Outcome::Failed, "not green", ev)
                .unwrap()
        );
        assert!(
            !s.finish_upgrade(u.id, Outcome::Failed, "not green", ev)
                .unwrap()
        );
        let events: i64 = s
            .conn
            .query_row(
                "SELECT COUNT(*) FROM events WHERE kind='upgrade.failed' AND issue=4",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(events, 1);
        let got = s.upgrade(&mirror, PrNumber(4)).unwrap().unwrap();
        assert_eq!(got.outcome.as_deref(), Some("FAILED"));
        assert_eq!(got.tested_sha.as_deref(), Some("abc"));
    }
}
