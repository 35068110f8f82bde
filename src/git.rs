//! The git adapter of `afk upgrade` (SPEC 8): the real `git`, driven through
//! `std::process::Command`, over clones that live in `upgrade.work_dir`.
//!
//! Owns: the upstream clone of a recipe (cloned once, fetched only when
//! upstream `main` moved, its work tree kept at upstream `main` and never
//! edited), upgrade commits made with plumbing (afk's identity and an
//! `Afk-Upgrade:` trailer, on top of upstream `main`, without touching the
//! work tree), pushes to the mirror with a lease, and the fixer's clone.
//!
//! The forge token reaches git only through `GIT_ASKPASS`: a small script in
//! the work dir that prints an environment variable afk sets for that one git
//! child. It is never in an argument, a remote URL or a `.git/config`, and
//! credential helpers are switched off for those calls so none can store it.

use anyhow::{Context, Result, bail};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The identity of afk's commits.
pub const AFK_NAME: &str = "afk";
pub const AFK_EMAIL: &str = "afk@afk.invalid";
/// The trailer every upgrade commit of afk carries: `Afk-Upgrade: <recipe> <image> <tag>`.
pub const TRAILER: &str = "Afk-Upgrade";

/// The askpass script: the username for the username prompt, the token for
/// every other; both from the environment of the git process that asks.
const ASKPASS: &str = "#!/bin/sh\n# afk: hands git the forge credentials from its environment; holds no secret itself\n\
case \"$1\" in\n  Username*) printf '%s\\n' \"$AFK_GIT_USERNAME\" ;;\n  *) printf '%s\\n' \"$AFK_GIT_PASSWORD\" ;;\nesac\n";

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

pub struct Git {
    work_dir: PathBuf,
    creds: Option<Credentials>,
    /// environment variables git must not inherit (the config's secrets)
    strip_env: Vec<String>,
}

impl Git {
    /// Clones live in `work_dir` (created when first needed). `creds` are
    /// used only for calls to the mirror, never for upstream.
    pub fn new(work_dir: &Path, creds: Option<Credentials>, strip_env: Vec<String>) -> Git {
        Git {
            work_dir: work_dir.to_path_buf(),
            creds,
            strip_env,
        }
    }

    pub fn work_dir(&self) -> &Path {
        &self.work_dir
    }

    /// A git command: quiet about the terminal, in `dir`, without the config's
    /// secrets in its environment; with the mirror's credentials when `auth`.
    fn cmd(&self, dir: Option<&Path>, auth: bool) -> Result<Command> {
        let mut c = Command::new("git");
        c.env("GIT_TERMINAL_PROMPT", "0")
            .env("LC_ALL", "C")
            .env_remove("GIT_ASKPASS")
            .env_remove("SSH_ASKPASS")
            .env_remove("AFK_GIT_PASSWORD")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for k in &self.strip_env {
            c.env_remove(k);
        }
        if let Some(d) = dir {
            c.current_dir(d);
        }
        if auth && let Some(cr) = &self.creds {
            // an empty helper resets the list: no helper supplies or stores anything
            c.args(["-c", "credential.helper="])
                .env("GIT_ASKPASS", self.askpass()?)
                .env("AFK_GIT_USERNAME", &cr.username)
                .env("AFK_GIT_PASSWORD", &cr.password);
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
            let tmp = self.work_dir.join(".afk-askpass.tmp");
            std::fs::write(&tmp, ASKPASS)
                .with_context(|| format!("git: cannot write {}", tmp.display()))?;
            std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o700))?;
            std::fs::rename(&tmp, &p)?;
        }
        Ok(p)
    }

    /// Run `git args` and return its stdout; an error names the subcommand,
    /// where, and git's own last lines.
    fn run(
        &self,
        dir: Option<&Path>,
        auth: bool,
        args: &[&str],
        input: Option<&[u8]>,
    ) -> Result<String> {
        self.run_env(dir, auth, args, input, &[])
    }

    fn run_env(
        &self,
        dir: Option<&Path>,
        auth: bool,
        args: &[&str],
        input: Option<&[u8]>,
        env: &[(&str, &str)],
    ) -> Result<String> {
        let mut c = self.cmd(dir, auth)?;
        c.args(args);
        for (k, v) in env {
            c.env(k, v);
        }
        if input.is_some() {
            c.stdin(Stdio::piped());
        }
        let what = args.first().copied().unwrap_or("");
        let mut child = c
            .spawn()
            .with_context(|| format!("git: cannot run git {what} (is git installed?)"))?;
        if let Some(data) = input {
            let mut stdin = child.stdin.take().expect("piped");
            stdin.write_all(data)?;
        }
        let out = child.wait_with_output()?;
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
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    }

    /// `recipe`'s upstream clone with its work tree at upstream `main`: cloned
    /// the first time, fetched only when upstream `main` moved (one
    /// `ls-remote` otherwise), checked out only when it changed. `url` is
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
                false,
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
        let remote = self.run(
            Some(&dir),
            false,
            &["ls-remote", url, "refs/heads/main"],
            None,
        )?;
        let Some(main) = remote.split_whitespace().next().map(str::to_string) else {
            bail!("it has no main branch");
        };
        if read_ref(&git_dir, "refs/remotes/origin/main").as_deref() != Some(main.as_str()) {
            self.run(
                Some(&dir),
                false,
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
                false,
                &["checkout", "-q", "-f", "--detach", &main],
                None,
            )?;
        }
        Ok(Checkout { dir, main })
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
            self.run_env(Some(dir), false, &["read-tree", parent], None, &env)?;
            let mut lines = String::new();
            for (path, content) in files {
                let listed = self.run(Some(dir), false, &["ls-tree", parent, "--", path], None)?;
                let mode = listed.split_whitespace().next().unwrap_or("100644");
                let blob = self.run(
                    Some(dir),
                    false,
                    &["hash-object", "-w", "--stdin"],
                    Some(content),
                )?;
                lines.push_str(&format!("{mode} {blob}\t{path}\n"));
            }
            self.run_env(
                Some(dir),
                false,
                &["update-index", "--index-info"],
                Some(lines.as_bytes()),
                &env,
            )?;
            let tree = self.run_env(Some(dir), false, &["write-tree"], None, &env)?;
            self.run_env(
                Some(dir),
                false,
                &["commit-tree", &tree, "-p", parent, "-F", "-"],
                Some(message.as_bytes()),
                &env,
            )
        })();
        let _ = std::fs::remove_file(&index);
        result
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
            true,
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
            true,
            &["clone", "-q", "--branch", branch, url, &d],
            None,
        )
        .with_context(|| format!("clone of the mirror on {branch}"))?;
        Ok(())
    }

    /// A new local branch `name` at the clone's current head, checked out
    /// (the tests fixer's branch, SPEC 8.7). No network, no credentials.
    pub fn new_branch(&self, dir: &Path, name: &str) -> Result<()> {
        self.run(Some(dir), false, &["checkout", "-q", "-b", name], None)
            .with_context(|| format!("git: cannot create the branch {name}"))?;
        Ok(())
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

    #[test]
    fn askpass_holds_no_secret_and_answers_both_prompts() {
        assert!(ASKPASS.contains("$AFK_GIT_PASSWORD"));
        assert!(ASKPASS.contains("Username*"));
    }
}
