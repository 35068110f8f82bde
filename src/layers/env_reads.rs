//! Secrets by type (docs/security.md#nothing-afk-writes-carries-a-secret): a
//! secret afk reads from its environment becomes a `redact::Secret` where it
//! is read, so every sink knows it. A value read straight from the
//! environment in a new place would be invisible to them, so the places that
//! read the environment at all are named here, each with what it reads, and
//! those that read a secret apart: the config's files only. Everywhere else
//! a key, a token or a secret is read through the config's readers
//! (`config::env_secret`, `env_secret_set`, `env_vars_holding`,
//! `model_key_file`, `Config::runner_token`, `forge_token`, `hook_secret`),
//! also in a process of its own (the keeper, a pod's gateway container).

use super::sinks::{production_files, raw_in};

/// A read of the process's environment by hand.
fn env_read(line: &str) -> bool {
    line.contains("env::var(") || line.contains("env::var_os(") || line.contains("env::vars")
}

/// The files that read a secret from the environment: each makes it a
/// `Secret` (registered with the redacting sinks) as it reads it. All of
/// them the config's
/// (`no_file_outside_the_config_reads_a_key_a_token_or_a_secret_from_the_environment`).
const SECRET_READERS: [(&str, &str); 4] = [
    (
        "src/config/secrets.rs",
        "the config's *_env secrets, runner.secret_env, runner.token_env, the model's key (in afk, the keeper and a pod's gateway) and its copies among the variables, a key's presence: Secret::new as read",
    ),
    ("src/config/forge.rs", "forge.token_env: a Secret"),
    ("src/config/hook.rs", "hook.secret_env: a Secret"),
    (
        "src/config/telemetry.rs",
        "the OTEL_* variables and telemetry.headers_env, only with telemetry on (off reads none of them): each header value a Secret as read",
    ),
];

/// The files that read non-secret variables: paths, afk's own knobs, the
/// platform's (each read is of a name written here, never a secret's).
const PLAIN_READERS: [(&str, &str); 26] = [
    (
        "src/runner/agent_box/gateway/setup.rs",
        "ANTHROPIC_BASE_URL, OPENAI_BASE_URL (the model key's presence and copies through the config's readers)",
    ),
    (
        "src/runner/kubernetes/gateway.rs",
        "the pod gateway's spec, stop mark and health port (its key through config::model_key_file)",
    ),
    ("src/ops/poll/claims.rs", "AFK_CANARY_SEED (tests' draws)"),
    (
        "src/ops/harvest/canary.rs",
        "AFK_TEST_EXIT_AFTER (crash tests)",
    ),
    ("src/config/state.rs", "XDG_STATE_HOME, HOME"),
    (
        "src/config/discover.rs",
        "AFK_CONFIG, XDG_CONFIG_HOME, HOME",
    ),
    (
        "src/runner/agent_box/paths.rs",
        "PATH, HOME, CODEX_HOME, the agent program's base URLs",
    ),
    (
        "src/runner/agent_box/mod.rs",
        "HOME, PATH; the box's env filtered by its allowlist",
    ),
    (
        "src/runner/agent_box/keeper.rs",
        "the keeper's env, passed to the box only by its allowlist",
    ),
    ("src/runner/agent_box/probe.rs", "HTTPS_PROXY"),
    (
        "src/runner/checks/agent_box.rs",
        "IS_SANDBOX, CLAUDE_CONFIG_DIR, CODEX_HOME (a key's presence through config::env_secret_set)",
    ),
    ("src/runner/checks/local.rs", "PATH"),
    (
        "src/runner/turn_end.rs",
        "AFK_TURN_END_WATCH; the keeper strips afk's secrets from the agent's env",
    ),
    ("src/runner/kubernetes/jobs.rs", "HOSTNAME"),
    (
        "src/runner/kubernetes/client.rs",
        "KUBERNETES_SERVICE_HOST, _PORT",
    ),
    ("src/runner/kubernetes/doctor.rs", "KUBERNETES_SERVICE_HOST"),
    ("src/crash.rs", "AFK_CRASH_AT (crash tests)"),
    ("src/workspace_pod.rs", "the Job's AFK_* variables"),
    ("src/session.rs", "AFK_CONFIG"),
    (
        "src/budget.rs",
        "CODEX_HOME, HOME (where Codex's config.toml names its model)",
    ),
    (
        "src/commands/demo/stage.rs",
        "PATH (the model key's presence through config::env_secret_set)",
    ),
    ("src/commands/demo/mod.rs", "AFK_CANARY_SEED"),
    ("crates/afk-store/src/lib.rs", "AFK_BUSY_TIMEOUT_MS"),
    ("crates/afk-git/src/run.rs", "PATH"),
    ("crates/afk-host/src/clock.rs", "AFK_NOW (tests' clock)"),
    ("crates/afk-host/src/log.rs", "AFK_LOG"),
];

/// No file reads the environment but those named above: a new reader is
/// named (a secret one makes a `Secret` as it reads).
#[test]
fn no_file_reads_the_environment_but_those_named() {
    let named = |f: &str| {
        SECRET_READERS
            .iter()
            .chain(PLAIN_READERS.iter())
            .any(|(n, _)| *n == f)
    };
    let mut wrong = vec![];
    let mut readers = vec![];
    for (file, lines) in production_files() {
        let found = raw_in(&file, &lines, env_read);
        if !found.is_empty() {
            readers.push(file.clone());
        }
        if !named(&file) {
            wrong.extend(found);
        }
    }
    assert!(
        wrong.is_empty(),
        "a read of the environment outside the named files (a secret read so would be invisible to the sinks: make it a Secret, and name the file):\n{}",
        wrong.join("\n")
    );
    // and no name kept for a file that no longer reads
    let stale: Vec<&str> = SECRET_READERS
        .iter()
        .chain(PLAIN_READERS.iter())
        .map(|(n, _)| *n)
        .filter(|n| !readers.iter().any(|r| r == n))
        .collect();
    assert!(stale.is_empty(), "named but reading nothing: {stale:?}");
}

/// What a variable holding a key, a token or a secret is called: its name
/// (`ANTHROPIC_API_KEY`, `AFK_FORGE_TOKEN`) or the config key naming it
/// (`key_env`, `token_env`, `secret_env`).
const SECRET_WORDS: [&str; 6] = ["key", "token", "secret", "password", "credential", "auth"];

/// The named reads of the environment among `lines` (`env::var(…)`,
/// `env::var_os(…)`) whose argument, up to its closing parenthesis (on a
/// later line too), names a secret ([`SECRET_WORDS`], any case): each as
/// its line's number and its argument.
fn secret_reads(lines: &[(usize, String)]) -> Vec<(usize, String)> {
    let mut out = vec![];
    for (i, (n, line)) in lines.iter().enumerate() {
        for call in ["env::var(", "env::var_os("] {
            for (at, _) in line.match_indices(call) {
                // the call's text from its argument on, over the next lines
                let mut rest = line[at + call.len()..].to_string();
                for (_, next) in lines.iter().skip(i + 1).take(4) {
                    rest.push('\n');
                    rest.push_str(next);
                }
                let mut depth = 1;
                let mut end = rest.len();
                for (j, c) in rest.char_indices() {
                    match c {
                        '(' => depth += 1,
                        ')' => depth -= 1,
                        _ => {}
                    }
                    if depth == 0 {
                        end = j;
                        break;
                    }
                }
                let arg = rest[..end].split_whitespace().collect::<Vec<_>>().join(" ");
                let lower = arg.to_ascii_lowercase();
                if SECRET_WORDS.iter().any(|w| lower.contains(w)) {
                    out.push((*n, arg));
                }
            }
        }
    }
    out
}

/// The reader finds a read of a key, a token or a secret by its argument,
/// on one line or over several, and nothing in a plain read or after the
/// call's closing parenthesis.
#[test]
fn a_read_of_the_environment_naming_a_secret_is_found_by_its_argument() {
    let cases: [(&str, &[&str]); 9] = [
        (
            "let k = std::env::var(&spec.key_env).ok();",
            &["&spec.key_env"],
        ),
        (
            "match std::env::var(&cfg.runner.token_env) {",
            &["&cfg.runner.token_env"],
        ),
        (
            "let s = std::env::var(\n    &self.hook.secret_env,\n)\n.ok();",
            &["&self.hook.secret_env,"],
        ),
        (
            "let set = std::env::var_os(\"ANTHROPIC_API_KEY\").is_some();",
            &["\"ANTHROPIC_API_KEY\""],
        ),
        ("std::env::var(kg::KEY_FILE_VAR)", &["kg::KEY_FILE_VAR"]),
        ("let p = std::env::var_os(\"PATH\")?;", &[]),
        (
            "std::env::var(kg::SPEC_VAR).map_err(|_| anyhow!(\"no key\"))?;",
            &[],
        ),
        ("for (k, v) in std::env::vars_os() {", &[]),
        ("let v = std::env::var(format!(\"{}\", name(\"x\")));", &[]),
    ];
    for (code, want) in cases {
        let lines: Vec<(usize, String)> = code
            .lines()
            .enumerate()
            .map(|(i, l)| (i + 1, l.to_string()))
            .collect();
        let got: Vec<String> = secret_reads(&lines).into_iter().map(|(_, a)| a).collect();
        assert_eq!(got, want, "{code}");
    }
}

/// #83 item 5, secrets by type end to end: no file outside `src/config`
/// reads a variable whose name says it holds a key, a token or a secret
/// (a model's key, a runner's token, `runner.secret_env`'s values); each
/// goes through the config's readers, which make it a `Secret` as they read
/// it, also in a process of its own (the keeper, a pod's gateway). And the
/// files named as secret readers are the config's only.
#[test]
fn no_file_outside_the_config_reads_a_key_a_token_or_a_secret_from_the_environment() {
    let mut found = vec![];
    for (file, lines) in production_files() {
        if file.starts_with("src/config/") {
            continue;
        }
        for (n, arg) in secret_reads(&lines) {
            found.push(format!("{file}:{n}: env::var({arg})"));
        }
    }
    assert_eq!(
        found.len(),
        0,
        "a key, a token or a secret read from the environment outside src/config (read it through config::env_secret or a reader beside it, a Secret as it is read):\n{}",
        found.join("\n")
    );
    let outside: Vec<&str> = SECRET_READERS
        .iter()
        .map(|(f, _)| *f)
        .filter(|f| !f.starts_with("src/config/"))
        .collect();
    assert_eq!(
        outside,
        Vec::<&str>::new(),
        "a secret reader outside src/config: move its read into the config's readers"
    );
}
