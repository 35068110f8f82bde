//! What the tick makes for a turn and, afk as root, gives to the box's
//! unprivileged user: its files' owners and modes.

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
