//! One event-started tick of each kind per repository at a time, a burst
//! folded into one follow-up (docs/hook.md#bursts; the rules and the
//! files' names are `core::event_fold`). The slot is a record lock in the
//! state folder, so a holder that dies lets go; the due flag is a file
//! beside it, appended to by the triggers the slot turned away and taken
//! (renamed, read, removed) by the holder when its tick opens.

use crate::core::event_fold::{self, Due};
use crate::lock::TickLock;
use crate::session::{Outcome, Session};
use crate::types::TickKind;
use anyhow::{Context, Result};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// This process's slot for the event ticks of one kind over one repository.
pub struct Slot {
    _lock: TickLock,
    flag: PathBuf,
}

/// What a trigger found.
pub enum Taken {
    /// the slot is this process's: it runs the tick
    Mine(Slot),
    /// another process's tick runs or waits: this trigger is its due flag's
    Folded,
}

/// Take the slot for `kind` over `repo`, or leave `line` (`due_line`) in
/// its due flag and fold into the holder's follow-up. A holder that let go
/// between the two looks is not waited for: the slot is tried once more
/// after the flag is written, and taken then (its tick clears the flag).
pub fn take_or_fold(state_dir: &Path, kind: TickKind, repo: &str, line: &str) -> Result<Taken> {
    let name = event_fold::slot_name(kind, repo);
    let flag = state_dir.join(event_fold::flag_name(kind, repo));
    if let Some(lock) = crate::lock::try_acquire(state_dir, &name)? {
        return Ok(Taken::Mine(Slot { _lock: lock, flag }));
    }
    append(&flag, line)?;
    match crate::lock::try_acquire(state_dir, &name)? {
        Some(lock) => Ok(Taken::Mine(Slot { _lock: lock, flag })),
        None => Ok(Taken::Folded),
    }
}

impl Slot {
    /// Let the slot go once its tick ended with no trigger folded; then,
    /// should a trigger have written the flag meanwhile (it found the slot
    /// still held: it ended, leaving the flag to this holder), take the
    /// slot again for its follow-up. Some(slot) when a follow-up is due and
    /// this process holds the slot for it; None when nothing is due, or
    /// another trigger took the slot (its tick takes the flag).
    pub fn release_or_follow(self, state_dir: &Path, kind: TickKind, repo: &str) -> Option<Slot> {
        if self.due() {
            return Some(self);
        }
        let flag = self.flag.clone();
        drop(self);
        if !there(&flag) {
            return None;
        }
        let lock =
            crate::lock::try_acquire(state_dir, &event_fold::slot_name(kind, repo)).ok()??;
        Some(Slot { _lock: lock, flag })
    }

    /// What the due flag asks now, read without taking it (none: nothing).
    pub fn peek(&self) -> Due {
        read_bounded(&self.flag)
            .map(|t| event_fold::due_of(&t))
            .unwrap_or_default()
    }

    /// Leave a line in the flag that asks for a follow-up no earlier than
    /// `not_before_ms` (a new comment's edit grace: its own read, after
    /// it), written as a folded trigger's is.
    pub fn defer(&self, not_before_ms: i64) -> Result<()> {
        append(&self.flag, &event_fold::due_line(None, "-", not_before_ms))
    }

    /// Wait until the flag's latest line's time is past (a new comment's
    /// edit grace over), or until a trigger that asks now (a turn's end, a
    /// status, a review) is folded while this waits: nothing runs then, so
    /// its tick runs at once and the grace is left to a follow-up
    /// ([`begins`]). The lines there when the wait began (folded during the
    /// last tick: a burst) wait for the grace with it, so a burst is still
    /// one follow-up. Never longer than the edit grace.
    pub fn wait_due(&self) {
        let until = std::time::Instant::now() + crate::core::hook::EDIT_GRACE;
        let seen = read_bounded(&self.flag).map(|t| t.len()).unwrap_or(0);
        loop {
            let text = read_bounded(&self.flag).unwrap_or_default();
            let due = event_fold::due_of(&text);
            let now = ms_after(std::time::Duration::ZERO);
            let new = text.get(seen..).unwrap_or("");
            if due.not_before_ms <= now || event_fold::asks_now(new, now) {
                return;
            }
            let left = until.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                return;
            }
            // a trigger that asks now is looked for every 20 ms
            std::thread::sleep(left_until(due.not_before_ms).min(left).min(POLL_FLAG));
        }
    }

    /// Whether a trigger was folded since the flag was last taken.
    pub fn due(&self) -> bool {
        there(&self.flag)
    }

    /// Take the due flag (as the tick opens, before it reads the forge):
    /// what its triggers asked, None when there was none. A flag that
    /// cannot be read is taken all the same (its being there was the ask)
    /// and said in the log.
    pub fn take(&self) -> Option<Due> {
        let taking = self.flag.with_extension("taking");
        match std::fs::rename(&self.flag, &taking) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
            Err(e) => {
                crate::log::warn(&format!(
                    "hook: cannot take the due flag {}: {e}",
                    self.flag.display()
                ));
                return None;
            }
        }
        let text = read_bounded(&taking).unwrap_or_else(|e| {
            crate::log::warn(&format!("hook: {e:#}"));
            String::new()
        });
        let _ = std::fs::remove_file(&taking);
        Some(event_fold::due_of(&text))
    }
}

/// How often a tick waiting out an edit grace looks at its flag.
const POLL_FLAG: std::time::Duration = std::time::Duration::from_millis(20);

/// Append one line to the flag: created private, never through a link,
/// and not grown past what a holder reads (the flag's being there is what
/// counts).
fn append(flag: &Path, line: &str) -> Result<()> {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(flag)
        .with_context(|| format!("hook: cannot write the due flag {}", flag.display()))?;
    let full = f
        .metadata()
        .map(|m| !m.is_file() || m.len() as usize >= event_fold::FLAG_READ_MAX)
        .unwrap_or(true);
    if !full {
        f.write_all(line.as_bytes())
            .with_context(|| format!("hook: cannot write the due flag {}", flag.display()))?;
    }
    Ok(())
}

/// At most `FLAG_READ_MAX` of a flag: a regular file only, never through
/// a link (as a run's files are read).
fn read_bounded(path: &Path) -> Result<String> {
    afk_host::private_files::read_run_file(path, event_fold::FLAG_READ_MAX as u64)
        .with_context(|| format!("cannot read the due flag {}", path.display()))
}

/// Whether the flag at `path` is there (a regular file; a link is none).
fn there(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| m.is_file())
}

/// Unix milliseconds of `now` plus `later`: the `not_before` of a flag line.
pub fn ms_after(later: std::time::Duration) -> i64 {
    let later = i64::try_from(later.as_millis()).unwrap_or(i64::MAX);
    crate::clock::wall_ms().saturating_add(later)
}

/// How long until the Unix millisecond `not_before` (a folded new
/// comment's edit grace), never longer than that grace.
pub fn left_until(not_before_ms: i64) -> std::time::Duration {
    let now = ms_after(std::time::Duration::ZERO);
    let left = u64::try_from(not_before_ms.saturating_sub(now)).unwrap_or(0);
    std::time::Duration::from_millis(left).min(crate::core::hook::EDIT_GRACE)
}

/// The slot of `kind` over `repo`, or None: the event is folded into the
/// follow-up of the tick that holds it (said in the log).
pub fn slot_or_fold(
    ctx: &Session,
    kind: TickKind,
    repo: &crate::types::RepoName,
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

/// How a command runs one tick of a kind over one repository for an event (the
/// operations are the commands' to name: `ops::poll::tick_if`,
/// `ops::watch::tick_if` under `tick::run`).
pub type Ticker<'a> =
    dyn Fn(TickKind, &crate::types::RepoName, &crate::tick::Event) -> Result<Outcome> + 'a;

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
    cfg: &crate::config::Config,
    (kind, repo): (TickKind, &crate::types::RepoName),
    slot: Slot,
    own: &[&str],
    tick: &Ticker,
) -> Result<Outcome> {
    // its locks' records say an event's tick holds them: a watch of every
    // run waits for it ([`outwait_event_ticks`])
    crate::lock::as_event_ticks();
    let mut outcome = one_tick(ctx, cfg, (kind, repo), (&slot, own), tick)?;
    let mut slot = slot;
    for _ in 0..event_fold::FOLLOW_UPS_MAX {
        let Some(held) = slot.release_or_follow(ctx.state_dir(), kind, repo.as_str()) else {
            return Ok(outcome);
        };
        crate::log::info(&format!(
            "hook: events for {repo} arrived while its {kind} tick ran: a follow-up tick"
        ));
        let again = one_tick(ctx, cfg, (kind, repo), (&held, &[]), tick)?;
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
/// scoped tick under cron's rules, which takes the due flag, records the
/// deliveries and counts itself once it holds its lock ([`begins`]): the
/// event writes nothing to the state file outside the tick's lock, so a
/// cron tick never meets it there.
fn one_tick(
    ctx: &Session,
    cfg: &crate::config::Config,
    (kind, repo): (TickKind, &crate::types::RepoName),
    (slot, own): (&Slot, &[&str]),
    tick: &Ticker,
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
    tick(kind, repo, &event)
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
pub fn worse(a: Outcome, b: Outcome) -> Outcome {
    if b.exit_code() > a.exit_code() { b } else { a }
}

/// Whether the lock of `kind` is free before `until` (`lock::wait_free`,
/// which only looks); past it the log says the event for `repo` is left to
/// the next tick.
fn free_in_time(
    ctx: &Session,
    kind: TickKind,
    until: std::time::Instant,
    repo: &crate::types::RepoName,
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
pub fn begins(
    t: &crate::tick::Tick,
    kind: TickKind,
    (own, slot): (&[&str], &Slot),
    now: &str,
) -> bool {
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

/// Now as tick health keeps a time: RFC 3339, whole seconds.
pub fn stamp_now() -> String {
    let now = crate::clock::now();
    (now.replace_nanosecond(0).unwrap_or(now))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}
