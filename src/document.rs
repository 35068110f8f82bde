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
    let _ = write_once(&mut out, &last_words(doc));
}

/// The deadline's document as written: its errors quote what a call met,
/// which may carry a secret afk holds, so every string is redacted.
fn last_words(doc: &serde_json::Value) -> String {
    let mut doc = doc.clone();
    crate::redact::json(&mut doc);
    serde_json::to_string_pretty(&doc).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_deadlines_document_carries_no_secret() {
        let _s = crate::redact::Secret::new("deadline-doc-secret-1414213562");
        let doc = serde_json::json!({"errors": [{"message": "POST /x?t=deadline-doc-secret-1414213562 timed out"}]});
        let text = super::last_words(&doc);
        assert!(!text.contains("1414213562"), "{text}");
        assert!(text.contains("[redacted]"), "{text}");
    }
}
