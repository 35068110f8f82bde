//! The rate limit as the answers report it, by the client's [`RateRule`]:
//! a primary limit spent (no more requests this tick), a metered one that
//! slowed the tick (no more optional reads) or asked for a pause; the
//! requests in flight under it and `forge.concurrency`, and the tick's
//! budget for waiting on `Retry-After`.

use crate::failure::Failure;
use crate::http::{Http, Rate, RateRule};
use anyhow::Result;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// One request in flight under the rate limit; answered (or failed) when dropped.
pub(crate) struct InFlight<'a>(&'a Http);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        let mut r = self.0.rate.lock().unwrap();
        r.in_flight -= 1;
        r.wake_next();
    }
}

thread_local! {
    /// How deep this thread is in [`first_in_line`] calls.
    static FIRST: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
    /// The chain of work this thread's requests are part of ([`in_chain`]).
    static CHAIN: std::cell::Cell<Option<u64>> = const { std::cell::Cell::new(None) };
}

/// The chains handed out so far ([`new_chains`]).
static CHAINS: AtomicU64 = AtomicU64::new(0);

/// `n` new chains' stamps, the first of them: a [`crate::fan_out`]'s items,
/// in their order.
pub(crate) fn new_chains(n: usize) -> u64 {
    CHAINS.fetch_add(n as u64, Ordering::SeqCst)
}

/// The chain this thread's requests are part of, if any.
pub(crate) fn chain() -> Option<u64> {
    CHAIN.with(|c| c.get())
}

/// `work` as chain `stamp`: among the requests waiting for room, an
/// earlier chain's go before a later one's ([`crate::http::Rate::join`]).
/// A [`crate::fan_out`] gives each of its items a chain in their order, so
/// a tick finishes one repository's work (its dispatch, whose local work
/// then runs beside the others' requests) before it starts the next
/// one's, rather than all of them at the end.
pub(crate) fn in_chain<R>(stamp: u64, work: impl FnOnce() -> R) -> R {
    struct Out(Option<u64>);
    impl Drop for Out {
        fn drop(&mut self) {
            CHAIN.with(|c| c.set(self.0));
        }
    }
    let _out = Out(CHAIN.with(|c| c.replace(Some(stamp))));
    work()
}

/// `read` with its requests first in line for room under
/// `forge.concurrency`: a read that every worker of the tick waits for
/// (a project's query, its states, afk's own account) goes out before
/// any one repository's next read that is already waiting.
/// While such a read is under way its next request finds a place free too:
/// every other request leaves one place under `forge.concurrency` to it.
pub fn first_in_line<R>(read: impl FnOnce() -> R) -> R {
    struct Out;
    impl Drop for Out {
        fn drop(&mut self) {
            FIRST.with(|f| f.set(f.get() - 1));
            if !is_first_in_line() {
                IN_LINE.fetch_sub(1, Ordering::SeqCst);
            }
        }
    }
    if !is_first_in_line() {
        IN_LINE.fetch_add(1, Ordering::SeqCst);
    }
    FIRST.with(|f| f.set(f.get() + 1));
    let _out = Out;
    read()
}

/// The threads inside a [`first_in_line`] read now, any client's: while
/// there is one, a request not first in line leaves a place free for it
/// ([`crate::http::Rate::may_go`]).
static IN_LINE: AtomicU64 = AtomicU64::new(0);

/// Whether this thread's requests are [`first_in_line`] now: a
/// [`crate::fan_out`] started inside such a read gives its workers the
/// same standing.
pub(crate) fn is_first_in_line() -> bool {
    FIRST.with(|f| f.get() > 0)
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

/// What one answer's rate-limit headers say under a [`RateRule`].
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Heard {
    /// requests left in the window: a primary limit's count (a metered
    /// `X-RateLimit-Remaining` counts usage, never requests: None)
    pub(crate) remaining: Option<u64>,
    /// `x-ratelimit-reset` (epoch seconds)
    pub(crate) reset: Option<u64>,
    /// no request goes out for the rest of the tick
    pub(crate) spends: bool,
    /// no optional read starts for the rest of the tick
    pub(crate) slows: bool,
}

/// Read an answer's rate-limit headers (`header` looks one up by name).
/// A primary limit: `x-ratelimit-remaining` and, beside it,
/// `x-ratelimit-reset`; 0 left spends the limit. Metered use (Azure
/// DevOps): an answer carrying `X-RateLimit-Delay`, or
/// `X-RateLimit-Remaining: 0`, was slowed, which spends nothing;
/// `X-RateLimit-Reset` is kept for a blocked request's wait.
pub(crate) fn heard<'h>(rule: RateRule, header: impl Fn(&'static str) -> Option<&'h str>) -> Heard {
    let num = |name: &'static str| header(name).and_then(|v| v.trim().parse::<u64>().ok());
    match rule {
        RateRule::Primary => {
            let remaining = num("x-ratelimit-remaining");
            Heard {
                remaining,
                reset: remaining.and(num("x-ratelimit-reset")),
                spends: remaining == Some(0),
                slows: false,
            }
        }
        RateRule::Metered => Heard {
            remaining: None,
            reset: num("x-ratelimit-reset"),
            spends: false,
            slows: header("x-ratelimit-delay").is_some() || num("x-ratelimit-remaining") == Some(0),
        },
        RateRule::Jira => Heard {
            remaining: None,
            reset: header("x-ratelimit-reset")
                .and_then(afk_wire::tracker::jira::rate_limit_reset)
                .and_then(|t| u64::try_from(t).ok()),
            spends: false,
            slows: header("x-ratelimit-nearlimit")
                .is_some_and(|v| v.trim().eq_ignore_ascii_case("true")),
        },
        RateRule::Linear => {
            let low = |remaining, limit| matches!((num(remaining), num(limit)), (Some(r), Some(l)) if r.saturating_mul(10) < l);
            let reset = ["x-ratelimit-requests-reset", "x-ratelimit-complexity-reset"]
                .into_iter()
                .filter_map(num)
                .map(epoch_seconds)
                .max();
            Heard {
                remaining: None,
                reset,
                spends: false,
                slows: low(
                    "x-ratelimit-requests-remaining",
                    "x-ratelimit-requests-limit",
                ) || low(
                    "x-ratelimit-complexity-remaining",
                    "x-ratelimit-complexity-limit",
                ),
            }
        }
    }
}

/// A reset as epoch seconds: Linear documents milliseconds; a value above
/// 10^12 is read as milliseconds, anything smaller as seconds already.
fn epoch_seconds(v: u64) -> u64 {
    match v > 1_000_000_000_000 {
        true => v / 1000,
        false => v,
    }
}

/// How long the next request waits after an answer that was not refused
/// and asked for `retry_after`: under metered use any `Retry-After`, a
/// `200`'s too; a primary limit's matters only on a refusal
/// ([`refusal_wait`]).
pub(crate) fn pause_after(rule: RateRule, retry_after: Option<Duration>) -> Option<Duration> {
    match rule {
        RateRule::Primary | RateRule::Jira => None,
        RateRule::Metered | RateRule::Linear => retry_after.filter(|w| !w.is_zero()),
    }
}

/// How long a refused answer (`status`) asks to wait: its `Retry-After`;
/// else, for a request metered use blocked (`429`), until
/// `X-RateLimit-Reset` (epoch seconds, from `now`), at least a second.
/// None: the caller's own backoff.
pub(crate) fn refusal_wait(
    rule: RateRule,
    status: u16,
    retry_after: Option<Duration>,
    reset: Option<u64>,
    now: u64,
) -> Option<Duration> {
    retry_after.or(match (rule, status, reset) {
        (RateRule::Metered | RateRule::Linear | RateRule::Jira, 429, Some(at)) => {
            Some(Duration::from_secs(at.saturating_sub(now).max(1)))
        }
        _ => None,
    })
}

/// `X-RateLimit-Resource` as text for the report, ` (X-RateLimit-Resource:
/// Core)`, short and escaped; empty without one. afk decides nothing from it.
pub(crate) fn resource_text(value: Option<&str>) -> String {
    named_text("X-RateLimit-Resource", value)
}

/// `header`'s `value` as text for the report (`RateLimit-Reason` too).
pub(crate) fn named_text(header: &str, value: Option<&str>) -> String {
    match value.map(|v| afk_wire::sanitize::excerpt(v, 64)) {
        Some(v) if !v.is_empty() => format!(" ({header}: {v})"),
        _ => String::new(),
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
                "rate limit spent (x-ratelimit-remaining: 0) until {}; no more requests to the {} this tick",
                reset_text(reset),
                self.service
            ),
            None => format!(
                "not sent: the rate limit is spent until {}; no more requests to the {} this tick",
                reset_text(reset),
                self.service
            ),
        };
        self.failed(method, path, status, message, Failure::RateLimited, None)
    }

    /// Read the rate-limit headers of an answer by the client's rule
    /// ([`heard`]): a primary limit's remaining of 0 spends it for the rest
    /// of the tick; a metered answer that was slowed stops the tick's
    /// optional reads. Within one window (the same reset) the count only
    /// goes down, so answers arriving out of order keep the lowest.
    pub(crate) fn note_rate(&self, resp: &ureq::Response) -> Rate {
        let mut r = self.rate.lock().unwrap();
        // GitHub meters GraphQL (and search) apart from the REST calls'
        // `core` budget and names which in `x-ratelimit-resource`: another
        // budget's 0 spends nothing of the REST calls' (Gitea and GitLab
        // send no such header; Azure DevOps's metered throttle names its
        // own resources and is read as a whole)
        if r.rule == RateRule::Primary
            && resp
                .header("x-ratelimit-resource")
                .is_some_and(|res| !res.trim().eq_ignore_ascii_case("core"))
        {
            return r.clone();
        }
        let h = heard(r.rule, |name| resp.header(name));
        r.seen = true;
        if let Some(rem) = h.remaining {
            r.remaining = match (r.remaining, h.reset.is_none() || h.reset == r.reset) {
                (Some(old), true) => Some(old.min(rem)),
                _ => Some(rem),
            };
        }
        r.reset = h.reset.or(r.reset);
        if h.spends {
            r.spent = true;
        }
        let newly_slowed = h.slows && !r.slowed;
        r.slowed |= h.slows;
        let out = r.clone();
        drop(r);
        if newly_slowed {
            afk_host::log::warn(&format!(
                "{}: an answer was slowed by the rate limit{}: no optional read for the rest of the tick",
                self.service,
                resource_text(resp.header("x-ratelimit-resource"))
            ));
        }
        out
    }

    /// Whether an optional read may start (the reads doctor makes, the
    /// once-per-tick rereads of lists that did not change): not once an
    /// answer slowed the tick, nor once the limit is spent.
    pub fn optional_reads(&self) -> bool {
        let r = self.rate.lock().unwrap();
        !r.slowed && !r.spent
    }

    /// A `Retry-After` on an answer that was not refused, as the client's
    /// rule reads it ([`pause_after`]): the next request waits that long.
    pub(crate) fn hold_after(&self, resp: &ureq::Response) {
        let rule = self.rate.lock().unwrap().rule;
        let asked = resp.header("Retry-After").and_then(|v| {
            afk_wire::retry_after::wait(v, resp.header("Date"), time::OffsetDateTime::now_utc())
        });
        if let Some(wait) = pause_after(rule, asked) {
            if self.take_wait(wait) {
                self.pause(wait);
            } else {
                // a longer wait than the tick may make is the next tick's
                self.rate.lock().unwrap().spent = true;
            }
        }
    }

    /// No request, any thread's, goes out for `wait` from now (its wait
    /// already taken from the tick's budget).
    pub(crate) fn pause(&self, wait: Duration) {
        let until = Instant::now() + wait;
        let mut r = self.rate.lock().unwrap();
        r.not_before = Some(r.not_before.map_or(until, |t| t.max(until)));
    }

    /// Wait for room under the rate limit, then count one more request in
    /// flight; Err (the limit is spent) sends nothing.
    /// Requests go in [`Rate::join`]'s order: those [`first_in_line`]
    /// first, then an earlier chain of work's ([`in_chain`]), then in the
    /// order they came.
    pub(crate) fn admit(&self, method: &str, path: &str) -> Result<InFlight<'_>> {
        let mut r = self.rate.lock().unwrap();
        let me = r.join(is_first_in_line(), chain());
        let admitted = loop {
            if r.spent {
                break Err(self.limited(method, path, None, r.reset));
            }
            if let Some(until) = r.not_before {
                let now = Instant::now();
                if now < until {
                    drop(r);
                    std::thread::park_timeout(until - now);
                    r = self.rate.lock().unwrap();
                    continue;
                }
                r.not_before = None;
            }
            if r.may_go(me, IN_LINE.load(Ordering::SeqCst) > 0) {
                r.in_flight += 1;
                break Ok(InFlight(self));
            }
            // woken by `Rate::wake_next` (an unpark before the park is kept:
            // the park returns at once), or spuriously: either way it looks
            // again
            drop(r);
            std::thread::park();
            r = self.rate.lock().unwrap();
        };
        r.leave(me);
        // the next in line looks at the room again
        r.wake_next();
        admitted
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

#[cfg(test)]
mod tests {
    use super::*;

    /// An answer's headers, (name, value).
    type Headers = &'static [(&'static str, &'static str)];

    /// A header lookup over `pairs`, by name in any case.
    fn lookup(
        pairs: &'static [(&'static str, &'static str)],
    ) -> impl Fn(&'static str) -> Option<&'static str> {
        move |name: &'static str| -> Option<&'static str> {
            pairs
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| *v)
        }
    }

    #[test]
    fn azure_delay_or_remaining_zero_slows_the_tick_and_spends_nothing() {
        use RateRule::*;
        let heard_of = |spends, slows, remaining, reset| Heard {
            remaining,
            reset,
            spends,
            slows,
        };
        // (rule, headers) → what the answer says
        let cases: [(RateRule, Headers, Heard); 9] = [
            (Metered, &[], heard_of(false, false, None, None)),
            (
                Metered,
                &[("X-RateLimit-Delay", "0.250")],
                heard_of(false, true, None, None),
            ),
            // a delay of 0 is still a delay carried
            (
                Metered,
                &[("X-RateLimit-Delay", "0")],
                heard_of(false, true, None, None),
            ),
            (
                Metered,
                &[
                    ("X-RateLimit-Remaining", "0"),
                    ("X-RateLimit-Reset", "1700000000"),
                ],
                heard_of(false, true, None, Some(1_700_000_000)),
            ),
            // usage left is not requests left: nothing counted, nothing slowed
            (
                Metered,
                &[
                    ("X-RateLimit-Remaining", "12"),
                    ("X-RateLimit-Reset", "1700000000"),
                ],
                heard_of(false, false, None, Some(1_700_000_000)),
            ),
            // the resource is text for the report, never a decision
            (
                Metered,
                &[("X-RateLimit-Resource", "Core")],
                heard_of(false, false, None, None),
            ),
            // a primary limit: 0 left spends it, a delay means nothing
            (
                Primary,
                &[
                    ("x-ratelimit-remaining", "0"),
                    ("x-ratelimit-reset", "1700000000"),
                ],
                heard_of(true, false, Some(0), Some(1_700_000_000)),
            ),
            (
                Primary,
                &[
                    ("x-ratelimit-remaining", "4999"),
                    ("X-RateLimit-Delay", "1"),
                ],
                heard_of(false, false, Some(4999), None),
            ),
            // a reset without a count says nothing
            (
                Primary,
                &[("x-ratelimit-reset", "1700000000")],
                heard_of(false, false, None, None),
            ),
        ];
        for (rule, headers, want) in cases {
            assert_eq!(heard(rule, lookup(headers)), want, "{rule:?} {headers:?}");
        }
    }

    #[test]
    fn azure_retry_after_waits_even_on_a_200() {
        use RateRule::*;
        let s = Duration::from_secs;
        // (rule, the answer's Retry-After) → the wait before the next request
        let cases = [
            (Metered, Some(s(3)), Some(s(3))),
            (Metered, None, None),
            (Metered, Some(s(0)), None),
            // elsewhere a Retry-After matters on a refusal only
            (Primary, Some(s(3)), None),
            (Primary, None, None),
        ];
        for (rule, asked, want) in cases {
            assert_eq!(pause_after(rule, asked), want, "{rule:?} {asked:?}");
        }
    }

    #[test]
    fn jira_reads_its_minute_reset_and_its_near_limit() {
        // (the answer's headers) → (reset in epoch seconds, slowed)
        let cases: [(Headers, Option<u64>, bool); 4] = [
            (&[], None, false),
            (
                &[("X-RateLimit-Reset", "2026-11-30T17:10Z")],
                Some(1_796_058_600),
                false,
            ),
            (&[("X-RateLimit-NearLimit", "true")], None, true),
            // seconds since the epoch are not Jira's reset
            (
                &[
                    ("x-ratelimit-reset", "1796058600"),
                    ("x-ratelimit-nearlimit", "false"),
                ],
                None,
                false,
            ),
        ];
        for (headers, reset, slows) in cases {
            let h = heard(RateRule::Jira, lookup(headers));
            assert_eq!(
                (h.reset, h.slows, h.spends),
                (reset, slows, false),
                "{headers:?}"
            );
        }
        let now = 1_796_058_000;
        let wait = refusal_wait(RateRule::Jira, 429, None, Some(1_796_058_600), now);
        assert_eq!(wait, Some(Duration::from_secs(600)));
        assert_eq!(
            pause_after(RateRule::Jira, Some(Duration::from_secs(3))),
            None
        );
    }

    #[test]
    fn linear_reads_both_budgets_resets_in_milliseconds_and_slows_under_a_tenth() {
        // (the answer's headers) → (reset in epoch seconds, slowed)
        let cases: [(Headers, Option<u64>, bool); 7] = [
            (&[], None, false),
            // Linear documents milliseconds; the later of the two resets
            (
                &[
                    ("X-RateLimit-Requests-Reset", "1700000060000"),
                    ("X-RateLimit-Complexity-Reset", "1700000090000"),
                ],
                Some(1_700_000_090),
                false,
            ),
            // a value that is seconds already stays seconds
            (
                &[("x-ratelimit-requests-reset", "1700000060")],
                Some(1_700_000_060),
                false,
            ),
            // 499 of 5000 is under a tenth; 500 is not
            (
                &[
                    ("x-ratelimit-requests-remaining", "499"),
                    ("x-ratelimit-requests-limit", "5000"),
                ],
                None,
                true,
            ),
            (
                &[
                    ("x-ratelimit-requests-remaining", "500"),
                    ("x-ratelimit-requests-limit", "5000"),
                ],
                None,
                false,
            ),
            (
                &[
                    ("x-ratelimit-complexity-remaining", "0"),
                    ("x-ratelimit-complexity-limit", "3000000"),
                ],
                None,
                true,
            ),
            // a remaining without its limit says nothing of a tenth
            (&[("x-ratelimit-requests-remaining", "0")], None, false),
        ];
        for (headers, reset, slows) in cases {
            let h = heard(RateRule::Linear, lookup(headers));
            assert_eq!(
                (h.reset, h.slows, h.spends),
                (reset, slows, false),
                "{headers:?}"
            );
        }
        // Linear's refusal waits for its reset as a metered one does
        let now = 1_700_000_000;
        let wait = refusal_wait(RateRule::Linear, 429, None, Some(now + 30), now);
        assert_eq!(wait, Some(Duration::from_secs(30)));
    }

    #[test]
    fn azure_blocked_request_waits_for_retry_after_else_the_reset() {
        use RateRule::*;
        let s = Duration::from_secs;
        let now = 1_700_000_000;
        // (rule, status, Retry-After, X-RateLimit-Reset) → the wait
        let cases = [
            (Metered, 429, Some(s(7)), Some(now + 60), Some(s(7))),
            (Metered, 429, None, Some(now + 60), Some(s(60))),
            // a reset gone by: try again after a second, not at once
            (Metered, 429, None, Some(now - 5), Some(s(1))),
            (Metered, 429, None, None, None),
            // only a blocked request waits for the reset
            (Metered, 503, None, Some(now + 60), None),
            (Metered, 503, Some(s(2)), None, Some(s(2))),
            // a primary limit's reset is not a wait
            (Primary, 429, None, Some(now + 60), None),
            (Primary, 429, Some(s(4)), Some(now + 60), Some(s(4))),
        ];
        for (rule, status, asked, reset, want) in cases {
            assert_eq!(
                refusal_wait(rule, status, asked, reset, now),
                want,
                "{rule:?} {status} {asked:?} {reset:?}"
            );
        }
    }

    #[test]
    fn azure_rate_limit_resource_goes_into_the_report_as_text() {
        let cases = [
            (Some("Core"), " (X-RateLimit-Resource: Core)"),
            (Some("  "), ""),
            (None, ""),
            // someone else's bytes: escaped, one line
            (Some("Core\nnext"), " (X-RateLimit-Resource: Core next)"),
            (Some("Core\u{7}"), " (X-RateLimit-Resource: Core\\x07)"),
        ];
        for (value, want) in cases {
            assert_eq!(resource_text(value), want, "{value:?}");
        }
    }

    fn client() -> Http {
        Http::new("http://127.0.0.1:9", "t", "T", Duration::from_secs(1), 0)
    }

    #[test]
    fn azure_slowed_tick_starts_no_optional_read() {
        // (slowed, spent) → whether an optional read may start
        for (slowed, spent, want) in [
            (false, false, true),
            (true, false, false),
            (false, true, false),
            (true, true, false),
        ] {
            let h = client();
            {
                let mut r = h.rate.lock().unwrap();
                r.slowed = slowed;
                r.spent = spent;
            }
            assert_eq!(h.optional_reads(), want, "slowed {slowed}, spent {spent}");
            if slowed {
                // a slowed tick's rereads are left to the next tick
                h.ledger.read("/repos/a/b/issues");
                h.ledger.wrote("/repos/a/b/issues/1/comments");
                assert_eq!(h.revalidate(1), 0);
            }
        }
    }

    /// A client reading the rate limit by `rule`.
    fn ruled(rule: RateRule) -> Http {
        let h = client();
        h.rate.lock().unwrap().rule = rule;
        h
    }

    fn answer(raw: &str) -> ureq::Response {
        raw.parse().unwrap()
    }

    #[test]
    fn azure_pause_holds_the_next_request() {
        let h = client();
        h.pause(Duration::from_millis(60));
        let started = Instant::now();
        let slot = h.admit("GET", "/x").unwrap();
        assert!(started.elapsed() >= Duration::from_millis(60));
        drop(slot);
        assert!(
            h.rate.lock().unwrap().not_before.is_none(),
            "the pause is over"
        );
    }

    #[test]
    fn azure_answers_slow_pause_or_spend_the_tick_by_the_rule() {
        use RateRule::*;
        let ok = "HTTP/1.1 200 OK\r\n";
        // (rule, the answer's headers) → (slowed, paused, spent)
        let cases = [
            (
                Metered,
                "X-RateLimit-Delay: 0.5\r\nX-RateLimit-Resource: Core\r\n",
                (true, false, false),
            ),
            (
                Metered,
                "X-RateLimit-Remaining: 0\r\nX-RateLimit-Reset: 1700000000\r\n",
                (true, false, false),
            ),
            (Metered, "Retry-After: 2\r\n", (false, true, false)),
            // a wait longer than the tick may make is the next tick's
            (Metered, "Retry-After: 600\r\n", (false, false, true)),
            (Primary, "Retry-After: 2\r\n", (false, false, false)),
            (
                Primary,
                "x-ratelimit-remaining: 0\r\nX-RateLimit-Delay: 1\r\n",
                (false, false, true),
            ),
            // GitHub's GraphQL budget spent: the REST calls' is not
            (
                Primary,
                "x-ratelimit-remaining: 0\r\nx-ratelimit-resource: graphql\r\n",
                (false, false, false),
            ),
            (
                Primary,
                "x-ratelimit-remaining: 0\r\nx-ratelimit-resource: core\r\n",
                (false, false, true),
            ),
        ];
        for (rule, headers, want) in cases {
            let h = ruled(rule);
            let resp = answer(&format!("{ok}{headers}\r\n"));
            h.note_rate(&resp);
            h.hold_after(&resp);
            let r = h.rate.lock().unwrap().clone();
            assert_eq!(
                (r.slowed, r.not_before.is_some(), r.spent),
                want,
                "{rule:?} {headers:?}"
            );
            // a slowed tick still sends what it must; a spent one nothing
            if !want.1 {
                assert_eq!(
                    h.admit("GET", "/x").is_ok(),
                    !want.2,
                    "{rule:?} {headers:?}"
                );
            }
        }
    }

    /// A reset an earlier tick kept: `(kept, the tick's now, spent)`.
    #[test]
    fn a_kept_reset_spends_the_tick_only_before_it_and_within_an_hour() {
        #[derive(Debug)]
        struct Kept(Option<u64>);
        impl crate::http::RateCarry for Kept {
            fn kept(&self) -> Option<u64> {
                self.0
            }
            fn keep(&self, _: u64) {}
        }
        let now = 1_800_000_000;
        let hour = crate::http::CARRY_MAX_S;
        let cases = [
            (None, false),
            (Some(now - 1), false),
            (Some(now), false),
            (Some(now + 1), true),
            (Some(now + hour), true),
            (Some(now + hour + 1), false),
        ];
        for (kept, spent) in cases {
            let mut h = ruled(RateRule::Linear);
            h.set_rate_carry(std::sync::Arc::new(Kept(kept)), now);
            assert_eq!(h.admit("POST", "/graphql").is_err(), spent, "{kept:?}");
        }
    }
}
