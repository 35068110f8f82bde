//! `afk completions SHELL`: the script rendered from the clap definitions,
//! so it never drifts from the flags.

use crate::session::{Outcome, Session};
use anyhow::Result;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The shell to print a completion script for
    #[arg(value_enum)]
    pub shell: Shell,
}

/// Shells `afk completions` writes for.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
}

/// Print the completion script for one shell.
pub fn run(s: &Session, a: &Args) -> Result<Outcome> {
    crate::process::operator_umask();
    let shell = match a.shell {
        Shell::Bash => clap_complete::Shell::Bash,
        Shell::Zsh => clap_complete::Shell::Zsh,
        Shell::Fish => clap_complete::Shell::Fish,
    };
    let mut cmd = s.app();
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut cmd, "afk", &mut script);
    crate::output::print_bytes(&script)
}
