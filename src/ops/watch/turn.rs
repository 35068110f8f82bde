//! A corrective turn, one of act's steps (docs/how-it-works.md#afk-watch-the-lifecycle):
//! recorded before it starts (never two agents for one turn), the
//! conversation's asks it answers (`core::run_state::takes`) marked taken by
//! their typed id, afk's checkout (`runner.workspace = "afk"`) made again
//! from the forge's branch, the agent resumed with what is wrong, the issue
//! and what the last turn ended with.

use super::lists::Watch;
use super::observe::Seen;
use super::talk::Ask;
use crate::core::prompt;
use crate::core::run_state::{Action, Correction, fix_turns_used, takes};
use crate::core::turn_reason;
use crate::runner::{Turn, TurnOf};
use crate::store::Store;
use crate::store::runs::Run;
use crate::types::{Handled, TalkKind, TurnBudget};
use crate::workspace::At;
use anyhow::Result;

/// Start a corrective turn of `kind` in the run's checkout `at`; returns its number.
pub(super) fn start(
    w: &Watch,
    store: &Store,
    run: &Run,
    seen: &Seen,
    (kind, at): (Correction, &At),
) -> Result<u32> {
    // a turn's work goes to the forge by the repository's name (a Job on
    // Kubernetes pushes it itself): none starts where that name may be
    // another repository's now
    w.t.forge()?.git_by_name(&run.repo)?;
    // the asks this turn answers (`core::run_state::takes`), as many as its
    // prompt quotes (`core::prompt::asks_that_fit`): the rest stay untaken,
    // for a later turn
    let mut asks: Vec<&Ask> = (seen.heard.asked.iter())
        .filter(|a| takes(kind, a.budget))
        .collect();
    let left = asks.len() - asks_that_fit(&asks);
    asks.truncate(asks.len() - left);
    // the turn is recorded before the start, with why: never two agents for one turn
    let reason = Action::CorrectiveTurn(kind).reason();
    let turn = store.begin_turn(
        run.id,
        reason.as_deref().unwrap_or(""),
        &turn_why(seen, kind, &asks),
    )?;
    if let Some(pr) = &seen.pr {
        store.set_turn_head(run.id, turn, &pr.head.sha)?;
    }
    let mut talk = seen.heard.talk.clone();
    talk.turn_started_at = Some(crate::clock::ts(w.t.now));
    if let Correction::Asked(budget) = kind {
        let cfg = &w.t.config().watch;
        let of = match budget {
            TurnBudget::Review => {
                talk.review_turns += 1;
                (talk.review_turns, cfg.review_turns_max)
            }
            TurnBudget::Fix => {
                // continuation turns count against no corrective budget
                let turns = turn.saturating_sub(talk.pause.continuations);
                (
                    fix_turns_used(turns, talk.review_turns),
                    cfg.fix_forward_max,
                )
            }
        };
        taken(store, run, &asks, (of, budget))?;
    }
    left_for_later(store, run, &seen.heard.asked, &asks)?;
    store.set_talk(run.id, &talk)?;
    let text = prompt_for(w, run, seen, (turn, kind), (&asks, left));
    launch(w, store, (run, seen, at), (turn, &text), &talk)?;
    Ok(turn)
}

/// Start a continuation turn of a paused run continued `by` a person: like a
/// corrective turn, resuming the agent's session in the same checkout,
/// counted against no corrective budget; the pause is cleared (its time kept
/// off the working time) and the paused label removed. Returns its number.
pub(super) fn continuation(
    w: &Watch,
    store: &Store,
    run: &Run,
    seen: &Seen,
    (by, at): (crate::core::run_state::ContinuedBy, &At),
) -> Result<u32> {
    let mut talk = seen.heard.talk.clone();
    // a day's cap reopened at midnight: nobody continued it
    let who = match by {
        crate::core::run_state::ContinuedBy::Day => crate::core::budget::pause::BY_A_NEW_DAY.into(),
        _ => talk
            .pause
            .continued_by
            .clone()
            .unwrap_or_else(|| "a maintainer".into()),
    };
    let paused = talk
        .pause
        .limit
        .as_deref()
        .and_then(crate::core::budget::Limit::parse);
    let why = format!("continued by {who} ({})", by.key());
    // recorded with its `run.continued` event
    let url = crate::core::escalation::link(&run.url);
    let key = crate::core::prompt::tracker_key(&run.branch, run.issue);
    let place = crate::core::prompt::place(run.repo.as_str(), run.issue, key.as_deref());
    let text = crate::core::budget::pause::continued_notification(
        &place,
        &who,
        by.key(),
        url.as_deref().unwrap_or(""),
    );
    let event = crate::store::events::NewEvent {
        kind: crate::core::kinds::EventKind::RunContinued,
        repo: &run.repo,
        issue: run.issue,
        run_id: run.id,
        reason: None,
        url: url.as_deref(),
        text: &text,
    };
    let figures = super::pause::figures(
        w,
        run,
        seen,
        paused.unwrap_or(crate::core::budget::Limit::RunUsd),
        talk.pause.count,
    );
    // the checklist's line for it, kept with the pause's
    let past = crate::store::talk::Past {
        continued: true,
        limit: figures.limit.key().to_string(),
        limit_words: crate::core::budget::pause_history::limit_words(&figures),
        who: Some(who.clone()),
        ..Default::default()
    };
    let turn = store.begin_continuation(run.id, &why, (&event, &past))?;
    if let Some(pr) = &seen.pr {
        store.set_turn_head(run.id, turn, &pr.head.sha)?;
    }
    let now = (
        super::decide::run_usd(w, &talk),
        super::decide::run_time(w, &talk),
    );
    let task = format!("{}#{}", run.repo, run.issue);
    // the paused turn: the run's last before this one
    let paused_turn = run.turns.max(1);
    // the prompt says the pause as it was: its spend and its limit then,
    // not the raised limit (the checklist's pause line keeps the same)
    let mut as_paused = figures.clone();
    let history = store.pause_history(run.id)?;
    if let Some(p) = history.iter().rev().find(|p| !p.continued) {
        as_paused.spend_usd = p.spend_usd.unwrap_or(as_paused.spend_usd);
        if p.limit == crate::core::budget::Limit::RunUsd.key()
            && let Some(limit) = crate::core::budget::pause_history::money(&p.limit_words)
        {
            as_paused.run_usd = limit;
        }
    }
    let leftover = crate::core::workspace_pr::leftover_subject(paused_turn);
    let text =
        crate::core::budget::pause::prompt(&as_paused, &who, now, (task.as_str(), &leftover));
    // the pause ends: its time is kept off the working time
    let secs = talk
        .pause
        .since
        .as_deref()
        .and_then(crate::clock::parse)
        .map_or(0, |since| {
            crate::core::progress::since(since, w.t.now).as_secs()
        });
    talk.pause.secs += secs;
    talk.pause.limit = None;
    talk.pause.since = None;
    talk.pause.continued = None;
    talk.pause.continuations += 1;
    talk.turn_started_at = Some(crate::clock::ts(w.t.now));
    store.set_talk(run.id, &talk)?;
    super::pause::unlabel(w, run)?;
    // the gateway's stop record is the paused turn's: left, it would pause
    // the continuation at the next tick (a day's above all: only the
    // gateway stops a turn at a day's cap)
    let _ = std::fs::remove_file(seen.run_dir.join(crate::core::gateway::budget::STOP_FILE));
    launch(w, store, (run, seen, at), (turn, &text), &talk)?;
    Ok(turn)
}

/// Start turn `turn` with prompt `text` in the run's checkout `at`, under
/// the run's own money limit: afk's checkout made again from the forge's
/// branch, the agent resumed, its handle kept.
fn launch(
    w: &Watch,
    store: &Store,
    (run, seen, at): (&Run, &Seen, &At),
    (turn, text): (u32, &str),
    talk: &crate::store::talk::Talk,
) -> Result<()> {
    let run_usd = super::decide::run_usd(w, talk);
    let (budget_usd, gate) = crate::budget::left_under(w.t, store, run, seen.spend_usd, run_usd)?;
    if w.t.workspace.afks() {
        // the last turn's work is on the forge: the next one starts from the
        // forge's head of the branch (a person's push or a branch update in it)
        w.t.workspace.as_ref().make(w.t.forge()?, at)?;
    }
    if w.t.tense() == crate::edges::Tense::Did {
        crate::run_files::keep_turn_start(&seen.run_dir, turn, gate);
    }
    let started = w.t.runner.resume(
        seen.run.handle.as_ref(),
        &Turn {
            run_id: TurnOf::Run(run.id),
            repo: &run.repo,
            issue: run.issue,
            title: &run.title,
            branch: &run.branch,
            prompt: text,
            run_dir: &seen.run_dir,
            turn,
            env: &crate::workspace::turn_env(w.t.config()),
            budget_usd,
            gate,
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
    // the turn was recorded before its start: the spawn marker is not needed
    crate::run_files::start_recorded(&seen.run_dir);
    Ok(())
}

/// A turn asked for starts: its requests are taken (recorded, never again),
/// as turn `turn` of `max` of their budget.
fn taken(
    store: &Store,
    run: &Run,
    asked: &[&Ask],
    ((turn, max), budget): ((u32, u32), TurnBudget),
) -> Result<()> {
    for a in asked {
        let outcome = Handled::Taken { turn, max, budget };
        store.note_talk_item(run.id, a.key, &a.author, &a.said, &outcome)?;
        if let Some((review, count, last)) = a.lines_read {
            store.note_review_lines_read(run.id, review, count, last)?;
        }
    }
    Ok(())
}

/// The reviews this turn does not answer (past its prompt's bound, or of
/// another budget) are queued: a later turn takes them, whatever head this
/// turn's push leaves them on (docs/reviews.md#reviews).
fn left_for_later(store: &Store, run: &Run, heard: &[Ask], taken: &[&Ask]) -> Result<()> {
    let left = heard
        .iter()
        .filter(|a| a.key.0 == TalkKind::Review && !taken.iter().any(|t| t.key == a.key));
    for a in left {
        store.note_talk_item(run.id, a.key, &a.author, &a.said, &Handled::Queued)?;
    }
    Ok(())
}

/// Why the turn starts, in one line (`core::turn_reason`).
fn turn_why(seen: &Seen, kind: Correction, asks: &[&Ask]) -> String {
    let verbs: Vec<String> = asks.iter().map(|a| a.verb()).collect();
    let asked: Vec<turn_reason::Asker> = (asks.iter().zip(&verbs))
        .map(|(a, verb)| turn_reason::Asker {
            author: &a.author,
            review: a.review(),
            verb,
            lines: !a.comments.is_empty(),
        })
        .collect();
    turn_reason::why(kind, &seen.ci.failing, &asked)
}

/// How many of `asks`, in order, one prompt quotes (`core::prompt::asks_that_fit`).
fn asks_that_fit(asks: &[&Ask]) -> usize {
    let verbs: Vec<String> = asks.iter().map(|a| a.verb()).collect();
    prompt::asks_that_fit(&quoted(asks, &verbs))
}

/// `asks` as the prompt quotes them, each with its verb.
fn quoted<'a>(asks: &[&'a Ask], verbs: &'a [String]) -> Vec<prompt::Asked<'a>> {
    (asks.iter().zip(verbs))
        .map(|(a, verb)| prompt::Asked {
            verb,
            author: &a.author,
            review: a.review(),
            body: &a.body,
            comments: &a.comments,
            cut: a.cut,
        })
        .collect()
}

/// A corrective turn's prompt: what is wrong, with the issue and what the
/// last turn ended with restated (its final message, else its log's end);
/// `left` more asks than `asks` stand, said.
fn prompt_for(
    w: &Watch,
    run: &Run,
    seen: &Seen,
    (turn, kind): (u32, Correction),
    (asks, left): (&[&Ask], usize),
) -> String {
    let verbs: Vec<String> = asks.iter().map(|a| a.verb()).collect();
    let asked = quoted(asks, &verbs);
    // a `gate` turn: the gate's reasons, as forwarding kept them
    let gate: Vec<String> = match &seen.forwarded.problem {
        Some((crate::core::run_state::PushProblem::Gated { .. }, lines)) => {
            lines.lines().map(str::to_string).collect()
        }
        _ => vec![],
    };
    let what = prompt::Corrective {
        gate: &gate,
        asked_left: left,
        ..prompt::Corrective::of(kind, &seen.ci, &asked)
    };
    let run_dir = &seen.run_dir;
    // what the last turn left: the agent's final message, else its output's end
    let last_turn = crate::run_files::final_message(run_dir, w.t.settled.agent)
        .or_else(|| crate::run_files::log_end(run_dir));
    // a tracker's issue is named by its key (docs/trackers.md)
    let reference = match w
        .t
        .forge()
        .and_then(|f| f.tracker_ref(&run.repo, run.issue))
    {
        Ok(Some((key, _))) => key,
        _ => format!("#{}", run.issue),
    };
    prompt::corrective_for(
        &run.repo,
        turn,
        &what,
        &prompt::Restated {
            reference: &reference,
            branch: &run.branch,
            title: &run.title,
            url: &run.url,
            workspace: w.t.settled.workspace,
            last_turn: last_turn.as_deref(),
        },
    )
}
