//! What `afk hook` keeps (docs/hook.md): the deliveries it has
//! handled, so a redelivery starts nothing, and per tick kind how many ticks
//! events started and the last one (`afk status`, the status page).

use super::Store;
use anyhow::Result;

/// Migration 26.
pub const SCHEMA: &str = "CREATE TABLE hook_deliveries (
        id TEXT PRIMARY KEY,
        at TEXT NOT NULL
    );
    CREATE TABLE hook_ticks (
        kind TEXT PRIMARY KEY,
        count INTEGER NOT NULL,
        last_at TEXT NOT NULL
    );";

/// Migration 27: the comments a signed delivery said were edited, per
/// repository, so an edit the forge dates in the comment's own second is
/// still an edit (docs/reviews.md#commands).
pub const EDITS_SCHEMA: &str = "CREATE TABLE comment_edits (
        repo TEXT NOT NULL,
        comment INTEGER NOT NULL,
        at TEXT NOT NULL,
        PRIMARY KEY (repo, comment)
    );";

/// Migration 30: the comments a signed delivery said were written just
/// now, each until its edit grace ends (Unix ms, the system clock): no
/// tick takes a command from one before then, so an edit in its own
/// second, which the forge dates nowhere, is reported first
/// (docs/reviews.md#commands).
pub const GRACES_SCHEMA: &str = "CREATE TABLE comment_graces (
        repo TEXT NOT NULL,
        comment INTEGER NOT NULL,
        until_ms INTEGER NOT NULL,
        PRIMARY KEY (repo, comment)
    );";

/// How many edited comments are kept: a command is taken within ticks of
/// its writing, and this many edits arrive in weeks even on a busy instance.
pub const EDITS_KEPT: i64 = 10_000;

/// How many delivery ids are kept: a forge redelivers within hours, and
/// this many events arrive in days even on a busy instance.
pub const DELIVERIES_KEPT: i64 = 10_000;

/// One tick kind's event-started ticks.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct HookTicks {
    pub kind: String,
    pub count: i64,
    pub last: String,
}

impl Store {
    /// An event's tick of `kind`, opened at `at` under the tick's lock:
    /// its delivery `id` recorded as handled and the tick counted, in one
    /// transaction. False (nothing written) when the delivery was handled
    /// already (a redelivery whose tick got the lock second). The oldest ids
    /// past [`DELIVERIES_KEPT`] are let go.
    pub fn hook_tick_begins(&self, id: Option<&str>, kind: &str, at: &str) -> Result<bool> {
        self.hook_tick_begins_as(id.as_slice(), kind, at)
    }

    /// As [`Store::hook_tick_begins`], the delivery known by each of `ids`
    /// (its id, and the fingerprint of what was delivered: a captured
    /// delivery replayed under a new id is the same one): false, nothing
    /// written, when any of them was handled already.
    pub fn hook_tick_begins_as(&self, ids: &[&str], kind: &str, at: &str) -> Result<bool> {
        let tx = self.conn.unchecked_transaction().map_err(|e| self.err(e))?;
        for id in ids {
            let n = tx
                .execute(
                    "INSERT OR IGNORE INTO hook_deliveries (id, at) VALUES (?1, ?2)",
                    rusqlite::params![id, at],
                )
                .map_err(|e| self.err(e))?;
            if n == 0 {
                return Ok(false);
            }
            tx.execute(
                "DELETE FROM hook_deliveries WHERE rowid <= (SELECT max(rowid) FROM hook_deliveries) - ?1",
                [DELIVERIES_KEPT],
            )
            .map_err(|e| self.err(e))?;
        }
        tx.execute(
            "INSERT INTO hook_ticks (kind, count, last_at) VALUES (?1, 1, ?2)
             ON CONFLICT(kind) DO UPDATE SET count = count + 1, last_at = excluded.last_at",
            rusqlite::params![kind, at],
        )
        .map_err(|e| self.err(e))?;
        tx.commit().map_err(|e| self.err(e))?;
        Ok(true)
    }

    /// The deliveries a burst folded into this tick (docs/hook.md#bursts),
    /// recorded as handled so a replay of one starts nothing; ids recorded
    /// already are left as they are.
    pub fn hook_deliveries_folded(&self, ids: &[String], at: &str) -> Result<()> {
        let tx = self.conn.unchecked_transaction().map_err(|e| self.err(e))?;
        for id in ids {
            tx.execute(
                "INSERT OR IGNORE INTO hook_deliveries (id, at) VALUES (?1, ?2)",
                rusqlite::params![id, at],
            )
            .map_err(|e| self.err(e))?;
        }
        tx.execute(
            "DELETE FROM hook_deliveries WHERE rowid <= (SELECT max(rowid) FROM hook_deliveries) - ?1",
            [DELIVERIES_KEPT],
        )
        .map_err(|e| self.err(e))?;
        tx.commit().map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Whether delivery `id` was handled already (a read: afk hook answers
    /// a redelivery so before its tick, which records it, opens).
    pub fn hook_delivery_handled(&self, id: &str) -> Result<bool> {
        self.conn
            .query_row(
                "SELECT count(*) FROM hook_deliveries WHERE id = ?1",
                [id],
                |r| r.get::<_, i64>(0),
            )
            .map(|n| n > 0)
            .map_err(|e| self.err(e))
    }

    /// Whether comment `comment` of `repo` is afk's own, as a run keeps it
    /// (its progress checklist, edited every tick that moves it, or its
    /// escalation comment): its edit is afk's own doing, never a person's
    /// (the repository compared without case).
    pub fn is_afks_comment(&self, repo: &str, comment: i64) -> Result<bool> {
        self.conn
            .query_row(
                "SELECT count(*) FROM runs WHERE lower(repo) = lower(?1)
                 AND (checklist_comment_id = ?2 OR escalation_comment_id = ?2)",
                rusqlite::params![repo, comment],
                |r| r.get::<_, i64>(0),
            )
            .map(|n| n > 0)
            .map_err(|e| self.err(e))
    }

    /// Comment `comment` of `repo` was edited, as a signed delivery said at
    /// `at` (kept once; the oldest past [`EDITS_KEPT`] let go). The
    /// repository is kept as the forge spells it, compared without case.
    pub fn note_comment_edited(&self, repo: &str, comment: i64, at: &str) -> Result<()> {
        let tx = self.conn.unchecked_transaction().map_err(|e| self.err(e))?;
        tx.execute(
            "INSERT OR IGNORE INTO comment_edits (repo, comment, at) VALUES (lower(?1), ?2, ?3)",
            rusqlite::params![repo, comment, at],
        )
        .map_err(|e| self.err(e))?;
        tx.execute(
            "DELETE FROM comment_edits WHERE rowid <= (SELECT max(rowid) FROM comment_edits) - ?1",
            [EDITS_KEPT],
        )
        .map_err(|e| self.err(e))?;
        tx.commit().map_err(|e| self.err(e))
    }

    /// Comment `comment` of `repo` was written just now, as a signed
    /// delivery said: in its edit grace until `until_ms` (the first
    /// delivery's kept; the oldest past [`EDITS_KEPT`] let go).
    pub fn note_comment_written(&self, repo: &str, comment: i64, until_ms: i64) -> Result<()> {
        let tx = self.conn.unchecked_transaction().map_err(|e| self.err(e))?;
        tx.execute(
            "INSERT OR IGNORE INTO comment_graces (repo, comment, until_ms) VALUES (lower(?1), ?2, ?3)",
            rusqlite::params![repo, comment, until_ms],
        )
        .map_err(|e| self.err(e))?;
        tx.execute(
            "DELETE FROM comment_graces WHERE rowid <= (SELECT max(rowid) FROM comment_graces) - ?1",
            [EDITS_KEPT],
        )
        .map_err(|e| self.err(e))?;
        tx.commit().map_err(|e| self.err(e))
    }

    /// Which of `ids`, comments of `repo`, are still in their edit grace at
    /// `now_ms` (Unix ms, the system clock).
    pub fn comments_in_grace(
        &self,
        repo: &str,
        ids: &[i64],
        now_ms: i64,
    ) -> Result<std::collections::HashSet<i64>> {
        let mut st = self
            .conn
            .prepare_cached(
                "SELECT 1 FROM comment_graces WHERE repo = lower(?1) AND comment = ?2 AND until_ms > ?3",
            )
            .map_err(|e| self.err(e))?;
        let mut out = std::collections::HashSet::new();
        for id in ids {
            if st
                .exists(rusqlite::params![repo, id, now_ms])
                .map_err(|e| self.err(e))?
            {
                out.insert(*id);
            }
        }
        Ok(out)
    }

    /// Which of `ids`, comments of `repo`, a signed delivery reported as
    /// written (in their edit grace or past it): afk would have heard of
    /// an edit in their first second (`core::command_proof`).
    pub fn comments_delivered(
        &self,
        repo: &str,
        ids: &[i64],
    ) -> Result<std::collections::HashSet<i64>> {
        self.comments_in_grace(repo, ids, i64::MIN)
    }

    /// Which of `ids`, comments of `repo`, a signed delivery said were edited.
    pub fn comments_edited(
        &self,
        repo: &str,
        ids: &[i64],
    ) -> Result<std::collections::HashSet<i64>> {
        let mut st = self
            .conn
            .prepare_cached("SELECT 1 FROM comment_edits WHERE repo = lower(?1) AND comment = ?2")
            .map_err(|e| self.err(e))?;
        let mut out = std::collections::HashSet::new();
        for id in ids {
            if st
                .exists(rusqlite::params![repo, id])
                .map_err(|e| self.err(e))?
            {
                out.insert(*id);
            }
        }
        Ok(out)
    }

    /// Every kind an event started a tick of, by kind.
    pub fn hook_ticks(&self) -> Result<Vec<HookTicks>> {
        let mut st = self
            .conn
            .prepare("SELECT kind, count, last_at FROM hook_ticks ORDER BY kind")
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map([], |r| {
                Ok(HookTicks {
                    kind: r.get(0)?,
                    count: r.get(1)?,
                    last: r.get(2)?,
                })
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.err(e))
    }
}

#[cfg(test)]
mod tests {
    use crate::Store;

    /// A folder removed when the test ends: a test leaves nothing behind.
    pub(super) struct Gone(pub(super) std::path::PathBuf);

    impl Drop for Gone {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn store(name: &str) -> (Store, Gone) {
        let dir = std::env::temp_dir().join(format!("afk-hooks-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        (Store::open(&dir.join("afk.db")).unwrap(), Gone(dir))
    }

    #[test]
    fn a_delivery_is_handled_once_and_the_ids_kept_are_bounded() {
        let (s, _gone) = store("deliveries");
        let first =
            |s: &Store, id: &str, at: &str| s.hook_tick_begins(Some(id), "poll", at).unwrap();
        assert!(!s.hook_delivery_handled("d-1").unwrap());
        assert!(first(&s, "d-1", "2026-01-01T00:00:00Z"));
        assert!(s.hook_delivery_handled("d-1").unwrap());
        // a redelivery: nothing written, not counted
        assert!(!first(&s, "d-1", "2026-01-01T00:01:00Z"));
        assert_eq!(s.hook_ticks().unwrap()[0].count, 1);
        // one transaction, so the test writes the file once
        s.conn.execute_batch("BEGIN").unwrap();
        for i in 0..super::DELIVERIES_KEPT + 5 {
            s.conn
                .execute(
                    "INSERT INTO hook_deliveries (id, at) VALUES (?1, '2026-01-02T00:00:00Z')",
                    [format!("n-{i}")],
                )
                .unwrap();
        }
        s.conn.execute_batch("COMMIT").unwrap();
        assert!(first(&s, "last", "2026-01-02T00:00:00Z"));
        let n: i64 = s
            .conn
            .query_row("SELECT count(*) FROM hook_deliveries", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, super::DELIVERIES_KEPT);
        // the oldest let go: handled again as new
        assert!(first(&s, "d-1", "2026-01-03T00:00:00Z"));
    }

    #[test]
    fn a_written_comment_is_in_its_grace_until_its_first_deliverys_end() {
        let (s, _gone) = store("graces");
        s.note_comment_written("Acme/API", 7, 2_000).unwrap();
        // a redelivery moves nothing
        s.note_comment_written("acme/api", 7, 9_000).unwrap();
        let in_grace = |now| s.comments_in_grace("acme/api", &[7, 8], now).unwrap();
        assert_eq!(in_grace(1_999), [7].into_iter().collect());
        assert!(in_grace(2_000).is_empty(), "over at its end");
        assert!(s.comments_in_grace("acme/web", &[7], 0).unwrap().is_empty());
        // delivered, in its grace or past it
        let delivered = s.comments_delivered("ACME/api", &[7, 8]).unwrap();
        assert_eq!(delivered, [7].into_iter().collect());
    }

    #[test]
    fn afks_own_comments_are_its_runs_checklists_and_escalations_in_their_repository() {
        use crate::runs::NewRun;
        use crate::types::{IssueNumber, RepoName, RunnerKind};
        let (s, _gone) = store("own");
        let repo = RepoName::parse("acme/api").unwrap();
        let id = s
            .claim_run(&NewRun {
                repo: &repo,
                issue: IssueNumber(1),
                title: "t",
                url: "u",
                ready_event_id: Some(1),
                armed_at: None,
                template_name: "implementer",
                template_version_id: None,
                template_version: None,
                template_hash: None,
                runner_kind: RunnerKind::Command,
                branch: "afk/issue-1",
            })
            .unwrap();
        s.set_checklist(id, 70, "- [x] dispatched").unwrap();
        s.set_escalation_comment(id, 71).unwrap();
        let cases = [
            ("acme/api", 70, true, "its checklist"),
            (
                "Acme/API",
                70,
                true,
                "its checklist, the repository in another case",
            ),
            ("acme/api", 71, true, "its escalation comment"),
            ("acme/api", 72, false, "a person's comment"),
            ("acme/web", 70, false, "the same id in another repository"),
        ];
        for (repo, comment, want, rule) in cases {
            assert_eq!(s.is_afks_comment(repo, comment).unwrap(), want, "{rule}");
        }
    }

    #[test]
    fn an_edit_a_delivery_named_is_kept_once_per_repository_and_bounded() {
        let (s, _gone) = store("edits");
        s.note_comment_edited("Acme/API", 7, "2026-01-01T00:00:00Z")
            .unwrap();
        s.note_comment_edited("acme/api", 7, "2026-01-01T00:00:05Z")
            .unwrap();
        assert_eq!(
            s.comments_edited("acme/api", &[7, 8]).unwrap(),
            [7].into_iter().collect()
        );
        assert!(s.comments_edited("acme/web", &[7]).unwrap().is_empty());
        s.conn.execute_batch("BEGIN").unwrap();
        for i in 0..super::EDITS_KEPT {
            s.conn
                .execute(
                    "INSERT INTO comment_edits (repo, comment, at) VALUES ('acme/api', ?1, 'x')",
                    [1_000 + i],
                )
                .unwrap();
        }
        s.conn.execute_batch("COMMIT").unwrap();
        s.note_comment_edited("acme/api", 9, "2026-01-02T00:00:00Z")
            .unwrap();
        let n: i64 = s
            .conn
            .query_row("SELECT count(*) FROM comment_edits", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, super::EDITS_KEPT);
        assert!(
            s.comments_edited("acme/api", &[7]).unwrap().is_empty(),
            "the oldest let go"
        );
        assert_eq!(s.comments_edited("acme/api", &[9]).unwrap().len(), 1);
    }

    #[test]
    fn event_started_ticks_are_counted_per_kind() {
        let (s, _gone) = store("ticks");
        s.hook_tick_begins(None, "poll", "2026-01-01T00:00:00Z")
            .unwrap();
        s.hook_tick_begins(Some("d-1"), "poll", "2026-01-01T00:05:00Z")
            .unwrap();
        s.hook_tick_begins(None, "watch", "2026-01-01T00:03:00Z")
            .unwrap();
        let t = s.hook_ticks().unwrap();
        assert_eq!(
            t.iter()
                .map(|h| (h.kind.as_str(), h.count, h.last.as_str()))
                .collect::<Vec<_>>(),
            [
                ("poll", 2, "2026-01-01T00:05:00Z"),
                ("watch", 1, "2026-01-01T00:03:00Z")
            ]
        );
    }
}

#[cfg(test)]
mod folded {
    use crate::Store;

    #[test]
    fn deliveries_a_burst_folded_are_handled_without_counting_a_tick() {
        let dir = std::env::temp_dir().join(format!("afk-hooks-folded-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let _gone = super::tests::Gone(dir.clone());
        let s = Store::open(&dir.join("afk.db")).unwrap();
        s.hook_tick_begins(Some("d-1"), "watch", "2026-01-01T00:00:00Z")
            .unwrap();
        s.hook_deliveries_folded(
            &["d-1".into(), "d-2".into(), "p-2".into()],
            "2026-01-01T00:00:01Z",
        )
        .unwrap();
        for id in ["d-1", "d-2", "p-2"] {
            assert!(s.hook_delivery_handled(id).unwrap(), "{id}");
        }
        assert!(!s.hook_delivery_handled("d-3").unwrap());
        // a replay of a folded delivery's tick is a redelivery
        assert!(!s.hook_tick_begins(Some("d-2"), "watch", "x").unwrap());
        assert_eq!(s.hook_ticks().unwrap()[0].count, 1);
    }
}
