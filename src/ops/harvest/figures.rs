//! The leaderboard figures in a harvest tick
//! (docs/reports.md#compared-with-published-figures): the merged runs of
//! each repository with a run merged within 30 days (`core::churn`'s rule),
//! the default branch fetched once (`super::Tips`, shared with line
//! survival), then each run's revert looked for at any age and its 7-day
//! churn counted once due, from afk's git cache; each finding recorded
//! once. No forge request per run: the fetch's name check is the only one.
//! A repository that fails is its own error and the others go on.

use super::report::FigureItem;
use crate::core::churn::{self, Watched};
use crate::store::figures::MergedRun;
use crate::tick::{ErrorItem, Tick};
use crate::types::RepoName;
use std::collections::{BTreeMap, HashSet};

/// What the step found: what it recorded, and the errors.
#[derive(Default)]
pub struct Found {
    pub items: Vec<FigureItem>,
    pub errors: Vec<ErrorItem>,
}

/// The merged runs by repository, each with its merge time (unix seconds);
/// a time that does not parse leaves the run out.
fn by_repo(rows: Vec<MergedRun>) -> BTreeMap<String, (RepoName, Vec<(MergedRun, i64)>)> {
    let mut by: BTreeMap<String, (RepoName, Vec<(MergedRun, i64)>)> = BTreeMap::new();
    for r in rows {
        let Some(at) = crate::clock::parse(&r.merged_at) else {
            continue;
        };
        by.entry(r.repo.to_string())
            .or_insert_with(|| (r.repo.clone(), vec![]))
            .1
            .push((r, at.unix_timestamp()));
    }
    by
}

fn watched((r, at): &(MergedRun, i64)) -> Watched {
    Watched {
        merged_at: *at,
        reverted: r.reverted,
        churn_counted: r.churn_counted,
    }
}

/// Every repository due looked at and its findings recorded.
pub fn look(t: &Tick, tips: &mut super::Tips) -> anyhow::Result<Found> {
    let now = t.now.unix_timestamp();
    let mut found = Found::default();
    let rows = t.store().merged_runs()?;
    let due: Vec<(RepoName, Vec<(MergedRun, i64)>)> = by_repo(rows)
        .into_values()
        .filter(|(_, runs)| {
            let w: Vec<Watched> = runs.iter().map(watched).collect();
            churn::fetch_due(&w, now)
        })
        .collect();
    if due.is_empty() {
        return Ok(found);
    }
    let forge = match t.forge() {
        Ok(f) => f,
        Err(e) => {
            let failed = due
                .iter()
                .map(|(repo, _)| ErrorItem::from_err(repo, None, &e));
            found.errors.extend(failed);
            return Ok(found);
        }
    };
    let cfg = t.config();
    let paths = t.paths();
    let ws = crate::workspace::Real::new(cfg, (&paths.git_cache, &paths.dir), "harvest");
    for (repo, runs) in &due {
        let runs: Vec<&(MergedRun, i64)> = runs
            .iter()
            .filter(|r| churn::todo(&watched(r), now).any())
            .collect();
        let list: Vec<crate::git::workspace::FiguresDue> = runs
            .iter()
            .map(|(r, at)| crate::git::workspace::FiguresDue {
                merge_sha: &r.merge_sha,
                pr_head: r.head_sha.as_deref(),
                merged_at: *at,
                todo: churn::todo(&watched(&(r.clone(), *at)), now),
            })
            .collect();
        let afk: HashSet<String> = t.store().merge_shas(repo)?.into_iter().collect();
        let results = match tips
            .fetch(&ws, forge, repo)
            .and_then(|()| ws.figures(forge, repo, &list, &afk))
        {
            Ok(r) => r,
            Err(e) => {
                found.errors.push(ErrorItem::from_err(repo, None, &e));
                continue;
            }
        };
        for ((r, _), res) in runs.iter().zip(results) {
            let f = match res {
                Ok(f) => f,
                Err(e) => {
                    let mut item = ErrorItem::from_err(repo, None, &e);
                    item.message = format!("the figures of run {}: {e:#}", r.run_id);
                    found.errors.push(item);
                    continue;
                }
            };
            let store = t.store();
            let mut item = FigureItem {
                run_id: r.run_id,
                repo: repo.to_string(),
                reverted_by: None,
                reverted_at: None,
                churn: None,
            };
            if let Some((sha, at)) = &f.revert {
                let at = time::OffsetDateTime::from_unix_timestamp(*at)
                    .map(crate::clock::ts)
                    .unwrap_or_default();
                if store.set_revert_found(r.run_id, sha, &at)? {
                    item.reverted_by = Some(sha.clone());
                    item.reverted_at = Some(at);
                }
            }
            if let Some(c) = f.churn
                && store.set_churn(r.run_id, c)?
            {
                item.churn = Some(c);
            }
            if item.reverted_by.is_some() || item.churn.is_some() {
                found.items.push(item);
            }
        }
    }
    Ok(found)
}
