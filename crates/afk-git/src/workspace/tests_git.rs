//! The tests' own git: a repository of theirs, with no user's or system's
//! configuration, run as a person would.

use std::path::Path;
use std::process::Command;

/// `git args` in `dir`, its stdout trimmed; a failure fails the test.
pub(super) fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(["-c", "user.name=t", "-c", "user.email=t@t.invalid"])
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .unwrap();
    assert!(out.status.success(), "{:?}", out);
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}
