//! The model gateway on Kubernetes (docs/kubernetes.md#the-model-gateway):
//! whether it is on for the tick's
//! turns (the key is the Secret `runner.kubernetes.model_secret`, which only
//! the pod's `gateway` container mounts), the container added to a turn's
//! Job (`core::kube::gateway`), and what that container runs (`afk workspace
//! gateway`): the keeper's own [`Gateway`](crate::runner::agent_box::Gateway)
//! on the pod's loopback, its metered lines on its stdout, which the log
//! mirror (`log.rs`) makes the run's `metered.jsonl`, and its health port
//! on the pod's address, where the kubelet probes the agent's liveness: 503
//! once the gateway stopped the turn, so the agent's container ends then;
//! in afk's workspace (no probe on the agent's init container) its stop
//! mark on the turn's volume, which the agent's watchdog reads.

use crate::core::gateway::{self as rules, Api, InForce, Mode, Setting};
use crate::core::kube::gateway as kg;
use crate::runner::agent_box::{GATEWAY_STDOUT, Gateway, GatewayOn, GatewaySpec, PLACEHOLDER};
use anyhow::{Context, Result, anyhow};
use serde_json::Value;
use std::io::{BufRead, Read, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};

/// What the tick decided for its turns' pods.
#[derive(Debug, Clone)]
// one a tick, never in a collection: its size is no cost
#[allow(clippy::large_enum_variant)]
pub(crate) enum PodGateway {
    /// Off, and why (the key is in the agent's reach, its spend its word).
    Off(String),
    /// No turn starts, and why.
    Refused(String),
    On {
        on: GatewayOn,
        secret: String,
        secret_key: String,
    },
}

/// docs/runners.md#the-model-gateway-runnermodel on Kubernetes: the pod is the box and its network the
/// model's (its NetworkPolicy); the key is present when `model_secret` names
/// its Secret.
pub(crate) fn setup(cfg: &crate::config::Config) -> PodGateway {
    let agent = cfg.runner.agent();
    let m = &cfg.runner.model;
    let k = &cfg.runner.kubernetes;
    let key_env = m.key_env_for(agent).unwrap_or_default();
    let present = !k.model_secret.trim().is_empty();
    let setting = Setting {
        mode: m.gateway,
        agent,
        boxed: true,
        network_model: true,
        key_env: &key_env,
        key_present: present,
    };
    let api = match rules::in_force(&setting) {
        InForce::Off(_)
            if m.gateway == Mode::Auto && !present && Api::of_agent(agent).is_some() =>
        {
            return PodGateway::Off(
                "runner.kubernetes.model_secret is empty (the key is wherever the agent's env_secret puts it)".into(),
            );
        }
        InForce::Off(why) => return PodGateway::Off(why),
        InForce::MissingKey(_) => {
            return PodGateway::Refused(
                "runner.model.gateway = \"on\" and runner.kubernetes.model_secret is empty: no agent starts without its key at the gateway; name the Secret holding the model's key, or gateway = \"auto\"".into(),
            );
        }
        InForce::On(api) => api,
    };
    let upstream = match m.upstream.trim() {
        "" => api.vendor_upstream().to_string(),
        u => u.to_string(),
    };
    if let Err(why) = rules::upstream_allowed(&upstream) {
        return PodGateway::Refused(format!(
            "the model gateway's upstream {why} (runner.model.upstream)"
        ));
    }
    let secret_key = match k.model_secret_key.trim() {
        "" => key_env.clone(),
        s => s.to_string(),
    };
    PodGateway::On {
        on: GatewayOn {
            api,
            key_env,
            upstream,
            models: cfg.runner.prices.models(),
            flat: cfg.runner.prices.flat(),
            // the agent's values come from its own env_secret, which the
            // gateway's container does not have: nothing of them to redact
            redact_env: vec![],
            allow_features: cfg.runner.model.allow_features.clone(),
            // the pod's gateway reads its spec from the pod's environment:
            // no secret value is put there
            held: vec![],
        },
        secret: k.model_secret.trim().to_string(),
        secret_key,
    }
}

/// Add the gateway container to a turn's Job (`job`: the Job's name).
pub(super) fn add(
    manifest: &mut Value,
    job: &str,
    image: &str,
    g: (&GatewayOn, &str, &str),
    (budget_usd, turn): (Option<f64>, u32),
) -> Result<()> {
    let (on, secret, secret_key) = g;
    let port = kg::port(job);
    // no run folder in the pod: the record is the container's stdout
    let mut spec = on.spec(port, std::path::Path::new("/"), budget_usd);
    spec.metered = GATEWAY_STDOUT.into();
    spec.turn = turn;
    let spec = serde_json::to_string(&spec)?;
    let agent_env = agent_env(on, port);
    let unset = on.unset();
    kg::with_gateway(
        manifest,
        &kg::GatewaySide {
            image,
            secret,
            secret_key,
            spec: &spec,
            agent_env: &agent_env,
            agent_unset: &unset,
            health_port: kg::health_port(job),
        },
    );
    Ok(())
}

/// What the agent's container gets: its API's base URL on the pod's
/// loopback and a placeholder key.
fn agent_env(on: &GatewayOn, port: u16) -> Vec<(String, String)> {
    match on.api {
        Api::Anthropic => on.env(port),
        Api::OpenAi => vec![
            (
                "OPENAI_BASE_URL".into(),
                format!("http://127.0.0.1:{port}/v1"),
            ),
            ("OPENAI_API_KEY".into(), PLACEHOLDER.into()),
        ],
    }
}

/// The name the gateway container's key goes by in what the gateway says
/// (a refused key names it): the key itself is read from the mounted
/// Secret (`config::model_key_file`), never from an environment.
const KEY_VAR: &str = "AFK_GATEWAY_MODEL_KEY";
/// How long requests in flight are given to finish once the pod ends.
const DRAIN: std::time::Duration = std::time::Duration::from_secs(20);

/// `afk workspace gateway`: the gateway container's program. It listens on
/// the pod's loopback until Kubernetes ends it (SIGTERM, once the pod's
/// main containers ended), then lets the requests in flight finish, so
/// each is metered, and exits 0. Its health port (on the pod's address) is
/// bound first, so it is the gateway's before the startup probe lets the
/// agent start.
pub fn serve() -> Result<()> {
    let text = std::env::var(kg::SPEC_VAR)
        .map_err(|_| anyhow!("${} is not set: this runs in a turn's pod", kg::SPEC_VAR))?;
    let mut spec: GatewaySpec =
        serde_json::from_str(&text).context("the gateway's spec does not read")?;
    // the file `$AFK_GATEWAY_KEY_FILE` names (else the mounted Secret's),
    // read through the config's secret reader: a Secret as it is read
    let key = crate::config::model_key_file(kg::KEY_FILE_VAR, kg::KEY_FILE)?;
    spec.metered = GATEWAY_STDOUT.into();
    spec.key_env = KEY_VAR.into();
    let gateway = Gateway::with_key(spec.clone(), key)?;
    if let Some(mark) = kg::stop_mark(std::env::var(kg::STOP_MARK_VAR).ok().as_deref()) {
        let mark = std::path::PathBuf::from(mark);
        gateway.when_stopped(Box::new(move || leave_mark(&mark)));
    }
    let term = block_term();
    for health in bind_health()? {
        let gateway = gateway.clone();
        std::thread::spawn(move || serve_health(health, &gateway));
    }
    let listener = std::net::TcpListener::bind(("127.0.0.1", spec.port))
        .with_context(|| format!("the gateway cannot listen on 127.0.0.1:{}", spec.port))?;
    crate::log::info(&format!(
        "afk gateway: listening on 127.0.0.1:{} for {}",
        spec.port, spec.upstream
    ));
    let in_flight = Arc::new(AtomicUsize::new(0));
    {
        let in_flight = in_flight.clone();
        let gateway = gateway.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { continue };
                let (gateway, in_flight) = (gateway.clone(), in_flight.clone());
                in_flight.fetch_add(1, SeqCst);
                std::thread::spawn(move || {
                    let _ = conn.set_read_timeout(Some(std::time::Duration::from_secs(600)));
                    let _ = conn.set_nodelay(true);
                    if let Ok(w) = conn.try_clone() {
                        gateway.serve_io(conn, w);
                    }
                    in_flight.fetch_sub(1, SeqCst);
                });
            }
        });
    }
    term();
    gateway.finish(DRAIN);
    let until = std::time::Instant::now() + std::time::Duration::from_secs(1);
    while in_flight.load(SeqCst) > 0 && std::time::Instant::now() < until {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    Ok(())
}

/// The gateway stopped the turn: its stop mark left on the turn's volume
/// for the agent's watchdog (afk's workspace), whole or not at all (a
/// file beside it, then renamed). Unwritten, the turn ends at watch's next
/// tick, as it did before the watchdog; the gateway refuses every request
/// meanwhile.
fn leave_mark(mark: &std::path::Path) {
    let name = mark.file_name().map(|n| n.to_string_lossy().into_owned());
    let tmp = mark.with_file_name(format!(".{}.tmp", name.unwrap_or_default()));
    let left = std::fs::write(&tmp, kg::STOPPED).and_then(|()| std::fs::rename(&tmp, mark));
    if let Err(e) = left {
        crate::log::warn(&format!(
            "afk gateway: the stop mark {} cannot be written ({}): the agent ends at watch's next tick",
            mark.display(),
            afk_host::os_words(&e)
        ));
    }
}

/// The health port's connections handled at once; more are closed unanswered.
const HEALTH_CONNS: usize = 16;
/// How long a health request may take to arrive (all of it, not each
/// read), and its answer to leave.
const HEALTH_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// A connection read before one deadline: each read waits at most what is
/// left of it, so a client that sends a byte now and then holds no slot
/// past the deadline.
struct Before<'a> {
    conn: &'a std::net::TcpStream,
    until: std::time::Instant,
}

impl Read for Before<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let left = self
            .until
            .saturating_duration_since(std::time::Instant::now());
        if left.is_zero() {
            return Err(std::io::ErrorKind::TimedOut.into());
        }
        self.conn.set_read_timeout(Some(left))?;
        (&*self.conn).read(buf)
    }
}

fn before(conn: &std::net::TcpStream) -> Before<'_> {
    Before {
        conn,
        until: std::time::Instant::now() + HEALTH_WAIT,
    }
}

/// The health port ([`kg::HEALTH_VAR`]) on every address of the pod (the
/// kubelet probes the pod's own, IPv4 or IPv6): `[::]`, which takes IPv4
/// too unless the node says `bindv6only`, and `0.0.0.0` beside it where
/// that is not taken already; one of them at least. None at all when the
/// pod names no health port (a Job made by an afk before it, whose agent
/// has no probe).
fn bind_health() -> Result<Vec<std::net::TcpListener>> {
    let Ok(port) = std::env::var(kg::HEALTH_VAR) else {
        return Ok(vec![]);
    };
    let port: u16 = port
        .trim()
        .parse()
        .map_err(|_| anyhow!("${} is not a port", kg::HEALTH_VAR))?;
    let v6 = std::net::TcpListener::bind((std::net::Ipv6Addr::UNSPECIFIED, port));
    let v4 = std::net::TcpListener::bind((std::net::Ipv4Addr::UNSPECIFIED, port));
    match (v6, v4) {
        (Ok(a), Ok(b)) => Ok(vec![a, b]),
        // a dual-stack `[::]` holds IPv4's port already
        (Ok(a), Err(_)) => Ok(vec![a]),
        (Err(_), Ok(b)) => Ok(vec![b]),
        (Err(_), Err(e)) => {
            Err(e).with_context(|| format!("the gateway's health port {port} cannot be bound"))
        }
    }
}

/// Answer the agent's liveness probe (`core::kube::gateway::health`): one
/// line read within a cap and a time, one status line written, the
/// connection closed. Nothing else is served here: no model, no figure.
fn serve_health(listener: std::net::TcpListener, gateway: &Arc<Gateway>) {
    let open = Arc::new(AtomicUsize::new(0));
    for conn in listener.incoming() {
        let Ok(conn) = conn else { continue };
        if open.fetch_add(1, SeqCst) >= HEALTH_CONNS {
            open.fetch_sub(1, SeqCst);
            continue;
        }
        let (gateway, open) = (gateway.clone(), open.clone());
        std::thread::spawn(move || {
            answer_health(conn, &gateway);
            open.fetch_sub(1, SeqCst);
        });
    }
}

fn answer_health(mut conn: std::net::TcpStream, gateway: &Gateway) {
    let _ = conn.set_write_timeout(Some(HEALTH_WAIT));
    let mut line = Vec::new();
    {
        let mut r = std::io::BufReader::new(before(&conn).take(kg::HEALTH_LINE_MAX as u64));
        let _ = r.read_until(b'\n', &mut line);
    }
    // the gateway's state as the request arrived
    let status = kg::health(&String::from_utf8_lossy(&line), gateway.stopped());
    let words = match status {
        200 => "OK",
        503 => "Service Unavailable",
        _ => "Not Found",
    };
    let _ = write!(
        conn,
        "HTTP/1.1 {status} {words}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    // the rest of the request (its headers) read and dropped, within a
    // cap, so the close is a FIN the prober reads the answer before, not a
    // reset that may beat it
    let _ = conn.shutdown(std::net::Shutdown::Write);
    let _ = std::io::copy(&mut before(&conn).take(16 << 10), &mut std::io::sink());
}

/// `afk workspace gateway --ready`, the gateway container's startup probe:
/// whether the gateway of this container's spec listens on the pod's
/// loopback yet. The probe runs in the gateway's own container (the
/// kubelet's `exec`), since a `tcpSocket` probe would knock on the pod's
/// address, where the gateway never listens; until it answers, Kubernetes
/// starts no container after the sidecar, so the agent's first request
/// never meets a closed port.
pub fn listens() -> Result<bool> {
    let text = std::env::var(kg::SPEC_VAR)
        .map_err(|_| anyhow!("${} is not set: this runs in a turn's pod", kg::SPEC_VAR))?;
    let spec: GatewaySpec =
        serde_json::from_str(&text).context("the gateway's spec does not read")?;
    let at = std::net::SocketAddr::from(([127, 0, 0, 1], spec.port));
    Ok(std::net::TcpStream::connect_timeout(&at, std::time::Duration::from_secs(1)).is_ok())
}

/// SIGTERM and SIGINT blocked in this thread (and so in every thread it
/// starts); the function returned waits for one of them.
fn block_term() -> impl FnOnce() {
    // SAFETY: sigset_t is plain data, filled by sigemptyset/sigaddset
    let mut set: libc::sigset_t = unsafe { std::mem::zeroed() };
    // SAFETY: the set is this function's own
    unsafe {
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGTERM);
        libc::sigaddset(&mut set, libc::SIGINT);
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
    }
    move || {
        let mut sig: libc::c_int = 0;
        // SAFETY: waits on the set blocked above
        unsafe { libc::sigwait(&set, &mut sig) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A health connection is read before one deadline for all of it: once
    /// it has passed, a read ends at once, whatever the client still sends.
    #[test]
    fn a_health_request_past_its_one_deadline_is_read_no_further() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let mut client = std::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
        let (conn, _) = l.accept().unwrap();
        client.write_all(b"GET /afk-").unwrap();
        let now = std::time::Instant::now();
        let mut line = [0u8; 64];
        // (rule, the deadline, a read ends at once)
        let cases = [
            (
                "within the deadline: what was sent is read",
                now + HEALTH_WAIT,
                false,
            ),
            (
                "past it: nothing more, however the client trickles",
                now,
                true,
            ),
        ];
        for (rule, until, timed_out) in cases {
            let got = Before { conn: &conn, until }.read(&mut line);
            assert_eq!(
                got.as_ref()
                    .is_err_and(|e| e.kind() == std::io::ErrorKind::TimedOut),
                timed_out,
                "{rule}: {got:?}"
            );
        }
    }
}
