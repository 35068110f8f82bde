//! Pull requests: the list (`pull-request-simple`: no `merged`, only
//! `merged_at`), one (`pull-request`), and opening one from a branch.

use super::{invalid, not_found, paged, shapes};
use crate::http::{Reply, Request};
use crate::model::Forge;
use crate::seed::OpenPull;
use serde_json::{Value, json};

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

/// `PATCH /pulls/{n}` (`state`, `title`, `body`): 200 with the pull request.
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
        return not_found();
    };
    match b["state"].as_str() {
        Some(s @ ("open" | "closed")) => {
            if i.merged && s == "open" {
                return invalid("PullRequest", "invalid", "state");
            }
            i.set_state(s);
        }
        Some(_) => return invalid("PullRequest", "invalid", "state"),
        None => {}
    }
    if let Some(t) = b["title"].as_str() {
        i.title = t.to_string();
    }
    if let Some(t) = b["body"].as_str() {
        i.body = t.to_string();
    }
    let r = &f.repos[full];
    Reply::json(200, &shapes::pull(f, r, &r.issues[&n], true))
}

/// `?state&head=owner:branch&base&direction`, newest first.
fn list(f: &Forge, req: &Request, full: &str) -> Reply {
    let repo = &f.repos[full];
    let state = req.q("state").unwrap_or("open");
    let head = req
        .q("head")
        .map(|h| h.split_once(':').map(|(_, b)| b).unwrap_or(h));
    let base = req.q("base");
    let mut items: Vec<Value> = repo
        .issues
        .values()
        .rev()
        .filter(|i| i.pull && (state == "all" || i.state == state))
        .filter(|i| head.is_none_or(|h| i.head.as_deref() == Some(h)))
        .filter(|i| base.is_none_or(|b| i.base == b))
        .map(|i| shapes::pull(f, repo, i, false))
        .collect();
    if req.q("direction") == Some("asc") {
        items.reverse();
    }
    paged(f, req, items)
}

fn one(f: &Forge, full: &str, idx: &str) -> Reply {
    let Ok(n) = idx.parse::<u64>() else {
        return not_found();
    };
    let repo = &f.repos[full];
    match repo.issues.get(&n).filter(|i| i.pull) {
        Some(i) => Reply::json(200, &shapes::pull(f, repo, i, true)),
        None => not_found(),
    }
}

/// `{head, base, title, body}`: the head branch must exist; one open pull
/// request per head (422 otherwise, as GitHub says it).
fn open(f: &mut Forge, req: &Request, full: &str) -> Reply {
    let b = req.json().unwrap_or(Value::Null);
    let (Some(head), Some(title), Some(base)) =
        (b["head"].as_str(), b["title"].as_str(), b["base"].as_str())
    else {
        return invalid("PullRequest", "missing_field", "head");
    };
    let head = head.split_once(':').map(|(_, h)| h).unwrap_or(head);
    if base != "main" {
        return invalid("PullRequest", "invalid", "base");
    }
    // a plan without drafts: GitHub's 422, a top-level message and no
    // `errors` (docs/fidelity/github.md)
    if b["draft"] == true && !f.repos[full].drafts {
        return Reply::json(
            422,
            &json!({"message": "Draft pull requests are not supported in this repository.",
                    "documentation_url": "https://docs.github.com/rest/pulls/pulls#create-a-pull-request",
                    "status": "422"}),
        );
    }
    match f.open_pull(full, head, title, b["body"].as_str().unwrap_or("")) {
        Ok(n) => {
            if let Some(i) = f.repos.get_mut(full).and_then(|r| r.issues.get_mut(&n)) {
                i.draft = b["draft"].as_bool().unwrap_or(false);
            }
            let r = &f.repos[full];
            Reply::json(201, &shapes::pull(f, r, &r.issues[&n], true))
        }
        Err(OpenPull::NoBranch) => invalid("PullRequest", "invalid", "head"),
        Err(OpenPull::Exists) => Reply::json(
            422,
            &json!({"message": "Validation Failed", "documentation_url": "https://docs.github.com/rest",
                    "errors": [{"resource": "PullRequest", "code": "custom",
                                "message": format!("A pull request already exists for {head}.")}],
                    "status": "422"}),
        ),
        Err(OpenPull::Other(e)) => super::err(422, &e),
    }
}
