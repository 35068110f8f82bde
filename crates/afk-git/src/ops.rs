//! [`GitOps`]: what afk does with git, as an edge: the real [`Git`] here, a
//! dry run's in the binary's edges.

use crate::fetch::{Checkout, Look, LookAt};
use crate::git::Git;
use crate::push::Lease;
use afk_core::upgrade::commit::TreeChange;
use anyhow::{Context, Result};
use std::path::Path;

/// What afk does with git, as an edge (`edges`): the real [`Git`], or a dry
/// run's, which clones and fetches afk's own work folder as the real one does
/// (reads) and records its pushes, fixer folders and clones instead of
/// making them.
pub trait GitOps: Send + Sync {
    /// See [`Git::upstream`].
    fn upstream(&self, recipe: &str, url: &str) -> Result<Checkout>;
    /// See [`Git::commit`].
    fn commit(
        &self,
        dir: &Path,
        parent: &str,
        files: &[(String, Vec<u8>)],
        message: &str,
    ) -> Result<String>;
    /// See [`Git::changes`].
    fn changes(&self, dir: &Path, parent: &str, sha: &str) -> Result<Vec<TreeChange>>;
    /// See [`Git::push`].
    fn push(&self, dir: &Path, url: &str, sha: &str, branch: &str, lease: &Lease) -> Result<()>;
    /// See [`Git::look`].
    fn look(&self, at: &LookAt) -> Result<Look>;
    /// See [`Git::clone_branch`].
    fn clone_branch(&self, url: &str, branch: &str, dest: &Path) -> Result<()>;
    /// See [`Git::new_branch`].
    fn new_branch(&self, dir: &Path, name: &str) -> Result<()>;
    /// A fixer's folder, emptied (a start that failed before left it) and
    /// made: its run files and the clone it works in go inside.
    fn fresh_folder(&self, dir: &Path) -> Result<()>;
}

impl GitOps for Git {
    fn upstream(&self, recipe: &str, url: &str) -> Result<Checkout> {
        Git::upstream(self, recipe, url)
    }
    fn commit(
        &self,
        dir: &Path,
        parent: &str,
        files: &[(String, Vec<u8>)],
        message: &str,
    ) -> Result<String> {
        Git::commit(self, dir, parent, files, message)
    }
    fn changes(&self, dir: &Path, parent: &str, sha: &str) -> Result<Vec<TreeChange>> {
        Git::changes(self, dir, parent, sha)
    }
    fn push(&self, dir: &Path, url: &str, sha: &str, branch: &str, lease: &Lease) -> Result<()> {
        Git::push(self, dir, url, sha, branch, lease)
    }
    fn clone_branch(&self, url: &str, branch: &str, dest: &Path) -> Result<()> {
        Git::clone_branch(self, url, branch, dest)
    }
    fn look(&self, at: &LookAt) -> Result<Look> {
        Git::look(self, at)
    }
    fn new_branch(&self, dir: &Path, name: &str) -> Result<()> {
        Git::new_branch(self, dir, name)
    }
    fn fresh_folder(&self, dir: &Path) -> Result<()> {
        let _ = std::fs::remove_dir_all(dir);
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))
    }
}
