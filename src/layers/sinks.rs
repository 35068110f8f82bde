//! One redacting boundary (docs/security.md#nothing-afk-writes-carries-a-secret):
//! nothing prints and no request is sent but through a sink that redacts.

use std::path::Path;

use super::{is_layers, production_lines, rust_files};

/// Every production file of the binary and the crates (not the sandbox's,
/// which is afk's test world, and not test files or test-only modules), by
/// its path under the workspace, with its production lines.
pub(super) fn production_files() -> Vec<(String, Vec<(usize, String)>)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = vec![];
    rust_files(&root.join("src"), &mut files);
    for c in std::fs::read_dir(root.join("crates")).unwrap().flatten() {
        if c.file_name() != "afk-sandbox" {
            rust_files(&c.path().join("src"), &mut files);
        }
    }
    files.sort();
    let test_only = ["tests.rs", "testing.rs"];
    files
        .into_iter()
        .filter(|f| !is_layers(f) && !test_only.iter().any(|t| f.ends_with(t)))
        .filter(|f| !f.components().any(|c| c.as_os_str() == "tests"))
        .map(|f| {
            let rel = f.strip_prefix(root).unwrap().display().to_string();
            let code = std::fs::read_to_string(&f).unwrap();
            (rel, production_lines(&code))
        })
        .collect()
}

/// The words of `lines` that `is_raw` finds, as `file:line: words`.
pub(super) fn raw_in(
    file: &str,
    lines: &[(usize, String)],
    is_raw: impl Fn(&str) -> bool,
) -> Vec<String> {
    lines
        .iter()
        .filter(|(_, l)| is_raw(l))
        .map(|(n, l)| format!("{file}:{n}: {}", l.trim()))
        .collect()
}

/// A print of its own: a print macro, or stdout or stderr taken by hand.
fn raw_print(line: &str) -> bool {
    ["println!", "print!", "eprintln!", "eprint!", "dbg!"]
        .iter()
        .any(|m| {
            line.match_indices(m)
                .any(|(i, _)| !line[..i].ends_with(|c: char| c.is_alphanumeric() || c == '_'))
        })
        || line.contains("io::stdout()")
        || line.contains("io::stderr()")
}

/// The sinks: the files that print, each redacting what it prints.
const PRINT_SINKS: [(&str, &str); 6] = [
    (
        "src/output.rs",
        "reports and lines to stdout: redact::text or redact::json first",
    ),
    (
        "src/document.rs",
        "the one --json document: redact::json first",
    ),
    (
        "src/main.rs",
        "the error document: its line and hints through redact::text",
    ),
    (
        "crates/afk-host/src/log.rs",
        "stderr's log lines: redact::text in `line`",
    ),
    (
        "crates/afk-host/src/say.rs",
        "the box's own lines, stdout and stderr: redact::text first",
    ),
    (
        "src/commands/sandbox.rs",
        "the sandbox's own made-up tokens, which it must show; afk loads no config there, so it holds no secret",
    ),
];

/// Everything afk prints passes a sink that redacts: no file but the sinks
/// prints by itself (a `println!` of forge or agent text would carry a
/// secret afk holds past the redaction).
#[test]
fn nothing_prints_but_through_a_redacting_sink() {
    let mut wrong = vec![];
    for (file, lines) in production_files() {
        if PRINT_SINKS.iter().any(|(s, _)| *s == file) {
            continue;
        }
        wrong.extend(raw_in(&file, &lines, raw_print));
    }
    assert!(
        wrong.is_empty(),
        "a print outside the sinks (output::line, afk_host::say, the log):\n{}",
        wrong.join("\n")
    );
}

/// A request sent by hand: ureq's sends.
fn raw_send(line: &str) -> bool {
    [
        ".call()",
        ".send_json(",
        ".send_string(",
        ".send_bytes(",
        ".send_form(",
        ".send(reader",
    ]
    .iter()
    .any(|s| line.contains(s))
}

/// What an allowed sender sends: a body only through `redact::json`, or no
/// body at all.
#[derive(PartialEq)]
enum Sends {
    BodiesRedacted,
    NoBody,
    /// a protobuf body every string of which went through `redact::text`
    /// as it was encoded (an OTLP export)
    StringsRedacted,
}

/// The files that send requests themselves, and why that is safe.
const SENDERS: [(&str, Sends, &str); 10] = [
    (
        "crates/afk-http/src/send.rs",
        Sends::BodiesRedacted,
        "the client every forge, agent-thread and Kubernetes call goes through",
    ),
    (
        "src/notify.rs",
        Sends::BodiesRedacted,
        "Slack and webhook posts",
    ),
    (
        "src/metrics.rs",
        Sends::NoBody,
        "the heartbeat's GET: its URL is the operator's, sent to its own host",
    ),
    (
        "src/upstream_refs.rs",
        Sends::NoBody,
        "a GET of an upstream's refs",
    ),
    (
        "crates/afk-registry/src/oci.rs",
        Sends::NoBody,
        "GETs of tags and the bearer token",
    ),
    (
        "crates/afk-registry/src/created.rs",
        Sends::NoBody,
        "GETs of a manifest and its config",
    ),
    (
        "src/runner/agent_box/gateway/mod.rs",
        Sends::BodiesRedacted,
        "the model gateway: the agent's API requests to the model's upstream, the key set by the keeper",
    ),
    (
        "src/runner/agent_box/gateway/setup.rs",
        Sends::NoBody,
        "doctor's one GET /v1/models with the gateway's key",
    ),
    (
        "src/telemetry/wire.rs",
        Sends::StringsRedacted,
        "OTLP exports to the operator's collector: every string of a span and the resource through redact::text as it is encoded, the header values registered as secrets",
    ),
    (
        "src/example.rs",
        Sends::BodiesRedacted,
        "the demo and `afk sandbox --tracker` play the people on their own sandbox's admin API",
    ),
];

/// Every request afk sends passes a sink that redacts its body: no file but
/// the listed senders sends one by itself, and each of those sends a body
/// only after `redact::json`, or none.
#[test]
fn no_request_is_sent_but_through_a_redacting_sink() {
    let mut wrong = vec![];
    for (file, lines) in production_files() {
        let sends = raw_in(&file, &lines, raw_send);
        match SENDERS.iter().find(|(s, ..)| *s == file) {
            None => wrong.extend(sends),
            Some((_, how, _)) => {
                let code: String = lines.iter().map(|(_, l)| l.as_str()).collect();
                let bodies = raw_in(&file, &lines, |l| raw_send(l) && !l.contains(".call()"));
                if *how == Sends::NoBody && !bodies.is_empty() {
                    wrong.extend(
                        bodies
                            .into_iter()
                            .map(|b| format!("{b} (listed as sending no body)")),
                    );
                }
                if *how == Sends::BodiesRedacted && !code.contains("redact::json(") {
                    wrong.push(format!("{file}: sends bodies, none through redact::json"));
                }
                if *how == Sends::StringsRedacted && !code.contains("redact::text(") {
                    wrong.push(format!(
                        "{file}: encodes strings, none through redact::text"
                    ));
                }
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "a request sent outside the redacting sinks:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn the_sink_rules_see_a_print_a_send_and_skip_tests() {
    let code = "fn f() {\n    println!(\"{token}\");\n    // eprintln!(\"in a comment\")\n    let _ = std::io::stderr().lock();\n    let x = my_println!(1);\n    agent.post(u).send_json(b)?;\n}\n#[cfg(test)]\nfn helper() {\n    eprintln!(\"test only\");\n}\n#[cfg(test)]\nmod tests {\n    fn t() { println!(\"x\"); }\n}\nfn g() { print!(\"y\") }\n";
    let lines = production_lines(code);
    assert_eq!(
        raw_in("f.rs", &lines, raw_print),
        [
            "f.rs:2: println!(\"{token}\");",
            "f.rs:4: let _ = std::io::stderr().lock();",
            "f.rs:16: fn g() { print!(\"y\") }",
        ]
    );
    assert_eq!(
        raw_in("f.rs", &lines, raw_send),
        ["f.rs:6: agent.post(u).send_json(b)?;"]
    );
}
