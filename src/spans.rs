//! The process's spans (docs/telemetry.md): made where afk does the work they
//! stand for, held by this process's one exporter (`telemetry`), sent once
//! when the command has ended (`finish`, from main: after its report, its
//! lock and its heartbeat). The run span and a late fact's go through the
//! state file's outbox instead, in the transaction of what they record.
//!
//! With telemetry off (the default) nothing here is made: `start` returns
//! at once, every other function sees no process and returns, and no
//! `OTEL_*` variable was read (the config resolves none).

use crate::store::Store;
use crate::store::runs::Run;
use afk_model::telemetry::{Span, TelemetrySettings};
use std::sync::OnceLock;
use time::OffsetDateTime;

/// This process's exporter and what its spans share.
struct Process {
    telemetry: crate::telemetry::Telemetry,
    /// `afk.tick.id`: 16 random hex digits, the same on every span it makes.
    tick_id: String,
    /// The state file's instance (`service.instance.id`), read once.
    instance: OnceLock<Option<String>>,
}

static PROCESS: OnceLock<Process> = OnceLock::new();
/// What started this process's tick (`afk.tick.trigger`): `cron` unless
/// `afk hook` or the turn-end watch said otherwise.
static TRIGGER: OnceLock<&'static str> = OnceLock::new();

/// Telemetry for this process, when the config turned it on and this is
/// no dry run (`--dry-run` exports nothing).
pub fn start(settings: Option<&TelemetrySettings>, dry_run: bool) {
    let (Some(s), false) = (settings, dry_run) else {
        return;
    };
    crate::store::run_span::set_spans(true);
    let _ = PROCESS.get_or_init(|| Process {
        telemetry: crate::telemetry::Telemetry::new(s.clone()),
        tick_id: crate::core::telemetry::ids::hex(&random::<8>()),
        instance: OnceLock::new(),
    });
}

/// Doctor's empty export (`telemetry::probe`): through this process's
/// telemetry when it has one, so the probe and what the process sends at
/// its end share one `telemetry.timeout`.
pub fn probe(settings: &TelemetrySettings) -> crate::core::telemetry::doctor::Probed {
    match PROCESS.get() {
        Some(p) => p.telemetry.probe(),
        None => crate::telemetry::probe(settings),
    }
}

/// Whether this process makes spans.
pub fn on() -> bool {
    PROCESS.get().is_some()
}

/// `afk hook`'s and the turn-end watch's ticks say what started them.
pub fn triggered_by(trigger: &'static str) {
    let _ = TRIGGER.set(trigger);
}

fn trigger() -> &'static str {
    TRIGGER.get().copied().unwrap_or("cron")
}

/// The process has done its work: what it made is sent, with what the
/// outbox still holds (at most 100), all within `telemetry.timeout`.
pub fn finish(state: Option<&std::path::Path>) {
    let Some(p) = PROCESS.get() else { return };
    let store = state
        .filter(|s| s.exists())
        .and_then(|s| Store::open(s).ok());
    if let Some(s) = &store {
        instance(p, s);
    }
    p.telemetry.finish(store.as_ref());
}

/// This state file's instance, once per process.
fn instance(p: &'static Process, store: &Store) -> Option<&'static str> {
    p.instance
        .get_or_init(|| {
            let i = store.instance().ok();
            if let Some(i) = &i {
                p.telemetry.set_instance(i);
            }
            i
        })
        .as_deref()
}

/// Draws from the OS's random source (tick and request span ids, the id
/// of a label afk creates).
pub(crate) fn random<const N: usize>() -> [u8; N] {
    use std::io::Read;
    let mut b = [0u8; N];
    let _ = std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut b));
    if b.iter().all(|x| *x == 0) {
        b[N - 1] = 1;
    }
    b
}

fn unix_ns(t: OffsetDateTime) -> u64 {
    u64::try_from(t.unix_timestamp_nanos()).unwrap_or(0)
}

/// A tick's work on one run, as its span says it (`afk.poll` and
/// `afk.watch`).
pub struct TickWork<'a> {
    pub kind: crate::types::TickKind,
    pub run: &'a Run,
    pub action: &'a str,
    pub reason: Option<&'a str>,
    /// The turn the tick started, if it started one.
    pub turn: Option<u32>,
    /// `forge`, `git`, `runner` or `state`, when the report has an error
    /// for the run.
    pub error: Option<&'static str>,
    pub began: OffsetDateTime,
}

/// One tick span, for a tick that touched the run.
pub fn tick_work(store: &Store, w: TickWork) {
    let Some(p) = PROCESS.get() else { return };
    let Some(instance) = instance(p, store) else {
        return;
    };
    let span =
        crate::core::telemetry::spans::tick_span(&crate::core::telemetry::spans::TickFacts {
            instance,
            run: w.run.id.0,
            repo: w.run.repo.as_str(),
            issue: w.run.issue.0 as i64,
            kind: w.kind.as_str(),
            tick_id: &p.tick_id,
            trigger: trigger(),
            action: w.action,
            reason: w.reason,
            turn: w.turn,
            error: w.error,
            span_id: random::<8>(),
            start_unix_ns: unix_ns(w.began),
            end_unix_ns: unix_ns(OffsetDateTime::now_utc()),
        });
    p.telemetry.record(span);
}

/// The parts of a run's record whose change makes a waiting tick one
/// that touched the run.
type Marks = (
    crate::types::RunStatus,
    u32,
    Option<crate::types::PrNumber>,
    Option<String>,
    Option<String>,
    Option<String>,
);

/// What a run's record says that a tick span's "touched" reads: a watch
/// that only waited and changed none of it made no span.
pub fn marks(r: &Run) -> Marks {
    (
        r.state,
        r.turns,
        r.pr_number,
        r.head_sha.clone(),
        r.checklist_text.clone(),
        r.end_reason.clone(),
    )
}

/// Record `span` (made elsewhere: the turn's and its requests').
pub fn record(span: Span) {
    if let Some(p) = PROCESS.get() {
        p.telemetry.record(span);
    }
}

/// This process's instance and a fresh random span id, for the spans a
/// caller makes itself; None with telemetry off.
pub fn ids(store: &Store) -> Option<(&'static str, [u8; 8])> {
    let p = PROCESS.get()?;
    Some((instance(p, store)?, random::<8>()))
}

/// A turn that has ended, as the tick that first sees it says it: its
/// `invoke_agent` span into the outbox (its id fixed by the run and the
/// turn, so made once however many ticks see the end), and, the first
/// time, one `chat` span per model request the gateway metered for it.
/// Every runner's turns alike: the metered record is the run folder's (a
/// pod's is its gateway container's lines, mirrored there).
pub fn turn_ended(
    store: &Store,
    cfg: &crate::config::Config,
    run: &Run,
    run_dir: &std::path::Path,
    code: Option<i32>,
) {
    let Some(p) = PROCESS.get() else { return };
    let Some(instance) = instance(p, store) else {
        return;
    };
    let turn = run.turns.max(1);
    let (started, reason) = turn_start(store, run, turn);
    let lines = metered_lines(run_dir, turn);
    let template = run
        .template_name
        .as_deref()
        .zip(run.template_version)
        .and_then(|(n, v)| store.template_version(n, v).ok().flatten());
    let budget_stop = run_dir
        .join(crate::core::gateway::budget::STOP_FILE)
        .exists();
    let paused_at = store.talk(run.id).ok().and_then(|t| t.pause.limit);
    let stopped = crate::core::telemetry::spans::turn_stopped(
        budget_stop,
        paused_at.as_deref(),
        run.state == crate::types::RunStatus::Abandoned,
        run.end_reason.as_deref(),
    );
    let facts = crate::core::telemetry::spans::TurnFacts {
        instance,
        run: run.id.0,
        repo: run.repo.as_str(),
        issue: run.issue.0 as i64,
        turn,
        reason: &reason,
        template: template
            .as_ref()
            .map(|t| (t.name.as_str(), t.version, t.hash.as_str())),
        agent: cfg.runner.agent().as_str(),
        exit_code: code,
        stopped,
        lines: &lines,
        reported_usd: None,
        start_unix_ns: started.map_or(0, unix_ns),
        end_unix_ns: unix_ns(exit_time(run_dir).unwrap_or_else(OffsetDateTime::now_utc)),
    };
    let span = crate::core::telemetry::spans::turn_span(&facts);
    match store.outbox_put_new(&span, OffsetDateTime::now_utc()) {
        Ok(true) => {}
        // made already (an earlier tick saw this end), or no state to keep it in
        _ => return,
    }
    // bounded: at most CHAT_SPANS_MAX a turn, then one span with the count
    use crate::core::telemetry::spans::{CHAT_SPANS_MAX, chat_span, omitted_chats_span};
    let chats: Vec<&crate::core::gateway::metered::Line> =
        lines.iter().filter(|l| l.chat.is_some()).collect();
    for line in chats.iter().take(CHAT_SPANS_MAX) {
        if let Some(chat) = chat_span(&facts, line, random::<8>()) {
            p.telemetry.record(chat);
        }
    }
    if chats.len() > CHAT_SPANS_MAX {
        let omitted = chats.len() - CHAT_SPANS_MAX;
        p.telemetry
            .record(omitted_chats_span(&facts, omitted, random::<8>()));
    }
}

/// When turn `turn` started and why: the first is the dispatch.
fn turn_start(store: &Store, run: &Run, turn: u32) -> (Option<OffsetDateTime>, String) {
    let parse = |s: &str| crate::types::stamp::parse(s);
    if turn <= 1 {
        return (parse(&run.created_at), "first".to_string());
    }
    match store
        .turns(run.id)
        .ok()
        .and_then(|rows| rows.into_iter().find(|r| r.turn == turn))
    {
        Some(r) => (parse(&r.started_at), r.reason),
        None => (None, "first".to_string()),
    }
}

/// The turn's exit record's time (its file's modification), when written.
fn exit_time(run_dir: &std::path::Path) -> Option<OffsetDateTime> {
    let m = std::fs::symlink_metadata(run_dir.join(crate::runner::records::EXIT_RECORD)).ok()?;
    m.modified().ok().map(OffsetDateTime::from)
}

/// The metered record's lines of turn `turn` (read within its cap).
fn metered_lines(run_dir: &std::path::Path, turn: u32) -> Vec<crate::core::gateway::metered::Line> {
    use crate::core::gateway::metered;
    use std::io::Read;
    let Ok(f) = crate::private_files::open_run_file(&run_dir.join(metered::FILE)) else {
        return Vec::new();
    };
    let mut text = String::new();
    if f.take(metered::MAX_READ as u64)
        .read_to_string(&mut text)
        .is_err()
    {
        return Vec::new();
    }
    text.lines()
        .filter_map(|l| serde_json::from_str::<metered::Line>(l).ok())
        .filter(|l| l.chat.as_ref().is_some_and(|c| c.turn == turn))
        .collect()
}
