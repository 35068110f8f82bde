//! Pushing the turn's work to the forge with a lease; when someone else
//! pushed, replaying or merging onto their head, or keeping a bundle.

use super::{Forwarded, IDENT, Place, Workspace};
use anyhow::{Context, Result};
use std::path::Path;

/// The forge refused afk's push of a run's branch (no one else had pushed
/// there): what the binary's hint says to look at (afk's account's write
/// access, a branch protection rule) is the binary's, not this crate's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushRefused {
    pub branch: String,
    pub repo: String,
}

impl std::fmt::Display for PushRefused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "workspace: the forge refused the push of {} to {}",
            self.branch, self.repo
        )
    }
}
impl std::error::Error for PushRefused {}

impl Workspace {
    /// Push `work` to the branch with a lease on what afk last saw there;
    /// when someone else pushed, merge their head into the work and push
    /// that, or keep the work as a bundle when it conflicts.
    pub(super) fn push(
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
            let mut done = self.pushed(cache, p, start, work, None);
            if let Forwarded::Pushed { fresh, .. } = &mut done {
                *fresh = false;
            }
            return Ok(done);
        }
        match self.push_once(cache, p, work, seen.as_deref()) {
            Ok(()) => {
                self.set_ref(cache, &forge_ref, Some(work))?;
                Ok(self.pushed(cache, p, start, work, seen.as_deref()))
            }
            Err(e) => {
                let remote = self.refresh(cache, p.url, p.branch)?;
                let now = remote.branch_sha;
                if now.as_deref() == Some(work) {
                    // the push landed and its answer was lost
                    self.set_ref(cache, &forge_ref, Some(work))?;
                    return Ok(self.pushed(cache, p, start, work, seen.as_deref()));
                }
                if now == seen {
                    return Err(e.context(PushRefused {
                        branch: p.branch.to_string(),
                        repo: p.repo.to_string(),
                    }));
                }
                let Some(theirs) = now else {
                    // the branch was deleted on the forge: push it again
                    self.push_once(cache, p, work, None)?;
                    self.set_ref(cache, &forge_ref, Some(work))?;
                    return Ok(self.pushed(cache, p, start, work, None));
                };
                self.merge_theirs(cache, p, start, turn_ref, work, &theirs)
            }
        }
    }

    /// What a push of `work` over `old` (the forge's head it replaced) did.
    fn pushed(
        &self,
        cache: &Path,
        p: &Place,
        start: &str,
        work: &str,
        old: Option<&str>,
    ) -> Forwarded {
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
            old: old.map(str::to_string),
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
        Ok(self.pushed(cache, p, start, &merged, Some(theirs)))
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
            Some(s) => crate::push::Lease::At(s.to_string()),
            None => crate::push::Lease::Absent,
        };
        self.git.push(cache, p.url, sha, p.branch, &lease)
    }
}
