//! The Gitea API v1 dialect, `/api/v1/...`: token auth, the repo lookup (with
//! a renamed repo's redirect), then one handler per resource family.

mod branches;
mod comments;
mod commits;
mod issues;
mod labels;
pub(crate) use issues::{depend, gaps};
pub(crate) use labels::org_label;
pub(crate) use repo::hooks_kept;
mod pulls;
mod repo;
mod reviews;
pub(crate) mod shapes;
mod statuses;

use crate::err;
use crate::http::{Reply, Request};
use crate::model::Forge;
use serde_json::{Value, json};

/// Answer a Gitea API request; `path` is without `/api/v1`.
pub(crate) fn serve(f: &mut Forge, req: &Request, path: &str) -> Reply {
    let auth = req.header("authorization").unwrap_or("");
    let tok = auth
        .strip_prefix("token ")
        .or_else(|| auth.strip_prefix("Bearer "))
        .unwrap_or("");
    if tok != f.token {
        return err(401, "token is required");
    }
    let seg: Vec<&str> = path.trim_matches('/').split('/').collect();
    match (req.method.as_str(), seg.as_slice()) {
        ("GET", ["version"]) => return repo::version(),
        ("GET", ["user"]) => return repo::me(f),
        ("GET", ["orgs", org, "labels"]) => return labels::of_org(f, req, org),
        ("GET", ["orgs", org, "hooks"]) => return repo::hooks(f, req, Some(org)),
        _ => {}
    }
    let ["repos", owner, name, rest @ ..] = seg.as_slice() else {
        return err(404, "not found");
    };
    let full = format!("{owner}/{name}");
    let Some(repo) = f.repos.get(&full) else {
        return err(404, "repository does not exist");
    };
    if let Some(to) = &repo.renamed_to {
        let new_path = format!("/api/v1/repos/{to}/{}", rest.join("/"));
        return Reply::json(301, &json!({"full_name": to}))
            .with_header("Location", new_path.trim_end_matches('/'));
    }
    in_repo(f, req, &full, rest)
}

/// Route `/repos/{full}/<rest>` of a repo that exists; each handler answers
/// 404 "not found" to a method it does not serve.
fn in_repo(f: &mut Forge, req: &Request, full: &str, rest: &[&str]) -> Reply {
    match rest {
        [] => repo::get(f, req, full),
        ["collaborators", who, "permission"] => repo::permission(f, req, full, who),
        ["collaborators", who] => repo::collaborator(f, req, full, who),
        ["labels"] => labels::of_repo(f, req, full),
        ["hooks"] if req.method == "GET" => repo::hooks(f, req, None),
        ["issues"] => issues::list(f, req, full),
        ["issues", "comments", id] => comments::by_id(f, req, full, id),
        ["issues", "comments", id, "reactions"] => reviews::reactions(f, req, full, id),
        ["issues", idx, tail @ ..] => in_issue(f, req, full, idx, tail),
        ["pulls", idx, tail @ ..] if !tail.is_empty() => reviews::serve(f, req, full, idx, tail),
        ["pulls", tail @ ..] => pulls::serve(f, req, full, tail),
        ["commits"] => commits::list(f, req, full),
        ["commits", reference, "status"] => statuses::combined(f, req, full, reference),
        ["git", "commits", file] => commits::raw_diff(f, req, full, file),
        ["statuses", sha] => statuses::serve(f, req, full, sha),
        ["branches", name @ ..] if !name.is_empty() => branches::one(f, req, full, &name.join("/")),
        _ => err(404, "not found"),
    }
}

/// Route `/repos/{full}/issues/{idx}/<tail>`: the issue must exist first.
fn in_issue(f: &mut Forge, req: &Request, full: &str, idx: &str, tail: &[&str]) -> Reply {
    let Ok(n) = idx.parse::<u64>() else {
        return err(404, "not found");
    };
    if !f.repos[full].issues.contains_key(&n) {
        return err(404, "issue does not exist");
    }
    match tail {
        [] => issues::one(f, req, full, n),
        ["timeline"] => issues::timeline(f, req, full, n),
        ["dependencies"] => issues::dependencies(f, req, full, n),
        ["labels", rest @ ..] => labels::of_issue(f, req, full, n, rest),
        ["comments"] => comments::of_issue(f, req, full, n),
        _ => err(404, "not found"),
    }
}

/// `/_admin/max_response_items {items}`: Gitea's `[api] MAX_RESPONSE_ITEMS`,
/// the most items one page holds whatever `limit` asks (default 50).
pub(crate) fn max_response_items(f: &mut Forge, body: &Value) -> Reply {
    f.max_response_items = body["items"].as_u64().map_or(50, |n| n.max(1) as usize);
    Reply::json(200, &serde_json::json!({}))
}

/// How a Gitea list says where it ends (each handler its own, read from
/// Gitea's `routers/api/v1`; docs/fidelity/gitea.md says which is which).
#[derive(Clone, Copy, PartialEq)]
pub(super) enum Ends {
    /// `Link` and `X-Total-Count` (`ctx.SetLinkHeader` + `SetTotalCountHeader`:
    /// issues, pulls, commits, statuses)
    Linked,
    /// `X-Total-Count` alone, no `Link` (labels, an organisation's labels,
    /// a PR's reviews)
    Counted,
    /// neither (an issue's dependencies)
    Bare,
}

/// A page of `items` per Gitea's `page` / `limit` (default 30, at most the
/// forge's `MAX_RESPONSE_ITEMS`), with the headers `ends` says.
fn paged(f: &Forge, req: &Request, items: Vec<Value>, ends: Ends) -> Reply {
    let limit = req
        .positive("limit")
        .unwrap_or(30)
        .min(f.max_response_items);
    let page = req.positive("page").unwrap_or(1);
    let total = items.len();
    let slice: Vec<Value> = items
        .into_iter()
        .skip((page - 1) * limit)
        .take(limit)
        .collect();
    let mut reply = Reply::json(200, &Value::Array(slice));
    if ends == Ends::Bare {
        return reply;
    }
    reply = reply.with_header("X-Total-Count", &total.to_string());
    if ends == Ends::Linked && page * limit < total {
        let q: Vec<String> = req
            .query
            .iter()
            .filter(|(k, _)| k != "page")
            .map(|(k, v)| format!("{k}={v}"))
            .chain([format!("page={}", page + 1)])
            .collect();
        reply = reply.with_header(
            "Link",
            &format!("<{}?{}>; rel=\"next\"", req.path, q.join("&")),
        );
    }
    reply
}

/// 204 with no body, Gitea's answer to a delete.
fn no_content() -> Reply {
    Reply::Send {
        status: 204,
        headers: vec![],
        body: vec![],
    }
}

/// 404 "not found": the path exists but not for this method.
fn not_found() -> Reply {
    err(404, "not found")
}
