//! One live canary in a harvest tick: read its first `max_samples` outcomes
//! and its control, let `core::canary::evaluate` decide, and persist the new
//! checkpoints and the decision exactly once (`Store::record_canary`).

use super::report::{CheckpointItem, DecisionItem, EventItem, Live, Report};
use crate::core::canary::VersionStatus;
use crate::core::canary::{self, Ended, Policy};
use crate::store::Store;
use crate::store::outcomes::Key;
use crate::store::templates::{CanaryVerdict, Recorded, TemplateVersion};
use anyhow::Result;

/// The test-only knob `AFK_TEST_EXIT_AFTER=decision`: the process ends right
/// after a decision commits, before any notification, as a kill there would.
fn exit_after_decision() {
    if std::env::var("AFK_TEST_EXIT_AFTER").as_deref() == Ok("decision") {
        std::process::exit(0);
    }
}

/// The canary's first `max_samples` outcomes and its control's.
type Samples = (Vec<Ended<Key>>, Vec<Ended<Key>>);

fn samples(
    store: &Store,
    policy: &Policy,
    c: &TemplateVersion,
    current: Option<&TemplateVersion>,
) -> Result<Samples> {
    let max = policy.last_checkpoint();
    let mine = store.outcomes_of(c.id, max)?;
    let since = canary::went_live(c.canary_since.as_deref(), &c.status_at);
    let mut control = vec![];
    if let (Some(cur), Some(bound)) = (current, mine.last().map(|e| e.key.clone())) {
        control = store.control_outcomes(cur.id, since, &bound)?;
    }
    Ok((mine, control))
}

/// Evaluate one live canary and record what is new; `report` and `live`
/// collect what the tick shows.
pub fn decide(
    store: &mut Store,
    policy: &Policy,
    c: &TemplateVersion,
    report: &mut Report,
    live: &mut Vec<Live>,
) -> Result<()> {
    let current = store.template_with_status(&c.name, VersionStatus::Current)?;
    let last = store.last_checkpoint(c.id)?;
    let (mine, control) = samples(store, policy, c, current.as_ref())?;
    let eval = canary::evaluate(policy, &mine, &control, last);
    let outcomes = (c.successes + c.failures) as usize;
    let still_live = |at: Option<u32>| Live {
        template: c.name.clone(),
        version: c.version,
        outcomes,
        next: canary::next_checkpoint(policy, at),
    };
    if eval.checkpoints.is_empty() && eval.decision.is_none() {
        live.push(still_live(last));
        return Ok(());
    }
    let text = eval.decision.map(|d| {
        canary::end_text(
            policy,
            &c.name,
            c.version,
            current.as_ref().map(|v| v.version),
            d,
            eval.checkpoints.last(),
        )
    });
    let event = match store.record_canary(&CanaryVerdict {
        canary: c,
        checkpoints: &eval.checkpoints,
        decision: eval.decision,
        event_text: text.as_deref().unwrap_or(""),
    })? {
        // another tick or a person ended it first: nothing of ours happened
        Recorded::NotLive => return Ok(()),
        Recorded::Applied { event } => event,
    };
    report
        .checkpoints
        .extend(eval.checkpoints.iter().map(|cp| CheckpointItem {
            template: c.name.clone(),
            version: c.version,
            checkpoint: cp.clone(),
        }));
    match eval.decision {
        Some(d) => {
            report.decisions.push(DecisionItem {
                template: c.name.clone(),
                version: c.version,
                decision: d.result(),
                reason: d.reason(),
            });
            if let Some(kind) = event {
                report.events.push(EventItem {
                    event: kind.to_string(),
                    template: c.name.clone(),
                    version: c.version,
                    reason: d.reason().map(|r| r.to_string()),
                    text: text.unwrap_or_default(),
                });
            }
            exit_after_decision();
        }
        None => live.push(still_live(eval.checkpoints.last().map(|cp| cp.at))),
    }
    Ok(())
}
