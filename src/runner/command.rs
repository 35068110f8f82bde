// One file: the command runner (~750 lines: its start, its wrapper, its liveness and stop, its doctor check) and the tests that run its processes.
//! The command runner (docs/runners.md#command-a-local-process): the agent runs
//! detached in its own session and process group, a small `sh` wrapper writes
//! its exit status to `<run_dir>/exit_status` (atomically, via rename) even
//! after afk has exited.

use crate::types::IssueNumber;
use anyhow::{Context, Result, bail};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

pub struct StartSpec<'a> {
    pub run_id: super::TurnOf,
    pub repo: &'a str,
    pub issue: IssueNumber,
    pub branch: &'a str,
    pub prompt: &'a str,
    pub run_dir: &'a Path,
    pub turn: u32,
    pub command: &'a [String],
    pub workdir: &'a str,
    /// Environment variables the agent must not inherit (the config's secrets).
    pub strip_env: &'a [String],
    /// More `AFK_*` variables the turn sets.
    pub env: &'a [(&'a str, &'a str)],
    /// `AFK_BUDGET_USD` as the agent reads it; None: unset, even when afk's
    /// own environment has one.
    pub budget_usd: Option<String>,
    /// The model gateway's budget gate (docs/runners.md#the-model-gateway-runnermodel), for a boxed turn.
    pub gate: Option<crate::core::gateway::budget::Gate>,
    /// The agent's box (runner.confine = "box"); None: unconfined.
    pub boxed: Option<&'a super::agent_box::Boxer>,
    /// `runner.progress_group`'s id: the agent's user (another) may reach
    /// the run folder and append to its progress file.
    pub progress_gid: Option<u32>,
    /// The watch an unboxed turn's end starts (`runner/turn_end.rs`): its
    /// first word is afk's program, which keeps the turn (`afk __turn`)
    /// instead of the shell wrapper; empty: no watch, the wrapper. A boxed
    /// turn's keeper starts its own.
    pub after: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handle {
    pub pid: i32,
    /// Process start time in clock ticks since boot (/proc/PID/stat field 22).
    pub start_time: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Liveness {
    Running,
    Exited(i32),
    /// The process is gone (or its pid reused) and left no exit status.
    Vanished,
}

fn on_path(prog: &str) -> bool {
    super::agent_box::find_program(prog).is_some()
}

/// Whether the kernel can start the file at `path` (`core::doctor::startable`
/// of its first bytes; symlinks followed). Doctor's, read-only.
fn starts(path: &std::path::Path) -> bool {
    use std::io::Read;
    let mut head = [0u8; 4];
    let n = std::fs::File::open(path)
        .and_then(|mut f| f.read(&mut head))
        .unwrap_or(0);
    crate::core::doctor::startable(&head[..n])
}

/// Whether the runner command's program can be found (doctor, and before a start).
pub fn program_exists(command: &[String]) -> bool {
    command.first().is_some_and(|p| on_path(p))
}

/// What program a runner command really runs, for doctor: through `env
/// VAR=x prog`, and through `sh -c "script"` (the script's first word).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Invokes {
    Program(String),
    /// The script starts with shell syntax afk cannot resolve (a variable,
    /// a subshell, a quote): say so plainly instead of guessing.
    CannotTell(String),
}

pub fn invoked_program(command: &[String]) -> Option<Invokes> {
    let mut args = command.iter().map(String::as_str).peekable();
    let mut prog = args.next()?;
    if prog == "env" || prog.ends_with("/env") {
        while let Some(a) = args.peek() {
            if matches!(
                *a,
                "-u" | "--unset" | "-C" | "--chdir" | "-S" | "--split-string"
            ) {
                args.next();
                args.next();
            } else if a.contains('=') || a.starts_with('-') {
                args.next();
            } else {
                break;
            }
        }
        prog = args.next()?;
    }
    let base = prog.rsplit('/').next().unwrap_or(prog);
    if matches!(base, "sh" | "bash" | "dash" | "zsh" | "ksh") {
        let rest: Vec<&str> = args.collect();
        // `-c`, or combined short flags that include it (`-lc`, `-ec`)
        let is_c = |a: &&str| a.starts_with('-') && !a.starts_with("--") && a.contains('c');
        if let Some(i) = rest.iter().position(is_c)
            && let Some(script) = rest.get(i + 1)
        {
            return Some(first_word(script));
        }
    }
    Some(Invokes::Program(prog.to_string()))
}

fn first_word(script: &str) -> Invokes {
    let mut words = script.split_whitespace().peekable();
    while let Some(w) = words.peek() {
        // assignments and `exec`/`env` come before the program
        let assignment = w.split_once('=').is_some_and(|(k, _)| {
            !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        });
        if assignment || matches!(*w, "exec" | "env" | "command" | "nohup") {
            words.next();
        } else {
            break;
        }
    }
    match words.next() {
        Some(w)
            if w.chars()
                .all(|c| c.is_ascii_alphanumeric() || "/._-+".contains(c)) =>
        {
            Invokes::Program(w.to_string())
        }
        Some(w) => Invokes::CannotTell(w.to_string()),
        None => Invokes::CannotTell(String::new()),
    }
}

/// Doctor's line about the runner command: ok, and what it says.
pub fn program_check(command: &[String]) -> (bool, String) {
    match invoked_program(command) {
        None => (false, "runner.command is empty".into()),
        Some(Invokes::Program(p)) if on_path(&p) => (true, format!("\"{p}\" found")),
        // the same words as the path check (doctor's runner_paths leaves this one to us)
        Some(Invokes::Program(p)) if p.contains('/') => (
            false,
            format!(
                "not found at {p} (the program runner.command runs): fix the path in runner.command or install it there"
            ),
        ),
        Some(Invokes::Program(p)) => (
            false,
            format!("\"{p}\" not found on PATH (the program runner.command runs)"),
        ),
        Some(Invokes::CannotTell(w)) => (
            true,
            format!(
                "cannot tell which program runner.command's script runs (it starts with \"{w}\"); check it by hand"
            ),
        ),
    }
}

/// The wrapper the agent runs under. Before the agent starts it records its own
/// pid and start time in `<run_dir>/agent.pid` (atomically), so a tick that dies
/// between the fork and writing the run's row leaves a trace the next tick finds;
/// after the agent exits it writes the exit status. Field 22 of /proc/$$/stat is
/// the start time; `st` drops the 19 fields after the command name.
/// A boxed turn has no wrapper: its keeper (`afk __box SPEC --record
/// RUN_DIR`, runner/agent_box/keeper.rs) writes the same two records itself
/// ([`record_start`], [`record_exit`]), so the box adds no shell and no `mv`
/// to a turn (docs/runners.md#the-agents-box-runnerconfine-runnerbox).
const WRAPPER: &str = r#"es="$1"; pf="$2"; shift 2; read -r s < /proc/$$/stat; s=${s##*) }; st() { shift 19; printf '%s' "$1"; }; printf '%s %s\n' "$$" "$(st $s)" > "$pf.tmp" && mv "$pf.tmp" "$pf"; "$@"; s=$?; printf '%s\n' "$s" > "$es.tmp" && mv "$es.tmp" "$es"; exit "$s""#;

pub use super::records::{EXIT_RECORD, PID_RECORD, process_start_time, record_exit, record_start};

/// Whether a start may have got as far as the fork (the marker written just before it).
pub fn may_have_spawned(run_dir: &Path) -> bool {
    run_dir.join("spawning").exists()
}

/// The agent's own record of its start, if it got that far: (pid, start time).
pub fn recorded_start(run_dir: &Path) -> Option<Handle> {
    let s = crate::private_files::read_run_file(&run_dir.join(PID_RECORD), 256).ok()?;
    let mut it = s.split_whitespace();
    let pid = it.next()?.parse().ok()?;
    let start_time = it.next()?.parse().ok()?;
    Some(Handle { pid, start_time })
}

/// `runner.progress_group`: the run folder and the folders above it that
/// are afk's own and private let the group through (search only: 0710,
/// nothing listed, no other file opened: each stays 0600), and the progress
/// file lets it append (0620). afk reads the file as always: never
/// following a link, a regular file only, a bounded tail.
fn share_progress(rd: &Path, progress: &Path, gid: u32) -> Result<()> {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    // SAFETY: geteuid(2) cannot fail
    let me = unsafe { libc::geteuid() };
    let give = |p: &Path, mode: u32| -> Result<()> {
        std::os::unix::fs::chown(p, None, Some(gid))
            .and_then(|()| std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)))
            .with_context(|| {
                format!(
                    "runner: cannot share {} with runner.progress_group",
                    p.display()
                )
            })
    };
    give(progress, 0o620)?;
    for dir in rd.ancestors() {
        let Ok(m) = std::fs::symlink_metadata(dir) else {
            break;
        };
        // only afk's own private folders; the first other one is shared already
        if m.uid() != me || (m.mode() & 0o077 != 0 && m.gid() != gid) {
            break;
        }
        if m.mode() & 0o010 == 0 || m.gid() != gid {
            give(dir, (m.mode() & 0o7777) | 0o010)?;
        }
    }
    Ok(())
}

/// The turn's files in its run folder: the folder (0700), its prompt, and
/// the progress file (shared with `runner.progress_group` when set).
fn run_files(spec: &StartSpec) -> Result<(PathBuf, PathBuf)> {
    let rd = spec.run_dir;
    // run files hold private issue text: 0700 folders, 0600 files
    crate::private_files::private_dir(rd)
        .with_context(|| format!("runner: cannot create {}", rd.display()))?;
    let prompt_file = rd.join(format!("prompt-{}.md", spec.turn));
    crate::private_files::private_write(&prompt_file, spec.prompt.as_bytes())
        .with_context(|| format!("runner: cannot write {}", prompt_file.display()))?;
    let progress = rd.join("progress.jsonl");
    if !progress.exists() {
        crate::private_files::private_write(&progress, b"")
            .context("runner: cannot create the progress file")?;
    }
    if let Some(gid) = spec.progress_gid {
        share_progress(rd, &progress, gid)?;
    }
    Ok((prompt_file, progress))
}

impl<'a> StartSpec<'a> {
    /// What the command's and workdir's placeholders stand for in this turn.
    fn placeholders(&self, prompt_file: &'a Path) -> crate::core::placeholders::Values<'a> {
        crate::core::placeholders::Values {
            run_dir: self.run_dir,
            repo: self.repo,
            issue: self.issue,
            branch: self.branch,
            prompt_file,
        }
    }
}

pub fn start(spec: &StartSpec) -> Result<Handle> {
    let rd = spec.run_dir;
    let (prompt_file, progress) = run_files(spec)?;
    let values = spec.placeholders(&prompt_file);
    let sub = |s: &str| crate::core::placeholders::substitute(s, &values);
    let argv: Vec<String> = spec.command.iter().map(|a| sub(a)).collect();
    if !program_exists(&argv) {
        bail!(
            "runner: command \"{}\" not found (runner.command)",
            argv.first().map(String::as_str).unwrap_or("")
        );
    }
    let workdir = PathBuf::from(sub(spec.workdir));
    std::fs::create_dir_all(&workdir)
        .with_context(|| format!("runner: cannot create workdir {}", workdir.display()))?;
    let wrapped = match spec.boxed {
        Some(b) => Some(b.wrap(&argv, &turn_paths(spec, &workdir, &prompt_file, &progress))?),
        None => None,
    };
    let exit_status = rd.join(EXIT_RECORD);
    let _ = std::fs::remove_file(&exit_status);
    let _ = std::fs::remove_file(rd.join(PID_RECORD));
    let log = open_log(rd)?;
    let stdin = std::fs::File::open(&prompt_file)?;
    let kept = match (&wrapped, spec.after.first()) {
        (None, Some(afk)) => Some(unboxed_keeper(afk, &argv, spec, rd)?),
        _ => None,
    };
    let mut cmd = match (&wrapped, &kept) {
        // the keeper records the turn itself
        (Some(w), _) => w.command(),
        (None, Some(k)) => k.command(),
        (None, None) => {
            let mut c = Command::new("sh");
            c.arg("-c")
                .arg(WRAPPER)
                .arg("afk-agent")
                .arg(&exit_status)
                .arg(rd.join(PID_RECORD))
                .args(&argv);
            c
        }
    };
    cmd.current_dir(&workdir)
        .stdin(Stdio::from(stdin))
        .stdout(Stdio::from(log.try_clone()?))
        .stderr(Stdio::from(log));
    // unboxed, the agent runs with this environment: afk's secrets go; a
    // turn's keeper keeps them (the box's environment is an allowlist of its
    // own; the unboxed keeper strips them from its agent), for the watch a
    // turn's end starts
    let strip = wrapped.is_none() && kept.is_none();
    turn_env(&mut cmd, spec, (&prompt_file, &progress), strip);
    own_session(&mut cmd);
    // Written before the fork: a tick killed from here on may have started an
    // agent whose own record (agent.pid) is still on its way.
    crate::private_files::private_write(&rd.join("spawning"), b"")
        .context("runner: cannot write the spawn marker")?;
    let child = cmd
        .spawn()
        .with_context(|| format!("runner: cannot start \"{}\"", argv[0]))?;
    drop(kept);
    let pid = child.id() as i32;
    // The child is not waited for: afk exits and the agent goes on.
    std::mem::forget(child);
    let start_time = process_start_time(pid).unwrap_or(0);
    Ok(Handle { pid, start_time })
}

/// The run's `agent.log`, appended to (private, 0600).
fn open_log(rd: &Path) -> Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(rd.join("agent.log"))
        .context("runner: cannot open agent.log")
}

/// The agent in a session and process group of its own, so a stop can
/// signal the whole group.
fn own_session(cmd: &mut Command) {
    // SAFETY: setsid is async-signal-safe, the one call made between fork
    // and exec.
    unsafe {
        cmd.pre_exec(|| {
            if libc::setsid() == -1 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

/// What the turn's box needs of the turn.
fn turn_paths<'a>(
    spec: &'a StartSpec,
    workdir: &'a Path,
    prompt_file: &'a Path,
    progress: &'a Path,
) -> super::agent_box::TurnPaths<'a> {
    super::agent_box::TurnPaths {
        run_dir: spec.run_dir,
        workdir,
        prompt_file,
        progress,
        repo: spec.repo,
        turn: spec.turn,
        name: format!("{}-{}", spec.run_id, spec.turn),
        budget_usd: spec.budget_usd.as_deref().and_then(|u| u.parse().ok()),
        gate: spec.gate,
        turn_vars: spec.env.iter().map(|(k, _)| *k).collect(),
        run: match spec.run_id {
            super::TurnOf::Run(id) => Some(id.0),
            super::TurnOf::Fixer { .. } => None,
        },
    }
}

/// The turn's own variables on the command that starts it (`AFK_RUN_ID`,
/// the prompt and progress files, the budget, the turn's `AFK_*` extras);
/// with `strip`, afk's secrets taken out (an unboxed turn without a
/// keeper: the agent inherits this environment).
fn turn_env(
    cmd: &mut Command,
    spec: &StartSpec,
    (prompt_file, progress): (&Path, &Path),
    strip: bool,
) {
    if strip {
        for k in spec.strip_env {
            cmd.env_remove(k);
        }
    }
    cmd.env("AFK_RUN_ID", spec.run_id.to_string())
        .env("AFK_REPO", spec.repo)
        .env(
            "AFK_ISSUE",
            crate::core::prompt::issue_name(spec.branch, spec.issue),
        )
        .env("AFK_BRANCH", spec.branch)
        .env("AFK_PROMPT_FILE", prompt_file)
        .env("AFK_RUN_DIR", spec.run_dir)
        .env("AFK_PROGRESS_FILE", progress)
        .env("AFK_TURN", spec.turn.to_string());
    match &spec.budget_usd {
        Some(usd) => cmd.env(super::BUDGET_VAR, usd),
        None => cmd.env_remove(super::BUDGET_VAR),
    };
    for (k, v) in spec.env.iter().filter(|(k, _)| k.starts_with("AFK_")) {
        cmd.env(k, v);
    }
}

/// The unboxed turn's keeper (`afk __turn SPEC --record RUN_DIR`,
/// runner/turn_end.rs), which runs the agent and starts the watch of its
/// end: its command, the spec in memory it reads.
fn unboxed_keeper(afk: &str, argv: &[String], spec: &StartSpec, rd: &Path) -> Result<Kept> {
    let text = serde_json::to_vec(&super::turn_end::Spec {
        argv: argv.to_vec(),
        strip: spec.strip_env.to_vec(),
        after: spec.after.clone(),
    })?;
    let file = super::agent_box::in_memory(&text)?;
    Ok(Kept {
        afk: afk.into(),
        file,
        record: rd.to_path_buf(),
    })
}

/// An unboxed turn's keeper, about to start.
struct Kept {
    afk: PathBuf,
    file: std::fs::File,
    record: PathBuf,
}

impl Kept {
    fn command(&self) -> Command {
        use std::os::fd::AsRawFd;
        let fd = self.file.as_raw_fd();
        let mut cmd = Command::new(&self.afk);
        cmd.arg(super::turn_end::TURN_CMD)
            .arg(format!("/dev/fd/{fd}"))
            .arg(super::agent_box::RECORD_ARG)
            .arg(&self.record);
        super::turn_end::hand_over(&mut cmd, fd);
        cmd
    }
}

/// How long a tick waits for a forked agent's start record: the wrapper
/// writes it within milliseconds of the fork, so this only bounds a stuck fork.
const SPAWN_RECORD_WAIT: std::time::Duration = std::time::Duration::from_secs(3);

/// The agent's own record of its start. When the dead tick got as far as the
/// fork, the agent's wrapper writes its record within milliseconds: wait for
/// it (bounded) rather than call a live agent "never started".
pub fn agent_record(run_dir: &std::path::Path) -> Option<Handle> {
    if let Some(h) = recorded_start(run_dir) {
        return Some(h);
    }
    if !may_have_spawned(run_dir) {
        return None;
    }
    let deadline = std::time::Instant::now() + SPAWN_RECORD_WAIT;
    while std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(10));
        if let Some(h) = recorded_start(run_dir) {
            return Some(h);
        }
    }
    None
}

/// The command runner behind the [`super::Runner`] trait.
pub struct CommandRunner {
    agent: crate::types::AgentKind,
    command: Vec<String>,
    resume_command: Vec<String>,
    workdir: String,
    strip_env: Vec<String>,
    boxed: Option<super::agent_box::Boxer>,
    progress_gid: Option<u32>,
    /// The watch a turn's end starts (None: the config was not loaded from
    /// a file).
    after_turn: Option<super::turn_end::Watch>,
}

impl CommandRunner {
    pub fn new(cfg: &crate::config::Config) -> CommandRunner {
        let boxed = (cfg.runner.confine() == crate::core::agent_box::Confine::Box)
            .then(|| super::agent_box::Boxer::new(cfg));
        CommandRunner {
            agent: cfg.runner.agent(),
            command: cfg.runner.command.clone(),
            resume_command: cfg.runner.resume_command.clone(),
            workdir: cfg.runner.workdir.clone(),
            strip_env: cfg.secret_env_names(),
            boxed,
            progress_gid: cfg.runner.progress_gid(),
            after_turn: super::turn_end::Watch::of(cfg),
        }
    }

    /// The watch an unboxed turn's end starts (empty: none): a run's turn,
    /// afk's config from a file, `AFK_TURN_END_WATCH` not off, afk's own
    /// program found.
    fn after(&self, t: &super::Turn) -> Vec<String> {
        let (None, Some(watch), super::TurnOf::Run(run)) =
            (&self.boxed, &self.after_turn, t.run_id)
        else {
            return vec![];
        };
        let afk = std::env::current_exe().and_then(std::fs::canonicalize);
        match afk {
            Ok(afk) if super::turn_end::enabled() => watch.argv(&afk, run.0),
            _ => vec![],
        }
    }

    /// Start one turn. `resume`: the agent's own session to continue (a
    /// named agent's corrective turn, docs/runners.md).
    fn spawn(
        &self,
        command: &[String],
        t: &super::Turn,
        resume: Option<&str>,
    ) -> Result<super::RunnerHandle> {
        let budget = t.budget_var().map(|(_, v)| v);
        // a named agent's missing program is runner.agent's, not runner.command's
        if let Some(program) = crate::core::agent::program(self.agent)
            && !on_path(program)
        {
            bail!(
                "runner: runner.agent = \"{program}\": \"{program}\" not found on afk's PATH{}",
                crate::core::agent::install_command(self.agent)
                    .map(|c| format!(" (install it with `{c}`)"))
                    .unwrap_or_default()
            );
        }
        let command = crate::core::agent::argv(self.agent, command, budget.as_deref(), resume);
        let command = command.as_slice();
        let h = start(&StartSpec {
            run_id: t.run_id,
            repo: t.repo,
            issue: t.issue,
            branch: t.branch,
            prompt: t.prompt,
            run_dir: t.run_dir,
            turn: t.turn,
            command,
            workdir: &self.workdir,
            strip_env: &self.strip_env,
            env: t.env,
            budget_usd: budget,
            gate: t.gate,
            boxed: self.boxed.as_ref(),
            progress_gid: self.progress_gid,
            after: self.after(t),
        })?;
        if self.boxed.is_none() {
            crate::log::warn(&format!(
                "runner: run {} turn {}: the agent runs unconfined as afk's user (runner.confine = \"none\"): it can read afk's files and reach its network",
                t.run_id, t.turn
            ));
        }
        Ok(super::RunnerHandle::Process {
            pid: h.pid,
            start_time: h.start_time,
        })
    }
}

impl super::Runner for CommandRunner {
    fn looks_locally(&self) -> bool {
        true
    }
    fn start(&self, t: &super::Turn) -> Result<super::RunnerHandle> {
        self.spawn(&self.command, t, None)
    }

    /// A corrective turn: a named agent continues its own session of the
    /// run's last turn (`claude --resume <session_id>`, `codex exec resume
    /// <thread_id>`), as its log names one it kept, so it keeps what it
    /// learnt; when the log names none (the agent was killed before its
    /// first answer), a fresh session given the run's first prompt and then
    /// this turn's (`core::agent::fresh_session_prompt`).
    fn resume(
        &self,
        _: Option<&super::RunnerHandle>,
        t: &super::Turn,
    ) -> Result<super::RunnerHandle> {
        let session = super::output::session_id(t.run_dir, self.agent);
        let command = if self.resume_command.is_empty() {
            &self.command
        } else {
            &self.resume_command
        };
        if session.is_some() || self.agent == crate::types::AgentKind::Custom {
            return self.spawn(command, t, session.as_deref());
        }
        let first = crate::private_files::read_run_file(
            &t.run_dir.join("prompt-1.md"),
            super::PROMPT_FILE_MAX,
        )
        .ok();
        let prompt = crate::core::agent::fresh_session_prompt(first.as_deref(), t.prompt);
        let fresh = super::Turn {
            prompt: &prompt,
            ..*t
        };
        self.spawn(command, &fresh, None)
    }

    fn observe(
        &self,
        handle: Option<&super::RunnerHandle>,
        run_dir: &Path,
    ) -> Result<super::Observed> {
        use crate::core::run_state::Agent;
        let agent = match handle {
            Some(super::RunnerHandle::Process { pid, start_time }) => {
                match liveness(
                    &Handle {
                        pid: *pid,
                        start_time: *start_time,
                    },
                    run_dir,
                ) {
                    Liveness::Running => Agent::Running,
                    Liveness::Exited(c) => Agent::Exited(c),
                    Liveness::Vanished => Agent::Vanished,
                }
            }
            Some(super::RunnerHandle::Thread { .. }) => {
                bail!("the run was started by the http runner but runner.kind is now \"command\"")
            }
            Some(super::RunnerHandle::Job { .. }) => {
                bail!(
                    "the run was started by the kubernetes runner but runner.kind is now \"command\""
                )
            }
            None => Agent::Vanished,
        };
        Ok(super::Observed::only(agent))
    }

    fn stop(&self, handle: &super::RunnerHandle) {
        if let super::RunnerHandle::Process { pid, start_time } = handle {
            stop(
                &Handle {
                    pid: *pid,
                    start_time: *start_time,
                },
                super::STOP_GRACE,
            );
        }
    }

    /// Whether the program the command runs is there to run: a named
    /// agent's program (docs/runners.md, named agents: one FAIL saying how to
    /// install it), else the command's.
    fn check(&self) -> (crate::core::doctor::Level, String) {
        if let Some(program) = crate::core::agent::program(self.agent) {
            let at = super::agent_box::find_program(program);
            let found = at.as_ref().map(|p| (p.to_string_lossy(), starts(p)));
            let found = found.as_ref().map(|(p, ok)| (p.as_ref(), *ok));
            if let Some(line) = crate::core::doctor::agent_program(self.agent, found) {
                return line;
            }
        }
        let command = crate::core::agent::argv(self.agent, &self.command, None, None);
        let (ok, text) = program_check(&command);
        (crate::core::doctor::Level::of(ok), text)
    }
}

/// Whether a process of group `pgid` still runs. Its ended ones do not
/// count: a zombie is signalled as if alive (kill(2) with signal 0 finds
/// it), and the turn's keeper stays one until its parent reaps it — which
/// the tick that started the turn, the one now stopping it in an `afk hook`
/// follow-up, never does. Without this the tick held the watch lock for
/// the whole grace (`bench hook`: 10 s after every close).
fn group_lives(pgid: i32) -> bool {
    // SAFETY: signal 0 only checks for existence.
    if unsafe { libc::kill(-pgid, 0) } != 0 {
        return false;
    }
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return true;
    };
    procs
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|pid| std::fs::read_to_string(format!("/proc/{pid}/stat")).ok())
        .any(|stat| {
            // after the command's name: state, ppid, pgrp
            let Some(rest) = stat.rfind(')').and_then(|i| stat.get(i + 2..)) else {
                return false;
            };
            let mut f = rest.split_whitespace();
            let state = f.next().unwrap_or("Z");
            let pgrp = f.nth(1).and_then(|g| g.parse::<i32>().ok());
            pgrp == Some(pgid) && state != "Z" && state != "X"
        })
}

fn alive(h: &Handle) -> bool {
    match process_start_time(h.pid) {
        Some(t) => t == h.start_time || h.start_time == 0,
        None => false,
    }
}

/// Running, exited with a status, or vanished.
pub fn liveness(h: &Handle, run_dir: &Path) -> Liveness {
    if let Ok(s) = crate::private_files::read_run_file(&run_dir.join(EXIT_RECORD), 256)
        && let Ok(code) = s.trim().parse()
    {
        return Liveness::Exited(code);
    }
    if alive(h) {
        // a zombie has exited; its status file is being written or was lost
        let zombie = std::fs::read_to_string(format!("/proc/{}/stat", h.pid))
            .ok()
            .and_then(|s| s[s.rfind(')')? + 2..].chars().next())
            == Some('Z');
        if !zombie {
            return Liveness::Running;
        }
    }
    Liveness::Vanished
}

/// SIGTERM to the agent's process group, SIGKILL after `grace`.
pub fn stop(h: &Handle, grace: Duration) {
    if !alive(h) {
        return;
    }
    // SAFETY: plain kill(2) on the agent's own process group.
    unsafe {
        libc::kill(-h.pid, libc::SIGTERM);
    }
    let deadline = std::time::Instant::now() + grace;
    while std::time::Instant::now() < deadline {
        if !group_lives(h.pid) {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    // SAFETY: as above.
    unsafe {
        libc::kill(-h.pid, libc::SIGKILL);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wait_for(p: &Path) -> String {
        // the wrapper writes the status atomically; poll for it with a bound
        for _ in 0..500 {
            if let Ok(s) = std::fs::read_to_string(p) {
                return s;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!("no {}", p.display());
    }

    #[test]
    fn agent_gets_env_prompt_on_stdin_and_exit_status_lands() {
        let rd = std::env::temp_dir().join(format!("afk-runner-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&rd);
        // SAFETY: test-only; no other thread of this test reads this variable.
        unsafe { std::env::set_var("AFK_TEST_SECRET_X", "hunter2") };
        let cmd: Vec<String> = vec![
            "sh".into(),
            "-c".into(),
            "cat > got-stdin; env > got-env; exit 3".into(),
        ];
        let h = start(&StartSpec {
            run_id: crate::runner::TurnOf::Run(crate::types::RunId(9)),
            repo: "acme/api",
            issue: IssueNumber(7),
            branch: "afk/issue-7",
            prompt: "PROMPT TEXT",
            run_dir: &rd,
            turn: 1,
            command: &cmd,
            workdir: "{run_dir}/work",
            strip_env: &["AFK_TEST_SECRET_X".to_string()],
            env: &[],
            budget_usd: Some("1.75".into()),
            gate: None,
            boxed: None,
            progress_gid: None,
            after: vec![],
        })
        .unwrap();
        assert!(h.pid > 0);
        assert_eq!(wait_for(&rd.join("exit_status")).trim(), "3");
        assert_eq!(liveness(&h, &rd), Liveness::Exited(3));
        let stdin = std::fs::read_to_string(rd.join("work/got-stdin")).unwrap();
        assert_eq!(stdin, "PROMPT TEXT");
        let env = std::fs::read_to_string(rd.join("work/got-env")).unwrap();
        assert!(env.contains("AFK_ISSUE=7"));
        assert!(env.contains("AFK_TURN=1"));
        assert!(env.contains("AFK_BRANCH=afk/issue-7"));
        assert!(env.contains("AFK_BUDGET_USD=1.75\n"));
        assert!(env.contains(&format!(
            "AFK_PROGRESS_FILE={}",
            rd.join("progress.jsonl").display()
        )));
        assert!(!env.contains("hunter2"));
        let _ = std::fs::remove_dir_all(&rd);
    }

    #[test]
    fn a_keepers_records_read_back_as_the_wrappers_do() {
        let rd = std::env::temp_dir().join(format!("afk-records-{}", std::process::id()));
        crate::private_files::private_dir(&rd).unwrap();
        record_start(&rd).unwrap();
        let h = recorded_start(&rd).expect("a start record");
        assert_eq!(h.pid, std::process::id() as i32);
        assert_eq!(liveness(&h, &rd), Liveness::Running);
        record_exit(&rd, 7).unwrap();
        assert_eq!(liveness(&h, &rd), Liveness::Exited(7));
        for f in [PID_RECORD, EXIT_RECORD] {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(rd.join(f)).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "{f}");
        }
        let _ = std::fs::remove_dir_all(&rd);
    }

    /// A group whose processes have all ended, one a zombie its parent has
    /// not reaped yet, is over: a stop does not wait out its grace for it.
    #[test]
    fn a_group_of_zombies_has_stopped() {
        use std::os::unix::process::CommandExt;
        let mut cmd = Command::new("sleep");
        cmd.arg("60").process_group(0);
        let mut child = cmd.spawn().unwrap();
        let pid = child.id() as i32;
        assert!(group_lives(pid));
        // SAFETY: kill(2) of the test's own child
        unsafe { libc::kill(pid, libc::SIGKILL) };
        // not reaped: a zombie once the kernel ended it
        let zombie = || {
            std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| s.contains(") Z"))
        };
        let until = std::time::Instant::now() + Duration::from_secs(10);
        while !zombie() && std::time::Instant::now() < until {
            std::thread::yield_now();
        }
        assert!(zombie());
        // SAFETY: signal 0 only checks for existence
        assert_eq!(unsafe { libc::kill(-pid, 0) }, 0, "kill(2) finds a zombie");
        assert!(!group_lives(pid), "but it runs no more");
        child.wait().unwrap();
    }

    #[test]
    fn stop_ends_the_whole_process_group() {
        let rd = std::env::temp_dir().join(format!("afk-runner-stop-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&rd);
        // the agent starts a grandchild: stopping must reach it too
        let cmd: Vec<String> = vec![
            "sh".into(),
            "-c".into(),
            "sleep 60 & echo $! > grandchild; wait".into(),
        ];
        let h = start(&StartSpec {
            run_id: crate::runner::TurnOf::Run(crate::types::RunId(1)),
            repo: "a/b",
            issue: IssueNumber(1),
            branch: "afk/issue-1",
            prompt: "",
            run_dir: &rd,
            turn: 1,
            command: &cmd,
            workdir: "{run_dir}",
            strip_env: &[],
            env: &[],
            budget_usd: None,
            gate: None,
            boxed: None,
            progress_gid: None,
            after: vec![],
        })
        .unwrap();
        let grandchild: i32 = wait_for(&rd.join("grandchild")).trim().parse().unwrap();
        assert_eq!(liveness(&h, &rd), Liveness::Running);
        stop(&h, Duration::from_secs(5));
        // SAFETY: signal 0 only checks for existence.
        let gc_alive = unsafe { libc::kill(grandchild, 0) } == 0
            && std::fs::read_to_string(format!("/proc/{grandchild}/stat"))
                .map(|s| !s.contains(") Z"))
                .unwrap_or(false);
        assert!(!gc_alive, "the grandchild was stopped with its group");
        // killed agents leave no exit status: vanished
        assert_eq!(liveness(&h, &rd), Liveness::Vanished);
        let _ = std::fs::remove_dir_all(&rd);
    }

    #[test]
    fn missing_program_fails_the_start() {
        let rd = std::env::temp_dir().join(format!("afk-runner-missing-{}", std::process::id()));
        let cmd = vec!["definitely-not-a-program-afk".to_string()];
        let e = start(&StartSpec {
            run_id: crate::runner::TurnOf::Run(crate::types::RunId(1)),
            repo: "a/b",
            issue: IssueNumber(1),
            branch: "afk/issue-1",
            prompt: "",
            run_dir: &rd,
            turn: 1,
            command: &cmd,
            workdir: "{run_dir}",
            strip_env: &[],
            env: &[],
            budget_usd: None,
            gate: None,
            boxed: None,
            progress_gid: None,
            after: vec![],
        })
        .unwrap_err();
        assert!(e.to_string().contains("not found"));
        let _ = std::fs::remove_dir_all(&rd);
    }

    #[test]
    fn doctor_looks_through_sh_c_and_env_to_the_real_program() {
        let v = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let p = |s: &str| Some(Invokes::Program(s.into()));
        let cases = [
            (v(&["claude", "-p"]), p("claude")),
            (
                v(&[
                    "sh",
                    "-c",
                    "claude -p --output-format json < \"$AFK_PROMPT_FILE\"",
                ]),
                p("claude"),
            ),
            (v(&["/bin/bash", "-lc", "x"]), p("x")),
            (
                v(&["bash", "-e", "-c", "FOO=1 exec /opt/agent/run --x"]),
                p("/opt/agent/run"),
            ),
            (
                v(&["env", "A=1", "-u", "B", "sh", "-c", "codex exec"]),
                p("codex"),
            ),
            (
                v(&["sh", "-c", "$AGENT --go"]),
                Some(Invokes::CannotTell("$AGENT".into())),
            ),
            (
                v(&["sh", "-c", "(cd x && y)"]),
                Some(Invokes::CannotTell("(cd".into())),
            ),
            (v(&[]), None),
        ];
        for (cmd, want) in cases {
            assert_eq!(invoked_program(&cmd), want, "{cmd:?}");
        }
        let (ok, msg) = program_check(&v(&["sh", "-c", "no-such-agent-afk-test -p"]));
        assert!(!ok && msg.contains("no-such-agent-afk-test"), "{msg}");
        let (ok, _) = program_check(&v(&["sh", "-c", "sh -c true"]));
        assert!(ok);
    }
}
