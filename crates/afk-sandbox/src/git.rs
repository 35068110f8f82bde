//! Real bare git repositories behind the sandbox, driven with git plumbing so
//! no work tree is needed: an initial commit, branch heads, merge commits.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

/// The domain of the addresses the sandbox maps to accounts: a commit whose
/// author email is `<login>@users.afk.invalid` is that account's, as a forge
/// maps a commit's author email to the account that owns it. Any other
/// address (the sandbox's own, `sandbox@afk.invalid`) is no account's.
const ACCOUNTS: &str = "@users.afk.invalid";

/// The address of account `login`.
pub fn email_of(login: &str) -> String {
    format!("{login}{ACCOUNTS}")
}

/// The account a commit address belongs to, if any.
pub fn login_of(email: &str) -> Option<&str> {
    email
        .strip_suffix(ACCOUNTS)
        .filter(|l| !l.is_empty() && !l.contains(['@', ' ', '<', '>']))
}

/// One commit of [`log`]: sha, author name, email, date, committer name,
/// email, date, parents, message.
pub type LoggedCommit = [String; 9];

/// The commits of `git log` over `args` in `git_dir`, newest first (what
/// the GitHub and GitLab dialects answer their commit reads from).
pub fn log(git_dir: &Path, args: &[&str]) -> Option<Vec<LoggedCommit>> {
    let mut a = vec![
        "log",
        "--format=%H%x00%an%x00%ae%x00%aI%x00%cn%x00%ce%x00%cI%x00%P%x00%B%x1e",
    ];
    a.extend_from_slice(args);
    a.push("--");
    let out = git(git_dir, &a, None).ok()?;
    Some(
        out.split('\u{1e}')
            .map(|c| c.trim_start_matches('\n'))
            .filter(|c| !c.is_empty())
            .map(|c| {
                let mut p = c.splitn(9, '\0').map(str::to_string);
                std::array::from_fn(|_| p.next().unwrap_or_default())
            })
            .collect(),
    )
}

/// Run git as the sandbox itself (author and committer `afk sandbox`, no account).
pub fn git(git_dir: &Path, args: &[&str], stdin: Option<&str>) -> Result<String, String> {
    git_as(git_dir, None, args, stdin)
}

/// Run git as account `who` (author and committer, with [`email_of`]), or as
/// the sandbox itself.
pub fn git_as(
    git_dir: &Path,
    who: Option<&str>,
    args: &[&str],
    stdin: Option<&str>,
) -> Result<String, String> {
    run(git_dir, who, args, stdin).map(|out| out.trim().to_string())
}

/// Run git as the sandbox and keep its output whole (a diff's last context
/// line may be a lone space).
pub fn raw(git_dir: &Path, args: &[&str]) -> Result<String, String> {
    run(git_dir, None, args, None)
}

fn run(
    git_dir: &Path,
    who: Option<&str>,
    args: &[&str],
    stdin: Option<&str>,
) -> Result<String, String> {
    let (name, email) = match who {
        Some(w) => (w.to_string(), email_of(w)),
        None => ("afk sandbox".to_string(), "sandbox@afk.invalid".to_string()),
    };
    let mut cmd = Command::new("git");
    cmd.arg("--git-dir")
        .arg(git_dir)
        .args(args)
        .env("GIT_AUTHOR_NAME", &name)
        .env("GIT_AUTHOR_EMAIL", &email)
        .env("GIT_COMMITTER_NAME", &name)
        .env("GIT_COMMITTER_EMAIL", &email)
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
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// An empty bare repository at `path` whose default branch is `main`.
fn empty_bare(path: &Path) -> Result<(), String> {
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
    Ok(())
}

/// A bare repository with one commit on `main`.
pub fn init_bare(path: &Path, name: &str) -> Result<(), String> {
    if path.join("HEAD").exists() {
        return Ok(());
    }
    empty_bare(path)?;
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

/// A new bare repository holding the branches and history of the local
/// repository `from` (`git fetch` from its path, no tags, nothing of its
/// config copied); its checked-out branch becomes `main` when it has none.
pub fn import(path: &Path, from: &Path) -> Result<(), String> {
    if path.join("HEAD").exists() {
        return Ok(());
    }
    if !from.is_dir() {
        return Err(format!("import: {} is not a folder", from.display()));
    }
    empty_bare(path)?;
    let source = from.to_string_lossy().into_owned();
    let fetched = git(
        path,
        &[
            "fetch",
            "-q",
            "--no-tags",
            "--",
            &source,
            "+refs/heads/*:refs/heads/*",
        ],
        None,
    )
    .map_err(|e| format!("import from {}: {e}", from.display()))?;
    let _ = fetched;
    if head(path, "main").is_none() {
        git(
            path,
            &[
                "fetch",
                "-q",
                "--no-tags",
                "--",
                &source,
                "+HEAD:refs/heads/main",
            ],
            None,
        )
        .map_err(|e| format!("import from {}: its HEAD: {e}", from.display()))?;
    }
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

/// Merge `head` into `base` as `by` with a real merge commit (both parents;
/// the head's tree when the head contains the base, else git's three-way
/// merge of the two, refused on a conflict), move `base`, and return the
/// merge commit.
pub fn merge(
    path: &Path,
    base: &str,
    head_branch: &str,
    message: &str,
    by: Option<&str>,
) -> Result<String, String> {
    let m = merge_commit(path, base, head_branch, message, by)?;
    git(
        path,
        &["update-ref", &format!("refs/heads/{base}"), &m],
        None,
    )?;
    Ok(m)
}

/// The merge commit of `head_branch` into `base` as [`merge`] makes it
/// (parents: the base's head, then the head's), moving no branch.
pub fn merge_commit(
    path: &Path,
    base: &str,
    head_branch: &str,
    message: &str,
    by: Option<&str>,
) -> Result<String, String> {
    let h = head(path, head_branch).ok_or(format!("no branch {head_branch}"))?;
    let b = head(path, base).ok_or(format!("no branch {base}"))?;
    let tree = if git(path, &["merge-base", "--is-ancestor", &b, &h], None).is_ok() {
        git(path, &["rev-parse", &format!("{h}^{{tree}}")], None)?
    } else {
        git(path, &["merge-tree", "--write-tree", &b, &h], None)
            .map_err(|e| format!("the pull request does not merge cleanly: {e}"))?
    };
    git_as(
        path,
        by,
        &["commit-tree", &tree, "-p", &b, "-p", &h, "-m", message],
        None,
    )
}

/// What commit `sha` changed against its first parent, as `git diff -M`
/// writes it (what Gitea serves as `git/commits/{sha}.diff`); a root
/// commit's whole content as `git show` writes it.
pub fn diff(path: &Path, sha: &str) -> Result<String, String> {
    match commit_and_parent(path, sha)? {
        (commit, Some(parent)) => raw(path, &["diff", "-M", &parent, &commit, "--"]),
        (commit, None) => raw(path, &["show", &commit, "--"]),
    }
}

/// Commit `sha` (an error when it names none) and its first parent (none for
/// a root commit).
fn commit_and_parent(path: &Path, sha: &str) -> Result<(String, Option<String>), String> {
    if sha.starts_with('-') {
        return Err("not a commit".into());
    }
    let commit = git(
        path,
        &["rev-parse", "--verify", &format!("{sha}^{{commit}}")],
        None,
    )?;
    let parent = git(
        path,
        &["rev-parse", "--verify", "-q", &format!("{commit}^1")],
        None,
    )
    .ok();
    Ok((commit, parent))
}

/// One file a commit changed against its first parent: GitHub's status
/// (`added`, `removed`, `modified`, `renamed`), its blob (the old one for a
/// removed file), its path, the path it was renamed from, and its hunks
/// (none for a binary file or a pure rename).
pub struct Changed {
    pub status: &'static str,
    pub blob: String,
    pub path: String,
    pub previous: Option<String>,
    pub patch: Option<String>,
}

/// The files commit `sha` changed against its first parent (a root commit:
/// none), each with its own patch.
pub fn changed(path: &Path, sha: &str) -> Result<Vec<Changed>, String> {
    let (commit, Some(parent)) = commit_and_parent(path, sha)? else {
        return Ok(vec![]);
    };
    let names = raw(
        path,
        &[
            "diff",
            "-M",
            "--raw",
            "--no-abbrev",
            "-z",
            &parent,
            &commit,
            "--",
        ],
    )?;
    let mut fields = names.split('\0').filter(|f| !f.is_empty());
    let mut out = vec![];
    // `:<old mode> <new mode> <old blob> <new blob> <status>`, then the path(s)
    while let Some(meta) = fields.next() {
        let meta: Vec<&str> = meta.split(' ').collect();
        let [_, _, old_blob, new_blob, kind] = meta[..] else {
            return Err("git diff --raw: unexpected output".into());
        };
        let (status, previous) = match kind.chars().next() {
            Some('A') => ("added", None),
            Some('D') => ("removed", None),
            Some('R') => ("renamed", fields.next().map(str::to_string)),
            _ => ("modified", None),
        };
        let Some(file) = fields.next() else { break };
        let mut args = vec!["diff", "-M", &parent, &commit, "--"];
        if let Some(p) = &previous {
            args.push(p);
        }
        args.push(file);
        let text = raw(path, &args)?;
        let patch = text.find("\n@@").map(|i| text[i + 1..].to_string());
        out.push(Changed {
            status,
            blob: if status == "removed" {
                old_blob
            } else {
                new_blob
            }
            .to_string(),
            path: file.to_string(),
            previous,
            patch,
        });
    }
    Ok(out)
}
