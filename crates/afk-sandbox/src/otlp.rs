//! An OTLP/HTTP trace receiver on the sandbox's own address:
//! `POST /v1/traces`, decoded with the official protobuf definitions
//! (`opentelemetry-proto`), gunzipped first under `Content-Encoding: gzip`.
//! It keeps every request as it came (headers, raw bytes: for canary
//! searches) and as it decodes (resource, scope, spans), shown by
//! `GET /_admin/otlp`; `POST /_admin/otlp_fault` makes it answer a status
//! (503, 400, ...) or hang.
//!
//! It answers as the OpenTelemetry Collector's `otlp` receiver does
//! (opentelemetry-collector, receiver/otlpreceiver/otlphttp.go,
//! `handleTraces`; the OTLP specification's "OTLP/HTTP Response"): a method
//! other than POST is 405, a `Content-Type` other than
//! `application/x-protobuf` 415 (this receiver takes no JSON: afk sends
//! protobuf), a body that does not decode 400, and a decoded request 200
//! with a protobuf `ExportTraceServiceResponse` (`application/x-protobuf`).
//! The collector's error bodies are a `google.rpc.Status`; this one's are
//! plain text, which no client reads.

use super::http::{Reply, Request};
use super::model::Forge;
use super::model::otlp::{OtlpFault, Receiver};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::{AnyValue, any_value::Value as Any};
use prost::Message;
use serde_json::{Map, Value, json};
use std::io::Read;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How many requests the receiver keeps (the newest).
const KEPT_MAX: usize = 10_000;

/// The longest a hung request is held: a test is over long before.
const HANG_MAX: Duration = Duration::from_secs(600);

impl Receiver {
    /// The fault for this request, one of its `times` used up.
    fn pick(&mut self) -> Option<OtlpFault> {
        let f = self.fault.as_mut()?;
        if f.times == Some(0) {
            return None;
        }
        if let Some(t) = f.times.as_mut() {
            *t -= 1;
        }
        Some(f.clone())
    }

    /// Keep a request's entry; its number, by which its answer is noted.
    fn keep(&mut self, mut entry: Value) -> u64 {
        self.next += 1;
        entry["seq"] = json!(self.next);
        if self.requests.len() >= KEPT_MAX {
            self.requests.pop_front();
        }
        self.requests.push_back(entry);
        self.next
    }

    /// The status request `seq` was answered with (gone from the list: nothing).
    fn answered(&mut self, seq: u64, status: u16) {
        if let Some(e) = self
            .requests
            .iter_mut()
            .rev()
            .find(|e| e["seq"] == json!(seq))
        {
            e["status"] = json!(status);
        }
    }
}

/// `GET /_admin/otlp`: `{requests: [request]}`, oldest first ([`entry`]).
pub(super) fn list(f: &Forge) -> Reply {
    let requests: Vec<Value> = f.otlp.requests.iter().cloned().collect();
    Reply::json(200, &json!({ "requests": requests }))
}

/// `DELETE /_admin/otlp`: the requests forgotten, the hung ones let go.
pub(super) fn clear(f: &mut Forge) -> Reply {
    f.otlp.requests.clear();
    f.otlp.hung.clear();
    Reply::json(200, &json!({"ok": true}))
}

/// `POST /_admin/otlp_fault`: arm a fault ([`OtlpFault`]); `{}` clears it
/// and lets the hung requests go.
pub(super) fn arm(f: &mut Forge, body: &Value) -> Reply {
    let fault: OtlpFault = match serde_json::from_value(body.clone()) {
        Ok(fault) => fault,
        Err(e) => return super::err(400, &format!("otlp_fault: {e}")),
    };
    let armed = fault.hang || fault.status.is_some();
    f.otlp.fault = armed.then_some(fault);
    if !armed {
        f.otlp.hung.clear();
    }
    Reply::json(200, &json!({"ok": true}))
}

/// `POST /v1/traces`.
pub(super) fn receive(st: &Arc<Mutex<Forge>>, req: &Request) -> Reply {
    if req.method != "POST" {
        return text(405, "405 method not allowed, supported: [POST]");
    }
    let kept = entry(req);
    let decoded = kept["decoded"] == json!(true);
    let error = kept["error"]
        .as_str()
        .unwrap_or("cannot decode the body")
        .to_string();
    let (seq, fault) = {
        let mut f = st.lock().unwrap();
        let fault = f.otlp.pick();
        (f.otlp.keep(kept), fault)
    };
    let answer = |status: u16| st.lock().unwrap().otlp.answered(seq, status);
    if let Some(fault) = fault {
        if fault.hang {
            let (tx, rx) = mpsc::channel::<()>();
            st.lock().unwrap().otlp.hung.push(tx);
            // blocked, not spinning: until the fault or the log is cleared
            let _ = rx.recv_timeout(HANG_MAX);
            return Reply::Drop;
        }
        if let Some(status) = fault.status {
            answer(status);
            let reply = text(status, "injected fault");
            return match fault.retry_after {
                Some(s) => reply.with_header("Retry-After", &s.to_string()),
                None => reply,
            };
        }
    }
    let content_type = req.header("content-type").unwrap_or("");
    let mime = content_type.split(';').next().unwrap_or("").trim();
    if !mime.eq_ignore_ascii_case("application/x-protobuf") {
        answer(415);
        return text(
            415,
            "415 unsupported media type, supported: [application/x-protobuf]",
        );
    }
    if !decoded {
        answer(400);
        return text(400, &error);
    }
    answer(200);
    Reply::Send {
        status: 200,
        headers: vec![("Content-Type".into(), "application/x-protobuf".into())],
        body: ExportTraceServiceResponse::default().encode_to_vec(),
    }
}

fn text(status: u16, s: &str) -> Reply {
    Reply::Send {
        status,
        headers: vec![("Content-Type".into(), "text/plain".into())],
        body: s.as_bytes().to_vec(),
    }
}

/// The body as sent, gunzipped when it says it is gzip.
fn plain(req: &Request) -> Result<Vec<u8>, String> {
    let gzip = req
        .header("content-encoding")
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("gzip"));
    if !gzip {
        return Ok(req.body.clone());
    }
    let mut out = vec![];
    flate2::read::GzDecoder::new(req.body.as_slice())
        .read_to_end(&mut out)
        .map_err(|e| format!("gzip: {e}"))?;
    Ok(out)
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// An attribute's value, typed: `{"string": "x"}`, `{"int": 5}`,
/// `{"double": 1.5}`, `{"bool": true}`, `{"array": [...]}`, `{"bytes": hex}`,
/// `{"kvlist": {k: ...}}`; null when it has none.
fn typed(v: Option<&AnyValue>) -> Value {
    match v.and_then(|v| v.value.as_ref()) {
        None => Value::Null,
        Some(Any::StringValue(s)) => json!({"string": s}),
        Some(Any::IntValue(i)) => json!({"int": i}),
        Some(Any::DoubleValue(d)) => json!({"double": d}),
        Some(Any::BoolValue(b)) => json!({"bool": b}),
        Some(Any::ArrayValue(a)) => {
            json!({"array": a.values.iter().map(|x| typed(Some(x))).collect::<Vec<_>>()})
        }
        Some(Any::KvlistValue(l)) => {
            let m: Map<String, Value> = l
                .values
                .iter()
                .map(|kv| (kv.key.clone(), typed(kv.value.as_ref())))
                .collect();
            json!({ "kvlist": m })
        }
        Some(Any::BytesValue(b)) => json!({"bytes": hex(b)}),
    }
}

fn kind(k: i32) -> &'static str {
    match k {
        1 => "internal",
        2 => "server",
        3 => "client",
        4 => "producer",
        5 => "consumer",
        _ => "unspecified",
    }
}

/// A request as `GET /_admin/otlp` shows it: its headers (names in lower
/// case), its raw body (base64, as it came) and that body's bytes once
/// gunzipped as text (for canary searches), and what it decodes to: the
/// first resource's attributes (string values plain, others typed), the
/// first scope, every span.
fn entry(req: &Request) -> Value {
    use base64::Engine as _;
    let headers: Map<String, Value> = req
        .headers
        .iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), json!(v)))
        .collect();
    let mut e = json!({
        "headers": headers,
        "raw_base64": base64::engine::general_purpose::STANDARD.encode(&req.body),
        "status": null,
        "decoded": false,
        "resource": {},
        "scope": null,
        "spans": [],
    });
    let body = match plain(req) {
        Ok(b) => b,
        Err(why) => {
            e["error"] = json!(why);
            return e;
        }
    };
    e["body_text"] = json!(String::from_utf8_lossy(&body));
    let decoded = match ExportTraceServiceRequest::decode(body.as_slice()) {
        Ok(d) => d,
        Err(err) => {
            e["error"] = json!(format!("protobuf: {err}"));
            return e;
        }
    };
    e["decoded"] = json!(true);
    if let Some(rs) = decoded.resource_spans.first() {
        let resource: Map<String, Value> = rs
            .resource
            .iter()
            .flat_map(|r| r.attributes.iter())
            .map(|kv| {
                let v = match kv.value.as_ref().and_then(|v| v.value.as_ref()) {
                    Some(Any::StringValue(s)) => json!(s),
                    _ => typed(kv.value.as_ref()),
                };
                (kv.key.clone(), v)
            })
            .collect();
        e["resource"] = Value::Object(resource);
        if let Some(ss) = rs.scope_spans.first() {
            let (name, version) = ss
                .scope
                .as_ref()
                .map(|s| (s.name.clone(), s.version.clone()))
                .unwrap_or_default();
            e["scope"] = json!({"name": name, "version": version, "schema_url": ss.schema_url});
        }
    }
    let spans: Vec<Value> = decoded
        .resource_spans
        .iter()
        .flat_map(|rs| rs.scope_spans.iter())
        .flat_map(|ss| ss.spans.iter())
        .map(|s| {
            let attributes: Map<String, Value> = s
                .attributes
                .iter()
                .map(|kv| (kv.key.clone(), typed(kv.value.as_ref())))
                .collect();
            let status = s
                .status
                .as_ref()
                .map_or(json!({"code": "unset", "message": ""}), |st| {
                    let code = match st.code {
                        1 => "ok",
                        2 => "error",
                        _ => "unset",
                    };
                    json!({"code": code, "message": st.message})
                });
            json!({
                "trace_id": hex(&s.trace_id),
                "span_id": hex(&s.span_id),
                "parent_span_id": (!s.parent_span_id.is_empty()).then(|| hex(&s.parent_span_id)),
                "name": s.name,
                "kind": kind(s.kind),
                "start_unix_ns": s.start_time_unix_nano,
                "end_unix_ns": s.end_time_unix_nano,
                "flags": s.flags,
                "attributes": attributes,
                "status": status,
                "links": s.links.iter().map(|l| json!({
                    "trace_id": hex(&l.trace_id),
                    "span_id": hex(&l.span_id),
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    e["spans"] = json!(spans);
    e
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::common::v1::{InstrumentationScope, KeyValue};
    use opentelemetry_proto::tonic::resource::v1::Resource;
    use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status};
    use std::io::Write;

    fn forge() -> Arc<Mutex<Forge>> {
        Arc::new(Mutex::new(Forge::new(
            "http://127.0.0.1:1".into(),
            std::env::temp_dir(),
        )))
    }

    fn export() -> Vec<u8> {
        let kv = |k: &str, v: Any| KeyValue {
            key: k.into(),
            value: Some(AnyValue { value: Some(v) }),
        };
        ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                resource: Some(Resource {
                    attributes: vec![kv("service.name", Any::StringValue("afk".into()))],
                    ..Default::default()
                }),
                scope_spans: vec![ScopeSpans {
                    scope: Some(InstrumentationScope {
                        name: "afk".into(),
                        version: "0.1.0".into(),
                        ..Default::default()
                    }),
                    spans: vec![Span {
                        trace_id: vec![0xab; 16],
                        span_id: vec![0x01; 8],
                        name: "afk.run".into(),
                        kind: 1,
                        start_time_unix_nano: 5,
                        end_time_unix_nano: 9,
                        attributes: vec![
                            kv("afk.run.id", Any::IntValue(7)),
                            kv("afk.cost_usd", Any::DoubleValue(1.5)),
                        ],
                        status: Some(Status {
                            message: "escalated".into(),
                            code: 2,
                        }),
                        ..Default::default()
                    }],
                    schema_url: "https://opentelemetry.io/schemas/1.45.0".into(),
                }],
                schema_url: String::new(),
            }],
        }
        .encode_to_vec()
    }

    fn post(body: Vec<u8>, headers: &[(&str, &str)]) -> Request {
        Request {
            method: "POST".into(),
            path: "/v1/traces".into(),
            raw_path: "/v1/traces".into(),
            query: vec![],
            raw_query: String::new(),
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            body,
        }
    }

    fn status(r: Reply) -> u16 {
        match r {
            Reply::Send { status, .. } => status,
            _ => 0,
        }
    }

    fn shown(st: &Arc<Mutex<Forge>>) -> Vec<Value> {
        match list(&st.lock().unwrap()) {
            Reply::Send { body, .. } => {
                let v: Value = serde_json::from_slice(&body).unwrap();
                v["requests"].as_array().unwrap().clone()
            }
            _ => panic!("no answer"),
        }
    }

    const PB: (&str, &str) = ("Content-Type", "application/x-protobuf");

    #[test]
    fn a_gzipped_export_is_decoded_kept_and_answered_200() {
        let st = forge();
        let mut z = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        z.write_all(&export()).unwrap();
        let zipped = z.finish().unwrap();
        let r = receive(
            &st,
            &post(
                zipped,
                &[
                    PB,
                    ("Content-Encoding", "gzip"),
                    ("Authorization", "Bearer t0k3n"),
                ],
            ),
        );
        match r {
            Reply::Send { status, body, .. } => {
                assert_eq!(status, 200);
                ExportTraceServiceResponse::decode(body.as_slice()).unwrap();
            }
            _ => panic!("not answered"),
        }
        let got = shown(&st);
        assert_eq!(got.len(), 1);
        let e = &got[0];
        assert_eq!(e["status"], 200);
        assert_eq!(e["headers"]["authorization"], "Bearer t0k3n");
        assert_eq!(e["resource"], json!({"service.name": "afk"}));
        assert_eq!(
            e["scope"],
            json!({"name": "afk", "version": "0.1.0", "schema_url": "https://opentelemetry.io/schemas/1.45.0"})
        );
        let s = &e["spans"][0];
        assert_eq!(s["trace_id"], "ab".repeat(16));
        assert_eq!(s["span_id"], "01".repeat(8));
        assert_eq!(s["parent_span_id"], Value::Null);
        assert_eq!(s["kind"], "internal");
        assert_eq!(s["attributes"]["afk.run.id"], json!({"int": 7}));
        assert_eq!(s["attributes"]["afk.cost_usd"], json!({"double": 1.5}));
        assert_eq!(
            s["status"],
            json!({"code": "error", "message": "escalated"})
        );
        assert!(e["body_text"].as_str().unwrap().contains("afk.run"));
    }

    #[test]
    fn a_fault_answers_its_status_so_many_times_and_a_bad_body_is_400() {
        let st = forge();
        arm(&mut st.lock().unwrap(), &json!({"status": 503, "times": 1}));
        assert_eq!(status(receive(&st, &post(export(), &[PB]))), 503);
        assert_eq!(status(receive(&st, &post(export(), &[PB]))), 200);
        assert_eq!(
            status(receive(&st, &post(b"\xff\xff".to_vec(), &[PB]))),
            400
        );
        assert_eq!(status(receive(&st, &post(export(), &[]))), 415);
        let statuses: Vec<Value> = shown(&st).iter().map(|e| e["status"].clone()).collect();
        assert_eq!(statuses, [json!(503), json!(200), json!(400), json!(415)]);
        // a fault's unknown key is refused
        assert!(matches!(
            arm(&mut st.lock().unwrap(), &json!({"stauts": 503})),
            Reply::Send { status: 400, .. }
        ));
    }

    #[test]
    fn a_hung_request_is_let_go_when_the_fault_is_cleared() {
        let st = forge();
        arm(&mut st.lock().unwrap(), &json!({"hang": true}));
        let st2 = st.clone();
        let h = std::thread::spawn(move || {
            matches!(receive(&st2, &post(export(), &[PB])), Reply::Drop)
        });
        // the request is kept before it hangs; wait for it without sleeping
        // on a guess: the hung sender appears under the lock
        loop {
            if !st.lock().unwrap().otlp.hung.is_empty() {
                break;
            }
            std::thread::yield_now();
        }
        arm(&mut st.lock().unwrap(), &json!({}));
        assert!(h.join().unwrap(), "dropped without an answer");
    }
}
