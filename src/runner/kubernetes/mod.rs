//! The kubernetes runner (docs/runners.md#kubernetes-a-job-per-turn): each
//! agent turn is one batch/v1 Job with a ConfigMap holding its prompt, made
//! through the API with afk-http's client (TLS verified against the cluster
//! CA alone). The rules (names, the manifests, what a Job and pod mean) are
//! `core::kube`'s. A file a job: `client.rs` the API calls, `jobs.rs`
//! a turn's Job and ConfigMap (made, found, listed, deleted), `log.rs` the
//! pod log mirrored into the run folder, where watch reads progress and
//! spend as it does for the command runner, `doctor.rs` the checks,
//! `views.rs` what afk reads of a Job and a pod; this file is the runner the
//! tick calls.

use crate::config::Config;
use crate::core::doctor::Level;
use crate::core::kube::{self as k8s, JobState, JobView, PodView};
use crate::core::run_state::Agent;
use crate::private_files::read_run_file;
use anyhow::{Result, anyhow, bail};
use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;
use time::OffsetDateTime;

mod client;
mod doctor;
mod gateway;
mod jobs;
mod log;
mod views;

pub use client::{Api, ApiError, kind_of, outcome_unknown};
pub(crate) use gateway::{
    PodGateway, listens as gateway_listens, serve as serve_gateway, setup as gateway_setup,
};
pub(super) use jobs::kept_reason;
pub use views::{job_view, pod_view};

/// Where the log read stopped (`core::kube::LogCursor`), in the run folder.
const CURSOR_FILE: &str = "k8s-log.cursor";
/// The Job whose pod could not start and why (`cannot_start`).
const FAILED_FILE: &str = "k8s-cannot-start";
/// A turn whose create went unanswered: its manifests, until it is found or made.
const PENDING_FILE: &str = "k8s-pending.json";
/// Where the gateway container's log read stopped.
const GATEWAY_CURSOR_FILE: &str = "k8s-gateway-log.cursor";

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
    /// how the git containers hand `git_secret`'s token to git
    /// (`Config::git_auth`: the profile's header, or afk's login)
    git_auth: crate::core::kube::workspace::GitAuth,
    /// the git containers' image when `git_image` is empty: the tick's own
    /// pod's, read once
    own_image: std::sync::OnceLock<std::result::Result<String, crate::types::Invalid>>,
    /// the model gateway (docs/kubernetes.md#the-model-gateway): a container of each turn's pod
    gateway: PodGateway,
    /// `[gate]` as the forwarding container reads it (`core::kube::workspace::gate_env`)
    gate: String,
}

impl KubernetesRunner {
    pub fn new(cfg: &Config) -> Result<KubernetesRunner> {
        if cfg.runner.kubernetes.image.trim().is_empty() {
            bail!(client::cfg_err(
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
            git_auth: cfg.git_auth(),
            own_image: std::sync::OnceLock::new(),
            gateway: gateway::setup(cfg),
            gate: crate::core::kube::workspace::gate_env(
                &cfg.gate_policy(),
                &cfg.gate.protected,
                &cfg.gate.allow,
            ),
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
        let lists = self.list_own()?;
        *self.snapshot.lock().unwrap() = Some(lists);
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
        let pod_started = pod.as_ref().is_some_and(k8s::PodView::agent_started);
        let mut log_at = read_run_file(&run_dir.join(CURSOR_FILE), super::SMALL_RECORD)
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
            match self.follow_log(name, &p.name, run_dir, log::Container::Agent) {
                Ok(at) => log_at = at.or(log_at),
                Err(e) => {
                    crate::log::warn(&format!("runner: Job {name}: the log was not read: {e:#}"))
                }
            }
            // the gateway's metered lines: the run's spend (docs/kubernetes.md#the-model-gateway)
            if matches!(self.gateway, PodGateway::On { .. })
                && let Err(e) = self.follow_log(name, &p.name, run_dir, log::Container::Gateway)
            {
                crate::log::warn(&format!(
                    "runner: Job {name}: the gateway's log was not read: {e:#}"
                ))
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
    ) -> Option<crate::core::kube::workspace::Result> {
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
                .and_then(crate::core::kube::workspace::parse)
                .unwrap_or_else(|| {
                    crate::core::kube::workspace::Result::Refused(format!(
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
        self.delete_job(name);
    }

    /// Spend is in the mirrored progress file only (agent.log holds the same
    /// lines, which must not count twice).
    fn read_spend(
        &self,
        run_dir: &Path,
        meter: &crate::core::budget::spend::Meter,
        ledger: &mut crate::core::budget::spend::Ledger,
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
        self.summary()
    }

    fn bind_instance(&self, instance: &str) {
        let _ = self.instance.set(instance.to_string());
    }
}
