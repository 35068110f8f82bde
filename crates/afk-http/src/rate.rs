//! The primary rate limit as the answers report it (spent: no more requests
//! this tick), the requests in flight under it and `forge.concurrency`, and
//! the tick's budget for waiting on `Retry-After`.

use crate::failure::Failure;
use crate::http::{Http, Rate};
use anyhow::Result;
use std::time::Duration;

/// One request in flight under the rate limit; answered (or failed) when dropped.
pub(crate) struct InFlight<'a>(&'a Http);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.rate.lock().unwrap().in_flight -= 1;
        self.0.answered.notify_all();
    }
}

/// The most a tick waits in all for `Retry-After` answers (429, secondary
/// rate limits); a longer wait is left to the next tick.
const WAIT_BUDGET: Duration = Duration::from_secs(120);

/// `x-ratelimit-reset` (epoch seconds) as RFC 3339 text, with the epoch.
pub fn reset_text(reset: Option<u64>) -> String {
    match reset.and_then(|r| time::OffsetDateTime::from_unix_timestamp(r as i64).ok()) {
        Some(t) => format!(
            "{} (x-ratelimit-reset {})",
            afk_host::clock::ts(t),
            t.unix_timestamp()
        ),
        None => "the limit resets (the forge did not say when)".into(),
    }
}

impl Http {
    /// The rate limit left as the last answer reported it, and its reset (epoch seconds).
    pub fn rate_limit(&self) -> (Option<u64>, Option<u64>) {
        let r = self.rate.lock().unwrap();
        (r.remaining, r.reset)
    }

    pub(crate) fn limited(
        &self,
        method: &str,
        path: &str,
        status: Option<u16>,
        reset: Option<u64>,
    ) -> anyhow::Error {
        let message = match status {
            Some(_) => format!(
                "rate limit spent (x-ratelimit-remaining: 0) until {}; no more requests to the forge this tick",
                reset_text(reset)
            ),
            None => format!(
                "not sent: the rate limit is spent until {}; no more requests to the forge this tick",
                reset_text(reset)
            ),
        };
        self.failed(method, path, status, message, Failure::RateLimited, None)
    }

    /// Read `x-ratelimit-remaining` / `x-ratelimit-reset` from an answer; a
    /// remaining of 0 spends the limit for the rest of the tick.
    /// Within one window (the same reset) the count only goes down, so
    /// answers arriving out of order keep the lowest.
    /// TODO(#86): Azure DevOps (SPEC 2.2.7): `X-RateLimit-Remaining: 0` or
    /// `X-RateLimit-Delay` is a delay, not a spent limit: it stops only the
    /// tick's optional reads; a `Retry-After` on any answer, a `200` too,
    /// waits before the next request; `X-RateLimit-Resource` goes into the
    /// report as text. Today the GitHub reading below applies to every kind.
    pub(crate) fn note_rate(&self, resp: &ureq::Response) -> Rate {
        let num = |h: &str| resp.header(h).and_then(|v| v.trim().parse::<u64>().ok());
        let mut r = self.rate.lock().unwrap();
        r.seen = true;
        if let Some(rem) = num("x-ratelimit-remaining") {
            let reset = num("x-ratelimit-reset");
            r.remaining = match (r.remaining, reset.is_none() || reset == r.reset) {
                (Some(old), true) => Some(old.min(rem)),
                _ => Some(rem),
            };
            r.reset = reset.or(r.reset);
            if r.remaining == Some(0) {
                r.spent = true;
            }
        }
        *r
    }

    /// Wait for room under the rate limit, then count one more request in
    /// flight; Err (the limit is spent) sends nothing.
    pub(crate) fn admit(&self, method: &str, path: &str) -> Result<InFlight<'_>> {
        let mut r = self.rate.lock().unwrap();
        loop {
            if r.spent {
                return Err(self.limited(method, path, None, r.reset));
            }
            if r.room() {
                r.in_flight += 1;
                return Ok(InFlight(self));
            }
            r = self.answered.wait(r).unwrap();
        }
    }

    /// Take `wait` from the tick's wait budget; false when it does not fit.
    pub(crate) fn take_wait(&self, wait: Duration) -> bool {
        let mut w = self.waited.lock().unwrap();
        if *w + wait > WAIT_BUDGET {
            return false;
        }
        *w += wait;
        true
    }
}
