//! A repository's labels, and the labels on an issue (changed as afk's account,
//! each change a timeline event).

use super::{no_content, not_found, paged, shapes};
use crate::err;
use crate::http::{Reply, Request};
use crate::model::Forge;

/// `GET` or `POST` (`{name}`) `/repos/{full}/labels`
pub(super) fn of_repo(f: &mut Forge, req: &Request, full: &str) -> Reply {
    let base = f.base.clone();
    match req.method.as_str() {
        "GET" => {
            let items = f.repos[full]
                .labels
                .iter()
                .map(|(id, n)| shapes::label(&base, full, *id, n))
                .collect();
            paged(req, items)
        }
        "POST" => {
            let Some(n) = req
                .json()
                .and_then(|v| v["name"].as_str().map(str::to_string))
            else {
                return err(422, "name is required");
            };
            if f.repos[full].labels.iter().any(|(_, l)| *l == n) {
                return err(409, "label exists");
            }
            let id = f.id();
            f.repos.get_mut(full).unwrap().labels.push((id, n.clone()));
            Reply::json(201, &shapes::label(&base, full, id, &n))
        }
        _ => not_found(),
    }
}

/// `/repos/{full}/issues/{n}/labels<rest>`: `GET`, `POST {labels: [id]}`, `DELETE /{id}`.
pub(super) fn of_issue(f: &mut Forge, req: &Request, full: &str, n: u64, rest: &[&str]) -> Reply {
    match (req.method.as_str(), rest) {
        ("GET", []) => current(f, full, n),
        ("POST", []) => add(f, req, full, n),
        ("DELETE", [id]) => remove(f, full, n, id),
        _ => not_found(),
    }
}

fn current(f: &Forge, full: &str, n: u64) -> Reply {
    let r = &f.repos[full];
    let v = shapes::issue(f, r, &r.issues[&n]);
    Reply::json(200, &v["labels"])
}

/// Every id must name a label of the repo, or nothing is added.
fn add(f: &mut Forge, req: &Request, full: &str, n: u64) -> Reply {
    let ids: Vec<i64> = req
        .json()
        .and_then(|v| v["labels"].as_array().cloned())
        .unwrap_or_default()
        .iter()
        .filter_map(|x| x.as_i64())
        .collect();
    let labels = &f.repos[full].labels;
    let names: Vec<String> = ids
        .iter()
        .filter_map(|id| labels.iter().find(|(l, _)| l == id).map(|(_, n)| n.clone()))
        .collect();
    if names.len() != ids.len() || ids.is_empty() {
        return err(422, "label does not exist");
    }
    let me = f.me.clone();
    for name in names {
        let _ = f.label(full, n, &name, &me, true);
    }
    current(f, full, n)
}

fn remove(f: &mut Forge, full: &str, n: u64, id: &str) -> Reply {
    let Ok(id) = id.parse::<i64>() else {
        return not_found();
    };
    let name = f.repos[full]
        .labels
        .iter()
        .find(|(l, _)| *l == id)
        .map(|(_, n)| n.clone());
    // a label id the repository no longer has: Gitea's 422
    // (`IsErrLabelNotExist` in routers/api/v1/repo/issue_label.go)
    let Some(name) = name else {
        return err(422, &format!("label does not exist [label_id: {id}]"));
    };
    let me = f.me.clone();
    let _ = f.label(full, n, &name, &me, false);
    no_content()
}
