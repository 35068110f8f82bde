//! What a failed registry call met, and the one-line reason a skipped recipe
//! shows: host, what was asked, the status, Retry-After when given.

use crate::oci::read_at_most;
use crate::origin::Origin;
use crate::origin::resolve;

/// The most of an error answer read (for its `errors[0].code`).
pub(crate) const ERROR_BYTES: u64 = 64 << 10;

/// What went wrong, for the caller's decision. Every kind skips that recipe
/// this tick (SPEC 8: "a registry that rate-limits or fails"); the kind says
/// whether waiting helps (`Unavailable`) or a person must look.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegistryErrorKind {
    /// 429, 5xx, or no answer (connect, time-out, TLS): try again next tick.
    Unavailable,
    /// 404: no such repository (or it is private and the registry hides it).
    NotFound,
    /// 401/403 after the token flow: the image needs (other) credentials.
    Denied,
    /// An answer afk cannot use: malformed JSON, a redirect, past a bound
    /// (pages, tags, bytes).
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
        }
    }

    /// Whether asking again later may succeed (429, 5xx, no answer).
    pub fn is_transient(&self) -> bool {
        self.kind == RegistryErrorKind::Unavailable
    }
}

pub(crate) fn protocol(origin: &Origin, message: String) -> RegistryError {
    RegistryError::new(RegistryErrorKind::Protocol, &origin.host(), message)
}

pub(crate) fn redirected(origin: &Origin, path: &str, resp: &ureq::Response) -> RegistryError {
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
    resp: ureq::Response,
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
    let (kind, hint) = match status {
        429 => (RegistryErrorKind::Unavailable, "rate limited".to_string()),
        s if s >= 500 => (RegistryErrorKind::Unavailable, "the registry failed".into()),
        404 => (
            RegistryErrorKind::NotFound,
            format!(
                "no such repository{}",
                if auth.is_none() {
                    " (or it is private)"
                } else {
                    ""
                }
            ),
        ),
        403 => (RegistryErrorKind::Denied, "access denied".into()),
        _ => (RegistryErrorKind::Protocol, "unexpected answer".into()),
    };
    RegistryError {
        kind,
        host: host.to_string(),
        status: Some(status),
        retry_after,
        message: format!("{method} {path} returned {status}{code}: {hint}"),
    }
}

pub(crate) fn transport_error(
    host: &str,
    method: &str,
    path: &str,
    t: &ureq::Transport,
) -> RegistryError {
    let mut msg = t.kind().to_string();
    if let Some(m) = t.message() {
        msg.push_str(&format!(": {m}"));
    }
    if let Some(s) = std::error::Error::source(t) {
        msg.push_str(&format!(": {s}"));
    }
    RegistryError::new(
        RegistryErrorKind::Unavailable,
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
