//! Work-item comments: a list newest first (oldest first with
//! `order=asc`) paged by the body's `continuationToken`, each with its
//! `version` (above 1 once edited), `createdOnBehalfOf` when someone wrote
//! it in another's name, and its likes (`reactions`, engaged users); a new
//! comment (a revision of its work item, as the service makes one), an
//! edit, afk's like.

use super::{continued, err, list, project_api, top_skip, utc};
use crate::http::{Reply, Request};
use crate::model::Forge;
use crate::model::azure::{ItemComment, Mirror};
use serde_json::{Value, json};

fn comment_json(f: &Forge, project: &str, c: &ItemComment) -> Value {
    let me =
        f.az.by_name(&f.me)
            .map(|i| i.id.clone())
            .unwrap_or_default();
    let who = |id: &str| {
        f.az.by_id(id)
            .map(|i| i.as_ref(&f.base))
            .unwrap_or(Value::Null)
    };
    let url = format!(
        "{}/wit/workItems/{}/comments/{}",
        project_api(f, project),
        c.item,
        c.id
    );
    let reactions: Vec<Value> = if c.likes.is_empty() {
        vec![]
    } else {
        vec![
            json!({"commentId": c.id, "type": "like", "count": c.likes.len(),
            "isCurrentUserEngaged": c.likes.contains(&me), "url": format!("{url}/reactions/like")}),
        ]
    };
    let mut v = json!({"workItemId": c.item, "id": c.id, "version": c.version, "text": c.text,
        "renderedText": c.text, "format": "markdown", "createdBy": who(&c.by), "createdDate": c.created,
        "modifiedBy": who(&c.by), "modifiedDate": c.modified, "isDeleted": c.deleted,
        "mentions": [], "reactions": reactions, "url": url});
    if let Some(o) = &c.on_behalf {
        v["createdOnBehalfOf"] = who(o);
        v["createdOnBehalfDate"] = json!(c.created);
    }
    v
}

/// `GET comments`: newest first unless `order=asc`, paged by
/// `continuationToken` in the body (`$top`, at most 200, or the admin
/// page size).
pub(super) fn comments(f: &Forge, req: &Request, project: &str, id: u64) -> Reply {
    let deleted = req
        .q("includeDeleted")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let mut all: Vec<Value> =
        f.az.comments
            .values()
            .filter(|c| c.item == id && (deleted || !c.deleted))
            .map(|c| comment_json(f, project, c))
            .collect();
    if !req
        .q("order")
        .is_some_and(|o| o.eq_ignore_ascii_case("asc"))
    {
        all.reverse();
    }
    let total = all.len();
    let (page, next) = continued(f, req, all);
    let url = format!("{}/wit/workItems/{id}/comments", project_api(f, project));
    let mut v = json!({"totalCount": total, "count": page.len(), "comments": page, "url": url});
    if let Some(t) = next {
        v["nextPage"] = json!(format!(
            "{url}?continuationToken={t}&api-version=7.1-preview.4"
        ));
        v["continuationToken"] = json!(t);
    }
    Reply::json(200, &v)
}

/// A new work-item comment by identity `by` (`on_behalf`: another's name on
/// it): a revision of its own (`System.CommentCount`, `System.History`), as
/// the service makes one; the shared model's comment too.
pub(crate) fn add_comment(
    f: &mut Forge,
    item: u64,
    by: &str,
    text: &str,
    on_behalf: Option<String>,
) -> u64 {
    let at = utc(&f.stamp());
    // one id for both: the shared comment's (`az_sync_comments`)
    let cid = f.id();
    let id = cid as u64;
    f.az.comments.insert(
        id,
        ItemComment {
            id,
            item,
            text: text.to_string(),
            by: by.to_string(),
            on_behalf,
            created: at.clone(),
            modified: at.clone(),
            version: 1,
            deleted: false,
            likes: vec![],
        },
    );
    let count =
        f.az.comments
            .values()
            .filter(|c| c.item == item && !c.deleted)
            .count();
    f.az_write(
        item,
        vec![
            ("System.CommentCount".into(), json!(count)),
            ("System.History".into(), json!(text)),
        ],
        by,
        None,
        vec![],
    );
    let (full, n) = (f.az.items[&item].repo.clone(), f.az.items[&item].number);
    let user = f.az.by_id(by).map(|i| i.name.clone()).unwrap_or_default();
    f.comments.insert(
        cid,
        crate::model::Comment {
            id: cid,
            repo: full,
            issue: n,
            body: text.to_string(),
            user,
            created_at: at,
            updated_at: None,
        },
    );
    f.az.mirrored.insert(cid, Mirror::Item(id));
    id
}

pub(super) fn comment_add(f: &mut Forge, req: &Request, project: &str, item: u64) -> Reply {
    let b = req.json().unwrap_or(Value::Null);
    let Some(text) = b["text"].as_str().filter(|t| !t.is_empty()) else {
        return err(
            400,
            "VssPropertyValidationException",
            "Comment text cannot be empty.",
        );
    };
    if let Some(refused) = super::too_long(f, text) {
        return refused;
    }
    let me = f.me.clone();
    let by = f.az.ensure(&me);
    // delivered as `workitem.commented` from the shared model's comment
    let id = add_comment(f, item, &by, text, None);
    Reply::json(200, &comment_json(f, project, &f.az.comments[&id]))
}

pub(super) fn comment_edit(
    f: &mut Forge,
    req: &Request,
    project: &str,
    item: u64,
    cid: &str,
) -> Reply {
    let b = req.json().unwrap_or(Value::Null);
    let Some(text) = b["text"].as_str() else {
        return err(
            400,
            "VssPropertyValidationException",
            "Comment text cannot be empty.",
        );
    };
    if let Some(refused) = super::too_long(f, text) {
        return refused;
    }
    let at = utc(&f.edit_stamp());
    let (key, shared) = match live(f, item, cid) {
        Ok(found) => found,
        Err(gone) => return gone,
    };
    let c = f.az.comments.get_mut(&key).expect("a live comment");
    c.text = text.to_string();
    c.version += 1;
    c.modified = at.clone();
    // the shared model's copy says the same (`/state`, the other dialects)
    if let Some(c) = shared.and_then(|cid| f.comments.get_mut(&cid)) {
        c.body = text.to_string();
        c.updated_at = Some(at);
    }
    Reply::json(200, &comment_json(f, project, &f.az.comments[&key]))
}

/// Work item `item`'s comment `cid`, not deleted: its id and the shared
/// model's comment it is, if any; else the service's 404.
fn live(f: &Forge, item: u64, cid: &str) -> Result<(u64, Option<i64>), Reply> {
    let key = cid.parse::<u64>().unwrap_or(0);
    if !(f.az.comments.get(&key)).is_some_and(|c| c.item == item && !c.deleted) {
        return Err(err(
            404,
            "CommentNotFoundException",
            &format!("Comment {cid} does not exist."),
        ));
    }
    let shared = (f.az.mirrored.iter())
        .find(|(_, m)| **m == Mirror::Item(key))
        .map(|(cid, _)| *cid);
    Ok((key, shared))
}

/// `DELETE comments/{id}`: a person deletes a comment (`Comments - Delete`:
/// 200, no body); it is gone from the list, its id answers 404, and the
/// shared model's copy is gone too.
pub(super) fn comment_delete(f: &mut Forge, item: u64, cid: &str) -> Reply {
    let (key, shared) = match live(f, item, cid) {
        Ok(found) => found,
        Err(gone) => return gone,
    };
    if let Some(c) = f.az.comments.get_mut(&key) {
        c.deleted = true;
    }
    if let Some(cid) = shared {
        f.comments.remove(&cid);
    }
    Reply::json(200, &Value::Null)
}

/// `PUT reactions/{type}`: afk's like (a like already there is no error).
pub(super) fn react(f: &mut Forge, project: &str, item: u64, cid: &str, kind: &str) -> Reply {
    if kind != "like" {
        return err(
            400,
            "VssPropertyValidationException",
            &format!("Reaction type {kind} is not supported here."),
        );
    }
    let me = f.me.clone();
    let me_id = f.az.ensure(&me);
    let key = cid.parse::<u64>().unwrap_or(0);
    let Some(c) = f.az.comments.get_mut(&key).filter(|c| c.item == item) else {
        return err(
            404,
            "CommentNotFoundException",
            &format!("Comment {cid} does not exist."),
        );
    };
    if !c.likes.contains(&me_id) {
        c.likes.push(me_id);
    }
    let url = format!(
        "{}/wit/workItems/{item}/comments/{cid}/reactions/like",
        project_api(f, project)
    );
    let c = &f.az.comments[&cid.parse::<u64>().unwrap_or(0)];
    Reply::json(
        200,
        &json!({"commentId": c.id, "type": "like", "count": c.likes.len(), "isCurrentUserEngaged": true, "url": url}),
    )
}

/// `GET reactions/{type}/users`: the engaged users, `$top`/`$skip`.
pub(super) fn likers(f: &Forge, req: &Request, item: u64, cid: &str) -> Reply {
    let Some(c) = cid
        .parse::<u64>()
        .ok()
        .and_then(|c| f.az.comments.get(&c))
        .filter(|c| c.item == item)
    else {
        return err(
            404,
            "CommentNotFoundException",
            &format!("Comment {cid} does not exist."),
        );
    };
    let users: Vec<Value> = c
        .likes
        .iter()
        .filter_map(|id| f.az.by_id(id))
        .map(|i| i.as_ref(&f.base))
        .collect();
    Reply::json(200, &list(top_skip(req, users, usize::MAX)))
}
