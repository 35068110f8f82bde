//! A Jira service account's OAuth 2.0 client credentials
//! (`auth = "client_credentials"`, docs/trackers.md): exchanged for an
//! access token at the token endpoint when the tick's first request to Jira
//! goes out, and once more if Jira refuses that token (401). The access
//! token lives in memory only, goes to the API's root alone as `Bearer`,
//! and is registered with the redacting sink as it arrives; the client
//! secret goes to the token endpoint alone.

use crate::http::{Http, Refresher};
use afk_host::redact::Secret;
use anyhow::{Result, anyhow};
use serde_json::{Value, json};

/// The exchange of one service account's client credentials.
pub struct ServiceAccount {
    /// a client of the token endpoint's origin (no credential of its own:
    /// the client id and secret go in the body)
    endpoint: Http,
    /// the token endpoint's path there (`/oauth/token`)
    path: String,
    client_id: Secret,
    client_secret: Secret,
    /// where the client id comes from (`client_id_env`), for the errors
    source: String,
    /// the tick's exchange failed, saying this: no other is tried this tick
    failed: std::sync::Mutex<Option<String>>,
}

impl ServiceAccount {
    pub fn new(
        endpoint: Http,
        path: &str,
        client_id: Secret,
        client_secret: Secret,
        source: &str,
    ) -> Self {
        ServiceAccount {
            endpoint,
            path: path.to_string(),
            client_id,
            client_secret,
            source: source.to_string(),
            failed: std::sync::Mutex::new(None),
        }
    }

    /// [`ServiceAccount::exchange`], unless one failed this tick: then its
    /// error again, with no request (each would be refused the same way).
    fn once(&self) -> Result<Secret> {
        let mut failed = self.failed.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(why) = failed.as_ref() {
            return Err(anyhow!("{why}"));
        }
        self.exchange()
            .inspect_err(|e| *failed = Some(format!("{e:#}")))
    }

    /// `grant_type=client_credentials` with the id and secret, as JSON (the
    /// body Atlassian's token endpoint takes: docs/fidelity/jira-cloud.md):
    /// the answer's bearer `access_token`. Sent again after a lost answer or
    /// a 5xx, as a read is: an exchange lands nothing but a token afk never
    /// saw, which expires by itself.
    fn exchange(&self) -> Result<Secret> {
        let body = json!({"grant_type": "client_credentials"});
        let credentials = [
            ("client_id", &self.client_id),
            ("client_secret", &self.client_secret),
        ];
        let path = self.path.as_str();
        let answer: Value = (self.endpoint.exchange_json(path, &body, &credentials)).map_err(|e| {
            anyhow!(
                "jira: the service account's client credentials were not exchanged for a token ({}): {e:#}",
                self.source
            )
        })?;
        access_token(&answer)
            .map_err(|why| anyhow!("jira: the token endpoint's answer {why} ({})", self.source))
    }
}

/// The bearer `access_token` of a token endpoint's answer, registered as a
/// secret; an answer without one, or of another `token_type`, is refused.
fn access_token(answer: &Value) -> Result<Secret, &'static str> {
    let token = answer["access_token"]
        .as_str()
        .filter(|t| !t.trim().is_empty() && !t.contains(char::is_whitespace))
        .ok_or("has no access_token")?;
    match answer["token_type"].as_str() {
        Some(kind) if kind.eq_ignore_ascii_case("bearer") => Ok(Secret::new(token)),
        _ => Err("names no token_type \"Bearer\""),
    }
}

impl Refresher for ServiceAccount {
    fn initial(&self) -> Result<Secret> {
        self.once()
    }

    fn refresh(&self) -> Result<Secret> {
        self.once()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The rule "only a bearer access token of the token endpoint's answer
    /// is taken".
    #[test]
    fn only_a_bearer_access_token_is_taken_from_the_token_endpoint() {
        let cases = [
            (
                json!({"access_token": "at-1", "token_type": "Bearer", "expires_in": 3600}),
                Ok("at-1"),
            ),
            (
                json!({"access_token": "at-1", "token_type": "bearer"}),
                Ok("at-1"),
            ),
            (
                json!({"access_token": "at-1", "token_type": "mac"}),
                Err("names no token_type \"Bearer\""),
            ),
            (
                json!({"access_token": "at-1"}),
                Err("names no token_type \"Bearer\""),
            ),
            (
                json!({"access_token": "", "token_type": "Bearer"}),
                Err("has no access_token"),
            ),
            (
                json!({"access_token": "a b", "token_type": "Bearer"}),
                Err("has no access_token"),
            ),
            (
                json!({"error": "access_denied"}),
                Err("has no access_token"),
            ),
        ];
        for (answer, want) in cases {
            let got = access_token(&answer).map(|s| s.expose().to_string());
            assert_eq!(got, want.map(str::to_string), "{answer}");
        }
    }
}
