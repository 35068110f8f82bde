//! A tick's own deadline (`tick_timeout`) and SIGTERM: why it stops, the
//! grace it has to finish the step in hand before it abandons what is in
//! flight (crash-safe: the next tick reconciles), its exit code and its line.

use std::time::Duration;

/// Why a tick was told to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// it reached `tick_timeout`
    Deadline,
    /// a SIGTERM (systemd stopping the unit, a CronJob's deadline, kill)
    Term,
}

impl Stop {
    /// The exit code (docs/exit-codes.md): 5 for the deadline; 143 (128 +
    /// SIGTERM, as a shell reports it) for a SIGTERM.
    pub fn exit_code(self) -> u8 {
        match self {
            Stop::Deadline => 5,
            Stop::Term => 143,
        }
    }

    /// The error line the tick prints when it stops.
    pub fn line(self, kind: &str, timeout: Duration, abandoned: bool) -> String {
        let what = match self {
            Stop::Deadline => format!(
                "{kind}: the tick reached its tick_timeout ({}s)",
                timeout.as_secs()
            ),
            Stop::Term => format!("{kind}: the tick got SIGTERM"),
        };
        let how = if abandoned {
            "it left the step in hand unfinished; the next tick reconciles it"
        } else {
            "it finished the step in hand and started nothing more; the next tick goes on"
        };
        let fix = match self {
            Stop::Deadline => {
                "; if ticks need longer, raise tick_timeout (and the unit's TimeoutStartSec)"
            }
            Stop::Term => "",
        };
        format!("{what}: {how}{fix}")
    }
}

/// The deadline of a tick of `kind`: `tick_timeout`, except the upgrade
/// tick's, which clones recipes and lists registries and has at least an hour
/// (its systemd unit's `TimeoutStartSec`, its CronJob's deadline kept above).
pub fn timeout_for(kind: &str, tick_timeout: Duration) -> Duration {
    match kind {
        "upgrade" => tick_timeout.max(Duration::from_secs(3600)),
        _ => tick_timeout,
    }
}

/// How long a stopped tick may take to finish the step in hand before it
/// exits anyway: a quarter of `tick_timeout`, from 2 to 60 seconds; after a
/// SIGTERM at most 10 seconds (systemd's SIGKILL follows).
pub fn grace(stop: Stop, timeout: Duration) -> Duration {
    let quarter = (timeout / 4).clamp(Duration::from_secs(2), Duration::from_secs(60));
    match stop {
        Stop::Deadline => quarter,
        Stop::Term => quarter.min(Duration::from_secs(10)),
    }
}

/// A tick kind's health line (SPEC 10.1), by precedence: `never` (no start
/// recorded), `overdue` (the last start older than twice `expect`: the
/// kind's `expect_every`),
/// `failed` (the last exit neither 0 nor 141), `ok`.
pub fn health(started_secs_ago: Option<i64>, exit: Option<i64>, expect: Duration) -> &'static str {
    let Some(ago) = started_secs_ago else {
        return "never";
    };
    if ago > 2 * expect.as_secs() as i64 {
        return "overdue";
    }
    match exit {
        Some(0 | 141) | None => "ok",
        Some(_) => "failed",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tick_kind_is_never_overdue_failed_or_ok_in_that_order() {
        let five = Duration::from_secs(300);
        let table = [
            ("no start recorded", None, None, "never"),
            (
                "older than twice its interval",
                Some(601),
                Some(0),
                "overdue",
            ),
            ("overdue before failed", Some(601), Some(1), "overdue"),
            ("a non-zero exit", Some(60), Some(5), "failed"),
            ("a closed stdout is no failure", Some(60), Some(141), "ok"),
            ("running now (no end yet)", Some(60), None, "ok"),
            ("fine", Some(600), Some(0), "ok"),
        ];
        for (rule, ago, exit, want) in table {
            assert_eq!(health(ago, exit, five), want, "{rule}");
        }
    }

    #[test]
    fn a_stopped_tick_has_a_bounded_grace_and_a_documented_exit_code() {
        let s = Duration::from_secs;
        let table = [
            ("a quarter of the deadline", Stop::Deadline, s(600), s(60)),
            ("at most a minute", Stop::Deadline, s(3600), s(60)),
            ("at least two seconds", Stop::Deadline, s(4), s(2)),
            ("a quarter", Stop::Deadline, s(40), s(10)),
            (
                "after SIGTERM at most ten seconds",
                Stop::Term,
                s(600),
                s(10),
            ),
        ];
        for (rule, stop, timeout, want) in table {
            assert_eq!(grace(stop, timeout), want, "{rule}");
        }
        let m = |n: u64| Duration::from_secs(60 * n);
        assert_eq!(timeout_for("poll", m(10)), m(10), "tick_timeout as it is");
        assert_eq!(
            timeout_for("upgrade", m(10)),
            m(60),
            "upgrade: at least an hour"
        );
        assert_eq!(timeout_for("upgrade", m(90)), m(90), "or more when asked");
        assert_eq!(Stop::Deadline.exit_code(), 5);
        assert_eq!(Stop::Term.exit_code(), 143);
        let l = Stop::Deadline.line("poll", s(600), true);
        assert!(
            l.starts_with("poll: the tick reached its tick_timeout (600s)")
                && l.contains("reconciles"),
            "{l}"
        );
        assert!(Stop::Term.line("watch", s(600), false).contains("SIGTERM"));
    }
}
