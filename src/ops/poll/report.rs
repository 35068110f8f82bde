//! What a poll tick reports: its `--json` shape and its human text.

use crate::core::dispatch::Reason;
use crate::core::run_state::RunStatus;
use crate::output::table;
use crate::tick::{self, ErrorItem};
use crate::types::{IssueNumber, RepoName};
use serde::Serialize;

#[derive(Serialize, Clone, Debug)]
pub struct Dispatched {
    pub repo: RepoName,
    pub issue: IssueNumber,
    /// a tracker's issue: its key (`PLAT-12`)
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    pub run_id: Option<crate::types::RunId>,
    pub template: String,
    pub template_version: Option<i64>,
    /// a Jira issue's: how many nodes of its description afk did not know
    /// and wrote as `[<type>]` with their text, so a schema change shows
    #[serde(skip_serializing_if = "Option::is_none")]
    pub adf_unknown_nodes: Option<usize>,
}

#[derive(Serialize, Clone, Debug)]
pub struct Skipped {
    /// None: a tracker's issue the map places in no repository, or in
    /// several (`unmapped`, `ambiguous-mapping`)
    pub repo: Option<RepoName>,
    pub issue: IssueNumber,
    /// a tracker's issue: its key (`PLAT-12`)
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    pub reason: Reason,
    /// the why in words (`labelled by mallory (read < write)`)
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

impl Skipped {
    /// `acme/api#3`, a tracker's issue by its key (`acme/api PLAT-1`), or
    /// one the map places in no one repository by its key alone.
    pub fn place(&self) -> String {
        match (&self.repo, &self.key) {
            (Some(r), key) => crate::core::prompt::place(r.as_str(), self.issue, key.as_deref()),
            (None, Some(k)) => format!("tracker issue {k}"),
            (None, None) => format!("tracker issue {}", self.issue),
        }
    }
}

#[derive(Serialize, Clone, Debug)]
pub struct Reconciled {
    pub repo: RepoName,
    pub issue: IssueNumber,
    pub run_id: crate::types::RunId,
}

/// The poll report (`--json`).
#[derive(Serialize, Debug, Default)]
pub struct Report {
    #[serde(flatten)]
    pub head: tick::Head,
    pub reconciled: Vec<Reconciled>,
    pub dispatched: Vec<Dispatched>,
    pub skipped: Vec<Skipped>,
    /// The `[budget]` day limits reached: why a `budget` skip happened, with the figures.
    pub budget: Vec<crate::core::budget::spend::Stop>,
    pub errors: Vec<ErrorItem>,
    pub requests: usize,
    /// of those, the ones that cost rate limit (GitHub: all but 304s)
    pub costly_requests: usize,
    /// what a dry run would have written (forge writes, agents started)
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub writes: Vec<String>,
}

tick::tick_report!(Report, dispatches: dispatched);

pub(super) fn human(
    tense: crate::edges::Tense,
    reconciled: &[Reconciled],
    dispatched: &[Dispatched],
    skipped: &[Skipped],
    errors: &[ErrorItem],
) -> String {
    // a started, labelled run is in the `dispatched` state: say it by that name
    let verb = tense.pick(RunStatus::Dispatched.as_str(), "would dispatch");
    let mut s = format!(
        "poll{}: {verb} {}, skipped {}, errors {}{}\n",
        tense.mark(),
        dispatched.len(),
        skipped.len(),
        errors.len(),
        if reconciled.is_empty() {
            String::new()
        } else {
            format!(", reconciled {}", reconciled.len())
        }
    );
    let mut rows: Vec<Vec<String>> = vec![];
    for r in reconciled {
        rows.push(vec![
            format!("{}#{}", r.repo, r.issue),
            "labelled (reconciled)".into(),
            format!("run {}", r.run_id),
        ]);
    }
    for d in dispatched {
        rows.push(vec![
            crate::core::prompt::place(d.repo.as_str(), d.issue, d.key.as_deref()),
            verb.into(),
            match (d.run_id, d.template_version) {
                (Some(id), Some(v)) => format!("run {id}, {}@{v}", d.template),
                (Some(id), None) => format!("run {id}, {} (built-in)", d.template),
                (None, _) => String::new(),
            } + &match d.adf_unknown_nodes {
                Some(n) if n > 0 => format!(
                    "; {} its description has that afk does not know, written as [type]",
                    crate::core::plural(n, "node", "nodes")
                ),
                _ => String::new(),
            },
        ]);
    }
    for k in skipped {
        rows.push(vec![
            k.place(),
            "skipped".into(),
            match &k.detail {
                Some(d) => format!("{} — {d}", k.reason),
                None => k.reason.to_string(),
            },
        ]);
    }
    // an issue whose start failed is in the table too (its error line is
    // on stderr as well), so the table alone tells every armed issue's fate
    for e in errors {
        if let Some(n) = e.issue {
            rows.push(vec![
                format!("{}#{n}", e.repo),
                "failed".into(),
                crate::core::sanitize::one_line(&e.message, 160),
            ]);
        }
    }
    if !rows.is_empty() {
        s.push_str(&table(&["ISSUE", "WHAT", "DETAIL"], &rows));
    }
    s
}

/// A tracker issue's key, as the reports name it (None: no tracker, a
/// forge's issue, or one the tracker cannot name).
pub(super) fn key_of(
    t: &crate::tick::Tick,
    repo: &RepoName,
    issue: crate::types::IssueNumber,
) -> Option<String> {
    t.config().tracker.as_ref()?;
    let found = t.forge().and_then(|f| f.tracker_ref(repo, issue));
    found.ok().flatten().map(|(key, _)| key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_start_has_its_row_beside_the_dispatched_and_skipped() {
        let errors = [
            ErrorItem::msg(
                "acme/api",
                Some(IssueNumber(7)),
                "agent start failed: \"claude\" not found\non PATH".into(),
            ),
            ErrorItem::msg("", None, "forge: cannot connect".into()),
        ];
        let h = human(crate::edges::Tense::Did, &[], &[], &[], &errors);
        assert!(
            h.starts_with("poll: dispatched 0, skipped 0, errors 2\n"),
            "{h}"
        );
        let row = h
            .lines()
            .find(|l| l.starts_with("acme/api#7"))
            .unwrap_or_default();
        assert!(
            row.contains("failed")
                && row.contains("agent start failed: \"claude\" not found on PATH"),
            "{h}"
        );
        assert_eq!(h.lines().count(), 3, "a heading, the header, one row: {h}");
    }
}
