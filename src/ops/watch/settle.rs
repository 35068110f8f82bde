//! Settle, the first of watch's four phases for a run: the writes that catch
//! up on the last turn, before anything watch decides on is read. A turn an
//! earlier step began and never heard back from is finished; the run's spend
//! is read (`spend.rs`, before forwarding); the run's PR is found, once
//! (`pr.rs`); the ended turn's work is forwarded to the forge and
//! afk's PR opened when none of afk's holds it
//! (docs/how-it-works.md#the-workspace); the conversation is read and heard,
//! its `/afk stop`, `hold` and `resume` carried out and answered
//! (docs/reviews.md). Settling reads what those writes need (the PR lists,
//! the comments and reviews, who may speak). What it hands on is a
//! [`Settled`], the value every later phase works from; `observe.rs` reads
//! the rest.

use super::forward::Forward;
use super::lists::Watch;
use super::pr::Found;
use super::talk::Heard;
use crate::store::Store;
use crate::store::runs::Run;
use anyhow::Result;

/// A run settled: what the next phase starts from.
pub(crate) struct Settled {
    /// the agent as its runner sees it, after a pending start was finished
    pub agent: crate::runner::Observed,
    /// what forwarding the last turn met
    pub forwarded: Forward,
    /// the run's PR (only afk's: `core::ci::belongs`) and how it is the
    /// run's, as it stands after forwarding
    pub found: Found,
    /// the run as it stands now (a resumed hold restarted its stall clock):
    /// every later phase works from this one
    pub run: Run,
    /// the conversation: the stored talk state and the asks a turn takes
    pub heard: Heard,
    /// the run's folder (`Tick::run_dir`)
    pub run_dir: std::path::PathBuf,
    /// the run's spend as read on this tick, and its ledger to store when it
    /// moved on (`spend.rs`): read before forwarding, so a PR opened
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
    if crate::spans::on() {
        use crate::core::run_state::Agent;
        if let Agent::Exited(_) | Agent::Vanished = agent.agent {
            let code = match agent.agent {
                Agent::Exited(c) => Some(c),
                _ => None,
            };
            crate::spans::turn_ended(store, w.t.config(), run, &run_dir, code);
        }
    }
    let spend = super::spend::read(w, run, &run_dir, &agent);
    let found = super::pr::find(w, run)?;
    let (forwarded, found) = super::forward::step(w, run, &run_dir, (agent.agent, spend.0), found)?;
    super::forward::turn_end_head(w, store, run, &agent, &found)?;
    let mut run = run.clone();
    let mut heard = if run.state.decided() {
        Heard {
            talk: store.talk(run.id)?,
            ..Default::default()
        }
    } else {
        let pr = found.as_ref().map(|(p, _)| p);
        let running = agent.agent == crate::core::run_state::Agent::Running;
        super::talk::hear(w, store, &mut run, pr, running)?
    };
    // a day's cap ends (`budget.day_continuations`): how often it continued
    // by itself, read where a day's cap is set (one count in the store)
    let b = &w.t.config().budget;
    if b.day_usd > 0.0 || b.repo_day_usd > 0.0 {
        heard.day_continuations = store.day_continuations(run.id)?;
    }
    if agent.agent == crate::core::run_state::Agent::Running
        && let Some(cents) = heard.talk.pause.limit_cents
    {
        raised_for_the_keeper(&run_dir, cents);
    }
    Ok(Settled {
        agent,
        forwarded,
        found,
        run,
        heard,
        run_dir,
        spend,
    })
}

/// A run's own `run_usd`, raised by a trusted person while its agent runs,
/// left where its keeper reads it before each request: the run's folder,
/// which the box sees read-only. Written only when it changed; a write
/// that fails is said, and the raise then holds from the next turn.
fn raised_for_the_keeper(run_dir: &std::path::Path, cents: u64) {
    let file = run_dir.join(crate::core::gateway::budget::RAISED_FILE);
    let text = format!("{{\"run_usd\": {}}}\n", cents as f64 / 100.0);
    // read without following a link, as every run file is
    let mut was = String::new();
    if crate::private_files::open_run_file(&file)
        .and_then(|f| std::io::Read::read_to_string(&mut std::io::Read::take(f, 256), &mut was))
        .is_ok()
        && was == text
    {
        return;
    }
    if let Err(e) = crate::private_files::private_replace(&file, text.as_bytes()) {
        crate::log::warn(&format!(
            "cannot leave the raised run_usd for the running turn in {}: {} (it holds from the next turn)",
            file.display(),
            afk_host::os_words(&e)
        ));
    }
}
