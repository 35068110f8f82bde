//! One file per subcommand; each only wires the core to the adapters.

pub mod budget;
pub mod completions;
pub mod demo;
pub mod doctor;
mod fixer_runs;
pub mod harvest;
pub mod init;
pub mod lessons;
pub mod manpage;
pub mod poll;
pub mod runs;
pub mod sandbox;
pub mod status;
pub mod template;
pub mod tick;
pub mod upgrade;
pub mod watch;

#[cfg(test)]
mod testing;

use crate::cli::{Cli, Cmd};
use crate::config::{self, Config};
use anyhow::Result;
use std::path::PathBuf;

/// What every command gets: the parsed config and the global flags.
pub struct Ctx {
    pub config: Config,
    pub config_path: PathBuf,
    pub state_flag: Option<PathBuf>,
    pub dry_run: bool,
    pub json: bool,
}

impl Ctx {
    pub fn state_path(&self) -> PathBuf {
        self.config.state_path(self.state_flag.as_deref())
    }
    pub fn state_dir(&self) -> PathBuf {
        self.config.state_dir(self.state_flag.as_deref())
    }
    pub fn stop_file(&self) -> PathBuf {
        self.config.stop_file(self.state_flag.as_deref())
    }
    pub fn runs_dir(&self) -> PathBuf {
        self.config.runs_dir(self.state_flag.as_deref())
    }
    /// The store and notifier of a command outside a tick, real or dry (`edges`).
    pub fn local(&self) -> Result<crate::edges::Local> {
        crate::edges::local(&self.config, self.state_flag.as_deref(), self.dry_run)
    }
}

fn load(cli: &Cli) -> Result<Ctx> {
    let path = cli
        .config
        .clone()
        .unwrap_or_else(config::default_config_path);
    // searched for (no --config, no $AFK_CONFIG) and not there: say where afk looked
    let searched =
        cli.config.is_none() && std::env::var_os("AFK_CONFIG").is_none_or(|v| v.is_empty());
    if searched && !path.exists() {
        return Err(config::not_found(&path));
    }
    let config = Config::load(&path)?;
    Ok(Ctx {
        config,
        config_path: path,
        state_flag: cli.state.clone(),
        dry_run: cli.dry_run,
        json: cli.json,
    })
}

pub fn run(cli: Cli) -> Result<u8> {
    match &cli.command {
        Cmd::Init(a) => init::run(&cli, a),
        Cmd::Sandbox(a) => sandbox::run(a),
        Cmd::Demo(a) => demo::run(cli.json, a),
        Cmd::Completions(a) => {
            crate::process::operator_umask();
            completions::run(a)
        }
        Cmd::Man(a) => {
            crate::process::operator_umask();
            completions::man(a, &crate::edges::files(cli.dry_run))
        }
        Cmd::Watch => watch::run(&load(&cli)?),
        Cmd::Harvest => harvest::run(&load(&cli)?),
        Cmd::Upgrade(a) => upgrade::run(&cli, a),
        Cmd::Status(a) => status::run(&load(&cli)?, a),
        Cmd::Runs(a) => runs::run(&load(&cli)?, a),
        Cmd::Poll => poll::run(&load(&cli)?),
        Cmd::Doctor(a) => doctor::run(&load(&cli)?, a),
        Cmd::Template(t) => template::run(&load(&cli)?, t),
        Cmd::Lessons(l) => lessons::run(&load(&cli)?, l),
        Cmd::Version => Err(crate::command_error::UsageError(
            "`afk version` is not a command: use `afk --version`".into(),
        )
        .into()),
    }
}
