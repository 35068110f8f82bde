//! Injected misbehaviour for the forge and agent-service APIs: latency, error
//! statuses (with `Retry-After`), hangs, dropped connections and malformed
//! bodies, each for matching requests and optionally only so many times.

use super::err;
use super::http::Reply;
use serde::Deserialize;
use serde_json::Value;
use std::time::Duration;

#[derive(Deserialize, Clone, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Fault {
    pub method: Option<String>,
    /// substring of the API path (without /api/v1)
    pub path: Option<String>,
    /// substring of the request's body (a GraphQL API's one path: the
    /// mutation's name)
    pub body: Option<String>,
    pub status: Option<u16>,
    pub retry_after: Option<u64>,
    /// `Retry-After` as this text (an HTTP date, as proxies and CDNs send it)
    pub retry_after_text: Option<String>,
    /// a `Date` header on the fault's answer, as this text
    pub date: Option<String>,
    pub latency_ms: Option<u64>,
    pub hang: bool,
    pub drop: bool,
    /// carry the request out, then drop the connection before answering (the
    /// effect landed, the answer was lost: what a client must reconcile)
    pub drop_after: bool,
    pub malformed: bool,
    /// answer a list with an empty page (`[]`, no next link): a list that
    /// lags behind a write, as a replica or a cache in front of a forge serves
    pub stale: bool,
    /// answer normally but always claim another page (`Link: rel="next"`)
    pub endless: bool,
    /// answer normally with this `Link: <…>; rel="next"` (a hostile forge's link)
    pub next_link: Option<String>,
    /// answer normally with every RFC 3339 date in the JSON body (any
    /// field, any depth) replaced by this text: the extremes an outside
    /// date can take (`9999-12-31T23:59:59Z`, `0000-01-01T00:00:00Z`)
    pub dates: Option<String>,
    /// how many matching requests it applies to; absent: all
    pub times: Option<u32>,
    /// Azure DevOps's block of an identity that used too much: `429`,
    /// `TF400733`, `Retry-After` (`retry_after`, else 1) and the
    /// `X-RateLimit-Resource`, `-Delay`, `-Limit`, `-Remaining: 0` and
    /// `-Reset` headers
    pub throttle: bool,
    /// Azure DevOps's answer to a refused credential from a client that did
    /// not ask to be spared the redirect: `203` with an HTML sign-in page
    pub sign_in: bool,
    /// headers set on the answer, the fault's own or (with no `status`)
    /// the normal one: a service's rate-limit headers as it sends them
    pub headers: Option<std::collections::BTreeMap<String, String>>,
}

/// `body` with every RFC 3339 date in it replaced by `to`: in JSON any
/// string that is one, in text each line's leading stamp.
pub(super) fn redate(body: &[u8], to: &str) -> Option<Vec<u8>> {
    fn walk(v: &mut Value, to: &str) {
        match v {
            Value::String(s)
                if time::OffsetDateTime::parse(
                    s,
                    &time::format_description::well_known::Rfc3339,
                )
                .is_ok() =>
            {
                *s = to.to_string();
            }
            Value::Array(a) => a.iter_mut().for_each(|x| walk(x, to)),
            Value::Object(o) => o.values_mut().for_each(|x| walk(x, to)),
            _ => {}
        }
    }
    let rfc3339 = |s: &str| {
        time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).is_ok()
    };
    match serde_json::from_slice::<Value>(body) {
        Ok(mut v) => {
            walk(&mut v, to);
            serde_json::to_vec(&v).ok()
        }
        // text (a pod log with timestamps): each line's leading stamp
        Err(_) => {
            let text = std::str::from_utf8(body).ok()?;
            let lines: Vec<String> = text
                .split_inclusive('\n')
                .map(|l| match l.split_once(' ') {
                    Some((first, rest)) if rfc3339(first) => format!("{to} {rest}"),
                    _ => l.to_string(),
                })
                .collect();
            Some(lines.concat().into_bytes())
        }
    }
}

/// The faults in force, set as a whole by `/_admin/faults`.
#[derive(Default)]
pub(super) struct Faults {
    rules: Vec<Fault>,
    /// added to every request
    latency_ms: u64,
}

impl Faults {
    /// Replace the faults from `{faults: [Fault], latency_ms}`; a malformed list clears them.
    pub(super) fn set(&mut self, body: &Value) {
        self.rules = serde_json::from_value(body["faults"].clone()).unwrap_or_default();
        self.latency_ms = body["latency_ms"].as_u64().unwrap_or(0);
    }

    /// The first fault matching this request (using up one of its `times`),
    /// and the latency every request gets.
    pub(super) fn pick(&mut self, method: &str, path: &str, body: &[u8]) -> (Option<Fault>, u64) {
        let hit = self.rules.iter_mut().find(|f| {
            f.method
                .as_ref()
                .is_none_or(|m| m.eq_ignore_ascii_case(method))
                && f.path.as_ref().is_none_or(|p| path.contains(p.as_str()))
                && f.body
                    .as_ref()
                    .is_none_or(|b| String::from_utf8_lossy(body).contains(b.as_str()))
                && f.times.is_none_or(|t| t > 0)
        });
        let hit = hit.map(|f| {
            if let Some(t) = f.times.as_mut() {
                *t -= 1;
            }
            f.clone()
        });
        (hit, self.latency_ms)
    }
}

/// Wait out the latency, then misbehave as `fault` says; None: answer normally.
/// Called without the forge locked, so other requests go on meanwhile.
/// `empty`: an empty list as the dialect writes one (a stale list's answer).
pub(super) fn inject(fault: Option<Fault>, latency_ms: u64, empty: &[u8]) -> Option<Reply> {
    let extra = fault.as_ref().and_then(|f| f.latency_ms).unwrap_or(0);
    if latency_ms + extra > 0 {
        std::thread::sleep(Duration::from_millis(latency_ms + extra));
    }
    let f = fault?;
    if f.endless || f.next_link.is_some() || f.drop_after || f.dates.is_some() {
        return None;
    }
    if f.hang {
        std::thread::sleep(Duration::from_secs(120));
        return Some(Reply::Drop);
    }
    if f.drop {
        return Some(Reply::Drop);
    }
    if f.stale {
        return Some(Reply::Send {
            status: 200,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: empty.to_vec(),
        });
    }
    if f.malformed {
        return Some(Reply::Send {
            status: 200,
            headers: vec![],
            body: b"{\"id\": 1, \"broken\": [".to_vec(),
        });
    }
    if f.sign_in {
        return Some(Reply::Send {
            status: 203,
            headers: vec![("Content-Type".into(), "text/html; charset=utf-8".into())],
            body: b"<!DOCTYPE html><html><head><title>Azure DevOps Services | Sign In</title></head><body>Sign in to your account</body></html>".to_vec(),
        });
    }
    if f.throttle {
        let wait = f.retry_after.unwrap_or(1);
        let reset = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
            + wait;
        let body = serde_json::json!({"$id": "1", "innerException": null,
            "message": "TF400733: The request has been canceled: Request was blocked due to exceeding usage of resource 'Core' in namespace 'User'.",
            "typeName": "Microsoft.TeamFoundation.Framework.Server.RequestBlockedException, Microsoft.TeamFoundation.Framework.Server",
            "typeKey": "RequestBlockedException", "errorCode": 0, "eventId": 3000});
        return Some(
            Reply::json(429, &body)
                .with_header("Retry-After", &wait.to_string())
                .with_header("X-RateLimit-Resource", "Core")
                .with_header("X-RateLimit-Delay", "0")
                .with_header("X-RateLimit-Limit", "200")
                .with_header("X-RateLimit-Remaining", "0")
                .with_header("X-RateLimit-Reset", &reset.to_string()),
        );
    }
    let s = f.status?;
    let mut r = err(s, "injected fault");
    if let Some(ra) = f.retry_after {
        r = r.with_header("Retry-After", &ra.to_string());
    }
    if let Some(ra) = &f.retry_after_text {
        r = r.with_header("Retry-After", ra);
    }
    if let Some(d) = &f.date {
        r = r.with_header("Date", d);
    }
    Some(r)
}
