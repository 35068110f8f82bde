//! What afk does to its own process before anything else: everything it
//! creates is private to its user (umask 077: folders 0700, files 0600, the
//! agents and git children it starts included), whoever creates a file first.
//! Files meant for other readers (man pages, the metrics file) get their mode
//! set explicitly. And the moment its tick must end by (`tick_end`), which
//! what it starts in a process group of its own may not outlive.

use std::sync::atomic::{AtomicU32, Ordering};

/// The umask afk was started with, for the commands that write files for
/// everyone (`afk man --dir`, `afk completions`).
static OPERATOR_UMASK: AtomicU32 = AtomicU32::new(0o022);

/// Make every file and folder this process (and its children) creates private.
pub fn make_private() {
    // SAFETY: umask only changes this process's file-creation mask; it cannot fail.
    let old = unsafe { libc::umask(0o077) };
    OPERATOR_UMASK.store(old as u32, Ordering::Relaxed);
}

/// Go back to the operator's umask, for a command whose files are for everyone.
pub fn operator_umask() {
    let m = OPERATOR_UMASK.load(Ordering::Relaxed);
    // SAFETY: as above.
    unsafe {
        libc::umask(m as libc::mode_t);
    }
}

/// When this process's tick reaches its deadline, by the monotonic clock
/// (set once, by `deadline::arm`).
static TICK_END: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();

/// The tick's deadline is `at` (`deadline::arm`; a second call changes nothing).
pub fn set_tick_end(at: std::time::Instant) {
    let _ = TICK_END.set(at);
}

/// The moment this process's tick reaches its deadline; None when it runs
/// no tick. What a git on an agent's repository may not outlive
/// (`afk_git::workspace::Workspace::with_tick_end`): a tick past its
/// deadline exits, and such a git runs in a process group of its own.
pub fn tick_end() -> Option<std::time::Instant> {
    TICK_END.get().copied()
}
