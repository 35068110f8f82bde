//! The human summary of a watch tick: the headline (runs, errors,
//! notifications), the table of actions, each run's notes, and what a dry run
//! would have written.

use super::ActionItem;
use crate::output::table;
use crate::tick::{self, ErrorItem};

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
                format!("{}#{}", a.repo, a.issue),
                a.run_id.to_string(),
                a.action.clone(),
                a.reason.clone().unwrap_or_default(),
                a.spend_usd.map_or("-".into(), crate::core::spend::usd),
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
            s.push_str(&format!("{}#{} run {}: {n}\n", a.repo, a.issue, a.run_id));
        }
    }
    s.push_str(&tick::would_write(writes));
    s
}
