//! A branch's commits, `GET /repos/{full}/commits?sha=<branch>`: read from the
//! real bare repository with `git log` (newest first), paged like Gitea, in
//! Gitea's `Commit` shape (sha, commit.message, author/committer names, emails
//! and dates, and the accounts those emails belong to); and a commit's raw
//! diff, `GET /repos/{full}/git/commits/{sha}.diff`.

use super::{not_found, paged, shapes};
use crate::http::{Reply, Request};
use crate::model::Forge;
use crate::{err, git};
use serde_json::{Value, json};

/// `GET /repos/{full}/commits[?sha=<branch or sha>]` (default: `main`).
pub(super) fn list(f: &Forge, req: &Request, full: &str) -> Reply {
    if req.method != "GET" {
        return not_found();
    }
    let reference = req.q("sha").filter(|s| !s.is_empty()).unwrap_or("main");
    if reference.starts_with('-') || reference.contains("..") {
        return err(422, "invalid reference");
    }
    let gd = f.git_dir(full);
    // fields separated by NUL, commits by RS: messages may hold anything else
    let out = match git::git(
        &gd,
        &[
            "log",
            "--format=%H%x00%aI%x00%cI%x00%an%x00%ae%x00%cn%x00%ce%x00%B%x1e",
            reference,
            "--",
        ],
        None,
    ) {
        Ok(o) => o,
        Err(_) => return err(404, "sha not found"),
    };
    let base = &f.base;
    let items: Vec<Value> = out
        .split('\u{1e}')
        .map(|c| c.trim_start_matches('\n'))
        .filter(|c| !c.is_empty())
        .filter_map(|c| {
            let p: Vec<&str> = c.splitn(8, '\0').collect();
            let [
                sha,
                a_date,
                c_date,
                a_name,
                a_email,
                c_name,
                c_email,
                message,
            ] = p[..]
            else {
                return None;
            };
            let account = |email| git::login_of(email).map_or(Value::Null, shapes::user);
            Some(json!({
                "sha": sha,
                "url": format!("{base}/api/v1/repos/{full}/git/commits/{sha}"),
                "html_url": format!("{base}/{full}/commit/{sha}"),
                "created": c_date,
                "commit": {
                    "message": message,
                    "author": {"name": a_name, "email": a_email, "date": a_date},
                    "committer": {"name": c_name, "email": c_email, "date": c_date},
                },
                "author": account(a_email),
                "committer": account(c_email),
            }))
        })
        .collect();
    paged(f, req, items, super::Ends::Linked)
}

/// `GET /repos/{full}/git/commits/{sha}.diff`: the commit against its first
/// parent as `git diff -M` writes it, in plain text (Gitea's raw diff).
/// The operation produces `text/plain` only, so a request whose `Accept`
/// rules that out is refused with 406: a client asking for JSON here would
/// be asking for something the contract does not offer.
pub(super) fn raw_diff(f: &Forge, req: &Request, full: &str, file: &str) -> Reply {
    let Some(sha) = file.strip_suffix(".diff") else {
        return not_found();
    };
    if req.method != "GET" {
        return not_found();
    }
    if let Some(a) = req.header("accept")
        && !a
            .split(',')
            .map(|m| m.split(';').next().unwrap_or("").trim())
            .any(|m| matches!(m, "text/plain" | "text/*" | "*/*"))
    {
        return err(406, "this operation produces text/plain only");
    }
    match git::diff(&f.git_dir(full), sha) {
        Ok(text) => Reply::Send {
            status: 200,
            headers: vec![("Content-Type".into(), "text/plain; charset=utf-8".into())],
            body: text.into_bytes(),
        },
        Err(_) => err(404, "commit does not exist"),
    }
}
