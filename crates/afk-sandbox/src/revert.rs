//! `POST /_admin/revert {repo, sha, branch = "main", message?, by?}` →
//! `{sha}`: a person reverting a commit on a branch as `git revert -m 1`
//! does. The new commit undoes the commit's changes against its first parent
//! (its parent's tree when the commit is still the branch head, else git's
//! three-way merge onto the head; refused on a conflict), carries the message
//! `git revert` writes (`This reverts commit <sha>.`) unless the test gives
//! its own, and is by account `by` (none: the sandbox itself, no account's).

use super::http::Reply;
use super::model::Forge;
use super::{err, git};
use serde_json::{Value, json};

pub(super) fn revert(f: &mut Forge, body: &Value) -> Reply {
    let repo = body["repo"].as_str().unwrap_or("");
    let sha = body["sha"].as_str().unwrap_or("");
    let branch = body["branch"].as_str().unwrap_or("main");
    if !f.repos.contains_key(repo) {
        return err(404, "no such repo");
    }
    let (message, by) = (body["message"].as_str(), body["by"].as_str());
    match make(&f.git_dir(repo), sha, branch, message, by) {
        Ok(new) => {
            f.ci_pushed(repo, branch, &new);
            Reply::json(200, &json!({"sha": new}))
        }
        Err(e) => err(400, &e),
    }
}

fn make(
    gd: &std::path::Path,
    sha: &str,
    branch: &str,
    message: Option<&str>,
    by: Option<&str>,
) -> Result<String, String> {
    if sha.is_empty() || sha.starts_with('-') {
        return Err("give the sha of the commit to revert".into());
    }
    let head = git::head(gd, branch).ok_or(format!("no branch {branch}"))?;
    let subject = git::git(gd, &["log", "-1", "--format=%s", sha, "--"], None)?;
    let parent = git::git(gd, &["rev-parse", &format!("{sha}^1")], None)
        .map_err(|_| format!("{sha} has no parent to revert to"))?;
    let tree = if head == sha {
        git::git(gd, &["rev-parse", &format!("{parent}^{{tree}}")], None)?
    } else {
        let base = format!("--merge-base={sha}");
        git::git(
            gd,
            &["merge-tree", "--write-tree", &base, &head, &parent],
            None,
        )
        .map_err(|e| format!("the revert does not apply cleanly: {e}"))?
    };
    let text = match message {
        Some(m) => m.to_string(),
        None => format!("Revert \"{subject}\"\n\nThis reverts commit {sha}.\n"),
    };
    let new = git::git_as(
        gd,
        by,
        &["commit-tree", &tree, "-p", &head, "-F", "-"],
        Some(&text),
    )?;
    git::git(
        gd,
        &["update-ref", &format!("refs/heads/{branch}"), &new],
        None,
    )?;
    Ok(new)
}
