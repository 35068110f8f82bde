//! The sandbox: a throwaway forge on loopback that speaks the Gitea API v1
//! subset afk uses (shapes from `contracts/gitea-v1-subset.json`), with an admin
//! API for tests: seed data, read back every request it received, inject faults.
//! It behaves like a real Gitea where that bites clients: an unknown label in
//! `labels=` is dropped from the filter, pull requests are listed as issues
//! unless `type=issues`, timestamps carry a +02:00 offset, a renamed repo
//! answers its old path with a redirect, permission lookups need an admin.
//!
//! With [`Dialect::Github`] it speaks GitHub's REST API instead, at
//! `/api/v3` (as GitHub Enterprise Server does), over the same model: label
//! names, timeline actors, `maintain`/`triage` roles, check runs, `Link`
//! paging (with GitHub's `/repositories/{id}` links), rate-limit headers (an
//! admin knob spends them), `ETag`/304, 200 on PATCH, 301 for a renamed repo.
//!
//! Layout: `model` holds the forge's state and its rules, `seed` what tests
//! load into it; `routes/` serves that model in a forge's dialect (Gitea, GitHub);
//! `admin`, `faults`, `hooks` and `agent` are the test machinery around it;
//! `git` keeps real bare repositories (served over git's smart HTTP by
//! `git_http`), `ci` answers test comments and `ci_run` runs a repository's
//! own CI command on pushes, `registry` is an OCI registry's tag listing,
//! `http` is the server.

mod admin;
mod agent;
mod ci;
mod ci_run;
mod faults;
pub mod git;
mod git_http;
mod hooks;
pub mod http;
mod kube;
mod kube_discovery;
mod kube_pod;
mod kube_proc;
mod kube_user;
mod kube_volume;
mod model;
pub mod model_api;
mod registry;
mod revert;
mod reviews;
mod routes;
pub use routes::Dialect;
mod seed;

pub use faults::Fault;
pub use kube::GIT_SECRET;
pub use model::Forge;
pub use seed::{Seed, SeedCi, SeedIssue, SeedRepo};

use http::{Reply, Request};
use serde_json::json;
use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// A token drawn at random for one sandbox (`<kind>-<32 hex digits>`): no
/// fixed, documented token opens a sandbox someone else started.
pub fn draw_token(kind: &str) -> String {
    use std::io::Read;
    let mut b = [0u8; 16];
    let drawn = std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut b));
    if drawn.is_err() {
        // no /dev/urandom: the clock and the pid, still nothing documented
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        b = (t ^ (u128::from(std::process::id()) << 64)).to_le_bytes();
    }
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!("{kind}-{hex}")
}
/// Every timestamp the sandbox reports: fixed, with Gitea's local offset.
const TS: &str = "2026-01-01T12:00:00+02:00";

/// An error answer, `{message, url}` as Gitea words it; the admin API and the
/// services around the forge answer errors the same way.
fn err(status: u16, msg: &str) -> Reply {
    Reply::json(
        status,
        &json!({"message": msg, "url": "https://sandbox.invalid/api/swagger"}),
    )
}

pub struct Sandbox {
    pub url: String,
    /// The scripted model's own root (`http://127.0.0.1:PORT`, another port
    /// than the forge's): an agent's box lets out only the model's address.
    pub model_url: String,
    pub dialect: Dialect,
    /// where the bare git repositories live: `<dir>/<owner>/<repo>.git`
    pub dir: PathBuf,
    pub state: Arc<Mutex<Forge>>,
}

impl Sandbox {
    /// The forge's token for afk's account (drawn at random unless a seed named one).
    pub fn token(&self) -> String {
        self.state.lock().unwrap().token.clone()
    }

    /// The bearer token of the sandbox's Kubernetes API.
    pub fn k8s_token(&self) -> String {
        self.state.lock().unwrap().kube.token.clone()
    }

    /// The bearer token of the sandbox's agent-thread service (`/agent`).
    pub fn agent_token(&self) -> String {
        self.state.lock().unwrap().agent_token.clone()
    }

    /// A credential for git pushes only (the API refuses it): the password
    /// an agent that does its own git pushes with, never afk's token.
    pub fn push_token(&self) -> String {
        self.state.lock().unwrap().push_token.clone()
    }

    /// The API root a client configures (`forge.api_url`).
    pub fn api_url(&self) -> String {
        format!("{}{}", self.url, self.dialect.api_prefix())
    }

    /// afk's `[forge]` keys for this sandbox (`Dialect::forge_keys`).
    pub fn forge_keys(&self) -> String {
        self.dialect.forge_keys(&self.url)
    }
}

/// Start the sandbox on `addr` (loopback only) in background threads, speaking Gitea.
pub fn start(addr: &str, seed: Option<Seed>, dir: Option<PathBuf>) -> anyhow::Result<Sandbox> {
    start_with(Dialect::Gitea, addr, seed, dir)
}

/// Start the sandbox speaking `dialect`.
pub fn start_with(
    dialect: Dialect,
    addr: &str,
    seed: Option<Seed>,
    dir: Option<PathBuf>,
) -> anyhow::Result<Sandbox> {
    let sa: SocketAddr = addr.parse().map_err(|_| {
        anyhow::anyhow!("sandbox: \"{addr}\" is not an address such as 127.0.0.1:0")
    })?;
    if !sa.ip().is_loopback() {
        anyhow::bail!(
            "sandbox: {addr} is not a loopback address; the sandbox only listens on loopback"
        );
    }
    let listener = TcpListener::bind(sa)
        .map_err(|e| anyhow::anyhow!("sandbox: cannot listen on {addr}: {e}"))?;
    let url = format!("http://{}", listener.local_addr()?);
    let dir = match dir {
        Some(d) => d,
        None => std::env::temp_dir().join(format!(
            "afk-sandbox-{}-{}",
            std::process::id(),
            listener.local_addr()?.port()
        )),
    };
    std::fs::create_dir_all(&dir)
        .map_err(|e| anyhow::anyhow!("sandbox: cannot create {}: {e}", dir.display()))?;
    let dir = dir.canonicalize()?;
    let mut forge = Forge::new(url.clone(), dir.clone());
    if let Some(s) = seed {
        forge
            .seed(s)
            .map_err(|e| anyhow::anyhow!("sandbox: seed: {e}"))?;
    }
    let state = Arc::new(Mutex::new(forge));
    // the CI's runs report back to the shared state (a seed's runs start now)
    state.lock().unwrap().ci_attach(Arc::downgrade(&state));
    let st = state.clone();
    let handler: http::Handler = Arc::new(move |req| handle(&st, dialect, req));
    std::thread::spawn(move || http::serve(listener, handler));
    // the scripted model on a port of its own, answering nothing else
    let model_listener = TcpListener::bind((sa.ip(), 0))
        .map_err(|e| anyhow::anyhow!("sandbox: cannot listen for the model on {}: {e}", sa.ip()))?;
    let model_url = format!("http://{}", model_listener.local_addr()?);
    let st = state.clone();
    let model_handler: http::Handler = Arc::new(move |req: Request| {
        if req.path.starts_with("/model/") {
            handle(&st, dialect, req)
        } else {
            err(404, "the scripted model's port answers only /model/")
        }
    });
    std::thread::spawn(move || http::serve(model_listener, model_handler));
    Ok(Sandbox {
        url,
        model_url,
        dialect,
        dir,
        state,
    })
}

/// What a request is for, by its path prefix.
enum Service {
    /// the forge API in the sandbox's dialect, under its prefix
    Forge(Dialect),
    /// the agent-thread service, `/agent/...`
    Agent,
    /// the OCI registry, `/v2/...`
    Registry,
    /// the Kubernetes API, `/k8s/...`
    Kubernetes,
}

fn handle(st: &Arc<Mutex<Forge>>, dialect: Dialect, req: Request) -> Reply {
    if let Some(rest) = req.path.strip_prefix("/_admin") {
        return admin::handle(&mut st.lock().unwrap(), rest, &req);
    }
    if let Some(name) = req.path.strip_prefix("/_hooks/") {
        return hooks::receive(&mut st.lock().unwrap(), name, &req);
    }
    if let Some(rest) = req.path.strip_prefix("/model") {
        // the scripts are copied out: a step that hangs holds no lock
        let (scripts, per_turn) = {
            let f = st.lock().unwrap();
            (f.scripts.clone(), f.turn_scripts.clone())
        };
        let find = |repo: &str, issue: u64, turn: u32| {
            let key = (repo.to_string(), issue);
            match per_turn.get(&key).filter(|t| !t.is_empty()) {
                // past the last turn's script, the last one again
                Some(turns) => turns[(turn.max(1) as usize - 1).min(turns.len() - 1)].clone(),
                None => scripts
                    .get(&key)
                    .cloned()
                    .unwrap_or_else(model_api::default_script),
            }
        };
        return model_api::serve(&req, rest, &find);
    }
    if let Some((repo, rest)) = git_http::route(&req.path) {
        {
            let mut f = st.lock().unwrap();
            if f.git_log.len() < 100_000 {
                let service = req.q("service").unwrap_or(&rest).to_string();
                let agent = req
                    .header("user-agent")
                    .unwrap_or("")
                    .chars()
                    .take(100)
                    .collect::<String>();
                f.git_log.push(
                    serde_json::json!({"method": req.method, "repo": repo, "service": service, "agent": agent}),
                );
            }
        }
        return git_http::serve(st, &req, &repo, &rest);
    }
    let (service, path) = if req.path.starts_with("/agent/") {
        (Service::Agent, req.path.clone())
    } else if req.path.starts_with("/k8s/") {
        (Service::Kubernetes, req.path.clone())
    } else if req.path == "/v2" || req.path.starts_with("/v2/") {
        (Service::Registry, req.path.clone())
    } else {
        match req.path.strip_prefix(dialect.api_prefix()) {
            Some(p) => (Service::Forge(dialect), p.to_string()),
            None => return err(404, "not found"),
        }
    };
    // log first, then faults, then the answer (its status noted in the log)
    let (fault, latency, entry) = {
        let mut f = st.lock().unwrap();
        let entry = admin::record(&mut f, &req, &path);
        let (fault, latency) = f.faults.pick(&req.method, &path);
        (fault, latency, entry)
    };
    let endless = fault.as_ref().is_some_and(|f| f.endless);
    let next_link = fault.as_ref().and_then(|f| f.next_link.clone());
    let drop_after = fault.as_ref().is_some_and(|f| f.drop_after);
    let dates = fault.as_ref().and_then(|f| f.dates.clone());
    let reply = match faults::inject(fault, latency) {
        Some(reply) => reply,
        None => {
            let mut f = st.lock().unwrap();
            match service {
                Service::Agent => agent::serve(&mut f, &req, &path),
                Service::Forge(dialect) => dialect.serve(&mut f, &req, &path),
                Service::Registry => registry::serve(&f, &req, &path),
                Service::Kubernetes => kube::serve(&mut f.kube, &req, &path["/k8s".len()..]),
            }
        }
    };
    let mut reply = reply;
    if let (Some(to), Reply::Send { body, .. }) = (&dates, &mut reply)
        && let Some(b) = faults::redate(body, to)
    {
        *body = b;
    }
    if drop_after {
        if let Reply::Send { status, .. } = &reply {
            admin::note_status(&mut st.lock().unwrap(), entry, *status);
        }
        return Reply::Drop;
    }
    // a forge that never stops saying there is more
    let reply = if endless {
        let mut reply = reply;
        if let Reply::Send { headers, .. } = &mut reply {
            headers.retain(|(k, _)| !k.eq_ignore_ascii_case("link"));
        }
        let base = st.lock().unwrap().base.clone();
        let next = format!("<{base}{}?{}>; rel=\"next\"", req.path, req.raw_query);
        reply.with_header("Link", &next)
    } else if let Some(next) = next_link {
        let mut reply = reply;
        if let Reply::Send { headers, .. } = &mut reply {
            headers.retain(|(k, _)| !k.eq_ignore_ascii_case("link"));
        }
        reply.with_header("Link", &format!("<{next}>; rel=\"next\""))
    } else {
        reply
    };
    if let Reply::Send { status, .. } = &reply {
        admin::note_status(&mut st.lock().unwrap(), entry, *status);
    }
    reply
}
