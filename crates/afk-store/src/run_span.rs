//! A run's `afk.run` span, made once when the run ends and recorded in the
//! telemetry outbox in the same transaction as the end (`Store::finish`,
//! `Store::mark_failed`): the process that ends the run sends it, and any
//! later tick while it is unaccepted. Only when this process exports
//! (`set_spans`): with telemetry off nothing is written.

use super::Store;
use crate::core::telemetry::spans::{RunFacts, run_span};
use afk_model::telemetry::Span;
use rusqlite::{Connection, OptionalExtension, params};
use std::sync::atomic::{AtomicBool, Ordering};

/// Whether this process records run spans (telemetry on, no dry run).
static SPANS: AtomicBool = AtomicBool::new(false);

/// Telemetry is on in this process: a run's end records its run span.
pub fn set_spans(on: bool) {
    SPANS.store(on, Ordering::Relaxed);
}

/// Whether run ends record their spans.
pub fn spans_on() -> bool {
    SPANS.load(Ordering::Relaxed)
}

fn unix_ns(s: Option<&str>) -> u64 {
    s.and_then(crate::clock::parse)
        .and_then(|t| u64::try_from(t.unix_timestamp_nanos()).ok())
        .unwrap_or(0)
}

fn secs(from: Option<time::OffsetDateTime>, to: Option<&str>) -> Option<f64> {
    let (from, to) = (from?, to.and_then(crate::clock::parse)?);
    Some(((to - from).as_seconds_f64()).max(0.0))
}

/// The run span of run `id` as the row stands (ended now), or None.
pub(crate) fn of(conn: &Connection, id: i64, end: &str) -> rusqlite::Result<Option<Span>> {
    let Some(instance) = conn
        .query_row("SELECT value FROM meta WHERE key = 'instance'", [], |r| {
            r.get::<_, String>(0)
        })
        .optional()?
    else {
        return Ok(None);
    };
    // the journal's head, the run's own end entry in it
    let audit: Option<(i64, String)> = conn
        .query_row(
            "SELECT seq, hash FROM journal ORDER BY seq DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    conn.query_row(
        "SELECT r.repo, r.issue, r.end_reason, r.template_name, r.template_version, t.hash,
                r.turns, r.spend_usd, r.pr_number, r.pr_url, r.created_at, r.armed_at,
                r.pr_seen_at, r.merged_at, r.merge_sha, r.zero_touch, r.ended_at
         FROM runs r LEFT JOIN template_versions t
           ON t.name = r.template_name AND t.version = r.template_version
         WHERE r.id = ?1",
        params![id],
        |r| {
            let repo: String = r.get(0)?;
            let reason: Option<String> = r.get(2)?;
            let tname: Option<String> = r.get(3)?;
            let tversion: Option<i64> = r.get(4)?;
            let hash: Option<String> = r.get(5)?;
            let pr_number: Option<i64> = r.get(8)?;
            let pr_url: Option<String> = r.get(9)?;
            let created: Option<String> = r.get(10)?;
            let armed: Option<String> = r.get(11)?;
            let pr_seen: Option<String> = r.get(12)?;
            let merged: Option<String> = r.get(13)?;
            let merge_sha: Option<String> = r.get(14)?;
            let zero_touch: Option<String> = r.get(15)?;
            let ended: Option<String> = r.get(16)?;
            // measured as `afk report` measures them: from the arming, or
            // the dispatch when that is earlier or the only one
            let start = match (
                armed.as_deref().and_then(crate::clock::parse),
                created.as_deref().and_then(crate::clock::parse),
            ) {
                (Some(a), Some(d)) => Some(a.min(d)),
                (a, d) => a.or(d),
            };
            let merged_at = merged.as_deref().or(ended.as_deref());
            Ok(Some(run_span(&RunFacts {
                instance: &instance,
                run: id,
                repo: &repo,
                issue: r.get(1)?,
                end,
                reason: reason.as_deref(),
                template: match (&tname, tversion, &hash) {
                    (Some(n), Some(v), Some(h)) => Some((n.as_str(), v, h.as_str())),
                    _ => None,
                },
                turns: r.get::<_, i64>(6)?.max(0) as u32,
                cost_usd: r.get(7)?,
                pr: pr_number.zip(pr_url.as_deref()),
                to_pr_s: secs(start, pr_seen.as_deref()),
                to_merge_s: if end == "succeeded" {
                    secs(start, merged_at)
                } else {
                    None
                },
                merge_sha: merge_sha.as_deref(),
                zero_touch: zero_touch.as_deref(),
                start_unix_ns: unix_ns(created.as_deref()),
                end_unix_ns: unix_ns(ended.as_deref()),
                audit: audit.as_ref().map(|(s, h)| (*s, h.as_str())),
            })))
        },
    )
    .optional()
    .map(Option::flatten)
}

impl Store {
    /// Record run `id`'s span in the outbox within `tx`, when this process
    /// records spans (`end`: `succeeded`, `escalated`, `abandoned`, `failed`).
    pub(crate) fn record_run_span(
        tx: &Connection,
        id: i64,
        end: &str,
        at: &str,
    ) -> rusqlite::Result<()> {
        if !spans_on() {
            return Ok(());
        }
        if let Some(span) = of(tx, id, end)? {
            super::outbox::outbox_put(tx, &span, at)?;
        }
        Ok(())
    }
}

impl Store {
    /// Record `span` in the outbox unless it is there already (its ids are
    /// fixed): whether this call recorded it.
    pub fn outbox_put_new(&self, span: &Span, now: time::OffsetDateTime) -> anyhow::Result<bool> {
        super::outbox::outbox_put(&self.conn, span, &crate::clock::ts_precise(now))
            .map_err(|e| self.err(e))
    }
}

/// Record a late fact's `afk.run.update` span in the outbox within `tx`,
/// when this process records spans.
pub(crate) fn record_fact(
    tx: &Connection,
    id: i64,
    fact: &crate::core::telemetry::spans::Fact,
    at: &str,
) -> rusqlite::Result<()> {
    if !spans_on() {
        return Ok(());
    }
    let found = tx
        .query_row(
            "SELECT m.value, r.repo, r.issue FROM runs r, meta m
             WHERE r.id = ?1 AND m.key = 'instance'",
            params![id],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, i64>(2)?,
                ))
            },
        )
        .optional()?;
    if let Some((instance, repo, issue)) = found {
        let span = crate::core::telemetry::spans::fact_span(
            &instance,
            (id, &repo, issue),
            fact,
            unix_ns(Some(at)),
        );
        super::outbox::outbox_put(tx, &span, at)?;
    }
    Ok(())
}
