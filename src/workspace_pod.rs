//! afk's workspace inside a turn's Kubernetes Job
//! (docs/kubernetes.md#3-the-agents-image-and-the-git-around-it): what the
//! Job's two git containers run (`afk workspace checkout`, `afk workspace
//! forward`), from their environment (`core::kube::workspace` writes it): the
//! same cache, checkout and forwarding as the tick's own workspace
//! (`afk_git::workspace`), with the forge credential read from the mounted
//! `git_secret` and nothing of it written to the shared volume.

use crate::core::kube::workspace as kw;
use anyhow::{Context, Result, anyhow};
use std::path::{Path, PathBuf};

/// A small file's text, at most `cap` bytes of it.
/// The agent shares the volume: what it left at `path` is read without
/// following a link and without blocking on a FIFO, and only when it is a
/// regular file (issue 47).
fn read_capped(path: &Path, cap: u64) -> std::io::Result<String> {
    use std::os::unix::fs::OpenOptionsExt;
    let f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)?;
    read_open(f, cap)
}

fn read_open(f: std::fs::File, cap: u64) -> std::io::Result<String> {
    use std::io::Read;
    if !f.metadata()?.is_file() {
        return Err(std::io::Error::other("not a regular file"));
    }
    let mut text = String::new();
    f.take(cap).read_to_string(&mut text)?;
    Ok(text)
}

/// What the link at `path` names; None when it is no link (or is missing:
/// reading it then says so).
fn link_of(path: &Path) -> std::io::Result<Option<String>> {
    match std::fs::read_link(path) {
        Ok(t) => t
            .into_os_string()
            .into_string()
            .map(Some)
            .map_err(|_| std::io::Error::other("a link whose target is not UTF-8")),
        Err(e) if matches!(e.raw_os_error(), Some(libc::EINVAL | libc::ENOENT)) => Ok(None),
        Err(e) => Err(e),
    }
}

/// A key of the mounted git Secret, at most `cap` bytes: through the
/// kubelet's own links inside the mount (`key -> ..data/key`, `..data ->
/// ..<timestamp>`) and no other (`kw::secret_key_path`); each folder below
/// the mount and the key itself opened without following a link, so what
/// was checked is what is read.
fn read_secret_key(mount: &Path, key: &str, cap: u64) -> std::io::Result<String> {
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::fs::OpenOptionsExt;
    use std::os::unix::io::{AsRawFd, FromRawFd};
    let key_link = link_of(&mount.join(key))?;
    let data_link = match key_link {
        Some(_) => link_of(&mount.join("..data"))?,
        None => None,
    };
    let parts = kw::secret_key_path(key, key_link.as_deref(), data_link.as_deref())
        .map_err(std::io::Error::other)?;
    let nofollow = libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC;
    let mut at = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECTORY | nofollow)
        .open(mount)?;
    let last = parts.len() - 1;
    for (i, part) in parts.iter().enumerate() {
        let name = std::ffi::CString::new(std::ffi::OsStr::new(part).as_bytes())
            .map_err(std::io::Error::other)?;
        let flags = libc::O_RDONLY | nofollow | if i < last { libc::O_DIRECTORY } else { 0 };
        // SAFETY: openat(2) under a descriptor this function holds, of a
        // NUL-terminated name it owns; a descriptor it returns is owned here
        let fd = unsafe { libc::openat(at.as_raw_fd(), name.as_ptr(), flags) };
        if fd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        // SAFETY: `fd` was just opened and nothing else owns it
        at = unsafe { std::fs::File::from_raw_fd(fd) };
    }
    read_open(at, cap)
}

/// What the git containers are told.
pub struct PodEnv {
    repo: crate::types::RepoName,
    branch: String,
    run: String,
    turn: u32,
    url: String,
    dir: PathBuf,
    cache: PathBuf,
    secret: PathBuf,
    /// how git gets the Secret's token (`kw::SCHEME_VAR`, the tick's word)
    auth: kw::GitAuth,
    agent_exit: PathBuf,
    result: PathBuf,
}

fn var(name: &str) -> Result<String> {
    std::env::var(name)
        .ok()
        .filter(|v| !v.trim().is_empty())
        .ok_or_else(|| anyhow!("workspace: {name} is not set (this command runs in afk's Job)"))
}

impl PodEnv {
    pub fn from_env() -> Result<PodEnv> {
        let repo = crate::types::RepoName::parse_any(&var("AFK_REPO")?)
            .map_err(|e| anyhow!("workspace: AFK_REPO: {e}"))?;
        let branch = var("AFK_BRANCH")?;
        let issue = branch.strip_prefix("afk/issue-").unwrap_or("");
        anyhow::ensure!(
            !issue.is_empty()
                && issue.bytes().all(|b| b.is_ascii_digit()
                    || b.is_ascii_lowercase()
                    || b == b'-'
                    || b == b'_'),
            "workspace: AFK_BRANCH {branch:?} is not a run's branch (afk/issue-<N>, or a tracker's afk/issue-<key>)"
        );
        let turn = var("AFK_TURN")?
            .parse()
            .map_err(|_| anyhow!("workspace: AFK_TURN is not a number"))?;
        let path = |n: &str| var(n).map(PathBuf::from);
        let auth = kw::GitAuth::parse(std::env::var(kw::SCHEME_VAR).ok().as_deref())
            .map_err(|e| anyhow!("workspace: {e}"))?;
        Ok(PodEnv {
            repo,
            branch,
            run: var("AFK_RUN_ID")?,
            turn,
            url: var("AFK_GIT_URL")?,
            dir: path("AFK_WORKSPACE_DIR")?,
            cache: path("AFK_GIT_CACHE")?,
            secret: path("AFK_GIT_SECRET")?,
            auth,
            agent_exit: path("AFK_AGENT_EXIT")?,
            result: path("AFK_RESULT_FILE")?,
        })
    }

    fn workdir(&self) -> PathBuf {
        self.dir.join("work")
    }

    fn place<'a>(&'a self, workdir: &'a Path) -> afk_git::workspace::Place<'a> {
        afk_git::workspace::Place {
            repo: self.repo.as_str(),
            url: &self.url,
            branch: &self.branch,
            run: &self.run,
            run_dir: &self.dir,
            workdir,
        }
    }

    /// The forge credential from the mounted Secret, each key read with a
    /// cap: `token`, handed to git as the tick said (`kw::GitAuth`): with
    /// afk's login (`username`) through askpass, or as the `Authorization`
    /// header of afk's own git on that forge, which needs no `username`.
    fn workspace(&self) -> Result<afk_git::workspace::Workspace> {
        let keys = if self.auth.is_header() {
            "token"
        } else {
            "username and token"
        };
        let read = |key: &str| -> Result<String> {
            let text = read_secret_key(&self.secret, key, 64 << 10).with_context(|| {
                format!(
                    "workspace: cannot read the git Secret's key {key} (runner.kubernetes.git_secret must have keys {keys})"
                )
            })?;
            let v = text.trim().to_string();
            anyhow::ensure!(
                !v.is_empty(),
                "workspace: the git Secret's key {key} is empty"
            );
            Ok(v)
        };
        let token = crate::redact::Secret::new(read("token")?);
        let creds = match crate::workspace::auth_header(self.auth, token.expose()) {
            Some(header) => afk_git::Credentials {
                username: String::new(),
                password: token.expose().to_string(),
                header: Some(header),
            },
            None => afk_git::Credentials {
                username: read("username")?,
                password: token.expose().to_string(),
                header: None,
            },
        };
        Ok(
            afk_git::workspace::Workspace::new(&self.cache, "pod", Some(creds))
                .with_secrets(crate::redact::held()),
        )
    }

    /// Leave `text` as the container's termination message (bounded).
    fn report(&self, text: &str) {
        let cut = crate::core::sanitize::one_line(text, kw::RESULT_MAX / 4);
        let _ = std::fs::write(&self.result, cut.as_bytes());
    }

    /// The agent's exit status as its wrapper kept it; the agent may have
    /// removed or rewritten the file: 1 then, said.
    fn agent_status(&self) -> (u8, Option<String>) {
        let text = read_capped(&self.agent_exit, 16).unwrap_or_default();
        match text.trim().parse::<u8>() {
            Ok(c) => (c, None),
            Err(_) => (
                1,
                Some(format!(
                    "the agent's exit status was not kept in {} (taken as 1)",
                    self.agent_exit.display()
                )),
            ),
        }
    }
}

/// The checkout container: the agent's checkout on the shared volume, made
/// from afk's cache and standalone. An error is its termination message and
/// a failing exit, so the pod fails before the agent runs.
pub fn checkout(env: &PodEnv) -> Result<String> {
    let workdir = env.workdir();
    let made = env
        .workspace()
        .and_then(|ws| ws.make_standalone(&env.place(&workdir)));
    match made {
        Ok(m) => Ok(format!(
            "workspace: {} checked out at {} ({})",
            env.branch,
            &m.head[..m.head.len().min(12)],
            if m.existed {
                "the forge's branch"
            } else {
                "new from the default branch"
            }
        )),
        Err(e) => {
            env.report(&format!("{e:#}"));
            Err(e)
        }
    }
}

/// The forwarding container: the turn's work pushed
/// (docs/how-it-works.md#the-workspace), its result the termination message;
/// the exit code is the agent's, so the Job says how the agent ended whatever
/// forwarding did.
pub fn forward(env: &PodEnv) -> (u8, String) {
    use afk_git::workspace::Forwarded as F;
    let workdir = env.workdir();
    // `[gate]` as the Job was made with it; one that does not read is the
    // built-in set, closed (said in the container's log)
    let gate = std::env::var(kw::GATE_VAR).ok();
    let (policy, unread) = kw::gate_policy(gate.as_deref());
    if let Some(why) = &unread {
        crate::log::warn(&format!(
            "workspace: the change gate: {why}: the built-in protected set applies"
        ));
    }
    let place = env.place(&workdir);
    let (done, ws) = match env.workspace() {
        Ok(ws) => {
            let ws = ws.with_gate(policy);
            (ws.forward(&place, env.turn), Some(ws))
        }
        Err(e) => (Err(e), None),
    };
    let result = match done {
        Ok(F::Nothing) => kw::Result::Nothing,
        Ok(F::Pushed {
            sha,
            commits,
            leftover,
            base,
            ..
        }) => kw::Result::Pushed {
            // the run's dependency changes, for the PR body the tick writes
            deps: ws
                .as_ref()
                .and_then(|w| w.summary(&place, &sha, 0))
                .map(|s| s.deps)
                .unwrap_or_default(),
            sha,
            commits,
            leftover,
            base,
        },
        Ok(F::Conflict { .. }) => kw::Result::Conflict {
            head: String::new(),
        },
        Ok(F::Refused(why)) => kw::Result::Refused(why),
        // the change gate refused the turn: nothing pushed, the reasons
        // (paths, counts, versions, ids) for the tick's `gate` turn
        Ok(F::Gated { reasons, .. }) => kw::Result::Gated {
            lines: crate::core::gate::lines(&reasons),
        },
        Err(e) => kw::Result::Refused(crate::hint::line_with_hints(
            &format!("forwarding failed: {e:#}"),
            &crate::hint::hints_of(&e),
        )),
    };
    let message = kw::message(&result);
    let _ = std::fs::write(&env.result, message.as_bytes());
    let (code, note) = env.agent_status();
    let mut said = format!("workspace: turn {} of {}: {message}", env.turn, env.branch);
    if let Some(n) = note {
        said.push_str(&format!("; {n}"));
    }
    (code, said)
}

#[cfg(test)]
mod agent_exit_tests {
    use super::*;

    #[test]
    fn an_agent_exit_that_is_a_fifo_or_a_link_is_not_read_and_never_blocks() {
        let dir = std::env::temp_dir().join(format!("afk-agent-exit-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let fifo = dir.join("fifo");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: mkfifo(3) with a NUL-terminated path this test owns.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        assert!(read_capped(&fifo, 16).is_err(), "a FIFO is refused at once");
        std::fs::write(dir.join("real"), "0\n").unwrap();
        std::os::unix::fs::symlink(dir.join("real"), dir.join("link")).unwrap();
        assert!(
            read_capped(&dir.join("link"), 16).is_err(),
            "a link is not followed"
        );
        assert_eq!(read_capped(&dir.join("real"), 16).unwrap(), "0\n");
        let _ = std::fs::remove_dir_all(&dir);
    }
}

#[cfg(test)]
mod secret_key_tests {
    use super::*;
    use std::os::unix::fs::symlink;

    /// A Secret's mount as the kubelet's atomic writer makes it.
    fn kubelet_mount(dir: &Path) {
        std::fs::create_dir_all(dir.join("..2026_01_01_12_00_00.1")).unwrap();
        std::fs::write(dir.join("..2026_01_01_12_00_00.1/token"), "t0k\n").unwrap();
        symlink("..2026_01_01_12_00_00.1", dir.join("..data")).unwrap();
        symlink("..data/token", dir.join("token")).unwrap();
    }

    #[test]
    fn the_git_secret_is_read_through_the_kubelets_links_and_no_other() {
        let root = std::env::temp_dir().join(format!("afk-secret-key-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let outside = root.join("outside");
        std::fs::create_dir_all(&outside).unwrap();
        std::fs::write(outside.join("token"), "stolen").unwrap();

        let ok = root.join("kubelet");
        kubelet_mount(&ok);
        assert_eq!(read_secret_key(&ok, "token", 64).unwrap(), "t0k\n");

        let plain = root.join("plain");
        std::fs::create_dir_all(&plain).unwrap();
        std::fs::write(plain.join("token"), "plain").unwrap();
        assert_eq!(read_secret_key(&plain, "token", 64).unwrap(), "plain");

        // a key that links out of the mount
        let key_out = root.join("key-out");
        std::fs::create_dir_all(&key_out).unwrap();
        symlink(outside.join("token"), key_out.join("token")).unwrap();
        // ..data that links out of the mount
        let data_out = root.join("data-out");
        std::fs::create_dir_all(&data_out).unwrap();
        symlink(&outside, data_out.join("..data")).unwrap();
        symlink("..data/token", data_out.join("token")).unwrap();
        // the timestamped folder itself a link out of the mount
        let ts_out = root.join("ts-out");
        std::fs::create_dir_all(&ts_out).unwrap();
        symlink(&outside, ts_out.join("..ts")).unwrap();
        symlink("..ts", ts_out.join("..data")).unwrap();
        symlink("..data/token", ts_out.join("token")).unwrap();
        // the file in the folder a link out of the mount
        let file_out = root.join("file-out");
        kubelet_mount(&file_out);
        let ts = file_out.join("..2026_01_01_12_00_00.1/token");
        std::fs::remove_file(&ts).unwrap();
        symlink(outside.join("token"), &ts).unwrap();
        for m in [&key_out, &data_out, &ts_out, &file_out] {
            let got = read_secret_key(m, "token", 64);
            assert!(got.is_err(), "{}: {got:?}", m.display());
        }
        let _ = std::fs::remove_dir_all(&root);
    }
}
