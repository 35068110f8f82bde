// One file: the box's rules (~860 lines: its mounts, bwrap's arguments, the forwarder's judge) and the table tests that pin them, kept beside them as everywhere in core.
//! The agent's box (docs/runners.md#the-agents-box): on the command runner
//! every turn runs in a box of its own, made with Linux namespaces by
//! bubblewrap. This file decides, from plain values the binary gathered,
//! what the box shows (its mounts, in order), who the agent is inside, which
//! connections its forwarder lets out, and bubblewrap's command line. The
//! binary resolves paths, writes the spec and runs the processes.
//!
//! The rules:
//! - **View**: the system's read-only folders, the few files of `/etc`
//!   programs need ([`ETC`]: never the host's whole `/etc`, which holds the
//!   operator's env files), the agent program's own files
//!   and the operator's `read_only`/`read_write`; then a private `/dev`,
//!   `/proc` and `/tmp`; then every afk path (config, state, token, cache,
//!   runs) that one of those folders holds is covered (an empty folder or
//!   an empty file); last the run's own paths (its checkout and push
//!   repository, its home, its progress file read-write; the run folder and
//!   the borrowed cache objects read-only), so nothing earlier hides them.
//! - **Who**: uid and gid 1000 inside a user namespace, all capabilities
//!   dropped, `no_new_privs` (bubblewrap sets it), its own session; the
//!   box's pid 1 is bubblewrap's reaper, so every process of the box ends
//!   when the agent program does. afk as root starts bubblewrap as the box's
//!   unprivileged host user, binding from descriptors it opened.
//! - **Network**: `model` (a network namespace the keeper made, its
//!   listeners in it made before the box; out only through the forwarder,
//!   to the `allow` entries), `open` (the host's), `none`.

use crate::types::{AgentKind, Invalid};
use std::fmt;
use std::path::{Path, PathBuf};

/// The user and group the agent is inside the box.
pub const BOX_UID: u32 = 1000;
/// Where afk's own program is bound inside the box when the box's command
/// is afk's (doctor's probe, [`Shape::program`]).
pub const PROGRAM_PATH: &str = "/run/afk/afk";

/// `runner.confine`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Confine {
    #[default]
    Box,
    None,
}

/// `runner.box.network`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Network {
    /// Its own network namespace; out only through the forwarder.
    #[default]
    Model,
    /// The host's network.
    Open,
    /// No network at all (loopback only).
    None,
}

/// One `host:port` the forwarder may connect to.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Deserialize, serde::Serialize,
)]
pub struct HostPort {
    /// Lower case; an IPv6 address without its brackets.
    pub host: String,
    pub port: u16,
}

impl fmt::Display for HostPort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

impl HostPort {
    /// `host:port`, `[v6]:port`, or a host alone (port 443). The host is a
    /// DNS name or an IP address: no scheme, path, user or spaces.
    pub fn parse(s: &str) -> Result<HostPort, Invalid> {
        let bad = || {
            Invalid(format!(
                "\"{s}\" is not host:port (e.g. \"api.anthropic.com:443\")"
            ))
        };
        let s2 = s.trim();
        if s2.is_empty() || s2.contains("://") || s2.contains(['/', '@', ' ', '?', '#']) {
            return Err(bad());
        }
        let (host, port) = if let Some(rest) = s2.strip_prefix('[') {
            let (h, after) = rest.split_once(']').ok_or_else(bad)?;
            let port = match after.strip_prefix(':') {
                Some(p) => p.parse::<u16>().map_err(|_| bad())?,
                None if after.is_empty() => 443,
                None => return Err(bad()),
            };
            (h.to_string(), port)
        } else {
            match s2.rsplit_once(':') {
                Some((h, p)) if !h.contains(':') => (h.to_string(), p.parse().map_err(|_| bad())?),
                Some(_) => return Err(bad()),
                None => (s2.to_string(), 443),
            }
        };
        if port == 0 || !valid_host(&host) {
            return Err(bad());
        }
        Ok(HostPort {
            host: host.to_ascii_lowercase(),
            port,
        })
    }

    /// The host and port of an http(s) URL (its scheme's port when none).
    pub fn of_url(url: &str) -> Option<HostPort> {
        let (scheme, rest) = url.split_once("://")?;
        let default = match scheme.to_ascii_lowercase().as_str() {
            "http" => 80,
            "https" => 443,
            _ => return None,
        };
        let authority = rest.split(['/', '?', '#']).next()?;
        let authority = authority.rsplit('@').next()?;
        let hp = HostPort::parse(authority).ok()?;
        let explicit = authority.starts_with('[') && authority.contains("]:")
            || !authority.starts_with('[') && authority.contains(':');
        Some(if explicit {
            hp
        } else {
            HostPort {
                port: default,
                ..hp
            }
        })
    }

    /// A loopback host: the keeper listens on it inside the box, so a
    /// base URL naming it works unchanged.
    pub fn is_loopback(&self) -> bool {
        self.host == "localhost"
            || self
                .host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|a| a.is_loopback())
    }
}

fn valid_host(h: &str) -> bool {
    if h.parse::<std::net::IpAddr>().is_ok() {
        return true;
    }
    !h.is_empty()
        && h.len() <= 253
        && h.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        })
}

/// Whether the forwarder lets a connection to `target` out: exactly an
/// entry of `allow` (same host as written, same port). Anything else — the
/// forge on another port of the same address, a metadata address, the LAN —
/// is refused.
pub fn permits(allow: &[HostPort], target: &HostPort) -> bool {
    allow.iter().any(|a| a == target)
}

/// What the forwarder does with one request from inside the box.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Forward(HostPort),
    /// Refused, and why (a line of the run's log).
    Refuse(String),
}

/// The forwarder's rule for the first line a connection from the box sends:
/// `host:port`, bounded; refused unless [`permits`].
pub fn judge(allow: &[HostPort], line: &str) -> Verdict {
    let shown: String = line
        .chars()
        .take(120)
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    match HostPort::parse(line) {
        Ok(t) if permits(allow, &t) => Verdict::Forward(t),
        Ok(t) => Verdict::Refuse(format!(
            "refused a connection to {t} (not in runner.box.allow)"
        )),
        Err(_) => Verdict::Refuse(format!("refused a request for \"{shown}\" (not host:port)")),
    }
}

/// Which agent program, for the default `allow`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelOf {
    Claude,
    Codex,
    Custom,
}

/// What the default `allow` is made from.
#[derive(Debug, Clone, Default)]
pub struct AllowFacts {
    /// `ANTHROPIC_BASE_URL` in afk's environment.
    pub anthropic_base_url: Option<String>,
    /// The Codex provider's base URL (its config's provider, else
    /// `OPENAI_BASE_URL`).
    pub codex_base_url: Option<String>,
    /// `workspace = "agent"`: the agent does its own git, so it reaches the
    /// forge (its web root and its API root).
    pub forge: Vec<HostPort>,
}

/// `runner.box.allow` when the operator wrote none: the named agent's model
/// endpoint (its base URL's host and port when set, else the vendor's API
/// host), and the forge when the agent does its own git.
pub fn default_allow(agent: ModelOf, facts: &AllowFacts) -> Vec<HostPort> {
    let of = |url: &Option<String>, vendor: &str| -> Vec<HostPort> {
        match url.as_deref().and_then(HostPort::of_url) {
            Some(hp) => vec![hp],
            None => vec![HostPort {
                host: vendor.into(),
                port: 443,
            }],
        }
    };
    let mut allow = match agent {
        ModelOf::Claude => of(&facts.anthropic_base_url, "api.anthropic.com"),
        ModelOf::Codex => of(&facts.codex_base_url, "api.openai.com"),
        ModelOf::Custom => {
            let mut v = vec![];
            for u in [&facts.anthropic_base_url, &facts.codex_base_url] {
                if let Some(hp) = u.as_deref().and_then(HostPort::of_url) {
                    v.push(hp);
                }
            }
            v
        }
    };
    allow.extend(facts.forge.iter().cloned());
    allow.sort();
    allow.dedup();
    allow
}

/// A path afk keeps from the agent, and whether it is a folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hidden {
    pub path: PathBuf,
    pub dir: bool,
}

/// A system path as the machine has it: a folder to bind read-only, or a
/// link (merged /usr: `/bin -> usr/bin`) to make again inside.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SystemPath {
    Dir(PathBuf),
    /// An entry of [`ETC`] that is not a regular file (a folder), bound
    /// read-only.
    Etc(PathBuf),
    /// An entry of [`ETC`] that is a file, copied into the box's own root
    /// (no mount: bubblewrap reads every bind's mount table again, so a
    /// mount per file cost more than the rest of the box).
    EtcFile(PathBuf),
    /// A folder of a small entry of [`ETC`] that is copied ([`etc_folder`]),
    /// made in the box's own root.
    EtcDir(PathBuf),
    Link {
        at: PathBuf,
        target: PathBuf,
    },
}

/// Everything the box's view is made from (canonical paths, existing ones).
#[derive(Debug, Clone, Default)]
pub struct View {
    pub system: Vec<SystemPath>,
    /// The agent program's files, and the operator's `read_only`.
    pub read_only: Vec<PathBuf>,
    /// The operator's `read_write` (and the agent program's own settings
    /// folder named by its variable, e.g. `CODEX_HOME`).
    pub read_write: Vec<PathBuf>,
    /// afk's own paths, covered wherever a bound folder holds them.
    pub hidden: Vec<Hidden>,
    /// The run's paths shown read-only (the run folder, the borrowed
    /// objects, the prompt), bound after the covers.
    pub run_read_only: Vec<PathBuf>,
    /// The run's paths shown read-write (checkout, push repository, home,
    /// progress file), bound last.
    pub run_read_write: Vec<PathBuf>,
    /// The box's user's home: the box's `/etc/passwd` and `/etc/group` are
    /// afk's ([`passwd`], [`group`]), naming it.
    pub identity: Option<PathBuf>,
    /// Whether the machine's `/proc` has `sysrq-trigger` (covered when so).
    pub sysrq_trigger: bool,
}

/// One mount of the box, in the order bubblewrap makes them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mount {
    ReadOnly(PathBuf),
    ReadWrite(PathBuf),
    /// A file of afk's text at `at`, read-only (bound from bubblewrap's own
    /// memory: nothing of it is written on the host).
    Data {
        text: String,
        at: PathBuf,
    },
    Link {
        at: PathBuf,
        target: PathBuf,
    },
    Dev,
    Proc,
    /// `/proc/sys` read-only.
    ProcReadOnly,
    Tmpfs(PathBuf),
    /// An afk file inside a bound folder, covered with an empty one.
    CoverFile(PathBuf),
    /// A host file copied into the box's own root at the same path, made
    /// before any bound folder (so never written through one), read-only to
    /// the box's user; the keeper hands it to bubblewrap on a descriptor
    /// ([`handed`]).
    Copy(PathBuf),
    /// afk's text copied into the box's own root at `at`, made where a
    /// [`Mount::Copy`] is (before any bound folder), read-only to the box's
    /// user: what [`Mount::Data`] is when no folder the box binds holds
    /// `at`, one mount fewer.
    CopyData {
        text: String,
        at: PathBuf,
    },
    /// A folder made in the box's own root (a copied folder of [`ETC`]).
    Dir(PathBuf),
}

/// Why a view cannot be made (a load or doctor error, one line).
pub fn refuse_view(view: &View) -> Option<String> {
    for p in view.read_only.iter().chain(&view.read_write) {
        // afk's path itself (one inside a bound folder is covered; a path
        // inside one of afk's folders shows only itself)
        if let Some(h) = view.hidden.iter().find(|h| h.path == *p) {
            return Some(format!(
                "{} is afk's own {}; the agent's box may not show it",
                p.display(),
                if h.dir { "folder" } else { "file" }
            ));
        }
        if p == Path::new("/") {
            return Some("\"/\" would show the agent the whole machine".into());
        }
    }
    None
}

/// The box's mounts, in order (see the module's rules).
pub fn mounts(view: &View) -> Vec<Mount> {
    let mut m = vec![];
    let mut bound: Vec<&Path> = vec![];
    for s in &view.system {
        match s {
            SystemPath::Dir(p) | SystemPath::Etc(p) => {
                m.push(Mount::ReadOnly(p.clone()));
                bound.push(p);
            }
            SystemPath::EtcFile(p) => m.push(Mount::Copy(p.clone())),
            SystemPath::EtcDir(p) => m.push(Mount::Dir(p.clone())),
            SystemPath::Link { at, target } => m.push(Mount::Link {
                at: at.clone(),
                target: target.clone(),
            }),
        }
    }
    // afk's passwd and group: copied with the system's files (no mount)
    // unless a folder the box binds holds them, then bound over it, last
    let identity = view.identity.as_ref().map(|home| {
        [("/etc/passwd", passwd(home)), ("/etc/group", group())]
            .map(|(at, text)| (PathBuf::from(at), text))
    });
    let binds_etc = bound
        .iter()
        .copied()
        .chain(view.read_only.iter().map(PathBuf::as_path))
        .chain(view.read_write.iter().map(PathBuf::as_path))
        .any(|b| {
            ["/etc/passwd", "/etc/group"]
                .iter()
                .any(|f| Path::new(f).starts_with(b))
        });
    if !binds_etc {
        for (at, text) in identity.iter().flatten() {
            m.push(Mount::CopyData {
                text: text.clone(),
                at: at.clone(),
            });
        }
    }
    m.push(Mount::Dev);
    m.push(Mount::Proc);
    // the kernel lets an euid 0 write every 0644 entry of /proc/sys, and
    // bubblewrap covers it only when its mode says writable: always here
    m.push(Mount::ProcReadOnly);
    if view.sysrq_trigger {
        m.push(Mount::CoverFile("/proc/sysrq-trigger".into()));
    }
    m.push(Mount::Tmpfs("/tmp".into()));
    for p in &view.read_only {
        m.push(Mount::ReadOnly(p.clone()));
        bound.push(p);
    }
    for p in &view.read_write {
        m.push(Mount::ReadWrite(p.clone()));
        bound.push(p);
    }
    // covers: afk's paths that a bound folder holds (the shallowest first,
    // so a deeper one is not covered twice); nothing under /tmp is bound yet
    let mut hidden: Vec<&Hidden> = view
        .hidden
        .iter()
        .filter(|h| bound.iter().any(|b| h.path.starts_with(b) && h.path != *b))
        .collect();
    hidden.sort_by_key(|h| h.path.components().count());
    let mut covered: Vec<&Path> = vec![];
    for h in hidden {
        if covered.iter().any(|c| h.path.starts_with(c)) {
            continue;
        }
        covered.push(&h.path);
        m.push(if h.dir {
            Mount::Tmpfs(h.path.clone())
        } else {
            Mount::CoverFile(h.path.clone())
        });
    }
    if binds_etc {
        for (at, text) in identity.into_iter().flatten() {
            m.push(Mount::Data { text, at });
        }
    }
    for p in &view.run_read_only {
        m.push(Mount::ReadOnly(p.clone()));
    }
    for p in &view.run_read_write {
        m.push(Mount::ReadWrite(p.clone()));
    }
    m
}

/// The system folders a box shows, of those the machine has.
pub const SYSTEM: [&str; 7] = [
    "/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32",
];

/// The entries of `/etc` a box shows, of those the machine has: name and
/// host lookups, the TLS roots, time, the dynamic linker's cache, Debian's
/// alternatives, the terminal and MIME tables. Nothing else of the host's
/// `/etc`: it holds the operator's env files (`/etc/afk/env`, a unit's
/// `EnvironmentFile`), afk's config and root-only files. The box's own
/// `passwd` and `group` are afk's. Not what only the system's own tools
/// read (`ld.so.conf*`, `ca-certificates.conf` and its hooks): every
/// entry is a file the box's start copies.
pub const ETC: [&str; 23] = [
    "/etc/hosts",
    "/etc/hostname",
    "/etc/resolv.conf",
    "/etc/nsswitch.conf",
    "/etc/host.conf",
    "/etc/gai.conf",
    "/etc/protocols",
    "/etc/services",
    "/etc/ssl/certs",
    "/etc/ssl/openssl.cnf",
    "/etc/pki/tls/certs",
    "/etc/pki/ca-trust",
    "/etc/localtime",
    "/etc/timezone",
    "/etc/alternatives",
    "/etc/ld.so.cache",
    "/etc/os-release",
    "/etc/debian_version",
    "/etc/mime.types",
    "/etc/terminfo",
    "/etc/inputrc",
    "/etc/bash.bashrc",
    "/etc/profile",
];

/// A folder of [`ETC`] is copied into the box's own root (no mount) when
/// it holds at most this many entries, each a folder or a regular file all
/// may read, of at most [`ETC_COPY_BYTES`] together; else it is bound.
pub const ETC_COPY_ENTRIES: usize = 16;
pub const ETC_COPY_BYTES: u64 = 256 << 10;

/// One entry of a folder of [`ETC`], as the machine has it (never
/// through a link).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EtcEntry {
    pub path: PathBuf,
    pub kind: EntryKind,
    pub bytes: u64,
    /// Every user may read it (a file) or enter it (a folder).
    pub for_all: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    File,
    Dir,
    /// A link, a device, a socket: the folder is bound, never copied.
    Other,
}

/// How a folder of [`ETC`] reaches the box, from its entries (`entries`
/// holds at most one more than [`ETC_COPY_ENTRIES`]; each under `dir`):
/// copied, its folders made and its files copied in (bubblewrap reads its
/// whole mount table again after every bind, so a small folder copied costs
/// less than its mount), or bound read-only. A file only root may read is
/// never copied (the copy would be readable): its folder is bound, where the
/// file keeps its owner and mode; nor a folder that holds one of afk's own
/// paths (`hidden`): bound, it is covered there.
pub fn etc_folder(dir: &Path, entries: &[EtcEntry], hidden: &[Hidden]) -> Vec<SystemPath> {
    let small = entries.len() <= ETC_COPY_ENTRIES
        && entries.iter().map(|e| e.bytes).sum::<u64>() <= ETC_COPY_BYTES;
    let plain = entries
        .iter()
        .all(|e| e.kind != EntryKind::Other && e.for_all && e.path.starts_with(dir));
    let afks = hidden.iter().any(|h| h.path.starts_with(dir));
    if !(small && plain) || afks {
        return vec![SystemPath::Etc(dir.to_path_buf())];
    }
    let mut sorted: Vec<&EtcEntry> = entries.iter().collect();
    sorted.sort_by(|a, b| a.path.cmp(&b.path));
    std::iter::once(SystemPath::EtcDir(dir.to_path_buf()))
        .chain(sorted.into_iter().map(|e| match e.kind {
            EntryKind::Dir => SystemPath::EtcDir(e.path.clone()),
            _ => SystemPath::EtcFile(e.path.clone()),
        }))
        .collect()
}

/// Files of `/etc` only root reads, covered too: afk as root maps the box's
/// user to root outside, whose owner bits would let it read them.
pub const ROOTS_OWN: [&str; 8] = [
    "/etc/shadow",
    "/etc/gshadow",
    "/etc/shadow-",
    "/etc/gshadow-",
    "/etc/sudoers",
    "/etc/sudoers.d",
    "/etc/ssl/private",
    "/etc/ssh",
];

/// What bubblewrap is told, besides the mounts.
#[derive(Debug, Clone)]
pub struct Shape<'a> {
    pub network: Network,
    /// Where the agent starts (its checkout).
    pub chdir: &'a Path,
    /// afk's own program, bound at [`PROGRAM_PATH`] when the box's command
    /// is afk's (doctor's probe); None: not bound.
    pub program: Option<&'a Path>,
    /// afk runs as root: the keeper starts bubblewrap as the box's
    /// unprivileged host user (`runner.box.user`).
    pub root: bool,
    /// afk as root: the bound paths that user may not reach ([`passable`]:
    /// afk's private folders above them), which the keeper binds first at
    /// [`STAGE_DIR`]`/<i>` in a mount namespace of bubblewrap's own, and
    /// bubblewrap binds from there.
    pub staged: &'a [PathBuf],
    /// The keeper hands bubblewrap the box's [`seccomp_filter`] on
    /// [`SECCOMP_FD`].
    pub seccomp: bool,
}

/// The descriptor bubblewrap reads the box's seccomp filter from.
pub const SECCOMP_FD: i32 = 5;

/// The descriptor of the first file handed to bubblewrap ([`Mount::Copy`],
/// [`Mount::Data`]); the others follow, in the order of [`handed`].
pub const FILES_FD: i32 = 10;

/// What the keeper hands bubblewrap on a descriptor for a file of the box.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
pub enum Handed {
    /// A host file, opened by the keeper.
    File(PathBuf),
    /// afk's text, through a pipe.
    Text(String),
}

/// The files handed to bubblewrap, in the order of their descriptors from
/// [`FILES_FD`].
pub fn handed(mounts: &[Mount]) -> Vec<Handed> {
    mounts
        .iter()
        .filter_map(|m| match m {
            Mount::Copy(p) => Some(Handed::File(p.clone())),
            Mount::Data { text, .. } | Mount::CopyData { text, .. } => {
                Some(Handed::Text(text.clone()))
            }
            _ => None,
        })
        .collect()
}

/// The box's `/etc/passwd`: root, the agent's user ([`BOX_UID`]) with its
/// home, nobody.
pub fn passwd(home: &Path) -> String {
    let u = BOX_UID;
    format!(
        "root:x:0:0:root:/root:/bin/sh\nafk-agent:x:{u}:{u}:afk's agent:{}:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n",
        home.display()
    )
}

/// The box's `/etc/group`.
pub fn group() -> String {
    format!("root:x:0:\nafk-agent:x:{BOX_UID}:\nnogroup:x:65534:\n")
}

/// Where the keeper binds the paths the box's host user may not reach (afk
/// as root), each at `<STAGE_DIR>/<i>`: a fresh tmpfs on it in bubblewrap's
/// own mount namespace, nothing of it on the host's (the box makes its own
/// `/dev`, so the host's `/dev/shm` is nowhere in it).
pub const STAGE_DIR: &str = "/dev/shm";

/// Where bubblewrap binds `p` from when a staged path holds it (itself or
/// a folder above it): `<STAGE_DIR>/<i>/<the rest>`; None: from `p`.
fn staged_source(staged: &[PathBuf], p: &Path) -> Option<String> {
    staged.iter().enumerate().find_map(|(i, root)| {
        let rest = p.strip_prefix(root).ok()?;
        let at = Path::new(STAGE_DIR).join(i.to_string()).join(rest);
        Some(at.to_string_lossy().trim_end_matches('/').to_string())
    })
}

/// The paths to stage of those the box's host user cannot reach: each but
/// one a staged path already holds (the run's checkout, home and progress
/// file come with its folder), in their order.
pub fn stage_roots(unreachable: &[PathBuf]) -> Vec<PathBuf> {
    unreachable
        .iter()
        .filter(|p| !unreachable.iter().any(|r| r != *p && p.starts_with(r)))
        .cloned()
        .collect()
}

/// A folder on the way to a path: its mode and owner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Folder {
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
}

/// Whether `(uid, gid)`, with no other group, may pass every folder of
/// `chain` (the folders above a path, from `/` down).
pub fn passable(chain: &[Folder], (uid, gid): (u32, u32)) -> bool {
    chain.iter().all(|f| {
        let bit = if f.uid == uid {
            0o100
        } else if f.gid == gid {
            0o010
        } else {
            0o001
        };
        f.mode & bit != 0
    })
}

/// The `uid_map` (or `gid_map`) of the user namespace the keeper makes for
/// a box's network (network = model): its root is `host` outside, afk's
/// own user or, afk as root, the box's unprivileged host user; bubblewrap
/// runs in it as that root and maps [`BOX_UID`] onto it, so what the agent
/// creates belongs to `host` and nothing of the box is root outside.
pub fn netns_maps(host: u32) -> String {
    format!("0 {host} 1")
}

/// bubblewrap's first arguments: the namespaces (network = model: the
/// keeper's own network namespace, bubblewrap makes none), the user the box
/// is, its session and capabilities, the filter.
fn namespaces_and_user(shape: &Shape) -> Vec<String> {
    let mut a: Vec<String> = [
        "--unshare-user",
        "--unshare-ipc",
        "--unshare-pid",
        "--unshare-uts",
        "--unshare-cgroup-try",
    ]
    .map(String::from)
    .to_vec();
    if shape.network == Network::None {
        a.push("--unshare-net".into());
    }
    let uid = BOX_UID.to_string();
    a.extend(
        [
            "--uid",
            &uid,
            "--gid",
            &uid,
            "--hostname",
            "afk-box",
            "--die-with-parent",
            "--new-session",
            "--cap-drop",
            "ALL",
        ]
        .map(String::from),
    );
    if shape.seccomp {
        a.extend(["--seccomp".into(), SECCOMP_FD.to_string()]);
    }
    a
}

/// bubblewrap's arguments before the command: namespaces, the user, the
/// mounts and where the agent starts.
pub fn bwrap_args(mounts: &[Mount], shape: &Shape) -> Vec<String> {
    let s = |p: &Path| p.to_string_lossy().to_string();
    let mut a = namespaces_and_user(shape);
    // afk as root: a bound path's missing parents are made first, passable
    // (bubblewrap could make them with its source's modes: afk's private
    // 0700 folders, which the box's user could not pass)
    let mut made: Vec<PathBuf> = vec![];
    let mut parents = |a: &mut Vec<String>, p: &Path| {
        if !shape.root {
            return;
        }
        let mut up: Vec<&Path> = p
            .ancestors()
            .skip(1)
            .filter(|x| x.parent().is_some())
            .collect();
        up.reverse();
        for x in up {
            if !made.iter().any(|m| m == x) {
                made.push(x.to_path_buf());
                a.extend(["--perms".into(), "0755".into(), "--dir".into(), s(x)]);
            }
        }
        // a bound path is there: nothing below it makes it again
        made.push(p.to_path_buf());
    };
    let source = |p: &Path| staged_source(shape.staged, p).unwrap_or_else(|| s(p));
    let mut files = FILES_FD..;
    for m in mounts {
        match m {
            Mount::ReadOnly(p)
            | Mount::ReadWrite(p)
            | Mount::Data { at: p, .. }
            | Mount::CopyData { at: p, .. }
            | Mount::Dir(p)
            | Mount::Copy(p) => parents(&mut a, p),
            _ => {}
        }
        match m {
            Mount::ReadOnly(p) => a.extend(["--ro-bind".into(), source(p), s(p)]),
            Mount::ReadWrite(p) => a.extend(["--bind".into(), source(p), s(p)]),
            Mount::Data { at, .. } => {
                let fd = files.next().unwrap_or(FILES_FD);
                a.extend(["--perms".into(), "0444".into(), "--ro-bind-data".into()]);
                a.extend([fd.to_string(), s(at)]);
            }
            Mount::Link { at, target } => a.extend(["--symlink".into(), s(target), s(at)]),
            Mount::Dev => a.extend(["--dev".into(), "/dev".into()]),
            Mount::Proc => a.extend(["--proc".into(), "/proc".into()]),
            Mount::ProcReadOnly => {
                a.extend(["--ro-bind", "/proc/sys", "/proc/sys"].map(String::from))
            }
            Mount::Tmpfs(p) if p == Path::new("/tmp") => {
                a.extend(["--perms", "1777", "--tmpfs", "/tmp"].map(String::from))
            }
            Mount::Tmpfs(p) => a.extend(["--tmpfs".into(), s(p)]),
            Mount::CoverFile(p) => a.extend(["--ro-bind".into(), "/dev/null".into(), s(p)]),
            Mount::Copy(p) | Mount::CopyData { at: p, .. } => {
                let fd = files.next().unwrap_or(FILES_FD);
                a.extend(["--perms".into(), "0444".into(), "--file".into()]);
                a.extend([fd.to_string(), s(p)]);
            }
            Mount::Dir(p) => a.extend(["--perms".into(), "0755".into(), "--dir".into(), s(p)]),
        }
    }
    if let Some(program) = shape.program {
        parents(&mut a, Path::new(PROGRAM_PATH));
        a.extend(["--ro-bind".into(), s(program), PROGRAM_PATH.into()]);
    }
    a.extend(["--chdir".into(), s(shape.chdir)]);
    a
}

/// A port inside the box for the forwarder's HTTP proxy, free of the
/// loopback entries the keeper listens on inside the box.
pub fn proxy_port(allow: &[HostPort]) -> u16 {
    (3128..u16::MAX)
        .find(|p| !allow.iter().any(|a| a.is_loopback() && a.port == *p))
        .unwrap_or(3128)
}

/// The proxy variables the agent gets (network = model): non-loopback
/// entries go through the forwarder's HTTP proxy; loopback ones are
/// listened on inside the box directly.
pub fn proxy_env(allow: &[HostPort]) -> Vec<(String, String)> {
    let proxy = format!("http://127.0.0.1:{}", proxy_port(allow));
    let mut env = vec![];
    for k in [
        "HTTPS_PROXY",
        "https_proxy",
        "HTTP_PROXY",
        "http_proxy",
        "ALL_PROXY",
        "all_proxy",
    ] {
        env.push((k.to_string(), proxy.clone()));
    }
    for k in ["NO_PROXY", "no_proxy"] {
        env.push((k.to_string(), "localhost,127.0.0.1,::1".to_string()));
    }
    env
}

/// What the box listens on inside (the keeper's listeners, made in the
/// box's network namespace before the box) and the command it runs.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
pub struct Inside {
    /// Loopback `host:port`s to listen on inside the box, each relayed to
    /// the forwarder.
    pub listen: Vec<HostPort>,
    /// The HTTP proxy's port (CONNECT and absolute-form requests), relayed
    /// to the forwarder; None: no network out.
    pub proxy: Option<u16>,
    /// The agent's command line.
    pub argv: Vec<String>,
    /// The model gateway's loopback port
    /// (docs/runners.md#the-model-gateway-runnermodel): each connection to
    /// `127.0.0.1:<port>` goes to the keeper's gateway, not to a `host:port`.
    #[serde(default)]
    pub gateway: Option<u16>,
}

/// The memory limit as bytes: "4GiB", "512MiB", "2G", "1000000"
/// ([`crate::bounds::parse_size`]), at least 16 MiB.
pub fn parse_memory(s: &str) -> Result<u64, Invalid> {
    let bytes = crate::bounds::parse_size(s, "\"4GiB\", \"512MiB\"")?;
    if bytes < (16 << 20) {
        return Err(Invalid(format!(
            "\"{s}\" is too little for an agent (at least 16MiB)"
        )));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hp(h: &str, p: u16) -> HostPort {
        HostPort {
            host: h.into(),
            port: p,
        }
    }

    #[test]
    fn allow_entries_are_host_and_port_and_a_host_alone_is_443() {
        let cases: [(&str, Option<HostPort>); 12] = [
            ("api.anthropic.com:443", Some(hp("api.anthropic.com", 443))),
            ("API.Anthropic.com", Some(hp("api.anthropic.com", 443))),
            ("127.0.0.1:8080", Some(hp("127.0.0.1", 8080))),
            ("[::1]:9", Some(hp("::1", 9))),
            ("[::1]", Some(hp("::1", 443))),
            ("https://api.openai.com", None),
            ("api.openai.com/v1", None),
            ("host:0", None),
            ("host:70000", None),
            ("", None),
            ("a b:1", None),
            ("::1:80", None),
        ];
        for (s, want) in cases {
            assert_eq!(HostPort::parse(s).ok(), want, "{s:?}");
        }
        assert_eq!(hp("::1", 9).to_string(), "[::1]:9");
    }

    #[test]
    fn a_urls_host_and_port_are_its_schemes_when_unwritten() {
        let cases = [
            (
                "http://127.0.0.1:4000/model/anthropic",
                Some(hp("127.0.0.1", 4000)),
            ),
            (
                "https://api.anthropic.com",
                Some(hp("api.anthropic.com", 443)),
            ),
            ("http://example.org/x", Some(hp("example.org", 80))),
            ("http://user@[::1]:5/x", Some(hp("::1", 5))),
            ("ftp://x", None),
            ("not a url", None),
        ];
        for (u, want) in cases {
            assert_eq!(HostPort::of_url(u), want, "{u}");
        }
    }

    #[test]
    fn the_forwarder_lets_out_only_the_allowed_host_and_port() {
        let allow = [hp("127.0.0.1", 4001), hp("api.anthropic.com", 443)];
        let cases = [
            ("127.0.0.1:4001", true),
            ("api.anthropic.com:443", true),
            ("API.ANTHROPIC.COM:443", true),
            // the forge on the same address, another port
            ("127.0.0.1:4000", false),
            ("localhost:4001", false),
            ("169.254.169.254:80", false),
            ("10.0.0.1:443", false),
            ("api.anthropic.com:80", false),
            ("garbage\u{7}line", false),
        ];
        for (line, ok) in cases {
            let v = judge(&allow, line);
            assert_eq!(matches!(v, Verdict::Forward(_)), ok, "{line:?}: {v:?}");
            if let Verdict::Refuse(why) = v {
                assert!(!why.contains('\u{7}'), "{why}");
            }
        }
    }

    #[test]
    fn the_default_allow_is_the_named_agents_model_and_the_forge_only_for_agent_workspaces() {
        let sandbox = AllowFacts {
            anthropic_base_url: Some("http://127.0.0.1:4001/model/anthropic".into()),
            codex_base_url: Some("http://127.0.0.1:4001/model/openai/v1".into()),
            forge: vec![],
        };
        let none = AllowFacts::default();
        let agent_ws = AllowFacts {
            forge: vec![hp("127.0.0.1", 4000)],
            ..AllowFacts::default()
        };
        let cases = [
            (ModelOf::Claude, &sandbox, vec![hp("127.0.0.1", 4001)]),
            (ModelOf::Codex, &sandbox, vec![hp("127.0.0.1", 4001)]),
            (ModelOf::Claude, &none, vec![hp("api.anthropic.com", 443)]),
            (ModelOf::Codex, &none, vec![hp("api.openai.com", 443)]),
            (ModelOf::Custom, &none, vec![]),
            (ModelOf::Custom, &agent_ws, vec![hp("127.0.0.1", 4000)]),
        ];
        for (agent, facts, want) in cases {
            assert_eq!(default_allow(agent, facts), want, "{agent:?} {facts:?}");
        }
    }

    /// bubblewrap's shape for a turn of the model's network, afk not root.
    fn plain() -> Shape<'static> {
        Shape {
            network: Network::Model,
            chdir: Path::new("/w"),
            program: None,
            root: false,
            staged: &[],
            seccomp: true,
        }
    }

    fn view() -> View {
        View {
            system: vec![
                SystemPath::Dir("/usr".into()),
                SystemPath::Link {
                    at: "/bin".into(),
                    target: "usr/bin".into(),
                },
                SystemPath::Etc("/etc/ssl/certs".into()),
            ],
            read_only: vec!["/opt/agents/node_modules".into(), "/etc".into()],
            read_write: vec!["/srv/cache".into()],
            hidden: vec![
                Hidden {
                    path: "/etc/afk".into(),
                    dir: true,
                },
                Hidden {
                    path: "/etc/afk/token".into(),
                    dir: false,
                },
                Hidden {
                    path: "/srv/cache/afk.db".into(),
                    dir: false,
                },
                Hidden {
                    path: "/var/lib/afk".into(),
                    dir: true,
                },
            ],
            run_read_only: vec!["/var/lib/afk/runs/7".into()],
            run_read_write: vec![
                "/var/lib/afk/runs/7/work".into(),
                "/var/lib/afk/runs/7/home".into(),
            ],
            identity: None,
            sysrq_trigger: true,
        }
    }

    #[test]
    fn afks_own_paths_are_covered_where_a_bound_folder_holds_them_and_the_run_comes_last() {
        let m = mounts(&view());
        let pos = |x: &Mount| m.iter().position(|y| y == x).unwrap_or(usize::MAX);
        // /etc/afk covered (once, so /etc/afk/token is not covered again),
        // the state file inside an operator's folder covered, /var/lib/afk
        // never bound so not covered
        assert!(m.contains(&Mount::Tmpfs("/etc/afk".into())), "{m:?}");
        assert!(
            !m.contains(&Mount::CoverFile("/etc/afk/token".into())),
            "{m:?}"
        );
        assert!(
            m.contains(&Mount::CoverFile("/srv/cache/afk.db".into())),
            "{m:?}"
        );
        assert!(!m.contains(&Mount::Tmpfs("/var/lib/afk".into())), "{m:?}");
        // the order: system, private /tmp, the operator's, covers, the run
        let etc = pos(&Mount::ReadOnly("/etc/ssl/certs".into()));
        let tmp = pos(&Mount::Tmpfs("/tmp".into()));
        let cover = pos(&Mount::Tmpfs("/etc/afk".into()));
        let run = pos(&Mount::ReadOnly("/var/lib/afk/runs/7".into()));
        let work = pos(&Mount::ReadWrite("/var/lib/afk/runs/7/work".into()));
        assert!(
            etc < tmp && tmp < cover && cover < run && run < work,
            "{m:?}"
        );
    }

    #[test]
    fn etc_files_are_copied_into_the_box_and_afks_identity_bound_from_memory_never_a_host_file() {
        let mut v = view();
        v.system.push(SystemPath::EtcFile("/etc/hosts".into()));
        v.system
            .push(SystemPath::EtcFile("/etc/resolv.conf".into()));
        v.identity = Some("/var/lib/afk/runs/7/home".into());
        let m = mounts(&v);
        let pos = |x: &Mount| m.iter().position(|y| y == x).unwrap_or(usize::MAX);
        // the copies are made with the system paths, before any folder the
        // operator binds (so never written through one), and are no mount
        let hosts = pos(&Mount::Copy("/etc/hosts".into()));
        let operators = pos(&Mount::ReadOnly("/etc".into()));
        assert!(hosts < pos(&Mount::Dev) && hosts < operators, "{m:?}");
        // afk's passwd and group come after the operator's folders (over a
        // bound /etc too), as data of afk's
        let passwd = m
            .iter()
            .position(|x| matches!(x, Mount::Data { at, .. } if at == Path::new("/etc/passwd")))
            .unwrap_or(0);
        assert!(passwd > operators, "{m:?}");
        // each on its descriptor from FILES_FD, in the order the keeper hands them
        let h = handed(&m);
        assert_eq!(
            h,
            vec![
                Handed::File("/etc/hosts".into()),
                Handed::File("/etc/resolv.conf".into()),
                Handed::Text(passwd_text("/var/lib/afk/runs/7/home")),
                Handed::Text(group()),
            ]
        );
        let shape = plain();
        let l = bwrap_args(&m, &shape).join(" ");
        for (must, never) in [
            ("--perms 0444 --file 10 /etc/hosts", "--ro-bind /etc/hosts"),
            (
                "--perms 0444 --file 11 /etc/resolv.conf",
                "/etc/resolv.conf /etc/resolv.conf",
            ),
            ("--perms 0444 --ro-bind-data 12 /etc/passwd", "box/passwd"),
            ("--perms 0444 --ro-bind-data 13 /etc/group", "box/group"),
        ] {
            assert!(l.contains(must), "{must}: {l}");
            assert!(!l.contains(never), "{never}: {l}");
        }
        // the files' descriptors are above the filter's
        const { assert!(SECCOMP_FD < FILES_FD) };
    }

    #[test]
    fn afks_passwd_and_group_are_copied_in_unless_a_folder_the_box_binds_holds_them() {
        // (the operator's folders, copied: no mount, with the system's files)
        let cases: [(&[&str], bool); 5] = [
            (&["/opt/tools"], true),
            (&[], true),
            (&["/etc"], false),
            (&["/"], false),
            (&["/etc/ssl"], true),
        ];
        for (folders, copied) in cases {
            let mut v = view();
            v.read_only = folders.iter().map(PathBuf::from).collect();
            v.identity = Some("/r/7/home".into());
            let m = mounts(&v);
            let at = |x: &Mount| m.iter().position(|y| y == x);
            let copy = at(&Mount::CopyData {
                text: passwd_text("/r/7/home"),
                at: "/etc/passwd".into(),
            });
            let bound = at(&Mount::Data {
                text: passwd_text("/r/7/home"),
                at: "/etc/passwd".into(),
            });
            assert_eq!(
                (copy.is_some(), bound.is_some()),
                (copied, !copied),
                "{folders:?}: {m:?}"
            );
            let group_copied = m.contains(&Mount::CopyData {
                text: group(),
                at: "/etc/group".into(),
            });
            assert_eq!(group_copied, copied, "{folders:?}: {m:?}");
            if let Some(c) = copy {
                // made before /dev and any bound folder: never written through one
                assert!(c < at(&Mount::Dev).unwrap_or(0), "{m:?}");
                let l = bwrap_args(&m, &plain()).join(" ");
                assert!(l.contains("--perms 0444 --file 10 /etc/passwd"), "{l}");
                assert!(l.contains("--perms 0444 --file 11 /etc/group"), "{l}");
                assert!(!l.contains("--ro-bind-data"), "{l}");
            }
        }
    }

    #[test]
    fn a_small_etc_folder_of_files_all_may_read_is_copied_in_else_bound() {
        let e = |p: &str, kind, bytes, for_all| EtcEntry {
            path: p.into(),
            kind,
            bytes,
            for_all,
        };
        let file = |p: &str| e(p, EntryKind::File, 100, true);
        let dir = Path::new("/etc/ld.so.conf.d");
        let copied = vec![
            SystemPath::EtcDir("/etc/ld.so.conf.d".into()),
            SystemPath::EtcDir("/etc/ld.so.conf.d/a".into()),
            SystemPath::EtcFile("/etc/ld.so.conf.d/a/x.conf".into()),
            SystemPath::EtcFile("/etc/ld.so.conf.d/libc.conf".into()),
        ];
        let bound = vec![SystemPath::Etc(dir.into())];
        let many: Vec<EtcEntry> = (0..=ETC_COPY_ENTRIES)
            .map(|i| file(&format!("/etc/ld.so.conf.d/{i}.conf")))
            .collect();
        let afks = [Hidden {
            path: "/etc/ld.so.conf.d/afk.conf".into(),
            dir: false,
        }];
        // (why, the folder's entries, afk's own paths, what the box gets)
        type Case<'a> = (&'a str, Vec<EtcEntry>, &'a [Hidden], Vec<SystemPath>);
        let cases: Vec<Case> = vec![
            (
                "files and folders all may read: copied, each folder before what it holds",
                vec![
                    file("/etc/ld.so.conf.d/libc.conf"),
                    file("/etc/ld.so.conf.d/a/x.conf"),
                    e("/etc/ld.so.conf.d/a", EntryKind::Dir, 4096, true),
                ],
                &[],
                copied,
            ),
            (
                "empty: made empty",
                vec![],
                &[],
                vec![SystemPath::EtcDir(dir.into())],
            ),
            (
                "a link: bound",
                vec![e("/etc/ld.so.conf.d/l", EntryKind::Other, 0, false)],
                &[],
                bound.clone(),
            ),
            (
                "a file only root reads: bound",
                vec![e("/etc/ld.so.conf.d/k", EntryKind::File, 10, false)],
                &[],
                bound.clone(),
            ),
            ("too many entries: bound", many, &[], bound.clone()),
            (
                "too large: bound",
                vec![e(
                    "/etc/ld.so.conf.d/big",
                    EntryKind::File,
                    ETC_COPY_BYTES + 1,
                    true,
                )],
                &[],
                bound.clone(),
            ),
            (
                "holds afk's own path: bound (and covered there)",
                vec![file("/etc/ld.so.conf.d/afk.conf")],
                &afks,
                bound.clone(),
            ),
            (
                "an entry outside the folder: bound",
                vec![file("/etc/other")],
                &[],
                bound.clone(),
            ),
        ];
        for (why, entries, hidden, want) in cases {
            assert_eq!(etc_folder(dir, &entries, hidden), want, "{why}");
        }
        // a copied folder is made in the box's root, no mount
        let v = View {
            system: etc_folder(dir, &[file("/etc/ld.so.conf.d/libc.conf")], &[]),
            ..Default::default()
        };
        let l = bwrap_args(&mounts(&v), &plain()).join(" ");
        assert!(
            l.contains("--perms 0755 --dir /etc/ld.so.conf.d --perms 0444 --file 10 /etc/ld.so.conf.d/libc.conf"),
            "{l}"
        );
        assert!(!l.contains("--ro-bind /etc/ld.so.conf.d"), "{l}");
    }

    fn passwd_text(home: &str) -> String {
        passwd(Path::new(home))
    }

    #[test]
    fn the_boxs_passwd_and_group_name_its_user_with_the_runs_home() {
        assert_eq!(
            passwd(Path::new("/r/7/home")),
            "root:x:0:0:root:/root:/bin/sh\nafk-agent:x:1000:1000:afk's agent:/r/7/home:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"
        );
        assert_eq!(group(), "root:x:0:\nafk-agent:x:1000:\nnogroup:x:65534:\n");
    }

    #[test]
    fn a_view_that_names_afks_own_path_or_the_root_is_refused() {
        let mut v = view();
        assert_eq!(refuse_view(&v), None);
        v.read_only.push("/etc/afk".into());
        assert!(
            refuse_view(&v)
                .unwrap()
                .contains("/etc/afk is afk's own folder")
        );
        let mut v = view();
        v.read_write.push("/".into());
        assert!(refuse_view(&v).unwrap().contains("whole machine"));
    }

    #[test]
    fn bubblewraps_line_unshares_everything_the_keeper_does_not_and_starts_the_agent_in_its_checkout()
     {
        let m = mounts(&view());
        let line = |network| bwrap_args(&m, &Shape { network, ..plain() }).join(" ");
        // network = model: the keeper's network namespace (its listeners
        // made in it before the box), bubblewrap makes none
        for (network, net_unshared) in [
            (Network::Model, false),
            (Network::None, true),
            (Network::Open, false),
        ] {
            let l = line(network);
            assert_eq!(l.contains("--unshare-net"), net_unshared, "{l}");
            for never in ["--as-pid-1", "--cap-add", "/run/afk", "-fd "] {
                assert!(!l.contains(never), "{never}: {l}");
            }
            for must in [
                "--unshare-user",
                "--unshare-pid",
                "--die-with-parent",
                "--cap-drop ALL",
                "--uid 1000 --gid 1000",
                "--proc /proc",
                "--perms 1777 --tmpfs /tmp",
                "--symlink usr/bin /bin",
                "--ro-bind /etc/ssl/certs /etc/ssl/certs",
                "--seccomp 5",
                "--proc /proc --ro-bind /proc/sys /proc/sys --ro-bind /dev/null /proc/sysrq-trigger",
                "--ro-bind /dev/null /proc/sysrq-trigger",
            ] {
                assert!(l.contains(must), "{must}: {l}");
            }
            assert!(l.ends_with("--chdir /w"), "{l}");
        }
    }

    #[test]
    fn as_root_the_paths_the_boxs_host_user_cannot_reach_are_bound_from_where_the_keeper_staged_them()
     {
        let m = mounts(&view());
        let staged = stage_roots(&[
            "/var/lib/afk/runs/7".into(),
            "/var/lib/afk/runs/7/home".into(),
        ]);
        assert_eq!(staged, [PathBuf::from("/var/lib/afk/runs/7")]);
        let line = |root, staged: &[PathBuf], program: Option<&Path>| {
            bwrap_args(
                &m,
                &Shape {
                    network: Network::Model,
                    chdir: Path::new("/w"),
                    program,
                    root,
                    staged,
                    seccomp: false,
                },
            )
            .join(" ")
        };
        let l = line(true, &staged, None);
        for (must, never) in [
            (
                "--ro-bind /dev/shm/0 /var/lib/afk/runs/7 ",
                "--ro-bind /var/lib/afk/runs/7 ",
            ),
            // what a staged folder holds is bound from within it
            (
                "--bind /dev/shm/0/home /var/lib/afk/runs/7/home ",
                "--bind /var/lib/afk/runs/7/home ",
            ),
            // what the box's host user reaches is bound as it is
            ("--ro-bind /usr /usr", "/dev/shm/1"),
            (
                "--bind /dev/shm/0/work /var/lib/afk/runs/7/work ",
                "--cap-add",
            ),
            ("--uid 1000 --gid 1000", "--uid 0"),
        ] {
            assert!(l.contains(must), "{must}: {l}");
            assert!(!l.contains(never), "{never}: {l}");
        }
        // afk's private folders above the run's paths are made passable
        // first, once each, never after their own bind
        let dir = l
            .find("--perms 0755 --dir /var/lib/afk/runs ")
            .unwrap_or(usize::MAX);
        let bind = l.find(" /var/lib/afk/runs/7 ").unwrap_or(0);
        assert!(dir < bind, "{l}");
        assert_eq!(l.matches("--dir /var/lib/afk ").count(), 1, "{l}");
        assert!(!l.contains("--dir /var/lib/afk/runs/7 "), "{l}");
        assert!(!line(false, &[], None).contains("--dir"));
        // afk's own program only where the box's command is afk's
        let p = line(true, &[], Some(Path::new("/usr/local/bin/afk")));
        assert!(
            p.contains("--perms 0755 --dir /run/afk --ro-bind /usr/local/bin/afk /run/afk/afk"),
            "{p}"
        );
        // the keeper's user namespace: its root is the box's host user
        assert_eq!(netns_maps(100000), "0 100000 1");
    }

    #[test]
    fn a_path_is_passable_when_every_folder_above_it_lets_the_user_search() {
        let f = |mode, uid, gid| Folder { mode, uid, gid };
        let user = (100000, 100000);
        let cases = [
            (vec![f(0o755, 0, 0), f(0o755, 0, 0)], true),
            // afk's private state folder
            (vec![f(0o755, 0, 0), f(0o700, 0, 0)], false),
            // the run folder: its group searches
            (vec![f(0o755, 0, 0), f(0o710, 0, 100000)], true),
            (vec![f(0o701, 0, 0)], true),
            // the owner's bits, not the others'
            (vec![f(0o601, 100000, 0)], false),
            (vec![f(0o700, 100000, 0)], true),
            // the group's bits, not the others'
            (vec![f(0o701, 0, 100000)], false),
            (vec![], true),
        ];
        for (chain, want) in cases {
            assert_eq!(passable(&chain, user), want, "{chain:?}");
        }
    }

    #[test]
    fn the_proxy_port_avoids_the_loopback_entries() {
        assert_eq!(proxy_port(&[hp("api.x", 3128)]), 3128);
        assert_eq!(proxy_port(&[hp("127.0.0.1", 3128)]), 3129);
        let env = proxy_env(&[]);
        assert!(env.contains(&("HTTPS_PROXY".into(), "http://127.0.0.1:3128".into())));
    }

    #[test]
    fn memory_sizes_are_read_with_their_units_and_bounded() {
        let cases = [
            ("4GiB", Ok(4u64 << 30)),
            ("512MiB", Ok(512 << 20)),
            ("2G", Ok(2_000_000_000)),
            ("1KiB", Err("too little")),
            ("lots", Err("not a size")),
            ("99999999999TiB", Err("not a size")),
        ];
        for (s, want) in cases {
            match (parse_memory(s), want) {
                (Ok(b), Ok(w)) => assert_eq!(b, w, "{s}"),
                (Err(e), Err(w)) => assert!(e.0.contains(w), "{s}: {e}"),
                (got, w) => panic!("{s}: {got:?} vs {w:?}"),
            }
        }
    }
}

/// The machines a box's seccomp filter is written for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arch {
    X86_64,
    Aarch64,
}

impl Arch {
    /// This build's machine, where a filter is written for it.
    pub fn native() -> Option<Arch> {
        match std::env::consts::ARCH {
            "x86_64" => Some(Arch::X86_64),
            "aarch64" => Some(Arch::Aarch64),
            _ => None,
        }
    }

    /// The kernel's AUDIT_ARCH value, the system call numbers of keyctl,
    /// add_key, request_key and ioctl.
    fn numbers(self) -> (u32, [u32; 4]) {
        match self {
            Arch::X86_64 => (0xC000_003E, [250, 248, 249, 16]),
            Arch::Aarch64 => (0xC000_00B7, [219, 217, 218, 29]),
        }
    }
}

/// The terminal ioctls a box may not make: typing into a terminal it
/// shares (`TIOCSTI`) and the console's own (`TIOCLINUX`).
pub const TIOCSTI: u32 = 0x5412;
pub const TIOCLINUX: u32 = 0x541C;

/// io_uring's calls (`io_uring_setup`, `io_uring_enter`,
/// `io_uring_register`): the same numbers on both machines. A ring's
/// operations run in the kernel without a system call each, past any
/// filter of calls, so a box makes none.
pub const IO_URING: [u32; 3] = [425, 426, 427];

/// The box's seccomp filter (classic BPF, as bubblewrap's `--seccomp` reads
/// it: 8 bytes a rule): the kernel's keyrings (`keyctl`, `add_key`,
/// `request_key`: afk's session keyring, or any other, is out of reach),
/// io_uring ([`IO_URING`]) and terminal injection (`ioctl` with `TIOCSTI`
/// or `TIOCLINUX`) answer EPERM; so does every call of another ABI (x32,
/// 32-bit) that could name them by other numbers. Everything else is let
/// through (docs/security.md#the-boxs-system-calls).
pub fn seccomp_filter(arch: Arch) -> Vec<u8> {
    const LD_W_ABS: u16 = 0x20;
    const JEQ_K: u16 = 0x15;
    const JGE_K: u16 = 0x35;
    const RET_K: u16 = 0x06;
    const ALLOW: u32 = 0x7fff_0000;
    const EPERM: u32 = 0x0005_0000 | 1;
    let (audit, [keyctl, add_key, request_key, ioctl]) = arch.numbers();
    let denied: Vec<u32> = [keyctl, add_key, request_key]
        .into_iter()
        .chain(IO_URING)
        .collect();
    // (code, jump if true, jump if false, k): jumps count the rules skipped
    let mut p: Vec<(u16, u8, u8, u32)> = vec![
        (LD_W_ABS, 0, 0, 4), // the ABI
        (JEQ_K, 1, 0, audit),
        (RET_K, 0, 0, EPERM),
        (LD_W_ABS, 0, 0, 0), // the call
    ];
    // the tail after the call is loaded: [x32 check], the denied calls,
    // ioctl, its request's load, the two requests, ALLOW, EPERM
    let x32 = usize::from(arch == Arch::X86_64);
    let eperm = x32 + denied.len() + 5;
    let allow = eperm - 1;
    let to = |from: usize, target: usize| (target - from - 1) as u8;
    if x32 == 1 {
        // x32's numbers have bit 30 set
        p.push((JGE_K, to(0, eperm), 0, 0x4000_0000));
    }
    for (i, nr) in denied.iter().enumerate() {
        p.push((JEQ_K, to(x32 + i, eperm), 0, *nr));
    }
    let at = x32 + denied.len();
    p.extend([
        (JEQ_K, 0, to(at, allow), ioctl),
        (LD_W_ABS, 0, 0, 24), // ioctl's request (args[1], low half)
        (JEQ_K, to(at + 2, eperm), 0, TIOCSTI),
        (JEQ_K, to(at + 3, eperm), 0, TIOCLINUX),
        (RET_K, 0, 0, ALLOW),
        (RET_K, 0, 0, EPERM),
    ]);
    let mut out = Vec::with_capacity(p.len() * 8);
    for (code, jt, jf, k) in p {
        out.extend(code.to_ne_bytes());
        out.push(jt);
        out.push(jf);
        out.extend(k.to_ne_bytes());
    }
    out
}

#[cfg(test)]
mod seccomp_tests {
    use super::*;

    /// Run a classic BPF program over (arch, nr, args[1]) as the kernel would.
    fn run(prog: &[u8], arch: u32, nr: u32, arg1: u32) -> u32 {
        let rules: Vec<(u16, u8, u8, u32)> = prog
            .chunks(8)
            .map(|c| {
                (
                    u16::from_ne_bytes([c[0], c[1]]),
                    c[2],
                    c[3],
                    u32::from_ne_bytes([c[4], c[5], c[6], c[7]]),
                )
            })
            .collect();
        let (mut pc, mut a) = (0usize, 0u32);
        loop {
            let (code, jt, jf, k) = rules[pc];
            match code {
                0x20 => {
                    a = match k {
                        0 => nr,
                        4 => arch,
                        24 => arg1,
                        _ => panic!("load of {k}"),
                    };
                    pc += 1;
                }
                0x15 | 0x35 => {
                    let t = if code == 0x15 { a == k } else { a >= k };
                    pc += 1 + usize::from(if t { jt } else { jf });
                }
                0x06 => return k,
                _ => panic!("code {code:#x}"),
            }
        }
    }

    #[test]
    fn the_boxs_filter_refuses_keyrings_io_uring_and_terminal_injection_and_lets_the_rest_through()
    {
        const ALLOW: u32 = 0x7fff_0000;
        const EPERM: u32 = 0x0005_0001;
        for arch in [Arch::X86_64, Arch::Aarch64] {
            let (audit, [keyctl, add_key, request_key, ioctl]) = arch.numbers();
            let prog = seccomp_filter(arch);
            let cases = [
                // (ABI, call, args[1], verdict)
                (audit, keyctl, 0, EPERM),
                (audit, add_key, 0, EPERM),
                (audit, request_key, 0, EPERM),
                (audit, IO_URING[0], 0, EPERM),
                (audit, IO_URING[1], 0, EPERM),
                (audit, IO_URING[2], 0, EPERM),
                (audit, 424, 0, ALLOW),
                (audit, 428, 0, ALLOW),
                (audit, ioctl, TIOCSTI, EPERM),
                (audit, ioctl, TIOCLINUX, EPERM),
                (audit, ioctl, 0x5401, ALLOW), // TCGETS
                (audit, 0, 0, ALLOW),
                (audit, 59, 0, ALLOW),
                (audit, 1, TIOCSTI, ALLOW), // TIOCSTI's number to another call
                (0x4000_0003, keyctl, 0, EPERM), // another ABI
            ];
            for (abi, nr, arg, want) in cases {
                assert_eq!(
                    run(&prog, abi, nr, arg),
                    want,
                    "{arch:?} {abi:#x} {nr} {arg:#x}"
                );
            }
            if arch == Arch::X86_64 {
                assert_eq!(run(&prog, audit, 0x4000_0000 | keyctl, 0), EPERM, "x32");
            }
        }
    }
}

/// What the first bytes a box sends on a forwarded connection say of the
/// host it means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Named {
    /// Not enough bytes yet to tell.
    More,
    /// A TLS ClientHello, with its server name (SNI) when it has one.
    Tls(Option<String>),
    /// An HTTP request, with its `Host` header's host when it has one.
    Http(Option<String>),
    /// Neither.
    Other,
}

/// A plain HTTP request's first bytes as the forwarder sends them on: with
/// `Connection: close` after its request line, so the server answers this
/// one request and no other on the connection (a second request there,
/// naming another host, is never read: only the first head was judged).
/// Other bytes (a TLS hello) as they are.
pub fn one_request_only(first: &[u8]) -> Vec<u8> {
    let http = first.first().is_some_and(u8::is_ascii_uppercase);
    match first.windows(2).position(|w| w == b"\r\n") {
        Some(i) if http => {
            let mut out = Vec::with_capacity(first.len() + 19);
            out.extend_from_slice(&first[..i + 2]);
            out.extend_from_slice(b"Connection: close\r\n");
            out.extend_from_slice(&first[i + 2..]);
            out
        }
        _ => first.to_vec(),
    }
}

/// Read the host a connection's first bytes name (at most 16 KiB are
/// looked at: [`Named::Other`] past that).
pub fn named(first: &[u8]) -> Named {
    const CAP: usize = 16 << 10;
    match first.first() {
        None => Named::More,
        Some(0x16) => tls_name(first).unwrap_or(if first.len() >= CAP {
            Named::Other
        } else {
            Named::More
        }),
        Some(b) if b.is_ascii_uppercase() => {
            let Some(end) = first.windows(4).position(|w| w == b"\r\n\r\n") else {
                return if first.len() >= CAP {
                    Named::Other
                } else {
                    Named::More
                };
            };
            // a line ended by a bare LF or CR: where a line ends is a
            // server's guess (a Host hidden from afk's reading), not afk's
            let bare = first[..end].iter().enumerate().any(|(i, &b)| {
                (b == b'\n' && (i == 0 || first[i - 1] != b'\r'))
                    || (b == b'\r' && first.get(i + 1) != Some(&b'\n'))
            });
            if bare {
                return Named::Other;
            }
            let head = String::from_utf8_lossy(&first[..end]);
            let mut lines = head.split("\r\n");
            let request = lines.next().unwrap_or("");
            let words: Vec<&str> = request.split_whitespace().collect();
            if words.len() != 3 {
                return Named::Other;
            }
            let hosts: Vec<String> = lines
                .filter_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.trim()
                        .eq_ignore_ascii_case("host")
                        .then(|| host_of(v.trim()))
                })
                .collect();
            // two Hosts, or an absolute-form target naming another host
            // than its Host: which one a server reads is its choice, not afk's
            if hosts.len() > 1 {
                return Named::Other;
            }
            let host = hosts.into_iter().next();
            if let Some((_, rest)) = words[1].split_once("://") {
                let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
                let named = host_of(authority.rsplit('@').next().unwrap_or(""));
                if authority.contains('@') || host.as_deref() != Some(named.as_str()) {
                    return Named::Other;
                }
            }
            Named::Http(host)
        }
        Some(_) => Named::Other,
    }
}

/// A `Host` header's host: without its port, an IPv6 address without
/// brackets, lower case.
fn host_of(h: &str) -> String {
    let h = if let Some(rest) = h.strip_prefix('[') {
        rest.split(']').next().unwrap_or("")
    } else {
        h.rsplit_once(':')
            .filter(|(_, p)| p.chars().all(|c| c.is_ascii_digit()))
            .map(|(h, _)| h)
            .unwrap_or(h)
    };
    h.to_ascii_lowercase()
}

/// The server name of a TLS ClientHello held whole in `b`'s first record;
/// None when it is not all there yet (or not well formed: More until the cap).
fn tls_name(b: &[u8]) -> Option<Named> {
    let u16_at = |i: usize| -> Option<usize> {
        Some(usize::from(*b.get(i)?) << 8 | usize::from(*b.get(i + 1)?))
    };
    let record_end = 5 + u16_at(3)?;
    if b.len() < record_end {
        return None;
    }
    let bad = Some(Named::Other);
    if b.get(5) != Some(&1) {
        return bad; // not a ClientHello
    }
    // handshake header (4), version (2), random (32)
    let mut i = 5 + 4 + 2 + 32;
    i += 1 + usize::from(*b.get(i)?); // session id
    i += 2 + u16_at(i)?; // cipher suites
    i += 1 + usize::from(*b.get(i)?); // compression methods
    if i >= record_end {
        return Some(Named::Tls(None));
    }
    let ext_end = (i + 2 + u16_at(i)?).min(record_end);
    i += 2;
    while i + 4 <= ext_end {
        let (kind, len) = (u16_at(i)?, u16_at(i + 2)?);
        let body = i + 4;
        if kind == 0 {
            // server_name: list length (2), type (1) 0 = host name, length (2), name
            if b.get(body + 2) != Some(&0) {
                return bad;
            }
            let n = u16_at(body + 3)?;
            let name = b.get(body + 5..body + 5 + n)?;
            return Some(Named::Tls(Some(
                String::from_utf8_lossy(name).to_ascii_lowercase(),
            )));
        }
        i = body + len;
    }
    Some(Named::Tls(None))
}

/// Whether the forwarder lets a connection to `target` go on, by the host
/// its first bytes name: the TLS server name or HTTP `Host` must be the
/// allowed entry's host (an IP entry may have a TLS hello without a name);
/// anything else is refused, and why. A model endpoint behind an ingress
/// that also fronts the forge is reached only by the model's name.
pub fn names_permit(target: &HostPort, named: &Named) -> Result<(), Invalid> {
    let ip = target.host.parse::<std::net::IpAddr>().is_ok();
    let same = |h: &str| {
        h.eq_ignore_ascii_case(&target.host) || (target.host == "localhost" && h == "127.0.0.1")
    };
    match named {
        Named::Tls(Some(n)) if same(n) => Ok(()),
        Named::Tls(None) if ip => Ok(()),
        Named::Http(Some(h)) if same(h) => Ok(()),
        Named::Tls(Some(n)) => Err(Invalid(format!(
            "refused a connection to {target}: its TLS server name is {} (not {})",
            shown(n),
            target.host
        ))),
        Named::Tls(None) => Err(Invalid(format!(
            "refused a connection to {target}: its TLS hello names no server"
        ))),
        Named::Http(Some(h)) => Err(Invalid(format!(
            "refused a connection to {target}: its Host is {} (not {})",
            shown(h),
            target.host
        ))),
        Named::Http(None) => Err(Invalid(format!(
            "refused a connection to {target}: its request has no Host"
        ))),
        Named::More | Named::Other => Err(Invalid(format!(
            "refused a connection to {target}: it is neither HTTP nor TLS"
        ))),
    }
}

fn shown(s: &str) -> String {
    s.chars()
        .take(80)
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

#[cfg(test)]
mod named_tests {
    use super::*;

    /// A minimal TLS ClientHello record naming `sni` (none when empty).
    fn hello(sni: &str) -> Vec<u8> {
        let mut ext = vec![];
        if !sni.is_empty() {
            let n = sni.len() as u16;
            let mut body = vec![];
            body.extend((n + 3).to_be_bytes());
            body.push(0);
            body.extend(n.to_be_bytes());
            body.extend(sni.as_bytes());
            ext.extend(0u16.to_be_bytes());
            ext.extend((body.len() as u16).to_be_bytes());
            ext.extend(body);
        }
        // another extension first (supported_versions), as clients send
        let mut exts = vec![0x00, 0x2b, 0x00, 0x03, 0x02, 0x03, 0x04];
        exts.extend(ext);
        let mut hs = vec![0x03, 0x03];
        hs.extend([7u8; 32]);
        hs.push(0); // session id
        hs.extend([0x00, 0x02, 0x13, 0x01]); // one suite
        hs.extend([0x01, 0x00]); // compression: null
        hs.extend((exts.len() as u16).to_be_bytes());
        hs.extend(exts);
        let mut h = vec![1u8, 0, 0, 0];
        let l = hs.len() as u32;
        h[1..4].copy_from_slice(&l.to_be_bytes()[1..]);
        h.extend(hs);
        let mut rec = vec![0x16, 0x03, 0x01];
        rec.extend((h.len() as u16).to_be_bytes());
        rec.extend(h);
        rec
    }

    #[test]
    fn the_forwarder_lets_a_connection_on_only_when_its_tls_name_or_host_is_the_allowed_host() {
        let api = HostPort::parse("api.anthropic.com:443").unwrap();
        let ip = HostPort::parse("127.0.0.1:4001").unwrap();
        let http = |h: &str| {
            format!("POST /v1/messages HTTP/1.1\r\nHost: {h}\r\nContent-Length: 2\r\n\r\n{{}}")
                .into_bytes()
        };
        let full = hello("api.anthropic.com");
        let cases: Vec<(&HostPort, Vec<u8>, bool)> = vec![
            (&api, full.clone(), true),
            (&api, hello("API.Anthropic.com"), true),
            (&api, hello("forge.internal"), false),
            (&api, hello(""), false),
            (&ip, hello(""), true),
            (&ip, http("127.0.0.1:4001"), true),
            (&ip, http("forge.internal"), false),
            (&api, http("api.anthropic.com"), true),
            (&api, http("api.anthropic.com.evil.example"), false),
            (&api, b"GET / HTTP/1.1\r\n\r\n".to_vec(), false),
            (&api, b"SSH-2.0-OpenSSH_9.2\r\n".to_vec(), false),
            (&api, vec![0u8; 20], false),
        ];
        for (target, first, ok) in cases {
            let n = named(&first);
            assert_eq!(names_permit(target, &n).is_ok(), ok, "{target} {n:?}");
        }
        // a plain request is the connection's only one: the server is told
        // to close after it, so a second request behind it (another Host)
        // is never read; a TLS hello goes on as it is
        let two = b"GET / HTTP/1.1\r\nHost: api.anthropic.com\r\n\r\nGET / HTTP/1.1\r\nHost: evil\r\n\r\n";
        assert_eq!(
            one_request_only(two),
            b"GET / HTTP/1.1\r\nConnection: close\r\nHost: api.anthropic.com\r\n\r\nGET / HTTP/1.1\r\nHost: evil\r\n\r\n".to_vec()
        );
        let tls = hello("api.anthropic.com");
        assert_eq!(one_request_only(&tls), tls);
        // a hello or a head cut short asks for more, up to the cap
        assert_eq!(named(&full[..full.len() - 3]), Named::More);
    }

    #[test]
    fn the_forwarders_host_check_holds_under_parser_differentials() {
        let api = HostPort::parse("api.anthropic.com:443").unwrap();
        let v6 = HostPort::parse("[::1]:8080").unwrap();
        let raw = |head: &str| format!("{head}\r\n\r\n").into_bytes();
        // (target, first bytes, passes): exactly the allowed host, or refused
        let cases: Vec<(&HostPort, Vec<u8>, bool)> = vec![
            (&api, hello("api.anthropic.com\0.evil.example"), false),
            (&api, hello("evil.example\0api.anthropic.com"), false),
            (&api, hello("api.anthropic.com."), false),
            (&api, hello("xn--pi-7ka.anthropic.com"), false),
            (&api, hello("аpi.anthropic.com"), false),
            (
                &api,
                raw("GET / HTTP/1.1\r\nHost: api.anthropic.com."),
                false,
            ),
            (&api, raw("GET / HTTP/1.1\r\nHost: API.ANTHROPIC.COM"), true),
            (
                &api,
                raw("GET / HTTP/1.1\r\nHost: api.anthropic.com\0.evil"),
                false,
            ),
            // two Hosts: which one a server reads is not afk's to guess
            (
                &api,
                raw("GET / HTTP/1.1\r\nHost: api.anthropic.com\r\nHost: evil.example"),
                false,
            ),
            // an absolute-form target naming another host than its Host
            (
                &api,
                raw("GET http://evil.example/ HTTP/1.1\r\nHost: api.anthropic.com"),
                false,
            ),
            (
                &api,
                raw(
                    "GET http://api.anthropic.com@evil.example/ HTTP/1.1\r\nHost: api.anthropic.com",
                ),
                false,
            ),
            (
                &api,
                raw("GET https://api.anthropic.com/v1 HTTP/1.1\r\nHost: api.anthropic.com"),
                true,
            ),
            // a line ended by a bare LF or CR hides a Host from afk's reading
            (
                &api,
                raw("GET / HTTP/1.1\r\nHost: api.anthropic.com\nHost: evil.example"),
                false,
            ),
            (
                &api,
                raw("GET / HTTP/1.1\nHost: evil.example\r\nHost: api.anthropic.com"),
                false,
            ),
            (
                &api,
                raw("GET / HTTP/1.1\r\nX: a\rHost: evil.example\r\nHost: api.anthropic.com"),
                false,
            ),
            (&v6, raw("GET / HTTP/1.1\r\nHost: [::1]:8080"), true),
            (&v6, raw("GET / HTTP/1.1\r\nHost: [::2]:8080"), false),
            (
                &v6,
                raw("GET / HTTP/1.1\r\nHost: [0:0:0:0:0:0:0:1]:8080"),
                false,
            ),
        ];
        for (target, first, ok) in cases {
            let n = named(&first);
            assert_eq!(names_permit(target, &n).is_ok(), ok, "{target} {n:?}");
        }
        // the CONNECT line's target must be an entry, and the name inside
        // it that target's host
        let allow = [api.clone()];
        assert!(matches!(
            judge(&allow, "api.anthropic.com:443"),
            Verdict::Forward(_)
        ));
        for line in [
            "api.anthropic.com.:443",
            "api.anthropic.com:444",
            "api.anthropic.com\0:443",
            "[::1]:443",
        ] {
            assert!(
                matches!(judge(&allow, line), Verdict::Refuse(_)),
                "{line:?}"
            );
        }
        assert_eq!(named(b"POST / HTTP/1.1\r\nHost: a"), Named::More);
        assert_eq!(named(&[b'G'; 20 << 10]), Named::Other);
        assert_eq!(named(&[]), Named::More);
    }
}

/// The refused targets one turn's keeper names, at most; the rest are
/// counted under [`OTHER_TARGETS`].
pub const MAX_REFUSED_KEPT: usize = 32;
pub const OTHER_TARGETS: &str = "(other hosts)";
/// A request that named no `host:port`.
pub const NOT_HOST_PORT: &str = "(not host:port)";

/// What a run's box refused over its turns (each turn's keeper's counts):
/// the targets by how often, the most first, at most `shown`, and the
/// total of refusals.
pub fn refusals(
    turns: &[std::collections::BTreeMap<String, u64>],
    shown: usize,
) -> (Vec<(String, u64)>, u64) {
    let mut all: std::collections::BTreeMap<String, u64> = Default::default();
    for t in turns {
        for (k, n) in t {
            let e = all.entry(k.chars().take(120).collect()).or_insert(0);
            *e = e.saturating_add(*n);
        }
    }
    let total = all.values().fold(0u64, |a, n| a.saturating_add(*n));
    let mut v: Vec<(String, u64)> = all.into_iter().collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    v.truncate(shown);
    (v, total)
}

/// The sentence a PR body or an escalation says of a run's box refusals
/// (None when it refused nothing): the targets, how often, and the key
/// that would let one out.
pub fn refusals_said(turns: &[std::collections::BTreeMap<String, u64>]) -> Option<String> {
    const SHOWN: usize = 5;
    let (top, total) = refusals(turns, SHOWN);
    if total == 0 {
        return None;
    }
    let named: Vec<String> = top
        .iter()
        .map(|(t, n)| match n {
            1 => format!("`{t}`"),
            n => format!("`{t}` ({n} times)"),
        })
        .collect();
    let more = top.len()
        < turns
            .iter()
            .flat_map(|t| t.keys())
            .collect::<std::collections::BTreeSet<_>>()
            .len();
    Some(format!(
        "The agent's box refused {total} connection{s} during this run: {}{}. `runner.box.allow` (a `host:port` entry) lets one out.",
        named.join(", "),
        if more { ", and others" } else { "" },
        s = if total == 1 { "" } else { "s" },
    ))
}

#[cfg(test)]
mod refusal_tests {
    use super::*;
    use std::collections::BTreeMap;

    fn turn(pairs: &[(&str, u64)]) -> BTreeMap<String, u64> {
        pairs.iter().map(|(k, n)| (k.to_string(), *n)).collect()
    }

    #[test]
    fn a_runs_box_refusals_are_counted_over_its_turns_deduplicated_bounded_and_say_the_key() {
        type Turns = Vec<BTreeMap<String, u64>>;
        let cases: Vec<(Turns, Option<&str>)> = vec![
            (vec![], None),
            (vec![turn(&[])], None),
            (
                vec![
                    turn(&[("pypi.org:443", 2)]),
                    turn(&[("pypi.org:443", 1), ("10.0.0.1:22", 1)]),
                ],
                Some(
                    "refused 4 connections during this run: `pypi.org:443` (3 times), `10.0.0.1:22`. `runner.box.allow`",
                ),
            ),
            (
                vec![turn(&[
                    ("a:1", 1),
                    ("b:1", 1),
                    ("c:1", 1),
                    ("d:1", 1),
                    ("e:1", 1),
                    ("f:1", 9),
                ])],
                Some(
                    "refused 14 connections during this run: `f:1` (9 times), `a:1`, `b:1`, `c:1`, `d:1`, and others.",
                ),
            ),
            (
                vec![turn(&[("x:443", 1)])],
                Some("refused 1 connection during this run: `x:443`."),
            ),
        ];
        for (turns, want) in cases {
            let got = refusals_said(&turns);
            match want {
                None => assert_eq!(got, None),
                Some(w) => assert!(got.as_deref().unwrap_or("").contains(w), "{got:?} vs {w}"),
            }
        }
        // a name is bounded, counts saturate
        let long = "h".repeat(500);
        let (v, total) = refusals(&[turn(&[(&long, u64::MAX)]), turn(&[(&long, 5)])], 3);
        assert_eq!(v[0].0.len(), 120);
        assert_eq!(total, u64::MAX);
    }
}

/// Which of afk's environment variables reach the box's agent
/// (docs/runners.md#the-boxs-environment): an allowlist, never afk's
/// environment less a list. What afk sets itself (HOME, the proxy, the
/// gateway's base URL and placeholder key, the program's settings folder)
/// comes on top; a name afk removes (a key, a login) is removed whatever
/// this says.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct EnvPass {
    /// Passed by name.
    pub names: Vec<String>,
    /// Passed by prefix (`LC_`, the agent program's own).
    pub prefixes: Vec<String>,
}

/// What every box gets of afk's environment: the search path, the locale,
/// the terminal and the time zone.
pub const ENV_BASE: [&str; 6] = ["PATH", "LANG", "LANGUAGE", "TERM", "TZ", "NO_COLOR"];

/// The variables a turn's command is started with (the runner sets them;
/// docs/runners.md#what-the-agent-gets).
pub const TURN_VARS: [&str; 11] = [
    "AFK_RUN_ID",
    "AFK_REPO",
    "AFK_ISSUE",
    "AFK_BRANCH",
    "AFK_PROMPT_FILE",
    "AFK_RUN_DIR",
    "AFK_PROGRESS_FILE",
    "AFK_TURN",
    "AFK_BUDGET_USD",
    "AFK_WORKSPACE",
    "AFK_BOX",
];

impl EnvPass {
    /// The allowlist of a turn: [`ENV_BASE`], the locale's `LC_*`, the
    /// turn's own variables (`TURN_VARS` and `turn`), what the named agent's
    /// program is documented to read (Claude Code's `ANTHROPIC_*`,
    /// `CLAUDE_CODE_*`, `DISABLE_*`; Codex's `OPENAI_*`, `CODEX_*` and its
    /// provider's key variable), and `runner.box.env`.
    pub fn of(
        agent: AgentKind,
        provider_key: Option<&str>,
        turn: &[&str],
        operator: &[String],
    ) -> EnvPass {
        let mut names: Vec<String> = ENV_BASE
            .iter()
            .chain(TURN_VARS.iter())
            .chain(turn.iter())
            .map(|s| s.to_string())
            .collect();
        names.extend(
            operator
                .iter()
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty()),
        );
        let mut prefixes = vec!["LC_".to_string()];
        match agent {
            AgentKind::Claude => {
                prefixes.extend(["ANTHROPIC_", "CLAUDE_CODE_", "DISABLE_"].map(String::from));
                names.push("MAX_THINKING_TOKENS".into());
            }
            AgentKind::Codex => {
                prefixes.extend(["OPENAI_", "CODEX_"].map(String::from));
                names.extend(provider_key.map(str::to_string));
            }
            AgentKind::Custom => {}
        }
        names.sort();
        names.dedup();
        EnvPass { names, prefixes }
    }

    /// Whether afk's variable `name` reaches the box.
    pub fn admits(&self, name: &str) -> bool {
        self.names.iter().any(|n| n == name)
            || self.prefixes.iter().any(|p| name.starts_with(p.as_str()))
    }
}

#[cfg(test)]
mod env_pass_tests {
    use super::*;

    #[test]
    fn the_boxs_environment_is_an_allowlist_never_afks_less_a_list() {
        let claude = EnvPass::of(
            AgentKind::Claude,
            None,
            &["AFK_TESTS_REPO"],
            &["MY_TOOLCHAIN".into()],
        );
        let codex = EnvPass::of(AgentKind::Codex, Some("AZURE_KEY"), &[], &[]);
        let custom = EnvPass::of(AgentKind::Custom, None, &[], &[]);
        // (pass, name, admitted)
        let cases: &[(&EnvPass, &str, bool)] = &[
            (&claude, "PATH", true),
            (&claude, "LC_ALL", true),
            (&claude, "AFK_RUN_DIR", true),
            (&claude, "AFK_TESTS_REPO", true),
            (&claude, "MY_TOOLCHAIN", true),
            (&claude, "ANTHROPIC_MODEL", true),
            (&claude, "CLAUDE_CODE_MAX_OUTPUT_TOKENS", true),
            // a copy of the forge's token under any other name stays out
            (&claude, "MY_COPY", false),
            (&claude, "AFK_SANDBOX_TOKEN", false),
            (&claude, "GITEA_TOKEN", false),
            (&claude, "OPENAI_API_KEY", false),
            (&claude, "SSH_AUTH_SOCK", false),
            (&codex, "OPENAI_BASE_URL", true),
            (&codex, "AZURE_KEY", true),
            (&codex, "ANTHROPIC_API_KEY", false),
            (&custom, "ANTHROPIC_API_KEY", false),
            (&custom, "TERM", true),
        ];
        for (pass, name, want) in cases {
            assert_eq!(pass.admits(name), *want, "{name}");
        }
    }
}

/// Where the box's default host ids are looked for (afk as root, with no
/// `afk-agent` account and no `runner.box.user`): above the subordinate
/// ranges `useradd` hands out (from 100000, 65536 each) and systemd's
/// container ranges, below 2^31 (docs/runners.md#the-boxs-user).
pub const HOST_ID_BASE: u32 = 1_900_000_000;

/// The ranges of an `/etc/subuid` or `/etc/subgid` text (`name:start:count`
/// lines; others skipped): (start, count).
pub fn sub_ranges(text: &str) -> Vec<(u64, u64)> {
    text.lines()
        .filter_map(|l| {
            let mut f = l.trim().split(':');
            let (_, start, count) = (f.next()?, f.next()?, f.next()?);
            Some((start.trim().parse().ok()?, count.trim().parse().ok()?))
        })
        .collect()
}

/// Why host id `id` is somebody's: an account has it (`account`), or a
/// subordinate range covers it (another user's namespaces map it); None:
/// nobody's.
pub fn id_taken(id: u32, account: bool, ranges: &[(u64, u64)], what: &str) -> Option<String> {
    if account {
        return Some(format!("{what} {id} is an account's on this machine"));
    }
    ranges
        .iter()
        .find(|(start, count)| u64::from(id) >= *start && u64::from(id) < start.saturating_add(*count))
        .map(|(start, count)| {
            format!(
                "{what} {id} is in the subordinate range {start}-{} of /etc/sub{}id: another user's namespaces map it, and its processes could reach the box's files",
                start + count - 1,
                if what == "uid" { "u" } else { "g" }
            )
        })
}

/// The first id from [`HOST_ID_BASE`] that is nobody's ([`id_taken`]),
/// `taken_by_account` telling an account's ids.
pub fn free_host_id(taken_by_account: impl Fn(u32) -> bool, ranges: &[(u64, u64)]) -> u32 {
    (HOST_ID_BASE..HOST_ID_BASE.saturating_add(1 << 20))
        .find(|id| id_taken(*id, taken_by_account(*id), ranges, "uid").is_none())
        .unwrap_or(HOST_ID_BASE)
}

#[cfg(test)]
mod host_id_tests {
    use super::*;

    #[test]
    fn the_boxs_host_user_is_nobodys_no_account_and_no_subordinate_range() {
        let ranges = sub_ranges(
            "alice:100000:65536\n# comment\nbob:165536:65536\nbad line\ncarol:1900000000:3\n",
        );
        assert_eq!(
            ranges,
            [(100_000, 65_536), (165_536, 65_536), (1_900_000_000, 3)]
        );
        // (id, an account's, taken)
        let cases = [
            (100_000, false, true),
            (165_535, false, true),
            (231_072, false, false),
            (1_000, true, true),
            (1_900_000_002, false, true),
            (1_900_000_003, false, false),
        ];
        for (id, account, taken) in cases {
            assert_eq!(
                id_taken(id, account, &ranges, "uid").is_some(),
                taken,
                "{id}"
            );
        }
        // the default: the first free id from the base
        assert_eq!(free_host_id(|_| false, &ranges), 1_900_000_003);
        assert_eq!(
            free_host_id(|id| id == 1_900_000_003, &ranges),
            1_900_000_004
        );
        assert_eq!(free_host_id(|_| false, &[]), HOST_ID_BASE);
    }
}
