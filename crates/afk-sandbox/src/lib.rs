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
//! With [`Dialect::AzureDevops`] it speaks Azure DevOps REST 7.1 for one
//! organization at `/sandbox` (`routes/azure`): projects and repositories
//! from the seed, issues as work items with revisions naming who changed
//! them and who was authenticated, ACLs through groups, a `203` sign-in page
//! for a refused credential, continuation tokens, Basic-auth service hooks,
//! git at `/sandbox/{project}/_git/{repo}`.
//!
//! Layout: `model` holds the forge's state and its rules, `seed` what tests
//! load into it; `routes/` serves that model in a forge's dialect (Gitea, GitHub);
//! `admin`, `faults`, `hooks` and `agent` are the test machinery around it;
//! `git` keeps real bare repositories (served over git's smart HTTP by
//! `git_http`), `ci` answers test comments and `ci_run` runs a repository's
//! own CI command on pushes, `registry` is an OCI registry's tag listing,
//! `otlp` an OpenTelemetry collector's trace receiver (`/v1/traces`),
//! `http` is the server (and the base64 of its Basic credentials).

mod admin;
mod agent;
mod ci;
mod ci_run;
mod faults;
pub mod git;
mod git_http;
mod graphql;
mod hooks;
pub mod http;
mod kube;
mod kube_discovery;
mod kube_pod;
mod kube_probe;
mod kube_proc;
mod kube_user;
mod kube_volume;
mod model;
pub mod model_api;
mod otlp;
mod registry;
mod revert;
mod reviews;
mod routes;
pub use routes::Dialect;
mod seed;
mod webhooks;

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

    /// The key the scripted model requires (a seed's `model_key`), if any.
    pub fn model_key(&self) -> Option<String> {
        self.state.lock().unwrap().model_key.clone()
    }

    /// A credential for git pushes only (the API refuses it): the password
    /// an agent that does its own git pushes with, never afk's token.
    pub fn push_token(&self) -> String {
        self.state.lock().unwrap().push_token.clone()
    }

    /// Where the forge posts its webhooks and the secret it signs them
    /// with, when it sends any (`afk sandbox --hook-url`, a seed's `hook_url`).
    pub fn hook(&self) -> Option<(String, String)> {
        let f = self.state.lock().unwrap();
        let url = f.outbox.url()?.to_string();
        Some((url, f.outbox.secret().to_string()))
    }

    /// The API root a client configures (`forge.api_url`).
    pub fn api_url(&self) -> String {
        format!("{}{}", self.url, self.dialect.api_prefix())
    }

    /// afk's `[forge]` keys for this sandbox (`Dialect::forge_keys`).
    pub fn forge_keys(&self) -> String {
        self.dialect.forge_keys(&self.url)
    }

    /// afk's `[forge]` keys for the allowlisted `repos`
    /// (`Dialect::repo_keys`): Azure DevOps's area paths.
    pub fn repo_keys(&self, repos: &[&str]) -> String {
        self.dialect.repo_keys(repos)
    }

    /// The number afk sees for the shared model's issue `(repo, n)`: on
    /// Azure DevOps its work item's id (numbered across the organization;
    /// the organization is brought up to date first, as a request would),
    /// elsewhere `n`.
    pub fn issue_seen(&self, repo: &str, n: u64) -> u64 {
        if self.dialect != Dialect::AzureDevops {
            return n;
        }
        let mut f = self.state.lock().unwrap();
        f.az_sync();
        f.az_item_of(repo, n).unwrap_or(n)
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
    if dialect == Dialect::Gitlab {
        forge.gitlab();
    }
    if dialect == Dialect::AzureDevops {
        forge.azure_devops();
    }
    forge.outbox.dialect = dialect.as_str();
    if let Some(s) = seed {
        forge
            .seed(s)
            .map_err(|e| anyhow::anyhow!("sandbox: seed: {e}"))?;
    }
    // Azure DevOps keeps every change as a revision: the seed's work items
    // are made now (and after each admin call, `handle`)
    if forge.az.on {
        forge.az_sync();
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
    /// Jira Cloud's REST API, `/rest/api/3/...`, beside any forge
    Jira,
    /// Linear's GraphQL API, `/linear/graphql`, beside any forge
    Linear,
    /// Atlassian's token endpoint, `/atlassian/oauth/token`
    AtlassianToken,
}

fn handle(st: &Arc<Mutex<Forge>>, dialect: Dialect, req: Request) -> Reply {
    // the people's side of the Jira and the Linear beside the forge
    if let Some(rest) = req.path.strip_prefix("/_admin/jira") {
        let body = req.json().unwrap_or(serde_json::Value::Null);
        return routes::jira::admin(&mut st.lock().unwrap().jira, rest, &req.method, &body);
    }
    if let Some(rest) = req.path.strip_prefix("/_admin/linear") {
        let body = req.json().unwrap_or(serde_json::Value::Null);
        return routes::linear::admin(&mut st.lock().unwrap().linear, rest, &req.method, &body);
    }
    if let Some(rest) = req.path.strip_prefix("/_admin") {
        let mut f = st.lock().unwrap();
        let before = f.webhook_before();
        let reply = admin::handle(&mut f, rest, &req);
        if let Some(before) = before {
            f.webhook_changes(before);
        }
        // a person's change is a work item's revision when it is made, as
        // on the service: one a test makes before afk's next request (an
        // edit after the arming) is a revision of its own, never folded
        // into the item's first
        if f.az.on {
            f.az_sync();
        }
        return reply;
    }
    if let Some(name) = req.path.strip_prefix("/_hooks/") {
        return hooks::receive(&mut st.lock().unwrap(), name, &req);
    }
    // the OTLP/HTTP trace receiver, a collector on the sandbox's own address
    if req.path == "/v1/traces" {
        return otlp::receive(st, &req);
    }
    if let Some(rest) = req.path.strip_prefix("/model") {
        // the scripts are copied out: a step that hangs holds no lock
        let (scripts, per_turn, key, items) = {
            let f = st.lock().unwrap();
            (
                f.scripts.clone(),
                f.turn_scripts.clone(),
                f.model_key.clone(),
                work_items(&f, dialect),
            )
        };
        let find = |repo: &str, issue: u64, turn: u32| {
            // on Azure DevOps the prompt names the work item; a seed's
            // scripts are the shared model's issue's
            let issue = match items.get(&issue) {
                Some((r, n)) if r == repo => *n,
                _ => issue,
            };
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
        let asked = |step: String| {
            let mut f = st.lock().unwrap();
            let n = f.model_asked.entry(step).or_insert(0);
            *n = n.saturating_add(1);
            *n
        };
        let log = |entry: serde_json::Value| {
            let mut f = st.lock().unwrap();
            if f.model_log.len() >= model::MODEL_LOG_MAX {
                f.model_log.pop_front();
            }
            f.model_log.push_back(entry);
        };
        let m = model_api::Model {
            key: key.as_deref(),
            script: &find,
            asked: &asked,
            log: &log,
        };
        return model_api::serve(&req, rest, &m);
    }
    // Azure Repos serves git at `/{org}/{project}/_git/{repo}`
    let git_route = git_http::route(&req.path).or_else(|| {
        if dialect == Dialect::AzureDevops {
            routes::azure::git_route(&req.path)
        } else {
            None
        }
    });
    if let Some((repo, rest)) = git_route {
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
                f.git_log
                    .push(serde_json::json!({"method": req.method, "repo": repo,
                    "service": service, "agent": agent, "auth": admin::auth_seen(&req)}));
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
    } else if req.path.starts_with("/rest/api/3/") || req.path == "/rest/webhooks/1.0/webhook" {
        (Service::Jira, req.path.clone())
    } else if req.path == "/linear/graphql" {
        (Service::Linear, req.path.clone())
    } else if req.path == "/atlassian/oauth/token" {
        (Service::AtlassianToken, req.path.clone())
    } else if dialect == Dialect::Github && req.path == "/api/graphql" {
        // GitHub Enterprise's GraphQL, beside its REST root
        (Service::Forge(dialect), "/graphql".to_string())
    } else if dialect == Dialect::Gitlab && req.path == "/api/graphql" {
        // GitLab's GraphQL, beside its REST root `/api/v4`
        (Service::Forge(dialect), routes::gitlab::GRAPHQL.to_string())
    } else {
        match dialect.api_path(&req).strip_prefix(dialect.api_prefix()) {
            Some(p) => (Service::Forge(dialect), p.to_string()),
            None => return err(404, "not found"),
        }
    };
    let came = std::time::Instant::now();
    // log first, then faults, then the answer (its status noted in the log)
    let (fault, latency, entry) = {
        let mut f = st.lock().unwrap();
        let entry = admin::record(&mut f, &req, &path);
        let (fault, latency) = f.faults.pick(&req.method, &path, &req.body);
        (fault, latency, entry)
    };
    let endless = fault.as_ref().is_some_and(|f| f.endless);
    let next_link = fault.as_ref().and_then(|f| f.next_link.clone());
    let drop_after = fault.as_ref().is_some_and(|f| f.drop_after);
    let dates = fault.as_ref().and_then(|f| f.dates.clone());
    let extra_headers = fault.as_ref().and_then(|f| f.headers.clone());
    // Azure DevOps wraps a list: `{"count": 0, "value": []}`
    let empty: &[u8] = match dialect {
        Dialect::AzureDevops => br#"{"count":0,"value":[]}"#,
        _ => b"[]",
    };
    let answer = || {
        let mut f = st.lock().unwrap();
        let before = (req.method != "GET" && req.method != "HEAD")
            .then(|| f.webhook_before())
            .flatten();
        let reply = match service {
            Service::Agent => agent::serve(&mut f, &req, &path),
            Service::Forge(dialect) => dialect.serve(&mut f, &req, &path),
            Service::Registry => registry::serve(&f, &req, &path),
            Service::Kubernetes => kube::serve(&mut f.kube, &req, &path["/k8s".len()..]),
            // the admin webhooks' path whole, the REST API's after its root
            Service::Jira => {
                let rest = path.strip_prefix("/rest/api/3").unwrap_or(&path);
                routes::jira::serve(&mut f.jira, &req, rest)
            }
            Service::Linear => routes::linear::serve(&mut f.linear, &req),
            Service::AtlassianToken => routes::atlassian_token::token(&mut f.jira, &req),
        };
        if let Some(before) = before {
            f.webhook_changes(before);
        }
        reply
    };
    let reply = match fault {
        // the latency every request gets is a round trip to a forge
        // elsewhere: the answer leaves that long after the request came,
        // the sandbox's own work on it (its lock, its CPU on the machine
        // afk runs on) inside it, as a remote forge's work is inside its
        // round trip (docs/sandbox.md)
        None => {
            let reply = answer();
            std::thread::sleep(
                std::time::Duration::from_millis(latency).saturating_sub(came.elapsed()),
            );
            reply
        }
        fault => match faults::inject(fault, latency, empty) {
            Some(reply) => reply,
            None => answer(),
        },
    };
    let mut reply = reply;
    for (k, v) in extra_headers.into_iter().flatten() {
        reply = reply.with_header(&k, &v);
    }
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

/// On Azure DevOps, each work item's id with the shared model's issue it
/// is, `(repo, number)`; nothing elsewhere.
fn work_items(f: &Forge, dialect: Dialect) -> std::collections::BTreeMap<u64, (String, u64)> {
    if dialect != Dialect::AzureDevops {
        return Default::default();
    }
    (f.az.items.values())
        .map(|w| (w.id, (w.repo.clone(), w.number)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;
    use std::io::{Read, Write};

    fn req(method: &str, path: &str, headers: &[(&str, &str)], body: Value) -> Request {
        Request {
            method: method.into(),
            path: path.into(),
            raw_path: path.into(),
            query: vec![],
            raw_query: String::new(),
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            body: if body.is_null() {
                vec![]
            } else {
                serde_json::to_vec(&body).unwrap()
            },
        }
    }

    fn answer(r: Reply) -> (u16, Value) {
        match r {
            Reply::Send { status, body, .. } => {
                (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
            }
            _ => panic!("not a plain answer"),
        }
    }

    fn model_log(st: &Arc<Mutex<Forge>>) -> Vec<Value> {
        let (_, v) = answer(handle(
            st,
            Dialect::Gitea,
            req("GET", "/_admin/model/requests", &[], Value::Null),
        ));
        v.as_array().unwrap().clone()
    }

    #[test]
    fn a_seeded_model_key_is_required_and_the_admin_api_shows_each_request() {
        let st = Arc::new(Mutex::new(Forge::new(
            "http://127.0.0.1:1".into(),
            std::env::temp_dir(),
        )));
        let ask = |headers: &[(&str, &str)]| {
            let body =
                json!({"model": "claude-x", "messages": [{"role": "user", "content": "hi"}]});
            answer(handle(
                &st,
                Dialect::Gitea,
                req("POST", "/model/anthropic/v1/messages", headers, body),
            ))
            .0
        };
        assert_eq!(ask(&[]), 200, "no key seeded: none checked");
        let (s, _) = answer(handle(
            &st,
            Dialect::Gitea,
            req(
                "POST",
                "/_admin/seed",
                &[],
                json!({"model_key": "sk-seeded"}),
            ),
        ));
        assert_eq!(s, 200);
        assert_eq!(ask(&[]), 401);
        assert_eq!(ask(&[("x-api-key", "sk-seeded")]), 200);
        let log = model_log(&st);
        let seen: Vec<(Value, Value)> = log
            .iter()
            .map(|e| (e["key"].clone(), e["status"].clone()))
            .collect();
        assert_eq!(
            seen,
            [
                (json!("not required"), json!(200)),
                (json!("missing"), json!(401)),
                (json!("matched"), json!(200)),
            ]
        );
        assert!(log.iter().all(|e| e["path"] == "/anthropic/v1/messages"
            && e["api"] == "anthropic"
            && e["model"] == "claude-x"
            && e["at_ms"].as_u64().unwrap() > 0));
        // kept apart from the forge's log
        assert!(st.lock().unwrap().log.is_empty());
        // an empty key requires none again
        handle(
            &st,
            Dialect::Gitea,
            req("POST", "/_admin/seed", &[], json!({"model_key": ""})),
        );
        assert_eq!(ask(&[]), 200);
        // bounded: the newest kept
        for _ in 0..model::MODEL_LOG_MAX + 5 {
            ask(&[]);
        }
        let log = model_log(&st);
        assert_eq!(log.len(), model::MODEL_LOG_MAX);
        assert!(log.iter().all(|e| e["key"] == "not required"));
        handle(
            &st,
            Dialect::Gitea,
            req("DELETE", "/_admin/model/requests", &[], Value::Null),
        );
        assert!(model_log(&st).is_empty());
    }

    #[test]
    fn a_cut_answer_announces_the_whole_body_and_closes_after_its_first_events() {
        let dir = std::env::temp_dir().join(format!("afk-sandbox-cut-{}", std::process::id()));
        let seed: Seed = serde_json::from_value(json!({"repos": [{"name": "acme/api",
            "issues": [{"number": 1, "title": "t",
                        "script": [{"text": "Done.", "cut_after": 2}]}]}]}))
        .unwrap();
        let sb = start("127.0.0.1:0", Some(seed), Some(dir.clone())).unwrap();
        let body = json!({"model": "claude-x", "stream": true, "tools": [{"name": "Bash"}],
            "messages": [{"role": "user", "content": "- Repository: acme/api\n- Issue: #1\n"}]})
        .to_string();
        let host = sb.model_url.trim_start_matches("http://");
        let mut s = std::net::TcpStream::connect(host).unwrap();
        write!(
            s,
            "POST /model/anthropic/v1/messages HTTP/1.1\r\nHost: {host}\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let mut got = String::new();
        s.read_to_string(&mut got).unwrap();
        let (head, sent) = got.split_once("\r\n\r\n").unwrap();
        let announced: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("Content-Length: "))
            .unwrap()
            .parse()
            .unwrap();
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        assert!(sent.len() < announced, "{} of {announced}", sent.len());
        assert_eq!(sent.matches("event: ").count(), 2, "{sent}");
        let _ = std::fs::remove_dir_all(dir);
    }
}
