//! The forwarder's judge (docs/runners.md#the-agents-box): with the box's
//! own network (`model`), every connection out goes through afk's
//! forwarder, which lets out exactly the `runner.box.allow` entries
//! ([`judge`], [`default_allow`] when the operator wrote none), the proxy
//! variables and listeners the box gets for it ([`proxy_env`], [`Inside`]),
//! and what a run's refusals say ([`refusals_said`]).

use crate::types::Invalid;
use std::fmt;

/// One `host:port` the forwarder may connect to.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Deserialize, serde::Serialize,
)]
pub struct HostPort {
    /// Lower case; an IPv6 address without its brackets.
    pub host: String,
    pub port: u16,
}

impl fmt::Display for HostPort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

impl HostPort {
    /// `host:port`, `[v6]:port`, or a host alone (port 443). The host is a
    /// DNS name or an IP address: no scheme, path, user or spaces.
    pub fn parse(s: &str) -> Result<HostPort, Invalid> {
        let bad = || {
            Invalid(format!(
                "\"{s}\" is not host:port (e.g. \"api.anthropic.com:443\")"
            ))
        };
        let s2 = s.trim();
        if s2.is_empty() || s2.contains("://") || s2.contains(['/', '@', ' ', '?', '#']) {
            return Err(bad());
        }
        let (host, port) = if let Some(rest) = s2.strip_prefix('[') {
            let (h, after) = rest.split_once(']').ok_or_else(bad)?;
            let port = match after.strip_prefix(':') {
                Some(p) => p.parse::<u16>().map_err(|_| bad())?,
                None if after.is_empty() => 443,
                None => return Err(bad()),
            };
            (h.to_string(), port)
        } else {
            match s2.rsplit_once(':') {
                Some((h, p)) if !h.contains(':') => (h.to_string(), p.parse().map_err(|_| bad())?),
                Some(_) => return Err(bad()),
                None => (s2.to_string(), 443),
            }
        };
        if port == 0 || !valid_host(&host) {
            return Err(bad());
        }
        Ok(HostPort {
            host: host.to_ascii_lowercase(),
            port,
        })
    }

    /// The host and port of an http(s) URL (its scheme's port when none).
    pub fn of_url(url: &str) -> Option<HostPort> {
        let (scheme, rest) = url.split_once("://")?;
        let default = match scheme.to_ascii_lowercase().as_str() {
            "http" => 80,
            "https" => 443,
            _ => return None,
        };
        let authority = rest.split(['/', '?', '#']).next()?;
        let authority = authority.rsplit('@').next()?;
        let hp = HostPort::parse(authority).ok()?;
        let explicit = authority.starts_with('[') && authority.contains("]:")
            || !authority.starts_with('[') && authority.contains(':');
        Some(if explicit {
            hp
        } else {
            HostPort {
                port: default,
                ..hp
            }
        })
    }

    /// A loopback host: the keeper listens on it inside the box, so a
    /// base URL naming it works unchanged.
    pub fn is_loopback(&self) -> bool {
        self.host == "localhost"
            || self
                .host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|a| a.is_loopback())
    }
}

fn valid_host(h: &str) -> bool {
    if h.parse::<std::net::IpAddr>().is_ok() {
        return true;
    }
    !h.is_empty()
        && h.len() <= 253
        && h.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        })
}

/// Whether the forwarder lets a connection to `target` out: exactly an
/// entry of `allow` (same host as written, same port). Anything else — the
/// forge on another port of the same address, a metadata address, the LAN —
/// is refused.
pub(crate) fn permits(allow: &[HostPort], target: &HostPort) -> bool {
    allow.iter().any(|a| a == target)
}

/// What the forwarder does with one request from inside the box.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Forward(HostPort),
    /// Refused, and why (a line of the run's log).
    Refuse(String),
}

/// The forwarder's rule for the first line a connection from the box sends:
/// `host:port`, bounded; refused unless [`permits`].
pub fn judge(allow: &[HostPort], line: &str) -> Verdict {
    let shown: String = line
        .chars()
        .take(120)
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    match HostPort::parse(line) {
        Ok(t) if permits(allow, &t) => Verdict::Forward(t),
        Ok(t) => Verdict::Refuse(format!(
            "refused a connection to {t} (not in runner.box.allow)"
        )),
        Err(_) => Verdict::Refuse(format!("refused a request for \"{shown}\" (not host:port)")),
    }
}

/// Which agent program, for the default `allow`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelOf {
    Claude,
    Codex,
    Custom,
}

/// What the default `allow` is made from.
#[derive(Debug, Clone, Default)]
pub struct AllowFacts {
    /// `ANTHROPIC_BASE_URL` in afk's environment.
    pub anthropic_base_url: Option<String>,
    /// The Codex provider's base URL (its config's provider, else
    /// `OPENAI_BASE_URL`).
    pub codex_base_url: Option<String>,
    /// `workspace = "agent"`: the agent does its own git, so it reaches the
    /// forge (its web root and its API root).
    pub forge: Vec<HostPort>,
}

/// `runner.box.allow` when the operator wrote none: the named agent's model
/// endpoint (its base URL's host and port when set, else the vendor's API
/// host), and the forge when the agent does its own git.
pub fn default_allow(agent: ModelOf, facts: &AllowFacts) -> Vec<HostPort> {
    let of = |url: &Option<String>, vendor: &str| -> Vec<HostPort> {
        match url.as_deref().and_then(HostPort::of_url) {
            Some(hp) => vec![hp],
            None => vec![HostPort {
                host: vendor.into(),
                port: 443,
            }],
        }
    };
    let mut allow = match agent {
        ModelOf::Claude => of(&facts.anthropic_base_url, "api.anthropic.com"),
        ModelOf::Codex => of(&facts.codex_base_url, "api.openai.com"),
        ModelOf::Custom => {
            let mut v = vec![];
            for u in [&facts.anthropic_base_url, &facts.codex_base_url] {
                if let Some(hp) = u.as_deref().and_then(HostPort::of_url) {
                    v.push(hp);
                }
            }
            v
        }
    };
    allow.extend(facts.forge.iter().cloned());
    allow.sort();
    allow.dedup();
    allow
}

/// A port inside the box for the forwarder's HTTP proxy, free of the
/// loopback entries the keeper listens on inside the box.
pub fn proxy_port(allow: &[HostPort]) -> u16 {
    (3128..u16::MAX)
        .find(|p| !allow.iter().any(|a| a.is_loopback() && a.port == *p))
        .unwrap_or(3128)
}

/// The proxy variables the agent gets (network = model): non-loopback
/// entries go through the forwarder's HTTP proxy; loopback ones are
/// listened on inside the box directly.
pub fn proxy_env(allow: &[HostPort]) -> Vec<(String, String)> {
    let proxy = format!("http://127.0.0.1:{}", proxy_port(allow));
    let mut env = vec![];
    for k in [
        "HTTPS_PROXY",
        "https_proxy",
        "HTTP_PROXY",
        "http_proxy",
        "ALL_PROXY",
        "all_proxy",
    ] {
        env.push((k.to_string(), proxy.clone()));
    }
    for k in ["NO_PROXY", "no_proxy"] {
        env.push((k.to_string(), "localhost,127.0.0.1,::1".to_string()));
    }
    env
}

/// What the box listens on inside (the keeper's listeners, made in the
/// box's network namespace before the box) and the command it runs.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
pub struct Inside {
    /// Loopback `host:port`s to listen on inside the box, each relayed to
    /// the forwarder.
    pub listen: Vec<HostPort>,
    /// The HTTP proxy's port (CONNECT and absolute-form requests), relayed
    /// to the forwarder; None: no network out.
    pub proxy: Option<u16>,
    /// The agent's command line.
    pub argv: Vec<String>,
    /// The model gateway's loopback port
    /// (docs/runners.md#the-model-gateway-runnermodel): each connection to
    /// `127.0.0.1:<port>` goes to the keeper's gateway, not to a `host:port`.
    #[serde(default)]
    pub gateway: Option<u16>,
}

/// The refused targets one turn's keeper names, at most; the rest are
/// counted under [`OTHER_TARGETS`].
pub const MAX_REFUSED_KEPT: usize = 32;
pub const OTHER_TARGETS: &str = "(other hosts)";
/// A request that named no `host:port`.
pub const NOT_HOST_PORT: &str = "(not host:port)";

/// What a run's box refused over its turns (each turn's keeper's counts):
/// the targets by how often, the most first, at most `shown`, and the
/// total of refusals.
pub fn refusals(
    turns: &[std::collections::BTreeMap<String, u64>],
    shown: usize,
) -> (Vec<(String, u64)>, u64) {
    let mut all: std::collections::BTreeMap<String, u64> = Default::default();
    for t in turns {
        for (k, n) in t {
            let e = all.entry(k.chars().take(120).collect()).or_insert(0);
            *e = e.saturating_add(*n);
        }
    }
    let total = all.values().fold(0u64, |a, n| a.saturating_add(*n));
    let mut v: Vec<(String, u64)> = all.into_iter().collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    v.truncate(shown);
    (v, total)
}

/// The sentence a PR body or an escalation says of a run's box refusals
/// (None when it refused nothing): the targets, how often, and the key
/// that would let one out.
pub fn refusals_said(turns: &[std::collections::BTreeMap<String, u64>]) -> Option<String> {
    const SHOWN: usize = 5;
    let (top, total) = refusals(turns, SHOWN);
    if total == 0 {
        return None;
    }
    let named: Vec<String> = top
        .iter()
        .map(|(t, n)| match n {
            1 => format!("`{t}`"),
            n => format!("`{t}` ({n} times)"),
        })
        .collect();
    let more = top.len()
        < turns
            .iter()
            .flat_map(|t| t.keys())
            .collect::<std::collections::BTreeSet<_>>()
            .len();
    Some(format!(
        "The agent's box refused {total} connection{s} during this run: {}{}. `runner.box.allow` (a `host:port` entry) lets one out.",
        named.join(", "),
        if more { ", and others" } else { "" },
        s = if total == 1 { "" } else { "s" },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn hp(h: &str, p: u16) -> HostPort {
        HostPort {
            host: h.into(),
            port: p,
        }
    }

    #[test]
    fn allow_entries_are_host_and_port_and_a_host_alone_is_443() {
        let cases: [(&str, Option<HostPort>); 12] = [
            ("api.anthropic.com:443", Some(hp("api.anthropic.com", 443))),
            ("API.Anthropic.com", Some(hp("api.anthropic.com", 443))),
            ("127.0.0.1:8080", Some(hp("127.0.0.1", 8080))),
            ("[::1]:9", Some(hp("::1", 9))),
            ("[::1]", Some(hp("::1", 443))),
            ("https://api.openai.com", None),
            ("api.openai.com/v1", None),
            ("host:0", None),
            ("host:70000", None),
            ("", None),
            ("a b:1", None),
            ("::1:80", None),
        ];
        for (s, want) in cases {
            assert_eq!(HostPort::parse(s).ok(), want, "{s:?}");
        }
        assert_eq!(hp("::1", 9).to_string(), "[::1]:9");
    }

    #[test]
    fn a_urls_host_and_port_are_its_schemes_when_unwritten() {
        let cases = [
            (
                "http://127.0.0.1:4000/model/anthropic",
                Some(hp("127.0.0.1", 4000)),
            ),
            (
                "https://api.anthropic.com",
                Some(hp("api.anthropic.com", 443)),
            ),
            ("http://example.org/x", Some(hp("example.org", 80))),
            ("http://user@[::1]:5/x", Some(hp("::1", 5))),
            ("ftp://x", None),
            ("not a url", None),
        ];
        for (u, want) in cases {
            assert_eq!(HostPort::of_url(u), want, "{u}");
        }
    }

    #[test]
    fn the_forwarder_lets_out_only_the_allowed_host_and_port() {
        let allow = [hp("127.0.0.1", 4001), hp("api.anthropic.com", 443)];
        let cases = [
            ("127.0.0.1:4001", true),
            ("api.anthropic.com:443", true),
            ("API.ANTHROPIC.COM:443", true),
            // the forge on the same address, another port
            ("127.0.0.1:4000", false),
            ("localhost:4001", false),
            ("169.254.169.254:80", false),
            ("10.0.0.1:443", false),
            ("api.anthropic.com:80", false),
            ("garbage\u{7}line", false),
        ];
        for (line, ok) in cases {
            let v = judge(&allow, line);
            assert_eq!(matches!(v, Verdict::Forward(_)), ok, "{line:?}: {v:?}");
            if let Verdict::Refuse(why) = v {
                assert!(!why.contains('\u{7}'), "{why}");
            }
        }
    }

    #[test]
    fn the_default_allow_is_the_named_agents_model_and_the_forge_only_for_agent_workspaces() {
        let sandbox = AllowFacts {
            anthropic_base_url: Some("http://127.0.0.1:4001/model/anthropic".into()),
            codex_base_url: Some("http://127.0.0.1:4001/model/openai/v1".into()),
            forge: vec![],
        };
        let none = AllowFacts::default();
        let agent_ws = AllowFacts {
            forge: vec![hp("127.0.0.1", 4000)],
            ..AllowFacts::default()
        };
        let cases = [
            (ModelOf::Claude, &sandbox, vec![hp("127.0.0.1", 4001)]),
            (ModelOf::Codex, &sandbox, vec![hp("127.0.0.1", 4001)]),
            (ModelOf::Claude, &none, vec![hp("api.anthropic.com", 443)]),
            (ModelOf::Codex, &none, vec![hp("api.openai.com", 443)]),
            (ModelOf::Custom, &none, vec![]),
            (ModelOf::Custom, &agent_ws, vec![hp("127.0.0.1", 4000)]),
        ];
        for (agent, facts, want) in cases {
            assert_eq!(default_allow(agent, facts), want, "{agent:?} {facts:?}");
        }
    }

    #[test]
    fn the_proxy_port_avoids_the_loopback_entries() {
        assert_eq!(proxy_port(&[hp("api.x", 3128)]), 3128);
        assert_eq!(proxy_port(&[hp("127.0.0.1", 3128)]), 3129);
        let env = proxy_env(&[]);
        assert!(env.contains(&("HTTPS_PROXY".into(), "http://127.0.0.1:3128".into())));
    }

    fn turn(pairs: &[(&str, u64)]) -> BTreeMap<String, u64> {
        pairs.iter().map(|(k, n)| (k.to_string(), *n)).collect()
    }

    #[test]
    fn a_runs_box_refusals_are_counted_over_its_turns_deduplicated_bounded_and_say_the_key() {
        type Turns = Vec<BTreeMap<String, u64>>;
        let cases: Vec<(Turns, Option<&str>)> = vec![
            (vec![], None),
            (vec![turn(&[])], None),
            (
                vec![
                    turn(&[("pypi.org:443", 2)]),
                    turn(&[("pypi.org:443", 1), ("10.0.0.1:22", 1)]),
                ],
                Some(
                    "refused 4 connections during this run: `pypi.org:443` (3 times), `10.0.0.1:22`. `runner.box.allow`",
                ),
            ),
            (
                vec![turn(&[
                    ("a:1", 1),
                    ("b:1", 1),
                    ("c:1", 1),
                    ("d:1", 1),
                    ("e:1", 1),
                    ("f:1", 9),
                ])],
                Some(
                    "refused 14 connections during this run: `f:1` (9 times), `a:1`, `b:1`, `c:1`, `d:1`, and others.",
                ),
            ),
            (
                vec![turn(&[("x:443", 1)])],
                Some("refused 1 connection during this run: `x:443`."),
            ),
        ];
        for (turns, want) in cases {
            let got = refusals_said(&turns);
            match want {
                None => assert_eq!(got, None),
                Some(w) => assert!(got.as_deref().unwrap_or("").contains(w), "{got:?} vs {w}"),
            }
        }
        // a name is bounded, counts saturate
        let long = "h".repeat(500);
        let (v, total) = refusals(&[turn(&[(&long, u64::MAX)]), turn(&[(&long, 5)])], 3);
        assert_eq!(v[0].0.len(), 120);
        assert_eq!(total, u64::MAX);
    }
}
