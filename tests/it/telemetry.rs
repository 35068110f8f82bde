//! OpenTelemetry through the binary (docs/telemetry.md), against the
//! sandbox's OTLP receiver, which decodes with the official
//! `opentelemetry-proto` definitions: one trace per run across the
//! processes that touch it (poll, watch, the turn's end), the run span
//! through the outbox, a dead, refusing or hanging collector that changes
//! no exit code or report, and off by default: no `OTEL_*` read, no
//! connection made.

use crate::support::*;
use serde_json::{Value, json};

/// `[telemetry]` exporting to the sandbox's receiver (`extra` more keys).
fn telemetry(sb: &Sandbox, extra: &str) -> String {
    format!(
        "[telemetry]\nenabled = true\nendpoint = \"{}\"\n{extra}\n",
        sb.url
    )
}

/// A string attribute as the receiver shows it.
fn text(s: &str) -> Value {
    json!({"string": s})
}

/// Every request the receiver took (`GET /_admin/otlp`).
fn received(sb: &Sandbox) -> Vec<Value> {
    sb.admin("GET", "/otlp", None)["requests"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// Every span the receiver decoded, in the order they came.
fn spans(sb: &Sandbox) -> Vec<Value> {
    received(sb)
        .iter()
        .filter(|r| r["status"] == 200)
        .flat_map(|r| r["spans"].as_array().cloned().unwrap_or_default())
        .collect()
}

fn named<'s>(spans: &'s [Value], prefix: &str) -> Vec<&'s Value> {
    spans
        .iter()
        .filter(|s| s["name"].as_str().unwrap_or("").starts_with(prefix))
        .collect()
}

/// The state file's instance id (`meta.instance`).
fn instance(afk: &Afk) -> String {
    afk.sql_rows("SELECT value FROM meta WHERE key = 'instance'")[0][0].clone()
}

/// The first bytes of `sha256(text)`, in hex.
fn derived(text: &str, bytes: usize) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(text.as_bytes())[..bytes]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A run from dispatch to merge with the scripted agent: poll, the turn,
/// watch waiting on CI, CI green, a person's merge, watch's succeed.
fn merged_run(sb: &Sandbox, afk: &Afk) -> u64 {
    let (code, r, err) = afk.poll();
    assert_eq!(code, 0, "{err} {r}");
    assert_eq!(r["dispatched"][0]["run_id"], 1, "{r}");
    afk.wait_agent(1);
    let (code, _, err) = afk.watch();
    assert_eq!(code, 0, "{err}");
    sb.status("acme/api", "afk/issue-1", "ci/build", "success");
    let (code, _, err) = afk.watch();
    assert_eq!(code, 0, "{err}");
    let pr = sb.open_prs("acme/api")[0].number;
    sb.merge("acme/api", pr);
    let (code, r, err) = afk.watch();
    assert_eq!(code, 0, "{err}");
    assert_eq!(action_of(&r, 1).0, "succeed", "{r}");
    pr
}

#[test]
fn a_runs_poll_watch_and_turn_spans_share_one_trace_under_its_run_span() {
    let sb = Sandbox::start(json!({"repos": [repo("acme/api", json!([ready(1, "alice")]))]}));
    let afk = Afk::agent(&sb, "pr", "", &telemetry(&sb, ""));
    let pr = merged_run(&sb, &afk);
    let got = spans(&sb);
    let id = instance(&afk);
    let trace = derived(&format!("afk-trace:{id}:1"), 16);
    let run_span = derived(&format!("afk-run:{id}:1"), 8);
    assert!(!got.is_empty(), "nothing received: {:?}", received(&sb));
    for s in &got {
        assert_eq!(s["trace_id"], trace, "every span in the run's trace: {s}");
        assert_eq!(s["attributes"]["afk.run.id"], json!({"int": 1}), "{s}");
        assert_eq!(s["attributes"]["afk.repo"], text("acme/api"), "{s}");
    }
    // poll's dispatch
    let poll = named(&got, "afk.poll");
    assert_eq!(poll.len(), 1, "{got:?}");
    assert_eq!(poll[0]["parent_span_id"], run_span);
    assert_eq!(poll[0]["attributes"]["afk.action"], text("dispatch"));
    assert_eq!(poll[0]["attributes"]["afk.tick.trigger"], text("cron"));
    // the turn, once, with its derived id, however many ticks saw it end
    let turns = named(&got, "invoke_agent");
    assert_eq!(turns.len(), 1, "{turns:?}");
    assert_eq!(
        turns[0]["span_id"],
        derived(&format!("afk-turn:{id}:1:1"), 8)
    );
    assert_eq!(turns[0]["attributes"]["afk.turn.reason"], text("first"));
    assert_eq!(
        turns[0]["attributes"]["afk.turn.exit_code"],
        json!({"int": 0})
    );
    // watch's ticks that touched the run: not the ones that only waited
    let watches = named(&got, "afk.watch");
    assert!(
        watches
            .iter()
            .any(|s| s["attributes"]["afk.action"] == text("succeed")),
        "{watches:?}"
    );
    // the run span: the root, made once at the end
    let runs = named(&got, "afk.run");
    let root: Vec<&&Value> = runs.iter().filter(|s| s["name"] == "afk.run").collect();
    assert_eq!(root.len(), 1, "{runs:?}");
    let root = root[0];
    assert_eq!(root["span_id"], run_span);
    assert_eq!(root["parent_span_id"], Value::Null);
    assert_eq!(root["attributes"]["afk.run.end"], text("succeeded"));
    assert_eq!(root["attributes"]["afk.run.outcome"], text("success"));
    assert_eq!(root["attributes"]["afk.pr.number"], json!({"int": pr}));
    // the resource says who made it, and nothing of the host
    let r = &received(&sb)[0];
    assert_eq!(r["resource"]["service.name"], "afk");
    assert_eq!(r["resource"]["service.instance.id"], id);
    assert_eq!(r["resource"]["telemetry.sdk.name"], "afk");
}

#[test]
fn off_by_default_reads_no_otel_variable_and_connects_nowhere() {
    let sb = Sandbox::start(json!({"repos": [repo("acme/api", json!([ready(1, "alice")]))]}));
    let mut afk = Afk::agent(&sb, "pr", "", "");
    // a collector listening where the standard variables point, and one
    // variable afk would refuse if it read it
    afk.env
        .push(("OTEL_EXPORTER_OTLP_ENDPOINT".into(), sb.url.clone()));
    afk.env
        .push(("OTEL_EXPORTER_OTLP_PROTOCOL".into(), "grpc".into()));
    merged_run(&sb, &afk);
    assert_eq!(received(&sb), Vec::<Value>::new(), "no connection");
}

#[test]
fn a_collector_that_refuses_or_hangs_changes_no_exit_code_or_report() {
    // a port that was bound and let go: connections are refused
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    for case in ["refused", "hang", "503"] {
        let sb = Sandbox::start(json!({"repos": [repo("acme/api", json!([ready(1, "alice")]))]}));
        let endpoint = match case {
            "refused" => format!("http://127.0.0.1:{closed}"),
            _ => sb.url.clone(),
        };
        match case {
            "hang" => {
                sb.admin("POST", "/otlp_fault", Some(json!({"hang": true})));
            }
            "503" => {
                sb.admin("POST", "/otlp_fault", Some(json!({"status": 503})));
            }
            _ => {}
        }
        let afk = Afk::agent(
            &sb,
            "pr",
            "",
            &format!(
                "[telemetry]\nenabled = true\nendpoint = \"{endpoint}\"\ntimeout = \"300ms\"\n"
            ),
        );
        let (code, r, err) = afk.poll();
        assert_eq!(code, 0, "{case}: {err}");
        assert_eq!(r["dispatched"][0]["run_id"], 1, "{case}: {r}");
        let warned: Vec<&str> = err.lines().filter(|l| l.contains("telemetry:")).collect();
        assert_eq!(warned.len(), 1, "{case}: said once: {err}");
        assert!(
            warned[0].contains("/v1/traces") && warned[0].contains("not delivered"),
            "{case}: {err}"
        );
    }
}

#[test]
fn the_run_span_left_undelivered_arrives_with_a_later_tick() {
    let sb = Sandbox::start(json!({"repos": [repo("acme/api", json!([ready(1, "alice")]))]}));
    let afk = Afk::agent(&sb, "pr", "", &telemetry(&sb, ""));
    // the collector refuses every export until the run has ended
    sb.admin("POST", "/otlp_fault", Some(json!({"status": 503})));
    merged_run(&sb, &afk);
    assert!(named(&spans(&sb), "afk.run").is_empty());
    sb.admin("POST", "/otlp_fault", Some(json!({})));
    // any later tick sends what the outbox holds
    let (code, _, err) = afk.watch();
    assert_eq!(code, 0, "{err}");
    let got = spans(&sb);
    let runs: Vec<&Value> = got.iter().filter(|s| s["name"] == "afk.run").collect();
    assert_eq!(runs.len(), 1, "{got:?}");
    // and once accepted, never again
    let (code, _, err) = afk.watch();
    assert_eq!(code, 0, "{err}");
    let again: Vec<Value> = spans(&sb)
        .into_iter()
        .filter(|s| s["name"] == "afk.run")
        .collect();
    assert_eq!(again.len(), 1);
}

#[test]
fn no_secret_reaches_the_collector() {
    let sb = Sandbox::start(json!({"repos": [repo("acme/api", json!([ready(1, "alice")]))]}));
    let mut afk = Afk::agent(
        &sb,
        "pr",
        "",
        &telemetry(&sb, "headers_env = \"AFK_TEST_OTLP_HEADERS\""),
    );
    afk.env.push((
        "AFK_TEST_OTLP_HEADERS".into(),
        "x-collector-token=CANARY-COLLECTOR-HEADER".into(),
    ));
    merged_run(&sb, &afk);
    let got = received(&sb);
    assert!(!got.is_empty());
    for r in &got {
        assert_eq!(r["headers"]["x-collector-token"], "CANARY-COLLECTOR-HEADER");
        let text = r["body_text"].as_str().unwrap_or("");
        for canary in [TOKEN, "CANARY-COLLECTOR-HEADER", "Closes #1"] {
            assert!(!text.contains(canary), "{canary} in {text}");
        }
    }
}

#[test]
fn a_bad_telemetry_setting_is_exit_2_naming_the_key_never_its_value() {
    let sb = Sandbox::start(json!({"repos": [repo("acme/api", json!([ready(1, "alice")]))]}));
    let table = [
        (
            "endpoint = \"https://CANARY:secret@otel.example.org\"".to_string(),
            "telemetry.endpoint",
        ),
        (
            "endpoint = \"otel.example.org:4318\"".to_string(),
            "telemetry.endpoint",
        ),
        (
            format!("endpoint = \"{}\"\ntimeout = \"1h\"", sb.url),
            "telemetry.timeout",
        ),
    ];
    for (keys, named) in table {
        let afk = Afk::agent(
            &sb,
            "pr",
            "",
            &format!("[telemetry]\nenabled = true\n{keys}\n"),
        );
        let (code, _, err) = afk.poll();
        assert_eq!(code, 2, "{keys}: {err}");
        assert!(err.contains(named), "{keys}: {err}");
        assert!(!err.contains("CANARY") && !err.contains("secret"), "{err}");
        assert!(received(&sb).is_empty());
    }
}

/// The real Claude Code and Codex through the gateway: the turn's chat
/// spans carry the tokens the scripted model billed and the dollars the
/// gateway metered, under the turn's span, whose sums they are.
#[test]
fn the_real_agents_chat_spans_carry_the_billed_tokens_and_the_metered_dollars() {
    for agent in ["claude", "codex"] {
        let mut issue = ready(1, "alice");
        issue["script"] = json!([
            {"shell": "echo one >> f.txt && git add -A && git commit -qm one",
             "usage": {"input": 1200, "output": 34, "cached": 500, "cache_write": 40}},
            {"text": "Committed.", "usage": {"input": 700, "output": 12}}
        ]);
        let seed = json!({"model_key": afk::sandbox::model_api::MODEL_KEY,
                          "repos": [repo("acme/api", json!([issue]))]});
        let Some((sb, afk)) = crate::real_agents::setup_with(
            agent,
            seed,
            &format!("[telemetry]\nenabled = true\nendpoint = \"{}\"\n", "SB"),
        ) else {
            return;
        };
        // the receiver is the sandbox the agent's model is on
        let config = std::fs::read_to_string(&afk.config).unwrap();
        std::fs::write(
            &afk.config,
            config.replace("\"SB\"", &format!("\"{}\"", sb.url)),
        )
        .unwrap();
        let status = crate::real_agents::dispatch(&afk);
        assert_eq!(
            status,
            0,
            "{agent}: {}",
            crate::real_agents::agent_log(&afk)
        );
        let (code, _, err) = afk.watch();
        assert_eq!(code, 0, "{agent}: {err}");
        let asked: Vec<Value> = sb
            .admin("GET", "/model/requests", None)
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .filter(|e| !e["usage"].is_null())
            .collect();
        let billed_in: u64 = asked
            .iter()
            .map(|e| {
                let u = &e["usage"];
                let n = |k: &str| u[k].as_u64().unwrap_or(0);
                match agent {
                    // Anthropic's input excludes its cached parts: all of it
                    "claude" => n("input") + n("cached") + n("cache_write"),
                    _ => n("input"),
                }
            })
            .sum();
        let billed_out: u64 = asked
            .iter()
            .map(|e| e["usage"]["output"].as_u64().unwrap())
            .sum();
        let got = spans(&sb);
        let chats = named(&got, "chat ");
        assert_eq!(
            chats.len(),
            asked.len(),
            "{agent}: one chat span a billed request: {got:?}"
        );
        let int = |s: &Value, k: &str| s["attributes"][k]["int"].as_u64().unwrap_or(0);
        let sum = |k: &str| chats.iter().map(|s| int(s, k)).sum::<u64>();
        assert_eq!(sum("gen_ai.usage.input_tokens"), billed_in, "{agent}");
        assert_eq!(sum("gen_ai.usage.output_tokens"), billed_out, "{agent}");
        let turn = named(&got, "invoke_agent");
        assert_eq!(turn.len(), 1, "{agent}: {got:?}");
        assert_eq!(
            int(turn[0], "gen_ai.usage.input_tokens"),
            billed_in,
            "{agent}"
        );
        for c in &chats {
            assert_eq!(c["parent_span_id"], turn[0]["span_id"], "{agent}");
            assert_eq!(c["kind"], "client");
            let provider = if agent == "claude" {
                "anthropic"
            } else {
                "openai"
            };
            assert_eq!(c["attributes"]["gen_ai.provider.name"], text(provider));
        }
        // the chat spans' dollars are the metered record's, and sum to the turn's
        let metered =
            std::fs::read_to_string(afk.scratch.path("state/runs/1/metered.jsonl")).unwrap();
        let micro: u64 = metered
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .filter(|l| !l["chat"].is_null())
            .map(|l| l["micro_usd"].as_u64().unwrap())
            .sum();
        let dollars = |s: &Value| {
            s["attributes"]["afk.cost_usd"]["double"]
                .as_f64()
                .unwrap_or(0.0)
        };
        let chat_usd: f64 = chats.iter().map(|s| dollars(s)).sum();
        assert!(
            (chat_usd - micro as f64 / 1e6).abs() < 1e-9,
            "{agent}: {chat_usd} vs {micro}"
        );
        assert!((dollars(turn[0]) - chat_usd).abs() < 1e-9, "{agent}");
        // no prompt or key in anything the collector got
        for r in received(&sb) {
            let body = r["body_text"].as_str().unwrap_or("");
            assert!(
                !body.contains(afk::sandbox::model_api::MODEL_KEY),
                "{agent}"
            );
            assert!(!body.contains("alice"), "{agent}: nothing of the issue");
        }
    }
}

/// docs/telemetry.md's bound holds for doctor too: its empty export and what
/// the process sends at its end (the outbox a hung tick left) share one
/// `telemetry.timeout`. A hanging collector takes the probe's whole bound,
/// and nothing more is sent after it (one request, not two).
#[test]
fn doctor_with_a_hanging_collector_spends_one_bound_on_telemetry() {
    let sb = Sandbox::start(json!({"repos": [repo("acme/api", json!([ready(1, "alice")]))]}));
    sb.admin("POST", "/otlp_fault", Some(json!({"hang": true})));
    let afk = Afk::agent(&sb, "pr", "", &telemetry(&sb, "timeout = \"300ms\""));
    // a tick whose spans the hung collector never took: the outbox keeps them
    let (code, _, err) = afk.poll();
    assert_eq!(code, 0, "{err}");
    let before = received(&sb).len();
    assert!(before >= 1, "the tick tried");
    let (_, d, err) = afk.json(&["doctor"]);
    let probe: Vec<&Value> = d["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["check"] == "telemetry")
        .collect();
    assert!(
        probe
            .iter()
            .any(|c| c["detail"].as_str().unwrap_or("").contains("timed out")),
        "{d} {err}"
    );
    assert_eq!(
        received(&sb).len(),
        before + 1,
        "the probe, and nothing after it within the spent bound: {err}"
    );
    sb.admin("POST", "/otlp_fault", Some(json!({})));
}
