//! [`Http`], the client: what it holds (the agent, the token in hand, the
//! rate limit as the answers report it, the cache, the counters) and how it is
//! built for a forge's API style ([`ApiStyle`], [`Paging`]) or another JSON
//! service; the [`Response`] it answers with, and the two hooks the binary
//! hands in ([`Refresher`], [`ConditionalCache`]). What it does is in the
//! rooms beside: `send.rs`, `paging.rs`, `cache.rs`, `token.rs`, `rate.rs`,
//! `errors.rs`.

use crate::client;
use crate::failure::Reason;
use crate::stale;
use afk_model::Cached;
use anyhow::Result;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// An answer. A 304 to a conditional GET is answered from the cache: `status`
/// 200, the stored body and `Link`, and `not_modified` set.
pub struct Response {
    pub status: u16,
    pub link: Option<String>,
    pub body: String,
    /// `x-oauth-scopes` (GitHub, classic tokens only)
    pub scopes: Option<String>,
    pub not_modified: bool,
    /// list items left out of `body`, each someone's oversized text ([`bounded`])
    pub skipped: usize,
    /// `x-ms-continuationtoken` (Azure DevOps: there is another page)
    pub continuation: Option<String>,
    /// `X-Total-Count` (Gitea: how many items the list holds before any
    /// are dropped after paging; some of its lists send no `Link`)
    pub total: Option<usize>,
}

/// How a list is paged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Paging {
    /// `page` + the page size as `size` (Gitea: `limit`) on every request.
    /// A `Link: rel="next"` decides whether there is more when sent, else
    /// `X-Total-Count` against the items read so far (a page the forge
    /// cut below `limit`, Gitea's `MAX_RESPONSE_ITEMS`, is no end), else a
    /// full page does.
    PageLimit { size: &'static str, limit: usize },
    /// the page size as `size` (GitHub: `per_page`) on the first request,
    /// then the `Link: rel="next"` URL as the forge wrote it, never one
    /// outside the API root.
    Link { size: &'static str, per_page: usize },
    /// `$top` + `$skip` (Azure DevOps), a short page ending the list; lists
    /// that page by `x-ms-continuationtoken` are read with
    /// [`Http::get_all_continued`].
    TopSkip { top: usize },
}

/// How a forge's API wants to be asked: the header the token goes in and
/// what stands before it, the media type, more headers, paging and whether
/// the rate limit is probed.
/// Data, so a forge's profile names its API's style and no constructor
/// branches on a kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ApiStyle {
    /// the header the token goes in (`Authorization`)
    pub auth_header: &'static str,
    /// what stands before the token there (`"token "`, `"Bearer "`; `""`
    /// for a header that carries the token alone)
    pub scheme: &'static str,
    /// the `Accept` header
    pub accept: &'static str,
    /// more headers on every request (`X-GitHub-Api-Version`)
    pub headers: &'static [(&'static str, &'static str)],
    pub paging: Paging,
    /// whether the rate limit left is probed before the first request
    pub probe_rate: bool,
    /// what the answers' `X-RateLimit-*` and `Retry-After` headers mean
    pub rate: RateRule,
}

/// What an answer's rate-limit headers mean to the tick (`rate.rs`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RateRule {
    /// A primary limit (GitHub, Gitea, GitLab): `x-ratelimit-remaining`
    /// counts the requests left, and 0 spends the limit until
    /// `x-ratelimit-reset`: no request goes out for the rest of the tick.
    #[default]
    Primary,
    /// Metered use (Azure DevOps): `X-RateLimit-Delay` or
    /// `X-RateLimit-Remaining: 0` says the answer was slowed (no optional
    /// read for the rest of the tick, nothing spent); a `429` is blocked
    /// until `Retry-After`, else `X-RateLimit-Reset`; a `Retry-After` on
    /// any answer, a `200` too, waits before the next request.
    Metered,
    /// Linear (docs/fidelity/linear.md): `X-RateLimit-Requests-*` and
    /// `X-RateLimit-Complexity-*` on every answer, each reset in epoch
    /// milliseconds; under a tenth of either budget left, no optional read
    /// for the rest of the tick. Its refusal is a `429` or an HTTP 400
    /// whose GraphQL error says `RATELIMITED`: blocked until `Retry-After`,
    /// else the later of the two resets, as a metered `429` is.
    Linear,
    /// Jira Cloud (docs/fidelity/jira-cloud.md): a `429` waits for
    /// `Retry-After`, else until `X-RateLimit-Reset` (`yyyy-MM-ddTHH:mmZ`);
    /// `X-RateLimit-NearLimit: true` (under a fifth of a budget left) stops
    /// optional reads for the rest of the tick; `RateLimit-Reason` is said
    /// in the error, as text.
    Jira,
}

/// Where conditional GETs keep the `ETag` and body of each URL they fetched
/// (the state file's `etags` table: `store::etags`).
pub trait ConditionalCache: Send + Sync {
    fn get(&self, url: &str) -> Option<Cached>;
    fn put(&self, url: &str, entry: Cached);
}

/// Where a client gets a fresh token when its token is refused (401): a
/// GitHub App exchanges its JWT for a new installation token. Called at
/// most once per tick (`core::app_token::on_refused`).
pub trait Refresher: Send + Sync {
    /// The token for the tick's first request (a GitHub App: the stored one
    /// while it is fresh), fetched when that request is sent.
    fn initial(&self) -> Result<afk_host::redact::Secret>;
    /// A new token (a secret: registered as it was made, never printed).
    fn refresh(&self) -> Result<afk_host::redact::Secret>;
}

/// The furthest reset kept between ticks, in seconds from the tick that
/// kept it: an hour, the longest window the services document (Linear's
/// and Jira's hourly quotas); an answer asking for more is kept as an
/// hour, and the first tick after it asks once more.
pub const CARRY_MAX_S: u64 = 3_600;

/// Where a metered service's spent limit is kept between ticks (the
/// binary's edges: a file beside the state): a tick that comes before the
/// reset sends that service nothing, instead of spending the quota again
/// to be told the same (docs/trackers.md#rate-limits-and-outages).
pub trait RateCarry: Send + Sync + std::fmt::Debug {
    /// The reset (epoch seconds) an earlier tick kept, if any.
    fn kept(&self) -> Option<u64>;
    /// Keep `reset` for the next ticks; a failure is said, never the
    /// request's error.
    fn keep(&self, reset: u64);
}

/// The token in hand: its generation (bumped by each refresh) and whether
/// this tick already refreshed it.
#[derive(Default)]
pub(crate) struct Renewal {
    pub(crate) generation: u64,
    pub(crate) exchanged: bool,
    /// the first token is in hand
    pub(crate) started: bool,
}

/// The primary rate limit as the answers report it.
#[derive(Default, Debug, Clone)]
pub(crate) struct Rate {
    pub(crate) remaining: Option<u64>,
    pub(crate) reset: Option<u64>,
    /// spent: no request goes out for the rest of the tick
    pub(crate) spent: bool,
    /// requests sent and not answered yet
    pub(crate) in_flight: u64,
    /// the requests waiting for room, in the order they go
    /// ([`Rate::join`]): those [`crate::rate::first_in_line`] first, then
    /// by their chain of work, then in the order they came
    pub(crate) queue: std::collections::BTreeSet<Ticket>,
    /// the thread that waits on each ticket of `queue`: only the next in
    /// line is woken when room may have come ([`Rate::wake_next`]), never
    /// every waiting worker of a tick at each answer
    pub(crate) waiting: std::collections::BTreeMap<Ticket, std::thread::Thread>,
    /// the next request's place in the order it came
    pub(crate) tickets: u64,
    /// the first request goes alone, to learn the limit (GitHub)
    pub(crate) probe: bool,
    /// an answer has come back
    pub(crate) seen: bool,
    /// requests in flight at most (`forge.concurrency`); None: no cap
    pub(crate) cap: Option<u64>,
    /// what the answers' rate-limit headers mean
    pub(crate) rule: RateRule,
    /// slowed: no optional read starts for the rest of the tick (the
    /// reads doctor makes, the once-per-tick rereads: [`Http::optional_reads`])
    pub(crate) slowed: bool,
    /// no request goes out before then (a `Retry-After` on an answer)
    pub(crate) not_before: Option<std::time::Instant>,
}

impl Rate {
    /// Whether one more request may go out now: never more in flight than
    /// the limit has left (a 304 costs nothing, so waiting for the answers
    /// in flight may free the way again), and, when probing, nothing beside
    /// the first request until it tells what is left.
    pub(crate) fn room(&self) -> bool {
        if self.probe && !self.seen {
            return self.in_flight == 0;
        }
        self.cap.is_none_or(|cap| self.in_flight < cap)
            && self.remaining.is_none_or(|left| self.in_flight < left)
    }

    /// A request's place among those waiting for room: behind every one
    /// [`crate::rate::first_in_line`] when it is not, then behind every
    /// one of an earlier chain of work ([`crate::rate::in_chain`]; none:
    /// the last), then behind those of its chain that came before it. It
    /// leaves with [`Rate::leave`].
    pub(crate) fn join(&mut self, first: bool, chain: Option<u64>) -> Ticket {
        let t = Ticket {
            later_kind: !first,
            chain: chain.unwrap_or(u64::MAX),
            came: self.tickets,
        };
        self.tickets += 1;
        self.queue.insert(t);
        self.waiting.insert(t, std::thread::current());
        t
    }

    /// `t` is no longer waiting (it went out, or it gave up).
    pub(crate) fn leave(&mut self, t: Ticket) {
        self.queue.remove(&t);
        self.waiting.remove(&t);
    }

    /// Wake the request next in line to look at the room again (an answer
    /// came, or the one before it went out or gave up). It alone may go
    /// ([`Rate::may_go`]); when it goes or gives up it wakes the next.
    pub(crate) fn wake_next(&self) {
        if let Some(t) = self.queue.first().and_then(|t| self.waiting.get(t)) {
            t.unpark();
        }
    }

    /// Whether the request holding `t` goes out now: it is the next in
    /// line, and there is room. While a read first in line
    /// is under way (`reserving`), one not first in line leaves it a place
    /// under a cap of two or more, so its next request never waits for a
    /// round trip of the others to end (a request in flight is then always
    /// there to wake the one that waits).
    pub(crate) fn may_go(&self, t: Ticket, reserving: bool) -> bool {
        let kept = reserving
            && t.later_kind
            && self
                .cap
                .is_some_and(|cap| cap >= 2 && self.in_flight + 1 >= cap);
        self.queue.first() == Some(&t) && self.room() && !kept
    }
}

/// A waiting request's place ([`Rate::join`]): ordered by its kind (first
/// in line before the rest), then by its chain, then by when it came.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Ticket {
    later_kind: bool,
    chain: u64,
    came: u64,
}

pub struct Http {
    pub(crate) service: &'static str,
    pub(crate) agent: ureq::Agent,
    pub(crate) root: String,
    /// `Bearer <token>`: replaced when a [`Refresher`] hands a new token
    pub(crate) auth: std::sync::RwLock<String>,
    /// `Bearer ` or `token `: what `auth` starts with
    pub(crate) scheme: &'static str,
    /// the header `auth` goes in
    pub(crate) auth_header: &'static str,
    pub(crate) refresher: Option<std::sync::Arc<dyn Refresher>>,
    pub(crate) renewal: Mutex<Renewal>,
    pub(crate) accept: &'static str,
    /// more headers on every request (`X-GitHub-Api-Version`)
    pub(crate) headers: Vec<(&'static str, &'static str)>,
    /// Where the token comes from, for a 401's reason ("AFK_FORGE_TOKEN").
    pub(crate) token_source: String,
    pub(crate) retries: u32,
    pub(crate) paging: Paging,
    pub(crate) requests: AtomicUsize,
    pub(crate) costly: AtomicUsize,
    pub(crate) rate: Mutex<Rate>,
    pub(crate) waited: Mutex<Duration>,
    pub(crate) cache: Option<Box<dyn ConditionalCache>>,
    /// with a cache: what was read through it and what was written (`revalidate`)
    pub(crate) ledger: stale::Ledger,
    /// the config key naming `root`, for connect errors (`forge.url`)
    pub(crate) url_key: &'static str,
    /// each whole request's time limit (`forge.timeout`)
    pub(crate) timeout: Duration,
    /// what a redirect means to this client's callers ([`Http::set_moved`])
    pub(crate) moved: &'static str,
    /// and why, for the binary's advice (a forge's: the repository moved)
    pub(crate) moved_reason: Option<Reason>,
    /// where a spent metered limit is kept between ticks ([`RateCarry`])
    pub(crate) carry: Option<std::sync::Arc<dyn RateCarry>>,
}

impl Http {
    pub fn new(
        root: &str,
        token: &str,
        token_source: &str,
        timeout: Duration,
        retries: u32,
    ) -> Http {
        let agent = crate::client::builder(timeout)
            .max_idle_connections_per_host(64)
            .build();
        Http {
            service: "forge",
            agent,
            root: root.trim_end_matches('/').to_string(),
            auth: std::sync::RwLock::new(format!("token {token}")),
            scheme: "token ",
            auth_header: "Authorization",
            refresher: None,
            renewal: Mutex::new(Renewal::default()),
            accept: "application/json",
            headers: vec![],
            token_source: token_source.to_string(),
            retries,
            paging: Paging::PageLimit {
                size: "limit",
                limit: 50,
            },
            requests: AtomicUsize::new(0),
            costly: AtomicUsize::new(0),
            rate: Mutex::new(Rate::default()),
            waited: Mutex::new(Duration::ZERO),
            cache: None,
            ledger: stale::Ledger::default(),
            url_key: "forge.url",
            timeout,
            moved: "the repository was renamed or transferred (not followed, nothing touched)",
            moved_reason: Some(Reason::RepositoryMoved),
            carry: None,
        }
    }

    /// Keep a spent metered limit between ticks in `carry`: one an earlier
    /// tick kept whose reset is after `now` (epoch seconds) spends this
    /// tick's limit at once, so nothing is sent before the reset.
    pub fn set_rate_carry(&mut self, carry: std::sync::Arc<dyn RateCarry>, now: u64) {
        // a reset further off than any service's window is none (a clock
        // set back, a file edited by hand)
        if let Some(until) = carry.kept().filter(|u| *u > now && *u <= now + CARRY_MAX_S) {
            let mut r = self.rate.lock().unwrap_or_else(|e| e.into_inner());
            r.spent = true;
            r.reset = Some(until);
        }
        self.carry = Some(carry);
    }

    /// Connections give up after `connect`, and over HTTPS trust `tls`'s
    /// roots alone when given (a cluster's own CA: [`client::only_roots`]).
    pub fn set_connection(&mut self, connect: Duration, tls: Option<client::Tls>) {
        let mut b = crate::client::builder(self.timeout).timeout_connect(connect);
        if let Some(tls) = tls {
            b = b.tls_config(tls);
        }
        self.agent = b.build();
    }

    /// What a redirect's error says after where it pointed: what it means
    /// for this client's callers (a forge: the repository moved).
    /// A client told this has no [`Reason`] for it (no advice follows).
    pub fn set_moved(&mut self, why: &'static str) {
        self.moved = why;
        self.moved_reason = None;
    }

    /// At most `n` requests in flight at once (`forge.concurrency`), however
    /// many threads send: a tick may work on more repos at once than it
    /// sends requests, so that one repo's wait is another's turn.
    pub fn set_concurrency(&mut self, n: usize) {
        self.rate.get_mut().unwrap().cap = Some(n.max(1) as u64);
    }

    /// The config key that names this client's root (`forge.api_url`, `runner.url`).
    pub fn set_url_key(&mut self, key: &'static str) {
        self.url_key = key;
    }

    /// What its errors are prefixed with (`tracker`: the tracker's client
    /// is a forge client's kind, for another service).
    pub fn set_service(&mut self, service: &'static str) {
        self.service = service;
    }

    /// A client for a forge's API asked in `style` (the forge's profile
    /// says which: `afk_forge::profile`).
    pub fn with_style(
        style: &ApiStyle,
        root: &str,
        token: &str,
        token_source: &str,
        timeout: Duration,
        retries: u32,
    ) -> Http {
        let mut h = Http::new(root, token, token_source, timeout, retries);
        h.auth = std::sync::RwLock::new(format!("{}{token}", style.scheme));
        h.scheme = style.scheme;
        h.auth_header = style.auth_header;
        h.accept = style.accept;
        h.headers = style.headers.to_vec();
        h.paging = style.paging;
        h.rate.get_mut().unwrap().probe = style.probe_rate;
        h.rate.get_mut().unwrap().rule = style.rate;
        h
    }

    /// A client for another JSON service (the agent-thread runner): bearer
    /// auth when a token is given, errors prefixed with `service`.
    pub fn service(
        service: &'static str,
        root: &str,
        bearer: Option<&str>,
        token_source: &str,
        timeout: Duration,
        retries: u32,
    ) -> Http {
        let mut h = Http::new(root, "", token_source, timeout, retries);
        h.service = service;
        h.auth = std::sync::RwLock::new(bearer.map(|t| format!("Bearer {t}")).unwrap_or_default());
        h.scheme = "Bearer ";
        h
    }

    /// A client with this one's credential, headers, paging and limits for
    /// another root of the same service (Azure DevOps' identities at
    /// `forge.vssps_url`): the credential goes there only because the
    /// configuration names that root. Its own counters, no cache.
    pub fn sibling(&self, root: &str) -> Http {
        let (cap, rule) = {
            let r = self.rate.lock().unwrap();
            (r.cap, r.rule)
        };
        Http {
            service: self.service,
            agent: self.agent.clone(),
            root: root.trim_end_matches('/').to_string(),
            auth: std::sync::RwLock::new(self.auth.read().unwrap().clone()),
            scheme: self.scheme,
            auth_header: self.auth_header,
            refresher: self.refresher.clone(),
            renewal: Mutex::new(Renewal::default()),
            accept: self.accept,
            headers: self.headers.clone(),
            token_source: self.token_source.clone(),
            retries: self.retries,
            paging: self.paging,
            requests: AtomicUsize::new(0),
            costly: AtomicUsize::new(0),
            rate: Mutex::new(Rate {
                cap,
                rule,
                ..Rate::default()
            }),
            waited: Mutex::new(Duration::ZERO),
            cache: None,
            ledger: stale::Ledger::default(),
            url_key: self.url_key,
            timeout: self.timeout,
            moved: self.moved,
            moved_reason: self.moved_reason.clone(),
            // another root's limits are its own
            carry: None,
        }
    }

    pub fn root(&self) -> &str {
        &self.root
    }

    /// Where the token comes from (`AFK_FORGE_TOKEN`, `forge.token_file
    /// …`): what a refused token's words name, never its value.
    pub fn token_source(&self) -> &str {
        &self.token_source
    }

    pub fn paging(&self) -> Paging {
        self.paging
    }

    /// Requests sent (every attempt, 304s included).
    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::Relaxed)
    }

    /// Requests that cost rate limit: every answer but a 304.
    pub fn costly_requests(&self) -> usize {
        self.costly.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_read_every_worker_waits_for_takes_the_room_before_one_repositorys_own() {
        // (in flight, the cap, this one first in line, such a read under
        // way, it goes): the next in line, alone in the queue
        for (in_flight, cap, first, under_way, goes) in [
            (0, Some(8), false, false, true),
            (7, Some(8), false, false, true),
            (8, Some(8), false, false, false),
            (8, Some(8), true, true, false),
            (7, Some(8), true, true, true),
            // one under way keeps the last place for its next request
            (6, Some(8), false, true, true),
            (7, Some(8), false, true, false),
            // a cap of one keeps no place (nothing else could ever go);
            // no cap needs none
            (0, Some(1), false, true, true),
            (1, Some(1), false, true, false),
            (1, Some(2), false, true, false),
            (0, Some(2), false, true, true),
            (100, None, false, true, true),
        ] {
            let mut r = Rate {
                in_flight,
                cap,
                ..Rate::default()
            };
            let t = r.join(first, None);
            assert_eq!(
                r.may_go(t, under_way),
                goes,
                "{in_flight} in flight, cap {cap:?}, first: {first}, under way: {under_way}"
            );
        }
        // the requests waiting go in their turn: those first in line before
        // the rest, then an earlier chain's before a later one's (none: the
        // last), then in the order they came, whatever gave up
        let mut r = Rate {
            cap: Some(1),
            ..Rate::default()
        };
        // (first in line, chain), in the order they came
        let kinds = [
            (false, Some(5)),
            (false, None),
            (true, Some(9)),
            (false, Some(2)),
            (true, None),
            (false, Some(5)),
            (false, Some(2)),
            (false, None),
        ];
        let tickets: Vec<Ticket> = (kinds.iter())
            .map(|&(first, chain)| r.join(first, chain))
            .collect();
        r.leave(tickets[6]);
        let mut went = vec![];
        while let Some(next) = (0..kinds.len()).find(|&i| r.may_go(tickets[i], false)) {
            went.push(next);
            r.leave(tickets[next]);
        }
        assert_eq!(went, vec![2, 4, 3, 0, 5, 1, 7]);
        // a room taken holds the next in line back, and it alone goes after
        let t = r.join(false, None);
        let behind = r.join(false, None);
        r.in_flight = 1;
        assert!(!r.may_go(t, false) && !r.may_go(behind, false));
        r.in_flight = 0;
        assert!(r.may_go(t, false) && !r.may_go(behind, false));
    }

    #[test]
    fn a_request_goes_out_only_below_the_concurrency_cap_and_the_rate_left() {
        let rate = |in_flight, cap, remaining| Rate {
            in_flight,
            cap,
            remaining,
            ..Rate::default()
        };
        for (r, room) in [
            (rate(0, None, None), true),
            (rate(7, Some(8), None), true),
            (rate(8, Some(8), None), false),
            (rate(9, Some(8), None), false),
            (rate(3, Some(8), Some(3)), false),
            (rate(2, Some(8), Some(3)), true),
            (rate(100, None, None), true),
        ] {
            assert_eq!(r.room(), room, "{r:?}");
        }
    }
}
