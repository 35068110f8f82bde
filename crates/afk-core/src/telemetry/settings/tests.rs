//! The rules of `[telemetry]` and the `OTEL_*` variables, one table each.

use super::*;

/// A table's variables: (name, value) pairs.
type Vars<'a> = &'a [(&'a str, &'a str)];
/// One (name, value) pair, or none.
type Pair<'a> = Option<(&'a str, &'a str)>;

/// A secret no error may ever say back.
const CANARY: &str = "CANARY-SECRET";

fn env_of<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
    move |name: &str| {
        vars.iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_string())
    }
}

fn no_file(_: &str) -> Result<(String, u32), String> {
    Err("No such file or directory".into())
}

fn on(endpoint: &str) -> TelemetryConfig {
    TelemetryConfig {
        enabled: true,
        endpoint: endpoint.into(),
        ..TelemetryConfig::default()
    }
}

fn run(config: &TelemetryConfig, vars: Vars) -> Result<Option<TelemetrySettings>, ConfigError> {
    resolve(config, &env_of(vars), &no_file, "1.2.3", "0a1b2c3d")
}

fn settings(config: &TelemetryConfig, vars: Vars) -> TelemetrySettings {
    run(config, vars)
        .unwrap_or_else(|e| panic!("{}", e.0))
        .expect("telemetry on")
}

fn error(config: &TelemetryConfig, vars: Vars) -> String {
    match run(config, vars) {
        Ok(s) => panic!("accepted: {s:?}"),
        Err(e) => {
            assert!(!e.0.contains('\n'), "one line: {}", e.0);
            assert!(!e.0.contains(CANARY), "a value said back: {}", e.0);
            e.0
        }
    }
}

#[test]
fn off_reads_no_variable_and_makes_no_settings() {
    let env = |name: &str| -> Option<String> { panic!("read {name} with telemetry off") };
    let read = |path: &str| -> Result<(String, u32), String> { panic!("read {path}") };
    let mut config = TelemetryConfig {
        endpoint: "not a url".into(),
        headers_env: "X".into(),
        ..TelemetryConfig::default()
    };
    assert!(resolve(&config, &env, &read, "1", "i").unwrap().is_none());
    config.timeout = Duration::from_secs(99);
    assert!(resolve(&config, &env, &read, "1", "i").unwrap().is_none());
}

#[test]
fn otel_sdk_disabled_true_turns_an_enabled_telemetry_off() {
    let cases: [(&str, bool); 5] = [
        ("true", false),
        ("TRUE", false),
        (" true ", false),
        ("false", true),
        ("", true),
    ];
    for (value, exports) in cases {
        let got = run(
            &on("http://127.0.0.1:4318"),
            &[("OTEL_SDK_DISABLED", value)],
        )
        .unwrap();
        assert_eq!(got.is_some(), exports, "{value:?}");
    }
}

#[test]
fn the_traces_url_is_the_endpoint_plus_v1_traces_or_the_traces_variable_as_is() {
    let cases: [(&str, Vars, &str, &str); 6] = [
        (
            "https://otel.example.org:4318",
            &[(TRACES_ENDPOINT, "http://x:1/t"), (ENDPOINT, "http://y:2")],
            "https://otel.example.org:4318/v1/traces",
            "telemetry.endpoint",
        ),
        (
            "http://otel:4318/base/",
            &[],
            "http://otel:4318/base/v1/traces",
            "telemetry.endpoint",
        ),
        (
            "",
            &[
                (TRACES_ENDPOINT, "http://c:4318/custom"),
                (ENDPOINT, "http://g:4318"),
            ],
            "http://c:4318/custom",
            TRACES_ENDPOINT,
        ),
        (
            "",
            &[(ENDPOINT, "http://g:4318/")],
            "http://g:4318/v1/traces",
            ENDPOINT,
        ),
        (
            "",
            &[(TRACES_ENDPOINT, ""), (ENDPOINT, "http://g:4318")],
            "http://g:4318/v1/traces",
            ENDPOINT,
        ),
        (
            "  ",
            &[(ENDPOINT, "https://[::1]:4318")],
            "https://[::1]:4318/v1/traces",
            ENDPOINT,
        ),
    ];
    for (endpoint, vars, url, from) in cases {
        let s = settings(&on(endpoint), vars);
        assert_eq!(
            (s.traces_url.as_str(), s.traces_url_from.as_str()),
            (url, from),
            "{endpoint:?} {vars:?}"
        );
    }
}

#[test]
fn enabled_with_nowhere_to_send_is_a_config_error() {
    let e = error(&on(""), &[]);
    assert!(
        e.starts_with("config: telemetry.enabled = true, but no endpoint is set"),
        "{e}"
    );
    assert!(
        e.contains("telemetry.endpoint") && e.contains(ENDPOINT),
        "{e}"
    );
}

#[test]
fn an_endpoint_is_an_http_url_with_a_host_and_no_user_info_query_or_fragment() {
    // (endpoint, None: accepted, or what the error says)
    let cases: [(&str, Option<&str>); 14] = [
        ("https://otel.example.org:4318", None),
        ("HTTP://Otel.Example.org", None),
        ("http://127.0.0.1:4318/", None),
        ("http://[::1]:4318", None),
        (
            "otel.example.org:4318",
            Some(
                "config: telemetry.endpoint \"otel.example.org:4318\" is not an http(s) URL (e.g. \"https://otel.example.org:4318\")",
            ),
        ),
        (
            "grpc://otel:4317",
            Some(
                "config: telemetry.endpoint \"grpc://otel:4317\" is not an http(s) URL (e.g. \"https://otel:4317\")",
            ),
        ),
        (
            "https://",
            Some(
                "config: telemetry.endpoint \"https://\" is not an http(s) URL (e.g. \"https://otel.example.org:4318\")",
            ),
        ),
        ("http://otel:port", Some("is not an http(s) URL")),
        ("http://otel:99999", Some("is not an http(s) URL")),
        (
            "https://user:CANARY-SECRET@otel:4318",
            Some("config: telemetry.endpoint has user info"),
        ),
        ("https://CANARY-SECRET@otel:4318", Some("has user info")),
        (
            "https://otel:4318/v1?token=CANARY-SECRET",
            Some("config: telemetry.endpoint has a query or a fragment"),
        ),
        (
            "https://otel:4318#CANARY-SECRET",
            Some("has a query or a fragment"),
        ),
        (
            "Bearer CANARY-SECRET",
            Some(
                "config: telemetry.endpoint is not an http(s) URL (e.g. \"https://otel.example.org:4318\")",
            ),
        ),
    ];
    for (endpoint, want) in cases {
        match want {
            None => assert!(run(&on(endpoint), &[]).is_ok(), "{endpoint}"),
            Some(w) => {
                let e = error(&on(endpoint), &[]);
                assert!(e.contains(w), "{endpoint}: {e}");
            }
        }
    }
}

#[test]
fn an_endpoint_variable_is_checked_as_the_key_is_and_named() {
    let cases: [(&str, &str); 3] = [
        (ENDPOINT, "otel:4318"),
        (
            TRACES_ENDPOINT,
            "https://u:CANARY-SECRET@otel:4318/v1/traces",
        ),
        (
            TRACES_ENDPOINT,
            "https://otel:4318/v1/traces?k=CANARY-SECRET",
        ),
    ];
    for (name, value) in cases {
        let e = error(&on(""), &[(name, value)]);
        assert!(e.starts_with(&format!("config: {name} ")), "{e}");
    }
}

#[test]
fn headers_come_from_one_source_taken_whole_in_order_of_precedence() {
    let both = [(TRACES_HEADERS, "a=1"), (HEADERS, "b=2,c=3")];
    let cases: [(&str, Vars, Vars, &str); 5] = [
        ("", &[], &[], ""),
        ("", &both, &[("a", "1")], TRACES_HEADERS),
        ("", &both[1..], &[("b", "2"), ("c", "3")], HEADERS),
        (
            "AFK_OTLP",
            &[("AFK_OTLP", "x-token=t%3Dk,x-b = v "), both[0], both[1]],
            &[("x-token", "t=k"), ("x-b", "v")],
            "$AFK_OTLP (telemetry.headers_env)",
        ),
        (
            "",
            &[(TRACES_HEADERS, " "), both[1]],
            &[("b", "2"), ("c", "3")],
            HEADERS,
        ),
    ];
    for (headers_env, vars, want, from) in cases {
        let config = TelemetryConfig {
            headers_env: headers_env.into(),
            ..on("http://otel:4318")
        };
        let s = settings(&config, vars);
        let got: Vec<(&str, &str)> = s
            .headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(
            (got.as_slice(), s.headers_from.as_str()),
            (want, from),
            "{vars:?}"
        );
    }
}

#[test]
fn a_bad_header_list_is_an_error_naming_its_source_never_its_text() {
    let cases: [(&str, &str); 9] = [
        ("CANARY-SECRET", "entry 1 has no `=`"),
        ("a=1,CANARY-SECRET", "entry 2 has no `=`"),
        (
            "=CANARY-SECRET",
            "entry 1's name is empty or not an HTTP header name",
        ),
        (
            "x y=CANARY-SECRET",
            "entry 1's name is empty or not an HTTP header name",
        ),
        (
            "x=CANARY-SECRET%zz",
            "entry 1's value has bad percent-encoding",
        ),
        (
            "x=CANARY-SECRET%4",
            "entry 1's value has bad percent-encoding",
        ),
        (
            "x=CANARY-SECRET%0Aevil",
            "entry 1's value has a line break (CR or LF)",
        ),
        (
            "Content-Type=CANARY-SECRET",
            "content-type is a header afk sets itself",
        ),
        ("host=CANARY-SECRET", "host is a header afk sets itself"),
    ];
    for (text, want) in cases {
        let e = error(&on("http://otel:4318"), &[(HEADERS, text)]);
        assert_eq!(
            e,
            format!("config: {HEADERS}: {want}{}", rest(&e, want)),
            "{text}"
        );
    }
}

/// What follows `want` in `e` (the fix): the table pins the start.
fn rest(e: &str, want: &str) -> String {
    let at = e
        .find(want)
        .unwrap_or_else(|| panic!("{want:?} not in {e}"));
    e[at + want.len()..].to_string()
}

#[test]
fn the_headers_env_and_file_keys_are_checked_where_they_point() {
    fn file(
        config: TelemetryConfig,
        read: ReadFile<'_>,
    ) -> Result<Option<TelemetrySettings>, ConfigError> {
        resolve(&config, &env_of(&[]), read, "1", "i")
    }
    let with_file = |path: &str| TelemetryConfig {
        headers_file: path.into(),
        ..on("https://otel:4318")
    };
    // the file, lines or commas; mode 600
    let good = |_: &str| -> Result<(String, u32), String> {
        Ok((
            "authorization=Bearer%20CANARY-SECRET\nx-org = 7\n".to_string(),
            0o100600,
        ))
    };
    let s = file(with_file("/etc/afk/otlp-headers"), &good)
        .unwrap()
        .unwrap();
    assert_eq!(s.headers.len(), 2);
    assert_eq!(s.headers[0].1, "Bearer CANARY-SECRET");
    assert_eq!(
        s.headers_from,
        "telemetry.headers_file (/etc/afk/otlp-headers)"
    );
    let cases: [(u32, &str, &str); 3] = [
        (
            0o100644,
            "x=CANARY-SECRET",
            "config: telemetry.headers_file /h is readable by group or others (mode 644): run chmod 600 /h",
        ),
        (
            0o100640,
            "x=CANARY-SECRET",
            "readable by group or others (mode 640)",
        ),
        (
            0o100600,
            " \n",
            "config: telemetry.headers_file /h is empty",
        ),
    ];
    for (mode, text, want) in cases {
        let read = move |_: &str| -> Result<(String, u32), String> { Ok((text.to_string(), mode)) };
        let e = file(with_file("/h"), &read).unwrap_err().0;
        assert!(e.contains(want) && !e.contains(CANARY), "{e}");
    }
    let e = file(with_file("/h"), &no_file).unwrap_err().0;
    assert_eq!(
        e,
        "config: telemetry.headers_file /h: cannot read: No such file or directory"
    );
    // a variable named and unset; both keys; a name that is none
    let unset = TelemetryConfig {
        headers_env: "AFK_OTLP_UNSET".into(),
        ..on("https://otel:4318")
    };
    assert!(
        error(&unset, &[])
            .contains("telemetry.headers_env names AFK_OTLP_UNSET, which is unset or empty")
    );
    let both = TelemetryConfig {
        headers_file: "/h".into(),
        ..unset.clone()
    };
    assert!(error(&both, &[]).contains("are both set"));
    let bad = TelemetryConfig {
        headers_env: "NOT-A-NAME".into(),
        ..on("https://otel:4318")
    };
    assert!(
        error(&bad, &[]).contains("telemetry.headers_env is not an environment variable's name")
    );
}

#[test]
fn only_http_protobuf_gzip_or_none_and_no_client_certificate() {
    let ok = "https://otel:4318";
    let cases: [(Vars, Result<bool, &str>); 10] = [
        (&[], Ok(false)),
        (
            &[("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")],
            Ok(false),
        ),
        (&[("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip")], Ok(true)),
        (
            &[
                ("OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "none"),
                ("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip"),
            ],
            Ok(false),
        ),
        (
            &[("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")],
            Err("config: OTEL_EXPORTER_OTLP_PROTOCOL: afk exports only with http/protobuf"),
        ),
        (
            &[
                ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "http/json"),
                ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
            ],
            Err("config: OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: afk exports only with http/protobuf"),
        ),
        (
            &[("OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "zstd")],
            Err("config: OTEL_EXPORTER_OTLP_TRACES_COMPRESSION: afk compresses with gzip or none"),
        ),
        (
            &[("OTEL_EXPORTER_OTLP_CLIENT_KEY", "/k.pem")],
            Err(
                "config: OTEL_EXPORTER_OTLP_CLIENT_KEY is set: afk does not support a client certificate",
            ),
        ),
        (
            &[("OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE", "/c.pem")],
            Err("config: OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE is set"),
        ),
        (&[("OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE", "")], Ok(false)),
    ];
    for (vars, want) in cases {
        match (run(&on(ok), vars), want) {
            (Ok(s), Ok(gzip)) => assert_eq!(s.unwrap().gzip, gzip, "{vars:?}"),
            (Err(e), Err(w)) => assert!(e.0.starts_with(w), "{vars:?}: {}", e.0),
            (got, want) => panic!("{vars:?}: got {:?}, want {want:?}", got.map_err(|e| e.0)),
        }
    }
}

#[test]
fn the_certificate_variable_names_more_roots_the_traces_one_first() {
    let cases: [(Vars, Option<&str>); 3] = [
        (&[], None),
        (
            &[("OTEL_EXPORTER_OTLP_CERTIFICATE", "/g.pem")],
            Some("/g.pem"),
        ),
        (
            &[
                ("OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE", "/t.pem"),
                ("OTEL_EXPORTER_OTLP_CERTIFICATE", "/g.pem"),
            ],
            Some("/t.pem"),
        ),
    ];
    for (vars, want) in cases {
        assert_eq!(
            settings(&on("https://otel:4318"), vars)
                .certificate
                .as_deref(),
            want,
            "{vars:?}"
        );
    }
}

#[test]
fn the_timeout_is_in_range_and_a_timeout_variable_lowers_it_never_raises_it() {
    let ms = Duration::from_millis;
    let cases: [(Duration, Vars, Result<u64, &str>); 9] = [
        (ms(1000), &[], Ok(1000)),
        (ms(100), &[], Ok(100)),
        (ms(10_000), &[], Ok(10_000)),
        (ms(1000), &[("OTEL_EXPORTER_OTLP_TIMEOUT", "250")], Ok(250)),
        (
            ms(1000),
            &[("OTEL_EXPORTER_OTLP_TIMEOUT", "30000")],
            Ok(1000),
        ),
        (
            ms(1000),
            &[
                ("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "400"),
                ("OTEL_EXPORTER_OTLP_TIMEOUT", "200"),
            ],
            Ok(400),
        ),
        (
            ms(1000),
            &[("OTEL_EXPORTER_OTLP_TIMEOUT", "1.5")],
            Err("config: OTEL_EXPORTER_OTLP_TIMEOUT is not a whole number of milliseconds"),
        ),
        (
            ms(50),
            &[],
            Err("config: telemetry.timeout \"50ms\" is out of range (from \"100ms\" to \"10s\")"),
        ),
        (
            ms(11_000),
            &[],
            Err("config: telemetry.timeout \"11s\" is out of range (from \"100ms\" to \"10s\")"),
        ),
    ];
    for (timeout, vars, want) in cases {
        let config = TelemetryConfig {
            timeout,
            ..on("http://otel:4318")
        };
        match (run(&config, vars), want) {
            (Ok(s), Ok(ms)) => assert_eq!(s.unwrap().timeout_ms, ms, "{timeout:?} {vars:?}"),
            (Err(e), Err(w)) => assert_eq!(e.0, w),
            (got, want) => panic!("got {:?}, want {want:?}", got.map_err(|e| e.0)),
        }
    }
}

#[test]
fn the_resource_takes_later_sources_over_earlier_and_afks_own_last() {
    let config = TelemetryConfig {
        resource: [
            (
                "deployment.environment.name".to_string(),
                "prod".to_string(),
            ),
            ("team".to_string(), "platform".to_string()),
            ("service.version".to_string(), "9.9.9".to_string()),
        ]
        .into_iter()
        .collect(),
        ..on("http://otel:4318")
    };
    let cases: [(Vars, Vars); 3] = [
        (&[], &[("service.name", "afk")]),
        (
            &[(
                RESOURCE_ATTRIBUTES,
                "service.name=from-env,team=env,region=eu%2Dwest",
            )],
            &[
                ("service.name", "from-env"),
                ("team", "platform"),
                ("region", "eu-west"),
            ],
        ),
        (
            &[
                (RESOURCE_ATTRIBUTES, "service.name=from-env"),
                (SERVICE_NAME, "afk-prod"),
            ],
            &[("service.name", "afk-prod")],
        ),
    ];
    let own = [
        ("service.version", "1.2.3"),
        ("service.instance.id", "0a1b2c3d"),
        ("telemetry.sdk.name", "afk"),
        ("telemetry.sdk.language", "rust"),
        ("telemetry.sdk.version", "1.2.3"),
    ];
    for (vars, want) in cases {
        let r = settings(&config, vars).resource;
        let get = |k: &str| r.iter().find(|(key, _)| key == k).map(|(_, v)| v.as_str());
        for (k, v) in want {
            assert_eq!(get(k), Some(*v), "{k} with {vars:?}");
        }
        assert_eq!(get("deployment.environment.name"), Some("prod"));
        // afk's own, last, overriding [telemetry.resource]'s service.version
        let tail: Vec<(&str, &str)> = r[r.len() - own.len()..]
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(tail, own, "{vars:?}");
        assert_eq!(r.iter().filter(|(k, _)| k == "service.version").count(), 1);
    }
}

#[test]
fn a_bad_resource_attributes_variable_is_an_error_naming_it() {
    let cases: [(&str, &str); 3] = [
        (
            "CANARY-SECRET",
            "config: OTEL_RESOURCE_ATTRIBUTES: entry 1 has no `=`",
        ),
        (
            "a=b,=CANARY-SECRET",
            "config: OTEL_RESOURCE_ATTRIBUTES: entry 2 has an empty key",
        ),
        (
            "a=CANARY-SECRET%g1",
            "config: OTEL_RESOURCE_ATTRIBUTES: entry 1 has bad percent-encoding",
        ),
    ];
    for (text, want) in cases {
        let e = error(&on("http://otel:4318"), &[(RESOURCE_ATTRIBUTES, text)]);
        assert!(e.starts_with(want), "{e}");
    }
}

#[test]
fn the_instance_known_later_is_set_once_after_the_version() {
    let mut s = run(&on("http://otel:4318"), &[]).unwrap().unwrap();
    s.resource.retain(|(k, _)| k != "service.instance.id");
    set_instance(&mut s, "");
    assert!(!s.resource.iter().any(|(k, _)| k == "service.instance.id"));
    set_instance(&mut s, "deadbeef");
    set_instance(&mut s, "cafef00d");
    let keys: Vec<&str> = s.resource.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        keys,
        [
            "service.name",
            "service.version",
            "service.instance.id",
            "telemetry.sdk.name",
            "telemetry.sdk.language",
            "telemetry.sdk.version"
        ]
    );
    assert_eq!(s.resource[2].1, "cafef00d");
}

#[test]
fn the_semconv_switch_is_kept_as_set_for_doctor() {
    let cases: [(Vars, Option<&str>); 2] = [
        (&[], None),
        (
            &[(SEMCONV_OPT_IN, "gen_ai_latest_experimental")],
            Some("gen_ai_latest_experimental"),
        ),
    ];
    for (vars, want) in cases {
        assert_eq!(
            settings(&on("http://otel:4318"), vars)
                .semconv_opt_in
                .as_deref(),
            want
        );
    }
}

#[test]
fn loopback_hosts_are_this_machine_only() {
    let cases: [(&str, Option<&str>, bool); 7] = [
        ("http://localhost:4318", Some("localhost"), true),
        ("http://127.0.0.1:4318/x", Some("127.0.0.1"), true),
        ("http://[::1]:4318", Some("::1"), true),
        ("http://otel:4318", Some("otel"), false),
        ("https://127.example.org", Some("127.example.org"), false),
        ("http://10.0.0.1", Some("10.0.0.1"), false),
        ("otel:4318", None, false),
    ];
    for (url, host, loopback) in cases {
        let got = url_host(url);
        assert_eq!(got.as_deref(), host, "{url}");
        assert_eq!(got.is_some_and(|h| is_loopback(&h)), loopback, "{url}");
    }
}

#[test]
fn percent_decoding_takes_two_hex_digits_a_byte_and_utf8() {
    let cases: [(&str, Option<&str>); 6] = [
        ("plain", Some("plain")),
        ("a%20b", Some("a b")),
        ("%C3%A9", Some("é")),
        ("100%", None),
        ("%zz", None),
        ("%FF", None),
    ];
    for (text, want) in cases {
        assert_eq!(percent_decode(text).as_deref(), want, "{text}");
    }
}

#[test]
fn the_box_gets_no_otel_variable_and_not_the_headers_variable() {
    let cases: [(&[&str], &str, Pair); 5] = [
        (&[], "", None),
        (&["PATH", "LANG"], "AFK_OTLP", None),
        (
            &["PATH", " OTEL_EXPORTER_OTLP_HEADERS"],
            "",
            Some(("OTEL_EXPORTER_OTLP_HEADERS", "an OTEL_* variable")),
        ),
        (
            &["AFK_OTLP"],
            "AFK_OTLP",
            Some((
                "AFK_OTLP",
                "telemetry.headers_env's variable, the collector's headers",
            )),
        ),
        (&["AFK_OTLP"], "", None),
    ];
    for (names, headers_env, want) in cases {
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        assert_eq!(
            box_env_refused(&names, headers_env),
            want,
            "{names:?} {headers_env:?}"
        );
    }
}
