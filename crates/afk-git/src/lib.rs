//! The git adapter of `afk upgrade` (docs/how-it-works.md#afk-upgrade): the
//! real `git`, driven through `std::process::Command`, over clones that live in
//! `upgrade.work_dir`.
//!
//! Owns: the upstream clone of a recipe (cloned once, fetched only when
//! upstream `main` moved, its work tree kept at upstream `main` and never
//! edited), upgrade commits made with plumbing (afk's identity and an
//! `Afk-Upgrade:` trailer, on top of upstream `main`, without touching the
//! work tree), pushes to the mirror with a lease, and the fixer's clone.
//!
//! The forge token reaches git only through `GIT_ASKPASS`: a small script in
//! the work dir (holding no secret) that answers only prompts for the forge's
//! own host and reads the password from a file afk writes (0600) for that one
//! git call and removes after it. The token is never in an argument, a remote
//! URL, a `.git/config` or a child's environment (where any process of the
//! same user reads it in `/proc/<pid>/environ`); credential helpers are
//! switched off for those calls so none can store it, and git follows no
//! redirect there (`http.followRedirects=false`), so it never takes the
//! credentials to another host.

use afk_core::upgrade_commit::TreeChange;
use anyhow::{Context, Result, bail};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The identity of afk's commits.
pub const AFK_NAME: &str = "afk";
pub const AFK_EMAIL: &str = "afk@afk.invalid";
/// The trailer every upgrade commit of afk carries: `Afk-Upgrade: <recipe> <image> <tag>`.
pub const TRAILER: &str = "Afk-Upgrade";

/// The askpass script. git prompts `Username for '<scheme>://<host>': ` and
/// `Password for '<scheme>://<user>@<host>': `; the script answers only when
/// that is the forge's own origin (`AFK_GIT_ORIGIN`, afk's username in
/// `AFK_GIT_USERNAME`): the username, or the token read from the descriptor
/// `AFK_GIT_SECRET_FD` it inherited. Anything else (a redirect to another
/// host) is refused.
const ASKPASS: &str = r#"#!/bin/sh
# afk: hands git the forge credentials for the forge's own host only. It holds no
# secret: the token is in a sealed memfd only this git call inherited.
o="$AFK_GIT_ORIGIN"
case "$1" in
  "Username for '$o': ") printf '%s\n' "$AFK_GIT_USERNAME" ;;
  "Password for '${o%%://*}://$AFK_GIT_USERNAME@${o#*://}': ") case "$AFK_GIT_SECRET_FD" in *[!0-9]*|"") exit 1 ;; esac; cat "/proc/self/fd/$AFK_GIT_SECRET_FD" ;;
  *) echo "afk askpass: answers only for $o" >&2; exit 1 ;;
esac
"#;

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

/// The environment variables the askpass script reads (never inherited).
const ASKPASS_ENV: [&str; 4] = [
    "AFK_GIT_ORIGIN",
    "AFK_GIT_USERNAME",
    "AFK_GIT_SECRET_FD",
    "AFK_GIT_PASSWORD",
];

pub mod workspace;

/// `<scheme>://<host>[:<port>]` of an http(s) URL, as git names it in its
/// credential prompts (any `user@` left out); None for anything else.
pub fn credential_origin(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    if !scheme.eq_ignore_ascii_case("http") && !scheme.eq_ignore_ascii_case("https") {
        return None;
    }
    let authority = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
    let host = authority.rsplit('@').next().unwrap_or("");
    let ok = !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'));
    ok.then(|| format!("{scheme}://{host}"))
}

/// The password of one git call, in a sealed anonymous memory file (memfd)
/// that no path names: only the git call it is handed to inherits it (its
/// descriptor is close-on-exec everywhere else), and askpass reads it
/// through that descriptor. No other process of afk's user can open it by a
/// name, as it could a file (and no agent of a turn left running could
/// watch for one).
struct SecretFd(std::os::fd::OwnedFd);

impl SecretFd {
    fn create(secret: &str) -> Result<SecretFd> {
        use std::os::fd::{AsRawFd, FromRawFd};
        // SAFETY: memfd_create(2) with a NUL-terminated name; the descriptor
        // it returns is owned here from now on.
        let fd = unsafe {
            libc::memfd_create(
                c"afk-git-secret".as_ptr(),
                libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING,
            )
        };
        if fd < 0 {
            return Err(std::io::Error::last_os_error())
                .context("git: cannot make the secret's memfd");
        }
        // SAFETY: fd is a fresh descriptor nothing else owns.
        let owned = unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) };
        let mut f = std::fs::File::from(owned);
        f.write_all(secret.as_bytes())
            .context("git: cannot write the secret's memfd")?;
        // sealed: nobody who gets the descriptor can change the secret
        // SAFETY: fcntl(2) on our own descriptor.
        unsafe {
            libc::fcntl(
                f.as_raw_fd(),
                libc::F_ADD_SEALS,
                libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_WRITE | libc::F_SEAL_SEAL,
            );
        }
        Ok(SecretFd(f.into()))
    }

    fn raw(&self) -> i32 {
        use std::os::fd::AsRawFd;
        self.0.as_raw_fd()
    }
}

/// What an authenticated git call is given: the origin askpass answers for
/// and the file holding the password.
struct Auth {
    origin: String,
    secret: SecretFd,
}

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

/// HTTP credentials for the mirror; `Debug` never shows the password.
#[derive(Clone)]
pub struct Credentials {
    pub username: String,
    pub password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Credentials({}, ***)", self.username)
    }
}

/// What a push may overwrite on the remote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lease {
    /// The branch must not exist yet.
    Absent,
    /// The branch must still point at this commit (the one afk checked).
    At(String),
}

/// A recipe's upstream clone, its work tree at upstream `main`.
#[derive(Debug, Clone)]
pub struct Checkout {
    pub dir: PathBuf,
    /// upstream `main`'s commit
    pub main: String,
}

/// Which PR branch to hold against `main` ([`Git::look`]), in the recipe's
/// clone `dir`.
#[derive(Debug, Clone, Copy)]
pub struct LookAt<'a> {
    /// the recipe's clone (afk's own commits are made there)
    pub dir: &'a Path,
    /// the mirror, fetched from when the clone lacks `head`
    pub url: &'a str,
    /// the PR's branch on the mirror
    pub branch: &'a str,
    /// the branch's head commit, as the forge reported it
    pub head: &'a str,
    /// upstream `main`'s commit
    pub main: &'a str,
    /// whether to list each commit since `main` ([`Look::commits`])
    pub commits: bool,
}

/// What a PR branch is to `main` ([`Git::look`]).
#[derive(Debug, Clone, Default)]
pub struct Look {
    /// `main` is an ancestor of the head
    pub on_main: bool,
    /// the head merges into `main` without a conflict
    pub applies: bool,
    /// each commit since `main`: committer address, message (when asked)
    pub commits: Vec<(String, String)>,
}

pub struct Git {
    work_dir: PathBuf,
    creds: Option<Credentials>,
    /// environment variables git must not inherit (the config's secrets)
    strip_env: Vec<String>,
    /// the workspace's git (docs/how-it-works.md#the-workspace): an empty
    /// environment but `PATH`, no system or global config, no hooks, no
    /// fsmonitor (see [`Git::hardened`])
    hardened: bool,
    /// how an `https://` upstream's `main` is read without a process (the
    /// binary's: afk's own client over the ref advertisement); None: asked
    /// with `git ls-remote`
    main_reader: Option<MainReader>,
}

/// Reads an `https://` upstream's `main` (None: it did not say).
pub type MainReader = std::sync::Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

impl Git {
    /// Clones live in `work_dir` (created when first needed). `creds` are
    /// used only for calls to the mirror, never for upstream.
    pub fn new(work_dir: &Path, creds: Option<Credentials>, strip_env: Vec<String>) -> Git {
        Git {
            work_dir: work_dir.to_path_buf(),
            creds,
            strip_env,
            hardened: false,
            main_reader: None,
        }
    }

    /// Read `https://` upstreams' `main` with `r` instead of `git ls-remote`.
    pub fn set_main_reader(&mut self, r: MainReader) {
        self.main_reader = Some(r);
    }

    /// The workspace's git
    /// (docs/security.md#the-workspace-the-agent-holds-no-forge-credential),
    /// which reads repositories an agent wrote: it starts from an empty
    /// environment (only `PATH`; `HOME` an empty folder of afk's), reads no
    /// system or global config (`GIT_CONFIG_NOSYSTEM`,
    /// `GIT_CONFIG_GLOBAL=/dev/null`), and every call switches off hooks,
    /// fsmonitor, credential helpers and redirects on the command line, which
    /// wins over any repository's config. It only ever runs in afk's own
    /// repositories; an agent's is read as a fetch source.
    pub fn hardened(work_dir: &Path, creds: Option<Credentials>) -> Git {
        Git {
            work_dir: work_dir.to_path_buf(),
            creds,
            strip_env: vec![],
            hardened: true,
            main_reader: None,
        }
    }

    pub fn work_dir(&self) -> &Path {
        &self.work_dir
    }

    /// A git command: quiet about the terminal, in `dir`, without the config's
    /// secrets in its environment; with the mirror's credentials when `auth`.
    fn cmd(&self, dir: Option<&Path>, auth: Option<&Auth>) -> Result<Command> {
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
            ])
            .env("GIT_ASKPASS", self.askpass()?)
            .env("AFK_GIT_ORIGIN", &a.origin)
            .env("AFK_GIT_USERNAME", &cr.username)
            .env("AFK_GIT_SECRET_FD", a.secret.raw().to_string());
            let fd = a.secret.raw();
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
        Ok(Auth {
            origin,
            secret: SecretFd::create(&cr.password)?,
        })
    }

    /// Run `git args` and return its stdout; an error names the subcommand,
    /// where, and git's own last lines. With `auth`, the URL of the mirror the
    /// call talks to, git gets the credentials for that URL's host only.
    fn run(
        &self,
        dir: Option<&Path>,
        auth: Option<&str>,
        args: &[&str],
        input: Option<&[u8]>,
    ) -> Result<String> {
        self.run_env(dir, auth, args, input, &[])
    }

    fn run_env(
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
    fn run_bytes(&self, dir: Option<&Path>, args: &[&str]) -> Result<Vec<u8>> {
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
    fn run_within(
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

    /// `afk doctor`: upstream `main`'s commit, by one `git ls-remote` without
    /// credentials (as every upstream call), ended after `timeout`.
    /// Ok(None): it answers, but has no `main` branch.
    pub fn ls_remote_main(
        &self,
        url: &str,
        timeout: std::time::Duration,
    ) -> Result<Option<String>> {
        // an https upstream says it in its ref advertisement: no process
        if (url.starts_with("https://") || url.starts_with("http://"))
            && let Some(main) = self.main_reader.as_ref().and_then(|r| r(url))
        {
            return Ok(Some(main));
        }
        let mut c = self.cmd(None, None)?;
        c.args(["ls-remote", url, "refs/heads/main"]);
        let child = c
            .spawn()
            .context("git: cannot run git ls-remote (is git installed?)")?;
        let pid = child.id();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(child.wait_with_output());
        });
        let out = match rx.recv_timeout(timeout) {
            Ok(out) => out?,
            Err(_) => {
                // SAFETY: kill(2) on the git this call started, which has
                // not been waited for (its thread still waits on it)
                unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) };
                bail!(
                    "git ls-remote: no answer within {}s",
                    timeout.as_secs().max(1)
                );
            }
        };
        if !out.status.success() {
            let err = String::from_utf8_lossy(&out.stderr);
            let last: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
            let tail = last[last.len().saturating_sub(2)..].join(" / ");
            bail!(
                "git ls-remote: {}",
                if tail.is_empty() { "failed" } else { &tail }
            );
        }
        let text = String::from_utf8_lossy(&out.stdout);
        Ok(text.split_whitespace().next().map(str::to_string))
    }

    /// `recipe`'s upstream clone with its work tree at upstream `main`: cloned
    /// the first time, fetched only when upstream `main` moved (one
    /// `ls-remote` otherwise, or for an upstream on this machine its ref read
    /// from its files), checked out only when it changed. `url` is
    /// asked each time, so a changed `upgrade.upstream` is followed.
    pub fn upstream(&self, recipe: &str, url: &str) -> Result<Checkout> {
        let dir = self.work_dir.join(recipe);
        let git_dir = dir.join(".git");
        if !git_dir.join("HEAD").exists() {
            std::fs::create_dir_all(&self.work_dir)
                .with_context(|| format!("git: cannot create {}", self.work_dir.display()))?;
            let tmp = self
                .work_dir
                .join(format!(".{recipe}.clone-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&tmp);
            let tmp_s = tmp.to_string_lossy().to_string();
            self.run(
                None,
                None,
                &[
                    "clone",
                    "-q",
                    "--no-tags",
                    "--single-branch",
                    "--branch",
                    "main",
                    url,
                    &tmp_s,
                ],
                None,
            )?;
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::rename(&tmp, &dir)
                .with_context(|| format!("git: cannot move the clone to {}", dir.display()))?;
        }
        let main = match self.upstream_main(url) {
            Some(m) => m,
            None => {
                let remote = self.run(
                    Some(&dir),
                    None,
                    &["ls-remote", url, "refs/heads/main"],
                    None,
                )?;
                let Some(main) = remote.split_whitespace().next().map(str::to_string) else {
                    bail!("it has no main branch");
                };
                main
            }
        };
        if read_ref(&git_dir, "refs/remotes/origin/main").as_deref() != Some(main.as_str()) {
            self.run(
                Some(&dir),
                None,
                &[
                    "fetch",
                    "-q",
                    "--no-tags",
                    url,
                    "+refs/heads/main:refs/remotes/origin/main",
                ],
                None,
            )?;
        }
        if read_ref(&git_dir, "HEAD").as_deref() != Some(main.as_str()) {
            self.run(
                Some(&dir),
                None,
                &["checkout", "-q", "-f", "--detach", &main],
                None,
            )?;
        }
        Ok(Checkout { dir, main })
    }

    /// Upstream `main`'s commit without a process: for an `https://` (or
    /// `http://`) upstream, from its smart-HTTP ref advertisement read over
    /// afk's own client (no credential: an upstream is an outside party);
    /// for a repository on this machine (a path or `file://`), from its
    /// files, as git itself reads a ref (loose, then `packed-refs`), so a
    /// moved upstream is seen at once. None for any other URL, or when the
    /// answer does not say (a dumb server, a redirect, no `main`, a
    /// reftable): then `git ls-remote` answers, as it did.
    fn upstream_main(&self, url: &str) -> Option<String> {
        if url.starts_with("https://") || url.starts_with("http://") {
            return self.main_reader.as_ref().and_then(|r| r(url));
        }
        let local = url
            .strip_prefix("file://")
            .or((!url.contains("://")).then_some(url))?;
        let path = Path::new(local);
        // a relative path or `host:path` is git's to resolve
        if !path.is_absolute() {
            return None;
        }
        let git_dir = if path.join("objects").is_dir() && path.join("HEAD").is_file() {
            path.to_path_buf()
        } else {
            path.join(".git")
        };
        read_ref(&git_dir, "refs/heads/main")
    }

    /// A commit on top of `parent` whose tree is `parent`'s with `files`
    /// (path relative to the repo root, new content) replaced: made with
    /// plumbing and a private index, so the work tree stays upstream `main`.
    pub fn commit(
        &self,
        dir: &Path,
        parent: &str,
        files: &[(String, Vec<u8>)],
        message: &str,
    ) -> Result<String> {
        let index = dir
            .join(".git")
            .join(format!("afk-index-{}", std::process::id()));
        let index_s = index.to_string_lossy().to_string();
        let env = [
            ("GIT_INDEX_FILE", index_s.as_str()),
            ("GIT_AUTHOR_NAME", AFK_NAME),
            ("GIT_AUTHOR_EMAIL", AFK_EMAIL),
            ("GIT_COMMITTER_NAME", AFK_NAME),
            ("GIT_COMMITTER_EMAIL", AFK_EMAIL),
        ];
        let result = (|| {
            self.run_env(Some(dir), None, &["read-tree", parent], None, &env)?;
            let mut lines = String::new();
            for (path, content) in files {
                let listed = self.run(Some(dir), None, &["ls-tree", parent, "--", path], None)?;
                let mode = listed.split_whitespace().next().unwrap_or("100644");
                let blob = self.run(
                    Some(dir),
                    None,
                    &["hash-object", "-w", "--stdin"],
                    Some(content),
                )?;
                // NUL-terminated: no byte of a path can start another entry
                lines.push_str(&format!("{mode} {blob}\t{path}\0"));
            }
            self.run_env(
                Some(dir),
                None,
                &["update-index", "-z", "--index-info"],
                Some(lines.as_bytes()),
                &env,
            )?;
            let tree = self.run_env(Some(dir), None, &["write-tree"], None, &env)?;
            self.run_env(
                Some(dir),
                None,
                &["commit-tree", &tree, "-p", parent, "-F", "-"],
                Some(message.as_bytes()),
                &env,
            )
        })();
        let _ = std::fs::remove_file(&index);
        result
    }

    /// What commit `sha` changes against `parent`, path by path (renames as
    /// a deletion and an addition), with each new blob's text.
    pub fn changes(&self, dir: &Path, parent: &str, sha: &str) -> Result<Vec<TreeChange>> {
        let raw = self.run_bytes(
            Some(dir),
            &[
                "diff-tree",
                "-r",
                "-z",
                "--no-renames",
                "--no-commit-id",
                parent,
                sha,
            ],
        )?;
        let mut fields = raw.split(|b| *b == 0).filter(|f| !f.is_empty());
        let mut out = vec![];
        while let (Some(meta), Some(path)) = (fields.next(), fields.next()) {
            let meta = String::from_utf8_lossy(meta);
            let m: Vec<&str> = meta.trim_start_matches(':').split(' ').collect();
            let [old_mode, new_mode, _, new_blob, status] = m[..] else {
                bail!("git diff-tree: unexpected line {meta}");
            };
            let text = if new_blob.bytes().all(|b| b == b'0') {
                None
            } else {
                String::from_utf8(self.run_bytes(Some(dir), &["cat-file", "blob", new_blob])?).ok()
            };
            out.push(TreeChange {
                path: String::from_utf8_lossy(path).to_string(),
                status: status.to_string(),
                old_mode: old_mode.to_string(),
                new_mode: new_mode.to_string(),
                text,
            });
        }
        Ok(out)
    }

    /// Push `sha` to `branch` of the mirror at `url` (with the credentials),
    /// overwriting only what `lease` allows.
    pub fn push(
        &self,
        dir: &Path,
        url: &str,
        sha: &str,
        branch: &str,
        lease: &Lease,
    ) -> Result<()> {
        let dst = format!("refs/heads/{branch}");
        let lease = match lease {
            Lease::Absent => format!("--force-with-lease={dst}:"),
            Lease::At(s) => format!("--force-with-lease={dst}:{s}"),
        };
        self.run(
            Some(dir),
            Some(url),
            &[
                "push",
                "-q",
                "--no-verify",
                &lease,
                url,
                &format!("{sha}:{dst}"),
            ],
            None,
        )
        .with_context(|| format!("push to {branch}"))?;
        Ok(())
    }

    /// A fresh clone of the mirror at `url` on `branch` in `dest` (the fixer's
    /// workdir). Its config names the mirror's URL and nothing secret.
    pub fn clone_branch(&self, url: &str, branch: &str, dest: &Path) -> Result<()> {
        if let Some(p) = dest.parent() {
            std::fs::create_dir_all(p)
                .with_context(|| format!("git: cannot create {}", p.display()))?;
        }
        let d = dest.to_string_lossy().to_string();
        self.run(
            None,
            Some(url),
            &["clone", "-q", "--branch", branch, url, &d],
            None,
        )
        .with_context(|| format!("clone of the mirror on {branch}"))?;
        Ok(())
    }

    /// What a PR branch is to `main` (own branches kept current,
    /// docs/how-it-works.md#afk-upgrade), in the recipe's clone: its head
    /// fetched from the mirror at `url` when the clone does not hold it (afk's
    /// own commits are made here, so mostly it does); whether `main` is an
    /// ancestor of the head; if not, whether the head merges into `main`
    /// without a conflict (`merge-tree`, its objects written to a scratch
    /// folder removed after, so the clone gains nothing; `--quiet` is newer
    /// than the git afk supports); and with `commits`, each commit since
    /// `main`'s committer address and message.
    pub fn look(&self, at: &LookAt) -> Result<Look> {
        let &LookAt {
            dir,
            url,
            branch,
            head,
            main,
            commits,
        } = at;
        if self.exit_of(dir, &["cat-file", "-e", head], &[])? != 0 {
            let refspec = format!("refs/heads/{branch}");
            self.run(
                Some(dir),
                Some(url),
                &[
                    "fetch",
                    "-q",
                    "--no-tags",
                    "--no-write-fetch-head",
                    url,
                    &refspec,
                ],
                None,
            )
            .with_context(|| format!("fetch of {branch}"))?;
            if self.exit_of(dir, &["cat-file", "-e", head], &[])? != 0 {
                bail!("{branch} moved while afk read it; looked at again next tick");
            }
        }
        let on_main = self.exit_of(dir, &["merge-base", "--is-ancestor", main, head], &[])? == 0;
        let applies = on_main || {
            let scratch = dir
                .join(".git")
                .join(format!("afk-merge-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&scratch);
            std::fs::create_dir_all(&scratch)?;
            let objects = dir.join(".git").join("objects");
            let env = [
                (
                    "GIT_OBJECT_DIRECTORY",
                    scratch.to_string_lossy().to_string(),
                ),
                (
                    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
                    objects.to_string_lossy().to_string(),
                ),
            ];
            let code = self.exit_of(
                dir,
                &["merge-tree", "--write-tree", "--no-messages", main, head],
                &env,
            );
            let _ = std::fs::remove_dir_all(&scratch);
            match code? {
                0 => true,
                1 => false,
                n => bail!("git merge-tree of {branch} exited {n}"),
            }
        };
        let commits = if commits {
            let range = format!("{main}..{head}");
            let raw = self.run_bytes(Some(dir), &["log", "-z", "--format=%ce%x1f%B", &range])?;
            raw.split(|b| *b == 0)
                .filter(|r| !r.is_empty())
                .map(|r| {
                    let r = String::from_utf8_lossy(r);
                    let (e, m) = r.split_once('\x1f').unwrap_or(("", &r));
                    (e.to_string(), m.to_string())
                })
                .collect()
        } else {
            vec![]
        };
        Ok(Look {
            on_main,
            applies,
            commits,
        })
    }

    /// A local git command's exit code (0 and 1 are answers; a git that
    /// cannot run is an error).
    fn exit_of(&self, dir: &Path, args: &[&str], env: &[(&str, String)]) -> Result<i32> {
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

    /// A new local branch `name` at the clone's current head, checked out
    /// (the `--with-tests` fixer's branch). No network, no credentials.
    pub fn new_branch(&self, dir: &Path, name: &str) -> Result<()> {
        self.run(Some(dir), None, &["checkout", "-q", "-b", name], None)
            .with_context(|| format!("git: cannot create the branch {name}"))?;
        Ok(())
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

/// What afk does with git, as an edge (`edges`): the real [`Git`], or a dry
/// run's, which clones and fetches afk's own work folder as the real one does
/// (reads) and records its pushes, fixer folders and clones instead of
/// making them.
pub trait GitOps: Send + Sync {
    /// See [`Git::upstream`].
    fn upstream(&self, recipe: &str, url: &str) -> Result<Checkout>;
    /// See [`Git::commit`].
    fn commit(
        &self,
        dir: &Path,
        parent: &str,
        files: &[(String, Vec<u8>)],
        message: &str,
    ) -> Result<String>;
    /// See [`Git::changes`].
    fn changes(&self, dir: &Path, parent: &str, sha: &str) -> Result<Vec<TreeChange>>;
    /// See [`Git::push`].
    fn push(&self, dir: &Path, url: &str, sha: &str, branch: &str, lease: &Lease) -> Result<()>;
    /// See [`Git::look`].
    fn look(&self, at: &LookAt) -> Result<Look>;
    /// See [`Git::clone_branch`].
    fn clone_branch(&self, url: &str, branch: &str, dest: &Path) -> Result<()>;
    /// See [`Git::new_branch`].
    fn new_branch(&self, dir: &Path, name: &str) -> Result<()>;
    /// A fixer's folder, emptied (a start that failed before left it) and
    /// made: its run files and the clone it works in go inside.
    fn fresh_folder(&self, dir: &Path) -> Result<()>;
}

impl GitOps for Git {
    fn upstream(&self, recipe: &str, url: &str) -> Result<Checkout> {
        Git::upstream(self, recipe, url)
    }
    fn commit(
        &self,
        dir: &Path,
        parent: &str,
        files: &[(String, Vec<u8>)],
        message: &str,
    ) -> Result<String> {
        Git::commit(self, dir, parent, files, message)
    }
    fn changes(&self, dir: &Path, parent: &str, sha: &str) -> Result<Vec<TreeChange>> {
        Git::changes(self, dir, parent, sha)
    }
    fn push(&self, dir: &Path, url: &str, sha: &str, branch: &str, lease: &Lease) -> Result<()> {
        Git::push(self, dir, url, sha, branch, lease)
    }
    fn clone_branch(&self, url: &str, branch: &str, dest: &Path) -> Result<()> {
        Git::clone_branch(self, url, branch, dest)
    }
    fn look(&self, at: &LookAt) -> Result<Look> {
        Git::look(self, at)
    }
    fn new_branch(&self, dir: &Path, name: &str) -> Result<()> {
        Git::new_branch(self, dir, name)
    }
    fn fresh_folder(&self, dir: &Path) -> Result<()> {
        let _ = std::fs::remove_dir_all(dir);
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))
    }
}

/// A ref's commit read from the files (`HEAD` when detached, a loose ref, or
/// packed-refs): no process for the common case of nothing having changed.
pub fn read_ref(git_dir: &Path, name: &str) -> Option<String> {
    let is_sha = |s: &str| s.len() >= 40 && s.chars().all(|c| c.is_ascii_hexdigit());
    if let Ok(s) = std::fs::read_to_string(git_dir.join(name)) {
        let s = s.trim();
        if is_sha(s) {
            return Some(s.to_string());
        }
        if let Some(target) = s.strip_prefix("ref: ") {
            return read_ref(git_dir, target.trim());
        }
    }
    let packed = std::fs::read_to_string(git_dir.join("packed-refs")).ok()?;
    packed.lines().find_map(|l| {
        let (sha, r) = l.split_once(' ')?;
        (r == name && is_sha(sha)).then(|| sha.to_string())
    })
}

/// Whether a commit was made by afk: afk's committer address and the
/// `Afk-Upgrade:` trailer in its message (a fixer's or a person's commit has
/// neither, so afk never pushes over it).
pub fn made_by_afk(committer_email: &str, message: &str) -> bool {
    committer_email.eq_ignore_ascii_case(AFK_EMAIL)
        && message
            .lines()
            .any(|l| l.strip_prefix(TRAILER).is_some_and(|r| r.starts_with(": ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_afks_identity_with_its_trailer_is_afks() {
        let msg = "Upgrade nginx 1.25.3 → 1.26.0\n\nAfk-Upgrade: nginx library/nginx 1.26.0\n";
        let cases = [
            (AFK_EMAIL, msg, true),
            ("AFK@AFK.INVALID", msg, true),
            ("agent@afk.invalid", msg, false),
            (AFK_EMAIL, "Fix the test\n", false),
            (AFK_EMAIL, "mentions Afk-Upgrade:x in passing\n", false),
            ("", "", false),
        ];
        for (email, message, want) in cases {
            assert_eq!(
                made_by_afk(email, message),
                want,
                "case {email} {message:?}"
            );
        }
    }

    /// The askpass script run as git runs it: (prompt) → its answer, or None
    /// when it refuses (exit status not 0).
    fn ask(prompt: &str, secret: &SecretFd) -> Option<String> {
        let fd = secret.raw();
        let mut c = Command::new("sh");
        c.args(["-c", ASKPASS, "askpass", prompt])
            .env("AFK_GIT_ORIGIN", "http://127.0.0.1:3000")
            .env("AFK_GIT_USERNAME", "afk-bot")
            .env("AFK_GIT_SECRET_FD", fd.to_string());
        use std::os::unix::process::CommandExt;
        // SAFETY: as in `Git::cmd`: the descriptor survives this exec only
        unsafe {
            c.pre_exec(move || {
                libc::fcntl(fd, libc::F_SETFD, 0);
                Ok(())
            });
        }
        let out = c.output().unwrap();
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).to_string())
    }

    #[test]
    fn askpass_answers_only_for_the_forges_own_host() {
        let secret = SecretFd::create("s3cret").unwrap();
        let cases = [
            ("Username for 'http://127.0.0.1:3000': ", Some("afk-bot\n")),
            (
                "Password for 'http://afk-bot@127.0.0.1:3000': ",
                Some("s3cret"),
            ),
            // another host, port, scheme or user: a redirect, never answered
            ("Username for 'http://127.0.0.3:3000': ", None),
            ("Password for 'http://afk-bot@127.0.0.3:3000': ", None),
            ("Password for 'http://afk-bot@127.0.0.1:30000': ", None),
            ("Password for 'https://afk-bot@127.0.0.1:3000': ", None),
            ("Password for 'http://mallory@127.0.0.1:3000': ", None),
            (
                "Password for 'http://afk-bot@127.0.0.1:3000.evil.example': ",
                None,
            ),
            (
                "Password for 'http://afk-bot@evil.example/http://127.0.0.1:3000': ",
                None,
            ),
            ("Password: ", None),
            ("xPassword for 'http://afk-bot@127.0.0.1:3000': ", None),
        ];
        for (prompt, want) in cases {
            assert_eq!(ask(prompt, &secret).as_deref(), want, "case {prompt}");
        }
        assert!(!ASKPASS.contains("s3cret"), "the script holds no secret");
        // another process (without the inherited descriptor) reads nothing
        let out = Command::new("sh")
            .args([
                "-c",
                ASKPASS,
                "askpass",
                "Password for 'http://afk-bot@127.0.0.1:3000': ",
            ])
            .env("AFK_GIT_ORIGIN", "http://127.0.0.1:3000")
            .env("AFK_GIT_USERNAME", "afk-bot")
            .env("AFK_GIT_SECRET_FD", secret.raw().to_string())
            .output()
            .unwrap();
        assert!(
            !String::from_utf8_lossy(&out.stdout).contains("s3cret"),
            "only the call handed the descriptor reads it"
        );
    }

    #[test]
    fn the_credential_origin_is_scheme_and_host_of_http_urls_only() {
        let cases = [
            (
                "http://127.0.0.1:3000/maint/nginx.git",
                Some("http://127.0.0.1:3000"),
            ),
            (
                "https://git.example.org/a/b.git",
                Some("https://git.example.org"),
            ),
            (
                "https://afk@git.example.org/a/b.git",
                Some("https://git.example.org"),
            ),
            ("https://[::1]:8443/a.git", Some("https://[::1]:8443")),
            ("file:///srv/git/a.git", None),
            ("/srv/git/a.git", None),
            ("https:///a.git", None),
            ("https://git.example.org'/a.git", None),
        ];
        for (url, want) in cases {
            assert_eq!(credential_origin(url).as_deref(), want, "case {url}");
        }
    }
}
