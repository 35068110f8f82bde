//! Commit statuses: a commit's combined status, its statuses, and new ones.

use super::{not_found, paged, shapes};
use crate::http::{Reply, Request};
use crate::model::{Forge, Status};
use crate::{err, git};
use serde_json::Value;

/// `GET /repos/{full}/commits/{reference}/status`: a branch name or a sha.
pub(super) fn combined(f: &Forge, req: &Request, full: &str, reference: &str) -> Reply {
    if req.method != "GET" {
        return not_found();
    }
    let sha = git::head(&f.git_dir(full), reference).unwrap_or_else(|| reference.to_string());
    Reply::json(200, &shapes::combined(f, full, &sha))
}

/// `GET` (newest first) or `POST` `/repos/{full}/statuses/{sha}`
pub(super) fn serve(f: &mut Forge, req: &Request, full: &str, sha: &str) -> Reply {
    match req.method.as_str() {
        "GET" => {
            let items = f
                .statuses(full, sha)
                .iter()
                .rev()
                .map(|s| shapes::status(&f.base, full, sha, s))
                .collect();
            paged(f, req, items, super::Ends::Linked)
        }
        "POST" => match f.add_status(full, sha, &req.json().unwrap_or(Value::Null)) {
            Ok(v) => Reply::json(201, &v),
            Err(e) => err(422, &e),
        },
        _ => not_found(),
    }
}

impl Forge {
    /// Add a status from Gitea's `{state, context, target_url, description}`
    /// (the admin API takes the same), answered in Gitea's shape.
    pub fn add_status(&mut self, repo: &str, sha: &str, body: &Value) -> Result<Value, String> {
        let text = |k: &str, default: &str| body[k].as_str().unwrap_or(default).to_string();
        let status = Status {
            id: 0,
            state: text("state", ""),
            context: text("context", "default"),
            target_url: text("target_url", ""),
            description: text("description", ""),
            creator: self.me.clone(),
            updated_at: String::new(),
        };
        self.push_status(repo, sha, status)?;
        let s = self.statuses(repo, sha).last().expect("just added");
        Ok(shapes::status(&self.base, repo, sha, s))
    }
}
