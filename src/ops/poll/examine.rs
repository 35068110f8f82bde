//! One allowlisted repo of a poll tick: list its ready issues, gate the repo,
//! and gather each candidate's facts lazily (only for issues that could still
//! win) for `core::dispatch` to decide on.

use super::facts::Lookup;
pub use super::facts::{Escalated, Handled};
use super::report::Skipped;
use crate::core::answers::Said;
use crate::core::dispatch::{self, ReadyIssue, Reason};
use crate::core::explain;
use crate::forge::Issue;
use crate::tick::{ErrorItem, Tick};
use crate::types::{IssueNumber, RepoName};
use std::collections::{BTreeSet, HashMap};

/// A repo's winner with what dispatch needs.
#[derive(Clone, Debug)]
pub struct Winner {
    pub repo: RepoName,
    pub issue: Issue,
    pub ready_event_id: i64,
    /// when that event added the ready label, as the forge dates it
    pub armed_at: Option<time::OffsetDateTime>,
    /// What trusted people said since afk's last escalation on this issue.
    pub answers: Vec<Said>,
    pub answers_left_out: usize,
}

#[derive(Default)]
pub struct RepoOutcome {
    pub winner: Option<(Winner, ReadyIssue)>,
    pub skipped: Vec<Skipped>,
    pub errors: Vec<ErrorItem>,
}

/// What the state file knows of a repo before its issues are read.
#[derive(Debug, Clone, Copy)]
pub struct Known {
    pub frozen: bool,
    /// a run of afk's is in flight there
    pub busy: bool,
    /// a `[budget]` day limit (all repos', or this repo's) is reached
    pub over_budget: bool,
}

pub fn examine_repo(
    t: &Tick,
    handled: &Handled,
    escalated: &Escalated,
    repo: &RepoName,
    known: Known,
) -> RepoOutcome {
    let mut out = RepoOutcome::default();
    if let Some(issues) = open_for_dispatch(t, repo, known, &mut out) {
        let lookup = Lookup::new(t, handled, repo);
        pick(lookup, escalated, &issues, &mut out);
    }
    out
}

fn ready_of(cfg: &crate::config::Config, issues: &[Issue]) -> Vec<ReadyIssue> {
    issues
        .iter()
        .map(|i| ReadyIssue {
            number: i.number,
            priority: cfg.priority_of(i.labels.iter().map(|l| l.name.as_str())),
        })
        .collect()
}

/// Skips with their why.
pub(super) fn push_skips(
    out: &mut RepoOutcome,
    repo: &RepoName,
    skipped: Vec<(IssueNumber, Reason)>,
    why: impl Fn(IssueNumber, Reason) -> Option<String>,
) {
    for (n, reason) in skipped {
        out.skipped.push(Skipped {
            repo: Some(repo.clone()),
            issue: n,
            key: None,
            reason,
            detail: why(n, reason),
        });
    }
}

/// The repo's ready issues when it may take a run now. A frozen or locked
/// repo skips them all (with the why); a failed list, or a missing
/// in-progress label on a forge that does not create it, is an error.
fn open_for_dispatch(
    t: &Tick,
    repo: &RepoName,
    Known {
        frozen,
        busy,
        over_budget,
    }: Known,
    out: &mut RepoOutcome,
) -> Option<Vec<Issue>> {
    let cfg = t.config();
    let label = &cfg.poll.in_progress_label;
    let fail = |out: &mut RepoOutcome, e: &anyhow::Error| {
        out.errors.push(ErrorItem::from_err(repo, None, e))
    };
    let issues = match t
        .forge()
        .and_then(|f| f.issues_with_label(repo, &cfg.poll.ready_label))
    {
        Ok(v) => without_status_issue(t.config(), repo, v, out),
        // beside a tracker the ready list is the tracker's: not read,
        // nothing of it is dispatched (docs/trackers.md#rate-limits-and-outages)
        Err(e) if cfg.tracker.is_some() => {
            let item = ErrorItem::from_err(repo, None, &e)
                .reason(crate::tick::ErrorReason::TrackerUnavailable);
            out.errors.push(item);
            return None;
        }
        Err(e) => {
            fail(out, &e);
            return None;
        }
    };
    if issues.is_empty() {
        return None;
    }
    let mut in_progress = issues.iter().any(|i| i.has_label(label));
    if !busy && !in_progress && !frozen && !over_budget {
        match t.forge().and_then(|f| f.issues_with_label(repo, label)) {
            Ok(v) => in_progress = !v.is_empty(),
            Err(e) => {
                fail(out, &e);
                return None;
            }
        }
    }
    let locked = dispatch::repo_locked(busy, in_progress);
    let facts = dispatch::RepoFacts {
        allowlisted: true,
        frozen,
        over_budget,
        locked,
    };
    if let Some(reason) = dispatch::repo_gate(facts) {
        let why = match reason {
            Reason::RepoFrozen => explain::frozen(repo),
            Reason::Budget => {
                "a [budget] day limit is reached (the report's budget lines say which)".to_string()
            }
            _ => explain::locked(busy, label),
        };
        let skipped = dispatch::skip_all(&ready_of(t.config(), &issues), reason).skipped;
        // the issue that is itself the run in flight is said so, not as
        // waiting behind one
        let flying: Vec<IssueNumber> = issues
            .iter()
            .filter(|i| i.has_label(label))
            .map(|i| i.number)
            .collect();
        push_skips(out, repo, skipped, |n, reason| match reason {
            Reason::RepoLocked if flying.contains(&n) => Some(explain::in_flight(label)),
            _ => Some(why.clone()),
        });
        return None;
    }
    // The label afk will add must exist before an agent is started for it,
    // unless the forge creates a missing label when one is added (GitHub).
    let labels = t.forge().and_then(|f| match f.adds_missing_labels() {
        true => Ok(None),
        false => f.repo_labels(repo).map(Some),
    });
    match labels {
        Ok(Some(labels)) if !labels.iter().any(|l| &l.name == label) => {
            out.errors.push(
                ErrorItem::msg(
                    repo,
                    None,
                    format!(
                        "label \"{label}\" (poll.in_progress_label) does not exist in {repo}; nothing dispatched here"
                    ),
                )
                .hint("create it: afk init --create-labels"),
            );
            None
        }
        Ok(_) => Some(issues),
        Err(e) => {
            fail(out, &e);
            None
        }
    }
}

/// The repo's winner and why every other ready issue was skipped: facts
/// gathered lazily in priority order, `core::dispatch` deciding.
fn pick(mut lookup: Lookup, escalated: &Escalated, issues: &[Issue], out: &mut RepoOutcome) {
    let repo = lookup.repo;
    let by_number: HashMap<IssueNumber, &Issue> = issues.iter().map(|i| (i.number, i)).collect();
    let mut armed: HashMap<IssueNumber, (i64, Option<time::OffsetDateTime>)> = HashMap::new();
    let mut failed: BTreeSet<IssueNumber> = BTreeSet::new();
    let pick = dispatch::pick_in_repo(ready_of(lookup.t.config(), issues), |ri| {
        let issue = by_number[&ri.number];
        match lookup.facts(issue) {
            Ok(Some((facts, event_id, at))) => {
                armed.insert(issue.number, (event_id, at));
                dispatch::eligibility(&facts)
            }
            // nobody can be shown to have armed it
            Ok(None) => Err(Reason::Untrusted),
            Err(e) => {
                lookup
                    .errors
                    .push(ErrorItem::from_err(repo, Some(issue.number), &e));
                failed.insert(issue.number);
                // an issue we could not examine is neither dispatched nor reported as skipped
                Err(Reason::Untrusted)
            }
        }
    });
    let heard = match &pick.winner {
        Some(w) => lookup.heard(escalated, w.number, &mut failed),
        None => (vec![], 0),
    };
    out.errors.append(&mut lookup.errors);
    // named as the reports name it: a tracker's issue by its key
    let first = pick.winner.as_ref().map(|w| {
        let key = super::report::key_of(lookup.t, repo, w.number);
        crate::core::prompt::place(repo.as_str(), w.number, key.as_deref())
    });
    let skipped = pick
        .skipped
        .into_iter()
        .filter(|(n, _)| !failed.contains(n))
        .collect();
    push_skips(out, repo, skipped, |n, r| match (r, &first) {
        (Reason::LowerPriority, Some(w)) => Some(explain::lower_priority(w)),
        _ => lookup.why.get(&n).cloned(),
    });
    if let Some(w) = pick.winner.filter(|w| !failed.contains(&w.number)) {
        out.winner = Some((
            Winner {
                repo: repo.clone(),
                issue: by_number[&w.number].clone(),
                ready_event_id: armed[&w.number].0,
                armed_at: armed[&w.number].1,
                answers: heard.0,
                answers_left_out: heard.1,
            },
            w,
        ));
    }
}

/// The ready issues but the status issue (`status_issue`,
/// docs/configuration.md), which is afk's own page, never work: armed, it is
/// skipped and said so, and its body (which anyone who can edit it wrote) never
/// reaches a prompt.
fn without_status_issue(
    cfg: &crate::config::Config,
    repo: &RepoName,
    issues: Vec<crate::forge::Issue>,
    out: &mut RepoOutcome,
) -> Vec<crate::forge::Issue> {
    let Some(page) = cfg.status_issue().filter(|s| &s.repo == repo) else {
        return issues;
    };
    let (own, rest): (Vec<_>, Vec<_>) = issues.into_iter().partition(|i| i.number == page.number);
    // beside a tracker every listed issue is the tracker's: one whose
    // number is the status issue's cannot be told from that forge issue
    let why = match cfg.tracker {
        None => {
            "the status issue (status_issue) is afk's own page; it is never dispatched".to_string()
        }
        Some(_) => format!(
            "this tracker issue's number is the forge's status issue's (status_issue = {}#{}), \
             and afk cannot tell the two apart: it is never dispatched while status_issue names that number",
            page.repo, page.number
        ),
    };
    if !own.is_empty() {
        push_skips(
            out,
            repo,
            vec![(page.number, Reason::NotAllowlisted)],
            |_, _| Some(why.clone()),
        );
    }
    rest
}
