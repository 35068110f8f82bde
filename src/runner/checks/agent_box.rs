//! The agent's box (docs/runners.md#the-agents-box): whether this machine
//! can make one, a probe run in a box made as a turn's would be (afk's state
//! file unreadable, the model's host reachable, the forge's refused), the
//! limits, and whether a boxed agent can authenticate. Unconfined agents
//! are said, and a named agent that would refuse to start is a FAIL.

use super::{Probe, Report};
use crate::config::Config;
use crate::core::agent_box::{Confine, Network, forwarder::HostPort};
use crate::core::doctor::Level;
use crate::runner::agent_box::{self as boxes, Boxer};
use crate::types::AgentKind;

pub(super) fn agent_box(c: &Config, at: &Probe, d: &mut dyn Report) {
    if c.runner.confine() == Confine::None {
        unconfined(c, d);
        return;
    }
    let b = Boxer::new(c);
    // afk as root: as the box's host user, who makes the box in a turn
    if let Err(why) = boxes::can_box_here(b.host_user()) {
        d.add("box", Level::Fail, why.0);
        return;
    }
    gateway(&b, d);
    if !view(c, &b, d) {
        return;
    }
    probed(c, at, &b, d);
    box_user(c, &b, d);
    limits(c, d);
    if let Some(why) = no_login(c.runner.agent()) {
        d.add("box", Level::Warn, why);
    }
}

/// An unconfined agent is said; a claude as root (outside a sandbox) would
/// refuse to start, a FAIL.
fn unconfined(c: &Config, d: &mut dyn Report) {
    // SAFETY: geteuid(2) cannot fail
    let root = unsafe { libc::geteuid() } == 0;
    if root
        && c.runner.agent() == AgentKind::Claude
        && std::env::var("IS_SANDBOX").as_deref() != Ok("1")
    {
        d.add(
            "box",
            Level::Fail,
            "afk runs as root with runner.confine = \"none\": Claude Code refuses --dangerously-skip-permissions as root, so every dispatch would escalate agent-failed; set runner.confine = \"box\" (its agent is an ordinary user) or run afk as another user".into(),
        );
    }
    d.add(
        "box",
        Level::Warn,
        "the agent runs unconfined as afk's user (runner.confine = \"none\"): it can read afk's token, state and config, reach any network, and leave processes running after its turn".into(),
    );
    let off = crate::core::gateway::doctor::Decided::Off(
        "the agent runs unconfined (confine = \"none\")",
    );
    let (level, text) = crate::core::gateway::doctor::gateway_line(&off);
    d.add("gateway", level, text);
}

/// The model gateway as the keeper would run it (docs/runners.md#the-model-gateway-runnermodel): who holds the
/// key, whose word the spend is; `gateway = "on"` without its key, a FAIL.
fn gateway(b: &Boxer, d: &mut dyn Report) {
    use crate::core::gateway::doctor::{Decided, gateway_line};
    let decided = match b.gateway() {
        boxes::GatewaySetup::On(on) => Decided::On {
            api: on.api,
            key_env: &on.key_env,
            upstream: &on.upstream,
        },
        boxes::GatewaySetup::Off(why) => Decided::Off(why),
        boxes::GatewaySetup::Refused(why) => Decided::Refused(why),
    };
    let (level, text) = gateway_line(&decided);
    d.add("gateway", level, text);
    if let boxes::GatewaySetup::On(on) = b.gateway() {
        d.add(
            "gateway",
            Level::Ok,
            crate::core::gateway::doctor::features_line(on.allow_features()),
        );
        let probe = on.probe_key();
        let (level, text) = crate::core::gateway::doctor::key_line(&on.key_env, &probe);
        d.add("model key", level, text);
    }
}

/// The box's view of the agent's command, and the folders of afk's PATH it
/// does not show; false when no view can be made (a FAIL, said).
fn view(c: &Config, b: &Boxer, d: &mut dyn Report) -> bool {
    let argv = crate::core::agent::argv(c.runner.agent(), &c.runner.command, None, None);
    let view = match b.base_view(&argv) {
        Err(e) => {
            d.add("box", Level::Fail, format!("{e:#}"));
            return false;
        }
        Ok((view, _)) => view,
    };
    let program = argv.first().map(String::as_str).unwrap_or("");
    let unseen = b.path_unseen(&view, program);
    if !unseen.is_empty() {
        let shown: Vec<String> = unseen
            .iter()
            .take(8)
            .map(|p| p.display().to_string())
            .collect();
        d.add(
            "box",
            Level::Warn,
            format!(
                "the box does not show these folders of afk's PATH: {}; a program the agent runs from them (a toolchain in pyenv or ~/.cargo) is not found in its box: name its folder in runner.box.read_only",
                shown.join(", ")
            ),
        );
    }
    true
}

/// A probe in a box made as a turn's would be: the env files afk's secrets
/// live in (`core::doctor::box_env_files`), then afk's state file and the
/// network (`judge`).
fn probed(c: &Config, at: &Probe, b: &Boxer, d: &mut dyn Report) {
    // the env files afk's secrets live in: the documented one, one beside
    // the config, the units' EnvironmentFile
    let mut env_files: Vec<std::path::PathBuf> = vec!["/etc/afk/env".into()];
    env_files.extend(at.config_path.parent().map(|d| d.join("env")));
    env_files.extend(at.unit_env.iter().cloned());
    env_files.retain(|f| f.is_file());
    env_files.sort();
    env_files.dedup();
    match probe(c, at.state_path, b, &env_files) {
        Ok(found) => {
            if let Some((level, text)) = crate::core::doctor::box_env_files(&found) {
                d.add("box", level, text);
            }
            let (level, text) = judge(b, &found);
            d.add("box", level, text);
        }
        Err(e) => d.add(
            "box",
            Level::Fail,
            format!("cannot run a probe in a box: {e:#}"),
        ),
    }
}

/// As root, the box's user: never root, and nobody else's: the dedicated
/// `afk-agent` account, or ids no account has and no subordinate range
/// covers (a process of that uid could reach the running box's files).
fn box_user(c: &Config, b: &Boxer, d: &mut dyn Report) {
    if b.user_not_in_force() {
        d.add("box", Level::Fail, boxes::USER_NOT_IN_FORCE.into());
        return;
    }
    let Some((uid, gid)) = b.host_user() else {
        return;
    };
    let dedicated = crate::config::is_dedicated_account((uid, gid));
    let named = !c.runner.boxed.user.trim().is_empty()
        && !c
            .runner
            .boxed
            .user
            .trim()
            .starts_with(|ch: char| ch.is_ascii_digit());
    if !dedicated && !named {
        let ranges = crate::config::subordinate_ranges();
        let taken = crate::core::agent_box::ids::id_taken(
            uid,
            crate::config::uid_has_account(uid),
            &ranges,
            "uid",
        )
        .or_else(|| {
            crate::core::agent_box::ids::id_taken(
                gid,
                crate::config::gid_has_group(gid),
                &ranges,
                "gid",
            )
        });
        if let Some(why) = taken {
            d.add(
                "box",
                Level::Fail,
                format!(
                    "afk runs as root and the box's user is host uid {uid} (gid {gid}): {why}; create the dedicated account (useradd --system --no-create-home --shell /usr/sbin/nologin afk-agent) or set runner.box.user to ids nobody has"
                ),
            );
            return;
        }
    }
    let whose = if dedicated {
        "the dedicated account afk-agent".to_string()
    } else if named {
        format!(
            "the account {} (runner.box.user): run nothing else as it",
            c.runner.boxed.user.trim()
        )
    } else {
        "ids no account has and no subordinate range covers".to_string()
    };
    d.add(
        "box",
        Level::Ok,
        format!(
            "afk runs as root: the box's user is host uid {uid} (gid {gid}), {whose}; never root; what the agent makes is that user's (runner.box.user)"
        ),
    );
    for p in &c.runner.boxed.read_write {
        use std::os::unix::fs::MetadataExt;
        let Ok(m) = std::fs::metadata(p) else {
            continue;
        };
        let mode = m.mode();
        let writable = (m.uid() == uid && mode & 0o200 != 0)
            || (m.gid() == gid && mode & 0o020 != 0)
            || mode & 0o002 != 0;
        if !writable {
            d.add(
                "box",
                Level::Fail,
                format!(
                    "runner.box.read_write {} is not writable by the box's user (uid {uid}, gid {gid}; it is uid {}'s, mode {:o}): the agent's writes there fail inside the turn; chown {uid}:{gid} it or name another folder",
                    p.display(),
                    m.uid(),
                    mode & 0o7777
                ),
            );
        }
    }
}

/// Whether runner.box.memory and tasks, when set, are in force here.
fn limits(c: &Config, d: &mut dyn Report) {
    let b_keys = &c.runner.boxed;
    if !b_keys.memory.is_empty() || b_keys.tasks > 0 {
        match boxes::limits_in_force() {
            Ok(()) => d.add(
                "box",
                Level::Ok,
                "runner.box.memory and tasks: each turn gets a cgroup of its own".into(),
            ),
            Err(why) => d.add(
                "box",
                Level::Fail,
                format!(
                    "runner.box.memory and tasks cannot be applied here, so no turn starts: {why}"
                ),
            ),
        }
    }
}

/// What the probe found: `state`, `model`, `forge` lines.
fn judge(b: &Boxer, found: &str) -> (Level, String) {
    let get = |k: &str| {
        found
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{k}=")))
            .unwrap_or("?")
            .to_string()
    };
    let allow: Vec<String> = b.allow().iter().map(HostPort::to_string).collect();
    if get("state") != "hidden" {
        return (
            Level::Fail,
            "a probe in the agent's box could read afk's state file: check runner.box.read_only and read_write".into(),
        );
    }
    match b.network() {
        Network::Open => (
            Level::Warn,
            "each turn runs in a box of its own (bubblewrap): afk's files are out of its sight, but runner.box.network = \"open\" gives it the host's network".into(),
        ),
        Network::None => (
            Level::Ok,
            "each turn runs in a box of its own (bubblewrap) with no network (runner.box.network = \"none\"): afk's files are out of its sight".into(),
        ),
        Network::Model if b.allow().is_empty() => (
            Level::Ok,
            "each turn runs in a box of its own (bubblewrap): a probe in it cannot read afk's state file; runner.box.allow is empty, so it reaches no network (a custom agent's model needs an entry)".into(),
        ),
        Network::Model => {
            let model = get("model");
            let forge = get("forge");
            if forge == "reached" && !b.agent_does_git() {
                return (
                    Level::Fail,
                    format!(
                        "a probe in the agent's box reached the forge: runner.box.allow ({}) must name only the model",
                        allow.join(", ")
                    ),
                );
            }
            if model != "reached" {
                return (
                    Level::Fail,
                    format!(
                        "a probe in the agent's box could not reach its model ({}: {model}): check that the host resolves and answers, or set runner.box.allow",
                        allow.first().cloned().unwrap_or_else(|| "no allow entry".into())
                    ),
                );
            }
            let forge_words = if b.agent_does_git() {
                " (the forge too: workspace = \"agent\" does its own git)"
            } else {
                " and not the forge"
            };
            (
                Level::Ok,
                format!(
                    "each turn runs in a box of its own (bubblewrap): a probe in it cannot read afk's state file, reaches {}{forge_words}",
                    allow.join(", ")
                ),
            )
        }
    }
}

/// Why a boxed named agent would have no way to log in, if so.
fn no_login(agent: AgentKind) -> Option<String> {
    let set = |k: &str| std::env::var_os(k).is_some_and(|v| !v.is_empty());
    // a key's or a token's presence: through the config's reader
    use crate::config::env_secret_set as key_set;
    match agent {
        AgentKind::Claude => {
            let key = [
                "ANTHROPIC_API_KEY",
                "ANTHROPIC_AUTH_TOKEN",
                "CLAUDE_CODE_OAUTH_TOKEN",
            ]
            .iter()
            .any(|k| key_set(k));
            (!key && !set("CLAUDE_CONFIG_DIR")).then(|| {
                "a boxed claude has no way to log in: its home is the run's own, so set ANTHROPIC_API_KEY (or CLAUDE_CODE_OAUTH_TOKEN) in afk's environment, or CLAUDE_CONFIG_DIR to the folder of its login (docs/runners.md#the-agents-box)".to_string()
            })
        }
        AgentKind::Codex => {
            let key = ["OPENAI_API_KEY", "CODEX_API_KEY"]
                .iter()
                .any(|k| key_set(k));
            (!key && !set("CODEX_HOME")).then(|| {
                "a boxed codex has no way to log in: its home is the run's own, so set OPENAI_API_KEY in afk's environment, or CODEX_HOME to the folder of its config and login (docs/runners.md#the-agents-box)".to_string()
            })
        }
        AgentKind::Custom => None,
    }
}

/// Run `afk __box-probe` in a box made as a turn's would be, in a scratch
/// run folder; what it printed.
fn probe(
    c: &Config,
    state_path: &std::path::Path,
    b: &Boxer,
    env_files: &[std::path::PathBuf],
) -> anyhow::Result<String> {
    let dir = std::env::temp_dir().join(format!("afk-doctor-box-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let work = dir.join("work");
    crate::private_files::private_dir(&work)?;
    let progress = dir.join("progress.jsonl");
    crate::private_files::private_write(&progress, b"")?;
    let prompt = dir.join("prompt-1.md");
    crate::private_files::private_write(&prompt, b"")?;
    let forge = HostPort::of_url(&c.forge.api_url)
        .or_else(|| HostPort::of_url(&c.forge.url))
        .map(|h| h.to_string())
        .unwrap_or_default();
    let model = b.allow().first().map(|h| h.to_string()).unwrap_or_default();
    let mut argv = vec![
        crate::core::agent_box::mounts::PROGRAM_PATH.to_string(),
        crate::runner::agent_box::PROBE_CMD.to_string(),
        // not an absolute path: the box binds the files its command names,
        // and afk's state file is one it may not show
        format!("state={}", state_path.display()),
        model,
        forge,
    ];
    // not absolute paths either: the box binds no file a probe names
    argv.extend(env_files.iter().map(|f| format!("read={}", f.display())));
    let line = b.wrap(
        &argv,
        &boxes::TurnPaths {
            run_dir: &dir,
            workdir: &work,
            prompt_file: &prompt,
            progress: &progress,
            repo: "",
            turn: 1,
            name: format!("doctor-{}", std::process::id()),
            budget_usd: None,
            gate: None,
            turn_vars: vec![],
            run: None,
        },
    );
    let out = line.and_then(|line| {
        let out = line.command().stdin(std::process::Stdio::null()).output()?;
        Ok(String::from_utf8_lossy(&out.stdout).to_string())
    });
    let _ = std::fs::remove_dir_all(&dir);
    out
}
