//! Opening upgrade PRs (docs/how-it-works.md#afk-upgrade): for each selected
//! bump no open PR covers, within `max_open_prs`: the edit committed on
//! upstream `main` with afk's identity and trailer, checked (it changes only
//! the tags and version labels of the files the edit meant to change), pushed
//! to `afk/upgrade-<path>-<tag>` (never over a branch whose head afk did not
//! make), the PR opened, and only then the PRs it supersedes closed.

use super::flow::Facts;
use super::gather::{Recipe, Upstream};
use super::mirror;
use super::prefetch::Prefetched;
use super::up::Up;
use crate::core::upgrade::commit::commit_is_only_the_edit;
use crate::core::upgrade::open::{Prior, why_not_push, why_wait};
use crate::core::upgrade::{
    self, Bump, CandidateRow, CloseReason, covered_by, pr_body, registry_url, supersedes,
};
use crate::forge::PullRequest;
use crate::git::{Lease, TRAILER, made_by_afk};
use crate::store::upgrades::NewUpgrade;
use crate::types::PrNumber;
use anyhow::Result;

/// The recipe whose bumps are opened, and what its steps read of it.
pub(super) struct Opening<'a> {
    pub r: &'a Recipe,
    pub upstream: &'a Upstream,
    /// its open PRs' comments and statuses (a superseded PR's flow ends)
    pub facts: &'a Facts,
}

/// Open what `bumps` need; returns the numbers of the PRs opened (added to `prs`).
pub(super) fn open_bumps(
    up: &mut Up,
    at: &Opening,
    pre: &mut Prefetched,
    prs: &mut Vec<(PullRequest, Bump)>,
    rows: &mut [CandidateRow],
    bumps: Vec<Bump>,
) -> Vec<PrNumber> {
    let (r, upstream, facts) = (at.r, at.upstream, at.facts);
    let mut opened = vec![];
    for bump in bumps {
        if prs.iter().any(|(_, b)| covered_by(&bump, b)) {
            continue;
        }
        let taken: Vec<String> = prs.iter().map(|(p, _)| p.head.name.clone()).collect();
        let bump = crate::core::upgrade::group::distinct(bump, &taken);
        let lease = match gate(up, r, pre, prs, &bump) {
            Gate::Open(lease) => lease,
            Gate::Wait(why) => {
                unselect(rows, &bump);
                up.report.act(&r.name, "wait", None, Some(why));
                continue;
            }
            Gate::Failed => continue,
        };
        // the one dry-run branch of a bump (ARCHITECTURE): a PR the recording
        // forge "opens" has no number for its row and flow, and its commit
        // would write objects into afk's clone, which a dry run never did;
        // run through, the dry report would change (the new PR's flow takes
        // its first step, a `testme`, and the push and PR join "would write")
        if up.dry() {
            would_open(up, r, prs, &bump);
            continue;
        }
        if let Some(n) = open_and_supersede(up, r, upstream, prs, bump, &lease, facts) {
            opened.push(n);
        }
    }
    opened
}

/// What becomes of one bump: a PR pushed under `Lease`, a wait with its
/// reason, or an error already in the report.
enum Gate {
    Open(Lease),
    Wait(String),
    Failed,
}

/// Observe what the rules need (the mirror's closed PRs, then the branch)
/// and decide with [`why_wait`] and [`why_not_push`].
fn gate(
    up: &mut Up,
    r: &Recipe,
    pre: &mut Prefetched,
    prs: &[(PullRequest, Bump)],
    bump: &Bump,
) -> Gate {
    let branch = bump.branch();
    let closed = match pre.closed(up.forge, &r.mirror) {
        Ok(c) => c,
        Err(e) => {
            up.report.error(&r.name, None, e.within("closed PRs"));
            return Gate::Failed;
        }
    };
    let prior = closed
        .iter()
        .find(|p| {
            p.head.name == branch
                && upgrade::opened_by_afk(p.author(), p.head_repo(), &up.me, &r.mirror)
        })
        .map(|c| Prior {
            number: c.number,
            merged: c.merged,
            sigil: up.t.settled.profile.pr_sigil,
        });
    let replaces = prs.iter().filter(|(_, b)| supersedes(bump, b)).count();
    let max = up.t.config().upgrade.max_open_prs as usize;
    if let Some(why) = why_wait(prior, &branch, up.open_count, replaces, max, &bump.title()) {
        return Gate::Wait(why);
    }
    let head = match pre.branch_if_known(up.forge, r, &branch) {
        Ok(h) => h,
        Err(e) => {
            up.report.error(&r.name, None, e.within(&branch));
            return Gate::Failed;
        }
    };
    let by_afk = head.as_ref().map(|b| {
        let c = &b.commit;
        let email = c.committer.as_ref().map(|c| c.email.as_str());
        made_by_afk(email.unwrap_or(""), &c.message)
    });
    if let Some(why) = why_not_push(&branch, by_afk) {
        return Gate::Wait(why);
    }
    Gate::Open(head.map_or(Lease::Absent, |b| Lease::At(b.commit.id)))
}

/// A waiting bump's candidate rows are no longer selected.
fn unselect(rows: &mut [CandidateRow], bump: &Bump) {
    for row in rows.iter_mut() {
        if bump
            .all_sites()
            .iter()
            .any(|(s, to)| *to == row.proposed && s.file == row.file && s.service == row.service)
        {
            row.selected = false;
        }
    }
}

/// A dry run: report the PR afk would open and those it would close.
fn would_open(up: &mut Up, r: &Recipe, prs: &[(PullRequest, Bump)], bump: &Bump) {
    up.open_count += 1;
    up.report.act(&r.name, "open_pr", None, Some(bump.title()));
    for (old, b) in prs.iter().filter(|(_, b)| supersedes(bump, b)) {
        up.report.act(
            &r.name,
            "close_pr",
            Some(old.number),
            Some(match &b.group {
                Some(_) => format!("superseded by the new PR for {}", b.recipe),
                None => format!("superseded by the new PR for {}", b.path),
            }),
        );
    }
}

/// Open the PR, then close the PRs it supersedes; returns the new PR's number.
fn open_and_supersede(
    up: &mut Up,
    r: &Recipe,
    upstream: &Upstream,
    prs: &mut Vec<(PullRequest, Bump)>,
    bump: Bump,
    lease: &Lease,
    facts: &Facts,
) -> Option<PrNumber> {
    let pr = match open_one(up, r, upstream, &bump, lease) {
        Ok(pr) => pr,
        Err(e) => {
            up.report.error(&r.name, None, e.context(bump.title()));
            return None;
        }
    };
    up.open_count += 1;
    up.report
        .act(&r.name, "open_pr", Some(pr.number), Some(bump.title()));
    let number = pr.number;
    let (old, keep): (Vec<_>, Vec<_>) = prs.drain(..).partition(|(_, b)| supersedes(&bump, b));
    *prs = keep;
    for (o, b) in old {
        let why = CloseReason::Superseded {
            by: pr.number,
            to: bump.to.clone(),
        };
        mirror::close(up, r, &o, &b, &why, facts);
    }
    prs.push((pr, bump));
    Some(number)
}

/// Commit, push, open, record.
fn open_one(
    up: &mut Up,
    r: &Recipe,
    upstream: &Upstream,
    bump: &Bump,
    lease: &Lease,
) -> Result<PullRequest> {
    let sha = commit_edit(up, upstream, bump)?;
    let url = up.mirror_url(&r.mirror)?;
    let branch = bump.branch();
    let dir = &upstream.checkout.dir;
    if let Err(e) = up.git.push(dir, &url, &sha, &branch, lease) {
        // leased as absent and refused: the branch exists after all (a push
        // whose PR was never opened, or someone's): asked now, and pushed over
        // only when its head is afk's
        let Lease::Absent = lease else { return Err(e) };
        let head = up.forge.branch(&r.mirror, &branch)?.ok_or(e)?;
        let c = &head.commit;
        let email = c.committer.as_ref().map(|c| c.email.as_str());
        if let Some(why) = why_not_push(&branch, Some(made_by_afk(email.unwrap_or(""), &c.message)))
        {
            anyhow::bail!(why);
        }
        up.git
            .push(dir, &url, &sha, &branch, &Lease::At(head.commit.id.clone()))?;
    }
    let link = registry_url(bump.host.as_deref(), &bump.image);
    let pr = up.forge.create_pull(
        &r.mirror,
        &branch,
        "main",
        &bump.title(),
        &pr_body(bump, Some(&link)),
    )?;
    let stored = bump.stored();
    let row = up.t.store().ensure_upgrade(&NewUpgrade {
        mirror: &r.mirror,
        pr: pr.number,
        recipe: &r.name,
        branch: &branch,
        url: &pr.html_url,
        image: &stored.0,
        from_tag: &stored.1,
        to_tag: &stored.2,
    })?;
    up.t.store()
        .upgrade_pushed(row.id, &sha, &upstream.checkout.main)?;
    Ok(pr)
}

/// afk's commit of `bump` on upstream `main`: the edit, afk's identity and
/// trailer, checked to change only what the edit meant before anyone pushes
/// it (a new PR's, or an own branch re-made on a new `main`: `current.rs`).
pub(super) fn commit_edit(up: &Up, upstream: &Upstream, bump: &Bump) -> Result<String> {
    let edits = crate::core::upgrade::group::files(bump, &upstream.sites, |f| upstream.text(f))
        .map_err(|e| anyhow::anyhow!(e))?;
    let changes: String = bump
        .all_sites()
        .iter()
        .map(|(s, to)| format!("- {} {}: {} → {to}\n", s.file, s.service, s.from))
        .collect();
    let message = format!(
        "{}\n\n{changes}\n{TRAILER}: {} {} {}\n",
        bump.title(),
        bump.recipe,
        bump.image,
        bump.to
    );
    let files: Vec<(String, Vec<u8>)> = edits
        .iter()
        .map(|(f, t)| (f.clone(), t.clone().into_bytes()))
        .collect();
    let dir = &upstream.checkout.dir;
    let main = &upstream.checkout.main;
    let sha = up.git.commit(dir, main, &files, &message)?;
    // what git made is checked, not what it was fed
    let meant: Vec<(String, String, String)> = edits
        .into_iter()
        .map(|(f, t)| (f.clone(), upstream.text(&f).unwrap_or_default(), t))
        .collect();
    commit_is_only_the_edit(&meant, &up.git.changes(dir, main, &sha)?)
        .map_err(|e| anyhow::anyhow!("not pushing afk's commit {sha:.10}: {e}"))?;
    Ok(sha)
}
