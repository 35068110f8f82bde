//! The human summary of a watch tick: the headline (runs, errors,
//! notifications), the table of actions, each run's notes, and what a dry run
//! would have written.

use crate::output::table;
use crate::tick::{self, ErrorItem};
use crate::types::{IssueNumber, RepoName};
use serde::Serialize;

/// One run's line of the watch report: what the tick decided for it, and why.
#[derive(Serialize, Clone, Debug)]
pub struct ActionItem {
    pub repo: RepoName,
    pub issue: IssueNumber,
    /// a tracker's issue: its key (`PLAT-12`), as the run's branch carries it
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    pub run_id: crate::types::RunId,
    pub action: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// What the run's agents reported spending so far; absent: nothing yet.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub spend_usd: Option<f64>,
    /// the decision's why in words (`CI pending on 2 of 3 contexts (lint, test)`)
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// what the tick could not do for the run and went on without (a
    /// comment the forge refused even shortened)
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

pub(super) fn human(
    tense: crate::edges::Tense,
    runs: usize,
    actions: &[ActionItem],
    errors: &[ErrorItem],
    d: crate::notify::Delivery,
    writes: &[String],
) -> String {
    let mut s = format!(
        "watch{}: {}, {}{}\n",
        tense.mark(),
        crate::core::plural(runs, "run", "runs"),
        crate::core::plural(errors.len(), "error", "errors"),
        if d.sent + d.failed > 0 {
            format!(", notifications sent {} failed {}", d.sent, d.failed)
        } else {
            String::new()
        }
    );
    let rows: Vec<Vec<String>> = actions
        .iter()
        .map(|a| {
            vec![
                crate::core::prompt::place(a.repo.as_str(), a.issue, a.key.as_deref()),
                a.run_id.to_string(),
                a.action.clone(),
                a.reason.clone().unwrap_or_default(),
                a.spend_usd
                    .map_or("-".into(), crate::core::budget::spend::usd),
            ]
        })
        .collect();
    if !rows.is_empty() {
        s.push_str(&table(
            &["ISSUE", "RUN", "ACTION", "REASON", "SPEND"],
            &rows,
        ));
    }
    for a in actions {
        for n in &a.notes {
            let at = crate::core::prompt::place(a.repo.as_str(), a.issue, a.key.as_deref());
            s.push_str(&format!("{at} run {}: {n}\n", a.run_id));
        }
    }
    s.push_str(&tick::would_write(writes));
    s
}
