//! A tick's own deadline (`tick_timeout`) and SIGTERM: why it stops, the
//! grace it has to finish the step in hand before it abandons what is in
//! flight (crash-safe: the next tick reconciles), its exit code and its line.

use std::time::Duration;

/// Why a tick was told to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// it reached `tick_timeout`
    Deadline,
    /// a SIGTERM (systemd stopping the unit, a CronJob's deadline, kill)
    Term,
}

impl Stop {
    /// The exit code (docs/exit-codes.md): 5 for the deadline; 143 (128 +
    /// SIGTERM, as a shell reports it) for a SIGTERM.
    pub fn exit_code(self) -> u8 {
        match self {
            Stop::Deadline => 5,
            Stop::Term => 143,
        }
    }

    /// The error line the tick prints when it stops.
    pub fn line(self, kind: &str, timeout: Duration, abandoned: bool) -> String {
        let what = match self {
            Stop::Deadline => format!(
                "{kind}: the tick reached its tick_timeout ({}s)",
                timeout.as_secs()
            ),
            Stop::Term => format!("{kind}: the tick got SIGTERM"),
        };
        let how = if abandoned {
            "it left the step in hand unfinished; the next tick reconciles it"
        } else {
            "it finished the step in hand and started nothing more; the next tick goes on"
        };
        let fix = match self {
            Stop::Deadline => {
                "; if ticks need longer, raise tick_timeout (and the unit's TimeoutStartSec)"
            }
            Stop::Term => "",
        };
        format!("{what}: {how}{fix}")
    }
}

/// The deadline of a tick of `kind`: `tick_timeout`, except the upgrade
/// tick's, which clones recipes and lists registries and has at least an hour
/// (its systemd unit's `TimeoutStartSec`, its CronJob's deadline kept above).
pub fn timeout_for(kind: &str, tick_timeout: Duration) -> Duration {
    match kind {
        "upgrade" => tick_timeout.max(Duration::from_secs(3600)),
        _ => tick_timeout,
    }
}

/// How long a stopped tick may take to finish the step in hand before it
/// exits anyway: a quarter of `tick_timeout`, from 2 to 60 seconds; after a
/// SIGTERM at most 10 seconds (systemd's SIGKILL follows).
pub fn grace(stop: Stop, timeout: Duration) -> Duration {
    let quarter = (timeout / 4).clamp(Duration::from_secs(2), Duration::from_secs(60));
    match stop {
        Stop::Deadline => quarter,
        Stop::Term => quarter.min(Duration::from_secs(10)),
    }
}

/// A tick kind's state as `afk status` and the page show it: `unused` when
/// the config gives that kind nothing to do (poll switched off, upgrade with
/// no recipes) and no tick of it was ever recorded, else [`health`].
pub fn state(
    scheduled: bool,
    started_secs_ago: Option<i64>,
    exit: Option<i64>,
    expect: Duration,
) -> &'static str {
    if !scheduled && started_secs_ago.is_none() {
        return "unused";
    }
    health(started_secs_ago, exit, expect)
}

/// A tick kind's health line (docs/reports.md#afk-status), by precedence:
/// `never` (no start recorded), `overdue` (the last start older than twice
/// `expect`: the kind's `expect_every`),
/// `failed` (the last exit neither 0 nor 141), `ok`.
pub fn health(started_secs_ago: Option<i64>, exit: Option<i64>, expect: Duration) -> &'static str {
    let Some(ago) = started_secs_ago else {
        return "never";
    };
    if ago > 2 * expect.as_secs() as i64 {
        return "overdue";
    }
    match exit {
        Some(0 | 141) | None => "ok",
        Some(_) => "failed",
    }
}

/// What a tick's lock file records of the process holding it
/// (docs/operations.md#when-something-goes-wrong): its pid, when it took the
/// lock (unix seconds, the machine's clock, never a pinned one), and the
/// kernel's start time of that process (clock ticks since boot,
/// `/proc/<pid>/stat`'s 22nd field), which tells a reused pid apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Holder {
    pub pid: u32,
    pub started: i64,
    /// None where the kernel's start time cannot be read (no `/proc`): such a
    /// holder is never stopped, as a reused pid could not be told apart
    pub proc_start: Option<u64>,
    /// an event's tick holds it (a turn's end, a webhook: `afk watch
    /// --after-turn`, `afk hook`), which works on one repository
    /// ([`waits_for`]); `event 1` in the file
    pub event: bool,
}

impl Holder {
    /// The record as the lock file keeps it, one `key value` a line.
    pub fn text(&self) -> String {
        let mut t = format!("pid {}\nstarted {}\n", self.pid, self.started);
        if let Some(p) = self.proc_start {
            t.push_str(&format!("proc_start {p}\n"));
        }
        if self.event {
            t.push_str("event 1\n");
        }
        t
    }

    /// A record read back: None when it is empty or not one afk wrote.
    pub fn parse(text: &str) -> Option<Holder> {
        let (mut pid, mut started, mut proc_start) = (None, None, None);
        let mut event = false;
        for line in text.lines() {
            let (key, value) = line.trim().split_once(' ')?;
            let value = value.trim();
            match key {
                "pid" => pid = value.parse::<u32>().ok().filter(|p| *p > 0),
                "started" => started = value.parse::<i64>().ok(),
                "proc_start" => proc_start = value.parse::<u64>().ok(),
                "event" => event = value == "1",
                _ => {}
            }
        }
        Some(Holder {
            pid: pid?,
            started: started?,
            proc_start,
            event,
        })
    }
}

/// Whether a watch of every run (`afk watch`: cron's, a person's, a
/// script's) that finds its lock held waits for the holder, within
/// `hook.wait_lock`, and then runs its own tick (#82): only when the holder
/// is a live event's tick (`record` names it, `pid` is that very process),
/// which works on one repository and so does not do the waiter's work (a
/// script's `afk watch` right after a turn ended met the turn's own watch).
/// A tick of every repository holding it, or one afk cannot name, is
/// stepped aside from at once, as ever: it does the same work, and cron's
/// next tick is a minute away.
pub fn waits_for(record: Option<&Holder>, pid: Pid) -> bool {
    record.is_some_and(|r| r.event) && pid == Pid::Same
}

/// The kernel's start time of a process, from the text of its
/// `/proc/<pid>/stat`: the 22nd field, counted after the command name's
/// closing parenthesis (the name may hold spaces and parentheses).
pub fn proc_start(stat: &str) -> Option<u64> {
    let rest = &stat[stat.rfind(')')? + 1..];
    // fields 3.. follow the name: the 22nd field is the 20th of them
    rest.split_whitespace().nth(19)?.parse().ok()
}

/// What the pid a lock's record names is now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pid {
    /// no such process
    Gone,
    /// the very process that wrote the record (the same kernel start time)
    Same,
    /// a live process that is another one (the pid reused), or one that
    /// cannot be told apart from another
    Other,
}

/// The pid of `record`, given the kernel's start time of the process that
/// has that pid now (None: no such process).
pub fn pid_now(record: &Holder, now_proc_start: Option<u64>) -> Pid {
    match (now_proc_start, record.proc_start) {
        (None, _) => Pid::Gone,
        (Some(now), Some(then)) if now == then => Pid::Same,
        (Some(_), _) => Pid::Other,
    }
}

/// What a tick does about its kind's lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockMove {
    /// the lock is free: take it, nothing to say
    Take,
    /// the lock is free but its record names a holder that is gone (a tick
    /// that crashed or was killed): take it and say so
    TakeOverGone { pid: u32, age: Duration },
    /// held by a tick that may still be working (or by a process afk cannot
    /// name): step aside, as a tick always has
    StepAside,
    /// held by a tick past twice its deadline: SIGTERM, then SIGKILL, then
    /// take it and say so
    Stop { pid: u32, age: Duration },
    /// the record names a process past twice the deadline, but the kernel
    /// does not vouch that it is an afk tick holding this lock: nothing is
    /// signalled, the tick steps aside and says why
    Unproven { pid: u32, age: Duration, why: Holds },
}

/// What the kernel says of the lock's holder, against the record: the only
/// evidence that makes a process one afk may signal (a record is a file
/// anyone who can write the state folder can forge).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Holds {
    /// the record lock's holder is the record's pid, running afk's own executable
    Afk,
    /// the kernel names no process (an `flock`, an open-file-description lock)
    Unnamed,
    /// the kernel names another process than the record's
    Another(u32),
    /// the holder runs another program than afk
    NotAfk,
}

impl Holds {
    /// Why a process was not signalled, as a line ends.
    pub fn why(self) -> String {
        match self {
            Holds::Afk => "it holds the lock as an afk tick".into(),
            Holds::Unnamed => {
                "the kernel names no process holding its record lock (an flock(1) or another program holds it)".into()
            }
            Holds::Another(p) => format!("the kernel names pid {p}, not the record's, as its holder"),
            Holds::NotAfk => "that process does not run afk's executable".into(),
        }
    }
}

/// The evidence of the lock's holder: `kernel`, the pid the kernel names
/// holding the record lock (`F_OFD_GETLK`; None: none named); `record`, the
/// record's pid; `afk_exe`, whether that process runs afk's executable.
pub fn holds(kernel: Option<u32>, record: u32, afk_exe: bool) -> Holds {
    match kernel {
        None => Holds::Unnamed,
        Some(k) if k != record => Holds::Another(k),
        Some(_) if !afk_exe => Holds::NotAfk,
        Some(_) => Holds::Afk,
    }
}

/// The tick's move on its lock (docs/operations.md#when-something-goes-wrong: a
/// lock held by a process that is gone, or by one past twice `tick_timeout`, is
/// taken over, and the takeover is said). `free`: this tick could lock it;
/// `record`: what the lock file says of its last holder; `pid`: what that pid
/// is now; `now`: unix seconds by the machine's clock; `timeout`: the kind's
/// `tick_timeout`; `holds`: the kernel's word on the holder. A process is
/// stopped only when it is the one the record names (a reused pid is never
/// signalled), the kernel names it as the holder and it runs afk, and it holds
/// the lock past twice the deadline, which a tick that keeps its own deadline
/// never does.
pub fn lock_move(
    free: bool,
    (record, pid, holds): (Option<Holder>, Pid, Holds),
    now: i64,
    timeout: Duration,
) -> LockMove {
    let Some(r) = record else {
        return if free {
            LockMove::Take
        } else {
            LockMove::StepAside
        };
    };
    let age = Duration::from_secs(u64::try_from(now - r.started).unwrap_or(0));
    match (free, pid) {
        (true, Pid::Same) => LockMove::Take,
        (true, _) => LockMove::TakeOverGone { pid: r.pid, age },
        (false, Pid::Same) if age > 2 * timeout => match holds {
            Holds::Afk => LockMove::Stop { pid: r.pid, age },
            why => LockMove::Unproven {
                pid: r.pid,
                age,
                why,
            },
        },
        (false, _) => LockMove::StepAside,
    }
}

/// How long each git call on a repository an agent wrote may run
/// (docs/security.md#the-workspace-the-agent-holds-no-forge-credential):
/// a file there that blocks (a FIFO) makes git wait for ever, so its process
/// group is killed after this and the turn refused `push-refused`.
pub const AGENT_GIT: Duration = Duration::from_secs(120);

/// One such git call's deadline: [`AGENT_GIT`], or what is `left` of the
/// tick's own deadline when that is less, so no git afk started outlives
/// the tick that waits on it (a tick past its deadline exits, and a git in
/// its own process group would go on waiting). `left`: None outside a tick
/// (the Kubernetes Job's forwarding container).
pub fn agent_git(left: Option<Duration>) -> Duration {
    left.map_or(AGENT_GIT, |l| l.min(AGENT_GIT))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_git_on_an_agents_repository_ends_by_120s_or_by_the_ticks_deadline() {
        let s = Duration::from_secs;
        let table = [
            (None, s(120)),
            (Some(s(3600)), s(120)),
            (Some(s(120)), s(120)),
            (Some(s(25)), s(25)),
            (Some(s(0)), s(0)),
        ];
        for (left, want) in table {
            assert_eq!(agent_git(left), want, "{left:?}");
        }
    }

    #[test]
    fn a_tick_kind_is_never_overdue_failed_or_ok_in_that_order() {
        let five = Duration::from_secs(300);
        let table = [
            ("no start recorded", None, None, "never"),
            (
                "older than twice its interval",
                Some(601),
                Some(0),
                "overdue",
            ),
            ("overdue before failed", Some(601), Some(1), "overdue"),
            ("a non-zero exit", Some(60), Some(5), "failed"),
            ("a closed stdout is no failure", Some(60), Some(141), "ok"),
            ("running now (no end yet)", Some(60), None, "ok"),
            ("fine", Some(600), Some(0), "ok"),
        ];
        for (rule, ago, exit, want) in table {
            assert_eq!(health(ago, exit, five), want, "{rule}");
        }
    }

    #[test]
    fn a_kind_the_config_never_schedules_is_unused_until_one_runs() {
        let five = Duration::from_secs(300);
        let table = [
            ("nothing to do, never ran", false, None, None, "unused"),
            ("nothing to do, but one ran", false, Some(60), Some(0), "ok"),
            ("scheduled, never ran", true, None, None, "never"),
            ("scheduled, overdue", true, Some(601), Some(0), "overdue"),
        ];
        for (rule, scheduled, ago, exit, want) in table {
            assert_eq!(state(scheduled, ago, exit, five), want, "{rule}");
        }
    }

    #[test]
    fn a_stopped_tick_has_a_bounded_grace_and_a_documented_exit_code() {
        let s = Duration::from_secs;
        let table = [
            ("a quarter of the deadline", Stop::Deadline, s(600), s(60)),
            ("at most a minute", Stop::Deadline, s(3600), s(60)),
            ("at least two seconds", Stop::Deadline, s(4), s(2)),
            ("a quarter", Stop::Deadline, s(40), s(10)),
            (
                "after SIGTERM at most ten seconds",
                Stop::Term,
                s(600),
                s(10),
            ),
        ];
        for (rule, stop, timeout, want) in table {
            assert_eq!(grace(stop, timeout), want, "{rule}");
        }
        let m = |n: u64| Duration::from_secs(60 * n);
        assert_eq!(timeout_for("poll", m(10)), m(10), "tick_timeout as it is");
        assert_eq!(
            timeout_for("upgrade", m(10)),
            m(60),
            "upgrade: at least an hour"
        );
        assert_eq!(timeout_for("upgrade", m(90)), m(90), "or more when asked");
        assert_eq!(Stop::Deadline.exit_code(), 5);
        assert_eq!(Stop::Term.exit_code(), 143);
        let l = Stop::Deadline.line("poll", s(600), true);
        assert!(
            l.starts_with("poll: the tick reached its tick_timeout (600s)")
                && l.contains("reconciles"),
            "{l}"
        );
        assert!(Stop::Term.line("watch", s(600), false).contains("SIGTERM"));
    }

    #[test]
    fn a_lock_past_twice_the_deadline_or_left_by_a_gone_tick_is_taken_over() {
        let ten = Duration::from_secs(600);
        let now = 1_000_000;
        let rec = |ago: i64| {
            Some(Holder {
                pid: 42,
                started: now - ago,
                proc_start: Some(7),
                event: false,
            })
        };
        let age = Duration::from_secs;
        let table = [
            ("held by nobody", true, None, Pid::Gone, LockMove::Take),
            (
                "held by a process afk cannot name (an operator's flock)",
                false,
                None,
                Pid::Gone,
                LockMove::StepAside,
            ),
            (
                "held by a live tick within twice its deadline",
                false,
                rec(1200),
                Pid::Same,
                LockMove::StepAside,
            ),
            (
                "held by a live tick past twice its deadline",
                false,
                rec(1201),
                Pid::Same,
                LockMove::Stop {
                    pid: 42,
                    age: age(1201),
                },
            ),
            (
                "the record's tick is gone and the lock free: said",
                true,
                rec(30),
                Pid::Gone,
                LockMove::TakeOverGone {
                    pid: 42,
                    age: age(30),
                },
            ),
            (
                "the record's pid now another process, the lock free",
                true,
                rec(5000),
                Pid::Other,
                LockMove::TakeOverGone {
                    pid: 42,
                    age: age(5000),
                },
            ),
            (
                "pid reused: an unrelated process is never signalled",
                false,
                rec(5000),
                Pid::Other,
                LockMove::StepAside,
            ),
            (
                "the record is stale and someone else holds the lock",
                false,
                rec(5000),
                Pid::Gone,
                LockMove::StepAside,
            ),
            (
                "the record's tick let go and lives on",
                true,
                rec(5000),
                Pid::Same,
                LockMove::Take,
            ),
            (
                "a start in the future is young",
                false,
                rec(-100),
                Pid::Same,
                LockMove::StepAside,
            ),
        ];
        for (rule, free, record, pid, want) in table {
            let got = lock_move(free, (record, pid, Holds::Afk), now, ten);
            assert_eq!(got, want, "{rule}");
        }
    }

    #[test]
    fn only_a_holder_the_kernel_names_running_afk_is_ever_signalled() {
        let table = [
            (
                "the record's pid holds it and runs afk",
                Some(42),
                true,
                Holds::Afk,
            ),
            (
                "an flock or an OFD lock: no pid",
                None,
                true,
                Holds::Unnamed,
            ),
            (
                "a forged record naming another process",
                Some(7),
                true,
                Holds::Another(7),
            ),
            ("the holder is not afk", Some(42), false, Holds::NotAfk),
        ];
        let rec = Holder {
            pid: 42,
            started: 0,
            proc_start: Some(1),
            event: false,
        };
        let ten = Duration::from_secs(600);
        for (rule, kernel, exe, want) in table {
            let h = holds(kernel, 42, exe);
            assert_eq!(h, want, "{rule}");
            let m = lock_move(false, (Some(rec), Pid::Same, h), 5000, ten);
            let age = Duration::from_secs(5000);
            let expect = if h == Holds::Afk {
                LockMove::Stop { pid: 42, age }
            } else {
                LockMove::Unproven {
                    pid: 42,
                    age,
                    why: h,
                }
            };
            assert_eq!(m, expect, "{rule}");
        }
    }

    #[test]
    fn a_lock_record_names_its_process_so_a_reused_pid_is_told_apart() {
        let h = Holder {
            pid: 4242,
            started: 1_700_000_000,
            proc_start: Some(123_456),
            event: false,
        };
        assert_eq!(Holder::parse(&h.text()), Some(h), "round trip");
        let no_proc = Holder {
            proc_start: None,
            ..h
        };
        assert_eq!(Holder::parse(&no_proc.text()), Some(no_proc));
        let event = Holder { event: true, ..h };
        assert!(event.text().ends_with("event 1\n"), "{}", event.text());
        assert_eq!(Holder::parse(&event.text()), Some(event), "an event's tick");
        assert_eq!(
            Holder::parse("pid 4242\nstarted 1700000000\nproc_start 123456\n"),
            Some(h),
            "an older afk's record: no event"
        );
        assert_eq!(Holder::parse(""), None, "an empty lock file: no record");
        assert_eq!(Holder::parse("garbage"), None);
        assert_eq!(Holder::parse("pid 0\nstarted 1\n"), None, "no pid 0");
        let stat = "4242 (a (weird) name) S 1 4242 4242 0 -1 4194560 100 0 0 0 \
                    1 2 0 0 20 0 1 0 123456 1000 100 18446744073709551615";
        assert_eq!(proc_start(stat), Some(123_456));
        assert_eq!(proc_start("4242 (short) S 1"), None);
        let table = [
            ("no such process", None, Pid::Gone),
            ("the same start", Some(123_456), Pid::Same),
            ("another start: the pid reused", Some(999), Pid::Other),
        ];
        for (rule, now, want) in table {
            assert_eq!(pid_now(&h, now), want, "{rule}");
        }
        assert_eq!(
            pid_now(&no_proc, Some(123_456)),
            Pid::Other,
            "a record without a start cannot vouch for its pid"
        );
    }

    #[test]
    fn a_watch_of_every_run_waits_only_for_a_live_event_tick() {
        let rec = |event| Holder {
            pid: 42,
            started: 0,
            proc_start: Some(7),
            event,
        };
        // (rule, the lock's record, what its pid is now) -> waits
        let cases = [
            (
                "a turn's end or a webhook's tick",
                Some(rec(true)),
                Pid::Same,
                true,
            ),
            (
                "another watch of every run",
                Some(rec(false)),
                Pid::Same,
                false,
            ),
            ("a holder afk cannot name", None, Pid::Gone, false),
            (
                "an event's record, its pid now another process",
                Some(rec(true)),
                Pid::Other,
                false,
            ),
            (
                "an event's record, its process gone",
                Some(rec(true)),
                Pid::Gone,
                false,
            ),
        ];
        for (rule, record, pid, want) in cases {
            assert_eq!(waits_for(record.as_ref(), pid), want, "{rule}");
        }
    }
}
