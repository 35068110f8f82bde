//! Azure Repos' git resources of one repository: the repository, its refs
//! (paged by `x-ms-continuationtoken`; updated by compare-and-swap, each
//! ref's `updateStatus` `succeeded`, `staleOldObjectId`, or the verdict a
//! test set: `rejectedByPolicy`, `locked`, ...), merge operations (queued,
//! then `completed` with `detailedStatus.mergeCommitId` or `failed`),
//! commits, a diff between two commits, and commit statuses.

use super::{continued_list, err, list, no_route, org_url, project_api, top_skip, utc};
use crate::git;
use crate::http::{Reply, Request};
use crate::model::Forge;
use crate::model::azure::{project_id, repo_id, split};
use crate::routes::enc;
use serde_json::{Value, json};

const ZERO: &str = "0000000000000000000000000000000000000000";

/// The repository of `project` a path names, by name (case-insensitively)
/// or id; a renamed one by its id still.
pub(super) fn repo_of(f: &Forge, project: &str, name: &str) -> Option<String> {
    f.repos
        .iter()
        .filter(|(full, _)| split(full).0.eq_ignore_ascii_case(project))
        .find(|(full, r)| {
            repo_id(full).eq_ignore_ascii_case(name)
                || (r.renamed_to.is_none() && split(full).1.eq_ignore_ascii_case(name))
        })
        .map(|(full, _)| full.clone())
}

/// The web and git URL of a repository, `{org}/{project}/_git/{repo}`.
pub(crate) fn remote_url(f: &Forge, full: &str) -> String {
    let (p, r) = split(full);
    format!("{}/{}/_git/{}", org_url(f), enc(p), enc(r))
}

/// A `GitRepository`; a renamed one keeps its id and shows its new name.
pub(crate) fn repo_json(f: &Forge, full: &str) -> Value {
    let (project, _) = split(full);
    let shown = f
        .repos
        .get(full)
        .and_then(|r| r.renamed_to.clone())
        .unwrap_or(full.to_string());
    let name = split(&shown).1.to_string();
    let api = project_api(f, project);
    let id = repo_id(full);
    json!({"id": id, "name": name, "url": format!("{api}/git/repositories/{id}"),
        "project": project_json(f, project), "defaultBranch": "refs/heads/main", "size": 0,
        "remoteUrl": remote_url(f, &shown), "sshUrl": format!("git@ssh.invalid:v3/{}/{shown}", super::ORG),
        "webUrl": remote_url(f, &shown), "isDisabled": false, "isInMaintenance": false, "isFork": false})
}

/// A `TeamProjectReference`.
pub(crate) fn project_json(f: &Forge, project: &str) -> Value {
    let private = f
        .repos
        .iter()
        .filter(|(full, _)| split(full).0 == project)
        .all(|(_, r)| r.private);
    json!({"id": project_id(project), "name": project, "url": format!("{}/_apis/projects/{}", org_url(f), project_id(project)),
        "state": "wellFormed", "revision": 1, "visibility": if private { "private" } else { "public" },
        "lastUpdateTime": "2026-01-01T10:00:00Z"})
}

/// `/git/repositories/{repo}/<low>` (pull requests are `pulls`').
pub(super) fn serve(f: &mut Forge, req: &Request, full: &str, low: &[&str]) -> Reply {
    match (req.method.as_str(), low) {
        ("GET", []) => Reply::json(200, &repo_json(f, full)),
        ("GET", ["refs"]) => refs(f, req, full),
        ("POST", ["refs"]) => update_refs(f, req, full),
        ("POST", ["merges"]) => merge(f, req, full),
        ("GET", ["merges", id]) => merge_get(f, full, id),
        ("GET", ["commits"]) => commits(f, req, full),
        ("GET", ["diffs", "commits"]) => diff(f, req, full),
        ("GET", ["commits", sha, "statuses"]) => statuses(f, req, full, sha),
        _ => no_route(),
    }
}

/// Every branch and tag, `(name, sha)`, sorted by name.
fn all_refs(f: &Forge, full: &str) -> Vec<(String, String)> {
    let out = git::git(
        &f.git_dir(full),
        &["for-each-ref", "--format=%(refname) %(objectname)"],
        None,
    )
    .unwrap_or_default();
    out.lines()
        .filter_map(|l| l.split_once(' '))
        .map(|(n, s)| (n.to_string(), s.to_string()))
        .collect()
}

/// `GET refs?filter=heads/…`: the refs whose name after `refs/` starts with
/// the filter, by continuation token.
fn refs(f: &Forge, req: &Request, full: &str) -> Reply {
    let filter = req.q("filter").unwrap_or("");
    let api = format!(
        "{}/git/repositories/{}",
        project_api(f, split(full).0),
        repo_id(full)
    );
    let items: Vec<Value> = all_refs(f, full)
        .into_iter()
        .filter(|(n, _)| n.strip_prefix("refs/").is_some_and(|n| n.starts_with(filter)))
        .map(|(n, s)| json!({"name": n, "objectId": s, "url": format!("{api}/refs?filter={}", enc(n.trim_start_matches("refs/")))}))
        .collect();
    continued_list(f, req, items)
}

/// `POST refs`: `[{name, oldObjectId, newObjectId}]`, each a
/// compare-and-swap (an all-zero old id creates, an all-zero new one deletes).
fn update_refs(f: &mut Forge, req: &Request, full: &str) -> Reply {
    let Some(updates) = req.json().and_then(|v| v.as_array().cloned()) else {
        return err(
            400,
            "VssPropertyValidationException",
            "refUpdates is required.",
        );
    };
    let gd = f.git_dir(full);
    let verdict = f.az.ref_verdict.take();
    let mut out = vec![];
    for u in &updates {
        let name = u["name"].as_str().unwrap_or("").to_string();
        let old = u["oldObjectId"].as_str().unwrap_or(ZERO).to_string();
        let new = u["newObjectId"].as_str().unwrap_or(ZERO).to_string();
        let current = all_refs(f, full)
            .into_iter()
            .find(|(n, _)| *n == name)
            .map_or(ZERO.to_string(), |(_, s)| s);
        let status = if !name.starts_with("refs/") {
            "invalidRefName".to_string()
        } else if let Some(v) = &verdict {
            v.clone()
        } else if current != old {
            "staleOldObjectId".to_string()
        } else {
            let done = if new == ZERO {
                git::git(&gd, &["update-ref", "-d", &name, &old], None)
            } else {
                git::git(&gd, &["update-ref", &name, &new, &old], None)
            };
            match done {
                Ok(_) => "succeeded".to_string(),
                Err(_) => "failed".to_string(),
            }
        };
        let ok = status == "succeeded";
        if ok && let Some(branch) = name.strip_prefix("refs/heads/") {
            f.webhook(crate::model::outbox::Event::Push {
                repo: full.to_string(),
                branch: branch.to_string(),
                before: old.clone(),
                after: new.clone(),
            });
        }
        out.push(json!({"name": name, "oldObjectId": old, "newObjectId": new, "repositoryId": repo_id(full),
            "isLocked": status == "locked", "updateStatus": status, "success": ok,
            "customMessage": null, "rejectedBy": if status == "rejectedByPolicy" { json!("Branch policy") } else { Value::Null }}));
    }
    Reply::json(200, &list(out))
}

/// `POST merges`: `{parents: [a, b], comment}`, carried out at once but
/// answered `queued`; its `GET` says how it ended (`inProgress` while
/// `/_admin/ado/merge_hold` holds it).
fn merge(f: &mut Forge, req: &Request, full: &str) -> Reply {
    let b = req.json().unwrap_or(Value::Null);
    let parents: Vec<String> = b["parents"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|p| p.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    if parents.len() != 2 {
        return err(
            400,
            "VssPropertyValidationException",
            "A merge takes exactly two parents.",
        );
    }
    let comment = b["comment"].as_str().unwrap_or("Merge").to_string();
    let gd = f.git_dir(full);
    let me = f.me.clone();
    let (a, c) = (&parents[0], &parents[1]);
    let made = git::git(&gd, &["merge-tree", "--write-tree", a, c], None).and_then(|tree| {
        let tree = tree.lines().next().unwrap_or("").to_string();
        git::git_as(
            &gd,
            Some(me.as_str()),
            &["commit-tree", &tree, "-p", a, "-p", c, "-m", &comment],
            None,
        )
    });
    let id = f.az.merges.keys().max().copied().unwrap_or(0) + 1;
    let detailed = match &made {
        Ok(sha) => json!({"mergeCommitId": sha}),
        Err(e) => {
            json!({"failureMessage": format!("The merge has conflicts: {}", e.lines().next().unwrap_or(""))})
        }
    };
    let status = if made.is_ok() { "completed" } else { "failed" };
    let done = json!({"mergeOperationId": id, "status": status, "detailedStatus": detailed, "parents": parents, "comment": comment,
        "_links": {"self": {"href": format!("{}/git/repositories/{}/merges/{id}", project_api(f, split(full).0), repo_id(full))}}});
    f.az.merges.insert(id, (full.to_string(), done.clone()));
    let mut queued = done;
    queued["status"] = json!("queued");
    queued["detailedStatus"] = Value::Null;
    Reply::json(201, &queued)
}

fn merge_get(f: &Forge, full: &str, id: &str) -> Reply {
    match id
        .parse::<u64>()
        .ok()
        .and_then(|i| f.az.merges.get(&i))
        .filter(|(r, _)| r == full)
    {
        Some((_, m)) if f.az.merge_hold => {
            let mut held = m.clone();
            held["status"] = json!("inProgress");
            held["detailedStatus"] = Value::Null;
            Reply::json(200, &held)
        }
        Some((_, m)) => Reply::json(200, m),
        None => err(
            404,
            "GitMergeOperationNotFoundException",
            &format!("Merge operation {id} was not found."),
        ),
    }
}

/// A `GitCommitRef` of one logged commit.
fn commit_json(f: &Forge, full: &str, c: &git::LoggedCommit) -> Value {
    let url = format!(
        "{}/git/repositories/{}/commits/{}",
        project_api(f, split(full).0),
        repo_id(full),
        c[0]
    );
    json!({"commitId": c[0], "author": {"name": c[1], "email": c[2], "date": utc(&c[3])},
        "committer": {"name": c[4], "email": c[5], "date": utc(&c[6])},
        "comment": c[8].trim_end(), "parents": c[7].split_whitespace().collect::<Vec<_>>(),
        "url": url, "remoteUrl": format!("{}/commit/{}", remote_url(f, full), c[0])})
}

/// `GET commits?searchCriteria.itemVersion.version=<branch>&searchCriteria.fromDate=…`.
fn commits(f: &Forge, req: &Request, full: &str) -> Reply {
    let version = req
        .q("searchCriteria.itemVersion.version")
        .unwrap_or("main");
    let mut args = vec![version.to_string()];
    if let Some(d) = req.q("searchCriteria.fromDate") {
        args.push(format!("--since={d}"));
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let Some(log) = git::log(&f.git_dir(full), &args) else {
        return err(
            404,
            "GitItemNotFoundException",
            &format!(
                "TF401175: The version descriptor <Branch: {version} > could not be resolved to a version commit."
            ),
        );
    };
    let items: Vec<Value> = log.iter().map(|c| commit_json(f, full, c)).collect();
    Reply::json(200, &list(top_skip(req, items, 100)))
}

/// A version of a diff's request: `{side}Version` with its
/// `{side}VersionOptions` (`firstParent` is its first parent, `HEAD^`).
fn diff_version(req: &Request, side: &str) -> Option<String> {
    let v = req.q(&format!("{side}Version"))?.to_string();
    let first_parent = req
        .q(&format!("{side}VersionOptions"))
        .is_some_and(|o| o.eq_ignore_ascii_case("firstParent"));
    Some(if first_parent { format!("{v}^1") } else { v })
}

/// `GET diffs/commits?baseVersion=…&targetVersion=…`: the files changed,
/// from the common commit (`diffCommonCommit`, the default) or from the
/// base itself (`diffCommonCommit=false`), by `$top` (100) and `$skip`,
/// `allChangesIncluded` when the page ends the list; a rename with its
/// `originalPath` (the contract's `GitChange.originalPath`).
fn diff(f: &Forge, req: &Request, full: &str) -> Reply {
    let (Some(base), Some(target)) = (diff_version(req, "base"), diff_version(req, "target"))
    else {
        return err(
            400,
            "VssPropertyValidationException",
            "baseVersion and targetVersion are required.",
        );
    };
    let (base, target) = (base.as_str(), target.as_str());
    let from_common = !req
        .q("diffCommonCommit")
        .is_some_and(|v| v.eq_ignore_ascii_case("false"));
    let range = if from_common {
        format!("{base}...{target}")
    } else {
        format!("{base}..{target}")
    };
    let gd = f.git_dir(full);
    let Ok(out) = git::git(&gd, &["diff", "--name-status", "-M", &range], None) else {
        return err(
            404,
            "GitItemNotFoundException",
            "TF401175: a version could not be resolved.",
        );
    };
    let changes: Vec<Value> = out
        .lines()
        .filter_map(|l| {
            let mut parts = l.split('\t');
            Some((parts.next()?, parts.next()?, parts.next()))
        })
        .map(|(k, p, renamed_to)| {
            let kind = match k.chars().next() {
                Some('A') => "add",
                Some('D') => "delete",
                Some('R') if k == "R100" => "rename",
                Some('R') => "edit, rename",
                _ => "edit",
            };
            let path = renamed_to.unwrap_or(p);
            let mut c = json!({"item": {"path": format!("/{path}"), "gitObjectType": "blob"}, "changeType": kind});
            if renamed_to.is_some() {
                c["originalPath"] = json!(format!("/{p}"));
            }
            c
        })
        .collect();
    let total = changes.len();
    let skip = req
        .q("$skip")
        .or_else(|| req.q("skip"))
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(0);
    let changes = top_skip(req, changes, 100);
    let all = skip.saturating_add(changes.len()) >= total;
    let sha = |r: &str| git::git(&gd, &["rev-parse", r], None).unwrap_or_default();
    let common = git::git(&gd, &["merge-base", base, target], None).unwrap_or_default();
    let count = |range: String| {
        git::git(&gd, &["rev-list", "--count", &range], None)
            .ok()
            .and_then(|n| n.parse::<u64>().ok())
            .unwrap_or(0)
    };
    Reply::json(
        200,
        &json!({"allChangesIncluded": all, "changeCounts": {"Edit": total}, "changes": changes,
        "commonCommit": common, "baseCommit": sha(base), "targetCommit": sha(target),
        "aheadCount": count(format!("{base}..{target}")), "behindCount": count(format!("{target}..{base}"))}),
    )
}

/// A commit status of the shared model as a `GitStatus`: its context
/// `genre/name` (the part after the last `/` the name).
pub(crate) fn status_json(f: &Forge, s: &crate::model::Status) -> Value {
    let (genre, name) = s
        .context
        .rsplit_once('/')
        .unwrap_or(("", s.context.as_str()));
    let state = match s.state.as_str() {
        "success" => "succeeded",
        "failure" => "failed",
        "error" => "error",
        "pending" => "pending",
        _ => "notSet",
    };
    let by =
        f.az.by_name(&s.creator)
            .map(|i| i.as_ref(&f.base))
            .unwrap_or(Value::Null);
    json!({"id": s.id, "state": state, "description": s.description, "context": {"name": name, "genre": genre},
        "targetUrl": s.target_url, "creationDate": utc(&s.updated_at), "updatedDate": utc(&s.updated_at), "createdBy": by})
}

/// `GET commits/{sha}/statuses`: newest first, the latest per context with
/// `latestOnly=true`, by `top`/`skip`.
fn statuses(f: &Forge, req: &Request, full: &str, sha: &str) -> Reply {
    let latest = req
        .q("latestOnly")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let mut seen: Vec<String> = vec![];
    let items: Vec<Value> = f
        .statuses(full, sha)
        .iter()
        .rev()
        .filter(|s| {
            if !latest {
                return true;
            }
            let fresh = !seen.contains(&s.context);
            seen.push(s.context.clone());
            fresh
        })
        .map(|s| status_json(f, s))
        .collect();
    Reply::json(200, &list(top_skip(req, items, 1000)))
}
