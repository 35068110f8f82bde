//! The scripted model (docs/sandbox.md#the-scripted-model): the Anthropic
//! Messages API (for Claude Code, under `/model/anthropic`) and the OpenAI
//! Responses API (for Codex, under `/model/openai`), streaming, answering from
//! a script per issue instead of a model's choices, so the real `claude` and
//! `codex` programs run their real tool loops offline: they read afk's prompt,
//! run the script's shell commands in afk's checkout through their own shell
//! tool, and print their own result records, spend included.
//!
//! Which issue: the conversation's user text names it (`Repository: o/r`,
//! `Issue: #N`, as afk's prompts do); which turn: its latest prompt's
//! `This is corrective turn N` (else the first), for an issue whose seed
//! gives a script per turn (`turns`). Which step: the number of tool results
//! since the conversation's last prompt, so a turn (or a resumed session's
//! new prompt) starts at step 0; past the script's end its last step
//! repeats (a final message ends every later turn; a shell step repeated is
//! an agent that loops until its budget stops it).

use super::http::{Reply, Request};
use serde::Deserialize;
use serde_json::{Value, json};
use std::time::Duration;

/// What the model says at one step.
#[derive(Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Step {
    /// a tool call that runs this shell command (Claude's `Bash`, Codex's `exec_command`)
    pub shell: Option<String>,
    /// the final message
    pub text: Option<String>,
    /// never answer (the request is held, then the connection dropped)
    pub hang: bool,
    /// the token usage this answer reports
    pub usage: Option<Usage>,
    /// left out of the script when the conversation's user text holds this
    /// (a prompt that makes the agent do worse: the demo's canary)
    pub unless_prompt: Option<String>,
}

/// Which of afk's turns a conversation is in: its latest prompt's
/// `This is corrective turn N`, else the first.
fn turn_of(texts: &[&str]) -> u32 {
    const SAYS: &str = "This is corrective turn ";
    texts
        .iter()
        .rev()
        .find_map(|t| {
            let rest = &t[t.find(SAYS)? + SAYS.len()..];
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            digits.parse().ok()
        })
        .unwrap_or(1)
}

/// The script's steps that apply to a conversation whose user text is `texts`.
fn applying(mut steps: Vec<Step>, texts: &[&str]) -> Vec<Step> {
    steps.retain(|s| {
        s.unless_prompt
            .as_deref()
            .is_none_or(|m| !texts.iter().any(|t| t.contains(m)))
    });
    steps
}

/// The usage an answer reports (tokens).
#[derive(Deserialize, Clone, Copy, Debug, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Usage {
    pub input: u64,
    pub output: u64,
    pub cached: u64,
}

impl Default for Usage {
    fn default() -> Self {
        Usage {
            input: 1000,
            output: 100,
            cached: 0,
        }
    }
}

/// The script of an issue without one: commit a line on the branch, then
/// say so.
pub fn default_script() -> Vec<Step> {
    vec![
        Step {
            shell: Some(
                "echo \"turn $AFK_TURN\" >> \"afk-issue-$AFK_ISSUE.txt\" && git add -A && git commit -qm \"Work on #$AFK_ISSUE (turn $AFK_TURN)\""
                    .into(),
            ),
            ..Default::default()
        },
        Step {
            text: Some("Committed the change on the branch.".into()),
            ..Default::default()
        },
    ]
}

/// The API key both programs send the scripted model (it checks none).
pub const MODEL_KEY: &str = "sandbox-model-key";

/// The environment that points the real `claude` and `codex` at the
/// scripted model of the sandbox at `url`, with `codex_home` the folder
/// [`write_codex_home`] wrote: what `afk sandbox --model` prints and the
/// demo and the tests give afk (whose agents inherit it). Claude Code makes
/// no other request (`CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC`); `IS_SANDBOX`
/// lets it skip its permission prompts when it runs as root, which it
/// otherwise refuses: only a throwaway machine or container should say so.
pub fn agent_env(url: &str, codex_home: &std::path::Path, root: bool) -> Vec<(String, String)> {
    let mut env = vec![
        (
            "ANTHROPIC_BASE_URL".to_string(),
            format!("{url}/model/anthropic"),
        ),
        ("ANTHROPIC_API_KEY".to_string(), MODEL_KEY.to_string()),
        (
            "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC".to_string(),
            "1".to_string(),
        ),
        ("DISABLE_AUTOUPDATER".to_string(), "1".to_string()),
        ("API_TIMEOUT_MS".to_string(), "600000".to_string()),
        (
            "CLAUDE_CODE_DISABLE_NONSTREAMING_FALLBACK".to_string(),
            "1".to_string(),
        ),
        ("CODEX_HOME".to_string(), codex_home.display().to_string()),
        // Claude Code's settings and sessions beside Codex's, never the
        // user's own (whose settings could point it at a real endpoint)
        (
            "CLAUDE_CONFIG_DIR".to_string(),
            codex_home
                .with_file_name("claude-config")
                .display()
                .to_string(),
        ),
        ("AFK_MODEL_KEY".to_string(), MODEL_KEY.to_string()),
    ];
    if root {
        env.push(("IS_SANDBOX".to_string(), "1".to_string()));
    }
    env
}

/// Codex's config for the scripted model: a provider speaking the Responses
/// API at `url`, its key from `AFK_MODEL_KEY`, no retries (a test that
/// breaks the model ends fast).
pub fn write_codex_home(dir: &std::path::Path, url: &str) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let lines = [
        "# written by afk sandbox: Codex answered by the sandbox's scripted model".to_string(),
        "model = \"gpt-5.5\"".into(),
        "model_provider = \"afk-sandbox\"".into(),
        String::new(),
        "[model_providers.afk-sandbox]".into(),
        "name = \"afk sandbox scripted model\"".into(),
        format!("base_url = \"{url}/model/openai/v1\""),
        "wire_api = \"responses\"".into(),
        "env_key = \"AFK_MODEL_KEY\"".into(),
        "request_max_retries = 0".into(),
        "stream_max_retries = 0".into(),
        "stream_idle_timeout_ms = 600000".into(),
        String::new(),
        "# no call home: plugins and analytics off".into(),
        "[features]".into(),
        "plugins = false".into(),
        String::new(),
        "[analytics]".into(),
        "enabled = false".into(),
    ];
    std::fs::write(dir.join("config.toml"), lines.join("\n") + "\n")
}

/// How long a `hang` step holds its request.
const HANG: Duration = Duration::from_secs(120);
/// A prompt's text is looked at this far for the issue it names.
const PROMPT_SCAN: usize = 64 * 1024;

/// Route a request under `/model/`; `script` finds an issue's steps.
pub(super) fn serve(
    req: &Request,
    path: &str,
    script: &dyn Fn(&str, u64, u32) -> Vec<Step>,
) -> Reply {
    let body: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
    match (req.method.as_str(), path) {
        ("GET" | "HEAD", p) if p.ends_with("/models") => {
            Reply::json(200, &json!({"object": "list", "data": [], "models": []}))
        }
        ("POST", p) if p.ends_with("/messages/count_tokens") => {
            Reply::json(200, &json!({"input_tokens": 1}))
        }
        ("POST", p) if p.starts_with("/anthropic/") && p.ends_with("/messages") => {
            anthropic(&body, script)
        }
        ("POST", p) if p.starts_with("/openai/") && p.ends_with("/responses") => {
            responses(&body, script)
        }
        ("HEAD", _) => Reply::Send {
            status: 200,
            headers: vec![],
            body: vec![],
        },
        _ => Reply::json(
            404,
            &json!({"type": "error", "error": {"type": "not_found_error", "message": "the scripted model has no such endpoint"}}),
        ),
    }
}

/// `Repository: owner/repo` and `Issue: #N` in the conversation's user text
/// (the last naming wins).
pub fn issue_named(texts: &[&str]) -> Option<(String, u64)> {
    let mut found = None;
    for t in texts {
        let t = &t[..floor(t, PROMPT_SCAN)];
        let repo = t.lines().find_map(|l| {
            let l = l.trim_start_matches(['-', ' ', '*']);
            l.strip_prefix("Repository: ")
                .map(|r| r.trim().trim_matches('`').to_string())
        });
        let issue = t.lines().find_map(|l| {
            let l = l.trim_start_matches(['-', ' ', '*']);
            let rest = l.strip_prefix("Issue: #")?;
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            digits.parse().ok()
        });
        if let (Some(r), Some(i)) = (repo, issue) {
            found = Some((r, i));
        }
    }
    found
}

fn floor(s: &str, max: usize) -> usize {
    let mut i = s.len().min(max);
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// The step a request asks for: `tool_results` since the last prompt, the
/// last step past the end.
fn step_at(steps: &[Step], tool_results: usize) -> Step {
    steps
        .get(tool_results.min(steps.len().saturating_sub(1)))
        .cloned()
        .unwrap_or_else(|| Step {
            text: Some("Nothing to do.".into()),
            ..Default::default()
        })
}

fn sse(events: &[(String, Value)]) -> Reply {
    let mut body = String::new();
    for (name, data) in events {
        body.push_str(&format!("event: {name}\ndata: {data}\n\n"));
    }
    Reply::Send {
        status: 200,
        headers: vec![
            ("Content-Type".into(), "text/event-stream".into()),
            ("Cache-Control".into(), "no-cache".into()),
        ],
        body: body.into_bytes(),
    }
}

fn hold() -> Reply {
    std::thread::sleep(HANG);
    Reply::Drop
}

fn id(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(1);
    format!("{prefix}_{:024x}", N.fetch_add(1, Ordering::Relaxed))
}

// ---- Anthropic Messages (Claude Code) --------------------------------------

/// A user message that carries a prompt (text that is not only tool results
/// or the program's own reminders).
fn anthropic_prompt(m: &Value) -> Option<String> {
    if m["role"] != "user" {
        return None;
    }
    match &m["content"] {
        Value::String(s) => Some(s.clone()),
        Value::Array(blocks) => {
            let texts: Vec<&str> = blocks
                .iter()
                .filter(|b| b["type"] == "text")
                .filter_map(|b| b["text"].as_str())
                .filter(|t| !t.trim_start().starts_with("<system-reminder>"))
                .collect();
            (!texts.is_empty()).then(|| texts.join("\n"))
        }
        _ => None,
    }
}

fn anthropic(body: &Value, script: &dyn Fn(&str, u64, u32) -> Vec<Step>) -> Reply {
    let model = body["model"].as_str().unwrap_or("claude").to_string();
    let tools: Vec<&str> = body["tools"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| t["name"].as_str())
        .collect();
    let msgs = body["messages"].as_array().cloned().unwrap_or_default();
    let prompts: Vec<(usize, String)> = msgs
        .iter()
        .enumerate()
        .filter_map(|(i, m)| anthropic_prompt(m).map(|t| (i, t)))
        .collect();
    // the program's side requests (a title, a topic) carry no shell tool
    let step = if !tools.contains(&"Bash") {
        Step {
            text: Some("afk scripted model".into()),
            usage: Some(Usage {
                input: 1,
                output: 1,
                cached: 0,
            }),
            ..Default::default()
        }
    } else {
        let texts: Vec<&str> = prompts.iter().map(|(_, t)| t.as_str()).collect();
        let steps = match issue_named(&texts) {
            Some((repo, issue)) => applying(script(&repo, issue, turn_of(&texts)), &texts),
            None => default_script(),
        };
        let last = prompts.last().map_or(0, |(i, _)| i + 1);
        let results = msgs[last.min(msgs.len())..]
            .iter()
            .filter_map(|m| m["content"].as_array())
            .flatten()
            .filter(|b| b["type"] == "tool_result")
            .count();
        step_at(&steps, results)
    };
    if step.hang {
        return hold();
    }
    let u = step.usage.unwrap_or_default();
    let usage = json!({"input_tokens": u.input, "output_tokens": u.output,
        "cache_creation_input_tokens": 0, "cache_read_input_tokens": u.cached});
    let (block, delta, stop) = match &step.shell {
        Some(cmd) => (
            json!({"type": "tool_use", "id": id("toolu"), "name": "Bash", "input": {}}),
            json!({"type": "input_json_delta",
                   "partial_json": json!({"command": cmd, "description": "scripted step"}).to_string()}),
            "tool_use",
        ),
        None => (
            json!({"type": "text", "text": ""}),
            json!({"type": "text_delta", "text": step.text.clone().unwrap_or_default()}),
            "end_turn",
        ),
    };
    if body["stream"] != true {
        let content = match &step.shell {
            Some(cmd) => {
                json!([{"type": "tool_use", "id": id("toolu"), "name": "Bash", "input": {"command": cmd}}])
            }
            None => json!([{"type": "text", "text": step.text.clone().unwrap_or_default()}]),
        };
        return Reply::json(
            200,
            &json!({"id": id("msg"), "type": "message", "role": "assistant", "model": model,
                    "content": content, "stop_reason": stop, "stop_sequence": null, "usage": usage}),
        );
    }
    let e = |name: &str, v: Value| (name.to_string(), v);
    sse(&[
        e(
            "message_start",
            json!({"type": "message_start", "message": {"id": id("msg"), "type": "message",
                "role": "assistant", "model": model, "content": [], "stop_reason": null,
                "stop_sequence": null, "usage": {"input_tokens": u.input, "output_tokens": 1,
                "cache_creation_input_tokens": 0, "cache_read_input_tokens": u.cached}}}),
        ),
        e(
            "content_block_start",
            json!({"type": "content_block_start", "index": 0, "content_block": block}),
        ),
        e(
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 0, "delta": delta}),
        ),
        e(
            "content_block_stop",
            json!({"type": "content_block_stop", "index": 0}),
        ),
        e(
            "message_delta",
            json!({"type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": null},
                   "usage": {"output_tokens": u.output}}),
        ),
        e("message_stop", json!({"type": "message_stop"})),
    ])
}

// ---- OpenAI Responses (Codex) -----------------------------------------------

fn responses_prompt(it: &Value) -> Option<String> {
    if it["role"] != "user" || !(it["type"].is_null() || it["type"] == "message") {
        return None;
    }
    match &it["content"] {
        Value::String(s) => Some(s.clone()),
        Value::Array(parts) => {
            let texts: Vec<&str> = parts.iter().filter_map(|p| p["text"].as_str()).collect();
            (!texts.is_empty()).then(|| texts.join("\n"))
        }
        _ => None,
    }
}

fn responses(body: &Value, script: &dyn Fn(&str, u64, u32) -> Vec<Step>) -> Reply {
    let model = body["model"].as_str().unwrap_or("scripted").to_string();
    let items = body["input"].as_array().cloned().unwrap_or_default();
    let prompts: Vec<(usize, String)> = items
        .iter()
        .enumerate()
        .filter_map(|(i, it)| responses_prompt(it).map(|t| (i, t)))
        .collect();
    let texts: Vec<&str> = prompts.iter().map(|(_, t)| t.as_str()).collect();
    let steps = match issue_named(&texts) {
        Some((repo, issue)) => applying(script(&repo, issue, turn_of(&texts)), &texts),
        None => default_script(),
    };
    let last = prompts.last().map_or(0, |(i, _)| i + 1);
    let results = items[last.min(items.len())..]
        .iter()
        .filter(|it| {
            matches!(
                it["type"].as_str(),
                Some(
                    "function_call_output" | "custom_tool_call_output" | "local_shell_call_output"
                )
            )
        })
        .count();
    let step = step_at(&steps, results);
    if step.hang {
        return hold();
    }
    let u = step.usage.unwrap_or_default();
    let item = match &step.shell {
        Some(cmd) => json!({"type": "function_call", "id": id("fc"), "status": "completed",
            "call_id": id("call"), "name": "exec_command",
            "arguments": json!({"cmd": cmd}).to_string()}),
        None => {
            json!({"type": "message", "id": id("msg"), "role": "assistant", "status": "completed",
            "content": [{"type": "output_text", "text": step.text.clone().unwrap_or_default(), "annotations": []}]})
        }
    };
    let rid = id("resp");
    let e = |name: &str, mut v: Value| {
        v["type"] = json!(name);
        (name.to_string(), v)
    };
    sse(&[
        e(
            "response.created",
            json!({"response": {"id": rid, "object": "response", "status": "in_progress", "model": model, "output": []}}),
        ),
        e(
            "response.output_item.added",
            json!({"output_index": 0, "item": item}),
        ),
        e(
            "response.output_item.done",
            json!({"output_index": 0, "item": item}),
        ),
        e(
            "response.completed",
            json!({"response": {"id": rid, "object": "response", "status": "completed", "model": model,
                "output": [item],
                "usage": {"input_tokens": u.input, "input_tokens_details": {"cached_tokens": u.cached},
                          "output_tokens": u.output, "output_tokens_details": {"reasoning_tokens": 0},
                          "total_tokens": u.input + u.output}}}),
        ),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_issue_is_the_one_afks_prompt_names() {
        type Case<'a> = (Vec<&'a str>, Option<(&'a str, u64)>);
        let cases: Vec<Case> = vec![
            (
                vec!["- Repository: acme/api\n- Issue: #7 (http://x)\n"],
                Some(("acme/api", 7)),
            ),
            (vec!["Repository: `o/r`\nIssue: #12"], Some(("o/r", 12))),
            (vec!["no issue here"], None),
            // a corrective turn's prompt, later in a resumed session, wins
            (
                vec![
                    "- Repository: a/b\n- Issue: #1\n",
                    "- Repository: a/b\n- Issue: #2\n",
                ],
                Some(("a/b", 2)),
            ),
        ];
        for (texts, want) in cases {
            let got = issue_named(&texts);
            assert_eq!(got, want.map(|(r, i)| (r.to_string(), i)), "{texts:?}");
        }
    }

    #[test]
    fn a_step_is_left_out_when_the_prompt_holds_its_marker() {
        let mut steps = default_script();
        steps[0].unless_prompt = Some("WORSE".into());
        assert_eq!(applying(steps.clone(), &["a plain prompt"]).len(), 2);
        let left = applying(steps, &["first prompt", "try the WORSE shortcut"]);
        assert_eq!(left.len(), 1);
        assert!(left[0].text.is_some(), "only the final message: no commit");
    }

    #[test]
    fn a_turn_starts_at_step_zero_and_the_last_step_repeats() {
        let steps = default_script();
        assert!(step_at(&steps, 0).shell.is_some());
        assert!(step_at(&steps, 1).text.is_some());
        assert_eq!(step_at(&steps, 9), steps[1]);
        assert!(step_at(&[], 0).text.is_some());
    }
}
