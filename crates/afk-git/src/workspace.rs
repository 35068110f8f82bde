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

use super::{Credentials, Git};
use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};

/// afk's identity on the commits it makes in the workspace (leftovers, merges).
const IDENT: [(&str, &str); 4] = [
    ("GIT_AUTHOR_NAME", super::AFK_NAME),
    ("GIT_AUTHOR_EMAIL", super::AFK_EMAIL),
    ("GIT_COMMITTER_NAME", super::AFK_NAME),
    ("GIT_COMMITTER_EMAIL", super::AFK_EMAIL),
];

/// One file of the agent's at most (GitHub refuses larger ones too).
pub const MAX_FILE_BYTES: u64 = 100 << 20;
/// The agent's checkout: what afk reads or commits of it at most.
pub const MAX_TREE_BYTES: u64 = 1 << 30;
/// Files and folders (or refs) of the agent's that afk looks at, at most.
pub const MAX_ENTRIES: u64 = 200_000;
/// Refs an agent's repository may hold before afk refuses to read it.
pub const MAX_REFS: u64 = 20_000;

/// Why afk will not forward a turn's work: said in the escalation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused(pub String);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for Refused {}

/// What a run's branch holds over its base (`Workspace::summary`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BranchSummary {
    pub base: String,
    /// (short sha, subject), newest first
    pub commits: Vec<(String, String)>,
    pub count: usize,
    pub shortstat: String,
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
    },
    /// Someone else pushed and the turn's work does not apply on their head:
    /// kept as a bundle in the run folder.
    Conflict { bundle: PathBuf },
    /// afk will not forward this checkout (it is unsafe or too large).
    Refused(String),
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
}

/// The forge's view of a repository, read with one `ls-remote`.
struct Remote {
    default: String,
    default_sha: String,
    branch_sha: Option<String>,
}

impl Workspace {
    /// `scratch`: a name for this tick kind's private folder under `root`
    /// (secret files of one call, askpass, an empty HOME): ticks of two
    /// kinds may run at once and never share one.
    pub fn new(root: &Path, scratch: &str, creds: Option<Credentials>) -> Workspace {
        Workspace {
            root: root.to_path_buf(),
            git: Git::hardened(&root.join(format!(".afk-{scratch}")), creds),
            notes: Default::default(),
            author: None,
        }
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

    /// The cache, made when missing; the lock that is held while a tick writes it.
    fn open_cache(&self, repo: &str) -> Result<(PathBuf, std::fs::File)> {
        let cache = self.cache_of(repo);
        let parent = cache.parent().unwrap_or(&self.root);
        std::fs::create_dir_all(parent).with_context(|| {
            format!(
                "workspace: cannot create the git cache folder {} (runner.git_cache must be a folder afk's user can write)",
                parent.display()
            )
        })?;
        let lock_path = parent.join(format!(
            ".{}.lock",
            cache.file_name().unwrap_or_default().to_string_lossy()
        ));
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .with_context(|| format!("workspace: cannot open {}", lock_path.display()))?;
        lock.lock()
            .with_context(|| format!("workspace: cannot lock {}", lock_path.display()))?;
        if !cache.join("HEAD").is_file() {
            self.init_cache(&cache)?;
        }
        Ok((cache, lock))
    }

    fn init_cache(&self, cache: &Path) -> Result<()> {
        let _ = std::fs::remove_dir_all(cache);
        let c = cache.to_string_lossy();
        self.git
            .run(None, None, &["init", "-q", "--bare", &c], None)
            .with_context(|| format!("workspace: cannot make the git cache {}", cache.display()))?;
        Ok(())
    }

    /// The forge's default branch and the run's branch, fetched into the cache.
    fn refresh(&self, cache: &Path, url: &str, branch: &str) -> Result<Remote> {
        let want = format!("refs/heads/{branch}");
        let out = self
            .git
            .run(
                Some(cache),
                Some(url),
                &["ls-remote", "--symref", url, "HEAD", &want],
                None,
            )
            .context("workspace: the forge's repository could not be read (ls-remote)")?;
        let mut default = None;
        let (mut default_sha, mut branch_sha) = (None, None);
        for line in out.lines() {
            if let Some(rest) = line.strip_prefix("ref: ") {
                if let Some((target, "HEAD")) = rest.split_once('\t') {
                    default = target.strip_prefix("refs/heads/").map(str::to_string);
                }
                continue;
            }
            match line.split_once('\t') {
                Some((sha, "HEAD")) if is_sha(sha) => default_sha = Some(sha.to_string()),
                Some((sha, r)) if r == want && is_sha(sha) => branch_sha = Some(sha.to_string()),
                _ => {}
            }
        }
        let (Some(default), Some(default_sha)) = (default, default_sha) else {
            bail!("workspace: the forge's repository has no default branch yet (push one first)");
        };
        let mut specs = vec![format!("+refs/heads/{default}:refs/forge/heads/{default}")];
        if branch_sha.is_some() {
            specs.push(format!("+{want}:refs/forge/{want}"));
        }
        let mut args = vec!["fetch", "-q", "--no-tags", "--no-write-fetch-head", url];
        args.extend(specs.iter().map(String::as_str));
        if let Err(e) = self.git.run(Some(cache), Some(url), &args, None) {
            // the forge answered ls-remote: a fetch that fails now is the cache's fault
            self.notes
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(format!(
                    "workspace: the git cache {} could not be fetched into ({e:#}); made again",
                    cache.display()
                ));
            self.init_cache(cache)?;
            self.git
                .run(Some(cache), Some(url), &args, None)
                .context("workspace: fetch from the forge")?;
        }
        if branch_sha.is_none() {
            let _ = self.git.run(
                Some(cache),
                None,
                &["update-ref", "-d", &format!("refs/forge/{want}")],
                None,
            );
        }
        Ok(Remote {
            default,
            default_sha,
            branch_sha,
        })
    }

    /// A fresh checkout of the run's branch in `workdir`
    /// (docs/how-it-works.md#the-workspace): the forge's branch when it exists,
    /// else new from the default branch's head.
    /// Whatever was at `workdir` goes first: a later turn's checkout starts
    /// from the forge's head, where the last turn's work was forwarded.
    pub fn make(&self, p: &Place) -> Result<Made> {
        let (cache, _lock) = self.open_cache(p.repo)?;
        let remote = self.refresh(&cache, p.url, p.branch)?;
        let head = remote
            .branch_sha
            .clone()
            .unwrap_or_else(|| remote.default_sha.clone());
        self.checkout(&cache, p, &remote, &head)?;
        self.set_ref(&cache, &Self::run_ref(p, "start"), Some(&head))?;
        self.git.run(
            Some(&cache),
            None,
            &[
                "symbolic-ref",
                &Self::run_ref(p, "base"),
                &format!("refs/forge/heads/{}", remote.default),
            ],
            None,
        )?;
        self.set_ref(&cache, &Self::run_ref(p, "conflict"), None)?;
        self.set_ref(
            &cache,
            &Self::run_ref(p, "forge"),
            remote.branch_sha.as_deref(),
        )?;
        Ok(Made {
            base: remote.default,
            head,
            existed: remote.branch_sha.is_some(),
        })
    }

    /// A checkout that borrows nothing (docs/kubernetes.md): made as
    /// [`Self::make`], then its objects copied in and the alternates dropped,
    /// for an agent that cannot see the cache (a Job's agent container, which
    /// mounts the checkout's volume and not the cache's).
    pub fn make_standalone(&self, p: &Place) -> Result<Made> {
        let made = self.make(p)?;
        self.git
            .run(Some(p.workdir), None, &["repack", "-a", "-d", "-q"], None)
            .context("workspace: copying the cache's objects into the checkout")?;
        std::fs::remove_file(p.workdir.join(".git/objects/info/alternates"))
            .context("workspace: cannot drop the checkout's alternates")?;
        Ok(made)
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

    /// Write the checkout: a new repository whose objects are the cache's,
    /// on the branch at `head`, its config afk's own (no credential).
    fn checkout(&self, cache: &Path, p: &Place, remote: &Remote, head: &str) -> Result<()> {
        remove_tree(p.workdir)?;
        let push = p.run_dir.join("push.git");
        remove_tree(&push)?;
        if let Some(parent) = p.workdir.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("workspace: cannot create {}", parent.display()))?;
        }
        let wd = p.workdir.to_string_lossy().to_string();
        let pd = push.to_string_lossy().to_string();
        self.git
            .run(None, None, &["init", "-q", &wd], None)
            .context("workspace: git init of the checkout")?;
        self.git
            .run(None, None, &["init", "-q", "--bare", &pd], None)
            .context("workspace: git init of the run's push repository")?;
        let dot = p.workdir.join(".git");
        std::fs::write(
            dot.join("objects/info/alternates"),
            format!("{}\n", cache.join("objects").display()),
        )
        .context("workspace: cannot write the checkout's alternates")?;
        std::fs::write(
            dot.join("config"),
            checkout_config(p, &pd, self.author.as_ref()),
        )
        .context("workspace: cannot write the checkout's config")?;
        let in_wd = Some(p.workdir);
        let branch_ref = format!("refs/heads/{}", p.branch);
        self.git
            .run(in_wd, None, &["update-ref", &branch_ref, head], None)?;
        self.git.run(
            in_wd,
            None,
            &[
                "update-ref",
                &format!("refs/remotes/origin/{}", remote.default),
                &remote.default_sha,
            ],
            None,
        )?;
        if let Some(b) = &remote.branch_sha {
            self.git.run(
                in_wd,
                None,
                &[
                    "update-ref",
                    &format!("refs/remotes/origin/{}", p.branch),
                    b,
                ],
                None,
            )?;
        }
        self.git
            .run(in_wd, None, &["symbolic-ref", "HEAD", &branch_ref], None)?;
        self.git
            .run(in_wd, None, &["reset", "-q", "--hard"], None)
            .context("workspace: writing the checkout's files")?;
        Ok(())
    }

    /// Forward turn `turn`'s work (docs/how-it-works.md#the-workspace):
    /// idempotent, so a tick killed anywhere in it is finished by the next one
    /// without a second commit or a second push of different work.
    pub fn forward(&self, p: &Place, turn: u32) -> Result<Forwarded> {
        let (cache, _lock) = self.open_cache(p.repo)?;
        let Some(start) = self.get_ref(&cache, &Self::run_ref(p, "start")) else {
            bail!(
                "workspace: run {} has no checkout record in {} (the cache was removed?)",
                p.run,
                cache.display()
            );
        };
        let turn_ref = Self::run_ref(p, &format!("turn-{turn}"));
        let bundle = p.run_dir.join(format!("turn-{turn}.bundle"));
        if self
            .get_ref(&cache, &Self::run_ref(p, "conflict"))
            .is_some()
        {
            // decided before: never pushed over the other push
            return Ok(Forwarded::Conflict { bundle });
        }
        let work = match self.get_ref(&cache, &turn_ref) {
            Some(w) => w,
            None => match self.decide(&cache, p, turn, &start)? {
                Decided::Work(w) => {
                    self.set_ref(&cache, &turn_ref, Some(&w))?;
                    w
                }
                Decided::Nothing => {
                    self.set_ref(&cache, &turn_ref, Some(&start))?;
                    start.clone()
                }
                Decided::Refused(why) => return Ok(Forwarded::Refused(why)),
            },
        };
        if work == start {
            return Ok(Forwarded::Nothing);
        }
        self.push(&cache, p, &start, &turn_ref, &work)
    }

    /// The turn's work: the checkout's branch, or what the agent pushed
    /// locally when that contains it, with leftover changes committed.
    fn decide(&self, cache: &Path, p: &Place, turn: u32, start: &str) -> Result<Decided> {
        if let Err(Refused(why)) = check_repository(&p.workdir.join(".git"), Some(cache))
            .and_then(|_| check_repository(&p.run_dir.join("push.git"), None))
            .and_then(|_| check_dir(p.workdir))
        {
            return Ok(Decided::Refused(why));
        }
        let from_checkout = self.take(cache, p, &p.workdir.join(".git"), "checkout")?;
        let pushed = self.take(cache, p, &p.run_dir.join("push.git"), "pushed")?;
        let base = from_checkout.clone().unwrap_or_else(|| start.to_string());
        let committed = match self.leftover(cache, p, turn, &base)? {
            Ok(Some(c)) => {
                // what afk wrote, kept where the agent cannot write: the one
                // way a leftover commit is told to be afk's (never by its
                // author's identity, which any commit may claim)
                self.git.run(
                    Some(cache),
                    None,
                    &["update-ref", &Self::run_ref(p, "leftover"), &c],
                    None,
                )?;
                c
            }
            Ok(None) => base,
            Err(Refused(why)) => return Ok(Decided::Refused(why)),
        };
        let work = match pushed {
            Some(pu) if pu != committed && self.is_ancestor(cache, &committed, &pu) => pu,
            _ => committed,
        };
        if work == start {
            return Ok(Decided::Nothing);
        }
        if !self.is_ancestor(cache, start, &work) {
            return Ok(Decided::Refused(format!(
                "the turn's branch no longer contains the commit it started from ({}): afk forwards only work built on it",
                short(start)
            )));
        }
        if let Some(why) = self.oversized(cache, start, &work)? {
            return Ok(Decided::Refused(why));
        }
        Ok(Decided::Work(work))
    }

    /// The branch of the agent's repository `git_dir`, fetched into the
    /// cache as `refs/afk/runs/<run>/<what>`; None when it has no such branch.
    fn take(&self, cache: &Path, p: &Place, git_dir: &Path, what: &str) -> Result<Option<String>> {
        if !git_dir.join("HEAD").is_file() {
            return Ok(None);
        }
        let src = git_dir.to_string_lossy().to_string();
        let want = format!("refs/heads/{}", p.branch);
        let out = self
            .git
            .run(Some(cache), None, &["ls-remote", &src, &want], None)
            .with_context(|| format!("workspace: reading the agent's {what} repository"))?;
        let found = out
            .lines()
            .filter_map(|l| l.split_once('\t'))
            .find(|(sha, r)| *r == want && is_sha(sha))
            .map(|(sha, _)| sha.to_string());
        let dst = Self::run_ref(p, what);
        let Some(sha) = found else {
            let _ = self.set_ref(cache, &dst, None);
            return Ok(None);
        };
        let spec = format!("+{want}:{dst}");
        self.git
            .run(
                Some(cache),
                None,
                &[
                    "fetch",
                    "-q",
                    "--no-tags",
                    "--no-write-fetch-head",
                    &src,
                    &spec,
                ],
                None,
            )
            .with_context(|| format!("workspace: fetching the agent's {what} branch"))?;
        Ok(Some(sha))
    }

    /// Changes the agent left uncommitted in the checkout, committed by afk
    /// on `base` in the cache with a private index: the checkout's own git
    /// (its config, hooks, filters) is never run. None when there are none.
    fn leftover(
        &self,
        cache: &Path,
        p: &Place,
        turn: u32,
        base: &str,
    ) -> Result<std::result::Result<Option<String>, Refused>> {
        let index = self.git.work_dir().join(format!("index-{}-{turn}", p.run));
        let _ = std::fs::remove_file(&index);
        let idx = index.to_string_lossy().to_string();
        let wt = p.workdir.to_string_lossy().to_string();
        let env = [
            ("GIT_INDEX_FILE", idx.as_str()),
            ("GIT_WORK_TREE", wt.as_str()),
        ];
        let gd = cache.to_string_lossy().to_string();
        let git = |args: &[&str]| {
            let mut all = vec!["--git-dir", gd.as_str()];
            all.extend_from_slice(args);
            self.git.run_env(Some(p.workdir), None, &all, None, &env)
        };
        std::fs::create_dir_all(self.git.work_dir())?;
        git(&["read-tree", base])?;
        // what `add -A` would read, bounded before it reads it
        let listed = git(&[
            "ls-files",
            "-z",
            "--cached",
            "--others",
            "--exclude-standard",
        ])?;
        if let Err(r) = bounded_files(p.workdir, listed.split('\0')) {
            let _ = std::fs::remove_file(&index);
            return Ok(Err(r));
        }
        git(&["add", "-A"])?;
        let tree = git(&["write-tree"])?;
        let _ = std::fs::remove_file(&index);
        let base_tree = git(&["rev-parse", &format!("{base}^{{tree}}")])?;
        if tree == base_tree {
            return Ok(Ok(None));
        }
        let message = format!("Uncommitted changes left by turn {turn}");
        // authored as runner.git_author says (DCO, author rules); committed by afk
        let mut ident = IDENT.to_vec();
        if let Some((name, email)) = &self.author {
            ident[0] = ("GIT_AUTHOR_NAME", name.as_str());
            ident[1] = ("GIT_AUTHOR_EMAIL", email.as_str());
        }
        let sha = self.git.run_env(
            Some(cache),
            None,
            &["commit-tree", &tree, "-p", base, "-m", &message],
            None,
            &ident,
        )?;
        Ok(Ok(Some(sha)))
    }

    fn is_ancestor(&self, cache: &Path, a: &str, b: &str) -> bool {
        self.git
            .exit_of(cache, &["merge-base", "--is-ancestor", a, b], &[])
            .is_ok_and(|c| c == 0)
    }

    /// A file over [`MAX_FILE_BYTES`] among the turn's new objects.
    fn oversized(&self, cache: &Path, start: &str, work: &str) -> Result<Option<String>> {
        let range = format!("{start}..{work}");
        let filter = format!("--filter=blob:limit={}", MAX_FILE_BYTES + 1);
        let out = self.git.run(
            Some(cache),
            None,
            &[
                "rev-list",
                "--objects",
                "--filter-print-omitted",
                &filter,
                &range,
            ],
            None,
        )?;
        Ok(out.lines().find(|l| l.starts_with('~')).map(|l| {
            format!(
                "the turn's commits hold a file over {} MiB (object {}): afk does not push it",
                MAX_FILE_BYTES >> 20,
                short(l.trim_start_matches('~'))
            )
        }))
    }

    /// Push `work` to the branch with a lease on what afk last saw there;
    /// when someone else pushed, merge their head into the work and push
    /// that, or keep the work as a bundle when it conflicts.
    fn push(
        &self,
        cache: &Path,
        p: &Place,
        start: &str,
        turn_ref: &str,
        work: &str,
    ) -> Result<Forwarded> {
        let forge_ref = Self::run_ref(p, "forge");
        let seen = self.get_ref(cache, &forge_ref);
        if seen.as_deref() == Some(work) {
            let mut done = self.pushed(cache, p, start, work);
            if let Forwarded::Pushed { fresh, .. } = &mut done {
                *fresh = false;
            }
            return Ok(done);
        }
        match self.push_once(cache, p, work, seen.as_deref()) {
            Ok(()) => {
                self.set_ref(cache, &forge_ref, Some(work))?;
                Ok(self.pushed(cache, p, start, work))
            }
            Err(e) => {
                let remote = self.refresh(cache, p.url, p.branch)?;
                let now = remote.branch_sha;
                if now.as_deref() == Some(work) {
                    // the push landed and its answer was lost
                    self.set_ref(cache, &forge_ref, Some(work))?;
                    return Ok(self.pushed(cache, p, start, work));
                }
                if now == seen {
                    return Err(e.context(format!(
                        "workspace: the forge refused the push of {} to {} (does afk's account have write access, or does a branch protection rule cover afk/*?)",
                        p.branch, p.repo
                    )));
                }
                let Some(theirs) = now else {
                    // the branch was deleted on the forge: push it again
                    self.push_once(cache, p, work, None)?;
                    self.set_ref(cache, &forge_ref, Some(work))?;
                    return Ok(self.pushed(cache, p, start, work));
                };
                self.merge_theirs(cache, p, start, turn_ref, work, &theirs)
            }
        }
    }

    fn pushed(&self, cache: &Path, p: &Place, start: &str, work: &str) -> Forwarded {
        let base = self
            .git
            .run(
                Some(cache),
                None,
                &["symbolic-ref", "-q", &Self::run_ref(p, "base")],
                None,
            )
            .unwrap_or_default();
        let base = base
            .strip_prefix("refs/forge/heads/")
            .unwrap_or(&base)
            .to_string();
        let range = format!("{start}..{work}");
        let count = self
            .git
            .run(Some(cache), None, &["rev-list", "--count", &range], None)
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        // afk's own leftover commit is the one afk recorded making, never
        // one that merely carries afk's identity and subject
        let leftover = self
            .git
            .run(
                Some(cache),
                None,
                &["rev-parse", "-q", "--verify", &Self::run_ref(p, "leftover")],
                None,
            )
            .is_ok_and(|s| s.trim() == work);
        Forwarded::Pushed {
            sha: work.to_string(),
            commits: count,
            leftover,
            base,
            fresh: true,
        }
    }

    /// Someone else pushed `theirs`: the turn's commits replayed on it
    /// (docs/how-it-works.md#the-workspace: each commit's change, author and
    /// message kept, afk the committer) and pushed; where replaying cannot be
    /// done (a merge among them, a git older than 2.40) their head merged in
    /// with a merge commit of afk's; where the two conflict, the work kept as a
    /// bundle.
    fn merge_theirs(
        &self,
        cache: &Path,
        p: &Place,
        start: &str,
        turn_ref: &str,
        work: &str,
        theirs: &str,
    ) -> Result<Forwarded> {
        let forge_ref = Self::run_ref(p, "forge");
        let merged = if self.is_ancestor(cache, theirs, work) {
            Some(work.to_string())
        } else if let Some(replayed) = self.replay(cache, start, work, theirs)? {
            Some(replayed)
        } else {
            match self.git.run(
                Some(cache),
                None,
                &["merge-tree", "--write-tree", "--no-messages", theirs, work],
                None,
            ) {
                Ok(out) => {
                    let tree = out.lines().next().unwrap_or("").to_string();
                    let message = format!(
                        "Merge {} as the forge has it into the turn's work",
                        p.branch
                    );
                    Some(self.git.run_env(
                        Some(cache),
                        None,
                        &[
                            "commit-tree",
                            &tree,
                            "-p",
                            theirs,
                            "-p",
                            work,
                            "-m",
                            &message,
                        ],
                        None,
                        &IDENT,
                    )?)
                }
                Err(_) => None,
            }
        };
        let Some(merged) = merged else {
            let bundle = p.run_dir.join(format!(
                "{}.bundle",
                turn_ref.rsplit('/').next().unwrap_or("turn")
            ));
            let b = bundle.to_string_lossy().to_string();
            // a bundle names refs: the turn's, less what the turn started from
            let not = format!("^{start}");
            let _ = std::fs::remove_file(&bundle);
            self.git
                .run(
                    Some(cache),
                    None,
                    &["bundle", "create", "-q", &b, turn_ref, &not],
                    None,
                )
                .context("workspace: keeping the turn's commits as a bundle")?;
            self.set_ref(cache, &forge_ref, Some(theirs))?;
            self.set_ref(cache, &Self::run_ref(p, "conflict"), Some(work))?;
            return Ok(Forwarded::Conflict { bundle });
        };
        self.set_ref(cache, turn_ref, Some(&merged))?;
        self.push_once(cache, p, &merged, Some(theirs))?;
        self.set_ref(cache, &forge_ref, Some(&merged))?;
        Ok(self.pushed(cache, p, start, &merged))
    }

    /// The commits `start..work` replayed one by one on `onto`, in the cache
    /// (no worktree, no hooks); None when one does not apply, is a merge,
    /// is over 1 MiB as an object (its message is read), or this git
    /// cannot (`merge-tree --merge-base` is 2.40's).
    fn replay(&self, cache: &Path, start: &str, work: &str, onto: &str) -> Result<Option<String>> {
        let list = self.git.run(
            Some(cache),
            None,
            &[
                "rev-list",
                "--reverse",
                "--parents",
                &format!("{start}..{work}"),
            ],
            None,
        )?;
        let mut tip = onto.to_string();
        for line in list.lines().filter(|l| !l.is_empty()) {
            let ids: Vec<&str> = line.split(' ').collect();
            let [commit, parent] = ids[..] else {
                return Ok(None);
            };
            let size = self
                .git
                .run(Some(cache), None, &["cat-file", "-s", commit], None)?;
            if size.parse::<u64>().map_or(true, |n| n > 1 << 20) {
                return Ok(None);
            }
            let Ok(out) = self.git.run(
                Some(cache),
                None,
                &[
                    "merge-tree",
                    "--write-tree",
                    "--no-messages",
                    "--merge-base",
                    parent,
                    &tip,
                    commit,
                ],
                None,
            ) else {
                return Ok(None);
            };
            let tree = out.lines().next().unwrap_or("").to_string();
            let who = self.git.run(
                Some(cache),
                None,
                &["log", "-1", "--format=%an%x1f%ae%x1f%aI", commit],
                None,
            )?;
            let mut who = who.split('\x1f');
            let (name, email, date) = (
                who.next().unwrap_or(""),
                who.next().unwrap_or(""),
                who.next().unwrap_or(""),
            );
            let message = self.git.run(
                Some(cache),
                None,
                &["log", "-1", "--format=%B", commit],
                None,
            )?;
            let env = [
                ("GIT_AUTHOR_NAME", name),
                ("GIT_AUTHOR_EMAIL", email),
                ("GIT_AUTHOR_DATE", date),
                IDENT[2],
                IDENT[3],
            ];
            tip = self.git.run_env(
                Some(cache),
                None,
                &["commit-tree", &tree, "-p", &tip],
                Some(message.as_bytes()),
                &env,
            )?;
        }
        Ok(Some(tip))
    }

    fn push_once(&self, cache: &Path, p: &Place, sha: &str, seen: Option<&str>) -> Result<()> {
        let lease = match seen {
            Some(s) => super::Lease::At(s.to_string()),
            None => super::Lease::Absent,
        };
        self.git.push(cache, p.url, sha, p.branch, &lease)
    }

    /// What the run's branch at `sha` holds over the base its checkout was
    /// made from, read from afk's own cache (never the agent's checkout):
    /// its commits, newest first (at most `shown`), their count and `git diff
    /// --shortstat`. None when the cache does not know (a Job forwarded it).
    pub fn summary(&self, p: &Place, sha: &str, shown: usize) -> Option<BranchSummary> {
        let cache = self.cache_of(p.repo);
        if !cache.join("HEAD").is_file() {
            return None;
        }
        let git = |args: &[&str]| self.git.run(Some(&cache), None, args, None).ok();
        let base_ref = git(&["symbolic-ref", "-q", &Self::run_ref(p, "base")])?;
        let base = base_ref
            .strip_prefix("refs/forge/heads/")
            .unwrap_or(&base_ref)
            .to_string();
        let from = git(&["merge-base", &base_ref, sha])?;
        let range = format!("{from}..{sha}");
        let count = git(&["rev-list", "--count", &range])?.parse().ok()?;
        let n = format!("-n{shown}");
        let log = git(&["log", &n, "--no-color", "--format=%h%x1f%s", &range])?;
        let commits = log
            .lines()
            .filter_map(|l| l.split_once('\x1f'))
            .map(|(h, s)| (h.to_string(), s.to_string()))
            .collect();
        let shortstat = git(&[
            "diff",
            "--no-color",
            "--no-ext-diff",
            "--shortstat",
            &from,
            sha,
        ])
        .unwrap_or_default();
        Some(BranchSummary {
            base,
            commits,
            count,
            shortstat: shortstat.trim().to_string(),
        })
    }

    /// The run is over (docs/how-it-works.md#the-workspace): its checkout, push
    /// repository and refs go; the forge branch's ref in the cache goes with
    /// them.
    pub fn remove(&self, p: &Place) -> Result<()> {
        remove_tree(p.workdir)?;
        remove_tree(&p.run_dir.join("push.git"))?;
        let cache = self.cache_of(p.repo);
        if cache.join("HEAD").is_file() {
            let (cache, _lock) = self.open_cache(p.repo)?;
            let prefix = format!("refs/afk/runs/{}/", p.run);
            let refs = self
                .git
                .run(
                    Some(&cache),
                    None,
                    &["for-each-ref", "--format=%(refname)", &prefix],
                    None,
                )
                .unwrap_or_default();
            for r in refs.lines().filter(|r| !r.is_empty()) {
                let _ = self.set_ref(&cache, r, None);
            }
            let _ = self.set_ref(&cache, &format!("refs/forge/heads/{}", p.branch), None);
        }
        Ok(())
    }
}

enum Decided {
    Nothing,
    Work(String),
    Refused(String),
}

fn is_sha(s: &str) -> bool {
    (s.len() == 40 || s.len() == 64) && s.bytes().all(|b| b.is_ascii_hexdigit())
}

fn short(sha: &str) -> &str {
    &sha[..sha.len().min(12)]
}

/// Remove a folder the agent may have filled: never following a link (a
/// link in its place is removed, not what it points at).
fn remove_tree(path: &Path) -> Result<()> {
    match std::fs::symlink_metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e).with_context(|| format!("workspace: cannot read {}", path.display())),
        Ok(m) if m.is_dir() => std::fs::remove_dir_all(path)
            .with_context(|| format!("workspace: cannot remove {}", path.display())),
        Ok(_) => std::fs::remove_file(path)
            .with_context(|| format!("workspace: cannot remove {}", path.display())),
    }
}

/// A config value in double quotes (git's own escaping).
fn quoted(v: &str) -> String {
    let mut s = String::from('"');
    for c in v.chars() {
        match c {
            '"' | '\\' => {
                s.push('\\');
                s.push(c);
            }
            '\n' => s.push_str("\\n"),
            c => s.push(c),
        }
    }
    s.push('"');
    s
}

/// The checkout's config: the forge's URL for fetching (no credential), the
/// run's local repository for pushing, the branch's upstream, and an
/// identity so the agent's commits work without a global config.
fn checkout_config(p: &Place, push: &str, author: Option<&(String, String)>) -> String {
    let public = without_userinfo(p.url);
    let (name, email) = author
        .map(|(n, e)| (n.as_str(), e.as_str()))
        .unwrap_or(("afk agent", "agent@afk.invalid"));
    format!(
        "[core]\n\trepositoryformatversion = 0\n\tfilemode = true\n\tbare = false\n\tlogallrefupdates = true\n\
         [remote \"origin\"]\n\turl = {}\n\tfetch = +refs/heads/*:refs/remotes/origin/*\n\tpushurl = {}\n\
         [branch {}]\n\tremote = origin\n\tmerge = {}\n\
         [user]\n\tname = {}\n\temail = {}\n",
        quoted(&public),
        quoted(push),
        quoted(p.branch),
        quoted(&format!("refs/heads/{}", p.branch)),
        quoted(name),
        quoted(email),
    )
}

/// `url` without any `user:password@` (the checkout never holds one).
pub fn without_userinfo(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let end = rest.find('/').unwrap_or(rest.len());
    let (authority, path) = rest.split_at(end);
    let host = authority.rsplit('@').next().unwrap_or(authority);
    format!("{scheme}://{host}{path}")
}

fn refused(why: impl Into<String>) -> Refused {
    Refused(why.into())
}

/// `path` is a real folder, not a link to one.
fn check_dir(path: &Path) -> std::result::Result<(), Refused> {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => Ok(()),
        Ok(_) => Err(refused(format!(
            "{} is no longer a folder (a link or a file): afk reads nothing through it",
            path.display()
        ))),
        Err(_) => Err(refused(format!("{} is gone", path.display()))),
    }
}

/// An agent's repository afk is about to read as a fetch source
/// (docs/security.md#the-workspace-the-agent-holds-no-forge-credential): a real
/// folder, not a link; no `commondir` (which would make git read another
/// repository); its objects and refs real files and folders (no link that reads
/// another repository's files), within bounds; its alternates exactly afk's own
/// (`cache`) or none. A missing repository is fine (the agent removed it: there
/// is nothing to take).
pub fn check_repository(git_dir: &Path, cache: Option<&Path>) -> std::result::Result<(), Refused> {
    let meta = match std::fs::symlink_metadata(git_dir) {
        Err(_) => return Ok(()),
        Ok(m) => m,
    };
    let name = git_dir.display();
    if !meta.is_dir() {
        return Err(refused(format!(
            "{name} is a link or a file, not a repository folder: afk does not follow it"
        )));
    }
    for f in ["commondir", "gitdir", "objects/info/http-alternates"] {
        if std::fs::symlink_metadata(git_dir.join(f)).is_ok() {
            return Err(refused(format!(
                "{name}/{f} exists: it would make git read another repository"
            )));
        }
    }
    for f in [
        "config",
        "HEAD",
        "packed-refs",
        "objects",
        "objects/info",
        "objects/info/alternates",
        "refs",
    ] {
        if std::fs::symlink_metadata(git_dir.join(f)).is_ok_and(|m| m.file_type().is_symlink()) {
            return Err(refused(format!(
                "{name}/{f} is a link: afk reads no file through a link"
            )));
        }
    }
    let alternates = git_dir.join("objects/info/alternates");
    if let Ok(m) = std::fs::symlink_metadata(&alternates) {
        let want = cache.map(|c| format!("{}\n", c.join("objects").display()));
        let text = if m.len() > 4096 {
            None
        } else {
            std::fs::read_to_string(&alternates).ok()
        };
        if text.is_none() || text != want {
            return Err(refused(format!(
                "{name}/objects/info/alternates was changed: it would lend the repository another one's objects"
            )));
        }
    }
    if std::fs::symlink_metadata(git_dir.join("packed-refs")).is_ok_and(|m| m.len() > 16 << 20) {
        return Err(refused(format!("{name}/packed-refs is over 16 MiB")));
    }
    let (mut entries, mut bytes) = (0u64, 0u64);
    walk(&git_dir.join("objects"), &mut |m| {
        entries += 1;
        bytes += m.len();
        if entries > MAX_ENTRIES {
            return Err(refused(format!(
                "{name}/objects holds more than {MAX_ENTRIES} files"
            )));
        }
        if bytes > MAX_TREE_BYTES {
            return Err(refused(format!(
                "{name}/objects holds more than {} MiB",
                MAX_TREE_BYTES >> 20
            )));
        }
        Ok(())
    })?;
    let mut refs = 0u64;
    walk(&git_dir.join("refs"), &mut |_| {
        refs += 1;
        if refs > MAX_REFS {
            return Err(refused(format!("{name} holds more than {MAX_REFS} refs")));
        }
        Ok(())
    })
}

/// Every entry below `dir` (not following links), each checked by `f`; a
/// link anywhere is refused.
fn walk(
    dir: &Path,
    f: &mut dyn FnMut(&std::fs::Metadata) -> std::result::Result<(), Refused>,
) -> std::result::Result<(), Refused> {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Ok(());
    };
    for e in rd.flatten() {
        let p = e.path();
        let Ok(m) = std::fs::symlink_metadata(&p) else {
            continue;
        };
        if m.file_type().is_symlink() {
            return Err(refused(format!(
                "{} is a link: afk reads no file through a link",
                p.display()
            )));
        }
        f(&m)?;
        if m.is_dir() {
            walk(&p, f)?;
        }
    }
    Ok(())
}

/// The files `git add -A` would read, within bounds: none over
/// [`MAX_FILE_BYTES`], [`MAX_TREE_BYTES`] in all, [`MAX_ENTRIES`] files.
fn bounded_files<'a>(
    workdir: &Path,
    names: impl Iterator<Item = &'a str>,
) -> std::result::Result<(), Refused> {
    let (mut n, mut total) = (0u64, 0u64);
    for name in names.filter(|n| !n.is_empty()) {
        n += 1;
        if n > MAX_ENTRIES {
            return Err(refused(format!(
                "the checkout holds more than {MAX_ENTRIES} files"
            )));
        }
        // a link is read as a link (its target is not followed)
        let Ok(m) = std::fs::symlink_metadata(workdir.join(name)) else {
            continue;
        };
        // a FIFO would block git (and afk) for ever, a device or a socket
        // is no file to commit: refused, with the reason
        {
            use std::os::unix::fs::FileTypeExt;
            let t = m.file_type();
            let what = if t.is_fifo() {
                Some("a FIFO")
            } else if t.is_socket() {
                Some("a socket")
            } else if t.is_block_device() || t.is_char_device() {
                Some("a device")
            } else {
                None
            };
            if let Some(what) = what {
                return Err(refused(format!(
                    "the checkout's {name:?} is {what}: afk commits only files and links"
                )));
            }
        }
        if m.len() > MAX_FILE_BYTES && m.is_file() {
            return Err(refused(format!(
                "the checkout's {name:?} is over {} MiB: afk commits no such file",
                MAX_FILE_BYTES >> 20
            )));
        }
        total += m.len();
        if total > MAX_TREE_BYTES {
            return Err(refused(format!(
                "the checkout's files are over {} MiB in all",
                MAX_TREE_BYTES >> 20
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_checkout_never_holds_a_user_or_password_of_the_forge_url() {
        let cases = [
            (
                "https://git.example.org/a/b.git",
                "https://git.example.org/a/b.git",
            ),
            (
                "https://afk:s3cret@git.example.org/a/b.git",
                "https://git.example.org/a/b.git",
            ),
            (
                "http://127.0.0.1:3000/a/b.git",
                "http://127.0.0.1:3000/a/b.git",
            ),
            ("http://u@h:1/x", "http://h:1/x"),
            ("/local/path", "/local/path"),
        ];
        for (url, want) in cases {
            assert_eq!(without_userinfo(url), want, "{url}");
        }
    }

    #[test]
    fn config_values_are_quoted_so_no_value_opens_a_section() {
        assert_eq!(quoted("a\"b\\c\n[x]"), "\"a\\\"b\\\\c\\n[x]\"");
    }
}
