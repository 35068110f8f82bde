// One file: dispatch's rules (~420 lines) and the table tests that pin them, kept beside them as everywhere in core.
//! The dispatch policy (docs/how-it-works.md#afk-poll-step-by-step): which ready
//! issue of a repo wins its one slot, why every other one was skipped, and the
//! global capacity cut.
//!
//! Facts that need the forge (who armed the issue, is it blocked) are supplied by
//! the caller through a closure, called lazily in priority order, so a tick asks
//! the forge only about the issues that could still win.

use crate::types::{Access, IssueNumber, RepoName};
use serde::Serialize;
use std::fmt;

/// Why an issue was not dispatched; `Display` is the string in the JSON report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Reason {
    NotAllowlisted,
    Untrusted,
    Blocked,
    RepoLocked,
    RepoFrozen,
    LowerPriority,
    Capacity,
    AlreadyHandled,
    /// A `budget.day_usd` or `budget.repo_day_usd` limit is reached.
    Budget,
    EditedAfterArming,
    /// A tracker's issue no `[[tracker.map]]` entry sends to a repository.
    Unmapped,
    /// A tracker's issue several `[[tracker.map]]` entries match: afk picks
    /// none.
    AmbiguousMapping,
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Reason::NotAllowlisted => "not-allowlisted",
            Reason::Untrusted => "untrusted",
            Reason::Blocked => "blocked",
            Reason::RepoLocked => "repo-locked",
            Reason::RepoFrozen => "repo-frozen",
            Reason::LowerPriority => "lower-priority",
            Reason::Capacity => "capacity",
            Reason::AlreadyHandled => "already-handled",
            Reason::Budget => "budget",
            Reason::EditedAfterArming => "edited-after-arming",
            Reason::Unmapped => "unmapped",
            Reason::AmbiguousMapping => "ambiguous-mapping",
        })
    }
}

/// A ready issue as the policy sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadyIssue {
    pub number: IssueNumber,
    pub priority: i64,
}

/// Highest priority first; ties go to the lower issue number.
pub fn order(issues: &mut [ReadyIssue]) {
    issues.sort_by(|a, b| b.priority.cmp(&a.priority).then(a.number.cmp(&b.number)));
}

/// What closes a whole repo to dispatch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RepoFacts {
    pub allowlisted: bool,
    pub frozen: bool,
    /// A day limit (all repos', or this repo's) is reached.
    pub over_budget: bool,
    pub locked: bool,
}

/// Whether a whole repo is closed to dispatch this tick, the longest-lasting
/// reason first: frozen needs a person, a budget reopens the next UTC day, a
/// lock clears when the run ends.
pub fn repo_gate(r: RepoFacts) -> Option<Reason> {
    if !r.allowlisted {
        Some(Reason::NotAllowlisted)
    } else if r.frozen {
        Some(Reason::RepoFrozen)
    } else if r.over_budget {
        Some(Reason::Budget)
    } else if r.locked {
        Some(Reason::RepoLocked)
    } else {
        None
    }
}

/// What is known about one arming of an issue, in the order the checks run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssueFacts {
    /// The forge's full name of the repo matches the allowlist entry.
    pub repo_matches: bool,
    /// afk already has a run for this ready-label event (not a failed start).
    pub already_handled: bool,
    /// The person who added the ready label is trusted.
    pub trusted: bool,
    /// The title was changed after the arming: a trusted person must re-arm.
    pub edited_after_arming: bool,
    /// An open issue blocks this one.
    pub blocked: bool,
}

/// The first rule an issue breaks, if any.
pub fn eligibility(f: &IssueFacts) -> Result<(), Reason> {
    if !f.repo_matches {
        Err(Reason::NotAllowlisted)
    } else if f.already_handled {
        Err(Reason::AlreadyHandled)
    } else if !f.trusted {
        Err(Reason::Untrusted)
    } else if f.edited_after_arming {
        Err(Reason::EditedAfterArming)
    } else if f.blocked {
        Err(Reason::Blocked)
    } else {
        Ok(())
    }
}

/// The outcome for one repo.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RepoPick {
    pub winner: Option<ReadyIssue>,
    pub skipped: Vec<(IssueNumber, Reason)>,
}

/// Walk the issues in priority order; the first eligible one wins the repo's slot,
/// every later one is `lower-priority` without being examined. `check` returns
/// the issue's eligibility (it may do I/O in the caller; the policy does none).
pub fn pick_in_repo<F>(mut issues: Vec<ReadyIssue>, mut check: F) -> RepoPick
where
    F: FnMut(&ReadyIssue) -> Result<(), Reason>,
{
    order(&mut issues);
    let mut pick = RepoPick::default();
    for issue in issues {
        if pick.winner.is_some() {
            pick.skipped.push((issue.number, Reason::LowerPriority));
            continue;
        }
        match check(&issue) {
            Ok(()) => pick.winner = Some(issue),
            Err(r) => pick.skipped.push((issue.number, r)),
        }
    }
    pick
}

/// All issues of a gated repo share its reason.
pub fn skip_all(issues: &[ReadyIssue], reason: Reason) -> RepoPick {
    let mut issues = issues.to_vec();
    order(&mut issues);
    RepoPick {
        winner: None,
        skipped: issues.into_iter().map(|i| (i.number, reason)).collect(),
    }
}

/// Winners taken, and winners cut for capacity.
pub type Cut<T> = (Vec<(T, ReadyIssue)>, Vec<(T, ReadyIssue)>);

/// The global cut: at most `max_in_flight` runs in flight and `max_per_tick`
/// dispatches. Winners are taken by priority, then in the order given (the
/// allowlist order); the rest are skipped with `capacity`.
pub fn apply_capacity<T: Clone>(
    mut winners: Vec<(T, ReadyIssue)>,
    in_flight: usize,
    max_in_flight: usize,
    max_per_tick: usize,
) -> Cut<T> {
    // stable sort keeps the allowlist order among equal priorities
    winners.sort_by_key(|w| std::cmp::Reverse(w.1.priority));
    let room = max_in_flight.saturating_sub(in_flight).min(max_per_tick);
    let rest = if winners.len() > room {
        winners.split_off(room)
    } else {
        vec![]
    };
    (winners, rest)
}

/// Whether the global cut can take no winner of a tick over `repos`
/// repositories (a winner at most each) whatever their priorities: then
/// each winner is dispatched as soon as its repository is examined, while
/// the others are still read, and the tick lasts as long as its reads, not
/// its reads and then its dispatches. Else every repository is examined
/// first and [`apply_capacity`] keeps the best.
pub fn cut_cannot_bind(
    repos: usize,
    in_flight: usize,
    max_in_flight: usize,
    max_per_tick: usize,
) -> bool {
    repos <= max_in_flight.saturating_sub(in_flight).min(max_per_tick)
}

/// Issue references named on `Blocked by` / `Depends on` lines of a body:
/// `(Some(owner/repo), N)` or `(None, N)` for the same repo.
pub fn body_blockers(body: &str) -> Vec<(Option<RepoName>, IssueNumber)> {
    let mut out = vec![];
    for line in body.lines() {
        if let Some(rest) = crate::blocked_by::rest(line) {
            out.extend(refs_in(rest));
        }
    }
    out
}

fn refs_in(s: &str) -> Vec<(Option<RepoName>, IssueNumber)> {
    let mut out = vec![];
    let bytes: Vec<char> = s.chars().collect();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == '#' {
            let digits: String = bytes[i + 1..]
                .iter()
                .take_while(|c| c.is_ascii_digit())
                .collect();
            if let Ok(n) = digits.parse::<IssueNumber>() {
                // walk back over an owner/repo prefix
                let mut j = i;
                while j > 0
                    && (bytes[j - 1].is_ascii_alphanumeric()
                        || matches!(bytes[j - 1], '-' | '_' | '.' | '/'))
                {
                    j -= 1;
                }
                let prefix: String = bytes[j..i].iter().collect();
                out.push((RepoName::parse(&prefix).ok(), n));
            }
            i += 1 + digits.len();
        } else {
            i += 1;
        }
    }
    out
}

/// What poll learned of one issue named as a blocker (a dependency or a
/// `Blocked by` line).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Blocker {
    /// in a repository outside the allowlist: never asked about
    OutOfSight,
    Open,
    Closed,
    /// the forge has no such issue
    Missing,
    /// the forge answered a state that is neither open nor closed
    Unknown,
}

/// Whether a blocker keeps the issue from being dispatched: while it is open,
/// and whenever afk cannot tell (out of the allowlist, an unknown state);
/// an issue that does not exist blocks nothing. Safety first: see the README.
pub fn blocks(b: Blocker) -> bool {
    !matches!(b, Blocker::Closed | Blocker::Missing)
}

/// A repo is locked (docs/how-it-works.md#afk-poll-step-by-step) while any of
/// its open issues carries the in-progress label or afk has a run in flight
/// there.
pub fn repo_locked(run_in_flight: bool, any_issue_in_progress: bool) -> bool {
    run_in_flight || any_issue_in_progress
}

/// What becomes of a claim a dead tick left `dispatching`, once the next tick
/// holds the poll lock (so no live tick owns it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeadClaim<R> {
    /// The agent recorded its own start (the record): keep the run; the
    /// label follows.
    Started(R),
    /// No record of a start: the run failed and the issue is eligible again.
    /// `warn_thread`: an HTTP runner may have started a thread afk cannot see
    /// (the thread API has no call to find or stop it), so the operator is
    /// told.
    NeverStarted { warn_thread: bool },
}

/// The dead-claim rule: only the agent's own start record proves a start;
/// nothing else (a label, a PR, elapsed time) does. `runner`: the kind that
/// took the claim; only an HTTP runner may have started work afk can neither
/// find nor stop without a start record (a thread: a Job is found by its
/// name, a process by its record).
pub fn dead_claim<R>(start_record: Option<R>, runner: crate::types::RunnerKind) -> DeadClaim<R> {
    match start_record {
        Some(r) => DeadClaim::Started(r),
        None => DeadClaim::NeverStarted {
            warn_thread: runner == crate::types::RunnerKind::Http,
        },
    }
}

/// The event that armed an issue: the latest addition of the ready label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arming {
    pub event_id: i64,
    pub login: String,
    /// when the label was added, as the forge dates the event (None: the
    /// forge gave no date, or one that does not parse)
    pub at: Option<time::OffsetDateTime>,
}

/// The latest timeline event that added `label`, who made it and when:
/// the last in timeline order (the order every adapter gives, oldest
/// first), never the largest id, which on a tracker is a number made of a
/// random UUID (Linear's history ids).
pub fn arming(events: &[crate::types::TimelineEvent], label: &str) -> Option<Arming> {
    use crate::types::TimelineKind as EventKind;
    events
        .iter()
        .rfind(|e| e.kind == EventKind::LabelAdded && e.label.as_deref() == Some(label))
        .map(|e| Arming {
            event_id: e.id,
            login: e.actor.clone(),
            at: e.created_at.as_deref().and_then(crate::types::stamp::parse),
        })
}

/// Whether the issue changed after it was armed, so what the trusted person
/// armed is not what would reach the agent: a title change recorded after the
/// arming (timeline order), or an `updated_at` later than every timeline
/// event by more than `SLACK` — a change the timeline does not record, which
/// on both forges is a body edit. Comment edits may also move `updated_at`:
/// then the issue waits for a re-arm too (the safe side). See the README.
pub fn edited_after_arming(
    events: &[crate::types::TimelineEvent],
    armed: &Arming,
    issue_updated_at: Option<time::OffsetDateTime>,
) -> bool {
    use crate::types::TimelineKind as EventKind;
    const SLACK: time::Duration = time::Duration::seconds(2);
    let Some(pos) = events.iter().position(|e| e.id == armed.event_id) else {
        return false;
    };
    if events[pos + 1..]
        .iter()
        .any(|e| e.kind == EventKind::Renamed)
    {
        return true;
    }
    let latest = events
        .iter()
        .filter_map(|e| e.created_at.as_deref())
        .filter_map(|t| {
            time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).ok()
        })
        .max();
    // checked: both dates are the forge's text (the end of time plus the
    // slack is past the end of time, never a panic)
    matches!((issue_updated_at, latest), (Some(u), Some(l)) if l.checked_add(SLACK).is_some_and(|e| u > e))
}

/// Whether the person who armed an issue may: named, by permission, or not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trust {
    Trusted,
    Untrusted,
    /// The forge refused the permission lookup (Gitea: afk's account is not an
    /// admin of the repo): untrusted, and reported so the operator fixes it.
    CouldNotCheck,
}

/// Whether the permission endpoint must be asked about `login` at all: named
/// users and bots (never trusted unless named) need no lookup.
pub fn needs_lookup(login: &str, trusted_users: &[String]) -> bool {
    !login.is_empty()
        && !login.ends_with("[bot]")
        && !trusted_users.iter().any(|u| u.eq_ignore_ascii_case(login))
}

/// The one trust rule: `permission` is the lookup's answer — `Ok(None)` when
/// no lookup was needed, `Err(())` when the forge refused it. `never`: the
/// accounts no rule trusts, whatever their permission or `trusted_users`
/// says — afk's own and the agent's (`runner.agent_login`): an agent that
/// was talked into it must not arm issues, answer for a person or command
/// a run (docs/security.md#who-is-trusted).
pub fn trust(
    login: &str,
    never: &[&str],
    trusted_users: &[String],
    needed: Access,
    permission: Result<Option<Access>, ()>,
) -> Trust {
    if never
        .iter()
        .any(|n| !n.is_empty() && n.eq_ignore_ascii_case(login))
    {
        return Trust::Untrusted;
    }
    match permission {
        Err(()) => Trust::CouldNotCheck,
        Ok(p) if is_trusted(login, trusted_users, needed, p) => Trust::Trusted,
        Ok(_) => Trust::Untrusted,
    }
}

/// Whether `login` is trusted to arm an issue: named in `trusted_users`, or (not a
/// bot) holding at least `needed` permission. `permission` is None when the forge
/// refused the lookup: that is untrusted.
pub fn is_trusted(
    login: &str,
    trusted_users: &[String],
    needed: Access,
    permission: Option<Access>,
) -> bool {
    if trusted_users.iter().any(|u| u.eq_ignore_ascii_case(login)) {
        return true;
    }
    if login.ends_with("[bot]") {
        return false;
    }
    match permission {
        Some(p) => p >= needed && p > Access::None,
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use IssueNumber as N;

    fn ri(number: u64, priority: i64) -> ReadyIssue {
        ReadyIssue {
            number: N(number),
            priority,
        }
    }
    fn ok_facts() -> IssueFacts {
        IssueFacts {
            repo_matches: true,
            already_handled: false,
            trusted: true,
            edited_after_arming: false,
            blocked: false,
        }
    }

    #[test]
    fn afks_own_account_and_the_agents_are_never_trusted_by_any_rule() {
        let users = vec!["agent-bot".to_string(), "alice".to_string()];
        let cases = [
            ("alice", Ok(None), Trust::Trusted),
            ("agent-bot", Ok(None), Trust::Untrusted),
            ("AGENT-BOT", Ok(Some(Access::Admin)), Trust::Untrusted),
            ("afk-bot", Ok(Some(Access::Admin)), Trust::Untrusted),
            ("bob", Ok(Some(Access::Write)), Trust::Trusted),
        ];
        for (login, permission, want) in cases {
            let got = trust(
                login,
                &["afk-bot", "agent-bot"],
                &users,
                Access::Write,
                permission,
            );
            assert_eq!(got, want, "{login}");
        }
        // an unset agent_login ("") never matches
        assert_eq!(
            trust("", &[""], &[], Access::Write, Ok(Some(Access::Write))),
            Trust::Trusted
        );
    }

    #[test]
    fn highest_priority_wins_the_slot() {
        let p = pick_in_repo(vec![ri(1, 1), ri(2, 9), ri(3, 5)], |_| Ok(()));
        assert_eq!(p.winner, Some(ri(2, 9)));
        assert_eq!(
            p.skipped,
            vec![(N(3), Reason::LowerPriority), (N(1), Reason::LowerPriority)]
        );
    }

    #[test]
    fn tie_goes_to_lower_issue_number() {
        let p = pick_in_repo(vec![ri(8, 2), ri(3, 2), ri(5, 2)], |_| Ok(()));
        assert_eq!(p.winner.unwrap().number, N(3));
        assert_eq!(
            p.skipped,
            vec![(N(5), Reason::LowerPriority), (N(8), Reason::LowerPriority)]
        );
    }

    #[test]
    fn ineligible_top_issue_passes_the_slot_down() {
        let p = pick_in_repo(vec![ri(1, 9), ri(2, 1)], |i| {
            if i.number == N(1) {
                Err(Reason::Untrusted)
            } else {
                Ok(())
            }
        });
        assert_eq!(p.winner.unwrap().number, N(2));
        assert_eq!(p.skipped, vec![(N(1), Reason::Untrusted)]);
    }

    #[test]
    fn issues_below_the_winner_are_not_examined() {
        let mut seen = vec![];
        let _ = pick_in_repo(vec![ri(1, 1), ri(2, 2), ri(3, 3)], |i| {
            seen.push(i.number);
            Ok(())
        });
        assert_eq!(seen, vec![N(3)]);
    }

    #[test]
    fn no_eligible_issue_means_no_winner() {
        let p = pick_in_repo(vec![ri(1, 0), ri(2, 0)], |_| Err(Reason::Blocked));
        assert_eq!(p.winner, None);
        assert_eq!(p.skipped.len(), 2);
    }

    #[test]
    fn eligibility_rules_in_order() {
        assert_eq!(eligibility(&ok_facts()), Ok(()));
        let f = |m: fn(&mut IssueFacts)| {
            let mut x = ok_facts();
            m(&mut x);
            eligibility(&x)
        };
        assert_eq!(f(|x| x.repo_matches = false), Err(Reason::NotAllowlisted));
        assert_eq!(f(|x| x.already_handled = true), Err(Reason::AlreadyHandled));
        assert_eq!(f(|x| x.trusted = false), Err(Reason::Untrusted));
        assert_eq!(f(|x| x.blocked = true), Err(Reason::Blocked));
        // a renamed repo is never touched, whatever else holds
        assert_eq!(
            f(|x| {
                x.repo_matches = false;
                x.trusted = false
            }),
            Err(Reason::NotAllowlisted)
        );
    }

    #[test]
    fn a_dead_claim_counts_as_started_only_when_the_agent_recorded_its_start() {
        // the second column: the runner that took the claim; only an HTTP
        // runner's work is unseen
        use crate::types::RunnerKind;
        let (command, http) = (RunnerKind::Command, RunnerKind::Http);
        let cases = [
            (Some(41), command, DeadClaim::Started(41)),
            (Some(41), http, DeadClaim::Started(41)),
            (
                None,
                command,
                DeadClaim::NeverStarted { warn_thread: false },
            ),
            (None, http, DeadClaim::NeverStarted { warn_thread: true }),
        ];
        for (record, runner, want) in cases {
            assert_eq!(dead_claim(record, runner), want, "{record:?} {runner}");
        }
        let job = dead_claim::<i32>(None, RunnerKind::Kubernetes);
        assert_eq!(job, DeadClaim::NeverStarted { warn_thread: false });
    }

    #[test]
    fn a_blocker_blocks_while_open_or_out_of_sight() {
        let cases = [
            (Blocker::Open, true),
            (Blocker::OutOfSight, true),
            (Blocker::Unknown, true),
            (Blocker::Closed, false),
            (Blocker::Missing, false),
        ];
        for (b, want) in cases {
            assert_eq!(blocks(b), want, "{b:?}");
        }
    }

    #[test]
    fn repo_gates_name_the_longest_lasting_reason() {
        let f = |allowlisted, frozen, over_budget, locked| {
            repo_gate(RepoFacts {
                allowlisted,
                frozen,
                over_budget,
                locked,
            })
        };
        let cases = [
            (f(true, false, false, false), None),
            (f(true, false, false, true), Some(Reason::RepoLocked)),
            (f(true, true, false, false), Some(Reason::RepoFrozen)),
            (f(true, true, true, true), Some(Reason::RepoFrozen)),
            (f(true, false, true, false), Some(Reason::Budget)),
            (f(true, false, true, true), Some(Reason::Budget)),
            (f(false, true, true, true), Some(Reason::NotAllowlisted)),
        ];
        for (i, (got, want)) in cases.into_iter().enumerate() {
            assert_eq!(got, want, "case {i}");
        }
        assert_eq!(Reason::Budget.to_string(), "budget");
    }

    #[test]
    fn skip_all_orders_and_tags() {
        let p = skip_all(&[ri(2, 0), ri(1, 5)], Reason::RepoLocked);
        assert_eq!(
            p.skipped,
            vec![(N(1), Reason::RepoLocked), (N(2), Reason::RepoLocked)]
        );
    }

    #[test]
    fn capacity_respects_max_in_flight_and_max_per_tick() {
        let w = vec![("a", ri(1, 1)), ("b", ri(2, 3)), ("c", ri(3, 2))];
        let (take, rest) = apply_capacity(w.clone(), 0, 4, 2);
        assert_eq!(take.iter().map(|x| x.0).collect::<Vec<_>>(), vec!["b", "c"]);
        assert_eq!(rest.iter().map(|x| x.0).collect::<Vec<_>>(), vec!["a"]);
        let (take, rest) = apply_capacity(w.clone(), 3, 4, 4);
        assert_eq!(take.len(), 1);
        assert_eq!(rest.len(), 2);
        let (take, _) = apply_capacity(w.clone(), 5, 4, 4);
        assert!(take.is_empty());
        let (take, rest) = apply_capacity(w, 0, 10, 10);
        assert_eq!((take.len(), rest.len()), (3, 0));
    }

    #[test]
    fn a_winner_is_dispatched_before_every_repo_is_examined_only_when_no_cut_could_take_it() {
        // (repos, in flight, max_in_flight, max_per_tick, at once)
        let table = [
            (50, 0, 50, 50, true),
            (3, 0, 4, 4, true),
            (4, 0, 4, 4, true),
            (5, 0, 4, 4, false),
            (2, 2, 4, 4, true),
            (3, 2, 4, 4, false),
            (1, 5, 4, 4, false),
            (3, 0, 10, 2, false),
            (0, 9, 4, 4, true),
            (1, 0, 0, 4, false),
        ];
        for (repos, in_flight, max_in_flight, max_per_tick, want) in table {
            assert_eq!(
                cut_cannot_bind(repos, in_flight, max_in_flight, max_per_tick),
                want,
                "{repos} repos, {in_flight} in flight, {max_in_flight}/{max_per_tick}"
            );
            // at once is the cut's own answer for every count of winners the
            // repos can have: it takes them all
            if want {
                for n in 0..=repos {
                    let w: Vec<_> = (0..n).map(|i| (i, ri(i as u64 + 1, i as i64))).collect();
                    let (take, rest) = apply_capacity(w, in_flight, max_in_flight, max_per_tick);
                    assert_eq!((take.len(), rest.len()), (n, 0));
                }
            }
        }
    }

    #[test]
    fn capacity_keeps_allowlist_order_among_equals() {
        let w = vec![("x", ri(9, 0)), ("y", ri(1, 0))];
        let (take, _) = apply_capacity(w, 0, 1, 1);
        assert_eq!(take[0].0, "x");
    }

    #[test]
    fn body_blockers_are_found() {
        let body = "Intro\nBlocked by #12\n- depends on acme/lib#3, #4\n* DEPENDS ON #5\n1. Blocked by #6\nnot blocked by #7\n  blocked by nothing\n";
        assert_eq!(
            body_blockers(body),
            vec![
                (None, N(12)),
                (Some(RepoName::parse("acme/lib").unwrap()), N(3)),
                (None, N(4)),
                (None, N(5)),
                (None, N(6))
            ]
        );
        assert!(body_blockers("see #3\nfixes #4").is_empty());
    }

    #[test]
    fn trust_rules() {
        use Access::*;
        let f = |s: &str| Some(Access::from_forge(s));
        let named = vec!["renovate[bot]".to_string(), "carol".to_string()];
        assert!(is_trusted("alice", &[], Write, f("write")));
        assert!(is_trusted("alice", &[], Write, f("admin")));
        assert!(is_trusted("alice", &[], Write, f("owner")));
        assert!(!is_trusted("alice", &[], Write, f("read")));
        assert!(!is_trusted("alice", &[], Write, f("none")));
        assert!(is_trusted("alice", &[], Read, f("read")));
        assert!(!is_trusted("alice", &[], Admin, f("write")));
        // no access is never enough, whatever is needed
        assert!(!is_trusted("alice", &[], None, f("none")));
        // a refused lookup is untrusted
        assert!(!is_trusted("alice", &[], Write, Option::None));
        // bots only by name, even with permission
        assert!(!is_trusted("ci[bot]", &[], Write, f("admin")));
        assert!(is_trusted("renovate[bot]", &named, Write, Option::None));
        // named users need no permission
        assert!(is_trusted("Carol", &named, Admin, f("none")));
        // GitHub's names, any case
        assert!(is_trusted("dan", &[], Write, f("maintain")));
        assert!(is_trusted("dan", &[], Write, f("ADMIN")));
        assert!(!is_trusted("dan", &[], Write, f("triage")));
    }

    fn tev(
        id: i64,
        kind: crate::types::TimelineKind,
        label: Option<&str>,
        who: &str,
    ) -> crate::types::TimelineEvent {
        crate::types::TimelineEvent {
            id,
            kind,
            label: label.map(str::to_string),
            actor: who.into(),
            created_at: None,
        }
    }

    #[test]
    fn latest_addition_of_the_label_is_the_arming_event() {
        use crate::types::TimelineKind::*;
        let mut evs = vec![
            tev(1, LabelAdded, Some("ready"), "alice"),
            tev(2, LabelRemoved, Some("ready"), "alice"),
            tev(3, LabelAdded, Some("ready"), "mallory"),
            tev(4, LabelAdded, Some("other"), "bob"),
        ];
        assert_eq!(
            arming(&evs, "ready"),
            Some(Arming {
                event_id: 3,
                login: "mallory".into(),
                at: None,
            })
        );
        assert_eq!(arming(&evs, "missing"), None);
        // the latest in timeline order, whatever the ids: a tracker's ids
        // are numbers made of random UUIDs (Linear), so a trusted
        // person's old addition may carry a larger one than the addition
        // that armed the issue now
        let random_ids = vec![
            tev(900, LabelAdded, Some("ready"), "alice"),
            tev(7, LabelRemoved, Some("ready"), "bob"),
            tev(100, LabelAdded, Some("ready"), "mallory"),
        ];
        assert_eq!(
            arming(&random_ids, "ready").map(|a| (a.event_id, a.login)),
            Some((100, "mallory".to_string()))
        );
        // the arming's time is the event's, in any offset; a date that does
        // not parse is unknown
        for (date, want) in [
            (
                "2026-01-01T12:00:00+02:00",
                Some(time::macros::datetime!(2026-01-01 10:00 UTC)),
            ),
            (
                "2026-01-01T10:00:00Z",
                Some(time::macros::datetime!(2026-01-01 10:00 UTC)),
            ),
            ("yesterday", None),
        ] {
            evs[2].created_at = Some(date.into());
            assert_eq!(arming(&evs, "ready").unwrap().at, want, "{date}");
        }
    }

    #[test]
    fn a_rename_after_the_arming_needs_a_new_arming() {
        use crate::types::TimelineKind::*;
        let armed = Arming {
            event_id: 5,
            login: "alice".into(),
            at: None,
        };
        let cases = [
            (vec![tev(5, LabelAdded, Some("ready"), "alice")], false),
            (
                vec![
                    tev(3, Renamed, None, "mallory"),
                    tev(5, LabelAdded, Some("ready"), "alice"),
                ],
                false,
            ),
            (
                vec![
                    tev(5, LabelAdded, Some("ready"), "alice"),
                    tev(6, Renamed, None, "mallory"),
                ],
                true,
            ),
            (
                vec![
                    tev(5, LabelAdded, Some("ready"), "alice"),
                    tev(6, Other, None, "mallory"),
                ],
                false,
            ),
        ];
        for (i, (evs, want)) in cases.into_iter().enumerate() {
            assert_eq!(edited_after_arming(&evs, &armed, None), want, "case {i}");
        }
        // a body edit leaves no event, only a later updated_at
        let at = |t: &str| {
            Some(
                time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339)
                    .unwrap(),
            )
        };
        let mut armed_ev = tev(5, LabelAdded, Some("ready"), "alice");
        armed_ev.created_at = Some("2026-01-01T12:00:00+02:00".into());
        let evs = vec![armed_ev];
        let cases = [
            (at("2026-01-01T10:00:01Z"), false), // the arming itself (same instant, other zone)
            (at("2026-01-01T10:00:02Z"), false), // within the slack
            (at("2026-01-01T10:05:00Z"), true),  // edited five minutes later
            (None, false),
        ];
        for (updated, want) in cases {
            assert_eq!(
                edited_after_arming(&evs, &armed, updated),
                want,
                "{updated:?}"
            );
        }
        // the end of time, plus the slack: no edit seen, never a panic
        let mut last = tev(5, LabelAdded, Some("ready"), "alice");
        last.created_at = Some("9999-12-31T23:59:59Z".into());
        let end = at("9999-12-31T23:59:59Z");
        assert!(!edited_after_arming(&[last], &armed, end));
        let mut f = ok_facts();
        f.edited_after_arming = true;
        assert_eq!(eligibility(&f), Err(Reason::EditedAfterArming));
        f.trusted = false;
        assert_eq!(
            eligibility(&f),
            Err(Reason::Untrusted),
            "untrusted is said first"
        );
    }

    #[test]
    fn one_trust_rule_with_an_explicit_could_not_check() {
        let named = vec!["deploy-bot[bot]".to_string(), "Carol".to_string()];
        type Case<'a> = (&'a str, Result<Option<&'a str>, ()>, Trust);
        let cases: Vec<Case> = vec![
            ("carol", Ok(None), Trust::Trusted),
            ("deploy-bot[bot]", Ok(None), Trust::Trusted),
            ("other-bot[bot]", Ok(Some("admin")), Trust::Untrusted),
            ("alice", Ok(Some("write")), Trust::Trusted),
            ("alice", Ok(Some("maintain")), Trust::Trusted),
            ("bob", Ok(Some("read")), Trust::Untrusted),
            ("bob", Ok(Some("triage")), Trust::Untrusted),
            ("eve", Ok(Some("none")), Trust::Untrusted),
            ("eve", Err(()), Trust::CouldNotCheck),
            ("", Ok(None), Trust::Untrusted),
        ];
        for (login, perm, want) in cases {
            let perm = perm.map(|p| p.map(Access::from_forge));
            assert_eq!(
                trust(login, &[], &named, Access::Write, perm),
                want,
                "{login}"
            );
        }
        assert!(!needs_lookup("carol", &named));
        assert!(!needs_lookup("x[bot]", &named));
        assert!(!needs_lookup("", &named));
        assert!(needs_lookup("alice", &named));
    }

    #[test]
    fn repo_lock_rule() {
        let cases = [
            ((false, false), false),
            ((true, false), true),
            ((false, true), true),
        ];
        for ((run, label), want) in cases {
            assert_eq!(repo_locked(run, label), want);
        }
    }
}
