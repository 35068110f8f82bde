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
/// as text, and two moments in the same second are still told apart (the
/// canary's "dispatched since the canary went live" is exact).
pub fn ts_precise(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    let f = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z"
    );
    t.format(&f).unwrap_or_else(|_| ts(t))
}

/// A stored moment as a person reads it: whole seconds, as [`ts`] writes
/// them (`2026-01-01T12:00:00.300000Z` → `2026-01-01T12:00:00Z`); text that
/// is not such a moment is returned as it is.
pub fn shown(stored: &str) -> String {
    match stored.find('.') {
        Some(dot) if dot == 19 && stored.as_bytes().get(10) == Some(&b'T') => {
            let rest = &stored[dot + 1..];
            let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
            if digits == 0 {
                return stored.to_string();
            }
            format!("{}{}", &stored[..dot], &rest[digits..])
        }
        _ => stored.to_string(),
    }
}

/// Parse stored or forge RFC 3339 text (any offset).
pub fn parse(s: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(s.trim(), &Rfc3339).ok()
}

/// A moment, always in UTC: what afk stores, compares and prints. Ordered by
/// time (never by text: `12:00:00Z` and `12:00:00.5Z` order wrongly as text),
/// written as RFC 3339 with whole seconds ([`ts`]) in SQLite and reports, and
/// read back from any RFC 3339 text, whatever its offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(OffsetDateTime);

impl Timestamp {
    /// `t` in UTC.
    pub fn new(t: OffsetDateTime) -> Timestamp {
        Timestamp(t.to_offset(time::UtcOffset::UTC))
    }

    /// Stored or forge RFC 3339 text (any offset); None when it is not one.
    pub fn parse(s: &str) -> Option<Timestamp> {
        parse(s).map(Timestamp::new)
    }

    /// The moment, for arithmetic with durations.
    pub fn at(self) -> OffsetDateTime {
        self.0
    }

    /// RFC 3339, UTC, whole seconds: how it is stored and shown.
    pub fn text(self) -> String {
        ts(self.0)
    }

    /// RFC 3339, UTC, six fractional digits: for the moments ordered to the
    /// microsecond ([`ts_precise`]).
    pub fn precise(self) -> String {
        ts_precise(self.0)
    }
}

impl From<OffsetDateTime> for Timestamp {
    fn from(t: OffsetDateTime) -> Timestamp {
        Timestamp::new(t)
    }
}

impl std::fmt::Display for Timestamp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text())
    }
}

impl serde::Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text())
    }
}

/// Whole seconds from `since` to `now` (0 when `since` is not a time).
pub fn age_seconds(since: &str, now: OffsetDateTime) -> i64 {
    OffsetDateTime::parse(since, &Rfc3339)
        .map(|t| (now - t).whole_seconds().max(0))
        .unwrap_or(0)
}

/// How long ago `since` was, as a person reads it: seconds under two
/// minutes, minutes under two hours, hours under two days, else days
/// (`42s`, `7m`, `3h`, `2d`); empty when `since` is not a time.
pub fn age(since: &str, now: OffsetDateTime) -> String {
    if OffsetDateTime::parse(since, &Rfc3339).is_err() {
        return String::new();
    }
    let s = age_seconds(since, now);
    match s {
        0..=119 => format!("{s}s"),
        120..=7199 => format!("{}m", s / 60),
        7200..=172_799 => format!("{}h", s / 3600),
        _ => format!("{}d", s / 86400),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_order_by_time_and_read_any_offset() {
        let t = |s: &str| Timestamp::parse(s).unwrap();
        let cases = [
            // (earlier, later): text order would get the first two wrong
            ("2026-01-01T12:00:00Z", "2026-01-01T12:00:00.500000Z"),
            ("2026-01-01T13:30:00+02:00", "2026-01-01T12:00:00Z"),
            ("2026-01-01T12:00:00Z", "2026-01-01T12:00:01Z"),
        ];
        for (a, b) in cases {
            assert!(t(a) < t(b), "{a} < {b}");
        }
        assert_eq!(t("2026-01-01T14:00:00+02:00"), t("2026-01-01T12:00:00Z"));
        assert_eq!(
            t("2026-01-01T14:00:00.7+02:00").text(),
            "2026-01-01T12:00:00Z"
        );
        assert_eq!(
            t("2026-01-01T12:00:00.3Z").precise(),
            "2026-01-01T12:00:00.300000Z"
        );
        assert_eq!(Timestamp::parse("yesterday"), None);
        assert_eq!(Timestamp::parse(""), None);
    }

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

    #[test]
    fn a_stored_moment_is_shown_in_whole_seconds() {
        let cases = [
            ("2026-01-01T12:00:00.300000Z", "2026-01-01T12:00:00Z"),
            ("2026-01-01T12:00:00Z", "2026-01-01T12:00:00Z"),
            ("2026-01-01T12:00:00.5+02:00", "2026-01-01T12:00:00+02:00"),
            ("-", "-"),
            ("v1.2.3", "v1.2.3"),
        ];
        for (stored, want) in cases {
            assert_eq!(shown(stored), want, "{stored}");
        }
    }
}
