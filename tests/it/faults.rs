//! Faults that must say enough (issue 31): an empty secret file, a full disk,
//! a `Retry-After` given as an HTTP date, a lock held past its deadline. Each
//! error line names its innermost cause and what to do.

use crate::support::*;
use serde_json::json;

/// Run afk with `config` and no token in the environment: (exit, stdout, stderr).
fn run_without_env_token(config: &std::path::Path, args: &[&str]) -> (i32, String, String) {
    let out = std::process::Command::new(afk_bin())
        .env_remove("AFK_FORGE_TOKEN")
        .env_remove("AFK_CONFIG")
        .arg("--config")
        .arg(config)
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

#[test]
fn an_empty_or_blank_token_file_is_a_config_error_naming_the_file() {
    use std::os::unix::fs::PermissionsExt;
    let sb = Sandbox::start(json!({"repos": [repo("acme/api", json!([ready(1, "alice")]))]}));
    let scratch = Scratch::new();
    let config = scratch.write(
        "afk.toml",
        &format!(
            "state_path = \"state/afk.db\"\n[forge]\n{}token_file = \"token\"\n\
             [runner]\ncommand = [\"true\"]\n[poll]\nenabled = true\nallowlist = [\"acme/api\"]\n",
            sb.forge_keys()
        ),
    );
    for content in ["", " \n\t\n"] {
        let token = scratch.write("token", content);
        std::fs::set_permissions(&token, std::fs::Permissions::from_mode(0o600)).unwrap();
        let (code, _, err) = run_without_env_token(&config, &["poll"]);
        assert_eq!(code, 2, "{content:?}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
        assert!(
            err.contains("forge.token_file") && err.contains(&token.display().to_string()),
            "names the key and the file: {err}"
        );
        assert!(err.contains("empty"), "{err}");
    }
    assert!(sb.requests().is_empty(), "no request sent without a token");
}

/// A process holding `lock` by `flock` (an operator's `flock(1)` wrapper, or
/// anything else that is not an afk tick), once it holds it: a shell that
/// locks then becomes `sleep` (one pid throughout), saying so first.
fn flock_holder(lock: &std::path::Path) -> std::process::Child {
    use std::io::BufRead;
    let mut child = std::process::Command::new("sh")
        .arg("-c")
        .arg(r#"exec 9>>"$1" && flock 9 && echo held && exec sleep 1000"#)
        .arg("sh")
        .arg(lock)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.as_mut().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line.trim(), "held");
    child
}

/// A real afk poll tick wedged on a forge that does not answer within the
/// minute its own config waits, once it holds its lock and has written its
/// record; the forge answers the other ticks again after.
fn wedged_tick(sb: &Sandbox, afk: &Afk, lock: &std::path::Path) -> std::process::Child {
    let text = std::fs::read_to_string(&afk.config).unwrap().replace(
        "timeout = \"5s\"\nretries = 2",
        "timeout = \"60s\"\nretries = 0",
    );
    assert!(text.contains("\"60s\""), "{text}");
    let config = afk.scratch.write("wedged.toml", &text);
    sb.faults(json!([{"hang": true}]));
    let child = std::process::Command::new(afk_bin())
        .env("AFK_FORGE_TOKEN", TOKEN)
        .env_remove("AFK_CONFIG")
        .arg("--config")
        .arg(config)
        .args(["--json", "poll"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    // its lock taken, its record written and its first request in the
    // forge's hands (the forge logs a request before it hangs)
    while !std::fs::read_to_string(lock).is_ok_and(|t| t.starts_with("pid "))
        || sb.requests().is_empty()
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the tick never got wedged"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    sb.faults(json!([]));
    child
}

/// The kernel's start time of `pid` (`/proc/<pid>/stat`, field 22).
fn proc_start(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let rest = &stat[stat.rfind(')').unwrap() + 1..];
    rest.split_whitespace().nth(19).unwrap().parse().unwrap()
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// A lock record as afk writes it (docs/operations.md).
fn record(pid: u32, started_ago: i64, proc_start: u64) -> String {
    format!(
        "pid {pid}\nstarted {}\nproc_start {proc_start}\n",
        unix_now() - started_ago
    )
}

/// A tick deadline short enough that a stopped tick's grace is 5 s.
fn lock_setup() -> (Sandbox, Afk, std::path::PathBuf) {
    let sb = Sandbox::start(json!({"repos": [repo("acme/api", json!([]))]}));
    let afk = Afk::new(&sb, "enabled = true\nallowlist = [\"acme/api\"]\n", "");
    let text = std::fs::read_to_string(&afk.config).unwrap();
    std::fs::write(&afk.config, format!("tick_timeout = \"20s\"\n{text}")).unwrap();
    std::fs::create_dir_all(afk.scratch.path("state")).unwrap();
    let lock = afk.scratch.path("state/poll.lock");
    (sb, afk, lock)
}

fn alive(child: &mut std::process::Child) -> bool {
    child.try_wait().unwrap().is_none()
}

/// Issue 47: a forged record (the pid and start time of any process of
/// afk's user, started long ago) in a lock an `flock` holds gets nothing
/// signalled: the kernel names no afk tick as the lock's holder.
#[test]
fn a_forged_lock_record_gets_no_process_signalled() {
    let (_sb, afk, lock) = lock_setup();
    let mut holder = flock_holder(&lock);
    let pid = holder.id();
    std::fs::write(&lock, record(pid, 3600, proc_start(pid))).unwrap();
    let (code, r, err) = afk.poll();
    assert_eq!(code, 0, "{err}");
    assert_eq!(r["stepped_aside"], true, "{r}");
    assert!(alive(&mut holder), "never signalled: {err}");
    assert!(
        err.contains(&format!("pid {pid}"))
            && err.contains("not signalled")
            && err.contains("steps aside"),
        "says so: {err}"
    );
    holder.kill().unwrap();
    holder.wait().unwrap();
}

/// Issue 47: an afk tick holds the lock and the record is rewritten to name
/// another process: neither is signalled (the kernel's holder is not the
/// record's pid).
#[test]
fn a_record_naming_another_process_than_the_locks_holder_gets_neither_signalled() {
    let (sb, afk, lock) = lock_setup();
    let mut tick = wedged_tick(&sb, &afk, &lock);
    let mut other = std::process::Command::new("sleep")
        .arg("1000")
        .spawn()
        .unwrap();
    let pid = other.id();
    std::fs::write(&lock, record(pid, 3600, proc_start(pid))).unwrap();
    let (code, r, err) = afk.poll();
    assert_eq!(code, 0, "{err}");
    assert_eq!(r["stepped_aside"], true, "{r}");
    assert!(alive(&mut other), "never signalled: {err}");
    assert!(alive(&mut tick), "never signalled: {err}");
    assert!(err.contains("not signalled"), "{err}");
    for c in [&mut other, &mut tick] {
        c.kill().unwrap();
        c.wait().unwrap();
    }
}

#[test]
fn lock_held_past_twice_the_deadline_is_taken_over_and_said() {
    let (sb, afk, lock) = lock_setup();
    let mut tick = wedged_tick(&sb, &afk, &lock);
    let pid = tick.id();
    let start = proc_start(pid);

    // the record's pid is alive but another process (the pid reused): never signalled
    std::fs::write(&lock, record(pid, 3600, start + 1)).unwrap();
    let (code, r, err) = afk.poll();
    assert_eq!(code, 0, "{err}");
    assert_eq!(r["stepped_aside"], true, "{r}");
    assert!(alive(&mut tick), "left alone: {err}");

    // the very tick, an hour in (twice the 20s tick_timeout is 40s)
    std::fs::write(&lock, record(pid, 3600, start)).unwrap();
    let (code, r, err) = afk.poll();
    assert_eq!(code, 0, "{err}");
    assert_ne!(r["stepped_aside"], true, "the tick ran: {r}\n{err}");
    tick.wait().unwrap();
    let said: Vec<&str> = err
        .lines()
        .filter(|l| l.contains("took the lock over"))
        .collect();
    assert_eq!(said.len(), 1, "said once: {err}");
    assert!(
        said[0].contains(&format!("pid {pid}"))
            && said[0].contains("1h ago")
            && said[0].contains("SIGTERM"),
        "{}",
        said[0]
    );
    assert_eq!(
        std::fs::read_to_string(&lock).unwrap(),
        "",
        "the record emptied when the tick let go"
    );
}

#[test]
fn lock_held_by_a_young_tick_is_left_alone() {
    let (sb, afk, lock) = lock_setup();
    let mut tick = wedged_tick(&sb, &afk, &lock);
    let (code, r, err) = afk.poll();
    assert_eq!(code, 0, "{err}");
    assert_eq!(r["stepped_aside"], true, "{r}");
    assert!(!err.contains("took") && !err.contains("signalled"), "{err}");
    // the line says which tick holds it
    assert!(
        err.contains(&format!(
            "another poll tick holds the lock (pid {}, `afk poll`",
            tick.id()
        )),
        "{err}"
    );
    assert!(alive(&mut tick), "still running");
    tick.kill().unwrap();
    tick.wait().unwrap();
}

#[test]
fn lock_left_by_a_gone_tick_is_taken_and_said() {
    let (_sb, afk, lock) = lock_setup();
    let mut gone = std::process::Command::new("true").spawn().unwrap();
    let pid = gone.id();
    gone.wait().unwrap();
    std::fs::write(&lock, record(pid, 90, 12345)).unwrap();
    let (code, r, err) = afk.poll();
    assert_eq!(code, 0, "{err}");
    assert_ne!(r["stepped_aside"], true, "{r}");
    let said: Vec<&str> = err
        .lines()
        .filter(|l| l.contains("took over the lock"))
        .collect();
    assert_eq!(said.len(), 1, "{err}");
    assert!(
        said[0].contains(&format!("pid {pid}")) && said[0].contains("gone"),
        "{}",
        said[0]
    );
}

/// A wedged tick that does not end on SIGTERM (stopped, as a debugger or a
/// frozen cgroup leaves it) is killed, then its lock taken.
#[test]
fn lock_held_by_a_tick_deaf_to_sigterm_is_killed_then_taken() {
    use std::os::unix::process::ExitStatusExt;
    let (sb, afk, lock) = lock_setup();
    let mut tick = wedged_tick(&sb, &afk, &lock);
    let pid = tick.id();
    // SAFETY: kill(2) on this test's own child.
    unsafe { libc::kill(pid as i32, libc::SIGSTOP) };
    std::fs::write(&lock, record(pid, 3600, proc_start(pid))).unwrap();
    let (code, r, err) = afk.poll();
    assert_eq!(code, 0, "{err}");
    assert_ne!(r["stepped_aside"], true, "{r}\n{err}");
    assert_eq!(tick.wait().unwrap().signal(), Some(libc::SIGKILL));
    assert!(
        err.contains(&format!("pid {pid}")) && err.contains("SIGKILL"),
        "{err}"
    );
}

/// Issue 82, item 7: a scripted Quick start's `afk watch` stepped aside,
/// exit 0, from the watch a turn's end had started, which still held the
/// lock. A watch of every run waits for an event's tick (its lock's record
/// says `event 1`: a turn's end, a webhook, one repository's work) within
/// hook.wait_lock, then runs its own tick; from another watch of every run
/// it steps aside at once, saying so. The lock here is this test's own,
/// let go once afk has said that it waits: no sleep, nothing timed.
#[test]
fn a_watch_waits_for_an_event_ticks_lock_then_runs_and_steps_aside_from_another_watch() {
    use std::io::BufRead;
    use std::os::fd::AsRawFd;
    let (_sb, afk, _) = lock_setup();
    // a state file: a watch with none has nothing to do and takes no lock
    let (code, _, err) = afk.poll();
    assert_eq!(code, 0, "{err}");
    let lock = afk.scratch.path("state/watch.lock");
    let me = std::process::id();
    // (rule, the holder is an event's tick)
    for (rule, event) in [
        ("another watch of every run", false),
        ("an event's tick", true),
    ] {
        let f = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&lock)
            .unwrap();
        // an open file description's record lock: the kernel shows it to
        // afk as it shows another afk's
        // SAFETY: a zeroed flock is a valid value; the fields that matter are set
        let mut fl: libc::flock = unsafe { std::mem::zeroed() };
        fl.l_type = libc::F_WRLCK as _;
        fl.l_whence = libc::SEEK_SET as _;
        // SAFETY: fcntl on a descriptor this File owns, with a valid flock
        let locked = unsafe { libc::fcntl(f.as_raw_fd(), libc::F_OFD_SETLK, &mut fl) };
        assert_eq!(locked, 0, "{rule}: {}", std::io::Error::last_os_error());
        let text = record(me, 0, proc_start(me)) + if event { "event 1\n" } else { "" };
        std::fs::write(&lock, text).unwrap();
        let mut child = afk
            .std_cmd()
            .args(["--json", "watch"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut held = Some(f);
        let mut err = String::new();
        let mut lines = std::io::BufReader::new(child.stderr.take().unwrap());
        loop {
            let mut line = String::new();
            if lines.read_line(&mut line).unwrap() == 0 {
                break;
            }
            if line.contains("this tick waits for it")
                && let Some(f) = held.take()
            {
                // the event's tick ends: its record emptied, its lock let go
                f.set_len(0).unwrap();
                drop(f);
            }
            err.push_str(&line);
        }
        let waited = held.is_none();
        drop(held);
        let out = child.wait_with_output().unwrap();
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
        assert_eq!(out.status.code(), Some(0), "{rule}: {err}");
        let waits: Vec<&str> = err.lines().filter(|l| l.contains("waits for it")).collect();
        if event {
            assert!(waited, "{rule}: said that it waits: {err}");
            assert_eq!(waits.len(), 1, "{rule}: said once: {err}");
            assert!(
                waits[0].contains(&format!("pid {me}"))
                    && waits[0].contains("hook.wait_lock (20s)"),
                "{rule}: names the holder and the bound: {}",
                waits[0]
            );
            assert_ne!(
                report["stepped_aside"], true,
                "{rule}: its own tick ran: {report}\n{err}"
            );
            assert_eq!(report["tick"], "watch", "{rule}: {report}");
            assert!(!err.contains("stepping aside"), "{rule}: {err}");
        } else {
            assert!(waits.is_empty(), "{rule}: no wait: {err}");
            assert_eq!(report["stepped_aside"], true, "{rule}: {report}\n{err}");
            let aside: Vec<&str> = err
                .lines()
                .filter(|l| {
                    l.contains("another watch tick holds the lock") && l.contains("stepping aside")
                })
                .collect();
            assert_eq!(aside.len(), 1, "{rule}: one line says so: {err}");
        }
    }
}

/// The gap between the first two requests whose path is `path`, in ms.
fn gap_ms(sb: &Sandbox, path: &str) -> u64 {
    let at: Vec<u64> = sb
        .requests()
        .iter()
        .filter(|q| q["path"] == path)
        .map(|q| q["at_ms"].as_u64().unwrap())
        .collect();
    assert!(at.len() >= 2, "retried: {at:?}");
    at[1] - at[0]
}

#[test]
fn retry_after_as_an_http_date_is_honoured_from_the_answers_date() {
    let sb = Sandbox::start(json!({"repos": [repo("acme/api", json!([ready(1, "alice")]))]}));
    // as a CDN sends it: an IMF-fixdate 1 s after the answer's own Date
    // (so the two clocks' skew does not count; the dates are long past)
    sb.faults(json!([{
        "path": "/issues", "status": 429, "times": 1,
        "retry_after_text": "Sun, 06 Nov 1994 08:49:38 GMT",
        "date": "Sun, 06 Nov 1994 08:49:37 GMT"
    }]));
    let afk = Afk::new(&sb, "enabled = true\nallowlist = [\"acme/api\"]\n", "");
    let (code, r, err) = afk.poll();
    assert_eq!(code, 0, "{err}");
    assert_eq!(pairs(&r["dispatched"]), vec![("acme/api".into(), 1)]);
    let gap = gap_ms(&sb, &sb.dialect.issues_path("acme/api", ""));
    assert!(
        (1000..10_000).contains(&gap),
        "waited the second the date asks for, not the 0.1 s backoff: {gap} ms"
    );
}

#[test]
fn retry_after_as_a_date_beyond_the_ticks_wait_budget_is_left_to_the_next_tick() {
    let sb = Sandbox::start(json!({"repos": [repo("acme/api", json!([ready(1, "alice")]))]}));
    // asctime form, an hour after the answer's Date: more than a tick waits
    sb.faults(json!([{
        "path": "/issues", "status": 503,
        "retry_after_text": "Sun Nov  6 09:49:37 1994",
        "date": "Sun, 06 Nov 1994 08:49:37 GMT"
    }]));
    let afk = Afk::new(&sb, "enabled = true\nallowlist = [\"acme/api\"]\n", "");
    let (code, r, err) = afk.poll();
    assert_eq!(code, 1, "{err}");
    let msg = r["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(
        msg.contains("3600s") && msg.contains("next tick"),
        "{msg}\n{r}"
    );
}

#[test]
fn runs_dir_full_names_the_os_cause_of_the_failed_prompt_write() {
    // the run's folder on a full file system (a small tmpfs, filled: root
    // mounts it); else the prompt's path a link to /dev/full, which afk
    // never writes through, and says so with the OS's words
    let sb = Sandbox::start(json!({"repos": [repo("acme/api", json!([ready(1, "alice")]))]}));
    let afk = Afk::new(&sb, "enabled = true\nallowlist = [\"acme/api\"]\n", "");
    let run = afk.scratch.path("state/runs/1");
    let disk = SmallDisk::mount(run.clone(), "64k");
    let cause = match &disk {
        Some(d) => {
            d.fill();
            "No space left on device"
        }
        None => {
            std::os::unix::fs::symlink("/dev/full", run.join("prompt-1.md")).unwrap();
            "Too many levels of symbolic links"
        }
    };
    let (code, r, err) = afk.poll();
    assert_eq!(code, 1, "{err}");
    let msg = r["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(
        msg.contains("agent start failed") && msg.contains("prompt-1.md") && msg.contains(cause),
        "the OS cause kept: {msg}\n{r}"
    );
    let stored = afk.sql_rows("SELECT error FROM runs WHERE id = 1");
    assert!(
        stored[0][0].contains(cause),
        "the run's record names it too: {stored:?}"
    );
    drop(disk);
}

/// A tiny tmpfs mounted for one test, unmounted when dropped: a real full
/// file system. Mounting needs root; None (the test says it did not run)
/// where this user cannot mount.
struct SmallDisk(std::path::PathBuf);

impl SmallDisk {
    fn mount(at: std::path::PathBuf, size: &str) -> Option<SmallDisk> {
        std::fs::create_dir_all(&at).unwrap();
        let ok = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(&at)
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        ok.then_some(SmallDisk(at))
    }

    /// Fill it: one file grown until the disk refuses (ENOSPC).
    fn fill(&self) {
        use std::io::Write;
        let mut f = std::fs::File::create(self.0.join("filler")).unwrap();
        let block = vec![0u8; 4096];
        loop {
            if let Err(e) = f.write_all(&block).and_then(|()| f.sync_all()) {
                assert_eq!(e.raw_os_error(), Some(libc::ENOSPC), "{e}");
                return;
            }
        }
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn state_disk_full_says_the_disk_is_full_and_writes_nothing_half() {
    let sb = Sandbox::start(json!({"repos": [repo("acme/api", json!([ready(1, "alice")]))]}));
    let afk = Afk::new(&sb, "enabled = true\nallowlist = [\"acme/api\"]\n", "");
    let Some(disk) = SmallDisk::mount(afk.scratch.path("state"), "2m") else {
        eprintln!(
            "not run: mounting a small tmpfs needs root (the store's unit test covers SQLITE_FULL)"
        );
        return;
    };
    // the state file made while there is room (a tick with nothing to do),
    // then the disk filled and the issue armed
    sb.label("acme/api", 1, "ready-for-agent", "alice", false);
    let (code, _, err) = afk.poll();
    assert_eq!(code, 0, "{err}");
    assert!(afk.state().exists(), "the first tick made the state file");
    disk.fill();
    sb.label("acme/api", 1, "ready-for-agent", "alice", true);
    sb.clear_requests();
    let (code, r, err) = afk.poll();
    assert_ne!(code, 0, "{r}\n{err}");
    let all = format!("{r}\n{err}");
    assert!(
        all.contains("is full")
            && all.contains("No space left on device")
            && all.contains("free space"),
        "says the disk is full and what to do: {all}"
    );
    assert!(!all.contains("disk I/O error"), "{all}");
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    assert!(
        sb.writes().is_empty(),
        "nothing claimed on the forge: {all}"
    );
    drop(disk);
}

#[test]
fn a_token_file_that_is_a_directory_says_so_not_chmod() {
    let sb = Sandbox::start(json!({"repos": [repo("acme/api", json!([ready(1, "alice")]))]}));
    let scratch = Scratch::new();
    let config = scratch.write(
        "afk.toml",
        &format!(
            "state_path = \"state/afk.db\"\n[forge]\n{}token_file = \"tokendir\"\n\
             [runner]\ncommand = [\"true\"]\n[poll]\nenabled = true\nallowlist = [\"acme/api\"]\n",
            sb.forge_keys()
        ),
    );
    std::fs::create_dir_all(scratch.path("tokendir")).unwrap();
    let (code, _, err) = run_without_env_token(&config, &["poll"]);
    assert_eq!(code, 2, "{err}");
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    assert!(!err.contains("chmod"), "{err}");
    assert!(
        err.contains("forge.token_file") && err.contains("is a directory"),
        "{err}"
    );
    assert!(err.contains("file"), "says what to give instead: {err}");
}

/// Every file afk reads at a command's start is a regular file read with a
/// bound: a config or a token file that is a FIFO (which would hold the
/// command until someone writes to it) or a device (`/dev/zero` never
/// ends) is one line and exit 2, at once, and no request is sent.
#[test]
fn a_config_or_token_file_that_is_a_fifo_or_a_device_is_one_line_and_hangs_nothing() {
    use std::os::unix::fs::PermissionsExt;
    let sb = Sandbox::start(json!({"repos": [repo("acme/api", json!([ready(1, "alice")]))]}));
    let scratch = Scratch::new();
    let fifo = scratch.path("fifo");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: a valid C string; mkfifo(3) only makes the file
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let with_token = |token: &str| {
        scratch.write(
            &format!("afk-{}.toml", token.replace('/', "-")),
            &format!(
                "state_path = \"state/afk.db\"\n[forge]\n{}token_file = \"{token}\"\n\
                 [runner]\ncommand = [\"true\"]\n[poll]\nenabled = true\nallowlist = [\"acme/api\"]\n",
                sb.forge_keys()
            ),
        )
    };
    let cases: Vec<(std::path::PathBuf, &str, String)> = vec![
        (
            fifo.clone(),
            "not a regular file",
            fifo.display().to_string(),
        ),
        (
            with_token("fifo"),
            "forge.token_file",
            fifo.display().to_string(),
        ),
        ("/dev/zero".into(), "not a regular file", "/dev/zero".into()),
        (
            with_token("/dev/zero"),
            "forge.token_file",
            "/dev/zero".into(),
        ),
    ];
    for (config, says, names) in cases {
        std::fs::set_permissions(&fifo, std::fs::Permissions::from_mode(0o600)).unwrap();
        let out = assert_cmd::Command::new(afk_bin())
            .env_remove("AFK_FORGE_TOKEN")
            .env_remove("AFK_CONFIG")
            .arg("--config")
            .arg(&config)
            .arg("poll")
            .timeout(std::time::Duration::from_secs(60))
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{config:?} ended by itself: {err}"
        );
        assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
        assert!(
            err.contains(says) && err.contains(&names),
            "{says}, {names}: {err}"
        );
        assert!(err.contains("not a regular file"), "{err}");
    }
    assert!(sb.requests().is_empty(), "no request sent");
}

#[test]
fn a_config_that_cannot_be_read_says_why_and_suggests_init_only_when_missing() {
    let scratch = Scratch::new();
    let dir = scratch.path("afk.toml");
    std::fs::create_dir_all(&dir).unwrap();
    let (code, _, err) = run_without_env_token(&dir, &["poll"]);
    assert_eq!(code, 2, "{err}");
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    assert!(err.contains("cannot read"), "{err}");
    assert!(!err.contains(" init"), "it exists: no init: {err}");
    assert!(
        err.contains(": a folder") && err.contains("a regular file"),
        "what it is, and what to name: {err}"
    );
    let (code, _, err) = run_without_env_token(&scratch.path("missing.toml"), &["poll"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("does not exist") && err.contains("missing.toml init`"),
        "missing: init of that very file is the fix: {err}"
    );
}

/// `path` unwritable for afk while it lives (root ignores modes: immutable
/// instead), given back when dropped, a failed assertion included.
struct Unwritable {
    path: std::path::PathBuf,
    mode: u32,
    root: bool,
}

impl Unwritable {
    fn new(path: &std::path::Path) -> Unwritable {
        use std::os::unix::fs::PermissionsExt;
        // SAFETY: geteuid(2) cannot fail
        let root = unsafe { libc::geteuid() } == 0;
        let mode = std::fs::metadata(path).unwrap().permissions().mode();
        let made = if root {
            chattr("+i", path)
        } else {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode & 0o555)).is_ok()
        };
        assert!(made, "chattr +i (as root) is needed for this test");
        Unwritable {
            path: path.to_path_buf(),
            mode,
            root,
        }
    }
}

impl Drop for Unwritable {
    fn drop(&mut self) {
        use std::os::unix::fs::PermissionsExt;
        if self.root {
            chattr("-i", &self.path);
        } else {
            let _ =
                std::fs::set_permissions(&self.path, std::fs::Permissions::from_mode(self.mode));
        }
    }
}

fn chattr(flag: &str, path: &std::path::Path) -> bool {
    std::process::Command::new("chattr")
        .arg(flag)
        .arg(path)
        .status()
        .is_ok_and(|s| s.success())
}

/// The seventh trial: a read-only state folder gave poll and watch two
/// different errors (poll's from SQLite after its requests, watch's from its
/// lock file). A folder or a state file afk cannot write is one line, the
/// same for every tick, before any request: exit 1, nothing sent.
#[test]
fn a_state_folder_or_file_afk_cannot_write_is_one_line_for_every_tick_before_any_request() {
    let sb = Sandbox::start(json!({"repos": [repo("acme/api", json!([ready(1, "alice")]))]}));
    // the issue list answers 503: the first tick leaves a state file, no run
    sb.faults(json!([{"path": "/issues", "status": 503}]));
    let afk = Afk::new(&sb, "enabled = true\nallowlist = [\"acme/api\"]", "");
    afk.poll();
    let state = afk.state();
    let dir = state.parent().unwrap().to_path_buf();
    for (what, path) in [("folder", &dir), ("file", &state)] {
        let before = sb.requests().len();
        let held = Unwritable::new(path);
        let lines = [afk.poll(), afk.watch()].map(|(code, _, err)| {
            assert_eq!(code, 1, "{what}: {err}");
            let lines: Vec<&str> = err.lines().filter(|l| l.contains("ERROR")).collect();
            assert_eq!(lines.len(), 1, "{what}: one error line: {err}");
            let line = lines[0];
            line[line.find("state:").expect(line)..].to_string()
        });
        drop(held);
        assert_eq!(lines[0], lines[1], "{what}: poll and watch say the same");
        assert!(
            lines[0].contains(&path.display().to_string())
                && lines[0].contains("cannot be written"),
            "{what}: names the {what} and the cause: {}",
            lines[0]
        );
        assert_eq!(sb.requests().len(), before, "{what}: nothing sent");
    }
}

/// `path` (a folder) unreadable for afk while it lives (mode 000), its
/// mode given back when dropped, a failed assertion included.
struct Unreadable {
    path: std::path::PathBuf,
    mode: u32,
}

impl Unreadable {
    fn new(path: &std::path::Path) -> Unreadable {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path).unwrap().permissions().mode();
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o000)).unwrap();
        Unreadable {
            path: path.to_path_buf(),
            mode,
        }
    }
}

impl Drop for Unreadable {
    fn drop(&mut self) {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(&self.path, std::fs::Permissions::from_mode(self.mode));
    }
}

/// `cmd` as the kernel judges an ordinary user by a folder's mode: as it
/// is, or, as root (whom no mode stops), run by `setpriv` without the two
/// capabilities that pass over modes (`CAP_DAC_OVERRIDE`,
/// `CAP_DAC_READ_SEARCH`); None where that cannot be done.
fn bound_by_modes(cmd: std::process::Command) -> Option<std::process::Command> {
    // SAFETY: geteuid(2) cannot fail
    if unsafe { libc::geteuid() } != 0 {
        return Some(cmd);
    }
    let setpriv = std::path::Path::new("/usr/bin/setpriv");
    if !setpriv.exists() {
        return None;
    }
    let caps = "-dac_override,-dac_read_search";
    let mut c = std::process::Command::new(setpriv);
    c.arg(format!("--inh-caps={caps}"))
        .arg(format!("--bounding-set={caps}"))
        .arg("--")
        .arg(cmd.get_program())
        .args(cmd.get_args());
    for (k, v) in cmd.get_envs() {
        match v {
            Some(v) => c.env(k, v),
            None => c.env_remove(k),
        };
    }
    Some(c)
}

/// Issue 82, item 6: a state folder afk cannot read (cron or a timer run as
/// another user than the folder's) read as "no runs in flight" to watch and
/// as NEVER to status, both exit 0, while poll failed: a wrong user's watch
/// timer looked healthy for ever. Poll, watch and status now say the same
/// one line naming the folder, exit 1, nothing sent; with no state yet (a
/// fresh install) watch and status still exit 0.
#[test]
fn a_state_folder_afk_cannot_read_is_one_line_naming_it_from_poll_watch_and_status() {
    let sb = Sandbox::start(json!({"repos": [repo("acme/api", json!([ready(1, "alice")]))]}));
    // the issue list answers 503: the first tick leaves a state file, no run
    sb.faults(json!([{"path": "/issues", "status": 503}]));
    let afk = Afk::new(&sb, "enabled = true\nallowlist = [\"acme/api\"]", "");
    for args in [["watch"], ["status"]] {
        let (code, _, err) = afk.json(&args);
        assert_eq!(code, 0, "{args:?} with no state yet: {err}");
    }
    afk.poll();
    let dir = afk.state().parent().unwrap().to_path_buf();
    let held = Unreadable::new(&dir);
    let probe = bound_by_modes({
        let mut ls = std::process::Command::new("ls");
        ls.arg(&dir);
        ls
    })
    .map(|mut c| c.output().unwrap().status.success());
    if probe != Some(false) {
        eprintln!(
            "skipped: a folder of mode 000 cannot be made unreadable here (root without setpriv)"
        );
        return;
    }
    let before = sb.requests().len();
    let lines = ["poll", "watch", "status"].map(|what| {
        let mut cmd = afk.std_cmd();
        cmd.args(["--json", what]);
        let out = bound_by_modes(cmd).unwrap().output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr).to_string();
        assert_eq!(out.status.code(), Some(1), "{what}: {err}");
        let lines: Vec<&str> = err.lines().filter(|l| l.contains("ERROR")).collect();
        assert_eq!(lines.len(), 1, "{what}: one error line: {err}");
        let line = lines[0];
        line[line.find("state:").expect(line)..].to_string()
    });
    drop(held);
    assert_eq!(lines[0], lines[1], "poll and watch say the same");
    assert_eq!(lines[1], lines[2], "watch and status say the same");
    assert!(
        lines[0].starts_with(&format!(
            "state: {} cannot be read by this user",
            dir.display()
        )) && lines[0].contains("run afk as the user that owns it"),
        "names the folder, the cause and what to do: {}",
        lines[0]
    );
    assert_eq!(sb.requests().len(), before, "nothing sent");
}
