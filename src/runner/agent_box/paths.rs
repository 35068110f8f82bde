//! What the tick resolves of the machine and the agent program: system
//! folders, the program's files and `#!` interpreter, bubblewrap, the default
//! `allow`.

use crate::core::agent_box::{self as rules, forwarder::HostPort};
use anyhow::{Context, Result};
use std::io::Read;
use std::path::{Path, PathBuf};

pub(super) fn canonical(p: &Path) -> Result<PathBuf> {
    std::fs::canonicalize(p).with_context(|| format!("runner.box: {} is not there", p.display()))
}

pub(super) fn is_system(p: &Path) -> bool {
    rules::mounts::SYSTEM.iter().any(|s| p.starts_with(s))
}

/// The system folders this machine has, a link where it is one; then the
/// entries of `/etc` a box shows that this machine has (a small folder
/// copied, `core::agent_box::mounts::etc_folder`; afk's own paths are `hidden`).
pub(super) fn system_paths(hidden: &[rules::mounts::Hidden]) -> Vec<rules::mounts::SystemPath> {
    let etc = rules::mounts::ETC.iter().flat_map(|e| {
        let Ok(m) = std::fs::metadata(e) else {
            return vec![];
        };
        match m.is_file() {
            true => vec![rules::mounts::SystemPath::EtcFile(e.into())],
            false => rules::mounts::etc_folder(Path::new(e), &etc_entries(Path::new(e)), hidden),
        }
    });
    rules::mounts::SYSTEM
        .iter()
        .filter_map(|s| {
            let m = std::fs::symlink_metadata(s).ok()?;
            if m.file_type().is_symlink() {
                let target = std::fs::read_link(s).ok()?;
                Some(rules::mounts::SystemPath::Link {
                    at: s.into(),
                    target,
                })
            } else if m.is_dir() {
                Some(rules::mounts::SystemPath::Dir(s.into()))
            } else {
                None
            }
        })
        .chain(etc)
        .collect()
}

/// The entries under an `/etc` folder (never through a link), at most one
/// more than `core::agent_box::mounts::ETC_COPY_ENTRIES`: enough to tell it is not
/// small.
fn etc_entries(dir: &Path) -> Vec<rules::mounts::EtcEntry> {
    use std::os::unix::fs::PermissionsExt;
    let cap = rules::mounts::ETC_COPY_ENTRIES + 1;
    let mut found = vec![];
    // a folder not every user may list is bound, never copied
    if std::fs::metadata(dir).is_ok_and(|m| m.permissions().mode() & 0o005 != 0o005) {
        found.push(rules::mounts::EtcEntry {
            path: dir.to_path_buf(),
            kind: rules::mounts::EntryKind::Other,
            bytes: 0,
            for_all: false,
        });
        return found;
    }
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        let Ok(list) = std::fs::read_dir(&d) else {
            // unreadable: as a link would, it keeps the folder bound
            found.push(rules::mounts::EtcEntry {
                path: d,
                kind: rules::mounts::EntryKind::Other,
                bytes: 0,
                for_all: false,
            });
            return found;
        };
        for e in list.flatten() {
            if found.len() >= cap {
                return found;
            }
            let Ok(m) = std::fs::symlink_metadata(e.path()) else {
                continue;
            };
            let mode = m.permissions().mode();
            let (kind, for_all) = match m.file_type() {
                t if t.is_dir() => (rules::mounts::EntryKind::Dir, mode & 0o005 == 0o005),
                t if t.is_file() => (rules::mounts::EntryKind::File, mode & 0o004 != 0),
                _ => (rules::mounts::EntryKind::Other, false),
            };
            if kind == rules::mounts::EntryKind::Dir {
                todo.push(e.path());
            }
            found.push(rules::mounts::EtcEntry {
                path: e.path(),
                kind,
                bytes: m.len(),
                for_all,
            });
        }
    }
    found
}

/// A program settings folder the operator named by its variable (created
/// when missing, as the program would).
pub(super) fn program_home(var: &str) -> Option<PathBuf> {
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
pub(super) fn program_files(argv: &[String]) -> (Vec<String>, Vec<PathBuf>) {
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
            "runner.confine = \"box\": this machine cannot make a box ({why}); user namespaces may be off: sysctl kernel.unprivileged_userns_clone=1 (Debian), or on Ubuntu 24.04 kernel.apparmor_restrict_unprivileged_userns=0 or AppArmor profiles for bwrap and afk (afk makes the box's network namespace itself: docs/runners.md); or set runner.confine = \"none\""
        ),
    }
}

/// The default `allow`: the named agent's model endpoint (its base URL in
/// afk's environment or Codex's config), and the forge when the agent does
/// its own git.
/// With the model gateway on (`model` false) the model is reached through
/// the gateway only: the forge alone, when the agent does its own git.
pub(super) fn default_allow(cfg: &crate::config::Config, model: bool) -> Vec<HostPort> {
    use crate::types::AgentKind;
    let agent = match cfg.runner.agent() {
        AgentKind::Claude => rules::forwarder::ModelOf::Claude,
        AgentKind::Codex => rules::forwarder::ModelOf::Codex,
        AgentKind::Custom => rules::forwarder::ModelOf::Custom,
    };
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let mut forge = vec![];
    if cfg.runner.workspace() == crate::types::Workspace::Agent {
        forge.extend(HostPort::of_url(&cfg.forge.url));
        forge.extend(HostPort::of_url(&cfg.forge.api_url));
    }
    if !model {
        forge.sort();
        forge.dedup();
        return forge;
    }
    rules::forwarder::default_allow(
        agent,
        &rules::forwarder::AllowFacts {
            anthropic_base_url: env("ANTHROPIC_BASE_URL"),
            codex_base_url: codex_base_url().or_else(|| env("OPENAI_BASE_URL")),
            forge,
        },
    )
}

/// The base URL of Codex's configured model provider (`$CODEX_HOME/config.toml`).
pub(super) fn codex_base_url() -> Option<String> {
    codex_provider_key("base_url")
}

/// Codex's config.toml (`$CODEX_HOME`, else `~/.codex`), bounded.
pub(super) fn codex_config() -> Option<toml::Table> {
    let home = std::env::var_os("CODEX_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".codex")))?;
    let mut text = String::new();
    std::fs::File::open(home.join("config.toml"))
        .ok()?
        .take(256 << 10)
        .read_to_string(&mut text)
        .ok()?;
    toml::from_str(&text).ok()
}

/// A key of Codex's configured model provider (`base_url`, `env_key`).
pub(super) fn codex_provider_key(key: &str) -> Option<String> {
    let t = codex_config()?;
    let provider = t.get("model_provider")?.as_str()?;
    t.get("model_providers")?
        .get(provider)?
        .get(key)?
        .as_str()
        .map(String::from)
}
