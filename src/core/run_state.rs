//! The run state machine (SPEC 4): a pure function from what watch observed
//! about one run to the next action.

use std::fmt;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Agent {
    Running,
    Exited(i32),
    /// Gone without an exit status: treated as exited with failure.
    Vanished,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pr {
    None,
    Open,
    Merged,
    Closed,
}

/// A commit-status verdict over the contexts that matter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Checks {
    /// No status at all yet.
    None,
    Pending,
    Success,
    Failure,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunState {
    pub agent: Agent,
    /// The agent said it is blocked (progress line `{"status":"blocked"}`).
    pub blocked: bool,
    pub pr: Pr,
    /// The PR's current head, and the commit the CI verdict belongs to.
    pub head_sha: Option<String>,
    pub ci_sha: Option<String>,
    pub ci: Checks,
    /// `watch.deploy_context` is set.
    pub deploy_configured: bool,
    /// The deploy verdict on the merge commit.
    pub deploy: Checks,
    /// Corrective turns already used, and the budget.
    pub turns_used: u32,
    pub fix_forward_max: u32,
    pub since_progress: Duration,
    pub stall_after: Duration,
    pub issue_open: bool,
    pub in_progress_label: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wait {
    Agent,
    Ci,
    Merge,
    Deploy,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Escalation {
    Stalled,
    NoPr,
    CiRed,
    DeployFailed,
    PrClosed,
    Blocked,
}

impl fmt::Display for Escalation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Escalation::Stalled => "stalled",
            Escalation::NoPr => "no-pr",
            Escalation::CiRed => "ci-red",
            Escalation::DeployFailed => "deploy-failed",
            Escalation::PrClosed => "pr-closed",
            Escalation::Blocked => "blocked",
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Correction {
    /// "you stopped without opening a PR"
    NoPr,
    /// the failing contexts and their build URLs
    CiRed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Wait(Wait),
    CorrectiveTurn(Correction),
    Escalate(Escalation),
    Succeed,
    Abandon,
}

impl Action {
    /// The `action` string of the watch report.
    pub fn name(&self) -> &'static str {
        match self {
            Action::Wait(_) => "wait",
            Action::CorrectiveTurn(_) => "corrective_turn",
            Action::Escalate(_) => "escalate",
            Action::Succeed => "succeed",
            Action::Abandon => "abandon",
        }
    }
    pub fn reason(&self) -> Option<String> {
        match self {
            Action::Wait(w) => Some(
                match w {
                    Wait::Agent => "agent-running",
                    Wait::Ci => "ci-pending",
                    Wait::Merge => "awaiting-merge",
                    Wait::Deploy => "deploy-pending",
                }
                .into(),
            ),
            Action::CorrectiveTurn(Correction::NoPr) => Some("no-pr".into()),
            Action::CorrectiveTurn(Correction::CiRed) => Some("ci-red".into()),
            Action::Escalate(e) => Some(e.to_string()),
            Action::Succeed | Action::Abandon => None,
        }
    }
}

/// The next action for a run. Rows of the SPEC's table, in order, with two
/// precedences made explicit: a merged PR wins over "issue closed" (forges close
/// the issue themselves on merge), and a person closing the issue or removing the
/// label wins over everything else (stop the agent rather than wait for it).
pub fn next_action(s: &RunState) -> Action {
    let budget_left = s.turns_used < s.fix_forward_max;
    if s.pr == Pr::Merged {
        if !s.deploy_configured || s.deploy == Checks::Success {
            return Action::Succeed;
        }
        if s.deploy == Checks::Failure {
            return Action::Escalate(Escalation::DeployFailed);
        }
    }
    if s.pr != Pr::Merged && (!s.issue_open || !s.in_progress_label) {
        return Action::Abandon;
    }
    if s.blocked {
        return Action::Escalate(Escalation::Blocked);
    }
    if s.since_progress >= s.stall_after {
        return Action::Escalate(Escalation::Stalled);
    }
    if s.agent == Agent::Running {
        return Action::Wait(Wait::Agent);
    }
    match s.pr {
        Pr::Merged => Action::Wait(Wait::Deploy),
        Pr::Closed => Action::Escalate(Escalation::PrClosed),
        Pr::None if budget_left => Action::CorrectiveTurn(Correction::NoPr),
        Pr::None => Action::Escalate(Escalation::NoPr),
        Pr::Open => {
            // only a verdict on the current head counts
            let ci = if s.ci_sha.is_some() && s.ci_sha == s.head_sha {
                s.ci
            } else {
                Checks::None
            };
            match ci {
                Checks::Failure if budget_left => Action::CorrectiveTurn(Correction::CiRed),
                Checks::Failure => Action::Escalate(Escalation::CiRed),
                Checks::Success => Action::Wait(Wait::Merge),
                Checks::Pending | Checks::None => Action::Wait(Wait::Ci),
            }
        }
    }
}

/// Combine the statuses of the contexts that matter into one verdict: any
/// failure (or error) fails; all required present and successful succeeds;
/// otherwise pending. `required` empty: the forge's combined state.
pub fn combine(
    required: &[String],
    combined: Option<&str>,
    statuses: &[(String, String)],
) -> Checks {
    let verdict = |state: &str| match state {
        "success" => Checks::Success,
        "failure" | "error" => Checks::Failure,
        _ => Checks::Pending,
    };
    if required.is_empty() {
        if statuses.is_empty() {
            return Checks::None;
        }
        return combined.map(verdict).unwrap_or(Checks::Pending);
    }
    let mut out = Checks::Success;
    let mut any = false;
    for ctx in required {
        match statuses.iter().find(|(c, _)| c == ctx) {
            None => {
                out = if out == Checks::Failure {
                    out
                } else {
                    Checks::Pending
                }
            }
            Some((_, st)) => {
                any = true;
                match verdict(st) {
                    Checks::Failure => out = Checks::Failure,
                    Checks::Pending if out != Checks::Failure => out = Checks::Pending,
                    _ => {}
                }
            }
        }
    }
    if !any && out != Checks::Failure {
        return Checks::None;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> RunState {
        RunState {
            agent: Agent::Exited(0),
            blocked: false,
            pr: Pr::Open,
            head_sha: Some("h2".into()),
            ci_sha: Some("h2".into()),
            ci: Checks::Pending,
            deploy_configured: false,
            deploy: Checks::None,
            turns_used: 0,
            fix_forward_max: 2,
            since_progress: Duration::from_secs(60),
            stall_after: Duration::from_secs(3600),
            issue_open: true,
            in_progress_label: true,
        }
    }

    fn with(f: impl FnOnce(&mut RunState)) -> Action {
        let mut s = base();
        f(&mut s);
        next_action(&s)
    }

    #[test]
    fn row_stalled_escalates() {
        assert_eq!(
            with(|s| s.since_progress = s.stall_after),
            Action::Escalate(Escalation::Stalled)
        );
        // also while the agent runs (it is stopped by the caller)
        assert_eq!(
            with(|s| {
                s.agent = Agent::Running;
                s.since_progress = Duration::from_secs(99999)
            }),
            Action::Escalate(Escalation::Stalled)
        );
    }

    #[test]
    fn row_wait_while_agent_runs_or_checks_pending() {
        assert_eq!(
            with(|s| s.agent = Agent::Running),
            Action::Wait(Wait::Agent)
        );
        assert_eq!(with(|s| s.ci = Checks::Pending), Action::Wait(Wait::Ci));
        assert_eq!(with(|s| s.ci = Checks::None), Action::Wait(Wait::Ci));
        assert_eq!(
            with(|s| {
                s.pr = Pr::Merged;
                s.deploy_configured = true;
                s.deploy = Checks::Pending
            }),
            Action::Wait(Wait::Deploy)
        );
    }

    #[test]
    fn row_agent_exited_without_pr() {
        let no_pr = |s: &mut RunState| {
            s.pr = Pr::None;
            s.head_sha = None;
            s.ci_sha = None;
        };
        assert_eq!(with(no_pr), Action::CorrectiveTurn(Correction::NoPr));
        assert_eq!(
            with(|s| {
                no_pr(s);
                s.turns_used = 2
            }),
            Action::Escalate(Escalation::NoPr)
        );
        // a vanished agent is an exited one
        assert_eq!(
            with(|s| {
                no_pr(s);
                s.agent = Agent::Vanished
            }),
            Action::CorrectiveTurn(Correction::NoPr)
        );
    }

    #[test]
    fn row_ci_red_with_budget_is_a_corrective_turn() {
        assert_eq!(
            with(|s| s.ci = Checks::Failure),
            Action::CorrectiveTurn(Correction::CiRed)
        );
        assert_eq!(
            with(|s| {
                s.ci = Checks::Failure;
                s.turns_used = 1
            }),
            Action::CorrectiveTurn(Correction::CiRed)
        );
    }

    #[test]
    fn row_ci_red_budget_spent_escalates() {
        assert_eq!(
            with(|s| {
                s.ci = Checks::Failure;
                s.turns_used = 2
            }),
            Action::Escalate(Escalation::CiRed)
        );
        assert_eq!(
            with(|s| {
                s.ci = Checks::Failure;
                s.fix_forward_max = 0
            }),
            Action::Escalate(Escalation::CiRed)
        );
    }

    #[test]
    fn row_ci_green_waits_for_a_human_merge() {
        assert_eq!(with(|s| s.ci = Checks::Success), Action::Wait(Wait::Merge));
    }

    #[test]
    fn row_merged_succeeds_without_deploy_context_or_on_deploy_success() {
        assert_eq!(with(|s| s.pr = Pr::Merged), Action::Succeed);
        assert_eq!(
            with(|s| {
                s.pr = Pr::Merged;
                s.deploy_configured = true;
                s.deploy = Checks::Success
            }),
            Action::Succeed
        );
    }

    #[test]
    fn row_merged_deploy_failure_escalates() {
        assert_eq!(
            with(|s| {
                s.pr = Pr::Merged;
                s.deploy_configured = true;
                s.deploy = Checks::Failure
            }),
            Action::Escalate(Escalation::DeployFailed)
        );
    }

    #[test]
    fn row_pr_closed_unmerged_escalates() {
        assert_eq!(
            with(|s| s.pr = Pr::Closed),
            Action::Escalate(Escalation::PrClosed)
        );
    }

    #[test]
    fn row_human_closed_issue_or_removed_label_abandons() {
        assert_eq!(with(|s| s.issue_open = false), Action::Abandon);
        assert_eq!(with(|s| s.in_progress_label = false), Action::Abandon);
        // even while the agent runs: it is stopped
        assert_eq!(
            with(|s| {
                s.issue_open = false;
                s.agent = Agent::Running
            }),
            Action::Abandon
        );
    }

    #[test]
    fn merged_pr_wins_over_issue_closed() {
        assert_eq!(
            with(|s| {
                s.pr = Pr::Merged;
                s.issue_open = false;
                s.in_progress_label = false
            }),
            Action::Succeed
        );
        assert_eq!(
            with(|s| {
                s.pr = Pr::Merged;
                s.issue_open = false;
                s.deploy_configured = true;
                s.deploy = Checks::None
            }),
            Action::Wait(Wait::Deploy),
            "merge commit without a deploy status: wait"
        );
    }

    #[test]
    fn blocked_agent_escalates() {
        assert_eq!(
            with(|s| s.blocked = true),
            Action::Escalate(Escalation::Blocked)
        );
        assert_eq!(
            with(|s| {
                s.blocked = true;
                s.agent = Agent::Running
            }),
            Action::Escalate(Escalation::Blocked)
        );
    }

    #[test]
    fn agent_running_while_ci_red_waits() {
        assert_eq!(
            with(|s| {
                s.agent = Agent::Running;
                s.ci = Checks::Failure
            }),
            Action::Wait(Wait::Agent)
        );
    }

    #[test]
    fn only_the_current_head_counts() {
        // green on the old head, nothing yet on the new one
        assert_eq!(
            with(|s| {
                s.ci = Checks::Success;
                s.ci_sha = Some("h1".into());
                s.head_sha = Some("h2".into())
            }),
            Action::Wait(Wait::Ci)
        );
        // red on the old head while a corrective push is being checked
        assert_eq!(
            with(|s| {
                s.ci = Checks::Failure;
                s.ci_sha = Some("h1".into());
                s.turns_used = 1
            }),
            Action::Wait(Wait::Ci)
        );
    }

    #[test]
    fn a_new_push_while_a_corrective_turn_runs_waits() {
        assert_eq!(
            with(|s| {
                s.agent = Agent::Running;
                s.turns_used = 1;
                s.ci = Checks::Pending
            }),
            Action::Wait(Wait::Agent)
        );
    }

    #[test]
    fn at_most_one_plus_budget_starts() {
        for used in 0..5 {
            let a = with(|s| {
                s.ci = Checks::Failure;
                s.turns_used = used
            });
            if used < 2 {
                assert_eq!(a, Action::CorrectiveTurn(Correction::CiRed));
            } else {
                assert_eq!(a, Action::Escalate(Escalation::CiRed));
            }
        }
    }

    #[test]
    fn combining_statuses() {
        let st = |v: &[(&str, &str)]| -> Vec<(String, String)> {
            v.iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect()
        };
        let req = vec!["ci/build".to_string(), "ci/test".to_string()];
        assert_eq!(combine(&[], None, &[]), Checks::None);
        assert_eq!(
            combine(&[], Some("success"), &st(&[("x", "success")])),
            Checks::Success
        );
        assert_eq!(
            combine(&[], Some("failure"), &st(&[("x", "failure")])),
            Checks::Failure
        );
        assert_eq!(
            combine(&[], Some("pending"), &st(&[("x", "pending")])),
            Checks::Pending
        );
        assert_eq!(combine(&req, None, &[]), Checks::None);
        assert_eq!(
            combine(&req, None, &st(&[("ci/build", "success")])),
            Checks::Pending
        );
        assert_eq!(
            combine(
                &req,
                None,
                &st(&[
                    ("ci/build", "success"),
                    ("ci/test", "success"),
                    ("other", "failure")
                ])
            ),
            Checks::Success,
            "contexts that are not required do not count"
        );
        assert_eq!(
            combine(&req, None, &st(&[("ci/build", "error")])),
            Checks::Failure
        );
        assert_eq!(
            combine(
                &req,
                None,
                &st(&[("ci/build", "pending"), ("ci/test", "failure")])
            ),
            Checks::Failure
        );
    }
}
