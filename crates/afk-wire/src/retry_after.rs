//! `Retry-After` (RFC 9110 10.2.3): how long an answer asks the client to
//! wait, given as delay seconds or as an HTTP date, which proxies and CDNs
//! send. A date is read in the three forms a recipient must accept
//! (IMF-fixdate, the obsolete RFC 850 and asctime forms) and measured from
//! the answer's own `Date` header when it has one (the server's clock, so a
//! skew between the clocks does not count), else from now.

use std::time::Duration;
use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time};

/// The wait a `Retry-After` value asks for: None when it is neither form. A
/// date in the past asks for no wait.
pub fn wait(value: &str, date_header: Option<&str>, now: OffsetDateTime) -> Option<Duration> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        return value.parse::<u64>().ok().map(Duration::from_secs);
    }
    let at = http_date(value, now)?;
    let from = date_header.and_then(|d| http_date(d, now)).unwrap_or(now);
    let secs = (at - from).whole_seconds();
    Some(Duration::from_secs(u64::try_from(secs).unwrap_or(0)))
}

/// An HTTP date in any of its three forms (RFC 9110 5.6.7), always GMT; `now`
/// places RFC 850's two-digit year (one more than 50 years ahead is the past
/// century's).
pub fn http_date(s: &str, now: OffsetDateTime) -> Option<OffsetDateTime> {
    let parts: Vec<&str> = s.split_whitespace().collect();
    let (day, month, year, clock) = match parts.as_slice() {
        // IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT
        [wd, d, m, y, t, "GMT"] if weekday(wd.strip_suffix(',')?, false) => (*d, *m, year4(y)?, *t),
        // RFC 850: Sunday, 06-Nov-94 08:49:37 GMT
        [wd, dmy, t, "GMT"] if weekday(wd.strip_suffix(',')?, true) => {
            let mut it = dmy.split('-');
            let (d, m, y) = (it.next()?, it.next()?, it.next()?);
            if it.next().is_some() || y.len() != 2 {
                return None;
            }
            (d, m, year2(y.parse().ok()?, now.year()), *t)
        }
        // asctime: Sun Nov  6 08:49:37 1994
        [wd, m, d, t, y] if weekday(wd, false) => (*d, *m, year4(y)?, *t),
        _ => return None,
    };
    let day: u8 = day.parse().ok()?;
    let date = Date::from_calendar_date(year, month_of(month)?, day).ok()?;
    let mut hms = clock.split(':').map(|x| x.parse::<u8>().ok());
    let (h, m, sec) = (hms.next()??, hms.next()??, hms.next()??);
    if hms.next().is_some() {
        return None;
    }
    let time = Time::from_hms(h, m, sec).ok()?;
    Some(PrimitiveDateTime::new(date, time).assume_utc())
}

fn year4(y: &str) -> Option<i32> {
    (y.len() == 4).then(|| y.parse().ok()).flatten()
}

/// RFC 9110: a two-digit year more than 50 years in the future is the most
/// recent past year with the same last two digits.
fn year2(yy: i32, this_year: i32) -> i32 {
    let century = this_year - this_year.rem_euclid(100);
    let y = century + yy;
    if y > this_year + 50 { y - 100 } else { y }
}

fn weekday(s: &str, long: bool) -> bool {
    const DAYS: [&str; 7] = [
        "Monday",
        "Tuesday",
        "Wednesday",
        "Thursday",
        "Friday",
        "Saturday",
        "Sunday",
    ];
    DAYS.iter()
        .any(|d| if long { *d == s } else { &d[..3] == s })
}

fn month_of(s: &str) -> Option<Month> {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let i = MONTHS.iter().position(|m| *m == s)?;
    Month::try_from(u8::try_from(i + 1).ok()?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn retry_after_is_delay_seconds_or_an_http_date_in_any_of_its_three_forms() {
        let now = datetime!(1994-11-06 08:49:30 UTC);
        let s = |n| Some(Duration::from_secs(n));
        let table = [
            ("delay seconds", "120", None, s(120)),
            ("zero", "0", None, s(0)),
            ("spaces around", " 7 ", None, s(7)),
            (
                "IMF-fixdate, from now",
                "Sun, 06 Nov 1994 08:49:37 GMT",
                None,
                s(7),
            ),
            (
                "IMF-fixdate, from the answer's Date",
                "Sun, 06 Nov 1994 08:49:37 GMT",
                Some("Sun, 06 Nov 1994 08:49:35 GMT"),
                s(2),
            ),
            (
                "a Date that cannot be read: from now",
                "Sun, 06 Nov 1994 08:49:37 GMT",
                Some("yesterday"),
                s(7),
            ),
            ("RFC 850", "Sunday, 06-Nov-94 08:49:37 GMT", None, s(7)),
            ("asctime", "Sun Nov  6 08:49:37 1994", None, s(7)),
            (
                "asctime, two-digit day",
                "Sun Nov 16 08:49:30 1994",
                None,
                s(864_000),
            ),
            (
                "a date in the past: no wait",
                "Sun, 06 Nov 1994 08:00:00 GMT",
                None,
                s(0),
            ),
            ("a negative number", "-5", None, None),
            ("a fraction", "1.5", None, None),
            ("another zone", "Sun, 06 Nov 1994 08:49:37 PST", None, None),
            ("no such month", "Sun, 06 Foo 1994 08:49:37 GMT", None, None),
            ("no such day", "Sun, 31 Nov 1994 08:49:37 GMT", None, None),
            ("no such hour", "Sun, 06 Nov 1994 25:49:37 GMT", None, None),
            (
                "RFC 850 with a short weekday",
                "Sun, 06-Nov-94 08:49:37 GMT",
                None,
                None,
            ),
            ("empty", "", None, None),
        ];
        for (rule, value, date, want) in table {
            assert_eq!(wait(value, date, now), want, "{rule}");
        }
    }

    #[test]
    fn an_rfc_850_two_digit_year_more_than_50_years_ahead_is_the_last_century() {
        let table = [
            ("this century", 26, 2026, 2026),
            ("up to 50 years ahead", 76, 2026, 2076),
            ("more than 50 ahead: the past", 77, 2026, 1977),
            ("1994 seen from 2026", 94, 2026, 1994),
        ];
        for (rule, yy, now, want) in table {
            assert_eq!(year2(yy, now), want, "{rule}");
        }
    }
}
