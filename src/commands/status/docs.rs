//! What `afk status` reports, gathered from the state (the documents its
//! `--json` prints) and said as text (the words are `core::status::text`'s).

use super::flows;
use crate::output::table;
use crate::session::Session;
use crate::store::Store;
use anyhow::Result;
use serde::Serialize;
use time::OffsetDateTime;

/// Each run's spend as its agent's files say it now.
pub(super) type Spends = std::collections::HashMap<crate::types::RunId, Option<f64>>;

/// Open lessons: counted by type, and the newest few (`lessons.enabled = false`: only `enabled`).
#[derive(Serialize)]
pub(super) struct LessonsDoc {
    enabled: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    open: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    by_type: Option<std::collections::BTreeMap<String, i64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    newest: Option<Vec<crate::store::lessons::Lesson>>,
}

/// How many of the newest open lessons `afk status` shows.
pub(super) const NEWEST_LESSONS: usize = 3;

pub(super) fn lessons_doc(ctx: &Session, s: &Store) -> Result<LessonsDoc> {
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

pub(super) fn lessons_lines(l: &LessonsDoc) -> String {
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
pub(super) struct PollDoc<'a> {
    pub(super) enabled: bool,
    pub(super) allowlist: &'a [crate::types::RepoName],
    pub(super) max_in_flight: usize,
}

/// A run in flight.
#[derive(Serialize)]
pub(super) struct RunDoc<'a> {
    repo: &'a str,
    issue: crate::types::IssueNumber,
    /// a tracker's issue: its key (`PLAT-12`), as its branch carries it
    #[serde(skip_serializing_if = "Option::is_none")]
    key: Option<String>,
    run_id: crate::types::RunId,
    /// the run's status, or `paused` while it waits at a limit
    state: &'static str,
    /// seconds since dispatch
    age: i64,
    created_at: &'a str,
    pr: Option<crate::types::PrNumber>,
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
    /// paused at a limit: which, and since when; absent otherwise
    #[serde(skip_serializing_if = "Option::is_none")]
    paused: Option<PausedDoc>,
    /// the run's limits in force and who raised them by a comment
    /// (`limits: {run_usd, run_time, set_by}`)
    limits: crate::core::budget::pause::RunLimits,
}

/// Which limit paused a run, the limit's figure, the spend, since when and
/// until when, as every view names them (`core::budget::pause::standing`).
pub(super) type PausedDoc = crate::core::budget::pause::Standing;

/// Who holds a run and since when.
#[derive(Serialize)]
pub(super) struct HeldDoc {
    by: String,
    since: String,
}

/// A live canary and where it stands.
#[derive(Serialize)]
pub(super) struct CanaryDoc<'a> {
    template: &'a str,
    version: i64,
    canary_since: Option<&'a str>,
    outcomes: Outcomes,
    next_checkpoint: Option<u32>,
    sample: f64,
    routing: bool,
}

#[derive(Serialize)]
pub(super) struct Outcomes {
    success: u64,
    failure: u64,
}

/// The runs in flight as `--json` shows them, their spend as their agents'
/// files say it now (not as watch last read it); and that spend by run.
pub(super) fn run_docs<'a>(
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

impl RunDoc<'_> {
    /// `acme/api#12`, or a tracker's issue by its key (`acme/api PLAT-12`).
    fn name(&self) -> String {
        match &self.key {
            Some(k) => format!("{} {k}", self.repo),
            None => format!("{}#{}", self.repo, self.issue),
        }
    }
}

pub(super) fn run_doc<'a>(
    ctx: &Session,
    s: &Store,
    r: &'a crate::store::runs::Run,
    now: OffsetDateTime,
) -> Result<RunDoc<'a>> {
    let phase = crate::run_files::phase_in(&crate::run_files::run_dir_of(ctx.paths(), r));
    let talk = s.talk(r.id)?;
    let budget = &ctx.config().budget;
    let limits = crate::core::budget::pause::run_limits(
        (budget.run_usd, budget.run_time),
        (talk.pause.limit_cents, talk.pause.limit_time_secs),
        talk.pause.limits_set_by.as_deref(),
    );
    Ok(RunDoc {
        repo: &r.repo,
        issue: r.issue,
        key: ctx
            .config()
            .tracker
            .as_ref()
            .map(|_| crate::core::prompt::issue_name(&r.branch, r.issue))
            .filter(|k| *k != r.issue.to_string()),
        run_id: r.id,
        state: if talk.pause.limit.is_some() {
            "paused"
        } else {
            r.state.as_str()
        },
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
        paused: paused_doc(ctx.config(), r, &talk.pause),
        limits,
    })
}

/// A paused run's figures: its own limit where a comment raised it, else
/// the config's; `until` is `pause_for` after the pause, or the next 00:00
/// UTC at a day's cap (`core::budget::pause::standing`).
fn paused_doc(
    cfg: &crate::config::Config,
    r: &crate::store::runs::Run,
    p: &crate::store::talk::Pause,
) -> Option<PausedDoc> {
    crate::page::paused_standing(cfg, r, p)
}

/// `profile` names each run's PR (`#N`, a merge request's `!M`).
pub(super) fn runs_table(
    runs: &[RunDoc],
    profile: &crate::forge::Profile,
    now: OffsetDateTime,
) -> String {
    if runs.is_empty() {
        return String::new();
    }
    let rows: Vec<Vec<String>> = runs
        .iter()
        .map(|r| {
            let ago = r
                .phase_at
                .as_deref()
                .map(|at| crate::types::stamp::age(at, now));
            let phase = crate::core::status::text::phase_cell(r.phase.as_deref(), ago.as_deref());
            vec![
                r.name(),
                r.run_id.to_string(),
                match &r.held {
                    Some(_) => format!("{} (held)", r.state),
                    None => r.state.to_string(),
                },
                crate::types::stamp::age(r.created_at, now),
                r.pr.map(|n| profile.pr_ref(n)).unwrap_or("-".into()),
                format!("{}/{}", r.turns_used, r.turns_max),
                r.spend_usd
                    .map_or("-".into(), crate::core::budget::spend::usd),
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
pub(super) fn held_lines(runs: &[RunDoc], now: OffsetDateTime) -> String {
    let mut h = String::new();
    for r in runs {
        if let Some(p) = &r.paused {
            h.push_str(&crate::core::status::text::paused_line(
                &r.name(),
                r.run_id.0,
                &p.limit,
                &p.since,
                &crate::types::stamp::age(&p.since, now),
            ));
        }
        if let Some(held) = &r.held {
            h.push_str(&crate::core::status::text::held_line(
                &r.name(),
                r.run_id.0,
                &held.by,
                &held.since,
                &crate::types::stamp::age(&held.since, now),
            ));
        }
    }
    h
}

/// Each live canary: version, outcomes so far, the next checkpoint
/// (docs/how-it-works.md#afk-harvest-and-the-template-canary).
pub(super) fn canaries<'a>(
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
        text.push_str(&crate::core::status::text::canary_line(
            &crate::core::status::text::Canary {
                name: &c.name,
                version: c.version,
                success: ok,
                failure: failed,
                next_checkpoint: next,
                routing: h.canary,
                sample: h.sample,
            },
        ));
    }
    Ok((docs, text))
}
