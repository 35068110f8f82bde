//! [`Git`]: the real `git` over afk's clones in a work folder, and how it is
//! built (the upgrade's git, with the mirror's credentials; the workspace's
//! hardened git). What it does is in the rooms beside: `run.rs`, `fetch.rs`,
//! `commit.rs`, `push.rs`.

use crate::credential::Credentials;
use std::path::{Path, PathBuf};

pub struct Git {
    pub(crate) work_dir: PathBuf,
    pub(crate) creds: Option<Credentials>,
    /// environment variables git must not inherit (the config's secrets)
    pub(crate) strip_env: Vec<String>,
    /// the workspace's git (docs/how-it-works.md#the-workspace): an empty
    /// environment but `PATH`, no system or global config, no hooks, no
    /// fsmonitor (see [`Git::hardened`])
    pub(crate) hardened: bool,
    /// how an `https://` upstream's `main` is read without a process (the
    /// binary's: afk's own client over the ref advertisement); None: asked
    /// with `git ls-remote`
    pub(crate) main_reader: Option<MainReader>,
}

/// Reads an `https://` upstream's `main` (None: it did not say).
pub type MainReader = std::sync::Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

impl Git {
    /// Clones live in `work_dir` (created when first needed). `creds` are
    /// used only for calls to the mirror, never for upstream.
    pub fn new(work_dir: &Path, creds: Option<Credentials>, strip_env: Vec<String>) -> Git {
        Git {
            work_dir: work_dir.to_path_buf(),
            creds,
            strip_env,
            hardened: false,
            main_reader: None,
        }
    }

    /// Read `https://` upstreams' `main` with `r` instead of `git ls-remote`.
    pub fn set_main_reader(&mut self, r: MainReader) {
        self.main_reader = Some(r);
    }

    /// The workspace's git
    /// (docs/security.md#the-workspace-the-agent-holds-no-forge-credential),
    /// which reads repositories an agent wrote: it starts from an empty
    /// environment (only `PATH`; `HOME` an empty folder of afk's), reads no
    /// system or global config (`GIT_CONFIG_NOSYSTEM`,
    /// `GIT_CONFIG_GLOBAL=/dev/null`), and every call switches off hooks,
    /// fsmonitor, credential helpers and redirects on the command line, which
    /// wins over any repository's config. It only ever runs in afk's own
    /// repositories; an agent's is read as a fetch source.
    pub fn hardened(work_dir: &Path, creds: Option<Credentials>) -> Git {
        Git {
            work_dir: work_dir.to_path_buf(),
            creds,
            strip_env: vec![],
            hardened: true,
            main_reader: None,
        }
    }

    pub fn work_dir(&self) -> &Path {
        &self.work_dir
    }
}
