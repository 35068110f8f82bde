//! `afk poll`: one dispatch tick (docs/how-it-works.md#afk-poll-step-by-step).
//! Kill switch → opening → resolve what a dead tick left (`claims.rs`) → per
//! repo, in parallel, gather facts and let `core::dispatch` pick (`examine.rs`)
//! → the global cut → per winner: claim in SQLite → start the agent → label
//! (`claims.rs`).

mod claims;
mod examine;
mod facts;
mod report;
mod sessions;
#[cfg(test)]
mod tests;

use super::Scope;
use crate::core::dispatch::{self, Reason};
use crate::core::run_state::RunStatus;
use crate::forge::fan_out;
use crate::session::Session;
use crate::tick::{self, ErrorItem, Tick, record_transient};
use crate::types::{RepoName, TickKind};
use anyhow::Result;
use report::human;
pub use report::{Dispatched, Reconciled, Report, Skipped};
use std::collections::BTreeSet;

/// What one tick did.
pub type Ended<'s> = tick::Ended<'s, Report>;

/// One poll tick over `scope`; `afk poll` prints it, the benchmark and the
/// demo read it.
pub fn tick<'s>(ctx: &'s Session, scope: &Scope) -> Result<Ended<'s>> {
    tick_if(ctx, scope, &tick::Event::cron())
}

/// [`tick`] for an event (`tick::Event`: afk hook's delivery recorded
/// under the tick's lock, its bounded wait for a tick that took the lock).
pub fn tick_if<'s>(ctx: &'s Session, scope: &Scope, event: &tick::Event) -> Result<Ended<'s>> {
    // 1. The kill switch: decided from the config alone, before any I/O
    // (then the stop file, in the opening).
    if !ctx.config().poll.enabled {
        let head = tick::Head::off(TickKind::Poll, ctx.tense(), "poll.enabled = false".into());
        let report = <Report as tick::TickReport>::quiet(head);
        let human = tick::TickReport::quiet_human(&report);
        return Ok(Ended::quiet(report, human));
    }
    tick::open_if(ctx, TickKind::Poll, event, |t| poll(t, scope))
}

/// The tick itself, the same code whether its edges are real or dry.
fn poll<'s>(t: Box<Tick<'s>>, scope: &Scope) -> Result<Ended<'s>> {
    let cfg = t.config();
    let mut errors: Vec<ErrorItem> = vec![];

    // 2. What a dead tick left: claims resolved, started agents labelled.
    errors.extend(crate::claims::recover_claims(&t));
    let (reconciled, errs) = claims::reconcile_labels(&t)?;
    errors.extend(errs);

    // 3-5. Per repo, in parallel: list, gate (frozen, budget, locked), pick;
    // a winner no cut could take is dispatched at once (step 7).
    let book = crate::budget::book(&t)?;
    let stops = book.stops(&cfg.budget, &cfg.poll.allowlist);
    let templates = claims::resolve_templates(&t)?;
    let began = time::OffsetDateTime::now_utc();
    let examined = examine_all(&t, &stops, scope, (&book, &templates))?;
    errors.extend(examined.errors);
    let mut skipped = examined.skipped;
    if *scope == Scope::All {
        skipped.extend(unplaced(&t));
    }

    // 6. The global cut.
    let take = cut(cfg, examined.winners, examined.in_flight, &mut skipped);
    keyed(&t, &mut skipped);
    log_decisions(&t, &skipped, &take);
    if *scope == Scope::All {
        // a scoped tick saw one repository: the status issue keeps the
        // last whole tick's skips
        record_skips(&t.store(), &skipped);
    }

    // 7. Dispatch each winner: claim -> prompt -> start -> label -> dispatched.
    let results = match examined.dispatched {
        Some(done) => done,
        None => fan_out(&take, cfg.forge.concurrency, |(w, _)| {
            dispatch_routed(&t, &book, &templates, w)
        }),
    };
    let mut dispatched = vec![];
    for (d, e) in results {
        dispatched.extend(d);
        errors.extend(e);
    }
    sessions::tell(&t, &skipped, &dispatched);
    if crate::spans::on() {
        dispatch_spans(&t, &dispatched, &errors, began);
    }
    record_transient(&t.journal, &errors, TickKind::Poll);
    let errors = tick::one_per_cause(errors);
    let writes = t.writes();
    let mut human = human(t.tense(), &reconciled, &dispatched, &skipped, &errors);
    for s in &stops {
        human.push_str(&format!("{}\n", s.text));
    }
    human.push_str(&tick::would_write(&writes));
    Ok(Ended {
        code: if errors.is_empty() { 0 } else { 1 },
        report: Report {
            head: tick::Head::on(TickKind::Poll, t.tense()),
            reconciled,
            dispatched,
            skipped,
            budget: stops,
            errors,
            requests: t.forge_requests().0,
            costly_requests: t.forge_requests().1,
            writes,
        },
        human,
        tick: Some(t),
    })
}

type Take = Vec<(examine::Winner, dispatch::ReadyIssue)>;

/// A dispatch's outcome: the run, the error.
type Outcome = (Option<Dispatched>, Option<ErrorItem>);

/// Repos examined at once per request the client lets be in flight.
const EXAMINE_PER_REQUEST: usize = 8;

/// What examining every repository found.
struct Examined {
    skipped: Vec<Skipped>,
    errors: Vec<ErrorItem>,
    winners: Take,
    /// runs in flight before the tick
    in_flight: usize,
    /// each winner's dispatch, in the allowlist's order, when no cut could
    /// take one (`dispatch::cut_cannot_bind`): each went as soon as its
    /// repository was examined
    dispatched: Option<Vec<Outcome>>,
}

/// Every allowlisted repo, in parallel: its skips, errors and winner; and
/// how many runs are in flight. When the global cut can take no winner,
/// each is dispatched in its repository's worker, at most
/// `forge.concurrency` at once, while the other repositories are read.
fn examine_all(
    t: &Tick,
    stops: &[crate::core::budget::spend::Stop],
    scope: &Scope,
    (book, templates): (&crate::budget::Book, &claims::Templates),
) -> Result<Examined> {
    let cfg = t.config();
    // the store is let go before the repos are examined: a winner's answers
    // are read against it and kept in it (`facts::Lookup::answers`)
    let (in_flight, frozen, handled, escalated) = {
        let store = t.store();
        (
            // every run in flight counts toward the global cap, one whose stored
            // repo does not parse too; it names no allowlisted repo, so it makes
            // none busy
            store.runs_in_each(&RunStatus::in_flight_set())?,
            store
                .frozen_repos()?
                .into_iter()
                .collect::<BTreeSet<RepoName>>(),
            store.handled_armings()?,
            store.latest_escalations()?,
        )
    };
    let busy: BTreeSet<&RepoName> = in_flight.iter().flatten().map(|r| &r.repo).collect();
    // more repos at once than requests in flight (the client holds those to
    // forge.concurrency): a repo's next request waits on its last answer,
    // so the others' fill the wire meanwhile
    let width = cfg
        .forge
        .concurrency
        .saturating_mul(EXAMINE_PER_REQUEST)
        .min(64);
    let repos: Vec<RepoName> = cfg
        .poll
        .allowlist
        .iter()
        .filter(|r| scope.has_repo(r))
        .cloned()
        .collect();
    let p = &cfg.poll;
    let at_once = dispatch::cut_cannot_bind(
        repos.len(),
        in_flight.len(),
        p.max_in_flight,
        p.max_per_tick,
    );
    let starting = Permits::new(cfg.forge.concurrency);
    let outcomes = fan_out(&repos, width, |repo| {
        let o = examine::examine_repo(
            t,
            &handled,
            &escalated,
            repo,
            examine::Known {
                frozen: frozen.contains(repo),
                busy: busy.contains(repo),
                over_budget: crate::core::budget::spend::stops_repo(stops, repo),
            },
        );
        let done = match (&o.winner, at_once) {
            (Some((w, _)), true) => Some(starting.hold(|| dispatch_routed(t, book, templates, w))),
            _ => None,
        };
        (o, done)
    });
    let mut out = Examined {
        skipped: vec![],
        errors: vec![],
        winners: vec![],
        in_flight: in_flight.len(),
        dispatched: at_once.then(Vec::new),
    };
    for (o, done) in outcomes {
        out.skipped.extend(o.skipped);
        out.errors.extend(o.errors);
        out.winners.extend(o.winner);
        if let (Some(all), Some(d)) = (out.dispatched.as_mut(), done) {
            all.push(d);
        }
    }
    Ok(out)
}

/// At most `n` holders at once: the dispatches of a tick that starts them
/// in its repositories' workers, as many as a separate fan-out would.
struct Permits {
    left: std::sync::Mutex<usize>,
    freed: std::sync::Condvar,
}

impl Permits {
    fn new(n: usize) -> Permits {
        Permits {
            left: std::sync::Mutex::new(n.max(1)),
            freed: std::sync::Condvar::new(),
        }
    }

    /// `f` run while holding a permit, waiting for one if none is left.
    fn hold<R>(&self, f: impl FnOnce() -> R) -> R {
        let mut left = self.left.lock().unwrap_or_else(|p| p.into_inner());
        while *left == 0 {
            left = self.freed.wait(left).unwrap_or_else(|p| p.into_inner());
        }
        *left -= 1;
        drop(left);
        let r = f();
        *self.left.lock().unwrap_or_else(|p| p.into_inner()) += 1;
        self.freed.notify_one();
        r
    }
}

/// The skips as the status issue shows them (`status_issue`,
/// docs/configuration.md); a state file that cannot take them now leaves the
/// last ones, and costs the tick nothing.
fn record_skips(store: &crate::store::Store, skipped: &[Skipped]) {
    let rows: Vec<(String, u64, String)> = skipped
        .iter()
        .map(|k| {
            let why = match &k.detail {
                Some(d) => format!("{}: {d}", k.reason),
                None => k.reason.to_string(),
            };
            let repo = k.repo.as_ref().map(|r| r.to_string()).unwrap_or_default();
            (repo, k.issue.0, why)
        })
        .collect();
    if let Err(e) = store.record_poll_skips(&rows) {
        crate::log::warn(&format!(
            "poll: the skips are not recorded for the status issue: {e:#}"
        ));
    }
}

/// A tracker's armed issues the map places in no repository, or in several:
/// worked on nowhere, each a skip (a scoped tick looks at one repository
/// and says none). The list is the one the repositories' reads made this
/// tick; where it failed, their errors said so.
fn unplaced(t: &Tick) -> Vec<Skipped> {
    let cfg = t.config();
    if cfg.tracker.is_none() {
        return vec![];
    }
    let found = t
        .forge()
        .and_then(|f| f.unplaced(&cfg.poll.ready_label))
        .unwrap_or_default();
    found
        .into_iter()
        .map(|u| Skipped {
            repo: None,
            issue: u.number,
            key: Some(u.key.clone()),
            reason: match u.entries.is_empty() {
                true => Reason::Unmapped,
                false => Reason::AmbiguousMapping,
            },
            detail: Some(crate::core::explain::unplaced(&u.key, &u.entries)),
        })
        .collect()
}

/// The global cut (`max_in_flight`, `max_per_tick`): the winners kept; the
/// rest are skipped as `capacity`, with the limit that was reached.
fn cut(
    cfg: &crate::config::Config,
    winners: Take,
    in_flight: usize,
    skipped: &mut Vec<Skipped>,
) -> Take {
    let p = &cfg.poll;
    let (take, over) =
        dispatch::apply_capacity(winners, in_flight, p.max_in_flight, p.max_per_tick);
    for (w, _) in over {
        skipped.push(Skipped {
            repo: Some(w.repo),
            issue: w.issue.number,
            key: None,
            reason: Reason::Capacity,
            detail: Some(crate::core::explain::capacity(
                in_flight,
                p.max_in_flight,
                p.max_per_tick,
            )),
        });
    }
    take
}

/// A winner on the template version routing gives it: claimed, started and
/// labelled; past tick_timeout or after a SIGTERM, not claimed (the next
/// tick picks it).
fn dispatch_routed(
    t: &Tick,
    book: &crate::budget::Book,
    templates: &claims::Templates,
    w: &examine::Winner,
) -> Outcome {
    if crate::deadline::stopping().is_some() {
        let why = "not dispatched: the tick is stopping; the next tick picks it".to_string();
        return (
            None,
            Some(ErrorItem::msg(&w.repo, Some(w.issue.number), why)),
        );
    }
    if let Some(why) = crate::budget::unpriced_refusal(t.config()) {
        let why = format!("not dispatched: {why}");
        return (
            None,
            Some(ErrorItem::msg(&w.repo, Some(w.issue.number), why)),
        );
    }
    // every watch of the run asks who afk is: a token the forge refuses
    // that (a Gitea scoped token without read:user) starts no agent
    if let Err(e) = t.forge().and_then(|f| f.me()) {
        let why = format!("not dispatched: {}", crate::command_error::error_line(&e));
        let item = ErrorItem::msg(&w.repo, Some(w.issue.number), why).hints_of(&e);
        return (None, Some(item));
    }
    claims::dispatch_one(t, book, templates.route(w), w)
}

/// Each dispatch's `afk.poll` span, its error the one the report has
/// for the issue.
fn dispatch_spans(
    t: &Tick,
    dispatched: &[Dispatched],
    errors: &[ErrorItem],
    began: time::OffsetDateTime,
) {
    let store = t.store();
    for d in dispatched {
        let Some(Ok(Some(run))) = d.run_id.map(|id| store.run(id)) else {
            continue;
        };
        let messages: Vec<&str> = errors
            .iter()
            .filter(|e| e.repo == d.repo.as_str() && e.issue == Some(d.issue))
            .map(|e| e.message.as_str())
            .collect();
        crate::spans::tick_work(
            &store,
            crate::spans::TickWork {
                kind: crate::types::TickKind::Poll,
                run: &run,
                action: "dispatch",
                reason: None,
                turn: Some(1),
                error: crate::core::telemetry::spans::error_type(&messages),
                began,
            },
        );
    }
}

/// Each skipped tracker issue's key, from the reads the tick made of it
/// (none on a forge's issue; an issue the tracker cannot name keeps its
/// number).
fn keyed(t: &Tick, skipped: &mut [Skipped]) {
    for k in skipped.iter_mut().filter(|k| k.key.is_none()) {
        if let Some(repo) = &k.repo {
            k.key = report::key_of(t, repo, k.issue);
        }
    }
}

/// `-v`: one line per decision with its why.
fn log_decisions(t: &Tick, skipped: &[Skipped], take: &Take) {
    for k in skipped {
        let why = k
            .detail
            .as_deref()
            .map(|d| format!(": {d}"))
            .unwrap_or_default();
        crate::log::decision(&format!("{}: {}{why}", k.place(), k.reason));
    }
    for (w, r) in take {
        let key = report::key_of(t, &w.repo, w.issue.number);
        crate::log::decision(&format!(
            "{}: dispatch: the repo's first eligible ready issue (priority {})",
            crate::core::prompt::place(w.repo.as_str(), w.issue.number, key.as_deref()),
            r.priority
        ));
    }
}
