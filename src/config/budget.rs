//! `[budget]`: what afk may spend.

use anyhow::Result;
use serde::Deserialize;
use std::time::Duration;

use super::check::Checker;
use super::values::{DAY, de_opt_duration};

/// `[budget]`: spend limits. 0 (or `run_time = ""`) means no limit. Poll
/// enforces the day limits before dispatch, watch `run_usd` and `run_time`
/// during every run (`core::budget::spend`, `core::run_state`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Budget {
    pub run_usd: f64,
    pub day_usd: f64,
    pub repo_day_usd: f64,
    /// Wall-clock limit of one run from dispatch; `None` (`""` or `"0s"`): no limit.
    #[serde(deserialize_with = "de_opt_duration")]
    pub run_time: Option<Duration>,
    /// How long a run stopped at `run_usd` or `run_time` stays paused for a
    /// person to continue it before it escalates as before; `None` (`"0s"`
    /// or `""`): never pause, escalate at once.
    #[serde(deserialize_with = "de_opt_duration")]
    pub pause_for: Option<Duration>,
    /// The most a trusted `/afk budget` comment may set a run's money limit
    /// to; 0: comments cannot raise money.
    pub max_run_usd: f64,
    /// The most a trusted `/afk budget time` comment may set a run's time
    /// limit to; `None` (`""`): comments cannot raise time.
    #[serde(deserialize_with = "de_opt_duration")]
    pub max_run_time: Option<Duration>,
    /// On the issue while its run is paused; `""`: none.
    pub paused_label: String,
    /// How many times a run paused at a day's cap continues by itself at
    /// 00:00 UTC, over its life (0: never); after that a day's-cap pause
    /// waits for a person like a `run_usd` pause (docs/configuration.md).
    pub day_continuations: u32,
}

impl Default for Budget {
    fn default() -> Self {
        Budget {
            run_usd: 0.0,
            day_usd: 0.0,
            repo_day_usd: 0.0,
            run_time: None,
            // a run at run_usd or run_time pauses for a week
            pause_for: Some(Duration::from_secs(7 * DAY)),
            max_run_usd: 0.0,
            max_run_time: None,
            paused_label: "agent-paused".into(),
            // a day's cap ends: once by itself, then a person
            day_continuations: 1,
        }
    }
}

impl Budget {
    pub(super) fn validate(&self, c: &Checker, poll_labels: [&str; 2]) -> Result<()> {
        let secs = Duration::from_secs;
        let b = self;
        for (key, v) in [
            ("run_usd", b.run_usd),
            ("day_usd", b.day_usd),
            ("repo_day_usd", b.repo_day_usd),
            ("max_run_usd", b.max_run_usd),
        ] {
            c.number(
                "budget",
                key,
                v,
                |v| v.is_finite() && v >= 0.0,
                "a number of at least 0",
            )?;
        }
        if let Some(t) = b.run_time {
            c.duration("budget", "run_time", t, secs(1), secs(30 * DAY))?;
        }
        if let Some(t) = b.max_run_time {
            c.duration("budget", "max_run_time", t, secs(1), secs(30 * DAY))?;
        }
        if let Some(t) = b.pause_for {
            c.duration("budget", "pause_for", t, secs(1), secs(30 * DAY))?;
        }
        // a comment may only raise: a maximum below the config's own limit
        // could never be reached
        if b.max_run_usd > 0.0 && b.run_usd > 0.0 && b.max_run_usd < b.run_usd {
            return Err(c.err(
                "budget",
                "max_run_usd",
                format!(
                    "{} must be 0 or at least run_usd ({})",
                    b.max_run_usd, b.run_usd
                ),
            ));
        }
        if let (Some(max), Some(limit)) = (b.max_run_time, b.run_time)
            && max < limit
        {
            return Err(c.err(
                "budget",
                "max_run_time",
                format!(
                    "\"{}\" must be \"\" or at least run_time (\"{}\")",
                    super::format_duration(max),
                    super::format_duration(limit)
                ),
            ));
        }
        if b.day_continuations > 30 {
            return Err(c.err(
                "budget",
                "day_continuations",
                format!("{} must be 0 to 30", b.day_continuations),
            ));
        }
        if b.paused_label.trim() != b.paused_label || b.paused_label.contains(',') {
            return Err(c.err(
                "budget",
                "paused_label",
                "must be a label name: no leading or trailing spaces, no comma (\"\": none)",
            ));
        }
        // afk moves its own labels by name: the paused one is none of poll's
        if !b.paused_label.is_empty() && poll_labels.contains(&b.paused_label.as_str()) {
            return Err(c.err(
                "budget",
                "paused_label",
                format!(
                    "\"{}\" is already [poll]'s ready_label or in_progress_label",
                    b.paused_label
                ),
            ));
        }
        Ok(())
    }
}
