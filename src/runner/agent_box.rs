//! The agent's box on the command runner (docs/runners.md#the-agents-box):
//! what the rules in `core::agent_box` decide, made real.
//!
//! Three processes, one turn:
//! - the **tick** resolves the paths (the agent program's files, the run's
//!   own, afk's to keep out) and writes the turn's spec (`<run_dir>/box/`);
//!   the runner's wrapper then starts `afk __box SPEC` instead of the agent;
//! - the **keeper** (`afk __box`, outside, in the turn's process group): the
//!   forwarder (a Unix socket bound into the box; each connection names a
//!   `host:port`, let out only when `runner.box.allow` has it, refusals
//!   counted in the run's log), the turn's cgroup where one can be made,
//!   then `bwrap`; it lives exactly as long as the turn and exits with the
//!   agent's status, so the wrapper writes `exit_status` only once every
//!   process of the box is gone;
//! - the **init** (`afk __box-init`, the box's pid 1): listens inside the
//!   box (the model's loopback address, an HTTP proxy for the rest) and
//!   relays to the keeper's socket, starts the agent, reaps, and exits with
//!   the agent's status, which ends every other process of the box.

use crate::core::agent_box::{self as rules, HostPort, InitSpec, Network, Verdict};
use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};

/// What the keeper is handed: written by the tick, read by `afk __box`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Spec {
    pub bwrap: PathBuf,
    /// bubblewrap's arguments before `--` (namespaces, mounts, chdir).
    pub args: Vec<String>,
    pub init: InitSpec,
    /// The forwarder's socket (network = model).
    pub socket: Option<PathBuf>,
    pub allow: Vec<HostPort>,
    /// Variables set, and removed, in the box.
    pub env: Vec<(String, String)>,
    pub unset: Vec<String>,
    pub memory: Option<u64>,
    pub tasks: u32,
    /// The cgroup's name, unique per turn.
    pub name: String,
    /// afk runs as root: the host uid and gid the box's user is (the
    /// keeper writes the box's maps and gives it the socket).
    #[serde(default)]
    pub host_user: Option<(u32, u32)>,
    /// The box's seccomp filter (`core::agent_box::seccomp_filter`), handed
    /// to bubblewrap on its descriptor.
    #[serde(default)]
    pub seccomp: Option<PathBuf>,
}

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
    /// Whether this machine can make a box, asked once (before the tick's
    /// first boxed start) and kept for the tick.
    can: std::sync::OnceLock<std::result::Result<(), String>>,
    /// afk runs as root: the unprivileged host uid and gid the box's user
    /// is (`runner.box.user`); None: afk's own user, as bubblewrap maps it.
    host_user: Option<(u32, u32)>,
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
        let allow = if b.allow.is_empty() {
            default_allow(cfg)
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
        // the folders of afk's config and its token files whole (an env
        // file beside them: /etc/afk/env), where they are not a system root
        let folders = config_file
            .iter()
            .chain(&cfg.forge.token_file)
            .chain(&cfg.forge.app_private_key_file)
            .filter_map(|f| f.parent())
            .filter(|d| d.components().count() > 2)
            .map(Path::to_path_buf)
            .collect::<Vec<_>>();
        keep_out.extend(folders);
        keep_out.extend(cfg.forge.token_file.iter().cloned());
        keep_out.extend(cfg.forge.app_private_key_file.iter().cloned());
        keep_out.extend(cfg.runner.kubernetes.token_file.iter().cloned());
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
            can: std::sync::OnceLock::new(),
            // SAFETY: geteuid(2) cannot fail
            host_user: (unsafe { libc::geteuid() } == 0)
                .then(|| b.host_user().ok())
                .flatten(),
        }
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
    fn hidden(&self) -> Vec<rules::Hidden> {
        let mut v: Vec<rules::Hidden> = self
            .keep_out
            .iter()
            .filter_map(|p| {
                let c = std::fs::canonicalize(p).ok()?;
                let dir = c.is_dir();
                Some(rules::Hidden { path: c, dir })
            })
            .collect();
        for p in rules::ROOTS_OWN {
            if let Ok(m) = std::fs::symlink_metadata(p) {
                v.push(rules::Hidden {
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
    pub fn base_view(&self, argv: &[String]) -> Result<(rules::View, Vec<String>)> {
        let mut view = rules::View {
            system: system_paths(),
            read_only: vec![],
            read_write: vec![],
            hidden: self.hidden(),
            sysrq_trigger: Path::new("/proc/sysrq-trigger").exists(),
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
        if let Some(why) = rules::refuse_view(&view) {
            bail!("runner.box: {why}");
        }
        Ok((view, argv))
    }

    /// The folders of afk's `PATH` the box does not show (neither a system
    /// folder nor under a path the view binds): a program the agent runs
    /// from them is not found in its box (doctor says so).
    /// The agent's own program (`program`, as the command names it) is not
    /// among them: the box runs it by its real path, whose files it binds.
    pub fn path_unseen(&self, view: &rules::View, program: &str) -> Vec<PathBuf> {
        let Some(path) = std::env::var_os("PATH") else {
            return vec![];
        };
        let mut seen: Vec<PathBuf> = vec![];
        std::env::split_paths(&path)
            .filter(|d| d.is_absolute() && d.is_dir())
            .filter(|d| program.contains('/') || !d.join(program).exists())
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

    /// Write the turn's spec; the command line that runs the turn in its box.
    /// A machine that cannot make a box starts no turn: the start fails
    /// with doctor's line, so poll labels nothing and no run escalates.
    pub fn wrap(&self, argv: &[String], t: &TurnPaths) -> Result<Vec<String>> {
        let bwrap = find_bwrap().ok_or_else(|| anyhow::anyhow!("{}", cannot_box_fix("bwrap")))?;
        if let Err(why) = self.can.get_or_init(can_box) {
            bail!("{why}");
        }
        let (mut view, argv) = self.base_view(argv)?;
        let box_dir = t.run_dir.join("box");
        let home = t.run_dir.join("home");
        for dir in [&box_dir, &home] {
            crate::private_files::private_dir(dir)
                .with_context(|| format!("runner: cannot create {}", dir.display()))?;
        }
        view.passwd = Some(identity_files(&box_dir, &home)?);
        let logins = self.copy_logins(&home)?;
        (view.run_read_only, view.run_read_write) = self.run_paths(t, &home)?;
        let init_exe = match &self.program {
            Some(p) => p.clone(),
            None => std::env::current_exe().context("runner: cannot find afk's own program")?,
        };
        let init_exe = canonical(&init_exe)?;
        let socket = match self.network {
            Network::Model => Some(socket_path(&box_dir, t)?),
            _ => None,
        };
        let workdir = canonical(t.workdir)?;
        if let Some(ids) = self.host_user {
            self.give_the_turn(ids, t, &home, &view)?;
        }
        let seccomp = match rules::Arch::native() {
            Some(arch) => {
                let f = box_dir.join("seccomp.bpf");
                crate::private_files::private_write(&f, &rules::seccomp_filter(arch))
                    .with_context(|| format!("runner: cannot write {}", f.display()))?;
                Some(f)
            }
            None => None,
        };
        let args = rules::bwrap_args(
            &rules::mounts(&view),
            &rules::Shape {
                network: self.network,
                chdir: &workdir,
                init: &init_exe,
                socket: socket.as_deref(),
                root: self.host_user.is_some(),
                seccomp: seccomp.is_some(),
            },
        );
        let (env, unset) = self.env(&home, &logins);
        let spec = Spec {
            bwrap,
            args,
            init: InitSpec {
                chdir: self.host_user.is_some().then(|| workdir.clone()),
                ..self.init_spec(argv)
            },
            socket,
            allow: self.allow.clone(),
            env,
            unset,
            memory: self.memory,
            tasks: self.tasks,
            name: t.name.clone(),
            host_user: self.host_user,
            seccomp,
        };
        let spec_file = box_dir.join(format!("turn-{}.json", t.turn));
        crate::private_files::private_write(&spec_file, &serde_json::to_vec(&spec)?)
            .with_context(|| format!("runner: cannot write {}", spec_file.display()))?;
        Ok(vec![
            init_exe.display().to_string(),
            "__box".to_string(),
            spec_file.display().to_string(),
        ])
    }

    /// afk runs as root and the box's user is the unprivileged host user
    /// `ids`: what the turn writes becomes that user's (its checkout, home,
    /// push repository; its progress file and prompt), what it reads is
    /// readable (the borrowed cache objects, the box's passwd and group),
    /// and the run folder lets it through to them. afk's private folders
    /// above stay closed to every other user of the machine.
    fn give_the_turn(
        &self,
        (uid, gid): (u32, u32),
        t: &TurnPaths,
        home: &Path,
        view: &rules::View,
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
        if let Some((passwd, group)) = &view.passwd {
            for f in [passwd, group] {
                add(f, 0o444).map_err(|e| fail(f, e))?;
            }
        }
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
            let copy = home.join(format!(".afk-{}", var.to_ascii_lowercase()));
            crate::private_files::private_dir(&copy)
                .with_context(|| format!("runner: cannot create {}", copy.display()))?;
            for name in login_files(var) {
                let (src, dst) = (dir.join(name), copy.join(name));
                let _ = std::fs::remove_file(&dst);
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
                crate::private_files::private_write(&dst, &bytes)
                    .with_context(|| format!("runner: cannot write {}", dst.display()))?;
            }
            made.push((var.to_string(), copy));
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
            env.extend(rules::proxy_env(&self.allow));
        }
        (env, unset)
    }

    /// What the box's init listens on and starts.
    fn init_spec(&self, argv: Vec<String>) -> InitSpec {
        let model = self.network == Network::Model;
        InitSpec {
            listen: match model {
                true => self
                    .allow
                    .iter()
                    .filter(|a| a.is_loopback())
                    .cloned()
                    .collect(),
                false => vec![],
            },
            proxy: model.then(|| rules::proxy_port(&self.allow)),
            argv,
            chdir: None,
        }
    }
}

/// Every entry of `root` (a folder or file; missing is fine) owned by
/// `uid:gid`, links changed themselves and never followed; the entry that
/// failed when one does.
fn own_tree(root: &Path, uid: u32, gid: u32) -> std::result::Result<(), (PathBuf, std::io::Error)> {
    use std::os::unix::fs::MetadataExt;
    let mut todo = vec![root.to_path_buf()];
    while let Some(p) = todo.pop() {
        let m = match std::fs::symlink_metadata(&p) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err((p, e)),
        };
        if m.uid() != uid || m.gid() != gid {
            std::os::unix::fs::lchown(&p, Some(uid), Some(gid)).map_err(|e| (p.clone(), e))?;
        }
        if m.is_dir() {
            for e in std::fs::read_dir(&p).map_err(|e| (p.clone(), e))? {
                todo.push(e.map_err(|e| (p.clone(), e))?.path());
            }
        }
    }
    Ok(())
}

/// Every file of `root` readable and every folder searchable by all (it
/// lies in afk's private state folder, which no other user can enter; the
/// box binds it read-only).
fn readable_tree(root: &Path) -> std::result::Result<(), (PathBuf, std::io::Error)> {
    use std::os::unix::fs::PermissionsExt;
    let mut todo = vec![root.to_path_buf()];
    while let Some(p) = todo.pop() {
        let m = std::fs::symlink_metadata(&p).map_err(|e| (p.clone(), e))?;
        if m.file_type().is_symlink() {
            continue;
        }
        let bits = if m.is_dir() { 0o555 } else { 0o444 };
        let mode = m.permissions().mode() & 0o7777;
        if mode & bits != bits {
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode | bits))
                .map_err(|e| (p.clone(), e))?;
        }
        if m.is_dir() {
            for e in std::fs::read_dir(&p).map_err(|e| (p.clone(), e))? {
                todo.push(e.map_err(|e| (p.clone(), e))?.path());
            }
        }
    }
    Ok(())
}

/// The box's own `/etc/passwd` and `/etc/group`: the agent's user named,
/// its home the run's.
fn identity_files(box_dir: &Path, home: &Path) -> Result<(PathBuf, PathBuf)> {
    let (passwd, group) = (box_dir.join("passwd"), box_dir.join("group"));
    let u = rules::BOX_UID;
    std::fs::write(
        &passwd,
        format!(
            "root:x:0:0:root:/root:/bin/sh\nafk-agent:x:{u}:{u}:afk's agent:{}:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n",
            home.display()
        ),
    )?;
    std::fs::write(
        &group,
        format!("root:x:0:\nafk-agent:x:{u}:\nnogroup:x:65534:\n"),
    )?;
    Ok((passwd, group))
}

/// The forwarder's socket: in the run's box folder, or, when that path is
/// too long for a socket's name, in a folder of its own that afk makes
/// (0700, a name no one can guess, in `$XDG_RUNTIME_DIR` or the temporary
/// folder; it fails rather than use one another user made first), which the
/// keeper removes with the socket.
fn socket_path(box_dir: &Path, _t: &TurnPaths) -> Result<PathBuf> {
    let p = box_dir.join("net.sock");
    if p.as_os_str().len() < 100 {
        return Ok(p);
    }
    let base = std::env::var_os("XDG_RUNTIME_DIR")
        .map(PathBuf::from)
        .filter(|d| d.is_absolute() && d.is_dir())
        .unwrap_or_else(std::env::temp_dir);
    let mut draw = [0u8; 8];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut draw))
        .context("runner: cannot draw a name for the box's socket folder")?;
    let name: String = draw.iter().map(|b| format!("{b:02x}")).collect();
    let dir = base.join(format!("afk-box-{name}"));
    {
        use std::os::unix::fs::DirBuilderExt;
        // create_dir, not create_dir_all: a folder already there is not ours
        std::fs::DirBuilder::new()
            .mode(0o700)
            .create(&dir)
            .with_context(|| format!("runner: cannot make {}", dir.display()))?;
    }
    Ok(dir.join(SOCKET_NAME))
}

/// The forwarder's socket's file name.
const SOCKET_NAME: &str = "net.sock";

fn canonical(p: &Path) -> Result<PathBuf> {
    std::fs::canonicalize(p).with_context(|| format!("runner.box: {} is not there", p.display()))
}

fn is_system(p: &Path) -> bool {
    rules::SYSTEM.iter().any(|s| p.starts_with(s))
}

/// The system folders this machine has, a link where it is one; then the
/// entries of `/etc` a box shows that this machine has.
fn system_paths() -> Vec<rules::SystemPath> {
    let etc = rules::ETC
        .iter()
        .filter(|e| std::fs::metadata(e).is_ok())
        .map(|e| rules::SystemPath::Etc(e.into()));
    rules::SYSTEM
        .iter()
        .filter_map(|s| {
            let m = std::fs::symlink_metadata(s).ok()?;
            if m.file_type().is_symlink() {
                let target = std::fs::read_link(s).ok()?;
                Some(rules::SystemPath::Link {
                    at: s.into(),
                    target,
                })
            } else if m.is_dir() {
                Some(rules::SystemPath::Dir(s.into()))
            } else {
                None
            }
        })
        .chain(etc)
        .collect()
}

/// A program settings folder the operator named by its variable (created
/// when missing, as the program would).
fn program_home(var: &str) -> Option<PathBuf> {
    let v = std::env::var_os(var).filter(|v| !v.is_empty())?;
    let p = PathBuf::from(v);
    if !p.is_absolute() {
        return None;
    }
    let _ = crate::private_files::private_dir(&p);
    std::fs::canonicalize(&p).ok()
}

/// Where `prog` is: itself when it names a path, else the first file of
/// that name on PATH.
pub(crate) fn find_program(prog: &str) -> Option<PathBuf> {
    if prog.contains('/') {
        return Some(PathBuf::from(prog)).filter(|p| p.is_file());
    }
    let paths = std::env::var_os("PATH")?;
    std::env::split_paths(&paths)
        .map(|d| d.join(prog))
        .find(|p| p.is_file())
}

/// The folder that holds a program's installed files: the outermost
/// `node_modules` above it (an npm package and its platform packages),
/// else the program's own folder.
fn install_root(file: &Path) -> PathBuf {
    let mut root = None;
    for a in file.ancestors() {
        if a.file_name().is_some_and(|n| n == "node_modules") {
            root = Some(a.to_path_buf());
        }
    }
    root.unwrap_or_else(|| file.parent().unwrap_or(Path::new("/")).to_path_buf())
}

/// The command line with its program named by its real path (the PATH
/// folder it was found in is not in the box), and the files it needs: the
/// program's install folder, its `#!` interpreter's, and the files its
/// arguments name (a script).
fn program_files(argv: &[String]) -> (Vec<String>, Vec<PathBuf>) {
    let mut argv = argv.to_vec();
    let mut files = vec![];
    let Some(first) = argv.first().cloned() else {
        return (argv, files);
    };
    if let Some(found) = find_program(&first)
        && let Ok(real) = std::fs::canonicalize(&found)
    {
        if !is_system(&real) {
            argv[0] = real.display().to_string();
            files.push(install_root(&real));
        }
        if let Some(interp) = shebang(&real)
            && let Ok(ireal) = std::fs::canonicalize(&interp)
            && !is_system(&ireal)
        {
            // an interpreter's prefix (…/bin/node → …)
            let prefix = ireal
                .parent()
                .and_then(Path::parent)
                .unwrap_or(Path::new("/"));
            files.push(prefix.to_path_buf());
        }
    }
    for a in argv.iter().skip(1) {
        let p = Path::new(a);
        if p.is_absolute()
            && p.is_file()
            && let Ok(real) = std::fs::canonicalize(p)
            && !is_system(&real)
        {
            files.push(real);
        }
    }
    (argv, files)
}

/// A script's interpreter (`#!/usr/bin/env node` → node on PATH).
fn shebang(file: &Path) -> Option<PathBuf> {
    let mut head = [0u8; 256];
    let n = std::fs::File::open(file).ok()?.read(&mut head).ok()?;
    let line = std::str::from_utf8(&head[..n]).ok()?.lines().next()?;
    let rest = line.strip_prefix("#!")?.trim();
    let mut words = rest.split_whitespace();
    let first = words.next()?;
    if first.ends_with("/env") {
        let prog = words.find(|w| !w.starts_with('-'))?;
        find_program(prog)
    } else {
        Some(PathBuf::from(first))
    }
}

/// bubblewrap on PATH (or where Debian puts it).
pub fn find_bwrap() -> Option<PathBuf> {
    find_program("bwrap").or_else(|| Some(PathBuf::from("/usr/bin/bwrap")).filter(|p| p.is_file()))
}

/// The fix for a machine that cannot make a box, by what is missing.
pub fn cannot_box_fix(what: &str) -> String {
    match what {
        "bwrap" => "runner.confine = \"box\": bubblewrap is not installed (Debian: apt-get install bubblewrap), or set runner.confine = \"none\" to run agents unconfined as afk's user".into(),
        why => format!(
            "runner.confine = \"box\": this machine cannot make a box ({why}); user namespaces may be off: sysctl kernel.unprivileged_userns_clone=1 (Debian), or on Ubuntu 24.04 kernel.apparmor_restrict_unprivileged_userns=0 or an AppArmor profile for bwrap; or set runner.confine = \"none\""
        ),
    }
}

/// The default `allow`: the named agent's model endpoint (its base URL in
/// afk's environment or Codex's config), and the forge when the agent does
/// its own git.
fn default_allow(cfg: &crate::config::Config) -> Vec<HostPort> {
    use crate::types::AgentKind;
    let agent = match cfg.runner.agent() {
        AgentKind::Claude => rules::ModelOf::Claude,
        AgentKind::Codex => rules::ModelOf::Codex,
        AgentKind::Custom => rules::ModelOf::Custom,
    };
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let mut forge = vec![];
    if cfg.runner.workspace() == crate::types::Workspace::Agent {
        forge.extend(HostPort::of_url(&cfg.forge.url));
        forge.extend(HostPort::of_url(&cfg.forge.api_url));
    }
    rules::default_allow(
        agent,
        &rules::AllowFacts {
            anthropic_base_url: env("ANTHROPIC_BASE_URL"),
            codex_base_url: codex_base_url().or_else(|| env("OPENAI_BASE_URL")),
            forge,
        },
    )
}

/// The base URL of Codex's configured model provider (`$CODEX_HOME/config.toml`).
fn codex_base_url() -> Option<String> {
    let home = std::env::var_os("CODEX_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".codex")))?;
    let mut text = String::new();
    std::fs::File::open(home.join("config.toml"))
        .ok()?
        .take(256 << 10)
        .read_to_string(&mut text)
        .ok()?;
    let t: toml::Table = toml::from_str(&text).ok()?;
    let provider = t.get("model_provider")?.as_str()?;
    t.get("model_providers")?
        .get(provider)?
        .get("base_url")?
        .as_str()
        .map(String::from)
}

// ---- the keeper: `afk __box SPEC` ----

/// The keeper's lines in the run's log start so.
const SAID: &str = "afk box:";

/// The keeper's and the init's own line on stderr, after `afk box:`, through
/// the redacting sink.
fn say(msg: &str) {
    afk_host::say::err(&format!("{SAID} {msg}"));
}

/// Run one boxed turn; the agent's exit status.
pub fn keep(spec_file: &Path) -> i32 {
    match keep_inner(spec_file) {
        Ok(code) => code,
        Err(e) => {
            say(&format!("cannot make the box: {e:#}"));
            126
        }
    }
}

fn keep_inner(spec_file: &Path) -> Result<i32> {
    // only descriptors 0-2 reach the box: one afk inherited (a cron
    // wrapper's lock on fd 9) would let the agent write through it
    // SAFETY: close_range(2) marks this process's own descriptors
    unsafe {
        libc::syscall(
            libc::SYS_close_range,
            3u32,
            u32::MAX,
            libc::CLOSE_RANGE_CLOEXEC,
        );
    }
    let mut text = String::new();
    std::fs::File::open(spec_file)?
        .take(4 << 20)
        .read_to_string(&mut text)?;
    let spec: Spec = serde_json::from_str(&text).context("the box's spec")?;
    let counts = std::sync::Arc::new(Counts::default());
    if let Some(sock) = &spec.socket {
        let _ = std::fs::remove_file(sock);
        let listener = std::os::unix::net::UnixListener::bind(sock)
            .with_context(|| format!("cannot listen on {}", sock.display()))?;
        if let Some((uid, gid)) = spec.host_user {
            // the box's user connects to it
            std::os::unix::fs::chown(sock, Some(uid), Some(gid))
                .with_context(|| format!("cannot give {} to the box's user", sock.display()))?;
        }
        let allow = spec.allow.clone();
        let c = counts.clone();
        std::thread::spawn(move || forward_all(listener, allow, c));
    }
    if spec.memory.is_some() || spec.tasks > 0 {
        match limit(&spec.name, spec.memory, spec.tasks) {
            Ok(()) => {}
            Err(why) => say(&format!(
                "runner.box.memory and tasks are not in force: {why}"
            )),
        }
    }
    let init_json = serde_json::to_string(&spec.init)?;
    let mut cmd = std::process::Command::new(&spec.bwrap);
    cmd.args(&spec.args)
        .arg("--")
        .arg(rules::INIT_PATH)
        .arg("__box-init")
        .arg(init_json);
    for k in &spec.unset {
        cmd.env_remove(k);
    }
    for (k, v) in &spec.env {
        cmd.env(k, v);
    }
    use std::os::unix::process::CommandExt;
    // afk as root: bubblewrap blocks until the keeper wrote the box's maps
    let maps = match spec.host_user {
        Some(_) => Some((pipe()?, pipe()?)),
        None => None,
    };
    let fds = maps
        .as_ref()
        .map(|((block_r, _), (_, info_w))| (*block_r, *info_w));
    let filter = match &spec.seccomp {
        Some(f) => {
            Some(std::fs::File::open(f).with_context(|| format!("cannot read {}", f.display()))?)
        }
        None => None,
    };
    let filter_fd = filter.as_ref().map(std::os::fd::AsRawFd::as_raw_fd);
    // SAFETY: prctl, fcntl and dup2 are async-signal-safe: bubblewrap (and
    // so the box) dies with the keeper, whom a stop signals with the turn's
    // process group; the maps' pipe ends land at the descriptors its line names
    unsafe {
        cmd.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) == -1 {
                return Err(std::io::Error::last_os_error());
            }
            // a session keyring of the box's own, never afk's (where the
            // kernel has keyrings; the filter refuses the box any keyring call)
            libc::syscall(
                libc::SYS_keyctl,
                1, /* KEYCTL_JOIN_SESSION_KEYRING */
                0usize,
            );
            // every descriptor copied high first, then each to its place,
            // so none lands on another's before it is copied
            let high = |fd: i32| libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 10);
            let filter_high = filter_fd.map(high);
            let maps_high = fds.map(|(b, i)| (high(b), high(i)));
            if let Some(h) = filter_high
                && (h < 0 || libc::dup2(h, rules::SECCOMP_FD) < 0)
            {
                return Err(std::io::Error::last_os_error());
            }
            if let Some((high_b, high_i)) = maps_high {
                // the folders bubblewrap makes for its mounts (as the
                // namespace's root) let the box's user through; the init
                // puts afk's umask back before the agent starts
                libc::umask(0o022);
                if high_b < 0
                    || high_i < 0
                    || libc::dup2(high_b, rules::BLOCK_FD) < 0
                    || libc::dup2(high_i, rules::INFO_FD) < 0
                {
                    return Err(std::io::Error::last_os_error());
                }
            }
            Ok(())
        });
    }
    let mut child = cmd.spawn().context("cannot run bwrap")?;
    if let (Some(((block_r, block_w), (info_r, info_w))), Some((uid, gid))) = (maps, spec.host_user)
    {
        close(block_r);
        close(info_w);
        let mapped = write_maps(info_r, uid, gid);
        close(info_r);
        if let Err(why) = &mapped {
            let _ = child.kill();
            say(&format!("cannot map the box's user to uid {uid}: {why}"));
        }
        // SAFETY: a byte to the pipe bubblewrap waits on, then its end closed
        unsafe {
            libc::write(block_w, b"1".as_ptr().cast(), 1);
        }
        close(block_w);
    }
    let status = child.wait().context("cannot run bwrap")?;
    let code = status.code().unwrap_or_else(|| {
        128 + std::os::unix::process::ExitStatusExt::signal(&status).unwrap_or(0)
    });
    let refused = counts.refused.load(std::sync::atomic::Ordering::SeqCst);
    let forwarded = counts.forwarded.load(std::sync::atomic::Ordering::SeqCst);
    if refused > 0 {
        // what the box refused, for the PR and an escalation to name
        let by = counts
            .by_target
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let name = spec_file
            .file_name()
            .map(|n| format!("refused-{}", n.to_string_lossy()))
            .unwrap_or_else(|| "refused.json".into());
        if let Ok(text) = serde_json::to_vec(&by) {
            let _ = crate::private_files::private_write(&spec_file.with_file_name(name), &text);
        }
    }
    if let Some(sock) = &spec.socket {
        if refused > 0 {
            say(&format!(
                "the turn's box ended (exit {code}): {forwarded} connections forwarded, {refused} refused"
            ));
        }
        let _ = std::fs::remove_file(sock);
        // a socket folder of its own (a long run path) goes with it
        if let Some(dir) = sock.parent()
            && dir
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("afk-box-"))
        {
            let _ = std::fs::remove_dir(dir);
        }
    }
    Ok(code)
}

/// A pipe whose ends close on exec (the child gets them by dup2 only).
fn pipe() -> Result<(i32, i32)> {
    let mut fds = [0; 2];
    // SAFETY: pipe2(2) into a two-element array
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        bail!("cannot make a pipe: {}", std::io::Error::last_os_error());
    }
    Ok((fds[0], fds[1]))
}

fn close(fd: i32) {
    // SAFETY: a descriptor this keeper made and closes once
    unsafe {
        libc::close(fd);
    }
}

/// Read bubblewrap's child pid from its info descriptor (bounded), then
/// write the box's maps: its user is `uid:gid` outside.
fn write_maps(info: i32, uid: u32, gid: u32) -> std::result::Result<(), String> {
    let mut text = Vec::new();
    let mut buf = [0u8; 512];
    while text.len() < 8192 && !text.contains(&b'}') {
        // SAFETY: read(2) into a buffer this function owns
        let n = unsafe { libc::read(info, buf.as_mut_ptr().cast(), buf.len()) };
        if n <= 0 {
            return Err("bubblewrap ended before it named its child".into());
        }
        text.extend_from_slice(&buf[..n as usize]);
    }
    let v: serde_json::Value = serde_json::from_slice(&text).map_err(|e| e.to_string())?;
    let pid = v["child-pid"].as_u64().ok_or("bubblewrap named no child")?;
    let proc = PathBuf::from(format!("/proc/{pid}"));
    std::fs::write(proc.join("uid_map"), rules::outside_maps(uid))
        .and_then(|()| std::fs::write(proc.join("gid_map"), rules::outside_maps(gid)))
        .map_err(|e| afk_host::os_words(&e))
}

#[derive(Default)]
struct Counts {
    forwarded: std::sync::atomic::AtomicU64,
    refused: std::sync::atomic::AtomicU64,
    /// The refused `host:port`s and how often each (at most
    /// [`rules::MAX_REFUSED_KEPT`] names; the rest counted as one).
    by_target: std::sync::Mutex<std::collections::BTreeMap<String, u64>>,
}

impl Counts {
    fn refuse(&self, target: &str) {
        self.refused
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let mut m = self.by_target.lock().unwrap_or_else(|e| e.into_inner());
        let key = if m.contains_key(target) || m.len() < rules::MAX_REFUSED_KEPT {
            target.to_string()
        } else {
            rules::OTHER_TARGETS.to_string()
        };
        *m.entry(key).or_insert(0) += 1;
    }
}

/// Connections from the box at once, at most.
const MAX_CONNECTIONS: usize = 64;

fn forward_all(
    listener: std::os::unix::net::UnixListener,
    allow: Vec<HostPort>,
    counts: std::sync::Arc<Counts>,
) {
    let open = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    for conn in listener.incoming() {
        let Ok(conn) = conn else { continue };
        if open.load(std::sync::atomic::Ordering::SeqCst) >= MAX_CONNECTIONS {
            continue;
        }
        open.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let (allow, counts, open) = (allow.clone(), counts.clone(), open.clone());
        std::thread::spawn(move || {
            forward_one(conn, &allow, &counts);
            open.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
        });
    }
}

/// One connection from the box: its first line names `host:port` (at most
/// 300 bytes); let out when allowed, else refused and counted.
fn forward_one(conn: std::os::unix::net::UnixStream, allow: &[HostPort], counts: &Counts) {
    use std::sync::atomic::Ordering::SeqCst;
    let _ = conn.set_read_timeout(Some(std::time::Duration::from_secs(10)));
    let mut reader = BufReader::new(match conn.try_clone() {
        Ok(c) => c,
        Err(_) => return,
    });
    let mut line = Vec::new();
    let _ = (&mut reader).take(300).read_until(b'\n', &mut line);
    let line = String::from_utf8_lossy(&line).trim().to_string();
    let mut conn = conn;
    let target = match rules::judge(allow, &line) {
        Verdict::Forward(t) => t,
        Verdict::Refuse(why) => {
            counts.refuse(&match HostPort::parse(&line) {
                Ok(t) => t.to_string(),
                Err(_) => rules::NOT_HOST_PORT.to_string(),
            });
            say(&why);
            let _ = conn.write_all(b"refused\n");
            return;
        }
    };
    let addrs: Vec<std::net::SocketAddr> =
        match std::net::ToSocketAddrs::to_socket_addrs(&(target.host.as_str(), target.port)) {
            Ok(a) => a.collect(),
            Err(e) => {
                say(&format!(
                    "cannot resolve {target}: {}",
                    afk_host::os_words(&e)
                ));
                let _ = conn.write_all(b"failed\n");
                return;
            }
        };
    let up = addrs.iter().find_map(|a| {
        std::net::TcpStream::connect_timeout(a, std::time::Duration::from_secs(10)).ok()
    });
    let Some(up) = up else {
        say(&format!("cannot connect to {target}"));
        let _ = conn.write_all(b"failed\n");
        return;
    };
    if conn.write_all(b"ok\n").is_err() {
        return;
    }
    // what the box sends first must name the allowed host (its TLS server
    // name or HTTP Host): read until it says, bounded in bytes and time
    let mut first = reader.buffer().to_vec();
    let mut chunk = [0u8; 4096];
    while rules::named(&first) == rules::Named::More && first.len() < 16 << 10 {
        match conn.read(&mut chunk) {
            Ok(n) if n > 0 => first.extend_from_slice(&chunk[..n]),
            _ => break,
        }
    }
    if let Err(why) = rules::names_permit(&target, &rules::named(&first)) {
        counts.refuse(&target.to_string());
        say(&why);
        return;
    }
    counts.forwarded.fetch_add(1, SeqCst);
    let _ = conn.set_read_timeout(None);
    // what the box sent first, then both ways until either closes
    let mut up_w = match up.try_clone() {
        Ok(u) => u,
        Err(_) => return,
    };
    if !first.is_empty() && up_w.write_all(&first).is_err() {
        return;
    }
    relay(conn, up);
}

/// Copy both ways between two sockets until one side closes.
fn relay<A, B>(a: A, b: B)
where
    A: Read + Write + Send + TryCloneShut + 'static,
    B: Read + Write + Send + TryCloneShut + 'static,
{
    let (Some(mut a2), Some(mut b2)) = (a.clone_it(), b.clone_it()) else {
        return;
    };
    let t = std::thread::spawn(move || {
        let mut a = a;
        let mut b = b;
        let _ = std::io::copy(&mut a, &mut b);
        b.shut_write();
    });
    let _ = std::io::copy(&mut b2, &mut a2);
    a2.shut_write();
    let _ = t.join();
}

trait TryCloneShut: Sized {
    fn clone_it(&self) -> Option<Self>;
    fn shut_write(&self);
}
impl TryCloneShut for std::net::TcpStream {
    fn clone_it(&self) -> Option<Self> {
        self.try_clone().ok()
    }
    fn shut_write(&self) {
        let _ = self.shutdown(std::net::Shutdown::Write);
    }
}
impl TryCloneShut for std::os::unix::net::UnixStream {
    fn clone_it(&self) -> Option<Self> {
        self.try_clone().ok()
    }
    fn shut_write(&self) {
        let _ = self.shutdown(std::net::Shutdown::Write);
    }
}

/// afk's own cgroup v2 folder, where a turn's cgroup would be made.
fn own_cgroup() -> std::result::Result<PathBuf, String> {
    let root = Path::new("/sys/fs/cgroup");
    if !root.join("cgroup.controllers").exists() {
        return Err("the machine has no unified cgroup v2 hierarchy".into());
    }
    let own = std::fs::read_to_string("/proc/self/cgroup").map_err(|e| e.to_string())?;
    let own = own
        .lines()
        .find_map(|l| l.strip_prefix("0::"))
        .ok_or("afk is in no cgroup v2 cgroup")?;
    Ok(root.join(own.trim_start_matches('/')))
}

/// The turn's cgroup (cgroup v2, in afk's own delegated cgroup): memory.max
/// and pids.max, the keeper moved in before the box is made.
fn limit(name: &str, memory: Option<u64>, tasks: u32) -> std::result::Result<(), String> {
    let parent = own_cgroup()?;
    let dir = parent.join(format!("afk-{name}"));
    std::fs::create_dir_all(&dir)
        .map_err(|e| format!("cannot make {}: {}", dir.display(), afk_host::os_words(&e)))?;
    let write = |file: &str, v: String| {
        std::fs::write(dir.join(file), v).map_err(|e| {
            format!(
                "cannot write {}: {}",
                dir.join(file).display(),
                afk_host::os_words(&e)
            )
        })
    };
    if let Some(m) = memory {
        write("memory.max", m.to_string())?;
    }
    if tasks > 0 {
        write("pids.max", tasks.to_string())?;
    }
    write("cgroup.procs", "0".into())
}

/// Whether afk can make a turn's cgroup here (doctor): the reason when not.
pub fn limits_in_force() -> std::result::Result<(), String> {
    let parent = own_cgroup()?;
    let controllers =
        std::fs::read_to_string(parent.join("cgroup.subtree_control")).unwrap_or_default();
    for c in ["memory", "pids"] {
        if !controllers.split_whitespace().any(|x| x == c) {
            return Err(format!(
                "afk's cgroup ({}) does not delegate the {c} controller (run the ticks in a systemd unit with Delegate=yes)",
                parent.display()
            ));
        }
    }
    let probe = parent.join(format!("afk-probe-{}", std::process::id()));
    std::fs::create_dir(&probe).map_err(|e| {
        format!(
            "cannot make a cgroup in {}: {}",
            parent.display(),
            afk_host::os_words(&e)
        )
    })?;
    let _ = std::fs::remove_dir(&probe);
    Ok(())
}

// ---- the init: `afk __box-init JSON`, the box's pid 1 ----

/// The box's pid 1: relays, the agent, reaping; exits with the agent's status.
pub fn init(json: &str) -> i32 {
    // afk as root: the box starts as its namespace's root (for bubblewrap's
    // mounts); before anything else, the init becomes the box's user, and
    // every capability goes with the change (no process of the box is root)
    // SAFETY: geteuid, setgroups, setgid and setuid on this process
    if unsafe { libc::geteuid() } == 0 {
        let id = rules::BOX_UID;
        let dropped = unsafe {
            libc::setgroups(0, std::ptr::null()) == 0
                && libc::setgid(id) == 0
                && libc::setuid(id) == 0
        };
        if !dropped || unsafe { libc::geteuid() } == 0 {
            say(&format!(
                "cannot become the box's user: {}",
                std::io::Error::last_os_error()
            ));
            return 126;
        }
        // SAFETY: umask(2) cannot fail; prctl(2) re-arms what the change
        // of user cleared: the box dies with bubblewrap
        unsafe {
            libc::umask(0o077);
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
        }
    }
    let spec: InitSpec = match serde_json::from_str(json) {
        Ok(s) => s,
        Err(e) => {
            say(&format!("the init's spec: {e}"));
            return 126;
        }
    };
    if let Some(dir) = &spec.chdir
        && let Err(e) = std::env::set_current_dir(dir)
    {
        say(&format!("cannot enter {}: {e}", dir.display()));
        return 126;
    }
    for hp in &spec.listen {
        let addr = if hp.host == "localhost" {
            "127.0.0.1".to_string()
        } else if hp.host.contains(':') {
            format!("[{}]", hp.host)
        } else {
            hp.host.clone()
        };
        match std::net::TcpListener::bind(format!("{addr}:{}", hp.port)) {
            Ok(l) => {
                let target = hp.to_string();
                std::thread::spawn(move || {
                    for c in l.incoming().flatten() {
                        let target = target.clone();
                        std::thread::spawn(move || relay_out(c, &target, &[]));
                    }
                });
            }
            Err(e) => say(&format!("cannot listen on {hp} in the box: {e}")),
        }
    }
    if let Some(port) = spec.proxy {
        match std::net::TcpListener::bind(("127.0.0.1", port)) {
            Ok(l) => {
                std::thread::spawn(move || {
                    for c in l.incoming().flatten() {
                        std::thread::spawn(move || proxy_one(c));
                    }
                });
            }
            Err(e) => say(&format!("cannot listen on the proxy's port {port}: {e}")),
        }
    }
    let Some((prog, args)) = spec.argv.split_first() else {
        say("no command");
        return 126;
    };
    let child = match std::process::Command::new(prog).args(args).spawn() {
        Ok(c) => c,
        Err(e) => {
            say(&format!("cannot start {prog}: {e}"));
            return 127;
        }
    };
    let agent = child.id() as libc::pid_t;
    loop {
        let mut status = 0;
        // SAFETY: waitpid on any child; pid 1 reaps every orphan of the box.
        let pid = unsafe { libc::waitpid(-1, &mut status, 0) };
        if pid == agent {
            let code = if libc::WIFEXITED(status) {
                libc::WEXITSTATUS(status)
            } else {
                128 + libc::WTERMSIG(status)
            };
            return code;
        }
        if pid == -1 && std::io::Error::last_os_error().raw_os_error() != Some(libc::EINTR) {
            return 126;
        }
    }
}

/// Ask the keeper for `target`: its socket and its answer (`ok`,
/// `refused`, `failed`); None when the keeper cannot be reached.
fn ask_keeper(target: &str) -> Option<(std::os::unix::net::UnixStream, Vec<u8>)> {
    let mut up = std::os::unix::net::UnixStream::connect(rules::SOCKET_PATH).ok()?;
    up.write_all(format!("{target}\n").as_bytes()).ok()?;
    let mut answer = Vec::new();
    {
        let mut r = BufReader::new(&up);
        let _ = (&mut r).take(32).read_until(b'\n', &mut answer);
    }
    Some((up, answer))
}

/// One connection inside the box to the keeper's socket, for `target`;
/// `first` is what the client already sent.
fn relay_out(mut c: std::net::TcpStream, target: &str, first: &[u8]) -> bool {
    let Some((mut up, answer)) = ask_keeper(target) else {
        return false;
    };
    if answer != b"ok\n" {
        return false;
    }
    if !first.is_empty() && up.write_all(first).is_err() {
        return false;
    }
    let _ = c.flush();
    relay(c, up);
    true
}

/// The box's HTTP proxy: `CONNECT host:port`, or an absolute-form request
/// (`GET http://host:port/path`), relayed through the keeper.
fn proxy_one(mut c: std::net::TcpStream) {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    // the request head, byte by byte (nothing of the body is read), 16 KiB at most
    while head.len() < 16 << 10 && !head.ends_with(b"\r\n\r\n") {
        match c.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => return,
        }
    }
    let text = String::from_utf8_lossy(&head).to_string();
    let first = text.lines().next().unwrap_or("");
    let mut words = first.split_whitespace();
    let (method, target) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
    if method.eq_ignore_ascii_case("CONNECT") {
        let Ok(hp) = HostPort::parse(target) else {
            let _ = c.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n");
            return;
        };
        let Ok(mut c2) = c.try_clone() else { return };
        let ok = {
            // the reply comes first, then the tunnel
            let Some((up, answer)) = ask_keeper(&hp.to_string()) else {
                let _ = c.write_all(b"HTTP/1.1 502 Bad Gateway\r\n\r\n");
                return;
            };
            if answer == b"ok\n" {
                let _ = c2.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n");
                relay(c, up);
                true
            } else if answer == b"failed\n" {
                let _ = c2.write_all(
                    b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                );
                true
            } else {
                false
            }
        };
        if !ok {
            let _ = c2.write_all(
                b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            );
        }
        return;
    }
    // absolute form: rewrite the request line to origin form
    let Some(hp) = HostPort::of_url(target) else {
        let _ = c.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n");
        return;
    };
    let path_start = target
        .find("://")
        .and_then(|i| target[i + 3..].find('/').map(|j| i + 3 + j));
    let path = path_start.map(|i| &target[i..]).unwrap_or("/");
    let version = words.next().unwrap_or("HTTP/1.1");
    let rest = text.split_once("\r\n").map(|x| x.1).unwrap_or("");
    let rewritten = format!("{method} {path} {version}\r\n{rest}");
    let Ok(mut c2) = c.try_clone() else { return };
    if !relay_out(c, &hp.to_string(), rewritten.as_bytes()) {
        let _ = c2
            .write_all(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    }
}

/// Whether this machine can make a box: bubblewrap is there and makes one
/// (a user, pid and network namespace); else the fix, in one line.
pub fn can_box() -> std::result::Result<(), String> {
    let bwrap = find_bwrap().ok_or_else(|| cannot_box_fix("bwrap"))?;
    let out = std::process::Command::new(bwrap)
        .args([
            "--unshare-all",
            "--uid",
            "1000",
            "--ro-bind",
            "/",
            "/",
            "--proc",
            "/proc",
            "--dev",
            "/dev",
            "--",
            "true",
        ])
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| cannot_box_fix(&afk_host::os_words(&e)))?;
    if out.status.success() {
        return Ok(());
    }
    let err = String::from_utf8_lossy(&out.stderr);
    let first = err.lines().next().unwrap_or("bwrap failed").trim();
    Err(cannot_box_fix(&crate::core::sanitize::one_line(first, 200)))
}

/// Doctor's probe inside a box (`afk __box-probe state=STATE MODEL FORGE`): one
/// line each, whether afk's state file can be read and whether the model's
/// and the forge's `host:port` are let out (through the box's proxy).
pub fn probe(args: &[String]) -> i32 {
    let get = |i: usize| args.get(i).map(String::as_str).unwrap_or("");
    let state_file = get(0).strip_prefix("state=").unwrap_or(get(0));
    let state = if std::fs::File::open(state_file).is_ok() {
        "readable"
    } else {
        "hidden"
    };
    afk_host::say::out(&format!("state={state}"));
    for f in args.iter().filter_map(|a| a.strip_prefix("read=")) {
        if std::fs::File::open(f).is_ok() {
            afk_host::say::out(&format!("env=readable {f}"));
        }
    }
    let proxy = std::env::var("HTTPS_PROXY")
        .ok()
        .and_then(|p| HostPort::of_url(&p))
        .map(|h| h.port);
    for (name, target) in [("model", get(1)), ("forge", get(2))] {
        let said = match (proxy, target.is_empty()) {
            (_, true) => "unknown".to_string(),
            (None, _) => "no-proxy".to_string(),
            (Some(port), false) => connect_through(port, target),
        };
        afk_host::say::out(&format!("{name}={said}"));
    }
    0
}

fn connect_through(port: u16, target: &str) -> String {
    let Ok(mut c) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return "no-proxy".into();
    };
    let _ = c.set_read_timeout(Some(std::time::Duration::from_secs(15)));
    if c.write_all(format!("CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n").as_bytes())
        .is_err()
    {
        return "no-proxy".into();
    }
    let mut first = Vec::new();
    let _ = BufReader::new(&c).take(200).read_until(b'\n', &mut first);
    let line = String::from_utf8_lossy(&first);
    match line.split_whitespace().nth(1) {
        Some("200") => "reached".into(),
        Some("403") => "refused".into(),
        Some(code) => format!("failed ({code})"),
        None => "failed".into(),
    }
}
