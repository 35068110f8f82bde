//! Jira Cloud's REST API v3, the part afk's tracker reads and writes, at
//! `/rest/api/3` beside whichever forge the sandbox speaks: answered as
//! Jira answers (docs/fidelity/jira-cloud.md, each odd answer there with its
//! source): string ids, times with milliseconds and an offset without a
//! colon, the enhanced search paged by `nextPageToken` (absent, never null,
//! on the last page), changelog pages with `isLast`, comment pages with no
//! `isLast`, comment properties only through `POST /comment/list`, labels
//! written by `update` only, a `PUT` answered 204, a missing or unreadable
//! issue 404, Basic auth with the account's email and API token (`401`
//! otherwise, in Jira's `{"message", "status-code"}` shape).
//!
//! The admin API (`/_admin/jira/...`) plays the people: accounts and their
//! groups, issues made (labels given at creation leave no changelog entry),
//! labels added or removed and fields edited by someone (each a changelog
//! entry, with the `historyMetadata` the caller wrote, which Jira keeps and
//! afk must never believe).

use crate::http::{Reply, Request};
use crate::model::jira::{AFK_ACCOUNT, Account, Comment, Issue, Jira};
use serde_json::{Value, json};

/// Jira's error shape: `errorMessages` and an empty `errors`.
pub(super) fn error(status: u16, msg: &str) -> Reply {
    Reply::json(status, &json!({"errorMessages": [msg], "errors": {}}))
}

fn no_content() -> Reply {
    Reply::Send {
        status: 204,
        headers: vec![],
        body: vec![],
    }
}

/// Whether the request carries afk's Basic credential (email and API
/// token) or its OAuth 2.0 access token (`Bearer`).
fn authorised(j: &Jira, req: &Request) -> bool {
    let Some(h) = req.header("authorization") else {
        return false;
    };
    if let Some(token) = h.strip_prefix("Bearer ") {
        let token = token.trim();
        return token == j.bearer || j.access_tokens.iter().any(|t| t == token);
    }
    let Some(b64) = h.strip_prefix("Basic ") else {
        return false;
    };
    crate::http::base64_decode(b64.trim())
        .and_then(|s| {
            s.split_once(':')
                .map(|(e, t)| (e.to_string(), t.to_string()))
        })
        .is_some_and(|(e, t)| e == j.email && t == j.token)
}

/// What a JQL query asks issues to carry: a label, or a status (an id, or
/// a name).
enum Wanted {
    Label(String),
    Status(String),
}

/// The projects a JQL query names (`project in ("A", "B")`), the label
/// (`labels = "x"`) or status (`status = 10100`, `status = "Ready"`) it
/// wants, and whether it leaves Done out: the only queries afk sends.
fn jql_parts(jql: &str) -> Option<(Vec<String>, Wanted, bool)> {
    let strings = |s: &str| -> Vec<String> {
        let mut out = vec![];
        let mut cur = String::new();
        let mut inside = false;
        let mut esc = false;
        for c in s.chars() {
            match (inside, esc, c) {
                (true, true, c) => {
                    cur.push(c);
                    esc = false;
                }
                (true, false, '\\') => esc = true,
                (true, false, '"') => {
                    out.push(std::mem::take(&mut cur));
                    inside = false;
                }
                (true, false, c) => cur.push(c),
                (false, _, '"') => inside = true,
                _ => {}
            }
        }
        out
    };
    let (projects, rest) = jql.strip_prefix("project in (")?.split_once(") AND ")?;
    let not_done = rest.contains("statusCategory != Done");
    let wanted = match (
        rest.strip_prefix("labels = "),
        rest.strip_prefix("status = "),
    ) {
        (Some(l), _) => Wanted::Label(strings(l).into_iter().next()?),
        (_, Some(st)) if st.starts_with('"') => Wanted::Status(strings(st).into_iter().next()?),
        (_, Some(st)) => Wanted::Status(st.split(' ').next()?.to_string()),
        _ => return None,
    };
    Some((strings(projects), wanted, not_done))
}

/// Answer a request under `/rest/api/3` (`path` after it).
pub fn serve(j: &mut Jira, req: &Request, path: &str) -> Reply {
    if !authorised(j, req) {
        return Reply::json(
            401,
            &json!({"message": "Client must be authenticated to access this resource.", "status-code": 401}),
        );
    }
    let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
    let body = req.json().unwrap_or(Value::Null);
    let page =
        |name: &str, default: usize| req.q(name).and_then(|v| v.parse().ok()).unwrap_or(default);
    if let Some(r) = super::jira_site::serve(j, req, &segs) {
        return r;
    }
    if let Some(r) = super::jira_transitions::serve(j, req, &segs, &body) {
        return r;
    }
    match (req.method.as_str(), segs.as_slice()) {
        ("GET", ["myself"]) => Reply::json(200, &j.account_json(AFK_ACCOUNT)),
        ("GET", ["user"]) => {
            let id = req.q("accountId").unwrap_or("");
            match j.accounts.contains_key(id) {
                true => Reply::json(200, &j.account_json(id)),
                false => error(
                    404,
                    "Specified user does not exist or you do not have required permissions",
                ),
            }
        }
        // without the global Browse users and groups (USER_PICKER): 403 (the words are the sandbox's)
        ("GET", ["user", "groups"]) if j.lacking.iter().any(|l| l == "USER_PICKER") => {
            error(403, "Browse users and groups permission is required.")
        }
        ("GET", ["user", "groups"]) => {
            let id = req.q("accountId").unwrap_or("");
            match j.accounts.get(id) {
                Some(a) => Reply::json(
                    200,
                    &Value::Array(
                        a.groups
                            .iter()
                            .map(|g| json!({"groupId": g, "name": format!("group-{g}")}))
                            .collect(),
                    ),
                ),
                None => error(404, "Specified user does not exist"),
            }
        }
        // a project's roles: Jira answers 404 to an account that does not
        // administer the project (docs/fidelity/jira-cloud.md)
        ("GET", ["project", _, "role", ..]) if !j.administers => {
            error(404, "You cannot edit the configuration of this project.")
        }
        // a group's active members, by its id; an unknown group is 404
        ("GET", ["group", "member"]) => {
            let Some(id) = req.q("groupId").map(str::to_string) else {
                return error(400, "You must provide either groupname or groupId.");
            };
            let members: Vec<Value> = (j.accounts.iter())
                .filter(|(_, a)| a.groups.contains(&id) && a.active)
                .map(|(account, _)| j.account_json(account))
                .collect();
            let known = j.accounts.values().any(|a| a.groups.contains(&id));
            match known {
                true => Reply::json(
                    200,
                    &json!({"isLast": true, "startAt": 0, "maxResults": 50,
                        "total": members.len(), "values": members}),
                ),
                false => error(404, &format!("Group with groupId '{id}' was not found.")),
            }
        }
        // the site's link types: the default set, "Blocks" among them
        ("GET", ["issueLinkType"]) => Reply::json(
            200,
            &json!({"issueLinkTypes": [
                {"id": "10000", "name": "Blocks", "inward": "is blocked by", "outward": "blocks"},
                {"id": "10001", "name": "Cloners", "inward": "is cloned by", "outward": "clones"},
                {"id": "10002", "name": "Duplicate", "inward": "is duplicated by", "outward": "duplicates"},
                {"id": "10003", "name": "Relates", "inward": "relates to", "outward": "relates to"}]}),
        ),
        ("GET", ["project", project, "role"]) => {
            let all: serde_json::Map<String, Value> = j
                .role_names()
                .into_iter()
                .map(|(name, id)| {
                    (
                        name,
                        json!(format!("/rest/api/3/project/{project}/role/{id}")),
                    )
                })
                .collect();
            Reply::json(200, &Value::Object(all))
        }
        ("GET", ["project", project, "role", id]) => {
            match id.parse().ok().and_then(|id| j.role_json(project, id)) {
                Some(v) => Reply::json(200, &v),
                None => error(404, "No role exists with this id."),
            }
        }
        // the old search is gone (docs/fidelity/jira-cloud.md)
        ("GET" | "POST", ["search"]) => error(
            410,
            "The requested API has been removed. Please migrate to the /rest/api/3/search/jql API. A full migration guideline is available at https://developer.atlassian.com/changelog/#CHANGE-2046",
        ),
        ("POST", ["search", "jql"]) => {
            let jql = body["jql"].as_str().unwrap_or("");
            let Some((projects, wanted, not_done)) = jql_parts(jql) else {
                return error(400, "The JQL query is not one the sandbox reads");
            };
            let max = body["maxResults"].as_u64().unwrap_or(50).clamp(1, 100) as usize;
            let from: usize = body["nextPageToken"]
                .as_str()
                .and_then(|t| t.parse().ok())
                .unwrap_or(0);
            // the index lags a label change (`/_admin/jira/lag`) unless the
            // search names the issue in `reconcileIssues` (ids as numbers)
            let reconciled: Vec<u64> = (body["reconcileIssues"].as_array().into_iter().flatten())
                .filter_map(Value::as_u64)
                .collect();
            let now = std::time::Instant::now();
            let labels_of = |i: &Issue| -> Vec<String> {
                match i.unindexed_until {
                    Some(u) if u > now && !reconciled.contains(&i.id) => i.indexed_labels.clone(),
                    _ => i.labels.clone(),
                }
            };
            let mut hits: Vec<&Issue> = j
                .issues
                .values()
                .filter(|i| projects.contains(&i.project))
                .filter(|i| match &wanted {
                    Wanted::Label(l) => labels_of(i).contains(l),
                    Wanted::Status(s) => i.status.0 == *s || i.status.1.eq_ignore_ascii_case(s),
                })
                .filter(|i| !not_done || i.category != "done")
                .collect();
            hits.sort_by(|a, b| a.key.cmp(&b.key));
            let shown: Vec<Value> = hits
                .iter()
                .skip(from)
                .take(max)
                .map(|i| json!({"id": i.id.to_string(), "key": i.key, "self": format!("/rest/api/3/issue/{}", i.id), "fields": {}}))
                .collect();
            let mut out = json!({"issues": shown});
            // the last page has no `nextPageToken` at all
            if from + max < hits.len() {
                out["nextPageToken"] = json!((from + max).to_string());
            }
            Reply::json(200, &out)
        }
        ("GET", ["issue", id]) => match j.find(id) {
            Some(n) => Reply::json(200, &j.issue_json(&j.issues[&n])),
            None => error(
                404,
                "Issue does not exist or you do not have permission to see it.",
            ),
        },
        ("PUT", ["issue", id]) => {
            let Some(n) = j.find(id) else {
                return error(
                    404,
                    "Issue does not exist or you do not have permission to see it.",
                );
            };
            let Some(ops) = body.pointer("/update/labels").and_then(Value::as_array) else {
                return error(400, "the sandbox takes update.labels only");
            };
            let (mut add, mut remove) = (vec![], vec![]);
            for op in ops {
                match (
                    op.get("add").and_then(Value::as_str),
                    op.get("remove").and_then(Value::as_str),
                ) {
                    (Some(a), None) if !a.contains(' ') => add.push(a.to_string()),
                    (None, Some(r)) => remove.push(r.to_string()),
                    _ => {
                        return Reply::json(
                            400,
                            &json!({"errorMessages": [], "errors": {"labels": "The label contains spaces which is invalid."}}),
                        );
                    }
                }
            }
            j.relabel(n, Some(AFK_ACCOUNT), &add, &remove, None);
            no_content()
        }
        ("GET", ["issue", id, "changelog"]) => {
            let Some(n) = j.find(id) else {
                return error(
                    404,
                    "Issue does not exist or you do not have permission to see it.",
                );
            };
            let (start, max) = (page("startAt", 0), page("maxResults", 100).clamp(1, 100));
            let all = &j.issues[&n].changes;
            let values: Vec<Value> = all
                .iter()
                .skip(start)
                .take(max)
                .map(|c| {
                    let mut v =
                        json!({"id": c.id.to_string(), "created": c.created, "items": c.items});
                    if let Some(a) = &c.author {
                        v["author"] = j.account_json(a);
                    }
                    if let Some(m) = &c.history_metadata {
                        v["historyMetadata"] = m.clone();
                    }
                    v
                })
                .collect();
            let is_last = start + values.len() >= all.len();
            Reply::json(
                200,
                &json!({"startAt": start, "maxResults": max, "total": all.len(), "isLast": is_last, "values": values}),
            )
        }
        ("GET", ["issue", id, "comment"]) => {
            let Some(n) = j.find(id) else {
                return error(
                    404,
                    "Issue does not exist or you do not have permission to see it.",
                );
            };
            let (start, max) = (page("startAt", 0), page("maxResults", 100).clamp(1, 100));
            let all = &j.issues[&n].comments;
            let comments: Vec<Value> = all
                .iter()
                .skip(start)
                .take(max)
                .map(|c| j.comment_json(c, false))
                .collect();
            Reply::json(
                200,
                &json!({"startAt": start, "maxResults": max, "total": all.len(), "comments": comments}),
            )
        }
        ("POST", ["issue", id, "comment"]) => {
            let Some(n) = j.find(id) else {
                return error(
                    404,
                    "Issue does not exist or you do not have permission to see it.",
                );
            };
            if body.pointer("/body/type").and_then(Value::as_str) != Some("doc") {
                return Reply::json(
                    400,
                    &json!({"errorMessages": [], "errors": {"comment": "Comment body is not valid ADF."}}),
                );
            }
            let properties = body["properties"]
                .as_array()
                .map(|ps| {
                    ps.iter()
                        .filter_map(|p| Some((p["key"].as_str()?.to_string(), p["value"].clone())))
                        .collect()
                })
                .unwrap_or_default();
            let at = j.stamp();
            let c = Comment {
                id: j.next_comment,
                author: AFK_ACCOUNT.into(),
                body: body["body"].clone(),
                created: at.clone(),
                updated: at,
                properties,
            };
            j.next_comment += 1;
            let out = j.comment_json(&c, false);
            if let Some(i) = j.issues.get_mut(&n) {
                i.comments.push(c);
            }
            Reply::json(201, &out)
        }
        ("PUT", ["issue", id, "comment", cid]) => {
            let Some(n) = j.find(id) else {
                return error(
                    404,
                    "Issue does not exist or you do not have permission to see it.",
                );
            };
            let at = j.stamp();
            let Some(c) = j
                .issues
                .get_mut(&n)
                .and_then(|i| i.comments.iter_mut().find(|c| c.id.to_string() == *cid))
            else {
                return error(404, "Can not find a comment for the id");
            };
            if c.author != AFK_ACCOUNT {
                return error(400, "You do not have the permission to edit this comment.");
            }
            c.body = body["body"].clone();
            c.updated = at;
            let c = c.clone();
            Reply::json(200, &j.comment_json(&c, false))
        }
        ("POST", ["comment", "list"]) => {
            let ids: Vec<String> = body["ids"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_i64)
                        .map(|i| i.to_string())
                        .collect()
                })
                .unwrap_or_default();
            let props = req
                .q("expand")
                .is_some_and(|e| e.split(',').any(|x| x == "properties"));
            let values: Vec<Value> = j
                .issues
                .values()
                .flat_map(|i| i.comments.iter())
                .filter(|c| ids.contains(&c.id.to_string()))
                .map(|c| j.comment_json(c, props))
                .collect();
            Reply::json(
                200,
                &json!({"startAt": 0, "maxResults": 1000, "total": values.len(), "isLast": true, "values": values}),
            )
        }
        // an upsert by `globalId`: what the write leaves out is null after it
        ("POST", ["issue", id, "remotelink"]) => {
            let Some(n) = j.find(id) else {
                return error(
                    404,
                    "Issue does not exist or you do not have permission to see it.",
                );
            };
            for (k, name) in [("/object/url", "url"), ("/object/title", "title")] {
                if body
                    .pointer(k)
                    .and_then(Value::as_str)
                    .is_none_or(str::is_empty)
                {
                    return Reply::json(
                        400,
                        &json!({"errorMessages": [], "errors": {name: format!("'{name}' is required.")}}),
                    );
                }
            }
            let Some(i) = j.issues.get_mut(&n) else {
                return error(404, "no such issue");
            };
            let global = body["globalId"].as_str().map(str::to_string);
            let at = global.as_ref().and_then(|g| {
                i.remote_links
                    .iter()
                    .position(|l| l["globalId"].as_str() == Some(g))
            });
            let link_id = match at {
                Some(p) => {
                    let id = i.remote_links[p]["id"].clone();
                    let mut link = body.clone();
                    link["id"] = id.clone();
                    i.remote_links[p] = link;
                    id
                }
                None => {
                    let id = json!(40000 + i.remote_links.len());
                    let mut link = body.clone();
                    link["id"] = id.clone();
                    i.remote_links.push(link);
                    id
                }
            };
            let status = if at.is_some() { 200 } else { 201 };
            Reply::json(
                status,
                &json!({"id": link_id, "self": format!("/rest/api/issue/{n}/remotelink/{link_id}")}),
            )
        }
        _ => error(404, "not found"),
    }
}

/// The admin API under `/_admin/jira`: the people's side.
/// The keys each `/_admin/jira` call's body may hold (docs/sandbox.md's
/// table is read against it).
pub(crate) const TAKES: &[(&str, &str, &str)] = &[
    ("POST", "/account", "id kind active groups"),
    (
        "POST",
        "/issue",
        "project summary description labels components creator reporter",
    ),
    ("POST", "/label", "issue by add remove history_metadata"),
    ("POST", "/role", "project name users groups"),
    ("POST", "/administers", "on"),
    ("POST", "/link", "issue blocker"),
    ("POST", "/edit", "issue by field to"),
    ("POST", "/lag", "ms"),
    ("POST", "/project", "key components"),
    ("POST", "/permissions", "lacking"),
    ("POST", "/webhooks", "admin hooks"),
    ("POST", "/transitions", "transitions"),
];

pub fn admin(j: &mut Jira, path: &str, method: &str, body: &Value) -> Reply {
    let keys = |allowed: &[&str]| -> Option<Reply> {
        let k = body
            .as_object()?
            .keys()
            .find(|k| !allowed.contains(&k.as_str()))?;
        Some(error(
            400,
            &format!(
                "unknown key {k:?} for /_admin/jira{path}: it takes {}",
                allowed.join(", ")
            ),
        ))
    };
    let strings = |v: &Value| -> Vec<String> {
        v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    };
    // every body's keys, by the table below: a misremembered key is refused
    if let Some((_, _, allowed)) = TAKES.iter().find(|(m, p, _)| *m == method && *p == path)
        && let Some(r) = keys(&allowed.split_whitespace().collect::<Vec<_>>())
    {
        return r;
    }
    match (method, path) {
        ("GET", "/credentials") => Reply::json(
            200,
            &json!({"email": j.email, "token": j.token, "bearer": j.bearer, "me": AFK_ACCOUNT,
                    "client_id": j.client_id, "client_secret": j.client_secret}),
        ),
        ("GET", "/access_tokens") => Reply::json(200, &json!(j.access_tokens)),
        ("POST", "/account") => {
            let Some(id) = body["id"].as_str() else {
                return error(400, "id is required");
            };
            j.accounts.insert(
                id.to_string(),
                Account {
                    kind: body["kind"].as_str().unwrap_or("atlassian").to_string(),
                    active: body["active"].as_bool().unwrap_or(true),
                    groups: strings(&body["groups"]),
                },
            );
            Reply::json(200, &json!({"id": id}))
        }
        ("POST", "/project") => {
            let Some(key) = body["key"].as_str() else {
                return error(400, "key is required");
            };
            j.project(key, &strings(&body["components"]));
            Reply::json(200, &json!({"id": j.projects[key].0.to_string()}))
        }
        ("POST", "/permissions") => {
            j.lacking = strings(&body["lacking"]);
            Reply::json(200, &json!({}))
        }
        ("POST", "/issue") => {
            let project = body["project"].as_str().unwrap_or("PLAT").to_string();
            j.project(&project, &strings(&body["components"]));
            let n = j.counts.entry(project.clone()).or_insert(0);
            *n += 1;
            let key = format!("{project}-{n}");
            let id = j.next_issue;
            j.next_issue += 1;
            let created = j.stamp();
            let mut labels = strings(&body["labels"]);
            labels.sort();
            j.issues.insert(
                id,
                Issue {
                    id,
                    key: key.clone(),
                    project,
                    summary: body["summary"].as_str().unwrap_or("A task").to_string(),
                    description: body["description"].clone(),
                    labels,
                    components: strings(&body["components"]),
                    category: "new".into(),
                    status: Jira::default_status("new"),
                    creator: body["creator"].as_str().unwrap_or("").to_string(),
                    // anyone the creator names (Modify Reporter); the creator if none
                    reporter: (body["reporter"].as_str().or(body["creator"].as_str()))
                        .unwrap_or("")
                        .to_string(),
                    created,
                    changes: vec![],
                    comments: vec![],
                    blocked_by: vec![],
                    remote_links: vec![],
                    unindexed_until: None,
                    indexed_labels: vec![],
                },
            );
            Reply::json(200, &json!({"id": id.to_string(), "key": key}))
        }
        ("POST", "/lag") => {
            j.index_lag = std::time::Duration::from_millis(body["ms"].as_u64().unwrap_or(0));
            Reply::json(200, &json!({}))
        }
        ("POST", "/label") => {
            let id = body["issue"]
                .as_str()
                .and_then(|s| s.parse().ok())
                .unwrap_or(0);
            let by = body["by"].as_str();
            let meta = Some(body["history_metadata"].clone()).filter(|m| !m.is_null());
            match j.relabel(
                id,
                by,
                &strings(&body["add"]),
                &strings(&body["remove"]),
                meta,
            ) {
                true => Reply::json(200, &json!({})),
                false => error(404, "no such issue"),
            }
        }
        // `blocker` blocks `issue`: a `Blocks` link, `issue` on its inward side
        // people and groups made actors of a project role
        ("POST", "/role") => {
            let project = body["project"].as_str().unwrap_or("PLAT").to_string();
            let name = body["name"].as_str().unwrap_or("Developers").to_string();
            let known = j.role_names();
            let id = known
                .get(&name)
                .copied()
                .unwrap_or(10002 + known.len() as u64);
            let roles = j.roles.entry(project).or_default();
            roles.retain(|r| r.id != id);
            roles.push(crate::model::jira::Role {
                id,
                name,
                users: strings(&body["users"]),
                groups: strings(&body["groups"]),
            });
            Reply::json(200, &json!({"id": id}))
        }
        ("POST", "/webhooks") => super::jira_site::set_webhooks(j, body),
        ("POST", "/transitions") => super::jira_transitions::set_workflow(j, body),
        ("POST", "/administers") => {
            j.administers = body["on"].as_bool().unwrap_or(true);
            Reply::json(200, &json!({}))
        }
        ("POST", "/link") => {
            let id = |k: &str| {
                body[k]
                    .as_str()
                    .and_then(|s| s.parse::<u64>().ok())
                    .unwrap_or(0)
            };
            let (issue, blocker) = (id("issue"), id("blocker"));
            if !j.issues.contains_key(&blocker) {
                return error(404, "no such blocker");
            }
            match j.issues.get_mut(&issue) {
                Some(i) => {
                    i.blocked_by.push(blocker);
                    Reply::json(200, &json!({}))
                }
                None => error(404, "no such issue"),
            }
        }
        ("POST", "/edit") => {
            let id = body["issue"]
                .as_str()
                .and_then(|s| s.parse().ok())
                .unwrap_or(0);
            let field = body["field"].as_str().unwrap_or("summary").to_string();
            let to = body["to"].clone();
            let Some(i) = j.issues.get_mut(&id) else {
                return error(404, "no such issue");
            };
            let from = match field.as_str() {
                "summary" => {
                    std::mem::replace(&mut i.summary, to.as_str().unwrap_or("").to_string())
                }
                "description" => {
                    i.description = to.clone();
                    String::new()
                }
                "components" => {
                    let old = i.components.join(", ");
                    i.components = strings(&to);
                    old
                }
                // a category's default status, or `{id, name, category}`
                "status" => {
                    let category = match to.as_str() {
                        Some(c) => c.to_string(),
                        None => to["category"].as_str().unwrap_or("new").to_string(),
                    };
                    let status = match to.as_str() {
                        Some(c) => Jira::default_status(c),
                        None => (
                            to["id"].as_str().unwrap_or("10100").to_string(),
                            to["name"].as_str().unwrap_or("Ready").to_string(),
                        ),
                    };
                    j.move_status(id, body["by"].as_str(), &category, status);
                    return Reply::json(200, &json!({}));
                }
                // a move: the project, and the key with it (a `Key` item,
                // which has no `fieldId`)
                "project" => {
                    let to = to.as_str().unwrap_or("OPS").to_string();
                    let old_key = i.key.clone();
                    let n = i.key.rsplit('-').next().unwrap_or("1").to_string();
                    i.key = format!("{to}-{n}");
                    let key_item = json!({"field": "Key", "fieldtype": "jira", "from": null,
                        "fromString": old_key, "to": null, "toString": i.key});
                    let project_item = json!({"field": "project", "fieldtype": "jira", "fieldId": "project",
                        "from": "10000", "fromString": i.project, "to": "10001", "toString": to});
                    i.project = to;
                    j.change(id, body["by"].as_str(), vec![project_item, key_item], None);
                    return Reply::json(200, &json!({}));
                }
                _ => {
                    return error(
                        400,
                        "field is summary, description, components, status or project",
                    );
                }
            };
            let item = json!({"field": field, "fieldtype": "jira", "fieldId": field,
                "from": null, "fromString": from, "to": null, "toString": to.as_str().unwrap_or("")});
            j.change(id, body["by"].as_str(), vec![item], None);
            Reply::json(200, &json!({}))
        }
        ("GET", p) if p.starts_with("/issue/") => {
            let id: u64 = p["/issue/".len()..].parse().unwrap_or(0);
            match j.issues.get(&id) {
                Some(i) => {
                    let comments: Vec<Value> =
                        i.comments.iter().map(|c| j.comment_json(c, true)).collect();
                    let mut v = j.issue_json(i);
                    v["comments"] = Value::Array(comments);
                    v["remote_links"] = Value::Array(i.remote_links.clone());
                    v["changes"] = Value::Array(
                        i.changes
                            .iter()
                            .map(|c| json!({"id": c.id, "author": c.author, "items": c.items}))
                            .collect(),
                    );
                    Reply::json(200, &v)
                }
                None => error(404, "no such issue"),
            }
        }
        _ => error(404, "not found"),
    }
}
