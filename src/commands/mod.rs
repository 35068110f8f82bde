//! One file per subcommand; each only wires the core to the adapters, with
//! its clap `Args` beside its `run(&Session, &Args) -> Result<Outcome>`.
//! This file only dispatches.

pub mod completions;
pub mod demo;
pub mod doctor;
pub mod harvest;
pub mod init;
pub mod lessons;
pub mod man;
pub mod poll;
pub mod runs;
pub mod sandbox;
pub mod status;
pub mod template;
pub mod upgrade;
pub mod watch;

#[cfg(test)]
mod testing;

use crate::cli::{Cli, Cmd};
use crate::session::{Outcome, Session};
use anyhow::Result;

/// Run the parsed command line: one session, then the command's own
/// `run(&Session, &Args)`.
pub fn run(cli: Cli) -> Result<Outcome> {
    let s = Session::from_cli(&cli);
    match &cli.command {
        Cmd::Poll(a) => poll::run(&s, a),
        Cmd::Watch(a) => watch::run(&s, a),
        Cmd::Harvest(a) => harvest::run(&s, a),
        Cmd::Upgrade(a) => upgrade::run(&s, a),
        Cmd::Lessons(a) => lessons::run(&s, a),
        Cmd::Template(a) => template::run(&s, a),
        Cmd::Status(a) => status::run(&s, a),
        Cmd::Runs(a) => runs::run(&s, a),
        Cmd::Doctor(a) => doctor::run(&s, a),
        Cmd::Init(a) => init::run(&s, a),
        Cmd::Sandbox(a) => sandbox::run(&s, a),
        Cmd::Demo(a) => demo::run(&s, a),
        Cmd::Completions(a) => completions::run(&s, a),
        Cmd::Man(a) => man::run(&s, a),
        Cmd::Version => Err(crate::command_error::UsageError(
            "`afk version` is not a command: use `afk --version`".into(),
        )
        .into()),
    }
}
