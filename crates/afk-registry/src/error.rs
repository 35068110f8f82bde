//! What a failed registry call met, and the one-line reason a skipped recipe
//! shows: host, what was asked, the status, Retry-After when given. What the
//! HTTP exchange met is told in the kinds every forge call uses (afk-http's
//! [`Failure`]): a registry's time-out, refused connection, 429 or 5xx is
//! the same kind as a forge's. Only what is the registry's own (an answer afk
//! cannot use, a configuration that cannot work) has kinds of its own.

use crate::body::read_at_most;
use crate::origin::Origin;
use crate::origin::resolve;
use afk_http::Failure;

/// The most of an error answer read (for its `errors[0].code`).
pub(crate) const ERROR_BYTES: u64 = 64 << 10;

/// What went wrong, for the caller's decision. Every kind skips that recipe
/// this tick (`skipped` in docs/reports.md#afk-upgrade); the kind says
/// whether waiting helps ([`RegistryError::is_transient`]) or a person must look.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegistryErrorKind {
    /// The registry, its token service or a blob's storage refused the
    /// request or did not answer, in the forges' kinds: `NotFound` (404: no
    /// such repository, or it is private and the registry hides it),
    /// `Unauthorized`/`Forbidden` (401 after the token flow, 403: the image
    /// needs (other) credentials), `RateLimited` (429), `Other` (a 5xx, or
    /// another status afk does not expect), `NoAnswer` (a time-out, a body
    /// cut off, TLS), `Unreachable` (no such host, a refused connection).
    /// The registry is asked once a tick, so never `Exhausted`.
    Http(Failure),
    /// An answer afk cannot use: malformed JSON, a redirect, past a bound
    /// (pages, tags, bytes), a next page on another host.
    Protocol,
    /// The configuration cannot work: a mirror over plain HTTP to a remote
    /// host, a missing or malformed `registry_auth_env` secret.
    Config,
}

/// A failed tag lookup. `Display` is the one-line reason of the SKIPPED
/// recipe: host, what was asked, the status, Retry-After when given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryError {
    pub kind: RegistryErrorKind,
    /// The host asked (the mirror's, when one is configured); never userinfo.
    /// Empty for a configuration error that concerns every registry.
    pub host: String,
    pub status: Option<u16>,
    /// The `Retry-After` header of a 429/503, as sent (seconds or a date).
    pub retry_after: Option<String>,
    /// What happened, without the host: `GET /v2/x/tags/list returned 429 (rate limited)`.
    pub message: String,
    /// The secret (`upgrade.registry_auth_env`) was sent and refused: the
    /// binary's advice names it (this crate carries none).
    pub secret_refused: bool,
}

impl std::fmt::Display for RegistryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.host.is_empty() {
            write!(f, "registry: {}", self.message)?;
        } else {
            write!(f, "registry {}: {}", self.host, self.message)?;
        }
        if let Some(ra) = &self.retry_after {
            write!(f, "; Retry-After {ra}")?;
        }
        Ok(())
    }
}
impl std::error::Error for RegistryError {}

impl RegistryError {
    pub(crate) fn new(kind: RegistryErrorKind, host: &str, message: String) -> RegistryError {
        RegistryError {
            kind,
            host: host.to_string(),
            status: None,
            retry_after: None,
            message,
            secret_refused: false,
        }
    }

    /// Whether asking again later may succeed (429, 5xx, no answer). A host
    /// nobody listens at is not, as for a forge: a configuration mistake.
    pub fn is_transient(&self) -> bool {
        match self.kind {
            RegistryErrorKind::Http(f) => match f {
                Failure::RateLimited | Failure::NoAnswer | Failure::Exhausted(_) => true,
                Failure::Other(s) => s >= 500,
                _ => false,
            },
            RegistryErrorKind::Protocol | RegistryErrorKind::Config => false,
        }
    }

    /// A failure of the HTTP exchange itself (see [`RegistryErrorKind::Http`]).
    pub(crate) fn http(failure: Failure, host: &str, message: String) -> RegistryError {
        RegistryError::new(RegistryErrorKind::Http(failure), host, message)
    }
}

pub(crate) fn protocol(origin: &Origin, message: String) -> RegistryError {
    RegistryError::new(RegistryErrorKind::Protocol, &origin.host(), message)
}

pub(crate) fn redirected(
    origin: &Origin,
    path: &str,
    resp: &afk_http::client::Response,
) -> RegistryError {
    let to = resp
        .header("Location")
        .and_then(|l| Origin::parse(&resolve(&format!("{}{path}", origin.base), l)))
        .map(|o| o.host())
        .unwrap_or_default();
    RegistryError {
        status: Some(resp.status()),
        ..protocol(
            origin,
            format!(
                "GET {path} returned {} (redirected to {to}); not following it",
                resp.status()
            ),
        )
    }
}

/// A non-401 error status. `auth` is only used to say whether we had credentials.
pub(crate) fn status_error(
    host: &str,
    method: &str,
    path: &str,
    status: u16,
    resp: afk_http::client::Response,
    auth: Option<&str>,
) -> RegistryError {
    let retry_after = resp
        .header("Retry-After")
        .map(|v| short(v, 40))
        .filter(|v| !v.is_empty());
    let code = serde_json::from_slice::<serde_json::Value>(&read_at_most(resp, ERROR_BYTES))
        .ok()
        .and_then(|v| v["errors"][0]["code"].as_str().map(|c| short(c, 40)));
    let code = code.map(|c| format!(" {c}")).unwrap_or_default();
    let (kind, hint) = status_kind(status, auth.is_none());
    RegistryError {
        kind: RegistryErrorKind::Http(kind),
        host: host.to_string(),
        status: Some(status),
        retry_after,
        message: format!("{method} {path} returned {status}{code}: {hint}"),
        secret_refused: false,
    }
}

/// What an error status (not a 401 the token flow answers) is, in the
/// forges' kinds, and the words said after it. `anonymous`: no credentials
/// went with the request, so a 404 may be a private repository.
fn status_kind(status: u16, anonymous: bool) -> (Failure, String) {
    match status {
        429 => (Failure::RateLimited, "rate limited".into()),
        s if s >= 500 => (Failure::Other(s), "the registry failed".into()),
        404 => (
            Failure::NotFound,
            format!(
                "no such repository{}",
                if anonymous { " (or it is private)" } else { "" }
            ),
        ),
        403 => (Failure::Forbidden, "access denied".into()),
        s => (Failure::answered(s), "unexpected answer".into()),
    }
}

/// What a request that got no answer met, in the forges' kinds: no such
/// host or a refused connection is `Unreachable` (nobody will answer this
/// tick), anything else (a time-out, a reset, TLS) `NoAnswer`.
pub(crate) fn transport_kind(t: &afk_http::client::Transport) -> Failure {
    let mut source = std::error::Error::source(t);
    let mut refused = false;
    while let Some(e) = source {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            refused |= io.kind() == std::io::ErrorKind::ConnectionRefused;
        }
        source = e.source();
    }
    match t.kind() {
        afk_http::client::ErrorKind::Dns => Failure::Unreachable,
        afk_http::client::ErrorKind::ConnectionFailed if refused => Failure::Unreachable,
        _ => Failure::NoAnswer,
    }
}

pub(crate) fn transport_error(
    host: &str,
    method: &str,
    path: &str,
    t: &afk_http::client::Transport,
) -> RegistryError {
    let mut msg = t.kind().to_string();
    if let Some(m) = t.message() {
        msg.push_str(&format!(": {m}"));
    }
    if let Some(s) = std::error::Error::source(t) {
        msg.push_str(&format!(": {s}"));
    }
    RegistryError::http(
        transport_kind(t),
        host,
        format!("{method} {path} failed: {}", short(&msg, 160)),
    )
}

/// What an error holds of a registry's words (a header, an error code, a
/// parser's complaint): one escaped line of at most `max` characters, the
/// cut said (`sanitize::excerpt`).
pub(crate) fn short(s: &str, max: usize) -> String {
    crate::core::sanitize::excerpt(s, max)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ImageRef, OciRegistry, Registry};
    use std::time::Duration;

    #[test]
    fn an_error_status_is_the_kind_a_forge_call_meets() {
        let cases = [
            (
                404,
                true,
                Failure::NotFound,
                "no such repository (or it is private)",
                false,
            ),
            (404, false, Failure::NotFound, "no such repository", false),
            (403, false, Failure::Forbidden, "access denied", false),
            (429, true, Failure::RateLimited, "rate limited", true),
            (500, true, Failure::Other(500), "the registry failed", true),
            (503, false, Failure::Other(503), "the registry failed", true),
            (409, true, Failure::Conflict, "unexpected answer", false),
            (418, true, Failure::Other(418), "unexpected answer", false),
        ];
        for (status, anonymous, kind, hint, transient) in cases {
            let got = status_kind(status, anonymous);
            assert_eq!(got, (kind, hint.to_string()), "case {status} {anonymous}");
            let e = RegistryError::http(kind, "h", String::new());
            assert_eq!(e.is_transient(), transient, "case {status}");
        }
    }

    /// A registry nobody listens at, and one that takes the request and never
    /// answers: the kinds a forge's request meets (`Unreachable`, `NoAnswer`).
    #[test]
    fn a_refused_connection_is_unreachable_and_a_silent_registry_no_answer() {
        let client = OciRegistry::new(Duration::from_millis(300));
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let refused = closed.local_addr().unwrap();
        drop(closed);
        // the kernel completes the connection; nobody ever reads or answers
        let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let cases = [
            (refused, Failure::Unreachable, false),
            (silent.local_addr().unwrap(), Failure::NoAnswer, true),
        ];
        for (at, kind, transient) in cases {
            let image = ImageRef::parse(&format!("{at}/a/b:1")).unwrap();
            let e = client.tags(&image).unwrap_err();
            assert_eq!(e.kind, RegistryErrorKind::Http(kind), "{e}");
            assert_eq!(e.is_transient(), transient, "{e}");
            assert!(e.to_string().contains(&at.to_string()), "{e}");
        }
    }
}
