//! `[lessons]`: what afk remembers from failed runs.

use anyhow::Result;
use serde::Deserialize;
use std::time::Duration;

use super::check::Checker;
use super::values::{DAY, de_duration};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Lessons {
    pub enabled: bool,
    /// Zero disables deduplication. 0..=365d.
    #[serde(deserialize_with = "de_duration")]
    pub dedup_window: Duration,
    pub in_prompt: usize,
    /// `afk lessons list` without `--limit` shows at most this many. 1..=10000.
    pub list_limit: usize,
}
impl Default for Lessons {
    fn default() -> Self {
        Lessons {
            enabled: true,
            dedup_window: Duration::from_secs(3600),
            in_prompt: 5,
            list_limit: 100,
        }
    }
}

impl Lessons {
    pub(super) fn validate(&self, c: &Checker) -> Result<()> {
        let secs = Duration::from_secs;
        c.duration(
            "lessons",
            "dedup_window",
            self.dedup_window,
            Duration::ZERO,
            secs(365 * DAY),
        )?;
        c.number(
            "lessons",
            "list_limit",
            self.list_limit,
            |v| (1..=10_000).contains(&v),
            "between 1 and 10000",
        )
    }
}
