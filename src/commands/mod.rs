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

/// A usage error found after parsing (exit 2).
#[derive(Debug)]
pub struct UsageError(pub String);
impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for UsageError {}

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
        Cmd::Version => {
            Err(UsageError("`afk version` is not a command: use `afk --version`".into()).into())
        }
    }
}

pub use tick::ErrorItem;

/// A finished tick in a form every caller can hold: the report as JSON, the
/// human text, the exit code (the demo and the benchmark collect these).
pub struct Done {
    pub report: serde_json::Value,
    pub human: String,
    pub code: u8,
}

/// An error as one line for people: the outermost message with its causes.
pub fn error_line(e: &anyhow::Error) -> String {
    let mut parts: Vec<String> = vec![];
    for c in e.chain() {
        let s = c.to_string().replace('\n', " ");
        if !parts.iter().any(|p| p.contains(&s)) {
            parts.push(s);
        }
    }
    parts.join(": ")
}

/// The exit code of a command that failed: 2 for a usage or configuration
/// error, else 1.
pub fn exit_code_of(e: &anyhow::Error) -> u8 {
    if e.is::<crate::config::ConfigError>() || e.is::<UsageError>() {
        2
    } else {
        1
    }
}

/// Print a report: the JSON document with `--json`, else the human text. A
/// stdout that cannot be written ends the command (see `stdout_failed`).
pub fn emit<T: serde::Serialize>(json: bool, report: &T, human: &str) {
    if let Err(e) = try_emit(json, report, human) {
        stdout_failed(e)
    }
}

/// Print a report, and say whether stdout took it (a full disk, a closed pipe).
pub fn try_emit<T: serde::Serialize>(json: bool, report: &T, human: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    if json {
        let doc = serde_json::to_string_pretty(report).unwrap_or_default();
        writeln!(out, "{doc}")?;
    } else {
        // agent and forge text is in it: nothing a terminal would act on
        out.write_all(crate::core::sanitize::for_terminal(human).as_bytes())?;
    }
    out.flush()
}

/// A closed pipe (`afk status | head -1`) is not an error: end quietly by
/// SIGPIPE, 141 in a shell, as cargo and coreutils do.
pub fn is_closed_pipe(e: &std::io::Error) -> bool {
    e.kind() == std::io::ErrorKind::BrokenPipe
}

/// Die of SIGPIPE (the default disposition restored first: afk ignores it
/// while it works, see main.rs).
pub fn die_of_sigpipe() -> ! {
    // SAFETY: restoring a default disposition and raising a signal are
    // async-signal-safe; nothing runs after the process ends.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        libc::raise(libc::SIGPIPE);
    }
    std::process::exit(141)
}

/// The error line of a stdout that cannot be written.
pub fn stdout_error(e: &std::io::Error) -> String {
    format!("cannot write the report to stdout: {e}")
}

/// stdout could not be written after the command did its work: a closed
/// pipe ends quietly by SIGPIPE; anything else (a full disk) is one error line
/// and exit 1.
pub fn stdout_failed(e: std::io::Error) -> ! {
    if is_closed_pipe(&e) {
        die_of_sigpipe()
    }
    crate::log::error(&stdout_error(&e));
    std::process::exit(1)
}

/// A plain text table: columns padded to their widest cell.
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut w: Vec<usize> = headers.iter().map(|h| h.len()).collect();
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            w[i] = w[i].max(c.chars().count());
        }
    }
    let line = |cells: Vec<String>| {
        cells
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{c:<width$}", width = w[i]))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_string()
            + "\n"
    };
    let mut s = line(headers.iter().map(|h| h.to_string()).collect());
    for r in rows {
        s.push_str(&line(r.clone()));
    }
    s
}

/// A permission lookup's answer (`Ok(None)`: none was needed; `Err`:
/// refused) as the trust rule ranks it.
pub(crate) fn access_of(
    p: &Result<Option<crate::types::Permission>, ()>,
) -> Result<Option<crate::types::Access>, ()> {
    p.as_ref()
        .map(|p| p.as_ref().map(crate::types::Permission::access))
        .map_err(|_| ())
}
