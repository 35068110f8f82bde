// One file: the scripted model (~870 lines: the Anthropic and OpenAI shapes it answers, its script, its key and usage, one request's path) and the tests that pin its answers, kept beside them as everywhere in the sandbox.
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
//!
//! With a model key (the seed's `model_key`) every request must carry it
//! (Anthropic `x-api-key`, OpenAI `Authorization: Bearer`) or is answered
//! 401 in its API's words; every request is kept in a bounded log
//! (`/_admin/model/requests`) with the usage it was answered, so a test can
//! hold afk's metered spend against it.

use super::http::{Reply, Request};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::time::Duration;

/// What the model says at one step.
#[derive(Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Step {
    /// a tool call that runs this shell command (Claude's `Bash`, Codex's
    /// shell tool: `exec_command`, `shell_command` or `shell`, whichever the
    /// request offers)
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
    /// answer this status instead (429, 500, 529, ...), the API's own error
    /// body, with `retry_after` and `headers`
    pub status: Option<u16>,
    /// with `status`: a `retry-after` header of this many seconds
    pub retry_after: Option<u64>,
    /// with `status`: more headers of the answer
    pub headers: BTreeMap<String, String>,
    /// the streamed answer stops after this many events, the connection
    /// closed mid-answer (its `Content-Length` announced the whole)
    pub cut_after: Option<usize>,
    /// with `cut_after`: the connection is held open after the events sent
    /// (the answer stalls mid-stream, its client waiting), then closed
    pub stall: bool,
    /// `status` and `cut_after` apply to the first `times` askings of this
    /// step only (then it answers as written); absent: every asking
    pub times: Option<u32>,
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

/// The usage an answer reports (tokens), each figure in its API's field as
/// is: Anthropic `input_tokens`, `output_tokens`, `cache_read_input_tokens`
/// (`cached`), `cache_creation_input_tokens` (`cache_write`); OpenAI
/// `input_tokens` (which counts the cached ones), `output_tokens` (which
/// counts the reasoning ones), `input_tokens_details.cached_tokens`,
/// `output_tokens_details.reasoning_tokens` (OpenAI has no cache writes,
/// Anthropic no separate reasoning).
#[derive(Deserialize, Clone, Copy, Debug, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Usage {
    pub input: u64,
    pub output: u64,
    /// cache reads
    pub cached: u64,
    pub cache_write: u64,
    pub reasoning: u64,
}

impl Default for Usage {
    fn default() -> Self {
        Usage {
            input: 1000,
            output: 100,
            cached: 0,
            cache_write: 0,
            reasoning: 0,
        }
    }
}

impl Usage {
    fn to_json(self) -> Value {
        json!({"input": self.input, "output": self.output, "cached": self.cached,
               "cache_write": self.cache_write, "reasoning": self.reasoning})
    }

    /// Anthropic's usage object with every figure.
    fn anthropic(self, output: u64) -> Value {
        json!({"input_tokens": self.input, "output_tokens": output,
               "cache_creation_input_tokens": self.cache_write,
               "cache_read_input_tokens": self.cached})
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

/// The API key both programs send the scripted model (which checks none
/// unless the seed names a `model_key`).
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

/// What the model's server gives [`serve`]: the key it requires, the
/// scripts, a counter of askings and its request log.
pub(super) struct Model<'a> {
    /// the key every request must carry (none: no key checked)
    pub key: Option<&'a str>,
    /// an issue's steps: `(repo, issue, turn)`
    pub script: &'a dyn Fn(&str, u64, u32) -> Vec<Step>,
    /// how many times the step named by this key was asked before (this
    /// asking counted)
    pub asked: &'a dyn Fn(String) -> u32,
    /// keep one entry of the request log (`/_admin/model/requests`)
    pub log: &'a dyn Fn(Value),
}

/// Which API a path under `/model` speaks.
#[derive(Clone, Copy, PartialEq, Debug)]
enum Api {
    Anthropic,
    OpenAi,
}

impl Api {
    fn of(path: &str) -> Option<Api> {
        if path.starts_with("/anthropic/") {
            Some(Api::Anthropic)
        } else if path.starts_with("/openai/") {
            Some(Api::OpenAi)
        } else {
            None
        }
    }

    fn name(self) -> &'static str {
        match self {
            Api::Anthropic => "anthropic",
            Api::OpenAi => "openai",
        }
    }

    /// The key the request carries where this API puts it.
    fn key_of(self, req: &Request) -> Option<&str> {
        match self {
            Api::Anthropic => req.header("x-api-key"),
            Api::OpenAi => req
                .header("authorization")
                .and_then(|v| v.strip_prefix("Bearer "))
                .map(str::trim),
        }
    }

    /// An error answer in this API's own words.
    fn error(self, status: u16, message: &str) -> Reply {
        let body = match self {
            Api::Anthropic => {
                let kind = match status {
                    400 => "invalid_request_error",
                    401 => "authentication_error",
                    403 => "permission_error",
                    404 => "not_found_error",
                    413 => "request_too_large",
                    429 => "rate_limit_error",
                    529 => "overloaded_error",
                    _ => "api_error",
                };
                json!({"type": "error", "error": {"type": kind, "message": message}})
            }
            Api::OpenAi => {
                let (kind, code) = match status {
                    401 => ("invalid_request_error", json!("invalid_api_key")),
                    429 => ("requests", json!("rate_limit_exceeded")),
                    400..=499 => ("invalid_request_error", Value::Null),
                    _ => ("server_error", Value::Null),
                };
                json!({"error": {"message": message, "type": kind, "param": null, "code": code}})
            }
        };
        Reply::json(status, &body)
    }
}

/// Whether `a` and `b` are the same bytes, in a time that depends on their
/// lengths only.
fn same_key(a: &[u8], b: &[u8]) -> bool {
    let mut diff = a.len() ^ b.len();
    for i in 0..a.len().max(b.len()) {
        let x = a.get(i).copied().unwrap_or(0);
        let y = b.get(i).copied().unwrap_or(0);
        diff |= usize::from(x ^ y);
    }
    diff == 0
}

/// What one request was answered, for the log.
struct Answer {
    reply: Reply,
    model: Option<String>,
    /// the usage the answer carried (a cut answer: what it carried before the cut)
    usage: Option<Usage>,
    /// held, then dropped (a `hang` step)
    hold: bool,
    /// which issue and step answered
    step: Option<(String, u64, u32, usize)>,
    cut_after: Option<usize>,
}

impl Answer {
    fn plain(reply: Reply) -> Answer {
        Answer {
            reply,
            model: None,
            usage: None,
            hold: false,
            step: None,
            cut_after: None,
        }
    }
}

/// Route a request under `/model/`.
pub(super) fn serve(req: &Request, path: &str, m: &Model) -> Reply {
    let api = Api::of(path);
    let key = match (m.key, api) {
        (None, _) | (_, None) => "not required",
        (Some(want), Some(api)) => match api.key_of(req) {
            None => "missing",
            Some(got) if same_key(got.as_bytes(), want.as_bytes()) => "matched",
            Some(_) => "wrong",
        },
    };
    let mut a = match api {
        Some(api) if key == "missing" || key == "wrong" => {
            let message = match (api, key) {
                (Api::Anthropic, "missing") => "x-api-key header is required",
                (Api::Anthropic, _) => "invalid x-api-key",
                (Api::OpenAi, "missing") => {
                    "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY)."
                }
                (Api::OpenAi, _) => "Incorrect API key provided.",
            };
            Answer::plain(api.error(401, message))
        }
        _ => answer(req, path, api, m),
    };
    if a.model.is_none() {
        // the model a request names, answered or refused
        let body: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
        a.model = body["model"].as_str().map(str::to_string);
    }
    let status = match &a.reply {
        Reply::Send { status, .. } | Reply::Cut { status, .. } | Reply::Stall { status, .. } => {
            Some(*status)
        }
        Reply::Drop => None,
    };
    let at_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    let mut entry = json!({"at_ms": at_ms, "api": api.map(Api::name), "method": req.method,
        "path": path, "model": a.model, "key": key, "usage": a.usage.map(Usage::to_json),
        "status": if a.hold { None } else { status }});
    if let Some((repo, issue, turn, step)) = &a.step {
        entry["repo"] = json!(repo);
        entry["issue"] = json!(issue);
        entry["turn"] = json!(turn);
        entry["step"] = json!(step);
    }
    if a.hold {
        entry["hang"] = json!(true);
    }
    if let Some(n) = a.cut_after {
        entry["cut_after"] = json!(n);
    }
    (m.log)(entry);
    if a.hold {
        return hold();
    }
    a.reply
}

fn answer(req: &Request, path: &str, api: Option<Api>, m: &Model) -> Answer {
    let body: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
    match (req.method.as_str(), path) {
        ("GET" | "HEAD", p) if p.ends_with("/models") => Answer::plain(Reply::json(
            200,
            &json!({"object": "list", "data": [], "models": []}),
        )),
        ("POST", p) if p.ends_with("/messages/count_tokens") => {
            Answer::plain(Reply::json(200, &json!({"input_tokens": 1})))
        }
        ("POST", p) if api == Some(Api::Anthropic) && p.ends_with("/messages") => {
            anthropic(&body, m)
        }
        ("POST", p) if api == Some(Api::OpenAi) && p.ends_with("/responses") => responses(&body, m),
        ("HEAD", _) => Answer::plain(Reply::Send {
            status: 200,
            headers: vec![],
            body: vec![],
        }),
        _ => Answer::plain(
            api.unwrap_or(Api::Anthropic)
                .error(404, "the scripted model has no such endpoint"),
        ),
    }
}

/// The step a conversation is at: its issue's script (else the default),
/// the step by tool results since the last prompt, and which it is.
fn conversation_step(
    texts: &[&str],
    results: usize,
    m: &Model,
) -> (Step, Option<(String, u64, u32, usize)>) {
    match issue_named(texts) {
        Some((repo, issue)) => {
            let turn = turn_of(texts);
            let steps = applying((m.script)(&repo, issue, turn), texts);
            let at = results.min(steps.len().saturating_sub(1));
            (step_at(&steps, results), Some((repo, issue, turn, at)))
        }
        None => (step_at(&default_script(), results), None),
    }
}

/// The fault a step answers with this time (`status`, `cut_after`): every
/// time, or its first `times` askings.
fn fault_now(step: &mut Step, at: &Option<(String, u64, u32, usize)>, m: &Model) {
    if step.status.is_none() && step.cut_after.is_none() {
        return;
    }
    let Some(times) = step.times else { return };
    let key = match at {
        Some((repo, issue, turn, i)) => format!("{repo}#{issue}/{turn}/{i}"),
        None => "default".to_string(),
    };
    if (m.asked)(key) > times {
        step.status = None;
        step.cut_after = None;
    }
}

/// A step's `status` answer: the API's error body and the step's headers.
fn status_answer(api: Api, step: &Step) -> Option<Reply> {
    let status = step.status.filter(|s| *s != 200)?;
    let mut reply = api.error(
        status,
        "the scripted model answers this status (its script)",
    );
    if let Some(s) = step.retry_after {
        reply = reply.with_header("retry-after", &s.to_string());
    }
    for (k, v) in &step.headers {
        reply = reply.with_header(k, v);
    }
    Some(reply)
}

/// The number the scripted model keeps a tracker's issue under (`PLAT-1`,
/// `ENG-7`: the key afk's prompt names it by), apart from every forge
/// number: its FNV-1a hash with the top bit set. `/_admin/script` takes the
/// key as `issue` and files its script under this number.
pub fn tracker_key_number(key: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in key.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
    }
    h | 1 << 63
}

/// A tracker's key at the start of `s` (`PLAT-1`: upper-case letters and
/// digits, a dash, digits).
fn tracker_key(s: &str) -> Option<&str> {
    let (project, rest) = s.split_once('-')?;
    let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    let ok = !project.is_empty()
        && project.starts_with(|c: char| c.is_ascii_uppercase())
        && project
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        && digits > 0;
    ok.then(|| &s[..project.len() + 1 + digits])
}

/// `Repository: owner/repo` and `Issue: #N` (or a tracker's `Issue: KEY-N`,
/// as [`tracker_key_number`]) in the conversation's user text (the last
/// naming wins).
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
            let rest = l.strip_prefix("Issue: ")?;
            if let Some(key) = tracker_key(rest) {
                return Some(tracker_key_number(key));
            }
            let digits: String = rest
                .strip_prefix('#')?
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
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

/// A streamed answer of `events`; `cut_after`: only its first events are
/// sent, then the connection is closed.
fn sse(events: &[(String, Value)], cut_after: Option<usize>) -> Reply {
    let mut body = String::new();
    let mut keep = None;
    for (i, (name, data)) in events.iter().enumerate() {
        if cut_after == Some(i) {
            keep = Some(body.len());
        }
        body.push_str(&format!("event: {name}\ndata: {data}\n\n"));
    }
    let headers = vec![
        ("Content-Type".into(), "text/event-stream".into()),
        ("Cache-Control".into(), "no-cache".into()),
    ];
    let body = body.into_bytes();
    match keep {
        Some(keep) => Reply::Cut {
            status: 200,
            headers,
            body,
            keep,
        },
        None => Reply::Send {
            status: 200,
            headers,
            body,
        },
    }
}

/// A cut answer held open instead of closed, when its step `stall`s.
fn stalled(reply: Reply, stall: bool) -> Reply {
    match reply {
        Reply::Cut {
            status,
            headers,
            body,
            keep,
        } if stall => Reply::Stall {
            status,
            headers,
            body,
            keep,
            hold: HANG,
        },
        reply => reply,
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

fn anthropic(body: &Value, m: &Model) -> Answer {
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
    let (mut step, at) = if !tools.contains(&"Bash") {
        let side = Step {
            text: Some("afk scripted model".into()),
            usage: Some(Usage {
                input: 1,
                output: 1,
                cached: 0,
                cache_write: 0,
                reasoning: 0,
            }),
            ..Default::default()
        };
        (side, None)
    } else {
        let texts: Vec<&str> = prompts.iter().map(|(_, t)| t.as_str()).collect();
        let last = prompts.last().map_or(0, |(i, _)| i + 1);
        let results = msgs[last.min(msgs.len())..]
            .iter()
            .filter_map(|m| m["content"].as_array())
            .flatten()
            .filter(|b| b["type"] == "tool_result")
            .count();
        conversation_step(&texts, results, m)
    };
    fault_now(&mut step, &at, m);
    let mut a = Answer {
        reply: Reply::Drop,
        model: Some(model.clone()),
        usage: None,
        hold: step.hang,
        step: at,
        cut_after: None,
    };
    if step.hang {
        return a;
    }
    if let Some(reply) = status_answer(Api::Anthropic, &step) {
        a.reply = reply;
        return a;
    }
    let u = step.usage.unwrap_or_default();
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
        let reply = Reply::json(
            200,
            &json!({"id": id("msg"), "type": "message", "role": "assistant", "model": model,
                    "content": content, "stop_reason": stop, "stop_sequence": null,
                    "usage": u.anthropic(u.output)}),
        );
        a.usage = Some(u);
        a.reply = match (step.cut_after, reply) {
            // a body cut in half carries no usage one can read
            (
                Some(_),
                Reply::Send {
                    status,
                    headers,
                    body,
                },
            ) => {
                a.usage = None;
                a.cut_after = Some(0);
                let keep = body.len() / 2;
                Reply::Cut {
                    status,
                    headers,
                    body,
                    keep,
                }
            }
            (_, reply) => reply,
        };
        return a;
    }
    let e = |name: &str, v: Value| (name.to_string(), v);
    let events = [
        e(
            "message_start",
            json!({"type": "message_start", "message": {"id": id("msg"), "type": "message",
                "role": "assistant", "model": model, "content": [], "stop_reason": null,
                "stop_sequence": null, "usage": u.anthropic(1)}}),
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
                   "usage": u.anthropic(u.output)}),
        ),
        e("message_stop", json!({"type": "message_stop"})),
    ];
    let cut = step.cut_after.filter(|n| *n < events.len());
    // what the events sent carried: message_start the input (and one
    // output token), message_delta the whole
    a.usage = match cut {
        Some(0) => None,
        Some(n) if n < 5 => Some(Usage { output: 1, ..u }),
        _ => Some(u),
    };
    a.cut_after = cut;
    a.reply = stalled(sse(&events, cut), step.stall);
    a
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

/// The shell tool a Responses request offers and the call of `cmd` in its
/// arguments: a model calls only a function the request's `tools` define,
/// and Codex defines the one its model's shell type names (unified exec's
/// `exec_command` `{"cmd"}`, `shell_command` `{"command": "…"}`, or `shell`
/// `{"command": [argv]}`: openai/codex's tool specs, `create_exec_command_tool`,
/// `create_shell_command_tool`, `create_shell_tool`), which differs by model
/// family. A request offering none of them (a test's own) gets `exec_command`.
/// Every other tool, whatever its shape (a `namespace` grouping function
/// tools, as Codex sends its sub-agent tools for some models: the OpenAI
/// API's `NamespaceToolParam`, "groups function/custom tools under a shared
/// namespace"), is accepted and left uncalled, as the API accepts it.
fn shell_call(tools: &[Value], cmd: &str) -> (&'static str, Value) {
    let offered = |name: &str| {
        tools
            .iter()
            .any(|t| t["type"] == "function" && t["name"] == name)
    };
    if offered("exec_command") {
        // the longest a command may run before the call answers with it
        // still running (unified exec's yield, 30 s at most): a script's
        // step is one command whose end the next step expects, and a busy
        // machine may take more than the 10 s default
        ("exec_command", json!({"cmd": cmd, "yield_time_ms": 30000}))
    } else if offered("shell_command") {
        ("shell_command", json!({"command": cmd}))
    } else if offered("shell") {
        ("shell", json!({"command": ["bash", "-lc", cmd]}))
    } else {
        ("exec_command", json!({"cmd": cmd}))
    }
}

fn responses(body: &Value, m: &Model) -> Answer {
    let model = body["model"].as_str().unwrap_or("scripted").to_string();
    let items = body["input"].as_array().cloned().unwrap_or_default();
    let prompts: Vec<(usize, String)> = items
        .iter()
        .enumerate()
        .filter_map(|(i, it)| responses_prompt(it).map(|t| (i, t)))
        .collect();
    let texts: Vec<&str> = prompts.iter().map(|(_, t)| t.as_str()).collect();
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
    let (mut step, at) = conversation_step(&texts, results, m);
    fault_now(&mut step, &at, m);
    let mut a = Answer {
        reply: Reply::Drop,
        model: Some(model.clone()),
        usage: None,
        hold: step.hang,
        step: at,
        cut_after: None,
    };
    if step.hang {
        return a;
    }
    if let Some(reply) = status_answer(Api::OpenAi, &step) {
        a.reply = reply;
        return a;
    }
    let u = step.usage.unwrap_or_default();
    let tools = body["tools"]
        .as_array()
        .map_or(&[] as &[Value], Vec::as_slice);
    let item = match &step.shell {
        Some(cmd) => {
            let (name, arguments) = shell_call(tools, cmd);
            json!({"type": "function_call", "id": id("fc"), "status": "completed",
                "call_id": id("call"), "name": name, "arguments": arguments.to_string()})
        }
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
    let events = [
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
                          "output_tokens": u.output, "output_tokens_details": {"reasoning_tokens": u.reasoning},
                          "total_tokens": u.input + u.output}}}),
        ),
    ];
    let cut = step.cut_after.filter(|n| *n < events.len());
    // only response.completed carries the usage
    a.usage = if cut.is_some() { None } else { Some(u) };
    a.cut_after = cut;
    a.reply = stalled(sse(&events, cut), step.stall);
    a
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
            // a tracker's issue, named by its key
            (
                vec!["- Repository: acme/api\n- Issue: PLAT-12 (http://x)\n"],
                Some(("acme/api", tracker_key_number("PLAT-12"))),
            ),
            (vec!["- Repository: a/b\n- Issue: plat-1\n"], None),
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

    use std::cell::RefCell;
    use std::collections::HashMap;

    /// A request to the scripted model at `path` (under `/model`).
    fn request(path: &str, headers: &[(&str, &str)], body: Value) -> Request {
        Request {
            method: "POST".into(),
            path: format!("/model{path}"),
            raw_path: format!("/model{path}"),
            query: vec![],
            raw_query: String::new(),
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            body: serde_json::to_vec(&body).unwrap(),
        }
    }

    const PROMPT: &str = "- Repository: acme/api\n- Issue: #1\n";

    fn claude_body() -> Value {
        json!({"model": "claude-x", "stream": true, "tools": [{"name": "Bash"}],
               "messages": [{"role": "user", "content": PROMPT}]})
    }

    fn codex_body() -> Value {
        json!({"model": "gpt-x", "stream": true,
               "input": [{"role": "user", "content": [{"type": "input_text", "text": PROMPT}]}]})
    }

    /// Serve `req` with `key` required and `steps` as acme/api#1's script:
    /// the reply and the log's entries.
    struct Harness {
        steps: Vec<Step>,
        asked: RefCell<HashMap<String, u32>>,
        log: RefCell<Vec<Value>>,
    }

    impl Harness {
        fn new(steps: Vec<Step>) -> Harness {
            Harness {
                steps,
                asked: RefCell::new(HashMap::new()),
                log: RefCell::new(vec![]),
            }
        }

        fn serve(&self, key: Option<&str>, req: &Request) -> Reply {
            let script = |_: &str, _: u64, _: u32| self.steps.clone();
            let asked = |k: String| {
                let mut a = self.asked.borrow_mut();
                let n = a.entry(k).or_insert(0);
                *n += 1;
                *n
            };
            let log = |e: Value| self.log.borrow_mut().push(e);
            let m = Model {
                key,
                script: &script,
                asked: &asked,
                log: &log,
            };
            serve(req, &req.path["/model".len()..], &m)
        }

        fn last(&self) -> Value {
            self.log.borrow().last().cloned().unwrap()
        }
    }

    fn sent(r: &Reply) -> (u16, Vec<(String, String)>, String) {
        match r {
            Reply::Send {
                status,
                headers,
                body,
            } => (
                *status,
                headers.clone(),
                String::from_utf8_lossy(body).into(),
            ),
            Reply::Cut {
                status,
                headers,
                body,
                keep,
            }
            | Reply::Stall {
                status,
                headers,
                body,
                keep,
                ..
            } => (
                *status,
                headers.clone(),
                String::from_utf8_lossy(&body[..*keep]).into(),
            ),
            Reply::Drop => panic!("dropped"),
        }
    }

    /// The SSE events of a streamed body: (name, data).
    fn events(body: &str) -> Vec<(String, Value)> {
        body.split("\n\n")
            .filter(|e| !e.trim().is_empty())
            .map(|e| {
                let name = e.lines().find_map(|l| l.strip_prefix("event: ")).unwrap();
                let data = e.lines().find_map(|l| l.strip_prefix("data: ")).unwrap();
                (name.to_string(), serde_json::from_str(data).unwrap())
            })
            .collect()
    }

    #[test]
    fn with_a_key_a_request_without_it_is_refused_in_its_apis_words() {
        let h = Harness::new(default_script());
        let key = Some("sk-sandbox-1");
        type Case<'a> = (
            &'a str,
            Vec<(&'a str, &'a str)>,
            Option<&'a str>,
            u16,
            &'a str,
        );
        let cases: Vec<Case> = vec![
            // no key set: nothing is checked
            ("/anthropic/v1/messages", vec![], None, 200, "not required"),
            ("/openai/v1/responses", vec![], None, 200, "not required"),
            ("/anthropic/v1/messages", vec![], key, 401, "missing"),
            (
                "/anthropic/v1/messages",
                vec![("x-api-key", "sk-sandbox-2")],
                key,
                401,
                "wrong",
            ),
            // the other API's header is not this one's
            (
                "/anthropic/v1/messages",
                vec![("authorization", "Bearer sk-sandbox-1")],
                key,
                401,
                "missing",
            ),
            (
                "/anthropic/v1/messages",
                vec![("X-Api-Key", "sk-sandbox-1")],
                key,
                200,
                "matched",
            ),
            ("/openai/v1/responses", vec![], key, 401, "missing"),
            (
                "/openai/v1/responses",
                vec![("x-api-key", "sk-sandbox-1")],
                key,
                401,
                "missing",
            ),
            (
                "/openai/v1/responses",
                vec![("Authorization", "Bearer sk-sandbox-10")],
                key,
                401,
                "wrong",
            ),
            (
                "/openai/v1/responses",
                vec![("Authorization", "Bearer sk-sandbox-1")],
                key,
                200,
                "matched",
            ),
            ("/openai/v1/models", vec![], key, 401, "missing"),
        ];
        for (path, headers, key, want, said) in cases {
            let body = if path.starts_with("/anthropic") {
                claude_body()
            } else {
                codex_body()
            };
            let (status, _, text) = sent(&h.serve(key, &request(path, &headers, body)));
            assert_eq!(status, want, "{path} {headers:?} {key:?}: {text}");
            let e = h.last();
            assert_eq!(e["key"], said, "{path} {headers:?}");
            assert_eq!(e["status"], want);
            if status != 401 {
                continue;
            }
            let v: Value = serde_json::from_str(&text).unwrap();
            assert_eq!(e["usage"], Value::Null, "a refusal reports no usage");
            if path.starts_with("/anthropic") {
                assert_eq!(v["type"], "error");
                assert_eq!(v["error"]["type"], "authentication_error");
                assert!(v["error"]["message"].is_string());
            } else {
                assert_eq!(v["error"]["type"], "invalid_request_error");
                assert_eq!(v["error"]["code"], "invalid_api_key");
                assert!(v["error"]["message"].is_string());
            }
        }
    }

    #[test]
    fn keys_are_the_same_only_byte_for_byte() {
        assert!(same_key(b"abc", b"abc"));
        assert!(same_key(b"", b""));
        for (a, b) in [("abc", "abd"), ("abc", "ab"), ("ab", "abc"), ("", "a")] {
            assert!(!same_key(a.as_bytes(), b.as_bytes()), "{a} {b}");
        }
    }

    fn usage() -> Usage {
        Usage {
            input: 1200,
            output: 340,
            cached: 5000,
            cache_write: 700,
            reasoning: 90,
        }
    }

    #[test]
    fn anthropic_reports_every_figure_in_message_start_and_message_delta() {
        let h = Harness::new(vec![Step {
            text: Some("Done.".into()),
            usage: Some(usage()),
            ..Default::default()
        }]);
        let (status, _, body) =
            sent(&h.serve(None, &request("/anthropic/v1/messages", &[], claude_body())));
        assert_eq!(status, 200);
        let ev = events(&body);
        let start = &ev.iter().find(|(n, _)| n == "message_start").unwrap().1;
        let u = &start["message"]["usage"];
        assert_eq!(u["input_tokens"], 1200);
        assert_eq!(u["cache_read_input_tokens"], 5000);
        assert_eq!(u["cache_creation_input_tokens"], 700);
        let delta = &ev.iter().find(|(n, _)| n == "message_delta").unwrap().1;
        let u = &delta["usage"];
        assert_eq!(u["output_tokens"], 340);
        assert_eq!(u["input_tokens"], 1200);
        assert_eq!(u["cache_read_input_tokens"], 5000);
        assert_eq!(u["cache_creation_input_tokens"], 700);
        let e = h.last();
        assert_eq!(e["api"], "anthropic");
        assert_eq!(e["model"], "claude-x");
        assert_eq!(e["repo"], "acme/api");
        assert_eq!(e["issue"], 1);
        assert_eq!(e["step"], 0);
        assert_eq!(
            e["usage"],
            json!({"input": 1200, "output": 340, "cached": 5000, "cache_write": 700, "reasoning": 90})
        );
        // not streamed: the message's usage
        let mut b = claude_body();
        b["stream"] = json!(false);
        let (_, _, body) = sent(&h.serve(None, &request("/anthropic/v1/messages", &[], b)));
        let v: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(
            v["usage"],
            json!({"input_tokens": 1200, "output_tokens": 340,
                   "cache_creation_input_tokens": 700, "cache_read_input_tokens": 5000})
        );
    }

    #[test]
    fn openai_reports_cached_and_reasoning_tokens_in_response_completed() {
        let h = Harness::new(vec![Step {
            text: Some("Done.".into()),
            usage: Some(usage()),
            ..Default::default()
        }]);
        let (_, _, body) =
            sent(&h.serve(None, &request("/openai/v1/responses", &[], codex_body())));
        let ev = events(&body);
        let done = &ev
            .iter()
            .find(|(n, _)| n == "response.completed")
            .unwrap()
            .1;
        let u = &done["response"]["usage"];
        assert_eq!(u["input_tokens"], 1200);
        assert_eq!(u["input_tokens_details"]["cached_tokens"], 5000);
        assert_eq!(u["output_tokens"], 340);
        assert_eq!(u["output_tokens_details"]["reasoning_tokens"], 90);
        assert_eq!(u["total_tokens"], 1540);
        let e = h.last();
        assert_eq!(
            (e["api"].clone(), e["model"].clone()),
            (json!("openai"), json!("gpt-x"))
        );
        assert_eq!(e["usage"]["reasoning"], 90);
        assert_eq!(e["status"], 200);
    }

    #[test]
    fn a_status_step_answers_its_status_and_headers_its_first_times() {
        let step: Step = serde_json::from_value(json!({
            "text": "Done.", "status": 429, "retry_after": 1, "times": 2,
            "headers": {"anthropic-ratelimit-requests-remaining": "0"}}))
        .unwrap();
        let h = Harness::new(vec![step]);
        for _ in 0..2 {
            let (status, headers, body) =
                sent(&h.serve(None, &request("/anthropic/v1/messages", &[], claude_body())));
            assert_eq!(status, 429);
            assert!(
                headers.contains(&("retry-after".into(), "1".into())),
                "{headers:?}"
            );
            assert!(
                headers
                    .iter()
                    .any(|(k, _)| k == "anthropic-ratelimit-requests-remaining")
            );
            let v: Value = serde_json::from_str(&body).unwrap();
            assert_eq!(v["error"]["type"], "rate_limit_error");
            assert_eq!(h.last()["status"], 429);
            assert_eq!(h.last()["usage"], Value::Null);
        }
        let (status, _, _) =
            sent(&h.serve(None, &request("/anthropic/v1/messages", &[], claude_body())));
        assert_eq!(status, 200, "past its times the step answers as written");
        // without times: every asking; OpenAI's words
        let h = Harness::new(vec![Step {
            status: Some(529),
            ..Default::default()
        }]);
        for _ in 0..3 {
            let (status, _, body) =
                sent(&h.serve(None, &request("/openai/v1/responses", &[], codex_body())));
            assert_eq!(status, 529);
            let v: Value = serde_json::from_str(&body).unwrap();
            assert_eq!(v["error"]["type"], "server_error");
        }
    }

    #[test]
    fn a_cut_step_sends_its_first_events_and_the_usage_they_carried() {
        type Case = (&'static str, usize, usize, Value);
        let cases: [Case; 4] = [
            // message_start carried the input and one output token
            ("/anthropic/v1/messages", 2, 2, json!(1)),
            ("/anthropic/v1/messages", 0, 0, Value::Null),
            ("/anthropic/v1/messages", 5, 5, json!(340)),
            // Responses' usage is in its last event only
            ("/openai/v1/responses", 3, 3, Value::Null),
        ];
        for (path, cut, want_events, want_output) in cases {
            let h = Harness::new(vec![Step {
                text: Some("Done.".into()),
                usage: Some(usage()),
                cut_after: Some(cut),
                ..Default::default()
            }]);
            let body = if path.starts_with("/anthropic") {
                claude_body()
            } else {
                codex_body()
            };
            let reply = h.serve(None, &request(path, &[], body));
            assert!(matches!(reply, Reply::Cut { .. }), "{path} {cut}");
            let (_, _, text) = sent(&reply);
            assert_eq!(events(&text).len(), want_events, "{path} {cut}");
            let e = h.last();
            assert_eq!(e["cut_after"], cut);
            assert_eq!(e["usage"]["output"], want_output, "{path} {cut}");
        }
        // past the events there is nothing to cut
        let h = Harness::new(vec![Step {
            text: Some("Done.".into()),
            cut_after: Some(99),
            ..Default::default()
        }]);
        let reply = h.serve(None, &request("/openai/v1/responses", &[], codex_body()));
        assert!(matches!(reply, Reply::Send { .. }));
    }

    /// A stalled step sends what a cut one sends (message_start: the input
    /// billed) and then holds the connection open instead of closing it.
    #[test]
    fn a_stalled_step_sends_its_first_events_then_holds_the_answer_open() {
        for stall in [false, true] {
            let h = Harness::new(vec![Step {
                text: Some("Done.".into()),
                usage: Some(usage()),
                cut_after: Some(1),
                stall,
                ..Default::default()
            }]);
            let reply = h.serve(None, &request("/anthropic/v1/messages", &[], claude_body()));
            assert_eq!(matches!(reply, Reply::Stall { .. }), stall);
            let (_, _, text) = sent(&reply);
            let e = events(&text);
            assert_eq!(e.len(), 1, "{stall}");
            assert_eq!(e[0].0, "message_start");
        }
    }

    #[test]
    fn a_shell_step_calls_the_shell_tool_the_request_offers_beside_tools_of_any_shape() {
        let shell = "git commit -qm x";
        let f = |name: &str| json!({"type": "function", "name": name, "parameters": {"type": "object"}});
        // Codex's sub-agent tools as some models get them: a namespace
        let ns = json!({"type": "namespace", "name": "multi_agent_v1", "description": "sub-agents",
                        "tools": [f("spawn_agent"), f("wait_agent")]});
        let patch = json!({"type": "custom", "name": "apply_patch"});
        // (the tools offered, the call's name, its arguments)
        let cases: Vec<(Value, &str, Value)> = vec![
            (
                json!([f("exec_command"), f("shell_command")]),
                "exec_command",
                json!({"cmd": shell, "yield_time_ms": 30000}),
            ),
            (
                json!([ns.clone(), f("shell_command"), patch.clone()]),
                "shell_command",
                json!({"command": shell}),
            ),
            (
                json!([ns, f("shell")]),
                "shell",
                json!({"command": ["bash", "-lc", shell]}),
            ),
            (json!([patch]), "exec_command", json!({"cmd": shell})),
            (Value::Null, "exec_command", json!({"cmd": shell})),
        ];
        for (tools, name, args) in cases {
            let h = Harness::new(vec![Step {
                shell: Some(shell.into()),
                ..Default::default()
            }]);
            let mut body = codex_body();
            body["tools"] = tools.clone();
            let (status, _, text) =
                sent(&h.serve(None, &request("/openai/v1/responses", &[], body)));
            assert_eq!(status, 200, "{tools}");
            let ev = events(&text);
            let item = &ev
                .iter()
                .find(|(n, _)| n == "response.output_item.done")
                .unwrap()
                .1["item"];
            assert_eq!(item["type"], "function_call", "{tools}");
            assert_eq!(item["name"], name, "{tools}");
            let got: Value = serde_json::from_str(item["arguments"].as_str().unwrap()).unwrap();
            assert_eq!(got, args, "{tools}");
            assert_eq!(h.last()["status"], 200);
        }
    }
}
