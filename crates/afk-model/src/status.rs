//! The stored states of afk's two life cycles, as types: a run's
//! ([`RunStatus`], the `runs.state` column) and a template version's
//! ([`VersionStatus`], `template_versions.status`). Both are stored as their
//! names; which state follows which is decided in the core.

use serde::Serialize;
use std::fmt;

/// Where a run is in its life, as stored in the `runs.state` column.
///
/// `Dispatching` is poll's claim (before any side effect); `Started` means the
/// agent runs but its in-progress label is not yet on the issue; `Dispatched`
/// is followed by watch. The `*ing` end states are decided (with their event)
/// but their forge writes are not all done yet; the rest are final.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RunStatus {
    Dispatching,
    Started,
    Dispatched,
    Escalating,
    Succeeding,
    Abandoning,
    Escalated,
    Succeeded,
    Abandoned,
    Failed,
}

impl crate::Named for RunStatus {
    fn all() -> &'static [RunStatus] {
        &RunStatus::ALL
    }
    fn name(self) -> &'static str {
        self.as_str()
    }
    fn help(self) -> &'static str {
        match self {
            RunStatus::Dispatching => "Claimed by poll; the agent is being started",
            RunStatus::Started => "The agent runs; its label is not on the issue yet",
            RunStatus::Dispatched => "Followed by watch",
            RunStatus::Escalating => "Escalation decided, its forge writes not all done",
            RunStatus::Succeeding => "Success decided, its forge writes not all done",
            RunStatus::Abandoning => "Abandonment decided, its forge writes not all done",
            RunStatus::Escalated => "Handed to a person",
            RunStatus::Succeeded => "Merged (and deployed)",
            RunStatus::Abandoned => "Stopped because a person closed or unlabelled the issue",
            RunStatus::Failed => "The agent never started",
        }
    }
}

impl RunStatus {
    pub const ALL: [RunStatus; 10] = [
        RunStatus::Dispatching,
        RunStatus::Started,
        RunStatus::Dispatched,
        RunStatus::Escalating,
        RunStatus::Succeeding,
        RunStatus::Abandoning,
        RunStatus::Escalated,
        RunStatus::Succeeded,
        RunStatus::Abandoned,
        RunStatus::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Dispatching => "dispatching",
            RunStatus::Started => "started",
            RunStatus::Dispatched => "dispatched",
            RunStatus::Escalating => "escalating",
            RunStatus::Succeeding => "succeeding",
            RunStatus::Abandoning => "abandoning",
            RunStatus::Escalated => "escalated",
            RunStatus::Succeeded => "succeeded",
            RunStatus::Abandoned => "abandoned",
            RunStatus::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<RunStatus> {
        RunStatus::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// Holds its repo's slot: a run not yet final.
    pub fn in_flight(self) -> bool {
        !self.is_final()
    }

    pub fn is_final(self) -> bool {
        matches!(
            self,
            RunStatus::Escalated | RunStatus::Succeeded | RunStatus::Abandoned | RunStatus::Failed
        )
    }

    /// Followed by watch: an agent is (or may be) at work, or an end state's
    /// forge writes are still to do. `Started` is followed too, so a run whose
    /// label write keeps failing still stalls out instead of hiding.
    pub fn watched(self) -> bool {
        self.in_flight() && self != RunStatus::Dispatching
    }

    /// A decided end state still finishing its forge writes.
    pub fn decided(self) -> bool {
        matches!(
            self,
            RunStatus::Escalating | RunStatus::Succeeding | RunStatus::Abandoning
        )
    }

    pub fn in_flight_set() -> Vec<RunStatus> {
        RunStatus::ALL
            .into_iter()
            .filter(|s| s.in_flight())
            .collect()
    }

    pub fn watched_set() -> Vec<RunStatus> {
        RunStatus::ALL.into_iter().filter(|s| s.watched()).collect()
    }
}

impl fmt::Display for RunStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for RunStatus {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// Where a template version is in its life (docs/reports.md#afk-template):
/// added as a `candidate`, live as the `canary`, the `current` version poll
/// uses, `retired` when another became current, `rejected` when it lost or a
/// person rejected it. Stored as these words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VersionStatus {
    Candidate,
    Canary,
    Current,
    Retired,
    Rejected,
}

impl VersionStatus {
    pub const ALL: [VersionStatus; 5] = [
        VersionStatus::Candidate,
        VersionStatus::Canary,
        VersionStatus::Current,
        VersionStatus::Retired,
        VersionStatus::Rejected,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            VersionStatus::Candidate => "candidate",
            VersionStatus::Canary => "canary",
            VersionStatus::Current => "current",
            VersionStatus::Retired => "retired",
            VersionStatus::Rejected => "rejected",
        }
    }

    pub fn parse(s: &str) -> Option<VersionStatus> {
        VersionStatus::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

impl fmt::Display for VersionStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for VersionStatus {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}
