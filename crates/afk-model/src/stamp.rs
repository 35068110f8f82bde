//! Moments as text: how afk writes a time into SQLite, a report or a comment,
//! and reads one back from the forge or the store. Pure: reading the clock
//! is the binary's (`afk::clock::now`, pinned by `AFK_NOW`).

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// RFC 3339 text, whole seconds, UTC.
pub fn ts(t: OffsetDateTime) -> String {
    t.to_offset(time::UtcOffset::UTC)
        .replace_nanosecond(0)
        .unwrap_or(t)
        .format(&Rfc3339)
        .unwrap_or_default()
}

/// RFC 3339 text, UTC, with exactly six digits of the second's fraction
/// (`2026-01-01T12:00:00.300000Z`). The moments harvest orders by (a run's
/// dispatch and end, a canary going live) are stored so: a fixed width orders
/// as text, and two moments in the same second are still told apart (SPEC
/// 7.4's "dispatched since the canary went live" is exact).
pub fn ts_precise(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    let f = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z"
    );
    t.format(&f).unwrap_or_else(|_| ts(t))
}

/// Parse stored or forge RFC 3339 text (any offset).
pub fn parse(s: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(s.trim(), &Rfc3339).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precise_stamps_have_a_fixed_width_and_order_as_text() {
        let t = |s: &str| parse(s).unwrap();
        let a = ts_precise(t("2026-01-01T12:00:00.3Z"));
        let b = ts_precise(t("2026-01-01T12:00:00.7Z"));
        let c = ts_precise(t("2026-01-01T14:00:01+02:00"));
        assert_eq!(a, "2026-01-01T12:00:00.300000Z");
        assert_eq!(c, "2026-01-01T12:00:01.000000Z");
        assert!(a < b && b < c);
        assert_eq!(parse(&a), Some(t("2026-01-01T12:00:00.3Z")));
    }
}
