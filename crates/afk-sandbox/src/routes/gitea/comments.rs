//! Comments: an issue's list and new ones (posted as afk's account), and one
//! comment by its repo-wide id.

use super::{no_content, not_found, shapes};
use crate::err;
use crate::http::{Reply, Request};
use crate::model::{Comment, Forge};
use serde_json::Value;

/// The `body` string of a request, which comment writes require.
fn body(req: &Request) -> Option<String> {
    req.json()
        .and_then(|v| v["body"].as_str().map(str::to_string))
}

/// `GET` or `POST` (`{body}`) `/repos/{full}/issues/{n}/comments`
pub(super) fn of_issue(f: &mut Forge, req: &Request, full: &str, n: u64) -> Reply {
    let base = f.base.clone();
    match req.method.as_str() {
        "GET" => {
            let items: Vec<Value> = f
                .comments
                .values()
                .filter(|c| c.repo == full && c.issue == n)
                .map(|c| shapes::comment(&base, c))
                .collect();
            Reply::json(200, &Value::Array(items))
        }
        "POST" => {
            let Some(b) = body(req) else {
                return err(422, "body is required");
            };
            if let Some(why) = f.comment_refused(&b) {
                return err(422, &why);
            }
            let me = f.me.clone();
            match f.add_comment(full, n, &b, &me) {
                Ok((id, _)) => Reply::json(201, &shapes::comment(&base, &f.comments[&id])),
                Err(e) => err(422, &e),
            }
        }
        _ => not_found(),
    }
}

/// `GET`, `PATCH` (`{body}`) or `DELETE` `/repos/{full}/issues/comments/{id}`;
/// a comment of another repo does not exist here.
pub(super) fn by_id(f: &mut Forge, req: &Request, full: &str, id: &str) -> Reply {
    let m = req.method.as_str();
    if !matches!(m, "GET" | "PATCH" | "DELETE") {
        return not_found();
    }
    let Ok(id) = id.parse::<i64>() else {
        return not_found();
    };
    let base = f.base.clone();
    let refused = body(req).and_then(|b| f.comment_refused(&b));
    let edited_at = (m == "PATCH" && f.comments.get(&id).is_some_and(|c| c.repo == full))
        .then(|| f.edit_stamp());
    let Some(c) = f.comments.get_mut(&id).filter(|c| c.repo == full) else {
        return err(404, "comment does not exist");
    };
    match m {
        "DELETE" => {
            f.comments.remove(&id);
            no_content()
        }
        "PATCH" => {
            let Some(b) = body(req) else {
                return err(422, "body is required");
            };
            if let Some(why) = refused {
                return err(422, &why);
            }
            c.body = b;
            c.updated_at = edited_at;
            f.outbox.comment_edited(id);
            Reply::json(200, &shapes::comment(&base, c))
        }
        _ => Reply::json(200, &shapes::comment(&base, c)),
    }
}

impl Forge {
    /// A comment on `repo#n` by `user`, stamped now: `(id, created_at)`.
    pub(crate) fn add_comment(
        &mut self,
        repo: &str,
        n: u64,
        body: &str,
        user: &str,
    ) -> Result<(i64, String), String> {
        if !self
            .repos
            .get(repo)
            .is_some_and(|r| r.issues.contains_key(&n))
        {
            return Err(format!("no issue {repo}#{n}"));
        }
        let id = self.id();
        let created_at = self.stamp();
        self.comments.insert(
            id,
            Comment {
                id,
                repo: repo.to_string(),
                issue: n,
                body: body.to_string(),
                user: user.to_string(),
                created_at: created_at.clone(),
                updated_at: None,
            },
        );
        self.ci_answer(repo, n, body);
        Ok((id, created_at))
    }
}
