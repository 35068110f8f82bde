//! What the tick makes for a turn and, afk as root, gives to the box's
//! unprivileged user: its files' owners and modes, its passwd, its socket's place.

use super::TurnPaths;
use crate::core::agent_box as rules;
use anyhow::{Context, Result};
use std::io::Read;
use std::path::{Path, PathBuf};

/// Every entry of `root` (a folder or file; missing is fine) owned by
/// `uid:gid`, links changed themselves and never followed; the entry that
/// failed when one does.
pub(super) fn own_tree(
    root: &Path,
    uid: u32,
    gid: u32,
) -> std::result::Result<(), (PathBuf, std::io::Error)> {
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
pub(super) fn readable_tree(root: &Path) -> std::result::Result<(), (PathBuf, std::io::Error)> {
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
pub(super) fn identity_files(box_dir: &Path, home: &Path) -> Result<(PathBuf, PathBuf)> {
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
pub(super) fn socket_path(box_dir: &Path, _t: &TurnPaths) -> Result<PathBuf> {
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
