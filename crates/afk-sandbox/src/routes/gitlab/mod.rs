//! GitLab's REST API v4 dialect, `/api/v4/...`: the token in `PRIVATE-TOKEN`
//! (or `Authorization: Bearer`), projects by numeric id or by their full
//! path URL-encoded as one segment (`acme%2Fplatform%2Fsvc`; an unencoded
//! path is no route, as on GitLab), a moved project's `GET` answered `301`
//! to its id, offset paging (`page`, `per_page`; `x-next-page`, `x-total`,
//! `Link`), `RateLimit-*` headers (the admin API's `/rate_limit` spends
//! them: `429` with `Retry-After`), then one handler per resource family
//! over the shared model: issues and merge requests with their own `iid`s
//! (`model::gitlab::MR_KEYS`), label events, notes with system notes,
//! discussions, award emoji, members' access levels, issue links, commit
//! statuses and the pipelines they make, the rebase, approvals and reviewers.
//! [`ROUTES`] is every operation served, checked against the published
//! contract (`tests/contracts/gitlab-v4-subset.json`) where it covers one.

pub(crate) mod admin;
mod ci;
mod issues;
mod merge_requests;
mod notes;
mod project;
mod repository;
pub(crate) mod shapes;

use crate::http::{Reply, Request};
use crate::model::Forge;
use crate::model::gitlab::MR_KEYS;
use crate::routes::enc;
use serde_json::{Value, json};

/// Every operation this dialect serves, `(method, path under /api/v4)`,
/// parameters named as GitLab's description names them (the tests hold the
/// router and the contract to it).
#[cfg(test)]
pub(crate) const ROUTES: &[(&str, &str)] = &[
    ("GET", "/user"),
    ("GET", "/users"),
    ("GET", "/users/{id}"),
    ("GET", "/personal_access_tokens/self"),
    ("GET", "/projects/{id}"),
    ("GET", "/projects/{id}/members/all/{user_id}"),
    ("GET", "/projects/{id}/labels"),
    ("POST", "/projects/{id}/labels"),
    ("GET", "/projects/{id}/protected_branches"),
    ("GET", "/projects/{id}/issues"),
    ("POST", "/projects/{id}/issues"),
    ("GET", "/projects/{id}/issues/{issue_iid}"),
    ("PUT", "/projects/{id}/issues/{issue_iid}"),
    (
        "GET",
        "/projects/{id}/issues/{issue_iid}/resource_label_events",
    ),
    (
        "GET",
        "/projects/{id}/issues/{issue_iid}/resource_state_events",
    ),
    (
        "GET",
        "/projects/{id}/issues/{issue_iid}/resource_milestone_events",
    ),
    (
        "GET",
        "/projects/{id}/issues/{issue_iid}/resource_weight_events",
    ),
    (
        "GET",
        "/projects/{id}/issues/{issue_iid}/resource_iteration_events",
    ),
    ("GET", "/projects/{id}/issues/{issue_iid}/links"),
    ("GET", "/projects/{id}/issues/{issue_iid}/notes"),
    ("POST", "/projects/{id}/issues/{issue_iid}/notes"),
    ("GET", "/projects/{id}/issues/{issue_iid}/notes/{note_id}"),
    ("PUT", "/projects/{id}/issues/{issue_iid}/notes/{note_id}"),
    (
        "DELETE",
        "/projects/{id}/issues/{issue_iid}/notes/{note_id}",
    ),
    (
        "GET",
        "/projects/{id}/issues/{issue_iid}/notes/{note_id}/award_emoji",
    ),
    (
        "POST",
        "/projects/{id}/issues/{issue_iid}/notes/{note_id}/award_emoji",
    ),
    (
        "DELETE",
        "/projects/{id}/issues/{issue_iid}/notes/{note_id}/award_emoji/{award_id}",
    ),
    ("GET", "/projects/{id}/issues/{issue_iid}/discussions"),
    ("POST", "/projects/{id}/issues/{issue_iid}/discussions"),
    (
        "POST",
        "/projects/{id}/issues/{issue_iid}/discussions/{discussion_id}/notes",
    ),
    ("GET", "/projects/{id}/merge_requests"),
    ("POST", "/projects/{id}/merge_requests"),
    ("GET", "/projects/{id}/merge_requests/{merge_request_iid}"),
    ("PUT", "/projects/{id}/merge_requests/{merge_request_iid}"),
    (
        "GET",
        "/projects/{id}/merge_requests/{merge_request_iid}/pipelines",
    ),
    (
        "PUT",
        "/projects/{id}/merge_requests/{merge_request_iid}/rebase",
    ),
    (
        "GET",
        "/projects/{id}/merge_requests/{merge_request_iid}/reviewers",
    ),
    (
        "GET",
        "/projects/{id}/merge_requests/{merge_request_iid}/approvals",
    ),
    (
        "GET",
        "/projects/{id}/merge_requests/{merge_request_iid}/resource_label_events",
    ),
    (
        "GET",
        "/projects/{id}/merge_requests/{merge_request_iid}/notes",
    ),
    (
        "POST",
        "/projects/{id}/merge_requests/{merge_request_iid}/notes",
    ),
    (
        "GET",
        "/projects/{id}/merge_requests/{merge_request_iid}/notes/{note_id}",
    ),
    (
        "PUT",
        "/projects/{id}/merge_requests/{merge_request_iid}/notes/{note_id}",
    ),
    (
        "DELETE",
        "/projects/{id}/merge_requests/{merge_request_iid}/notes/{note_id}",
    ),
    (
        "GET",
        "/projects/{id}/merge_requests/{merge_request_iid}/notes/{note_id}/award_emoji",
    ),
    (
        "POST",
        "/projects/{id}/merge_requests/{merge_request_iid}/notes/{note_id}/award_emoji",
    ),
    (
        "DELETE",
        "/projects/{id}/merge_requests/{merge_request_iid}/notes/{note_id}/award_emoji/{award_id}",
    ),
    (
        "GET",
        "/projects/{id}/merge_requests/{merge_request_iid}/discussions",
    ),
    (
        "POST",
        "/projects/{id}/merge_requests/{merge_request_iid}/discussions",
    ),
    (
        "POST",
        "/projects/{id}/merge_requests/{merge_request_iid}/discussions/{discussion_id}/notes",
    ),
    ("GET", "/projects/{id}/repository/branches/{branch}"),
    ("GET", "/projects/{id}/repository/commits"),
    ("GET", "/projects/{id}/repository/commits/{sha}"),
    ("GET", "/projects/{id}/repository/commits/{sha}/diff"),
    ("GET", "/projects/{id}/repository/commits/{sha}/statuses"),
    ("POST", "/projects/{id}/statuses/{sha}"),
    ("GET", "/projects/{id}/pipelines/{pipeline_id}"),
    ("GET", "/projects/{id}/pipelines/{pipeline_id}/jobs"),
];

/// GitLab's GraphQL endpoint, `/api/graphql`, as the router hands it here.
pub(crate) const GRAPHQL: &str = "/graphql";

/// An error in GitLab's shape: `{"message": "404 Project Not Found"}`.
fn err(status: u16, msg: &str) -> Reply {
    Reply::json(status, &json!({"message": msg}))
}

/// A path no route serves: GitLab's `{"error": "404 Not Found"}`.
fn no_route() -> Reply {
    Reply::json(404, &json!({"error": "404 Not Found"}))
}

fn not_found(what: &str) -> Reply {
    err(404, &format!("404 {what} Not Found"))
}

/// A request's required parameter missing: `400 {"error": "x is missing"}`.
fn missing(name: &str) -> Reply {
    Reply::json(400, &json!({"error": format!("{name} is missing")}))
}

fn no_content() -> Reply {
    Reply::Send {
        status: 204,
        headers: vec![],
        body: vec![],
    }
}

/// The API's absolute root, `<url>/api/v4`.
fn api(f: &Forge) -> String {
    format!("{}/api/v4", f.base)
}

/// A parameter from the JSON body, else the query string (GitLab takes
/// either), as text.
fn param(req: &Request, name: &str) -> Option<String> {
    let body = req.json().unwrap_or(Value::Null);
    match &body[name] {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Array(a) => Some(
            a.iter()
                .filter_map(|v| v.as_str())
                .collect::<Vec<_>>()
                .join(","),
        ),
        _ => req.q(name).map(str::to_string),
    }
}

/// A path segment decoded (`%2F` and all; a `+` stays a `+` in a path).
fn decode_segment(s: &str) -> String {
    crate::http::decode(&s.replace('+', "%2B"))
}

/// Answer a GitLab API request; `path` is the path as sent, without `/api/v4`.
pub(crate) fn serve(f: &mut Forge, req: &Request, path: &str) -> Reply {
    let reply = answer(f, req, path);
    with_rate_headers(f, reply)
}

fn answer(f: &mut Forge, req: &Request, path: &str) -> Reply {
    // GraphQL, beside the REST root (`/api/graphql`): its own answers
    if path == GRAPHQL {
        return match req.method.as_str() {
            "POST" => notes::graphql(f, req),
            _ => no_route(),
        };
    }
    let token = req.header("private-token").or_else(|| {
        req.header("authorization")
            .and_then(|a| a.strip_prefix("Bearer "))
    });
    if token.is_none_or(|t| t != f.token) {
        return err(401, "401 Unauthorized");
    }
    if f.gh.rate.remaining == 0 {
        let wait = f.gh.rate.reset.saturating_sub(now()).max(1);
        return Reply::json(429, &json!({"message": "Retry later"}))
            .with_header("Retry-After", &wait.to_string());
    }
    let r = &mut f.gh.rate;
    r.remaining = r.remaining.saturating_sub(1);
    r.used += 1;
    let seg: Vec<String> = path
        .trim_matches('/')
        .split('/')
        .map(decode_segment)
        .collect();
    let seg: Vec<&str> = seg.iter().map(String::as_str).collect();
    match (req.method.as_str(), seg.as_slice()) {
        ("GET", ["user"]) => project::me(f),
        ("GET", ["users"]) => project::users(f, req),
        ("GET", ["users", id]) => project::user(f, id),
        ("GET", ["personal_access_tokens", "self"]) => project::token(f),
        (_, ["projects", id, rest @ ..]) => {
            let Some(full) = project::find(f, id) else {
                return not_found("Project");
            };
            if let Some(to) = f.repos[&full].renamed_to.clone() {
                if req.method != "GET" {
                    return not_found("Project");
                }
                return moved(f, &full, &to, rest);
            }
            in_project(f, req, &full, rest)
        }
        _ => no_route(),
    }
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// `RateLimit-*` on every answer, as GitLab's throttles send them.
fn with_rate_headers(f: &Forge, reply: Reply) -> Reply {
    let r = &f.gh.rate;
    let reset = time::OffsetDateTime::from_unix_timestamp(r.reset as i64)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc2822)
                .ok()
        })
        .unwrap_or_default()
        .replace("+0000", "GMT");
    reply
        .with_header("RateLimit-Name", "throttle_authenticated_api")
        .with_header("RateLimit-Limit", &r.limit.to_string())
        .with_header("RateLimit-Observed", &r.used.to_string())
        .with_header("RateLimit-Remaining", &r.remaining.to_string())
        .with_header("RateLimit-Reset", &r.reset.to_string())
        .with_header("RateLimit-ResetTime", &reset)
}

/// A moved project: `301` to the project by id, as GitLab 16.7 and later
/// answer a `GET` of the old path.
fn moved(f: &Forge, old: &str, to: &str, rest: &[&str]) -> Reply {
    let id = f.repos.get(to).unwrap_or(&f.repos[old]).id;
    let mut url = format!("{}/projects/{id}", api(f));
    for s in rest {
        url.push('/');
        url.push_str(&enc(s));
    }
    Reply::json(301, &json!({"message": "301 Moved Permanently"})).with_header("Location", &url)
}

/// Route `<rest>` of a project that exists.
fn in_project(f: &mut Forge, req: &Request, full: &str, rest: &[&str]) -> Reply {
    let m = req.method.as_str();
    match (m, rest) {
        ("GET", []) => project::get(f, full),
        ("GET", ["members", "all", uid]) => project::member(f, full, uid),
        ("GET" | "POST", ["labels"]) => project::labels(f, req, full),
        ("GET", ["protected_branches"]) => repository::protected(f, req, full),
        ("GET", ["hooks"]) => Reply::json(200, &f.hooks_listed(true)),
        ("GET" | "POST", ["issues"]) => issues::list_or_open(f, req, full),
        (_, ["issues", iid, tail @ ..]) => {
            let Some(n) = iid.parse::<u64>().ok().filter(|n| *n > 0 && *n < MR_KEYS) else {
                return not_found("Issue");
            };
            if f.repos[full].issues.get(&n).is_none_or(|i| i.pull) {
                return not_found("Issue");
            }
            match (m, tail) {
                ("GET" | "PUT", []) => issues::one(f, req, full, n),
                ("GET", ["resource_label_events"]) => issues::label_events(f, req, full, n),
                ("GET", ["resource_state_events"]) => issues::state_events(f, req, full, n),
                ("GET", ["resource_milestone_events"]) => issues::milestone_events(f, req, full, n),
                ("GET", ["resource_weight_events"]) => {
                    issues::premium_events(f, req, full, n, "weight")
                }
                ("GET", ["resource_iteration_events"]) => {
                    issues::premium_events(f, req, full, n, "iteration")
                }
                ("GET", ["links"]) => issues::links(f, req, full, n),
                (_, ["notes", ..] | ["discussions", ..]) => notes::serve(f, req, full, n, tail),
                _ => no_route(),
            }
        }
        ("GET" | "POST", ["merge_requests"]) => merge_requests::list_or_open(f, req, full),
        (_, ["merge_requests", iid, tail @ ..]) => {
            let Some(n) = iid.parse::<u64>().ok().filter(|n| *n > 0 && *n < MR_KEYS) else {
                return not_found("Merge Request");
            };
            let n = MR_KEYS + n;
            if !f.repos[full].issues.get(&n).is_some_and(|i| i.pull) {
                return not_found("Merge Request");
            }
            match (m, tail) {
                ("GET" | "PUT", []) => merge_requests::one(f, req, full, n),
                ("GET", ["pipelines"]) => merge_requests::pipelines(f, req, full, n),
                ("PUT", ["rebase"]) => merge_requests::rebase(f, full, n),
                ("GET", ["reviewers"]) => merge_requests::reviewers(f, full, n),
                ("GET", ["approvals"]) => merge_requests::approvals(f, full, n),
                ("GET", ["resource_label_events"]) => issues::label_events(f, req, full, n),
                (_, ["notes", ..] | ["discussions", ..]) => notes::serve(f, req, full, n, tail),
                _ => no_route(),
            }
        }
        ("GET", ["repository", "branches", name]) => repository::branch(f, full, name),
        ("GET", ["repository", "commits"]) => repository::commits(f, req, full),
        ("GET", ["repository", "commits", sha]) => repository::one(f, full, sha),
        ("GET", ["repository", "commits", sha, "diff"]) => repository::diff(f, req, full, sha),
        ("GET", ["repository", "commits", sha, "statuses"]) => ci::statuses(f, req, full, sha),
        ("POST", ["statuses", sha]) => ci::create(f, req, full, sha),
        ("GET", ["pipelines", id]) => ci::pipeline_get(f, full, id),
        ("GET", ["pipelines", id, "jobs"]) => ci::jobs(f, req, full, id),
        _ => no_route(),
    }
}

/// A page of `items` as GitLab pages (`page`, `per_page`: 20 unless asked,
/// at most 100), with its headers: `x-page`, `x-per-page`, `x-total`,
/// `x-total-pages`, `x-next-page` and `x-prev-page` (empty at the ends) and
/// a `Link` of absolute URLs (`prev`, `next`, `first`, `last`).
fn paged(f: &Forge, req: &Request, items: Vec<Value>) -> Reply {
    let per_page = req.positive("per_page").unwrap_or(20).min(100);
    let page = req.positive("page").unwrap_or(1);
    let total = items.len();
    let pages = total.div_ceil(per_page).max(1);
    let slice: Vec<Value> = items
        .into_iter()
        .skip((page - 1).saturating_mul(per_page))
        .take(per_page)
        .collect();
    let at = |p: usize| {
        let q: Vec<String> = req
            .query
            .iter()
            .filter(|(k, _)| k != "page" && k != "per_page")
            .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
            .chain([format!("page={p}"), format!("per_page={per_page}")])
            .collect();
        format!("<{}{}?{}>", f.base, req.raw_path, q.join("&"))
    };
    let next = (page < pages).then(|| page + 1);
    let prev = (page > 1).then(|| (page - 1).min(pages));
    let mut rels = vec![];
    if let Some(p) = prev {
        rels.push(format!("{}; rel=\"prev\"", at(p)));
    }
    if let Some(p) = next {
        rels.push(format!("{}; rel=\"next\"", at(p)));
    }
    rels.push(format!("{}; rel=\"first\"", at(1)));
    rels.push(format!("{}; rel=\"last\"", at(pages)));
    let text = |p: Option<usize>| p.map_or(String::new(), |p| p.to_string());
    Reply::json(200, &Value::Array(slice))
        .with_header("x-page", &page.to_string())
        .with_header("x-per-page", &per_page.to_string())
        .with_header("x-total", &total.to_string())
        .with_header("x-total-pages", &pages.to_string())
        .with_header("x-next-page", &text(next))
        .with_header("x-prev-page", &text(prev))
        .with_header("Link", &rels.join(", "))
}

#[cfg(test)]
mod tests;
