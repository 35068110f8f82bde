//! Azure Boards: work items (one, a batch of up to 200, a JSON Patch with
//! its `test` on `/rev` refused `412` when stale), their updates (with
//! `revisedBy`) and revisions (with `System.ChangedBy` and
//! `System.AuthorizedAs`), comments (paged by `continuationToken` in the
//! body, `version`, `createdOnBehalfOf`, likes), the types' states with
//! their categories, tags and area nodes. Each change a person or afk makes
//! is written back to the shared model (tags as labels, the state's
//! category as open or closed, title, description).

use super::comments;
use super::sync::{tags_of, tags_text};
use super::{err, list, no_route, org_url, project_api};
use crate::http::{Reply, Request};
use crate::model::Forge;
use crate::model::azure::{PROJECT_NS, WorkItem, area_id, area_of, bit, project_token, split};
use serde_json::{Map, Value, json};

/// A work item type's state: (name, color, category).
pub(crate) type State = (&'static str, &'static str, &'static str);

/// The Basic process's Issue.
const ISSUE: &[State] = &[
    ("To Do", "b2b2b2", "Proposed"),
    ("Doing", "007acc", "InProgress"),
    ("Done", "339933", "Completed"),
];

/// The Agile process's Bug and User Story.
const AGILE: &[State] = &[
    ("New", "b2b2b2", "Proposed"),
    ("Active", "007acc", "InProgress"),
    ("Resolved", "ff9d00", "Resolved"),
    ("Closed", "339933", "Completed"),
    ("Removed", "ffffff", "Removed"),
];

/// The Scrum process's Product Backlog Item.
const SCRUM: &[State] = &[
    ("New", "b2b2b2", "Proposed"),
    ("Approved", "b2b2b2", "Proposed"),
    ("Committed", "007acc", "InProgress"),
    ("Done", "339933", "Completed"),
    ("Removed", "ffffff", "Removed"),
];

/// The CMMI process's Requirement.
const CMMI: &[State] = &[
    ("Proposed", "b2b2b2", "Proposed"),
    ("Active", "007acc", "InProgress"),
    ("Resolved", "ff9d00", "Resolved"),
    ("Closed", "339933", "Completed"),
];

/// Each work item type's states.
pub(crate) fn states(ty: &str) -> Option<&'static [State]> {
    match ty.to_lowercase().as_str() {
        "issue" => Some(ISSUE),
        "bug" | "user story" => Some(AGILE),
        "product backlog item" => Some(SCRUM),
        "requirement" => Some(CMMI),
        _ => None,
    }
}

/// The category of `state` in type `ty` ("" when it has none).
pub(crate) fn category(ty: &str, state: &str) -> &'static str {
    states(ty)
        .and_then(|s| s.iter().find(|(n, _, _)| n.eq_ignore_ascii_case(state)))
        .map_or("", |(_, _, c)| *c)
}

fn not_found(id: &str) -> Reply {
    err(
        404,
        "WorkItemUnauthorizedAccessException",
        &format!(
            "TF401232: Work item {id} does not exist, or you do not have permissions to read it."
        ),
    )
}

/// `/wit/<low>` of `project`.
pub(super) fn serve(f: &mut Forge, req: &Request, project: &str, low: &[&str]) -> Reply {
    let m = req.method.as_str();
    match (m, low) {
        ("POST", ["workitemsbatch"]) => batch(f, req, project),
        ("GET", ["tags"]) => tags(f, project),
        ("GET", ["workitemtypes", ty, "states"]) => match states(ty) {
            Some(s) => Reply::json(
                200,
                &list(
                    s.iter()
                        .map(|(n, c, cat)| json!({"name": n, "color": c, "category": cat}))
                        .collect(),
                ),
            ),
            None => err(
                404,
                "WorkItemTypeNotFoundException",
                &format!("TF51535: Cannot find work item type {ty}."),
            ),
        },
        ("GET", ["classificationnodes", group, path @ ..]) => node(f, project, group, path),
        (_, ["workitems", id, tail @ ..]) => {
            let Some(n) = id.parse::<u64>().ok().filter(|n| {
                f.az.items
                    .get(n)
                    .is_some_and(|w| split(&w.repo).0.eq_ignore_ascii_case(project))
            }) else {
                return not_found(id);
            };
            match (m, tail) {
                ("GET", []) => one(f, req, n),
                ("PATCH", []) => patch(f, req, project, n),
                ("GET", ["updates"]) => updates(f, req, n),
                ("GET", ["revisions", rev]) => revision(f, n, rev),
                ("GET", ["comments"]) => comments::comments(f, req, project, n),
                ("POST", ["comments"]) => comments::comment_add(f, req, project, n),
                ("PATCH", ["comments", cid]) => comments::comment_edit(f, req, project, n, cid),
                ("DELETE", ["comments", cid]) => comments::comment_delete(f, n, cid),
                ("PUT", ["comments", cid, "reactions", kind]) => {
                    comments::react(f, project, n, cid, kind)
                }
                ("GET", ["comments", cid, "reactions", _, "users"]) => {
                    comments::likers(f, req, n, cid)
                }
                _ => no_route(),
            }
        }
        _ => no_route(),
    }
}

/// A work item as the service shows one: the `fields` asked for (all when
/// none are), its relations with `$expand=relations` or `all`.
pub(crate) fn item_json(
    f: &Forge,
    w: &WorkItem,
    fields: Option<&[String]>,
    relations: bool,
) -> Value {
    let url = format!("{}/_apis/wit/workItems/{}", org_url(f), w.id);
    let fs: Map<String, Value> = w
        .fields
        .iter()
        .filter(|(k, _)| fields.is_none_or(|want| want.iter().any(|x| x.eq_ignore_ascii_case(k))))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let mut v = json!({"id": w.id, "rev": w.revisions.len(), "fields": fs, "url": url,
        "_links": {"self": {"href": url}, "workItemUpdates": {"href": format!("{url}/updates")},
            "workItemRevisions": {"href": format!("{url}/revisions")},
            "workItemComments": {"href": format!("{url}/comments")},
            "html": {"href": format!("{}/_workitems/edit/{}", org_url(f), w.id)}}});
    if relations {
        v["relations"] = json!(w.relations);
    }
    if w.markdown {
        v["multilineFieldsFormat"] = json!({"System.Description": "markdown"});
    }
    v
}

fn expands_relations(v: Option<&str>) -> bool {
    v.is_some_and(|e| e.eq_ignore_ascii_case("relations") || e.eq_ignore_ascii_case("all"))
}

fn one(f: &Forge, req: &Request, id: u64) -> Reply {
    let fields: Option<Vec<String>> = req
        .q("fields")
        .map(|s| s.split(',').map(|x| x.trim().to_string()).collect());
    let w = &f.az.items[&id];
    Reply::json(
        200,
        &item_json(f, w, fields.as_deref(), expands_relations(req.q("$expand"))),
    )
}

/// `POST workitemsbatch`: `{ids (at most 200), fields, $expand, errorPolicy}`;
/// with `errorPolicy: "omit"` an id it cannot read is a `null`.
fn batch(f: &Forge, req: &Request, project: &str) -> Reply {
    let b = req.json().unwrap_or(Value::Null);
    let ids: Vec<u64> = b["ids"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_u64).collect())
        .unwrap_or_default();
    if ids.is_empty() || ids.len() > 200 {
        return err(
            400,
            "VssPropertyValidationException",
            "The maximum number of work items that can be requested is 200, and at least one id is required.",
        );
    }
    let fields: Option<Vec<String>> = b["fields"].as_array().map(|a| {
        a.iter()
            .filter_map(|x| x.as_str().map(str::to_string))
            .collect()
    });
    let omit = b["errorPolicy"]
        .as_str()
        .is_some_and(|p| p.eq_ignore_ascii_case("omit"));
    let relations = expands_relations(b["$expand"].as_str());
    let mut out = vec![];
    for id in ids {
        // work-item ids are the organization's: any project's is read
        match f.az.items.get(&id) {
            Some(w) => out.push(item_json(f, w, fields.as_deref(), relations)),
            None if omit => out.push(Value::Null),
            None => return not_found(&id.to_string()),
        }
    }
    let _ = project;
    Reply::json(200, &list(out))
}

/// The identity a `System.ChangedBy` value names: an id, a unique name, a
/// display name, or an `IdentityRef`.
fn identity_named(f: &Forge, v: &Value) -> Option<String> {
    let s = v["id"]
        .as_str()
        .or_else(|| v["uniqueName"].as_str())
        .or_else(|| v.as_str())?;
    let s = s
        .rsplit_once('<')
        .map_or(s, |(_, u)| u.trim_end_matches('>'));
    f.az.identities
        .iter()
        .find(|i| {
            i.id.eq_ignore_ascii_case(s)
                || i.unique_name().eq_ignore_ascii_case(s)
                || i.name.eq_ignore_ascii_case(s)
        })
        .map(|i| i.id.clone())
}

/// `PATCH workitems/{id}` (`application/json-patch+json`): `test`, `add`,
/// `replace`, `remove` on `/fields/…` and `/rev`, `add` on `/relations/-`.
fn patch(f: &mut Forge, req: &Request, project: &str, id: u64) -> Reply {
    let me = f.me.clone();
    let me_id = f.az.ensure(&me);
    patch_as(f, req, project, id, &me_id)
}

/// A JSON Patch by identity `writer` (afk's account through the API, a
/// person through `/_admin/ado/bypass`).
pub(crate) fn patch_as(
    f: &mut Forge,
    req: &Request,
    project: &str,
    id: u64,
    writer: &str,
) -> Reply {
    let ct = req.header("content-type").unwrap_or("");
    if !ct.to_lowercase().contains("json-patch+json") {
        return err(
            415,
            "VssRequestContentTypeNotSupportedException",
            &format!(
                "The request indicated a Content-Type of \"{ct}\" for method type \"PATCH\" which is not supported. Valid content types for this method are: application/json-patch+json."
            ),
        );
    }
    let Some(ops) = req.json().and_then(|v| v.as_array().cloned()) else {
        return err(
            400,
            "VssPropertyValidationException",
            "The body is not a JSON Patch document.",
        );
    };
    // a person's change that lands between the writer's read and this write
    land_race(f, id);
    let bypass = req
        .q("bypassRules")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    if bypass {
        let holds =
            f.az.by_id(writer)
                .and_then(|w| f.az.effective(PROJECT_NS, &project_token(project), w));
        if holds.is_none_or(|(allow, _)| allow & bit(PROJECT_NS, "BYPASS_RULES") == 0) {
            return err(
                403,
                "UnauthorizedAccessException",
                "TF237111: You do not have permission to bypass rules on work item updates.",
            );
        }
    }
    let w = &f.az.items[&id];
    let rev = w.revisions.len() as u64;
    let ty = w
        .fields
        .get("System.WorkItemType")
        .and_then(Value::as_str)
        .unwrap_or("Issue")
        .to_string();
    let mut changes: Vec<(String, Value)> = vec![];
    let mut relations = vec![];
    let mut changed_by = None;
    let mut markdown = false;
    for op in &ops {
        let o = op["op"].as_str().unwrap_or("");
        let path = op["path"].as_str().unwrap_or("");
        let value = op["value"].clone();
        let field = path.strip_prefix("/fields/");
        match (o, path, field) {
            ("test", "/rev", _) => {
                if value.as_u64() != Some(rev) && value.as_str() != Some(rev.to_string().as_str()) {
                    return err(
                        412,
                        "WorkItemRevisionMismatchException",
                        &format!(
                            "TF26071: This work item has been changed by someone else since you opened it. You will need to refresh it and discard your changes. (revision {rev})"
                        ),
                    );
                }
            }
            ("test", _, Some(k)) => {
                if w.fields.get(k) != Some(&value) {
                    return err(
                        412,
                        "WorkItemRevisionMismatchException",
                        &format!("TF26071: the test of {k} failed."),
                    );
                }
            }
            ("add" | "replace", _, Some(k)) if k.eq_ignore_ascii_case("System.ChangedBy") => {
                if !bypass {
                    return err(
                        400,
                        "RuleValidationException",
                        "TF401320: Rule Error for field Changed By. Error code: ReadOnly.",
                    );
                }
                match identity_named(f, &value) {
                    Some(who) => changed_by = Some(who),
                    None => {
                        return err(
                            400,
                            "RuleValidationException",
                            "TF401320: Rule Error for field Changed By. Error code: InvalidIdentity.",
                        );
                    }
                }
            }
            ("add" | "replace", _, Some(k))
                if [
                    "System.Id",
                    "System.Rev",
                    "System.AuthorizedAs",
                    "System.RevisedDate",
                    "System.AuthorizedDate",
                ]
                .iter()
                .any(|r| r.eq_ignore_ascii_case(k)) =>
            {
                return err(
                    400,
                    "RuleValidationException",
                    &format!("TF401320: Rule Error for field {k}. Error code: ReadOnly."),
                );
            }
            ("add" | "replace", _, Some(k)) => changes.push((k.to_string(), value)),
            ("remove", _, Some(k)) => changes.push((k.to_string(), Value::Null)),
            ("add", "/relations/-", None) => relations.push(value),
            // a multi-line field made Markdown (never back to HTML)
            ("add" | "replace", p, None)
                if p.eq_ignore_ascii_case("/multilineFieldsFormat/System.Description")
                    && value
                        .as_str()
                        .is_some_and(|v| v.eq_ignore_ascii_case("markdown")) =>
            {
                markdown = true;
            }
            _ => {
                return err(
                    400,
                    "JsonPatchOperationNotSupportedException",
                    &format!("The operation {o} on {path} is not supported."),
                );
            }
        }
    }
    for (k, v) in &changes {
        if k.eq_ignore_ascii_case("System.State")
            && v.as_str().is_none_or(|s| category(&ty, s).is_empty())
        {
            return err(
                400,
                "RuleValidationException",
                &format!(
                    "TF401320: Rule Error for field State. Error code: Required, HasValues, LimitedToValues, AllowsOldValue, InvalidEmpty. ({v})"
                ),
            );
        }
        if k.eq_ignore_ascii_case("System.Tags") && w.revisions.len() >= 10_000 {
            return err(
                400,
                "WorkItemRevisionLimitException",
                "VS403402: the work item has reached its limit of 10000 revisions.",
            );
        }
    }
    if req
        .q("validateOnly")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"))
    {
        return Reply::json(200, &item_json(f, w, None, false));
    }
    let old_tags = tags_of(&w.fields);
    let writer_name =
        f.az.by_id(changed_by.as_deref().unwrap_or(writer))
            .map(|i| i.name.clone())
            .unwrap_or_default();
    let changes: Vec<(String, Value)> = changes
        .into_iter()
        .map(|(k, v)| {
            // the service writes tags back sorted, `; ` between them
            if k.eq_ignore_ascii_case("System.Tags") {
                let mut t: Vec<String> = v
                    .as_str()
                    .unwrap_or("")
                    .split(';')
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
                    .collect();
                t.sort_by_key(|s| s.to_lowercase());
                t.dedup_by(|a, b| a.eq_ignore_ascii_case(b));
                ("System.Tags".to_string(), json!(tags_text(&t)))
            } else {
                (k, v)
            }
        })
        .collect();
    f.az_write(
        id,
        changes.clone(),
        writer,
        changed_by.as_deref(),
        relations,
    );
    mirror(f, id, &old_tags, &changes, &writer_name);
    if markdown {
        f.az.items.get_mut(&id).expect("written").markdown = true;
    }
    f.az_item_updated(id);
    let w = &f.az.items[&id];
    Reply::json(
        200,
        &item_json(f, w, None, expands_relations(req.q("$expand"))),
    )
}

/// The change `/_admin/ado/race` set for work item `id`, if any: written
/// as its maker's own revision (tags added, fields written) and back to
/// the shared issue, so the patch that follows finds the item moved on.
fn land_race(f: &mut Forge, id: u64) {
    let Some(at) = f.az.races.iter().position(|r| r.item == id && r.times > 0) else {
        return;
    };
    let (by, add, mut changes) = {
        let r = &mut f.az.races[at];
        r.times -= 1;
        (r.by.clone(), r.add_tags.clone(), r.fields.clone())
    };
    f.az.races.retain(|r| r.times > 0);
    let old_tags = tags_of(&f.az.items[&id].fields);
    if !add.is_empty() {
        let mut tags = old_tags.clone();
        for t in add {
            if !tags.iter().any(|x| x.eq_ignore_ascii_case(&t)) {
                tags.push(t);
            }
        }
        changes.push(("System.Tags".into(), json!(tags_text(&tags))));
    }
    f.az_write(id, changes.clone(), &by, None, vec![]);
    let name = f.az.by_id(&by).map(|i| i.name.clone()).unwrap_or_default();
    mirror(f, id, &old_tags, &changes, &name);
    f.az_item_updated(id);
}

/// A work item's change written back to its shared issue, as `by`.
pub(crate) fn mirror(
    f: &mut Forge,
    id: u64,
    old_tags: &[String],
    changes: &[(String, Value)],
    by: &str,
) {
    let (full, n) = {
        let w = &f.az.items[&id];
        (w.repo.clone(), w.number)
    };
    let new_tags = tags_of(&f.az.items[&id].fields);
    for (k, v) in changes {
        match k.to_lowercase().as_str() {
            "system.tags" => {
                for t in new_tags
                    .iter()
                    .filter(|t| !old_tags.iter().any(|o| o.eq_ignore_ascii_case(t)))
                {
                    let known = f.repos[&full]
                        .labels
                        .iter()
                        .find(|(_, l)| l.eq_ignore_ascii_case(t))
                        .map(|(_, l)| l.clone());
                    let name = match known {
                        Some(l) => l,
                        None => {
                            let lid = f.id();
                            if let Some(r) = f.repos.get_mut(&full) {
                                r.labels.push((lid, t.clone()));
                            }
                            t.clone()
                        }
                    };
                    let _ = f.label(&full, n, &name, by, true);
                }
                for t in old_tags
                    .iter()
                    .filter(|o| !new_tags.iter().any(|t| t.eq_ignore_ascii_case(o)))
                {
                    let known = f.repos[&full]
                        .labels
                        .iter()
                        .find(|(_, l)| l.eq_ignore_ascii_case(t))
                        .map(|(_, l)| l.clone());
                    if let Some(name) = known {
                        let _ = f.label(&full, n, &name, by, false);
                    }
                }
            }
            "system.state" => {
                let ty = f.az.items[&id]
                    .fields
                    .get("System.WorkItemType")
                    .and_then(Value::as_str)
                    .unwrap_or("Issue")
                    .to_string();
                let closed = matches!(
                    category(&ty, v.as_str().unwrap_or("")),
                    "Completed" | "Removed"
                );
                if let Some(i) = f.repos.get_mut(&full).and_then(|r| r.issues.get_mut(&n)) {
                    i.set_state(if closed { "closed" } else { "open" });
                }
            }
            "system.title" => {
                if let Some(i) = f.repos.get_mut(&full).and_then(|r| r.issues.get_mut(&n)) {
                    i.title = v.as_str().unwrap_or("").to_string();
                }
            }
            "system.description" => {
                if let Some(i) = f.repos.get_mut(&full).and_then(|r| r.issues.get_mut(&n)) {
                    i.body = v.as_str().unwrap_or("").to_string();
                }
            }
            _ => {}
        }
    }
    let Some(i) = f.repos.get(&full).and_then(|r| r.issues.get(&n)) else {
        return;
    };
    let (events, renames, state, body) = (
        i.timeline.len(),
        i.renames.len(),
        i.state.clone(),
        i.body.clone(),
    );
    if let Some(w) = f.az.items.get_mut(&id) {
        w.synced_events = events;
        w.synced_renames = renames;
        w.synced_state = state;
        w.synced_body = body;
    }
}

/// An update (`WorkItemUpdate`) of revision `i` (0-based) of `w`.
pub(crate) fn update_json(f: &Forge, w: &WorkItem, i: usize) -> Value {
    let r = &w.revisions[i];
    let by = f.az.by_id(&r.by).map(|p| {
        let mut v = p.as_ref(&f.base);
        v["name"] = json!(format!("{} <{}>", p.name, p.unique_name()));
        v
    });
    // the service's `revisedDate` is when a revision was superseded: the
    // next one's date, and for the latest 9999-01-01
    let revised = w
        .revisions
        .get(i + 1)
        .map_or("9999-01-01T00:00:00Z".to_string(), |n| n.at.clone());
    let fields: Map<String, Value> = r
        .changed
        .iter()
        .map(|(k, old, new)| {
            let mut c = Map::new();
            if let Some(o) = old {
                c.insert("oldValue".into(), o.clone());
            }
            if let Some(n) = new {
                c.insert("newValue".into(), n.clone());
            }
            (k.clone(), Value::Object(c))
        })
        .collect();
    let url = format!(
        "{}/_apis/wit/workItems/{}/updates/{}",
        org_url(f),
        w.id,
        r.rev
    );
    let mut v = json!({"id": r.rev, "workItemId": w.id, "rev": r.rev, "revisedBy": by,
        "revisedDate": revised, "fields": fields, "url": url});
    if !r.relations.is_empty() {
        v["relations"] = json!({"added": r.relations});
    }
    v
}

/// `GET updates`: oldest first, by `$top` (200 at most) and `$skip`.
fn updates(f: &Forge, req: &Request, id: u64) -> Reply {
    let w = &f.az.items[&id];
    let all: Vec<Value> = (0..w.revisions.len())
        .map(|i| update_json(f, w, i))
        .collect();
    let top = req
        .q("$top")
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(200)
        .min(200);
    let skip = req
        .q("$skip")
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(0);
    let page: Vec<Value> = all.into_iter().skip(skip).take(top).collect();
    Reply::json(200, &list(page))
}

/// `GET revisions/{rev}`: the work item as that revision left it.
fn revision(f: &Forge, id: u64, rev: &str) -> Reply {
    let w = &f.az.items[&id];
    let Some(r) = rev
        .parse::<usize>()
        .ok()
        .filter(|r| *r >= 1)
        .and_then(|r| w.revisions.get(r - 1))
    else {
        return err(
            404,
            "WorkItemRevisionNotFoundException",
            &format!("TF401233: Revision {rev} of work item {id} does not exist."),
        );
    };
    let url = format!(
        "{}/_apis/wit/workItems/{id}/revisions/{}",
        org_url(f),
        r.rev
    );
    Reply::json(
        200,
        &json!({"id": id, "rev": r.rev, "fields": r.fields, "url": url}),
    )
}

/// `GET tags`: the project's repositories' labels and every tag on its work items.
fn tags(f: &Forge, project: &str) -> Reply {
    let mut names: Vec<String> = vec![];
    for (full, r) in &f.repos {
        if split(full).0.eq_ignore_ascii_case(project) {
            names.extend(r.labels.iter().map(|(_, l)| l.clone()));
        }
    }
    for w in
        f.az.items
            .values()
            .filter(|w| split(&w.repo).0.eq_ignore_ascii_case(project))
    {
        names.extend(tags_of(&w.fields));
    }
    names.sort_by_key(|n| n.to_lowercase());
    names.dedup_by(|a, b| a.eq_ignore_ascii_case(b));
    let api = project_api(f, project);
    let value: Vec<Value> = names
        .iter()
        .map(|n| {
            let id = crate::model::azure::guid(&format!("tag:{}", n.to_lowercase()));
            json!({"id": id, "name": n, "url": format!("{api}/wit/tags/{id}")})
        })
        .collect();
    Reply::json(200, &list(value))
}

/// `GET classificationnodes/Areas/{path}`: the project's root area and each
/// repository's (`Project\repo`).
fn node(f: &Forge, project: &str, group: &str, path: &[&str]) -> Reply {
    if group != "areas" {
        return err(
            404,
            "ClassificationNodeDoesNotExistException",
            "VS402485: The node does not exist.",
        );
    }
    let want = path.join("\\");
    let found = f
        .repos
        .keys()
        .filter(|full| split(full).0.eq_ignore_ascii_case(project))
        .find_map(|full| {
            let area = area_of(full);
            let rel = area.split_once('\\').map_or("", |(_, r)| r).to_string();
            rel.eq_ignore_ascii_case(&want).then_some((area, rel))
        });
    let (area, name) = match found {
        Some(a) => a,
        None if want.is_empty() => (project.to_string(), project.to_string()),
        None => {
            return err(
                404,
                "ClassificationNodeDoesNotExistException",
                &format!("VS402485: The node \\{project}\\Area\\{want} does not exist."),
            );
        }
    };
    let shown = match area.split_once('\\') {
        Some((p, r)) => format!("\\{p}\\Area\\{r}"),
        None => format!("\\{area}\\Area"),
    };
    let url = format!(
        "{}/wit/classificationNodes/Areas/{}",
        project_api(f, project),
        crate::routes::enc(&name)
    );
    Reply::json(
        200,
        &json!({"id": u32::from_str_radix(&area_id(&area)[..6], 16).unwrap_or(1),
        "identifier": area_id(&area), "name": name, "structureType": "area", "hasChildren": false,
        "path": shown, "url": url, "_links": {"self": {"href": url}}}),
    )
}
