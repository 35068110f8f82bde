//! The kinds of tick: what a tick's report, lock, metrics lines and
//! heartbeat are named after.

use serde::{Serialize, Serializer};
use std::fmt;

/// One of the ticks cron runs (SPEC 2): each has its own lock, its own
/// metrics lines and its own heartbeat.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub enum TickKind {
    #[default]
    Poll,
    Watch,
    Harvest,
    Upgrade,
}

impl TickKind {
    /// Every kind, in the order the config's `[notify.heartbeat]` lists them.
    pub const ALL: [TickKind; 4] = [
        TickKind::Poll,
        TickKind::Watch,
        TickKind::Harvest,
        TickKind::Upgrade,
    ];

    /// The name: the subcommand, the lock file's, the metrics label's.
    pub fn as_str(self) -> &'static str {
        match self {
            TickKind::Poll => "poll",
            TickKind::Watch => "watch",
            TickKind::Harvest => "harvest",
            TickKind::Upgrade => "upgrade",
        }
    }
}

impl fmt::Display for TickKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for TickKind {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tick_is_named_as_its_subcommand() {
        let names: Vec<&str> = TickKind::ALL.iter().map(|k| k.as_str()).collect();
        assert_eq!(names, ["poll", "watch", "harvest", "upgrade"]);
        assert_eq!(
            serde_json::to_string(&TickKind::Harvest).unwrap(),
            "\"harvest\""
        );
        assert_eq!(TickKind::Watch.to_string(), "watch");
    }
}
