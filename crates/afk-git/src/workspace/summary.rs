//! What a run's branch holds over its base, read from afk's cache.

use super::{BranchSummary, Place, Workspace};
use afk_core::gate::Unreadable;

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
    /// lists them (`afk_core::gate::deps`): each lockfile the run changes, read
    /// at both ends (at most 4 MiB each and 16 MiB in all; past that a file
    /// is named as not read).
    fn dependency_lines(&self, cache: &std::path::Path, from: &str, sha: &str) -> Vec<String> {
        let reads = self.lockfile_moves(cache, from, sha).unwrap_or_default();
        let reads: Vec<afk_core::gate::deps::Read> = reads
            .iter()
            .map(|(path, kind, moved)| afk_core::gate::deps::Read {
                path,
                kind: *kind,
                moved: moved.clone(),
            })
            .collect();
        // read when a dependency is listed (a folder that is not one lists
        // them without)
        let advisories = self.gate.as_ref().and_then(|p| p.advisories.as_ref());
        let listed =
            |eco: afk_core::gate::deps::Ecosystem, name: &str, version: &str| -> Vec<String> {
                advisories
                    .and_then(|a| a.hits(eco, name, version).ok())
                    .map_or(vec![], |hits| {
                        hits.iter().map(afk_core::gate::osv::Hit::label).collect()
                    })
            };
        afk_core::gate::deps::body_lines(&reads, &listed)
    }

    /// Each lockfile and manifest that changes from `from` to `sha`, and
    /// what moved in it, or why it did not read (at most [`FILE_MAX`] each
    /// and [`FILES_TOTAL`] in all, at most [`LOCKFILES_MAX`] files; past that
    /// a file is not read). Both ends of every file are read by one `git
    /// cat-file --batch`, so a turn touching a hundred manifests costs one
    /// process, not two hundred. Err: the list of changed paths itself did
    /// not read whole.
    pub(super) fn lockfile_moves(
        &self,
        cache: &std::path::Path,
        from: &str,
        sha: &str,
    ) -> Result<Vec<LockMoves>, Unreadable> {
        use afk_core::gate::deps::{Lockfile, diff, parse};
        let names = match self.changed_paths(cache, from, sha) {
            Ok(Some(names)) => names,
            Ok(None) => return Err("the list of changed paths is longer than afk reads".into()),
            Err(e) => return Err(format!("git could not list the changed paths ({e:#})").into()),
        };
        let files: Vec<(String, Lockfile)> = names
            .into_iter()
            .filter_map(|n| Lockfile::of(&n).map(|k| (n, k)))
            .collect();
        let read: Vec<&(String, Lockfile)> = files.iter().take(LOCKFILES_MAX).collect();
        let specs: Vec<String> = read
            .iter()
            .flat_map(|(path, _)| [format!("{from}:{path}"), format!("{sha}:{path}")])
            .collect();
        let blobs = self
            .read_blobs(cache, &specs)
            .map_err(|e| format!("git could not read the lockfiles ({e:#})"))?;
        // a link or a gitlink named as a lockfile is not what its name says
        let links = self
            .links_at(cache, sha, read.iter().map(|(p, _)| p.as_str()))
            .map_err(|e| format!("git could not list the lockfiles' modes ({e:#})"))?;
        let mut blobs = blobs.into_iter();
        let reads: Vec<LockMoves> = files
            .iter()
            .enumerate()
            .map(|(i, (path, kind))| {
                let moved = if i >= LOCKFILES_MAX {
                    Err(format!(
                        "past the {LOCKFILES_MAX} lockfiles and manifests afk reads of one change"
                    )
                    .into())
                } else {
                    let (before, after) = (blobs.next(), blobs.next());
                    if links.contains(path) {
                        return (path.clone(), *kind, Err("a link, not a file".into()));
                    }
                    (|| {
                        let text = |b: Option<Blob>| -> Result<String, Unreadable> {
                            Ok(b.unwrap_or(Ok(None))?.unwrap_or_default())
                        };
                        let (before, after) = (text(before)?, text(after)?);
                        let parsed = |t: &str| {
                            if t.trim().is_empty() {
                                Ok(Default::default())
                            } else {
                                parse(*kind, t)
                            }
                        };
                        Ok(diff(&parsed(&before)?, &parsed(&after)?))
                    })()
                };
                (path.clone(), *kind, moved)
            })
            .collect();
        Ok(reads)
    }

    /// Which of `paths` are a link or a gitlink at `rev` (`git ls-tree`,
    /// one call, the paths taken literally).
    fn links_at<'a>(
        &self,
        cache: &std::path::Path,
        rev: &str,
        paths: impl Iterator<Item = &'a str>,
    ) -> anyhow::Result<std::collections::BTreeSet<String>> {
        let paths: Vec<&str> = paths.collect();
        if paths.is_empty() {
            return Ok(Default::default());
        }
        let mut args = vec!["--literal-pathspecs", "ls-tree", "-z", rev, "--"];
        args.extend(paths);
        let out = self.git.run(Some(cache), None, &args, None)?;
        Ok(out
            .split('\0')
            .filter_map(|entry| {
                let (meta, path) = entry.trim_start_matches('\n').split_once('\t')?;
                let mode = meta.split(' ').next()?;
                matches!(mode, "120000" | "160000").then(|| path.to_string())
            })
            .collect())
    }

    /// Each `rev:path` of `specs` by one `git cat-file --batch` in the
    /// cache, in order: its text, None where there is no such file (added
    /// or deleted there), or why it was not read (not a file, not UTF-8, a
    /// path git's batch cannot name, over [`FILE_MAX`], past [`FILES_TOTAL`]
    /// for all of them: what is past a bound is read and dropped, never
    /// kept).
    pub(super) fn read_blobs(
        &self,
        cache: &std::path::Path,
        specs: &[String],
    ) -> anyhow::Result<Vec<Blob>> {
        use std::io::{BufRead, Read, Write};
        if specs.is_empty() {
            return Ok(vec![]);
        }
        let mut c = self.git.cmd(Some(cache), None)?;
        c.args(["cat-file", "--batch"])
            .stdin(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null());
        let mut child = c.spawn()?;
        // a path with a newline cannot be asked for in a batch: not read
        let asked: Vec<Option<&String>> = specs
            .iter()
            .map(|s| (!s.contains('\n') && !s.contains('\r')).then_some(s))
            .collect();
        let input: String = asked.iter().flatten().map(|s| format!("{s}\n")).collect();
        let mut stdin = child.stdin.take().expect("piped");
        // written beside the reading, so neither side waits on a full pipe
        let writer = std::thread::spawn(move || {
            let _ = stdin.write_all(input.as_bytes());
        });
        let mut out = std::io::BufReader::new(child.stdout.take().expect("piped"));
        let mut spent = 0u64;
        let mut blobs = vec![];
        for a in &asked {
            if a.is_none() {
                blobs.push(Err("a path with a line break".into()));
                continue;
            }
            let mut header = String::new();
            (&mut out).take(4096).read_line(&mut header)?;
            let h: Vec<&str> = header.split_whitespace().collect();
            let blob = match h.as_slice() {
                [.., "missing"] | [.., "ambiguous"] => Ok(None),
                [_, kind, size] => {
                    let size: u64 = size.parse().unwrap_or(u64::MAX);
                    let why = if *kind != "blob" {
                        Some("not a file".to_string())
                    } else if size > FILE_MAX {
                        Some(format!("over {} MiB", FILE_MAX >> 20))
                    } else if spent + size > FILES_TOTAL {
                        Some(format!(
                            "the change's lockfiles and manifests are over {} MiB together",
                            FILES_TOTAL >> 20
                        ))
                    } else {
                        None
                    };
                    match why {
                        Some(why) => {
                            // read past it without keeping it
                            std::io::copy(
                                &mut (&mut out).take(size.saturating_add(1)),
                                &mut std::io::sink(),
                            )?;
                            Err(Unreadable(why))
                        }
                        None => {
                            spent += size;
                            let mut bytes = Vec::with_capacity(size as usize);
                            (&mut out).take(size).read_to_end(&mut bytes)?;
                            let mut nl = [0u8; 1];
                            out.read_exact(&mut nl)?;
                            String::from_utf8(bytes)
                                .map(Some)
                                .map_err(|_| Unreadable::from("not UTF-8 text"))
                        }
                    }
                }
                _ => anyhow::bail!("git cat-file --batch answered what afk does not read"),
            };
            blobs.push(blob);
        }
        drop(out);
        let _ = writer.join();
        let _ = child.wait();
        Ok(blobs)
    }
}

/// One file as [`Workspace::read_blobs`] read it.
pub(super) type Blob = Result<Option<String>, Unreadable>;

/// The most afk reads of one lockfile or manifest, at each end.
pub const FILE_MAX: u64 = 4 << 20;

/// The most afk reads of all the lockfiles and manifests of one change.
pub const FILES_TOTAL: u64 = 16 << 20;

/// The most lockfiles afk reads of one change.
pub const LOCKFILES_MAX: usize = 200;

/// One lockfile's path, kind, and what moved in it (or why it did not read).
pub(super) type LockMoves = (
    String,
    afk_core::gate::deps::Lockfile,
    Result<Vec<(String, afk_core::gate::deps::Moved)>, Unreadable>,
);

#[cfg(test)]
mod tests {
    use super::*;

    use super::super::tests_git::git;

    /// A hundred manifests and a lockfile read at both ends by one batch:
    /// each one's moves, a file added there read against nothing, and a
    /// file past its bound or not what its name says not read, said why.
    #[test]
    fn every_touched_lockfile_and_manifest_is_read_at_both_ends_or_said_not_read() {
        use afk_core::gate::deps::{Lockfile, Moved};
        let dir = std::env::temp_dir().join(format!("afk-git-summary-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let repo = dir.join("repo");
        std::fs::create_dir_all(&repo).unwrap();
        git(&repo, &["init", "-q", "-b", "main"]);
        let pkg = |v: &str| format!("{{\"dependencies\": {{\"left-pad\": \"{v}\"}}}}\n");
        for i in 0..100 {
            std::fs::create_dir_all(repo.join(format!("p{i:03}"))).unwrap();
            std::fs::write(repo.join(format!("p{i:03}/package.json")), pkg("1.0.0")).unwrap();
        }
        git(&repo, &["add", "-A"]);
        git(&repo, &["commit", "-q", "-m", "base"]);
        let from = git(&repo, &["rev-parse", "HEAD"]);
        for i in 0..100 {
            std::fs::write(repo.join(format!("p{i:03}/package.json")), pkg("1.0.1")).unwrap();
        }
        std::fs::write(
            repo.join("Cargo.lock"),
            "[[package]]\nname = \"bytes\"\nversion = \"1.5.0\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\n",
        )
        .unwrap();
        std::fs::write(repo.join("go.sum"), "x".repeat((FILE_MAX + 1) as usize)).unwrap();
        std::os::unix::fs::symlink("/etc/passwd", repo.join("requirements.txt")).unwrap();
        git(&repo, &["add", "-A"]);
        git(&repo, &["commit", "-q", "-m", "work"]);
        let sha = git(&repo, &["rev-parse", "HEAD"]);
        let ws = Workspace::new(&dir, "t", None);
        let moves = ws.lockfile_moves(&repo.join(".git"), &from, &sha).unwrap();
        assert_eq!(moves.len(), 103, "{moves:?}");
        let of = |p: &str| moves.iter().find(|(path, _, _)| path == p).unwrap();
        let (_, kind, m) = of("p042/package.json");
        assert!(kind.manifest().is_some());
        assert_eq!(
            m.as_ref().unwrap(),
            &vec![(
                "left-pad".to_string(),
                Moved::Changed(vec!["1.0.0".into()], vec!["1.0.1".into()])
            )]
        );
        let (_, kind, m) = of("Cargo.lock");
        assert_eq!(*kind, Lockfile::Cargo);
        assert_eq!(
            m.as_ref().unwrap(),
            &vec![("bytes".to_string(), Moved::Added(vec!["1.5.0".into()]))]
        );
        assert_eq!(of("go.sum").2.as_ref().unwrap_err().0, "over 4 MiB");
        // a link named as a lockfile is not what its name says
        assert_eq!(
            of("requirements.txt").2.as_ref().unwrap_err().0,
            "a link, not a file"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
