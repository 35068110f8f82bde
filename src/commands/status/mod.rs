//! `afk status`: runs in flight, frozen repos, recent events (for people);
//! `--unfreeze REPO` lifts a freeze.

mod flows;

use crate::session::{Outcome, Session};

use crate::command_error::UsageError;
use crate::output::emit;
use crate::output::table;
use crate::store::Store;
use anyhow::{Result, bail};
use flows::{SpendDoc, UpgradeDoc, spend_doc, spend_line, upgrade_lines};
use serde::Serialize;
use time::OffsetDateTime;

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

/// Open lessons: counted by type, and the newest few (`lessons.enabled = false`: only `enabled`).
#[derive(Serialize)]
struct LessonsDoc {
    enabled: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    open: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    by_type: Option<std::collections::BTreeMap<String, i64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    newest: Option<Vec<crate::store::lessons::Lesson>>,
}

/// How many of the newest open lessons `afk status` shows.
const NEWEST_LESSONS: usize = 3;

fn lessons_doc(ctx: &Session, s: &Store) -> Result<LessonsDoc> {
    if !ctx.config().lessons.enabled {
        return Ok(LessonsDoc {
            enabled: false,
            open: None,
            by_type: None,
            newest: None,
        });
    }
    let by_type = s.open_by_type()?;
    let newest = s.lessons(&crate::store::lessons::Filter {
        status: Some(crate::types::lesson::StatusFilter::Open),
        limit: NEWEST_LESSONS,
        ..Default::default()
    })?;
    Ok(LessonsDoc {
        enabled: true,
        open: Some(by_type.values().sum()),
        by_type: Some(by_type),
        newest: Some(newest),
    })
}

fn lessons_lines(l: &LessonsDoc) -> String {
    let (Some(open), Some(by_type), Some(newest)) = (l.open, &l.by_type, &l.newest) else {
        return String::new();
    };
    if open == 0 {
        return "lessons: none open\n".into();
    }
    let types: Vec<String> = by_type.iter().map(|(t, n)| format!("{t} {n}")).collect();
    let mut h = format!("lessons: {open} open ({}); newest:\n", types.join(", "));
    for x in newest {
        let what = x
            .root_cause
            .as_deref()
            .or(x.suggestion.as_deref())
            .unwrap_or("");
        h.push_str(&format!(
            "  #{} {} {} {}: {}\n",
            x.id,
            x.created_at,
            x.lesson_type,
            x.work_item.as_deref().or(x.repo.as_deref()).unwrap_or("-"),
            crate::core::sanitize::one_line(what, 80)
        ));
    }
    h.push_str("  (afk lessons list --status open shows them all)\n");
    h
}

#[derive(Serialize)]
struct PollDoc<'a> {
    enabled: bool,
    allowlist: &'a [crate::types::RepoName],
    max_in_flight: usize,
}

/// A run in flight.
#[derive(Serialize)]
struct RunDoc<'a> {
    repo: &'a str,
    issue: crate::types::IssueNumber,
    run_id: crate::types::RunId,
    state: crate::core::run_state::RunStatus,
    /// seconds since dispatch
    age: i64,
    created_at: &'a str,
    pr: Option<crate::types::IssueNumber>,
    pr_url: Option<&'a str>,
    head_sha: Option<&'a str>,
    turns_used: u32,
    turns_max: u32,
    last_progress_at: Option<&'a str>,
    /// the agent's latest reported phase (`tests-red`, `green`, `pushed`) and when
    phase: Option<String>,
    phase_at: Option<String>,
    /// None: the agent has reported nothing yet.
    spend_usd: Option<f64>,
    /// watch's last decision (`wait awaiting-merge`); None before its first tick
    watch: Option<&'a str>,
    /// on `/afk hold` (docs/reviews.md#held-runs): who holds it and since when;
    /// absent otherwise
    #[serde(skip_serializing_if = "Option::is_none")]
    held: Option<HeldDoc>,
}

/// Who holds a run and since when.
#[derive(Serialize)]
struct HeldDoc {
    by: String,
    since: String,
}

/// A live canary and where it stands.
#[derive(Serialize)]
struct CanaryDoc<'a> {
    template: &'a str,
    version: i64,
    canary_since: Option<&'a str>,
    outcomes: Outcomes,
    next_checkpoint: Option<u32>,
    sample: f64,
    routing: bool,
}

#[derive(Serialize)]
struct Outcomes {
    success: u64,
    failure: u64,
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
    h.push_str(&runs_table(&report.runs, now));
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

/// Each run's spend as its agent's files say it now.
type Spends = std::collections::HashMap<crate::types::RunId, Option<f64>>;

/// The runs in flight as `--json` shows them, their spend as their agents'
/// files say it now (not as watch last read it); and that spend by run.
fn run_docs<'a>(
    ctx: &Session,
    s: &Store,
    runs: &'a [crate::store::runs::Run],
    now: OffsetDateTime,
) -> Result<(Vec<RunDoc<'a>>, Spends)> {
    let runner = ctx.runner().ok();
    let fresh: std::collections::HashMap<_, _> = runs
        .iter()
        .map(|r| (r.id, flows::fresh_spend(runner.as_deref(), ctx, r)))
        .collect();
    let docs = runs
        .iter()
        .map(|r| {
            Ok(RunDoc {
                spend_usd: fresh.get(&r.id).copied().flatten(),
                ..run_doc(ctx, s, r, now)?
            })
        })
        .collect::<Result<Vec<RunDoc>>>()?;
    Ok((docs, fresh))
}

/// `afk status --unfreeze REPO`: lift a freeze (a dry run lifts it in a copy of the store).
fn unfreeze(ctx: &Session, repo: &str) -> Result<Outcome> {
    let Ok(name) = crate::types::RepoName::parse(repo) else {
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
    format!(
        "poll {} ({} allowlisted){}; {} in flight\n",
        if cfg.poll.enabled {
            "enabled"
        } else {
            "disabled"
        },
        crate::core::plural(cfg.poll.allowlist.len(), "repo", "repos"),
        if ctx.stop_file().exists() {
            "; STOP FILE PRESENT"
        } else {
            ""
        },
        crate::core::plural(in_flight, "run", "runs"),
    )
}

fn run_doc<'a>(
    ctx: &Session,
    s: &Store,
    r: &'a crate::store::runs::Run,
    now: OffsetDateTime,
) -> Result<RunDoc<'a>> {
    let phase = crate::run_files::phase_in(&crate::run_files::run_dir_of(ctx.paths(), r));
    let talk = s.talk(r.id)?;
    Ok(RunDoc {
        repo: &r.repo,
        issue: r.issue,
        run_id: r.id,
        state: r.state,
        age: crate::types::stamp::age_seconds(&r.created_at, now),
        created_at: &r.created_at,
        pr: r.pr_number,
        pr_url: r.pr_url.as_deref(),
        head_sha: r.head_sha.as_deref(),
        turns_used: r.turns,
        turns_max: crate::core::checklist::turns_at_most(
            ctx.config().watch.fix_forward_max,
            ctx.config().watch.review_turns_max,
        ),
        last_progress_at: r.last_progress_at.as_deref(),
        phase_at: phase.as_ref().and_then(|p| p.at.clone()),
        phase: phase.map(|p| p.name),
        spend_usd: r.spend_usd,
        watch: r.watch_said.as_deref(),
        held: talk
            .held_by
            .zip(talk.held_since)
            .map(|(by, since)| HeldDoc { by, since }),
    })
}

fn runs_table(runs: &[RunDoc], now: OffsetDateTime) -> String {
    if runs.is_empty() {
        return String::new();
    }
    let rows: Vec<Vec<String>> = runs
        .iter()
        .map(|r| {
            let phase = match (&r.phase, &r.phase_at) {
                (Some(p), Some(at)) => format!("{p} ({} ago)", crate::types::stamp::age(at, now)),
                (Some(p), None) => p.clone(),
                _ => "-".into(),
            };
            vec![
                format!("{}#{}", r.repo, r.issue),
                r.run_id.to_string(),
                match &r.held {
                    Some(_) => format!("{} (held)", r.state),
                    None => r.state.to_string(),
                },
                crate::types::stamp::age(r.created_at, now),
                r.pr.map(|n| format!("#{n}")).unwrap_or("-".into()),
                format!("{}/{}", r.turns_used, r.turns_max),
                r.spend_usd.map_or("-".into(), crate::core::spend::usd),
                r.watch.unwrap_or("-").to_string(),
                phase,
            ]
        })
        .collect();
    table(
        &[
            "ISSUE", "RUN", "STATE", "AGE", "PR", "TURNS", "SPEND", "WATCH", "PHASE",
        ],
        &rows,
    ) + &held_lines(runs, now)
}

/// One line per held run: who holds it, since when, and what ends the hold.
fn held_lines(runs: &[RunDoc], now: OffsetDateTime) -> String {
    let mut h = String::new();
    for r in runs {
        if let Some(held) = &r.held {
            h.push_str(&format!(
                "{}#{} (run {}) is {}; a trusted `resume` command ends it\n",
                r.repo,
                r.issue,
                r.run_id,
                crate::core::conversation::held_text(
                    &held.by,
                    &held.since,
                    &crate::types::stamp::age(&held.since, now)
                )
            ));
        }
    }
    h
}

/// Each live canary: version, outcomes so far, the next checkpoint
/// (docs/how-it-works.md#afk-harvest-and-the-template-canary).
fn canaries<'a>(
    ctx: &Session,
    s: &Store,
    live: &'a [crate::store::templates::TemplateVersion],
) -> Result<(Vec<CanaryDoc<'a>>, String)> {
    let h = &ctx.config().harvest;
    let policy = h.policy();
    let (mut docs, mut text) = (vec![], String::new());
    for c in live {
        let (ok, failed) = c.tally();
        let next = crate::core::canary::next_checkpoint(&policy, s.last_checkpoint(c.id)?);
        docs.push(CanaryDoc {
            template: &c.name,
            version: c.version,
            canary_since: c.canary_since.as_deref(),
            outcomes: Outcomes {
                success: ok,
                failure: failed,
            },
            next_checkpoint: next,
            sample: h.sample,
            routing: h.canary,
        });
        text.push_str(&format!(
            "{}@{} is the live canary: {} ({ok} success, {failed} failure), next checkpoint at {}{}\n",
            c.name,
            c.version,
            crate::core::plural((ok + failed) as usize, "outcome", "outcomes"),
            next.map_or("-".into(), |n| n.to_string()),
            if h.canary {
                format!("; {:.0}% of dispatches go to it", h.sample * 100.0)
            } else {
                "; routing is off (harvest.canary = false), harvest still decides it".into()
            }
        ));
    }
    Ok((docs, text))
}
