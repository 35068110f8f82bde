//! A corrective turn, one of act's steps (docs/how-it-works.md#afk-watch-the-lifecycle):
//! recorded before it starts (never two agents for one turn), the
//! conversation's asks it answers marked taken by their typed id, the
//! checkout made again from the forge's branch, the agent resumed with what
//! is wrong, the issue and what the last turn ended with.

use super::lists::Watch;
use super::observe::Seen;
use super::talk::Ask;
use crate::core::prompt;
use crate::core::run_state::{Action, Correction};
use crate::core::turn_reason;
use crate::runner::{Turn, TurnOf};
use crate::store::Store;
use crate::store::runs::Run;
use crate::types::{Handled, TalkSaid};
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
    // the turn is recorded before the start, with why: never two agents for one turn
    let reason = Action::CorrectiveTurn(kind).reason();
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
        taken(store, run, &seen.heard.asked, talk.review_turns, max)?;
    }
    store.set_talk(run.id, &talk)?;
    let text = prompt_for(w, run, seen, turn, kind);
    let budget_usd = crate::budget::left_for_turn(w.t, store, run, seen.spend_usd)?;
    if w.t.config().runner.workspace() == crate::types::Workspace::Afk {
        // the last turn's work is on the forge: the next one starts from the
        // forge's head of the branch (a person's push or a branch update in it)
        w.t.workspace.as_ref().make(w.t.forge.as_ref(), at)?;
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
    Ok(turn)
}

/// A review turn starts: its requests are taken (recorded, never again).
fn taken(store: &Store, run: &Run, asked: &[Ask], turn_k: u32, max: u32) -> Result<()> {
    for a in asked {
        let what = if a.review {
            TalkSaid::ChangesRequested
        } else {
            // bounded when it was heard
            TalkSaid::Fix(a.body.clone())
        };
        let outcome = Handled::Taken { turn: turn_k, max };
        store.note_talk_item(run.id, a.key, &a.author, &what, &outcome)?;
    }
    Ok(())
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
fn prompt_for(w: &Watch, run: &Run, seen: &Seen, turn: u32, kind: Correction) -> String {
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
