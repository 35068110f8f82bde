//! The OTLP/HTTP exporter (`afk::telemetry`) against the sandbox's receiver:
//! what it decodes with the official definitions, a 503 retried once, a
//! hanging collector given up at the bound, no secret in any byte sent.

use crate::support::*;
use afk::telemetry::Telemetry;
use afk::types::telemetry::{AttrValue, Span, SpanKind, SpanStatus, TelemetrySettings};
use serde_json::{Value, json};

fn settings(sb: &Sandbox, timeout_ms: u64) -> TelemetrySettings {
    TelemetrySettings {
        traces_url: format!("{}/v1/traces", sb.url),
        traces_url_from: "telemetry.endpoint".into(),
        headers: vec![],
        headers_from: String::new(),
        timeout_ms,
        gzip: false,
        certificate: None,
        resource: vec![("service.name".into(), "afk".into())],
        semconv_opt_in: None,
    }
}

fn run_span(n: u8) -> Span {
    Span {
        trace_id: [0xa0 + n; 16],
        span_id: [n; 8],
        parent_span_id: None,
        name: "afk.run".into(),
        kind: SpanKind::Internal,
        start_unix_ns: 1_000,
        end_unix_ns: 2_000,
        attributes: vec![
            ("afk.run.id".into(), AttrValue::Int(i64::from(n))),
            ("afk.run.end".into(), AttrValue::Str("escalated".into())),
        ],
        status: SpanStatus::Error("ci_failed".into()),
        links: vec![],
    }
}

fn received(sb: &Sandbox) -> Vec<Value> {
    sb.admin("GET", "/otlp", None)["requests"]
        .as_array()
        .unwrap()
        .clone()
}

#[test]
fn a_503_is_retried_once_and_the_receiver_decodes_the_span() {
    let sb = Sandbox::start(json!({"repos": []}));
    sb.admin(
        "POST",
        "/otlp_fault",
        Some(json!({"status": 503, "times": 1})),
    );
    let t = Telemetry::new(settings(&sb, 5000));
    t.record(run_span(1));
    t.export();
    assert_eq!(t.said(), None);
    let got = received(&sb);
    let statuses: Vec<&Value> = got.iter().map(|r| &r["status"]).collect();
    assert_eq!(statuses, [&json!(503), &json!(200)]);
    let r = &got[1];
    assert_eq!(r["headers"]["content-type"], "application/x-protobuf");
    assert_eq!(r["resource"]["service.name"], "afk");
    assert_eq!(r["scope"]["name"], "afk");
    assert_eq!(
        r["scope"]["schema_url"],
        "https://opentelemetry.io/schemas/1.45.0"
    );
    let s = &r["spans"][0];
    assert_eq!(s["trace_id"], "a1".repeat(16));
    assert_eq!(s["span_id"], "01".repeat(8));
    assert_eq!(s["kind"], "internal");
    assert_eq!(s["attributes"]["afk.run.id"], json!({"int": 1}));
    assert_eq!(
        s["status"],
        json!({"code": "error", "message": "ci_failed"})
    );
}

#[test]
fn a_hanging_collector_is_given_up_at_the_bound_and_said_once() {
    let sb = Sandbox::start(json!({"repos": []}));
    sb.admin("POST", "/otlp_fault", Some(json!({"hang": true})));
    let t = Telemetry::new(settings(&sb, 500));
    t.record(run_span(2));
    t.export();
    t.record(run_span(3));
    t.finish(None);
    let url = format!("{}/v1/traces", sb.url);
    assert_eq!(
        t.said().unwrap_or_default(),
        format!("telemetry: 1 span not delivered to {url}: timed out after 500 ms")
    );
    // the hung request is let go with the fault
    sb.admin("POST", "/otlp_fault", Some(json!({})));
}

#[test]
fn no_header_value_or_secret_reaches_the_body_and_gzip_is_decoded() {
    let sb = Sandbox::start(json!({"repos": []}));
    let mut s = settings(&sb, 5000);
    s.gzip = true;
    s.headers = vec![(
        "authorization".into(),
        "Bearer otlp-canary-token-8c2f1a".into(),
    )];
    let t = Telemetry::new(s);
    let mut leaky = run_span(4);
    leaky.attributes.push((
        "afk.repo".into(),
        AttrValue::Str("otlp-canary-token-8c2f1a".into()),
    ));
    t.record(leaky);
    t.export();
    assert_eq!(t.said(), None);
    let got = received(&sb);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0]["headers"]["content-encoding"], "gzip");
    // the header is the collector's own; the body carries none of it
    assert_eq!(
        got[0]["headers"]["authorization"],
        "Bearer otlp-canary-token-8c2f1a"
    );
    let body = got[0]["body_text"].as_str().unwrap();
    assert!(body.contains("afk.run"), "{body}");
    assert!(!body.contains("otlp-canary-token-8c2f1a"), "{body}");
    assert_eq!(
        got[0]["spans"][0]["attributes"]["afk.repo"],
        json!({"string": "[redacted]"})
    );
}
