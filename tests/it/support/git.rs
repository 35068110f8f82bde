//! git run by the tests: in a directory as a person (author and committer)
//! or as the tests, and on the sandbox's repositories through a fresh clone.

use super::{Sandbox, Scratch};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Run git in `dir`, panicking with its stderr on failure; returns stdout.
pub fn git(dir: &Path, args: &[&str]) -> String {
    git_by(dir, "t", "t@t.invalid", args)
}

/// Run git in `dir` with `name` and `email` as author and committer,
/// panicking with its stderr on failure; returns stdout.
fn git_by(dir: &Path, name: &str, email: &str, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", name)
        .env("GIT_AUTHOR_EMAIL", email)
        .env("GIT_COMMITTER_NAME", name)
        .env("GIT_COMMITTER_EMAIL", email)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// The address the sandbox maps to the account `who`, as a forge maps a
/// commit's author email to the account that owns it.
pub fn email_of(who: &str) -> String {
    format!("{who}@users.afk.invalid")
}

/// Run git in `dir` as `who` (author and committer, with [`email_of`]).
pub fn git_as(dir: &Path, who: &str, args: &[&str]) -> String {
    git_by(dir, who, &email_of(who), args)
}

impl Sandbox {
    /// As `who`, in a fresh clone of `repo` on `branch` (made from `main`
    /// when it is new): `work` changes the work tree and commits (with
    /// [`git_as`]); then the branch is pushed. Returns its new head.
    pub fn work_as(&self, repo: &str, branch: &str, work: impl FnOnce(&Path)) -> String {
        let (_s, w) = self.clone_on(repo, branch, "origin/main");
        work(&w);
        git(&w, &["push", "-q", "origin", branch]);
        git(&w, &["rev-parse", "HEAD"])
    }

    /// `who` writes `files` (path, text) on `branch` of `repo` and commits
    /// them with `message`; returns the commit.
    pub fn commit_as(
        &self,
        repo: &str,
        branch: &str,
        who: &str,
        files: &[(&str, &str)],
        message: &str,
    ) -> String {
        self.work_as(repo, branch, |w| {
            for (path, text) in files {
                std::fs::write(w.join(path), text).unwrap();
            }
            git(w, &["add", "."]);
            git_as(w, who, &["commit", "-q", "-m", message]);
        })
    }

    /// Push a commit to `branch` of `repo` (as an agent would); returns its sha.
    pub fn push_commit(&self, repo: &str, branch: &str, file: &str) -> String {
        let (_s, w) = self.clone_on(repo, branch, "HEAD");
        std::fs::write(w.join(file), format!("{file}\n")).unwrap();
        git(&w, &["add", "."]);
        git(&w, &["commit", "-q", "-m", &format!("add {file}")]);
        git(&w, &["push", "-q", "origin", branch]);
        git(&w, &["rev-parse", "HEAD"])
    }

    /// A fresh clone of `repo` in a scratch directory, checked out on
    /// `branch`: the forge's where it has one, else new from `new_from`
    /// (`origin/main`, or the clone's `HEAD`). The scratch (removed on drop)
    /// and the work tree.
    pub fn clone_on(&self, repo: &str, branch: &str, new_from: &str) -> (Scratch, PathBuf) {
        let s = Scratch::new();
        let remote = self.git.join(format!("{repo}.git"));
        git(&s.dir, &["clone", "-q", remote.to_str().unwrap(), "w"]);
        let w = s.dir.join("w");
        let exists = !git(&w, &["ls-remote", "--heads", "origin", branch]).is_empty();
        let from = if exists {
            format!("origin/{branch}")
        } else {
            new_from.to_string()
        };
        git(&w, &["checkout", "-q", "-B", branch, &from]);
        (s, w)
    }
}
