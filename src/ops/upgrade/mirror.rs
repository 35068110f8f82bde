//! The mirror (docs/how-it-works.md#afk-upgrade): its `main` made identical to
//! upstream `main` (the only branch afk force-pushes), and afk's open PRs that
//! upstream made obsolete closed with a comment saying why.

use super::flow::Facts;
use super::gather::{Mirror, Recipe, Upstream};
use super::report::ClosedItem;
use super::up::Up;
use crate::core::upgrade::{Bump, CloseReason, obsolete};
use crate::forge::{PullRequest, Target};
use crate::git::Lease;
use anyhow::Result;

fn short(sha: &str) -> &str {
    &sha[..sha.len().min(10)]
}

/// Push upstream `main` to the mirror's `main` when they differ; the lease
/// is the head afk read, so a push that raced another is refused, not lost.
/// Whether the mirror's `main` is upstream's now (or would be, in a dry run).
pub(super) fn reconcile(up: &mut Up, r: &Recipe, upstream: &Upstream, m: &Mirror) -> bool {
    let want = &upstream.checkout.main;
    if m.main.as_deref() == Some(want.as_str()) {
        return true;
    }
    let reason = format!(
        "mirror main {} → upstream main {}",
        m.main.as_deref().map(short).unwrap_or("(none)"),
        short(want)
    );
    let lease = match &m.main {
        Some(s) => Lease::At(s.clone()),
        None => Lease::Absent,
    };
    let res = up.mirror_url(&r.mirror).and_then(|url| {
        up.git
            .push(&upstream.checkout.dir, &url, want, "main", &lease)
    });
    if let Err(e) = res {
        up.report
            .error(&r.name, None, e.context(format!("reconcile {}", r.mirror)));
        return false;
    }
    up.report.act(&r.name, "reconcile", None, Some(reason));
    true
}

/// Close every PR whose target (or a newer tag) is already upstream, or whose
/// image upstream changed; they leave `prs`.
pub(super) fn close_obsolete(
    up: &mut Up,
    r: &Recipe,
    upstream: &Upstream,
    prs: &mut Vec<(PullRequest, Bump)>,
    facts: &Facts,
) {
    let mut keep = vec![];
    for (pr, bump) in prs.drain(..) {
        match obsolete(&bump, &upstream.sites) {
            Some(why) => close(up, r, &pr, &bump, &why, facts),
            None => keep.push((pr, bump)),
        }
    }
    *prs = keep;
}

/// Close one PR with a comment saying why (the comment is not repeated when
/// an earlier tick posted it but failed to close).
pub(super) fn close(
    up: &mut Up,
    r: &Recipe,
    pr: &PullRequest,
    bump: &Bump,
    why: &CloseReason,
    facts: &Facts,
) {
    if let Err(e) = close_now(up, r, pr, bump, why, facts) {
        up.report
            .error(&r.name, Some(pr.number), e.context("closing"));
        return;
    }
    up.open_count = up.open_count.saturating_sub(1);
    up.report
        .act(&r.name, "close_pr", Some(pr.number), Some(why.reason()));
    up.report.closed.push(ClosedItem {
        recipe: r.name.clone(),
        pr: pr.number,
        reason: why.reason(),
    });
}

fn close_now(
    up: &mut Up,
    r: &Recipe,
    pr: &PullRequest,
    bump: &Bump,
    why: &CloseReason,
    facts: &Facts,
) -> Result<()> {
    let commented = match facts.get(&(r.mirror.clone(), pr.number)) {
        Some(Ok(f)) => super::ending::marked(&f.comments, &up.me, "closed").is_some(),
        _ => false,
    };
    if !commented {
        up.forge
            .create_comment(&r.mirror, Target::Pr(pr.number), &why.comment(bump))?;
    }
    up.forge.close_pull(&r.mirror, pr.number)?;
    // the store's guard is let go before it is taken again
    let row = up.t.store().upgrade(&r.mirror, pr.number)?;
    if let Some(row) = row {
        up.t.store().upgrade_closed(row.id, &why.reason())?;
    }
    Ok(())
}

/// Who git pushes to the mirrors as: a GitHub App's `x-access-token` with
/// the installation token, else afk's login with the configured token.
/// Either reaches git only through the askpass file (`crate::git`).
pub(super) fn credentials(
    cfg: &crate::config::Config,
    forge: &dyn crate::forge::Forge,
    me: &str,
) -> anyhow::Result<crate::git::Credentials> {
    if let Some(creds) = crate::workspace::git_header(cfg)? {
        return Ok(creds);
    }
    let (username, password) = match forge.git_credentials() {
        Some(pair) => pair?,
        None => (me.to_string(), cfg.forge_token()?.expose().to_string()),
    };
    Ok(crate::git::Credentials {
        username,
        password,
        header: None,
    })
}
