//! The shapes of OpenTelemetry export (SPEC 10.3): a span as afk makes it,
//! before the wire encodes it, and the settings a process exports with. The
//! core derives ids and builds attributes (`afk_core::telemetry`); the
//! exporter (`afk::telemetry`) encodes these as OTLP/HTTP protobuf; the
//! outbox (afk-store) keeps the run spans as their JSON.

use serde::{Deserialize, Serialize};

/// An attribute's value: counts are `Int`, money and seconds `Double`,
/// flags `Bool` (10.3.7). A value afk does not have is an absent attribute.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttrValue {
    Str(String),
    Int(i64),
    Double(f64),
    Bool(bool),
    StrList(Vec<String>),
}

/// The span kinds afk makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SpanKind {
    Internal,
    Client,
}

/// A span's status: unset, or an error with its `error.type` (also an
/// attribute) as the message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SpanStatus {
    Unset,
    Error(String),
}

/// A link to another span (the turn's `invoke_agent` to the tick span that
/// started it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpanLink {
    pub trace_id: [u8; 16],
    pub span_id: [u8; 8],
}

/// One span, ready to encode. Times are Unix nanoseconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Span {
    pub trace_id: [u8; 16],
    pub span_id: [u8; 8],
    pub parent_span_id: Option<[u8; 8]>,
    pub name: String,
    pub kind: SpanKind,
    pub start_unix_ns: u64,
    pub end_unix_ns: u64,
    pub attributes: Vec<(String, AttrValue)>,
    pub status: SpanStatus,
    pub links: Vec<SpanLink>,
}

/// Where and how a process exports, resolved once at load from
/// `[telemetry]` and the `OTEL_*` variables (10.3.2–4). `None` of these
/// exists when telemetry is off: nothing is read, nothing is made.
#[derive(Debug, Clone, PartialEq)]
pub struct TelemetrySettings {
    /// `{endpoint}/v1/traces`, or the traces variable as is.
    pub traces_url: String,
    /// Which key or variable the URL came from (doctor says it).
    pub traces_url_from: String,
    /// The collector's headers, decoded; every value is a secret.
    pub headers: Vec<(String, String)>,
    /// Which key or variable the headers came from ("" with none).
    pub headers_from: String,
    /// The most one process spends on telemetry, in milliseconds.
    pub timeout_ms: u64,
    /// `Content-Encoding: gzip`.
    pub gzip: bool,
    /// A PEM file of more roots for an https collector.
    pub certificate: Option<String>,
    /// The resource's attributes, afk's own last (10.3.3).
    pub resource: Vec<(String, String)>,
    /// `OTEL_SEMCONV_STABILITY_OPT_IN` as set (doctor says it).
    pub semconv_opt_in: Option<String>,
}
