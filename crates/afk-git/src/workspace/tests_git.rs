//! The tests' own git: a repository of theirs, with no user's or system's
//! configuration, run as a person would.

use std::path::Path;
use std::process::Command;

/// The tests' git with `args` in `dir`.
fn command(dir: &Path, args: &[&str]) -> Command {
    let mut c = Command::new("git");
    c.args(["-c", "user.name=t", "-c", "user.email=t@t.invalid"])
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1");
    c
}

/// `c` run: its stdout trimmed; a failure fails the test.
fn stdout(mut c: Command) -> String {
    let out = c.output().unwrap();
    assert!(out.status.success(), "{:?}", out);
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// `git args` in `dir`, its stdout trimmed; a failure fails the test.
pub(super) fn git(dir: &Path, args: &[&str]) -> String {
    stdout(command(dir, args))
}

/// `git args` in `dir` at the committer and author date `at` (unix
/// seconds), its stdout trimmed.
pub(super) fn git_at(dir: &Path, at: i64, args: &[&str]) -> String {
    let date = format!("@{at} +0000");
    let mut c = command(dir, args);
    c.env("GIT_AUTHOR_DATE", &date)
        .env("GIT_COMMITTER_DATE", &date);
    stdout(c)
}

/// `files` (name, text) written into `repo` and committed at `at`: the
/// commit.
pub(super) fn commit_at(repo: &Path, at: i64, files: &[(&str, &str)], msg: &str) -> String {
    for (name, text) in files {
        std::fs::write(repo.join(name), text).unwrap();
    }
    git_at(repo, at, &["add", "-A"]);
    git_at(repo, at, &["commit", "-q", "--allow-empty", "-m", msg]);
    git_at(repo, at, &["rev-parse", "HEAD"])
}
