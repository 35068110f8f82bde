//! What afk reads of an agent's files besides its spend (that is `spend.rs`,
//! with cursors): bounded by a constant, whatever the agent wrote. A file is
//! read from its end, at most a fixed window of it (`core::progress`'s
//! `TAIL_BYTES` for the progress file), never whole: a gibibyte of output
//! costs what a kilobyte does.

use crate::core::progress::{self, TAIL_BYTES};
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;
use std::time::SystemTime;

/// A file's last bytes.
pub struct Tail {
    pub bytes: Vec<u8>,
    /// The offset of `bytes[0]` in the file: 0 when it is all of it.
    pub from: u64,
    /// The file's length when it was read.
    pub len: u64,
    pub modified: Option<SystemTime>,
}

/// The last `max` bytes of the file at `path` (all of it when shorter); None
/// when there is no such file or it cannot be read.
pub fn tail(path: &Path, max: u64) -> Option<Tail> {
    let mut f = crate::private_files::open_run_file(path).ok()?;
    let meta = f.metadata().ok()?;
    let len = meta.len();
    let from = len.saturating_sub(max);
    f.seek(SeekFrom::Start(from)).ok()?;
    let mut bytes = Vec::new();
    f.take(max).read_to_end(&mut bytes).ok()?;
    Some(Tail {
        bytes,
        from,
        len,
        modified: meta.modified().ok(),
    })
}

/// A run's progress file as afk reads it.
#[derive(Debug, Default)]
pub struct Progress {
    /// The whole lines of its last `TAIL_BYTES`: the phase, a `blocked` report
    /// and `runs show` read these (`core::progress` skips any over `MAX_LINE`).
    pub lines: Vec<u8>,
    /// Lines too long to read in that window (see `core::progress::window`).
    pub skipped: usize,
    /// Whether bytes before the window were not read.
    pub cut: bool,
    /// The file's whole length (its growth is progress).
    pub len: u64,
    pub modified: Option<SystemTime>,
}

/// The progress file `progress.jsonl` of `run_dir` (empty when there is none).
pub fn progress(run_dir: &Path) -> Progress {
    progress_file(&run_dir.join("progress.jsonl"))
}

/// A progress file at `path`, read as [`progress`] reads a run's.
pub fn progress_file(path: &Path) -> Progress {
    let Some(mut t) = tail(path, TAIL_BYTES) else {
        return Progress::default();
    };
    let w = progress::window(&t.bytes, t.from);
    t.bytes.drain(..w.start);
    Progress {
        lines: t.bytes,
        skipped: w.skipped,
        cut: t.from > 0,
        len: t.len,
        modified: t.modified,
    }
}

/// The most of an agent's log read for its final message and its session:
/// its end, where the last turn's records are.
const RECORDS_TAIL: u64 = 256 << 10;

/// The whole lines of the end of `agent.log` (a line cut by where the read
/// starts is dropped), for the records a named agent prints last.
fn last_lines(
    run_dir: &std::path::Path,
    each: impl FnOnce(Vec<&[u8]>) -> Option<String>,
) -> Option<String> {
    let t = tail(&run_dir.join("agent.log"), RECORDS_TAIL)?;
    // redacted before a final message is cut and quoted
    let bytes = redacted(&t.bytes);
    let mut lines: Vec<&[u8]> = bytes.split(|b| *b == b'\n').collect();
    if t.from > 0 && !lines.is_empty() {
        lines.remove(0);
    }
    each(lines)
}

/// The agent's final message (docs/runners.md, named agents: Claude's last
/// `result`, Codex's last `agent_message`; none for a custom agent), bounded
/// and sanitised (`core::final_message`), from the end of the run's
/// `agent.log`. What `afk runs show` prints and the pull request's body quotes.
pub fn final_message(run_dir: &std::path::Path, agent: crate::types::AgentKind) -> Option<String> {
    if agent == crate::types::AgentKind::Custom {
        return None;
    }
    last_lines(run_dir, |lines| {
        crate::core::final_message::final_message(agent, lines)
    })
}

/// The agent's own session of its last turn (Claude's `session_id`, Codex's
/// `thread_id`), from the end of the run's `agent.log`: what a corrective
/// turn resumes. Only an id `core::agent::is_session_id` accepts.
pub fn session_id(run_dir: &std::path::Path, agent: crate::types::AgentKind) -> Option<String> {
    if agent == crate::types::AgentKind::Custom {
        return None;
    }
    last_lines(run_dir, |lines| {
        crate::core::final_message::session_id(agent, lines)
    })
}

/// An agent's bytes without any secret afk holds, redacted before anything
/// cuts, escapes or joins them (a cut could keep a secret's prefix, an escape
/// or a joined line make a form of it redaction reads less surely): the bytes
/// as they were when none is there.
pub fn redacted(bytes: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    let text = String::from_utf8_lossy(bytes);
    match crate::redact::text(&text) {
        std::borrow::Cow::Owned(r) if r != *text => std::borrow::Cow::Owned(r.into_bytes()),
        _ => std::borrow::Cow::Borrowed(bytes),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn a_huge_sparse_progress_file_is_read_from_its_end_only() {
        let d = std::env::temp_dir().join(format!("afk-output-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        let p = d.join("progress.jsonl");
        let mut f = std::fs::File::create(&p).unwrap();
        f.write_all(b"{\"phase\":\"early\"}\n").unwrap();
        f.set_len(1 << 30).unwrap();
        let mut f = std::fs::OpenOptions::new().append(true).open(&p).unwrap();
        f.write_all(b"\n{\"phase\":\"late\"}\n").unwrap();
        let got = progress(&d);
        assert_eq!(got.lines, b"{\"phase\":\"late\"}\n");
        assert_eq!((got.skipped, got.cut, got.len), (1, true, (1 << 30) + 18));
        let none = progress(&d.join("nowhere"));
        assert_eq!((none.lines.len(), none.len, none.cut), (0, 0, false));
        let _ = std::fs::remove_dir_all(&d);
    }
}
