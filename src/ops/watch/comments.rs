//! afk's own comments on a run's issue and PR, the last of act's forge
//! writes (`write`): an end's escalation comment and abandoned note, then the
//! progress checklist. Each is found again by its marker among the comments
//! afk's account wrote (the checklist by its stored id once it has one),
//! posted once (a post whose answer was lost is looked
//! for before it is sent again), and, when the forge refuses a text (422),
//! shortened and tried once more, never forever: what was given up is said in
//! the run's notes.

use super::lists::{Shown, Watch};
use super::observe::Seen;
use crate::core::bounds;
use crate::core::checklist::{self, Checklist, End, Link};
use crate::core::end_plan::{self, EndPlan};
use crate::core::escalation;
use crate::core::run_state::{Action, Agent, Checks, Escalation};
use crate::forge::{Comment, Failure, ForgeError, LastTry, Target};
use crate::store::Store;
use crate::store::runs::Run;
use anyhow::Result;

/// What act did that afk's comments say: the turn the checklist shows and,
/// for an end, the action and its plan.
pub(super) struct Step<'a> {
    pub turn: u32,
    pub end: Option<(Action, &'a EndPlan)>,
}

/// afk's comments for this step, in order: an end's escalation comment and
/// abandoned note, then the checklist.
pub(super) fn write(
    w: &Watch,
    store: &Store,
    run: &Run,
    seen: &Seen,
    step: &Step,
    notes: &mut Vec<String>,
) -> Result<()> {
    if let Some((action, plan)) = step.end {
        if plan.escalation_comment
            && let Action::Escalate(why) = action
        {
            escalation_comment(w, store, run, seen, why, notes)?;
        }
        if action == Action::Abandon
            && let Some(pr) = seen.pr.as_ref().filter(|p| p.is_open())
        {
            let (marker, body) = end_plan::abandoned_note(run.id, run.issue);
            let key = format!("run:{}:abandoned", run.id);
            post_once(
                w,
                store,
                run,
                Target::Pr(pr.number),
                (&key, &marker),
                &w.shown(run, Some(pr.number), &body),
                notes,
            )?;
        }
    }
    if step.end.is_none() {
        answer(w, store, run, seen, notes)?;
    }
    let end = step.end.map(|(_, plan)| plan.checklist_end.clone());
    // the pause as this tick left it (recorded or cleared by `act`)
    let pause = store.talk(run.id)?.pause;
    // its figure with the run's spend as the tick left it
    let fresh = store.run(run.id)?.unwrap_or_else(|| run.clone());
    let paused_at = crate::page::paused_standing(w.t.config(), &fresh, &pause)
        .map(|s| crate::core::budget::pause::figure(&s));
    let paused = pause.limit.zip(pause.since).filter(|_| step.end.is_none());
    // one line per past pause and continuation
    let history = store.pause_history(run.id)?;
    let history: Vec<crate::core::budget::pause_history::Past> = history
        .iter()
        .map(|p| crate::core::budget::pause_history::Past {
            continued: p.continued,
            at: &p.at,
            limit: &p.limit,
            limit_words: &p.limit_words,
            spend_usd: p.spend_usd,
            who: p.who.as_deref(),
        })
        .collect();
    let past = crate::core::budget::pause_history::lines(&history, paused.is_some());
    let text = checklist_for(w, seen, run, (step.turn, paused, paused_at, past), end);
    let text = w.shown(run, seen.pr.as_ref().map(|p| p.number), &text);
    update_checklist(w, store, run, &text, notes)
}

/// afk's answer to the run's last turn, once its work is on the PR
/// (docs/reviews.md#the-answer): the turn answered asks, its agent is done,
/// its work forwarded; posted once (found again by its marker) and kept.
fn answer(w: &Watch, store: &Store, run: &Run, seen: &Seen, notes: &mut Vec<String>) -> Result<()> {
    use crate::core::answer;
    use crate::types::Handled;
    let turn = run.turns;
    let Some(pr) = seen.pr.as_ref().filter(|p| p.is_open()) else {
        return Ok(());
    };
    if turn < 2 || seen.agent == Agent::Running || seen.forwarded.problem.is_some() || seen.blind {
        return Ok(());
    }
    let Some(t) = store.turn_answer(run.id, turn)? else {
        return Ok(());
    };
    if t.answer.is_some() {
        return Ok(());
    }
    // the asks this turn took: recorded as it started
    let taken: Vec<(&crate::store::talk::Item, String)> = seen
        .heard
        .items
        .iter()
        .filter(|i| matches!(i.outcome, Handled::Taken { .. }) && i.at >= t.started_at)
        .map(|i| (i, i.what.words()))
        .collect();
    // each review's own line comments, where they are (read once, for this
    // one answer; a forge that cannot say names the review alone)
    let lines_of = |i: &crate::store::talk::Item| -> Vec<(i64, String, Option<u64>)> {
        if i.kind != crate::types::TalkKind::Review {
            return vec![];
        }
        w.t.forge()
            .and_then(|f| f.line_comments(&run.repo, pr.number, i.item))
            .map(|l| {
                l.kept
                    .into_iter()
                    .filter(|c| c.author.eq_ignore_ascii_case(&i.author))
                    .map(|c| (c.id, c.path, c.line))
                    .collect()
            })
            .unwrap_or_default()
    };
    let asked: Vec<answer::Answered> = taken
        .iter()
        .map(|(i, words)| answer::Answered {
            kind: i.kind,
            id: i.item,
            author: &i.author,
            what: words,
            lines: lines_of(i),
        })
        .collect();
    if asked.is_empty() {
        return Ok(());
    }
    let text = answer::text(
        (run.id.0, turn),
        (&pr.head.sha, t.head.as_deref()),
        w.t.config().forge.kind,
        &pr.html_url,
        &asked,
    );
    let key = format!("run:{}:answer:{turn}", run.id);
    let marker = answer::marker(run.id.0, turn);
    if let Some(id) = post_once(
        w,
        store,
        run,
        Target::Pr(pr.number),
        (&key, &marker),
        &w.shown(run, Some(pr.number), &text),
        notes,
    )? {
        store.set_turn_answer(run.id, turn, id)?;
    }
    Ok(())
}

/// afk's own comment on issue or PR `on` that starts with `marker`, if any.
fn own_comment(w: &Watch, run: &Run, on: Target, marker: &str) -> Result<Option<Comment>> {
    let me = w.me()?;
    Ok(w.t
        .forge()?
        .comments(&run.repo, on)?
        .into_iter()
        .find(|c| c.author().eq_ignore_ascii_case(&me) && c.body.starts_with(marker)))
}

/// Post a comment that must exist once. A POST whose answer was lost may
/// still land: the attempt is written down first, and until the forge shows
/// the comment or the attempt is old enough to have failed for sure, the next
/// ticks look again instead of posting a second one. A comment the forge
/// refuses (422: too long, invalid) is shortened and posted once more
/// (`core::bounds::shortened`); refused again, it is given up: `Ok(None)`,
/// said in the run's report, never tried on every tick. An issue that
/// answers 413 to both (a tracker's limit on an issue's comments: Jira's)
/// takes no more comments from the run: its later posts there are given
/// up unsent, and its checklist, once posted, is still edited.
pub(super) fn post_once(
    w: &Watch,
    store: &Store,
    run: &Run,
    on: Target,
    (key, marker): (&str, &str),
    body: &Shown,
    notes: &mut Vec<String>,
) -> Result<Option<i64>> {
    // an issue that took no more comments from this run is not asked again
    let full = format!("run:{}:full", run.id);
    if matches!(on, Target::Issue(_)) && store.post_attempt(&full)?.is_some() {
        return Ok(None);
    }
    let attempt = store.post_attempt(key)?;
    if let Some(c) = own_comment(w, run, on, marker)? {
        if attempt.is_some() {
            reconciled(run, key, Some(c.id));
        }
        store.clear_post(key)?;
        return Ok(Some(c.id));
    }
    if !crate::core::progress::may_post_again(attempt, w.t.now, w.t.settled.forge_timeout) {
        anyhow::bail!(
            "an earlier comment POST got no answer; waiting to see whether it landed before posting again"
        );
    }
    if attempt.is_some() {
        reconciled(run, key, None);
    }
    let body: &str = body;
    let short = bounds::shortened(body);
    let mut too_many = false;
    for text in std::iter::once(body).chain(short.as_deref()) {
        store.note_post(key)?;
        match w.t.forge()?.create_comment(&run.repo, on, text) {
            Ok(c) => {
                store.clear_post(key)?;
                return Ok(Some(c.id));
            }
            Err(e) => {
                settle_post(store, key, &e)?;
                match ForgeError::kind_of(&e) {
                    Some(Failure::Unprocessable) => {}
                    // 413 on an issue: a text too large (tried shortened), or
                    // the issue's own limit on comments (Jira's per-issue
                    // count: docs/fidelity/jira-cloud.md), refused again
                    Some(Failure::Other(413)) if matches!(on, Target::Issue(_)) => too_many = true,
                    _ => return Err(e),
                }
            }
        }
    }
    if too_many {
        // from now on this run only edits the comments it has there
        store.note_post(&full)?;
        let what = key.rsplit(':').next().unwrap_or("comment");
        notes.push(format!(
            "the issue took no more comments (413: too large, or its limit on comments reached): the {what} comment is left out, and this run only edits its checklist there now"
        ));
        return Ok(None);
    }
    notes.push(refused(key, body.len(), short.is_some()));
    Ok(None)
}

/// A comment POST whose answer was lost, settled (docs/audit.md): the
/// journal's `forge.reconciled` entry says whether it landed (the comment
/// `id` the forge shows) or not (old enough to have failed: posted again).
fn reconciled(run: &Run, key: &str, id: Option<i64>) {
    afk_host::journal::record(
        "forge.reconciled",
        &serde_json::json!({"run": run.id.0, "what": "comment", "key": key,
            "landed": id.is_some(), "id": id}),
    );
}

/// What a comment POST that failed leaves: a "no" from the forge clears the
/// attempt (nothing landed, the next tick may post again); no answer keeps it
/// (it may have landed).
fn settle_post(store: &Store, key: &str, e: &anyhow::Error) -> Result<()> {
    use Failure::*;
    match ForgeError::kind_of(e) {
        Some(Unauthorized | Forbidden | NotFound | Conflict | Gone | Unprocessable | Other(_))
        | Some(Exhausted(LastTry::Answered(_))) => store.clear_post(key),
        // no answer (a timeout, a dropped connection): it may have landed;
        // nor is a rate limit taken for a "no" to this request
        Some(NoAnswer | Unreachable | RateLimited)
        | Some(Exhausted(LastTry::NoAnswer | LastTry::RateLimited))
        | None => Ok(()),
    }
}

/// The report's words for a comment the forge refused, whole and shortened.
fn refused(key: &str, bytes: usize, retried: bool) -> String {
    let what = key.rsplit(':').next().unwrap_or("comment");
    let how = if retried {
        format!(
            "refused the {what} comment ({bytes} bytes) and its shortened copy ({} bytes at most)",
            bounds::SHORTENED_MAX
        )
    } else {
        format!("refused the {what} comment ({bytes} bytes)")
    };
    format!("the forge {how}; afk goes on without it")
}

/// Edit afk's comment `id`; one the forge refuses (422) is shortened and
/// edited once more, and refused again it is left as it was (`Ok(None)`).
fn edit_shortened(
    w: &Watch,
    run: &Run,
    id: i64,
    text: &str,
    notes: &mut Vec<String>,
) -> Result<Option<i64>> {
    let short = bounds::shortened(text);
    for t in std::iter::once(text).chain(short.as_deref()) {
        match w
            .t
            .forge()?
            .edit_comment(&run.repo, Target::Issue(run.issue), id, t)
        {
            Ok(c) => return Ok(Some(c.id)),
            Err(e) if ForgeError::kind_of(&e) == Some(Failure::Unprocessable) => {}
            Err(e) => return Err(e),
        }
    }
    notes.push(refused("checklist", text.len(), short.is_some()));
    Ok(None)
}

/// Keep the one checklist comment: found by its marker among afk's own
/// comments, edited only when its text changes. A text the forge refuses even
/// shortened is kept as the run's (under comment 0, none), so the same text is
/// not tried again.
fn update_checklist(
    w: &Watch,
    store: &Store,
    run: &Run,
    shown: &Shown,
    notes: &mut Vec<String>,
) -> Result<()> {
    let text: &str = shown;
    if !w.t.config().watch.checklist {
        return Ok(());
    }
    if run.checklist_text.as_deref() == Some(text) && run.checklist_comment_id.is_some() {
        return Ok(());
    }
    let key = format!("run:{}:checklist", run.id);
    let post = |notes: &mut Vec<String>| {
        post_once(
            w,
            store,
            run,
            Target::Issue(run.issue),
            (&key, checklist::MARKER),
            shown,
            notes,
        )
    };
    let id = match run.checklist_comment_id.filter(|id| *id != 0) {
        Some(id) => match edit_shortened(w, run, id, text, notes) {
            Ok(c) => c,
            // a person deleted it: post it again rather than fail every tick
            Err(e) if ForgeError::kind_of(&e) == Some(Failure::NotFound) => post(notes)?,
            Err(e) => return Err(e),
        },
        None => match own_comment(w, run, Target::Issue(run.issue), checklist::MARKER)? {
            Some(c) if c.body == text => Some(c.id),
            Some(c) => edit_shortened(w, run, c.id, text, notes)?,
            None => post(notes)?,
        },
    };
    store.set_checklist(run.id, id.unwrap_or(0), text)
}

/// What the checklist says of a run's turns and pauses: its turns, the
/// pause now (its line and when), where it paused, and the past pauses'
/// and continuations' lines.
type Standing = (u32, Option<(String, String)>, Option<String>, Vec<String>);

/// The progress checklist of `run` as watch just saw it (`core::checklist`).
fn checklist_for(
    w: &Watch,
    seen: &Seen,
    run: &Run,
    (turns, paused, paused_at, past): Standing,
    end: Option<End>,
) -> String {
    let cfg = w.t.config();
    let pr = seen.pr.as_ref();
    checklist::render(&Checklist {
        run_id: run.id,
        turn: turns.max(1),
        max_turns: (cfg.watch.fix_forward_max, cfg.watch.review_turns_max),
        pr: pr.map(|p| Link {
            text: w.t.settled.profile.pr_ref(p.number),
            url: p.html_url.clone(),
        }),
        ci_green: seen.ci.checks == Checks::Success && seen.ci_sha.is_some(),
        ci_build: seen.ci.build_url.clone(),
        merged: pr.is_some_and(|p| p.merged),
        deployed: (!cfg.watch.deploy_context.is_empty()).then_some(seen.deploy == Checks::Success),
        phase: seen.phase.as_ref().map(|p| (p.name.clone(), p.at.clone())),
        end,
        spend_usd: seen.spend_usd,
        run_usd: super::limits::run_usd(w, &seen.heard.talk),
        raised_from: (super::limits::run_usd(w, &seen.heard.talk) != cfg.budget.run_usd)
            .then_some(cfg.budget.run_usd),
        metered: crate::run_files::metered_here(&seen.run_dir),
        talk: super::talk::said(&seen.heard),
        held: seen
            .heard
            .talk
            .held_by
            .clone()
            .zip(seen.heard.talk.held_since.clone()),
        paused,
        paused_at,
        past,
        gate_refused: gate_turn_running(w, seen, run, turns),
    })
}

/// While a `gate` turn runs: the turn the change gate refused before it.
fn gate_turn_running(w: &Watch, seen: &Seen, run: &Run, turns: u32) -> Option<u32> {
    if seen.agent != Agent::Running {
        return None;
    }
    let last = w.t.store().turns(run.id).ok()?.last()?.clone();
    (last.why == crate::core::turn_reason::GATE).then(|| turns.saturating_sub(1).max(1))
}

/// Why afk's box ended the agent's last turn, when it ended failing (a key
/// the model refused: `run_files::box_reason`), for the escalation to lead
/// with; the folders of afk's host it may name (a record the gateway could
/// not write) said in words, as the comment names no path of the host.
fn box_said(w: &Watch, seen: &Seen) -> Option<String> {
    let why = match seen.agent {
        Agent::Exited(code) if code != 0 => crate::run_files::box_reason(&seen.run_dir)?,
        _ => return None,
    };
    let paths = w.t.paths();
    let run_dir = seen.run_dir.to_string_lossy();
    let cache = paths.git_cache.to_string_lossy();
    let runs = paths.runs.to_string_lossy();
    let dir = paths.dir.to_string_lossy();
    let folders = [
        (&*run_dir, "the run's folder"),
        (&*cache, "afk's git cache"),
        (&*runs, "afk's runs folder"),
        (&*dir, "afk's state folder"),
    ];
    Some(escalation::host_folders_said(&why, &folders))
}

/// One escalation comment per run, even when a tick dies after posting it or
/// the POST's answer is lost.
fn escalation_comment(
    w: &Watch,
    store: &Store,
    run: &Run,
    seen: &Seen,
    why: Escalation,
    notes: &mut Vec<String>,
) -> Result<()> {
    if run.escalation_comment_id.is_some() {
        return Ok(());
    }
    let cfg = w.t.config();
    let stall_after = crate::config::format_duration(w.t.settled.stall_after);
    // a repository the forge does not say is private is public: the
    // comment then quotes none of the agent's own text
    let public = w.t.forge()?.is_public(&run.repo).unwrap_or(true);
    let refused = crate::core::agent_box::forwarder::refusals_said(
        &crate::run_files::box_refusals(&seen.run_dir),
    );
    let stop = seen.budget_stopped();
    let box_said = box_said(w, seen);
    let pr_ref = seen
        .pr
        .as_ref()
        .map(|p| w.t.settled.profile.pr_ref(p.number));
    // paused at the limit, nobody continuing it within pause_for
    let paused_for = (seen.heard.talk.pause.since.as_ref())
        .and(cfg.budget.pause_for)
        .filter(|d| !d.is_zero())
        .map(crate::config::format_duration);
    let body = escalation::comment(&escalation::Escalated {
        run_id: run.id,
        why,
        repo: &run.repo,
        turns_used: crate::core::run_state::fix_turns_used(run.turns, seen.heard.talk.review_turns),
        turns: run.turns,
        stall_after: &stall_after,
        pr: seen
            .pr
            .as_ref()
            .zip(pr_ref.as_deref())
            .map(|(p, r)| (r, p.html_url.as_str())),
        failing: &seen.ci.failing,
        blocked: seen
            .blocked
            .as_ref()
            .map(|b| (b.reason.as_str(), b.questions.as_slice())),
        cannot_start: seen.cannot_start.as_deref(),
        exited: match seen.agent {
            Agent::Exited(code) if why == Escalation::AgentFailed => {
                Some((code, seen.log_end.as_deref().unwrap_or("")))
            }
            _ => None,
        },
        review_turns: seen.heard.talk.review_turns,
        stopped_by: seen.heard.talk.stopped_by.as_deref(),
        workspace: seen.forwarded.problem.as_ref().map(|(_, w)| w.as_str()),
        kept: seen.forwarded.kept.as_ref(),
        remedies: &seen.forwarded.remedies,
        afk_opens_prs: w.t.workspace.afks(),
        public,
        box_refused: refused.as_deref(),
        box_said: box_said.as_deref(),
        human_label: &cfg.watch.human_label,
        ready_label: &cfg.poll.ready_label,
        budget: escalation::Budget {
            spend_usd: seen.spend_usd,
            // the run's own limits, a trusted raise's where larger
            run_usd: super::limits::run_usd(w, &seen.heard.talk),
            age: &crate::core::budget::spend::age_text(seen.age),
            run_time: &super::limits::run_time(w, &seen.heard.talk)
                .map(crate::config::format_duration)
                .unwrap_or_default(),
            metered: crate::run_files::metered_here(&seen.run_dir),
            budget_stop: stop.as_ref(),
            // a pause nobody continued within pause_for
            paused_for: paused_for.as_deref(),
        },
    });
    let key = format!("run:{}:escalation", run.id);
    let id = post_once(
        w,
        store,
        run,
        Target::Issue(run.issue),
        (&key, &escalation::marker(run.id)),
        &w.shown(run, seen.pr.as_ref().map(|p| p.number), &body),
        notes,
    )?;
    // 0: refused even shortened; none is posted, and none is tried again
    store.set_escalation_comment(run.id, id.unwrap_or(0))
}
