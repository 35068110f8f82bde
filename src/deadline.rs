//! A tick's deadline and SIGTERM, at the edge: a flag the tick's loops read
//! (`stopping`) so they start no new work, and a watchdog thread that, when
//! the tick has not ended within its grace, abandons what is in flight
//! (as a crash would: every step is crash-safe, the next tick reconciles),
//! pings the heartbeat's /fail and exits with the documented code. The
//! tick's lock is a record lock: the kernel releases it with the process.

use crate::config::Config;
use crate::core::tick_deadline::{self, Stop};
use crate::edges::Monitor;
use crate::types::TickKind;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::{Duration, Instant};

/// 0: go on; 1: the deadline; 2: SIGTERM.
static STOP: AtomicU8 = AtomicU8::new(0);

extern "C" fn on_term(_: libc::c_int) {
    // only an atomic store: async-signal-safe
    let _ = STOP.compare_exchange(0, 2, Ordering::SeqCst, Ordering::SeqCst);
}

/// Why the tick was told to stop, if it was.
pub fn stopping() -> Option<Stop> {
    match STOP.load(Ordering::SeqCst) {
        1 => Some(Stop::Deadline),
        2 => Some(Stop::Term),
        _ => None,
    }
}

/// Start the tick's clock: SIGTERM handled, the watchdog running with the
/// tick's `monitor` (a dry run's tells nothing: no tick health, no /fail).
pub fn arm(cfg: &Config, kind: TickKind, monitor: Monitor, (dry_run, json): (bool, bool)) {
    let timeout = timeout_for(kind, cfg);
    // SAFETY: installing a handler that only stores to an atomic.
    unsafe { libc::signal(libc::SIGTERM, on_term as *const () as libc::sighandler_t) };
    let started = Instant::now();
    crate::process::set_tick_end(started + timeout);
    if let Ok(mut c) = CLOCK.lock() {
        *c = Some((kind, timeout, started));
    }
    // one watchdog a process: a second tick in it (afk hook's follow-up,
    // docs/hook.md#bursts) starts the clock again, each tick its own deadline
    if ARMED.swap(true, Ordering::SeqCst) {
        return;
    }
    let spawned = std::thread::Builder::new()
        .name("afk-deadline".into())
        .spawn(move || watch(&monitor, (dry_run, json)));
    if let Err(e) = spawned {
        crate::log::warn(&format!("tick: cannot start the deadline's watchdog: {e}"));
    }
}

/// The tick now on the clock: its kind, its deadline and when it started.
static CLOCK: std::sync::Mutex<Option<(TickKind, Duration, Instant)>> = std::sync::Mutex::new(None);

/// Whether this process's watchdog runs.
static ARMED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

fn clock() -> Option<(TickKind, Duration, Instant)> {
    CLOCK.lock().ok().and_then(|c| *c)
}

fn watch(monitor: &Monitor, (dry_run, json): (bool, bool)) {
    let tick = Duration::from_millis(100);
    // until told to stop: by the clock or by SIGTERM
    let stop = loop {
        if let Some(s) = stopping() {
            break s;
        }
        if let Some((_, timeout, started)) = clock()
            && started.elapsed() >= timeout
        {
            let _ = STOP.compare_exchange(0, 1, Ordering::SeqCst, Ordering::SeqCst);
            continue;
        }
        std::thread::sleep(tick);
    };
    let Some((kind, timeout, _)) = clock() else {
        return;
    };
    let until = Instant::now() + tick_deadline::grace(stop, timeout);
    while Instant::now() < until {
        std::thread::sleep(tick);
    }
    let line = stop.line(kind.as_str(), timeout, true);
    crate::log::error(&line);
    // the tick's own connection may be mid-step: tick health through one of
    // the watchdog's own, stamped by the wall clock now (the tick's moment
    // is on the tick's thread)
    monitor.ended(None, kind, crate::clock::now(), (stop.exit_code(), 1));
    monitor.failed(kind);
    if json {
        // one JSON document, on this exit path too (docs/reports.md)
        crate::document::last_word(&document(kind, dry_run, stop, &[line]));
    }
    std::process::exit(i32::from(stop.exit_code()));
}

/// The document of a tick that stopped without its own report: the
/// watchdog's, or a tick that ended in an error after it was told to stop.
fn document(kind: TickKind, dry_run: bool, stop: Stop, errors: &[String]) -> serde_json::Value {
    let errors: Vec<_> = errors
        .iter()
        .map(|e| serde_json::json!({ "message": e }))
        .collect();
    serde_json::json!({
        "tick": kind.as_str(),
        "dry_run": dry_run,
        "enabled": true,
        "timed_out": stop == Stop::Deadline,
        "terminated": stop == Stop::Term,
        "exit": stop.exit_code(),
        "done": "what the tick finished before it stopped is in the state file; the next tick reconciles what was in flight",
        "errors": errors,
    })
}

/// A tick told to stop that then ended in an error inside its grace (a busy
/// state file, a call cut short): it stopped, so it ends as a stop does, with
/// the stop's line, its one document (the error in it), its tick health and
/// its code (5 or 143), never the error's 1.
pub fn failed_while_stopping(
    cfg: &Config,
    kind: TickKind,
    (monitor, dry_run, json): (&Monitor, bool, bool),
    (stop, e): (Stop, &anyhow::Error),
) -> u8 {
    let error = crate::command_error::person_line(e);
    crate::log::error(&error);
    let line = stop.line(kind.as_str(), timeout_for(kind, cfg), true);
    crate::log::error(&line);
    monitor.ended(None, kind, crate::clock::now(), (stop.exit_code(), 1));
    if json {
        crate::document::last_word(&document(kind, dry_run, stop, &[line, error]));
    }
    stop.exit_code()
}

/// The deadline of this tick kind (`core::tick_deadline::timeout_for`).
pub fn timeout_for(kind: TickKind, cfg: &Config) -> Duration {
    tick_deadline::timeout_for(kind.as_str(), cfg.tick_timeout)
}
