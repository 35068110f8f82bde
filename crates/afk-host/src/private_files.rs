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
    may(path, libc::W_OK)
}

/// Whether this process may read `path` by its effective ids (its mode and
/// owner, as [`can_write`] judges them). Nothing is opened.
pub fn can_read(path: &Path) -> std::io::Result<()> {
    may(path, libc::R_OK)
}

/// Whether this process may reach what a folder holds by name (its search
/// bit, `x`: a folder of mode 000 or another user's 0700 hides whether a
/// file is in it at all). Nothing is opened.
pub fn can_search(path: &Path) -> std::io::Result<()> {
    may(path, libc::X_OK)
}

/// `faccessat(2)` with `AT_EACCESS`: the kernel's judgement by the
/// effective ids and capabilities.
fn may(path: &Path, how: libc::c_int) -> std::io::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes())
        .map_err(|_| std::io::Error::from(std::io::ErrorKind::InvalidInput))?;
    // SAFETY: a NUL-terminated path; faccessat(2) only reads it.
    match unsafe { libc::faccessat(libc::AT_FDCWD, c.as_ptr(), how, libc::AT_EACCESS) } {
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

/// An operator's file afk reads at a command's start (a certificate, a
/// headers file): through a link (an operator's `/etc/ssl` is links), but
/// only a regular file, never a FIFO, a device or a folder (opened without
/// blocking, so a FIFO there cannot hang the command), and at most `max`
/// bytes (a longer one is an error that says so, never cut).
pub fn read_operator_file(path: &Path, max: u64) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)?;
    let meta = f.metadata()?;
    if !meta.is_file() {
        let what = if meta.is_dir() {
            "a folder"
        } else {
            "not a regular file"
        };
        return Err(std::io::Error::new(std::io::ErrorKind::InvalidInput, what));
    }
    let mut bytes = vec![];
    f.take(max.saturating_add(1)).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > max {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("larger than {max} bytes"),
        ));
    }
    Ok(bytes)
}

#[cfg(test)]
mod operator_file_tests {
    use super::*;

    /// A FIFO, a folder or a file past the bound is refused at once, a link
    /// to a regular file is read.
    #[test]
    fn an_operators_file_is_a_regular_file_within_its_bound_or_an_error() {
        let dir = std::env::temp_dir().join(format!("afk-operator-file-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("plain"), "0123456789").unwrap();
        std::os::unix::fs::symlink(dir.join("plain"), dir.join("link")).unwrap();
        let fifo = std::ffi::CString::new(dir.join("fifo").to_str().unwrap()).unwrap();
        // SAFETY: a valid C string; mkfifo(3) only makes the file
        assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
        let read =
            |name: &str, max| read_operator_file(&dir.join(name), max).map_err(|e| e.to_string());
        assert_eq!(read("plain", 10), Ok(b"0123456789".to_vec()));
        assert_eq!(read("link", 10), Ok(b"0123456789".to_vec()));
        assert_eq!(read("plain", 9), Err("larger than 9 bytes".into()));
        assert_eq!(read("fifo", 10), Err("not a regular file".into()));
        assert_eq!(read(".", 10), Err("a folder".into()));
        std::fs::remove_dir_all(&dir).unwrap();
    }
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

/// A folder the agent could write (its box's home, a settings folder in
/// it), held by descriptor: every entry afk makes, removes or writes in it
/// is named relative to the folder it opened, so no link the agent left
/// there, at any component, is ever followed (docs/security.md, "What afk
/// prepares in the box's home").
pub struct Beneath {
    dir: std::fs::File,
    path: std::path::PathBuf,
}

impl Beneath {
    /// Folder `path` itself, opened without following a link at its last
    /// component (the folders above it are afk's own).
    pub fn open(path: &Path) -> std::io::Result<Beneath> {
        use std::os::unix::fs::OpenOptionsExt;
        let dir = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(path)?;
        Ok(Beneath {
            dir,
            path: path.to_path_buf(),
        })
    }

    /// The path afk names this folder by (to a program, in a message).
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn c_name(name: &str) -> std::io::Result<std::ffi::CString> {
        if name.is_empty() || name == "." || name == ".." || name.contains('/') {
            return Err(std::io::Error::other(format!(
                "{name:?} is not one entry's name"
            )));
        }
        std::ffi::CString::new(name).map_err(|_| std::io::Error::other("a name with a NUL byte"))
    }

    fn fd(&self) -> std::os::fd::RawFd {
        use std::os::fd::AsRawFd;
        self.dir.as_raw_fd()
    }

    /// What is at `name`, its link itself where it is one; None: nothing.
    fn kind(&self, name: &str) -> std::io::Result<Option<libc::mode_t>> {
        let c = Self::c_name(name)?;
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        // SAFETY: a valid descriptor, a NUL-terminated name, a stat buffer
        let r = unsafe { libc::fstatat(self.fd(), c.as_ptr(), &mut st, libc::AT_SYMLINK_NOFOLLOW) };
        if r == 0 {
            return Ok(Some(st.st_mode & libc::S_IFMT));
        }
        let e = std::io::Error::last_os_error();
        match e.kind() {
            std::io::ErrorKind::NotFound => Ok(None),
            _ => Err(e),
        }
    }

    /// Entry `name` gone: a file, a link (never followed) or anything but a
    /// folder unlinked; a folder removed whole, its links never followed.
    /// Nothing there is fine.
    pub fn remove(&self, name: &str) -> std::io::Result<()> {
        let c = Self::c_name(name)?;
        match self.kind(name)? {
            None => Ok(()),
            Some(libc::S_IFDIR) => {
                // through the descriptor's own entry in /proc, which is the
                // opened folder itself and never resolved again by path;
                // std's remove_dir_all opens each level without following
                let at = Path::new("/proc/self/fd")
                    .join(self.fd().to_string())
                    .join(name);
                std::fs::remove_dir_all(at)
            }
            Some(_) => {
                // SAFETY: a valid descriptor and a NUL-terminated name
                match unsafe { libc::unlinkat(self.fd(), c.as_ptr(), 0) } {
                    0 => Ok(()),
                    _ => Err(std::io::Error::last_os_error()),
                }
            }
        }
    }

    /// Folder `name` in this one, a real folder: one already there is kept
    /// (a program's sessions live in it); a link, a file or anything else
    /// there is removed, never followed, and a private folder (0700) made.
    pub fn folder(&self, name: &str) -> std::io::Result<Beneath> {
        use std::os::fd::FromRawFd;
        let c = Self::c_name(name)?;
        if !matches!(self.kind(name)?, Some(libc::S_IFDIR) | None) {
            self.remove(name)?;
        }
        // SAFETY: a valid descriptor and a NUL-terminated name
        let made = unsafe { libc::mkdirat(self.fd(), c.as_ptr(), 0o700) };
        if made != 0 {
            let e = std::io::Error::last_os_error();
            if e.kind() != std::io::ErrorKind::AlreadyExists {
                return Err(e);
            }
        }
        // SAFETY: a valid descriptor and a NUL-terminated name; the flags
        // refuse a link and anything but a folder
        let fd = unsafe {
            libc::openat(
                self.fd(),
                c.as_ptr(),
                libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC,
            )
        };
        if fd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(Beneath {
            // SAFETY: a descriptor this call opened and nothing else owns
            dir: unsafe { std::fs::File::from_raw_fd(fd) },
            path: self.path.join(name),
        })
    }

    /// File `name` written afresh (0600): whatever was there removed, never
    /// followed, then a new file made create-exclusive and written,
    /// redacted as every file afk writes.
    pub fn write_new(&self, name: &str, text: &[u8]) -> std::io::Result<()> {
        use std::io::Write;
        use std::os::fd::FromRawFd;
        let c = Self::c_name(name)?;
        self.remove(name)?;
        // SAFETY: a valid descriptor and a NUL-terminated name; O_EXCL with
        // O_CREAT never opens what is there, a link included
        let fd = unsafe {
            libc::openat(
                self.fd(),
                c.as_ptr(),
                libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW | libc::O_CLOEXEC,
                0o600 as libc::c_uint,
            )
        };
        if fd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        // SAFETY: a descriptor this call opened and nothing else owns
        let mut f = unsafe { std::fs::File::from_raw_fd(fd) };
        f.write_all(&redacted(text))
    }
}

#[cfg(test)]
mod beneath_tests {
    use super::Beneath;
    use std::path::Path;

    fn tmp(tag: &str) -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!("afk-beneath-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn a_link_left_where_a_folder_or_file_goes_is_replaced_never_followed() {
        let root = tmp("link");
        let (home, victim) = (root.join("home"), root.join("victim"));
        std::fs::create_dir_all(&home).unwrap();
        std::fs::create_dir_all(&victim).unwrap();
        for f in ["AGENTS.md", "auth.json", "config.toml"] {
            std::fs::write(victim.join(f), "victim's").unwrap();
        }
        // a link where the settings folder goes, and one where a file goes
        std::os::unix::fs::symlink(&victim, home.join(".afk-codex_home")).unwrap();
        let h = Beneath::open(&home).unwrap();
        let dir = h.folder(".afk-codex_home").unwrap();
        for f in ["AGENTS.md", "auth.json"] {
            dir.remove(f).unwrap();
        }
        dir.write_new("config.toml", b"afk's").unwrap();
        for f in ["AGENTS.md", "auth.json", "config.toml"] {
            assert_eq!(
                std::fs::read_to_string(victim.join(f)).unwrap(),
                "victim's",
                "{f}"
            );
        }
        let made = std::fs::symlink_metadata(home.join(".afk-codex_home")).unwrap();
        assert!(made.is_dir(), "a real folder now");
        assert_eq!(
            std::fs::read_to_string(home.join(".afk-codex_home/config.toml")).unwrap(),
            "afk's"
        );
        // a link at the file's own name, and a folder there
        std::os::unix::fs::symlink(
            victim.join("auth.json"),
            home.join(".afk-codex_home/auth.json"),
        )
        .unwrap();
        std::fs::create_dir_all(home.join(".afk-codex_home/config.toml.d")).unwrap();
        std::os::unix::fs::symlink(&victim, home.join(".afk-codex_home/config.toml.d/in")).unwrap();
        dir.write_new("auth.json", b"login").unwrap();
        dir.remove("config.toml.d").unwrap();
        assert_eq!(
            std::fs::read_to_string(victim.join("auth.json")).unwrap(),
            "victim's"
        );
        assert!(
            victim.join("config.toml").exists(),
            "nothing under the link removed"
        );
        assert!(!home.join(".afk-codex_home/config.toml.d").exists());
        // a folder already there is kept with what it holds
        std::fs::write(home.join(".afk-codex_home/session.jsonl"), "kept").unwrap();
        let again = h.folder(".afk-codex_home").unwrap();
        assert_eq!(again.path(), home.join(".afk-codex_home"));
        assert!(home.join(".afk-codex_home/session.jsonl").exists());
        // the home itself a link: refused, not followed
        std::fs::remove_dir_all(&home).unwrap();
        std::os::unix::fs::symlink(&victim, &home).unwrap();
        assert!(Beneath::open(&home).is_err());
        for bad in ["", ".", "..", "a/b"] {
            assert!(
                Beneath::open(Path::new(&root))
                    .unwrap()
                    .folder(bad)
                    .is_err(),
                "{bad:?}"
            );
        }
        let _ = std::fs::remove_dir_all(&root);
    }
}
