//! Issues (pull requests included, as GitHub lists them), one issue (PATCH
//! answers 200), its timeline and the issues blocking it.

use super::{err, invalid, not_found, paged, shapes};
use crate::http::{Reply, Request};
use crate::model::Forge;
use serde_json::Value;

/// `GET /repos/{full}/issues?state&labels&type&direction`: labels by name, all
/// of them (a name the repo does not have matches nothing); `type` is an
/// issue type, which no sandbox issue has; newest first unless `direction=asc`.
pub(super) fn list(f: &Forge, req: &Request, full: &str) -> Reply {
    if req.method != "GET" {
        return not_found();
    }
    let repo = &f.repos[full];
    let state = req.q("state").unwrap_or("open");
    if !matches!(state, "open" | "closed" | "all") {
        return invalid("Issue", "invalid", "state");
    }
    let wanted: Vec<&str> = req
        .q("labels")
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    let typed = req.q("type").is_some_and(|t| !t.is_empty() && t != "none");
    let has = |i: &crate::model::Issue, name: &str| {
        i.labels.iter().any(|id| {
            repo.labels
                .iter()
                .any(|(l, n)| l == id && n.eq_ignore_ascii_case(name))
        })
    };
    let mut items: Vec<Value> = repo
        .issues
        .values()
        .rev()
        .filter(|i| state == "all" || i.state == state)
        .filter(|_| !typed)
        .filter(|i| wanted.iter().all(|w| has(i, w)))
        .map(|i| shapes::issue(f, repo, i))
        .collect();
    if req.q("direction") == Some("asc") {
        items.reverse();
    }
    paged(f, req, items)
}

/// `GET` or `PATCH` (`state`, `state_reason`, `title`, `body`) `/repos/{full}/issues/{n}`;
/// a title change is a `renamed` event by afk's account.
pub(super) fn one(f: &mut Forge, req: &Request, full: &str, n: u64) -> Reply {
    match req.method.as_str() {
        "GET" => {}
        "PATCH" => {
            let b = req.json().unwrap_or(Value::Null);
            if let Some(st) = b.get("state").and_then(Value::as_str) {
                if st != "open" && st != "closed" {
                    return invalid("Issue", "invalid", "state");
                }
                let reason = b.get("state_reason").and_then(Value::as_str);
                if let Some(r) = reason
                    && !["completed", "not_planned", "duplicate", "reopened"].contains(&r)
                {
                    return invalid("Issue", "invalid", "state_reason");
                }
                let key = (full.to_string(), n);
                match (st, reason) {
                    ("closed", Some(r)) => {
                        f.gh.state_reasons.insert(key, r.to_string());
                    }
                    _ => {
                        f.gh.state_reasons.remove(&key);
                    }
                }
                let i = f.repos.get_mut(full).unwrap().issues.get_mut(&n).unwrap();
                i.set_state(st);
            }
            if let Some(t) = b.get("title").and_then(Value::as_str) {
                let me = f.me.clone();
                if let Err(e) = f.rename(full, n, t, &me) {
                    return err(422, &e);
                }
            }
            if let Some(body) = b.get("body").and_then(Value::as_str) {
                f.repos
                    .get_mut(full)
                    .unwrap()
                    .issues
                    .get_mut(&n)
                    .unwrap()
                    .body = body.to_string();
            }
        }
        _ => return not_found(),
    }
    let r = &f.repos[full];
    Reply::json(200, &shapes::issue(f, r, &r.issues[&n]))
}

/// `GET /repos/{full}/issues/{n}/timeline`: label events and renames with
/// their actor, and comments, oldest first.
pub(super) fn timeline(f: &Forge, req: &Request, full: &str, n: u64) -> Reply {
    if req.method != "GET" {
        return not_found();
    }
    let r = &f.repos[full];
    let mut items: Vec<(i64, Value)> = r.issues[&n]
        .timeline
        .iter()
        .map(|ev| (ev.id, shapes::label_event(f, full, ev)))
        .collect();
    items.extend(
        r.issues[&n]
            .renames
            .iter()
            .map(|ev| (ev.id, shapes::rename_event(f, full, ev))),
    );
    items.extend(
        f.comments
            .values()
            .filter(|c| c.repo == full && c.issue == n)
            .map(|c| (c.id, shapes::comment_event(f, r, c))),
    );
    items.sort_by_key(|(id, _)| *id);
    paged(f, req, items.into_iter().map(|(_, v)| v).collect())
}

/// `GET /repos/{full}/issues/{n}/dependencies/blocked_by`: 404 when the repo
/// has dependencies off.
pub(super) fn blocked_by(f: &Forge, req: &Request, full: &str, n: u64) -> Reply {
    if req.method != "GET" {
        return not_found();
    }
    let r = &f.repos[full];
    if !r.deps_enabled {
        return not_found();
    }
    let items = r.issues[&n]
        .deps
        .iter()
        .filter_map(|d| r.issues.get(d))
        .map(|i| shapes::issue(f, r, i))
        .collect();
    paged(f, req, items)
}
