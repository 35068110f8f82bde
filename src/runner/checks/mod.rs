//! `afk doctor`'s checks of the runner the config names, beside its
//! `Runner::check`: the paths of the commands it runs on this host, where
//! the agents' checkouts are made, the agent's confinement and its model
//! gateway, whether the money limits can see what it spends, and the
//! folders its turns write. Each runner kind answers for itself (the command
//! runner: the box and this host; Kubernetes: the cluster's pod), so doctor
//! composes its lines without knowing the kind or the workspace mode. Built
//! from the config alone: a runner that cannot be built is still checked.

mod agent_box;
mod kubernetes;
mod local;

use crate::config::Config;
use crate::core::doctor::Level;
use std::path::{Path, PathBuf};

/// Where a runner's doctor lines go: `afk doctor`'s report, which prints
/// each as it is added.
pub trait Report {
    fn add(&mut self, check: &str, level: Level, text: String);
}

/// What the agent's box probe needs beside the config: afk's state file (a
/// probe in the box must not read it), the config's path (an env file
/// beside it) and the env files the afk units name (`EnvironmentFile=`).
pub struct Probe<'a> {
    pub state_path: &'a Path,
    pub config_path: &'a Path,
    pub unit_env: &'a [PathBuf],
}

/// What `afk doctor` asks of the runner; by default a runner has nothing to
/// say.
pub trait Checks {
    /// Every path-like word of the commands it runs on this host: there, and
    /// executable when it is the program.
    fn paths(&self, r: &mut dyn Report) {
        let _ = r;
    }
    /// Where the agents' checkouts are made when afk does the git around a
    /// turn (docs/how-it-works.md#the-workspace); `git_cache`: afk's cache
    /// folder on this host.
    fn workspace(&self, git_cache: &Path, r: &mut dyn Report) {
        let _ = (git_cache, r);
    }
    /// The agent's confinement (docs/runners.md#the-agents-box) and its model
    /// gateway (docs/runners.md#the-model-gateway-runnermodel).
    fn confinement(&self, probe: &Probe, r: &mut dyn Report) {
        let _ = (probe, r);
    }
    /// Whether the agent's command is known to report no spend (a claude
    /// without a JSON result), so the money limits would never act.
    fn reports_no_spend(&self) -> bool {
        false
    }
    /// The change gate in force for the turns it forwards
    /// (docs/security.md#the-change-gate); by default afk forwards nothing.
    fn gate(&self, r: &mut dyn Report) {
        r.add(
            "gate",
            Level::Ok,
            "no change gate in force: afk pushes nothing of the agent's (the agent does its own git)".into(),
        );
    }
    /// Whether a turn's end starts its run's watch (docs/hook.md#a-turns-end);
    /// by default no process of afk's sees a turn end: cron's watch follows.
    fn turn_end(&self, r: &mut dyn Report) {
        r.add(
            "events",
            Level::Ok,
            "a turn's end waits for cron's watch: no process of afk's sees it end with this runner"
                .into(),
        );
    }
    /// Whether afk's model gateway meters every model request of its turns
    /// (the run's spend is afk's measure, not the agent's word).
    fn metered_by_gateway(&self) -> bool {
        false
    }
    /// Whether the agent's account holds a forge token during its turns
    /// (its program does its own git: `workspace = "agent"`), so it could
    /// edit a trusted person's comment (docs/reviews.md#commands); by
    /// default it does.
    fn agent_holds_forge_token(&self) -> bool {
        true
    }
    /// `(what, folder)` for each place on this host its turns write in,
    /// beside the tick's own (systemd's check of a unit's sandbox).
    fn writes(&self) -> Vec<(String, String)> {
        vec![]
    }
}

/// The checks of the runner `cfg` names.
pub fn of(cfg: &Config) -> Box<dyn Checks + '_> {
    use crate::config::RunnerKind;
    match cfg.runner.kind {
        RunnerKind::Command => Box::new(local::Local(cfg)),
        RunnerKind::Kubernetes => Box::new(kubernetes::Cluster(cfg)),
        RunnerKind::Http => Box::new(Threads),
    }
}

/// The agent-thread runner: its service does the git around a turn
/// (`workspace` is always the agent's) and confines its agent itself, so
/// doctor has nothing to ask of it here beyond its `Runner::check`.
struct Threads;

impl Checks for Threads {}

/// The change gate's line for `cfg`'s policy.
fn gate_line(cfg: &Config) -> String {
    let g = &cfg.gate;
    let policy = g.policy();
    let limit = |n: u64, what: String| if n == 0 { "no limit".to_string() } else { what };
    format!(
        "the change gate: protected {}, and every hidden path but the plain-content files {} (names compatibility- and case-folded, a segment's trailing dots and spaces ignored){}; max_files {}, max_bytes {}; dependency_sources {}; advisories: {}",
        policy.in_force().join(", "),
        crate::core::gate::PLAIN_HIDDEN.join(", "),
        if g.allow.is_empty() {
            String::new()
        } else {
            format!("; allow {}", g.allow.join(", "))
        },
        limit(g.max_files, g.max_files.to_string()),
        limit(g.max_bytes, format!("{} bytes", g.max_bytes)),
        match policy.any_source {
            true => "any (a manifest's git, archive, path or replacement source passes)",
            false => "registry (a manifest's git, archive, path or replacement source refuses)",
        },
        match cfg.advisories_dir() {
            Some(d) => d.display().to_string(),
            None => "none (gate.advisories is empty: dependencies are listed, not checked)".into(),
        }
    )
}

/// doctor's `advisories` line: the folder's records per ecosystem and how
/// old its newest is (`core::gate::osv::doctor_line`); a file that is not a
/// record FAILs, naming it.
fn advisories(cfg: &Config, r: &mut dyn Report) {
    let Some(dir) = cfg.advisories_dir() else {
        return;
    };
    let shown = dir.display().to_string();
    match crate::advisories::read(&dir) {
        Ok(ix) => {
            let (level, text) =
                crate::core::gate::osv::doctor_line(&ix, &shown, crate::clock::now());
            r.add("advisories", level, text);
        }
        Err(why) => r.add(
            "advisories",
            crate::core::doctor::Level::Fail,
            format!("gate.advisories {shown}: {why}"),
        ),
    }
}

/// Whether afk does the git around a turn (`workspace = "afk"`).
fn afk_checkouts(cfg: &Config) -> bool {
    cfg.runner.workspace() == crate::types::Workspace::Afk
}

/// Whether this process can create a file in `dir`, tried as the state
/// folder's check tries it: a file of doctor's own made (exclusively, never
/// through a link) and removed at once. The same test for every folder
/// doctor checks, so the checks agree (access(2) answers for root by
/// permission bits alone).
pub fn writable(dir: &Path) -> bool {
    use std::os::unix::fs::OpenOptionsExt;
    if !dir.is_dir() {
        return false;
    }
    let probe = dir.join(format!(".afk-doctor-{}.probe", std::process::id()));
    let made = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(&probe);
    match made {
        Ok(_) => std::fs::remove_file(&probe).is_ok(),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The check each line a runner's checks add is under.
    #[derive(Default)]
    struct Lines(Vec<String>);

    impl Report for Lines {
        fn add(&mut self, check: &str, _: Level, _: String) {
            self.0.push(check.to_string());
        }
    }

    /// Every line `runner` adds (an unconfined command runner: no box is
    /// made), whether it reports no spend, and what it writes.
    fn asked(runner: &str) -> (Vec<String>, bool, Vec<(String, String)>) {
        let dir = std::env::temp_dir().join(format!("afk-checks-{}", std::process::id()));
        let cfg = Config::parse(&format!("[runner]\n{runner}"), &dir).unwrap();
        let checks = of(&cfg);
        let mut lines = Lines::default();
        checks.paths(&mut lines);
        checks.workspace(&std::env::temp_dir(), &mut lines);
        let probe = Probe {
            state_path: &dir.join("afk.db"),
            config_path: &dir.join("afk.toml"),
            unit_env: &[],
        };
        checks.confinement(&probe, &mut lines);
        (lines.0, checks.reports_no_spend(), checks.writes())
    }

    #[test]
    fn each_runner_kind_answers_for_its_own_doctor_checks() {
        let none = |s: &[&str]| s.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let kube = "kind = \"kubernetes\"\n";
        let local = "confine = \"none\"\ncommand = [\"/bin/sh\", \"-c\", \"true\"]\n";
        let table = [
            // the agent-thread service: its own git, its own confinement
            ("kind = \"http\"\nurl = \"http://x\"\n", none(&[])),
            // Kubernetes: the Job's git containers, the pod's gateway
            (
                &format!("{kube}[runner.kubernetes]\nimage = \"x\"\ngit_secret = \"g\"\n"),
                none(&["workspace", "gateway"]),
            ),
            (
                &format!("{kube}workspace = \"agent\"\n[runner.kubernetes]\nimage = \"x\"\n"),
                none(&["gateway"]),
            ),
            // the command runner: this host's checkouts, the agent unconfined
            (local, none(&["workspace", "workspace", "box", "gateway"])),
            (
                &format!("{local}workspace = \"agent\"\n"),
                none(&["box", "gateway"]),
            ),
        ];
        for (runner, want) in table {
            assert_eq!(asked(runner).0, want, "{runner}");
        }
    }

    #[test]
    fn only_the_command_runner_reads_its_commands_spend_and_writes_its_workdir() {
        let claude = "command = [\"claude\", \"-p\"]\nworkdir = \"/srv/afk/work\"\n";
        let (_, blind, writes) = asked(&format!("confine = \"none\"\n{claude}"));
        assert!(blind, "a claude without a JSON result reports no spend");
        assert_eq!(
            writes,
            [("runner.workdir".to_string(), "/srv/afk/work".to_string())]
        );
        // a workdir set for a Job is a config error (it would not be used);
        // the default one is not among a Job's writes
        let (_, blind, writes) = asked(
            "kind = \"kubernetes\"\nworkspace = \"agent\"\ncommand = [\"claude\", \"-p\"]\n[runner.kubernetes]\nimage = \"x\"\n",
        );
        assert!(!blind);
        assert!(writes.is_empty());
    }
}
