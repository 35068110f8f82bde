//! The per-kind tick lock: an exclusive, non-blocking advisory lock on
//! `<state dir>/<kind>.lock`, released when the process exits (even on a crash).

use anyhow::{Context, Result};
use std::fs::{File, OpenOptions, TryLockError};
use std::path::Path;

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
    match file.try_lock() {
        Ok(()) => Ok(Some(TickLock { _file: file })),
        Err(TryLockError::WouldBlock) => Ok(None),
        Err(TryLockError::Error(e)) => {
            Err(e).with_context(|| format!("lock: cannot lock {}", path.display()))
        }
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
    match file.try_lock() {
        Ok(()) => Ok(Existing::Acquired(TickLock { _file: file })),
        Err(TryLockError::WouldBlock) => Ok(Existing::Held),
        Err(TryLockError::Error(e)) => {
            Err(e).with_context(|| format!("lock: cannot lock {}", path.display()))
        }
    }
}
