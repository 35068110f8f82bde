//! `[report]`: how `afk report` counts the figures it sets beside the
//! published agent leaderboards (docs/reports.md#compared-with-published-figures).

use anyhow::Result;
use serde::Deserialize;

use super::check::Checker;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Report {
    /// A merged run counts as kept for the cost per kept run when, where its
    /// line survival was counted, it kept at least this share of its added
    /// lines. 0..=1.
    pub kept_floor: f64,
}

impl Default for Report {
    fn default() -> Self {
        Report {
            kept_floor: crate::core::status::leaderboard::DEFAULT_KEPT_FLOOR,
        }
    }
}

impl Report {
    pub(super) fn validate(&self, c: &Checker) -> Result<()> {
        c.number(
            "report",
            "kept_floor",
            self.kept_floor,
            |v| (0.0..=1.0).contains(&v),
            "between 0 and 1",
        )
    }
}
