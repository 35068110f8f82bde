//! Opening upgrade PRs (SPEC 8 step 3): for each selected bump no open PR
//! covers, within `max_open_prs`: the edit committed on upstream `main` with
//! afk's identity and trailer, checked (it changes only the tags and version
//! labels of the files the edit meant to change), pushed to
//! `afk/upgrade-<path>-<tag>` (never over a branch whose head afk did not
//! make), the PR opened, and only then the PRs it supersedes closed.

use super::flow::Facts;
use super::gather::{Recipe, Upstream};
use super::prefetch::Prefetched;
use super::{Up, mirror};
use crate::core::upgrade::{
    self, Bump, CandidateRow, CloseReason, covered_by, pr_body, registry_url, supersedes,
};
use crate::core::upgrade_commit::commit_is_only_the_edit;
use crate::forge::PullRequest;
use crate::git::{Lease, TRAILER, made_by_afk};
use crate::store::upgrades::NewUpgrade;
use crate::types::IssueNumber;
use anyhow::Result;

/// Open what `bumps` need; returns the numbers of the PRs opened (added to `prs`).
#[allow(clippy::too_many_arguments)]
pub(super) fn open_bumps(
    up: &mut Up,
    r: &Recipe,
    upstream: &Upstream,
    pre: &mut Prefetched,
    prs: &mut Vec<(PullRequest, Bump)>,
    rows: &mut [CandidateRow],
    bumps: Vec<Bump>,
    facts: &Facts,
) -> Vec<IssueNumber> {
    let max = up.ctx.config.upgrade.max_open_prs as usize;
    let mut opened = vec![];
    for bump in bumps {
        if prs.iter().any(|(_, b)| covered_by(&bump, b)) {
            continue;
        }
        let branch = bump.branch();
        let mut unselect = |why: String, up: &mut Up| {
            for row in rows.iter_mut() {
                if row.proposed == bump.to
                    && bump
                        .sites
                        .iter()
                        .any(|s| s.file == row.file && s.service == row.service)
                {
                    row.selected = false;
                }
            }
            up.report.act(&r.name, "wait", None, Some(why));
        };
        let closed = match pre.closed(up.forge, &r.mirror) {
            Ok(c) => c,
            Err(e) => {
                up.report.error(&r.name, None, format!("closed PRs: {e}"));
                continue;
            }
        };
        if let Some(c) = closed.iter().find(|p| {
            p.head.name == branch
                && upgrade::opened_by_afk(p.author(), p.head_repo(), &up.me, &r.mirror)
        }) {
            let how = if c.merged { "merged" } else { "closed" };
            unselect(
                format!(
                    "#{} on {branch} was {how}; afk does not open it again",
                    c.number
                ),
                up,
            );
            continue;
        }
        let replaces = prs.iter().filter(|(_, b)| supersedes(&bump, b)).count();
        if up.open_count.saturating_sub(replaces) >= max {
            unselect(
                format!("max_open_prs ({max}) reached: {} waits", bump.title()),
                up,
            );
            continue;
        }
        let lease = match pre.branch(up.forge, &r.mirror, &branch) {
            Ok(None) => Lease::Absent,
            Ok(Some(b)) => {
                let email = b
                    .commit
                    .committer
                    .as_ref()
                    .map(|c| c.email.as_str())
                    .unwrap_or("");
                if !made_by_afk(email, &b.commit.message) {
                    unselect(
                        format!("{branch} holds a commit afk did not make; not pushing to it"),
                        up,
                    );
                    continue;
                }
                Lease::At(b.commit.id)
            }
            Err(e) => {
                up.report.error(&r.name, None, format!("{branch}: {e}"));
                continue;
            }
        };
        if up.dry() {
            up.open_count += 1;
            up.report.act(&r.name, "open_pr", None, Some(bump.title()));
            for (old, b) in prs.iter().filter(|(_, b)| supersedes(&bump, b)) {
                up.report.act(
                    &r.name,
                    "close_pr",
                    Some(old.number),
                    Some(format!("superseded by the new PR for {}", b.path)),
                );
            }
            continue;
        }
        match open_one(up, r, upstream, &bump, &lease) {
            Ok(pr) => {
                up.open_count += 1;
                up.report
                    .act(&r.name, "open_pr", Some(pr.number), Some(bump.title()));
                opened.push(pr.number);
                let (old, keep): (Vec<_>, Vec<_>) =
                    prs.drain(..).partition(|(_, b)| supersedes(&bump, b));
                *prs = keep;
                for (o, b) in old {
                    let why = CloseReason::Superseded {
                        by: pr.number,
                        to: bump.to.clone(),
                    };
                    mirror::close(up, r, &o, &b, &why, facts);
                }
                prs.push((pr, bump));
            }
            Err(e) => up
                .report
                .error(&r.name, None, format!("{}: {e:#}", bump.title())),
        }
    }
    opened
}

/// Commit, push, open, record.
fn open_one(
    up: &mut Up,
    r: &Recipe,
    upstream: &Upstream,
    bump: &Bump,
    lease: &Lease,
) -> Result<PullRequest> {
    let edits = upgrade::edit(bump, |f| upstream.text(f)).map_err(|e| anyhow::anyhow!(e))?;
    let changes: String = bump
        .sites
        .iter()
        .map(|s| format!("- {} {}: {} → {}\n", s.file, s.service, s.from, bump.to))
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
    let url = up.mirror_url(&r.mirror)?;
    let branch = bump.branch();
    up.git.push(dir, &url, &sha, &branch, lease)?;
    let link = registry_url(bump.host.as_deref(), &bump.image);
    let pr = up.forge.create_pull(
        &r.mirror,
        &branch,
        "main",
        &bump.title(),
        &pr_body(bump, Some(&link)),
    )?;
    up.store.ensure_upgrade(&NewUpgrade {
        mirror: &r.mirror,
        pr: pr.number,
        recipe: &r.name,
        branch: &branch,
        url: &pr.html_url,
        image: &bump.image,
        from_tag: bump.from(),
        to_tag: &bump.to,
    })?;
    Ok(pr)
}
