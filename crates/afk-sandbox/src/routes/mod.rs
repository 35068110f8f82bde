//! The forge APIs the sandbox serves, one dialect per module, each reading and
//! changing the shared model (`super::model`) and answering in its forge's
//! shapes, with its own paging, errors and auth.

pub(super) mod gitea;
pub(super) mod github;

use crate::http::{Reply, Request};
use sha2::{Digest, Sha256};

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

/// A GET answered 200 carries an `ETag` (a hash of its body); asked again
/// with that tag in `If-None-Match`, it is a 304 with no body. Every GitHub
/// GET; on Gitea, one issue's GET (the status issue's read).
pub(crate) fn conditional(req: &Request, reply: Reply) -> Reply {
    let Reply::Send {
        status: 200,
        mut headers,
        body,
    } = reply
    else {
        return reply;
    };
    if req.method != "GET" {
        return Reply::Send {
            status: 200,
            headers,
            body,
        };
    }
    let hash = Sha256::digest(&body);
    let tag = format!(
        "W/\"{}\"",
        hash[..16]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    );
    let matches = req
        .header("if-none-match")
        .is_some_and(|v| v.split(',').any(|t| t.trim() == tag || t.trim() == "*"));
    headers.push(("ETag".into(), tag));
    if matches {
        headers.retain(|(k, _)| k != "Link");
        return Reply::Send {
            status: 304,
            headers,
            body: vec![],
        };
    }
    Reply::Send {
        status: 200,
        headers,
        body,
    }
}
