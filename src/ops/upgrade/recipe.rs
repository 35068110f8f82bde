//! One recipe's step of an upgrade tick: skip it when a read failed, reconcile
//! its mirror, close what upstream made obsolete, keep afk's own branches
//! current with the new `main` (`current.rs`), open the selected bumps and
//! record the scan.

use super::fault::Fault;
use super::prefetch::Prefetched;
use super::report;
use super::up::{Plan, Up};
use super::{current, flow, gather, mirror, open};
use crate::core::upgrade::Bump;
use crate::forge::PullRequest;

/// One recipe, in order: skip it when a read failed; reconcile the mirror;
/// close what upstream made obsolete; when it is scanned, open the selected
/// bumps and record the scan. Returns its open PRs, whose flows the tick
/// moves on next (`true`: opened in this tick).
pub(super) fn recipe(
    up: &mut Up,
    r: &gather::Recipe,
    mut prs: Vec<(PullRequest, Bump)>,
    (mut rows, bumps): Plan,
    pre: &mut Prefetched,
    facts: &flow::Facts,
) -> Vec<(PullRequest, Bump, bool)> {
    let skip = |up: &mut Up, reason: Fault| {
        up.report.skip(&r.name, reason);
        vec![]
    };
    let upstream = match &r.upstream {
        Ok(u) => u,
        Err(e) => return skip(up, e.clone().within(format!("upstream {}", r.upstream_url))),
    };
    let m = match &r.forge {
        Ok(m) => m,
        Err(e) => return skip(up, e.clone().within(format!("mirror {}", r.mirror))),
    };
    if let Err(e) = &r.tags {
        return skip(up, e.clone());
    }
    up.report
        .waiting
        .extend(r.ages.iter().map(|a| report::WaitItem {
            recipe: r.name.clone(),
            image: a.image.clone(),
            tag: a.note.tag.clone(),
            until: a.note.until.clone(),
            reason: a.note.why.clone(),
        }));
    let reconciled = mirror::reconcile(up, r, upstream, m);
    mirror::close_obsolete(up, r, upstream, &mut prs, facts);
    // afk's branches follow the mirror's new main (not a main it failed to reach)
    if reconciled {
        current::keep_current(up, r, upstream, &mut prs, facts);
    }
    let opened = if r.scan.asks() {
        let errors_before = up.report.errors.len();
        let at = open::Opening { r, upstream, facts };
        let o = open::open_bumps(up, &at, pre, &mut prs, &mut rows, bumps);
        up.report.candidates.extend(rows);
        // a bump that failed to open (a push refused, a forge error) is tried
        // again on the next tick, not a whole scan_every later
        let opened_all = up.report.errors[errors_before..]
            .iter()
            .all(|e| e.recipe != r.name);
        if r.scan.records()
            && opened_all
            && let Err(e) = up.t.store().record_scan(&r.name)
        {
            up.report.error(&r.name, None, e);
        }
        o
    } else {
        vec![]
    };
    let open: Vec<_> = prs.iter().map(|(p, _)| p.number).collect();
    if let Err(e) = up.t.store().upgrade_steps_end_except(&r.mirror, &open) {
        up.report.error(&r.name, None, e);
    }
    prs.into_iter()
        .map(|(p, b)| {
            let new = opened.contains(&p.number);
            (p, b, new)
        })
        .collect()
}
