//! The names afk writes into its outbox and its lessons journal, as types: an
//! [`EventKind`] (what `notify.events` lists, checked at config load against
//! [`EventKind::NAMES`]) and a [`LessonKind`] (the automatic lessons). The
//! stored text is [`EventKind::as_str`] / [`LessonKind::as_str`].

afk_model::named_enum! {
    /// An outbox event: what a notifier may deliver (`notify.events`).
    EventKind {
        RunEscalated => "run.escalated",
        RunSucceeded => "run.succeeded",
        RunAbandoned => "run.abandoned",
        // a run paused at a limit, and continued (not in the default list)
        RunPaused => "run.paused",
        RunContinued => "run.continued",
        CandidateRolledBack => "candidate.rolled_back",
        CandidateAutoPromoted => "candidate.auto_promoted",
        // a person promoting or rejecting a version by hand; not in the default list
        CandidatePromoted => "candidate.promoted",
        CandidateRejected => "candidate.rejected",
        UpgradeFailed => "upgrade.failed",
        UpgradeStuck => "upgrade.stuck",
    }
}

afk_model::named_enum! {
    /// An automatic lesson's type (a person's `afk lessons add --type` may be any slug).
    LessonKind {
        GateFailure => "gate_failure",
        MergeHold => "merge_hold",
        TransientRetry => "transient_retry",
        DeployDegraded => "deploy_degraded",
        BudgetExceeded => "budget_exceeded",
        // a trusted reviewer still asked for changes when no review turn was left
        // (docs/reviews.md)
        ReviewUnresolved => "review_unresolved",
        UpgradeFailed => "upgrade_failed",
        UpgradeStuck => "upgrade_stuck",
    }
}

impl EventKind {
    /// Whether the event carries the decision's reason (an escalation's why,
    /// a pause's limit); the other events say everything in their text.
    pub fn carries_reason(self) -> bool {
        matches!(self, EventKind::RunEscalated | EventKind::RunPaused)
    }
}

/// A lesson type's spelling: lower-case letters, digits and `_`, 1–64 long.
pub fn is_slug(t: &str) -> bool {
    !t.is_empty()
        && t.len() <= 64
        && t.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_round_trips_through_its_stored_name() {
        for k in EventKind::ALL {
            assert_eq!(EventKind::parse(k.as_str()), Some(*k));
        }
        for k in LessonKind::ALL {
            assert_eq!(LessonKind::parse(k.as_str()), Some(*k));
        }
        assert_eq!(EventKind::NAMES.len(), EventKind::ALL.len());
        assert_eq!(EventKind::parse("run.exploded"), None);
        assert_eq!(LessonKind::parse("Gate Failure"), None);
    }

    #[test]
    fn only_an_escalation_and_a_pause_event_carry_their_reason() {
        for k in EventKind::ALL {
            let carries = matches!(*k, EventKind::RunEscalated | EventKind::RunPaused);
            assert_eq!(k.carries_reason(), carries, "{k}");
        }
    }

    #[test]
    fn lesson_names_are_slugs_as_the_journal_requires() {
        for k in LessonKind::ALL {
            assert!(crate::kinds::is_slug(k.as_str()), "{k}");
        }
    }
}
