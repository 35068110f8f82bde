//! The Azure DevOps REST 7.1 dialect: one organization at `/sandbox`
//! (`model::azure::ORG`), its projects' calls at `/sandbox/{project}/_apis/…`,
//! the organization's at `/sandbox/_apis/…`, and the identity service
//! (vssps.dev.azure.com's, which afk reads at `vssps_url`) at
//! `/sandbox/_vssps/_apis/…`; git over smart HTTP at
//! `/sandbox/{project}/_git/{repo}` ([`git_route`]). Auth is Basic (any user
//! name, the token as the password) or Bearer; a wrong credential is a `203`
//! sign-in page unless the request says `X-TFS-FedAuthRedirect: Suppress`.
//! Every call needs an `api-version`, and a preview resource a `-preview`
//! one. Lists page as the contract
//! (`contracts/azure-devops-7.1-subset.json`) says: by continuation token
//! (refs, configurations: the `x-ms-continuationtoken` header; work-item
//! comments: the body's `continuationToken`), else by `$top`/`$skip`.
//! Then one module per area: `wit` and `wiql` (Boards), `git` and `pulls`
//! (Repos), `security` (identities, ACLs, projects, hooks), `admin` (the
//! `/_admin/ado/…` calls), `hooks` (service-hook deliveries) and `sync`
//! (the shared model's repositories, issues and comments as projects, work
//! items and comments).

pub(crate) mod admin;
mod comments;
mod git;
pub(crate) mod hooks;
mod pulls;
pub(crate) mod reviews;
mod security;
pub(crate) mod sync;
mod threads;
mod wiql;
mod wit;

use crate::http::{Reply, Request};
use crate::model::Forge;
use crate::model::azure::{ORG, split};
use serde_json::{Value, json};

// TODO(#86): not served yet: `POST .../git/repositories/{id}/pushes` (the
// contract has no pushes; git pushes go over smart HTTP), the builds list,
// a pull request's iterations' own changes and statuses, a renamed project (a renamed
// repository keeps its id and shows its new name), deleting a work-item
// comment, reactions other than `like`, and a `403` for a service-hook
// subscription list read by someone who is no Project Collection
// Administrator.

/// Every operation this dialect serves, `(method, path)` as the contract
/// names them (the organization's segment included).
#[cfg(test)]
pub(crate) const ROUTES: &[(&str, &str)] = &[
    ("GET", "/{organization}/_apis/connectionData"),
    ("POST", "/{organization}/{project}/{team}/_apis/wit/wiql"),
    ("POST", "/{organization}/{project}/_apis/wit/wiql"),
    ("POST", "/{organization}/{project}/_apis/wit/workitemsbatch"),
    ("GET", "/{organization}/{project}/_apis/wit/workitems/{id}"),
    (
        "PATCH",
        "/{organization}/{project}/_apis/wit/workitems/{id}",
    ),
    (
        "GET",
        "/{organization}/{project}/_apis/wit/workItems/{id}/updates",
    ),
    (
        "GET",
        "/{organization}/{project}/_apis/wit/workItems/{id}/revisions/{revisionNumber}",
    ),
    (
        "GET",
        "/{organization}/{project}/_apis/wit/workItems/{workItemId}/comments",
    ),
    (
        "POST",
        "/{organization}/{project}/_apis/wit/workItems/{workItemId}/comments",
    ),
    (
        "PATCH",
        "/{organization}/{project}/_apis/wit/workItems/{workItemId}/comments/{commentId}",
    ),
    (
        "GET",
        "/{organization}/{project}/_apis/wit/workItems/{workItemId}/comments/{commentId}/reactions/{reactionType}/users",
    ),
    (
        "PUT",
        "/{organization}/{project}/_apis/wit/workItems/{workItemId}/comments/{commentId}/reactions/{reactionType}",
    ),
    (
        "GET",
        "/{organization}/{project}/_apis/wit/workitemtypes/{type}/states",
    ),
    ("GET", "/{organization}/{project}/_apis/wit/tags"),
    (
        "GET",
        "/{organization}/{project}/_apis/wit/classificationnodes/{structureGroup}/{path}",
    ),
    (
        "GET",
        "/{organization}/{project}/_apis/git/repositories/{repositoryId}",
    ),
    (
        "GET",
        "/{organization}/{project}/_apis/git/repositories/{repositoryId}/refs",
    ),
    (
        "POST",
        "/{organization}/{project}/_apis/git/repositories/{repositoryId}/refs",
    ),
    (
        "POST",
        "/{organization}/{project}/_apis/git/repositories/{repositoryNameOrId}/merges",
    ),
    (
        "GET",
        "/{organization}/{project}/_apis/git/repositories/{repositoryNameOrId}/merges/{mergeOperationId}",
    ),
    (
        "GET",
        "/{organization}/{project}/_apis/git/repositories/{repositoryId}/commits",
    ),
    (
        "GET",
        "/{organization}/{project}/_apis/git/repositories/{repositoryId}/diffs/commits",
    ),
    (
        "GET",
        "/{organization}/{project}/_apis/git/repositories/{repositoryId}/commits/{commitId}/statuses",
    ),
    (
        "POST",
        "/{organization}/{project}/_apis/git/repositories/{repositoryId}/pullrequests",
    ),
    (
        "GET",
        "/{organization}/{project}/_apis/git/repositories/{repositoryId}/pullrequests",
    ),
    (
        "GET",
        "/{organization}/{project}/_apis/git/repositories/{repositoryId}/pullrequests/{pullRequestId}",
    ),
    (
        "PATCH",
        "/{organization}/{project}/_apis/git/repositories/{repositoryId}/pullrequests/{pullRequestId}",
    ),
    (
        "GET",
        "/{organization}/{project}/_apis/git/repositories/{repositoryId}/pullRequests/{pullRequestId}/iterations",
    ),
    (
        "GET",
        "/{organization}/{project}/_apis/git/repositories/{repositoryId}/pullRequests/{pullRequestId}/statuses",
    ),
    (
        "GET",
        "/{organization}/{project}/_apis/git/repositories/{repositoryId}/pullRequests/{pullRequestId}/reviewers",
    ),
    (
        "GET",
        "/{organization}/{project}/_apis/git/repositories/{repositoryId}/pullRequests/{pullRequestId}/workitems",
    ),
    (
        "GET",
        "/{organization}/{project}/_apis/git/repositories/{repositoryId}/pullRequests/{pullRequestId}/threads",
    ),
    (
        "POST",
        "/{organization}/{project}/_apis/git/repositories/{repositoryId}/pullRequests/{pullRequestId}/threads",
    ),
    (
        "POST",
        "/{organization}/{project}/_apis/git/repositories/{repositoryId}/pullRequests/{pullRequestId}/threads/{threadId}/comments",
    ),
    (
        "PATCH",
        "/{organization}/{project}/_apis/git/repositories/{repositoryId}/pullRequests/{pullRequestId}/threads/{threadId}/comments/{commentId}",
    ),
    (
        "GET",
        "/{organization}/{project}/_apis/git/repositories/{repositoryId}/pullRequests/{pullRequestId}/threads/{threadId}/comments/{commentId}/likes",
    ),
    (
        "POST",
        "/{organization}/{project}/_apis/git/repositories/{repositoryId}/pullRequests/{pullRequestId}/threads/{threadId}/comments/{commentId}/likes",
    ),
    ("GET", "/{organization}/{project}/_apis/policy/evaluations"),
    (
        "GET",
        "/{organization}/{project}/_apis/policy/configurations",
    ),
    ("GET", "/{organization}/{project}/_apis/policy/types"),
    (
        "GET",
        "/{organization}/{project}/_apis/build/builds/{buildId}",
    ),
    (
        "GET",
        "/{organization}/_apis/accesscontrollists/{securityNamespaceId}",
    ),
    (
        "GET",
        "/{organization}/_apis/securitynamespaces/{securityNamespaceId}",
    ),
    (
        "GET",
        "/{organization}/_apis/permissions/{securityNamespaceId}/{permissions}",
    ),
    ("GET", "/{organization}/_apis/identities"),
    ("GET", "/{organization}/_apis/projects/{projectId}"),
    ("GET", "/{organization}/_apis/hooks/subscriptions"),
];

/// An error as Azure DevOps words one: a `WrappedException`.
/// A comment's text past the forge's limit: Azure DevOps' `400` of an
/// argument it refuses (the contract states the limit, not the answer's
/// words; these are the sandbox's), naming the limit.
pub(crate) fn too_long(f: &Forge, text: &str) -> Option<Reply> {
    f.comment_refused(text).map(|_| {
        err(
            400,
            "InvalidArgumentValueException",
            &format!(
                "The comment is too long: comments can be up to {} characters.",
                f.comment_max
            ),
        )
    })
}

pub(crate) fn err(status: u16, type_key: &str, msg: &str) -> Reply {
    Reply::json(
        status,
        &json!({
            "$id": "1",
            "innerException": null,
            "message": msg,
            "typeName": format!("Microsoft.TeamFoundation.Core.WebApi.{type_key}, Microsoft.TeamFoundation.Core.WebApi"),
            "typeKey": type_key,
            "errorCode": 0,
            "eventId": 3000
        }),
    )
}

fn no_route() -> Reply {
    err(
        404,
        "VssResourceNotFoundException",
        "The controller for path was not found or does not implement IController.",
    )
}

pub(crate) fn no_content() -> Reply {
    Reply::Send {
        status: 204,
        headers: vec![],
        body: vec![],
    }
}

/// `{count, value}`, the shape of every plain list.
pub(crate) fn list(items: Vec<Value>) -> Value {
    json!({"count": items.len(), "value": items})
}

/// The organization's URL, `<sandbox>/sandbox`.
pub(crate) fn org_url(f: &Forge) -> String {
    format!("{}/{ORG}", f.base)
}

/// A project's API root, `<org url>/{project}/_apis`.
pub(crate) fn project_api(f: &Forge, project: &str) -> String {
    format!("{}/{}/_apis", org_url(f), crate::routes::enc(project))
}

/// A stamp (`Forge::stamp`) in UTC with milliseconds, as the service writes its dates.
pub(crate) fn utc(stamp: &str) -> String {
    time::OffsetDateTime::parse(stamp, &time::format_description::well_known::Rfc3339)
        .map(|t| crate::model::dates::tracker_time(t, "Z"))
        .unwrap_or_else(|_| stamp.to_string())
}

/// A new date, now.
pub(crate) fn now(f: &mut Forge) -> String {
    utc(&f.stamp())
}

/// The wall clock now, as the service writes its dates: the date of a pull
/// request's creation, completion or abandonment, which need not be told
/// apart from the event before, so it never runs ahead of the clock as
/// [`now`] can.
pub(crate) fn wall() -> String {
    let t = time::OffsetDateTime::now_utc();
    utc(&t
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default())
}

/// `/sandbox/{project}/_git/{repo}/<rest>` → (`project/repo`, `rest`): git's
/// smart-HTTP paths on Azure Repos.
pub(crate) fn git_route(path: &str) -> Option<(String, String)> {
    let p = path
        .strip_prefix('/')?
        .strip_prefix(ORG)?
        .strip_prefix('/')?;
    let (project, p) = p.split_once('/')?;
    let p = p.strip_prefix("_git/")?;
    let known = ["info/refs", "git-upload-pack", "git-receive-pack"];
    let rest = known.iter().find(|k| p.ends_with(&format!("/{k}")))?;
    let repo = &p[..p.len() - rest.len() - 1];
    let fine = |s: &str| !s.is_empty() && s != "." && s != ".." && !s.contains('/');
    (fine(project) && fine(repo)).then(|| (format!("{project}/{repo}"), rest.to_string()))
}

/// Whether the request carries afk's token: Basic (any user name, the
/// token as the password) or Bearer.
fn authorized(f: &Forge, req: &Request) -> bool {
    let h = req.header("authorization").unwrap_or("");
    if let Some(b) = h.strip_prefix("Basic ") {
        return crate::http::base64_decode(b.trim())
            .and_then(|up| up.split_once(':').map(|(_, p)| p == f.token))
            .unwrap_or(false);
    }
    h.strip_prefix("Bearer ")
        .is_some_and(|t| t.trim() == f.token)
}

/// The sign-in page a browser is sent to: what a client that does not say
/// `X-TFS-FedAuthRedirect: Suppress` gets for a wrong credential, `203`.
fn sign_in(f: &Forge) -> Reply {
    let page = format!(
        "<!DOCTYPE html><html><head><title>Azure DevOps Services | Sign In</title></head>\
         <body><form method=\"post\" action=\"{}/_signin\">Sign in to your account</form></body></html>",
        org_url(f)
    );
    Reply::Send {
        status: 203,
        headers: vec![("Content-Type".into(), "text/html; charset=utf-8".into())],
        body: page.into_bytes(),
    }
}

/// The `api-version` a request names: its query's, else its `Accept`'s.
fn api_version(req: &Request) -> Option<String> {
    if let Some(v) = req.q("api-version") {
        return Some(v.to_string());
    }
    let accept = req.header("accept")?;
    accept.split(';').find_map(|p| {
        p.trim()
            .strip_prefix("api-version=")
            .map(|v| v.trim().to_string())
    })
}

/// Answer a request under the organization; `path` is after `/sandbox`.
pub(crate) fn serve(f: &mut Forge, req: &Request, path: &str) -> Reply {
    if !authorized(f, req) {
        let suppress = req
            .header("x-tfs-fedauthredirect")
            .is_some_and(|v| v.eq_ignore_ascii_case("suppress"));
        if req.header("authorization").is_some() && !suppress {
            return sign_in(f);
        }
        return err(
            401,
            "UnauthorizedRequestException",
            "TF400813: The user is not authorized to access this resource.",
        )
        .with_header(
            "WWW-Authenticate",
            "Bearer authorization_uri=https://login.microsoftonline.com/common, Basic realm=\"https://tfsprodcus1.app.visualstudio.com/\"",
        );
    }
    let seg: Vec<String> = path
        .trim_matches('/')
        .split('/')
        .map(|s| s.to_string())
        .collect();
    let low: Vec<String> = seg.iter().map(|s| s.to_lowercase()).collect();
    let low: Vec<&str> = low.iter().map(String::as_str).collect();
    let Some(version) = api_version(req) else {
        return err(
            400,
            "VssVersionNotSpecifiedException",
            &format!(
                "No api-version was supplied for the \"{}\" request. The version must be supplied either as part of the Accept header (e.g. \"application/json; api-version=1.0\") or as a query parameter (e.g. '?api-version=1.0').",
                req.method
            ),
        );
    };
    if let Some(refusal) = version_refused(&low, &version) {
        return refusal;
    }
    if f.gh.rate.remaining == 0 {
        return throttled(f);
    }
    f.az_sync();
    let reply = route(f, req, &seg, &low);
    match f.az.delay {
        Some(d) => reply
            .with_header("X-RateLimit-Resource", "Core")
            .with_header("X-RateLimit-Delay", &format!("{d:.3}"))
            .with_header("X-RateLimit-Limit", &f.gh.rate.limit.to_string())
            .with_header("X-RateLimit-Remaining", "0")
            .with_header("X-RateLimit-Reset", &f.gh.rate.reset.to_string()),
        None => reply,
    }
}

/// A request blocked for its identity's use (`/_admin/rate_limit` spent it):
/// `429`, `TF400733`, `Retry-After` and the `X-RateLimit-*` headers.
pub(crate) fn throttled(f: &Forge) -> Reply {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let wait = f.gh.rate.reset.saturating_sub(now).max(1);
    err(
        429,
        "RequestBlockedException",
        "TF400733: The request has been canceled: Request was blocked due to exceeding usage of resource 'Core' in namespace 'User'.",
    )
    .with_header("Retry-After", &wait.to_string())
    .with_header("X-RateLimit-Resource", "Core")
    .with_header("X-RateLimit-Delay", "0")
    .with_header("X-RateLimit-Limit", &f.gh.rate.limit.to_string())
    .with_header("X-RateLimit-Remaining", "0")
    .with_header("X-RateLimit-Reset", &f.gh.rate.reset.to_string())
}

/// The version `7.1` of the preview resources (work-item comments and
/// their reactions, policy evaluations) is refused without `-preview`, and
/// any version but 7.1's.
fn version_refused(low: &[&str], version: &str) -> Option<Reply> {
    let preview = matches!(
        low,
        [_, "_apis", "wit", "workitems", _, "comments", ..] | [_, "_apis", "policy", "evaluations"]
    );
    let (base, pre) = match version.split_once("-preview") {
        Some((b, p)) => (b, Some(p)),
        None => (version, None),
    };
    if base != "7.1" {
        return Some(err(
            400,
            "VssVersionOutOfRangeException",
            &format!(
                "The requested REST API version of {version} is out of range for this server. The latest REST API version this server supports is 7.1."
            ),
        ));
    }
    if preview && pre.is_none() {
        return Some(err(
            400,
            "VssInvalidPreviewVersionException",
            &format!(
                "The requested version \"{version}\" of the resource is under preview. The -preview flag must be supplied in the api-version for such requests. For example: \"{version}-preview\""
            ),
        ));
    }
    None
}

fn route(f: &mut Forge, req: &Request, seg: &[String], low: &[&str]) -> Reply {
    let m = req.method.as_str();
    match (m, low) {
        ("GET", ["_apis", "connectiondata"]) => security::connection_data(f),
        ("GET", ["_apis", "projects", id]) => security::project(f, id),
        ("GET", ["_apis", "accesscontrollists", ns]) => security::acls(f, req, ns),
        ("GET", ["_apis", "securitynamespaces", ns]) => security::namespace(ns),
        ("GET", ["_apis", "permissions", ns, bits]) => security::permissions(f, req, ns, bits),
        ("GET", ["_apis", "hooks", "subscriptions"]) => security::subscriptions(f),
        ("GET", ["_vssps", "_apis", "identities"]) => security::identities(f, req),
        ("GET", ["_apis", "identities"]) => err(
            404,
            "VssResourceNotFoundException",
            "identities are served by the organization's identity service (vssps_url)",
        ),
        (_, [_, "_apis", ..]) | (_, [_, _, "_apis", "wit", "wiql"]) => {
            let Some(project) = project_of(f, &seg[0]) else {
                return err(
                    404,
                    "ProjectDoesNotExistWithNameException",
                    &format!(
                        "TF200016: The following project does not exist: {}. Verify that the name of the project is correct and that the project exists on the specified Azure DevOps Server.",
                        seg[0]
                    ),
                );
            };
            if low[1] != "_apis" {
                // a team's segment: WIQL is the team's query, the same here
                return if m == "POST" {
                    wiql::query(f, req, &project)
                } else {
                    no_route()
                };
            }
            in_project(f, req, &project, &seg[2..], &low[2..])
        }
        _ => no_route(),
    }
}

/// The project a path names, by name (case-insensitively) or id.
pub(crate) fn project_of(f: &Forge, name: &str) -> Option<String> {
    f.repos
        .keys()
        .map(|full| split(full).0)
        .find(|p| {
            p.eq_ignore_ascii_case(name)
                || crate::model::azure::project_id(p).eq_ignore_ascii_case(name)
        })
        .map(str::to_string)
}

fn in_project(f: &mut Forge, req: &Request, project: &str, seg: &[String], low: &[&str]) -> Reply {
    let m = req.method.as_str();
    match (m, low) {
        ("POST", ["wit", "wiql"]) => wiql::query(f, req, project),
        (_, ["wit", ..]) => wit::serve(f, req, project, &low[1..]),
        (_, ["git", "repositories", _, ..]) => {
            let Some(full) = git::repo_of(f, project, &seg[2]) else {
                return err(
                    404,
                    "GitRepositoryNotFoundException",
                    &format!(
                        "TF401019: The Git repository with name or identifier {} does not exist or you do not have permissions for the operation you are attempting.",
                        seg[2]
                    ),
                );
            };
            match &low[3..] {
                ["pullrequests", ..] => pulls::serve(f, req, &full, &low[4..]),
                rest => git::serve(f, req, &full, rest),
            }
        }
        ("GET", ["policy", "evaluations"]) => pulls::evaluations(f, req, project),
        ("GET", ["policy", "configurations"]) => pulls::configurations(f, req, project),
        ("GET", ["policy", "types"]) => pulls::policy_types(f, project),
        ("GET", ["build", "builds", id]) => pulls::build(f, id),
        _ => no_route(),
    }
}

/// A page of `items` by `$top`/`$skip` (`top`/`skip` where the contract
/// names them so): all of them when neither is given.
pub(crate) fn top_skip(req: &Request, items: Vec<Value>, default_top: usize) -> Vec<Value> {
    let top = req
        .q("$top")
        .or_else(|| req.q("top"))
        .or_else(|| req.q("searchCriteria.$top"))
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(default_top);
    let skip = req
        .q("$skip")
        .or_else(|| req.q("skip"))
        .or_else(|| req.q("searchCriteria.$skip"))
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(0);
    items.into_iter().skip(skip).take(top).collect()
}

/// A page of `items` by continuation token: from the token's place (an
/// opaque text to the client, here the offset), at most `top` or the
/// dialect's page size (`/_admin/ado/page_size`), and the next page's
/// token when there is more.
pub(crate) fn continued(
    f: &Forge,
    req: &Request,
    items: Vec<Value>,
) -> (Vec<Value>, Option<String>) {
    let from = req
        .q("continuationToken")
        .and_then(|t| t.parse::<usize>().ok())
        .unwrap_or(0);
    let size = req
        .q("$top")
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|n| *n > 0)
        .unwrap_or(usize::MAX)
        .min(f.az.page_size.max(1));
    let total = items.len();
    let page: Vec<Value> = items.into_iter().skip(from).take(size).collect();
    let next = (from + size < total).then(|| (from + size).to_string());
    (page, next)
}

/// A list paged by continuation token with the token in the
/// `x-ms-continuationtoken` header.
pub(crate) fn continued_list(f: &Forge, req: &Request, items: Vec<Value>) -> Reply {
    let (page, next) = continued(f, req, items);
    let reply = Reply::json(200, &list(page));
    match next {
        Some(t) => reply.with_header("x-ms-continuationtoken", &t),
        None => reply,
    }
}

#[cfg(test)]
mod tests;
