//! The server, the signed-in user, a repository and a collaborator's permission.

use super::{not_found, shapes};
use crate::err;
use crate::http::{Reply, Request};
use crate::model::Forge;
use serde_json::{Value, json};

/// `GET /version`
pub(super) fn version() -> Reply {
    Reply::json(200, &json!({"version": "1.22.0+afk-sandbox"}))
}

/// `GET /user`: the account the token belongs to. A scoped token (the admin API's `/scopes`, Gitea's names:
/// `read:user`, `write:repository`, `all`, …) without `read:user`,
/// `write:user` or `all` is refused as Gitea refuses it
/// (`tokenRequiresScopes`, routers/api/v1/api.go).
pub(super) fn me(f: &Forge) -> Reply {
    if let Some(scopes) = &f.gh.scopes {
        let has = |s: &str| scopes.split(',').any(|x| x.trim() == s);
        if !(has("read:user") || has("write:user") || has("all")) {
            return err(
                403,
                "token does not have at least one of required scope(s): [read:user]",
            );
        }
    }
    Reply::json(200, &shapes::user(&f.me))
}

/// `GET /repos/{full}`
pub(super) fn get(f: &Forge, req: &Request, full: &str) -> Reply {
    if req.method != "GET" {
        return not_found();
    }
    Reply::json(200, &shapes::repo(f, &f.repos[full]))
}

/// `GET /repos/{full}/collaborators/{who}/permission`: needs an admin, like Gitea.
pub(super) fn permission(f: &Forge, req: &Request, full: &str, who: &str) -> Reply {
    if req.method != "GET" {
        return not_found();
    }
    let repo = &f.repos[full];
    if !repo.permission_lookup {
        return err(403, "user is not an admin of this repository");
    }
    // the sandbox's own account administers its repos unless a seed says otherwise
    let own = (who == f.me).then_some("admin");
    // anyone else: what the repository lets every signed-in user do, read
    // on a public one, none on a private one (`GetUserRepoPermission`); the
    // sandbox holds no list of accounts, so no name is a 404 "user does not
    // exist" here
    let everyone = if repo.private { "none" } else { "read" };
    let p = repo
        .collaborators
        .get(who)
        .map(String::as_str)
        .or(own)
        .unwrap_or(everyone);
    Reply::json(
        200,
        &json!({"permission": p, "role_name": p, "user": shapes::user(who)}),
    )
}

/// `GET /repos/{full}/collaborators/{who}` (`IsCollaborator`): 204 for a
/// collaborator (the sandbox's own account among them), 404 for anyone
/// else, public repository or not.
pub(super) fn collaborator(f: &Forge, req: &Request, full: &str, who: &str) -> Reply {
    if req.method != "GET" {
        return not_found();
    }
    let repo = &f.repos[full];
    let is = who == f.me || repo.collaborators.get(who).is_some_and(|p| p != "none");
    match is {
        true => Reply::Send {
            status: 204,
            headers: vec![],
            body: vec![],
        },
        false => err(404, "The target couldn't be found."),
    }
}

/// `GET /repos/{full}/hooks`, or with `org` `GET /orgs/{org}/hooks`: the
/// hooks to chat services first (Gitea lists by id), then the one to the
/// receiver where it is kept (the repository's, or with `at_org` the
/// organisation's), `X-Total-Count` and no `Link`
/// (`routers/api/v1/utils/hook.go ListOwnerHooks`, `repo/hook.go ListHooks`).
/// An owner of no repository here is no organisation: 404.
pub(super) fn hooks(f: &Forge, req: &Request, org: Option<&str>) -> Reply {
    if let Some(org) = org
        && !f.repos.keys().any(|r| r.split('/').next() == Some(org))
    {
        return err(404, "org does not exist");
    }
    let mut items: Vec<Value> = match org {
        Some(_) => vec![],
        None => (1..=f.hooks.others)
            .map(|i| {
                json!({"id": 100 + i, "type": "slack", "active": true, "events": ["push"],
                       "config": {"url": format!("https://chat.example/hooks/{i}"), "content_type": "json"}})
            })
            .collect(),
    };
    if org.is_some() == f.hooks.at_org
        && let Value::Array(mine) = f.hooks_listed(false)
    {
        items.extend(mine);
    }
    super::paged(f, req, items, super::Ends::Counted)
}

/// `POST /_admin/gitea/hooks {others = 0, org = false}`: `others` hooks to
/// a chat service before the receiver's, and the receiver's kept by the
/// repository's organisation rather than by the repository.
pub(crate) fn hooks_kept(f: &mut Forge, body: &Value) -> Reply {
    f.hooks.others = body["others"].as_u64().unwrap_or(0) as usize;
    f.hooks.at_org = body["org"].as_bool().unwrap_or(false);
    Reply::json(200, &json!({"ok": true}))
}
