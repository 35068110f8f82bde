//! The telemetry outbox: the run spans and late-fact spans, recorded in the
//! same transaction as the run's end or the fact, kept until a collector
//! accepts them (a 2xx), refuses them for good (a 4xx other than 408 and
//! 429) or 24 hours have passed since they were recorded. Each span is kept
//! as its JSON under its fixed ids, so recording it again is the same row
//! and a re-send is the same span.

use super::Store;
use super::types::stamp::Timestamp;
use afk_model::telemetry::Span;
use anyhow::Result;
use time::OffsetDateTime;

/// Migration 33: one row per span, keyed by the hex of its trace and span ids.
pub const SCHEMA: &str = "CREATE TABLE telemetry_outbox (
    span_id TEXT PRIMARY KEY,
    span TEXT NOT NULL,
    recorded_at TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'waiting'
);
CREATE INDEX telemetry_outbox_waiting ON telemetry_outbox(recorded_at) WHERE state = 'waiting';";

/// The most spans one process sends from the outbox (100 a tick).
pub const OUTBOX_MAX: usize = 100;

/// How long a span waits for a collector before it is dropped.
pub const OUTBOX_KEEP: time::Duration = time::Duration::hours(24);

/// Where an outbox span stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutboxState {
    /// recorded, not yet accepted
    Waiting,
    /// a collector answered 2xx
    Delivered,
    /// refused for good, or older than [`OUTBOX_KEEP`]
    Dropped,
}

impl OutboxState {
    /// The word stored in `telemetry_outbox.state`.
    pub fn as_str(self) -> &'static str {
        match self {
            OutboxState::Waiting => "waiting",
            OutboxState::Delivered => "delivered",
            OutboxState::Dropped => "dropped",
        }
    }
}

/// A span's row key: the lowercase hex of its trace id and span id (48 digits).
pub fn outbox_key(span: &Span) -> String {
    span.trace_id
        .iter()
        .chain(span.span_id.iter())
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Record `span` as waiting, stamped `now` (RFC 3339 text, as the store
/// writes it), on `conn`: a plain connection or the caller's transaction
/// (`&rusqlite::Transaction` derefs to one), so the span is recorded with
/// the end or the fact it tells of, or not at all. The same ids again change
/// nothing (INSERT OR IGNORE). True when a row was added.
pub fn outbox_put(conn: &rusqlite::Connection, span: &Span, now: &str) -> rusqlite::Result<bool> {
    let json = serde_json::to_string(span)
        .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
    let n = conn.execute(
        "INSERT OR IGNORE INTO telemetry_outbox (span_id, span, recorded_at, state)
         VALUES (?1, ?2, ?3, 'waiting')",
        rusqlite::params![outbox_key(span), json, now],
    )?;
    Ok(n == 1)
}

/// `now` as the outbox stores and compares it (RFC 3339, UTC, whole
/// seconds: one width, so text order is time order).
fn stamp(now: OffsetDateTime) -> String {
    Timestamp::new(now).text()
}

impl Store {
    /// Record `spans` as waiting, stamped with this handle's moment, in one
    /// transaction of their own (a caller with a transaction of its own
    /// calls [`outbox_put`] in it instead).
    pub fn outbox_add(&self, spans: &[Span]) -> Result<()> {
        let at = self.stamp();
        let tx = self.conn.unchecked_transaction().map_err(|e| self.err(e))?;
        for s in spans {
            outbox_put(&tx, s, &at).map_err(|e| self.err(e))?;
        }
        tx.commit().map_err(|e| self.err(e))?;
        Ok(())
    }

    /// The waiting spans recorded within [`OUTBOX_KEEP`] of `now`, oldest
    /// first, at most `limit` (and never more than [`OUTBOX_MAX`]), each with
    /// its key. A row whose JSON this afk cannot read is left out (it is
    /// dropped when it expires).
    pub fn outbox_waiting(&self, limit: usize, now: OffsetDateTime) -> Result<Vec<(String, Span)>> {
        let limit = limit.min(OUTBOX_MAX) as i64;
        let since = stamp(now - OUTBOX_KEEP);
        let mut st = self
            .conn
            .prepare(
                "SELECT span_id, span FROM telemetry_outbox
                 WHERE state = 'waiting' AND recorded_at >= ?1
                 ORDER BY recorded_at, span_id LIMIT ?2",
            )
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map(rusqlite::params![since, limit], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
            })
            .map_err(|e| self.err(e))?;
        let mut out = vec![];
        for row in rows {
            let (key, json) = row.map_err(|e| self.err(e))?;
            if let Ok(span) = serde_json::from_str::<Span>(&json) {
                out.push((key, span));
            }
        }
        Ok(out)
    }

    /// Set the rows of `keys` to `state` (delivered on a 2xx, dropped on a
    /// refusal for good), in one transaction.
    pub fn outbox_mark(&self, keys: &[String], state: OutboxState) -> Result<()> {
        if keys.is_empty() {
            return Ok(());
        }
        let tx = self.conn.unchecked_transaction().map_err(|e| self.err(e))?;
        {
            let mut st = tx
                .prepare("UPDATE telemetry_outbox SET state = ?2 WHERE span_id = ?1")
                .map_err(|e| self.err(e))?;
            for k in keys {
                st.execute(rusqlite::params![k, state.as_str()])
                    .map_err(|e| self.err(e))?;
            }
        }
        tx.commit().map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Drop the waiting spans recorded more than [`OUTBOX_KEEP`] before
    /// `now`; how many.
    pub fn outbox_expire(&self, now: OffsetDateTime) -> Result<usize> {
        let before = stamp(now - OUTBOX_KEEP);
        self.conn
            .execute(
                "UPDATE telemetry_outbox SET state = 'dropped'
                 WHERE state = 'waiting' AND recorded_at < ?1",
                [before],
            )
            .map_err(|e| self.err(e))
    }

    /// How many spans are in each state, `(waiting, delivered, dropped)`
    /// (doctor and the tests).
    pub fn outbox_counts(&self) -> Result<(usize, usize, usize)> {
        let count = |state: OutboxState| -> Result<usize> {
            self.conn
                .query_row(
                    "SELECT count(*) FROM telemetry_outbox WHERE state = ?1",
                    [state.as_str()],
                    |r| r.get::<_, i64>(0),
                )
                .map(|n| n as usize)
                .map_err(|e| self.err(e))
        };
        Ok((
            count(OutboxState::Waiting)?,
            count(OutboxState::Delivered)?,
            count(OutboxState::Dropped)?,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use afk_model::telemetry::{AttrValue, SpanKind, SpanStatus};
    use std::path::Path;
    use time::macros::datetime;

    fn span(n: u8) -> Span {
        Span {
            trace_id: [n; 16],
            span_id: [n; 8],
            parent_span_id: None,
            name: "afk.run".into(),
            kind: SpanKind::Internal,
            start_unix_ns: 1,
            end_unix_ns: 2,
            attributes: vec![("afk.run.id".into(), AttrValue::Int(i64::from(n)))],
            status: SpanStatus::Error("escalated".into()),
            links: vec![],
        }
    }

    fn store(at: OffsetDateTime) -> Store {
        Store::read(Path::new("/nonexistent/afk.db"))
            .unwrap()
            .at(at)
    }

    #[test]
    fn the_same_span_twice_is_one_row_and_reads_back_whole() {
        let t = datetime!(2026-01-01 12:00 UTC);
        let s = store(t);
        assert!(outbox_put(&s.conn, &span(1), &stamp(t)).unwrap());
        assert!(!outbox_put(&s.conn, &span(1), &stamp(t)).unwrap());
        s.outbox_add(&[span(1), span(2)]).unwrap();
        let waiting = s.outbox_waiting(10, t).unwrap();
        assert_eq!(waiting.len(), 2);
        assert_eq!(
            waiting[0].0,
            format!("{}{}", "01".repeat(16), "01".repeat(8))
        );
        assert_eq!(waiting[0].1, span(1));
        assert_eq!(s.outbox_counts().unwrap(), (2, 0, 0));
    }

    #[test]
    fn a_span_put_in_a_transaction_that_rolls_back_is_not_recorded() {
        let t = datetime!(2026-01-01 12:00 UTC);
        let mut s = store(t);
        {
            let tx = s.immediate().unwrap();
            outbox_put(&tx, &span(3), &stamp(t)).unwrap();
            // dropped without commit: rolled back
        }
        assert!(s.outbox_waiting(10, t).unwrap().is_empty());
        let tx = s.immediate().unwrap();
        outbox_put(&tx, &span(3), &stamp(t)).unwrap();
        tx.commit().unwrap();
        assert_eq!(s.outbox_waiting(10, t).unwrap().len(), 1);
    }

    #[test]
    fn oldest_first_at_most_the_limit_and_marked_rows_leave_the_queue() {
        let t0 = datetime!(2026-01-01 12:00 UTC);
        let s = store(t0);
        for n in (1..=5).rev() {
            // the later the number, the earlier it was recorded
            let at = t0 - time::Duration::minutes(i64::from(n));
            outbox_put(&s.conn, &span(n), &stamp(at)).unwrap();
        }
        let first: Vec<u8> = s
            .outbox_waiting(3, t0)
            .unwrap()
            .iter()
            .map(|(_, sp)| sp.span_id[0])
            .collect();
        assert_eq!(first, [5, 4, 3]);
        let keys: Vec<String> = s
            .outbox_waiting(2, t0)
            .unwrap()
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        s.outbox_mark(&keys, OutboxState::Delivered).unwrap();
        s.outbox_mark(&[outbox_key(&span(3))], OutboxState::Dropped)
            .unwrap();
        let left: Vec<u8> = s
            .outbox_waiting(100, t0)
            .unwrap()
            .iter()
            .map(|(_, sp)| sp.span_id[0])
            .collect();
        assert_eq!(left, [2, 1]);
        assert_eq!(s.outbox_counts().unwrap(), (2, 2, 1));
        // the limit is never above 100
        assert!(s.outbox_waiting(usize::MAX, t0).unwrap().len() <= OUTBOX_MAX);
    }

    #[test]
    fn a_span_older_than_a_day_is_not_sent_and_expires_as_dropped() {
        let t0 = datetime!(2026-01-01 12:00 UTC);
        let s = store(t0);
        outbox_put(&s.conn, &span(1), &stamp(t0)).unwrap();
        outbox_put(&s.conn, &span(2), &stamp(t0 + time::Duration::hours(2))).unwrap();
        let later = t0 + time::Duration::hours(25);
        let waiting = s.outbox_waiting(100, later).unwrap();
        assert_eq!(waiting.len(), 1, "the day-old span is no longer sent");
        assert_eq!(waiting[0].1, span(2));
        assert_eq!(s.outbox_expire(later).unwrap(), 1);
        assert_eq!(s.outbox_counts().unwrap(), (1, 0, 1));
        // expiring again changes nothing; a delivered span never expires
        assert_eq!(s.outbox_expire(later).unwrap(), 0);
        s.outbox_mark(&[outbox_key(&span(2))], OutboxState::Delivered)
            .unwrap();
        assert_eq!(s.outbox_expire(t0 + time::Duration::hours(100)).unwrap(), 0);
        assert_eq!(s.outbox_counts().unwrap(), (0, 1, 1));
    }
}
