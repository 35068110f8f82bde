//! Forwarding a turn's work: reading the agent's repositories as fetch
//! sources into the cache, committing leftover changes, and deciding what
//! the turn pushes.

use super::check::{bounded_files, check_dir, check_repository};
use super::{
    Forwarded, IDENT, MAX_FILE_BYTES, Place, Refused, STRICT_UPLOAD_PACK, Workspace, is_sha,
};
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
                Decided::Gated(reasons, w) => {
                    return self.gated(&cache, p, turn, &start, &w, reasons);
                }
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
        let taken = self
            .take(cache, p, &p.workdir.join(".git"), "checkout")
            .and_then(|c| {
                Ok((
                    c,
                    self.take(cache, p, &p.run_dir.join("push.git"), "pushed")?,
                ))
            });
        let (from_checkout, pushed) = match taken {
            Ok(t) => t,
            Err(e) => return refused_if_overran(e),
        };
        let base = from_checkout.clone().unwrap_or_else(|| start.to_string());
        let left = match self.leftover(cache, p, turn, &base) {
            Ok(l) => l,
            Err(e) => return refused_if_overran(e),
        };
        let committed = match left {
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
            self.set_ref(cache, &Self::run_ref(p, "refused"), None)?;
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
        // afk pushes no other repository's commit id (a gitlink)
        if let Some(why) = self.gitlink_in(cache, start, &work)? {
            return Ok(Decided::Refused(why));
        }
        // afk pushes no secret: neither one it holds nor a credential's shape
        if let Some(why) = self.secret_in(cache, start, &work)? {
            return Ok(Decided::Refused(why));
        }
        // the change gate: the operator's policy for what afk forwards
        let reasons = self.gate_in(cache, p, start, &work)?;
        if !reasons.is_empty() {
            return Ok(Decided::Gated(reasons, work));
        }
        // what the gate refused before is in this work, or was rewritten
        self.set_ref(cache, &Self::run_ref(p, "refused"), None)?;
        Ok(Decided::Work(work))
    }

    /// A turn the gate refused: nothing pushed, its commits kept as a
    /// bundle in the run folder (they stay in the checkout too, for the
    /// next turn to rewrite).
    fn gated(
        &self,
        cache: &Path,
        p: &Place,
        turn: u32,
        start: &str,
        work: &str,
        reasons: Vec<afk_core::gate::Reason>,
    ) -> Result<Forwarded> {
        let gated_ref = Self::run_ref(p, &format!("gated-{turn}"));
        self.set_ref(cache, &gated_ref, Some(work))?;
        // the next turn's checkout starts from it (`make`)
        self.set_ref(cache, &Self::run_ref(p, "refused"), Some(work))?;
        let bundle = p.run_dir.join(format!("turn-{turn}-gated.bundle"));
        let b = bundle.to_string_lossy().to_string();
        let not = format!("^{start}");
        let _ = std::fs::remove_file(&bundle);
        self.git
            .run(
                Some(cache),
                None,
                &["bundle", "create", "-q", &b, &gated_ref, &not],
                None,
            )
            .context("workspace: keeping the refused turn's commits as a bundle")?;
        Ok(Forwarded::Gated { reasons, bundle })
    }

    /// The branch of the agent's repository `git_dir`, fetched into the
    /// cache as `refs/afk/runs/<run>/<what>`; None when it has no such branch.
    /// Read with a strict `upload-pack` (that folder and no `.git` in or
    /// beside it) and within the deadline.
    pub(super) fn take(
        &self,
        cache: &Path,
        p: &Place,
        git_dir: &Path,
        what: &str,
    ) -> Result<Option<String>> {
        if !git_dir.join("HEAD").is_file() {
            return Ok(None);
        }
        let src = git_dir.to_string_lossy().to_string();
        let want = format!("refs/heads/{}", p.branch);
        let out = self
            .git
            .run_within(
                Some(cache),
                &["ls-remote", STRICT_UPLOAD_PACK, &src, &want],
                &[],
                self.agent_git_deadline(),
            )
            .with_context(|| format!("workspace: reading the agent's {what} repository {src}"))?;
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
            .run_within(
                Some(cache),
                &[
                    "fetch",
                    STRICT_UPLOAD_PACK,
                    "-q",
                    "--no-tags",
                    "--no-write-fetch-head",
                    &src,
                    &spec,
                ],
                &[],
                self.agent_git_deadline(),
            )
            .with_context(|| format!("workspace: fetching the agent's {what} branch from {src}"))?;
        Ok(Some(sha))
    }

    /// Changes the agent left uncommitted in the checkout, committed by afk
    /// on `base` in the cache with a private index: the checkout's own git
    /// (its config, hooks, filters) is never run, and each call that reads
    /// the work tree ends within the deadline. None when there are none.
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
        // build artefacts, caches and dependency folders are never committed
        // for the agent: the repository's ignore rules first, then these
        let excludes = self
            .git
            .work_dir()
            .join(format!("excludes-{}-{turn}", p.run));
        std::fs::create_dir_all(self.git.work_dir())?;
        std::fs::write(
            &excludes,
            afk_core::workspace_pr::leftover_excludes(&self.leftover_ignore),
        )?;
        let excludes_opt = format!("core.excludesFile={}", excludes.to_string_lossy());
        let git = |args: &[&str]| {
            let mut all = vec!["-c", excludes_opt.as_str(), "--git-dir", gd.as_str()];
            all.extend_from_slice(args);
            self.git
                .run_within(Some(p.workdir), &all, &env, self.agent_git_deadline())
                .with_context(|| format!("workspace: reading the checkout {wt}"))
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
        let _ = std::fs::remove_file(&excludes);
        let base_tree = git(&["rev-parse", &format!("{base}^{{tree}}")])?;
        if tree == base_tree {
            return Ok(Ok(None));
        }
        let message = afk_core::workspace_pr::leftover_subject(turn);
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
    /// the change gate refused the work (the sha)
    Gated(Vec<afk_core::gate::Reason>, String),
}

/// A git call on the agent's repository or work tree that ran out its
/// deadline ([`crate::run::Overran`]): the turn is refused, saying which; any
/// other error stays an error.
fn refused_if_overran(e: anyhow::Error) -> Result<Decided> {
    if e.downcast_ref::<crate::run::Overran>().is_some() {
        return Ok(Decided::Refused(format!(
            "{e:#}: something there made git wait (a FIFO?); afk reads nothing more of this turn"
        )));
    }
    Err(e)
}

fn short(sha: &str) -> &str {
    &sha[..sha.len().min(12)]
}

#[cfg(test)]
mod tests {
    use super::super::check::tests::{Tmp, git, mkfifo, unread};
    use super::*;
    use std::path::PathBuf;

    /// A workspace over `t` with a run of acme/api made from a local forge:
    /// (workspace, forge, run folder, checkout).
    fn made(t: &Tmp, deadline: std::time::Duration) -> (Workspace, PathBuf, PathBuf, PathBuf) {
        let forge = t.0.join("forge");
        std::fs::create_dir_all(&forge).unwrap();
        git(&forge, &["init", "-q", "-b", "main"]);
        git(&forge, &["commit", "-q", "--allow-empty", "-m", "base"]);
        let mut ws = Workspace::new(&t.0.join("cache"), "test", None);
        ws.deadline = deadline;
        let (run_dir, workdir) = (t.0.join("run"), t.0.join("run/work"));
        std::fs::create_dir_all(&run_dir).unwrap();
        ws.make(&place(&forge, &run_dir, &workdir)).unwrap();
        (ws, forge, run_dir, workdir)
    }

    fn place<'a>(forge: &'a Path, run_dir: &'a Path, workdir: &'a Path) -> Place<'a> {
        Place {
            repo: "acme/api",
            url: forge.to_str().unwrap(),
            branch: "afk/issue-1",
            run: "1",
            run_dir,
            workdir,
        }
    }

    /// Another repository afk's user can read, with a branch of the run's
    /// name: its commit.
    fn other(t: &Tmp) -> (PathBuf, String) {
        let secret = t.0.join("secret");
        std::fs::create_dir_all(&secret).unwrap();
        git(&secret, &["init", "-q"]);
        git(&secret, &["commit", "-q", "--allow-empty", "-m", "secret"]);
        git(&secret, &["branch", "afk/issue-1"]);
        let sha = git(&secret, &["rev-parse", "HEAD"]);
        (secret.join(".git"), sha)
    }

    #[test]
    fn an_agents_repository_is_read_strictly_so_a_planted_git_lends_nothing() {
        // (which repository, what is planted in it): the check would refuse
        // each; this is the transport alone, as if it had not looked
        let cases: &[(&str, &str)] = &[
            ("push.git", "gitdir file"),
            ("push.git", "link"),
            ("push.git", "repository"),
            ("work/.git", "gitdir file"),
            ("work/.git", "link"),
        ];
        for &(repo, how) in cases {
            let t = Tmp::new("strict");
            let d = std::time::Duration::from_secs(60);
            let (ws, forge, run_dir, workdir) = made(&t, d);
            let p = place(&forge, &run_dir, &workdir);
            let (secret, sha) = other(&t);
            let target = run_dir.join(repo);
            let planted = target.join(".git");
            match how {
                "gitdir file" => {
                    std::fs::write(&planted, format!("gitdir: {}\n", secret.display())).unwrap()
                }
                "link" => std::os::unix::fs::symlink(&secret, &planted).unwrap(),
                _ => {
                    std::fs::create_dir_all(planted.join("refs/heads/afk")).unwrap();
                    std::fs::create_dir_all(planted.join("objects/info")).unwrap();
                    std::fs::write(planted.join("HEAD"), "ref: refs/heads/afk/issue-1\n").unwrap();
                    std::fs::write(
                        planted.join("objects/info/alternates"),
                        format!("{}\n", secret.join("objects").display()),
                    )
                    .unwrap();
                    std::fs::write(planted.join("refs/heads/afk/issue-1"), format!("{sha}\n"))
                        .unwrap();
                }
            }
            let cache = ws.cache_of(p.repo);
            let took = ws.take(&cache, &p, &target, "taken").unwrap();
            assert_ne!(took.as_deref(), Some(sha.as_str()), "{repo} {how}");
            let held = std::process::Command::new("git")
                .arg("--git-dir")
                .arg(&cache)
                .args(["cat-file", "-e", &sha])
                .status()
                .unwrap();
            assert!(
                !held.success(),
                "{repo} {how}: the other commit entered the cache"
            );
        }
    }

    #[test]
    fn a_nested_gitfile_left_in_the_checkout_records_no_other_repositorys_commit() {
        let t = Tmp::new("gitlink");
        let (ws, forge, run_dir, workdir) = made(&t, std::time::Duration::from_secs(60));
        let p = place(&forge, &run_dir, &workdir);
        let (secret, sha) = other(&t);
        std::fs::create_dir_all(workdir.join("sub")).unwrap();
        std::fs::write(
            workdir.join("sub/.git"),
            format!("gitdir: {}\n", secret.display()),
        )
        .unwrap();
        std::fs::write(workdir.join("work.txt"), "work\n").unwrap();
        match ws.forward(&p, 1).unwrap() {
            Forwarded::Refused(why) => {
                assert!(why.contains("gitlink at sub "), "{why}");
                assert!(!why.contains(&sha), "{why}");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(git(&forge, &["branch", "--list", "afk/issue-1"]), "");
    }

    #[test]
    fn each_read_of_an_agents_repository_ends_within_the_deadline_and_is_refused() {
        // a FIFO where git opens it: in the checkout's work tree (which the
        // check does not walk), or in a git folder as if made after the check
        let cases: &[&str] = &[
            "work/.gitignore",
            "work/.git/packed-refs",
            "push.git/config",
        ];
        for &at in cases {
            let t = Tmp::new("deadline");
            let (ws, forge, run_dir, workdir) = made(&t, std::time::Duration::from_secs(3));
            let p = place(&forge, &run_dir, &workdir);
            let fifo = run_dir.join(at);
            mkfifo(&fifo);
            let why = if at == "work/.gitignore" {
                match ws.forward(&p, 1).unwrap() {
                    Forwarded::Refused(why) => why,
                    other => panic!("{at}: {other:?}"),
                }
            } else {
                let repo = fifo.parent().unwrap();
                let e = ws
                    .take(&ws.cache_of(p.repo), &p, repo, "taken")
                    .expect_err(at);
                assert!(
                    e.downcast_ref::<crate::run::Overran>().is_some(),
                    "{at}: {e:#}"
                );
                match refused_if_overran(e) {
                    Ok(Decided::Refused(why)) => why,
                    _ => panic!("{at}: not refused"),
                }
            };
            assert!(why.contains("did not end within 3s"), "{at}: {why}");
            assert!(
                unread(&fifo),
                "{at}: a git of afk's still waits on the FIFO"
            );
        }
    }
}
