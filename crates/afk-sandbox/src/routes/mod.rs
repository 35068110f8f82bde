//! The forge APIs the sandbox serves, one dialect per module, each reading and
//! changing the shared model (`super::model`) and answering in its forge's
//! shapes, with its own paging, errors and auth.

pub(super) mod gitea;
pub(super) mod github;

/// A path segment, percent-encoded (everything but RFC 3986's unreserved
/// characters), as the sandbox writes it into the `Link` and `url` fields it
/// answers with. The sandbox's own, not the client's: a fake that shared its
/// subject's encoder could not catch a bug in it.
pub(crate) fn enc(s: &str) -> String {
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
