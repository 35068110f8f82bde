//! Feeding an agent's files to the spend ledger (`core::budget::spend`): the bytes
//! each stream gained since the last read, whatever tick reads them. The
//! parsing and the arithmetic are the core's; this only finds the bytes, so a
//! runner that keeps its output elsewhere (a container log) feeds the same
//! ledger with its own bytes.

use crate::core::budget::spend::{Ledger, MAX_READ, Meter};
use crate::core::gateway::{aloft, metered};
use crate::core::run_spend::RunSpend;
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// The command runner's streams: the progress file (`cost_usd` lines) and
/// `agent.log` (Claude Code's JSON result, Codex's token usage), both in the
/// run folder.
pub const STREAMS: [(&str, &str); 2] = [("progress", "progress.jsonl"), ("log", "agent.log")];

/// Read both streams of a run folder into `ledger`. A missing file is nothing
/// to read; a file that cannot be read is left for the next tick.
pub fn read_run_dir(run_dir: &Path, meter: &Meter, ledger: &mut Ledger, finished: bool) {
    for (stream, file) in STREAMS {
        read_stream(&run_dir.join(file), stream, meter, ledger, finished);
    }
}

/// Read one file from where `ledger` stopped (its start when the file was
/// replaced or truncated), at most [`MAX_READ`] bytes.
pub fn read_stream(path: &Path, stream: &str, meter: &Meter, ledger: &mut Ledger, finished: bool) {
    let Ok(mut f) = crate::private_files::open_run_file(path) else {
        return;
    };
    let Ok(meta) = f.metadata() else { return };
    let (id, len) = (meta.ino(), meta.len());
    let from = ledger.start_of(stream, id, len);
    if from == len && ledger.cursors.contains_key(stream) {
        return;
    }
    let mut buf = Vec::new();
    if f.seek(SeekFrom::Start(from)).is_err()
        || f.take(MAX_READ as u64).read_to_end(&mut buf).is_err()
    {
        return;
    }
    // the end of the file as it was: a line cut by the read limit is not whole
    let at_end = from + buf.len() as u64 >= len;
    ledger.feed(meter, stream, id, from, &buf, finished && at_end);
}

/// What a run has spent as read now: its stored spend, its agent's streams
/// read by its runner from where they stopped (`Runner::read_spend`) in its
/// current turn, and the model gateway's record (`read_metered`). Watch
/// stores the result; poll's budget and `afk status` read it and store
/// nothing.
pub fn read_now(
    runner: &dyn super::Runner,
    run_dir: &Path,
    meter: &Meter,
    stored: Option<&str>,
    turn: u32,
    finished: bool,
) -> RunSpend {
    let mut spent = RunSpend::from_stored(stored);
    spent.ledger.begin_turn(turn.max(1));
    runner.read_spend(run_dir, meter, &mut spent.ledger, finished);
    read_metered(run_dir, &mut spent);
    spent
}

/// Read the model gateway's metered record of a run folder
/// (`metered.jsonl`, docs/runners.md#the-model-gateway-runnermodel) into `ledger` from where the last read
/// stopped (its start when the file was replaced or truncated), at most
/// [`metered::MAX_READ`] bytes a read, and its partial records beside it
/// (`read_aloft`: what arrived of the requests in flight, or in flight when
/// their keeper died), whole. Neither: nothing changes (the run's spend
/// stays the agent's word); a record that cannot be read now is left for
/// the next tick. Whatever the runner: the keeper writes them in the run
/// folder.
pub fn read_metered(run_dir: &Path, spend: &mut RunSpend) {
    // the partial records first: a request that lands meanwhile (its line
    // appended, then its partial record removed) is counted twice by this
    // read, never missed
    let aloft = read_aloft(run_dir);
    let record = match crate::private_files::open_run_file(&run_dir.join(metered::FILE)) {
        Ok(f) => Some(f),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(_) => return,
    };
    if record.is_none() && aloft.is_none() && spend.metered.is_none() {
        return;
    }
    let mut read = spend.metered.clone().unwrap_or_default();
    if let Some(mut f) = record {
        let Ok(meta) = f.metadata() else { return };
        let from = read.start(meta.ino(), meta.len());
        let mut buf = Vec::new();
        if f.seek(SeekFrom::Start(from)).is_err()
            || f.take(metered::MAX_READ as u64)
                .read_to_end(&mut buf)
                .is_err()
        {
            return;
        }
        read.tally.feed(&buf);
    }
    read.aloft = aloft.unwrap_or_default();
    spend.metered = Some(read);
}

/// The model gateway's partial records in a run folder
/// (`<run_dir>/metered-aloft/`, `core::gateway::aloft`), summed: at most
/// [`aloft::MAX_FILES`] of them (the rest counted as skipped), each read
/// whole up to [`aloft::MAX_FILE`] bytes, never through a link. None: there
/// are none.
fn read_aloft(run_dir: &Path) -> Option<metered::Tally> {
    let dir = run_dir.join(aloft::DIR);
    // afk's own folder, never one a link names
    if !std::fs::symlink_metadata(&dir).ok()?.is_dir() {
        return None;
    }
    let (mut records, mut past) = (Vec::new(), 0u64);
    for entry in std::fs::read_dir(&dir).ok()?.flatten() {
        let name = entry.file_name();
        if !name.to_str().is_some_and(aloft::is_record) {
            continue;
        }
        if records.len() >= aloft::MAX_FILES {
            past += 1;
            continue;
        }
        let mut bytes = Vec::new();
        // gone since the listing: its request landed, its line is in the record
        let Ok(f) = crate::private_files::open_run_file(&dir.join(&name)) else {
            continue;
        };
        if f.take(aloft::MAX_FILE).read_to_end(&mut bytes).is_ok() {
            records.push(bytes);
        }
    }
    if records.is_empty() && past == 0 {
        return None;
    }
    let mut t = aloft::sum(records.iter().map(Vec::as_slice));
    t.skipped = t.skipped.saturating_add(past);
    Some(t)
}

/// Append afk's own `line` to the run's log (`agent.log`, what `afk runs
/// show --log` prints), where the agent's output and the box's lines are.
/// Only after a whole line: while the agent is still writing one (its
/// log's last byte is not a newline), nothing is written and false says to
/// try on a later tick; an agent that is done gets its torn line ended.
pub fn note_in_log(run_dir: &Path, line: &str, agent_done: bool) -> bool {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let path = run_dir.join("agent.log");
    let torn =
        super::output::tail(&path, 1).is_some_and(|t| t.bytes.last().is_some_and(|b| *b != b'\n'));
    if torn && !agent_done {
        return false;
    }
    let text = format!("{}{line}\n", if torn { "\n" } else { "" });
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(&path)
        .and_then(|mut f| f.write_all(text.as_bytes()))
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn dir(name: &str) -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!("afk-spend-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn append(p: &Path, text: &str) {
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(p)
            .unwrap();
        f.write_all(text.as_bytes()).unwrap();
    }

    const RESULT: &str = "{\"type\":\"result\",\"total_cost_usd\":0.5}\n";

    #[test]
    fn a_log_renamed_away_and_made_anew_is_read_from_its_start() {
        let d = dir("rotate");
        let log = d.join("agent.log");
        let mut l = Ledger::default();
        l.begin_turn(1);
        append(&log, &format!("chatter\n{RESULT}"));
        read_run_dir(&d, &Meter::CUSTOM, &mut l, false);
        read_run_dir(&d, &Meter::CUSTOM, &mut l, false);
        assert_eq!(l.spend(), Some(0.5), "read once");
        // logrotate's default: rename, and a new, longer file appears
        std::fs::rename(&log, d.join("agent.log.1")).unwrap();
        append(&log, &format!("{}\n{RESULT}", "x".repeat(200)));
        read_run_dir(&d, &Meter::CUSTOM, &mut l, false);
        assert_eq!(l.spend(), Some(1.0));
        read_run_dir(&d, &Meter::CUSTOM, &mut l, true);
        assert_eq!(l.spend(), Some(1.0));
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn a_truncated_log_is_read_from_its_start_and_a_torn_line_waits() {
        let d = dir("truncate");
        let log = d.join("agent.log");
        let mut l = Ledger::default();
        l.begin_turn(1);
        append(&log, &format!("{}\n{RESULT}", "y".repeat(100)));
        read_run_dir(&d, &Meter::CUSTOM, &mut l, false);
        std::fs::OpenOptions::new()
            .write(true)
            .open(&log)
            .unwrap()
            .set_len(0)
            .unwrap();
        append(&log, "{\"type\":\"result\",\"total_cost_usd\":");
        read_run_dir(&d, &Meter::CUSTOM, &mut l, false);
        assert_eq!(l.spend(), Some(0.5), "the torn line waits");
        append(&log, "0.25}\n");
        read_run_dir(&d, &Meter::CUSTOM, &mut l, false);
        assert_eq!(l.spend(), Some(0.75));
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn the_progress_file_and_the_log_are_read_side_by_side() {
        let d = dir("both");
        let mut l = Ledger::default();
        l.begin_turn(1);
        append(
            &d.join("progress.jsonl"),
            "{\"cost_usd\": 0.25}\n{\"cost_usd\": 0.8}\n",
        );
        append(&d.join("agent.log"), RESULT);
        read_run_dir(&d, &Meter::CUSTOM, &mut l, true);
        assert_eq!(l.spend(), Some(0.8), "two reports of one turn: the larger");
        assert!(l.cursors.contains_key("progress") && l.cursors.contains_key("log"));
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn the_metered_record_is_read_once_bounded_and_again_when_replaced() {
        use crate::core::gateway::{Api, metered::Line, prices::PricedBy};
        let d = dir("metered");
        let line = |micro_usd| {
            Line::new(
                time::macros::datetime!(2026-11-26 02:20:19 UTC),
                Api::Anthropic,
                "claude-sonnet-4-6",
                200,
                Default::default(),
                micro_usd,
                PricedBy::Table,
                true,
            )
            .to_line()
        };
        let mut l = RunSpend::default();
        l.ledger.begin_turn(1);
        read_metered(&d, &mut l);
        assert_eq!(l.metered, None, "no record: the agent's word");
        append(&d.join("agent.log"), RESULT);
        read_run_dir(&d, &Meter::CUSTOM, &mut l.ledger, false);
        let rec = d.join(metered::FILE);
        let first = line(1_000_000);
        append(&rec, &format!("{first}{}", &first[..20]));
        read_metered(&d, &mut l);
        read_metered(&d, &mut l);
        assert_eq!((l.spend(), l.reported()), (Some(1.0), Some(0.5)));
        // the torn line ends on the next tick
        append(&rec, &first[20..]);
        read_metered(&d, &mut l);
        assert_eq!(l.spend(), Some(2.0));
        assert_eq!(l.metered.as_ref().unwrap().tally.requests, 2);
        // replaced: summed again from its start
        std::fs::remove_file(&rec).unwrap();
        append(&rec, &line(250_001));
        read_metered(&d, &mut l);
        assert_eq!(l.spend(), Some(0.250001));
        // afk's line in the log waits for the agent's torn line, unless it is done
        append(&d.join("agent.log"), "{\"type\":");
        assert!(!note_in_log(&d, "[afk] said", false));
        assert!(note_in_log(&d, "[afk] said", true));
        let log = std::fs::read_to_string(d.join("agent.log")).unwrap();
        assert!(log.ends_with("{\"type\":\n[afk] said\n"), "{log}");
        assert!(note_in_log(&d, "[afk] again", false));
        let _ = std::fs::remove_dir_all(&d);
    }

    /// A keeper killed with requests in flight (watch's stop at `run_time`,
    /// `/afk stop`) leaves their partial records: the run's spend counts
    /// them beside the record, or alone, each once it lands.
    #[test]
    fn the_partial_records_of_requests_in_flight_count_beside_the_record_or_alone() {
        use crate::core::gateway::{Api, metered::Line, prices::PricedBy};
        let line = |micro_usd, complete| {
            Line::new(
                time::macros::datetime!(2026-11-26 02:20:19 UTC),
                Api::Anthropic,
                "claude-sonnet-4-6",
                200,
                Default::default(),
                micro_usd,
                PricedBy::Table,
                complete,
            )
            .to_line()
        };
        let d = dir("aloft");
        let folder = d.join(aloft::DIR);
        std::fs::create_dir_all(&folder).unwrap();
        let first = folder.join(aloft::file_name("1-a", 0));
        std::fs::write(&first, line(3_000_015, false)).unwrap();
        // not partial records: a replacement being written, a link
        std::fs::write(folder.join("1-a-1.json.tmp"), line(7, false)).unwrap();
        std::os::unix::fs::symlink(&first, folder.join(aloft::file_name("1-a", 2))).unwrap();
        let mut l = RunSpend::default();
        l.ledger.begin_turn(1);
        // no request landed yet: the partial record alone is the run's spend
        read_metered(&d, &mut l);
        assert_eq!(l.spend(), Some(3.000015));
        // another request landed: its line, the first still in flight
        append(&d.join(metered::FILE), &line(1_000_000, true));
        read_metered(&d, &mut l);
        assert_eq!(l.spend(), Some(4.000015));
        assert_eq!(l.metered.as_ref().unwrap().sum().requests, 2);
        // the first lands: its line, then its partial record gone; once
        append(&d.join(metered::FILE), &line(3_015_015, true));
        std::fs::remove_file(&first).unwrap();
        read_metered(&d, &mut l);
        read_metered(&d, &mut l);
        assert_eq!(l.spend(), Some(4.015015));
        assert_eq!(l.metered.as_ref().unwrap().sum().requests, 2);
        let kept = RunSpend::from_stored(Some(&l.to_stored()));
        assert_eq!(kept.spend(), Some(4.015015), "kept between ticks");
        // a folder of partial records that is a link is not read
        let elsewhere = d.join("elsewhere");
        std::fs::create_dir_all(&elsewhere).unwrap();
        std::fs::write(elsewhere.join(aloft::file_name("1-b", 0)), line(5, false)).unwrap();
        let linked = dir("aloft-link");
        std::os::unix::fs::symlink(&elsewhere, linked.join(aloft::DIR)).unwrap();
        let mut l = RunSpend::default();
        read_metered(&linked, &mut l);
        assert_eq!(l.metered, None);
        let _ = std::fs::remove_dir_all(&d);
        let _ = std::fs::remove_dir_all(&linked);
    }
}
