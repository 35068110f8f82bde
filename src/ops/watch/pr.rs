//! The run's PR, found once a tick (settle's first read of the forge): the
//! one rule that says which PR is the run's (`core::ci::belongs`, chosen
//! among candidates by `core::ci::choose_pr`, both table-tested) asked over
//! the repo's open PRs, the recorded one and, failing those, the recently
//! closed ones, each list read once a tick (`Watch::pulls`). What it
//! finds travels on ([`Found`]): forwarding opens afk's
//! PR only when none is found (`core::workspace_pr::after_push`), the
//! conversation is heard on it, and a branch update asks how it was the
//! run's (`Seen::afk_branch`), so no later phase looks for it again.

use super::lists::{Shared, Watch, again};
use crate::core::ci::{self, Belongs, PrFacts, RunIdentity};
use crate::forge::{Failure, ForgeError, PullRequest};
use crate::store::runs::Run;
use crate::types::RepoName;
use anyhow::Result;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// The run's PR and how it is the run's.
pub(crate) type Found = Option<(PullRequest, Belongs)>;

/// The run's PR as the tick's lists hold it: among the repo's open PRs (one
/// list per repo per tick) and the recorded one (fetched again when it is no
/// longer open), else among the recently closed ones. A recorded PR that no
/// longer qualifies is dropped.
pub(crate) fn find(w: &Watch, run: &Run) -> Result<Found> {
    let mine = Mine::of(w, run)?;
    let mut candidates = w.pulls(&run.repo, true)?;
    if let Some(n) = run.pr_number
        && !candidates.iter().any(|p| p.number == n)
    {
        match w.t.forge()?.pull(&run.repo, n) {
            Ok(p) => candidates.push(p),
            Err(e) if ForgeError::kind_of(&e) == Some(Failure::NotFound) => {}
            Err(e) => return Err(e),
        }
    }
    if let Some(found) = mine.choose(candidates) {
        return Ok(Some(found));
    }
    Ok(mine.choose(w.pulls(&run.repo, false)?))
}

/// A PR afk has just opened or read again for the run, with how it is the
/// run's (`None`: it is not, and is not the run's PR).
pub(crate) fn judge(w: &Watch, run: &Run, p: PullRequest) -> Result<Found> {
    Ok(Mine::of(w, run)?.choose(vec![p]))
}

/// Who the run's PR is by (`core::ci::RunIdentity`) and the words that close
/// its issue.
struct Mine<'a> {
    run: &'a Run,
    agent_login: &'a str,
    /// afk's login where afk opens the run's PR (`workspace = "afk"`)
    me: Option<String>,
    words: &'a [&'a str],
}

impl<'a> Mine<'a> {
    fn of(w: &'a Watch, run: &'a Run) -> Result<Mine<'a>> {
        Ok(Mine {
            run,
            agent_login: &w.t.settled.agent_login,
            me: if w.t.workspace.afks() {
                Some(w.me()?)
            } else {
                None
            },
            words: w.t.settled.profile.closing_words,
        })
    }

    fn choose(&self, v: Vec<PullRequest>) -> Found {
        let who = RunIdentity {
            repo: &self.run.repo,
            branch: &self.run.branch,
            agent_login: self.agent_login,
            afk_login: self.me.as_deref(),
            recorded: self.run.pr_number,
        };
        let facts: Vec<PrFacts> = v.iter().map(|p| self.facts(p)).collect();
        let (n, how) = ci::choose_pr(&facts, &who)?;
        v.into_iter().find(|p| p.number == n).map(|p| (p, how))
    }

    fn facts<'p>(&self, p: &'p PullRequest) -> PrFacts<'p> {
        let body = p.body.as_deref().unwrap_or("");
        PrFacts {
            number: p.number,
            head_ref: &p.head.name,
            head_repo: p.head_repo(),
            author: p.author(),
            closes_issue: ci::says_closes(body, self.run.issue, self.words),
        }
    }
}

impl Watch<'_> {
    /// The repo's open (or recently closed) pull requests, one list per tick.
    pub fn pulls(&self, repo: &RepoName, open: bool) -> Result<Vec<PullRequest>> {
        shared(&self.pulls, (repo.clone(), open), || {
            if open {
                self.t.forge()?.open_pulls(repo)
            } else {
                self.t.forge()?.recent_closed_pulls(repo)
            }
        })
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
