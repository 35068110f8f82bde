//! The sandbox: a throwaway forge on loopback that speaks the Gitea API v1
//! subset afk uses (shapes from `contracts/gitea-v1-subset.json`), with an admin
//! API for tests: seed data, read back every request it received, inject faults.
//! It behaves like a real Gitea where that bites clients: an unknown label in
//! `labels=` is dropped from the filter, pull requests are listed as issues
//! unless `type=issues`, timestamps carry a +02:00 offset, a renamed repo
//! answers its old path with a redirect, permission lookups need an admin.
//!
//! Layout: `model` holds the forge's state and its rules, `seed` what tests
//! load into it; `routes/` serves that model in a forge's dialect (Gitea);
//! `admin`, `faults`, `hooks` and `agent` are the test machinery around it;
//! `git` keeps real bare repositories (served over git's smart HTTP by
//! `git_http`), `registry` is an OCI registry's tag listing, `http` is the server.

mod admin;
mod agent;
mod faults;
pub mod git;
mod git_http;
mod hooks;
pub mod http;
mod model;
mod registry;
mod revert;
mod routes;
mod seed;

pub use faults::Fault;
pub use model::Forge;
pub use seed::{Seed, SeedIssue, SeedRepo};

use http::{Reply, Request};
use serde_json::json;
use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

pub const DEFAULT_TOKEN: &str = "sandbox-token";
/// The bearer token of the sandbox's agent-thread service (`/agent`).
pub const AGENT_TOKEN: &str = "agent-token";
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
    /// where the bare git repositories live: `<dir>/<owner>/<repo>.git`
    pub dir: PathBuf,
    pub state: Arc<Mutex<Forge>>,
}

/// Start the sandbox on `addr` (loopback only) in background threads.
pub fn start(addr: &str, seed: Option<Seed>, dir: Option<PathBuf>) -> anyhow::Result<Sandbox> {
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
    let st = state.clone();
    let handler: http::Handler = Arc::new(move |req| handle(&st, req));
    std::thread::spawn(move || http::serve(listener, handler));
    Ok(Sandbox { url, dir, state })
}

/// What a request is for, by its path prefix.
enum Service {
    /// the forge API in Gitea's dialect, `/api/v1/...`
    Gitea,
    /// the agent-thread service, `/agent/...`
    Agent,
    /// the OCI registry, `/v2/...`
    Registry,
}

fn handle(st: &Arc<Mutex<Forge>>, req: Request) -> Reply {
    if let Some(rest) = req.path.strip_prefix("/_admin") {
        return admin::handle(&mut st.lock().unwrap(), rest, &req);
    }
    if let Some(name) = req.path.strip_prefix("/_hooks/") {
        return hooks::receive(&mut st.lock().unwrap(), name, &req);
    }
    if let Some((repo, rest)) = git_http::route(&req.path) {
        return git_http::serve(st, &req, &repo, &rest);
    }
    // A GitHub dialect would be one more prefix here.
    let (service, path) = if req.path.starts_with("/agent/") {
        (Service::Agent, req.path.clone())
    } else if req.path == "/v2" || req.path.starts_with("/v2/") {
        (Service::Registry, req.path.clone())
    } else {
        match req.path.strip_prefix("/api/v1") {
            Some(p) => (Service::Gitea, p.to_string()),
            None => return err(404, "not found"),
        }
    };
    // log first, then faults, then the answer
    let (fault, latency) = {
        let mut f = st.lock().unwrap();
        admin::record(&mut f, &req, &path);
        f.faults.pick(&req.method, &path)
    };
    if let Some(reply) = faults::inject(fault, latency) {
        return reply;
    }
    let mut f = st.lock().unwrap();
    match service {
        Service::Agent => agent::serve(&mut f, &req, &path),
        Service::Gitea => routes::gitea::serve(&mut f, &req, &path),
        Service::Registry => registry::serve(&f, &req, &path),
    }
}
