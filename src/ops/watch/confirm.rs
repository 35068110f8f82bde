//! The commands afk cannot prove its author's words (`core::command_proof`,
//! docs/reviews.md#commands): where the forge hides an edit in a comment's
//! first second and the agent's account holds a forge token, a command that
//! does more than halt the run is asked of its author on the thread, once,
//! and carried out on their own 👍 there. Each tick reads the reactions on
//! at most [`WAITING_MAX`] of afk's questions, and only on questions and
//! commands both still as afk read them.

use super::lists::Watch;
use crate::core::command_proof::{self, Confirmation, Proof};
use crate::core::conversation;
use crate::forge::{Comment, Target};
use crate::store::Store;
use crate::store::comments_read::Reads;
use crate::store::runs::Run;
use crate::store::talk::Item;
use crate::types::{Handled, TalkKind, TalkSaid};
use anyhow::Result;

/// How many waiting commands a tick asks the forge about (one reactions
/// read each); the others wait for a later tick.
pub(super) const WAITING_MAX: usize = 5;

/// The proof of each of `ids`, comments of `run`'s repository: the
/// deliveries are looked up only where the forge and the workspace leave
/// them deciding.
pub(super) fn proofs(
    w: &Watch,
    store: &Store,
    run: &Run,
    ids: &[i64],
) -> Result<impl Fn(i64) -> Proof + use<>> {
    let cfg = w.t.config();
    let tells = cfg.profile().tells_comment_edits;
    // the agent holds a forge token where it does its own git
    let holds = !w.t.workspace.afks();
    let delivered = if tells || !holds {
        Default::default()
    } else {
        store.comments_delivered(run.repo.as_str(), ids)?
    };
    Ok(move |id| command_proof::proof(tells, holds, delivered.contains(&id)))
}

/// The verb as afk's question names it (no markdown of its own).
fn verb(what: &TalkSaid) -> String {
    match what {
        TalkSaid::Fix(_) => "fix".into(),
        other => other.words(),
    }
}

/// Ask the author of comment `comment` on its thread; returns the
/// question's id. A question of afk's already on the thread (`thread`, as
/// this tick listed it) is that one: an ask whose answer was lost, or whose
/// tick died before it was recorded, is not posted twice.
pub(super) fn ask(
    w: &Watch,
    run: &Run,
    (on, thread): (Target, &[Comment]),
    comment: i64,
    what: &TalkSaid,
) -> Result<i64> {
    let body = command_proof::question(comment, &verb(what));
    let me = w.me()?;
    let asked = thread
        .iter()
        .find(|q| q.author().eq_ignore_ascii_case(&me) && q.body.trim() == body.trim());
    if let Some(q) = asked {
        return Ok(q.id);
    }
    Ok(w.t.forge()?.create_comment(&run.repo, on, &body)?.id)
}

/// A waiting command this tick settles.
pub(super) enum Waited<'i, 'c> {
    /// its author's 👍 is given: carry it out, from its comment on `on`
    Given(&'i Item, Target, &'c Comment),
    /// never to be carried out, and why (its comment may be gone)
    Void(&'i Item, &'static str),
}

/// The waiting commands this tick settles; the others wait on.
pub(super) fn waiting<'i, 'c>(
    w: &Watch,
    run: &Run,
    items: &'i [Item],
    listed: &'c [(Target, Vec<Comment>)],
    reads: &Reads,
) -> Result<Vec<Waited<'i, 'c>>> {
    let find = |id: i64| {
        listed
            .iter()
            .find_map(|(on, cs)| cs.iter().find(|c| c.id == id).map(|c| (*on, c)))
    };
    let me = w.me()?;
    let mut out = vec![];
    let asked = items.iter().filter_map(|i| match i.outcome {
        Handled::Awaiting(q) if i.kind == TalkKind::Comment => Some((i, q)),
        _ => None,
    });
    for (item, question) in asked.take(WAITING_MAX) {
        let command = find(item.item);
        let void = match command {
            None => Some("its comment is gone"),
            Some((_, c)) if c.edited() => Some("edited after it was written"),
            Some((_, c)) => {
                let hash = crate::store::comments_read::body_hash(&c.body);
                let first = conversation::first_read(
                    c.id,
                    &hash,
                    reads.kept.get(&c.id),
                    reads.folded_up_to,
                );
                conversation::not_a_command(first)
            }
        };
        let q = find(question);
        let intact = q.map(|(_, q)| {
            q.author().eq_ignore_ascii_case(&me)
                && !q.edited()
                && q.body.trim() == command_proof::question(item.item, &verb(&item.what)).trim()
        });
        let reactions = match (void, q, intact) {
            (None, Some((on, _)), Some(true)) => w.t.forge()?.reactions(&run.repo, on, question)?,
            _ => vec![],
        };
        match (
            command_proof::confirmation(&item.author, intact, void, &reactions),
            command,
        ) {
            (Confirmation::Given, Some((on, c))) => out.push(Waited::Given(item, on, c)),
            (Confirmation::Void(why), _) => out.push(Waited::Void(item, why)),
            _ => {}
        }
    }
    Ok(out)
}
