//! What a dead poll tick left: every claim still `dispatching` resolved by
//! the agent's own start record (`core::dispatch::dead_claim`). Poll runs
//! it first; watch runs it when no poll holds the lock.

use crate::core::dispatch::{self, DeadClaim};
use crate::core::run_state::RunStatus;
use crate::tick::{ErrorItem, Tick};

/// Resolve every `dispatching` claim at once: started → recorded (the label
/// follows in [`reconcile_labels`]); never started → failed, so the issue is
/// eligible again in this same tick. Call only while holding the poll lock.
pub fn recover_claims(t: &Tick) -> Vec<ErrorItem> {
    let (runner, store) = (t.runner.as_ref(), t.store());
    let mut errors = vec![];
    let claims = match store.runs_in_each(&[RunStatus::Dispatching]) {
        Ok(v) => v,
        Err(e) => return vec![ErrorItem::msg("", None, format!("{e:#}"))],
    };
    for r in claims {
        let r = match r {
            Ok(r) => r,
            Err(bad) => {
                errors.push(ErrorItem::unreadable(&bad, ""));
                continue;
            }
        };
        let run_dir = t.run_dir(&r);
        let record = match runner.start_record(&r.id.to_string(), &run_dir) {
            Ok(record) => record,
            Err(e) => {
                // no answer decides nothing: the claim waits for the next tick
                errors.push(ErrorItem::msg(
                    &r.repo,
                    Some(r.issue),
                    format!("run {}: {e:#}", r.id),
                ));
                continue;
            }
        };
        let res = match dispatch::dead_claim(record, r.runner_kind) {
            DeadClaim::Started(h) => store
                .mark_started(r.id, &run_dir.to_string_lossy(), &h)
                .inspect(|()| crate::run_files::start_recorded(&run_dir)),
            DeadClaim::NeverStarted { warn_thread } => {
                if warn_thread {
                    crate::log::warn(&format!(
                        "run {} on {}#{} was interrupted while starting an agent thread; if the service started one, stop it there",
                        r.id, r.repo, r.issue
                    ));
                }
                store.mark_failed(r.id, "interrupted before the agent was started")
            }
        };
        if let Err(e) = res {
            errors.push(ErrorItem::msg(
                &r.repo,
                Some(r.issue),
                format!("run {}: {e:#}", r.id),
            ));
        }
    }
    errors
}
