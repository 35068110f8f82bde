//! `afk harvest`: one outcome + canary tick
//! (docs/how-it-works.md#afk-harvest-and-the-template-canary). Stop file → the
//! `harvest` lock → the store; then, in order: an outcome for every newly ended
//! run (`record_outcomes`), the revert watch over merged successes still inside
//! `revert_window` (`reverts.rs`), the line survival of merged runs whose
//! `survival_window` ended (`survival.rs`), the leaderboard figures (a
//! merge's revert at any age, 7-day churn; `figures.rs`), each live canary's new checkpoints and
//! decision, persisted exactly once (`canary.rs`), the outbox, the report
//! (`report.rs`). A dry run is the same code on dry edges (`crate::edges`): it
//! writes to a copy of the store and notifies nothing. `harvest.canary = false`
//! stops routing in poll, never the decision of a canary already live.

mod canary;
mod figures;
mod report;
mod reverts;
mod survival;

pub use report::Report;

use crate::core::outcome;
use crate::session::Session;
use crate::store::outcomes::NewOutcome;
use crate::tick::{self, ErrorItem, Tick};
use crate::types::RunId;
use anyhow::Result;
use report::{Live, OutcomeItem};
use std::collections::HashSet;

/// What one tick did.
pub type Ended<'s> = tick::Ended<'s, Report>;

tick::tick_report!(Report);

/// An outcome for every newly ended run, attributed to the version it used;
/// runs on the built-in preamble are counted and explained.
fn record_outcomes(store: &mut crate::store::Store, r: &mut Report) -> Result<()> {
    let ended = store.unharvested_runs()?;
    let (mut new, mut items) = (vec![], vec![]);
    for e in &ended {
        let Some(o) = outcome::of_run(e.state) else {
            continue;
        };
        let Some(version_id) = e.version_id else {
            r.builtin_runs += 1;
            continue;
        };
        new.push(NewOutcome {
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
    let ids: Vec<RunId> = ended.iter().map(|e| e.run_id).collect();
    let inserted: HashSet<RunId> = store.record_outcomes(&ids, &new)?.into_iter().collect();
    r.outcomes = items
        .into_iter()
        .filter(|i| inserted.contains(&i.run_id))
        .collect();
    if r.builtin_runs > 0 {
        let versions = store.templates(None)?.len();
        r.note = outcome::builtin_note(r.builtin_runs, r.outcomes.len(), versions);
    }
    Ok(())
}

/// The repositories whose default branch this tick fetched into afk's git
/// cache: at most one fetch each (a failed one is not tried again).
#[derive(Default)]
pub struct Tips {
    // the Err is a string: the fetch's error, said again for each step
    fetched: std::collections::HashMap<String, Result<(), String>>,
}

impl Tips {
    /// `repo`'s default branch fetched, once a tick.
    pub fn fetch(
        &mut self,
        ws: &crate::workspace::Real,
        forge: &dyn crate::forge::Forge,
        repo: &crate::types::RepoName,
    ) -> Result<()> {
        let done = self
            .fetched
            .entry(repo.to_string())
            .or_insert_with(|| ws.fetch_tip(forge, repo).map_err(|e| format!("{e:#}")));
        done.clone().map_err(anyhow::Error::msg)
    }
}

/// One harvest tick over every ended run (a canary's figures are its
/// template's runs in every repository, so harvest has no narrower scope);
/// `afk harvest` prints it, the demo and the benchmark read it.
pub fn tick(ctx: &Session) -> Result<Ended<'_>> {
    tick::open(ctx, crate::types::TickKind::Harvest, harvest)
}

/// The tick itself, the same code whether its edges are real or dry.
fn harvest(t: Box<Tick>) -> Result<Ended> {
    let mut r = Report {
        head: tick::Head::on(crate::types::TickKind::Harvest, t.tense()),
        ..Default::default()
    };
    // 1. One outcome per newly ended run, attributed to the version it used.
    record_outcomes(&mut t.store(), &mut r)?;

    // 2. Reverted merges: successes become failures, once.
    let found = reverts::watch(&t)?;
    r.requests = found.requests;
    r.reverted = found.reverted;
    r.errors.extend(found.errors);

    // 3. Line survival: merged runs whose window ended, counted once; then
    // the leaderboard figures: reverts at any age, 7-day churn once. One
    // fetch per repository serves both.
    let mut tips = Tips::default();
    let counted = survival::count(&t, &mut tips)?;
    r.survival = counted.items;
    r.errors.extend(counted.errors);
    let found = figures::look(&t, &mut tips)?;
    r.figures = found.items;
    r.errors.extend(found.errors);
    // every step's forge requests (the fetches' name checks among them)
    r.requests = t.forge_requests().0;

    // 4. Every live canary: new checkpoints and the decision, exactly once.
    let p = &t.settled.canary;
    let mut live: Vec<Live> = vec![];
    {
        let mut store = t.store();
        for c in store.live_canaries()? {
            if let Err(e) = canary::decide(&mut store, p, &c, &mut r, &mut live) {
                r.errors.push(ErrorItem::msg(
                    &format!("{}@{}", c.name, c.version),
                    None,
                    format!("{e:#}"),
                ));
            }
        }
    }

    // 5. The outbox: each event at most once, whichever tick gets there.
    let delivery = t.notify();
    let exhausted = r
        .errors
        .iter()
        .filter_map(|e| e.exhausted.as_deref().cloned());
    tick::record_exhausted(&t.journal, exhausted, crate::types::TickKind::Harvest);
    r.errors = tick::one_per_cause(std::mem::take(&mut r.errors));
    let human = report::human(&r, &live, delivery);
    Ok(Ended {
        code: if r.errors.is_empty() { 0 } else { 1 },
        report: r,
        human,
        tick: Some(t),
    })
}
