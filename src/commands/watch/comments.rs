//! afk's own comments on a run's issue and PR: found again by their marker
//! among the comments afk's account wrote, posted once (a post whose answer
//! was lost is looked for before it is sent again), and, when the forge
//! refuses a text (422), shortened and tried once more, never forever.

use super::lists::Watch;
use super::observe::Seen;
use crate::core::bounds;
use crate::core::checklist::{self, Checklist, End, Link};
use crate::core::run_state::Checks;
use crate::forge::{Comment, Failure, ForgeError, LastTry};
use crate::store::Store;
use crate::store::runs::Run;
use crate::types::IssueNumber;
use anyhow::Result;

/// afk's own comment on issue (or PR) `number` that starts with `marker`, if any.
pub(super) fn own_comment(
    w: &Watch,
    run: &Run,
    number: IssueNumber,
    marker: &str,
) -> Result<Option<Comment>> {
    let me = w.me()?;
    Ok(w.t
        .forge
        .as_ref()
        .comments(&run.repo, number)?
        .into_iter()
        .find(|c| c.author().eq_ignore_ascii_case(&me) && c.body.starts_with(marker)))
}

/// Post a comment that must exist once. A POST whose answer was lost may
/// still land: the attempt is written down first, and until the forge shows
/// the comment or the attempt is old enough to have failed for sure, the next
/// ticks look again instead of posting a second one. A comment the forge
/// refuses (422: too long, invalid) is shortened and posted once more
/// (`core::bounds::shortened`); refused again, it is given up: `Ok(None)`,
/// said in the run's report, never tried on every tick.
pub(super) fn post_once(
    w: &Watch,
    store: &Store,
    run: &Run,
    number: IssueNumber,
    (key, marker): (&str, &str),
    body: &str,
) -> Result<Option<i64>> {
    if let Some(c) = own_comment(w, run, number, marker)? {
        store.clear_post(key)?;
        return Ok(Some(c.id));
    }
    if !crate::core::progress::may_post_again(
        store.post_attempt(key)?,
        w.t.now,
        w.t.config().forge_timeout(),
    ) {
        anyhow::bail!(
            "an earlier comment POST got no answer; waiting to see whether it landed before posting again"
        );
    }
    let short = bounds::shortened(body);
    for text in std::iter::once(body).chain(short.as_deref()) {
        store.note_post(key)?;
        match w.t.forge.create_comment(&run.repo, number, text) {
            Ok(c) => {
                store.clear_post(key)?;
                return Ok(Some(c.id));
            }
            Err(e) => {
                settle_post(store, key, &e)?;
                if ForgeError::kind_of(&e) != Some(Failure::Unprocessable) {
                    return Err(e);
                }
            }
        }
    }
    w.note(run, refused(key, body.len(), short.is_some()));
    Ok(None)
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
fn edit_shortened(w: &Watch, run: &Run, id: i64, text: &str) -> Result<Option<i64>> {
    let short = bounds::shortened(text);
    for t in std::iter::once(text).chain(short.as_deref()) {
        match w.t.forge.edit_comment(&run.repo, id, t) {
            Ok(c) => return Ok(Some(c.id)),
            Err(e) if ForgeError::kind_of(&e) == Some(Failure::Unprocessable) => {}
            Err(e) => return Err(e),
        }
    }
    w.note(run, refused("checklist", text.len(), short.is_some()));
    Ok(None)
}

/// Keep the one checklist comment: found by its marker among afk's own
/// comments, edited only when its text changes. A text the forge refuses even
/// shortened is kept as the run's (under comment 0, none), so the same text is
/// not tried again.
pub(super) fn update_checklist(w: &Watch, store: &Store, run: &Run, text: &str) -> Result<()> {
    if !w.t.config().watch.checklist {
        return Ok(());
    }
    if run.checklist_text.as_deref() == Some(text) && run.checklist_comment_id.is_some() {
        return Ok(());
    }
    let key = format!("run:{}:checklist", run.id);
    let id = match run.checklist_comment_id.filter(|id| *id != 0) {
        Some(id) => match edit_shortened(w, run, id, text) {
            Ok(c) => c,
            // a person deleted it: post it again rather than fail every tick
            Err(e) if ForgeError::kind_of(&e) == Some(Failure::NotFound) => {
                post_once(w, store, run, run.issue, (&key, checklist::MARKER), text)?
            }
            Err(e) => return Err(e),
        },
        None => match own_comment(w, run, run.issue, checklist::MARKER)? {
            Some(c) if c.body == text => Some(c.id),
            Some(c) => edit_shortened(w, run, c.id, text)?,
            None => post_once(w, store, run, run.issue, (&key, checklist::MARKER), text)?,
        },
    };
    store.set_checklist(run.id, id.unwrap_or(0), text)
}

/// The progress checklist of `run` as watch just saw it (`core::checklist`).
pub(super) fn checklist_for(
    w: &Watch,
    seen: &Seen,
    run: &Run,
    turns: u32,
    end: Option<End>,
) -> String {
    let cfg = w.t.config();
    let pr = seen.pr.as_ref();
    checklist::render(&Checklist {
        run_id: run.id,
        turn: turns.max(1),
        max_turns: (cfg.watch.fix_forward_max, cfg.watch.review_turns_max),
        pr: pr.map(|p| Link {
            text: format!("#{}", p.number),
            url: p.html_url.clone(),
        }),
        ci_green: seen.ci.checks == Checks::Success && seen.ci_sha.is_some(),
        ci_build: seen.ci.build_url.clone(),
        merged: pr.is_some_and(|p| p.merged),
        deployed: (!cfg.watch.deploy_context.is_empty()).then_some(seen.deploy == Checks::Success),
        phase: seen.phase.as_ref().map(|p| (p.name.clone(), p.at.clone())),
        end,
        spend_usd: seen.spend_usd,
        run_usd: cfg.budget.run_usd,
        talk: super::talk::said(&seen.heard),
        held: seen
            .heard
            .talk
            .held_by
            .clone()
            .zip(seen.heard.talk.held_since.clone()),
    })
}
