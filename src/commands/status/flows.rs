//! `afk status`'s spend and upgrade-flow blocks: today's spend against the
//! `[budget]` limits, and every open upgrade flow.

use crate::output::table;
use crate::runner::Runner;
use crate::session::Session;
use crate::store::Store;
use crate::store::runs::Run;
use crate::types::RunId;
use anyhow::Result;
use serde::Serialize;
use std::collections::HashMap;
use time::OffsetDateTime;

/// Today's spend (the runs dispatched on the current UTC day, as watch last
/// read them) and the `[budget]` limits.
#[derive(Serialize)]
pub(super) struct SpendDoc {
    pub(super) day: String,
    pub(super) today_usd: f64,
    pub(super) runs: usize,
    pub(super) unreported_runs: usize,
    pub(super) day_usd: f64,
    pub(super) repo_day_usd: f64,
    pub(super) run_usd: f64,
    pub(super) run_time: Option<String>,
}

/// Today's spend; `fresh`: the runs in flight's spend as their agents' files
/// say it now ([`fresh_spend`]), over what watch last stored.
pub(super) fn spend_doc(
    ctx: &Session,
    s: &Store,
    now: OffsetDateTime,
    fresh: &HashMap<RunId, Option<f64>>,
) -> Result<SpendDoc> {
    use crate::core::budget::spend;
    let day = spend::day_of(now);
    let runs = s.runs_of_day(day)?;
    // each run's spend by the UTC day each of its turns started
    let mut day_runs: Vec<spend::DayRun> = vec![];
    for r in &runs {
        let spend_usd = fresh.get(&r.id).copied().unwrap_or(r.spend_usd);
        day_runs.extend(s.day_entries(r, spend_usd, None, now)?);
    }
    let today = spend::day_spend(&day_runs, day, None);
    let b = &ctx.config().budget;
    Ok(SpendDoc {
        day: day.to_string(),
        today_usd: today.spend_usd,
        runs: today.runs,
        unreported_runs: today.unreported,
        day_usd: b.day_usd,
        repo_day_usd: b.repo_day_usd,
        run_usd: b.run_usd,
        run_time: b.run_time.map(crate::config::format_duration),
    })
}

/// What a run in flight has spent so far (issue #31: `afk status` shows it
/// without waiting for a watch tick): the stored ledger fed what its agents
/// wrote since watch last read it — the runner's own streams, read from the
/// cursors and bounded (`runner::spend`, `core::budget::spend::MAX_READ`) — and the
/// model gateway's metered record, whose sum is the run's spend when there
/// is one; not stored (status writes nothing). Without a runner (its config
/// cannot be built here): what watch stored.
pub(super) fn fresh_spend(runner: Option<&dyn Runner>, ctx: &Session, r: &Run) -> Option<f64> {
    let Some(runner) = runner else {
        return r.spend_usd;
    };
    let dir = crate::run_files::run_dir_of(ctx.paths(), r);
    let meter = ctx.config().runner.meter();
    let stored = r.spend_ledger.as_deref();
    crate::runner::spend::read_now(runner, &dir, &meter, stored, r.turns, false)
        .spend()
        .or(r.spend_usd)
}

/// The human line about today's spend, its unknowns and the day limit.
pub(super) fn spend_line(d: &SpendDoc) -> String {
    use crate::core::budget::spend::usd;
    let mut s = format!(
        "spend today ({} UTC): {} over {}",
        d.day,
        usd(d.today_usd),
        crate::core::plural(d.runs, "run", "runs")
    );
    match d.unreported_runs {
        0 => {}
        1 => s.push_str("; 1 run has reported no spend (counted as $0)"),
        n => s.push_str(&format!(
            "; {n} runs have reported no spend (counted as $0)"
        )),
    }
    if d.day_usd > 0.0 {
        s.push_str(&format!("; budget.day_usd {}", usd(d.day_usd)));
    }
    s.push('\n');
    s
}

/// An open upgrade flow: its recipe, PR, step, since when, place in the test queue.
#[derive(Serialize)]
pub(super) struct UpgradeDoc<'a> {
    pub(super) recipe: &'a str,
    pub(super) mirror: &'a str,
    pub(super) pr: crate::types::PrNumber,
    pub(super) url: &'a str,
    pub(super) image: &'a str,
    pub(super) from: &'a str,
    pub(super) to: &'a str,
    /// queued | testing | fixing
    pub(super) step: &'a str,
    pub(super) since: Option<&'a str>,
    pub(super) age: String,
    pub(super) queue_place: Option<u32>,
}

/// The open upgrade flows as a table: recipe, PR, step, waiting since, queue place.
pub(super) fn upgrade_lines(flows: &[UpgradeDoc]) -> String {
    if flows.is_empty() {
        return String::new();
    }
    let rows: Vec<Vec<String>> = flows
        .iter()
        .map(|u| {
            vec![
                u.recipe.to_string(),
                format!("{}#{}", u.mirror, u.pr),
                crate::core::upgrade::bump_text(u.image, u.from, u.to),
                u.step.to_string(),
                u.since
                    .map(|t| format!("{t} ({})", u.age))
                    .unwrap_or("-".into()),
                u.queue_place.map(|n| n.to_string()).unwrap_or("-".into()),
            ]
        })
        .collect();
    format!(
        "{} open:\n{}",
        crate::core::plural(flows.len(), "upgrade flow", "upgrade flows"),
        table(&["RECIPE", "PR", "IMAGE", "STEP", "SINCE", "QUEUE"], &rows)
    )
}

/// The open upgrade flows as `afk status` reports them.
pub(super) fn upgrade_docs(
    flows: &[crate::store::upgrades::Upgrade],
    now: OffsetDateTime,
) -> Vec<UpgradeDoc<'_>> {
    flows
        .iter()
        .map(|u| UpgradeDoc {
            recipe: &u.recipe,
            mirror: &u.mirror,
            pr: u.pr,
            url: &u.url,
            image: &u.image,
            from: &u.from_tag,
            to: &u.to_tag,
            step: u.step.as_deref().unwrap_or(""),
            since: u.step_since.as_deref(),
            age: u
                .step_since
                .as_deref()
                .map(|t| crate::types::stamp::age(t, now))
                .unwrap_or_default(),
            queue_place: u.queue_place,
        })
        .collect()
}
