//! The cache repository of each forge repository: made, locked while a tick
//! writes it, and refreshed from the forge (one `ls-remote`, one fetch).

use super::{Workspace, is_sha};
use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};

/// The forge's view of a repository, read with one `ls-remote`.
pub(super) struct Remote {
    pub(super) default: String,
    pub(super) default_sha: String,
    pub(super) branch_sha: Option<String>,
}

impl Workspace {
    /// `spec` fetched from `url` into `cache` with afk's credential: no
    /// tags, no `FETCH_HEAD` (harvest's reads of a branch).
    pub(super) fn fetch_ref(&self, cache: &Path, url: &str, spec: &str) -> Result<()> {
        let args = [
            "fetch",
            "-q",
            "--no-tags",
            "--no-write-fetch-head",
            url,
            spec,
        ];
        self.git.run(Some(cache), Some(url), &args, None)?;
        Ok(())
    }

    /// The cache, made when missing; the lock that is held while a tick writes it.
    pub(super) fn open_cache(&self, repo: &str) -> Result<(PathBuf, std::fs::File)> {
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
        // afk's lock is held: no git of afk's works in the cache now (a
        // checkout only borrows its objects), so a git lock file here was
        // left by one killed mid-write; kept, it would fail every later
        // fetch into that ref until a person removed it
        clear_left_locks(&cache);
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
    pub(super) fn refresh(&self, cache: &Path, url: &str, branch: &str) -> Result<Remote> {
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
}

/// The lock files a git killed while it wrote `cache` left: its `HEAD`,
/// `config`, `packed-refs` and `shallow` ones, and any under `refs/`. A
/// link is removed as itself and never followed.
fn clear_left_locks(cache: &Path) {
    for top in ["HEAD", "config", "packed-refs", "shallow", "FETCH_HEAD"] {
        let _ = std::fs::remove_file(cache.join(format!("{top}.lock")));
    }
    let mut dirs = vec![cache.join("refs")];
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            let Ok(kind) = e.file_type() else { continue };
            if kind.is_dir() {
                dirs.push(e.path());
            } else if e.file_name().to_string_lossy().ends_with(".lock") {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
}
