//! Carrying out watch's decision for one run: keep the checklist, start a
//! corrective turn, or carry out an end state's `core::end_plan::EndPlan`.
//! Every write is idempotent or guarded: comments are found again by their
//! marker, and only among comments afk's own account wrote.

use super::comments::{checklist_for, post_once, update_checklist};
use super::lists::Watch;
use super::observe::Seen;
use crate::core::end_plan::{self, EndLesson, EndPlan, LabelRole};
use crate::core::escalation;
use crate::core::prompt;
use crate::core::run_lessons;
use crate::core::run_state::{Action, Agent, Correction, Escalation};
use crate::core::turn_reason;
use crate::forge::State;
use crate::runner::{Turn, TurnOf};
use crate::store::Store;
use crate::store::events::NewEvent;
use crate::store::lessons::NewLesson;
use crate::store::runs::Run;
use anyhow::Result;

/// A `gate_failure` lesson (`core::run_lessons`), with the agent that pushed
/// and the prompt it worked from.
fn record_gate_failure(w: &Watch, run: &Run, seen: &Seen) {
    let template = run
        .template_name
        .as_deref()
        .map(|t| (t, run.template_version));
    let pushed_by = seen.pr.as_ref().map(|p| p.author());
    let agent_login = &w.t.config().runner.agent_login;
    let agent = crate::core::run_state::agent_of(pushed_by, agent_login, template);
    let mut l = super::observe::lesson(run, run_lessons::gate_failure(&seen.ci.failing));
    l.agent = Some(agent);
    w.t.journal.auto(l);
}

pub(crate) fn act(w: &Watch, store: &Store, run: &Run, seen: &Seen, action: Action) -> Result<()> {
    if crate::core::run_state::records_gate_failure(&action) {
        record_gate_failure(w, run, seen);
    }
    match action {
        Action::Wait(_) => {
            update_checklist(w, store, run, &checklist_for(w, seen, run, run.turns, None))
        }
        Action::CorrectiveTurn(kind) => corrective_turn(w, store, run, seen, kind),
        Action::UpdateBranch(style) => super::asks::update_branch(w, store, run, seen, style),
        Action::Retest => super::asks::retest(w, store, run, seen),
        end => match end_plan::plan(end, seen.issue_open) {
            Some(plan) => carry_out(w, store, run, seen, end, &plan),
            None => Ok(()),
        },
    }
}

fn corrective_turn(
    w: &Watch,
    store: &Store,
    run: &Run,
    seen: &Seen,
    kind: Correction,
) -> Result<()> {
    // the turn is recorded before the start, with why: never two agents for one turn
    let reason = crate::core::run_state::Action::CorrectiveTurn(kind).reason();
    let turn = store.begin_turn(
        run.id,
        reason.as_deref().unwrap_or(""),
        &turn_why(seen, kind),
    )?;
    let mut talk = seen.heard.talk.clone();
    talk.turn_started_at = Some(crate::clock::ts(w.t.now));
    if kind == Correction::Review {
        talk.review_turns += 1;
        let max = w.t.config().watch.review_turns_max;
        super::talk::taken(store, run, &seen.heard.asked, talk.review_turns, max)?;
    }
    store.set_talk(run.id, &talk)?;
    let text = corrective_prompt(w, run, seen, turn, kind);
    let budget_usd = crate::budget::left_for_turn(w.t, store, run, seen.spend_usd)?;
    if w.t.config().runner.workspace() == crate::types::Workspace::Afk {
        // the last turn's work is on the forge: the next one starts from the
        // forge's head of the branch (a person's push or a branch update in it)
        w.t.workspace
            .as_ref()
            .make(w.t.forge.as_ref(), &super::forward::at(run, &seen.run_dir))?;
    }
    let started = w.t.runner.resume(
        seen.handle.as_ref(),
        &Turn {
            run_id: TurnOf::Run(run.id),
            repo: &run.repo,
            issue: run.issue,
            title: &run.title,
            branch: &run.branch,
            prompt: &text,
            run_dir: &seen.run_dir,
            turn,
            env: &crate::workspace::turn_env(w.t.config()),
            budget_usd,
        },
    );
    let handle = match started {
        Ok(h) => h,
        // the turn may have started: follow it where it would be; the next
        // observation finds it or makes it, never a second one
        Err(e) => match crate::runner::start_unknown(&e).and_then(|u| u.handle.clone()) {
            Some(h) => {
                store.set_handle(run.id, &h)?;
                return Err(e);
            }
            None => return Err(e),
        },
    };
    store.set_handle(run.id, &handle)?;
    update_checklist(w, store, run, &checklist_for(w, seen, run, turn, None))
}

/// Why the turn starts, in one line (`core::turn_reason`).
fn turn_why(seen: &Seen, kind: Correction) -> String {
    let asked: Vec<turn_reason::Asker> = (seen.heard.asked.iter())
        .map(|a| turn_reason::Asker {
            author: &a.author,
            review: a.review,
        })
        .collect();
    turn_reason::why(kind, &seen.ci.failing, &asked)
}

/// A corrective turn's prompt: what is wrong, with the issue and what the
/// last turn ended with restated (its final message, else its log's end).
fn corrective_prompt(w: &Watch, run: &Run, seen: &Seen, turn: u32, kind: Correction) -> String {
    let asked: Vec<prompt::Asked> = seen
        .heard
        .asked
        .iter()
        .map(|a| prompt::Asked {
            author: &a.author,
            review: a.review,
            body: &a.body,
            comments: &a.comments,
            cut: a.cut,
        })
        .collect();
    let what = prompt::Correction::of(kind, &seen.ci.failing, &seen.ci.said, &asked);
    let run_dir = &seen.run_dir;
    let cfg = w.t.config();
    // what the last turn left: the agent's final message, else its output's end
    let last_turn = crate::run_files::final_message(run_dir, cfg.runner.agent())
        .or_else(|| crate::run_files::log_end(run_dir));
    prompt::corrective_for(
        &run.repo,
        run.issue,
        turn,
        &what,
        &prompt::Restated {
            title: &run.title,
            url: &run.url,
            workspace: cfg.runner.workspace(),
            last_turn: last_turn.as_deref(),
        },
    )
}

fn label_name<'a>(w: &'a Watch, role: LabelRole) -> &'a str {
    let cfg = w.t.config();
    match role {
        LabelRole::Ready => &cfg.poll.ready_label,
        LabelRole::InProgress => &cfg.poll.in_progress_label,
        LabelRole::Human => &cfg.watch.human_label,
    }
}

/// The end decided in SQLite (status and outbox event in one transaction),
/// then the freeze and the lesson it brings.
fn decide(
    w: &Watch,
    store: &Store,
    run: &Run,
    seen: &Seen,
    action: Action,
    plan: &EndPlan,
) -> Result<()> {
    let cfg = w.t.config();
    let url = seen.pr.as_ref().map_or(run.url.as_str(), |p| &p.html_url);
    let url = escalation::link(url);
    let url = url.as_deref().unwrap_or("");
    let text = match action {
        Action::Escalate(why) => {
            escalation::notification(&run.repo, run.issue, why, url, seen.blocked.as_ref())
        }
        Action::Abandon => escalation::abandoned_notification(&run.repo, run.issue, url),
        _ => escalation::success_notification(&run.repo, run.issue, url),
    };
    store.source().open()?.at(w.t.now).decide_end(
        run.id,
        plan.deciding,
        plan.reason.as_deref(),
        plan.event.map(|kind| NewEvent {
            kind,
            repo: &run.repo,
            issue: run.issue,
            run_id: run.id,
            reason: plan.reason.as_deref().filter(|_| kind.carries_reason()),
            url: Some(url).filter(|u| !u.is_empty()),
            text: &text,
        }),
    )?;
    if plan.freeze {
        store.freeze(&run.repo, "deploy-failed", run.id)?;
    }
    if plan.lesson == Some(EndLesson::BudgetExceeded) {
        w.t.journal.auto(budget_lesson(w, run, seen));
    }
    if plan.lesson == Some(EndLesson::DeployDegraded) {
        let text = run_lessons::deploy_degraded(&cfg.watch.deploy_context, &run.repo);
        w.t.journal.auto(super::observe::lesson(run, text));
    }
    if plan.lesson == Some(EndLesson::ReviewUnresolved)
        && let Some(ask) = seen.heard.asked.last()
    {
        let places: Vec<String> = ask
            .comments
            .iter()
            .map(|c| match c.line {
                Some(l) => format!("{}:{l}", c.path),
                None => c.path.clone(),
            })
            .collect();
        let text = run_lessons::review_unresolved(&run_lessons::Unresolved {
            by: &ask.author,
            review: ask.review,
            text: &ask.body,
            places: &places,
            turns: seen.heard.talk.review_turns,
        });
        w.t.journal.auto(super::observe::lesson(run, text));
    }
    Ok(())
}

/// Decide in SQLite (status + event in one transaction), then the forge
/// writes, each idempotent, then the final status. A tick that dies midway
/// leaves the decided status; the next tick carries the same plan on.
fn carry_out(
    w: &Watch,
    store: &Store,
    run: &Run,
    seen: &Seen,
    action: Action,
    plan: &EndPlan,
) -> Result<()> {
    if !run.state.decided() {
        decide(w, store, run, seen, action, plan)?;
    }
    if action == Action::Succeed {
        record_merge(w, store, run, seen)?;
    }
    if plan.stop_agent
        && seen.agent == Agent::Running
        && let Some(h) = &seen.handle
    {
        w.t.runner.stop(h);
    }
    if plan.close_issue {
        w.t.forge.close_issue(&run.repo, run.issue)?;
    }
    for role in &plan.remove_labels {
        w.t.forge
            .as_ref()
            .remove_label(&run.repo, run.issue, label_name(w, *role))?;
    }
    for role in &plan.add_labels {
        w.t.forge
            .as_ref()
            .add_label(&run.repo, run.issue, label_name(w, *role))?;
    }
    if plan.escalation_comment
        && let Action::Escalate(why) = action
    {
        post_escalation_comment(w, store, run, seen, why)?;
    }
    if action == Action::Abandon
        && let Some(pr) = seen
            .pr
            .as_ref()
            .filter(|p| p.state == State::Open && !p.merged)
    {
        let (marker, body) = end_plan::abandoned_note(run.id, run.issue);
        let key = format!("run:{}:abandoned", run.id);
        post_once(w, store, run, pr.number, (&key, &marker), &body)?;
    }
    let end = checklist_for(w, seen, run, run.turns, Some(plan.checklist_end.clone()));
    update_checklist(w, store, run, &end)?;
    // the checkout goes with the run; an escalated run keeps it for a person
    // (docs/how-it-works.md#the-workspace) until the issue is re-armed
    if !matches!(action, Action::Escalate(_))
        && let Err(e) =
            w.t.workspace
                .remove(&super::forward::at(run, &seen.run_dir))
    {
        w.note(run, format!("its checkout could not be removed: {e:#}"));
    }
    store.finish(run.id, plan.final_status)
}

/// The `budget_exceeded` lesson: what the run spent and took against its limits.
fn budget_lesson(w: &Watch, run: &Run, seen: &Seen) -> NewLesson {
    let b = &w.t.config().budget;
    let spent = run_lessons::Spent {
        spend_usd: seen.spend_usd,
        run_usd: b.run_usd,
        run_time: b.run_time,
        age: seen.age,
        turns: run.turns,
    };
    super::observe::lesson(run, run_lessons::budget_exceeded(&spent))
}

/// A success's merge commit, base branch and merge time, for harvest's revert
/// watch (docs/how-it-works.md#afk-harvest-and-the-template-canary). Written once
/// (the first time watch carries the success out).
fn record_merge(w: &Watch, store: &Store, run: &Run, seen: &Seen) -> Result<()> {
    let Some(pr) = seen.pr.as_ref().filter(|p| p.merged) else {
        return Ok(());
    };
    let Some(sha) = pr.merge_commit_sha.as_deref().filter(|s| !s.is_empty()) else {
        return Ok(());
    };
    let at = crate::core::outcome::merge_time(
        pr.merged_at.as_deref().and_then(crate::clock::parse),
        crate::clock::parse(&run.created_at),
        w.t.now,
    );
    let base = crate::core::outcome::merge_base(&pr.base.name);
    store.set_merge(run.id, sha, base, &crate::clock::ts(at))
}

/// One escalation comment per run, even when a tick dies after posting it or
/// the POST's answer is lost.
fn post_escalation_comment(
    w: &Watch,
    store: &Store,
    run: &Run,
    seen: &Seen,
    why: Escalation,
) -> Result<()> {
    if run.escalation_comment_id.is_some() {
        return Ok(());
    }
    let cfg = w.t.config();
    let run_dir = seen.run_dir.to_string_lossy().to_string();
    let stall_after = crate::config::format_duration(cfg.stall_after());
    let body = escalation::comment(&escalation::Escalated {
        run_id: run.id,
        why,
        repo: &run.repo,
        turns_used: run.turns.saturating_sub(1),
        turns: run.turns,
        stall_after: &stall_after,
        pr: seen.pr.as_ref().map(|p| (p.number, p.html_url.as_str())),
        failing: &seen.ci.failing,
        blocked: seen
            .blocked
            .as_ref()
            .map(|b| (b.reason.as_str(), b.questions.as_slice())),
        cannot_start: seen.cannot_start.as_deref(),
        exited: match seen.agent {
            crate::core::run_state::Agent::Exited(code) if why == Escalation::AgentFailed => {
                Some((code, seen.log_end.as_deref().unwrap_or("")))
            }
            _ => None,
        },
        run_dir: &run_dir,
        review_turns: seen.heard.talk.review_turns,
        stopped_by: seen.heard.talk.stopped_by.as_deref(),
        workspace: seen.forwarded.problem.as_ref().map(|(_, w)| w.as_str()),
        human_label: &cfg.watch.human_label,
        ready_label: &cfg.poll.ready_label,
        budget: escalation::Budget {
            spend_usd: seen.spend_usd,
            run_usd: cfg.budget.run_usd,
            age: &crate::core::spend::age_text(seen.age),
            run_time: &cfg
                .budget
                .run_time
                .map(crate::config::format_duration)
                .unwrap_or_default(),
        },
    });
    let key = format!("run:{}:escalation", run.id);
    let id = post_once(
        w,
        store,
        run,
        run.issue,
        (&key, &escalation::marker(run.id)),
        &body,
    )?;
    // 0: refused even shortened; none is posted, and none is tried again
    store.set_escalation_comment(run.id, id.unwrap_or(0))
}
