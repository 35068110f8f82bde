//! The git runner: one `git` process as afk starts it (quiet, `LC_ALL=C`,
//! without the config's secrets in its environment; the workspace's hardened
//! git from an empty environment and no system or global config; the
//! mirror's credentials through askpass, `credential.rs`), its output or an
//! error naming the subcommand and git's last lines, and a deadline past
//! which its whole process group is killed ([`Overran`]).

use crate::credential::{ASKPASS, ASKPASS_ENV, Auth, Credentials, SecretFd, credential_origin};
use crate::git::Git;
use anyhow::{Context, Result, bail};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// What every call of the workspace's git says on its command line, where it
/// wins over the config of any repository it touches: no hooks, no
/// fsmonitor, no credential helper, no redirect, no `insteadOf` from
/// anywhere but here, no commit signing programs; local paths are allowed
/// as fetch sources (the agent's checkout).
const HARDENED: &[&str] = &[
    "-c",
    "core.hooksPath=/dev/null",
    "-c",
    "core.fsmonitor=false",
    "-c",
    "credential.helper=",
    "-c",
    "http.followRedirects=false",
    "-c",
    "protocol.file.allow=always",
    "-c",
    "commit.gpgSign=false",
    "-c",
    "core.sshCommand=false",
    "-c",
    "uploadpack.allowFilter=false",
];

/// A git call that did not end within its deadline ([`Git::run_within`]):
/// its process group was killed. Told apart from git's own failures (the
/// workspace refuses the repository that made git wait).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Overran {
    /// the subcommand
    pub what: String,
    pub after: std::time::Duration,
}

impl std::fmt::Display for Overran {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "git {} did not end within {}s and was ended",
            self.what,
            self.after.as_secs().max(1)
        )
    }
}
impl std::error::Error for Overran {}

impl Git {
    /// A git command: quiet about the terminal, in `dir`, without the config's
    /// secrets in its environment; with the mirror's credentials when `auth`.
    pub(crate) fn cmd(&self, dir: Option<&Path>, auth: Option<&Auth>) -> Result<Command> {
        let mut c = Command::new("git");
        if self.hardened {
            let home = self.work_dir.join(".home");
            std::fs::create_dir_all(&home)
                .with_context(|| format!("git: cannot create {}", home.display()))?;
            c.env_clear();
            if let Some(path) = std::env::var_os("PATH") {
                c.env("PATH", path);
            }
            c.env("HOME", &home)
                .env("GIT_CONFIG_NOSYSTEM", "1")
                .env("GIT_CONFIG_GLOBAL", "/dev/null")
                .args(HARDENED);
        }
        c.env("GIT_TERMINAL_PROMPT", "0")
            .env("LC_ALL", "C")
            .env_remove("GIT_ASKPASS")
            // config only afk hands a call (a header credential, below)
            .env_remove("GIT_CONFIG_COUNT")
            .env_remove("SSH_ASKPASS")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for k in ASKPASS_ENV
            .iter()
            .copied()
            .chain(self.strip_env.iter().map(String::as_str))
        {
            c.env_remove(k);
        }
        if let Some(d) = dir {
            c.current_dir(d);
        }
        if let (Some(a), Some(cr)) = (auth, &self.creds) {
            // an empty helper resets the list: no helper supplies or stores
            // anything; and no redirect takes the credentials to another host
            c.args([
                "-c",
                "credential.helper=",
                "-c",
                "http.followRedirects=false",
            ]);
            match (&cr.header, &a.secret) {
                // the header for this call's URL only (git matches
                // `http.<url>.*` by scheme, host, port and path prefix)
                (Some(header), _) => {
                    c.env("GIT_CONFIG_COUNT", "1")
                        .env("GIT_CONFIG_KEY_0", format!("http.{}.extraHeader", a.scope))
                        .env("GIT_CONFIG_VALUE_0", header);
                }
                (None, Some(secret)) => {
                    c.env("GIT_ASKPASS", self.askpass()?)
                        .env("AFK_GIT_ORIGIN", &a.origin)
                        .env("AFK_GIT_USERNAME", &cr.username)
                        .env("AFK_GIT_SECRET_FD", secret.raw().to_string());
                    let fd = secret.raw();
                    use std::os::unix::process::CommandExt;
                    // SAFETY: fcntl(2) is async-signal-safe: in this child only, the
                    // secret's descriptor survives exec (git, then its askpass)
                    unsafe {
                        c.pre_exec(move || {
                            if libc::fcntl(fd, libc::F_SETFD, 0) == -1 {
                                return Err(std::io::Error::last_os_error());
                            }
                            Ok(())
                        });
                    }
                }
                (None, None) => {}
            }
        }
        Ok(c)
    }

    /// The askpass script, written (mode 0700) when first needed.
    fn askpass(&self) -> Result<PathBuf> {
        use std::os::unix::fs::PermissionsExt;
        let p = self.work_dir.join(".afk-askpass");
        if std::fs::read_to_string(&p).ok().as_deref() != Some(ASKPASS) {
            std::fs::create_dir_all(&self.work_dir)
                .with_context(|| format!("git: cannot create {}", self.work_dir.display()))?;
            // one name per writer: two threads of a tick may write it at once
            static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
            let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let tmp = self
                .work_dir
                .join(format!(".afk-askpass.tmp.{}.{n}", std::process::id()));
            std::fs::write(&tmp, ASKPASS)
                .with_context(|| format!("git: cannot write {}", tmp.display()))?;
            std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o700))?;
            std::fs::rename(&tmp, &p)?;
        }
        Ok(p)
    }

    /// The credentials of one call to `url`: its origin and a secret file.
    fn auth_for(&self, url: &str, cr: &Credentials) -> Result<Auth> {
        let Some(origin) = credential_origin(url) else {
            // the URL itself is not repeated: it could carry a user's password
            bail!(
                "git: no credentials for the mirror: its URL is not http(s) with a plain host (forge.url)"
            );
        };
        std::fs::create_dir_all(&self.work_dir)
            .with_context(|| format!("git: cannot create {}", self.work_dir.display()))?;
        // the URL git is given, without a query or fragment: what
        // `http.<url>.extraHeader` is scoped to
        let scope = url[..url.find(['?', '#']).unwrap_or(url.len())].to_string();
        let secret = match cr.header {
            Some(_) => None,
            None => Some(SecretFd::create(&cr.password)?),
        };
        Ok(Auth {
            origin,
            secret,
            scope,
        })
    }

    /// Run `git args` and return its stdout; an error names the subcommand,
    /// where, and git's own last lines. With `auth`, the URL of the mirror the
    /// call talks to, git gets the credentials for that URL's host only.
    pub(crate) fn run(
        &self,
        dir: Option<&Path>,
        auth: Option<&str>,
        args: &[&str],
        input: Option<&[u8]>,
    ) -> Result<String> {
        self.run_env(dir, auth, args, input, &[])
    }

    pub(crate) fn run_env(
        &self,
        dir: Option<&Path>,
        auth: Option<&str>,
        args: &[&str],
        input: Option<&[u8]>,
        env: &[(&str, &str)],
    ) -> Result<String> {
        let out = self.run_raw(dir, auth, args, input, env)?;
        Ok(String::from_utf8_lossy(&out).trim().to_string())
    }

    /// git's stdout as it is (a blob's bytes, NUL-separated records).
    pub(crate) fn run_bytes(&self, dir: Option<&Path>, args: &[&str]) -> Result<Vec<u8>> {
        self.run_raw(dir, None, args, None, &[])
    }

    fn run_raw(
        &self,
        dir: Option<&Path>,
        auth: Option<&str>,
        args: &[&str],
        input: Option<&[u8]>,
        env: &[(&str, &str)],
    ) -> Result<Vec<u8>> {
        self.run_limited(dir, auth, args, input, env, None)
    }

    /// `git args` in `dir` with `env`, ended after `deadline`: git runs in a
    /// process group of its own, and past the deadline the whole group
    /// (git, the `upload-pack` it started, any `pack-objects`) is killed and
    /// the call is an [`Overran`] error. For a call that reads a repository
    /// an agent wrote, where a FIFO (or anything else that blocks) would make
    /// git wait for ever.
    pub(crate) fn run_within(
        &self,
        dir: Option<&Path>,
        args: &[&str],
        env: &[(&str, &str)],
        deadline: std::time::Duration,
    ) -> Result<String> {
        let out = self.run_limited(dir, None, args, None, env, Some(deadline))?;
        Ok(String::from_utf8_lossy(&out).trim().to_string())
    }

    fn run_limited(
        &self,
        dir: Option<&Path>,
        auth: Option<&str>,
        args: &[&str],
        input: Option<&[u8]>,
        env: &[(&str, &str)],
        deadline: Option<std::time::Duration>,
    ) -> Result<Vec<u8>> {
        // lives until git has exited: dropping it removes the secret file
        let auth = match (auth, &self.creds) {
            (Some(url), Some(cr)) => Some(self.auth_for(url, cr)?),
            _ => None,
        };
        let mut c = self.cmd(dir, auth.as_ref())?;
        c.args(args);
        for (k, v) in env {
            c.env(k, v);
        }
        if input.is_some() {
            c.stdin(Stdio::piped());
        }
        let what = args.first().copied().unwrap_or("");
        if deadline.is_some() {
            use std::os::unix::process::CommandExt;
            // its own group, which the deadline kills whole; a git whose
            // tick died goes on to its end (killed mid-fetch it would leave
            // the cache's lock files, and every later tick would fail on them)
            c.process_group(0);
        }
        let mut child = c
            .spawn()
            .with_context(|| format!("git: cannot run git {what} (is git installed?)"))?;
        let out = match deadline {
            None => {
                if let Some(data) = input {
                    let mut stdin = child.stdin.take().expect("piped");
                    stdin.write_all(data)?;
                }
                child.wait_with_output()?
            }
            Some(limit) => wait_within(child, input, limit, what)?,
        };
        if !out.status.success() {
            let err = String::from_utf8_lossy(&out.stderr);
            let last: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
            let tail = last[last.len().saturating_sub(2)..].join(" / ");
            bail!(
                "git {what}{}: {}",
                dir.map(|d| format!(" in {}", d.display()))
                    .unwrap_or_default(),
                if tail.is_empty() {
                    "failed".to_string()
                } else {
                    tail
                }
            );
        }
        Ok(out.stdout)
    }

    /// A local git command's exit code (0 and 1 are answers; a git that
    /// cannot run is an error).
    pub(crate) fn exit_of(&self, dir: &Path, args: &[&str], env: &[(&str, String)]) -> Result<i32> {
        let mut c = self.cmd(Some(dir), None)?;
        c.args(args).stdout(Stdio::null()).stderr(Stdio::null());
        for (k, v) in env {
            c.env(k, v);
        }
        let what = args.first().copied().unwrap_or("");
        let st = c
            .status()
            .with_context(|| format!("git: cannot run git {what} (is git installed?)"))?;
        match st.code() {
            Some(n @ (0 | 1)) => Ok(n),
            _ => bail!("git {what} in {} failed ({st})", dir.display()),
        }
    }
}

/// `child` (a process group's leader) waited for, `input` written to it, at
/// most `limit`: past it the whole group is killed (an [`Overran`] error).
fn wait_within(
    mut child: std::process::Child,
    input: Option<&[u8]>,
    limit: std::time::Duration,
    what: &str,
) -> Result<std::process::Output> {
    let group = child.id() as libc::pid_t;
    let stdin = child.stdin.take();
    let data = input.map(<[u8]>::to_vec);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        if let (Some(mut s), Some(d)) = (stdin, data) {
            let _ = s.write_all(&d);
        }
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(limit) {
        Ok(out) => Ok(out?),
        Err(_) => {
            // SAFETY: kill(2) of the process group this call made (its
            // leader not yet waited for: the thread above still waits on it)
            unsafe { libc::kill(-group, libc::SIGKILL) };
            // the group's pipes close as its processes end
            let _ = rx.recv_timeout(std::time::Duration::from_secs(10));
            Err(Overran {
                what: what.to_string(),
                after: limit,
            }
            .into())
        }
    }
}
