//! The shapes of OpenTelemetry export: a span as afk makes it, before the
//! wire encodes it, and the settings a process exports with. The core
//! derives ids and builds attributes (`afk_core::telemetry`); the exporter
//! (`afk::telemetry`) encodes these as OTLP/HTTP protobuf; the outbox
//! (afk-store) keeps the run spans as their JSON.

use serde::{Deserialize, Serialize};

/// An attribute's value: counts are `Int`, money and seconds `Double`,
/// flags `Bool`. A value afk does not have is an absent attribute.
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
/// `[telemetry]` and the `OTEL_*` variables. `None` of these exists when
/// telemetry is off: nothing is read, nothing is made. Its `Debug` shows
/// the headers' names, never their values (the config it is kept on is
/// printed with `{:?}` in logs and errors).
#[derive(Clone, PartialEq)]
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
    /// The resource's attributes, afk's own last.
    pub resource: Vec<(String, String)>,
    /// `OTEL_SEMCONV_STABILITY_OPT_IN` as set (doctor says it).
    pub semconv_opt_in: Option<String>,
}

impl std::fmt::Debug for TelemetrySettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.headers.iter().map(|(k, _)| k.as_str()).collect();
        f.debug_struct("TelemetrySettings")
            .field("traces_url", &self.traces_url)
            .field("traces_url_from", &self.traces_url_from)
            .field("headers", &names)
            .field("headers_from", &self.headers_from)
            .field("timeout_ms", &self.timeout_ms)
            .field("gzip", &self.gzip)
            .field("certificate", &self.certificate)
            .field("resource", &self.resource)
            .field("semconv_opt_in", &self.semconv_opt_in)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_settings_debug_shows_header_names_never_values() {
        let s = TelemetrySettings {
            traces_url: "https://otel:4318/v1/traces".into(),
            traces_url_from: "telemetry.endpoint".into(),
            headers: vec![("authorization".into(), "Bearer CANARY-SECRET".into())],
            headers_from: "OTEL_EXPORTER_OTLP_HEADERS".into(),
            timeout_ms: 1000,
            gzip: false,
            certificate: None,
            resource: vec![],
            semconv_opt_in: None,
        };
        let shown = format!("{s:?}");
        assert!(shown.contains("authorization"), "{shown}");
        assert!(!shown.contains("CANARY-SECRET"), "{shown}");
    }
}
