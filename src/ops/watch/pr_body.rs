//! afk's PR body (docs/how-it-works.md#the-workspace), a pure function of the
//! run as it stands (`core::workspace_pr::body`): the branch's commits and
//! diffstat from afk's cache, each turn and why, the run's spend as this tick
//! read it (the checklist's figure), the agent's latest final message, all
//! within the forge's limit where it has one (`Profile::body_max`). Act
//! keeps it right on every tick, after the checklist: the facts it is written
//! from are kept with the run (`pr_body_key`), so a tick whose facts are the
//! same reads no git and sends nothing; when they moved, the body is made
//! again and compared with the one the tick's reads hold, and edited once,
//! only when its text changed and only when afk wrote it.

use super::lists::Watch;
use crate::core::workspace_pr;
use crate::store::Store;
use crate::store::runs::Run;
use crate::workspace::At;
use anyhow::Result;
use std::path::Path;

/// What the tick's look at the run found that the body is written from
/// (observe's `Seen`, by the parts this module reads: it is below observe).
pub(super) struct Looked<'a> {
    /// the forge's answers were not all there: nothing is written
    pub blind: bool,
    pub pr: Option<&'a crate::forge::PullRequest>,
    pub spend_usd: Option<f64>,
    /// the run's checkout (`forward::at`), in its folder
    pub at: &'a At<'a>,
}

/// afk's PR body for the run, whose checkout is `at`, as its branch stands
/// at `head`, after `turns` turns, having spent `spend_usd`; a tracker's
/// issue named by its key and URL (`tracker`), never `#N`.
pub(super) fn body(
    w: &Watch,
    run: &Run,
    at: &At,
    (head, spend_usd, turns): (&str, Option<f64>, u32),
    tracker: Option<&(String, String)>,
) -> Result<String> {
    let run_dir = at.run_dir;
    let holds =
        w.t.workspace
            .summary(at, head, workspace_pr::COMMITS_SHOWN)
            .map(|s| workspace_pr::Branch {
                base: s.base,
                commits: s.commits,
                count: s.count,
                shortstat: s.shortstat,
                afk_committed: s.afk_committed,
                afk_committed_total: s.afk_committed_total,
                deps: s.deps,
            });
    let whys: Vec<(u32, String)> =
        w.t.store()
            .turns(run.id)?
            .into_iter()
            .map(|t| (t.turn, t.why))
            .collect();
    let message = crate::run_files::final_message(run_dir, w.t.settled.agent);
    // beside a tracker, no key the agent wrote reaches a merge commit made
    // of the body (`core::gate::defuse_tracker_keys`)
    let message = match tracker {
        Some(_) => message.map(|m| crate::core::gate::defuse_tracker_keys(&m)),
        None => message,
    };
    let refused =
        crate::core::agent_box::forwarder::refusals_said(&crate::run_files::box_refusals(run_dir));
    let metered = crate::run_files::metered_here(run_dir);
    let facts = workspace_pr::Facts {
        issue: run.issue,
        run_id: run.id,
        branch: &run.branch,
        holds: holds.as_ref(),
        turns: &whys,
        spend_usd,
        metered,
        final_message: message.as_deref(),
        head,
        turns_taken: turns.max(1),
        box_refused: refused.as_deref(),
        mentions_act: w.t.settled.profile.mentions_act,
        tracker: tracker.map(|(k, u)| (k.as_str(), u.as_str())),
    };
    // within the forge's limit where it has one (Azure DevOps' 4,000)
    Ok(match w.t.settled.profile.body_max {
        Some(max) => workspace_pr::body_within(&facts, max),
        None => workspace_pr::body(&facts),
    })
}

/// What the body is written from, as one line: the PR, its head, the turns,
/// the spend as the body words it, the agent's log (its final message) by
/// size and time, and the body's wording.
fn key(pr: u64, head: &str, turns: u32, spend_usd: Option<f64>, run_dir: &Path) -> String {
    let spend = spend_usd.map_or_else(|| "none".to_string(), crate::core::budget::spend::usd);
    let log = std::fs::metadata(run_dir.join("agent.log")).map_or_else(
        |_| "none".to_string(),
        |m| {
            let at = m
                .modified()
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_nanos());
            format!("{}@{at}", m.len())
        },
    );
    // the box's refusals, by their files' sizes (each keeper writes its own)
    let refused: u64 = crate::run_files::box_refusals(run_dir)
        .iter()
        .flat_map(|t| t.values())
        .fold(0, |a, n| a.saturating_add(*n));
    format!(
        "v{} pr={pr} head={head} turns={turns} spend={spend} log={log} refused={refused}",
        workspace_pr::WORDING
    )
}

/// Keep afk's open PR's body right (workspace = "afk" only): written again
/// when what it is written from moved since the last look, edited only when
/// its text differs from the forge's and the forge's is afk's own for the run.
pub(super) fn refresh(
    w: &Watch,
    store: &Store,
    run: &Run,
    seen: &Looked,
    turns: u32,
) -> Result<()> {
    if !w.t.workspace.afks() || seen.blind {
        return Ok(());
    }
    let Some(pr) = seen.pr.filter(|p| p.is_open()) else {
        return Ok(());
    };
    let turns = turns.max(1);
    let head = pr.head.sha.as_str();
    let key = key(pr.number.0, head, turns, seen.spend_usd, seen.at.run_dir);
    if run.pr_body_key.as_deref() == Some(key.as_str()) {
        return Ok(());
    }
    let now = pr.body.as_deref().unwrap_or("");
    if workspace_pr::is_afks(now, run.id) {
        let tracker = w.t.forge()?.tracker_ref(&run.repo, run.issue)?;
        let facts = (head, seen.spend_usd, turns);
        let new = body(w, run, seen.at, facts, tracker.as_ref())?;
        if workspace_pr::rewrite(now, &new, run.id) {
            crate::crash::point("watch:refreshing-pr-body");
            w.t.forge()?
                .edit_issue_body(&run.repo, crate::forge::Target::Pr(pr.number), &new)?;
            crate::log::info(&format!(
                "{}#{} run {}: PR {}'s body refreshed (turn {turns}, head {})",
                run.repo,
                run.issue,
                run.id,
                w.t.settled.profile.pr_ref(pr.number),
                &head[..head.len().min(12)]
            ));
        }
    }
    store.set_pr_body_key(run.id, &key)
}
