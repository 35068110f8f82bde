//! The signed-in user, the rate limit, a repository and a collaborator's permission.

use super::shapes::{self, RepoShape};
use super::{err, not_found};
use crate::http::{Reply, Request};
use crate::model::Forge;

/// `GET /user`: the account the token belongs to.
pub(super) fn me(f: &Forge) -> Reply {
    Reply::json(200, &shapes::private_user(f, &f.me))
}

/// `GET /rate_limit` (costs nothing).
pub(super) fn rate_limit(f: &Forge) -> Reply {
    Reply::json(200, &shapes::rate_overview(f))
}

/// `GET /repos/{full}`
pub(super) fn get(f: &Forge, req: &Request, full: &str) -> Reply {
    if req.method != "GET" {
        return not_found();
    }
    Reply::json(200, &shapes::repo(f, &f.repos[full], RepoShape::Full))
}

/// `GET /repos/{full}/collaborators/{who}/permission`: afk's account needs
/// push access, like on GitHub. A seeded permission is the role (`admin`,
/// `maintain`, `write`, `triage`, `read`); anyone else has `none`, or `read`
/// on a public repository.
pub(super) fn permission(f: &Forge, req: &Request, full: &str, who: &str) -> Reply {
    if req.method != "GET" {
        return not_found();
    }
    let repo = &f.repos[full];
    if !repo.permission_lookup {
        return err(
            403,
            "Must have push access to view repository collaborators.",
        );
    }
    let role = repo
        .collaborators
        .iter()
        .find(|(l, _)| l.eq_ignore_ascii_case(who))
        .map(|(_, p)| p.as_str())
        // the sandbox's own account administers its repos unless a seed says otherwise
        .or((who.eq_ignore_ascii_case(&f.me)).then_some("admin"))
        // GitHub answers `read` for anyone on a public repository
        .unwrap_or(if repo.private { "none" } else { "read" });
    Reply::json(200, &shapes::permission(f, who, role))
}

/// `GET /repos/{full}/collaborators/{who}`: 204 for a collaborator (afk's
/// own account among them), 404 for anyone else, public repository or not.
pub(super) fn collaborator(f: &Forge, req: &Request, full: &str, who: &str) -> Reply {
    if req.method != "GET" {
        return not_found();
    }
    let repo = &f.repos[full];
    let is = who.eq_ignore_ascii_case(&f.me)
        || repo
            .collaborators
            .iter()
            .any(|(l, p)| l.eq_ignore_ascii_case(who) && p != "none");
    match is {
        true => Reply::Send {
            status: 204,
            headers: vec![],
            body: vec![],
        },
        false => err(404, "Not Found"),
    }
}
