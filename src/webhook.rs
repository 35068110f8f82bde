//! `afk hook`'s I/O (docs/hook.md): one request read from
//! standard input within one deadline for all of it and a size cap, or
//! taken from a file and `Name: value` options; its signature checked with
//! the secret (ring's HMAC-SHA256, compared in constant time). What counts
//! and what it starts are `core::hook`'s rules.

use crate::command_error::UsageError;
use crate::core::hook::{self, Answer, Claim, Sender, Verdict, form};
use crate::redact::Secret;
use anyhow::{Context, Result, bail};
use std::path::Path;
use std::time::{Duration, Instant};

/// One delivery: its headers and body.
pub struct Request {
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// Read one HTTP/1.1 request from standard input: all of it within
/// `timeout` (else 408), its body at most `max_body` (else 413, by its
/// `Content-Length` before it is read). Bytes after the body are left.
pub fn read_stdin(max_body: u64, timeout: Duration) -> Result<Request, Answer> {
    let deadline = Instant::now() + timeout;
    let mut buf: Vec<u8> = Vec::with_capacity(8192);
    let head = loop {
        if let Some(head) = hook::parse_head(&buf, max_body)? {
            break head;
        }
        read_some(&mut buf, 8192, deadline)?;
    };
    let want = head.size + head.length.unwrap_or(0) as usize;
    while buf.len() < want {
        let room = (want - buf.len()).min(1 << 16);
        read_some(&mut buf, room, deadline)?;
    }
    buf.truncate(want);
    Ok(Request {
        headers: head.headers,
        body: buf.split_off(head.size),
    })
}

/// Read at most `room` more bytes from standard input before `deadline`:
/// 408 past it, 400 at its end (a request cut short).
fn read_some(buf: &mut Vec<u8>, room: usize, deadline: Instant) -> Result<(), Answer> {
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(Answer::Timeout);
        }
        let mut fds = libc::pollfd {
            fd: 0,
            events: libc::POLLIN,
            revents: 0,
        };
        let ms = left.as_millis().clamp(1, i32::MAX as u128) as i32;
        // SAFETY: one pollfd this function owns.
        let n = unsafe { libc::poll(&mut fds, 1, ms) };
        if n < 0 {
            if std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            return Err(Answer::Malformed);
        }
        if n == 0 {
            return Err(Answer::Timeout);
        }
        let at = buf.len();
        buf.resize(at + room, 0);
        // SAFETY: reads into the `room` bytes just made at the end of buf.
        let got = unsafe { libc::read(0, buf[at..].as_mut_ptr().cast(), room) };
        if got < 0 {
            buf.truncate(at);
            if std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            return Err(Answer::Malformed);
        }
        buf.truncate(at + got as usize);
        return if got == 0 {
            Err(Answer::Malformed)
        } else {
            Ok(())
        };
    }
}

/// `--header 'Name: value'` options as headers; a bad one is a usage error.
pub fn header_options(options: &[String]) -> Result<Vec<(String, String)>> {
    options
        .iter()
        .map(|o| match o.split_once(':') {
            Some((k, v)) if !k.trim().is_empty() && !k.contains(char::is_whitespace) => {
                Ok((k.trim().to_string(), v.trim().to_string()))
            }
            _ => Err(UsageError(format!("hook: --header {o:?}: not `Name: value`")).into()),
        })
        .collect()
}

/// The request of `--body FILE` and its headers: a body over `max_body` is
/// 413 (nothing read of it); a file that cannot be read is an error.
pub fn from_file(
    path: &Path,
    headers: Vec<(String, String)>,
    max_body: u64,
) -> Result<Result<Request, Answer>> {
    let meta =
        std::fs::metadata(path).with_context(|| format!("hook: --body {}", path.display()))?;
    if !meta.is_file() {
        bail!(UsageError(format!(
            "hook: --body {}: not a file",
            path.display()
        )));
    }
    if meta.len() > max_body {
        return Ok(Err(Answer::TooLarge));
    }
    let body = afk_host::private_files::read_operator_file(path, max_body).map_err(|e| {
        UsageError(format!(
            "hook: --body {}: {}",
            path.display(),
            afk_host::os_words(&e)
        ))
    })?;
    if body.len() as u64 > max_body {
        return Ok(Err(Answer::TooLarge));
    }
    Ok(Ok(Request { headers, body }))
}

/// Whether `req` is signed with `secret` by `dialect`'s headers: each
/// claim checked in constant time (an HMAC by `ring::hmac::verify`; a token,
/// or Basic's password, by comparing its HMAC with the secret's, so no
/// early exit tells how much of it matched), then `core::hook::verdict`.
pub fn verify(dialect: Sender, req: &Request, secret: &Secret) -> Verdict {
    use ring::hmac;
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret.expose().as_bytes());
    let is_secret = |given: &str| {
        let want = hmac::sign(&key, secret.expose().as_bytes());
        hmac::verify(&key, given.as_bytes(), want.as_ref()).is_ok()
    };
    let checked: Vec<bool> = hook::claims(dialect, &req.headers)
        .into_iter()
        .map(|(_, claim)| match claim {
            Claim::Mac(tag) => hmac::verify(&key, &signed_over(dialect, req), &tag).is_ok(),
            Claim::Token(token) => is_secret(&token),
            Claim::Basic { password, .. } => is_secret(&password),
            Claim::Malformed => false,
        })
        .collect();
    hook::verdict(&checked)
}

/// The bytes `dialect` signed of `req`: the body as sent, or, a form's on a
/// kind that signs the JSON its `payload` carries (Gitea, Forgejo), that
/// JSON (`core::hook::form`).
fn signed_over(dialect: Sender, req: &Request) -> std::borrow::Cow<'_, [u8]> {
    if dialect.signs_the_payload()
        && form::encoding(&req.headers) == form::Encoding::Form
        && let Some(json) = form::payload(&req.body)
    {
        return std::borrow::Cow::Owned(json);
    }
    std::borrow::Cow::Borrowed(&req.body)
}

/// A verified delivery as afk reads it: a form-encoded one's body replaced
/// by the JSON its `payload` field carries; a form without one keeps its
/// body (and so names no repository).
pub fn as_json(mut req: Request) -> Request {
    if form::encoding(&req.headers) == form::Encoding::Form
        && let Some(json) = form::payload(&req.body)
    {
        req.body = json;
    }
    req
}

/// What a delivery carried, as a name to remember it by: the SHA-256 of its
/// body (`body:<hex>`). A signed body replayed under a new delivery id has
/// the same fingerprint, so it starts no second tick (docs/hook.md).
pub fn fingerprint(req: &Request) -> String {
    let d = ring::digest::digest(&ring::digest::SHA256, &req.body);
    let hex: String = d.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    format!("body:{hex}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(headers: &[(&str, &str)], body: &str) -> Request {
        Request {
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            body: body.as_bytes().to_vec(),
        }
    }

    fn hex_mac(secret: &str, body: &str) -> String {
        let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret.as_bytes());
        ring::hmac::sign(&key, body.as_bytes())
            .as_ref()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    fn basic(user: &str, password: &str) -> String {
        use base64::Engine;
        let cred = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        format!("Basic {cred}")
    }

    #[test]
    fn a_signature_verifies_only_with_the_secret_and_its_body() {
        let secret = Secret::new("hook-test-secret-1");
        let body = r#"{"repository":{"full_name":"acme/api"}}"#;
        let good = hex_mac("hook-test-secret-1", body);
        let bad = hex_mac("another", body);
        let gh = format!("sha256={good}");
        let (basic_ok, basic_wrong) = (
            basic("sandbox", "hook-test-secret-1"),
            basic("sandbox", "hook-test-secret"),
        );
        let (basic_no_user, basic_other) =
            (basic("", "hook-test-secret-1"), basic("sandbox", "nope"));
        type Case<'a> = (Sender, Vec<(&'a str, &'a str)>, &'a str, Verdict);
        let cases: &[Case] = &[
            (
                Sender::Gitea,
                vec![("X-Gitea-Signature", &good)],
                body,
                Verdict::Signed,
            ),
            (
                Sender::Gitea,
                vec![("X-Gitea-Signature", &good)],
                "{}",
                Verdict::Forged,
            ),
            (
                Sender::Gitea,
                vec![("X-Gitea-Signature", &bad)],
                body,
                Verdict::Forged,
            ),
            (
                Sender::Gitea,
                vec![("X-Gitea-Signature", &good), ("X-Forgejo-Signature", &bad)],
                body,
                Verdict::Forged,
            ),
            (
                Sender::Github,
                vec![("X-Hub-Signature-256", &gh)],
                body,
                Verdict::Signed,
            ),
            (
                Sender::Github,
                vec![("X-Gitea-Signature", &good)],
                body,
                Verdict::Unsigned,
            ),
            (
                Sender::Gitlab,
                vec![("X-Gitlab-Token", "hook-test-secret-1")],
                body,
                Verdict::Signed,
            ),
            (
                Sender::Gitlab,
                vec![("X-Gitlab-Token", "hook-test-secret")],
                body,
                Verdict::Forged,
            ),
            // Azure DevOps: Basic auth's password is the secret, any body
            (
                Sender::AzureDevops,
                vec![("Authorization", &basic_ok)],
                "{}",
                Verdict::Signed,
            ),
            (
                Sender::AzureDevops,
                vec![("Authorization", &basic_wrong)],
                body,
                Verdict::Forged,
            ),
            (
                Sender::AzureDevops,
                vec![("Authorization", &basic_no_user)],
                body,
                Verdict::Forged,
            ),
            (
                Sender::AzureDevops,
                vec![("Authorization", "Bearer hook-test-secret-1")],
                body,
                Verdict::Forged,
            ),
            // another kind's signature is none
            (
                Sender::AzureDevops,
                vec![("X-Hub-Signature-256", &gh)],
                body,
                Verdict::Unsigned,
            ),
            (
                Sender::AzureDevops,
                vec![
                    ("Authorization", &basic_ok),
                    ("Authorization", &basic_other),
                ],
                body,
                Verdict::Forged,
            ),
        ];
        for (d, headers, body, want) in cases {
            assert_eq!(
                verify(*d, &req(headers, body), &secret),
                *want,
                "{d:?} {headers:?}"
            );
        }
    }

    #[test]
    fn header_options_are_name_colon_value() {
        let ok = header_options(&["X-A: b c".into(), "X-B:d".into()]).unwrap();
        assert_eq!(
            ok,
            [("X-A".into(), "b c".into()), ("X-B".into(), "d".into())]
        );
        for bad in ["no colon", ": v", "X A: v"] {
            assert!(header_options(&[bad.to_string()]).is_err(), "{bad}");
        }
    }
}
