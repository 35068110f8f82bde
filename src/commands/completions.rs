//! `afk completions SHELL` and `afk man [--dir DIR]`: both render the clap
//! definitions of `cli.rs`, so they never drift from the flags.

use crate::cli::{CompletionsArgs, ManArgs, Shell};
use crate::edges::Files;
use anyhow::{Context, Result};
use std::io::Write;
use std::path::Path;

/// Print the completion script for one shell.
pub fn run(a: &CompletionsArgs) -> Result<u8> {
    let shell = match a.shell {
        Shell::Bash => clap_complete::Shell::Bash,
        Shell::Zsh => clap_complete::Shell::Zsh,
        Shell::Fish => clap_complete::Shell::Fish,
    };
    let mut cmd = crate::cli::command();
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut cmd, "afk", &mut script);
    print(&script)
}

/// Print afk(1), or write afk.1 and one afk-COMMAND.1 per command into `--dir`
/// (with `--dry-run`: name the pages it would write, and write nothing).
pub fn man(a: &ManArgs, files: &Files) -> Result<u8> {
    let cmd = crate::cli::command();
    match &a.dir {
        None => {
            let mut cmd = cmd.disable_help_subcommand(true);
            cmd.build();
            print(&super::manpage::render(&cmd)?)
        }
        Some(dir) => {
            files
                .create_dir_all(dir)
                .with_context(|| format!("man: cannot create {}", dir.display()))?;
            let mut written = vec![];
            // built, so subcommands carry their page names (afk-lessons-list)
            let mut cmd = cmd.disable_help_subcommand(true);
            cmd.build();
            write_pages(cmd, dir, files, &mut written)?;
            let verb = files.tense().pick("", "would write ");
            let list: String = written
                .iter()
                .map(|p| format!("{verb}{}\n", p.display()))
                .collect();
            print(list.as_bytes())
        }
    }
}

/// Pages for `cmd` and every visible command under it (a dry run's only named).
fn write_pages(
    cmd: clap::Command,
    dir: &Path,
    files: &Files,
    written: &mut Vec<std::path::PathBuf>,
) -> Result<()> {
    for sc in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        write_pages(sc.clone(), dir, files, written)?;
    }
    let path = dir.join(clap_mangen::Man::new(cmd.clone()).get_filename());
    files
        .write(&path, &super::manpage::render(&cmd)?)
        .with_context(|| format!("man: cannot write {}", path.display()))?;
    written.push(path);
    Ok(())
}

/// Write to stdout; a reader that went away early is not an error (exit 0).
fn print(bytes: &[u8]) -> Result<u8> {
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(e).context("cannot write to stdout")
        }
        _ => Ok(0),
    }
}
