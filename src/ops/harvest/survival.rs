//! Line survival in a harvest tick
//! (docs/how-it-works.md#afk-harvest-and-the-template-canary): the merged
//! runs whose `survival_window` has ended and whose survival is not recorded
//! yet, grouped by repository; per repository one fetch of the default branch
//! into afk's git cache (shared with the leaderboard figures: `super::Tips`),
//! then each run counted there (`git::workspace`,
//! the rules `core::survival`) and recorded once. A repository with no run
//! due costs nothing; one that fails is its own error and the others go on;
//! a run that fails is its own error and stays pending for the next tick.

use super::report::SurvivalItem;
use crate::core::survival;
use crate::store::touch::Uncounted;
use crate::tick::{ErrorItem, Tick};
use crate::types::RepoName;
use std::collections::BTreeMap;

/// What the step found: the runs counted (recorded) and the errors.
#[derive(Default)]
pub struct Counted {
    pub items: Vec<SurvivalItem>,
    pub errors: Vec<ErrorItem>,
}

/// The due runs by repository, each with its window's end (unix seconds).
type DueByRepo = BTreeMap<String, (RepoName, Vec<(Uncounted, i64)>)>;

/// The runs of `rows` whose window has ended at `now`, by repository.
fn due_by_repo(
    rows: Vec<Uncounted>,
    window: std::time::Duration,
    now: time::OffsetDateTime,
) -> DueByRepo {
    let mut by_repo = DueByRepo::new();
    for r in rows {
        let Some(merged_at) = crate::clock::parse(&r.merged_at) else {
            continue;
        };
        let Some(end) = survival::window_end(merged_at, window) else {
            continue;
        };
        if !survival::due(merged_at, window, now) {
            continue;
        }
        by_repo
            .entry(r.repo.to_string())
            .or_insert_with(|| (r.repo.clone(), vec![]))
            .1
            .push((r, end.unix_timestamp()));
    }
    by_repo
}

/// Every due run counted and recorded; the repositories' and runs' errors
/// for the tick's report.
pub fn count(t: &Tick, tips: &mut super::Tips) -> anyhow::Result<Counted> {
    let (cfg, now) = (t.config(), t.now);
    let mut found = Counted::default();
    let rows = t.store().uncounted_survivals()?;
    let by_repo = due_by_repo(rows, cfg.harvest.survival_window, now);
    if by_repo.is_empty() {
        return Ok(found);
    }
    let forge = match t.forge() {
        Ok(f) => f,
        Err(e) => {
            let failed = by_repo
                .keys()
                .map(|repo| ErrorItem::from_err(repo, None, &e));
            found.errors.extend(failed);
            return Ok(found);
        }
    };
    let paths = t.paths();
    let ws = crate::workspace::Real::new(cfg, (&paths.git_cache, &paths.dir), "harvest");
    for (repo, due) in by_repo.values() {
        let list: Vec<crate::git::workspace::SurvivalDue> = due
            .iter()
            .map(|(r, end)| crate::git::workspace::SurvivalDue {
                merge_sha: &r.merge_sha,
                pr_head: r.head_sha.as_deref(),
                window_end: *end,
            })
            .collect();
        let results = match tips
            .fetch(&ws, forge, repo)
            .and_then(|()| ws.survival_fetched(forge, repo, &list))
        {
            Ok(r) => r,
            Err(e) => {
                found.errors.push(ErrorItem::from_err(repo, None, &e));
                continue;
            }
        };
        for ((r, _), res) in due.iter().zip(results) {
            match res {
                Ok(s) => {
                    // with its late fact's span, when telemetry is on
                    let window_s = cfg.harvest.survival_window.as_secs() as i64;
                    t.store().set_survival_of(r.run_id, s, window_s)?;
                    found.items.push(SurvivalItem {
                        run_id: r.run_id,
                        repo: repo.to_string(),
                        lines_added: s.lines_added,
                        lines_surviving: s.lines_surviving,
                    });
                }
                Err(e) => {
                    let mut item = ErrorItem::from_err(repo, None, &e);
                    item.message = format!("line survival of run {}: {e:#}", r.run_id);
                    found.errors.push(item);
                }
            }
        }
    }
    Ok(found)
}
