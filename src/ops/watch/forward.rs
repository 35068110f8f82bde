//! Forwarding a run's ended turn (docs/how-it-works.md#the-workspace), before
//! watch looks for its PR: the turn's work pushed to `afk/issue-<N>` by afk,
//! and afk's own PR opened after the first push. What cannot be forwarded is
//! the decision's to escalate (`push-conflict`, `push-refused`).

use super::lists::Watch;
use crate::core::run_state::{Agent, PushProblem};
use crate::forge::PullRequest;
use crate::store::runs::Run;
use crate::workspace::Forwarded;
use anyhow::Result;
use std::path::Path;

/// What forwarding met that the run's decision must hear of, with the words
/// for the escalation comment, and the PR it opened or pushed to.
#[derive(Debug, Clone, Default)]
pub(crate) struct Forward {
    pub problem: Option<(PushProblem, String)>,
    /// afk's PR for the run that this step opened, or pushed to, as the forge
    /// has it now: the tick's lists are from before the push, so finding the
    /// run's PR (`settle::find_pr`) looks here first
    pub pr: Option<PullRequest>,
}

/// The repo's PRs as the tick listed them (before this push): read once
/// for a push's PR steps.
struct Listed {
    open: Vec<PullRequest>,
    /// the recently closed ones, only where a PR of afk's may be among them
    closed: Vec<PullRequest>,
}

fn listed(w: &Watch, run: &Run, fresh: bool) -> Result<Listed> {
    let closed = if fresh || run.pr_number.is_none() {
        w.pulls(&run.repo, false)?
    } else {
        vec![]
    };
    Ok(Listed {
        open: w.pulls(&run.repo, true)?,
        closed,
    })
}

/// The run's checkout, as the workspace names it (the PR body's module
/// holds it: that module reads the branch and is below this one).
pub(crate) use super::pr_body::at;

/// Forward the run's last turn when its agent is no longer running; open
/// afk's PR once the branch is on the forge and no PR of afk's is open, its
/// body saying `spend_usd`, the run's spend as this tick read it (act keeps
/// the body right after: `pr_body::refresh`).
pub(crate) fn step(
    w: &Watch,
    run: &Run,
    run_dir: &Path,
    agent: Agent,
    spend_usd: Option<f64>,
) -> Result<Forward> {
    let afks = w.t.workspace.afks();
    if !afks || run.state.decided() || agent == Agent::Running {
        return Ok(Forward::default());
    }
    let turn = run.turns.max(1);
    let done = match w.t.runner.forwarded(run.handle.as_ref()) {
        // the Job forwarded inside the turn (docs/kubernetes.md): the PR is the
        // tick's
        Some(r) => from_job(r, run_dir),
        None => {
            w.t.workspace
                .forward(w.t.forge()?, &at(run, run_dir), turn)?
        }
    };
    crate::crash::point("watch:forwarded");
    match done {
        Forwarded::Nothing => Ok(Forward::default()),
        Forwarded::Pushed {
            sha,
            commits,
            leftover,
            base,
            fresh,
        } => {
            if fresh {
                crate::log::info(&format!(
                    "{}#{} run {}: turn {turn} pushed to the forge: {} at {} ({commits} new commit{}{})",
                    run.repo,
                    run.issue,
                    run.id,
                    run.branch,
                    &sha[..sha.len().min(12)],
                    if commits == 1 { "" } else { "s" },
                    if leftover {
                        ", leftover changes committed by afk"
                    } else {
                        ""
                    }
                ));
            }
            let listed = listed(w, run, fresh)?;
            let pr = open_pr(w, run, run_dir, &base, (&sha, fresh), &listed, spend_usd)?;
            Ok(Forward { problem: None, pr })
        }
        Forwarded::Conflict { bundle } => Ok(Forward {
            problem: Some((PushProblem::Conflict, bundle.display().to_string())),
            pr: None,
        }),
        Forwarded::Refused(why) => Ok(Forward {
            problem: Some((PushProblem::Refused, why)),
            pr: None,
        }),
    }
}

/// What a Job's forwarding container reported, as forwarding's outcome: a
/// push it made is an earlier push for this tick (`fresh: false`), so the
/// PR is opened once and never logged again each tick.
fn from_job(r: crate::core::kube_workspace::Result, run_dir: &Path) -> Forwarded {
    use crate::core::kube_workspace::Result as R;
    match r {
        R::Nothing => Forwarded::Nothing,
        R::Pushed {
            sha,
            commits,
            leftover,
            base,
        } => Forwarded::Pushed {
            sha,
            commits,
            leftover,
            base,
            fresh: false,
        },
        R::Conflict { head } => Forwarded::Conflict {
            bundle: std::path::PathBuf::from(format!(
                "{} (the Job's workspace volume: the turn's commits end at {}, kept while the Job's pod is, until ttl_after_finished)",
                run_dir.join("turn.bundle").display(),
                &head[..head.len().min(12)]
            )),
        },
        R::Refused(why) => Forwarded::Refused(why),
    }
}

/// afk's own PR for the run (docs/how-it-works.md#the-workspace), unless one of
/// afk's is open from the branch: a PR opened by a tick whose answer was lost
/// is in the next tick's list, so it is never opened twice. Returns the PR
/// it opened, or the one it pushed to read again.
fn open_pr(
    w: &Watch,
    run: &Run,
    run_dir: &Path,
    base: &str,
    (sha, fresh): (&str, bool),
    listed: &Listed,
    spend_usd: Option<f64>,
) -> Result<Option<PullRequest>> {
    if !fresh && run.pr_number.is_some() {
        return Ok(None);
    }
    // a closed or merged PR of afk's counts when it holds this work (its
    // head is the pushed commit); an earlier run's closed PR does not
    let holding = listed.closed.iter().filter(|p| p.head.sha == sha);
    let mut mine = None;
    for p in listed.open.iter().chain(holding) {
        if super::mine::belongs(w, run, p)?.is_some() {
            mine = Some(p);
            break;
        }
    }
    if let Some(p) = mine {
        if fresh && p.head.sha != sha && p.state == crate::forge::State::Open {
            // this tick pushed to it: its head as the forge has it now
            return Ok(Some(w.t.forge()?.pull(&run.repo, p.number)?));
        }
        return Ok(None);
    }
    if run.pr_number.is_some() {
        // the run's PR was seen before (merged or closed since): never a second
        return Ok(None);
    }
    let title = crate::core::workspace_pr::title(&run.title, run.issue);
    let body = super::pr_body::body(w, run, run_dir, sha, spend_usd, run.turns)?;
    let base = if base.is_empty() { "main" } else { base };
    crate::crash::point("watch:opening-pr");
    let pr =
        w.t.forge()?
            .create_pull(&run.repo, &run.branch, base, &title, &body)?;
    Ok(Some(pr))
}
