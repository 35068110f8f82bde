//! The model in Gitea's JSON shapes (fields as `gitea-v1-subset.json` declares
//! them), with every timestamp the fixed `TS` except those of issues and pull
//! requests (opened, updated, closed, merged), comments, statuses and
//! timeline events, which carry the time they were made.

use crate::TS;
use crate::git;
use crate::model::{Comment, Forge, Issue, LabelEvent, Rename, Repo, Status};
use serde_json::{Value, json};

/// A user; the id is derived from the login so it is stable.
pub(super) fn user(login: &str) -> Value {
    let id = login
        .bytes()
        .fold(7i64, |a, b| (a * 31 + b as i64) % 100_000);
    json!({"id": id, "login": login, "full_name": login, "email": format!("{login}@sandbox.invalid"),
           "avatar_url": "", "is_admin": false, "created": TS, "last_login": TS, "active": true,
           "restricted": false, "prohibit_login": false, "visibility": "public"})
}

pub(super) fn repo(f: &Forge, r: &Repo) -> Value {
    let full = &r.full_name;
    let (o, n) = full.split_once('/').unwrap();
    json!({"id": r.id, "name": n, "full_name": full, "owner": user(o),
           "html_url": format!("{}/{full}", f.base), "default_branch": "main", "private": r.private,
           "internal_tracker": {"enable_issue_dependencies": r.deps_enabled},
           "clone_url": f.git_dir(full).to_string_lossy()})
}

pub(super) fn label(base: &str, repo: &str, id: i64, name: &str) -> Value {
    json!({"id": id, "name": name, "color": "00aabb", "description": "", "exclusive": false,
           "is_archived": false, "url": format!("{base}/api/v1/repos/{repo}/labels/{id}")})
}

/// An organisation's label as `/orgs/{org}/labels` answers it.
pub(super) fn org_label(base: &str, org: &str, id: i64, name: &str) -> Value {
    json!({"id": id, "name": name, "color": "00aabb", "description": "", "exclusive": false,
           "is_archived": false, "url": format!("{base}/api/v1/orgs/{org}/labels/{id}")})
}

/// An issue, or a pull request seen through the issues API.
pub(crate) fn issue(f: &Forge, repo: &Repo, i: &Issue) -> Value {
    let base = &f.base;
    let (owner, name) = repo.full_name.split_once('/').unwrap_or(("", ""));
    let labels: Vec<Value> = i
        .labels
        .iter()
        .filter_map(|id| repo.labels.iter().find(|(l, _)| l == id))
        .map(|(id, n)| match repo.org_labels.contains(id) {
            true => org_label(base, owner, *id, n),
            false => label(base, &repo.full_name, *id, n),
        })
        .collect();
    let comments = f
        .comments
        .values()
        .filter(|c| c.repo == repo.full_name && c.issue == i.number)
        .count();
    json!({
        "id": i.id, "number": i.number, "title": i.title, "body": i.body, "state": i.state,
        "labels": labels, "user": user(&i.author), "assignee": null, "assignees": null,
        "milestone": null, "comments": comments, "created_at": i.created_at,
        "updated_at": i.updated(), "closed_at": closed_at(i), "due_date": null,
        "html_url": format!("{base}/{}/{}/{}", repo.full_name, if i.pull { "pulls" } else { "issues" }, i.number),
        "url": format!("{base}/api/v1/repos/{}/issues/{}", repo.full_name, i.number),
        "pull_request": if i.pull { json!({"merged": i.merged, "merged_at": i.merged_at, "draft": work_in_progress(&i.title)}) } else { Value::Null },
        "repository": {"id": repo.id, "name": name, "owner": owner, "full_name": repo.full_name},
        "is_locked": false, "ref": "", "assets": [], "original_author": "", "original_author_id": 0, "pin_order": 0,
    })
}

/// The part of a `Repository` a branch reference carries.
fn repo_ref(full: &str, id: i64) -> Value {
    let (owner, name) = full.split_once('/').unwrap_or(("", full));
    json!({"id": id, "name": name, "full_name": full, "owner": user(owner), "fork": false, "private": false})
}

/// Whether Gitea counts a PR titled `title` as work in progress: one of its
/// default `WORK_IN_PROGRESS_PREFIXES` at the start, compared upper-cased.
fn work_in_progress(title: &str) -> bool {
    let upper = title.to_uppercase();
    ["WIP:", "[WIP]"].iter().any(|p| upper.starts_with(p))
}

pub(super) fn pull(f: &Forge, repo: &Repo, i: &Issue) -> Value {
    let (base, full) = (&f.base, &repo.full_name);
    let head = i.head.clone().unwrap_or_default();
    let sha = f.head_sha(full, i);
    let base_sha = git::head(&f.git_dir(full), &i.base).unwrap_or_default();
    // the commit the head and the base share last (`pr.MergeBase`), as
    // Gitea keeps it: the base's head once the head holds it
    let merge_base = git::git(&f.git_dir(full), &["merge-base", &base_sha, &sha], None)
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| base_sha.clone());
    let issue = issue(f, repo, i);
    // Gitea says false while it is still checking (it has no null), and for
    // every work-in-progress PR (`Mergeable()` in models/issues/pull.go)
    let mergeable = !i.merged
        && i.state == "open"
        && f.mergeable(full, i.number) == Some(true)
        && !work_in_progress(&i.title);
    json!({
        "id": i.id, "number": i.number, "title": i.title, "body": i.body, "state": i.state,
        "user": user(&i.author), "labels": issue["labels"], "milestone": null, "assignee": null,
        "assignees": null, "requested_reviewers": null, "comments": 0,
        "html_url": issue["html_url"], "url": format!("{base}/api/v1/repos/{full}/pulls/{}", i.number),
        "diff_url": format!("{base}/{full}/pulls/{}.diff", i.number),
        "patch_url": format!("{base}/{full}/pulls/{}.patch", i.number),
        "is_locked": false, "mergeable": mergeable,
        "merged": i.merged, "merged_at": i.merged_at,
        "merge_commit_sha": i.merge_sha, "merged_by": if i.merged { user("alice") } else { Value::Null },
        "allow_maintainer_edit": false, "merge_base": merge_base,
        "base": {"label": i.base, "ref": i.base, "sha": base_sha, "repo_id": repo.id,
                 "repo": repo_ref(full, repo.id)},
        // a head branch deleted on merge: `ref` is the PR's own ref, no
        // repository (`ToAPIPullRequest` fills them only for a branch that
        // exists), `label` still the branch
        "head": match i.head_gone {
            Some(_) => json!({"label": head, "ref": format!("refs/pull/{}/head", i.number),
                              "sha": sha, "repo_id": -1, "repo": null}),
            None => json!({"label": head, "ref": head, "sha": sha, "repo_id": repo.id,
                           "repo": repo_ref(i.head_repo.as_deref().unwrap_or(full), repo.id)}),
        },
        "due_date": null, "created_at": i.created_at, "updated_at": i.updated(),
        "closed_at": closed_at(i), "pin_order": 0,
    })
}

/// A closed issue's or pull request's `closed_at`; an open one's is `null`.
fn closed_at(i: &Issue) -> Value {
    match (i.state.as_str(), &i.closed_at) {
        ("closed", Some(at)) => json!(at),
        _ => Value::Null,
    }
}

pub(super) fn comment(base: &str, c: &Comment) -> Value {
    json!({"id": c.id, "body": c.body, "user": user(&c.user), "created_at": c.created_at, "updated_at": c.updated_at.as_ref().unwrap_or(&c.created_at),
           "html_url": format!("{base}/{}/issues/{}#issuecomment-{}", c.repo, c.issue, c.id),
           "issue_url": format!("{base}/{}/issues/{}", c.repo, c.issue), "pull_request_url": "",
           "assets": [], "original_author": "", "original_author_id": 0})
}

/// A timeline item for a comment.
pub(super) fn comment_event(base: &str, c: &Comment) -> Value {
    json!({
        "id": c.id, "type": "comment", "body": c.body, "user": user(&c.user),
        "created_at": c.created_at, "updated_at": c.updated_at.as_ref().unwrap_or(&c.created_at),
        "html_url": format!("{base}/{}/issues/{}#issuecomment-{}", c.repo, c.issue, c.id),
        "issue_url": format!("{base}/{}/issues/{}", c.repo, c.issue),
        "pull_request_url": "",
    })
}

/// A timeline item for a label added (body "1") or removed (body "").
/// A title change as Gitea's timeline shows it (`change_title`).
pub(super) fn rename_event(base: &str, repo: &str, number: u64, ev: &Rename) -> Value {
    let Rename {
        id,
        by,
        from: old,
        to: new,
        at,
    } = ev;
    json!({
        "id": id, "type": "change_title", "body": "", "user": user(by), "created_at": at, "updated_at": at,
        "html_url": format!("{base}/{repo}/issues/{number}#issuecomment-{id}"),
        "issue_url": format!("{base}/{repo}/issues/{number}"),
        "pull_request_url": "", "ref_action": "", "ref_commit_sha": "", "old_title": old, "new_title": new,
        "old_ref": "", "new_ref": "", "old_project_id": 0, "project_id": 0, "review_id": 0,
    })
}

pub(super) fn label_event(base: &str, repo: &str, number: u64, ev: &LabelEvent) -> Value {
    json!({
        "id": ev.id, "type": "label", "body": if ev.added { "1" } else { "" },
        "label": label(base, repo, ev.label, &ev.name), "user": user(&ev.by), "created_at": ev.at, "updated_at": ev.at,
        "html_url": format!("{base}/{repo}/issues/{number}#issuecomment-{}", ev.id),
        "issue_url": format!("{base}/{repo}/issues/{number}"),
        "pull_request_url": "", "ref_action": "", "ref_commit_sha": "", "old_title": "", "new_title": "",
        "old_ref": "", "new_ref": "", "old_project_id": 0, "project_id": 0, "review_id": 0,
    })
}

pub(crate) fn status(base: &str, repo: &str, sha: &str, s: &Status) -> Value {
    json!({
        "id": s.id, "status": s.state, "context": s.context,
        "target_url": s.target_url,
        "description": s.description,
        "created_at": s.updated_at, "updated_at": s.updated_at, "creator": user(&s.creator),
        "url": format!("{base}/api/v1/repos/{repo}/statuses/{sha}"),
    })
}

/// The combined status of a commit: the latest status per context.
/// Gitea's combined state as 1.25 makes it (`CommitStatusStates.Combine`,
/// modules/commitstatus): any `error` or `failure` fails it, else any
/// `pending` leaves it pending, else it succeeded (`warning` and Gitea
/// Actions' `skipped` among the successes).
fn gitea_combined_state(latest: &[&Status]) -> &'static str {
    let any = |states: &[&str]| latest.iter().any(|s| states.contains(&s.state.as_str()));
    if any(&["error", "failure"]) {
        "failure"
    } else if any(&["pending"]) {
        "pending"
    } else {
        "success"
    }
}

pub(super) fn combined(f: &Forge, repo: &str, sha: &str) -> Value {
    let base = &f.base;
    let latest = f.latest_statuses(repo, sha);
    // A commit with no status is answered `ctx.JSON(http.StatusOK,
    // &api.CombinedStatus{})` (routers/api/v1/repo/status.go,
    // GetCombinedCommitStatusByRef): every field its zero value, the
    // statuses a nil slice, so `null`, and the state `""`
    if latest.is_empty() {
        return json!({"state": "", "sha": "", "total_count": 0, "statuses": null,
                      "repository": null, "commit_url": "", "url": ""});
    }
    let state = gitea_combined_state(&latest);
    let statuses: Vec<Value> = latest.iter().map(|s| status(base, repo, sha, s)).collect();
    json!({"state": state, "sha": sha, "total_count": latest.len(), "statuses": statuses,
           "url": format!("{base}/api/v1/repos/{repo}/commits/{sha}/status"),
           "commit_url": format!("{base}/api/v1/repos/{repo}/git/commits/{sha}"),
           "repository": null})
}
