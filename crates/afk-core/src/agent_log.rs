//! `afk runs show N --log` for people: Claude Code's `stream-json` and
//! Codex's `exec --json` lines, each event as one line (a tool call, its
//! result, the assistant's words), and the end of a Claude turn as one
//! sentence; `--raw` prints the lines as the program wrote them. Pure: a
//! line in, a line (or nothing) out; every string from the log is the
//! agent's, so each is one sanitised, bounded line.

use crate::sanitize::one_line_cut;
use crate::types::AgentKind;
use serde_json::Value;

/// The most of one rendered event's text.
pub(crate) const LINE_MAX: usize = 200;

/// One line of `agent.log` as a person reads it: None for an event with
/// nothing to say (a stream delta, a rate-limit note). A line that is not
/// JSON is the program's own text, shown as it is (one line, bounded).
pub fn render(agent: AgentKind, line: &str) -> Option<String> {
    let t = line.trim();
    if t.is_empty() {
        return None;
    }
    let Ok(v) = serde_json::from_str::<Value>(t) else {
        return Some(one_line_cut(t, LINE_MAX));
    };
    if !v.is_object() {
        return Some(one_line_cut(t, LINE_MAX));
    }
    match agent {
        AgentKind::Claude => claude(&v),
        AgentKind::Codex => codex(&v),
        AgentKind::Custom => Some(one_line_cut(t, LINE_MAX)),
    }
}

fn text(v: &Value) -> String {
    one_line_cut(v.as_str().unwrap_or(""), LINE_MAX)
}

/// A tool result's text: a string, or the text blocks of a list.
fn result_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(a) => a
            .iter()
            .filter_map(|b| b["text"].as_str())
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::new(),
    }
}

/// `first line … (N lines)` of a tool's output.
fn output(s: &str) -> String {
    let lines = s.lines().filter(|l| !l.trim().is_empty()).count();
    let first = s.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    match lines {
        0 => "(no output)".into(),
        1 => one_line_cut(first, LINE_MAX),
        n => format!("{} (+{} more lines)", one_line_cut(first, LINE_MAX), n - 1),
    }
}

fn claude(v: &Value) -> Option<String> {
    match v["type"].as_str()? {
        "system" if v["subtype"] == "init" => Some(format!(
            "session {} started (model {})",
            text(&v["session_id"]),
            text(&v["model"])
        )),
        "assistant" => {
            let lines: Vec<String> = v["message"]["content"]
                .as_array()?
                .iter()
                .filter_map(|b| match b["type"].as_str()? {
                    "text" => Some(format!("says: {}", text(&b["text"]))),
                    "tool_use" => {
                        let input = &b["input"];
                        let what = input["command"]
                            .as_str()
                            .or_else(|| input["file_path"].as_str())
                            .or_else(|| input["pattern"].as_str())
                            .map(|s| one_line_cut(s, LINE_MAX))
                            .unwrap_or_default();
                        Some(format!("tool {}: {what}", text(&b["name"])))
                    }
                    _ => None,
                })
                .collect();
            (!lines.is_empty()).then(|| lines.join("\n"))
        }
        "user" => {
            let lines: Vec<String> = v["message"]["content"]
                .as_array()?
                .iter()
                .filter(|b| b["type"] == "tool_result")
                .map(|b| {
                    let err = if b["is_error"] == true {
                        " (error)"
                    } else {
                        ""
                    };
                    format!("result{err}: {}", output(&result_text(&b["content"])))
                })
                .collect();
            (!lines.is_empty()).then(|| lines.join("\n"))
        }
        "result" => Some(claude_end(v)),
        _ => None,
    }
}

/// The end of a Claude turn in one sentence: how it ended, its turns, its
/// time, its spend, and its final words.
fn claude_end(v: &Value) -> String {
    let how = match (v["subtype"].as_str(), v["is_error"] == true) {
        (Some("success"), false) => "finished".to_string(),
        (Some(s), _) => format!("stopped ({})", one_line_cut(s, 60)),
        (None, _) => "stopped".to_string(),
    };
    let mut s = format!("Claude {how}");
    if let Some(n) = v["num_turns"].as_u64() {
        s.push_str(&format!(
            " after {n} model turn{}",
            if n == 1 { "" } else { "s" }
        ));
    }
    if let Some(ms) = v["duration_ms"].as_u64() {
        s.push_str(&format!(" in {:.1} s", ms as f64 / 1000.0));
    }
    if let Some(usd) = v["total_cost_usd"].as_f64() {
        s.push_str(&format!(", spending ${usd:.2}"));
    }
    match v["result"]
        .as_str()
        .map(str::trim)
        .filter(|r| !r.is_empty())
    {
        Some(r) => format!("{s}: {}", one_line_cut(r, LINE_MAX)),
        None => format!("{s}."),
    }
}

fn codex(v: &Value) -> Option<String> {
    let item = &v["item"];
    match (v["type"].as_str()?, item["type"].as_str()) {
        ("thread.started", _) => Some(format!("thread {} started", text(&v["thread_id"]))),
        ("item.started", Some("command_execution")) => {
            Some(format!("tool shell: {}", text(&item["command"])))
        }
        ("item.completed", Some("command_execution")) => Some(format!(
            "result (exit {}): {}",
            item["exit_code"]
                .as_i64()
                .map_or_else(|| "?".to_string(), |c| c.to_string()),
            output(item["aggregated_output"].as_str().unwrap_or(""))
        )),
        ("item.completed", Some("agent_message")) => Some(format!("says: {}", text(&item["text"]))),
        ("item.completed", Some("reasoning")) => Some(format!("thinks: {}", text(&item["text"]))),
        ("item.completed", Some("file_change")) => Some(format!(
            "changed files: {}",
            item["changes"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|c| c["path"].as_str())
                .map(|p| one_line_cut(p, 80))
                .collect::<Vec<_>>()
                .join(", ")
        )),
        ("turn.completed", _) => {
            let u = &v["usage"];
            Some(format!(
                "turn completed: {} input tokens ({} cached), {} output tokens",
                u["input_tokens"].as_u64().unwrap_or(0),
                u["cached_input_tokens"].as_u64().unwrap_or(0),
                u["output_tokens"].as_u64().unwrap_or(0)
            ))
        }
        ("turn.failed", _) => Some(format!("turn failed: {}", text(&v["error"]["message"]))),
        ("error", _) => Some(format!("error: {}", text(&v["message"]))),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_claude_event_is_one_line_and_its_end_one_sentence() {
        let c = AgentKind::Claude;
        let table = [
            (
                r#"{"type":"system","subtype":"init","session_id":"s-1","model":"claude-x"}"#,
                Some("session s-1 started (model claude-x)"),
            ),
            (
                r#"{"type":"assistant","message":{"content":[{"type":"text","text":"Looking\nat it"},{"type":"tool_use","name":"Bash","input":{"command":"cargo test\necho \u001b[2J"}}]}}"#,
                Some("says: Looking at it\ntool Bash: cargo test echo [2J"),
            ),
            (
                r#"{"type":"user","message":{"content":[{"type":"tool_result","content":"ok\nline 2\nline 3","is_error":false}]}}"#,
                Some("result: ok (+2 more lines)"),
            ),
            (
                r#"{"type":"user","message":{"content":[{"type":"tool_result","content":[{"type":"text","text":"boom"}],"is_error":true}]}}"#,
                Some("result (error): boom"),
            ),
            (
                r#"{"type":"result","subtype":"success","is_error":false,"num_turns":3,"duration_ms":12345,"total_cost_usd":0.35,"result":"Done: fixed the login."}"#,
                Some(
                    "Claude finished after 3 model turns in 12.3 s, spending $0.35: Done: fixed the login.",
                ),
            ),
            (
                r#"{"type":"result","subtype":"error_max_budget_usd","is_error":true,"num_turns":1}"#,
                Some("Claude stopped (error_max_budget_usd) after 1 model turn."),
            ),
            (r#"{"type":"stream_event"}"#, None),
            ("plain words\u{7}", Some("plain words")),
            ("", None),
        ];
        for (line, want) in table {
            assert_eq!(render(c, line).as_deref(), want, "{line}");
        }
    }

    #[test]
    fn each_codex_event_is_one_line() {
        let c = AgentKind::Codex;
        let table = [
            (
                r#"{"type":"thread.started","thread_id":"t-9"}"#,
                Some("thread t-9 started"),
            ),
            (r#"{"type":"turn.started"}"#, None),
            (
                r#"{"type":"item.started","item":{"type":"command_execution","command":"bash -lc 'make test'"}}"#,
                Some("tool shell: bash -lc 'make test'"),
            ),
            (
                r#"{"type":"item.completed","item":{"type":"command_execution","command":"x","aggregated_output":"","exit_code":2}}"#,
                Some("result (exit 2): (no output)"),
            ),
            (
                r#"{"type":"item.completed","item":{"type":"agent_message","text":"All green."}}"#,
                Some("says: All green."),
            ),
            (
                r#"{"type":"turn.completed","usage":{"input_tokens":1000,"cached_input_tokens":200,"output_tokens":50}}"#,
                Some("turn completed: 1000 input tokens (200 cached), 50 output tokens"),
            ),
            (
                r#"{"type":"turn.failed","error":{"message":"quota"}}"#,
                Some("turn failed: quota"),
            ),
        ];
        for (line, want) in table {
            assert_eq!(render(c, line).as_deref(), want, "{line}");
        }
        let long = format!(
            r#"{{"type":"item.completed","item":{{"type":"agent_message","text":"{}"}}}}"#,
            "w".repeat(1000)
        );
        let r = render(c, &long).unwrap();
        assert!(r.contains("(cut: 800 more characters)"), "{r}");
    }
}
