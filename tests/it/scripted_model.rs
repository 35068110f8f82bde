//! The sandbox's scripted model as the model gateway's tests need it
//! (docs/sandbox.md#the-scripted-model): with a seeded
//! `model_key` it refuses a request without the key (401, in its API's
//! words), and its request log shows each request, the key's verdict and
//! the usage it answered.

use crate::support::*;
use serde_json::{Value, json};

const KEY: &str = "sk-sandbox-test-3f9a1c";

/// POST `body` to the model's `path` with `headers`: (status, JSON answer or
/// the raw text).
fn ask(sb: &Sandbox, path: &str, headers: &[(&str, &str)], body: Value) -> (u16, String) {
    let mut req = ureq::post(&format!("{}/model{path}", sb.model_url));
    for (k, v) in headers {
        req = req.set(k, v);
    }
    match req.send_json(body) {
        Ok(r) => (r.status(), r.into_string().unwrap()),
        Err(ureq::Error::Status(s, r)) => (s, r.into_string().unwrap()),
        Err(e) => panic!("{path}: {e}"),
    }
}

#[test]
fn a_request_without_the_model_key_gets_401_and_the_log_shows_it() {
    let script = json!([{"text": "Done.",
        "usage": {"input": 1200, "output": 340, "cached": 5000, "cache_write": 700, "reasoning": 90}}]);
    let sb = Sandbox::start(json!({"model_key": KEY,
        "repos": [{"name": "acme/api", "issues": [{"number": 1, "title": "t", "script": script}]}]}));
    let prompt = "- Repository: acme/api\n- Issue: #1\n";
    let claude = json!({"model": "claude-sonnet-4-5", "stream": true, "tools": [{"name": "Bash"}],
        "messages": [{"role": "user", "content": prompt}]});
    let codex = json!({"model": "gpt-5.5", "stream": true,
        "input": [{"role": "user", "content": [{"type": "input_text", "text": prompt}]}]});

    let (status, text) = ask(&sb, "/anthropic/v1/messages", &[], claude.clone());
    assert_eq!(status, 401, "{text}");
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["type"], "error");
    assert_eq!(v["error"]["type"], "authentication_error");
    let (status, text) = ask(&sb, "/anthropic/v1/messages", &[("x-api-key", KEY)], claude);
    assert_eq!(status, 200, "{text}");
    assert!(
        text.contains("\"cache_creation_input_tokens\":700"),
        "{text}"
    );

    let (status, text) = ask(
        &sb,
        "/openai/v1/responses",
        &[("Authorization", "Bearer not-the-key")],
        codex.clone(),
    );
    assert_eq!(status, 401, "{text}");
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["error"]["code"], "invalid_api_key");
    let auth = format!("Bearer {KEY}");
    let (status, text) = ask(
        &sb,
        "/openai/v1/responses",
        &[("Authorization", auth.as_str())],
        codex,
    );
    assert_eq!(status, 200, "{text}");
    assert!(text.contains("\"reasoning_tokens\":90"), "{text}");

    let log = sb.admin("GET", "/model/requests", None);
    let seen: Vec<(&str, &str, u64)> = log
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["api"].as_str().unwrap(),
                e["key"].as_str().unwrap(),
                e["status"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("anthropic", "missing", 401),
            ("anthropic", "matched", 200),
            ("openai", "wrong", 401),
            ("openai", "matched", 200),
        ]
    );
    let log = log.as_array().unwrap();
    assert_eq!(log[0]["usage"], Value::Null, "a refusal answers no usage");
    assert_eq!(log[0]["model"], "claude-sonnet-4-5");
    assert_eq!(
        log[3]["usage"],
        json!({"input": 1200, "output": 340, "cached": 5000, "cache_write": 700, "reasoning": 90})
    );
    assert_eq!(
        (log[3]["repo"].clone(), log[3]["issue"].clone()),
        (json!("acme/api"), json!(1))
    );
    // the model's requests are not the forge's
    assert!(
        sb.requests()
            .iter()
            .all(|r| !r["path"].as_str().unwrap_or("").contains("model"))
    );
}
