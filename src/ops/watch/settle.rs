//! Settle, the first of watch's four phases for a run: the writes that catch
//! up on the last turn, before anything watch decides on is read. A turn an
//! earlier step began and never heard back from is finished; the ended
//! turn's work is forwarded to the forge and afk's PR opened
//! (docs/how-it-works.md#the-workspace); the run's PR is found (the
//! conversation is on it, and forwarding may have just opened it); the
//! conversation is read and heard, its `/afk stop`, `hold` and `resume`
//! carried out and answered (docs/reviews.md). Settling reads what those
//! writes need (the PR lists, the comments and reviews, who may speak). What it hands on is
//! a [`Settled`]; `observe.rs` reads the rest.

use super::forward::Forward;
use super::lists::Watch;
use super::talk::Heard;
use crate::core::ci::{self, PrFacts};
use crate::forge::{Failure, ForgeError, PullRequest};
use crate::store::Store;
use crate::store::runs::Run;
use anyhow::Result;

/// A run settled: what the next phase starts from.
pub(crate) struct Settled {
    /// the agent as its runner sees it, after a pending start was finished
    pub agent: crate::runner::Observed,
    /// what forwarding the last turn met
    pub forwarded: Forward,
    /// the run's PR (only afk's: `core::ci::belongs`), as found after forwarding
    pub pr: Option<PullRequest>,
    /// the run as it stands now (a resumed hold restarted its stall clock)
    pub run: Run,
    /// the conversation: the stored talk state and the asks a turn takes
    pub heard: Heard,
    /// the run's folder (`Tick::run_dir`)
    pub run_dir: std::path::PathBuf,
    /// the run's spend as read on this tick, and its ledger to store when it
    /// moved on (`spend`, below): read before forwarding, so a PR opened
    /// now says the run's figure, not the last tick's
    pub spend: (Option<f64>, Option<(Option<f64>, String)>),
}

pub(crate) fn settle(w: &Watch, store: &Store, run: &Run) -> Result<Settled> {
    let run_dir = w.t.run_dir(run);
    if let Err(e) = w.t.runner.settle(run.handle.as_ref(), &run_dir) {
        crate::log::warn(&format!(
            "run {}: the agent is still starting: {e:#}",
            run.id
        ));
    }
    let agent = w.t.runner.observe(run.handle.as_ref(), &run_dir)?;
    let spend = spend(w, run, &run_dir, &agent);
    let forwarded = super::forward::step(w, run, &run_dir, agent.agent, spend.0)?;
    let pr = find_pr(w, run, forwarded.pr.clone())?;
    let mut run = run.clone();
    let heard = if run.state.decided() {
        Heard {
            talk: store.talk(run.id)?,
            ..Default::default()
        }
    } else {
        super::talk::hear(w, store, &mut run, pr.as_ref())?
    };
    Ok(Settled {
        agent,
        forwarded,
        pr,
        run,
        heard,
        run_dir,
        spend,
    })
}

/// The run's PR: the one forwarding just opened or pushed to, then the
/// repo's open PRs (one list per repo per tick), the recorded one fetched again when it is no longer open, else the recently
/// closed ones — and in every case only a PR that is the run's by
/// `core::ci::belongs`. A recorded PR that no longer qualifies is dropped.
fn find_pr(w: &Watch, run: &Run, pushed: Option<PullRequest>) -> Result<Option<PullRequest>> {
    let me = super::mine::afks_login(w)?;
    let who = super::mine::identity(w, run, me.as_deref());
    // what this tick opened or pushed to comes first: the list is from
    // before the push
    let mut candidates: Vec<PullRequest> = pushed.into_iter().collect();
    for p in w.pulls(&run.repo, true)? {
        if !candidates.iter().any(|c| c.number == p.number) {
            candidates.push(p);
        }
    }
    if let Some(n) = run.pr_number
        && !candidates.iter().any(|p| p.number == n)
    {
        match w.t.forge()?.pull(&run.repo, n) {
            Ok(p) => candidates.push(p),
            Err(e) if ForgeError::kind_of(&e) == Some(Failure::NotFound) => {}
            Err(e) => return Err(e),
        }
    }
    let pick = |v: &[PullRequest]| {
        let words = w.t.settled.profile.closing_words;
        let f: Vec<PrFacts> = v
            .iter()
            .map(|p| super::mine::facts(p, run.issue, words))
            .collect();
        ci::choose_pr(&f, &who).and_then(|n| v.iter().find(|p| p.number == n).cloned())
    };
    if let Some(p) = pick(&candidates) {
        return Ok(Some(p));
    }
    Ok(pick(&w.pulls(&run.repo, false)?))
}

/// The run's spend: its stored ledger, the turn it is in, what the agent wrote
/// since the last read and what the runner reports, and the model gateway's
/// metered record (whose sum, when there is one, is the run's spend; a
/// difference from the agent's own figure is a line in the run's log, once
/// per change); and the ledger to store when it moved on (`ToRecord::spend`).
pub(crate) fn spend(
    w: &Watch,
    run: &Run,
    run_dir: &std::path::Path,
    seen: &crate::runner::Observed,
) -> (Option<f64>, Option<(Option<f64>, String)>) {
    let skipped_before =
        crate::core::spend::Ledger::from_stored(run.spend_ledger.as_deref()).skipped_lines;
    let mut spent = crate::runner::spend::read_now(
        w.t.runner.as_ref(),
        run_dir,
        &w.t.settled.meter,
        run.spend_ledger.as_deref(),
        run.turns,
        seen.agent != crate::core::run_state::Agent::Running,
    );
    if spent.ledger.skipped_lines > skipped_before {
        // said once: the ledger moves past the line and keeps the count
        crate::log::warn(&format!(
            "run {}: the agent wrote a line over {} MiB; skipped, it is no spend report",
            run.id,
            crate::core::spend::MAX_READ >> 20
        ));
    }
    if let Some(usd) = seen.cost_usd {
        spent.ledger.thread(usd);
    }
    // with the model gateway's record the run's spend is its sum, the
    // agent's figure kept beside it (SPEC 5.8.3): a difference is said
    if let Some(d) = spent.unsaid_difference() {
        let requests = spent.metered.as_ref().map_or(0, |m| m.tally.requests);
        let done = seen.agent != crate::core::run_state::Agent::Running;
        if crate::runner::spend::note_in_log(run_dir, &d.line(requests), done) {
            spent.said = Some(d);
        }
    }
    let stored = spent.to_stored();
    let moved =
        (run.spend_ledger.as_deref() != Some(stored.as_str())).then(|| (spent.spend(), stored));
    (spent.spend(), moved)
}
