//! Commit statuses and the pipelines they make: on GitLab a status posted
//! for a commit belongs to an external pipeline of that commit, so each
//! commit with statuses has one pipeline here (its id the first status's),
//! whose status is its latest statuses' (any failed: `failed`; any not
//! finished: `running`; else `success`), `external` as GitLab says of one:
//! it lists no jobs, its lines are its commit's statuses.

use super::{err, not_found, paged, param, shapes};
use crate::http::{Reply, Request};
use crate::model::{Forge, Issue, Repo, Status};
use serde_json::{Value, json};

/// The pipeline of `sha` in `full`, if any status was posted on it.
fn pipeline_id(f: &Forge, full: &str, sha: &str) -> Option<i64> {
    f.statuses(full, sha).first().map(|s| s.id)
}

/// The pipeline's status from its commit's latest statuses.
fn pipeline_status(latest: &[&Status]) -> &'static str {
    let states: Vec<&str> = latest
        .iter()
        .map(|s| shapes::status_state(&s.state))
        .collect();
    if states.contains(&"failed") {
        "failed"
    } else if states.iter().any(|s| *s != "success") {
        "running"
    } else {
        "success"
    }
}

/// The branch a commit is the head of, for a pipeline's `ref`: a merge
/// request's merge ref for a commit made there (`/_admin/merge_ref`), an
/// open merge request's source branch, else `main`.
fn ref_of(f: &Forge, r: &Repo, sha: &str) -> String {
    if let Some(n) = f.gl.merge_refs.get(&(r.full_name.clone(), sha.to_string())) {
        return merge_ref_name(*n);
    }
    r.issues
        .values()
        .filter(|i| i.pull)
        .find(|i| f.head_sha(&r.full_name, i) == sha)
        .and_then(|i| i.head.clone())
        .unwrap_or_else(|| "main".into())
}

fn pipeline(f: &Forge, r: &Repo, sha: &str, git_ref: &str, single: bool) -> Option<Value> {
    let id = pipeline_id(f, &r.full_name, sha)?;
    let latest = f.latest_statuses(&r.full_name, sha);
    let status = pipeline_status(&latest);
    let updated = latest
        .iter()
        .map(|s| s.updated_at.clone())
        .max()
        .unwrap_or_default();
    let created = f.statuses(&r.full_name, sha)[0].updated_at.clone();
    let mut v = json!({"id": id, "iid": id, "project_id": r.id, "sha": sha, "ref": git_ref,
        "status": status, "source": "external", "created_at": created, "updated_at": updated,
        "web_url": format!("{}/{}/-/pipelines/{id}", f.base, r.full_name)});
    if single {
        v["before_sha"] = json!("0000000000000000000000000000000000000000");
        v["tag"] = json!(false);
        v["yaml_errors"] = Value::Null;
        v["user"] = shapes::user(
            f,
            &latest.last().map_or(f.me.clone(), |s| s.creator.clone()),
        );
        v["started_at"] = json!(created);
        v["finished_at"] = if status == "running" {
            Value::Null
        } else {
            json!(updated)
        };
        v["committed_at"] = Value::Null;
        v["duration"] = Value::Null;
        v["queued_duration"] = Value::Null;
        v["coverage"] = Value::Null;
        v["detailed_status"] = json!({"icon": format!("status_{status}"), "text": status,
            "label": status, "group": status, "has_details": true,
            "details_path": format!("/{}/-/pipelines/{id}", r.full_name)});
    }
    Some(v)
}

fn merge_ref_name(n: u64) -> String {
    format!("refs/merge-requests/{}/merge", Forge::shown(n))
}

/// A merge request's pipelines as (id, sha, ref), newest first: its head
/// commit's, and each merged results pipeline of its merge ref's commits.
fn pipelines_of(f: &Forge, r: &Repo, sha: &str, i: &Issue) -> Vec<(i64, String, String)> {
    let head = pipeline_id(f, &r.full_name, sha).map(|id| {
        (
            id,
            sha.to_string(),
            i.head.clone().unwrap_or_else(|| "main".into()),
        )
    });
    let merged = (f.gl.merge_refs.iter())
        .filter(|((repo, _), n)| *repo == r.full_name && **n == i.number)
        .filter_map(|((_, m), n)| {
            pipeline_id(f, &r.full_name, m).map(|id| (id, m.clone(), merge_ref_name(*n)))
        });
    let mut all: Vec<_> = head.into_iter().chain(merged).collect();
    all.sort_by_key(|p| std::cmp::Reverse(p.0));
    all
}

/// A merge request's `head_pipeline`: the newest pipeline made for it (its
/// head's, or a merged results one), as GitLab keeps `head_pipeline_id`:
/// after a push it is still the old head's until a pipeline is made for
/// the new one.
pub(super) fn pipeline_of(f: &Forge, r: &Repo, sha: &str, i: &Issue) -> Option<Value> {
    let (_, sha, git_ref) = pipelines_of(f, r, sha, i).into_iter().next()?;
    pipeline(f, r, &sha, &git_ref, true)
}

/// `GET .../merge_requests/:iid/pipelines` lists: its pipelines, newest first.
pub(super) fn of_merge_request(f: &Forge, r: &Repo, i: &Issue) -> Vec<Value> {
    let sha = f.head_sha(&r.full_name, i);
    (pipelines_of(f, r, &sha, i).into_iter())
        .filter_map(|(_, sha, git_ref)| pipeline(f, r, &sha, &git_ref, false))
        .collect()
}

/// The commit whose pipeline is `id`.
fn sha_of(f: &Forge, full: &str, id: &str) -> Option<String> {
    let id = id.parse::<i64>().ok()?;
    f.statuses
        .iter()
        .find(|((repo, _), all)| repo == full && all.first().is_some_and(|s| s.id == id))
        .map(|((_, sha), _)| sha.clone())
}

/// `GET /projects/:id/pipelines/:pipeline_id`
pub(super) fn pipeline_get(f: &Forge, full: &str, id: &str) -> Reply {
    let r = &f.repos[full];
    match sha_of(f, full, id).and_then(|sha| pipeline(f, r, &sha, &ref_of(f, r, &sha), true)) {
        Some(v) => Reply::json(200, &v),
        None => not_found(""),
    }
}

/// `GET /projects/:id/pipelines/:pipeline_id/jobs`: none. Every pipeline
/// here is external (`source: external`, made of commit statuses), and GitLab
/// lists only a pipeline's CI jobs there, never the statuses posted to it
/// (`Ci::JobsFinder` over the pipeline's builds): they are its commit's
/// statuses.
pub(super) fn jobs(f: &Forge, req: &Request, full: &str, id: &str) -> Reply {
    if sha_of(f, full, id).is_none() {
        return not_found("");
    }
    paged(f, req, vec![])
}

/// `GET /projects/:id/repository/commits/:sha/statuses?ref&name&all`: the
/// latest status per name (every one with `all=true`), newest first.
pub(super) fn statuses(f: &Forge, req: &Request, full: &str, sha: &str) -> Reply {
    let r = &f.repos[full];
    let all = req.q("all") == Some("true");
    let pipeline = pipeline_id(f, full, sha).unwrap_or(0);
    let git_ref = ref_of(f, r, sha);
    let chosen: Vec<&Status> = if all {
        f.statuses(full, sha).iter().collect()
    } else {
        f.latest_statuses(full, sha)
    };
    let items = chosen
        .into_iter()
        .rev()
        .filter(|s| req.q("name").is_none_or(|n| n == s.context))
        .filter(|_| req.q("ref").is_none_or(|g| g == git_ref))
        .map(|s| shapes::status(f, &git_ref, sha, pipeline, s))
        .collect();
    paged(f, req, items)
}

/// `POST /projects/:id/statuses/:sha {state, name | context, target_url,
/// description}`; GitLab's states: `pending`, `running`, `success`,
/// `failed`, `canceled`.
pub(super) fn create(f: &mut Forge, req: &Request, full: &str, sha: &str) -> Reply {
    let model = match param(req, "state").as_deref() {
        Some("pending" | "running") => "pending",
        Some("success") => "success",
        Some("failed") => "failure",
        Some("canceled") => "error",
        _ => {
            return Reply::json(400, &json!({"error": "state does not have a valid value"}));
        }
    };
    let name = param(req, "name")
        .or_else(|| param(req, "context"))
        .unwrap_or_else(|| "default".into());
    let body = json!({"state": model, "context": name,
        "target_url": param(req, "target_url").unwrap_or_default(),
        "description": param(req, "description").unwrap_or_default()});
    if let Err(e) = f.add_status(full, sha, &body) {
        return err(400, &e);
    }
    let r = &f.repos[full];
    let s = f.statuses(full, sha).last().expect("just added");
    let pipeline = pipeline_id(f, full, sha).unwrap_or(0);
    Reply::json(
        201,
        &shapes::status(f, &ref_of(f, r, sha), sha, pipeline, s),
    )
}
