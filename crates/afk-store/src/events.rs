//! The events table: the notification outbox. An event is inserted in the same
//! transaction as the decision it reports, and delivered per channel at most once.

use super::Store;
use crate::core::kinds::EventKind;
use crate::types::{IssueNumber, RepoName, RunId};
use anyhow::Result;
use rusqlite::params;
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct Event {
    pub id: i64,
    pub kind: EventKind,
    pub at: String,
    pub repo: Option<String>,
    pub issue: Option<IssueNumber>,
    pub run_id: Option<RunId>,
    pub reason: Option<String>,
    pub url: Option<String>,
    pub text: String,
    #[serde(skip)]
    pub slack_sent_at: Option<String>,
    #[serde(skip)]
    pub webhook_sent_at: Option<String>,
}

pub struct NewEvent<'a> {
    pub kind: EventKind,
    pub repo: &'a RepoName,
    pub issue: IssueNumber,
    pub run_id: crate::types::RunId,
    pub reason: Option<&'a str>,
    pub url: Option<&'a str>,
    pub text: &'a str,
}

/// Insert inside the caller's transaction.
/// `at` is the writing handle's moment ([`Store::now`]).
pub(crate) fn insert_event(
    tx: &rusqlite::Transaction,
    e: &NewEvent,
    at: &str,
) -> rusqlite::Result<()> {
    tx.execute(
        "INSERT INTO events (kind, at, repo, issue, run_id, reason, url, text) VALUES (?1,?2,?3,?4,?5,?6,?7,?8)",
        params![e.kind.as_str(), at, e.repo, e.issue, e.run_id, e.reason, e.url, e.text],
    )?;
    // the decision's journal entry, in its transaction: ids and names afk
    // chose, never the event's text
    let body = serde_json::json!({"repo": e.repo.as_str(), "issue": e.issue.0,
        "reason": e.reason, "url": e.url});
    super::journal::append(tx, at, Some(e.run_id.0), e.kind.as_str(), &body)
}

/// An event that may exist only once, whoever tries to insert it: a template
/// version's end (`template-version:<id>:end`). Not tied to a run.
pub struct KeyedEvent<'a> {
    pub kind: EventKind,
    pub reason: Option<&'a str>,
    pub text: &'a str,
    pub dedup_key: &'a str,
}

/// Insert inside the caller's transaction; false when an event with the same
/// `dedup_key` exists already (the unique index keeps it once).
pub(crate) fn insert_keyed_event(
    tx: &rusqlite::Transaction,
    e: &KeyedEvent,
    at: &str,
) -> rusqlite::Result<bool> {
    let n = tx.execute(
        "INSERT OR IGNORE INTO events (kind, at, reason, text, dedup_key) VALUES (?1,?2,?3,?4,?5)",
        params![e.kind.as_str(), at, e.reason, e.text, e.dedup_key],
    )?;
    if n == 1 {
        let body = serde_json::json!({"key": e.dedup_key, "reason": e.reason});
        super::journal::append(tx, at, None, e.kind.as_str(), &body)?;
    }
    Ok(n == 1)
}

/// A stored kind read back as the kind it was written as; a name no kind
/// has (a row some other program wrote) is an error naming it.
fn kind(r: &rusqlite::Row, i: usize) -> rusqlite::Result<EventKind> {
    let name: String = r.get(i)?;
    EventKind::parse(&name).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            i,
            rusqlite::types::Type::Text,
            format!("an event of unknown kind \"{name}\"").into(),
        )
    })
}

fn event_row(r: &rusqlite::Row) -> rusqlite::Result<Event> {
    Ok(Event {
        id: r.get(0)?,
        kind: kind(r, 1)?,
        at: r.get(2)?,
        repo: r.get(3)?,
        issue: r.get(4)?,
        run_id: r.get(5)?,
        reason: r.get(6)?,
        url: r.get(7)?,
        text: r.get(8)?,
        slack_sent_at: r.get(9)?,
        webhook_sent_at: r.get(10)?,
    })
}

/// Which delivery channel an event went to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    Slack,
    Webhook,
}

impl Store {
    fn events_where(&self, unsent_only: bool, limit: usize) -> Result<Vec<Event>> {
        let mut st = self
            .conn
            .prepare(
                "SELECT id, kind, at, repo, issue, run_id, reason, url, text, slack_sent_at, webhook_sent_at
                 FROM events WHERE (?1 = 0 OR sent_at IS NULL) ORDER BY id DESC LIMIT ?2",
            )
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map(params![unsent_only as i64, limit as i64], event_row)
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.err(e))
    }

    /// Events not yet delivered everywhere, oldest first.
    pub fn unsent_events(&self) -> Result<Vec<Event>> {
        let mut v = self.events_where(true, 1000)?;
        v.reverse();
        Ok(v)
    }

    /// The events of one run, oldest first.
    pub fn run_events(&self, run_id: crate::types::RunId) -> Result<Vec<Event>> {
        let mut st = self
            .conn
            .prepare(
                "SELECT id, kind, at, repo, issue, run_id, reason, url, text, slack_sent_at, webhook_sent_at
                 FROM events WHERE run_id = ?1 ORDER BY id",
            )
            .map_err(|e| self.err(e))?;
        let rows = st.query_map([run_id], event_row).map_err(|e| self.err(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.err(e))
    }

    pub fn recent_events(&self, limit: usize) -> Result<Vec<Event>> {
        self.events_where(false, limit)
    }

    /// Claim one channel's delivery of an event before sending it: true for
    /// exactly one caller, however many ticks race. A crash after the claim
    /// loses that one notification rather than sending it twice (at most once).
    pub fn claim_delivery(&self, id: i64, channel: Channel) -> Result<bool> {
        let sql = match channel {
            Channel::Slack => {
                "UPDATE events SET slack_sent_at=?2 WHERE id=?1 AND slack_sent_at IS NULL"
            }
            Channel::Webhook => {
                "UPDATE events SET webhook_sent_at=?2 WHERE id=?1 AND webhook_sent_at IS NULL"
            }
        };
        let n = self
            .conn
            .execute(sql, params![id, self.stamp()])
            .map_err(|e| self.err(e))?;
        Ok(n == 1)
    }

    /// The send failed: give the claim back so the next tick retries.
    pub fn release_delivery(&self, id: i64, channel: Channel) -> Result<()> {
        let sql = match channel {
            Channel::Slack => "UPDATE events SET slack_sent_at=NULL WHERE id=?1",
            Channel::Webhook => "UPDATE events SET webhook_sent_at=NULL WHERE id=?1",
        };
        self.conn.execute(sql, [id]).map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Every channel is done with this event.
    pub fn mark_delivered(&self, id: i64) -> Result<()> {
        self.conn
            .execute(
                "UPDATE events SET sent_at=COALESCE(sent_at, ?2) WHERE id=?1",
                params![id, self.stamp()],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each stored kind reads back as the kind written; a row of a kind afk
    /// never writes fails with its name rather than passing as text.
    #[test]
    fn an_event_reads_back_as_its_kind_and_an_unknown_kind_is_named() {
        let dir = std::env::temp_dir().join(format!("afk-events-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let s = Store::open(&dir.join("afk.db")).unwrap();
        for (i, k) in EventKind::ALL.iter().enumerate() {
            let tx = s.conn.unchecked_transaction().unwrap();
            let key = format!("k{i}");
            let e = KeyedEvent {
                kind: *k,
                reason: None,
                text: "t",
                dedup_key: &key,
            };
            insert_keyed_event(&tx, &e, "2026-01-01T00:00:00Z").unwrap();
            tx.commit().unwrap();
        }
        let kinds: Vec<EventKind> = s.unsent_events().unwrap().iter().map(|e| e.kind).collect();
        assert_eq!(kinds, EventKind::ALL);
        s.conn
            .execute(
                "INSERT INTO events (kind, at, text) VALUES ('run.exploded', '2026-01-01T00:00:00Z', 't')",
                [],
            )
            .unwrap();
        let e = format!("{:#}", s.unsent_events().unwrap_err());
        assert!(
            e.contains("an event of unknown kind \"run.exploded\""),
            "{e}"
        );
        assert!(!e.contains("Conversion error"), "only afk's own words: {e}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
