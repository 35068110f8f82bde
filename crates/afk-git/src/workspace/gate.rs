//! The change gate's reading of a turn (docs/security.md#the-change-gate):
//! what each of the turn's new commits did to which paths, and the run's
//! change as a whole (its paths, its patch's size, its largest files), read
//! from afk's own cache, streamed and bounded, and judged by
//! `afk_core::gate`.

use super::{Place, Workspace};
use afk_core::gate::{Commit, Did, Reason, RunChange, Unread};
use anyhow::Result;
use std::path::Path;

/// What afk reads of a turn's paths and of the run's patch at most.
pub(super) const READ_BYTES: u64 = 16 << 20;

/// The most links afk reads at a turn's head: past that, the turn is not
/// read whole.
const LINKS_MAX: usize = 4096;

impl Workspace {
    /// Why the gate refuses the commits `start..work` of run `p` (empty:
    /// they pass); no policy: they pass. The gate reads whole, or refuses:
    /// a read that reaches its bound, a lockfile that does not parse, is a
    /// reason of its own ([`Unread`]), never a pass of the rest.
    pub(super) fn gate_in(
        &self,
        cache: &Path,
        p: &Place,
        start: &str,
        work: &str,
    ) -> Result<Vec<Reason>> {
        let Some(policy) = &self.gate else {
            return Ok(vec![]);
        };
        let mut unread: Vec<Unread> = vec![];
        let commits = self.commits_paths(cache, start, work, &mut unread)?;
        let run = self.run_change(cache, p, work, policy.max_bytes, &mut unread)?;
        // every lockfile the new commits touch is read whole (one that does
        // not read refuses the turn), and the versions they add or move to
        // are judged against the advisories
        let mut deps: Vec<afk_core::gate::NewDep> = vec![];
        let mut sources: Vec<Reason> = vec![];
        match self.lockfile_moves(cache, start, work) {
            Err(why) => unread.push(Unread::Turn {
                what: "the lockfiles the new commits touch",
                why: why.0,
            }),
            Ok(moves) => {
                for (path, kind, moved) in moves {
                    match moved {
                        Ok(m) => {
                            // a field the parser does not read, added or
                            // changed: the file is not read whole
                            if let Some(why) = afk_core::gate::deps::unread_field(&m) {
                                unread.push(Unread::File {
                                    path: path.clone(),
                                    why: why.0,
                                });
                            }
                            deps.extend(afk_core::gate::new_deps(&path, kind, &m));
                            sources
                                .extend(afk_core::gate::foreign_sources(policy, &path, kind, &m));
                        }
                        Err(why) => unread.push(Unread::File { path, why: why.0 }),
                    }
                }
            }
        }
        // the advisories are read only now, for a turn that moves a
        // dependency; a folder that is not one forwards nothing
        if let Some(adv) = &policy.advisories {
            for d in &deps {
                adv.hits(d.ecosystem, &d.name, &d.version)
                    .map_err(|why| anyhow::Error::new(crate::workspace::AdvisoriesUnread(why.0)))?;
            }
        }
        let mut reasons = afk_core::gate::judge(policy, &commits, &run, &deps);
        reasons.extend(self.links_judged(cache, work, &commits, &mut unread)?);
        reasons.extend(sources);
        // where a commit's message resolves work items (Azure DevOps), each
        // new commit may resolve the run's own work item only; beside a
        // tracker, none may act there (a Smart Commit, a closing word)
        if !policy.resolving.is_empty() || !policy.tracker.0.is_empty() {
            let own = p
                .branch
                .strip_prefix("afk/issue-")
                .and_then(|n| n.parse::<u64>().ok())
                .unwrap_or(0);
            // a tracker run's key, as its branch holds it (lower case)
            let own_key = p.branch.strip_prefix("afk/issue-").unwrap_or("");
            for (short, message) in self.commit_messages(cache, start, work, &mut unread)? {
                reasons.extend(afk_core::gate::resolves_others(
                    policy, own, &short, &message,
                ));
                reasons.extend(afk_core::gate::acts_in_tracker(
                    policy, own_key, &short, &message,
                ));
            }
        }
        reasons.extend(unread.into_iter().map(Reason::Unread));
        Ok(reasons)
    }

    /// The gate's reasons through git's links (`afk_core::gate::links`):
    /// the links at `work` (`git ls-tree -r`, streamed, only links kept, at
    /// most [`LINKS_MAX`]), their texts by one `git cat-file --batch`, and
    /// which of the paths the turn's new links lead to are folders; what
    /// was not read whole is a reason in `unread`.
    fn links_judged(
        &self,
        cache: &Path,
        work: &str,
        commits: &[Commit],
        unread: &mut Vec<Unread>,
    ) -> Result<Vec<Reason>> {
        use afk_core::gate::links::{Link, targets_to_ask, through_links};
        let Some(policy) = &self.gate else {
            return Ok(vec![]);
        };
        let not_read = |why: String| Unread::Turn {
            what: "the links at the turn's head",
            why,
        };
        // the tree's listing is bounded by what it holds (a large
        // repository's is long), the links kept by their number
        let mut left = self.gate_read.saturating_mul(4);
        let mut found: Vec<(String, String)> = vec![];
        let mut many = false;
        let args = ["ls-tree", "-r", "-z", "--full-tree", work];
        let cut = self.read_split(cache, &args, b'\0', &mut left, |entry| {
            let Some((meta, path)) = entry.split_once('\t') else {
                return;
            };
            let mut meta = meta.split(' ');
            if meta.next() != Some("120000") {
                return;
            }
            if found.len() >= LINKS_MAX {
                many = true;
                return;
            }
            let oid = meta.nth(1).unwrap_or_default().to_string();
            found.push((path.to_string(), oid));
        })?;
        if cut {
            unread.push(not_read(over(self.gate_read.saturating_mul(4))));
            return Ok(vec![]);
        }
        if many {
            unread.push(not_read(format!("more than {LINKS_MAX} links")));
            return Ok(vec![]);
        }
        if found.is_empty() {
            return Ok(vec![]);
        }
        let oids: Vec<String> = found.iter().map(|(_, oid)| oid.clone()).collect();
        let mut links: Vec<Link> = vec![];
        for ((path, _), text) in found.into_iter().zip(self.read_blobs(cache, &oids)?) {
            match text {
                Ok(Some(target)) => links.push(Link { path, target }),
                Ok(None) => {}
                Err(why) => {
                    unread.push(not_read(format!("the link {path:?}: {}", why.0)));
                    return Ok(vec![]);
                }
            }
        }
        let ask = targets_to_ask(commits, &links);
        let folders = self.folders_at(cache, work, &ask)?;
        Ok(through_links(policy, commits, &links, &folders))
    }

    /// Which of `paths` are folders at `rev` (`git ls-tree`, one call, the
    /// paths taken literally).
    fn folders_at(
        &self,
        cache: &Path,
        rev: &str,
        paths: &[String],
    ) -> Result<std::collections::BTreeSet<String>> {
        if paths.is_empty() {
            return Ok(Default::default());
        }
        let mut args = vec!["--literal-pathspecs", "ls-tree", "-z", rev, "--"];
        args.extend(paths.iter().map(String::as_str));
        let out = self.git.run(Some(cache), None, &args, None)?;
        Ok(out
            .split('\0')
            .filter_map(|entry| {
                let (meta, path) = entry.trim_start_matches('\n').split_once('\t')?;
                (meta.split(' ').nth(1) == Some("tree")).then(|| path.to_string())
            })
            .collect())
    }

    /// Each new commit's short id and message, read whole up to the gate's
    /// bound; a log longer than that is a reason in `unread`.
    fn commit_messages(
        &self,
        cache: &Path,
        start: &str,
        work: &str,
        unread: &mut Vec<Unread>,
    ) -> Result<Vec<(String, String)>> {
        let range = format!("{start}..{work}");
        let args = ["log", "--no-color", "--format=%x00%h%n%B", &range];
        let mut left = self.gate_read;
        let mut out: Vec<(String, String)> = vec![];
        let cut = self.read_lines(cache, &args, &mut left, |l| {
            if let Some(short) = l.strip_prefix('\0') {
                out.push((short.trim().to_string(), String::new()));
            } else if let Some((_, message)) = out.last_mut() {
                message.push_str(l);
                message.push('\n');
            }
        })?;
        if cut {
            unread.push(Unread::Turn {
                what: "the new commits' messages",
                why: over(self.gate_read),
            });
        }
        Ok(out)
    }

    /// Each new commit's changes, a merge's only where it differs from
    /// every parent (`--cc`), renames as a deletion and an addition; a list
    /// longer than [`READ_BYTES`] is a reason in `unread`.
    fn commits_paths(
        &self,
        cache: &Path,
        start: &str,
        work: &str,
        unread: &mut Vec<Unread>,
    ) -> Result<Vec<Commit>> {
        let range = format!("{start}..{work}");
        let args = [
            "log",
            "--no-color",
            "--no-renames",
            "--no-ext-diff",
            "--name-status",
            "--cc",
            "-z",
            "--format=%x01%h",
            &range,
        ];
        let mut left = self.gate_read;
        let mut out = String::new();
        let cut = self.read_lines(cache, &args, &mut left, |l| {
            out.push_str(l);
            out.push('\n');
        })?;
        if cut {
            unread.push(Unread::Turn {
                what: "the new commits' paths and modes",
                why: over(self.gate_read),
            });
        }
        Ok(parse_name_status(&out))
    }

    /// The paths that differ from `from` to `to` (`--no-renames`), read
    /// whole up to [`READ_BYTES`]; None: the list is longer than that.
    pub(super) fn changed_paths(
        &self,
        cache: &Path,
        from: &str,
        to: &str,
    ) -> Result<Option<Vec<String>>> {
        let args = [
            "diff",
            "--no-color",
            "--no-renames",
            "--name-only",
            "-z",
            from,
            to,
        ];
        let mut left = self.gate_read;
        let mut names = String::new();
        let cut = self.read_lines(cache, &args, &mut left, |l| {
            names.push_str(l);
            names.push('\n');
        })?;
        if cut {
            return Ok(None);
        }
        Ok(Some(
            names
                .split('\0')
                .map(|n| n.trim_matches('\n'))
                .filter(|n| !n.is_empty())
                .map(str::to_string)
                .collect(),
        ))
    }

    /// The run's change: from the merge base of `work` and the run's base
    /// branch (as afk fetched it) to `work`; what it could not read whole
    /// is a reason in `unread`.
    fn run_change(
        &self,
        cache: &Path,
        p: &Place,
        work: &str,
        max_bytes: u64,
        unread: &mut Vec<Unread>,
    ) -> Result<RunChange> {
        let base_ref = self
            .git
            .run(
                Some(cache),
                None,
                &["symbolic-ref", "-q", &Self::run_ref(p, "base")],
                None,
            )
            .unwrap_or_default();
        let from = match base_ref.trim() {
            "" => None,
            b => self
                .git
                .run(Some(cache), None, &["merge-base", b, work], None)
                .ok(),
        };
        let Some(from) = from.map(|f| f.trim().to_string()).filter(|f| !f.is_empty()) else {
            return Ok(RunChange::default());
        };
        let Some(all) = self.changed_paths(cache, &from, work)? else {
            unread.push(Unread::Turn {
                what: "the run's changed paths",
                why: over(self.gate_read),
            });
            return Ok(RunChange::default());
        };
        let mut change = RunChange {
            paths: all.iter().take(afk_core::gate::NAMED).cloned().collect(),
            files: all.len() as u64,
            ..RunChange::default()
        };
        // the patch's length, file by file, read no further than the limit
        // needs: one byte past it refuses the run as too large; a limit
        // past what afk reads is a patch not read whole
        if max_bytes == 0 {
            return Ok(change);
        }
        let cap = max_bytes.saturating_add(1).min(self.gate_read);
        let mut left = cap;
        let mut sizes: Vec<(String, u64)> = vec![];
        let args = [
            "diff",
            "--no-color",
            "--no-ext-diff",
            "--no-textconv",
            "--binary",
            "--no-renames",
            &from,
            work,
        ];
        let cut = self.read_lines(cache, &args, &mut left, |l| {
            if let Some(rest) = l.strip_prefix("diff --git a/") {
                let name = rest.split(" b/").next().unwrap_or(rest).to_string();
                sizes.push((name, 0));
            }
            if let Some(last) = sizes.last_mut() {
                last.1 += l.len() as u64 + 1;
            }
        })?;
        change.bytes = cap - left;
        if cut && cap <= max_bytes {
            unread.push(Unread::Turn {
                what: "the run's patch",
                why: over(self.gate_read),
            });
        }
        sizes.sort_by_key(|s| std::cmp::Reverse(s.1));
        sizes.truncate(5);
        change.largest = sizes;
        Ok(change)
    }
}

/// A bound reached, as a reason says it.
fn over(bytes: u64) -> String {
    match bytes >> 20 {
        0 => format!("longer than the {bytes} bytes afk reads of it"),
        mib => format!("longer than the {mib} MiB afk reads of it"),
    }
}

/// `git log --name-status -z --format=%x01%h` as commits and their changes.
fn parse_name_status(out: &str) -> Vec<Commit> {
    let mut commits: Vec<Commit> = vec![];
    let mut fields = out.split('\0').map(|f| f.trim_matches('\n'));
    while let Some(f) = fields.next() {
        if f.is_empty() {
            continue;
        }
        // a commit's line, and after it, in the same field or the next, the
        // status of its first path
        let status = match f.find('\u{1}') {
            Some(at) => {
                let mut lines = f[at + 1..].lines();
                commits.push(Commit {
                    short: lines.next().unwrap_or("").trim().to_string(),
                    changes: vec![],
                });
                let rest: String = lines.collect::<Vec<_>>().join("");
                if rest.trim().is_empty() {
                    continue;
                }
                rest
            }
            None => f.to_string(),
        };
        let Some(did) = Did::of_letter(&status) else {
            continue;
        };
        let Some(path) = fields.next() else { break };
        if let Some(c) = commits.last_mut() {
            c.changes.push((did, path.trim_matches('\n').to_string()));
        }
    }
    commits
}

#[cfg(test)]
mod tests {
    use super::*;

    use super::super::tests_git::git;

    /// A turn past each bound is refused naming what was not read, and
    /// what is read stays within the bound: the gate reads whole, or
    /// refuses; within the bounds the same turn reads whole.
    #[test]
    fn a_turn_past_each_bound_is_not_read_whole_and_so_refused() {
        let dir = std::env::temp_dir().join(format!("afk-git-gate-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let repo = dir.join("repo");
        std::fs::create_dir_all(&repo).unwrap();
        git(&repo, &["init", "-q", "-b", "main"]);
        git(&repo, &["commit", "-q", "--allow-empty", "-m", "start"]);
        let start = git(&repo, &["rev-parse", "HEAD"]);
        for i in 0..200 {
            std::fs::write(
                repo.join(format!("file-with-a-long-name-{i:04}.txt")),
                "x\n",
            )
            .unwrap();
        }
        std::fs::create_dir_all(repo.join(".github/workflows")).unwrap();
        // the protected path sorts after every padding file
        std::fs::write(repo.join("zz.drone.yml"), "x\n").unwrap();
        git(&repo, &["add", "-A"]);
        git(&repo, &["commit", "-q", "-m", "work"]);
        let work = git(&repo, &["rev-parse", "HEAD"]);
        let gd = repo.join(".git");
        let mut ws = Workspace::new(&dir, "t", None);
        // within the bound: every path read, nothing unread
        let mut unread = vec![];
        let commits = ws.commits_paths(&gd, &start, &work, &mut unread).unwrap();
        assert!(unread.is_empty(), "{unread:?}");
        assert_eq!(commits[0].changes.len(), 201);
        assert_eq!(
            ws.changed_paths(&gd, &start, &work)
                .unwrap()
                .map(|p| p.len()),
            Some(201)
        );
        // past it: said, and what was read is within the bound
        ws.gate_read = 1000;
        let commits = ws.commits_paths(&gd, &start, &work, &mut unread).unwrap();
        assert!(
            commits.iter().map(|c| c.changes.len()).sum::<usize>() < 50,
            "{commits:?}"
        );
        assert!(
            matches!(&unread[..], [Unread::Turn { what, why }] if what.contains("paths and modes") && why.contains("1000 bytes")),
            "{unread:?}"
        );
        assert_eq!(ws.changed_paths(&gd, &start, &work).unwrap(), None);
        let lines =
            afk_core::gate::lines(&unread.into_iter().map(Reason::Unread).collect::<Vec<_>>());
        assert!(
            lines[0].contains("the gate forwards nothing it has not read whole"),
            "{lines:?}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_logs_name_status_is_read_commit_by_commit() {
        let out = "\u{1}aaa111\n\nM\0.github/workflows/ci.yml\0A\0src/a b.rs\0\u{1}bbb222\n\nD\0old.txt\0";
        let c = parse_name_status(out);
        assert_eq!(c.len(), 2, "{c:?}");
        assert_eq!(c[0].short, "aaa111");
        assert_eq!(
            c[0].changes,
            vec![
                (Did::Modified, ".github/workflows/ci.yml".into()),
                (Did::Added, "src/a b.rs".into())
            ]
        );
        assert_eq!(c[1].changes, vec![(Did::Deleted, "old.txt".into())]);
    }
}
