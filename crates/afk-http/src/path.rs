//! A path segment percent-encoded: a label, a login or a repository's name
//! never changes the path it stands in.

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
