//! The GitLab dialect through the sandbox's own request handler (admin API
//! included): nested paths, separate iids, label events, notes, threads and
//! award emoji, the merge request's 409, paging, and the routes against the
//! published contract.

use super::ROUTES;
use crate::http::{Reply, Request, decode};
use crate::model::Forge;
use crate::routes::Dialect;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};

struct Gl {
    st: Arc<Mutex<Forge>>,
    dir: std::path::PathBuf,
    token: String,
}

impl Drop for Gl {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A GitLab sandbox's state seeded with `seed`, in a folder of its own.
fn gitlab(name: &str, seed: Value) -> Gl {
    let dir = std::env::temp_dir().join(format!("afk-gl-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let mut f = Forge::new("http://127.0.0.1:1".into(), dir.clone());
    f.gitlab();
    f.seed(serde_json::from_value(seed).unwrap()).unwrap();
    let token = f.token.clone();
    Gl {
        st: Arc::new(Mutex::new(f)),
        dir,
        token,
    }
}

struct Answer {
    status: u16,
    body: Value,
    headers: Vec<(String, String)>,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

fn request(method: &str, target: &str, headers: &[(&str, &str)], body: &Value) -> Request {
    let (path, raw_query) = target.split_once('?').unwrap_or((target, ""));
    Request {
        method: method.into(),
        path: decode(path),
        raw_path: path.into(),
        query: raw_query
            .split('&')
            .filter(|s| !s.is_empty())
            .map(|kv| {
                let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
                (decode(k), decode(v))
            })
            .collect(),
        raw_query: raw_query.into(),
        headers: headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        body: if body.is_null() {
            vec![]
        } else {
            serde_json::to_vec(body).unwrap()
        },
    }
}

impl Gl {
    fn send(&self, method: &str, target: &str, headers: &[(&str, &str)], body: Value) -> Answer {
        match crate::handle(
            &self.st,
            Dialect::Gitlab,
            request(method, target, headers, &body),
        ) {
            Reply::Send {
                status,
                headers,
                body,
            } => Answer {
                status,
                body: serde_json::from_slice(&body).unwrap_or(Value::Null),
                headers,
            },
            _ => panic!("not a plain answer"),
        }
    }

    /// An API call under `/api/v4` with afk's token in `PRIVATE-TOKEN`.
    fn api(&self, method: &str, path: &str, body: Value) -> Answer {
        let token = self.token.clone();
        self.send(
            method,
            &format!("/api/v4{path}"),
            &[("PRIVATE-TOKEN", &token)],
            body,
        )
    }

    fn admin(&self, path: &str, body: Value) -> Value {
        let a = self.send("POST", &format!("/_admin{path}"), &[], body);
        assert!(a.status < 300, "{path}: {} {}", a.status, a.body);
        a.body
    }

    /// A branch `name` off main in `repo`, one commit ahead.
    fn branch(&self, repo: &str, name: &str) {
        let gd = self.st.lock().unwrap().git_dir(repo);
        let git = |args: &[&str], stdin: Option<&str>| crate::git::git(&gd, args, stdin).unwrap();
        let blob = git(&["hash-object", "-w", "--stdin"], Some("work\n"));
        let tree = git(&["mktree"], Some(&format!("100644 blob {blob}\tWORK.md\n")));
        let commit = git(&["commit-tree", &tree, "-p", "main", "-m", "work"], None);
        git(
            &["update-ref", &format!("refs/heads/{name}"), &commit],
            None,
        );
    }
}

fn seed_one(name: &str) -> Value {
    json!({"repos": [{"name": name, "collaborators": {"alice": "developer", "gus": "guest"},
    "issues": [
        {"number": 1, "title": "first", "body": "b", "labels": ["ready-for-agent"], "labeled_by": "alice"},
        {"number": 2, "title": "second", "depends_on": [1]},
    ]}]})
}

#[test]
fn a_nested_project_is_named_by_its_full_path_encoded_as_one_segment() {
    let gl = gitlab("nested", seed_one("acme/platform/svc"));
    let p = gl.api("GET", "/projects/acme%2Fplatform%2Fsvc", Value::Null);
    assert_eq!(p.status, 200, "{}", p.body);
    assert_eq!(p.body["path_with_namespace"], "acme/platform/svc");
    assert_eq!(p.body["namespace"]["full_path"], "acme/platform");
    assert_eq!(p.body["permissions"]["project_access"]["access_level"], 40);
    let id = p.body["id"].as_i64().unwrap();
    // by its numeric id, and in any case
    assert_eq!(
        gl.api("GET", &format!("/projects/{id}"), Value::Null)
            .status,
        200
    );
    assert_eq!(
        gl.api(
            "GET",
            "/projects/ACME%2Fplatform%2Fsvc/issues/1",
            Value::Null
        )
        .body["iid"],
        1
    );
    // unencoded, the slashes are path segments: project `acme` is none, as on GitLab
    let raw = gl.api("GET", "/projects/acme/platform/svc", Value::Null);
    assert_eq!(raw.status, 404);
    let none = gl.api("GET", "/projects/acme%2Fplatform", Value::Null);
    assert_eq!(none.body["message"], "404 Project Not Found");
    // git over smart HTTP at the nested path: git_http.rs's own test (naming
    // it here made a circle routes -> git_http -> routes)
    // the request log keeps the path as sent
    let log = gl.st.lock().unwrap().log.clone();
    assert_eq!(log[0]["path"], "/projects/acme%2Fplatform%2Fsvc");
}

#[test]
fn the_token_goes_in_private_token_or_as_a_bearer_and_nothing_else_opens_the_api() {
    let gl = gitlab("auth", seed_one("acme/api"));
    let push = gl.st.lock().unwrap().push_token.clone();
    let bearer = format!("Bearer {}", gl.token);
    let token_scheme = format!("token {}", gl.token);
    let cases: [(&[(&str, &str)], u16); 5] = [
        (&[], 401),
        (&[("PRIVATE-TOKEN", &push)], 401),
        (&[("Authorization", &token_scheme)], 401),
        (&[("Authorization", &bearer)], 200),
        (&[("PRIVATE-TOKEN", &gl.token)], 200),
    ];
    for (headers, want) in cases {
        let a = gl.send("GET", "/api/v4/user", headers, Value::Null);
        assert_eq!(a.status, want, "{headers:?}");
    }
    let me = gl.api("GET", "/user", Value::Null).body;
    assert_eq!(me["username"], "afk-bot");
    // the user's id finds the user again
    let u = gl.api("GET", &format!("/users/{}", me["id"]), Value::Null);
    assert_eq!((u.status, &u.body["username"]), (200, &json!("afk-bot")));
    assert_eq!(u.body["bot"], false);
}

#[test]
fn merge_requests_have_their_own_iids_apart_from_issues() {
    let gl = gitlab("iids", seed_one("acme/api"));
    gl.branch("acme/api", "afk/issue-1");
    gl.branch("acme/api", "other");
    let mr = gl.api(
        "POST",
        "/projects/acme%2Fapi/merge_requests",
        json!({"source_branch": "afk/issue-1", "target_branch": "main",
               "title": "first (#1)", "description": "Closes #1"}),
    );
    assert_eq!(mr.status, 201, "{}", mr.body);
    assert_eq!(mr.body["iid"], 1);
    assert_eq!(mr.body["state"], "opened");
    assert_eq!(mr.body["source_branch"], "afk/issue-1");
    assert_eq!(mr.body["author"]["username"], "afk-bot");
    assert_eq!(mr.body["detailed_merge_status"], "mergeable");
    assert!(
        mr.body["web_url"]
            .as_str()
            .unwrap()
            .ends_with("/acme/api/-/merge_requests/1")
    );
    assert_eq!(mr.body["references"]["full"], "acme/api!1");
    // the next issue is #3, the next MR !2
    let issue = gl.api(
        "POST",
        "/projects/acme%2Fapi/issues",
        json!({"title": "third"}),
    );
    assert_eq!(issue.body["iid"], 3);
    let second = gl.api(
        "POST",
        "/projects/acme%2Fapi/merge_requests",
        json!({"source_branch": "other", "target_branch": "main", "title": "t"}),
    );
    assert_eq!(second.body["iid"], 2);
    // issue 1 and MR !1 are two things
    let i1 = gl
        .api("GET", "/projects/acme%2Fapi/issues/1", Value::Null)
        .body;
    let m1 = gl
        .api("GET", "/projects/acme%2Fapi/merge_requests/1", Value::Null)
        .body;
    assert_eq!(i1["title"], "first");
    assert_eq!(m1["title"], "first (#1)");
    assert_ne!(i1["id"], m1["id"]);
    assert_eq!(m1["head_pipeline"], Value::Null);
    // no MR in the issues' list, no issue in the MRs'
    let issues = gl
        .api(
            "GET",
            "/projects/acme%2Fapi/issues?state=opened",
            Value::Null,
        )
        .body;
    let iids: Vec<&Value> = issues
        .as_array()
        .unwrap()
        .iter()
        .map(|i| &i["iid"])
        .collect();
    assert_eq!(iids, [&json!(3), &json!(2), &json!(1)]);
    let mrs = gl.api(
        "GET",
        "/projects/acme%2Fapi/merge_requests?state=opened&source_branch=afk%2Fissue-1",
        Value::Null,
    );
    assert_eq!(mrs.body.as_array().unwrap().len(), 1);
    assert_eq!(
        gl.api("GET", "/projects/acme%2Fapi/merge_requests/3", Value::Null)
            .status,
        404
    );
    // a second MR from the same branch: 409 naming the open one
    let again = gl.api(
        "POST",
        "/projects/acme%2Fapi/merge_requests",
        json!({"source_branch": "afk/issue-1", "target_branch": "main", "title": "again"}),
    );
    assert_eq!(again.status, 409);
    assert_eq!(
        again.body["message"][0],
        "Another open merge request already exists for this source branch: !1"
    );
    // the admin API names the MR by its own number: merged, and its `Closes #1` closes issue 1
    gl.admin("/merge", json!({"repo": "acme/api", "pr": 1}));
    let m1 = gl
        .api("GET", "/projects/acme%2Fapi/merge_requests/1", Value::Null)
        .body;
    assert_eq!(m1["state"], "merged");
    assert!(m1["merge_commit_sha"].is_string());
    let i1 = gl
        .api("GET", "/projects/acme%2Fapi/issues/1", Value::Null)
        .body;
    assert_eq!(i1["state"], "closed");
    let i2 = gl
        .api("GET", "/projects/acme%2Fapi/issues/2", Value::Null)
        .body;
    assert_eq!(i2["state"], "opened");
    let state = gl.send("GET", "/_admin/state", &[], Value::Null).body;
    let numbers: Vec<&Value> = state["repos"][0]["issues"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| &i["number"])
        .collect();
    assert_eq!(
        numbers,
        [&json!(1), &json!(2), &json!(3), &json!(1), &json!(2)]
    );
}

#[test]
fn labels_are_added_and_removed_by_name_each_a_label_event() {
    let gl = gitlab("labels", seed_one("acme/api"));
    let put = gl.api(
        "PUT",
        "/projects/acme%2Fapi/issues/1",
        json!({"add_labels": "agent-in-progress,brand-new", "remove_labels": "ready-for-agent"}),
    );
    assert_eq!(put.status, 200, "{}", put.body);
    assert_eq!(
        put.body["labels"],
        json!(["agent-in-progress", "brand-new"])
    );
    // add_labels made the missing label
    let labels = gl
        .api("GET", "/projects/acme%2Fapi/labels", Value::Null)
        .body;
    assert!(
        labels
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["name"] == "brand-new")
    );
    let events = gl.api(
        "GET",
        "/projects/acme%2Fapi/issues/1/resource_label_events",
        Value::Null,
    );
    let seen: Vec<(String, String, String)> = events
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap().to_string(),
                e["label"]["name"].as_str().unwrap().to_string(),
                e["user"]["username"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let want = [
        ("add", "ready-for-agent", "alice"),
        ("add", "agent-in-progress", "afk-bot"),
        ("add", "brand-new", "afk-bot"),
        ("remove", "ready-for-agent", "afk-bot"),
    ]
    .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()));
    assert_eq!(seen, want);
    assert_eq!(events.body[0]["resource_type"], "Issue");
    // the label filter: every label named
    let ready = gl.api(
        "GET",
        "/projects/acme%2Fapi/issues?state=opened&labels=agent-in-progress,brand-new",
        Value::Null,
    );
    assert_eq!(ready.body.as_array().unwrap().len(), 1);
    let none = gl.api(
        "GET",
        "/projects/acme%2Fapi/issues?labels=ready-for-agent",
        Value::Null,
    );
    assert_eq!(none.body, json!([]));
    // the arming user's access level, inherited or not; no member: 404
    let alice = events.body[0]["user"]["id"].as_i64().unwrap();
    let m = gl.api(
        "GET",
        &format!("/projects/acme%2Fapi/members/all/{alice}"),
        Value::Null,
    );
    assert_eq!((m.status, &m.body["access_level"]), (200, &json!(30)));
    let gus = super::shapes::user_id("gus");
    let g = gl.api(
        "GET",
        &format!("/projects/acme%2Fapi/members/all/{gus}"),
        Value::Null,
    );
    assert_eq!(g.body["access_level"], 10);
    let stranger = super::shapes::user_id("mallory");
    let s = gl.api(
        "GET",
        &format!("/projects/acme%2Fapi/members/all/{stranger}"),
        Value::Null,
    );
    assert_eq!(s.status, 404);
    // issue 2 is blocked by issue 1
    let links = gl
        .api("GET", "/projects/acme%2Fapi/issues/2/links", Value::Null)
        .body;
    assert_eq!(links[0]["iid"], 1);
    assert_eq!(links[0]["link_type"], "is_blocked_by");
}

/// A GitLab sandbox with the user note "on it" on issue #1 of acme/api:
/// the sandbox and the note as the POST answered it.
fn with_a_note(name: &str) -> (Gl, Answer) {
    let gl = gitlab(name, seed_one("acme/api"));
    let note = gl.api(
        "POST",
        "/projects/acme%2Fapi/issues/1/notes",
        json!({"body": "on it"}),
    );
    (gl, note)
}

/// A GitLab sandbox with merge request !1 from afk/issue-1 on acme/api.
fn with_a_merge_request(name: &str) -> Gl {
    let gl = gitlab(name, seed_one("acme/api"));
    gl.branch("acme/api", "afk/issue-1");
    gl.api(
        "POST",
        "/projects/acme%2Fapi/merge_requests",
        json!({"source_branch": "afk/issue-1", "target_branch": "main", "title": "t"}),
    );
    gl
}

#[test]
fn a_note_is_a_users_and_its_award_emoji_is_taken_once_and_moves_it() {
    let (gl, note) = with_a_note("notes");
    assert_eq!(note.status, 201);
    assert_eq!(note.body["system"], false);
    assert_eq!(note.body["noteable_type"], "Issue");
    assert_eq!(note.body["noteable_iid"], 1);
    let id = note.body["id"].as_i64().unwrap();
    let award = format!("/projects/acme%2Fapi/issues/1/notes/{id}/award_emoji");
    let first = gl.api("POST", &award, json!({"name": "eyes"}));
    assert_eq!(first.status, 201);
    assert_eq!(first.body["name"], "eyes");
    assert_eq!(first.body["awardable_type"], "Note");
    let again = gl.api("POST", &award, json!({"name": "eyes"}));
    assert_eq!(again.status, 404);
    assert_eq!(
        again.body["message"],
        "404 Award Emoji Name has already been taken"
    );
    let awards = gl.api("GET", &award, Value::Null).body;
    assert_eq!(awards.as_array().unwrap().len(), 1);
    // the reaction moved the note's updated_at, as GitLab's do
    let read = gl
        .api(
            "GET",
            &format!("/projects/acme%2Fapi/issues/1/notes/{id}"),
            Value::Null,
        )
        .body;
    assert_ne!(read["updated_at"], read["created_at"]);
    assert_eq!(read["updated_at"], first.body["created_at"]);
}

/// GitLab's GraphQL at `/api/graphql`: a note's `lastEditedAt` is `null`
/// while only emoji came and went (their moves of `updated_at` are no
/// edit), and set once a `PUT` changed its text; a note there is none of
/// is `note: null`; any other query is GraphQL's error; a wrong token is
/// GraphQL's 401.
#[test]
fn graphql_says_a_notes_last_edit_only_once_its_text_changed() {
    let (gl, note) = with_a_note("notes-graphql");
    let id = note.body["id"].as_i64().unwrap();
    let token = gl.token.clone();
    let ask = |id: i64, query: &str, token: &str| {
        gl.send(
            "POST",
            "/api/graphql",
            &[("PRIVATE-TOKEN", token)],
            json!({"query": query, "variables": {"id": format!("gid://gitlab/Note/{id}")}}),
        )
    };
    const Q: &str = "query($id: NoteID!) { note(id: $id) { lastEditedAt } }";
    gl.admin(
        "/award",
        json!({"note": id, "user": "bob", "name": "thumbsup"}),
    );
    gl.admin(
        "/award",
        json!({"note": id, "user": "bob", "name": "thumbsup", "remove": true}),
    );
    let a = ask(id, Q, &token);
    assert_eq!(a.status, 200);
    assert_eq!(a.body, json!({"data": {"note": {"lastEditedAt": null}}}));
    let path = format!("/projects/acme%2Fapi/issues/1/notes/{id}");
    let edited = gl.api("PUT", &path, json!({"body": "changed"}));
    assert_eq!(edited.status, 200);
    let a = ask(id, Q, &token);
    assert_eq!(
        a.body["data"]["note"]["lastEditedAt"],
        edited.body["updated_at"]
    );
    assert_eq!(ask(999_999, Q, &token).body["data"]["note"], Value::Null);
    assert!(ask(id, "{ currentUser { id } }", &token).body["errors"].is_array());
    let wrong = ask(id, Q, "wrong");
    assert_eq!(wrong.status, 401);
    assert_eq!(wrong.body["errors"][0]["message"], "Invalid token");
}

#[test]
fn edits_are_system_notes_listed_newest_first_and_never_edited() {
    let (gl, _) = with_a_note("notes-edits");
    // edits as GitLab writes them: a title change and a description change
    gl.api(
        "PUT",
        "/projects/acme%2Fapi/issues/1",
        json!({"title": "renamed"}),
    );
    gl.admin(
        "/edit",
        json!({"repo": "acme/api", "issue": 1, "body": "edited"}),
    );
    let notes = gl
        .api(
            "GET",
            "/projects/acme%2Fapi/issues/1/notes?sort=asc",
            Value::Null,
        )
        .body;
    let seen: Vec<(bool, String)> = notes
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            (
                n["system"].as_bool().unwrap(),
                n["body"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            (false, "on it".to_string()),
            (
                true,
                "changed title from **first** to **renamed**".to_string()
            ),
            (true, "changed the description".to_string()),
        ]
    );
    // newest first by default
    let desc = gl
        .api("GET", "/projects/acme%2Fapi/issues/1/notes", Value::Null)
        .body;
    assert_eq!(desc[0]["body"], "changed the description");
    // a system note is never edited
    let sys = notes[1]["id"].as_i64().unwrap();
    let refused = gl.api(
        "PUT",
        &format!("/projects/acme%2Fapi/issues/1/notes/{sys}"),
        json!({"body": "x"}),
    );
    assert_eq!(refused.status, 403);
}

#[test]
fn a_merge_request_thread_is_resolvable_and_answered_in_place() {
    let gl = with_a_merge_request("notes-threads");
    // a resolvable thread on a merge request, a reply, then resolved
    let d = gl.admin(
        "/discussion",
        json!({"repo": "acme/api", "pr": 1, "body": "fix this", "user": "alice", "path": "WORK.md", "line": 1}),
    );
    gl.admin(
        "/discussion_note",
        json!({"discussion": d["id"], "body": "and this", "user": "alice"}),
    );
    let threads = gl
        .api(
            "GET",
            "/projects/acme%2Fapi/merge_requests/1/discussions",
            Value::Null,
        )
        .body;
    let t = &threads[0];
    assert_eq!(t["id"], d["id"]);
    assert_eq!(t["individual_note"], false);
    assert_eq!(t["notes"].as_array().unwrap().len(), 2);
    assert_eq!(t["notes"][0]["type"], "DiffNote");
    assert_eq!(t["notes"][0]["resolvable"], true);
    assert_eq!(t["notes"][0]["resolved"], false);
    assert_eq!(t["notes"][0]["position"]["new_path"], "WORK.md");
    gl.admin("/resolve", json!({"discussion": d["id"], "user": "bob"}));
    let t = gl
        .api(
            "GET",
            "/projects/acme%2Fapi/merge_requests/1/discussions",
            Value::Null,
        )
        .body;
    assert_eq!(t[0]["notes"][1]["resolved"], true);
    assert_eq!(t[0]["notes"][1]["resolved_by"]["username"], "bob");
}

#[test]
fn an_approval_is_a_system_note_and_an_approver_and_a_review_a_reviewer() {
    let gl = with_a_merge_request("notes-approvals");
    // an approval is a system note and an approver
    gl.admin(
        "/review",
        json!({"repo": "acme/api", "pr": 1, "state": "APPROVED", "user": "alice"}),
    );
    let approvals = gl
        .api(
            "GET",
            "/projects/acme%2Fapi/merge_requests/1/approvals",
            Value::Null,
        )
        .body;
    assert_eq!(approvals["approved_by"][0]["user"]["username"], "alice");
    let notes = gl
        .api(
            "GET",
            "/projects/acme%2Fapi/merge_requests/1/notes",
            Value::Null,
        )
        .body;
    assert_eq!(notes[0]["body"], "approved this merge request");
    assert_eq!(notes[0]["system"], true);
    gl.admin(
        "/review",
        json!({"repo": "acme/api", "pr": 1, "state": "requested_changes", "user": "bob"}),
    );
    let reviewers = gl
        .api(
            "GET",
            "/projects/acme%2Fapi/merge_requests/1/reviewers",
            Value::Null,
        )
        .body;
    assert_eq!(reviewers[1]["user"]["username"], "bob");
    assert_eq!(reviewers[1]["state"], "requested_changes");
}

#[test]
fn lists_page_as_gitlab_does() {
    let issues: Vec<Value> = (1..=5)
        .map(|n| json!({"number": n, "title": format!("t{n}")}))
        .collect();
    let gl = gitlab(
        "paging",
        json!({"repos": [{"name": "acme/api", "issues": issues}]}),
    );
    let p1 = gl.api(
        "GET",
        "/projects/acme%2Fapi/issues?state=all&per_page=2",
        Value::Null,
    );
    assert_eq!(p1.body.as_array().unwrap().len(), 2);
    assert_eq!(p1.header("x-next-page"), Some("2"));
    assert_eq!(p1.header("x-prev-page"), Some(""));
    assert_eq!(p1.header("x-total"), Some("5"));
    assert_eq!(p1.header("x-total-pages"), Some("3"));
    assert_eq!(p1.header("x-per-page"), Some("2"));
    let link = p1.header("Link").unwrap();
    assert!(
        link.contains(
            "/api/v4/projects/acme%2Fapi/issues?state=all&page=2&per_page=2>; rel=\"next\""
        ),
        "{link}"
    );
    let p3 = gl.api(
        "GET",
        "/projects/acme%2Fapi/issues?state=all&per_page=2&page=3",
        Value::Null,
    );
    assert_eq!(p3.body.as_array().unwrap().len(), 1);
    assert_eq!(p3.header("x-next-page"), Some(""));
    assert!(!p3.header("Link").unwrap().contains("rel=\"next\""));
    // the rate limit's headers on every answer; spent: 429 with Retry-After
    assert_eq!(p3.header("RateLimit-Limit"), Some("5000"));
    assert!(p3.header("RateLimit-ResetTime").unwrap().ends_with("GMT"));
    gl.admin("/rate_limit", json!({"remaining": 0}));
    let spent = gl.api("GET", "/user", Value::Null);
    assert_eq!(spent.status, 429);
    assert_eq!(spent.header("RateLimit-Remaining"), Some("0"));
    assert!(spent.header("Retry-After").is_some());
}

#[test]
fn a_moved_project_answers_a_get_with_301_to_its_id() {
    let gl = gitlab(
        "moved",
        json!({"repos": [{"name": "acme/new-api"}, {"name": "acme/api", "renamed_to": "acme/new-api"}]}),
    );
    let id = gl.api("GET", "/projects/acme%2Fnew-api", Value::Null).body["id"].clone();
    let old = gl.api("GET", "/projects/acme%2Fapi/issues", Value::Null);
    assert_eq!(old.status, 301);
    assert!(
        old.header("Location")
            .unwrap()
            .ends_with(&format!("/api/v4/projects/{id}/issues")),
        "{:?}",
        old.header("Location")
    );
    let put = gl.api("PUT", "/projects/acme%2Fapi/issues/1", json!({}));
    assert_eq!(put.status, 404);
}

#[test]
fn pipelines_come_from_commit_statuses_and_the_rebase_answers_202() {
    let gl = gitlab("ci", seed_one("acme/api"));
    gl.branch("acme/api", "afk/issue-1");
    let mr = gl
        .api(
            "POST",
            "/projects/acme%2Fapi/merge_requests",
            json!({"source_branch": "afk/issue-1", "target_branch": "main", "title": "t"}),
        )
        .body;
    let sha = mr["sha"].as_str().unwrap().to_string();
    gl.admin(
        "/status",
        json!({"repo": "acme/api", "branch": "afk/issue-1", "context": "build", "state": "pending"}),
    );
    let posted = gl.api(
        "POST",
        &format!("/projects/acme%2Fapi/statuses/{sha}"),
        json!({"state": "failed", "name": "test", "target_url": "http://ci/1"}),
    );
    assert_eq!(posted.status, 201, "{}", posted.body);
    assert_eq!(posted.body["status"], "failed");
    let one = gl
        .api("GET", "/projects/acme%2Fapi/merge_requests/1", Value::Null)
        .body;
    let pipe = &one["head_pipeline"];
    assert_eq!(pipe["sha"], sha.as_str());
    assert_eq!(pipe["status"], "failed");
    assert_eq!(pipe["ref"], "afk/issue-1");
    let listed = gl
        .api(
            "GET",
            "/projects/acme%2Fapi/merge_requests/1/pipelines",
            Value::Null,
        )
        .body;
    assert_eq!(listed[0]["id"], pipe["id"]);
    let jobs = gl
        .api(
            "GET",
            &format!("/projects/acme%2Fapi/pipelines/{}/jobs", pipe["id"]),
            Value::Null,
        )
        .body;
    // an external pipeline has no jobs: its statuses are its commit's
    assert_eq!(pipe["source"], "external");
    assert_eq!(jobs, json!([]));
    let statuses = gl
        .api(
            "GET",
            &format!("/projects/acme%2Fapi/repository/commits/{sha}/statuses"),
            Value::Null,
        )
        .body;
    let names: Vec<(&Value, &Value, &Value)> = statuses
        .as_array()
        .unwrap()
        .iter()
        .map(|j| (&j["name"], &j["status"], &j["pipeline_id"]))
        .collect();
    assert_eq!(
        names,
        [
            (&json!("test"), &json!("failed"), &pipe["id"]),
            (&json!("build"), &json!("pending"), &pipe["id"])
        ]
    );
    // the rebase: 202, done; a conflict the test plays comes back in merge_error
    let rebase = gl.api(
        "PUT",
        "/projects/acme%2Fapi/merge_requests/1/rebase",
        Value::Null,
    );
    assert_eq!(
        (rebase.status, &rebase.body),
        (202, &json!({"rebase_in_progress": true}))
    );
    gl.admin(
        "/branch_update",
        json!({"repo": "acme/api", "pr": 1, "outcome": "conflict"}),
    );
    gl.api(
        "PUT",
        "/projects/acme%2Fapi/merge_requests/1/rebase",
        Value::Null,
    );
    let one = gl
        .api(
            "GET",
            "/projects/acme%2Fapi/merge_requests/1?include_rebase_in_progress=true",
            Value::Null,
        )
        .body;
    assert_eq!(one["rebase_in_progress"], false);
    assert!(
        one["merge_error"]
            .as_str()
            .unwrap()
            .starts_with("Rebase failed")
    );
    // what the forge says of its mergeability, in GitLab's words
    gl.admin(
        "/mergeable",
        json!({"repo": "acme/api", "pr": 1, "mergeable": null}),
    );
    let one = gl
        .api("GET", "/projects/acme%2Fapi/merge_requests/1", Value::Null)
        .body;
    assert_eq!(one["detailed_merge_status"], "checking");
    gl.admin(
        "/mergeable",
        json!({"repo": "acme/api", "pr": 1, "mergeable": false}),
    );
    let one = gl
        .api("GET", "/projects/acme%2Fapi/merge_requests/1", Value::Null)
        .body;
    assert_eq!(
        (&one["detailed_merge_status"], &one["has_conflicts"]),
        (&json!("conflict"), &json!(true))
    );
}

/// A route template with each `{parameter}` written `{}`.
fn shape(path: &str) -> String {
    let mut out = String::new();
    let mut inside = false;
    for c in path.chars() {
        match c {
            '{' => {
                inside = true;
                out.push('{');
            }
            '}' => {
                inside = false;
                out.push('}');
            }
            _ if inside => {}
            c => out.push(c),
        }
    }
    out
}

#[test]
fn every_route_is_an_operation_of_the_contract_where_it_covers_the_resource() {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/contracts/gitlab-v4-subset.json");
    let c: Value = serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
    let ops: Vec<(String, String)> = c["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, methods)| {
            let path = shape(path.trim_start_matches("/api/v4"));
            methods
                .as_object()
                .unwrap()
                .keys()
                .map(move |m| (m.to_ascii_uppercase(), path.clone()))
        })
        .collect();
    // the project's resources the contract describes (members, merge
    // requests): the first named segment after `/projects/{id}`
    let top = |path: &str| -> String {
        path.strip_prefix("/projects/{}/")
            .and_then(|rest| rest.split('/').next())
            .unwrap_or("")
            .to_string()
    };
    let covered: Vec<String> = ops.iter().map(|(_, p)| top(p)).collect();
    // within them, what the description has no operations for: what its
    // `absent_from_the_source` names (notes, discussions, label events) and
    // what its cut leaves out (approvals, an EE endpoint, and award emoji)
    let mut absent: Vec<String> = c["info"]["x-source"]["absent_from_the_source"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().trim_start_matches('/').to_string())
        .collect();
    // and the milestone events (doc/api/resource_milestone_events.md)
    absent.extend(["approvals", "award_emoji", "resource_milestone_events"].map(String::from));
    let mut checked = 0;
    for (method, path) in ROUTES {
        let path = shape(path);
        if !covered.contains(&top(&path)) || path.split('/').any(|s| absent.iter().any(|a| a == s))
        {
            continue;
        }
        checked += 1;
        assert!(
            ops.contains(&(method.to_string(), path.clone())),
            "{method} {path} is not an operation of gitlab-v4-subset.json"
        );
    }
    assert!(checked >= 8, "only {checked} routes were checked");
}

#[test]
fn the_router_serves_every_route_in_the_table_and_no_other() {
    let gl = gitlab("routes", seed_one("acme/api"));
    gl.branch("acme/api", "afk/issue-1");
    gl.api(
        "POST",
        "/projects/acme%2Fapi/merge_requests",
        json!({"source_branch": "afk/issue-1", "target_branch": "main", "title": "t"}),
    );
    let me = super::shapes::user_id("afk-bot").to_string();
    for (method, path) in ROUTES {
        let concrete = path
            .replace("{id}", "acme%2Fapi")
            .replace("{issue_iid}", "1")
            .replace("{merge_request_iid}", "1")
            .replace("{user_id}", &me)
            .replace("{note_id}", "1")
            .replace("{award_id}", "1")
            .replace("{discussion_id}", "1")
            .replace("{pipeline_id}", "1")
            .replace("{sha}", "0000000");
        let concrete = if *path == "/users/{id}" {
            format!("/users/{me}")
        } else {
            concrete
        };
        let a = gl.api(method, &concrete, Value::Null);
        assert!(
            a.body.get("error") != Some(&json!("404 Not Found")),
            "{method} {path} is in ROUTES but not routed"
        );
    }
    for (method, path) in [
        ("DELETE", "/projects/acme%2Fapi"),
        ("GET", "/projects/acme%2Fapi/pulls"),
        ("PATCH", "/projects/acme%2Fapi/issues/1"),
        ("GET", "/repos/acme/api"),
    ] {
        let a = gl.api(method, path, Value::Null);
        assert_eq!(a.body["error"], "404 Not Found", "{method} {path}");
    }
}

/// GitLab's note for a description edit
/// (`Issuable::CommonSystemNotesService#handle_description_change_note`):
/// a toggled task-list item is all it says, whatever else changed.
#[test]
fn a_description_edit_that_toggles_a_task_is_noted_as_the_toggle_alone() {
    let cases = [
        ("do it", "do it, and more", "changed the description"),
        (
            "- [ ] add the parser\n",
            "- [x] add the parser\nand more\n",
            "marked the checklist item **add the parser** as completed",
        ),
        (
            "- [X] one\n- [ ] two\n",
            "- [ ] one\n- [ ] two\n",
            "marked the checklist item **one** as incomplete",
        ),
        // a new task is no toggle
        (
            "- [ ] one\n",
            "- [ ] one\n- [x] two\n",
            "changed the description",
        ),
    ];
    for (old, new, want) in cases {
        assert_eq!(
            Forge::description_note(old, new),
            want,
            "{old:?} -> {new:?}"
        );
    }
}
