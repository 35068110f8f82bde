//! The kubernetes runner (docs/runners.md#kubernetes-a-job-per-turn): each
//! agent turn is one batch/v1 Job with a ConfigMap holding its prompt, created
//! through the API with plain REST (ureq; TLS verified against the cluster CA
//! alone). The rules (names, the manifests, what a Job and pod mean) are
//! `core::kubernetes`'s; this file only talks to the API and mirrors the
//! agent's log into the run folder, where watch reads progress and spend as it
//! does for the command runner.

use crate::config::{Config, ConfigError};
use crate::core::doctor::Level;
use crate::core::kubernetes::{self as k8s, JobState, JobView, PodView};
use crate::core::run_state::Agent;
use crate::forge::Failure;
use anyhow::{Context, Result, anyhow, bail};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use time::OffsetDateTime;

const SA_DIR: &str = "/var/run/secrets/kubernetes.io/serviceaccount";
/// Where the log read stopped (`core::kubernetes::LogCursor`), in the run folder.
const CURSOR_FILE: &str = "k8s-log.cursor";
/// The Job whose pod could not start and why (`cannot_start`).
const FAILED_FILE: &str = "k8s-cannot-start";
/// A turn whose create went unanswered: its manifests, until it is found or made.
const PENDING_FILE: &str = "k8s-pending.json";

/// The API client: base URL, bearer token, namespace.
pub struct Api {
    base: String,
    token: crate::redact::Secret,
    pub namespace: String,
    agent: ureq::Agent,
}

/// A failed call: what it met, in afk-http's kinds (the forges' vocabulary:
/// callers match a kind, never a status), and one line saying why.
#[derive(Debug)]
pub struct ApiError {
    pub kind: Failure,
    pub message: String,
    /// the request may have taken effect: it was sent and no answer came
    /// (a dropped connection, a timeout) or the answer was a 5xx
    pub unknown: bool,
}
impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}
impl std::error::Error for ApiError {}

/// Whether a failed call may have landed (its outcome is unknown).
pub fn outcome_unknown(e: &anyhow::Error) -> bool {
    e.downcast_ref::<ApiError>().is_some_and(|a| a.unknown)
}

/// How much of an error answer is read for its message.
const ERROR_BODY_MAX: u64 = 64 * 1024;

fn cfg_err(msg: String) -> anyhow::Error {
    anyhow!(ConfigError(msg))
}

/// A TLS configuration whose only root is the cluster's CA.
fn tls_with_ca(ca_file: &Path) -> Result<Arc<rustls::ClientConfig>> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let pem = std::fs::read(ca_file).map_err(|e| {
        cfg_err(format!(
            "config: runner.kubernetes.ca_file: cannot read {}: {e}",
            ca_file.display()
        ))
    })?;
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(&pem) {
        let cert = cert.map_err(|e| {
            cfg_err(format!(
                "config: runner.kubernetes.ca_file: {} is not a PEM certificate: {e}",
                ca_file.display()
            ))
        })?;
        roots.add(cert).map_err(|e| {
            cfg_err(format!(
                "config: runner.kubernetes.ca_file: {}: {e}",
                ca_file.display()
            ))
        })?;
    }
    if roots.is_empty() {
        bail!(cfg_err(format!(
            "config: runner.kubernetes.ca_file: {} holds no certificate",
            ca_file.display()
        )));
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let cfg = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(cfg))
}

impl Api {
    /// From `[runner.kubernetes]`, else the in-cluster defaults.
    pub fn from_config(cfg: &Config) -> Result<Api> {
        let k = &cfg.runner.kubernetes;
        let base = if !k.api_url.is_empty() {
            k.api_url.trim_end_matches('/').to_string()
        } else {
            match (
                std::env::var("KUBERNETES_SERVICE_HOST"),
                std::env::var("KUBERNETES_SERVICE_PORT"),
            ) {
                (Ok(h), Ok(p)) if !h.is_empty() => {
                    let host = if h.contains(':') { format!("[{h}]") } else { h };
                    format!("https://{host}:{p}")
                }
                _ => bail!(crate::hint::hinted(
                    cfg_err(
                        "config: runner.kubernetes.api_url is empty and KUBERNETES_SERVICE_HOST is not set (not in a cluster)".into()
                    ),
                    "set runner.kubernetes.api_url"
                )),
            }
        };
        if let Err(why) = k8s::api_url_allowed(&base) {
            bail!(cfg_err(format!("config: runner.kubernetes.api_url: {why}")));
        }
        let sa = Path::new(SA_DIR);
        // a configured token file is a secret file like forge.token_file: one
        // that group or others may read is refused; the service account's
        // own mount is Kubernetes' (projected read-only, mode 0644 by default)
        let token = match &k.token_file {
            Some(f) => crate::config::read_secret_file(f, "runner.kubernetes.token_file")?,
            None => {
                let f = sa.join("token");
                std::fs::read_to_string(&f).map_err(|e| {
                    cfg_err(format!(
                        "config: runner.kubernetes.token_file: cannot read {}: {e}",
                        f.display()
                    ))
                })?
            }
        }
        .trim()
        .to_string();
        let token_file = k.token_file.clone().unwrap_or_else(|| sa.join("token"));
        // the service account's own token too: nothing afk writes carries it
        let token = crate::redact::Secret::new(token);
        if token.expose().is_empty() {
            bail!(cfg_err(format!(
                "config: runner.kubernetes.token_file: {} is empty",
                token_file.display()
            )));
        }
        let namespace = if !k.namespace.is_empty() {
            k.namespace.clone()
        } else {
            std::fs::read_to_string(sa.join("namespace"))
                .map(|s| s.trim().to_string())
                .ok()
                .filter(|s| k8s::is_dns_label(s))
                .unwrap_or_else(|| "default".into())
        };
        let mut b =
            crate::client::builder(cfg.forge_timeout()).timeout_connect(Duration::from_secs(10));
        if base.starts_with("https://") {
            let ca = k.ca_file.clone().unwrap_or_else(|| sa.join("ca.crt"));
            b = b.tls_config(tls_with_ca(&ca)?);
        }
        Ok(Api {
            base,
            token,
            namespace,
            agent: b.build(),
        })
    }

    /// One call; JSON in and out (text for a log).
    pub fn call(&self, method: &str, path: &str, body: Option<&Value>) -> Result<String> {
        let r = self.send(method, path, body)?;
        r.into_string()
            .map_err(|e| self.no_answer(method, path, &e.to_string(), true))
    }

    /// One call, its answer left to be read as a stream (a pod log). Every
    /// status outside 2xx is an error: a 3xx too (afk follows no redirect,
    /// and a redirect's body is no answer).
    pub fn send(&self, method: &str, path: &str, body: Option<&Value>) -> Result<ureq::Response> {
        let url = format!("{}{path}", self.base);
        let req = self
            .agent
            .request(method, &url)
            .set("Authorization", &format!("Bearer {}", self.token.expose()))
            .set("Accept", "application/json");
        let res = match body {
            Some(b) => {
                // nothing afk writes carries a secret (afk_host::redact): the
                // prompt's ConfigMap quotes forge text
                let mut b = b.clone();
                crate::redact::json(&mut b);
                req.send_json(b)
            }
            None => req.call(),
        };
        match res {
            Ok(r) if (200..300).contains(&r.status()) => Ok(r),
            Ok(r) => {
                let code = r.status();
                Err(anyhow!(ApiError {
                    kind: Failure::answered(code),
                    message: format!(
                        "{} answered {code}, a redirect to {}: afk follows none; check runner.kubernetes.api_url",
                        what(method, path),
                        crate::core::sanitize::one_line(
                            r.header("location").unwrap_or("nowhere"),
                            120
                        )
                    ),
                    unknown: false,
                }))
            }
            Err(ureq::Error::Status(code, r)) => {
                let mut text = String::new();
                use std::io::Read;
                let _ = r
                    .into_reader()
                    .take(ERROR_BODY_MAX)
                    .read_to_string(&mut text);
                let msg = serde_json::from_str::<Value>(&text)
                    .ok()
                    .and_then(|v| v["message"].as_str().map(str::to_string))
                    .unwrap_or_default();
                Err(anyhow!(ApiError {
                    kind: Failure::answered(code),
                    message: format!(
                        "{} answered {code}{}",
                        what(method, path),
                        if msg.is_empty() {
                            String::new()
                        } else {
                            format!(": {}", crate::core::sanitize::one_line(&msg, 200))
                        }
                    ),
                    unknown: code >= 500 && method != "GET",
                }))
            }
            Err(ureq::Error::Transport(t)) => {
                // nothing was sent when no connection was made
                let unsent = matches!(
                    t.kind(),
                    ureq::ErrorKind::Dns
                        | ureq::ErrorKind::ConnectionFailed
                        | ureq::ErrorKind::InvalidUrl
                        | ureq::ErrorKind::UnknownScheme
                );
                Err(self.no_answer(method, path, &t.to_string(), !unsent))
            }
        }
    }

    fn no_answer(&self, method: &str, path: &str, why: &str, sent: bool) -> anyhow::Error {
        anyhow!(ApiError {
            kind: Failure::NoAnswer,
            message: format!(
                "{}: {}",
                what(method, path),
                crate::core::sanitize::one_line(why, 200)
            ),
            unknown: sent && method != "GET",
        })
    }

    pub fn json(&self, method: &str, path: &str, body: Option<&Value>) -> Result<Value> {
        let text = self.call(method, path, body)?;
        serde_json::from_str(&text).with_context(|| format!("kubernetes: {path}: not JSON"))
    }

    pub fn ns(&self, kind: &str) -> String {
        let group = if kind == "jobs" {
            "/apis/batch/v1"
        } else {
            "/api/v1"
        };
        format!("{group}/namespaces/{}/{kind}", self.namespace)
    }
}

/// `kubernetes: GET /api/v1/…` without the query.
fn what(method: &str, path: &str) -> String {
    format!(
        "kubernetes: {method} {}",
        path.split('?').next().unwrap_or(path)
    )
}

/// What a failed call met (a forge's kinds: the API has no rate limit
/// afk reads, so never [`Failure::RateLimited`]); None when `e` is no API
/// call's error.
pub fn kind_of(e: &anyhow::Error) -> Option<Failure> {
    e.downcast_ref::<ApiError>().map(|a| a.kind)
}

mod views;
pub use views::{job_view, pod_view};

/// One tick's view of every Job and pod afk manages: two list calls.
#[derive(Default)]
struct Snapshot {
    jobs: Vec<JobView>,
    pods: Vec<PodView>,
}

pub struct KubernetesRunner {
    api: Api,
    cfg: crate::config::Kubernetes,
    command: Vec<String>,
    resume_command: Vec<String>,
    stall_after: Duration,
    snapshot: Mutex<Option<Snapshot>>,
    /// the state file's id, bound when the tick opens its store
    instance: std::sync::OnceLock<String>,
    /// afk's workspace (docs/kubernetes.md): the forge's profile and web
    /// address, where the Job's git containers fetch and push a repo
    /// (`Profile::git_url`); None with `workspace = "agent"`
    forge_url: Option<(&'static crate::forge::Profile, String)>,
    /// the git containers' image when `git_image` is empty: the tick's own
    /// pod's, read once
    own_image: std::sync::OnceLock<std::result::Result<String, String>>,
}

/// A turn whose create was sent and not answered, kept in the run folder
/// until the next step finds or makes its Job and ConfigMap: the two
/// manifests exactly as sent (no secret is in them: `envFrom` names the
/// Secret, never its values).
#[derive(serde::Serialize, serde::Deserialize)]
struct Pending {
    job: String,
    manifest: Value,
    config_map: Value,
}

impl KubernetesRunner {
    pub fn new(cfg: &Config) -> Result<KubernetesRunner> {
        if cfg.runner.kubernetes.image.trim().is_empty() {
            bail!(cfg_err(
                "config: runner.kubernetes.image: kind \"kubernetes\" needs the agent's container image".into()
            ));
        }
        Ok(KubernetesRunner {
            api: Api::from_config(cfg)?,
            cfg: cfg.runner.kubernetes.clone(),
            command: crate::core::agent::pod_argv(cfg.runner.agent(), &cfg.runner.command),
            resume_command: match cfg.runner.resume_command.as_slice() {
                [] => vec![],
                r => crate::core::agent::pod_argv(cfg.runner.agent(), r),
            },
            stall_after: cfg.stall_after(),
            snapshot: Mutex::new(None),
            instance: std::sync::OnceLock::new(),
            forge_url: (cfg.runner.workspace() == crate::types::Workspace::Afk)
                .then(|| (cfg.profile(), cfg.forge.url.clone())),
            own_image: std::sync::OnceLock::new(),
        })
    }

    pub fn api(&self) -> &Api {
        &self.api
    }

    fn instance(&self) -> Result<&str> {
        self.instance
            .get()
            .map(String::as_str)
            .ok_or_else(|| anyhow!("kubernetes: no instance id (the state file was not opened)"))
    }

    /// The git containers' image: `git_image`, else the image of the pod
    /// this tick runs in (afk's own, docs/configuration.md), read once (its
    /// service account may `get` its own pod; else set `git_image`).
    fn git_image(&self) -> Result<String> {
        if !self.cfg.git_image.trim().is_empty() {
            return Ok(self.cfg.git_image.trim().to_string());
        }
        let got = self.own_image.get_or_init(|| {
            let host = std::env::var("HOSTNAME").unwrap_or_default();
            if host.is_empty() || !k8s::is_dns_subdomain(&host) {
                return Err("this tick does not run in a pod".into());
            }
            // the tick's own namespace (its service account's), not the agents'
            let ns = std::fs::read_to_string(Path::new(SA_DIR).join("namespace"))
                .map(|n| n.trim().to_string())
                .unwrap_or_else(|_| self.api.namespace.clone());
            self.api
                .json("GET", &format!("/api/v1/namespaces/{ns}/pods/{host}"), None)
                .map_err(|e| format!("{e:#}"))
                .and_then(|pod| {
                    pod["spec"]["containers"][0]["image"]
                        .as_str()
                        .map(str::to_string)
                        .ok_or_else(|| format!("pod {host} names no image"))
                })
        });
        got.clone().map_err(|why| {
            crate::hint::hinted(
                cfg_err(format!(
                    "config: runner.kubernetes.git_image is empty and afk's own image could not be read ({why})"
                )),
                "set runner.kubernetes.git_image to afk's image (it runs the Job's checkout and forwarding)",
            )
        })
    }

    fn job_name(&self, run_id: &str, turn: u32) -> Result<String> {
        k8s::job_name(self.instance()?, run_id, turn)
            .ok_or_else(|| anyhow!("kubernetes: run id {run_id} makes no valid Job name"))
    }

    fn env(t: &super::Turn) -> Vec<(String, String)> {
        let mut env: Vec<(String, String)> = [
            ("AFK_RUN_ID", t.run_id.to_string()),
            ("AFK_REPO", t.repo.to_string()),
            ("AFK_ISSUE", t.issue.to_string()),
            ("AFK_BRANCH", t.branch.to_string()),
            ("AFK_TURN", t.turn.to_string()),
            ("AFK_PROMPT_FILE", k8s::PROMPT_PATH.to_string()),
            ("AFK_PROGRESS_FILE", "/dev/stdout".to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        for (k, v) in t.env {
            env.push((k.to_string(), v.to_string()));
        }
        env.extend(t.budget_var());
        env
    }

    /// Create the turn's Job, then its ConfigMap owned by the Job. A Job that
    /// exists already (a dead tick's create, an answer that was lost) is this
    /// turn, started: never a second one. Both manifests are kept in the run
    /// folder first, so that when an answer is lost the next step can find or
    /// finish what this one began ([`StartUnknown`](super::StartUnknown)).
    fn create_turn(&self, t: &super::Turn, resume: bool) -> Result<super::RunnerHandle> {
        let name = self.job_name(&t.run_id.to_string(), t.turn)?;
        crate::private_files::private_dir(t.run_dir)
            .context("runner: cannot create the run folder")?;
        crate::private_files::private_write(
            &t.run_dir.join(format!("prompt-{}.md", t.turn)),
            t.prompt.as_bytes(),
        )
        .context("runner: cannot keep the prompt")?;
        let base = if resume && !self.resume_command.is_empty() {
            &self.resume_command
        } else {
            &self.command
        };
        let command: Vec<String> = base
            .iter()
            .map(|a| {
                super::command::substitute(
                    a,
                    Path::new("/afk"),
                    t.repo,
                    t.issue,
                    t.branch,
                    Path::new(k8s::PROMPT_PATH),
                )
            })
            .collect();
        let env = Self::env(t);
        let run_id = t.run_id.to_string();
        let instance = self.instance()?;
        let spec = self.spec(&name, instance, &run_id, t.turn, &command, &env);
        let mut manifest = k8s::job(&spec);
        if let (Some((forge, url)), super::TurnOf::Run(_)) = (&self.forge_url, t.run_id) {
            let image = self.git_image()?;
            let url = forge.git_url(url, t.repo.as_str());
            let git = crate::core::kube_workspace::GitSide {
                image: &image,
                secret: &self.cfg.git_secret,
                url: &url,
            };
            crate::core::kube_workspace::with_git(&mut manifest, &git, &env);
        }
        let pending = Pending {
            job: name.clone(),
            manifest,
            config_map: k8s::config_map(&spec, "", t.prompt),
        };
        let kept = serde_json::to_vec(&pending)?;
        crate::private_files::private_write(&t.run_dir.join(PENDING_FILE), &kept)
            .context("runner: cannot keep the turn's manifests")?;
        let handle = super::RunnerHandle::Job { name: name.clone() };
        match self.finish(&pending, t.run_dir, false) {
            Ok(()) => Ok(handle),
            Err(e) if outcome_unknown(&e) => Err(anyhow!(super::StartUnknown {
                handle: Some(handle),
                why: e.to_string(),
            })),
            Err(e) => Err(e),
        }
    }

    /// Make sure the pending turn's Job and ConfigMap exist: each looked up
    /// when its create went unanswered, created when absent (its fixed name
    /// makes a second create a `409`, never a second Job). `again`: a turn a
    /// tick began earlier, looked up before anything is sent. Done: the
    /// pending file goes.
    fn finish(&self, p: &Pending, run_dir: &Path, again: bool) -> Result<()> {
        let job = self.ensure("jobs", &p.job, &p.manifest, again)?;
        crate::crash::point("kubernetes:job-created");
        let mut cm = p.config_map.clone();
        cm["metadata"]["ownerReferences"][0]["uid"] = job["metadata"]["uid"].clone();
        self.ensure("configmaps", &p.job, &cm, again)?;
        let _ = std::fs::remove_file(run_dir.join(PENDING_FILE));
        Ok(())
    }

    /// Create `body` as `kind`/`name`, or find it: `409` and an unanswered
    /// create are looked up by name; one found is the object. An unanswered
    /// create whose object is not there is sent once more. `look_first`: the
    /// object may exist already (an earlier tick's create): read it first.
    fn ensure(&self, kind: &str, name: &str, body: &Value, look_first: bool) -> Result<Value> {
        let get = || {
            self.api
                .json("GET", &format!("{}/{name}", self.api.ns(kind)), None)
        };
        if look_first {
            match get() {
                Ok(v) => return Ok(v),
                Err(e) if kind_of(&e) == Some(Failure::NotFound) => {}
                Err(e) => return Err(e),
            }
        }
        for attempt in 0..2 {
            match self.api.json("POST", &self.api.ns(kind), Some(body)) {
                Ok(v) => return Ok(v),
                Err(e) if kind_of(&e) == Some(Failure::Conflict) => return get(),
                Err(e) if outcome_unknown(&e) => match get() {
                    Ok(v) => return Ok(v),
                    Err(g) if kind_of(&g) == Some(Failure::NotFound) && attempt == 0 => continue,
                    // still unknown: the create may yet land
                    Err(_) => return Err(e),
                },
                Err(e) => return Err(e),
            }
        }
        unreachable!("the loop returns")
    }

    /// A turn begun and not known to have been made: finish it now.
    fn pending(&self, run_dir: &Path, job: &str) -> Option<Pending> {
        let text = std::fs::read(run_dir.join(PENDING_FILE)).ok()?;
        serde_json::from_slice::<Pending>(&text)
            .ok()
            .filter(|p| p.job == job)
    }

    fn spec<'a>(
        &'a self,
        name: &'a str,
        instance: &'a str,
        run_id: &'a str,
        turn: u32,
        command: &'a [String],
        env: &'a [(String, String)],
    ) -> k8s::JobSpec<'a> {
        k8s::JobSpec {
            name,
            instance,
            namespace: &self.api.namespace,
            run_id,
            turn,
            image: &self.cfg.image,
            command,
            env,
            service_account: &self.cfg.service_account,
            env_secret: &self.cfg.env_secret,
            cpu: &self.cfg.cpu,
            memory: &self.cfg.memory,
            active_deadline: self.cfg.active_deadline,
            ttl_after_finished: self.cfg.ttl_after_finished,
        }
    }

    /// A dead tick's claim: a turn it began and did not finish is finished
    /// now (looked up, created when absent); else the first turn's Job found
    /// by name means the agent started (its ConfigMap completed from the
    /// kept prompt); not found, it never did. An unanswered call decides
    /// nothing.
    pub fn reconcile_claim(
        &self,
        run_id: &str,
        run_dir: &Path,
    ) -> Result<Option<super::RunnerHandle>> {
        let name = self.job_name(run_id, 1)?;
        // a claim the previous version left names its Job without the
        // instance (`afk-<run>-1`): looked for too, never started again
        let legacy = format!("afk-{run_id}-1");
        for name in [name, legacy] {
            if let Some(p) = self.pending(run_dir, &name) {
                self.finish(&p, run_dir, true)?;
                return Ok(Some(super::RunnerHandle::Job { name }));
            }
            let job = match self
                .api
                .json("GET", &format!("{}/{name}", self.api.ns("jobs")), None)
            {
                Ok(j) => j,
                Err(e) if kind_of(&e) == Some(Failure::NotFound) => continue,
                Err(e) => return Err(e),
            };
            if let Ok(prompt) = std::fs::read_to_string(run_dir.join("prompt-1.md")) {
                let spec = self.spec(&name, self.instance()?, run_id, 1, &[], &[]);
                let uid = job["metadata"]["uid"].as_str().unwrap_or("");
                self.ensure(
                    "configmaps",
                    &name,
                    &k8s::config_map(&spec, uid, &prompt),
                    false,
                )?;
            }
            return Ok(Some(super::RunnerHandle::Job { name }));
        }
        Ok(None)
    }

    /// The Job and its newest pod: from the tick's two lists when the Job is
    /// this instance's, else (a Job made before instances had ids, followed
    /// to its end by its name) one Job and one pod read.
    fn lookup(&self, name: &str) -> Result<(Option<JobView>, Option<PodView>)> {
        let own = self
            .instance
            .get()
            .is_some_and(|i| k8s::is_own_job(i, name));
        if let Some(s) = self.snapshot.lock().unwrap().as_ref().filter(|_| own) {
            let job = s.jobs.iter().find(|j| j.name == name).cloned();
            let pod = newest(s.pods.iter().filter(|p| p.job == name));
            return Ok((job, pod));
        }
        let job = match self
            .api
            .json("GET", &format!("{}/{name}", self.api.ns("jobs")), None)
        {
            Ok(v) => Some(job_view(&v)),
            Err(e) if kind_of(&e) == Some(Failure::NotFound) => None,
            Err(e) => return Err(e),
        };
        let pods = self.api.json(
            "GET",
            &format!("{}?labelSelector=job-name%3D{name}", self.api.ns("pods")),
            None,
        )?;
        let pods: Vec<PodView> = items(&pods).map(pod_view).collect();
        Ok((job, newest(pods.iter())))
    }

    /// Read the agent container's log past the cursor, as a stream: at most
    /// [`k8s::LOG_READ_BYTES`] a read (`limitBytes`), from the cursor's
    /// second (`sinceTime`), line by line with no line over
    /// [`k8s::LOG_LINE_MAX`] held (longer ones are passed over, counted, and
    /// said in `agent.log`). Every line goes to `agent.log`, lines with JSON
    /// to `progress.jsonl`; the cursor always moves past what was read.
    /// Returns the log's last timestamp. A pod that is gone (404) has
    /// nothing more to say: the Job's status tells how the turn ended.
    fn follow_log(&self, job: &str, pod: &str, run_dir: &Path) -> Result<Option<OffsetDateTime>> {
        let cursor_path = run_dir.join(CURSOR_FILE);
        let cursor = std::fs::read_to_string(&cursor_path)
            .ok()
            .and_then(|s| k8s::LogCursor::parse(&s))
            .filter(|c| c.job == job);
        let mut path = format!(
            "{}/{pod}/log?container=agent&timestamps=true&limitBytes={}",
            self.api.ns("pods"),
            k8s::LOG_READ_BYTES
        );
        if let Some(c) = &cursor {
            path.push_str(&format!(
                "&sinceTime={}",
                c.since().replace(':', "%3A").replace('+', "%2B")
            ));
        }
        let answer = match self.api.send("GET", &path, None) {
            Ok(r) => r,
            Err(e) if kind_of(&e) == Some(Failure::NotFound) => return Ok(cursor.map(|c| c.at)),
            Err(e) => return Err(e),
        };
        let mut mirror = Mirror::open(run_dir)?;
        let mut walk = k8s::LogWalk::new(cursor.as_ref());
        let read = mirror.copy(answer.into_reader(), &mut walk)?;
        let stuck = read.bytes >= k8s::LOG_READ_BYTES as u64 && read.taken == 0;
        let Some(next) = walk.cursor(job, stuck) else {
            return Ok(None);
        };
        if read.skipped > 0 {
            mirror.note(&format!(
                "[afk] {} over {} MiB passed over (not read for progress or spend)",
                crate::core::plural(read.skipped as usize, "log line", "log lines"),
                k8s::LOG_LINE_MAX >> 20
            ))?;
        }
        if cursor.as_ref() != Some(&next) {
            crate::private_files::private_write(&cursor_path, next.line().as_bytes())?;
        }
        mirror.close(next.at)?;
        Ok(Some(next.at))
    }

    /// Why Job `job`'s pod cannot start, as watch reports it (`agent-failed`,
    /// docs/runners.md#kubernetes-a-job-per-turn). `seen`: the reason in the
    /// pod's status now. It is kept in the run folder, so that once the
    /// escalation has deleted the Job, a later tick finishing the escalation's
    /// writes still has the reason.
    fn cannot_start(
        &self,
        job: &str,
        seen: Option<&str>,
        run_dir: &Path,
    ) -> Result<Option<String>> {
        let kept = kept_reason(run_dir, Some(job));
        let Some(reason) = seen else {
            return Ok(kept);
        };
        if kept.as_deref() != Some(reason) {
            let marker = run_dir.join(FAILED_FILE);
            crate::private_files::private_write(&marker, format!("{job}\n{reason}\n").as_bytes())?;
        }
        Ok(Some(reason.to_string()))
    }
}

/// What one log read did.
struct Read {
    bytes: u64,
    taken: u64,
    skipped: u64,
}

/// The run folder's copy of a pod log: `agent.log` (every line) and
/// `progress.jsonl` (lines holding JSON), appended through small buffers.
struct Mirror {
    log: std::io::BufWriter<std::fs::File>,
    progress: std::io::BufWriter<std::fs::File>,
    dir: PathBuf,
}

impl Mirror {
    fn open(dir: &Path) -> Result<Mirror> {
        Ok(Mirror {
            log: std::io::BufWriter::new(open_append(&dir.join("agent.log"))?),
            progress: std::io::BufWriter::new(open_append(&dir.join("progress.jsonl"))?),
            dir: dir.to_path_buf(),
        })
    }

    /// Copy the new lines of `from` (a timestamped log) past `walk`'s cursor.
    fn copy(&mut self, mut from: impl std::io::Read, walk: &mut k8s::LogWalk) -> Result<Read> {
        use crate::core::lines::{BoundedLines, Line};
        use std::io::Write;
        let mut lines = BoundedLines::new(k8s::LOG_LINE_MAX);
        let mut read = Read {
            bytes: 0,
            taken: 0,
            skipped: 0,
        };
        let mut buf = vec![0u8; 64 * 1024];
        let mut failed: Option<std::io::Error> = None;
        let mut each = |l: Line| {
            let (bytes, over) = match l {
                Line::Whole(b) => (b, false),
                Line::Over(head) => (head, true),
            };
            let text = String::from_utf8_lossy(bytes);
            let Some((t, rest)) = k8s::log_line(&text) else {
                return;
            };
            if !walk.take(t) {
                return;
            }
            read.taken += 1;
            if over {
                read.skipped += 1;
                return;
            }
            let mut w = || -> std::io::Result<()> {
                self.log.write_all(rest.as_bytes())?;
                self.log.write_all(b"\n")?;
                if rest.contains('{') {
                    self.progress.write_all(rest.as_bytes())?;
                    self.progress.write_all(b"\n")?;
                }
                Ok(())
            };
            if let Err(e) = w() {
                failed.get_or_insert(e);
            }
        };
        loop {
            let n = match from.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                // a read cut short: what came is kept, the rest comes next tick
                Err(_) => break,
            };
            read.bytes += n as u64;
            lines.feed(&buf[..n], &mut each);
        }
        // the answer's last line without its newline was cut by limitBytes:
        // it comes again from the cursor
        lines.finish(false, &mut each);
        if let Some(e) = failed {
            return Err(anyhow!(e)).with_context(|| {
                format!(
                    "runner: cannot write {}",
                    self.dir.join("agent.log").display()
                )
            });
        }
        Ok(read)
    }

    fn note(&mut self, line: &str) -> Result<()> {
        use std::io::Write;
        writeln!(self.log, "{line}")?;
        Ok(())
    }

    /// Flush both, stamped with the log's last time (what `stall_after`
    /// measures from, docs/runners.md#kubernetes-a-job-per-turn).
    fn close(mut self, at: OffsetDateTime) -> Result<()> {
        use std::io::Write;
        self.log.flush()?;
        self.progress.flush()?;
        for f in [self.log.get_ref(), self.progress.get_ref()] {
            let _ = f.set_modified(at.into());
        }
        Ok(())
    }
}

/// The reason kept in the run folder for a pod that could not start: of Job
/// `job`, or of whichever Job it was (None).
pub(super) fn kept_reason(run_dir: &Path, job: Option<&str>) -> Option<String> {
    let s = std::fs::read_to_string(run_dir.join(FAILED_FILE)).ok()?;
    let (j, reason) = s.split_once('\n')?;
    let reason = reason.trim();
    (job.is_none_or(|job| j == job) && !reason.is_empty()).then(|| reason.to_string())
}

fn items(v: &Value) -> impl Iterator<Item = &Value> {
    v["items"].as_array().into_iter().flatten()
}

fn newest<'a>(pods: impl Iterator<Item = &'a PodView>) -> Option<PodView> {
    pods.max_by_key(|p| p.created).cloned()
}

fn open_append(path: &Path) -> Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("runner: cannot write {}", path.display()))
}

impl super::Runner for KubernetesRunner {
    fn start(&self, t: &super::Turn) -> Result<super::RunnerHandle> {
        self.create_turn(t, false)
    }
    fn start_record(&self, run_id: &str, run_dir: &Path) -> Result<Option<super::RunnerHandle>> {
        self.reconcile_claim(run_id, run_dir)
    }

    /// A corrective turn is a new Job (`afk-<instance>-<run>-<turn>`).
    fn resume(
        &self,
        _handle: Option<&super::RunnerHandle>,
        t: &super::Turn,
    ) -> Result<super::RunnerHandle> {
        self.create_turn(t, true)
    }

    /// ONE Job list and ONE pod list for every run of the tick, of this
    /// instance's objects alone.
    fn prefetch(&self) -> Result<()> {
        let sel = format!(
            "labelSelector={}",
            k8s::selector(self.instance()?)
                .replace('/', "%2F")
                .replace('=', "%3D")
                .replace(',', "%2C")
        );
        let jobs = self
            .api
            .json("GET", &format!("{}?{sel}", self.api.ns("jobs")), None)?;
        let pods = self
            .api
            .json("GET", &format!("{}?{sel}", self.api.ns("pods")), None)?;
        *self.snapshot.lock().unwrap() = Some(Snapshot {
            jobs: items(&jobs).map(job_view).collect(),
            pods: items(&pods).map(pod_view).collect(),
        });
        Ok(())
    }

    /// A turn whose create went unanswered: found or made now.
    fn settle(&self, handle: Option<&super::RunnerHandle>, run_dir: &Path) -> Result<()> {
        let Some(super::RunnerHandle::Job { name }) = handle else {
            return Ok(());
        };
        if let Some(p) = self.pending(run_dir, name) {
            self.finish(&p, run_dir, true)?;
            // the lists were read before it existed
            self.snapshot.lock().unwrap().take();
        }
        Ok(())
    }

    fn observe(
        &self,
        handle: Option<&super::RunnerHandle>,
        run_dir: &Path,
    ) -> Result<super::Observed> {
        let name = match handle {
            Some(super::RunnerHandle::Job { name }) => name,
            Some(_) => {
                bail!("the run was started by another runner but runner.kind is now \"kubernetes\"")
            }
            None => return Ok(super::Observed::only(Agent::Vanished)),
        };
        let (job, pod) = self.lookup(name)?;
        // a turn whose create is still unanswered ([`Runner::settle`] could
        // not finish it, or a dry run left it): starting, never vanished
        if job.is_none() && self.pending(run_dir, name).is_some() {
            let mut seen = super::Observed::only(Agent::Running);
            seen.marks = format!("{name}:starting");
            return Ok(seen);
        }
        let state = k8s::job_state(
            job.as_ref(),
            pod.as_ref(),
            self.stall_after,
            OffsetDateTime::now_utc(),
        );
        let pod_started = pod
            .as_ref()
            .is_some_and(|p| p.phase == "Running" || p.agent_running || p.exit_code.is_some());
        let mut log_at = std::fs::read_to_string(run_dir.join(CURSOR_FILE))
            .ok()
            .and_then(|s| k8s::LogCursor::parse(&s))
            .filter(|c| c.job == *name)
            .map(|c| c.at);
        if let Some(p) = pod
            .as_ref()
            .filter(|_| pod_started && state != JobState::Vanished)
        {
            // the log is what the agent says; its trouble never hides the
            // Job's state, which every limit is checked against
            match self.follow_log(name, &p.name, run_dir) {
                Ok(at) => log_at = at.or(log_at),
                Err(e) => {
                    crate::log::warn(&format!("runner: Job {name}: the log was not read: {e:#}"))
                }
            }
        }
        let (agent, cannot_start) = match &state {
            JobState::Running { .. } => (Agent::Running, None),
            JobState::Exited(c) => (Agent::Exited(*c), None),
            // gone: after an `agent-failed` escalation deleted it, its reason
            JobState::Vanished => (Agent::Vanished, self.cannot_start(name, None, run_dir)?),
            // still there, holding its place: the escalation stops it
            JobState::CannotStart(reason) => (
                Agent::Running,
                self.cannot_start(name, Some(reason), run_dir)?,
            ),
        };
        Ok(super::Observed {
            agent,
            marks: format!("{name}:{}", pod.map(|p| p.phase).unwrap_or_default()),
            cost_usd: None,
            blocked: None,
            cannot_start,
            log_at,
        })
    }

    /// What the turn's forwarding container reported (docs/kubernetes.md), from
    /// the tick's pod list: None before it ended or without afk's workspace.
    fn forwarded(
        &self,
        handle: Option<&super::RunnerHandle>,
    ) -> Option<crate::core::kube_workspace::Result> {
        self.forge_url.as_ref()?;
        let Some(super::RunnerHandle::Job { name }) = handle else {
            return None;
        };
        let (_, pod) = self.lookup(name).ok()?;
        let pod = pod?;
        pod.exit_code?;
        Some(
            pod.forwarded
                .as_deref()
                .and_then(crate::core::kube_workspace::parse)
                .unwrap_or_else(|| {
                    crate::core::kube_workspace::Result::Refused(format!(
                        "the Job {name}'s forwarding container left no result (see its log: kubectl logs job/{name} -c forward)"
                    ))
                }),
        )
    }

    /// `DELETE` the Job, its pods in the background; gone already is stopped.
    fn stop(&self, handle: &super::RunnerHandle) {
        let super::RunnerHandle::Job { name } = handle else {
            return;
        };
        let body = serde_json::json!({"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": "Background"});
        match self.api.call(
            "DELETE",
            &format!(
                "{}/{name}?propagationPolicy=Background",
                self.api.ns("jobs")
            ),
            Some(&body),
        ) {
            Ok(_) => {}
            Err(e) if kind_of(&e) == Some(Failure::NotFound) => {}
            Err(e) => crate::log::warn(&format!("runner: could not delete Job {name}: {e:#}")),
        }
    }

    /// Spend is in the mirrored progress file only (agent.log holds the same
    /// lines, which must not count twice).
    fn read_spend(
        &self,
        run_dir: &Path,
        meter: &crate::core::spend::Meter,
        ledger: &mut crate::core::spend::Ledger,
        finished: bool,
    ) {
        super::spend::read_stream(
            &run_dir.join("progress.jsonl"),
            "progress",
            meter,
            ledger,
            finished,
        );
    }

    fn check(&self) -> (Level, String) {
        let checks = self.doctor_checks();
        let worst = checks.iter().map(|c| c.0).max().unwrap_or(Level::Ok);
        // a FAIL says only what failed; otherwise every finding, the WARNs first
        let mut shown: Vec<&(Level, String)> = checks
            .iter()
            .filter(|c| worst != Level::Fail || c.0 == Level::Fail)
            .collect();
        shown.sort_by_key(|c| std::cmp::Reverse(c.0));
        let text: Vec<&str> = shown.iter().map(|c| c.1.as_str()).collect();
        (worst, text.join("; "))
    }

    fn bind_instance(&self, instance: &str) {
        let _ = self.instance.set(instance.to_string());
    }
}

impl KubernetesRunner {
    /// In afk's workspace: the pod afk will send, checked against how the
    /// kubelet writes the git credential (`core::kube_workspace::secret_verdict`):
    /// the git containers can read it, the agent's container cannot mount it.
    /// Offline: built as a turn builds it, sent nowhere.
    fn pod_spec_check(&self) -> Option<(Level, String)> {
        let (forge, url) = self.forge_url.as_ref()?;
        let env: Vec<(String, String)> = vec![];
        let spec = self.spec("afk-doctor", "doctor", "0", 1, &self.command, &env);
        let mut manifest = k8s::job(&spec);
        let git = crate::core::kube_workspace::GitSide {
            // the image does not change who may read the credential
            image: "afk",
            secret: &self.cfg.git_secret,
            url: &forge.git_url(url, "doctor"),
        };
        crate::core::kube_workspace::with_git(&mut manifest, &git, &env);
        let (ok, said) =
            crate::core::kube_workspace::secret_verdict(&manifest["spec"]["template"]["spec"]);
        Some((Level::of(ok), format!("pod spec: {said}")))
    }

    /// `afk doctor`: the API answers, the namespace exists, every verb is
    /// allowed (SelfSubjectAccessReview), the image is set; each failure with
    /// its one-line fix. Read-only (an access review creates nothing).
    pub fn doctor_checks(&self) -> Vec<(Level, String)> {
        let ns = &self.api.namespace;
        let mut out = vec![];
        out.push(if self.cfg.image.trim().is_empty() {
            (
                Level::Fail,
                "runner.kubernetes.image is not set: set it to the agent's container image".into(),
            )
        } else {
            (Level::Ok, format!("image {}", self.cfg.image))
        });
        if let Some(check) = self.pod_spec_check() {
            out.push(check);
        }
        let read = self
            .api
            .call("GET", &format!("/api/v1/namespaces/{ns}"), None);
        let (status, error) = match &read {
            Ok(_) => (Some(200), String::new()),
            Err(e) => (kind_of(e).and_then(Failure::status), e.to_string()),
        };
        let (level, text, go_on) = k8s::namespace_read(ns, status, &error);
        out.push((level, text));
        if !go_on {
            return out;
        }
        // where afk itself runs, when it runs in a cluster (its pod's account)
        let own = std::env::var_os("KUBERNETES_SERVICE_HOST")
            .and_then(|_| std::fs::read_to_string(Path::new(SA_DIR).join("namespace")).ok())
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty());
        let (ok, text) = k8s::namespace_split(ns, own.as_deref());
        out.push((Level::of(ok), text));
        let mut missing = vec![];
        for (group, resource, sub, verb) in k8s::VERBS {
            let review = serde_json::json!({
                "apiVersion": "authorization.k8s.io/v1",
                "kind": "SelfSubjectAccessReview",
                "spec": {"resourceAttributes": {
                    "namespace": ns, "group": group, "resource": resource,
                    "subresource": sub, "verb": verb
                }}
            });
            let what = if sub.is_empty() {
                resource.to_string()
            } else {
                format!("{resource}/{sub}")
            };
            match self.api.json(
                "POST",
                "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
                Some(&review),
            ) {
                Ok(v) if v["status"]["allowed"] == true => {}
                Ok(_) => missing.push(format!("{verb} {what}")),
                Err(e) => {
                    out.push((Level::Fail, format!("cannot review access: {e}")));
                    return out;
                }
            }
        }
        let (ok, text) = k8s::access_verdict(&missing, ns);
        out.push((Level::of(ok), text));
        out
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_api_failure_is_one_of_the_forges_kinds() {
        use super::{ApiError, Failure, kind_of, outcome_unknown};
        let failed = |kind, unknown| {
            anyhow::anyhow!(ApiError {
                kind,
                message: "m".into(),
                unknown,
            })
            .context("creating the Job")
        };
        let cases = [
            (Failure::answered(401), Failure::Unauthorized, Some(401)),
            (Failure::answered(404), Failure::NotFound, Some(404)),
            (Failure::answered(409), Failure::Conflict, Some(409)),
            (Failure::answered(429), Failure::Other(429), Some(429)),
            (Failure::answered(302), Failure::Other(302), Some(302)),
            (Failure::NoAnswer, Failure::NoAnswer, None),
        ];
        for (met, kind, status) in cases {
            let e = failed(met, false);
            assert_eq!(kind_of(&e), Some(kind), "{kind:?}");
            assert_eq!(kind_of(&e).and_then(Failure::status), status, "{kind:?}");
            assert!(!outcome_unknown(&e));
        }
        assert!(outcome_unknown(&failed(Failure::NoAnswer, true)));
        assert_eq!(kind_of(&anyhow::anyhow!("no API call")), None);
    }

    #[test]
    fn the_ca_file_must_hold_a_certificate() {
        let dir = std::env::temp_dir().join(format!("afk-k8s-ca-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let missing = dir.join("none.crt");
        let e = super::tls_with_ca(&missing).unwrap_err().to_string();
        assert!(
            e.starts_with("config: runner.kubernetes.ca_file: cannot read"),
            "{e}"
        );
        let junk = dir.join("junk.crt");
        std::fs::write(&junk, "not a certificate\n").unwrap();
        let e = super::tls_with_ca(&junk).unwrap_err().to_string();
        assert!(e.contains("holds no certificate"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_kept_cannot_start_reason_is_only_its_own_job_s_and_never_empty() {
        let dir = std::env::temp_dir().join(format!("afk-k8s-kept-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let kept = |job| super::kept_reason(&dir, job);
        assert_eq!(kept(None), None, "nothing kept");
        let file = dir.join(super::FAILED_FILE);
        std::fs::write(&file, "afk-1-1\nImagePullBackOff: no such image\n").unwrap();
        let reason = Some("ImagePullBackOff: no such image".to_string());
        assert_eq!(kept(Some("afk-1-1")), reason);
        assert_eq!(kept(None), reason);
        assert_eq!(kept(Some("afk-1-2")), None, "another turn's Job");
        std::fs::write(&file, "afk-1-1\n").unwrap();
        assert_eq!(kept(Some("afk-1-1")), None, "no reason: nothing to report");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
