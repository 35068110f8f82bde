//! The claim → start → label sequence of a dispatch, and the resolution of
//! whatever a dead tick left of it. The next tick holds the poll lock, so any
//! claim still `dispatching` belongs to a tick that is gone: the agent's own
//! record of its start (`agent.pid`, written by the process that becomes the
//! agent before the agent runs) says whether it started.

use super::examine::Winner;
use super::report::{Dispatched, Reconciled};
use crate::core::canary::VersionStatus;
use crate::core::prompt;
use crate::core::routing::{self, Route};
use crate::core::run_state::RunStatus;
use crate::forge::fan_out;
use crate::runner::{Turn, TurnOf};
use crate::store::Store;
use crate::store::runs::NewRun;
use crate::tick::{ErrorItem, Tick};
use anyhow::Result;

/// An agent started but its label never landed: label it now, never dispatch again.
pub fn reconcile_labels(t: &Tick) -> Result<(Vec<Reconciled>, Vec<ErrorItem>)> {
    let (cfg, forge, store) = (t.config(), t.forge()?, t.store());
    let pending = store.runs_in_each(&[RunStatus::Started])?;
    let (mut done, mut errors) = (vec![], vec![]);
    if pending.is_empty() {
        return Ok((done, errors));
    }
    let results = fan_out(&pending, cfg.forge.concurrency, |r| match r {
        Ok(r) => forge.add_label(&r.repo, r.issue, &cfg.poll.in_progress_label),
        Err(_) => Ok(()),
    });
    for (r, res) in pending.iter().zip(results) {
        let r = match r {
            Ok(r) => r,
            Err(bad) => {
                errors.push(ErrorItem::unreadable(bad, "reconcile "));
                continue;
            }
        };
        let moved = |()| store.transition(r.id, RunStatus::Started, RunStatus::Dispatched);
        match res.and_then(moved) {
            Ok(_) => {
                // the earlier add, unanswered or refused, is settled: the
                // label is on the issue now (an add is idempotent)
                afk_host::journal::record(
                    "forge.reconciled",
                    &serde_json::json!({"run": r.id.0, "what": "label",
                        "label": cfg.poll.in_progress_label, "landed": true}),
                );
                done.push(Reconciled {
                    repo: r.repo.clone(),
                    issue: r.issue,
                    run_id: r.id,
                })
            }
            Err(e) => {
                let mut item = ErrorItem::from_err(&r.repo, Some(r.issue), &e);
                item.message = format!("reconcile run {}: {e:#}", r.id);
                errors.push(item)
            }
        }
    }
    Ok((done, errors))
}

pub struct ResolvedTemplate {
    pub preamble: String,
    pub version_id: Option<i64>,
    pub version: Option<i64>,
    pub hash: Option<String>,
}

impl ResolvedTemplate {
    fn of(v: crate::store::templates::TemplateVersion) -> ResolvedTemplate {
        ResolvedTemplate {
            preamble: v.body,
            version_id: Some(v.id),
            version: Some(v.version),
            hash: Some(v.hash),
        }
    }
}

/// The versions a tick routes between
/// (docs/configuration.md#harvest-the-canary-for-prompt-templates):
/// `poll.template`'s current version (else the built-in implementer preamble)
/// and its live canary, read once per tick, with `harvest.sample` and
/// `AFK_CANARY_SEED` as this tick sees them.
pub struct Templates {
    pub current: ResolvedTemplate,
    pub canary: Option<ResolvedTemplate>,
    routing_on: bool,
    sample: f64,
    seed: Option<u64>,
}

pub fn resolve_templates(t: &Tick) -> Result<Templates> {
    let (cfg, store) = (t.config(), t.store());
    let name = &cfg.poll.template;
    let current = match store.template_with_status(name, VersionStatus::Current)? {
        Some(v) => ResolvedTemplate::of(v),
        None => ResolvedTemplate {
            preamble: prompt::DEFAULT_PREAMBLE.to_string(),
            version_id: None,
            version: None,
            hash: None,
        },
    };
    let routing_on = cfg.harvest.canary;
    let canary = if routing_on {
        store
            .template_with_status(name, VersionStatus::Canary)?
            .map(ResolvedTemplate::of)
    } else {
        None
    };
    let seed = if routing_on {
        routing::parse_seed(std::env::var("AFK_CANARY_SEED").ok().as_deref())
            .map_err(|e| anyhow::Error::new(crate::command_error::UsageError(e.0)))?
    } else {
        None
    };
    Ok(Templates {
        current,
        canary,
        routing_on,
        sample: cfg.harvest.sample,
        seed,
    })
}

impl Templates {
    /// The version a winner's dispatch uses: the seeded draw when
    /// `AFK_CANARY_SEED` is set (so a dry run predicts the real tick), else
    /// a draw from the OS. No draw without a live canary.
    pub fn route(&self, w: &Winner) -> &ResolvedTemplate {
        let Some(canary) = self.canary.as_ref().filter(|_| self.routing_on) else {
            return &self.current;
        };
        let u = match self.seed {
            Some(seed) => routing::seeded_draw(seed, &w.repo, w.issue.number, w.ready_event_id),
            None => os_draw(),
        };
        match routing::route(self.routing_on, true, self.sample, u) {
            Route::Canary => canary,
            Route::Current => &self.current,
        }
    }
}

/// A uniform draw in [0, 1) from the OS (`/dev/urandom`; std's randomly
/// keyed hasher where there is none).
fn os_draw() -> f64 {
    use std::io::Read;
    let mut b = [0u8; 8];
    let bits = match std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut b)) {
        Ok(()) => u64::from_le_bytes(b),
        Err(_) => {
            use std::hash::{BuildHasher, Hasher};
            let mut h = std::collections::hash_map::RandomState::new().build_hasher();
            h.write_u128(
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_nanos())
                    .unwrap_or_default(),
            );
            h.finish()
        }
    };
    routing::unit(bits)
}

/// The first turn's prompt: the template's preamble, the issue, and the
/// lessons the journal feeds back.
/// The first prompt of the run on `branch`, its issue named `reference`.
fn prompt_for(
    t: &Tick,
    tpl: &ResolvedTemplate,
    w: &Winner,
    (reference, branch): (&str, &str),
) -> String {
    let cfg = t.config();
    let lessons: Vec<String> = t
        .journal
        .for_prompt(&w.repo, cfg.lessons.in_prompt)
        .iter()
        .map(crate::lessons::prompt_line)
        .collect();
    prompt::build(&prompt::PromptInput {
        preamble: &tpl.preamble,
        repo: &w.repo,
        issue: w.issue.number,
        reference,
        branch,
        title: &w.issue.title,
        url: &w.issue.html_url,
        lessons: &lessons,
        body: if cfg.poll.include_body {
            w.issue.body.as_deref()
        } else {
            None
        },
        answers: &w.answers,
        answers_left_out: w.answers_left_out,
        workspace: t.settled.workspace,
    })
}

/// Only after a successful start: the in-progress label (its failure is the
/// error returned; the next tick adds it), and a re-armed issue is the
/// agent's again, no longer a person's.
fn label_started(t: &Tick, w: &Winner, run_id: crate::types::RunId) -> Option<ErrorItem> {
    let cfg = t.config();
    let labelled = t.forge().and_then(|f| {
        f.add_label(&w.repo, w.issue.number, &cfg.poll.in_progress_label)?;
        Ok(f)
    });
    let forge = match labelled {
        Ok(f) => f,
        Err(e) => {
            let mut item = ErrorItem::from_err(&w.repo, Some(w.issue.number), &e);
            item.message = format!(
                "agent started (run {run_id}) but labelling failed: {e:#}; the next tick adds the label"
            );
            return Some(item);
        }
    };
    if w.issue.has_label(&cfg.watch.human_label)
        && let Err(e) = forge.remove_label(&w.repo, w.issue.number, &cfg.watch.human_label)
    {
        crate::log::warn(&format!(
            "{}#{}: could not remove \"{}\": {e:#}",
            w.repo, w.issue.number, cfg.watch.human_label
        ));
    }
    None
}

/// The claim in SQLite, before any side effect: the run row for `w`.
fn claim(
    cfg: &crate::config::Config,
    store: &Store,
    tpl: &ResolvedTemplate,
    w: &Winner,
    branch: &str,
) -> Result<crate::types::RunId> {
    store.claim_run(&NewRun {
        repo: &w.repo,
        issue: w.issue.number,
        title: &w.issue.title,
        url: &w.issue.html_url,
        ready_event_id: Some(w.ready_event_id),
        armed_at: w.armed_at,
        template_name: &cfg.poll.template,
        template_version_id: tpl.version_id,
        template_version: tpl.version,
        template_hash: tpl.hash.as_deref(),
        runner_kind: cfg.runner.kind,
        branch,
    })
}

/// The run marked failed with `msg` (nothing started): the words, and the
/// store's own error when it could not record it.
fn failed(store: &Store, run_id: crate::types::RunId, msg: String) -> String {
    match store.mark_failed(run_id, &msg) {
        Ok(()) => msg,
        Err(e2) => format!("{msg}; and {e2:#}"),
    }
}

/// The agent's checkout of the run's branch
/// (docs/how-it-works.md#the-workspace) in afk's workspace, before its first
/// turn; the error's words when it cannot be made.
fn checkout(
    t: &Tick,
    w: &Winner,
    run_id: crate::types::RunId,
    (run_dir, branch): (&std::path::Path, &str),
) -> Result<(), crate::types::Invalid> {
    if !t.workspace.afks() {
        return Ok(());
    }
    let at = crate::workspace::At {
        repo: &w.repo,
        issue: w.issue.number,
        run_id,
        run_dir,
        branch,
    };
    t.forge()
        .and_then(|f| t.workspace.make(f, &at))
        .map_err(|e| format!("the agent's checkout could not be made: {e:#}"))?;
    crate::crash::point("poll:checkout");
    Ok(())
}

/// Claim → prompt → start → record → label → dispatched. Whatever step fails,
/// the state left behind is one the next tick resolves. `book`: the day's
/// runs and their spend, what a new agent is handed of the money limits.
pub fn dispatch_one(
    t: &Tick,
    book: &crate::budget::Book,
    tpl: &ResolvedTemplate,
    w: &Winner,
) -> (Option<Dispatched>, Option<ErrorItem>) {
    let cfg = t.config();
    let fail = |m: String| ErrorItem::msg(&w.repo, Some(w.issue.number), m);
    // each worker its own connection: they run in parallel
    let store = match t.source().open() {
        Ok(s) => s.at(t.now),
        Err(e) => return (None, Some(fail(format!("{e:#}")).hints_of(&e))),
    };
    // a tracker's issue is named by its key, lower-cased: its id could be a
    // forge issue's or a work item's number (docs/trackers.md)
    let branch = match t
        .forge()
        .and_then(|f| f.tracker_ref(&w.repo, w.issue.number))
    {
        Ok(Some((key, _))) => prompt::branch_for_key(&key),
        Ok(None) => prompt::branch_for(w.issue.number),
        Err(e) => return (None, Some(fail(format!("{e:#}")).hints_of(&e))),
    };
    let run_id = match claim(cfg, &store, tpl, w, &branch) {
        Ok(id) => id,
        Err(e) => return (None, Some(fail(format!("{e:#}")).hints_of(&e))),
    };
    crate::crash::point("poll:claimed");
    let key = match t
        .forge()
        .and_then(|f| f.tracker_ref(&w.repo, w.issue.number))
    {
        Ok(Some((key, _))) => Some(key),
        _ => None,
    };
    let reference = key
        .clone()
        .unwrap_or_else(|| format!("#{}", w.issue.number));
    let text = prompt_for(t, tpl, w, (&reference, &branch));
    let run_dir = t.paths().runs.join(run_id.to_string());
    if let Err(msg) = checkout(t, w, run_id, (&run_dir, &branch)) {
        // nothing started, nothing labelled: a later tick tries the issue again
        return (None, Some(fail(failed(&store, run_id, msg.to_string()))));
    }
    let started = start(t, book, w, run_id, (&run_dir, &branch, &text));
    crate::crash::point("poll:started");
    let handle = match started {
        Ok(h) => h,
        // the start may have landed: the claim stays `dispatching` (no label),
        // and the next tick's recovery finds the agent or starts it
        Err(e) if crate::runner::start_unknown(&e).is_some() => {
            return (
                None,
                Some(fail(format!("run {run_id}: {e:#}")).hints_of(&e)),
            );
        }
        Err(e) => {
            let msg = failed(&store, run_id, format!("agent start failed: {e:#}"));
            return (None, Some(fail(msg).hints_of(&e)));
        }
    };
    let d = Dispatched {
        repo: w.repo.clone(),
        issue: w.issue.number,
        key,
        // a dry run's copy of the store ends with the tick: no id to name
        run_id: Some(run_id).filter(|_| t.source().lasts()),
        template: cfg.poll.template.clone(),
        template_version: tpl.version,
        adf_unknown_nodes: unknown_nodes(t, w),
    };
    if let Err(e) = store.mark_started(run_id, &run_dir.to_string_lossy(), &handle) {
        // the agent runs and recorded its own start: the next tick finds it
        return (
            Some(d),
            Some(fail(format!(
                "agent started (run {run_id}) but could not be recorded: {e:#}; the next tick records and labels it"
            ))),
        );
    }
    crate::run_files::start_recorded(&run_dir);
    crate::crash::point("poll:recorded");
    if let Some(item) = label_started(t, w, run_id) {
        return (Some(d), Some(item));
    }
    crate::crash::point("poll:labelled");
    if let Err(e) = store.transition(run_id, RunStatus::Started, RunStatus::Dispatched) {
        return (Some(d), Some(fail(format!("{e:#}"))));
    }
    superseded(t, &store, w, run_id);
    (Some(d), None)
}

/// The run's first turn, started on the runner with what the day's money
/// limits leave it (`book`).
fn start(
    t: &Tick,
    book: &crate::budget::Book,
    w: &Winner,
    run_id: crate::types::RunId,
    (run_dir, branch, text): (&std::path::Path, &str, &str),
) -> Result<crate::types::RunnerHandle> {
    let cfg = t.config();
    let gate = book.gate_for(&cfg.budget, &w.repo);
    // a dry run writes nothing: no run folder either. A real one makes the
    // new run's folder (afk's own, under its state) for the turn's start
    if t.tense() == crate::edges::Tense::Did {
        match afk_host::private_files::private_dir(run_dir) {
            Ok(()) => crate::run_files::keep_turn_start(run_dir, 1, gate),
            Err(e) => crate::log::warn(&format!(
                "cannot make the run's folder {}: {}",
                run_dir.display(),
                afk_host::os_words(&e)
            )),
        }
    }
    t.runner.start(&Turn {
        run_id: TurnOf::Run(run_id),
        repo: &w.repo,
        issue: w.issue.number,
        title: &w.issue.title,
        branch,
        prompt: text,
        run_dir,
        turn: 1,
        env: &crate::workspace::turn_env(cfg),
        budget_usd: book.left_for(&cfg.budget, &w.repo),
        gate,
    })
}

/// A re-armed issue's new run has started: the checkouts its escalated runs
/// kept for a person go (docs/how-it-works.md#the-workspace). A checkout that
/// cannot be removed is said, never a failed dispatch; the next re-arm tries
/// again.
fn superseded(t: &Tick, store: &Store, w: &Winner, run_id: crate::types::RunId) {
    if !t.workspace.afks() {
        return;
    }
    let Ok(old) = store.escalated_before(&w.repo, w.issue.number, run_id) else {
        return;
    };
    for r in old {
        let run_dir = t.paths().runs.join(r.id.to_string());
        let at = crate::workspace::At {
            repo: &r.repo,
            issue: r.issue,
            run_id: r.id,
            run_dir: &run_dir,
            branch: &r.branch,
        };
        if let Err(e) = t.workspace.remove(&at) {
            crate::log::warn(&format!(
                "{}#{}: run {}'s checkout could not be removed: {e:#}",
                r.repo, r.issue, r.id
            ));
        }
    }
}

/// A Jira issue's count of description nodes afk did not know (None for
/// any other issue), said in the decision log when there are some.
fn unknown_nodes(t: &Tick, w: &Winner) -> Option<usize> {
    let jira = t
        .config()
        .tracker
        .as_ref()
        .is_some_and(|k| k.kind == "jira");
    let read = t
        .forge()
        .and_then(|f| f.tracker_unknown_nodes(&w.repo, w.issue.number));
    let n = read.ok().filter(|_| jira)?;
    if n > 0 {
        crate::log::decision(&format!(
            "{}: {} of the description afk does not know, written as [type] with their text",
            super::report::key_of(t, &w.repo, w.issue.number).unwrap_or_default(),
            crate::core::plural(n, "node", "nodes")
        ));
    }
    Some(n)
}
