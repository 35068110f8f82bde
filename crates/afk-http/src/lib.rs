//! One HTTP helper for every forge call: per-request timeout, retries with
//! backoff (connect errors, 5xx, 429 and secondary rate limits honouring
//! `Retry-After` within the tick's wait budget), pagination in the caller's
//! style (`page`/`limit` or `Link` + `per_page`), the primary rate limit read
//! from every answer (spent: no more requests this tick), conditional GETs
//! through a [`ConditionalCache`], request counters, and errors that name
//! method, path and status, never the token.
//!
//! Its own crate (`afk-http`), with the one client builder (`client`) and the
//! one `Link` parser (`link`): below the forges, the agent-thread runner and
//! the registry, it names none of them, nor the store or a command. The
//! binary re-exports it as `afk::forge::http` (and `afk::client`, `afk::link`).

pub mod bounded;
pub mod client;
mod failure;
pub mod link;
mod stale;

// the paths this file names, as in the binary it came from
// (afk-wire is the part of afk-core they use, re-exported there under the
// same names: `crate::core::sanitize` is `afk_core::sanitize`)
use afk_host::{clock, log};
use afk_model as types;
use afk_wire as core;

use anyhow::Result;
use serde::de::DeserializeOwned;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::Duration;

pub use failure::{Exhausted, Failure, ForgeError, LastTry};

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
}

/// What a conditional GET keeps per URL (a shape the store keeps too, so the model's).
pub use crate::types::Cached;

/// Where conditional GETs keep the `ETag` and body of each URL they fetched
/// (the state file's `etags` table: `store::etags`).
pub trait ConditionalCache: Send + Sync {
    fn get(&self, url: &str) -> Option<Cached>;
    fn put(&self, url: &str, entry: Cached);
}

/// One request in flight under the rate limit; answered (or failed) when dropped.
struct InFlight<'a>(&'a Http);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.rate.lock().unwrap().in_flight -= 1;
        self.0.answered.notify_all();
    }
}

/// The hint of an answer a later try may not meet (a rate limit, the
/// service failing).
const LATER: &str = "try again later";

/// How a list is paged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Paging {
    /// `page` + the page size as `size` (Gitea: `limit`) on every request.
    /// A `Link: rel="next"` decides whether there is more when sent, else a
    /// full page does.
    PageLimit { size: &'static str, limit: usize },
    /// the page size as `size` (GitHub: `per_page`) on the first request,
    /// then the `Link: rel="next"` URL as the forge wrote it, never one
    /// outside the API root.
    Link { size: &'static str, per_page: usize },
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
}

/// The most a tick waits in all for `Retry-After` answers (429, secondary
/// rate limits); a longer wait is left to the next tick.
const WAIT_BUDGET: Duration = Duration::from_secs(120);
/// GitHub: a secondary limit without `Retry-After` asks for at least a minute.
const SECONDARY_DEFAULT_WAIT: Duration = Duration::from_secs(60);

/// The primary rate limit as the answers report it.
#[derive(Default, Debug, Clone, Copy)]
struct Rate {
    remaining: Option<u64>,
    reset: Option<u64>,
    /// spent: no request goes out for the rest of the tick
    spent: bool,
    /// requests sent and not answered yet
    in_flight: u64,
    /// the first request goes alone, to learn the limit (GitHub)
    probe: bool,
    /// an answer has come back
    seen: bool,
    /// requests in flight at most (`forge.concurrency`); None: no cap
    cap: Option<u64>,
}

impl Rate {
    /// Whether one more request may go out now: never more in flight than
    /// the limit has left (a 304 costs nothing, so waiting for the answers
    /// in flight may free the way again), and, when probing, nothing beside
    /// the first request until it tells what is left.
    fn room(&self) -> bool {
        if self.probe && !self.seen {
            return self.in_flight == 0;
        }
        self.cap.is_none_or(|cap| self.in_flight < cap)
            && self.remaining.is_none_or(|left| self.in_flight < left)
    }
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

/// The token in hand: its generation (bumped by each refresh) and whether
/// this tick already refreshed it.
#[derive(Default)]
struct Renewal {
    generation: u64,
    exchanged: bool,
    /// the first token is in hand
    started: bool,
}

pub struct Http {
    service: &'static str,
    agent: ureq::Agent,
    root: String,
    /// `Bearer <token>`: replaced when a [`Refresher`] hands a new token
    auth: std::sync::RwLock<String>,
    /// `Bearer ` or `token `: what `auth` starts with
    scheme: &'static str,
    /// the header `auth` goes in
    auth_header: &'static str,
    refresher: Option<std::sync::Arc<dyn Refresher>>,
    renewal: Mutex<Renewal>,
    accept: &'static str,
    /// more headers on every request (`X-GitHub-Api-Version`)
    headers: Vec<(&'static str, &'static str)>,
    /// Where the token comes from, for the 401 hint ("AFK_FORGE_TOKEN").
    token_source: String,
    retries: u32,
    paging: Paging,
    requests: AtomicUsize,
    costly: AtomicUsize,
    rate: Mutex<Rate>,
    /// signalled when a request in flight is answered
    answered: Condvar,
    waited: Mutex<Duration>,
    cache: Option<Box<dyn ConditionalCache>>,
    /// with a cache: what was read through it and what was written (`revalidate`)
    ledger: stale::Ledger,
    /// the config key naming `root`, for connect errors (`forge.url`)
    url_key: &'static str,
    /// each whole request's time limit (`forge.timeout`)
    timeout: Duration,
    /// what a redirect means to this client's callers ([`Http::set_moved`])
    moved: &'static str,
}

/// One call as its tries share it.
struct Call<'a> {
    method: &'a str,
    /// relative to the API root, with its query
    path: &'a str,
    url: String,
    /// sent again after a 5xx or a lost answer (a `POST` may have landed: never)
    idempotent: bool,
}

/// What a refused try leads to.
enum Next {
    /// try again after this wait
    Wait(Duration),
    /// a 401 with a refresher: a fresh token, then the same request
    Renew,
    Fail(anyhow::Error),
}

/// The wait before the try after `attempt` when the service names none.
fn backoff(attempt: u32) -> Duration {
    Duration::from_millis(100u64 << attempt.min(6))
}

/// `scheme://host[:port]` of a URL: what a connect error names.
fn origin(url: &str) -> &str {
    match url.find("://") {
        Some(i) => {
            let rest = &url[i + 3..];
            let end = rest
                .find(['/', '?', '#'])
                .map(|j| i + 3 + j)
                .unwrap_or(url.len());
            &url[..end]
        }
        None => url,
    }
}

/// What the operating system said about a failed connect, in lower case
/// without the `(os error N)` tail: `connection refused`.
fn connect_reason(t: &ureq::Transport) -> String {
    let mut source = std::error::Error::source(t);
    while let Some(e) = source {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            return afk_host::os_words(io).to_ascii_lowercase();
        }
        source = e.source();
    }
    short(&t.to_string())
}

/// What an error's message may hold of a service's answer (its `message`
/// field, a parser's complaint about the body): `sanitize::excerpt`.
fn short(s: &str) -> String {
    crate::core::sanitize::excerpt(s, 160)
}

/// The longest message a failed call's error carries, the service's words in
/// it included (`sanitize::excerpt`): an answer of any size is one short line.
pub const MESSAGE_MAX: usize = 300;

pub use crate::link::next_link;

/// A path segment, percent-encoded (everything but RFC 3986's unreserved
/// characters): a label or login never changes the path.
pub fn enc(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `owner/name` with each segment percent-encoded.
pub fn repo_path(repo: &str) -> String {
    match repo.split_once('/') {
        Some((o, n)) => format!("{}/{}", enc(o), enc(n)),
        None => enc(repo),
    }
}

/// `x-ratelimit-reset` (epoch seconds) as RFC 3339 text, with the epoch.
pub fn reset_text(reset: Option<u64>) -> String {
    match reset.and_then(|r| time::OffsetDateTime::from_unix_timestamp(r as i64).ok()) {
        Some(t) => format!(
            "{} (x-ratelimit-reset {})",
            crate::clock::ts(t),
            t.unix_timestamp()
        ),
        None => "the limit resets (the forge did not say when)".into(),
    }
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
            answered: Condvar::new(),
            waited: Mutex::new(Duration::ZERO),
            cache: None,
            ledger: stale::Ledger::default(),
            url_key: "forge.url",
            timeout,
            moved: "the repository was renamed or transferred; update the allowlist (not followed, nothing touched)",
        }
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
    pub fn set_moved(&mut self, why: &'static str) {
        self.moved = why;
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

    /// Send `If-None-Match` on every GET with what `cache` holds for its URL,
    /// and keep what answers with an `ETag`.
    pub fn set_cache(&mut self, cache: Box<dyn ConditionalCache>) {
        self.cache = Some(cache);
    }

    /// Read again, once, each conditional GET this client's own writes made
    /// stale (`core::revalidate`), at most `concurrency` at a time: GitHub's
    /// `ETag` is opaque, so only a read after the write keeps the next tick's
    /// `If-None-Match` matching. A failure is left to the next tick, which
    /// reads the list anyway. Returns how many were read again.
    pub fn revalidate(&self, concurrency: usize) -> usize {
        let stale = self.ledger.stale();
        fan_out(&stale, concurrency, |p| {
            let _ = self.send("GET", p, None);
        });
        stale.len()
    }

    pub fn root(&self) -> &str {
        &self.root
    }

    /// On a 401, ask `r` for a new token once per tick and send again.
    pub fn set_refresher(&mut self, r: std::sync::Arc<dyn Refresher>) {
        self.refresher = Some(r);
    }

    /// The token in hand (git's password for an app's installation); never printed.
    pub fn token(&self) -> Result<String> {
        self.start()?;
        let auth = self.auth.read().unwrap();
        Ok(auth.strip_prefix(self.scheme).unwrap_or(&auth).to_string())
    }

    /// Fetch the first token from the refresher when no request has yet.
    fn start(&self) -> Result<()> {
        let Some(r) = &self.refresher else {
            return Ok(());
        };
        let mut g = self.renewal.lock().unwrap();
        if !g.started {
            let token = r.initial()?;
            *self.auth.write().unwrap() = format!("{}{}", self.scheme, token.expose());
            g.started = true;
        }
        Ok(())
    }

    /// A request sent with token generation `sent` was refused (401): true
    /// when it may be sent again (another request refreshed the token, or
    /// this one did: the tick's one exchange), false when the tick fails.
    fn renew(&self, sent: u64) -> Result<bool> {
        use crate::core::app_token::{OnRefused, on_refused};
        let Some(r) = &self.refresher else {
            return Ok(false);
        };
        // held through the exchange: requests refused meanwhile wait, then resend
        let mut g = self.renewal.lock().unwrap();
        match on_refused(sent, g.generation, g.exchanged) {
            OnRefused::Resend => Ok(true),
            OnRefused::Fail => Ok(false),
            OnRefused::Exchange => {
                g.exchanged = true;
                crate::log::debug(
                    "forge: the installation token was refused (401); exchanging a new one once",
                );
                let token = r.refresh()?;
                *self.auth.write().unwrap() = format!("{}{}", self.scheme, token.expose());
                g.generation += 1;
                Ok(true)
            }
        }
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

    /// The rate limit left as the last answer reported it, and its reset (epoch seconds).
    pub fn rate_limit(&self) -> (Option<u64>, Option<u64>) {
        let r = self.rate.lock().unwrap();
        (r.remaining, r.reset)
    }

    /// An error of an answer (`status`) or of none, tried once.
    fn error(
        &self,
        method: &str,
        path: &str,
        status: Option<u16>,
        message: String,
    ) -> anyhow::Error {
        let kind = status.map_or(Failure::NoAnswer, Failure::answered);
        self.failed(method, path, status, message, kind, None)
    }

    /// An error that met `kind`; one that used up its retries says how
    /// many it had ([`ForgeError::exhausted`]).
    fn failed(
        &self,
        method: &str,
        path: &str,
        status: Option<u16>,
        message: String,
        kind: Failure,
        hint: Option<String>,
    ) -> anyhow::Error {
        let bare = path.split('?').next().unwrap_or(path);
        // the message may carry what the service said: one short escaped line
        let message = crate::core::sanitize::excerpt(&message, MESSAGE_MAX);
        anyhow::Error::new(ForgeError {
            service: self.service,
            method: method.into(),
            path: bare.into(),
            status,
            message,
            kind,
            retries: self.retries,
            hint,
        })
    }

    fn limited(
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

    /// What an answer of `status` means, with what the service said of it
    /// (its `message`, short), and what to do about it, apart.
    fn status_message(&self, status: u16, body: &str) -> (String, Option<String>) {
        let detail = serde_json::from_str::<serde_json::Value>(body)
            .ok()
            .and_then(|v| v.get("message").and_then(|m| m.as_str()).map(short))
            .unwrap_or_default();
        let failed = format!("the {} failed", self.service);
        let (what, hint) = match status {
            401 => ("unauthorized", Some(format!("check {}", self.token_source))),
            403 => ("the token's account lacks permission here", None),
            404 => (
                "not found",
                Some("check the repo name and the token's access".to_string()),
            ),
            429 => ("rate limited", Some(LATER.to_string())),
            s if s >= 500 => (failed.as_str(), Some(LATER.to_string())),
            _ => ("unexpected answer", None),
        };
        match detail.is_empty() {
            true => (what.to_string(), hint),
            false => (format!("{what} ({detail})"), hint),
        }
    }

    /// Read `x-ratelimit-remaining` / `x-ratelimit-reset` from an answer; a
    /// remaining of 0 spends the limit for the rest of the tick.
    /// Within one window (the same reset) the count only goes down, so
    /// answers arriving out of order keep the lowest.
    fn note_rate(&self, resp: &ureq::Response) -> Rate {
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
    fn admit(&self, method: &str, path: &str) -> Result<InFlight<'_>> {
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
    fn take_wait(&self, wait: Duration) -> bool {
        let mut w = self.waited.lock().unwrap();
        if *w + wait > WAIT_BUDGET {
            return false;
        }
        *w += wait;
        true
    }

    /// One request with retries. `path` is relative to the API root and may carry a query.
    pub fn send(
        &self,
        method: &str,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<Response> {
        self.send_accepting(method, path, body, self.accept)
    }

    /// [`Http::send`] with another `Accept` than the client's own, for the
    /// one operation whose contract produces something else (Gitea's raw
    /// `git/commits/{sha}.diff` produces `text/plain`).
    pub fn send_accepting(
        &self,
        method: &str,
        path: &str,
        body: Option<&serde_json::Value>,
        accept: &str,
    ) -> Result<Response> {
        let call = Call {
            method,
            path,
            url: format!("{}{}", self.root, path),
            idempotent: method != "POST",
        };
        let cached = self.cached(&call);
        let resp = self.exchange(&call, body, accept, cached.as_ref())?;
        self.answer(&call, resp, cached.as_ref())
    }

    /// A GET whose answer is read as a stream (a log), at most `cap` bytes
    /// of it: the same tries, token and errors as [`Http::send`], no cache.
    /// Every status outside 2xx is an error (a redirect is never followed).
    pub fn stream(&self, path: &str, cap: u64) -> Result<Box<dyn std::io::Read + Send>> {
        let call = Call {
            method: "GET",
            path,
            url: format!("{}{}", self.root, path),
            idempotent: true,
        };
        let resp = self.exchange(&call, None, self.accept, None)?;
        self.note_rate(&resp);
        self.costly.fetch_add(1, Ordering::Relaxed);
        let status = resp.status();
        if (300..400).contains(&status) {
            return Err(self.moved("GET", path, status, &resp));
        }
        Ok(Box::new(std::io::Read::take(resp.into_reader(), cap)))
    }

    /// The tries of one call: the answer that was not refused (2xx, 3xx),
    /// or the call's failure.
    fn exchange(
        &self,
        call: &Call,
        body: Option<&serde_json::Value>,
        accept: &str,
        cached: Option<&Cached>,
    ) -> Result<ureq::Response> {
        let (method, path) = (call.method, call.path);
        self.start()?;
        let mut attempt = 0;
        loop {
            let slot = self.admit(method, path)?;
            let sent = self.renewal.lock().unwrap().generation;
            let wait = match self.request(call, body, accept, cached) {
                Ok(resp) => return Ok(resp),
                Err(e) => match *e {
                    ureq::Error::Status(status, resp) => {
                        match self.refused(call, status, resp, attempt) {
                            Next::Wait(w) => w,
                            Next::Fail(e) => return Err(e),
                            Next::Renew => {
                                drop(slot);
                                if self.renew(sent)? {
                                    continue;
                                }
                                return Err(self.refused_again(method, path));
                            }
                        }
                    }
                    ureq::Error::Transport(t) => self.unanswered(call, &t, attempt)?,
                },
            };
            drop(slot);
            crate::log::debug(&format!(
                "forge: {method} {} failed, retry {} in {:?}",
                path.split('?').next().unwrap_or(path),
                attempt + 1,
                wait
            ));
            std::thread::sleep(wait);
            attempt += 1;
        }
    }

    /// A GitHub App's fresh token refused too: the tick's one exchange is spent.
    fn refused_again(&self, method: &str, path: &str) -> anyhow::Error {
        self.failed(
            method,
            path,
            Some(401),
            "the GitHub App's installation token was refused again after a fresh exchange this tick".into(),
            Failure::answered(401),
            Some("check the app's installation (forge.app_installation_id) and that it is not suspended".into()),
        )
    }

    /// What the cache holds for a GET (noted as read); a write is noted as
    /// one, for `revalidate`.
    fn cached(&self, call: &Call) -> Option<Cached> {
        match (&self.cache, call.method) {
            (Some(c), "GET") => {
                self.ledger.read(call.path);
                c.get(&call.url)
            }
            (Some(_), _) => {
                self.ledger.wrote(call.path);
                None
            }
            _ => None,
        }
    }

    /// One attempt on the wire: the client's headers, the token in hand, the
    /// cached `ETag`; counted and logged.
    fn request(
        &self,
        call: &Call,
        body: Option<&serde_json::Value>,
        accept: &str,
        cached: Option<&Cached>,
    ) -> std::result::Result<ureq::Response, Box<ureq::Error>> {
        self.requests.fetch_add(1, Ordering::Relaxed);
        let mut req = self
            .agent
            .request(call.method, &call.url)
            .set("Accept", accept);
        for (k, v) in &self.headers {
            req = req.set(k, v);
        }
        let auth = self.auth.read().unwrap().clone();
        if !auth.is_empty() {
            req = req.set(self.auth_header, &auth);
        }
        if let Some(c) = cached {
            req = req.set("If-None-Match", &c.etag);
        }
        let started = std::time::Instant::now();
        let res = match body {
            Some(b) => {
                // nothing afk writes carries a secret (afk_host::redact)
                let mut b = b.clone();
                afk_host::redact::json(&mut b);
                req.send_json(b)
            }
            None => req.call(),
        };
        crate::log::request(
            call.method,
            call.path,
            match &res {
                Ok(r) => Some(r.status()),
                Err(ureq::Error::Status(s, _)) => Some(*s),
                Err(_) => None,
            },
            started.elapsed(),
        );
        res.map_err(Box::new)
    }

    /// A 2xx or 3xx answer: a 304 from the cache, a redirect refused (never
    /// followed), else the body, kept for the next conditional GET.
    fn answer(
        &self,
        call: &Call,
        resp: ureq::Response,
        cached: Option<&Cached>,
    ) -> Result<Response> {
        let (method, path) = (call.method, call.path);
        let status = resp.status();
        self.note_rate(&resp);
        let scopes = resp.header("x-oauth-scopes").map(str::to_string);
        if status == 304
            && let Some(c) = cached
        {
            return Ok(Response {
                status: 200,
                link: c.link.clone(),
                body: c.body.clone(),
                scopes,
                not_modified: true,
                skipped: 0,
            });
        }
        self.costly.fetch_add(1, Ordering::Relaxed);
        let link = resp.header("Link").map(str::to_string);
        let etag = resp.header("ETag").map(str::to_string);
        if (300..400).contains(&status) {
            return Err(self.moved(method, path, status, &resp));
        }
        let bounded::Kept { body, skipped } = bounded::read(resp.into_reader())
            .map_err(|e| self.error(method, path, Some(status), e.to_string()))?;
        if skipped > 0 {
            crate::log::warn(&format!(
                "forge: {method} {}: {skipped} item{} over {} KiB skipped (someone's oversized text); the rest was read",
                path.split('?').next().unwrap_or(path),
                if skipped == 1 { "" } else { "s" },
                bounded::ITEM_CAP >> 10
            ));
        }
        if let (Some(c), "GET", Some(etag)) = (&self.cache, method, etag)
            && (200..300).contains(&status)
        {
            let entry = Cached {
                etag,
                body: body.clone(),
                link: link.clone(),
            };
            c.put(&call.url, entry);
        }
        Ok(Response {
            status,
            link,
            body,
            scopes,
            not_modified: false,
            skipped,
        })
    }

    /// A redirect, refused (never followed): where it pointed, and what
    /// this client's callers make of one ([`Http::set_moved`]).
    fn moved(&self, method: &str, path: &str, status: u16, resp: &ureq::Response) -> anyhow::Error {
        let to = resp.header("Location").unwrap_or("");
        self.error(
            method,
            path,
            Some(status),
            format!("moved to {to}: {}", self.moved),
        )
    }

    /// An answer that refused the request (4xx, 5xx): a token to renew, a
    /// spent limit, a wait before the next try, or the call's failure.
    fn refused(&self, call: &Call, status: u16, resp: ureq::Response, attempt: u32) -> Next {
        let (method, path) = (call.method, call.path);
        self.costly.fetch_add(1, Ordering::Relaxed);
        let rate = self.note_rate(&resp);
        // seconds or an HTTP date (as proxies and CDNs send it), a date
        // measured from the answer's own Date; a wait is the machine's,
        // never a pinned AFK_NOW's
        let ra = resp.header("Retry-After").and_then(|v| {
            crate::core::retry_after::wait(v, resp.header("Date"), time::OffsetDateTime::now_utc())
        });
        let body = bounded::read_short(resp.into_reader(), 64 << 10);
        if status == 401 && self.refresher.is_some() {
            return Next::Renew;
        }
        let limit_status = status == 403 || status == 429;
        if limit_status && rate.remaining == Some(0) {
            return Next::Fail(self.limited(method, path, Some(status), rate.reset));
        }
        let secondary =
            limit_status && (ra.is_some() || body.to_ascii_lowercase().contains("rate limit"));
        let (msg, hint) = if secondary && status == 403 {
            ("secondary rate limit".to_string(), Some(LATER.to_string()))
        } else {
            self.status_message(status, &body)
        };
        let retryable = status == 429 || secondary || (status >= 500 && call.idempotent);
        // a secondary limit that outlasts us is a limit, never "forbidden"
        let last = if secondary {
            LastTry::RateLimited
        } else {
            LastTry::Answered(status)
        };
        if !retryable || attempt >= self.retries {
            let kind = if retryable {
                Failure::Exhausted(last)
            } else {
                Failure::answered(status)
            };
            return Next::Fail(self.failed(method, path, Some(status), msg, kind, hint));
        }
        let wait = match ra {
            Some(w) => w,
            None if secondary => SECONDARY_DEFAULT_WAIT,
            None => backoff(attempt),
        };
        if !self.take_wait(wait) {
            return Next::Fail(self.failed(
                method,
                path,
                Some(status),
                format!(
                    "{msg}; the forge asks to wait {}s, more than this tick may wait: the next tick tries again",
                    wait.as_secs()
                ),
                Failure::Exhausted(last),
                None,
            ));
        }
        Next::Wait(wait)
    }

    /// No answer came: the wait before the next try, or the call's failure
    /// (an unreachable host is a configuration mistake, never tried again).
    fn unanswered(&self, call: &Call, t: &ureq::Transport, attempt: u32) -> Result<Duration> {
        let (method, path) = (call.method, call.path);
        let connect = matches!(
            t.kind(),
            ureq::ErrorKind::ConnectionFailed | ureq::ErrorKind::Dns
        );
        let at = origin(&self.root);
        let key = self.url_key;
        let reason = connect_reason(t);
        if t.kind() == ureq::ErrorKind::Dns || (connect && reason.contains("refused")) {
            // nobody listens there, or there is no such host: a
            // configuration mistake, not a passing failure
            let msg = match t.kind() {
                ureq::ErrorKind::Dns => {
                    format!("cannot resolve the host of {at} ({key}): {reason}")
                }
                _ => format!("cannot connect to {at} ({key}): {reason}"),
            };
            return Err(self.failed(method, path, None, msg, Failure::Unreachable, None));
        }
        let msg = match t.kind() {
            ureq::ErrorKind::Io
                if t.to_string().contains("timed out") || t.to_string().contains("WouldBlock") =>
            {
                "timed out (forge.timeout)".to_string()
            }
            // ureq says "<url>: <what>": drop the URL (it may carry a
            // query) and the separator it leaves behind
            ureq::ErrorKind::ConnectionFailed => {
                format!("cannot connect to {at} ({key}): {reason}")
            }
            _ => short(
                t.to_string()
                    .replace(&call.url, "")
                    .trim_start_matches([':', ' ']),
            ),
        };
        let retryable = connect || call.idempotent;
        if !retryable || attempt >= self.retries {
            let kind = if retryable {
                Failure::Exhausted(LastTry::NoAnswer)
            } else {
                Failure::NoAnswer
            };
            return Err(self.failed(method, path, None, msg, kind, None));
        }
        Ok(backoff(attempt))
    }

    pub fn json<T: DeserializeOwned>(
        &self,
        method: &str,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<T> {
        let r = self.send(method, path, body)?;
        self.parse(method, path, r.status, &r.body)
    }

    fn parse<T: DeserializeOwned>(
        &self,
        method: &str,
        path: &str,
        status: u16,
        body: &str,
    ) -> Result<T> {
        serde_json::from_str(body).map_err(|e| {
            self.error(
                method,
                path,
                Some(status),
                format!("malformed JSON in the answer: {e}"),
            )
        })
    }

    /// The items of one page: the body itself, or its `field` (a list wrapped
    /// in an object, like GitHub's check runs).
    fn items<T: DeserializeOwned>(
        &self,
        path: &str,
        r: &Response,
        field: Option<&str>,
    ) -> Result<Vec<T>> {
        match field {
            None => self.parse("GET", path, r.status, &r.body),
            Some(f) => {
                let mut v: serde_json::Value = self.parse("GET", path, r.status, &r.body)?;
                serde_json::from_value(v.get_mut(f).map(|x| x.take()).unwrap_or_default()).map_err(
                    |e| {
                        self.error(
                            "GET",
                            path,
                            Some(r.status),
                            format!("malformed JSON in the answer ({f}): {e}"),
                        )
                    },
                )
            }
        }
    }

    /// A `Link` URL as a path under the API root, always sent to the
    /// configured root (a link naming another spelling of the host, a proxy's
    /// say, is read by its path): the token never goes to another host. A
    /// path outside the root's is refused.
    fn under_root(&self, path: &str, url: &str) -> Result<String> {
        crate::core::secrets::link_under_root(&self.root, url).ok_or_else(|| {
            self.error(
                "GET",
                path,
                None,
                format!("the next page's link {url} is outside the API root; not followed"),
            )
        })
    }

    /// A list that never ends (a forge that always sends `rel="next"`) is an
    /// error, never partial data used as if it were all of it.
    fn too_many_pages(&self, path: &str) -> anyhow::Error {
        self.error(
            "GET",
            path,
            None,
            format!("the list did not end after {MAX_PAGES} pages; nothing of it was used"),
        )
    }

    /// GET every page of a list, in this client's paging style.
    pub fn get_all<T: DeserializeOwned>(&self, path: &str) -> Result<Vec<T>> {
        self.pages(path, None)
    }

    /// GET every page of a list wrapped in an object under `field`.
    pub fn get_all_in<T: DeserializeOwned>(&self, path: &str, field: &str) -> Result<Vec<T>> {
        self.pages(path, Some(field))
    }

    fn pages<T: DeserializeOwned>(&self, path: &str, field: Option<&str>) -> Result<Vec<T>> {
        let mut out = vec![];
        self.walk_in(path, field, |items: Vec<T>| {
            out.extend(items);
            true
        })?;
        Ok(out)
    }

    /// GET a list page by page, in this client's paging style, handing each
    /// page's items to `more`, which says whether to fetch the next.
    pub fn walk<T: DeserializeOwned>(
        &self,
        path: &str,
        more: impl FnMut(Vec<T>) -> bool,
    ) -> Result<()> {
        self.walk_in(path, None, more)
    }

    fn walk_in<T: DeserializeOwned>(
        &self,
        path: &str,
        field: Option<&str>,
        mut more: impl FnMut(Vec<T>) -> bool,
    ) -> Result<()> {
        let sep = if path.contains('?') { '&' } else { '?' };
        match self.paging {
            Paging::PageLimit { size, limit } => {
                for page in 1.. {
                    if page > MAX_PAGES {
                        return Err(self.too_many_pages(path));
                    }
                    let p = format!("{path}{sep}page={page}&{size}={limit}");
                    let r = self.send("GET", &p, None)?;
                    let items: Vec<T> = self.items(path, &r, field)?;
                    // a full page is full with the items skipped as too big
                    let n = items.len() + r.skipped;
                    let go_on = more(items);
                    let next = match &r.link {
                        Some(l) => l.contains("rel=\"next\""),
                        None => n >= limit,
                    };
                    if !go_on || !next || n == 0 {
                        break;
                    }
                }
            }
            Paging::Link { size, per_page } => {
                let mut next = Some(format!("{path}{sep}{size}={per_page}"));
                let mut pages = 0;
                while let Some(p) = next.take() {
                    let r = self.send("GET", &p, None)?;
                    let items: Vec<T> = self.items(&p, &r, field)?;
                    let n = items.len() + r.skipped;
                    pages += 1;
                    if !more(items) || n == 0 {
                        break;
                    }
                    if pages >= MAX_PAGES && r.link.as_deref().and_then(next_link).is_some() {
                        return Err(self.too_many_pages(path));
                    }
                    next = match r.link.as_deref().and_then(next_link) {
                        Some(u) => Some(self.under_root(&p, &u)?),
                        None => None,
                    };
                }
            }
        }
        Ok(())
    }
}

/// The most pages one list may take (5,000 items at Gitea's 50, 10,000 at GitHub's 100).
pub const MAX_PAGES: usize = 100;

/// Run `f` over `items` with at most `concurrency` in flight; results keep input order.
pub fn fan_out<T: Sync, R: Send>(
    items: &[T],
    concurrency: usize,
    f: impl Fn(&T) -> R + Sync,
) -> Vec<R> {
    let n = concurrency.max(1).min(items.len().max(1));
    if n <= 1 || items.len() <= 1 {
        return items.iter().map(f).collect();
    }
    let next = AtomicUsize::new(0);
    let results: Vec<std::sync::Mutex<Option<R>>> =
        items.iter().map(|_| std::sync::Mutex::new(None)).collect();
    std::thread::scope(|s| {
        for _ in 0..n {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= items.len() {
                        break;
                    }
                    let r = f(&items[i]);
                    *results[i].lock().unwrap() = Some(r);
                }
            });
        }
    });
    results
        .into_iter()
        .map(|m| m.into_inner().unwrap().expect("every item ran"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fan_out_keeps_order_and_bounds_concurrency() {
        let live = AtomicUsize::new(0);
        let peak = AtomicUsize::new(0);
        let items: Vec<usize> = (0..40).collect();
        let out = fan_out(&items, 4, |i| {
            let now = live.fetch_add(1, Ordering::SeqCst) + 1;
            peak.fetch_max(now, Ordering::SeqCst);
            std::thread::yield_now();
            live.fetch_sub(1, Ordering::SeqCst);
            i * 2
        });
        assert_eq!(out, items.iter().map(|i| i * 2).collect::<Vec<_>>());
        assert!(peak.load(Ordering::SeqCst) <= 4);
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

    #[test]
    fn forge_error_names_method_path_status() {
        let e = ForgeError {
            service: "forge",
            method: "GET".into(),
            path: "/repos/a/b/issues".into(),
            status: Some(401),
            message: "unauthorized".into(),
            kind: Failure::Unauthorized,
            retries: 0,
            hint: Some("check AFK_FORGE_TOKEN".into()),
        };
        // the advice is the hint's, never the message's
        assert_eq!(
            e.to_string(),
            "forge: GET /repos/a/b/issues returned 401: unauthorized"
        );
    }

    /// What an answer means is the message; what to do about it, the hint.
    #[test]
    fn an_answers_advice_is_its_hint_apart_from_what_it_means() {
        let h = Http::new(
            "http://x",
            "t",
            "AFK_FORGE_TOKEN",
            Duration::from_secs(1),
            0,
        );
        // (status, body, message, hint)
        let cases = [
            (401, "", "unauthorized", Some("check AFK_FORGE_TOKEN")),
            (
                401,
                r#"{"message":"Bad credentials"}"#,
                "unauthorized (Bad credentials)",
                Some("check AFK_FORGE_TOKEN"),
            ),
            (403, "", "the token's account lacks permission here", None),
            (
                404,
                "",
                "not found",
                Some("check the repo name and the token's access"),
            ),
            (429, "", "rate limited", Some("try again later")),
            (502, "", "the forge failed", Some("try again later")),
            (418, "", "unexpected answer", None),
        ];
        for (status, body, message, hint) in cases {
            let (m, hn) = h.status_message(status, body);
            assert_eq!(
                (m.as_str(), hn.as_deref()),
                (message, hint),
                "{status} {body}"
            );
        }
    }

    /// The rule is core's (`core::secrets::link_under_root`, with its table);
    /// this pins that the client applies it and refuses with one clear line.
    #[test]
    fn next_pages_stay_under_the_api_root_and_on_its_host() {
        let h = Http::new(
            "https://ghe.example/api/v3",
            "t",
            "T",
            Duration::from_secs(1),
            0,
        );
        let ok = h.under_root("/x", "http://proxy.internal/api/v3/repos/a/b/issues?page=2");
        assert_eq!(ok.unwrap(), "/repos/a/b/issues?page=2");
        let e = h
            .under_root("/x", "https://ghe.example/api/v3/repos/a/%2e%2e/x")
            .unwrap_err();
        assert!(
            e.to_string()
                .contains("is outside the API root; not followed"),
            "{e}"
        );
    }

    #[test]
    fn a_spent_rate_limit_is_not_a_refusal() {
        let e = anyhow::Error::new(ForgeError {
            service: "forge",
            method: "GET".into(),
            path: "/repos/a/b/collaborators/x/permission".into(),
            status: Some(403),
            message: "rate limit spent".into(),
            kind: Failure::RateLimited,
            retries: 0,
            hint: None,
        });
        assert_eq!(ForgeError::kind_of(&e), Some(Failure::RateLimited));
        assert!(!Failure::RateLimited.is_refusal());
    }

    fn failed(status: Option<u16>, kind: Failure) -> ForgeError {
        ForgeError {
            service: "forge",
            method: "GET".into(),
            path: "/x".into(),
            status,
            message: "m".into(),
            kind,
            retries: 0,
            hint: None,
        }
    }

    #[test]
    fn a_status_is_one_kind_and_a_spent_rate_limit_is_never_a_refusal() {
        use Failure::*;
        // an answer's status → its kind: a refusal, whose words keep the
        // number the forge sent
        let answered = [
            (401, Unauthorized),
            (403, Forbidden),
            (404, NotFound),
            (409, Conflict),
            (410, Gone),
            (422, Unprocessable),
            (301, Other(301)),
            (200, Other(200)),
            (502, Other(502)),
        ];
        for (status, kind) in answered {
            assert_eq!(Failure::answered(status), kind, "{status}");
            assert!(kind.is_refusal(), "{status}");
            assert_eq!(kind.status(), Some(status), "{status}");
        }
        // the primary rate limit spent (403, 429, or never sent), or no
        // answer at all: never a refusal, and no number
        for kind in [RateLimited, NoAnswer, Unreachable] {
            assert!(!kind.is_refusal(), "{kind:?}");
            assert_eq!(kind.status(), None, "{kind:?}");
        }
        for status in [Some(403), Some(429), None] {
            let e = anyhow::Error::new(failed(status, RateLimited));
            assert_eq!(ForgeError::kind_of(&e), Some(RateLimited), "{status:?}");
        }
        assert_eq!(
            ForgeError::kind_of(&anyhow::anyhow!("not a forge call")),
            None
        );
    }

    #[test]
    fn a_configuration_mistake_is_a_refused_token_or_an_unreachable_host() {
        use Failure::*;
        // kind, status → the tick's one cause, or none
        let cases = [
            (
                Unauthorized,
                Some(401),
                Some("forge: the token was refused (401): m"),
            ),
            (Unreachable, None, Some("forge: m")),
            (Forbidden, Some(403), None),
            (NoAnswer, None, None),
            (RateLimited, Some(429), None),
            (Exhausted(LastTry::NoAnswer), None, None),
            (Exhausted(LastTry::Answered(503)), Some(503), None),
        ];
        for (kind, status, cause) in cases {
            let e = anyhow::Error::new(failed(status, kind));
            assert_eq!(ForgeError::cause(&e).as_deref(), cause, "{kind:?}");
        }
        assert_eq!(
            ForgeError::cause(&anyhow::anyhow!("not a forge call")),
            None
        );
    }

    /// Answers one connection with `answer` (raw HTTP), or closes it
    /// unanswered (None), once the request is read.
    fn serve(answer: Option<String>) -> String {
        use std::io::{BufRead, BufReader, Read, Write};
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let root = format!("http://{}", l.local_addr().unwrap());
        std::thread::spawn(move || {
            let (c, _) = l.accept().unwrap();
            let mut r = BufReader::new(c);
            let mut length = 0;
            let mut line = String::new();
            while r.read_line(&mut line).unwrap_or(0) > 2 {
                let lower = line.to_ascii_lowercase();
                if let Some(n) = lower.strip_prefix("content-length:") {
                    length = n.trim().parse().unwrap_or(0);
                }
                line.clear();
            }
            let _ = r.read_exact(&mut vec![0; length]);
            if let Some(a) = answer {
                let _ = r.get_mut().write_all(a.as_bytes());
            }
        });
        root
    }

    /// A forge's API style is data: the header the token goes in, what
    /// stands before it and the page size's name are what goes on the wire.
    #[test]
    fn a_style_says_where_the_token_goes_and_how_pages_are_asked() {
        use std::io::{BufRead, BufReader, Write};
        const STYLE: ApiStyle = ApiStyle {
            auth_header: "PRIVATE-TOKEN",
            scheme: "",
            accept: "application/json",
            headers: &[],
            paging: Paging::PageLimit {
                size: "per_page",
                limit: 20,
            },
            probe_rate: false,
        };
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let root = format!("http://{}", l.local_addr().unwrap());
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let (c, _) = l.accept().unwrap();
            let mut r = BufReader::new(c);
            let mut head = vec![];
            let mut line = String::new();
            while r.read_line(&mut line).unwrap_or(0) > 2 {
                head.push(line.trim_end().to_string());
                line.clear();
            }
            let _ = r
                .get_mut()
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n[]");
            tx.send(head).unwrap();
        });
        let h = Http::with_style(&STYLE, &root, "t0k", "T", Duration::from_secs(5), 0);
        let got: Vec<serde_json::Value> = h.get_all("/things").unwrap();
        assert!(got.is_empty());
        let head = rx.recv().unwrap();
        assert_eq!(
            head[0], "GET /things?page=1&per_page=20 HTTP/1.1",
            "{head:?}"
        );
        let lower: Vec<String> = head.iter().map(|l| l.to_ascii_lowercase()).collect();
        assert!(
            lower.contains(&"private-token: t0k".to_string()),
            "{head:?}"
        );
        assert!(
            !lower.iter().any(|l| l.starts_with("authorization:")),
            "{head:?}"
        );
    }

    /// An answer: the status line's rest and more headers, then `body`.
    fn answer(head: &str, body: &str) -> Option<String> {
        Some(format!(
            "HTTP/1.1 {head}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ))
    }

    /// A stream is read no further than its cap; a redirect is refused with
    /// what the client's callers make of one.
    #[test]
    fn a_stream_stops_at_its_cap_and_a_redirect_is_refused() {
        use std::io::Read;
        let h = Http::new(
            &serve(answer("200 OK", "0123456789")),
            "t",
            "T",
            Duration::from_secs(5),
            0,
        );
        let mut text = String::new();
        h.stream("/log", 4)
            .unwrap()
            .read_to_string(&mut text)
            .unwrap();
        assert_eq!(text, "0123");
        let moved = answer("307 Temporary Redirect\r\nLocation: http://elsewhere/", "");
        let mut h = Http::new(&serve(moved), "t", "T", Duration::from_secs(5), 0);
        h.set_moved("afk follows none");
        let Err(e) = h.stream("/log", 4) else {
            panic!("a redirect: no error");
        };
        assert_eq!(ForgeError::kind_of(&e), Some(Failure::Other(307)));
        assert!(
            e.to_string()
                .ends_with("moved to http://elsewhere/: afk follows none"),
            "{e}"
        );
    }

    /// Only a create sent and not answered, answered 5xx, or answered with a
    /// body that could not be read may have landed.
    #[test]
    fn only_a_create_that_went_out_may_have_landed() {
        use Failure::*;
        let cases = [
            ("POST", NoAnswer, true),
            ("POST", Other(503), true),
            ("POST", Other(201), true),
            ("POST", Exhausted(LastTry::NoAnswer), false),
            ("POST", Unreachable, false),
            ("POST", Conflict, false),
            ("POST", Exhausted(LastTry::Answered(429)), false),
            ("GET", NoAnswer, false),
            ("DELETE", Other(503), false),
        ];
        for (method, kind, landed) in cases {
            let mut e = failed(kind.status(), kind);
            e.method = method.into();
            assert_eq!(e.may_have_landed(), landed, "{method} {kind:?}");
        }
    }

    #[test]
    fn an_exhausted_call_keeps_whether_it_was_answered() {
        use Failure::*;
        let secondary = r#"{"message":"You have exceeded a secondary rate limit"}"#;
        let spent = "403 Forbidden\r\nx-ratelimit-remaining: 0";
        // method, what the server does (None: closes unanswered) → the kind
        // the call met, and whether the service refused it (it answered, and
        // not with a rate limit: nothing it was asked to write was written)
        let cases = [
            (
                "GET",
                answer("503 Unavailable", "{}"),
                Exhausted(LastTry::Answered(503)),
                true,
            ),
            (
                "GET",
                answer("429 Too Many", "{}"),
                Exhausted(LastTry::Answered(429)),
                true,
            ),
            (
                "GET",
                answer("403 Forbidden", secondary),
                Exhausted(LastTry::RateLimited),
                false,
            ),
            ("GET", None, Exhausted(LastTry::NoAnswer), false),
            (
                "POST",
                answer("429 Too Many", "{}"),
                Exhausted(LastTry::Answered(429)),
                true,
            ),
            // a POST is not sent again after a 5xx or a time-out: it may have landed
            ("POST", answer("503 Unavailable", "{}"), Other(503), true),
            ("POST", None, NoAnswer, false),
            ("GET", answer("403 Forbidden", "{}"), Forbidden, true),
            ("GET", answer("404 Not Found", "{}"), NotFound, true),
            ("GET", answer("401 Unauthorized", "{}"), Unauthorized, true),
            ("GET", answer(spent, "{}"), RateLimited, false),
        ];
        for (method, reply, kind, refusal) in cases {
            let case = format!("{method} {reply:?}");
            let h = Http::new(&serve(reply), "t", "T", Duration::from_secs(5), 0);
            let Err(e) = h.send(method, "/repos/o/n/issues?page=1", None) else {
                panic!("{case}: no error");
            };
            assert_eq!(ForgeError::kind_of(&e), Some(kind), "{case}: {e}");
            assert_eq!(kind.is_refusal(), refusal, "{case}");
            // the tick's `transient_retry` lessons hear of every exhausted call
            let line = format!("forge: {method} /repos/o/n/issues failed after 0 retries: ");
            let noted = ForgeError::exhausted_of(&e)
                .is_some_and(|x| x.line.starts_with(&line) && x.repo.as_deref() == Some("o/n"));
            assert_eq!(noted, matches!(kind, Exhausted(_)), "{case}");
        }
        // nobody listens: a configuration mistake, not a call to try again
        let gone = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let root = format!("http://{}", gone.local_addr().unwrap());
        drop(gone);
        let h = Http::new(&root, "t", "T", Duration::from_secs(5), 0);
        let Err(e) = h.send("GET", "/repos/o/n/issues", None) else {
            panic!("a refused connection: no error");
        };
        assert_eq!(ForgeError::kind_of(&e), Some(Unreachable), "{e}");
        assert!(!Unreachable.is_refusal());
    }
}
