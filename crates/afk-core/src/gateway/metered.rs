//! The run's metered record (docs/how-it-works.md#spend): one JSON line per
//! request the gateway passed, appended outside the box, and the sum watch
//! takes as the run's spend.
//!
//! A line (keys in this order; `reasoning` is part of `output`):
//!
//! ```text
//! {"at":"2026-11-26T02:20:19.123456Z","api":"anthropic","model":"claude-sonnet-4-6",
//!  "status":200,"input":1200,"cache_read":5000,"cache_write":0,"output":300,
//!  "reasoning":0,"micro_usd":9600,"priced_by":"table","complete":true}
//! ```
//!
//! [`Tally`] sums a record fed in pieces, in bounded memory: a line longer
//! than [`MAX_LINE`] (none the writer makes) is skipped and counted, a torn
//! last line waits for its end, a line that is not a record is counted too.

use super::Api;
use super::prices::PricedBy;
use super::usage::Usage;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// One request, as the record keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Line {
    /// When its answer ended (RFC 3339, UTC, microseconds).
    pub at: String,
    pub api: Api,
    /// The model the request's body named ("" when none).
    pub model: String,
    /// The upstream's status.
    pub status: u16,
    #[serde(flatten)]
    pub usage: Usage,
    pub micro_usd: u64,
    pub priced_by: PricedBy,
    /// Whether the answer's end arrived (false: cut mid-stream, priced by
    /// what arrived).
    pub complete: bool,
    /// The answer carried no usage: its tokens were estimated from its bytes
    /// (`usage::estimate`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub estimated: bool,
    /// A model request's facts for its chat span: only on the lines of
    /// `/v1/messages`, `/v1/responses` and `/v1/chat/completions`, from
    /// an afk that writes them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chat: Option<ChatFacts>,
}

/// What a chat span says beyond a line's usage and price.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ChatFacts {
    /// The turn the request was made in (from 1).
    pub turn: u32,
    /// When the request arrived at the gateway (RFC 3339, UTC, microseconds).
    pub started: String,
    /// The upstream's host and port (`server.address`, `server.port`):
    /// never its path or a key.
    #[serde(default)]
    pub server: (String, u16),
    /// The request's `stream: true`.
    #[serde(default)]
    pub stream: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_model: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_id: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub finish_reasons: Vec<String>,
    /// From the request's arrival to the answer's first bytes, when streamed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_chunk_us: Option<u64>,
}

impl Line {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        at: OffsetDateTime,
        api: Api,
        model: &str,
        status: u16,
        usage: Usage,
        micro_usd: u64,
        priced_by: PricedBy,
        complete: bool,
    ) -> Line {
        Line {
            at: crate::types::stamp::ts_precise(at),
            api,
            model: model.to_string(),
            status,
            usage,
            micro_usd,
            priced_by,
            complete,
            estimated: false,
            chat: None,
        }
    }

    /// The line as written: one JSON object and `\n`.
    pub fn to_line(&self) -> String {
        let mut s = serde_json::to_string(self).unwrap_or_default();
        s.push('\n');
        s
    }

    /// A written line read back (None: not a record's line).
    pub fn parse(line: &str) -> Option<Line> {
        serde_json::from_str(line.trim()).ok()
    }
}

/// The longest line a [`Tally`] reads.
pub const MAX_LINE: usize = 64 << 10;

/// A run's record summed as it is read (kept between reads: it is
/// serializable, with where it read up to in `read`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Tally {
    /// Bytes of the record read so far (the torn last line included).
    pub read: u64,
    pub micro_usd: u64,
    pub requests: u64,
    pub tokens: Usage,
    /// Requests priced at the table's highest (a model with no price).
    pub fallback: u64,
    /// Lines skipped: too long, or not a record.
    pub skipped: u64,
    /// The torn last line, waiting for its end.
    pending: Vec<u8>,
    skipping: bool,
}

impl Tally {
    /// The record's next bytes.
    pub fn feed(&mut self, bytes: &[u8]) {
        self.read += bytes.len() as u64;
        let mut rest = bytes;
        while let Some(i) = rest.iter().position(|b| *b == b'\n') {
            let part = &rest[..i];
            if !self.skipping && self.pending.len() + part.len() <= MAX_LINE {
                let mut line = std::mem::take(&mut self.pending);
                line.extend_from_slice(part);
                self.line(&line);
            } else {
                self.skipped += 1;
            }
            self.pending.clear();
            self.skipping = false;
            rest = &rest[i + 1..];
        }
        if self.skipping || self.pending.len() + rest.len() > MAX_LINE {
            self.skipping = true;
            self.pending.clear();
        } else {
            self.pending.extend_from_slice(rest);
        }
    }

    fn line(&mut self, line: &[u8]) {
        if line.trim_ascii().is_empty() {
            return;
        }
        let Some(l) = std::str::from_utf8(line).ok().and_then(Line::parse) else {
            self.skipped += 1;
            return;
        };
        self.micro_usd = self.micro_usd.saturating_add(l.micro_usd);
        self.requests += 1;
        add_tokens(&mut self.tokens, &l.usage);
        if l.priced_by == PricedBy::Highest {
            self.fallback += 1;
        }
    }

    /// The run's metered spend in dollars.
    pub fn usd(&self) -> f64 {
        super::prices::usd(self.micro_usd)
    }

    /// Whether nothing was summed (nor read).
    pub fn is_empty(&self) -> bool {
        *self == Tally::default()
    }

    /// This sum and `other`'s together (the requests, their spend, tokens
    /// and counts); where reading stopped stays this one's.
    pub fn plus(&self, other: &Tally) -> Tally {
        let mut t = self.clone();
        t.micro_usd = t.micro_usd.saturating_add(other.micro_usd);
        t.requests = t.requests.saturating_add(other.requests);
        add_tokens(&mut t.tokens, &other.tokens);
        t.fallback = t.fallback.saturating_add(other.fallback);
        t.skipped = t.skipped.saturating_add(other.skipped);
        t
    }
}

/// `u`'s tokens added to `t`'s.
fn add_tokens(t: &mut Usage, u: &Usage) {
    t.input = t.input.saturating_add(u.input);
    t.cache_read = t.cache_read.saturating_add(u.cache_read);
    t.cache_write = t.cache_write.saturating_add(u.cache_write);
    t.output = t.output.saturating_add(u.output);
    t.reasoning = t.reasoning.saturating_add(u.reasoning);
}

/// A whole record summed.
pub fn sum(record: &[u8]) -> Tally {
    let mut t = Tally::default();
    t.feed(record);
    t
}

/// The record's name in the run folder (`<run_dir>/metered.jsonl`).
pub const FILE: &str = "metered.jsonl";

/// The most bytes of the record watch reads on one tick (the rest waits for
/// the next): ~20,000 requests' lines.
pub const MAX_READ: usize = 4 << 20;

/// The run's record as watch reads it, tick after tick: which file it is (an
/// inode) and the sum of what was read of it (`tally.read` is where reading
/// stopped). Kept with the run's spend ledger (`core::run_spend::RunSpend::metered`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Read {
    pub file: u64,
    pub tally: Tally,
    /// The partial records beside the record as last read
    /// (`super::aloft`): what arrived of the requests in flight, or in
    /// flight when their keeper died. Read whole each time, never added up
    /// from read to read.
    #[serde(skip_serializing_if = "Tally::is_empty")]
    pub aloft: Tally,
}

impl Read {
    /// Where to read the record from, given what the file is now: where the
    /// last read stopped, or its start with nothing summed when the file is
    /// another one or shorter than what was read (replaced, truncated).
    pub fn start(&mut self, file: u64, len: u64) -> u64 {
        if self.file != file || self.tally.read > len {
            *self = Read {
                file,
                ..Read::default()
            };
        }
        self.tally.read
    }

    /// The run's metered figures: the record's sum and its partial
    /// records' (the run's spend, requests and tokens).
    pub fn sum(&self) -> Tally {
        self.tally.plus(&self.aloft)
    }
}

/// Whether the agent's own figure and the metered one differ enough to be
/// said (docs/how-it-works.md#spend): by over $0.01 and by over 1% of the
/// metered figure (the run's spend). Micro-dollars both.
pub fn differs(metered: u64, reported: u64) -> bool {
    let d = metered.abs_diff(reported);
    d > 10_000 && d.saturating_mul(100) > metered
}

/// The run's metered spend beside a different figure of the agent's own
/// (micro-dollars), as the run's log says it once per change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Difference {
    pub metered: u64,
    pub reported: u64,
}

impl Difference {
    /// The line in the run's log (`agent.log`, after `[afk]` as afk's other
    /// notes there): both figures, which one is the run's, and how many
    /// requests the metered one sums.
    pub fn line(&self, requests: u64) -> String {
        let money = |m: u64| crate::budget::spend::usd(super::prices::usd(m));
        format!(
            "[afk] spend: the agent reported {}, the model gateway metered {} over {} (the run's spend)",
            money(self.reported),
            money(self.metered),
            crate::plural(requests as usize, "request", "requests"),
        )
    }
}
