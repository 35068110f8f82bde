//! The status page and its Markdown twin, the status issue: the state file
//! (and the run folders' progress files, for phases and questions) read into
//! `core::status::page::Page`, which renders it. No forge request but the
//! issue's own: the page shows what afk recorded. A tick's monitor rewrites
//! both after every tick (`after_tick`, the page atomically); `afk status
//! --html` prints the page.

mod canary;
mod issue;
pub mod ticks;

use crate::config::{Config, StatePaths};
use crate::core::status::page::{EscalationRow, FrozenRow, Page, RunRow, Spend, UpgradeRow};
use crate::store::Store;
use crate::store::runs::Run;
use crate::types::stamp::age;
use anyhow::Result;
use time::OffsetDateTime;

/// How many ended runs, escalations, upgrade flows and days of spend it shows.
const ENDED_RUNS: usize = 50;
const ESCALATIONS: usize = 100;
const UPGRADES: usize = 20;
const SPEND_DAYS: i64 = 14;

/// The page as HTML, from the state file read as `s`.
pub(crate) fn html(cfg: &Config, paths: &StatePaths, s: &Store) -> Result<String> {
    let page = build(cfg, paths, s, crate::clock::now())?;
    Ok(crate::core::status::page::render(&page))
}

/// What the page and the issue are kept from after a tick: the tick's
/// config, paths, store and forge, and the words of its tense.
pub(crate) struct On<'a, 'f> {
    pub cfg: &'a Config,
    pub paths: &'a StatePaths,
    pub store: &'a Store,
    /// the tick's forge, asked for when the issue is edited (harvest's is
    /// built then)
    pub forge: &'a dyn Fn() -> Result<&'f dyn crate::forge::Forge>,
    pub tense: crate::tense::Tense,
}

/// After a tick that ran: rewrite the page `file` (a temporary file beside
/// it, created exclusively and renamed over it, as the metrics file is; two
/// ticks take turns; None: no page, or a dry run, which writes none) and
/// keep `status_issue` (`issue.rs`), both from one [`Page`] built once from
/// the tick's store at the tick's end, `now`. Never fails a tick: a problem
/// is a warning.
pub(crate) fn after_tick(on: &On, file: Option<&std::path::Path>, now: OffsetDateTime) {
    let issue = on.cfg.status_issue();
    if file.is_none() && issue.is_none() {
        return;
    }
    let done = (|| -> Result<()> {
        let _turn = match file {
            Some(_) => Some(crate::lock::wait_for(&on.paths.dir, "status-page")?),
            None => None,
        };
        let page = build(on.cfg, on.paths, on.store, now)?;
        if let Some(path) = file
            && let Err(e) = write_html(&page, path)
        {
            crate::log::warn(&format!(
                "status page: cannot write {}: {e}",
                path.display()
            ));
        }
        if let Some(issue) = issue {
            issue::after_tick(on, issue, &page);
        }
        Ok(())
    })();
    if let Err(e) = done {
        crate::log::warn(&format!("status page: cannot read the state: {e}"));
    }
}

/// Build the page from the state file read as `s` and replace `path` with
/// it (the demo's page: test world only).
#[cfg(feature = "test-world")]
pub(crate) fn write(
    cfg: &Config,
    paths: &StatePaths,
    s: &Store,
    path: &std::path::Path,
) -> Result<()> {
    let _turn = crate::lock::wait_for(&paths.dir, "status-page")?;
    let page = build(cfg, paths, s, crate::clock::now())?;
    write_html(&page, path)
}

/// Replace `path` with the page, mode 0644 (a web server reads it).
fn write_html(page: &Page, path: &std::path::Path) -> Result<()> {
    let html = crate::core::status::page::render(page);
    // redacted by the writer (`replace_file`)
    crate::metrics::replace_file(path, &html, 0o644)?;
    Ok(())
}

/// Everything the page shows, from the state file.
pub(crate) fn build(
    cfg: &Config,
    paths: &StatePaths,
    s: &Store,
    now: OffsetDateTime,
) -> Result<Page> {
    let in_flight = s
        .runs_in_flight()?
        .iter()
        .map(|r| {
            let mut row = run_row(cfg, paths, r, None, now);
            row.held = held(s, r, now)?;
            let talk = s.talk(r.id)?;
            row.paused =
                paused_standing(cfg, r, &talk.pause).map(|p| crate::core::budget::pause::cell(&p));
            // a limit a trusted comment raised, and who
            let limits = crate::core::budget::pause::run_limits(
                (cfg.budget.run_usd, cfg.budget.run_time),
                (talk.pause.limit_cents, talk.pause.limit_time_secs),
                talk.pause.limits_set_by.as_deref(),
            );
            row.raised = crate::core::budget::pause::raised_words(&limits);
            Ok(row)
        })
        .collect::<Result<_>>()?;
    let ended = s
        .ended_runs(ENDED_RUNS)?
        .into_iter()
        .map(|(r, outcome)| run_row(cfg, paths, &r, Some(outcome.unwrap_or_default()), now))
        .collect();
    let (open, escalations_total) = s.open_escalations(ESCALATIONS)?;
    Ok(Page {
        generated_at: crate::clock::ts(now),
        rewritten: cfg.status_page.is_some(),
        forge_url: cfg.forge.url.clone(),
        pr_segment: cfg.profile().pr_segment.to_string(),
        pr_sigil: cfg.profile().pr_sigil.to_string(),
        web: crate::core::status::page::WebShape::of(cfg.forge.kind),
        stop_file: paths.stop.display().to_string(),
        stop_present: paths.stop.exists(),
        poll_enabled: cfg.poll.enabled,
        in_flight,
        ended,
        escalations: open.iter().map(|r| escalation_row(paths, r)).collect(),
        escalations_total,
        templates: canary::templates(cfg, s)?,
        spend: spend(cfg, s, now)?,
        upgrades: upgrades(s, now)?,
        scans: s.scans()?,
        lessons: if cfg.lessons.enabled {
            Some(s.open_by_type()?.into_iter().collect())
        } else {
            None
        },
        frozen: s
            .freezes()?
            .into_iter()
            .map(|f| FrozenRow {
                repo: f.repo,
                reason: f.reason,
                since: f.since,
            })
            .collect(),
        ticks: ticks::page_rows(&ticks::tick_docs(s, cfg, now)?, cfg),
        pilot: Some(
            pilot(s, now, cfg.report.kept_floor)?
                .with_survival_window(&crate::types::format_duration(cfg.harvest.survival_window)),
        ),
        audit: s.journal_head()?,
        audit_run_end: s.journal_head_at_run_end()?,
    })
}

/// The pilot figures of the last `report::DEFAULT_DAYS` days (`afk report`'s
/// default window), from the state file.
pub(crate) fn pilot(
    s: &Store,
    now: OffsetDateTime,
    kept_floor: f64,
) -> Result<crate::core::status::report::Report> {
    use crate::core::status::report;
    let window = std::time::Duration::from_secs(report::DEFAULT_DAYS * 86_400);
    let from = report::window_start(window, now).map_err(anyhow::Error::msg)?;
    Ok(report::report(
        &s.report_runs(from)?,
        window,
        now,
        kept_floor,
    ))
}

/// A run as the page shows it; `outcome` is Some for an ended run.
fn run_row(
    cfg: &Config,
    paths: &StatePaths,
    r: &Run,
    outcome: Option<String>,
    now: OffsetDateTime,
) -> RunRow {
    let ended = outcome.is_some();
    let phase = if ended {
        None
    } else {
        crate::run_files::phase_in(&crate::run_files::run_dir_of(paths, r))
    };
    let green_for = r.green_since.as_deref().map(|g| age(g, now));
    let ci = crate::core::status::page::ci_cell(
        ended,
        r.pr_number.is_some(),
        green_for.as_deref(),
        r.last_ci.as_deref(),
    );
    RunRow {
        id: r.id,
        repo: r.repo.to_string(),
        issue: r.issue,
        // beside a tracker, the issue's key as its branch carries it
        key: cfg
            .tracker
            .as_ref()
            .map(|_| crate::core::prompt::issue_name(&r.branch, r.issue))
            .filter(|k| *k != r.issue.to_string()),
        state: match (&r.end_reason, ended, &r.watch_said) {
            (Some(why), true, _) => format!("{} ({why})", r.state),
            // in flight: where it stands, by watch's last decision
            (_, false, Some(said)) => format!("{} ({said})", r.state),
            _ => r.state.to_string(),
        },
        age: match (ended, r.ended_at.as_deref()) {
            (true, Some(at)) => format!("{} ago", age(at, now)),
            _ => age(&r.created_at, now),
        },
        phase: phase.map(|p| p.name).unwrap_or_default(),
        pr: r.pr_number,
        ci,
        turns: format!(
            "{}/{}",
            r.turns,
            crate::core::checklist::turns_at_most(
                cfg.watch.fix_forward_max,
                cfg.watch.review_turns_max
            )
        ),
        spend_usd: r.spend_usd,
        spend_from: crate::core::run_spend::RunSpend::from_stored(r.spend_ledger.as_deref())
            .spend_from(),
        outcome: outcome.filter(|o| !o.is_empty()),
        held: None,
        paused: None,
        raised: None,
        since: match (ended, r.ended_at.as_deref()) {
            (true, Some(at)) => at.to_string(),
            _ => r.created_at.clone(),
        },
        green_since: r.green_since.clone(),
    }
}

/// A paused run's pause as every view shows it (`core::budget::pause::standing`):
/// its limit and figure (its own where a comment raised it), its spend,
/// since and until when. None: not paused.
pub(crate) fn paused_standing(
    cfg: &Config,
    r: &Run,
    p: &crate::store::talk::Pause,
) -> Option<crate::core::budget::pause::Standing> {
    let limit = p
        .limit
        .as_deref()
        .and_then(crate::core::budget::Limit::parse)?;
    let since = p.since.as_deref()?;
    let b = &cfg.budget;
    let c = crate::core::budget::pause::Configured {
        run_usd: b.run_usd,
        run_time: b.run_time,
        day_usd: b.day_usd,
        repo_day_usd: b.repo_day_usd,
        pause_for: b.pause_for,
        day_continues: p.day_continuations < b.day_continuations,
    };
    Some(crate::core::budget::pause::standing(
        limit,
        since,
        (p.limit_cents, p.limit_time_secs),
        c,
        r.spend_usd,
    ))
}

/// A run on `/afk hold`: who holds it, since when (`core::conversation::held_text`).
pub(super) fn held(s: &Store, r: &Run, now: OffsetDateTime) -> Result<Option<String>> {
    let talk = s.talk(r.id)?;
    // a paused run says so where a held one does
    if let (Some(limit), Some(since)) = (&talk.pause.limit, &talk.pause.since) {
        return Ok(Some(crate::core::status::text::paused_text(
            limit,
            since,
            &age(since, now),
        )));
    }
    Ok(match (talk.held_by, talk.held_since) {
        (Some(by), Some(since)) => Some(crate::core::conversation::held_text(
            &by,
            &since,
            &age(&since, now),
        )),
        _ => None,
    })
}

/// An escalation with what the blocked agent asked (from its progress file),
/// or why its agent could not start (as its runner kept it).
fn escalation_row(paths: &StatePaths, r: &Run) -> EscalationRow {
    let dir = crate::run_files::run_dir_of(paths, r);
    let (bytes, _) = crate::run_files::progress_of(&dir);
    let blocked = crate::core::progress::blocked_in(&bytes);
    let agent_failed = crate::core::run_state::Escalation::AgentFailed.to_string();
    let said = match r.end_reason.as_deref() {
        Some(why) if why == agent_failed => crate::runner::cannot_start_reason(&dir),
        _ => blocked.as_ref().map(|b| b.reason.clone()),
    }
    .filter(|s| !s.is_empty());
    let reason = match (&r.end_reason, said) {
        (Some(why), Some(s)) => format!("{why}: {s}"),
        (Some(why), None) => why.clone(),
        (None, Some(s)) => s,
        (None, None) => String::new(),
    };
    EscalationRow {
        run_id: r.id,
        repo: r.repo.to_string(),
        issue: r.issue,
        since: r.ended_at.clone().unwrap_or_else(|| r.updated_at.clone()),
        reason,
        questions: blocked.map(|b| b.questions).unwrap_or_default(),
    }
}

/// Spend of the last `SPEND_DAYS` UTC days (a day with no run shows $0) and
/// today's per repo.
fn spend(cfg: &Config, s: &Store, now: OffsetDateTime) -> Result<Spend> {
    let today = crate::core::budget::spend::day_of(now);
    let first = today - time::Duration::days(SPEND_DAYS - 1);
    let have = s.spend_by_day(&first.to_string())?;
    let days = (0..SPEND_DAYS)
        .map(|i| {
            let d = (first + time::Duration::days(i)).to_string();
            have.iter()
                .find(|h| h.0 == d)
                .cloned()
                .unwrap_or((d, 0.0, 0))
        })
        .collect();
    let start = today.midnight().assume_utc();
    let per_repo = s.spend_by_repo(
        &crate::clock::ts(start),
        &crate::clock::ts(start + time::Duration::days(1)),
    )?;
    let b = &cfg.budget;
    Ok(Spend {
        days,
        day_limit: b.day_usd,
        repo_limit: b.repo_day_usd,
        per_repo,
    })
}

/// Open flows first, then the most recently ended.
fn upgrades(s: &Store, now: OffsetDateTime) -> Result<Vec<UpgradeRow>> {
    Ok(s.recent_upgrades(UPGRADES)?
        .into_iter()
        .map(|u| UpgradeRow {
            bump: crate::core::upgrade::bump_text(&u.image, &u.from_tag, &u.to_tag),
            step: u.step.clone().unwrap_or_default(),
            queue_place: u.queue_place,
            since: u
                .step_since
                .as_deref()
                .map(|t| format!("{t} ({})", age(t, now)))
                .unwrap_or_default(),
            step_since: u.step_since.clone(),
            result: match (&u.outcome, &u.closed_reason) {
                (Some(o), _) => match &u.final_reason {
                    Some(r) => format!("{o}: {r}"),
                    None => o.clone(),
                },
                (None, Some(c)) => format!("closed: {c}"),
                (None, None) => "open".into(),
            },
            recipe: u.recipe,
            mirror: u.mirror,
            pr: u.pr,
        })
        .collect())
}
