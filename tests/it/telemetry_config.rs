//! `[telemetry]` through the binary: bad input is exit 2 naming the key or
//! the variable and never its value, off reads no `OTEL_*` variable and opens
//! no connection, and doctor says where traces go without a header's value.

use crate::support::*;
use serde_json::{Value, json};

/// A header value nothing afk prints may show.
const CANARY: &str = "CANARY-SECRET-3d9b71e0c4";

/// `afk <args>` on `afk`'s config with `env` added: (exit code, stdout,
/// stderr).
fn run(afk: &Afk, env: &[(&str, &str)], args: &[&str]) -> (i32, String, String) {
    let mut c = afk.cmd();
    for (k, v) in env {
        c.env(k, v);
    }
    let out = c.args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

/// A config of `table` alone (no forge reached: load fails first).
fn bare(table: &str) -> Afk {
    Afk::with_text(&format!("state_path = \"state/afk.db\"\n\n{table}"))
}

/// A test's environment: (name, value) pairs.
type Env<'a> = Vec<(&'a str, String)>;

#[test]
fn a_bad_telemetry_setting_is_exit_2_naming_the_key_or_variable_never_its_value() {
    let on = "[telemetry]\nenabled = true\n";
    // (config, environment, what stderr names)
    let cases: [(String, Env, &str); 5] = [
        (
            format!("{on}endpoint = \"otel.example.org:4318\"\n"),
            vec![],
            "telemetry.endpoint \"otel.example.org:4318\" is not an http(s) URL (e.g. \"https://otel.example.org:4318\")",
        ),
        (
            format!("{on}endpoint = \"https://afk:{CANARY}@otel.example.org:4318\"\n"),
            vec![],
            "telemetry.endpoint has user info",
        ),
        (
            on.to_string(),
            vec![(
                "OTEL_EXPORTER_OTLP_ENDPOINT",
                format!("https://otel.example.org:4318/?token={CANARY}"),
            )],
            "OTEL_EXPORTER_OTLP_ENDPOINT has a query or a fragment",
        ),
        (
            format!("{on}endpoint = \"http://127.0.0.1:4318\"\n"),
            vec![(
                "OTEL_EXPORTER_OTLP_HEADERS",
                format!("authorization {CANARY}"),
            )],
            "OTEL_EXPORTER_OTLP_HEADERS: entry 1 has no `=`",
        ),
        (
            format!(
                "{on}endpoint = \"http://127.0.0.1:4318\"\n\n[runner.box]\nenv = [\"OTEL_EXPORTER_OTLP_HEADERS\"]\n"
            ),
            vec![],
            "runner.box.env",
        ),
    ];
    for (table, env, want) in cases {
        let afk = bare(&table);
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        for args in [&["doctor"][..], &["--json", "runs"][..]] {
            let (code, out, err) = run(&afk, &env, args);
            assert_eq!(code, 2, "{args:?} {table}\n{out}\n{err}");
            assert!(err.contains(want), "{args:?}: {want}\n{err}");
            // the exit-code table's hint for a refused telemetry setting
            if want != "runner.box.env" {
                assert!(
                    err.contains("; fix the key or variable it names (docs/telemetry.md#what-is-a-configuration-error), or set telemetry.enabled = false"),
                    "{args:?}: {err}"
                );
            }
            assert!(
                !err.contains(CANARY) && !out.contains(CANARY),
                "a value said back:\n{out}\n{err}"
            );
        }
    }
}

/// Off means nothing: with telemetry off, OTEL_* variables that would be
/// exit 2 with it on are not read, and a collector listening where they
/// point is never connected to.
#[test]
fn with_telemetry_off_no_otel_variable_is_read_and_no_connection_opened() {
    let collector = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    collector.set_nonblocking(true).unwrap();
    let url = format!("http://{}", collector.local_addr().unwrap());
    let sb = Sandbox::start(json!({"repos": [repo("acme/api", json!([]))]}));
    let afk = Afk::new(&sb, "enabled = true\nallowlist = [\"acme/api\"]", "");
    let bad = [
        ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", url.as_str()),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "not a url"),
        ("OTEL_EXPORTER_OTLP_HEADERS", CANARY),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
        ("OTEL_EXPORTER_OTLP_TIMEOUT", "soon"),
        ("OTEL_EXPORTER_OTLP_CLIENT_KEY", "/nonexistent/key.pem"),
    ];
    // poll first: it makes the state file the others read
    for args in [
        &["--json", "poll"][..],
        &["--json", "runs"][..],
        &["--json", "doctor"][..],
    ] {
        let (code, out, err) = run(&afk, &bad, args);
        assert_ne!(
            code, 2,
            "{args:?}: a config error with telemetry off\n{err}"
        );
        assert!(
            !out.contains(CANARY) && !err.contains(CANARY),
            "{out}\n{err}"
        );
        if args[1] == "doctor" {
            let r: Value = serde_json::from_str(&out).unwrap_or_else(|_| panic!("{out}\n{err}"));
            let lines: Vec<&Value> = r["checks"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|c| c["check"] == "telemetry")
                .collect();
            assert_eq!(lines.len(), 1, "{lines:?}");
            assert_eq!(lines[0]["level"], "ok");
            assert_eq!(lines[0]["detail"], "telemetry off");
        } else {
            assert_eq!(code, 0, "{args:?}\n{err}");
        }
    }
    match collector.accept() {
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
        other => panic!("a connection to the collector with telemetry off: {other:?}"),
    }
}

/// Doctor with telemetry on: where traces go and from which key, how many
/// headers and from where, never a value; a collector that refuses is a
/// WARN, never a FAIL.
#[test]
fn doctor_says_where_traces_go_and_warns_of_a_collector_that_refuses() {
    // a port nothing listens on
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let sb = Sandbox::start(json!({"repos": [repo("acme/api", json!([]))]}));
    let extra = format!(
        "[telemetry]\nenabled = true\nendpoint = \"http://127.0.0.1:{port}\"\nheaders_env = \"AFK_TEST_OTLP_HEADERS\"\n\
         [telemetry.resource]\n\"deployment.environment.name\" = \"test\"\n"
    );
    let afk = Afk::new(&sb, "enabled = true\nallowlist = [\"acme/api\"]", &extra);
    let headers = format!("authorization=Bearer%20{CANARY},x-scope=team-a");
    let env = [
        ("AFK_TEST_OTLP_HEADERS", headers.as_str()),
        ("OTEL_SERVICE_NAME", "afk-test"),
    ];
    let (code, out, err) = run(&afk, &env, &["--json", "doctor"]);
    assert_ne!(code, 2, "{err}");
    assert!(
        !out.contains(CANARY) && !err.contains(CANARY),
        "{out}\n{err}"
    );
    let r: Value = serde_json::from_str(&out).unwrap_or_else(|_| panic!("{out}\n{err}"));
    let lines: Vec<(String, String)> = r["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["check"] == "telemetry")
        .map(|c| {
            (
                c["level"].as_str().unwrap().to_string(),
                c["detail"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert_eq!(lines[0].0, "ok");
    assert_eq!(
        lines[0].1,
        format!(
            "traces go to http://127.0.0.1:{port}/v1/traces (from telemetry.endpoint); 2 headers from $AFK_TEST_OTLP_HEADERS (telemetry.headers_env); service.name afk-test; conventions semantic-conventions-genai v0.1.0; OTEL_SDK_DISABLED not true; OTEL_SEMCONV_STABILITY_OPT_IN not set"
        )
    );
    assert_eq!(lines[1].0, "warn", "{lines:?}");
    assert!(
        lines[1].1.contains("did not answer an empty export"),
        "{lines:?}"
    );
    // OTEL_SDK_DISABLED=true turns it off, and doctor says so
    let env = [
        ("AFK_TEST_OTLP_HEADERS", headers.as_str()),
        ("OTEL_SDK_DISABLED", "true"),
    ];
    let (_, out, err) = run(&afk, &env, &["doctor"]);
    assert!(
        out.contains("telemetry: telemetry off: OTEL_SDK_DISABLED=true turns it off"),
        "{out}\n{err}"
    );
}

/// Every file afk reads at a command's start is bounded: a collector's
/// certificate that is a FIFO (or a folder) never hangs a command; the
/// command goes on, and doctor names the file and why it was not read.
#[test]
fn a_certificate_that_is_a_fifo_hangs_no_command_and_doctor_says_so() {
    let afk = bare("[telemetry]\nenabled = true\nendpoint = \"https://127.0.0.1:9\"\n");
    let fifo = afk.scratch.path("ca.pem");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: a valid C string; mkfifo(3) only makes the file
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let env = [(
        "OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE",
        fifo.to_str().unwrap(),
    )];
    for args in [&["status"][..], &["doctor"][..]] {
        let mut cmd = afk.cmd();
        cmd.env(env[0].0, env[0].1)
            .args(args)
            .timeout(std::time::Duration::from_secs(60));
        let out = cmd.output().unwrap();
        assert!(
            out.status.code().is_some(),
            "{args:?} ended by itself: {out:?}"
        );
        if args == ["doctor"] {
            let text = String::from_utf8_lossy(&out.stdout);
            assert!(
                text.contains(&format!(
                    "cannot read the certificate file {}: not a regular file",
                    fifo.display()
                )),
                "{text}"
            );
        }
    }
}
