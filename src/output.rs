//! How a command's report reaches stdout: the JSON document or the human
//! text, a plain table, and a closed pipe ending quietly.

/// Print a report: the JSON document with `--json`, else the human text. A
/// stdout that cannot be written ends the command (see `stdout_failed`).
pub fn emit<T: serde::Serialize>(json: bool, report: &T, human: &str) {
    if let Err(e) = try_emit(json, report, human) {
        stdout_failed(e)
    }
}

/// Print a report, and say whether stdout took it (a full disk, a closed pipe).
pub fn try_emit<T: serde::Serialize>(json: bool, report: &T, human: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    if json {
        // one document per process: not after the deadline's; no secret in it
        let mut value = serde_json::to_value(report).unwrap_or_default();
        crate::redact::json(&mut value);
        let doc = serde_json::to_string_pretty(&value).unwrap_or_default();
        return crate::document::write_once(&mut out, &doc);
    }
    // agent and forge text is in it: nothing a terminal would act on, no secret
    let human = crate::redact::text(human);
    out.write_all(crate::core::sanitize::for_terminal(&human).as_bytes())?;
    out.flush()
}

/// One line to stdout apart from a report (the demo's words, upgrade
/// verdict's `VERDICT=`): redacted and cleaned for a terminal, as a
/// report's text is. The one way the binary prints a line (`layers/sinks.rs`).
pub fn line(text: &str) {
    self::text(&format!("{text}\n"))
}

/// Text to stdout as given, no newline added (a tick's human report the
/// demo shows): redacted and cleaned for a terminal.
pub fn text(text: &str) {
    use std::io::Write;
    let text = crate::redact::text(text);
    let mut out = std::io::stdout().lock();
    let wrote = out
        .write_all(crate::core::sanitize::for_terminal(&text).as_bytes())
        .and_then(|()| out.flush());
    if let Err(e) = wrote {
        stdout_failed(e)
    }
}

/// A JSON value to stdout on its own line (pretty or compact), every
/// string redacted (the demo's document, a usage error's).
pub fn json_line(value: &serde_json::Value, pretty: bool) {
    use std::io::Write;
    let mut value = value.clone();
    crate::redact::json(&mut value);
    let doc = if pretty {
        serde_json::to_string_pretty(&value)
    } else {
        serde_json::to_string(&value)
    }
    .unwrap_or_default();
    let mut out = std::io::stdout().lock();
    if let Err(e) = writeln!(out, "{doc}").and_then(|()| out.flush()) {
        stdout_failed(e)
    }
}

/// A closed pipe (`afk status | head -1`) is not an error: end quietly by
/// SIGPIPE, 141 in a shell, as cargo and coreutils do.
pub fn is_closed_pipe(e: &std::io::Error) -> bool {
    e.kind() == std::io::ErrorKind::BrokenPipe
}

/// Die of SIGPIPE (the default disposition restored first: afk ignores it
/// while it works, see main.rs).
pub fn die_of_sigpipe() -> ! {
    // SAFETY: restoring a default disposition and raising a signal are
    // async-signal-safe; nothing runs after the process ends.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        libc::raise(libc::SIGPIPE);
    }
    std::process::exit(141)
}

/// The error line of a stdout that cannot be written.
pub fn stdout_error(e: &std::io::Error) -> String {
    format!("cannot write the report to stdout: {e}")
}

/// stdout could not be written after the command did its work: a closed
/// pipe ends quietly by SIGPIPE; anything else (a full disk) is one error line
/// and exit 1.
pub fn stdout_failed(e: std::io::Error) -> ! {
    if is_closed_pipe(&e) {
        die_of_sigpipe()
    }
    crate::log::error(&stdout_error(&e));
    std::process::exit(1)
}

/// A plain text table: columns padded to their widest cell.
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut w: Vec<usize> = headers.iter().map(|h| h.len()).collect();
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            w[i] = w[i].max(c.chars().count());
        }
    }
    let line = |cells: Vec<String>| {
        cells
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{c:<width$}", width = w[i]))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_string()
            + "\n"
    };
    let mut s = line(headers.iter().map(|h| h.to_string()).collect());
    for r in rows {
        s.push_str(&line(r.clone()));
    }
    s
}

/// Write to stdout; a reader that went away early is not an error (exit 0).
pub fn print_bytes(bytes: &[u8]) -> anyhow::Result<crate::session::Outcome> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    // an agent's log as it wrote it, but for the secrets afk holds
    let text = String::from_utf8_lossy(bytes);
    let redacted = crate::redact::text(&text);
    let bytes: &[u8] = if redacted != text {
        redacted.as_bytes()
    } else {
        bytes
    };
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            anyhow::Context::context(Err(e), "cannot write to stdout")
        }
        _ => Ok(crate::session::Outcome::OK),
    }
}

/// `afk hook`'s answer (docs/hook.md#what-it-answers): the HTTP response to
/// stdout as given (redacted; its CRLFs kept), then the connection ended
/// before the tick starts: a socket is shut down, standard input becomes
/// /dev/null and standard output the log's (stderr), so nothing the tick
/// starts inherits the connection and its report goes to the log. A caller
/// that went away is no error: the event was verified, its tick runs.
pub fn answer_and_hang_up(response: &str) {
    use std::io::Write;
    let text = crate::redact::text(response);
    let mut out = std::io::stdout().lock();
    let wrote = out.write_all(text.as_bytes()).and_then(|()| out.flush());
    if let Err(e) = wrote {
        crate::log::debug(&format!("hook: the answer was not taken: {e}"));
    }
    drop(out);
    // SAFETY: plain descriptor calls on this process's own 0, 1 and 2; a
    // failure leaves a descriptor as it was.
    unsafe {
        libc::shutdown(1, libc::SHUT_RDWR);
        libc::shutdown(0, libc::SHUT_RDWR);
        let null = libc::open(c"/dev/null".as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC);
        if null >= 0 {
            libc::dup2(null, 0);
            libc::close(null);
        }
        libc::dup2(2, 1);
    }
}
