//! Where and how a process exports: `[telemetry]` and the `OTEL_*` variables
//! resolved once, at load, into the settings the exporter and doctor read.
//! Pure: the environment and the headers file come in as functions, so off
//! (`enabled = false`) is shown to read nothing.
//!
//! Every error is one line naming the key or the variable, never its value:
//! a header value is a secret, and an endpoint or a resource attribute may
//! hold one pasted by mistake. The one value said back is an endpoint that is
//! no URL at all (`otel.example.org:4318`, as
//! docs/telemetry.md#what-is-a-configuration-error shows it), and only when
//! it is plainly a host and a port: never one with user info, a query or a
//! fragment.

use crate::types::ConfigError;
use crate::types::telemetry::TelemetrySettings;
use std::collections::BTreeMap;
use std::time::Duration;

/// `[telemetry]` as written (the binary's config types it and hands it here).
#[derive(Debug, Clone, PartialEq)]
pub struct TelemetryConfig {
    pub enabled: bool,
    /// The collector's OTLP/HTTP base URL; "": the variables'.
    pub endpoint: String,
    /// The variable holding the collector's headers; "": none.
    pub headers_env: String,
    /// The file holding them (absolute once loaded); "": none.
    pub headers_file: String,
    /// The most one process spends on telemetry, all tries together.
    pub timeout: Duration,
    /// `[telemetry.resource]`: more resource attributes.
    pub resource: BTreeMap<String, String>,
}

impl Default for TelemetryConfig {
    fn default() -> Self {
        TelemetryConfig {
            enabled: false,
            endpoint: String::new(),
            headers_env: String::new(),
            headers_file: String::new(),
            timeout: Duration::from_secs(1),
            resource: BTreeMap::new(),
        }
    }
}

/// `telemetry.timeout`'s range.
pub(crate) const TIMEOUT_MIN: Duration = Duration::from_millis(100);
pub(crate) const TIMEOUT_MAX: Duration = Duration::from_secs(10);

/// The example collector the messages show.
const EXAMPLE: &str = "https://otel.example.org:4318";

/// The headers afk sets itself on an export (a header source naming one is
/// a config error).
pub(crate) const OWN_HEADERS: [&str; 4] =
    ["content-type", "content-encoding", "content-length", "host"];

/// The variables afk reads, by what they set.
pub(crate) const SDK_DISABLED: &str = "OTEL_SDK_DISABLED";
pub(crate) const TRACES_ENDPOINT: &str = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT";
pub(crate) const ENDPOINT: &str = "OTEL_EXPORTER_OTLP_ENDPOINT";
pub(crate) const TRACES_HEADERS: &str = "OTEL_EXPORTER_OTLP_TRACES_HEADERS";
pub(crate) const HEADERS: &str = "OTEL_EXPORTER_OTLP_HEADERS";
pub(crate) const RESOURCE_ATTRIBUTES: &str = "OTEL_RESOURCE_ATTRIBUTES";
pub(crate) const SERVICE_NAME: &str = "OTEL_SERVICE_NAME";
pub(crate) const SEMCONV_OPT_IN: &str = "OTEL_SEMCONV_STABILITY_OPT_IN";
/// The client-certificate variables afk refuses.
pub(crate) const CLIENT_CERTIFICATE: [&str; 4] = [
    "OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE",
    "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE",
    "OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY",
    "OTEL_EXPORTER_OTLP_CLIENT_KEY",
];

/// The process's environment, one variable at a time.
pub type Env<'a> = &'a dyn Fn(&str) -> Option<String>;
/// A file's text and its mode bits, or why it cannot be read.
// Err is a string: the OS's words, which the config error quotes
pub type ReadFile<'a> = &'a dyn Fn(&str) -> Result<(String, u32), String>;

fn err(msg: impl std::fmt::Display) -> ConfigError {
    ConfigError(format!("config: {msg}"))
}

/// A variable as OTel reads it: unset and empty (or blank) are the same.
fn var(env: Env<'_>, name: &str) -> Option<String> {
    env(name).filter(|v| !v.trim().is_empty())
}

/// The traces-specific `OTEL_EXPORTER_OTLP_TRACES_<what>`, else the general
/// `OTEL_EXPORTER_OTLP_<what>`: the variable's name and its value.
fn either(env: Env<'_>, what: &str) -> Option<(String, String)> {
    let specific = format!("OTEL_EXPORTER_OTLP_TRACES_{what}");
    let general = format!("OTEL_EXPORTER_OTLP_{what}");
    match var(env, &specific) {
        Some(v) => Some((specific, v)),
        None => var(env, &general).map(|v| (general, v)),
    }
}

/// The settings a process exports with, or None when it does not export:
/// `enabled = false` (nothing read at all: `env` is not called), or
/// `OTEL_SDK_DISABLED=true`. `instance` is `service.instance.id` ("": not
/// known yet; the exporter adds it with [`set_instance`]).
pub fn resolve(
    config: &TelemetryConfig,
    env: Env<'_>,
    read_file: ReadFile<'_>,
    afk_version: &str,
    instance: &str,
) -> Result<Option<TelemetrySettings>, ConfigError> {
    if !config.enabled {
        return Ok(None);
    }
    if var(env, SDK_DISABLED).is_some_and(|v| v.trim().eq_ignore_ascii_case("true")) {
        return Ok(None);
    }
    refuse_unsupported(env)?;
    let (traces_url, traces_url_from) = traces_url(config, env)?;
    let (headers, headers_from) = headers(config, env, read_file)?;
    let timeout_ms = timeout_ms(config, env)?;
    Ok(Some(TelemetrySettings {
        traces_url,
        traces_url_from,
        headers,
        headers_from,
        timeout_ms,
        gzip: gzip(env)?,
        certificate: either(env, "CERTIFICATE").map(|(_, v)| v.trim().to_string()),
        resource: resource(config, env, afk_version, instance)?,
        semconv_opt_in: var(env, SEMCONV_OPT_IN).map(|v| v.trim().to_string()),
    }))
}

/// A client certificate and a protocol other than `http/protobuf`: settings
/// afk cannot use, so a config error rather than a silent change.
fn refuse_unsupported(env: Env<'_>) -> Result<(), ConfigError> {
    if let Some(name) = CLIENT_CERTIFICATE.iter().find(|n| var(env, n).is_some()) {
        return Err(err(format!(
            "{name} is set: afk does not support a client certificate for the collector (unset it; authenticate with headers)"
        )));
    }
    if let Some((name, v)) = either(env, "PROTOCOL")
        && v.trim() != "http/protobuf"
    {
        return Err(err(format!(
            "{name}: afk exports only with http/protobuf (OTLP/HTTP): set it to http/protobuf or unset it"
        )));
    }
    Ok(())
}

/// `OTEL_EXPORTER_OTLP[_TRACES]_COMPRESSION`: gzip, else none.
fn gzip(env: Env<'_>) -> Result<bool, ConfigError> {
    match either(env, "COMPRESSION") {
        None => Ok(false),
        Some((_, v)) if v.trim().eq_ignore_ascii_case("none") => Ok(false),
        Some((_, v)) if v.trim().eq_ignore_ascii_case("gzip") => Ok(true),
        Some((name, _)) => Err(err(format!(
            "{name}: afk compresses with gzip or none: set it to one of them or unset it"
        ))),
    }
}

/// `telemetry.timeout` in its range, lowered (never raised) by
/// `OTEL_EXPORTER_OTLP[_TRACES]_TIMEOUT` in milliseconds; each of those set
/// must be a whole number (0: no lower bound of its own, as OTel reads it).
fn timeout_ms(config: &TelemetryConfig, env: Env<'_>) -> Result<u64, ConfigError> {
    let t = config.timeout;
    if !(TIMEOUT_MIN..=TIMEOUT_MAX).contains(&t) {
        use crate::types::format_duration as f;
        return Err(err(format!(
            "telemetry.timeout \"{}\" is out of range (from \"{}\" to \"{}\")",
            f(t),
            f(TIMEOUT_MIN),
            f(TIMEOUT_MAX)
        )));
    }
    let mut ms = t.as_millis() as u64;
    let mut lowered = None;
    for name in [
        "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT",
        "OTEL_EXPORTER_OTLP_TIMEOUT",
    ] {
        let Some(v) = var(env, name) else { continue };
        let n: u64 = v
            .trim()
            .parse()
            .map_err(|_| err(format!("{name} is not a whole number of milliseconds")))?;
        // the traces-specific one, when set, is the one that counts
        lowered.get_or_insert(n);
    }
    if let Some(n) = lowered.filter(|n| *n > 0) {
        ms = ms.min(n);
    }
    Ok(ms)
}

/// Where traces go and which key or variable said so: the config's
/// endpoint + `/v1/traces`, else the traces variable as is, else the general
/// variable + `/v1/traces`; with none, a config error.
fn traces_url(config: &TelemetryConfig, env: Env<'_>) -> Result<(String, String), ConfigError> {
    let configured = config.endpoint.trim();
    if !configured.is_empty() {
        check_endpoint("telemetry.endpoint", configured)?;
        return Ok((v1_traces(configured), "telemetry.endpoint".into()));
    }
    if let Some(v) = var(env, TRACES_ENDPOINT) {
        check_endpoint(TRACES_ENDPOINT, v.trim())?;
        return Ok((v.trim().to_string(), TRACES_ENDPOINT.into()));
    }
    if let Some(v) = var(env, ENDPOINT) {
        check_endpoint(ENDPOINT, v.trim())?;
        return Ok((v1_traces(v.trim()), ENDPOINT.into()));
    }
    Err(err(format!(
        "telemetry.enabled = true, but no endpoint is set: set telemetry.endpoint (or {ENDPOINT}) to the collector's OTLP/HTTP URL, e.g. \"{EXAMPLE}\""
    )))
}

/// `{base}/v1/traces`, one slash between.
pub(crate) fn v1_traces(base: &str) -> String {
    format!("{}/v1/traces", base.trim_end_matches('/'))
}

/// An endpoint afk can send to: an absolute `http`/`https` URL with a host,
/// no user info, no query, no fragment (credentials go in headers). `name`
/// is the key or variable it came from.
pub(crate) fn check_endpoint(name: &str, value: &str) -> Result<(), ConfigError> {
    const HEADERS_GO: &str = "credentials go in the collector's headers (telemetry.headers_env or telemetry.headers_file)";
    if crate::secrets::has_user_info(value) {
        return Err(err(format!(
            "{name} has user info (a name or password before an `@`): afk refuses it; {HEADERS_GO}"
        )));
    }
    if value.contains(['?', '#']) {
        return Err(err(format!(
            "{name} has a query or a fragment: give the collector's URL alone; {HEADERS_GO}"
        )));
    }
    if url_host(value).is_some() {
        return Ok(());
    }
    let rest = value.split_once("://").map_or(value, |(_, r)| r);
    let rest = rest.trim_matches('/');
    let example = match plain(rest) {
        true => format!("https://{rest}"),
        false => EXAMPLE.to_string(),
    };
    Err(match plain(value) {
        true => err(format!(
            "{name} \"{value}\" is not an http(s) URL (e.g. \"{example}\")"
        )),
        false => err(format!("{name} is not an http(s) URL (e.g. \"{example}\")")),
    })
}

/// Text that is plainly a host, a port and a path (said back in an error):
/// no space, no `@`, nothing but what a host and a path are made of.
fn plain(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 100
        && s.chars().all(|c| {
            c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | ':' | '/' | '[' | ']')
        })
}

/// The host of an absolute `http`/`https` URL with a host (and a valid port,
/// when it has one), lowercased; None for anything else. An IPv6 host is
/// given without its brackets.
pub(crate) fn url_host(url: &str) -> Option<String> {
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return None;
    }
    let lower = url.to_ascii_lowercase();
    let rest = lower
        .strip_prefix("http://")
        .or_else(|| lower.strip_prefix("https://"))?;
    let authority = rest.split('/').next().unwrap_or("");
    if authority.contains('@') {
        return None;
    }
    let (host, port) = match authority.strip_prefix('[') {
        Some(v6) => {
            let (host, after) = v6.split_once(']')?;
            let port = match after {
                "" => None,
                p => Some(p.strip_prefix(':')?),
            };
            let ok = !host.is_empty()
                && host
                    .chars()
                    .all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.');
            (ok.then_some(host)?, port)
        }
        None => {
            let (host, port) = match authority.split_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (authority, None),
            };
            let ok = !host.is_empty()
                && host
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
            (ok.then_some(host)?, port)
        }
    };
    let port_ok = port.is_none_or(|p| !p.is_empty() && p.parse::<u16>().is_ok());
    port_ok.then(|| host.to_string())
}

/// A host that is this machine: `localhost`, 127.0.0.0/8, `::1`.
pub fn is_loopback(host: &str) -> bool {
    let h = host.trim_matches(['[', ']']).to_ascii_lowercase();
    h == "localhost"
        || h.ends_with(".localhost")
        || h == "::1"
        || h.strip_prefix("127.").is_some_and(|r| {
            r.split('.').count() == 3 && r.split('.').all(|o| o.parse::<u8>().is_ok())
        })
}

/// The collector's headers and where they came from: the config's file or
/// variable, else `OTEL_EXPORTER_OTLP_TRACES_HEADERS`, else
/// `OTEL_EXPORTER_OTLP_HEADERS`. A source that is set is taken whole: two
/// are never merged.
fn headers(
    config: &TelemetryConfig,
    env: Env<'_>,
    read_file: ReadFile<'_>,
) -> Result<(Vec<(String, String)>, String), ConfigError> {
    let env_name = config.headers_env.trim();
    let file = config.headers_file.trim();
    if !env_name.is_empty() && !file.is_empty() {
        return Err(err(
            "telemetry.headers_env and telemetry.headers_file are both set: name one source of the collector's headers",
        ));
    }
    if !file.is_empty() {
        let from = format!("telemetry.headers_file ({file})");
        let text = headers_file(file, read_file)?;
        let joined: Vec<&str> = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect();
        return Ok((parse_headers(&joined.join(","), &from)?, from));
    }
    if !env_name.is_empty() {
        if !env_name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            return Err(err(
                "telemetry.headers_env is not an environment variable's name",
            ));
        }
        let from = format!("${env_name} (telemetry.headers_env)");
        let Some(v) = var(env, env_name) else {
            return Err(err(format!(
                "telemetry.headers_env names {env_name}, which is unset or empty: set it to the collector's headers (name=value,name2=value2)"
            )));
        };
        return Ok((parse_headers(&v, &from)?, from));
    }
    for name in [TRACES_HEADERS, HEADERS] {
        if let Some(v) = var(env, name) {
            return Ok((parse_headers(&v, name)?, name.to_string()));
        }
    }
    Ok((vec![], String::new()))
}

/// The headers file's text: readable, by afk's user alone, not empty.
fn headers_file(file: &str, read_file: ReadFile<'_>) -> Result<String, ConfigError> {
    let (text, mode) = read_file(file)
        .map_err(|why| err(format!("telemetry.headers_file {file}: cannot read: {why}")))?;
    let mode = mode & 0o777;
    if mode & 0o077 != 0 {
        return Err(err(format!(
            "telemetry.headers_file {file} is readable by group or others (mode {mode:03o}): run chmod 600 {file}"
        )));
    }
    if text.trim().is_empty() {
        return Err(err(format!(
            "telemetry.headers_file {file} is empty: write the collector's headers into it (name=value, one a line or comma-separated)"
        )));
    }
    Ok(text)
}

/// An HTTP header name's character (RFC 9110's `tchar`).
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// OTel's header list, `name=value,name2=value2`, values percent-decoded.
/// `from` names the source in an error; no error shows a name or a value
/// (an entry without `=` may be a bare token), but afk's own header names.
pub(crate) fn parse_headers(text: &str, from: &str) -> Result<Vec<(String, String)>, ConfigError> {
    let mut out = vec![];
    for (i, entry) in text.split(',').enumerate() {
        let n = i + 1;
        if entry.trim().is_empty() {
            continue;
        }
        let Some((name, value)) = entry.split_once('=') else {
            return Err(err(format!(
                "{from}: entry {n} has no `=` (the headers are name=value,name2=value2)"
            )));
        };
        let name = name.trim();
        if name.is_empty() || !name.bytes().all(is_tchar) {
            return Err(err(format!(
                "{from}: entry {n}'s name is empty or not an HTTP header name"
            )));
        }
        let Some(value) = percent_decode(value.trim()) else {
            return Err(err(format!(
                "{from}: entry {n}'s value has bad percent-encoding (a `%` not followed by two hex digits, or not UTF-8)"
            )));
        };
        if value.contains(['\r', '\n', '\0']) {
            return Err(err(format!(
                "{from}: entry {n}'s value has a line break (CR or LF) in it"
            )));
        }
        let lower = name.to_ascii_lowercase();
        if OWN_HEADERS.contains(&lower.as_str()) {
            return Err(err(format!(
                "{from}: {lower} is a header afk sets itself: leave it out"
            )));
        }
        out.push((name.to_string(), value));
    }
    Ok(out)
}

/// `%XX` decoded (two hex digits a byte), the result UTF-8; None otherwise.
pub fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3)?;
            let hex = std::str::from_utf8(hex).ok()?;
            if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                return None;
            }
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The resource's attributes, later sources winning:
/// `OTEL_RESOURCE_ATTRIBUTES`, `[telemetry.resource]`, `OTEL_SERVICE_NAME`,
/// then afk's own, which nothing overrides and which come last.
/// `service.name` is `afk` unless one of the first three sets it.
fn resource(
    config: &TelemetryConfig,
    env: Env<'_>,
    afk_version: &str,
    instance: &str,
) -> Result<Vec<(String, String)>, ConfigError> {
    let mut r: Vec<(String, String)> = vec![("service.name".into(), "afk".into())];
    if let Some(v) = var(env, RESOURCE_ATTRIBUTES) {
        for (k, v) in parse_resource(&v)? {
            set(&mut r, &k, v);
        }
    }
    for (k, v) in &config.resource {
        if k.trim().is_empty() {
            return Err(err("telemetry.resource has an empty key"));
        }
        set(&mut r, k.trim(), v.clone());
    }
    if let Some(name) = var(env, SERVICE_NAME) {
        set(&mut r, "service.name", name.trim().to_string());
    }
    let own = [
        ("service.version", afk_version),
        ("service.instance.id", instance),
        ("telemetry.sdk.name", "afk"),
        ("telemetry.sdk.language", "rust"),
        ("telemetry.sdk.version", afk_version),
    ];
    for (k, v) in own {
        r.retain(|(key, _)| key != k);
        if !v.is_empty() {
            r.push((k.to_string(), v.to_string()));
        }
    }
    Ok(r)
}

/// `key` set to `value`: in its place when it is there, else at the end.
fn set(r: &mut Vec<(String, String)>, key: &str, value: String) {
    match r.iter_mut().find(|(k, _)| k == key) {
        Some((_, v)) => *v = value,
        None => r.push((key.to_string(), value)),
    }
}

/// `service.instance.id` once the state file's instance is known (the
/// settings are resolved at load, before the state is open): afk's own, so
/// it replaces any other.
pub fn set_instance(settings: &mut TelemetrySettings, instance: &str) {
    if instance.is_empty() {
        return;
    }
    let r = &mut settings.resource;
    match r.iter().position(|(k, _)| k == "service.instance.id") {
        Some(i) => r[i].1 = instance.to_string(),
        None => {
            let at = r
                .iter()
                .position(|(k, _)| k == "service.version")
                .map_or(r.len(), |i| i + 1);
            r.insert(at, ("service.instance.id".into(), instance.into()));
        }
    }
}

/// The first `runner.box.env` entry that would hand the agent's box the
/// collector's settings or token: an `OTEL_*` variable, or the one
/// `telemetry.headers_env` names. With it, what it is.
pub fn box_env_refused<'a>(
    box_env: &'a [String],
    headers_env: &str,
) -> Option<(&'a str, &'static str)> {
    let headers_env = headers_env.trim();
    box_env.iter().map(|n| n.trim()).find_map(|name| {
        if name.starts_with("OTEL_") {
            Some((name, "an OTEL_* variable"))
        } else if !headers_env.is_empty() && name == headers_env {
            Some((
                name,
                "telemetry.headers_env's variable, the collector's headers",
            ))
        } else {
            None
        }
    })
}

/// `OTEL_RESOURCE_ATTRIBUTES`: OTel's `key=value,key2=value2`, values
/// percent-decoded. A bad entry is a config error naming the variable and
/// the entry's place, never its text.
pub(crate) fn parse_resource(text: &str) -> Result<Vec<(String, String)>, ConfigError> {
    let mut out = vec![];
    for (i, entry) in text.split(',').enumerate() {
        let n = i + 1;
        if entry.trim().is_empty() {
            continue;
        }
        let bad = |why: &str| err(format!("{RESOURCE_ATTRIBUTES}: entry {n} {why}"));
        let Some((key, value)) = entry.split_once('=') else {
            return Err(bad("has no `=` (the attributes are key=value,key2=value2)"));
        };
        let key = key.trim();
        if key.is_empty() {
            return Err(bad("has an empty key"));
        }
        let Some(value) = percent_decode(value.trim()) else {
            return Err(bad(
                "has bad percent-encoding in its value (a `%` not followed by two hex digits, or not UTF-8)",
            ));
        };
        out.push((key.to_string(), value));
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
