//! One call on the wire and its tries: the client's headers and token, a
//! cached `ETag`, backoff after a lost answer or a 5xx (never for a `POST`,
//! which may have landed), `Retry-After` within the tick's wait budget, a
//! refused token renewed once, a redirect never followed, and the answer's
//! body read within bounds (`bounded.rs`). The one place afk-http sends.

use crate::bounded;
use crate::errors::{connect_reason, origin, short};
use crate::failure::{Failure, LastTry, Reason};
use crate::http::{Http, RateRule, Response};
use crate::rate::{named_text, refusal_wait, resource_text};
use afk_model::Cached;
use anyhow::Result;
use serde::de::DeserializeOwned;
use std::sync::atomic::Ordering;
use std::time::Duration;

/// GitHub: a secondary limit without `Retry-After` asks for at least a minute.
const SECONDARY_DEFAULT_WAIT: Duration = Duration::from_secs(60);

/// One call as its tries share it.
pub(crate) struct Call<'a> {
    pub(crate) method: &'a str,
    /// relative to the API root, with its query
    pub(crate) path: &'a str,
    pub(crate) url: String,
    /// sent again after a 5xx or a lost answer (a `POST` may have landed: never)
    pub(crate) idempotent: bool,
    /// the body's media type when not `application/json` (a JSON Patch's
    /// `application/json-patch+json`)
    pub(crate) content_type: Option<&'static str>,
    /// fields set in the body after its redaction: the one place a secret
    /// goes in a body, to the client's own root (a token endpoint's client
    /// secret: [`Http::exchange_json`])
    pub(crate) credentials: &'a [(&'a str, &'a afk_host::redact::Secret)],
}

impl Call<'_> {
    /// Whether the call changes something on the forge: every method but a
    /// read's, and a `POST` that is not a query (a query is sent again
    /// after a lost answer, as a `GET` is; a write never is).
    fn writes(&self) -> bool {
        let read = matches!(self.method, "GET" | "HEAD");
        let query = self.method == "POST" && self.idempotent;
        !(read || query)
    }
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

impl Http {
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
            content_type: None,
            credentials: &[],
        };
        let cached = self.cached(&call);
        let resp = self.exchange(&call, body, accept, cached.as_ref())?;
        self.answer(&call, resp, cached.as_ref())
    }

    /// [`Http::send`] of a body in another JSON media type than
    /// `application/json` (Azure DevOps' work-item update takes
    /// `application/json-patch+json`); the same tries, redaction and errors.
    pub fn send_typed(
        &self,
        method: &str,
        path: &str,
        body: &serde_json::Value,
        content_type: &'static str,
    ) -> Result<Response> {
        let call = Call {
            method,
            path,
            url: format!("{}{}", self.root, path),
            idempotent: method != "POST",
            content_type: Some(content_type),
            credentials: &[],
        };
        let resp = self.exchange(&call, Some(body), self.accept, None)?;
        self.answer(&call, resp, None)
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
            content_type: None,
            credentials: &[],
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
                Ok(resp) => {
                    // what the limit has left is read while this request
                    // still counts as in flight: let go of its slot first and
                    // another worker sends on the old figure
                    self.note_rate(&resp);
                    self.hold_after(&resp);
                    return Ok(resp);
                }
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
            afk_host::log::debug(&format!(
                "forge: {method} {} failed, retry {} in {:?}",
                path.split('?').next().unwrap_or(path),
                attempt + 1,
                wait
            ));
            std::thread::sleep(wait);
            attempt += 1;
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
        if let Some(ct) = call.content_type {
            req = req.set("Content-Type", ct);
        }
        let started = std::time::Instant::now();
        let res = match body {
            Some(b) => {
                // nothing afk writes carries a secret (afk_host::redact)
                let mut b = b.clone();
                afk_host::redact::json(&mut b);
                if let serde_json::Value::Object(o) = &mut b {
                    for (k, secret) in call.credentials {
                        o.insert(k.to_string(), secret.expose().into());
                    }
                }
                req.send_json(b)
            }
            None => req.call(),
        };
        let status = match &res {
            Ok(r) => Some(r.status()),
            Err(ureq::Error::Status(s, _)) => Some(*s),
            Err(_) => None,
        };
        afk_host::log::request(call.method, call.path, status, started.elapsed());
        if call.writes() {
            // each write on the wire, answered or not (docs/audit.md)
            let body = serde_json::json!({"method": call.method,
                "path": call.path.split('?').next().unwrap_or(call.path), "status": status});
            afk_host::journal::record("forge.write", &body);
        }
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
                continuation: None,
                total: None,
            });
        }
        self.costly.fetch_add(1, Ordering::Relaxed);
        let link = resp.header("Link").map(str::to_string);
        let continuation = resp
            .header("x-ms-continuationtoken")
            .filter(|t| !t.trim().is_empty())
            .map(str::to_string);
        let total = resp
            .header("X-Total-Count")
            .and_then(|t| t.trim().parse::<usize>().ok());
        let etag = resp.header("ETag").map(str::to_string);
        if (300..400).contains(&status) {
            return Err(self.moved(method, path, status, &resp));
        }
        // a 203 is a sign-in page in place of the answer (Azure DevOps
        // without `X-TFS-FedAuthRedirect: Suppress`): the credential was
        // refused, and the page is never read as data
        if status == 203 {
            return Err(self.failed(
                method,
                path,
                Some(status),
                "a sign-in page instead of the answer: the credential was refused".into(),
                Failure::Unauthorized,
                Some(Reason::TokenRefused {
                    source: self.token_source.clone(),
                }),
            ));
        }
        let bounded::Kept { body, skipped } = bounded::read(resp.into_reader())
            .map_err(|e| self.error(method, path, Some(status), e.to_string()))?;
        if skipped > 0 {
            afk_host::log::warn(&format!(
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
            continuation,
            total,
        })
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
        let now = time::OffsetDateTime::now_utc();
        let ra = resp
            .header("Retry-After")
            .and_then(|v| afk_wire::retry_after::wait(v, resp.header("Date"), now));
        // what the service names as the resource it metered, as text alone
        let resource = match rate.rule {
            RateRule::Metered => resource_text(resp.header("x-ratelimit-resource")),
            RateRule::Jira => named_text("RateLimit-Reason", resp.header("ratelimit-reason")),
            RateRule::Primary | RateRule::Linear => String::new(),
        };
        // Jira's limit on writes to one issue: that issue's, no other's
        let one_issue = (resp.header("ratelimit-reason"))
            .is_some_and(|r| r.trim().eq_ignore_ascii_case("jira-per-issue-on-write"));
        let body = bounded::read_short(resp.into_reader(), 64 << 10);
        // Linear refuses over its limit with an HTTP 400 whose GraphQL
        // error says so: a 429 by any other name (docs/fidelity/linear.md)
        let blocked = match rate.rule == RateRule::Linear
            && status == 400
            && afk_wire::tracker::linear::rate_limited(&body)
        {
            true => 429,
            false => status,
        };
        // a request metered use blocked waits for its reset
        let ra = refusal_wait(
            rate.rule,
            blocked,
            ra,
            rate.reset,
            u64::try_from(now.unix_timestamp()).unwrap_or(0),
        );
        if status == 401 && self.refresher.is_some() {
            return Next::Renew;
        }
        let limit_status = status == 403 || status == 429;
        if limit_status && rate.remaining == Some(0) {
            return Next::Fail(self.limited(method, path, Some(status), rate.reset));
        }
        let secondary =
            limit_status && (ra.is_some() || body.to_ascii_lowercase().contains("rate limit"));
        let (msg, reason) = if secondary && status == 403 {
            ("secondary rate limit".to_string(), Some(Reason::Passing))
        } else {
            self.status_message(status, &body)
        };
        let msg = format!("{msg}{resource}");
        let retryable = blocked == 429 || secondary || (status >= 500 && call.idempotent);
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
            return Next::Fail(self.failed(method, path, Some(status), msg, kind, reason));
        }
        let wait = match ra {
            Some(w) => w,
            None if secondary => SECONDARY_DEFAULT_WAIT,
            None => backoff(attempt),
        };
        if !self.take_wait(wait) {
            if rate.rule != RateRule::Primary && blocked == 429 && !one_issue {
                // a metered service that blocks the tick's requests past
                // its wait budget blocks the next ones too: none is sent
                let mut r = self.rate.lock().unwrap();
                r.spent = true;
                let now = u64::try_from(now.unix_timestamp()).unwrap_or(0);
                let reset = *r.reset.get_or_insert(now + wait.as_secs());
                drop(r);
                // and so do the next ticks' until then
                if let Some(c) = &self.carry {
                    c.keep(reset.min(now + crate::http::CARRY_MAX_S));
                }
            }
            return Next::Fail(self.failed(
                method,
                path,
                Some(status),
                format!(
                    "{msg}; the {} asks to wait {}s, more than this tick may wait: the next tick tries again",
                    self.service,
                    wait.as_secs()
                ),
                Failure::Exhausted(last),
                None,
            ));
        }
        if rate.rule != RateRule::Primary {
            // metered use: no other request goes out meanwhile either
            self.pause(wait);
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

    /// [`Http::json`] of a POST that only reads (Azure DevOps' WIQL query
    /// and its work-item batch read: nothing lands), so it is sent again
    /// after a 5xx or a lost answer as a GET is, under the same tries; no
    /// cache. A POST that writes is never sent through here.
    pub fn query_json<T: DeserializeOwned>(
        &self,
        path: &str,
        body: &serde_json::Value,
    ) -> Result<T> {
        self.exchange_json(path, body, &[])
    }

    /// A POST of `body` to `path` under the client's own root with
    /// `credentials` set in it after the body's redaction: each secret goes
    /// only to the host it was configured for (a token endpoint's client
    /// id and secret), never anywhere else, never in a log. Sent again after
    /// a 5xx or a lost answer, as a query is: an exchange lands nothing but
    /// a token afk never saw.
    pub fn exchange_json<T: DeserializeOwned>(
        &self,
        path: &str,
        body: &serde_json::Value,
        credentials: &[(&str, &afk_host::redact::Secret)],
    ) -> Result<T> {
        let call = Call {
            method: "POST",
            path,
            url: format!("{}{}", self.root, path),
            idempotent: true,
            content_type: None,
            credentials,
        };
        let resp = self.exchange(&call, Some(body), self.accept, None)?;
        let r = self.answer(&call, resp, None)?;
        self.parse("POST", path, r.status, &r.body)
    }

    /// [`Http::json`] of a POST to `path` under `root`, another root of
    /// the same origin as the client's own (GitHub's GraphQL at `/graphql`
    /// beside its REST root, `/api/graphql` beside GitHub Enterprise's
    /// `/api/v3`): the token goes to no other host; a root elsewhere is an
    /// error and nothing is sent. Never retried blindly (a POST).
    pub fn post_json_beside<T: DeserializeOwned>(
        &self,
        root: &str,
        path: &str,
        body: &serde_json::Value,
    ) -> Result<T> {
        if crate::errors::origin(root) != crate::errors::origin(&self.root) {
            return Err(self.error(
                "POST",
                path,
                None,
                "another host than the forge's: nothing sent".to_string(),
            ));
        }
        let call = Call {
            method: "POST",
            path,
            url: format!("{}{}", root.trim_end_matches('/'), path),
            idempotent: false,
            content_type: None,
            credentials: &[],
        };
        let resp = self.exchange(&call, Some(body), self.accept, None)?;
        let r = self.answer(&call, resp, None)?;
        self.parse("POST", path, r.status, &r.body)
    }

    pub(crate) fn parse<T: DeserializeOwned>(
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::failure::ForgeError;
    use crate::http::{ApiStyle, Paging};

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
            rate: crate::http::RateRule::Primary,
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
