//! Linear's GraphQL API, the part afk's tracker reads and writes, at
//! `/linear/graphql` beside whichever forge the sandbox speaks: answered as
//! Linear answers (docs/fidelity/linear.md, each odd answer there with its
//! source). Every request is a `POST` of `{query, variables}`; the query is
//! checked against Linear's published schema (the contract's cut,
//! `tests/contracts/linear-subset.graphql`) before anything runs, and a
//! field it lacks is refused with HTTP 400 and `GRAPHQL_VALIDATION_FAILED`;
//! an unknown id is `Entity not found` in `errors` beside `data: null`;
//! the key goes as `Authorization: <key>` with no scheme, an OAuth token as
//! `Bearer`; connections page by `first` (50 when absent) and `after`;
//! fields a change leaves untouched are `null` in a history entry.
//!
//! The admin API (`/_admin/linear/...`) plays the people: users, teams and
//! their members, labels, issues made (labels given at creation leave no
//! history), labels added or removed and fields edited by someone (each a
//! history entry by its actor, or by no one: an integration).

use crate::graphql::{self, Field, Schema};
use crate::http::{Reply, Request};
use crate::model::linear::{
    AFK_USER, Comment, Issue, IssueLabel, Linear, Team, User, WorkflowState,
};
use serde_json::{Value, json};
use std::sync::OnceLock;

/// The schema afk's queries are checked against: Linear's own, as the
/// contract cut it, with the one mutation beyond the cut afk sends
/// (`issueLabelCreate`, `afk init --create-labels`: its signatures as
/// Linear's schema has them, `linear-beyond-contract.graphql`).
fn schema() -> &'static Schema {
    static S: OnceLock<Schema> = OnceLock::new();
    S.get_or_init(|| {
        let mut s = graphql::schema(include_str!(
            "../../../../tests/contracts/linear-subset.graphql"
        ))
        .expect("the Linear contract is SDL the sandbox reads");
        let beyond = graphql::schema(include_str!("../linear-beyond-contract.graphql"))
            .expect("the mutation beyond the contract is SDL the sandbox reads");
        for (ty, fields) in beyond.types {
            s.types.entry(ty).or_default().extend(fields);
        }
        s
    })
}

/// A GraphQL error in Linear's shape.
pub(super) fn gql_error(status: u16, message: &str, code: &str, kind: &str) -> Reply {
    Reply::json(
        status,
        &json!({"errors": [{"message": message, "extensions": {
            "type": kind, "code": code, "statusCode": status, "userError": true}}]}),
    )
}

/// An id the workspace does not hold: `data: null` and Linear's
/// `Entity not found` (community fixtures record it so; the HTTP status
/// varies between them: the sandbox answers 200).
pub(super) fn not_found(field: &str, entity: &str) -> Reply {
    Reply::json(
        200,
        &json!({"data": null, "errors": [{"message": format!("Entity not found: {entity}"),
            "path": [field], "extensions": {"type": "invalid input", "code": "INPUT_ERROR",
            "statusCode": 400, "userError": true,
            "userPresentableMessage": format!("Could not find referenced {entity}.")}}]}),
    )
}

/// Linear's rate-limited answer as live answers show it: HTTP 400 with
/// `RATELIMITED` (`extensions.statusCode` 429), and the request budget's
/// headers, the reset in epoch milliseconds (docs/fidelity/linear.md).
fn rate_limited(reset_in: u64) -> Reply {
    let reset = (time::OffsetDateTime::now_utc().unix_timestamp() + reset_in as i64) * 1000;
    Reply::json(
        400,
        &json!({"errors": [{"message": "Rate limit exceeded", "extensions": {
            "type": "ratelimited", "code": "RATELIMITED", "statusCode": 429,
            "userError": true, "userPresentableMessage": "Rate limit exceeded"}}]}),
    )
    .with_header("X-RateLimit-Requests-Limit", "5000")
    .with_header("X-RateLimit-Requests-Remaining", "0")
    .with_header("X-RateLimit-Requests-Reset", &reset.to_string())
}

/// Whether the request carries afk's key or its OAuth token.
fn authorised(l: &Linear, req: &Request) -> bool {
    match req.header("authorization") {
        Some(h) => match h.strip_prefix("Bearer ") {
            Some(t) => t.trim() == l.bearer,
            None => h.trim() == l.key,
        },
        None => false,
    }
}

/// Answer a request at `/linear/graphql`.
pub fn serve(l: &mut Linear, req: &Request) -> Reply {
    if !authorised(l, req) {
        return gql_error(
            401,
            "Authentication required, not authenticated",
            "AUTHENTICATION_ERROR",
            "authentication error",
        );
    }
    if req.method != "POST" {
        return gql_error(400, "GET query missing.", "BAD_REQUEST", "invalid input");
    }
    l.requests += 1;
    if l.ratelimited > 0 {
        l.ratelimited -= 1;
        return rate_limited(l.ratelimit_reset_in);
    }
    let body = req.json().unwrap_or(Value::Null);
    let Some(query) = body["query"].as_str() else {
        return gql_error(
            400,
            "Must provide query string.",
            "BAD_REQUEST",
            "invalid input",
        );
    };
    let vars = match &body["variables"] {
        Value::Null => json!({}),
        v => v.clone(),
    };
    let op = match graphql::parse(query) {
        Ok(op) => op,
        Err(e) => return gql_error(400, &e, "GRAPHQL_PARSE_FAILED", "graphql error"),
    };
    if let Err(e) = schema().check(&op) {
        return gql_error(400, &e, "GRAPHQL_VALIDATION_FAILED", "graphql error");
    }
    let mut data = serde_json::Map::new();
    for f in &op.fields {
        let got = match op.mutation {
            true => mutate(l, f, &vars),
            false => read(l, f, &vars),
        };
        let v = match got {
            Ok(v) => v,
            Err(reply) => return reply,
        };
        match graphql::answer(&v, f, &vars) {
            Ok(p) => data.insert(f.key().to_string(), p),
            Err(e) => return gql_error(500, &e, "INTERNAL_ERROR", "internal error"),
        };
    }
    Reply::json(200, &json!({"data": data}))
}

/// The strings of a JSON array (none: not an array).
fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s.as_str().map(str::to_string))
        .collect()
}

/// An issue by its UUID or its identifier (`ENG-12`), as `issue(id:)` takes.
fn find<'a>(l: &'a Linear, id: &str) -> Option<&'a Issue> {
    l.issues
        .get(id)
        .or_else(|| l.issues.values().find(|i| l.identifier(i) == id))
}

/// A root field of a query.
fn read(l: &Linear, f: &Field, vars: &Value) -> Result<Value, Reply> {
    if let Some(got) =
        (super::linear_agents::read(l, f, vars)).or_else(|| super::linear_webhooks::read(l, f))
    {
        return got;
    }
    let id = f.arg("id", vars);
    let id = id.as_str().unwrap_or("");
    match f.name.as_str() {
        "viewer" => Ok(l.user_json(AFK_USER).unwrap_or(Value::Null)),
        "user" => l.user_json(id).ok_or_else(|| not_found("user", "User")),
        "issue" => find(l, id)
            .map(|i| l.issue_json(i))
            .ok_or_else(|| not_found("issue", "Issue")),
        "team" => l
            .teams
            .get(id)
            .or_else(|| l.team_by_key(id))
            .map(|t| l.team_json(t))
            .ok_or_else(|| not_found("team", "Team")),
        "organization" => Ok(json!({"labels": {"nodes": l.workspace_labels()}})),
        // afk's budgets: an API key's hourly requests and complexity, this
        // hour's requests counted, each reset an hour after the first
        // (docs/fidelity/linear.md)
        "rateLimitStatus" => {
            let reset = (time::OffsetDateTime::now_utc().unix_timestamp() + 3600) * 1000;
            let used = l.requests as f64;
            Ok(json!({"identifier": "afk", "kind": "api key", "limits": [
                {"type": "requests", "allowedAmount": 5000.0, "remainingAmount": 5000.0 - used,
                    "requestedAmount": 1.0, "period": 3_600_000.0, "reset": reset as f64},
                {"type": "complexity", "allowedAmount": 3_000_000.0,
                    "remainingAmount": 3_000_000.0 - used * 100.0, "requestedAmount": 1.0,
                    "period": 3_600_000.0, "reset": reset as f64}]}))
        }
        // the states of the teams the filter names by key (all: none named)
        "workflowStates" => {
            let filter = f.arg("filter", vars);
            let keys = match (
                filter.as_object().map(|o| o.len()),
                filter.pointer("/team/key/in"),
            ) {
                (None, _) => None,
                (Some(1), Some(Value::Array(k))) => Some(k.clone()),
                _ => {
                    return Err(gql_error(
                        500,
                        "the sandbox filters workflow states by team.key.in alone",
                        "INTERNAL_ERROR",
                        "internal error",
                    ));
                }
            };
            let nodes: Vec<Value> = (l.teams.values())
                .filter(|t| keys.as_ref().is_none_or(|k| k.contains(&json!(t.key))))
                .flat_map(|t| {
                    t.states.iter().map(move |s| {
                        json!({"id": s.id, "name": s.name, "type": s.kind,
                            "position": s.position, "team": {"id": t.id, "key": t.key}})
                    })
                })
                .collect();
            Ok(json!({ "nodes": nodes }))
        }
        "issues" => {
            let filter = f.arg("filter", vars);
            let mut nodes = vec![];
            for i in l.issues.values() {
                if matches(l, i, &filter)? {
                    nodes.push(l.issue_json(i));
                }
            }
            Ok(json!({ "nodes": nodes }))
        }
        other => Err(gql_error(
            500,
            &format!("the sandbox does not answer {other}"),
            "INTERNAL_ERROR",
            "internal error",
        )),
    }
}

/// Whether issue `i` passes the filter afk sends (its teams by key, its
/// state's type, a label by name without case, its state's id); a filter
/// the sandbox does not implement is its own gap, said.
fn matches(l: &Linear, i: &Issue, filter: &Value) -> Result<bool, Reply> {
    let gap = |k: &str| {
        gql_error(
            500,
            &format!("the sandbox does not filter issues by {k}"),
            "INTERNAL_ERROR",
            "internal error",
        )
    };
    let Some(f) = filter.as_object() else {
        return Ok(true);
    };
    let team = &l.teams[&i.team];
    let state = team.states.iter().find(|s| s.id == i.state);
    for (k, v) in f {
        let ok = match k.as_str() {
            "team" => match v.pointer("/key/in") {
                Some(keys) => strings(keys).contains(&team.key),
                None => return Err(gap("team other than key.in")),
            },
            "state" => {
                let mut ok = true;
                for (sk, sv) in v.as_object().into_iter().flatten() {
                    ok &= match (sk.as_str(), sv.get("nin"), sv.get("in")) {
                        ("type", Some(nin), _) => {
                            state.is_some_and(|s| !strings(nin).contains(&s.kind))
                        }
                        ("id", _, Some(ids)) => strings(ids).contains(&i.state),
                        _ => return Err(gap(&format!("state.{sk}"))),
                    };
                }
                ok
            }
            "project" => match (
                v.pointer("/name/eqIgnoreCase").and_then(Value::as_str),
                v.pointer("/id/eq").and_then(Value::as_str),
            ) {
                (Some(name), _) => (i.project.as_ref())
                    .and_then(|p| l.projects.get(p))
                    .is_some_and(|n| n.eq_ignore_ascii_case(name)),
                (None, Some(id)) => i.project.as_deref() == Some(id),
                (None, None) => return Err(gap("project other than name.eqIgnoreCase or id.eq")),
            },
            "delegate" => match v.pointer("/id/eq").and_then(Value::as_str) {
                Some(want) => i.delegate.as_deref() == Some(want),
                None => return Err(gap("delegate other than id.eq")),
            },
            "labels" => match v.pointer("/some/name/eqIgnoreCase").and_then(Value::as_str) {
                Some(want) => i.label_ids.iter().any(|id| {
                    l.labels
                        .get(id)
                        .is_some_and(|lb| lb.name.eq_ignore_ascii_case(want))
                }),
                None => return Err(gap("labels other than some.name.eqIgnoreCase")),
            },
            other => return Err(gap(other)),
        };
        if !ok {
            return Ok(false);
        }
    }
    // a trashed issue is left out as an archived one is (without
    // `includeArchived`); its own read still answers it
    Ok(!i.trashed)
}

/// A root field of a mutation, made as afk's user.
fn mutate(l: &mut Linear, f: &Field, vars: &Value) -> Result<Value, Reply> {
    if let Some(got) = super::linear_agents::mutate(l, f, vars) {
        return got;
    }
    let arg = |name: &str| f.arg(name, vars);
    let issue_of = |l: &Linear, id: &str| find(l, id).map(|i| i.id.clone());
    match f.name.as_str() {
        "issueAddLabel" | "issueRemoveLabel" => {
            let add = f.name == "issueAddLabel";
            let id = issue_of(l, arg("id").as_str().unwrap_or(""))
                .ok_or_else(|| not_found(&f.name, "Issue"))?;
            let label = arg("labelId").as_str().unwrap_or("").to_string();
            let team = l.issues[&id].team.clone();
            match l.labels.get(&label) {
                Some(lb) if lb.team.as_ref().is_none_or(|t| *t == team) => {}
                _ => return Err(not_found(&f.name, "IssueLabel")),
            }
            let i = l.issues.get_mut(&id).expect("found above");
            let had = i.label_ids.contains(&label);
            match add {
                true if !had => i.label_ids.push(label.clone()),
                false if had => i.label_ids.retain(|x| *x != label),
                _ => return Ok(json!({"success": true, "issue": {"id": id}})),
            }
            let key = if add {
                "addedLabelIds"
            } else {
                "removedLabelIds"
            };
            l.record(&id, Some(AFK_USER), json!({ key: [label] }));
            Ok(json!({"success": true, "issue": {"id": id}}))
        }
        "issueLabelCreate" => label_create(l, &arg("input")),
        "commentCreate" => {
            let input = arg("input");
            let id = issue_of(l, input["issueId"].as_str().unwrap_or(""))
                .ok_or_else(|| not_found(&f.name, "Issue"))?;
            let cid = l.uuid(0xc0);
            let at = l.stamp();
            let c = Comment {
                id: cid,
                body: input["body"].as_str().unwrap_or("").to_string(),
                user: AFK_USER.to_string(),
                created_at: at.clone(),
                updated_at: at,
            };
            let v = comment_json(&c);
            l.issues.get_mut(&id).expect("found above").comments.push(c);
            Ok(json!({"success": true, "comment": v}))
        }
        "commentUpdate" => {
            let cid = arg("id").as_str().unwrap_or("").to_string();
            let body = arg("input")["body"].as_str().unwrap_or("").to_string();
            let at = l.stamp();
            let c = l
                .issues
                .values_mut()
                .flat_map(|i| i.comments.iter_mut())
                .find(|c| c.id == cid)
                .ok_or_else(|| not_found(&f.name, "Comment"))?;
            if c.user != AFK_USER {
                return Err(gql_error(
                    403,
                    "You can only edit your own comments",
                    "FORBIDDEN",
                    "forbidden",
                ));
            }
            c.body = body;
            // `skipEditedAt: true` leaves no edit mark; the update time moves
            c.updated_at = at;
            Ok(json!({"success": true, "comment": comment_json(c)}))
        }
        "attachmentCreate" => {
            let input = arg("input");
            let id = issue_of(l, input["issueId"].as_str().unwrap_or(""))
                .ok_or_else(|| not_found(&f.name, "Issue"))?;
            let url = input["url"].as_str().unwrap_or("").to_string();
            let aid = l.uuid(0xa7);
            let i = l.issues.get_mut(&id).expect("found above");
            // the same url on the same issue updates the attachment
            let made = json!({"id": aid, "url": url, "title": input["title"],
                "subtitle": input["subtitle"]});
            match i.attachments.iter_mut().find(|a| a["url"] == url) {
                Some(a) => {
                    a["title"] = input["title"].clone();
                    a["subtitle"] = input["subtitle"].clone();
                }
                None => i.attachments.push(made),
            }
            Ok(json!({"success": true}))
        }
        "issueUpdate" => {
            let id = issue_of(l, arg("id").as_str().unwrap_or(""))
                .ok_or_else(|| not_found(&f.name, "Issue"))?;
            let input = arg("input");
            let keys: Vec<&String> = input
                .as_object()
                .map(|o| o.keys().collect())
                .unwrap_or_default();
            if keys != ["stateId"] {
                return Err(gql_error(
                    500,
                    "the sandbox's issueUpdate takes stateId alone (all afk sends)",
                    "INTERNAL_ERROR",
                    "internal error",
                ));
            }
            let to = input["stateId"].as_str().unwrap_or("").to_string();
            let team = l.issues[&id].team.clone();
            if !l.teams[&team].states.iter().any(|s| s.id == to) {
                return Err(not_found(&f.name, "WorkflowState"));
            }
            let from =
                std::mem::replace(&mut l.issues.get_mut(&id).expect("found").state, to.clone());
            l.record(
                &id,
                Some(AFK_USER),
                json!({"fromStateId": from, "toStateId": to}),
            );
            Ok(json!({"success": true, "issue": {"id": id}}))
        }
        other => Err(gql_error(
            500,
            &format!("the sandbox does not answer {other}"),
            "INTERNAL_ERROR",
            "internal error",
        )),
    }
}

fn comment_json(c: &Comment) -> Value {
    json!({"id": c.id, "body": c.body, "createdAt": c.created_at,
        "updatedAt": c.updated_at, "user": {"id": c.user}})
}

/// The admin API under `/_admin/linear`: the people's side.
/// The keys each `/_admin/linear` call's body may hold (docs/sandbox.md's
/// table is read against it).
pub(crate) const TAKES: &[(&str, &str, &str)] = &[
    ("POST", "/user", "name active guest app"),
    ("POST", "/team", "key members states"),
    ("POST", "/label", "name team"),
    ("POST", "/project", "name"),
    (
        "POST",
        "/issue",
        "team title description labels creator project",
    ),
    ("POST", "/labels", "issue by add remove bot"),
    ("POST", "/edit", "issue by field to"),
    ("POST", "/block", "issue blocker"),
    ("POST", "/ratelimit", "times reset_in"),
];

pub fn admin(l: &mut Linear, path: &str, method: &str, body: &Value) -> Reply {
    let bad = |msg: &str| Reply::json(400, &json!({"error": msg}));
    let takes =
        (TAKES.iter().chain(super::linear_agents::TAKES)).chain(super::linear_webhooks::TAKES);
    if let Some((_, _, allowed)) = takes.clone().find(|(m, p, _)| *m == method && *p == path) {
        let allowed: Vec<&str> = allowed.split_whitespace().collect();
        if let Some(k) = body
            .as_object()
            .and_then(|o| o.keys().find(|k| !allowed.contains(&k.as_str())))
        {
            return bad(&format!(
                "unknown key {k:?} for /_admin/linear{path}: it takes {}",
                allowed.join(", ")
            ));
        }
    }
    if let Some(reply) = (super::linear_agents::admin(l, method, path, body))
        .or_else(|| super::linear_webhooks::admin(l, method, path, body))
    {
        return reply;
    }
    let s = |k: &str| body[k].as_str().unwrap_or("").to_string();
    match (method, path) {
        ("GET", "/credentials") => Reply::json(
            200,
            &json!({"key": l.key, "bearer": l.bearer, "me": AFK_USER}),
        ),
        ("POST", "/user") => {
            let id = l.uuid(0x05e4);
            let user = User {
                name: s("name"),
                active: body["active"].as_bool().unwrap_or(true),
                guest: body["guest"].as_bool().unwrap_or(false),
                app: body["app"].as_bool().unwrap_or(false),
            };
            l.users.insert(id.clone(), user);
            Reply::json(200, &json!({"id": id}))
        }
        ("POST", "/team") => {
            let id = l.uuid(0x7ea3);
            // the team's own states when a test names them (`name`, `type`,
            // `position`), else Linear's defaults in their order
            let defaults = [
                ("Backlog", "backlog"),
                ("Todo", "unstarted"),
                ("Ready", "unstarted"),
                ("In Progress", "started"),
                ("Done", "completed"),
                ("Canceled", "canceled"),
                ("Duplicate", "duplicate"),
            ];
            let defaults = defaults
                .iter()
                .enumerate()
                .map(|(p, (n, k))| json!({"name": n, "type": k, "position": p}));
            let given = body["states"].as_array().cloned();
            let mut states = vec![];
            for st in given.unwrap_or_else(|| defaults.collect()) {
                states.push(WorkflowState {
                    id: l.uuid(0x57a7),
                    name: st["name"].as_str().unwrap_or("").into(),
                    kind: st["type"].as_str().unwrap_or("").into(),
                    position: st["position"].as_f64().unwrap_or(0.0),
                });
            }
            let team = Team {
                id: id.clone(),
                key: s("key"),
                members: strings(&body["members"]),
                states,
            };
            l.teams.insert(id.clone(), team);
            Reply::json(200, &json!({"id": id}))
        }
        ("POST", "/label") => {
            let team = match body["team"].as_str() {
                None => None,
                Some(k) => match l.team_by_key(k) {
                    Some(t) => Some(t.id.clone()),
                    None => return bad("no such team"),
                },
            };
            let id = l.uuid(0x1abe1);
            l.labels.insert(
                id.clone(),
                IssueLabel {
                    id: id.clone(),
                    name: s("name"),
                    team,
                },
            );
            Reply::json(200, &json!({"id": id}))
        }
        ("POST", "/project") => {
            let id = l.uuid(0x9e0);
            l.projects.insert(id.clone(), s("name"));
            Reply::json(200, &json!({"id": id}))
        }
        ("POST", "/issue") => admin_issue(l, body),
        ("POST", "/labels") => {
            let Some(i) = find(l, &s("issue")).cloned() else {
                return bad("no such issue");
            };
            let ids = |names: &[String]| -> Option<Vec<String>> {
                names.iter().map(|n| label_id(l, &i.team, n)).collect()
            };
            let (Some(add), Some(remove)) =
                (ids(&strings(&body["add"])), ids(&strings(&body["remove"])))
            else {
                return bad("no such label in the issue's team or the workspace");
            };
            let issue = l.issues.get_mut(&i.id).expect("found");
            issue.label_ids.retain(|x| !remove.contains(x));
            for a in &add {
                if !issue.label_ids.contains(a) {
                    issue.label_ids.push(a.clone());
                }
            }
            let added = match add.is_empty() {
                true => Value::Null,
                false => json!(add),
            };
            let removed = match remove.is_empty() {
                true => Value::Null,
                false => json!(remove),
            };
            // an integration's change names its bot, with or without a person
            let bot =
                (body["bot"].as_str()).map(|t| json!({"id": l.uuid(0xb07), "name": t, "type": t}));
            l.record(
                &i.id,
                body["by"].as_str(),
                json!({"addedLabelIds": added, "removedLabelIds": removed, "botActor": bot}),
            );
            Reply::json(200, &json!({}))
        }
        ("POST", "/edit") => admin_edit(l, body),
        ("POST", "/ratelimit") => {
            l.ratelimited = body["times"].as_u64().unwrap_or(1) as u32;
            l.ratelimit_reset_in = body["reset_in"].as_u64().unwrap_or(3600).min(86_400);
            Reply::json(200, &json!({}))
        }
        ("POST", "/block") => {
            let (Some(i), Some(b)) = (
                find(l, &s("issue")).cloned(),
                find(l, &s("blocker")).cloned(),
            ) else {
                return bad("no such issue");
            };
            l.issues
                .get_mut(&i.id)
                .expect("found")
                .blocked_by
                .push(b.id);
            Reply::json(200, &json!({}))
        }
        ("GET", p) if p.starts_with("/issue/") => match find(l, &p["/issue/".len()..]) {
            Some(i) => {
                let mut v = l.issue_json(i);
                v["labels"] = json!(
                    i.label_ids
                        .iter()
                        .filter_map(|id| l.labels.get(id).map(|lb| lb.name.clone()))
                        .collect::<Vec<_>>()
                );
                Reply::json(200, &v)
            }
            None => Reply::json(404, &json!({"error": "no such issue"})),
        },
        _ => Reply::json(404, &json!({"error": "not found"})),
    }
}

/// The id of the label named `name` (as written) in `team` or the workspace.
fn label_id(l: &Linear, team: &str, name: &str) -> Option<String> {
    l.labels
        .values()
        .find(|lb| lb.name == name && lb.team.as_deref().is_none_or(|t| t == team))
        .map(|lb| lb.id.clone())
}

/// `POST /_admin/linear/issue`: an issue in a team (by key), its labels
/// (by name) given at creation: no history entry.
fn admin_issue(l: &mut Linear, body: &Value) -> Reply {
    let key = body["team"].as_str().unwrap_or("ENG");
    let Some(team) = l.team_by_key(key).cloned() else {
        return Reply::json(400, &json!({"error": "no such team"}));
    };
    let mut label_ids = vec![];
    for n in body["labels"].as_array().into_iter().flatten() {
        match label_id(l, &team.id, n.as_str().unwrap_or("")) {
            Some(id) => label_ids.push(id),
            None => return Reply::json(400, &json!({"error": "no such label"})),
        }
    }
    let number = l.issues.values().filter(|i| i.team == team.id).count() as u64 + 1;
    let id = l.uuid(0x155e);
    let created_at = l.stamp();
    let state = team.states[0].id.clone();
    let issue = Issue {
        id: id.clone(),
        team: team.id.clone(),
        number,
        title: body["title"].as_str().unwrap_or("A task").to_string(),
        description: body["description"].as_str().map(str::to_string),
        state,
        label_ids,
        creator: body["creator"].as_str().map(str::to_string),
        created_at,
        trashed: false,
        history: vec![],
        comments: vec![],
        attachments: vec![],
        blocked_by: vec![],
        delegate: None,
        project: match body["project"].as_str() {
            None => None,
            Some(p) => match project_id(l, p) {
                Some(id) => Some(id),
                None => return Reply::json(400, &json!({"error": "no such project"})),
            },
        },
    };
    let identifier = format!("{}-{number}", team.key);
    l.issues.insert(id.clone(), issue);
    Reply::json(200, &json!({"id": id, "identifier": identifier}))
}

/// A project's id by its id or its name.
fn project_id(l: &Linear, p: &str) -> Option<String> {
    l.projects
        .iter()
        .find(|(id, name)| *id == p || name.eq_ignore_ascii_case(p))
        .map(|(id, _)| id.clone())
}

/// `POST /_admin/linear/edit`: `title`, `description`, `state` (by name in
/// the team), `project` (by name or id; null: out of any) or `trashed`
/// changed by `by`, one history entry.
fn admin_edit(l: &mut Linear, body: &Value) -> Reply {
    let Some(i) = find(l, body["issue"].as_str().unwrap_or("")).cloned() else {
        return Reply::json(400, &json!({"error": "no such issue"}));
    };
    let by = body["by"].as_str();
    let to = &body["to"];
    let entry = match body["field"].as_str().unwrap_or("") {
        "title" => {
            let new = to.as_str().unwrap_or("").to_string();
            l.issues.get_mut(&i.id).expect("found").title = new.clone();
            json!({"fromTitle": i.title, "toTitle": new})
        }
        "description" => {
            l.issues.get_mut(&i.id).expect("found").description = to.as_str().map(str::to_string);
            json!({"updatedDescription": true, "descriptionUpdatedBy": by.map(|b| json!([{"id": b}]))})
        }
        "state" => {
            let name = to.as_str().unwrap_or("");
            let Some(s) = l.teams[&i.team]
                .states
                .iter()
                .find(|s| s.name == name)
                .cloned()
            else {
                return Reply::json(400, &json!({"error": "no such state in the team"}));
            };
            l.issues.get_mut(&i.id).expect("found").state = s.id.clone();
            json!({"fromStateId": i.state, "toStateId": s.id})
        }
        "project" => {
            let new = match to.as_str() {
                None => None,
                Some(p) => match project_id(l, p) {
                    Some(id) => Some(id),
                    None => return Reply::json(400, &json!({"error": "no such project"})),
                },
            };
            l.issues.get_mut(&i.id).expect("found").project = new.clone();
            json!({"fromProjectId": i.project, "toProjectId": new})
        }
        "trashed" => {
            l.issues.get_mut(&i.id).expect("found").trashed = to.as_bool().unwrap_or(true);
            json!({"trashed": to.as_bool().unwrap_or(true)})
        }
        // gone for good (past the trash's 30 days): "Entity not found"
        "deleted" => {
            l.issues.remove(&i.id);
            return Reply::json(200, &json!({}));
        }
        _ => {
            return Reply::json(
                400,
                &json!({"error": "field is title, description, state, project, trashed or deleted"}),
            );
        }
    };
    l.record(&i.id, by, entry);
    Reply::json(200, &json!({}))
}

/// `issueLabelCreate` (the model's `create_label`): Linear's refusal is an
/// `INPUT_ERROR` beside `data: null`.
fn label_create(l: &mut Linear, input: &Value) -> Result<Value, Reply> {
    let made = l.create_label(
        input["name"].as_str().unwrap_or(""),
        input["teamId"].as_str(),
        input["id"].as_str(),
    );
    match made {
        Ok(id) => Ok(json!({"success": true, "lastSyncId": 1.0,
            "issueLabel": {"id": id, "name": input["name"]}})),
        Err(m) => Err(Reply::json(
            200,
            &json!({"data": null, "errors": [{"message": m, "path": ["issueLabelCreate"],
                "extensions": {"type": "invalid input", "code": "INPUT_ERROR", "statusCode": 400,
                "userError": true, "userPresentableMessage": m}}]}),
        )),
    }
}
