//! A branch and its head commit, read from the real git repository.

use super::not_found;
use crate::http::{Reply, Request};
use crate::model::Forge;
use crate::{err, git};
use serde_json::json;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

/// A commit's author, committer, date and message, `\0`-separated. Commits
/// never change, so each is read with git once (as a forge keeps them in its
/// database) and the sandbox costs no process per branch lookup after that.
fn commit_fields(git_dir: &Path, sha: &str) -> String {
    static SEEN: OnceLock<Mutex<HashMap<(PathBuf, String), String>>> = OnceLock::new();
    let seen = SEEN.get_or_init(Default::default);
    let key = (git_dir.to_path_buf(), sha.to_string());
    if let Some(s) = seen.lock().unwrap().get(&key) {
        return s.clone();
    }
    // %x00 separates the fields; the message (%B) comes last and may hold anything
    let out = git::git(
        git_dir,
        &[
            "log",
            "-1",
            "--format=%an%x00%ae%x00%cn%x00%ce%x00%cI%x00%B",
            sha,
        ],
        None,
    )
    .unwrap_or_default();
    if !out.is_empty() {
        seen.lock().unwrap().insert(key, out.clone());
    }
    out
}

/// `GET /repos/{full}/branches/{name}`: the name may hold `/` (Gitea routes `branches/*`).
pub(super) fn one(f: &Forge, req: &Request, full: &str, name: &str) -> Reply {
    if req.method != "GET" {
        return not_found();
    }
    let gd = f.git_dir(full);
    let Some(sha) = git::head(&gd, name) else {
        return err(404, "branch does not exist");
    };
    let out = commit_fields(&gd, &sha);
    let p: Vec<&str> = out.splitn(6, '\0').collect();
    let field = |i: usize| p.get(i).copied().unwrap_or("");
    let person = |n: usize, e: usize| json!({"name": field(n), "email": field(e), "username": ""});
    Reply::json(
        200,
        &json!({
            "name": name,
            "commit": {
                "id": sha, "message": field(5), "url": format!("{}/{full}/commit/{sha}", f.base),
                "author": person(0, 1), "committer": person(2, 3), "timestamp": field(4),
                "verification": null, "added": null, "modified": null, "removed": null,
            },
            "protected": false, "required_approvals": 0, "enable_status_check": false,
            "status_check_contexts": [], "user_can_push": true, "user_can_merge": true,
            "effective_branch_protection_name": "",
        }),
    )
}
