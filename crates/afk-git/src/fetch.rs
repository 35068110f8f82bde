//! Clones and fetches: a recipe's upstream clone (cloned once, fetched only
//! when upstream `main` moved, its work tree kept at upstream `main`), `afk
//! doctor`'s `ls-remote`, the fixer's clone of the mirror, and a PR branch
//! looked at against `main` ([`Git::look`]).

use crate::git::Git;
use crate::refs::read_ref;
use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};

/// A recipe's upstream clone, its work tree at upstream `main`.
#[derive(Debug, Clone)]
pub struct Checkout {
    pub dir: PathBuf,
    /// upstream `main`'s commit
    pub main: String,
}

/// Which PR branch to hold against `main` ([`Git::look`]), in the recipe's
/// clone `dir`.
#[derive(Debug, Clone, Copy)]
pub struct LookAt<'a> {
    /// the recipe's clone (afk's own commits are made there)
    pub dir: &'a Path,
    /// the mirror, fetched from when the clone lacks `head`
    pub url: &'a str,
    /// the PR's branch on the mirror
    pub branch: &'a str,
    /// the branch's head commit, as the forge reported it
    pub head: &'a str,
    /// upstream `main`'s commit
    pub main: &'a str,
    /// whether to list each commit since `main` ([`Look::commits`])
    pub commits: bool,
}

/// What a PR branch is to `main` ([`Git::look`]).
#[derive(Debug, Clone, Default)]
pub struct Look {
    /// `main` is an ancestor of the head
    pub on_main: bool,
    /// the head merges into `main` without a conflict
    pub applies: bool,
    /// each commit since `main`: committer address, message (when asked)
    pub commits: Vec<(String, String)>,
}

impl Git {
    /// `afk doctor`: upstream `main`'s commit, by one `git ls-remote` without
    /// credentials (as every upstream call), ended after `timeout`.
    /// Ok(None): it answers, but has no `main` branch.
    pub fn ls_remote_main(
        &self,
        url: &str,
        timeout: std::time::Duration,
    ) -> Result<Option<String>> {
        // an https upstream says it in its ref advertisement: no process
        if (url.starts_with("https://") || url.starts_with("http://"))
            && let Some(main) = self.main_reader.as_ref().and_then(|r| r(url))
        {
            return Ok(Some(main));
        }
        let mut c = self.cmd(None, None)?;
        c.args(["ls-remote", url, "refs/heads/main"]);
        let child = c
            .spawn()
            .context("git: cannot run git ls-remote (is git installed?)")?;
        let pid = child.id();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(child.wait_with_output());
        });
        let out = match rx.recv_timeout(timeout) {
            Ok(out) => out?,
            Err(_) => {
                // SAFETY: kill(2) on the git this call started, which has
                // not been waited for (its thread still waits on it)
                unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) };
                bail!(
                    "git ls-remote: no answer within {}s",
                    timeout.as_secs().max(1)
                );
            }
        };
        if !out.status.success() {
            let err = String::from_utf8_lossy(&out.stderr);
            let last: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
            let tail = last[last.len().saturating_sub(2)..].join(" / ");
            bail!(
                "git ls-remote: {}",
                if tail.is_empty() { "failed" } else { &tail }
            );
        }
        let text = String::from_utf8_lossy(&out.stdout);
        Ok(text.split_whitespace().next().map(str::to_string))
    }

    /// `recipe`'s upstream clone with its work tree at upstream `main`: cloned
    /// the first time, fetched only when upstream `main` moved (one
    /// `ls-remote` otherwise, or for an upstream on this machine its ref read
    /// from its files), checked out only when it changed. `url` is
    /// asked each time, so a changed `upgrade.upstream` is followed.
    pub fn upstream(&self, recipe: &str, url: &str) -> Result<Checkout> {
        let dir = self.work_dir.join(recipe);
        let git_dir = dir.join(".git");
        if !git_dir.join("HEAD").exists() {
            std::fs::create_dir_all(&self.work_dir)
                .with_context(|| format!("git: cannot create {}", self.work_dir.display()))?;
            let tmp = self
                .work_dir
                .join(format!(".{recipe}.clone-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&tmp);
            let tmp_s = tmp.to_string_lossy().to_string();
            self.run(
                None,
                None,
                &[
                    "clone",
                    "-q",
                    "--no-tags",
                    "--single-branch",
                    "--branch",
                    "main",
                    url,
                    &tmp_s,
                ],
                None,
            )?;
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::rename(&tmp, &dir)
                .with_context(|| format!("git: cannot move the clone to {}", dir.display()))?;
        }
        let main = match self.upstream_main(url) {
            Some(m) => m,
            None => {
                let remote = self.run(
                    Some(&dir),
                    None,
                    &["ls-remote", url, "refs/heads/main"],
                    None,
                )?;
                let Some(main) = remote.split_whitespace().next().map(str::to_string) else {
                    bail!("it has no main branch");
                };
                main
            }
        };
        if read_ref(&git_dir, "refs/remotes/origin/main").as_deref() != Some(main.as_str()) {
            self.run(
                Some(&dir),
                None,
                &[
                    "fetch",
                    "-q",
                    "--no-tags",
                    url,
                    "+refs/heads/main:refs/remotes/origin/main",
                ],
                None,
            )?;
        }
        if read_ref(&git_dir, "HEAD").as_deref() != Some(main.as_str()) {
            self.run(
                Some(&dir),
                None,
                &["checkout", "-q", "-f", "--detach", &main],
                None,
            )?;
        }
        Ok(Checkout { dir, main })
    }

    /// Upstream `main`'s commit without a process: for an `https://` (or
    /// `http://`) upstream, from its smart-HTTP ref advertisement read over
    /// afk's own client (no credential: an upstream is an outside party);
    /// for a repository on this machine (a path or `file://`), from its
    /// files, as git itself reads a ref (loose, then `packed-refs`), so a
    /// moved upstream is seen at once. None for any other URL, or when the
    /// answer does not say (a dumb server, a redirect, no `main`, a
    /// reftable): then `git ls-remote` answers, as it did.
    fn upstream_main(&self, url: &str) -> Option<String> {
        if url.starts_with("https://") || url.starts_with("http://") {
            return self.main_reader.as_ref().and_then(|r| r(url));
        }
        let local = url
            .strip_prefix("file://")
            .or((!url.contains("://")).then_some(url))?;
        let path = Path::new(local);
        // a relative path or `host:path` is git's to resolve
        if !path.is_absolute() {
            return None;
        }
        let git_dir = if path.join("objects").is_dir() && path.join("HEAD").is_file() {
            path.to_path_buf()
        } else {
            path.join(".git")
        };
        read_ref(&git_dir, "refs/heads/main")
    }

    /// A fresh clone of the mirror at `url` on `branch` in `dest` (the fixer's
    /// workdir). Its config names the mirror's URL and nothing secret.
    pub fn clone_branch(&self, url: &str, branch: &str, dest: &Path) -> Result<()> {
        if let Some(p) = dest.parent() {
            std::fs::create_dir_all(p)
                .with_context(|| format!("git: cannot create {}", p.display()))?;
        }
        let d = dest.to_string_lossy().to_string();
        self.run(
            None,
            Some(url),
            &["clone", "-q", "--branch", branch, url, &d],
            None,
        )
        .with_context(|| format!("clone of the mirror on {branch}"))?;
        Ok(())
    }

    /// What a PR branch is to `main` (own branches kept current,
    /// docs/how-it-works.md#afk-upgrade), in the recipe's clone: its head
    /// fetched from the mirror at `url` when the clone does not hold it (afk's
    /// own commits are made here, so mostly it does); whether `main` is an
    /// ancestor of the head; if not, whether the head merges into `main`
    /// without a conflict (`merge-tree`, its objects written to a scratch
    /// folder removed after, so the clone gains nothing; `--quiet` is newer
    /// than the git afk supports); and with `commits`, each commit since
    /// `main`'s committer address and message.
    pub fn look(&self, at: &LookAt) -> Result<Look> {
        let &LookAt {
            dir,
            url,
            branch,
            head,
            main,
            commits,
        } = at;
        if self.exit_of(dir, &["cat-file", "-e", head], &[])? != 0 {
            let refspec = format!("refs/heads/{branch}");
            self.run(
                Some(dir),
                Some(url),
                &[
                    "fetch",
                    "-q",
                    "--no-tags",
                    "--no-write-fetch-head",
                    url,
                    &refspec,
                ],
                None,
            )
            .with_context(|| format!("fetch of {branch}"))?;
            if self.exit_of(dir, &["cat-file", "-e", head], &[])? != 0 {
                bail!("{branch} moved while afk read it; looked at again next tick");
            }
        }
        let on_main = self.exit_of(dir, &["merge-base", "--is-ancestor", main, head], &[])? == 0;
        let applies = on_main || {
            let scratch = dir
                .join(".git")
                .join(format!("afk-merge-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&scratch);
            std::fs::create_dir_all(&scratch)?;
            let objects = dir.join(".git").join("objects");
            let env = [
                (
                    "GIT_OBJECT_DIRECTORY",
                    scratch.to_string_lossy().to_string(),
                ),
                (
                    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
                    objects.to_string_lossy().to_string(),
                ),
            ];
            let code = self.exit_of(
                dir,
                &["merge-tree", "--write-tree", "--no-messages", main, head],
                &env,
            );
            let _ = std::fs::remove_dir_all(&scratch);
            match code? {
                0 => true,
                1 => false,
                n => bail!("git merge-tree of {branch} exited {n}"),
            }
        };
        let commits = if commits {
            let range = format!("{main}..{head}");
            let raw = self.run_bytes(Some(dir), &["log", "-z", "--format=%ce%x1f%B", &range])?;
            raw.split(|b| *b == 0)
                .filter(|r| !r.is_empty())
                .map(|r| {
                    let r = String::from_utf8_lossy(r);
                    let (e, m) = r.split_once('\x1f').unwrap_or(("", &r));
                    (e.to_string(), m.to_string())
                })
                .collect()
        } else {
            vec![]
        };
        Ok(Look {
            on_main,
            applies,
            commits,
        })
    }
}
