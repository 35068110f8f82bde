//! `afk harvest`: one outcome + canary tick (SPEC 7.3, 7.4). Stop file → the
//! `harvest` lock → the store; then, in order: an outcome for every newly
//! ended run (`record_outcomes`), the revert watch over merged successes
//! still inside `revert_window` (`reverts.rs`), each live canary's new
//! checkpoints and decision, persisted exactly once (`canary.rs`), the
//! outbox, the report (`report.rs`). A dry run reads and decides the same
//! way and writes and notifies nothing. `harvest.canary = false` stops
//! routing in poll, never the decision of a canary already live.

mod canary;
mod report;
mod reverts;

pub use report::{CHECKPOINT_HEADINGS, Report, checkpoint_cells};

use super::Ctx;
use super::tick::{self, ErrorItem, Opening};
use crate::config::Harvest;
use crate::core::canary::Policy;
use crate::core::outcome;
use crate::store::outcomes::NewOutcome;
use crate::types::RunId;
use anyhow::Result;
use report::{Live, OutcomeItem};
use std::collections::HashSet;

/// The decision's `[harvest]` keys.
pub fn policy(h: &Harvest) -> Policy {
    Policy {
        min_samples: h.min_samples,
        check_every: h.check_every,
        max_samples: h.max_samples,
        confidence: h.confidence,
        graduate_at_max: h.graduate_at_max,
        early_failures: h.early_failures,
    }
}

/// What one tick did.
pub type Tick = tick::Tick<Report>;

impl tick::TickReport for Report {
    fn error_lines(&self) -> Vec<String> {
        tick::lines_of(&self.errors)
    }
    fn ran(&self) -> Option<(usize, usize, usize)> {
        (self.enabled && !self.stepped_aside).then_some((self.requests, self.errors.len(), 0))
    }
}

pub fn run(ctx: &Ctx) -> Result<u8> {
    tick::run(ctx, "harvest", tick)
}

fn idle(ctx: &Ctx, enabled: bool, reason: Option<String>, stepped_aside: bool) -> Tick {
    let human = match &reason {
        Some(why) => format!("harvest: disabled ({why}); nothing done\n"),
        None => String::new(),
    };
    Tick {
        report: Report {
            tick: "harvest",
            dry_run: ctx.dry_run,
            enabled,
            reason,
            stepped_aside,
            ..Default::default()
        },
        human,
        code: 0,
    }
}

/// An outcome for every newly ended run, attributed to the version it used
/// (a dry run only reports them: the overlay carries them to the decision);
/// runs on the built-in preamble are counted and explained.
fn record_outcomes(
    ctx: &Ctx,
    store: &mut crate::store::Store,
    r: &mut Report,
) -> Result<canary::Overlay> {
    let ended = store.unharvested_runs()?;
    let mut overlay = canary::Overlay::default();
    let mut items = vec![];
    for e in &ended {
        let Some(o) = outcome::of_run(e.state) else {
            continue;
        };
        let Some(version_id) = e.version_id else {
            r.builtin_runs += 1;
            continue;
        };
        overlay.new.push(NewOutcome {
            run_id: e.run_id,
            version_id,
            outcome: o,
            dispatched_at: e.dispatched_at.clone(),
            ended_at: e.ended_at.clone(),
        });
        items.push(OutcomeItem {
            run_id: e.run_id,
            template: e.template_name.clone().unwrap_or_default(),
            version: e.version,
            outcome: o.to_string(),
        });
    }
    if ctx.dry_run {
        r.outcomes = items;
    } else {
        let ids: Vec<RunId> = ended.iter().map(|e| e.run_id).collect();
        let inserted: HashSet<RunId> = store
            .record_outcomes(&ids, &overlay.new)?
            .into_iter()
            .collect();
        r.outcomes = items
            .into_iter()
            .filter(|i| inserted.contains(&i.run_id))
            .collect();
        overlay = canary::Overlay::default();
    }
    if r.builtin_runs > 0 {
        let versions = store.templates(None)?.len();
        r.note = outcome::builtin_note(r.builtin_runs, r.outcomes.len(), versions);
    }
    Ok(overlay)
}

/// One harvest tick; `run` prints it, the demo and the benchmark read it.
pub fn tick(ctx: &Ctx) -> Result<Tick> {
    let cfg = &ctx.config;
    let (mut store, _lock) = match tick::open(ctx, "harvest")? {
        Opening::Stopped(why) => return Ok(idle(ctx, false, Some(why), false)),
        Opening::SteppedAside => {
            tick::stepping_aside("harvest");
            return Ok(idle(ctx, true, None, true));
        }
        Opening::Open { store, _lock } => (store, _lock),
    };
    let now = crate::clock::now();
    let mut r = Report {
        tick: "harvest",
        dry_run: ctx.dry_run,
        enabled: true,
        ..Default::default()
    };

    // 1. One outcome per newly ended run, attributed to the version it used.
    let mut overlay = record_outcomes(ctx, &mut store, &mut r)?;

    // 2. Reverted merges: successes become failures, once.
    let pending: HashSet<RunId> = overlay
        .new
        .iter()
        .filter(|o| o.outcome == crate::core::canary::Outcome::Success)
        .map(|o| o.run_id)
        .collect();
    let found = reverts::watch(ctx, &mut store, now, &pending)?;
    r.requests = found.requests;
    if ctx.dry_run {
        overlay.flips = found.reverted.iter().map(|x| x.run_id).collect();
    }
    r.reverted = found.reverted;
    r.errors.extend(found.errors);

    // 3. Every live canary: new checkpoints and the decision, exactly once.
    let p = policy(&cfg.harvest);
    let mut live: Vec<Live> = vec![];
    for c in store.live_canaries()? {
        if let Err(e) = canary::decide(ctx, &mut store, &p, &c, &overlay, &mut r, &mut live) {
            r.errors.push(ErrorItem::msg(
                &format!("{}@{}", c.name, c.version),
                None,
                e.to_string(),
            ));
        }
    }

    // 4. The outbox: each event at most once, whichever tick gets there.
    let delivery = if ctx.dry_run {
        crate::notify::Delivery::default()
    } else {
        crate::notify::Notifier::new(cfg).flush(&store)
    };
    r.errors = tick::one_per_cause(std::mem::take(&mut r.errors));
    let human = report::human(&r, &live, delivery);
    Ok(Tick {
        code: if r.errors.is_empty() { 0 } else { 1 },
        report: r,
        human,
    })
}
