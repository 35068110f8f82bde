//! `[telemetry]`: OTLP/HTTP export of runs, ticks, turns and model requests
//! (docs/telemetry.md). The table is typed here; what it and the `OTEL_*`
//! variables mean is `core::telemetry::settings`'s, resolved once at load
//! into [`Config::telemetry`]. Off (the default) reads no `OTEL_*` variable
//! and no file: the environment is asked only when the table says
//! `enabled = true`.

use anyhow::Result;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use super::Config;
use super::check::Checker;
use super::values::{de_duration, de_path};
use crate::core::telemetry::settings::{self, TelemetryConfig};
use crate::redact::Secret;

/// What to do about a telemetry setting afk refuses (the error names the
/// key or variable, never its value): the exit-code table's hint.
const TELEMETRY_HINT: &str = "fix the key or variable it names (docs/telemetry.md#what-is-a-configuration-error), or set telemetry.enabled = false to run without traces";
use crate::types::telemetry::TelemetrySettings;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Telemetry {
    /// false: no `OTEL_*` variable is read, no span made, no connection opened.
    pub enabled: bool,
    /// The collector's OTLP/HTTP base URL; "": the `OTEL_*` variables'.
    pub endpoint: String,
    /// The variable holding the collector's headers; "": none.
    pub headers_env: String,
    /// The file holding them (absolute once loaded); "": none.
    #[serde(deserialize_with = "de_path")]
    pub headers_file: Option<PathBuf>,
    /// The most one process spends exporting, all tries together.
    #[serde(deserialize_with = "de_duration")]
    pub timeout: Duration,
    /// `[telemetry.resource]`: more resource attributes.
    pub resource: BTreeMap<String, String>,
}

impl Default for Telemetry {
    fn default() -> Self {
        let d = TelemetryConfig::default();
        Telemetry {
            enabled: d.enabled,
            endpoint: d.endpoint,
            headers_env: d.headers_env,
            headers_file: None,
            timeout: d.timeout,
            resource: d.resource,
        }
    }
}

impl Telemetry {
    /// The table as the core reads it.
    pub fn keys(&self) -> TelemetryConfig {
        TelemetryConfig {
            enabled: self.enabled,
            endpoint: self.endpoint.clone(),
            headers_env: self.headers_env.clone(),
            headers_file: self
                .headers_file
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
            timeout: self.timeout,
            resource: self.resource.clone(),
        }
    }

    /// The settings this table and `env` give (None: off), each header
    /// value registered as a [`Secret`] as it is read. The headers file is
    /// read from the disk. `env` is the process's environment at load
    /// (tests pass their own).
    pub fn resolve_with(
        &self,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Option<TelemetrySettings>> {
        if !self.enabled {
            return Ok(None);
        }
        let version = env!("CARGO_PKG_VERSION");
        let keys = self.keys();
        let resolved = settings::resolve(&keys, env, &read_headers_file, version, "")
            .map_err(|e| crate::hint::hinted(anyhow::Error::new(e), TELEMETRY_HINT))?;
        for (_, value) in resolved.iter().flat_map(|s| s.headers.iter()) {
            Secret::new(value.as_str());
            // the token of `Bearer <token>` alone is one too
            if let Some((_, token)) = value.trim().rsplit_once(' ') {
                Secret::new(token);
            }
        }
        Ok(resolved)
    }

    /// A box that would hand the collector's token or an `OTEL_*` variable
    /// to the agent: a `runner.box.env` entry naming an `OTEL_*` variable
    /// or `telemetry.headers_env`'s. Checked when telemetry is on.
    pub(super) fn validate_box_env(&self, c: &Checker, box_env: &[String]) -> Result<()> {
        if !self.enabled {
            return Ok(());
        }
        match settings::box_env_refused(box_env, &self.headers_env) {
            None => Ok(()),
            Some((name, what)) => Err(c.err(
                "runner.box",
                "env",
                format!(
                    "{name} is {what}: the agent's box never gets the collector's settings or token (docs/telemetry.md#what-is-never-sent); take it out of runner.box.env"
                ),
            )),
        }
    }
}

/// The headers file's text and mode bits, or why it cannot be read (in the
/// OS's words; the core says which key named it).
// Err is a string: the core's `ReadFile` takes the OS's words
fn read_headers_file(path: &str) -> std::result::Result<(String, u32), String> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(path).map_err(|e| afk_host::os_words(&e))?;
    if meta.is_dir() {
        return Err("it is a directory: give the path of the file that holds the headers".into());
    }
    // bounded, and never a FIFO that would hang the command
    let bytes = afk_host::private_files::read_operator_file(std::path::Path::new(path), 64 << 10)
        .map_err(|e| afk_host::os_words(&e))?;
    let text = String::from_utf8(bytes).map_err(|_| "it is not UTF-8 text".to_string())?;
    Ok((text, meta.permissions().mode()))
}

impl Config {
    /// `[telemetry]` resolved with this process's environment, read only
    /// when the table enables it (`Config::parse` keeps it as
    /// [`Config::telemetry`]).
    pub(super) fn resolve_telemetry(&self) -> Result<Option<TelemetrySettings>> {
        self.telemetry_keys
            .resolve_with(&|name: &str| std::env::var(name).ok())
    }
}

#[cfg(test)]
mod tests;
