//! URLs as the registry client reads them: a base URL's parts, the loopback
//! rule for plain HTTP, the path `-v` and errors show, `Link` resolution,
//! `WWW-Authenticate` challenges, basic auth's base64.

use crate::core::registry_auth::Dest;
use crate::core::upgrade::is_loopback;
use std::collections::HashMap;

/// A base URL split into its parts: `scheme://authority[/prefix]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Origin {
    pub(crate) scheme: String,
    /// `host[:port]`, userinfo removed
    pub(crate) authority: String,
    /// the whole base URL, without a trailing `/`
    pub(crate) base: String,
}

impl Origin {
    /// An `http(s)://` URL.
    pub(crate) fn parse(url: &str) -> Option<Origin> {
        let (scheme, rest) = url.split_once("://")?;
        let scheme = scheme.to_ascii_lowercase();
        if scheme != "http" && scheme != "https" {
            return None;
        }
        let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let authority = rest[..end].rsplit('@').next().unwrap_or("").to_string();
        if authority.is_empty() {
            return None;
        }
        let base = url.split(['?', '#']).next().unwrap_or(url);
        Some(Origin {
            scheme,
            authority: authority.to_ascii_lowercase(),
            base: base.trim_end_matches('/').to_string(),
        })
    }

    /// A URL, or a bare host (the scheme then follows the loopback rule).
    pub(crate) fn parse_or_host(url: &str) -> Option<Origin> {
        if url.contains("://") {
            Origin::parse(url)
        } else {
            Origin::parse(&format!("{}://{url}", scheme_for(url)))
        }
    }

    pub(crate) fn for_host(host: &str) -> Origin {
        let scheme = scheme_for(host);
        Origin {
            scheme: scheme.into(),
            authority: host.to_string(),
            base: format!("{scheme}://{host}"),
        }
    }

    pub(crate) fn host(&self) -> String {
        self.authority.clone()
    }

    pub(crate) fn origin(&self) -> String {
        format!("{}://{}", self.scheme, self.authority)
    }

    pub(crate) fn dest(&self) -> Dest<'_> {
        Dest {
            scheme: &self.scheme,
            authority: &self.authority,
        }
    }
}

/// Plain HTTP to a loopback host (as Docker does), HTTPS to every other.
pub(crate) fn scheme_for(authority: &str) -> &'static str {
    if is_loopback(authority) {
        "http"
    } else {
        "https"
    }
}

/// The path and query of a URL, without scheme or host (what `-v` shows).
pub(crate) fn target_of(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    rest.find(['/', '?']).map_or("/", |i| &rest[i..])
}

/// The path of a URL, without scheme, host or query (what errors show).
pub(crate) fn path_of(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let path = rest.find('/').map_or("/", |i| &rest[i..]);
    path.split(['?', '#']).next().unwrap_or(path).to_string()
}

/// Resolve a link against the URL it came from: absolute, `//host/…`,
/// `/path`, `?query` or a path relative to the current directory.
pub(crate) fn resolve(current: &str, link: &str) -> String {
    if link.contains("://") {
        return link.to_string();
    }
    let (scheme, rest) = current.split_once("://").unwrap_or(("https", current));
    if let Some(l) = link.strip_prefix("//") {
        return format!("{scheme}://{l}");
    }
    let host_end = rest.find('/').unwrap_or(rest.len());
    let origin = format!("{scheme}://{}", &rest[..host_end]);
    let path = path_of(current);
    if link.starts_with('/') {
        format!("{origin}{link}")
    } else if link.starts_with('?') {
        format!("{origin}{path}{link}")
    } else {
        let dir = &path[..path.rfind('/').map_or(0, |i| i + 1)];
        format!("{origin}{dir}{link}")
    }
}

/// `Bearer realm="…",service="…",scope="…"` → ("Bearer", {realm, service, scope}).
/// Values may be quoted (and then hold commas) or bare tokens.
pub(crate) fn parse_challenge(header: &str) -> Option<(String, HashMap<String, String>)> {
    let header = header.trim();
    let (scheme, mut rest) = match header.split_once(char::is_whitespace) {
        Some((s, r)) => (s, r.trim_start()),
        None => (header, ""),
    };
    if scheme.is_empty() {
        return None;
    }
    let mut params = HashMap::new();
    while !rest.is_empty() {
        rest = rest.trim_start_matches([',', ' ', '\t']);
        let Some((key, after)) = rest.split_once('=') else {
            break;
        };
        let after = after.trim_start();
        let (value, tail) = if let Some(q) = after.strip_prefix('"') {
            let mut value = String::new();
            let mut chars = q.char_indices();
            let mut end = q.len();
            while let Some((i, c)) = chars.next() {
                match c {
                    '\\' => {
                        if let Some((_, e)) = chars.next() {
                            value.push(e);
                        }
                    }
                    '"' => {
                        end = i + 1;
                        break;
                    }
                    c => value.push(c),
                }
            }
            (value, &q[end.min(q.len())..])
        } else {
            let end = after.find(',').unwrap_or(after.len());
            (after[..end].trim().to_string(), &after[end..])
        };
        params.insert(key.trim().to_ascii_lowercase(), value);
        rest = tail;
    }
    Some((scheme.to_string(), params))
}

/// Standard base64 with padding (HTTP basic auth).
pub(crate) fn base64(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(A[(n >> (18 - 6 * i)) as usize & 63] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_only_to_loopback_hosts() {
        let cases = [
            ("localhost", true),
            ("localhost:5000", true),
            ("LOCALHOST:5000", true),
            ("127.0.0.1", true),
            ("127.8.9.10:5000", true),
            ("[::1]:5000", true),
            ("[::1]", true),
            ("128.0.0.1:5000", false),
            ("127.example.com", false),
            ("localhost.example.com", false),
            ("ghcr.io", false),
            ("[::2]:5000", false),
            ("10.0.0.1:5000", false),
        ];
        for (authority, loopback) in cases {
            assert_eq!(is_loopback(authority), loopback, "case {authority}");
            let scheme = if loopback { "http" } else { "https" };
            assert_eq!(scheme_for(authority), scheme, "case {authority}");
        }
    }

    #[test]
    fn next_links_are_found_and_resolved() {
        let base = "http://127.0.0.1:5000/v2/a/b/tags/list?n=10";
        let cases = [
            (
                "</v2/a/b/tags/list?n=10&last=x>; rel=\"next\"",
                Some("http://127.0.0.1:5000/v2/a/b/tags/list?n=10&last=x"),
            ),
            (
                "<http://127.0.0.1:5000/v2/a/b/tags/list?last=y>; rel=next",
                Some("http://127.0.0.1:5000/v2/a/b/tags/list?last=y"),
            ),
            (
                "<?last=z>; rel=\"next\"",
                Some("http://127.0.0.1:5000/v2/a/b/tags/list?last=z"),
            ),
            (
                "<list?last=w>; rel=\"next\"",
                Some("http://127.0.0.1:5000/v2/a/b/tags/list?last=w"),
            ),
            (
                "</first>; rel=\"prev\", </v2/next>; rel=\"next\"",
                Some("http://127.0.0.1:5000/v2/next"),
            ),
            ("</v2/x>; rel=\"prev\"", None),
            ("garbage", None),
        ];
        for (header, want) in cases {
            let got = crate::link::next_link(header).map(|l| resolve(base, &l));
            assert_eq!(got.as_deref(), want, "case {header}");
        }
    }

    #[test]
    fn bearer_challenges_are_parsed_with_quoted_commas() {
        let (scheme, p) = parse_challenge(
            "Bearer realm=\"https://auth.docker.io/token\",service=\"registry.docker.io\",scope=\"repository:a/b:pull,push\"",
        )
        .unwrap();
        assert_eq!(scheme, "Bearer");
        assert_eq!(p["realm"], "https://auth.docker.io/token");
        assert_eq!(p["service"], "registry.docker.io");
        assert_eq!(p["scope"], "repository:a/b:pull,push");
        let (scheme, p) = parse_challenge("Basic realm=Registry").unwrap();
        assert_eq!(
            (scheme.as_str(), p["realm"].as_str()),
            ("Basic", "Registry")
        );
        assert_eq!(parse_challenge(""), None);
    }

    #[test]
    fn base64_matches_rfc_4648() {
        let cases = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("user:s3cret", "dXNlcjpzM2NyZXQ="),
        ];
        for (input, want) in cases {
            assert_eq!(base64(input.as_bytes()), want, "case {input}");
        }
    }

    #[test]
    fn requests_are_logged_with_host_path_and_query() {
        let cases = [
            (
                "http://127.0.0.2:5000/v2/a/tags/list?n=10",
                "/v2/a/tags/list?n=10",
            ),
            (
                "https://mirror.example.org/ghcr/v2/a/tags/list",
                "/ghcr/v2/a/tags/list",
            ),
            ("https://auth.example.org", "/"),
            ("https://auth.example.org?x=1", "?x=1"),
        ];
        for (url, want) in cases {
            assert_eq!(target_of(url), want, "case {url}");
        }
    }

    #[test]
    fn errors_show_path_without_query() {
        let cases = [
            ("http://h:1/v2/a/tags/list?n=10&last=x", "/v2/a/tags/list"),
            ("https://auth.example.org/token?scope=x", "/token"),
            ("https://auth.example.org", "/"),
        ];
        for (url, want) in cases {
            assert_eq!(path_of(url), want, "case {url}");
        }
    }
}
