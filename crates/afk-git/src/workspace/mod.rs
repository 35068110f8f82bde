//! The workspace (docs/how-it-works.md#the-workspace): afk makes the agent's
//! checkout, forwards the run's branch to the forge with its own credential and
//! keeps the agent away from every credential.
//!
//! - One **cache** repository per forge repository (`<git_cache>/<owner>/<name>.git`,
//!   bare, afk's alone), refreshed with one `ls-remote` and one fetch with afk's
//!   credential, locked per repository while a tick writes it.
//! - The **checkout** (`workdir`) borrows the cache's objects (`alternates`),
//!   so a run of a large repository costs a fetch and writing its files, never
//!   a clone. Its config names the forge's URL without credentials for fetching
//!   and a local bare repository in the run folder (`push.git`) for pushing,
//!   so the agent's own `git push` works and reaches nothing.
//! - **Forwarding** reads the agent's work as a fetch *source* into the cache
//!   (never running git with the checkout as its repository), commits leftover
//!   changes there with a private index, and pushes only `refs/heads/<branch>`
//!   from the cache with a lease on the head afk last saw.
//!
//! What afk keeps per run lives in the cache as refs under
//! `refs/afk/runs/<run>/`: `start` (where the turn began), `forge` (the
//! branch's head on the forge as afk last saw or pushed it: the lease) and
//! `turn-<T>` (the work decided for turn T, written before its push, so a
//! tick killed mid-push finishes the same push and never makes a second
//! commit).

mod cache;
mod check;
mod checkout;
mod figures;
mod forward;
mod gate;
mod gitlinks;
mod push;
mod reverts;
mod scan;
mod summary;
mod survival;
#[cfg(test)]
mod tests_git;

pub use check::check_repository;
pub use checkout::without_userinfo;
pub use figures::{FiguresDue, FiguresFound};
pub use push::PushRefused;
pub use survival::{SURVIVAL_READ, SurvivalDue};

use crate::credential::Credentials;
use crate::git::Git;
use anyhow::Result;
use std::path::{Path, PathBuf};

/// afk's identity on the commits it makes in the workspace (leftovers, merges).
const IDENT: [(&str, &str); 4] = [
    ("GIT_AUTHOR_NAME", crate::identity::AFK_NAME),
    ("GIT_AUTHOR_EMAIL", crate::identity::AFK_EMAIL),
    ("GIT_COMMITTER_NAME", crate::identity::AFK_NAME),
    ("GIT_COMMITTER_EMAIL", crate::identity::AFK_EMAIL),
];

/// One file of the agent's at most (GitHub refuses larger ones too).
pub const MAX_FILE_BYTES: u64 = 100 << 20;
/// The agent's checkout: what afk reads or commits of it at most.
pub const MAX_TREE_BYTES: u64 = 1 << 30;
/// Files and folders (or refs) of the agent's that afk looks at, at most.
pub const MAX_ENTRIES: u64 = 200_000;
/// Refs an agent's repository may hold before afk refuses to read it.
pub const MAX_REFS: u64 = 20_000;
/// Each git call that reads an agent's repository or work tree ends within
/// this (its process group killed) and the turn is refused `push-refused`:
/// a file that blocks (a FIFO the checks did not see, one made after them)
/// never holds a tick up. Reading a repository within the bounds above
/// (1 GiB of objects) on this machine takes far less. Inside a tick, what is
/// left of the tick's deadline when that is less ([`Workspace::with_tick_end`],
/// `afk_core::tick_deadline::agent_git`).
pub const AGENT_GIT_DEADLINE: std::time::Duration = afk_core::tick_deadline::AGENT_GIT;

/// How afk's git reaches an agent's repository as a fetch source: its
/// `upload-pack` strict, so it serves the folder named and never
/// `<folder>/.git` (or `<folder>.git`) instead, which the agent could plant
/// to lend afk's fetch another repository. When afk runs as root the
/// agent's repository belongs to the box's unprivileged user, which git
/// would call dubious ownership: `upload-pack` is made to serve untrusted
/// repositories (it runs no hook, and its one command setting is read only
/// from protected config), so afk names it safe for that one command.
const STRICT_UPLOAD_PACK: &str = "--upload-pack=git -c safe.directory=* upload-pack --strict";

/// Why afk will not forward a turn's work: said in the escalation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused(pub String);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for Refused {}

/// The gate's advisories folder did not read as one (why), found when a
/// turn that moves a dependency was judged: nothing is forwarded, and the
/// binary says it as a configuration error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdvisoriesUnread(pub String);

impl std::fmt::Display for AdvisoriesUnread {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for AdvisoriesUnread {}

/// What a run's branch holds over its base (`Workspace::summary`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BranchSummary {
    pub base: String,
    /// (short sha, subject), newest first
    pub commits: Vec<(String, String)>,
    pub count: usize,
    pub shortstat: String,
    /// the files of afk's own commits of what turns left uncommitted (at
    /// most `workspace_pr::FILES_SHOWN`), and how many in all
    pub afk_committed: Vec<String>,
    pub afk_committed_total: usize,
    /// the run's dependency changes, as the PR body lists them
    /// (`afk_core::gate::deps::body_lines`)
    pub deps: Vec<String>,
}

/// Which run, where.
#[derive(Debug, Clone, Copy)]
pub struct Place<'a> {
    /// `owner/name` (a validated repository name: safe as two path segments)
    pub repo: &'a str,
    /// the repository's git URL on the forge (`{forge.url}/{repo}.git`)
    pub url: &'a str,
    /// `afk/issue-<N>`
    pub branch: &'a str,
    /// the run id, as text
    pub run: &'a str,
    pub run_dir: &'a Path,
    pub workdir: &'a Path,
}

/// What a checkout was made from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Made {
    /// the forge's default branch (the PR's base)
    pub base: String,
    /// the commit checked out on the branch
    pub head: String,
    /// the branch existed on the forge (a re-armed issue, or a later turn)
    pub existed: bool,
}

/// What forwarding a turn did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Forwarded {
    /// The turn left no new commit and no change: nothing pushed.
    Nothing,
    /// The branch on the forge is now `sha`; `commits` new commits since the
    /// turn's start (a leftover commit of afk's included, `leftover`).
    Pushed {
        sha: String,
        commits: usize,
        leftover: bool,
        /// the forge's default branch when the checkout was made: the PR's base
        base: String,
        /// pushed by this call (false: an earlier tick pushed it)
        fresh: bool,
        /// the branch's head on the forge that this push replaced (None: a
        /// new branch, or not pushed by this call)
        old: Option<String>,
    },
    /// Someone else pushed and the turn's work does not apply on their head:
    /// kept as a bundle in the run folder.
    Conflict { bundle: PathBuf },
    /// afk will not forward this checkout (it is unsafe or too large).
    Refused(String),
    /// The change gate refused the turn (docs/security.md#the-change-gate):
    /// nothing pushed; its commits kept as a bundle in the run folder.
    Gated {
        reasons: Vec<afk_core::gate::Reason>,
        bundle: PathBuf,
    },
}

/// The workspace's git, over the cache folder `root`.
pub struct Workspace {
    root: PathBuf,
    git: Git,
    /// what the caller should say once (a cache made again)
    notes: std::sync::Mutex<Vec<String>>,
    /// `runner.git_author`: the name and address the agent commits as in
    /// its checkout and that author afk's leftover commits (DCO or author
    /// rules); None: afk's defaults
    author: Option<(String, String)>,
    /// each git call on an agent's repository ends within this
    /// ([`AGENT_GIT_DEADLINE`]) ...
    deadline: std::time::Duration,
    /// ... or by the tick's own deadline, when it comes first
    tick_end: Option<std::time::Instant>,
    /// every secret afk holds, in its forms: a turn whose commits hold one
    /// is not pushed (`scan.rs`); afk's git credential is always among them
    secrets: Vec<afk_core::redact::Secrets>,
    /// `runner.leftover_ignore`: more patterns afk never commits for the
    /// agent (`afk_core::workspace_pr::LEFTOVER_IGNORED` beside them)
    leftover_ignore: Vec<String>,
    /// the change gate's policy (`[gate]`); None: no gate (a workspace
    /// that forwards nothing of a run's)
    gate: Option<afk_core::gate::Policy>,
    /// what the gate reads of a turn's path lists and patch at most
    /// (`gate::READ_BYTES`; a test's own smaller bound)
    gate_read: u64,
}

impl Workspace {
    /// `scratch`: a name for this tick kind's private folder under `root`
    /// (secret files of one call, askpass, an empty HOME): ticks of two
    /// kinds may run at once and never share one.
    pub fn new(root: &Path, scratch: &str, creds: Option<Credentials>) -> Workspace {
        let secrets = creds
            .iter()
            .map(|c| afk_core::redact::Secrets::new([c.password.as_str()]))
            .collect();
        Workspace {
            root: root.to_path_buf(),
            git: Git::hardened(&root.join(format!(".afk-{scratch}")), creds),
            notes: Default::default(),
            author: None,
            deadline: AGENT_GIT_DEADLINE,
            tick_end: None,
            secrets,
            leftover_ignore: vec![],
            gate: None,
            gate_read: gate::READ_BYTES,
        }
    }

    /// The change gate's policy every turn this workspace forwards passes.
    pub fn with_gate(mut self, policy: afk_core::gate::Policy) -> Workspace {
        self.gate = Some(policy);
        self
    }

    /// `runner.leftover_ignore`: patterns (`.gitignore`'s) afk never commits
    /// for the agent, beside its default list.
    pub fn with_leftover_ignore(mut self, patterns: Vec<String>) -> Workspace {
        self.leftover_ignore = patterns;
        self
    }

    /// Every other secret afk holds (the process's registered set): a turn
    /// whose commits hold one of them is not pushed either.
    pub fn with_secrets(mut self, held: afk_core::redact::Secrets) -> Workspace {
        self.secrets.push(held);
        self
    }

    /// The moment the tick that uses this workspace reaches its deadline
    /// (None outside a tick): no git on an agent's repository runs past it.
    pub fn with_tick_end(mut self, end: Option<std::time::Instant>) -> Workspace {
        self.tick_end = end;
        self
    }

    /// The deadline of the next git call on an agent's repository:
    /// `afk_core::tick_deadline::agent_git` of what is left of the tick.
    fn agent_git_deadline(&self) -> std::time::Duration {
        let left = self
            .tick_end
            .map(|end| end.saturating_duration_since(std::time::Instant::now()));
        afk_core::tick_deadline::agent_git(left).min(self.deadline)
    }

    /// The commit identity of `runner.git_author` (name, address).
    pub fn with_author(mut self, author: Option<(String, String)>) -> Workspace {
        self.author = author;
        self
    }

    /// What happened that the tick should say once (and forget here).
    pub fn take_notes(&self) -> Vec<String> {
        std::mem::take(&mut *self.notes.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// The cache repository of `repo`.
    pub fn cache_of(&self, repo: &str) -> PathBuf {
        let (owner, name) = repo.split_once('/').unwrap_or(("_", repo));
        self.root.join(owner).join(format!("{name}.git"))
    }

    fn run_ref(p: &Place, what: &str) -> String {
        format!("refs/afk/runs/{}/{what}", p.run)
    }

    fn set_ref(&self, cache: &Path, name: &str, sha: Option<&str>) -> Result<()> {
        match sha {
            Some(s) => self
                .git
                .run(Some(cache), None, &["update-ref", name, s], None)?,
            None => self
                .git
                .run(Some(cache), None, &["update-ref", "-d", name], None)?,
        };
        Ok(())
    }

    fn get_ref(&self, cache: &Path, name: &str) -> Option<String> {
        self.git
            .run(
                Some(cache),
                None,
                &["rev-parse", "-q", "--verify", name],
                None,
            )
            .ok()
            .filter(|s| is_sha(s))
    }

    fn is_ancestor(&self, cache: &Path, a: &str, b: &str) -> bool {
        self.git
            .exit_of(cache, &["merge-base", "--is-ancestor", a, b], &[])
            .is_ok_and(|c| c == 0)
    }
}

fn is_sha(s: &str) -> bool {
    (s.len() == 40 || s.len() == 64) && s.bytes().all(|b| b.is_ascii_hexdigit())
}
