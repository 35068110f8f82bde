//! The revert watch of a harvest tick (SPEC 7.3): successes merged inside
//! `revert_window` are looked up in their base branch's commit list, one
//! listing per repo and branch, in parallel; a merge that a later commit
//! reverts turns the success into a failure, once.

use super::report::RevertItem;
use crate::commands::Ctx;
use crate::commands::tick::ErrorItem;
use crate::core::outcome::{self, Merged};
use crate::forge::{Forge, fan_out};
use crate::store::Store;
use std::collections::HashSet;
use time::OffsetDateTime;

/// What the watch found: flips (recorded unless a dry run) and errors.
#[derive(Default)]
pub struct Found {
    pub reverted: Vec<RevertItem>,
    pub errors: Vec<ErrorItem>,
    /// forge requests made
    pub requests: usize,
}

/// `pending`: successes a dry run would have recorded this tick (a real tick
/// recorded them already), watched like recorded ones.
pub fn watch(
    ctx: &Ctx,
    store: &mut Store,
    now: OffsetDateTime,
    pending: &HashSet<i64>,
) -> anyhow::Result<Found> {
    let cfg = &ctx.config;
    let window = cfg.harvest.revert_window;
    let mut found = Found::default();
    if window.is_zero() {
        return Ok(found);
    }
    let cutoff = crate::clock::ts(now - window);
    let rows = store.merged_successes(&cutoff, pending)?;
    let parsed: Vec<Merged> = rows
        .iter()
        .filter_map(|r| {
            Some(Merged {
                run_id: r.run_id,
                repo: &r.repo,
                branch: &r.branch,
                merge_sha: &r.merge_sha,
                merged_at: crate::clock::parse(&r.merged_at)?,
            })
        })
        .collect();
    let listings = outcome::listings(&parsed, window, now);
    if listings.is_empty() {
        return Ok(found);
    }
    let forge: Box<dyn Forge> = match crate::forge::from_config(cfg) {
        Ok(f) => f,
        Err(e) => {
            found.errors.push(ErrorItem::msg(
                "forge",
                None,
                format!("{e}; reverts not checked"),
            ));
            return Ok(found);
        }
    };
    let lists = fan_out(&listings, cfg.forge.concurrency, |l| {
        forge.commits(l.repo, l.branch, l.since)
    });
    found.requests = forge.requests();
    for (l, res) in listings.iter().zip(lists) {
        let commits = match res {
            Ok(c) => c,
            Err(e) => {
                let mut item = ErrorItem::from_err(l.repo, None, &e);
                item.message = format!("reverts on {}: {e}", l.branch);
                found.errors.push(item);
                continue;
            }
        };
        let pairs: Vec<(String, String)> =
            commits.into_iter().map(|c| (c.sha, c.message)).collect();
        for m in &l.runs {
            let Some(by) = outcome::reverted_by(m.merge_sha, &pairs) else {
                continue;
            };
            let flipped = ctx.dry_run || store.flip_reverted(m.run_id, by)?;
            if flipped {
                found.reverted.push(RevertItem {
                    run_id: m.run_id,
                    reverted_by: by.to_string(),
                });
            }
        }
    }
    Ok(found)
}
