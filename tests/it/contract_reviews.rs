//! The conversation on a PR (docs/reviews.md) in both dialects, checked against
//! the review contracts (`tests/contracts/gitea-v1-review-subset.json`,
//! `github-review-subset.json`): reviews, line comments, reactions, branch
//! updates and `mergeable`, as the sandbox serves them and as the admin
//! calls a test plays the reviewer with change them.

use crate::contract::{check, def, gh_call, gh_check, gh_resolve, gh_response, list};
use crate::support::*;
use serde_json::{Value, json};

fn load(name: &str) -> Value {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/contracts")
        .join(name);
    serde_json::from_str(
        &std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display())),
    )
    .unwrap()
}

/// A PR `afk/issue-1` on acme/api, one comment on its issue, and two
/// reviews: alice asks for changes with two line comments; bob approves and
/// is dismissed. Returns (sandbox, pr, comment id, alice's review id, head).
fn seeded(d: Dialect) -> (Sandbox, u64, i64, i64, String) {
    let sb = Sandbox::start_in(
        d,
        json!({"repos": [{"name": "acme/api", "collaborators": {"alice": "write", "bob": "write"},
                          "issues": [ready(1, "alice")]}]}),
    );
    let head = sb.push_commit("acme/api", "afk/issue-1", "fix.txt");
    let pr = sb.open_pr("acme/api", "afk/issue-1", "Closes #1");
    let c = sb.admin(
        "POST",
        "/comment",
        Some(json!({"repo": "acme/api", "issue": 1, "body": "/afk stop", "user": "alice"})),
    );
    let alice = sb.admin(
        "POST",
        "/review",
        Some(
            json!({"repo": "acme/api", "pr": pr, "user": "alice", "state": "REQUEST_CHANGES",
                    "body": "please rename", "comments": [
                        {"path": "fix.txt", "line": 1, "body": "not this name"},
                        {"path": "README.md", "line": 2, "body": "and say why"}]}),
        ),
    );
    let bob = sb.admin(
        "POST",
        "/review",
        Some(json!({"repo": "acme/api", "pr": pr, "user": "bob", "state": "APPROVED"})),
    );
    sb.admin("POST", "/dismiss", Some(json!({"review": bob["id"]})));
    // a pending review only its author sees
    sb.admin(
        "POST",
        "/review",
        Some(json!({"repo": "acme/api", "pr": pr, "user": "carol", "state": "PENDING"})),
    );
    (
        sb,
        pr,
        c["id"].as_i64().unwrap(),
        alice["id"].as_i64().unwrap(),
        head,
    )
}

fn head_of(sb: &Sandbox, pr: u64) -> String {
    let (_, _, v) = gh_call(sb, "GET", &format!("/repos/acme/api/pulls/{pr}"), None);
    v["head"]["sha"].as_str().unwrap().to_string()
}

#[test]
fn gitea_reviews_reactions_and_branch_updates_match_the_contract() {
    let c = load("gitea-v1-review-subset.json");
    let (sb, pr, cid, alice, head) = seeded(Dialect::Gitea);
    let mut problems = vec![];
    let mut call = |method: &str, path: &str, body: Option<Value>, want: u16, schema: Value| {
        let (status, _, v) = gh_call(&sb, method, path, body);
        assert_eq!(status, want, "{method} {path}: {v}");
        check(&c, &schema, &v, &format!("{method} {path}"), &mut problems);
        v
    };
    let reviews = call(
        "GET",
        &format!("/repos/acme/api/pulls/{pr}/reviews"),
        None,
        200,
        list("PullReview"),
    );
    let got: Vec<(&str, &str, bool, bool)> = reviews
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["user"]["login"].as_str().unwrap(),
                r["state"].as_str().unwrap(),
                r["dismissed"].as_bool().unwrap(),
                r["stale"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("alice", "REQUEST_CHANGES", false, false),
            ("bob", "APPROVED", true, false)
        ],
        "carol's pending review is hers alone"
    );
    assert_eq!(reviews[0]["commit_id"], head.as_str());
    let one = call(
        "GET",
        &format!("/repos/acme/api/pulls/{pr}/reviews/{alice}"),
        None,
        200,
        def("PullReview"),
    );
    assert_eq!(one["body"], "please rename");
    let lines = call(
        "GET",
        &format!("/repos/acme/api/pulls/{pr}/reviews/{alice}/comments"),
        None,
        200,
        list("PullReviewComment"),
    );
    assert_eq!(
        (
            &lines[0]["path"],
            &lines[0]["position"],
            &lines[0]["pull_request_review_id"]
        ),
        (&json!("fix.txt"), &json!(1), &json!(alice))
    );
    let path = format!("/repos/acme/api/issues/comments/{cid}/reactions");
    let r = call(
        "POST",
        &path,
        Some(json!({"content": "eyes"})),
        201,
        def("Reaction"),
    );
    assert_eq!(r["user"]["login"], "afk-bot");
    call(
        "POST",
        &path,
        Some(json!({"content": "eyes"})),
        200,
        def("Reaction"),
    );
    let all = call("GET", &path, None, 200, list("Reaction"));
    assert_eq!(
        all.as_array().unwrap().len(),
        1,
        "one reaction per user and kind"
    );
    // the base moves: an update merges it into the head branch, a new commit
    let base = sb.push_commit("acme/api", "main", "base.txt");
    let (status, _, _) = gh_call(
        &sb,
        "POST",
        &format!("/repos/acme/api/pulls/{pr}/update?style=merge"),
        None,
    );
    assert_eq!(status, 200);
    let moved = head_of(&sb, pr);
    assert_ne!(moved, head);
    let remote = sb.git.join("acme/api.git");
    let parents = git(&remote, &["rev-list", "--parents", "-n", "1", &moved]);
    assert!(
        parents.contains(&head) && parents.contains(&base),
        "{parents}"
    );
    let (_, _, v) = gh_call(
        &sb,
        "GET",
        &format!("/repos/acme/api/pulls/{pr}/reviews"),
        None,
    );
    assert_eq!(v[0]["stale"], true, "a review of an older head is stale");
    // a conflict is a 409 and changes nothing
    sb.admin(
        "POST",
        "/branch_update",
        Some(json!({"repo": "acme/api", "pr": pr, "outcome": "conflict"})),
    );
    let (status, _, v) = gh_call(
        &sb,
        "POST",
        &format!("/repos/acme/api/pulls/{pr}/update?style=rebase"),
        None,
    );
    assert_eq!((status, head_of(&sb, pr)), (409, moved.clone()), "{v}");
    // mergeable: Gitea has no null, and says false while it checks
    for (set, want) in [
        (json!(false), false),
        (Value::Null, false),
        (json!(true), true),
    ] {
        sb.admin(
            "POST",
            "/mergeable",
            Some(json!({"repo": "acme/api", "pr": pr, "mergeable": set})),
        );
        let (_, _, v) = gh_call(&sb, "GET", &format!("/repos/acme/api/pulls/{pr}"), None);
        assert_eq!(v["mergeable"], want, "{set}");
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn every_gitea_review_path_afk_calls_exists_in_the_contract() {
    let c = load("gitea-v1-review-subset.json");
    for (method, p) in [
        ("get", "/repos/{owner}/{repo}/pulls/{index}/reviews"),
        (
            "get",
            "/repos/{owner}/{repo}/pulls/{index}/reviews/{id}/comments",
        ),
        (
            "post",
            "/repos/{owner}/{repo}/issues/comments/{id}/reactions",
        ),
        ("post", "/repos/{owner}/{repo}/pulls/{index}/update"),
    ] {
        assert!(c["paths"][p][method].is_object(), "{method} {p}");
    }
    for (d, fields) in [
        (
            "PullReview",
            &[
                "id",
                "state",
                "dismissed",
                "commit_id",
                "submitted_at",
                "body",
                "user",
            ][..],
        ),
        (
            "PullReviewComment",
            &[
                "id",
                "path",
                "position",
                "original_position",
                "body",
                "user",
                "pull_request_review_id",
            ][..],
        ),
    ] {
        for f in fields {
            assert!(
                c["definitions"][d]["properties"].get(*f).is_some(),
                "{d}.{f}"
            );
        }
    }
    let styles = &c["paths"]["/repos/{owner}/{repo}/pulls/{index}/update"]["post"]["parameters"];
    assert!(
        styles
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["name"] == "style" && p["enum"] == json!(["merge", "rebase"])),
        "{styles}"
    );
}

#[test]
fn github_reviews_reactions_and_branch_updates_match_the_contract() {
    let c = load("github-review-subset.json");
    let rest = load("github-rest-subset.json");
    let (sb, pr, cid, alice, head) = seeded(Dialect::Github);
    let mut problems = vec![];
    let mut call = |method: &str, path: &str, template: &str, body: Option<Value>, want: u16| {
        let (status, hs, v) = gh_call(&sb, method, path, body);
        assert_eq!(status, want, "{method} {path}: {v}");
        gh_check(
            &c,
            gh_response(&c, method, template, status),
            &v,
            &format!("{method} {path}"),
            &mut problems,
        );
        (hs, v)
    };
    let p = "/repos/{owner}/{repo}/pulls/{pull_number}";
    let (hs, reviews) = call(
        "GET",
        &format!("/repos/acme/api/pulls/{pr}/reviews"),
        &format!("{p}/reviews"),
        None,
        200,
    );
    let got: Vec<(&str, &str)> = reviews
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["user"]["login"].as_str().unwrap(),
                r["state"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(got, [("alice", "CHANGES_REQUESTED"), ("bob", "DISMISSED")]);
    assert_eq!(reviews[0]["commit_id"], head.as_str());
    call(
        "GET",
        &format!("/repos/acme/api/pulls/{pr}/reviews/{alice}"),
        &format!("{p}/reviews/{{review_id}}"),
        None,
        200,
    );
    let (_, lines) = call(
        "GET",
        &format!("/repos/acme/api/pulls/{pr}/comments"),
        &format!("{p}/comments"),
        None,
        200,
    );
    assert_eq!(lines.as_array().unwrap().len(), 2);
    assert_eq!(
        (
            &lines[1]["path"],
            &lines[1]["line"],
            &lines[1]["pull_request_review_id"]
        ),
        (&json!("README.md"), &json!(2), &json!(alice))
    );
    // the review list is conditional: asked again with its tag, a free 304
    let etag = hs
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("etag"))
        .map(|(_, v)| v.clone())
        .expect("an ETag");
    let resp = ureq::get(&format!(
        "{}/repos/acme/api/pulls/{pr}/reviews",
        sb.api_url()
    ))
    .set("Authorization", &format!("Bearer {TOKEN}"))
    .set("If-None-Match", &etag)
    .call()
    .unwrap();
    assert_eq!(resp.status(), 304);
    let r = "/repos/{owner}/{repo}/issues/comments/{comment_id}/reactions";
    let path = format!("/repos/acme/api/issues/comments/{cid}/reactions");
    call("POST", &path, r, Some(json!({"content": "eyes"})), 201);
    call("POST", &path, r, Some(json!({"content": "eyes"})), 200);
    let (_, all) = call("GET", &path, r, None, 200);
    assert_eq!(all.as_array().unwrap().len(), 1);
    let (status, _, _) = gh_call(&sb, "POST", &path, Some(json!({"content": "party"})));
    assert_eq!(status, 422, "an unknown reaction");
    // update-branch: nothing new on the base, then a head that moved, then done
    let u = format!("/repos/acme/api/pulls/{pr}/update-branch");
    let t = format!("{p}/update-branch");
    let (_, v) = call("PUT", &u, &t, Some(json!({"expected_head_sha": head})), 422);
    assert_eq!(v["message"], "There are no new commits on the base branch.");
    sb.push_commit("acme/api", "main", "base.txt");
    let stale = "0".repeat(40);
    let (_, v) = call(
        "PUT",
        &u,
        &t,
        Some(json!({"expected_head_sha": stale})),
        422,
    );
    assert_eq!(
        v["message"],
        "expected head sha didn't match current head ref."
    );
    call("PUT", &u, &t, Some(json!({"expected_head_sha": head})), 202);
    let moved = head_of(&sb, pr);
    assert_ne!(moved, head);
    sb.push_commit("acme/api", "main", "base2.txt");
    sb.admin(
        "POST",
        "/branch_update",
        Some(json!({"repo": "acme/api", "pr": pr, "outcome": "conflict"})),
    );
    let (_, v) = call(
        "PUT",
        &u,
        &t,
        Some(json!({"expected_head_sha": moved})),
        422,
    );
    assert_eq!(v["message"], "merge conflict between base and head");
    assert_eq!(head_of(&sb, pr), moved, "a conflict changes nothing");
    // mergeable on the PR: true, false or null (still computing), as the full contract allows
    let schema = json!({"$ref": "#/components/schemas/pull-request"});
    for (set, state) in [
        (json!(false), "dirty"),
        (Value::Null, "unknown"),
        (json!(true), "clean"),
    ] {
        sb.admin(
            "POST",
            "/mergeable",
            Some(json!({"repo": "acme/api", "pr": pr, "mergeable": set})),
        );
        let (_, _, v) = gh_call(&sb, "GET", &format!("/repos/acme/api/pulls/{pr}"), None);
        assert_eq!(
            (&v["mergeable"], &v["mergeable_state"]),
            (&set, &json!(state))
        );
        gh_check(&rest, &schema, &v, "pull", &mut problems);
    }
    let m = gh_resolve(&rest, &schema)["properties"]["mergeable"].clone();
    assert_eq!(
        (&m["type"], &m["nullable"]),
        (&json!("boolean"), &json!(true))
    );
    // a reply in alice's thread (its own comment review, in_reply_to_id),
    // then a push that outdates every comment (no position, no line):
    // still the published shape
    sb.admin(
        "POST",
        "/reply",
        Some(json!({"review": alice, "user": "bob", "body": "agreed"})),
    );
    sb.push_commit("acme/api", "afk/issue-1", "later.txt");
    let path = format!("/repos/acme/api/pulls/{pr}/comments");
    let (status, _, lines) = gh_call(&sb, "GET", &path, None);
    assert_eq!(status, 200);
    let t = "/repos/{owner}/{repo}/pulls/{pull_number}/comments";
    gh_check(
        &c,
        gh_response(&c, "GET", t, 200),
        &lines,
        &path,
        &mut problems,
    );
    let all = lines.as_array().unwrap();
    assert_eq!(all.len(), 3, "{lines}");
    assert_eq!(all[2]["in_reply_to_id"], all[0]["id"], "{lines}");
    assert!(
        all[0].get("in_reply_to_id").is_none(),
        "a thread's first names none"
    );
    assert!(
        all[0]["line"].is_null() && all[0]["position"].is_null(),
        "outdated: {lines}"
    );
    assert_eq!(
        (&all[0]["original_line"], &all[0]["original_commit_id"]),
        (&json!(1), &json!(head))
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn every_review_request_afk_makes_is_in_the_contract() {
    use afk::forge::{Target, UpdateStyle};
    use afk::types::{IssueNumber, PrNumber, RepoName};
    // GitLab's conversation is notes, discussions, award emoji and a rebase,
    // operations its description mostly lacks: contract_gitlab.rs holds
    // every request afk makes there to the contract or its documented page;
    // Azure DevOps' votes and threads are contract_azure.rs's
    for d in played().filter(|d| !matches!(d, Dialect::Gitlab | Dialect::AzureDevops)) {
        let name = d.contracts().1;
        let c = load(name);
        let (sb, pr, cid, alice, head) = seeded(d);
        sb.push_commit("acme/api", "main", "base.txt");
        let f = crate::forge_reviews::client(&sb, &Default::default());
        let repo = RepoName::parse("acme/api").unwrap();
        sb.clear_requests();
        assert_eq!(f.reviews(&repo, PrNumber(pr)).unwrap().len(), 2);
        assert_eq!(
            f.line_comments(&repo, PrNumber(pr), alice)
                .unwrap()
                .kept
                .len(),
            2
        );
        f.react(&repo, Target::Issue(IssueNumber(1)), cid, "eyes")
            .unwrap();
        f.update_branch(&repo, PrNumber(pr), UpdateStyle::Merge, &head, None)
            .unwrap();
        let reqs = sb.requests();
        // Gitea counts carol's pending review in `X-Total-Count` and drops
        // it from the page: the reviews are read to the count, so an empty
        // second page ends them (docs/fidelity/gitea.md)
        let want = if d == Dialect::Gitea { 5 } else { 4 };
        assert_eq!(reqs.len(), want, "{reqs:?}");
        let mut problems = vec![];
        for q in &reqs {
            let (method, path) = (q["method"].as_str().unwrap(), q["path"].as_str().unwrap());
            let Some(t) = crate::contract::gh_template(&c, path) else {
                problems.push(format!("{method} {path}: no such path in {name}"));
                continue;
            };
            let op = &c["paths"][t][method.to_ascii_lowercase()];
            if !op.is_object() {
                problems.push(format!("{method} {t}: no such method in {name}"));
                continue;
            }
            let params: Vec<&Value> = op["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|p| gh_resolve(&c, p))
                .collect();
            for kv in q["query"].as_str().unwrap_or("").split('&') {
                let Some((k, v)) = kv.split_once('=') else {
                    continue;
                };
                match params.iter().find(|p| p["in"] == "query" && p["name"] == k) {
                    None => {
                        problems.push(format!("{method} {t}: query \"{k}\" is not a parameter"))
                    }
                    Some(p) => {
                        let allowed = p.get("enum").or(p["schema"].get("enum"));
                        if allowed.is_some_and(|e| !e.as_array().unwrap().iter().any(|x| x == v)) {
                            problems.push(format!("{method} {t}: {k}={v} is not allowed"));
                        }
                    }
                }
            }
            if q["body"].is_null() {
                continue;
            }
            // how a body is described differs with the contract's format
            match c.get("openapi").is_some() {
                true => {
                    let schema = &op["requestBody"]["content"]["application/json"]["schema"];
                    gh_check(
                        &c,
                        schema,
                        &q["body"],
                        &format!("{method} {t}"),
                        &mut problems,
                    );
                }
                false => {
                    let Some(p) = params.iter().find(|p| p["in"] == "body") else {
                        problems.push(format!("{method} {t}: takes no body"));
                        continue;
                    };
                    check(
                        &c,
                        &p["schema"],
                        &q["body"],
                        &format!("{method} {t}"),
                        &mut problems,
                    );
                }
            }
        }
        assert!(problems.is_empty(), "{name}:\n{}", problems.join("\n"));
    }
}
