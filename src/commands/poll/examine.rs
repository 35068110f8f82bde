//! One allowlisted repo of a poll tick: list its ready issues, gate the repo,
//! and gather each candidate's facts lazily (only for issues that could still
//! win) for `core::dispatch` to decide on.

use super::Skipped;
use crate::core::answers::{self, Said};
use crate::core::dispatch::{self, Blocker, IssueFacts, ReadyIssue, Reason, Trust};
use crate::core::explain;
use crate::forge::{Failure, ForgeError, Issue, State};
use crate::tick::{ErrorItem, Tick};
use crate::types::{IssueNumber, Permission, RepoName};
use anyhow::Result;
use std::collections::{BTreeSet, HashMap, HashSet};

pub type Handled = HashSet<(RepoName, IssueNumber, i64)>;
/// (repo, issue) → afk's escalation comment of the issue's latest run, when it was escalated
pub type Escalated = HashMap<(RepoName, IssueNumber), i64>;

/// A repo's winner with what dispatch needs.
#[derive(Clone, Debug)]
pub struct Winner {
    pub repo: RepoName,
    pub issue: Issue,
    pub ready_event_id: i64,
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
        let lookup = Lookup {
            t,
            handled,
            repo,
            perms: HashMap::new(),
            errors: vec![],
            why: HashMap::new(),
        };
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
            repo: repo.clone(),
            issue: n,
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
    let issues = match t.forge.issues_with_label(repo, &cfg.poll.ready_label) {
        Ok(v) => super::without_status_issue(t.config(), repo, v, out),
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
        match t.forge.issues_with_label(repo, label) {
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
        push_skips(out, repo, skipped, |_, _| Some(why.clone()));
        return None;
    }
    // The label afk will add must exist before an agent is started for it,
    // unless the forge creates a missing label when one is added (GitHub).
    let labels = match t.forge.adds_missing_labels() {
        true => Ok(None),
        false => t.forge.repo_labels(repo).map(Some),
    };
    match labels {
        Ok(Some(labels)) if !labels.iter().any(|l| &l.name == label) => {
            out.errors.push(ErrorItem::msg(
                repo,
                None,
                format!(
                    "label \"{label}\" (poll.in_progress_label) does not exist in {repo}: create it (afk init --create-labels); nothing dispatched here"
                ),
            ));
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
    let mut armed: HashMap<IssueNumber, i64> = HashMap::new();
    let mut failed: BTreeSet<IssueNumber> = BTreeSet::new();
    let pick = dispatch::pick_in_repo(ready_of(lookup.t.config(), issues), |ri| {
        let issue = by_number[&ri.number];
        match lookup.facts(issue) {
            Ok(Some((facts, event_id))) => {
                armed.insert(issue.number, event_id);
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
    let first = pick.winner.as_ref().map(|w| format!("{repo}#{}", w.number));
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
                ready_event_id: armed[&w.number],
                answers: heard.0,
                answers_left_out: heard.1,
            },
            w,
        ));
    }
}

/// The facts of one repo's issues, with the permission answers of this tick.
struct Lookup<'a> {
    t: &'a Tick<'a>,
    handled: &'a Handled,
    repo: &'a RepoName,
    /// login → the permission (Err: the forge refused the lookup)
    perms: HashMap<String, Result<Option<Permission>, ()>>,
    errors: Vec<ErrorItem>,
    /// issue → why it was skipped, in words (`explain`)
    why: HashMap<IssueNumber, String>,
}

impl Lookup<'_> {
    fn permission(
        &mut self,
        login: &str,
        issue: IssueNumber,
    ) -> Result<Result<Option<Permission>, ()>> {
        let cfg = self.t.config();
        if !dispatch::needs_lookup(login, &cfg.poll.trusted_users) {
            return Ok(Ok(None));
        }
        if let Some(p) = self.perms.get(login) {
            return Ok(p.clone());
        }
        let p = match self.t.forge.permission(self.repo, login) {
            Ok(p) => Ok(Some(p)),
            Err(e) if ForgeError::kind_of(&e) == Some(Failure::Forbidden) => {
                self.errors.push(ErrorItem::msg(
                    self.repo,
                    Some(issue),
                    format!(
                        "{e}; afk's account must be an admin of {} to check who armed issues (treated as untrusted)",
                        self.repo
                    ),
                ));
                Err(())
            }
            Err(e) => return Err(e),
        };
        self.perms.insert(login.to_string(), p.clone());
        Ok(p)
    }

    /// What trusted people said since afk's last escalation on the winner
    /// (nothing when it was never escalated); a failed read fails the issue.
    fn heard(
        &mut self,
        escalated: &Escalated,
        issue: IssueNumber,
        failed: &mut BTreeSet<IssueNumber>,
    ) -> (Vec<Said>, usize) {
        let Some(after) = escalated.get(&(self.repo.clone(), issue)) else {
            return (vec![], 0);
        };
        match self.answers(issue, *after) {
            Ok(a) => a,
            Err(e) => {
                self.errors
                    .push(ErrorItem::from_err(self.repo, Some(issue), &e));
                failed.insert(issue);
                (vec![], 0)
            }
        }
    }

    /// What trusted people said on the issue since afk's escalation comment.
    fn answers(&mut self, issue: IssueNumber, after: i64) -> Result<(Vec<Said>, usize)> {
        let me = self.t.forge.me()?.login;
        let comments: Vec<Said> = self
            .t
            .forge
            .comments(self.repo, issue)?
            .into_iter()
            .map(|c| Said {
                id: c.id,
                author: c.author().to_string(),
                body: c.body,
            })
            .collect();
        let cfg = self.t.config();
        let mut failure = None;
        let out = answers::since_escalation(&comments, after, &me, |who| {
            match self.permission(who, issue) {
                Ok(p) => {
                    dispatch::trust(
                        who,
                        &cfg.poll.trusted_users,
                        cfg.poll.trusted_permission,
                        crate::types::Permission::access_of(&p),
                    ) == Trust::Trusted
                }
                Err(e) => {
                    failure.get_or_insert(e);
                    false
                }
            }
        });
        match failure {
            Some(e) => Err(e),
            None => Ok(out),
        }
    }

    /// The facts about one issue, or None when no ready-label event is visible.
    fn facts(&mut self, issue: &Issue) -> Result<Option<(IssueFacts, i64)>> {
        let cfg = self.t.config();
        let repo = self.repo;
        let repo_matches = issue
            .repository
            .as_ref()
            .is_none_or(|r| r.full_name.eq_ignore_ascii_case(repo));
        let mut facts = IssueFacts {
            repo_matches,
            already_handled: false,
            trusted: false,
            edited_after_arming: false,
            blocked: false,
        };
        let label = cfg.poll.ready_label.as_str();
        let n = issue.number;
        if !repo_matches {
            let name = issue.repository.as_ref().map(|r| r.full_name.as_str());
            self.why
                .insert(n, explain::not_allowlisted(name.unwrap_or("")));
            return Ok(Some((facts, 0)));
        }
        let timeline = self.t.forge.timeline(repo, n)?;
        let Some(armed) = dispatch::arming(&timeline, label) else {
            let why =
                explain::untrusted(None, label, cfg.poll.trusted_permission.as_str(), Ok(None));
            self.why.insert(n, why);
            return Ok(None);
        };
        facts.already_handled = self.handled.contains(&(repo.clone(), n, armed.event_id));
        if facts.already_handled {
            self.why
                .insert(n, explain::already_handled(&armed.login, label));
            return Ok(Some((facts, armed.event_id)));
        }
        let perm = self.permission(&armed.login, issue.number)?;
        let trust = dispatch::trust(
            &armed.login,
            &cfg.poll.trusted_users,
            cfg.poll.trusted_permission,
            crate::types::Permission::access_of(&perm),
        );
        facts.trusted = trust == Trust::Trusted;
        if !facts.trusted {
            let perm = perm.as_ref().map(Option::as_ref).map_err(|_| ());
            let needed = cfg.poll.trusted_permission.as_str();
            let why = explain::untrusted(Some(&armed.login), label, needed, perm);
            self.why.insert(n, why);
            return Ok(Some((facts, armed.event_id)));
        }
        let updated = issue.updated_at.as_deref().and_then(crate::clock::parse);
        facts.edited_after_arming = dispatch::edited_after_arming(&timeline, &armed, updated);
        if facts.edited_after_arming {
            self.why
                .insert(n, explain::edited_after_arming(&armed.login, label));
            return Ok(Some((facts, armed.event_id)));
        }
        if let Some(by) = self.blocked(issue)? {
            facts.blocked = true;
            self.why.insert(n, by);
        }
        Ok(Some((facts, armed.event_id)))
    }

    /// Blocked by an open dependency, or by a `Blocked by` line naming an open
    /// issue. Cross-repo blockers are looked up only inside the allowlist: afk's
    /// token never asks about a repo the operator did not name, and a blocker
    /// it cannot check keeps the issue blocked (safety first; see the README).
    /// Returns the first blocker, in words.
    fn blocked(&mut self, issue: &Issue) -> Result<Option<String>> {
        let repo = self.repo;
        let seen = |s: State| match s {
            State::Open => Blocker::Open,
            State::Closed => Blocker::Closed,
            State::Unknown => Blocker::Unknown,
        };
        let deps = self.t.forge.dependencies(repo, issue.number)?;
        if let Some(d) = deps.iter().find(|d| dispatch::blocks(seen(d.state))) {
            let other = d.repository.as_ref().map(|r| r.full_name.as_str());
            let name = format!("{}#{}", other.unwrap_or(repo), d.number);
            return Ok(Some(explain::blocked_by(&name, seen(d.state))));
        }
        let allow = &self.t.config().poll.allowlist;
        for (other, n) in dispatch::body_blockers(issue.body.as_deref().unwrap_or("")) {
            let r = other.as_ref().unwrap_or(repo);
            let b = if !allow.iter().any(|a| a.eq_ignore_ascii_case(r)) {
                Blocker::OutOfSight
            } else {
                match self.t.forge.issue(r, n) {
                    Ok(i) => seen(i.state),
                    Err(e) if ForgeError::kind_of(&e) == Some(Failure::NotFound) => {
                        Blocker::Missing
                    }
                    Err(e) => return Err(e),
                }
            };
            if dispatch::blocks(b) {
                return Ok(Some(explain::blocked_by(&format!("{r}#{n}"), b)));
            }
        }
        Ok(None)
    }
}
