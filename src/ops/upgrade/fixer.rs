//! The fixer agent of a RED upgrade (docs/how-it-works.md#afk-upgrade): the
//! runner, on the PR branch in a fresh clone of the mirror, with
//! `upgrade.template`'s current version (or the built-in upgrader preamble),
//! the failure and the build URL.

use super::gather;
use super::up::Up;
use crate::core::canary::VersionStatus;
use crate::core::fixer_exit;
use crate::core::run_state::Agent;
use crate::core::upgrade::verdict::{Fixer, Reading};
use crate::core::upgrade::{self, Bump, FixerTask, StaleTest};
use crate::forge::PullRequest;
use crate::runner::{RunnerHandle, Turn, TurnOf};
use crate::store::upgrades::Upgrade;
use crate::types::RepoName;
use anyhow::{Context, Result};
use std::path::PathBuf;
use std::time::Duration;
use time::OffsetDateTime;

/// Start the fixer for test run `run` (which was RED) and record it.
pub(super) fn start(
    up: &mut Up,
    r: &gather::Recipe,
    pr: &PullRequest,
    bump: &Bump,
    row: &Upgrade,
    run: u32,
    reading: &Reading,
) -> Result<()> {
    let cfg = up.t.config();
    let launch = Launch {
        turn: TurnOf::Fixer {
            upgrade: row.id,
            run,
            tests: false,
        },
        repo: r.mirror.clone(),
        clone_branch: pr.head.name.clone(),
        new_branch: None,
        title: bump.title(),
        env: &[],
    };
    let max_runs = cfg.upgrade.max_test_runs;
    start_on(up, r, pr, row, run, &launch, |preamble| {
        upgrade::fixer_prompt(&FixerTask {
            preamble,
            bump,
            mirror: &r.mirror,
            pr: pr.number,
            pr_url: &pr.html_url,
            run,
            max_runs,
            build_url: reading.build_url.as_deref(),
            description: reading.description.as_deref(),
        })
    })
}

/// Where a fixer works: its run folder, the repository it clones on which
/// branch (and a new branch to make there), its title and extra variables.
pub(super) struct Launch<'a> {
    /// whose turn: also its run folder's name and `AFK_RUN_ID`
    pub turn: TurnOf,
    pub repo: RepoName,
    pub clone_branch: String,
    pub new_branch: Option<String>,
    pub title: String,
    pub env: &'a [(&'a str, &'a str)],
}

/// Start a fixer for test run `run` of `pr` as `l` says, with the prompt
/// made from the upgrader preamble, and record it.
pub(super) fn start_on(
    up: &mut Up,
    r: &gather::Recipe,
    pr: &PullRequest,
    row: &Upgrade,
    run: u32,
    l: &Launch,
    prompt: impl FnOnce(&str) -> String,
) -> Result<()> {
    let cfg = up.t.config();
    let run_dir = up.t.paths().runs.join(l.turn.to_string());
    // the directory is this PR's and this run's alone: a start that failed before left it
    up.git.fresh_folder(&run_dir).context("fixer")?;
    let prompt_file = run_dir.join(format!("prompt-{run}.md"));
    // the runner starts the agent in `runner.workdir`, made from the same values
    let values = crate::core::placeholders::Values {
        run_dir: &run_dir,
        repo: &r.mirror,
        // a fixer works on a PR, not an issue: `{issue}` and AFK_ISSUE are
        // its number (the issue of that number on Gitea and GitHub)
        issue: pr.number.as_issue(),
        branch: &pr.head.name,
        prompt_file: &prompt_file,
    };
    let workdir = PathBuf::from(crate::core::placeholders::substitute(
        &cfg.runner.workdir,
        &values,
    ));
    let url = up.mirror_url(&l.repo)?;
    up.git
        .clone_branch(&url, &l.clone_branch, &workdir)
        .context("fixer: preparing its workdir")?;
    if let Some(b) = &l.new_branch {
        up.git.new_branch(&workdir, b)?;
    }
    let preamble =
        up.t.store()
            .template_with_status(&cfg.upgrade.template, VersionStatus::Current)?
            .map(|t| t.body)
            .unwrap_or_else(|| upgrade::UPGRADER_PREAMBLE.to_string());
    let prompt = prompt(&preamble);
    let started = up.runner()?.start(&Turn {
        // the fixer is not a run of poll's: AFK_RUN_ID names its run
        run_id: l.turn,
        repo: &r.mirror,
        issue: pr.number.as_issue(),
        title: &l.title,
        branch: &pr.head.name,
        prompt: &prompt,
        run_dir: &run_dir,
        turn: run,
        env: l.env,
        // an upgrade's fixer is no run of poll's: [budget]'s money limits are runs'
        budget_usd: None,
        gate: None,
    });
    // a start that may have landed is followed where it would be (its
    // observation finds or makes it), and reported
    let (handle, unknown) = match started {
        Ok(h) => (h, None),
        Err(e) => match crate::runner::start_unknown(&e).and_then(|u| u.handle.clone()) {
            Some(h) => (h, Some(e)),
            None => return Err(e),
        },
    };
    up.t.store().upgrade_fixer(
        row.id,
        run,
        &pr.head.sha,
        &handle,
        &run_dir.to_string_lossy(),
    )?;
    match unknown {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// The fixer of the current run: working (and for how long it has shown no
/// progress: since it started or last wrote its progress file or log), or
/// exited (with a stale-test report or not).
pub(super) fn observe(up: &mut Up, row: &Upgrade) -> Result<(Fixer, Option<Duration>)> {
    let handle = RunnerHandle::from_stored(
        row.fixer_handle.as_deref(),
        row.fixer_pid,
        row.fixer_start_time,
    );
    let dir = PathBuf::from(row.fixer_dir.clone().unwrap_or_default());
    let runner = up.runner()?;
    if let Err(e) = runner.settle(handle.as_ref(), &dir) {
        crate::log::warn(&format!("fixer: the agent is still starting: {e:#}"));
    }
    let seen = runner.observe(handle.as_ref(), &dir)?;
    Ok(match seen.agent {
        Agent::Running => (Fixer::Running, Some(quiet(row, &dir, up.t.now))),
        Agent::Exited(_) | Agent::Vanished => (
            Fixer::Exited {
                stale_test: stale_report(row).is_some(),
                exit: match seen.agent {
                    Agent::Exited(c) => Some(c),
                    _ => None,
                },
            },
            None,
        ),
    })
}

/// How long a running fixer has shown no progress: since its start or the
/// last write to its progress file or log, whichever is latest.
fn quiet(row: &Upgrade, dir: &std::path::Path, now: OffsetDateTime) -> Duration {
    let wrote = ["progress.jsonl", "agent.log"]
        .iter()
        .filter_map(|f| {
            std::fs::metadata(dir.join(f))
                .and_then(|m| m.modified())
                .ok()
        })
        .map(OffsetDateTime::from)
        .max();
    let started = row
        .fixer_started_at
        .as_deref()
        .and_then(crate::clock::parse);
    match started.into_iter().chain(wrote).max() {
        Some(last) => crate::core::progress::since(last, now),
        None => Duration::ZERO,
    }
}

/// The fixer's stale-test report, from its progress file's tail (bounded).
pub(super) fn stale_report(row: &Upgrade) -> Option<StaleTest> {
    let dir = PathBuf::from(row.fixer_dir.as_deref()?);
    upgrade::stale_test_report(&crate::runner::output::progress(&dir).lines)
}

/// The last lines of the fixer's log (`agent.log` in its run folder), read
/// from its end and bounded (`core::fixer_exit`): what the report and the
/// FAILED comment show of a fixer that ended.
pub(super) fn log_tail(row: &Upgrade) -> Vec<String> {
    let Some(dir) = row.fixer_dir.as_deref() else {
        return vec![];
    };
    let path = PathBuf::from(dir).join("agent.log");
    match crate::runner::output::tail(&path, fixer_exit::READ_BYTES) {
        Some(t) => fixer_exit::log_tail(&t.bytes, t.from == 0),
        None => vec![],
    }
}
