//! The model gateway is closed by default (docs/runners.md#closed-by-default):
//! an attacker's agent in its box, a model upstream that answers and bills as
//! the vendors document. Every request is metered, whatever its shape or
//! however the turn ends; what afk does not understand never goes upstream.

use crate::agent_box::{gateway_afk_to, gateway_key, run_log};
use crate::support::*;
use serde_json::json;
use std::io::{BufRead, BufReader, Read, Write};
use std::sync::{Arc, Mutex};

/// One request as the model got it.
#[derive(Debug, Clone)]
struct Asked {
    path: String,
    headers: Vec<(String, String)>,
    body: String,
}

/// How the model answers: (status, content type, body parts, then hold the
/// connection open until the gateway closes it).
type Reply = (u16, &'static str, Vec<String>, bool);

/// A model on loopback: each request kept, answered by `reply`.
fn model(reply: fn(&Asked) -> Reply) -> (String, Arc<Mutex<Vec<Asked>>>) {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", l.local_addr().unwrap());
    let asked = Arc::new(Mutex::new(vec![]));
    let kept = asked.clone();
    std::thread::spawn(move || {
        for c in l.incoming().flatten() {
            let kept = kept.clone();
            std::thread::spawn(move || {
                let mut r = BufReader::new(c.try_clone().unwrap());
                let mut w = c;
                let mut first = String::new();
                if r.read_line(&mut first).unwrap_or(0) == 0 {
                    return;
                }
                let (mut len, mut headers) = (0usize, vec![]);
                loop {
                    let mut h = String::new();
                    if r.read_line(&mut h).unwrap_or(0) == 0 {
                        return;
                    }
                    let h = h.trim_end();
                    if h.is_empty() {
                        break;
                    }
                    if let Some((k, v)) = h.split_once(':') {
                        let (k, v) = (k.trim().to_ascii_lowercase(), v.trim().to_string());
                        if k == "content-length" {
                            len = v.parse().unwrap_or(0);
                        }
                        headers.push((k, v));
                    }
                }
                let mut body = vec![0; len];
                if r.read_exact(&mut body).is_err() {
                    return;
                }
                let a = Asked {
                    path: first.split_whitespace().nth(1).unwrap_or("").to_string(),
                    headers,
                    body: String::from_utf8_lossy(&body).to_string(),
                };
                kept.lock().unwrap().push(a.clone());
                let (status, kind, parts, hold) = reply(&a);
                if status == 0 {
                    // the request landed; its answer is lost (the connection
                    // closed unanswered): what the vendor may still bill
                    return;
                }
                let _ = write!(
                    w,
                    "HTTP/1.1 {status} X\r\ncontent-type: {kind}\r\nconnection: close\r\n\r\n"
                );
                for p in parts {
                    let _ = w.write_all(p.as_bytes());
                    let _ = w.flush();
                }
                if hold {
                    // until the gateway closes its side (its keeper exits)
                    let _ = r.read(&mut [0u8; 1]);
                }
            });
        }
    });
    (url, asked)
}

/// Anthropic's stream: `message_start` with 1,000,000 input tokens, then
/// nothing more until the connection ends.
fn started_then_held(_: &Asked) -> Reply {
    let start = r#"{"type":"message_start","message":{"id":"m","type":"message","role":"assistant","model":"claude-gw-test","content":[],"usage":{"input_tokens":1000000,"output_tokens":1}}}"#;
    (
        200,
        "text/event-stream",
        vec![format!("event: message_start\ndata: {start}\n\n")],
        true,
    )
}

/// A whole answer with no usage object (a shape afk does not read).
fn no_usage(_: &Asked) -> Reply {
    let body = format!(
        r#"{{"id":"m","type":"message","content":[{{"type":"text","text":"{}"}}]}}"#,
        "x".repeat(3000)
    );
    (200, "application/json", vec![body], false)
}

/// No answer at all: the connection closes once the request has landed.
fn unanswered(_: &Asked) -> Reply {
    (0, "", vec![], false)
}

/// A whole answer with a usage.
fn answered(_: &Asked) -> Reply {
    let body =
        r#"{"id":"m","type":"message","content":[],"usage":{"input_tokens":10,"output_tokens":1}}"#;
    (200, "application/json", vec![body.to_string()], false)
}

/// Shell text: one request to the gateway with `body` (and `-H` options in
/// `extra`), its status appended to `out` as `name=STATUS`.
fn ask(name: &str, body: &str, extra: &str) -> String {
    format!(
        "echo \"{name}=$(curl -s -m 30 -o /dev/null -w '%{{http_code}}' {extra} -H 'content-type: application/json' -d '{body}' \"$ANTHROPIC_BASE_URL/v1/messages\")\" >> asked.txt\n"
    )
}

fn one_ready() -> Sandbox {
    Sandbox::start(json!({"repos": [repo("acme/api", json!([ready(1, "alice")]))]}))
}

fn metered(afk: &Afk) -> Vec<serde_json::Value> {
    std::fs::read_to_string(afk.scratch.path("state/runs/1/metered.jsonl"))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn requests_in_flight_when_the_turn_ends_are_metered_by_what_arrived_before_its_exit_record() {
    let sb = one_ready();
    let (url, asked) = model(started_then_held);
    let key = gateway_key();
    // four streamed requests; once each answer has begun, the agent exits
    let body = r#"{"model":"claude-gw-test","max_tokens":10,"stream":true,"messages":[{"role":"user","content":"hi"}]}"#;
    let script = format!(
        "for i in 1 2 3 4; do curl -s -N -m 60 -H 'content-type: application/json' -d '{body}' \"$ANTHROPIC_BASE_URL/v1/messages\" > \"$HOME/out.$i\" & done\n\
         n=0; until [ -s \"$HOME/out.1\" ] && [ -s \"$HOME/out.2\" ] && [ -s \"$HOME/out.3\" ] && [ -s \"$HOME/out.4\" ]; do n=$((n+1)); [ $n -gt 600 ] && break; sleep 0.1; done\n\
         exit 0"
    );
    let afk = gateway_afk_to(&sb, &url, &key, &script, "");
    let (code, r, err) = afk.poll();
    assert_eq!(code, 0, "poll: {err} {r}");
    afk.wait_agent(1);
    let log = run_log(&afk, 1);
    assert_eq!(asked.lock().unwrap().len(), 4, "{log}");
    let lines = metered(&afk);
    assert_eq!(lines.len(), 4, "each request in flight is metered: {log}");
    for l in &lines {
        assert_eq!(l["input"], 1_000_000, "{l}");
        assert_eq!(l["complete"], false, "{l}");
        assert_eq!(l["micro_usd"], 3_000_000 + 15, "{l}");
    }
    assert!(
        log.contains("metered 4 requests still in flight"),
        "the run's log says so: {log}"
    );
    // what arrived was kept as it streamed, and each partial record went
    // once its request's line was in the record: nothing counts twice
    let aloft = afk.scratch.path("state/runs/1/metered-aloft");
    assert!(aloft.is_dir(), "the partial records' folder: {log}");
    assert_eq!(
        partial_records(&afk),
        Vec::<serde_json::Value>::new(),
        "{log}"
    );
}

/// The partial records the keeper left in run 1's folder
/// (`metered-aloft/`): what arrived of the requests in flight when it ended.
fn partial_records(afk: &Afk) -> Vec<serde_json::Value> {
    let Ok(dir) = std::fs::read_dir(afk.scratch.path("state/runs/1/metered-aloft")) else {
        return vec![];
    };
    let mut names: Vec<std::path::PathBuf> = dir
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    names.sort();
    names
        .iter()
        .map(|p| serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap())
        .collect()
}

/// How watch stops a turn (SIGTERM to the turn's process group, the keeper
/// in it; SIGKILL after the grace).
#[derive(Debug, Clone, Copy)]
enum Stop {
    /// `budget.run_time` passed, `pause_for = "0s"`: escalated.
    RunTime,
    /// `budget.run_time` passed, pausing on (the default): paused.
    RunTimePaused,
    /// A trusted `/afk stop` on the issue.
    Command,
}

/// A turn watch stops while its one request is in flight: the model has
/// sent `message_start` (1,000,000 input tokens, 1 output) and holds the
/// stream open; the stop ends the keeper before the request lands. What
/// arrived is the run's spend: $3.000015, not $0, whether the stop ends
/// the run or pauses it.
fn a_turn_stopped_with_a_request_in_flight(stop: Stop, (action, reason): (&str, &str)) {
    let sb = one_ready();
    let (url, asked) = model(started_then_held);
    let key = gateway_key();
    let body = r#"{"model":"claude-gw-test","max_tokens":10,"stream":true,"messages":[{"role":"user","content":"hi"}]}"#;
    let script = format!(
        "curl -s -N -m 600 -H 'content-type: application/json' -d '{body}' \"$ANTHROPIC_BASE_URL/v1/messages\" > \"$HOME/out\"\nexit 0"
    );
    let budget = match stop {
        Stop::RunTimePaused => "\n[budget]\nrun_time = \"1h\"\n",
        Stop::RunTime | Stop::Command => "\n[budget]\npause_for = \"0s\"\nrun_time = \"1h\"\n",
    };
    let afk = gateway_afk_to(&sb, &url, &key, &script, budget);
    let (code, r, err) = afk.poll();
    assert_eq!(code, 0, "{stop:?}: poll: {err} {r}");
    // the answer has begun reaching the agent: the gateway passes a chunk on
    // only after it has read (and kept) the usage in it
    let out = afk.scratch.path("state/runs/1/home/out");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !std::fs::metadata(&out).is_ok_and(|m| m.len() > 0) {
        assert!(
            std::time::Instant::now() < deadline,
            "{stop:?}: the answer never began: {}",
            run_log(&afk, 1)
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert_eq!(asked.lock().unwrap().len(), 1);
    match stop {
        Stop::RunTime | Stop::RunTimePaused => afk.later(2),
        Stop::Command => {
            sb.comment_on("acme/api", On::Issue(1), "alice", "/afk stop");
        }
    }
    let (code, r, err) = afk.watch();
    assert_eq!(code, 0, "{stop:?}: {err} {r}");
    assert_eq!(
        action_of(&r, 1),
        (action.into(), Some(reason.into())),
        "{stop:?}: {r} {err}"
    );
    let log = run_log(&afk, 1);
    // no line landed in the record: the keeper was ended first
    assert_eq!(metered(&afk).len(), 0, "{stop:?}: {log}");
    let left = partial_records(&afk);
    assert_eq!(left.len(), 1, "{stop:?}: what arrived was kept: {log}");
    assert_eq!(left[0]["input"], 1_000_000, "{stop:?}: {}", left[0]);
    assert_eq!(left[0]["complete"], false, "{stop:?}: {}", left[0]);
    // the run's spend: 1,000,000 input tokens at $3 a million, 1 output at $15
    let (_, shown, _) = afk.json(&["runs", "show", "1"]);
    assert_eq!(
        shown["run"]["spend_usd"], 3.000015,
        "{stop:?}: {shown}\n{log}"
    );
    assert_eq!(shown["metered"]["requests"], 1, "{stop:?}: {shown}");
    assert_eq!(
        shown["metered"]["tokens"]["input"], 1_000_000,
        "{stop:?}: {shown}"
    );
}

#[test]
fn a_turn_stopped_at_run_time_is_metered_by_what_arrived_of_its_request_in_flight() {
    a_turn_stopped_with_a_request_in_flight(Stop::RunTime, ("escalate", "timeout"));
}

/// Issue #85 item 3: every request is metered whatever ends its turn, a
/// pause at `run_time` too.
#[test]
fn a_turn_paused_at_run_time_is_metered_by_what_arrived_of_its_request_in_flight() {
    a_turn_stopped_with_a_request_in_flight(Stop::RunTimePaused, ("pause", "run_time"));
}

#[test]
fn a_turn_stopped_by_afk_stop_is_metered_by_what_arrived_of_its_request_in_flight() {
    a_turn_stopped_with_a_request_in_flight(Stop::Command, ("escalate", "stopped"));
}

#[test]
fn the_budget_counts_what_requests_in_flight_may_still_spend() {
    let sb = one_ready();
    let (url, asked) = model(started_then_held);
    let key = gateway_key();
    // each may answer 100,000 output tokens at $15 a million: $1.50; the
    // run may spend $1: beside the first in flight, no other passes
    let body = r#"{"model":"claude-gw-test","max_tokens":100000,"stream":true,"messages":[{"role":"user","content":"hi"}]}"#;
    let script = format!(
        "for i in 1 2 3 4 5; do curl -s -N -m 5 -o /dev/null -w '%{{http_code}}\\n' -H 'content-type: application/json' -d '{body}' \"$ANTHROPIC_BASE_URL/v1/messages\" >> \"$HOME/codes\" & done\nwait\nexit 0"
    );
    let afk = gateway_afk_to(
        &sb,
        &url,
        &key,
        &script,
        "\n[budget]\npause_for = \"0s\"\nrun_usd = 1.0\n",
    );
    let (code, r, err) = afk.poll();
    assert_eq!(code, 0, "poll: {err} {r}");
    afk.wait_agent(1);
    let log = run_log(&afk, 1);
    assert_eq!(
        asked.lock().unwrap().len(),
        1,
        "what the first may still spend reaches the budget: nothing more passes beside it: {log}"
    );
    assert!(log.contains("held a request back"), "{log}");
    let codes =
        std::fs::read_to_string(afk.scratch.path("state/runs/1/home/codes")).unwrap_or_default();
    assert_eq!(codes.lines().filter(|c| *c == "429").count(), 4, "{codes}");
}

#[test]
fn a_body_afk_cannot_read_unambiguously_or_a_feature_beyond_the_box_never_goes_upstream() {
    let sb = one_ready();
    let (url, asked) = model(answered);
    let key = gateway_key();
    let script = [
        ask("twice", r#"{"model":"claude-haiku-4-5","model":"claude-gw-test","max_tokens":5,"messages":[]}"#, ""),
        ask("nomodel", r#"{"max_tokens":5,"messages":[]}"#, ""),
        ask("fetch", r#"{"model":"claude-gw-test","max_tokens":5,"messages":[],"tools":[{"type":"web_fetch_20250910","name":"web_fetch"}]}"#, ""),
        ask("mcp", r#"{"model":"claude-gw-test","max_tokens":5,"messages":[],"mcp_servers":[{"type":"url","url":"https://attacker.example/mcp","name":"x"}]}"#, ""),
        ask("beta", r#"{"model":"claude-gw-test","max_tokens":5,"messages":[]}"#, "-H 'anthropic-beta: mcp-client-2025-04-04'"),
        ask("search", r#"{"model":"claude-gw-test","max_tokens":5,"messages":[],"tools":[{"type":"web_search_20250305","name":"web_search"}]}"#, ""),
        ask("plain", r#"{"model":"claude-gw-test","max_tokens":5,"messages":[]}"#, "-H 'anthropic-beta: claude-code-20250219'"),
        "git add asked.txt && git commit -qm asked\n".to_string(),
    ]
    .concat();
    let afk = gateway_afk_to(&sb, &url, &key, &script, "");
    let config = afk.scratch.path("afk.toml");
    let text = std::fs::read_to_string(&config).unwrap().replace(
        "[runner.model]\n",
        "[runner.model]\nallow_features = [\"web_search\"]\n",
    );
    std::fs::write(&config, text).unwrap();
    let (code, r, err) = afk.poll();
    assert_eq!(code, 0, "poll: {err} {r}");
    assert_eq!(afk.wait_agent(1), 0, "{}", run_log(&afk, 1));
    let got = std::fs::read_to_string(afk.scratch.path("state/runs/1/work/asked.txt")).unwrap();
    let log = run_log(&afk, 1);
    for want in [
        "twice=400",
        "nomodel=400",
        "fetch=403",
        "mcp=403",
        "beta=403",
        "search=200",
        "plain=200",
    ] {
        assert!(got.contains(want), "{want}: {got}\n{log}");
    }
    let passed = asked.lock().unwrap().clone();
    assert_eq!(passed.len(), 2, "{passed:?}");
    assert!(
        passed
            .iter()
            .all(|a| a.path == "/v1/messages" && !a.body.contains("attacker"))
    );
    let betas: Vec<&str> = passed
        .iter()
        .flat_map(|a| a.headers.iter())
        .filter(|(k, _)| k == "anthropic-beta")
        .map(|(_, v)| v.as_str())
        .collect();
    assert_eq!(betas, ["claude-code-20250219"]);
    assert!(log.contains("written twice"), "{log}");
    assert!(log.contains("allow_features"), "{log}");
}

#[test]
fn an_answer_whose_usage_never_arrives_is_priced_from_its_bytes_never_zero() {
    let sb = one_ready();
    let (url, _) = model(no_usage);
    let key = gateway_key();
    let script = ask(
        "bare",
        r#"{"model":"claude-gw-test","max_tokens":5,"messages":[]}"#,
        "",
    ) + "git add asked.txt && git commit -qm asked\n";
    let afk = gateway_afk_to(&sb, &url, &key, &script, "");
    let (code, r, err) = afk.poll();
    assert_eq!(code, 0, "poll: {err} {r}");
    assert_eq!(afk.wait_agent(1), 0, "{}", run_log(&afk, 1));
    let lines = metered(&afk);
    assert_eq!(lines.len(), 1, "{lines:?}");
    let l = &lines[0];
    assert_eq!(l["estimated"], true, "{l}");
    // about 3,000 bytes answered: 1,000 output tokens at $15 a million at least
    assert!(l["output"].as_u64().unwrap() >= 1000, "{l}");
    assert!(l["micro_usd"].as_u64().unwrap() >= 15_000, "{l}");
    assert!(run_log(&afk, 1).contains("read no usage"));
}

#[test]
fn a_request_whose_answer_never_came_is_priced_from_what_it_sent_never_zero() {
    let sb = one_ready();
    let (url, asked) = model(unanswered);
    let key = gateway_key();
    // 40,000 bytes sent: the vendor has them and may bill them
    let body = format!(
        r#"{{"model":"claude-gw-test","max_tokens":5,"messages":[{{"role":"user","content":"{}"}}]}}"#,
        "y".repeat(40_000)
    );
    let script = ask("lost", &body, "") + "git add asked.txt && git commit -qm asked\n";
    let afk = gateway_afk_to(&sb, &url, &key, &script, "");
    let (code, r, err) = afk.poll();
    assert_eq!(code, 0, "poll: {err} {r}");
    assert_eq!(afk.wait_agent(1), 0, "{}", run_log(&afk, 1));
    assert_eq!(asked.lock().unwrap().len(), 1, "it went upstream once");
    let lines = metered(&afk);
    assert_eq!(lines.len(), 1, "{lines:?}");
    let l = &lines[0];
    assert_eq!(l["estimated"], true, "{l}");
    assert!(l["input"].as_u64().unwrap() >= 10_000, "{l}");
    assert!(l["micro_usd"].as_u64().unwrap() > 0, "{l}");
    assert!(
        run_log(&afk, 1).contains("no answer"),
        "{}",
        run_log(&afk, 1)
    );
}

#[test]
fn a_copy_of_the_forge_token_reaches_neither_the_box_nor_the_model() {
    let sb = one_ready();
    let (url, asked) = model(answered);
    let key = gateway_key();
    // the agent found the token somewhere (a log, a file): it asks the model
    // with it; and it lists its environment
    // and the hook's secret and a notifier's URL, one percent-encoded
    let (hook, notify) = (
        "hook-secret-0123456789abcdef",
        "https://hooks.example/T000/B000/xyzzy-notify",
    );
    let body = format!(
        r#"{{"model":"claude-gw-test","max_tokens":5,"messages":[{{"role":"user","content":"token {TOKEN} in base64 {} hook {hook} notify {}"}}]}}"#,
        b64(TOKEN),
        notify.replace(':', "%3A").replace('/', "%2F")
    );
    let script = format!(
        "env > \"$HOME/env.txt\"\n{}git add asked.txt && git commit -qm asked\n",
        ask("leak", &body, "")
    );
    let mut afk = gateway_afk_to(
        &sb,
        &url,
        &key,
        &script,
        "[hook]\nsecret_env = \"HOOK_SECRET\"\n[notify]\nwebhook_env = \"NOTIFY_URL\"\n",
    );
    afk.env.push(("HOOK_SECRET".into(), hook.into()));
    afk.env.push(("NOTIFY_URL".into(), notify.into()));
    // the operator's env file holds the token twice
    afk.env.push(("MY_COPY".into(), TOKEN.into()));
    afk.env.push(("AFK_SANDBOX_TOKEN".into(), TOKEN.into()));
    // and under a name the agent's program reads (Claude Code's prefix)
    afk.env
        .push(("ANTHROPIC_MY_COPY".into(), format!("x{TOKEN}x")));
    let (code, r, err) = afk.poll();
    assert_eq!(code, 0, "poll: {err} {r}");
    assert_eq!(afk.wait_agent(1), 0, "{}", run_log(&afk, 1));
    let env = std::fs::read_to_string(afk.scratch.path("state/runs/1/home/env.txt")).unwrap();
    assert!(!env.contains(TOKEN), "the box's env holds the token: {env}");
    assert!(env.contains("AFK_RUN_DIR="), "{env}");
    assert!(!env.contains("MY_COPY"), "{env}");
    assert!(
        env.contains("ANTHROPIC_BASE_URL="),
        "its program's own still pass: {env}"
    );
    let passed = asked.lock().unwrap().clone();
    assert_eq!(passed.len(), 1, "{passed:?}");
    assert!(!passed[0].body.contains(TOKEN), "{}", passed[0].body);
    assert!(!passed[0].body.contains(&b64(TOKEN)), "{}", passed[0].body);
    assert!(passed[0].body.contains("[redacted]"), "{}", passed[0].body);
    for held in [hook, "xyzzy-notify", "hooks.example%2FT000"] {
        assert!(!passed[0].body.contains(held), "{held}: {}", passed[0].body);
    }
}

fn b64(s: &str) -> String {
    let out = std::process::Command::new("sh")
        .args(["-c", "printf %s \"$1\" | base64 -w0", "sh", s])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).to_string()
}

#[test]
fn doctor_says_the_gateway_meters_the_budget_and_what_the_vendor_may_do() {
    let sb = one_ready();
    let (url, _) = model(answered);
    let afk = gateway_afk_to(
        &sb,
        &url,
        &gateway_key(),
        "true",
        "\n[budget]\npause_for = \"0s\"\nrun_usd = 1.0\n",
    );
    let out = afk.cmd().args(["--json", "doctor"]).output().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let lines = |check: &str| -> Vec<String> {
        v["checks"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["check"] == check)
            .map(|c| c["detail"].as_str().unwrap_or("").to_string())
            .collect()
    };
    let budget = lines("budget").join("\n");
    assert!(
        budget.contains("metered by afk's model gateway"),
        "{budget}"
    );
    assert!(!budget.contains("what agents report"), "{budget}");
    let gateway = lines("gateway").join("\n");
    assert!(gateway.contains("closed by default"), "{gateway}");
}
