//! Azure Repos pull requests over the shared model's: create (a
//! description of at most 4,000 characters; `409` for a second active one
//! from the same source into the same target), list (each description cut
//! to 400 characters, `$top`/`$skip`), one (its `mergeStatus` `queued` at
//! first, then `succeeded` or `conflicts` on the next read), update (title,
//! description, `isDraft`, `status` abandoned, active or completed: the
//! merge), its iteration, statuses, reviewers' votes and linked work items;
//! threads are `threads`'. And the policy evaluations of a pull request
//! (build validation and status policies), the configurations they
//! evaluate, the policy types, and the builds they name.

use super::git::repo_json;
use super::threads;
use super::{err, list, no_route, now, org_url, project_api, top_skip};
use crate::git;
use crate::http::{Reply, Request};
use crate::model::Forge;
use crate::model::azure::{Pr, guid, project_id, repo_id, split};
use crate::seed::OpenPull;
use serde_json::{Value, json};

/// Build validation's policy type.
pub(crate) const BUILD_POLICY: &str = "0609b952-1397-4640-95ec-e00a01b2c241";
/// The status policy's type.
pub(crate) const STATUS_POLICY: &str = "cbdc66da-9728-4af8-aada-9a5a32e4a226";

const POLICY_TYPES: &[(&str, &str)] = &[
    (BUILD_POLICY, "Build"),
    (STATUS_POLICY, "Status"),
    (
        "fa4e907d-c16b-4a4c-9dfa-4906e5d171dd",
        "Minimum number of reviewers",
    ),
    (
        "c6a1889d-b943-4856-b76f-9e46bb6b0df2",
        "Comment requirements",
    ),
    ("40e92b44-2fe1-4dd6-b3d8-74a9c21d0c6e", "Work item linking"),
    (
        "fa4e907d-c16b-4a4c-9dfa-4916e5d171ab",
        "Require a merge strategy",
    ),
];

/// The longest description a pull request takes.
const DESCRIPTION_MAX: usize = 4000;

fn not_found(id: &str) -> Reply {
    err(
        404,
        "GitPullRequestNotFoundException",
        &format!("TF401180: The requested pull request was not found. ({id})"),
    )
}

/// `/git/repositories/{repo}/pullrequests/<low>`.
pub(super) fn serve(f: &mut Forge, req: &Request, full: &str, low: &[&str]) -> Reply {
    match (req.method.as_str(), low) {
        ("POST", []) => create(f, req, full),
        ("GET", []) => list_prs(f, req, full),
        (_, [id, tail @ ..]) => {
            let Some(n) = id
                .parse::<u64>()
                .ok()
                .filter(|n| f.az.prs.get(n).is_some_and(|p| p.repo == full))
            else {
                return not_found(id);
            };
            match (req.method.as_str(), tail) {
                ("GET", []) => one(f, n),
                ("PATCH", []) => update(f, req, n),
                ("GET", ["iterations"]) => iterations(f, n),
                ("GET", ["statuses"]) => Reply::json(200, &list(f.az.prs[&n].statuses.clone())),
                ("GET", ["reviewers"]) => threads::reviewers(f, n),
                ("GET", ["workitems"]) => work_items(f, n),
                (_, ["threads", ..]) => threads::serve(f, req, n, &tail[1..]),
                _ => no_route(),
            }
        }
        _ => no_route(),
    }
}

/// A `GitPullRequest`; `cut`: its description cut to 400 characters, as lists show it.
pub(crate) fn pr_json(f: &Forge, p: &Pr, cut: bool) -> Value {
    let issue = &f.repos[&p.repo].issues[&p.number];
    let gd = f.git_dir(&p.repo);
    let head = f.head_sha(&p.repo, issue);
    let target = git::head(&gd, p.target.trim_start_matches("refs/heads/")).unwrap_or_default();
    let who = |id: &str| {
        f.az.by_id(id)
            .map(|i| i.as_ref(&f.base))
            .unwrap_or(Value::Null)
    };
    let description: String = if cut {
        issue.body.chars().take(400).collect()
    } else {
        issue.body.clone()
    };
    let (project, _) = split(&p.repo);
    let url = format!(
        "{}/git/repositories/{}/pullRequests/{}",
        project_api(f, project),
        repo_id(&p.repo),
        p.id
    );
    let mut v = json!({"repository": repo_json(f, &p.repo), "pullRequestId": p.id, "codeReviewId": p.id,
        "status": p.status, "createdBy": who(&p.created_by), "creationDate": p.created,
        "title": issue.title, "description": description, "sourceRefName": p.source, "targetRefName": p.target,
        "mergeStatus": p.merge_status, "isDraft": p.draft, "mergeId": guid(&format!("merge:{}", p.id)),
        "lastMergeSourceCommit": {"commitId": head}, "lastMergeTargetCommit": {"commitId": target},
        "reviewers": threads::reviewer_list(f, p), "url": url, "supportsIterations": true,
        "artifactId": format!("vstfs:///Git/PullRequestId/{}%2f{}%2f{}", project_id(project), repo_id(&p.repo), p.id)});
    if let Some(sha) = &issue.merge_sha {
        v["lastMergeCommit"] = json!({"commitId": sha});
    }
    if p.status != "active" {
        v["closedDate"] = json!(p.closed.as_deref().unwrap_or(&p.created));
    }
    if let Some(q) = &p.completion_queued {
        v["completionQueueTime"] = json!(q);
    }
    if p.merge_status == "failure" {
        v["mergeFailureType"] = json!("unknown");
        v["mergeFailureMessage"] =
            json!("The merge failed: the target branch changed in a way git could not merge.");
    }
    v
}

/// The source ref's branch, `refs/heads/x` → `x`.
fn branch(r: &str) -> &str {
    r.strip_prefix("refs/heads/").unwrap_or(r)
}

fn create(f: &mut Forge, req: &Request, full: &str) -> Reply {
    let b = req.json().unwrap_or(Value::Null);
    let (Some(source), Some(target), Some(title)) = (
        b["sourceRefName"].as_str(),
        b["targetRefName"].as_str(),
        b["title"].as_str(),
    ) else {
        return err(
            400,
            "VssPropertyValidationException",
            "sourceRefName, targetRefName and title are required.",
        );
    };
    let description = b["description"].as_str().unwrap_or("");
    if description.chars().count() > DESCRIPTION_MAX {
        return err(
            400,
            "InvalidArgumentValueException",
            "TF401355: The description of a pull request cannot be longer than 4000 characters.",
        );
    }
    if f.az
        .prs
        .values()
        .any(|p| p.repo == full && p.status == "active" && p.source == source && p.target == target)
    {
        return err(
            409,
            "GitPullRequestExistsException",
            "TF401179: An active pull request for the source and target branch already exists.",
        );
    }
    if git::head(&f.git_dir(full), branch(target)).is_none() {
        return err(
            400,
            "GitPullRequestCannotBeActivated",
            "TF401398: The pull request cannot be activated because the source and/or the target branch no longer exists, or the requested refs are not branches.",
        );
    }
    let n = match f.open_pull(full, branch(source), title, description) {
        Ok(n) => n,
        Err(OpenPull::NoBranch) => {
            return err(
                400,
                "GitPullRequestCannotBeActivated",
                "TF401398: The pull request cannot be activated because the source and/or the target branch no longer exists, or the requested refs are not branches.",
            );
        }
        Err(OpenPull::Exists) => {
            return err(
                409,
                "GitPullRequestExistsException",
                "TF401179: An active pull request for the source and target branch already exists.",
            );
        }
        Err(OpenPull::Other(e)) => return err(400, "InvalidArgumentValueException", &e),
    };
    let draft = b["isDraft"].as_bool().unwrap_or(false);
    if let Some(i) = f.repos.get_mut(full).and_then(|r| r.issues.get_mut(&n)) {
        i.base = branch(target).to_string();
        i.draft = draft;
    }
    let work_items: Vec<u64> = b["workItemRefs"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|w| {
                    w["id"]
                        .as_u64()
                        .or_else(|| w["id"].as_str().and_then(|s| s.parse().ok()))
                })
                .collect()
        })
        .unwrap_or_default();
    let me = f.me.clone();
    let created_by = f.az.ensure(&me);
    let created = super::wall();
    let id = f.az.prs.keys().max().copied().unwrap_or(0) + 1;
    f.az.prs.insert(
        id,
        Pr {
            id,
            repo: full.to_string(),
            number: n,
            source: source.to_string(),
            target: target.to_string(),
            draft,
            created,
            created_by,
            status: "active".into(),
            closed: None,
            merge_status: "queued".into(),
            merge_next: None,
            merge_heads: None,
            completion_queued: None,
            work_items,
            votes: Default::default(),
            statuses: vec![],
            iterations: vec![],
        },
    );
    Reply::json(201, &pr_json(f, &f.az.prs[&id], false))
}

/// `GET pullrequests`: newest first, `searchCriteria.status` (`active`
/// unless asked, or `all`), `sourceRefName`, `targetRefName`, `creatorId`.
fn list_prs(f: &Forge, req: &Request, full: &str) -> Reply {
    let status = req
        .q("searchCriteria.status")
        .unwrap_or("active")
        .to_lowercase();
    let items: Vec<Value> =
        f.az.prs
            .values()
            .rev()
            .filter(|p| p.repo == full)
            .filter(|p| status == "all" || p.status.eq_ignore_ascii_case(&status))
            .filter(|p| {
                req.q("searchCriteria.sourceRefName")
                    .is_none_or(|s| s == p.source)
            })
            .filter(|p| {
                req.q("searchCriteria.targetRefName")
                    .is_none_or(|s| s == p.target)
            })
            .filter(|p| {
                req.q("searchCriteria.creatorId")
                    .is_none_or(|s| s.eq_ignore_ascii_case(&p.created_by))
            })
            .map(|p| pr_json(f, p, true))
            .collect();
    Reply::json(200, &list(top_skip(req, items, 101)))
}

/// Whether the pull request's source merges into its target cleanly.
fn merges_cleanly(f: &Forge, p: &Pr) -> bool {
    let gd = f.git_dir(&p.repo);
    git::git(
        &gd,
        &[
            "merge-tree",
            "--write-tree",
            branch(&p.target),
            branch(&p.source),
        ],
        None,
    )
    .is_ok()
}

/// The heads of pull request `n`'s source and target now.
pub(crate) fn heads(f: &Forge, p: &Pr) -> (String, String) {
    let issue = &f.repos[&p.repo].issues[&p.number];
    let gd = f.git_dir(&p.repo);
    let target = git::head(&gd, p.target.trim_start_matches("refs/heads/")).unwrap_or_default();
    (f.head_sha(&p.repo, issue), target)
}

impl Forge {
    /// The source's and target's heads of pull request `n` now (none: no
    /// such pull request), for what the shared admin API says of its merge
    /// status.
    pub(crate) fn az_heads(&self, n: u64) -> Option<(String, String)> {
        self.az.prs.get(&n).map(|p| heads(self, p))
    }
}

/// `GET` one: as it is; a `queued` merge status is worked out for the next
/// read, and a status said for heads that moved since is queued again.
fn one(f: &mut Forge, n: u64) -> Reply {
    let now = heads(f, &f.az.prs[&n]);
    if let Some(p) = f.az.prs.get_mut(&n) {
        let moved = p.merge_heads.as_ref().is_some_and(|h| *h != now);
        if moved && p.status == "active" {
            p.merge_status = "queued".into();
            p.merge_next = None;
        }
        p.merge_heads = Some(now);
    }
    let reply = Reply::json(200, &pr_json(f, &f.az.prs[&n], false));
    let p = &f.az.prs[&n];
    if p.merge_status == "queued" && p.status == "active" {
        let next = p.merge_next.clone().unwrap_or_else(|| {
            if merges_cleanly(f, p) {
                "succeeded"
            } else {
                "conflicts"
            }
            .to_string()
        });
        if let Some(p) = f.az.prs.get_mut(&n) {
            p.merge_status = next;
            p.merge_next = None;
        }
    }
    reply
}

/// Complete pull request `n` as identity `by`: the merge, the shared pull
/// request merged, and with `close_items` its work items moved to Done.
pub(crate) fn complete(f: &mut Forge, n: u64, by: &str, close_items: bool) -> Result<(), Reply> {
    let (repo, number, status) = {
        let p = &f.az.prs[&n];
        (p.repo.clone(), p.number, p.merge_status.clone())
    };
    if status == "conflicts" || status == "failure" {
        return Err(err(
            409,
            "GitPullRequestNotMergeableException",
            "TF401181: The pull request cannot be completed: it has merge conflicts.",
        ));
    }
    let name = f.az.by_id(by).map(|i| i.name.clone()).unwrap_or_default();
    // the shared merge closes the issues a description's closing words
    // name, as Gitea does; Azure Repos does not: a `#N` in a description
    // only links the work item, and only "Complete associated work items
    // after merging" (`close_items`, below) moves it
    // (https://learn.microsoft.com/azure/devops/repos/git/complete-pull-requests)
    let open_before: Vec<u64> = f.repos[&repo]
        .issues
        .values()
        .filter(|i| !i.pull && i.state == "open")
        .map(|i| i.number)
        .collect();
    if let Err(e) = f.merge_by(&repo, number, Some(name.as_str()), false) {
        return Err(err(
            409,
            "GitPullRequestNotMergeableException",
            &format!("TF401181: The pull request cannot be completed: {e}"),
        ));
    }
    if let Some(r) = f.repos.get_mut(&repo) {
        for n in &open_before {
            if let Some(i) = r.issues.get_mut(n) {
                i.set_state("open");
            }
        }
    }
    let closed = super::wall();
    let items = {
        let p = f.az.prs.get_mut(&n).expect("the pull request");
        p.status = "completed".into();
        p.closed = Some(closed);
        p.merge_status = "succeeded".into();
        p.work_items.clone()
    };
    if close_items {
        for w in items {
            if f.az.items.contains_key(&w) {
                f.az_write(
                    w,
                    vec![("System.State".into(), json!("Done"))],
                    by,
                    None,
                    vec![],
                );
                let (full, num) = (f.az.items[&w].repo.clone(), f.az.items[&w].number);
                if let Some(i) = f.repos.get_mut(&full).and_then(|r| r.issues.get_mut(&num)) {
                    i.set_state("closed");
                }
                if let Some(item) = f.az.items.get_mut(&w) {
                    item.synced_state = "closed".into();
                }
            }
        }
    }
    Ok(())
}

/// `PATCH`: `title`, `description`, `isDraft`, `status` (abandoned, active,
/// completed), `autoCompleteSetBy`.
fn update(f: &mut Forge, req: &Request, n: u64) -> Reply {
    let b = req.json().unwrap_or(Value::Null);
    let (repo, number) = (f.az.prs[&n].repo.clone(), f.az.prs[&n].number);
    if let Some(d) = b["description"].as_str()
        && d.chars().count() > DESCRIPTION_MAX
    {
        return err(
            400,
            "InvalidArgumentValueException",
            "TF401355: The description of a pull request cannot be longer than 4000 characters.",
        );
    }
    if let Some(i) = f
        .repos
        .get_mut(&repo)
        .and_then(|r| r.issues.get_mut(&number))
    {
        if let Some(t) = b["title"].as_str() {
            i.title = t.to_string();
        }
        if let Some(d) = b["description"].as_str() {
            i.body = d.to_string();
        }
    }
    if let Some(d) = b["isDraft"].as_bool()
        && let Some(p) = f.az.prs.get_mut(&n)
    {
        p.draft = d;
    }
    if b["autoCompleteSetBy"].is_object() {
        let at = now(f);
        if let Some(p) = f.az.prs.get_mut(&n) {
            p.completion_queued = Some(at);
        }
    }
    match b["status"].as_str() {
        None => {}
        Some("abandoned") => {
            let closed = super::wall();
            if let Some(p) = f.az.prs.get_mut(&n) {
                p.status = "abandoned".into();
                p.closed = Some(closed);
            }
            if let Some(i) = f
                .repos
                .get_mut(&repo)
                .and_then(|r| r.issues.get_mut(&number))
            {
                i.set_state("closed");
            }
        }
        Some("active") => {
            if f.az.prs[&n].status == "completed" {
                return err(
                    400,
                    "InvalidArgumentValueException",
                    "TF401171: A completed pull request cannot be reactivated.",
                );
            }
            if let Some(p) = f.az.prs.get_mut(&n) {
                p.status = "active".into();
            }
            if let Some(i) = f
                .repos
                .get_mut(&repo)
                .and_then(|r| r.issues.get_mut(&number))
            {
                i.set_state("open");
            }
        }
        Some("completed") => {
            let me = f.me.clone();
            let by = f.az.ensure(&me);
            if let Err(r) = complete(f, n, &by, false) {
                return r;
            }
        }
        Some(s) => {
            return err(
                400,
                "InvalidArgumentValueException",
                &format!("The status {s} cannot be set."),
            );
        }
    }
    f.az_pr_updated(n);
    Reply::json(200, &pr_json(f, &f.az.prs[&n], false))
}

/// Pull request `n`'s iterations, `(id, head)`: one a head it has had, as
/// the service makes one a push. A head not seen before becomes the next
/// iteration the first time a read of the iterations or a status posted
/// on the PR finds it.
pub(crate) fn az_iterations(f: &mut Forge, n: u64) -> Vec<(u64, String)> {
    let head = {
        let p = &f.az.prs[&n];
        f.head_sha(&p.repo, &f.repos[&p.repo].issues[&p.number])
    };
    let p = f.az.prs.get_mut(&n).expect("the pull request");
    if p.iterations.last() != Some(&head) {
        p.iterations.push(head);
    }
    (p.iterations.iter().enumerate())
        .map(|(i, h)| (i as u64 + 1, h.clone()))
        .collect()
}

/// `GET .../pullRequests/{id}/iterations`: each iteration with its source
/// commit, the target's head and their merge base, oldest first.
fn iterations(f: &mut Forge, n: u64) -> Reply {
    let all = az_iterations(f, n);
    let p = &f.az.prs[&n];
    let issue = &f.repos[&p.repo].issues[&p.number];
    let gd = f.git_dir(&p.repo);
    let target = git::head(&gd, branch(&p.target)).unwrap_or_default();
    let who =
        f.az.by_id(&p.created_by)
            .map(|i| i.as_ref(&f.base))
            .unwrap_or(Value::Null);
    let out = (all.into_iter())
        .map(|(id, head)| {
            let common = git::git(&gd, &["merge-base", &head, &target], None).unwrap_or_default();
            let reason = if id == 1 { "create" } else { "push" };
            json!({"id": id, "description": issue.title, "author": who,
            "createdDate": p.created, "updatedDate": p.created, "sourceRefCommit": {"commitId": head},
            "targetRefCommit": {"commitId": target}, "commonRefCommit": {"commitId": common},
            "hasMoreCommits": false, "reason": reason})
        })
        .collect();
    Reply::json(200, &list(out))
}

fn work_items(f: &Forge, n: u64) -> Reply {
    let items: Vec<Value> = f.az.prs[&n]
        .work_items
        .iter()
        .map(|w| json!({"id": w.to_string(), "url": format!("{}/_apis/wit/workItems/{w}", org_url(f))}))
        .collect();
    Reply::json(200, &list(items))
}

/// `GET policy/evaluations?artifactId=vstfs:///CodeReview/CodeReviewId/{projectId}/{prId}`.
pub(super) fn evaluations(f: &Forge, req: &Request, project: &str) -> Reply {
    let Some(artifact) = req.q("artifactId") else {
        return err(
            400,
            "ArgumentNullException",
            "Value cannot be null. Parameter name: artifactId",
        );
    };
    let prefix = format!("vstfs:///CodeReview/CodeReviewId/{}/", project_id(project));
    let Some(pr) = artifact
        .strip_prefix(&prefix)
        .and_then(|n| n.parse::<u64>().ok())
    else {
        return err(
            400,
            "InvalidArgumentValueException",
            &format!("The artifact id {artifact} is not a pull request of this project."),
        );
    };
    let items: Vec<Value> =
        f.az.evaluations
            .iter()
            .filter(|(p, _)| *p == pr)
            .map(|(_, e)| e.clone())
            .collect();
    Reply::json(200, &list(top_skip(req, items, 1000)))
}

/// `GET policy/configurations`: those the evaluations name, by continuation token.
pub(super) fn configurations(f: &Forge, req: &Request, project: &str) -> Reply {
    let mut configs: Vec<Value> = vec![];
    for (pr, e) in &f.az.evaluations {
        let in_project =
            f.az.prs
                .get(pr)
                .is_some_and(|p| split(&p.repo).0.eq_ignore_ascii_case(project));
        if in_project && !configs.iter().any(|c| c["id"] == e["configuration"]["id"]) {
            configs.push(e["configuration"].clone());
        }
    }
    if let Some(t) = req.q("policyType") {
        configs.retain(|c| {
            c["type"]["id"]
                .as_str()
                .is_some_and(|id| id.eq_ignore_ascii_case(t))
        });
    }
    super::continued_list(f, req, configs)
}

pub(super) fn policy_types(f: &Forge, project: &str) -> Reply {
    let api = project_api(f, project);
    let items: Vec<Value> = POLICY_TYPES
        .iter()
        .map(|(id, name)| json!({"id": id, "displayName": name, "description": name, "url": format!("{api}/policy/types/{id}")}))
        .collect();
    Reply::json(200, &list(items))
}

pub(super) fn build(f: &Forge, id: &str) -> Reply {
    match id.parse::<u64>().ok().and_then(|i| f.az.builds.get(&i)) {
        Some(b) => Reply::json(200, b),
        None => err(
            404,
            "BuildNotFoundException",
            &format!("TF215016: The requested build {id} could not be found."),
        ),
    }
}

/// A policy evaluation of pull request `pr` (`/_admin/ado/evaluation`):
/// build validation named `name` with its build, or a status policy on
/// `genre/name`; one per configuration, replaced when set again.
pub(crate) fn evaluate(
    f: &mut Forge,
    pr: u64,
    status: &str,
    name: &str,
    kind: &str,
    expired: bool,
    result: Option<&str>,
) -> Result<Value, String> {
    let p = f.az.prs.get(&pr).ok_or(format!("no pull request {pr}"))?;
    let (repo, project) = (p.repo.clone(), split(&p.repo).0.to_string());
    let issue = &f.repos[&repo].issues[&p.number];
    let head = f.head_sha(&repo, issue);
    if ![
        "approved",
        "rejected",
        "broken",
        "queued",
        "running",
        "notApplicable",
    ]
    .contains(&status)
    {
        return Err(format!(
            "status {status}: approved, rejected, broken, queued, running or notApplicable"
        ));
    }
    let build_policy = kind != "status";
    let config_id =
        u32::from_str_radix(&guid(&format!("config:{repo}:{kind}:{name}"))[..4], 16).unwrap_or(1);
    let type_id = if build_policy {
        BUILD_POLICY
    } else {
        STATUS_POLICY
    };
    let api = project_api(f, &project);
    let at = now(f);
    let mut settings = json!({"displayName": name, "scope": [{"refName": "refs/heads/main", "matchKind": "Exact", "repositoryId": repo_id(&repo)}]});
    let mut context = json!({});
    if build_policy {
        let id = f.az.builds.keys().max().copied().unwrap_or(0) + 1;
        let result = result.map(str::to_string).unwrap_or(match status {
            "approved" => "succeeded".into(),
            "rejected" | "broken" => "failed".into(),
            _ => "none".into(),
        });
        let def = u32::from_str_radix(&guid(&format!("definition:{name}"))[..4], 16).unwrap_or(1);
        let web = format!(
            "{}/{}/_build/results?buildId={id}",
            org_url(f),
            crate::routes::enc(&project)
        );
        let state = if matches!(status, "queued" | "running") {
            "inProgress"
        } else {
            "completed"
        };
        f.az.builds.insert(id, json!({"id": id, "buildNumber": format!("2026.{id}"), "status": state, "result": result,
            "definition": {"id": def, "name": name, "url": format!("{api}/build/definitions/{def}")},
            "sourceBranch": format!("refs/pull/{pr}/merge"), "sourceVersion": head, "queueTime": at, "startTime": at,
            "url": format!("{api}/build/builds/{id}"), "_links": {"web": {"href": web}, "self": {"href": format!("{api}/build/builds/{id}")}}}));
        settings["buildDefinitionId"] = json!(def);
        context = json!({"buildId": id, "buildDefinitionId": def, "buildDefinitionName": name, "isExpired": expired,
            "buildIsNotCurrent": expired, "lastMergeSourceCommitId": head,
            "lastMergeCommitId": guid(&format!("merge:{pr}:{head}")).replace('-', "")[..32].to_string() + "00000000",
            "buildOutputPreview": null});
    } else {
        let (genre, sname) = name.rsplit_once('/').unwrap_or(("", name));
        settings["statusGenre"] = json!(genre);
        settings["statusName"] = json!(sname);
    }
    let configuration = json!({"id": config_id, "revision": 1, "isEnabled": true, "isBlocking": true, "isDeleted": false,
        "type": {"id": type_id, "displayName": if build_policy { "Build" } else { "Status" }, "url": format!("{api}/policy/types/{type_id}")},
        "settings": settings, "url": format!("{api}/policy/configurations/{config_id}")});
    let artifact = format!(
        "vstfs:///CodeReview/CodeReviewId/{}/{pr}",
        project_id(&project)
    );
    let mut e = json!({"evaluationId": guid(&format!("evaluation:{pr}:{config_id}")), "artifactId": artifact, "status": status,
        "startedDate": at, "configuration": configuration, "context": context});
    if !matches!(status, "queued" | "running") {
        e["completedDate"] = json!(at);
    }
    f.az.evaluations
        .retain(|(p, x)| !(*p == pr && x["configuration"]["id"] == json!(config_id)));
    f.az.evaluations.push((pr, e.clone()));
    Ok(e)
}
