//! The lessons table (SPEC 6): insert with the dedup window, filtered lists,
//! updates, the snapshot.

use super::Store;
use crate::types::RunId;
use anyhow::Result;
use rusqlite::{OptionalExtension, params};
use serde::Serialize;
use std::collections::BTreeMap;
use std::time::Duration;

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Lesson {
    pub id: i64,
    pub created_at: String,
    pub updated_at: Option<String>,
    pub lesson_type: String,
    pub source: String,
    pub status: String,
    pub repo: Option<String>,
    pub work_item: Option<String>,
    pub run_id: Option<RunId>,
    pub stage: Option<String>,
    pub agent: Option<String>,
    pub root_cause: Option<String>,
    pub suggestion: Option<String>,
    pub detail: Option<String>,
    pub attribution: Option<String>,
    pub target_repo: Option<String>,
    pub target_domain: Option<String>,
    pub related_item: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct NewLesson {
    pub lesson_type: String,
    /// "auto" or "manual"
    pub source: String,
    pub repo: Option<String>,
    pub work_item: Option<String>,
    pub run_id: Option<RunId>,
    pub stage: Option<String>,
    pub agent: Option<String>,
    pub root_cause: Option<String>,
    pub suggestion: Option<String>,
    pub detail: Option<String>,
    pub attribution: Option<String>,
    pub target_repo: Option<String>,
    pub target_domain: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub lesson_type: Option<String>,
    pub status: Option<String>,
    pub repo: Option<String>,
    pub work_item: Option<String>,
    pub limit: usize,
}

/// Fields an update may set; None leaves a field alone.
#[derive(Debug, Clone, Default)]
pub struct Update {
    pub status: Option<String>,
    pub attribution: Option<String>,
    pub target_repo: Option<String>,
    pub target_domain: Option<String>,
    pub related_item: Option<String>,
    pub root_cause: Option<String>,
    pub suggestion: Option<String>,
}

impl Update {
    fn fields(&self) -> Vec<(&'static str, &String)> {
        [
            ("status", &self.status),
            ("attribution", &self.attribution),
            ("target_repo", &self.target_repo),
            ("target_domain", &self.target_domain),
            ("related_item", &self.related_item),
            ("root_cause", &self.root_cause),
            ("suggestion", &self.suggestion),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| (k, v)))
        .collect()
    }
    pub fn is_empty(&self) -> bool {
        self.fields().is_empty()
    }
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Snapshot {
    pub total: i64,
    pub open: i64,
    pub by_type: BTreeMap<String, i64>,
    pub by_status: BTreeMap<String, i64>,
}

const COLS: &str = "id, created_at, updated_at, lesson_type, source, status, repo, work_item, run_id, \
    stage, agent, root_cause, suggestion, detail, attribution, target_repo, target_domain, related_item";

fn row(r: &rusqlite::Row) -> rusqlite::Result<Lesson> {
    Ok(Lesson {
        id: r.get(0)?,
        created_at: r.get(1)?,
        updated_at: r.get(2)?,
        lesson_type: r.get(3)?,
        source: r.get(4)?,
        status: r.get(5)?,
        repo: r.get(6)?,
        work_item: r.get(7)?,
        run_id: r.get(8)?,
        stage: r.get(9)?,
        agent: r.get(10)?,
        root_cause: r.get(11)?,
        suggestion: r.get(12)?,
        detail: r.get(13)?,
        attribution: r.get(14)?,
        target_repo: r.get(15)?,
        target_domain: r.get(16)?,
        related_item: r.get(17)?,
    })
}

/// `now - window` on afk's clock (the one that stamps `created_at`), in the
/// stored timestamp format, so text comparison orders correctly.
fn cutoff(window: Duration) -> String {
    crate::clock::ts(crate::clock::now() - window)
}

impl Store {
    /// Insert a lesson; with `dedup` (auto lessons), drop it when an equal one in
    /// (type, repo, work item, stage) was recorded within the window. The check and
    /// the insert are one transaction. Returns the new id, or None when dropped.
    pub fn insert_lesson(&mut self, l: &NewLesson, dedup: Option<Duration>) -> Result<Option<i64>> {
        let at = self.stamp();
        let path = self.path.clone();
        let map = |e: rusqlite::Error| anyhow::anyhow!(super::describe(&path, &e));
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(map)?;
        if let Some(w) = dedup.filter(|w| !w.is_zero()) {
            let dup: Option<i64> = tx
                .query_row(
                    "SELECT id FROM lessons WHERE lesson_type=?1 AND repo IS ?2 AND work_item IS ?3
                     AND stage IS ?4 AND source='auto' AND created_at >= ?5 LIMIT 1",
                    params![l.lesson_type, l.repo, l.work_item, l.stage, cutoff(w)],
                    |r| r.get(0),
                )
                .optional()
                .map_err(map)?;
            if dup.is_some() {
                return Ok(None);
            }
        }
        tx.execute(
            "INSERT INTO lessons (created_at, lesson_type, source, status, repo, work_item, run_id, stage,
              agent, root_cause, suggestion, detail, attribution, target_repo, target_domain)
             VALUES (?1,?2,?3,'new',?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14)",
            params![
                at.clone(),
                l.lesson_type,
                l.source,
                l.repo,
                l.work_item,
                l.run_id,
                l.stage,
                l.agent,
                l.root_cause,
                l.suggestion,
                l.detail,
                l.attribution,
                l.target_repo,
                l.target_domain
            ],
        )
        .map_err(map)?;
        let id = tx.last_insert_rowid();
        tx.commit().map_err(map)?;
        Ok(Some(id))
    }

    /// Newest first, filtered, at most `limit`. Status `open` means new or
    /// in_progress, as the snapshot counts it.
    pub fn lessons(&self, f: &Filter) -> Result<Vec<Lesson>> {
        let mut st = self
            .conn
            .prepare(&format!(
                "SELECT {COLS} FROM lessons WHERE (?1 IS NULL OR lesson_type=?1)
                 AND (?2 IS NULL OR status=?2 OR (?2='open' AND status IN ('new','in_progress')))
                 AND (?3 IS NULL OR repo=?3) AND (?4 IS NULL OR work_item=?4) ORDER BY id DESC LIMIT ?5"
            ))
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map(
                params![f.lesson_type, f.status, f.repo, f.work_item, f.limit as i64],
                row,
            )
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.err(e))
    }

    /// Open lessons (new or in progress) of a repo, newest first.
    /// Open lessons of a repo for an agent's prompt, newest first.
    /// `transient_retry` lessons are advice for the operator (a slow forge),
    /// nothing an agent can act on: they never reach a prompt.
    pub fn open_lessons(&self, repo: &str, limit: usize) -> Result<Vec<Lesson>> {
        let mut st = self
            .conn
            .prepare(&format!(
                "SELECT {COLS} FROM lessons WHERE repo=?1 AND status IN ('new','in_progress')
                 AND lesson_type != 'transient_retry' ORDER BY id DESC LIMIT ?2"
            ))
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map(params![repo, limit as i64], row)
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.err(e))
    }

    pub fn lesson(&self, id: i64) -> Result<Option<Lesson>> {
        self.conn
            .query_row(
                &format!("SELECT {COLS} FROM lessons WHERE id=?1"),
                [id],
                row,
            )
            .optional()
            .map_err(|e| self.err(e))
    }

    /// Apply an update and stamp `updated_at`; false when no lesson has this id.
    pub fn update_lesson(&mut self, id: i64, u: &Update) -> Result<bool> {
        let fields = u.fields();
        let sets: Vec<String> = fields
            .iter()
            .enumerate()
            .map(|(i, (k, _))| format!("{k}=?{}", i + 3))
            .collect();
        let sql = format!(
            "UPDATE lessons SET updated_at=?2, {} WHERE id=?1",
            sets.join(", ")
        );
        let mut values: Vec<&dyn rusqlite::ToSql> = vec![&id];
        let t = self.stamp();
        values.push(&t);
        for (_, v) in &fields {
            values.push(*v);
        }
        let n = self
            .conn
            .execute(&sql, values.as_slice())
            .map_err(|e| self.err(e))?;
        Ok(n == 1)
    }

    /// Open lessons (new or in progress), counted by type.
    pub fn open_by_type(&self) -> Result<BTreeMap<String, i64>> {
        let mut st = self
            .conn
            .prepare(
                "SELECT lesson_type, count(*) FROM lessons
                 WHERE status IN ('new','in_progress') GROUP BY lesson_type",
            )
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.err(e))
    }

    pub fn lesson_snapshot(&self) -> Result<Snapshot> {
        let group = |col: &str| -> Result<BTreeMap<String, i64>> {
            let mut st = self
                .conn
                .prepare(&format!(
                    "SELECT {col}, count(*) FROM lessons GROUP BY {col}"
                ))
                .map_err(|e| self.err(e))?;
            let rows = st
                .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))
                .map_err(|e| self.err(e))?;
            rows.collect::<Result<_, _>>().map_err(|e| self.err(e))
        };
        let by_type = group("lesson_type")?;
        let by_status = group("status")?;
        let total = by_status.values().sum();
        let open = by_status.get("new").copied().unwrap_or(0)
            + by_status.get("in_progress").copied().unwrap_or(0);
        Ok(Snapshot {
            total,
            open,
            by_type,
            by_status,
        })
    }
}
