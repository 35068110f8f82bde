//! The per-kind tick lock: an exclusive, non-blocking advisory lock on
//! `<state dir>/<kind>.lock`, released when the process exits (even on a crash).
//!
//! It is a POSIX record lock (`fcntl(F_SETLK)`), not `flock`: a record lock
//! belongs to the process that took it and is never inherited by a fork. A
//! tick killed while it was forking an agent therefore leaves no child holding
//! the lock for the moments before that child runs the agent, so the next tick
//! is never made to step aside by a tick that is already dead.

use anyhow::{Context, Result};
use std::fs::{File, OpenOptions};
use std::os::fd::AsRawFd;
use std::path::Path;

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
    _file: File,
}

/// Some(lock) when acquired, None when another process holds it.
pub fn try_acquire(state_dir: &Path, kind: &str) -> Result<Option<TickLock>> {
    std::fs::create_dir_all(state_dir)
        .with_context(|| format!("state: cannot create {}", state_dir.display()))?;
    let path = state_dir.join(format!("{kind}.lock"));
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("lock: cannot open {}", path.display()))?;
    match try_lock(&file) {
        Ok(true) => Ok(Some(TickLock { _file: file })),
        Ok(false) => Ok(None),
        Err(e) => Err(e).with_context(|| format!("lock: cannot lock {}", path.display())),
    }
}

/// For a dry run, which creates nothing: the lock when its file already exists.
pub enum Existing {
    Acquired(TickLock),
    Held,
    Absent,
}

pub fn try_acquire_existing(state_dir: &Path, kind: &str) -> Result<Existing> {
    let path = state_dir.join(format!("{kind}.lock"));
    let file = match OpenOptions::new().write(true).open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Existing::Absent),
        Err(e) => return Err(e).with_context(|| format!("lock: cannot open {}", path.display())),
    };
    match try_lock(&file) {
        Ok(true) => Ok(Existing::Acquired(TickLock { _file: file })),
        Ok(false) => Ok(Existing::Held),
        Err(e) => Err(e).with_context(|| format!("lock: cannot lock {}", path.display())),
    }
}
