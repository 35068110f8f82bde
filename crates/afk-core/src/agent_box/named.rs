//! What a forwarded connection's first bytes name (docs/runners.md#the-agents-box):
//! the server name of a TLS ClientHello or the `Host` of a plain HTTP
//! request, which must be the allowed entry's host ([`names_permit`]), and
//! the one request a plain HTTP connection may carry ([`one_request_only`]).

use super::forwarder::HostPort;
use crate::types::Invalid;

/// What the first bytes a box sends on a forwarded connection say of the
/// host it means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Named {
    /// Not enough bytes yet to tell.
    More,
    /// A TLS ClientHello, with its server name (SNI) when it has one.
    Tls(Option<String>),
    /// An HTTP request, with its `Host` header's host when it has one.
    Http(Option<String>),
    /// Neither.
    Other,
}

/// A plain HTTP request's first bytes as the forwarder sends them on: with
/// `Connection: close` after its request line, so the server answers this
/// one request and no other on the connection (a second request there,
/// naming another host, is never read: only the first head was judged).
/// Other bytes (a TLS hello) as they are.
pub fn one_request_only(first: &[u8]) -> Vec<u8> {
    let http = first.first().is_some_and(u8::is_ascii_uppercase);
    match first.windows(2).position(|w| w == b"\r\n") {
        Some(i) if http => {
            let mut out = Vec::with_capacity(first.len() + 19);
            out.extend_from_slice(&first[..i + 2]);
            out.extend_from_slice(b"Connection: close\r\n");
            out.extend_from_slice(&first[i + 2..]);
            out
        }
        _ => first.to_vec(),
    }
}

/// Read the host a connection's first bytes name (at most 16 KiB are
/// looked at: [`Named::Other`] past that).
pub fn named(first: &[u8]) -> Named {
    const CAP: usize = 16 << 10;
    match first.first() {
        None => Named::More,
        Some(0x16) => tls_name(first).unwrap_or(if first.len() >= CAP {
            Named::Other
        } else {
            Named::More
        }),
        Some(b) if b.is_ascii_uppercase() => {
            let Some(end) = first.windows(4).position(|w| w == b"\r\n\r\n") else {
                return if first.len() >= CAP {
                    Named::Other
                } else {
                    Named::More
                };
            };
            // a line ended by a bare LF or CR: where a line ends is a
            // server's guess (a Host hidden from afk's reading), not afk's
            let bare = first[..end].iter().enumerate().any(|(i, &b)| {
                (b == b'\n' && (i == 0 || first[i - 1] != b'\r'))
                    || (b == b'\r' && first.get(i + 1) != Some(&b'\n'))
            });
            if bare {
                return Named::Other;
            }
            let head = String::from_utf8_lossy(&first[..end]);
            let mut lines = head.split("\r\n");
            let request = lines.next().unwrap_or("");
            let words: Vec<&str> = request.split_whitespace().collect();
            if words.len() != 3 {
                return Named::Other;
            }
            let hosts: Vec<String> = lines
                .filter_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.trim()
                        .eq_ignore_ascii_case("host")
                        .then(|| host_of(v.trim()))
                })
                .collect();
            // two Hosts, or an absolute-form target naming another host
            // than its Host: which one a server reads is its choice, not afk's
            if hosts.len() > 1 {
                return Named::Other;
            }
            let host = hosts.into_iter().next();
            if let Some((_, rest)) = words[1].split_once("://") {
                let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
                let named = host_of(authority.rsplit('@').next().unwrap_or(""));
                if authority.contains('@') || host.as_deref() != Some(named.as_str()) {
                    return Named::Other;
                }
            }
            Named::Http(host)
        }
        Some(_) => Named::Other,
    }
}

/// A `Host` header's host: without its port, an IPv6 address without
/// brackets, lower case.
fn host_of(h: &str) -> String {
    let h = if let Some(rest) = h.strip_prefix('[') {
        rest.split(']').next().unwrap_or("")
    } else {
        h.rsplit_once(':')
            .filter(|(_, p)| p.chars().all(|c| c.is_ascii_digit()))
            .map(|(h, _)| h)
            .unwrap_or(h)
    };
    h.to_ascii_lowercase()
}

/// The server name of a TLS ClientHello held whole in `b`'s first record;
/// None when it is not all there yet (or not well formed: More until the cap).
fn tls_name(b: &[u8]) -> Option<Named> {
    let u16_at = |i: usize| -> Option<usize> {
        Some(usize::from(*b.get(i)?) << 8 | usize::from(*b.get(i + 1)?))
    };
    let record_end = 5 + u16_at(3)?;
    if b.len() < record_end {
        return None;
    }
    let bad = Some(Named::Other);
    if b.get(5) != Some(&1) {
        return bad; // not a ClientHello
    }
    // handshake header (4), version (2), random (32)
    let mut i = 5 + 4 + 2 + 32;
    i += 1 + usize::from(*b.get(i)?); // session id
    i += 2 + u16_at(i)?; // cipher suites
    i += 1 + usize::from(*b.get(i)?); // compression methods
    if i >= record_end {
        return Some(Named::Tls(None));
    }
    let ext_end = (i + 2 + u16_at(i)?).min(record_end);
    i += 2;
    while i + 4 <= ext_end {
        let (kind, len) = (u16_at(i)?, u16_at(i + 2)?);
        let body = i + 4;
        if kind == 0 {
            // server_name: list length (2), type (1) 0 = host name, length (2), name
            if b.get(body + 2) != Some(&0) {
                return bad;
            }
            let n = u16_at(body + 3)?;
            let name = b.get(body + 5..body + 5 + n)?;
            return Some(Named::Tls(Some(
                String::from_utf8_lossy(name).to_ascii_lowercase(),
            )));
        }
        i = body + len;
    }
    Some(Named::Tls(None))
}

/// Whether the forwarder lets a connection to `target` go on, by the host
/// its first bytes name: the TLS server name or HTTP `Host` must be the
/// allowed entry's host (an IP entry may have a TLS hello without a name);
/// anything else is refused, and why. A model endpoint behind an ingress
/// that also fronts the forge is reached only by the model's name.
pub fn names_permit(target: &HostPort, named: &Named) -> Result<(), Invalid> {
    let ip = target.host.parse::<std::net::IpAddr>().is_ok();
    let same = |h: &str| {
        h.eq_ignore_ascii_case(&target.host) || (target.host == "localhost" && h == "127.0.0.1")
    };
    match named {
        Named::Tls(Some(n)) if same(n) => Ok(()),
        Named::Tls(None) if ip => Ok(()),
        Named::Http(Some(h)) if same(h) => Ok(()),
        Named::Tls(Some(n)) => Err(Invalid(format!(
            "refused a connection to {target}: its TLS server name is {} (not {})",
            shown(n),
            target.host
        ))),
        Named::Tls(None) => Err(Invalid(format!(
            "refused a connection to {target}: its TLS hello names no server"
        ))),
        Named::Http(Some(h)) => Err(Invalid(format!(
            "refused a connection to {target}: its Host is {} (not {})",
            shown(h),
            target.host
        ))),
        Named::Http(None) => Err(Invalid(format!(
            "refused a connection to {target}: its request has no Host"
        ))),
        Named::More | Named::Other => Err(Invalid(format!(
            "refused a connection to {target}: it is neither HTTP nor TLS"
        ))),
    }
}

fn shown(s: &str) -> String {
    s.chars()
        .take(80)
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agent_box::forwarder::{Verdict, judge};

    /// A minimal TLS ClientHello record naming `sni` (none when empty).
    fn hello(sni: &str) -> Vec<u8> {
        let mut ext = vec![];
        if !sni.is_empty() {
            let n = sni.len() as u16;
            let mut body = vec![];
            body.extend((n + 3).to_be_bytes());
            body.push(0);
            body.extend(n.to_be_bytes());
            body.extend(sni.as_bytes());
            ext.extend(0u16.to_be_bytes());
            ext.extend((body.len() as u16).to_be_bytes());
            ext.extend(body);
        }
        // another extension first (supported_versions), as clients send
        let mut exts = vec![0x00, 0x2b, 0x00, 0x03, 0x02, 0x03, 0x04];
        exts.extend(ext);
        let mut hs = vec![0x03, 0x03];
        hs.extend([7u8; 32]);
        hs.push(0); // session id
        hs.extend([0x00, 0x02, 0x13, 0x01]); // one suite
        hs.extend([0x01, 0x00]); // compression: null
        hs.extend((exts.len() as u16).to_be_bytes());
        hs.extend(exts);
        let mut h = vec![1u8, 0, 0, 0];
        let l = hs.len() as u32;
        h[1..4].copy_from_slice(&l.to_be_bytes()[1..]);
        h.extend(hs);
        let mut rec = vec![0x16, 0x03, 0x01];
        rec.extend((h.len() as u16).to_be_bytes());
        rec.extend(h);
        rec
    }

    #[test]
    fn the_forwarder_lets_a_connection_on_only_when_its_tls_name_or_host_is_the_allowed_host() {
        let api = HostPort::parse("api.anthropic.com:443").unwrap();
        let ip = HostPort::parse("127.0.0.1:4001").unwrap();
        let http = |h: &str| {
            format!("POST /v1/messages HTTP/1.1\r\nHost: {h}\r\nContent-Length: 2\r\n\r\n{{}}")
                .into_bytes()
        };
        let full = hello("api.anthropic.com");
        let cases: Vec<(&HostPort, Vec<u8>, bool)> = vec![
            (&api, full.clone(), true),
            (&api, hello("API.Anthropic.com"), true),
            (&api, hello("forge.internal"), false),
            (&api, hello(""), false),
            (&ip, hello(""), true),
            (&ip, http("127.0.0.1:4001"), true),
            (&ip, http("forge.internal"), false),
            (&api, http("api.anthropic.com"), true),
            (&api, http("api.anthropic.com.evil.example"), false),
            (&api, b"GET / HTTP/1.1\r\n\r\n".to_vec(), false),
            (&api, b"SSH-2.0-OpenSSH_9.2\r\n".to_vec(), false),
            (&api, vec![0u8; 20], false),
        ];
        for (target, first, ok) in cases {
            let n = named(&first);
            assert_eq!(names_permit(target, &n).is_ok(), ok, "{target} {n:?}");
        }
        // a plain request is the connection's only one: the server is told
        // to close after it, so a second request behind it (another Host)
        // is never read; a TLS hello goes on as it is
        let two = b"GET / HTTP/1.1\r\nHost: api.anthropic.com\r\n\r\nGET / HTTP/1.1\r\nHost: evil\r\n\r\n";
        assert_eq!(
            one_request_only(two),
            b"GET / HTTP/1.1\r\nConnection: close\r\nHost: api.anthropic.com\r\n\r\nGET / HTTP/1.1\r\nHost: evil\r\n\r\n".to_vec()
        );
        let tls = hello("api.anthropic.com");
        assert_eq!(one_request_only(&tls), tls);
        // a hello or a head cut short asks for more, up to the cap
        assert_eq!(named(&full[..full.len() - 3]), Named::More);
    }

    #[test]
    fn the_forwarders_host_check_holds_under_parser_differentials() {
        let api = HostPort::parse("api.anthropic.com:443").unwrap();
        let v6 = HostPort::parse("[::1]:8080").unwrap();
        let raw = |head: &str| format!("{head}\r\n\r\n").into_bytes();
        // (target, first bytes, passes): exactly the allowed host, or refused
        let cases: Vec<(&HostPort, Vec<u8>, bool)> = vec![
            (&api, hello("api.anthropic.com\0.evil.example"), false),
            (&api, hello("evil.example\0api.anthropic.com"), false),
            (&api, hello("api.anthropic.com."), false),
            (&api, hello("xn--pi-7ka.anthropic.com"), false),
            (&api, hello("аpi.anthropic.com"), false),
            (
                &api,
                raw("GET / HTTP/1.1\r\nHost: api.anthropic.com."),
                false,
            ),
            (&api, raw("GET / HTTP/1.1\r\nHost: API.ANTHROPIC.COM"), true),
            (
                &api,
                raw("GET / HTTP/1.1\r\nHost: api.anthropic.com\0.evil"),
                false,
            ),
            // two Hosts: which one a server reads is not afk's to guess
            (
                &api,
                raw("GET / HTTP/1.1\r\nHost: api.anthropic.com\r\nHost: evil.example"),
                false,
            ),
            // an absolute-form target naming another host than its Host
            (
                &api,
                raw("GET http://evil.example/ HTTP/1.1\r\nHost: api.anthropic.com"),
                false,
            ),
            (
                &api,
                raw(
                    "GET http://api.anthropic.com@evil.example/ HTTP/1.1\r\nHost: api.anthropic.com",
                ),
                false,
            ),
            (
                &api,
                raw("GET https://api.anthropic.com/v1 HTTP/1.1\r\nHost: api.anthropic.com"),
                true,
            ),
            // a line ended by a bare LF or CR hides a Host from afk's reading
            (
                &api,
                raw("GET / HTTP/1.1\r\nHost: api.anthropic.com\nHost: evil.example"),
                false,
            ),
            (
                &api,
                raw("GET / HTTP/1.1\nHost: evil.example\r\nHost: api.anthropic.com"),
                false,
            ),
            (
                &api,
                raw("GET / HTTP/1.1\r\nX: a\rHost: evil.example\r\nHost: api.anthropic.com"),
                false,
            ),
            (&v6, raw("GET / HTTP/1.1\r\nHost: [::1]:8080"), true),
            (&v6, raw("GET / HTTP/1.1\r\nHost: [::2]:8080"), false),
            (
                &v6,
                raw("GET / HTTP/1.1\r\nHost: [0:0:0:0:0:0:0:1]:8080"),
                false,
            ),
        ];
        for (target, first, ok) in cases {
            let n = named(&first);
            assert_eq!(names_permit(target, &n).is_ok(), ok, "{target} {n:?}");
        }
        // the CONNECT line's target must be an entry, and the name inside
        // it that target's host
        let allow = [api.clone()];
        assert!(matches!(
            judge(&allow, "api.anthropic.com:443"),
            Verdict::Forward(_)
        ));
        for line in [
            "api.anthropic.com.:443",
            "api.anthropic.com:444",
            "api.anthropic.com\0:443",
            "[::1]:443",
        ] {
            assert!(
                matches!(judge(&allow, line), Verdict::Refuse(_)),
                "{line:?}"
            );
        }
        assert_eq!(named(b"POST / HTTP/1.1\r\nHost: a"), Named::More);
        assert_eq!(named(&[b'G'; 20 << 10]), Named::Other);
        assert_eq!(named(&[]), Named::More);
    }
}
