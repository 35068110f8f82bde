//! What watch asks of the forge for a run's PR on its own (docs/reviews.md): a
//! branch update when the PR conflicts or is behind, a retest comment on a
//! red CI; each said on the progress checklist.

use super::comments::{checklist_for, update_checklist};
use super::lists::Watch;
use super::observe::Seen;
use crate::store::Store;
use crate::store::runs::Run;
use anyhow::Result;

/// Ask the forge, once for this base, to bring the PR's branch up to date;
/// what it answers is looked at next tick (a refusal or a conflict: a turn).
pub(super) fn update_branch(
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
    talk.update_base = Some(pr.base.sha.clone());
    store.set_talk(run.id, &talk)?;
    let outcome =
        w.t.forge
            .update_branch(&run.repo, pr.number, style, &pr.head.sha)?;
    crate::log::decision(&format!(
        "{}#{} run {}: branch update of PR #{} onto {}: {outcome:?}",
        run.repo, run.issue, run.id, pr.number, pr.base.sha
    ));
    update_checklist(w, store, run, &checklist_for(w, seen, run, run.turns, None))
}

/// Post `watch.retest_comment` on the PR, once for this head.
pub(super) fn retest(w: &Watch, store: &Store, run: &Run, seen: &Seen) -> Result<()> {
    let Some(pr) = seen.pr.as_ref() else {
        return Ok(());
    };
    let mut talk = seen.heard.talk.clone();
    talk.retest_sha = seen.ci_sha.clone();
    // recorded before the comment: a comment whose answer is lost is never
    // posted twice; its time, by the forge's clock, follows once known
    talk.retest_at = Some(crate::clock::ts(w.t.now));
    store.set_talk(run.id, &talk)?;
    let posted = w.t.forge.as_ref().create_comment(
        &run.repo,
        pr.number,
        &w.t.config().watch.retest_comment,
    )?;
    if let Some(at) = posted
        .created_at
        .filter(|t| crate::clock::parse(t).is_some())
    {
        talk.retest_at = Some(at);
        store.set_talk(run.id, &talk)?;
    }
    update_checklist(w, store, run, &checklist_for(w, seen, run, run.turns, None))
}
