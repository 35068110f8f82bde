//! The kinds of tick: what a tick's report, lock, metrics lines and
//! heartbeat are named after.

crate::named_enum! {
    /// One of the ticks cron runs (docs/operations.md): each has its own lock,
    /// its own metrics lines and its own heartbeat. The name is the
    /// subcommand's.
    #[derive(PartialOrd, Ord, Default)]
    TickKind {
        #[default]
        Poll => "poll",
        Watch => "watch",
        Harvest => "harvest",
        Upgrade => "upgrade",
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
