//! The OTLP/HTTP wire: afk's spans as one protobuf
//! `ExportTraceServiceRequest` (the official definitions,
//! `opentelemetry-proto`), every string of it through the redaction first,
//! and one POST of it to the collector within what is left of the bound.
//! The one room of telemetry that sends.

use afk_model::telemetry::{AttrValue, Span, SpanKind, SpanStatus, TelemetrySettings};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::{
    AnyValue, ArrayValue, InstrumentationScope, KeyValue, any_value::Value,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Status, span, status};
use prost::Message;
use std::io::{Read, Write};
use std::time::{Duration, Instant};

/// The semantic conventions' schema the spans follow: the release GenAI
/// conventions v0.1.0 depend on.
pub const SCHEMA_URL: &str = "https://opentelemetry.io/schemas/1.45.0";

/// The instrumentation scope's name (its version is afk's).
pub const SCOPE_NAME: &str = "afk";

/// W3C trace flags: sampled. Every span afk makes is exported.
const SAMPLED: u32 = 0x01;

/// The most of a collector's answer read: an `ExportTraceServiceResponse`
/// is a few bytes; a proxy's error page is not worth more.
const ANSWER_MAX: u64 = 64 * 1024;

/// `text` without any secret afk holds: the collector is told nothing the
/// log would not show.
fn clean(text: &str) -> String {
    afk_host::redact::text(text).into_owned()
}

fn any(v: &AttrValue) -> AnyValue {
    let value = match v {
        AttrValue::Str(s) => Value::StringValue(clean(s)),
        AttrValue::Int(i) => Value::IntValue(*i),
        AttrValue::Double(d) => Value::DoubleValue(*d),
        AttrValue::Bool(b) => Value::BoolValue(*b),
        AttrValue::StrList(l) => Value::ArrayValue(ArrayValue {
            values: l
                .iter()
                .map(|s| AnyValue {
                    value: Some(Value::StringValue(clean(s))),
                })
                .collect(),
        }),
    };
    AnyValue { value: Some(value) }
}

fn key_value(key: &str, value: AnyValue) -> KeyValue {
    KeyValue {
        key: clean(key),
        value: Some(value),
    }
}

/// One span, field by field.
fn span_of(s: &Span) -> opentelemetry_proto::tonic::trace::v1::Span {
    let kind = match s.kind {
        SpanKind::Internal => span::SpanKind::Internal,
        SpanKind::Client => span::SpanKind::Client,
    };
    let status = match &s.status {
        SpanStatus::Unset => None,
        SpanStatus::Error(message) => Some(Status {
            message: clean(message),
            code: status::StatusCode::Error as i32,
        }),
    };
    opentelemetry_proto::tonic::trace::v1::Span {
        trace_id: s.trace_id.to_vec(),
        span_id: s.span_id.to_vec(),
        parent_span_id: s.parent_span_id.map(|p| p.to_vec()).unwrap_or_default(),
        flags: SAMPLED,
        name: clean(&s.name),
        kind: kind as i32,
        start_time_unix_nano: s.start_unix_ns,
        end_time_unix_nano: s.end_unix_ns,
        attributes: s
            .attributes
            .iter()
            .map(|(k, v)| key_value(k, any(v)))
            .collect(),
        links: s
            .links
            .iter()
            .map(|l| span::Link {
                trace_id: l.trace_id.to_vec(),
                span_id: l.span_id.to_vec(),
                flags: SAMPLED,
                ..Default::default()
            })
            .collect(),
        status,
        ..Default::default()
    }
}

/// The request for `spans`: one resource (the settings'), one scope
/// (`afk`, afk's version, the conventions' schema).
pub(crate) fn request(settings: &TelemetrySettings, spans: &[Span]) -> ExportTraceServiceRequest {
    let resource = Resource {
        attributes: settings
            .resource
            .iter()
            .map(|(k, v)| {
                key_value(
                    k,
                    AnyValue {
                        value: Some(Value::StringValue(clean(v))),
                    },
                )
            })
            .collect(),
        ..Default::default()
    };
    let scope = InstrumentationScope {
        name: SCOPE_NAME.to_string(),
        version: env!("CARGO_PKG_VERSION").to_string(),
        ..Default::default()
    };
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(resource),
            scope_spans: vec![ScopeSpans {
                scope: Some(scope),
                spans: spans.iter().map(span_of).collect(),
                schema_url: SCHEMA_URL.to_string(),
            }],
            schema_url: String::new(),
        }],
    }
}

/// `spans` as the protobuf body of one OTLP/HTTP export (not compressed).
pub fn encode(settings: &TelemetrySettings, spans: &[Span]) -> Vec<u8> {
    request(settings, spans).encode_to_vec()
}

/// The body as sent: gzip'd when the settings say so.
fn body(settings: &TelemetrySettings, encoded: Vec<u8>) -> Vec<u8> {
    if !settings.gzip {
        return encoded;
    }
    let mut z = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    match z.write_all(&encoded).and_then(|()| z.finish()) {
        Ok(zipped) => zipped,
        // writing to memory does not fail; were it to, send it plain
        Err(_) => encoded,
    }
}

/// How one try ended.
pub(crate) enum Try {
    /// a 2xx (which), with the spans the collector said it rejected and why
    Accepted {
        status: u16,
        rejected: i64,
        message: String,
    },
    /// an answer with this status (not a 2xx), and its `Retry-After` seconds
    Answered {
        status: u16,
        retry_after: Option<u64>,
    },
    /// no answer: a connect error (true) or another failure (false), and what the system said
    NoAnswer { connect: bool, why: String },
}

/// The headers and roots a process sends with: its collector's, resolved once.
pub(crate) struct Sender {
    pub(crate) url: String,
    pub(crate) headers: Vec<(String, afk_host::redact::Secret)>,
    /// more roots for an https collector; Err: the certificate file could
    /// not be used (nothing is sent)
    // the Err is a string: said once in the log, and nothing is sent
    pub(crate) tls: Result<Option<afk_http::client::Tls>, String>,
    /// the bound, for what a time-out says
    pub(crate) bound_ms: u64,
}

/// The most of a collector's certificate file read: a CA bundle is a few
/// hundred KiB.
const CERTIFICATE_MAX: u64 = 4 << 20;

impl Sender {
    /// The collector's settings, its header values registered as secrets
    /// and its certificate file read.
    pub(crate) fn new(settings: &TelemetrySettings) -> Sender {
        let headers = settings
            .headers
            .iter()
            .map(|(k, v)| {
                // `Bearer <token>`: the token alone is a secret too (a log
                // line may quote it without its scheme)
                if let Some((_, token)) = v.trim().split_once(' ') {
                    let _ = afk_host::redact::Secret::new(token.trim());
                }
                (k.clone(), afk_host::redact::Secret::new(v.clone()))
            })
            .collect();
        let tls = match &settings.certificate {
            None => Ok(None),
            // bounded, and never a FIFO that would hang the command
            Some(path) => match afk_host::private_files::read_operator_file(
                std::path::Path::new(path),
                CERTIFICATE_MAX,
            ) {
                Err(e) => Err(format!(
                    "cannot read the certificate file {path}: {}",
                    afk_host::os_words(&e)
                )),
                Ok(pem) => afk_http::client::web_roots_and(&pem)
                    .map(Some)
                    .map_err(|e| {
                        format!("the certificate file {path} holds no usable root ({e:?})")
                    }),
            },
        };
        Sender {
            url: settings.traces_url.clone(),
            headers,
            tls,
            bound_ms: settings.timeout_ms,
        }
    }

    /// POST `encoded` (an `ExportTraceServiceRequest`) once, given `left`
    /// of the bound for all of it: connect, send and answer.
    pub(crate) fn post(
        &self,
        settings: &TelemetrySettings,
        encoded: Vec<u8>,
        left: Duration,
    ) -> Try {
        let tls = match &self.tls {
            Ok(t) => t.clone(),
            Err(why) => {
                return Try::NoAnswer {
                    connect: false,
                    why: why.clone(),
                };
            }
        };
        let mut b = afk_http::client::builder(left).timeout_connect(left);
        if let Some(tls) = tls {
            b = b.tls_config(tls);
        }
        let agent = b.build();
        let mut req = agent
            .post(&self.url)
            .set("Content-Type", "application/x-protobuf");
        if settings.gzip {
            req = req.set("Content-Encoding", "gzip");
        }
        for (name, value) in &self.headers {
            req = req.set(name, value.expose());
        }
        let sent = body(settings, encoded);
        let started = Instant::now();
        let answer = req.send_bytes(&sent);
        let status = match &answer {
            Ok(r) => Some(r.status()),
            Err(afk_http::client::Error::Status(s, _)) => Some(*s),
            Err(_) => None,
        };
        afk_host::log::request("POST", &self.url, status, started.elapsed());
        match answer {
            Ok(r) if (200..300).contains(&r.status()) => {
                let status = r.status();
                let mut bytes = vec![];
                let _ = r.into_reader().take(ANSWER_MAX).read_to_end(&mut bytes);
                let partial = ExportTraceServiceResponse::decode(bytes.as_slice())
                    .ok()
                    .and_then(|a| a.partial_success);
                match partial {
                    Some(p) => Try::Accepted {
                        status,
                        rejected: p.rejected_spans,
                        message: p.error_message,
                    },
                    None => Try::Accepted {
                        status,
                        rejected: 0,
                        message: String::new(),
                    },
                }
            }
            Ok(r) => Try::Answered {
                status: r.status(),
                retry_after: None,
            },
            Err(afk_http::client::Error::Status(status, r)) => Try::Answered {
                status,
                retry_after: r.header("Retry-After").and_then(|v| v.trim().parse().ok()),
            },
            Err(afk_http::client::Error::Transport(t)) => Try::NoAnswer {
                connect: t.kind() == afk_http::client::ErrorKind::ConnectionFailed
                    && !timed_out(&t),
                why: self.why(&t),
            },
        }
    }

    /// What a failed try says: `connection refused`, `timed out after 1000 ms`.
    fn why(&self, t: &afk_http::client::Transport) -> String {
        if timed_out(t) {
            return format!("timed out after {} ms", self.bound_ms);
        }
        let mut source = std::error::Error::source(t);
        while let Some(e) = source {
            if let Some(io) = e.downcast_ref::<std::io::Error>() {
                return afk_host::os_words(io).to_ascii_lowercase();
            }
            source = e.source();
        }
        excerpt(&t.to_string())
    }
}

/// Whether a transport failure is the bound running out.
fn timed_out(t: &afk_http::client::Transport) -> bool {
    let mut source = std::error::Error::source(t);
    while let Some(e) = source {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            return matches!(
                io.kind(),
                std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock
            );
        }
        source = e.source();
    }
    false
}

/// A transport error's own words, one short line.
fn excerpt(s: &str) -> String {
    let line = s.lines().next().unwrap_or("").trim();
    line.chars().take(160).collect()
}
