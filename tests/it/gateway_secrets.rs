//! What the model gateway sends upstream carries none of the secrets afk
//! hands the agent (docs/runners.md#the-model-gateway-runnermodel): a
//! `runner.secret_env` value the agent holds, and so may put in its
//! context, reaches the model as `[redacted]`. The keeper, not the tick,
//! sends the request, so it must know those values itself.

use crate::agent_box::{gateway_afk_to, gateway_key, run_log};
use crate::support::*;
use serde_json::json;
use std::io::{BufRead, BufReader, Read, Write};
use std::sync::{Arc, Mutex};

/// A model on loopback that keeps every request body it gets and answers
/// each with a usage; its URL and the bodies.
fn recording_model() -> (String, Arc<Mutex<Vec<String>>>) {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", l.local_addr().unwrap());
    let bodies = Arc::new(Mutex::new(vec![]));
    let kept = bodies.clone();
    std::thread::spawn(move || {
        for c in l.incoming().flatten() {
            let kept = kept.clone();
            std::thread::spawn(move || {
                let mut r = BufReader::new(c.try_clone().unwrap());
                let mut w = c;
                let mut len = 0usize;
                loop {
                    let mut h = String::new();
                    if r.read_line(&mut h).unwrap_or(0) == 0 {
                        return;
                    }
                    let h = h.trim_end();
                    if h.is_empty() {
                        break;
                    }
                    if let Some((k, v)) = h.split_once(':')
                        && k.eq_ignore_ascii_case("content-length")
                    {
                        len = v.trim().parse().unwrap_or(0);
                    }
                }
                let mut body = vec![0; len];
                r.read_exact(&mut body).unwrap();
                kept.lock()
                    .unwrap()
                    .push(String::from_utf8_lossy(&body).to_string());
                let answer = r#"{"id":"msg_1","type":"message","role":"assistant","model":"claude-gw-test","content":[{"type":"text","text":"ok"}],"stop_reason":"end_turn","usage":{"input_tokens":10,"output_tokens":1}}"#;
                let _ = write!(
                    w,
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{answer}",
                    answer.len()
                );
            });
        }
    });
    (url, bodies)
}

#[test]
fn a_secret_the_agent_was_handed_reaches_the_model_redacted() {
    let sb = Sandbox::start(json!({"repos": [repo("acme/api", json!([ready(1, "alice")]))]}));
    let key = gateway_key();
    let (url, bodies) = recording_model();
    let secret = format!("db-password-{}-7f3a91", std::process::id());
    // the agent holds the value (secret_env is handed to it) and asks the
    // model about it, as an agent echoing a command's output would
    let script = r#"curl -s -m 30 -o /dev/null -w '%{http_code}' -H 'content-type: application/json' -d "{\"model\":\"claude-gw-test\",\"max_tokens\":5,\"messages\":[{\"role\":\"user\",\"content\":\"the tests printed DB_PASSWORD=$AFK_TEST_DB_PASSWORD\"}]}" "$ANTHROPIC_BASE_URL/v1/messages" > code.txt
git add code.txt && git commit -qm asked"#;
    let mut afk = gateway_afk_to(&sb, &url, &key, script, "");
    let config = std::fs::read_to_string(&afk.config).unwrap().replace(
        "[runner.model]\n",
        "secret_env = [\"AFK_TEST_DB_PASSWORD\"]\n[runner.model]\n",
    );
    std::fs::write(&afk.config, config).unwrap();
    afk.env
        .push(("AFK_TEST_DB_PASSWORD".into(), secret.clone()));
    let (code, r, err) = afk.poll();
    assert_eq!(code, 0, "poll: {err} {r}");
    afk.wait_agent(1);
    let log = run_log(&afk, 1);
    let status =
        std::fs::read_to_string(afk.scratch.path("state/runs/1/work/code.txt")).unwrap_or_default();
    let bodies = bodies.lock().unwrap().clone();
    assert_eq!(status, "200", "{bodies:?} {log}");
    assert_eq!(bodies.len(), 1, "{bodies:?}");
    assert!(
        bodies[0].contains("DB_PASSWORD=[redacted]"),
        "the model got the value redacted: {bodies:?}"
    );
    assert!(!bodies[0].contains(&secret), "{bodies:?}");
}
