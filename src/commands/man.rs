//! `afk man [--dir DIR]`: afk(1) printed, or one page per command written
//! (`manpage` renders them from the clap definitions of `cli.rs`).

use crate::edges::Files;
use crate::session::{Outcome, Session};
use anyhow::{Context, Result};
use std::path::{Path, PathBuf};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Write afk.1 and one afk-COMMAND.1 per command into DIR instead of printing afk.1
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

/// Print afk(1), or write afk.1 and one afk-COMMAND.1 per command into `--dir`
/// (with `--dry-run`: name the pages it would write, and write nothing).
pub fn run(s: &Session, a: &Args) -> Result<Outcome> {
    crate::process::operator_umask();
    let files = s.files();
    let cmd = s.app();
    // every page's VERSION section: the whole command's `--version` text
    let version = cmd.get_long_version().unwrap_or_default().to_string();
    match &a.dir {
        None => {
            let mut cmd = cmd.disable_help_subcommand(true);
            cmd.build();
            crate::output::print_bytes(&crate::manpage::render(&cmd, &version)?)
        }
        Some(dir) => {
            files
                .create_dir_all(dir)
                .with_context(|| format!("man: cannot create {}", dir.display()))?;
            let mut written = vec![];
            // built, so subcommands carry their page names (afk-lessons-list)
            let mut cmd = cmd.disable_help_subcommand(true);
            cmd.build();
            write_pages(cmd, dir, (&files, &version), &mut written)?;
            let verb = files.tense().pick("", "would write ");
            let list: String = written
                .iter()
                .map(|p| format!("{verb}{}\n", p.display()))
                .collect();
            crate::output::print_bytes(list.as_bytes())
        }
    }
}

/// Pages for `cmd` and every visible command under it (a dry run's only named).
fn write_pages(
    cmd: clap::Command,
    dir: &Path,
    (files, version): (&Files, &str),
    written: &mut Vec<std::path::PathBuf>,
) -> Result<()> {
    for sc in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        write_pages(sc.clone(), dir, (files, version), written)?;
    }
    let path = dir.join(clap_mangen::Man::new(cmd.clone()).get_filename());
    files
        .write(&path, &crate::manpage::render(&cmd, version)?)
        .with_context(|| format!("man: cannot write {}", path.display()))?;
    written.push(path);
    Ok(())
}
