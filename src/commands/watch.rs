//! `afk watch`: one lifecycle tick over the runs in flight (SPEC 4). For each
//! run, in parallel: observe (issue, PR, CI, deploy, agent, progress) -> the
//! pure `core::run_state::next_action` -> act. End states are decided in SQLite
//! first (with their outbox event, in one transaction) and their forge writes
//! are resumed on the next tick if one fails, so every step is idempotent.

use super::poll::make_forge;
use super::{Ctx, ErrorItem, Tick, emit, record_transient, stepped_aside, table};
use crate::core::checklist::{self, Checklist, End, Link};
use crate::core::prompt;
use crate::core::run_state::{
    Action, Agent, Checks, Correction, Escalation, Pr, RunState, combine, next_action,
};
use crate::forge::gitea::{CombinedStatus, PullRequest};
use crate::forge::{ForgeError, Gitea, fan_out};
use crate::lessons::Journal;
use crate::runner::command as runner;
use crate::store::Store;
use crate::store::lessons::NewLesson;
use crate::store::watch::{NewEvent, RunRow};
use anyhow::Result;
use serde::Serialize;
use serde_json::json;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

#[derive(Serialize, Clone)]
struct ActionItem {
    repo: String,
    issue: u64,
    run_id: i64,
    action: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
}

/// Lists fetched at most once per repo per tick, shared by the runs of a repo.
type PullCache = Mutex<HashMap<(String, bool), Arc<OnceLock<Result<Vec<PullRequest>, String>>>>>;
type IssueCache = Mutex<HashMap<String, Arc<OnceLock<Result<Vec<u64>, String>>>>>;

struct Env<'a> {
    ctx: &'a Ctx,
    forge: &'a Gitea,
    journal: Journal,
    pulls: PullCache,
    issues: IssueCache,
    http_runner: Option<crate::runner::http::HttpRunner>,
    now: OffsetDateTime,
    runs_dir: PathBuf,
}

/// What watch saw of one run.
struct Seen {
    issue_open: bool,
    in_progress_label: bool,
    pr: Option<PullRequest>,
    ci: Checks,
    ci_sha: Option<String>,
    failing: Vec<(String, Option<String>)>,
    build_url: Option<String>,
    deploy: Checks,
    agent: Agent,
    handle: Option<runner::Handle>,
    blocked: Option<(String, Vec<String>)>,
    since_progress: Duration,
}

fn ts(t: OffsetDateTime) -> String {
    t.replace_nanosecond(0)
        .unwrap_or(t)
        .format(&Rfc3339)
        .unwrap_or_default()
}

fn parse_ts(s: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(s, &Rfc3339).ok()
}

fn disabled(ctx: &Ctx, why: &str) -> Tick {
    Tick {
        report: json!({"tick": "watch", "dry_run": ctx.dry_run, "enabled": false, "reason": why,
            "actions": [], "errors": [], "events": {"sent": 0, "failed": 0}}),
        human: format!("watch: disabled ({why}); nothing done\n"),
        code: 0,
    }
}

pub fn run(ctx: &Ctx) -> Result<u8> {
    let t = tick(ctx)?;
    emit(ctx.json, &t.report, &t.human);
    Ok(t.code)
}

pub fn tick(ctx: &Ctx) -> Result<Tick> {
    let cfg = &ctx.config;
    if ctx.stop_file().exists() {
        return Ok(disabled(
            ctx,
            &format!("stop file {} exists", ctx.stop_file().display()),
        ));
    }
    let forge = make_forge(ctx)?;
    let http_runner = if cfg.runner.kind == crate::config::RunnerKind::Http {
        Some(crate::runner::http::HttpRunner::new(cfg)?)
    } else {
        None
    };
    let state_path = ctx.state_path();
    if !state_path.exists() {
        // nothing was ever dispatched: nothing to watch, and nothing to create
        return Ok(Tick {
            report: json!({"tick": "watch", "dry_run": ctx.dry_run, "enabled": true,
                "actions": [], "errors": [], "events": {"sent": 0, "failed": 0}, "requests": 0}),
            human: "watch: no runs in flight\n".into(),
            code: 0,
        });
    }
    let Some(_lock) = crate::lock::try_acquire(&ctx.state_dir(), "watch")? else {
        return Ok(stepped_aside(
            "watch",
            ctx.dry_run,
            json!({"actions": [], "errors": [], "events": {"sent": 0, "failed": 0}}),
        ));
    };
    let store = if ctx.dry_run {
        Store::open_for_read(&state_path)?
    } else {
        Store::open(&state_path)?
    };
    let mut errors: Vec<ErrorItem> = vec![];
    let now = OffsetDateTime::now_utc();

    // A claim whose start never completed (the tick was killed): after ten
    // minutes no poll can still be starting it; fail it so the issue can be retried.
    for r in store.run_rows("state = 'dispatching'")? {
        let age = parse_ts(&r.created_at).map(|t| now - t);
        if age.is_some_and(|a| a > time::Duration::minutes(10)) && !ctx.dry_run {
            store.mark_failed(r.id, "interrupted before the agent was started")?;
            errors.push(ErrorItem {
                repo: r.repo.clone(),
                issue: Some(r.issue),
                message: format!(
                    "run {} was interrupted while starting; marked failed (check {} for a stray agent)",
                    r.id,
                    r.run_dir.as_deref().unwrap_or("its run dir")
                ),
                transient: false,
            });
        }
    }

    let runs = store.watched_runs()?;
    let env = Env {
        ctx,
        forge: &forge,
        journal: Journal::new(cfg, &state_path, ctx.dry_run),
        pulls: Mutex::new(HashMap::new()),
        issues: Mutex::new(HashMap::new()),
        http_runner,
        now,
        runs_dir: ctx.runs_dir(),
    };
    // The per-repo lists every run of a repo shares, fetched first and all at
    // once, so no worker waits on another's list.
    let mut repos: Vec<String> = runs.iter().map(|r| r.repo.clone()).collect();
    repos.sort();
    repos.dedup();
    let lists: Vec<(String, bool)> = repos
        .iter()
        .flat_map(|r| [(r.clone(), true), (r.clone(), false)])
        .collect();
    fan_out(&lists, cfg.forge.concurrency, |(repo, pulls)| {
        // errors stay in the cache and are reported by each run that needs them
        if *pulls {
            let _ = cached_pulls(&env, repo, true);
        } else {
            let _ = issue_state_list(&env, repo);
        }
    });
    let results = fan_out(&runs, cfg.forge.concurrency, |r| {
        process(&env, &state_path, r)
    });
    let mut actions = vec![];
    for (a, e) in results {
        actions.extend(a);
        errors.extend(e);
    }
    record_transient(&env.journal, &errors, "watch");
    let delivery = if ctx.dry_run {
        crate::notify::Delivery::default()
    } else {
        crate::notify::Notifier::new(cfg).flush(&store)
    };
    let report = json!({
        "tick": "watch",
        "dry_run": ctx.dry_run,
        "enabled": true,
        "actions": actions,
        "errors": errors,
        "events": delivery,
        "requests": forge.http.requests(),
    });
    let mut human = format!(
        "watch{}: {} runs, {} errors{}\n",
        if ctx.dry_run { " (dry run)" } else { "" },
        actions.len(),
        errors.len(),
        if delivery.sent + delivery.failed > 0 {
            format!(
                ", notifications sent {} failed {}",
                delivery.sent, delivery.failed
            )
        } else {
            String::new()
        }
    );
    let rows: Vec<Vec<String>> = actions
        .iter()
        .map(|a| {
            vec![
                format!("{}#{}", a.repo, a.issue),
                a.run_id.to_string(),
                a.action.clone(),
                a.reason.clone().unwrap_or_default(),
            ]
        })
        .collect();
    if !rows.is_empty() {
        human.push_str(&table(&["ISSUE", "RUN", "ACTION", "REASON"], &rows));
    }
    for e in &errors {
        let at = match e.issue {
            Some(n) => format!("{}#{n}", e.repo),
            None => e.repo.clone(),
        };
        human.push_str(&format!("error: {at}: {}\n", e.message));
    }
    Ok(Tick {
        human,
        code: if errors.is_empty() { 0 } else { 1 },
        report,
    })
}

fn process(env: &Env, state_path: &Path, run: &RunRow) -> (Option<ActionItem>, Vec<ErrorItem>) {
    let err = |e: &anyhow::Error| ErrorItem {
        repo: run.repo.clone(),
        issue: Some(run.issue),
        message: format!("run {}: {e}", run.id),
        transient: ForgeError::is_exhausted(e),
    };
    let store = match if env.ctx.dry_run {
        Store::open_for_read(state_path)
    } else {
        Store::open(state_path)
    } {
        Ok(s) => s,
        Err(e) => return (None, vec![err(&e)]),
    };
    let seen = match observe(env, &store, run) {
        Ok(s) => s,
        Err(e) => return (None, vec![err(&e)]),
    };
    let cfg = &env.ctx.config;
    let action = match run.state.as_str() {
        "escalating" => Action::Escalate(escalation_of(run.end_reason.as_deref())),
        "succeeding" => Action::Succeed,
        "abandoning" => Action::Abandon,
        _ => {
            let pr_state = match &seen.pr {
                None => Pr::None,
                Some(p) if p.merged => Pr::Merged,
                Some(p) if p.state == "closed" => Pr::Closed,
                Some(_) => Pr::Open,
            };
            next_action(&RunState {
                agent: seen.agent,
                blocked: seen.blocked.is_some(),
                pr: pr_state,
                head_sha: seen.pr.as_ref().map(|p| p.head.sha.clone()),
                ci_sha: seen.ci_sha.clone(),
                ci: seen.ci,
                deploy_configured: !cfg.watch.deploy_context.is_empty(),
                deploy: seen.deploy,
                turns_used: run.turns.saturating_sub(1),
                fix_forward_max: cfg.watch.fix_forward_max,
                since_progress: seen.since_progress,
                stall_after: cfg.stall_after(),
                issue_open: seen.issue_open,
                in_progress_label: seen.in_progress_label,
            })
        }
    };
    let item = ActionItem {
        repo: run.repo.clone(),
        issue: run.issue,
        run_id: run.id,
        action: action.name().into(),
        reason: action.reason(),
    };
    if env.ctx.dry_run {
        return (Some(item), vec![]);
    }
    let res = act(env, &store, run, &seen, action);
    (
        Some(item),
        res.err().map(|e| vec![err(&e)]).unwrap_or_default(),
    )
}

fn escalation_of(reason: Option<&str>) -> Escalation {
    match reason.unwrap_or("") {
        "stalled" => Escalation::Stalled,
        "no-pr" => Escalation::NoPr,
        "ci-red" => Escalation::CiRed,
        "deploy-failed" => Escalation::DeployFailed,
        "pr-closed" => Escalation::PrClosed,
        _ => Escalation::Blocked,
    }
}

fn cached_pulls(env: &Env, repo: &str, open: bool) -> Result<Vec<PullRequest>> {
    let cell = env
        .pulls
        .lock()
        .unwrap()
        .entry((repo.to_string(), open))
        .or_default()
        .clone();
    let r = cell.get_or_init(|| {
        if open {
            env.forge.open_pulls(repo)
        } else {
            env.forge.recent_closed_pulls(repo)
        }
        .map_err(|e| e.to_string())
    });
    r.clone().map_err(|e| anyhow::anyhow!(e))
}

/// The PR for a run: from the repo's open PRs (one list per repo per tick) —
/// the recorded one, else one that closes the issue — else the recorded one
/// by number (merged or closed since), else a recently closed one.
fn find_pr(env: &Env, run: &RunRow) -> Result<Option<PullRequest>> {
    let open = cached_pulls(env, &run.repo, true)?;
    if let Some(n) = run.pr_number {
        if let Some(p) = open.into_iter().find(|p| p.number == n) {
            return Ok(Some(p));
        }
        return Ok(Some(env.forge.pull(&run.repo, n)?));
    }
    let pick = |v: Vec<PullRequest>| {
        let mut c: Vec<PullRequest> = v.into_iter().filter(|p| p.closes(run.issue)).collect();
        // the branch afk named wins over a mere reference; then the newest
        c.sort_by_key(|p| (p.head.name != run.branch, std::cmp::Reverse(p.number)));
        c.into_iter().next()
    };
    if let Some(p) = pick(open) {
        return Ok(Some(p));
    }
    Ok(pick(cached_pulls(env, &run.repo, false)?))
}

/// The repo's open issues carrying the in-progress label (one list per repo per tick).
fn issue_state_list(env: &Env, repo: &str) -> Result<Vec<u64>> {
    let label = &env.ctx.config.poll.in_progress_label;
    let cell = env
        .issues
        .lock()
        .unwrap()
        .entry(repo.to_string())
        .or_default()
        .clone();
    cell.get_or_init(|| {
        env.forge
            .issues_with_label(repo, label)
            .map(|v| v.into_iter().map(|i| i.number).collect())
            .map_err(|e| e.to_string())
    })
    .clone()
    .map_err(|e| anyhow::anyhow!(e))
}

/// Whether the issue is open and carries the in-progress label: from the
/// repo's list, else one GET for the issue.
fn issue_state(env: &Env, run: &RunRow) -> Result<(bool, bool)> {
    if issue_state_list(env, &run.repo)?.contains(&run.issue) {
        return Ok((true, true));
    }
    let issue = env.forge.issue(&run.repo, run.issue)?;
    Ok((
        issue.state != "closed",
        issue.has_label(&env.ctx.config.poll.in_progress_label),
    ))
}

/// A verdict, the failing contexts with their build URLs, and one build URL to show.
type Verdict = (Checks, Vec<(String, Option<String>)>, Option<String>);

fn verdict(required: &[String], st: &CombinedStatus) -> Verdict {
    let statuses = st.statuses.clone().unwrap_or_default();
    let pairs: Vec<(String, String)> = statuses
        .iter()
        .map(|s| (s.context.clone(), s.status.clone()))
        .collect();
    let checks = combine(required, Some(&st.state), &pairs);
    let counts = |c: &str| required.is_empty() || required.iter().any(|r| r == c);
    let failing: Vec<(String, Option<String>)> = statuses
        .iter()
        .filter(|s| counts(&s.context) && (s.status == "failure" || s.status == "error"))
        .map(|s| (s.context.clone(), s.target_url.clone()))
        .collect();
    let build = failing
        .iter()
        .find_map(|f| f.1.clone())
        .or_else(|| {
            statuses
                .iter()
                .filter(|s| counts(&s.context))
                .find_map(|s| s.target_url.clone())
        })
        .filter(|u| !u.is_empty());
    (checks, failing, build)
}

/// The last status line of the progress file: `{"status":"blocked",...}` wins
/// until a later phase line replaces it.
fn read_progress(path: &Path) -> (u64, Option<(String, Vec<String>)>) {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut blocked = None;
    for line in text.lines() {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if v["status"] == "blocked" {
            let reason = v["reason"].as_str().unwrap_or("").to_string();
            let qs = v["questions"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|q| q.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default();
            blocked = Some((reason, qs));
        } else if v.get("phase").is_some() {
            blocked = None;
        }
    }
    (text.len() as u64, blocked)
}

fn observe(env: &Env, store: &Store, run: &RunRow) -> Result<Seen> {
    let cfg = &env.ctx.config;
    let (issue_open, in_progress_label) = issue_state(env, run)?;
    let pr = find_pr(env, run)?;
    let (mut ci, mut ci_sha, mut failing, mut build_url) = (Checks::None, None, vec![], None);
    if let Some(p) = pr.as_ref().filter(|p| !p.head.sha.is_empty()) {
        let st = env.forge.combined_status(&run.repo, &p.head.sha)?;
        let (c, f, b) = verdict(&cfg.watch.ci_contexts, &st);
        ci = c;
        failing = f;
        build_url = b;
        ci_sha = Some(p.head.sha.clone());
    }
    let mut deploy = Checks::None;
    if let Some(p) = pr.as_ref().filter(|p| p.merged)
        && !cfg.watch.deploy_context.is_empty()
        && let Some(sha) = p.merge_commit_sha.as_deref().filter(|s| !s.is_empty())
    {
        let st = env.forge.combined_status(&run.repo, sha)?;
        deploy = verdict(std::slice::from_ref(&cfg.watch.deploy_context), &st).0;
    }
    let run_dir = run
        .run_dir
        .as_ref()
        .map(PathBuf::from)
        .unwrap_or_else(|| env.runs_dir.join(run.id.to_string()));
    let handle = run.runner_pid.map(|pid| runner::Handle {
        pid: pid as i32,
        start_time: run.runner_start_time.unwrap_or(0) as u64,
    });
    let thread = run
        .runner_handle
        .as_deref()
        .and_then(|h| h.strip_prefix("thread:"));
    let mut thread_marks = String::new();
    let agent = match (thread, &env.http_runner, &handle) {
        (Some(id), Some(http), _) => {
            let t = http.status(id)?;
            thread_marks = format!(
                "{}:{}",
                t.phase.unwrap_or_default(),
                t.updated_at.unwrap_or_default()
            );
            match t.status.as_str() {
                "running" => Agent::Running,
                "idle" => Agent::Exited(0),
                _ => Agent::Exited(1),
            }
        }
        (Some(_), None, _) => anyhow::bail!(
            "the run was started by the http runner but runner.kind is now \"{}\"",
            cfg.runner.kind
        ),
        (None, _, Some(h)) => match runner::liveness(h, &run_dir) {
            runner::Liveness::Running => Agent::Running,
            runner::Liveness::Exited(c) => Agent::Exited(c),
            runner::Liveness::Vanished => Agent::Vanished,
        },
        (None, _, None) => Agent::Vanished,
    };
    let (progress_len, blocked) = read_progress(&run_dir.join("progress.jsonl"));
    let log_len = std::fs::metadata(run_dir.join("agent.log"))
        .map(|m| m.len())
        .unwrap_or(0);
    let pr_state = pr
        .as_ref()
        .map(|p| format!("{}:{}", p.state, p.merged))
        .unwrap_or_default();
    let fp = format!(
        "p{progress_len}:l{log_len}:a{thread_marks}:h{}:c{ci:?}:r{pr_state}:d{deploy:?}:t{}",
        pr.as_ref().map(|p| p.head.sha.as_str()).unwrap_or(""),
        run.turns
    );
    let last = if run.progress_fp.as_deref() == Some(fp.as_str()) {
        run.last_progress_at
            .as_deref()
            .and_then(parse_ts)
            .or_else(|| parse_ts(&run.created_at))
            .unwrap_or(env.now)
    } else {
        env.now
    };
    let since = env.now - last;
    let green =
        pr.as_ref().is_some_and(|p| !p.merged && p.state == "open") && ci == Checks::Success;
    let green_since = if green {
        Some(run.green_since.clone().unwrap_or_else(|| ts(env.now)))
    } else {
        None
    };
    let changed = run.pr_number != pr.as_ref().map(|p| p.number)
        || run.head_sha.as_deref() != pr.as_ref().map(|p| p.head.sha.as_str())
        || run.progress_fp.as_deref() != Some(fp.as_str())
        || run.green_since != green_since;
    if changed && !env.ctx.dry_run {
        store.observe(
            run.id,
            pr.as_ref().map(|p| (p.number, p.html_url.as_str())),
            pr.as_ref().map(|p| p.head.sha.as_str()),
            &fp,
            &ts(last),
            green_since.as_deref(),
        )?;
    }
    // an agent's PR green but unmerged for longer than a day
    if let Some(g) = green_since.as_deref().and_then(parse_ts)
        && env.now - g > time::Duration::days(1)
    {
        env.journal.auto(NewLesson {
            lesson_type: "merge_hold".into(),
            repo: Some(run.repo.clone()),
            work_item: Some(format!("{}#{}", run.repo, run.issue)),
            run_id: Some(run.id),
            stage: Some("merge".into()),
            root_cause: Some("the agent's PR has been green and unmerged for over a day".into()),
            suggestion: Some("review and merge it, or close it with a reason".into()),
            ..Default::default()
        });
    }
    Ok(Seen {
        issue_open,
        in_progress_label,
        pr,
        ci,
        ci_sha,
        failing,
        build_url,
        deploy,
        agent,
        handle,
        blocked,
        since_progress: Duration::from_secs(since.whole_seconds().max(0) as u64),
    })
}

fn checklist_for(env: &Env, run: &RunRow, seen: &Seen, turns: u32, end: Option<End>) -> String {
    let cfg = &env.ctx.config;
    let pr = seen.pr.as_ref();
    checklist::render(&Checklist {
        run_id: run.id,
        turn: turns.max(1),
        max_turns: 1 + cfg.watch.fix_forward_max,
        pr: pr.map(|p| Link {
            text: format!("#{}", p.number),
            url: p.html_url.clone(),
        }),
        ci_green: seen.ci == Checks::Success && seen.ci_sha.is_some(),
        ci_build: seen.build_url.clone(),
        merged: pr.is_some_and(|p| p.merged),
        deployed: (!cfg.watch.deploy_context.is_empty()).then_some(seen.deploy == Checks::Success),
        end,
    })
}

/// Keep the one checklist comment: found by its marker, edited only when its text changes.
fn update_checklist(env: &Env, store: &Store, run: &RunRow, text: &str) -> Result<()> {
    if !env.ctx.config.watch.checklist {
        return Ok(());
    }
    if run.checklist_text.as_deref() == Some(text) && run.checklist_comment_id.is_some() {
        return Ok(());
    }
    let id = match run.checklist_comment_id {
        Some(id) => Some(id),
        None => env
            .forge
            .comments(&run.repo, run.issue)?
            .into_iter()
            .find(|c| c.body.starts_with(checklist::MARKER))
            .map(|c| {
                if c.body == text {
                    // already right (state was lost): just remember it
                    -c.id
                } else {
                    c.id
                }
            }),
    };
    let id = match id {
        Some(neg) if neg < 0 => -neg,
        Some(id) => match env.forge.edit_comment(&run.repo, id, text) {
            Ok(c) => c.id,
            // a person deleted it: post it again rather than fail every tick
            Err(e) if ForgeError::status_of(&e) == Some(404) => {
                env.forge.create_comment(&run.repo, run.issue, text)?.id
            }
            Err(e) => return Err(e),
        },
        None => env.forge.create_comment(&run.repo, run.issue, text)?.id,
    };
    store.set_checklist(run.id, id, text)
}

fn stop_agent(seen: &Seen) {
    if seen.agent == Agent::Running
        && let Some(h) = &seen.handle
    {
        runner::stop(h, Duration::from_secs(10));
    }
}

fn act(env: &Env, store: &Store, run: &RunRow, seen: &Seen, action: Action) -> Result<()> {
    let cfg = &env.ctx.config;
    match action {
        Action::Wait(_) => update_checklist(
            env,
            store,
            run,
            &checklist_for(env, run, seen, run.turns, None),
        ),
        Action::CorrectiveTurn(kind) => {
            if kind == Correction::CiRed {
                env.journal.auto(NewLesson {
                    lesson_type: "gate_failure".into(),
                    repo: Some(run.repo.clone()),
                    work_item: Some(format!("{}#{}", run.repo, run.issue)),
                    run_id: Some(run.id),
                    stage: Some("ci".into()),
                    agent: Some(cfg.runner.command.first().cloned().unwrap_or_default()),
                    root_cause: Some(format!(
                        "CI red on the agent's PR: {}",
                        seen.failing
                            .iter()
                            .map(|f| f.0.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )),
                    suggestion: Some("run the failing checks locally before pushing".into()),
                    detail: seen.build_url.clone(),
                    ..Default::default()
                });
            }
            // the turn is recorded before the start: never two agents for one turn
            let turn = store.begin_turn(run.id)?;
            let what = match kind {
                Correction::NoPr => prompt::Correction::NoPr,
                Correction::CiRed => prompt::Correction::CiRed(&seen.failing),
            };
            let text = prompt::corrective(&run.repo, run.issue, turn, &what);
            let command = if cfg.runner.resume_command.is_empty() {
                &cfg.runner.command
            } else {
                &cfg.runner.resume_command
            };
            let run_dir = run
                .run_dir
                .as_ref()
                .map(PathBuf::from)
                .unwrap_or_else(|| env.runs_dir.join(run.id.to_string()));
            if let (Some(http), Some(id)) = (
                &env.http_runner,
                run.runner_handle
                    .as_deref()
                    .and_then(|h| h.strip_prefix("thread:")),
            ) {
                http.message(id, &text)?;
                return update_checklist(
                    env,
                    store,
                    run,
                    &checklist_for(env, run, seen, turn, None),
                );
            }
            let h = runner::start(&runner::StartSpec {
                run_id: run.id,
                repo: &run.repo,
                issue: run.issue,
                branch: &run.branch,
                prompt: &text,
                run_dir: &run_dir,
                turn,
                command,
                workdir: &cfg.runner.workdir,
                strip_env: &cfg.secret_env_names(),
            })?;
            store.set_agent(run.id, h.pid as i64, h.start_time as i64)?;
            update_checklist(env, store, run, &checklist_for(env, run, seen, turn, None))
        }
        Action::Escalate(why) => {
            if run.state == "dispatched" {
                let url = seen
                    .pr
                    .as_ref()
                    .map(|p| p.html_url.clone())
                    .unwrap_or(run.url.clone());
                let text = format!(
                    "afk needs a human on {}#{} ({why}): {url}",
                    run.repo, run.issue
                );
                let mut s = Store::open(&store.path)?;
                s.decide_end(
                    run.id,
                    "escalating",
                    Some(&why.to_string()),
                    Some(NewEvent {
                        kind: "run.escalated",
                        repo: &run.repo,
                        issue: run.issue,
                        run_id: run.id,
                        reason: Some(&why.to_string()),
                        url: Some(&url),
                        text: &text,
                    }),
                )?;
                if why == Escalation::DeployFailed {
                    store.freeze(&run.repo, "deploy-failed", run.id)?;
                    env.journal.auto(NewLesson {
                        lesson_type: "deploy_degraded".into(),
                        repo: Some(run.repo.clone()),
                        work_item: Some(format!("{}#{}", run.repo, run.issue)),
                        run_id: Some(run.id),
                        stage: Some("deploy".into()),
                        root_cause: Some(format!(
                            "the deploy ({}) failed after merge",
                            cfg.watch.deploy_context
                        )),
                        suggestion: Some(format!(
                            "fix or roll back, then `afk status --unfreeze {}`",
                            run.repo
                        )),
                        ..Default::default()
                    });
                }
            }
            stop_agent(seen);
            let p = &cfg.poll;
            env.forge
                .remove_label(&run.repo, run.issue, &p.in_progress_label)?;
            env.forge
                .remove_label(&run.repo, run.issue, &p.ready_label)?;
            env.forge
                .add_label(&run.repo, run.issue, &cfg.watch.human_label)?;
            post_escalation_comment(env, store, run, seen, why)?;
            update_checklist(
                env,
                store,
                run,
                &checklist_for(
                    env,
                    run,
                    seen,
                    run.turns,
                    Some(End::Escalated(why.to_string())),
                ),
            )?;
            store.finish(run.id, "escalated")
        }
        Action::Succeed => {
            if run.state == "dispatched" {
                let url = seen
                    .pr
                    .as_ref()
                    .map(|p| p.html_url.clone())
                    .unwrap_or(run.url.clone());
                let text = format!("afk finished {}#{}: {url} merged", run.repo, run.issue);
                Store::open(&store.path)?.decide_end(
                    run.id,
                    "succeeding",
                    None,
                    Some(NewEvent {
                        kind: "run.succeeded",
                        repo: &run.repo,
                        issue: run.issue,
                        run_id: run.id,
                        reason: None,
                        url: Some(&url),
                        text: &text,
                    }),
                )?;
            }
            if seen.issue_open {
                env.forge.close_issue(&run.repo, run.issue)?;
            }
            env.forge
                .remove_label(&run.repo, run.issue, &cfg.poll.in_progress_label)?;
            env.forge
                .remove_label(&run.repo, run.issue, &cfg.poll.ready_label)?;
            update_checklist(
                env,
                store,
                run,
                &checklist_for(env, run, seen, run.turns, Some(End::Succeeded)),
            )?;
            store.finish(run.id, "succeeded")
        }
        Action::Abandon => {
            if run.state == "dispatched" {
                Store::open(&store.path)?.decide_end(
                    run.id,
                    "abandoning",
                    Some("abandoned"),
                    None,
                )?;
            }
            stop_agent(seen);
            env.forge
                .remove_label(&run.repo, run.issue, &cfg.poll.in_progress_label)?;
            update_checklist(
                env,
                store,
                run,
                &checklist_for(env, run, seen, run.turns, Some(End::Abandoned)),
            )?;
            store.finish(run.id, "abandoned")
        }
    }
}

fn escalation_text(env: &Env, run: &RunRow, seen: &Seen, why: Escalation) -> String {
    let cfg = &env.ctx.config;
    let marker = format!("<!-- afk:escalation run={} -->", run.id);
    let used = run.turns.saturating_sub(1);
    let what = match why {
        Escalation::Stalled => format!(
            "no progress for {} (runner.stall_after)",
            crate::config::format_duration(cfg.runner.stall_after)
        ),
        Escalation::NoPr => format!(
            "the agent stopped without opening a pull request ({used} corrective turns used)"
        ),
        Escalation::CiRed => format!("CI is still red after {used} corrective turns"),
        Escalation::DeployFailed => format!(
            "the deploy failed after merge; {} is frozen until someone runs `afk status --unfreeze {}`",
            run.repo, run.repo
        ),
        Escalation::PrClosed => "the pull request was closed without being merged".to_string(),
        Escalation::Blocked => "the agent is blocked and asks for help".to_string(),
    };
    let mut s = format!("{marker}\n**afk needs a human here** (`{why}`): {what}.\n\n");
    if let Some(p) = &seen.pr {
        s.push_str(&format!(
            "- pull request: [#{}]({})\n",
            p.number, p.html_url
        ));
    }
    for (ctx, url) in &seen.failing {
        match url {
            Some(u) if !u.is_empty() => s.push_str(&format!("- failing: {ctx} ([build]({u}))\n")),
            _ => s.push_str(&format!("- failing: {ctx}\n")),
        }
    }
    if let Some((reason, qs)) = &seen.blocked {
        if !reason.is_empty() {
            s.push_str(&format!("- the agent says: {}\n", prompt::sanitize(reason)));
        }
        for q in qs {
            s.push_str(&format!("- question: {}\n", prompt::sanitize(q)));
        }
    }
    s.push_str(&format!(
        "- run {}: {} agent turn(s); logs in {}\n\n`{}` is on and `{}` is off: afk leaves this issue alone until someone adds `{}` again.\n",
        run.id,
        run.turns,
        run.run_dir.as_deref().unwrap_or("the run directory"),
        cfg.watch.human_label,
        cfg.poll.ready_label,
        cfg.poll.ready_label
    ));
    s
}

/// One escalation comment per run, even when a tick dies after posting it.
fn post_escalation_comment(
    env: &Env,
    store: &Store,
    run: &RunRow,
    seen: &Seen,
    why: Escalation,
) -> Result<()> {
    if run.escalation_comment_id.is_some() {
        return Ok(());
    }
    let marker = format!("<!-- afk:escalation run={} -->", run.id);
    if let Some(c) = env
        .forge
        .comments(&run.repo, run.issue)?
        .into_iter()
        .find(|c| c.body.starts_with(&marker))
    {
        return store.set_escalation_comment(run.id, c.id);
    }
    let c =
        env.forge
            .create_comment(&run.repo, run.issue, &escalation_text(env, run, seen, why))?;
    store.set_escalation_comment(run.id, c.id)
}
