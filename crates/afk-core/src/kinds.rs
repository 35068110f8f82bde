//! The names afk writes into its outbox and its lessons journal, as types: an
//! [`EventKind`] (what `notify.events` lists, checked at config load against
//! [`EventKind::NAMES`]) and a [`LessonKind`] (the automatic lessons). The
//! stored text is [`EventKind::as_str`] / [`LessonKind::as_str`].

use std::fmt;

macro_rules! kinds {
    ($(#[$m:meta])* $name:ident { $($var:ident => $s:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $($var),+ }
        impl $name {
            /// Every kind, in the order [`Self::NAMES`] lists them.
            pub const ALL: &[$name] = &[$($name::$var),+];
            /// Every kind's stored name.
            pub const NAMES: &[&str] = &[$($s),+];
            /// The stored name.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$var => $s),+ }
            }
            /// The kind a stored name is; None for any other text.
            pub fn parse(s: &str) -> Option<$name> {
                match s { $($s => Some($name::$var),)+ _ => None }
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }
        impl From<$name> for String {
            fn from(k: $name) -> String {
                k.as_str().to_string()
            }
        }
    };
}

kinds! {
    /// An outbox event: what a notifier may deliver (`notify.events`).
    EventKind {
        RunEscalated => "run.escalated",
        RunSucceeded => "run.succeeded",
        RunAbandoned => "run.abandoned",
        CandidateRolledBack => "candidate.rolled_back",
        CandidateAutoPromoted => "candidate.auto_promoted",
        // a person promoting or rejecting a version by hand (SPEC 7.1); not in the default list
        CandidatePromoted => "candidate.promoted",
        CandidateRejected => "candidate.rejected",
        UpgradeFailed => "upgrade.failed",
        UpgradeStuck => "upgrade.stuck",
    }
}

kinds! {
    /// An automatic lesson's type (a person's `afk lessons add --type` may be any slug).
    LessonKind {
        GateFailure => "gate_failure",
        MergeHold => "merge_hold",
        TransientRetry => "transient_retry",
        DeployDegraded => "deploy_degraded",
        BudgetExceeded => "budget_exceeded",
        UpgradeFailed => "upgrade_failed",
        UpgradeStuck => "upgrade_stuck",
    }
}

impl EventKind {
    /// Whether the event carries the decision's reason (an escalation's why);
    /// the other events say everything in their text.
    pub fn carries_reason(self) -> bool {
        self == EventKind::RunEscalated
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
    fn only_an_escalation_event_carries_its_reason() {
        for k in EventKind::ALL {
            assert_eq!(k.carries_reason(), *k == EventKind::RunEscalated, "{k}");
        }
    }

    #[test]
    fn lesson_names_are_slugs_as_the_journal_requires() {
        for k in LessonKind::ALL {
            assert!(crate::kinds::is_slug(k.as_str()), "{k}");
        }
    }
}
