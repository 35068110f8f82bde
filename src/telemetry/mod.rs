//! OpenTelemetry export: the spans a process made, and the outbox's
//! undelivered run spans, sent to the collector as OTLP/HTTP protobuf
//! within one bound for the whole process, a failure said once.
//!
//! One [`Telemetry`] per process, made from the [`TelemetrySettings`] the
//! config resolved, and only when telemetry is on: with it off nothing here
//! is made, so no thread, no allocation, no socket. The core makes the
//! spans (`afk_core::telemetry`); this module keeps them (at most
//! [`WAITING_MAX`]) and sends them: [`Telemetry::finish`] what is waiting
//! and up to 100 outbox spans at the process's end (from `spans::finish`,
//! the one production sender); [`Telemetry::export`] sends what waits now,
//! which only the tests call. `wire.rs` is the encoding and the one POST.

mod wire;

#[cfg(test)]
mod tests;

pub use wire::{SCHEMA_URL, SCOPE_NAME, encode};

use crate::core::telemetry::doctor::{NoAnswer, Probed};
use afk_model::telemetry::{Span, TelemetrySettings};
use afk_store::outbox::{OUTBOX_MAX, OutboxState};
use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use wire::{Sender, Try};

/// The most spans a process holds waiting: past it the oldest are dropped
/// and counted.
pub const WAITING_MAX: usize = 4096;

/// The statuses that earn the one retry (with a connect error): the
/// collector is busy or a proxy before it is.
const RETRIED: [u16; 4] = [429, 502, 503, 504];

/// A process's telemetry: its settings, its spans waiting, and what it has
/// spent of its bound.
pub struct Telemetry {
    settings: TelemetrySettings,
    sender: Sender,
    /// the spans made and not yet sent; record() only ever takes this lock,
    /// never the sending one, so making a span never waits on a collector
    waiting: Mutex<Waiting>,
    /// held while a request is on the wire: one export at a time, so two
    /// threads never spend the same part of the bound twice
    sending: Mutex<Spent>,
    /// the state file's instance (`service.instance.id`), once known: the
    /// settings are resolved at load, before the state file is open
    instance: std::sync::OnceLock<String>,
}

#[derive(Default)]
struct Waiting {
    spans: VecDeque<Span>,
    /// dropped past [`WAITING_MAX`], not yet said
    overflowed: usize,
}

#[derive(Default)]
struct Spent {
    /// time spent on telemetry so far (every try, every wait)
    spent: Duration,
    /// the one WARN line said, if one was
    said: Option<String>,
}

/// What an export of some spans came to.
enum Outcome {
    /// a 2xx
    Delivered,
    /// a 4xx other than 408 and 429: never sent again
    Refused(String),
    /// not delivered (and may be tried again by a later process): why
    Failed(String),
}

impl Telemetry {
    /// The process's telemetry: header values are registered as secrets
    /// here, before anything is said, and the certificate file is read.
    /// Nothing is sent until [`Telemetry::export`] or [`Telemetry::finish`].
    pub fn new(settings: TelemetrySettings) -> Self {
        let sender = Sender::new(&settings);
        Telemetry {
            settings,
            sender,
            waiting: Mutex::new(Waiting::default()),
            sending: Mutex::new(Spent::default()),
            instance: std::sync::OnceLock::new(),
        }
    }

    /// The state file's instance, for the resource's `service.instance.id`.
    pub fn set_instance(&self, instance: &str) {
        let _ = self.instance.set(instance.to_string());
    }

    /// Keep `span` to send. Past [`WAITING_MAX`] waiting, the oldest is
    /// dropped and counted (said with the next failure, or at the end).
    pub fn record(&self, span: Span) {
        let mut w = self.waiting.lock().unwrap_or_else(|e| e.into_inner());
        w.spans.push_back(span);
        while w.spans.len() > WAITING_MAX {
            w.spans.pop_front();
            w.overflowed += 1;
        }
    }

    /// How many spans are waiting (the keeper exports at 512).
    pub fn waiting(&self) -> usize {
        self.waiting
            .lock()
            .map(|w| w.spans.len())
            .unwrap_or_default()
    }

    /// Send what is waiting now, within what is left of the bound. Nothing
    /// waiting: no connection. Spans not delivered are dropped (best effort).
    pub fn export(&self) {
        let mut spent = self.sending.lock().unwrap_or_else(|e| e.into_inner());
        let (spans, overflowed) = self.take();
        if spans.is_empty() {
            self.say_overflow(&mut spent, overflowed);
            return;
        }
        match self.deliver(&mut spent, &spans) {
            Outcome::Delivered => self.say_overflow(&mut spent, overflowed),
            Outcome::Refused(why) | Outcome::Failed(why) => {
                self.say(&mut spent, spans.len() + overflowed, &why)
            }
        }
    }

    /// The process's last export: what is waiting, and up to 100 of the
    /// outbox's waiting spans (`outbox`: the state file, when the process
    /// has one open), in one request. Outbox spans a 2xx took are marked
    /// delivered; those a 4xx other than 408 and 429 refused, and those
    /// recorded over 24 hours ago, dropped; the others wait for the next
    /// process. Within what is left of the bound; nothing to send: no
    /// connection.
    pub fn finish(&self, outbox: Option<&afk_store::Store>) {
        let mut spent = self.sending.lock().unwrap_or_else(|e| e.into_inner());
        let (mut spans, overflowed) = self.take();
        let mut keys = vec![];
        if let Some(store) = outbox {
            let now = store.now().at();
            if let Err(e) = store.outbox_expire(now) {
                afk_host::log::debug(&format!("telemetry: the outbox: {e:#}"));
            }
            match store.outbox_waiting(OUTBOX_MAX, now) {
                Ok(kept) => {
                    // a span in both (recorded and kept by this process) goes once
                    let ids: std::collections::HashSet<([u8; 16], [u8; 8])> =
                        kept.iter().map(|(_, s)| (s.trace_id, s.span_id)).collect();
                    spans.retain(|s| !ids.contains(&(s.trace_id, s.span_id)));
                    for (key, span) in kept {
                        keys.push(key);
                        spans.push(span);
                    }
                }
                Err(e) => afk_host::log::debug(&format!("telemetry: the outbox: {e:#}")),
            }
        }
        if spans.is_empty() {
            self.say_overflow(&mut spent, overflowed);
            return;
        }
        let outcome = self.deliver(&mut spent, &spans);
        if let Some(store) = outbox {
            let mark = match outcome {
                Outcome::Delivered => Some(OutboxState::Delivered),
                Outcome::Refused(_) => Some(OutboxState::Dropped),
                Outcome::Failed(_) => None,
            };
            if let Some(state) = mark
                && let Err(e) = store.outbox_mark(&keys, state)
            {
                afk_host::log::debug(&format!("telemetry: the outbox: {e:#}"));
            }
        }
        match outcome {
            Outcome::Delivered => self.say_overflow(&mut spent, overflowed),
            Outcome::Refused(why) | Outcome::Failed(why) => {
                self.say(&mut spent, spans.len() + overflowed, &why)
            }
        }
    }

    /// The WARN line this process said of telemetry, if it said one.
    pub fn said(&self) -> Option<String> {
        self.sending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .said
            .clone()
    }

    /// What is left of the bound.
    pub fn left(&self) -> Duration {
        let spent = self.sending.lock().unwrap_or_else(|e| e.into_inner());
        self.bound().saturating_sub(spent.spent)
    }

    fn bound(&self) -> Duration {
        Duration::from_millis(self.settings.timeout_ms)
    }

    /// Everything waiting, taken out, and how many were dropped past the limit.
    fn take(&self) -> (Vec<Span>, usize) {
        let mut w = self.waiting.lock().unwrap_or_else(|e| e.into_inner());
        let spans = w.spans.drain(..).collect();
        (spans, std::mem::take(&mut w.overflowed))
    }

    /// Send `spans` in one request: one try, and one retry after a connect
    /// error or a 429, 502, 503 or 504, all within what is left of the
    /// bound (a `Retry-After` is waited only when it ends inside it).
    fn deliver(&self, spent: &mut Spent, spans: &[Span]) -> Outcome {
        let encoded = match self.instance.get() {
            Some(i) => {
                let mut settings = self.settings.clone();
                crate::core::telemetry::settings::set_instance(&mut settings, i);
                encode(&settings, spans)
            }
            None => encode(&self.settings, spans),
        };
        let bound = self.bound();
        let mut tries = 0;
        loop {
            tries += 1;
            let left = bound.saturating_sub(spent.spent);
            if left < Duration::from_millis(1) {
                return Outcome::Failed(format!("timed out after {} ms", self.settings.timeout_ms));
            }
            let started = Instant::now();
            let answer = self.sender.post(&self.settings, encoded.clone(), left);
            spent.spent += started.elapsed();
            let retry_in = match answer {
                Try::Accepted {
                    rejected, message, ..
                } => {
                    if rejected > 0 {
                        let why = if message.is_empty() {
                            "the collector rejected them".to_string()
                        } else {
                            format!("the collector rejected them: {message}")
                        };
                        self.say(spent, rejected.max(0) as usize, &why);
                    }
                    return Outcome::Delivered;
                }
                Try::Answered {
                    status,
                    retry_after,
                } if RETRIED.contains(&status) => (
                    Duration::from_secs(retry_after.unwrap_or(0)),
                    answered(status),
                ),
                Try::Answered { status, .. } if (400..500).contains(&status) && status != 408 => {
                    return Outcome::Refused(answered(status));
                }
                Try::Answered { status, .. } => return Outcome::Failed(answered(status)),
                Try::NoAnswer { connect: true, why } => (Duration::ZERO, why),
                Try::NoAnswer {
                    connect: false,
                    why,
                } => return Outcome::Failed(why),
            };
            let (wait, why) = retry_in;
            if tries >= 2 {
                return Outcome::Failed(why);
            }
            let left = bound.saturating_sub(spent.spent);
            if wait >= left {
                // a Retry-After past the bound: give up now, not at the bound
                return Outcome::Failed(why);
            }
            if !wait.is_zero() {
                std::thread::sleep(wait);
                spent.spent += wait;
            }
        }
    }

    /// Say, once per process, that `n` spans were not delivered and why.
    fn say(&self, spent: &mut Spent, n: usize, why: &str) {
        if spent.said.is_some() {
            return;
        }
        let line = format!(
            "telemetry: {n} span{} not delivered to {}: {why}",
            if n == 1 { "" } else { "s" },
            self.settings.traces_url
        );
        afk_host::log::warn(&line);
        spent.said = Some(line);
    }

    /// Say the spans dropped past [`WAITING_MAX`], if there were any.
    fn say_overflow(&self, spent: &mut Spent, overflowed: usize) {
        if overflowed > 0 {
            let why = format!("more than {WAITING_MAX} were waiting");
            self.say(spent, overflowed, &why);
        }
    }
}

/// What a status the collector answered says.
fn answered(status: u16) -> String {
    match status {
        401 | 403 => format!("the collector answered {status} (check the headers)"),
        _ => format!("the collector answered {status}"),
    }
}

/// Doctor's check: one empty `ExportTraceServiceRequest` within the
/// bound, and the status it was answered with and how long that took; or
/// why there was no answer ("connection refused", "timed out after 1000
/// ms"). One try, no retry.
pub fn probe(settings: &TelemetrySettings) -> Probed {
    let sender = Sender::new(settings);
    let bound = Duration::from_millis(settings.timeout_ms.max(1));
    probe_within(&sender, settings, bound).0
}

/// [`probe`] within `bound`, and the time it took.
fn probe_within(
    sender: &Sender,
    settings: &TelemetrySettings,
    bound: Duration,
) -> (Probed, Duration) {
    let started = Instant::now();
    let answer = match sender.post(settings, encode(settings, &[]), bound) {
        Try::Accepted { status, .. } => Ok((status, started.elapsed())),
        Try::Answered { status, .. } => Ok((status, started.elapsed())),
        Try::NoAnswer { why, .. } => Err(NoAnswer(why)),
    };
    (answer, started.elapsed())
}

impl Telemetry {
    /// [`probe`] as this process's telemetry: within what is left of its
    /// bound, and counted against it, so no process spends more than
    /// `telemetry.timeout` on telemetry however much it sends (doctor's
    /// probe, then the outbox at its end).
    pub fn probe(&self) -> Probed {
        let left = self.left();
        if left < Duration::from_millis(1) {
            let why = format!("timed out after {} ms", self.settings.timeout_ms);
            return Err(NoAnswer(why));
        }
        let (answer, took) = probe_within(&self.sender, &self.settings, left);
        let mut spent = self.sending.lock().unwrap_or_else(|e| e.into_inner());
        spent.spent += took;
        answer
    }
}
