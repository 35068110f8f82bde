//! The runs table: one row per dispatch of an issue, from poll's claim to its
//! end. One row type, [`Run`]; states are [`RunStatus`], stored as their names.

use super::Store;
use super::events::{NewEvent, insert_event};
use crate::core::run_state::RunStatus;
use crate::types::RunnerHandle;
use crate::types::RunnerKind;
pub use crate::types::{IssueNumber, PrNumber, RepoName, RunId};
use anyhow::Result;
use rusqlite::{OptionalExtension, params};
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct Run {
    pub id: RunId,
    pub repo: RepoName,
    pub issue: IssueNumber,
    pub title: String,
    pub url: String,
    pub state: RunStatus,
    pub ready_event_id: Option<i64>,
    pub branch: String,
    pub turns: u32,
    #[serde(skip)]
    pub handle: Option<RunnerHandle>,
    pub run_dir: Option<String>,
    pub pr_number: Option<PrNumber>,
    pub pr_url: Option<String>,
    pub head_sha: Option<String>,
    pub progress_fp: Option<String>,
    pub last_progress_at: Option<String>,
    pub green_since: Option<String>,
    pub checklist_comment_id: Option<i64>,
    pub checklist_text: Option<String>,
    pub escalation_comment_id: Option<i64>,
    pub end_reason: Option<String>,
    pub error: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    pub ended_at: Option<String>,
    pub template_name: Option<String>,
    pub template_version_id: Option<i64>,
    pub template_version: Option<i64>,
    pub runner_kind: RunnerKind,
    /// What the run's agents reported spending; None: nothing yet.
    pub spend_usd: Option<f64>,
    /// The `core::budget::spend::Ledger` the figure comes from (stored JSON).
    #[serde(skip)]
    pub spend_ledger: Option<String>,
    /// Watch's last decision for the run (`wait awaiting-merge`); None
    /// before its first watch tick.
    pub watch_said: Option<String>,
    /// the PR head's CI as watch last saw it (`core::ci::word`): kept after
    /// the run ends, so a merged run shows the CI it merged with
    pub last_ci: Option<String>,
    /// what afk's PR body was last compared with the forge's or written
    /// from (the watch tick's facts: head, turns, spend, the agent's log);
    /// the same facts on a later tick: nothing to look at
    pub pr_body_key: Option<String>,
}

/// A run row whose repo is not `owner/name`: only a state file edited by
/// hand holds one, since every run is claimed for a parsed [`RepoName`]. A
/// tick reports it for that run and goes on with the others.
#[derive(Debug, Clone)]
pub struct Unreadable {
    pub id: RunId,
    /// the stored text, as it is
    pub repo: String,
    pub issue: IssueNumber,
    /// why it is not a repo name
    pub error: String,
}

/// An issue's latest run, escalated (see `Store::latest_escalations`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Escalation {
    pub run: RunId,
    /// afk's escalation comment (0: none recorded)
    pub comment: i64,
}

/// The times of a run's later moments (see `Store::run_times`).
#[derive(Debug, Clone, Default)]
pub struct RunTimes {
    pub pr_seen_at: Option<String>,
    pub outcome_at: Option<String>,
    pub reverted_at: Option<String>,
}

pub(super) const COLS: &str = "id, repo, issue, title, url, state, ready_event_id, branch, turns, runner_handle, \
    runner_pid, runner_start_time, run_dir, pr_number, pr_url, head_sha, progress_fp, last_progress_at, \
    green_since, checklist_comment_id, checklist_text, escalation_comment_id, end_reason, error, created_at, \
    updated_at, ended_at, template_name, template_version_id, template_version, runner_kind, spend_usd, \
    spend_ledger, watch_said, last_ci, pr_body_key";

/// How many columns [`COLS`] names: a query that selects more after them
/// reads its own from this index on.
pub(super) const NCOLS: usize = 36;

pub(super) fn row(r: &rusqlite::Row) -> rusqlite::Result<Run> {
    Ok(Run {
        id: r.get(0)?,
        repo: r.get(1)?,
        issue: r.get(2)?,
        title: r.get(3)?,
        url: r.get(4)?,
        state: r.get(5)?,
        ready_event_id: r.get(6)?,
        branch: r.get(7)?,
        turns: r.get::<_, i64>(8)? as u32,
        handle: RunnerHandle::from_stored(
            r.get::<_, Option<String>>(9)?.as_deref(),
            r.get(10)?,
            r.get(11)?,
        ),
        run_dir: r.get(12)?,
        pr_number: r.get(13)?,
        pr_url: r.get(14)?,
        head_sha: r.get(15)?,
        progress_fp: r.get(16)?,
        last_progress_at: r.get(17)?,
        green_since: r.get(18)?,
        checklist_comment_id: r.get(19)?,
        checklist_text: r.get(20)?,
        escalation_comment_id: r.get(21)?,
        end_reason: r.get(22)?,
        error: r.get(23)?,
        created_at: r.get(24)?,
        updated_at: r.get(25)?,
        ended_at: r.get(26)?,
        template_name: r.get(27)?,
        template_version_id: r.get(28)?,
        template_version: r.get(29)?,
        runner_kind: r.get(30)?,
        spend_usd: r.get(31)?,
        spend_ledger: r.get(32)?,
        watch_said: r.get(33)?,
        last_ci: r.get(34)?,
        pr_body_key: r.get(35)?,
    })
}

/// A row as [`row`] reads it, or as [`Unreadable`] when only its repo is
/// wrong (any other conversion error stays an error).
fn row_or_unreadable(r: &rusqlite::Row) -> rusqlite::Result<Result<Run, Unreadable>> {
    match row(r) {
        Ok(run) => Ok(Ok(run)),
        Err(rusqlite::Error::FromSqlConversionFailure(1, ..)) => {
            let repo: String = r.get(1)?;
            Ok(Err(Unreadable {
                id: r.get(0)?,
                error: RepoName::parse_any(&repo)
                    .err()
                    .map(|e| e.0)
                    .unwrap_or_default(),
                repo,
                issue: r.get(2)?,
            }))
        }
        Err(e) => Err(e),
    }
}

/// A new claim.
pub struct NewRun<'a> {
    pub repo: &'a RepoName,
    pub issue: IssueNumber,
    pub title: &'a str,
    pub url: &'a str,
    pub ready_event_id: Option<i64>,
    /// when that event added the ready label (None: not known)
    pub armed_at: Option<time::OffsetDateTime>,
    pub template_name: &'a str,
    pub template_version_id: Option<i64>,
    pub template_version: Option<i64>,
    pub template_hash: Option<&'a str>,
    pub runner_kind: RunnerKind,
    pub branch: &'a str,
}

/// What watch observed of a run.
pub struct Observation<'a> {
    pub pr: Option<(PrNumber, &'a str)>,
    pub head_sha: Option<&'a str>,
    pub fingerprint: &'a str,
    pub changed_at: &'a str,
    pub green_since: Option<&'a str>,
    /// the PR head's CI (`core::ci::word`); None: no PR
    pub ci: Option<&'a str>,
    /// when this tick looked: the PR's time in the run's timeline is the
    /// first look that saw it (never the progress clock's, which an agent's
    /// early line set long before)
    pub seen_at: &'a str,
}

impl Store {
    fn exec(&self, sql: &str, p: impl rusqlite::Params) -> Result<usize> {
        self.conn.execute(sql, p).map_err(|e| self.err(e))
    }

    /// The claim: a run in state `dispatching`, before any side effect.
    pub fn claim_run(&self, r: &NewRun) -> Result<RunId> {
        let tx = self.conn.unchecked_transaction().map_err(|e| self.err(e))?;
        tx.execute(
            "INSERT INTO runs (repo, issue, title, url, ready_event_id, state, template_name,
              template_version_id, template_version, template_hash, runner_kind, branch,
              created_at, updated_at, armed_at)
             VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?13,?14)",
            params![
                r.repo,
                r.issue,
                r.title,
                r.url,
                r.ready_event_id,
                RunStatus::Dispatching,
                r.template_name,
                r.template_version_id,
                r.template_version,
                r.template_hash,
                r.runner_kind,
                r.branch,
                // the dispatch, to the microsecond: harvest compares it with canary_since
                self.stamp_precise(),
                r.armed_at.map(crate::clock::ts)
            ],
        )
        .map_err(|e| self.err(e))?;
        let id = tx.last_insert_rowid();
        let body = serde_json::json!({"repo": r.repo.as_str(), "issue": r.issue.0,
            "template": r.template_name, "version": r.template_version});
        crate::journal::append(&tx, &self.stamp(), Some(id), "run.claimed", &body)
            .map_err(|e| self.err(e))?;
        tx.commit().map_err(|e| self.err(e))?;
        Ok(RunId(id))
    }

    /// The run's folder, recorded with the claim so a dead tick's agent can be found.
    pub fn set_run_dir(&self, id: RunId, run_dir: &str) -> Result<()> {
        self.exec(
            "UPDATE runs SET run_dir=?2 WHERE id=?1",
            params![id, run_dir],
        )?;
        Ok(())
    }

    /// The agent started: its handle and the state in one write.
    pub fn mark_started(&self, id: RunId, run_dir: &str, handle: &RunnerHandle) -> Result<()> {
        let (pid, start) = handle.pid().unzip();
        let tx = self.conn.unchecked_transaction().map_err(|e| self.err(e))?;
        tx.execute(
            "UPDATE runs SET state=?2, run_dir=?3, runner_handle=?4, runner_pid=?5,
              runner_start_time=?6, turns=MAX(turns, 1), updated_at=?7 WHERE id=?1",
            params![
                id,
                RunStatus::Started,
                run_dir,
                handle.stored(),
                pid,
                start,
                self.stamp()
            ],
        )
        .map_err(|e| self.err(e))?;
        let body = serde_json::json!({"turn": 1, "pid": pid});
        crate::journal::append(&tx, &self.stamp(), Some(id.0), "agent.started", &body)
            .map_err(|e| self.err(e))?;
        tx.commit().map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Move a run from `from` to `to`; false when it was not in `from` any more.
    pub fn transition(&self, id: RunId, from: RunStatus, to: RunStatus) -> Result<bool> {
        Ok(self.exec(
            "UPDATE runs SET state=?3, updated_at=?4 WHERE id=?1 AND state=?2",
            params![id, from, to, self.stamp()],
        )? == 1)
    }

    pub fn mark_failed(&self, id: RunId, error: &str) -> Result<()> {
        let t = self.stamp_precise();
        let tx = self.conn.unchecked_transaction().map_err(|e| self.err(e))?;
        tx.execute(
            "UPDATE runs SET state=?2, error=?3, updated_at=?4, ended_at=?4 WHERE id=?1",
            params![id, RunStatus::Failed, error, t],
        )
        .map_err(|e| self.err(e))?;
        // its run span, with the end (poll makes a failed start's)
        crate::journal::append(
            &tx,
            &self.stamp(),
            Some(id.0),
            "run.ended",
            &serde_json::json!({"state": "failed"}),
        )
        .map_err(|e| self.err(e))?;
        Store::record_run_span(&tx, id.0, "failed", &t).map_err(|e| self.err(e))?;
        tx.commit().map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Runs in any of `states`, oldest first, each as it reads: a row whose
    /// repo does not parse is an [`Unreadable`] in its place, so a tick can
    /// report that run and still do the work of the others.
    pub fn runs_in_each(&self, states: &[RunStatus]) -> Result<Vec<Result<Run, Unreadable>>> {
        let list = states
            .iter()
            .map(|s| format!("'{}'", s.as_str()))
            .collect::<Vec<_>>()
            .join(",");
        let mut st = self
            .conn
            .prepare(&format!(
                "SELECT {COLS} FROM runs WHERE state IN ({list}) ORDER BY id"
            ))
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map([], row_or_unreadable)
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.err(e))
    }

    /// Runs in any of `states`, oldest first; a row whose repo does not parse
    /// is left out (see [`Store::runs_in_each`]).
    pub fn runs_in(&self, states: &[RunStatus]) -> Result<Vec<Run>> {
        Ok(self.runs_in_each(states)?.into_iter().flatten().collect())
    }

    /// Recent runs, newest first, optionally of one repo and in one state.
    pub fn recent_runs(
        &self,
        repo: Option<&RepoName>,
        state: Option<RunStatus>,
        limit: usize,
    ) -> Result<Vec<Run>> {
        let mut st = self
            .conn
            .prepare(&format!(
                "SELECT {COLS} FROM runs WHERE (?1 IS NULL OR repo = ?1) AND (?2 IS NULL OR state = ?2)
                 ORDER BY id DESC LIMIT ?3"
            ))
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map(params![repo, state, limit as i64], row)
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.err(e))
    }

    /// The outcome harvest recorded for a run, and the commit that reverted it.
    /// When a run's PR was first seen, its outcome recorded and its merge
    /// found reverted: the times of `afk runs show`'s timeline.
    pub fn run_times(&self, id: RunId) -> Result<RunTimes> {
        self.conn
            .query_row(
                "SELECT r.pr_seen_at, o.recorded_at, o.reverted_at FROM runs r
                 LEFT JOIN outcomes o ON o.run_id = r.id WHERE r.id = ?1",
                [id],
                |r| {
                    Ok(RunTimes {
                        pr_seen_at: r.get(0)?,
                        outcome_at: r.get(1)?,
                        reverted_at: r.get(2)?,
                    })
                },
            )
            .optional()
            .map(Option::unwrap_or_default)
            .map_err(|e| self.err(e))
    }

    pub fn run_outcome(&self, id: RunId) -> Result<Option<(String, Option<String>)>> {
        self.conn
            .query_row(
                "SELECT outcome, reverted_by FROM outcomes WHERE run_id = ?1",
                [id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(|e| self.err(e))
    }

    /// Runs dispatched in `[from, to)` (RFC 3339 UTC text, as stored), oldest
    /// first; a row whose repo does not parse is left out.
    pub fn runs_created_between(&self, from: &str, to: &str) -> Result<Vec<Run>> {
        self.readable_runs(
            &format!(
                "SELECT {COLS} FROM runs WHERE created_at >= ?1 AND created_at < ?2 ORDER BY id"
            ),
            params![from, to],
        )
    }

    /// The escalated runs of `repo#issue` before run `id`: a re-armed issue's
    /// new run supersedes them, and their checkouts go
    /// (docs/how-it-works.md#the-workspace).
    pub fn escalated_before(
        &self,
        repo: &RepoName,
        issue: IssueNumber,
        id: RunId,
    ) -> Result<Vec<Run>> {
        self.readable_runs(
            &format!(
                "SELECT {COLS} FROM runs WHERE repo = ?1 AND issue = ?2 AND id < ?3 AND state = 'escalated' ORDER BY id"
            ),
            params![repo.as_str(), issue, id],
        )
    }

    /// Runs dispatched on the UTC day `day` that count toward it.
    pub fn runs_of_day(&self, day: time::Date) -> Result<Vec<Run>> {
        let start = day.midnight().assume_utc();
        let end = start + time::Duration::days(1);
        let (from, to) = (crate::clock::ts(start), crate::clock::ts(end));
        let mut runs = self.runs_created_between(&from, &to)?;
        // the day counted by turns: a run dispatched earlier
        // with a turn started that day (a continuation) counts too
        for r in self.runs_with_a_turn_between(&from, &to)? {
            if !runs.iter().any(|x| x.id == r.id) {
                runs.push(r);
            }
        }
        runs.sort_by_key(|r| r.id.0);
        runs.retain(|r| crate::core::budget::spend::counts_toward_day(r.state));
        Ok(runs)
    }

    /// The runs with a corrective or continuation turn started in
    /// `[from, to)`.
    fn runs_with_a_turn_between(&self, from: &str, to: &str) -> Result<Vec<Run>> {
        self.readable_runs(
            &format!(
                "SELECT {COLS} FROM runs WHERE id IN \
                 (SELECT run_id FROM turns WHERE started_at >= ?1 AND started_at < ?2) ORDER BY id"
            ),
            params![from, to],
        )
    }

    /// The runs a `SELECT {COLS} FROM runs ...` query finds for `args`,
    /// in its order; a row whose repo does not parse is left out.
    fn readable_runs(&self, sql: &str, args: impl rusqlite::Params) -> Result<Vec<Run>> {
        let mut st = self.conn.prepare(sql).map_err(|e| self.err(e))?;
        let rows = st
            .query_map(args, row_or_unreadable)
            .map_err(|e| self.err(e))?;
        let rows: Vec<Result<Run, Unreadable>> =
            rows.collect::<Result<_, _>>().map_err(|e| self.err(e))?;
        Ok(rows.into_iter().flatten().collect())
    }

    /// `run`'s entries in the day's book (`core::budget::turn_day::turn_days`): its
    /// spend `spend_usd` split by the UTC day each of its turns started,
    /// its first turn at dispatch, each earlier turn's figure from its
    /// ledger, the rest its last turn's; `upto`: only its turns up to that
    /// one (a turn about to start spent nothing yet). `now` stands in for a
    /// time that does not parse.
    pub fn day_entries<'r>(
        &self,
        run: &'r Run,
        spend_usd: Option<f64>,
        upto: Option<u32>,
        now: time::OffsetDateTime,
    ) -> Result<Vec<crate::core::budget::spend::DayRun<'r>>> {
        use crate::core::budget::turn_day::{TurnSpend, turn_days};
        let dispatched_at = crate::clock::parse(&run.created_at).unwrap_or(now);
        let figures =
            crate::core::budget::spend::Ledger::from_stored(run.spend_ledger.as_deref()).turns;
        let usd_of = |n: u32| figures.iter().find(|f| f.turn == Some(n)).map(|f| f.usd);
        let mut turns = vec![TurnSpend {
            started_at: dispatched_at,
            usd: usd_of(1),
        }];
        for row in self.turns(run.id)? {
            if upto.is_some_and(|upto| row.turn > upto) {
                continue;
            }
            if let Some(started_at) = crate::clock::parse(&row.started_at) {
                turns.push(TurnSpend {
                    started_at,
                    usd: usd_of(row.turn),
                });
            }
        }
        Ok(turn_days(
            run.repo.as_str(),
            dispatched_at,
            spend_usd,
            &turns,
        ))
    }

    /// What a run spent, and the ledger it was read from; a new figure is a
    /// `run.spend` entry of the journal in the same transaction (the run's
    /// metered and reported totals as read, docs/audit.md).
    pub fn set_spend(&self, id: RunId, spend_usd: Option<f64>, ledger: &str) -> Result<()> {
        let tx = self.conn.unchecked_transaction().map_err(|e| self.err(e))?;
        // a write first: the transaction holds the write lock before it
        // reads (a read first could not take it while another tick writes)
        tx.execute("UPDATE runs SET id = id WHERE id=?1", [id])
            .map_err(|e| self.err(e))?;
        let before: Option<Option<f64>> = tx
            .query_row("SELECT spend_usd FROM runs WHERE id=?1", [id], |r| r.get(0))
            .optional()
            .map_err(|e| self.err(e))?;
        tx.execute(
            "UPDATE runs SET spend_usd=?2, spend_ledger=?3 WHERE id=?1",
            params![id, spend_usd, ledger],
        )
        .map_err(|e| self.err(e))?;
        if let Some(before) = before
            && before != spend_usd
        {
            let read = crate::core::run_spend::RunSpend::from_stored(Some(ledger));
            let body = serde_json::json!({"usd": spend_usd, "metered_usd": read.metered_usd(),
                "reported_usd": read.reported()});
            crate::journal::append(&tx, &self.stamp(), Some(id.0), "run.spend", &body)
                .map_err(|e| self.err(e))?;
        }
        tx.commit().map_err(|e| self.err(e))?;
        Ok(())
    }

    /// All that every run ever reported spending.
    pub fn spend_total(&self) -> Result<f64> {
        self.conn
            .query_row("SELECT COALESCE(SUM(spend_usd), 0) FROM runs", [], |r| {
                r.get(0)
            })
            .map_err(|e| self.err(e))
    }

    pub fn runs_in_flight(&self) -> Result<Vec<Run>> {
        self.runs_in(&RunStatus::in_flight_set())
    }

    pub fn run(&self, id: RunId) -> Result<Option<Run>> {
        self.conn
            .query_row(&format!("SELECT {COLS} FROM runs WHERE id=?1"), [id], row)
            .optional()
            .map_err(|e| self.err(e))
    }

    /// Every arming (repo, issue, ready-label event) already handled: any run
    /// for it other than a failed start. Loaded once per tick; a row whose repo
    /// does not parse names no repo afk asks about, so it is left out.
    pub fn handled_armings(
        &self,
    ) -> Result<std::collections::HashSet<(RepoName, IssueNumber, i64)>> {
        let mut st = self
            .conn
            .prepare(
                "SELECT DISTINCT repo, issue, ready_event_id FROM runs
                 WHERE ready_event_id IS NOT NULL AND state != 'failed'",
            )
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map([], |r| {
                Ok((r.get::<_, String>(0)?, r.get(1)?, r.get::<_, i64>(2)?))
            })
            .map_err(|e| self.err(e))?;
        let rows: Vec<(String, IssueNumber, i64)> =
            rows.collect::<Result<_, _>>().map_err(|e| self.err(e))?;
        Ok(rows
            .into_iter()
            .filter_map(|(repo, n, ev)| Some((RepoName::parse_any(&repo).ok()?, n, ev)))
            .collect())
    }

    /// For every issue whose latest run was escalated: that run and afk's
    /// escalation comment id (0 when none was recorded). A re-armed issue's
    /// prompt carries what trusted people said after it, as afk first read
    /// it (kept under that run: `comments_read`). A row whose repo does not
    /// parse is left out.
    pub fn latest_escalations(
        &self,
    ) -> Result<std::collections::HashMap<(RepoName, IssueNumber), Escalation>> {
        let mut st = self
            .conn
            .prepare(
                "SELECT r.repo, r.issue, COALESCE(r.escalation_comment_id, 0), r.id FROM runs r
                 WHERE r.state = 'escalated' AND r.id = (SELECT MAX(id) FROM runs x
                   WHERE x.repo = r.repo AND x.issue = r.issue AND x.state != 'failed')",
            )
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, IssueNumber>(1)?,
                    Escalation {
                        comment: r.get(2)?,
                        run: r.get(3)?,
                    },
                ))
            })
            .map_err(|e| self.err(e))?;
        let rows: Vec<(String, IssueNumber, Escalation)> =
            rows.collect::<Result<_, _>>().map_err(|e| self.err(e))?;
        Ok(rows
            .into_iter()
            .filter_map(|(repo, n, e)| Some(((RepoName::parse_any(&repo).ok()?, n), e)))
            .collect())
    }

    /// What watch observed: the PR (re-checked every tick, so a pinned PR that
    /// is no longer the run's is dropped), its head, the progress fingerprint
    /// and when it last changed, and since when the PR has been green.
    pub fn observe(&self, id: RunId, o: &Observation) -> Result<()> {
        self.exec(
            "UPDATE runs SET pr_number=?2, pr_url=?3, head_sha=?4, progress_fp=?5,
              last_progress_at=?6, green_since=?7,
              last_ci=CASE WHEN ?8 IS NULL THEN last_ci ELSE ?8 END,
              pr_seen_at=CASE WHEN ?2 IS NULL THEN pr_seen_at ELSE COALESCE(pr_seen_at, ?9) END
             WHERE id=?1",
            params![
                id,
                o.pr.map(|p| p.0),
                o.pr.map(|p| p.1),
                o.head_sha,
                o.fingerprint,
                o.changed_at,
                o.green_since,
                o.ci,
                o.seen_at
            ],
        )?;
        Ok(())
    }

    pub fn set_checklist(&self, id: RunId, comment_id: i64, text: &str) -> Result<()> {
        self.exec(
            "UPDATE runs SET checklist_comment_id=?2, checklist_text=?3 WHERE id=?1",
            params![id, comment_id, text],
        )?;
        Ok(())
    }

    /// What afk's PR body was last compared or written from (`Run::pr_body_key`).
    pub fn set_pr_body_key(&self, id: RunId, key: &str) -> Result<()> {
        self.exec(
            "UPDATE runs SET pr_body_key=?2 WHERE id=?1",
            params![id, key],
        )?;
        Ok(())
    }

    /// Keep watch's decision for the run (`afk status` shows it; watch calls
    /// this only when the decision changed).
    pub fn set_watch_said(&self, id: RunId, said: &str) -> Result<()> {
        self.exec(
            "UPDATE runs SET watch_said=?2 WHERE id=?1",
            params![id, said],
        )?;
        Ok(())
    }

    pub fn set_escalation_comment(&self, id: RunId, comment_id: i64) -> Result<()> {
        self.exec(
            "UPDATE runs SET escalation_comment_id=?2 WHERE id=?1",
            params![id, comment_id],
        )?;
        Ok(())
    }

    pub fn set_handle(&self, id: RunId, handle: &RunnerHandle) -> Result<()> {
        let (pid, start) = handle.pid().unzip();
        self.exec(
            "UPDATE runs SET runner_pid=?2, runner_start_time=?3, runner_handle=?4, updated_at=?5 WHERE id=?1",
            params![id, pid, start, handle.stored(), self.stamp()],
        )?;
        Ok(())
    }

    /// Decide an end state: a followed run (`started` or `dispatched`) moves to
    /// `to` with its reason, and its event (if any) enters the outbox, in one
    /// transaction: the event exists exactly once however often this is tried.
    pub fn decide_end(
        &mut self,
        id: RunId,
        to: RunStatus,
        reason: Option<&str>,
        event: Option<NewEvent>,
    ) -> Result<()> {
        self.decide_end_with(id, to, reason, event, &[])
    }

    /// [`Store::decide_end`], and the run's telemetry `spans` (its run span)
    /// enter the telemetry outbox in the same transaction: the end and its
    /// spans are recorded together or not at all.
    pub fn decide_end_with(
        &mut self,
        id: RunId,
        to: RunStatus,
        reason: Option<&str>,
        event: Option<NewEvent>,
        spans: &[afk_model::telemetry::Span],
    ) -> Result<()> {
        let at = self.stamp();
        let path = self.path.clone();
        let map = |e: rusqlite::Error| anyhow::Error::new(super::describe(&path, &e));
        let tx = self.immediate()?;
        let n = tx
            .execute(
                "UPDATE runs SET state=?2, end_reason=?3, updated_at=?4 WHERE id=?1 AND state IN (?5, ?6)",
                params![id, to, reason, at.clone(), RunStatus::Started, RunStatus::Dispatched],
            )
            .map_err(map)?;
        if n == 1
            && let Some(e) = event
        {
            insert_event(&tx, &e, &at).map_err(map)?;
        }
        if n == 1 {
            for span in spans {
                super::outbox::outbox_put(&tx, span, &at).map_err(map)?;
            }
        }
        tx.commit().map_err(map)?;
        Ok(())
    }

    /// The end state's forge writes are done.
    pub fn finish(&self, id: RunId, to: RunStatus) -> Result<()> {
        // the end, to the microsecond: harvest orders outcomes by it
        let t = self.stamp_precise();
        let tx = self.conn.unchecked_transaction().map_err(|e| self.err(e))?;
        tx.execute(
            "UPDATE runs SET state=?2, updated_at=?3, ended_at=?3 WHERE id=?1",
            params![id, to, t],
        )
        .map_err(|e| self.err(e))?;
        // the run span, in the end's transaction (the telemetry outbox)
        let end = match to {
            RunStatus::Succeeded => "succeeded",
            RunStatus::Escalated => "escalated",
            RunStatus::Abandoned => "abandoned",
            _ => "failed",
        };
        crate::journal::append(
            &tx,
            &self.stamp(),
            Some(id.0),
            "run.ended",
            &serde_json::json!({"state": end}),
        )
        .map_err(|e| self.err(e))?;
        Store::record_run_span(&tx, id.0, end, &t).map_err(|e| self.err(e))?;
        tx.commit().map_err(|e| self.err(e))?;
        Ok(())
    }
}

/// A run as the spend rules read it; `now` stands in for a time that does not parse.
pub fn day_run(r: &Run, now: time::OffsetDateTime) -> crate::core::budget::spend::DayRun<'_> {
    crate::core::budget::spend::DayRun {
        repo: r.repo.as_str(),
        dispatched_at: crate::clock::parse(&r.created_at).unwrap_or(now),
        spend_usd: r.spend_usd,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_query_reads_its_own_columns_after_the_runs_columns() {
        assert_eq!(super::COLS.split(',').count(), super::NCOLS);
    }
}
