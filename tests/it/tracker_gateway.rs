//! The tracker's credential and the model gateway (docs/trackers.md, "The
//! tracker's credential"): a boxed agent working a Jira or a Linear issue
//! sends the model its whole prompt and its whole environment through
//! afk's model gateway, and not one byte the gateway sent on to the model
//! holds the tracker's token (nor, for Jira, the Basic credential built
//! from it, or a service account's client secret and the access token
//! exchanged for it), nor the forge's.

use crate::agent_box::{Upstream, gateway_afk, gateway_key, run_log};
use crate::support::*;
use serde_json::json;

/// The agent: its prompt (stdin) and its environment, sent to the model
/// through the gateway as one message; the status written to the checkout.
const SEND_ALL: &str = r#"o=gw-probe.txt; : > $o
body=$( { cat; env; } | perl -MJSON::PP -0777 -ne 'print encode_json({model => "claude-gw-test", max_tokens => 5, messages => [{role => "user", content => $_}]})')
echo "messages=$(curl -s -m 30 -o /dev/null -w '%{http_code}' -H "x-api-key: $ANTHROPIC_API_KEY" -H 'content-type: application/json' --data-binary "$body" "$ANTHROPIC_BASE_URL/v1/messages")" >> $o
git add $o && git commit -qm "gateway probe""#;

/// Which tracker the issue is on.
#[derive(Clone, Copy, Debug)]
enum On {
    Jira,
    /// Jira through a service account (`auth = "client_credentials"`)
    JiraService,
    Linear,
}

/// A boxed agent behind the gateway, working an issue on `on` armed by a
/// trusted person: what the model's side received, the secrets that must
/// not be in it, and the run's log.
fn sent_to_the_model(on: On) -> (String, Vec<String>, String) {
    let sb = Sandbox::start(json!({"repos": [repo("acme/api", json!([]))]}));
    let key = gateway_key();
    let up = Upstream::start(key.clone());
    let mut afk = gateway_afk(&sb, &up, &key, SEND_ALL, "");
    let (block, secrets) = match on {
        On::Jira => {
            let (block, token) = crate::tracker_jira::jira_people_and_block(&sb);
            let email = sb.admin("GET", "/jira/credentials", None)["email"]
                .as_str()
                .unwrap()
                .to_string();
            let basic = crate::secret_push::base64(&format!("{email}:{token}"));
            let id = crate::tracker_jira::issue(&sb, "alice-1", &[]);
            crate::tracker_jira::arm(&sb, &id, "alice-1", serde_json::Value::Null);
            (block, vec![token, basic])
        }
        On::JiraService => {
            let (block, _) = crate::tracker_jira::jira_people_and_block(&sb);
            let creds = sb.admin("GET", "/jira/credentials", None);
            let email = creds["email"].as_str().unwrap();
            let block = block.replace(&format!("email = \"{email}\"\n"), "").replace(
                "kind = \"jira\"\n",
                &format!(
                    "kind = \"jira\"\nauth = \"client_credentials\"\napi_url = \"{0}\"\n\
                     token_url = \"{0}/atlassian/oauth/token\"\n\
                     client_id_env = \"AFK_JIRA_CLIENT_ID\"\nclient_secret_env = \"AFK_JIRA_CLIENT_SECRET\"\n",
                    sb.url
                ),
            );
            let secret = creds["client_secret"].as_str().unwrap().to_string();
            afk.env.push((
                "AFK_JIRA_CLIENT_ID".into(),
                creds["client_id"].as_str().unwrap().into(),
            ));
            afk.env
                .push(("AFK_JIRA_CLIENT_SECRET".into(), secret.clone()));
            let id = crate::tracker_jira::issue(&sb, "alice-1", &[]);
            crate::tracker_jira::arm(&sb, &id, "alice-1", serde_json::Value::Null);
            (block, vec![secret])
        }
        On::Linear => {
            let p = crate::tracker_linear::people(&sb);
            let secret = sb.admin("GET", "/linear/credentials", None)["key"]
                .as_str()
                .unwrap()
                .to_string();
            let k = crate::tracker_linear::issue(&sb, Some(&p.alice), &[]);
            crate::tracker_linear::arm(&sb, &k, Some(&p.alice));
            (crate::tracker_linear::tracker_block(&sb), vec![secret])
        }
    };
    let cfg = afk.scratch.path("afk.toml");
    let text = std::fs::read_to_string(&cfg).unwrap();
    std::fs::write(&cfg, text + &block).unwrap();
    if !matches!(on, On::JiraService) {
        afk.env
            .push(("AFK_TRACKER_TOKEN".into(), secrets[0].clone()));
    }
    let (code, r, err) = afk.poll();
    assert_eq!(code, 0, "{on:?}: {err} {r}");
    assert_eq!(
        r["dispatched"].as_array().map(Vec::len),
        Some(1),
        "{on:?}: {r}"
    );
    assert_eq!(afk.wait_agent(1), 0, "{on:?}: {}", run_log(&afk, 1));
    let found = std::fs::read_to_string(afk.scratch.path("state/runs/1/work/gw-probe.txt"))
        .unwrap_or_default();
    assert_eq!(found, "messages=200\n", "{on:?}: {}", run_log(&afk, 1));
    let raw = String::from_utf8_lossy(&up.raw.lock().unwrap()).into_owned();
    let mut secrets = secrets;
    // the access tokens the service account was given, every one
    if matches!(on, On::JiraService) {
        let access = sb.admin("GET", "/jira/access_tokens", None);
        let access: Vec<String> = (access.as_array().unwrap().iter())
            .map(|t| t.as_str().unwrap().to_string())
            .collect();
        assert!(!access.is_empty(), "an access token was exchanged");
        secrets.extend(access);
    }
    secrets.push(TOKEN.to_string());
    (raw, secrets, run_log(&afk, 1))
}

#[test]
fn the_model_gateway_sends_the_model_nothing_of_the_trackers_token_on_either_tracker() {
    for on in [On::Jira, On::JiraService, On::Linear] {
        let (raw, secrets, log) = sent_to_the_model(on);
        // what was sent is the agent's: the issue's words (fenced in the
        // prompt) and the agent's environment, the gateway's key on it
        assert!(
            raw.contains("Fix the parser"),
            "{on:?}: the prompt was sent: {raw}\n{log}"
        );
        assert!(
            raw.contains("ANTHROPIC_BASE_URL="),
            "{on:?}: the environment was sent: {raw}"
        );
        assert!(
            raw.contains(&gateway_key()),
            "{on:?}: the gateway put its key on"
        );
        for s in &secrets {
            assert!(
                !raw.contains(s.as_str()),
                "{on:?}: a request the gateway sent on holds a secret ({} bytes)",
                s.len()
            );
        }
    }
}
