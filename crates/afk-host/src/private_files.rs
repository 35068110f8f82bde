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
/// Never through a link planted at `path` (an unconfined agent's, in its run
/// folder), and never into a FIFO or a device: only a regular file is
/// written.
pub fn private_write(path: &Path, text: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)?;
    let kind = f.metadata()?.file_type();
    if !kind.is_file() || kind.is_fifo() {
        return Err(std::io::Error::other(format!(
            "{} is not a regular file",
            path.display()
        )));
    }
    f.set_len(0)?;
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

/// Whether this process may write `path` by its effective ids, as the
/// kernel will judge it: its mode and owner, an immutable flag, a read-only
/// file system (`faccessat(2)` with `AT_EACCESS`). Nothing is opened.
pub fn can_write(path: &Path) -> std::io::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes())
        .map_err(|_| std::io::Error::from(std::io::ErrorKind::InvalidInput))?;
    // SAFETY: a NUL-terminated path; faccessat(2) only reads it.
    match unsafe { libc::faccessat(libc::AT_FDCWD, c.as_ptr(), libc::W_OK, libc::AT_EACCESS) } {
        0 => Ok(()),
        _ => Err(std::io::Error::last_os_error()),
    }
}

/// Open a file of a run's folder to read it: never through a link (the
/// agent may plant one), never a FIFO, a device or a folder (a FIFO would
/// hang the tick, a device stream without end): a regular file or an
/// error. What afk reads of it is bounded by its reader.
pub fn open_run_file(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    let f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)?;
    if !f.metadata()?.is_file() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "not a regular file",
        ));
    }
    Ok(f)
}

/// At most `max` bytes of the run's file at `path`, as text (lossy), opened
/// as [`open_run_file`] opens it.
pub fn read_run_file(path: &Path, max: u64) -> std::io::Result<String> {
    use std::io::Read;
    let mut bytes = vec![];
    open_run_file(path)?.take(max).read_to_end(&mut bytes)?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

#[cfg(test)]
mod run_file_tests {
    use super::*;

    #[test]
    fn a_run_file_is_read_only_when_it_is_a_regular_file_never_through_a_link_or_a_fifo() {
        let dir = std::env::temp_dir().join(format!("afk-run-file-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let plain = dir.join("plain");
        std::fs::write(&plain, "0123456789").unwrap();
        std::os::unix::fs::symlink(&plain, dir.join("link")).unwrap();
        let fifo = std::ffi::CString::new(dir.join("fifo").to_str().unwrap()).unwrap();
        // SAFETY: a path we own
        assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
        std::os::unix::fs::symlink("/dev/zero", dir.join("device")).unwrap();
        // (name, readable)
        let cases = [
            ("plain", true),
            ("link", false),
            ("fifo", false),
            ("device", false),
            (".", false),
            ("missing", false),
        ];
        for (name, ok) in cases {
            assert_eq!(open_run_file(&dir.join(name)).is_ok(), ok, "{name}");
        }
        assert_eq!(read_run_file(&plain, 4).unwrap(), "0123");
        assert!(open_run_file(Path::new("/dev/zero")).is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_private_write_goes_only_into_a_regular_file_never_through_a_link_or_into_a_fifo() {
        let dir = std::env::temp_dir().join(format!("afk-private-write-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let target = dir.join("target");
        std::fs::write(&target, "kept").unwrap();
        std::os::unix::fs::symlink(&target, dir.join("link")).unwrap();
        let fifo = std::ffi::CString::new(dir.join("fifo").to_str().unwrap()).unwrap();
        // SAFETY: a path we own
        assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
        std::fs::write(dir.join("plain"), "a longer old text").unwrap();
        // (name, written)
        let cases = [
            ("plain", true),
            ("new", true),
            ("link", false),
            ("fifo", false),
        ];
        for (name, ok) in cases {
            assert_eq!(private_write(&dir.join(name), b"new").is_ok(), ok, "{name}");
        }
        assert_eq!(std::fs::read_to_string(dir.join("plain")).unwrap(), "new");
        assert_eq!(
            std::fs::read_to_string(&target).unwrap(),
            "kept",
            "no write through the link"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
