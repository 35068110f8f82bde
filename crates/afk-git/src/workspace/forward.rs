//! Forwarding a turn's work: reading the agent's repositories as fetch
//! sources into the cache, committing leftover changes, and deciding what
//! the turn pushes.

use super::check::{bounded_files, check_dir, check_repository};
use super::{Forwarded, IDENT, MAX_FILE_BYTES, Place, Refused, Workspace, is_sha};
use anyhow::{Context, Result, bail};
use std::path::Path;

impl Workspace {
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
        // afk pushes no secret: neither one it holds nor a credential's shape
        if let Some(why) = self.secret_in(cache, start, &work)? {
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
}

enum Decided {
    Nothing,
    Work(String),
    Refused(String),
}

fn short(sha: &str) -> &str {
    &sha[..sha.len().min(12)]
}
