//! Poll's word in an issue's agent session (Linear's Agents API, opened by
//! a delegation or a mention of afk's app user, whatever arms the issue:
//! docs/trackers.md#linears-agents-api): the run
//! dispatched is an action naming it and its branch; a skip is a thought
//! while it waits and an error when afk refuses, each reason once
//! (`core::tracker::agent_session`). A note that fails is said in the log
//! and tried again on the next tick (its key makes it once): the decision
//! stands either way.

use super::report::{Dispatched, Skipped};
use crate::core::tracker::agent_session;
use crate::tick::Tick;

pub(super) fn tell(t: &Tick, skipped: &[Skipped], dispatched: &[Dispatched]) {
    let cfg = t.config();
    if !cfg.tracker.as_ref().is_some_and(|k| k.linear()) {
        return;
    }
    let Ok(forge) = t.forge() else {
        return;
    };
    // a tracker issue the map places nowhere has no repository of its own:
    // the note goes to the tracker all the same
    let Some(anywhere) = cfg.poll.allowlist.first() else {
        return;
    };
    let mut notes = vec![];
    for k in skipped {
        let note = agent_session::skipped(&k.reason.to_string(), k.detail.as_deref());
        if let Some(n) = note {
            notes.push((k.repo.as_ref().unwrap_or(anywhere), k.issue, n));
        }
    }
    for d in dispatched {
        let Some(run) = d.run_id else { continue };
        let branch = match t.store().run(run) {
            Ok(Some(r)) => r.branch,
            _ => continue,
        };
        notes.push((
            &d.repo,
            d.issue,
            agent_session::dispatched(run.0 as u64, &branch),
        ));
    }
    for (repo, issue, note) in notes {
        if let Err(e) = forge.tell_session(repo, issue, &note) {
            crate::log::warn(&format!(
                "{repo}#{issue}: the agent session was not told \"{}\": {e:#}; the next tick tries again",
                note.body
            ));
        }
    }
}
