//! The lessons table (docs/reports.md#afk-lessons): insert with the dedup
//! window, filtered lists, updates, the snapshot.

use super::Store;
pub use crate::types::lesson::{
    Attribution, LessonSource, LessonStatus, StatusFilter, TargetDomain,
};
use crate::types::{RepoName, RunId};
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
    pub source: LessonSource,
    pub status: LessonStatus,
    pub repo: Option<String>,
    pub work_item: Option<String>,
    pub run_id: Option<RunId>,
    pub stage: Option<String>,
    pub agent: Option<String>,
    pub root_cause: Option<String>,
    pub suggestion: Option<String>,
    pub detail: Option<String>,
    pub attribution: Option<Attribution>,
    pub target_repo: Option<String>,
    pub target_domain: Option<TargetDomain>,
    pub related_item: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct NewLesson {
    pub lesson_type: String,
    pub source: LessonSource,
    pub repo: Option<String>,
    pub work_item: Option<String>,
    pub run_id: Option<RunId>,
    pub stage: Option<String>,
    pub agent: Option<String>,
    pub root_cause: Option<String>,
    pub suggestion: Option<String>,
    pub detail: Option<String>,
    pub attribution: Option<Attribution>,
    pub target_repo: Option<String>,
    pub target_domain: Option<TargetDomain>,
}

#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub lesson_type: Option<String>,
    pub status: Option<StatusFilter>,
    pub repo: Option<String>,
    pub work_item: Option<String>,
    pub limit: usize,
}

/// Fields an update may set; None leaves a field alone.
#[derive(Debug, Clone, Default)]
pub struct Update {
    pub status: Option<LessonStatus>,
    pub attribution: Option<Attribution>,
    pub target_repo: Option<String>,
    pub target_domain: Option<TargetDomain>,
    pub related_item: Option<String>,
    pub root_cause: Option<String>,
    pub suggestion: Option<String>,
}

impl Update {
    fn fields(&self) -> Vec<(&'static str, &dyn rusqlite::ToSql)> {
        fn set<'a, T: rusqlite::ToSql>(
            k: &'static str,
            v: &'a Option<T>,
        ) -> Option<(&'static str, &'a dyn rusqlite::ToSql)> {
            v.as_ref().map(|v| (k, v as &dyn rusqlite::ToSql))
        }
        [
            set("status", &self.status),
            set("attribution", &self.attribution),
            set("target_repo", &self.target_repo),
            set("target_domain", &self.target_domain),
            set("related_item", &self.related_item),
            set("root_cause", &self.root_cause),
            set("suggestion", &self.suggestion),
        ]
        .into_iter()
        .flatten()
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
    /// listed by name, as [`LessonStatus`] orders
    pub by_status: BTreeMap<LessonStatus, i64>,
}

const COLS: &str = "id, created_at, updated_at, lesson_type, source, status, repo, work_item, run_id, \
    stage, agent, root_cause, suggestion, detail, attribution, target_repo, target_domain, related_item";

fn row(r: &rusqlite::Row) -> rusqlite::Result<Lesson> {
    let id = r.get(0)?;
    // a typed column that fails to read names its lesson, so the row can be found
    let named = |e| match e {
        rusqlite::Error::FromSqlConversionFailure(i, t, m) => {
            rusqlite::Error::FromSqlConversionFailure(i, t, format!("lesson {id}: {m}").into())
        }
        e => e,
    };
    Ok(Lesson {
        id,
        created_at: r.get(1)?,
        updated_at: r.get(2)?,
        lesson_type: r.get(3)?,
        source: r.get(4).map_err(named)?,
        status: r.get(5).map_err(named)?,
        repo: r.get(6)?,
        work_item: r.get(7)?,
        run_id: r.get(8)?,
        stage: r.get(9)?,
        agent: r.get(10)?,
        root_cause: r.get(11)?,
        suggestion: r.get(12)?,
        detail: r.get(13)?,
        attribution: r.get(14).map_err(named)?,
        target_repo: r.get(15)?,
        target_domain: r.get(16).map_err(named)?,
        related_item: r.get(17)?,
    })
}

/// `status IN (…)` for these statuses. Their names are afk's own fixed
/// words, so they are written into the SQL rather than bound.
fn status_in(f: StatusFilter) -> String {
    let names: Vec<String> = f.statuses().iter().map(|s| format!("'{s}'")).collect();
    format!("status IN ({})", names.join(","))
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
        let map = |e: rusqlite::Error| anyhow::Error::new(super::describe(&path, &e));
        let tx = self.immediate()?;
        if let Some(w) = dedup.filter(|w| !w.is_zero()) {
            let dup: Option<i64> = tx
                .query_row(
                    "SELECT id FROM lessons WHERE lesson_type=?1 AND repo IS ?2 AND work_item IS ?3
                     AND stage IS ?4 AND source=?5 AND created_at >= ?6 LIMIT 1",
                    params![
                        l.lesson_type,
                        l.repo,
                        l.work_item,
                        l.stage,
                        LessonSource::Auto,
                        cutoff(w)
                    ],
                    |r| r.get(0),
                )
                .optional()
                .map_err(map)?;
            if dup.is_some() {
                return Ok(None);
            }
        }
        // a lesson's words may come from an agent or a forge: kept bounded
        let bounded = |t: &Option<String>| t.as_deref().map(crate::core::run_lessons::lesson_text);
        let (root_cause, suggestion, detail) = (
            bounded(&l.root_cause),
            bounded(&l.suggestion),
            bounded(&l.detail),
        );
        tx.execute(
            "INSERT INTO lessons (created_at, lesson_type, source, status, repo, work_item, run_id, stage,
              agent, root_cause, suggestion, detail, attribution, target_repo, target_domain)
             VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15)",
            params![
                at.clone(),
                l.lesson_type,
                l.source,
                LessonStatus::New,
                l.repo,
                l.work_item,
                l.run_id,
                l.stage,
                l.agent,
                root_cause,
                suggestion,
                detail,
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

    /// Newest first, filtered, at most `limit`. `StatusFilter::Open` is new or
    /// in_progress, as the snapshot counts it.
    pub fn lessons(&self, f: &Filter) -> Result<Vec<Lesson>> {
        let status = f.status.map_or("1".to_string(), status_in);
        let mut st = self
            .conn
            .prepare(&format!(
                "SELECT {COLS} FROM lessons WHERE (?1 IS NULL OR lesson_type=?1) AND {status}
                 AND (?2 IS NULL OR repo=?2) AND (?3 IS NULL OR work_item=?3) ORDER BY id DESC LIMIT ?4"
            ))
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map(
                params![f.lesson_type, f.repo, f.work_item, f.limit as i64],
                row,
            )
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.err(e))
    }

    /// Open lessons of a repo for an agent's prompt, newest first. (A
    /// lesson's own `repo` stays text: `afk lessons record --repo` takes what
    /// a person typed.)
    /// `transient_retry` lessons are advice for the operator (a slow forge),
    /// nothing an agent can act on: they never reach a prompt.
    pub fn open_lessons(&self, repo: &RepoName, limit: usize) -> Result<Vec<Lesson>> {
        let mut st = self
            .conn
            .prepare(&format!(
                "SELECT {COLS} FROM lessons WHERE repo=?1 AND {}
                 AND lesson_type != 'transient_retry' ORDER BY id DESC LIMIT ?2",
                status_in(StatusFilter::Open)
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
            .prepare(&format!(
                "SELECT lesson_type, count(*) FROM lessons WHERE {} GROUP BY lesson_type",
                status_in(StatusFilter::Open)
            ))
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.err(e))
    }

    pub fn lesson_snapshot(&self) -> Result<Snapshot> {
        fn group<K: rusqlite::types::FromSql + Ord>(
            s: &Store,
            col: &str,
        ) -> Result<BTreeMap<K, i64>> {
            let mut st = s
                .conn
                .prepare(&format!(
                    "SELECT {col}, count(*) FROM lessons GROUP BY {col}"
                ))
                .map_err(|e| s.err(e))?;
            let rows = st
                .query_map([], |r| Ok((r.get::<_, K>(0)?, r.get::<_, i64>(1)?)))
                .map_err(|e| s.err(e))?;
            rows.collect::<Result<_, _>>().map_err(|e| s.err(e))
        }
        let by_type = group(self, "lesson_type")?;
        let by_status: BTreeMap<LessonStatus, i64> = group(self, "status")?;
        let total = by_status.values().sum();
        let open = by_status
            .iter()
            .filter(|(s, _)| s.is_open())
            .map(|(_, n)| n)
            .sum();
        Ok(Snapshot {
            total,
            open,
            by_type,
            by_status,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn store(name: &str) -> (Store, PathBuf) {
        let dir = std::env::temp_dir().join(format!("afk-lessons-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        (Store::open(&dir.join("afk.db")).unwrap(), dir)
    }

    fn lesson(s: &mut Store, source: LessonSource) -> i64 {
        let l = NewLesson {
            lesson_type: "gate_failure".into(),
            source,
            repo: Some("a/b".into()),
            ..Default::default()
        };
        s.insert_lesson(&l, None).unwrap().unwrap()
    }

    /// Each closed column reads back as the value written (stored as its
    /// name); a name afk never writes (a row another program wrote) fails the
    /// read with the lesson and the name rather than passing as text.
    #[test]
    fn a_lesson_reads_back_as_its_types_and_an_unknown_name_is_named() {
        let (mut s, dir) = store("types");
        let mut want = vec![];
        for (i, src) in LessonSource::ALL.iter().enumerate() {
            let status = LessonStatus::ALL[i % LessonStatus::ALL.len()];
            let attribution = Attribution::ALL[i % Attribution::ALL.len()];
            let domain = TargetDomain::ALL[i % TargetDomain::ALL.len()];
            let id = lesson(&mut s, *src);
            assert_eq!(s.lesson(id).unwrap().unwrap().status, LessonStatus::New);
            let u = Update {
                status: Some(status),
                attribution: Some(attribution),
                target_domain: Some(domain),
                ..Default::default()
            };
            assert!(s.update_lesson(id, &u).unwrap());
            want.push((id, *src, status, Some(attribution), Some(domain)));
        }
        for d in TargetDomain::ALL {
            let id = lesson(&mut s, LessonSource::Manual);
            let u = Update {
                target_domain: Some(*d),
                ..Default::default()
            };
            assert!(s.update_lesson(id, &u).unwrap());
            want.push((id, LessonSource::Manual, LessonStatus::New, None, Some(*d)));
        }
        want.reverse();
        let got: Vec<_> = s
            .lessons(&Filter {
                limit: 100,
                ..Default::default()
            })
            .unwrap()
            .into_iter()
            .map(|l| (l.id, l.source, l.status, l.attribution, l.target_domain))
            .collect();
        assert_eq!(got, want);
        let stored: String = s
            .conn
            .query_row("SELECT status FROM lessons WHERE id=1", [], |r| r.get(0))
            .unwrap();
        assert_eq!(stored, "new");

        let id = lesson(&mut s, LessonSource::Manual);
        let cases = [
            (
                "status",
                "wontfix",
                "\"wontfix\" is not a lesson status (afk knows new, in_progress, closed)",
            ),
            (
                "source",
                "imported",
                "\"imported\" is not a lesson source (afk knows auto, manual)",
            ),
            (
                "attribution",
                "nobody",
                "\"nobody\" is not a lesson attribution (afk knows platform, repo, both)",
            ),
            (
                "target_domain",
                "taste",
                "\"taste\" is not a lesson target domain (afk knows reliability, quality, speed, cost, security)",
            ),
        ];
        for (col, bad, msg) in cases {
            let was: Option<String> = s
                .conn
                .query_row(
                    &format!("SELECT {col} FROM lessons WHERE id=?1"),
                    [id],
                    |r| r.get(0),
                )
                .unwrap();
            s.conn
                .execute(
                    &format!("UPDATE lessons SET {col}=?1 WHERE id=?2"),
                    rusqlite::params![bad, id],
                )
                .unwrap();
            let all = Filter {
                limit: 100,
                ..Default::default()
            };
            let e = format!("{:#}", s.lessons(&all).unwrap_err());
            assert!(e.contains(&format!("lesson {id}: {msg}")), "{e}");
            let e = format!("{:#}", s.lesson(id).unwrap_err());
            assert!(e.contains(msg), "{e}");
            s.conn
                .execute(
                    &format!("UPDATE lessons SET {col}=?1 WHERE id=?2"),
                    rusqlite::params![was, id],
                )
                .unwrap();
        }
        s.conn
            .execute("UPDATE lessons SET status='wontfix' WHERE id=?1", [id])
            .unwrap();
        let e = format!("{:#}", s.lesson_snapshot().unwrap_err());
        assert!(e.contains("\"wontfix\" is not a lesson status"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// Open is new or in_progress in every read that asks for open lessons:
    /// the filtered list, a prompt's lessons, the counts by type, the snapshot.
    #[test]
    fn open_is_new_or_in_progress_everywhere() {
        let (mut s, dir) = store("open");
        for status in LessonStatus::ALL {
            let id = lesson(&mut s, LessonSource::Auto);
            let u = Update {
                status: Some(*status),
                ..Default::default()
            };
            assert!(s.update_lesson(id, &u).unwrap());
        }
        let statuses = |f: Option<StatusFilter>| -> Vec<LessonStatus> {
            let f = Filter {
                status: f,
                limit: 100,
                ..Default::default()
            };
            s.lessons(&f).unwrap().iter().map(|l| l.status).collect()
        };
        use LessonStatus::*;
        let cases = [
            (None, vec![Closed, InProgress, New]),
            (Some(StatusFilter::Open), vec![InProgress, New]),
            (Some(StatusFilter::Is(New)), vec![New]),
            (Some(StatusFilter::Is(InProgress)), vec![InProgress]),
            (Some(StatusFilter::Is(Closed)), vec![Closed]),
        ];
        for (f, want) in cases {
            assert_eq!(statuses(f), want, "{f:?}");
        }
        let prompt: Vec<_> = s
            .open_lessons(&RepoName::parse("a/b").unwrap(), 10)
            .unwrap()
            .iter()
            .map(|l| l.status)
            .collect();
        assert_eq!(prompt, [InProgress, New]);
        assert_eq!(s.open_by_type().unwrap().get("gate_failure"), Some(&2));
        let snap = s.lesson_snapshot().unwrap();
        assert_eq!((snap.total, snap.open), (3, 2));
        let order: Vec<_> = snap.by_status.keys().map(|k| k.as_str()).collect();
        assert_eq!(order, ["closed", "in_progress", "new"]);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
