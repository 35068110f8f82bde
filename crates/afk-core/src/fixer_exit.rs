//! What afk shows of an upgrade fixer that ended (issue #31, "nothing fails
//! silently"): its exit status in words, the last lines of its log (bounded,
//! each an `excerpt`: controls escaped, at most `LINE_CHARS`), fenced for the
//! PR comment, and whether its end is an error of the tick that saw it.

use super::sanitize::{excerpt, fence_for};

/// How many of the log's last lines are shown.
pub(crate) const LOG_LINES: usize = 20;
/// The most of one log line shown (the rest is counted).
pub(crate) const LINE_CHARS: usize = 200;
/// The most of the log's end afk reads for them.
pub const READ_BYTES: u64 = 64 * 1024;

/// The exit status in words: `exited 0`, `exited 127 (its command was not
/// found: check runner.command)`, `was killed by signal 9`, `ended without an
/// exit status` (its process vanished).
pub fn exit_text(exit: Option<i32>) -> String {
    match exit {
        None => "ended without an exit status".into(),
        Some(126) => "exited 126 (its command could not be executed: check runner.command)".into(),
        Some(127) => "exited 127 (its command was not found: check runner.command)".into(),
        Some(c) if c > 128 && c < 160 => format!("exited {c} (killed by signal {})", c - 128),
        Some(c) => format!("exited {c}"),
    }
}

/// A fixer run's state in `afk runs`: `exited` (its exit status was
/// written), `running` (none yet, and it is its flow's current fixer while
/// the flow is open), else `ended` (gone without a status, or a fixer the
/// flow has moved past).
pub fn state(exit: Option<i32>, current_and_open: bool) -> &'static str {
    match (exit, current_and_open) {
        (Some(_), _) => "exited",
        (None, true) => "running",
        (None, false) => "ended",
    }
}

/// What a fixer's row says of its upgrade PR's flow: the final outcome
/// (`FAILED`, …) once there is one, else `closed` when afk closed the PR,
/// else the step it is at; None before its first step.
pub fn flow(outcome: Option<&str>, closed: bool, step: Option<&str>) -> Option<String> {
    outcome
        .or(closed.then_some("closed"))
        .or(step)
        .map(str::to_string)
}

/// A fixer run's kind in `afk runs`: the recipe's `fixer`, or the
/// `tests_fixer` of `--with-tests` (in the tests repository).
pub fn kind(tests: bool) -> &'static str {
    if tests { "tests_fixer" } else { "fixer" }
}

/// A fixer that ended this way failed (an error of the tick that sees its
/// end, so the tick exits 1): any exit but 0, or none at all.
pub fn failed(exit: Option<i32>) -> bool {
    exit != Some(0)
}

/// The last `LOG_LINES` lines of the log's tail `bytes` (`whole`: the tail is
/// the whole file; otherwise its first, partial line is dropped), each cut to
/// `LINE_CHARS` with its controls escaped; blank lines are kept out.
pub fn log_tail(bytes: &[u8], whole: bool) -> Vec<String> {
    let text = String::from_utf8_lossy(bytes);
    let mut lines: Vec<&str> = text.split('\n').collect();
    if !whole && lines.len() > 1 {
        lines.remove(0);
    }
    let kept: Vec<String> = lines
        .iter()
        .map(|l| excerpt(l, LINE_CHARS))
        .filter(|l| !l.is_empty())
        .collect();
    let skip = kept.len().saturating_sub(LOG_LINES);
    kept[skip..].to_vec()
}

/// The PR comment's section: the exit status and the log's last lines in a
/// fence they cannot close (Markdown, mentions and links stay inert there).
pub fn section(exit: Option<i32>, log: &[String]) -> String {
    let mut s = format!("The fixer {}.", exit_text(exit));
    if log.is_empty() {
        s.push_str(" Its log (`agent.log`) is empty.\n");
        return s;
    }
    let text = log.join("\n");
    let fence = fence_for(&text);
    s.push_str(&format!(
        " The last {} of its log (`agent.log`):\n\n{fence}text\n{text}\n{fence}\n",
        super::plural(log.len(), "line", "lines")
    ));
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fixers_exit_is_said_in_words_and_fails_unless_zero() {
        let table = [
            ("a clean exit", Some(0), "exited 0", false),
            (
                "not found",
                Some(127),
                "exited 127 (its command was not found: check runner.command)",
                true,
            ),
            (
                "not executable",
                Some(126),
                "exited 126 (its command could not be executed: check runner.command)",
                true,
            ),
            (
                "a signal",
                Some(137),
                "exited 137 (killed by signal 9)",
                true,
            ),
            ("an agent's own failure", Some(1), "exited 1", true),
            ("vanished", None, "ended without an exit status", true),
        ];
        for (rule, exit, words, fails) in table {
            assert_eq!(exit_text(exit), words, "{rule}");
            assert_eq!(failed(exit), fails, "{rule}");
        }
    }

    #[test]
    fn a_fixers_flow_is_its_outcome_else_closed_else_its_step() {
        let table = [
            (
                "an outcome wins",
                Some("FAILED"),
                true,
                Some("testing"),
                Some("FAILED"),
            ),
            (
                "closed without an outcome",
                None,
                true,
                Some("testing"),
                Some("closed"),
            ),
            (
                "open: the step it is at",
                None,
                false,
                Some("testing"),
                Some("testing"),
            ),
            ("nothing yet", None, false, None, None),
        ];
        for (rule, outcome, closed, step, want) in table {
            assert_eq!(flow(outcome, closed, step).as_deref(), want, "{rule}");
        }
        assert_eq!((kind(false), kind(true)), ("fixer", "tests_fixer"));
    }

    #[test]
    fn a_fixer_run_is_exited_running_or_ended() {
        let table = [
            ("a written status", Some(127), true, "exited"),
            ("a written status, flow moved on", Some(0), false, "exited"),
            ("the open flow's current fixer", None, true, "running"),
            ("no status and not current", None, false, "ended"),
        ];
        for (rule, exit, current, want) in table {
            assert_eq!(state(exit, current), want, "{rule}");
        }
    }

    #[test]
    fn a_fixers_log_tail_is_bounded_escaped_and_fenced() {
        let many: String = (1..=30).map(|i| format!("line {i}\n")).collect();
        let table: [(&str, &[u8], bool, Vec<String>); 4] = [
            (
                "the last twenty lines",
                many.as_bytes(),
                true,
                (11..=30).map(|i| format!("line {i}")).collect(),
            ),
            (
                "a partial first line of a cut tail is dropped",
                b"tail of a line\nwhole\n",
                false,
                vec!["whole".into()],
            ),
            (
                "controls escaped, blank lines out",
                b"\x1b[31mred\n\n  \nok\r\n",
                true,
                vec!["\\x1b[31mred".into(), "ok".into()],
            ),
            ("an empty log", b"", true, vec![]),
        ];
        for (rule, bytes, whole, want) in table {
            assert_eq!(log_tail(bytes, whole), want, "{rule}");
        }
        let long = "x".repeat(5000);
        let cut = log_tail(long.as_bytes(), true);
        assert!(cut[0].chars().count() < LINE_CHARS + 40, "{}", cut[0]);
        assert!(cut[0].ends_with("(4,800 more characters)"), "{}", cut[0]);
        let s = section(
            Some(127),
            &["```".into(), "@team sh: claude: not found".into()],
        );
        assert!(
            s.starts_with("The fixer exited 127 (its command was not found"),
            "{s}"
        );
        assert!(
            s.contains("\n````text\n```\n@team sh: claude: not found\n````\n"),
            "{s}"
        );
        assert!(section(Some(0), &[]).contains("is empty"));
    }
}
