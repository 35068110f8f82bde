//! One watch tick as its runs see it ([`Watch`]: the tick, and what its
//! runs share within it): the per-repo lists every run of a repo shares,
//! fetched at most once and all at once, and afk's own login: caches whose
//! errors keep their type.

use crate::forge::{PullRequest, fan_out};
use crate::store::runs::Run;
use crate::tick::Tick;
use crate::types::{IssueNumber, RepoName};
use anyhow::Result;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

/// A per-tick answer shared by the runs that need it; its error keeps its
/// type (a `ForgeError` that used up its retries stays one), see [`again`].
pub(super) type Cached<T> = Result<T, Arc<anyhow::Error>>;
type Shared<T> = Arc<OnceLock<Cached<T>>>;
pub(super) type PullLists = Mutex<HashMap<(RepoName, bool), Shared<Vec<PullRequest>>>>;

pub(super) type Labelled = Mutex<HashMap<RepoName, Shared<Vec<IssueNumber>>>>;

/// One watch tick: the [`Tick`] (every edge, the config, the moment) and
/// what its runs share within it, read at most once per tick: afk's login,
/// each repo's PR and label lists, the PRs the tick opened. No edge is
/// copied in here: a step reaches them through `t`.
pub(crate) struct Watch<'a> {
    pub t: &'a Tick<'a>,
    /// afk's own login: only its comments are afk's.
    pub me: OnceLock<Cached<String>>,
    pub(super) pulls: PullLists,
    pub(super) labelled: Labelled,
    /// the PRs this tick opened (docs/how-it-works.md#the-workspace): runs find
    /// them as if listed
    pub(super) opened: Mutex<Vec<(RepoName, crate::forge::PullRequest)>>,
    /// what the tick went on without, per run (`note`)
    pub notes: Mutex<Vec<(crate::types::RunId, String)>>,
}

impl Watch<'_> {
    /// Time since the run was dispatched (zero when the clock went backwards).
    pub fn age(&self, run: &Run) -> std::time::Duration {
        let dispatched = crate::clock::parse(&run.created_at).unwrap_or(self.t.now);
        crate::core::progress::since(dispatched, self.t.now)
    }

    /// Something the tick could not do for `run` and went on without: logged,
    /// and said in the run's line of the report.
    pub fn note(&self, run: &Run, text: String) {
        crate::log::warn(&format!(
            "{}#{} run {}: {text}",
            run.repo, run.issue, run.id
        ));
        self.notes.lock().unwrap().push((run.id, text));
    }

    pub fn run_dir(&self, run: &Run) -> PathBuf {
        self.t.run_dir(run)
    }
}

fn shared<T: Clone>(
    map: &Mutex<HashMap<(RepoName, bool), Shared<T>>>,
    key: (RepoName, bool),
    f: impl FnOnce() -> Result<T>,
) -> Result<T> {
    let cell = map.lock().unwrap().entry(key).or_default().clone();
    cell.get_or_init(|| f().map_err(Arc::new))
        .clone()
        .map_err(|e| again(&e))
}

/// A cached error handed out again: the same words, and a forge error is
/// still a `ForgeError` of the same kind, so a call that exhausted its
/// retries records its `transient_retry` lesson whichever run reports it.
fn again(e: &anyhow::Error) -> anyhow::Error {
    use crate::forge::ForgeError;
    let Some(f) = e.downcast_ref::<ForgeError>() else {
        return anyhow::anyhow!("{e}");
    };
    let copy = f.clone();
    let words = e.to_string();
    if words == copy.to_string() {
        anyhow::Error::new(copy)
    } else {
        anyhow::Error::new(copy).context(words)
    }
}

impl Watch<'_> {
    /// The repo's open (or recently closed) pull requests, one list per tick.
    pub fn pulls(&self, repo: &RepoName, open: bool) -> Result<Vec<PullRequest>> {
        shared(&self.pulls, (repo.clone(), open), || {
            if open {
                self.t.forge.open_pulls(repo)
            } else {
                self.t.forge.recent_closed_pulls(repo)
            }
        })
    }

    /// The PRs of `repo` this tick opened itself.
    pub fn opened(&self, repo: &RepoName) -> Vec<PullRequest> {
        self.opened
            .lock()
            .unwrap()
            .iter()
            .filter(|(r, _)| r == repo)
            .map(|(_, p)| p.clone())
            .collect()
    }

    /// A PR this tick opened: found by every later look at the repo's PRs.
    pub fn remember_opened(&self, repo: &RepoName, pr: PullRequest) {
        self.opened.lock().unwrap().push((repo.clone(), pr));
    }

    /// The repo's open issues carrying the in-progress label, one list per tick.
    pub fn labelled(&self, repo: &RepoName) -> Result<Vec<IssueNumber>> {
        let cell = self
            .labelled
            .lock()
            .unwrap()
            .entry(repo.clone())
            .or_default()
            .clone();
        cell.get_or_init(|| {
            self.t
                .forge
                .issues_with_label(repo, &self.t.config().poll.in_progress_label)
                .map(|v| v.into_iter().map(|i| i.number).collect())
                .map_err(Arc::new)
        })
        .clone()
        .map_err(|e| again(&e))
    }

    /// afk's own account, asked once per tick (`GET /user`).
    pub fn me(&self) -> Result<String> {
        self.me
            .get_or_init(|| self.t.forge.me().map(|u| u.login).map_err(Arc::new))
            .clone()
            .map_err(|e| again(&e))
    }
}

/// The per-repo lists every run of a repo shares, fetched first and all at
/// once, so no worker waits on another's list. Errors stay in the cache and
/// are reported by each run that needs them. Then the runner's one look at
/// every agent (kubernetes: one Job list, one pod list).
pub(super) fn prefetch(w: &Watch, runs: &[Run]) {
    let mut repos: Vec<RepoName> = runs.iter().map(|r| r.repo.clone()).collect();
    repos.sort();
    repos.dedup();
    let lists: Vec<(RepoName, bool)> = repos
        .iter()
        .flat_map(|r| [(r.clone(), true), (r.clone(), false)])
        .collect();
    fan_out(&lists, w.t.config().forge.concurrency, |(repo, pulls)| {
        let _ = if *pulls {
            w.pulls(repo, true).map(|_| ())
        } else {
            w.labelled(repo).map(|_| ())
        };
    });
    // one look at every agent at once where the runner can (kubernetes: one
    // Job list, one pod list); failing that, each run asks for itself
    if !runs.is_empty()
        && let Err(e) = w.t.runner.prefetch()
    {
        crate::log::warn(&format!("runner: {e:#}"));
    }
}
