//! Where the registry secret may go
//! (docs/configuration.md#where-the-registry-secret-goes): the `user:token` of
//! `upgrade.registry_auth_env` belongs to one registry host,
//! `upgrade.registry_auth_host`. It is sent to that host (as the answer to its
//! `Basic` challenge) and to the token service that host's own `Bearer`
//! challenge names, when that service is on the same host or on the host's
//! site; never to another registry, a mirror on another host, a realm that
//! another registry names, or anything over plain HTTP but loopback.
//!
//! Hosts are compared as image names spell them, `host[:port]`, without case
//! and with a missing port meaning the scheme's default (443, or 80 for
//! plain HTTP). Docker Hub's names (`docker.io`, `index.docker.io`,
//! `registry-1.docker.io`, `registry.hub.docker.com`) are one host.
//!
//! "The host's site" (its registrable domain, without a public-suffix list):
//! the last two labels of the host (`registry.example.org` → `example.org`),
//! or the last three when the top-level label has two letters and the one
//! before it is a generic second level such as `co`, `com` or `org`
//! (`registry.example.co.uk` → `example.co.uk`). An IP address, `localhost`
//! or any one-label host has no site beyond itself, and Docker Hub's is
//! `docker.io` (its token service is `auth.docker.io`).

use crate::hosts::is_loopback;

/// The host that serves Docker Hub's registry API (`/v2/`).
pub const DOCKER_HUB_API: &str = "registry-1.docker.io";

/// Docker Hub's registry, by any of its names: the one list of them.
pub fn is_docker_hub(host: &str) -> bool {
    matches!(
        host,
        "docker.io" | "index.docker.io" | "registry-1.docker.io" | "registry.hub.docker.com"
    )
}

/// Where one request goes: its scheme (`http` or `https`) and `host[:port]`.
#[derive(Debug, Clone, Copy)]
pub struct Dest<'a> {
    pub scheme: &'a str,
    pub authority: &'a str,
}

/// The request the secret would go with.
#[derive(Debug, Clone, Copy)]
pub enum Asking<'a> {
    /// A registry (or mirror) itself: the answer to its `Basic` challenge.
    Registry(Dest<'a>),
    /// The token service `realm` that `registry`'s `Bearer` challenge named.
    Realm { registry: Dest<'a>, realm: Dest<'a> },
}

/// Whether the secret that belongs to `auth_host` may go with `asking`.
/// An empty or unreadable `auth_host` lets it go nowhere.
pub fn secret_may_go(auth_host: &str, asking: Asking) -> bool {
    match asking {
        Asking::Registry(to) => safe_transport(to) && same_registry(auth_host, to),
        Asking::Realm { registry, realm } => {
            secret_may_go(auth_host, Asking::Registry(registry))
                && safe_transport(realm)
                && match (split(auth_host), split(realm.authority)) {
                    (Some((a, _)), Some((r, _))) => on_site(&a, &r),
                    _ => false,
                }
        }
    }
}

/// `host` or `host:port` as an image name spells a registry host: no scheme,
/// path, userinfo or whitespace.
pub fn is_registry_host(s: &str) -> bool {
    split(s).is_some_and(|(h, _)| {
        h.split('.')
            .all(|l| !l.is_empty() && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
            || h.parse::<std::net::Ipv6Addr>().is_ok()
    })
}

/// HTTPS, or plain HTTP to a loopback host.
fn safe_transport(to: Dest) -> bool {
    to.scheme.eq_ignore_ascii_case("https")
        || (to.scheme.eq_ignore_ascii_case("http") && is_loopback(to.authority))
}

fn same_registry(auth_host: &str, to: Dest) -> bool {
    let default = if to.scheme.eq_ignore_ascii_case("http") {
        80
    } else {
        443
    };
    let (Some((a, ap)), Some((t, tp))) = (split(auth_host), split(to.authority)) else {
        return false;
    };
    let same_host = a == t || (is_docker_hub(&a) && is_docker_hub(&t));
    same_host && ap.unwrap_or(default) == tp.unwrap_or(default)
}

/// Whether `realm_host` is `auth`'s own host or on its site.
fn on_site(auth: &str, realm_host: &str) -> bool {
    if auth == realm_host {
        return true;
    }
    let site = if is_docker_hub(auth) {
        "docker.io".to_string()
    } else if auth.parse::<std::net::IpAddr>().is_ok() || !auth.contains('.') {
        return false;
    } else {
        registrable_domain(auth)
    };
    realm_host == site || realm_host.ends_with(&format!(".{site}"))
}

/// Second-level labels under which a two-letter country domain registers
/// names (`co.uk`, `com.au`, `or.jp`): the site is then three labels long.
const GENERIC_SECOND_LEVEL: &[&str] = &[
    "ac", "co", "com", "edu", "go", "gob", "gov", "gv", "ltd", "mil", "ne", "net", "nic", "or",
    "org", "plc", "sch",
];

/// `registry.example.org` → `example.org`; `a.b.example.co.uk` → `example.co.uk`.
fn registrable_domain(host: &str) -> String {
    let labels: Vec<&str> = host.split('.').collect();
    let n = labels.len();
    let keep =
        if n >= 2 && labels[n - 1].len() == 2 && GENERIC_SECOND_LEVEL.contains(&labels[n - 2]) {
            3
        } else {
            2
        };
    labels[n.saturating_sub(keep)..].join(".")
}

/// `host[:port]` → (lower-case host without brackets or a trailing dot, port).
/// None for anything else (a scheme, a path, userinfo, a bad port).
fn split(authority: &str) -> Option<(String, Option<u16>)> {
    let a = authority.trim().to_ascii_lowercase();
    if a.is_empty() || a.contains(['/', '@', '?', '#', ' ', '\t']) {
        return None;
    }
    let (host, port) = if let Some(rest) = a.strip_prefix('[') {
        let (h, after) = rest.split_once(']')?;
        h.parse::<std::net::Ipv6Addr>().ok()?;
        match after {
            "" => (h.to_string(), None),
            p => (h.to_string(), Some(p.strip_prefix(':')?)),
        }
    } else {
        match a.split_once(':') {
            Some((h, p)) => (h.to_string(), Some(p)),
            None => (a.clone(), None),
        }
    };
    let port = match port {
        Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => {
            Some(p.parse::<u16>().ok()?)
        }
        Some(_) => return None,
        None => None,
    };
    let host = host.strip_suffix('.').unwrap_or(&host).to_string();
    (!host.is_empty()).then_some((host, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d<'a>(scheme: &'a str, authority: &'a str) -> Dest<'a> {
        Dest { scheme, authority }
    }

    #[test]
    fn the_secret_goes_only_to_the_auth_host_itself() {
        let cases = [
            // (auth host, scheme, registry asked, may go)
            (
                "registry.example.org",
                "https",
                "registry.example.org",
                true,
            ),
            (
                "registry.example.org",
                "https",
                "REGISTRY.example.org",
                true,
            ),
            (
                "registry.example.org",
                "https",
                "registry.example.org.",
                true,
            ),
            (
                "registry.example.org",
                "https",
                "registry.example.org:443",
                true,
            ),
            (
                "registry.example.org:443",
                "https",
                "registry.example.org",
                true,
            ),
            (
                "registry.example.org",
                "https",
                "registry.example.org:5000",
                false,
            ),
            (
                "registry.example.org:5000",
                "https",
                "registry.example.org:5000",
                true,
            ),
            (
                "registry.example.org:5000",
                "https",
                "registry.example.org",
                false,
            ),
            // another registry, even on the same site
            ("registry.example.org", "https", "ghcr.io", false),
            ("registry.example.org", "https", "other.example.org", false),
            ("registry.example.org", "https", "example.org", false),
            (
                "registry.example.org",
                "https",
                "registry.example.org.evil.test",
                false,
            ),
            (
                "registry.example.org",
                "https",
                "evilregistry.example.org",
                false,
            ),
            // never over plain HTTP to a remote host
            (
                "registry.example.org",
                "http",
                "registry.example.org",
                false,
            ),
            (
                "registry.example.org:80",
                "http",
                "registry.example.org",
                false,
            ),
            ("10.0.0.5:5000", "http", "10.0.0.5:5000", false),
            // loopback speaks plain HTTP
            ("127.0.0.1:5000", "http", "127.0.0.1:5000", true),
            ("127.0.0.1:5000", "http", "127.0.0.1:5001", false),
            ("127.0.0.1:5000", "http", "127.0.0.2:5000", false),
            ("localhost:5000", "http", "localhost:5000", true),
            ("localhost:5000", "http", "127.0.0.1:5000", false),
            ("[::1]:5000", "http", "[::1]:5000", true),
            ("127.0.0.1", "http", "127.0.0.1:80", true),
            // Docker Hub's names are one host
            ("docker.io", "https", "registry-1.docker.io", true),
            ("index.docker.io", "https", "registry-1.docker.io", true),
            ("registry-1.docker.io", "https", "docker.io", true),
            ("docker.io", "https", "registry-1.docker.io:5000", false),
            ("docker.io", "https", "ghcr.io", false),
            // nothing for no auth host, or for a garbled one
            ("", "https", "registry.example.org", false),
            (
                "https://registry.example.org",
                "https",
                "registry.example.org",
                false,
            ),
            (
                "registry.example.org",
                "https",
                "user@registry.example.org",
                false,
            ),
            ("registry.example.org", "ftp", "registry.example.org", false),
        ];
        for (auth, scheme, to, want) in cases {
            let got = secret_may_go(auth, Asking::Registry(d(scheme, to)));
            assert_eq!(got, want, "case {auth} -> {scheme}://{to}");
        }
    }

    #[test]
    fn the_secret_goes_to_a_token_service_on_the_auth_hosts_own_site_only() {
        let cases = [
            // (auth host, registry that challenged, realm's scheme and host, may go)
            (
                "registry.example.org",
                "registry.example.org",
                "https",
                "registry.example.org",
                true,
            ),
            (
                "registry.example.org",
                "registry.example.org",
                "https",
                "registry.example.org:8443",
                true,
            ),
            (
                "registry.example.org",
                "registry.example.org",
                "https",
                "auth.example.org",
                true,
            ),
            (
                "registry.example.org",
                "registry.example.org",
                "https",
                "example.org",
                true,
            ),
            (
                "registry.example.org",
                "registry.example.org",
                "https",
                "a.b.example.org",
                true,
            ),
            (
                "registry.example.org",
                "registry.example.org",
                "https",
                "auth.evil.test",
                false,
            ),
            (
                "registry.example.org",
                "registry.example.org",
                "https",
                "example.org.evil.test",
                false,
            ),
            (
                "registry.example.org",
                "registry.example.org",
                "https",
                "badexample.org",
                false,
            ),
            (
                "registry.example.org",
                "registry.example.org",
                "http",
                "auth.example.org",
                false,
            ),
            // only the auth host's own challenge names a realm the secret may go to
            (
                "registry.example.org",
                "ghcr.io",
                "https",
                "auth.example.org",
                false,
            ),
            (
                "registry.example.org",
                "ghcr.io",
                "https",
                "registry.example.org",
                false,
            ),
            (
                "registry.example.org",
                "mirror.example.org",
                "https",
                "auth.example.org",
                false,
            ),
            // a two-letter country domain with a generic second level
            (
                "registry.example.co.uk",
                "registry.example.co.uk",
                "https",
                "auth.example.co.uk",
                true,
            ),
            (
                "registry.example.co.uk",
                "registry.example.co.uk",
                "https",
                "evil.co.uk",
                false,
            ),
            (
                "registry.example.co.uk",
                "registry.example.co.uk",
                "https",
                "co.uk",
                false,
            ),
            (
                "registry.example.de",
                "registry.example.de",
                "https",
                "auth.example.de",
                true,
            ),
            ("ghcr.io", "ghcr.io", "https", "ghcr.io", true),
            ("ghcr.io", "ghcr.io", "https", "auth.ghcr.io", true),
            ("ghcr.io", "ghcr.io", "https", "evil.io", false),
            // Docker Hub's token service
            (
                "docker.io",
                "registry-1.docker.io",
                "https",
                "auth.docker.io",
                true,
            ),
            (
                "registry-1.docker.io",
                "registry-1.docker.io",
                "https",
                "auth.docker.io",
                true,
            ),
            (
                "docker.io",
                "registry-1.docker.io",
                "https",
                "docker.io.evil.test",
                false,
            ),
            // an IP address and a one-label host are only themselves
            (
                "127.0.0.1:5000",
                "127.0.0.1:5000",
                "http",
                "127.0.0.1:5001",
                true,
            ),
            (
                "127.0.0.1:5000",
                "127.0.0.1:5000",
                "http",
                "127.0.0.2:5001",
                false,
            ),
            (
                "127.0.0.3:5000",
                "127.0.0.3:5000",
                "http",
                "localhost:5001",
                false,
            ),
            (
                "localhost:5000",
                "localhost:5000",
                "http",
                "localhost:5001",
                true,
            ),
            (
                "localhost:5000",
                "localhost:5000",
                "http",
                "a.localhost:5001",
                false,
            ),
            ("10.0.0.5:5000", "10.0.0.5:5000", "https", "10.0.0.6", false),
            ("[::1]:5000", "[::1]:5000", "http", "[::1]:5001", true),
            ("registry", "registry", "https", "auth.registry", false),
        ];
        for (auth, registry, scheme, realm, want) in cases {
            let reg_scheme = if is_loopback(registry) {
                "http"
            } else {
                "https"
            };
            let asking = Asking::Realm {
                registry: d(reg_scheme, registry),
                realm: d(scheme, realm),
            };
            assert_eq!(
                secret_may_go(auth, asking),
                want,
                "case {auth}: {registry} names {scheme}://{realm}"
            );
        }
    }

    #[test]
    fn a_registry_host_is_written_as_in_an_image_name() {
        let cases = [
            ("registry.example.org", true),
            ("registry.example.org:5000", true),
            ("localhost:5000", true),
            ("127.0.0.1:5000", true),
            ("[::1]:5000", true),
            ("docker.io", true),
            ("https://registry.example.org", false),
            ("registry.example.org/v2", false),
            ("user:pw@registry.example.org", false),
            ("registry.example.org:", false),
            ("registry.example.org:99999", false),
            ("registry .example.org", false),
            ("registry..example.org", false),
            ("[nothost]:5000", false),
            ("", false),
        ];
        for (s, want) in cases {
            assert_eq!(is_registry_host(s), want, "case {s:?}");
        }
    }
}
