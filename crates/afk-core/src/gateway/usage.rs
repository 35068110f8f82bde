//! What an answer used, read from its bytes as they stream through
//! (docs/runners.md#the-model-gateway-runnermodel), and the model a
//! request's body names.
//!
//! [`UsageReader`] is fed each chunk of the answer's body as the gateway
//! passes it on; its memory is bounded: one line of at most [`MAX_LINE`]
//! bytes (a longer line is skipped and counted, and its last [`TAIL`] bytes
//! are still searched for a `"usage"` object: OpenAI's `response.completed`
//! carries the whole answer before its usage). What it reads:
//! - Anthropic, streamed: `message_start`'s `message.usage` and each
//!   `message_delta`'s `usage` (their counts are running totals: the latest
//!   of each wins), `cache_creation_input_tokens` and
//!   `cache_read_input_tokens` included;
//! - OpenAI Responses, streamed: `response.completed`'s (or `.incomplete`'s,
//!   `.failed`'s) `response.usage`, cached input
//!   (`input_tokens_details.cached_tokens`, `cache_write_tokens`) and
//!   reasoning (`output_tokens_details.reasoning_tokens`) included; Chat
//!   Completions' last chunk's `usage` (`prompt_tokens`, …);
//! - a whole JSON answer's `usage`.
//!
//! An answer cut mid-stream yields what had arrived.
//!
//! [`Usage`] is kept in one convention whatever the API: `input` counts the
//! uncached input tokens alone (Anthropic's `input_tokens`; OpenAI's
//! `input_tokens` less its cached and cache-written ones), `output` includes
//! reasoning (both APIs bill reasoning as output).

use super::Api;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The longest line (an SSE `data:` line, or a whole JSON answer) read whole.
pub const MAX_LINE: usize = 4 << 20;
/// How much of the end of a longer line is kept to find its `usage`.
pub(crate) const TAIL: usize = 64 << 10;
/// How much of a line's start is kept to know its event.
const HEAD: usize = 512;

/// Tokens one answer used, in afk's convention (see the module's docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Usage {
    /// Uncached input tokens.
    pub input: u64,
    /// Input read from the cache.
    pub cache_read: u64,
    /// Input written to the cache.
    pub cache_write: u64,
    /// Output tokens, reasoning included.
    pub output: u64,
    /// Of `output`, reasoning (OpenAI's `reasoning_tokens`): shown, not
    /// priced again.
    pub reasoning: u64,
    /// Of `cache_write`, the one-hour cache's (Anthropic's
    /// `cache_creation.ephemeral_1h_input_tokens`): billed at 2x input.
    #[serde(skip_serializing_if = "is_zero")]
    pub cache_write_1h: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl Usage {
    pub fn is_zero(&self) -> bool {
        *self == Usage::default()
    }
}

fn n(v: &Value) -> Option<u64> {
    v.as_u64()
        .or_else(|| v.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64))
}

/// The counts of an Anthropic `usage` object, each over `u`'s where present.
fn anthropic_into(u: &mut Usage, v: &Value) {
    if let Some(x) = n(&v["input_tokens"]) {
        u.input = x;
    }
    if let Some(x) = n(&v["cache_read_input_tokens"]) {
        u.cache_read = x;
    }
    if let Some(x) = n(&v["cache_creation_input_tokens"]) {
        u.cache_write = x;
    }
    if let Some(x) = n(&v["output_tokens"]) {
        u.output = x;
    }
    if let Some(x) = n(&v["cache_creation"]["ephemeral_1h_input_tokens"]) {
        u.cache_write_1h = x;
    }
}

/// An OpenAI `usage` object (Responses' `input_tokens` or Chat's
/// `prompt_tokens`): input includes cached and cache-written tokens, output
/// includes reasoning.
fn openai(v: &Value) -> Usage {
    let chat = v.get("prompt_tokens").is_some();
    let (input, output, idet, odet) = if chat {
        (
            "prompt_tokens",
            "completion_tokens",
            "prompt_tokens_details",
            "completion_tokens_details",
        )
    } else {
        (
            "input_tokens",
            "output_tokens",
            "input_tokens_details",
            "output_tokens_details",
        )
    };
    let cache_read = n(&v[idet]["cached_tokens"]).unwrap_or(0);
    let cache_write = n(&v[idet]["cache_write_tokens"]).unwrap_or(0);
    let all_input = n(&v[input]).unwrap_or(0);
    Usage {
        input: all_input
            .saturating_sub(cache_read)
            .saturating_sub(cache_write),
        cache_read,
        cache_write,
        output: n(&v[output]).unwrap_or(0),
        reasoning: n(&v[odet]["reasoning_tokens"]).unwrap_or(0),
        cache_write_1h: 0,
    }
}

/// How an answer's body is framed: by its `Content-Type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// `text/event-stream`: lines, the usage on `data:` lines.
    Sse,
    /// Anything else: one JSON value, its `usage`.
    Json,
}

impl Framing {
    pub fn of_content_type(content_type: Option<&str>) -> Framing {
        match content_type {
            Some(t)
                if t.trim()
                    .to_ascii_lowercase()
                    .starts_with("text/event-stream") =>
            {
                Framing::Sse
            }
            _ => Framing::Json,
        }
    }
}

/// What an answer says of itself, for its chat span:
/// `gen_ai.response.id`, `.model` and `.finish_reasons`. Outside text,
/// kept short and printable ([`Answered::note`]).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Answered {
    pub id: Option<String>,
    pub model: Option<String>,
    /// Anthropic's `stop_reason`; OpenAI's `finish_reason`s, or the
    /// Responses API's `status`.
    pub finish: Vec<String>,
}

/// The longest id, model or reason an answer's facts keep.
const FACT_MAX: usize = 128;
/// The most finish reasons kept (one per choice).
const FINISH_MAX: usize = 8;

impl Answered {
    /// Kept only when printable ASCII and short: anything else is not a
    /// fact afk passes on.
    fn clean(v: &Value) -> Option<String> {
        let s = v.as_str()?;
        (!s.is_empty() && s.len() <= FACT_MAX && s.bytes().all(|b| b.is_ascii_graphic()))
            .then(|| s.to_string())
    }

    /// What `v` (an answer's object: a message, a response, a chunk) says.
    fn note(&mut self, v: &Value) {
        if let Some(id) = Self::clean(&v["id"]) {
            self.id = Some(id);
        }
        if let Some(m) = Self::clean(&v["model"]) {
            self.model = Some(m);
        }
    }

    /// One finish reason (`None`: the value is not one).
    fn finished(&mut self, v: &Value) {
        if let Some(r) = Self::clean(v)
            && self.finish.len() < FINISH_MAX
        {
            self.finish.push(r);
        }
    }
}

/// What [`UsageReader::finish`] found.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Read {
    /// None: no usage arrived (an error answer, or one cut before its usage).
    pub usage: Option<Usage>,
    /// Lines longer than [`MAX_LINE`], skipped (their tail searched).
    pub skipped_lines: u32,
    /// Whether the answer's end arrived (`message_stop`, `response.completed`,
    /// `[DONE]`, or a whole JSON body).
    pub complete: bool,
    /// What the answer said of itself.
    pub answered: Answered,
}

/// Reads an answer's usage as its bytes go by (see the module's docs).
#[derive(Debug, Clone)]
pub struct UsageReader {
    api: Api,
    framing: Framing,
    line: Vec<u8>,
    /// The line is over [`MAX_LINE`]: its head and its last [`TAIL`] bytes.
    long: Option<(Vec<u8>, Vec<u8>)>,
    usage: Option<Usage>,
    skipped: u32,
    complete: bool,
    answered: Answered,
}

impl UsageReader {
    pub fn new(api: Api, framing: Framing) -> UsageReader {
        UsageReader {
            api,
            framing,
            line: Vec::new(),
            long: None,
            usage: None,
            skipped: 0,
            complete: false,
            answered: Answered::default(),
        }
    }

    /// The next bytes of the answer.
    pub fn feed(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() {
            let end = match self.framing {
                Framing::Sse => bytes.iter().position(|b| *b == b'\n'),
                Framing::Json => None,
            };
            let (part, rest, ended) = match end {
                Some(i) => (&bytes[..i], &bytes[i + 1..], true),
                None => (bytes, &[][..], false),
            };
            self.take(part);
            if ended {
                self.end_line();
            }
            bytes = rest;
        }
    }

    fn take(&mut self, part: &[u8]) {
        if let Some((_, tail)) = &mut self.long {
            tail.extend_from_slice(part);
            if tail.len() > TAIL {
                tail.drain(..tail.len() - TAIL);
            }
            return;
        }
        if self.line.len() + part.len() <= MAX_LINE {
            self.line.extend_from_slice(part);
            return;
        }
        let mut all = std::mem::take(&mut self.line);
        all.extend_from_slice(part);
        let head = all[..HEAD.min(all.len())].to_vec();
        let tail = all[all.len().saturating_sub(TAIL)..].to_vec();
        self.long = Some((head, tail));
    }

    fn end_line(&mut self) {
        if let Some((head, tail)) = self.long.take() {
            self.skipped += 1;
            self.rescue(&head, &tail);
            return;
        }
        let line = std::mem::take(&mut self.line);
        self.line = Vec::with_capacity(0);
        self.read_line(&line);
    }

    fn read_line(&mut self, line: &[u8]) {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        match self.framing {
            Framing::Sse => {
                let Some(data) = line.strip_prefix(b"data:") else {
                    return;
                };
                let data = data.trim_ascii();
                if data == b"[DONE]" {
                    self.complete = true;
                    return;
                }
                if let Ok(v) = serde_json::from_slice::<Value>(data) {
                    self.event(&v);
                }
            }
            Framing::Json => {
                if let Ok(v) = serde_json::from_slice::<Value>(line) {
                    self.complete = true;
                    self.answered.note(&v);
                    self.finish_of(&v);
                    if v["usage"].is_object() {
                        self.whole(&v["usage"]);
                    }
                }
            }
        }
    }

    /// A usage object of a whole answer (or of a chunk that carries one).
    fn whole(&mut self, u: &Value) {
        match self.api {
            Api::Anthropic => {
                let mut usage = self.usage.unwrap_or_default();
                anthropic_into(&mut usage, u);
                self.usage = Some(usage);
            }
            Api::OpenAi => self.usage = Some(openai(u)),
        }
    }

    /// A whole answer's or a chunk's finish reasons.
    fn finish_of(&mut self, v: &Value) {
        match self.api {
            Api::Anthropic => self.answered.finished(&v["stop_reason"]),
            Api::OpenAi => {
                if let Some(choices) = v["choices"].as_array() {
                    for c in choices.iter().take(FINISH_MAX) {
                        self.answered.finished(&c["finish_reason"]);
                    }
                }
                self.answered.finished(&v["status"]);
            }
        }
    }

    fn event(&mut self, v: &Value) {
        let kind = v["type"].as_str().unwrap_or("");
        match (self.api, kind) {
            (Api::Anthropic, "message_start") => self.answered.note(&v["message"]),
            (Api::Anthropic, "message_delta") => self.answered.finished(&v["delta"]["stop_reason"]),
            (Api::OpenAi, k) if k.starts_with("response.") && v["response"].is_object() => {
                self.answered.note(&v["response"]);
                if matches!(
                    k,
                    "response.completed" | "response.incomplete" | "response.failed"
                ) {
                    self.answered.finished(&v["response"]["status"]);
                }
            }
            (Api::OpenAi, _) if v["choices"].is_array() => {
                self.answered.note(v);
                self.finish_of(v);
            }
            _ => {}
        }
        match (self.api, kind) {
            (Api::Anthropic, "message_start") if v["message"]["usage"].is_object() => {
                self.whole(&v["message"]["usage"]);
            }
            (Api::Anthropic, "message_delta") if v["usage"].is_object() => {
                self.whole(&v["usage"]);
            }
            (Api::Anthropic, "message_stop") => self.complete = true,
            (Api::OpenAi, k)
                if k.starts_with("response.") && v["response"]["usage"].is_object() =>
            {
                self.whole(&v["response"]["usage"]);
                if matches!(
                    k,
                    "response.completed" | "response.incomplete" | "response.failed"
                ) {
                    self.complete = true;
                }
            }
            // Chat Completions: the last chunk (stream_options.include_usage)
            (Api::OpenAi, _) if v["usage"].is_object() => self.whole(&v["usage"]),
            _ => {}
        }
    }

    /// A line too long to read whole: its last `"usage":` object, when its
    /// head shows an event that carries one.
    fn rescue(&mut self, head: &[u8], tail: &[u8]) {
        let head = String::from_utf8_lossy(head);
        let carries = match (self.framing, self.api) {
            (Framing::Json, _) => true,
            (Framing::Sse, Api::Anthropic) => {
                head.contains("message_start") || head.contains("message_delta")
            }
            (Framing::Sse, Api::OpenAi) => head.contains("\"response.") || head.contains("chunk"),
        };
        if !carries {
            return;
        }
        if let Some(u) = last_usage(tail) {
            if self.framing == Framing::Json
                || head.contains("response.completed")
                || head.contains("response.incomplete")
                || head.contains("response.failed")
            {
                self.complete = true;
            }
            self.whole(&u);
        }
    }

    /// The usage that has arrived so far (the answer still streaming):
    /// Anthropic's `message_start` carries the input as the answer begins.
    pub fn so_far(&self) -> Option<Usage> {
        self.usage
    }

    /// Whether the answer's end has arrived so far (`message_stop`,
    /// `response.completed`, `[DONE]`, a whole JSON body).
    pub fn ended(&self) -> bool {
        self.complete
    }

    /// The usage that arrived, however the answer ended.
    pub fn finish(mut self) -> Read {
        if self.long.is_some() || !self.line.is_empty() {
            // a last line with no newline (a whole JSON body, or a cut stream)
            match self.framing {
                Framing::Json => self.end_line(),
                Framing::Sse => {
                    if self.long.is_some() {
                        self.end_line();
                    } else {
                        let line = std::mem::take(&mut self.line);
                        self.read_line(&line);
                    }
                }
            }
        }
        Read {
            usage: self.usage,
            skipped_lines: self.skipped,
            complete: self.complete,
            answered: self.answered,
        }
    }
}

/// The object after the last `"usage":` in `bytes` (not inside a string:
/// a quote there would be escaped).
fn last_usage(bytes: &[u8]) -> Option<Value> {
    const KEY: &[u8] = b"\"usage\"";
    let mut end = bytes.len();
    while let Some(at) = bytes[..end].windows(KEY.len()).rposition(|w| w == KEY) {
        end = at;
        if at > 0 && bytes[at - 1] == b'\\' {
            continue;
        }
        let rest = bytes[at + KEY.len()..].trim_ascii_start();
        let Some(rest) = rest.strip_prefix(b":") else {
            continue;
        };
        let mut values = serde_json::Deserializer::from_slice(rest).into_iter::<Value>();
        if let Some(Ok(v)) = values.next()
            && v.is_object()
        {
            return Some(v);
        }
    }
    None
}

/// Bytes counted as one token where an answer's usage never arrived.
pub(crate) const BYTES_PER_TOKEN: u64 = 3;

/// The usage of an answer whose usage never arrived (cut before it, or a
/// shape afk does not read), from its bytes: the request's as input, the
/// answer's as output, one token per [`BYTES_PER_TOKEN`] bytes: an upper
/// estimate, never zero for a billed answer.
pub fn estimate(sent: u64, received: u64) -> Usage {
    Usage {
        input: sent.div_ceil(BYTES_PER_TOKEN),
        output: received.div_ceil(BYTES_PER_TOKEN),
        ..Usage::default()
    }
}

/// The longest model name kept (a longer one is cut).
pub(crate) const MAX_MODEL: usize = 200;

/// A model's name cleaned for a log line (no control characters, at most
/// [`MAX_MODEL`] characters); None when nothing is left.
pub(crate) fn clean_model(model: &str) -> Option<String> {
    let clean: String = model
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_MODEL)
        .collect();
    let clean = clean.trim().to_string();
    (!clean.is_empty()).then_some(clean)
}
