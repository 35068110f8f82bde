//! Issues by `iid`: the list (`state`, `labels`, `sort`), a new one, one
//! issue and its `PUT` (`add_labels`/`remove_labels` each a label event,
//! `labels` a replacement, `state_event`, `title` and `description` each a
//! system note), its label events (merge requests' too) and its links.

use super::{err, missing, no_route, paged, param, shapes};
use crate::http::{Reply, Request};
use crate::model::{Forge, Issue};
use crate::seed::SeedIssue;
use serde_json::{Value, json};

/// Names from a comma-separated parameter.
fn names(s: &str) -> Vec<String> {
    s.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// Whether `i` carries label `name` (any case).
pub(super) fn has_label(r: &crate::model::Repo, i: &Issue, name: &str) -> bool {
    i.labels.iter().any(|id| {
        r.labels
            .iter()
            .any(|(l, n)| l == id && n.eq_ignore_ascii_case(name))
    })
}

/// The items of `full` a list asks for: `state` (`opened`, `closed`, `merged`
/// for merge requests, `all`), `labels` (every one named; `None`: none,
/// `Any`: some), newest first unless `sort=asc`.
pub(super) fn filtered<'a>(
    f: &'a Forge,
    req: &Request,
    full: &str,
    pull: bool,
) -> Result<Vec<&'a Issue>, Reply> {
    let r = &f.repos[full];
    let state = req.q("state").unwrap_or("all");
    if !matches!(state, "opened" | "closed" | "all" | "merged" | "locked") {
        return Err(Reply::json(
            400,
            &json!({"error": "state does not have a valid value"}),
        ));
    }
    let labels = req.q("labels").map(names).unwrap_or_default();
    let mut items: Vec<&Issue> = r
        .issues
        .values()
        .rev()
        .filter(|i| i.pull == pull)
        .filter(|i| match state {
            "opened" => i.state == "open",
            "closed" => i.state != "open" && !i.merged,
            "merged" => i.merged,
            "locked" => false,
            _ => true,
        })
        .filter(|i| match labels.as_slice() {
            [one] if one.eq_ignore_ascii_case("none") => i.labels.is_empty(),
            [one] if one.eq_ignore_ascii_case("any") => !i.labels.is_empty(),
            wanted => wanted.iter().all(|w| has_label(r, i, w)),
        })
        .collect();
    if req.q("sort") == Some("asc") {
        items.reverse();
    }
    Ok(items)
}

/// `GET /projects/:id/issues` or `POST` a new one (`title`, `description`,
/// `labels`) as afk's account.
pub(super) fn list_or_open(f: &mut Forge, req: &Request, full: &str) -> Reply {
    if req.method == "POST" {
        let Some(title) = param(req, "title") else {
            return missing("title");
        };
        let seed = SeedIssue {
            title,
            body: param(req, "description").unwrap_or_default(),
            labels: param(req, "labels").map(|l| names(&l)).unwrap_or_default(),
            author: Some(f.me.clone()),
            ..Default::default()
        };
        for l in &seed.labels {
            ensure_label(f, full, l);
        }
        return match f.add_issue(full, seed) {
            Ok(n) => {
                let r = &f.repos[full];
                Reply::json(201, &shapes::issue(f, r, &r.issues[&n]))
            }
            Err(e) => err(400, &e),
        };
    }
    let items = match filtered(f, req, full, false) {
        Ok(items) => items,
        Err(reply) => return reply,
    };
    let r = &f.repos[full];
    let items = items.into_iter().map(|i| shapes::issue(f, r, i)).collect();
    paged(f, req, items)
}

/// A label `add_labels` names exists afterwards: GitLab makes a missing one.
fn ensure_label(f: &mut Forge, full: &str, name: &str) -> String {
    if let Some((_, n)) = f.repos[full]
        .labels
        .iter()
        .find(|(_, n)| n.eq_ignore_ascii_case(name))
    {
        return n.clone();
    }
    let id = f.id();
    f.repos
        .get_mut(full)
        .unwrap()
        .labels
        .push((id, name.to_string()));
    name.to_string()
}

/// `GET` or `PUT /projects/:id/issues/:iid`.
pub(super) fn one(f: &mut Forge, req: &Request, full: &str, n: u64) -> Reply {
    if req.method == "PUT"
        && let Err(reply) = edit(f, req, full, n)
    {
        return reply;
    }
    let r = &f.repos[full];
    Reply::json(200, &shapes::issue(f, r, &r.issues[&n]))
}

/// The changes a `PUT` of an issue (or merge request) asks for, as afk's
/// account: labels added and removed one event each, the state, the title
/// and description with GitLab's system notes.
pub(super) fn edit(f: &mut Forge, req: &Request, full: &str, n: u64) -> Result<(), Reply> {
    let me = f.me.clone();
    let label = |f: &mut Forge, name: &str, add: bool| {
        f.label(full, n, name, &me, add).map_err(|e| err(400, &e))
    };
    if let Some(all) = param(req, "labels") {
        let wanted = names(&all);
        let had: Vec<String> = {
            let r = &f.repos[full];
            r.issues[&n]
                .labels
                .iter()
                .filter_map(|id| r.labels.iter().find(|(l, _)| l == id))
                .map(|(_, name)| name.clone())
                .collect()
        };
        for h in had.iter().filter(|h| !wanted.contains(h)) {
            label(f, h, false)?;
        }
        for w in &wanted {
            let w = ensure_label(f, full, w);
            label(f, &w, true)?;
        }
    }
    for name in param(req, "add_labels")
        .map(|l| names(&l))
        .unwrap_or_default()
    {
        let name = ensure_label(f, full, &name);
        label(f, &name, true)?;
    }
    for name in param(req, "remove_labels")
        .map(|l| names(&l))
        .unwrap_or_default()
    {
        let known = f.repos[full]
            .labels
            .iter()
            .find(|(_, l)| l.eq_ignore_ascii_case(&name))
            .map(|(_, l)| l.clone());
        if let Some(name) = known {
            label(f, &name, false)?;
        }
    }
    match param(req, "state_event").as_deref() {
        None => {}
        Some(ev @ ("close" | "reopen")) => {
            let at = f.stamp();
            let i = f.repos.get_mut(full).unwrap().issues.get_mut(&n).unwrap();
            if i.merged {
                return Err(err(405, "405 Method Not Allowed"));
            }
            i.set_state(if ev == "close" { "closed" } else { "open" });
            i.updated_at = Some(at);
        }
        Some(_) => {
            return Err(Reply::json(
                400,
                &json!({"error": "state_event does not have a valid value"}),
            ));
        }
    }
    if let Some(t) = param(req, "title")
        && t != f.repos[full].issues[&n].title
    {
        f.rename(full, n, &t, &me).map_err(|e| err(400, &e))?;
    }
    if let Some(d) = param(req, "description")
        && d != f.repos[full].issues[&n].body
    {
        let at = f.stamp();
        let i = f.repos.get_mut(full).unwrap().issues.get_mut(&n).unwrap();
        let note = Forge::description_note(&i.body, &d);
        i.body = d;
        i.updated_at = Some(at);
        f.system_note(full, n, &note, &me);
    }
    Ok(())
}

/// `GET .../issues/:iid/resource_label_events` (and a merge request's):
/// oldest first, each with its user, label and `add` or `remove`.
pub(super) fn label_events(f: &Forge, req: &Request, full: &str, n: u64) -> Reply {
    let i = &f.repos[full].issues[&n];
    let items = i
        .timeline
        .iter()
        .map(|ev| shapes::label_event(f, i, ev))
        .collect();
    paged(f, req, items)
}

/// `GET .../issues/:iid/resource_state_events`
/// (`doc/api/resource_state_events.md`): the sandbox keeps no closing or
/// reopening as an event, so none.
pub(super) fn state_events(f: &Forge, req: &Request, _full: &str, _n: u64) -> Reply {
    paged(f, req, vec![])
}

/// `GET .../issues/:iid/resource_milestone_events`
/// (`doc/api/resource_milestone_events.md`): oldest first.
pub(super) fn milestone_events(f: &Forge, req: &Request, full: &str, n: u64) -> Reply {
    let i = &f.repos[full].issues[&n];
    let items =
        f.gl.milestones
            .get(&(full.to_string(), n))
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .map(|(id, who, at, title)| {
                json!({"id": id, "user": shapes::user(f, who), "created_at": at,
                   "resource_type": "Issue", "resource_id": i.id, "action": "add",
                   "milestone": {"id": id, "iid": 1, "title": title, "state": "active"},
                   "state": "active"})
            })
            .collect();
    paged(f, req, items)
}

/// `GET .../issues/:iid/resource_weight_events` and `..._iteration_events`
/// (`doc/api/resource_weight_events.md`, `resource_iteration_events.md`):
/// GitLab Premium's, oldest first. A project that never had one answers
/// 404, as the Community Edition does, where the routes do not exist.
pub(super) fn premium_events(f: &Forge, req: &Request, full: &str, n: u64, kind: &str) -> Reply {
    let i = &f.repos[full].issues[&n];
    let events: Vec<_> =
        f.gl.premium
            .iter()
            .filter(|((r, _), _)| r == full)
            .flat_map(|(_, v)| v)
            .filter(|e| e.0 == kind)
            .collect();
    if events.is_empty() {
        return err(404, "404 Not Found");
    }
    let items =
        f.gl.premium
            .get(&(full.to_string(), n))
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .filter(|e| e.0 == kind)
            .map(|(_, id, who, at, value)| match kind {
                "weight" => json!({"id": id, "user": shapes::user(f, who), "created_at": at,
                               "issue_id": i.id, "weight": value.parse::<i64>().unwrap_or(1),
                               "state": "opened"}),
                _ => json!({"id": id, "user": shapes::user(f, who), "created_at": at,
                        "resource_type": "Issue", "resource_id": i.id, "action": "add",
                        "iteration": {"id": id, "iid": 1, "title": value, "state": 2}}),
            })
            .collect();
    paged(f, req, items)
}

/// `GET .../issues/:iid/links`: the issues it depends on, `is_blocked_by`;
/// a project without blocking links (a seed's `dependencies: false`, as on
/// GitLab Free) answers `403`.
pub(super) fn links(f: &Forge, req: &Request, full: &str, n: u64) -> Reply {
    if req.method != "GET" {
        return no_route();
    }
    let r = &f.repos[full];
    if !r.deps_enabled {
        return err(403, "403 Forbidden");
    }
    let items: Vec<Value> = r.issues[&n]
        .deps
        .iter()
        .filter_map(|d| r.issues.get(d).filter(|i| !i.pull))
        .map(|i| {
            let mut v = shapes::issue(f, r, i);
            v["issue_link_id"] = json!(i.id * 1000 + n as i64);
            v["link_type"] = json!("is_blocked_by");
            v["link_created_at"] = json!(crate::TS);
            v["link_updated_at"] = json!(crate::TS);
            v
        })
        .collect();
    Reply::json(200, &Value::Array(items))
}
