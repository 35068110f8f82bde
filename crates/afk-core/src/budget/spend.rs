// One file: the spend ledger and the budget rules it feeds (~900 lines sharing Ledger, Figure and DayRun) and their table tests.
//! Spend and the budget rules (docs/configuration.md#budget-spend-limits,
//! docs/how-it-works.md#spend). Pure: the bytes an agent wrote, the thread's
//! figure, the stored ledger and `now` come in.
//!
//! What a run spent is what its agent reported, in three forms:
//! - a progress line `{"cost_usd": X}`: the spend of the current turn so far
//!   (cumulative within the turn; a new turn starts again from 0), the last one wins;
//! - Claude Code's `result` record (`--output-format json` prints one JSON
//!   object, `stream-json` one per line with the result last): its
//!   `total_cost_usd` is what that invocation cost; the records of a turn add up;
//! - Codex's `turn.completed` events (`agent = "codex"` only,
//!   docs/runners.md#codex): token usage, priced by `[runner.prices]`
//!   ([`Meter`]); all prices zero: no figure.
//!   Codex reports the usage of its whole thread so far (a resumed thread's
//!   includes the turns before), so a turn is priced on what its thread used
//!   since the end of the run's earlier turn on that thread;
//! - an agent-thread service's `cost_usd`: the whole thread so far.
//!
//! A turn's spend is the largest of its progress figure, its results and its
//! priced usage (two reports of the same money never add up), and the ledger
//! keeps where each turn's figure came from ([`Source`]); a run's is the sum
//! over its turns, or the thread's figure when that is larger. The [`Ledger`] keeps where each
//! stream was read up to, so a byte is read once however many ticks look, a
//! torn last line waits for its end, and a stream that was truncated or
//! replaced (log rotation) is read again from its start.
//!
//! A report is found on its line, not parsed by luck ([`reports_in`]): a line
//! ends at `\n` or at a spinner's `\r`, and the JSON object is looked for from
//! each `{` on, so stray bytes before it (`x{...}`, terminal junk) hide nothing.
//! A line longer than [`MAX_READ`] is skipped whole, its end too, and counted.

use crate::types::RunStatus;
use crate::types::{AgentKind, RepoName};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Duration;
use time::{Date, OffsetDateTime};

/// The most bytes read from one stream at once; a line longer than this with
/// no end in sight is not a report and is skipped (to its end, however far
/// that is), so reading goes on: the cursor always advances.
pub const MAX_READ: usize = 4 << 20;

/// Where one stream was read up to: the file's identity (an inode) and the offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Cursor {
    pub file: u64,
    pub at: u64,
    /// `at` is inside a line too long to read: the rest of it, up to its
    /// end, is skipped too (its tail is no line of its own).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub skipping: bool,
}

/// What a run has spent as read so far, and where reading stopped. Stored
/// with the run (`runs.spend_ledger`) and carried from tick to tick.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Ledger {
    /// The turn the `turn_*` figures belong to (0: none read yet).
    #[serde(default)]
    pub turn: u32,
    /// The spend of the turns before `turn`, and whether any of them reported.
    #[serde(default)]
    pub earlier_usd: f64,
    #[serde(default)]
    pub earlier_reported: bool,
    /// The current turn's last `cost_usd` line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub turn_progress_usd: Option<f64>,
    /// The current turn's Claude Code `result` records, added up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub turn_results_usd: Option<f64>,
    /// The current turn's Codex token usage, priced (`agent = "codex"` with
    /// prices set): what its thread used since the run's earlier turns on it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub turn_codex_usd: Option<f64>,
    /// The current turn's Codex thread (`thread.started`) and the last usage
    /// it reported (the whole thread's so far).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub turn_thread: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub turn_usage: Option<Tokens>,
    /// Each Codex thread's usage as the run's earlier turns left it: what a
    /// resumed thread's next report starts from. At most [`MAX_KEPT`].
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub threads: BTreeMap<String, Tokens>,
    /// Each Claude Code session's spend as the run's earlier turns left it
    /// (a resumed session's `total_cost_usd` includes them). At most [`MAX_KEPT`].
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub sessions: BTreeMap<String, f64>,
    /// The current turn's Claude sessions: the last spend each reported, and
    /// what records without a session added up to.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub turn_sessions: BTreeMap<String, f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub turn_unnamed_usd: Option<f64>,
    /// The earlier turns' figures and where each came from (at most
    /// [`MAX_KEPT`]; `earlier_usd` is their sum however many there were).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub turns: Vec<Figure>,
    /// The agent-thread service's figure for the whole thread.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thread_usd: Option<f64>,
    /// Per stream (`progress`, `log`, ...): where reading stopped.
    #[serde(default)]
    pub cursors: BTreeMap<String, Cursor>,
    /// Lines longer than [`MAX_READ`] skipped so far, over every stream.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub skipped_lines: u32,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// The most turns' figures and Codex threads a ledger keeps by name: a run
/// has a handful of turns; a broken loop cannot grow the stored ledger.
pub(crate) const MAX_KEPT: usize = 64;

/// Where a figure came from (`afk runs show`, docs/security.md: every one of
/// them is the agent's word, or its service's).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Source {
    /// Claude Code's `result` record (`total_cost_usd`).
    Claude,
    /// Codex's token usage priced by `[runner.prices]`.
    CodexPriced,
    /// A `{"cost_usd": X}` line (the progress file, or the log).
    Progress,
    /// The agent-thread service's `cost_usd` (the http runner).
    Thread,
    /// The model gateway's metered record (`run_spend`,
    /// docs/how-it-works.md#spend): afk's own measure, not the agent's word.
    Metered,
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Source::Claude => "claude",
            Source::CodexPriced => "codex-priced",
            Source::Progress => "progress",
            Source::Thread => "thread",
            Source::Metered => "metered",
        })
    }
}

/// One figure of a run's spend: a turn's, or (`turn` None) the thread
/// service's figure for the whole run.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Figure {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub turn: Option<u32>,
    pub usd: f64,
    pub source: Source,
}

/// Token counts as Codex reports them (OpenAI's convention: `input` includes
/// `cached_input`, `output` includes reasoning).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Tokens {
    pub input: u64,
    pub cached_input: u64,
    pub output: u64,
}

impl Tokens {
    /// What was used since `before` (a thread's earlier usage), each count
    /// never below 0.
    pub fn since(self, before: Tokens) -> Tokens {
        Tokens {
            input: self.input.saturating_sub(before.input),
            cached_input: self.cached_input.saturating_sub(before.cached_input),
            output: self.output.saturating_sub(before.output),
        }
    }
}

/// `[runner.prices]`: USD per million tokens.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Prices {
    pub input: f64,
    pub cached_input: f64,
    pub output: f64,
}

impl Prices {
    pub const ZERO: Prices = Prices {
        input: 0.0,
        cached_input: 0.0,
        output: 0.0,
    };

    /// All zero: tokens make no figure.
    pub fn is_zero(&self) -> bool {
        *self == Prices::ZERO
    }

    /// What `t` cost: uncached input, cached input and output (reasoning
    /// included) each at its price per million; None when no price is set
    /// or the figure is not believable.
    pub fn price(&self, t: Tokens) -> Option<f64> {
        if self.is_zero() {
            return None;
        }
        let uncached = t.input.saturating_sub(t.cached_input) as f64;
        let usd = (uncached * self.input
            + t.cached_input.min(t.input) as f64 * self.cached_input
            + t.output as f64 * self.output)
            / 1e6;
        believable(usd).map(round)
    }
}

/// How a run's agent reports what it spends: which program it is, and the
/// prices its token usage is read at (docs/runners.md#codex).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Meter {
    pub agent: AgentKind,
    pub prices: Prices,
}

impl Meter {
    /// A custom agent: `cost_usd` lines and Claude Code result records only.
    pub const CUSTOM: Meter = Meter {
        agent: AgentKind::Custom,
        prices: Prices::ZERO,
    };

    /// Codex's events are read (their lines cost a parse) only for Codex.
    fn codex(&self) -> bool {
        self.agent == AgentKind::Codex
    }
}

/// One spend report found on a line.
#[derive(Debug, Clone, PartialEq)]
pub enum Report {
    /// `{"cost_usd": X}`: the turn so far.
    TurnSoFar(f64),
    /// Claude Code's `{"type":"result", "total_cost_usd": X, "session_id": S}`:
    /// the session's spend so far (a `--resume`d session's includes the
    /// invocations before it).
    Result(f64, Option<String>),
    /// Codex's `{"type":"turn.completed","usage":{...}}`: its thread's usage so far.
    Usage(Tokens),
    /// Codex's `{"type":"thread.started","thread_id":"..."}`: the turn's thread.
    Thread(String),
}

/// The largest figure believed: anything above is a broken report, and the
/// sums stay finite (a report cannot turn the day's spend into "null").
pub(crate) const MAX_USD: f64 = 1e9;

/// A believable figure: a number from 0 to [`MAX_USD`].
pub fn believable(x: f64) -> Option<f64> {
    (x.is_finite() && (0.0..=MAX_USD).contains(&x)).then_some(x)
}

fn amount(v: &serde_json::Value) -> Option<f64> {
    v.as_f64().and_then(believable)
}

/// A token count: a whole number, at most a trillion (anything more is a
/// broken report).
fn count(v: &serde_json::Value, key: &str) -> Option<u64> {
    match v.get(key) {
        None => Some(0),
        Some(n) => n.as_u64().filter(|n| *n <= 1_000_000_000_000),
    }
}

/// Codex's usage object: its three counts (a missing one is 0; reasoning
/// tokens are part of `output_tokens`, so `reasoning_output_tokens` is not added).
fn usage_of(u: &serde_json::Value) -> Option<Tokens> {
    u.as_object()?;
    Some(Tokens {
        input: count(u, "input_tokens")?,
        cached_input: count(u, "cached_input_tokens")?,
        output: count(u, "output_tokens")?,
    })
}

/// The report a JSON value is, if it is one: Claude Code's `result` record;
/// with `codex`, Codex's `turn.completed` and `thread.started` events; else
/// an object with a `cost_usd` figure.
fn report_of(v: &serde_json::Value, codex: bool) -> Option<Report> {
    match v.get("type").and_then(|t| t.as_str()) {
        Some("result") => {
            // older Claude Code versions called the same figure cost_usd
            let x = v.get("total_cost_usd").or_else(|| v.get("cost_usd"))?;
            let session = v
                .get("session_id")
                .and_then(|s| s.as_str())
                .filter(|s| crate::agent::is_session_id(s))
                .map(str::to_string);
            return amount(x).map(|x| Report::Result(x, session));
        }
        Some("turn.completed") if codex => return usage_of(v.get("usage")?).map(Report::Usage),
        Some("thread.started") if codex => {
            let id = v.get("thread_id")?.as_str()?;
            return crate::agent::is_session_id(id).then(|| Report::Thread(id.to_string()));
        }
        _ => {}
    }
    amount(v.get("cost_usd")?).map(Report::TurnSoFar)
}

/// The words a report's object holds: no object starting after the last of
/// them on a line can be one, so most lines of a busy log are never parsed.
fn last_mention(line: &[u8], codex: bool) -> Option<usize> {
    let words: &[&[u8]] = if codex {
        &[b"cost_usd", b"turn.completed", b"thread.started"]
    } else {
        &[b"cost_usd"]
    };
    words
        .iter()
        .filter_map(|w| line.windows(w.len()).rposition(|x| x == *w))
        .max()
}

/// Whether a byte ends a line: a newline, or the carriage return a spinner
/// redraws its line with (no JSON text holds a raw one).
pub(crate) fn ends_line(b: &u8) -> bool {
    matches!(b, b'\n' | b'\r')
}

/// The deepest nesting a report is looked for in: Claude Code's result record
/// nests three levels; a deeper object is no report, and looking no deeper
/// keeps a hostile line's cost linear.
const MAX_DEPTH: usize = 32;

/// Where the JSON object that opens at `text[0]` ends (one past its closing
/// brace), by its brackets outside strings; None when it does not end on the
/// line or nests deeper than [`MAX_DEPTH`]. Whether it is valid JSON is
/// serde's to say: this only bounds what serde is given.
fn object_end(text: &[u8]) -> Option<usize> {
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for (i, b) in text.iter().enumerate() {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'{' | b'[' if depth == MAX_DEPTH => return None,
            b'{' | b'[' => depth += 1,
            b'}' | b']' if depth <= 1 => return Some(i + 1),
            b'}' | b']' => depth -= 1,
            _ => {}
        }
    }
    None
}

/// The spend reports on one line, in order: every JSON object on it, found
/// from each `{` on, whatever stray bytes stand before, between or after
/// (`x{...}`, a terminal's junk). An object that parses is taken whole (an
/// object nested in it is part of it, never a report of its own); where none
/// parses, the next `{` is tried. Anything else (text, other JSON, a negative
/// or non-numeric figure) is no report. Each `{` costs at most the object it
/// opens, [`MAX_DEPTH`] levels deep, so a hostile line costs linear time.
/// `codex`: Codex's events are reports too (`agent = "codex"`).
pub(crate) fn reports_in(line: &[u8], codex: bool) -> Vec<Report> {
    let Some(last) = last_mention(line, codex) else {
        return vec![];
    };
    let mut out = vec![];
    let mut at = 0;
    while let Some(i) = line[at..last].iter().position(|b| *b == b'{') {
        let start = at + i;
        let parsed = object_end(&line[start..]).and_then(|len| {
            let v = serde_json::from_slice::<serde_json::Value>(&line[start..start + len]);
            v.ok().map(|v| (v, len))
        });
        match parsed {
            Some((v, len)) => {
                out.extend(report_of(&v, codex));
                at = start + len;
            }
            None => at = start + 1,
        }
        if at >= last {
            break;
        }
    }
    out
}

/// Whole micro-dollars: sums of reported figures stay readable (0.4 + 0.3 is 0.7).
pub fn round(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

impl Ledger {
    /// The stored form (JSON); [`Ledger::from_stored`] reads it back.
    pub fn to_stored(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The stored ledger, or a fresh one when there is none (or it is unreadable).
    pub fn from_stored(text: Option<&str>) -> Ledger {
        text.and_then(|t| serde_json::from_str(t).ok())
            .unwrap_or_default()
    }

    /// The current turn's figure: the largest of its reports, and where it
    /// came from (on a tie, the program's own record over a progress line).
    fn turn_figure(&self) -> Option<Figure> {
        [
            (self.turn_results_usd, Source::Claude),
            (self.turn_codex_usd, Source::CodexPriced),
            (self.turn_progress_usd, Source::Progress),
        ]
        .into_iter()
        .filter_map(|(usd, source)| {
            usd.map(|usd| Figure {
                turn: Some(self.turn),
                usd,
                source,
            })
        })
        .reduce(|a, b| if b.usd > a.usd { b } else { a })
    }

    fn turn_spend(&self) -> Option<f64> {
        self.turn_figure().map(|f| f.usd)
    }

    /// The run is in turn `turn` (1 for the first): the figures of an earlier
    /// turn are closed into `earlier_usd` (and kept with their source), and
    /// its Codex thread's usage becomes that thread's starting point.
    /// Reading a turn twice changes nothing.
    pub fn begin_turn(&mut self, turn: u32) {
        if turn <= self.turn {
            return;
        }
        if let Some(f) = self.turn_figure() {
            self.earlier_usd = round(self.earlier_usd + f.usd);
            self.earlier_reported = true;
            if self.turns.len() < MAX_KEPT {
                self.turns.push(f);
            }
        }
        if let (Some(id), Some(used)) = (self.turn_thread.take(), self.turn_usage)
            && (self.threads.len() < MAX_KEPT || self.threads.contains_key(&id))
        {
            self.threads.insert(id, used);
        }
        for (id, usd) in std::mem::take(&mut self.turn_sessions) {
            if self.sessions.len() < MAX_KEPT || self.sessions.contains_key(&id) {
                self.sessions.insert(id, usd);
            }
        }
        self.turn_unnamed_usd = None;
        self.turn_progress_usd = None;
        self.turn_results_usd = None;
        self.turn_codex_usd = None;
        self.turn_usage = None;
        self.turn = turn;
    }

    /// The current turn's Claude spend: each session's last report less what
    /// the run's earlier turns on it spent, plus the records without one.
    fn results_of_turn(&self) -> f64 {
        let named: f64 = self
            .turn_sessions
            .iter()
            .map(|(id, x)| (x - self.sessions.get(id).copied().unwrap_or(0.0)).max(0.0))
            .sum();
        round(self.turn_unnamed_usd.unwrap_or(0.0) + named)
    }

    /// Take in one report of the current turn.
    fn take(&mut self, meter: &Meter, report: Report) {
        match report {
            Report::TurnSoFar(x) => self.turn_progress_usd = Some(x),
            Report::Result(x, None) => {
                self.turn_unnamed_usd = Some(round(self.turn_unnamed_usd.unwrap_or(0.0) + x));
                self.turn_results_usd = Some(self.results_of_turn());
            }
            Report::Result(x, Some(id)) => {
                if self.turn_sessions.len() < MAX_KEPT || self.turn_sessions.contains_key(&id) {
                    self.turn_sessions.insert(id, x);
                }
                self.turn_results_usd = Some(self.results_of_turn());
            }
            Report::Thread(id) => self.turn_thread = Some(id),
            Report::Usage(used) => {
                // the thread's usage so far: the last report wins, less what
                // the run's earlier turns on the same thread used
                self.turn_usage = Some(used);
                let before = self
                    .turn_thread
                    .as_ref()
                    .and_then(|id| self.threads.get(id))
                    .copied()
                    .unwrap_or_default();
                self.turn_codex_usd = meter.prices.price(used.since(before));
            }
        }
    }

    /// Where to read `stream` from, given what the file is now: the stored
    /// offset, or its start when the file is another one (rotated) or shorter
    /// than what was read (truncated).
    pub fn start_of(&self, stream: &str, file: u64, len: u64) -> u64 {
        match self.cursors.get(stream) {
            Some(c) if c.file == file && c.at <= len => c.at,
            _ => 0,
        }
    }

    /// Take in `bytes` of `stream` read from offset `from`. Only whole lines
    /// count (a line ends at `\n` or `\r`): a torn last line is left for the
    /// next read, unless `finished` (the writer is gone and this is the end of
    /// the file). A line of [`MAX_READ`] bytes or more with no end in sight is
    /// skipped, counted once, and so is the rest of it on later reads.
    /// `meter`: which agent wrote it and the prices of its tokens.
    pub fn feed(
        &mut self,
        meter: &Meter,
        stream: &str,
        file: u64,
        from: u64,
        bytes: &[u8],
        finished: bool,
    ) {
        let was_skipping = self
            .cursors
            .get(stream)
            .is_some_and(|c| c.skipping && c.file == file && c.at == from);
        // the end of a line too long to read, begun on an earlier read
        let first = match bytes.iter().position(ends_line) {
            _ if !was_skipping => 0,
            Some(i) => i + 1,
            None => bytes.len(),
        };
        let rest = &bytes[first..];
        let (whole, skipping) = match rest.iter().rposition(ends_line) {
            _ if finished => (rest.len(), false),
            Some(i) => (i + 1, false),
            None if was_skipping && first == bytes.len() => (rest.len(), true),
            // an endless line: skip it rather than stop reading here for ever
            None if rest.len() >= MAX_READ => (rest.len(), true),
            None => (0, false),
        };
        if skipping && !(was_skipping && first == bytes.len()) {
            self.skipped_lines = self.skipped_lines.saturating_add(1);
        }
        if !skipping {
            let codex = meter.codex();
            for line in rest[..whole].split(ends_line) {
                for report in reports_in(line, codex) {
                    self.take(meter, report);
                }
            }
        }
        self.cursors.insert(
            stream.to_string(),
            Cursor {
                file,
                at: from + (first + whole) as u64,
                skipping,
            },
        );
    }

    /// The agent-thread service's figure for the whole thread.
    pub fn thread(&mut self, usd: f64) {
        if let Some(x) = believable(usd) {
            self.thread_usd = Some(x);
        }
    }

    /// Each figure the run's spend is made of, with where it came from: the
    /// earlier turns' (as many as are kept), the current turn's, and the
    /// thread service's for the whole run.
    pub fn figures(&self) -> Vec<Figure> {
        let mut v = self.turns.clone();
        v.extend(self.turn_figure());
        v.extend(self.thread_usd.map(|usd| Figure {
            turn: None,
            usd,
            source: Source::Thread,
        }));
        v
    }

    /// What the run's agent reported spending; None when nothing was ever
    /// reported (unknown, not 0). The run's spend is this unless the model
    /// gateway metered it (`run_spend::RunSpend`).
    pub fn spend(&self) -> Option<f64> {
        let turn = self.turn_spend();
        let local = (self.earlier_reported || turn.is_some())
            .then(|| self.earlier_usd + turn.unwrap_or(0.0));
        match (local, self.thread_usd) {
            (None, None) => None,
            (a, b) => Some(round(a.unwrap_or(0.0).max(b.unwrap_or(0.0)))),
        }
    }
}

/// `run_usd` is exceeded: a limit (0: none) and a reported spend over it.
pub fn over_run_usd(run_usd: f64, spend: Option<f64>) -> bool {
    run_usd > 0.0 && spend.is_some_and(|s| s > run_usd)
}

/// Who stopped a turn at a money limit (docs/how-it-works.md#spend), from
/// what afk knows: the model gateway's stop record (`budget-stop.json`),
/// else the agent's own report (Claude Code's `error_max_budget_usd`
/// result, `escalation::stopped_at_own_budget`). Either makes the run over
/// budget, whatever its own figure says (a day limit, a stop at the limit
/// exactly).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BudgetStop {
    /// afk's model gateway refused the turn's next model request at a
    /// limit of afk's (`budget.run_usd`, `budget.day_usd`,
    /// `budget.repo_day_usd`): the limit and its figures
    /// (`gateway::budget::Refusal::reached`), afk's own words
    Gateway(String),
    /// the agent ended its turn itself at its own `--max-budget-usd` (what
    /// afk passed it: what is left of the run's money limits), by its own
    /// report: its words, outside text
    Agent(String),
}

impl BudgetStop {
    /// Who stopped the turn and at what, in one line (the agent's words
    /// cut): the decision's line (`explain`).
    pub fn line(&self) -> String {
        match self {
            BudgetStop::Gateway(reached) => format!(
                "afk's model gateway stopped the turn: {}",
                crate::sanitize::one_line(reached, 200)
            ),
            BudgetStop::Agent(said) => format!(
                "the agent stopped its own turn at its --max-budget-usd: {}",
                crate::sanitize::one_line(said, 200)
            ),
        }
    }
}

/// `run_time` is exceeded: the run's age from dispatch is over the limit.
pub(crate) fn over_run_time(run_time: Option<Duration>, age: Duration) -> bool {
    run_time.is_some_and(|t| age > t)
}

/// The UTC day a time falls on: a run counts toward the day it was dispatched.
pub fn day_of(t: OffsetDateTime) -> Date {
    t.to_offset(time::UtcOffset::UTC).date()
}

/// Whether a run counts toward the day it was dispatched: every run an agent
/// was started for. A failed start ran no agent: it spent nothing, and is no
/// unknown spend either.
pub fn counts_toward_day(state: RunStatus) -> bool {
    state != RunStatus::Failed
}

/// A run as the day's budget sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct DayRun<'a> {
    pub repo: &'a str,
    pub dispatched_at: OffsetDateTime,
    /// None: nothing reported yet (counted as 0, and flagged).
    pub spend_usd: Option<f64>,
}

/// What the runs dispatched on one UTC day (of one repo, or all) spent.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct DaySpend {
    pub spend_usd: f64,
    pub runs: usize,
    /// Runs that have reported nothing yet: counted as 0.
    pub unreported: usize,
}

/// The spend of the runs dispatched on `day` (UTC), of `repo` or of all repos.
/// A run spanning midnight counts, all of it, toward the day it was dispatched.
pub fn day_spend(runs: &[DayRun], day: Date, repo: Option<&str>) -> DaySpend {
    let mut d = DaySpend::default();
    for r in runs
        .iter()
        .filter(|r| day_of(r.dispatched_at) == day && repo.is_none_or(|x| x == r.repo))
    {
        d.runs += 1;
        match r.spend_usd {
            Some(x) => d.spend_usd += x,
            None => d.unreported += 1,
        }
    }
    d.spend_usd = round(d.spend_usd);
    d
}

/// A day limit is reached: set (0: none) and the spend at or over it.
pub(crate) fn day_limit_reached(limit: f64, spend: &DaySpend) -> bool {
    limit > 0.0 && spend.spend_usd >= limit
}

/// The day limits of `[budget]`.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct DayLimits {
    pub day_usd: f64,
    pub repo_day_usd: f64,
}

/// A day limit that stops dispatch, as the poll report states it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Stop {
    /// `day_usd` or `repo_day_usd`.
    pub limit: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repo: Option<String>,
    pub limit_usd: f64,
    pub spend_usd: f64,
    pub runs: usize,
    pub unreported: usize,
    /// The UTC day, `YYYY-MM-DD`.
    pub day: String,
    /// The one line a person reads.
    pub text: String,
}

/// Money as people read it: `$1.25`; small amounts keep their digits (`$0.0042`).
pub fn usd(x: f64) -> String {
    if x > 0.0 && x < 0.01 {
        format!("${x:.4}")
    } else {
        format!("${x:.2}")
    }
}

/// A spend said beside its limit: as [`usd`], but with four decimals when
/// two would read the same as the limit though they differ (`$0.0320`
/// beside `$0.03`, never "$0.03 reached: spent $0.03").
pub(crate) fn usd_beside(x: f64, limit: f64) -> String {
    // a difference four decimals can show; float sums are never exact
    if usd(x) == usd(limit) && (x - limit).abs() >= 0.00005 {
        format!("${x:.4}")
    } else {
        usd(x)
    }
}

/// A run's age: `45s`, `12m`, `2h05m`, `3d04h`.
pub fn age_text(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m", s / 60),
        3600..86_400 => format!("{}h{:02}m", s / 3600, s % 3600 / 60),
        _ => format!("{}d{:02}h", s / 86_400, s % 86_400 / 3600),
    }
}

fn runs_text(n: usize) -> String {
    if n == 1 {
        "1 run".into()
    } else {
        format!("{n} runs")
    }
}

fn stop(limit: &'static str, repo: Option<&str>, limit_usd: f64, s: &DaySpend, day: Date) -> Stop {
    let (who, there) = match repo {
        Some(r) => (format!("{r} has"), " there"),
        None => ("afk has".to_string(), ""),
    };
    let unreported = match s.unreported {
        0 => String::new(),
        n => format!(
            "; {} reported no spend yet and {} as $0",
            runs_text(n),
            if n == 1 { "counts" } else { "count" }
        ),
    };
    Stop {
        limit,
        repo: repo.map(str::to_string),
        limit_usd,
        spend_usd: s.spend_usd,
        runs: s.runs,
        unreported: s.unreported,
        day: day.to_string(),
        text: format!(
            "budget.{limit} {} reached: {who} spent {} on {} dispatched {day} (UTC){unreported}; nothing more is dispatched{there} until 00:00 UTC",
            usd(limit_usd),
            usd(s.spend_usd),
            runs_text(s.runs),
        ),
    }
}

/// The day limits reached at `now`: the global one first, then each repo's
/// (of `repos`, in their order). Empty when dispatch may go on everywhere.
pub fn day_stops(
    limits: DayLimits,
    runs: &[DayRun],
    now: OffsetDateTime,
    repos: &[RepoName],
) -> Vec<Stop> {
    let day = day_of(now);
    let mut out = vec![];
    let all = day_spend(runs, day, None);
    if day_limit_reached(limits.day_usd, &all) {
        out.push(stop("day_usd", None, limits.day_usd, &all, day));
    }
    for repo in repos {
        let s = day_spend(runs, day, Some(repo));
        if day_limit_reached(limits.repo_day_usd, &s) {
            out.push(stop(
                "repo_day_usd",
                Some(repo.as_str()),
                limits.repo_day_usd,
                &s,
                day,
            ));
        }
    }
    out
}

/// The money limits of `[budget]` (each 0: none).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct MoneyLimits {
    pub run_usd: f64,
    pub day: DayLimits,
}

/// What is left of a run's money limits as one of its turns starts
/// (`AFK_BUDGET_USD`, docs/runners.md#command-a-local-process): the smallest of
/// `run_usd` less what the run spent, `day_usd` less what the runs dispatched
/// on the run's UTC day spent, and `repo_day_usd` less what its repo's did (the
/// run's spend counts toward the day it was dispatched, so the day is that
/// day); never below 0. None when no money limit is set. `run` is the run with
/// its spend so far, `others` the other runs (any day: only the run's day
/// counts).
pub fn money_left(limits: MoneyLimits, run: &DayRun, others: &[DayRun]) -> Option<f64> {
    let spent = run.spend_usd.unwrap_or(0.0);
    let day = day_of(run.dispatched_at);
    let all = day_spend(others, day, None).spend_usd + spent;
    let repo = day_spend(others, day, Some(run.repo)).spend_usd + spent;
    [
        (limits.run_usd, spent),
        (limits.day.day_usd, all),
        (limits.day.repo_day_usd, repo),
    ]
    .into_iter()
    .filter(|(limit, _)| *limit > 0.0)
    .map(|(limit, spent)| (limit - spent).max(0.0))
    .reduce(f64::min)
    .map(round)
}

/// A figure as `AFK_BUDGET_USD` carries it: plain dollars, no exponent, no
/// trailing zeros (`2`, `0.75`), what `claude --max-budget-usd` takes.
pub fn budget_text(usd: f64) -> String {
    format!("{}", round(usd.max(0.0)))
}

/// Whether `repo` gets no dispatch under these stops.
pub fn stops_repo(stops: &[Stop], repo: &RepoName) -> bool {
    stops
        .iter()
        .any(|s| s.repo.as_deref().is_none_or(|r| repo == r))
}

/// Whether the Claude Code a runner command runs reports its spend: `claude`
/// without `--output-format json` or `stream-json` prints plain text and no
/// figure. None: the program is not `claude`, and afk cannot tell.
pub fn claude_reports_spend(program: &str, argv: &[String]) -> Option<bool> {
    if program.rsplit('/').next() != Some("claude") {
        return None;
    }
    let words: Vec<&str> = argv.iter().flat_map(|a| a.split_whitespace()).collect();
    let json = |f: &str| matches!(f, "json" | "stream-json");
    Some(
        words
            .windows(2)
            .any(|w| w[0] == "--output-format" && json(w[1]))
            || words
                .iter()
                .any(|w| w.strip_prefix("--output-format=").is_some_and(json)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn repos(names: &[&str]) -> Vec<RepoName> {
        names.iter().map(|n| RepoName::parse(n).unwrap()).collect()
    }

    fn fed(chunks: &[(&[u8], bool)]) -> Ledger {
        let mut l = Ledger::default();
        l.begin_turn(1);
        let mut all: Vec<u8> = vec![];
        for (bytes, finished) in chunks {
            all.extend_from_slice(bytes);
            let from = l.start_of("log", 7, all.len() as u64);
            l.feed(
                &Meter::CUSTOM,
                "log",
                7,
                from,
                &all[from as usize..],
                *finished,
            );
        }
        l
    }

    #[test]
    fn what_counts_as_a_report() {
        let cases: [(&[u8], Option<Report>); 12] = [
            (b"{\"cost_usd\": 1.25}", Some(Report::TurnSoFar(1.25))),
            (b"  {\"phase\":\"green\",\"cost_usd\":0}  ", Some(Report::TurnSoFar(0.0))),
            (
                b"{\"type\":\"result\",\"subtype\":\"success\",\"total_cost_usd\":0.75,\"result\":\"ok\"}",
                Some(Report::Result(0.75, None)),
            ),
            // an older Claude Code: the same figure named cost_usd
            (b"{\"type\":\"result\",\"cost_usd\":0.5}", Some(Report::Result(0.5, None))),
            // a result without a figure is no report (not its cost_usd line either)
            (b"{\"type\":\"result\",\"result\":\"cost_usd\"}", None),
            // an assistant message that talks about cost is not a report
            (b"{\"type\":\"assistant\",\"message\":{\"cost_usd\":9}}", None),
            (b"{\"cost_usd\": -1}", None),
            (b"{\"cost_usd\": 1e300}", None),
            (b"{\"cost_usd\": \"2\"}", None),
            (b"cost_usd: 3", None),
            (b"{\"cost_usd\": 1.2", None),
            (b"{\"phase\":\"green\"}", None),
        ];
        for (line, want) in cases {
            let got = reports_in(line, false);
            assert_eq!(
                got.first().cloned(),
                want,
                "{}",
                String::from_utf8_lossy(line)
            );
            assert!(got.len() <= 1, "{got:?}");
        }
    }

    #[test]
    fn a_report_is_found_on_its_line_whatever_stray_bytes_stand_around_it() {
        let r = |x| Report::Result(x, None);
        let t = |x| Report::TurnSoFar(x);
        let deep_then_report = format!("{}{{\"cost_usd\": 1}}", "{\"a\":".repeat(1000));
        let deep_then_report = deep_then_report.as_bytes();
        let too_deep = format!(
            "{}{{\"cost_usd\": 1}}{}",
            "{\"a\":".repeat(40),
            "}".repeat(40)
        );
        let too_deep = too_deep.as_bytes();
        let cases: [(&[u8], &[Report]); 12] = [
            // an agent hiding its cost behind one byte
            (b"x{\"type\":\"result\",\"total_cost_usd\":42}", &[r(42.0)]),
            (b"\xff\xfe{\"cost_usd\": 1}", &[t(1.0)]),
            // a spinner's frames before the figure (feed ends lines at \r too)
            (b"| working/ working{\"cost_usd\": 2}", &[t(2.0)]),
            (b"{\"cost_usd\": 2} trailing words", &[t(2.0)]),
            // junk braces before the record: each `{` is tried
            (b"{{{ {x {\"cost_usd\": 3}", &[t(3.0)]),
            // two records run together: both count, in order
            (
                b"{\"type\":\"result\",\"total_cost_usd\":0.5}{\"type\":\"result\",\"total_cost_usd\":0.25}",
                &[r(0.5), r(0.25)],
            ),
            // an object that parses is taken whole: its inner objects are its own
            (b"noise {\"type\":\"assistant\",\"message\":{\"cost_usd\":9}}", &[]),
            // one that does not parse is no shelter: the next `{` is tried
            (b"{\"broken\": {\"cost_usd\": 4}", &[t(4.0)]),
            // a figure quoted inside a string is text, not an object
            (b"{\"text\":\"{\\\"cost_usd\\\": 5}\"}", &[]),
            (b"cost_usd {", &[]),
            // a deep, unclosed prefix costs what MAX_DEPTH allows and hides
            // nothing; a figure nested deep in a valid object stays its own
            // (the outermost object that parses within MAX_DEPTH is taken)
            (deep_then_report, &[t(1.0)]),
            (too_deep, &[]),
        ];
        for (line, want) in cases {
            assert_eq!(
                reports_in(line, false),
                want,
                "{}",
                String::from_utf8_lossy(line)
            );
        }
    }

    #[test]
    fn a_spinners_carriage_return_ends_a_line() {
        let l = fed(&[(b"\\ thinking\r| thinking\r{\"cost_usd\": 2}\r\n", false)]);
        assert_eq!(l.spend(), Some(2.0));
        // a torn record after the last frame still waits for its end
        let torn = fed(&[(b"| working\r{\"cost_usd\": 2", false)]);
        assert_eq!((torn.spend(), torn.cursors["log"].at), (None, 10));
    }

    #[test]
    fn a_line_too_long_to_read_is_skipped_whole_and_counted_once() {
        let mut l = Ledger::default();
        l.begin_turn(1);
        // a long line whose tail looks like a report: never read as one
        let mut file = vec![b'a'; MAX_READ + 100];
        file.extend_from_slice(b"{\"cost_usd\": 9}\n{\"cost_usd\": 0.5}\n");
        let mut reads = 0;
        while l.start_of("log", 1, file.len() as u64) < file.len() as u64 {
            let from = l.start_of("log", 1, file.len() as u64) as usize;
            let end = (from + MAX_READ).min(file.len());
            l.feed(
                &Meter::CUSTOM,
                "log",
                1,
                from as u64,
                &file[from..end],
                false,
            );
            reads += 1;
            assert!(reads < 5, "the cursor always advances");
        }
        assert_eq!(l.spend(), Some(0.5));
        assert_eq!(l.skipped_lines, 1);
        assert!(!l.cursors["log"].skipping);
        // still inside the long line when nothing more came: it stays skipped
        let mut l = Ledger::default();
        l.feed(&Meter::CUSTOM, "log", 1, 0, &file[..MAX_READ], false);
        l.feed(&Meter::CUSTOM, "log", 1, MAX_READ as u64, b"", false);
        l.feed(&Meter::CUSTOM, "log", 1, MAX_READ as u64, b"aaaa", false);
        let c = l.cursors["log"];
        assert_eq!(
            (c.at, c.skipping, l.skipped_lines),
            (MAX_READ as u64 + 4, true, 1)
        );
        // a new file under the same name starts afresh
        l.feed(
            &Meter::CUSTOM,
            "log",
            2,
            0,
            b"{\"cost_usd\": 0.25}\n",
            false,
        );
        assert_eq!((l.spend(), l.cursors["log"].skipping), (Some(0.25), false));
    }

    #[test]
    fn a_turns_progress_lines_are_cumulative_and_the_last_wins() {
        let l = fed(&[(
            b"{\"cost_usd\":0.5}\n{\"cost_usd\":1.5}\n{\"cost_usd\":1.0}\n",
            false,
        )]);
        assert_eq!(l.spend(), Some(1.0));
    }

    #[test]
    fn a_turns_results_add_up_and_a_second_report_of_the_same_money_does_not() {
        let results = fed(&[(
            b"{\"type\":\"result\",\"total_cost_usd\":0.5}\n{\"type\":\"result\",\"total_cost_usd\":0.25}\n",
            false,
        )]);
        assert_eq!(results.spend(), Some(0.75));
        // a wrapper that writes cost_usd from the same result: the larger, not the sum
        let both = fed(&[(
            b"{\"type\":\"result\",\"total_cost_usd\":0.5}\n{\"cost_usd\":0.5}\n",
            false,
        )]);
        assert_eq!(both.spend(), Some(0.5));
    }

    #[test]
    fn a_runs_spend_is_the_sum_over_its_turns() {
        let mut l = Ledger::default();
        l.begin_turn(1);
        l.feed(
            &Meter::CUSTOM,
            "progress",
            1,
            0,
            b"{\"cost_usd\":0.2}\n{\"cost_usd\":0.4}\n",
            false,
        );
        l.begin_turn(1); // the same turn again: nothing closes
        assert_eq!(l.spend(), Some(0.4));
        l.begin_turn(2);
        assert_eq!(l.spend(), Some(0.4), "a new turn has reported nothing yet");
        l.feed(
            &Meter::CUSTOM,
            "progress",
            1,
            34,
            b"{\"cost_usd\":0.1}\n{\"cost_usd\":0.3}\n",
            false,
        );
        assert_eq!(l.spend(), Some(0.7));
        l.begin_turn(3);
        l.begin_turn(3);
        assert_eq!(l.spend(), Some(0.7), "closing a turn twice counts it once");
    }

    const CODEX: Meter = Meter {
        agent: AgentKind::Codex,
        prices: Prices {
            input: 1.25,
            cached_input: 0.125,
            output: 10.0,
        },
    };
    const THREAD: &str = "0199a213-81c0-7800-8aa1-bbab2a035a53";

    fn codex_turn(thread: &str, input: u64, cached: u64, output: u64) -> Vec<u8> {
        format!(
            "{{\"type\":\"thread.started\",\"thread_id\":\"{thread}\"}}\n{{\"type\":\"turn.started\"}}\n{{\"type\":\"item.completed\",\"item\":{{\"id\":\"item_1\",\"type\":\"agent_message\",\"text\":\"done; cost_usd 99\"}}}}\n{{\"type\":\"turn.completed\",\"usage\":{{\"input_tokens\":{input},\"cached_input_tokens\":{cached},\"output_tokens\":{output},\"reasoning_output_tokens\":500}}}}\n"
        )
        .into_bytes()
    }

    #[test]
    fn codex_usage_is_priced_uncached_cached_and_output_per_million() {
        // (1M - 200k) * 1.25 + 200k * 0.125 + 100k * 10 = 1.0 + 0.025 + 1.0
        let mut l = Ledger::default();
        l.begin_turn(1);
        l.feed(
            &CODEX,
            "log",
            1,
            0,
            &codex_turn(THREAD, 1_000_000, 200_000, 100_000),
            true,
        );
        assert_eq!(l.spend(), Some(2.025));
        let cases = [
            (Prices::ZERO, None, "all prices zero: no figure"),
            (
                Prices {
                    input: 0.0,
                    cached_input: 0.0,
                    output: 2.0,
                },
                Some(0.2),
                "reasoning is inside output_tokens, never added again",
            ),
        ];
        for (prices, want, why) in cases {
            let mut l = Ledger::default();
            l.begin_turn(1);
            let meter = Meter {
                agent: AgentKind::Codex,
                prices,
            };
            l.feed(
                &meter,
                "log",
                1,
                0,
                &codex_turn(THREAD, 1_000_000, 200_000, 100_000),
                true,
            );
            assert_eq!(l.spend(), want, "{why}");
        }
    }

    #[test]
    fn codex_usage_counts_only_for_agent_codex() {
        for agent in [AgentKind::Claude, AgentKind::Custom] {
            let mut l = Ledger::default();
            l.begin_turn(1);
            let meter = Meter {
                agent,
                prices: CODEX.prices,
            };
            l.feed(
                &meter,
                "log",
                1,
                0,
                &codex_turn(THREAD, 1000, 0, 1000),
                true,
            );
            assert_eq!(l.spend(), None, "{agent}");
        }
    }

    #[test]
    fn a_resumed_codex_thread_is_priced_on_what_it_used_since_the_last_turn() {
        let mut l = Ledger::default();
        l.begin_turn(1);
        let first = codex_turn(THREAD, 1_000_000, 0, 0);
        l.feed(&CODEX, "log", 1, 0, &first, true);
        assert_eq!(l.spend(), Some(1.25));
        l.begin_turn(2);
        // codex exec resume: the thread's usage so far, the first turn's included
        let second = codex_turn(THREAD, 1_800_000, 0, 0);
        l.feed(&CODEX, "log", 1, first.len() as u64, &second, true);
        assert_eq!(l.spend(), Some(2.25), "1M then 0.8M more, not 1M + 1.8M");
        l.begin_turn(3);
        // a new thread (the resume did not take) starts from nothing
        let third = codex_turn("0199a213-81c0-7800-8aa1-000000000000", 400_000, 0, 0);
        let at = (first.len() + second.len()) as u64;
        l.feed(&CODEX, "log", 1, at, &third, true);
        assert_eq!(l.spend(), Some(2.75));
    }

    #[test]
    fn a_resumed_claude_session_is_counted_on_what_it_spent_since_the_last_turn() {
        let session = "8711a2be-7fab-4777-a17d-f22c49ff150c";
        let result = |usd: f64, id: &str| {
            format!("{{\"type\":\"result\",\"total_cost_usd\":{usd},\"session_id\":\"{id}\"}}\n")
                .into_bytes()
        };
        let mut l = Ledger::default();
        l.begin_turn(1);
        let first = result(0.5, session);
        l.feed(&Meter::CUSTOM, "log", 1, 0, &first, true);
        assert_eq!(l.spend(), Some(0.5));
        l.begin_turn(2);
        // claude --resume: the session's total, the first turn's included
        let second = result(0.8, session);
        l.feed(&Meter::CUSTOM, "log", 1, first.len() as u64, &second, true);
        assert_eq!(l.spend(), Some(0.8), "0.5 then 0.3 more, not 0.5 + 0.8");
        l.begin_turn(3);
        // a new session (no resume) starts from nothing; a record without one adds up
        let third = result(0.25, "0f8fad5b-d9cb-469f-a165-70867728950e");
        let at = (first.len() + second.len()) as u64;
        l.feed(&Meter::CUSTOM, "log", 1, at, &third, true);
        assert_eq!(l.spend(), Some(1.05));
        // the ledger round-trips through the state file mid-run
        let again = Ledger::from_stored(Some(&l.to_stored()));
        assert_eq!(again.spend(), Some(1.05));
    }

    #[test]
    fn each_turns_figure_says_where_it_came_from() {
        let mut l = Ledger::default();
        l.begin_turn(1);
        l.feed(
            &Meter::CUSTOM,
            "log",
            1,
            0,
            b"{\"type\":\"result\",\"total_cost_usd\":0.5}\n{\"cost_usd\":0.5}\n",
            false,
        );
        l.begin_turn(2);
        l.feed(
            &Meter::CUSTOM,
            "progress",
            2,
            0,
            b"{\"cost_usd\":0.75}\n",
            false,
        );
        l.begin_turn(3);
        l.feed(
            &CODEX,
            "log",
            3,
            0,
            &codex_turn(THREAD, 0, 0, 100_000),
            true,
        );
        let f = |turn, usd, source| Figure { turn, usd, source };
        assert_eq!(
            l.figures(),
            vec![
                f(Some(1), 0.5, Source::Claude),
                f(Some(2), 0.75, Source::Progress),
                f(Some(3), 1.0, Source::CodexPriced),
            ],
            "a tie goes to the program's own record"
        );
        l.thread(3.0);
        assert_eq!(l.figures().last(), Some(&f(None, 3.0, Source::Thread)));
        assert_eq!(Ledger::from_stored(Some(&l.to_stored())), l);
        let names: Vec<String> = [
            Source::Claude,
            Source::CodexPriced,
            Source::Progress,
            Source::Thread,
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        assert_eq!(names, ["claude", "codex-priced", "progress", "thread"]);
    }

    #[test]
    fn what_counts_as_a_codex_report() {
        let cases: [(&[u8], Option<Report>); 6] = [
            (
                b"{\"type\":\"turn.completed\",\"usage\":{\"input_tokens\":10,\"cached_input_tokens\":4,\"output_tokens\":2}}",
                Some(Report::Usage(Tokens {
                    input: 10,
                    cached_input: 4,
                    output: 2,
                })),
            ),
            (
                b"{\"type\":\"thread.started\",\"thread_id\":\"0199a213-81c0\"}",
                Some(Report::Thread("0199a213-81c0".into())),
            ),
            // an id that is no session id is never kept (it reaches a command line)
            (b"{\"type\":\"thread.started\",\"thread_id\":\"--x\"}", None),
            (b"{\"type\":\"turn.completed\",\"usage\":{\"input_tokens\":-1}}", None),
            (b"{\"type\":\"turn.completed\"}", None),
            // an agent message quoting an event is text
            (
                b"{\"type\":\"item.completed\",\"item\":{\"type\":\"agent_message\",\"text\":\"{\\\"type\\\":\\\"turn.completed\\\"}\"}}",
                None,
            ),
        ];
        for (line, want) in cases {
            assert_eq!(
                reports_in(line, true).first().cloned(),
                want,
                "{}",
                String::from_utf8_lossy(line)
            );
        }
    }

    #[test]
    fn nothing_reported_is_unknown_not_zero() {
        let mut l = Ledger::default();
        assert_eq!(l.spend(), None);
        l.begin_turn(1);
        l.feed(
            &Meter::CUSTOM,
            "log",
            1,
            0,
            b"hello\n{\"phase\":\"green\"}\n",
            true,
        );
        assert_eq!(l.spend(), None);
        l.begin_turn(2);
        assert_eq!(l.spend(), None);
        l.feed(
            &Meter::CUSTOM,
            "progress",
            2,
            0,
            b"{\"cost_usd\":0}\n",
            false,
        );
        assert_eq!(l.spend(), Some(0.0), "a reported 0 is known");
    }

    #[test]
    fn a_torn_line_waits_for_its_end_and_is_read_once() {
        let torn = fed(&[(b"{\"type\":\"result\",\"total_cost_usd\":", false)]);
        assert_eq!(torn.spend(), None);
        assert_eq!(torn.cursors["log"].at, 0);
        let whole = fed(&[
            (b"{\"type\":\"result\",\"total_cost_usd\":", false),
            (b"0.25}\n", false),
            (b"", false),
        ]);
        assert_eq!(whole.spend(), Some(0.25));
        // the writer is gone: its unended last line is whole
        let ended = fed(&[(b"{\"type\":\"result\",\"total_cost_usd\":0.5}", true)]);
        assert_eq!(ended.spend(), Some(0.5));
    }

    #[test]
    fn each_byte_is_read_once_however_many_ticks_look() {
        let mut l = Ledger::default();
        l.begin_turn(1);
        let log = b"x\n{\"type\":\"result\",\"total_cost_usd\":0.5}\n";
        for _ in 0..3 {
            let from = l.start_of("log", 9, log.len() as u64);
            l.feed(&Meter::CUSTOM, "log", 9, from, &log[from as usize..], false);
        }
        assert_eq!(l.spend(), Some(0.5));
    }

    #[test]
    fn a_rotated_or_truncated_stream_is_read_from_its_start() {
        let mut l = Ledger::default();
        l.begin_turn(1);
        l.feed(
            &Meter::CUSTOM,
            "log",
            1,
            0,
            b"{\"type\":\"result\",\"total_cost_usd\":0.5}\n",
            false,
        );
        let at = l.cursors["log"].at;
        assert_eq!(at, 39);
        let cases = [
            (1, at, at, "the same file, as it was"),
            (1, 400, at, "the same file, grown: go on"),
            (1, 10, 0, "truncated under us: from the start"),
            (
                2,
                400,
                0,
                "another file (renamed away, a new one made): from the start",
            ),
        ];
        for (file, len, want, why) in cases {
            assert_eq!(l.start_of("log", file, len), want, "{why}");
        }
        assert_eq!(l.start_of("progress", 1, 10), 0, "a stream never read");
    }

    #[test]
    fn an_endless_line_is_skipped_so_reading_goes_on() {
        let mut l = Ledger::default();
        l.begin_turn(1);
        let junk = vec![b'a'; MAX_READ];
        l.feed(&Meter::CUSTOM, "log", 1, 0, &junk, false);
        assert_eq!(l.cursors["log"].at, MAX_READ as u64);
    }

    #[test]
    fn the_thread_figure_is_the_whole_run_and_never_adds_to_local_reports() {
        let mut l = Ledger::default();
        l.begin_turn(1);
        l.thread(1.5);
        assert_eq!(l.spend(), Some(1.5));
        l.begin_turn(2);
        l.thread(2.0);
        assert_eq!(l.spend(), Some(2.0));
        l.feed(
            &Meter::CUSTOM,
            "progress",
            1,
            0,
            b"{\"cost_usd\":0.5}\n",
            false,
        );
        assert_eq!(l.spend(), Some(2.0));
        l.thread(f64::NAN);
        assert_eq!(l.spend(), Some(2.0), "a figure that is not one is ignored");
    }

    #[test]
    fn the_ledger_survives_storage() {
        let mut l = fed(&[(b"{\"cost_usd\":0.5}\n", false)]);
        l.thread(0.25);
        assert_eq!(Ledger::from_stored(Some(&l.to_stored())), l);
        assert_eq!(Ledger::from_stored(None), Ledger::default());
        assert_eq!(Ledger::from_stored(Some("{not json")), Ledger::default());
    }

    #[test]
    fn run_limits_are_over_not_at_and_zero_means_none() {
        let h = Duration::from_secs(3600);
        let usd = [
            (0.0, Some(100.0), false),
            (1.0, None, false),
            (1.0, Some(1.0), false),
            (1.0, Some(1.01), true),
        ];
        for (limit, spend, want) in usd {
            assert_eq!(over_run_usd(limit, spend), want, "{limit} {spend:?}");
        }
        let time = [
            (None, h * 99, false),
            (Some(h), h, false),
            (Some(h), h + Duration::from_secs(1), true),
        ];
        for (limit, age, want) in time {
            assert_eq!(over_run_time(limit, age), want, "{limit:?} {age:?}");
        }
    }

    fn runs() -> Vec<DayRun<'static>> {
        vec![
            // dispatched the evening before: counts for that day, all of it
            DayRun {
                repo: "a/x",
                dispatched_at: datetime!(2026-03-01 23:59:59 UTC),
                spend_usd: Some(5.0),
            },
            DayRun {
                repo: "a/x",
                dispatched_at: datetime!(2026-03-02 00:00:00 UTC),
                spend_usd: Some(1.5),
            },
            // an offset is read as the UTC instant it is: 01:00+02:00 is the 1st, 23:00 UTC
            DayRun {
                repo: "a/y",
                dispatched_at: datetime!(2026-03-02 01:00 +02:00),
                spend_usd: Some(7.0),
            },
            DayRun {
                repo: "a/y",
                dispatched_at: datetime!(2026-03-02 12:00 UTC),
                spend_usd: Some(2.0),
            },
            DayRun {
                repo: "a/y",
                dispatched_at: datetime!(2026-03-02 13:00 UTC),
                spend_usd: None,
            },
        ]
    }

    #[test]
    fn every_run_but_a_failed_start_counts_toward_its_day() {
        for s in RunStatus::ALL {
            assert_eq!(counts_toward_day(s), s != RunStatus::Failed, "{s}");
        }
    }

    #[test]
    fn the_day_is_the_utc_day_of_dispatch() {
        let r = runs();
        let d1 = time::macros::date!(2026 - 03 - 01);
        let d2 = time::macros::date!(2026 - 03 - 02);
        let cases = [
            (d1, None, 12.0, 2, 0),
            (d2, None, 3.5, 3, 1),
            (d2, Some("a/x"), 1.5, 1, 0),
            (d2, Some("a/y"), 2.0, 2, 1),
            (d2, Some("a/z"), 0.0, 0, 0),
        ];
        for (day, repo, usd, n, unknown) in cases {
            let s = day_spend(&r, day, repo);
            assert_eq!(
                (s.spend_usd, s.runs, s.unreported),
                (usd, n, unknown),
                "{day} {repo:?}"
            );
        }
    }

    #[test]
    fn a_day_limit_stops_at_it_per_repo_too_and_zero_means_none() {
        let r = runs();
        let now = datetime!(2026-03-02 18:00 UTC);
        let lim = |day_usd, repo_day_usd| DayLimits {
            day_usd,
            repo_day_usd,
        };
        let which = |l: DayLimits| -> Vec<(&'static str, Option<String>)> {
            day_stops(l, &r, now, &repos(&["a/x", "a/y"]))
                .into_iter()
                .map(|s| (s.limit, s.repo))
                .collect()
        };
        assert_eq!(which(lim(0.0, 0.0)), vec![]);
        assert_eq!(which(lim(3.5, 0.0)), vec![("day_usd", None)], "at it");
        assert_eq!(which(lim(3.6, 0.0)), vec![]);
        assert_eq!(
            which(lim(0.0, 2.0)),
            vec![("repo_day_usd", Some("a/y".into()))]
        );
        assert_eq!(which(lim(0.0, 1.5)).len(), 2);
        // the next UTC day starts from nothing
        let next = day_stops(
            lim(0.01, 0.01),
            &r,
            datetime!(2026-03-03 00:00:01 UTC),
            &repos(&["a/x"]),
        );
        assert_eq!(next, vec![]);
        let stops = day_stops(lim(3.0, 2.0), &r, now, &repos(&["a/x", "a/y"]));
        assert!(
            stops_repo(&stops, &repos(&["a/x"])[0]),
            "the day limit stops every repo"
        );
        let only_y = day_stops(lim(0.0, 2.0), &r, now, &repos(&["a/x", "a/y"]));
        let [x, y] = [&repos(&["a/x"])[0], &repos(&["a/y"])[0]];
        assert!(!stops_repo(&only_y, x) && stops_repo(&only_y, y));
    }

    #[test]
    fn a_stop_says_the_limit_the_spend_and_what_is_unknown_in_one_line() {
        let s = &day_stops(
            DayLimits {
                day_usd: 3.0,
                repo_day_usd: 0.0,
            },
            &runs(),
            datetime!(2026-03-02 18:00 UTC),
            &[],
        )[0];
        assert_eq!(
            s.text,
            "budget.day_usd $3.00 reached: afk has spent $3.50 on 3 runs dispatched 2026-03-02 (UTC); 1 run reported no spend yet and counts as $0; nothing more is dispatched until 00:00 UTC"
        );
        assert!(!s.text.contains('\n'));
        assert_eq!((s.day.as_str(), s.unreported), ("2026-03-02", 1));
    }

    #[test]
    fn the_budget_left_is_the_smallest_remainder_of_the_set_money_limits() {
        let at = datetime!(2026-03-02 18:00 UTC);
        let limits = |run_usd, day_usd, repo_day_usd| MoneyLimits {
            run_usd,
            day: DayLimits {
                day_usd,
                repo_day_usd,
            },
        };
        let run = |spend_usd| DayRun {
            repo: "a/x",
            dispatched_at: at,
            spend_usd,
        };
        // the day's other runs (runs()): $3.50 on 2026-03-02, $1.50 of it a/x's
        let others = runs();
        let cases = [
            (limits(0.0, 0.0, 0.0), None, None, "no money limit: unset"),
            (
                limits(3.0, 0.0, 0.0),
                None,
                Some(3.0),
                "a first turn: all of run_usd",
            ),
            (
                limits(3.0, 0.0, 0.0),
                Some(1.25),
                Some(1.75),
                "run_usd less the run's spend",
            ),
            (
                limits(3.0, 5.0, 0.0),
                Some(1.25),
                Some(0.25),
                "the day's remainder is smaller",
            ),
            (
                limits(0.0, 0.0, 4.0),
                Some(1.0),
                Some(1.5),
                "the repo's day: a/x's runs only",
            ),
            (
                limits(10.0, 20.0, 4.0),
                None,
                Some(2.5),
                "the smallest of the three",
            ),
            (
                limits(1.0, 0.0, 0.0),
                Some(1.5),
                Some(0.0),
                "spent over: nothing, never below 0",
            ),
            (
                limits(0.0, 3.0, 0.0),
                Some(0.0),
                Some(0.0),
                "the day is spent already",
            ),
            (
                limits(0.1, 0.0, 0.0),
                Some(0.07),
                Some(0.03),
                "whole micro-dollars",
            ),
        ];
        for (l, spend, want, why) in cases {
            assert_eq!(money_left(l, &run(spend), &others), want, "{why}");
        }
        // a run dispatched the day before counts toward that day, not today
        let yesterday = DayRun {
            repo: "a/x",
            dispatched_at: datetime!(2026-03-01 20:00 UTC),
            spend_usd: Some(1.0),
        };
        assert_eq!(
            money_left(limits(0.0, 20.0, 0.0), &yesterday, &others),
            Some(7.0)
        );
        let texts = [
            (2.0, "2"),
            (0.75, "0.75"),
            (3.5, "3.5"),
            (0.000001, "0.000001"),
            (-1.0, "0"),
        ];
        for (x, want) in texts {
            assert_eq!(budget_text(x), want);
        }
    }

    #[test]
    fn claude_reports_spend_only_with_a_json_output_format() {
        let v = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let sh = |script: &str| v(&["sh", "-c", script]);
        let cases = [
            (
                "claude",
                sh("claude -p --output-format json < p"),
                Some(true),
            ),
            (
                "claude",
                sh("claude -p --output-format stream-json --verbose"),
                Some(true),
            ),
            (
                "/usr/local/bin/claude",
                v(&["claude", "--output-format=json"]),
                Some(true),
            ),
            (
                "claude",
                sh("claude -p --dangerously-skip-permissions < p"),
                Some(false),
            ),
            ("claude", sh("claude -p --output-format text"), Some(false)),
            ("codex", sh("codex exec --output-format json"), None),
        ];
        for (program, argv, want) in cases {
            assert_eq!(claude_reports_spend(program, &argv), want, "{argv:?}");
        }
    }

    #[test]
    fn money_and_age_read_as_people_write_them() {
        let money = [
            (0.0, "$0.00"),
            (1.25, "$1.25"),
            (0.0042, "$0.0042"),
            (6.0, "$6.00"),
        ];
        for (x, want) in money {
            assert_eq!(usd(x), want);
        }
        let s = Duration::from_secs;
        let ages = [
            (s(45), "45s"),
            (s(720), "12m"),
            (s(7500), "2h05m"),
            (s(7200), "2h00m"),
            (s(273_600), "3d04h"),
        ];
        for (d, want) in ages {
            assert_eq!(age_text(d), want);
        }
    }

    #[test]
    fn a_spend_beside_its_limit_never_reads_the_same_when_it_differs() {
        let cases = [
            (0.032, 0.03, "$0.0320"),
            (0.03, 0.03, "$0.03"),
            (2.000000001, 2.0, "$2.00"),
            (1.02, 1.0, "$1.02"),
            (1.004, 1.0, "$1.0040"),
            (0.005, 0.01, "$0.0050"),
        ];
        for (x, limit, want) in cases {
            assert_eq!(usd_beside(x, limit), want, "{x} beside {limit}");
        }
    }
}
