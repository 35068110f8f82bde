//! One tick as one value ([`Tick`]), and how each of its edges is built,
//! real or dry (ARCHITECTURE: adapters are traits, built in one place). Only
//! the `Session` (`session.rs`) calls in here; a tick command asks it for its
//! `Tick` once and runs the same code whether the edges are real or dry:
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
//! | clock    | `clock::now()`, once (`Tick::now`; its end `Tick::end`) | the same                              |
//! | after    | tick health, metrics, heartbeat, page, issue ([`monitor`]) | the status issue's edit recorded  |
//! | files    | written (`init`, `man --dir`)               | named, not written ([`files`])                    |
//!
//! A dry run's report says what it would have written ([`Tick::writes`]),
//! in the words its [`Tense`] picks.

mod caches;
pub mod dry;
mod files;
pub mod forges;
mod monitor;
pub mod on_demand;

pub use crate::tense::Tense;
pub use caches::{SESSIONS_DIR, prune_sessions};
pub use files::{Files, files};
pub use monitor::Monitor;

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
    dry_run: bool,
    pub forge: on_demand::OnDemand<dyn Forge>,
    pub runner: Box<dyn Runner>,
    recorder: Option<Arc<Recorder>>,
}

/// How a tick may go on after its opening.
pub enum Opening<'s> {
    /// The stop file exists: do nothing and say so.
    Stopped(String),
    /// Another tick of the same kind holds the lock: step aside, exit 0.
    SteppedAside,
    /// There is no state file and the tick only works on what is in it
    /// (watch): nothing to do, and nothing created.
    Empty,
    /// Go on with every edge at hand.
    Open(Box<Tick<'s>>),
}

/// One tick as one value (ARCHITECTURE: "a tick"): the config, the tick's
/// one moment, its tense, and every edge it reads and writes through, the
/// after-tick outputs included (`after`: tick health, metrics, heartbeat,
/// status page and issue). Built once by `Session::open_tick`; every step of
/// a tick takes `&Tick` (plus what it works on). Real or dry is decided
/// here, by which edges it holds; no step asks.
pub struct Tick<'s> {
    cfg: &'s Config,
    paths: &'s StatePaths,
    kind: TickKind,
    tense: Tense,
    /// what the config implies (the forge's profile, the agent, derived
    /// durations), resolved once when the tick opened
    pub settled: crate::config::Settled,
    /// the tick's moment: the wall clock read once, when it opened
    pub now: OffsetDateTime,
    /// when it opened, by the monotonic clock: the end's moment is `now`
    /// plus this one's elapsed time, never a second reading of the wall clock
    opened: std::time::Instant,
    /// built before the tick opened, or on its first use (harvest's):
    /// [`Tick::forge`]
    forge: on_demand::OnDemand<dyn Forge>,
    pub runner: Box<dyn Runner>,
    /// the agents' checkouts (docs/how-it-works.md#the-workspace): real, dry, or
    /// none (`workspace = "agent"`)
    pub workspace: Box<dyn crate::workspace::Checkouts>,
    /// the tick's connection (a dry run's keeps its copy alive), for the
    /// tick's own thread: a worker opens its own ([`Tick::source`])
    store: std::sync::Mutex<Store>,
    /// where the store lives, for the workers' own connections
    source: Source,
    pub journal: Journal,
    notifier: Option<crate::notify::Notifier>,
    recorder: Option<Arc<Recorder>>,
    /// what the world outside is told when the tick ends (`after`)
    monitor: Monitor,
    _lock: Option<TickLock>,
}

/// A lock another kind of tick would take, held (or, in a dry run, only
/// seen to be free) while it lives.
pub struct Held(#[allow(dead_code)] Option<TickLock>);

/// The forge and runner for a tick on `cfg` whose state file is `path`.
pub(crate) fn build(cfg: &Config, path: &Path, dry_run: bool) -> Result<Adapters> {
    let cache = caches::Etags(crate::store::etags::EtagCache::new(path, dry_run));
    let keeper = caches::keeper(path, dry_run);
    let books = caches::books(cfg, path, dry_run);
    let forge = forges::for_tick(cfg, Box::new(cache), keeper, books)?;
    let runner = crate::runner::from_config(cfg)?;
    Ok(Adapters::of(dry_run, forge, runner))
}

/// For a tick that runs no agents and may need no forge (harvest): the
/// forge is built on its first call (`on_demand`), real or dry.
pub(crate) fn build_on_demand(cfg: &Config, path: &Path, dry_run: bool) -> Adapters {
    let (cfg, path) = (cfg.clone(), path.to_path_buf());
    let recorder = dry_run.then(|| Arc::new(Recorder::default()));
    let records = recorder.clone();
    let forge = on_demand::OnDemand::new(Box::new(move || {
        let keeper = caches::keeper(&path, dry_run);
        let books = caches::books(&cfg, &path, dry_run);
        let forge = forges::with_keeper(&cfg, keeper, books)?;
        Ok(match &records {
            Some(r) => Box::new(dry::RecordingForge {
                inner: forge,
                recorder: r.clone(),
            }) as Box<dyn Forge>,
            None => forge,
        })
    }));
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
    let books = caches::books(cfg, path, dry_run);
    let forge = forges::with_keeper(cfg, keeper, books)?;
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
                forge: on_demand::OnDemand::ready(forge),
                runner,
                recorder: None,
            };
        }
        let recorder = Arc::new(Recorder::default());
        Adapters {
            dry_run,
            forge: on_demand::OnDemand::ready(Box::new(dry::RecordingForge {
                inner: forge,
                recorder: recorder.clone(),
            })),
            runner: Box::new(dry::IdleRunner {
                inner: runner,
                recorder: recorder.clone(),
            }),
            recorder: Some(recorder),
        }
    }

    /// The per-kind lock, then the store (the stop file was looked at
    /// before the adapters were built: `Session::open_tick`). A dry run
    /// creates nothing (no state directory, lock file or state file) and
    /// holds no lock once its copy of the store is taken.
    pub fn open<'s>(
        self,
        cfg: &'s Config,
        paths: &'s StatePaths,
        kind: TickKind,
    ) -> Result<Opening<'s>> {
        let monitor = Monitor::new(cfg, paths, !self.dry_run);
        // the tick's one reading of the wall clock: every row it writes carries it
        let now = crate::clock::now();
        let (store, lock) = if self.dry_run {
            if crate::lock::try_acquire_existing(&paths.dir, kind.as_str())?.held() {
                return Ok(Opening::SteppedAside);
            }
            (Store::copy_in_memory(&paths.file)?, None)
        } else {
            // a lock left by a tick that is gone, or held past twice the
            // deadline, is taken over
            // (docs/operations.md#when-something-goes-wrong)
            let timeout = crate::core::tick_deadline::timeout_for(kind.as_str(), cfg.tick_timeout);
            let term_wait =
                crate::core::tick_deadline::grace(crate::core::tick_deadline::Stop::Term, timeout)
                    + std::time::Duration::from_secs(2);
            // a folder or file it cannot write: one line, before the lock
            crate::store::check_writable(&paths.file)?;
            let taken = crate::lock::take_tick(&paths.dir, kind.as_str(), timeout, term_wait)?;
            let Some(lock) = taken else {
                return Ok(Opening::SteppedAside);
            };
            let store = Store::open(&paths.file)?;
            audit_sink(&paths.file)?;
            (store, Some(lock))
        };
        monitor.started(&store, kind, now);
        // whose Jobs are this tick's: the state file's own id
        // (docs/runners.md#kubernetes-a-job-per-turn)
        self.runner.bind_instance(&store.instance()?);
        let workspace = workspace_of(cfg, paths, kind, &self.recorder);
        Ok(Opening::Open(Box::new(Tick {
            cfg,
            paths,
            kind,
            tense: Tense::of(self.dry_run),
            settled: cfg.settled(),
            workspace,
            journal: Journal::on(cfg, store.source()),
            source: store.source(),
            store: std::sync::Mutex::new(store.at(now)),
            forge: self.forge,
            runner: self.runner,
            now,
            opened: std::time::Instant::now(),
            notifier: (!self.dry_run).then(|| crate::notify::Notifier::new(cfg)),
            recorder: self.recorder,
            monitor,
            _lock: lock,
        })))
    }
}

impl Drop for Tick<'_> {
    /// The journal's sink goes with the tick, and its connection with it,
    /// before the tick's own: the state file's last close is the store's,
    /// which checkpoints it.
    fn drop(&mut self) {
        afk_host::journal::set(None);
    }
}

/// The journal's sink for a command that writes to the forge outside a
/// tick (`afk init --create-labels`): set while the guard lives, into the
/// state file at `file` (made, as a tick's first open makes it).
pub(crate) fn audit_outside_tick(file: &std::path::Path) -> Result<AuditGuard> {
    crate::store::check_writable(file)?;
    drop(Store::open(file)?);
    audit_sink(file)?;
    Ok(AuditGuard(()))
}

/// While it lives, the forge writes of a command outside a tick are
/// journaled; dropped, the sink and its connection go.
pub(crate) struct AuditGuard(());

impl Drop for AuditGuard {
    fn drop(&mut self) {
        afk_host::journal::set(None);
    }
}

/// Every write this tick makes on the forge and every push it makes, into
/// the state file's journal as it happens (docs/audit.md); a dry run sends
/// nothing and sets none.
fn audit_sink(file: &std::path::Path) -> Result<()> {
    let Some(j) = crate::store::journal::JournalFile::open(file)? else {
        return Ok(());
    };
    afk_host::journal::set(Some(Box::new(move |kind, body| {
        let at = crate::clock::ts(crate::clock::now());
        let run = body.get("run").and_then(serde_json::Value::as_i64);
        if let Err(e) = j.append(&at, run, kind, body) {
            crate::log::warn(&format!("journal: {kind} not recorded: {e:#}"));
        }
    })));
    Ok(())
}

/// The agents' checkouts of a tick: none (`workspace = "agent"`), the Job's
/// own containers (Kubernetes, docs/kubernetes.md), afk's (real), or a dry
/// run's.
fn workspace_of(
    cfg: &Config,
    paths: &StatePaths,
    kind: TickKind,
    recorder: &Option<Arc<Recorder>>,
) -> Box<dyn crate::workspace::Checkouts> {
    match (cfg.runner.workspace(), recorder) {
        (crate::types::Workspace::Agent, _) => Box::new(crate::workspace::Agents),
        _ if cfg.runner.kind == crate::config::RunnerKind::Kubernetes => {
            Box::new(crate::workspace::InJob)
        }
        (_, Some(r)) => Box::new(dry::DryWorkspace {
            recorder: r.clone(),
        }),
        (_, None) => Box::new(crate::workspace::Real::new(
            cfg,
            (&paths.git_cache, &paths.dir),
            kind.as_str(),
        )),
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

impl<'s> Tick<'s> {
    /// The config, validated.
    pub fn config(&self) -> &'s Config {
        self.cfg
    }

    /// The state file and what lies beside it.
    pub fn paths(&self) -> &'s StatePaths {
        self.paths
    }

    /// Which tick this is.
    pub fn kind(&self) -> TickKind {
        self.kind
    }

    /// The tick's forge: built before the tick opened (watch, poll,
    /// upgrade), or by this first call (harvest's, whose build may fail:
    /// then every call answers why).
    pub fn forge(&self) -> Result<&dyn Forge> {
        self.forge.get()
    }

    /// The forge requests of the tick so far, all and those that cost rate
    /// limit: none when its forge was never built.
    pub fn forge_requests(&self) -> (usize, usize) {
        self.forge
            .built()
            .map_or((0, 0), |f| (f.requests(), f.costly_requests()))
    }

    /// How the tick tells what it did.
    pub fn tense(&self) -> Tense {
        self.tense
    }

    /// A run's folder: as recorded, else `<runs_dir>/<id>`.
    pub fn run_dir(&self, run: &crate::store::runs::Run) -> PathBuf {
        crate::run_files::run_dir_of(self.paths, run)
    }

    /// The tick's connection to the store. The tick's workers, which run in
    /// parallel, each open their own ([`Tick::source`]) instead.
    pub fn store(&self) -> std::sync::MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Where the store lives: each worker thread opens its own connection.
    pub fn source(&self) -> Source {
        self.source.clone()
    }

    /// The outbox's events sent (a dry run sends none).
    pub fn notify(&self) -> crate::notify::Delivery {
        match &self.notifier {
            Some(n) => n.flush(&self.store()),
            None => crate::notify::Delivery::default(),
        }
    }

    /// Another kind of tick's lock, when no such tick is running.
    pub fn lock_if_free(&self, kind: TickKind) -> Option<Held> {
        let dir = &self.paths.dir;
        if self.recorder.is_some() {
            let existing = crate::lock::try_acquire_existing(dir, kind.as_str()).ok()?;
            return (!existing.held()).then_some(Held(None));
        }
        crate::lock::try_acquire(dir, kind.as_str())
            .ok()
            .flatten()
            .map(|l| Held(Some(l)))
    }

    /// git in upgrade's work folder; `credentials` to push as afk's account
    /// (None: it only reads); for a dry run one that records its pushes.
    pub fn git(&self, credentials: Option<crate::git::Credentials>) -> Box<dyn crate::git::GitOps> {
        let real = git(self.cfg, self.paths, credentials);
        match &self.recorder {
            Some(r) => Box::new(dry::RecordingGit {
                inner: Box::new(real),
                recorder: r.clone(),
            }),
            None => Box::new(real),
        }
    }

    /// The registry client: the configured mirrors and tag cap, no
    /// credentials (upgrade adds the config's, `with_auth`, when it asks for tags).
    pub fn registry(&self) -> crate::registry::OciRegistry {
        registry(self.cfg)
    }

    /// What a dry run would have written, one line each (none for a real tick).
    pub fn writes(&self) -> Vec<String> {
        self.recorder
            .as_ref()
            .map(|r| r.lines())
            .unwrap_or_default()
    }

    /// The moment the tick ends: its one reading of the wall clock plus the
    /// time since, by the monotonic clock.
    pub fn end(&self) -> OffsetDateTime {
        self.now + self.opened.elapsed()
    }

    /// Tick health: the tick ended with `exit` and `errors` (after-tick
    /// outputs: `monitor.rs`).
    pub fn ended(&self, exit: u8, errors: usize) {
        let store = self.store();
        self.monitor
            .ended(Some(&store), self.kind, self.end(), (exit, errors));
    }

    /// A tick that ran, after its report is out: the metrics file and the
    /// heartbeat, then the status page and issue, from the tick's own store
    /// and forge (after-tick outputs: `monitor.rs`).
    pub fn ran(&self, stats: &crate::metrics::TickStats) {
        let store = self.store();
        let forge = || self.forge();
        self.monitor.ran(Some((&*store, &forge)), stats, self.end());
    }

    /// The tick's monitor, for what happens after it (the deadline's watchdog).
    pub fn monitor(&self) -> &Monitor {
        &self.monitor
    }
}

#[cfg(test)]
#[cfg(test)]
impl<'s> Tick<'s> {
    /// A real tick over `forge` and `runner` (the commands' unit tests), its
    /// store the state file's, its workspace none, no lock.
    pub fn for_tests(
        cfg: &'s Config,
        paths: &'s StatePaths,
        forge: Box<dyn Forge>,
        runner: Box<dyn Runner>,
    ) -> Box<Tick<'s>> {
        let store = Store::open(&paths.file).expect("the test's state file");
        let now = crate::clock::now();
        Box::new(Tick {
            cfg,
            paths,
            kind: TickKind::Watch,
            tense: Tense::Did,
            settled: cfg.settled(),
            now,
            opened: std::time::Instant::now(),
            forge: on_demand::OnDemand::ready(forge),
            runner,
            workspace: Box::new(crate::workspace::Agents),
            source: store.source(),
            journal: Journal::on(cfg, store.source()),
            store: std::sync::Mutex::new(store.at(now)),
            notifier: None,
            recorder: None,
            monitor: Monitor::new(cfg, paths, false),
            _lock: None,
        })
    }
}

/// git in upgrade's work folder of `cfg`, upstreams' `main` read by afk's
/// own client; `credentials` to push as afk's account (None: it only reads).
pub(crate) fn git(
    cfg: &Config,
    paths: &StatePaths,
    credentials: Option<crate::git::Credentials>,
) -> crate::git::Git {
    let mut git = crate::git::Git::new(&paths.recipes, credentials, cfg.secret_env_names());
    git.set_main_reader(crate::upstream_refs::reader(cfg.forge_timeout()));
    git
}

/// The registry client of `cfg`: its mirrors and tag cap, no credentials.
pub(crate) fn registry(cfg: &Config) -> crate::registry::OciRegistry {
    crate::registry::OciRegistry::new(cfg.forge_timeout())
        .with_mirrors(cfg.upgrade.registry_mirrors.clone())
        .with_max_tags(cfg.upgrade.max_tags)
}
