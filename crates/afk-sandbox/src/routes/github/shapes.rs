//! The model in GitHub's JSON shapes (fields as `github-rest-subset.json`
//! declares them, every required one present), timestamps in UTC with a `Z`,
//! as GitHub writes them: the fixed instant of `TS` for accounts and
//! repositories, the time they were made for the rest.

use crate::model::{
    CheckRun, Comment, Forge, Issue, LabelEvent, Rename, Repo, Status, combined_state,
};
use crate::routes::enc;
use serde_json::{Map, Value, json};

/// `crate::TS` as GitHub writes it.
pub(super) const GH_TS: &str = "2026-01-01T10:00:00Z";
const DOCS: &str = "https://docs.github.com/rest";

/// The API root under the sandbox's URL.
pub(super) fn api(f: &Forge) -> String {
    format!("{}/api/v3", f.base)
}

/// GitHub's error body (`basic-error`).
pub(super) fn error(status: u16, message: &str) -> Value {
    json!({"message": message, "documentation_url": DOCS, "status": status.to_string()})
}

fn user_id(login: &str) -> i64 {
    login
        .bytes()
        .fold(7i64, |a, b| (a * 31 + b as i64) % 100_000)
}

/// `simple-user`; a `[bot]` login is a Bot.
pub(super) fn user(f: &Forge, login: &str) -> Value {
    let id = user_id(login);
    let u = format!("{}/users/{}", api(f), enc(login));
    json!({
        "login": login, "id": id, "node_id": format!("U_{id}"),
        "avatar_url": format!("{}/avatars/{}", f.base, enc(login)), "gravatar_id": "",
        "url": u, "html_url": format!("{}/{}", f.base, enc(login)),
        "followers_url": format!("{u}/followers"),
        "following_url": format!("{u}/following{{/other_user}}"),
        "gists_url": format!("{u}/gists{{/gist_id}}"),
        "starred_url": format!("{u}/starred{{/owner}}{{/repo}}"),
        "subscriptions_url": format!("{u}/subscriptions"),
        "organizations_url": format!("{u}/orgs"),
        "repos_url": format!("{u}/repos"),
        "events_url": format!("{u}/events{{/privacy}}"),
        "received_events_url": format!("{u}/received_events"),
        "type": if login.ends_with("[bot]") { "Bot" } else { "User" },
        "site_admin": false, "user_view_type": "public",
    })
}

/// `private-user`: the account the token belongs to.
pub(super) fn private_user(f: &Forge, login: &str) -> Value {
    let mut v = user(f, login);
    let extra = json!({
        "name": login, "company": null, "blog": "", "location": null,
        "email": null, "hireable": null, "bio": null, "twitter_username": null,
        "public_repos": 0, "public_gists": 0, "followers": 0, "following": 0,
        "created_at": GH_TS, "updated_at": GH_TS, "private_gists": 0,
        "total_private_repos": 0, "owned_private_repos": 0, "disk_usage": 0,
        "collaborators": 0, "two_factor_authentication": true,
    });
    merge(&mut v, extra);
    v
}

fn merge(into: &mut Value, from: Value) {
    if let (Some(a), Value::Object(b)) = (into.as_object_mut(), from) {
        a.extend(b);
    }
}

/// Which of GitHub's repository shapes.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum RepoShape {
    /// `minimal-repository` (in a combined status)
    Minimal,
    /// `repository` (a pull request's head and base)
    Repository,
    /// `full-repository` (`GET /repos/{owner}/{repo}`)
    Full,
}

/// The `{url}_url` templates every repository shape carries.
const REPO_URLS: &[(&str, &str)] = &[
    ("archive_url", "/{archive_format}{/ref}"),
    ("assignees_url", "/assignees{/user}"),
    ("blobs_url", "/git/blobs{/sha}"),
    ("branches_url", "/branches{/branch}"),
    ("collaborators_url", "/collaborators{/collaborator}"),
    ("comments_url", "/comments{/number}"),
    ("commits_url", "/commits{/sha}"),
    ("compare_url", "/compare/{base}...{head}"),
    ("contents_url", "/contents/{+path}"),
    ("contributors_url", "/contributors"),
    ("deployments_url", "/deployments"),
    ("downloads_url", "/downloads"),
    ("events_url", "/events"),
    ("forks_url", "/forks"),
    ("git_commits_url", "/git/commits{/sha}"),
    ("git_refs_url", "/git/refs{/sha}"),
    ("git_tags_url", "/git/tags{/sha}"),
    ("hooks_url", "/hooks"),
    ("issue_comment_url", "/issues/comments{/number}"),
    ("issue_events_url", "/issues/events{/number}"),
    ("issues_url", "/issues{/number}"),
    ("keys_url", "/keys{/key_id}"),
    ("labels_url", "/labels{/name}"),
    ("languages_url", "/languages"),
    ("merges_url", "/merges"),
    ("milestones_url", "/milestones{/number}"),
    (
        "notifications_url",
        "/notifications{?since,all,participating}",
    ),
    ("pulls_url", "/pulls{/number}"),
    ("releases_url", "/releases{/id}"),
    ("stargazers_url", "/stargazers"),
    ("statuses_url", "/statuses/{sha}"),
    ("subscribers_url", "/subscribers"),
    ("subscription_url", "/subscription"),
    ("tags_url", "/tags"),
    ("teams_url", "/teams"),
    ("trees_url", "/git/trees{/sha}"),
];

/// A repository by name and id in one of GitHub's shapes.
pub(super) fn repo_named(f: &Forge, full: &str, id: i64, open: usize, shape: RepoShape) -> Value {
    let (owner, name) = full.split_once('/').unwrap_or(("", full));
    let u = format!("{}/repos/{full}", api(f));
    let mut m = Map::new();
    for (k, suffix) in REPO_URLS {
        m.insert(k.to_string(), json!(format!("{u}{suffix}")));
    }
    let base = json!({
        "id": id, "node_id": format!("R_{id}"), "name": name, "full_name": full,
        "owner": user(f, owner), "private": false,
        "html_url": format!("{}/{full}", f.base), "description": null, "fork": false, "url": u,
    });
    let mut v = Value::Object(m);
    merge(&mut v, base);
    if shape == RepoShape::Minimal {
        return v;
    }
    merge(
        &mut v,
        json!({
            "archived": false, "disabled": false,
            "clone_url": f.git_dir(full).to_string_lossy(),
            "git_url": format!("git://sandbox.invalid/{full}.git"),
            "ssh_url": format!("git@sandbox.invalid:{full}.git"),
            "svn_url": format!("{}/{full}", f.base),
            "mirror_url": null, "homepage": null, "language": null, "license": null,
            "default_branch": "main", "forks": 0, "forks_count": 0,
            "stargazers_count": 0, "watchers": 0, "watchers_count": 0, "size": 0,
            "open_issues": open, "open_issues_count": open,
            "has_issues": true, "has_projects": false, "has_wiki": false, "has_pages": false,
            "has_downloads": true,
            "created_at": GH_TS, "updated_at": GH_TS, "pushed_at": GH_TS,
        }),
    );
    if shape == RepoShape::Full {
        merge(
            &mut v,
            json!({"has_discussions": false, "network_count": 0, "subscribers_count": 0,
                   "visibility": "public", "topics": []}),
        );
    }
    v
}

pub(super) fn repo(f: &Forge, r: &Repo, shape: RepoShape) -> Value {
    let open = r.issues.values().filter(|i| i.state == "open").count();
    let mut v = repo_named(f, &r.full_name, r.id, open, shape);
    v["private"] = json!(r.private);
    if shape == RepoShape::Full {
        v["visibility"] = json!(if r.private { "private" } else { "public" });
    }
    v
}

/// `label`
pub(super) fn label(f: &Forge, repo: &str, id: i64, name: &str) -> Value {
    json!({"id": id, "node_id": format!("LA_{id}"),
           "url": format!("{}/repos/{repo}/labels/{}", api(f), enc(name)),
           "name": name, "description": null, "color": "ededed", "default": false})
}

/// How the author stands to the repo, as GitHub says it.
pub(super) fn association(r: &Repo, login: &str) -> &'static str {
    if r.full_name.split('/').next() == Some(login) {
        "OWNER"
    } else if r.collaborators.contains_key(login) {
        "COLLABORATOR"
    } else {
        "NONE"
    }
}

fn issue_html(f: &Forge, r: &Repo, i: &Issue) -> String {
    let kind = if i.pull { "pull" } else { "issues" };
    format!("{}/{}/{kind}/{}", f.base, r.full_name, i.number)
}

/// `issue`: an issue, or a pull request seen through the issues API (with
/// its `pull_request` key).
pub(super) fn issue(f: &Forge, r: &Repo, i: &Issue) -> Value {
    let full = &r.full_name;
    let u = format!("{}/repos/{full}/issues/{}", api(f), i.number);
    let labels: Vec<Value> = i
        .labels
        .iter()
        .filter_map(|id| r.labels.iter().find(|(l, _)| l == id))
        .map(|(id, n)| label(f, full, *id, n))
        .collect();
    let comments = f
        .comments
        .values()
        .filter(|c| c.repo == *full && c.issue == i.number)
        .count();
    let closed = i.state == "closed";
    let reason = if closed {
        json!(
            f.gh.state_reasons
                .get(&(full.clone(), i.number))
                .map(String::as_str)
                .unwrap_or("completed")
        )
    } else {
        Value::Null
    };
    let mut v = json!({
        "id": i.id, "node_id": format!("I_{}", i.id), "url": u,
        "repository_url": format!("{}/repos/{full}", api(f)),
        "labels_url": format!("{u}/labels{{/name}}"), "comments_url": format!("{u}/comments"),
        "events_url": format!("{u}/events"), "timeline_url": format!("{u}/timeline"),
        "html_url": issue_html(f, r, i), "number": i.number, "state": i.state,
        "state_reason": reason, "title": i.title, "body": i.body,
        "user": user(f, &i.author), "labels": labels, "assignee": null, "assignees": [],
        "milestone": null, "locked": false, "active_lock_reason": null, "comments": comments,
        "closed_at": closed_at(i), "created_at": utc(&i.created_at), "updated_at": utc(&i.updated()),
        "author_association": association(r, &i.author),
        "performed_via_github_app": null,
    });
    if i.pull {
        let p = format!("{}/repos/{full}/pulls/{}", api(f), i.number);
        let html = issue_html(f, r, i);
        v["pull_request"] = json!({
            "url": p, "html_url": html, "diff_url": format!("{html}.diff"),
            "patch_url": format!("{html}.patch"),
            "merged_at": i.merged_at.as_deref().map(utc),
        });
    }
    v
}

fn event_common(f: &Forge, repo: &str, id: i64, by: &str, event: &str, at: &str) -> Value {
    json!({
        "id": id, "node_id": format!("LE_{id}"),
        "url": format!("{}/repos/{repo}/issues/events/{id}", api(f)),
        "actor": user(f, by), "event": event, "commit_id": null, "commit_url": null,
        "created_at": utc(at), "performed_via_github_app": null,
    })
}

/// A `labeled` / `unlabeled` timeline event with its actor.
pub(super) fn label_event(f: &Forge, repo: &str, ev: &LabelEvent) -> Value {
    let kind = if ev.added { "labeled" } else { "unlabeled" };
    let mut v = event_common(f, repo, ev.id, &ev.by, kind, &ev.at);
    v["label"] = json!({"name": ev.name, "color": "ededed"});
    v
}

/// A `renamed` timeline event: who changed the title, from what, to what.
pub(super) fn rename_event(f: &Forge, repo: &str, ev: &Rename) -> Value {
    let mut v = event_common(f, repo, ev.id, &ev.by, "renamed", &ev.at);
    v["rename"] = json!({"from": ev.from, "to": ev.to});
    v
}

/// A stored time (any offset) as GitHub writes it: UTC with a `Z`.
/// A closed issue's or pull request's `closed_at`; an open one's is `null`.
fn closed_at(i: &Issue) -> Value {
    match (i.state.as_str(), &i.closed_at) {
        ("closed", Some(at)) => json!(utc(at)),
        _ => Value::Null,
    }
}

pub(super) fn utc(t: &str) -> String {
    time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339)
        .map(afk_model::stamp::ts)
        .unwrap_or_else(|_| GH_TS.to_string())
}

/// `issue-comment`
pub(super) fn comment(f: &Forge, r: &Repo, c: &Comment) -> Value {
    json!({
        "id": c.id, "node_id": format!("IC_{}", c.id),
        "url": format!("{}/repos/{}/issues/comments/{}", api(f), c.repo, c.id),
        "body": c.body,
        "html_url": format!("{}/{}/issues/{}#issuecomment-{}", f.base, c.repo, c.issue, c.id),
        "user": user(f, &c.user), "created_at": utc(&c.created_at), "updated_at": utc(c.updated_at.as_ref().unwrap_or(&c.created_at)),
        "issue_url": format!("{}/repos/{}/issues/{}", api(f), c.repo, c.issue),
        "author_association": association(r, &c.user),
    })
}

/// A `commented` timeline event.
pub(super) fn comment_event(f: &Forge, r: &Repo, c: &Comment) -> Value {
    let mut v = comment(f, r, c);
    v["event"] = json!("commented");
    v["actor"] = user(f, &c.user);
    v
}

fn link(href: String) -> Value {
    json!({ "href": href })
}

/// `pull-request-simple` (the list: no `merged`), or `pull-request` (one).
pub(super) fn pull(f: &Forge, r: &Repo, i: &Issue, full_shape: bool) -> Value {
    let full = &r.full_name;
    let n = i.number;
    let u = format!("{}/repos/{full}/pulls/{n}", api(f));
    let iu = format!("{}/repos/{full}/issues/{n}", api(f));
    let html = issue_html(f, r, i);
    let head_ref = i.head.clone().unwrap_or_default();
    let sha = f.head_sha(full, i);
    let base_sha = crate::git::head(&f.git_dir(full), &i.base).unwrap_or_default();
    let owner = full.split('/').next().unwrap_or("");
    let head_full = i.head_repo.clone().unwrap_or_else(|| full.clone());
    let head_owner = head_full.split('/').next().unwrap_or("").to_string();
    let head_repo = if head_full == *full {
        repo(f, r, RepoShape::Repository)
    } else {
        repo_named(f, &head_full, r.id + 100_000, 0, RepoShape::Repository)
    };
    let statuses = format!("{}/repos/{full}/statuses/{sha}", api(f));
    let labels = issue(f, r, i)["labels"].clone();
    let review_comment = format!("{}/repos/{full}/pulls/comments{{/number}}", api(f));
    let links = json!({
        "self": link(u.clone()), "html": link(html.clone()), "issue": link(iu.clone()),
        "comments": link(format!("{iu}/comments")),
        "review_comments": link(format!("{u}/comments")),
        "review_comment": link(review_comment.clone()),
        "commits": link(format!("{u}/commits")),
        "statuses": link(statuses.clone()),
    });
    let head = json!({"label": format!("{head_owner}:{head_ref}"), "ref": head_ref, "sha": sha,
                      "repo": head_repo, "user": user(f, &head_owner)});
    let base = json!({"label": format!("{owner}:{}", i.base), "ref": i.base, "sha": base_sha,
                      "repo": repo(f, r, RepoShape::Repository), "user": user(f, owner)});
    let mut v = json!({
        "url": u, "id": i.id, "node_id": format!("PR_{}", i.id), "html_url": html,
        "diff_url": format!("{html}.diff"), "patch_url": format!("{html}.patch"),
        "issue_url": iu, "commits_url": format!("{u}/commits"),
        "review_comments_url": format!("{u}/comments"),
        "review_comment_url": review_comment,
        "comments_url": format!("{iu}/comments"), "statuses_url": statuses,
        "number": n, "state": i.state, "locked": false, "title": i.title,
        "user": user(f, &i.author), "body": i.body, "labels": labels, "milestone": null,
        "active_lock_reason": null, "created_at": utc(&i.created_at),
        "updated_at": utc(&i.updated()), "closed_at": closed_at(i),
        "merged_at": i.merged_at.as_deref().map(utc),
        "merge_commit_sha": i.merge_sha, "assignee": null, "assignees": [],
        "requested_reviewers": [], "requested_teams": [],
        "head": head, "base": base,
        "_links": links,
        "author_association": association(r, &i.author), "auto_merge": null, "draft": i.draft,
    });
    if full_shape {
        // GitHub works mergeability out for open PRs only; null: still computing
        let mergeable = match i.state.as_str() {
            "open" => f.mergeable(full, n),
            _ => None,
        };
        let mergeable_state = match mergeable {
            Some(true) => "clean",
            Some(false) => "dirty",
            None => "unknown",
        };
        merge(
            &mut v,
            json!({
                "merged": i.merged, "mergeable": mergeable,
                "rebaseable": null, "mergeable_state": mergeable_state,
                "merged_by": if i.merged { user(f, "alice") } else { Value::Null },
                "comments": 0, "review_comments": 0, "maintainer_can_modify": false,
                "commits": 1, "additions": 1, "deletions": 0, "changed_files": 1,
            }),
        );
    }
    v
}

/// `simple-commit-status`
pub(super) fn simple_status(f: &Forge, repo: &str, sha: &str, s: &Status) -> Value {
    json!({
        "id": s.id, "node_id": format!("SC_{}", s.id), "state": s.state,
        "context": s.context, "description": s.description,
        "target_url": if s.target_url.is_empty() { Value::Null } else { json!(s.target_url) },
        "avatar_url": null, "url": format!("{}/repos/{repo}/statuses/{sha}", api(f)),
        "created_at": utc(&s.updated_at), "updated_at": utc(&s.updated_at),
    })
}

/// `status`: a status as created.
pub(super) fn status(f: &Forge, repo: &str, sha: &str, s: &Status) -> Value {
    let mut v = simple_status(f, repo, sha, s);
    v["creator"] = user(f, &s.creator);
    v
}

/// `combined-commit-status`: the latest status per context.
pub(super) fn combined(f: &Forge, r: &Repo, sha: &str) -> Value {
    let full = &r.full_name;
    let latest = f.latest_statuses(full, sha);
    let statuses: Vec<Value> = latest
        .iter()
        .map(|s| simple_status(f, full, sha, s))
        .collect();
    json!({
        "state": combined_state(&latest), "statuses": statuses, "sha": sha,
        "total_count": latest.len(), "repository": repo(f, r, RepoShape::Minimal),
        "commit_url": format!("{}/repos/{full}/commits/{sha}", api(f)),
        "url": format!("{}/repos/{full}/commits/{sha}/status", api(f)),
    })
}

/// The app that reports the sandbox's check runs (`integration`).
fn app(f: &Forge) -> Value {
    json!({
        "id": 1, "slug": "sandbox-ci", "node_id": "A_1", "client_id": "sandbox-ci",
        "owner": user(f, "sandbox"), "name": "Sandbox CI", "description": null,
        "external_url": f.base, "html_url": format!("{}/apps/sandbox-ci", f.base),
        "created_at": GH_TS, "updated_at": GH_TS,
        "permissions": {"checks": "write"}, "events": ["check_run"],
    })
}

/// `check-run`
pub(super) fn check_run(f: &Forge, repo: &str, sha: &str, c: &CheckRun) -> Value {
    let u = format!("{}/repos/{repo}/check-runs/{}", api(f), c.id);
    json!({
        "id": c.id, "head_sha": sha, "node_id": format!("CR_{}", c.id), "external_id": "",
        "url": u, "html_url": c.html_url,
        "details_url": if c.details_url.is_empty() { json!(c.html_url) } else { json!(c.details_url) },
        "status": c.status, "conclusion": c.conclusion, "name": c.name,
        "started_at": GH_TS,
        "completed_at": if c.status == "completed" { json!(GH_TS) } else { Value::Null },
        "output": {"title": null, "summary": null, "text": null, "annotations_count": 0,
                   "annotations_url": format!("{u}/annotations")},
        "check_suite": {"id": c.id + 1}, "app": app(f), "pull_requests": [],
    })
}

/// `rate-limit`
pub(super) fn rate(f: &Forge) -> Value {
    let r = &f.gh.rate;
    json!({"limit": r.limit, "remaining": r.remaining, "reset": r.reset, "used": r.used})
}

/// `rate-limit-overview`
pub(super) fn rate_overview(f: &Forge) -> Value {
    let core = rate(f);
    let other = |limit: u64| json!({"limit": limit, "remaining": limit, "reset": f.gh.rate.reset, "used": 0});
    json!({"resources": {"core": core, "search": other(30), "graphql": other(5000)}, "rate": core})
}

/// `repository-collaborator-permission`: `role` is one of GitHub's roles
/// (admin, maintain, write, triage, read); `permission` its base level.
pub(super) fn permission(f: &Forge, login: &str, role: &str) -> Value {
    let permission = match role {
        "admin" => "admin",
        "maintain" | "write" => "write",
        "triage" | "read" => "read",
        _ => "none",
    };
    let at_least = |l: &[&str]| l.contains(&role);
    let mut who = user(f, login);
    who["role_name"] = json!(role);
    who["permissions"] = json!({
        "admin": at_least(&["admin"]),
        "maintain": at_least(&["admin", "maintain"]),
        "push": at_least(&["admin", "maintain", "write"]),
        "triage": at_least(&["admin", "maintain", "write", "triage"]),
        "pull": at_least(&["admin", "maintain", "write", "triage", "read"]),
    });
    json!({"permission": permission, "role_name": role, "user": who})
}
