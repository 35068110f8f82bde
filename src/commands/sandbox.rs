//! `afk sandbox`: serve the loopback forge until stopped; print its URL and a config.
//!
//! A sandbox starts from nothing: a `--dir` an earlier sandbox used is emptied
//! first (its afk state would call every arming `already-handled`), a folder
//! holding anything else is refused, and a second sandbox on a folder one is
//! still serving is refused. Without `--dir` the repositories live in a new
//! temporary folder, removed when the sandbox is stopped (SIGTERM, SIGINT or
//! SIGHUP; a SIGKILL leaves it behind).

use crate::command_error::UsageError;
use crate::core::sandbox_dir::{self, DirFacts, DirPlan};
use crate::lock::TickLock;
use crate::sandbox::{self, Seed};
use crate::session::{Outcome, Session};
use anyhow::{Context, Result};
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Loopback address to listen on (port 0: any free port)
    #[arg(long, default_value = "127.0.0.1:0")]
    pub addr: String,
    /// JSON file with users, repos, labels, issues (see docs/sandbox.md)
    #[arg(long, value_name = "FILE")]
    pub seed: Option<PathBuf>,
    /// Directory for the sandbox's repositories [default: a new temporary directory]
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// The forge API it speaks (gitea at /api/v1, github at /api/v3: its
    /// dialect's API prefix); `--forge` is the same, as `afk demo` names it
    #[arg(long, visible_alias = "forge", default_value = "gitea", value_parser = sandbox::Dialect::NAMES)]
    pub dialect: String,
    /// Serve the demo's repos and issues (acme/api, acme/web, acme/docs) when no --seed is given
    #[arg(long)]
    pub example: bool,
    /// Print a config whose runner is the sandbox's Kubernetes API (kind = "kubernetes")
    #[arg(long)]
    pub kubernetes: bool,
    /// Print the environment that points the real `claude` and `codex` at the
    /// sandbox's scripted model, and a config whose agent is `claude` (or
    /// --agent's)
    #[arg(long)]
    pub model: bool,
    /// With --model: the real agent the printed config runs [default: claude]
    #[arg(long, requires = "model", value_parser = ["claude", "codex"])]
    pub agent: Option<String>,
    /// Post the forge's webhooks (labels, comments, reviews, statuses,
    /// pushes, PRs opened and closed) to URL, signed as its dialect signs
    /// them, with the seed's `hook_secret` or one drawn and printed
    #[arg(long, value_name = "URL")]
    pub hook_url: Option<String>,
    /// Serve a tracker beside the forge as the demo does (Jira: alice in the
    /// trusted group g-dev, PLAT-1 armed by her, PLAT-2 by mallory; Linear:
    /// alice in team ENG, ENG-1 and ENG-2 likewise) and print a `[tracker]`
    /// mapping it to the first repository
    #[arg(long, value_parser = ["jira", "linear"])]
    pub tracker: Option<String>,
}

pub fn run(_: &Session, a: &Args) -> Result<Outcome> {
    let seed = match &a.seed {
        Some(p) => {
            let text = std::fs::read_to_string(p)
                .with_context(|| format!("sandbox: cannot read seed {}", p.display()))?;
            Some(
                serde_json::from_str::<Seed>(&text)
                    .map_err(|e| UsageError(format!("sandbox: seed {}: {e}", p.display())))?,
            )
        }
        None if a.example => Some(crate::example::example_seed()),
        None => None,
    };
    let seed = match &a.hook_url {
        Some(url) => {
            let mut s = seed.unwrap_or_default();
            s.hook_url = Some(url.clone());
            Some(s)
        }
        None => seed,
    };
    let dialect = sandbox::Dialect::parse(&a.dialect)
        .ok_or_else(|| UsageError(format!("sandbox: unknown dialect \"{}\"", a.dialect)))?;
    let _held = match &a.dir {
        Some(d) => Some(claim_dir(d)?),
        None => None,
    };
    let stop = StopSignals::install()?;
    let sb = sandbox::start_with(dialect, &a.addr, seed, a.dir.clone())
        .map_err(|e| UsageError(e.to_string()))?;
    let temporary = a.dir.is_none().then(|| sb.dir.clone());
    let agent = match a.agent.as_deref() {
        Some("codex") => crate::types::AgentKind::Codex,
        _ => crate::types::AgentKind::Claude,
    };
    let model = a.model.then_some(agent);
    let printed = tracker_lines(&sb, a.tracker.as_deref())
        .and_then(|tracker| print_config(&sb, dialect, (a.kubernetes, model), &tracker));
    if let Err(e) = printed {
        remove_temporary(temporary.as_deref());
        return Err(e);
    }
    stop.wait();
    remove_temporary(temporary.as_deref());
    Ok(Outcome::OK)
}

/// A comment line per repo whose CI command the sandbox runs on pushes
/// (docs/sandbox.md#ci-that-runs-your-tests); none without.
fn ci_lines(sb: &sandbox::Sandbox) -> String {
    let lines = sb.state.lock().unwrap().ci_summary();
    lines
        .iter()
        .map(|l| format!("# CI: {l} (docs/sandbox.md#ci-that-runs-your-tests)\n"))
        .collect()
}

/// Make `dir` this sandbox's: refuse someone else's files, refuse a folder
/// another sandbox is serving (its lock), empty an earlier sandbox's folder.
/// The lock is held until the process ends.
fn claim_dir(dir: &Path) -> Result<TickLock> {
    let lock_name = "sandbox.lock";
    let entries: Vec<_> = match std::fs::read_dir(dir) {
        Ok(rd) => rd.filter_map(|e| e.ok()).map(|e| e.file_name()).collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => vec![],
        Err(e) => return Err(e).with_context(|| format!("sandbox: cannot read {}", dir.display())),
    };
    let facts = DirFacts {
        exists: dir.exists(),
        empty: entries.iter().all(|n| n == lock_name),
        marked: entries.iter().any(|n| n == sandbox_dir::MARKER),
    };
    let plan = sandbox_dir::plan(facts);
    if plan == DirPlan::Refuse {
        return Err(UsageError(format!(
            "sandbox: {} is not empty and is not an earlier sandbox's folder; give --dir a new or empty folder",
            dir.display()
        ))
        .into());
    }
    let lock = crate::lock::try_acquire(dir, "sandbox")?.ok_or_else(|| {
        UsageError(format!(
            "sandbox: another afk sandbox is serving {}; stop it first or give --dir another folder",
            dir.display()
        ))
    })?;
    if plan == DirPlan::StartOver {
        for name in entries.iter().filter(|n| *n != lock_name) {
            let p = dir.join(name);
            let gone = if p.is_dir() && !p.is_symlink() {
                std::fs::remove_dir_all(&p)
            } else {
                std::fs::remove_file(&p)
            };
            gone.with_context(|| format!("sandbox: cannot remove {}", p.display()))?;
        }
        crate::log::info(&format!(
            "sandbox: started over in {}: removed the earlier sandbox's repositories and afk state",
            dir.display()
        ));
    }
    crate::store::private_write(
        &dir.join(sandbox_dir::MARKER),
        b"an afk sandbox's folder: the next `afk sandbox --dir` here empties it\n",
    )
    .with_context(|| format!("sandbox: cannot write in {}", dir.display()))?;
    Ok(lock)
}

fn remove_temporary(dir: Option<&Path>) {
    if let Some(d) = dir
        && let Err(e) = std::fs::remove_dir_all(d)
    {
        crate::log::warn(&format!("sandbox: cannot remove {}: {e}", d.display()));
    }
}

/// The config's `[runner]`: the scripted demo agent as a local process, or
/// (`kubernetes`) as Jobs on the sandbox's cluster, whose token file is
/// written beside the repositories.
fn runner_block(
    sb: &sandbox::Sandbox,
    agent: &Path,
    (kubernetes, model): (bool, Option<crate::types::AgentKind>),
) -> Result<String> {
    // each turn in a box of its own where this machine can make one, and said
    let confine = match crate::runner::agent_box::can_box() {
        Ok(()) => "# each agent turn runs in a box of its own (runner.confine = \"box\", the default): its checkout, its home, the model's port\n".to_string(),
        Err(why) => format!(
            "# this machine cannot make the agent's box ({}): agents run unconfined\nconfine = \"none\"\n",
            why.0.replace('\n', " ")
        ),
    };
    if let Some(kind) = model.filter(|_| !kubernetes) {
        return Ok(format!(
            "[runner]\n{}{confine}",
            crate::core::demo::sandbox_model_runner(kind)
        ));
    }
    if !kubernetes {
        return Ok(format!(
            "[runner]\n# the scripted demo agent; the real Claude Code: agent = \"claude\" (afk sandbox --model)\n{}\n{confine}",
            crate::example::agent_command(sb, agent)
        ));
    }
    let token = sb.dir.join("k8s-token");
    crate::store::private_write(&token, sb.k8s_token().as_bytes())
        .with_context(|| format!("sandbox: cannot write {}", token.display()))?;
    Ok(format!(
        "[runner]\nkind = \"kubernetes\"\n\
         # the scripted demo agent, run by the sandbox's cluster as a local process, in\n\
         # the checkout the Job's git containers make (workspace = \"afk\"): no token\n\
         command = [\"sh\", \"-c\", 'AFK_RUN_DIR=\"$HOME\" exec sh {agent} < \"$AFK_PROMPT_FILE\"']\n\n\
         [runner.kubernetes]\napi_url = \"{url}/k8s\"\ntoken_file = \"{token}\"\nnamespace = \"afk\"\n\
         image = \"example.org/afk-demo-agent:1\"   # any name: the sandbox runs the command locally\n\
         git_image = \"afk\"                         # the git containers: this afk, locally\n\
         git_secret = \"{secret}\"                    # afk's forge account, in the sandbox's cluster from the start\n",
        agent = agent.display(),
        url = sb.url,
        token = token.display(),
        secret = sandbox::GIT_SECRET,
    ))
}

/// With `--tracker`: the tracker's world made (as the demo's), and the
/// lines to print: its token's variable and the config's `[tracker]`,
/// mapping it to the first repository (none: a usage error). Both empty
/// without.
fn tracker_lines(sb: &sandbox::Sandbox, kind: Option<&str>) -> Result<(String, String)> {
    let Some(kind) = kind else {
        return Ok(Default::default());
    };
    let repos = sb.state.lock().unwrap().repo_names();
    let Some(repo) = repos.first() else {
        return Err(UsageError(
            "sandbox: --tracker maps the tracker to the sandbox's first repository: give --example or a --seed with one".into(),
        )
        .into());
    };
    let creds = crate::example::admin_get(sb, &format!("/{kind}/credentials"))?;
    let s = |k: &str| creds[k].as_str().unwrap_or("").to_string();
    let (token, table, world) = match kind {
        "linear" => (
            s("key"),
            format!(
                "kind = \"linear\"\napi_url = \"{}/linear/graphql\"\n\n[[tracker.map]]\nteam = \"ENG\"\nrepo = \"{repo}\"\n",
                sb.url
            ),
            crate::example::linear_world(sb)?,
        ),
        _ => (
            s("token"),
            format!(
                "kind = \"jira\"\nurl = \"{}\"\nemail = \"{}\"\ntrusted_groups = [\"g-dev\"]\n\n[[tracker.map]]\nproject = \"PLAT\"\nrepo = \"{repo}\"\n",
                sb.url,
                s("email")
            ),
            crate::example::jira_world(sb)?,
        ),
    };
    let env = format!(
        "AFK_SANDBOX_TRACKER_TOKEN={token}\n# {kind}: {} armed by a trusted person, {} by an untrusted one (docs/trackers.md); export AFK_TRACKER_TOKEN=$AFK_SANDBOX_TRACKER_TOKEN\n",
        world.trusted.1, world.untrusted.1
    );
    let table = format!("\n[tracker]\ntoken_env = \"AFK_TRACKER_TOKEN\"\n{table}");
    Ok((env, table))
}

/// Print the sandbox's URL, its git folder, its Kubernetes API and a complete config.
fn print_config(
    sb: &sandbox::Sandbox,
    dialect: sandbox::Dialect,
    (kubernetes, model): (bool, Option<crate::types::AgentKind>),
    (tracker_env, tracker_table): &(String, String),
) -> Result<()> {
    let repos = sb.state.lock().unwrap().repo_names();
    let forge = format!(
        "{}\n{}",
        sb.forge_keys(),
        sb.repo_keys(&repos.iter().map(String::as_str).collect::<Vec<_>>())
    );
    let admin = dialect.admin_routes();
    // A complete config for trying afk against this sandbox with only the
    // binary: the scripted demo agent is written beside the repositories.
    let agent = sb.dir.join("demo-agent.sh");
    crate::example::write_demo_agent(&agent)
        .with_context(|| format!("sandbox: cannot write {}", agent.display()))?;
    let allowlist: Vec<String> = repos.iter().map(|r| format!("\"{r}\"")).collect();
    // Whoever reads this may close the pipe after the first line (`| head -1`):
    // a failed write to stdout must not stop the server.
    let text = format!(
        "AFK_SANDBOX_URL={url}\nAFK_SANDBOX_GIT={git}\nAFK_SANDBOX_MODEL_URL={model_url}\n\
         AFK_SANDBOX_K8S_URL={url}/k8s\nAFK_SANDBOX_K8S_TOKEN={k8s_tok}\nAFK_SANDBOX_K8S_NAMESPACE=afk\n\
         AFK_SANDBOX_TOKEN={tok}\nAFK_SANDBOX_AGENT_TOKEN={agent_tok}\n\
         # admin API: {url}/_admin/{{{admin}}} (every call: docs/sandbox.md)\n\
         # Kubernetes API: kubectl --server {url}/k8s --token {k8s_tok} get jobs -n afk\n\
         {ci}{hook}{model_env}{tracker_env}\
         # --- afk.toml for this sandbox (its token: export AFK_FORGE_TOKEN=$AFK_SANDBOX_TOKEN above, never in this file); save from this line down ---\n\
         state_path = \"{git}/afk-state/afk.db\"\n\n\
         [forge]\n{forge}\ntoken_env = \"AFK_FORGE_TOKEN\"\n\n\
         {runner}\n\
         [poll]\nenabled = true\nallowlist = [{allow}]\n\n\
         [watch]\nci_contexts = []\n{hook_table}{tracker_table}",
        url = sb.url,
        model_url = sb.model_url,
        git = sb.dir.display(),
        tok = sb.token(),
        k8s_tok = sb.k8s_token(),
        agent_tok = sb.agent_token(),
        runner = runner_block(sb, &agent, (kubernetes, model))?,
        model_env = model_env(sb, model.is_some())?,
        ci = ci_lines(sb),
        hook = hook_lines(sb),
        hook_table = hook_table(sb),
        allow = allowlist.join(", "),
    );
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
    Ok(())
}

/// Where the forge posts its webhooks and the secret they are signed with
/// (docs/sandbox.md#webhooks), for `afk hook`'s `[hook]`; none without.
fn hook_lines(sb: &sandbox::Sandbox) -> String {
    match sb.hook() {
        Some((url, secret)) => format!(
            "AFK_SANDBOX_HOOK_SECRET={secret}\n# webhooks: posted to {url}, signed with AFK_SANDBOX_HOOK_SECRET (afk hook's [hook] secret_env)\n"
        ),
        None => String::new(),
    }
}

/// With webhooks on, the config's `[hook]`, whose secret is the one the
/// sandbox signs with (exported above as AFK_SANDBOX_HOOK_SECRET); none
/// without.
fn hook_table(sb: &sandbox::Sandbox) -> &'static str {
    match sb.hook() {
        Some(_) => "\n[hook]\nsecret_env = \"AFK_SANDBOX_HOOK_SECRET\"\n",
        None => "",
    }
}

/// With `--model`: the environment lines that point the real `claude` and
/// `codex` at the scripted model (docs/sandbox.md#the-scripted-model), Codex's
/// config written under the sandbox's folder. Empty without it.
fn model_env(sb: &sandbox::Sandbox, model: bool) -> Result<String> {
    if !model {
        return Ok(String::new());
    }
    let home = sb.dir.join("codex-home");
    sandbox::model_api::write_codex_home(&home, &sb.model_url)
        .with_context(|| format!("sandbox: cannot write {}", home.display()))?;
    // SAFETY: geteuid(2) cannot fail
    let root = unsafe { libc::geteuid() } == 0;
    // in the box (where it can be made) the agent is an ordinary user: no IS_SANDBOX
    let root = root && crate::runner::agent_box::can_box().is_err();
    let mut text = String::from(
        "# the scripted model (docs/sandbox.md#the-scripted-model): export these lines before afk poll/watch, and its agents (claude, codex) run against the sandbox's scripts\n",
    );
    // a seed's model_key is the key the model requires: the agents send it
    let key = sb.model_key();
    for (k, v) in sandbox::model_api::agent_env(&sb.model_url, &home, root) {
        let v = match &key {
            Some(key) if v == sandbox::model_api::MODEL_KEY => key.clone(),
            _ => v,
        };
        text.push_str(&format!("{k}={v}\n"));
    }
    Ok(text)
}

/// The write end of the pipe the signal handler wakes the main thread through.
static WAKE: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(-1);

extern "C" fn on_stop(_: libc::c_int) {
    let fd = WAKE.load(std::sync::atomic::Ordering::SeqCst);
    if fd >= 0 {
        // SAFETY: write(2) is async-signal-safe; one byte from a static.
        unsafe { libc::write(fd, b"x".as_ptr().cast(), 1) };
    }
}

/// SIGTERM, SIGINT and SIGHUP, turned into a byte on a pipe (a self-pipe):
/// the main thread waits on it and cleans up before it exits.
struct StopSignals {
    read: libc::c_int,
}

impl StopSignals {
    fn install() -> Result<StopSignals> {
        let mut fds = [0 as libc::c_int; 2];
        // SAFETY: pipe2 fills two descriptors this process then owns; the
        // handler only writes to one of them.
        if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
            return Err(std::io::Error::last_os_error()).context("sandbox: cannot make a pipe");
        }
        WAKE.store(fds[1], std::sync::atomic::Ordering::SeqCst);
        for sig in [libc::SIGTERM, libc::SIGINT, libc::SIGHUP] {
            // SAFETY: installing a handler that only calls write(2).
            unsafe { libc::signal(sig, on_stop as *const () as libc::sighandler_t) };
        }
        Ok(StopSignals { read: fds[0] })
    }

    /// Block until one of the signals arrives.
    fn wait(&self) {
        let mut b = [0u8; 1];
        loop {
            // SAFETY: reading one byte into a local buffer from our own pipe.
            let n = unsafe { libc::read(self.read, b.as_mut_ptr().cast(), 1) };
            let interrupted =
                n < 0 && std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted;
            if !interrupted {
                return;
            }
        }
    }
}
