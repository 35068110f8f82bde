//! CI on a commit: its combined status, its check runs, and new statuses
//! (`POST` only: GitHub has no `GET /statuses/{sha}`).

use super::{invalid, not_found, paged, shapes};
use crate::git;
use crate::http::{Reply, Request};
use crate::model::{Forge, Status};
use serde_json::Value;

/// A branch name or a sha.
fn resolve(f: &Forge, full: &str, reference: &str) -> String {
    git::head(&f.git_dir(full), reference).unwrap_or_else(|| reference.to_string())
}

/// `GET /repos/{full}/commits/{reference}/status`
pub(super) fn combined(f: &Forge, req: &Request, full: &str, reference: &str) -> Reply {
    if req.method != "GET" {
        return not_found();
    }
    let sha = resolve(f, full, reference);
    Reply::json(200, &shapes::combined(f, &f.repos[full], &sha))
}

/// `GET /repos/{full}/commits/{reference}/check-runs?check_name&status&filter`:
/// `filter=latest` (the default) keeps the newest run of each name.
pub(super) fn check_runs(f: &Forge, req: &Request, full: &str, reference: &str) -> Reply {
    if req.method != "GET" {
        return not_found();
    }
    let sha = resolve(f, full, reference);
    let all =
        f.gh.check_runs
            .get(&(full.to_string(), sha.clone()))
            .map(Vec::as_slice)
            .unwrap_or_default();
    let latest = req.q("filter").unwrap_or("latest") != "all";
    let mut runs: Vec<&crate::model::CheckRun> = vec![];
    for c in all.iter().rev() {
        if latest && runs.iter().any(|r| r.name == c.name) {
            continue;
        }
        runs.push(c);
    }
    let items: Vec<Value> = runs
        .into_iter()
        .filter(|c| req.q("check_name").is_none_or(|n| c.name == n))
        .filter(|c| req.q("status").is_none_or(|s| c.status == s))
        .map(|c| shapes::check_run(f, full, &sha, c))
        .collect();
    // the list comes wrapped, and is paged like any other
    let total = items.len();
    match paged(f, req, items) {
        Reply::Send {
            status,
            headers,
            body,
        } => {
            let page: Value = serde_json::from_slice(&body).unwrap_or_default();
            Reply::Send {
                status,
                headers,
                body: serde_json::to_vec(
                    &serde_json::json!({"total_count": total, "check_runs": page}),
                )
                .unwrap_or_default(),
            }
        }
        other => other,
    }
}

/// `POST /repos/{full}/statuses/{sha}` `{state, target_url, description, context}`
pub(super) fn create(f: &mut Forge, req: &Request, full: &str, sha: &str) -> Reply {
    if req.method != "POST" {
        return not_found();
    }
    let b = req.json().unwrap_or(Value::Null);
    let state = b["state"].as_str().unwrap_or("");
    if !["error", "failure", "pending", "success"].contains(&state) {
        return invalid("Status", "invalid", "state");
    }
    let text = |k: &str, d: &str| b[k].as_str().unwrap_or(d).to_string();
    let status = Status {
        id: 0,
        state: state.into(),
        context: text("context", "default"),
        target_url: text("target_url", ""),
        description: text("description", ""),
        creator: f.me.clone(),
        updated_at: String::new(),
    };
    if let Err(e) = f.push_status(full, sha, status) {
        return super::err(422, &e);
    }
    let s = f.statuses(full, sha).last().expect("just added");
    Reply::json(201, &shapes::status(f, full, sha, s))
}
