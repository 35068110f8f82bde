//! Edges built on first use. A tick holds its forge as an [`OnDemand`] and
//! hands it out as `Result<&dyn Forge>` (`Tick::forge`): harvest's is built
//! on its first call (only when a merged success is watched for reverts), so
//! a tick that needs none is never failed by a forge it could not build, and
//! a call after a failed build answers that error; every other tick's is
//! built before it opens. `OnDemandRunner` is the same for a runner
//! (upgrade's fixers), a `Runner` itself since the tick's steps call it as one.

use crate::runner::{Observed, Runner, RunnerHandle, Turn};
use crate::types::Invalid;
use anyhow::{Result, anyhow, bail};
use std::path::Path;
use std::sync::OnceLock;

type Build<T> = Box<dyn Fn() -> Result<Box<T>> + Send + Sync>;

/// An edge built on its first use (harvest's forge), or already built (every
/// other tick's): what it hands out is the edge, or why it could not be built,
/// the same answer to every call.
pub struct OnDemand<T: ?Sized> {
    build: Option<Build<T>>,
    built: OnceLock<Result<Box<T>, Invalid>>,
}

impl<T: ?Sized> OnDemand<T> {
    /// Built by `build` on the first [`get`](OnDemand::get).
    pub fn new(build: Build<T>) -> OnDemand<T> {
        OnDemand {
            build: Some(build),
            built: OnceLock::new(),
        }
    }

    /// Built already.
    pub fn ready(built: Box<T>) -> OnDemand<T> {
        OnDemand {
            build: None,
            built: OnceLock::from(Ok(built)),
        }
    }

    /// The edge when it was built; None when nothing asked for it yet (or
    /// its build failed).
    pub fn built(&self) -> Option<&T> {
        match self.built.get() {
            Some(Ok(b)) => Some(b.as_ref()),
            _ => None,
        }
    }

    /// The edge, built now when nothing asked for it before.
    pub fn get(&self) -> Result<&T> {
        let built = self.built.get_or_init(|| match &self.build {
            Some(build) => build().map_err(|e| Invalid(format!("{e:#}"))),
            None => Err("nothing to build".into()),
        });
        match built {
            Ok(b) => Ok(b.as_ref()),
            Err(e) => Err(anyhow!("{e}")),
        }
    }
}

/// The runner of a tick that runs no agents.
pub struct NoAgents;

impl Runner for NoAgents {
    fn start(&self, _t: &Turn) -> Result<RunnerHandle> {
        bail!("this tick starts no agents")
    }
    fn resume(&self, _handle: Option<&RunnerHandle>, _t: &Turn) -> Result<RunnerHandle> {
        bail!("this tick starts no agents")
    }
    fn observe(&self, _handle: Option<&RunnerHandle>, _run_dir: &Path) -> Result<Observed> {
        bail!("this tick observes no agents")
    }
    fn stop(&self, _handle: &RunnerHandle) {}
    fn check(&self) -> (crate::core::doctor::Level, String) {
        (
            crate::core::doctor::Level::Ok,
            "no agents in this tick".into(),
        )
    }
}

/// A runner built on first use (upgrade: only a fixer needs one, so a tick
/// that starts none is never failed by a runner it could not build).
pub struct OnDemandRunner {
    build: Box<dyn Fn() -> Result<Box<dyn Runner>> + Send + Sync>,
    built: OnceLock<Result<Box<dyn Runner>, Invalid>>,
    /// the instance id bound before the runner was built, handed on at build
    instance: OnceLock<String>,
}

impl OnDemandRunner {
    pub fn new(build: Box<dyn Fn() -> Result<Box<dyn Runner>> + Send + Sync>) -> OnDemandRunner {
        OnDemandRunner {
            build,
            built: OnceLock::new(),
            instance: OnceLock::new(),
        }
    }
    fn get(&self) -> Result<&dyn Runner> {
        let built = self.built.get_or_init(|| {
            let r = (self.build)().map_err(|e| Invalid(format!("{e:#}")))?;
            if let Some(id) = self.instance.get() {
                r.bind_instance(id);
            }
            Ok(r)
        });
        match built {
            Ok(r) => Ok(r.as_ref()),
            Err(e) => Err(anyhow!("{e}")),
        }
    }
}

impl Runner for OnDemandRunner {
    fn start(&self, t: &Turn) -> Result<RunnerHandle> {
        self.get()?.start(t)
    }
    fn resume(&self, handle: Option<&RunnerHandle>, t: &Turn) -> Result<RunnerHandle> {
        self.get()?.resume(handle, t)
    }
    fn prefetch(&self) -> Result<()> {
        self.get()?.prefetch()
    }
    fn settle(&self, handle: Option<&RunnerHandle>, run_dir: &Path) -> Result<()> {
        self.get()?.settle(handle, run_dir)
    }
    fn observe(&self, handle: Option<&RunnerHandle>, run_dir: &Path) -> Result<Observed> {
        self.get()?.observe(handle, run_dir)
    }
    fn forwarded(
        &self,
        handle: Option<&RunnerHandle>,
    ) -> Option<crate::core::kube::workspace::Result> {
        self.get().ok()?.forwarded(handle)
    }
    fn stop(&self, handle: &RunnerHandle) {
        if let Ok(r) = self.get() {
            r.stop(handle)
        }
    }
    fn read_spend(
        &self,
        run_dir: &Path,
        meter: &crate::core::budget::spend::Meter,
        ledger: &mut crate::core::budget::spend::Ledger,
        finished: bool,
    ) {
        if let Ok(r) = self.get() {
            r.read_spend(run_dir, meter, ledger, finished)
        }
    }
    fn start_record(&self, run_id: &str, run_dir: &Path) -> Result<Option<RunnerHandle>> {
        self.get()?.start_record(run_id, run_dir)
    }
    fn check(&self) -> (crate::core::doctor::Level, String) {
        match self.get() {
            Ok(r) => r.check(),
            Err(e) => (crate::core::doctor::Level::Fail, e.to_string()),
        }
    }
    fn bind_instance(&self, instance: &str) {
        let _ = self.instance.set(instance.to_string());
        if let Some(Ok(r)) = self.built.get() {
            r.bind_instance(instance);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::forge::Forge;
    use afk_forge_memory::MemoryForge;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Counting what a forge did builds no forge: a harvest that watches no
    /// revert reads no token and opens no ETag cache, and reports 0 requests.
    #[test]
    fn a_forge_is_built_by_its_first_call_and_never_by_counting() {
        let builds = Arc::new(AtomicUsize::new(0));
        let counted = builds.clone();
        let f: OnDemand<dyn Forge> = OnDemand::new(Box::new(move || {
            counted.fetch_add(1, Ordering::SeqCst);
            Ok(Box::new(MemoryForge::new("afk-bot")) as Box<dyn Forge>)
        }));
        assert!(f.built().is_none());
        assert_eq!(builds.load(Ordering::SeqCst), 0, "counting built it");
        assert_eq!(f.get().unwrap().me().unwrap().login, "afk-bot");
        assert_eq!(builds.load(Ordering::SeqCst), 1);
        assert_eq!(f.built().unwrap().requests(), 1, "the built forge's count");
        f.get().unwrap().me().unwrap();
        assert_eq!(builds.load(Ordering::SeqCst), 1, "built once");
    }

    /// A build that failed is the same error to every call, and built once.
    #[test]
    fn a_failed_build_answers_its_error_to_every_call() {
        let builds = Arc::new(AtomicUsize::new(0));
        let counted = builds.clone();
        let f: OnDemand<dyn Forge> = OnDemand::new(Box::new(move || {
            counted.fetch_add(1, Ordering::SeqCst);
            anyhow::bail!("no token")
        }));
        for _ in 0..2 {
            let e = f.get().err().expect("the build's error");
            assert_eq!(e.to_string(), "no token");
        }
        assert!(f.built().is_none());
        assert_eq!(builds.load(Ordering::SeqCst), 1);
    }
}
