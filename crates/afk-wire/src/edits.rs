//! Whether a comment was edited after it was written: an edited comment is
//! nobody's command and no trusted answer (docs/security.md#who-is-trusted),
//! since a person with write access, or the agent's account, may rewrite a
//! maintainer's words. Within the forge's own second of writing it is not
//! an edit (both forges stamp `updated_at` as they save).

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Edited: `updated_at` more than a second after `created_at`. An
/// unreadable or missing time reads as unedited only when both are missing
/// (an old forge that sends neither); one without the other is an edit.
pub fn edited(created_at: Option<&str>, updated_at: Option<&str>) -> bool {
    let parse = |s: &str| OffsetDateTime::parse(s, &Rfc3339).ok();
    match (created_at, updated_at) {
        (None, None) => false,
        (Some(_), None) => false,
        (None, Some(_)) => true,
        (Some(c), Some(u)) => match (parse(c), parse(u)) {
            (Some(c), Some(u)) => u - c > time::Duration::seconds(1),
            _ => c != u,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_edit_is_an_update_beyond_the_forges_own_second() {
        let cases = [
            (
                Some("2026-01-01T12:00:00Z"),
                Some("2026-01-01T12:00:00Z"),
                false,
            ),
            (
                Some("2026-01-01T12:00:00Z"),
                Some("2026-01-01T12:00:01Z"),
                false,
            ),
            (
                Some("2026-01-01T12:00:00Z"),
                Some("2026-01-01T12:00:02Z"),
                true,
            ),
            (
                Some("2026-01-01T14:00:00+02:00"),
                Some("2026-01-01T12:00:00Z"),
                false,
            ),
            (
                Some("2026-01-01T12:00:00Z"),
                Some("2026-01-02T12:00:00Z"),
                true,
            ),
            (Some("2026-01-01T12:00:00Z"), None, false),
            (None, None, false),
            (None, Some("2026-01-01T12:00:00Z"), true),
            (Some("garbage"), Some("other garbage"), true),
        ];
        for (c, u, want) in cases {
            assert_eq!(edited(c, u), want, "{c:?} {u:?}");
        }
    }
}
