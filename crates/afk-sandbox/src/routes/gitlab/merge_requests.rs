//! Merge requests by their own `iid`: the list (`state`, `source_branch`,
//! `target_branch`, `author_username`, `labels`), opening one from a branch
//! (`409` when an open one has that source branch, naming it `!M`), one with
//! its `detailed_merge_status` and `head_pipeline` and its `PUT`, its
//! pipelines, the rebase (`202`, its failure reported later in
//! `merge_error`), its reviewers' states and its approvals, from the
//! reviews the admin API plays (`/_admin/review`).

use super::issues::{edit, filtered};
use super::{err, missing, paged, param, shapes};
use crate::http::{Reply, Request};
use crate::model::Forge;
use crate::model::talk::{Review, Updated, Verdict};
use crate::seed::OpenPull;
use serde_json::{Value, json};

/// `GET /projects/:id/merge_requests` or `POST` one as afk's account.
pub(super) fn list_or_open(f: &mut Forge, req: &Request, full: &str) -> Reply {
    if req.method == "POST" {
        return open(f, req, full);
    }
    let items = match filtered(f, req, full, true) {
        Ok(items) => items,
        Err(reply) => return reply,
    };
    let r = &f.repos[full];
    let source = req.q("source_branch");
    let target = req.q("target_branch");
    let author = req.q("author_username");
    let items = items
        .into_iter()
        .filter(|i| source.is_none_or(|s| i.head.as_deref() == Some(s)))
        .filter(|i| target.is_none_or(|t| i.base == t))
        .filter(|i| author.is_none_or(|a| i.author.eq_ignore_ascii_case(a)))
        .map(|i| shapes::merge_request(f, r, i, false, false))
        .collect();
    paged(f, req, items)
}

/// `{source_branch, target_branch, title, description}`.
fn open(f: &mut Forge, req: &Request, full: &str) -> Reply {
    let (Some(source), Some(target), Some(title)) = (
        param(req, "source_branch"),
        param(req, "target_branch"),
        param(req, "title"),
    ) else {
        return missing("source_branch, target_branch, title");
    };
    if crate::git::head(&f.git_dir(full), &target).is_none() {
        return Reply::json(
            409,
            &json!({"message": [format!("Target branch \"{target}\" does not exist")]}),
        );
    }
    let description = param(req, "description").unwrap_or_default();
    match f.open_pull(full, &source, &title, &description) {
        Ok(n) => {
            let r = f.repos.get_mut(full).unwrap();
            r.issues.get_mut(&n).unwrap().base = target;
            let r = &f.repos[full];
            Reply::json(201, &single(f, r, &r.issues[&n], false))
        }
        Err(OpenPull::NoBranch) => Reply::json(
            409,
            &json!({"message": [format!("Source branch \"{source}\" does not exist")]}),
        ),
        Err(OpenPull::Exists) => {
            let other = f.repos[full]
                .issues
                .values()
                .find(|i| i.pull && i.state == "open" && i.head.as_deref() == Some(&source))
                .map_or(0, |i| Forge::shown(i.number));
            Reply::json(
                409,
                &json!({"message": [format!("Another open merge request already exists for this source branch: !{other}")]}),
            )
        }
        Err(OpenPull::Other(e)) => err(400, &e),
    }
}

/// `GET` (`include_rebase_in_progress`) or `PUT` (`title`, `description`,
/// `state_event`, `add_labels`, `remove_labels`) a merge request.
pub(super) fn one(f: &mut Forge, req: &Request, full: &str, n: u64) -> Reply {
    if req.method == "PUT"
        && let Err(reply) = edit(f, req, full, n)
    {
        return reply;
    }
    let r = &f.repos[full];
    let rebase = req.q("include_rebase_in_progress") == Some("true");
    Reply::json(200, &single(f, r, &r.issues[&n], rebase))
}

/// `GET .../merge_requests/:iid/pipelines`
pub(super) fn pipelines(f: &Forge, req: &Request, full: &str, n: u64) -> Reply {
    let r = &f.repos[full];
    paged(f, req, super::ci::of_merge_request(f, r, &r.issues[&n]))
}

/// `PUT .../merge_requests/:iid/rebase`: `202 {"rebase_in_progress": true}`;
/// done at once, and a conflict is reported as GitLab reports it later, in
/// the merge request's `merge_error`. A closed or merged one: `403`.
pub(super) fn rebase(f: &mut Forge, full: &str, n: u64) -> Reply {
    let key = (full.to_string(), n);
    match f.update_branch(full, n, true, None) {
        Ok(Updated::Moved | Updated::UpToDate | Updated::HeadMoved) => {
            f.gl.merge_errors.remove(&key);
        }
        Ok(Updated::Conflict) => {
            f.gl.merge_errors.insert(
                key,
                "Rebase failed: Rebase locally, resolve all conflicts, then push the branch."
                    .into(),
            );
        }
        Ok(Updated::NotOpen) => return err(403, "403 Forbidden"),
        Err(e) => return err(403, &e),
    }
    Reply::json(202, &json!({"rebase_in_progress": true}))
}

/// The single merge request's shape with its `head_pipeline`.
fn single(f: &Forge, r: &crate::model::Repo, i: &crate::model::Issue, rebase: bool) -> Value {
    let mut v = shapes::merge_request(f, r, i, true, rebase);
    let sha = v["sha"].as_str().unwrap_or("").to_string();
    v["head_pipeline"] = super::ci::pipeline_of(f, r, &sha, i).unwrap_or(Value::Null);
    v
}

/// Each reviewer's latest review (dismissed ones left out), oldest first.
fn latest_reviews<'a>(f: &'a Forge, full: &str, n: u64) -> Vec<&'a Review> {
    let mut latest: Vec<&Review> = vec![];
    for r in f.reviews_of(full, n).into_iter().rev() {
        if !r.dismissed && r.verdict != Verdict::Pending && !latest.iter().any(|l| l.user == r.user)
        {
            latest.push(r);
        }
    }
    latest.reverse();
    latest
}

/// `GET .../merge_requests/:iid/reviewers`: `[{user, state, created_at}]`,
/// the state `approved`, `requested_changes` or `reviewed`.
pub(super) fn reviewers(f: &Forge, full: &str, n: u64) -> Reply {
    let items: Vec<Value> = latest_reviews(f, full, n)
        .into_iter()
        .map(|r| {
            let state = match r.verdict {
                Verdict::Approved => "approved",
                Verdict::ChangesRequested => "requested_changes",
                _ => "reviewed",
            };
            json!({"user": shapes::user(f, &r.user), "state": state, "created_at": r.at})
        })
        .collect();
    Reply::json(200, &Value::Array(items))
}

/// `GET .../merge_requests/:iid/approvals`: no approval required, so
/// `approved` is true with or without anyone in `approved_by`.
pub(super) fn approvals(f: &Forge, full: &str, n: u64) -> Reply {
    let r = &f.repos[full];
    let i = &r.issues[&n];
    let by: Vec<Value> = latest_reviews(f, full, n)
        .into_iter()
        .filter(|r| r.verdict == Verdict::Approved)
        .map(|r| json!({"user": shapes::user(f, &r.user), "approved_at": r.at}))
        .collect();
    let state = if i.merged {
        "merged"
    } else if i.state == "open" {
        "opened"
    } else {
        "closed"
    };
    Reply::json(
        200,
        &json!({"id": i.id, "iid": Forge::shown(n), "project_id": r.id, "title": i.title,
                "description": i.body, "state": state, "created_at": crate::TS,
                "updated_at": i.updated_at.as_deref().unwrap_or(crate::TS),
                "merge_status": "can_be_merged", "approved": true, "approvals_required": 0,
                "approvals_left": 0, "require_password_to_approve": false,
                "approved_by": by, "suggested_approvers": [], "approvers": [],
                "approver_groups": [], "user_has_approved": false, "user_can_approve": true}),
    )
}
