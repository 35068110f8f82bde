//! The admin calls of the Azure DevOps dialect (`/_admin/ado/…`, listed
//! in `admin.rs`'s `TAKES` and docs/sandbox.md): a write "with bypass"
//! (`System.ChangedBy` and `revisedBy` another's, `System.AuthorizedAs` the
//! writer's), identities and groups, access control entries, work-item
//! comments by people, votes, threads, a pull request's merge status, the
//! next ref update's verdict, policy evaluations and their builds, pull
//! request statuses, a person's completion, the continuation page size,
//! the `X-RateLimit-Delay` of every answer, a redelivery, work items in
//! bulk, and a person's change racing afk's next write.

use crate::err;
use crate::http::Reply;
use crate::model::Forge;
use crate::model::azure::{
    CSS_NS, GIT_NS, Identity, Kind, PROJECT_NS, Race, Revision, WorkItem, area_of, area_token, bit,
    guid, project_id, project_token, repo_token, split,
};
use serde_json::{Map, Value, json};

fn ok(v: Value) -> Reply {
    Reply::json(200, &v)
}

/// The work item a body names: `item` (its id), or `repo` and `issue`.
fn item_of(f: &mut Forge, body: &Value) -> Result<u64, String> {
    f.az_sync();
    if let Some(id) = body["item"].as_u64() {
        return f
            .az
            .items
            .contains_key(&id)
            .then_some(id)
            .ok_or(format!("no work item {id}"));
    }
    let repo = body["repo"]
        .as_str()
        .ok_or("repo and issue, or item, are required")?;
    let issue = body["issue"]
        .as_u64()
        .ok_or("repo and issue, or item, are required")?;
    f.az_item_of(repo, issue)
        .ok_or(format!("no work item for {repo}#{issue}"))
}

fn pr_of(f: &mut Forge, body: &Value) -> Result<u64, String> {
    f.az_sync();
    let n = body["pr"].as_u64().ok_or("pr is required")?;
    f.az.prs
        .contains_key(&n)
        .then_some(n)
        .ok_or(format!("no pull request {n}"))
}

fn person(f: &mut Forge, body: &Value, key: &str, default: &str) -> String {
    let name = body[key].as_str().unwrap_or(default).to_string();
    f.az.ensure(&name)
}

/// `POST /ado/bypass {repo, issue | item, by, as, fields, add_tags}`: `by`,
/// who must hold `BYPASS_RULES` on the project, writes `fields` (and adds
/// `add_tags`) with `System.ChangedBy` set to `as` (default: `by`).
pub(crate) fn bypass(f: &mut Forge, body: &Value) -> Reply {
    let id = match item_of(f, body) {
        Ok(id) => id,
        Err(e) => return err(400, &e),
    };
    let Some(by_name) = body["by"].as_str() else {
        return err(400, "by is required");
    };
    let by = f.az.ensure(by_name);
    let project = crate::model::azure::split(&f.az.items[&id].repo)
        .0
        .to_string();
    let holds =
        f.az.by_id(&by)
            .and_then(|w| f.az.effective(PROJECT_NS, &project_token(&project), w));
    if holds.is_none_or(|(allow, _)| allow & bit(PROJECT_NS, "BYPASS_RULES") == 0) {
        return err(
            403,
            &format!("{by_name} does not hold BYPASS_RULES on {project}"),
        );
    }
    let shown = body["as"].as_str().map(|n| f.az.ensure(n));
    let mut changes: Vec<(String, Value)> = body["fields"]
        .as_object()
        .map(|o| o.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default();
    let old_tags = super::sync::tags_of(&f.az.items[&id].fields);
    if let Some(add) = body["add_tags"].as_array() {
        let mut tags = old_tags.clone();
        for t in add.iter().filter_map(Value::as_str) {
            if !tags.iter().any(|x| x.eq_ignore_ascii_case(t)) {
                tags.push(t.to_string());
            }
        }
        changes.push(("System.Tags".into(), json!(super::sync::tags_text(&tags))));
    }
    let rev = f.az_write(id, changes.clone(), &by, shown.as_deref(), vec![]);
    let writer =
        f.az.by_id(shown.as_deref().unwrap_or(&by))
            .map(|i| i.name.clone())
            .unwrap_or_default();
    super::wit::mirror(f, id, &old_tags, &changes, &writer);
    f.az_item_updated(id);
    ok(json!({"item": id, "rev": rev}))
}

/// `POST /ado/identity {name, kind, active, members}`: a person (`user`), a
/// `service_principal`, a `build_service` identity or a `group` (with its
/// members' names), made or changed.
pub(crate) fn identity(f: &mut Forge, body: &Value) -> Reply {
    let Some(name) = body["name"].as_str() else {
        return err(400, "name is required");
    };
    let kind = match body["kind"].as_str().map(Kind::parse) {
        None => Kind::User,
        Some(Some(k)) => k,
        Some(None) => return err(400, "kind: user, service_principal, build_service or group"),
    };
    let members: Vec<String> = body["members"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|m| m.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let active = body["active"].as_bool().unwrap_or(true);
    let found =
        f.az.identities
            .iter()
            .position(|i| i.name.eq_ignore_ascii_case(name));
    let id = match found {
        Some(at) => {
            let i = &mut f.az.identities[at];
            i.kind = kind;
            i.active = active;
            if body.get("members").is_some() {
                i.members = members;
            }
            i.id.clone()
        }
        None => {
            let id = guid(&format!("identity:{name}"));
            f.az.identities.push(Identity {
                id: id.clone(),
                name: name.to_string(),
                kind,
                active,
                members,
            });
            id
        }
    };
    let i = f.az.by_id(&id).expect("the identity just made");
    ok(json!({"id": id, "descriptor": i.descriptor(), "subjectDescriptor": i.subject()}))
}

/// Bits from a number or a list of action names of namespace `ns`.
fn bits(ns: &str, v: &Value) -> Result<u64, String> {
    match v {
        Value::Null => Ok(0),
        Value::Number(n) => n.as_u64().ok_or("bits are a whole number".into()),
        Value::Array(a) => a.iter().try_fold(0u64, |acc, x| -> Result<u64, String> {
            let name = x.as_str().ok_or("an action's name")?;
            match bit(ns, name) {
                0 => Err(format!("no action {name} in this namespace")),
                b => Ok(acc | b),
            }
        }),
        _ => Err("allow and deny are a number or a list of action names".into()),
    }
}

/// `POST /ado/acl {namespace, token | repo | project, who, allow, deny}`:
/// set `who`'s entry (a person's or a group's name) in `git`, `project` or
/// `css` (or a namespace id) on a token, or on `repo`'s or `project`'s.
pub(crate) fn acl(f: &mut Forge, body: &Value) -> Reply {
    f.az_sync();
    let ns = match body["namespace"].as_str().unwrap_or("git") {
        "git" => GIT_NS,
        "project" => PROJECT_NS,
        "css" => CSS_NS,
        other if [GIT_NS, PROJECT_NS, CSS_NS].contains(&other) => other,
        other => return err(400, &format!("namespace {other}: git, project or css")),
    }
    .to_string();
    let token = match (
        body["token"].as_str(),
        body["repo"].as_str(),
        body["project"].as_str(),
    ) {
        (Some(t), _, _) => t.to_string(),
        (None, Some(r), _) if ns == GIT_NS => repo_token(r),
        (None, Some(r), _) if ns == CSS_NS => area_token(&area_of(r)),
        (None, Some(r), _) => project_token(crate::model::azure::split(r).0),
        (None, None, Some(p)) if ns == GIT_NS => format!("repoV2/{}", project_id(p)),
        (None, None, Some(p)) if ns == CSS_NS => area_token(p),
        (None, None, Some(p)) => project_token(p),
        _ => return err(400, "token, repo or project is required"),
    };
    let Some(who) = body["who"].as_str() else {
        return err(400, "who is required");
    };
    let descriptor = match f.az.by_name(who) {
        Some(i) => i.descriptor(),
        None => {
            let id = f.az.ensure(who);
            f.az.by_id(&id).map(|i| i.descriptor()).unwrap_or_default()
        }
    };
    let (allow, deny) = match (bits(&ns, &body["allow"]), bits(&ns, &body["deny"])) {
        (Ok(a), Ok(d)) => (a, d),
        (Err(e), _) | (_, Err(e)) => return err(400, &e),
    };
    f.az.set_ace(&ns, &token, &descriptor, allow, deny);
    ok(
        json!({"namespace": ns, "token": token, "descriptor": descriptor, "allow": allow, "deny": deny}),
    )
}

/// `POST /ado/comment {repo, issue | item, by, text, on_behalf}`: a
/// person's work-item comment (`createdOnBehalfOf` another's with
/// `on_behalf`); with `comment`, that comment's text edited (its `version`
/// goes up).
pub(crate) fn comment(f: &mut Forge, body: &Value) -> Reply {
    let Some(text) = body["text"].as_str() else {
        return err(400, "text is required");
    };
    if let Some(cid) = body["comment"].as_u64() {
        let at = super::utc(&f.edit_stamp());
        let Some(c) = f.az.comments.get_mut(&cid) else {
            return err(404, &format!("no work-item comment {cid}"));
        };
        c.text = text.to_string();
        c.version += 1;
        c.modified = at;
        return ok(json!({"comment": cid, "version": c.version}));
    }
    let item = match item_of(f, body) {
        Ok(id) => id,
        Err(e) => return err(400, &e),
    };
    let by = person(f, body, "by", "alice");
    let on_behalf = body["on_behalf"].as_str().map(|n| f.az.ensure(n));
    let id = super::comments::add_comment(f, item, &by, text, on_behalf);
    ok(json!({"comment": id}))
}

/// `POST /ado/vote {pr, by, vote, system_comment}`: a reviewer's vote and its
/// system comment (none with `"system_comment": false`: the reviewer list
/// alone then says it, undated).
pub(crate) fn vote(f: &mut Forge, body: &Value) -> Reply {
    let n = match pr_of(f, body) {
        Ok(n) => n,
        Err(e) => return err(400, &e),
    };
    let by = person(f, body, "by", "alice");
    let Some(v) = body["vote"].as_i64() else {
        return err(400, "vote is required: 10, 5, 0, -5 or -10");
    };
    match super::threads::vote(
        f,
        n,
        &by,
        v,
        body["system_comment"].as_bool().unwrap_or(true),
    ) {
        Ok(()) => {
            f.az_pr_updated(n);
            ok(json!({"pr": n, "vote": v}))
        }
        Err(e) => err(400, &e),
    }
}

/// `POST /ado/thread {pr, by, text, status, path, line, type}`: a person's
/// new thread (status `active` unless named; `path`/`line` a file's line;
/// `type` `system`: its first comment one the service writes itself, as for
/// a vote or a push, whatever its text); with `thread`: a reply in it
/// (`text`), its `status` set, its comment `comment` edited (`text`), or it
/// `deleted`.
pub(crate) fn thread(f: &mut Forge, body: &Value) -> Reply {
    let n = match pr_of(f, body) {
        Ok(n) => n,
        Err(e) => return err(400, &e),
    };
    let by = person(f, body, "by", "alice");
    let text = body["text"].as_str();
    let status = body["status"].as_str();
    let Some(t) = body["thread"].as_u64() else {
        let Some(text) = text else {
            return err(400, "text is required for a new thread");
        };
        // `CommentType`: what a person writes is `text`; the service's own
        // records (votes, pushes, status changes) are `system`
        let kind = match body["type"].as_str().unwrap_or("text") {
            k @ ("text" | "system") => k,
            _ => return err(400, "type: text or system"),
        };
        let context = match body["path"].as_str() {
            Some(p) => {
                let line = body["line"].as_u64().unwrap_or(1);
                json!({"filePath": p, "rightFileStart": {"line": line, "offset": 1}, "rightFileEnd": {"line": line, "offset": 1}})
            }
            None => Value::Null,
        };
        let t = f.az_new_thread(
            n,
            &by,
            text,
            Some(status.unwrap_or("active")),
            context,
            kind,
        );
        f.az_comment_event(n, t, 1);
        return ok(json!({"thread": t, "comment": 1}));
    };
    if f.az.threads.get(&t).is_none_or(|x| x.pr != n) {
        return err(404, &format!("no thread {t} on pull request {n}"));
    }
    let at = super::now(f);
    if let Some(cid) = body["comment"].as_u64() {
        let Some(c) =
            f.az.threads
                .get_mut(&t)
                .and_then(|th| th.comments.iter_mut().find(|c| c.id == cid))
        else {
            return err(404, &format!("no comment {cid} in thread {t}"));
        };
        if let Some(text) = text {
            c.content = text.to_string();
            c.content_updated = at.clone();
            c.updated = at;
        }
        return ok(json!({"thread": t, "comment": cid}));
    }
    let mut made = None;
    if let Some(text) = text {
        let id = super::threads::add_reply(f, t, &by, text, 1);
        f.az_comment_event(n, t, id);
        made = Some(id);
    }
    if let Some(th) = f.az.threads.get_mut(&t) {
        if let Some(s) = status {
            th.status = Some(s.to_string());
            th.updated = at.clone();
        }
        if body["deleted"].as_bool() == Some(true) {
            th.deleted = true;
        }
    }
    ok(json!({"thread": t, "comment": made}))
}

/// `POST /ado/merge_status {pr, status, next}`: what the pull request's
/// next read says, and (`next`) what the one after says.
pub(crate) fn merge_status(f: &mut Forge, body: &Value) -> Reply {
    let n = match pr_of(f, body) {
        Ok(n) => n,
        Err(e) => return err(400, &e),
    };
    let known = [
        "notSet",
        "queued",
        "conflicts",
        "succeeded",
        "rejectedByPolicy",
        "failure",
    ];
    let Some(s) = body["status"].as_str().filter(|s| known.contains(s)) else {
        return err(400, &format!("status: one of {}", known.join(", ")));
    };
    // said for the heads now: a push after it queues it again
    let now = super::pulls::heads(f, &f.az.prs[&n]);
    let p = f.az.prs.get_mut(&n).expect("the pull request");
    p.merge_status = s.to_string();
    p.merge_next = body["next"].as_str().map(str::to_string);
    p.merge_heads = Some(now);
    ok(json!({"pr": n, "mergeStatus": s}))
}

/// `POST /ado/merge_hold {hold}`: while `hold` is true, every merge
/// operation's `GET` answers `inProgress`; false lets each say how it ended.
pub(crate) fn merge_hold(f: &mut Forge, body: &Value) -> Reply {
    let Some(hold) = body["hold"].as_bool() else {
        return err(400, "hold: true or false");
    };
    f.az.merge_hold = hold;
    ok(json!({"hold": hold}))
}

/// `POST /ado/ref_verdict {status}`: the next ref update (`POST …/refs`)
/// is answered with this `updateStatus` and changes nothing.
pub(crate) fn ref_verdict(f: &mut Forge, body: &Value) -> Reply {
    f.az.ref_verdict = body["status"]
        .as_str()
        .filter(|s| !s.is_empty())
        .map(str::to_string);
    ok(json!({"status": f.az.ref_verdict}))
}

/// `POST /ado/evaluation {pr, status, name, kind, expired, result}`.
pub(crate) fn evaluation(f: &mut Forge, body: &Value) -> Reply {
    let n = match pr_of(f, body) {
        Ok(n) => n,
        Err(e) => return err(400, &e),
    };
    let status = body["status"].as_str().unwrap_or("approved");
    let name = body["name"].as_str().unwrap_or("CI");
    let kind = body["kind"].as_str().unwrap_or("build");
    let expired = body["expired"].as_bool().unwrap_or(false);
    match super::pulls::evaluate(f, n, status, name, kind, expired, body["result"].as_str()) {
        Ok(e) => {
            f.az_pr_updated(n);
            ok(e)
        }
        Err(e) => err(400, &e),
    }
}

/// `POST /ado/pr_status {pr, state, genre, name, description, target_url, by,
/// iteration}`: posted on `iteration`, else the PR's latest (its head's).
pub(crate) fn pr_status(f: &mut Forge, body: &Value) -> Reply {
    let n = match pr_of(f, body) {
        Ok(n) => n,
        Err(e) => return err(400, &e),
    };
    let state = body["state"].as_str().unwrap_or("succeeded");
    if ![
        "succeeded",
        "failed",
        "error",
        "pending",
        "notSet",
        "notApplicable",
    ]
    .contains(&state)
    {
        return err(
            400,
            "state: succeeded, failed, error, pending, notSet or notApplicable",
        );
    }
    let by = person(f, body, "by", "ci-bot");
    let by =
        f.az.by_id(&by)
            .map(|i| i.as_ref(&f.base))
            .unwrap_or(Value::Null);
    let at = super::now(f);
    // the iteration it names, else the PR's latest (its head's)
    let iteration = match body["iteration"].as_u64() {
        Some(i) => i,
        None => super::pulls::az_iterations(f, n).len() as u64,
    };
    let p = f.az.prs.get_mut(&n).expect("the pull request");
    let id = p.statuses.len() + 1;
    let v = json!({"id": id, "iterationId": iteration, "state": state, "description": body["description"].as_str().unwrap_or(""),
        "context": {"genre": body["genre"].as_str().unwrap_or(""), "name": body["name"].as_str().unwrap_or("ci")},
        "targetUrl": body["target_url"].as_str().unwrap_or(""), "creationDate": at, "updatedDate": at, "createdBy": by});
    p.statuses.push(v.clone());
    f.az_pr_updated(n);
    ok(v)
}

/// `POST /ado/complete {pr, by, close_items}`: a person completes the pull
/// request (the merge), and with `close_items` moves its work items to Done.
pub(crate) fn complete(f: &mut Forge, body: &Value) -> Reply {
    let n = match pr_of(f, body) {
        Ok(n) => n,
        Err(e) => return err(400, &e),
    };
    let by = person(f, body, "by", "alice");
    match super::pulls::complete(f, n, &by, body["close_items"].as_bool().unwrap_or(false)) {
        Ok(()) => {
            f.az_pr_updated(n);
            ok(super::pulls::pr_json(f, &f.az.prs[&n], false))
        }
        Err(r) => r,
    }
}

/// `POST /ado/page_size {size}`: the page of the lists paged by continuation token.
pub(crate) fn page_size(f: &mut Forge, body: &Value) -> Reply {
    match body["size"].as_u64().filter(|s| *s > 0) {
        Some(s) => {
            f.az.page_size = s as usize;
            ok(json!({"size": s}))
        }
        None => err(400, "size is a whole number above 0"),
    }
}

/// `POST /ado/throttle {delay}`: every answer says it was delayed
/// (`X-RateLimit-Delay`, `X-RateLimit-Remaining: 0`); no `delay` stops it.
pub(crate) fn throttle(f: &mut Forge, body: &Value) -> Reply {
    f.az.delay = body["delay"].as_f64().filter(|d| *d > 0.0);
    ok(json!({"delay": f.az.delay}))
}

/// `POST /ado/redeliver {event, notification}`: a delivery sent again.
pub(crate) fn redeliver(f: &mut Forge, body: &Value) -> Reply {
    match f.az_redeliver(body["event"].as_str(), body["notification"].as_u64()) {
        Ok(v) => ok(v),
        Err(e) => err(400, &e),
    }
}

/// The most work items one `/ado/bulk` makes.
const BULK_MAX: u64 = 100_000;

/// `POST /ado/bulk {repo, count, tags, first, by}`: `count` work items of
/// type `Issue` in state `To Do` under `repo`'s area path, carrying `tags`,
/// made by `by` [alice] and numbered from `first` (default: one past the
/// highest; a taken id is skipped). The organization's alone: no issue of
/// the shared model follows them, and they keep no history (their one
/// revision, and its update, name no field), so twenty thousand of them,
/// what fills one WIQL answer, stay cheap. Answers the first and last id.
pub(crate) fn bulk(f: &mut Forge, body: &Value) -> Reply {
    f.az_sync();
    let Some(repo) = body["repo"]
        .as_str()
        .filter(|r| f.repos.contains_key(*r))
        .map(str::to_string)
    else {
        return err(400, "repo is required: a seeded repository");
    };
    let Some(count) = body["count"]
        .as_u64()
        .filter(|n| (1..=BULK_MAX).contains(n))
    else {
        return err(
            400,
            &format!("count is a whole number from 1 to {BULK_MAX}"),
        );
    };
    let tags: Vec<String> = body["tags"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|t| t.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let by = person(f, body, "by", "alice");
    // one date for all: each stamp moves the sandbox's clock a second on
    let at = super::now(f);
    let project = split(&repo).0.to_string();
    let mut id = body["first"]
        .as_u64()
        .unwrap_or_else(|| f.az.items.keys().next_back().map_or(1, |n| n + 1))
        .max(1);
    let (mut first, mut last) = (None, 0);
    for _ in 0..count {
        while f.az.items.contains_key(&id) {
            id += 1;
        }
        let mut fields = Map::new();
        for (k, v) in [
            ("System.Id", json!(id)),
            ("System.AreaPath", json!(area_of(&repo))),
            ("System.TeamProject", json!(project)),
            ("System.IterationPath", json!(project)),
            ("System.WorkItemType", json!("Issue")),
            ("System.State", json!("To Do")),
            ("System.Title", json!(format!("Work item {id}"))),
            ("System.Rev", json!(1)),
            ("System.CreatedDate", json!(at)),
            ("System.ChangedDate", json!(at)),
        ] {
            fields.insert(k.to_string(), v);
        }
        if !tags.is_empty() {
            fields.insert("System.Tags".into(), json!(super::sync::tags_text(&tags)));
        }
        f.az.items.insert(
            id,
            WorkItem {
                id,
                repo: repo.clone(),
                number: 0,
                fields,
                relations: vec![],
                revisions: vec![Revision {
                    rev: 1,
                    by: by.clone(),
                    at: at.clone(),
                    fields: Map::new(),
                    changed: vec![],
                    relations: vec![],
                }],
                synced_events: 0,
                synced_renames: 0,
                synced_state: "open".into(),
                synced_body: String::new(),
                synced_deps: 0,
                markdown: false,
            },
        );
        first.get_or_insert(id);
        last = id;
        id += 1;
    }
    ok(json!({"first": first, "last": last}))
}

/// `POST /ado/race {repo, issue | item, by, add_tags, fields, times}`: each
/// of the next `times` [1] JSON Patches of the work item through the API
/// finds a change by `by` [alice] (`add_tags` added, `fields` written) made
/// between the writer's read and its write, so a `test` on the `/rev` it
/// read is refused `412`: a person's concurrent change, on cue.
pub(crate) fn race(f: &mut Forge, body: &Value) -> Reply {
    let id = match item_of(f, body) {
        Ok(id) => id,
        Err(e) => return err(400, &e),
    };
    let by = person(f, body, "by", "alice");
    let add_tags: Vec<String> = body["add_tags"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|t| t.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let fields: Vec<(String, Value)> = body["fields"]
        .as_object()
        .map(|o| o.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default();
    if add_tags.is_empty() && fields.is_empty() {
        return err(400, "add_tags or fields: the change that races the write");
    }
    let times = body["times"].as_u64().unwrap_or(1).clamp(1, 100) as u32;
    f.az.races.retain(|r| r.item != id);
    f.az.races.push(Race {
        item: id,
        by,
        add_tags,
        fields,
        times,
    });
    ok(json!({"item": id, "times": times}))
}

/// `POST /ado/markdown {repo, issue | item}`: the work item's
/// `System.Description` is Markdown from now on (`multilineFieldsFormat`),
/// as a person's switch of the field in the new editor makes it; there is
/// no way back to HTML.
pub(crate) fn markdown(f: &mut Forge, body: &Value) -> Reply {
    match item_of(f, body) {
        Ok(id) => {
            f.az.items.get_mut(&id).expect("found").markdown = true;
            ok(json!({"item": id}))
        }
        Err(e) => err(404, &e),
    }
}
