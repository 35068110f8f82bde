//! The admin API for tests, `/_admin/...`: seed and change the forge as people
//! would (issues, labels, states, merges, CI statuses), drive agent threads,
//! set faults, and read back what the sandbox received and holds.

use super::http::{Reply, Request};
use super::model::{COMMENT_MAX, Forge};
use super::routes::gitea::shapes;
use super::{SeedIssue, agent, err, git};
use crate::model::labels::Gap;
use serde_json::{Value, json};

/// Answer `/_admin<path>`.
pub(super) fn handle(f: &mut Forge, path: &str, req: &Request) -> Reply {
    let body = req.json().unwrap_or(Value::Null);
    // a key the call does not read is refused before anything changes: a
    // misremembered key (`user` for `by`) would otherwise run the call with
    // its default, and the test would judge afk by a world it did not ask for
    if let Some(refusal) = unread_key(&req.method, path, &body) {
        return err(400, &refusal);
    }
    if let Some(rest) = path.strip_prefix("/k8s") {
        return super::kube::admin(&mut f.kube, rest, &req.method, &body);
    }
    match (req.method.as_str(), path) {
        ("GET", "/health") => ok(),
        ("POST", "/seed") => seed(f, body),
        ("POST", "/issues") => add_issue(f, &body),
        ("POST", "/label") => label(f, &body),
        ("POST", "/issue_state") => issue_state(f, &body),
        ("POST", "/merge") => merge(f, &body),
        ("POST", "/hidden_refs") => super::routes::gitea::gaps(f, &body, Gap::Hidden),
        ("POST", "/rename") => {
            let (repo, n) = (body["repo"].as_str().unwrap_or(""), item(f, &body));
            let by = body["by"].as_str().unwrap_or("mallory");
            done(f.rename(repo, n, body["title"].as_str().unwrap_or(""), by))
        }
        // the author edits the body, stamped a minute after anything before it
        // (an `at` of the request's own is not taken: stamps only move forward)
        ("POST", "/edit") => {
            let (repo, n) = (body["repo"].as_str().unwrap_or(""), item(f, &body));
            done(f.edit_body(repo, n, body["body"].as_str().unwrap_or("")))
        }
        ("POST", "/revert") => super::revert::revert(f, &body),
        ("POST", "/status") => status(f, &body),
        ("POST", "/comment") => comment(f, &body),
        ("POST", "/ci") => done(f.set_ci(&body)),
        ("POST", "/registry") => done(f.seed_registry(&body)),
        ("GET", "/hooks") => Reply::json(200, &Value::Array(f.hooks.received.clone())),
        // the forge's own webhooks (`crate::webhooks`): where to, signed with what
        ("POST", "/webhook") => {
            // GitLab's hook as it lists it: `executable`, or disabled by
            // GitLab after failing deliveries
            if let Some(alert) = body["alert_status"].as_str() {
                f.gl.hook_alert = Some(alert.to_string());
            }
            let url = body["url"].as_str().filter(|u| !u.is_empty());
            let secret = body["secret"].as_str().map(str::to_string);
            match f.outbox.set(url.map(str::to_string), secret) {
                Ok(()) => Reply::json(200, &json!({"url": url, "secret": f.outbox.secret()})),
                Err(e) => err(400, &e),
            }
        }
        ("GET", "/webhooks") => {
            let sent = f
                .outbox
                .sent
                .lock()
                .map(|s| s.iter().cloned().collect())
                .unwrap_or_default();
            Reply::json(200, &Value::Array(sent))
        }
        ("POST", "/hooks_redirect") => {
            let to = body["to"].as_str().unwrap_or_default().to_string();
            let times = body["times"].as_u64().unwrap_or(1) as u32;
            f.hooks.redirect = Some((to, times));
            Reply::json(200, &json!({"ok": true}))
        }
        ("POST", "/hooks_fail") => {
            f.hooks.failures = body["times"].as_u64().unwrap_or(1) as u32;
            ok()
        }
        ("GET", "/threads") => {
            Reply::json(200, &Value::Array(f.threads.values().cloned().collect()))
        }
        ("POST", "/thread") => agent::drive(f, &body),
        // every git request redirected to `to` (absent or null: served again)
        ("POST", "/git_redirect") => {
            f.git_redirect = body["to"].as_str().map(str::to_string);
            ok()
        }
        // a forge stricter than GitHub: comments over `chars` characters are refused (422)
        ("POST", "/comment_max") => {
            f.comment_max = body["chars"].as_u64().map_or(COMMENT_MAX, |n| n as usize);
            ok()
        }
        ("POST", "/max_response_items") => super::routes::gitea::max_response_items(f, &body),
        ("POST", "/faults") => {
            f.faults.set(&body);
            ok()
        }
        // `?brief=1`: what the ledger check of every test's sandbox reads
        ("GET", "/requests") if req.q("brief").is_some() => Reply::json(
            200,
            &Value::Array(f.log.iter().map(crate::graphql::brief).collect()),
        ),
        ("GET", "/requests") => Reply::json(200, &Value::Array(f.log.clone())),
        // the OTLP receiver's (`otlp.rs`): what it received, its fault
        ("GET", "/otlp") => super::otlp::list(f),
        ("DELETE", "/otlp") => super::otlp::clear(f),
        ("POST", "/otlp_fault") => super::otlp::arm(f, &body),
        ("GET", "/git") => Reply::json(200, &Value::Array(f.git_log.clone())),
        // the scripted model's requests, kept apart from the forge's
        ("GET", "/model/requests") => {
            Reply::json(200, &Value::Array(f.model_log.iter().cloned().collect()))
        }
        ("DELETE", "/model/requests") => {
            f.model_log.clear();
            ok()
        }
        ("POST", "/script") => script(f, &body),
        ("DELETE", "/requests") => {
            f.log.clear();
            ok()
        }
        ("GET", "/state") => state(f),
        ("GET", "/ci/runs") => Reply::json(200, &Value::Array(f.ci_runs())),
        ("GET", p) if p.starts_with("/ci/runs/") => {
            match p["/ci/runs/".len()..]
                .parse()
                .ok()
                .and_then(|id| f.ci_run(id))
            {
                Some(run) => Reply::json(200, &run),
                None => err(404, "no such CI run"),
            }
        }
        ("POST", "/check_run") => check_run(f, &body),
        // GitLab's threads and award emoji (`routes/gitlab/admin.rs`)
        ("POST", "/discussion") => super::routes::gitlab::admin::discussion(f, &body),
        ("POST", "/discussion_note") => super::routes::gitlab::admin::discussion_note(f, &body),
        ("POST", "/resolve") if body.get("review").is_some() => super::reviews::resolve(f, &body),
        ("POST", "/resolve") => super::routes::gitlab::admin::resolve(f, &body),
        ("POST", "/award") => super::routes::gitlab::admin::award(f, &body),
        ("POST", "/milestone") => super::routes::gitlab::admin::milestone(f, &body),
        ("POST", "/merge_ref") => super::routes::gitlab::admin::merge_ref(f, &body),
        ("POST", "/react") => {
            // `{comment, user, content = "+1"}`: a person's reaction on a
            // comment, as Gitea and GitHub keep it (GitLab's is `/award`)
            let id = body["comment"].as_i64().unwrap_or(0);
            if !f.comments.contains_key(&id) {
                return err(404, "no such comment");
            }
            let user = body["user"].as_str().unwrap_or("alice").to_string();
            let (rid, _) = f.react(id, &user, body["content"].as_str().unwrap_or("+1"));
            Reply::json(201, &json!({"id": rid}))
        }
        ("POST", "/review") => super::reviews::submit(f, &body),
        ("POST", "/reply") => super::reviews::reply(f, &body),
        ("POST", "/dismiss") => super::reviews::dismiss(f, &body),
        ("POST", "/mergeable") => super::reviews::set_mergeable(f, &body),
        ("POST", "/branch_update") => super::reviews::set_next_update(f, &body),
        ("GET", "/rate_limit") => rate_limit(f),
        ("POST", "/rate_limit") => set_rate_limit(f, &body),
        ("POST", "/scopes") => {
            f.gh.scopes = body["scopes"].as_str().map(str::to_string);
            // GitLab's token also expires (`personal_access_tokens/self`)
            f.gl.token_expires = body["expires_at"].as_str().map(str::to_string);
            ok()
        }
        ("POST", "/protected_branch") => {
            // `{repo, name, push_access_level = 40}`: a GitLab branch protection rule
            let repo = body["repo"].as_str().unwrap_or("").to_string();
            let name = body["name"].as_str().unwrap_or("main").to_string();
            let level = body["push_access_level"].as_u64().unwrap_or(40);
            f.gl.protected.entry(repo).or_default().push((name, level));
            ok()
        }
        // the Azure DevOps dialect's (`routes/azure/admin.rs`)
        ("POST", "/ado/bypass") => super::routes::azure::admin::bypass(f, &body),
        ("POST", "/ado/identity") => super::routes::azure::admin::identity(f, &body),
        ("POST", "/ado/acl") => super::routes::azure::admin::acl(f, &body),
        ("POST", "/ado/comment") => super::routes::azure::admin::comment(f, &body),
        ("POST", "/ado/vote") => super::routes::azure::admin::vote(f, &body),
        ("POST", "/ado/thread") => super::routes::azure::admin::thread(f, &body),
        ("POST", "/ado/merge_status") => super::routes::azure::admin::merge_status(f, &body),
        ("POST", "/ado/ref_verdict") => super::routes::azure::admin::ref_verdict(f, &body),
        ("POST", "/ado/merge_hold") => super::routes::azure::admin::merge_hold(f, &body),
        ("POST", "/ado/evaluation") => super::routes::azure::admin::evaluation(f, &body),
        ("POST", "/ado/pr_status") => super::routes::azure::admin::pr_status(f, &body),
        ("POST", "/ado/complete") => super::routes::azure::admin::complete(f, &body),
        ("POST", "/ado/page_size") => super::routes::azure::admin::page_size(f, &body),
        ("POST", "/ado/throttle") => super::routes::azure::admin::throttle(f, &body),
        ("POST", "/ado/redeliver") => super::routes::azure::admin::redeliver(f, &body),
        ("POST", "/ado/bulk") => super::routes::azure::admin::bulk(f, &body),
        ("POST", "/ado/markdown") => super::routes::azure::admin::markdown(f, &body),
        ("POST", "/gitea/org-label") => super::routes::gitea::org_label(f, &body),
        ("POST", "/gitea/broken") => super::routes::gitea::gaps(f, &body, Gap::Null),
        ("POST", "/gitea/depend") => super::routes::gitea::depend(f, &body),
        ("POST", "/gitea/hooks") => super::routes::gitea::hooks_kept(f, &body),
        ("POST", "/ado/race") => super::routes::azure::admin::race(f, &body),
        (_, p) if p == "/app" || p.starts_with("/app/") => {
            super::routes::github::app::admin(f, req, &p["/app".len()..])
        }
        _ => err(404, "unknown admin call"),
    }
}

/// The top-level keys of its JSON body each admin call reads (separated by
/// spaces): its handler's and those of every helper it passes the body on
/// to, defaults and alternatives (`issue` or `pr`, `user` or `by`) among
/// them. [`handle`] refuses a body with any other key ([`unread_key`]). A
/// call whose body takes two shapes lists both shapes' keys: `/resolve`
/// (`review` on any forge, GitLab's `discussion`) and `/ci` (a responder, or
/// a `command`, each of which refuses the other's fields itself). Not
/// listed, so not checked: `POST /seed`, which takes a whole seed document
/// (its own parsing refuses a field it does not know), and the GET and
/// DELETE calls, which read no body.
const TAKES: &[(&str, &str, &str)] = &[
    ("POST", "/issues", "repo issue"),
    ("POST", "/label", "repo issue label by add org"),
    ("POST", "/issue_state", "repo issue pr state"),
    ("POST", "/merge", "repo pr by delete_branch"),
    ("POST", "/rename", "repo issue pr title by"),
    ("POST", "/hidden_refs", "repo issue count"),
    ("POST", "/edit", "repo issue pr body"),
    ("POST", "/revert", "repo sha branch message by"),
    (
        "POST",
        "/status",
        "repo sha branch state context target_url description",
    ),
    ("POST", "/comment", "repo issue pr body user by"),
    (
        "POST",
        "/ci",
        "repo trigger context states tests command timeout",
    ),
    (
        "POST",
        "/registry",
        "images auth credentials page_size created indexes",
    ),
    ("POST", "/webhook", "url secret alert_status"),
    ("POST", "/hooks_redirect", "to times"),
    ("POST", "/hooks_fail", "times"),
    ("POST", "/thread", "id status phase cost_usd blocked"),
    ("POST", "/git_redirect", "to"),
    ("POST", "/comment_max", "chars"),
    ("POST", "/max_response_items", "items"),
    ("POST", "/faults", "faults latency_ms"),
    ("POST", "/otlp_fault", "status retry_after hang times"),
    ("POST", "/script", "repo issue steps turns"),
    (
        "POST",
        "/check_run",
        "repo sha branch name status conclusion html_url details_url",
    ),
    (
        "POST",
        "/discussion",
        "repo issue pr body user by resolvable path line",
    ),
    ("POST", "/discussion_note", "discussion body user by"),
    ("POST", "/resolve", "review discussion resolved user by"),
    ("POST", "/award", "note name user by remove"),
    ("POST", "/react", "comment user content"),
    ("POST", "/review", "repo pr user state body commit comments"),
    ("POST", "/reply", "review user body"),
    ("POST", "/dismiss", "review user"),
    ("POST", "/mergeable", "repo pr mergeable"),
    ("POST", "/branch_update", "repo pr outcome"),
    ("POST", "/rate_limit", "limit remaining reset used status"),
    ("POST", "/scopes", "scopes expires_at"),
    ("POST", "/milestone", "repo issue title user after kind"),
    ("POST", "/merge_ref", "repo pr"),
    ("POST", "/protected_branch", "repo name push_access_level"),
    // the Azure DevOps dialect's (`routes/azure/admin.rs`)
    (
        "POST",
        "/ado/bypass",
        "repo issue item by as fields add_tags",
    ),
    ("POST", "/ado/identity", "name kind active members"),
    (
        "POST",
        "/ado/acl",
        "namespace token repo project who allow deny",
    ),
    (
        "POST",
        "/ado/comment",
        "repo issue item by text on_behalf comment",
    ),
    ("POST", "/ado/vote", "pr by vote system_comment"),
    (
        "POST",
        "/ado/thread",
        "pr by text status path line type thread comment deleted",
    ),
    ("POST", "/ado/merge_status", "pr status next"),
    ("POST", "/ado/ref_verdict", "status"),
    ("POST", "/ado/merge_hold", "hold"),
    (
        "POST",
        "/ado/evaluation",
        "pr status name kind expired result",
    ),
    (
        "POST",
        "/ado/pr_status",
        "pr state genre name description target_url by iteration",
    ),
    ("POST", "/ado/complete", "pr by close_items"),
    ("POST", "/ado/page_size", "size"),
    ("POST", "/ado/throttle", "delay"),
    ("POST", "/ado/redeliver", "event notification"),
    ("POST", "/ado/bulk", "repo count tags first by"),
    ("POST", "/ado/markdown", "repo issue item"),
    ("POST", "/gitea/org-label", "repo label beside"),
    ("POST", "/gitea/broken", "repo issue count"),
    ("POST", "/gitea/depend", "repo issue on hidden"),
    ("POST", "/gitea/hooks", "others org"),
    (
        "POST",
        "/ado/race",
        "repo issue item by add_tags fields times",
    ),
    // the GitHub App's (`routes/github/app.rs`)
    (
        "POST",
        "/app",
        "key_file id slug installation_id account lifetime clock_offset repos",
    ),
    ("POST", "/app/revoke", ""),
    // the Kubernetes API's (`kube::admin`)
    ("POST", "/k8s/deny", "verb resource"),
    ("POST", "/k8s/allow", "verb resource"),
    ("POST", "/k8s/delete_pod", "job"),
    ("POST", "/k8s/expire", "name"),
    ("POST", "/k8s/namespace", "name"),
    ("POST", "/k8s/bad_image", "image"),
    ("POST", "/k8s/secret", "name data"),
];

/// The refusal of a body with a key the call `method path` does not read:
/// the first such key, and the keys the call takes. None: every key is
/// read, the body is no JSON object, or the call is not in [`TAKES`].
fn unread_key(method: &str, path: &str, body: &Value) -> Option<String> {
    let (_, _, takes) = TAKES.iter().find(|(m, p, _)| *m == method && *p == path)?;
    let takes: Vec<&str> = takes.split_whitespace().collect();
    let key = body
        .as_object()?
        .keys()
        .find(|k| !takes.contains(&k.as_str()))?;
    let takes = if takes.is_empty() {
        "no keys".to_string()
    } else {
        takes.join(", ")
    };
    Some(format!(
        "unknown key {key:?} for {method} /_admin{path}: it takes {takes}"
    ))
}

/// Keep a forge or agent-service request in the log `/_admin/requests` reads:
/// `{method, path, query, body, auth, at_ms}`, the body as JSON when it is
/// JSON, `auth` what [`auth_seen`] keeps of its credential; `status`
/// is added once answered ([`note_status`]). Returns its place in the log.
pub(super) fn record(f: &mut Forge, req: &Request, path: &str) -> usize {
    let body = req.json().unwrap_or_else(|| {
        if req.body.is_empty() {
            Value::Null
        } else {
            json!(String::from_utf8_lossy(&req.body))
        }
    });
    // when it came, in milliseconds since the epoch: how a test sees a wait
    let at_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    f.log.push(
        json!({"method": req.method, "path": path, "query": req.raw_query, "body": body,
        "auth": auth_seen(req), "at_ms": at_ms}),
    );
    f.log.len() - 1
}

/// What a request's `Authorization` header said, never its secret: its
/// scheme, and for Basic the user name (an Azure DevOps PAT goes with an
/// empty one: `{"scheme": "Basic", "user": ""}`; `user` null when the
/// credentials do not decode); null without the header. Kept in the API's
/// log and git's, so a test sees how a credential was sent, never what.
pub(super) fn auth_seen(req: &Request) -> Value {
    let Some(h) = req.header("authorization").map(str::trim) else {
        return Value::Null;
    };
    let (scheme, rest) = h.split_once(' ').unwrap_or((h, ""));
    if scheme.eq_ignore_ascii_case("basic") {
        let user = super::http::base64_decode(rest.trim())
            .and_then(|up| up.split_once(':').map(|(u, _)| u.to_string()));
        json!({"scheme": "Basic", "user": user})
    } else {
        json!({"scheme": scheme})
    }
}

/// The status the request at `entry` was answered with (a 304 is how a test
/// sees a conditional GET that cost nothing). A log cleared meanwhile is left alone.
pub(super) fn note_status(f: &mut Forge, entry: usize, status: u16) {
    if let Some(e) = f.log.get_mut(entry) {
        e["status"] = json!(status);
    }
}

/// A check run on a commit: `{repo, sha | branch, name, status = completed,
/// conclusion, html_url, details_url}` -> `{sha, id}`.
fn check_run(f: &mut Forge, body: &Value) -> Reply {
    let repo = body["repo"].as_str().unwrap_or("");
    let sha = match (body["sha"].as_str(), body["branch"].as_str()) {
        (Some(s), _) => Some(s.to_string()),
        (None, Some(b)) => git::head(&f.git_dir(repo), b),
        _ => None,
    };
    let Some(sha) = sha else {
        return err(400, "give sha, or a branch that exists");
    };
    match f.push_check_run(repo, &sha, body) {
        Ok(id) => Reply::json(200, &json!({"sha": sha, "id": id})),
        Err(e) => err(400, &e),
    }
}

fn rate_limit(f: &Forge) -> Reply {
    let r = &f.gh.rate;
    Reply::json(
        200,
        &json!({"limit": r.limit, "remaining": r.remaining, "reset": r.reset, "used": r.used, "status": r.status}),
    )
}

/// Set GitHub's rate limit: `{remaining, limit, reset, used, status}`, each
/// optional (`remaining: 0` spends it; `status` 403 or 429 is what a spent
/// limit answers).
fn set_rate_limit(f: &mut Forge, body: &Value) -> Reply {
    let r = &mut f.gh.rate;
    if let Some(v) = body["limit"].as_u64() {
        r.limit = v;
    }
    if let Some(v) = body["remaining"].as_u64() {
        r.remaining = v;
    }
    if let Some(v) = body["reset"].as_u64() {
        r.reset = v;
    }
    if let Some(v) = body["used"].as_u64() {
        r.used = v;
    }
    if let Some(v) = body["status"].as_u64() {
        r.status = if v == 429 { 429 } else { 403 };
    }
    rate_limit(f)
}

fn ok() -> Reply {
    Reply::json(200, &json!({"ok": true}))
}

/// [`ok`], or the model's refusal as a 400.
fn done(r: Result<(), String>) -> Reply {
    r.map_or_else(|e| err(400, &e), |()| ok())
}

fn seed(f: &mut Forge, body: Value) -> Reply {
    match serde_json::from_value(body) {
        Ok(s) => match f.seed(s) {
            Ok(()) => ok(),
            Err(e) => err(400, &e),
        },
        Err(e) => err(400, &format!("seed: {e}")),
    }
}

/// `{repo, issue: SeedIssue}` -> `{number}`
fn add_issue(f: &mut Forge, body: &Value) -> Reply {
    let repo = body["repo"].as_str().unwrap_or("");
    match serde_json::from_value::<SeedIssue>(body.get("issue").cloned().unwrap_or(Value::Null))
        .map_err(|e| e.to_string())
        .and_then(|i| f.add_issue(repo, i))
    {
        Ok(n) => Reply::json(201, &json!({"number": Forge::shown(n)})),
        Err(e) => err(400, &e),
    }
}

/// `{repo, issue, label, by = alice, add = true, org}` (`org`: the owner's
/// organisation label of that name, or with `false` the repository's)
fn label(f: &mut Forge, body: &Value) -> Reply {
    let repo = body["repo"].as_str().unwrap_or("");
    let issue = body["issue"].as_u64().unwrap_or(0);
    let label = body["label"].as_str().unwrap_or("");
    let by = body["by"].as_str().unwrap_or("alice");
    let add = body["add"].as_bool().unwrap_or(true);
    match f.label_of(repo, issue, label, by, add, body["org"].as_bool()) {
        Ok(()) => ok(),
        Err(e) => err(400, &e),
    }
}

/// `{repo, issue | pr, state = closed}`
fn issue_state(f: &mut Forge, body: &Value) -> Reply {
    let repo = body["repo"].as_str().unwrap_or("");
    let n = item(f, body);
    let state = body["state"].as_str().unwrap_or("closed");
    match f.repos.get_mut(repo).and_then(|r| r.issues.get_mut(&n)) {
        Some(i) => {
            i.set_state(state);
            ok()
        }
        None => err(404, "no such issue"),
    }
}

/// `{repo, pr, by?}` -> `{merge_commit_sha}`: `by` is the account that
/// merges (the merge commit is theirs); none: the sandbox itself.
fn merge(f: &mut Forge, body: &Value) -> Reply {
    let repo = body["repo"].as_str().unwrap_or("");
    let n = f.pr_key(body["pr"].as_u64().unwrap_or(0));
    let delete = body["delete_branch"].as_bool().unwrap_or(false);
    match f.merge_by(repo, n, body["by"].as_str(), delete) {
        Ok(sha) => Reply::json(200, &json!({"merge_commit_sha": sha})),
        Err(e) => err(400, &e),
    }
}

/// A CI status, `{repo, sha | branch, state, context, ...}` -> `{sha, status}`
fn status(f: &mut Forge, body: &Value) -> Reply {
    let repo = body["repo"].as_str().unwrap_or("");
    let sha = match (body["sha"].as_str(), body["branch"].as_str()) {
        (Some(s), _) => Some(s.to_string()),
        (None, Some(b)) => git::head(&f.git_dir(repo), b),
        _ => None,
    };
    let Some(sha) = sha else {
        return err(400, "give sha, or a branch that exists");
    };
    match f.add_status(repo, &sha, body) {
        Ok(v) => Reply::json(200, &json!({"sha": sha, "status": v})),
        Err(e) => err(400, &e),
    }
}

/// The item a call names: `issue` (a pull request too where they share one
/// numbering), or `pr` (a merge request's own number where GitLab's are apart).
fn item(f: &Forge, body: &Value) -> u64 {
    match body["pr"].as_u64() {
        Some(pr) => f.pr_key(pr),
        None => body["issue"].as_u64().unwrap_or(0),
    }
}

/// A comment by anyone, `{repo, issue | pr, body, user = alice}` -> `{id, created_at}`
fn comment(f: &mut Forge, body: &Value) -> Reply {
    let repo = body["repo"].as_str().unwrap_or("");
    let n = item(f, body);
    let user = body["user"]
        .as_str()
        .or(body["by"].as_str())
        .unwrap_or("alice")
        .to_string();
    match f.add_comment(repo, n, body["body"].as_str().unwrap_or(""), &user) {
        Ok((id, at)) => Reply::json(201, &json!({"id": id, "created_at": at})),
        Err(e) => err(400, &e),
    }
}

/// Every repo's issues (as the Gitea API shows them) and comments, and the
/// CI's runs.
fn state(f: &Forge) -> Reply {
    let repos: Vec<Value> = f
        .repos
        .values()
        .map(|r| {
            // each item's own number (a GitLab merge request's iid)
            let issues: Vec<Value> = r
                .issues
                .values()
                .map(|i| {
                    let mut v = shapes::issue(f, r, i);
                    v["number"] = json!(Forge::shown(i.number));
                    v
                })
                .collect();
            let comments: Vec<Value> = f
                .comments
                .values()
                .filter(|c| c.repo == r.full_name)
                .map(|c| {
                    json!({"id": c.id, "issue": Forge::shown(c.issue), "pull": c.issue > super::model::gitlab::MR_KEYS,
                           "body": c.body, "user": c.user, "system": f.gl.system.contains(&c.id)})
                })
                .collect();
            json!({"name": r.full_name, "issues": issues, "comments": comments})
        })
        .collect();
    Reply::json(200, &json!({"repos": repos, "ci_runs": f.ci_runs()}))
}

/// `{repo, issue, steps}`: what the scripted model answers an agent on that
/// issue (a forge's by its number, a tracker's by its key: `PLAT-1`) from
/// now on (`model_api::Step`s).
fn script(f: &mut Forge, body: &Value) -> Reply {
    use super::model_api::tracker_key_number as key;
    let issue = (body["issue"].as_u64()).or_else(|| body["issue"].as_str().map(key));
    let (Some(repo), Some(issue)) = (body["repo"].as_str(), issue) else {
        return err(400, "need repo and issue");
    };
    // a new script's `times` count from its first asking
    let counted = format!("{repo}#{issue}/");
    f.model_asked.retain(|k, _| !k.starts_with(&counted));
    if !body["turns"].is_null() {
        return match serde_json::from_value::<Vec<Vec<super::model_api::Step>>>(
            body["turns"].clone(),
        ) {
            Ok(turns) => {
                f.turn_scripts.insert((repo.to_string(), issue), turns);
                ok()
            }
            Err(e) => err(400, &format!("turns: {e}")),
        };
    }
    match serde_json::from_value::<Vec<super::model_api::Step>>(body["steps"].clone()) {
        Ok(steps) => {
            f.turn_scripts.remove(&(repo.to_string(), issue));
            f.scripts.insert((repo.to_string(), issue), steps);
            ok()
        }
        Err(e) => err(400, &format!("steps: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `POST /_admin<path>` with `body`, as the sandbox's server hands it on.
    fn post(f: &mut Forge, path: &str, body: Value) -> (u16, Value) {
        let req = Request {
            method: "POST".into(),
            path: format!("/_admin{path}"),
            raw_path: format!("/_admin{path}"),
            query: vec![],
            raw_query: String::new(),
            headers: vec![],
            body: serde_json::to_vec(&body).unwrap(),
        };
        match handle(f, path, &req) {
            Reply::Send { status, body, .. } => {
                (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
            }
            _ => panic!("not a plain answer"),
        }
    }

    #[test]
    fn an_admin_call_refuses_a_key_it_does_not_read_naming_it() {
        let dir =
            std::env::temp_dir().join(format!("afk-sandbox-admin-keys-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let mut f = Forge::new("http://127.0.0.1:1".into(), dir.clone());
        let seed =
            json!({"repos": [{"name": "acme/web", "issues": [{"number": 2, "title": "t"}]}]});
        assert_eq!(post(&mut f, "/seed", seed).0, 200);
        // the pilot's call: `user` where the call reads `by`, refused before
        // anything changed (no label armed as the default alice)
        let (status, v) = post(
            &mut f,
            "/label",
            json!({"repo": "acme/web", "issue": 2, "label": "ready-for-agent", "user": "mallory"}),
        );
        assert_eq!(status, 400, "{v}");
        assert_eq!(
            v["message"],
            "unknown key \"user\" for POST /_admin/label: it takes repo, issue, label, by, add, org"
        );
        assert!(f.repos["acme/web"].issues[&2].labels.is_empty());
        // the same call with the key it reads: armed, by mallory
        let (status, v) = post(
            &mut f,
            "/label",
            json!({"repo": "acme/web", "issue": 2, "label": "ready-for-agent", "by": "mallory"}),
        );
        assert_eq!(status, 200, "{v}");
        let issue = &f.repos["acme/web"].issues[&2];
        assert_eq!(issue.labels.len(), 1);
        assert_eq!(
            issue.timeline.last().map(|e| e.by.as_str()),
            Some("mallory")
        );
        // a key only a helper reads is read (a comment's `by`, for `user`)
        let (status, v) = post(
            &mut f,
            "/comment",
            json!({"repo": "acme/web", "issue": 2, "body": "hi", "by": "bob"}),
        );
        assert_eq!(status, 201, "{v}");
        // the Kubernetes API's calls and the App's are checked too
        let (status, v) = post(
            &mut f,
            "/k8s/deny",
            json!({"verb": "get", "resource": "pods", "namespace": "afk"}),
        );
        assert_eq!(status, 400, "{v}");
        assert_eq!(
            v["message"],
            "unknown key \"namespace\" for POST /_admin/k8s/deny: it takes verb, resource"
        );
        let (status, v) = post(&mut f, "/app/revoke", json!({"all": true}));
        assert_eq!(status, 400, "{v}");
        assert_eq!(
            v["message"],
            "unknown key \"all\" for POST /_admin/app/revoke: it takes no keys"
        );
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn a_body_that_is_no_object_or_a_call_not_in_the_table_is_not_checked() {
        let cases = [
            (
                "POST",
                "/label",
                json!({"repo": "acme/web", "by": "alice"}),
                None,
            ),
            ("POST", "/label", json!({}), None),
            ("POST", "/label", json!(["user"]), None),
            ("POST", "/label", Value::Null, None),
            // a whole seed document: its own parsing refuses what it does not know
            ("POST", "/seed", json!({"repos": [], "anything": 1}), None),
            ("GET", "/state", json!({"user": "alice"}), None),
            (
                "POST",
                "/resolve",
                json!({"discussion": "ab", "by": "bob", "note": 1}),
                Some(
                    "unknown key \"note\" for POST /_admin/resolve: it takes review, discussion, resolved, user, by",
                ),
            ),
        ];
        for (method, path, body, want) in cases {
            assert_eq!(
                unread_key(method, path, &body).as_deref(),
                want,
                "{method} {path} {body}"
            );
        }
    }

    /// The paths of the `("POST", "<path>") =>` arms in `source`, after `prefix`.
    fn post_arms(prefix: &str, source: &str) -> Vec<String> {
        source
            .lines()
            .filter_map(|l| {
                let rest = l.trim_start().strip_prefix("(\"POST\", \"")?;
                let (path, after) = rest.split_once('"')?;
                after.starts_with(')').then(|| format!("{prefix}{path}"))
            })
            .collect()
    }

    #[test]
    fn every_admin_call_that_reads_a_body_is_in_the_table_of_keys_and_no_other() {
        let mut arms = post_arms("", include_str!("admin.rs"));
        arms.extend(post_arms("/k8s", include_str!("kube.rs")));
        arms.extend(post_arms("/app", include_str!("routes/github/app.rs")));
        arms.retain(|p| p != "/seed");
        arms.sort();
        arms.dedup();
        let mut table: Vec<String> = TAKES
            .iter()
            .map(|(m, p, _)| {
                assert_eq!(*m, "POST", "{p}");
                p.to_string()
            })
            .collect();
        table.sort();
        let before = table.len();
        table.dedup();
        assert_eq!(table.len(), before, "a call listed twice");
        assert!(arms.len() > 40, "{arms:?}");
        assert_eq!(arms, table);
    }
}
