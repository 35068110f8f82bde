//! `afk status`: runs in flight, frozen repos, recent events (for people);
//! `--unfreeze REPO` lifts a freeze.

mod docs;
mod flows;

use crate::session::{Outcome, Session};

use crate::command_error::UsageError;
use crate::output::emit;
use anyhow::{Result, bail};
use docs::{
    CanaryDoc, LessonsDoc, PollDoc, RunDoc, canaries, lessons_doc, lessons_lines, run_docs,
    runs_table,
};
use flows::{SpendDoc, UpgradeDoc, spend_doc, spend_line, upgrade_lines};
use serde::Serialize;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Lift the freeze a degraded deploy put on REPO (owner/repo)
    #[arg(long, value_name = "REPO")]
    pub unfreeze: Option<String>,
    /// Print the status page (what `status_page` holds) as HTML on stdout
    #[arg(long, conflicts_with = "unfreeze")]
    pub html: bool,
}

/// What `afk status --json` prints.
#[derive(Serialize)]
struct Report<'a> {
    command: &'static str,
    canaries: Vec<CanaryDoc<'a>>,
    poll: PollDoc<'a>,
    stop_file: bool,
    spend: SpendDoc,
    runs: Vec<RunDoc<'a>>,
    /// every open upgrade flow (docs/reports.md#afk-status): nothing waits
    /// silently
    upgrades: Vec<UpgradeDoc<'a>>,
    frozen: &'a [crate::store::freezes::Freeze],
    events: &'a [crate::store::events::Event],
    lessons: LessonsDoc,
    /// tick health per kind (docs/reports.md#afk-status)
    ticks: Vec<crate::page::ticks::TickDoc>,
}

/// What `afk status --unfreeze --json` prints.
#[derive(Serialize)]
struct Unfrozen<'a> {
    command: &'static str,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    dry_run: bool,
    unfrozen: &'a str,
}

pub fn run(ctx: &Session, a: &Args) -> Result<Outcome> {
    ctx.load()?;
    if let Some(repo) = &a.unfreeze {
        return unfreeze(ctx, repo);
    }
    if a.html {
        if ctx.json() {
            bail!(UsageError(
                "status: --html and --json are two different outputs; pick one".into()
            ));
        }
        let html = crate::page::html(ctx.config(), ctx.paths(), &ctx.read_store()?)?;
        emit(false, &(), &html);
        return Ok(Outcome::OK);
    }
    let s = ctx.read_store()?;
    let now = crate::clock::now();
    let runs = s.runs_in_flight()?;
    let frozen = s.freezes()?;
    let events = s.recent_events(10)?;
    let cfg = ctx.config();
    let (runs_json, fresh) = run_docs(ctx, &s, &runs, now)?;
    let spend = spend_doc(ctx, &s, now, &fresh)?;
    let flows = s.open_upgrades()?;
    let upgrades = flows::upgrade_docs(&flows, now);
    let live = s.live_canaries()?;
    let (canaries, canary_lines) = canaries(ctx, &s, &live)?;
    let report = Report {
        command: "status",
        canaries,
        poll: PollDoc {
            enabled: cfg.poll.enabled,
            allowlist: &cfg.poll.allowlist,
            max_in_flight: cfg.poll.max_in_flight,
        },
        stop_file: ctx.stop_file().exists(),
        spend,
        runs: runs_json,
        upgrades,
        frozen: &frozen,
        events: &events,
        lessons: lessons_doc(ctx, &s)?,
        ticks: crate::page::ticks::tick_docs(&s, cfg, now)?,
    };
    let mut h = headline(ctx, runs.len());
    h.push_str(&crate::page::ticks::tick_lines(&report.ticks, now));
    h.push_str(&runs_table(&report.runs, cfg.profile(), now));
    h.push_str(&spend_line(&report.spend));
    h.push_str(&upgrade_lines(&report.upgrades));
    h.push_str(&canary_lines);
    for f in &frozen {
        h.push_str(&format!(
            "frozen: {} ({} since {}); lift with `afk status --unfreeze {}`\n",
            f.repo, f.reason, f.since, f.repo
        ));
    }
    h.push_str(&lessons_lines(&report.lessons));
    if !events.is_empty() {
        h.push_str("recent events:\n");
        for e in &events {
            let at = crate::clock::shown(&e.at);
            h.push_str(&format!("  {at} {} {}\n", e.kind, e.text));
        }
    }
    emit(ctx.json(), &report, &h);
    Ok(Outcome::OK)
}

/// `afk status --unfreeze REPO`: lift a freeze (a dry run lifts it in a copy of the store).
fn unfreeze(ctx: &Session, repo: &str) -> Result<Outcome> {
    let Ok(name) = crate::types::RepoName::parse_any(repo) else {
        bail!(UsageError(format!("status: \"{repo}\" is not owner/repo")));
    };
    let local = ctx.local()?;
    if !local.store.unfreeze(&name)? {
        bail!("status: {repo} is not frozen");
    }
    let human = local.tense().pick(
        format!("{repo} is no longer frozen\n"),
        "status (dry run): nothing changed\n".into(),
    );
    let unfrozen = Unfrozen {
        command: "status",
        dry_run: ctx.dry_run(),
        unfrozen: repo,
    };
    emit(ctx.json(), &unfrozen, &human);
    Ok(Outcome::OK)
}

/// `poll enabled (2 repos allowlisted); 1 run in flight`
fn headline(ctx: &Session, in_flight: usize) -> String {
    let cfg = ctx.config();
    crate::core::status::text::headline(
        cfg.poll.enabled,
        cfg.poll.allowlist.len(),
        ctx.stop_file().exists(),
        in_flight,
    )
}
