//! What every tick command shares: running one (`run`: its deadline, its
//! report, its monitor), the error item of a report, and the human error lines.

pub use crate::edges::Tick;
use crate::forge::ForgeError;
use crate::forge::http::Exhausted;
use crate::session::{Outcome, Session};
use crate::types::{IssueNumber, TickKind};
use anyhow::Result;
use serde::Serialize;

/// What a dry run would have written, as lines under its report (nothing
/// for a real tick, which records none).
pub fn would_write(writes: &[String]) -> String {
    if writes.is_empty() {
        return String::new();
    }
    let mut s = String::from("would write:\n");
    for w in writes {
        s.push_str(&format!("  {w}\n"));
    }
    s
}

/// What every tick's report opens with, in this order (`--json`, flattened
/// into the report): which tick, whether it was a dry run, whether it is
/// switched on, why it did nothing, and whether it stepped aside for another
/// tick of its kind. One type for poll, watch, harvest and upgrade.
#[derive(Serialize, Debug, Default, Clone, PartialEq)]
pub struct Head {
    pub tick: TickKind,
    pub dry_run: bool,
    /// None for a tick that has no switch of its own (upgrade)
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub stepped_aside: bool,
}

impl Head {
    /// A tick that is on and goes on.
    pub fn on(tick: TickKind, tense: crate::edges::Tense) -> Head {
        Head {
            tick,
            dry_run: tense == crate::edges::Tense::Would,
            enabled: Some(true),
            ..Head::default()
        }
    }

    /// A tick that did nothing because of `why` (switched off, the stop file).
    pub fn off(tick: TickKind, tense: crate::edges::Tense, why: String) -> Head {
        Head {
            enabled: Some(false),
            reason: Some(why),
            ..Head::on(tick, tense)
        }
    }

    /// A tick that stepped aside: another of its kind holds the lock.
    pub fn aside(tick: TickKind, tense: crate::edges::Tense) -> Head {
        Head {
            stepped_aside: true,
            ..Head::on(tick, tense)
        }
    }

    /// How the tick's report tells what it did (`edges::Tense`).
    pub fn tense(&self) -> crate::edges::Tense {
        crate::edges::Tense::of(self.dry_run)
    }

    /// Whether the tick ran (so its metrics and heartbeat are recorded): on
    /// (for a tick with no switch: not stopped), and not stepped aside.
    pub fn ran(&self) -> bool {
        self.enabled.unwrap_or(self.reason.is_none()) && !self.stepped_aside
    }
}

/// What a tick's report tells the tick runner. Written once, by
/// [`tick_report!`], for every report (each has a `head`, its `errors` and
/// the `requests` it made).
pub trait TickReport: serde::Serialize {
    /// The report of a tick that did no work, `head` saying why.
    fn quiet(head: Head) -> Self
    where
        Self: Sized;
    /// The human text of such a tick: why it did nothing.
    fn quiet_human(&self) -> String {
        let head = self.head();
        match (&head.reason, head.stepped_aside) {
            (Some(why), false) => format!("{}: disabled ({why}); nothing done\n", head.tick),
            (None, false) if head.ran() => format!("{}: nothing to do\n", head.tick),
            _ => String::new(),
        }
    }
    /// The report's opening: which tick, whether it ran.
    fn head(&self) -> &Head;
    /// The report's errors as `where: what` lines (each also goes to stderr).
    fn error_lines(&self) -> Vec<String>;
    /// (requests, errors, dispatches) of a tick that ran.
    fn counts(&self) -> (usize, usize, usize);
    /// [`TickReport::counts`] when the tick ran; None when it was disabled,
    /// stopped or stepped aside (then nothing is recorded).
    fn ran(&self) -> Option<(usize, usize, usize)> {
        self.head().ran().then(|| self.counts())
    }
}

/// Writes [`TickReport`] for a tick's report: `dispatches` names the list a
/// tick counts as dispatches (poll's), `quiet` adjusts the head of a tick
/// that did no work, `quiet_human` gives its own words for one.
macro_rules! tick_report {
    ($report:ty $(, dispatches: $d:ident)? $(, quiet: $q:expr)? $(, quiet_human: $h:expr)? $(,)?) => {
        impl $crate::tick::TickReport for $report {
            fn quiet(head: $crate::tick::Head) -> Self {
                $( let head = ($q)(head); )?
                Self {
                    head,
                    ..Default::default()
                }
            }
            $(
                fn quiet_human(&self) -> String {
                    ($h)(self)
                }
            )?
            fn head(&self) -> &$crate::tick::Head {
                &self.head
            }
            fn error_lines(&self) -> Vec<String> {
                self.errors.iter().map($crate::tick::ErrorLine::line).collect()
            }
            fn counts(&self) -> (usize, usize, usize) {
                let dispatches = 0 $( + self.$d.len() )?;
                (self.requests, self.errors.len(), dispatches)
            }
        }
    };
}
pub(crate) use tick_report;

/// One error of a tick's report as stderr and the human text show it.
pub trait ErrorLine {
    fn line(&self) -> String;
}

/// What one tick did: its report, its human text and its exit code; and
/// the tick itself when it opened, whose after-tick outputs the tick runner
/// writes once the report is out ([`run`]).
pub struct Ended<'s, R> {
    pub report: R,
    pub human: String,
    pub code: u8,
    pub tick: Option<Box<Tick<'s>>>,
}

impl<R: TickReport> Ended<'_, R> {
    /// A tick that did no work, its report and its human text: it never
    /// opened (switched off, the stop file, another tick's lock).
    pub fn quiet(report: R, human: String) -> Self {
        Ended {
            report,
            human,
            code: 0,
            tick: None,
        }
    }

    /// The tick in a form every caller can hold (the demo, the benchmark);
    /// the tick's lock is let go.
    pub fn done(self) -> Done {
        Done {
            report: serde_json::to_value(&self.report).unwrap_or_default(),
            human: self.human,
            code: self.code,
        }
    }
}

/// Run a tick: its errors to stderr, then print it (nothing with -q when it
/// went well), then (when it ran) its after-tick outputs: tick health, the
/// metrics file, the heartbeat, the status page and issue (`edges::Monitor`);
/// a tick that could not run at all pings the heartbeat's /fail.
pub fn run<'s, R: TickReport>(
    ctx: &'s Session,
    kind: TickKind,
    tick: impl FnOnce(&'s Session) -> Result<Ended<'s, R>>,
) -> Result<Outcome> {
    ctx.load()?;
    let started = std::time::Instant::now();
    let monitor = ctx.monitor();
    // the kill switch: a disabled poll reads its config and exits, with no
    // watchdog thread to start (it does nothing a deadline could stop)
    if kind != TickKind::Poll || ctx.config().poll.enabled {
        crate::deadline::arm(
            ctx.config(),
            kind,
            monitor.clone(),
            (ctx.dry_run(), ctx.json()),
        );
    }
    let t = match tick(ctx) {
        Ok(t) => t,
        Err(e) => {
            monitor.failed(kind);
            return match crate::deadline::stopping() {
                Some(stop) => Ok(Outcome::code(crate::deadline::failed_while_stopping(
                    ctx.config(),
                    kind,
                    (&monitor, ctx.dry_run(), ctx.json()),
                    (stop, &e),
                ))),
                None => Err(e),
            };
        }
    };
    // told to stop (tick_timeout, SIGTERM) and ended within its grace: the
    // report, then the error line, /fail and the documented code
    if let Some(stop) = crate::deadline::stopping() {
        let _ = crate::output::try_emit(ctx.json(), &t.report, &t.human);
        crate::log::error(&stop.line(
            kind.as_str(),
            crate::deadline::timeout_for(kind, ctx.config()),
            false,
        ));
        let errors = t.report.ran().map_or(1, |r| r.1.max(1));
        match &t.tick {
            Some(open) => open.ended(stop.exit_code(), errors),
            None => monitor.ended(None, kind, crate::clock::now(), (stop.exit_code(), errors)),
        }
        monitor.failed(kind);
        return Ok(Outcome::code(stop.exit_code()));
    }
    for line in t.report.error_lines() {
        crate::log::error(&line);
    }
    // stdout is written before the metrics and heartbeat, and a stdout that
    // fails (a full disk, a closed pipe) still lets them be written
    let printed = if ctx.json() || !(crate::log::quiet() && t.code == 0) {
        crate::output::try_emit(ctx.json(), &t.report, &t.human)
    } else {
        Ok(())
    };
    let code = match &printed {
        Err(e) if !crate::output::is_closed_pipe(e) => 1,
        _ => t.code,
    };
    if let Some((requests, errors, dispatches)) = t.report.ran() {
        let stats = crate::metrics::TickStats {
            kind,
            seconds: started.elapsed().as_secs_f64(),
            requests,
            errors,
            dispatches,
            ok: code == 0,
        };
        match &t.tick {
            Some(open) => {
                open.ended(code, errors);
                open.ran(&stats);
            }
            // a tick that ran without opening (watch with no state file yet)
            None => monitor.ran(None, &stats, crate::clock::now()),
        }
    }
    match printed {
        Err(e) if crate::output::is_closed_pipe(&e) => crate::output::die_of_sigpipe(),
        Err(e) => Err(anyhow::anyhow!(crate::output::stdout_error(&e))),
        Ok(()) => Ok(Outcome::code(code)),
    }
}

/// Open a tick of `kind` (`Session::open_tick`) and run `body` on it; a
/// tick that did not open (the stop file, another tick's lock, nothing to
/// work on) reports why, in the same shape for every kind.
pub fn open<'s, R: TickReport>(
    ctx: &'s Session,
    kind: TickKind,
    body: impl FnOnce(Box<Tick<'s>>) -> Result<Ended<'s, R>>,
) -> Result<Ended<'s, R>> {
    open_if(ctx, kind, &Event::cron(), body)
}

/// What an event's tick asks besides cron's (afk hook): `first`, on the
/// opened tick before its body, under the tick's lock and on its state
/// file (false ends the tick there with nothing done: afk hook records its
/// delivery so, and a redelivery's tick ends); `again`, when another tick
/// of its kind took the lock first, whether to try once more (afk hook
/// waits for it within `hook.wait_lock`, so its event is never lost to a
/// tick that took the lock a moment before it).
pub struct Event<'f> {
    pub first: &'f dyn Fn(&Tick) -> bool,
    pub again: &'f dyn Fn() -> bool,
}

impl Event<'static> {
    /// Cron's tick: it goes on once opened, and steps aside at once.
    pub fn cron() -> Self {
        Event {
            first: &|_| true,
            again: &|| false,
        }
    }
}

/// [`open`], with `event`'s first step and its try again.
pub fn open_if<'s, R: TickReport>(
    ctx: &'s Session,
    kind: TickKind,
    event: &Event,
    body: impl FnOnce(Box<Tick<'s>>) -> Result<Ended<'s, R>>,
) -> Result<Ended<'s, R>> {
    let tense = ctx.tense();
    let head = loop {
        break match ctx.open_tick(kind)? {
            crate::edges::Opening::Open(t) if (event.first)(&t) => return body(t),
            crate::edges::Opening::Open(_) => Head::on(kind, tense),
            crate::edges::Opening::Stopped(why) => Head::off(kind, tense, why),
            crate::edges::Opening::SteppedAside if (event.again)() => continue,
            crate::edges::Opening::SteppedAside => {
                stepping_aside(kind, crate::lock::holder(&ctx.paths().dir, kind.as_str()));
                Head::aside(kind, tense)
            }
            crate::edges::Opening::Empty => Head::on(kind, tense),
        };
    };
    let report = R::quiet(head);
    let human = report.quiet_human();
    Ok(Ended::quiet(report, human))
}

/// `where: what` for each error item.
impl ErrorLine for ErrorItem {
    /// `where: what`, or `what` for an error of the tick as a whole; its
    /// hints after it, `; ` between (in `--json` they are `hints`).
    fn line(&self) -> String {
        let line = match self.at() {
            at if at.is_empty() => self.message.clone(),
            at => format!("{at}: {}", self.message),
        };
        crate::hint::line_with_hints(&line, &self.hints)
    }
}

/// The line another tick's lock earns on stderr: who holds it, when the
/// lock's record names a live afk process (`lock::holder`).
pub fn stepping_aside(kind: TickKind, holder: Option<crate::lock::HolderNow>) {
    let line = match holder {
        Some(h) if h.command == "watch" && kind == TickKind::Poll => format!(
            "a watch tick (pid {}, {} ago) holds the poll lock: watch takes it for a moment to resolve claims a dead poll tick left; stepping aside",
            h.pid,
            crate::types::format_duration(std::time::Duration::from_secs(h.held_secs))
        ),
        Some(h) => format!(
            "another {kind} tick holds the lock (pid {}, `afk {}`, {} ago); stepping aside",
            h.pid,
            h.command,
            crate::types::format_duration(std::time::Duration::from_secs(h.held_secs))
        ),
        None => format!("another {kind} tick holds the lock; stepping aside"),
    };
    crate::log::info(&line);
}

/// The name of what an error kept from happening, in a report's JSON.
#[derive(Serialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorReason {
    /// poll could not read the tracker's ready issues: nothing of that
    /// tracker is dispatched this tick
    #[serde(rename = "tracker-unavailable")]
    TrackerUnavailable,
}

/// One failed part of a tick, as the report lists it. A configuration
/// mistake that failed every call (see `one_per_cause`) has no `repo`.
#[derive(Serialize, Clone, Debug)]
pub struct ErrorItem {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub repo: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issue: Option<IssueNumber>,
    pub message: String,
    /// what to do about it, apart from the message (`crate::hint`)
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub hints: Vec<String>,
    /// what it kept from happening, where a name says it
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<ErrorReason>,
    /// a forge or runner call that exhausted its retries: a `transient_retry` lesson
    #[serde(skip)]
    pub exhausted: Option<Box<Exhausted>>,
    /// a configuration mistake (`ForgeError::cause`): one error for the tick
    #[serde(skip)]
    pub cause: Option<Box<str>>,
}

impl ErrorItem {
    pub fn from_err(repo: &str, issue: Option<IssueNumber>, e: &anyhow::Error) -> ErrorItem {
        ErrorItem {
            repo: repo.to_string(),
            issue,
            // the whole chain: the innermost reason (the OS error, the
            // status) is what says what to do
            message: crate::command_error::error_line(e),
            hints: crate::command_error::hints_of(e),
            reason: None,
            // retries used up, after an answer or none; a configuration
            // mistake is another kind: no retry would have helped
            exhausted: ForgeError::exhausted_of(e).map(Box::new),
            cause: ForgeError::cause(e).map(String::into_boxed_str),
        }
    }
    pub fn msg(repo: &str, issue: Option<IssueNumber>, message: String) -> ErrorItem {
        ErrorItem {
            repo: repo.to_string(),
            issue,
            message,
            hints: vec![],
            reason: None,
            exhausted: None,
            cause: None,
        }
    }
    /// This error with `reason` as the name of what it kept from happening.
    pub fn reason(mut self, reason: ErrorReason) -> ErrorItem {
        self.reason = Some(reason);
        self
    }
    /// This error with `hint` as what to do about it.
    pub fn hint(mut self, hint: impl Into<String>) -> ErrorItem {
        self.hints.push(hint.into());
        self
    }
    /// This error with the hints of `e` (`crate::command_error::hints_of`), whose
    /// words it says in its own.
    pub fn hints_of(mut self, e: &anyhow::Error) -> ErrorItem {
        self.hints.extend(crate::command_error::hints_of(e));
        self
    }
    /// A claim whose stored repo is not `owner/name` (an edited state file): an
    /// error for that run (`what` names the step); the others go on.
    pub fn unreadable(bad: &crate::store::runs::Unreadable, what: &str) -> ErrorItem {
        ErrorItem::msg(
            &bad.repo,
            Some(bad.issue),
            format!("{what}run {}: state file: {}", bad.id, bad.error),
        )
    }
    /// `owner/repo#N`, `owner/repo`, or nothing for a tick-wide error.
    pub fn at(&self) -> String {
        match self.issue {
            Some(n) => format!("{}#{n}", self.repo),
            None => self.repo.clone(),
        }
    }
}

/// A configuration mistake fails every call of a tick the same way: one
/// error for the tick (without a repo), not one per repository or run.
pub fn one_per_cause(errors: Vec<ErrorItem>) -> Vec<ErrorItem> {
    crate::core::tick_errors::one_per_cause(errors, |e| e.cause.as_deref().map(str::to_string))
        .into_iter()
        .map(|(e, n)| match n {
            1 => e,
            // the first call's words (which request, which variable), said once
            _ => ErrorItem {
                repo: String::new(),
                issue: None,
                message: crate::core::tick_errors::merged_message(&e.message, n),
                hints: e.hints.clone(),
                reason: e.reason,
                exhausted: None,
                cause: e.cause.clone(),
            },
        })
        .collect()
}

/// Calls that used up their retries in a tick whose report keeps errors of
/// its own (harvest's by repo, upgrade's by recipe): `transient_retry`
/// lessons, one per repo and call, on the tick's journal edge, with the
/// call's own words (`ForgeError::exhausted`). Poll and watch record theirs
/// from their errors ([`record_transient`]), with the issue.
pub fn record_exhausted(
    journal: &crate::lessons::Journal,
    calls: impl IntoIterator<Item = Exhausted>,
    stage: TickKind,
) {
    let errors: Vec<ErrorItem> = calls
        .into_iter()
        .map(|x| ErrorItem {
            repo: x.repo.clone().unwrap_or_default(),
            issue: None,
            message: x.line.clone(),
            hints: vec![],
            reason: None,
            exhausted: Some(Box::new(x)),
            cause: None,
        })
        .collect();
    record_transient(journal, &errors, stage);
}

/// Calls that exhausted their retries become `transient_retry` lessons (the
/// journal deduplicates them and never changes the tick). They are advice for
/// the operator and never reach an agent's prompt.
pub fn record_transient(journal: &crate::lessons::Journal, errors: &[ErrorItem], stage: TickKind) {
    for e in errors.iter().filter(|e| e.exhausted.is_some()) {
        journal.auto(crate::store::lessons::NewLesson {
            lesson_type: crate::core::kinds::LessonKind::TransientRetry.into(),
            repo: Some(e.repo.clone()).filter(|r| !r.is_empty()),
            work_item: e.issue.map(|n| format!("{}#{n}", e.repo)),
            stage: Some(stage.as_str().into()),
            agent: Some("afk".into()),
            root_cause: Some("a forge or runner call failed after all retries".into()),
            suggestion: Some(
                "check the service's health and rate limits; raise forge.retries or forge.timeout if it is slow"
                    .into(),
            ),
            detail: Some(e.message.clone()),
            ..Default::default()
        });
    }
}

/// A finished tick in a form every caller can hold: the report as JSON, the
/// human text, the exit code (the demo and the benchmark collect these).
pub struct Done {
    pub report: serde_json::Value,
    pub human: String,
    pub code: u8,
}

#[cfg(test)]
mod hint_tests {
    use super::{ErrorItem, ErrorLine};

    #[test]
    fn a_repos_error_keeps_its_hints_apart_in_json_and_after_its_line() {
        let e = crate::hint::hinted(
            anyhow::anyhow!("no such label"),
            "run `afk init --create-labels`",
        );
        let item = ErrorItem::from_err("acme/api", None, &e);
        assert_eq!(item.message, "no such label");
        assert_eq!(
            item.line(),
            "acme/api: no such label; run `afk init --create-labels`"
        );
        let json = serde_json::to_value(&item).unwrap();
        assert_eq!(
            json["hints"],
            serde_json::json!(["run `afk init --create-labels`"])
        );
        let plain = ErrorItem::from_err("acme/api", None, &anyhow::anyhow!("down"));
        assert!(serde_json::to_value(&plain).unwrap().get("hints").is_none());
    }
}

#[cfg(test)]
mod tests {
    use super::Head;
    use crate::edges::Tense;
    use crate::types::TickKind;

    #[test]
    fn a_tick_ran_when_on_and_not_aside_and_a_switchless_one_when_not_stopped() {
        let switchless = |reason: Option<&str>, aside: bool| Head {
            tick: TickKind::Upgrade,
            reason: reason.map(String::from),
            stepped_aside: aside,
            ..Head::default()
        };
        let cases = [
            (Head::on(TickKind::Poll, Tense::Did), true),
            (Head::on(TickKind::Poll, Tense::Would), true),
            (
                Head::off(TickKind::Poll, Tense::Did, "poll.enabled = false".into()),
                false,
            ),
            (Head::aside(TickKind::Watch, Tense::Did), false),
            (switchless(None, false), true),
            (switchless(Some("stop file exists"), false), false),
            (
                switchless(Some("another upgrade tick holds the lock"), true),
                false,
            ),
        ];
        for (head, ran) in cases {
            assert_eq!(head.ran(), ran, "{head:?}");
        }
    }

    #[test]
    fn every_report_opens_with_the_same_keys_in_the_same_order() {
        let cases = [
            (
                Head::on(TickKind::Poll, Tense::Did),
                r#"{"tick":"poll","dry_run":false,"enabled":true}"#,
            ),
            (
                Head::off(TickKind::Watch, Tense::Would, "stop".into()),
                r#"{"tick":"watch","dry_run":true,"enabled":false,"reason":"stop"}"#,
            ),
            (
                Head::aside(TickKind::Harvest, Tense::Did),
                r#"{"tick":"harvest","dry_run":false,"enabled":true,"stepped_aside":true}"#,
            ),
            (
                Head {
                    tick: TickKind::Upgrade,
                    ..Head::default()
                },
                r#"{"tick":"upgrade","dry_run":false}"#,
            ),
        ];
        for (head, want) in cases {
            assert_eq!(serde_json::to_string(&head).unwrap(), want);
        }
    }
}

#[cfg(test)]
mod event_tests {
    use super::{Ended, ErrorItem, Event, Head, TickReport, open_if};
    use crate::types::TickKind;
    use std::cell::{Cell, RefCell};

    /// A tick's report of no tick in particular (the tick code names no
    /// operation).
    #[derive(serde::Serialize, Default)]
    struct Report {
        head: Head,
        errors: Vec<ErrorItem>,
        requests: usize,
    }
    super::tick_report!(Report);

    /// An event's tick that finds its kind's lock taken (by a tick that took
    /// it a moment after the event's wait saw it free) tries again while its
    /// `again` says so, and runs; cron's steps aside at once.
    #[test]
    fn an_events_tick_tries_the_lock_again_and_crons_steps_aside() {
        let root = std::env::temp_dir().join(format!("afk-tick-event-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(&root).unwrap();
        let config = crate::config::Config::parse("[poll]\nallowlist = [\"acme/api\"]\n", &root);
        let ctx = crate::session::Session::new(
            config.unwrap(),
            root.join("afk.toml"),
            Some(&root.join("state/afk.db")),
            false,
            false,
        );
        let dir = ctx.paths().dir.clone();
        let take = || crate::lock::try_acquire(&dir, "harvest").unwrap().unwrap();
        let ran = |_t| {
            let report = Report::quiet(Head::on(TickKind::Harvest, ctx.tense()));
            Ok(Ended::quiet(report, "ran".to_string()))
        };
        // cron's tick: the lock held, it steps aside without running
        let held = take();
        let cron = open_if(&ctx, TickKind::Harvest, &Event::cron(), ran).unwrap();
        assert!(cron.report.head().stepped_aside);
        assert_ne!(cron.human, "ran");
        // an event's: told to try again once the holder let go, it runs
        let holder = RefCell::new(Some(held));
        let tries = Cell::new(0);
        let again = || {
            tries.set(tries.get() + 1);
            holder.borrow_mut().take().is_some()
        };
        let event = Event {
            first: &|_| true,
            again: &again,
        };
        let ended = open_if(&ctx, TickKind::Harvest, &event, ran).unwrap();
        assert_eq!((ended.human.as_str(), tries.get()), ("ran", 1));
        // told not to (its bound passed): it steps aside
        let _held = take();
        let event = Event {
            first: &|_| true,
            again: &|| false,
        };
        let ended = open_if(&ctx, TickKind::Harvest, &event, ran).unwrap();
        assert!(ended.report.head().stepped_aside);
        let _ = std::fs::remove_dir_all(&root);
    }
}
