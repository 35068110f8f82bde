//! `[budget]`: what afk may spend.

use anyhow::Result;
use serde::Deserialize;
use std::time::Duration;

use super::check::Checker;
use super::values::{DAY, de_opt_duration};

/// `[budget]`: spend limits. 0 (or `run_time = ""`) means no limit. Poll
/// enforces the day limits before dispatch, watch `run_usd` and `run_time`
/// during every run (`core::spend`, `core::run_state`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Budget {
    pub run_usd: f64,
    pub day_usd: f64,
    pub repo_day_usd: f64,
    /// Wall-clock limit of one run from dispatch; `None` (`""` or `"0s"`): no limit.
    #[serde(deserialize_with = "de_opt_duration")]
    pub run_time: Option<Duration>,
}

impl Budget {
    pub(super) fn validate(&self, c: &Checker) -> Result<()> {
        let secs = Duration::from_secs;
        let b = self;
        for (key, v) in [
            ("run_usd", b.run_usd),
            ("day_usd", b.day_usd),
            ("repo_day_usd", b.repo_day_usd),
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
        Ok(())
    }
}
