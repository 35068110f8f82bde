//! Secrets by type (docs/security.md#nothing-afk-writes-carries-a-secret): a
//! secret afk reads from its environment becomes a `redact::Secret` where it
//! is read, so every sink knows it. A value read straight from the
//! environment in a new place would be invisible to them, so the places that
//! read the environment at all are named here, each with what it reads, and
//! those that read a secret apart.

use super::sinks::{production_files, raw_in};

/// A read of the process's environment by hand.
fn env_read(line: &str) -> bool {
    line.contains("env::var(") || line.contains("env::var_os(") || line.contains("env::vars")
}

/// The files that read a secret from the environment: each makes it a
/// `Secret` (registered with the redacting sinks) as it reads it.
const SECRET_READERS: [(&str, &str); 7] = [
    (
        "src/config/secrets.rs",
        "the config's *_env secrets and runner.secret_env: Secret::new as read",
    ),
    ("src/config/forge.rs", "forge.token_env: a Secret"),
    ("src/config/hook.rs", "hook.secret_env: a Secret"),
    ("src/runner/http.rs", "runner.token_env: a Secret"),
    (
        "src/runner/agent_box/gateway/setup.rs",
        "the model's key for doctor's probe (a Secret) and to find its copies among afk's variables",
    ),
    (
        "src/runner/agent_box/gateway/mod.rs",
        "the model's key (key_env): a Secret; the env it hands the box, copies of the key left out",
    ),
    (
        "src/runner/kubernetes/gateway.rs",
        "the pod gateway's spec and key file path (the key itself is read from its file into a Secret)",
    ),
];

/// The files that read non-secret variables: paths, afk's own knobs, the
/// platform's (each read is of a name written here, never a secret's).
const PLAIN_READERS: [(&str, &str); 24] = [
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
        "IS_SANDBOX, whether variables are set",
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
        "src/commands/doctor/local.rs",
        "CODEX_HOME, HOME; whether a key variable is set",
    ),
    (
        "src/commands/demo/stage.rs",
        "PATH; whether the model key is set",
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
