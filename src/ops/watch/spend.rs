//! The run's spend as a tick reads it (settle's, before forwarding, and a
//! blind look's): the runner's reports and the model gateway's record over
//! the stored ledger (`runner::spend`), and what to store when it moved on.

use super::lists::Watch;
use crate::store::runs::Run;

/// The run's spend: its stored ledger, the turn it is in, what the agent wrote
/// since the last read and what the runner reports, and the model gateway's
/// metered record (whose sum, when there is one, is the run's spend; a
/// difference from the agent's own figure is a line in the run's log, once
/// per change); and the ledger to store when it moved on (`ToRecord::spend`).
pub(crate) fn read(
    w: &Watch,
    run: &Run,
    run_dir: &std::path::Path,
    seen: &crate::runner::Observed,
) -> (Option<f64>, Option<(Option<f64>, String)>) {
    let skipped_before =
        crate::core::budget::spend::Ledger::from_stored(run.spend_ledger.as_deref()).skipped_lines;
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
            crate::core::budget::spend::MAX_READ >> 20
        ));
    }
    if let Some(usd) = seen.cost_usd {
        spent.ledger.thread(usd);
    }
    // with the model gateway's record the run's spend is its sum, the
    // agent's figure kept beside it (docs/how-it-works.md#spend): a
    // difference is said
    if let Some(d) = spent.unsaid_difference() {
        let requests = spent.metered.as_ref().map_or(0, |m| m.sum().requests);
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

/// The run's spend read again once its agent was stopped: what arrived of
/// the requests its turn had in flight until the stop (the model gateway's
/// partial records, `core::gateway::aloft`, left by a keeper the stop
/// ended) is the run's spend too, kept with the run
/// (docs/how-it-works.md#spend). Read on from what `record` kept at this
/// look, so nothing counts twice.
pub(super) fn after_stop(
    w: &Watch,
    store: &crate::store::Store,
    run: &Run,
    (recorded, run_dir): (Option<&String>, &std::path::Path),
) -> anyhow::Result<()> {
    let mut kept = run.clone();
    if let Some(stored) = recorded {
        kept.spend_ledger = Some(stored.clone());
    }
    let stopped = crate::runner::Observed::only(crate::core::run_state::Agent::Vanished);
    if let (_, Some((usd, stored))) = read(w, &kept, run_dir, &stopped) {
        store.set_spend(run.id, usd, &stored)?;
    }
    Ok(())
}
