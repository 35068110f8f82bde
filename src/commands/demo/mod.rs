//! `afk demo`: a sandbox in-process, a few repos and issues, the scripted agent,
//! and the ticks that exist so far, printed as they run; then the review act
//! (a trusted reviewer's request for changes answered by one `review` turn,
//! `/afk hold` and `resume`, an approval, the merge); then the canary act
//! (a second template version that does worse, rolled back by harvest), the
//! budget act (an agent stopped over `run_usd`, dispatch stopped at
//! `day_usd`), the kubernetes act (an agent as a Job on the sandbox's
//! Kubernetes API) and the upgrade act. No network, no accounts.

mod budget;
mod canary;
mod kubernetes;
mod lifecycle;
mod review;
mod upgrade;

use crate::example::{DEMO_AGENT as AGENT, agent_command, example_seed};
use crate::example::{armed_repo, issue};

use crate::sandbox;
use crate::session::{Outcome, Session};
use crate::types::{IssueNumber, RunId};
use anyhow::{Context, Result};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Which forge the sandbox plays
    #[arg(long, default_value = "gitea", value_parser = ["gitea", "github"])]
    pub forge: String,
    /// Keep the demo's folder (run folders, the scripted agent, the
    /// configs, the status page) instead of removing it; --keep=DIR puts it
    /// at DIR (a folder that does not exist yet, or an empty one)
    #[arg(long = "keep", value_name = "DIR", num_args = 0..=1, require_equals = true,
          default_missing_value = KEEP_IN_TEMP)]
    pub keep_dir: Option<String>,
    /// Route the canary act by draws from the OS instead of the fixed seed
    /// (AFK_CANARY_SEED, when set, is used either way)
    #[arg(long)]
    pub random: bool,
    /// Who plays the agent of the main acts: the real Claude Code or Codex
    /// (found on PATH) answered by the sandbox's scripted model, or the
    /// scripted agent [default: claude when it is on PATH, else script]
    #[arg(long, value_parser = ["claude", "codex", "script"])]
    pub agent: Option<String>,
}

/// `--keep` without a folder: the demo's own under the temp folder.
const KEEP_IN_TEMP: &str = "-";

impl Args {
    /// `--keep`, with or without a folder.
    pub fn keep(&self) -> bool {
        self.keep_dir.is_some()
    }

    /// The demo's folder: `--keep=DIR`'s, else a new one under the temp folder.
    fn folder(&self) -> Result<std::path::PathBuf> {
        match self
            .keep_dir
            .as_deref()
            .filter(|d| *d != KEEP_IN_TEMP && !d.is_empty())
            .map(std::path::Path::new)
        {
            Some(d) => {
                let empty = std::fs::read_dir(d).map_or(true, |mut e| e.next().is_none());
                if !empty {
                    anyhow::bail!(
                        "demo: --keep={} is not empty: give a new folder (the demo writes its forge, state and configs there)",
                        d.display()
                    );
                }
                Ok(std::path::absolute(d)?)
            }
            None => Ok(std::env::temp_dir().join(format!("afk-demo-{}", std::process::id()))),
        }
    }
}

/// Who plays the agent (`--agent`): a real program on PATH, or the script.
fn agent_choice(a: &Args) -> Result<Option<(crate::types::AgentKind, std::path::PathBuf)>> {
    use crate::types::AgentKind;
    let find = |prog: &str| {
        std::env::var_os("PATH").and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|d| d.join(prog))
                .find(|p| p.is_file())
        })
    };
    Ok(match a.agent.as_deref() {
        None => find("claude").map(|p| (AgentKind::Claude, p)),
        Some("script") => None,
        Some(name) => {
            let kind = if name == "codex" {
                AgentKind::Codex
            } else {
                AgentKind::Claude
            };
            let install = if name == "codex" {
                "@openai/codex"
            } else {
                "@anthropic-ai/claude-code"
            };
            let path = find(name).ok_or_else(|| {
                crate::command_error::UsageError(format!(
                    "demo: --agent {name}: `{name}` is not on PATH (npm install -g {install}, or --agent script)"
                ))
            })?;
            Some((kind, path))
        }
    })
}

/// The canary act's routing seed unless `--random` or `AFK_CANARY_SEED` says
/// otherwise: the demo shows the same story every time.
const DEMO_CANARY_SEED: &str = "20260101";

pub fn run(s: &Session, a: &Args) -> Result<Outcome> {
    let json = s.json();
    if !a.random && std::env::var_os("AFK_CANARY_SEED").is_none() {
        // SAFETY: nothing else runs yet (no sandbox, no agent, no thread), so
        // no one reads the environment while it changes.
        unsafe { std::env::set_var("AFK_CANARY_SEED", DEMO_CANARY_SEED) };
    }
    // a folder --keep=DIR cannot use is said before anything else
    a.folder()?;
    if !json {
        println!(
            "afk demo: afk's main job first: ready issues -> agents -> pull requests -> CI -> merged, then a review round.\n\
             Then the optional parts, each for the teams that turn it on: the template canary (afk harvest, [harvest] canary),\n\
             budgets, the Kubernetes runner, and Co-op Cloud recipe upgrades (afk upgrade, [upgrade]).\n"
        );
    }
    let stage = stage(json, a)?;
    let mut show = Show {
        json,
        ticks: vec![],
        worst: 0,
    };
    let main = lifecycle::act(&stage.sb, &stage.ctx, &stage.dir, &mut show)?;
    let main_ticks = std::mem::take(&mut show.ticks);
    review::act(&stage.sb, &stage.ctx, main.api2, &mut show)?;
    let review_ticks = std::mem::take(&mut show.ticks);
    // in the demo's folder: gone with it unless --keep, nothing left in $TMPDIR
    let page = stage.dir.join("status.html");
    let (sb, dir, agent) = (&stage.sb, &stage.dir, &stage.agent);
    canary::act(sb, dir, (agent, stage.real), (a.keep(), &page), &mut show)?;
    let canary_ticks = std::mem::take(&mut show.ticks);
    budget::act(sb, dir, (agent, stage.real), &mut show)?;
    let budget_ticks = std::mem::take(&mut show.ticks);
    kubernetes::act(sb, dir, agent, &mut show)?;
    let kubernetes_ticks = std::mem::replace(&mut show.ticks, main_ticks);
    let (upgrade_ticks, upgrade_worst) = upgrade::act(sb, dir, agent, json)?;
    show.worst = show.worst.max(upgrade_worst);
    let dir = stage.dir.clone();
    drop(stage);
    closing(&show, &dir, a.keep(), &page);
    if json {
        let doc = serde_json::json!({"command": "demo", "ticks": show.ticks, "status_page": Some(&page).filter(|_| a.keep()), "lessons": main.snap, "events": main.events,
                                     "review": {"ticks": review_ticks},
                                     "canary": {"ticks": canary_ticks}, "budget": {"ticks": budget_ticks},
                                     "kubernetes": {"ticks": kubernetes_ticks},
                                     "upgrade": upgrade_ticks});
        println!("{}", serde_json::to_string_pretty(&doc)?);
    }
    Ok(Outcome::code(show.worst))
}

/// The demo's stage: its folder, the sandbox, the scripted agent, and the
/// first act's config and state.
struct Stage {
    dir: std::path::PathBuf,
    sb: sandbox::Sandbox,
    agent: std::path::PathBuf,
    /// the real program that plays the agent (`--agent`), if any
    real: Option<crate::types::AgentKind>,
    ctx: Session,
}

/// Start the sandbox in a fresh folder, write the scripted agent, the token
/// and the first act's config, and record a lesson by hand.
fn stage(json: bool, a: &Args) -> Result<Stage> {
    let real = agent_choice(a)?;
    let dialect = sandbox::Dialect::parse(&a.forge).unwrap_or_default();
    let dir = a.folder()?;
    std::fs::create_dir_all(&dir)
        .with_context(|| format!("demo: cannot create {}", dir.display()))?;
    let seed = example_seed();
    let sb = sandbox::start_with(dialect, "127.0.0.1:0", Some(seed), Some(dir.join("forge")))?;
    let forge_keys = forge_keys(&sb);
    let agent = dir.join("demo-agent.sh");
    std::fs::write(&agent, AGENT)?;
    crate::store::private_write(&dir.join("token"), sb.token().as_bytes())?;
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
            Ok(()) => println!(
                "afk demo: each agent turn runs in a box of its own (bubblewrap): its checkout, its home, the model and nothing of afk's\n"
            ),
            Err(why) => println!("afk demo: agents run unconfined here: {why}\n"),
        }
    }
    let Some((kind, path)) = real else {
        if !json {
            println!(
                "afk demo: the agent is the scripted one (examples/demo-agent.sh); --agent claude|codex plays the story with the real program\n"
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
        println!(
            "afk demo: the agent is the real {} ({}), answered by the sandbox's scripted model; \
             the Kubernetes and upgrade acts use the scripted agent\n",
            if *kind == crate::types::AgentKind::Codex {
                "Codex CLI"
            } else {
                "Claude Code"
            },
            path.display()
        );
    }
    // Codex reports tokens: priced as a mid-size model's, to show a spend
    Ok(format!(
        "agent = \"{kind}\"\nworkspace = \"afk\"\n\
         [runner.prices]\ninput = 1.25\ncached_input = 0.125\noutput = 10.0"
    ))
}

/// After the sandbox is gone: keep or remove the demo's folder, and point at
/// the canary act's status page.
fn closing(show: &Show, dir: &std::path::Path, keep: bool, page: &std::path::Path) {
    if keep {
        show.say(&format!(
            "\nkept: {} (run folders with prompts, agent.log and progress.jsonl; the scripted agent demo-agent.sh; afk.toml)",
            dir.display()
        ));
    } else {
        let _ = std::fs::remove_dir_all(dir);
        show.say(&format!(
            "\nthe demo's folder {} is removed (afk demo --keep keeps it)",
            dir.display()
        ));
    }
    show.say(&if keep {
        format!(
            "the status page of the canary act (what status_page holds; afk status --html prints it): {}",
            page.display()
        )
    } else {
        "the status page of the canary act went with the folder (afk demo --keep keeps it)".to_string()
    });
}

/// Seed the sandbox's forge with an act's repos and issues.
pub(super) fn seed_sandbox(sb: &sandbox::Sandbox, seed: sandbox::Seed) -> Result<()> {
    sb.state
        .lock()
        .unwrap()
        .seed(seed)
        .map_err(|e| anyhow::anyhow!("demo: {e}"))
}

/// The `[forge]` keys for the sandbox, in the dialect it speaks.
/// An act's config, written to `path` and loaded as the act's context.
pub(super) fn act_ctx(path: &std::path::Path, text: &str, json: bool) -> Result<Session> {
    std::fs::write(path, text)?;
    Session::on_file(path, false, json)
}

pub(super) fn forge_keys(sb: &sandbox::Sandbox) -> String {
    match sb.dialect {
        sandbox::Dialect::Gitea => format!("url = \"{}\"", sb.url),
        sandbox::Dialect::Github => format!(
            "kind = \"github\"\nurl = \"{}\"\napi_url = \"{}\"",
            sb.url,
            sb.api_url()
        ),
    }
}

/// The run a poll tick dispatched for `repo#issue`.
pub(super) fn run_of(t: &super::poll::Ended, repo: &str, issue: IssueNumber) -> Result<RunId> {
    t.report
        .dispatched
        .iter()
        .find(|d| d.repo == repo && d.issue == issue)
        .and_then(|d| d.run_id)
        .ok_or_else(|| anyhow::anyhow!("demo: {repo}#{issue} was not dispatched"))
}

/// CI goes red on the agent's PR: watch starts a corrective turn with the
/// failing check; the agent pushes a fix; CI is green again.
fn red_ci_act(sb: &sandbox::Sandbox, ctx: &Session, run: RunId, show: &mut Show) -> Result<()> {
    let exit = ctx.runs_dir().join(format!("{run}/exit_status"));
    wait_for(&exit)?;
    show.step(
        "afk watch (the agent committed in afk's checkout: afk pushes afk/issue-2 and opens the PR)",
        super::watch::tick(ctx)?.done(),
    );
    let head = ci_status(sb, "failure", "https://ci.example.org/acme/api/2")?;
    show.say(&format!(
        "   CI reports ci/build = failure on {}\n",
        &head[..head.len().min(12)]
    ));
    show.step(
        "afk watch (red CI: a corrective turn with the failing check and its build URL)",
        super::watch::tick(ctx)?.done(),
    );
    wait_for(&exit)?;
    show.step(
        "afk watch (the corrective turn's commit: afk pushes it to the same PR)",
        super::watch::tick(ctx)?.done(),
    );
    let head = ci_status(sb, "success", "https://ci.example.org/acme/api/3")?;
    show.say(&format!(
        "   the fix is on the PR; CI reports ci/build = success on {}\n",
        &head[..head.len().min(12)]
    ));
    show.step(
        "afk watch (green again: waiting for a person to merge)",
        super::watch::tick(ctx)?.done(),
    );
    Ok(())
}

/// CI reports `state` on the head of afk/issue-2 (the demo's agent branch); its SHA.
pub(super) fn ci_status(sb: &sandbox::Sandbox, state: &str, url: &str) -> Result<String> {
    let git_dir = sb.state.lock().unwrap().git_dir("acme/api");
    let head = sandbox::git::head(&git_dir, "afk/issue-2").unwrap_or_default();
    sb.state
        .lock()
        .unwrap()
        .add_status(
            "acme/api",
            &head,
            &serde_json::json!({"state": state, "context": "ci/build", "target_url": url}),
        )
        .map_err(|e| anyhow::anyhow!("demo: {e}"))?;
    Ok(head)
}

/// A person merges `pr`, which closes `issue`; then a watch tick says `what`.
pub(super) fn merge_then_watch(
    sb: &sandbox::Sandbox,
    ctx: &Session,
    (pr, issue): (IssueNumber, u64),
    what: &str,
    show: &mut Show,
) -> Result<()> {
    show.say(&format!(
        "   a person merges PR #{pr}; the forge closes issue #{issue}\n"
    ));
    sb.state
        .lock()
        .unwrap()
        .merge("acme/api", pr.0)
        .map_err(|e| anyhow::anyhow!("demo: {e}"))?;
    show.step(what, super::watch::tick(ctx)?.done());
    Ok(())
}

/// Wait (bounded) for the scripted agent to finish.
/// Whether this machine can make the agent's box (asked once per demo).
pub(super) fn can_box() -> std::result::Result<(), String> {
    static CAN: std::sync::OnceLock<std::result::Result<(), String>> = std::sync::OnceLock::new();
    CAN.get_or_init(crate::runner::agent_box::can_box).clone()
}

/// The `[runner]` line of every act's config: nothing where the machine can
/// make the agent's box (the default), else `confine = "none"`.
pub(super) fn confine_line() -> &'static str {
    if can_box().is_ok() {
        ""
    } else {
        "confine = \"none\"\n"
    }
}

/// A file the scripted agent writes in its notes: its home in its box, else
/// the run folder (`examples/demo-agent.sh`).
pub(super) fn agent_note(run_dir: &std::path::Path, name: &str) -> std::path::PathBuf {
    if can_box().is_ok() {
        run_dir.join("home").join(name)
    } else {
        run_dir.join(name)
    }
}

pub(super) fn wait_for(p: &std::path::Path) -> Result<()> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !p.exists() {
        if std::time::Instant::now() > deadline {
            anyhow::bail!(
                "demo: the scripted agent did not finish within 30 s ({})",
                p.display()
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    Ok(())
}

/// What the demo prints and collects: each tick's human text (or, with
/// `--json`, its report) and the worst exit code.
pub(super) struct Show {
    pub(super) json: bool,
    pub(super) ticks: Vec<serde_json::Value>,
    pub(super) worst: u8,
}

impl Show {
    pub(super) fn say(&self, s: &str) {
        if !self.json {
            println!("{s}");
        }
    }

    pub(super) fn step(&mut self, title: &str, t: crate::tick::Done) {
        self.say(&format!("== {title}"));
        if !self.json {
            print!("{}", t.human);
        }
        self.worst = self.worst.max(t.code);
        self.ticks.push(t.report);
        self.say("");
    }
}
