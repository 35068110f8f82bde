//! What the commands' unit tests share: a [`Session`] from config text over a
//! fresh state folder (removed when dropped), its store, and a runner that
//! starts nothing. The forge is `afk_forge_memory::MemoryForge`.

use crate::config::Config;
use crate::runner::{Observed, Runner, RunnerHandle, Turn};
use crate::session::Session;
use crate::store::Store;
use anyhow::Result;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// A context whose state lives in its own temporary folder.
pub struct Scratch {
    pub ctx: Session,
    pub dir: PathBuf,
}

impl Scratch {
    /// `config`: afk.toml text; relative paths are under the folder.
    pub fn new(config: &str) -> Scratch {
        static N: AtomicUsize = AtomicUsize::new(0);
        let n = N.fetch_add(1, Ordering::SeqCst);
        let dir = std::env::temp_dir().join(format!("afk-unit-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let config = Config::parse(config, &dir).unwrap();
        Scratch {
            ctx: Session::new(
                config,
                dir.join("afk.toml"),
                Some(&dir.join("state/afk.db")),
                false,
                false,
            ),
            dir,
        }
    }

    pub fn store(&self) -> Store {
        Store::open(self.ctx.state_path()).unwrap()
    }

    /// A real tick on this folder's state over `forge` and `runner` (clones:
    /// the test reads what they saw through its own), its workspace none.
    pub fn tick(
        &self,
        forge: &afk_forge_memory::MemoryForge,
        runner: &FakeRunner,
    ) -> Box<crate::tick::Tick<'_>> {
        crate::tick::Tick::for_tests(
            self.ctx.config(),
            self.ctx.paths(),
            Box::new(forge.clone()),
            Box::new(runner.clone()),
        )
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A run claimed on `repo#issue` whose agent started (pid 1), as a poll
/// tick leaves it between the start and the in-progress label.
pub fn started_run(store: &Store, repo: &str, issue: u64) -> crate::types::RunId {
    let branch = format!("afk/issue-{issue}");
    let url = format!("https://forge.test/{repo}/issues/{issue}");
    let id = store
        .claim_run(&crate::store::runs::NewRun {
            repo: &crate::types::RepoName::parse(repo).unwrap(),
            issue: crate::types::IssueNumber(issue),
            title: "fix the login",
            url: &url,
            ready_event_id: Some(1),
            armed_at: None,
            template_name: "implementer",
            template_version_id: None,
            template_version: None,
            template_hash: None,
            runner_kind: crate::config::RunnerKind::Command,
            branch: &branch,
        })
        .unwrap();
    let h = RunnerHandle::Process {
        pid: 1,
        start_time: 1,
    };
    store.mark_started(id, "/nonexistent", &h).unwrap();
    id
}

/// A runner that starts nothing: `start` answers a handle, or fails when
/// told to; every started turn's prompt is kept (shared by its clones).
#[derive(Default, Clone)]
pub struct FakeRunner {
    pub fail_start: bool,
    pub started: std::sync::Arc<Mutex<Vec<String>>>,
}

impl Runner for FakeRunner {
    fn start(&self, t: &Turn) -> Result<RunnerHandle> {
        if self.fail_start {
            anyhow::bail!("runner: cannot start (seeded)");
        }
        self.started.lock().unwrap().push(t.prompt.to_string());
        Ok(RunnerHandle::Process {
            pid: 4242,
            start_time: 1,
        })
    }
    fn resume(&self, _: Option<&RunnerHandle>, t: &Turn) -> Result<RunnerHandle> {
        self.start(t)
    }
    fn observe(&self, _: Option<&RunnerHandle>, _: &Path) -> Result<Observed> {
        anyhow::bail!("runner: observe is not faked")
    }
    fn stop(&self, _: &RunnerHandle) {}
    fn check(&self) -> (crate::core::doctor::Level, String) {
        (crate::core::doctor::Level::Ok, "fake".into())
    }
}
