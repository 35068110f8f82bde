//! Outcomes (docs/how-it-works.md#afk-harvest-and-the-template-canary): one per
//! ended run that used a stored template version, keyed by run, ordered by (end
//! time, run id); a merged success's merge commit (written by watch) and its
//! flip to failure when that merge is reverted. Each change also moves the
//! version's tallies in the same transaction, so counts never need a scan.

use super::Store;
use crate::core::canary::{Ended, Outcome, in_control};
use crate::core::run_state::RunStatus;
use crate::types::{RepoName, RunId};
use anyhow::Result;
use rusqlite::params;

/// The order of outcomes: (ended_at, run id). `ended_at` is stored as UTC
/// RFC 3339 text with whole seconds, so text order is time order.
pub type Key = (String, RunId);

/// An ended run harvest has not looked at yet.
#[derive(Debug, Clone)]
pub struct EndedRun {
    pub run_id: RunId,
    pub template_name: Option<String>,
    pub version_id: Option<i64>,
    pub version: Option<i64>,
    pub state: RunStatus,
    pub dispatched_at: String,
    pub ended_at: String,
}

/// An outcome to record.
#[derive(Debug, Clone)]
pub struct NewOutcome {
    pub run_id: RunId,
    pub version_id: i64,
    pub outcome: Outcome,
    pub dispatched_at: String,
    pub ended_at: String,
}

/// A success whose merge is on record and not yet reverted.
#[derive(Debug, Clone)]
pub struct MergedRun {
    pub run_id: RunId,
    pub repo: RepoName,
    pub branch: String,
    pub merge_sha: String,
    pub merged_at: String,
}

fn outcome_text(o: Outcome) -> &'static str {
    match o {
        Outcome::Success => "success",
        Outcome::Failure => "failure",
    }
}

fn ended(r: &rusqlite::Row) -> rusqlite::Result<Ended<Key>> {
    let o: String = r.get(2)?;
    Ok(Ended {
        key: (r.get(0)?, r.get(1)?),
        outcome: if o == "success" {
            Outcome::Success
        } else {
            Outcome::Failure
        },
    })
}

impl Store {
    /// Ended runs harvest has not looked at yet, in end order. Cheap however
    /// long the history: a partial index holds only these.
    pub fn unharvested_runs(&self) -> Result<Vec<EndedRun>> {
        let mut st = self
            .conn
            .prepare(
                "SELECT id, template_name, template_version_id, template_version, state, created_at, ended_at
                 FROM runs WHERE harvested = 0 AND ended_at IS NOT NULL ORDER BY ended_at, id",
            )
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map([], |r| {
                Ok(EndedRun {
                    run_id: r.get(0)?,
                    template_name: r.get(1)?,
                    version_id: r.get(2)?,
                    version: r.get(3)?,
                    state: r.get(4)?,
                    dispatched_at: r.get(5)?,
                    ended_at: r.get(6)?,
                })
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.err(e))
    }

    /// Record outcomes and mark every looked-at run harvested, in one
    /// transaction. Idempotent: a run that has an outcome keeps it (and the
    /// tallies move only for rows inserted here). Returns the run ids whose
    /// outcome this call inserted.
    pub fn record_outcomes(
        &mut self,
        looked_at: &[RunId],
        new: &[NewOutcome],
    ) -> Result<Vec<RunId>> {
        let at = self.stamp();
        let path = self.path.clone();
        let map = |e: rusqlite::Error| anyhow::Error::new(super::describe(&path, &e));
        let tx = self.immediate()?;
        let mut inserted = vec![];
        {
            let t = at.clone();
            let mut ins = tx
                .prepare(
                    "INSERT OR IGNORE INTO outcomes (run_id, template_version_id, outcome, dispatched_at, ended_at, recorded_at)
                     VALUES (?1,?2,?3,?4,?5,?6)",
                )
                .map_err(map)?;
            let mut tally = tx
                .prepare(
                    "UPDATE template_versions SET successes = successes + ?2, failures = failures + ?3 WHERE id = ?1",
                )
                .map_err(map)?;
            for o in new {
                let n = ins
                    .execute(params![
                        o.run_id,
                        o.version_id,
                        outcome_text(o.outcome),
                        o.dispatched_at,
                        o.ended_at,
                        t
                    ])
                    .map_err(map)?;
                if n == 1 {
                    let s = (o.outcome == Outcome::Success) as i64;
                    tally
                        .execute(params![o.version_id, s, 1 - s])
                        .map_err(map)?;
                    inserted.push(o.run_id);
                }
            }
            let mut mark = tx
                .prepare("UPDATE runs SET harvested = 1 WHERE id = ?1")
                .map_err(map)?;
            for id in looked_at {
                mark.execute([id]).map_err(map)?;
            }
        }
        tx.commit().map_err(map)?;
        Ok(inserted)
    }

    /// Watch saw a run's PR merged: its merge commit, base branch and time.
    /// The first record stays (a resumed tick does not move the merge time).
    pub fn set_merge(
        &self,
        run_id: crate::types::RunId,
        sha: &str,
        branch: &str,
        merged_at: &str,
    ) -> Result<()> {
        self.conn
            .execute(
                "UPDATE runs SET merge_sha=?2, base_branch=?3, merged_at=?4 WHERE id=?1 AND merge_sha IS NULL",
                params![run_id, sha, branch, merged_at],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Successes merged at or after `cutoff` whose recorded outcome is still a
    /// success (a dry run records its outcomes in its copy first, so it needs
    /// no list of its own). A row whose repo does not parse (a state file
    /// edited by hand) is not watched: it is left out, the others are not.
    pub fn merged_successes(&self, cutoff: &str) -> Result<Vec<MergedRun>> {
        let mut st = self
            .conn
            .prepare(
                "SELECT r.id, r.repo, r.base_branch, r.merge_sha, r.merged_at, o.run_id IS NOT NULL
                 FROM runs r LEFT JOIN outcomes o ON o.run_id = r.id
                 WHERE r.merge_sha IS NOT NULL AND r.merged_at >= ?1
                   AND (o.run_id IS NULL OR (o.outcome = 'success' AND o.reverted_by IS NULL))
                 ORDER BY r.merged_at, r.id",
            )
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map([cutoff], |r| {
                let Ok(repo) = RepoName::parse_any(&r.get::<_, String>(1)?) else {
                    return Ok(None);
                };
                Ok(Some((
                    MergedRun {
                        run_id: r.get(0)?,
                        repo,
                        branch: r
                            .get::<_, Option<String>>(2)?
                            .unwrap_or_else(|| "main".into()),
                        merge_sha: r.get(3)?,
                        merged_at: r.get(4)?,
                    },
                    r.get::<_, bool>(5)?,
                )))
            })
            .map_err(|e| self.err(e))?;
        let all: Vec<Option<(MergedRun, bool)>> =
            rows.collect::<Result<_, _>>().map_err(|e| self.err(e))?;
        Ok(all
            .into_iter()
            .flatten()
            .filter(|(_, recorded)| *recorded)
            .map(|(m, _)| m)
            .collect())
    }

    /// A success whose merge was reverted becomes a failure, once, with the
    /// reverting commit; false when it already was.
    pub fn flip_reverted(&mut self, run_id: RunId, reverted_by: &str) -> Result<bool> {
        let at = self.stamp();
        let path = self.path.clone();
        let map = |e: rusqlite::Error| anyhow::Error::new(super::describe(&path, &e));
        let tx = self.immediate()?;
        let n = tx
            .execute(
                "UPDATE outcomes SET outcome='failure', reverted_by=?2, reverted_at=?3
                 WHERE run_id=?1 AND outcome='success' AND reverted_by IS NULL",
                params![run_id, reverted_by, at.clone()],
            )
            .map_err(map)?;
        if n == 1 {
            tx.execute(
                "UPDATE template_versions SET successes = successes - 1, failures = failures + 1
                 WHERE id = (SELECT template_version_id FROM outcomes WHERE run_id=?1)",
                [run_id],
            )
            .map_err(map)?;
            // its late fact's span, with the flip
            let fact = crate::core::telemetry::spans::Fact::Reverted { by: reverted_by };
            super::run_span::record_fact(&tx, run_id.0, &fact, &at).map_err(map)?;
        }
        tx.commit().map_err(map)?;
        Ok(n == 1)
    }

    /// A version's first `limit` outcomes in end order.
    pub fn outcomes_of(&self, version_id: i64, limit: u32) -> Result<Vec<Ended<Key>>> {
        let mut st = self
            .conn
            .prepare(
                "SELECT ended_at, run_id, outcome FROM outcomes
                 WHERE template_version_id=?1 ORDER BY ended_at, run_id LIMIT ?2",
            )
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map(params![version_id, limit], ended)
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.err(e))
    }

    /// A canary's control: the outcomes of `version_id` from runs dispatched at
    /// or after `since` that ended no later than `until` (in outcome order).
    /// The rule is `core::canary::in_control`; SQL only narrows the rows to
    /// those that ended in the window, which the index serves.
    pub fn control_outcomes(
        &self,
        version_id: i64,
        since: &str,
        until: &Key,
    ) -> Result<Vec<Ended<Key>>> {
        let mut st = self
            .conn
            .prepare(
                "SELECT ended_at, run_id, outcome, dispatched_at FROM outcomes
                 WHERE template_version_id=?1 AND ended_at >= ?2 AND ended_at <= ?3
                 ORDER BY ended_at, run_id",
            )
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map(params![version_id, since, until.0], |r| {
                Ok((ended(r)?, r.get::<_, String>(3)?))
            })
            .map_err(|e| self.err(e))?;
        let mut out = vec![];
        for row in rows {
            let (e, dispatched_at) = row.map_err(|e| self.err(e))?;
            if in_control(&dispatched_at, &e.key.0, &e.key, since, until) {
                out.push(e);
            }
        }
        Ok(out)
    }
}
