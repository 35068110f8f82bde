//! One HTTP helper for every forge call: per-request timeout, retries with
//! backoff (connect errors, 5xx, 429 honouring `Retry-After`), pagination, a
//! request counter, and errors that name method, path and status, never the token.

use anyhow::Result;
use serde::de::DeserializeOwned;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// A failed forge request. `status` is None for transport failures.
#[derive(Debug)]
pub struct ForgeError {
    /// "forge" or "runner": which service answered
    pub service: &'static str,
    pub method: String,
    pub path: String,
    pub status: Option<u16>,
    pub message: String,
    /// A retryable failure (connect, time-out, 5xx, 429) that used up `forge.retries`.
    pub exhausted: bool,
}

impl std::fmt::Display for ForgeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.status {
            Some(s) => write!(
                f,
                "{}: {} {} returned {s}: {}",
                self.service, self.method, self.path, self.message
            ),
            None => write!(
                f,
                "{}: {} {} failed: {}",
                self.service, self.method, self.path, self.message
            ),
        }
    }
}
impl std::error::Error for ForgeError {}

impl ForgeError {
    pub fn status_of(e: &anyhow::Error) -> Option<u16> {
        e.downcast_ref::<ForgeError>().and_then(|f| f.status)
    }

    /// Whether `e` is a forge call that exhausted its retries.
    pub fn is_exhausted(e: &anyhow::Error) -> bool {
        e.downcast_ref::<ForgeError>().is_some_and(|f| f.exhausted)
    }
}

pub struct Response {
    pub status: u16,
    pub link: Option<String>,
    pub body: String,
}

pub struct Http {
    service: &'static str,
    agent: ureq::Agent,
    root: String,
    auth: String,
    /// Where the token comes from, for the 401 hint ("AFK_FORGE_TOKEN").
    token_source: String,
    retries: u32,
    requests: AtomicUsize,
}

fn short(s: &str) -> String {
    let one: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if one.chars().count() > 160 {
        one.chars().take(160).collect::<String>() + "…"
    } else {
        one
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
        let agent = ureq::AgentBuilder::new()
            .timeout(timeout)
            .redirects(0)
            .max_idle_connections_per_host(64)
            .user_agent(concat!("afk/", env!("CARGO_PKG_VERSION")))
            .build();
        Http {
            service: "forge",
            agent,
            root: root.trim_end_matches('/').to_string(),
            auth: format!("token {token}"),
            token_source: token_source.to_string(),
            retries,
            requests: AtomicUsize::new(0),
        }
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
        h.auth = bearer.map(|t| format!("Bearer {t}")).unwrap_or_default();
        h
    }

    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::Relaxed)
    }

    fn error(
        &self,
        method: &str,
        path: &str,
        status: Option<u16>,
        message: String,
    ) -> anyhow::Error {
        self.error_x(method, path, status, message, false)
    }

    fn error_x(
        &self,
        method: &str,
        path: &str,
        status: Option<u16>,
        message: String,
        exhausted: bool,
    ) -> anyhow::Error {
        anyhow::Error::new(ForgeError {
            service: self.service,
            method: method.into(),
            path: path.split('?').next().unwrap_or(path).into(),
            status,
            message,
            exhausted,
        })
    }

    fn status_message(&self, status: u16, body: &str) -> String {
        let detail = serde_json::from_str::<serde_json::Value>(body)
            .ok()
            .and_then(|v| v.get("message").and_then(|m| m.as_str()).map(short))
            .unwrap_or_default();
        let hint = match status {
            401 => format!("check {}", self.token_source),
            403 => "the token's account lacks permission here".into(),
            404 => "not found (check the repo name and the token's access)".into(),
            429 => "rate limited; try again later".into(),
            s if s >= 500 => "the forge failed; try again later".into(),
            _ => "unexpected answer".into(),
        };
        if detail.is_empty() {
            hint
        } else {
            format!("{hint} ({detail})")
        }
    }

    /// One request with retries. `path` is relative to the API root and may carry a query.
    pub fn send(
        &self,
        method: &str,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<Response> {
        let url = format!("{}{}", self.root, path);
        let idempotent = method != "POST";
        let mut attempt = 0;
        loop {
            self.requests.fetch_add(1, Ordering::Relaxed);
            let mut req = self
                .agent
                .request(method, &url)
                .set("Accept", "application/json");
            if !self.auth.is_empty() {
                req = req.set("Authorization", &self.auth);
            }
            let res = match body {
                Some(b) => req.send_json(b.clone()),
                None => req.call(),
            };
            let (retry_after, failure) = match res {
                Ok(resp) => {
                    let status = resp.status();
                    let link = resp.header("Link").map(str::to_string);
                    if (300..400).contains(&status) {
                        let to = resp.header("Location").unwrap_or("").to_string();
                        return Err(self.error(
                            method,
                            path,
                            Some(status),
                            format!("redirected to {to} (renamed or moved repository?)"),
                        ));
                    }
                    let body = resp.into_string().map_err(|e| {
                        self.error(method, path, Some(status), format!("reading the body: {e}"))
                    })?;
                    return Ok(Response { status, link, body });
                }
                Err(ureq::Error::Status(status, resp)) => {
                    let ra = resp
                        .header("Retry-After")
                        .and_then(|v| v.trim().parse::<u64>().ok());
                    let body = resp.into_string().unwrap_or_default();
                    let msg = self.status_message(status, &body);
                    let retryable = status == 429 || (status >= 500 && idempotent);
                    if !retryable || attempt >= self.retries {
                        return Err(self.error_x(method, path, Some(status), msg, retryable));
                    }
                    (ra, (status, msg))
                }
                Err(ureq::Error::Transport(t)) => {
                    let connect = matches!(
                        t.kind(),
                        ureq::ErrorKind::ConnectionFailed | ureq::ErrorKind::Dns
                    );
                    let msg = match t.kind() {
                        ureq::ErrorKind::Io
                            if t.to_string().contains("timed out")
                                || t.to_string().contains("WouldBlock") =>
                        {
                            "timed out (forge.timeout)".to_string()
                        }
                        _ => short(&t.to_string().replace(&url, "")),
                    };
                    let retryable = connect || idempotent;
                    if !retryable || attempt >= self.retries {
                        return Err(self.error_x(method, path, None, msg, retryable));
                    }
                    (None, (0, msg))
                }
            };
            let _ = failure;
            let wait = match retry_after {
                Some(s) => Duration::from_secs(s.min(120)),
                None => Duration::from_millis(100u64 << attempt.min(6)),
            };
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

    /// GET every page of a list (`page` + `limit`; follows `Link: rel="next"` when sent).
    pub fn get_all<T: DeserializeOwned>(&self, path: &str) -> Result<Vec<T>> {
        const LIMIT: usize = 50;
        let sep = if path.contains('?') { '&' } else { '?' };
        let mut out = vec![];
        for page in 1..=1000 {
            let p = format!("{path}{sep}page={page}&limit={LIMIT}");
            let r = self.send("GET", &p, None)?;
            let items: Vec<T> = self.parse("GET", path, r.status, &r.body)?;
            let n = items.len();
            out.extend(items);
            let more = match &r.link {
                Some(l) => l.contains("rel=\"next\""),
                None => n >= LIMIT,
            };
            if !more || n == 0 {
                break;
            }
        }
        Ok(out)
    }
}

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
    fn forge_error_names_method_path_status() {
        let e = ForgeError {
            service: "forge",
            method: "GET".into(),
            path: "/repos/a/b/issues".into(),
            status: Some(401),
            message: "check AFK_FORGE_TOKEN".into(),
            exhausted: false,
        };
        assert_eq!(
            e.to_string(),
            "forge: GET /repos/a/b/issues returned 401: check AFK_FORGE_TOKEN"
        );
    }
}
