//! What a run's folder holds, as afk reads it: where the folder is, the
//! agent's progress file (bounded, `runner::output`) and its phase, the
//! tail of its log. `afk runs`, `afk status` and the status page read
//! through here.

use crate::config::StatePaths;
use crate::store::runs::Run;
use std::path::PathBuf;
use time::OffsetDateTime;

/// The run's folder: as recorded, else `<runs_dir>/<id>`.
pub fn run_dir_of(paths: &StatePaths, r: &Run) -> PathBuf {
    r.run_dir
        .clone()
        .map(PathBuf::from)
        .unwrap_or_else(|| paths.runs.join(r.id.to_string()))
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

/// The end of the run's `agent.log` as an `agent-failed` escalation and
/// `afk runs show` quote it (`core::escalation::log_end`: its last lines,
/// bounded, sanitised), read from the file's last 64 KiB.
pub fn log_end(run_dir: &std::path::Path) -> Option<String> {
    let t = crate::runner::output::tail(&run_dir.join("agent.log"), 64 << 10)?;
    crate::core::escalation::log_end(&crate::redact::text(&String::from_utf8_lossy(&t.bytes)))
}

/// Why afk's box ended the run's last turn, when it did: its own line in
/// `agent.log` (`core::box_reason::of_log`: one line, bounded, sanitised),
/// read from the log's end and redacted. The turn's escalation and `afk
/// runs show` lead with it, before the exit status and the log's end.
pub fn box_reason(run_dir: &std::path::Path) -> Option<String> {
    use crate::core::box_reason::{TAIL_BYTES, of_log};
    let t = crate::runner::output::tail(&run_dir.join("agent.log"), TAIL_BYTES)?;
    of_log(&crate::redact::text(&String::from_utf8_lossy(&t.bytes)))
}

pub use crate::runner::output::redacted;

/// The agent ended its last turn at a budget of its own (Claude Code's
/// `--max-budget-usd`, `core::escalation::stopped_at_own_budget`), read
/// from its log's last 64 KiB once it is not running, from where the last
/// turn began on ([`turn_start`]: an earlier turn's stop is that turn's,
/// and a continuation past it is not stopped again): its words
/// (`core::budget::spend::BudgetStop::Agent`).
pub fn agent_budget_stop(
    run_dir: &std::path::Path,
    agent: crate::core::run_state::Agent,
) -> Option<String> {
    if agent == crate::core::run_state::Agent::Running {
        return None;
    }
    let t = crate::runner::output::tail(&run_dir.join("agent.log"), 64 << 10)?;
    let from = turn_start(run_dir).map_or(0, |s| s.log_from);
    // a log shorter than where the turn began was made anew: all of it is
    // the turn's
    let skip = match from <= t.len {
        true => usize::try_from(from.saturating_sub(t.from)).unwrap_or(usize::MAX),
        false => 0,
    };
    let bytes = t.bytes.get(skip..).unwrap_or_default();
    let log = crate::redact::text(&String::from_utf8_lossy(bytes)).into_owned();
    // who stopped it (the agent, not afk's gateway) is the caller's to say
    crate::core::escalation::stopped_at_own_budget(&log).then(|| {
        crate::core::escalation::agent_said(&log).unwrap_or_else(|| "its budget reached".into())
    })
}

/// Keep the start of turn `turn` in the run folder before it starts
/// (`core::gateway::budget::TURN_FILE`): where its output begins in
/// `agent.log` and the money limits it was handed (`gate`). One that cannot
/// be kept is a warning: the turn's end is then read as before, the whole
/// log's end and the run's own limit.
pub fn keep_turn_start(
    run_dir: &std::path::Path,
    turn: u32,
    gate: Option<crate::core::gateway::budget::Gate>,
) {
    use crate::core::gateway::budget::{TURN_FILE, TurnStart};
    let log_from = std::fs::symlink_metadata(run_dir.join("agent.log")).map_or(0, |m| m.len());
    let record = TurnStart {
        turn,
        log_from,
        gate,
    };
    // the run's folder as recorded: never made here (a folder afk did not
    // make is nobody's to create); poll makes a new run's first
    if !run_dir.is_dir() {
        crate::log::warn(&format!(
            "cannot keep the turn's start in {}: no such folder",
            run_dir.display()
        ));
        return;
    }
    keep(run_dir, TURN_FILE, &record.to_record(), "the turn's start");
}

/// The last turn's start as [`keep_turn_start`] kept it; None when none
/// was kept (a run from before it was) or it does not read.
pub fn turn_start(run_dir: &std::path::Path) -> Option<crate::core::gateway::budget::TurnStart> {
    use crate::core::gateway::budget::{TURN_FILE, TurnStart};
    let t = crate::runner::output::tail(&run_dir.join(TURN_FILE), 4096)?;
    (t.from == 0)
        .then(|| TurnStart::from_record(&String::from_utf8_lossy(&t.bytes)))
        .flatten()
}

/// The limit an agent's own stop at its budget was a stop at: the one its
/// last turn's gate had the least room under ([`turn_start`],
/// `Gate::binding`); None when no gate was kept.
pub fn agent_stop_limit(run_dir: &std::path::Path) -> Option<crate::core::budget::Limit> {
    let gate = turn_start(run_dir)?.gate?;
    crate::core::budget::Limit::parse(gate.binding()?)
}

/// The exit status the run's last turn left in its folder (the command
/// runner's wrapper writes `exit_status`), if it left one.
pub fn exit_status(run_dir: &std::path::Path) -> Option<i32> {
    let t = crate::runner::output::tail(&run_dir.join("exit_status"), 64)?;
    String::from_utf8_lossy(&t.bytes).trim().parse().ok()
}

/// What a named agent said last and the session it worked in: read from
/// its log by the runner's output reader (a corrective turn resumes it).
pub use crate::runner::output::final_message;

/// What the run's box refused, turn by turn (each keeper writes
/// `box/refused-turn-N.json` when it refused something): bounded, at most
/// 200 turns' files of 64 KiB each; a file that does not read is skipped.
pub fn box_refusals(run_dir: &std::path::Path) -> Vec<std::collections::BTreeMap<String, u64>> {
    let Ok(entries) = std::fs::read_dir(run_dir.join("box")) else {
        return vec![];
    };
    let mut names: Vec<std::path::PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("refused-"))
        })
        .take(200)
        .collect();
    names.sort();
    names
        .iter()
        .filter_map(|p| {
            let t = crate::runner::output::tail(p, 64 << 10)?;
            serde_json::from_slice(&t.bytes).ok()
        })
        .collect()
}

/// The run has a metered record (`core::gateway::metered::FILE`), or the
/// partial records of requests in flight (`core::gateway::aloft::DIR`): its
/// spend is the model gateway's sum, not the agent's word.
pub fn metered_here(run_dir: &std::path::Path) -> bool {
    run_dir.join(crate::core::gateway::metered::FILE).exists()
        || run_dir.join(crate::core::gateway::aloft::DIR).is_dir()
}

/// The refusal the model gateway stopped the run's turn with, when the
/// keeper left one (`core::gateway::budget::STOP_FILE`): the
/// limit and the figures watch escalates `over-budget` with.
pub fn gateway_stop(run_dir: &std::path::Path) -> Option<crate::core::gateway::budget::Refusal> {
    use crate::core::gateway::budget::{Refusal, STOP_FILE, STOP_MAX};
    let t = crate::runner::output::tail(&run_dir.join(STOP_FILE), STOP_MAX as u64)?;
    (t.from == 0)
        .then(|| Refusal::from_record(&String::from_utf8_lossy(&t.bytes)))
        .flatten()
}

/// The change gate's last verdict on the run's turns, as `gate.md` in its
/// folder keeps it (docs/security.md#the-change-gate): `passed (turn k)`,
/// or `refused (turn k)` and its reasons (paths, counts, versions and ids
/// only, each one sanitised line).
pub const GATE_VERDICT: &str = "gate.md";

/// Keep the gate's verdict on turn `turn` (`reasons` empty: passed).
pub fn keep_gate_verdict(run_dir: &std::path::Path, turn: u32, reasons: &[String]) {
    let text = if reasons.is_empty() {
        format!("passed (turn {turn})\n")
    } else {
        format!("refused (turn {turn})\n{}\n", reasons.join("\n"))
    };
    keep(run_dir, GATE_VERDICT, &text, "the change gate's verdict");
}

/// Replace the run folder's `name` with `text`; one that cannot be written
/// is a warning naming `what` (the tick goes on: the record is for people).
fn keep(run_dir: &std::path::Path, name: &str, text: &str, what: &str) {
    if let Err(e) = afk_host::private_files::private_replace(&run_dir.join(name), text.as_bytes()) {
        crate::log::warn(&format!(
            "cannot keep {what} in {}: {}",
            run_dir.display(),
            afk_host::os_words(&e)
        ));
    }
}

/// The dependency changes a Kubernetes Job's forwarding container listed
/// for its push of `sha` (`job-deps.md`: the sha, then one line each).
const JOB_DEPS: &str = "job-deps.md";

/// Keep what a Job's forwarding container listed for its push of `sha`.
pub fn keep_job_deps(run_dir: &std::path::Path, sha: &str, deps: &[String]) {
    let text = format!(
        "{sha}\n{}",
        deps.iter().map(|l| format!("{l}\n")).collect::<String>()
    );
    keep(run_dir, JOB_DEPS, &text, "the Job's dependency list");
}

/// The dependency lines a Job listed for its push of `sha` (none when it
/// listed them for another push, or none was kept), each one line starting
/// `- ` (the pod's words are data).
pub fn job_deps(run_dir: &std::path::Path, sha: &str) -> Vec<String> {
    let Ok(text) = afk_host::private_files::read_run_file(&run_dir.join(JOB_DEPS), 64 << 10) else {
        return vec![];
    };
    let mut lines = text.lines();
    if lines.next() != Some(sha) {
        return vec![];
    }
    lines
        .take(60)
        .map(|l| {
            let l = crate::core::sanitize::one_line(l, 400);
            format!("- {}", l.trim_start_matches(['-', ' ']))
        })
        .collect()
}

/// The gate's last verdict, bounded (64 KiB), if one was kept.
pub fn gate_verdict(run_dir: &std::path::Path) -> Option<String> {
    afk_host::private_files::read_run_file(&run_dir.join(GATE_VERDICT), 64 << 10)
        .ok()
        .map(|t| t.trim_end().to_string())
}

/// The start of the run's agent is recorded in the state file: the spawn
/// marker the command runner wrote before its fork (`spawning`, what a
/// tick that died between the fork and that record leaves for the next)
/// has done its work and goes. Other runners write none.
pub fn start_recorded(run_dir: &std::path::Path) {
    let _ = std::fs::remove_file(run_dir.join("spawning"));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::AgentKind;

    fn dir(name: &str) -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!("afk-run-files-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn the_final_message_and_session_come_from_the_end_of_a_long_log() {
        let d = dir("final");
        let id = "0f8fad5b-d9cb-469f-a165-70867728950e";
        // a first record cut by where the tail starts is never half-read
        let mut log = format!(
            "{{\"type\":\"result\",\"result\":\"{}\"}}\n",
            "x".repeat(300 << 10)
        );
        log.push_str(&format!(
            "{{\"type\":\"system\",\"session_id\":\"{id}\"}}\n{{\"type\":\"result\",\"result\":\"All done.\",\"num_turns\":1,\"session_id\":\"{id}\"}}\n"
        ));
        std::fs::write(d.join("agent.log"), log).unwrap();
        assert_eq!(
            final_message(&d, AgentKind::Claude).as_deref(),
            Some("All done.")
        );
        assert_eq!(
            crate::runner::output::session_id(&d, AgentKind::Claude).as_deref(),
            Some(id)
        );
        assert_eq!(final_message(&d, AgentKind::Custom), None);
        assert_eq!(final_message(&d.join("none"), AgentKind::Codex), None);
        let _ = std::fs::remove_dir_all(&d);
    }
}
