//! Act, the last of watch's phases for a run, which writes what was decided
//! (settle's writes only catch up on the last turn): what the look found
//! kept (`record`), then the decision carried out: a corrective turn
//! (`turn.rs`), a branch update or a retest asked of the forge, or an end
//! state's `core::end_plan::EndPlan`; then afk's comments (`comments.rs`)
//! and, for an end, the checkout removed (an escalated run keeps it for a
//! person) and the final status. Every write is idempotent or guarded:
//! comments are found again by their marker, and only among comments afk's
//! own account wrote.

use super::comments::{self, Step};
use super::lists::Watch;
use super::observe::{Seen, ToRecord};
use crate::core::end_plan::{self, EndLesson, EndPlan, LabelRole};
use crate::core::escalation;
use crate::core::run_lessons;
use crate::core::run_state::{Action, Correction, Wait, takes};
use crate::store::Store;
use crate::store::events::NewEvent;
use crate::store::lessons::NewLesson;
use crate::store::runs::{Observation, Run};
use crate::types::TurnBudget;
use crate::workspace::At;
use anyhow::Result;

/// Carry out `action` for `run` (none: a run seen blind with no limit over,
/// whose look is only kept). What the tick went on without is said in
/// `notes`, for the run's line of the report.
pub(crate) fn act(
    w: &Watch,
    store: &Store,
    seen: &Seen,
    action: Option<Action>,
    notes: &mut Vec<String>,
) -> Result<()> {
    let run = &seen.run;
    record(w, store, run, &seen.record)?;
    let Some(action) = action else {
        return Ok(());
    };
    if crate::core::run_state::records_gate_failure(&action, seen.ci.checks) {
        record_gate_failure(w, run, seen);
    }
    let at = super::forward::at(run, &seen.run_dir);
    let mut step = Step {
        turn: run.turns,
        end: None,
    };
    let plan = match action {
        // a pause whose label or comment a tick failed to put on the forge
        Action::Wait(Wait::Paused)
            if !seen.heard.talk.pause.said
                && let Some(limit) = seen
                    .heard
                    .talk
                    .pause
                    .limit
                    .as_deref()
                    .and_then(crate::core::budget::Limit::parse) =>
        {
            super::pause::say_again(w, store, run, seen, limit, notes)?;
            None
        }
        Action::Wait(_) => None,
        Action::CorrectiveTurn(kind) => {
            step.turn = super::turn::start(w, store, run, seen, (kind, &at))?;
            None
        }
        Action::UpdateBranch(style) => {
            update_branch(w, store, run, seen, style)?;
            None
        }
        Action::Retest => {
            retest(w, store, run, seen)?;
            None
        }
        // a pause keeps the run in flight: no end plan
        Action::Pause(limit) => {
            super::pause::pause(w, store, run, seen, limit, notes)?;
            None
        }
        Action::Continue(by) => {
            step.turn = super::turn::continuation(w, store, run, seen, (by, &at))?;
            None
        }
        end => match end_plan::plan(end, seen.issue_open) {
            Some(plan) => {
                carry_out(w, store, run, seen, (end, &plan), notes)?;
                Some(plan)
            }
            // an end with nothing to carry out: only where the run stands
            None => return said(store, run, seen, action),
        },
    };
    step.end = plan.as_ref().map(|p| (action, p));
    comments::write(w, store, run, seen, &step, notes)?;
    let looked = super::pr_body::Looked {
        blind: seen.blind,
        pr: seen.pr.as_ref(),
        spend_usd: seen.spend_usd,
        at: &at,
    };
    super::pr_body::refresh(w, store, run, &looked, step.turn)?;
    if let Some(plan) = &plan {
        finish(w, store, run, (action, plan), &at, notes)?;
    }
    said(store, run, seen, action)
}

/// Keep what the look at `run` found (`Seen::record`): the spend, the
/// progress clocks, the merge-hold lesson.
fn record(w: &Watch, store: &Store, run: &Run, r: &ToRecord) -> Result<()> {
    if let Some((usd, stored)) = &r.spend {
        store.set_spend(run.id, *usd, stored)?;
    }
    if let Some(o) = &r.observation {
        store.observe(
            run.id,
            &Observation {
                pr: o.pr.as_ref().map(|(n, url)| (*n, url.as_str())),
                head_sha: o.head_sha.as_deref(),
                fingerprint: &o.fingerprint,
                changed_at: &o.changed_at,
                green_since: o.green_since.as_deref(),
                ci: o.ci,
                seen_at: &crate::clock::ts(w.t.now),
            },
        )?;
    }
    if r.merge_hold {
        let hold = run_lessons::merge_hold();
        w.t.journal.auto(lesson(run, hold));
    }
    Ok(())
}

/// Where the run stands, for `afk status`: written only when it changed, so
/// an idle tick takes no write lock for it; not from a blind look.
fn said(store: &Store, run: &Run, seen: &Seen, action: Action) -> Result<()> {
    let said = action.said();
    if seen.blind || run.watch_said.as_deref() == Some(said.as_str()) {
        return Ok(());
    }
    store.set_watch_said(run.id, &said)
}

/// A `gate_failure` lesson (`core::run_lessons`), with the agent that pushed
/// and the prompt it worked from.
fn record_gate_failure(w: &Watch, run: &Run, seen: &Seen) {
    let template = run
        .template_name
        .as_deref()
        .map(|t| (t, run.template_version));
    let pushed_by = seen.pr.as_ref().map(|p| p.author());
    let agent_login = &w.t.settled.agent_login;
    let agent = crate::core::run_state::agent_of(pushed_by, agent_login, template);
    let mut l = lesson(run, run_lessons::gate_failure(&seen.ci.failing));
    l.agent = Some(agent);
    w.t.journal.auto(l);
}

/// Ask the forge, once for this base, to bring the PR's branch up to date;
/// what it answers is looked at next tick (a refusal or a conflict: a turn).
fn update_branch(
    w: &Watch,
    store: &Store,
    run: &Run,
    seen: &Seen,
    style: crate::types::UpdateStyle,
) -> Result<()> {
    let Some(pr) = seen.pr.as_ref() else {
        return Ok(());
    };
    let mut talk = seen.heard.talk.clone();
    let under_way = (talk.update_base.as_deref() == Some(pr.base.sha.as_str()))
        .then(|| talk.update_op.clone())
        .flatten();
    talk.update_asks = match under_way {
        Some(_) => talk.update_asks + 1,
        None => 1,
    };
    talk.update_base = Some(pr.base.sha.clone());
    // an update under way for another base is not this one's
    talk.update_op = under_way.clone();
    // recorded before the ask: a tick that dies after it asks no second
    // update for this base, and one whose ask after an update under way
    // fails keeps that update's token for the next
    store.set_talk(run.id, &talk)?;
    let outcome = w.t.forge()?.update_branch(
        &run.repo,
        pr.number,
        style,
        &pr.head.sha,
        under_way.as_deref(),
    )?;
    let op = match &outcome {
        crate::forge::BranchUpdate::Pending(op) => Some(op.clone()),
        _ => None,
    };
    if talk.update_op != op {
        talk.update_op = op;
        store.set_talk(run.id, &talk)?;
    }
    crate::log::decision(&format!(
        "{}#{} run {}: branch update of PR {} onto {}: {outcome:?}",
        run.repo,
        run.issue,
        run.id,
        w.t.settled.profile.pr_ref(pr.number),
        pr.base.sha
    ));
    Ok(())
}

/// Post `watch.retest_comment` on the PR, once for this head.
fn retest(w: &Watch, store: &Store, run: &Run, seen: &Seen) -> Result<()> {
    let Some(pr) = seen.pr.as_ref() else {
        return Ok(());
    };
    let mut talk = seen.heard.talk.clone();
    talk.retest_sha = seen.ci_sha.clone();
    // recorded before the comment: a comment whose answer is lost is never
    // posted twice; its time, by the forge's clock, follows once known
    talk.retest_at = Some(crate::clock::ts(w.t.now));
    store.set_talk(run.id, &talk)?;
    let posted = w.t.forge()?.create_comment(
        &run.repo,
        crate::forge::Target::Pr(pr.number),
        &w.t.config().watch.retest_comment,
    )?;
    if let Some(at) = posted
        .created_at
        .filter(|t| crate::clock::parse(t).is_some())
    {
        talk.retest_at = Some(at);
        store.set_talk(run.id, &talk)?;
    }
    Ok(())
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
    // a tracker's issue by its key, as every report names it: its `#N` is
    // afk's number, maybe another issue on the forge
    let key = crate::core::prompt::tracker_key(&run.branch, run.issue);
    let at = crate::core::prompt::place(run.repo.as_str(), run.issue, key.as_deref());
    let text = match action {
        Action::Escalate(why) => escalation::notification(&at, why, url, seen.blocked.as_ref()),
        Action::Abandon => escalation::abandoned_notification(&at, url),
        _ => escalation::success_notification(&at, url),
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
        w.t.journal.auto(lesson(run, text));
    }
    if plan.lesson == Some(EndLesson::ReviewUnresolved) {
        review_lesson(w, run, seen);
    }
    Ok(())
}

/// The `review_unresolved` lesson: of the asks a review turn would have
/// taken, the words and places `run_lessons::quoted_asks` picks.
fn review_lesson(w: &Watch, run: &Run, seen: &Seen) {
    let asks: Vec<_> = (seen.heard.asked.iter())
        .filter(|a| takes(Correction::Asked(TurnBudget::Review), a.budget))
        .collect();
    let shown: Vec<run_lessons::AskShown> = (asks.iter())
        .map(|a| run_lessons::AskShown {
            author: &a.author,
            text: !a.body.trim().is_empty(),
            places: !a.comments.is_empty(),
        })
        .collect();
    if let Some((ask, at)) = run_lessons::quoted_asks(&shown).map(|(t, p)| (asks[t], asks[p])) {
        let places: Vec<String> = at
            .comments
            .iter()
            .map(|c| match c.line {
                Some(l) => format!("{}:{l}", c.path),
                None => c.path.clone(),
            })
            .collect();
        let text = run_lessons::review_unresolved(&run_lessons::Unresolved {
            by: &ask.author,
            review: ask.review(),
            verb: &ask.said.verb(),
            text: &ask.body,
            places: &places,
            turns: seen.heard.talk.review_turns,
        });
        w.t.journal.auto(lesson(run, text));
    }
}

/// Decide in SQLite (status + event in one transaction), then the forge
/// writes, each idempotent (the comments and the final status follow in
/// `act`). A tick that dies midway leaves the decided status; the next tick
/// carries the same plan on.
fn carry_out(
    w: &Watch,
    store: &Store,
    run: &Run,
    seen: &Seen,
    (action, plan): (Action, &EndPlan),
    notes: &mut Vec<String>,
) -> Result<()> {
    if !run.state.decided() {
        decide(w, store, run, seen, action, plan)?;
    }
    if action == Action::Succeed {
        record_merge(w, store, run, seen)?;
    }
    if plan.stop_agent {
        let why = format!("as the run ended ({}): stopped", action.name());
        super::pause::stop_agent(w, store, (run, seen), &why)?;
    }
    if plan.close_issue {
        // a tracker's issue: its link to the PR says merged first
        if let Some(pr) = seen.pr.as_ref().filter(|p| p.merged)
            && let Err(e) = w.t.forge()?.link_pull(&run.repo, run.issue, pr, true)
        {
            crate::log::decision(&format!(
                "{}#{}: the tracker issue's link to the PR was not marked merged: {e}",
                run.repo, run.issue
            ));
        }
        // refused for a reason only a person can change (an issue it
        // depends on still open, no way into Done afk may take): left
        // open, said in the log and the report, never asked again
        match w.t.forge()?.close_issue(&run.repo, run.issue) {
            Err(e) if e.downcast_ref::<afk_forge::CloseRefused>().is_some() => {
                let said = format!("{e}; left open for a person");
                crate::log::warn(&said);
                notes.push(said);
            }
            other => other?,
        }
    }
    for role in &plan.remove_labels {
        w.t.forge()?
            .remove_label(&run.repo, run.issue, label_name(w, *role))?;
    }
    for role in &plan.add_labels {
        super::labels::add(w, run, label_name(w, *role))?;
    }
    tell_end(w, run, seen, action);
    // a paused run's end takes its paused label too
    if store.talk(run.id)?.pause.limit.is_some() {
        super::pause::unlabel(w, run)?;
    }
    Ok(())
}

/// The run's end in its agent session, where the tracker keeps one
/// (Linear, `ready = "delegate"`): a response, an elicitation or an error
/// (`core::tracker::agent_session::ended`), once; a failure is said and
/// the next tick's carrying on of the end tries again.
fn tell_end(w: &Watch, run: &Run, seen: &Seen, action: Action) {
    use crate::core::tracker::agent_session::{End, ended};
    let pr = seen
        .pr
        .as_ref()
        .map(|p| p.html_url.clone())
        .unwrap_or_default();
    let (end, text) = match action {
        Action::Succeed => (End::Succeeded, pr),
        Action::Escalate(crate::core::run_state::Escalation::Stopped) => (End::Stopped, pr),
        Action::Escalate(why) => (
            End::Escalated,
            format!("{why} (see the pull request and afk's checklist) {pr}"),
        ),
        Action::Abandon => (
            End::Abandoned,
            "a person finished the issue, took the delegation back or removed afk's in-progress label".into(),
        ),
        _ => return,
    };
    let note = ended(run.id.0 as u64, end, text.trim());
    if let Err(e) =
        w.t.forge()
            .and_then(|f| f.tell_session(&run.repo, run.issue, &note))
    {
        crate::log::warn(&format!(
            "{}#{}: the agent session was not told how the run ended: {e:#}",
            run.repo, run.issue
        ));
    }
}

/// An end's last writes, after its comments: the checkout goes with the run
/// (an escalated run keeps it for a person until the issue is re-armed,
/// docs/how-it-works.md#the-workspace), then the final status.
fn finish(
    w: &Watch,
    store: &Store,
    run: &Run,
    (action, plan): (Action, &EndPlan),
    at: &At,
    notes: &mut Vec<String>,
) -> Result<()> {
    if !matches!(action, Action::Escalate(_))
        && let Err(e) = w.t.workspace.remove(at)
    {
        notes.push(format!("its checkout could not be removed: {e:#}"));
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
    lesson(run, run_lessons::budget_exceeded(&spent))
}

/// A success's merge commit, base branch and merge time, for harvest's revert
/// watch (docs/how-it-works.md#afk-harvest-and-the-template-canary). Written once
/// (the first time watch carries the success out).
fn record_merge(w: &Watch, store: &Store, run: &Run, seen: &Seen) -> Result<()> {
    let Some(pr) = seen.pr.as_ref().filter(|p| p.merged) else {
        return Ok(());
    };
    record_zero_touch(store, run, pr)?;
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

/// Whether the merge was zero-touch (`core::zero_touch`), from what afk
/// holds: the head the merged PR reports, the heads afk recorded for the
/// run, the trail of what it heard. No forge request; written once (an
/// unknown verdict is not written).
fn record_zero_touch(store: &Store, run: &Run, pr: &crate::forge::PullRequest) -> Result<()> {
    let heads = store.afk_heads(run.id)?;
    let items = store.talk_items(run.id)?;
    let stopped = store.talk(run.id)?.stopped_by.is_some();
    let trail = items.iter().map(|i| (&i.what, &i.outcome));
    if let Some(z) = crate::core::zero_touch::zero_touch(&pr.head.sha, &heads, trail, stopped) {
        store.set_zero_touch(run.id, z)?;
    }
    Ok(())
}

/// A run's automatic lesson: `core::run_lessons`' content for this run.
fn lesson(run: &Run, l: run_lessons::RunLesson) -> NewLesson {
    NewLesson {
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
