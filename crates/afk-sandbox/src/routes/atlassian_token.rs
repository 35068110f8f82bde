//! Atlassian's token endpoint beside the sandbox's Jira site
//! (`/atlassian/oauth/token`, docs/sandbox.md): a Jira service account's
//! client credentials exchanged for an access token the site then takes.

use crate::http::{Reply, Request};
use crate::model::jira::Jira;
use serde_json::{Value, json};

/// Atlassian's token endpoint (`https://auth.atlassian.com/oauth/token`),
/// at `/atlassian/oauth/token`: a service account's client credentials, as
/// JSON or as a form, exchanged for an access token valid 60 minutes
/// (docs/fidelity/jira-cloud.md). A wrong id or secret is `401
/// access_denied`; another grant `400 unsupported_grant_type`.
pub fn token(j: &mut Jira, req: &Request) -> Reply {
    if req.method != "POST" {
        return Reply::json(405, &json!({"error": "method_not_allowed"}));
    }
    let text = String::from_utf8_lossy(&req.body).to_string();
    let form = req
        .header("content-type")
        .is_some_and(|c| c.starts_with("application/x-www-form-urlencoded"));
    let field = |name: &str| -> Option<String> {
        match form {
            true => text.split('&').find_map(|pair| {
                let (k, v) = pair.split_once('=')?;
                (crate::http::decode(&k.replace('+', " ")) == name)
                    .then(|| crate::http::decode(&v.replace('+', " ")))
            }),
            false => serde_json::from_str::<Value>(&text).ok()?[name]
                .as_str()
                .map(str::to_string),
        }
    };
    let denied = || {
        Reply::json(
            401,
            &json!({"error": "access_denied", "error_description": "Unauthorized"}),
        )
    };
    match field("grant_type").as_deref() {
        Some("client_credentials") => {}
        Some(_) => {
            return Reply::json(
                400,
                &json!({"error": "unsupported_grant_type", "error_description": "Unsupported grant type"}),
            );
        }
        None => {
            return Reply::json(
                400,
                &json!({"error": "invalid_request", "error_description": "Missing required parameter: grant_type"}),
            );
        }
    }
    if field("client_id").as_deref() != Some(j.client_id.as_str())
        || field("client_secret").as_deref() != Some(j.client_secret.as_str())
    {
        return denied();
    }
    let token = crate::draw_token("jira-access");
    j.access_tokens.push(token.clone());
    Reply::json(
        200,
        &json!({"access_token": token, "expires_in": 3600, "token_type": "Bearer",
                "scope": "read:jira-work write:jira-work read:jira-user"}),
    )
}
