//! Files only afk's user may read: run directories, prompts, run files
//! (they hold issue text). Shared by the store and the runners, owned by neither.

use std::path::Path;

/// Create a private directory (0700), parents included.
pub fn private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

/// Write a private file (0600): prompts and run files hold issue text.
/// Text passes the redacting sink first: no secret afk holds reaches a file.
pub fn private_write(path: &Path, text: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(&redacted(text))
}

/// `bytes` without any secret afk holds, where they are text (other bytes
/// as they are).
fn redacted(bytes: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    match std::str::from_utf8(bytes) {
        Ok(text) => match crate::redact::text(text) {
            std::borrow::Cow::Owned(o) => std::borrow::Cow::Owned(o.into_bytes()),
            std::borrow::Cow::Borrowed(_) => std::borrow::Cow::Borrowed(bytes),
        },
        Err(_) => std::borrow::Cow::Borrowed(bytes),
    }
}

/// Replace a private file (0600) whole: written beside it as
/// `<name>.tmp` (never through a link planted there), then renamed over it,
/// so a reader sees the old text or the new, never half of it. The turn's
/// records (runner/command.rs) as its wrapper's `printf > $f.tmp && mv`.
pub fn private_replace(path: &Path, text: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = std::path::PathBuf::from(tmp);
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(&tmp)?;
    f.write_all(&redacted(text))?;
    drop(f);
    std::fs::rename(&tmp, path)
}

/// Whether the file system holding `path` (a file, or the folder it would be
/// in) has no room left for this user: less than 1 MiB it may write (root
/// may use the blocks reserved for it). What turns SQLite's "disk I/O error"
/// into the cause an operator can act on. False when it cannot be told.
pub fn no_room_at(path: &Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let dir = match path.parent() {
        Some(p) if !path.is_dir() && !p.as_os_str().is_empty() => p,
        _ => path,
    };
    let Ok(c) = std::ffi::CString::new(dir.as_os_str().as_bytes()) else {
        return false;
    };
    // SAFETY: a zeroed statvfs is a valid value for statvfs(3) to fill.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: a NUL-terminated path and a statvfs this function owns.
    if unsafe { libc::statvfs(c.as_ptr(), &mut st) } != 0 {
        return false;
    }
    // SAFETY: geteuid(2) cannot fail.
    let blocks = if unsafe { libc::geteuid() } == 0 {
        st.f_bfree
    } else {
        st.f_bavail
    };
    (blocks as u128) * (st.f_frsize as u128) < 1 << 20
}
