//! A repository's labels, and the labels on an issue by name (changed as
//! afk's account, each change a timeline event).

use super::{invalid, not_found, paged, shapes};
use crate::http::{Reply, Request};
use crate::model::Forge;
use serde_json::Value;

/// `GET` or `POST` (`{name, color}`) `/repos/{full}/labels`
pub(super) fn of_repo(f: &mut Forge, req: &Request, full: &str) -> Reply {
    match req.method.as_str() {
        "GET" => {
            let items = f.repos[full]
                .labels
                .iter()
                .map(|(id, n)| shapes::label(f, full, *id, n))
                .collect();
            paged(f, req, items)
        }
        "POST" => {
            let Some(n) = req
                .json()
                .and_then(|v| v["name"].as_str().map(str::to_string))
            else {
                return invalid("Label", "missing_field", "name");
            };
            if f.repos[full]
                .labels
                .iter()
                .any(|(_, l)| l.eq_ignore_ascii_case(&n))
            {
                return invalid("Label", "already_exists", "name");
            }
            let id = f.id();
            f.repos.get_mut(full).unwrap().labels.push((id, n.clone()));
            Reply::json(201, &shapes::label(f, full, id, &n))
        }
        _ => not_found(),
    }
}

/// `/repos/{full}/issues/{n}/labels[/{name}]`: `GET`, `POST {labels: [name]}`
/// (or a bare list; a name the repo lacks is created, as GitHub does),
/// `DELETE /{name}` (404 when the issue does not carry it).
pub(super) fn of_issue(f: &mut Forge, req: &Request, full: &str, n: u64, name: &str) -> Reply {
    match (req.method.as_str(), name.is_empty()) {
        ("GET", true) => current(f, req, full, n),
        ("POST", true) => add(f, req, full, n),
        ("DELETE", false) => remove(f, req, full, n, name),
        _ => not_found(),
    }
}

fn current(f: &Forge, req: &Request, full: &str, n: u64) -> Reply {
    let r = &f.repos[full];
    let v = shapes::issue(f, r, &r.issues[&n]);
    match req.method.as_str() {
        "GET" => paged(f, req, v["labels"].as_array().cloned().unwrap_or_default()),
        _ => Reply::json(200, &v["labels"]),
    }
}

fn add(f: &mut Forge, req: &Request, full: &str, n: u64) -> Reply {
    let body = req.json().unwrap_or(Value::Null);
    let list = match &body {
        Value::Array(a) => a.clone(),
        v => v["labels"].as_array().cloned().unwrap_or_default(),
    };
    let names: Vec<String> = list
        .iter()
        .filter_map(|x| {
            x.as_str()
                .or_else(|| x["name"].as_str())
                .map(str::to_string)
        })
        .collect();
    if names.is_empty() || names.len() != list.len() {
        return invalid("Label", "invalid", "labels");
    }
    let me = f.me.clone();
    for name in names {
        let existing = f.repos[full]
            .labels
            .iter()
            .find(|(_, l)| l.eq_ignore_ascii_case(&name))
            .map(|(_, l)| l.clone());
        let name = match existing {
            Some(l) => l,
            None => {
                let id = f.id();
                f.repos
                    .get_mut(full)
                    .unwrap()
                    .labels
                    .push((id, name.clone()));
                name
            }
        };
        let _ = f.label(full, n, &name, &me, true);
    }
    current(f, req, full, n)
}

fn remove(f: &mut Forge, req: &Request, full: &str, n: u64, name: &str) -> Reply {
    let r = &f.repos[full];
    let carried = r
        .labels
        .iter()
        .find(|(id, l)| l.eq_ignore_ascii_case(name) && r.issues[&n].labels.contains(id))
        .map(|(_, l)| l.clone());
    let Some(name) = carried else {
        return super::err(404, "Label does not exist");
    };
    let me = f.me.clone();
    let _ = f.label(full, n, &name, &me, false);
    current(f, req, full, n)
}
