//! A branch and its head commit (`branch-with-protection`), a branch's
//! commits (`GET /commits?sha&since`), and one commit with the files it
//! changed (`GET /commits/{ref}`), read from the real git repository. A
//! commit's `author` and `committer` are the accounts their emails belong
//! to (`git::login_of`), null when none.

use super::shapes;
use super::{not_found, paged};
use crate::git;
use crate::http::{Reply, Request};
use crate::model::Forge;
use crate::routes::enc;
use serde_json::{Value, json};

/// `commit`: the git commit and its GitHub accounts.
fn commit(f: &Forge, full: &str, c: &[String; 9]) -> Value {
    let api = format!("{}/repos/{full}", shapes::api(f));
    let sha = &c[0];
    let person = |n: usize| json!({"name": c[n], "email": c[n + 1], "date": c[n + 2]});
    let parents: Vec<Value> = c[7]
        .split_whitespace()
        .map(|p| {
            json!({"sha": p, "url": format!("{api}/commits/{p}"),
                        "html_url": format!("{}/{full}/commit/{p}", f.base)})
        })
        .collect();
    json!({
        "url": format!("{api}/commits/{sha}"), "sha": sha, "node_id": format!("C_{sha}"),
        "html_url": format!("{}/{full}/commit/{sha}", f.base),
        "comments_url": format!("{api}/commits/{sha}/comments"),
        "commit": {
            "url": format!("{api}/git/commits/{sha}"), "author": person(1), "committer": person(4),
            "message": c[8].trim_end_matches('\n'), "comment_count": 0,
            "tree": {"sha": sha, "url": format!("{api}/git/trees/{sha}")},
        },
        "author": account(f, &c[2]), "committer": account(f, &c[5]), "parents": parents,
    })
}

/// The account a commit email belongs to (`simple-user`), or null.
fn account(f: &Forge, email: &str) -> Value {
    git::login_of(email).map_or(Value::Null, |l| shapes::user(f, l))
}

/// `GET /repos/{full}/commits/{ref}`: the commit, its `stats` and its
/// `files` against its first parent (`diff-entry`: blob, status, paths,
/// patch), the files paged as GitHub pages them (300 a page by default).
pub(super) fn one(f: &Forge, req: &Request, full: &str, reference: &str) -> Reply {
    if req.method != "GET" {
        return not_found();
    }
    let gd = f.git_dir(full);
    let found = (!reference.starts_with('-'))
        .then(|| git::log(&f.git_dir(full), &["-1", reference]))
        .flatten()
        .and_then(|v| v.into_iter().next());
    let (Some(c), Ok(changed)) = (found, git::changed(&gd, reference)) else {
        return super::invalid("Commit", "missing", "sha");
    };
    let sha = &c[0];
    let api = format!("{}/repos/{full}", shapes::api(f));
    let mut total = (0, 0);
    let files: Vec<Value> = changed
        .iter()
        .map(|x| {
            let (adds, dels) = x.patch.as_deref().map_or((0, 0), |p| {
                let n = |c| p.lines().filter(|l| l.starts_with(c)).count();
                (n('+'), n('-'))
            });
            total = (total.0 + adds, total.1 + dels);
            let path = enc(&x.path).replace("%2F", "/");
            let mut v = json!({
                "sha": x.blob, "filename": x.path, "status": x.status,
                "additions": adds, "deletions": dels, "changes": adds + dels,
                "blob_url": format!("{}/{full}/blob/{sha}/{path}", f.base),
                "raw_url": format!("{}/{full}/raw/{sha}/{path}", f.base),
                "contents_url": format!("{api}/contents/{path}?ref={sha}"),
            });
            if let Some(p) = &x.patch {
                v["patch"] = json!(p.trim_end_matches('\n'));
            }
            if let Some(p) = &x.previous {
                v["previous_filename"] = json!(p);
            }
            v
        })
        .collect();
    let mut v = commit(f, full, &c);
    v["stats"] = json!({"total": total.0 + total.1, "additions": total.0, "deletions": total.1});
    super::paged_in(f, req, files, (300, 300), |page| {
        v["files"] = Value::Array(page);
        v
    })
}

/// `GET /repos/{full}/branches/{name}` (a name may hold `/`).
pub(super) fn branch(f: &Forge, req: &Request, full: &str, name: &str) -> Reply {
    if req.method != "GET" {
        return not_found();
    }
    let Some(sha) = git::head(&f.git_dir(full), name) else {
        return super::err(404, "Branch not found");
    };
    let Some(c) = git::log(&f.git_dir(full), &["-1", &sha]).and_then(|v| v.into_iter().next())
    else {
        return not_found();
    };
    let api = format!("{}/repos/{full}/branches/{}", shapes::api(f), enc(name));
    Reply::json(
        200,
        &json!({
            "name": name, "commit": commit(f, full, &c),
            "_links": {"html": format!("{}/{full}/tree/{name}", f.base), "self": api},
            "protected": false, "protection": {"enabled": false},
            "protection_url": format!("{api}/protection"),
        }),
    )
}

/// `GET /repos/{full}/commits?sha=<branch or sha>&since` (default: `main`), newest first.
pub(super) fn list(f: &Forge, req: &Request, full: &str) -> Reply {
    if req.method != "GET" {
        return not_found();
    }
    let reference = req.q("sha").filter(|s| !s.is_empty()).unwrap_or("main");
    if reference.starts_with('-') || reference.contains("..") {
        return super::invalid("Commit", "invalid", "sha");
    }
    let since = req.q("since").map(|s| format!("--since={s}"));
    let mut args = vec![reference];
    if let Some(s) = &since {
        args.push(s);
    }
    let Some(commits) = git::log(&f.git_dir(full), &args) else {
        return not_found();
    };
    paged(f, req, commits.iter().map(|c| commit(f, full, c)).collect())
}
