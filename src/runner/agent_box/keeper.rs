//! The keeper: `afk __box SPEC`, outside the box, in the turn's process
//! group: the turn's cgroup, the box's network (inside.rs: its namespaces
//! and listeners, made before the box), the forwarder, bubblewrap (afk as
//! root: started as the box's unprivileged host user).

use super::Spec;
use super::said::{say, say_turn_ends};
use crate::core::agent_box::{
    self as rules,
    forwarder::{HostPort, Verdict},
};
use anyhow::{Context, Result, bail};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};

// ---- the keeper: `afk __box SPEC` ----

/// A turn's model gateway, shared by its connections.
type SharedGateway = std::sync::Arc<super::gateway::Gateway>;

/// Run one boxed turn; the agent's exit status. With `record` (the run
/// folder) the keeper is the turn's first process and writes its records
/// there as the unboxed turn's wrapper does: its start before anything
/// else, the exit status once the box has ended (a panic's 101 too).
pub fn keep(spec_file: &Path, record: Option<&Path>) -> i32 {
    if let Some(dir) = record
        && let Err(e) = crate::runner::records::record_start(dir)
    {
        say(&format!(
            "cannot record the turn's start: {}",
            afk_host::os_words(&e)
        ));
    }
    let kept = std::panic::catch_unwind(|| keep_inner(spec_file, record));
    let code = match kept {
        Ok(Ok(code)) => code,
        Ok(Err(e)) => {
            say_turn_ends(&format!("cannot make the box: {e:#}"));
            126
        }
        Err(_) => 101,
    };
    if let Some(dir) = record
        && let Err(e) = crate::runner::records::record_exit(dir, code)
    {
        say(&format!(
            "cannot record the turn's exit status: {}",
            afk_host::os_words(&e)
        ));
    }
    if let (Some(after), Some(dir)) = (AFTER.get(), record) {
        crate::runner::turn_end::start_watch(after, dir, say);
    }
    code
}

/// The watch a turn's end starts, read from the spec (empty: none).
static AFTER: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();

fn keep_inner(spec_file: &Path, record: Option<&Path>) -> Result<i32> {
    // only descriptors 0-2 reach the box: one afk inherited (a cron
    // wrapper's lock on fd 9) would let the agent write through it
    crate::runner::turn_end::cloexec_from_3()?;
    // SAFETY: prctl(2) makes the keeper the reaper of what bubblewrap leaves
    unsafe {
        // bubblewrap ends as soon as the agent does; the box's pid 1, its
        // child, is then the keeper's, and reaped only once the kernel
        // ended every process of the box ([`the_box_ended`])
        libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1);
    }
    let spec = read_spec(spec_file)?;
    // the turn's first line in the run's log: a reason the box gave for
    // ending a turn before it is an earlier turn's (`core::box_reason`)
    say(&crate::core::box_reason::starts(spec.turn));
    if !spec.after.is_empty() {
        let _ = AFTER.set(spec.after.clone());
    }
    // a limit that is set is in force, or the box is never made (the turn's
    // start checked it; this is the host changing in between)
    if spec.memory.is_some() || spec.tasks > 0 {
        super::cgroup::limit(&spec.name, spec.memory, spec.tasks).map_err(|why| {
            anyhow::anyhow!("runner.box.memory or runner.box.tasks cannot be applied: {why}")
        })?;
    }
    // the box's network, made by bubblewrap's own process before it runs
    // bubblewrap (inside.rs), its listeners served from here
    let net = match spec.forward {
        true => {
            // SAFETY: geteuid(2) and getegid(2) cannot fail
            let own = unsafe { (libc::geteuid(), libc::getegid()) };
            Some(super::inside::Plan::new(
                &spec.inside,
                spec.host_user.unwrap_or(own),
            )?)
        }
        false => None,
    };
    let counts = std::sync::Arc::new(Counts::default());
    let gateway = match &spec.gateway {
        Some(g) => Some(super::gateway::Gateway::new(super::gateway::GatewaySpec {
            turn: spec.turn,
            ..g.clone()
        })?),
        None => None,
    };
    let out = forwarder(&spec, counts.clone(), gateway.clone());
    let code = run_bwrap(&spec, net, out)?;
    after(record, &spec, &counts, code);
    if let Some(g) = &gateway {
        // the requests in flight as the box ended are metered before the
        // turn's exit record
        g.finish(super::gateway::GRACE);
        g.summary();
    }
    Ok(code)
}

/// The turn's spec, as the tick wrote it (bounded).
fn read_spec(spec_file: &Path) -> Result<Spec> {
    let mut text = String::new();
    std::fs::File::open(spec_file)
        .and_then(|f| f.take(4 << 20).read_to_string(&mut text))
        .map_err(|e| {
            anyhow::anyhow!(
                "cannot read the box's spec {}: {}",
                spec_file.display(),
                afk_host::os_words(&e)
            )
        })?;
    serde_json::from_str(&text).context("the box's spec")
}

/// The forwarder: each connection made inside the box is one end of a new
/// pair, judged and relayed on a thread of its own (one for each of the
/// at most [`MAX_CONNECTIONS`] the listeners serve at once).
fn forwarder(
    spec: &Spec,
    counts: std::sync::Arc<Counts>,
    gateway: Option<SharedGateway>,
) -> super::inside::Out {
    let allow = spec.allow.clone();
    super::inside::Out {
        ask: Box::new(move |conn| {
            let (allow, counts) = (allow.clone(), counts.clone());
            let gateway = gateway.clone();
            super::relay::thread(move || forward_one(conn, &allow, &counts, gateway.as_deref()));
        }),
    }
}

/// bubblewrap's command: its line, then the agent's; the variables set and
/// removed.
fn bwrap_command(spec: &Spec) -> Result<std::process::Command> {
    let mut cmd = std::process::Command::new(&spec.bwrap);
    cmd.args(&spec.args).arg("--").args(&spec.inside.argv);
    // the box's environment is an allowlist of the keeper's (afk's and the
    // turn's), never afk's less a list: a copy of a token under a name afk
    // does not know stays out
    cmd.env_clear();
    for (k, v) in std::env::vars_os() {
        let Some(name) = k.to_str() else { continue };
        if spec.pass.admits(name) && !spec.unset.iter().any(|u| u == name) {
            cmd.env(&k, v);
        }
    }
    for (k, v) in &spec.env {
        cmd.env(k, v);
    }
    Ok(cmd)
}

/// Run bubblewrap to the box's end (in the box's namespaces, `net`; afk
/// as root, as the box's host user); the agent's exit status.
fn run_bwrap(
    spec: &Spec,
    net: Option<super::inside::Plan>,
    out: super::inside::Out,
) -> Result<i32> {
    use std::os::fd::AsRawFd;
    use std::os::unix::process::CommandExt;
    let mut cmd = bwrap_command(spec)?;
    let filter = match spec.filter {
        true => {
            let arch =
                rules::seccomp::Arch::native().context("no seccomp filter for this machine")?;
            Some(super::in_memory(&rules::seccomp::seccomp_filter(arch))?)
        }
        false => None,
    };
    let files = spec
        .handed
        .iter()
        .map(|h| match h {
            rules::mounts::Handed::File(f) => {
                std::fs::File::open(f).with_context(|| format!("cannot read {}", f.display()))
            }
            rules::mounts::Handed::Text(text) => super::in_memory(text.as_bytes()),
        })
        .collect::<Result<Vec<_>>>()?;
    // every descriptor bubblewrap gets is copied above all the numbers its
    // line names first, so none lands on another's place before it is
    // copied there
    let above = rules::mounts::FILES_FD + files.len() as i32;
    let mut given: Vec<(std::os::fd::OwnedFd, i32)> = vec![];
    if let Some(f) = &filter {
        given.push((above_all(f.as_raw_fd(), above)?, rules::seccomp::SECCOMP_FD));
    }
    for (k, f) in files.iter().enumerate() {
        given.push((
            above_all(f.as_raw_fd(), above)?,
            rules::mounts::FILES_FD + k as i32,
        ));
    }
    let places: Vec<(i32, i32)> = given.iter().map(|(fd, at)| (fd.as_raw_fd(), *at)).collect();
    let to = Before {
        host: spec.host_user,
        staged: Staged::of(&spec.staged)?,
        net: net.as_ref().map(|n| n.child()),
    };
    // SAFETY: the keeper has one thread here (its other threads start
    // after the spawn), so the child may allocate (the box's network,
    // `inside::Child::make`); setgroups, setresgid, setresuid, unshare,
    // prctl, keyctl and dup2 touch only the child
    unsafe {
        cmd.pre_exec(move || before_bwrap(&places, &to));
    }
    let spawned = cmd.spawn();
    drop((given, files, filter));
    if let Some(plan) = net {
        let made = plan.listeners(spawned.is_ok());
        if let Err(e) = &spawned {
            // the start's own failure first: a user it could not become, a
            // task limit, bwrap missing; then what the box's network said
            let said = made.err().map(|m| format!(" ({m:#})")).unwrap_or_default();
            bail!("cannot run bwrap: {}{said}", afk_host::os_words(e));
        }
        super::inside::serve(made?, out, MAX_CONNECTIONS);
    }
    let mut child = spawned.context("cannot run bwrap")?;
    super::gateway::box_started(child.id());
    // the staged mount namespace is held here, so its end (a wait for the
    // kernel to let go of its mounts) comes after the turn's exit record,
    // at the keeper's own exit, not in bubblewrap's before it
    if !spec.staged.is_empty()
        && let Ok(ns) = std::fs::File::open(format!("/proc/{}/ns/mnt", child.id()))
    {
        std::mem::forget(ns);
    }
    let status = child.wait().context("cannot run bwrap")?;
    the_box_ended();
    Ok(exit_of(status))
}

/// Wait for every child the keeper has left: the box's pid 1, which
/// bubblewrap leaves behind when it ends with the agent, is reaped only
/// after the kernel ended every process of the box (a detached one too),
/// so the turn's exit record comes after the whole box (docs/runners.md#the-agents-box-runnerconfine-runnerbox).
fn the_box_ended() {
    loop {
        // SAFETY: waitpid(2) on any child of this process
        let pid = unsafe { libc::waitpid(-1, std::ptr::null_mut(), 0) };
        if pid < 0 && std::io::Error::last_os_error().raw_os_error() != Some(libc::EINTR) {
            return;
        }
    }
}

// the keeper's exit status is bubblewrap's (the agent's, which bubblewrap
// exits with)
use crate::runner::turn_end::exit_of;

/// A copy of `fd` at `min` or above, closed on exec.
fn above_all(fd: i32, min: i32) -> Result<std::os::fd::OwnedFd> {
    use std::os::fd::FromRawFd;
    // SAFETY: fcntl(2) on a descriptor this keeper holds open
    let high = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, min) };
    if high < 0 {
        bail!(
            "cannot copy a descriptor: {}",
            std::io::Error::last_os_error()
        );
    }
    // SAFETY: a new descriptor, owned here only
    Ok(unsafe { std::os::fd::OwnedFd::from_raw_fd(high) })
}

/// What bubblewrap's process becomes before it starts.
struct Before {
    /// afk as root: the box's unprivileged host user (uid, gid).
    host: Option<(u32, u32)>,
    /// afk as root: the paths that user may not reach, bound first (as
    /// root) where it may ([`Staged`]).
    staged: Staged,
    /// The box's network to make, once the box's host user (network =
    /// model).
    net: Option<super::inside::Child>,
}

/// afk as root: the paths the box's host user may not reach, each bound
/// (by root, before it becomes that user) at `STAGE_DIR/<i>` on a fresh
/// tmpfs in a mount namespace of bubblewrap's own, where bubblewrap binds
/// it from. Everything made before the fork: the child only makes calls.
struct Staged {
    /// The tmpfs's mount point, its file system's name, then each
    /// `(source, at, folder)`.
    stage: std::ffi::CString,
    tmpfs: std::ffi::CString,
    paths: Vec<(std::ffi::CString, std::ffi::CString, bool)>,
}

impl Staged {
    fn of(sources: &[PathBuf]) -> Result<Staged> {
        use std::os::unix::ffi::OsStrExt;
        let c = |p: &Path| {
            std::ffi::CString::new(p.as_os_str().as_bytes()).context("a path with a NUL in it")
        };
        let mut paths = vec![];
        for (i, p) in sources.iter().enumerate() {
            let at = PathBuf::from(format!("{}/{i}", rules::mounts::STAGE_DIR));
            let dir = std::fs::symlink_metadata(p)
                .with_context(|| format!("cannot stage {}", p.display()))?
                .is_dir();
            paths.push((c(p)?, c(&at)?, dir));
        }
        Ok(Staged {
            stage: c(Path::new(rules::mounts::STAGE_DIR))?,
            tmpfs: c(Path::new("tmpfs"))?,
            paths,
        })
    }

    /// In bubblewrap's process, still root: a mount namespace of its own,
    /// nothing of it shown to the host's; the tmpfs; each path bound.
    fn bind(&self) -> std::io::Result<()> {
        if self.paths.is_empty() {
            return Ok(());
        }
        let fail = || Err(std::io::Error::last_os_error());
        // SAFETY: unshare, mount, mkdir, open and close are async-signal-safe;
        // every string was made before the fork
        unsafe {
            if libc::unshare(libc::CLONE_NEWNS) != 0
                || libc::mount(
                    std::ptr::null(),
                    c"/".as_ptr(),
                    std::ptr::null(),
                    libc::MS_REC | libc::MS_SLAVE,
                    std::ptr::null(),
                ) != 0
                || libc::mount(
                    self.tmpfs.as_ptr(),
                    self.stage.as_ptr(),
                    self.tmpfs.as_ptr(),
                    libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC,
                    c"mode=0755".as_ptr().cast(),
                ) != 0
            {
                return fail();
            }
            for (source, at, dir) in &self.paths {
                let made = if *dir {
                    libc::mkdir(at.as_ptr(), 0o755) == 0
                } else {
                    let fd = libc::open(
                        at.as_ptr(),
                        libc::O_CREAT | libc::O_WRONLY | libc::O_CLOEXEC,
                        0o644,
                    );
                    fd >= 0 && libc::close(fd) == 0
                };
                if !made
                    || libc::mount(
                        source.as_ptr(),
                        at.as_ptr(),
                        std::ptr::null(),
                        libc::MS_BIND | libc::MS_REC,
                        std::ptr::null(),
                    ) != 0
                {
                    return fail();
                }
            }
        }
        Ok(())
    }
}

/// In bubblewrap's process before it starts: afk as root, it becomes the
/// box's host user (no group, no capability of root's); it makes the box's
/// network (inside.rs: a user and network namespace whose root it is, so
/// it may make the box in them, and the listeners); it (and so
/// the box) dies with the keeper, whom a stop signals with the turn's
/// process group; a session keyring of the box's own; each descriptor at
/// the number bubblewrap's line names (the filter, the copied files, the
/// bound paths).
fn before_bwrap(places: &[(i32, i32)], to: &Before) -> std::io::Result<()> {
    let fail = || Err(std::io::Error::last_os_error());
    to.staged.bind()?;
    // SAFETY: each call is async-signal-safe and touches only this process
    unsafe {
        if let Some((uid, gid)) = to.host
            && (libc::setgroups(0, std::ptr::null()) != 0
                || libc::setresgid(gid, gid, gid) != 0
                || libc::setresuid(uid, uid, uid) != 0)
        {
            return fail();
        }
        if let Some(net) = &to.net {
            net.make()?;
        }
        // after the change of user, which clears it
        if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) == -1 {
            return fail();
        }
        // never afk's keyring (where the kernel has keyrings; the filter
        // refuses the box any keyring call)
        libc::syscall(
            libc::SYS_keyctl,
            1, /* KEYCTL_JOIN_SESSION_KEYRING */
            0usize,
        );
        for &(fd, at) in places {
            if libc::dup2(fd, at) < 0 {
                return Err(std::io::Error::last_os_error());
            }
        }
    }
    Ok(())
}

/// After the box: what it refused, kept in the run folder's `box/` for the
/// PR and an escalation (`run_files::box_refusals`), and said in the run's
/// log.
fn after(record: Option<&Path>, spec: &Spec, counts: &Counts, code: i32) {
    let refused = counts.refused.load(std::sync::atomic::Ordering::SeqCst);
    let forwarded = counts.forwarded.load(std::sync::atomic::Ordering::SeqCst);
    if refused > 0 {
        let by = counts
            .by_target
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        if let (Some(dir), Ok(text)) = (record, serde_json::to_vec(&by)) {
            let dir = dir.join("box");
            let _ = crate::private_files::private_dir(&dir).and_then(|()| {
                crate::private_files::private_write(
                    &dir.join(format!("refused-turn-{}.json", spec.turn)),
                    &text,
                )
            });
        }
    }
    if spec.forward && refused > 0 {
        say(&format!(
            "the turn's box ended (exit {code}): {forwarded} connections forwarded, {refused} refused"
        ));
    }
}

#[derive(Default)]
struct Counts {
    forwarded: std::sync::atomic::AtomicU64,
    refused: std::sync::atomic::AtomicU64,
    /// The refused `host:port`s and how often each (at most
    /// [`rules::forwarder::MAX_REFUSED_KEPT`] names; the rest counted as one).
    by_target: std::sync::Mutex<std::collections::BTreeMap<String, u64>>,
}

impl Counts {
    fn refuse(&self, target: &str) {
        self.refused
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let mut m = self.by_target.lock().unwrap_or_else(|e| e.into_inner());
        let key = if m.contains_key(target) || m.len() < rules::forwarder::MAX_REFUSED_KEPT {
            target.to_string()
        } else {
            rules::forwarder::OTHER_TARGETS.to_string()
        };
        *m.entry(key).or_insert(0) += 1;
    }
}

/// Connections from the box at once, at most.
const MAX_CONNECTIONS: usize = 64;

/// One connection from the box: its first line names `host:port` (at most
/// 300 bytes); let out when allowed, else refused and counted.
fn forward_one(
    conn: std::os::unix::net::UnixStream,
    allow: &[HostPort],
    counts: &Counts,
    gateway: Option<&super::gateway::Gateway>,
) {
    use std::sync::atomic::Ordering::SeqCst;
    let _ = conn.set_read_timeout(Some(std::time::Duration::from_secs(10)));
    let mut reader = BufReader::new(match conn.try_clone() {
        Ok(c) => c,
        Err(_) => return,
    });
    let mut line = Vec::new();
    let _ = (&mut reader).take(300).read_until(b'\n', &mut line);
    let line = String::from_utf8_lossy(&line).trim().to_string();
    let mut conn = conn;
    // the model gateway's port (docs/runners.md#the-model-gateway-runnermodel): its requests, not a host:port
    if let Some(g) = gateway.filter(|_| line == super::gateway::LINE) {
        if conn.write_all(b"ok\n").is_ok() {
            g.serve(conn);
        }
        return;
    }
    let target = match rules::forwarder::judge(allow, &line) {
        Verdict::Forward(t) => t,
        Verdict::Refuse(why) => {
            counts.refuse(&match HostPort::parse(&line) {
                Ok(t) => t.to_string(),
                Err(_) => rules::forwarder::NOT_HOST_PORT.to_string(),
            });
            say(&why);
            let _ = conn.write_all(b"refused\n");
            return;
        }
    };
    let up = match connect(&target) {
        Ok(up) => up,
        Err(why) => {
            say(&why);
            let _ = conn.write_all(b"failed\n");
            return;
        }
    };
    if conn.write_all(b"ok\n").is_err() {
        return;
    }
    // what the box sends first must name the allowed host (its TLS server
    // name or HTTP Host): read until it says, bounded in bytes and time
    let mut first = reader.buffer().to_vec();
    let mut chunk = [0u8; 4096];
    while rules::named::named(&first) == rules::named::Named::More && first.len() < 16 << 10 {
        match conn.read(&mut chunk) {
            Ok(n) if n > 0 => first.extend_from_slice(&chunk[..n]),
            _ => break,
        }
    }
    if let Err(why) = rules::named::names_permit(&target, &rules::named::named(&first)) {
        counts.refuse(&target.to_string());
        say(&why.0);
        return;
    }
    counts.forwarded.fetch_add(1, SeqCst);
    let _ = conn.set_read_timeout(None);
    // what the box sent first, then both ways until either closes
    let mut up_w = match up.try_clone() {
        Ok(u) => u,
        Err(_) => return,
    };
    // a plain request is the connection's only one (only its head was judged)
    if !first.is_empty()
        && up_w
            .write_all(&rules::named::one_request_only(&first))
            .is_err()
    {
        return;
    }
    super::relay::relay(conn, up);
}

/// A connection to an allowed host's first address that answers within 10 s;
/// the line the box's log gets when none does.
// Err is a string: the line the box's log gets, nothing decides on it
fn connect(target: &HostPort) -> Result<std::net::TcpStream, String> {
    let addrs: Vec<std::net::SocketAddr> =
        std::net::ToSocketAddrs::to_socket_addrs(&(target.host.as_str(), target.port))
            .map_err(|e| format!("cannot resolve {target}: {}", afk_host::os_words(&e)))?
            .collect();
    addrs
        .iter()
        .find_map(|a| {
            std::net::TcpStream::connect_timeout(a, std::time::Duration::from_secs(10)).ok()
        })
        .ok_or_else(|| format!("cannot connect to {target}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> Spec {
        Spec {
            bwrap: "/usr/bin/bwrap".into(),
            args: vec!["--unshare-all".into(), "--die-with-parent".into()],
            inside: rules::forwarder::Inside {
                listen: vec![],
                proxy: Some(3128),
                argv: vec!["claude".into(), "-p".into()],
                gateway: None,
            },
            forward: true,
            allow: vec![],
            env: vec![("HOME".into(), "/r/home".into())],
            unset: vec!["IS_SANDBOX".into()],
            pass: Default::default(),
            after: vec![],
            memory: None,
            tasks: 0,
            name: "t1".into(),
            turn: 1,
            host_user: None,
            filter: false,
            handed: vec![],
            staged: vec![],
            gateway: None,
        }
    }

    #[test]
    fn bubblewrap_runs_the_agents_command_itself() {
        let s = spec();
        let cmd = bwrap_command(&s).unwrap();
        assert_eq!(cmd.get_program(), "/usr/bin/bwrap");
        let args: Vec<String> = cmd
            .get_args()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        let want = ["--unshare-all", "--die-with-parent", "--", "claude", "-p"];
        assert_eq!(args, want);
        let envs: Vec<_> = cmd.get_envs().collect();
        assert!(envs.contains(&("HOME".as_ref(), Some("/r/home".as_ref()))));
        // the environment is cleared first: only what the spec passes is set
        assert!(envs.iter().all(|(k, _)| *k != "IS_SANDBOX"));
    }

    #[test]
    fn the_keeper_exits_with_the_agents_status() {
        use std::os::unix::process::ExitStatusExt;
        let cases = [
            (0, 0),
            (3 << 8, 3),
            (libc::SIGKILL, 137),
            (libc::SIGTERM, 143),
        ];
        for (raw, want) in cases {
            assert_eq!(
                exit_of(std::process::ExitStatus::from_raw(raw)),
                want,
                "{raw:#x}"
            );
        }
    }

    #[test]
    fn refusals_name_at_most_so_many_targets() {
        let c = Counts::default();
        for i in 0..rules::forwarder::MAX_REFUSED_KEPT + 5 {
            c.refuse(&format!("h{i}:443"));
        }
        // a target already named is counted under its name
        c.refuse("h0:443");
        let by = c.by_target.lock().unwrap();
        assert_eq!(by.len(), rules::forwarder::MAX_REFUSED_KEPT + 1);
        assert_eq!(by.get(rules::forwarder::OTHER_TARGETS), Some(&5));
        assert_eq!(by.get("h0:443"), Some(&2));
        assert_eq!(
            c.refused.load(std::sync::atomic::Ordering::SeqCst),
            rules::forwarder::MAX_REFUSED_KEPT as u64 + 6
        );
    }

    #[test]
    fn the_spec_is_read_bounded_and_must_be_a_spec() {
        let dir = std::env::temp_dir().join(format!("afk-keeper-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let good = dir.join("turn-1.json");
        std::fs::write(&good, serde_json::to_vec(&spec()).unwrap()).unwrap();
        assert_eq!(read_spec(&good).unwrap().name, "t1");
        let bad = dir.join("turn-2.json");
        std::fs::write(&bad, b"{\"bwrap\": 1}").unwrap();
        assert!(read_spec(&bad).is_err());
        assert!(read_spec(&dir.join("none.json")).is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
