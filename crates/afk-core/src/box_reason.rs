//! Why afk's box ended a turn (docs/runners.md#the-model-gateway-runnermodel),
//! read back from the run's `agent.log`. The keeper and the model gateway
//! say it there in one line as they end the turn, `afk box: the turn ends:
//! …` (a key the model refused, a budget reached, a record the gateway
//! cannot write, a box that cannot be made), after the line the keeper
//! begins each turn with, `afk box: turn N starts`. The agent's own output
//! says nothing of it (Claude Code's start-up records, then the kill: exit
//! 137), so the turn's escalation and `afk runs show` lead with this line,
//! before the exit status and before any of the agent's output.

/// How the keeper's and the gateway's own lines in a boxed turn's log
/// begin: afk's words, never the agent's (`runner/agent_box/said.rs`).
pub const AFK_BOX: &str = "afk box:";

/// What follows `afk box: ` on the line that ends a turn.
pub(crate) const ENDS: &str = "the turn ends:";

/// How people are told it, before the reason (an escalation, `afk runs show`).
pub const LEAD: &str = "afk's box ended the agent's last turn";

/// The most characters of a reason kept (`…` ends one that was cut).
pub(crate) const REASON_MAX: usize = 500;

/// How much of the log's end is read for it: the box's line is among the
/// last of its turn (the box is ended right after it).
pub const TAIL_BYTES: u64 = 64 << 10;

/// What the keeper or the gateway says (after `afk box: `) as it ends a
/// turn for `why`; a leading `afk: ` (a budget refusal's line, which is also
/// the agent's 429) is not said twice.
pub fn ends(why: &str) -> String {
    let why = why.trim();
    format!("{ENDS} {}", why.strip_prefix("afk: ").unwrap_or(why))
}

/// What the keeper says (after `afk box: `) as turn `turn` begins: a reason
/// before it belongs to an earlier turn.
pub fn starts(turn: u32) -> String {
    format!("turn {turn} starts")
}

/// The words after `afk box:` when `line` is one of the box's own lines
/// (at the line's start: an agent's record quoting one is not).
fn said(line: &str) -> Option<&str> {
    line.trim_start().strip_prefix(AFK_BOX).map(str::trim)
}

fn is_start(words: &str) -> bool {
    words
        .strip_prefix("turn ")
        .and_then(|r| r.strip_suffix(" starts"))
        .is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
}

/// Why afk's box ended the log's last turn: the reason of the last `afk box:
/// the turn ends:` line with no `afk box: turn N starts` after it, on one
/// line (controls, invisible characters and comments gone, every run of
/// space one space), at most [`REASON_MAX`] characters. None when the box
/// did not end the last turn (or said no reason). `log` is the end of the
/// log ([`TAIL_BYTES`]), redacted as everything afk shows of it.
pub fn of_log(log: &str) -> Option<String> {
    for line in log.lines().rev() {
        let Some(words) = said(line) else {
            continue;
        };
        if is_start(words) {
            return None;
        }
        let Some(why) = words.strip_prefix(ENDS) else {
            continue;
        };
        let why = crate::sanitize::one_line(why, REASON_MAX);
        if !why.is_empty() {
            return Some(why);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "afk box: the turn ends: the model refused afk's key ($ANTHROPIC_API_KEY, runner.model.key_env): its upstream https://api.anthropic.com answered 401 (check the key, then re-arm the issue)";
    const KEY_SAID: &str = "the model refused afk's key ($ANTHROPIC_API_KEY, runner.model.key_env): its upstream https://api.anthropic.com answered 401 (check the key, then re-arm the issue)";
    const INIT: &str =
        r#"{"type":"system","subtype":"init","session_id":"s-1","tools":["Bash","Edit"]}"#;
    const SUMMARY: &str =
        "afk box: the model gateway passed 1 requests ($0.00 metered this turn), refused 0";

    #[test]
    fn the_box_s_reason_is_its_last_turn_ends_line_after_the_last_turn_start() {
        let start = |n: u32| format!("afk box: {}", starts(n));
        let start_up = [INIT; 40].join("\n");
        let cases: Vec<(&str, String, Option<&str>)> = vec![
            (
                "the key refused among Claude Code's start-up records, the gateway's summary after",
                format!("{}\n{start_up}\n{KEY}\n{INIT}\n{SUMMARY}\n", start(1)),
                Some(KEY_SAID),
            ),
            (
                "a log from before the turn-start line: the last reason line",
                format!("{start_up}\n{KEY}\n"),
                Some(KEY_SAID),
            ),
            (
                "the last of two reasons wins",
                format!("{}\nafk box: the turn ends: first\n{KEY}\n", start(1)),
                Some(KEY_SAID),
            ),
            (
                "a reason of an earlier turn is not the last turn's",
                format!("{}\n{KEY}\n{}\n{INIT}\nexit 3\n", start(1), start(2)),
                None,
            ),
            (
                "the box said other things, none of them the turn's end",
                format!(
                    "{}\n{INIT}\n{SUMMARY}\nafk box: refused a connection to 10.0.0.1:22\n",
                    start(1)
                ),
                None,
            ),
            ("nothing at all", String::new(), None),
            (
                "an agent's record quoting the line is not the box's",
                format!(
                    "{}\n{{\"type\":\"user\",\"text\":\"{KEY}\"}}\n  echo {KEY}\n",
                    start(1)
                ),
                None,
            ),
            (
                "a line with space before it still counts",
                format!("{}\n  {KEY}\n", start(1)),
                Some(KEY_SAID),
            ),
            (
                "an empty reason says nothing: the one before it is read",
                format!("{}\n{KEY}\nafk box: the turn ends:   \n", start(1)),
                Some(KEY_SAID),
            ),
            (
                "a start line must name a turn's number to count",
                format!("{KEY}\nafk box: turn x starts\n"),
                Some(KEY_SAID),
            ),
            (
                "CRLF line ends",
                format!("{}\r\n{KEY}\r\n{SUMMARY}\r\n", start(1)),
                Some(KEY_SAID),
            ),
        ];
        for (rule, log, want) in cases {
            assert_eq!(of_log(&log).as_deref(), want, "{rule}");
        }
    }

    #[test]
    fn the_box_s_reason_is_one_bounded_clean_line() {
        let hostile = format!(
            "afk box: the turn ends: cannot make the box:\tx\u{1b}[2J y\u{200b}z <!-- hidden --> {}",
            "w".repeat(2 * REASON_MAX)
        );
        let got = of_log(&hostile).unwrap();
        assert!(got.starts_with("cannot make the box: x[2J yz "), "{got}");
        assert!(!got.contains('\u{1b}') && !got.contains("hidden"), "{got}");
        assert!(!got.contains('\n') && !got.contains('\t'), "{got}");
        assert_eq!(got.chars().count(), REASON_MAX, "{got}");
        assert!(got.ends_with('…'), "{got}");
    }

    #[test]
    fn the_line_the_box_writes_is_the_line_it_reads_back() {
        let cases = [
            (
                "the model refused afk's key: answered 401",
                "the turn ends: the model refused afk's key: answered 401",
            ),
            // a budget refusal's own line begins `afk: `: not said twice
            (
                "afk: the run's budget.run_usd $0.0050 reached; no further model request passes, the turn stops",
                "the turn ends: the run's budget.run_usd $0.0050 reached; no further model request passes, the turn stops",
            ),
            (
                "  cannot make the box: x  ",
                "the turn ends: cannot make the box: x",
            ),
        ];
        for (why, want) in cases {
            let line = ends(why);
            assert_eq!(line, want, "{why}");
            let log = format!("{AFK_BOX} {}\n{AFK_BOX} {line}\n", starts(4));
            assert_eq!(
                of_log(&log).as_deref(),
                want.strip_prefix("the turn ends: "),
                "{why}"
            );
        }
        assert_eq!(starts(12), "turn 12 starts");
        assert!(is_start(&starts(12)));
    }
}
