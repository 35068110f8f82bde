//! `[harvest]`: how afk learns whether a template works (the canary).

use anyhow::Result;
use serde::Deserialize;
use std::time::Duration;

use super::check::Checker;
use super::values::{DAY, de_duration};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Harvest {
    pub canary: bool,
    pub sample: f64,
    pub min_samples: u32,
    pub check_every: u32,
    pub max_samples: u32,
    pub confidence: f64,
    pub graduate_at_max: f64,
    pub early_failures: u32,
    /// A success whose merge is reverted within this window becomes a failure;
    /// zero: off. 0..=365d.
    #[serde(deserialize_with = "de_duration")]
    pub revert_window: Duration,
    /// A merged run's added lines are counted at merge + this (line
    /// survival); at least 1s.
    #[serde(deserialize_with = "de_duration")]
    pub survival_window: Duration,
    /// How often a harvest tick is expected: overdue after twice this
    /// (docs/reports.md#afk-status).
    #[serde(deserialize_with = "de_duration")]
    pub expect_every: Duration,
}

impl Harvest {
    /// The canary decision's `[harvest]` keys (`core::canary::Policy`):
    /// harvest applies it, status and `template show` show its next checkpoint.
    pub fn policy(&self) -> crate::core::canary::Policy {
        crate::core::canary::Policy {
            min_samples: self.min_samples,
            check_every: self.check_every,
            max_samples: self.max_samples,
            confidence: self.confidence,
            graduate_at_max: self.graduate_at_max,
            early_failures: self.early_failures,
        }
    }
}
impl Default for Harvest {
    fn default() -> Self {
        Harvest {
            canary: false,
            sample: 0.2,
            min_samples: 20,
            check_every: 10,
            max_samples: 40,
            confidence: 0.975,
            graduate_at_max: 0.5,
            early_failures: 5,
            revert_window: Duration::from_secs(7 * DAY),
            survival_window: Duration::from_secs(30 * DAY),
            expect_every: Duration::from_secs(15 * 60),
        }
    }
}

impl Harvest {
    pub(super) fn validate(&self, c: &Checker) -> Result<()> {
        let secs = Duration::from_secs;
        let h = self;
        c.number(
            "harvest",
            "sample",
            h.sample,
            |v| (0.0..=1.0).contains(&v),
            "between 0 and 1",
        )?;
        c.number(
            "harvest",
            "confidence",
            h.confidence,
            |v| v > 0.5 && v < 1.0,
            "above 0.5 and below 1",
        )?;
        c.number(
            "harvest",
            "graduate_at_max",
            h.graduate_at_max,
            |v| (0.0..1.0).contains(&v),
            "at least 0 and below 1",
        )?;
        c.number(
            "harvest",
            "min_samples",
            h.min_samples,
            |v| v >= 1,
            "at least 1",
        )?;
        c.number(
            "harvest",
            "check_every",
            h.check_every,
            |v| v >= 1,
            "at least 1",
        )?;
        let min = h.min_samples;
        c.number(
            "harvest",
            "max_samples",
            h.max_samples,
            |v| v >= min,
            &format!("at least harvest.min_samples ({min})"),
        )?;
        c.duration(
            "harvest",
            "revert_window",
            h.revert_window,
            Duration::ZERO,
            secs(365 * DAY),
        )?;
        c.duration(
            "harvest",
            "survival_window",
            h.survival_window,
            secs(1),
            secs(3650 * DAY),
        )?;
        Ok(())
    }
}
