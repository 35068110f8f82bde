//! The cadence of `afk upgrade` (`scan_every`, docs/configuration.md): the
//! registries are asked for new tags (and so new PRs are opened) at most once
//! per `scan_every`; every other tick only reconciles the mirrors and moves the
//! open PRs on. Pure: the last scan and now come in.

use std::time::Duration;
use time::OffsetDateTime;

/// Why a tick asks the registries for one recipe, or why it does not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scan {
    /// never scanned, or `scan_every` has passed since the last scan
    Due,
    /// `--scan`
    Forced,
    /// `--dry-run` always shows what a scan would find (and records nothing)
    DryRun,
    /// the last scan is recent: the next one is due at this time
    NotYet(OffsetDateTime),
}

impl Scan {
    /// Whether the registries are asked this tick.
    pub fn asks(self) -> bool {
        !matches!(self, Scan::NotYet(_))
    }
    /// Whether the scan's time is recorded (never in a dry run).
    pub fn records(self) -> bool {
        matches!(self, Scan::Due | Scan::Forced)
    }
}

/// Whether this tick scans a recipe whose last scan was at `last`. A last
/// scan in the future (a clock set back) is taken as now: the next one is
/// at most `every` away.
pub fn scan(
    last: Option<OffsetDateTime>,
    now: OffsetDateTime,
    every: Duration,
    forced: bool,
    dry_run: bool,
) -> Scan {
    if dry_run {
        return Scan::DryRun;
    }
    if forced {
        return Scan::Forced;
    }
    let Some(last) = last else {
        return Scan::Due;
    };
    let next = last.min(now) + every;
    if now >= next {
        Scan::Due
    } else {
        Scan::NotYet(next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-03-02 10:00 UTC);
    const WEEK: Duration = Duration::from_secs(7 * 86400);

    #[test]
    fn registries_are_asked_at_most_once_per_scan_every_unless_forced_or_dry() {
        let cases = [
            ("never scanned", None, false, false, Scan::Due),
            (
                "scanned 15 minutes ago",
                Some(datetime!(2026-03-02 09:45 UTC)),
                false,
                false,
                Scan::NotYet(datetime!(2026-03-09 09:45 UTC)),
            ),
            (
                "a week ago to the second",
                Some(datetime!(2026-02-23 10:00 UTC)),
                false,
                false,
                Scan::Due,
            ),
            (
                "longer ago",
                Some(datetime!(2026-01-01 00:00 UTC)),
                false,
                false,
                Scan::Due,
            ),
            (
                "--scan forces",
                Some(datetime!(2026-03-02 09:45 UTC)),
                true,
                false,
                Scan::Forced,
            ),
            (
                "--dry-run shows a scan",
                Some(datetime!(2026-03-02 09:45 UTC)),
                false,
                true,
                Scan::DryRun,
            ),
            (
                "a last scan in the future counts as now",
                Some(datetime!(2027-01-01 00:00 UTC)),
                false,
                false,
                Scan::NotYet(datetime!(2026-03-09 10:00 UTC)),
            ),
        ];
        for (name, last, forced, dry, want) in cases {
            let got = scan(last, NOW, WEEK, forced, dry);
            assert_eq!(got, want, "{name}");
            assert_eq!(got.asks(), !matches!(want, Scan::NotYet(_)), "{name}");
        }
        assert!(!Scan::DryRun.records() && Scan::Forced.records() && Scan::Due.records());
        assert_eq!(
            scan(Some(NOW), NOW, Duration::ZERO, false, false),
            Scan::Due,
            "scan_every 0s: every tick"
        );
    }
}
