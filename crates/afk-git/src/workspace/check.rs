//! The checks on an agent's repository and checkout before afk reads them:
//! no links, no pointers to another repository, within bounds.

use super::{MAX_ENTRIES, MAX_FILE_BYTES, MAX_REFS, MAX_TREE_BYTES, Refused};
use std::path::Path;

fn refused(why: impl Into<String>) -> Refused {
    Refused(why.into())
}

/// `path` is a real folder, not a link to one.
pub(super) fn check_dir(path: &Path) -> std::result::Result<(), Refused> {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => Ok(()),
        Ok(_) => Err(refused(format!(
            "{} is no longer a folder (a link or a file): afk reads nothing through it",
            path.display()
        ))),
        Err(_) => Err(refused(format!("{} is gone", path.display()))),
    }
}

/// An agent's repository afk is about to read as a fetch source
/// (docs/security.md#the-workspace-the-agent-holds-no-forge-credential): a real
/// folder, not a link; no `commondir` (which would make git read another
/// repository); its objects and refs real files and folders (no link that reads
/// another repository's files), within bounds; its alternates exactly afk's own
/// (`cache`) or none. A missing repository is fine (the agent removed it: there
/// is nothing to take).
pub fn check_repository(git_dir: &Path, cache: Option<&Path>) -> std::result::Result<(), Refused> {
    let meta = match std::fs::symlink_metadata(git_dir) {
        Err(_) => return Ok(()),
        Ok(m) => m,
    };
    let name = git_dir.display();
    if !meta.is_dir() {
        return Err(refused(format!(
            "{name} is a link or a file, not a repository folder: afk does not follow it"
        )));
    }
    for f in ["commondir", "gitdir", "objects/info/http-alternates"] {
        if std::fs::symlink_metadata(git_dir.join(f)).is_ok() {
            return Err(refused(format!(
                "{name}/{f} exists: it would make git read another repository"
            )));
        }
    }
    for f in [
        "config",
        "HEAD",
        "packed-refs",
        "objects",
        "objects/info",
        "objects/info/alternates",
        "refs",
    ] {
        if std::fs::symlink_metadata(git_dir.join(f)).is_ok_and(|m| m.file_type().is_symlink()) {
            return Err(refused(format!(
                "{name}/{f} is a link: afk reads no file through a link"
            )));
        }
    }
    let alternates = git_dir.join("objects/info/alternates");
    if let Ok(m) = std::fs::symlink_metadata(&alternates) {
        let want = cache.map(|c| format!("{}\n", c.join("objects").display()));
        let text = if m.len() > 4096 {
            None
        } else {
            std::fs::read_to_string(&alternates).ok()
        };
        if text.is_none() || text != want {
            return Err(refused(format!(
                "{name}/objects/info/alternates was changed: it would lend the repository another one's objects"
            )));
        }
    }
    if std::fs::symlink_metadata(git_dir.join("packed-refs")).is_ok_and(|m| m.len() > 16 << 20) {
        return Err(refused(format!("{name}/packed-refs is over 16 MiB")));
    }
    let (mut entries, mut bytes) = (0u64, 0u64);
    walk(&git_dir.join("objects"), &mut |m| {
        entries += 1;
        bytes += m.len();
        if entries > MAX_ENTRIES {
            return Err(refused(format!(
                "{name}/objects holds more than {MAX_ENTRIES} files"
            )));
        }
        if bytes > MAX_TREE_BYTES {
            return Err(refused(format!(
                "{name}/objects holds more than {} MiB",
                MAX_TREE_BYTES >> 20
            )));
        }
        Ok(())
    })?;
    let mut refs = 0u64;
    walk(&git_dir.join("refs"), &mut |_| {
        refs += 1;
        if refs > MAX_REFS {
            return Err(refused(format!("{name} holds more than {MAX_REFS} refs")));
        }
        Ok(())
    })
}

/// Every entry below `dir` (not following links), each checked by `f`; a
/// link anywhere is refused.
fn walk(
    dir: &Path,
    f: &mut dyn FnMut(&std::fs::Metadata) -> std::result::Result<(), Refused>,
) -> std::result::Result<(), Refused> {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Ok(());
    };
    for e in rd.flatten() {
        let p = e.path();
        let Ok(m) = std::fs::symlink_metadata(&p) else {
            continue;
        };
        if m.file_type().is_symlink() {
            return Err(refused(format!(
                "{} is a link: afk reads no file through a link",
                p.display()
            )));
        }
        f(&m)?;
        if m.is_dir() {
            walk(&p, f)?;
        }
    }
    Ok(())
}

/// The files `git add -A` would read, within bounds: none over
/// [`MAX_FILE_BYTES`], [`MAX_TREE_BYTES`] in all, [`MAX_ENTRIES`] files.
pub(super) fn bounded_files<'a>(
    workdir: &Path,
    names: impl Iterator<Item = &'a str>,
) -> std::result::Result<(), Refused> {
    let (mut n, mut total) = (0u64, 0u64);
    for name in names.filter(|n| !n.is_empty()) {
        n += 1;
        if n > MAX_ENTRIES {
            return Err(refused(format!(
                "the checkout holds more than {MAX_ENTRIES} files"
            )));
        }
        // a link is read as a link (its target is not followed)
        let Ok(m) = std::fs::symlink_metadata(workdir.join(name)) else {
            continue;
        };
        // a FIFO would block git (and afk) for ever, a device or a socket
        // is no file to commit: refused, with the reason
        {
            use std::os::unix::fs::FileTypeExt;
            let t = m.file_type();
            let what = if t.is_fifo() {
                Some("a FIFO")
            } else if t.is_socket() {
                Some("a socket")
            } else if t.is_block_device() || t.is_char_device() {
                Some("a device")
            } else {
                None
            };
            if let Some(what) = what {
                return Err(refused(format!(
                    "the checkout's {name:?} is {what}: afk commits only files and links"
                )));
            }
        }
        if m.len() > MAX_FILE_BYTES && m.is_file() {
            return Err(refused(format!(
                "the checkout's {name:?} is over {} MiB: afk commits no such file",
                MAX_FILE_BYTES >> 20
            )));
        }
        total += m.len();
        if total > MAX_TREE_BYTES {
            return Err(refused(format!(
                "the checkout's files are over {} MiB in all",
                MAX_TREE_BYTES >> 20
            )));
        }
    }
    Ok(())
}
