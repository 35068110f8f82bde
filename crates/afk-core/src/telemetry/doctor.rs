//! Doctor's `telemetry` check: where traces go, from which key or
//! variable, how many headers and from where (never their values), and
//! what the collector answered to one empty export. Never a FAIL:
//! telemetry never fails a tick.

use crate::doctor::Level;
use crate::telemetry::CONVENTIONS;
use crate::telemetry::settings::{is_loopback, url_host};
use crate::types::telemetry::TelemetrySettings;
use std::time::Duration;

/// The setup's line: off (and why), or where and how traces go. `enabled`
/// is `telemetry.enabled`; `settings` what load resolved (None with it on:
/// `OTEL_SDK_DISABLED=true`).
pub fn setup(enabled: bool, settings: Option<&TelemetrySettings>) -> (Level, String) {
    let Some(s) = settings else {
        return (
            Level::Ok,
            match enabled {
                false => "telemetry off".to_string(),
                true => {
                    "telemetry off: OTEL_SDK_DISABLED=true turns it off (telemetry.enabled = true)"
                        .to_string()
                }
            },
        );
    };
    let headers = match s.headers.len() {
        0 => "no headers".to_string(),
        n => format!(
            "{} from {}",
            crate::plural(n, "header", "headers"),
            s.headers_from
        ),
    };
    let service = s
        .resource
        .iter()
        .find(|(k, _)| k == "service.name")
        .map_or("afk", |(_, v)| v.as_str());
    let opt_in = match &s.semconv_opt_in {
        Some(v) => format!("OTEL_SEMCONV_STABILITY_OPT_IN={v}"),
        None => "OTEL_SEMCONV_STABILITY_OPT_IN not set".to_string(),
    };
    (
        Level::Ok,
        format!(
            "traces go to {} (from {}); {headers}; service.name {service}; conventions {CONVENTIONS}; OTEL_SDK_DISABLED not true; {opt_in}",
            s.traces_url, s.traces_url_from
        ),
    )
}

/// Plain `http://` with headers to a host that is not this machine: the
/// collector's token crosses the network in the clear.
pub fn cleartext(s: &TelemetrySettings) -> Option<(Level, String)> {
    let plain = s
        .traces_url
        .get(..7)
        .is_some_and(|p| p.eq_ignore_ascii_case("http://"));
    let host = url_host(&s.traces_url)?;
    (plain && !s.headers.is_empty() && !is_loopback(&host)).then(|| {
        (
            Level::Warn,
            format!(
                "{} is plain http:// to {host}, and the collector's headers ({}) would cross the network in the clear: use https://",
                s.traces_url, s.headers_from
            ),
        )
    })
}

/// What doctor's one empty export came to: the status the collector
/// answered and how long that took, or why there was no answer.
pub type Probed = Result<(u16, Duration), NoAnswer>;

/// Why the collector gave no answer at all, in the words the log and
/// doctor's line show ("connection refused", "timed out after 1000 ms"): a
/// kind of its own, never a status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoAnswer(pub String);

impl std::fmt::Display for NoAnswer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// What the collector answered doctor's one empty export: a 2xx is ok;
/// a refusal, a timeout, a 401/403 or another status is a WARN naming it.
/// `answer`: the status and how long it took, or why there was none.
pub fn probe(url: &str, answer: &Probed) -> (Level, String) {
    match answer {
        Ok((status, took)) if (200..300).contains(status) => (
            Level::Ok,
            format!("the collector answered {status} in {} ms", took.as_millis()),
        ),
        Ok((status @ (401 | 403), _)) => (
            Level::Warn,
            format!(
                "the collector at {url} answered {status} to an empty export: check the headers; spans will not be delivered"
            ),
        ),
        Ok((status, _)) => (
            Level::Warn,
            format!(
                "the collector at {url} answered {status} to an empty export: spans may not be delivered"
            ),
        ),
        Err(NoAnswer(why)) => (
            Level::Warn,
            format!(
                "the collector at {url} did not answer an empty export: {why}; spans will not be delivered (ticks go on as before)"
            ),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(url: &str, headers: usize) -> TelemetrySettings {
        TelemetrySettings {
            traces_url: url.into(),
            traces_url_from: "telemetry.endpoint".into(),
            headers: (0..headers)
                .map(|i| (format!("x-h{i}"), "CANARY-SECRET".to_string()))
                .collect(),
            headers_from: match headers {
                0 => String::new(),
                _ => "$AFK_OTLP (telemetry.headers_env)".into(),
            },
            timeout_ms: 1000,
            gzip: false,
            certificate: None,
            resource: vec![("service.name".into(), "afk-prod".into())],
            semconv_opt_in: None,
        }
    }

    #[test]
    fn the_setup_line_says_off_or_where_traces_go_never_a_header_value() {
        let two = settings("https://otel:4318/v1/traces", 2);
        let mut opted = settings("http://127.0.0.1:4318/v1/traces", 0);
        opted.semconv_opt_in = Some("gen_ai_latest_experimental".into());
        let cases: [(bool, Option<&TelemetrySettings>, &str); 4] = [
            (false, None, "telemetry off"),
            (
                true,
                None,
                "telemetry off: OTEL_SDK_DISABLED=true turns it off (telemetry.enabled = true)",
            ),
            (
                true,
                Some(&two),
                "traces go to https://otel:4318/v1/traces (from telemetry.endpoint); 2 headers from $AFK_OTLP (telemetry.headers_env); service.name afk-prod; conventions semantic-conventions-genai v0.1.0; OTEL_SDK_DISABLED not true; OTEL_SEMCONV_STABILITY_OPT_IN not set",
            ),
            (
                true,
                Some(&opted),
                "traces go to http://127.0.0.1:4318/v1/traces (from telemetry.endpoint); no headers; service.name afk-prod; conventions semantic-conventions-genai v0.1.0; OTEL_SDK_DISABLED not true; OTEL_SEMCONV_STABILITY_OPT_IN=gen_ai_latest_experimental",
            ),
        ];
        for (enabled, s, want) in cases {
            assert_eq!(setup(enabled, s), (Level::Ok, want.to_string()));
        }
    }

    #[test]
    fn headers_over_plain_http_to_another_host_are_a_warning() {
        let cases: [(&str, usize, bool); 6] = [
            ("http://otel.example.org:4318/v1/traces", 1, true),
            ("HTTP://10.0.0.5:4318/v1/traces", 2, true),
            ("http://otel.example.org:4318/v1/traces", 0, false),
            ("https://otel.example.org:4318/v1/traces", 1, false),
            ("http://127.0.0.1:4318/v1/traces", 1, false),
            ("http://localhost:4318/v1/traces", 1, false),
        ];
        for (url, headers, warn) in cases {
            let got = cleartext(&settings(url, headers));
            assert_eq!(got.is_some(), warn, "{url} {headers}");
            if let Some((level, text)) = got {
                assert_eq!(level, Level::Warn);
                assert!(!text.contains("CANARY-SECRET"), "{text}");
            }
        }
    }

    #[test]
    fn the_probe_is_ok_on_a_2xx_and_a_warning_otherwise_never_a_fail() {
        let url = "http://otel:4318/v1/traces";
        let ms = Duration::from_millis;
        let cases: [(Probed, Level, &str); 6] = [
            (
                Ok((200, ms(12))),
                Level::Ok,
                "the collector answered 200 in 12 ms",
            ),
            (
                Ok((204, ms(3))),
                Level::Ok,
                "the collector answered 204 in 3 ms",
            ),
            (
                Ok((401, ms(3))),
                Level::Warn,
                "answered 401 to an empty export: check the headers",
            ),
            (
                Ok((403, ms(3))),
                Level::Warn,
                "answered 403 to an empty export: check the headers",
            ),
            (
                Ok((503, ms(3))),
                Level::Warn,
                "the collector at http://otel:4318/v1/traces answered 503",
            ),
            (
                Err(NoAnswer("connection refused".into())),
                Level::Warn,
                "did not answer an empty export: connection refused",
            ),
        ];
        for (answer, level, want) in cases {
            let (got_level, text) = probe(url, &answer);
            assert_eq!(got_level, level, "{answer:?}");
            assert!(text.contains(want), "{text}");
        }
    }
}
