//! OpenTelemetry's rules (SPEC 10.3; docs/telemetry.md): the ids of a
//! run's trace, and the spans afk makes from what it read.

pub mod ids;
pub mod spans;
