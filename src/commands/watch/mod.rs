//! `afk watch`: one lifecycle tick over the runs in flight (SPEC 4). For each
//! run, in parallel: observe (`observe.rs`: issue, PR, CI, deploy, agent,
//! progress) → the pure `core::run_state::next_action` → act (`act.rs`,
//! carrying out `core::end_plan` for end states). End states are decided in
//! SQLite first (with their outbox event, in one transaction) and their forge
//! writes are resumed on the next tick if one fails, so every step is idempotent.

mod act;
mod comments;
mod forward;
mod lists;
mod observe;
mod summary;
mod talk;
#[cfg(test)]
mod tests;

use crate::core::run_state::{RunState, decided_action, next_action};
use crate::edges::{Edges, Opening};
use crate::forge::{Forge, fan_out};
use crate::lessons::Journal;
use crate::runner::Runner;
use crate::session::{Outcome, Session};
use crate::store::Source;
use crate::store::runs::Run;
use crate::tick::{self, ErrorItem, record_transient};
use crate::types::{IssueNumber, RepoName};
use anyhow::Result;
use serde::Serialize;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};
use time::OffsetDateTime;

/// `afk watch` takes the global flags only.
#[derive(clap::Args, Debug, Default)]
pub struct Args {}

#[derive(Serialize, Clone, Debug)]
pub struct ActionItem {
    pub repo: RepoName,
    pub issue: IssueNumber,
    pub run_id: crate::types::RunId,
    pub action: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// What the run's agents reported spending so far; absent: nothing yet.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub spend_usd: Option<f64>,
    /// the decision's why in words (`CI pending on 2 of 3 contexts (lint, test)`)
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// what the tick could not do for the run and went on without (a
    /// comment the forge refused even shortened)
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// The watch report (`--json`).
#[derive(Serialize, Debug, Default)]
pub struct Report {
    #[serde(flatten)]
    pub head: tick::Head,
    pub actions: Vec<ActionItem>,
    pub errors: Vec<ErrorItem>,
    pub events: crate::notify::Delivery,
    pub requests: usize,
    /// of those, the ones that cost rate limit (GitHub: all but 304s)
    pub costly_requests: usize,
    /// what a dry run would have written (forge writes, agents started or stopped)
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub writes: Vec<String>,
}

/// Everything a run's observation and action share within one tick. Per-repo
/// lists are fetched at most once per tick and shared by the runs of a repo.
pub(crate) struct Watch<'a> {
    pub ctx: &'a Session,
    pub forge: &'a dyn Forge,
    pub runner: &'a dyn Runner,
    pub journal: &'a Journal,
    /// where the tick's store lives: each worker opens its own connection
    pub source: Source,
    pub now: OffsetDateTime,
    /// afk's own login: only its comments are afk's.
    pub me: OnceLock<lists::Cached<String>>,
    pulls: lists::PullLists,
    labelled: lists::Labelled,
    /// the PRs this tick opened (SPEC 5.0.4): runs find them as if listed
    opened: Mutex<Vec<(RepoName, crate::forge::PullRequest)>>,
    /// the agents' checkouts (SPEC 5.0)
    pub workspace: &'a dyn crate::workspace::Checkouts,
    /// what the tick went on without, per run (`note`)
    pub notes: Mutex<Vec<(crate::types::RunId, String)>>,
}

impl Watch<'_> {
    /// Time since the run was dispatched (zero when the clock went backwards).
    pub fn age(&self, run: &Run) -> std::time::Duration {
        let dispatched = crate::clock::parse(&run.created_at).unwrap_or(self.now);
        crate::core::progress::since(dispatched, self.now)
    }

    /// Something the tick could not do for `run` and went on without: logged,
    /// and said in the run's line of the report.
    pub fn note(&self, run: &Run, text: String) {
        crate::log::warn(&format!(
            "{}#{} run {}: {text}",
            run.repo, run.issue, run.id
        ));
        self.notes.lock().unwrap().push((run.id, text));
    }

    pub fn run_dir(&self, run: &Run) -> PathBuf {
        crate::run_files::run_dir_of(self.ctx, run)
    }
}

/// A run's automatic lesson: `core::run_lessons`' content for this run.
fn lesson(run: &Run, l: crate::core::run_lessons::RunLesson) -> crate::store::lessons::NewLesson {
    crate::store::lessons::NewLesson {
        lesson_type: l.kind.into(),
        repo: Some(run.repo.to_string()),
        work_item: Some(format!("{}#{}", run.repo, run.issue)),
        run_id: Some(run.id),
        stage: Some(l.stage.into()),
        root_cause: Some(l.root_cause),
        suggestion: Some(l.suggestion),
        detail: l.detail,
        ..Default::default()
    }
}

/// What one tick did.
pub type Tick = tick::Tick<Report>;

impl tick::TickReport for Report {
    fn head(&self) -> &tick::Head {
        &self.head
    }
    fn error_lines(&self) -> Vec<String> {
        tick::lines_of(&self.errors)
    }
    fn counts(&self) -> (usize, usize, usize) {
        (self.requests, self.errors.len(), 0)
    }
}

pub fn run(ctx: &Session, _: &Args) -> Result<Outcome> {
    tick::run(ctx, crate::types::TickKind::Watch, tick)
}

/// A tick that did no work: `head` says why.
fn quiet(head: tick::Head, human: String) -> Tick {
    Tick {
        report: Report {
            head,
            ..Default::default()
        },
        human,
        code: 0,
    }
}

/// Watch is stopped (the stop file, or `why` from the tick's opening).
fn stopped(ctx: &Session, why: String) -> Tick {
    let human = format!("watch: disabled ({why}); nothing done\n");
    quiet(
        tick::Head::off(crate::types::TickKind::Watch, ctx.dry_run(), why),
        human,
    )
}

pub fn tick(ctx: &Session) -> Result<Tick> {
    if ctx.stop_file().exists() {
        let why = format!("stop file {} exists", ctx.stop_file().display());
        return Ok(stopped(ctx, why));
    }
    let adapters = ctx.tick_adapters(crate::types::TickKind::Watch)?;
    if !ctx.state_path().exists() {
        // nothing was ever dispatched: nothing to watch, and nothing to create
        let head = tick::Head::on(crate::types::TickKind::Watch, ctx.dry_run());
        return Ok(quiet(head, "watch: no runs in flight\n".into()));
    }
    let edges = match adapters.open(ctx.config(), ctx.paths(), crate::types::TickKind::Watch)? {
        Opening::Stopped(why) => return Ok(stopped(ctx, why)),
        Opening::SteppedAside => {
            tick::stepping_aside(crate::types::TickKind::Watch);
            return Ok(quiet(
                tick::Head::aside(crate::types::TickKind::Watch, ctx.dry_run()),
                String::new(),
            ));
        }
        Opening::Open(edges) => edges,
    };
    watch(ctx, &edges)
}

/// The tick itself, the same code whether its edges are real or dry.
fn watch(ctx: &Session, edges: &Edges) -> Result<Tick> {
    let cfg = ctx.config();
    let mut errors: Vec<ErrorItem> = vec![];
    // Claims a dead poll tick left behind are poll's to resolve; watch does it
    // too when poll is not running, so a disabled poll leaves nothing hanging.
    if let Some(_poll) = edges.lock_if_free(crate::types::TickKind::Poll) {
        let runner = edges.runner.as_ref();
        errors.extend(crate::claims::recover_claims(ctx, runner, &edges.store));
    }
    let watched = crate::core::run_state::RunStatus::watched_set();
    let rows = edges.store.runs_in_each(&watched)?;
    let w = Watch {
        ctx,
        forge: edges.forge.as_ref(),
        runner: edges.runner.as_ref(),
        journal: &edges.journal,
        source: edges.source(),
        now: edges.now,
        me: OnceLock::new(),
        pulls: Mutex::new(HashMap::new()),
        labelled: Mutex::new(HashMap::new()),
        opened: Mutex::new(vec![]),
        workspace: edges.workspace.as_ref(),
        notes: Mutex::new(vec![]),
    };
    let runs: Vec<Run> = rows
        .iter()
        .filter_map(|r| r.as_ref().ok().cloned())
        .collect();
    lists::prefetch(&w, &runs);
    let results = fan_out(&rows, cfg.forge.concurrency, |r| match r {
        Ok(run) => process(&w, run),
        Err(bad) => (None, vec![unreadable(bad)]),
    });
    let mut actions = vec![];
    for (a, e) in results {
        actions.extend(a);
        errors.extend(e);
    }
    // what this tick's writes changed, read again: the next tick's reads match
    edges.forge.revalidate(cfg.forge.concurrency);
    record_transient(w.journal, &errors, crate::types::TickKind::Watch);
    let errors = tick::one_per_cause(errors);
    let delivery = edges.notify();
    let writes = edges.writes();
    // every run in flight was looked at, whether watching it failed or not
    let human = summary::human(
        edges.tense(),
        rows.len(),
        &actions,
        &errors,
        delivery,
        &writes,
    );
    Ok(Tick {
        code: if errors.is_empty() { 0 } else { 1 },
        report: Report {
            head: tick::Head::on(crate::types::TickKind::Watch, edges.dry_run),
            actions,
            errors,
            events: delivery,
            requests: edges.forge.requests(),
            costly_requests: edges.forge.costly_requests(),
            writes,
        },
        human,
    })
}

/// A run whose stored repo is not `owner/name` (an edited state file): an
/// error for that run; the others are watched.
fn unreadable(bad: &crate::store::runs::Unreadable) -> ErrorItem {
    ErrorItem::msg(
        &bad.repo,
        Some(bad.issue),
        format!("run {}: state file: {}", bad.id, bad.error),
    )
}

/// Observe one run, decide, act. Each run opens its own connection: the
/// workers run in parallel.
fn process(w: &Watch, run: &Run) -> (Option<ActionItem>, Vec<ErrorItem>) {
    let err = |e: &anyhow::Error| ErrorItem {
        message: format!("run {}: {e:#}", run.id),
        ..ErrorItem::from_err(&run.repo, Some(run.issue), e)
    };
    let store = match w.source.open() {
        Ok(s) => s.at(w.now),
        Err(e) => return (None, vec![err(&e)]),
    };
    let seen = match observe::observe(w, &store, run) {
        Ok(s) => s,
        Err(e) => return (None, vec![err(&e)]),
    };
    let state = run_state(w, run, &seen);
    let action = next_action(&state);
    let detail = crate::core::explain::watch(&action, &state, &ci_seen(&seen));
    crate::log::decision(&format!(
        "{}#{} run {}: {}: {detail}",
        run.repo,
        run.issue,
        run.id,
        action.name()
    ));
    let mut item = ActionItem {
        repo: run.repo.clone(),
        issue: run.issue,
        run_id: run.id,
        action: action.name().into(),
        reason: action.reason(),
        spend_usd: seen.spend_usd,
        detail: Some(detail),
        notes: vec![],
    };
    let res = act::act(w, &store, run, &seen, action);
    w.notes.lock().unwrap().retain(|(id, text)| {
        let mine = *id == run.id;
        if mine {
            item.notes.push(text.clone());
        }
        !mine
    });
    (
        Some(item),
        res.err().map(|e| vec![err(&e)]).unwrap_or_default(),
    )
}

/// What the decision rule needs of one run, from the run and what watch saw.
fn run_state(w: &Watch, run: &Run, seen: &observe::Seen) -> RunState {
    let cfg = w.ctx.config();
    RunState {
        decided: decided_action(run.state, run.end_reason.as_deref()),
        agent: seen.agent,
        blocked: seen.blocked.is_some(),
        cannot_start: seen.cannot_start.clone(),
        push_problem: seen.forwarded.problem.as_ref().map(|(p, _)| *p),
        pr: seen.pr_state(),
        head_sha: seen.pr.as_ref().map(|p| p.head.sha.clone()),
        ci_sha: seen.ci_sha.clone(),
        ci: seen.ci.checks,
        deploy_configured: !cfg.watch.deploy_context.is_empty(),
        deploy: seen.deploy,
        // corrective turns of every reason but review turns share fix_forward_max
        turns_used: run
            .turns
            .saturating_sub(1)
            .saturating_sub(seen.heard.talk.review_turns),
        fix_forward_max: cfg.watch.fix_forward_max,
        since_progress: seen.since_progress,
        stall_after: cfg.stall_after(),
        issue_open: seen.issue_open,
        // a started run's label is poll's to add: its absence is no person's doing
        in_progress_label: seen.in_progress_label
            || run.state == crate::core::run_state::RunStatus::Started,
        spend_usd: seen.spend_usd,
        run_usd: cfg.budget.run_usd,
        age: held_age(w, run, &seen.heard.talk),
        run_time: cfg.budget.run_time,
        talk: crate::core::run_state::Talk {
            stop: seen.heard.talk.stopped_by.is_some(),
            held: seen.heard.talk.held_since.is_some(),
            review_asked: !seen.heard.asked.is_empty(),
            review_turns_used: seen.heard.talk.review_turns,
            review_turns_max: cfg.watch.review_turns_max,
            conflict: conflict(w, run, seen),
            retest_due: !cfg.watch.retest_comment.is_empty()
                && seen.ci_sha.is_some()
                && seen.heard.talk.retest_sha != seen.ci_sha,
            retest_waiting: crate::core::conversation::retest_waits(
                seen.heard.talk.retest_sha.as_deref(),
                seen.ci_sha.as_deref(),
                seen.heard
                    .talk
                    .retest_at
                    .as_deref()
                    .and_then(crate::clock::parse),
                seen.ci_newest_at,
            ),
        },
    }
}

/// What a PR the forge may call conflicting gets (SPEC 4.1): only an open
/// PR whose `mergeable` is known.
fn conflict(
    w: &Watch,
    run: &Run,
    seen: &observe::Seen,
) -> Option<crate::core::conversation::ConflictStep> {
    let cfg = w.ctx.config();
    let p = seen
        .pr
        .as_ref()
        .filter(|_| seen.pr_state() == crate::core::run_state::Pr::Open)?;
    let fix_turns = run
        .turns
        .saturating_sub(1)
        .saturating_sub(seen.heard.talk.review_turns);
    let facts = crate::core::conversation::ConflictFacts {
        mergeable: p.mergeable,
        update: cfg.watch.update_branch,
        afk_branch: p.head.name == run.branch && p.head_repo().is_none_or(|r| run.repo == r),
        base_sha: &p.base.sha,
        asked_for_base: seen.heard.talk.update_base.as_deref(),
        turns_left: fix_turns < cfg.watch.fix_forward_max,
    };
    Some(crate::core::conversation::conflict_step(&facts))
}

/// The run's age without the time it was held (a hold pauses the run-time clock).
fn held_age(w: &Watch, run: &Run, talk: &crate::store::talk::Talk) -> std::time::Duration {
    let now_held = talk
        .held_since
        .as_deref()
        .and_then(crate::clock::parse)
        .map_or(0, |since| {
            crate::core::progress::since(since, w.now).as_secs()
        });
    let held = std::time::Duration::from_secs(talk.held_secs + now_held);
    w.age(run).saturating_sub(held)
}

/// What watch saw of CI, for the words of its decision.
fn ci_seen(seen: &observe::Seen) -> crate::core::explain::CiSeen {
    crate::core::explain::CiSeen {
        counted: seen.ci.counted,
        waiting: seen.ci.waiting.clone(),
        failing: seen.ci.failing.iter().map(|f| f.0.clone()).collect(),
        pr: seen.pr.as_ref().map(|p| p.number),
    }
}
