//! Pull requests: list, one, opening one from a branch that exists, and
//! editing one (its title, body, or closing and reopening it).

use super::{not_found, paged, shapes};
use crate::err;
use crate::http::{Reply, Request};
use crate::model::Forge;
use crate::seed::OpenPull;
use serde_json::Value;

/// `/repos/{full}/pulls<tail>`: `GET`, `POST`, `GET /{n}`.
pub(super) fn serve(f: &mut Forge, req: &Request, full: &str, tail: &[&str]) -> Reply {
    match (req.method.as_str(), tail) {
        ("GET", []) => list(f, req, full),
        ("GET", [idx]) => one(f, full, idx),
        ("POST", []) => open(f, req, full),
        ("PATCH", [idx]) => edit(f, req, full, idx),
        _ => not_found(),
    }
}

fn list(f: &Forge, req: &Request, full: &str) -> Reply {
    let repo = &f.repos[full];
    let state = req.q("state").unwrap_or("open");
    let items: Vec<Value> = repo
        .issues
        .values()
        .rev()
        .filter(|i| i.pull && (state == "all" || i.state == state))
        .map(|i| shapes::pull(f, repo, i))
        .collect();
    paged(f, req, items, super::Ends::Linked)
}

fn one(f: &Forge, full: &str, idx: &str) -> Reply {
    let Ok(n) = idx.parse::<u64>() else {
        return not_found();
    };
    let repo = &f.repos[full];
    match repo.issues.get(&n).filter(|i| i.pull) {
        Some(i) => Reply::json(200, &shapes::pull(f, repo, i)),
        None => err(404, "pull request does not exist"),
    }
}

/// `{head, title, body}` into `main`; one open pull request per head branch.
fn open(f: &mut Forge, req: &Request, full: &str) -> Reply {
    let b = req.json().unwrap_or(Value::Null);
    let (Some(head), Some(title)) = (b["head"].as_str(), b["title"].as_str()) else {
        return err(422, "head and title are required");
    };
    match f.open_pull(full, head, title, b["body"].as_str().unwrap_or("")) {
        Ok(n) => {
            let r = &f.repos[full];
            Reply::json(201, &shapes::pull(f, r, &r.issues[&n]))
        }
        Err(OpenPull::NoBranch) => err(422, "head branch does not exist"),
        Err(OpenPull::Exists) => err(409, "pull request already exists for these targets"),
        Err(OpenPull::Other(e)) => err(422, &e),
    }
}

/// `PATCH /repos/{full}/pulls/{n}` with `{state?, title?, body?}`: a merged
/// pull request's state cannot change.
fn edit(f: &mut Forge, req: &Request, full: &str, idx: &str) -> Reply {
    let Ok(n) = idx.parse::<u64>() else {
        return not_found();
    };
    let b = req.json().unwrap_or(Value::Null);
    let Some(i) = f
        .repos
        .get_mut(full)
        .and_then(|r| r.issues.get_mut(&n))
        .filter(|i| i.pull)
    else {
        return err(404, "pull request does not exist");
    };
    // Gitea's `EditPullRequest`: an unknown state, and any state at all on
    // a merged pull request, are 412
    match b["state"].as_str() {
        Some(_) if i.merged => {
            return err(
                412,
                "cannot change state of this pull request, it was already merged",
            );
        }
        Some(s @ ("open" | "closed")) => i.set_state(s),
        Some(s) => return err(412, &format!("unknown state: {s}")),
        None => {}
    }
    if let Some(t) = b["title"].as_str() {
        i.title = t.to_string();
    }
    if let Some(t) = b["body"].as_str() {
        i.body = t.to_string();
    }
    let r = &f.repos[full];
    Reply::json(201, &shapes::pull(f, r, &r.issues[&n]))
}
