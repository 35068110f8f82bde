//! What `afk status` says in words (docs/reports.md#afk-status): its
//! headline, a held run's line, a live canary's line, an agent's phase.
//! The command gathers the values; these decide the words.

use crate::plural;

/// `poll enabled (2 repos allowlisted); 1 run in flight`, the stop file
/// said when it is there.
pub fn headline(poll_enabled: bool, repos: usize, stop_file: bool, in_flight: usize) -> String {
    format!(
        "poll {} ({} allowlisted){}; {} in flight\n",
        if poll_enabled { "enabled" } else { "disabled" },
        plural(repos, "repo", "repos"),
        if stop_file { "; STOP FILE PRESENT" } else { "" },
        plural(in_flight, "run", "runs"),
    )
}

/// A held run's line: who holds it, since when, and what ends the hold.
pub fn held_line(run: &str, run_id: i64, by: &str, since: &str, age: &str) -> String {
    format!(
        "{run} (run {run_id}) is {}; a trusted `resume` command ends it\n",
        crate::conversation::held_text(by, since, age)
    )
}

/// A paused run's words: the limit it stopped at, since when, and how a
/// person continues it.
pub fn paused_text(limit: &str, since: &str, age: &str) -> String {
    format!("paused at `budget.{limit}` since {since} ({age})")
}

/// A paused run's line in `afk status`: how it continues (a day's cap by
/// itself at midnight).
pub fn paused_line(run: &str, run_id: i64, limit: &str, since: &str, age: &str) -> String {
    let how = match crate::budget::Limit::parse(limit).is_some_and(|l| l.is_day()) {
        true => "it continues by itself at 00:00 UTC",
        false => "a trusted `budget` or `resume` command continues it",
    };
    format!(
        "{run} (run {run_id}) is {}; {how}\n",
        paused_text(limit, since, age)
    )
}

/// The PHASE cell: the agent's latest phase and how long ago, `-` when it
/// reported none.
pub fn phase_cell(phase: Option<&str>, ago: Option<&str>) -> String {
    match (phase, ago) {
        (Some(p), Some(a)) => format!("{p} ({a} ago)"),
        (Some(p), None) => p.to_string(),
        _ => "-".into(),
    }
}

/// A live canary and where it stands.
pub struct Canary<'a> {
    pub name: &'a str,
    pub version: i64,
    pub success: u64,
    pub failure: u64,
    pub next_checkpoint: Option<u32>,
    /// `harvest.canary`: dispatches are routed to it
    pub routing: bool,
    pub sample: f64,
}

/// `implementer@2 is the live canary: 5 outcomes (…), next checkpoint at 6; 50% of dispatches go to it`
pub fn canary_line(c: &Canary) -> String {
    format!(
        "{}@{} is the live canary: {} ({} success, {} failure), next checkpoint at {}{}\n",
        c.name,
        c.version,
        plural((c.success + c.failure) as usize, "outcome", "outcomes"),
        c.success,
        c.failure,
        c.next_checkpoint.map_or("-".into(), |n| n.to_string()),
        if c.routing {
            format!("; {:.0}% of dispatches go to it", c.sample * 100.0)
        } else {
            "; routing is off (harvest.canary = false), harvest still decides it".into()
        }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_says_the_poll_the_stop_file_and_the_runs_in_flight() {
        let cases = [
            (
                (true, 2, false, 1),
                "poll enabled (2 repos allowlisted); 1 run in flight\n",
            ),
            (
                (false, 1, true, 0),
                "poll disabled (1 repo allowlisted); STOP FILE PRESENT; 0 runs in flight\n",
            ),
        ];
        for ((on, repos, stop, n), want) in cases {
            assert_eq!(headline(on, repos, stop, n), want);
        }
    }

    #[test]
    fn an_agents_phase_shows_with_its_age_or_a_dash() {
        let cases = [
            ((Some("green"), Some("3m")), "green (3m ago)"),
            ((Some("green"), None), "green"),
            ((None, Some("3m")), "-"),
            ((None, None), "-"),
        ];
        for ((p, a), want) in cases {
            assert_eq!(phase_cell(p, a), want);
        }
    }

    #[test]
    fn a_canary_line_says_its_outcomes_its_checkpoint_and_whether_it_is_routed() {
        let c = |routing| Canary {
            name: "implementer",
            version: 2,
            success: 1,
            failure: 4,
            next_checkpoint: Some(6),
            routing,
            sample: 0.5,
        };
        let cases = [
            (
                true,
                "implementer@2 is the live canary: 5 outcomes (1 success, 4 failure), next checkpoint at 6; 50% of dispatches go to it\n",
            ),
            (
                false,
                "implementer@2 is the live canary: 5 outcomes (1 success, 4 failure), next checkpoint at 6; routing is off (harvest.canary = false), harvest still decides it\n",
            ),
        ];
        for (routing, want) in cases {
            assert_eq!(canary_line(&c(routing)), want);
        }
        let paused = paused_line("acme/api#2", 3, "run_usd", "2026-11-25T10:00:00Z", "5m");
        assert_eq!(
            paused,
            "acme/api#2 (run 3) is paused at `budget.run_usd` since 2026-11-25T10:00:00Z (5m); \
             a trusted `budget` or `resume` command continues it\n"
        );
        let day = paused_line("acme/api#2", 3, "day_usd", "2026-11-25T10:00:00Z", "5m");
        assert!(
            day.ends_with("; it continues by itself at 00:00 UTC\n"),
            "{day}"
        );
        let held = held_line("acme/api#2", 3, "alice", "2026-11-25T10:00:00Z", "5m");
        assert!(
            held.starts_with("acme/api#2 (run 3) is held by alice"),
            "{held}"
        );
        assert!(
            held.ends_with("a trusted `resume` command ends it\n"),
            "{held}"
        );
    }
}
