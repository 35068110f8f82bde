//! The first thought in a Linear agent session (docs/trackers.md#linears-agents-api):
//! Linear shows an agent as unresponsive when no activity follows a
//! session's `created` event within 10 seconds, so `afk hook` posts one
//! right after it answered the delivery, before it waits for any lock or
//! opens the state file. It says afk is checking and promises nothing; the
//! scoped poll that follows decides. Once per session: an `O_CREAT` flag
//! file beside the state (`agent-sessions/<issue id>.<session id>`), taken
//! before the post and given back when the post fails, so a redelivery may
//! try again; a hook killed between the two leaves the thought to afk's
//! next word in the session, which posts it first when the session's
//! activities lack it
//! (`tracker_linear_agents::a_first_thought_a_killed_hook_never_posted_is_posted_by_the_next_tick`). The flags are also how a tick knows an issue's sessions
//! (`edges::caches`'s `Sessions`): the delivery's word, which the tracker
//! checks against Linear's own answer before it counts. A flag older than
//! 30 days is removed by the next acknowledgement, after its post.

use crate::config::Config;
use crate::core::hook::tracker_hint;
use crate::session::Session;

/// What a tracker's verified delivery does before its ticks: Linear's, the
/// session's first thought ([`acknowledge`]); Jira's, the issues it names
/// handed to this process's searches to reconcile (Jira's search index
/// lags its writes: docs/trackers.md#webhooks).
pub fn before_ticks(ctx: &Session, cfg: &Config, dialect: crate::core::hook::Sender, body: &[u8]) {
    match dialect {
        crate::core::hook::Sender::Linear => acknowledge(ctx, cfg, body),
        crate::core::hook::Sender::Jira => {
            crate::edges::forges::reconcile(tracker_hint::jira_issue_ids(body))
        }
        _ => {}
    }
}

/// Post the first thought of the session a verified `created` event
/// opened (`body`), once; anything else, nothing. A failure is said in the
/// log: the delivery's tick goes on either way.
pub fn acknowledge(ctx: &Session, cfg: &Config, body: &[u8]) {
    let Some((id, issue)) = tracker_hint::created_session(body) else {
        return;
    };
    let dir = ctx.state_dir().join(crate::edges::SESSIONS_DIR);
    let flag = dir.join(format!("{}.{id}", issue.as_deref().unwrap_or("-")));
    let taken = std::fs::create_dir_all(&dir).and_then(|()| {
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&flag)
    });
    match taken {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            crate::log::info(&format!(
                "hook: agent session {id} was acknowledged already"
            ));
            return;
        }
        Err(e) => {
            crate::log::warn(&format!(
                "hook: agent session {id}: its flag {} could not be made ({e}); not acknowledged",
                flag.display()
            ));
            return;
        }
    }
    let posted = crate::edges::forges::tracker(cfg, None).and_then(|t| match t {
        Some(t) => t.acknowledge(&id),
        None => Ok(()),
    });
    match posted {
        Ok(()) => crate::log::info(&format!("hook: agent session {id} acknowledged")),
        Err(e) => {
            let _ = std::fs::remove_file(&flag);
            crate::log::warn(&format!(
                "hook: agent session {id} was not acknowledged: {e:#}"
            ));
        }
    }
    // after the thought, never before it: the flags past their days go
    let pruned = crate::edges::prune_sessions(&dir, std::time::SystemTime::now());
    if pruned > 0 {
        crate::log::info(&format!(
            "hook: removed {pruned} agent session flags older than {} days",
            tracker_hint::SESSION_FLAG_DAYS
        ));
    }
}
