//! The signed-in user and other users, the token's own facts, a project
//! (found by id or full path), its labels and its members' access levels.

use super::shapes::{self, user_id};
use super::{err, missing, no_route, not_found, param};
use crate::http::{Reply, Request};
use crate::model::Forge;
use serde_json::json;

/// The project `id` names: its numeric id, or its full path (any case).
pub(super) fn find(f: &Forge, id: &str) -> Option<String> {
    if let Ok(n) = id.parse::<i64>() {
        return f
            .repos
            .values()
            .find(|r| r.id == n)
            .map(|r| r.full_name.clone());
    }
    f.repos.keys().find(|k| k.eq_ignore_ascii_case(id)).cloned()
}

/// `GET /user`: afk's account.
pub(super) fn me(f: &Forge) -> Reply {
    Reply::json(200, &shapes::account(f, &f.me))
}

/// Every username the sandbox knows of: afk's, the members', the authors'.
fn known(f: &Forge) -> Vec<String> {
    let mut names = vec![f.me.clone()];
    for r in f.repos.values() {
        names.extend(r.collaborators.keys().cloned());
        for i in r.issues.values() {
            names.push(i.author.clone());
            names.extend(i.timeline.iter().map(|e| e.by.clone()));
        }
    }
    names.extend(f.comments.values().map(|c| c.user.clone()));
    names.extend(f.talk.reviews.values().map(|r| r.user.clone()));
    names
}

/// The username of user `id`, if the sandbox knows one.
pub(super) fn by_id(f: &Forge, id: &str) -> Option<String> {
    let id = id.parse::<i64>().ok()?;
    known(f).into_iter().find(|n| user_id(n) == id)
}

/// `GET /users?username=x`: the user of that name (any case) in a list,
/// as GitLab answers it (none: `[]`); without `username`, every known user.
pub(super) fn users(f: &Forge, req: &Request) -> Reply {
    let want = req.q("username");
    let mut names = known(f);
    names.sort();
    names.dedup();
    let found: Vec<_> = names
        .iter()
        .filter(|n| want.is_none_or(|w| n.eq_ignore_ascii_case(w)))
        .map(|n| shapes::account(f, n))
        .collect();
    Reply::json(200, &serde_json::Value::Array(found))
}

/// `GET /users/:id`
pub(super) fn user(f: &Forge, id: &str) -> Reply {
    match by_id(f, id) {
        Some(name) => Reply::json(200, &shapes::account(f, &name)),
        None => not_found("User"),
    }
}

/// `GET /personal_access_tokens/self`: the token afk holds, scope `api`.
pub(super) fn token(f: &Forge) -> Reply {
    // the admin API's `/scopes` (`"api, read_user"`) and `expires_at`
    let scopes: Vec<&str> = f.gh.scopes.as_deref().map_or(vec!["api"], |s| {
        s.split(',')
            .map(str::trim)
            .filter(|x| !x.is_empty())
            .collect()
    });
    Reply::json(
        200,
        &json!({"id": 1, "name": "afk", "revoked": false, "created_at": crate::TS,
                "scopes": scopes, "user_id": user_id(&f.me), "last_used_at": crate::TS,
                "active": true, "expires_at": f.gl.token_expires}),
    )
}

/// A seeded permission as GitLab's access level: Gitea's and GitHub's words
/// (`read` Reporter, `write` Developer, `maintain`/`admin` Maintainer), or
/// GitLab's own (`guest`, `planner`, `reporter`, `developer`, `maintainer`,
/// `owner`, `minimal`), or the number itself.
pub(super) fn access_level(permission: &str) -> Option<u64> {
    Some(match permission.to_ascii_lowercase().as_str() {
        "minimal" | "minimal_access" => 5,
        "guest" => 10,
        "planner" => 15,
        "read" | "triage" | "reporter" => 20,
        "write" | "developer" => 30,
        "maintain" | "admin" | "maintainer" => 40,
        "owner" => 50,
        n => return n.parse().ok(),
    })
}

/// Someone's access level on `full`: seeded, else afk's own account
/// Maintainer; None: not a member.
pub(super) fn access_of(f: &Forge, full: &str, who: &str) -> Option<u64> {
    let r = &f.repos[full];
    match r
        .collaborators
        .iter()
        .find(|(l, _)| l.eq_ignore_ascii_case(who))
    {
        Some((_, p)) => access_level(p),
        None => who.eq_ignore_ascii_case(&f.me).then_some(40),
    }
}

/// `GET /projects/:id`, with afk's access in `permissions.project_access`.
pub(super) fn get(f: &Forge, full: &str) -> Reply {
    let access = access_of(f, full, &f.me);
    Reply::json(200, &shapes::project(f, &f.repos[full], access))
}

/// `GET /projects/:id/members/all/:user_id`: a member (inherited ones too)
/// with their `access_level`; not one: `404`; a seed that denies lookups
/// (`permission_lookup: false`): `403`.
pub(super) fn member(f: &Forge, full: &str, uid: &str) -> Reply {
    if !f.repos[full].permission_lookup {
        return err(403, "403 Forbidden");
    }
    let Some(name) = by_id(f, uid) else {
        return not_found("");
    };
    match access_of(f, full, &name) {
        Some(level) => {
            let mut v = shapes::user(f, &name);
            v["access_level"] = json!(level);
            v["created_at"] = json!(crate::TS);
            v["expires_at"] = json!(null);
            v["membership_state"] = json!("active");
            Reply::json(200, &v)
        }
        None => not_found(""),
    }
}

/// `GET /projects/:id/labels` (every one, unpaged below 100); `POST` one
/// (`name`, `color`): `409` if it exists.
pub(super) fn labels(f: &mut Forge, req: &Request, full: &str) -> Reply {
    match req.method.as_str() {
        "GET" => {
            let items = f.repos[full]
                .labels
                .iter()
                .map(|(id, n)| shapes::label(*id, n))
                .collect();
            super::paged(f, req, items)
        }
        "POST" => {
            let Some(name) = param(req, "name") else {
                return missing("name");
            };
            if f.repos[full].labels.iter().any(|(_, n)| n == &name) {
                return err(409, "Label already exists");
            }
            let id = f.id();
            f.repos
                .get_mut(full)
                .unwrap()
                .labels
                .push((id, name.clone()));
            Reply::json(201, &shapes::label(id, &name))
        }
        _ => no_route(),
    }
}
