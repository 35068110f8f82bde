//! One watch tick as its runs see it ([`Watch`]: the tick, and what its
//! runs share within it): the per-repo lists every run of a repo shares,
//! each fetched at most once (the open PRs and the in-progress issues all at
//! once, first; the recently closed PRs when a run needs them; the PR lists
//! are read by `pr.rs`, `Watch::pulls`), and afk's own login: caches whose
//! errors keep their type. What one run's step found or did travels in its
//! own values (`Settled`, `Seen`), never through here.

use crate::forge::{PullRequest, fan_out};
use crate::store::runs::Run;
use crate::tick::Tick;
use crate::types::{IssueNumber, PrNumber, RepoName};
use anyhow::Result;
use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

/// A per-tick answer shared by the runs that need it; its error keeps its
/// type (a `ForgeError` that used up its retries stays one), see [`again`].
pub(super) type Cached<T> = Result<T, Arc<anyhow::Error>>;
pub(super) type Shared<T> = Arc<OnceLock<Cached<T>>>;
pub(super) type PullLists = Mutex<HashMap<(RepoName, bool), Shared<Vec<PullRequest>>>>;

type Labelled = Mutex<HashMap<RepoName, Shared<Vec<IssueNumber>>>>;
type IssueStates = Mutex<HashMap<(RepoName, IssueNumber), Shared<IssueSeen>>>;

/// What watch read of a run's issue: open, labelled in progress, and for a
/// tracker's issue that is closed to the run, why in the report's words
/// (`moved`: the map sends it to another repository or to none;
/// `tracker-issue-gone`: not there two ticks in a row; docs/trackers.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct IssueSeen {
    pub open: bool,
    pub labelled: bool,
    pub closed_as: Option<&'static str>,
}

impl IssueSeen {
    fn new(open: bool, labelled: bool) -> Self {
        IssueSeen {
            open,
            labelled,
            closed_as: None,
        }
    }
}

/// The flag in a run's folder that its tracker issue was not there on the
/// last tick ([`Watch::gone_twice`]).
const GONE_FLAG: &str = "tracker-issue-gone";

/// One watch tick: the [`Tick`] (every edge, the config, the moment) and
/// what its runs share within it, read at most once per tick: afk's login,
/// each repo's PR and label lists. No edge is copied in here: a step reaches
/// them through `t`.
pub(crate) struct Watch<'a> {
    pub t: &'a Tick<'a>,
    /// afk's own login: only its comments are afk's.
    me: OnceLock<Cached<String>>,
    pub(super) pulls: PullLists,
    labelled: Labelled,
    issues: IssueStates,
}

impl<'a> Watch<'a> {
    /// A tick's shared lists, none read yet.
    pub fn new(t: &'a Tick<'a>) -> Self {
        Watch {
            t,
            me: OnceLock::new(),
            pulls: Mutex::default(),
            labelled: Mutex::default(),
            issues: Mutex::default(),
        }
    }
}

/// A cached error handed out again: the same words, and a forge error is
/// still a `ForgeError` of the same kind, so a call that exhausted its
/// retries records its `transient_retry` lesson whichever run reports it.
pub(super) fn again(e: &anyhow::Error) -> anyhow::Error {
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

/// A text as afk writes it on a run's issue or PR, made only by
/// [`Watch::shown`]: what writes a comment takes this, so a text is shown
/// once, with the PR the caller knows (shown again with none, the run's own
/// `!M` would lose its link).
#[derive(Debug, Clone)]
pub struct Shown<'s>(Cow<'s, str>);

impl std::ops::Deref for Shown<'_> {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl Watch<'_> {
    /// `text` as afk writes it on `run`'s issue or PR (`pr`, else the run's
    /// own): on a forge whose text links `#N` and `!M` and notifies `@name`
    /// (Azure DevOps) each of them outside a fence gets a space after its
    /// sigil, but the run's own work item and PR; elsewhere it is written as
    /// it is.
    pub fn shown<'s>(&self, run: &Run, pr: Option<PrNumber>, text: &'s str) -> Shown<'s> {
        if !self.t.settled.profile.mentions_act {
            return Shown(Cow::Borrowed(text));
        }
        let own = crate::core::azure::mention::Own {
            item: Some(run.issue.0),
            pr: pr.or(run.pr_number).map(|p| p.0),
        };
        Shown(Cow::Owned(crate::core::azure::mention::no_mentions_but(
            text, &own,
        )))
    }

    /// Whether a run's issue is open and carries the in-progress label: from
    /// the repo's list, else one GET for the issue, at most once a tick
    /// (forwarding asks before it pushes, observing before it decides).
    pub fn issue_state(&self, run: &Run) -> Result<IssueSeen> {
        let key = (run.repo.clone(), run.issue);
        let cell = self.issues.lock().unwrap().entry(key).or_default().clone();
        cell.get_or_init(|| {
            let read = || -> Result<IssueSeen> {
                if self.labelled(&run.repo)?.contains(&run.issue) {
                    return Ok(IssueSeen::new(true, true));
                }
                let issue = match self.t.forge()?.issue(&run.repo, run.issue) {
                    Ok(i) => i,
                    Err(e)
                        if e.downcast_ref::<crate::forge::tracked::IssueGone>()
                            .is_some() =>
                    {
                        return self.gone_twice(run, e);
                    }
                    Err(e) => return Err(e),
                };
                // read again: an earlier tick's "not there" no longer counts
                let _ = std::fs::remove_file(self.t.run_dir(run).join(GONE_FLAG));
                let mut seen = IssueSeen::new(
                    issue.state != crate::forge::State::Closed,
                    issue.has_label(&self.t.config().poll.in_progress_label),
                );
                // a tracker's issue the map now sends elsewhere
                // (`forge::tracked`: it reads as closed to this repository)
                let elsewhere =
                    (issue.repository.as_ref()).is_none_or(|r| r.full_name != run.repo.as_str());
                if self.t.config().tracker.is_some() && elsewhere {
                    seen.closed_as = Some("moved");
                }
                Ok(seen)
            };
            read().map_err(Arc::new)
        })
        .clone()
        .map_err(|e| again(&e))
    }

    /// A tracker's issue not there: closed (the run abandoned) when the
    /// tick before said so too (its flag in the run's folder), else this
    /// tick's error, flagged for the next. Docs: docs/trackers.md (a deleted issue).
    fn gone_twice(&self, run: &Run, e: anyhow::Error) -> Result<IssueSeen> {
        let flag = self.t.run_dir(run).join(GONE_FLAG);
        // afk's own regular file only: a link an unconfined agent left in
        // its run folder by that name is not afk's word (nor followed: the
        // write below refuses one)
        let flagged = std::fs::symlink_metadata(&flag).is_ok_and(|m| m.file_type().is_file());
        if flagged {
            crate::log::decision(&format!(
                "{}#{}: the tracker's issue was not there two ticks in a row: gone ({e:#})",
                run.repo, run.issue
            ));
            return Ok(IssueSeen {
                closed_as: Some(GONE_FLAG),
                ..IssueSeen::new(false, false)
            });
        }
        // whatever else stands there goes (a link itself, never its target)
        let _ = std::fs::remove_file(&flag);
        crate::private_files::private_write(&flag, b"the tracker said the issue is not there\n")
            .map_err(|w| anyhow::anyhow!("{e:#}; its flag {}: {w}", flag.display()))?;
        Err(e)
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
                .forge()
                .and_then(|f| f.issues_with_label(repo, &self.t.config().poll.in_progress_label))
                .map(|v| v.into_iter().map(|i| i.number).collect())
                .map_err(Arc::new)
        })
        .clone()
        .map_err(|e| again(&e))
    }

    /// afk's own account, asked once per tick (`GET /user`).
    pub fn me(&self) -> Result<String> {
        self.me
            .get_or_init(|| self.t.forge()?.me().map(|u| u.login).map_err(Arc::new))
            .clone()
            .map_err(|e| again(&e))
    }
}

/// The per-repo lists every run of a repo needs, the open PRs and the
/// in-progress issues, fetched first and all at once, so no worker waits on another's list. Errors stay in the cache and
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
