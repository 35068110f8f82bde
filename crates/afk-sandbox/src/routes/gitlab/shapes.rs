//! The model in GitLab's JSON shapes (`doc/api/issues.md`, `merge_requests.md`,
//! `notes.md`, `discussions.md`, `emoji_reactions.md`,
//! `resource_label_events.md`, `members.md`, `pipelines.md`, `commits.md`):
//! `id` global, `iid` the project's own (issues and merge requests apart),
//! `state` `opened`, `closed` or `merged`, users as `{id, username, name}`.
//! Timestamps are the fixed `TS` for accounts and projects; those of issues,
//! merge requests, notes, label events and statuses carry when they were made.

use super::api;
use crate::TS;
use crate::model::gitlab::Thread;
use crate::model::{Comment, Forge, Issue, LabelEvent, Repo, Status};
use serde_json::{Value, json};

/// A user's id, derived from the username so it is stable (and found again
/// from it: `super::users::by_id`).
pub(super) fn user_id(username: &str) -> i64 {
    username
        .to_ascii_lowercase()
        .bytes()
        .fold(17i64, |a, b| (a * 31 + b as i64) % 1_000_000)
        + 1000
}

/// A user as GitLab embeds one (`author`, `user`): the basic shape.
pub(super) fn user(f: &Forge, username: &str) -> Value {
    json!({"id": user_id(username), "username": username, "name": username,
           "state": "active", "locked": false, "avatar_url": null,
           "web_url": format!("{}/{username}", f.base)})
}

/// `GET /user` and `GET /users/:id`: the basic shape with its account's facts.
pub(super) fn account(f: &Forge, username: &str) -> Value {
    let mut u = user(f, username);
    u["bot"] = json!(false);
    u["created_at"] = json!(TS);
    u["public_email"] = json!(null);
    if username == f.me {
        u["email"] = json!(format!("{username}@sandbox.invalid"));
        u["is_admin"] = json!(false);
    }
    u
}

/// A project (`GET /projects/:id`): its full path, the default branch and
/// afk's own access (`permissions.project_access`).
pub(super) fn project(f: &Forge, r: &Repo, access: Option<u64>) -> Value {
    let full = &r.full_name;
    let (ns, name) = full.rsplit_once('/').unwrap_or(("", full));
    let access = access.map(|a| json!({"access_level": a, "notification_level": 3}));
    json!({"id": r.id, "name": name, "path": name, "name_with_namespace": full.replace('/', " / "),
           "path_with_namespace": full, "default_branch": "main",
           "visibility": if r.private { "private" } else { "public" },
           "web_url": format!("{}/{full}", f.base),
           "http_url_to_repo": format!("{}/{full}.git", f.base),
           "ssh_url_to_repo": null, "archived": false, "empty_repo": false,
           "namespace": {"id": user_id(ns), "name": ns.rsplit('/').next().unwrap_or(ns),
                         "path": ns.rsplit('/').next().unwrap_or(ns), "full_path": ns,
                         "kind": "group", "web_url": format!("{}/groups/{ns}", f.base)},
           "issues_enabled": true, "merge_requests_enabled": true,
           "merge_method": "merge", "only_allow_merge_if_pipeline_succeeds": false,
           "remove_source_branch_after_merge": true, "autoclose_referenced_issues": true,
           "permissions": {"project_access": access, "group_access": null},
           "created_at": TS, "last_activity_at": TS})
}

/// A project's label (`GET /projects/:id/labels`).
pub(super) fn label(id: i64, name: &str) -> Value {
    json!({"id": id, "name": name, "color": "#00aabb", "text_color": "#FFFFFF",
           "description": null, "description_html": "", "open_issues_count": 0,
           "closed_issues_count": 0, "open_merge_requests_count": 0,
           "subscribed": false, "priority": null, "is_project_label": true})
}

fn label_names(r: &Repo, i: &Issue) -> Vec<String> {
    i.labels
        .iter()
        .filter_map(|id| r.labels.iter().find(|(l, _)| l == id))
        .map(|(_, n)| n.clone())
        .collect()
}

fn user_notes(f: &Forge, r: &Repo, n: u64) -> usize {
    f.comments
        .values()
        .filter(|c| c.repo == r.full_name && c.issue == n && !f.gl.system.contains(&c.id))
        .count()
}

/// An issue (`doc/api/issues.md`).
pub(super) fn issue(f: &Forge, r: &Repo, i: &Issue) -> Value {
    let iid = Forge::shown(i.number);
    let full = &r.full_name;
    let closed = i.state != "open";
    json!({"id": i.id, "iid": iid, "project_id": r.id, "title": i.title,
           "description": i.body, "state": if closed { "closed" } else { "opened" },
           "created_at": i.created_at, "updated_at": i.updated(),
           "closed_at": if closed { json!(i.closed_at) } else { Value::Null }, "closed_by": null,
           "labels": label_names(r, i), "milestone": null, "assignees": [], "assignee": null,
           "author": user(f, &i.author), "type": "ISSUE", "issue_type": "issue",
           "user_notes_count": user_notes(f, r, i.number), "merge_requests_count": 0,
           "upvotes": 0, "downvotes": 0, "due_date": null, "confidential": false,
           "discussion_locked": null, "web_url": format!("{}/{full}/-/issues/{iid}", f.base),
           "references": {"short": format!("#{iid}"), "relative": format!("#{iid}"),
                          "full": format!("{full}#{iid}")},
           "has_tasks": false, "blocking_issues_count": 0,
           "_links": {"self": format!("{}/projects/{}/issues/{iid}", api(f), r.id),
                      "notes": format!("{}/projects/{}/issues/{iid}/notes", api(f), r.id),
                      "project": format!("{}/projects/{}", api(f), r.id)}})
}

/// What GitLab says of a merge request's mergeability: `detailed_merge_status`
/// and `has_conflicts`.
fn merge_status(f: &Forge, r: &Repo, i: &Issue) -> (&'static str, bool) {
    if i.state != "open" || i.merged {
        return ("not_open", false);
    }
    match f.mergeable(&r.full_name, i.number) {
        None => ("checking", false),
        Some(true) => ("mergeable", false),
        Some(false) => ("conflict", true),
    }
}

/// A merge request (`doc/api/merge_requests.md`); `single`: the answer to
/// `GET .../merge_requests/:iid`, with `head_pipeline`, `diff_refs` and the
/// rebase's news (`rebase_in_progress` only when asked).
pub(super) fn merge_request(
    f: &Forge,
    r: &Repo,
    i: &Issue,
    single: bool,
    rebase_asked: bool,
) -> Value {
    let iid = Forge::shown(i.number);
    let full = &r.full_name;
    let sha = f.head_sha(full, i);
    let state = match (i.merged, i.state.as_str()) {
        (true, _) => "merged",
        (false, "open") => "opened",
        _ => "closed",
    };
    let (detailed, conflicts) = merge_status(f, r, i);
    let source_project = match &i.head_repo {
        Some(h) if h != full => f.repos.get(h).map_or(0, |p| p.id),
        _ => r.id,
    };
    let mut v = json!({"id": i.id, "iid": iid, "project_id": r.id, "title": i.title,
        "description": i.body, "state": state, "created_at": i.created_at,
        "updated_at": i.updated(), "merged_at": i.merged_at, "merged_by": null,
        "closed_at": if state == "closed" { json!(i.closed_at) } else { Value::Null }, "closed_by": null,
        "target_branch": i.base, "source_branch": i.head.as_deref().unwrap_or(""),
        "source_project_id": source_project, "target_project_id": r.id,
        "author": user(f, &i.author), "assignees": [], "assignee": null, "reviewers": [],
        "labels": label_names(r, i), "draft": i.title.starts_with("Draft:"), "work_in_progress": i.title.starts_with("Draft:"),
        "milestone": null, "merge_when_pipeline_succeeds": false});
    let more = json!({
        "merge_status": if conflicts { "cannot_be_merged" } else if detailed == "checking" { "checking" } else { "can_be_merged" },
        "detailed_merge_status": detailed, "has_conflicts": conflicts,
        "sha": sha, "merge_commit_sha": i.merge_sha, "squash_commit_sha": null,
        "squash": false, "squash_on_merge": false,
        "user_notes_count": user_notes(f, r, i.number), "upvotes": 0, "downvotes": 0,
        "discussion_locked": null, "should_remove_source_branch": null,
        "force_remove_source_branch": false,
        "web_url": format!("{}/{full}/-/merge_requests/{iid}", f.base),
        "references": {"short": format!("!{iid}"), "relative": format!("!{iid}"),
                       "full": format!("{full}!{iid}")}});
    if let (Some(v), Value::Object(more)) = (v.as_object_mut(), more) {
        v.extend(more);
    }
    if single {
        let base_sha = crate::git::head(&f.git_dir(full), &i.base).unwrap_or_default();
        // `head_pipeline` is set by merge_requests.rs (ci.rs names shapes.rs)
        v["head_pipeline"] = Value::Null;
        v["diff_refs"] = json!({"base_sha": base_sha, "head_sha": sha, "start_sha": base_sha});
        v["merge_error"] =
            f.gl.merge_errors
                .get(&(full.clone(), i.number))
                .map_or(Value::Null, |e| json!(e));
        v["changes_count"] = json!("1");
        v["first_contribution"] = json!(false);
        if rebase_asked {
            v["rebase_in_progress"] = json!(false);
        }
    }
    v
}

/// A note (`doc/api/notes.md`), in a thread or not.
pub(super) fn note(f: &Forge, r: &Repo, c: &Comment) -> Value {
    let thread =
        f.gl.in_thread
            .get(&c.id)
            .and_then(|first| f.gl.threads.get(first));
    let mr = c.issue > crate::model::gitlab::MR_KEYS;
    let noteable_id = r.issues.get(&c.issue).map_or(0, |i| i.id);
    let kind = match thread {
        Some(t) if t.position.is_some() => json!("DiffNote"),
        Some(_) => json!("DiscussionNote"),
        None => Value::Null,
    };
    let mut v = json!({"id": c.id, "type": kind, "body": c.body, "attachment": null,
        "author": user(f, &c.user), "created_at": c.created_at,
        "updated_at": c.updated_at.as_deref().unwrap_or(&c.created_at),
        "system": f.gl.system.contains(&c.id), "noteable_id": noteable_id,
        "noteable_type": if mr { "MergeRequest" } else { "Issue" },
        "noteable_iid": Forge::shown(c.issue), "project_id": r.id,
        "resolvable": thread.is_some_and(|t| t.resolvable),
        "confidential": false, "internal": false, "imported": false,
        "commands_changes": {}});
    if let Some(t) = thread.filter(|t| t.resolvable) {
        v["resolved"] = json!(t.resolved.is_some());
        v["resolved_by"] = t
            .resolved
            .as_ref()
            .map_or(Value::Null, |(who, _)| user(f, who));
        v["resolved_at"] = t.resolved.as_ref().map_or(Value::Null, |(_, at)| json!(at));
    }
    if let Some((path, line)) = thread.and_then(|t| t.position.as_ref()) {
        v["position"] = json!({"base_sha": null, "start_sha": null, "head_sha": null,
            "old_path": path, "new_path": path, "position_type": "text",
            "old_line": null, "new_line": line});
    }
    v
}

/// A discussion's id: 40 hex digits, from its first note's id.
pub(crate) fn discussion_id(first: i64) -> String {
    format!("{first:040x}")
}

/// A discussion (`doc/api/discussions.md`): a thread, or one individual note.
pub(super) fn discussion(f: &Forge, r: &Repo, first: i64, t: Option<&Thread>) -> Value {
    let notes: Vec<Value> = match t {
        Some(t) => t
            .notes
            .iter()
            .filter_map(|id| f.comments.get(id))
            .map(|c| note(f, r, c))
            .collect(),
        None => f
            .comments
            .get(&first)
            .map(|c| note(f, r, c))
            .into_iter()
            .collect(),
    };
    json!({"id": discussion_id(first), "individual_note": t.is_none(), "notes": notes})
}

/// An award emoji on a note (`doc/api/emoji_reactions.md`).
pub(super) fn award(f: &Forge, note: i64, id: i64, user_name: &str, name: &str, at: &str) -> Value {
    json!({"id": id, "name": name, "user": user(f, user_name), "created_at": at,
           "updated_at": at, "awardable_id": note, "awardable_type": "Note"})
}

/// A label event (`doc/api/resource_label_events.md`).
pub(super) fn label_event(f: &Forge, i: &Issue, ev: &LabelEvent) -> Value {
    json!({"id": ev.id, "user": user(f, &ev.by), "created_at": ev.at,
           "resource_type": if i.pull { "MergeRequest" } else { "Issue" },
           "resource_id": i.id, "label": label(ev.label, &ev.name),
           "action": if ev.added { "add" } else { "remove" }})
}

/// A commit status's state in GitLab's words.
pub(super) fn status_state(model: &str) -> &'static str {
    match model {
        "success" | "warning" => "success",
        "failure" | "error" => "failed",
        _ => "pending",
    }
}

/// A commit status (`doc/api/commits.md`, "List the statuses of a commit").
pub(super) fn status(f: &Forge, git_ref: &str, sha: &str, pipeline: i64, s: &Status) -> Value {
    json!({"id": s.id, "sha": sha, "ref": git_ref, "status": status_state(&s.state),
           "name": s.context, "target_url": if s.target_url.is_empty() { Value::Null } else { json!(s.target_url) },
           "description": if s.description.is_empty() { Value::Null } else { json!(s.description) },
           "created_at": s.updated_at, "started_at": s.updated_at,
           "finished_at": if status_state(&s.state) == "pending" { Value::Null } else { json!(s.updated_at) },
           "allow_failure": false, "coverage": null, "pipeline_id": pipeline,
           "author": user(f, &s.creator)})
}
