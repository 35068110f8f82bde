//! The kubernetes runner (SPEC 5.4): each agent turn is one batch/v1 Job with
//! a ConfigMap holding its prompt, created through the API with plain REST
//! (ureq; TLS verified against the cluster CA alone). The rules (names, the
//! manifests, what a Job and pod mean) are `core::kubernetes`'s; this file only
//! talks to the API and mirrors the agent's log into the run folder, where
//! watch reads progress and spend as it does for the command runner.

use crate::config::{Config, ConfigError};
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
/// Where the log read stopped: `<job> <timestamp>`, in the run folder.
const CURSOR_FILE: &str = "k8s-log.cursor";
/// The Job whose pod could not start and why (`cannot_start`).
const FAILED_FILE: &str = "k8s-cannot-start";

/// The API client: base URL, bearer token, namespace.
pub struct Api {
    base: String,
    token: String,
    pub namespace: String,
    agent: ureq::Agent,
}

/// A failed call: the status (None: no answer) and one line saying why.
#[derive(Debug)]
pub struct ApiError {
    pub status: Option<u16>,
    pub message: String,
}
impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}
impl std::error::Error for ApiError {}

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
                _ => bail!(cfg_err(
                    "config: runner.kubernetes.api_url is empty and KUBERNETES_SERVICE_HOST is not set (not in a cluster): set api_url".into()
                )),
            }
        };
        if let Err(why) = k8s::api_url_allowed(&base) {
            bail!(cfg_err(format!("config: runner.kubernetes.api_url: {why}")));
        }
        let sa = Path::new(SA_DIR);
        let token_file = k.token_file.clone().unwrap_or_else(|| sa.join("token"));
        let token = std::fs::read_to_string(&token_file)
            .map_err(|e| {
                cfg_err(format!(
                    "config: runner.kubernetes.token_file: cannot read {}: {e}",
                    token_file.display()
                ))
            })?
            .trim()
            .to_string();
        if token.is_empty() {
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
        let url = format!("{}{path}", self.base);
        let req = self
            .agent
            .request(method, &url)
            .set("Authorization", &format!("Bearer {}", self.token))
            .set("Accept", "application/json");
        let res = match body {
            Some(b) => req.send_json(b),
            None => req.call(),
        };
        let what = || {
            format!(
                "kubernetes: {method} {}",
                path.split('?').next().unwrap_or(path)
            )
        };
        match res {
            Ok(r) => r.into_string().with_context(what),
            Err(ureq::Error::Status(code, r)) => {
                let text = r.into_string().unwrap_or_default();
                let msg = serde_json::from_str::<Value>(&text)
                    .ok()
                    .and_then(|v| v["message"].as_str().map(str::to_string))
                    .unwrap_or_default();
                Err(anyhow!(ApiError {
                    status: Some(code),
                    message: format!(
                        "{} answered {code}{}",
                        what(),
                        if msg.is_empty() {
                            String::new()
                        } else {
                            format!(": {}", crate::core::sanitize::one_line(&msg, 200))
                        }
                    ),
                }))
            }
            Err(ureq::Error::Transport(t)) => Err(anyhow!(ApiError {
                status: None,
                message: format!(
                    "{}: {}",
                    what(),
                    crate::core::sanitize::one_line(&t.to_string(), 200)
                ),
            })),
        }
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

/// What a failed call met (a forge's kinds: the API has no rate limit
/// afk reads, so never [`Failure::RateLimited`]); None when `e` is no API
/// call's error.
pub fn kind_of(e: &anyhow::Error) -> Option<Failure> {
    e.downcast_ref::<ApiError>()
        .map(|a| a.status.map_or(Failure::NoAnswer, Failure::answered))
}

fn ts(v: &Value) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(v.as_str()?, &time::format_description::well_known::Rfc3339).ok()
}

/// What afk reads of a Job object.
pub fn job_view(v: &Value) -> JobView {
    let finished = v["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["status"] == "True" && (c["type"] == "Complete" || c["type"] == "Failed"))
        .map(|c| {
            (
                c["type"] == "Complete",
                c["reason"].as_str().unwrap_or("").to_string(),
            )
        });
    JobView {
        name: v["metadata"]["name"].as_str().unwrap_or("").to_string(),
        succeeded: v["status"]["succeeded"].as_u64().unwrap_or(0) as u32,
        failed: v["status"]["failed"].as_u64().unwrap_or(0) as u32,
        finished,
    }
}

/// What afk reads of a pod object (its `agent` container).
pub fn pod_view(v: &Value) -> PodView {
    let agent = v["status"]["containerStatuses"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["name"] == "agent");
    let state = agent.map(|c| &c["state"]);
    let waiting = state
        .and_then(|s| s["waiting"]["reason"].as_str())
        .map(|r| {
            (
                r.to_string(),
                state
                    .and_then(|s| s["waiting"]["message"].as_str())
                    .unwrap_or("")
                    .to_string(),
            )
        });
    let exit_code = state
        .and_then(|s| s["terminated"]["exitCode"].as_i64())
        .map(|c| c as i32);
    let unschedulable = v["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| {
            c["type"] == "PodScheduled" && c["status"] == "False" && c["reason"] == "Unschedulable"
        })
        .map(|c| c["message"].as_str().unwrap_or("").to_string());
    PodView {
        name: v["metadata"]["name"].as_str().unwrap_or("").to_string(),
        job: v["metadata"]["labels"]["job-name"]
            .as_str()
            .unwrap_or("")
            .to_string(),
        phase: v["status"]["phase"].as_str().unwrap_or("").to_string(),
        created: ts(&v["metadata"]["creationTimestamp"]),
        waiting,
        exit_code,
        unschedulable,
    }
}

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
            command: cfg.runner.command.clone(),
            resume_command: cfg.runner.resume_command.clone(),
            stall_after: cfg.stall_after(),
            snapshot: Mutex::new(None),
        })
    }

    pub fn api(&self) -> &Api {
        &self.api
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
    /// exists already (a dead tick's create) is this turn, started: never a
    /// second one. The prompt is kept in the run folder first, so a tick that
    /// finds the Job without its ConfigMap can complete it.
    fn create_turn(&self, t: &super::Turn, resume: bool) -> Result<super::RunnerHandle> {
        let name = k8s::job_name(&t.run_id.to_string(), t.turn)
            .ok_or_else(|| anyhow!("kubernetes: run id {} makes no valid Job name", t.run_id))?;
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
        let spec = self.spec(&name, &run_id, t.turn, &command, &env);
        let job = match self
            .api
            .json("POST", &self.api.ns("jobs"), Some(&k8s::job(&spec)))
        {
            Ok(v) => v,
            Err(e) if kind_of(&e) == Some(Failure::Conflict) => {
                self.api
                    .json("GET", &format!("{}/{name}", self.api.ns("jobs")), None)?
            }
            Err(e) => return Err(e),
        };
        crate::crash::point("kubernetes:job-created");
        let uid = job["metadata"]["uid"].as_str().unwrap_or("").to_string();
        self.ensure_config_map(&spec, &uid, t.prompt)?;
        Ok(super::RunnerHandle::Job { name })
    }

    fn spec<'a>(
        &'a self,
        name: &'a str,
        run_id: &'a str,
        turn: u32,
        command: &'a [String],
        env: &'a [(String, String)],
    ) -> k8s::JobSpec<'a> {
        k8s::JobSpec {
            name,
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

    fn ensure_config_map(&self, spec: &k8s::JobSpec, uid: &str, prompt: &str) -> Result<()> {
        match self.api.call(
            "POST",
            &self.api.ns("configmaps"),
            Some(&k8s::config_map(spec, uid, prompt)),
        ) {
            Ok(_) => Ok(()),
            Err(e) if kind_of(&e) == Some(Failure::Conflict) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// A dead tick's claim: the first turn's Job found by name means the
    /// agent started (its ConfigMap is completed from the kept prompt);
    /// not found, it never did. An unanswered call decides nothing.
    pub fn reconcile_claim(
        &self,
        run_id: &str,
        run_dir: &Path,
    ) -> Result<Option<super::RunnerHandle>> {
        let name = k8s::job_name(run_id, 1)
            .ok_or_else(|| anyhow!("kubernetes: run id {run_id} makes no valid Job name"))?;
        let job = match self
            .api
            .json("GET", &format!("{}/{name}", self.api.ns("jobs")), None)
        {
            Ok(j) => j,
            Err(e) if kind_of(&e) == Some(Failure::NotFound) => return Ok(None),
            Err(e) => return Err(e),
        };
        if let Ok(prompt) = std::fs::read_to_string(run_dir.join("prompt-1.md")) {
            let labels = &job["metadata"]["labels"];
            let rid = labels["afk.dev/run-id"]
                .as_str()
                .unwrap_or(run_id)
                .to_string();
            let spec = self.spec(&name, &rid, 1, &[], &[]);
            let uid = job["metadata"]["uid"].as_str().unwrap_or("");
            self.ensure_config_map(&spec, uid, &prompt)?;
        }
        Ok(Some(super::RunnerHandle::Job { name }))
    }

    fn lookup(&self, name: &str) -> Result<(Option<JobView>, Option<PodView>)> {
        if let Some(s) = self.snapshot.lock().unwrap().as_ref() {
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

    /// Read the agent container's log past the cursor; mirror it into the run
    /// folder: every line to `agent.log`, JSON lines to `progress.jsonl`,
    /// both stamped with the last line's time.
    fn follow_log(&self, job: &str, pod: &str, run_dir: &Path) -> Result<()> {
        let cursor_path = run_dir.join(CURSOR_FILE);
        let cursor = std::fs::read_to_string(&cursor_path).ok().and_then(|s| {
            let (j, t) = s.trim().split_once(' ')?;
            (j == job).then(|| k8s::log_line(t).map(|(t, _)| t))?
        });
        let mut path = format!(
            "{}/{pod}/log?container=agent&timestamps=true",
            self.api.ns("pods")
        );
        // the contract's parameter is `sinceSeconds`, counted by the node's
        // clock: a minute more covers a skew between the clocks, and the
        // lines already taken are dropped by their timestamps
        if let Some(c) = cursor {
            let ago = (OffsetDateTime::now_utc() - c).whole_seconds().max(0) + 60;
            path.push_str(&format!("&sinceSeconds={ago}"));
        }
        let body = self.api.call("GET", &path, None)?;
        let (lines, last) = k8s::new_log_lines(&body, cursor);
        if lines.is_empty() {
            return Ok(());
        }
        let mut all = String::new();
        let mut json = String::new();
        for l in &lines {
            all.push_str(l);
            all.push('\n');
            if l.trim_start().starts_with('{') {
                json.push_str(l.trim());
                json.push('\n');
            }
        }
        append(&run_dir.join("agent.log"), &all)?;
        if !json.is_empty() {
            append(&run_dir.join("progress.jsonl"), &json)?;
        }
        if let Some(t) = last {
            let stamp = t
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default();
            crate::private_files::private_write(
                &cursor_path,
                format!("{job} {stamp}\n").as_bytes(),
            )?;
            for f in ["agent.log", "progress.jsonl"] {
                if let Ok(file) = std::fs::File::options().append(true).open(run_dir.join(f)) {
                    let _ = file.set_modified(t.into());
                }
            }
        }
        Ok(())
    }

    /// Why Job `job`'s pod cannot start, as watch reports it (`agent-failed`,
    /// SPEC 5.4). `seen`: the reason in the pod's status now. It is kept in
    /// the run folder, so that once the escalation has deleted the Job, a
    /// later tick finishing the escalation's writes still has the reason.
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

fn append(path: &PathBuf, text: &str) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("runner: cannot write {}", path.display()))?;
    f.write_all(text.as_bytes())?;
    Ok(())
}

impl super::Runner for KubernetesRunner {
    fn start(&self, t: &super::Turn) -> Result<super::RunnerHandle> {
        self.create_turn(t, false)
    }
    fn start_record(&self, run_id: &str, run_dir: &Path) -> Result<Option<super::RunnerHandle>> {
        self.reconcile_claim(run_id, run_dir)
    }

    /// A corrective turn is a new Job (`afk-<run>-<turn>`).
    fn resume(
        &self,
        _handle: Option<&super::RunnerHandle>,
        t: &super::Turn,
    ) -> Result<super::RunnerHandle> {
        self.create_turn(t, true)
    }

    /// ONE Job list and ONE pod list for every run of the tick.
    fn prefetch(&self) -> Result<()> {
        let sel = format!(
            "labelSelector={}",
            k8s::SELECTOR.replace('/', "%2F").replace('=', "%3D")
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
            None => {
                return Ok(super::Observed {
                    agent: Agent::Vanished,
                    marks: String::new(),
                    cost_usd: None,
                    blocked: None,
                    cannot_start: None,
                });
            }
        };
        let (job, pod) = self.lookup(name)?;
        let state = k8s::job_state(
            job.as_ref(),
            pod.as_ref(),
            self.stall_after,
            OffsetDateTime::now_utc(),
        );
        let pod_started = pod
            .as_ref()
            .is_some_and(|p| p.phase == "Running" || p.exit_code.is_some());
        if let Some(p) = pod
            .as_ref()
            .filter(|_| pod_started && state != JobState::Vanished)
        {
            self.follow_log(name, &p.name, run_dir)?;
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
        })
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
            Err(e) => crate::log::warn(&format!("runner: could not delete Job {name}: {e}")),
        }
    }

    /// Spend is in the mirrored progress file only (agent.log holds the same
    /// lines, which must not count twice).
    fn read_spend(&self, run_dir: &Path, ledger: &mut crate::core::spend::Ledger, finished: bool) {
        super::spend::read_stream(
            &run_dir.join("progress.jsonl"),
            "progress",
            ledger,
            finished,
        );
    }

    fn check(&self) -> (bool, String) {
        let checks = self.doctor_checks();
        let failed: Vec<&str> = checks
            .iter()
            .filter(|c| !c.0)
            .map(|c| c.1.as_str())
            .collect();
        if failed.is_empty() {
            (
                true,
                checks
                    .iter()
                    .map(|c| c.1.as_str())
                    .collect::<Vec<_>>()
                    .join("; "),
            )
        } else {
            (false, failed.join("; "))
        }
    }
}

impl KubernetesRunner {
    /// `afk doctor`: the API answers, the namespace exists, every verb is
    /// allowed (SelfSubjectAccessReview), the image is set; each failure with
    /// its one-line fix. Read-only (an access review creates nothing).
    pub fn doctor_checks(&self) -> Vec<(bool, String)> {
        let ns = &self.api.namespace;
        let mut out = vec![];
        out.push(if self.cfg.image.trim().is_empty() {
            (
                false,
                "runner.kubernetes.image is not set: set it to the agent's container image".into(),
            )
        } else {
            (true, format!("image {}", self.cfg.image))
        });
        match self
            .api
            .call("GET", &format!("/api/v1/namespaces/{ns}"), None)
        {
            Ok(_) => out.push((true, format!("the API answers; namespace {ns} exists"))),
            Err(e) if kind_of(&e) == Some(Failure::NotFound) => {
                out.push((false, format!("namespace {ns} does not exist: create it (kubectl create namespace {ns}) or set runner.kubernetes.namespace")));
                return out;
            }
            Err(e) if kind_of(&e) == Some(Failure::Unauthorized) => {
                out.push((
                    false,
                    format!("{e}: the token is refused; check runner.kubernetes.token_file"),
                ));
                return out;
            }
            // 403 on the namespace: not every Role may read it; the verbs tell
            Err(e) if kind_of(&e) == Some(Failure::Forbidden) => {}
            Err(e) => {
                out.push((
                    false,
                    format!("{e}: check runner.kubernetes.api_url and ca_file"),
                ));
                return out;
            }
        }
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
                    out.push((false, format!("cannot review access: {e}")));
                    return out;
                }
            }
        }
        out.push(k8s::access_verdict(&missing, ns));
        out
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_api_status_is_one_kind() {
        use super::{ApiError, Failure, kind_of};
        let failed = |status| {
            anyhow::anyhow!(ApiError {
                status,
                message: "m".into()
            })
        };
        let cases = [
            (401, Failure::Unauthorized),
            (403, Failure::Forbidden),
            (404, Failure::NotFound),
            (409, Failure::Conflict),
            (429, Failure::Other(429)),
            (500, Failure::Other(500)),
        ];
        for (status, kind) in cases {
            assert_eq!(kind_of(&failed(Some(status))), Some(kind), "{status}");
        }
        assert_eq!(kind_of(&failed(None)), Some(Failure::NoAnswer));
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
