//! What the pilot figures read of the state file (`core::status::report`;
//! docs/reports.md#afk-report): each run dispatched since a moment, with its
//! arming's (when poll recorded it), PR's and merge's times, turns and their
//! reasons, spend, end reason and whether harvest found its merge reverted.
//! Reads only.

use super::Store;
use crate::core::churn::Churned;
use crate::core::status::leaderboard::BoardFacts;
use crate::core::status::report::RunFacts;
use crate::core::survival::Survived;
use crate::core::zero_touch::ZeroTouch;
use crate::types::RepoName;
use anyhow::Result;
use std::collections::HashMap;
use time::OffsetDateTime;

impl Store {
    /// The runs dispatched at or after `from` (and any later), for
    /// `core::status::report::report`, which applies the window's rule itself. A
    /// row whose repo does not parse (a state file edited by hand) is left
    /// out, as everywhere; a time that does not parse reads as unknown.
    pub fn report_runs(&self, from: OffsetDateTime) -> Result<Vec<RunFacts>> {
        // dispatch times are stored to the microsecond and compare as text:
        // a second's margin keeps `12:00:00.5Z` (before `12:00:00Z` as text)
        let from = crate::clock::ts(from - time::Duration::seconds(1));
        let time = |s: Option<String>| s.as_deref().and_then(crate::clock::parse);
        // each run's recorded corrective turns: (reason, start)
        type Turns = (Vec<String>, Vec<Option<OffsetDateTime>>);
        let mut turns: HashMap<i64, Turns> = HashMap::new();
        {
            let mut st = self
                .conn
                .prepare(
                    "SELECT t.run_id, t.reason, t.started_at FROM turns t JOIN runs r ON r.id = t.run_id
                     WHERE r.created_at >= ?1 ORDER BY t.run_id, t.turn",
                )
                .map_err(|e| self.err(e))?;
            let rows = st
                .query_map([&from], |r| {
                    Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, time(r.get(2)?)))
                })
                .map_err(|e| self.err(e))?;
            for row in rows {
                let (id, reason, start) = row.map_err(|e| self.err(e))?;
                let t = turns.entry(id).or_default();
                t.0.push(reason);
                t.1.push(start);
            }
        }
        let mut st = self
            .conn
            .prepare(
                "SELECT r.id, r.repo, r.state, r.created_at, r.pr_seen_at, r.merged_at, r.ended_at,
                        r.turns, r.spend_usd, r.end_reason, o.reverted_by IS NOT NULL, r.armed_at,
                        r.zero_touch, r.lines_added, r.lines_surviving, r.template_name,
                        r.template_version, f.reverted_sha, f.reverted_at,
                        f.churn_files, f.churn_again, f.churn_by_afk
                 FROM runs r LEFT JOIN outcomes o ON o.run_id = r.id
                   LEFT JOIN run_figures f ON f.run_id = r.id
                 WHERE r.created_at >= ?1 ORDER BY r.id",
            )
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map([&from], |r| {
                let id: i64 = r.get(0)?;
                let repo: String = r.get(1)?;
                if RepoName::parse_any(&repo).is_err() {
                    return Ok(None);
                }
                Ok(Some(RunFacts {
                    repo,
                    state: r.get(2)?,
                    armed_at: time(r.get(11)?),
                    dispatched_at: time(r.get(3)?),
                    pr_at: time(r.get(4)?),
                    merged_at: time(r.get(5)?),
                    ended_at: time(r.get(6)?),
                    turns: r.get::<_, i64>(7)?.max(0) as u32,
                    turn_reasons: std::mem::take(&mut turns.entry(id).or_default().0),
                    spend_usd: r.get(8)?,
                    end_reason: r.get(9)?,
                    reverted: r.get::<_, Option<bool>>(10)?.unwrap_or(false),
                    zero_touch: r
                        .get::<_, Option<String>>(12)?
                        .as_deref()
                        .and_then(ZeroTouch::parse),
                    survival: match (r.get::<_, Option<i64>>(13)?, r.get::<_, Option<i64>>(14)?) {
                        (Some(a), Some(s)) => Some(Survived::of(a.max(0) as u64, s.max(0) as u64)),
                        _ => None,
                    },
                    template: match (
                        r.get::<_, Option<String>>(15)?,
                        r.get::<_, Option<i64>>(16)?,
                    ) {
                        (Some(name), Some(v)) if !name.is_empty() => Some((name, v)),
                        _ => None,
                    },
                    board: BoardFacts {
                        run_id: id,
                        // the figures' own finding, else the canary's watch's
                        // the figures' own finding: a diff that undoes the
                        // merge (the canary's may rest on an author's word)
                        revert: match r.get::<_, Option<String>>(17)? {
                            Some(sha) => Some((sha, time(r.get(18)?))),
                            None => None,
                        },
                        churn: match (
                            r.get::<_, Option<i64>>(19)?,
                            r.get::<_, Option<i64>>(20)?,
                            r.get::<_, Option<i64>>(21)?,
                        ) {
                            (Some(f), Some(a), b) => Some(Churned {
                                files: f.max(0) as u64,
                                changed_again: a.max(0) as u64,
                                by_afk: b.unwrap_or(0).max(0) as u64,
                            }),
                            _ => None,
                        },
                        turn_starts: turns.remove(&id).unwrap_or_default().1,
                    },
                }))
            })
            .map_err(|e| self.err(e))?;
        let rows: Vec<Option<RunFacts>> =
            rows.collect::<Result<_, _>>().map_err(|e| self.err(e))?;
        Ok(rows.into_iter().flatten().collect())
    }
}

#[cfg(test)]
mod tests {
    use crate::Store;
    use crate::core::run_state::RunStatus;
    use crate::runs::{NewRun, Observation};
    use crate::types::{RepoName, RunnerHandle, RunnerKind};
    use time::macros::datetime;

    /// What a run's life writes (claim, start, PR, a turn, spend, merge,
    /// success) reads back as the report's facts.
    #[test]
    fn report_runs_reads_what_a_runs_life_wrote() {
        let dir = std::env::temp_dir().join(format!("afk-report-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let path = dir.join("state.db");
        let t0 = datetime!(2026-05-01 10:00:00.5 UTC);
        let repo = RepoName::parse("acme/api").unwrap();
        let new = NewRun {
            repo: &repo,
            issue: crate::types::IssueNumber(1),
            title: "t",
            url: "u",
            ready_event_id: Some(1),
            armed_at: Some(datetime!(2026-05-01 09:45 UTC)),
            template_name: "implementer",
            template_version_id: None,
            template_version: None,
            template_hash: None,
            runner_kind: RunnerKind::Command,
            branch: "afk/issue-1",
        };
        let id = Store::open(&path).unwrap().at(t0).claim_run(&new).unwrap();
        let s = Store::open(&path).unwrap().at(t0);
        s.mark_started(
            id,
            "/runs/1",
            &RunnerHandle::Process {
                pid: 1,
                start_time: 1,
            },
        )
        .unwrap();
        s.transition(id, RunStatus::Started, RunStatus::Dispatched)
            .unwrap();
        let pr_at = "2026-05-01T10:20:00Z";
        let s = Store::open(&path)
            .unwrap()
            .at(crate::clock::parse(pr_at).unwrap());
        s.observe(
            id,
            &Observation {
                pr: Some((crate::types::PrNumber(2), "https://x/pulls/2")),
                head_sha: Some("abc"),
                fingerprint: "f",
                changed_at: pr_at,
                green_since: None,
                ci: Some("red"),
                seen_at: pr_at,
            },
        )
        .unwrap();
        s.begin_turn(id, "ci-red", "CI red: test").unwrap();
        s.set_spend(id, Some(1.25), "{}").unwrap();
        s.set_merge(id, "sha", "main", "2026-05-01T11:00:00Z")
            .unwrap();
        s.set_zero_touch(id, crate::core::zero_touch::ZeroTouch::Yes)
            .unwrap();
        let mut s = Store::open(&path)
            .unwrap()
            .at(datetime!(2026-05-01 11:05 UTC));
        s.decide_end(id, RunStatus::Succeeding, None, None).unwrap();
        s.finish(id, RunStatus::Succeeded).unwrap();

        let read = Store::read(&path).unwrap();
        // the dispatch's own second still counts, its fraction notwithstanding
        let facts = read.report_runs(datetime!(2026-05-01 10:00 UTC)).unwrap();
        assert_eq!(facts.len(), 1);
        let f = &facts[0];
        assert_eq!(f.repo, "acme/api");
        assert_eq!(f.state, RunStatus::Succeeded);
        assert_eq!(f.armed_at, Some(datetime!(2026-05-01 09:45 UTC)));
        assert_eq!(f.dispatched_at, Some(t0));
        assert_eq!(f.pr_at, Some(datetime!(2026-05-01 10:20 UTC)));
        assert_eq!(f.merged_at, Some(datetime!(2026-05-01 11:00 UTC)));
        assert_eq!(f.zero_touch, Some(crate::core::zero_touch::ZeroTouch::Yes));
        assert_eq!(f.survival, None, "not counted yet: pending");
        assert_eq!(
            f.template, None,
            "a run on the built-in preamble names no version"
        );
        assert_eq!(f.ended_at, Some(datetime!(2026-05-01 11:05 UTC)));
        assert_eq!(f.turns, 2);
        assert_eq!(f.turn_reasons, ["ci-red"]);
        assert_eq!(f.spend_usd, Some(1.25));
        assert!(!f.reverted);
        assert!(
            read.report_runs(datetime!(2026-05-01 10:01 UTC))
                .unwrap()
                .is_empty()
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
