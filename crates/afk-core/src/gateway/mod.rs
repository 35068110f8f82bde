//! The model gateway's rules (docs/runners.md#the-model-gateway-runnermodel):
//! pure, so the keeper's HTTP side (src/runner/agent_box/) only moves bytes
//! and asks here what to do with them. Nothing here reads a clock, a file or
//! a socket: the moment, the request's head, the answer's bytes and the
//! record's bytes come in.
//!
//! What the keeper calls, per request the agent sends to its loopback base URL:
//!
//! 1. [`admit`] with the request's method, target and `Host` (and
//!    `Content-Length` when it has one): [`Admit::Pass`] names the
//!    [`Endpoint`]; [`Admit::Refuse`] carries the status (403, or 413 past
//!    [`MAX_BODY`]) and a one-line reason for the run's log. A body sent
//!    chunked is counted as it is read and refused past [`MAX_BODY`] too.
//! 2. [`budget::Gate::check`] with the turn's metered spend so far: a
//!    [`budget::Refusal`] is the 429 ([`budget::Refusal::body`] in the API's
//!    error shape, [`budget::Refusal::line`] for the log); after one, pass
//!    nothing more and stop the turn.
//! 3. The request's headers: drop each [`dropped_request_header`] (the
//!    agent's key or placeholder, hop-by-hop headers, `Host`,
//!    `Accept-Encoding`), add [`added_request_headers`] (the real key in the
//!    API's header, `Accept-Encoding: identity` so the answer's bytes are
//!    readable here), and send it to [`upstream_url`] over HTTPS with the
//!    certificate checked ([`upstream_allowed`] is the config's check).
//! 4. The body's model: [`request::judge`] reads it from the body it holds
//!    to one JSON object (at most [`MAX_BODY`]), cleaned by
//!    [`usage::clean_model`]; a body that names none is refused.
//! 5. The answer: pass its status and headers back unchanged, and each chunk
//!    of its body to the agent *and* to a [`usage::UsageReader`] made with
//!    [`usage::Framing::of_content_type`]; at its end (or when it is cut),
//!    [`usage::UsageReader::finish`] gives the [`usage::Usage`] that arrived.
//! 6. Price it: [`prices::price`] over [`prices::Prices`] (the config's
//!    per-model prices, the flat ones, the shipped [`prices::table`]) gives
//!    micro-dollars and [`prices::PricedBy`]; when that says
//!    [`prices::PricedBy::Highest`], the run's log says so
//!    ([`prices::Priced::fallback_line`]).
//! 7. Record it: [`metered::Line`] (`to_line`) appended to the run's
//!    metered record outside the box; the turn's spend grows by its
//!    `micro_usd` for the next [`budget::Gate::check`]. Watch sums the record
//!    with [`metered::Tally`]. While an answer streams, its usage so far is
//!    kept in a partial record of its own ([`aloft`]), so a keeper killed
//!    mid-answer leaves what arrived counted.
//!
//! Whether the gateway is on for a turn: [`Mode`] and [`in_force`].

pub mod aloft;
pub mod budget;
pub mod doctor;
pub mod key_vars;
pub mod metered;
pub mod prices;
pub mod request;
pub mod usage;

use crate::types::{AgentKind, Invalid};
use serde::{Deserialize, Serialize};

/// The model API a gateway speaks: the named agent's (`claude`: Anthropic's
/// Messages API; `codex`: OpenAI's Responses API).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Api {
    Anthropic,
    #[serde(rename = "openai")]
    OpenAi,
}

impl Api {
    /// The API a named agent speaks; a custom agent: none (no gateway).
    pub fn of_agent(agent: AgentKind) -> Option<Api> {
        match agent {
            AgentKind::Claude => Some(Api::Anthropic),
            AgentKind::Codex => Some(Api::OpenAi),
            AgentKind::Custom => None,
        }
    }

    /// As the metered record and the price table spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Api::Anthropic => "anthropic",
            Api::OpenAi => "openai",
        }
    }

    /// The variable holding the key when `runner.model.key_env` is empty
    /// (Codex's provider may name another: the keeper reads its `env_key`).
    pub fn default_key_env(self) -> &'static str {
        match self {
            Api::Anthropic => "ANTHROPIC_API_KEY",
            Api::OpenAi => "OPENAI_API_KEY",
        }
    }

    /// The vendor's API root (`runner.model.upstream`'s default when the
    /// agent's own base URL variable is unset): with `/v1` for OpenAI,
    /// without for Anthropic, as each vendor documents it.
    pub fn vendor_upstream(self) -> &'static str {
        match self {
            Api::Anthropic => "https://api.anthropic.com",
            Api::OpenAi => "https://api.openai.com/v1",
        }
    }
}

/// A request the gateway passes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Endpoint {
    /// Anthropic `POST /v1/messages`
    Messages,
    /// Anthropic `POST /v1/messages/count_tokens`
    CountTokens,
    /// OpenAI `POST /v1/responses`
    Responses,
    /// OpenAI `POST /v1/chat/completions`
    ChatCompletions,
    /// OpenAI `GET /v1/models`
    Models,
}

impl Endpoint {
    /// Every endpoint: (API, method, path).
    pub const ALL: [(Endpoint, Api, &'static str, &'static str); 5] = [
        (Endpoint::Messages, Api::Anthropic, "POST", "/v1/messages"),
        (
            Endpoint::CountTokens,
            Api::Anthropic,
            "POST",
            "/v1/messages/count_tokens",
        ),
        (Endpoint::Responses, Api::OpenAi, "POST", "/v1/responses"),
        (
            Endpoint::ChatCompletions,
            Api::OpenAi,
            "POST",
            "/v1/chat/completions",
        ),
        (Endpoint::Models, Api::OpenAi, "GET", "/v1/models"),
    ];

    /// Whether its answer is billed (carries a usage to meter).
    pub fn billed(self) -> bool {
        matches!(
            self,
            Endpoint::Messages | Endpoint::Responses | Endpoint::ChatCompletions
        )
    }
}

/// The largest request body passed: 32 MiB (a larger one is answered 413).
pub const MAX_BODY: u64 = 32 << 20;

/// A request's head as the agent sent it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Head<'a> {
    pub method: &'a str,
    /// The request-target as sent (origin-form `/v1/messages?beta=true`;
    /// anything else is refused).
    pub target: &'a str,
    /// The `Host` header; None: there was none.
    pub host: Option<&'a str>,
    /// `Content-Length`, when sent.
    pub content_length: Option<u64>,
}

/// What the gateway does with a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Admit {
    Pass(Endpoint),
    /// 403 (not the model's API) or 413 (body too large), with one line for
    /// the run's log.
    Refuse {
        status: u16,
        reason: String,
    },
}

/// Whether a request passes (docs/runners.md#the-model-gateway-runnermodel):
/// the API's own method and path (any query string), a `Host` that is the
/// agent's base URL's or the upstream's (`hosts`, as `host[:port]`, compared
/// without case), a body of at most [`MAX_BODY`]. Anything else is refused
/// with 403: another path or method, a `CONNECT`, an absolute or
/// authority-form target.
pub fn admit(api: Api, head: &Head, hosts: &[&str]) -> Admit {
    let refuse = |why: String| Admit::Refuse {
        status: 403,
        reason: crate::sanitize::one_line(&why, 300),
    };
    let method = head.method;
    let target = head.target;
    if method.eq_ignore_ascii_case("CONNECT") {
        return refuse(format!(
            "refused CONNECT {target}: the gateway passes the model's API only"
        ));
    }
    if !target.starts_with('/') {
        return refuse(format!(
            "refused {method} {target}: not a path on the model's API (an absolute URI or authority is never passed)"
        ));
    }
    let path = target.split(['?', '#']).next().unwrap_or("");
    let Some(host) = head.host.map(str::trim) else {
        return refuse(format!("refused {method} {path}: no Host header"));
    };
    if !hosts.iter().any(|h| h.eq_ignore_ascii_case(host)) {
        return refuse(format!(
            "refused {method} {path} for host {host}: only the model's API is passed"
        ));
    }
    let found = Endpoint::ALL
        .iter()
        .find(|(_, a, m, p)| *a == api && *m == method && *p == path);
    let Some((endpoint, ..)) = found else {
        return refuse(format!(
            "refused {method} {path}: not a request of the {} API the gateway passes",
            api.as_str()
        ));
    };
    if let Some(n) = head.content_length.filter(|n| *n > MAX_BODY) {
        return Admit::Refuse {
            status: 413,
            reason: format!("refused {method} {path}: a body of {n} bytes is over 32 MiB"),
        };
    }
    Admit::Pass(*endpoint)
}

/// The request headers the gateway does not pass on from the agent: any key
/// it sent (its placeholder), hop-by-hop headers, `Host` (the upstream's
/// is set) and `Accept-Encoding` (the gateway asks for plain bytes to read
/// the usage). Names compare without case.
pub fn dropped_request_header(name: &str) -> bool {
    const DROPPED: [&str; 15] = [
        // a key, a placeholder, or another login the agent sent
        "authorization",
        "proxy-authorization",
        "x-api-key",
        "api-key",
        "x-goog-api-key",
        "cookie",
        // hop-by-hop (RFC 9110 7.6.1), and the connection's own
        "connection",
        "keep-alive",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "host",
        "accept-encoding",
    ];
    DROPPED.iter().any(|d| d.eq_ignore_ascii_case(name.trim()))
}

/// The headers the gateway adds to every request it passes: the key in the
/// API's own header (Anthropic `x-api-key`; OpenAI `Authorization: Bearer`)
/// and `Accept-Encoding: identity`.
pub fn added_request_headers(api: Api, key: &str) -> Vec<(&'static str, String)> {
    let auth = match api {
        Api::Anthropic => ("x-api-key", key.to_string()),
        Api::OpenAi => ("authorization", format!("Bearer {key}")),
    };
    vec![auth, ("accept-encoding", "identity".to_string())]
}

/// Where a passed request goes: the upstream's root (as `runner.model.upstream`
/// holds it: with `/v1` for OpenAI, without for Anthropic; a trailing `/`
/// ignored) and the request's path and query.
pub fn upstream_url(api: Api, upstream: &str, target: &str) -> String {
    let root = upstream.trim_end_matches('/');
    match api {
        Api::Anthropic => format!("{root}{target}"),
        Api::OpenAi => {
            let rest = target.strip_prefix("/v1").unwrap_or(target);
            if root.ends_with("/v1") {
                format!("{root}{rest}")
            } else {
                format!("{root}/v1{rest}")
            }
        }
    }
}

/// `host[:port]` of a URL, lowercased: what a request's `Host` is compared with.
pub fn authority_of(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    rest.split(['/', '?', '#'])
        .next()
        .unwrap_or("")
        .to_ascii_lowercase()
}

/// An upstream URL's host and port (its scheme's port when it names
/// none): a chat span's `server.address` and `server.port`.
pub fn server_of(url: &str) -> (String, u16) {
    let https = !url.trim_start().to_ascii_lowercase().starts_with("http://");
    let authority = authority_of(url);
    let default = if https { 443 } else { 80 };
    match authority.rsplit_once(':') {
        Some((host, port)) if !host.is_empty() && !port.contains(']') => {
            (host.to_string(), port.parse().unwrap_or(default))
        }
        _ => (authority, default),
    }
}

/// `runner.model.upstream`'s check: https, or plain http to a loopback host
/// only (the sandbox); a host, no user info, no query.
pub fn upstream_allowed(url: &str) -> Result<(), Invalid> {
    let url = url.trim();
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| Invalid(format!("\"{url}\" is not an https URL")))?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    if authority.contains('@') {
        return Err(Invalid(format!(
            "\"{url}\" carries user info: the gateway sends the key from key_env alone; remove it"
        )));
    }
    if rest.contains(['?', '#']) {
        return Err(Invalid(format!(
            "\"{url}\" has a query or fragment: give the API's root alone"
        )));
    }
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => authority.rsplit_once(':').map_or(authority, |(h, _)| h),
    };
    if host.is_empty() {
        return Err(Invalid(format!("\"{url}\" names no host")));
    }
    match scheme {
        "https" => Ok(()),
        "http" => {
            let loopback = host.eq_ignore_ascii_case("localhost")
                || host
                    .parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback());
            if loopback {
                Ok(())
            } else {
                Err(Invalid(format!(
                    "\"{url}\" is plain http to a host that is not loopback: the model's key would cross the network in clear text; use https"
                )))
            }
        }
        _ => Err(Invalid(format!("\"{url}\" is not an https URL"))),
    }
}

/// `runner.model.gateway`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// On for a named agent in a box with `network = "model"` whose key is
    /// in afk's environment.
    #[default]
    Auto,
    On,
    Off,
}

/// Whether the gateway runs for a turn.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InForce {
    On(Api),
    /// Off, and why (doctor's line adds that the key is in the agent's reach
    /// and the spend is the agent's word).
    Off(String),
    /// `gateway = "on"` and the key's variable is unset or empty: a doctor
    /// FAIL and a dispatch error naming it.
    MissingKey(String),
}

/// Where the gateway is asked about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Setting<'a> {
    pub mode: Mode,
    pub agent: AgentKind,
    /// `confine = "box"` on the command runner, or the Kubernetes runner
    /// (whose pod holds the gateway container).
    pub boxed: bool,
    /// The box's `network = "model"` (a Kubernetes pod: true).
    pub network_model: bool,
    /// The key's variable (`key_env`, else the API's default).
    pub key_env: &'a str,
    /// Whether that variable is set and not blank in afk's environment.
    pub key_present: bool,
}

/// Whether the gateway is on (docs/runners.md#the-model-gateway-runnermodel).
pub fn in_force(s: &Setting) -> InForce {
    let Some(api) = Api::of_agent(s.agent) else {
        return InForce::Off("a custom agent speaks no API afk knows".into());
    };
    match s.mode {
        Mode::Off => InForce::Off("runner.model.gateway = \"off\"".into()),
        Mode::On if !s.key_present => InForce::MissingKey(s.key_env.to_string()),
        Mode::On => InForce::On(api),
        Mode::Auto if !s.boxed => {
            InForce::Off("the agent runs unconfined (confine = \"none\")".into())
        }
        Mode::Auto if !s.network_model => InForce::Off("the box's network is not \"model\"".into()),
        Mode::Auto if !s.key_present => InForce::Off(format!(
            "${} is not in afk's environment (a subscription login, or the key elsewhere)",
            s.key_env
        )),
        Mode::Auto => InForce::On(api),
    }
}

#[cfg(test)]
mod tests;
