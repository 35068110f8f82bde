//! The lines afk prints apart from its reports and its log: the box's
//! keeper's and init's own messages on stderr, doctor's box probe's answers
//! on stdout. Each passes the redaction (nothing afk writes carries a
//! secret) and is cleaned for a terminal; a closed stream is no reason to
//! fail. The binary's own stdout lines go through its `output.rs`.

use std::io::Write;

/// `line` as it will be written: without a secret afk holds, nothing a
/// terminal would act on, one newline at its end.
pub fn shown(line: &str) -> String {
    let redacted = crate::redact::text(line);
    let mut s = afk_wire::sanitize::for_terminal(&redacted).into_owned();
    s.push('\n');
    s
}

/// One line to stdout.
pub fn out(line: &str) {
    let mut o = std::io::stdout().lock();
    let _ = o.write_all(shown(line).as_bytes()).and_then(|()| o.flush());
}

/// One line to stderr, in one write.
pub fn err(line: &str) {
    let _ = std::io::stderr().lock().write_all(shown(line).as_bytes());
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_line_said_carries_no_secret_and_no_escape() {
        let _s = crate::redact::Secret::new("box-said-secret-2718281828");
        assert_eq!(
            super::shown("afk box: cannot start box-said-secret-2718281828\x1b[2J"),
            "afk box: cannot start [redacted]\\x1b[2J\n"
        );
    }
}
