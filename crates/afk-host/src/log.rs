//! Logging to stderr only; stdout carries the report. One line per message,
//! whatever `--json` says, so a failing tick is never silent.
//!
//! Levels, moved by `-v` / `-q`:
//! - `error`: always shown;
//! - `warn`: problems that do not fail the tick; hidden only by `-qq`;
//! - `info`: what the tick is doing; hidden by `-q` (cron mails nothing);
//! - `debug` (`-v`): each request ([`request`]) and each decision ([`decision`]);
//! - `trace` (`-vv`): more (request queries, retries' details).
//!
//! Formats: on a terminal `afk: msg` (`afk: warning: msg`); when stderr is not a
//! terminal (journald, cron mail, a file) every line starts with a UTC
//! timestamp and the level; `AFK_LOG=json` writes one JSON object per line
//! (`ts`, `level`, `msg`, and the fields of a request); `AFK_LOG=plain` never
//! stamps; `AFK_LOG=journal` writes `<3>afk: msg`, the syslog level prefix
//! journald files each line under, without a timestamp (journald adds its own).

use std::io::Write;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicI8, Ordering};
use std::time::Duration;

static LEVEL: AtomicI8 = AtomicI8::new(0);
static FORMAT: OnceLock<Format> = OnceLock::new();

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    /// `afk: msg`, for people at a terminal
    Plain,
    /// `2026-01-02T03:04:05.678Z ERROR afk: msg`, for journald, cron mail, files
    Stamped,
    /// `{"ts":…,"level":…,"msg":…}`
    Json,
    /// `<3>afk: msg`: the syslog level prefix journald reads
    /// (`SyslogLevelPrefix=`, on by default), no timestamp (journald stamps)
    Journal,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Level {
    Error,
    Warn,
    Info,
    Debug,
    Trace,
}

impl Level {
    /// The verbosity (`-v` count minus `-q` count) from which it is shown.
    fn shown_from(self) -> i8 {
        match self {
            Level::Error => i8::MIN,
            Level::Warn => -1,
            Level::Info => 0,
            Level::Debug => 1,
            Level::Trace => 2,
        }
    }
    /// The syslog priority journald files the line under.
    fn syslog(self) -> u8 {
        match self {
            Level::Error => 3,
            Level::Warn => 4,
            Level::Info => 6,
            Level::Debug | Level::Trace => 7,
        }
    }
    fn name(self) -> &'static str {
        match self {
            Level::Error => "error",
            Level::Warn => "warn",
            Level::Info => "info",
            Level::Debug => "debug",
            Level::Trace => "trace",
        }
    }
}

/// `AFK_LOG` and whether stderr is a terminal decide the format.
fn format_for(afk_log: Option<&str>, stderr_is_terminal: bool) -> Format {
    match afk_log.map(str::trim) {
        Some(v) if v.eq_ignore_ascii_case("json") => Format::Json,
        Some(v) if v.eq_ignore_ascii_case("plain") => Format::Plain,
        Some(v) if v.eq_ignore_ascii_case("journal") => Format::Journal,
        _ if stderr_is_terminal => Format::Plain,
        _ => Format::Stamped,
    }
}

/// The values `AFK_LOG` may take.
pub const AFK_LOG_VALUES: &[&str] = &["json", "plain", "journal"];

/// An `AFK_LOG` afk does not know is a usage error, never a silent default.
pub fn check() -> Result<(), afk_model::Invalid> {
    match std::env::var("AFK_LOG") {
        Ok(v)
            if !v.trim().is_empty()
                && !AFK_LOG_VALUES
                    .iter()
                    .any(|k| v.trim().eq_ignore_ascii_case(k)) =>
        {
            Err(afk_model::Invalid(format!(
                "AFK_LOG is \"{}\", which is not one of {} (or unset: stamped lines when stderr is not a terminal)",
                v.escape_debug(),
                AFK_LOG_VALUES.join(", ")
            )))
        }
        _ => Ok(()),
    }
}

fn format() -> Format {
    *FORMAT.get_or_init(|| {
        // SAFETY: isatty only inspects the descriptor.
        let tty = unsafe { libc::isatty(2) } == 1;
        format_for(std::env::var("AFK_LOG").ok().as_deref(), tty)
    })
}

pub fn set_level(verbose: u8, quiet: u8) {
    let v = (verbose.min(100) as i8) - (quiet.min(100) as i8);
    LEVEL.store(v, Ordering::Relaxed);
}

fn level() -> i8 {
    LEVEL.load(Ordering::Relaxed)
}

/// `-q` was given: a tick that succeeded prints no human summary (cron mails
/// nothing); a `--json` document is still printed, errors still go to stderr.
pub fn quiet() -> bool {
    level() < 0
}

fn enabled(l: Level) -> bool {
    level() >= l.shown_from()
}

fn timestamp() -> String {
    let f = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    );
    time::OffsetDateTime::now_utc()
        .format(&f)
        .unwrap_or_default()
}

/// The line for `msg` at `l`, without the newline. `fields` go into JSON lines only.
fn line(
    format: Format,
    ts: &str,
    l: Level,
    msg: &str,
    fields: &[(&str, serde_json::Value)],
) -> String {
    let msg = crate::redact::text(msg).replace(['\n', '\r'], " ");
    let msg = afk_wire::sanitize::for_terminal(&msg);
    match format {
        Format::Plain => match l {
            Level::Warn => format!("afk: warning: {msg}"),
            _ => format!("afk: {msg}"),
        },
        Format::Stamped => format!("{ts} {:<5} afk: {msg}", l.name().to_uppercase()),
        Format::Journal => format!("<{}>afk: {msg}", l.syslog()),
        Format::Json => {
            let mut o = serde_json::Map::new();
            o.insert("ts".into(), ts.into());
            o.insert("level".into(), l.name().into());
            o.insert("msg".into(), msg.into_owned().into());
            for (k, v) in fields {
                o.insert(k.to_string(), v.clone());
            }
            serde_json::Value::Object(o).to_string()
        }
    }
}

fn write(l: Level, msg: &str, fields: &[(&str, serde_json::Value)]) {
    if !enabled(l) {
        return;
    }
    let f = format();
    let ts = if matches!(f, Format::Plain | Format::Journal) {
        String::new()
    } else {
        timestamp()
    };
    let mut text = line(f, &ts, l, msg, fields);
    text.push('\n');
    // one write per line so lines of parallel requests never interleave; a
    // closed stderr is no reason to fail (eprintln! would panic)
    let _ = std::io::stderr().lock().write_all(text.as_bytes());
}

/// What failed: always shown, also with `--json` and `-qq`.
pub fn error(msg: &str) {
    write(Level::Error, msg, &[]);
}

/// Problems that do not fail the tick. Hidden by `-qq`.
pub fn warn(msg: &str) {
    write(Level::Warn, msg, &[]);
}

/// What the tick is doing. Hidden by `-q`.
pub fn info(msg: &str) {
    write(Level::Info, msg, &[]);
}

/// Details for `-v`.
pub fn debug(msg: &str) {
    write(Level::Debug, msg, &[]);
}

/// More details for `-vv`.
pub fn trace(msg: &str) {
    write(Level::Trace, msg, &[]);
}

/// One decision a tick made (`-v`), e.g. `acme/api#7: skipped: untrusted`.
pub fn decision(msg: &str) {
    write(Level::Debug, msg, &[("kind", "decision".into())]);
}

/// One HTTP request (`-v`): method, path, status (None: no answer, e.g. a
/// connect error or a time-out) and how long it took. The query string is
/// shown from `-vv` on. The HTTP layer calls it once per attempt.
pub fn request(method: &str, path: &str, status: Option<u16>, elapsed: Duration) {
    if !enabled(Level::Debug) {
        return;
    }
    let shown = if enabled(Level::Trace) {
        path
    } else {
        path.split('?').next().unwrap_or(path)
    };
    let ms = elapsed.as_millis() as u64;
    let st = status.map_or("-".to_string(), |s| s.to_string());
    write(
        Level::Debug,
        &format!("{method} {shown} {st} {ms}ms"),
        &[
            ("kind", "request".into()),
            ("method", method.into()),
            ("path", shown.into()),
            ("status", status.into()),
            ("ms", ms.into()),
        ],
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_format_follows_afk_log_then_the_terminal() {
        let cases = [
            ((None, true), Format::Plain),
            ((None, false), Format::Stamped),
            ((Some(""), false), Format::Stamped),
            ((Some("json"), true), Format::Json),
            ((Some("JSON"), false), Format::Json),
            ((Some("plain"), false), Format::Plain),
            ((Some("journal"), true), Format::Journal),
            ((Some("something"), true), Format::Plain),
        ];
        for ((env, tty), want) in cases {
            assert_eq!(format_for(env, tty), want, "AFK_LOG={env:?} tty={tty}");
        }
    }

    #[test]
    fn every_line_is_one_line_with_its_level() {
        let ts = "2026-01-02T03:04:05.678Z";
        let cases = [
            (
                Format::Plain,
                Level::Error,
                "lessons: no lesson",
                "afk: lessons: no lesson",
            ),
            (
                Format::Plain,
                Level::Warn,
                "notify: down",
                "afk: warning: notify: down",
            ),
            (
                Format::Stamped,
                Level::Error,
                "forge: GET /user returned 401",
                "2026-01-02T03:04:05.678Z ERROR afk: forge: GET /user returned 401",
            ),
            (
                Format::Stamped,
                Level::Info,
                "two\nlines",
                "2026-01-02T03:04:05.678Z INFO  afk: two lines",
            ),
            (Format::Journal, Level::Error, "x", "<3>afk: x"),
            (Format::Journal, Level::Warn, "x", "<4>afk: x"),
            (Format::Journal, Level::Info, "x", "<6>afk: x"),
            (Format::Journal, Level::Debug, "x", "<7>afk: x"),
        ];
        for (f, l, msg, want) in cases {
            assert_eq!(line(f, ts, l, msg, &[]), want, "{f:?} {l:?}");
        }
    }

    #[test]
    fn json_lines_carry_the_request_fields() {
        let l = line(
            Format::Json,
            "T",
            Level::Debug,
            "GET /user 200 5ms",
            &[("method", "GET".into()), ("status", Some(200u16).into())],
        );
        let v: serde_json::Value = serde_json::from_str(&l).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"ts": "T", "level": "debug", "msg": "GET /user 200 5ms",
                               "method": "GET", "status": 200})
        );
    }

    #[test]
    fn quiet_hides_info_and_never_errors() {
        let cases = [
            // (verbose, quiet, error, warn, info, debug, trace)
            ((0, 0), [true, true, true, false, false]),
            ((0, 1), [true, true, false, false, false]),
            ((0, 2), [true, false, false, false, false]),
            ((1, 0), [true, true, true, true, false]),
            ((2, 0), [true, true, true, true, true]),
        ];
        let levels = [
            Level::Error,
            Level::Warn,
            Level::Info,
            Level::Debug,
            Level::Trace,
        ];
        for ((v, q), want) in cases {
            let lvl = v as i8 - q as i8;
            let got: Vec<bool> = levels.iter().map(|l| lvl >= l.shown_from()).collect();
            assert_eq!(got, want, "-v x{v} -q x{q}");
        }
    }
}
