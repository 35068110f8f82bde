//! The watch a turn's end starts (docs/hook.md#a-turns-end): its
//! command line, and its start by the process that saw the end — the boxed
//! turn's keeper (agent_box/keeper.rs) or the unboxed turn's
//! ([`keep`], `afk __turn SPEC --record RUN_DIR`). Either is afk's own,
//! outside the agent's reach, with afk's environment, never the agent's;
//! each starts the watch once, after the turn's exit record.

use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};

/// The unboxed turn's keeper's hidden subcommand (`commands/box_programs.rs`).
pub const TURN_CMD: &str = "__turn";

/// Whether a turn's end starts its run's watch: yes, unless
/// `AFK_TURN_END_WATCH=off` in afk's environment (the demo and the tests,
/// which run their watch ticks themselves, one after another).
pub fn enabled() -> bool {
    std::env::var("AFK_TURN_END_WATCH").map_or(true, |v| v.trim() != "off")
}

/// The config file and state file a turn's end starts its watch with:
/// absolute, for that watch runs elsewhere than the tick, never reading a
/// relative path against another folder (the agent's checkout).
#[derive(Debug, Clone)]
pub struct Watch {
    config: PathBuf,
    state: PathBuf,
}

impl Watch {
    /// None: the config was not loaded from a file (no such watch).
    pub fn of(cfg: &crate::config::Config) -> Option<Watch> {
        let (file, paths) = cfg.loaded_as.as_ref()?;
        Some(Watch {
            config: std::path::absolute(file).ok()?,
            state: std::path::absolute(&paths.file).ok()?,
        })
    }

    /// The watch of `run` that `afk` (this program) runs.
    pub fn argv(&self, afk: &Path, run: i64) -> Vec<String> {
        vec![
            afk.display().to_string(),
            "--config".into(),
            self.config.display().to_string(),
            "--state".into(),
            self.state.display().to_string(),
            "--quiet".into(),
            "watch".into(),
            "--after-turn".into(),
            run.to_string(),
        ]
    }
}

/// Start afk's watch of the run, once the exit record is written: a process
/// of its own (its own session, so it outlives the keeper), afk's
/// environment (the keeper's, never the agent's), its output appended to
/// `<run_dir>/after-turn.log`. The agent cannot start, skip or repeat it:
/// the keeper starts it once, after the turn ended.
pub fn start_watch(argv: &[String], dir: &Path, say: impl Fn(&str)) {
    use std::os::unix::fs::OpenOptionsExt;
    use std::os::unix::process::CommandExt;
    let Some((program, args)) = argv.split_first() else {
        return;
    };
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(dir.join("after-turn.log"));
    let Ok(log) = log else { return };
    let Ok(err) = log.try_clone() else { return };
    let mut cmd = std::process::Command::new(program);
    // never in the agent's checkout (the keeper's folder): nothing there is
    // read as afk's
    cmd.current_dir("/")
        .args(args)
        .stdin(std::process::Stdio::null())
        .stdout(log)
        .stderr(err);
    // SAFETY: setsid(2) is async-signal-safe
    unsafe {
        cmd.pre_exec(|| {
            libc::setsid();
            Ok(())
        });
    }
    if let Err(e) = cmd.spawn() {
        say(&format!(
            "cannot start the watch of the turn's end: {}",
            afk_host::os_words(&e)
        ));
    }
}

/// The unboxed turn's keeper's spec, as the tick hands it (in memory).
#[derive(Debug, serde::Serialize, serde::Deserialize, PartialEq)]
pub struct Spec {
    /// The agent's command line.
    pub argv: Vec<String>,
    /// The variables the agent does not inherit (afk's secrets): the keeper
    /// keeps them, for the watch it starts.
    pub strip: Vec<String>,
    /// The watch the turn's end starts ([`Watch::argv`]).
    pub after: Vec<String>,
}

/// The largest spec a keeper reads.
const SPEC_MAX: u64 = 1 << 20;

/// `afk __turn SPEC --record RUN_DIR`: run one unboxed turn's agent as the
/// shell wrapper does (its start record, its exit record: the keeper's own
/// pid, so a stop signals the turn's group as before), then start the
/// run's watch. The keeper is not dumpable (it holds afk's environment;
/// the agent, of the same user, cannot read it through /proc) and hands
/// the agent only descriptors 0-2. Its exit status is the agent's (126: no
/// agent was started, said on stderr, which is the agent's log).
pub fn keep(spec_file: &Path, record: &Path) -> i32 {
    let say = |s: &str| afk_host::say::err(&format!("afk: {s}"));
    // SAFETY: prctl(PR_SET_DUMPABLE) takes plain integers
    if unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0) } != 0 {
        say("cannot keep the turn's keeper from its agent: no agent started");
        return 126;
    }
    if let Err(e) = crate::runner::records::record_start(record) {
        say(&format!(
            "cannot record the turn's start: {}",
            afk_host::os_words(&e)
        ));
    }
    let (code, after) = match run(spec_file) {
        Ok(done) => done,
        Err(e) => {
            say(&format!("cannot start the agent: {e:#}"));
            (126, vec![])
        }
    };
    if let Err(e) = crate::runner::records::record_exit(record, code) {
        say(&format!(
            "cannot record the turn's exit status: {}",
            afk_host::os_words(&e)
        ));
    }
    start_watch(&after, record, say);
    code
}

/// Read the spec, run the agent, wait for it: its status and the watch to start.
fn run(spec_file: &Path) -> Result<(i32, Vec<String>)> {
    use std::io::Read;
    cloexec_from_3()?;
    let mut text = vec![];
    std::fs::File::open(spec_file)
        .context("cannot read the turn's spec")?
        .take(SPEC_MAX + 1)
        .read_to_end(&mut text)
        .context("cannot read the turn's spec")?;
    anyhow::ensure!(
        text.len() as u64 <= SPEC_MAX,
        "the turn's spec is over {SPEC_MAX} bytes"
    );
    let spec: Spec = serde_json::from_slice(&text).context("the turn's spec is not one")?;
    let (program, args) = spec
        .argv
        .split_first()
        .context("the turn's spec names no command")?;
    let mut cmd = std::process::Command::new(program);
    cmd.args(args);
    for k in &spec.strip {
        cmd.env_remove(k);
    }
    let mut child = cmd
        .spawn()
        .with_context(|| format!("cannot start \"{program}\""))?;
    let status = child.wait().context("cannot wait for the agent")?;
    Ok((exit_of(status), spec.after))
}

/// A keeper's exit status for its child's: its code, or 128 + the signal
/// that ended it.
pub fn exit_of(status: std::process::ExitStatus) -> i32 {
    status.code().unwrap_or_else(|| {
        128 + std::os::unix::process::ExitStatusExt::signal(&status).unwrap_or(0)
    })
}

/// Hand a keeper its spec: `fd` (a file in memory, closed on exec in this
/// process) stays open across `cmd`'s exec.
pub fn hand_over(cmd: &mut std::process::Command, fd: std::os::fd::RawFd) {
    use std::os::unix::process::CommandExt;
    // SAFETY: fcntl(2) is async-signal-safe and touches only the child's
    // descriptor table
    unsafe {
        cmd.pre_exec(move || match libc::fcntl(fd, libc::F_SETFD, 0) < 0 {
            true => Err(std::io::Error::last_os_error()),
            false => Ok(()),
        });
    }
}

/// Every descriptor of this process from 3 on closes at exec:
/// close_range(2) where the kernel has its CLOEXEC flag (Linux 5.11), else
/// each one listed in `/proc/self/fd`; a keeper that cannot make sure of it
/// starts no agent.
pub fn cloexec_from_3() -> Result<()> {
    // SAFETY: close_range(2) marks this process's own descriptors
    let marked = unsafe {
        libc::syscall(
            libc::SYS_close_range,
            3u32,
            u32::MAX,
            libc::CLOSE_RANGE_CLOEXEC,
        )
    };
    if marked == 0 {
        return Ok(());
    }
    cloexec_listed()
}

/// [`cloexec_from_3`] without close_range(2): each descriptor from 3 on
/// that `/proc/self/fd` lists.
fn cloexec_listed() -> Result<()> {
    let fds: Vec<i32> = std::fs::read_dir("/proc/self/fd")
        .context("cannot list the keeper's descriptors")?
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .filter(|&fd| fd >= 3)
        .collect();
    for fd in fds {
        // SAFETY: fcntl(2) on a descriptor of this process (the listing's
        // own, closed since, fails with EBADF and is passed over)
        let flags = unsafe { libc::fcntl(fd, libc::F_GETFD) };
        if flags >= 0 && unsafe { libc::fcntl(fd, libc::F_SETFD, flags | libc::FD_CLOEXEC) } != 0 {
            bail!(
                "cannot keep descriptor {fd} from the agent: {}",
                afk_host::os_words(&std::io::Error::last_os_error())
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Where close_range(2) has no CLOEXEC flag, each listed descriptor is
    /// marked: one the keeper inherited open across exec is closed in the agent's.
    #[test]
    fn every_inherited_descriptor_from_3_on_is_kept_from_the_agent() {
        let f = std::fs::File::open("/dev/null").unwrap();
        // SAFETY: dup(2) of an open descriptor: a copy without FD_CLOEXEC
        let inherited = unsafe { libc::dup(std::os::fd::AsRawFd::as_raw_fd(&f)) };
        let closes = |fd| unsafe { libc::fcntl(fd, libc::F_GETFD) } & libc::FD_CLOEXEC != 0;
        assert!(
            !closes(inherited),
            "dup(2) gives a descriptor open across exec"
        );
        cloexec_listed().unwrap();
        assert!(closes(inherited));
        // SAFETY: closes the test's own copy
        unsafe { libc::close(inherited) };
    }

    #[test]
    fn the_watch_reads_afks_config_and_state_by_absolute_paths() {
        let w = Watch {
            config: "/etc/afk/afk.toml".into(),
            state: "/var/lib/afk/state.db".into(),
        };
        assert_eq!(
            w.argv(Path::new("/usr/bin/afk"), 7).join(" "),
            "/usr/bin/afk --config /etc/afk/afk.toml --state /var/lib/afk/state.db --quiet watch --after-turn 7"
        );
    }
}
