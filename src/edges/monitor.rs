//! The after-tick outputs, an edge like the rest: what a tick tells the
//! world outside itself (docs/operations.md#monitoring-a-check-per-schedule).
//! Real, or for a dry run told nothing but what it would write to the status
//! issue:
//!
//! | output       | real                                              | dry           |
//! |--------------|---------------------------------------------------|---------------|
//! | tick health  | started and ended, in the tick's store            | not recorded  |
//! | heartbeat    | `/start` at the opening, then success or `/fail`   | not pinged    |
//! | metrics file | rewritten from the tick's store (`metrics`)       | not written   |
//! | status page  | rewritten from the tick's store (`page`)          | not written   |
//! | status issue | edited through the tick's forge when its text changed | recorded as a write, said once |
//!
//! None of them ever fails a tick: a problem is a warning.

use crate::config::{Config, StatePaths};
use crate::forge::Forge;
use crate::metrics::{Ping, TickStats};
use crate::store::Store;
use crate::types::TickKind;
use time::OffsetDateTime;

/// The tick's forge, asked for when something after the tick writes there.
pub type Forged<'a> = &'a dyn Fn() -> anyhow::Result<&'a dyn Forge>;

/// A tick's monitor: owned, so the deadline's watchdog thread holds one too.
#[derive(Clone)]
pub struct Monitor {
    cfg: Config,
    paths: StatePaths,
    /// false: a dry run, which tells nothing
    real: bool,
}

impl Monitor {
    pub(crate) fn new(cfg: &Config, paths: &StatePaths, real: bool) -> Monitor {
        Monitor {
            cfg: cfg.clone(),
            paths: paths.clone(),
            real,
        }
    }

    /// The tick opened: tick health's start (a state file that cannot take
    /// it now, locked or read-only, is the tick's own steps' to report,
    /// never this record's), then the heartbeat's `/start`: a monitor times
    /// the tick from here.
    pub(crate) fn started(&self, store: &Store, kind: TickKind, now: OffsetDateTime) {
        if !self.real {
            return;
        }
        if let Err(e) = store.tick_started(kind.as_str(), &stamp(now)) {
            crate::log::debug(&format!(
                "{}: tick health not recorded: {e:#}",
                kind.as_str()
            ));
        }
        crate::metrics::heartbeat(&self.cfg, kind, Ping::Start);
    }

    /// The tick could not run, or was told to stop: the heartbeat's `/fail`.
    pub fn failed(&self, kind: TickKind) {
        if self.real {
            crate::metrics::heartbeat(&self.cfg, kind, Ping::Fail);
        }
    }

    /// Tick health: the tick ended at `at` with `exit` and `errors`, in
    /// `store` (the tick's own), or, with None, in a connection of its own
    /// (the watchdog's: the tick's may be mid-step; a state file that does
    /// not exist records nothing).
    pub fn ended(
        &self,
        store: Option<&Store>,
        kind: TickKind,
        at: OffsetDateTime,
        (exit, errors): (u8, usize),
    ) {
        if !self.real {
            return;
        }
        let stamp = stamp(at);
        let recorded = match store {
            Some(s) => s.tick_ended(kind.as_str(), &stamp, exit, errors),
            None if !self.paths.file.exists() => return,
            None => Store::open(&self.paths.file)
                .and_then(|s| s.tick_ended(kind.as_str(), &stamp, exit, errors)),
        };
        if let Err(e) = recorded {
            crate::log::warn(&format!(
                "{}: cannot record the tick's end: {e:#}",
                kind.as_str()
            ));
        }
    }

    /// A tick that ran: the metrics file, the heartbeat, then the status
    /// page and issue, all from the tick's store and forge (`opened`; None
    /// for a tick that ran without opening: the metrics' tick lines and the
    /// heartbeat only). The forge is asked for only when the status issue is
    /// edited (harvest's is built then).
    pub fn ran<'a>(
        &self,
        opened: Option<(&'a Store, Forged<'a>)>,
        stats: &TickStats,
        at: OffsetDateTime,
    ) {
        let store = opened.map(|o| o.0);
        if self.real {
            if let Some(p) = self.cfg.metrics_file() {
                crate::metrics::write(p, stats, (store, &self.paths.dir), &self.cfg, at);
            }
            let ping = if stats.ok { Ping::Success } else { Ping::Fail };
            crate::metrics::heartbeat(&self.cfg, stats.kind, ping);
        }
        let Some((store, forge)) = opened else {
            return;
        };
        let page = self.cfg.status_page().filter(|_| self.real);
        crate::page::after_tick(
            &crate::page::On {
                cfg: &self.cfg,
                paths: &self.paths,
                store,
                forge,
                tense: crate::tense::Tense::of(!self.real),
            },
            page,
            at,
        );
    }
}

/// A time as the state's tick health keeps it: RFC 3339, whole seconds.
fn stamp(t: time::OffsetDateTime) -> String {
    use time::format_description::well_known::Rfc3339;
    t.replace_nanosecond(0)
        .unwrap_or(t)
        .format(&Rfc3339)
        .unwrap_or_default()
}
