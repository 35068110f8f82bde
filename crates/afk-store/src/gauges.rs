//! What the metrics file reports of the state file: counts across the runs,
//! events and template tables, read in one place so no SQL lives outside the
//! store.

use super::Store;
use crate::core::run_state::RunStatus;
use anyhow::Result;

/// The state file's gauges at one moment.
#[derive(Debug, Default, PartialEq)]
pub struct Gauges {
    /// runs per state, every in-flight state listed (0 when none)
    pub in_flight: Vec<(RunStatus, i64)>,
    /// escalated (or escalating) runs per end reason, all time, by reason
    pub escalations: Vec<(String, i64)>,
    /// events not yet delivered to every channel
    pub outbox_backlog: i64,
    /// live canaries: (template, version), by template
    pub live_canaries: Vec<(String, i64)>,
    /// runs in flight paused at a limit, counted apart from
    /// `in_flight`'s states
    pub paused: i64,
    /// pauses at a budget limit, all time, by limit (the `run.paused`
    /// events' reason; the counter `afk_pauses_total{limit}`)
    pub pauses: Vec<(String, i64)>,
}

impl Store {
    pub fn gauges(&self) -> Result<Gauges> {
        let pairs = |sql: &str| -> Result<Vec<(String, i64)>> {
            let mut st = self.conn.prepare(sql).map_err(|e| self.err(e))?;
            let rows = st
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
                .map_err(|e| self.err(e))?;
            rows.collect::<Result<_, _>>().map_err(|e| self.err(e))
        };
        let by_state = pairs("SELECT state, count(*) FROM runs GROUP BY state")?;
        let in_flight: Vec<(RunStatus, i64)> = RunStatus::in_flight_set()
            .into_iter()
            .map(|s| {
                let n = by_state.iter().find(|(k, _)| k == s.as_str());
                (s, n.map_or(0, |c| c.1))
            })
            .collect();
        let decided: Vec<String> = [RunStatus::Escalated, RunStatus::Escalating]
            .iter()
            .map(|s| format!("'{}'", s.as_str()))
            .collect();
        let escalations = pairs(&format!(
            "SELECT COALESCE(end_reason, ''), count(*) FROM runs WHERE state IN ({}) GROUP BY 1 ORDER BY 1",
            decided.join(", ")
        ))?;
        let outbox_backlog = self
            .conn
            .query_row(
                "SELECT count(*) FROM events WHERE sent_at IS NULL",
                [],
                |r| r.get(0),
            )
            .map_err(|e| self.err(e))?;
        let live_canaries = pairs(
            "SELECT name, version FROM template_versions WHERE status = 'canary' ORDER BY name",
        )?;
        let flying: Vec<String> = RunStatus::in_flight_set()
            .into_iter()
            .map(|s| format!("'{}'", s.as_str()))
            .collect();
        // a paused run is counted as `paused`, not under its status
        let paused_by = pairs(&format!(
            "SELECT runs.state, count(*) FROM talk JOIN runs ON runs.id = talk.run_id
             WHERE talk.paused_since IS NOT NULL AND runs.state IN ({}) GROUP BY runs.state",
            flying.join(", ")
        ))?;
        let paused = paused_by.iter().map(|(_, n)| n).sum();
        // one `run.paused` event per pause, its reason the limit
        let pauses = pairs(&format!(
            "SELECT reason, count(*) FROM events WHERE kind = '{}' AND reason IS NOT NULL
             GROUP BY reason ORDER BY reason",
            crate::core::kinds::EventKind::RunPaused.as_str()
        ))?;
        let in_flight = in_flight
            .into_iter()
            .map(|(s, n): (RunStatus, i64)| {
                let p = paused_by.iter().find(|(k, _)| k == s.as_str());
                (s, n - p.map_or(0, |c| c.1))
            })
            .collect();
        Ok(Gauges {
            paused,
            pauses,
            in_flight,
            escalations,
            outbox_backlog,
            live_canaries,
        })
    }
}
