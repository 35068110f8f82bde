//! The one wiring of a command: built once from the parsed command line and
//! the config, handed to every command, which asks it for everything it
//! reads and writes through. No command builds an adapter or opens the
//! store itself (`layers/adapters.rs` checks it): a dry run is decided here, once, by
//! which adapters the session hands out (the table in `edges`).
//!
//! | asks for                 | gets                                                              |
//! |--------------------------|-------------------------------------------------------------------|
//! | `load()`, `config()`     | the config, loaded once when the command is ready for it          |
//! | `paths()`                | the state file and what lies beside it, `--state` resolved once   |
//! | `open_tick(kind)`        | the one `Tick`: stop file → adapters → lock → store, every edge   |
//! | `monitor()`              | the after-tick outputs, for a tick that could not open            |
//! | `read_store()`           | the state file read-only (a missing one reads as empty)           |
//! | `existing_store()`       | the state file read-only, or None when there is none (doctor)     |
//! | `local()`                | the state file to change outside a tick, and the notifier         |
//! | `forge()`                | the forge outside a tick (`init`, `upgrade verdict`, doctor)      |
//! | `runner()`, `registry()`, `git()` | the adapters doctor checks                              |
//! | `files()`                | the files a command writes outside the state folder               |
//! | `tense()`                | the words a report tells what it did in                           |
//! | `app()`                  | the whole command line's definition (completions, man pages)      |

use crate::config::{self, Config, StatePaths};
use crate::edges::{self, Files, Local, Opening, Tense};
use crate::forge::Forge;
use crate::store::Store;
use crate::types::TickKind;
use anyhow::Result;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// What a command ends with: its exit code (docs/exit-codes.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub struct Outcome(u8);

impl Outcome {
    /// Exit 0.
    pub const OK: Outcome = Outcome(0);

    /// The documented exit code `code` (`exit_status`).
    pub fn code(code: u8) -> Outcome {
        Outcome(code)
    }

    /// The process's exit code.
    pub fn exit_code(self) -> u8 {
        self.0
    }
}

/// The config and where it came from, with the state's paths.
struct Loaded {
    config: Config,
    path: PathBuf,
    paths: StatePaths,
}

/// Everything a command is given: the private config, the state's paths
/// resolved once, `--dry-run` and `--json`; and the adapters on request.
pub struct Session {
    /// loaded once, when the command asks ([`Session::load`])
    loaded: OnceLock<Loaded>,
    /// `--config` or `$AFK_CONFIG`, when given
    config_flag: Option<PathBuf>,
    /// `--state`, when given
    state_flag: Option<PathBuf>,
    dry_run: bool,
    json: bool,
    /// the whole command line's definition (`afk completions`, `afk man`)
    app: fn() -> clap::Command,
}

/// The command line of a session made in code (the demo, the benchmark,
/// tests), which renders no completions or man pages.
fn bare_app() -> clap::Command {
    clap::Command::new("afk")
}

impl Session {
    /// The session of a parsed command line: its global flags (`--config`,
    /// `--state`, `--dry-run`, `--json`) and its definition. Nothing is read
    /// yet: a command that reads the config loads it when it is ready to
    /// ([`Session::load`]), after checking its own arguments.
    pub fn from_flags(
        config: Option<PathBuf>,
        state: Option<PathBuf>,
        dry_run: bool,
        json: bool,
        app: fn() -> clap::Command,
    ) -> Session {
        Session {
            loaded: OnceLock::new(),
            config_flag: config,
            state_flag: state,
            dry_run,
            json,
            app,
        }
    }

    /// A session on a config already in hand (the demo, the benchmark, tests).
    pub fn new(
        config: Config,
        config_path: PathBuf,
        state: Option<&Path>,
        dry_run: bool,
        json: bool,
    ) -> Session {
        let s = Session {
            loaded: OnceLock::new(),
            config_flag: Some(config_path.clone()),
            state_flag: state.map(Path::to_path_buf),
            dry_run,
            json,
            app: bare_app,
        };
        let _ = s.loaded.set(Loaded {
            paths: config.paths(state),
            config,
            path: config_path,
        });
        s
    }

    /// A session on the config file at `path`, loaded now (`init
    /// --create-labels`, the demo's acts, the benchmark).
    pub fn on_file(path: &Path, dry_run: bool, json: bool) -> Result<Session> {
        let config = Config::load(path)?;
        Ok(Session::new(
            config,
            path.to_path_buf(),
            None,
            dry_run,
            json,
        ))
    }

    /// Load the config (once; later calls return it): `--config`, else
    /// `$AFK_CONFIG`, else the XDG default, which must then exist. Every
    /// command that reads the config calls this first.
    pub fn load(&self) -> Result<&Config> {
        if let Some(l) = self.loaded.get() {
            return Ok(&l.config);
        }
        let path = self.config_path();
        // searched for (no --config, no $AFK_CONFIG) and not there: say where afk looked
        let searched = self.config_flag.is_none()
            && std::env::var_os("AFK_CONFIG").is_none_or(|v| v.is_empty());
        if searched && !path.exists() {
            return Err(config::not_found(&path));
        }
        let mut config = Config::load(&path)?;
        let paths = config.paths(self.state_flag.as_deref());
        // nothing afk writes from here on carries one of its secrets: each
        // is registered as it is read (a `Secret`)
        let _registered = config.secret_values();
        config.loaded_as = Some((path.clone(), paths.clone()));
        // telemetry on: this process's exporter, nothing sent yet
        crate::spans::start(config.telemetry.as_ref(), self.dry_run);
        Ok(&self
            .loaded
            .get_or_init(|| Loaded {
                config,
                paths,
                path,
            })
            .config)
    }

    fn loaded(&self) -> &Loaded {
        // a command that reads the config loads it before anything else
        // (`load`); one that does not (`init`, `sandbox`, `demo`,
        // `completions`, `man`) never asks for it
        self.loaded
            .get()
            .expect("a command loads its config before it reads it (Session::load)")
    }

    /// The config, validated (after [`Session::load`]).
    pub fn config(&self) -> &Config {
        &self.loaded().config
    }

    /// Where the config is: `--config`, else `$AFK_CONFIG`, else the XDG default.
    pub fn config_path(&self) -> PathBuf {
        match self.loaded.get() {
            Some(l) => l.path.clone(),
            None => self
                .config_flag
                .clone()
                .unwrap_or_else(config::default_config_path),
        }
    }

    /// `--config` as given (`init` writes `afk.toml` without it).
    pub fn config_flag(&self) -> Option<&Path> {
        self.config_flag.as_deref()
    }

    /// Whether this is a dry run. Commands ask for `tense()` and their
    /// adapters instead; this is for the reports' `dry_run` field.
    pub fn dry_run(&self) -> bool {
        self.dry_run
    }

    /// Whether the report is printed as JSON.
    pub fn json(&self) -> bool {
        self.json
    }

    /// How the command's report tells what it did.
    pub fn tense(&self) -> Tense {
        Tense::of(self.dry_run)
    }

    /// The state's paths, resolved once.
    pub fn paths(&self) -> &StatePaths {
        &self.loaded().paths
    }

    /// The state file, when the config was loaded (None: the command
    /// never read it).
    pub fn state_file(&self) -> Option<PathBuf> {
        self.loaded.get().map(|l| l.paths.file.clone())
    }

    /// The state file.
    pub fn state_path(&self) -> &Path {
        &self.paths().file
    }

    /// The state file's folder.
    pub fn state_dir(&self) -> &Path {
        &self.paths().dir
    }

    /// The kill switch.
    pub fn stop_file(&self) -> &Path {
        &self.paths().stop
    }

    /// One folder per run.
    pub fn runs_dir(&self) -> &Path {
        &self.paths().runs
    }

    /// A tick's opening, as one [`Tick`](crate::edges::Tick): the stop
    /// file (before anything else: the kill switch is zero I/O), the
    /// adapters (building them is where a configuration mistake shows: poll
    /// and watch get a runner and a forge with conditional requests; harvest
    /// a forge built on its first call and no runner; upgrade a forge
    /// without conditional requests and a runner built when a fixer first
    /// needs one), then the lock and the store, real or dry (`edges`).
    pub fn open_tick(&self, kind: TickKind) -> Result<Opening<'_>> {
        let paths = self.paths();
        if paths.stop.exists() {
            let why = format!("stop file {} exists", paths.stop.display());
            return Ok(Opening::Stopped(why));
        }
        let (cfg, file) = (self.config(), &paths.file);
        let adapters = match kind {
            TickKind::Poll | TickKind::Watch => edges::build(cfg, file, self.dry_run)?,
            TickKind::Harvest => edges::build_on_demand(cfg, file, self.dry_run),
            TickKind::Upgrade => edges::build_upgrade(cfg, file, self.dry_run)?,
        };
        // nothing was ever dispatched: nothing to watch, and nothing to
        // create. A state folder or file this user cannot read or write is
        // not "nothing" (#82: a timer run as the wrong user): watch says the
        // writing ticks' one line (`Adapters::open` checks again), a dry
        // run, which only reads, the readers' line
        if kind == TickKind::Watch {
            if !self.dry_run {
                crate::store::check_writable(file)?;
            }
            if !crate::store::check_readable(file)? {
                return Ok(Opening::Empty);
            }
        }
        adapters.open(cfg, paths, kind)
    }

    /// What a tick tells the world outside itself (heartbeat, tick health,
    /// metrics, status page and issue), for the tick runner before a tick
    /// opens and after one that could not: real, or for a dry run nothing.
    pub fn monitor(&self) -> edges::Monitor {
        edges::Monitor::new(self.config(), self.paths(), !self.dry_run)
    }

    /// The state file read-only: a missing one reads as empty and is never
    /// created, an older one is read through a migrated copy.
    pub fn read_store(&self) -> Result<Store> {
        Store::read(self.state_path())
    }

    /// The state file read-only; None when there is none (doctor, the
    /// journal's check before writing).
    pub fn existing_store(&self) -> Result<Option<Store>> {
        Store::read_existing(self.state_path())
    }

    /// The state file to change outside a tick (`lessons`, `template`,
    /// `status --unfreeze`), and the notifier; for a dry run a copy in
    /// memory and a notifier that sends nothing.
    pub fn local(&self) -> Result<Local> {
        edges::local(self.config(), self.state_path(), self.dry_run)
    }

    /// The forge outside a tick: real, or for a dry run one that records
    /// its writes.
    pub fn forge(&self) -> Result<Box<dyn Forge>> {
        edges::forge(self.config(), self.dry_run)
    }

    /// The tracker of `[tracker]` outside a tick (its issue numbers in
    /// memory): None without `[tracker]` or without its token.
    pub fn tracker(&self) -> Result<Option<Box<dyn crate::forge::tracker::Tracker>>> {
        edges::forges::tracker(self.config(), None)
    }

    /// The configured runner, as a tick would build it (doctor checks it).
    pub fn runner(&self) -> Result<Box<dyn crate::runner::Runner>> {
        crate::runner::from_config(self.config())
    }

    /// `afk doctor`'s checks of the configured runner, beside its
    /// `Runner::check`: what it runs on this host, where the checkouts are
    /// made, the agent's confinement (built even when the runner cannot be).
    pub fn runner_checks(&self) -> Box<dyn crate::runner::checks::Checks + '_> {
        crate::runner::checks::of(self.config())
    }

    /// The registry client: the configured mirrors and tag cap, no
    /// credentials (doctor's `/v2/` check needs none).
    pub fn registry(&self) -> crate::registry::OciRegistry {
        edges::registry(self.config())
    }

    /// git in upgrade's work folder, reading only (doctor).
    pub fn git(&self) -> crate::git::Git {
        edges::git(self.config(), self.paths(), None)
    }

    /// The whole command line's definition, every command and flag with its
    /// help (`afk completions` and `afk man` render it).
    pub fn app(&self) -> clap::Command {
        (self.app)()
    }

    /// The files a command writes outside the state folder.
    pub fn files(&self) -> Files {
        edges::files(self.dry_run)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_loads_its_config_once_and_resolves_the_state_from_the_flag() {
        let dir = std::env::temp_dir().join(format!("afk-session-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let cfg = dir.join("afk.toml");
        std::fs::write(&cfg, "state_path = \"s/afk.db\"\nruns_dir = \"r\"\n").unwrap();
        let state = dir.join("elsewhere/x.db");
        let s = Session::from_flags(
            Some(cfg.clone()),
            Some(state.clone()),
            true,
            false,
            bare_app,
        );
        let first: *const Config = s.load().unwrap();
        let again: *const Config = s.load().unwrap();
        assert_eq!(first, again, "loaded once");
        assert_eq!(s.state_path(), state, "--state wins over state_path");
        assert_eq!(s.stop_file(), dir.join("elsewhere/STOP"));
        let canon = std::fs::canonicalize(&dir).unwrap();
        assert_eq!(
            s.runs_dir(),
            canon.join("r"),
            "a runs_dir set in the file wins"
        );
        assert_eq!(s.tense(), Tense::Would);
        assert_eq!(s.config_path(), cfg);
        // a config named but missing: the load's error, never a panic
        let s = Session::from_flags(Some(dir.join("none.toml")), None, false, false, bare_app);
        assert!(s.load().is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
