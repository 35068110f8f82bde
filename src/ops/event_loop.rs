//! The loop on events (docs/hook.md), one place for every entry point that
//! starts a watch or an event's tick: cron's `afk watch` ([`watch_all`]),
//! `afk hook`'s signed delivery ([`work_of`], then [`delivery_ticks`]), the
//! watch a turn's end starts ([`after_turn`]) and the demo's watch ticks
//! ([`watch_tick`]). Every watch tick of theirs goes through
//! [`before_watch`] first (the change gate's advisories), so no entry point
//! differs in what a watch tick checks first.
//!
//! An event's tick holds its repository's slot for its kind, or is folded
//! into the follow-up of the tick that holds it ([`slot_or_fold`]); then
//! [`event_ticks`] runs the scoped tick ([`scoped`]: `ops::poll` or
//! `ops::watch` over `Scope::Repo`, under `tick::run` as cron's) and at
//! most a few follow-ups. The slot and its due flag are `events.rs`'s (the
//! files), the rules `core::event_fold`'s; nothing under `ops::poll` or
//! `ops::watch` knows an event started it.
//!
//! Below the commands (`commands/hook.rs`, `commands/watch.rs` and the
//! demo call it; it names no command), above poll's and watch's ticks.

use super::{Scope, poll, watch};
use crate::config::Config;
use crate::core::event_fold;
use crate::core::hook::{self, Sender, Work};
use crate::events::{Slot, Taken, left_until, ms_after, stamp_now, take_or_fold};
use crate::session::{Outcome, Session};
use crate::types::{RepoName, RunId, TickKind};
use anyhow::Result;

/// Every precondition of a watch tick, in order, before the tick opens (its
/// lock, a wait for agents, the forge): the change gate's advisories first
/// (`advisories::check`: a record that is not one stops the tick, exit 2,
/// naming the file, never a silent pass; nothing to check without
/// `gate.advisories`). Every watch goes through it: cron's ([`watch_all`]),
/// an event's ([`scoped`]: a delivery's, its follow-ups', a turn's end's)
/// and the demo's ([`watch_tick`]).
pub fn before_watch(ctx: &Session) -> Result<()> {
    crate::advisories::check(ctx.load()?, ctx.state_dir())
}

/// The watch of every run in flight (`afk watch`: cron's, a person's, a
/// script's): [`before_watch`]; with `wait_agents`, a wait of at most that
/// long for the running agents to end; then the tick, which outwaits an
/// event's tick holding the lock ([`outwait_event_ticks`]).
pub fn watch_all(ctx: &Session, wait_agents: Option<std::time::Duration>) -> Result<Outcome> {
    // the change gate's advisories, before the tick touches anything: a
    // record that is not one stops it here (exit 2), never a silent pass
    before_watch(ctx)?;
    if let Some(d) = wait_agents {
        watch::wait_agents_first(d);
        // and for the watch an agent's end started (docs/hook.md), so this
        // tick reports what that one did rather than step aside beside it
        ctx.load()?;
        let _ = crate::lock::wait_free(ctx.state_dir(), TickKind::Watch.as_str(), d);
    }
    // an event's tick holding the lock (a turn's end, a webhook: one
    // repository's) is waited for within hook.wait_lock, then this tick
    // runs; another watch of every run is stepped aside from, as ever (#82)
    let again = outwait_event_ticks(ctx, TickKind::Watch);
    let event = crate::tick::Event {
        first: &|_| true,
        again: &again,
    };
    crate::tick::run(ctx, TickKind::Watch, |c| {
        watch::tick_if(c, &Scope::All, &event)
    })
}

/// A watch tick over `scope` that its caller reads rather than prints (the
/// demo): [`before_watch`], then `ops::watch::tick`.
pub fn watch_tick<'s>(ctx: &'s Session, scope: &Scope) -> Result<watch::Ended<'s>> {
    before_watch(ctx)?;
    watch::tick(ctx, scope)
}

/// An event's tick of a kind over one repository (a delivery's, a
/// follow-up's, a turn's end's): `ops::poll::tick_if`, or, after
/// [`before_watch`], `ops::watch::tick_if`, under `tick::run` as cron's,
/// with `event`'s first step and try again (`one_tick`).
pub fn scoped(
    ctx: &Session,
    kind: TickKind,
    repo: &RepoName,
    event: &crate::tick::Event,
) -> Result<Outcome> {
    // a watch tick reads the gate's advisories' verdict before it touches
    // anything
    if kind == TickKind::Watch {
        before_watch(ctx)?;
    }
    let scope = Scope::Repo(repo.clone());
    match kind {
        TickKind::Poll => crate::tick::run(ctx, kind, |c| poll::tick_if(c, &scope, event)),
        _ => crate::tick::run(ctx, kind, |c| watch::tick_if(c, &scope, event)),
    }
}

/// The watch a turn's end starts (docs/hook.md#a-turns-end): the run's
/// repository's event watch, as a delivery's is (`watch_of`: its slot, or
/// folded into the follow-up of the event tick that holds it; the lock
/// waited for within `hook.wait_lock`; counted with the event ticks; each
/// tick after [`before_watch`]). The brakes hold as for every trigger:
/// nothing read or written, no flag.
pub fn after_turn(ctx: &Session, run: RunId) -> Result<Outcome> {
    crate::spans::triggered_by("turn-end");
    let cfg = ctx.load()?;
    let stopped = ctx.paths().stop.exists();
    if hook::brake(cfg.poll.enabled, stopped.then_some("")).is_some() {
        return Ok(Outcome::OK);
    }
    let repo = match ctx.read_store()?.run(run)? {
        Some(r) => r.repo,
        None => return Ok(Outcome::OK),
    };
    watch_of(ctx, cfg, &repo)
}

/// What a signed delivery starts (`core::hook::work_over`), held by the brakes
/// (kill switch, stop file: nothing read or written) and by a replay (its
/// id or what it delivered handled already); an edit it reports is kept
/// first, whatever becomes of the tick (busy lock, replay): the comment's
/// dates may never show it (docs/reviews.md#commands). With what it says
/// of a comment and the fingerprint of what was delivered.
pub fn work_of(
    ctx: &Session,
    cfg: &Config,
    dialect: Sender,
    request: &crate::webhook::Request,
    (event, delivery): (Option<&str>, Option<&str>),
) -> (Work, Option<hook::CommentNews>, String) {
    let repo = dialect.repo_of(&request.body);
    let mut allowlist: Vec<String> = cfg
        .poll
        .allowlist
        .iter()
        .map(|r| r.as_str().to_string())
        .collect();
    // a tracker's delivery ticks the repositories the tracker's map names
    if let (Sender::Jira | Sender::Linear, Some(t)) = (dialect, &cfg.tracker) {
        allowlist.retain(|r| t.map.iter().any(|e| e.repo.eq_ignore_ascii_case(r)));
    }
    let mut work = hook::work_over(dialect, event, &request.body, &allowlist);
    let stop = ctx.paths().stop.clone();
    let stop_there = stop.exists().then(|| stop.display().to_string());
    if work.ticks()
        && let Some(why) = hook::brake(cfg.poll.enabled, stop_there.as_deref())
    {
        work = Work::Ignored(why);
    }
    let news = hook::comment_news(dialect, event, &request.body);
    if matches!(work, Work::Tick(..))
        && let (Some(hook::CommentNews::Edited(id)), Some(name)) = (news, repo.as_deref())
    {
        note_edit(ctx, name, id);
    }
    if matches!(work, Work::Tick(..))
        && let (Some(hook::CommentNews::Written(Some(id))), Some(name)) = (news, repo.as_deref())
    {
        note_written(ctx, name, id);
    }
    let print = crate::webhook::fingerprint(request);
    let seen = |id: &str| handled(ctx, id);
    work = match work {
        Work::Tick(..) if delivery.is_some_and(seen) || seen(print.as_str()) => Work::Replayed,
        // each repository's tick records the delivery as its own
        // (`hook::per_repo`): those handled already are left out
        Work::Ticks(kind, repos) => {
            let left: Vec<String> = repos
                .into_iter()
                .filter(|r| {
                    let seen_here = |id: &str| seen(hook::per_repo(id, r).as_str());
                    !(delivery.is_some_and(seen_here) || seen_here(print.as_str()))
                })
                .collect();
            if left.is_empty() {
                Work::Replayed
            } else {
                Work::Ticks(kind, left)
            }
        }
        other => other,
    };
    (work, news, print)
}

/// The ticks an accepted delivery starts (docs/hook.md#bursts), once it was
/// answered: the slot for its kind and repository taken, or the event
/// folded into the follow-up of the tick that holds it (this process ends
/// at once); then the tick, a new comment's once its edit grace is past;
/// then at most one follow-up; an issue event's poll then watch, where a
/// run of the repository is in flight (the follow-up watch, `watch_of`).
pub fn delivery_ticks(
    ctx: &Session,
    cfg: &Config,
    (kind, name): (TickKind, &str),
    (delivery, print): (Option<&str>, &str),
    news: Option<hook::CommentNews>,
) -> Result<Outcome> {
    // the allowlist's own entry: the name as the config spells it
    let Some(repo) = cfg
        .poll
        .allowlist
        .iter()
        .find(|r| r.as_str().eq_ignore_ascii_case(name))
        .cloned()
    else {
        return Ok(Outcome::OK);
    };
    // a new comment is read once an edit in its own second would have been
    // reported (answered first: the forge is not kept waiting); a trigger
    // that asks now meanwhile gets its tick at once, and this comment's
    // read is that tick's follow-up (no tick takes a command from it before:
    // store::comments_in_grace)
    let grace = match news {
        Some(hook::CommentNews::Written(_)) => hook::EDIT_GRACE,
        _ => std::time::Duration::ZERO,
    };
    let not_before = ms_after(grace);
    let line = event_fold::due_line(delivery, print, not_before);
    let Some(slot) = slot_or_fold(ctx, kind, &repo, &line)? else {
        return Ok(Outcome::OK);
    };
    if !grace.is_zero() {
        slot.defer(not_before)?;
    }
    let own: Vec<&str> = delivery.into_iter().chain([print]).collect();
    let outcome = event_ticks(ctx, cfg, (kind, &repo), slot, &own)?;
    let in_flight = match ctx.read_store().and_then(|s| s.runs_in_flight()) {
        Ok(runs) => runs.iter().filter(|r| r.repo == repo).count(),
        Err(_) => 0,
    };
    if !event_fold::then_watch(kind, in_flight) {
        return Ok(outcome);
    }
    Ok(worse(outcome, watch_of(ctx, cfg, &repo)?))
}

/// The ticks of a delivery that names a project rather than a repository
/// (`Work::Ticks`: Azure DevOps's work-item and build events), once it was
/// answered: [`delivery_ticks`] for each repository in turn, each knowing
/// the delivery by its ids with the repository's name
/// (`core::hook::per_repo`), so that one repository's tick recording them
/// makes the next one's no replay. The worst of their exits.
pub fn delivery_ticks_over(
    ctx: &Session,
    cfg: &Config,
    (kind, names): (TickKind, &[String]),
    (delivery, print): (Option<&str>, &str),
) -> Result<Outcome> {
    let mut outcome = Outcome::OK;
    for name in names {
        let id = delivery.map(|d| hook::per_repo(d, name));
        let print = hook::per_repo(print, name);
        let one = delivery_ticks(ctx, cfg, (kind, name), (id.as_deref(), &print), None)?;
        outcome = worse(outcome, one);
    }
    Ok(outcome)
}

/// The watch of `repo` an event starts with no delivery of its own (a
/// turn's end; the follow-up watch of an issue event's poll): its slot, or
/// folded into the follow-up of the watch that holds it (then nothing
/// more, exit 0), and its ticks.
fn watch_of(ctx: &Session, cfg: &Config, repo: &RepoName) -> Result<Outcome> {
    let line = event_fold::due_line(None, "-", 0);
    let Some(slot) = slot_or_fold(ctx, TickKind::Watch, repo, &line)? else {
        return Ok(Outcome::OK);
    };
    event_ticks(ctx, cfg, (TickKind::Watch, repo), slot, &[])
}

/// The slot of `kind` over `repo`, or None: the event is folded into the
/// follow-up of the tick that holds it (said in the log).
pub fn slot_or_fold(
    ctx: &Session,
    kind: TickKind,
    repo: &RepoName,
    line: &str,
) -> Result<Option<Slot>> {
    match take_or_fold(ctx.state_dir(), kind, repo.as_str(), line)? {
        Taken::Mine(slot) => Ok(Some(slot)),
        Taken::Folded => {
            crate::log::info(&format!(
                "hook: a {kind} tick for {repo} started by an event runs or waits: this one is folded into its follow-up"
            ));
            Ok(None)
        }
    }
}

/// The event's tick of `kind` over `repo`, holding `slot`, then a
/// follow-up whenever a trigger was folded while the last one ran (each
/// reads the forge after every trigger before it: a burst during one tick
/// is one follow-up), at most [`event_fold::FOLLOW_UPS_MAX`] (afk's own
/// writes make events too); a flag left past them stays for the next
/// trigger or cron's watch. `own`: the ids of the delivery that started
/// it (none for a turn's end or a follow-up). Each waits for the lock
/// within `hook.wait_lock`; past it the event, and any flag, are left to
/// the next tick.
pub fn event_ticks(
    ctx: &Session,
    cfg: &Config,
    (kind, repo): (TickKind, &RepoName),
    slot: Slot,
    own: &[&str],
) -> Result<Outcome> {
    // its locks' records say an event's tick holds them: a watch of every
    // run waits for it ([`outwait_event_ticks`])
    crate::lock::as_event_ticks();
    let mut outcome = one_tick(ctx, cfg, (kind, repo), (&slot, own))?;
    let mut slot = slot;
    for _ in 0..event_fold::FOLLOW_UPS_MAX {
        let Some(held) = slot.release_or_follow(ctx.state_dir(), kind, repo.as_str()) else {
            return Ok(outcome);
        };
        crate::log::info(&format!(
            "hook: events for {repo} arrived while its {kind} tick ran: a follow-up tick"
        ));
        let again = one_tick(ctx, cfg, (kind, repo), (&held, &[]))?;
        outcome = worse(outcome, again);
        slot = held;
    }
    if slot.due() {
        crate::log::info(&format!(
            "hook: events for {repo} keep arriving after {} follow-ups: the next event or cron's watch takes them",
            event_fold::FOLLOW_UPS_MAX
        ));
    }
    Ok(outcome)
}

/// One tick of an event: a bounded wait for a tick of its kind, then the
/// scoped tick under cron's rules ([`scoped`]), which takes the due flag,
/// records the deliveries and counts itself once it holds its lock
/// ([`begins`]): the event writes nothing to the state file outside the
/// tick's lock, so a cron tick never meets it there.
fn one_tick(
    ctx: &Session,
    cfg: &Config,
    (kind, repo): (TickKind, &RepoName),
    (slot, own): (&Slot, &[&str]),
) -> Result<Outcome> {
    // a new comment's edit grace is waited out before the lock, not under
    // it; a trigger that asks now meanwhile has its tick at once, and the
    // grace is its follow-up's ([`begins`])
    slot.wait_due();
    // one bound for all the waiting: for the tick holding the lock now, and
    // for one that takes it a moment before this one does
    let until = std::time::Instant::now() + cfg.hook.wait_lock;
    if !crate::lock::wait_free(ctx.state_dir(), kind.as_str(), std::time::Duration::ZERO)? {
        crate::log::info(&format!(
            "hook: a {kind} tick holds the lock: this event's tick for {repo} waits for it (hook.wait_lock {})",
            crate::types::format_duration(cfg.hook.wait_lock)
        ));
    }
    if !free_in_time(ctx, kind, until, repo)? {
        return Ok(Outcome::OK);
    }
    let now = stamp_now();
    let first = |t: &crate::tick::Tick| begins(t, kind, (own, slot), &now);
    let again = || {
        free_in_time(ctx, kind, until, repo).unwrap_or_else(|e| {
            crate::log::warn(&format!("hook: {e:#}"));
            false
        })
    };
    let event = crate::tick::Event {
        first: &first,
        again: &again,
    };
    scoped(ctx, kind, repo, &event)
}

/// A tick's `again` (`tick::Event`) for a watch of every run (`afk watch`:
/// cron's, a person's, a script's): one that finds its lock held by an
/// event's tick (a turn's end, a webhook: one repository's work, not
/// this tick's) waits for it, within `hook.wait_lock` in all, and then
/// runs its own tick; from any other holder it steps aside at once, as
/// ever (#82: a script's `afk watch` right after `--wait-agents` stepped
/// aside from the turn's own watch). Said in one line as it starts waiting.
pub fn outwait_event_ticks(ctx: &Session, kind: TickKind) -> impl Fn() -> bool + '_ {
    let until = std::cell::Cell::new(None::<std::time::Instant>);
    move || {
        let dir = ctx.state_dir();
        let Some(pid) = crate::lock::held_by_event(dir, kind.as_str()) else {
            return false;
        };
        let end = until.get().unwrap_or_else(|| {
            let wait = ctx.config().hook.wait_lock;
            crate::log::info(&format!(
                "{kind}: an event's {kind} tick (pid {pid}: a turn's end or a webhook, over one repository) holds the lock: this tick waits for it, at most hook.wait_lock ({}), then runs",
                crate::types::format_duration(wait)
            ));
            let end = std::time::Instant::now() + wait;
            until.set(Some(end));
            end
        });
        let left = end.saturating_duration_since(std::time::Instant::now());
        crate::lock::wait_free(dir, kind.as_str(), left).unwrap_or_else(|e| {
            crate::log::warn(&format!("{kind}: {e:#}"));
            false
        })
    }
}

/// The worse of two ticks' exits (the higher documented code).
fn worse(a: Outcome, b: Outcome) -> Outcome {
    if b.exit_code() > a.exit_code() { b } else { a }
}

/// Whether the lock of `kind` is free before `until` (`lock::wait_free`,
/// which only looks); past it the log says the event for `repo` is left to
/// the next tick.
fn free_in_time(
    ctx: &Session,
    kind: TickKind,
    until: std::time::Instant,
    repo: &RepoName,
) -> Result<bool> {
    let left = until.saturating_duration_since(std::time::Instant::now());
    if crate::lock::wait_free(ctx.state_dir(), kind.as_str(), left)? {
        return Ok(true);
    }
    crate::log::info(&format!(
        "hook: a {kind} tick held the lock past hook.wait_lock ({}): the event for {repo} is left to the next tick",
        crate::types::format_duration(ctx.config().hook.wait_lock)
    ));
    Ok(false)
}

/// On the event's opened tick, under its lock and on its state file (a
/// dry run's copy): the delivery recorded and the tick counted, in one
/// transaction; false when another event's tick handled the delivery
/// first (then this one does nothing). Then the slot's due flag is taken
/// (this tick reads the forge after every trigger folded so far), its
/// deliveries recorded, and a folded new comment's edit grace, when not
/// over, left to a follow-up.
/// A state file that cannot record them lets the tick go on and say why.
fn begins(t: &crate::tick::Tick, kind: TickKind, (own, slot): (&[&str], &Slot), now: &str) -> bool {
    match t.store().hook_tick_begins_as(own, kind.as_str(), now) {
        Ok(true) => {}
        Ok(false) => {
            crate::log::info(&format!(
                "hook: delivery {} was handled by another event's tick meanwhile; nothing to do",
                own.first().copied().unwrap_or_default()
            ));
            return false;
        }
        Err(e) => crate::log::warn(&format!("hook: cannot record the event's tick: {e:#}")),
    }
    if let Some(due) = slot.take() {
        if let Err(e) = t.store().hook_deliveries_folded(&due.ids, now) {
            crate::log::warn(&format!("hook: cannot record the folded deliveries: {e:#}"));
        }
        let left = left_until(due.not_before_ms);
        // a new comment still in its edit grace is read by no tick yet
        // (store::comments_in_grace): its own read is a follow-up's
        let deferred = !left.is_zero() && slot.defer(ms_after(left)).is_ok();
        crate::log::info(&format!(
            "hook: this {kind} tick reads the events folded into it so far{}",
            if deferred {
                format!(
                    " (a new comment's edit grace ends in {} ms: a follow-up reads it then)",
                    left.as_millis()
                )
            } else {
                String::new()
            }
        ));
    }
    true
}

/// Keep that comment `id` of `repo` was written just now: no tick takes a
/// command from it before its edit grace ends, so an edit in its own
/// second is reported first. Written as [`note_edit`] is; a state file
/// that cannot keep it says so, and the comment's own tick still waits
/// out the grace.
fn note_written(ctx: &Session, repo: &str, id: i64) {
    let until = ms_after(hook::EDIT_GRACE);
    let kept = ctx
        .local()
        .and_then(|l| l.store.note_comment_written(repo, id, until));
    if let Err(e) = kept {
        crate::log::warn(&format!(
            "hook: cannot keep that comment {id} of {repo} is new: {e:#}"
        ));
    }
}

/// Keep that comment `id` of `repo` was edited. It is the one write outside
/// a tick's lock: an insert SQLite serialises, which no tick overwrites.
/// A state file that cannot keep it says so in the log; its tick goes on.
/// afk's own comment (a run's checklist, edited every tick that moves it)
/// is kept too, but said at debug: it never was a command, and a run
/// edits it dozens of times.
fn note_edit(ctx: &Session, repo: &str, id: i64) {
    let kept = ctx.local().and_then(|l| {
        l.store.note_comment_edited(repo, id, &stamp_now())?;
        // which it was only decides the log line's level: not knowing is
        // a person's
        Ok(l.store.is_afks_comment(repo, id).unwrap_or(false))
    });
    match kept {
        Ok(true) => crate::log::debug(&format!(
            "hook: comment {id} of {repo} was edited: afk's own comment, no command"
        )),
        Ok(false) => crate::log::info(&format!(
            "hook: comment {id} of {repo} was edited: it is nobody's command"
        )),
        Err(e) => crate::log::warn(&format!(
            "hook: cannot keep the edit of comment {id}: {e:#}"
        )),
    }
}

/// Whether delivery `id` was handled already, read without writing (no
/// state file: not). A file that cannot be read says not: the tick, which
/// records the delivery under its lock, decides then.
fn handled(ctx: &Session, id: &str) -> bool {
    if !ctx.paths().file.exists() {
        return false;
    }
    match ctx.read_store().and_then(|s| s.hook_delivery_handled(id)) {
        Ok(seen) => seen,
        Err(e) => {
            crate::log::debug(&format!("hook: cannot read delivery {id}: {e:#}"));
            false
        }
    }
}
