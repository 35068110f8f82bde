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
        // the repository's own labels: never its organisation's
        // (`GetLabelsByRepoID`)
        "GET" => {
            let r = &f.repos[full];
            let items = r
                .labels
                .iter()
                .filter(|(id, _)| !r.org_labels.contains(id))
                .map(|(id, n)| shapes::label(&base, full, *id, n))
                .collect();
            paged(f, req, items, super::Ends::Counted)
        }
        "POST" => {
            let Some(n) = req
                .json()
                .and_then(|v| v["name"].as_str().map(str::to_string))
            else {
                return err(422, "name is required");
            };
            // a name the repository has already is made again: Gitea
            // refuses none (`CreateLabel`), so afk must not ask twice
            let id = f.id();
            f.repos.get_mut(full).unwrap().labels.push((id, n.clone()));
            Reply::json(201, &shapes::label(&base, full, id, &n))
        }
        _ => not_found(),
    }
}

/// `GET /orgs/{org}/labels`: the organisation's labels, every page; an
/// owner of no repository here is no organisation: 404, as Gitea answers a
/// user's name (`GetOrgByName`).
pub(super) fn of_org(f: &Forge, req: &Request, org: &str) -> Reply {
    let mut seen: Vec<i64> = vec![];
    let mut items = vec![];
    let mut owns = false;
    for r in f
        .repos
        .values()
        .filter(|r| r.full_name.split('/').next() == Some(org))
    {
        owns = true;
        for (id, n) in r.labels.iter().filter(|(id, _)| r.org_labels.contains(id)) {
            if !seen.contains(id) {
                seen.push(*id);
                items.push(shapes::org_label(&f.base, org, *id, n));
            }
        }
    }
    if !owns {
        return err(404, "org does not exist");
    }
    paged(f, req, items, super::Ends::Counted)
}

/// `POST /_admin/gitea/org-label {repo, label, beside = false}`: the
/// repository's label of that name moved to its owner's organisation, or
/// a new organisation label of that name beside it (`Forge::org_label`).
pub(crate) fn org_label(f: &mut Forge, body: &serde_json::Value) -> Reply {
    let repo = body["repo"].as_str().unwrap_or("");
    let label = body["label"].as_str().unwrap_or("");
    match f.org_label(repo, label, body["beside"].as_bool().unwrap_or(false)) {
        Ok(id) => Reply::json(200, &serde_json::json!({ "id": id })),
        Err(e) => err(400, &e),
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

/// The ids naming a label of the repo are added; any other id is silently
/// ignored, and the answer is 200 with the issue's labels either way
/// (`GetLabelsByIDs` in Gitea's `routers/api/v1/repo/issue_label.go`).
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
    let r = &f.repos[full];
    let name = r
        .labels
        .iter()
        .find(|(l, _)| *l == id)
        .map(|(_, n)| n.clone());
    // a label id the repository no longer has: Gitea's 422
    // (`IsErrLabelNotExist` in routers/api/v1/repo/issue_label.go)
    let Some(name) = name else {
        return err(422, &format!("label does not exist [label_id: {id}]"));
    };
    // that id, never another label of its name; one the issue does not
    // carry is 204 all the same (`deleteIssueLabel`: nothing deleted)
    let org = r.org_labels.contains(&id);
    let me = f.me.clone();
    let _ = f.label_of(full, n, &name, &me, false, Some(org));
    no_content()
}
