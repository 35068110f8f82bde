//! The spans afk makes (docs/telemetry.md), each from plain facts the
//! caller read: names, kinds, parents and attributes, and nothing private:
//! no prompt, completion, title, comment, path, key or header. A value afk
//! does not have is an absent attribute, never `""`, `0` or `false`. Pure:
//! ids derived (`ids`) or drawn by the caller, times passed in.

use super::ids;
use crate::gateway::Api;
use crate::gateway::metered::Line;
use afk_model::telemetry::{AttrValue, Span, SpanKind, SpanStatus};

/// Attributes as they are built: pushed in order, absent ones skipped.
#[derive(Default)]
struct Attrs(Vec<(String, AttrValue)>);

impl Attrs {
    fn str(&mut self, k: &str, v: &str) -> &mut Self {
        if !v.is_empty() {
            self.0.push((k.into(), AttrValue::Str(v.into())));
        }
        self
    }
    fn opt_str(&mut self, k: &str, v: Option<&str>) -> &mut Self {
        if let Some(v) = v {
            self.str(k, v);
        }
        self
    }
    fn int(&mut self, k: &str, v: i64) -> &mut Self {
        self.0.push((k.into(), AttrValue::Int(v)));
        self
    }
    fn opt_int(&mut self, k: &str, v: Option<i64>) -> &mut Self {
        if let Some(v) = v {
            self.int(k, v);
        }
        self
    }
    fn double(&mut self, k: &str, v: f64) -> &mut Self {
        if v.is_finite() {
            self.0.push((k.into(), AttrValue::Double(v)));
        }
        self
    }
    fn opt_double(&mut self, k: &str, v: Option<f64>) -> &mut Self {
        if let Some(v) = v {
            self.double(k, v);
        }
        self
    }
    fn bool(&mut self, k: &str, v: bool) -> &mut Self {
        self.0.push((k.into(), AttrValue::Bool(v)));
        self
    }
    fn list(&mut self, k: &str, v: &[String]) -> &mut Self {
        if !v.is_empty() {
            self.0.push((k.into(), AttrValue::StrList(v.to_vec())));
        }
        self
    }
    /// What every span carries: the run, its repository and its issue.
    fn run(&mut self, run: i64, repo: &str, issue: i64) -> &mut Self {
        self.int("afk.run.id", run)
            .str("afk.repo", repo)
            .int("afk.issue", issue)
    }
    /// `error.type` with an ERROR status, when there is one.
    fn error(&mut self, error: Option<&str>) -> SpanStatus {
        match error {
            Some(e) => {
                self.str("error.type", e);
                SpanStatus::Error(e.to_string())
            }
            None => SpanStatus::Unset,
        }
    }
}

/// Micro-dollars as dollars, to the micro-dollar.
fn usd(micro: u64) -> f64 {
    micro as f64 / 1_000_000.0
}

/// A tick's work on one run (`afk.poll`, `afk.watch`).
pub struct TickFacts<'a> {
    pub instance: &'a str,
    pub run: i64,
    pub repo: &'a str,
    pub issue: i64,
    /// `poll` or `watch`
    pub kind: &'a str,
    pub tick_id: &'a str,
    /// `cron`, `hook` or `turn-end`
    pub trigger: &'a str,
    pub action: &'a str,
    pub reason: Option<&'a str>,
    /// The turn the tick started.
    pub turn: Option<u32>,
    /// `forge`, `git`, `runner` or `state` ([`error_type`]).
    pub error: Option<&'static str>,
    pub span_id: [u8; 8],
    pub start_unix_ns: u64,
    pub end_unix_ns: u64,
}

/// A tick span, under the run span, in the run's trace.
pub fn tick_span(f: &TickFacts) -> Span {
    let mut a = Attrs::default();
    a.run(f.run, f.repo, f.issue)
        .str("afk.tick.kind", f.kind)
        .str("afk.tick.id", f.tick_id)
        .str("afk.tick.trigger", f.trigger)
        .str("afk.action", f.action)
        .opt_str("afk.action.reason", f.reason)
        .opt_int("afk.turn.number", f.turn.map(i64::from));
    let status = a.error(f.error);
    Span {
        trace_id: ids::trace_id(f.instance, f.run),
        span_id: ids::nonzero(f.span_id),
        parent_span_id: Some(ids::run_span_id(f.instance, f.run)),
        name: format!("afk.{}", f.kind),
        kind: SpanKind::Internal,
        start_unix_ns: f.start_unix_ns,
        end_unix_ns: f.end_unix_ns.max(f.start_unix_ns),
        attributes: a.0,
        status,
        links: vec![],
    }
}

/// A tick's error for a run, by where it came from (the report's
/// words): the state file, git, the runner, else the forge.
pub fn error_type(messages: &[&str]) -> Option<&'static str> {
    let m = messages.first()?.to_ascii_lowercase();
    Some(if m.contains("state file") || m.contains("database") {
        "state"
    } else if m.contains("git ") || m.starts_with("git") || m.contains(": git") {
        "git"
    } else if m.contains("runner") || m.contains("agent") {
        "runner"
    } else {
        "forge"
    })
}

/// Why afk stopped a turn (its `invoke_agent` span's `error.type`), from
/// what the run's record says as the turn's end is seen: the gateway's stop
/// at a money limit, a pause at `run_time`, or the end afk decided for the
/// run (an abandoned run, a stall, `run_time`, a person's `stop`); None
/// when afk did not stop it.
pub fn turn_stopped(
    budget_stop: bool,
    paused_at: Option<&str>,
    abandoned: bool,
    end_reason: Option<&str>,
) -> Option<&'static str> {
    if budget_stop {
        return Some("budget");
    }
    match paused_at {
        Some("run_time") => return Some("timeout"),
        Some(_) => return Some("budget"),
        None => {}
    }
    if abandoned {
        return Some("abandoned");
    }
    match end_reason? {
        "stalled" => Some("stalled"),
        "timeout" => Some("timeout"),
        "stopped" => Some("stopped"),
        "over-budget" => Some("budget"),
        _ => None,
    }
}

/// A turn that ended (`invoke_agent`) and its model requests (`chat`).
pub struct TurnFacts<'a> {
    pub instance: &'a str,
    pub run: i64,
    pub repo: &'a str,
    pub issue: i64,
    /// From 1.
    pub turn: u32,
    /// `first`, `ci-red`, `review`, `asked`, `conflict`, `no-pr`, ...
    pub reason: &'a str,
    /// (name, version, sha256) of the template stored on the run.
    pub template: Option<(&'a str, i64, &'a str)>,
    /// `claude`, `codex` or `custom`
    pub agent: &'a str,
    pub exit_code: Option<i32>,
    /// afk stopped the turn: `budget`, `stalled`, `timeout`, `stopped`, `abandoned`.
    pub stopped: Option<&'static str>,
    /// The gateway's metered lines of this turn (its model requests).
    pub lines: &'a [Line],
    /// What the agent reported spending in the turn, without the gateway.
    pub reported_usd: Option<f64>,
    pub start_unix_ns: u64,
    pub end_unix_ns: u64,
}

/// `gen_ai.usage.input_tokens` counts all input, cached included. The
/// metered usage keeps input apart from the cache's reads and writes for
/// both vendors (`usage::Usage`: OpenAI's `input_tokens` less its cached
/// ones), so all of it is the three summed: Anthropic's `input_tokens +
/// cache_read_input_tokens + cache_creation_input_tokens`, OpenAI's
/// `input_tokens` as the vendor reported it.
fn input_tokens(l: &Line) -> u64 {
    l.usage.input + l.usage.cache_read + l.usage.cache_write
}

/// The turn's `invoke_agent {template@version}` span, its id derived
/// from the run and the turn.
pub fn turn_span(f: &TurnFacts) -> Span {
    let agent_name = f
        .template
        .map(|(n, v, _)| format!("{n}@{v}"))
        .unwrap_or_else(|| "afk".to_string());
    let mut a = Attrs::default();
    a.run(f.run, f.repo, f.issue)
        .str("gen_ai.operation.name", "invoke_agent")
        .str("gen_ai.agent.name", &agent_name);
    if let Some((name, version, sha)) = f.template {
        a.str("afk.template.name", name)
            .int("afk.template.version", version)
            .str("afk.template.sha256", sha);
    }
    a.str("afk.agent", f.agent)
        .int("afk.turn.number", i64::from(f.turn))
        .str("afk.turn.reason", f.reason)
        .opt_int("afk.turn.exit_code", f.exit_code.map(i64::from));
    let chats: Vec<&Line> = f.lines.iter().filter(|l| l.chat.is_some()).collect();
    if !f.lines.is_empty() {
        let input: u64 = chats.iter().map(|l| input_tokens(l)).sum();
        let output: u64 = chats.iter().map(|l| l.usage.output).sum();
        let micro: u64 = f.lines.iter().map(|l| l.micro_usd).sum();
        a.int("gen_ai.usage.input_tokens", input as i64)
            .int("gen_ai.usage.output_tokens", output as i64)
            .double("afk.cost_usd", usd(micro))
            .str("afk.cost.source", "metered")
            .int("afk.gateway.requests", chats.len() as i64);
    } else if let Some(usd) = f.reported_usd {
        a.double("afk.cost_usd", usd)
            .str("afk.cost.source", "reported");
    }
    let error = match (f.stopped, f.exit_code) {
        (Some(why), _) => Some(why),
        (None, Some(0)) => None,
        (None, _) => Some("exit"),
    };
    let status = a.error(error);
    Span {
        trace_id: ids::trace_id(f.instance, f.run),
        span_id: ids::turn_span_id(f.instance, f.run, f.turn),
        parent_span_id: Some(ids::run_span_id(f.instance, f.run)),
        name: format!("invoke_agent {agent_name}"),
        kind: SpanKind::Internal,
        start_unix_ns: f.start_unix_ns,
        end_unix_ns: f.end_unix_ns.max(f.start_unix_ns),
        attributes: a.0,
        status,
        links: vec![],
    }
}

/// The model a request's span names: what the agent asked for only when
/// the gateway priced it as a model afk knows (the shipped table's or the
/// config's, or a dated snapshot of one), else `unknown`. The agent writes
/// the request's `model` field: never a free channel from the box into the
/// team's observability (a span named by a file's contents, a control
/// character).
pub(crate) fn shown_model(l: &Line) -> &str {
    use crate::gateway::prices::PricedBy;
    match l.priced_by {
        PricedBy::Table | PricedBy::Config => &l.model,
        PricedBy::Flat | PricedBy::Highest => "unknown",
    }
}

/// The most `chat` spans one turn makes; its further requests (refused ones
/// included) are one summary span with their count
/// ([`omitted_chats_span`]).
pub const CHAT_SPANS_MAX: usize = 100;

/// One span for the `omitted` model requests of a turn past
/// [`CHAT_SPANS_MAX`]: their count, under the turn's span.
pub fn omitted_chats_span(f: &TurnFacts, omitted: usize, span_id: [u8; 8]) -> Span {
    let mut a = Attrs::default();
    a.run(f.run, f.repo, f.issue).int(
        "afk.chat.omitted",
        i64::try_from(omitted).unwrap_or(i64::MAX),
    );
    Span {
        trace_id: ids::trace_id(f.instance, f.run),
        span_id: ids::nonzero(span_id),
        parent_span_id: Some(ids::turn_span_id(f.instance, f.run, f.turn)),
        name: "chat omitted".to_string(),
        kind: SpanKind::Internal,
        start_unix_ns: f.start_unix_ns,
        end_unix_ns: f.end_unix_ns.max(f.start_unix_ns),
        attributes: a.0,
        status: SpanStatus::Unset,
        links: vec![],
    }
}

/// One model request's `chat {model}` span, under its turn's; None for a line
/// that is no model request (no chat facts). The model is [`shown_model`]'s.
pub fn chat_span(f: &TurnFacts, l: &Line, span_id: [u8; 8]) -> Option<Span> {
    let c = l.chat.as_ref()?;
    let model = shown_model(l);
    let start = crate::types::stamp::parse(&c.started)
        .and_then(|t| u64::try_from(t.unix_timestamp_nanos()).ok())
        .unwrap_or(f.start_unix_ns);
    let end = crate::types::stamp::parse(&l.at)
        .and_then(|t| u64::try_from(t.unix_timestamp_nanos()).ok())
        .unwrap_or(start);
    let mut a = Attrs::default();
    a.run(f.run, f.repo, f.issue)
        .str("gen_ai.operation.name", "chat")
        .str(
            "gen_ai.provider.name",
            match l.api {
                Api::Anthropic => "anthropic",
                Api::OpenAi => "openai",
            },
        )
        .str("gen_ai.request.model", model)
        .opt_str("gen_ai.response.model", c.response_model.as_deref())
        .opt_str("gen_ai.response.id", c.response_id.as_deref())
        .list("gen_ai.response.finish_reasons", &c.finish_reasons)
        .bool("gen_ai.request.stream", c.stream)
        .opt_int("gen_ai.request.max_tokens", c.max_tokens.map(|m| m as i64));
    let failed = !(200..300).contains(&l.status);
    if !failed || l.estimated {
        a.int("gen_ai.usage.input_tokens", input_tokens(l) as i64)
            .int("gen_ai.usage.output_tokens", l.usage.output as i64)
            .int(
                "gen_ai.usage.cache_read.input_tokens",
                l.usage.cache_read as i64,
            );
        if l.api == Api::Anthropic {
            a.int(
                "gen_ai.usage.cache_creation.input_tokens",
                l.usage.cache_write as i64,
            );
        }
        if l.api == Api::OpenAi && l.usage.reasoning > 0 {
            a.int(
                "gen_ai.usage.reasoning.output_tokens",
                l.usage.reasoning as i64,
            );
        }
    }
    a.double("afk.cost_usd", usd(l.micro_usd))
        .str("server.address", &c.server.0);
    if c.server.1 > 0 {
        a.int("server.port", i64::from(c.server.1));
    }
    a.opt_double(
        "gen_ai.response.time_to_first_chunk",
        c.first_chunk_us.map(|us| us as f64 / 1_000_000.0),
    );
    if l.estimated {
        a.bool("afk.usage.estimated", true);
    }
    let status_text = l.status.to_string();
    let error = match l.status {
        0 => Some("no-answer"),
        s if (200..300).contains(&s) => None,
        _ => Some(status_text.as_str()),
    };
    let status = a.error(error);
    Some(Span {
        trace_id: ids::trace_id(f.instance, f.run),
        span_id: ids::nonzero(span_id),
        parent_span_id: Some(ids::turn_span_id(f.instance, f.run, f.turn)),
        name: format!("chat {model}"),
        kind: SpanKind::Client,
        start_unix_ns: start,
        end_unix_ns: end.max(start),
        attributes: a.0,
        status,
        links: vec![],
    })
}

/// A run that has ended, for its `afk.run` span (made once, at its end).
#[derive(Debug, Clone, Default)]
pub struct RunFacts<'a> {
    pub instance: &'a str,
    pub run: i64,
    pub repo: &'a str,
    pub issue: i64,
    /// `succeeded`, `escalated`, `abandoned` or `failed`
    pub end: &'a str,
    pub reason: Option<&'a str>,
    pub template: Option<(&'a str, i64, &'a str)>,
    pub turns: u32,
    pub cost_usd: Option<f64>,
    pub pr: Option<(i64, &'a str)>,
    pub to_pr_s: Option<f64>,
    pub to_merge_s: Option<f64>,
    pub merge_sha: Option<&'a str>,
    /// Zero-touch as recorded: `yes`, `commit` or `changes_requested`.
    pub zero_touch: Option<&'a str>,
    pub start_unix_ns: u64,
    pub end_unix_ns: u64,
    /// The journal's head as the run ended (its `seq` and hash,
    /// docs/audit.md): published where the host cannot rewrite it unseen.
    pub audit: Option<(i64, &'a str)>,
}

/// The run span, the trace's root.
pub fn run_span(f: &RunFacts) -> Span {
    let mut a = Attrs::default();
    a.run(f.run, f.repo, f.issue).str("afk.run.end", f.end);
    a.opt_str("afk.run.reason", f.reason);
    match f.end {
        "succeeded" => {
            a.str("afk.run.outcome", "success");
        }
        // a failed start has no outcome (7.3 records none for it)
        "escalated" => {
            a.str("afk.run.outcome", "failure");
        }
        _ => {}
    }
    if let Some((name, version, sha)) = f.template {
        a.str("afk.template.name", name)
            .int("afk.template.version", version)
            .str("afk.template.sha256", sha);
    }
    a.int("afk.run.turns", i64::from(f.turns))
        .int(
            "afk.run.corrective_turns",
            i64::from(f.turns.saturating_sub(1)),
        )
        .opt_double(
            "afk.run.cost_usd",
            f.cost_usd.map(|u| (u * 1e6).round() / 1e6),
        );
    if let Some((number, url)) = f.pr {
        a.int("afk.pr.number", number).str("afk.pr.url", url);
    }
    a.opt_double("afk.run.to_pr_s", f.to_pr_s)
        .opt_double("afk.run.to_merge_s", f.to_merge_s)
        .opt_str("afk.run.merge_sha", f.merge_sha);
    if f.merge_sha.is_some() {
        match f.zero_touch {
            Some("yes") => {
                a.bool("afk.run.zero_touch", true);
            }
            Some(why @ ("commit" | "changes_requested")) => {
                a.bool("afk.run.zero_touch", false)
                    .str("afk.run.touched_by", why);
            }
            _ => {}
        }
    }
    if let Some((seq, head)) = f.audit {
        a.int("afk.audit.seq", seq).str("afk.audit.head", head);
    }
    let error = match f.end {
        "escalated" | "failed" => Some(f.reason.unwrap_or(f.end)),
        _ => None,
    };
    let status = a.error(error);
    Span {
        trace_id: ids::trace_id(f.instance, f.run),
        span_id: ids::run_span_id(f.instance, f.run),
        parent_span_id: None,
        name: "afk.run".into(),
        kind: SpanKind::Internal,
        start_unix_ns: f.start_unix_ns,
        end_unix_ns: f.end_unix_ns.max(f.start_unix_ns),
        attributes: a.0,
        status,
        links: vec![],
    }
}

/// A late fact about a run (`afk.run.update`, zero length).
pub enum Fact<'a> {
    Reverted {
        by: &'a str,
    },
    Survival {
        window_s: i64,
        added: u64,
        surviving: u64,
    },
}

/// A late fact's span, its id derived from the run and the fact.
pub fn fact_span(
    instance: &str,
    (run, repo, issue): (i64, &str, i64),
    fact: &Fact,
    at_unix_ns: u64,
) -> Span {
    let mut a = Attrs::default();
    a.run(run, repo, issue);
    let name = match fact {
        Fact::Reverted { by } => {
            a.bool("afk.run.reverted", true)
                .str("afk.run.reverted_by", by);
            "reverted"
        }
        Fact::Survival {
            window_s,
            added,
            surviving,
        } => {
            a.int("afk.survival.window_s", *window_s)
                .int("afk.survival.lines_added", *added as i64)
                .int("afk.survival.lines_surviving", *surviving as i64);
            if *added > 0 {
                a.double(
                    "afk.survival.rate",
                    ((*surviving as f64 / *added as f64) * 1e6).round() / 1e6,
                );
            }
            "survival"
        }
    };
    Span {
        trace_id: ids::trace_id(instance, run),
        span_id: ids::fact_span_id(instance, run, name),
        parent_span_id: Some(ids::run_span_id(instance, run)),
        name: "afk.run.update".into(),
        kind: SpanKind::Internal,
        start_unix_ns: at_unix_ns,
        end_unix_ns: at_unix_ns,
        attributes: a.0,
        status: SpanStatus::Unset,
        links: vec![],
    }
}

#[cfg(test)]
mod tests;
