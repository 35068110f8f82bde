//! `afk report [--since 30d]`: the figures a team judges a pilot by, per
//! repository and overall, over the runs dispatched in a window
//! (docs/reports.md#afk-report; the rules: `core::status::report`). Reads the state
//! file only, never the forge, never writes.

use crate::command_error::UsageError;
use crate::core::status::report::{self, Figures, Outcome, Report};
use crate::output::{emit, table};
use crate::session::{Outcome as Done, Session};
use anyhow::Result;
use serde::Serialize;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The window: the runs dispatched in the last DURATION (`90m`, `12h`,
    /// `7d`, `30d`)
    #[arg(long, value_name = "DURATION", default_value = report::DEFAULT_WINDOW)]
    pub since: String,
}

/// What `afk report --json` prints.
#[derive(Serialize)]
struct Doc {
    command: &'static str,
    #[serde(flatten)]
    report: Report,
}

pub fn run(ctx: &Session, a: &Args) -> Result<Done> {
    let now = crate::clock::now();
    // the flag is checked first: a wrong one is a usage error whatever the
    // config or the state file
    let window = crate::config::parse_duration(&a.since)
        .map_err(|e| UsageError(format!("report: --since {}: {e}", one_line(&a.since))))?;
    let from = report::window_start(window, now)
        .map_err(|e| UsageError(format!("report: --since {}: {e}", one_line(&a.since))))?;
    let cfg = ctx.load()?;
    let survival = crate::types::format_duration(cfg.harvest.survival_window);
    let store = ctx.read_store()?;
    let r = report::report(
        &store.report_runs(from)?,
        window,
        now,
        cfg.report.kept_floor,
    )
    .with_survival_window(&survival);
    let text = human(&r);
    emit(
        ctx.json(),
        &Doc {
            command: "report",
            report: r,
        },
        &text,
    );
    Ok(Done::OK)
}

fn one_line(s: &str) -> String {
    crate::core::sanitize::one_line(s, 60)
}

/// The text for people: the window, then two small tables (runs by outcome;
/// times and costs), one row per repository and one for all, then the
/// escalations by reason.
fn human(r: &Report) -> String {
    let mut h = format!(
        "runs dispatched in the last {} ({} to {})\n",
        r.since, r.from, r.to
    );
    if r.overall.runs == 0 && r.overall.start_failures == 0 {
        h.push_str("no runs: every figure is none\n");
        return h;
    }
    let rows: Vec<(&str, &Figures)> = r
        .repos
        .iter()
        .map(|x| (x.repo.as_str(), &x.figures))
        .chain(std::iter::once(("all", &r.overall)))
        .collect();
    let survival = format!("SURVIVAL {}", r.overall.survival.window.to_uppercase());
    h.push('\n');
    h.push_str(&outcomes_table(&rows));
    h.push('\n');
    h.push_str(&times_table(&rows, &survival));
    h.push('\n');
    h.push_str(&board_table(r, &rows));
    h.push('\n');
    if !r.templates.is_empty() {
        h.push_str(&templates_table(r, &survival));
        h.push('\n');
    }
    for (repo, f) in &rows {
        h.push_str(&format!(
            "escalations {repo}: {}\n",
            report::by_reason_text(&f.escalations)
        ));
    }
    h.push_str(&format!(
        "({}; medians and p90 by nearest rank; docs/reports.md#afk-report)\n",
        report::from_text(&r.overall)
    ));
    h
}

/// The runs by outcome, one row per repository and one for all.
fn outcomes_table(rows: &[(&str, &Figures)]) -> String {
    let outcomes: Vec<Vec<String>> = rows
        .iter()
        .map(|(repo, f)| {
            let mut cells = vec![repo.to_string(), f.runs.to_string()];
            cells.extend(
                Outcome::OF_RUNS
                    .iter()
                    .map(|o| f.outcomes.of(*o).to_string()),
            );
            // apart: a claim whose agent never started is no run
            cells.push(f.start_failures.to_string());
            cells
        })
        .collect();
    table(
        &[
            "REPO",
            "RUNS",
            "SUCCEEDED",
            "ESCALATED",
            "ABANDONED",
            "IN FLIGHT",
            "FAILED STARTS",
        ],
        &outcomes,
    )
}

/// The times and costs, one row per repository and one for all.
fn times_table(rows: &[(&str, &Figures)], survival: &str) -> String {
    let times: Vec<Vec<String>> = rows
        .iter()
        .map(|(repo, f)| {
            vec![
                repo.to_string(),
                report::spread_text(&f.to_pr),
                report::spread_text(&f.to_merge),
                report::per_merged_text(f.corrective_turns.per_merged_pr),
                report::usd_text(f.spend.per_merged_pr_usd),
                report::zero_touch_text(&f.zero_touch),
                report::survival_text(&f.survival),
            ]
        })
        .collect();
    table(
        &[
            "REPO",
            "TO PR (MEDIAN / P90)",
            "TO MERGE (MEDIAN / P90)",
            "CORRECTIVE TURNS PER MERGED PR",
            "SPEND PER MERGED PR",
            "ZERO-TOUCH",
            survival,
        ],
        &times,
    )
}

/// The published leaderboards' four figures, one row per repository, one
/// for all and one per template version (`template@version`).
fn board_table(r: &Report, rows: &[(&str, &Figures)]) -> String {
    use crate::core::status::leaderboard as board;
    let versions: Vec<(String, &Figures)> = r
        .templates
        .iter()
        .map(|t| (format!("{}@{}", t.template, t.version), &t.figures))
        .collect();
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|(name, f)| (name.to_string(), *f))
        .chain(versions)
        .map(|(name, f)| {
            vec![
                name,
                board::per_1000_text(&f.reverts),
                board::churn_text(&f.churn),
                board::rounds_text(&f.review_rounds),
                board::per_kept_text(&f.cost),
            ]
        })
        .collect();
    table(
        &[
            "REPO",
            "REVERTS/1000",
            "CHURN 7D",
            "ROUNDS (MEDIAN / P90)",
            "$/KEPT",
        ],
        &cells,
    )
}

/// One row per template version the runs name.
fn templates_table(r: &Report, survival: &str) -> String {
    let versions: Vec<Vec<String>> = r
        .templates
        .iter()
        .map(|t| {
            let f = &t.figures;
            vec![
                t.template.clone(),
                t.version.to_string(),
                f.runs.to_string(),
                f.outcomes.succeeded.to_string(),
                f.outcomes.escalated.to_string(),
                report::zero_touch_text(&f.zero_touch),
                report::survival_text(&f.survival),
                report::usd_text(f.spend.per_merged_pr_usd),
            ]
        })
        .collect();
    table(
        &[
            "TEMPLATE",
            "VERSION",
            "RUNS",
            "SUCCEEDED",
            "ESCALATED",
            "ZERO-TOUCH",
            survival,
            "SPEND PER MERGED PR",
        ],
        &versions,
    )
}
