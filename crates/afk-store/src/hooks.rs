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

    fn store(name: &str) -> Store {
        let dir = std::env::temp_dir().join(format!("afk-hooks-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        Store::open(&dir.join("afk.db")).unwrap()
    }

    #[test]
    fn a_delivery_is_handled_once_and_the_ids_kept_are_bounded() {
        let s = store("deliveries");
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
    fn event_started_ticks_are_counted_per_kind() {
        let s = store("ticks");
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
