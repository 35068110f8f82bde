//! The revert watch of a harvest tick
//! (docs/how-it-works.md#afk-harvest-and-the-template-canary): successes merged
//! inside `revert_window` are looked up in their base branch's commit list, one
//! listing per repo and branch, in parallel. A commit whose message names a
//! watched merge is the revert only with a proof: its diff is the inverse of
//! the merge's (`core::undo`; two diffs read, the merge's once a tick), or,
//! failing that, its author has `poll.trusted_permission` (`core::dispatch`'s
//! trust rule; each login looked up once a tick per repo). Only such commits
//! cost more than the listing. A proven revert turns the success into a
//! failure, once. On a forge whose diffs carry no text (Azure DevOps) the two
//! diffs are read from afk's git cache instead: the base branch fetched once
//! per repository and tick, then `git diff -M` of each commit.

use super::report::RevertItem;
use crate::core::dispatch::{self, Trust};
use crate::core::outcome::{self, Listing, Merged};
use crate::core::undo;
use crate::forge::{Commit, Failure, FileDiff, Forge, ForgeError, fan_out};
use crate::store::Store;
use crate::tick::ErrorItem;
use crate::tick::Tick;
use crate::types::RepoName;
use std::collections::HashMap;

/// What the watch found: flips (recorded) and errors.
#[derive(Default)]
pub struct Found {
    pub reverted: Vec<RevertItem>,
    pub errors: Vec<ErrorItem>,
    /// forge requests made
    pub requests: usize,
}

/// The merged successes inside `revert_window`, each base branch listed once
/// on the tick's forge.
pub fn watch(t: &Tick) -> anyhow::Result<Found> {
    let (cfg, now) = (t.config(), t.now);
    let mut store = t.store();
    let window = cfg.harvest.revert_window;
    let mut found = Found::default();
    if window.is_zero() {
        return Ok(found);
    }
    let cutoff = crate::clock::ts(now - window);
    // a row whose repo does not parse (an edited state file) is not among them
    let rows = store.merged_successes(&cutoff)?;
    let parsed: Vec<Merged> = rows
        .iter()
        .filter_map(|r| {
            Some(Merged {
                run_id: r.run_id,
                repo: &r.repo,
                branch: &r.branch,
                merge_sha: &r.merge_sha,
                merged_at: crate::clock::parse(&r.merged_at)?,
            })
        })
        .collect();
    let listings = outcome::listings(&parsed, window, now);
    if listings.is_empty() {
        return Ok(found);
    }
    // the forge is built now, the first time harvest needs it; a build that
    // failed fails each listing
    let forge = match t.forge() {
        Ok(f) => f,
        Err(e) => {
            let failed = listings.iter().map(|l| listing_failed(l, &e));
            found.errors.extend(failed);
            return Ok(found);
        }
    };
    let lists = fan_out(&listings, cfg.forge.concurrency, |l| {
        forge.commits(l.repo, l.branch, l.since)
    });
    let cache = match cfg.profile().diffs_show_text {
        true => None,
        false => Some(Cache {
            ws: crate::workspace::Real::new(cfg, (&t.paths().git_cache, &t.paths().dir), "harvest"),
            fetched: HashMap::new(),
        }),
    };
    let mut proofs = Proofs {
        cfg,
        forge,
        cache,
        diffs: HashMap::new(),
        trust: HashMap::new(),
        refused: vec![],
    };
    flip(&mut store, &mut proofs, &listings, lists, &mut found)?;
    found.errors.append(&mut proofs.refused);
    found.requests = forge.requests();
    Ok(found)
}

/// Each listing's watched merges: the proven revert of each turns its
/// success into a failure, once.
fn flip(
    store: &mut Store,
    proofs: &mut Proofs,
    listings: &[Listing],
    lists: Vec<anyhow::Result<Vec<Commit>>>,
    found: &mut Found,
) -> anyhow::Result<()> {
    for (l, res) in listings.iter().zip(lists) {
        let commits = match res {
            Ok(c) => c,
            Err(e) => {
                found.errors.push(listing_failed(l, &e));
                continue;
            }
        };
        for m in &l.runs {
            let by = match proofs.revert_of(l.repo, l.branch, m.merge_sha, &commits) {
                Ok(Some(by)) => by,
                Ok(None) => continue,
                Err(e) => {
                    found.errors.push(e);
                    continue;
                }
            };
            let flipped = store.flip_reverted(m.run_id, by)?;
            if flipped {
                found.reverted.push(RevertItem {
                    run_id: m.run_id,
                    reverted_by: by.to_string(),
                });
            }
        }
    }
    Ok(())
}

/// A listing the forge did not answer: an error for the tick's report.
fn listing_failed(l: &Listing, e: &anyhow::Error) -> ErrorItem {
    let mut item = ErrorItem::from_err(l.repo, None, e);
    item.message = format!("reverts on {}: {e:#}", l.branch);
    item
}

/// What one tick has read to prove reverts: diffs by (repo, sha), and what
/// the trust rule said of each author by (repo, login).
struct Proofs<'a> {
    cfg: &'a crate::config::Config,
    forge: &'a dyn Forge,
    /// afk's git cache, when the forge's diffs carry no text
    cache: Option<Cache>,
    diffs: HashMap<(String, String), Vec<FileDiff>>,
    trust: HashMap<(String, String), Trust>,
    /// the lookups the forge refused (afk's account is not an admin)
    refused: Vec<ErrorItem>,
}

impl Proofs<'_> {
    /// The first commit, oldest first, that names `merge_sha` and proves it
    /// reverts it; an error (for the tick's report) when a proof could not be
    /// read: the success stays and the next tick looks again.
    fn revert_of<'c>(
        &mut self,
        repo: &RepoName,
        branch: &str,
        merge_sha: &str,
        newest_first: &'c [Commit],
    ) -> Result<Option<&'c str>, ErrorItem> {
        for c in outcome::candidates(merge_sha, newest_first) {
            let undoes = self
                .undoes((repo, branch), merge_sha, &c.sha)
                .map_err(|e| {
                    let mut item = ErrorItem::from_err(repo, None, &e);
                    item.message = format!("whether {} reverts {merge_sha}: {e:#}", c.sha);
                    item
                })?;
            if undoes || self.trusted(repo, c)? == Trust::Trusted {
                return Ok(Some(&c.sha));
            }
        }
        Ok(None)
    }

    /// Whether `sha`'s diff is the inverse of `merge_sha`'s, on `branch` of
    /// the repository.
    fn undoes(
        &mut self,
        on: (&RepoName, &str),
        merge_sha: &str,
        sha: &str,
    ) -> anyhow::Result<bool> {
        let merge = self.diff(on, merge_sha)?;
        let commit = self.diff(on, sha)?;
        Ok(undo::undoes(&merge, &commit))
    }

    /// What `sha` changed, read once a tick: as the forge shows it, or from
    /// afk's git cache.
    fn diff(
        &mut self,
        (repo, branch): (&RepoName, &str),
        sha: &str,
    ) -> anyhow::Result<Vec<FileDiff>> {
        let key = (repo.to_string(), sha.to_string());
        if let Some(d) = self.diffs.get(&key) {
            return Ok(d.clone());
        }
        let d = match self.cache.as_mut() {
            Some(c) => c.diff(self.forge, (repo, branch), sha)?,
            None => self.forge.diff(repo, sha)?,
        };
        self.diffs.insert(key, d.clone());
        Ok(d)
    }

    /// The trust rule for `c`'s author (no account: untrusted), once a tick
    /// per repo and login. A refused lookup is untrusted and reported.
    fn trusted(&mut self, repo: &RepoName, c: &Commit) -> Result<Trust, ErrorItem> {
        let Some(login) = c.author.as_deref() else {
            return Ok(Trust::Untrusted);
        };
        let key = (repo.to_string(), login.to_ascii_lowercase());
        if let Some(t) = self.trust.get(&key) {
            return Ok(t.clone());
        }
        let poll = &self.cfg.poll;
        let permission = if dispatch::needs_lookup(login, &poll.trusted_users) {
            match self.forge.permission(repo, login) {
                Ok(p) => Ok(Some(p)),
                Err(e) if ForgeError::kind_of(&e) == Some(Failure::Forbidden) => {
                    self.refused.push(ErrorItem::msg(
                        repo,
                        None,
                        format!(
                            "{e}; afk's account must be an admin of {repo} to check who wrote {} ({login}): not counted as a revert",
                            c.sha
                        ),
                    ));
                    Err(())
                }
                Err(e) => return Err(ErrorItem::from_err(repo, None, &e)),
            }
        } else {
            Ok(None)
        };
        let t = dispatch::trust(
            login,
            &[&self.cfg.runner.agent_login],
            &poll.trusted_users,
            self.cfg.poll.trusted_permission,
            crate::types::Permission::access_of(&permission),
        );
        self.trust.insert(key, t.clone());
        Ok(t)
    }
}

/// afk's git cache for the diffs a forge shows no text of: each base branch
/// fetched once a tick (a failed fetch is not tried again in the tick).
struct Cache {
    ws: crate::workspace::Real,
    /// by (repo, branch): fetched, or the fetch's error
    // the Err is a string: a fetch's error, said again for each run it concerns
    fetched: HashMap<(String, String), Result<(), String>>,
}

impl Cache {
    /// What `sha` changed against its first parent, from the cache, the
    /// branch fetched first (once a tick).
    fn diff(
        &mut self,
        forge: &dyn Forge,
        (repo, branch): (&RepoName, &str),
        sha: &str,
    ) -> anyhow::Result<Vec<FileDiff>> {
        let key = (repo.to_string(), branch.to_string());
        let fetched = match self.fetched.get(&key) {
            Some(f) => f.clone(),
            None => {
                let f = (self.ws.fetch_base(forge, repo, branch)).map_err(|e| format!("{e:#}"));
                self.fetched.insert(key, f.clone());
                f
            }
        };
        fetched.map_err(|e| anyhow::anyhow!(e))?;
        self.ws.commit_diff(forge, repo, sha)
    }
}

#[cfg(test)]
#[path = "reverts_tests.rs"]
mod tests;
