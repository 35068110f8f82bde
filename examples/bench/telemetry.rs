//! `bench telemetry`: making, encoding and exporting 10,000 spans to a
//! loopback collector (the sandbox's OTLP receiver), as the keeper exports
//! them: whenever 512 are waiting, then once at the end. The budget: at
//! most 1 ms of wall time per span.

use afk::types::telemetry::{AttrValue, Span, SpanKind, SpanLink, SpanStatus, TelemetrySettings};
use std::time::Instant;

const SPANS: usize = 10_000;
/// the keeper's batch
const BATCH: usize = 512;

/// A chat span as the gateway makes one: the attributes of its `chat` span.
fn chat(i: usize) -> Span {
    let n = i as u64;
    let mut span_id = [0u8; 8];
    span_id.copy_from_slice(&(n + 1).to_be_bytes());
    Span {
        trace_id: [0x5a; 16],
        span_id,
        parent_span_id: Some([0x11; 8]),
        name: "chat claude-sonnet-4-5".into(),
        kind: SpanKind::Client,
        start_unix_ns: 1_760_000_000_000_000_000 + n * 1_000_000,
        end_unix_ns: 1_760_000_000_000_000_000 + n * 1_000_000 + 900_000,
        attributes: vec![
            ("afk.run.id".into(), AttrValue::Int(42)),
            ("afk.repo".into(), AttrValue::Str("acme/api".into())),
            ("afk.issue".into(), AttrValue::Int(7)),
            (
                "gen_ai.operation.name".into(),
                AttrValue::Str("chat".into()),
            ),
            (
                "gen_ai.provider.name".into(),
                AttrValue::Str("anthropic".into()),
            ),
            (
                "gen_ai.request.model".into(),
                AttrValue::Str("claude-sonnet-4-5".into()),
            ),
            (
                "gen_ai.response.model".into(),
                AttrValue::Str("claude-sonnet-4-5".into()),
            ),
            (
                "gen_ai.response.id".into(),
                AttrValue::Str(format!("msg_{i:020}")),
            ),
            (
                "gen_ai.response.finish_reasons".into(),
                AttrValue::StrList(vec!["end_turn".into()]),
            ),
            ("gen_ai.request.stream".into(), AttrValue::Bool(true)),
            ("gen_ai.usage.input_tokens".into(), AttrValue::Int(12_000)),
            ("gen_ai.usage.output_tokens".into(), AttrValue::Int(800)),
            ("afk.cost_usd".into(), AttrValue::Double(0.048)),
            (
                "server.address".into(),
                AttrValue::Str("api.anthropic.com".into()),
            ),
            ("server.port".into(), AttrValue::Int(443)),
        ],
        status: SpanStatus::Unset,
        links: vec![SpanLink {
            trace_id: [0x5a; 16],
            span_id: [0x22; 8],
        }],
    }
}

pub fn telemetry_bench() {
    let sb = afk::sandbox::start("127.0.0.1:0", None, None).unwrap();
    let settings = TelemetrySettings {
        traces_url: format!("{}/v1/traces", sb.url),
        traces_url_from: "telemetry.endpoint".into(),
        headers: vec![(
            "authorization".into(),
            "Bearer bench-otlp-token-0001".into(),
        )],
        headers_from: "telemetry.headers_env".into(),
        // the largest bound: the measure is the time, not the bound
        timeout_ms: 10_000,
        gzip: false,
        certificate: None,
        resource: vec![
            ("service.name".into(), "afk".into()),
            ("service.version".into(), env!("CARGO_PKG_VERSION").into()),
            ("service.instance.id".into(), "0a1b2c3d".into()),
        ],
        semconv_opt_in: None,
    };
    let t = Instant::now();
    let tel = afk::telemetry::Telemetry::new(settings);
    for i in 0..SPANS {
        tel.record(chat(i));
        if tel.waiting() >= BATCH {
            tel.export();
        }
    }
    tel.finish(None);
    let took = t.elapsed();
    assert_eq!(tel.said(), None, "every export delivered");
    let got: serde_json::Value = ureq::get(&format!("{}/_admin/otlp", sb.url))
        .call()
        .unwrap()
        .into_json()
        .unwrap();
    let requests = got["requests"].as_array().unwrap();
    let spans: usize = requests
        .iter()
        .map(|r| r["spans"].as_array().map_or(0, Vec::len))
        .sum();
    assert_eq!(spans, SPANS, "the receiver decoded every span");
    let per_span = took.as_secs_f64() * 1000.0 / SPANS as f64;
    println!(
        "telemetry: {SPANS} spans made, encoded and exported in {} requests to a loopback collector: {:.0} ms, {per_span:.4} ms per span (budget 1 ms) {}",
        requests.len(),
        took.as_secs_f64() * 1000.0,
        if per_span <= 1.0 { "ok" } else { "OVER" }
    );
    println!();
}
