//! Notes on an issue or a merge request (system notes among them, never
//! editable), discussions (threads and individual notes) and award emoji on
//! a note: a reaction moves the note's `updated_at`, as GitLab's does.

use super::{err, missing, no_content, no_route, not_found, paged, param, shapes};
use crate::http::{Reply, Request};
use crate::model::Forge;
use crate::model::gitlab::MR_KEYS;
use serde_json::{Value, json};

/// `.../{issues|merge_requests}/:iid/<tail>` where tail starts with `notes`
/// or `discussions`.
pub(super) fn serve(f: &mut Forge, req: &Request, full: &str, n: u64, tail: &[&str]) -> Reply {
    let m = req.method.as_str();
    match (m, tail) {
        ("GET", ["notes"]) => list(f, req, full, n),
        ("POST", ["notes"]) => create(f, req, full, n),
        ("GET" | "PUT" | "DELETE", ["notes", id]) => match note_of(f, full, n, id) {
            Some(id) if m == "PUT" => edit(f, req, full, id),
            Some(id) if m == "DELETE" => delete(f, full, id),
            Some(id) => Reply::json(200, &shapes::note(f, &f.repos[full], &f.comments[&id])),
            None => not_found("Note"),
        },
        (_, ["notes", id, "award_emoji", rest @ ..]) => match note_of(f, full, n, id) {
            Some(id) => award_emoji(f, req, id, rest),
            None => not_found("Note"),
        },
        ("GET", ["discussions"]) => discussions(f, req, full, n),
        ("POST", ["discussions"]) => start(f, req, full, n),
        ("POST", ["discussions", id, "notes"]) => reply(f, req, full, n, id),
        _ => no_route(),
    }
}

/// Note `id` if it is on `full`'s item `n`.
fn note_of(f: &Forge, full: &str, n: u64, id: &str) -> Option<i64> {
    let id = id.parse::<i64>().ok()?;
    f.comments
        .get(&id)
        .filter(|c| c.repo == full && c.issue == n)
        .map(|c| c.id)
}

/// GitLab's refusal of a note over its limit.
fn too_long(f: &Forge, body: &str) -> Option<Reply> {
    f.comment_refused(body).map(|_| {
        Reply::json(
            400,
            &json!({"message": {"note": [format!("is too long (maximum is {} characters)", f.comment_max)]}}),
        )
    })
}

/// `GET .../notes?sort&order_by`: newest first unless `sort=asc`, by
/// `created_at` unless `order_by=updated_at`.
fn list(f: &Forge, req: &Request, full: &str, n: u64) -> Reply {
    let r = &f.repos[full];
    let mut notes: Vec<_> = f
        .comments
        .values()
        .filter(|c| c.repo == full && c.issue == n)
        .collect();
    if req.q("order_by") == Some("updated_at") {
        notes.sort_by(|a, b| {
            let at =
                |c: &crate::model::Comment| c.updated_at.clone().unwrap_or(c.created_at.clone());
            at(a).cmp(&at(b)).then(a.id.cmp(&b.id))
        });
    }
    if req.q("sort") != Some("asc") {
        notes.reverse();
    }
    let items = notes.into_iter().map(|c| shapes::note(f, r, c)).collect();
    paged(f, req, items)
}

/// `POST .../notes {body}` as afk's account.
fn create(f: &mut Forge, req: &Request, full: &str, n: u64) -> Reply {
    let Some(body) = param(req, "body") else {
        return missing("body");
    };
    if let Some(reply) = too_long(f, &body) {
        return reply;
    }
    let me = f.me.clone();
    match f.add_comment(full, n, &body, &me) {
        Ok((id, _)) => Reply::json(201, &shapes::note(f, &f.repos[full], &f.comments[&id])),
        Err(e) => err(400, &e),
    }
}

/// `PUT .../notes/:id {body}`: afk's own notes only; a system note never.
fn edit(f: &mut Forge, req: &Request, full: &str, id: i64) -> Reply {
    let Some(body) = param(req, "body") else {
        return missing("body");
    };
    if !may_change(f, full, id) {
        return err(403, "403 Forbidden");
    }
    if let Some(reply) = too_long(f, &body) {
        return reply;
    }
    let at = f.edit_stamp();
    let c = f.comments.get_mut(&id).unwrap();
    if c.body != body {
        f.gl.last_edited.insert(id, at.clone());
    }
    c.body = body;
    c.updated_at = Some(at);
    f.outbox.comment_edited(id);
    Reply::json(200, &shapes::note(f, &f.repos[full], &f.comments[&id]))
}

/// Whether afk's account may edit or delete note `id`: its own, or anyone's
/// with at least the Maintainer role (40) on the project, as GitLab lets
/// them; a system note never.
fn may_change(f: &Forge, full: &str, id: i64) -> bool {
    !f.gl.system.contains(&id)
        && (f.comments[&id].user == f.me
            || super::project::access_of(f, full, &f.me).is_some_and(|l| l >= 40))
}

/// `DELETE .../notes/:note_id`: `204`, as GitLab deletes a note.
fn delete(f: &mut Forge, full: &str, id: i64) -> Reply {
    if !may_change(f, full, id) {
        return err(403, "403 Forbidden");
    }
    f.comments.remove(&id);
    no_content()
}

/// A note's award emoji: `GET`, `POST {name}` (one name per user: again is
/// `404` "has already been taken", as GitLab refuses it), `DELETE :award_id`
/// (only one's own: `401` otherwise).
fn award_emoji(f: &mut Forge, req: &Request, note: i64, rest: &[&str]) -> Reply {
    match (req.method.as_str(), rest) {
        ("GET", []) => {
            let items = f
                .talk
                .reactions
                .get(&note)
                .into_iter()
                .flatten()
                .map(|a| shapes::award(f, note, a.id, &a.user, &a.content, &a.at))
                .collect();
            paged(f, req, items)
        }
        ("POST", []) => {
            let Some(name) = param(req, "name") else {
                return missing("name");
            };
            let me = f.me.clone();
            let (id, new) = f.react(note, &me, &name);
            if !new {
                return err(404, "404 Award Emoji Name has already been taken");
            }
            let a = f.talk.reactions[&note].iter().find(|a| a.id == id).unwrap();
            let (at, v) = (a.at.clone(), shapes::award(f, note, id, &me, &name, &a.at));
            f.comments.get_mut(&note).unwrap().updated_at = Some(at);
            Reply::json(201, &v)
        }
        ("DELETE", [award]) => {
            let Ok(award) = award.parse::<i64>() else {
                return not_found("Award Emoji");
            };
            let Some(a) = f
                .talk
                .reactions
                .get(&note)
                .and_then(|all| all.iter().find(|a| a.id == award))
            else {
                return not_found("Award Emoji");
            };
            if a.user != f.me {
                return err(401, "401 Unauthorized");
            }
            f.talk
                .reactions
                .get_mut(&note)
                .unwrap()
                .retain(|a| a.id != award);
            let at = f.stamp();
            f.comments.get_mut(&note).unwrap().updated_at = Some(at);
            no_content()
        }
        _ => no_route(),
    }
}

/// `POST /api/graphql`: the one query afk asks of GitLab's GraphQL, a
/// note's `lastEditedAt` (`Query.note(id: "gid://gitlab/Note/N")`), `null`
/// until its text was changed; a note there is none of is `note: null`, as
/// `GitlabSchema.find_by_gid` answers; any other query GraphQL's own error
/// shape. The token as the REST API takes it; a wrong one is GitLab's
/// GraphQL `401 {"errors": [{"message": "Invalid token"}]}`.
pub(super) fn graphql(f: &Forge, req: &Request) -> Reply {
    let token = req.header("private-token").or_else(|| {
        req.header("authorization")
            .and_then(|a| a.strip_prefix("Bearer "))
    });
    if token.is_some_and(|t| t != f.token) {
        return Reply::json(401, &json!({"errors": [{"message": "Invalid token"}]}));
    }
    let body: Value = req.json().unwrap_or(Value::Null);
    let query = body["query"].as_str().unwrap_or("");
    if !(query.contains("note(id:") && query.contains("lastEditedAt")) {
        return Reply::json(
            200,
            &json!({"errors": [{"message": "the sandbox answers Query.note's lastEditedAt only"}]}),
        );
    }
    let id = body["variables"]["id"]
        .as_str()
        .and_then(|g| g.strip_prefix("gid://gitlab/Note/"))
        .and_then(|n| n.parse::<i64>().ok());
    let note = match id.filter(|i| f.comments.contains_key(i) && token.is_some()) {
        Some(i) => json!({"lastEditedAt": f.gl.last_edited.get(&i)}),
        None => Value::Null,
    };
    Reply::json(200, &json!({"data": {"note": note}}))
}

/// `GET .../discussions`: every thread and individual note, oldest first.
fn discussions(f: &Forge, req: &Request, full: &str, n: u64) -> Reply {
    let r = &f.repos[full];
    let items: Vec<Value> = f
        .comments
        .values()
        .filter(|c| c.repo == full && c.issue == n)
        .filter(|c| f.gl.in_thread.get(&c.id).is_none_or(|first| *first == c.id))
        .map(|c| shapes::discussion(f, r, c.id, f.gl.threads.get(&c.id)))
        .collect();
    paged(f, req, items)
}

/// `POST .../discussions {body, position?}`: a thread by afk's account,
/// resolvable on a merge request.
fn start(f: &mut Forge, req: &Request, full: &str, n: u64) -> Reply {
    let Some(body) = param(req, "body") else {
        return missing("body");
    };
    if let Some(reply) = too_long(f, &body) {
        return reply;
    }
    let b = req.json().unwrap_or(Value::Null);
    let position = b["position"]["new_path"].as_str().map(|p| {
        (
            p.to_string(),
            b["position"]["new_line"].as_u64().unwrap_or(1),
        )
    });
    let me = f.me.clone();
    match f.start_thread(full, n, &body, &me, n > MR_KEYS, position) {
        Ok(id) => Reply::json(
            201,
            &shapes::discussion(f, &f.repos[full], id, f.gl.threads.get(&id)),
        ),
        Err(e) => err(400, &e),
    }
}

/// `POST .../discussions/:discussion_id/notes {body}`: a reply in a thread.
fn reply(f: &mut Forge, req: &Request, full: &str, n: u64, id: &str) -> Reply {
    let first = i64::from_str_radix(id, 16).ok();
    let Some(first) = first.filter(|first| {
        f.gl.threads.contains_key(first)
            && f.comments
                .get(first)
                .is_some_and(|c| c.repo == full && c.issue == n)
    }) else {
        return not_found("Discussion");
    };
    let Some(body) = param(req, "body") else {
        return missing("body");
    };
    if let Some(reply) = too_long(f, &body) {
        return reply;
    }
    let me = f.me.clone();
    match f.reply(first, &body, &me) {
        Ok(id) => Reply::json(201, &shapes::note(f, &f.repos[full], &f.comments[&id])),
        Err(e) => err(400, &e),
    }
}
