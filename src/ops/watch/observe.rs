//! What watch sees of one settled run (`settle.rs` found its PR and heard
//! its conversation): the issue, CI on the PR's head, the deploy on its
//! merge commit, the PR's mergeability, the agent's progress file, and the
//! progress clocks, into one `Seen` with the spend settle read (`spend`,
//! before forwarding: a PR opened on the tick says the run's figure).
//! Observing only reads (no store, no write to the forge or the runner:
//! `layers::watch::observe_and_decide_hold_no_writing_edge`); what the store keeps
//! of it (the clocks, the spend, the merge-hold lesson) is `Seen::record`,
//! which act writes. (The runner's `observe` may keep its own copy of what
//! it read: on Kubernetes, the pod log mirrored into the run folder with its
//! cursor, so no byte is fetched twice.)

use super::lists::Watch;
use crate::core::ci::{self, StatusLine, Verdict};
use crate::core::progress::{self, Blocked, Marks, Stored};
use crate::core::run_state::{Agent, Checks, Pr};
use crate::forge::{CombinedStatus, PullRequest, State};
use crate::store::runs::Run;
use anyhow::Result;
use std::time::Duration;
use time::OffsetDateTime;

/// What watch saw of one run, with the run as settle left it: the value
/// decide and act work from.
#[derive(Clone)]
pub(crate) struct Seen {
    /// the run as settle left it (a resumed hold restarted its stall clock)
    pub run: Run,
    pub issue_open: bool,
    pub in_progress_label: bool,
    /// a tracker's issue closed to the run: why, in the report's words
    /// (`lists::IssueSeen::closed_as`)
    pub issue_closed_as: Option<&'static str>,
    pub pr: Option<PullRequest>,
    /// the PR is the run's by its branch (`core::ci::Belongs::Branch`, as
    /// settle found it): afk may ask the forge to update it
    pub afk_branch: bool,
    pub ci: Verdict,
    pub ci_sha: Option<String>,
    /// when the newest status on the PR's head was reported (the forge's clock)
    pub ci_newest_at: Option<OffsetDateTime>,
    pub deploy: Checks,
    pub agent: Agent,
    pub blocked: Option<Blocked>,
    /// Why the runner says the agent cannot start
    /// (docs/runners.md#kubernetes-a-job-per-turn), if it cannot.
    pub cannot_start: Option<String>,
    /// what forwarding the last turn met (docs/how-it-works.md#the-workspace)
    pub forwarded: super::forward::Forward,
    /// The end of `agent.log` of an agent that exited failing (bounded,
    /// sanitised: `run_files::log_end`); None otherwise.
    pub log_end: Option<String>,
    pub since_progress: Duration,
    /// What the run has spent so far: the model gateway's metered sum when
    /// it has a record, else what its agents reported (None: nothing yet).
    pub spend_usd: Option<f64>,
    /// The model gateway stopped a turn at a money limit, with the figures it
    /// left in the run folder (`run_files::gateway_stop`).
    pub gateway_stop: Option<crate::core::gateway::budget::Refusal>,
    /// The agent ended its turn at a budget of its own (Claude Code's
    /// `--max-budget-usd`), by its own report: its words
    /// (`run_files::agent_budget_stop`).
    pub agent_budget_stop: Option<String>,
    /// The limit such a stop was at: the one the turn's gate had the least
    /// room under as it started (`run_files::agent_stop_limit`); None: no
    /// gate kept, the run's own.
    pub agent_stop_limit: Option<crate::core::budget::Limit>,
    /// the agent's latest reported phase, for the checklist
    pub phase: Option<progress::Phase>,
    /// the conversation on the issue and the PR (docs/reviews.md)
    pub heard: super::talk::Heard,
    /// what the store keeps of this look (`act::record` writes it)
    pub record: ToRecord,
    /// the forge (or the agent's checkout) could not be read: what afk holds
    /// itself is all there is (`blind`)
    pub blind: bool,
    /// the run's folder (`Tick::run_dir`), found once
    pub run_dir: std::path::PathBuf,
    /// how long since the run was dispatched
    pub age: Duration,
}

/// What a look at a run found that the store keeps: observing only reads,
/// and act writes this first (`act::record`).
#[derive(Default, Clone)]
pub(crate) struct ToRecord {
    /// the spend ledger, when it moved on: what it sums to, its stored form
    /// (the bytes it read are then never read again)
    pub spend: Option<(Option<f64>, String)>,
    /// the observation, when it differs from the stored one
    pub observation: Option<Noted>,
    /// the PR has been green and unmerged past `MERGE_HOLD_AFTER`
    pub merge_hold: bool,
}

/// An observation as `store::runs::Observation` takes it, owned.
#[derive(Clone)]
pub(crate) struct Noted {
    pub pr: Option<(crate::types::PrNumber, String)>,
    pub head_sha: Option<String>,
    pub fingerprint: String,
    pub changed_at: String,
    pub green_since: Option<String>,
    pub ci: Option<&'static str>,
}

/// Time since the run was dispatched (zero when the clock went backwards).
fn age(w: &Watch, run: &Run) -> Duration {
    let dispatched = crate::clock::parse(&run.created_at).unwrap_or(w.t.now);
    progress::since(dispatched, w.t.now)
}

impl Seen {
    /// Who stopped a turn at a money limit, from what afk knows: the
    /// gateway's stop record (its refusal with its figures), else the
    /// agent's own report of its `--max-budget-usd`.
    pub fn budget_stopped(&self) -> Option<crate::core::budget::spend::BudgetStop> {
        use crate::core::budget::spend::BudgetStop;
        self.gateway_stop
            .as_ref()
            .map(|r| BudgetStop::Gateway(r.reached()))
            .or_else(|| self.agent_budget_stop.clone().map(BudgetStop::Agent))
    }

    pub fn pr_state(&self) -> Pr {
        match &self.pr {
            None => Pr::None,
            Some(p) if p.merged => Pr::Merged,
            Some(p) if p.state == State::Closed => Pr::Closed,
            Some(_) => Pr::Open,
        }
    }
}

fn lines(st: &CombinedStatus) -> Vec<StatusLine> {
    st.statuses
        .iter()
        .flatten()
        .map(|s| StatusLine {
            context: s.context.clone(),
            state: s.status.clone(),
            target_url: s.target_url.clone(),
            description: s.description.clone(),
        })
        .collect()
}

/// GitHub's PR list says nothing of `mergeable`: for an open PR whose agent
/// is not at work, ask for the PR itself (conditionally: free when unchanged).
fn with_mergeable(
    w: &Watch,
    run: &Run,
    pr: Option<PullRequest>,
    agent: Agent,
) -> Result<Option<PullRequest>> {
    match pr {
        Some(p)
            if p.mergeable.is_none()
                && p.is_open()
                && agent != Agent::Running
                && !run.state.decided() =>
        {
            Ok(Some(w.t.forge()?.pull(&run.repo, p.number)?))
        }
        other => Ok(other),
    }
}

fn modified(path: &std::path::Path) -> Option<OffsetDateTime> {
    let m = std::fs::metadata(path).ok()?;
    if m.len() == 0 {
        return None;
    }
    Some(OffsetDateTime::from(m.modified().ok()?))
}

/// CI on the PR's head (with that head's sha) and the deploy on its merge commit.
fn checks(
    w: &Watch,
    run: &Run,
    pr: Option<&PullRequest>,
) -> Result<(Verdict, Option<String>, Checks, Option<OffsetDateTime>)> {
    let mut newest = None;
    let cfg = w.t.config();
    let mut ci = Verdict::none();
    let mut ci_sha = None;
    if let Some(p) = pr.filter(|p| !p.head.sha.is_empty()) {
        let st = w.t.forge()?.combined_status(&run.repo, &p.head.sha)?;
        ci = ci::verdict(&cfg.watch.ci_contexts, &st.state, &lines(&st));
        ci_sha = Some(p.head.sha.clone());
        newest = st
            .statuses
            .iter()
            .flatten()
            .filter_map(|s| s.updated_at.as_deref().and_then(crate::clock::parse))
            .max();
    }
    let mut deploy = Checks::None;
    if let Some(p) = pr.filter(|p| p.merged)
        && !cfg.watch.deploy_context.is_empty()
        && let Some(sha) = p.merge_commit_sha.as_deref().filter(|s| !s.is_empty())
    {
        let st = w.t.forge()?.combined_status(&run.repo, sha)?;
        let required = std::slice::from_ref(&cfg.watch.deploy_context);
        deploy = ci::verdict(required, &st.state, &lines(&st)).checks;
    }
    Ok((ci, ci_sha, deploy, newest))
}

/// The CI word an observation stores of `pr`: its head's, but none for no PR
/// or for a merged PR whose head shows no checks (the stored word stays).
fn ci_seen(pr: Option<&PullRequest>, ci: Checks) -> Option<&'static str> {
    pr.filter(|p| !(p.merged && ci == Checks::None))
        .map(|_| ci.word())
}

/// The progress clocks: when the run last changed and since when its PR has
/// been green; the observation to store when they differ from what it holds,
/// and whether the merge-hold lesson is due.
fn clocks(
    w: &Watch,
    run: &Run,
    pr: Option<&PullRequest>,
    fp: &str,
    (wrote_at, log_at): (Option<OffsetDateTime>, Option<OffsetDateTime>),
    ci: Checks,
) -> (OffsetDateTime, Option<Noted>, bool) {
    let dispatched_at = crate::clock::parse(&run.created_at).unwrap_or(w.t.now);
    let stored_at = run
        .last_progress_at
        .as_deref()
        .and_then(crate::clock::parse);
    let before = Stored {
        fingerprint: run.progress_fp.clone(),
        changed_at: stored_at,
    };
    let last = progress::last_change(&before, fp, dispatched_at, wrote_at, log_at, w.t.now);
    let green = pr.is_some_and(|p| progress::is_green(p.state == State::Open, p.merged, ci));
    let green_since = progress::green_since(
        run.green_since.as_deref().and_then(crate::clock::parse),
        green,
        w.t.now,
    );
    let green_text = green_since.map(crate::clock::ts);
    let last_text = crate::clock::ts(last);
    let stored = progress::Observed {
        pr: run.pr_number,
        head_sha: run.head_sha.as_deref(),
        fingerprint: run.progress_fp.as_deref(),
        changed_at: run.last_progress_at.as_deref(),
        green_since: run.green_since.as_deref(),
        ci: run.last_ci.as_deref(),
    };
    let seen_now = progress::Observed {
        pr: pr.map(|p| p.number),
        head_sha: pr.map(|p| p.head.sha.as_str()),
        fingerprint: Some(fp),
        changed_at: Some(&last_text),
        green_since: green_text.as_deref(),
        // no PR, or a merged PR whose head shows no checks any more (a forge
        // that answers none for it once merged): what was last seen stays,
        // the CI it merged with
        ci: ci_seen(pr, ci).or(run.last_ci.as_deref()),
    };
    let noted = progress::observation_changed(&stored, &seen_now).then(|| Noted {
        pr: pr.map(|p| (p.number, p.html_url.clone())),
        head_sha: pr.map(|p| p.head.sha.clone()),
        fingerprint: fp.to_string(),
        changed_at: last_text.clone(),
        green_since: green_text.clone(),
        ci: ci_seen(pr, ci),
    });
    (last, noted, progress::merge_hold_due(green_since, w.t.now))
}

/// What watch sees of a settled run (`super::settle`): reads only; what the
/// store keeps of it is `Seen::record`.
pub(crate) fn observe(w: &Watch, settled: super::settle::Settled) -> Result<Seen> {
    let super::settle::Settled {
        agent,
        forwarded,
        found,
        run,
        heard,
        run_dir,
        spend,
    } = settled;
    let afk_branch = found
        .as_ref()
        .is_some_and(|(_, how)| *how == crate::core::ci::Belongs::Branch);
    let pr = found.map(|(p, _)| p);
    let run = &run;
    let issue = w.issue_state(run)?;
    let (ci, ci_sha, deploy, ci_newest_at) = checks(w, run, pr.as_ref())?;
    let pr = with_mergeable(w, run, pr, agent.agent)?;
    let (spend_usd, spend_moved) = spend;
    let files = in_files(&run_dir, &agent, run, pr.as_ref(), ci.checks, deploy);
    // the agent's own clock where its runner has one (a pod log's timestamps)
    let agent_clock = (files.wrote_at, agent.log_at);
    let (last, observation, merge_hold) =
        clocks(w, run, pr.as_ref(), &files.fp, agent_clock, ci.checks);
    Ok(Seen {
        run: run.clone(),
        issue_open: issue.open,
        in_progress_label: issue.labelled,
        issue_closed_as: issue.closed_as,
        pr,
        afk_branch,
        ci,
        ci_sha,
        ci_newest_at,
        deploy,
        agent: agent.agent,
        blocked: files.blocked,
        log_end: crate::core::run_state::agent_failed(agent.agent)
            .then(|| crate::run_files::log_end(&run_dir))
            .flatten(),
        cannot_start: agent.cannot_start,
        forwarded,
        since_progress: progress::since(last, w.t.now),
        spend_usd,
        gateway_stop: crate::run_files::gateway_stop(&run_dir),
        agent_budget_stop: crate::run_files::agent_budget_stop(&run_dir, agent.agent),
        agent_stop_limit: crate::run_files::agent_stop_limit(&run_dir),
        phase: files.phase,
        heard,
        record: ToRecord {
            spend: spend_moved,
            observation,
            merge_hold,
        },
        blind: false,
        age: age(w, run),
        run_dir,
    })
}

/// What the run's folder says: what the agent is blocked on, its latest
/// phase, the fingerprint of all that moves, and when its files last changed.
struct InFiles {
    blocked: Option<Blocked>,
    phase: Option<progress::Phase>,
    fp: String,
    wrote_at: Option<OffsetDateTime>,
}

/// Read the run's progress file and agent log (with what afk saw of the PR,
/// its CI and deploy, for the fingerprint).
fn in_files(
    run_dir: &std::path::Path,
    agent: &crate::runner::Observed,
    run: &Run,
    pr: Option<&PullRequest>,
    ci: Checks,
    deploy: Checks,
) -> InFiles {
    let progress_path = run_dir.join("progress.jsonl");
    // the whole lines of its tail: memory per run is bounded, not the file
    let read = crate::runner::output::progress(run_dir);
    let blocked = blocked(agent, &read.lines);
    let written = modified(&progress_path).map(crate::clock::ts);
    let phase = progress::latest_phase(&read.lines, written.as_deref());
    let log_path = run_dir.join("agent.log");
    let log_len = std::fs::metadata(&log_path).map(|m| m.len()).unwrap_or(0);
    let pr_state = pr
        .map(|p| format!("{}:{}", p.state, p.merged))
        .unwrap_or_default();
    let fp = progress::fingerprint(&Marks {
        progress_len: read.len,
        log_len,
        runner_marks: &agent.marks,
        head_sha: pr.map(|p| p.head.sha.as_str()),
        ci,
        pr_state: &pr_state,
        deploy,
        turns: run.turns,
    });
    let wrote_at = [modified(&progress_path), modified(&log_path)]
        .into_iter()
        .flatten()
        .max();
    InFiles {
        blocked,
        phase,
        fp,
        wrote_at,
    }
}

/// What the agent is blocked on: the runner's own report (an agent thread's
/// `blocked`) first, else the progress file's lines.
fn blocked(agent: &crate::runner::Observed, lines: &[u8]) -> Option<Blocked> {
    agent
        .blocked
        .clone()
        .or_else(|| progress::blocked_in(lines))
        // redacted as the agent wrote it, before a comment cuts and escapes it
        .map(|b| Blocked {
            reason: crate::redact::text(&b.reason).into_owned(),
            questions: b
                .questions
                .iter()
                .map(|q| crate::redact::text(q).into_owned())
                .collect(),
        })
}

/// What watch knows of a run without the forge or the agent's checkout: the
/// agent as its runner sees it, its spend, its stored conversation (`talk`)
/// and the progress clock from its files and the store. For the limits of a
/// run whose reads failed (`decide`).
pub(crate) fn blind(w: &Watch, run: &Run, talk: crate::store::talk::Talk) -> Result<Seen> {
    let age = age(w, run);
    let run_dir = w.t.run_dir(run);
    let agent = w.t.runner.observe(run.handle.as_ref(), &run_dir)?;
    let (spend_usd, spend_moved) = super::spend::read(w, run, &run_dir, &agent);
    let stored = run
        .last_progress_at
        .as_deref()
        .and_then(crate::clock::parse)
        .or_else(|| crate::clock::parse(&run.created_at))
        .unwrap_or(w.t.now);
    let wrote = [
        modified(&run_dir.join("progress.jsonl")),
        modified(&run_dir.join("agent.log")),
        agent.log_at,
    ]
    .into_iter()
    .flatten()
    .max();
    let last = wrote.map_or(stored, |t| t.max(stored));
    Ok(Seen {
        run: run.clone(),
        issue_open: true,
        in_progress_label: true,
        issue_closed_as: None,
        pr: None,
        afk_branch: false,
        ci: Verdict::none(),
        ci_sha: None,
        ci_newest_at: None,
        deploy: Checks::None,
        agent: agent.agent,
        blocked: None,
        log_end: None,
        cannot_start: agent.cannot_start,
        forwarded: super::forward::Forward::default(),
        since_progress: progress::since(last, w.t.now),
        spend_usd,
        gateway_stop: crate::run_files::gateway_stop(&run_dir),
        agent_budget_stop: crate::run_files::agent_budget_stop(&run_dir, agent.agent),
        agent_stop_limit: crate::run_files::agent_stop_limit(&run_dir),
        phase: None,
        heard: super::talk::Heard {
            talk,
            ..Default::default()
        },
        record: ToRecord {
            spend: spend_moved,
            ..Default::default()
        },
        blind: true,
        age,
        run_dir,
    })
}
