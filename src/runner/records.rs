//! A turn's records in its run folder, as the unboxed turn's shell wrapper
//! (`command.rs`) and a boxed turn's keeper (`agent_box/keeper.rs`) write
//! them: its start, then its exit status.

use std::path::Path;

/// The agent's start record in its run folder: `PID START_TIME`.
pub const PID_RECORD: &str = "agent.pid";
/// The turn's exit status in its run folder, written once it has ended.
pub const EXIT_RECORD: &str = "exit_status";

/// This process's start record (`PID_RECORD`), as the wrapper writes its
/// own: a boxed turn's keeper is the turn's first process.
pub fn record_start(run_dir: &Path) -> std::io::Result<()> {
    let pid = std::process::id();
    let start = process_start_time(pid as i32).unwrap_or(0);
    crate::private_files::private_replace(
        &run_dir.join(PID_RECORD),
        format!("{pid} {start}\n").as_bytes(),
    )
}

/// The turn's exit status (`EXIT_RECORD`), as the wrapper writes it.
pub fn record_exit(run_dir: &Path, code: i32) -> std::io::Result<()> {
    crate::private_files::private_replace(
        &run_dir.join(EXIT_RECORD),
        format!("{code}\n").as_bytes(),
    )
}

/// A process's start time (field 22 of `/proc/PID/stat`, in clock ticks
/// since boot, read by `core::tick_deadline::proc_start` as the tick lock's
/// holder is): with its pid, what tells it from a later process of the
/// same pid.
pub fn process_start_time(pid: i32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    crate::core::tick_deadline::proc_start(&stat)
}
