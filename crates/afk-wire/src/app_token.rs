//! GitHub App authentication (`forge.app_id`, docs/github.md#as-a-github-app):
//! when a JWT is valid, whether a stored installation token is still used, and
//! what a refused token leads to. Pure: now and the token's expiry come in.

use time::{Duration, OffsetDateTime};

/// GitHub accepts a JWT issued at most 10 minutes before it expires; afk
/// backdates `iat` by a minute for clock drift and lets it live 9 minutes.
pub const JWT_BACKDATE: Duration = Duration::seconds(60);
pub const JWT_LIFETIME: Duration = Duration::minutes(9);
/// A stored installation token is exchanged again this long before it expires.
pub const REFRESH_MARGIN: Duration = Duration::minutes(5);

/// The JWT's `iat` and `exp` (epoch seconds) for a tick at `now`.
pub fn jwt_window(now: OffsetDateTime) -> (i64, i64) {
    let t = now.unix_timestamp();
    (
        t - JWT_BACKDATE.whole_seconds(),
        t + JWT_LIFETIME.whole_seconds(),
    )
}

/// Whether a stored token expiring at `expires_at` is used at `now`: only
/// while more than [`REFRESH_MARGIN`] of it is left.
pub fn reuse_stored(expires_at: OffsetDateTime, now: OffsetDateTime) -> bool {
    expires_at - now > REFRESH_MARGIN
}

/// What a 401 to the installation token leads to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnRefused {
    /// another request already exchanged a newer token: send again with it
    Resend,
    /// exchange the token again (the tick's one refresh), then send again
    Exchange,
    /// the tick's refresh is spent: the tick fails
    Fail,
}

/// A request sent with token generation `sent` was refused; `current` is the
/// generation in hand now and `exchanged` whether this tick already
/// exchanged a token after a refusal. At most one exchange per tick.
pub fn on_refused(sent: u64, current: u64, exchanged: bool) -> OnRefused {
    if current != sent {
        OnRefused::Resend
    } else if exchanged {
        OnRefused::Fail
    } else {
        OnRefused::Exchange
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn the_jwt_is_backdated_a_minute_and_lives_nine() {
        let now = datetime!(2026-01-01 12:00:00 UTC);
        let t = now.unix_timestamp();
        assert_eq!(jwt_window(now), (t - 60, t + 540));
        let (iat, exp) = jwt_window(now);
        assert!(
            exp - iat <= 600,
            "GitHub refuses a JWT living over 10 minutes"
        );
    }

    #[test]
    fn a_stored_token_is_reused_until_five_minutes_before_it_expires() {
        let now = datetime!(2026-01-01 12:00:00 UTC);
        for (left_secs, reused) in [
            (3600, true),
            (301, true),
            (300, false),
            (60, false),
            (0, false),
            (-60, false),
        ] {
            assert_eq!(
                reuse_stored(now + Duration::seconds(left_secs), now),
                reused,
                "{left_secs}s left"
            );
        }
    }

    #[test]
    fn a_refused_token_is_exchanged_at_most_once_per_tick() {
        for (sent, current, exchanged, want) in [
            (0, 0, false, OnRefused::Exchange),
            (0, 1, true, OnRefused::Resend),
            (1, 1, true, OnRefused::Fail),
            (0, 0, true, OnRefused::Fail),
        ] {
            assert_eq!(
                on_refused(sent, current, exchanged),
                want,
                "{sent} {current} {exchanged}"
            );
        }
    }
}
