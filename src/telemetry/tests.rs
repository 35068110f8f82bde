//! The exporter against loopback listeners of the tests' own: one that
//! answers what it is told, one that never answers, a port nobody listens on.

use super::*;
use afk_model::telemetry::{AttrValue, SpanKind, SpanLink, SpanStatus};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use prost::Message;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;

fn settings(url: &str, timeout_ms: u64) -> TelemetrySettings {
    TelemetrySettings {
        traces_url: url.to_string(),
        traces_url_from: "telemetry.endpoint".into(),
        headers: vec![],
        headers_from: String::new(),
        timeout_ms,
        gzip: false,
        certificate: None,
        resource: vec![
            ("service.name".into(), "afk".into()),
            ("service.instance.id".into(), "0a1b2c3d".into()),
        ],
        semconv_opt_in: None,
    }
}

fn span(n: u8) -> Span {
    Span {
        trace_id: [n; 16],
        span_id: [n; 8],
        parent_span_id: Some([9; 8]),
        name: "invoke_agent implementer@3".into(),
        kind: SpanKind::Internal,
        start_unix_ns: 1_700_000_000_000_000_000,
        end_unix_ns: 1_700_000_001_000_000_000,
        attributes: vec![
            ("afk.run.id".into(), AttrValue::Int(7)),
            ("afk.cost_usd".into(), AttrValue::Double(1.25)),
            ("afk.run.zero_touch".into(), AttrValue::Bool(true)),
            ("afk.repo".into(), AttrValue::Str("acme/api".into())),
            (
                "gen_ai.response.finish_reasons".into(),
                AttrValue::StrList(vec!["end_turn".into()]),
            ),
        ],
        status: SpanStatus::Error("budget".into()),
        links: vec![SpanLink {
            trace_id: [n; 16],
            span_id: [5; 8],
        }],
    }
}

/// What the test collector received: each request's head and body.
type Received = Vec<(String, Vec<u8>)>;

/// A collector on loopback answering one connection per answer, in order
/// (each a whole HTTP response), then stopping: its URL and what it got.
fn collector(answers: Vec<Vec<u8>>) -> (String, std::thread::JoinHandle<Received>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/v1/traces", l.local_addr().unwrap());
    let h = std::thread::spawn(move || {
        let mut got = vec![];
        for answer in answers {
            let (stream, _) = l.accept().unwrap();
            let mut r = BufReader::new(stream.try_clone().unwrap());
            let mut head = String::new();
            loop {
                let mut line = String::new();
                if r.read_line(&mut line).unwrap() == 0 || line == "\r\n" {
                    break;
                }
                head.push_str(&line);
            }
            let len: usize = head
                .lines()
                .find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.eq_ignore_ascii_case("content-length")
                        .then(|| v.trim().parse::<usize>().ok())?
                })
                .unwrap_or(0);
            let mut body = vec![0; len];
            r.read_exact(&mut body).unwrap();
            let mut w = stream;
            w.write_all(&answer).unwrap();
            w.flush().unwrap();
            got.push((head, body));
        }
        got
    });
    (url, h)
}

fn answer(status: &str, body: &[u8]) -> Vec<u8> {
    let mut a = format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/x-protobuf\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    a.extend_from_slice(body);
    a
}

fn ok() -> Vec<u8> {
    answer(
        "200 OK",
        &ExportTraceServiceResponse::default().encode_to_vec(),
    )
}

fn decoded(body: &[u8]) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest::decode(body).unwrap()
}

#[test]
fn a_span_encodes_field_by_field_and_decodes_with_the_official_definitions() {
    let s = settings("http://127.0.0.1:1/v1/traces", 1000);
    let req = decoded(&encode(&s, &[span(1)]));
    assert_eq!(req.resource_spans.len(), 1);
    let rs = &req.resource_spans[0];
    let resource: Vec<(String, Option<Value>)> = rs
        .resource
        .as_ref()
        .unwrap()
        .attributes
        .iter()
        .map(|kv| (kv.key.clone(), kv.value.clone().and_then(|v| v.value)))
        .collect();
    let want: Vec<(String, Option<Value>)> = vec![
        (
            "service.name".to_string(),
            Some(Value::StringValue("afk".to_string())),
        ),
        (
            "service.instance.id".to_string(),
            Some(Value::StringValue("0a1b2c3d".to_string())),
        ),
    ];
    assert_eq!(resource, want);
    let ss = &rs.scope_spans[0];
    let scope = ss.scope.as_ref().unwrap();
    assert_eq!(
        (scope.name.as_str(), scope.version.as_str()),
        ("afk", env!("CARGO_PKG_VERSION"))
    );
    assert_eq!(ss.schema_url, "https://opentelemetry.io/schemas/1.45.0");
    let sp = &ss.spans[0];
    assert_eq!(sp.trace_id, vec![1; 16]);
    assert_eq!(sp.span_id, vec![1; 8]);
    assert_eq!(sp.parent_span_id, vec![9; 8]);
    assert_eq!(sp.name, "invoke_agent implementer@3");
    assert_eq!(sp.kind, 1, "INTERNAL");
    assert_eq!(sp.start_time_unix_nano, 1_700_000_000_000_000_000);
    assert_eq!(sp.end_time_unix_nano, 1_700_000_001_000_000_000);
    let status = sp.status.as_ref().unwrap();
    assert_eq!((status.code, status.message.as_str()), (2, "budget"));
    assert_eq!(sp.links.len(), 1);
    assert_eq!(
        (sp.links[0].trace_id.clone(), sp.links[0].span_id.clone()),
        (vec![1; 16], vec![5; 8])
    );
    let attrs: Vec<(String, Option<Value>)> = sp
        .attributes
        .iter()
        .map(|kv| (kv.key.clone(), kv.value.clone().and_then(|v| v.value)))
        .collect();
    assert_eq!(attrs[0], ("afk.run.id".into(), Some(Value::IntValue(7))));
    assert_eq!(
        attrs[1],
        ("afk.cost_usd".into(), Some(Value::DoubleValue(1.25)))
    );
    assert_eq!(
        attrs[2],
        ("afk.run.zero_touch".into(), Some(Value::BoolValue(true)))
    );
    assert_eq!(
        attrs[3],
        (
            "afk.repo".into(),
            Some(Value::StringValue("acme/api".into()))
        )
    );
    match &attrs[4].1 {
        Some(Value::ArrayValue(a)) => assert_eq!(
            a.values[0].value,
            Some(Value::StringValue("end_turn".into()))
        ),
        other => panic!("{other:?}"),
    }
    // a client span without parent or status: CLIENT, no parent bytes, no status
    let mut chat = span(2);
    chat.kind = SpanKind::Client;
    chat.parent_span_id = None;
    chat.status = SpanStatus::Unset;
    let req = decoded(&encode(&s, &[chat]));
    let sp = &req.resource_spans[0].scope_spans[0].spans[0];
    assert_eq!(sp.kind, 3, "CLIENT");
    assert!(sp.parent_span_id.is_empty());
    assert!(sp.status.is_none());
}

#[test]
fn a_header_value_is_a_secret_from_the_moment_telemetry_is_made() {
    let mut s = settings("http://127.0.0.1:1/v1/traces", 1000);
    s.headers = vec![(
        "authorization".into(),
        "Bearer otlp-canary-5f1e2d3c4b".into(),
    )];
    let _t = Telemetry::new(s.clone());
    assert_eq!(
        afk_host::redact::text("sent otlp-canary-5f1e2d3c4b"),
        "sent [redacted]"
    );
    // and no span carries it to the collector
    let mut leaky = span(1);
    leaky.attributes = vec![(
        "afk.repo".into(),
        AttrValue::Str("otlp-canary-5f1e2d3c4b".into()),
    )];
    let body = encode(&s, &[leaky]);
    assert!(!String::from_utf8_lossy(&body).contains("otlp-canary-5f1e2d3c4b"));
}

#[test]
fn spans_go_as_protobuf_with_the_headers_and_gzip_when_asked() {
    let (url, h) = collector(vec![ok()]);
    let mut s = settings(&url, 5000);
    s.gzip = true;
    s.headers = vec![("x-otlp-tenant".into(), "tenant-7c1d9e".into())];
    let t = Telemetry::new(s);
    t.record(span(1));
    t.record(span(2));
    t.export();
    assert_eq!(t.said(), None);
    assert_eq!(t.waiting(), 0);
    let got = h.join().unwrap();
    let (head, body) = &got[0];
    let head = head.to_ascii_lowercase();
    assert!(head.starts_with("post /v1/traces "), "{head}");
    assert!(
        head.contains("content-type: application/x-protobuf"),
        "{head}"
    );
    assert!(head.contains("content-encoding: gzip"), "{head}");
    assert!(head.contains("x-otlp-tenant: tenant-7c1d9e"), "{head}");
    let mut plain = vec![];
    flate2::read::GzDecoder::new(body.as_slice())
        .read_to_end(&mut plain)
        .unwrap();
    assert_eq!(
        decoded(&plain).resource_spans[0].scope_spans[0].spans.len(),
        2
    );
}

#[test]
fn a_503_is_tried_once_more_and_then_delivered() {
    let (url, h) = collector(vec![answer("503 Service Unavailable", b""), ok()]);
    let t = Telemetry::new(settings(&url, 5000));
    t.record(span(1));
    t.export();
    assert_eq!(t.said(), None, "delivered on the retry: nothing to say");
    let got = h.join().unwrap();
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].1, got[1].1, "the same request again");
}

#[test]
fn a_refused_connection_is_said_once_as_one_warn_line() {
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let url = format!("http://127.0.0.1:{port}/v1/traces");
    let t = Telemetry::new(settings(&url, 2000));
    t.record(span(1));
    t.export();
    let said = format!("telemetry: 1 span not delivered to {url}: connection refused");
    assert_eq!(t.said().as_deref(), Some(said.as_str()));
    t.record(span(2));
    t.record(span(3));
    t.export();
    assert_eq!(
        t.said().as_deref(),
        Some(said.as_str()),
        "said once per process"
    );
}

#[test]
fn a_collector_that_never_answers_costs_the_bound_and_is_said_as_timed_out() {
    // listening, never accepting: the connection is made, no answer comes
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/v1/traces", l.local_addr().unwrap());
    let t = Telemetry::new(settings(&url, 300));
    t.record(span(1));
    t.export();
    let said = t.said().unwrap_or_default();
    assert!(said.ends_with(": timed out after 300 ms"), "{said}");
    assert!(
        t.left() < Duration::from_millis(300),
        "the wait was spent of the bound"
    );
    // the bound is spent: a later export sends nothing and says nothing more
    t.record(span(2));
    t.export();
    assert_eq!(t.said().unwrap_or_default(), said);
    drop(l);
}

#[test]
fn nothing_to_send_opens_no_connection() {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/v1/traces", l.local_addr().unwrap());
    let t = Telemetry::new(settings(&url, 1000));
    t.export();
    let store = afk_store::Store::read(std::path::Path::new("/nonexistent/afk.db")).unwrap();
    t.finish(Some(&store));
    l.set_nonblocking(true).unwrap();
    assert_eq!(
        l.accept().map(drop).map_err(|e| e.kind()),
        Err(std::io::ErrorKind::WouldBlock),
        "no connection was made"
    );
    assert_eq!(t.said(), None);
}

#[test]
fn past_the_limit_the_oldest_spans_are_dropped_and_counted() {
    let t = Telemetry::new(settings("http://127.0.0.1:1/v1/traces", 1000));
    for i in 0..(WAITING_MAX + 3) {
        t.record(span((i % 200) as u8));
    }
    assert_eq!(t.waiting(), WAITING_MAX);
    let (spans, overflowed) = t.take();
    assert_eq!((spans.len(), overflowed), (WAITING_MAX, 3));
    // the oldest went: the first left is the fourth recorded
    assert_eq!(spans[0].span_id, [3; 8]);
}

fn outbox_store() -> afk_store::Store {
    let store = afk_store::Store::read(std::path::Path::new("/nonexistent/afk.db"))
        .unwrap()
        .at(afk_host::clock::now());
    store.outbox_add(&[span(40), span(41)]).unwrap();
    store
}

#[test]
fn the_outbox_is_delivered_on_a_2xx_dropped_on_a_400_and_kept_on_a_failure() {
    // delivered, with the process's own spans in the same request
    let (url, h) = collector(vec![ok()]);
    let store = outbox_store();
    let t = Telemetry::new(settings(&url, 5000));
    t.record(span(1));
    t.finish(Some(&store));
    assert_eq!(store.outbox_counts().unwrap(), (0, 2, 0));
    let got = h.join().unwrap();
    assert_eq!(
        decoded(&got[0].1).resource_spans[0].scope_spans[0]
            .spans
            .len(),
        3
    );

    // refused for good: dropped, said
    let (url, h) = collector(vec![answer("400 Bad Request", b"")]);
    let store = outbox_store();
    let t = Telemetry::new(settings(&url, 5000));
    t.finish(Some(&store));
    assert_eq!(store.outbox_counts().unwrap(), (0, 0, 2));
    assert_eq!(
        t.said().unwrap_or_default(),
        format!("telemetry: 2 spans not delivered to {url}: the collector answered 400")
    );
    h.join().unwrap();

    // no collector: still waiting for the next process
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let store = outbox_store();
    let t = Telemetry::new(settings(
        &format!("http://127.0.0.1:{port}/v1/traces"),
        2000,
    ));
    t.finish(Some(&store));
    assert_eq!(store.outbox_counts().unwrap(), (2, 0, 0));
}

#[test]
fn a_partial_success_is_a_warn_line_of_the_same_kind() {
    let partial = ExportTraceServiceResponse {
        partial_success: Some(ExportTracePartialSuccess {
            rejected_spans: 2,
            error_message: "attribute too long".into(),
        }),
    };
    let (url, h) = collector(vec![answer("200 OK", &partial.encode_to_vec())]);
    let t = Telemetry::new(settings(&url, 5000));
    t.record(span(1));
    t.record(span(2));
    t.export();
    assert_eq!(
        t.said().unwrap_or_default(),
        format!(
            "telemetry: 2 spans not delivered to {url}: the collector rejected them: attribute too long"
        )
    );
    h.join().unwrap();
}

#[test]
fn the_probe_says_the_status_or_why_there_was_none() {
    let (url, h) = collector(vec![answer("401 Unauthorized", b"")]);
    let (status, _) = probe(&settings(&url, 5000)).unwrap();
    assert_eq!(status, 401);
    let got = h.join().unwrap();
    assert!(
        decoded(&got[0].1).resource_spans[0].scope_spans[0]
            .spans
            .is_empty()
    );
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let why = probe(&settings(
        &format!("http://127.0.0.1:{port}/v1/traces"),
        1000,
    ))
    .unwrap_err();
    assert_eq!(why.0, "connection refused");
}
