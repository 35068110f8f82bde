//! The demo's stage: its folder, the sandbox, who plays the agent, and the
//! first act's config and state.

use super::Args;
use super::world::{act_ctx, can_box, confine_line};
use crate::example::{agent_command, example_seed};
use crate::sandbox;
use crate::session::Session;
use anyhow::{Context, Result};

/// Who plays the agent (`--agent`): a real program on PATH, or the script
/// (`core::demo::agent_for`).
fn agent_choice(a: &Args) -> Result<Option<(crate::types::AgentKind, std::path::PathBuf)>> {
    let find = |prog: &str| {
        std::env::var_os("PATH").and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|d| d.join(prog))
                .find(|p| p.is_file())
        })
    };
    crate::core::demo::agent_for(a.agent.as_deref(), find)
        .map_err(|e| crate::command_error::UsageError(e.0).into())
}

/// The demo's stage: its folder, the sandbox, the scripted agent, and the
/// first act's config and state.
pub(super) struct Stage {
    pub(super) dir: std::path::PathBuf,
    pub(super) sb: sandbox::Sandbox,
    pub(super) agent: std::path::PathBuf,
    /// the real program that plays the agent (`--agent`), if any
    pub(super) real: Option<crate::types::AgentKind>,
    pub(super) ctx: Session,
}

/// Start the sandbox in a fresh folder, write the scripted agent, the token
/// and the first act's config, and record a lesson by hand.
pub(super) fn stage(json: bool, a: &Args) -> Result<Stage> {
    let real = agent_choice(a)?;
    // clap takes only `Dialect::NAMES`; a name without its `parse` arm is
    // refused, never played as Gitea
    let dialect = sandbox::Dialect::parse(&a.forge).ok_or_else(|| {
        crate::command_error::UsageError(format!("demo: unknown forge \"{}\"", a.forge))
    })?;
    let dir = a.folder()?;
    std::fs::create_dir_all(&dir)
        .with_context(|| format!("demo: cannot create {}", dir.display()))?;
    // as root, the sandbox's cluster runs each container as its spec's user
    // (and the box its agent as an unprivileged one): they pass through the
    // demo's folder (search only; its files stay private)
    // SAFETY: geteuid(2) cannot fail
    if unsafe { libc::geteuid() } == 0 {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o711))
            .with_context(|| format!("demo: cannot open {} to its containers", dir.display()))?;
    }
    let seed = example_seed();
    let sb = sandbox::start_with(dialect, "127.0.0.1:0", Some(seed), Some(dir.join("forge")))?;
    let forge_keys = super::world::forge_lines(&sb, &["acme/api", "acme/web", "acme/docs"]);
    let agent = dir.join("demo-agent.sh");
    crate::example::write_demo_agent(&agent)?;
    crate::store::private_write(&dir.join("token"), sb.token().as_bytes())?;
    // the upgrade act's fixer does its own git: it pushes with the
    // sandbox's push-only credential, handed over in its environment (the
    // act's `runner.secret_env`), never on a command line and never afk's
    // forge token
    // SAFETY: the sandbox has had no request and no agent runs yet, so no
    // thread reads the environment while it changes
    unsafe { std::env::set_var("AFK_DEMO_TOKEN", sb.push_token()) };
    let command = runner_lines(json, &sb, &dir, &agent, real.as_ref())?;
    let confine = confine_line();
    let config_text = format!(
        "state_path = \"afk.db\"\n[forge]\n{forge_keys}\ntoken_file = \"token\"\ntimeout = \"5s\"\n\
         [poll]\nenabled = true\nmax_per_tick = 8\nallowlist = [\"acme/api\", \"acme/web\", \"acme/docs\"]\n\
         [runner]\n{confine}{command}\n\
         [watch]\nci_contexts = [\"ci/build\"]\n",
    );
    let ctx = act_ctx(&dir.join("afk.toml"), &config_text, json)?;
    // a lesson from an earlier run, recorded by hand: it goes into the next prompt
    ctx.local()?.store.insert_lesson(
        &crate::store::lessons::NewLesson {
            lesson_type: crate::core::kinds::LessonKind::GateFailure.into(),
            source: crate::types::lesson::LessonSource::Manual,
            repo: Some("acme/api".into()),
            root_cause: Some("CI failed on formatting".into()),
            suggestion: Some("run the formatter before pushing".into()),
            ..Default::default()
        },
        None,
    )?;
    Ok(Stage {
        dir,
        sb,
        agent,
        real: real.map(|(k, _)| k),
        ctx,
    })
}

/// The main act's `[runner]` lines: the real program answered by the
/// sandbox's model (its environment set for the agents afk starts), or the
/// scripted agent; each said once, with whether turns run boxed.
fn runner_lines(
    json: bool,
    sb: &sandbox::Sandbox,
    dir: &std::path::Path,
    agent: &std::path::Path,
    real: Option<&(crate::types::AgentKind, std::path::PathBuf)>,
) -> Result<String> {
    // every agent turn in a box of its own where this machine can make one
    let boxed = can_box();
    if !json {
        match &boxed {
            Ok(()) => crate::output::line(
                "afk demo: each agent turn runs in a box of its own (bubblewrap): its checkout, its home, the model and nothing of afk's\n",
            ),
            Err(why) => {
                crate::output::line(&format!("afk demo: agents run unconfined here: {why}\n"))
            }
        }
    }
    let Some((kind, path)) = real else {
        if !json {
            crate::output::line(
                "afk demo: the agent is the scripted one (examples/demo-agent.sh); --agent claude|codex plays the story with the real program\n",
            );
        }
        return Ok(agent_command(sb, agent));
    };
    let home = dir.join("codex-home");
    sandbox::model_api::write_codex_home(&home, &sb.model_url)?;
    // SAFETY: geteuid(2) cannot fail
    let root = unsafe { libc::geteuid() } == 0;
    // in the box the agent is an ordinary user: no IS_SANDBOX
    let unboxed_root = root && boxed.is_err();
    for (k, v) in sandbox::model_api::agent_env(&sb.model_url, &home, unboxed_root) {
        // SAFETY: no agent runs yet and the sandbox has had no request,
        // so no thread reads the environment while it changes; the
        // agents afk starts inherit it
        unsafe { std::env::set_var(k, v) };
    }
    if !json {
        crate::output::line(&format!(
            "afk demo: the agent is the real {} ({}), answered by the sandbox's scripted model; \
             the Kubernetes and upgrade acts use the scripted agent\n",
            crate::core::demo::agent_name(*kind),
            path.display()
        ));
        crate::output::line(&gateway_line(*kind, boxed.is_ok()));
    }
    Ok(crate::core::demo::real_agent_lines(*kind))
}

/// Whether the real agent's model requests go through the model gateway
/// (docs/runners.md#the-model-gateway-runnermodel, with the demo's defaults:
/// `gateway = "auto"`, `network = "model"`, the key in the environment the
/// sandbox's model set), said in one line.
fn gateway_line(kind: crate::types::AgentKind, boxed: bool) -> String {
    use crate::core::gateway::{Api, InForce, Mode, Setting, in_force};
    let key_env = match kind {
        crate::types::AgentKind::Codex => "AFK_MODEL_KEY",
        _ => Api::Anthropic.default_key_env(),
    };
    let key_present = crate::config::env_secret_set(key_env);
    let setting = Setting {
        mode: Mode::Auto,
        agent: kind,
        boxed,
        network_model: true,
        key_env,
        key_present,
    };
    match in_force(&setting) {
        InForce::On(_) => "afk demo: its model requests go through afk's model gateway: the key stays outside the box, afk meters and prices each request (the run's spend) and stops the turn at its budget\n".into(),
        InForce::Off(why) | InForce::MissingKey(why) => format!(
            "afk demo: the model gateway is off here ({why}): the agent holds the model's key and its spend is its own word\n"
        ),
    }
}
