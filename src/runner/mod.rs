//! Agent runners behind one trait: `command` (a detached local process) and
//! `http` (an agent-thread service). Commands never branch on the kind: they
//! hold a `Box<dyn Runner>` from [`from_config`] and a typed [`RunnerHandle`].

pub mod agent_box;
pub mod checks;
pub mod command;
pub mod http;
pub mod kubernetes;
pub mod output;
pub mod records;
pub mod spend;
pub mod turn_end;

use crate::config::Config;
use crate::core::run_state::Agent;
use crate::types::{IssueNumber, RepoName};
use anyhow::Result;
use std::path::Path;
use std::time::Duration;

/// How to find a started agent again on a later tick: a value the store
/// keeps, so the model's.
pub use crate::types::RunnerHandle;

/// Whose turn it is: a run of poll's, or an upgrade PR's fixer. It becomes
/// `AFK_RUN_ID`, which an agent may use to name its own files, so the two
/// never share a value: a fixer's is its run folder's name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TurnOf {
    Run(crate::types::RunId),
    /// The fixer's `run`-th start on the upgrade row `upgrade`; `tests`: the
    /// `--with-tests` fixer of the paired tests PR (`upgrade.tests_repo`,
    /// docs/configuration.md), whose turn is its own (its own folder, its own
    /// Job).
    Fixer {
        upgrade: i64,
        run: u32,
        tests: bool,
    },
}

impl std::fmt::Display for TurnOf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TurnOf::Run(id) => write!(f, "{id}"),
            TurnOf::Fixer {
                upgrade,
                run,
                tests: false,
            } => write!(f, "upgrade-{upgrade}-{run}"),
            TurnOf::Fixer {
                upgrade,
                run,
                tests: true,
            } => write!(f, "upgrade-{upgrade}-{run}-tests"),
        }
    }
}

impl TurnOf {
    /// A fixer's turn from its run folder's name (`upgrade-3-1`,
    /// `upgrade-3-1-tests`): what `afk runs` lists and `afk runs show` takes.
    pub fn parse_fixer(name: &str) -> Option<TurnOf> {
        let rest = name.strip_prefix("upgrade-")?;
        let (rest, tests) = match rest.strip_suffix("-tests") {
            Some(r) => (r, true),
            None => (rest, false),
        };
        let (upgrade, run) = rest.split_once('-')?;
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if !digits(upgrade) || !digits(run) {
            return None;
        }
        Some(TurnOf::Fixer {
            upgrade: upgrade.parse().ok()?,
            run: run.parse().ok()?,
            tests,
        })
    }
}

/// What one agent turn needs.
pub struct Turn<'a> {
    pub run_id: TurnOf,
    pub repo: &'a RepoName,
    pub issue: IssueNumber,
    pub title: &'a str,
    pub branch: &'a str,
    pub prompt: &'a str,
    pub run_dir: &'a Path,
    /// 1 for the first turn.
    pub turn: u32,
    /// more `AFK_*` variables for the agent (the tests repository of an
    /// upgrade's `--with-tests` fixer); none for most turns
    pub env: &'a [(&'a str, &'a str)],
    /// What is left of the run's money limits as this turn starts
    /// (`core::budget::spend::money_left`); None when no money limit is set. The agent
    /// gets it as `AFK_BUDGET_USD` (docs/runners.md#command-a-local-process),
    /// or nothing.
    pub budget_usd: Option<f64>,
    /// The model gateway's budget gate for this turn (docs/runners.md#the-model-gateway-runnermodel): the
    /// money limits, the run's earlier spend, and the other runs of its day
    /// as recorded when the turn starts; None when no money limit is set.
    pub gate: Option<crate::core::gateway::budget::Gate>,
}

/// The variable a turn's budget reaches the agent in.
pub const BUDGET_VAR: &str = "AFK_BUDGET_USD";

/// The most of a turn's prompt file a runner reads back (afk wrote it; read
/// without following a link, like every file of a run folder).
pub(crate) const PROMPT_FILE_MAX: u64 = 4 << 20;
/// The most of a small record of a run folder a runner reads back (a
/// pending start, a log cursor, a failed pod's reason).
pub(crate) const SMALL_RECORD: u64 = 64 << 10;

impl Turn<'_> {
    /// `AFK_BUDGET_USD` and its value (plain dollars), when the turn has a budget.
    pub fn budget_var(&self) -> Option<(String, String)> {
        let usd = self.budget_usd?;
        Some((
            BUDGET_VAR.to_string(),
            crate::core::budget::spend::budget_text(usd),
        ))
    }
}

/// What watch learns from the runner about an agent.
#[derive(Debug, Clone, PartialEq)]
pub struct Observed {
    pub agent: Agent,
    /// Runner-side progress marks (phase, updated_at) that feed the progress fingerprint.
    pub marks: String,
    /// What the runner itself reports the run has spent (an agent thread's
    /// `cost_usd`: the whole thread so far); None when it reports nothing.
    pub cost_usd: Option<f64>,
    /// What the runner itself reports of a blocked agent (an agent thread's
    /// `blocked`); the progress file is read besides, by watch.
    pub blocked: Option<crate::core::progress::Blocked>,
    /// Why the agent cannot start at all (a kubernetes pod's status reason:
    /// `ImagePullBackOff`, unschedulable...); None when it can or may yet.
    pub cannot_start: Option<String>,
    /// When the agent's own log says it last wrote (a pod log's last
    /// timestamp, docs/runners.md#kubernetes-a-job-per-turn): the stall clock's
    /// time when only its output changed. None where the runner has no such
    /// clock.
    pub log_at: Option<time::OffsetDateTime>,
}

impl Observed {
    /// An agent in `agent` state of which the runner knows nothing more.
    pub fn only(agent: Agent) -> Observed {
        Observed {
            agent,
            marks: String::new(),
            cost_usd: None,
            blocked: None,
            cannot_start: None,
            log_at: None,
        }
    }
}

/// A start (or corrective turn) whose outcome is unknown: the request was
/// sent and no answer came (a dropped connection, a timeout, a 5xx), so the
/// agent may be running. Never a failure and never repeated blindly: the
/// caller keeps the turn "starting", and the next step looks the agent up by
/// `handle` (a Job's fixed name) and adopts it, or creates it when absent.
#[derive(Debug)]
pub struct StartUnknown {
    /// where the agent is, if the start landed (None: the runner cannot say)
    pub handle: Option<RunnerHandle>,
    pub why: String,
}

impl std::fmt::Display for StartUnknown {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the agent's start may have landed ({}); the next tick looks it up",
            self.why
        )
    }
}
impl std::error::Error for StartUnknown {}

/// The unknown outcome `e` carries, if it is one.
pub fn start_unknown(e: &anyhow::Error) -> Option<&StartUnknown> {
    e.downcast_ref::<StartUnknown>()
}

/// Why a run's agent could not start, as its runner kept it in the run folder
/// (the kubernetes runner's pod status reason); None when it never said.
pub fn cannot_start_reason(run_dir: &Path) -> Option<String> {
    kubernetes::kept_reason(run_dir, None)
}

/// The record a started agent leaves in its run folder, whatever runner
/// started it (only the command runner's wrapper writes one): what the next
/// tick trusts about a claim a dead tick left. Waits briefly when a start may
/// have been under way.
pub fn start_record(run_dir: &Path) -> Option<RunnerHandle> {
    command::agent_record(run_dir).map(|h| RunnerHandle::Process {
        pid: h.pid,
        start_time: h.start_time,
    })
}

pub trait Runner: Send + Sync {
    /// Start the first turn of a run.
    fn start(&self, t: &Turn) -> Result<RunnerHandle>;
    /// A corrective turn on a run started before; the handle to track afterwards.
    fn resume(&self, handle: Option<&RunnerHandle>, t: &Turn) -> Result<RunnerHandle>;
    /// Called once per watch tick before its runs are observed, so a runner
    /// can learn about all of them in one go (kubernetes: one Job list, one pod
    /// list) instead of one request per run.
    fn prefetch(&self) -> Result<()> {
        Ok(())
    }
    /// Finish a turn whose start went unanswered on an earlier step (the
    /// kubernetes runner: find its Job by name, or create it from the kept
    /// manifests): a write, so a dry run's runner does nothing here. Called
    /// before [`Runner::observe`]; by default nothing is ever left unfinished.
    fn settle(&self, handle: Option<&RunnerHandle>, run_dir: &Path) -> Result<()> {
        let _ = (handle, run_dir);
        Ok(())
    }
    /// Is the agent running, exited, vanished? Read-only.
    fn observe(&self, handle: Option<&RunnerHandle>, run_dir: &Path) -> Result<Observed>;
    /// What a turn's own forwarding reported, where the runner forwards
    /// inside the turn (the Kubernetes Job's `forward` container,
    /// docs/kubernetes.md); None where afk's tick forwards (the command runner)
    /// or the turn has not ended.
    fn forwarded(
        &self,
        handle: Option<&RunnerHandle>,
    ) -> Option<crate::core::kube::workspace::Result> {
        let _ = handle;
        None
    }
    /// Stop the agent (a no-op where the runner cannot).
    fn stop(&self, handle: &RunnerHandle);
    /// Read what the agent reported spending since `ledger`'s cursors
    /// (docs/runners.md#command-a-local-process): by default the run folder's
    /// progress file and `agent.log`.
    /// `meter`: the agent and its token prices (`config::Runner::meter`).
    /// `finished`: the agent is not running, its last line is whole.
    fn read_spend(
        &self,
        run_dir: &Path,
        meter: &crate::core::budget::spend::Meter,
        ledger: &mut crate::core::budget::spend::Ledger,
        finished: bool,
    ) {
        spend::read_run_dir(run_dir, meter, ledger, finished);
    }
    /// What a dead tick's start left of run `run_id`'s first turn (a claim
    /// still `dispatching`): its handle when the agent started. By default
    /// the record the command runner's wrapper leaves in the run folder.
    fn start_record(&self, run_id: &str, run_dir: &Path) -> Result<Option<RunnerHandle>> {
        let _ = run_id;
        Ok(start_record(run_dir))
    }
    /// Whether looking at a running agent costs nothing (it is in the run's
    /// folder on this machine, as the command runner keeps it): `watch
    /// --wait-agents` waits only for such agents.
    fn looks_locally(&self) -> bool {
        false
    }
    /// `afk doctor`'s read-only check of the runner: its level (ok, WARN:
    /// something could not be checked, FAIL) and what it found.
    fn check(&self) -> (crate::core::doctor::Level, String);
    /// The state file's instance id (docs/runners.md#kubernetes-a-job-per-turn:
    /// whose Jobs are afk's), given once the tick has opened its store; a
    /// runner that names nothing after it ignores it.
    fn bind_instance(&self, instance: &str) {
        let _ = instance;
    }
}

/// The runner the config names.
pub fn from_config(cfg: &Config) -> Result<Box<dyn Runner>> {
    Ok(match cfg.runner.kind {
        crate::config::RunnerKind::Http => Box::new(http::HttpRunner::new(cfg)?),
        crate::config::RunnerKind::Command => Box::new(command::CommandRunner::new(cfg)),
        crate::config::RunnerKind::Kubernetes => Box::new(kubernetes::KubernetesRunner::new(cfg)?),
    })
}

/// The grace period between SIGTERM and SIGKILL
/// (docs/runners.md#command-a-local-process).
pub const STOP_GRACE: Duration = Duration::from_secs(10);

#[cfg(test)]
mod turn_tests {
    use super::TurnOf;

    #[test]
    fn a_fixers_folder_name_reads_back_as_its_turn() {
        let fixer = |upgrade, run, tests| {
            Some(TurnOf::Fixer {
                upgrade,
                run,
                tests,
            })
        };
        let table = [
            ("upgrade-3-1", fixer(3, 1, false)),
            ("upgrade-12-2-tests", fixer(12, 2, true)),
            ("7", None),
            ("upgrade-3", None),
            ("upgrade-3-x", None),
            ("upgrade--1", None),
            ("upgrade-+3-1", None),
        ];
        for (name, want) in table {
            assert_eq!(TurnOf::parse_fixer(name), want, "{name}");
            if let Some(t) = want {
                assert_eq!(t.to_string(), name, "round trip");
            }
        }
    }
}
