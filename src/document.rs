//! `--json` prints exactly one JSON document per process (docs/reports.md): the
//! command's report, or the deadline's when a tick could not end in time,
//! never both. One flag, read and set under stdout's lock; it names nothing
//! else of afk, so the deadline's watchdog and the output both use it.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

static PRINTED: AtomicBool = AtomicBool::new(false);

/// Write `text` as the process's one document, unless one was written.
pub fn write_once(out: &mut std::io::StdoutLock, text: &str) -> std::io::Result<()> {
    if PRINTED.swap(true, Ordering::SeqCst) {
        return Ok(());
    }
    writeln!(out, "{text}")?;
    out.flush()
}

/// The deadline's document, unless the tick's own was printed: the
/// watchdog's last word before it ends the process.
pub fn last_word(doc: &serde_json::Value) {
    let mut out = std::io::stdout().lock();
    let text = serde_json::to_string_pretty(doc).unwrap_or_default();
    let _ = write_once(&mut out, &text);
}
