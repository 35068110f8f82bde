//! GitHub's REST dialect, `/api/v3/...` (as GitHub Enterprise Server serves
//! it): the API version and token checks, the primary rate limit (counted on
//! every answer but a 304; spent, it answers 403 or 429 with
//! `x-ratelimit-remaining: 0`), `ETag` / `If-None-Match`, repos by
//! `owner/name` (case-insensitive, a renamed one answering 301) or by
//! `/repositories/{id}` (where GitHub's `Link` headers point), then one
//! handler per resource family over the shared model.

pub(crate) mod app;
mod comments;
mod commits;
mod issues;
mod labels;
mod pulls;
mod repo;
mod reviews;
mod shapes;
mod statuses;

use crate::http::{Reply, Request};
use crate::model::Forge;
use crate::routes::enc;
use serde_json::{Value, json};

/// The API version afk asks for; another one is refused like GitHub does.
const API_VERSION: &str = "2022-11-28";

/// An error in GitHub's shape.
fn err(status: u16, msg: &str) -> Reply {
    Reply::json(status, &shapes::error(status, msg))
}

fn not_found() -> Reply {
    err(404, "Not Found")
}

/// 422 "Validation Failed" with one error.
fn invalid(resource: &str, code: &str, field: &str) -> Reply {
    Reply::json(
        422,
        &json!({"message": "Validation Failed", "documentation_url": "https://docs.github.com/rest",
                "errors": [{"resource": resource, "code": code, "field": field}], "status": "422"}),
    )
}

fn no_content() -> Reply {
    Reply::Send {
        status: 204,
        headers: vec![],
        body: vec![],
    }
}

/// Answer a GitHub API request; `path` is without `/api/v3`.
pub(crate) fn serve(f: &mut Forge, req: &Request, path: &str) -> Reply {
    let reply = answer(f, req, path);
    with_rate_headers(f, reply)
}

fn answer(f: &mut Forge, req: &Request, path: &str) -> Reply {
    if let Some(v) = req.header("x-github-api-version")
        && v != API_VERSION
    {
        return err(
            400,
            &format!("Unsupported 'X-GitHub-Api-Version' header: {v}"),
        );
    }
    let auth = req.header("authorization").unwrap_or("");
    let tok = auth
        .strip_prefix("Bearer ")
        .or_else(|| auth.strip_prefix("token "))
        .unwrap_or("");
    let caller = app::caller(f, tok);
    if let app::Caller::Refused(why) = caller {
        return err(401, why);
    }
    let seg: Vec<&str> = path.trim_matches('/').split('/').collect();
    if let app::Caller::App = caller {
        // a JWT speaks only for the app itself, and costs no installation's limit
        return app::as_app(f, req, &seg);
    }
    // GET /rate_limit costs nothing, and answers even when the limit is spent
    if req.method == "GET" && seg == ["rate_limit"] {
        return repo::rate_limit(f);
    }
    if f.gh.rate.remaining == 0 {
        let status = f.gh.rate.status;
        return Reply::json(
            status,
            &json!({"message": "API rate limit exceeded for user ID 1. If you reach out to GitHub Support for help, please include the request ID.",
                    "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api",
                    "status": status.to_string()}),
        );
    }
    let reply = match (&caller, app::bot(f)) {
        // an installation token is the app's bot user, which GET /user refuses
        (app::Caller::Installation, Some(bot)) => match (req.method.as_str(), seg.as_slice()) {
            ("GET", ["user"]) => err(403, "Resource not accessible by integration"),
            ("GET", ["installation", "repositories"]) => app::repositories(f, req),
            (_, ["app", ..]) => err(401, "A JSON web token could not be decoded"),
            _ => {
                let me = std::mem::replace(&mut f.me, bot);
                let reply = route(f, req, &seg);
                f.me = me;
                reply
            }
        },
        _ => route(f, req, &seg),
    };
    let reply = super::conditional(req, reply);
    if let Reply::Send { status, .. } = &reply
        && *status != 304
    {
        let r = &mut f.gh.rate;
        r.remaining = r.remaining.saturating_sub(1);
        r.used += 1;
    }
    reply
}

/// The rate-limit headers on every answer, and `x-oauth-scopes` for a classic token.
fn with_rate_headers(f: &Forge, reply: Reply) -> Reply {
    let r = &f.gh.rate;
    let mut reply = reply
        .with_header("x-ratelimit-limit", &r.limit.to_string())
        .with_header("x-ratelimit-remaining", &r.remaining.to_string())
        .with_header("x-ratelimit-used", &r.used.to_string())
        .with_header("x-ratelimit-reset", &r.reset.to_string())
        .with_header("x-ratelimit-resource", "core")
        .with_header("x-github-api-version-selected", API_VERSION);
    if let Some(s) = &f.gh.scopes {
        reply = reply.with_header("x-oauth-scopes", s);
    }
    reply
}

fn route(f: &mut Forge, req: &Request, seg: &[&str]) -> Reply {
    match (req.method.as_str(), seg) {
        ("GET", ["user"]) => return repo::me(f),
        ("POST", ["graphql"]) => return reviews::graphql(f, req),
        (_, ["repos", owner, name, rest @ ..]) => {
            let asked = format!("{owner}/{name}");
            let Some(full) = f
                .repos
                .keys()
                .find(|k| k.eq_ignore_ascii_case(&asked))
                .cloned()
            else {
                return not_found();
            };
            if let Some(to) = f.repos[&full].renamed_to.clone() {
                return moved(f, &full, &to, rest);
            }
            return in_repo(f, req, &full, rest);
        }
        (_, ["repositories", id, rest @ ..]) => {
            let found = id.parse::<i64>().ok().and_then(|id| {
                f.repos
                    .values()
                    .find(|r| r.id == id)
                    .map(|r| r.full_name.clone())
            });
            if let Some(full) = found {
                return in_repo(f, req, &full, rest);
            }
        }
        _ => {}
    }
    not_found()
}

/// A renamed repository: 301 to the new one by id, as GitHub answers.
fn moved(f: &Forge, old: &str, to: &str, rest: &[&str]) -> Reply {
    let id = f.repos.get(to).unwrap_or(&f.repos[old]).id;
    let mut url = format!("{}/repositories/{id}", shapes::api(f));
    if !rest.is_empty() {
        url = format!("{url}/{}", rest.join("/"));
    }
    Reply::json(
        301,
        &json!({"message": "Moved Permanently", "url": url,
                "documentation_url": "https://docs.github.com/rest/guides/best-practices-for-using-the-rest-api#follow-redirects"}),
    )
    .with_header("Location", &url)
}

/// Route `<rest>` of a repository that exists; each handler answers 404 to a
/// method it does not serve.
fn in_repo(f: &mut Forge, req: &Request, full: &str, rest: &[&str]) -> Reply {
    match rest {
        [] => repo::get(f, req, full),
        ["collaborators", who, "permission"] => repo::permission(f, req, full, who),
        ["collaborators", who] => repo::collaborator(f, req, full, who),
        ["labels"] => labels::of_repo(f, req, full),
        ["hooks"] if req.method == "GET" => Reply::json(200, &f.hooks_listed(false)),
        ["issues"] => issues::list(f, req, full),
        ["issues", "comments", id] => comments::by_id(f, req, full, id),
        ["issues", "comments", id, "reactions"] => reviews::reactions(f, req, full, id),
        ["issues", idx, tail @ ..] => in_issue(f, req, full, idx, tail),
        ["pulls", idx, tail @ ..] if !tail.is_empty() => reviews::serve(f, req, full, idx, tail),
        ["pulls", tail @ ..] => pulls::serve(f, req, full, tail),
        ["branches", name @ ..] if !name.is_empty() => {
            commits::branch(f, req, full, &name.join("/"))
        }
        ["commits"] => commits::list(f, req, full),
        ["commits", reference] => commits::one(f, req, full, reference),
        ["commits", reference, "status"] => statuses::combined(f, req, full, reference),
        ["commits", reference, "check-runs"] => statuses::check_runs(f, req, full, reference),
        ["statuses", sha] => statuses::create(f, req, full, sha),
        _ => not_found(),
    }
}

/// Route `issues/{idx}/<tail>`: the issue (or pull request) must exist first.
fn in_issue(f: &mut Forge, req: &Request, full: &str, idx: &str, tail: &[&str]) -> Reply {
    let Ok(n) = idx.parse::<u64>() else {
        return not_found();
    };
    if !f.repos[full].issues.contains_key(&n) {
        return not_found();
    }
    match tail {
        [] => issues::one(f, req, full, n),
        ["timeline"] => issues::timeline(f, req, full, n),
        ["dependencies", "blocked_by"] => issues::blocked_by(f, req, full, n),
        ["labels", name @ ..] => labels::of_issue(f, req, full, n, &name.join("/")),
        ["comments"] => comments::of_issue(f, req, full, n),
        _ => not_found(),
    }
}

/// A page of `items` per GitHub's `page` / `per_page` (default 30, at most
/// 100), with a `Link` header of absolute URLs (`next`, `last`, `first`,
/// `prev`) that name the repository by id, as GitHub's do.
fn paged(f: &Forge, req: &Request, items: Vec<Value>) -> Reply {
    paged_in(f, req, items, (30, 100), Value::Array)
}

/// [`paged`] with its own (default, most) per page, the page's items put in
/// the answer by `wrap` (one commit's `files`).
fn paged_in(
    f: &Forge,
    req: &Request,
    items: Vec<Value>,
    (default, most): (usize, usize),
    wrap: impl FnOnce(Vec<Value>) -> Value,
) -> Reply {
    let per_page = req.positive("per_page").unwrap_or(default).min(most);
    let page = req.positive("page").unwrap_or(1);
    let total = items.len();
    let last = total.div_ceil(per_page).max(1);
    let slice: Vec<Value> = items
        .into_iter()
        .skip((page - 1) * per_page)
        .take(per_page)
        .collect();
    let mut reply = Reply::json(200, &wrap(slice));
    let at = |p: usize| {
        let q: Vec<String> = req
            .query
            .iter()
            .filter(|(k, _)| k != "page")
            .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
            .chain([format!("page={p}")])
            .collect();
        format!("<{}?{}>", link_path(f, &req.path), q.join("&"))
    };
    let mut rels = vec![];
    if page < last {
        rels.push(format!("{}; rel=\"next\"", at(page + 1)));
        rels.push(format!("{}; rel=\"last\"", at(last)));
    }
    if page > 1 {
        rels.push(format!("{}; rel=\"first\"", at(1)));
        rels.push(format!("{}; rel=\"prev\"", at(page - 1)));
    }
    if !rels.is_empty() {
        reply = reply.with_header("Link", &rels.join(", "));
    }
    reply
}

/// The absolute URL of `path` (with `/api/v3`), `/repos/{owner}/{name}`
/// written as `/repositories/{id}`.
fn link_path(f: &Forge, path: &str) -> String {
    let api = shapes::api(f);
    let rest = path.strip_prefix("/api/v3").unwrap_or(path);
    let seg: Vec<&str> = rest.trim_matches('/').split('/').collect();
    if let ["repos", owner, name, tail @ ..] = seg.as_slice() {
        let asked = format!("{owner}/{name}");
        if let Some(r) = f
            .repos
            .values()
            .find(|r| r.full_name.eq_ignore_ascii_case(&asked))
        {
            let mut out = format!("{api}/repositories/{}", r.id);
            for t in tail {
                out.push('/');
                out.push_str(&enc(t));
            }
            return out;
        }
    }
    format!("{api}{rest}")
}
