//! The command runner's doctor checks: its agent runs on this host, so its
//! commands' paths, afk's checkouts here, the agent's box (`agent_box.rs`),
//! what its command reports of spend and the workdir its turns write.

use super::{Checks, Probe, Report};
use crate::config::Config;
use crate::core::doctor::{self, Level};
use crate::runner::command::{Invokes, invoked_program};
use std::path::Path;

/// The command runner of a config.
pub(super) struct Local<'a>(pub(super) &'a Config);

impl Checks for Local<'_> {
    fn agent_holds_forge_token(&self) -> bool {
        !super::afk_checkouts(self.0)
    }
    fn paths(&self, r: &mut dyn Report) {
        paths(self.0, r);
    }

    fn workspace(&self, git_cache: &Path, r: &mut dyn Report) {
        if !super::afk_checkouts(self.0) {
            return;
        }
        checkouts_here(git_cache, r);
        own_user(self.0, r);
    }

    fn confinement(&self, probe: &Probe, r: &mut dyn Report) {
        super::agent_box::agent_box(self.0, probe, r);
    }

    fn gate(&self, r: &mut dyn Report) {
        if !super::afk_checkouts(self.0) {
            return super::Threads.gate(r);
        }
        r.add("gate", Level::Ok, super::gate_line(self.0));
        super::advisories(self.0, r);
    }

    fn turn_end(&self, r: &mut dyn Report) {
        let text = match crate::runner::turn_end::enabled() {
            true => {
                "a turn's end starts its run's watch (the turn's keeper, after its exit record): the push and the PR follow within about a second"
            }
            false => {
                "a turn's end starts no watch (AFK_TURN_END_WATCH=off in afk's environment): cron's watch follows it"
            }
        };
        r.add("events", Level::Ok, text.into());
    }

    fn metered_by_gateway(&self) -> bool {
        self.0.runner.confine() == crate::core::agent_box::Confine::Box
            && matches!(
                crate::runner::agent_box::Boxer::new(self.0).gateway(),
                crate::runner::agent_box::GatewaySetup::On(_)
            )
    }

    fn reports_no_spend(&self) -> bool {
        use crate::core::budget::spend::claude_reports_spend;
        let c = self.0;
        [&c.runner.command[..], &c.runner.resume_command[..]]
            .iter()
            .any(|argv| {
                matches!(invoked_program(argv), Some(Invokes::Program(p))
                    if claude_reports_spend(&p, argv) == Some(false))
            })
    }

    fn writes(&self) -> Vec<(String, String)> {
        let workdir = &self.0.runner.workdir;
        if workdir.starts_with('/') && !workdir.contains('{') {
            vec![("runner.workdir".into(), workdir.clone())]
        } else {
            vec![]
        }
    }
}

/// Every path-like word of the local runner's commands: there, and
/// executable when it is the program.
fn paths(c: &Config, r: &mut dyn Report) {
    use std::os::unix::fs::PermissionsExt;
    let mut seen = std::collections::HashSet::new();
    // a named agent's line as afk runs it: its extra arguments are arguments
    let agent = c.runner.agent();
    let command = crate::core::agent::argv(agent, &c.runner.command, None, None);
    let resume = crate::core::agent::argv(agent, &c.runner.resume_command, None, None);
    // the runner's own check already says whether this program is there
    let checked = match invoked_program(&command) {
        Some(Invokes::Program(p)) => Some(p),
        _ => None,
    };
    for argv in [&command, &resume] {
        for (path, used) in doctor::command_paths(argv) {
            if !seen.insert(path.clone()) {
                continue;
            }
            let missing = !Path::new(&path).exists();
            if missing && used == doctor::PathUse::Program && checked.as_deref() == Some(&path) {
                continue;
            }
            let meta = std::fs::metadata(&path).ok();
            let is_dir = meta.as_ref().is_some_and(|m| m.is_dir());
            let executable = meta.is_some_and(|m| m.permissions().mode() & 0o111 != 0);
            let exists = Path::new(&path).exists();
            if let Some((level, text)) =
                doctor::command_path(&path, used, exists, is_dir, executable)
            {
                r.add("runner", level, text);
            }
        }
    }
}

/// afk makes the checkouts on this host: its git cache must be writable (or
/// creatable), and git on PATH.
fn checkouts_here(cache: &Path, r: &mut dyn Report) {
    let existing = cache.ancestors().find(|p| p.exists());
    let ok = existing.is_some_and(|p| p.is_dir() && super::writable(p));
    r.add(
        "workspace",
        Level::of(ok),
        if ok {
            format!("git cache {} is writable", cache.display())
        } else {
            format!(
                "git cache {} cannot be written by afk's user: set runner.git_cache to a folder it owns",
                cache.display()
            )
        },
    );
    let git = std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|d| d.join("git").is_file()));
    r.add(
        "workspace",
        Level::of(git),
        if git {
            "git found (afk makes the checkouts and pushes with it)".into()
        } else {
            "git not found on PATH: afk makes the agents' checkouts with it (apt-get install git)"
                .into()
        },
    );
}

/// A warning when the agent runs as afk's own user while afk's token is in a
/// file (the agent can read it).
fn own_user(c: &Config, r: &mut dyn Report) {
    let switches_user = c.runner.command.first().is_some_and(|p| {
        let base = p.rsplit('/').next().unwrap_or(p);
        matches!(
            base,
            "sudo" | "runuser" | "su" | "doas" | "setpriv" | "systemd-run"
        )
    }) && c.runner.agent() == crate::types::AgentKind::Custom;
    if let Some(file) = &c.forge.token_file
        && c.runner.confine() == crate::core::agent_box::Confine::None
        && !switches_user
    {
        r.add(
            "workspace",
            Level::Warn,
            format!(
                "the agent runs as afk's own user, so it can read {} (the forge token) and the state file: run agents as another user or in a container (docs/security.md#the-workspace)",
                file.display()
            ),
        );
    }
}
