//! What a named agent said last, and the session it said it in
//! (docs/runners.md, named agents), read from the lines of its `agent.log`.
//! Pure: the lines come in (the adapter reads a bounded tail, `run_files`), the
//! text goes out bounded and sanitised, fit for `afk runs show` and a PR body.
//!
//! - `claude`: the `result` string of its last `{"type":"result",...}` record;
//!   its session is the `session_id` of an `assistant` or `user` record, or
//!   of a `result` that counts a turn (`num_turns` of 1 or more): Claude
//!   names its session in its `system` record before it has kept anything
//!   of it, and a session killed before its first answer arrived cannot be
//!   resumed ("No conversation found with session ID"; pinned with the real
//!   Claude Code in `tests/it/real_gateway.rs`), nor can the id its failed
//!   `--resume` reports;
//! - `codex`: the `text` of its last `item.completed` whose item is an
//!   `agent_message`; its session is the `thread_id` of `thread.started`;
//! - `custom`: none (afk cannot tell what its lines mean).
//!
//! Every line is the agent's own (it writes `agent.log`): a message is
//! outside text, and a session id reaches a command line only when
//! `agent::is_session_id` says it is one.

use crate::agent::is_session_id;
use crate::sanitize::sanitize;
use crate::types::AgentKind;

/// The most of a final message afk keeps, in bytes.
pub const MESSAGE_MAX: usize = 4096;

/// What a cut message ends with.
pub(crate) const CUT: &str = "… (cut)";

/// A line as JSON, when it is one object (a line of other text is none).
fn object(line: &[u8]) -> Option<serde_json::Value> {
    let line = line.trim_ascii();
    if !line.starts_with(b"{") {
        return None;
    }
    serde_json::from_slice::<serde_json::Value>(line)
        .ok()
        .filter(|v| v.is_object())
}

fn kind_of(v: &serde_json::Value) -> Option<&str> {
    v.get("type")?.as_str()
}

/// The message one line carries, for `agent`.
fn message_on(agent: AgentKind, v: &serde_json::Value) -> Option<String> {
    let text = match (agent, kind_of(v)?) {
        (AgentKind::Claude, "result") => v.get("result")?.as_str()?,
        (AgentKind::Codex, "item.completed") => {
            let item = v.get("item")?;
            if item.get("type")?.as_str()? != "agent_message" {
                return None;
            }
            item.get("text")?.as_str()?
        }
        _ => return None,
    };
    Some(text.to_string())
}

/// The session id one line carries, for `agent`.
fn session_on(agent: AgentKind, v: &serde_json::Value) -> Option<String> {
    let id = match (agent, kind_of(v)?) {
        (AgentKind::Claude, "assistant" | "user") => v.get("session_id")?.as_str()?,
        (AgentKind::Claude, "result") if v.get("num_turns")?.as_u64()? >= 1 => {
            v.get("session_id")?.as_str()?
        }
        (AgentKind::Codex, "thread.started") => v.get("thread_id")?.as_str()?,
        _ => return None,
    };
    is_session_id(id).then(|| id.to_string())
}

/// `text` sanitised (`sanitize`: no invisible characters, no HTML comments),
/// trimmed, and at most [`MESSAGE_MAX`] bytes, cut on a character boundary
/// with [`CUT`] saying so. None when nothing is left.
pub fn bounded(text: &str) -> Option<String> {
    let clean = sanitize(text);
    let clean = clean.trim();
    if clean.is_empty() {
        return None;
    }
    if clean.len() <= MESSAGE_MAX {
        return Some(clean.to_string());
    }
    let mut at = MESSAGE_MAX - CUT.len();
    while !clean.is_char_boundary(at) {
        at -= 1;
    }
    Some(format!("{}{CUT}", clean[..at].trim_end()))
}

/// The agent's final message among `lines` (the last one wins), bounded and
/// sanitised; None for `custom`, or when it said none.
pub fn final_message<'a>(
    agent: AgentKind,
    lines: impl IntoIterator<Item = &'a [u8]>,
) -> Option<String> {
    if agent == AgentKind::Custom {
        return None;
    }
    let last = lines
        .into_iter()
        .filter_map(object)
        .filter_map(|v| message_on(agent, &v))
        .last()?;
    bounded(&last)
}

/// The agent's own session among `lines` (the last one wins) that it has
/// kept something of: what a corrective turn resumes. Only an id
/// `is_session_id` accepts.
pub fn session_id<'a>(
    agent: AgentKind,
    lines: impl IntoIterator<Item = &'a [u8]>,
) -> Option<String> {
    if agent == AgentKind::Custom {
        return None;
    }
    lines
        .into_iter()
        .filter_map(object)
        .filter_map(|v| session_on(agent, &v))
        .last()
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "0f8fad5b-d9cb-469f-a165-70867728950e";

    fn lines(text: &str) -> Vec<&[u8]> {
        text.lines().map(str::as_bytes).collect()
    }

    #[test]
    fn the_final_message_is_the_last_one_the_named_agent_gave() {
        let claude = format!(
            "{{\"type\":\"system\",\"subtype\":\"init\",\"session_id\":\"{ID}\"}}\n\
             {{\"type\":\"assistant\",\"message\":{{\"content\":[]}}}}\n\
             {{\"type\":\"result\",\"subtype\":\"success\",\"result\":\"first\",\"total_cost_usd\":0.1}}\n\
             not json\n\
             {{\"type\":\"result\",\"subtype\":\"success\",\"result\":\"Fixed the bug.\\nTests pass.\",\"session_id\":\"{ID}\"}}\n"
        );
        let codex = "{\"type\":\"thread.started\",\"thread_id\":\"0199a213-81c0-7800-8aa1-bbab2a035a53\"}\n\
             {\"type\":\"item.completed\",\"item\":{\"id\":\"item_0\",\"type\":\"agent_message\",\"text\":\"Looking.\"}}\n\
             {\"type\":\"item.completed\",\"item\":{\"id\":\"item_1\",\"type\":\"command_execution\",\"command\":\"ls\",\"aggregated_output\":\"x\"}}\n\
             {\"type\":\"item.completed\",\"item\":{\"id\":\"item_2\",\"type\":\"agent_message\",\"text\":\"Done: added the test.\"}}\n\
             {\"type\":\"turn.completed\",\"usage\":{\"input_tokens\":1,\"cached_input_tokens\":0,\"output_tokens\":1}}\n";
        let cases = [
            (
                AgentKind::Claude,
                claude.as_str(),
                Some("Fixed the bug.\nTests pass."),
            ),
            (AgentKind::Codex, codex, Some("Done: added the test.")),
            (AgentKind::Custom, claude.as_str(), None),
            // another agent's lines say nothing
            (AgentKind::Codex, claude.as_str(), None),
            (AgentKind::Claude, codex, None),
            (
                AgentKind::Claude,
                "{\"type\":\"result\",\"result\":\"  \"}",
                None,
            ),
        ];
        for (agent, log, want) in cases {
            assert_eq!(final_message(agent, lines(log)).as_deref(), want, "{agent}");
        }
    }

    #[test]
    fn a_final_message_is_sanitised_and_cut_on_a_character_with_the_cut_said() {
        let hidden = "{\"type\":\"result\",\"result\":\"ok<!-- merge me -->\\u200b done\"}";
        assert_eq!(
            final_message(AgentKind::Claude, lines(hidden)).as_deref(),
            Some("ok done")
        );
        let long = format!(
            "{{\"type\":\"result\",\"result\":\"{}\"}}",
            "é".repeat(MESSAGE_MAX)
        );
        let got = final_message(AgentKind::Claude, lines(&long)).unwrap();
        assert!(got.len() <= MESSAGE_MAX, "{}", got.len());
        assert!(got.ends_with(CUT));
        assert!(got.trim_end_matches(CUT).chars().all(|c| c == 'é'));
    }

    #[test]
    fn the_session_resumed_is_one_the_agent_kept_and_only_an_id_that_is_one() {
        let codex_id = "0199a213-81c0-7800-8aa1-bbab2a035a53";
        let claude = format!(
            "{{\"type\":\"system\",\"subtype\":\"init\",\"session_id\":\"{ID}\"}}\n\
             {{\"type\":\"assistant\",\"message\":{{}},\"session_id\":\"{ID}\"}}\n\
             {{\"type\":\"result\",\"result\":\"x\"}}\n"
        );
        // killed before its first answer: Claude named a session it never kept
        let named_only =
            format!("{{\"type\":\"system\",\"subtype\":\"init\",\"session_id\":\"{ID}\"}}\n");
        // then `--resume` of it failed, reporting the same id with no turn
        let failed_resume = format!(
            "{named_only}{{\"type\":\"result\",\"subtype\":\"error_during_execution\",\"is_error\":true,\"num_turns\":0,\"session_id\":\"{ID}\"}}\n"
        );
        let codex = format!("{{\"type\":\"thread.started\",\"thread_id\":\"{codex_id}\"}}\n");
        let cases = [
            (AgentKind::Claude, claude.clone(), Some(ID)),
            (AgentKind::Claude, named_only, None),
            (AgentKind::Claude, failed_resume, None),
            // a turn Claude stopped itself kept its session
            (
                AgentKind::Claude,
                format!(
                    "{{\"type\":\"result\",\"subtype\":\"error_max_budget_usd\",\"num_turns\":2,\"session_id\":\"{ID}\"}}\n"
                ),
                Some(ID),
            ),
            (AgentKind::Codex, codex.clone(), Some(codex_id)),
            (AgentKind::Custom, claude.clone(), None),
            (AgentKind::Claude, codex, None),
            // the last session wins: a later turn's record
            (
                AgentKind::Claude,
                format!(
                    "{claude}{{\"type\":\"result\",\"num_turns\":1,\"session_id\":\"0f8fad5b-0000-0000-0000-000000000000\"}}\n"
                ),
                Some("0f8fad5b-0000-0000-0000-000000000000"),
            ),
            // an id that could be read as an option never comes out
            (
                AgentKind::Claude,
                "{\"type\":\"result\",\"num_turns\":1,\"session_id\":\"--dangerous\"}".to_string(),
                None,
            ),
            (
                AgentKind::Codex,
                "{\"type\":\"thread.started\",\"thread_id\":\"x; rm -rf /\"}".to_string(),
                None,
            ),
        ];
        for (agent, log, want) in cases {
            assert_eq!(session_id(agent, lines(&log)).as_deref(), want, "{log}");
        }
    }
}
