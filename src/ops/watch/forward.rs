//! Forwarding a run's ended turn (docs/how-it-works.md#the-workspace), once
//! the run's PR is found (`pr.rs`): the turn's work pushed to
//! `afk/issue-<N>` by afk, and afk's own PR opened when none of afk's holds
//! it (`core::workspace_pr::after_push`). What cannot be forwarded is the
//! decision's to escalate (`push-conflict`, `push-refused`). Where the agent
//! pushes itself, nothing is forwarded: the head its turn ended at is kept
//! instead (`turn_end_head`).

use super::lists::Watch;
use super::pr::Found;
use crate::core::escalation::Kept;
use crate::core::run_state::{Agent, PushProblem};
use crate::core::workspace_pr::{self, AfterPush, Forwarding};
use crate::store::Store;
use crate::store::runs::Run;
use crate::workspace::{At, Forwarded};
use anyhow::Result;
use std::path::Path;

/// What forwarding met that the run's decision must hear of, with the words
/// for the escalation comment: never a path of afk's host (anyone who reads
/// the repository reads the comment; the host's log names them).
#[derive(Debug, Clone, Default)]
pub(crate) struct Forward {
    /// the problem, and its words: a refusal's why, the change gate's
    /// reasons (`core::gate::lines`, the `gate` turn's prompt says them
    /// too), nothing for a conflict
    pub problem: Option<(PushProblem, String)>,
    /// where the commits afk did not push are kept (a conflict, a refusal
    /// by the gate)
    pub kept: Option<Kept>,
    /// what lifts the gate's refusal, one sentence per kind of its reasons
    /// (`core::gate::remedies`)
    pub remedies: Vec<&'static str>,
}

/// The run's checkout, as the workspace names it (act's too).
pub(crate) fn at<'a>(run: &'a Run, run_dir: &'a Path) -> At<'a> {
    At {
        repo: &run.repo,
        issue: run.issue,
        run_id: run.id,
        run_dir,
        branch: &run.branch,
    }
}

/// Forward the run's last turn when its agent is no longer running; open
/// afk's PR once the branch is on the forge and no PR of afk's holds it, its
/// body saying `spend_usd`, the run's spend as this tick read it (act keeps
/// the body right after: `pr_body::refresh`). Hands back the run's PR: the
/// one `found` before the push, read again when the push moved its head, or
/// the one it opened.
pub(crate) fn step(
    w: &Watch,
    run: &Run,
    run_dir: &Path,
    (agent, spend_usd): (Agent, Option<f64>),
    found: Found,
) -> Result<(Forward, Found)> {
    let afks = w.t.workspace.afks();
    if !afks || run.state.decided() || agent == Agent::Running {
        return Ok((Forward::default(), found));
    }
    let at = at(run, run_dir);
    if !wanted(w, run, &found)? {
        return Ok((Forward::default(), found));
    }
    let turn = run.turns.max(1);
    let (done, in_job, by_job) = match w.t.runner.forwarded(run.handle.as_ref()) {
        // the Job forwarded inside the turn (docs/kubernetes.md): the PR is the
        // tick's
        Some(r) => {
            let (done, in_job) = from_job(r, run_dir);
            (done, in_job, true)
        }
        None => (w.t.workspace.forward(w.t.forge()?, &at, turn)?, None, false),
    };
    // where the commits afk does not push are kept, as people are told it
    let kept = in_job.unwrap_or(Kept::RunFolder);
    crate::crash::point("watch:forwarded");
    match done {
        Forwarded::Nothing => Ok((Forward::default(), found)),
        Forwarded::Pushed {
            sha,
            commits,
            leftover,
            base,
            fresh,
            old,
        } => {
            if fresh {
                let key = crate::core::prompt::tracker_key(&run.branch, run.issue);
                crate::log::info(&format!(
                    "{} run {}: turn {turn} pushed to the forge: {} at {} ({commits} new commit{}{})",
                    crate::core::prompt::place(run.repo.as_str(), run.issue, key.as_deref()),
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
            if fresh {
                crate::run_files::keep_gate_verdict(run_dir, turn, &[]);
                afk_host::journal::record(
                    "git.push",
                    &serde_json::json!({"run": run.id.0, "repo": run.repo.as_str(),
                        "branch": run.branch, "turn": turn, "old": old, "head": sha,
                        "commits": commits, "gate": "passed"}),
                );
            }
            // a head afk pushed: the zero-touch rule's (`core::zero_touch`)
            let new = w.t.store().note_afk_head(run.id, turn, &sha)?;
            // the Job's own push (through the gate in its pod), journaled
            // once, by the tick that first reads its record
            if by_job && new {
                afk_host::journal::record(
                    "git.push",
                    &serde_json::json!({"run": run.id.0, "repo": run.repo.as_str(),
                        "branch": run.branch, "turn": turn, "old": null, "head": sha,
                        "commits": commits, "gate": "passed", "by": "job"}),
                );
            }
            let found = open_pr(w, run, &at, &base, (&sha, fresh), found, spend_usd)?;
            Ok((Forward::default(), found))
        }
        Forwarded::Conflict { bundle } => {
            crate::log::info(&format!(
                "{}#{} run {}: turn {turn} does not apply on top of someone else's push to {}: its commits are kept in {}",
                run.repo,
                run.issue,
                run.id,
                run.branch,
                bundle.display()
            ));
            Ok((
                Forward {
                    problem: Some((PushProblem::Conflict, String::new())),
                    kept: Some(kept),
                    ..Forward::default()
                },
                found,
            ))
        }
        Forwarded::Refused(why) => Ok((refused(w, run, &at, turn, &why), found)),
        Forwarded::Gated { reasons, bundle } => {
            afk_host::journal::record(
                "gate.refused",
                &serde_json::json!({"run": run.id.0, "turn": turn, "reasons": reasons.len()}),
            );
            Ok((
                gated(w, run, run_dir, (turn, kept), &reasons, &bundle)?,
                found,
            ))
        }
    }
}

/// Whether the run's work is still wanted: a person closed the issue or
/// took its label off, and the run is abandoned (observe and decide read
/// the same answer), so nothing of it is pushed nor any PR opened for work
/// nobody wants now; an issue its merged PR closed is no such thing: that
/// run's work is in (decide says succeed).
fn wanted(w: &Watch, run: &Run, found: &Found) -> Result<bool> {
    let super::lists::IssueSeen { open, labelled, .. } = w.issue_state(run)?;
    let merged = found.as_ref().is_some_and(|(p, _)| p.merged);
    let started = run.state == crate::core::run_state::RunStatus::Started;
    Ok(
        match workspace_pr::forwarding(open, labelled, started, merged) {
            Forwarding::Forward => true,
            Forwarding::Merged => false,
            Forwarding::Abandoned { closed } => {
                crate::log::info(&format!(
                    "{}#{} run {}: the issue is {}: the turn's work is not pushed and no PR is opened",
                    run.repo,
                    run.issue,
                    run.id,
                    if closed {
                        "closed"
                    } else {
                        "no longer labelled in progress"
                    }
                ));
                false
            }
        },
    )
}

/// A turn whose work was refused before the gate (the checks of an
/// agent's checkout as hostile ground, the secret scan): the refusal
/// names the folders it read; the comment says them in words (anyone who
/// reads the repository reads it), the host's log as they are.
fn refused(w: &Watch, run: &Run, at: &At, turn: u32, why: &str) -> Forward {
    crate::log::info(&format!(
        "{}#{} run {}: turn {turn} not forwarded: {why}",
        run.repo, run.issue, run.id
    ));
    let paths = w.t.paths();
    let run_dir = at.run_dir;
    let checkout = crate::workspace::workdir_of(w.t.config(), at);
    let mut folders = vec![
        (run_dir.to_string_lossy(), "the run's folder"),
        (paths.git_cache.to_string_lossy(), "afk's git cache"),
        (paths.runs.to_string_lossy(), "afk's runs folder"),
        (paths.dir.to_string_lossy(), "afk's state folder"),
    ];
    // a checkout in the run's folder (`{run_dir}/work`, the default)
    // is said from it (`the run's folder/work/.git/config`)
    if !checkout.starts_with(run_dir) {
        folders.push((checkout.to_string_lossy(), "the run's checkout"));
    }
    let folders: Vec<(&str, &str)> = folders
        .iter()
        .map(|(folder, words)| (&**folder, *words))
        .collect();
    let said = crate::core::escalation::host_folders_said(why, &folders);
    Forward {
        problem: Some((PushProblem::Refused, said)),
        ..Forward::default()
    }
}

/// A turn the change gate refused: its verdict kept in the run's folder
/// (with where the bundle is, which `afk runs show` prints on the host),
/// its reasons and remedies for the `gate` turn or the escalation, which
/// never name a path of afk's host; a refused `gate` turn is refused again
/// (`again`): escalated, not retried.
fn gated(
    w: &Watch,
    run: &Run,
    run_dir: &Path,
    (turn, kept): (u32, Kept),
    reasons: &[crate::core::gate::Reason],
    bundle: &Path,
) -> Result<Forward> {
    let again =
        w.t.store()
            .turns(run.id)?
            .last()
            .is_some_and(|t| t.why == crate::core::turn_reason::GATE);
    let said = crate::core::gate::lines(reasons);
    let mut verdict = said.clone();
    verdict.push(format!(
        "- the refused commits are kept in `{}`",
        crate::core::sanitize::one_line(&bundle.display().to_string(), 300)
    ));
    crate::run_files::keep_gate_verdict(run_dir, turn, &verdict);
    crate::log::info(&format!(
        "{}#{} run {}: the change gate refused turn {turn}: nothing pushed ({} reason{}); its commits are kept in {}",
        run.repo,
        run.issue,
        run.id,
        reasons.len(),
        if reasons.len() == 1 { "" } else { "s" },
        bundle.display()
    ));
    Ok(Forward {
        problem: Some((PushProblem::Gated { again }, said.join("\n"))),
        kept: Some(kept),
        remedies: crate::core::gate::remedies(reasons),
    })
}

/// What a Job's forwarding container reported, as forwarding's outcome: a
/// push it made is an earlier push for this tick (`fresh: false`), so the
/// PR is opened once and never logged again each tick. With it, where the
/// commits it did not push are kept, as people are told it.
fn from_job(r: crate::core::kube::workspace::Result, run_dir: &Path) -> (Forwarded, Option<Kept>) {
    use crate::core::kube::workspace::Result as R;
    let kept = match &r {
        R::Conflict { head } => Some(Kept::JobVolume {
            head: Some(head.clone()),
        }),
        R::Gated { .. } => Some(Kept::JobVolume { head: None }),
        _ => None,
    };
    let done = match r {
        R::Nothing => Forwarded::Nothing,
        R::Pushed {
            sha,
            commits,
            leftover,
            base,
            deps,
        } => {
            // the PR body lists them (`InJob::summary`), for this push
            crate::run_files::keep_job_deps(run_dir, &sha, &deps);
            Forwarded::Pushed {
                sha,
                commits,
                leftover,
                base,
                fresh: false,
                old: None,
            }
        }
        R::Conflict { head } => Forwarded::Conflict {
            bundle: std::path::PathBuf::from(format!(
                "{} (the Job's workspace volume: the turn's commits end at {}, kept while the Job's pod is, until ttl_after_finished)",
                run_dir.join("turn.bundle").display(),
                head.chars().take(12).collect::<String>()
            )),
        },
        R::Refused(why) => Forwarded::Refused(why),
        // the Job's forwarding container applied `[gate]`: its reasons as
        // it said them, its commits in the Job's volume
        R::Gated { lines } => Forwarded::Gated {
            reasons: lines
                .into_iter()
                .map(crate::core::gate::Reason::Reported)
                .collect(),
            bundle: std::path::PathBuf::from(format!(
                "{} (the Job's workspace volume, kept while the Job's pod is, until ttl_after_finished)",
                run_dir.join("turn.bundle").display()
            )),
        },
    };
    (done, kept)
}

/// afk's own PR for the run (docs/how-it-works.md#the-workspace), by
/// `core::workspace_pr::after_push`: a PR opened by a tick whose answer was
/// lost is in the next tick's list, found before the push, so it is never
/// opened twice. Returns the run's PR after the push.
/// Whether the forge refused a new PR because one is open for the branch
/// already (Gitea and GitLab: 409; GitHub: 422 "A pull request already
/// exists").
fn already_open(e: &anyhow::Error) -> bool {
    use crate::forge::{Failure, ForgeError};
    match ForgeError::kind_of(e) {
        Some(Failure::Conflict) => true,
        Some(Failure::Unprocessable) => format!("{e:#}")
            .to_ascii_lowercase()
            .contains("already exist"),
        _ => false,
    }
}

/// The run's PR the forge says is open already, read again (the tick's
/// cached list predates it) and taken as the run's by the one rule; the
/// forge's refusal stands when none of afk's is there.
fn adopt(w: &Watch, run: &Run, refused: anyhow::Error) -> Result<Found> {
    let open = w.t.forge()?.open_pulls(&run.repo)?;
    let mine: Vec<_> = open
        .into_iter()
        .filter(|p| p.head.name == run.branch)
        .collect();
    for p in mine {
        if let Some(found) = super::pr::judge(w, run, p)? {
            crate::log::info(&format!(
                "{}#{} run {}: PR #{} was open for {} already (opened by an earlier tick that did not record it): adopted",
                run.repo, run.issue, run.id, found.0.number, run.branch
            ));
            // an earlier create whose answer was lost, settled: it landed
            afk_host::journal::record(
                "forge.reconciled",
                &serde_json::json!({"run": run.id.0, "what": "pull request",
                    "landed": true, "number": found.0.number.0}),
            );
            return Ok(Some(found));
        }
    }
    Err(refused)
}

fn open_pr(
    w: &Watch,
    run: &Run,
    at: &At,
    base: &str,
    (sha, fresh): (&str, bool),
    found: Found,
    spend_usd: Option<f64>,
) -> Result<Found> {
    let before = found.as_ref().map(|(p, _)| workspace_pr::FoundPr {
        open: p.is_open(),
        head: &p.head.sha,
    });
    match (
        workspace_pr::after_push(before, sha, fresh, run.pr_number.is_some()),
        found,
    ) {
        // this tick pushed to it (found, then): its head as the forge has it now
        (AfterPush::ReadAgain, Some((p, how))) => {
            Ok(Some((w.t.forge()?.pull(&run.repo, p.number)?, how)))
        }
        (AfterPush::Open, _) => {
            // a work item's title may link or notify on Azure DevOps: its
            // sigils defused, afk's own `(#N)` kept
            let issue_title = match w.t.config().profile().mentions_act {
                true => crate::core::azure::mention::no_mentions(&run.title),
                false => run.title.clone(),
            };
            // a tracker's issue is named by its key, never `#N`
            let tracker = w.t.forge()?.tracker_ref(&run.repo, run.issue)?;
            let title = match &tracker {
                Some((key, _)) => workspace_pr::tracker_title(&issue_title, key),
                None => workspace_pr::title(&issue_title, run.issue),
            };
            let facts = (sha, spend_usd, run.turns);
            let body = super::pr_body::body(w, run, at, facts, tracker.as_ref())?;
            let base = if base.is_empty() { "main" } else { base };
            crate::crash::point("watch:opening-pr");
            let forge = w.t.forge()?;
            // `[gate] draft`: a draft, marked once, as the PR is opened
            let opened = match w.t.config().gate.draft {
                true => forge.create_draft_pull(&run.repo, &run.branch, base, &title, &body),
                false => forge.create_pull(&run.repo, &run.branch, base, &title, &body),
            };
            match opened {
                Ok(pr) => {
                    crate::crash::point("watch:opened-pr");
                    // a tracker's issue links to its PR (an upsert: a repeat
                    // is harmless); a refusal leaves the link out, said once
                    if let Err(e) = forge.link_pull(&run.repo, run.issue, &pr, false) {
                        crate::log::decision(&format!(
                            "{}#{}: the tracker issue's link to the PR was not made: {e}",
                            run.repo, run.issue
                        ));
                    }
                    // and its agent session (Linear's, when delegated) says so
                    let note = crate::core::tracker::agent_session::pull_opened(
                        run.id.0 as u64,
                        &pr.html_url,
                    );
                    if let Err(e) = forge.tell_session(&run.repo, run.issue, &note) {
                        crate::log::decision(&format!(
                            "{}#{}: the agent session was not told of the PR: {e}",
                            run.repo, run.issue
                        ));
                    }
                    super::pr::judge(w, run, pr)
                }
                // a PR for afk's branch exists already (a tick killed after
                // opening it, before recording it): found and adopted now,
                // a recovery, not an error
                Err(e) if already_open(&e) => adopt(w, run, e),
                Err(e) => Err(e),
            }
        }
        (_, found) => Ok(found),
    }
}

/// An agent that pushes itself (`workspace = "agent"`): the PR's head as
/// afk first sees it after a turn ended is the turn's, kept for the
/// zero-touch rule (`core::zero_touch`); never a merged PR's (a person may
/// have pushed and merged between two looks).
pub(crate) fn turn_end_head(
    w: &Watch,
    store: &Store,
    run: &Run,
    agent: &crate::runner::Observed,
    found: &Found,
) -> Result<()> {
    if w.t.workspace.afks()
        || run.state.decided()
        || agent.agent == crate::core::run_state::Agent::Running
    {
        return Ok(());
    }
    if let Some((pr, _)) = found.as_ref()
        && !pr.merged
        && !pr.head.sha.is_empty()
    {
        store.note_turn_end_head(run.id, run.turns.max(1), &pr.head.sha)?;
    }
    Ok(())
}
