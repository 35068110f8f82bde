//! `[telemetry]` at load: off reads nothing, bad input is a config
//! error (exit 2) naming the key or the variable and never its value.
//! The environment is the test's own (`resolve_with`), never the
//! process's, where a case needs one.

use crate::config::tests::{err, parse};
use crate::config::{Config, ConfigError};

/// A header value no error, log or `{:?}` may show.
const CANARY: &str = "CANARY-SECRET-5e1f0c9a7b";

const ON: &str = "[telemetry]\nenabled = true\nendpoint = \"http://127.0.0.1:4318\"\n";

fn env_of(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let vars: Vec<(String, String)> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    move |name: &str| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
}

/// `text` (which leaves telemetry off) parsed, then switched on: its table,
/// for a case to resolve with its own environment (`parse` reads the
/// process's with telemetry on).
fn on_later(text: &str) -> Config {
    let mut c = parse(text).unwrap();
    c.telemetry_keys.enabled = true;
    c
}

/// The error `c`'s table gives with `vars` as the environment: a config
/// error, one line, without the canary.
fn env_err(c: &Config, vars: &[(&str, &str)]) -> String {
    let e = match c.telemetry_keys.resolve_with(&env_of(vars)) {
        Ok(s) => panic!("accepted: {s:?}"),
        Err(e) => e,
    };
    assert!(
        crate::hint::unhinted(&e).is::<ConfigError>(),
        "not a ConfigError: {e}"
    );
    let e = e.to_string();
    assert!(!e.contains('\n') && !e.contains(CANARY), "{e}");
    e
}

#[test]
fn telemetry_is_off_by_default_and_off_checks_nothing() {
    let c = parse("").unwrap();
    assert!(c.telemetry.is_none());
    assert!(!c.telemetry_keys.enabled);
    assert_eq!(c.telemetry_keys.timeout.as_millis(), 1000);
    // off: the table's values are not looked at, and no variable is read
    let c = parse(
        "[telemetry]\nendpoint = \"otel:4318\"\ntimeout = \"1h\"\nheaders_env = \"NOT-A-NAME\"\n\
         [runner.box]\nenv = [\"OTEL_EXPORTER_OTLP_HEADERS\"]\n",
    )
    .unwrap();
    assert!(c.telemetry.is_none());
    let panics = |name: &str| -> Option<String> { panic!("{name} read with telemetry off") };
    assert!(c.telemetry_keys.resolve_with(&panics).unwrap().is_none());
}

#[test]
fn an_enabled_table_resolves_at_load_into_the_settings() {
    let c = parse(&format!(
        "{ON}timeout = \"500ms\"\n[telemetry.resource]\n\"deployment.environment.name\" = \"prod\"\n"
    ))
    .unwrap();
    let s = c
        .telemetry_keys
        .resolve_with(&env_of(&[]))
        .unwrap()
        .expect("on");
    assert_eq!(s.traces_url, "http://127.0.0.1:4318/v1/traces");
    assert_eq!(s.traces_url_from, "telemetry.endpoint");
    assert_eq!(s.timeout_ms, 500);
    assert!(
        s.resource
            .contains(&("deployment.environment.name".into(), "prod".into()))
    );
    assert!(
        s.resource
            .contains(&("service.version".into(), env!("CARGO_PKG_VERSION").into()))
    );
}

#[test]
fn a_bad_telemetry_key_is_exit_2_naming_the_key_never_the_value() {
    let cases: [(&str, &str); 7] = [
        (
            "[telemetry]\nenabled = true\nendpoint = \"otel.example.org:4318\"\n",
            "config: telemetry.endpoint \"otel.example.org:4318\" is not an http(s) URL (e.g. \"https://otel.example.org:4318\")",
        ),
        (
            "[telemetry]\nenabled = true\nendpoint = \"https://afk:CANARY-SECRET-5e1f0c9a7b@otel:4318\"\n",
            "config: telemetry.endpoint has user info",
        ),
        (
            "[telemetry]\nenabled = true\nendpoint = \"https://otel:4318/?key=CANARY-SECRET-5e1f0c9a7b\"\n",
            "config: telemetry.endpoint has a query or a fragment",
        ),
        (
            "[telemetry]\nenabled = true\nendpoint = \"http://otel:4318\"\ntimeout = \"30s\"\n",
            "config: telemetry.timeout \"30s\" is out of range (from \"100ms\" to \"10s\")",
        ),
        (
            "[telemetry]\nenabled = true\nendpoint = \"http://otel:4318\"\nheaders_file = \"/nonexistent/afk-otlp-headers\"\n",
            "config: telemetry.headers_file /nonexistent/afk-otlp-headers: cannot read",
        ),
        (
            "[telemetry]\nenabled = true\nendpont = \"http://otel:4318\"\n",
            "config: unknown key \"endpont\" in [telemetry] at line 3 (did you mean \"endpoint\"?)",
        ),
        (
            "[telemetry]\nenabled = true\nendpoint = \"http://otel:4318\"\n[runner.box]\nenv = [\"PATH\", \"OTEL_EXPORTER_OTLP_HEADERS\"]\n",
            "config: runner.box.env at line 5: OTEL_EXPORTER_OTLP_HEADERS is an OTEL_* variable",
        ),
    ];
    for (text, want) in cases {
        let e = err(text);
        assert!(e.starts_with(want), "{text}\n{e}");
        assert!(!e.contains('\n') && !e.contains(CANARY), "{e}");
    }
}

#[test]
fn the_box_never_gets_the_collectors_headers_variable() {
    let e = err(&format!(
        "{ON}headers_env = \"AFK_OTLP_HEADERS\"\n[runner.box]\nenv = [\"AFK_OTLP_HEADERS\"]\n"
    ));
    assert!(
        e.starts_with(
            "config: runner.box.env at line 6: AFK_OTLP_HEADERS is telemetry.headers_env's variable"
        ),
        "{e}"
    );
    // with telemetry on, the variable is a secret afk strips from an
    // agent's environment; off, afk has nothing to do with it
    let text = "[telemetry]\nheaders_env = \"AFK_OTLP_HEADERS\"\n";
    let named = |c: &Config| {
        c.secret_env_names()
            .contains(&"AFK_OTLP_HEADERS".to_string())
    };
    assert!(!named(&parse(text).unwrap()));
    assert!(named(&on_later(text)));
}

/// A test's environment: (name, value) pairs.
type Env<'a> = Vec<(&'a str, String)>;

#[test]
fn a_bad_otel_variable_is_exit_2_naming_the_variable_never_its_value() {
    let c = on_later(
        "[telemetry]\nendpoint = \"http://127.0.0.1:4318\"\nheaders_env = \"AFK_UNIT_OTLP\"\n",
    );
    let bare = on_later("[telemetry]\n");
    let canary = CANARY;
    let cases: Vec<(&Config, Env, &str)> = vec![
        (
            &c,
            vec![("AFK_UNIT_OTLP", canary.to_string())],
            "config: $AFK_UNIT_OTLP (telemetry.headers_env): entry 1 has no `=`",
        ),
        (
            &c,
            vec![("AFK_UNIT_OTLP", format!("content-length={canary}"))],
            "config: $AFK_UNIT_OTLP (telemetry.headers_env): content-length is a header afk sets itself",
        ),
        (
            &c,
            vec![],
            "config: telemetry.headers_env names AFK_UNIT_OTLP, which is unset or empty",
        ),
        (
            &bare,
            vec![],
            "config: telemetry.enabled = true, but no endpoint is set",
        ),
        (
            &bare,
            vec![(
                "OTEL_EXPORTER_OTLP_ENDPOINT",
                format!("https://{canary}@otel:4318"),
            )],
            "config: OTEL_EXPORTER_OTLP_ENDPOINT has user info",
        ),
        (
            &bare,
            vec![
                ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://otel:4318".into()),
                ("OTEL_EXPORTER_OTLP_HEADERS", format!("x=%zz{canary}")),
            ],
            "config: OTEL_EXPORTER_OTLP_HEADERS: entry 1's value has bad percent-encoding",
        ),
        (
            &bare,
            vec![
                ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://otel:4318".into()),
                ("OTEL_EXPORTER_OTLP_TIMEOUT", canary.to_string()),
            ],
            "config: OTEL_EXPORTER_OTLP_TIMEOUT is not a whole number of milliseconds",
        ),
        (
            &bare,
            vec![
                ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://otel:4318".into()),
                ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc".into()),
            ],
            "config: OTEL_EXPORTER_OTLP_PROTOCOL: afk exports only with http/protobuf",
        ),
    ];
    for (config, vars, want) in cases {
        let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let e = env_err(config, &vars);
        assert!(e.starts_with(want), "{vars:?}\n{e}");
    }
}

#[test]
fn the_collectors_header_values_are_secrets_from_their_read() {
    let mut c = on_later(
        "[telemetry]\nendpoint = \"http://127.0.0.1:4318\"\nheaders_env = \"AFK_UNIT_OTLP_OK\"\n",
    );
    let value = format!("authorization=Bearer%20{CANARY},x-scope=team-a");
    c.telemetry = c
        .telemetry_keys
        .resolve_with(&env_of(&[("AFK_UNIT_OTLP_OK", value.as_str())]))
        .unwrap();
    let s = c.telemetry.as_ref().expect("on");
    assert_eq!(s.headers.len(), 2);
    assert_eq!(s.headers[0].1, format!("Bearer {CANARY}"));
    assert_eq!(s.headers_from, "$AFK_UNIT_OTLP_OK (telemetry.headers_env)");
    // the config as Debug shows (a log line, an error) holds none of it
    let shown = format!("{c:?}");
    assert!(!shown.contains(CANARY), "{shown}");
    // nor does any text afk writes: the value and its token alone
    let said = format!("sent Bearer {CANARY}; token {CANARY}");
    assert!(!crate::redact::text(&said).contains(CANARY));
    // doctor's short-secret check sees them, named by where they came from
    let named: Vec<String> = c
        .secret_values()
        .into_iter()
        .map(|(what, _)| what)
        .collect();
    assert!(
        named.contains(
            &"the collector's authorization header ($AFK_UNIT_OTLP_OK (telemetry.headers_env))"
                .to_string()
        ),
        "{named:?}"
    );
}

#[test]
fn a_headers_file_open_to_others_is_refused_and_a_private_one_read() {
    use std::os::unix::fs::PermissionsExt;
    let dir = std::env::temp_dir().join(format!("afk-unit-otlp-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("otlp-headers");
    std::fs::write(&file, format!("x-token={CANARY}\n")).unwrap();
    let text = format!("{ON}headers_file = \"{}\"\n", file.display());
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let e = err(&text);
    assert!(
        e.contains("telemetry.headers_file")
            && e.contains("is readable by group or others (mode 644)"),
        "{e}"
    );
    assert!(!e.contains(CANARY), "{e}");
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let c = parse(&text).unwrap();
    let s = c.telemetry.as_ref().expect("on");
    assert_eq!(s.headers, vec![("x-token".to_string(), CANARY.to_string())]);
    let _ = std::fs::remove_dir_all(&dir);
}
