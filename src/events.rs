//! One event-started tick of each kind per repository at a time, a burst
//! folded into one follow-up (docs/hook.md#bursts; the rules and the
//! files' names are `core::event_fold`). The slot is a record lock in the
//! state folder, so a holder that dies lets go; the due flag is a file
//! beside it, appended to by the triggers the slot turned away and taken
//! (renamed, read, removed) by the holder when its tick opens. These are
//! the files; the loop that takes the slot, runs the ticks and their
//! follow-ups is `ops::event_loop`.

use crate::core::event_fold::{self, Due};
use crate::lock::TickLock;
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
    /// (`ops::event_loop`'s `begins`). The lines there when the wait began (folded during the
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

/// Now as tick health keeps a time: RFC 3339, whole seconds.
pub fn stamp_now() -> String {
    let now = crate::clock::now();
    (now.replace_nanosecond(0).unwrap_or(now))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}
