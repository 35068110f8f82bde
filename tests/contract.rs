//! The sandbox's answers checked against the real Gitea v1 contract
//! (`../shared/contracts/gitea-v1-subset.json`), and the fields afk's client
//! reads checked to exist there: the fake cannot drift from the real API.

mod support;

use serde_json::{Value, json};
use support::*;

fn contract() -> Value {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/contracts/gitea-v1-subset.json");
    serde_json::from_str(
        &std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display())),
    )
    .unwrap()
}

fn resolve<'a>(c: &'a Value, schema: &'a Value) -> &'a Value {
    match schema.get("$ref").and_then(|r| r.as_str()) {
        Some(r) => {
            let name = r.trim_start_matches("#/definitions/");
            &c["definitions"][name]
        }
        None => schema,
    }
}

/// Every key of `v` must be a declared property of `schema`, with a matching type.
fn check(c: &Value, schema: &Value, v: &Value, at: &str, problems: &mut Vec<String>) {
    let schema = resolve(c, schema);
    if v.is_null() {
        return; // Go pointers and slices serialise as null
    }
    let ty = schema.get("type").and_then(|t| t.as_str()).unwrap_or(
        if schema.get("properties").is_some() {
            "object"
        } else {
            ""
        },
    );
    let ok = match ty {
        "object" => v.is_object(),
        "array" => v.is_array(),
        "string" => v.is_string(),
        "integer" => v.is_i64() || v.is_u64(),
        "number" => v.is_number(),
        "boolean" => v.is_boolean(),
        _ => true,
    };
    if !ok {
        problems.push(format!("{at}: expected {ty}, got {v}"));
        return;
    }
    if let (Some(props), Some(obj)) = (
        schema.get("properties").and_then(|p| p.as_object()),
        v.as_object(),
    ) {
        for (k, val) in obj {
            match props.get(k) {
                None => problems.push(format!("{at}.{k}: not in the contract")),
                Some(s) => check(c, s, val, &format!("{at}.{k}"), problems),
            }
        }
    }
    if let (Some(items), Some(arr)) = (schema.get("items"), v.as_array()) {
        for (i, x) in arr.iter().enumerate() {
            check(c, items, x, &format!("{at}[{i}]"), problems);
        }
    }
}

fn def(name: &str) -> Value {
    json!({"$ref": format!("#/definitions/{name}")})
}
fn list(name: &str) -> Value {
    json!({"type": "array", "items": def(name)})
}

#[test]
fn sandbox_answers_match_the_gitea_contract() {
    let c = contract();
    let sb = Sandbox::start(json!({"repos": [repo("acme/api", json!([
        {"number": 1, "title": "blocker"},
        {"number": 2, "title": "t", "body": "b", "labels": ["ready-for-agent", "priority/high"], "labeled_by": "alice", "depends_on": [1]},
        {"number": 3, "title": "a PR", "pull": true},
    ]))]}));
    // a comment, posted through the API as afk would
    let resp = ureq::post(&format!(
        "{}/api/v1/repos/acme/api/issues/2/comments",
        sb.url
    ))
    .set("Authorization", &format!("token {TOKEN}"))
    .send_json(json!({"body": "hello"}))
    .unwrap();
    assert_eq!(resp.status(), 201);
    let comment: Value = resp.into_json().unwrap();
    let cases = [
        ("/user", def("User")),
        ("/repos/acme/api", def("Repository")),
        (
            "/repos/acme/api/issues?state=open&labels=ready-for-agent",
            list("Issue"),
        ),
        ("/repos/acme/api/issues?state=all", list("Issue")),
        ("/repos/acme/api/issues/2", def("Issue")),
        ("/repos/acme/api/issues/2/timeline", list("TimelineComment")),
        ("/repos/acme/api/issues/2/dependencies", list("Issue")),
        ("/repos/acme/api/issues/2/labels", list("Label")),
        ("/repos/acme/api/labels", list("Label")),
        ("/repos/acme/api/issues/2/comments", list("Comment")),
        (
            &format!("/repos/acme/api/issues/comments/{}", comment["id"]),
            def("Comment"),
        ),
        (
            "/repos/acme/api/collaborators/alice/permission",
            def("RepoCollaboratorPermission"),
        ),
    ];
    let mut problems = vec![];
    for (path, schema) in cases.iter() {
        let (status, v) = sb.api(path);
        assert_eq!(status, 200, "{path}");
        assert!(!v.is_null(), "{path}");
        if let Some(a) = v.as_array() {
            assert!(
                !a.is_empty(),
                "{path} returned an empty list; the check would prove nothing"
            );
        }
        check(&c, schema, &v, path, &mut problems);
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn every_path_afk_calls_exists_in_the_contract() {
    let c = contract();
    let paths = c["paths"].as_object().unwrap();
    for (method, p) in [
        ("get", "/user"),
        ("get", "/repos/{owner}/{repo}/issues"),
        ("get", "/repos/{owner}/{repo}/issues/{index}"),
        ("get", "/repos/{owner}/{repo}/issues/{index}/timeline"),
        ("get", "/repos/{owner}/{repo}/issues/{index}/dependencies"),
        ("get", "/repos/{owner}/{repo}/labels"),
        ("post", "/repos/{owner}/{repo}/labels"),
        ("post", "/repos/{owner}/{repo}/issues/{index}/labels"),
        ("delete", "/repos/{owner}/{repo}/issues/{index}/labels/{id}"),
        ("patch", "/repos/{owner}/{repo}/issues/{index}"),
        ("get", "/repos/{owner}/{repo}/pulls"),
        ("get", "/repos/{owner}/{repo}/pulls/{index}"),
        ("get", "/repos/{owner}/{repo}/commits/{ref}/status"),
        ("get", "/repos/{owner}/{repo}/issues/{index}/comments"),
        ("post", "/repos/{owner}/{repo}/issues/{index}/comments"),
        ("patch", "/repos/{owner}/{repo}/issues/comments/{id}"),
        (
            "get",
            "/repos/{owner}/{repo}/collaborators/{collaborator}/permission",
        ),
    ] {
        assert!(
            paths.get(p).and_then(|x| x.get(method)).is_some(),
            "{method} {p}"
        );
    }
    // label writes take numeric ids in this API
    let items = &c["definitions"]["IssueLabelsOption"]["properties"]["labels"]["items"];
    assert_eq!(items["type"], "integer");
}

#[test]
fn fields_afk_reads_are_in_the_contract() {
    let c = contract();
    for (def, fields) in [
        (
            "Issue",
            &[
                "id",
                "number",
                "title",
                "body",
                "state",
                "labels",
                "html_url",
                "pull_request",
                "repository",
            ][..],
        ),
        ("Label", &["id", "name"][..]),
        (
            "TimelineComment",
            &["id", "type", "body", "label", "user"][..],
        ),
        ("RepoCollaboratorPermission", &["permission"][..]),
        ("Comment", &["id", "body", "html_url"][..]),
        ("User", &["id", "login"][..]),
        ("RepositoryMeta", &["full_name"][..]),
        (
            "PullRequest",
            &[
                "number",
                "state",
                "merged",
                "merge_commit_sha",
                "head",
                "body",
                "html_url",
            ][..],
        ),
        ("PRBranchInfo", &["ref", "sha"][..]),
        ("CombinedStatus", &["state", "sha", "statuses"][..]),
        ("CommitStatus", &["context", "status", "target_url"][..]),
    ] {
        for f in fields {
            assert!(
                c["definitions"][def]["properties"].get(*f).is_some(),
                "{def}.{f}"
            );
        }
    }
}

#[test]
fn pulls_and_statuses_match_the_gitea_contract() {
    let c = contract();
    let sb = Sandbox::start(json!({"repos": [repo("acme/api", json!([ready(1, "alice")]))]}));
    let sha = sb.push_commit("acme/api", "afk/issue-1", "fix.txt");
    let pr = sb.open_pr("acme/api", "afk/issue-1", "Closes #1");
    assert_eq!(
        sb.status("acme/api", "afk/issue-1", "ci/build", "success"),
        sha
    );
    sb.status("acme/api", "afk/issue-1", "ci/test", "pending");
    let mut problems = vec![];
    let (_, v) = sb.api(&format!("/repos/acme/api/pulls/{pr}"));
    assert_eq!(
        v["head"]["sha"],
        sha.as_str(),
        "the head sha is the real pushed commit"
    );
    check(&c, &def("PullRequest"), &v, "pull", &mut problems);
    let (_, v) = sb.api("/repos/acme/api/pulls?state=open");
    assert_eq!(v.as_array().unwrap().len(), 1);
    check(&c, &list("PullRequest"), &v, "pulls", &mut problems);
    let (_, v) = sb.api(&format!("/repos/acme/api/commits/{sha}/status"));
    assert_eq!(v["state"], "pending");
    assert_eq!(v["statuses"].as_array().unwrap().len(), 2);
    check(&c, &def("CombinedStatus"), &v, "combined", &mut problems);
    let (_, v) = sb.api(&format!("/repos/acme/api/statuses/{sha}"));
    check(&c, &list("CommitStatus"), &v, "statuses", &mut problems);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    // merging makes a real merge commit and closes the issue the body names
    let merge = sb.merge("acme/api", pr);
    let (_, v) = sb.api(&format!("/repos/acme/api/pulls/{pr}"));
    assert_eq!(
        (v["merged"].as_bool(), v["merge_commit_sha"].as_str()),
        (Some(true), Some(merge.as_str()))
    );
    let remote = sb.git.join("acme/api.git");
    let parents = git(&remote, &["rev-list", "--parents", "-n", "1", &merge]);
    assert!(
        parents.contains(&sha),
        "the head is a parent of the merge commit"
    );
    assert_eq!(sb.issue("acme/api", 1)["state"], "closed");
}
