//! `afk poll`: one dispatch tick (SPEC 3). Kill switch, reconcile, list, decide
//! (core::dispatch), then per winner: claim in SQLite -> start the agent -> label.

use super::{Ctx, ErrorItem, Tick, UsageError, emit, record_transient, stepped_aside, table};
use crate::core::dispatch::{self, IssueFacts, ReadyIssue, Reason};
use crate::core::prompt;
use crate::forge::gitea::{self, Issue};
use crate::forge::{ForgeError, Gitea, fan_out};
use crate::runner::command as runner;
use crate::store::Store;
use anyhow::Result;
use serde::Serialize;
use serde_json::json;
use std::collections::{BTreeSet, HashMap};
use std::path::Path;

type Handled = std::collections::HashSet<(String, u64, i64)>;

#[derive(Serialize, Clone)]
struct Dispatched {
    repo: String,
    issue: u64,
    run_id: Option<i64>,
    template: String,
    template_version: Option<i64>,
}

#[derive(Serialize, Clone)]
struct Skipped {
    repo: String,
    issue: u64,
    reason: Reason,
}

#[derive(Serialize, Clone)]
struct Reconciled {
    repo: String,
    issue: u64,
    run_id: i64,
}

/// A repo's winner with what dispatch needs.
#[derive(Clone)]
struct Winner {
    repo: String,
    issue: Issue,
    ready_event_id: i64,
}

#[derive(Default)]
struct RepoOutcome {
    winner: Option<(Winner, ReadyIssue)>,
    skipped: Vec<Skipped>,
    errors: Vec<ErrorItem>,
}

pub fn make_forge(ctx: &Ctx) -> Result<Gitea> {
    let c = &ctx.config;
    if c.forge.kind == crate::config::ForgeKind::Github {
        return Err(anyhow::Error::new(UsageError(
            "config: forge.kind = \"github\" is not supported yet in this version (use gitea or forgejo)"
                .into(),
        )));
    }
    let token = c.forge_token()?;
    let source = match &c.forge.token_file {
        None => c.forge.token_env.clone(),
        Some(p) => format!("forge.token_file {}", p.display()),
    };
    Ok(Gitea::new(crate::forge::http::Http::new(
        &c.api_root()?,
        &token,
        &source,
        c.forge_timeout(),
        c.forge.retries,
    )))
}

fn disabled(ctx: &Ctx, why: &str) -> Result<Tick> {
    let report = json!({
        "tick": "poll", "dry_run": ctx.dry_run, "enabled": false, "reason": why,
        "reconciled": [], "dispatched": [], "skipped": [], "errors": [],
    });
    Ok(Tick {
        report,
        human: format!("poll: disabled ({why}); nothing done\n"),
        code: 0,
    })
}

pub fn run(ctx: &Ctx) -> Result<u8> {
    let t = tick(ctx)?;
    emit(ctx.json, &t.report, &t.human);
    Ok(t.code)
}

/// One poll tick; `run` prints it, the benchmark and the demo read it.
pub fn tick(ctx: &Ctx) -> Result<Tick> {
    let cfg = &ctx.config;
    // 1. The kill switch: decided from the config alone, before any I/O.
    if !cfg.poll.enabled {
        return disabled(ctx, "poll.enabled = false");
    }
    if ctx.stop_file().exists() {
        return disabled(
            ctx,
            &format!("stop file {} exists", ctx.stop_file().display()),
        );
    }
    let forge = make_forge(ctx)?;
    let http_runner = if cfg.runner.kind == crate::config::RunnerKind::Http {
        Some(crate::runner::http::HttpRunner::new(cfg)?)
    } else {
        None
    };
    let Some(_lock) = crate::lock::try_acquire(&ctx.state_dir(), "poll")? else {
        return Ok(stepped_aside(
            "poll",
            ctx.dry_run,
            json!({"reconciled": [], "dispatched": [], "skipped": [], "errors": []}),
        ));
    };
    let store = if ctx.dry_run {
        Store::open_for_read(&ctx.state_path())?
    } else {
        Store::open(&ctx.state_path())?
    };
    let mut errors: Vec<ErrorItem> = vec![];

    // 2. Reconcile: an agent started but the label never landed.
    let mut reconciled = vec![];
    let pending = store.runs_in_state("started")?;
    if !pending.is_empty() && !ctx.dry_run {
        let results = fan_out(&pending, cfg.forge.concurrency, |r| {
            forge.add_label(&r.repo, r.issue, &cfg.poll.in_progress_label)
        });
        for (r, res) in pending.iter().zip(results) {
            match res {
                Ok(()) => {
                    store.set_state(r.id, "dispatched")?;
                    reconciled.push(Reconciled {
                        repo: r.repo.clone(),
                        issue: r.issue,
                        run_id: r.id,
                    });
                }
                Err(e) => {
                    let mut item = ErrorItem::from_err(&r.repo, Some(r.issue), &e);
                    item.message = format!("reconcile run {}: {e}", r.id);
                    errors.push(item)
                }
            }
        }
    }

    let in_flight = store.runs_in_flight()?;
    let frozen: BTreeSet<String> = store.frozen_repos()?.into_iter().collect();
    let busy: BTreeSet<&str> = in_flight.iter().map(|r| r.repo.as_str()).collect();
    let state_path = ctx.state_path();

    // 3-5. Per repo, in parallel: list, gate, pick.
    let repos = cfg.poll.allowlist.clone();
    let handled = store.handled_armings()?;
    let outcomes = fan_out(&repos, cfg.forge.concurrency, |repo| {
        examine_repo(
            ctx,
            &forge,
            &handled,
            repo,
            frozen.contains(repo.as_str()),
            busy.contains(repo.as_str()),
        )
    });

    let mut skipped = vec![];
    let mut winners = vec![];
    for o in outcomes {
        skipped.extend(o.skipped);
        errors.extend(o.errors);
        if let Some(w) = o.winner {
            winners.push(w);
        }
    }

    // 6. The global cut.
    let (take, over) = dispatch::apply_capacity(
        winners,
        in_flight.len(),
        cfg.poll.max_in_flight,
        cfg.poll.max_per_tick,
    );
    for (w, _) in over {
        skipped.push(Skipped {
            repo: w.repo,
            issue: w.issue.number,
            reason: Reason::Capacity,
        });
    }

    // 7. Dispatch each winner: claim -> prompt -> start -> label -> dispatched.
    let template = resolve_template(&store, &cfg.poll.template)?;
    let journal = crate::lessons::Journal::new(cfg, &state_path, ctx.dry_run);
    let mut dispatched = vec![];
    if ctx.dry_run {
        for (w, _) in &take {
            dispatched.push(Dispatched {
                repo: w.repo.clone(),
                issue: w.issue.number,
                run_id: None,
                template: cfg.poll.template.clone(),
                template_version: template.version,
            });
        }
    } else {
        let results = fan_out(&take, cfg.forge.concurrency, |(w, _)| {
            let lessons: Vec<String> = journal
                .for_prompt(&w.repo, cfg.lessons.in_prompt)
                .iter()
                .map(crate::lessons::prompt_line)
                .collect();
            dispatch_one(
                ctx,
                &forge,
                http_runner.as_ref(),
                &state_path,
                &template,
                w,
                &lessons,
            )
        });
        for (d, e) in results {
            dispatched.extend(d);
            errors.extend(e);
        }
    }

    record_transient(&journal, &errors, "poll");

    let requests = forge.http.requests();
    let report = json!({
        "tick": "poll",
        "dry_run": ctx.dry_run,
        "enabled": true,
        "reconciled": reconciled,
        "dispatched": dispatched,
        "skipped": skipped,
        "errors": errors,
        "requests": requests,
    });
    Ok(Tick {
        human: human(ctx.dry_run, &reconciled, &dispatched, &skipped, &errors),
        code: if errors.is_empty() { 0 } else { 1 },
        report,
    })
}

fn human(
    dry: bool,
    reconciled: &[Reconciled],
    dispatched: &[Dispatched],
    skipped: &[Skipped],
    errors: &[ErrorItem],
) -> String {
    let verb = if dry { "would dispatch" } else { "dispatched" };
    let mut s = format!(
        "poll{}: {verb} {}, skipped {}, errors {}{}\n",
        if dry { " (dry run)" } else { "" },
        dispatched.len(),
        skipped.len(),
        errors.len(),
        if reconciled.is_empty() {
            String::new()
        } else {
            format!(", reconciled {}", reconciled.len())
        }
    );
    let mut rows: Vec<Vec<String>> = vec![];
    for r in reconciled {
        rows.push(vec![
            format!("{}#{}", r.repo, r.issue),
            "labelled (reconciled)".into(),
            format!("run {}", r.run_id),
        ]);
    }
    for d in dispatched {
        rows.push(vec![
            format!("{}#{}", d.repo, d.issue),
            verb.into(),
            match (d.run_id, d.template_version) {
                (Some(id), Some(v)) => format!("run {id}, {}@{v}", d.template),
                (Some(id), None) => format!("run {id}, {} (built-in)", d.template),
                (None, _) => String::new(),
            },
        ]);
    }
    for k in skipped {
        rows.push(vec![
            format!("{}#{}", k.repo, k.issue),
            "skipped".into(),
            k.reason.to_string(),
        ]);
    }
    if !rows.is_empty() {
        s.push_str(&table(&["ISSUE", "WHAT", "DETAIL"], &rows));
    }
    for e in errors {
        let at = match e.issue {
            Some(n) => format!("{}#{n}", e.repo),
            None => e.repo.clone(),
        };
        s.push_str(&format!("error: {at}: {}\n", e.message));
    }
    s
}

fn examine_repo(
    ctx: &Ctx,
    forge: &Gitea,
    handled: &Handled,
    repo: &str,
    frozen: bool,
    busy: bool,
) -> RepoOutcome {
    let cfg = &ctx.config;
    let mut out = RepoOutcome::default();
    let err = |issue: Option<u64>, e: &anyhow::Error| ErrorItem::from_err(repo, issue, e);
    let issues = match forge.issues_with_label(repo, &cfg.poll.ready_label) {
        Ok(v) => v,
        Err(e) => {
            out.errors.push(err(None, &e));
            return out;
        }
    };
    if issues.is_empty() {
        return out;
    }
    let ready: Vec<ReadyIssue> = issues
        .iter()
        .map(|i| ReadyIssue {
            number: i.number,
            priority: cfg.priority_of(i.labels.iter().map(|l| l.name.as_str())),
        })
        .collect();
    let mut locked = busy
        || issues
            .iter()
            .any(|i| i.has_label(&cfg.poll.in_progress_label));
    if !locked && !frozen {
        match forge.issues_with_label(repo, &cfg.poll.in_progress_label) {
            Ok(v) => locked = !v.is_empty(),
            Err(e) => {
                out.errors.push(err(None, &e));
                return out;
            }
        }
    }
    let push_skips = |out: &mut RepoOutcome, pick: dispatch::RepoPick| {
        for (n, reason) in pick.skipped {
            out.skipped.push(Skipped {
                repo: repo.to_string(),
                issue: n,
                reason,
            });
        }
    };
    if let Some(reason) = dispatch::repo_gate(true, frozen, locked) {
        push_skips(&mut out, dispatch::skip_all(&ready, reason));
        return out;
    }

    let by_number: HashMap<u64, &Issue> = issues.iter().map(|i| (i.number, i)).collect();
    let mut perms: HashMap<String, Option<String>> = HashMap::new();
    let mut armed: HashMap<u64, i64> = HashMap::new();
    let mut failed: BTreeSet<u64> = BTreeSet::new();
    let mut errors = vec![];
    let pick = dispatch::pick_in_repo(ready, |ri| {
        let issue = by_number[&ri.number];
        match issue_facts(ctx, forge, handled, repo, issue, &mut perms, &mut errors) {
            Ok(Some((facts, event_id))) => {
                armed.insert(issue.number, event_id);
                dispatch::eligibility(&facts)
            }
            Ok(None) => Err(Reason::Untrusted),
            Err(e) => {
                errors.push(err(Some(issue.number), &e));
                failed.insert(issue.number);
                // an issue we could not examine is neither dispatched nor reported as skipped
                Err(Reason::Untrusted)
            }
        }
    });
    out.errors.extend(errors);
    let winner = pick.winner.clone();
    push_skips(
        &mut out,
        dispatch::RepoPick {
            winner: None,
            skipped: pick
                .skipped
                .into_iter()
                .filter(|(n, _)| !failed.contains(n))
                .collect(),
        },
    );
    if let Some(w) = winner {
        out.winner = Some((
            Winner {
                repo: repo.to_string(),
                issue: by_number[&w.number].clone(),
                ready_event_id: armed[&w.number],
            },
            w,
        ));
    }
    out
}

/// The facts about one issue, or None when no ready-label event is visible
/// (nobody can be shown to have armed it: untrusted).
fn issue_facts(
    ctx: &Ctx,
    forge: &Gitea,
    handled: &Handled,
    repo: &str,
    issue: &Issue,
    perms: &mut HashMap<String, Option<String>>,
    errors: &mut Vec<ErrorItem>,
) -> Result<Option<(IssueFacts, i64)>> {
    let cfg = &ctx.config;
    let repo_matches = issue
        .repository
        .as_ref()
        .is_none_or(|r| r.full_name.eq_ignore_ascii_case(repo));
    let mut facts = IssueFacts {
        repo_matches,
        already_handled: false,
        trusted: false,
        blocked: false,
    };
    if !repo_matches {
        return Ok(Some((facts, 0)));
    }
    let timeline = forge.timeline(repo, issue.number)?;
    let Some((event_id, login)) = gitea::last_label_added(&timeline, &cfg.poll.ready_label) else {
        return Ok(None);
    };
    facts.already_handled = handled.contains(&(repo.to_string(), issue.number, event_id));
    if facts.already_handled {
        return Ok(Some((facts, event_id)));
    }
    let named = cfg
        .poll
        .trusted_users
        .iter()
        .any(|u| u.eq_ignore_ascii_case(&login));
    let permission = if named || login.ends_with("[bot]") || login.is_empty() {
        None
    } else if let Some(p) = perms.get(&login) {
        p.clone()
    } else {
        let p = match forge.permission(repo, &login) {
            Ok(p) => p,
            Err(e) if ForgeError::status_of(&e) == Some(403) => {
                errors.push(ErrorItem::msg(
                    repo,
                    Some(issue.number),
                    format!(
                        "{e}; afk's account must be an admin of {repo} to check who armed issues (treated as untrusted)"
                    ),
                ));
                None
            }
            Err(e) => return Err(e),
        };
        perms.insert(login.clone(), p.clone());
        p
    };
    facts.trusted = dispatch::is_trusted(
        &login,
        &cfg.poll.trusted_users,
        cfg.poll.trusted_permission.as_str(),
        permission.as_deref(),
    );
    if !facts.trusted {
        return Ok(Some((facts, event_id)));
    }
    let deps = forge.dependencies(repo, issue.number)?;
    facts.blocked = deps.iter().any(|d| d.state != "closed");
    if !facts.blocked {
        for (other, n) in dispatch::body_blockers(issue.body.as_deref().unwrap_or("")) {
            let r = other.as_deref().unwrap_or(repo);
            match forge.issue(r, n) {
                Ok(i) if i.state != "closed" => {
                    facts.blocked = true;
                    break;
                }
                Ok(_) => {}
                // a blocker that does not exist blocks nothing
                Err(e) if ForgeError::status_of(&e) == Some(404) => {}
                Err(e) => return Err(e),
            }
        }
    }
    Ok(Some((facts, event_id)))
}

pub struct ResolvedTemplate {
    pub preamble: String,
    pub version_id: Option<i64>,
    pub version: Option<i64>,
    pub hash: Option<String>,
}

/// `poll.template`'s current version, else the built-in implementer preamble.
fn resolve_template(store: &Store, name: &str) -> Result<ResolvedTemplate> {
    Ok(match store.template_with_status(name, "current")? {
        Some(v) => ResolvedTemplate {
            preamble: v.body,
            version_id: Some(v.id),
            version: Some(v.version),
            hash: Some(v.hash),
        },
        None => ResolvedTemplate {
            preamble: prompt::DEFAULT_PREAMBLE.to_string(),
            version_id: None,
            version: None,
            hash: None,
        },
    })
}

fn dispatch_one(
    ctx: &Ctx,
    forge: &Gitea,
    http_runner: Option<&crate::runner::http::HttpRunner>,
    state_path: &Path,
    t: &ResolvedTemplate,
    w: &Winner,
    lessons: &[String],
) -> (Option<Dispatched>, Option<ErrorItem>) {
    let cfg = &ctx.config;
    let fail = |m: String| ErrorItem::msg(&w.repo, Some(w.issue.number), m);
    let store = match Store::open(state_path) {
        Ok(s) => s,
        Err(e) => return (None, Some(fail(e.to_string()))),
    };
    let branch = prompt::branch_for(w.issue.number);
    let run_id = match store.claim_run(&crate::store::runs::NewRun {
        repo: &w.repo,
        issue: w.issue.number,
        title: &w.issue.title,
        url: &w.issue.html_url,
        ready_event_id: Some(w.ready_event_id),
        template_name: &cfg.poll.template,
        template_version_id: t.version_id,
        template_version: t.version,
        template_hash: t.hash.as_deref(),
        runner_kind: cfg.runner.kind.as_str(),
        branch: &branch,
    }) {
        Ok(id) => id,
        Err(e) => return (None, Some(fail(e.to_string()))),
    };
    let body = if cfg.poll.include_body {
        w.issue.body.as_deref()
    } else {
        None
    };
    let text = prompt::build(&prompt::PromptInput {
        preamble: &t.preamble,
        repo: &w.repo,
        issue: w.issue.number,
        title: &w.issue.title,
        url: &w.issue.html_url,
        lessons,
        body,
    });
    let run_dir = ctx.runs_dir().join(run_id.to_string());
    let secrets = cfg.secret_env_names();
    let started: Result<(String, Option<i64>, Option<i64>)> = match http_runner {
        Some(h) => {
            // keep the prompt with the run, as the command runner does
            let _ = std::fs::create_dir_all(&run_dir)
                .and_then(|_| std::fs::write(run_dir.join("prompt-1.md"), &text));
            h.start(&w.repo, w.issue.number, &w.issue.title, &text)
                .map(|id| (format!("thread:{id}"), None, None))
        }
        None => runner::start(&runner::StartSpec {
            run_id,
            repo: &w.repo,
            issue: w.issue.number,
            branch: &branch,
            prompt: &text,
            run_dir: &run_dir,
            turn: 1,
            command: &cfg.runner.command,
            workdir: &cfg.runner.workdir,
            strip_env: &secrets,
        })
        .map(|h| {
            (
                format!("pid:{}", h.pid),
                Some(h.pid as i64),
                Some(h.start_time as i64),
            )
        }),
    };
    let (handle, pid, start_time) = match started {
        Ok(h) => h,
        Err(e) => {
            let msg = format!("agent start failed: {e}");
            if let Err(e2) = store.mark_failed(run_id, &msg) {
                return (None, Some(fail(format!("{msg}; and {e2}"))));
            }
            return (None, Some(fail(msg)));
        }
    };
    if let Err(e) = store.mark_started(run_id, &run_dir.to_string_lossy(), &handle, pid, start_time)
    {
        return (None, Some(fail(e.to_string())));
    }
    let d = Dispatched {
        repo: w.repo.clone(),
        issue: w.issue.number,
        run_id: Some(run_id),
        template: cfg.poll.template.clone(),
        template_version: t.version,
    };
    // Only after a successful start: the in-progress label.
    if let Err(e) = forge.add_label(&w.repo, w.issue.number, &cfg.poll.in_progress_label) {
        let mut item = ErrorItem::from_err(&w.repo, Some(w.issue.number), &e);
        item.message = format!(
            "agent started (run {run_id}) but labelling failed: {e}; the next tick adds the label"
        );
        return (Some(d), Some(item));
    }
    if let Err(e) = store.set_state(run_id, "dispatched") {
        return (Some(d), Some(fail(e.to_string())));
    }
    (Some(d), None)
}
