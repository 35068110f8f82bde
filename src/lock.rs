//! The per-kind tick lock: an exclusive, non-blocking advisory lock on
//! `<state dir>/<kind>.lock`, released when the process exits (even on a crash).
//!
//! It is a POSIX record lock (`fcntl(F_SETLK)`), not `flock`: a record lock
//! belongs to the process that took it and is never inherited by a fork. A
//! tick killed while it was forking an agent therefore leaves no child holding
//! the lock for the moments before that child runs the agent, so the next tick
//! is never made to step aside by a tick that is already dead.
//!
//! Two things a record lock alone would miss are checked first: a lock this
//! process already holds (record locks do not exclude their own process, and
//! closing a second descriptor of the file would drop the first one's lock),
//! and an `flock` on the file, which is how an afk from before this lock, or
//! an operator's `flock(1)` wrapper, holds it. The `flock` is only probed and
//! let go at once, so no child ever inherits it.
//!
//! A tick's lock file records its holder (`core::tick_deadline::Holder`: pid,
//! when it took the lock, the kernel's start time of the process), emptied
//! when the lock is let go. A tick that finds its lock held by the process
//! its record names, past twice `tick_timeout`, stops it (SIGTERM, then
//! SIGKILL) and takes the lock; one whose record names a process that is gone
//! takes it and says so (docs/operations.md, "A tick that hangs"). The record is
//! only a file: before any signal the kernel must name that very process as
//! the record lock's holder (`F_OFD_GETLK`), running afk's own executable,
//! else nothing is signalled and the tick steps aside, saying why.

use crate::core::tick_deadline::{self, Holder, LockMove, Pid};
use anyhow::{Context, Result};
use std::collections::HashSet;
use std::fs::{File, OpenOptions, TryLockError};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// The lock files this process holds.
static HELD: Mutex<Option<HashSet<PathBuf>>> = Mutex::new(None);

/// This process runs an event's ticks (`ops::event_loop::event_ticks`):
/// its locks' records say so (`event 1`), and a watch of every run waits
/// for it ([`held_by_event`]).
static EVENT_TICKS: AtomicBool = AtomicBool::new(false);

/// From now on this process's locks record that an event's tick holds them.
pub fn as_event_ticks() {
    EVENT_TICKS.store(true, Ordering::Relaxed);
}

fn held(path: &Path) -> bool {
    HELD.lock()
        .map(|h| h.as_ref().is_some_and(|s| s.contains(path)))
        .unwrap_or(true)
}

/// Lock `file` (at `path`) for this process: Err(file) when this process, an
/// flock holder or another process holds it (the file given back, to read
/// its record).
fn lock(file: File, path: &Path) -> std::io::Result<Result<TickLock, File>> {
    if held(path) {
        return Ok(Err(file));
    }
    match file.try_lock() {
        Ok(()) => file.unlock()?,
        Err(TryLockError::WouldBlock) => return Ok(Err(file)),
        Err(TryLockError::Error(e)) => return Err(e),
    }
    if !try_lock(&file)? {
        return Ok(Err(file));
    }
    Ok(Ok(mark_held(file, path)))
}

fn mark_held(file: File, path: &Path) -> TickLock {
    if let Ok(mut h) = HELD.lock() {
        h.get_or_insert_with(HashSet::new)
            .insert(path.to_path_buf());
    }
    TickLock {
        file: Some(file),
        path: path.to_path_buf(),
        recorded: false,
    }
}

/// Take an exclusive record lock on the whole file without waiting: Ok(true)
/// when taken, Ok(false) when another process holds it.
fn try_lock(file: &File) -> std::io::Result<bool> {
    let fl = whole_file();
    // SAFETY: fcntl on a descriptor this File owns, with a valid flock.
    if unsafe { libc::fcntl(file.as_raw_fd(), libc::F_SETLK, &fl) } == 0 {
        return Ok(true);
    }
    let e = std::io::Error::last_os_error();
    match e.raw_os_error() {
        Some(libc::EACCES | libc::EAGAIN) => Ok(false),
        _ => Err(e),
    }
}

/// An exclusive record lock on the whole file.
fn whole_file() -> libc::flock {
    // SAFETY: a zeroed `flock` is a valid value; every field that matters is set.
    let mut fl: libc::flock = unsafe { std::mem::zeroed() };
    fl.l_type = libc::F_WRLCK as _;
    fl.l_whence = libc::SEEK_SET as _;
    fl.l_start = 0;
    fl.l_len = 0; // to the end, however long
    fl
}

pub struct TickLock {
    file: Option<File>,
    path: PathBuf,
    /// this process wrote its record into the file (emptied on drop)
    recorded: bool,
}

impl TickLock {
    /// Write this process's record into the lock file it holds.
    fn record(&mut self) -> std::io::Result<()> {
        use std::io::Write;
        use std::os::unix::fs::FileExt;
        let Some(f) = &self.file else { return Ok(()) };
        let me = Holder {
            pid: std::process::id(),
            started: unix_now(),
            proc_start: proc_start_of(std::process::id()),
            event: EVENT_TICKS.load(Ordering::Relaxed),
        };
        f.set_len(0)?;
        f.write_all_at(me.text().as_bytes(), 0)?;
        (&*f).flush()?;
        self.recorded = true;
        Ok(())
    }
}

impl Drop for TickLock {
    fn drop(&mut self) {
        // the record emptied while still held: a record left behind is a
        // holder that did not let go (crashed, killed)
        if self.recorded
            && let Some(f) = &self.file
        {
            let _ = f.set_len(0);
        }
        // close (and so unlock) first, then let this process take it again
        drop(self.file.take());
        if let Ok(mut h) = HELD.lock()
            && let Some(s) = h.as_mut()
        {
            s.remove(&self.path);
        }
    }
}

/// Some(lock) when acquired, None when another process holds it.
pub fn try_acquire(state_dir: &Path, kind: &str) -> Result<Option<TickLock>> {
    crate::store::private_dir(state_dir)
        .with_context(|| format!("state: cannot create {}", state_dir.display()))?;
    let path = state_dir.join(format!("{kind}.lock"));
    let file = private_lock_file(&path)?;
    let mut got = match lock(file, &path) {
        Ok(Ok(l)) => l,
        Ok(Err(_)) => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("lock: cannot lock {}", path.display())),
    };
    recorded(&mut got, &path);
    Ok(Some(got))
}

/// A record that cannot be written leaves the lock held but unnamed: a later
/// tick steps aside from it as from any holder it cannot name.
fn recorded(l: &mut TickLock, path: &Path) {
    if let Err(e) = l.record() {
        let line = format!("lock: cannot record this tick in {}: {e}", path.display());
        // a full disk is said once, by the state file's line
        match e.raw_os_error() {
            Some(libc::ENOSPC) => crate::log::debug(&line),
            _ => crate::log::warn(&line),
        }
    }
}

/// The tick's own lock of `kind`
/// (docs/operations.md#when-something-goes-wrong): as `try_acquire`, and a lock
/// left by a tick that is gone, or held by one past twice `timeout`, is taken
/// over (that tick stopped: SIGTERM, `term_wait`, SIGKILL), with one line that
/// says so. None: held by a tick that may still be working (or by a process afk
/// cannot name, or one that would not let go): the tick steps aside.
pub fn take_tick(
    state_dir: &Path,
    kind: &str,
    timeout: Duration,
    term_wait: Duration,
) -> Result<Option<TickLock>> {
    crate::store::private_dir(state_dir)
        .with_context(|| format!("state: cannot create {}", state_dir.display()))?;
    let path = state_dir.join(format!("{kind}.lock"));
    if held(&path) {
        // this process's own: never a holder to stop
        return Ok(None);
    }
    let file = private_lock_file(&path)?;
    let attempt =
        lock(file, &path).with_context(|| format!("lock: cannot lock {}", path.display()))?;
    let (free, record) = match &attempt {
        Ok(l) => (true, l.file.as_ref().and_then(read_record)),
        Err(f) => (false, read_record(f)),
    };
    let pid = record.map_or(Pid::Gone, |r| {
        tick_deadline::pid_now(&r, proc_start_of(r.pid))
    });
    let holds = match (&attempt, record) {
        (Err(f), Some(r)) => tick_deadline::holds(lock_holder(f), r.pid, runs_afk(r.pid)),
        _ => tick_deadline::Holds::Unnamed,
    };
    let mut got = match (
        tick_deadline::lock_move(free, (record, pid, holds), unix_now(), timeout),
        attempt,
    ) {
        (LockMove::Take, Ok(l)) => l,
        (LockMove::TakeOverGone { pid, age }, Ok(l)) => {
            crate::log::warn(&format!(
                "{kind}: took over the lock {} left by pid {pid} (which took it {} ago), which is gone",
                path.display(),
                rough(age)
            ));
            l
        }
        (LockMove::Stop { pid, age }, Err(f)) => {
            // closing a descriptor drops this process's record locks on the
            // file: let go of this one before another takes the lock
            drop(f);
            let Some(l) = stop_holder(&path, kind, pid, age, timeout, term_wait) else {
                return Ok(None);
            };
            l
        }
        (LockMove::Unproven { pid, age, why }, _) => {
            crate::log::warn(&format!(
                "{kind}: the lock {} names pid {pid} as its holder since {} ago, past twice tick_timeout, but {}: not signalled; this tick steps aside (docs/operations.md, \"A tick that hangs\")",
                path.display(),
                rough(age),
                why.why()
            ));
            return Ok(None);
        }
        _ => return Ok(None),
    };
    recorded(&mut got, &path);
    Ok(Some(got))
}

/// The pid the kernel names holding a record lock on `file` (`F_OFD_GETLK`
/// reports a process-owned lock's pid); None when no such lock conflicts
/// (free, an `flock`) or its holder is an open file description, not a process.
fn lock_holder(file: &File) -> Option<u32> {
    let mut fl = whole_file();
    fl.l_pid = 0;
    // SAFETY: fcntl on a descriptor this File owns, with a valid flock it fills in.
    if unsafe { libc::fcntl(file.as_raw_fd(), libc::F_OFD_GETLK, &mut fl) } != 0 {
        return None;
    }
    if fl.l_type == libc::F_UNLCK as libc::c_short {
        return None;
    }
    u32::try_from(fl.l_pid).ok().filter(|p| *p > 0)
}

/// Whether process `pid` runs the executable this process runs (an afk
/// replaced in place since it started counts: the kernel says "(deleted)").
fn runs_afk(pid: u32) -> bool {
    let exe = |p: &str| {
        std::fs::read_link(format!("/proc/{p}/exe")).map(|l| {
            let s = l.to_string_lossy().into_owned();
            s.strip_suffix(" (deleted)")
                .map(str::to_string)
                .unwrap_or(s)
        })
    };
    match (exe(&pid.to_string()), exe("self")) {
        (Ok(theirs), Ok(ours)) => theirs == ours,
        // afk's processes are not dumpable (main.rs), so an ordinary user
        // cannot read another one's exe link: then its name and its owner,
        // which, with the kernel naming it the holder of a lock in afk's
        // private state folder (only its owner and root can open one), is
        // afk of this very user
        (Err(e), Ok(_)) if e.kind() == std::io::ErrorKind::PermissionDenied => {
            let (theirs, ours) = (name_and_owner(&pid.to_string()), name_and_owner("self"));
            theirs.is_some() && theirs == ours
        }
        _ => false,
    }
}

/// A process's name and effective uid, from `/proc/<p>/status` (which
/// every process can read, dumpable or not).
fn name_and_owner(p: &str) -> Option<(String, String)> {
    use std::io::Read;
    let mut text = String::new();
    std::fs::File::open(format!("/proc/{p}/status"))
        .ok()?
        .take(16 * 1024)
        .read_to_string(&mut text)
        .ok()?;
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .map(str::trim)
            .map(str::to_string)
    };
    let name = field("Name:")?;
    let euid = field("Uid:")?.split_whitespace().nth(1)?.to_string();
    Some((name, euid))
}

/// SIGTERM the overdue holder `pid`, wait up to `term_wait` for the lock,
/// then SIGKILL and wait a little more; the lock when it was let go.
fn stop_holder(
    path: &Path,
    kind: &str,
    pid: u32,
    age: Duration,
    timeout: Duration,
    term_wait: Duration,
) -> Option<TickLock> {
    let Ok(target) = libc::pid_t::try_from(pid) else {
        return None;
    };
    let said = format!(
        "{kind}: the lock {} is held by pid {pid}, which took it {} ago, past twice tick_timeout (2 × {})",
        path.display(),
        rough(age),
        crate::types::format_duration(timeout)
    );
    let waiter = wait_in_thread(path);
    // SAFETY: kill(2) with a pid the lock's record names and the kernel's
    // start time vouched for just now; no memory is involved.
    unsafe { libc::kill(target, libc::SIGTERM) };
    if let Ok(Ok(file)) = waiter.recv_timeout(term_wait) {
        crate::log::warn(&format!(
            "{said}: it ended on SIGTERM; this tick took the lock over"
        ));
        return Some(mark_held(file, path));
    }
    // SAFETY: as above.
    unsafe { libc::kill(target, libc::SIGKILL) };
    if let Ok(Ok(file)) = waiter.recv_timeout(KILL_WAIT) {
        crate::log::warn(&format!(
            "{said}: it did not end within {} of SIGTERM and was killed (SIGKILL); this tick took the lock over",
            crate::types::format_duration(term_wait)
        ));
        return Some(mark_held(file, path));
    }
    crate::log::error(&format!(
        "{said}: it did not let go after SIGTERM and SIGKILL; this tick steps aside: find what holds it (fuser -v {})",
        path.display()
    ));
    None
}

/// How long the lock may take to come free after a SIGKILL.
const KILL_WAIT: Duration = Duration::from_secs(5);

/// Wait for the lock at `path` on a thread of its own (blocking `flock`, then
/// a blocking record lock): the file, locked, once it is free. A waiter given
/// up on lets go of it when it gets it (the channel is closed).
fn wait_in_thread(path: &Path) -> std::sync::mpsc::Receiver<std::io::Result<File>> {
    let (tx, rx) = std::sync::mpsc::channel();
    let path = path.to_path_buf();
    let spawned = std::thread::Builder::new()
        .name("afk-lock-wait".into())
        .spawn(move || {
            let got = private_lock_file(&path)
                .map_err(std::io::Error::other)
                .and_then(|f| {
                    f.lock()?;
                    f.unlock()?;
                    wait_lock(&f)?;
                    Ok(f)
                });
            let _ = tx.send(got);
        });
    if let Err(e) = spawned {
        crate::log::warn(&format!("lock: cannot wait for the lock: {e}"));
    }
    rx
}

/// An age as a line says it: whole minutes from two minutes on.
fn rough(age: Duration) -> String {
    let s = age.as_secs();
    let s = if s >= 120 { s - s % 60 } else { s };
    crate::types::format_duration(Duration::from_secs(s))
}

/// Take an exclusive record lock on the whole file, waiting for it.
fn wait_lock(file: &File) -> std::io::Result<()> {
    let fl = whole_file();
    loop {
        // SAFETY: fcntl on a descriptor this File owns, with a valid flock.
        if unsafe { libc::fcntl(file.as_raw_fd(), libc::F_SETLKW, &fl) } == 0 {
            return Ok(());
        }
        let e = std::io::Error::last_os_error();
        if e.kind() != std::io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

/// Who holds a tick's lock now, as the step-aside line says it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HolderNow {
    pub pid: u32,
    /// the afk subcommand it runs (`poll`, `watch`), as its command line says
    pub command: String,
    /// seconds since it took the lock
    pub held_secs: u64,
}

/// The live process the lock file of `kind` names (its record's pid, the
/// same process by its start time), and the afk subcommand its command line
/// runs; None when the record names nothing alive or the file cannot be read.
pub fn holder(state_dir: &Path, kind: &str) -> Option<HolderNow> {
    use std::os::unix::fs::OpenOptionsExt;
    let path = state_dir.join(format!("{kind}.lock"));
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
        .ok()?;
    let r = read_record(&file)?;
    if tick_deadline::pid_now(&r, proc_start_of(r.pid)) != Pid::Same {
        return None;
    }
    let cmdline = std::fs::read(format!("/proc/{}/cmdline", r.pid)).ok()?;
    let command = cmdline
        .split(|b| *b == 0)
        .skip(1)
        .map(String::from_utf8_lossy)
        .find(|w| {
            matches!(
                w.as_ref(),
                "poll" | "watch" | "harvest" | "upgrade" | "lessons" | "status"
            )
        })?
        .into_owned();
    let held_secs = u64::try_from(unix_now() - r.started).unwrap_or(0);
    Some(HolderNow {
        pid: r.pid,
        command,
        held_secs,
    })
}

/// The pid of the live event's tick holding the lock of `kind` now, as its
/// record says (`core::tick_deadline::waits_for`: a watch of every run
/// waits for such a holder, and steps aside from any other); None for any
/// other holder, or none.
pub fn held_by_event(state_dir: &Path, kind: &str) -> Option<u32> {
    use std::os::unix::fs::OpenOptionsExt;
    let path = state_dir.join(format!("{kind}.lock"));
    let Ok(file) = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(&path)
    else {
        return None;
    };
    let record = read_record(&file)?;
    let pid = tick_deadline::pid_now(&record, proc_start_of(record.pid));
    (tick_deadline::waits_for(Some(&record), pid) && held_now(&path).unwrap_or(false))
        .then_some(record.pid)
}

/// What the lock file says of its last holder.
fn read_record(file: &File) -> Option<Holder> {
    use std::os::unix::fs::FileExt;
    let mut buf = [0u8; 256];
    let n = file.read_at(&mut buf, 0).ok()?;
    Holder::parse(std::str::from_utf8(&buf[..n]).ok()?)
}

/// The kernel's start time of process `pid`; None when there is no such
/// process (or no `/proc` to ask).
fn proc_start_of(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    tick_deadline::proc_start(&stat)
}

/// Unix seconds by the machine's clock: a lock's age is the machine's, never
/// the tick's pinned `AFK_NOW` (a pinned clock must not stop a process).
fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// Wait for `<state dir>/<name>.lock` (a short critical section, such as
/// rewriting the metrics file): a blocking `flock`, released on drop.
pub fn wait_for(state_dir: &Path, name: &str) -> Result<File> {
    crate::store::private_dir(state_dir)
        .with_context(|| format!("state: cannot create {}", state_dir.display()))?;
    let path = state_dir.join(format!("{name}.lock"));
    let file = private_lock_file(&path)?;
    file.lock()
        .with_context(|| format!("lock: cannot lock {}", path.display()))?;
    Ok(file)
}

fn private_lock_file(path: &Path) -> Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    // a link planted at the lock's name is never followed (nothing is
    // written through it)
    OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
        .with_context(|| format!("lock: cannot open {}", path.display()))
}

/// For a dry run, which creates nothing: the lock when its file already exists.
pub enum Existing {
    Acquired(TickLock),
    Held,
    Absent,
}

impl Existing {
    /// Another process holds it (an acquired lock is released here).
    pub fn held(self) -> bool {
        matches!(self, Existing::Held)
    }
}

pub fn try_acquire_existing(state_dir: &Path, kind: &str) -> Result<Existing> {
    let path = state_dir.join(format!("{kind}.lock"));
    use std::os::unix::fs::OpenOptionsExt;
    let file = match OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(&path)
    {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Existing::Absent),
        Err(e) => return Err(e).with_context(|| format!("lock: cannot open {}", path.display())),
    };
    match lock(file, &path) {
        Ok(Ok(l)) => Ok(Existing::Acquired(l)),
        Ok(Err(_)) => Ok(Existing::Held),
        Err(e) => Err(e).with_context(|| format!("lock: cannot lock {}", path.display())),
    }
}

/// Wait at most `wait` for the lock of `kind` to be free, looking every
/// 50ms (`afk hook`'s `wait_lock`, docs/hook.md): true once no other process
/// holds it, false when it is still held at the end. It only looks, never
/// takes the lock, not even for a moment (a cron tick trying at that
/// instant would step aside): this process's own locks from its list, a
/// record lock by `F_OFD_GETLK`, an `flock` from `/proc/locks` by the
/// file's device and inode. Where `/proc/locks` cannot be read the `flock`
/// is probed as `lock` probes it (taken and let go at once), the one moment
/// it is held. The tick then takes the lock as cron's does; one that takes
/// it first makes that one step aside.
pub fn wait_free(state_dir: &Path, kind: &str, wait: Duration) -> Result<bool> {
    let until = std::time::Instant::now() + wait;
    let path = state_dir.join(format!("{kind}.lock"));
    loop {
        if !held_now(&path)? {
            return Ok(true);
        }
        let now = std::time::Instant::now();
        if now >= until {
            return Ok(false);
        }
        std::thread::sleep((until - now).min(Duration::from_millis(50)));
    }
}

/// Whether anyone holds the lock at `path`, found without taking it (see
/// [`wait_free`]); no file: free.
fn held_now(path: &Path) -> Result<bool> {
    use std::os::unix::fs::OpenOptionsExt;
    if held(path) {
        return Ok(true);
    }
    let file = match OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
    {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(e).with_context(|| format!("lock: cannot open {}", path.display())),
    };
    let mut fl = whole_file();
    // SAFETY: fcntl on a descriptor this File owns, with a valid flock it fills in.
    if unsafe { libc::fcntl(file.as_raw_fd(), libc::F_OFD_GETLK, &mut fl) } != 0 {
        let e = std::io::Error::last_os_error();
        return Err(e).with_context(|| format!("lock: cannot test {}", path.display()));
    }
    if fl.l_type != libc::F_UNLCK as libc::c_short {
        return Ok(true);
    }
    match flocked(&file) {
        Some(held) => Ok(held),
        None => match file.try_lock() {
            Ok(()) => file.unlock().map(|()| false).map_err(Into::into),
            Err(TryLockError::WouldBlock) => Ok(true),
            Err(TryLockError::Error(e)) => {
                Err(e).with_context(|| format!("lock: cannot test {}", path.display()))
            }
        },
    }
}

/// Whether `/proc/locks` lists an `flock` on `file` (its device's major and
/// minor in hex, then its inode); None when it cannot be read.
fn flocked(file: &File) -> Option<bool> {
    use std::os::unix::fs::MetadataExt;
    let meta = file.metadata().ok()?;
    let dev = meta.dev();
    // the kernel's split of a dev_t (glibc's `major`/`minor`)
    let major = ((dev >> 32) & 0xffff_f000) | ((dev >> 8) & 0xfff);
    let minor = ((dev >> 12) & 0xffff_ff00) | (dev & 0xff);
    let locks = std::fs::read_to_string("/proc/locks").ok()?;
    Some(locks.lines().any(|l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        // `1: FLOCK  ADVISORY  WRITE 1234 08:01:5678 0 EOF`; a waiter's has `->`
        !f.contains(&"->")
            && f.get(1) == Some(&"FLOCK")
            && f.get(5).is_some_and(|id| {
                let mut p = id.split(':');
                let (Some(ma), Some(mi), Some(ino)) = (p.next(), p.next(), p.next()) else {
                    return false;
                };
                u64::from_str_radix(ma, 16).ok() == Some(major)
                    && u64::from_str_radix(mi, 16).ok() == Some(minor)
                    && ino.parse::<u64>().ok() == Some(meta.ino())
            })
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_held_lock_is_waited_for_at_most_the_wait() {
        let d = dir("wait");
        assert!(
            wait_free(&d, "poll", Duration::ZERO).unwrap(),
            "no folder: free"
        );
        std::fs::create_dir_all(&d).unwrap();
        assert!(
            wait_free(&d, "poll", Duration::ZERO).unwrap(),
            "no file: free"
        );
        // held (by this process: `lock` names it held as it would another's)
        let held = try_acquire(&d, "poll").unwrap().unwrap();
        let start = std::time::Instant::now();
        assert!(!wait_free(&d, "poll", Duration::from_millis(200)).unwrap());
        assert!(start.elapsed() >= Duration::from_millis(200));
        drop(held);
        assert!(wait_free(&d, "poll", Duration::ZERO).unwrap());
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn wait_free_sees_an_flock_and_a_record_lock_without_taking_either() {
        let d = dir("look");
        std::fs::create_dir_all(&d).unwrap();
        let path = d.join("poll.lock");
        // an flock on another open file description of it
        let f = File::create(&path).unwrap();
        f.try_lock().unwrap();
        assert!(!wait_free(&d, "poll", Duration::ZERO).unwrap());
        f.unlock().unwrap();
        assert!(wait_free(&d, "poll", Duration::ZERO).unwrap());
        // an OFD record lock (another holder as the kernel sees it)
        let mut fl = whole_file();
        // SAFETY: fcntl on a descriptor this File owns, with a valid flock.
        assert_eq!(
            unsafe { libc::fcntl(f.as_raw_fd(), libc::F_OFD_SETLK, &mut fl) },
            0
        );
        assert!(!wait_free(&d, "poll", Duration::ZERO).unwrap());
        // looking took nothing: the lock it saw is still the only one, and
        // once let go a tick takes it
        fl.l_type = libc::F_UNLCK as _;
        // SAFETY: as above
        unsafe { libc::fcntl(f.as_raw_fd(), libc::F_OFD_SETLK, &mut fl) };
        assert!(wait_free(&d, "poll", Duration::ZERO).unwrap());
        assert!(try_acquire(&d, "poll").unwrap().is_some());
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn a_lock_is_an_events_only_while_held_by_the_live_process_its_record_names_so() {
        let d = dir("event");
        std::fs::create_dir_all(&d).unwrap();
        let path = d.join("watch.lock");
        let me = std::process::id();
        let record = |event: bool, proc_start: Option<u64>| Holder {
            pid: me,
            started: unix_now(),
            proc_start,
            event,
        };
        let f = File::create(&path).unwrap();
        let mut fl = whole_file();
        // SAFETY: fcntl on a descriptor this File owns, with a valid flock.
        assert_eq!(
            unsafe { libc::fcntl(f.as_raw_fd(), libc::F_OFD_SETLK, &mut fl) },
            0
        );
        let now = proc_start_of(me);
        // (rule, the record, held) -> the event's pid
        let cases = [
            ("an event's tick", record(true, now), true, Some(me)),
            ("a watch of every run", record(false, now), true, None),
            ("a reused pid", record(true, now.map(|s| s + 1)), true, None),
            ("let go, its record left", record(true, now), false, None),
        ];
        for (rule, rec, held, want) in cases {
            std::fs::write(&path, rec.text()).unwrap();
            if !held {
                fl.l_type = libc::F_UNLCK as _;
                // SAFETY: as above
                unsafe { libc::fcntl(f.as_raw_fd(), libc::F_OFD_SETLK, &mut fl) };
            }
            assert_eq!(held_by_event(&d, "watch"), want, "{rule}");
        }
        let _ = std::fs::remove_dir_all(&d);
    }

    fn dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("afk-lock-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        d
    }

    #[test]
    fn a_lock_this_process_holds_is_held_for_it_too() {
        let d = dir("self");
        let first = try_acquire(&d, "poll").unwrap();
        assert!(first.is_some());
        assert!(
            try_acquire(&d, "poll").unwrap().is_none(),
            "no second holder"
        );
        assert!(
            try_acquire(&d, "watch").unwrap().is_some(),
            "each kind its own"
        );
        drop(first);
        assert!(
            try_acquire(&d, "poll").unwrap().is_some(),
            "free once dropped"
        );
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn an_flock_on_the_file_holds_it_as_an_older_afk_would() {
        let d = dir("flock");
        std::fs::create_dir_all(&d).unwrap();
        let f = File::create(d.join("poll.lock")).unwrap();
        f.try_lock().unwrap();
        assert!(try_acquire(&d, "poll").unwrap().is_none());
        assert!(matches!(
            try_acquire_existing(&d, "poll").unwrap(),
            Existing::Held
        ));
        drop(f);
        assert!(try_acquire(&d, "poll").unwrap().is_some());
        let _ = std::fs::remove_dir_all(&d);
    }
}
