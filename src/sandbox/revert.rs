//! `POST /_admin/revert {repo, sha, branch = "main", message?}` → `{sha}`: a
//! person reverting a merge on the base branch, with the message `git revert`
//! writes (`This reverts commit <sha>.`) unless the test gives its own. The
//! new commit undoes the merge's tree when the merge is still the branch head,
//! and otherwise keeps the head's tree (only the message matters to afk).

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
    match make(&f.git_dir(repo), sha, branch, body["message"].as_str()) {
        Ok(new) => Reply::json(200, &json!({"sha": new})),
        Err(e) => err(400, &e),
    }
}

fn make(
    gd: &std::path::Path,
    sha: &str,
    branch: &str,
    message: Option<&str>,
) -> Result<String, String> {
    if sha.is_empty() || sha.starts_with('-') {
        return Err("give the sha of the commit to revert".into());
    }
    let head = git::head(gd, branch).ok_or(format!("no branch {branch}"))?;
    let subject = git::git(gd, &["log", "-1", "--format=%s", sha, "--"], None)?;
    let tree = if head == sha {
        git::git(gd, &["rev-parse", &format!("{sha}^1^{{tree}}")], None)
            .or_else(|_| git::git(gd, &["rev-parse", &format!("{head}^{{tree}}")], None))?
    } else {
        git::git(gd, &["rev-parse", &format!("{head}^{{tree}}")], None)?
    };
    let text = match message {
        Some(m) => m.to_string(),
        None => format!("Revert \"{subject}\"\n\nThis reverts commit {sha}.\n"),
    };
    let new = git::git(
        gd,
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
