//! The per-kind tick lock: an exclusive, non-blocking advisory lock on
//! `<state dir>/<kind>.lock`, released when the process exits (even on a crash).
//!
//! It is a POSIX record lock (`fcntl(F_SETLK)`), not `flock`: a record lock
//! belongs to the process that took it and is never inherited by a fork. A
//! tick killed while it was forking an agent therefore leaves no child holding
//! the lock for the moments before that child runs the agent, so the next tick
//! is never made to step aside by a tick that is already dead.
//!
//! Two things a record lock alone would miss are checked first: a lock this
//! process already holds (record locks do not exclude their own process, and
//! closing a second descriptor of the file would drop the first one's lock),
//! and an `flock` on the file, which is how an afk from before this lock, or
//! an operator's `flock(1)` wrapper, holds it. The `flock` is only probed and
//! let go at once, so no child ever inherits it.

use anyhow::{Context, Result};
use std::collections::HashSet;
use std::fs::{File, OpenOptions, TryLockError};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The lock files this process holds.
static HELD: Mutex<Option<HashSet<PathBuf>>> = Mutex::new(None);

fn held(path: &Path) -> bool {
    HELD.lock()
        .map(|h| h.as_ref().is_some_and(|s| s.contains(path)))
        .unwrap_or(true)
}

/// Lock `file` (at `path`) for this process: Ok(None) when this process, an
/// flock holder or another process holds it.
fn lock(file: File, path: &Path) -> std::io::Result<Option<TickLock>> {
    if held(path) {
        return Ok(None);
    }
    match file.try_lock() {
        Ok(()) => file.unlock()?,
        Err(TryLockError::WouldBlock) => return Ok(None),
        Err(TryLockError::Error(e)) => return Err(e),
    }
    if !try_lock(&file)? {
        return Ok(None);
    }
    if let Ok(mut h) = HELD.lock() {
        h.get_or_insert_with(HashSet::new)
            .insert(path.to_path_buf());
    }
    Ok(Some(TickLock {
        file: Some(file),
        path: path.to_path_buf(),
    }))
}

/// Take an exclusive record lock on the whole file without waiting: Ok(true)
/// when taken, Ok(false) when another process holds it.
fn try_lock(file: &File) -> std::io::Result<bool> {
    // SAFETY: a zeroed `flock` is a valid value; every field that matters is set.
    let mut fl: libc::flock = unsafe { std::mem::zeroed() };
    fl.l_type = libc::F_WRLCK as _;
    fl.l_whence = libc::SEEK_SET as _;
    fl.l_start = 0;
    fl.l_len = 0; // to the end, however long
    // SAFETY: fcntl on a descriptor this File owns, with a valid flock.
    if unsafe { libc::fcntl(file.as_raw_fd(), libc::F_SETLK, &fl) } == 0 {
        return Ok(true);
    }
    let e = std::io::Error::last_os_error();
    match e.raw_os_error() {
        Some(libc::EACCES | libc::EAGAIN) => Ok(false),
        _ => Err(e),
    }
}

pub struct TickLock {
    file: Option<File>,
    path: PathBuf,
}

impl Drop for TickLock {
    fn drop(&mut self) {
        // close (and so unlock) first, then let this process take it again
        drop(self.file.take());
        if let Ok(mut h) = HELD.lock()
            && let Some(s) = h.as_mut()
        {
            s.remove(&self.path);
        }
    }
}

/// Some(lock) when acquired, None when another process holds it.
pub fn try_acquire(state_dir: &Path, kind: &str) -> Result<Option<TickLock>> {
    crate::store::private_dir(state_dir)
        .with_context(|| format!("state: cannot create {}", state_dir.display()))?;
    let path = state_dir.join(format!("{kind}.lock"));
    let file = private_lock_file(&path)?;
    lock(file, &path).with_context(|| format!("lock: cannot lock {}", path.display()))
}

/// Wait for `<state dir>/<name>.lock` (a short critical section, such as
/// rewriting the metrics file): a blocking `flock`, released on drop.
pub fn wait_for(state_dir: &Path, name: &str) -> Result<File> {
    crate::store::private_dir(state_dir)
        .with_context(|| format!("state: cannot create {}", state_dir.display()))?;
    let path = state_dir.join(format!("{name}.lock"));
    let file = private_lock_file(&path)?;
    file.lock()
        .with_context(|| format!("lock: cannot lock {}", path.display()))?;
    Ok(file)
}

fn private_lock_file(path: &Path) -> Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("lock: cannot open {}", path.display()))
}

/// For a dry run, which creates nothing: the lock when its file already exists.
pub enum Existing {
    Acquired(TickLock),
    Held,
    Absent,
}

impl Existing {
    /// Another process holds it (an acquired lock is released here).
    pub fn held(self) -> bool {
        matches!(self, Existing::Held)
    }
}

pub fn try_acquire_existing(state_dir: &Path, kind: &str) -> Result<Existing> {
    let path = state_dir.join(format!("{kind}.lock"));
    let file = match OpenOptions::new().write(true).open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Existing::Absent),
        Err(e) => return Err(e).with_context(|| format!("lock: cannot open {}", path.display())),
    };
    match lock(file, &path) {
        Ok(Some(l)) => Ok(Existing::Acquired(l)),
        Ok(None) => Ok(Existing::Held),
        Err(e) => Err(e).with_context(|| format!("lock: cannot lock {}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("afk-lock-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        d
    }

    #[test]
    fn a_lock_this_process_holds_is_held_for_it_too() {
        let d = dir("self");
        let first = try_acquire(&d, "poll").unwrap();
        assert!(first.is_some());
        assert!(
            try_acquire(&d, "poll").unwrap().is_none(),
            "no second holder"
        );
        assert!(
            try_acquire(&d, "watch").unwrap().is_some(),
            "each kind its own"
        );
        drop(first);
        assert!(
            try_acquire(&d, "poll").unwrap().is_some(),
            "free once dropped"
        );
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn an_flock_on_the_file_holds_it_as_an_older_afk_would() {
        let d = dir("flock");
        std::fs::create_dir_all(&d).unwrap();
        let f = File::create(d.join("poll.lock")).unwrap();
        f.try_lock().unwrap();
        assert!(try_acquire(&d, "poll").unwrap().is_none());
        assert!(matches!(
            try_acquire_existing(&d, "poll").unwrap(),
            Existing::Held
        ));
        drop(f);
        assert!(try_acquire(&d, "poll").unwrap().is_some());
        let _ = std::fs::remove_dir_all(&d);
    }
}
