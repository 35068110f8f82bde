//! What a run's branch holds over its base, read from afk's cache.

use super::{BranchSummary, Place, Workspace};

impl Workspace {
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
        // the files of afk's own commits of what a turn left uncommitted
        let leftovers = git(&[
            "log",
            "--no-color",
            "--no-renames",
            "--format=%x01%s",
            "--name-only",
            "-z",
            "--max-count=50",
            &range,
        ])
        .unwrap_or_default();
        let (mut afk_committed, mut total) = (Vec::new(), 0usize);
        let mut ours = false;
        for part in leftovers.split('\0') {
            let part = part.trim_matches('\n');
            if part.is_empty() {
                continue;
            }
            if let Some(subject) = part.strip_prefix('\u{1}') {
                ours = afk_core::workspace_pr::is_leftover_subject(subject);
                continue;
            }
            if ours && !afk_committed.iter().any(|f| f == part) {
                total += 1;
                if afk_committed.len() < afk_core::workspace_pr::FILES_SHOWN {
                    afk_committed.push(part.to_string());
                }
            }
        }
        let deps = self.dependency_lines(&cache, &from, sha);
        Some(BranchSummary {
            base,
            commits,
            count,
            shortstat: shortstat.trim().to_string(),
            afk_committed,
            afk_committed_total: total,
            deps,
        })
    }

    /// The run's dependency changes from `from` to `sha`, as the PR body
    /// lists them (`afk_core::deps`): each lockfile the run changes, read
    /// at both ends (at most 4 MiB each and 16 MiB in all; past that a file
    /// is named as not read).
    fn dependency_lines(&self, cache: &std::path::Path, from: &str, sha: &str) -> Vec<String> {
        let reads = self.lockfile_moves(cache, from, sha).unwrap_or_default();
        let reads: Vec<afk_core::deps::Read> = reads
            .iter()
            .map(|(path, kind, moved)| afk_core::deps::Read {
                path,
                kind: *kind,
                moved: moved.clone(),
            })
            .collect();
        // read when a dependency is listed (a folder that is not one lists
        // them without)
        let advisories = self.gate.as_ref().and_then(|p| p.advisories.as_ref());
        let listed = |eco: afk_core::deps::Ecosystem, name: &str, version: &str| -> Vec<String> {
            advisories
                .and_then(|a| a.hits(eco, name, version).ok())
                .map_or(vec![], |hits| {
                    hits.iter().map(afk_core::osv::Hit::label).collect()
                })
        };
        afk_core::deps::body_lines(&reads, &listed)
    }

    /// Each lockfile that changes from `from` to `sha`, and what moved in
    /// it, or why it did not read (at most 4 MiB each and 16 MiB in all, at
    /// most [`LOCKFILES_MAX`] files; past that a file is not read). Err:
    /// the list of changed paths itself did not read whole.
    pub(super) fn lockfile_moves(
        &self,
        cache: &std::path::Path,
        from: &str,
        sha: &str,
    ) -> Result<Vec<LockMoves>, String> {
        use afk_core::deps::{Lockfile, diff, parse};
        // each file at most MAX, all of them at most TOTAL: a tick's memory
        // does not grow with what the agent wrote
        const MAX: u64 = 4 << 20;
        const TOTAL: u64 = 16 << 20;
        let spent = std::cell::Cell::new(0u64);
        let git = |args: &[&str]| self.git.run(Some(cache), None, args, None).ok();
        let names = match self.changed_paths(cache, from, sha) {
            Ok(Some(names)) => names,
            Ok(None) => return Err("the list of changed paths is longer than afk reads".into()),
            Err(e) => return Err(format!("git could not list the changed paths ({e:#})")),
        };
        let files: Vec<(String, Lockfile)> = names
            .into_iter()
            .filter_map(|n| Lockfile::of(&n).map(|k| (n, k)))
            .collect();
        let read_at = |rev: &str, path: &str| -> Result<String, String> {
            let spec = format!("{rev}:{path}");
            let size: u64 = match git(&["cat-file", "-s", &spec]) {
                Some(s) => s.trim().parse().unwrap_or(0),
                None => return Ok(String::new()),
            };
            if size > MAX {
                return Err(format!("over {} MiB", MAX >> 20));
            }
            if spent.get() + size > TOTAL {
                return Err(format!(
                    "the run's lockfiles are over {} MiB together",
                    TOTAL >> 20
                ));
            }
            spent.set(spent.get() + size);
            git(&["cat-file", "blob", &spec]).ok_or_else(|| "cannot be read".to_string())
        };
        let reads: Vec<LockMoves> = files
            .into_iter()
            .enumerate()
            .map(|(i, (path, kind))| {
                let moved = (|| {
                    if i >= LOCKFILES_MAX {
                        return Err(format!(
                            "past the {LOCKFILES_MAX} lockfiles afk reads of one change"
                        ));
                    }
                    let before = read_at(from, &path)?;
                    let after = read_at(sha, &path)?;
                    let parsed = |t: &str| {
                        if t.trim().is_empty() {
                            Ok(Default::default())
                        } else {
                            parse(kind, t)
                        }
                    };
                    Ok(diff(&parsed(&before)?, &parsed(&after)?))
                })();
                (path, kind, moved)
            })
            .collect();
        Ok(reads)
    }
}

/// The most lockfiles afk reads of one change.
pub const LOCKFILES_MAX: usize = 100;

/// One lockfile's path, kind, and what moved in it (or why it did not read).
pub(super) type LockMoves = (
    String,
    afk_core::deps::Lockfile,
    Result<Vec<(String, afk_core::deps::Moved)>, String>,
);
