// One file: the box's view (~560 lines: its mounts in order, /etc's copies, staging, bubblewrap's arguments) and the table tests that pin them, kept beside them as everywhere in core.
//! The box's view and bubblewrap's command line (docs/runners.md#the-agents-box):
//! what the box shows, in the order bubblewrap mounts it ([`mounts`]),
//! which of `/etc` it shows and how ([`ETC`], [`etc_folder`]), where afk as
//! root stages what the box's host user cannot reach ([`stage_roots`],
//! [`passable`]), the files handed to bubblewrap on descriptors
//! ([`handed`]), and its arguments ([`bwrap_args`]).

use super::Network;
use super::ids::BOX_UID;
use super::seccomp::SECCOMP_FD;
use std::path::{Path, PathBuf};

/// Where afk's own program is bound inside the box when the box's command
/// is afk's (doctor's probe, [`Shape::program`]).
pub const PROGRAM_PATH: &str = "/run/afk/afk";

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
pub(crate) const ETC_COPY_BYTES: u64 = 256 << 10;

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
    /// The keeper hands bubblewrap the box's [`seccomp_filter`](super::seccomp::seccomp_filter) on
    /// [`SECCOMP_FD`].
    pub seccomp: bool,
}

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
        // from where the keeper staged it when the box's user may not reach it
        a.extend(["--ro-bind".into(), source(program), PROGRAM_PATH.into()]);
    }
    a.extend(["--chdir".into(), s(shape.chdir)]);
    a
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agent_box::ids::netns_maps;

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
        // ... and from where the keeper staged it when the box's host user
        // may not reach it (`cargo install` as root: /root/.cargo/bin)
        let program = PathBuf::from("/root/.cargo/bin/afk");
        let p = line(true, std::slice::from_ref(&program), Some(&program));
        assert!(p.contains("--ro-bind /dev/shm/0 /run/afk/afk"), "{p}");
        assert!(!p.contains("/root/.cargo"), "{p}");
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
}
