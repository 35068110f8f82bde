//! A project's repository as GitLab's `repository` API shows it, read from
//! the real bare git repository: one branch with its head commit
//! (`GET .../repository/branches/:branch`, `doc/api/branches.md`), a ref's
//! commits newest first (`GET .../repository/commits?ref_name&since`,
//! `doc/api/commits.md`), and what one commit changed against its first
//! parent (`GET .../repository/commits/:sha/diff`), file by file with the
//! hunks in `diff`. afk's harvest reads the commits and the diffs (reverts on
//! the default branch), its upgrade the mirror's `main`.

use super::{not_found, paged};
use crate::git;
use crate::http::{Reply, Request};
use crate::model::Forge;
use serde_json::{Value, json};

/// A commit as GitLab's `Commit` entity shows it.
fn commit(f: &Forge, full: &str, c: &[String; 9]) -> Value {
    let message = c[8].trim_end_matches('\n');
    let title = message.lines().next().unwrap_or("");
    let parents: Vec<&str> = c[7].split_whitespace().collect();
    json!({
        "id": c[0], "short_id": &c[0][..c[0].len().min(8)], "created_at": c[6],
        "parent_ids": parents, "title": title, "message": message,
        "author_name": c[1], "author_email": c[2], "authored_date": c[3],
        "committer_name": c[4], "committer_email": c[5], "committed_date": c[6],
        "trailers": {}, "extended_trailers": {},
        "web_url": format!("{}/{full}/-/commit/{}", f.base, c[0]),
    })
}

/// `GET .../repository/branches/:branch` (the name one encoded segment).
pub(super) fn branch(f: &Forge, full: &str, name: &str) -> Reply {
    let Some(sha) = git::head(&f.git_dir(full), name) else {
        return not_found("Branch");
    };
    let Some(c) = git::log(&f.git_dir(full), &["-1", &sha]).and_then(|v| v.into_iter().next())
    else {
        return not_found("Branch");
    };
    Reply::json(
        200,
        &json!({
            "name": name, "merged": false, "protected": false, "default": name == "main",
            "developers_can_push": false, "developers_can_merge": false, "can_push": true,
            "web_url": format!("{}/{full}/-/tree/{name}", f.base),
            "commit": commit(f, full, &c),
        }),
    )
}

/// `GET .../repository/commits?ref_name=<branch or sha>&since` (default: the
/// default branch), newest first, paged.
pub(super) fn commits(f: &Forge, req: &Request, full: &str) -> Reply {
    let reference = req
        .q("ref_name")
        .filter(|s| !s.is_empty())
        .unwrap_or("main");
    if reference.starts_with('-') || reference.contains("..") {
        return not_found("Commit");
    }
    let since = req.q("since").map(|s| format!("--since={s}"));
    let mut args = vec![reference];
    if let Some(s) = &since {
        args.push(s);
    }
    match git::log(&f.git_dir(full), &args) {
        Some(list) => paged(f, req, list.iter().map(|c| commit(f, full, c)).collect()),
        None => not_found("Commit"),
    }
}

/// `GET .../repository/commits/:sha` (`doc/api/commits.md`, "Get a single
/// commit"): the commit with its `parent_ids`, `stats`, `status` and
/// `last_pipeline` (`null`: the sandbox keeps none per commit here).
pub(super) fn one(f: &Forge, full: &str, sha: &str) -> Reply {
    if sha.starts_with('-') || sha.contains("..") {
        return not_found("Commit");
    }
    match git::log(&f.git_dir(full), &["-1", sha]).and_then(|v| v.into_iter().next()) {
        Some(c) => {
            let mut v = commit(f, full, &c);
            v["stats"] = json!({"additions": 0, "deletions": 0, "total": 0});
            v["status"] = Value::Null;
            v["last_pipeline"] = Value::Null;
            v["project_id"] = json!(f.repos[full].id);
            Reply::json(200, &v)
        }
        None => not_found("Commit"),
    }
}

/// `GET .../repository/commits/:sha/diff`: each file commit `sha` changed
/// against its first parent (a root commit: none), paged.
pub(super) fn diff(f: &Forge, req: &Request, full: &str, sha: &str) -> Reply {
    let Ok(changed) = git::changed(&f.git_dir(full), sha) else {
        return not_found("Commit");
    };
    let files = changed
        .into_iter()
        .map(|x| {
            json!({
                "diff": x.patch.unwrap_or_default(),
                "old_path": x.previous.as_deref().unwrap_or(&x.path), "new_path": x.path,
                "a_mode": if x.status == "added" { "0" } else { "100644" },
                "b_mode": if x.status == "removed" { "0" } else { "100644" },
                "new_file": x.status == "added", "renamed_file": x.status == "renamed",
                "deleted_file": x.status == "removed", "generated_file": false,
            })
        })
        .collect();
    paged(f, req, files)
}

/// `GET .../protected_branches` (`doc/api/protected_branches.md`): the rules
/// the admin API's `/protected_branch` made, each with its push access level.
pub(super) fn protected(f: &Forge, req: &Request, full: &str) -> Reply {
    let level_name = |l: u64| match l {
        0 => "No one",
        30 => "Developers + Maintainers",
        _ => "Maintainers",
    };
    let rules = f.gl.protected.get(full).cloned().unwrap_or_default();
    let items = rules
        .iter()
        .enumerate()
        .map(|(i, (name, level))| {
            let access = |id: usize| {
                json!([{"id": id, "access_level": level, "access_level_description": level_name(*level),
                        "deploy_key_id": null, "user_id": null, "group_id": null}])
            };
            json!({"id": i + 1, "name": name, "push_access_levels": access(2 * i + 1),
                   "merge_access_levels": access(2 * i + 2), "allow_force_push": false,
                   "code_owner_approval_required": false})
        })
        .collect();
    paged(f, req, items)
}
