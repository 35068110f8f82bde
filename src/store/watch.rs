//! What watch reads and writes: the full run row, progress marks, end states,
//! frozen repos and the event outbox.

use super::{Store, now};
use anyhow::Result;
use rusqlite::{OptionalExtension, params};
use serde::Serialize;

/// States watch acts on: `dispatched` is followed; the `*ing` states are
/// decided end states whose forge writes are not all done yet.
pub const WATCHED: &[&str] = &["dispatched", "escalating", "succeeding", "abandoning"];

#[derive(Debug, Clone, Serialize)]
pub struct RunRow {
    pub id: i64,
    pub repo: String,
    pub issue: u64,
    pub title: String,
    pub url: String,
    pub state: String,
    pub branch: String,
    pub turns: u32,
    pub runner_handle: Option<String>,
    pub runner_pid: Option<i64>,
    pub runner_start_time: Option<i64>,
    pub run_dir: Option<String>,
    pub pr_number: Option<u64>,
    pub pr_url: Option<String>,
    pub head_sha: Option<String>,
    pub progress_fp: Option<String>,
    pub last_progress_at: Option<String>,
    pub green_since: Option<String>,
    pub checklist_comment_id: Option<i64>,
    pub checklist_text: Option<String>,
    pub escalation_comment_id: Option<i64>,
    pub end_reason: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    pub ended_at: Option<String>,
    pub template_version_id: Option<i64>,
}

const COLS: &str = "id, repo, issue, title, url, state, branch, turns, runner_pid, runner_start_time, run_dir, \
    pr_number, pr_url, head_sha, progress_fp, last_progress_at, green_since, checklist_comment_id, checklist_text, \
    escalation_comment_id, end_reason, created_at, updated_at, ended_at, template_version_id, runner_handle";

fn row(r: &rusqlite::Row) -> rusqlite::Result<RunRow> {
    Ok(RunRow {
        id: r.get(0)?,
        repo: r.get(1)?,
        issue: r.get::<_, i64>(2)? as u64,
        title: r.get(3)?,
        url: r.get(4)?,
        state: r.get(5)?,
        branch: r.get(6)?,
        turns: r.get::<_, i64>(7)? as u32,
        runner_pid: r.get(8)?,
        runner_start_time: r.get(9)?,
        run_dir: r.get(10)?,
        pr_number: r.get::<_, Option<i64>>(11)?.map(|n| n as u64),
        pr_url: r.get(12)?,
        head_sha: r.get(13)?,
        progress_fp: r.get(14)?,
        last_progress_at: r.get(15)?,
        green_since: r.get(16)?,
        checklist_comment_id: r.get(17)?,
        checklist_text: r.get(18)?,
        escalation_comment_id: r.get(19)?,
        end_reason: r.get(20)?,
        created_at: r.get(21)?,
        updated_at: r.get(22)?,
        ended_at: r.get(23)?,
        template_version_id: r.get(24)?,
        runner_handle: r.get(25)?,
    })
}

#[derive(Debug, Clone, Serialize)]
pub struct Event {
    pub id: i64,
    pub kind: String,
    pub at: String,
    pub repo: Option<String>,
    pub issue: Option<u64>,
    pub run_id: Option<i64>,
    pub reason: Option<String>,
    pub url: Option<String>,
    pub text: String,
    #[serde(skip)]
    pub slack_sent_at: Option<String>,
    #[serde(skip)]
    pub webhook_sent_at: Option<String>,
}

pub struct NewEvent<'a> {
    pub kind: &'a str,
    pub repo: &'a str,
    pub issue: u64,
    pub run_id: i64,
    pub reason: Option<&'a str>,
    pub url: Option<&'a str>,
    pub text: &'a str,
}

impl Store {
    pub fn watched_runs(&self) -> Result<Vec<RunRow>> {
        let list = WATCHED
            .iter()
            .map(|s| format!("'{s}'"))
            .collect::<Vec<_>>()
            .join(",");
        self.run_rows(&format!("state IN ({list})"))
    }

    pub fn run_rows(&self, cond: &str) -> Result<Vec<RunRow>> {
        let mut st = self
            .conn
            .prepare(&format!("SELECT {COLS} FROM runs WHERE {cond} ORDER BY id"))
            .map_err(|e| self.err(e))?;
        let rows = st.query_map([], row).map_err(|e| self.err(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.err(e))
    }

    pub fn run_row(&self, id: i64) -> Result<Option<RunRow>> {
        self.conn
            .query_row(&format!("SELECT {COLS} FROM runs WHERE id=?1"), [id], row)
            .optional()
            .map_err(|e| self.err(e))
    }

    /// What watch observed: the PR, its head, the progress fingerprint and when
    /// it last changed, and since when the PR has been green.
    pub fn observe(
        &self,
        id: i64,
        pr: Option<(u64, &str)>,
        head_sha: Option<&str>,
        fp: &str,
        progress_at: &str,
        green_since: Option<&str>,
    ) -> Result<()> {
        self.conn
            .execute(
                "UPDATE runs SET pr_number=COALESCE(?2, pr_number), pr_url=COALESCE(?3, pr_url),
                  head_sha=?4, progress_fp=?5, last_progress_at=?6, green_since=?7 WHERE id=?1",
                params![
                    id,
                    pr.map(|p| p.0 as i64),
                    pr.map(|p| p.1),
                    head_sha,
                    fp,
                    progress_at,
                    green_since
                ],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    pub fn set_checklist(&self, id: i64, comment_id: i64, text: &str) -> Result<()> {
        self.conn
            .execute(
                "UPDATE runs SET checklist_comment_id=?2, checklist_text=?3 WHERE id=?1",
                params![id, comment_id, text],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    pub fn set_escalation_comment(&self, id: i64, comment_id: i64) -> Result<()> {
        self.conn
            .execute(
                "UPDATE runs SET escalation_comment_id=?2 WHERE id=?1",
                params![id, comment_id],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// A corrective turn: one more agent start, recorded before the start.
    pub fn begin_turn(&self, id: i64) -> Result<u32> {
        self.conn
            .execute(
                "UPDATE runs SET turns=turns+1, updated_at=?2 WHERE id=?1",
                params![id, now()],
            )
            .map_err(|e| self.err(e))?;
        Ok(self.run_row(id)?.map(|r| r.turns).unwrap_or(0))
    }

    pub fn set_agent(&self, id: i64, pid: i64, start_time: i64) -> Result<()> {
        self.conn
            .execute(
                "UPDATE runs SET runner_pid=?2, runner_start_time=?3, runner_handle=?4, updated_at=?5 WHERE id=?1",
                params![id, pid, start_time, format!("pid:{pid}"), now()],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Decide an end state: the run moves to `to` (escalating, succeeding,
    /// abandoning) with its reason, and its event (if any) enters the outbox, in
    /// one transaction: the event exists exactly once.
    pub fn decide_end(
        &mut self,
        id: i64,
        to: &str,
        reason: Option<&str>,
        event: Option<NewEvent>,
    ) -> Result<()> {
        let path = self.path.clone();
        let map = |e: rusqlite::Error| anyhow::anyhow!(super::describe(&path, &e));
        let tx = self.conn.transaction().map_err(map)?;
        let t = now();
        let n = tx
            .execute(
                "UPDATE runs SET state=?2, end_reason=?3, updated_at=?4 WHERE id=?1 AND state='dispatched'",
                params![id, to, reason, t],
            )
            .map_err(map)?;
        if n == 1
            && let Some(e) = event
        {
            tx.execute(
                "INSERT INTO events (kind, at, repo, issue, run_id, reason, url, text) VALUES (?1,?2,?3,?4,?5,?6,?7,?8)",
                params![e.kind, t, e.repo, e.issue as i64, e.run_id, e.reason, e.url, e.text],
            )
            .map_err(map)?;
        }
        tx.commit().map_err(map)?;
        Ok(())
    }

    /// The end state's forge writes are done.
    pub fn finish(&self, id: i64, state: &str) -> Result<()> {
        let t = now();
        self.conn
            .execute(
                "UPDATE runs SET state=?2, updated_at=?3, ended_at=?3 WHERE id=?1",
                params![id, state, t],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    pub fn freeze(&self, repo: &str, reason: &str, run_id: i64) -> Result<()> {
        self.conn
            .execute(
                "INSERT OR IGNORE INTO frozen_repos (repo, reason, run_id, frozen_at) VALUES (?1,?2,?3,?4)",
                params![repo, reason, run_id, now()],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    pub fn unfreeze(&self, repo: &str) -> Result<bool> {
        let n = self
            .conn
            .execute("DELETE FROM frozen_repos WHERE repo=?1", [repo])
            .map_err(|e| self.err(e))?;
        Ok(n == 1)
    }

    pub fn frozen_details(&self) -> Result<Vec<(String, String, String)>> {
        let mut st = self
            .conn
            .prepare("SELECT repo, reason, frozen_at FROM frozen_repos ORDER BY repo")
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.err(e))
    }

    fn events_where(&self, cond: &str, limit: usize) -> Result<Vec<Event>> {
        let mut st = self
            .conn
            .prepare(&format!(
                "SELECT id, kind, at, repo, issue, run_id, reason, url, text, slack_sent_at, webhook_sent_at
                 FROM events WHERE {cond} ORDER BY id DESC LIMIT {limit}"
            ))
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map([], |r| {
                Ok(Event {
                    id: r.get(0)?,
                    kind: r.get(1)?,
                    at: r.get(2)?,
                    repo: r.get(3)?,
                    issue: r.get::<_, Option<i64>>(4)?.map(|n| n as u64),
                    run_id: r.get(5)?,
                    reason: r.get(6)?,
                    url: r.get(7)?,
                    text: r.get(8)?,
                    slack_sent_at: r.get(9)?,
                    webhook_sent_at: r.get(10)?,
                })
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.err(e))
    }

    /// Events not yet delivered everywhere, oldest first.
    pub fn unsent_events(&self) -> Result<Vec<Event>> {
        let mut v = self.events_where("sent_at IS NULL", 1000)?;
        v.reverse();
        Ok(v)
    }

    pub fn recent_events(&self, limit: usize) -> Result<Vec<Event>> {
        self.events_where("1=1", limit)
    }

    /// Mark one channel (`slack` or `webhook`) delivered; `sent_at` once all are.
    pub fn mark_sent(&self, id: i64, channel: &str, all_done: bool) -> Result<()> {
        let col = if channel == "slack" {
            "slack_sent_at"
        } else {
            "webhook_sent_at"
        };
        let t = now();
        self.conn
            .execute(
                &format!(
                    "UPDATE events SET {col}=COALESCE({col}, ?2), sent_at=CASE WHEN ?3 THEN ?2 ELSE sent_at END WHERE id=?1"
                ),
                params![id, t, all_done],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }
}
