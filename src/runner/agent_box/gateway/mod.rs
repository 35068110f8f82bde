// One file: the gateway's one path for a request (its head and body read within caps, admitted, sent upstream with the key, streamed back, metered, the budget's stop) reads top to bottom; its rules are core::gateway, its tests tests/it/agent_box.rs.
//! The model gateway's keeper side
//! (docs/runners.md#the-model-gateway-runnermodel): the box's listener on a
//! loopback port inside the box is served by the keeper (`inside::serve`),
//! which hands each connection to the forwarder under [`LINE`]; here,
//! outside the box, each request on it is judged by `core::gateway`, given the real key
//! (read from afk's environment by the keeper, never written anywhere the
//! box sees), sent to the upstream over HTTPS with its certificate checked,
//! and its answer streamed back chunk by chunk while its usage is read,
//! priced and appended to `<run_dir>/metered.jsonl`. While it streams, the
//! usage that has arrived is kept in a partial record of its own
//! (`<run_dir>/metered-aloft/`, `core::gateway::aloft`), so a keeper killed
//! mid-answer (watch's stop at `run_time`, `/afk stop`, a crash) leaves it
//! counted. At the budget: a 429, nothing more passes, and the turn's box is
//! ended.

use super::said::{say, say_turn_ends};
use crate::core::gateway::{
    self as rules, Admit, Api, Head, MAX_BODY, aloft, budget, metered, prices, usage,
};
use anyhow::{Result, bail};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, Ordering::SeqCst};
use std::sync::{Arc, Mutex, OnceLock};

mod setup;
mod wire;
pub use setup::*;
use wire::*;

/// What a connection to the gateway's port is relayed as (`inside::serve`):
/// never a `host:port`, so never judged by `runner.box.allow`.
pub const LINE: &str = "afk-gateway";

/// What the box's agent holds instead of a key.
pub const PLACEHOLDER: &str = "afk-gateway-holds-the-key";

/// The variable Codex's provider of afk's making reads its (placeholder) key from.
pub const CODEX_KEY_VAR: &str = "AFK_GATEWAY_KEY";

/// The provider of afk's making in the run's own `CODEX_HOME`.
pub const CODEX_PROVIDER: &str = "afk-gateway";

/// The run's metered record, in the run's folder (outside the box).
pub const METERED: &str = "metered.jsonl";

/// A metered record written to the gateway's stdout (a Kubernetes pod's
/// gateway container, whose log afk mirrors into the run's folder).
pub const STDOUT: &str = "/dev/stdout";

/// The refusal that stopped a turn, in the run's folder.
pub const STOP_FILE: &str = "budget-stop.json";

/// The gateway's part of a turn's spec (no key: only its variable's name).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GatewaySpec {
    pub api: Api,
    /// The variable of afk's environment holding the key (the keeper reads it).
    pub key_env: String,
    /// The API's root the requests go to.
    pub upstream: String,
    /// The `Host`s a request may name (`host[:port]`).
    pub hosts: Vec<String>,
    /// The loopback port inside the box.
    pub port: u16,
    /// `[runner.prices.models]` and the flat `[runner.prices]`.
    pub models: BTreeMap<String, prices::Price>,
    pub flat: prices::Price,
    /// The budget gate (docs/runners.md#the-model-gateway-runnermodel): the money limits, the run's spend
    /// before this turn, the day's other runs' as recorded when the turn
    /// started; None: no money limit.
    pub gate: Option<budget::Gate>,
    /// `<run_dir>/metered.jsonl`.
    pub metered: PathBuf,
    /// The turn's number (from 1), on each model request's metered line.
    #[serde(default)]
    pub turn: u32,
    /// `runner.secret_env`: variables of afk's environment whose values the
    /// agent is handed, so may put in its context; the keeper reads them
    /// to redact them from what it sends upstream (never written here).
    #[serde(default)]
    pub redact_env: Vec<String>,
    /// `[runner.model] allow_features`: what the vendor may do for the
    /// agent beyond answering (`core::gateway::request`).
    #[serde(default)]
    pub allow_features: Vec<String>,
    /// Every secret the tick holds (the forge's token, the App key, the
    /// hook's secret, the notifiers' URLs, ...): redacted from every body
    /// the gateway sends upstream. Handed to the keeper in memory with its
    /// spec (never a file), shown nowhere.
    #[serde(default)]
    pub held: Held,
}

/// The variables the agents' programs read their model credentials from:
/// with the gateway, replaced by its placeholder; without it, the
/// program's own key, passed as the operator set it.
pub(crate) const PROGRAM_KEYS: [&str; 6] = [
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_AUTH_TOKEN",
    "CLAUDE_CODE_OAUTH_TOKEN",
    "OPENAI_API_KEY",
    "CODEX_API_KEY",
    "AZURE_OPENAI_API_KEY",
];

/// Secret values handed to the keeper (see [`GatewaySpec::held`]): its
/// `Debug` names how many, never what.
#[derive(Clone, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Held(Vec<String>);

impl Held {
    pub fn of(secrets: &[crate::redact::Secret]) -> Held {
        Held(secrets.iter().map(|s| s.expose().to_string()).collect())
    }
}

impl std::fmt::Debug for Held {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Held({} redacted)", self.0.len())
    }
}

/// The box's bubblewrap, ended when the gateway stops the turn.
static BOX_PID: AtomicI32 = AtomicI32::new(0);

/// The keeper started the box (bubblewrap's pid).
pub(super) fn box_started(pid: u32) {
    BOX_PID.store(pid as i32, SeqCst);
}

/// End the turn: its box goes (bubblewrap, and with it every process of
/// the box), and the keeper exits with the agent's end.
fn stop_turn(why: &str) {
    say_turn_ends(why);
    let pid = BOX_PID.load(SeqCst);
    if pid > 0 {
        // SAFETY: kill(2) of the keeper's own child
        unsafe {
            libc::kill(pid, libc::SIGKILL);
        }
    }
}

/// A request sent upstream and not yet metered: what it may still cost
/// counts against the budget ([`Gateway::may_spend`]), and a turn that ends
/// meters it by what arrived ([`Gateway::finish`]).
#[derive(Debug, Clone)]
struct Flight {
    /// Its number among the turn's requests (its partial record's name).
    id: u64,
    endpoint: rules::Endpoint,
    model: Option<String>,
    asks: prices::Asks,
    max_output: u64,
    sent: u64,
    received: u64,
    status: u16,
    usage: Option<usage::Usage>,
    /// What its partial record holds (`core::gateway::aloft`); None: it
    /// has none.
    kept: Option<aloft::Kept>,
    /// Its chat span's facts: when it arrived, by both clocks.
    arrived: (time::OffsetDateTime, std::time::Instant),
    stream: bool,
    max_tokens: Option<u64>,
    /// When the answer's first bytes came back, after its arrival.
    first_chunk: Option<std::time::Duration>,
    /// What the answer said of itself.
    answered: usage::Answered,
}

/// The gateway of one turn.
pub struct Gateway {
    spec: GatewaySpec,
    /// the model's key: held as a Secret, so it is redacted from every line
    /// and body the gateway writes, and sent only in its own header
    key: crate::redact::Secret,
    agent: crate::client::Agent,
    /// This turn's metered spend so far (micro-dollars).
    spent: Mutex<u64>,
    stopped: AtomicBool,
    passed: AtomicU64,
    refused: AtomicU64,
    /// Models already said to have no price.
    said: Mutex<Vec<String>>,
    /// Called once the turn is stopped (a Kubernetes pod's gateway leaves
    /// its stop mark for the agent's watchdog).
    on_stop: OnceLock<Box<dyn Fn() + Send + Sync>>,
    /// The requests in flight, by number; a request is metered by whoever
    /// takes it out (its own thread, or [`Gateway::finish`]).
    flights: Mutex<BTreeMap<u64, Flight>>,
    landed: std::sync::Condvar,
    next: AtomicU64,
    /// The folder of the requests' partial records (`core::gateway::aloft`,
    /// beside the metered record); None where the record is the gateway's
    /// stdout (a Kubernetes pod's gateway container, which drains its
    /// requests on SIGTERM instead).
    aloft: Option<PathBuf>,
    /// This gateway's name among the run's keepers (its process and when it
    /// was made), in its partial records' names.
    keeper: String,
    /// A partial record could not be written (said once).
    aloft_failed: AtomicBool,
}

/// How long the requests in flight as a turn ends are given to finish
/// before they are metered by what arrived.
pub const GRACE: std::time::Duration = std::time::Duration::from_secs(10);

/// The request head read at most.
const MAX_HEAD: usize = 64 << 10;
/// An idle connection from the agent is closed after this long.
const IDLE: std::time::Duration = std::time::Duration::from_secs(600);

impl Gateway {
    /// The gateway of a turn, its key read now from the keeper's
    /// environment through the config's one reader of a secret variable
    /// (`config::env_secret`: a `Secret` from the moment it is read).
    pub(crate) fn new(spec: GatewaySpec) -> Result<Arc<Gateway>> {
        let Some(key) = crate::config::env_secret(&spec.key_env) else {
            bail!(
                "the model gateway: ${} (runner.model.key_env) is not in afk's environment; the turn does not start",
                spec.key_env
            );
        };
        Gateway::with_key(spec, key)
    }

    /// The gateway of a turn whose key is `key` (a Kubernetes pod's
    /// gateway container reads it from its mounted file:
    /// `config::model_key_file`).
    pub(crate) fn with_key(spec: GatewaySpec, key: crate::redact::Secret) -> Result<Arc<Gateway>> {
        if let Err(why) = rules::upstream_allowed(&spec.upstream) {
            bail!("the model gateway: runner.model.upstream {why}");
        }
        // every secret the tick holds, and those the agent holds:
        // registered, so redacted_body keeps them from the model as from
        // everything afk writes
        for v in &spec.held.0 {
            crate::redact::Secret::new(v.trim());
        }
        for name in &spec.redact_env {
            // registered as it is read: held by the redaction, not here
            let _ = crate::config::env_secret(name);
        }
        let agent = afk_http::client::builder(std::time::Duration::from_secs(24 * 3600))
            .timeout_connect(std::time::Duration::from_secs(10))
            .timeout_read(std::time::Duration::from_secs(600))
            .timeout_write(std::time::Duration::from_secs(60))
            .build();
        let aloft = (spec.metered != std::path::Path::new(STDOUT))
            .then(|| spec.metered.with_file_name(aloft::DIR));
        let made = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let keeper = format!("{}-{made:x}", std::process::id());
        Ok(Arc::new(Gateway {
            spec,
            key,
            agent,
            spent: Mutex::new(0),
            stopped: AtomicBool::new(false),
            passed: AtomicU64::new(0),
            refused: AtomicU64::new(0),
            said: Mutex::new(vec![]),
            on_stop: OnceLock::new(),
            flights: Mutex::new(BTreeMap::new()),
            landed: std::sync::Condvar::new(),
            next: AtomicU64::new(0),
            aloft,
            keeper,
            aloft_failed: AtomicBool::new(false),
        }))
    }

    /// Whether the gateway stopped the turn (at its budget, or unable to
    /// write its record): a Kubernetes pod's health port answers 503 then.
    pub(crate) fn stopped(&self) -> bool {
        self.stopped.load(SeqCst)
    }

    /// What to do once the gateway stopped the turn, after its record is
    /// written (set once, before the gateway serves).
    pub(crate) fn when_stopped(&self, f: Box<dyn Fn() + Send + Sync>) {
        let _ = self.on_stop.set(f);
    }

    /// Stop the turn, once: the first caller says `why`, leaves the budget's
    /// stop record when the budget is why (`leave_stop`), ends the box and
    /// tells the keeper (`on_stop`); a request racing it finds it stopped.
    fn stop(&self, why: &str, refusal: Option<&budget::Refusal>) {
        if self.stopped.swap(true, SeqCst) {
            return;
        }
        if let Some(r) = refusal {
            self.leave_stop(r);
        }
        stop_turn(why);
        if let Some(f) = self.on_stop.get() {
            f();
        }
    }

    /// The turn's line in the run's log, after its box ended.
    pub(super) fn summary(&self) {
        let passed = self.passed.load(SeqCst);
        let refused = self.refused.load(SeqCst);
        if passed + refused > 0 {
            let spent = *self.spent.lock().unwrap_or_else(|e| e.into_inner());
            say(&format!(
                "the model gateway passed {passed} requests ({} metered this turn), refused {refused}",
                crate::core::budget::spend::usd(prices::usd(spent))
            ));
        }
    }

    /// One connection from the box: its requests, one after another.
    pub(super) fn serve(&self, conn: std::os::unix::net::UnixStream) {
        let _ = conn.set_read_timeout(Some(IDLE));
        let Ok(w) = conn.try_clone() else { return };
        self.serve_io(conn, w);
    }

    /// One connection's requests, one after another, over any stream (the
    /// Kubernetes pod's gateway container: a TCP connection on loopback).
    pub(crate) fn serve_io(&self, conn: impl Read, mut w: impl Write) {
        let mut r = BufReader::new(conn);
        while let Some(head) = read_head(&mut r) {
            if !self.one(&mut r, &mut w, &head) {
                return;
            }
        }
    }

    fn refuse(&self, w: &mut impl Write, status: u16, reason: &str) {
        self.refused.fetch_add(1, SeqCst);
        say(reason);
        let body = serde_json::json!({"type": "error", "error": {"type": "afk_gateway", "message": reason}})
            .to_string();
        answer(w, status, &body);
    }

    /// The budget gate with the turn's spend so far and `aloft` (what the
    /// requests in flight may still spend): the refusal, if any.
    fn over_budget(&self, aloft: u64) -> Option<budget::Refusal> {
        // the run's own limit, raised while the turn runs, from the next
        // request on
        let gate = budget::raised(self.spec.gate?, self.raised_run_usd());
        let spent = *self.spent.lock().unwrap_or_else(|e| e.into_inner());
        gate.check(spent.saturating_add(aloft)).err()
    }

    /// The run's `run_usd` a trusted person raised while this turn runs
    /// (`budget::RAISED_FILE` in the run's folder, which the box reads
    /// only); None: none, or a pod's gateway (no run folder).
    fn raised_run_usd(&self) -> Option<f64> {
        use std::io::Read;
        if self.spec.metered == std::path::Path::new(STDOUT) {
            return None;
        }
        let file = self.spec.metered.with_file_name(budget::RAISED_FILE);
        let f = crate::private_files::open_run_file(&file).ok()?;
        let mut text = String::new();
        f.take(4096).read_to_string(&mut text).ok()?;
        serde_json::from_str::<serde_json::Value>(&text).ok()?["run_usd"].as_f64()
    }

    /// One request; whether the connection goes on.
    fn one<R: BufRead>(&self, r: &mut R, w: &mut impl Write, h: &Req) -> bool {
        let Some(endpoint) = self.admitted(w, h) else {
            return false;
        };
        let Some(body) = self.body_of(r, w, h) else {
            return false;
        };
        let betas: Vec<&str> = h
            .headers
            .iter()
            .filter(|(k, _)| {
                k.eq_ignore_ascii_case("anthropic-beta") || k.eq_ignore_ascii_case("openai-beta")
            })
            .map(|(_, v)| v.as_str())
            .collect();
        let allow = &self.spec.allow_features;
        let mut judged = match rules::request::judge(self.spec.api, endpoint, &body, &betas, allow)
        {
            Ok(j) => j,
            Err(no) => {
                self.refuse(w, no.status, &format!("the model gateway {}", no.reason));
                return false;
            }
        };
        let body = redacted_body(judged.body.take().unwrap_or(body));
        let Some(id) = self.take_off(w, endpoint, judged, body.len() as u64) else {
            return false;
        };
        let Some(resp) = self.send(w, h, &body) else {
            // no answer came (a dropped connection, a timeout): the vendor
            // may have the request and bill it, so it is metered by what it
            // sent, never at $0
            let mut flights = self.flights_lock();
            if let Some(f) = flights.remove(&id) {
                self.record(&f, 0, None, false);
            }
            drop(flights);
            self.landed.notify_all();
            return false;
        };
        self.passed.fetch_add(1, SeqCst);
        let status = resp.status();
        let on_chunk = |so_far: Option<usage::Usage>, ended: bool, n: u64| {
            let mut flights = self.flights_lock();
            if let Some(f) = flights.get_mut(&id) {
                if f.first_chunk.is_none() && n > 0 {
                    f.first_chunk = Some(f.arrived.1.elapsed());
                }
                f.status = status;
                f.usage = so_far.or(f.usage);
                f.received += n;
                // under the flights' lock: a flight taken out to be metered
                // ([`Gateway::finish`]) gets no partial record after its line
                self.keep_aloft(f, ended);
            }
        };
        let (status, complete, read) = pass_answer(self.spec.api, resp, w, on_chunk);
        let metered = self.meter(id, status, read, complete);
        if matches!(status, 401 | 403) {
            // the model refuses afk's key: no retry of the agent's helps,
            // so the turn ends now, and its escalation and `afk runs show`
            // lead with this line (`core::box_reason`)
            self.stop(
                &format!(
                    "the model refused afk's key (${}, runner.model.key_env): its upstream {} answered {status} (check the key, then re-arm the issue)",
                    self.spec.key_env, self.spec.upstream
                ),
                None,
            );
            return false;
        }
        metered
            && complete
            && !h
                .header("connection")
                .is_some_and(|v| v.eq_ignore_ascii_case("close"))
    }

    /// The request's head judged (its path, host, the turn not stopped, the
    /// budget not reached): its endpoint, or None (answered, the connection ends).
    fn admitted(&self, w: &mut impl Write, h: &Req) -> Option<rules::Endpoint> {
        let api = self.spec.api;
        let hosts: Vec<&str> = self.spec.hosts.iter().map(String::as_str).collect();
        let head = Head {
            method: &h.method,
            target: &h.target,
            host: h.header("host"),
            content_length: h.content_length(),
        };
        let endpoint = match rules::admit(api, &head, &hosts) {
            Admit::Pass(e) => e,
            Admit::Refuse { status, reason } => {
                self.refuse(w, status, &format!("the model gateway {reason}"));
                return None;
            }
        };
        if self.stopped.load(SeqCst) {
            if let Some(refusal) = self.over_budget(0) {
                answer(w, 429, &refusal.body(api));
            }
            return None;
        }
        if let Some(refusal) = self.over_budget(0) {
            answer(w, 429, &refusal.body(api));
            self.stop(&refusal.line(), Some(&refusal));
            return None;
        }
        Some(endpoint)
    }

    /// The request's body, read within its cap (None: refused or cut).
    fn body_of<R: BufRead>(&self, r: &mut R, w: &mut impl Write, h: &Req) -> Option<Vec<u8>> {
        if h.header("expect")
            .is_some_and(|v| v.eq_ignore_ascii_case("100-continue"))
            && w.write_all(b"HTTP/1.1 100 Continue\r\n\r\n").is_err()
        {
            return None;
        }
        let chunked = h
            .header("transfer-encoding")
            .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
        match read_body(r, chunked, h.content_length()) {
            Ok(b) => Some(b),
            Err(BodyError::TooLarge) => {
                let why = format!(
                    "the model gateway refused {} {}: a body over 32 MiB",
                    h.method,
                    h.path()
                );
                self.refuse(w, 413, &why);
                None
            }
            Err(BodyError::Cut) => None,
        }
    }

    /// The budget checked as the request goes upstream, counting what the
    /// requests in flight may still spend: its number among the flights, or
    /// None (answered 429: at the budget the turn stops; held back by what
    /// is in flight, the agent may ask again once those land).
    fn take_off(
        &self,
        w: &mut impl Write,
        endpoint: rules::Endpoint,
        judged: rules::request::Judged,
        sent: u64,
    ) -> Option<u64> {
        let api = self.spec.api;
        let mut flights = self.flights_lock();
        if let Some(refusal) = self.over_budget(0) {
            drop(flights);
            answer(w, 429, &refusal.body(api));
            self.stop(&refusal.line(), Some(&refusal));
            return None;
        }
        let aloft: u64 = flights.values().map(|f| self.may_spend(f)).sum();
        if let Some(refusal) = self.over_budget(aloft) {
            drop(flights);
            say(&format!(
                "the model gateway held a request back: the requests in flight may still spend {}, which reaches {} (answered 429; asked again once they end, it passes if the budget allows)",
                crate::core::budget::spend::usd(prices::usd(aloft)),
                refusal.limit
            ));
            answer(w, 429, &refusal.body(api));
            return None;
        }
        let id = self.next.fetch_add(1, SeqCst);
        flights.insert(
            id,
            Flight {
                id,
                endpoint,
                model: judged.model,
                asks: judged.asks,
                max_output: judged.max_output,
                sent,
                received: 0,
                status: 0,
                usage: None,
                kept: None,
                arrived: (time::OffsetDateTime::now_utc(), std::time::Instant::now()),
                stream: judged.stream,
                max_tokens: judged.max_tokens,
                first_chunk: None,
                answered: usage::Answered::default(),
            },
        );
        // as it goes upstream: the vendor may bill what it sends, so a
        // keeper killed before its answer leaves that counted
        if let Some(f) = flights.get_mut(&id) {
            self.keep_aloft(f, false);
        }
        Some(id)
    }

    /// Send the request upstream with the key: its answer, or None (a 502 answered).
    fn send(&self, w: &mut impl Write, h: &Req, body: &[u8]) -> Option<crate::client::Response> {
        let api = self.spec.api;
        let url = rules::upstream_url(api, &self.spec.upstream, &h.target);
        let mut req = self.agent.request(&h.method, &url);
        for (k, v) in &h.headers {
            let k = k.as_str();
            if rules::dropped_request_header(k)
                || k.eq_ignore_ascii_case("content-length")
                || k.eq_ignore_ascii_case("expect")
            {
                continue;
            }
            req = req.set(k, v);
        }
        for (k, v) in rules::added_request_headers(api, self.key.expose()) {
            req = req.set(k, &v);
        }
        let sent = match h.method.as_str() {
            "GET" => req.call(),
            _ => req.send_bytes(body),
        };
        match sent {
            Ok(resp) | Err(crate::client::Error::Status(_, resp)) => Some(resp),
            Err(crate::client::Error::Transport(t)) => {
                let detail = crate::core::sanitize::one_line(&t.to_string(), 300);
                let why = if afk_http::client::certificate_refused(&t) {
                    // the key goes only where the certificate checks
                    format!(
                        "the model gateway sent no key to its upstream {}: its certificate does not check ({detail})",
                        self.spec.upstream
                    )
                } else {
                    format!(
                        "the model gateway cannot reach its upstream {}: {detail}",
                        self.spec.upstream
                    )
                };
                say(&why);
                let body = serde_json::json!({"type": "error", "error": {"type": "api_error", "message": why}})
                    .to_string();
                answer(w, 502, &body);
                None
            }
        }
    }

    fn flights_lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<u64, Flight>> {
        self.flights.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Keep what has arrived of `f`'s usage (before any: its input's
    /// estimate from what it sent) in its partial record
    /// (`core::gateway::aloft`), replaced whole, when it moved: so a keeper
    /// killed before `f` lands (watch's stop at `run_time` or `/afk stop`,
    /// SIGKILL, a crash) leaves it counted in the run's spend. Called with
    /// the flights' lock held; `ended`: the answer's end has arrived (its
    /// line follows at once).
    fn keep_aloft(&self, f: &mut Flight, ended: bool) {
        let Some(dir) = &self.aloft else { return };
        let Some(keep) = aloft::to_keep(f.endpoint.billed(), ended, f.kept, f.usage, f.sent) else {
            return;
        };
        let priced = self.priced(f.model.as_deref(), &keep.usage, f.asks);
        let mut line = metered::Line::new(
            time::OffsetDateTime::now_utc(),
            self.spec.api,
            f.model.as_deref().unwrap_or(""),
            f.status,
            keep.usage,
            priced.micro_usd,
            priced.by,
            false,
        );
        line.estimated = keep.estimated;
        let file = dir.join(aloft::file_name(&self.keeper, f.id));
        match crate::private_files::private_dir(dir)
            .and_then(|()| crate::private_files::private_replace(&file, line.to_line().as_bytes()))
        {
            Ok(()) => f.kept = Some(keep),
            Err(e) => {
                if !self.aloft_failed.swap(true, SeqCst) {
                    say(&format!(
                        "the model gateway cannot keep a request's usage so far in {}: {} (a turn killed before its requests land loses what arrived of them)",
                        dir.display(),
                        afk_host::os_words(&e)
                    ));
                }
            }
        }
    }

    /// A model request's chat-span facts (none for `count_tokens` and
    /// `models`, which have no span).
    fn chat_facts(&self, f: &Flight) -> Option<metered::ChatFacts> {
        use rules::Endpoint as E;
        if !matches!(f.endpoint, E::Messages | E::Responses | E::ChatCompletions) {
            return None;
        }
        Some(metered::ChatFacts {
            turn: self.spec.turn,
            started: crate::types::stamp::ts_precise(f.arrived.0),
            server: rules::server_of(&self.spec.upstream),
            stream: f.stream,
            max_tokens: f.max_tokens,
            response_model: f.answered.model.clone(),
            response_id: f.answered.id.clone(),
            finish_reasons: f.answered.finish.clone(),
            first_chunk_us: f
                .stream
                .then_some(f.first_chunk)
                .flatten()
                .map(|d| d.as_micros().min(u64::MAX as u128) as u64),
        })
    }

    /// `f`'s partial record gone, its line being in the metered record.
    fn drop_aloft(&self, f: &Flight) {
        if let (Some(dir), Some(_)) = (&self.aloft, f.kept) {
            let _ = std::fs::remove_file(dir.join(aloft::file_name(&self.keeper, f.id)));
        }
    }

    /// What a request in flight may still cost: what its usage so far
    /// costs, and the output it may still bill at its model's price.
    fn may_spend(&self, f: &Flight) -> u64 {
        // before its usage arrives, its input is what it sent
        let so_far = f.usage.unwrap_or(usage::estimate(f.sent, 0));
        let left = usage::Usage {
            output: so_far.output.max(f.max_output),
            ..so_far
        };
        self.priced(f.model.as_deref(), &left, f.asks).micro_usd
    }

    fn priced(&self, model: Option<&str>, u: &usage::Usage, asks: prices::Asks) -> prices::Priced {
        let p = prices::Prices {
            models: &self.spec.models,
            flat: self.spec.flat,
            table: prices::table(),
        };
        prices::price_asked(&p, self.spec.api, model, u, asks)
    }

    /// The turn has ended (its box is gone): the requests still in flight
    /// get up to `grace` to land, and those that have not are metered by
    /// what arrived, before the turn's exit record is written.
    pub(crate) fn finish(&self, grace: std::time::Duration) {
        let until = std::time::Instant::now() + grace;
        let mut flights = self.flights_lock();
        while !flights.is_empty() {
            let left = until.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                break;
            }
            flights = self
                .landed
                .wait_timeout(flights, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        let left: Vec<Flight> = std::mem::take(&mut *flights).into_values().collect();
        drop(flights);
        if !left.is_empty() {
            say(&format!(
                "the model gateway metered {} requests still in flight when the turn ended by what had arrived",
                left.len()
            ));
        }
        for f in left {
            let u = f.usage;
            self.record(&f, f.status, u, false);
        }
    }

    /// The refusal that stopped the turn, left in the run's folder
    /// (`<run_dir>/budget-stop.json`, as `core::gateway::budget` reads it
    /// back): watch's next tick escalates the run `over-budget` with it.
    fn leave_stop(&self, r: &budget::Refusal) {
        let record = serde_json::json!({
            "limit": r.limit, "limit_usd": r.limit_usd, "spend_usd": r.spend_usd,
        });
        if self.spec.metered == std::path::Path::new(STDOUT) {
            // a pod's gateway: afk's log mirror makes it the run's file
            let line = serde_json::json!({ "budget_stop": record });
            let _ = append(&self.spec.metered, format!("{line}\n").as_bytes());
            return;
        }
        let file = self.spec.metered.with_file_name(STOP_FILE);
        if let Err(e) = crate::private_files::private_write(&file, format!("{record}\n").as_bytes())
        {
            say(&format!(
                "cannot write {}: {}",
                file.display(),
                afk_host::os_words(&e)
            ));
        }
    }

    /// Price the answer of flight `id` and append its line to the run's
    /// metered record (unless [`Gateway::finish`] metered it already);
    /// false (and the turn stopped) when the record cannot be written.
    ///
    /// The flight leaves the map only with its line written, under the
    /// flights' lock: [`Gateway::finish`] waits for an empty map, so a keeper
    /// that ends right after the agent's last answer never exits between the
    /// two and loses the line, and the budget never sees a moment where the
    /// request is neither in flight nor spent.
    fn meter(&self, id: u64, status: u16, read: usage::Read, complete: bool) -> bool {
        let mut flights = self.flights_lock();
        let Some(mut f) = flights.remove(&id) else {
            return true;
        };
        f.answered = read.answered;
        let written = self.record(&f, status, read.usage, complete && read.complete);
        drop(flights);
        self.landed.notify_all();
        written
    }

    /// One metered line for `f`: its usage as it arrived, else (a billed
    /// answer whose usage never came, or a request with no answer at all,
    /// `status` 0) estimated from its bytes, never $0.
    fn record(&self, f: &Flight, status: u16, u: Option<usage::Usage>, complete: bool) -> bool {
        let api = self.spec.api;
        let estimated =
            u.is_none() && f.endpoint.billed() && (status == 0 || (200..300).contains(&status));
        let u = match u {
            Some(u) => u,
            None if estimated => usage::estimate(f.sent, f.received),
            None => usage::Usage::default(),
        };
        let priced = self.priced(f.model.as_deref(), &u, f.asks);
        if f.endpoint.billed()
            && let Some(line) = priced.fallback_line(api)
        {
            let mut said = self.said.lock().unwrap_or_else(|e| e.into_inner());
            if !said.contains(&priced.model) {
                said.push(priced.model.clone());
                say(&line);
            }
        }
        if estimated && status == 0 {
            say(&format!(
                "the model gateway had no answer to a request of {} bytes: priced from what it sent ({} tokens in)",
                f.sent, u.input
            ));
        } else if estimated {
            say(&format!(
                "the model gateway read no usage in an answer of {} bytes to a request of {}: priced from its bytes ({} tokens in, {} out)",
                f.received, f.sent, u.input, u.output
            ));
        }
        let mut line = metered::Line::new(
            time::OffsetDateTime::now_utc(),
            api,
            f.model.as_deref().unwrap_or(""),
            status,
            u,
            priced.micro_usd,
            priced.by,
            complete,
        );
        line.estimated = estimated;
        line.chat = self.chat_facts(f);
        let mut spent = self.spent.lock().unwrap_or_else(|e| e.into_inner());
        *spent = spent.saturating_add(priced.micro_usd);
        if let Err(e) = append(&self.spec.metered, line.to_line().as_bytes()) {
            let why = format!(
                "the model gateway cannot write {}: {} (no request passes unmetered)",
                self.spec.metered.display(),
                afk_host::os_words(&e)
            );
            drop(spent);
            // its partial record stays: what arrived of it is counted there
            self.stop(&why, None);
            return false;
        }
        drop(spent);
        // after its line: a reader between the two counts it twice, never none
        self.drop_aloft(f);
        true
    }
}

/// The agent's request body as it goes upstream: a secret afk holds that
/// found its way into the agent's context goes to no host but its own
/// (docs/security.md#nothing-afk-writes-carries-a-secret), so a JSON body is redacted like every body afk sends; the
/// bytes are the agent's own when there was nothing to redact.
fn redacted_body(body: Vec<u8>) -> Vec<u8> {
    let Ok(mut v) = serde_json::from_slice::<serde_json::Value>(&body) else {
        return body;
    };
    let before = v.clone();
    crate::redact::json(&mut v);
    if v == before {
        return body;
    }
    serde_json::to_vec(&v).unwrap_or(body)
}
