//! Which PR is the run's: the one rule (`core::ci::belongs`, with its table
//! test) that finding the run's PR (`settle.rs`), opening afk's own
//! (`forward.rs`) and updating its branch (`decide.rs`) all ask.

use super::lists::Watch;
use crate::core::ci::{self, PrFacts, RunIdentity};
use crate::forge::PullRequest;
use crate::store::runs::Run;
use crate::types::IssueNumber;
use anyhow::Result;

/// afk's login where afk opens the run's PR (`workspace = "afk"`); None
/// where the agent does.
pub(super) fn afks_login(w: &Watch) -> Result<Option<String>> {
    let afks = w.t.workspace.afks();
    Ok(if afks { Some(w.me()?) } else { None })
}

pub(super) fn identity<'a>(w: &'a Watch, run: &'a Run, me: Option<&'a str>) -> RunIdentity<'a> {
    RunIdentity {
        repo: &run.repo,
        branch: &run.branch,
        agent_login: &w.t.config().runner.agent_login,
        afk_login: me,
    }
}

/// Whether a PR is the run's, and how: the one rule (`core::ci::belongs`)
/// that finding the run's PR, opening afk's own and updating its branch
/// all ask.
pub(super) fn belongs(w: &Watch, run: &Run, p: &PullRequest) -> Result<Option<ci::Belongs>> {
    let me = afks_login(w)?;
    let words = w.t.settled.profile.closing_words;
    Ok(ci::belongs(
        &facts(p, run.issue, words),
        &identity(w, run, me.as_deref()),
    ))
}

pub(super) fn facts<'a>(p: &'a PullRequest, issue: IssueNumber, words: &[&str]) -> PrFacts<'a> {
    PrFacts {
        number: p.number,
        head_ref: &p.head.name,
        head_repo: p.head_repo(),
        author: p.author(),
        closes_issue: crate::core::ci::says_closes(p.body.as_deref().unwrap_or(""), issue, words),
    }
}
