//! What a run's folder holds, as afk reads it: where the folder is, the
//! agent's progress file (bounded, `runner::output`) and its phase, the
//! tail of its log. `afk runs`, `afk status` and the status page read
//! through here.

use crate::session::Session;
use crate::store::runs::Run;
use std::path::PathBuf;
use time::OffsetDateTime;

/// The run's folder: as recorded, else `<runs_dir>/<id>`.
pub fn run_dir_of(session: &Session, r: &Run) -> PathBuf {
    r.run_dir
        .clone()
        .map(PathBuf::from)
        .unwrap_or_else(|| session.runs_dir().join(r.id.to_string()))
}

/// The agent's progress file as afk reads it (the whole lines of its tail,
/// bounded: `runner::output::progress`) and when it was last written (empty
/// when none).
pub fn progress_of(run_dir: &std::path::Path) -> (Vec<u8>, Option<String>) {
    let read = crate::runner::output::progress(run_dir);
    let written = written_of(&read);
    (read.lines, written)
}

/// When the progress file was last written, as stored moments are.
pub fn written_of(read: &crate::runner::output::Progress) -> Option<String> {
    read.modified
        .map(|t| crate::clock::ts(OffsetDateTime::from(t)))
}

/// The agent's latest phase in `run_dir`, if it reported one.
pub fn phase_in(run_dir: &std::path::Path) -> Option<crate::core::progress::Phase> {
    let (bytes, written) = progress_of(run_dir);
    crate::core::progress::latest_phase(&bytes, written.as_deref())
}

/// The most of an agent's log `runs show --log` prints: its end.
const LOG_TAIL: u64 = 1 << 20;

/// The agent's log, or its last `LOG_TAIL` bytes with a line saying so: an
/// agent can write gigabytes.
pub fn log_tail(path: &std::path::Path) -> String {
    let Some(t) = crate::runner::output::tail(path, LOG_TAIL) else {
        return String::new();
    };
    let text = String::from_utf8_lossy(&t.bytes);
    if t.from == 0 {
        return text.into_owned();
    }
    format!(
        "(the first {} bytes are not shown; the whole log is {})\n{text}",
        t.from,
        path.display()
    )
}

/// The agent's final message (SPEC 5.5), from the last 256 KiB of its log:
/// Claude's last `result` record's `result`, Codex's last `agent_message`;
/// none for a custom agent. Bounded and cleaned by the caller's fence.
pub fn final_message(run_dir: &std::path::Path, agent: crate::types::AgentKind) -> Option<String> {
    use crate::types::AgentKind;
    if agent == AgentKind::Custom {
        return None;
    }
    let t = crate::runner::output::tail(&run_dir.join("agent.log"), 256 << 10)?;
    let text = String::from_utf8_lossy(&t.bytes);
    text.lines().rev().find_map(|line| {
        let v: serde_json::Value = serde_json::from_str(line.trim()).ok()?;
        match agent {
            AgentKind::Claude if v["type"] == "result" => v["result"].as_str().map(str::to_string),
            AgentKind::Codex
                if v["type"] == "item.completed" && v["item"]["type"] == "agent_message" =>
            {
                v["item"]["text"].as_str().map(str::to_string)
            }
            _ => None,
        }
    })
}
