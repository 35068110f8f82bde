//! Named crash points for the crash tests: `AFK_CRASH_AT=<name>` makes the
//! process kill itself with SIGKILL right there, exactly as `kill -9` at that
//! moment would. Unset (always, outside tests) it costs one environment read.

/// Die here when `AFK_CRASH_AT` names this point.
pub fn point(name: &str) {
    if std::env::var_os("AFK_CRASH_AT").is_some_and(|v| v == name) {
        // SAFETY: kill(2) on our own pid; SIGKILL cannot be caught.
        unsafe {
            libc::kill(libc::getpid(), libc::SIGKILL);
        }
    }
}
