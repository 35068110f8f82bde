//! The telemetry room: what afk exports to an OpenTelemetry collector,
//! decided here and sent by the binary (`afk::telemetry`).
//!
//! - [`ids`]: a run's trace and span ids, derived so that every process that
//!   touches a run finds the same trace;
//! - [`doctor`]: doctor's `telemetry` lines (where traces go, what the
//!   collector answered);
//! - [`settings`]: `[telemetry]` and the `OTEL_*` variables resolved into
//!   where and how a process exports, and the config errors;
//! - [`spans`]: the spans afk makes and their attributes, from plain facts.

pub mod doctor;
pub mod ids;
pub mod settings;
pub mod spans;

pub use ids::{hex, trace_id};

/// The conventions afk's span names and `gen_ai.*` attributes follow.
pub(crate) const CONVENTIONS: &str = "semantic-conventions-genai v0.1.0";

/// The instrumentation scope's schema URL: the semconv release genai v0.1.0
/// depends on.
pub const SCHEMA_URL: &str = "https://opentelemetry.io/schemas/1.45.0";

/// The instrumentation scope's name (its version is afk's).
pub const SCOPE_NAME: &str = "afk";
