//! The harvest report (the `--json` shape of docs/reports.md#afk-harvest) and
//! its human summary.

use crate::core::canary::{CheckResult, Checkpoint, Reason};
use crate::output::table;
use crate::tick::ErrorItem;
use crate::types::RunId;
use serde::Serialize;

#[derive(Serialize, Clone, Debug)]
pub struct OutcomeItem {
    pub run_id: RunId,
    pub template: String,
    pub version: Option<i64>,
    pub outcome: String,
}

#[derive(Serialize, Clone, Debug)]
pub struct RevertItem {
    pub run_id: RunId,
    pub reverted_by: String,
}

/// A merged run's line survival, counted this tick.
#[derive(Serialize, Clone, Debug)]
pub struct SurvivalItem {
    pub run_id: RunId,
    pub repo: String,
    pub lines_added: u64,
    pub lines_surviving: u64,
}

/// What this tick found of a merged run for the leaderboard figures.
#[derive(Serialize, Clone, Debug)]
pub struct FigureItem {
    pub run_id: RunId,
    pub repo: String,
    /// the commit that reverted its merge, found now
    pub reverted_by: Option<String>,
    /// when that commit landed
    pub reverted_at: Option<String>,
    /// its 7-day churn, counted now
    pub churn: Option<crate::core::churn::Churned>,
}

#[derive(Serialize, Clone, Debug)]
pub struct CheckpointItem {
    pub template: String,
    pub version: i64,
    #[serde(flatten)]
    pub checkpoint: Checkpoint,
}

#[derive(Serialize, Clone, Debug)]
pub struct DecisionItem {
    pub template: String,
    pub version: i64,
    /// `rolled_back`, `auto_promoted` or `rejected`
    pub decision: CheckResult,
    pub reason: Option<Reason>,
}

#[derive(Serialize, Clone, Debug)]
pub struct EventItem {
    pub event: String,
    pub template: String,
    pub version: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub text: String,
}

/// A live canary that was not decided this tick: for the human summary.
#[derive(Clone, Debug)]
pub struct Live {
    pub template: String,
    pub version: i64,
    pub outcomes: usize,
    pub next: Option<u32>,
}

/// The harvest report (`--json`).
#[derive(Serialize, Debug, Default)]
pub struct Report {
    #[serde(flatten)]
    pub head: crate::tick::Head,
    pub outcomes: Vec<OutcomeItem>,
    pub reverted: Vec<RevertItem>,
    /// the merged runs whose line survival was counted (their window ended)
    pub survival: Vec<SurvivalItem>,
    /// the merged runs whose revert was found or 7-day churn counted
    pub figures: Vec<FigureItem>,
    pub checkpoints: Vec<CheckpointItem>,
    pub decisions: Vec<DecisionItem>,
    pub events: Vec<EventItem>,
    pub errors: Vec<ErrorItem>,
    /// ended runs served by the built-in preamble: no version, so no outcome
    #[serde(skip_serializing_if = "is_zero")]
    pub builtin_runs: usize,
    /// what the operator should know about them (`core::outcome::builtin_note`)
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// forge requests made (for the metrics file; not part of the report)
    #[serde(skip)]
    pub requests: usize,
}

/// `5 of 6 lines survive`, or `no counted line`.
fn survived_text(added: u64, surviving: u64) -> String {
    match added {
        0 => "no counted line".into(),
        _ => format!(
            "{surviving} of {} survive",
            crate::core::plural(added as usize, "line", "lines")
        ),
    }
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// A short summary: the counts, then one row per checkpoint or decision
/// (template, version, canary s/f, control s/f, P(worse), P(better), result),
/// the live canaries still running, the events and the errors.
pub fn human(r: &Report, live: &[Live], notified: crate::notify::Delivery) -> String {
    let tense = r.head.tense();
    let mut s = format!(
        "harvest{}: {} {}, {} reverted, {}, {}, errors {}{}\n",
        tense.mark(),
        crate::core::plural(r.outcomes.len(), "outcome", "outcomes"),
        tense.pick("recorded", "to record"),
        r.reverted.len(),
        crate::core::plural(r.checkpoints.len(), "checkpoint", "checkpoints"),
        crate::core::plural(r.decisions.len(), "decision", "decisions"),
        r.errors.len(),
        if notified.sent + notified.failed > 0 {
            format!(
                ", notifications sent {} failed {}",
                notified.sent, notified.failed
            )
        } else {
            String::new()
        }
    );
    if let Some(n) = &r.note {
        s.push_str(&format!("harvest: {n}\n"));
    }
    for v in &r.survival {
        s.push_str(&format!(
            "line survival of run {} ({}): {}\n",
            v.run_id,
            v.repo,
            survived_text(v.lines_added, v.lines_surviving)
        ));
    }
    for f in &r.figures {
        if let (Some(sha), Some(at)) = (&f.reverted_by, &f.reverted_at) {
            s.push_str(&format!(
                "run {} ({}): its merge was reverted by {sha} at {at}\n",
                f.run_id, f.repo
            ));
        }
        if let Some(c) = f.churn {
            s.push_str(&format!(
                "7-day churn of run {} ({}): {} of {} changed again\n",
                f.run_id,
                f.repo,
                c.changed_again,
                crate::core::plural(c.files as usize, "file", "files")
            ));
        }
    }
    let mut rows: Vec<Vec<String>> = r
        .checkpoints
        .iter()
        .map(|c| {
            let mut row = vec![c.template.clone(), c.version.to_string()];
            row.extend(crate::core::canary::checkpoint_cells(&c.checkpoint));
            row
        })
        .collect();
    // a decision without a checkpoint: the early-failure breaker
    for d in r.decisions.iter().filter(|d| {
        !r.checkpoints.iter().any(|c| {
            c.template == d.template && c.version == d.version && c.checkpoint.result == d.decision
        })
    }) {
        rows.push(vec![
            d.template.clone(),
            d.version.to_string(),
            "-".into(),
            "-".into(),
            "-".into(),
            "-".into(),
            "-".into(),
            format!(
                "{}{}",
                d.decision,
                d.reason.map(|x| format!(" ({x})")).unwrap_or_default()
            ),
        ]);
    }
    if !rows.is_empty() {
        let mut headings = vec!["TEMPLATE", "VERSION"];
        headings.extend(crate::core::canary::CHECKPOINT_HEADINGS);
        s.push_str(&table(&headings, &rows));
    }
    for l in live {
        s.push_str(&format!(
            "{}@{} is the live canary: {}, next checkpoint at {}\n",
            l.template,
            l.version,
            crate::core::plural(l.outcomes, "outcome", "outcomes"),
            l.next.map_or("-".into(), |n| n.to_string())
        ));
    }
    for e in &r.events {
        s.push_str(&format!(
            "{}event: {} {}\n",
            tense.pick("", "would emit "),
            e.event,
            e.text
        ));
    }
    s
}
