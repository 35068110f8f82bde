//! Prompt-template versions (docs/reports.md#afk-template) and their canary
//! record (docs/how-it-works.md#afk-harvest-and-the-template-canary): status,
//! when a canary went live, its evaluated checkpoints, how it ended, and the
//! outcome tallies `template list` shows.
//!
//! Every status change is one `BEGIN IMMEDIATE` transaction guarded by the
//! status it expects (`… WHERE id = ? AND status = ?`, one row changed), and
//! the event it emits carries a unique key: however many ticks or people race,
//! a version ends once and its event exists once.

use super::Store;
use super::events::{KeyedEvent, insert_keyed_event};
use crate::core::canary::{
    self, CheckResult, Checkpoint, Decision, HandChange, HandTarget, Tally, VersionStatus,
};
use crate::core::kinds::EventKind;
use anyhow::{Result, anyhow, bail};
use rusqlite::{OptionalExtension, Transaction, params};
use sha2::{Digest, Sha256};

#[derive(Debug, Clone, serde::Serialize)]
pub struct TemplateVersion {
    pub id: i64,
    pub name: String,
    pub version: i64,
    pub hash: String,
    pub status: VersionStatus,
    pub created_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub canary_since: Option<String>,
    /// how a canary or a hand change ended it: `rolled_back`, `auto_promoted`,
    /// `rejected`, `promoted`
    #[serde(skip)]
    pub decision: Option<String>,
    #[serde(skip)]
    pub decision_reason: Option<String>,
    #[serde(skip)]
    pub status_at: String,
    #[serde(skip)]
    pub successes: u64,
    #[serde(skip)]
    pub failures: u64,
    #[serde(skip)]
    pub body: String,
}

impl TemplateVersion {
    /// Its outcomes so far.
    pub fn tally(&self) -> (u64, u64) {
        (self.successes, self.failures)
    }
}

pub fn content_hash(body: &str) -> String {
    let d = Sha256::digest(body.as_bytes());
    d.iter().map(|b| format!("{b:02x}")).collect()
}

const COLS: &str = "id, name, version, hash, status, created_at, body, canary_since, decision, \
    decision_reason, status_at, successes, failures";

fn row(r: &rusqlite::Row) -> rusqlite::Result<TemplateVersion> {
    Ok(TemplateVersion {
        id: r.get(0)?,
        name: r.get(1)?,
        version: r.get(2)?,
        hash: r.get(3)?,
        status: r.get(4)?,
        created_at: r.get(5)?,
        body: r.get(6)?,
        canary_since: r.get(7)?,
        decision: r.get(8)?,
        decision_reason: r.get(9)?,
        status_at: r.get(10)?,
        successes: r.get::<_, i64>(11)? as u64,
        failures: r.get::<_, i64>(12)? as u64,
    })
}

/// A version's (id, status), if it exists, and its name's live canary version.
type Target = (Option<(i64, VersionStatus)>, Option<i64>);

/// A version's status and its name's live canary, read inside a transaction.
fn target(tx: &Transaction, name: &str, version: i64) -> rusqlite::Result<Target> {
    let this = tx
        .query_row(
            "SELECT id, status FROM template_versions WHERE name=?1 AND version=?2",
            params![name, version],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let live = tx
        .query_row(
            "SELECT version FROM template_versions WHERE name=?1 AND status='canary'",
            [name],
            |r| r.get(0),
        )
        .optional()?;
    Ok((this, live))
}

/// Move a version from `from` to `to` (with the canary's end, when it is one);
/// false when it was not in `from` any more.
fn set_status(
    tx: &Transaction,
    id: i64,
    from: VersionStatus,
    to: VersionStatus,
    decision: Option<(&str, Option<&str>)>,
    at: &str,
) -> rusqlite::Result<bool> {
    let n = tx.execute(
        "UPDATE template_versions SET status=?3, status_at=?4,
           decision=COALESCE(?5, decision), decision_reason=COALESCE(?6, decision_reason)
         WHERE id=?1 AND status=?2",
        params![
            id,
            from,
            to,
            at,
            decision.map(|d| d.0),
            decision.and_then(|d| d.1)
        ],
    )?;
    Ok(n == 1)
}

/// The old current of `name` becomes retired.
fn retire_current(tx: &Transaction, name: &str, at: &str) -> rusqlite::Result<Option<i64>> {
    let old: Option<(i64, i64)> = tx
        .query_row(
            "SELECT id, version FROM template_versions WHERE name=?1 AND status='current'",
            [name],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    if let Some((id, _)) = old {
        set_status(
            tx,
            id,
            VersionStatus::Current,
            VersionStatus::Retired,
            None,
            at,
        )?;
    }
    Ok(old.map(|o| o.1))
}

/// The key that makes a version's end event exist once.
pub fn end_key(version_id: i64) -> String {
    format!("template-version:{version_id}:end")
}

/// What a hand change did.
#[derive(Debug, Clone)]
pub struct HandDone {
    pub version: TemplateVersion,
    /// the version that was current before a promotion
    pub retired: Option<i64>,
    /// `candidate.promoted` / `candidate.rejected` entered the outbox
    pub event: Option<EventKind>,
}

/// What a harvest tick persists for one live canary.
pub struct CanaryVerdict<'a> {
    pub canary: &'a TemplateVersion,
    /// the checkpoints newly evaluated, in order
    pub checkpoints: &'a [Checkpoint],
    pub decision: Option<Decision>,
    /// the text of the event the decision emits
    pub event_text: &'a str,
}

/// What recording a verdict did: nothing when the canary was no longer live
/// (another tick or a person ended it first).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    NotLive,
    /// checkpoints written; `event` is the kind emitted if the canary ended
    Applied {
        event: Option<EventKind>,
    },
}

impl Store {
    /// Add a version: the first of a name becomes `current`, later ones
    /// `candidate`, or the live canary with `canary` (refused, with nothing
    /// added, unless `harvest.canary` is on and no canary is live).
    pub fn add_template(
        &mut self,
        name: &str,
        body: &str,
        canary: bool,
        canary_on: bool,
    ) -> Result<TemplateVersion> {
        let at_precise = self.stamp_precise();
        let tx = self.immediate()?;
        let last: Option<i64> = tx.query_row(
            "SELECT MAX(version) FROM template_versions WHERE name=?1",
            [name],
            |r| r.get(0),
        )?;
        let live = match last {
            Some(v) => target(&tx, name, v + 1)?.1,
            None => None,
        };
        let (version, status) =
            canary::added(name, last, canary, live, canary_on).map_err(|why| anyhow!(why))?;
        // to the microsecond: a canary going live is compared with dispatches
        let t = at_precise.clone();
        tx.execute(
            "INSERT INTO template_versions (name, version, body, hash, status, created_at, status_at, canary_since)
             VALUES (?1,?2,?3,?4,?5,?6,?6,?7)",
            params![
                name,
                version,
                body,
                content_hash(body),
                status,
                t,
                (status == VersionStatus::Canary).then_some(&t)
            ],
        )?;
        let id = tx.last_insert_rowid();
        tx.commit()?;
        Ok(self.template_by_id(id)?.expect("just inserted"))
    }

    /// `template canary NAME VERSION`: a candidate becomes the live canary;
    /// the moment is `canary_since`.
    pub fn start_canary(
        &mut self,
        name: &str,
        version: i64,
        canary_on: bool,
    ) -> Result<TemplateVersion> {
        let at_precise = self.stamp_precise();
        let tx = self.immediate()?;
        let (this, live) = target(&tx, name, version)?;
        let t = HandTarget {
            name,
            version,
            status: this.as_ref().map(|x| x.1),
            live_canary: live,
            canary_on,
        };
        if let Some(why) = canary::refusal(HandChange::StartCanary, &t) {
            bail!(why);
        }
        let id = this.map(|x| x.0).unwrap_or_default();
        tx.execute(
            "UPDATE template_versions SET status='canary', status_at=?2, canary_since=?2
             WHERE id=?1 AND status='candidate'",
            params![id, at_precise.clone()],
        )?;
        tx.commit()?;
        Ok(self.template_by_id(id)?.expect("exists"))
    }

    /// Promote or reject by hand: the status change and its event
    /// (`candidate.promoted` / `candidate.rejected`) in one transaction.
    pub fn change_by_hand(
        &mut self,
        change: HandChange,
        name: &str,
        version: i64,
    ) -> Result<HandDone> {
        let at = self.stamp();
        let tx = self.immediate()?;
        let (this, live) = target(&tx, name, version)?;
        let t = HandTarget {
            name,
            version,
            status: this.as_ref().map(|x| x.1),
            live_canary: live,
            canary_on: true,
        };
        if let Some(why) = canary::refusal(change, &t) {
            bail!(why);
        }
        let (id, from) = this.expect("refusal covers a missing version");
        let tr = canary::by_hand(change).expect("start_canary changes no decision");
        let retired = if tr.retire_current {
            retire_current(&tx, name, &at)?
        } else {
            None
        };
        let decision = (tr.result.as_str(), tr.reason.as_deref());
        if !set_status(&tx, id, from, tr.to, Some(decision), &at)? {
            bail!("template: {name}@{version} changed meanwhile; nothing done");
        }
        let was_canary = from == VersionStatus::Canary;
        let text = canary::hand_text(change, name, version, was_canary, retired);
        let inserted = insert_keyed_event(
            &tx,
            &KeyedEvent {
                kind: tr.event,
                reason: tr.reason.as_deref(),
                text: &text,
                dedup_key: &end_key(id),
            },
            &at,
        )?;
        tx.commit()?;
        Ok(HandDone {
            version: self.template_by_id(id)?.expect("exists"),
            retired,
            event: inserted.then_some(tr.event),
        })
    }

    /// Persist what harvest evaluated for a live canary, exactly once: the
    /// new checkpoints, and when it is decided the status change (the canary
    /// `rejected`, or `current` with the old current `retired`) and its event,
    /// all in one transaction that changes nothing unless the canary is
    /// still live.
    pub fn record_canary(&mut self, v: &CanaryVerdict) -> Result<Recorded> {
        let at = self.stamp();
        let c = v.canary;
        let tx = self.immediate()?;
        let live: Option<VersionStatus> = tx
            .query_row(
                "SELECT status FROM template_versions WHERE id=?1",
                [c.id],
                |r| r.get(0),
            )
            .optional()?;
        if live != Some(VersionStatus::Canary) {
            return Ok(Recorded::NotLive);
        }
        let t = at.clone();
        for cp in v.checkpoints {
            tx.execute(
                "INSERT OR IGNORE INTO canary_checkpoints (template_version_id, at, canary_success,
                   canary_failure, control_success, control_failure, p_worse, p_better, result, evaluated_at)
                 VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10)",
                params![
                    c.id,
                    cp.at,
                    cp.canary.success,
                    cp.canary.failure,
                    cp.control.success,
                    cp.control.failure,
                    cp.p_worse,
                    cp.p_better,
                    cp.result.to_string(),
                    t
                ],
            )?;
        }
        let Some(d) = v.decision else {
            tx.commit()?;
            return Ok(Recorded::Applied { event: None });
        };
        let tr = canary::decided(d);
        if tr.retire_current {
            retire_current(&tx, &c.name, &at)?;
        }
        let decision = (tr.result.as_str(), tr.reason.as_deref());
        if !set_status(&tx, c.id, VersionStatus::Canary, tr.to, Some(decision), &at)? {
            // cannot happen under the immediate lock, but never emit without the change
            return Ok(Recorded::NotLive);
        }
        let inserted = insert_keyed_event(
            &tx,
            &KeyedEvent {
                kind: tr.event,
                reason: tr.reason.as_deref(),
                text: v.event_text,
                dedup_key: &end_key(c.id),
            },
            &at,
        )?;
        tx.commit()?;
        Ok(Recorded::Applied {
            event: inserted.then_some(tr.event),
        })
    }

    pub fn template_by_id(&self, id: i64) -> Result<Option<TemplateVersion>> {
        Ok(self
            .conn
            .query_row(
                &format!("SELECT {COLS} FROM template_versions WHERE id=?1"),
                [id],
                row,
            )
            .optional()?)
    }

    pub fn template_version(&self, name: &str, version: i64) -> Result<Option<TemplateVersion>> {
        Ok(self
            .conn
            .query_row(
                &format!("SELECT {COLS} FROM template_versions WHERE name=?1 AND version=?2"),
                params![name, version],
                row,
            )
            .optional()?)
    }

    pub fn template_with_status(
        &self,
        name: &str,
        status: VersionStatus,
    ) -> Result<Option<TemplateVersion>> {
        Ok(self
            .conn
            .query_row(
                &format!(
                    "SELECT {COLS} FROM template_versions WHERE name=?1 AND status=?2 ORDER BY version DESC LIMIT 1"
                ),
                params![name, status],
                row,
            )
            .optional()?)
    }

    pub fn templates(&self, name: Option<&str>) -> Result<Vec<TemplateVersion>> {
        let mut st = self.conn.prepare(&format!(
            "SELECT {COLS} FROM template_versions WHERE (?1 IS NULL OR name=?1) ORDER BY name, version"
        ))?;
        let rows = st.query_map([name], row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Every live canary, by name.
    pub fn live_canaries(&self) -> Result<Vec<TemplateVersion>> {
        let mut st = self.conn.prepare(&format!(
            "SELECT {COLS} FROM template_versions WHERE status='canary' ORDER BY name"
        ))?;
        let rows = st.query_map([], row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The checkpoints evaluated for a version, in order.
    pub fn checkpoints(&self, version_id: i64) -> Result<Vec<Checkpoint>> {
        let mut st = self.conn.prepare(
            "SELECT at, canary_success, canary_failure, control_success, control_failure,
                    p_worse, p_better, result
             FROM canary_checkpoints WHERE template_version_id=?1 ORDER BY at",
        )?;
        let rows = st.query_map([version_id], |r| {
            let result: String = r.get(7)?;
            Ok(Checkpoint {
                at: r.get(0)?,
                canary: Tally {
                    success: r.get(1)?,
                    failure: r.get(2)?,
                },
                control: Tally {
                    success: r.get(3)?,
                    failure: r.get(4)?,
                },
                p_worse: r.get(5)?,
                p_better: r.get(6)?,
                result: match result.as_str() {
                    "rolled_back" => CheckResult::RolledBack,
                    "auto_promoted" => CheckResult::AutoPromoted,
                    "rejected" => CheckResult::Rejected,
                    _ => CheckResult::Continue,
                },
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The last checkpoint evaluated for a version.
    pub fn last_checkpoint(&self, version_id: i64) -> Result<Option<u32>> {
        Ok(self.conn.query_row(
            "SELECT MAX(at) FROM canary_checkpoints WHERE template_version_id=?1",
            [version_id],
            |r| r.get(0),
        )?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (Store, std::path::PathBuf) {
        let dir = std::env::temp_dir().join(format!(
            "afk-templates-{}-{}",
            std::process::id(),
            std::thread::current()
                .name()
                .unwrap_or("t")
                .replace("::", "-")
        ));
        let _ = std::fs::remove_dir_all(&dir);
        let p = dir.join("afk.db");
        (Store::open(&p).unwrap(), dir)
    }

    fn events(s: &Store) -> Vec<(String, Option<String>)> {
        let mut st = s
            .conn
            .prepare("SELECT kind, reason FROM events ORDER BY id")
            .unwrap();
        st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }

    #[test]
    fn racing_deciders_change_the_status_and_emit_the_event_once() {
        let (mut s, dir) = store();
        s.add_template("implementer", "one", false, true).unwrap();
        let c = s.add_template("implementer", "two", true, true).unwrap();
        let path = s.path.clone();
        let handles: Vec<_> = (0..8)
            .map(|_| {
                let (path, c) = (path.clone(), c.clone());
                std::thread::spawn(move || {
                    let mut s = Store::open(&path).unwrap();
                    s.record_canary(&CanaryVerdict {
                        canary: &c,
                        checkpoints: &[],
                        decision: Some(Decision::RolledBack {
                            reason: canary::Reason::EarlyFailures,
                        }),
                        event_text: "rolled back",
                    })
                    .unwrap()
                })
            })
            .collect();
        let results: Vec<Recorded> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        let applied = results
            .iter()
            .filter(|r| matches!(r, Recorded::Applied { .. }))
            .count();
        assert_eq!(applied, 1, "{results:?}");
        assert_eq!(
            events(&s),
            vec![(
                "candidate.rolled_back".to_string(),
                Some("early-failures".to_string())
            )]
        );
        assert_eq!(
            s.template_by_id(c.id).unwrap().unwrap().status,
            VersionStatus::Rejected
        );
        // a person rejecting it afterwards is refused and emits nothing
        let e = s
            .change_by_hand(HandChange::Reject, "implementer", 2)
            .unwrap_err()
            .to_string();
        assert!(e.contains("already rejected"), "{e}");
        assert_eq!(events(&s).len(), 1);
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn graduation_retires_the_old_current_in_the_same_transaction() {
        let (mut s, dir) = store();
        s.add_template("implementer", "one", false, true).unwrap();
        let c = s.add_template("implementer", "two", true, true).unwrap();
        assert!(c.canary_since.is_some());
        let r = s
            .record_canary(&CanaryVerdict {
                canary: &c,
                checkpoints: &[],
                decision: Some(Decision::Graduated),
                event_text: "graduated",
            })
            .unwrap();
        assert_eq!(
            r,
            Recorded::Applied {
                event: Some(EventKind::CandidateAutoPromoted)
            }
        );
        let st: Vec<VersionStatus> = s
            .templates(Some("implementer"))
            .unwrap()
            .into_iter()
            .map(|v| v.status)
            .collect();
        assert_eq!(st, vec![VersionStatus::Retired, VersionStatus::Current]);
        let _ = std::fs::remove_dir_all(dir);
    }
}
