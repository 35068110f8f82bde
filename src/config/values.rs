//! The value types a config key may hold: durations, optional paths and
//! repositories, http(s) URLs; each parsed once, at load.

use serde::{Deserialize, Deserializer};
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::RepoName;

pub(super) const MINUTE: u64 = 60;
const HOUR: u64 = 3600;
pub(super) const DAY: u64 = 86400;

/// Parse a duration string: `"90s"`, `"30m"`, `"2h"`, `"7d"` (also `"500ms"`).
/// A number too large for a `Duration` in seconds is an error, never wrapped.
pub fn parse_duration(s: &str) -> Result<Duration, crate::types::Invalid> {
    let s = s.trim();
    let (num, unit) = match s.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => s.split_at(i),
        None => {
            return Err(format!("\"{s}\" has no unit (use s, m, h or d, e.g. \"30m\")").into());
        }
    };
    if num.is_empty() {
        return Err(
            format!("\"{s}\" is not a duration (e.g. \"90s\", \"30m\", \"2h\", \"7d\")").into(),
        );
    }
    let too_large = || format!("\"{s}\" is too large");
    let n: u64 = num.parse().map_err(|_| too_large())?;
    let per = match unit {
        "ms" => return Ok(Duration::from_millis(n)),
        "s" => 1,
        "m" => MINUTE,
        "h" => HOUR,
        "d" => DAY,
        _ => {
            return Err(
                format!("\"{s}\" has an unknown unit \"{unit}\" (use s, m, h or d)").into(),
            );
        }
    };
    n.checked_mul(per)
        .map(Duration::from_secs)
        .ok_or_else(|| too_large().into())
}

pub(super) fn de_duration<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let s = String::deserialize(d)?;
    parse_duration(&s).map_err(serde::de::Error::custom)
}

/// `""` and `"0s"` are `None` (no limit).
pub(super) fn de_opt_duration<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<Duration>, D::Error> {
    let s = String::deserialize(d)?;
    if s.trim().is_empty() {
        return Ok(None);
    }
    let v = parse_duration(&s).map_err(serde::de::Error::custom)?;
    Ok(Some(v).filter(|v| !v.is_zero()))
}

/// `""` is `None`; anything else must be `owner/repo`, parsed here once.
pub(super) fn de_repo<'de, D: Deserializer<'de>>(d: D) -> Result<Option<RepoName>, D::Error> {
    let s = String::deserialize(d)?;
    if s.is_empty() {
        return Ok(None);
    }
    RepoName::parse_any(&s)
        .map(Some)
        .map_err(|_| serde::de::Error::custom(format!("\"{s}\" is not owner/repo")))
}

/// `""` is `None`; anything else must be `owner/repo#N`, parsed here once.
pub(super) fn de_issue_ref<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<crate::core::status::issue::IssueRef>, D::Error> {
    let s = String::deserialize(d)?;
    if s.trim().is_empty() {
        return Ok(None);
    }
    crate::core::status::issue::IssueRef::parse(&s)
        .map(Some)
        .map_err(serde::de::Error::custom)
}

/// `""` is `None`; relative paths are resolved later, in [`super::Config::parse`].
pub(super) fn de_path<'de, D: Deserializer<'de>>(d: D) -> Result<Option<PathBuf>, D::Error> {
    let s = String::deserialize(d)?;
    Ok(Some(PathBuf::from(s)).filter(|p| !p.as_os_str().is_empty()))
}

/// `p` made absolute against the current directory (without touching the disk).
pub(super) fn absolute(p: &Path) -> PathBuf {
    std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())
}

/// `http://host...` or `https://host...` with a non-empty host and no whitespace.
pub(super) fn is_http_url(s: &str) -> bool {
    let rest = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"));
    rest.is_some_and(|r| {
        let host = r.split(['/', '?', '#']).next().unwrap_or("");
        !host.is_empty() && !s.contains(char::is_whitespace)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::format_duration;
    use crate::config::tests::err;

    #[test]
    fn durations_parse() {
        let cases = [
            ("90s", Ok(Duration::from_secs(90))),
            ("30m", Ok(Duration::from_secs(1800))),
            ("2h", Ok(Duration::from_secs(7200))),
            ("7d", Ok(Duration::from_secs(604800))),
            ("0s", Ok(Duration::ZERO)),
            ("500ms", Ok(Duration::from_millis(500))),
            ("10", Err("has no unit")),
            ("10w", Err("unknown unit")),
            ("abc", Err("is not a duration")),
            ("-5s", Err("is not a duration")),
            ("s", Err("is not a duration")),
        ];
        for (input, want) in cases {
            match (parse_duration(input), want) {
                (Ok(got), Ok(want)) => assert_eq!(got, want, "case {input:?}"),
                (Err(e), Err(want)) => assert!(e.0.contains(want), "case {input:?}: {e}"),
                (got, want) => panic!("case {input:?}: got {got:?}, want {want:?}"),
            }
        }
    }

    #[test]
    fn duration_overflow_is_an_error_not_a_wrap() {
        let cases = [
            "307445734561825861m",
            "213503982334602d",
            "5124095576030432h",
            "99999999999999999999s",
        ];
        for input in cases {
            let e = parse_duration(input).unwrap_err();
            assert!(e.0.contains("too large"), "case {input:?}: {e}");
        }
        let e = err("[runner]\nstall_after = \"307445734561825861m\"\n");
        assert!(
            e.starts_with("config: runner.stall_after at line 2: "),
            "{e}"
        );
    }

    #[test]
    fn format_duration_round_trips() {
        let cases = [
            (Duration::ZERO, "0s"),
            (Duration::from_secs(90), "90s"),
            (Duration::from_secs(1800), "30m"),
            (Duration::from_secs(7200), "2h"),
            (Duration::from_secs(7 * 86400), "7d"),
            (Duration::from_millis(1500), "1500ms"),
        ];
        for (d, s) in cases {
            assert_eq!(format_duration(d), s, "case {d:?}");
            assert_eq!(parse_duration(s).unwrap(), d, "case {s:?}");
        }
    }

    #[test]
    fn bad_duration_is_rejected_naming_key_and_line() {
        let e = err("[runner]\nstall_after = \"soon\"\n");
        assert!(
            e.starts_with("config: runner.stall_after at line 2:"),
            "{e}"
        );
    }
}
