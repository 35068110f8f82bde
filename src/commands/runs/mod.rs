//! `afk runs`: the run history (`gh run list` style) and one run's timeline
//! (`afk runs show ID [--log]`, like `gh run view --log`). Reads the state file
//! and the run folder only; never the forge, never writes.

mod fixers;
mod human;

use crate::session::{Outcome, Session};

use crate::core::run_history::{self as history, Moments, RepoFilter, Row, TurnStarted};
use crate::core::run_spend::RunSpend;
use crate::output::emit;
use crate::output::table;
use crate::store::Store;
use crate::store::runs::Run;
use crate::store::turns::TurnRow;
use anyhow::Result;
use serde::Serialize;
use time::OffsetDateTime;

#[derive(clap::Args, Debug)]
#[command(args_conflicts_with_subcommands = true)]
pub struct Args {
    /// Only runs on this repository (owner/repo)
    #[arg(long, value_name = "REPO")]
    pub repo: Option<String>,
    /// Only runs in this state (`--status`, as `gh run list` has it: `--state`
    /// is the global flag naming the state file)
    #[arg(long, value_name = "STATE", value_parser = crate::clap_values::Allowed::<crate::types::RunStatus>::new())]
    pub status: Option<crate::types::RunStatus>,
    /// How many runs, newest first
    #[arg(long, default_value_t = 20, value_name = "N")]
    pub limit: usize,
    #[command(subcommand)]
    pub command: Option<RunsCmd>,
}

#[derive(clap::Subcommand, Debug)]
pub enum RunsCmd {
    /// One run's timeline and files
    #[command(after_long_help = "\
Examples:
  afk runs show 12
  afk runs show 12 --log
  afk runs show 12 --log --raw     the agent's JSON lines as written
  afk runs show upgrade-3-1
  afk --json runs show 12 | jq .timeline")]
    Show {
        /// The run's id (the RUN column of `afk runs`), or an upgrade
        /// fixer's (its FIXER column: `upgrade-3-1`)
        id: String,
        /// Also print the agent's log: Claude Code's and Codex's JSON
        /// lines as one line per event (a tool call, its result, what the
        /// agent says) and the end of a turn as one sentence
        #[arg(long)]
        log: bool,
        /// With --log: the log's lines as the program wrote them
        #[arg(long, requires = "log")]
        raw: bool,
    },
}

/// What `afk runs --json` prints.
#[derive(Serialize)]
struct Listed {
    command: &'static str,
    runs: Vec<Row>,
    /// the upgrade fixers' runs (`fixers.rs`): none with `--status`
    fixers: Vec<fixers::FixerRow>,
}

/// What `afk runs show --json` prints.
#[derive(Serialize)]
struct Shown<'a> {
    /// the forge's kind: how its reviews and comments are named
    #[serde(skip)]
    forge: crate::forge::ForgeKind,
    command: &'static str,
    run: Row,
    branch: &'a str,
    title: &'a str,
    url: &'a str,
    head_sha: Option<&'a str>,
    /// the agent's latest `{"phase":…}` and when (see `core::progress::latest_phase`)
    phase: Option<&'a str>,
    phase_at: Option<&'a str>,
    timeline: Vec<Moment<'a>>,
    outcome: Option<&'a str>,
    run_dir: String,
    /// the agent's checkout (docs/how-it-works.md#the-workspace), while it is
    /// there: a run that ended removed it, an escalated run keeps it for a
    /// person
    #[serde(skip_serializing_if = "Option::is_none")]
    checkout: Option<String>,
    files: &'a [String],
    /// the progress file's last lines, each cleaned to one line
    progress: Vec<String>,
    /// lines of the progress file's tail too long to read (over 4 MiB), skipped
    progress_skipped_lines: usize,
    agent_log: Option<&'a str>,
    /// each figure of the run's spend and where it came from (`claude`,
    /// `codex-priced`, `progress`, `thread`): all of them the agent's word
    /// or its service's (docs/security.md)
    spend_sources: Vec<crate::core::budget::spend::Figure>,
    /// what the model gateway metered (null: the run has no metered record,
    /// its spend is the agent's word)
    metered: Option<history::Metered>,
    /// the named agent's final message, bounded and sanitised
    /// (docs/runners.md#what-afk-reads-and-how-much)
    final_message: Option<String>,
    /// why afk's box ended the last turn when it ended failing (a key the
    /// model refused: its own line in `agent.log`, `core::box_reason`); the
    /// text output leads with it, before the exit status
    box_said: Option<String>,
    /// the last turn's exit status, where the runner keeps one
    exit_status: Option<i32>,
    /// the change gate's last verdict: `passed (turn k)`, or `refused
    /// (turn k)` and its reasons (docs/security.md#the-change-gate)
    gate: Option<String>,
    /// the end of `agent.log` when that status is a failure
    log_end: Option<String>,
    /// every review and command watch looked at, and what it did
    /// (docs/reviews.md#the-trail)
    conversation: Vec<crate::store::talk::Item>,
    /// each corrective turn: when it started and why (the timeline says it too)
    turns: Vec<TurnRow>,
    /// the run's limits in force and who raised them by a comment
    /// (`limits: {run_usd, run_time, set_by}`)
    limits: crate::core::budget::pause::RunLimits,
}

/// One line of a run's timeline.
#[derive(Serialize)]
struct Moment<'a> {
    at: &'a str,
    what: &'a str,
}

/// A run's row of the listing: the store's run, its duration and spend as
/// `core::run_history` decides them, and a run in flight's pause with its
/// figures and deadline.
fn row(ctx: &Session, store: &Store, r: &Run, now: OffsetDateTime) -> Result<Row> {
    let spent = RunSpend::from_stored(r.spend_ledger.as_deref());
    let paused = match r.ended_at {
        None => crate::page::paused_standing(ctx.config(), r, &store.talk(r.id)?.pause),
        Some(_) => None,
    };
    Ok(Row {
        run_id: r.id,
        repo: r.repo.clone(),
        issue: r.issue,
        key: crate::core::prompt::tracker_key(&r.branch, r.issue),
        state: r.state,
        shown: history::shown_state(r.state, paused.is_some()),
        reason: r.end_reason.clone().or_else(|| r.error.clone()),
        pr: r.pr_number,
        pr_url: r.pr_url.clone(),
        turns: r.turns,
        template: r.template_name.clone(),
        template_version: r.template_version,
        created_at: r.created_at.clone(),
        ended_at: r.ended_at.clone(),
        duration_s: history::duration_s(&r.created_at, r.ended_at.as_deref(), now),
        spend_usd: r.spend_usd,
        reported_usd: history::reported_usd(&spent, r.spend_usd),
        paused,
    })
}

pub fn run(ctx: &Session, a: &Args) -> Result<Outcome> {
    ctx.load()?;
    let store = ctx.read_store()?;
    let now = crate::clock::now();
    match &a.command {
        Some(RunsCmd::Show { id, log, raw }) => match id.parse::<i64>() {
            Ok(n) => show(ctx, &store, n, (*log, *raw), now),
            // an upgrade fixer's run: `upgrade-3-1` (its run folder's name)
            Err(_) if crate::runner::TurnOf::parse_fixer(id).is_some() => {
                fixers::show(ctx, &store, id, *log)
            }
            Err(_) => anyhow::bail!(
                "runs: no run with id {} (afk runs lists them)",
                crate::core::sanitize::one_line(id, 60)
            ),
        },
        None => list(ctx, &store, a, now),
    }
}

fn list(ctx: &Session, store: &Store, a: &Args, now: OffsetDateTime) -> Result<Outcome> {
    let runs = match history::repo_filter(a.repo.as_deref()) {
        RepoFilter::Nothing => vec![],
        RepoFilter::All => store.recent_runs(None, a.status, a.limit)?,
        RepoFilter::One(repo) => store.recent_runs(Some(&repo), a.status, a.limit)?,
    };
    let rows: Vec<Row> = runs
        .iter()
        .map(|r| row(ctx, store, r, now))
        .collect::<Result<_>>()?;
    let fixers = match history::lists_fixers(a.status) {
        true => fixers::rows(ctx, store, a.repo.as_deref(), a.limit)?,
        false => vec![],
    };
    let mut h = String::new();
    if rows.is_empty() && fixers.is_empty() {
        h.push_str("no runs\n");
    } else if !rows.is_empty() {
        let sigil = ctx.config().profile().pr_sigil;
        let cells: Vec<Vec<String>> = rows.iter().map(|r| history::cells(r, sigil)).collect();
        h.push_str(&table(&history::COLUMNS, &cells));
    }
    h.push_str(&fixers::human_table(&fixers));
    emit(
        ctx.json(),
        &Listed {
            command: "runs",
            runs: rows,
            fixers,
        },
        &h,
    );
    Ok(Outcome::OK)
}

fn show(
    ctx: &Session,
    store: &Store,
    id: i64,
    (log, raw): (bool, bool),
    now: OffsetDateTime,
) -> Result<Outcome> {
    let id = crate::types::RunId(id);
    let Some(r) = store.run(id)? else {
        // not found: exit 1, as for every command (a usage error is 2)
        return Err(crate::hint::hinted(
            anyhow::anyhow!("runs: no run with id {id}"),
            "`afk runs` lists them",
        ));
    };
    let run_dir = crate::run_files::run_dir_of(ctx.paths(), &r);
    let turns = store.turns(id)?;
    let outcome = store.run_outcome(id)?;
    let timeline = timeline_of(store, &r, &turns, &outcome, ctx.config().profile().pr_sigil)?;
    let files = files_of(&run_dir);
    let agent_log = log.then(|| agent_log_of(ctx, &run_dir, raw));
    let exit_status = crate::run_files::exit_status(&run_dir);
    let read = crate::runner::output::progress(&run_dir);
    let written = crate::run_files::written_of(&read);
    // redacted before its lines are cut to what runs show prints
    let progress = &*crate::run_files::redacted(&read.lines);
    let phase = crate::core::progress::latest_phase(progress, written.as_deref());
    let doc = Shown {
        forge: ctx.config().profile().kind,
        command: "runs show",
        run: row(ctx, store, &r, now)?,
        branch: &r.branch,
        title: &r.title,
        url: &r.url,
        head_sha: r.head_sha.as_deref(),
        phase: phase.as_ref().map(|p| p.name.as_str()),
        phase_at: phase.as_ref().and_then(|p| p.at.as_deref()),
        timeline: timeline
            .iter()
            .map(|(at, what)| Moment { at, what })
            .collect(),
        outcome: outcome.as_ref().map(|o| o.0.as_str()),
        run_dir: run_dir.to_string_lossy().into_owned(),
        checkout: checkout_of(ctx, &r, &run_dir),
        files: &files,
        progress: crate::core::progress::lines(progress, PROGRESS_LINES),
        progress_skipped_lines: read.skipped,
        agent_log: agent_log.as_deref(),
        spend_sources: crate::core::budget::spend::Ledger::from_stored(r.spend_ledger.as_deref())
            .figures(),
        metered: history::metered(&RunSpend::from_stored(r.spend_ledger.as_deref())),
        final_message: crate::run_files::final_message(&run_dir, ctx.config().runner.agent()),
        box_said: exit_status
            .filter(|c| *c != 0)
            .and_then(|_| crate::run_files::box_reason(&run_dir)),
        exit_status,
        gate: crate::run_files::gate_verdict(&run_dir),
        log_end: exit_status
            .filter(|c| *c != 0)
            .and_then(|_| crate::run_files::log_end(&run_dir)),
        conversation: store.talk_items(id)?,
        turns,
        limits: limits_of(ctx, store, id)?,
    };
    let h = human::show(&doc, &r, now);
    emit(ctx.json(), &doc, &h);
    Ok(Outcome::OK)
}

/// The run's limits: the config's, or the larger ones a trusted `/afk
/// budget` set for it, and who set them (`core::budget::pause::run_limits`).
fn limits_of(
    ctx: &Session,
    store: &Store,
    id: crate::types::RunId,
) -> Result<crate::core::budget::pause::RunLimits> {
    let pause = store.talk(id)?.pause;
    let b = &ctx.config().budget;
    Ok(crate::core::budget::pause::run_limits(
        (b.run_usd, b.run_time),
        (pause.limit_cents, pause.limit_time_secs),
        pause.limits_set_by.as_deref(),
    ))
}

/// The run folder's prompts, agent log and progress file, by name.
fn files_of(run_dir: &std::path::Path) -> Vec<String> {
    let mut files: Vec<String> = std::fs::read_dir(run_dir)
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().to_string())
                .filter(|n| history::listed_file(n))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

/// The end of `agent.log`: for people each of a named agent's events one
/// line (`core::agent_log`); with `--raw` or `--json` as written.
fn agent_log_of(ctx: &Session, run_dir: &std::path::Path, raw: bool) -> String {
    let text = crate::run_files::log_tail(&run_dir.join("agent.log"));
    let agent = ctx.config().runner.agent();
    if !history::renders_log(agent, raw, ctx.json()) {
        return text;
    }
    text.lines()
        .filter_map(|l| crate::core::agent_log::render(agent, l))
        .collect::<Vec<_>>()
        .join("\n")
}

/// afk's checkout of the run, where it still is (`workspace = "afk"`).
fn checkout_of(ctx: &Session, r: &Run, run_dir: &std::path::Path) -> Option<String> {
    let at = crate::workspace::At {
        repo: &r.repo,
        issue: r.issue,
        run_id: r.id,
        run_dir,
        branch: &r.branch,
    };
    crate::workspace::checkout_left(ctx.config(), &at).map(|w| w.to_string_lossy().into_owned())
}

/// How many of the progress file's last lines `runs show` prints.
const PROGRESS_LINES: usize = 50;

/// The timeline: what the state file knows (`core::run_history::timeline`
/// puts it in order).
fn timeline_of(
    store: &Store,
    r: &Run,
    turns: &[TurnRow],
    outcome: &Option<(String, Option<String>)>,
    pr_sigil: char,
) -> Result<Vec<(String, String)>> {
    let times = store.run_times(r.id)?;
    let events = store.run_events(r.id)?;
    let turns_started: Vec<TurnStarted> = turns
        .iter()
        .map(|t| TurnStarted {
            at: &t.started_at,
            turn: t.turn,
            why: &t.why,
        })
        .collect();
    let events: Vec<(&str, _, &str)> = events
        .iter()
        .map(|e| (e.at.as_str(), e.kind, e.text.as_str()))
        .collect();
    Ok(history::timeline(&Moments {
        created_at: &r.created_at,
        updated_at: &r.updated_at,
        state: r.state,
        turns: r.turns,
        turns_started: &turns_started,
        pr: r.pr_number.zip(r.pr_url.as_deref()),
        pr_sigil,
        pr_seen_at: times.pr_seen_at.as_deref(),
        green_since: r.green_since.as_deref(),
        events: &events,
        ended_at: r.ended_at.as_deref(),
        why_ended: r.end_reason.as_deref().or(r.error.as_deref()),
        outcome: outcome.as_ref().map(|(o, by)| (o.as_str(), by.as_deref())),
        outcome_at: times.outcome_at.as_deref(),
        reverted_at: times.reverted_at.as_deref(),
    }))
}
