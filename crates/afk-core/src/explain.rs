//! Each decision's why, in words, for `-v` decision lines and the `detail`
//! of `--json` entries: `acme/api#3: untrusted: labelled by mallory (read <
//! write)`, `run 7: wait: CI pending on 2 of 3 contexts`. Pure: the facts the
//! tick already gathered come in as values.

use super::dispatch::Blocker;
use super::run_state::{Action, Correction, Escalation, RunState, Wait};
use crate::types::{Permission, RepoName, TurnBudget};

/// Why the armer of a tracker's issue is not trusted when the tracker
/// refused a read its trust rule needs (Jira's groups without *Browse users
/// and groups*, a role's actors without *Administer Projects*).
pub const TRACKER_REFUSED: &str =
    "the tracker refused afk's account a read its trust rule needs, so no one is trusted";

/// Why the armer of a tracker's issue is not trusted, in the tracker
/// rule's own words (docs/trackers.md#who-is-trusted); `label` None: a
/// delegation to afk armed it (Linear's `ready = "delegate"`), not a label.
pub fn untrusted_by_tracker(login: &str, label: Option<&str>, why: &str) -> String {
    let (done, again) = match label {
        Some(l) => (
            "labelled",
            format!("a trusted person removes and re-adds \"{l}\" to arm it"),
        ),
        None => (
            "delegated",
            "a trusted team member delegates it to afk again to arm it".to_string(),
        ),
    };
    let why = match login.is_empty() {
        true => format!("an anonymous change {done} it: no one's to trust"),
        false => format!("{done} by {login}: {why}"),
    };
    format!("{why}; {again}")
}

/// Why an arming is not trusted: who added the label and what they hold.
/// `permission`: `Ok(None)` when no lookup was made (a bot, or nobody),
/// `Err(())` when the forge refused it.
pub fn untrusted(
    login: Option<&str>,
    label: &str,
    needed: &str,
    permission: Result<Option<&Permission>, ()>,
) -> String {
    let Some(login) = login.filter(|l| !l.is_empty()) else {
        return format!(
            "no one can be shown to have added \"{label}\" (no such event on its timeline)"
        );
    };
    // a forge's words for a change no one person made (Azure DevOps: a
    // revision changed by one identity, authorized as another), never a login
    if login.contains(char::is_whitespace) {
        return format!(
            "labelled in a revision {login}: no one person's, so no one's to trust; a trusted person removes and re-adds \"{label}\" to arm it"
        );
    }
    match permission {
        Err(()) => format!(
            "labelled by {login}: the forge refused the permission lookup (afk's account must be an admin)"
        ),
        Ok(_) if login.ends_with("[bot]") => {
            format!("labelled by {login}: a bot, trusted only when named in poll.trusted_users")
        }
        Ok(Some(p)) => format!(
            "labelled by {login} ({p} < {needed}); a trusted person removes and re-adds \"{label}\" to arm it"
        ),
        Ok(None) => format!(
            "labelled by {login} (no permission < {needed}); a trusted person removes and re-adds \"{label}\" to arm it"
        ),
    }
}

/// The issue that blocks this one, as the skip says it.
pub fn blocked_by(name: &str, b: Blocker) -> String {
    match b {
        Blocker::OutOfSight => format!(
            "blocked by {name} (outside poll.allowlist: afk does not look, so it counts as open)"
        ),
        Blocker::Unknown => format!("blocked by {name} (its state is unknown)"),
        Blocker::Open | Blocker::Closed | Blocker::Missing => format!("blocked by {name}"),
    }
}

/// Why a repo takes no new run this tick.
pub fn locked(run_in_flight: bool, in_progress_label: &str) -> String {
    if run_in_flight {
        "a run is in flight in this repo (one agent per repo)".into()
    } else {
        format!("an open issue carries \"{in_progress_label}\" (one agent per repo)")
    }
}

/// The ready issue that is itself the run in flight (it carries the
/// in-progress label): not waiting behind another, but taken.
pub fn in_flight(in_progress_label: &str) -> String {
    format!(
        "in flight: afk's run on this issue holds the repo (it carries \"{in_progress_label}\"; watch follows it)"
    )
}

pub fn frozen(repo: &RepoName) -> String {
    format!("frozen after a failed deploy: `afk status --unfreeze {repo}` lets poll in again")
}

pub fn lower_priority(winner: &str) -> String {
    format!("{winner} goes first (one agent per repo)")
}

pub fn already_handled(login: &str, label: &str) -> String {
    format!(
        "afk already ran for {login}'s \"{label}\"; a trusted person re-adds it for another run"
    )
}

pub fn edited_after_arming(login: &str, label: &str) -> String {
    format!(
        "edited after {login} added \"{label}\": a trusted person re-adds it to dispatch what it says now"
    )
}

/// Why a tracker's armed issue is worked on nowhere: the map sends it to no
/// repository (`entries` empty), or to several (the entries, numbered from
/// 1), and afk picks none.
pub fn unplaced(key: &str, entries: &[usize]) -> String {
    match entries {
        [] => format!("{key}: no [[tracker.map]] entry matches it: add one, or move the issue"),
        many => format!(
            "{key}: [[tracker.map]] entries {} all match it, and afk picks none: narrow them by component or label",
            many.iter()
                .map(|n| n.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

pub fn not_allowlisted(forge_name: &str) -> String {
    format!(
        "the forge names the repo {forge_name} (renamed or moved?): put that name in poll.allowlist"
    )
}

/// Why a winner was cut: which limit was reached.
pub fn capacity(in_flight: usize, max_in_flight: usize, max_per_tick: usize) -> String {
    if max_in_flight.saturating_sub(in_flight) <= max_per_tick {
        format!(
            "poll.max_in_flight = {max_in_flight} reached ({in_flight} in flight before this tick)"
        )
    } else {
        format!("poll.max_per_tick = {max_per_tick} reached")
    }
}

/// What watch saw of CI, for the words of its decision.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CiSeen {
    /// the contexts that count (the required ones, or every reported one)
    pub counted: usize,
    /// of those, the ones pending or not yet reported
    pub waiting: Vec<String>,
    /// of those, the failing ones
    pub failing: Vec<String>,
    /// the run's PR as text names it (`#N`, a GitLab merge request's `!M`)
    pub pr: Option<String>,
}

/// The why of a decision on what forwarding the last turn met: a push
/// that conflicts, a checkout afk refuses, the change gate's refusal.
fn forwarding(action: &Action, s: &RunState) -> String {
    match action {
        Action::Escalate(Escalation::PushConflict) => {
            "someone else pushed the run's branch and the last turn's work does not apply on it"
                .to_string()
        }
        Action::Escalate(Escalation::PushRefused) => {
            "afk refuses to forward the last turn's checkout (see the escalation comment)"
                .to_string()
        }
        Action::CorrectiveTurn(Correction::Gate) => format!(
            "the change gate refused the last turn: nothing pushed; a `gate` turn to undo it, corrective turn {} of {}",
            s.fix_turns_used() + 1,
            s.fix_forward_max
        ),
        _ => {
            "the change gate refused the last turn again, or no corrective turn is left".to_string()
        }
    }
}

/// The why of a decision at a run's own limits: stopped over budget or
/// past its time, paused there, or continued by a person.
fn limits(action: &Action, s: &RunState) -> String {
    match action {
        Action::Escalate(Escalation::OverBudget) => match &s.budget_stop {
            Some(stop) => format!("{}: the agent is stopped", stop.line()),
            None => format!(
                "the run spent {} (budget.run_usd {}): the agent is stopped",
                s.spend_usd.map_or("?".into(), crate::budget::spend::usd),
                crate::budget::spend::usd(s.run_usd)
            ),
        },
        Action::Escalate(Escalation::Timeout) => format!(
            "the run is {}m old (budget.run_time): the agent is stopped",
            s.age.as_secs() / 60
        ),
        Action::Pause(limit) if limit.is_day() => format!(
            "{}: the agent is stopped and the run paused until 00:00 UTC, when it continues by itself",
            at_limit(*limit, s)
        ),
        Action::Pause(limit) => format!(
            "{}: the agent is stopped and the run paused for a person to continue it (budget.pause_for)",
            at_limit(*limit, s)
        ),
        Action::Wait(Wait::Paused) => {
            "paused at a limit: a trusted `/afk budget` or `/afk resume` continues it, budget.pause_for ends it".into()
        }
        Action::Wait(Wait::KillSwitch) => {
            "paused at a limit and continued by a trusted person: the continuation starts once poll.enabled is true again".into()
        }
        Action::Continue(super::run_state::ContinuedBy::Day) => {
            "paused at the day's cap and a new UTC day began: a continuation turn".into()
        }
        Action::Continue(by) => format!(
            "paused at a limit and continued by a trusted `{}`: a continuation turn",
            by.key()
        ),
        _ => String::new(),
    }
}

/// Why a run on a tracker's issue is abandoned, by how watch saw the issue
/// closed to it (`closed_as`, the report's reason): `moved` (the map sends
/// it to another repository or to none), `tracker-issue-gone` (not there
/// two ticks in a row), or neither: a person moved it into done or removed
/// the in-progress label.
pub fn abandoned_in_tracker(closed_as: Option<&str>) -> String {
    match closed_as {
        Some("moved") => "moved: the map now sends the tracker's issue to another repository or to none".into(),
        Some("tracker-issue-gone") => "tracker-issue-gone: the tracker's issue was not there two ticks in a row (deleted, or out of afk's sight)".into(),
        _ => "a person moved the tracker's issue into done or removed the in-progress label".into(),
    }
}

/// The why of one watch decision.
pub fn watch(action: &Action, s: &RunState, ci: &CiSeen) -> String {
    let pr = ci
        .pr
        .as_ref()
        .map(|n| format!("PR {n}"))
        .unwrap_or_else(|| "the PR".into());
    let mins = s.since_progress.as_secs() / 60;
    match action {
        Action::Wait(Wait::Agent) => format!("the agent is working (last progress {mins}m ago)"),
        Action::Wait(Wait::Ci) if ci.counted == 0 => {
            format!("no CI status on {pr}'s head yet")
        }
        Action::Wait(Wait::Ci) => format!(
            "CI pending on {} of {} contexts ({})",
            ci.waiting.len(),
            ci.counted,
            ci.waiting.join(", ")
        ),
        Action::Wait(Wait::Merge) => format!("{pr} is green; a person merges it"),
        Action::Wait(Wait::Deploy) => format!("{pr} is merged; waiting for watch.deploy_context"),
        Action::Wait(Wait::Held) => {
            "held by a trusted `hold` command: no corrective turn and no stall or run-time clock until `resume`".into()
        }
        Action::CorrectiveTurn(Correction::Asked(TurnBudget::Review)) => format!(
            "a trusted person asked for changes: review turn {} of {}",
            s.talk.review_turns_used + 1,
            s.talk.review_turns_max
        ),
        Action::CorrectiveTurn(Correction::Asked(TurnBudget::Fix)) => format!(
            "a trusted person asked for a turn: corrective turn {} of {}",
            s.fix_turns_used() + 1,
            s.fix_forward_max
        ),
        Action::Escalate(Escalation::ReviewUnresolved) => format!(
            "a trusted person still asks for changes after {} review turns (watch.review_turns_max)",
            s.talk.review_turns_used
        ),
        Action::Escalate(Escalation::Stopped) => "a trusted person said `stop`".into(),
        Action::UpdateBranch(style) => format!(
            "{pr} conflicts with its base: asking the forge to update the branch ({})",
            style.as_str()
        ),
        Action::CorrectiveTurn(Correction::Conflict) => format!(
            "{pr} conflicts with its base and the forge could not update it: corrective turn {} of {}",
            s.fix_turns_used() + 1,
            s.fix_forward_max
        ),
        a @ (Action::Escalate(
            Escalation::PushConflict | Escalation::PushRefused | Escalation::GateRefused,
        )
        | Action::CorrectiveTurn(Correction::Gate)) => forwarding(a, s),
        Action::Escalate(Escalation::Conflict) => format!(
            "{pr} still conflicts with its base after {} corrective turns",
            s.fix_turns_used()
        ),
        Action::Retest => format!(
            "CI failed on {pr} ({}): the first red on this head, asking CI to run again (watch.retest_comment)",
            ci.failing.join(", ")
        ),
        Action::CorrectiveTurn(Correction::CiRed) => format!(
            "CI failed on {pr} ({}): corrective turn {} of {}",
            ci.failing.join(", "),
            s.fix_turns_used() + 1,
            s.fix_forward_max
        ),
        Action::CorrectiveTurn(Correction::NoPr) => format!(
            "the agent stopped without a PR: corrective turn {} of {}",
            s.fix_turns_used() + 1,
            s.fix_forward_max
        ),
        Action::Escalate(Escalation::CiRed) => format!(
            "CI failed on {pr} ({}) after {} corrective turns",
            ci.failing.join(", "),
            s.fix_turns_used()
        ),
        Action::Escalate(Escalation::Stalled) => {
            format!("no progress for {mins}m (runner.stall_after)")
        }
        Action::Escalate(Escalation::NoPr) => format!(
            "the agent stopped without a PR after {} corrective turns",
            s.fix_turns_used()
        ),
        Action::Escalate(Escalation::Blocked) => "the agent said it is blocked".into(),
        Action::Escalate(Escalation::AgentFailed) => match (&s.cannot_start, s.agent) {
            (None, super::run_state::Agent::Exited(code)) => {
                format!("the agent exited with status {code} without a PR")
            }
            (reason, _) => format!(
                "the agent cannot start: {}",
                super::sanitize::one_line(reason.as_deref().unwrap_or("no reason given"), 200)
            ),
        },
        Action::Escalate(Escalation::PrClosed) => format!("{pr} was closed unmerged"),
        Action::Escalate(Escalation::DeployFailed) => format!("{pr} merged; the deploy failed"),
        a @ (Action::Escalate(Escalation::OverBudget | Escalation::Timeout)
        | Action::Pause(_)
        | Action::Wait(Wait::Paused | Wait::KillSwitch)
        | Action::Continue(_)) => limits(a, s),
        Action::Succeed => format!("{pr} merged and green"),
        Action::Abandon => "a person closed the issue or removed the in-progress label".into(),
    }
}

/// What reached `limit`, in the words of the escalation it used to be.
fn at_limit(limit: crate::budget::Limit, s: &RunState) -> String {
    use crate::budget::Limit;
    match (limit, &s.budget_stop) {
        (Limit::RunTime, _) => {
            format!("the run is {}m old (budget.run_time)", s.age.as_secs() / 60)
        }
        (_, Some(stop)) => stop.line(),
        (Limit::RunUsd, None) => format!(
            "the run spent {} (budget.run_usd {})",
            s.spend_usd.map_or("?".into(), crate::budget::spend::usd),
            crate::budget::spend::usd(s.run_usd)
        ),
        (Limit::DayUsd | Limit::RepoDayUsd, None) => {
            format!("the day's cap was reached (budget.{})", limit.key())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn an_untrusted_arming_says_who_and_what_they_hold() {
        let table = [
            (
                Some("mallory"),
                Ok(Some("read")),
                "labelled by mallory (read < write); a trusted person removes and re-adds \"ready\" to arm it",
            ),
            (
                Some("eve"),
                Ok(Some("none")),
                "labelled by eve (none < write); a trusted person removes and re-adds \"ready\" to arm it",
            ),
            (
                Some("ci[bot]"),
                Ok(None),
                "labelled by ci[bot]: a bot, trusted only when named in poll.trusted_users",
            ),
            (
                Some("bob"),
                Err(()),
                "labelled by bob: the forge refused the permission lookup (afk's account must be an admin)",
            ),
            (
                None,
                Ok(None),
                "no one can be shown to have added \"ready\" (no such event on its timeline)",
            ),
            // Azure DevOps: a revision in another's name, said once
            (
                Some("changed by alice@x.invalid, authorized as root@x.invalid"),
                Ok(Some("none")),
                "labelled in a revision changed by alice@x.invalid, authorized as root@x.invalid: no one person's, so no one's to trust; a trusted person removes and re-adds \"ready\" to arm it",
            ),
        ];
        for (login, perm, want) in table {
            let perm = perm.map(|p| p.map(Permission::from_forge));
            let perm = perm.as_ref().map(Option::as_ref).map_err(|_| ());
            assert_eq!(untrusted(login, "ready", "write", perm), want, "{login:?}");
        }
    }

    #[test]
    fn an_untrusted_tracker_arming_says_the_trackers_why() {
        let cases = [
            (
                "p1",
                "p1 is not an active account",
                "labelled by p1: p1 is not an active account; a trusted person removes and re-adds \"ready\" to arm it",
            ),
            (
                "",
                "an anonymous change",
                "an anonymous change labelled it: no one's to trust; a trusted person removes and re-adds \"ready\" to arm it",
            ),
        ];
        for (login, why, want) in cases {
            assert_eq!(untrusted_by_tracker(login, Some("ready"), why), want);
        }
        // a delegation is said as one
        let cases = [
            (
                "p1",
                "p1 is a guest",
                "delegated by p1: p1 is a guest; a trusted team member delegates it to afk again to arm it",
            ),
            (
                "",
                "",
                "an anonymous change delegated it: no one's to trust; a trusted team member delegates it to afk again to arm it",
            ),
        ];
        for (login, why, want) in cases {
            assert_eq!(untrusted_by_tracker(login, None, why), want);
        }
    }

    #[test]
    fn an_unplaced_tracker_issue_says_which_entries_match_it() {
        let cases: [(&[usize], &str); 2] = [
            (
                &[],
                "PLAT-9: no [[tracker.map]] entry matches it: add one, or move the issue",
            ),
            (
                &[1, 2],
                "PLAT-9: [[tracker.map]] entries 1, 2 all match it, and afk picks none: narrow them by component or label",
            ),
        ];
        for (entries, want) in cases {
            assert_eq!(unplaced("PLAT-9", entries), want);
        }
    }

    #[test]
    fn a_blocked_issue_names_its_blocker() {
        assert_eq!(
            blocked_by("acme/api#1", Blocker::Open),
            "blocked by acme/api#1"
        );
        assert!(blocked_by("other/x#4", Blocker::OutOfSight).contains("outside poll.allowlist"));
        assert!(blocked_by("acme/api#9", Blocker::Unknown).contains("unknown"));
    }

    #[test]
    fn capacity_names_the_limit_that_was_reached() {
        let table = [
            (
                4,
                4,
                4,
                "poll.max_in_flight = 4 reached (4 in flight before this tick)",
            ),
            (
                2,
                4,
                2,
                "poll.max_in_flight = 4 reached (2 in flight before this tick)",
            ),
            (0, 10, 2, "poll.max_per_tick = 2 reached"),
        ];
        for (n, mi, mp, want) in table {
            assert_eq!(capacity(n, mi, mp), want);
        }
    }

    fn state() -> RunState {
        RunState {
            decided: None,
            agent: super::super::run_state::Agent::Exited(0),
            blocked: false,
            cannot_start: None,
            push_problem: None,
            pr: super::super::run_state::Pr::Open,
            head_sha: None,
            ci_sha: None,
            ci: super::super::run_state::Checks::Pending,
            deploy_configured: false,
            deploy: super::super::run_state::Checks::None,
            turns: 1,
            fix_forward_max: 2,
            since_progress: Duration::from_secs(600),
            stall_after: Duration::from_secs(3600),
            issue_open: true,
            in_progress_label: true,
            spend_usd: None,
            run_usd: 0.0,
            budget_stop: None,
            age: Duration::from_secs(600),
            run_time: None,
            talk: Default::default(),
            pause: Default::default(),
        }
    }

    #[test]
    fn a_watch_decision_says_what_it_waits_for() {
        let ci = CiSeen {
            counted: 3,
            waiting: vec!["lint".into(), "test".into()],
            failing: vec![],
            pr: Some("#4".into()),
        };
        let s = state();
        let table = [
            (
                Action::Wait(Wait::Ci),
                "CI pending on 2 of 3 contexts (lint, test)",
            ),
            (
                Action::Wait(Wait::Merge),
                "PR #4 is green; a person merges it",
            ),
            (
                Action::Wait(Wait::Agent),
                "the agent is working (last progress 10m ago)",
            ),
            (
                Action::Escalate(Escalation::Stalled),
                "no progress for 10m (runner.stall_after)",
            ),
            (Action::Succeed, "PR #4 merged and green"),
        ];
        for (a, want) in table {
            assert_eq!(watch(&a, &s, &ci), want, "{a:?}");
        }
        // a GitLab merge request: `!M`, numbered apart from the issue
        let mr = CiSeen {
            pr: Some("!2".into()),
            ..ci.clone()
        };
        assert_eq!(
            watch(&Action::Wait(Wait::Merge), &s, &mr),
            "PR !2 is green; a person merges it"
        );
        let none = CiSeen {
            pr: Some("#4".into()),
            ..Default::default()
        };
        assert_eq!(
            watch(&Action::Wait(Wait::Ci), &s, &none),
            "no CI status on PR #4's head yet"
        );
        let red = CiSeen {
            counted: 1,
            failing: vec!["build".into()],
            pr: Some("#4".into()),
            ..Default::default()
        };
        assert_eq!(
            watch(&Action::CorrectiveTurn(Correction::CiRed), &s, &red),
            "CI failed on PR #4 (build): corrective turn 1 of 2"
        );
    }

    #[test]
    fn an_over_budget_decision_says_who_stopped_the_turn_the_gateway_or_the_agent() {
        use crate::budget::spend::BudgetStop;
        let a = Action::Escalate(Escalation::OverBudget);
        let cases = [
            (
                Some(BudgetStop::Gateway(
                    "budget.run_usd $1.00 reached: this run spent $1.02 (metered)".into(),
                )),
                "afk's model gateway stopped the turn: budget.run_usd $1.00 reached: this run spent $1.02 (metered): the agent is stopped",
            ),
            (
                Some(BudgetStop::Agent(
                    "Reached maximum budget ($0.03) (error_max_budget_usd)".into(),
                )),
                "the agent stopped its own turn at its --max-budget-usd: Reached maximum budget ($0.03) (error_max_budget_usd): the agent is stopped",
            ),
            (
                None,
                "the run spent $1.25 (budget.run_usd $1.00): the agent is stopped",
            ),
        ];
        for (stop, want) in cases {
            let mut s = state();
            s.spend_usd = Some(1.25);
            s.run_usd = 1.0;
            s.budget_stop = stop;
            assert_eq!(watch(&a, &s, &CiSeen::default()), want);
        }
    }

    #[test]
    fn an_agent_that_cannot_start_is_explained_with_the_runner_s_reason_on_one_line() {
        let mut s = state();
        s.cannot_start = Some("ImagePullBackOff: no such\nimage\x1b[31m".into());
        let a = Action::Escalate(Escalation::AgentFailed);
        let why = watch(&a, &s, &CiSeen::default());
        assert!(
            why.starts_with("the agent cannot start: ImagePullBackOff: no such image"),
            "{why}"
        );
        assert!(!why.contains('\n') && !why.contains('\x1b'), "{why:?}");
    }

    #[test]
    fn a_tracker_runs_abandonment_says_how_its_issue_was_closed_to_it() {
        for (closed_as, starts) in [
            (Some("moved"), "moved: the map now sends"),
            (
                Some("tracker-issue-gone"),
                "tracker-issue-gone: the tracker's issue was not there",
            ),
            (None, "a person moved the tracker's issue into done"),
        ] {
            let said = abandoned_in_tracker(closed_as);
            assert!(said.starts_with(starts), "{closed_as:?}: {said}");
        }
    }
}
