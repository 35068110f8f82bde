//! The sandbox: a throwaway forge on loopback that speaks the Gitea API v1
//! subset afk uses (shapes from `contracts/gitea-v1-subset.json`), with an admin
//! API for tests: seed data, read back every request it received, inject faults.
//! It behaves like a real Gitea where that bites clients: an unknown label in
//! `labels=` is dropped from the filter, pull requests are listed as issues
//! unless `type=issues`, timestamps carry a +02:00 offset, a renamed repo
//! answers its old path with a redirect, permission lookups need an admin.

pub mod git;
pub mod http;

use http::{Reply, Request};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub const DEFAULT_TOKEN: &str = "sandbox-token";
/// The bearer token of the sandbox's agent-thread service (`/agent`).
pub const AGENT_TOKEN: &str = "agent-token";
const TS: &str = "2026-01-01T12:00:00+02:00";

#[derive(Deserialize, Default, Clone)]
#[serde(deny_unknown_fields, default)]
pub struct SeedIssue {
    pub number: Option<u64>,
    pub title: String,
    pub body: String,
    pub labels: Vec<String>,
    /// Who added each label (a timeline event per label). Default: the author.
    pub labeled_by: Option<String>,
    pub author: Option<String>,
    pub state: Option<String>,
    pub pull: bool,
    /// For a pull request: its head branch (in the repo's git repository).
    pub head: Option<String>,
    /// Issue numbers in the same repo this one depends on (dependencies API).
    pub depends_on: Vec<u64>,
}

#[derive(Deserialize, Default, Clone)]
#[serde(deny_unknown_fields, default)]
pub struct SeedRepo {
    pub name: String,
    pub labels: Option<Vec<String>>,
    pub collaborators: BTreeMap<String, String>,
    /// false: the dependencies endpoint answers 404 (feature off)
    pub dependencies: Option<bool>,
    /// false: permission lookups answer 403 (afk's account is not an admin)
    pub permission_lookup: Option<bool>,
    /// the repo was renamed: its old path redirects here
    pub renamed_to: Option<String>,
    pub issues: Vec<SeedIssue>,
}

#[derive(Deserialize, Default, Clone)]
#[serde(deny_unknown_fields, default)]
pub struct Seed {
    pub token: Option<String>,
    pub me: Option<String>,
    pub repos: Vec<SeedRepo>,
}

#[derive(Deserialize, Clone, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Fault {
    pub method: Option<String>,
    /// substring of the API path (without /api/v1)
    pub path: Option<String>,
    pub status: Option<u16>,
    pub retry_after: Option<u64>,
    pub latency_ms: Option<u64>,
    pub hang: bool,
    pub drop: bool,
    pub malformed: bool,
    /// how many matching requests it applies to; absent: all
    pub times: Option<u32>,
}

struct Issue {
    id: i64,
    number: u64,
    title: String,
    body: String,
    state: String,
    labels: Vec<i64>,
    pull: bool,
    author: String,
    deps: Vec<u64>,
    timeline: Vec<Value>,
    head: Option<String>,
    base: String,
    merged: bool,
    merge_sha: Option<String>,
}

struct Repo {
    id: i64,
    full_name: String,
    labels: Vec<(i64, String)>,
    issues: BTreeMap<u64, Issue>,
    collaborators: BTreeMap<String, String>,
    deps_enabled: bool,
    permission_lookup: bool,
    renamed_to: Option<String>,
}

struct Comment {
    id: i64,
    repo: String,
    issue: u64,
    body: String,
    user: String,
}

pub struct Forge {
    token: String,
    me: String,
    base: String,
    next_id: i64,
    repos: BTreeMap<String, Repo>,
    comments: BTreeMap<i64, Comment>,
    log: Vec<Value>,
    faults: Vec<Fault>,
    latency_ms: u64,
    /// where the bare git repositories live: `<dir>/<owner>/<repo>.git`
    dir: PathBuf,
    /// commit statuses by (repo, sha), oldest first
    statuses: BTreeMap<(String, String), Vec<Value>>,
    /// bodies received by the webhook receiver `/_hooks/<name>`
    hooks: Vec<Value>,
    hook_failures: u32,
    /// the agent-thread service: id -> {repo, issue, title, prompt, status, phase, messages}
    threads: BTreeMap<String, Value>,
}

const DEFAULT_LABELS: &[&str] = &[
    "ready-for-agent",
    "agent-in-progress",
    "ready-for-human",
    "priority/critical",
    "priority/high",
    "priority/medium",
    "priority/low",
];

fn user(login: &str) -> Value {
    let id = login
        .bytes()
        .fold(7i64, |a, b| (a * 31 + b as i64) % 100_000);
    json!({"id": id, "login": login, "full_name": login, "email": format!("{login}@sandbox.invalid"),
           "avatar_url": "", "is_admin": false, "created": TS, "last_login": TS, "active": true,
           "restricted": false, "prohibit_login": false, "visibility": "public"})
}

fn err(status: u16, msg: &str) -> Reply {
    Reply::json(
        status,
        &json!({"message": msg, "url": "https://sandbox.invalid/api/swagger"}),
    )
}

impl Forge {
    fn new(base: String, dir: PathBuf) -> Forge {
        Forge {
            dir,
            statuses: BTreeMap::new(),
            hooks: vec![],
            hook_failures: 0,
            threads: BTreeMap::new(),
            token: DEFAULT_TOKEN.into(),
            me: "afk-bot".into(),
            base,
            next_id: 1,
            repos: BTreeMap::new(),
            comments: BTreeMap::new(),
            log: vec![],
            faults: vec![],
            latency_ms: 0,
        }
    }

    pub fn git_dir(&self, repo: &str) -> PathBuf {
        self.dir.join(format!("{repo}.git"))
    }

    fn head_sha(&self, repo: &str, i: &Issue) -> String {
        i.head
            .as_deref()
            .and_then(|h| git::head(&self.git_dir(repo), h))
            .unwrap_or_default()
    }

    fn pr_json(&self, repo: &Repo, i: &Issue) -> Value {
        let head = i.head.clone().unwrap_or_default();
        let sha = self.head_sha(&repo.full_name, i);
        let base_sha = git::head(&self.git_dir(&repo.full_name), &i.base).unwrap_or_default();
        let issue = self.issue_json(repo, i);
        json!({
            "id": i.id, "number": i.number, "title": i.title, "body": i.body, "state": i.state,
            "user": user(&i.author), "labels": issue["labels"], "milestone": null, "assignee": null,
            "assignees": null, "requested_reviewers": null, "comments": 0,
            "html_url": issue["html_url"], "url": format!("{}/api/v1/repos/{}/pulls/{}", self.base, repo.full_name, i.number),
            "diff_url": format!("{}/{}/pulls/{}.diff", self.base, repo.full_name, i.number),
            "patch_url": format!("{}/{}/pulls/{}.patch", self.base, repo.full_name, i.number),
            "is_locked": false, "mergeable": !i.merged && i.state == "open",
            "merged": i.merged, "merged_at": if i.merged { json!(TS) } else { Value::Null },
            "merge_commit_sha": i.merge_sha, "merged_by": if i.merged { user("alice") } else { Value::Null },
            "allow_maintainer_edit": false, "merge_base": base_sha,
            "base": {"label": i.base, "ref": i.base, "sha": base_sha, "repo_id": repo.id},
            "head": {"label": head, "ref": head, "sha": sha, "repo_id": repo.id},
            "due_date": null, "created_at": TS, "updated_at": TS,
            "closed_at": if i.state == "closed" { json!(TS) } else { Value::Null }, "pin_order": 0,
        })
    }

    fn combined(&self, repo: &str, sha: &str) -> Value {
        let all = self
            .statuses
            .get(&(repo.to_string(), sha.to_string()))
            .cloned()
            .unwrap_or_default();
        // the latest status per context
        let mut latest: Vec<Value> = vec![];
        for st in all.iter().rev() {
            if !latest.iter().any(|l| l["context"] == st["context"]) {
                latest.push(st.clone());
            }
        }
        latest.reverse();
        let states: Vec<&str> = latest.iter().filter_map(|v| v["status"].as_str()).collect();
        let state = if states.iter().any(|s| *s == "failure" || *s == "error") {
            "failure"
        } else if states.is_empty() || states.iter().any(|s| *s != "success") {
            "pending"
        } else {
            "success"
        };
        json!({"state": state, "sha": sha, "total_count": latest.len(), "statuses": latest,
               "url": format!("{}/api/v1/repos/{repo}/commits/{sha}/status", self.base),
               "commit_url": format!("{}/api/v1/repos/{repo}/git/commits/{sha}", self.base),
               "repository": null})
    }

    pub fn add_status(&mut self, repo: &str, sha: &str, body: &Value) -> Result<Value, String> {
        let state = body["state"].as_str().unwrap_or("");
        if !["pending", "success", "error", "failure", "warning"].contains(&state) {
            return Err(format!("invalid state \"{state}\""));
        }
        let id = self.id();
        let v = json!({
            "id": id, "status": state, "context": body["context"].as_str().unwrap_or("default"),
            "target_url": body["target_url"].as_str().unwrap_or(""),
            "description": body["description"].as_str().unwrap_or(""),
            "created_at": TS, "updated_at": TS, "creator": user(&self.me),
            "url": format!("{}/api/v1/repos/{repo}/statuses/{sha}", self.base),
        });
        self.statuses
            .entry((repo.to_string(), sha.to_string()))
            .or_default()
            .push(v.clone());
        Ok(v)
    }

    /// Merge a PR like a person would: a merge commit, the PR closed and merged,
    /// and every issue its body closes (`Closes #N`) closed.
    pub fn merge(&mut self, repo: &str, number: u64) -> Result<String, String> {
        let gd = self.git_dir(repo);
        let r = self.repos.get_mut(repo).ok_or("no such repo")?;
        let pr = r
            .issues
            .get_mut(&number)
            .filter(|i| i.pull)
            .ok_or("no such pull request")?;
        if pr.merged || pr.state != "open" {
            return Err("the pull request is not open".into());
        }
        let head = pr
            .head
            .clone()
            .ok_or("the pull request has no head branch")?;
        let sha = git::merge(
            &gd,
            &pr.base,
            &head,
            &format!("Merge pull request #{number}"),
        )?;
        pr.merged = true;
        pr.state = "closed".into();
        pr.merge_sha = Some(sha.clone());
        let closer = crate::forge::gitea::PullRequest {
            number,
            state: "closed".into(),
            merged: true,
            merge_commit_sha: None,
            head: Default::default(),
            body: Some(pr.body.clone()),
            html_url: String::new(),
        };
        for i in r
            .issues
            .values_mut()
            .filter(|i| !i.pull && i.state == "open")
        {
            if closer.closes(i.number) {
                i.state = "closed".into();
            }
        }
        Ok(sha)
    }

    fn id(&mut self) -> i64 {
        self.next_id += 1;
        self.next_id
    }

    pub fn seed(&mut self, s: Seed) -> Result<(), String> {
        if let Some(t) = s.token {
            self.token = t;
        }
        if let Some(m) = s.me {
            self.me = m;
        }
        for r in s.repos {
            if !crate::config::is_repo_name(&r.name) {
                return Err(format!("repo name \"{}\" is not owner/repo", r.name));
            }
            if !self.repos.contains_key(&r.name) {
                git::init_bare(&self.git_dir(&r.name), &r.name)?;
                let id = self.id();
                let names = r
                    .labels
                    .clone()
                    .unwrap_or_else(|| DEFAULT_LABELS.iter().map(|s| s.to_string()).collect());
                let labels = names.into_iter().map(|n| (self.id(), n)).collect();
                self.repos.insert(
                    r.name.clone(),
                    Repo {
                        id,
                        full_name: r.name.clone(),
                        labels,
                        issues: BTreeMap::new(),
                        collaborators: BTreeMap::new(),
                        deps_enabled: true,
                        permission_lookup: true,
                        renamed_to: None,
                    },
                );
            }
            let repo = self.repos.get_mut(&r.name).unwrap();
            repo.collaborators.extend(r.collaborators);
            if let Some(d) = r.dependencies {
                repo.deps_enabled = d;
            }
            if let Some(p) = r.permission_lookup {
                repo.permission_lookup = p;
            }
            if r.renamed_to.is_some() {
                repo.renamed_to = r.renamed_to;
            }
            for i in r.issues {
                self.add_issue(&r.name, i)?;
            }
        }
        Ok(())
    }

    fn add_issue(&mut self, repo: &str, i: SeedIssue) -> Result<u64, String> {
        let id = self.id();
        let r = self.repos.get_mut(repo).ok_or(format!("no repo {repo}"))?;
        let number = i
            .number
            .unwrap_or_else(|| r.issues.keys().max().copied().unwrap_or(0) + 1);
        let author = i.author.unwrap_or_else(|| "alice".into());
        r.issues.insert(
            number,
            Issue {
                id,
                number,
                title: i.title,
                body: i.body,
                state: i.state.unwrap_or_else(|| "open".into()),
                labels: vec![],
                pull: i.pull,
                author: author.clone(),
                deps: i.depends_on,
                timeline: vec![],
                head: i.head,
                base: "main".into(),
                merged: false,
                merge_sha: None,
            },
        );
        let by = i.labeled_by.unwrap_or(author);
        for l in i.labels {
            self.label(repo, number, &l, &by, true)?;
        }
        Ok(number)
    }

    /// Add or remove a label as `by`, with its timeline event (body "1" added, "" removed).
    fn label(
        &mut self,
        repo: &str,
        number: u64,
        name: &str,
        by: &str,
        add: bool,
    ) -> Result<(), String> {
        let ev = self.id();
        let r = self.repos.get_mut(repo).ok_or(format!("no repo {repo}"))?;
        let (lid, lname) = r
            .labels
            .iter()
            .find(|(_, n)| n == name)
            .cloned()
            .ok_or(format!("no label {name} in {repo}"))?;
        let label = label_json(&self.base, repo, lid, &lname);
        let issue = r
            .issues
            .get_mut(&number)
            .ok_or(format!("no issue {repo}#{number}"))?;
        let has = issue.labels.contains(&lid);
        if add && !has {
            issue.labels.push(lid);
        } else if !add && has {
            issue.labels.retain(|l| *l != lid);
        } else {
            return Ok(());
        }
        issue.timeline.push(json!({
            "id": ev, "type": "label", "body": if add { "1" } else { "" },
            "label": label, "user": user(by), "created_at": TS, "updated_at": TS,
            "html_url": format!("{}/{repo}/issues/{number}#issuecomment-{ev}", self.base),
            "issue_url": format!("{}/{repo}/issues/{number}", self.base),
            "pull_request_url": "", "ref_action": "", "ref_commit_sha": "", "old_title": "", "new_title": "",
            "old_ref": "", "new_ref": "", "old_project_id": 0, "project_id": 0, "review_id": 0,
        }));
        Ok(())
    }

    fn issue_json(&self, repo: &Repo, i: &Issue) -> Value {
        let (owner, name) = repo.full_name.split_once('/').unwrap_or(("", ""));
        let labels: Vec<Value> = i
            .labels
            .iter()
            .filter_map(|id| repo.labels.iter().find(|(l, _)| l == id))
            .map(|(id, n)| label_json(&self.base, &repo.full_name, *id, n))
            .collect();
        let comments = self
            .comments
            .values()
            .filter(|c| c.repo == repo.full_name && c.issue == i.number)
            .count();
        json!({
            "id": i.id, "number": i.number, "title": i.title, "body": i.body, "state": i.state,
            "labels": labels, "user": user(&i.author), "assignee": null, "assignees": null,
            "milestone": null, "comments": comments, "created_at": TS, "updated_at": TS,
            "closed_at": if i.state == "closed" { json!(TS) } else { Value::Null }, "due_date": null,
            "html_url": format!("{}/{}/{}/{}", self.base, repo.full_name, if i.pull { "pulls" } else { "issues" }, i.number),
            "url": format!("{}/api/v1/repos/{}/issues/{}", self.base, repo.full_name, i.number),
            "pull_request": if i.pull { json!({"merged": i.merged, "merged_at": if i.merged { json!(TS) } else { Value::Null }, "draft": false}) } else { Value::Null },
            "repository": {"id": repo.id, "name": name, "owner": owner, "full_name": repo.full_name},
            "is_locked": false, "ref": "", "assets": [], "original_author": "", "original_author_id": 0, "pin_order": 0,
        })
    }
}

fn label_json(base: &str, repo: &str, id: i64, name: &str) -> Value {
    json!({"id": id, "name": name, "color": "00aabb", "description": "", "exclusive": false,
           "is_archived": false, "url": format!("{base}/api/v1/repos/{repo}/labels/{id}")})
}

/// A page of `items` per Gitea's `page` / `limit` (default 30, at most 50), with
/// `Link` and `X-Total-Count` headers.
fn paged(req: &Request, items: Vec<Value>) -> Reply {
    let limit = req
        .q("limit")
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|v| *v > 0)
        .unwrap_or(30)
        .min(50);
    let page = req
        .q("page")
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|v| *v > 0)
        .unwrap_or(1);
    let total = items.len();
    let slice: Vec<Value> = items
        .into_iter()
        .skip((page - 1) * limit)
        .take(limit)
        .collect();
    let mut reply =
        Reply::json(200, &Value::Array(slice)).with_header("X-Total-Count", &total.to_string());
    if page * limit < total {
        let q: Vec<String> = req
            .query
            .iter()
            .filter(|(k, _)| k != "page")
            .map(|(k, v)| format!("{k}={v}"))
            .chain([format!("page={}", page + 1)])
            .collect();
        reply = reply.with_header(
            "Link",
            &format!("<{}?{}>; rel=\"next\"", req.path, q.join("&")),
        );
    }
    reply
}

pub struct Sandbox {
    pub url: String,
    /// where the bare git repositories live: `<dir>/<owner>/<repo>.git`
    pub dir: PathBuf,
    pub state: Arc<Mutex<Forge>>,
}

/// Start the sandbox on `addr` (loopback only) in background threads.
pub fn start(addr: &str, seed: Option<Seed>, dir: Option<PathBuf>) -> anyhow::Result<Sandbox> {
    let sa: SocketAddr = addr.parse().map_err(|_| {
        anyhow::anyhow!("sandbox: \"{addr}\" is not an address such as 127.0.0.1:0")
    })?;
    if !sa.ip().is_loopback() {
        anyhow::bail!(
            "sandbox: {addr} is not a loopback address; the sandbox only listens on loopback"
        );
    }
    let listener = TcpListener::bind(sa)
        .map_err(|e| anyhow::anyhow!("sandbox: cannot listen on {addr}: {e}"))?;
    let url = format!("http://{}", listener.local_addr()?);
    let dir = match dir {
        Some(d) => d,
        None => std::env::temp_dir().join(format!(
            "afk-sandbox-{}-{}",
            std::process::id(),
            listener.local_addr()?.port()
        )),
    };
    std::fs::create_dir_all(&dir)
        .map_err(|e| anyhow::anyhow!("sandbox: cannot create {}: {e}", dir.display()))?;
    let dir = dir.canonicalize()?;
    let mut forge = Forge::new(url.clone(), dir.clone());
    if let Some(s) = seed {
        forge
            .seed(s)
            .map_err(|e| anyhow::anyhow!("sandbox: seed: {e}"))?;
    }
    let state = Arc::new(Mutex::new(forge));
    let st = state.clone();
    let handler: http::Handler = Arc::new(move |req| handle(&st, req));
    std::thread::spawn(move || http::serve(listener, handler));
    Ok(Sandbox { url, dir, state })
}

fn handle(st: &Arc<Mutex<Forge>>, req: Request) -> Reply {
    if let Some(rest) = req.path.strip_prefix("/_admin") {
        return admin(st, rest.to_string(), &req);
    }
    if let Some(name) = req.path.strip_prefix("/_hooks/") {
        // a webhook receiver (Slack-style and generic) for notifier tests
        let mut f = st.lock().unwrap();
        if f.hook_failures > 0 {
            f.hook_failures -= 1;
            return err(500, "injected webhook failure");
        }
        let body = req.json().unwrap_or(Value::Null);
        f.hooks.push(json!({"hook": name, "body": body}));
        return Reply::Send {
            status: 200,
            headers: vec![("Content-Type".into(), "text/plain".into())],
            body: b"ok".to_vec(),
        };
    }
    let agent_service = req.path.starts_with("/agent/");
    let api_path = if agent_service {
        req.path.clone()
    } else {
        match req.path.strip_prefix("/api/v1") {
            Some(p) => p.to_string(),
            None => return err(404, "not found"),
        }
    };
    // log first, then faults, then the answer
    let (fault, latency) = {
        let mut f = st.lock().unwrap();
        let body = req.json().unwrap_or_else(|| {
            if req.body.is_empty() {
                Value::Null
            } else {
                json!(String::from_utf8_lossy(&req.body))
            }
        });
        f.log.push(
            json!({"method": req.method, "path": api_path, "query": req.raw_query, "body": body}),
        );
        let mut hit = None;
        for fault in f.faults.iter_mut() {
            let m = fault
                .method
                .as_ref()
                .is_none_or(|m| m.eq_ignore_ascii_case(&req.method));
            let p = fault
                .path
                .as_ref()
                .is_none_or(|p| api_path.contains(p.as_str()));
            let left = fault.times.is_none_or(|t| t > 0);
            if m && p && left {
                if let Some(t) = fault.times.as_mut() {
                    *t -= 1;
                }
                hit = Some(fault.clone());
                break;
            }
        }
        (hit, f.latency_ms)
    };
    let extra = fault.as_ref().and_then(|f| f.latency_ms).unwrap_or(0);
    if latency + extra > 0 {
        std::thread::sleep(Duration::from_millis(latency + extra));
    }
    if let Some(f) = fault {
        if f.hang {
            std::thread::sleep(Duration::from_secs(120));
            return Reply::Drop;
        }
        if f.drop {
            return Reply::Drop;
        }
        if f.malformed {
            return Reply::Send {
                status: 200,
                headers: vec![],
                body: b"{\"id\": 1, \"broken\": [".to_vec(),
            };
        }
        if let Some(s) = f.status {
            let mut r = err(s, "injected fault");
            if let Some(ra) = f.retry_after {
                r = r.with_header("Retry-After", &ra.to_string());
            }
            return r;
        }
    }
    let mut f = st.lock().unwrap();
    let auth = req.header("authorization").unwrap_or("");
    if agent_service {
        if auth != format!("Bearer {AGENT_TOKEN}") {
            return err(401, "bearer token required");
        }
        return agent_api(&mut f, &req, &api_path);
    }
    let tok = auth
        .strip_prefix("token ")
        .or_else(|| auth.strip_prefix("Bearer "))
        .unwrap_or("");
    if tok != f.token {
        return err(401, "token is required");
    }
    api(&mut f, &req, &api_path)
}

fn api(f: &mut Forge, req: &Request, path: &str) -> Reply {
    let seg: Vec<&str> = path.trim_matches('/').split('/').collect();
    let m = req.method.as_str();
    match (m, seg.as_slice()) {
        ("GET", ["version"]) => return Reply::json(200, &json!({"version": "1.22.0+afk-sandbox"})),
        ("GET", ["user"]) => return Reply::json(200, &user(&f.me)),
        _ => {}
    }
    let ["repos", owner, name, rest @ ..] = seg.as_slice() else {
        return err(404, "not found");
    };
    let full = format!("{owner}/{name}");
    let Some(repo) = f.repos.get(&full) else {
        return err(404, "repository does not exist");
    };
    if let Some(to) = &repo.renamed_to {
        let new_path = format!("/api/v1/repos/{to}/{}", rest.join("/"));
        return Reply::json(301, &json!({"full_name": to}))
            .with_header("Location", new_path.trim_end_matches('/'));
    }
    let base = f.base.clone();
    match (m, rest) {
        ("GET", []) => {
            let (o, n) = full.split_once('/').unwrap();
            Reply::json(
                200,
                &json!({"id": repo.id, "name": n, "full_name": full, "owner": user(o),
                "html_url": format!("{base}/{full}"), "default_branch": "main", "private": false,
                "internal_tracker": {"enable_issue_dependencies": repo.deps_enabled},
                "clone_url": f.git_dir(&full).to_string_lossy()}),
            )
        }
        ("GET", ["issues"]) => {
            let state = req.q("state").unwrap_or("open");
            let kind = req.q("type").unwrap_or("");
            // like Gitea: label names that do not exist are dropped from the filter
            let wanted: Vec<i64> = req
                .q("labels")
                .unwrap_or("")
                .split(',')
                .filter(|s| !s.is_empty())
                .filter_map(|n| repo.labels.iter().find(|(_, l)| l == n).map(|(id, _)| *id))
                .collect();
            let items: Vec<Value> = repo
                .issues
                .values()
                .rev()
                .filter(|i| state == "all" || i.state == state)
                .filter(|i| match kind {
                    "issues" => !i.pull,
                    "pulls" => i.pull,
                    _ => true,
                })
                .filter(|i| wanted.iter().all(|w| i.labels.contains(w)))
                .map(|i| f.issue_json(repo, i))
                .collect();
            paged(req, items)
        }
        ("GET", ["pulls"]) => {
            let state = req.q("state").unwrap_or("open");
            let items: Vec<Value> = repo
                .issues
                .values()
                .rev()
                .filter(|i| i.pull && (state == "all" || i.state == state))
                .map(|i| f.pr_json(repo, i))
                .collect();
            paged(req, items)
        }
        ("GET", ["pulls", idx]) => {
            let Ok(n) = idx.parse::<u64>() else {
                return err(404, "not found");
            };
            match repo.issues.get(&n).filter(|i| i.pull) {
                Some(i) => Reply::json(200, &f.pr_json(repo, i)),
                None => err(404, "pull request does not exist"),
            }
        }
        ("POST", ["pulls"]) => {
            let b = req.json().unwrap_or(Value::Null);
            let (Some(head), Some(title)) = (b["head"].as_str(), b["title"].as_str()) else {
                return err(422, "head and title are required");
            };
            if git::head(&f.git_dir(&full), head).is_none() {
                return err(422, "head branch does not exist");
            }
            if repo
                .issues
                .values()
                .any(|i| i.pull && i.state == "open" && i.head.as_deref() == Some(head))
            {
                return err(409, "pull request already exists for these targets");
            }
            let me = f.me.clone();
            let seed = SeedIssue {
                title: title.to_string(),
                body: b["body"].as_str().unwrap_or("").to_string(),
                author: Some(me),
                pull: true,
                head: Some(head.to_string()),
                ..Default::default()
            };
            match f.add_issue(&full, seed) {
                Ok(n) => {
                    let r = &f.repos[&full];
                    Reply::json(201, &f.pr_json(r, &r.issues[&n]))
                }
                Err(e) => err(422, &e),
            }
        }
        ("GET", ["commits", reference, "status"]) => {
            let sha =
                git::head(&f.git_dir(&full), reference).unwrap_or_else(|| reference.to_string());
            Reply::json(200, &f.combined(&full, &sha))
        }
        ("GET", ["statuses", sha]) => {
            let items = f
                .statuses
                .get(&(full.clone(), sha.to_string()))
                .cloned()
                .unwrap_or_default();
            paged(req, items.into_iter().rev().collect())
        }
        ("POST", ["statuses", sha]) => {
            let sha = sha.to_string();
            match f.add_status(&full, &sha, &req.json().unwrap_or(Value::Null)) {
                Ok(v) => Reply::json(201, &v),
                Err(e) => err(422, &e),
            }
        }
        ("GET", ["labels"]) => {
            let items = repo
                .labels
                .iter()
                .map(|(id, n)| label_json(&base, &full, *id, n))
                .collect();
            paged(req, items)
        }
        ("POST", ["labels"]) => {
            let Some(n) = req
                .json()
                .and_then(|v| v["name"].as_str().map(str::to_string))
            else {
                return err(422, "name is required");
            };
            if repo.labels.iter().any(|(_, l)| *l == n) {
                return err(409, "label exists");
            }
            let id = f.id();
            f.repos.get_mut(&full).unwrap().labels.push((id, n.clone()));
            Reply::json(201, &label_json(&base, &full, id, &n))
        }
        ("GET", ["collaborators", who, "permission"]) => {
            if !repo.permission_lookup {
                return err(403, "user is not an admin of this repository");
            }
            match repo.collaborators.get(*who) {
                Some(p) => Reply::json(
                    200,
                    &json!({"permission": p, "role_name": p, "user": user(who)}),
                ),
                None => err(404, "user is not a collaborator"),
            }
        }
        ("DELETE", ["issues", "comments", id]) => {
            let Ok(id) = id.parse::<i64>() else {
                return err(404, "not found");
            };
            match f.comments.get(&id).filter(|c| c.repo == full) {
                Some(_) => {
                    f.comments.remove(&id);
                    Reply::Send {
                        status: 204,
                        headers: vec![],
                        body: vec![],
                    }
                }
                None => err(404, "comment does not exist"),
            }
        }
        ("PATCH", ["issues", "comments", id]) | ("GET", ["issues", "comments", id]) => {
            let Ok(id) = id.parse::<i64>() else {
                return err(404, "not found");
            };
            let me = f.me.clone();
            let Some(c) = f.comments.get_mut(&id).filter(|c| c.repo == full) else {
                return err(404, "comment does not exist");
            };
            if m == "PATCH" {
                let Some(b) = req
                    .json()
                    .and_then(|v| v["body"].as_str().map(str::to_string))
                else {
                    return err(422, "body is required");
                };
                c.body = b;
                let _ = me;
            }
            Reply::json(200, &comment_json(&base, c))
        }
        (_, ["issues", idx, tail @ ..]) => {
            let Ok(n) = idx.parse::<u64>() else {
                return err(404, "not found");
            };
            if !repo.issues.contains_key(&n) {
                return err(404, "issue does not exist");
            }
            issue_api(f, req, &full, n, tail)
        }
        _ => err(404, "not found"),
    }
}

/// A small agent-thread service (SPEC 5.3) for the http runner's tests: threads
/// are created and messaged through the API and driven through the admin API.
fn agent_api(f: &mut Forge, req: &Request, path: &str) -> Reply {
    let seg: Vec<&str> = path.trim_matches('/').split('/').collect();
    match (req.method.as_str(), seg.as_slice()) {
        ("POST", ["agent", "threads"]) => {
            let b = req.json().unwrap_or(Value::Null);
            if b["repo"].as_str().is_none() || b["prompt"].as_str().is_none() {
                return err(422, "repo and prompt are required");
            }
            let id = format!("t{}", f.id());
            let mut t = b.clone();
            t["id"] = json!(id);
            t["status"] = json!("running");
            t["messages"] = json!([]);
            t["updated_at"] = json!(TS);
            f.threads.insert(id.clone(), t);
            Reply::json(201, &json!({"id": id}))
        }
        ("POST", ["agent", "threads", id, "messages"]) => {
            let Some(text) = req
                .json()
                .and_then(|v| v["text"].as_str().map(str::to_string))
            else {
                return err(422, "text is required");
            };
            match f.threads.get_mut(*id) {
                Some(t) => {
                    t["messages"].as_array_mut().unwrap().push(json!(text));
                    t["status"] = json!("running");
                    Reply::json(201, &json!({"ok": true}))
                }
                None => err(404, "no such thread"),
            }
        }
        ("GET", ["agent", "threads", id]) => match f.threads.get(*id) {
            Some(t) => Reply::json(
                200,
                &json!({"status": t["status"], "phase": t["phase"], "updated_at": t["updated_at"]}),
            ),
            None => err(404, "no such thread"),
        },
        _ => err(404, "not found"),
    }
}

fn comment_json(base: &str, c: &Comment) -> Value {
    json!({"id": c.id, "body": c.body, "user": user(&c.user), "created_at": TS, "updated_at": TS,
           "html_url": format!("{base}/{}/issues/{}#issuecomment-{}", c.repo, c.issue, c.id),
           "issue_url": format!("{base}/{}/issues/{}", c.repo, c.issue), "pull_request_url": "",
           "assets": [], "original_author": "", "original_author_id": 0})
}

fn issue_api(f: &mut Forge, req: &Request, full: &str, n: u64, tail: &[&str]) -> Reply {
    let m = req.method.as_str();
    let base = f.base.clone();
    let me = f.me.clone();
    match (m, tail) {
        ("GET", []) => {
            let r = &f.repos[full];
            Reply::json(200, &f.issue_json(r, &r.issues[&n]))
        }
        ("PATCH", []) => {
            let b = req.json().unwrap_or(Value::Null);
            let r = f.repos.get_mut(full).unwrap();
            let i = r.issues.get_mut(&n).unwrap();
            if let Some(st) = b["state"].as_str() {
                if st != "open" && st != "closed" {
                    return err(422, "state must be open or closed");
                }
                i.state = st.to_string();
            }
            if let Some(t) = b["title"].as_str() {
                i.title = t.to_string();
            }
            let r = &f.repos[full];
            Reply::json(201, &f.issue_json(r, &r.issues[&n]))
        }
        ("GET", ["timeline"]) => {
            let r = &f.repos[full];
            let mut items: Vec<Value> = r.issues[&n].timeline.clone();
            for c in f
                .comments
                .values()
                .filter(|c| c.repo == full && c.issue == n)
            {
                items.push(json!({
                    "id": c.id, "type": "comment", "body": c.body, "user": user(&c.user),
                    "created_at": TS, "updated_at": TS,
                    "html_url": format!("{base}/{}/issues/{}#issuecomment-{}", c.repo, c.issue, c.id),
                    "issue_url": format!("{base}/{}/issues/{}", c.repo, c.issue),
                    "pull_request_url": "",
                }));
            }
            items.sort_by_key(|v| v["id"].as_i64().unwrap_or(0));
            paged(req, items)
        }
        ("GET", ["dependencies"]) => {
            let r = &f.repos[full];
            if !r.deps_enabled {
                return err(404, "dependencies are disabled for this repository");
            }
            let items = r.issues[&n]
                .deps
                .iter()
                .filter_map(|d| r.issues.get(d))
                .map(|i| f.issue_json(r, i))
                .collect();
            paged(req, items)
        }
        ("GET", ["labels"]) => {
            let r = &f.repos[full];
            let v = f.issue_json(r, &r.issues[&n]);
            Reply::json(200, &v["labels"])
        }
        ("POST", ["labels"]) => {
            let ids: Vec<i64> = req
                .json()
                .and_then(|v| v["labels"].as_array().cloned())
                .unwrap_or_default()
                .iter()
                .filter_map(|x| x.as_i64())
                .collect();
            let names: Vec<String> = {
                let r = &f.repos[full];
                ids.iter()
                    .filter_map(|id| {
                        r.labels
                            .iter()
                            .find(|(l, _)| l == id)
                            .map(|(_, n)| n.clone())
                    })
                    .collect()
            };
            if names.len() != ids.len() || ids.is_empty() {
                return err(422, "label does not exist");
            }
            for name in names {
                let _ = f.label(full, n, &name, &me, true);
            }
            let r = &f.repos[full];
            let v = f.issue_json(r, &r.issues[&n]);
            Reply::json(200, &v["labels"])
        }
        ("DELETE", ["labels", id]) => {
            let Ok(id) = id.parse::<i64>() else {
                return err(404, "not found");
            };
            let name = f.repos[full]
                .labels
                .iter()
                .find(|(l, _)| *l == id)
                .map(|(_, n)| n.clone());
            let Some(name) = name else {
                return err(404, "label does not exist");
            };
            let _ = f.label(full, n, &name, &me, false);
            Reply::Send {
                status: 204,
                headers: vec![],
                body: vec![],
            }
        }
        ("GET", ["comments"]) => {
            let items: Vec<Value> = f
                .comments
                .values()
                .filter(|c| c.repo == full && c.issue == n)
                .map(|c| comment_json(&base, c))
                .collect();
            Reply::json(200, &Value::Array(items))
        }
        ("POST", ["comments"]) => {
            let Some(b) = req
                .json()
                .and_then(|v| v["body"].as_str().map(str::to_string))
            else {
                return err(422, "body is required");
            };
            let id = f.id();
            let c = Comment {
                id,
                repo: full.to_string(),
                issue: n,
                body: b,
                user: me,
            };
            let v = comment_json(&base, &c);
            f.comments.insert(id, c);
            Reply::json(201, &v)
        }
        _ => err(404, "not found"),
    }
}

fn admin(st: &Arc<Mutex<Forge>>, path: String, req: &Request) -> Reply {
    let mut f = st.lock().unwrap();
    let body = req.json().unwrap_or(Value::Null);
    match (req.method.as_str(), path.as_str()) {
        ("GET", "/health") => Reply::json(200, &json!({"ok": true})),
        ("POST", "/seed") => match serde_json::from_value::<Seed>(body) {
            Ok(s) => match f.seed(s) {
                Ok(()) => Reply::json(200, &json!({"ok": true})),
                Err(e) => err(400, &e),
            },
            Err(e) => err(400, &format!("seed: {e}")),
        },
        ("POST", "/issues") => {
            let repo = body["repo"].as_str().unwrap_or("").to_string();
            match serde_json::from_value::<SeedIssue>(
                body.get("issue").cloned().unwrap_or(Value::Null),
            )
            .map_err(|e| e.to_string())
            .and_then(|i| f.add_issue(&repo, i))
            {
                Ok(n) => Reply::json(201, &json!({"number": n})),
                Err(e) => err(400, &e),
            }
        }
        ("POST", "/label") => {
            let repo = body["repo"].as_str().unwrap_or("");
            let issue = body["issue"].as_u64().unwrap_or(0);
            let label = body["label"].as_str().unwrap_or("");
            let by = body["by"].as_str().unwrap_or("alice");
            let add = body["add"].as_bool().unwrap_or(true);
            match f.label(repo, issue, label, by, add) {
                Ok(()) => Reply::json(200, &json!({"ok": true})),
                Err(e) => err(400, &e),
            }
        }
        ("POST", "/issue_state") => {
            let repo = body["repo"].as_str().unwrap_or("").to_string();
            let n = body["issue"].as_u64().unwrap_or(0);
            let state = body["state"].as_str().unwrap_or("closed").to_string();
            match f.repos.get_mut(&repo).and_then(|r| r.issues.get_mut(&n)) {
                Some(i) => {
                    i.state = state;
                    Reply::json(200, &json!({"ok": true}))
                }
                None => err(404, "no such issue"),
            }
        }
        ("POST", "/merge") => {
            let repo = body["repo"].as_str().unwrap_or("").to_string();
            let n = body["pr"].as_u64().unwrap_or(0);
            match f.merge(&repo, n) {
                Ok(sha) => Reply::json(200, &json!({"merge_commit_sha": sha})),
                Err(e) => err(400, &e),
            }
        }
        ("POST", "/status") => {
            let repo = body["repo"].as_str().unwrap_or("").to_string();
            let sha = match (body["sha"].as_str(), body["branch"].as_str()) {
                (Some(s), _) => Some(s.to_string()),
                (None, Some(b)) => git::head(&f.git_dir(&repo), b),
                _ => None,
            };
            let Some(sha) = sha else {
                return err(400, "give sha, or a branch that exists");
            };
            match f.add_status(&repo, &sha, &body) {
                Ok(v) => Reply::json(200, &json!({"sha": sha, "status": v})),
                Err(e) => err(400, &e),
            }
        }
        ("GET", "/hooks") => Reply::json(200, &Value::Array(f.hooks.clone())),
        ("GET", "/threads") => {
            Reply::json(200, &Value::Array(f.threads.values().cloned().collect()))
        }
        ("POST", "/thread") => {
            let id = body["id"].as_str().unwrap_or("").to_string();
            match f.threads.get_mut(&id) {
                Some(t) => {
                    if let Some(st) = body.get("status") {
                        t["status"] = st.clone();
                    }
                    if let Some(ph) = body.get("phase") {
                        t["phase"] = ph.clone();
                    }
                    t["updated_at"] = json!("2026-01-01T12:05:00+02:00");
                    Reply::json(200, &json!({"ok": true}))
                }
                None => err(404, "no such thread"),
            }
        }
        ("POST", "/hooks_fail") => {
            f.hook_failures = body["times"].as_u64().unwrap_or(1) as u32;
            Reply::json(200, &json!({"ok": true}))
        }
        ("POST", "/faults") => {
            let faults =
                serde_json::from_value::<Vec<Fault>>(body["faults"].clone()).unwrap_or_default();
            f.faults = faults;
            f.latency_ms = body["latency_ms"].as_u64().unwrap_or(0);
            Reply::json(200, &json!({"ok": true}))
        }
        ("GET", "/requests") => Reply::json(200, &Value::Array(f.log.clone())),
        ("DELETE", "/requests") => {
            f.log.clear();
            Reply::json(200, &json!({"ok": true}))
        }
        ("GET", "/state") => {
            let repos: Vec<Value> = f
                .repos
                .values()
                .map(|r| {
                    let issues: Vec<Value> = r.issues.values().map(|i| f.issue_json(r, i)).collect();
                    let comments: Vec<Value> = f
                        .comments
                        .values()
                        .filter(|c| c.repo == r.full_name)
                        .map(|c| json!({"id": c.id, "issue": c.issue, "body": c.body, "user": c.user}))
                        .collect();
                    json!({"name": r.full_name, "issues": issues, "comments": comments})
                })
                .collect();
            Reply::json(200, &json!({"repos": repos}))
        }
        _ => err(404, "unknown admin call"),
    }
}
