//! The Kubernetes API as the runner calls it: afk-http's client
//! (`afk::forge::http::Http`: its deadline, bounded reads, request bodies
//! through `redact::json`) with the cluster's bearer token and, over HTTPS,
//! the cluster's CA as its only root. What is Kubernetes' is here: where the
//! API and its credentials are found (`[runner.kubernetes]`, else the pod's
//! service account), the namespaced paths, and what a failed call met, in
//! the runner's words ([`ApiError`]).

use crate::config::{Config, ConfigError};
use crate::core::kube as k8s;
use crate::forge::Failure;
use crate::forge::http::{ForgeError, Http};
use anyhow::{Result, anyhow, bail};
use serde_json::Value;
use std::path::Path;
use std::time::Duration;

/// Where a pod's service account is mounted: its token, CA and namespace.
pub(super) const SA_DIR: &str = "/var/run/secrets/kubernetes.io/serviceaccount";

/// The API client: afk-http's, with the cluster's token and CA; the
/// namespace the runner's objects live in.
pub struct Api {
    http: Http,
    pub namespace: String,
}

/// A failed call: what it met, in afk-http's kinds (the forges' vocabulary:
/// callers match a kind, never a status), and one line saying why.
#[derive(Debug)]
pub struct ApiError {
    pub kind: Failure,
    pub message: String,
    /// the request may have taken effect: it was sent and no answer came
    /// (a dropped connection, a timeout) or the answer was a 5xx
    pub unknown: bool,
    /// what to do about it (`crate::hint`), apart from the message
    pub hint: Option<&'static str>,
}
impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}
impl std::error::Error for ApiError {}

impl ApiError {
    /// A failed call of afk-http's as the runner decides on it. The cluster's
    /// calls are tried once (no retries): a retryable failure is what its one
    /// try met, an answer's status or none, and it is no used-up call for the
    /// tick's `transient_retry` lessons.
    fn of(e: anyhow::Error) -> anyhow::Error {
        let Some(f) = e.downcast_ref::<ForgeError>() else {
            return e;
        };
        let kind = match f.kind {
            Failure::Exhausted(_) | Failure::RateLimited => {
                f.status.map_or(Failure::NoAnswer, Failure::answered)
            }
            k => k,
        };
        // a redirect: the address is wrong (afk follows none)
        let moved = f.status.is_some_and(|s| (300..400).contains(&s));
        anyhow!(ApiError {
            kind,
            message: f.to_string(),
            unknown: f.may_have_landed(),
            hint: moved.then_some("check runner.kubernetes.api_url"),
        })
    }
}

/// Whether a failed call may have landed (its outcome is unknown).
pub fn outcome_unknown(e: &anyhow::Error) -> bool {
    e.downcast_ref::<ApiError>().is_some_and(|a| a.unknown)
}

/// What a failed call met (a forge's kinds: the API has no rate limit
/// afk reads, so never [`Failure::RateLimited`]); None when `e` is no API
/// call's error.
pub fn kind_of(e: &anyhow::Error) -> Option<Failure> {
    e.downcast_ref::<ApiError>().map(|a| a.kind)
}

pub(super) fn cfg_err(msg: String) -> anyhow::Error {
    anyhow!(ConfigError(msg))
}

/// A TLS configuration whose only root is the cluster's CA.
pub(super) fn tls_with_ca(ca_file: &Path) -> Result<crate::client::Tls> {
    use crate::client::BadRoots;
    // a regular file, bounded (a bundle of roots is kilobytes)
    let pem = afk_host::private_files::read_operator_file(ca_file, 1 << 20).map_err(|e| {
        cfg_err(format!(
            "config: runner.kubernetes.ca_file: cannot read {}: {}",
            ca_file.display(),
            afk_host::os_words(&e)
        ))
    })?;
    crate::client::only_roots(&pem).map_err(|bad| match bad {
        BadRoots::NotPem(e) => cfg_err(format!(
            "config: runner.kubernetes.ca_file: {} is not a PEM certificate: {e}",
            ca_file.display()
        )),
        BadRoots::Refused(e) => cfg_err(format!(
            "config: runner.kubernetes.ca_file: {}: {e}",
            ca_file.display()
        )),
        BadRoots::Empty => cfg_err(format!(
            "config: runner.kubernetes.ca_file: {} holds no certificate",
            ca_file.display()
        )),
        BadRoots::Tls(e) => anyhow!("kubernetes: TLS: {e}"),
    })
}

/// The API's root: `api_url`, else the in-cluster service's address.
fn api_root(k: &crate::config::Kubernetes) -> Result<String> {
    if !k.api_url.is_empty() {
        return Ok(k.api_url.trim_end_matches('/').to_string());
    }
    match (
        std::env::var("KUBERNETES_SERVICE_HOST"),
        std::env::var("KUBERNETES_SERVICE_PORT"),
    ) {
        (Ok(h), Ok(p)) if !h.is_empty() => {
            let host = if h.contains(':') { format!("[{h}]") } else { h };
            Ok(format!("https://{host}:{p}"))
        }
        _ => bail!(crate::hint::hinted(
            cfg_err(
                "config: runner.kubernetes.api_url is empty and KUBERNETES_SERVICE_HOST is not set (not in a cluster)".into()
            ),
            "set runner.kubernetes.api_url"
        )),
    }
}

/// The bearer token: `token_file`, else the service account's.
fn token(k: &crate::config::Kubernetes) -> Result<crate::redact::Secret> {
    let sa = Path::new(SA_DIR);
    // a configured token file is a secret file like forge.token_file: one
    // that group or others may read is refused; the service account's
    // own mount is Kubernetes' (projected read-only, mode 0644 by default)
    let token = match &k.token_file {
        Some(f) => crate::config::read_secret_file(f, "runner.kubernetes.token_file")?,
        None => {
            let f = sa.join("token");
            afk_host::private_files::read_operator_file(&f, 64 << 10)
                .map(|b| String::from_utf8_lossy(&b).into_owned())
                .map_err(|e| {
                    cfg_err(format!(
                        "config: runner.kubernetes.token_file: cannot read {}: {}",
                        f.display(),
                        afk_host::os_words(&e)
                    ))
                })?
        }
    }
    .trim()
    .to_string();
    let token_file = k.token_file.clone().unwrap_or_else(|| sa.join("token"));
    // the service account's own token too: nothing afk writes carries it
    let token = crate::redact::Secret::new(token);
    if token.expose().is_empty() {
        bail!(cfg_err(format!(
            "config: runner.kubernetes.token_file: {} is empty",
            token_file.display()
        )));
    }
    Ok(token)
}

impl Api {
    /// From `[runner.kubernetes]`, else the in-cluster defaults.
    pub fn from_config(cfg: &Config) -> Result<Api> {
        let k = &cfg.runner.kubernetes;
        let base = api_root(k)?;
        if let Err(why) = k8s::api_url_allowed(&base) {
            bail!(cfg_err(format!("config: runner.kubernetes.api_url: {why}")));
        }
        let sa = Path::new(SA_DIR);
        let token = token(k)?;
        let namespace = if !k.namespace.is_empty() {
            k.namespace.clone()
        } else {
            std::fs::read_to_string(sa.join("namespace"))
                .map(|s| s.trim().to_string())
                .ok()
                .filter(|s| k8s::is_dns_label(s))
                .unwrap_or_else(|| "default".into())
        };
        let tls = match base.starts_with("https://") {
            true => Some(tls_with_ca(
                &k.ca_file.clone().unwrap_or_else(|| sa.join("ca.crt")),
            )?),
            false => None,
        };
        let mut http = Http::service(
            "kubernetes",
            &base,
            Some(token.expose()),
            "runner.kubernetes.token_file",
            cfg.forge_timeout(),
            0,
        );
        http.set_connection(Duration::from_secs(10), tls);
        http.set_url_key("runner.kubernetes.api_url");
        http.set_moved("a redirect, and afk follows none");
        Ok(Api { http, namespace })
    }

    /// One call whose answer is not read (a delete, a read that only has
    /// to succeed).
    pub fn call(&self, method: &str, path: &str, body: Option<&Value>) -> Result<()> {
        self.http.send(method, path, body).map_err(ApiError::of)?;
        Ok(())
    }

    /// One call, JSON in and out. A list is used whole or not at all: an
    /// item afk-http's bounded read skipped (over its cap) fails the call.
    pub fn json(&self, method: &str, path: &str, body: Option<&Value>) -> Result<Value> {
        let r = self.http.send(method, path, body).map_err(ApiError::of)?;
        if r.skipped > 0 {
            bail!(
                "kubernetes: {method} {}: {} over {} KiB in the answer; nothing of it was used",
                path.split('?').next().unwrap_or(path),
                crate::core::plural(r.skipped, "item", "items"),
                crate::forge::http::bounded::ITEM_CAP >> 10
            );
        }
        serde_json::from_str(&r.body).map_err(|_| anyhow!("kubernetes: {path}: not JSON"))
    }

    /// A GET whose answer is read as a stream (a pod log), at most `cap`
    /// bytes of it. Every status outside 2xx is an error: a 3xx too (afk
    /// follows no redirect, and a redirect's body is no answer).
    pub fn stream(&self, path: &str, cap: u64) -> Result<Box<dyn std::io::Read + Send>> {
        self.http.stream(path, cap).map_err(ApiError::of)
    }

    /// The path of a namespaced collection: `jobs` (batch/v1) or a core one.
    pub fn ns(&self, kind: &str) -> String {
        let group = if kind == "jobs" {
            "/apis/batch/v1"
        } else {
            "/api/v1"
        };
        format!("{group}/namespaces/{}/{kind}", self.namespace)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_api_failure_is_one_of_the_forges_kinds() {
        use super::{ApiError, Failure, kind_of, outcome_unknown};
        let failed = |kind, unknown| {
            anyhow::anyhow!(ApiError {
                kind,
                message: "m".into(),
                unknown,
                hint: None,
            })
            .context("creating the Job")
        };
        let cases = [
            (Failure::answered(401), Failure::Unauthorized, Some(401)),
            (Failure::answered(404), Failure::NotFound, Some(404)),
            (Failure::answered(409), Failure::Conflict, Some(409)),
            (Failure::answered(429), Failure::Other(429), Some(429)),
            (Failure::answered(302), Failure::Other(302), Some(302)),
            (Failure::NoAnswer, Failure::NoAnswer, None),
        ];
        for (met, kind, status) in cases {
            let e = failed(met, false);
            assert_eq!(kind_of(&e), Some(kind), "{kind:?}");
            assert_eq!(kind_of(&e).and_then(Failure::status), status, "{kind:?}");
            assert!(!outcome_unknown(&e));
        }
        assert!(outcome_unknown(&failed(Failure::NoAnswer, true)));
        assert_eq!(kind_of(&anyhow::anyhow!("no API call")), None);
    }

    /// afk-http's failures as the runner decides on them: a call tried once
    /// met an answer's status or none (never "used up"), and only a create
    /// that was sent and not answered, or answered 5xx, may have landed.
    #[test]
    fn an_afk_http_failure_becomes_the_runner_s_kind_and_whether_it_landed() {
        use super::{ApiError, Failure, ForgeError, kind_of, outcome_unknown};
        use crate::forge::LastTry;
        let of = |method: &str, status, kind| {
            ApiError::of(anyhow::Error::new(ForgeError {
                service: "kubernetes",
                method: method.into(),
                path: "/apis/batch/v1/namespaces/afk/jobs".into(),
                status,
                message: "m".into(),
                kind,
                retries: 0,
                reason: None,
            }))
        };
        // method, status, afk-http's kind → the runner's kind, landed
        let cases = [
            (
                "GET",
                Some(404),
                Failure::NotFound,
                Failure::NotFound,
                false,
            ),
            (
                "POST",
                Some(409),
                Failure::Conflict,
                Failure::Conflict,
                false,
            ),
            (
                "GET",
                Some(503),
                Failure::Exhausted(LastTry::Answered(503)),
                Failure::Other(503),
                false,
            ),
            (
                "POST",
                Some(503),
                Failure::Other(503),
                Failure::Other(503),
                true,
            ),
            ("POST", None, Failure::NoAnswer, Failure::NoAnswer, true),
            (
                "POST",
                None,
                Failure::Exhausted(LastTry::NoAnswer),
                Failure::NoAnswer,
                false,
            ),
            (
                "POST",
                None,
                Failure::Unreachable,
                Failure::Unreachable,
                false,
            ),
            (
                "POST",
                Some(429),
                Failure::Exhausted(LastTry::RateLimited),
                Failure::Other(429),
                false,
            ),
        ];
        for (method, status, met, kind, landed) in cases {
            let e = of(method, status, met);
            assert_eq!(kind_of(&e), Some(kind), "{method} {met:?}");
            assert_eq!(outcome_unknown(&e), landed, "{method} {met:?}");
            assert!(ForgeError::exhausted_of(&e).is_none(), "{method} {met:?}");
        }
    }

    #[test]
    fn the_ca_file_must_hold_a_certificate() {
        let dir = std::env::temp_dir().join(format!("afk-k8s-ca-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let missing = dir.join("none.crt");
        let e = super::tls_with_ca(&missing).unwrap_err().to_string();
        assert!(
            e.starts_with("config: runner.kubernetes.ca_file: cannot read"),
            "{e}"
        );
        let junk = dir.join("junk.crt");
        std::fs::write(&junk, "not a certificate\n").unwrap();
        let e = super::tls_with_ca(&junk).unwrap_err().to_string();
        assert!(e.contains("holds no certificate"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
