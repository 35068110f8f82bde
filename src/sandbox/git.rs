//! Real bare git repositories behind the sandbox, driven with git plumbing so
//! no work tree is needed: an initial commit, branch heads, merge commits.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

pub fn git(git_dir: &Path, args: &[&str], stdin: Option<&str>) -> Result<String, String> {
    let mut cmd = Command::new("git");
    cmd.arg("--git-dir")
        .arg(git_dir)
        .args(args)
        .env("GIT_AUTHOR_NAME", "afk sandbox")
        .env("GIT_AUTHOR_EMAIL", "sandbox@afk.invalid")
        .env("GIT_COMMITTER_NAME", "afk sandbox")
        .env("GIT_COMMITTER_EMAIL", "sandbox@afk.invalid")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().map_err(|e| format!("git: {e}"))?;
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .map_err(|e| format!("git: {e}"))?;
    }
    let out = child.wait_with_output().map_err(|e| format!("git: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "git {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// A bare repository with one commit on `main`.
pub fn init_bare(path: &Path, name: &str) -> Result<(), String> {
    if path.join("HEAD").exists() {
        return Ok(());
    }
    std::fs::create_dir_all(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let out = Command::new("git")
        .args(["init", "-q", "--bare", "-b", "main"])
        .arg(path)
        .output()
        .map_err(|e| format!("git init: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "git init: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let blob = git(
        path,
        &["hash-object", "-w", "--stdin"],
        Some(&format!("# {name}\n")),
    )?;
    let tree = git(
        path,
        &["mktree"],
        Some(&format!("100644 blob {blob}\tREADME.md\n")),
    )?;
    let commit = git(path, &["commit-tree", &tree, "-m", "initial commit"], None)?;
    git(path, &["update-ref", "refs/heads/main", &commit], None)?;
    Ok(())
}

/// The commit a branch points at, if the branch exists. Read from the ref
/// files (loose, then packed) rather than by running git: the sandbox answers
/// this for every PR and status request.
pub fn head(path: &Path, branch: &str) -> Option<String> {
    if branch.is_empty() || branch.contains("..") {
        return None;
    }
    let name = format!("refs/heads/{branch}");
    if let Ok(s) = std::fs::read_to_string(path.join(&name)) {
        let s = s.trim();
        if s.len() >= 40 && s.chars().all(|c| c.is_ascii_hexdigit()) {
            return Some(s.to_string());
        }
    }
    let packed = std::fs::read_to_string(path.join("packed-refs")).ok()?;
    packed.lines().find_map(|l| {
        let (sha, r) = l.split_once(' ')?;
        (r == name).then(|| sha.to_string())
    })
}

/// Merge `head` into `base` with a real merge commit (the head's tree, both
/// parents), move `base`, and return the merge commit.
pub fn merge(path: &Path, base: &str, head_branch: &str, message: &str) -> Result<String, String> {
    let h = head(path, head_branch).ok_or(format!("no branch {head_branch}"))?;
    let b = head(path, base).ok_or(format!("no branch {base}"))?;
    let tree = git(path, &["rev-parse", &format!("{h}^{{tree}}")], None)?;
    let m = git(
        path,
        &["commit-tree", &tree, "-p", &b, "-p", &h, "-m", message],
        None,
    )?;
    git(
        path,
        &["update-ref", &format!("refs/heads/{base}"), &m],
        None,
    )?;
    Ok(m)
}
