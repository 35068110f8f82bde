//! The tick's clock. Commands read it once and pass `now` into the core; the
//! store stamps rows with it. `AFK_NOW` (RFC 3339) pins it, so tests and the
//! demo can say "three hours later" without sleeping or editing rows. How a
//! moment is written as text is the model's (`afk_model::stamp`).

use std::sync::OnceLock;
use time::OffsetDateTime;

pub use afk_model::stamp::{parse, shown, ts, ts_precise};

static PINNED: OnceLock<Option<OffsetDateTime>> = OnceLock::new();

fn pinned() -> Option<OffsetDateTime> {
    *PINNED.get_or_init(|| std::env::var("AFK_NOW").ok().and_then(|s| parse(&s)))
}

/// A one-line error when `AFK_NOW` is set but is not an RFC 3339 time.
pub fn check() -> Result<(), afk_model::Invalid> {
    match std::env::var("AFK_NOW") {
        Ok(s) if parse(&s).is_none() => Err(afk_model::Invalid(format!(
            "AFK_NOW is set to \"{s}\", which is not an RFC 3339 time (like 2026-01-01T12:00:00Z)"
        ))),
        _ => Ok(()),
    }
}

/// The system clock in Unix milliseconds, never `AFK_NOW`: for times one
/// process of afk leaves another on this machine (a new comment's edit
/// grace, `afk hook`), which a pinned clock must not move.
pub fn wall_ms() -> i64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(now.as_millis()).unwrap_or(i64::MAX)
}

/// Now: `AFK_NOW` when set, else the system clock, in UTC.
pub fn now() -> OffsetDateTime {
    pinned().unwrap_or_else(OffsetDateTime::now_utc)
}
