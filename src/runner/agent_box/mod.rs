// One file: the box's tick side (~870 lines: the turn's spec from the config, the machine and the run, as one Boxer) and the tests that pin it.
//! The agent's box on the command runner (docs/runners.md#the-agents-box):
//! what the rules in `core::agent_box` decide, made real.
//!
//! Two processes of afk's, one turn:
//! - the **tick** resolves the paths (the agent program's files, the run's
//!   own, afk's to keep out) and makes the turn's spec, which it hands over
//!   in memory (`/dev/fd/N`), then starts `afk __box /dev/fd/N --record
//!   RUN_DIR` instead of the agent;
//! - the **keeper** (`afk __box`, outside, the turn's first process and its
//!   process group's leader): records the turn's start (`runner/records.rs`),
//!   makes the turn's cgroup where one can be made, and starts bubblewrap,
//!   whose own process first makes the box's network (`inside.rs`, network
//!   = model: a user and network namespace with the box's listeners in it,
//!   the model's loopback address, the gateway's port, an HTTP proxy for the
//!   rest) and sends the listeners back to the keeper (`pass.rs`). The keeper
//!   serves them from outside, relaying each connection through its
//!   forwarder (a `host:port` let out only when `runner.box.allow` has it,
//!   refusals counted in the run's log). Bubblewrap's pid 1 reaps and ends
//!   every process of the box with the agent; the keeper, a child
//!   subreaper, reaps that pid 1, records the exit status and exits with it.
//!
//! The files: this one the tick side (the turn's spec, the view);
//! `paths.rs` what the tick resolves of the machine and the agent program;
//! `owners.rs` what it makes for a turn and gives to the box's user;
//! `keeper.rs` and `probe.rs` the box's two programs (hidden subcommands:
//! `commands/box_programs.rs`, named by [`KEEPER_CMD`] and [`PROBE_CMD`]);
//! `inside.rs` the box's network and its listeners, `pass.rs` how their
//! descriptors reach the keeper.

use crate::core::agent_box::{
    self as rules, Network,
    forwarder::{HostPort, Inside},
};
use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};
use std::io::Read;
use std::path::{Path, PathBuf};

mod cgroup;
mod gateway;
mod inside;
mod keeper;
mod owners;
mod pass;
mod paths;
mod probe;
mod relay;
mod said;

pub use cgroup::limits_in_force;
pub use gateway::Setup as GatewaySetup;
pub(crate) use gateway::{
    Gateway, GatewaySpec, On as GatewayOn, PLACEHOLDER, STDOUT as GATEWAY_STDOUT,
};
pub use keeper::keep;
use owners::{own_tree, readable_tree};
pub(crate) use paths::find_program;
pub use paths::{cannot_box_fix, find_bwrap};
use paths::{canonical, default_allow, is_system, program_files, program_home, system_paths};
pub use probe::{can_box, can_box_here, probe};

/// `unset` and every variable of afk's environment the box would let
/// through only by its prefix (`pass`: the agent program's family) whose
/// value holds a secret afk holds: a copy of a token under a name the
/// agent's program reads (`ANTHROPIC_MY_COPY`) stays out. Names passed
/// whole (the turn's, `runner.secret_env`, `runner.box.env`) and the
/// program's own key variables are the operator's and afk's choice.
fn copies_unset(mut unset: Vec<String>, pass: &rules::env::EnvPass) -> Vec<String> {
    for (k, v) in std::env::vars_os() {
        let Some(k) = k.to_str() else { continue };
        let by_name = pass.names.iter().any(|n| n == k) || gateway::PROGRAM_KEYS.contains(&k);
        if by_name || !pass.admits(k) || unset.iter().any(|u| u == k) {
            continue;
        }
        let v = v.to_string_lossy();
        if crate::redact::text(&v) != v {
            unset.push(k.to_string());
        }
    }
    unset
}

/// The keeper's subcommand: `afk __box SPEC` (commands/box_programs.rs).
pub const KEEPER_CMD: &str = "__box";
/// The keeper's option naming the run folder where it writes the turn's
/// records (runner/command.rs: its start, its exit status), as the
/// unboxed turn's wrapper does.
pub const RECORD_ARG: &str = "--record";
/// Doctor's probe's subcommand: `afk __box-probe state=STATE MODEL FORGE`.
pub const PROBE_CMD: &str = "__box-probe";

/// What the keeper is handed: written by the tick, read by `afk __box`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Spec {
    pub bwrap: PathBuf,
    /// bubblewrap's arguments before `--` (namespaces, mounts, chdir).
    pub args: Vec<String>,
    /// What the box listens on (the keeper's listeners) and runs.
    pub inside: Inside,
    /// Network = model: the keeper makes the box's network namespace, its
    /// listeners in it, and forwards what they are asked.
    #[serde(default)]
    pub forward: bool,
    pub allow: Vec<HostPort>,
    /// Variables set, and removed, in the box.
    pub env: Vec<(String, String)>,
    pub unset: Vec<String>,
    /// Which of the keeper's variables (afk's, and the turn's) the box gets:
    /// nothing else of them.
    #[serde(default)]
    pub pass: rules::env::EnvPass,
    pub memory: Option<u64>,
    pub tasks: u32,
    /// The cgroup's name, unique per turn.
    pub name: String,
    /// The turn's number (the keeper's `box/refused-turn-N.json`).
    #[serde(default)]
    pub turn: u32,
    /// afk runs as root: the host uid and gid the box's user is (the
    /// keeper starts bubblewrap as that user).
    #[serde(default)]
    pub host_user: Option<(u32, u32)>,
    /// The box's seccomp filter (`core::agent_box::seccomp::seccomp_filter`, this
    /// machine's), made by the keeper and handed to bubblewrap on its
    /// descriptor.
    #[serde(default)]
    pub filter: bool,
    /// The files the keeper hands bubblewrap (`core::agent_box::mounts::handed`),
    /// each on its descriptor from `FILES_FD`.
    #[serde(default)]
    pub handed: Vec<rules::mounts::Handed>,
    /// afk as root: the bound paths the box's host user may not reach,
    /// which the keeper binds at `core::agent_box::mounts::STAGE_DIR/<i>` for
    /// bubblewrap (`core::agent_box::mounts::Shape::staged`).
    #[serde(default)]
    pub staged: Vec<PathBuf>,
    /// The model gateway (docs/runners.md#the-model-gateway-runnermodel): the keeper serves the box's loopback
    /// port with the key it reads from its own environment.
    #[serde(default)]
    pub gateway: Option<gateway::GatewaySpec>,
    /// What the keeper starts once the turn's exit record is written: afk's
    /// watch of this run (docs/hook.md), with afk's own environment, never
    /// the agent's; empty: nothing.
    #[serde(default)]
    pub after: Vec<String>,
}

/// The paths `mounts` binds that `ids` (the box's host user, with no other
/// group) may not reach: a folder above one does not let it search.
fn unreachable_for(mounts: &[rules::mounts::Mount], ids: (u32, u32)) -> Vec<PathBuf> {
    mounts
        .iter()
        .filter_map(|m| match m {
            rules::mounts::Mount::ReadOnly(p) | rules::mounts::Mount::ReadWrite(p) => Some(p),
            _ => None,
        })
        .filter(|p| !passable_by(p, ids))
        .cloned()
        .collect()
}

/// Whether `(uid, gid)` may pass every folder above `p`.
fn passable_by(p: &Path, ids: (u32, u32)) -> bool {
    use std::os::unix::fs::MetadataExt;
    let mut chain: Vec<rules::mounts::Folder> = p
        .ancestors()
        .skip(1)
        .filter_map(|a| std::fs::metadata(a).ok())
        .map(|m| rules::mounts::Folder {
            mode: m.mode(),
            uid: m.uid(),
            gid: m.gid(),
        })
        .collect();
    chain.reverse();
    rules::mounts::passable(&chain, ids)
}

/// A boxed turn: the keeper's command line and its spec.
pub struct Wrapped {
    pub argv: Vec<String>,
    spec: std::fs::File,
}

impl Wrapped {
    /// The keeper's command line: afk's program, the spec by its
    /// descriptor (held open by `spec`), the run's folder for its record.
    fn keeper(afk: &Path, spec: std::fs::File, run_dir: &Path) -> Wrapped {
        Wrapped {
            argv: vec![
                afk.display().to_string(),
                KEEPER_CMD.to_string(),
                format!("/dev/fd/{}", std::os::fd::AsRawFd::as_raw_fd(&spec)),
                RECORD_ARG.to_string(),
                run_dir.display().to_string(),
            ],
            spec,
        }
    }

    /// The keeper's command, its spec (a file in memory, nothing written on
    /// disk for it) on the descriptor its argv names (`/dev/fd/N`, the
    /// tick's own number: left open across the keeper's exec, never put on
    /// a fixed number another of the spawn's descriptors may hold).
    pub fn command(&self) -> std::process::Command {
        let mut cmd = std::process::Command::new(&self.argv[0]);
        cmd.args(&self.argv[1..]);
        crate::runner::turn_end::hand_over(&mut cmd, std::os::fd::AsRawFd::as_raw_fd(&self.spec));
        cmd
    }
}

/// `bytes` in a file of memory (nothing on disk), read from its start:
/// the keeper's spec, the box's copied texts.
pub(crate) fn in_memory(bytes: &[u8]) -> Result<std::fs::File> {
    use std::os::fd::FromRawFd;
    use std::os::unix::fs::FileExt;
    // SAFETY: memfd_create(2) with a NUL-terminated name
    let fd = unsafe { libc::memfd_create(c"afk-box".as_ptr(), libc::MFD_CLOEXEC) };
    if fd < 0 {
        bail!(
            "cannot make a file in memory: {}",
            std::io::Error::last_os_error()
        );
    }
    // SAFETY: a new descriptor, owned here only
    let f = unsafe { std::fs::File::from_raw_fd(fd) };
    // at its offset: the file's position stays at its start
    f.write_all_at(bytes, 0)
        .context("cannot write a file in memory")?;
    Ok(f)
}

/// What a tick reads of the machine once for all its boxes.
#[derive(Debug, Clone)]
struct Machine {
    system: Vec<rules::mounts::SystemPath>,
    hidden: Vec<rules::mounts::Hidden>,
    sysrq_trigger: bool,
}

/// Why no turn starts with `runner.box.user` set and afk not root.
pub const USER_NOT_IN_FORCE: &str = "runner: runner.box.user is set, and afk does not run as root, so the box's user could only be afk's own: run the ticks as root for another user, or unset runner.box.user";

/// The box's settings, from the config.
#[derive(Debug, Clone)]
pub struct Boxer {
    network: Network,
    allow: Vec<HostPort>,
    read_only: Vec<PathBuf>,
    read_write: Vec<PathBuf>,
    memory: Option<u64>,
    tasks: u32,
    keep_out: Vec<PathBuf>,
    git_cache: PathBuf,
    workspace_afk: bool,
    /// afk's own program (keeper and init); None: this one.
    program: Option<PathBuf>,
    /// The machine's paths every box of the tick is made from (its system
    /// folders and `/etc` entries, afk's paths to keep out), read once, at
    /// the tick's first box, and kept for the tick.
    machine: std::sync::OnceLock<Machine>,
    /// Whether this machine can make a box, asked once (before the tick's
    /// first boxed start) and kept for the tick.
    can: std::sync::OnceLock<std::result::Result<(), crate::types::Invalid>>,
    /// whether the cgroup limits set can be applied here, asked once
    limits: std::sync::OnceLock<std::result::Result<(), crate::types::Invalid>>,
    /// `runner.box.user` is set and afk does not run as root: the box's
    /// user could only be afk's own, so no turn starts
    user_not_in_force: bool,
    /// afk runs as root: the unprivileged host uid and gid the box's user
    /// is (`runner.box.user`); None: afk's own user, as bubblewrap maps it.
    host_user: Option<(u32, u32)>,
    /// The model gateway, decided once for the tick (docs/runners.md#the-model-gateway-runnermodel).
    gateway: gateway::Setup,
    /// The named agent (what its program reads of afk's environment).
    agent: crate::types::AgentKind,
    /// `runner.box.env`: more of afk's variables the box gets.
    env: Vec<String>,
    /// The watch a turn's end starts (None: the config was not loaded
    /// from a file: no such watch).
    after_turn: Option<crate::runner::turn_end::Watch>,
}

/// What one turn's box needs of the turn.
pub struct TurnPaths<'a> {
    pub run_dir: &'a Path,
    pub workdir: &'a Path,
    pub prompt_file: &'a Path,
    pub progress: &'a Path,
    pub repo: &'a str,
    pub turn: u32,
    pub name: String,
    /// What is left of the run's money limits as the turn starts.
    pub budget_usd: Option<f64>,
    /// The gateway's budget gate (docs/runners.md#the-model-gateway-runnermodel): the limits, the run's earlier
    /// spend, the day's other runs' as recorded when the turn started; None:
    /// no money limit.
    pub gate: Option<crate::core::gateway::budget::Gate>,
    /// The names of the variables the turn's command is started with beyond
    /// `core::agent_box::env::TURN_VARS` (the turn's own, e.g. the fixer's).
    pub turn_vars: Vec<&'a str>,
    /// The run whose watch the turn's end starts (None: a turn no watch
    /// follows, e.g. an upgrade's fixer or doctor's probe).
    pub run: Option<i64>,
}

/// The agent program's own settings folders, which reach the box only when
/// the operator set their variable (docs/runners.md#the-agents-box).
pub const PROGRAM_HOMES: [&str; 2] = ["CODEX_HOME", "CLAUDE_CONFIG_DIR"];

/// The files of a program's settings folder a turn gets a copy of: its
/// login and the operator's settings, never its sessions, history or logs.
pub fn login_files(var: &str) -> &'static [&'static str] {
    match var {
        "CODEX_HOME" => &["auth.json", "config.toml", "AGENTS.md", "instructions.md"],
        "CLAUDE_CONFIG_DIR" => &[
            ".credentials.json",
            ".claude.json",
            "settings.json",
            "CLAUDE.md",
        ],
        _ => &[],
    }
}

/// A login or settings file larger than this is not copied.
const MAX_LOGIN_FILE: u64 = 1 << 20;

impl Boxer {
    pub fn new(cfg: &crate::config::Config) -> Boxer {
        let b = &cfg.runner.boxed;
        let (config_file, paths) = match &cfg.loaded_as {
            Some((file, paths)) => (Some(file.clone()), paths.clone()),
            None => (None, cfg.paths(None)),
        };
        let gateway = gateway::setup(cfg, b.network == Network::Model);
        let allow = if b.allow.is_empty() {
            default_allow(cfg, !matches!(gateway, gateway::Setup::On(_)))
        } else {
            b.allow()
        };
        let mut keep_out: Vec<PathBuf> = config_file.iter().cloned().collect();
        keep_out.extend([
            paths.file.clone(),
            paths.dir.clone(),
            paths.runs.clone(),
            paths.git_cache.clone(),
            paths.recipes.clone(),
            paths.stop.clone(),
        ]);
        // the folders of afk's config and the forge's token files whole (an
        // env file beside them: /etc/afk/env), where they are not a system
        // root; every secret file the config names itself (the tracker's
        // too)
        let folders = config_file
            .iter()
            .chain(&cfg.forge.token_file)
            .chain(&cfg.forge.app_private_key_file)
            .filter_map(|f| f.parent())
            .filter(|d| d.components().count() > 2)
            .map(Path::to_path_buf)
            .collect::<Vec<_>>();
        keep_out.extend(folders);
        keep_out.extend(cfg.secret_files().into_iter().map(|(p, _)| p.to_path_buf()));
        if let Some(home) = std::env::var_os("HOME") {
            keep_out.push(PathBuf::from(home));
        }
        Boxer {
            network: b.network,
            allow,
            read_only: b.read_only.clone(),
            read_write: b.read_write.clone(),
            memory: b.memory_bytes(),
            tasks: b.tasks,
            keep_out,
            git_cache: paths.git_cache,
            workspace_afk: cfg.runner.workspace() == crate::types::Workspace::Afk,
            program: None,
            machine: std::sync::OnceLock::new(),
            can: std::sync::OnceLock::new(),
            limits: std::sync::OnceLock::new(),
            // SAFETY: geteuid(2) cannot fail
            host_user: (unsafe { libc::geteuid() } == 0)
                .then(|| b.host_user().ok())
                .flatten(),
            // SAFETY: geteuid(2) cannot fail
            user_not_in_force: unsafe { libc::geteuid() } != 0 && !b.user.trim().is_empty(),
            gateway,
            agent: cfg.runner.agent(),
            // runner.secret_env's values are the agent's to hold (kept out of
            // everything afk writes); runner.box.env names the rest
            env: b
                .env
                .iter()
                .chain(&cfg.runner.secret_env)
                .cloned()
                .collect(),
            after_turn: crate::runner::turn_end::Watch::of(cfg),
        }
    }

    /// Whether the model gateway is on for this tick's turns, and why not.
    pub fn gateway(&self) -> &gateway::Setup {
        &self.gateway
    }

    /// The same box, its keeper and init run by `program` (an afk binary)
    /// instead of this process's own (the benchmark's).
    pub fn with_program(mut self, program: &Path) -> Boxer {
        self.program = Some(program.to_path_buf());
        self
    }

    /// `workspace = "agent"`: the agent does its own git (the forge is
    /// among its default `allow`).
    pub fn agent_does_git(&self) -> bool {
        !self.workspace_afk
    }

    pub fn network(&self) -> Network {
        self.network
    }

    pub fn allow(&self) -> &[HostPort] {
        &self.allow
    }

    /// The host uid the box's user is when afk runs as root (doctor).
    pub fn host_user(&self) -> Option<(u32, u32)> {
        self.host_user
    }

    /// afk's paths the box keeps out, as they are on disk (existing ones).
    fn hidden(&self) -> Vec<rules::mounts::Hidden> {
        let mut v: Vec<rules::mounts::Hidden> = self
            .keep_out
            .iter()
            .filter_map(|p| {
                let c = std::fs::canonicalize(p).ok()?;
                let dir = c.is_dir();
                Some(rules::mounts::Hidden { path: c, dir })
            })
            .collect();
        for p in rules::mounts::ROOTS_OWN {
            if let Ok(m) = std::fs::symlink_metadata(p) {
                v.push(rules::mounts::Hidden {
                    path: p.into(),
                    dir: m.is_dir(),
                });
            }
        }
        v.sort_by(|a, b| a.path.cmp(&b.path));
        v.dedup();
        v
    }

    /// The view of the operator's and the program's paths, without the run:
    /// what doctor checks and every turn starts from.
    pub fn base_view(&self, argv: &[String]) -> Result<(rules::mounts::View, Vec<String>)> {
        let machine = self.machine.get_or_init(|| {
            let hidden = self.hidden();
            Machine {
                system: system_paths(&hidden),
                hidden,
                sysrq_trigger: Path::new("/proc/sysrq-trigger").exists(),
            }
        });
        let mut view = rules::mounts::View {
            system: machine.system.clone(),
            read_only: vec![],
            read_write: vec![],
            hidden: machine.hidden.clone(),
            sysrq_trigger: machine.sysrq_trigger,
            ..Default::default()
        };
        let (argv, program_files) = program_files(argv);
        view.read_only.extend(program_files);
        for p in &self.read_only {
            view.read_only.push(canonical(p)?);
        }
        for p in &self.read_write {
            view.read_write.push(canonical(p)?);
        }
        view.read_only.retain(|p| !is_system(p));
        view.read_only.sort();
        view.read_only.dedup();
        view.read_write.sort();
        view.read_write.dedup();
        if let Some(why) = rules::mounts::refuse_view(&view) {
            bail!("runner.box: {why}");
        }
        Ok((view, argv))
    }

    /// The folders of afk's `PATH` the box does not show (neither a system
    /// folder nor under a path the view binds): a program the agent runs
    /// from them is not found in its box (doctor says so).
    /// The agent's own program (`program`, as the command names it) is not
    /// among them: the box runs it by its real path, whose files it binds.
    pub fn path_unseen(&self, view: &rules::mounts::View, program: &str) -> Vec<PathBuf> {
        let Some(path) = std::env::var_os("PATH") else {
            return vec![];
        };
        let mut seen: Vec<PathBuf> = vec![];
        // afk's own folder: nothing the agent runs comes from it
        let own = std::env::current_exe()
            .ok()
            .and_then(|e| std::fs::canonicalize(e).ok())
            .and_then(|e| e.parent().map(Path::to_path_buf));
        std::env::split_paths(&path)
            .filter(|d| d.is_absolute() && d.is_dir())
            .filter(|d| program.contains('/') || !d.join(program).exists())
            .filter(|d| own.is_none() || std::fs::canonicalize(d).ok() != own)
            .filter(|d| {
                let first = !seen.contains(d);
                seen.push(d.clone());
                first
            })
            .filter_map(|d| std::fs::canonicalize(&d).ok().map(|c| (d, c)))
            .filter(|(_, c)| {
                !is_system(c)
                    && !view
                        .read_only
                        .iter()
                        .chain(&view.read_write)
                        .any(|b| c.starts_with(b))
            })
            .map(|(d, _)| d)
            .collect()
    }

    /// Whether `runner.box.user` is set where afk does not run as root (no
    /// turn starts; doctor FAILs it).
    pub fn user_not_in_force(&self) -> bool {
        self.user_not_in_force
    }

    /// Write the turn's spec; the command line that runs the turn in its box.
    /// A machine that cannot make a box starts no turn: the start fails
    /// with doctor's line, so poll labels nothing and no run escalates.
    pub fn wrap(&self, argv: &[String], t: &TurnPaths) -> Result<Wrapped> {
        let (bwrap, gw) = self.ready()?;
        let (mut view, argv) = self.base_view(argv)?;
        let home = t.run_dir.join("home");
        crate::private_files::private_dir(&home)
            .with_context(|| format!("runner: cannot create {}", home.display()))?;
        view.identity = Some(home.clone());
        let gw_port = gw.map(|on| on.port(&self.allow));
        let logins = match (gw, gw_port) {
            (Some(on), Some(port)) => gateway_logins(on, port, &home)?,
            _ => self.copy_logins(&home)?,
        };
        (view.run_read_only, view.run_read_write) = self.run_paths(t, &home)?;
        let afk = match &self.program {
            Some(p) => p.clone(),
            None => std::env::current_exe().context("runner: cannot find afk's own program")?,
        };
        let afk = canonical(&afk)?;
        // afk's own program is in the box only when its command is afk's
        let afks = argv.first().map(String::as_str) == Some(rules::mounts::PROGRAM_PATH);
        let workdir = canonical(t.workdir)?;
        if let Some(ids) = self.host_user {
            self.give_the_turn(ids, t, &home, &view)?;
        }
        let filter = rules::seccomp::Arch::native().is_some();
        let mounts = rules::mounts::mounts(&view);
        let staged = match self.host_user {
            Some(ids) => {
                let mut out = unreachable_for(&mounts, ids);
                // doctor's probe: afk's own program, in a folder the box's
                // user may not pass (`cargo install` as root: /root/.cargo/bin)
                if afks && !passable_by(&afk, ids) {
                    out.push(afk.clone());
                }
                rules::mounts::stage_roots(&out)
            }
            None => vec![],
        };
        let args = rules::mounts::bwrap_args(
            &mounts,
            &rules::mounts::Shape {
                network: self.network,
                chdir: &workdir,
                program: afks.then_some(afk.as_path()),
                root: self.host_user.is_some(),
                staged: &staged,
                seccomp: filter,
            },
        );
        let (env, unset) = self.gated_env(&home, &logins, gw.zip(gw_port));
        let pass = self.pass(t);
        let unset = copies_unset(unset, &pass);
        let spec = Spec {
            bwrap,
            args,
            inside: Inside {
                gateway: gw_port,
                ..self.inside(argv)
            },
            forward: self.network == Network::Model,
            allow: self.allow.clone(),
            env,
            unset,
            pass,
            memory: self.memory,
            tasks: self.tasks,
            name: t.name.clone(),
            turn: t.turn,
            host_user: self.host_user,
            filter,
            handed: rules::mounts::handed(&mounts),
            staged,
            gateway: gw
                .zip(gw_port)
                .map(|(on, port)| on.spec_gated(port, t.run_dir, t.gate)),
            after: self.after(&afk, t.run),
        };
        Ok(Wrapped::keeper(
            &afk,
            in_memory(&serde_json::to_vec(&spec)?)?,
            t.run_dir,
        ))
    }

    /// bwrap found, this machine able to make a box (probed once a tick)
    /// and the model gateway's setup not refused: bwrap's path and the
    /// gateway where it is on.
    fn ready(&self) -> Result<(PathBuf, Option<&gateway::On>)> {
        let bwrap = find_bwrap().ok_or_else(|| anyhow::anyhow!("{}", cannot_box_fix("bwrap")))?;
        if let Err(why) = self.can.get_or_init(|| match &self.program {
            Some(afk) => probe::can_box_as(afk, self.host_user),
            None => probe::can_box_here(self.host_user),
        }) {
            bail!("{why}");
        }
        // a box user that is set is the box's user, or no turn starts
        if self.user_not_in_force {
            bail!("{}", USER_NOT_IN_FORCE);
        }
        // a cgroup limit that is set is in force, or no turn starts
        if (self.memory.is_some() || self.tasks > 0)
            && let Err(why) = self.limits.get_or_init(cgroup::limits_in_force)
        {
            bail!(
                "runner: runner.box.memory or runner.box.tasks is set, and this host cannot apply it: {why}; \
                 run afk where its cgroup delegates the memory and pids controllers (a systemd unit with Delegate=yes), or unset them"
            );
        }
        let gw = match &self.gateway {
            gateway::Setup::Refused(why) => bail!("runner: {why}"),
            gateway::Setup::On(on) => Some(on),
            gateway::Setup::Off(_) => None,
        };
        Ok((bwrap, gw))
    }

    /// The box's environment (`env`) and what it unsets, the model
    /// gateway's variables in place of the agent's own where it is on.
    fn gated_env(
        &self,
        home: &Path,
        logins: &[(String, PathBuf)],
        gw: Option<(&gateway::On, u16)>,
    ) -> (Vec<(String, String)>, Vec<String>) {
        let (mut env, mut unset) = self.env(home, logins);
        if let Some((on, port)) = gw {
            let set = on.env(port);
            unset.extend(on.unset());
            unset.retain(|k| !set.iter().any(|(s, _)| s == k));
            env.retain(|(k, _)| !unset.contains(k));
            env.extend(set);
        }
        (env, unset)
    }

    /// The variables of afk's environment the box lets through, by name.
    fn pass(&self, t: &TurnPaths) -> rules::env::EnvPass {
        rules::env::EnvPass::of(
            self.agent,
            paths::codex_provider_key("env_key").as_deref(),
            &t.turn_vars,
            &self.env,
        )
    }

    /// The watch the turn's end starts (empty: none).
    fn after(&self, afk: &Path, run: Option<i64>) -> Vec<String> {
        match (&self.after_turn, run) {
            (Some(watch), Some(run)) if crate::runner::turn_end::enabled() => watch.argv(afk, run),
            _ => vec![],
        }
    }

    /// afk runs as root and the box's user is the unprivileged host user
    /// `ids`: what the turn writes becomes that user's (its checkout, home,
    /// push repository; its progress file and prompt), what it reads is
    /// readable (the borrowed cache objects),
    /// and the run folder lets it through to them. afk's private folders
    /// above stay closed to every other user of the machine.
    fn give_the_turn(
        &self,
        (uid, gid): (u32, u32),
        t: &TurnPaths,
        home: &Path,
        view: &rules::mounts::View,
    ) -> Result<()> {
        use std::os::unix::fs::PermissionsExt;
        let fail = |p: &Path, e: std::io::Error| {
            anyhow::anyhow!(
                "runner: cannot give {} to the box's user (uid {uid}): {}",
                p.display(),
                afk_host::os_words(&e)
            )
        };
        for tree in [t.workdir, home, &t.run_dir.join("push.git")] {
            own_tree(tree, uid, gid).map_err(|(p, e)| fail(&p, e))?;
        }
        for f in [t.progress, t.prompt_file] {
            if std::fs::symlink_metadata(f).is_ok_and(|m| m.is_file()) {
                std::os::unix::fs::lchown(f, Some(uid), None).map_err(|e| fail(f, e))?;
            }
        }
        let add = |p: &Path, bits: u32| -> std::io::Result<()> {
            let m = std::fs::symlink_metadata(p)?;
            let mode = m.permissions().mode() & 0o7777;
            if !m.file_type().is_symlink() && mode & bits != bits {
                std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode | bits))?;
            }
            Ok(())
        };
        // the run folder lets the box's group through (search only: 0710),
        // and no one else
        if std::fs::symlink_metadata(t.run_dir).is_ok_and(|m| m.is_dir()) {
            std::os::unix::fs::lchown(t.run_dir, None, Some(gid))
                .map_err(|e| fail(t.run_dir, e))?;
        }
        add(t.run_dir, 0o010).map_err(|e| fail(t.run_dir, e))?;
        for objects in &view.run_read_only {
            if objects.ends_with("objects") {
                readable_tree(objects).map_err(|(p, e)| fail(&p, e))?;
            }
        }
        Ok(())
    }

    /// The run's own paths: read-only (its folder, the cache objects its
    /// checkout borrows) and read-write (checkout, home, push repository,
    /// progress file), each a real folder or file, never through a link.
    fn run_paths(&self, t: &TurnPaths, home: &Path) -> Result<(Vec<PathBuf>, Vec<PathBuf>)> {
        let real_dir = |p: &Path| -> Result<PathBuf> {
            let m = std::fs::symlink_metadata(p)
                .with_context(|| format!("runner: {} is not there", p.display()))?;
            if !m.is_dir() {
                bail!(
                    "runner: {} is not a folder (a link is not followed)",
                    p.display()
                );
            }
            canonical(p)
        };
        let mut ro = vec![canonical(t.run_dir)?];
        if self.workspace_afk {
            let objects = self.git_cache.join(format!("{}.git/objects", t.repo));
            if objects.is_dir() {
                ro.push(canonical(&objects)?);
            }
        }
        let mut rw = vec![real_dir(t.workdir)?, real_dir(home)?];
        let push = t.run_dir.join("push.git");
        if push.exists() {
            rw.push(real_dir(&push)?);
        }
        if std::fs::symlink_metadata(t.progress).is_ok_and(|m| m.is_file()) {
            rw.push(canonical(t.progress)?);
        }
        Ok((ro, rw))
    }

    /// The agent program's login, per turn: the files [`LOGIN_FILES`] names
    /// of each settings folder the operator set (`CODEX_HOME`,
    /// `CLAUDE_CONFIG_DIR`), copied into a folder of the run's own home
    /// (afresh each turn); the variable names the copy. The operator's folder
    /// itself never reaches a box, so nothing one run writes there (a hook,
    /// a transcript, a shell snapshot) is read by another's.
    fn copy_logins(&self, home: &Path) -> Result<Vec<(String, PathBuf)>> {
        let mut made = vec![];
        for var in PROGRAM_HOMES {
            let Some(dir) = program_home(var) else {
                continue;
            };
            let hidden = self.hidden();
            if hidden.iter().any(|h| h.path == dir) {
                continue;
            }
            // the box's home is the agent's to write: the copy is made and
            // written by descriptor, never through a link it left there
            let copy = settings_folder(home, &format!(".afk-{}", var.to_ascii_lowercase()))?;
            for name in login_files(var) {
                let src = dir.join(name);
                copy.remove(name).with_context(|| {
                    format!("runner: cannot remove {}", copy.path().join(name).display())
                })?;
                // a regular file of the operator's, bounded; never through a link
                let Ok(m) = std::fs::symlink_metadata(&src) else {
                    continue;
                };
                if !m.is_file() || m.len() > MAX_LOGIN_FILE {
                    continue;
                }
                let mut bytes = vec![];
                std::fs::File::open(&src)
                    .and_then(|f| f.take(MAX_LOGIN_FILE).read_to_end(&mut bytes))
                    .with_context(|| format!("runner: cannot read {}", src.display()))?;
                copy.write_new(name, &bytes).with_context(|| {
                    format!("runner: cannot write {}", copy.path().join(name).display())
                })?;
            }
            made.push((var.to_string(), copy.path().to_path_buf()));
        }
        Ok(made)
    }

    /// The variables set and removed in the box: its home and user, the
    /// agent program's settings folder (the run's copy), the proxy.
    fn env(
        &self,
        home: &Path,
        logins: &[(String, PathBuf)],
    ) -> (Vec<(String, String)>, Vec<String>) {
        let mut env: Vec<(String, String)> = [
            ("HOME", home.display().to_string()),
            ("TMPDIR", "/tmp".to_string()),
            ("USER", "afk-agent".to_string()),
            ("LOGNAME", "afk-agent".to_string()),
            ("AFK_BOX", "1".to_string()),
            // interpreters keep their caches out of the checkout
            ("PYTHONDONTWRITEBYTECODE", "1".to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        let mut unset = vec!["IS_SANDBOX".to_string()];
        for var in PROGRAM_HOMES {
            match logins.iter().find(|(v, _)| v == var) {
                Some((_, copy)) => env.push((var.to_string(), copy.display().to_string())),
                None => unset.push(var.to_string()),
            }
        }
        if self.network == Network::Model {
            env.extend(rules::forwarder::proxy_env(&self.allow));
        }
        (env, unset)
    }

    /// What the box listens on (the keeper's listeners) and runs.
    fn inside(&self, argv: Vec<String>) -> Inside {
        let model = self.network == Network::Model;
        Inside {
            listen: match model {
                true => self
                    .allow
                    .iter()
                    .filter(|a| a.is_loopback())
                    .cloned()
                    .collect(),
                false => vec![],
            },
            proxy: model.then(|| rules::forwarder::proxy_port(&self.allow)),
            argv,
            gateway: None,
        }
    }
}

/// The agent program's settings with the gateway on: no operator login
/// reaches the box (its login is the key); Codex gets a `CODEX_HOME` of the
/// run's own whose provider is the gateway.
fn gateway_logins(on: &gateway::On, port: u16, home: &Path) -> Result<Vec<(String, PathBuf)>> {
    if on.api != crate::core::gateway::Api::OpenAi {
        return Ok(vec![]);
    }
    let dir = settings_folder(home, ".afk-codex_home")?;
    for name in login_files("CODEX_HOME") {
        dir.remove(name).with_context(|| {
            format!("runner: cannot remove {}", dir.path().join(name).display())
        })?;
    }
    dir.write_new("config.toml", on.codex_config(port).as_bytes())
        .with_context(|| {
            format!(
                "runner: cannot write {}",
                dir.path().join("config.toml").display()
            )
        })?;
    Ok(vec![("CODEX_HOME".to_string(), dir.path().to_path_buf())])
}

/// Settings folder `name` in the box's home, held by descriptor: a link the
/// agent left in its place is removed, never followed, and a real folder
/// made (docs/security.md, "What afk prepares in the box's home").
fn settings_folder(home: &Path, name: &str) -> Result<crate::private_files::Beneath> {
    crate::private_files::Beneath::open(home)
        .and_then(|h| h.folder(name))
        .with_context(|| format!("runner: cannot prepare {}", home.join(name).display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn boxer(network: Network, allow: &[&str]) -> Boxer {
        Boxer {
            network,
            allow: allow.iter().map(|a| HostPort::parse(a).unwrap()).collect(),
            read_only: vec![],
            read_write: vec![],
            memory: None,
            tasks: 0,
            keep_out: vec![],
            git_cache: "/var/lib/afk/git".into(),
            workspace_afk: true,
            program: None,
            machine: std::sync::OnceLock::new(),
            can: std::sync::OnceLock::new(),
            limits: std::sync::OnceLock::new(),
            user_not_in_force: false,
            host_user: None,
            gateway: gateway::Setup::Off("off".into()),
            agent: crate::types::AgentKind::Claude,
            env: vec![],
            after_turn: None,
        }
    }

    /// With `workspace = "agent"` the agent does its own git and opens its
    /// PR, so the box lets out the forge's host: on Azure DevOps the
    /// organization's. With afk's workspace, no forge at all.
    #[test]
    fn the_agents_own_git_reaches_the_forges_host_only_with_workspace_agent() {
        let azure = "kind = \"azure-devops\"\nurl = \"https://dev.azure.com/fabrikam\"\n";
        let gitea = "kind = \"gitea\"\nurl = \"https://git.example.org:3000\"\n";
        let cases: [(&str, &str, &[&str]); 3] = [
            (azure, "agent", &["dev.azure.com:443"]),
            (azure, "afk", &[]),
            (gitea, "agent", &["git.example.org:3000"]),
        ];
        for (forge, workspace, want) in cases {
            let text = format!(
                "[forge]\n{forge}token_env = \"AFK_FORGE_TOKEN\"\n\n[runner]\nworkspace = \"{workspace}\"\n"
            );
            let cfg = crate::config::Config::parse(&text, Path::new("/etc/afk"))
                .unwrap_or_else(|e| panic!("{text}\n{e}"));
            let want: Vec<HostPort> = want.iter().map(|a| HostPort::parse(a).unwrap()).collect();
            assert_eq!(default_allow(&cfg, false), want, "{text}");
        }
    }

    #[test]
    fn the_box_listens_on_the_models_loopback_and_proxies_the_rest() {
        let allow = ["127.0.0.1:3128", "api.anthropic.com:443", "localhost:11434"];
        let cases = [
            (
                Network::Model,
                vec!["127.0.0.1:3128", "localhost:11434"],
                Some(3129),
            ),
            (Network::Open, vec![], None),
            (Network::None, vec![], None),
        ];
        for (network, listen, proxy) in cases {
            let spec = boxer(network, &allow).inside(vec!["claude".into()]);
            let listen: Vec<HostPort> =
                listen.iter().map(|a| HostPort::parse(a).unwrap()).collect();
            assert_eq!(spec.listen, listen, "{network:?}");
            assert_eq!(spec.proxy, proxy, "{network:?}");
            assert_eq!(spec.argv, ["claude"]);
            assert_eq!(spec.gateway, None);
        }
    }

    #[test]
    fn the_box_sets_its_own_home_and_user_and_removes_the_rest() {
        let home = Path::new("/r/home");
        let login = vec![(
            "CODEX_HOME".to_string(),
            PathBuf::from("/r/home/.afk-codex_home"),
        )];
        for (network, proxied) in [(Network::Model, true), (Network::Open, false)] {
            let (env, unset) = boxer(network, &["api.x:443"]).env(home, &login);
            let get = |k: &str| env.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
            assert_eq!(get("HOME"), Some("/r/home"));
            assert_eq!(get("USER"), Some("afk-agent"));
            assert_eq!(get("AFK_BOX"), Some("1"));
            assert_eq!(get("CODEX_HOME"), Some("/r/home/.afk-codex_home"));
            assert_eq!(unset, ["IS_SANDBOX", "CLAUDE_CONFIG_DIR"]);
            assert_eq!(get("HTTPS_PROXY").is_some(), proxied, "{network:?}");
        }
    }

    #[test]
    fn a_login_copy_takes_only_the_login_files() {
        let cases: [(&str, &[&str]); 3] = [
            (
                "CODEX_HOME",
                &["auth.json", "config.toml", "AGENTS.md", "instructions.md"],
            ),
            (
                "CLAUDE_CONFIG_DIR",
                &[
                    ".credentials.json",
                    ".claude.json",
                    "settings.json",
                    "CLAUDE.md",
                ],
            ),
            ("HOME", &[]),
        ];
        for (var, files) in cases {
            assert_eq!(login_files(var), files, "{var}");
        }
        for var in PROGRAM_HOMES {
            assert!(!login_files(var).is_empty(), "{var}");
        }
    }
}
