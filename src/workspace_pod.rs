//! afk's workspace inside a turn's Kubernetes Job
//! (docs/kubernetes.md#3-the-agents-image-and-the-git-around-it): what the
//! Job's two git containers run (`afk workspace checkout`, `afk workspace
//! forward`), from their environment (`core::kube_workspace` writes it): the
//! same cache, checkout and forwarding as the tick's own workspace
//! (`afk_git::workspace`), with the forge credential read from the mounted
//! `git_secret` and nothing of it written to the shared volume.

use crate::core::kube_workspace as kw;
use anyhow::{Context, Result, anyhow};
use std::path::{Path, PathBuf};

/// A small file's text, at most `cap` bytes of it.
/// The agent shares the volume: what it left at `path` is read without
/// following a link and without blocking on a FIFO, and only when it is a
/// regular file (issue 47).
fn read_capped(path: &Path, cap: u64) -> std::io::Result<String> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)?;
    if !f.metadata()?.is_file() {
        return Err(std::io::Error::other("not a regular file"));
    }
    let mut text = String::new();
    f.take(cap).read_to_string(&mut text)?;
    Ok(text)
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
        let repo = crate::types::RepoName::parse(&var("AFK_REPO")?)
            .map_err(|e| anyhow!("workspace: AFK_REPO: {e}"))?;
        let branch = var("AFK_BRANCH")?;
        let issue = branch.strip_prefix("afk/issue-").unwrap_or("");
        anyhow::ensure!(
            !issue.is_empty() && issue.bytes().all(|b| b.is_ascii_digit()),
            "workspace: AFK_BRANCH {branch:?} is not a run's branch (afk/issue-<N>)"
        );
        let turn = var("AFK_TURN")?
            .parse()
            .map_err(|_| anyhow!("workspace: AFK_TURN is not a number"))?;
        let path = |n: &str| var(n).map(PathBuf::from);
        Ok(PodEnv {
            repo,
            branch,
            run: var("AFK_RUN_ID")?,
            turn,
            url: var("AFK_GIT_URL")?,
            dir: path("AFK_WORKSPACE_DIR")?,
            cache: path("AFK_GIT_CACHE")?,
            secret: path("AFK_GIT_SECRET")?,
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

    /// The forge credential from the mounted Secret (`username`, `token`),
    /// each read with a cap.
    fn workspace(&self) -> Result<afk_git::workspace::Workspace> {
        let read = |key: &str| -> Result<String> {
            let path = self.secret.join(key);
            let text = read_capped(&path, 64 << 10).with_context(|| {
                format!(
                    "workspace: cannot read the git Secret's key {key} (runner.kubernetes.git_secret must have keys username and token)"
                )
            })?;
            let v = text.trim().to_string();
            anyhow::ensure!(
                !v.is_empty(),
                "workspace: the git Secret's key {key} is empty"
            );
            Ok(v)
        };
        let creds = afk_git::Credentials {
            username: read("username")?,
            password: read("token")?,
        };
        Ok(afk_git::workspace::Workspace::new(
            &self.cache,
            "pod",
            Some(creds),
        ))
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
    let done = env
        .workspace()
        .and_then(|ws| ws.forward(&env.place(&workdir), env.turn));
    let result = match done {
        Ok(F::Nothing) => kw::Result::Nothing,
        Ok(F::Pushed {
            sha,
            commits,
            leftover,
            base,
            ..
        }) => kw::Result::Pushed {
            sha,
            commits,
            leftover,
            base,
        },
        Ok(F::Conflict { .. }) => kw::Result::Conflict {
            head: String::new(),
        },
        Ok(F::Refused(why)) => kw::Result::Refused(why),
        Err(e) => kw::Result::Refused(format!("forwarding failed: {e:#}")),
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
