//! A branch's commits, `GET /repos/{full}/commits?sha=<branch>`: read from the
//! real bare repository with `git log` (newest first), paged like Gitea, in
//! Gitea's `Commit` shape (sha, commit.message, author/committer dates).

use super::{not_found, paged};
use crate::sandbox::http::{Reply, Request};
use crate::sandbox::model::Forge;
use crate::sandbox::{err, git};
use serde_json::{Value, json};

/// `GET /repos/{full}/commits[?sha=<branch or sha>]` (default: `main`).
pub(super) fn list(f: &Forge, req: &Request, full: &str) -> Reply {
    if req.method != "GET" {
        return not_found();
    }
    let reference = req.q("sha").filter(|s| !s.is_empty()).unwrap_or("main");
    if reference.starts_with('-') || reference.contains("..") {
        return err(422, "invalid reference");
    }
    let gd = f.git_dir(full);
    // fields separated by NUL, commits by RS: messages may hold anything else
    let out = match git::git(
        &gd,
        &[
            "log",
            "--format=%H%x00%aI%x00%cI%x00%B%x1e",
            reference,
            "--",
        ],
        None,
    ) {
        Ok(o) => o,
        Err(_) => return err(404, "sha not found"),
    };
    let base = &f.base;
    let items: Vec<Value> = out
        .split('\u{1e}')
        .map(|c| c.trim_start_matches('\n'))
        .filter(|c| !c.is_empty())
        .filter_map(|c| {
            let mut p = c.splitn(4, '\0');
            let (sha, author, committer, message) = (p.next()?, p.next()?, p.next()?, p.next()?);
            Some(json!({
                "sha": sha,
                "url": format!("{base}/api/v1/repos/{full}/git/commits/{sha}"),
                "html_url": format!("{base}/{full}/commit/{sha}"),
                "created": committer,
                "commit": {
                    "message": message,
                    "author": {"name": "afk sandbox", "email": "sandbox@afk.invalid", "date": author},
                    "committer": {"name": "afk sandbox", "email": "sandbox@afk.invalid", "date": committer},
                },
            }))
        })
        .collect();
    paged(req, items)
}
