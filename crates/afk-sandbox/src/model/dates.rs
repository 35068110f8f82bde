//! The sandbox's dates: when an issue or pull request was opened, closed
//! and merged (the wall clock then), and the stamps of comments, statuses,
//! label events and edits, each strictly after the one before
//! (docs/sandbox.md).

use super::{Forge, Issue};

impl Issue {
    /// When it last changed: a label, a rename, an edit, its opening, close
    /// or merge, whichever is latest (every date here is in one offset and
    /// format, so the latest is the greatest string).
    pub(crate) fn updated(&self) -> String {
        let dates = [
            self.updated_at.as_ref(),
            self.closed_at.as_ref(),
            self.merged_at.as_ref(),
        ];
        (dates.into_iter().flatten()).fold(self.created_at.clone(), |a, b| {
            if *b > a { b.clone() } else { a }
        })
    }

    /// Open or close it; closing dates it now, reopening clears the date.
    pub(crate) fn set_state(&mut self, state: &str) {
        if state == "closed" && self.state != "closed" {
            self.closed_at = Some(wall());
        } else if state != "closed" {
            self.closed_at = None;
        }
        self.state = state.to_string();
    }
}

/// The wall clock now, whole seconds in Gitea's local offset: the date of
/// an event that need not be told apart from the one before (an opening,
/// a close, a merge), so it never runs ahead of the clock as
/// [`Forge::stamp`] can.
pub(crate) fn wall() -> String {
    let now = time::OffsetDateTime::now_utc();
    let t = now.replace_nanosecond(0).unwrap_or(now);
    t.to_offset(time::macros::offset!(+2))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

impl Forge {
    /// The time of a new comment, status, label event, rename or edit: the wall
    /// clock in Gitea's local offset, and strictly later than the one before,
    /// so "newer than afk's latest comment" and "edited after it was armed"
    /// can be told apart even within a second. Where the forge dates to the
    /// whole second (Gitea, GitHub, GitLab) that is a second later, which
    /// can run ahead of the clock when events come fast; Azure DevOps dates
    /// to the millisecond, so there it is a millisecond later and keeps to
    /// the clock.
    pub(crate) fn stamp(&mut self) -> String {
        self.stamp_after(1)
    }

    /// The time of a comment's edit: two seconds past the last stamp, so
    /// an edit is told from the forge's own second of writing.
    pub(crate) fn edit_stamp(&mut self) -> String {
        self.stamp_after(2)
    }

    /// A stamp at least `secs` after the one before (a millisecond for a
    /// plain stamp on Azure DevOps, see [`Forge::stamp`]).
    pub(crate) fn stamp_after(&mut self, secs: i64) -> String {
        let now = time::OffsetDateTime::now_utc();
        let now_ms = (now.unix_timestamp_nanos() / 1_000_000) as i64;
        self.last_stamp = match (self.az.on, secs) {
            (true, 1) => now_ms.max(self.last_stamp + 1),
            (true, _) => now_ms.max(self.last_stamp + secs * 1000),
            (false, _) => (now_ms - now_ms.rem_euclid(1000)).max(self.last_stamp + secs * 1000),
        };
        let t = time::OffsetDateTime::from_unix_timestamp_nanos(
            i128::from(self.last_stamp) * 1_000_000,
        )
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
        .to_offset(time::macros::offset!(+2));
        let whole = t.replace_millisecond(0).unwrap_or(t);
        let text = whole
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        match self.az.on {
            // `…:SS.mmm+02:00`, every stamp the same width
            true => text.replacen("+02:00", &format!(".{:03}+02:00", t.millisecond()), 1),
            false => text,
        }
    }
}

/// A tracker's time `seconds` after its first, 2026-01-01 10:00 UTC, to the
/// millisecond, ending in `zone` (Jira's `+0000`, Linear's `Z`).
pub(crate) fn tracker_stamp(seconds: i64, zone: &str) -> String {
    let t = time::macros::datetime!(2026-01-01 10:00 UTC) + time::Duration::seconds(seconds);
    tracker_time(t, zone)
}

/// A tracker's time now, to the millisecond, in UTC with `Z` (Linear's
/// agent sessions and activities: their times are the wall clock's, so a
/// session's staleness is real).
pub(crate) fn tracker_now() -> String {
    tracker_time(time::OffsetDateTime::now_utc(), "Z")
}

/// `t` in UTC as the trackers (and Azure DevOps) write times: to the
/// millisecond, then `zone`.
pub(crate) fn tracker_time(t: time::OffsetDateTime, zone: &str) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}{zone}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    )
}
