//! The server, the signed-in user, a repository and a collaborator's permission.

use super::{not_found, shapes};
use crate::err;
use crate::http::{Reply, Request};
use crate::model::Forge;
use serde_json::json;

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
