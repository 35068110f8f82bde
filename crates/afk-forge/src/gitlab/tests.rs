//! GitLab's forge against a scripted GitLab: wire fixtures in the shapes of
//! GitLab's documentation pages and `tests/contracts/gitlab-v4-subset.json`,
//! and every request it sent checked against that contract where the
//! contract covers the operation (else against the documented paths).

use super::*;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

/// (method, path and query, body) of each request the fake saw.
type Seen = Arc<Mutex<Vec<(String, String, String)>>>;

/// An answer: status, extra header lines, body.
type Answer = (u16, String, String);

/// A one-thread HTTP server answering `route(method, path?query, body)`,
/// recording every request.
fn serve(route: impl Fn(&str, &str, &str) -> Answer + Send + 'static) -> (String, Seen) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let root = format!("http://{}/api/v4", l.local_addr().unwrap());
    let seen: Seen = Arc::default();
    let log = seen.clone();
    std::thread::spawn(move || {
        for s in l.incoming() {
            let Ok(mut s) = s else { continue };
            let mut r = BufReader::new(s.try_clone().unwrap());
            let mut first = String::new();
            if r.read_line(&mut first).is_err() {
                continue;
            }
            let mut len = 0;
            let mut token = String::new();
            loop {
                let mut h = String::new();
                if r.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
                    break;
                }
                let lower = h.to_ascii_lowercase();
                if let Some(v) = lower.strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap_or(0);
                }
                if let Some(v) = h
                    .strip_prefix("PRIVATE-TOKEN:")
                    .or(h.strip_prefix("private-token:"))
                {
                    token = v.trim().to_string();
                }
            }
            let mut body = vec![0; len];
            let _ = r.read_exact(&mut body);
            let body = String::from_utf8_lossy(&body).to_string();
            let mut parts = first.split_whitespace();
            let method = parts.next().unwrap_or("").to_string();
            let target = parts.next().unwrap_or("").to_string();
            log.lock()
                .unwrap()
                .push((method.clone(), target.clone(), body.clone()));
            let (status, headers, answer) = if token != "glpat-test" {
                (
                    401,
                    String::new(),
                    r#"{"message":"401 Unauthorized"}"#.into(),
                )
            } else {
                route(&method, &target, &body)
            };
            let _ = write!(
                s,
                "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n{headers}\r\n{answer}",
                answer.len()
            );
        }
    });
    (root, seen)
}

fn forge(root: &str) -> Gitlab {
    let http = Http::with_style(
        &crate::profile::GITLAB_API,
        root,
        "glpat-test",
        "AFK_FORGE_TOKEN",
        Duration::from_secs(5),
        0,
    );
    Gitlab::new(http)
}

fn ok(body: serde_json::Value) -> Answer {
    (200, String::new(), body.to_string())
}

fn status(code: u16, body: serde_json::Value) -> Answer {
    (code, String::new(), body.to_string())
}

const P: &str = "/api/v4/projects/acme%2Fplatform%2Fsvc";

fn repo() -> RepoName {
    RepoName::parse_for(crate::types::NameShape::Nested, "acme/platform/svc").unwrap()
}

/// The documented GitLab of these tests: a nested project, issue #3 armed
/// by alice (Developer), merge request !4 (iids apart) by afk.
fn gitlab(method: &str, target: &str, body: &str) -> Answer {
    let path = target.split('?').next().unwrap_or(target);
    let found = match path.strip_prefix(P) {
        None => instance(method, path, target),
        Some(rest) => issues(method, rest, body)
            .or_else(|| merge_requests(method, rest, body))
            .or_else(|| pipelines(method, rest)),
    };
    found.unwrap_or_else(|| status(404, json!({"message": "404 Not Found"})))
}

/// The instance outside the project: the token's user, users by name and
/// id, a project moved away (301).
fn instance(method: &str, path: &str, target: &str) -> Option<Answer> {
    Some(match (method, path) {
        ("GET", "/api/v4/user") => ok(json!({"id": 99, "username": "afk-bot", "bot": true})),
        ("GET", "/api/v4/users") if target.contains("username=bob") => ok(json!([])),
        ("GET", "/api/v4/users") if target.contains("username=carol") => {
            ok(json!([{"id": 8, "username": "Carol", "state": "active"}]))
        }
        ("GET", "/api/v4/users") if target.contains("username=dana") => {
            ok(json!([{"id": 9, "username": "dana"}]))
        }
        ("GET", "/api/v4/users") if target.contains("username=robot") => {
            ok(json!([{"id": 10, "username": "robot"}]))
        }
        ("GET", "/api/v4/users/7") => {
            ok(json!({"id": 7, "username": "alice", "state": "active", "bot": false}))
        }
        ("GET", "/api/v4/users/10") => {
            ok(json!({"id": 10, "username": "robot", "state": "active", "bot": true}))
        }
        ("GET", p) if p.starts_with("/api/v4/projects/acme%2Fold/") => (
            301,
            "Location: http://gitlab.example/api/v4/projects/42\r\n".into(),
            String::new(),
        ),
        _ => return None,
    })
}

/// The project's issues: #3 (its events, notes, links), its members, labels.
fn issues(method: &str, rest: &str, body: &str) -> Option<Answer> {
    Some(match (method, rest) {
        ("GET", "/issues") => ok(json!([
            {"id": 1003, "iid": 3, "project_id": 42, "title": "Fix it", "description": "Blocked by #1",
             "state": "opened", "labels": ["ready", "bug"], "web_url": "http://gl/acme/platform/svc/-/issues/3",
             "author": {"id": 7, "username": "alice"}, "updated_at": "2026-01-01T10:00:05.000Z",
             "references": {"short": "#3", "relative": "#3", "full": "acme/platform/svc#3"}},
            {"id": 1005, "iid": 5, "title": "Unlabelled since", "state": "opened", "labels": ["bug"]},
        ])),
        ("GET", "/issues/3") => ok(json!({"id": 1003, "iid": 3, "title": "Fix it", "state": "closed", "labels": []})),
        ("GET", "/issues/3/resource_label_events") => ok(json!([
            {"id": 11, "user": {"id": 7, "username": "alice"}, "created_at": "2026-01-01T10:00:00.000Z",
             "resource_type": "Issue", "resource_id": 1003, "label": {"id": 1, "name": "ready"}, "action": "add"},
            {"id": 12, "user": {"id": 7, "username": "alice"}, "created_at": "2026-01-01T10:00:01.000Z",
             "resource_type": "Issue", "resource_id": 1003, "label": null, "action": "add"},
            {"id": 13, "user": {"id": 99, "username": "afk-bot"}, "created_at": "2026-01-01T10:00:04.000Z",
             "resource_type": "Issue", "resource_id": 1003, "label": {"id": 2, "name": "in-progress"}, "action": "remove"},
        ])),
        ("GET", "/issues/3/resource_state_events") => ok(json!([
            {"id": 11, "user": {"id": 8, "username": "carol"}, "created_at": "2026-01-01T10:00:02.000Z",
             "resource_type": "Issue", "resource_id": 1003, "state": "reopened"},
        ])),
        ("GET", "/issues/3/notes") => ok(json!([
            {"id": 11, "body": "changed the description", "author": {"id": 8, "username": "carol"},
             "created_at": "2026-01-01T10:00:03.000Z", "updated_at": "2026-01-01T10:00:03.000Z",
             "system": true, "noteable_type": "Issue", "noteable_iid": 3},
            {"id": 21, "body": "/afk why", "author": {"id": 7, "username": "alice"},
             "created_at": "2026-01-01T09:00:00.000Z", "updated_at": "2026-01-01T09:00:00.500Z",
             "system": false, "noteable_type": "Issue", "noteable_iid": 3},
        ])),
        ("GET", "/members/all/7") => ok(json!({"id": 7, "username": "alice", "state": "active", "access_level": 30})),
        ("GET", "/members/all/8") => ok(json!({"id": 8, "username": "Carol", "state": "active", "access_level": 15})),
        ("GET", "/members/all/9") => ok(json!({"id": 9, "username": "dana", "state": "blocked", "access_level": 40})),
        ("GET", "/members/all/10") => ok(json!({"id": 10, "username": "robot", "state": "active", "access_level": 40})),
        ("GET", "/issues/3/links") => ok(json!([
            {"id": 1001, "iid": 1, "title": "first", "state": "opened", "labels": [], "link_type": "is_blocked_by",
             "references": {"full": "acme/other#1"}},
            {"id": 1002, "iid": 2, "title": "later", "state": "opened", "labels": [], "link_type": "blocks"},
            {"id": 1004, "iid": 4, "title": "related", "state": "opened", "labels": [], "link_type": "relates_to"},
        ])),
        ("GET", "/issues/6/links") => status(403, json!({"message": "403 Forbidden"})),
        ("GET", "/labels") => ok(json!([{"id": 1, "name": "ready"}, {"id": 2, "name": "in-progress"}])),
        ("PUT", "/issues/3") => ok(json!({"id": 1003, "iid": 3, "state": "opened"})),
        ("POST", "/issues/3/notes") => (
            201,
            String::new(),
            json!({"id": 31, "body": serde_json::from_str::<serde_json::Value>(body).unwrap()["body"],
                   "author": {"id": 99, "username": "afk-bot"}, "system": false}).to_string(),
        ),
        ("PUT", "/issues/3/notes/31") => ok(json!({"id": 31, "body": "edited", "system": false})),
        _ => return None,
    })
}

/// The project's merge requests: !4 (its notes and their emoji), the list,
/// a new one, the rebases.
fn merge_requests(method: &str, rest: &str, body: &str) -> Option<Answer> {
    Some(match (method, rest) {
        ("GET", "/merge_requests/4/notes") => ok(json!([
            {"id": 41, "body": "Approved", "author": {"id": 1, "username": "root"}, "system": true,
             "created_at": "2026-01-01T10:00:00.000Z", "updated_at": "2026-01-01T10:00:00.000Z"},
            {"id": 42, "body": "/afk retry", "author": {"id": 7, "username": "alice"}, "system": false,
             "created_at": "2026-01-01T10:00:00.000Z", "updated_at": "2026-01-01T10:05:00.000Z"},
            {"id": 43, "body": "/afk retry", "author": {"id": 7, "username": "alice"}, "system": false,
             "created_at": "2026-01-01T10:00:00.000Z", "updated_at": "2026-01-01T10:09:00.000Z"},
        ])),
        ("GET", "/merge_requests/4/notes/42/award_emoji") => ok(json!([
            {"id": 1, "name": "eyes", "user": {"id": 99, "username": "afk-bot"},
             "created_at": "2026-01-01T10:04:59.600Z", "awardable_type": "Note"},
        ])),
        ("GET", "/merge_requests/4/notes/43/award_emoji") => ok(json!([
            {"id": 2, "name": "eyes", "user": {"id": 99, "username": "afk-bot"},
             "created_at": "2026-01-01T10:04:59.600Z", "awardable_type": "Note"},
        ])),
        ("POST", "/merge_requests/4/notes/42/award_emoji") => status(
            404,
            json!({"message": "404 Award Emoji Name has already been taken Not Found"}),
        ),
        ("POST", "/merge_requests/4/notes/43/award_emoji") => (
            201,
            String::new(),
            json!({"id": 3, "name": "eyes"}).to_string(),
        ),
        ("GET", "/merge_requests") => ok(json!([mr(4, "afk-bot", 99)])),
        ("POST", "/merge_requests") => {
            let b: serde_json::Value = serde_json::from_str(body).unwrap();
            if b["source_branch"] != "afk/issue-1" {
                return Some(status(
                    409,
                    json!({"message": ["Another open merge request already exists for this source branch: !4"]}),
                ));
            }
            let mut m = mr(7, "afk-bot", 99);
            m["title"] = b["title"].clone();
            m["description"] = b["description"].clone();
            (201, String::new(), m.to_string())
        }
        ("GET", "/merge_requests/4") => ok(mr(4, "afk-bot", 99)),
        ("PUT", "/merge_requests/4/rebase") => (
            202,
            String::new(),
            json!({"rebase_in_progress": true}).to_string(),
        ),
        ("PUT", "/merge_requests/8/rebase") => status(
            409,
            json!({"message": "Failed to enqueue the rebase operation"}),
        ),
        ("PUT", "/merge_requests/9/rebase") => {
            status(403, json!({"message": "Cannot push to source branch"}))
        }
        _ => return None,
    })
}

/// Pipelines and commit statuses: !8's newer pipelines, !10's external one,
/// the jobs, a commit's statuses.
fn pipelines(method: &str, rest: &str) -> Option<Answer> {
    Some(match (method, rest) {
        ("GET", "/merge_requests/8") => {
            let mut m = mr(8, "afk-bot", 99);
            m["sha"] = json!("ddd");
            m["head_pipeline"] =
                json!({"id": 70, "sha": "old", "ref": "afk/issue-8", "status": "success"});
            ok(m)
        }
        ("GET", "/merge_requests/8/pipelines") => ok(json!([
            {"id": 80, "sha": "ddd", "ref": "afk/issue-8", "status": "running"},
            {"id": 81, "sha": "ddd", "ref": "refs/merge-requests/8/head", "status": "failed", "web_url": "http://gl/p/81"},
            {"id": 79, "sha": "ccc", "ref": "afk/issue-8", "status": "success"},
        ])),
        ("GET", "/pipelines/60/jobs") => ok(json!([
            {"id": 601, "name": "test", "status": "failed", "web_url": "http://gl/j/601", "allow_failure": false},
            {"id": 600, "name": "build", "status": "success", "web_url": "http://gl/j/600"},
            {"id": 602, "name": "docs", "status": "skipped"},
        ])),
        ("GET", "/pipelines/81/jobs") => ok(json!([])),
        ("GET", "/merge_requests/10") => {
            let mut m = mr(10, "afk-bot", 99);
            m["sha"] = json!("fff");
            m["head_pipeline"] = json!({"id": 90, "sha": "fff", "ref": "afk/issue-10", "status": "failed", "source": "external"});
            ok(m)
        }
        ("GET", "/repository/commits/fff/statuses") => ok(json!([
            {"id": 93, "sha": "fff", "status": "failed", "name": "lint", "description": "2 lint errors", "pipeline_id": 90},
            {"id": 92, "sha": "fff", "status": "success", "name": "test", "target_url": "http://ci/92", "pipeline_id": 90},
            {"id": 91, "sha": "fff", "status": "failed", "name": "other", "pipeline_id": 89},
        ])),
        ("GET", "/repository/commits/eee/statuses") => ok(json!([
            {"id": 3, "sha": "eee", "ref": "main", "status": "success", "name": "deploy", "target_url": "http://ci/3"},
            {"id": 1, "sha": "eee", "ref": "main", "status": "failed", "name": "deploy"},
            {"id": 2, "sha": "eee", "ref": "main", "status": "manual", "name": "release"},
        ])),
        _ => return None,
    })
}

/// A merge request by `author` as `GET .../merge_requests/:iid` answers it.
fn mr(iid: u64, author: &str, author_id: i64) -> serde_json::Value {
    json!({
        "id": 5000 + iid, "iid": iid, "project_id": 42, "title": "Fix it (#3)", "description": "Closes #3",
        "state": "opened", "source_branch": format!("afk/issue-{iid}"), "target_branch": "main",
        "source_project_id": 42, "target_project_id": 42, "author": {"id": author_id, "username": author},
        "sha": "abc", "merge_commit_sha": null, "squash_commit_sha": null, "draft": false,
        "detailed_merge_status": "mergeable", "has_conflicts": false,
        "web_url": format!("http://gl/acme/platform/svc/-/merge_requests/{iid}"),
        "head_pipeline": {"id": 60, "sha": "abc", "ref": format!("afk/issue-{iid}"), "status": "failed",
                          "web_url": "http://gl/p/60"},
    })
}

/// One step of the documented GitLab's story: the forge, the project, and
/// the requests the fake saw so far.
type Step = fn(&Gitlab, &RepoName, &Seen);

/// The steps in the story's order (a step may lean on what an earlier one
/// read, as the forge keeps users and merge request heads).
const STORY: &[Step] = &[
    the_ready_issues,
    the_timeline,
    trust,
    blocking_links,
    labels,
    notes,
    mr_notes,
    new_merge_requests,
    the_single_merge_request,
    ci,
    the_rebase,
    a_moved_project,
];

/// `steps` against a fresh scripted GitLab; then every request sent is
/// checked: labels written only with add_labels / remove_labels, and each
/// request GitLab's (the contract's, else a documented path). The number
/// of contract operations exercised.
fn on_gitlab_all(steps: &[Step]) -> usize {
    let (root, seen) = serve(gitlab);
    let f = forge(&root);
    let r = repo();
    for step in steps {
        step(&f, &r, &seen);
    }
    let sent = seen.lock().unwrap().clone();
    // labels are written only with add_labels / remove_labels
    for (m, t, body) in &sent {
        if m == "PUT" && t.contains("/issues/") && !t.contains("/notes") {
            let b: serde_json::Value = serde_json::from_str(body).unwrap();
            assert!(b.get("labels").is_none(), "{t}: {body}");
        }
    }
    every_request_is_gitlab_s(&sent)
}

fn on_gitlab(step: Step) {
    on_gitlab_all(&[step]);
}

#[test]
fn gitlab_forge_reads_and_writes_as_spec_2_1_says_and_only_what_gitlab_documents() {
    let checked = on_gitlab_all(STORY);
    assert!(
        checked >= 8,
        "the contract's operations were exercised: {checked}"
    );
}

#[test]
fn ready_issues_are_rechecked_by_label_and_numbered_by_iid() {
    on_gitlab(the_ready_issues);
}

#[test]
fn the_timeline_merges_label_state_and_note_events_in_time_order() {
    on_gitlab(the_timeline);
}

#[test]
fn trust_is_developer_or_above_of_an_active_human_member() {
    on_gitlab(trust);
}

#[test]
fn only_is_blocked_by_links_block_and_a_403_is_none() {
    on_gitlab(blocking_links);
}

#[test]
fn labels_are_added_only_when_the_project_has_them_and_never_replaced() {
    on_gitlab(labels);
}

#[test]
fn no_line_of_a_note_is_a_quick_action() {
    on_gitlab(notes);
}

#[test]
fn system_notes_are_never_comments_and_afks_eyes_do_not_edit_a_note() {
    on_gitlab(mr_notes);
}

#[test]
fn a_new_merge_request_is_never_a_draft_and_a_409_is_the_forges_refusal() {
    on_gitlab(new_merge_requests);
}

#[test]
fn the_single_merge_request_reads_iid_head_and_mergeable() {
    on_gitlab(the_single_merge_request);
}

#[test]
fn ci_is_the_head_pipelines_jobs_else_the_commits_statuses() {
    on_gitlab(ci);
}

#[test]
fn a_branch_update_is_a_rebase_never_a_merge() {
    on_gitlab(the_rebase);
}

#[test]
fn a_moved_project_is_never_followed_and_git_signs_in_as_oauth2() {
    on_gitlab(a_moved_project);
}

/// ready issues: the label re-checked, the iid the number, the project from the reference
fn the_ready_issues(f: &Gitlab, r: &RepoName, _: &Seen) {
    let issues = f.issues_with_label(r, "ready").unwrap();
    assert_eq!(issues.len(), 1);
    assert_eq!(issues[0].number, IssueNumber(3));
    assert_eq!(issues[0].body.as_deref(), Some("Blocked by #1"));
    assert_eq!(
        issues[0].repository.as_ref().unwrap().full_name,
        "acme/platform/svc"
    );
    assert_eq!(issues[0].user.as_ref().unwrap().login, "alice");
}

/// the timeline: label events (a deleted label skipped), state events and
/// notes in time order; the description edit a rename after the arming
fn the_timeline(f: &Gitlab, r: &RepoName, _: &Seen) {
    let t = f.timeline(r, IssueNumber(3)).unwrap();
    let got: Vec<(i64, EventKind, String)> =
        t.iter().map(|e| (e.id, e.kind, e.actor.clone())).collect();
    assert_eq!(
        got,
        vec![
            (-21, EventKind::Other, "alice".into()),
            (11, EventKind::LabelAdded, "alice".into()),
            (-11, EventKind::Other, "carol".into()),
            (-11, EventKind::Renamed, "carol".into()),
            (13, EventKind::LabelRemoved, "afk-bot".into()),
        ]
    );
}

/// trust: alice's id from the label events, Developer 30 is write
fn trust(f: &Gitlab, r: &RepoName, _: &Seen) {
    // alice's id is the one the label events showed
    f.timeline(r, IssueNumber(3)).unwrap();
    let p = f.permission(r, "alice").unwrap();
    assert_eq!((p.access(), p.word()), (Access::Write, "Developer (30)"));
    // no such user; Planner 15; blocked; a bot user (trusted only by name)
    for (login, word) in [
        ("bob", "no such user"),
        ("carol", "Planner (15)"),
        ("dana", "blocked user"),
        ("robot", "bot user, Maintainer (40)"),
    ] {
        let p = f.permission(r, login).unwrap();
        assert_eq!((p.access(), p.word()), (Access::None, word), "{login}");
    }
}

/// blocking links: only is_blocked_by; a 403 (GitLab Free) is none
fn blocking_links(f: &Gitlab, r: &RepoName, _: &Seen) {
    let deps = f.dependencies(r, IssueNumber(3)).unwrap();
    assert_eq!(deps.len(), 1);
    assert_eq!(deps[0].number, IssueNumber(1));
    assert_eq!(deps[0].repository.as_ref().unwrap().full_name, "acme/other");
    assert!(f.dependencies(r, IssueNumber(6)).unwrap().is_empty());
}

/// labels: added only when the project has one, removed, never replaced
fn labels(f: &Gitlab, r: &RepoName, _: &Seen) {
    let e = f.add_label(r, IssueNumber(3), "missing").unwrap_err();
    assert!(e.to_string().contains("\"missing\" does not exist"), "{e}");
    f.add_label(r, IssueNumber(3), "in-progress").unwrap();
    f.remove_label(r, IssueNumber(3), "ready").unwrap();
    f.close_issue(r, IssueNumber(3)).unwrap();
    assert!(f.add_label(r, IssueNumber(3), "a,b").is_err());
}

/// notes: no line a quick action
fn notes(f: &Gitlab, r: &RepoName, _: &Seen) {
    let c = f
        .create_comment(r, Target::Issue(IssueNumber(3)), "done\n/merge\n")
        .unwrap();
    assert_eq!(c.body, "done\n /merge\n");
    f.edit_comment(r, Target::Issue(IssueNumber(3)), 31, "/approve")
        .unwrap();
}

/// MR notes: system notes never comments; a note moved only by afk's
/// eyes is not edited, one changed after it is; a note's award emoji the
/// listing read are its reactions, not read again in the tick
fn mr_notes(f: &Gitlab, r: &RepoName, seen: &Seen) {
    let notes = f.comments(r, Target::Pr(PrNumber(4))).unwrap();
    let got: Vec<(i64, bool)> = notes.iter().map(|c| (c.id, c.edited())).collect();
    assert_eq!(got, vec![(42, false), (43, true)]);
    let given = f.reactions(r, Target::Pr(PrNumber(4)), 42).unwrap();
    assert_eq!(given, vec![("afk-bot".to_string(), "eyes".to_string())]);
    let reads = seen
        .lock()
        .unwrap()
        .iter()
        .filter(|(m, t, _)| m == "GET" && t.contains("/notes/42/award_emoji"))
        .count();
    assert_eq!(reads, 1, "read once in the tick");
    f.react(r, Target::Pr(PrNumber(4)), 42, "eyes").unwrap();
    f.react(r, Target::Pr(PrNumber(4)), 43, "eyes").unwrap();
}

/// merge requests: a new one never a draft, its body guarded
fn new_merge_requests(f: &Gitlab, r: &RepoName, seen: &Seen) {
    let pr = f
        .create_pull(
            r,
            "afk/issue-1",
            "main",
            "Draft: [DRAFT] Fix it (#1)",
            "Closes #1\n/merge",
        )
        .unwrap();
    assert_eq!(pr.number, PrNumber(7));
    assert_eq!(pr.body.as_deref(), Some("Closes #1\n /merge"));
    let sent = seen.lock().unwrap().clone();
    let (_, _, body) = sent
        .iter()
        .rfind(|(m, t, _)| m == "POST" && t.ends_with("/merge_requests"))
        .unwrap();
    let body: serde_json::Value = serde_json::from_str(body).unwrap();
    assert_eq!(body["title"], "Fix it (#1)");
    assert!(body.get("remove_source_branch").is_none());
    // a 409 is the forge's refusal as it said it, a conflict: watch asks the
    // list which one is open and adopts it only when it is afk's, on every forge
    let e = f
        .create_pull(r, "afk/issue-3", "main", "t", "b")
        .unwrap_err();
    assert_eq!(ForgeError::kind_of(&e), Some(Failure::Conflict), "{e:#}");
    assert!(format!("{e:#}").contains("already exists"), "{e:#}");
}

/// the single MR: iid, head, mergeable from detailed_merge_status
fn the_single_merge_request(f: &Gitlab, r: &RepoName, _: &Seen) {
    let pr = f.pull(r, PrNumber(4)).unwrap();
    assert_eq!(
        (pr.number, pr.head.name.as_str(), pr.head.sha.as_str()),
        (PrNumber(4), "afk/issue-4", "abc")
    );
    assert_eq!(pr.head_repo(), Some("acme/platform/svc"));
    assert_eq!(pr.mergeable, Some(true));
    assert_eq!(pr.author(), "afk-bot");
    assert_eq!(f.open_pulls(r).unwrap().len(), 1);
}

/// A CI answer's lines as (context, status).
fn named(statuses: Option<Vec<crate::model::CommitStatus>>) -> Vec<(String, String)> {
    statuses
        .unwrap()
        .into_iter()
        .map(|s| (s.context, s.status))
        .collect()
}

/// CI: the head pipeline's jobs, latest per name, skipped left out
fn ci(f: &Gitlab, r: &RepoName, _: &Seen) {
    // the head sha is known from the merge request read
    f.pull(r, PrNumber(4)).unwrap();
    let ci = f.combined_status(r, "abc").unwrap();
    assert_eq!(ci.state, "failure");
    let lines = named(ci.statuses);
    assert_eq!(
        lines,
        vec![
            ("build".into(), "success".into()),
            ("test".into(), "failure".into())
        ]
    );
    // a head pipeline of an older sha: the MR's newest pipeline of the head
    f.pull(r, PrNumber(8)).unwrap();
    let ci = f.combined_status(r, "ddd").unwrap();
    assert_eq!(ci.state, "failure");
    assert_eq!(
        ci.statuses.unwrap()[0].target_url.as_deref(),
        Some("http://gl/p/81")
    );
    // an external pipeline (commit statuses another CI posted; GitLab lists
    // no jobs of it): its statuses are its lines, with their own words
    f.pull(r, PrNumber(10)).unwrap();
    let ci = f.combined_status(r, "fff").unwrap();
    assert_eq!(ci.state, "failure");
    let lines: Vec<(String, String, Option<String>)> = ci
        .statuses
        .unwrap()
        .into_iter()
        .map(|s| (s.context, s.status, s.description))
        .collect();
    assert_eq!(
        lines,
        vec![
            (
                "lint".into(),
                "failure".into(),
                Some("2 lint errors".into())
            ),
            ("test".into(), "success".into(), Some("success".into()))
        ]
    );
    // another commit: its statuses, the latest per name
    let ci = f.combined_status(r, "eee").unwrap();
    assert_eq!(ci.state, "pending");
    let lines = named(ci.statuses);
    assert_eq!(
        lines,
        vec![
            ("deploy".into(), "success".into()),
            ("release".into(), "pending".into())
        ]
    );
}

/// the rebase: accepted, already running (wait), refused; never a merge
fn the_rebase(f: &Gitlab, r: &RepoName, _: &Seen) {
    let up = |n, style| f.update_branch(r, PrNumber(n), style, "abc", None);
    assert_eq!(up(4, UpdateStyle::Rebase).unwrap(), BranchUpdate::Started);
    assert_eq!(up(8, UpdateStyle::Rebase).unwrap(), BranchUpdate::HeadMoved);
    assert!(matches!(
        up(9, UpdateStyle::Rebase).unwrap(),
        BranchUpdate::Refused(w) if w.contains("Cannot push")
    ));
    assert!(up(4, UpdateStyle::Merge).is_err());
}

/// a moved project (301) is never followed; the account, and git's sign-in
fn a_moved_project(f: &Gitlab, _: &RepoName, _: &Seen) {
    let old = RepoName::parse_for(crate::types::NameShape::Nested, "acme/old").unwrap();
    let e = f.issue(&old, IssueNumber(1)).unwrap_err();
    assert!(e.to_string().contains("moved to"), "{e}");

    assert_eq!(f.me().unwrap().login, "afk-bot");
    assert_eq!(
        f.git_credentials().unwrap().unwrap(),
        ("oauth2".to_string(), "glpat-test".to_string())
    );
}

/// Paths GitLab documents that its generated description leaves out (the
/// contract's `absent_from_the_source`, and the documentation pages that
/// `OPS` in tests/it/contract_gitlab.rs names).
const DOCUMENTED: &[&str] = &[
    "GET /api/v4/user",
    "GET /api/v4/users",
    "GET /api/v4/users/{id}",
    "GET /api/v4/projects/{id}",
    "GET /api/v4/projects/{id}/labels",
    "POST /api/v4/projects/{id}/labels",
    "GET /api/v4/projects/{id}/issues",
    "GET /api/v4/projects/{id}/issues/{iid}",
    "PUT /api/v4/projects/{id}/issues/{iid}",
    "GET /api/v4/projects/{id}/issues/{iid}/resource_label_events",
    "GET /api/v4/projects/{id}/issues/{iid}/resource_state_events",
    "GET /api/v4/projects/{id}/issues/{iid}/resource_milestone_events",
    "GET /api/v4/projects/{id}/issues/{iid}/resource_weight_events",
    "GET /api/v4/projects/{id}/issues/{iid}/resource_iteration_events",
    "GET /api/v4/projects/{id}/issues/{iid}/links",
    "GET /api/v4/projects/{id}/issues/{iid}/notes",
    "POST /api/v4/projects/{id}/issues/{iid}/notes",
    "PUT /api/v4/projects/{id}/issues/{iid}/notes/{note_id}",
    "GET /api/v4/projects/{id}/issues/{iid}/notes/{note_id}/award_emoji",
    "POST /api/v4/projects/{id}/issues/{iid}/notes/{note_id}/award_emoji",
    "GET /api/v4/projects/{id}/merge_requests/{iid}/notes",
    "POST /api/v4/projects/{id}/merge_requests/{iid}/notes",
    "PUT /api/v4/projects/{id}/merge_requests/{iid}/notes/{note_id}",
    "GET /api/v4/projects/{id}/merge_requests/{iid}/notes/{note_id}/award_emoji",
    "POST /api/v4/projects/{id}/merge_requests/{iid}/notes/{note_id}/award_emoji",
    "GET /api/v4/projects/{id}/pipelines/{pipeline_id}/jobs",
    "GET /api/v4/projects/{id}/repository/commits",
    "GET /api/v4/projects/{id}/repository/commits/{sha}/diff",
    "GET /api/v4/projects/{id}/repository/commits/{sha}/statuses",
    "GET /api/v4/projects/{id}/repository/branches/{branch}",
];

/// Whether `path` (its segments) fits `template`'s (`{x}` one segment).
fn fits(template: &str, path: &str) -> bool {
    let t: Vec<&str> = template.split('/').collect();
    let p: Vec<&str> = path.split('/').collect();
    t.len() == p.len()
        && t.iter()
            .zip(&p)
            .all(|(t, p)| (t.starts_with('{') && !p.is_empty()) || t == p)
}

/// Every request fits an operation of the contract, with only the query
/// parameters that operation declares, where the contract has its path;
/// else a documented path. The project is one encoded segment. How many
/// requests the contract covered.
fn every_request_is_gitlab_s(sent: &[(String, String, String)]) -> usize {
    let contract: serde_json::Value = serde_json::from_str(include_str!(
        "../../../../tests/contracts/gitlab-v4-subset.json"
    ))
    .unwrap();
    let paths = contract["paths"].as_object().unwrap();
    let mut checked = 0;
    for (method, target, _) in sent {
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        if let Some(rest) = path.strip_prefix("/api/v4/projects/") {
            let id = rest.split('/').next().unwrap();
            assert!(!id.is_empty() && !id.contains("%2F%2F"), "{target}");
        }
        let op = paths
            .iter()
            .find(|(t, _)| fits(t, path))
            .map(|(t, ops)| (t, &ops[method.to_ascii_lowercase()]));
        match op {
            Some((t, op)) => {
                assert!(op.is_object(), "{method} {t}: not in the contract");
                let declared: Vec<&str> = op["parameters"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|p| p["in"] == "query")
                    .map(|p| p["name"].as_str().unwrap())
                    .collect();
                for pair in query.split('&').filter(|q| !q.is_empty()) {
                    let name = pair.split('=').next().unwrap();
                    // page/per_page: GitLab's offset paging on every list
                    assert!(
                        declared.contains(&name) || matches!(name, "page" | "per_page"),
                        "{method} {t}: query {name} not declared"
                    );
                }
                checked += 1;
            }
            None => assert!(
                DOCUMENTED.iter().any(|d| {
                    let (m, t) = d.split_once(' ').unwrap();
                    m == method && fits(t, path)
                }),
                "{method} {path}: neither in the contract nor a documented path"
            ),
        }
    }
    checked
}

/// (detailed_merge_status, has_conflicts, rebase_in_progress, merge_error, mergeable)
#[test]
fn detailed_merge_status_says_conflict_still_computing_or_neither() {
    let cases = [
        (None, false, None, None, None),
        (Some("unchecked"), false, None, None, None),
        (Some("checking"), true, None, None, None),
        (Some("preparing"), false, None, None, None),
        (Some("approvals_syncing"), false, None, None, None),
        (Some("conflict"), false, None, None, Some(false)),
        (Some("need_rebase"), false, None, None, Some(false)),
        (Some("mergeable"), false, None, None, Some(true)),
        (Some("not_approved"), false, None, None, Some(true)),
        (Some("ci_still_running"), false, None, None, Some(true)),
        (Some("broken_status"), true, None, None, Some(false)),
        (Some("mergeable"), false, Some(true), None, None),
        (
            Some("mergeable"),
            false,
            Some(false),
            Some("Rebase failed"),
            Some(false),
        ),
        (Some("mergeable"), false, Some(false), Some(""), Some(true)),
    ];
    for (d, c, r, e, want) in cases {
        assert_eq!(mergeable(d, c, r, e), want, "{d:?} {c} {r:?} {e:?}");
    }
}

/// (access_level, afk's rank, words)
#[test]
fn access_levels_meet_the_levels_spec_2_1_9_says() {
    let cases = [
        (50, Access::Owner, "Owner (50)"),
        (40, Access::Admin, "Maintainer (40)"),
        (30, Access::Write, "Developer (30)"),
        (20, Access::Read, "Reporter (20)"),
        (15, Access::None, "Planner (15)"),
        (10, Access::None, "Guest (10)"),
        (5, Access::None, "Minimal access (5)"),
        (0, Access::None, "No access (0)"),
    ];
    for (level, access, word) in cases {
        assert_eq!(access_level(level), (access, word.to_string()), "{level}");
    }
}

#[test]
fn pipeline_statuses_map_as_spec_2_1_14_says() {
    let cases = [
        ("success", Some("success")),
        ("failed", Some("failure")),
        ("canceled", Some("failure")),
        ("skipped", None),
        ("created", Some("pending")),
        ("waiting_for_resource", Some("pending")),
        ("preparing", Some("pending")),
        ("waiting_for_callback", Some("pending")),
        ("pending", Some("pending")),
        ("running", Some("pending")),
        ("scheduled", Some("pending")),
        ("manual", Some("pending")),
        ("canceling", Some("pending")),
    ];
    for (s, want) in cases {
        assert_eq!(pipeline_state(s), want, "{s}");
    }
    let p = |sha: &str, r: &str| WirePipeline {
        sha: sha.into(),
        git_ref: r.into(),
        ..Default::default()
    };
    // a merge ref's pipeline is only a candidate: its merge commit's parents
    // say whether it merged the head (`Gitlab::pipeline_of_head`)
    assert!(!merge_ref_of(&p("abc", "afk/issue-3"), 4));
    assert!(merge_ref_of(&p("tmp", "refs/merge-requests/4/merge"), 4));
    assert!(merge_ref_of(&p("tmp", "refs/merge-requests/4/train"), 4));
    assert!(!merge_ref_of(&p("tmp", "refs/merge-requests/5/merge"), 4));
    assert!(!merge_ref_of(&p("tmp", "refs/merge-requests/44/merge"), 4));
}

#[test]
fn a_merge_request_title_is_never_a_draft_by_accident() {
    let cases = [
        ("Fix it (#3)", "Fix it (#3)"),
        ("Draft: Fix it (#3)", "Fix it (#3)"),
        ("draft:[Draft] (DRAFT) Fix (#3)", "Fix (#3)"),
        ("  [draft]\nFix\tit", "Fix it"),
        ("Drafting docs (#3)", "Drafting docs (#3)"),
        ("Fix Draft: later", "Fix Draft: later"),
    ];
    for (t, want) in cases {
        assert_eq!(mr_title(t), want, "{t:?}");
    }
    assert_eq!(mr_title(&"x".repeat(400)).chars().count(), TITLE_MAX);
}

/// (created_at, updated_at, resolved_at, award times, edited)
#[test]
fn a_note_moved_by_a_reaction_or_a_resolve_is_not_edited() {
    let c = Some("2026-01-01T10:00:00Z");
    let u = Some("2026-01-01T10:05:00Z");
    let cases = [
        (c, c, None, vec![], false),
        (c, u, None, vec![], true),
        (c, u, Some("2026-01-01T10:04:59.500Z"), vec![], false),
        (c, u, None, vec![Some("2026-01-01T10:05:00Z")], false),
        (
            c,
            u,
            None,
            vec![Some("2026-01-01T10:01:00Z"), Some("2026-01-01T10:04:59Z")],
            false,
        ),
        (c, u, None, vec![Some("2026-01-01T10:01:00Z")], true),
        (c, u, Some("2026-01-01T10:01:00Z"), vec![], true),
    ];
    for (i, (c, u, r, a, want)) in cases.into_iter().enumerate() {
        assert_eq!(note_edited(c, u, r, &a), want, "case {i}");
    }
}

/// (GraphQL's `data`, ever edited): `lastEditedAt` is set only when the
/// text changed (`Notes::UpdateService#update_note`), so any time is an
/// edit and `null` none; a note the token cannot read, or an answer without
/// the field, says nothing.
#[test]
fn a_note_is_ever_edited_when_graphql_gives_it_a_last_edit_time() {
    let cases = [
        (
            serde_json::json!({"note": {"lastEditedAt": null}}),
            Some(false),
        ),
        (
            serde_json::json!({"note": {"lastEditedAt": "2026-01-01T10:00:00Z"}}),
            Some(true),
        ),
        (serde_json::json!({"note": {}}), None),
        (serde_json::json!({"note": null}), None),
        (serde_json::json!({"note": {"lastEditedAt": 5}}), None),
        (serde_json::json!(null), None),
    ];
    for (i, (data, want)) in cases.into_iter().enumerate() {
        assert_eq!(note_ever_edited(&data), want, "case {i}");
    }
}

#[test]
fn a_reference_names_its_project() {
    assert_eq!(
        project_of_reference("acme/platform/svc#3"),
        Some("acme/platform/svc")
    );
    assert_eq!(project_of_reference("acme/svc!12"), Some("acme/svc"));
    assert_eq!(project_of_reference("#3"), None);
    assert_eq!(project_of_reference("acme/svc#x"), None);
    assert_eq!(project(&repo()), "/projects/acme%2Fplatform%2Fsvc");
}

#[test]
fn a_text_gitlab_refuses_with_400_is_refused_as_gitea_and_github_refuse_it() {
    let too_long = json!({"message": {"note": ["is too long (maximum is 1000000 characters)"]}});
    let (root, _) = serve(move |method, target, _| match (method, target) {
        (_, t) if t.contains("/merge_requests/4/notes") => {
            status(403, json!({"message": "403 Forbidden"}))
        }
        (_, t) if t.contains("/notes") || t.ends_with("/issues/3") => status(400, too_long.clone()),
        _ => status(500, json!({"message": "500 Internal Server Error"})),
    });
    let f = forge(&root);
    let on = Target::Issue(IssueNumber(3));
    let kinds = [
        f.create_comment(&repo(), on, "x").unwrap_err(),
        f.edit_comment(&repo(), on, 7, "x").unwrap_err(),
        f.edit_issue_body(&repo(), on, "x").unwrap_err(),
    ]
    .map(|e| ForgeError::kind_of(&e));
    assert_eq!(kinds, [Some(Failure::Unprocessable); 3]);
    // any other answer keeps its kind
    let e = f
        .create_comment(&repo(), Target::Pr(PrNumber(4)), "x")
        .unwrap_err();
    assert_eq!(ForgeError::kind_of(&e), Some(Failure::Forbidden));
    let e = refused_text(anyhow::anyhow!("no forge error"));
    assert_eq!(ForgeError::kind_of(&e), None);
}

/// (a project hook as GitLab lists it, whether it delivers to afk): one
/// disabled after failing deliveries does not, nor one subscribed to none
/// of afk's events; an older GitLab's hook without the fields does.
#[test]
fn a_hook_gitlab_disabled_or_subscribed_to_nothing_of_afks_is_not_active() {
    let on = serde_json::json!({"url": "u", "note_events": true, "push_events": true,
                                "alert_status": "executable"});
    let cases = [
        (on.clone(), true),
        (
            serde_json::json!({"url": "u", "note_events": true, "alert_status": "temporarily_disabled"}),
            false,
        ),
        (
            serde_json::json!({"url": "u", "note_events": true, "alert_status": "disabled"}),
            false,
        ),
        (
            serde_json::json!({"url": "u", "push_events": true, "note_events": false,
                               "issues_events": false, "alert_status": "executable"}),
            false,
        ),
        (serde_json::json!({"url": "u"}), true),
    ];
    for (i, (h, want)) in cases.into_iter().enumerate() {
        assert_eq!(super::reads::hook_active(&h), want, "case {i}: {h}");
    }
}
