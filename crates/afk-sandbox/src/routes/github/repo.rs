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
/// `maintain`, `write`, `triage`, `read`); anyone else has `none`.
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
        .unwrap_or("none");
    Reply::json(200, &shapes::permission(f, who, role))
}
