//! What a request's body and feature headers ask of the vendor, judged
//! before anything goes upstream (docs/runners.md#closed-by-default): the
//! gateway passes what it understands and refuses the rest, never passes it
//! unread and never prices it at zero.
//!
//! [`judge`] takes the endpoint, the body as the agent sent it, the values of
//! its `anthropic-beta` / `OpenAI-Beta` headers and `[runner.model]
//! allow_features`, and gives either a [`Judged`] (the model, what the answer
//! may still cost, what the price depends on, the body as it goes upstream
//! when afk changed it) or a [`Refused`] (status and one line for the run's log):
//!
//! - a body that is not one JSON object with every key once, at every depth,
//!   is refused (400): the vendor reads the last of two `model`s, afk would
//!   price the first;
//! - a billed request that names no model is refused (400);
//! - features that make the vendor act outside the box (server-side tools
//!   that fetch, search, run code, reach MCP servers or files;
//!   `background: true`; a priority tier; a beta header value afk does not
//!   know) are refused (403) unless `allow_features` names them
//!   ([`FEATURES`] lists the names); a Responses `namespace` tool is read
//!   as the group of tools it is, each judged as a top-level tool, and
//!   refused when afk cannot read it whole (see [`MAX_NAMESPACE_TOOLS`]);
//! - a streamed Chat Completion goes upstream with
//!   `stream_options.include_usage = true`, so its usage arrives.

use super::{Api, Endpoint};
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// The names `allow_features` takes (each refused unless named), with what
/// each lets the vendor do. A tool's type names its feature without its date
/// (`web_search_20250305` is `web_search`); a beta header value is named
/// whole (`anthropic-beta: mcp-client-2025-04-04` by `mcp-client-2025-04-04`).
pub const FEATURES: [(&str, &str); 12] = [
    ("web_search", "the vendor searches the web for the agent"),
    ("web_fetch", "the vendor fetches URLs for the agent"),
    (
        "code_execution",
        "the vendor runs code in a container of its own",
    ),
    (
        "mcp_servers",
        "the vendor reaches MCP servers the request names",
    ),
    (
        "mcp",
        "the vendor reaches an MCP server the request names (OpenAI)",
    ),
    ("file_search", "the vendor searches files stored with it"),
    (
        "code_interpreter",
        "the vendor runs code in a container of its own (OpenAI)",
    ),
    ("computer", "computer use: the vendor's computer-use tool"),
    ("computer_use_preview", "computer use (OpenAI)"),
    ("image_generation", "the vendor makes images (billed apart)"),
    (
        "background",
        "an answer billed later, while afk meters none",
    ),
    (
        "priority",
        "the priority tier (billed above the table's prices)",
    ),
];

/// Beta header values that change only the answer's shape, passed without
/// being named (what the pinned Claude Code and Codex send). Any other value
/// is a feature.
pub(crate) const SHAPE_BETAS: [&str; 12] = [
    "claude-code-20250219",
    "interleaved-thinking-2025-05-14",
    "fine-grained-tool-streaming-2025-05-14",
    "token-efficient-tools-2025-02-19",
    "prompt-caching-2024-07-31",
    "context-management-2025-06-27",
    "effort-2025-11-24",
    "oauth-2025-04-20",
    "structured-outputs-2025-11-13",
    "output-128k-2025-02-19",
    "responses=experimental",
    "responses=v1",
];

/// Tools that stay in the request: the agent runs them, in its box
/// (Anthropic's versioned `bash_…`, `text_editor_…`, `memory_…`; OpenAI's
/// function and custom tools, `local_shell`, `shell`, `apply_patch`), or the
/// vendor searches the request's own tool list with them (`tool_search`,
/// Anthropic's `tool_search_tool_…`), reaching nothing else.
const CLIENT_TOOL_PREFIXES: [&str; 4] = ["bash_", "text_editor_", "memory_", "tool_search_tool_"];
const CLIENT_TOOLS: [&str; 7] = [
    "tool_search",
    "custom",
    "function",
    "local_shell",
    "shell",
    "apply_patch",
    "",
];

/// The most tools one Responses `namespace` may hold: one holding more is
/// refused, so a request cannot make the judge walk without end.
pub(crate) const MAX_NAMESPACE_TOOLS: usize = 512;

/// What an answer is reserved when its request sets no output limit
/// (OpenAI's `max_output_tokens` is optional): tokens.
pub(crate) const DEFAULT_MAX_OUTPUT: u64 = 32_000;

/// A request the gateway passes.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Judged {
    /// The model the body names (cleaned for a log line).
    pub model: Option<String>,
    /// The most output tokens the answer may bill (its `max_tokens`,
    /// `max_output_tokens`, `max_completion_tokens`; else [`DEFAULT_MAX_OUTPUT`]).
    pub max_output: u64,
    /// What the price depends on beyond the usage.
    pub asks: Asks,
    /// The body's `stream: true` (its chat span's `gen_ai.request.stream`).
    pub stream: bool,
    /// The body's own output cap, when it names one (`gen_ai.request.max_tokens`).
    pub max_tokens: Option<u64>,
    /// The body as it goes upstream, when afk changed it (None: as sent).
    pub body: Option<Vec<u8>>,
}

/// What a request asks that the vendor bills above the standard prices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Asks {
    /// A cache breakpoint with `ttl: "1h"` (Anthropic: 2x input per write).
    pub one_hour_cache: bool,
    /// The 1M-token context (Anthropic's `context-1m-…` beta): input over
    /// 200k tokens is billed at the long-context rates.
    pub long_context: bool,
}

/// A request refused: its status (400 or 403) and one line for the run's log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    pub status: u16,
    pub reason: String,
}

/// Why a request's body or its tools do not read unambiguously: the words
/// a [`Refused`] carries (a type of its own, so no other failure is taken
/// for one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Unclear(pub(crate) String);

impl std::fmt::Display for Unclear {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<String> for Unclear {
    fn from(s: String) -> Unclear {
        Unclear(s)
    }
}

impl From<&str> for Unclear {
    fn from(s: &str) -> Unclear {
        Unclear(s.to_string())
    }
}

/// The body's JSON, every key once at every depth (else: which key).
pub(crate) fn strict_json(body: &[u8]) -> Result<Value, Unclear> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let v = <Strict as serde::Deserialize>::deserialize(&mut de).map_err(|e| e.to_string())?;
    de.end().map_err(|e| e.to_string())?;
    Ok(v.0)
}

struct Strict(Value);

impl<'de> serde::Deserialize<'de> for Strict {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(StrictVisitor).map(Strict)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("JSON")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = vec![];
        while let Some(Strict(v)) = seq.next_element()? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(k) = map.next_key::<String>()? {
            if out.contains_key(&k) {
                return Err(de::Error::custom(format!(
                    "the key \"{}\" is written twice",
                    crate::sanitize::one_line(&k, 60)
                )));
            }
            let Strict(v) = map.next_value()?;
            out.insert(k, v);
        }
        Ok(Value::Object(out))
    }
}

/// A tool's feature name: its type without a trailing `_YYYYMMDD`.
fn undated(kind: &str) -> &str {
    match kind.rsplit_once('_') {
        Some((head, date)) if date.len() == 8 && date.bytes().all(|b| b.is_ascii_digit()) => head,
        _ => kind,
    }
}

/// Whether a tool's type is one the agent runs itself.
fn client_tool(kind: &str) -> bool {
    CLIENT_TOOLS.contains(&kind) || CLIENT_TOOL_PREFIXES.iter().any(|p| kind.starts_with(p))
}

/// A feature a request asks for: its name (what `allow_features` takes)
/// and, for a tool inside a Responses `namespace`, that namespace's name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Asked {
    feature: String,
    within: Option<String>,
}

impl Asked {
    fn top(feature: impl Into<String>) -> Asked {
        Asked {
            feature: feature.into(),
            within: None,
        }
    }
}

/// The feature a tool of type `kind` asks for; None: the agent runs it.
fn tool_feature(kind: &str) -> Option<String> {
    if client_tool(kind) {
        return None;
    }
    let name = undated(kind);
    let name = name
        .strip_suffix("_preview")
        .filter(|n| *n == "web_search")
        .unwrap_or(name);
    Some(crate::sanitize::one_line(name, 60))
}

/// The features a request's `tools` ask for, into `out`.
///
/// On the Responses API a tool of type `namespace` is a group of tools, not
/// a feature: `{"type": "namespace", "name": …, "description": …, "tools":
/// [ {"type": "function", …}, … ]}` (how Codex sends its sub-agent tools as
/// `multi_agent_v1`, and MCP tools; read in openai/codex
/// codex-rs/tools/src/responses_api.rs, `ResponsesApiNamespace` and
/// `ResponsesApiNamespaceTool`, serialised whole by
/// codex-rs/tools/src/tool_spec.rs, `ToolSpec::Namespace`). Each tool in it
/// is judged as a top-level tool, its feature named with the namespace.
/// Closed by default, Err (why) for what afk does not read: a namespace
/// without a name or a `tools` list, one holding more than
/// [`MAX_NAMESPACE_TOOLS`], a namespace in a namespace, an entry with no
/// type. Elsewhere (Chat Completions, Anthropic's Messages: neither groups
/// tools) `namespace` is a type like any other afk does not know.
fn tool_features(endpoint: Endpoint, tools: &[Value], out: &mut Vec<Asked>) -> Result<(), Unclear> {
    for t in tools {
        let kind = t.get("type").and_then(Value::as_str).unwrap_or("");
        if endpoint != Endpoint::Responses || kind != "namespace" {
            out.extend(tool_feature(kind).map(Asked::top));
            continue;
        }
        let Some(name) = t
            .get("name")
            .and_then(Value::as_str)
            .filter(|n| !n.is_empty())
        else {
            return Err("a tool namespace names no namespace".into());
        };
        let name = crate::sanitize::one_line(name, 60);
        let Some(Value::Array(inner)) = t.get("tools") else {
            return Err(format!("the tool namespace \"{name}\" has no tools list").into());
        };
        if inner.len() > MAX_NAMESPACE_TOOLS {
            return Err(format!(
                "the tool namespace \"{name}\" holds {} tools, more than the {MAX_NAMESPACE_TOOLS} afk reads in one",
                inner.len()
            ).into());
        }
        for i in inner {
            let kind = match i.get("type").and_then(Value::as_str) {
                Some("namespace") => {
                    return Err(format!(
                        "the tool namespace \"{name}\" holds a namespace (afk reads one level)"
                    )
                    .into());
                }
                Some(k) if !k.is_empty() => k,
                _ => {
                    return Err(
                        format!("the tool namespace \"{name}\" holds a tool with no type").into(),
                    );
                }
            };
            out.extend(tool_feature(kind).map(|feature| Asked {
                feature,
                within: Some(name.clone()),
            }));
        }
    }
    Ok(())
}

/// Every feature `v` asks for (server-side tools, background, tiers), or
/// why its tools cannot be judged ([`tool_features`]).
fn features_of(
    api: Api,
    endpoint: Endpoint,
    v: &Map<String, Value>,
) -> Result<Vec<Asked>, Unclear> {
    let mut out = vec![];
    let non_empty = |k: &str| match v.get(k) {
        None | Some(Value::Null) => false,
        Some(Value::Array(a)) => !a.is_empty(),
        Some(Value::Object(o)) => !o.is_empty(),
        Some(Value::Bool(b)) => *b,
        Some(_) => true,
    };
    if let Some(Value::Array(tools)) = v.get("tools") {
        tool_features(endpoint, tools, &mut out)?;
    }
    let mut found: Vec<String> = vec![];
    match api {
        Api::Anthropic => {
            if non_empty("mcp_servers") {
                found.push("mcp_servers".into());
            }
            if non_empty("container") {
                found.push("code_execution".into());
            }
        }
        Api::OpenAi => {
            if v.get("background").and_then(Value::as_bool) == Some(true) {
                found.push("background".into());
            }
            if endpoint == Endpoint::ChatCompletions && non_empty("web_search_options") {
                found.push("web_search".into());
            }
        }
    }
    if let Some(tier) = v.get("service_tier").and_then(Value::as_str)
        && tier.eq_ignore_ascii_case("priority")
    {
        found.push("priority".into());
    }
    for (k, x) in v {
        if !matches!(k.as_str(), "tools" | "tool_choice" | "metadata") {
            sourced(x, &mut found);
        }
    }
    out.extend(found.into_iter().map(Asked::top));
    out.sort();
    out.dedup();
    Ok(out)
}

/// Content the vendor would fetch or read for the agent, anywhere in a
/// message: a block whose `source` is a URL (Anthropic's images and
/// documents) or an `image_url`/`file_url` naming an http(s) address
/// (OpenAI's), `url_sources`: the vendor's own fetch, a way out of the box
/// for whatever the URL carries; a stored file by id (`source.type =
/// "file"`, `file_id`), `file_ids`: files afk's key can read that are not
/// the turn's. Inline content (base64, `data:` URLs) is the agent's own.
fn sourced(v: &Value, out: &mut Vec<String>) {
    let remote = |x: &Value| {
        let url = x
            .as_str()
            .or_else(|| x.get("url").and_then(Value::as_str))
            .unwrap_or("");
        let lower = url.trim_start().to_ascii_lowercase();
        lower.starts_with("http:") || lower.starts_with("https:") || lower.starts_with("//")
    };
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                match k.as_str() {
                    "source" => match x.get("type").and_then(Value::as_str) {
                        Some("url") => out.push("url_sources".into()),
                        Some("file") => out.push("file_ids".into()),
                        _ => {}
                    },
                    "image_url" | "file_url" if remote(x) => out.push("url_sources".into()),
                    "file_id" if !x.is_null() && x.as_str() != Some("") => {
                        out.push("file_ids".into())
                    }
                    _ => {}
                }
                sourced(x, out);
            }
        }
        Value::Array(a) => a.iter().for_each(|x| sourced(x, out)),
        _ => {}
    }
}

/// The output limit the body sets, if any.
fn max_output(v: &Map<String, Value>) -> Option<u64> {
    ["max_tokens", "max_output_tokens", "max_completion_tokens"]
        .iter()
        .filter_map(|k| v.get(*k).and_then(Value::as_u64))
        .max()
}

/// Whether any `cache_control` in `v` asks for a one-hour cache.
fn one_hour_cache(v: &Value) -> bool {
    match v {
        Value::Object(m) => m.iter().any(|(k, x)| {
            (k == "cache_control" && x.get("ttl").and_then(Value::as_str) == Some("1h"))
                || one_hour_cache(x)
        }),
        Value::Array(a) => a.iter().any(one_hour_cache),
        _ => false,
    }
}

/// Judge a request before it goes upstream (see the module's docs).
/// `betas`: the values of its `anthropic-beta` and `OpenAI-Beta` headers,
/// each header as sent (comma-separated values).
pub fn judge(
    api: Api,
    endpoint: Endpoint,
    body: &[u8],
    betas: &[&str],
    allow: &[String],
) -> Result<Judged, Refused> {
    let allowed = |f: &str| allow.iter().any(|a| a.trim().eq_ignore_ascii_case(f));
    let forbid = |what: String| Refused {
        status: 403,
        reason: crate::sanitize::one_line(
            &format!(
                "refused a request that asks the vendor for {what}: not in [runner.model] allow_features, so the vendor never acts outside the box for the agent"
            ),
            400,
        ),
    };
    let mut long_context = false;
    let mut unknown = vec![];
    for header in betas {
        for value in header.split(',').map(str::trim).filter(|b| !b.is_empty()) {
            if value.to_ascii_lowercase().starts_with("context-1m-") {
                long_context = true;
            }
            if !SHAPE_BETAS.iter().any(|s| s.eq_ignore_ascii_case(value)) && !allowed(value) {
                unknown.push(format!("\"{}\"", crate::sanitize::one_line(value, 80)));
            }
        }
    }
    if !unknown.is_empty() {
        let s = if unknown.len() == 1 { "" } else { "s" };
        return Err(forbid(format!("the beta{s} {}", unknown.join(", "))));
    }
    if endpoint == Endpoint::Models {
        return Ok(Judged {
            max_output: 0,
            ..Judged::default()
        });
    }
    let bad = |why: Unclear| Refused {
        status: 400,
        reason: crate::sanitize::one_line(
            &format!("refused a request whose body afk cannot read unambiguously: {why}"),
            400,
        ),
    };
    let v = strict_json(body).map_err(bad)?;
    let Value::Object(obj) = &v else {
        return Err(bad("it is not one JSON object".into()));
    };
    let model = obj
        .get("model")
        .and_then(Value::as_str)
        .and_then(super::usage::clean_model);
    if model.is_none() {
        return Err(bad("it names no model".into()));
    }
    let asked = features_of(api, endpoint, obj).map_err(|why| Refused {
        status: 403,
        reason: crate::sanitize::one_line(
            &format!(
                "refused a request whose tools afk cannot judge: {why}; a namespace's tools are judged one by one, and none passes unread"
            ),
            400,
        ),
    })?;
    if let Some(a) = asked.into_iter().find(|a| !allowed(&a.feature)) {
        return Err(forbid(match &a.within {
            None => format!("\"{}\"", a.feature),
            Some(ns) => format!("\"{}\" (a tool in the namespace \"{ns}\")", a.feature),
        }));
    }
    let mut judged = Judged {
        model,
        max_output: max_output(obj).unwrap_or(DEFAULT_MAX_OUTPUT),
        stream: obj.get("stream").and_then(Value::as_bool) == Some(true),
        max_tokens: max_output(obj),
        asks: Asks {
            one_hour_cache: api == Api::Anthropic && one_hour_cache(&v),
            long_context: api == Api::Anthropic && long_context,
        },
        body: None,
    };
    if endpoint == Endpoint::ChatCompletions
        && obj.get("stream").and_then(Value::as_bool) == Some(true)
        && obj
            .get("stream_options")
            .and_then(|o| o.get("include_usage"))
            .and_then(Value::as_bool)
            != Some(true)
    {
        let mut v = v.clone();
        if let Value::Object(o) = &mut v {
            let opts = o
                .entry("stream_options")
                .or_insert_with(|| Value::Object(Map::new()));
            if !opts.is_object() {
                *opts = Value::Object(Map::new());
            }
            opts["include_usage"] = Value::Bool(true);
        }
        judged.body = serde_json::to_vec(&v).ok();
    }
    Ok(judged)
}

#[cfg(test)]
mod tests;
