//! Comments: an issue's list and new ones (posted as afk's account), and one
//! comment by its repo-wide id (PATCH answers 200).

use super::{invalid, no_content, not_found, paged, shapes};
use crate::http::{Reply, Request};
use crate::model::Forge;
use serde_json::Value;

fn body(req: &Request) -> Option<String> {
    req.json()
        .and_then(|v| v["body"].as_str().map(str::to_string))
}

/// GitHub's answer to a body over its limit.
fn too_long(why: &str) -> Reply {
    Reply::json(
        422,
        &serde_json::json!({"message": "Validation Failed",
            "documentation_url": "https://docs.github.com/rest/issues/comments#create-an-issue-comment",
            "errors": [{"resource": "IssueComment", "code": "unprocessable", "field": "data", "message": why}],
            "status": "422"}),
    )
}

/// `GET` or `POST` (`{body}`) `/repos/{full}/issues/{n}/comments`
pub(super) fn of_issue(f: &mut Forge, req: &Request, full: &str, n: u64) -> Reply {
    match req.method.as_str() {
        "GET" => {
            let r = &f.repos[full];
            let items: Vec<Value> = f
                .comments
                .values()
                .filter(|c| c.repo == full && c.issue == n)
                .map(|c| shapes::comment(f, r, c))
                .collect();
            paged(f, req, items)
        }
        "POST" => {
            let Some(b) = body(req) else {
                return invalid("IssueComment", "missing_field", "body");
            };
            if let Some(why) = f.comment_refused(&b) {
                return too_long(&why);
            }
            let me = f.me.clone();
            match f.add_comment(full, n, &b, &me) {
                Ok((id, _)) => {
                    Reply::json(201, &shapes::comment(f, &f.repos[full], &f.comments[&id]))
                }
                Err(e) => super::err(422, &e),
            }
        }
        _ => not_found(),
    }
}

/// `GET`, `PATCH` (`{body}`) or `DELETE` `/repos/{full}/issues/comments/{id}`.
pub(super) fn by_id(f: &mut Forge, req: &Request, full: &str, id: &str) -> Reply {
    let m = req.method.as_str();
    if !matches!(m, "GET" | "PATCH" | "DELETE") {
        return not_found();
    }
    let Ok(id) = id.parse::<i64>() else {
        return not_found();
    };
    if f.comments.get(&id).is_none_or(|c| c.repo != full) {
        return not_found();
    }
    match m {
        "DELETE" => {
            f.comments.remove(&id);
            no_content()
        }
        "PATCH" => {
            let Some(b) = body(req) else {
                return invalid("IssueComment", "missing_field", "body");
            };
            if let Some(why) = f.comment_refused(&b) {
                return too_long(&why);
            }
            let edited_at = f.edit_stamp();
            let c = f.comments.get_mut(&id).unwrap();
            c.body = b;
            c.updated_at = Some(edited_at);
            f.outbox.comment_edited(id);
            Reply::json(200, &shapes::comment(f, &f.repos[full], &f.comments[&id]))
        }
        _ => Reply::json(200, &shapes::comment(f, &f.repos[full], &f.comments[&id])),
    }
}
