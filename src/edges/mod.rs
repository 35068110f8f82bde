//! How each adapter is built, real or dry (ARCHITECTURE: adapters are
//! traits, built in one place). Only the `Session` (`session.rs`) calls in
//! here; a command asks the session for its edges once and runs the same
//! code whether they are real or dry:
//!
//! | edge     | real                                        | dry (`--dry-run`)                                 |
//! |----------|---------------------------------------------|---------------------------------------------------|
//! | forge    | `forges::for_tick` (the state file's ETags) | reads pass through, writes recorded ([`dry`])     |
//! | runner   | `runner::from_config`                       | observes; starts, resumes and stops nothing       |
//! | store    | the state file, under the tick's lock       | a copy in memory; the file is only read           |
//! | journal  | lessons in the state file                   | lessons in the copy                               |
//! | notifier | the outbox sent                             | nothing sent                                      |
//! | git      | `git::Git` (upgrade)                        | clones, fetches afk's work folder; pushes recorded |
//! | lock     | held for the tick                           | looked at (another tick's: step aside), not held  |
//! | clock    | `clock::now()`, once                        | the same                                          |
//! | files    | written (`init`, `man --dir`)               | named, not written ([`files`])                    |
//!
//! A dry run's report says what it would have written ([`Edges::writes`]),
//! in the words its [`Tense`] picks.

mod caches;
pub mod dry;
mod files;
pub mod forges;
pub mod on_demand;
mod tense;

pub use files::{Files, files};
pub use tense::{Tense, Told};

use crate::config::{Config, StatePaths};
use crate::forge::Forge;
use crate::lessons::Journal;
use crate::lock::TickLock;
use crate::runner::Runner;
use crate::store::{Source, Store};
use crate::types::TickKind;
use anyhow::Result;
pub use dry::Recorder;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use time::OffsetDateTime;

/// The forge of a command outside a tick (`init --create-labels`, `upgrade
/// verdict`): `forges::from_config`, or for a dry run one that records its
/// writes ([`dry`]).
pub(crate) fn forge(cfg: &Config, dry_run: bool) -> Result<Box<dyn Forge>> {
    let forge = forges::from_config(cfg)?;
    Ok(match dry_run {
        false => forge,
        true => Box::new(dry::RecordingForge {
            inner: forge,
            recorder: Arc::default(),
        }),
    })
}

/// A tick's forge and runner, built before it opens anything (building them
/// is where a configuration mistake shows).
pub struct Adapters {
    pub dry_run: bool,
    pub forge: Box<dyn Forge>,
    pub runner: Box<dyn Runner>,
    recorder: Option<Arc<Recorder>>,
}

/// How a tick may go on after its opening.
pub enum Opening {
    /// The stop file exists: do nothing and say so.
    Stopped(String),
    /// Another tick of the same kind holds the lock: step aside, exit 0.
    SteppedAside,
    /// Go on with every edge at hand.
    Open(Box<Edges>),
}

/// Everything a tick reads and writes through.
pub struct Edges {
    pub dry_run: bool,
    pub forge: Box<dyn Forge>,
    pub runner: Box<dyn Runner>,
    /// the agents' checkouts (SPEC 5.0): real, dry, or none (`workspace = "agent"`)
    pub workspace: Box<dyn crate::workspace::Checkouts>,
    /// the tick's connection (a dry run's keeps its copy alive)
    pub store: Store,
    pub journal: Journal,
    /// the tick's moment, read once
    pub now: OffsetDateTime,
    notifier: Option<crate::notify::Notifier>,
    recorder: Option<Arc<Recorder>>,
    state_dir: PathBuf,
    _lock: Option<TickLock>,
}

/// A lock another kind of tick would take, held (or, in a dry run, only
/// seen to be free) while it lives.
pub struct Held(#[allow(dead_code)] Option<TickLock>);

/// The forge and runner for a tick on `cfg` whose state file is `path`.
pub(crate) fn build(cfg: &Config, path: &Path, dry_run: bool) -> Result<Adapters> {
    let cache = caches::Etags(crate::store::etags::EtagCache::new(path, dry_run));
    let keeper = caches::keeper(path, dry_run);
    let forge = forges::for_tick(cfg, Box::new(cache), keeper)?;
    let runner = crate::runner::from_config(cfg)?;
    Ok(Adapters::of(dry_run, forge, runner))
}

/// The forge the status issue is kept through after a tick (SPEC 10.1): its
/// one GET conditional on the ETag the state file keeps, on either forge;
/// for a dry run its edit is recorded, not sent, and no ETag is stored.
pub(crate) fn status_issue_forge(
    cfg: &Config,
    path: &Path,
    dry_run: bool,
) -> Result<Box<dyn Forge>> {
    let cache = caches::Etags(crate::store::etags::EtagCache::new(path, dry_run));
    let keeper = caches::keeper(path, dry_run);
    let forge = forges::for_status_issue(cfg, Box::new(cache), keeper)?;
    Ok(match dry_run {
        false => forge,
        true => Box::new(dry::RecordingForge {
            inner: forge,
            recorder: Arc::default(),
        }),
    })
}

/// For a tick that runs no agents and may need no forge (harvest): the
/// forge is built on its first call (`on_demand`), real or dry.
pub(crate) fn build_on_demand(cfg: &Config, path: &Path, dry_run: bool) -> Adapters {
    let (cfg, path) = (cfg.clone(), path.to_path_buf());
    let forge = on_demand::OnDemandForge::new(Box::new(move || {
        let keeper = caches::keeper(&path, dry_run);
        forges::with_keeper(&cfg, keeper)
    }));
    let recorder = dry_run.then(|| Arc::new(Recorder::default()));
    let forge: Box<dyn Forge> = match &recorder {
        Some(r) => Box::new(dry::RecordingForge {
            inner: Box::new(forge),
            recorder: r.clone(),
        }),
        None => Box::new(forge),
    };
    Adapters {
        dry_run,
        forge,
        runner: Box::new(on_demand::NoAgents),
        recorder,
    }
}

/// For an upgrade tick: the forge without conditional requests (as today's
/// upgrade reads), the runner built when a fixer first needs it; real or dry.
pub(crate) fn build_upgrade(cfg: &Config, path: &Path, dry_run: bool) -> Result<Adapters> {
    let keeper = caches::keeper(path, dry_run);
    let forge = forges::with_keeper(cfg, keeper)?;
    let c = cfg.clone();
    let runner = on_demand::OnDemandRunner::new(Box::new(move || crate::runner::from_config(&c)));
    Ok(Adapters::of(dry_run, forge, Box::new(runner)))
}

impl Adapters {
    /// The forge and runner as they are, or wrapped for a dry run.
    fn of(dry_run: bool, forge: Box<dyn Forge>, runner: Box<dyn Runner>) -> Adapters {
        if !dry_run {
            return Adapters {
                dry_run,
                forge,
                runner,
                recorder: None,
            };
        }
        let recorder = Arc::new(Recorder::default());
        Adapters {
            dry_run,
            forge: Box::new(dry::RecordingForge {
                inner: forge,
                recorder: recorder.clone(),
            }),
            runner: Box::new(dry::IdleRunner {
                inner: runner,
                recorder: recorder.clone(),
            }),
            recorder: Some(recorder),
        }
    }

    /// Stop file, then the per-kind lock, then the store. A dry run creates
    /// nothing (no state directory, lock file or state file) and holds no
    /// lock once its copy of the store is taken.
    pub fn open(self, cfg: &Config, paths: &StatePaths, kind: TickKind) -> Result<Opening> {
        if paths.stop.exists() {
            let why = format!("stop file {} exists", paths.stop.display());
            return Ok(Opening::Stopped(why));
        }
        let (state_dir, path) = (paths.dir.clone(), &paths.file);
        let (store, lock) = if self.dry_run {
            if crate::lock::try_acquire_existing(&state_dir, kind.as_str())?.held() {
                return Ok(Opening::SteppedAside);
            }
            (Store::copy_in_memory(path)?, None)
        } else {
            // a lock left by a tick that is gone, or held past twice the
            // deadline, is taken over (SPEC 10.1)
            let timeout = crate::deadline::timeout_for(kind, cfg);
            let term_wait =
                crate::core::tick_deadline::grace(crate::core::tick_deadline::Stop::Term, timeout)
                    + std::time::Duration::from_secs(2);
            let taken = crate::lock::take_tick(&state_dir, kind.as_str(), timeout, term_wait)?;
            let Some(lock) = taken else {
                return Ok(Opening::SteppedAside);
            };
            let store = Store::open(path)?;
            // tick health (SPEC 10.1): when this kind last started; a state
            // file that cannot take it now (locked, read-only) is the tick's
            // own steps' to report, never this record's
            if let Err(e) =
                store.tick_started(kind.as_str(), &crate::deadline::stamp(crate::clock::now()))
            {
                crate::log::debug(&format!(
                    "{}: tick health not recorded: {e:#}",
                    kind.as_str()
                ));
            }
            // the work starts now: a monitor times the tick from here
            crate::metrics::heartbeat(cfg, kind, crate::metrics::Ping::Start);
            (store, Some(lock))
        };
        // whose Jobs are this tick's: the state file's own id (SPEC 5.4)
        self.runner.bind_instance(&store.instance()?);
        // the tick's one reading of the clock: every row it writes carries it
        let now = crate::clock::now();
        let workspace: Box<dyn crate::workspace::Checkouts> =
            match (cfg.runner.workspace(), &self.recorder) {
                (crate::types::Workspace::Agent, _) => Box::new(crate::workspace::Agents),
                // the Job's own containers make the checkout and forward (SPEC 5.0.8)
                _ if cfg.runner.kind == crate::config::RunnerKind::Kubernetes => {
                    Box::new(crate::workspace::InJob)
                }
                (_, Some(r)) => Box::new(dry::DryWorkspace {
                    recorder: r.clone(),
                }),
                (_, None) => Box::new(crate::workspace::Real::new(
                    cfg,
                    &paths.git_cache,
                    kind.as_str(),
                )),
            };
        Ok(Opening::Open(Box::new(Edges {
            dry_run: self.dry_run,
            workspace,
            journal: Journal::on(cfg, store.source()),
            store: store.at(now),
            forge: self.forge,
            runner: self.runner,
            now,
            notifier: (!self.dry_run).then(|| crate::notify::Notifier::new(cfg)),
            recorder: self.recorder,
            state_dir,
            _lock: lock,
        })))
    }
}

/// The edges of a command that changes the store outside a tick (`lessons`,
/// `template`): the state file and the notifier, or for a dry run a copy of
/// the store in memory and a notifier that sends nothing.
pub struct Local {
    pub store: Store,
    notifier: Option<crate::notify::Notifier>,
    tense: Tense,
}

pub(crate) fn local(cfg: &Config, path: &Path, dry_run: bool) -> Result<Local> {
    Ok(Local {
        store: match dry_run {
            true => Store::copy_in_memory(path)?,
            false => Store::open(path)?,
        },
        notifier: (!dry_run).then(|| crate::notify::Notifier::new(cfg)),
        tense: Tense::of(dry_run),
    })
}

impl Local {
    /// How the command tells what it changed.
    pub fn tense(&self) -> Tense {
        self.tense
    }

    /// The outbox's events sent (a dry run sends none).
    pub fn notify(&self) -> crate::notify::Delivery {
        match &self.notifier {
            Some(n) => n.flush(&self.store),
            None => crate::notify::Delivery::default(),
        }
    }
}

impl Edges {
    /// How the tick tells what it did.
    pub fn tense(&self) -> Tense {
        Tense::of(self.dry_run)
    }

    /// Where the store lives: each worker thread opens its own connection.
    pub fn source(&self) -> Source {
        self.store.source()
    }

    /// The outbox's events sent (a dry run sends none).
    pub fn notify(&self) -> crate::notify::Delivery {
        match &self.notifier {
            Some(n) => n.flush(&self.store),
            None => crate::notify::Delivery::default(),
        }
    }

    /// Another kind of tick's lock, when no such tick is running.
    pub fn lock_if_free(&self, kind: TickKind) -> Option<Held> {
        if self.dry_run {
            let existing =
                crate::lock::try_acquire_existing(&self.state_dir, kind.as_str()).ok()?;
            return (!existing.held()).then_some(Held(None));
        }
        crate::lock::try_acquire(&self.state_dir, kind.as_str())
            .ok()
            .flatten()
            .map(|l| Held(Some(l)))
    }

    /// The tick's git (upgrade's, which needs afk's login for its
    /// credentials): `real`, or for a dry run one that records its pushes.
    pub fn git(&self, real: crate::git::Git) -> Box<dyn crate::git::GitOps> {
        match &self.recorder {
            Some(r) => Box::new(dry::RecordingGit {
                inner: Box::new(real),
                recorder: r.clone(),
            }),
            None => Box::new(real),
        }
    }

    /// What a dry run would have written, one line each (none for a real tick).
    pub fn writes(&self) -> Vec<String> {
        self.recorder
            .as_ref()
            .map(|r| r.lines())
            .unwrap_or_default()
    }
}
