//! Issues (pull requests included, as Gitea lists them), an issue's timeline
//! and its dependencies.

use super::{not_found, paged, shapes};
use crate::err;
use crate::http::{Reply, Request};
use crate::model::Forge;
use serde_json::{Value, json};

/// `GET /repos/{full}/issues?state&type&labels`
pub(super) fn list(f: &Forge, req: &Request, full: &str) -> Reply {
    if req.method != "GET" {
        return not_found();
    }
    let repo = &f.repos[full];
    let state = req.q("state").unwrap_or("open");
    let kind = req.q("type").unwrap_or("");
    // like Gitea: label names are resolved among the repository's own
    // labels only (`GetLabelIDsInRepoByNames`); one that names none, an
    // organisation label's among them, is dropped from the filter
    let wanted: Vec<i64> = req
        .q("labels")
        .unwrap_or("")
        .split(',')
        .filter(|s| !s.is_empty())
        .filter_map(|n| {
            repo.labels
                .iter()
                .find(|(id, l)| l == n && !repo.org_labels.contains(id))
                .map(|(id, _)| *id)
        })
        .collect();
    let items: Vec<Value> = repo
        .issues
        .values()
        .rev()
        .filter(|i| state == "all" || i.state == state)
        .filter(|i| match kind {
            "issues" => !i.pull,
            "pulls" => i.pull,
            _ => true,
        })
        .filter(|i| wanted.iter().all(|w| i.labels.contains(w)))
        .map(|i| shapes::issue(f, repo, i))
        .collect();
    paged(f, req, items, super::Ends::Linked)
}

/// `GET` (conditional: `ETag` / 304) or `PATCH` (state, title, body) `/repos/{full}/issues/{n}`
pub(super) fn one(f: &mut Forge, req: &Request, full: &str, n: u64) -> Reply {
    let status = match req.method.as_str() {
        "GET" => 200,
        "PATCH" => {
            let b = req.json().unwrap_or(Value::Null);
            if let Some(st) = b["state"].as_str() {
                // another state is Gitea's 412, as is closing an issue whose
                // dependencies are open (`EditIssue`, `DependenciesLeft`)
                if st != "open" && st != "closed" {
                    return err(412, "unknown state");
                }
                let r = &f.repos[full];
                if st == "closed"
                    && r.deps_enabled
                    && r.issues[&n]
                        .deps
                        .iter()
                        .any(|d| r.issues.get(d).is_some_and(|x| x.state == "open"))
                {
                    return err(
                        412,
                        "cannot close this issue because it still has open dependencies",
                    );
                }
                let i = f.repos.get_mut(full).unwrap().issues.get_mut(&n).unwrap();
                i.set_state(st);
            }
            let i = f.repos.get_mut(full).unwrap().issues.get_mut(&n).unwrap();
            if let Some(t) = b["title"].as_str() {
                i.title = t.to_string();
            }
            if let Some(body) = b["body"].as_str() {
                i.body = body.to_string();
            }
            201
        }
        _ => return not_found(),
    };
    let r = &f.repos[full];
    crate::routes::conditional(
        req,
        Reply::json(status, &shapes::issue(f, r, &r.issues[&n])),
    )
}

/// `GET /repos/{full}/issues/{n}/timeline`: label events and comments, by id.
pub(super) fn timeline(f: &Forge, req: &Request, full: &str, n: u64) -> Reply {
    if req.method != "GET" {
        return not_found();
    }
    let base = &f.base;
    let mut items: Vec<Value> = f.repos[full].issues[&n]
        .timeline
        .iter()
        .map(|ev| shapes::label_event(base, full, n, ev))
        .collect();
    items.extend(
        f.repos[full].issues[&n]
            .renames
            .iter()
            .map(|ev| shapes::rename_event(base, full, n, ev)),
    );
    items.extend(
        f.comments
            .values()
            .filter(|c| c.repo == full && c.issue == n)
            .map(|c| shapes::comment_event(base, c)),
    );
    // an entry afk's account may not see takes its place in the page and is
    // dropped after, as Gitea filters a page it has read
    items.extend(
        f.repos[full].issues[&n]
            .hidden
            .iter()
            .map(|id| json!({"id": id, "hidden": true})),
    );
    // an entry Gitea cannot convert is a `null` element of its page
    items.extend(
        f.repos[full].issues[&n]
            .broken
            .iter()
            .map(|id| json!({"id": id, "broken": true})),
    );
    items.sort_by_key(|v| v["id"].as_i64().unwrap_or(0));
    timeline_page(req, items)
}

/// `POST /_admin/gitea/depend {repo, issue, on}`: issue `issue` comes to
/// depend on issue `on` of the same repository, as a person adds a
/// dependency in Gitea's UI.
pub(crate) fn depend(f: &mut Forge, body: &Value) -> Reply {
    let repo = body["repo"].as_str().unwrap_or("");
    let (n, on) = (
        body["issue"].as_u64().unwrap_or(0),
        body["on"].as_u64().unwrap_or(0),
    );
    let Some(r) = f.repos.get_mut(repo) else {
        return err(400, "no such repository");
    };
    if !r.issues.contains_key(&on) {
        return err(400, "no such issue to depend on");
    }
    match r.issues.get_mut(&n) {
        Some(i) => {
            i.deps.push(on);
            i.gitea_deps = true;
            if body["hidden"].as_bool() == Some(true) {
                i.hidden_deps.push(on);
            }
            Reply::json(200, &json!({"ok": true}))
        }
        None => err(400, "no such issue"),
    }
}

/// `POST /_admin/hidden_refs` and `/_admin/gitea/broken` `{repo, issue,
/// count = 1}`: timeline entries afk's account cannot read
/// (`Forge::timeline_gaps`).
pub(crate) fn gaps(f: &mut Forge, body: &Value, gap: crate::model::labels::Gap) -> Reply {
    let repo = body["repo"].as_str().unwrap_or("");
    let n = body["issue"].as_u64().unwrap_or(0);
    match f.timeline_gaps(repo, n, body["count"].as_u64().unwrap_or(1), gap) {
        Ok(()) => Reply::json(200, &json!({"ok": true})),
        Err(e) => err(400, &e),
    }
}

/// One page of a timeline as Gitea answers it
/// (routers/api/v1/repo/issue_comment.go, ListIssueCommentsAndTimeline):
/// `var apiComments []*api.TimelineComment` filled by `append`, then
/// `ctx.SetTotalCountHeader(int64(len(apiComments)))` and
/// `ctx.JSON(http.StatusOK, &apiComments)`. So no `Link` header, an
/// `X-Total-Count` that counts this page only, and `null`, not `[]`, for a
/// page with nothing on it (a page past the end among them).
fn timeline_page(req: &Request, items: Vec<Value>) -> Reply {
    let limit = req.positive("limit").unwrap_or(30).min(50);
    let page = req.positive("page").unwrap_or(1);
    let slice: Vec<Value> = items
        .into_iter()
        .skip((page - 1) * limit)
        .take(limit)
        .filter(|v| v["hidden"] != true)
        .map(|v| if v["broken"] == true { Value::Null } else { v })
        .collect();
    let n = slice.len().to_string();
    let body = if slice.is_empty() {
        Value::Null
    } else {
        Value::Array(slice)
    };
    Reply::json(200, &body).with_header("X-Total-Count", &n)
}

/// `GET /repos/{full}/issues/{n}/dependencies`: 404 when the repo has them off.
pub(super) fn dependencies(f: &Forge, req: &Request, full: &str, n: u64) -> Reply {
    if req.method != "GET" {
        return not_found();
    }
    let r = &f.repos[full];
    if !r.deps_enabled {
        return err(404, "dependencies are disabled for this repository");
    }
    let issue = &r.issues[&n];
    let items = issue
        .deps
        .iter()
        .filter_map(|d| match issue.hidden_deps.contains(d) {
            true => Some(hidden_blocker()),
            false => r.issues.get(d).map(|i| shapes::issue(f, r, i)),
        })
        .collect();
    paged(f, req, items, super::Ends::Bare)
}

/// A blocker afk's account may not read, as Gitea answers it to an account
/// without write on the blocked issue's repository: an `Issue` holding
/// only the title `HIDDEN` and no repository, which `ToAPIIssue` cannot
/// load and answers as an empty issue, every field its zero value
/// (`routers/api/v1/repo/issue_dependency.go GetIssueDependencies`,
/// `services/convert/issue.go toIssue`).
fn hidden_blocker() -> Value {
    json!({"id": 0, "url": "", "html_url": "", "number": 0, "user": null,
           "original_author": "", "original_author_id": 0, "title": "", "body": "",
           "ref": "", "assets": null, "labels": null, "milestone": null, "assignee": null,
           "assignees": null, "state": "", "is_locked": false, "comments": 0,
           "created_at": "0001-01-01T00:00:00Z", "updated_at": "0001-01-01T00:00:00Z",
           "closed_at": null, "due_date": null, "pull_request": null, "repository": null,
           "pin_order": 0})
}
