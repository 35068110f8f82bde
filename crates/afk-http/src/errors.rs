//! What a failed call's [`ForgeError`] says: its message (method, path,
//! status, the service's own words, short; never the token) and its typed
//! [`Reason`], which the binary turns into advice. The types themselves are
//! `failure.rs`'s.

use crate::failure::{Failure, ForgeError, Reason};
use crate::http::Http;

/// `scheme://host[:port]` of a URL: what a connect error names.
pub(crate) fn origin(url: &str) -> &str {
    match url.find("://") {
        Some(i) => {
            let rest = &url[i + 3..];
            let end = rest
                .find(['/', '?', '#'])
                .map(|j| i + 3 + j)
                .unwrap_or(url.len());
            &url[..end]
        }
        None => url,
    }
}

/// What the operating system said about a failed connect, in lower case
/// without the `(os error N)` tail: `connection refused`.
pub(crate) fn connect_reason(t: &ureq::Transport) -> String {
    let mut source = std::error::Error::source(t);
    while let Some(e) = source {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            return afk_host::os_words(io).to_ascii_lowercase();
        }
        source = e.source();
    }
    short(&t.to_string())
}

/// What an error's message may hold of a service's answer (its `message`
/// field, a parser's complaint about the body): `sanitize::excerpt`.
pub(crate) fn short(s: &str) -> String {
    afk_wire::sanitize::excerpt(s, 160)
}

/// The longest message a failed call's error carries, the service's words in
/// it included (`sanitize::excerpt`): an answer of any size is one short line.
pub const MESSAGE_MAX: usize = 300;

/// What a service said in its answer, short: its `message` (a string, or
/// GitLab's list of them) and, where it gives one, its first `errors[]`
/// message (GitHub's cause of a 422: "A pull request already exists for …"),
/// with that error's GraphQL `extensions.code` where it has one (Linear's
/// `RATELIMITED`: the message alone does not say which limit); Jira's
/// first `errorMessages` and its first `errors` field with its message (a
/// transition screen's required field: docs/fidelity/jira-cloud.md).
fn said(v: &serde_json::Value) -> String {
    fn text(m: &serde_json::Value) -> Option<&str> {
        m.as_str()
            .or_else(|| m.as_array()?.iter().find_map(|x| x.as_str()))
    }
    // Jira's `ErrorCollection`: `errorMessages`, and `errors` by field
    let message = v
        .get("message")
        .or_else(|| v.get("errorMessages"))
        .and_then(text);
    let by_field = v.get("errors").and_then(|e| e.as_object()).and_then(|e| {
        let (field, m) = e.iter().find_map(|(k, m)| Some((k, m.as_str()?)))?;
        Some(format!("{field}: {m}"))
    });
    let cause = by_field.or_else(|| {
        v.get("errors").and_then(|e| e.as_array()).and_then(|e| {
            e.iter().find_map(|x| {
                let m = x.get("message").and_then(text)?;
                Some(
                    match x.pointer("/extensions/code").and_then(|c| c.as_str()) {
                        Some(code) => format!("{m} ({code})"),
                        None => m.to_string(),
                    },
                )
            })
        })
    });
    let cause = cause.as_deref();
    match (message, cause) {
        (Some(m), Some(c)) => short(&format!("{m}: {c}")),
        (Some(m), None) => short(m),
        (None, Some(c)) => short(c),
        (None, None) => String::new(),
    }
}

impl Http {
    /// An error of an answer (`status`) or of none, tried once.
    pub(crate) fn error(
        &self,
        method: &str,
        path: &str,
        status: Option<u16>,
        message: String,
    ) -> anyhow::Error {
        let kind = status.map_or(Failure::NoAnswer, Failure::answered);
        self.failed(method, path, status, message, kind, None)
    }

    /// An error that met `kind`; one that used up its retries says how
    /// many it had ([`ForgeError::exhausted`]).
    pub(crate) fn failed(
        &self,
        method: &str,
        path: &str,
        status: Option<u16>,
        message: String,
        kind: Failure,
        reason: Option<Reason>,
    ) -> anyhow::Error {
        let bare = path.split('?').next().unwrap_or(path);
        // the message may carry what the service said: one short escaped line
        let message = afk_wire::sanitize::excerpt(&message, MESSAGE_MAX);
        anyhow::Error::new(ForgeError {
            service: self.service,
            method: method.into(),
            path: bare.into(),
            status,
            message,
            kind,
            retries: self.retries,
            reason,
        })
    }

    /// What an answer of `status` means, with what the service said of it
    /// (its `message`, short), and why, apart (the binary's advice).
    pub(crate) fn status_message(&self, status: u16, body: &str) -> (String, Option<Reason>) {
        let detail = serde_json::from_str::<serde_json::Value>(body)
            .ok()
            .map(|v| said(&v))
            .unwrap_or_default();
        let failed = format!("the {} failed", self.service);
        let (what, reason) = match status {
            401 => (
                "unauthorized",
                Some(Reason::TokenRefused {
                    source: self.token_source.clone(),
                }),
            ),
            403 => ("the token's account lacks permission here", None),
            404 => ("not found", Some(Reason::NotFound)),
            429 => ("rate limited", Some(Reason::Passing)),
            s if s >= 500 => (failed.as_str(), Some(Reason::Passing)),
            _ => ("unexpected answer", None),
        };
        match detail.is_empty() {
            true => (what.to_string(), reason),
            false => (format!("{what} ({detail})"), reason),
        }
    }

    /// A redirect, refused (never followed): where it pointed, and what
    /// this client's callers make of one ([`Http::set_moved`]).
    pub(crate) fn moved(
        &self,
        method: &str,
        path: &str,
        status: u16,
        resp: &ureq::Response,
    ) -> anyhow::Error {
        let to = resp.header("Location").unwrap_or("");
        self.failed(
            method,
            path,
            Some(status),
            format!("moved to {to}: {}", self.moved),
            Failure::answered(status),
            self.moved_reason.clone(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// What an answer means is the message; why, the reason apart (the
    /// binary's advice; this crate carries none).
    #[test]
    fn an_answers_reason_is_apart_from_what_it_means() {
        let h = Http::new(
            "http://x",
            "t",
            "AFK_FORGE_TOKEN",
            Duration::from_secs(1),
            0,
        );
        let token = Some(Reason::TokenRefused {
            source: "AFK_FORGE_TOKEN".into(),
        });
        // (status, body, message, reason)
        let cases = [
            (401, "", "unauthorized", token.clone()),
            (
                401,
                r#"{"message":"Bad credentials"}"#,
                "unauthorized (Bad credentials)",
                token,
            ),
            (403, "", "the token's account lacks permission here", None),
            (404, "", "not found", Some(Reason::NotFound)),
            (429, "", "rate limited", Some(Reason::Passing)),
            (502, "", "the forge failed", Some(Reason::Passing)),
            (418, "", "unexpected answer", None),
            // GitHub's 422 says its cause in errors[]; GitLab's message is a list
            (
                422,
                r#"{"message":"Validation Failed","errors":[{"resource":"PullRequest","code":"custom","message":"A pull request already exists for acme:afk/issue-1."}]}"#,
                "unexpected answer (Validation Failed: A pull request already exists for acme:afk/issue-1.)",
                None,
            ),
            // a GraphQL error's code beside its message (Linear's rate limit)
            (
                400,
                r#"{"errors":[{"message":"Rate limit exceeded","extensions":{"code":"RATELIMITED","type":"ratelimited"}}]}"#,
                "unexpected answer (Rate limit exceeded (RATELIMITED))",
                None,
            ),
            // Jira's ErrorCollection: its messages, and its errors by field
            (
                400,
                r#"{"errorMessages":[],"errors":{"resolution":"Resolution is required."}}"#,
                "unexpected answer (resolution: Resolution is required.)",
                None,
            ),
            (
                400,
                r#"{"errorMessages":["Transition id '9' is not valid for this issue."],"errors":{}}"#,
                "unexpected answer (Transition id '9' is not valid for this issue.)",
                None,
            ),
            (
                409,
                r#"{"message":["Another open merge request already exists for this source branch: !1"]}"#,
                "unexpected answer (Another open merge request already exists for this source branch: !1)",
                None,
            ),
        ];
        for (status, body, message, reason) in cases {
            let (m, r) = h.status_message(status, body);
            assert_eq!((m.as_str(), r), (message, reason), "{status} {body}");
        }
    }
}
