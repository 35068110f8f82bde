//! Own branches kept current (docs/how-it-works.md#afk-upgrade): after the
//! mirror's `main` was reconciled, each open upgrade PR of afk's whose branch
//! no longer applies to it is re-made on the new `main` (the same edit, a new
//! commit of afk's) and force-pushed with a lease on the head afk read, so a
//! push that raced it is refused, never overwritten; one someone else pushed to
//! is left alone and said. The rule is `core::upgrade::current`; a branch afk
//! pushed on the `main` of now costs no git work at all.

use super::flow::{self, Facts};
use super::gather::{Recipe, Upstream};
use super::open;
use super::up::Up;
use crate::core::upgrade::Bump;
use crate::core::upgrade::current::{Branch, Looked, Seen, decide, needs_look};
use crate::forge::PullRequest;
use crate::git::{Lease, LookAt, made_by_afk};
use crate::store::upgrades::{NewUpgrade, Upgrade};
use anyhow::Result;

fn short(sha: &str) -> &str {
    &sha[..sha.len().min(10)]
}

/// Keep each of `prs` current with upstream `main` (which the mirror's `main`
/// was just made); a re-made PR's head is its new commit from here on, and
/// its flow goes on with a test run of it (`flow.rs`).
pub(super) fn keep_current(
    up: &mut Up,
    r: &Recipe,
    upstream: &Upstream,
    prs: &mut [(PullRequest, Bump)],
    facts: &Facts,
) {
    for (pr, bump) in prs.iter_mut() {
        if let Err(e) = one(up, r, upstream, pr, bump, facts) {
            let why = e.context(format!("keeping {} current", pr.head.name));
            up.report.error(&r.name, Some(pr.number), why);
        }
    }
}

fn one(
    up: &mut Up,
    r: &Recipe,
    upstream: &Upstream,
    pr: &mut PullRequest,
    bump: &Bump,
    facts: &Facts,
) -> Result<()> {
    let main = upstream.checkout.main.as_str();
    let row = up.t.store().upgrade(&r.mirror, pr.number)?;
    let seen = Seen {
        head: &pr.head.sha,
        main,
        pushed: row.as_ref().and_then(|w| w.pushed_sha.as_deref()),
        pushed_on: row.as_ref().and_then(|w| w.pushed_on.as_deref()),
    };
    if !needs_look(&seen) {
        return Ok(());
    }
    let comments = match facts.get(&(r.mirror.clone(), pr.number)) {
        Some(Ok(f)) => f.comments.as_slice(),
        _ => &[],
    };
    if flow::final_outcome(&up.me, row.as_ref(), comments).is_some() {
        return Ok(());
    }
    let url = up.mirror_url(&r.mirror)?;
    let dir = &upstream.checkout.dir;
    let head = pr.head.sha.clone();
    let look = up.git.look(&LookAt {
        dir,
        url: &url,
        branch: &pr.head.name,
        head: &head,
        main,
        commits: seen.pushed.is_none(),
    })?;
    let own = match seen.pushed {
        Some(p) => p == head,
        None => !look.commits.is_empty() && look.commits.iter().all(|(e, m)| made_by_afk(e, m)),
    };
    let looked = Looked {
        flow_over: false,
        fixer_on_head: row.as_ref().is_some_and(|w| fixer_on(w, &head)),
        on_main: look.on_main,
        applies: look.applies,
        own,
    };
    match decide(&pr.head.name, &looked) {
        Branch::Keep => Ok(()),
        Branch::Later(why) | Branch::Foreign(why) => {
            up.report.act(&r.name, "wait", Some(pr.number), Some(why));
            Ok(())
        }
        Branch::Remake => remake(up, r, upstream, pr, bump, row.as_ref()),
    }
}

/// A fixer was started on `head` and has not pushed over it.
fn fixer_on(row: &Upgrade, head: &str) -> bool {
    row.fixer_run.is_some() && row.fixer_base.as_deref() == Some(head)
}

/// The same edit on the new `main`, force-pushed over the head afk read (the
/// lease), recorded. A dry run runs it too: its git makes the commit's
/// objects in afk's own clone (no ref moved) and records the push, so the
/// report says what would be pushed and that the re-made head is tested next.
fn remake(
    up: &mut Up,
    r: &Recipe,
    upstream: &Upstream,
    pr: &mut PullRequest,
    bump: &Bump,
    row: Option<&Upgrade>,
) -> Result<()> {
    let main = &upstream.checkout.main;
    let why = format!(
        "{} no longer applied to main: re-made on main {}",
        pr.head.name,
        short(main)
    );
    let sha = open::commit_edit(up, upstream, bump)?;
    let url = up.mirror_url(&r.mirror)?;
    let lease = Lease::At(pr.head.sha.clone());
    up.git
        .push(&upstream.checkout.dir, &url, &sha, &pr.head.name, &lease)?;
    let id = match row {
        Some(w) => w.id,
        // a state file lost since the PR was opened: its row, as its flow makes it
        None => {
            let stored = bump.stored();
            up.t.store()
                .ensure_upgrade(&NewUpgrade {
                    mirror: &r.mirror,
                    pr: pr.number,
                    recipe: &r.name,
                    branch: &pr.head.name,
                    url: &pr.html_url,
                    image: &stored.0,
                    from_tag: &stored.1,
                    to_tag: &stored.2,
                })?
                .id
        }
    };
    up.t.store().upgrade_pushed(id, &sha, main)?;
    pr.head.sha = sha;
    up.remade.push((r.mirror.clone(), pr.number));
    up.report
        .act(&r.name, "reconcile", Some(pr.number), Some(why));
    Ok(())
}
