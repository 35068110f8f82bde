//! What an end state does (docs/how-it-works.md#afk-watch-the-lifecycle), as
//! data: which labels go and come, whether the issue is closed, the repo
//! frozen, a lesson and an event recorded, the agent stopped, a comment posted.
//! `afk watch` only carries the plan out, and every step of it is idempotent so
//! a tick that dies midway is resumed.

use super::checklist::End;
use super::kinds::EventKind;
use super::run_state::{Action, Escalation, RunStatus};

/// A label by the role the config gives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LabelRole {
    Ready,
    InProgress,
    Human,
}

/// The automatic lesson an end state records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndLesson {
    DeployDegraded,
    /// Over `budget.run_usd` or `budget.run_time`.
    BudgetExceeded,
    /// A trusted reviewer still asks for changes, no review turn left.
    ReviewUnresolved,
}

/// The lesson an escalation records, if any.
fn lesson_of(why: Escalation) -> Option<EndLesson> {
    match why {
        Escalation::DeployFailed => Some(EndLesson::DeployDegraded),
        Escalation::OverBudget | Escalation::Timeout => Some(EndLesson::BudgetExceeded),
        Escalation::ReviewUnresolved => Some(EndLesson::ReviewUnresolved),
        // a person's `stop` says nothing afk could teach a later run: its
        // cause is that person's, and the event and comment name them
        _ => None,
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndPlan {
    /// The decided status (written with the event in one transaction) and the final one.
    pub deciding: RunStatus,
    pub final_status: RunStatus,
    /// The stored reason (`end_reason`).
    pub reason: Option<String>,
    /// The outbox event, if this end notifies.
    pub event: Option<EventKind>,
    pub stop_agent: bool,
    pub remove_labels: Vec<LabelRole>,
    pub add_labels: Vec<LabelRole>,
    pub close_issue: bool,
    pub freeze: bool,
    pub lesson: Option<EndLesson>,
    /// Post the one escalation comment.
    pub escalation_comment: bool,
    /// How the checklist ends.
    pub checklist_end: End,
    /// An outcome for the template canary: true success, false failure, None none.
    pub outcome: Option<bool>,
}

/// The plan for an end action; None for `wait` and corrective turns.
/// `issue_open`: a merged PR usually closed the issue already.
pub fn plan(action: Action, issue_open: bool) -> Option<EndPlan> {
    Some(match action {
        // a pause is no end: the run stays in flight
        Action::Wait(_)
        | Action::CorrectiveTurn(_)
        | Action::UpdateBranch(_)
        | Action::Retest
        | Action::Pause(_)
        | Action::Continue(_) => {
            return None;
        }
        Action::Escalate(why) => EndPlan {
            deciding: RunStatus::Escalating,
            final_status: RunStatus::Escalated,
            reason: Some(why.to_string()),
            event: Some(EventKind::RunEscalated),
            stop_agent: true,
            remove_labels: vec![LabelRole::InProgress, LabelRole::Ready],
            add_labels: vec![LabelRole::Human],
            close_issue: false,
            freeze: why == Escalation::DeployFailed,
            lesson: lesson_of(why),
            escalation_comment: true,
            checklist_end: End::Escalated(why.to_string()),
            outcome: Some(false),
        },
        Action::Succeed => EndPlan {
            deciding: RunStatus::Succeeding,
            final_status: RunStatus::Succeeded,
            reason: None,
            event: Some(EventKind::RunSucceeded),
            // a person merged while a corrective or review turn ran: that
            // agent stops too, before its checkout goes
            stop_agent: true,
            remove_labels: vec![LabelRole::InProgress, LabelRole::Ready],
            add_labels: vec![],
            close_issue: issue_open,
            freeze: false,
            lesson: None,
            escalation_comment: false,
            checklist_end: End::Succeeded,
            outcome: Some(true),
        },
        // A person closed the issue or took the label off: stop, and leave no
        // contradictory label behind (the ready label is the person's to keep).
        // `run.abandoned` is recorded like every run's end; `notify.events`
        // leaves it out by default (the person who did it knows).
        Action::Abandon => EndPlan {
            deciding: RunStatus::Abandoning,
            final_status: RunStatus::Abandoned,
            reason: Some("abandoned".into()),
            event: Some(EventKind::RunAbandoned),
            stop_agent: true,
            remove_labels: vec![LabelRole::InProgress],
            add_labels: vec![],
            close_issue: false,
            freeze: false,
            lesson: None,
            escalation_comment: false,
            checklist_end: End::Abandoned,
            outcome: None,
        },
    })
}

/// The note an abandoned run leaves on its still-open PR (once: found again by
/// its marker): nobody follows it now, and it stays for people to decide on.
/// Returns the marker and the body.
pub fn abandoned_note(
    run_id: crate::types::RunId,
    issue: crate::types::IssueNumber,
) -> (String, String) {
    let marker = format!("<!-- afk:abandoned run={run_id} -->");
    let body = format!(
        "{marker}\nafk stopped following this pull request: its issue #{issue} was closed or unlabelled by a person (run {run_id}). \
         It stays open for you to merge or close.\n"
    );
    (marker, body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run_state::{Correction, Wait};

    #[test]
    fn only_end_actions_have_a_plan() {
        assert_eq!(plan(Action::Wait(Wait::Ci), true), None);
        assert_eq!(plan(Action::CorrectiveTurn(Correction::NoPr), true), None);
    }

    #[test]
    fn escalation_hands_the_issue_to_a_human() {
        let p = plan(Action::Escalate(Escalation::CiRed), true).unwrap();
        assert_eq!(
            (p.deciding, p.final_status),
            (RunStatus::Escalating, RunStatus::Escalated)
        );
        assert_eq!(
            p.remove_labels,
            vec![LabelRole::InProgress, LabelRole::Ready]
        );
        assert_eq!(p.add_labels, vec![LabelRole::Human]);
        assert_eq!(p.event, Some(EventKind::RunEscalated));
        assert!(p.escalation_comment && p.stop_agent && !p.close_issue && !p.freeze);
        assert_eq!(p.outcome, Some(false));
        assert_eq!(p.reason.as_deref(), Some("ci-red"));
    }

    #[test]
    fn a_failed_deploy_freezes_the_repo_and_records_a_lesson() {
        let cases = [
            (Escalation::DeployFailed, true),
            (Escalation::Stalled, false),
            (Escalation::Blocked, false),
        ];
        for (why, freezes) in cases {
            let p = plan(Action::Escalate(why), true).unwrap();
            assert_eq!(p.freeze, freezes, "{why}");
            assert_eq!(p.lesson.is_some(), freezes, "{why}");
        }
    }

    #[test]
    fn a_run_over_budget_is_stopped_with_a_budget_lesson_and_fails() {
        for why in [Escalation::OverBudget, Escalation::Timeout] {
            let p = plan(Action::Escalate(why), true).unwrap();
            assert_eq!(p.lesson, Some(EndLesson::BudgetExceeded), "{why}");
            assert!(p.stop_agent && !p.freeze && p.escalation_comment, "{why}");
            assert_eq!(p.outcome, Some(false), "a failure for harvest: {why}");
            assert_eq!(p.reason.as_deref(), Some(why.to_string().as_str()));
        }
    }

    #[test]
    fn an_unresolved_review_records_its_lesson_and_a_stop_none() {
        let cases = [
            (
                Escalation::ReviewUnresolved,
                Some(EndLesson::ReviewUnresolved),
            ),
            (Escalation::Stopped, None),
            (Escalation::Conflict, None),
        ];
        for (why, lesson) in cases {
            let p = plan(Action::Escalate(why), true).unwrap();
            assert_eq!(p.lesson, lesson, "{why}");
            assert_eq!(p.event, Some(EventKind::RunEscalated), "{why}: notified");
            assert_eq!(p.reason.as_deref(), Some(why.to_string().as_str()));
            assert!(p.escalation_comment && p.stop_agent, "{why}");
        }
    }

    #[test]
    fn success_closes_an_open_issue_and_clears_the_labels() {
        let open = plan(Action::Succeed, true).unwrap();
        assert!(open.close_issue);
        assert_eq!(
            open.remove_labels,
            vec![LabelRole::InProgress, LabelRole::Ready]
        );
        assert_eq!(open.event, Some(EventKind::RunSucceeded));
        assert_eq!(open.outcome, Some(true));
        let closed = plan(Action::Succeed, false).unwrap();
        assert!(!closed.close_issue, "the merge closed it already");
    }

    #[test]
    fn every_end_of_a_run_records_its_event() {
        let cases = [
            (
                Action::Escalate(Escalation::AgentFailed),
                EventKind::RunEscalated,
            ),
            (Action::Succeed, EventKind::RunSucceeded),
            (Action::Abandon, EventKind::RunAbandoned),
        ];
        for (a, want) in cases {
            assert_eq!(plan(a, true).unwrap().event, Some(want), "{a:?}");
        }
    }

    #[test]
    fn every_end_of_a_run_stops_a_running_agent() {
        for a in [
            Action::Succeed,
            Action::Abandon,
            Action::Escalate(Escalation::DeployFailed),
            Action::Escalate(Escalation::Stopped),
            Action::Escalate(Escalation::OverBudget),
        ] {
            assert!(plan(a, true).unwrap().stop_agent, "{a:?}");
            assert!(plan(a, false).unwrap().stop_agent, "{a:?}");
        }
    }

    #[test]
    fn abandonment_stops_the_agent_and_has_no_outcome() {
        let p = plan(Action::Abandon, true).unwrap();
        assert_eq!(p.outcome, None);
        assert_eq!(p.remove_labels, vec![LabelRole::InProgress]);
        assert!(p.add_labels.is_empty() && p.stop_agent && !p.escalation_comment);
    }

    #[test]
    fn an_abandoned_note_starts_with_its_marker_and_names_the_issue_and_run() {
        let (marker, body) = abandoned_note(crate::types::RunId(7), crate::types::IssueNumber(3));
        assert_eq!(marker, "<!-- afk:abandoned run=7 -->");
        assert!(body.starts_with(&marker));
        assert!(body.contains("its issue #3 was closed or unlabelled by a person (run 7)"));
    }
}
