//! One live canary in a harvest tick: read its first `max_samples` outcomes
//! and its control, let `core::canary::evaluate` decide, and persist the new
//! checkpoints and the decision exactly once (`Store::record_canary`).

use super::report::{CheckpointItem, DecisionItem, EventItem, Live, Report};
use crate::commands::Ctx;
use crate::core::canary::VersionStatus;
use crate::core::canary::{self, Ended, Outcome, Policy};
use crate::store::Store;
use crate::store::outcomes::{Key, NewOutcome};
use crate::store::templates::{CanaryVerdict, Recorded, TemplateVersion};
use crate::types::RunId;
use anyhow::Result;
use std::collections::HashSet;

/// What a dry run would have written before deciding: the outcomes it would
/// record and the successes it would flip. A real tick wrote them already.
#[derive(Default)]
pub struct Overlay {
    pub new: Vec<NewOutcome>,
    pub flips: HashSet<RunId>,
}

impl Overlay {
    fn apply(&self, list: &mut Vec<Ended<Key>>, extra: impl Iterator<Item = Ended<Key>>) {
        list.extend(extra);
        for e in list.iter_mut() {
            if self.flips.contains(&e.key.1) {
                e.outcome = Outcome::Failure;
            }
        }
        list.sort_by(|a, b| a.key.cmp(&b.key));
    }
}

fn ended(o: &NewOutcome) -> Ended<Key> {
    Ended {
        key: (o.ended_at.clone(), o.run_id),
        outcome: o.outcome,
    }
}

/// The test-only knob `AFK_TEST_EXIT_AFTER=decision`: the process ends right
/// after a decision commits, before any notification, as a kill there would.
fn exit_after_decision() {
    if std::env::var("AFK_TEST_EXIT_AFTER").as_deref() == Ok("decision") {
        std::process::exit(0);
    }
}

/// The canary's first `max_samples` outcomes and its control's (with what a
/// dry run would have recorded), and how many of its outcomes are new here.
type Samples = (Vec<Ended<Key>>, Vec<Ended<Key>>, usize);

fn samples(
    store: &Store,
    policy: &Policy,
    c: &TemplateVersion,
    current: Option<&TemplateVersion>,
    overlay: &Overlay,
) -> Result<Samples> {
    let max = policy.last_checkpoint();
    let mut mine = store.outcomes_of(c.id, max)?;
    let added = overlay.new.iter().filter(|o| o.version_id == c.id);
    let pending = added.clone().count();
    overlay.apply(&mut mine, added.map(ended));
    mine.truncate(max as usize);

    let since = c
        .canary_since
        .clone()
        .unwrap_or_else(|| c.status_at.clone());
    let mut control = vec![];
    if let (Some(cur), Some(bound)) = (current, mine.last().map(|e| e.key.clone())) {
        control = store.control_outcomes(cur.id, &since, &bound)?;
        let extra = overlay
            .new
            .iter()
            .filter(|o| {
                o.version_id == cur.id
                    && canary::in_control(
                        &o.dispatched_at,
                        &o.ended_at,
                        &(o.ended_at.clone(), o.run_id),
                        &since,
                        &bound,
                    )
            })
            .map(ended);
        overlay.apply(&mut control, extra);
    }
    Ok((mine, control, pending))
}

/// Evaluate one live canary and record what is new; `report` and `live`
/// collect what the tick shows.
pub fn decide(
    ctx: &Ctx,
    store: &mut Store,
    policy: &Policy,
    c: &TemplateVersion,
    overlay: &Overlay,
    report: &mut Report,
    live: &mut Vec<Live>,
) -> Result<()> {
    let current = store.template_with_status(&c.name, VersionStatus::Current)?;
    let last = store.last_checkpoint(c.id)?;
    let (mine, control, pending) = samples(store, policy, c, current.as_ref(), overlay)?;
    let eval = canary::evaluate(policy, &mine, &control, last);
    let outcomes = (c.successes + c.failures) as usize + pending;
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
    let event = if ctx.dry_run {
        eval.decision.map(|d| canary::decided(d).event)
    } else {
        match store.record_canary(&CanaryVerdict {
            canary: c,
            checkpoints: &eval.checkpoints,
            decision: eval.decision,
            event_text: text.as_deref().unwrap_or(""),
        })? {
            // another tick or a person ended it first: nothing of ours happened
            Recorded::NotLive => return Ok(()),
            Recorded::Applied { event } => event,
        }
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
            if !ctx.dry_run {
                exit_after_decision();
            }
        }
        None => live.push(still_live(eval.checkpoints.last().map(|cp| cp.at))),
    }
    Ok(())
}
