//! afk's wire on GitLab checked against GitLab's own description (#59,
//! docs/gitlab.md): real ticks of the binary (poll, watch, the conversation
//! on the merge request, doctor) against `afk sandbox --dialect gitlab`, then
//! every request the sandbox logged held to
//! `tests/contracts/gitlab-v4-subset.json` where that transcription of
//! GitLab's generated OpenAPI description has the operation (method and path
//! template, every query parameter declared), and otherwise to [`OPS`], the
//! operations of GitLab's documentation pages afk's client follows, each
//! listed with the page and why the contract lacks it. The description's
//! request-body and response definitions were not copied into the contract
//! (`x-not-copied`): bodies are checked against the documented attributes in
//! [`OPS`], and the sandbox's answers against the fields afk's client reads
//! ([`READS`], each from the page that documents it).
//!
//! Not in the request log, so not here: git over smart HTTP
//! (`/<full path>.git/info/refs`, `git-upload-pack`, `git-receive-pack`),
//! which GitLab's REST description does not cover; the sandbox serves it
//! apart from the API and `workspace.rs` tests what afk sends there.

use crate::support::*;
use serde_json::{Value, json};

/// Where an operation afk uses is described.
#[derive(Clone, Copy, PartialEq, Debug)]
enum From {
    /// in `gitlab-v4-subset.json` (its query parameters are taken from there)
    Contract,
    /// only on this documentation page (gitlab-org/gitlab `doc/api/…`): the
    /// generated description has no operation for it, or the cut left it out
    Doc(&'static str),
}

/// One operation afk may send: method, path under `/api/v4` (GitLab's
/// parameter names), the documented query parameters (for [`From::Doc`]),
/// the documented body attributes, and where it is described.
struct Op {
    method: &'static str,
    path: &'static str,
    query: &'static [&'static str],
    body: &'static [&'static str],
    from: From,
}

const PAGED: &[&str] = &["page", "per_page"];
const NOTE_BODY: &[&str] = &["body", "confidential", "internal", "created_at"];
const ISSUE_EDIT: &[&str] = &[
    "title",
    "description",
    "state_event",
    "labels",
    "add_labels",
    "remove_labels",
    "assignee_ids",
    "milestone_id",
    "confidential",
    "discussion_locked",
    "due_date",
    "issue_type",
    "weight",
];

/// Every operation afk's GitLab forge sends, and where GitLab describes it.
const OPS: &[Op] = &[
    Op {
        method: "GET",
        path: "/user",
        query: &[],
        body: &[],
        from: From::Doc("users.md (Get the current user): the description's cut has no users"),
    },
    Op {
        method: "GET",
        path: "/users",
        query: &["username", "search", "active", "page", "per_page"],
        body: &[],
        from: From::Doc("users.md (List users, `username`)"),
    },
    Op {
        method: "GET",
        path: "/users/{id}",
        query: &[],
        body: &[],
        from: From::Doc("users.md (Get a single user: `bot`, `state`)"),
    },
    Op {
        method: "GET",
        path: "/personal_access_tokens/self",
        query: &[],
        body: &[],
        from: From::Doc("personal_access_tokens.md (Get details on a personal access token)"),
    },
    Op {
        method: "GET",
        path: "/projects/{id}",
        query: &["statistics", "license", "with_custom_attributes"],
        body: &[],
        from: From::Doc("projects.md (Get a single project)"),
    },
    Op {
        method: "GET",
        path: "/projects/{id}/members/all/{user_id}",
        query: &[],
        body: &[],
        from: From::Contract,
    },
    Op {
        method: "GET",
        path: "/projects/{id}/labels",
        query: &[
            "with_counts",
            "include_ancestor_groups",
            "search",
            "page",
            "per_page",
        ],
        body: &[],
        from: From::Doc("labels.md: absent from the description's source"),
    },
    Op {
        method: "POST",
        path: "/projects/{id}/labels",
        query: &[],
        body: &["name", "color", "description", "priority"],
        from: From::Doc("labels.md (Create a new label)"),
    },
    Op {
        method: "GET",
        path: "/projects/{id}/protected_branches",
        query: &["search", "page", "per_page"],
        body: &[],
        from: From::Doc("protected_branches.md"),
    },
    Op {
        method: "GET",
        path: "/projects/{id}/hooks",
        query: PAGED,
        body: &[],
        from: From::Doc("projects.md (List project hooks; doctor with [hook])"),
    },
    Op {
        method: "GET",
        path: "/projects/{id}/issues",
        query: &[
            "state", "labels", "order_by", "sort", "iids[]", "page", "per_page",
        ],
        body: &[],
        from: From::Doc("issues.md (List project issues): the cut has no issues"),
    },
    Op {
        method: "GET",
        path: "/projects/{id}/issues/{issue_iid}",
        query: &[],
        body: &[],
        from: From::Doc("issues.md (Single project issue)"),
    },
    Op {
        method: "PUT",
        path: "/projects/{id}/issues/{issue_iid}",
        query: &[],
        body: ISSUE_EDIT,
        from: From::Doc("issues.md (Edit an issue: add_labels, remove_labels, state_event)"),
    },
    Op {
        method: "GET",
        path: "/projects/{id}/issues/{issue_iid}/resource_label_events",
        query: PAGED,
        body: &[],
        from: From::Doc("resource_label_events.md: absent from the description's source"),
    },
    Op {
        method: "GET",
        path: "/projects/{id}/issues/{issue_iid}/resource_state_events",
        query: PAGED,
        body: &[],
        from: From::Doc("resource_state_events.md: absent from the description's source"),
    },
    Op {
        method: "GET",
        path: "/projects/{id}/issues/{issue_iid}/resource_milestone_events",
        query: PAGED,
        body: &[],
        from: From::Doc("resource_milestone_events.md: absent from the description's source"),
    },
    Op {
        method: "GET",
        path: "/projects/{id}/issues/{issue_iid}/resource_weight_events",
        query: PAGED,
        body: &[],
        from: From::Doc(
            "resource_weight_events.md (Premium): absent from the description's source",
        ),
    },
    Op {
        method: "GET",
        path: "/projects/{id}/issues/{issue_iid}/resource_iteration_events",
        query: PAGED,
        body: &[],
        from: From::Doc(
            "resource_iteration_events.md (Premium): absent from the description's source",
        ),
    },
    Op {
        method: "GET",
        path: "/projects/{id}/issues/{issue_iid}/links",
        query: &[],
        body: &[],
        from: From::Doc("issue_links.md (List issue relations)"),
    },
    Op {
        method: "GET",
        path: "/projects/{id}/issues/{issue_iid}/notes",
        query: &["sort", "order_by", "activity_filter", "page", "per_page"],
        body: &[],
        from: From::Doc("notes.md: absent from the description's source"),
    },
    Op {
        method: "POST",
        path: "/projects/{id}/issues/{issue_iid}/notes",
        query: &[],
        body: NOTE_BODY,
        from: From::Doc("notes.md (Create new issue note)"),
    },
    Op {
        method: "PUT",
        path: "/projects/{id}/issues/{issue_iid}/notes/{note_id}",
        query: &[],
        body: &["body", "confidential"],
        from: From::Doc("notes.md (Modify existing issue note)"),
    },
    Op {
        method: "GET",
        path: "/projects/{id}/issues/{issue_iid}/notes/{note_id}/award_emoji",
        query: PAGED,
        body: &[],
        from: From::Doc("emoji_reactions.md: the cut has no award emoji"),
    },
    Op {
        method: "POST",
        path: "/projects/{id}/issues/{issue_iid}/notes/{note_id}/award_emoji",
        query: &[],
        body: &["name"],
        from: From::Doc("emoji_reactions.md (Add a new emoji reaction to a comment)"),
    },
    Op {
        method: "GET",
        path: "/projects/{id}/merge_requests",
        query: &[],
        body: &[],
        from: From::Contract,
    },
    Op {
        method: "POST",
        path: "/projects/{id}/merge_requests",
        query: &[],
        body: &[
            "source_branch",
            "target_branch",
            "title",
            "description",
            "assignee_id",
            "assignee_ids",
            "reviewer_ids",
            "labels",
            "milestone_id",
            "remove_source_branch",
            "allow_collaboration",
            "squash",
            "target_project_id",
        ],
        from: From::Contract,
    },
    Op {
        method: "GET",
        path: "/projects/{id}/merge_requests/{merge_request_iid}",
        query: &[],
        body: &[],
        from: From::Contract,
    },
    Op {
        method: "PUT",
        path: "/projects/{id}/merge_requests/{merge_request_iid}",
        query: &[],
        body: &[
            "title",
            "description",
            "state_event",
            "target_branch",
            "labels",
            "add_labels",
            "remove_labels",
            "assignee_ids",
            "reviewer_ids",
            "milestone_id",
            "remove_source_branch",
            "squash",
            "discussion_locked",
            "allow_collaboration",
        ],
        from: From::Contract,
    },
    Op {
        method: "GET",
        path: "/projects/{id}/merge_requests/{merge_request_iid}/pipelines",
        query: &[],
        body: &[],
        from: From::Contract,
    },
    Op {
        method: "PUT",
        path: "/projects/{id}/merge_requests/{merge_request_iid}/rebase",
        query: &[],
        body: &["skip_ci"],
        from: From::Contract,
    },
    Op {
        method: "GET",
        path: "/projects/{id}/merge_requests/{merge_request_iid}/reviewers",
        query: &[],
        body: &[],
        from: From::Contract,
    },
    Op {
        method: "GET",
        path: "/projects/{id}/merge_requests/{merge_request_iid}/approvals",
        query: &[],
        body: &[],
        from: From::Doc("merge_request_approvals.md: the cut leaves approvals out"),
    },
    Op {
        method: "GET",
        path: "/projects/{id}/merge_requests/{merge_request_iid}/discussions",
        query: PAGED,
        body: &[],
        from: From::Doc("discussions.md: absent from the description's source"),
    },
    Op {
        method: "GET",
        path: "/projects/{id}/merge_requests/{merge_request_iid}/notes",
        query: &["sort", "order_by", "page", "per_page"],
        body: &[],
        from: From::Doc("notes.md: absent from the description's source"),
    },
    Op {
        method: "POST",
        path: "/projects/{id}/merge_requests/{merge_request_iid}/notes",
        query: &[],
        body: NOTE_BODY,
        from: From::Doc("notes.md (Create new merge request note)"),
    },
    Op {
        method: "PUT",
        path: "/projects/{id}/merge_requests/{merge_request_iid}/notes/{note_id}",
        query: &[],
        body: &["body", "confidential"],
        from: From::Doc("notes.md (Modify existing merge request note)"),
    },
    Op {
        method: "GET",
        path: "/projects/{id}/merge_requests/{merge_request_iid}/notes/{note_id}/award_emoji",
        query: PAGED,
        body: &[],
        from: From::Doc("emoji_reactions.md: the cut has no award emoji"),
    },
    Op {
        method: "POST",
        path: "/projects/{id}/merge_requests/{merge_request_iid}/notes/{note_id}/award_emoji",
        query: &[],
        body: &["name"],
        from: From::Doc("emoji_reactions.md (Add a new emoji reaction to a comment)"),
    },
    Op {
        method: "GET",
        path: "/projects/{id}/pipelines/{pipeline_id}/jobs",
        query: &["scope", "scope[]", "include_retried", "page", "per_page"],
        body: &[],
        from: From::Doc("jobs.md (List pipeline jobs): the cut has no pipelines"),
    },
    Op {
        method: "GET",
        path: "/projects/{id}/repository/commits",
        query: &[
            "ref_name",
            "since",
            "until",
            "path",
            "all",
            "with_stats",
            "first_parent",
            "order",
            "page",
            "per_page",
        ],
        body: &[],
        from: From::Doc("commits.md (List repository commits): the cut has no repository"),
    },
    Op {
        method: "GET",
        path: "/projects/{id}/repository/commits/{sha}/diff",
        query: &["unidiff", "page", "per_page"],
        body: &[],
        from: From::Doc("commits.md (Get the diff of a commit)"),
    },
    Op {
        method: "GET",
        path: "/projects/{id}/repository/commits/{sha}/statuses",
        query: &[
            "ref",
            "stage",
            "name",
            "pipeline_id",
            "all",
            "order_by",
            "sort",
            "page",
            "per_page",
        ],
        body: &[],
        from: From::Doc("commits.md (List the statuses of a commit)"),
    },
    Op {
        method: "GET",
        path: "/projects/{id}/repository/branches/{branch}",
        query: &[],
        body: &[],
        from: From::Doc("branches.md (Get single repository branch)"),
    },
    // GitLab's GraphQL, `/api/graphql` beside the REST root (the sandbox
    // logs it as `/graphql`): a note's `lastEditedAt`
    Op {
        method: "POST",
        path: "/graphql",
        query: &[],
        body: &["query", "variables", "operationName"],
        from: From::Doc("api/graphql/reference/_index.md (Query.note, Note.lastEditedAt)"),
    },
];

fn contract() -> Value {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/contracts/gitlab-v4-subset.json");
    serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap()
}

/// Whether `path` (raw, the project one encoded segment) fits `template`.
fn fits(template: &str, path: &str) -> bool {
    let t: Vec<&str> = template.trim_matches('/').split('/').collect();
    let p: Vec<&str> = path.trim_matches('/').split('/').collect();
    t.len() == p.len()
        && t.iter()
            .zip(&p)
            .all(|(t, p)| (t.starts_with('{') && !p.is_empty()) || t == p)
}

/// The contract's operation `method template` (template under `/api/v4`).
fn contract_op<'a>(c: &'a Value, method: &str, template: &str) -> Option<&'a Value> {
    c["paths"][format!("/api/v4{template}")]
        .get(method.to_ascii_lowercase())
        .filter(|op| op.is_object())
}

/// What is wrong with one logged request `q` (`{method, path, query, body}`).
fn problems_of(c: &Value, q: &Value) -> Vec<String> {
    let (method, path) = (q["method"].as_str().unwrap(), q["path"].as_str().unwrap());
    let Some(op) = OPS
        .iter()
        .find(|o| o.method == method && fits(o.path, path))
    else {
        return vec![format!("{method} {path}: in neither the contract nor OPS")];
    };
    let mut out = vec![];
    let declared: Vec<String> = match op.from {
        From::Contract => contract_op(c, method, op.path)
            .map(|o| {
                o["parameters"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter(|p| p["in"] == "query")
                    .map(|p| p["name"].as_str().unwrap().to_string())
                    .collect()
            })
            .unwrap_or_default(),
        From::Doc(_) => op.query.iter().map(|s| s.to_string()).collect(),
    };
    for kv in q["query"]
        .as_str()
        .unwrap_or("")
        .split('&')
        .filter(|s| !s.is_empty())
    {
        let k = kv.split('=').next().unwrap().replace("%5B%5D", "[]");
        if !declared.contains(&k) {
            out.push(format!(
                "{method} {}: query \"{k}\" is not a parameter",
                op.path
            ));
        }
    }
    if let Some(body) = q["body"].as_object() {
        for k in body.keys() {
            if !op.body.contains(&k.as_str()) {
                out.push(format!(
                    "{method} {}: body \"{k}\" is not an attribute",
                    op.path
                ));
            }
        }
    } else if !q["body"].is_null() {
        out.push(format!(
            "{method} {}: a body that is not a JSON object",
            op.path
        ));
    }
    out
}

/// [`OPS`] says where each operation is described, and says it truly: one
/// marked [`From::Contract`] is an operation of the contract, one marked
/// [`From::Doc`] is not (else the contract would check it).
#[test]
fn the_operations_table_says_truly_which_the_contract_describes() {
    let c = contract();
    let mut in_contract = 0;
    for op in OPS {
        let found = contract_op(&c, op.method, op.path).is_some();
        match op.from {
            From::Contract => {
                in_contract += 1;
                assert!(found, "{} {} is not in the contract", op.method, op.path);
                assert!(
                    op.query.is_empty(),
                    "{}: the contract declares its query",
                    op.path
                );
            }
            From::Doc(page) => {
                assert!(
                    !found,
                    "{} {} is in the contract ({page})",
                    op.method, op.path
                );
                assert!(page.contains(".md"), "{}: name the page", op.path);
            }
        }
    }
    assert!(in_contract >= 8, "{in_contract}");
}

/// A request that is no operation, or carries what its operation does not
/// declare, is caught (the check can fail).
#[test]
fn the_request_checker_catches_drift() {
    let c = contract();
    let q = |m: &str, p: &str, query: &str, body: Value| json!({"method": m, "path": p, "query": query, "body": body});
    let cases = [
        (
            q(
                "GET",
                "/projects/acme%2Fapi/merge_requests",
                "state=opened&per_page=100",
                Value::Null,
            ),
            0,
        ),
        (
            q(
                "GET",
                "/projects/acme%2Fapi/merge_requests",
                "sate=opened",
                Value::Null,
            ),
            1,
        ),
        (q("GET", "/projects/acme%2Fapi/pulls", "", Value::Null), 1),
        (
            q("DELETE", "/projects/acme%2Fapi/issues/1", "", Value::Null),
            1,
        ),
        (
            q(
                "PUT",
                "/projects/acme%2Fapi/issues/1",
                "",
                json!({"add_labels": "x"}),
            ),
            0,
        ),
        (
            q(
                "PUT",
                "/projects/acme%2Fapi/issues/1",
                "",
                json!({"label": "x"}),
            ),
            1,
        ),
        (
            q(
                "POST",
                "/projects/acme%2Fapi/merge_requests",
                "",
                json!({"head": "b"}),
            ),
            1,
        ),
        (q("GET", "/projects/acme/api/issues", "", Value::Null), 1),
    ];
    for (req, want) in cases {
        let p = problems_of(&c, &req);
        assert_eq!(p.len(), want, "{req}: {p:?}");
    }
}

/// A ready issue blocked by a closed one, an untrusted arming, afk's merge
/// request from its workspace, red CI and the corrective turn, a review with
/// a line comment, commands on the issue and the merge request (one of them
/// unknown), an approval, the merge; doctor last.
fn play(sb: &Sandbox, afk: &Afk) {
    let (code, r, err) = afk.poll();
    assert_eq!(code, 0, "{err} {r}");
    assert_eq!(r["dispatched"][0]["issue"], 2, "{r}");
    afk.wait_agent(1);
    let watch = |what: &str| {
        let (code, r, err) = afk.watch();
        assert_eq!(code, 0, "{what}: {err} {r}");
        r
    };
    watch("afk pushes and opens the merge request");
    // the merge request's own iid: the project's first (the admin API reads
    // nothing through the logged API)
    let mr = 1;
    sb.status("acme/api", "afk/issue-2", "build", "failure");
    watch("red CI: a corrective turn");
    afk.wait_agent(1);
    watch("the fix pushed");
    sb.status("acme/api", "afk/issue-2", "build", "success");
    let changes = sb.dialect.changes_requested();
    sb.admin(
        "POST",
        "/review",
        Some(
            json!({"repo": "acme/api", "pr": mr, "user": "alice", "state": changes,
                    "body": "please say how to run the tests",
                    "comments": [{"path": "afk-issue-2.txt", "line": 1, "body": "a leftover"}]}),
        ),
    );
    watch("a review turn");
    afk.wait_agent(1);
    watch("the review turn pushed");
    sb.status("acme/api", "afk/issue-2", "build", "success");
    sb.comment_on("acme/api", On::Issue(2), "alice", "/afk hold");
    watch("held");
    sb.admin(
        "POST",
        "/review",
        Some(
            json!({"repo": "acme/api", "pr": mr, "user": "alice", "state": "APPROVED", "body": ""}),
        ),
    );
    sb.comment_on("acme/api", On::Pr(mr), "alice", "/afk frobnicate");
    sb.comment_on("acme/api", On::Pr(mr), "alice", "/afk resume");
    watch("resumed, an unknown verb answered");
    sb.merge("acme/api", mr);
    watch("merged: success");
    // the scenario went the whole way: three turns (the issue, red CI, the
    // review), the merge recorded
    let run = afk.sql_rows("SELECT state, turns FROM runs WHERE id = 1");
    assert_eq!(run, [["succeeded", "3"]]);
    // what afk shows a person names the merge request `!1`, the issue `#2`
    for args in [&["runs"][..], &["runs", "show", "1"]] {
        let out = afk.cmd().args(args).output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains("!1") && !text.contains(" #1 "),
            "{args:?}: {text}"
        );
    }
    let (code, _, err) = afk.json(&["doctor"]);
    assert!(code == 0 || code == 1, "{err}");
}

/// Every request afk made while it polled, watched a merge request through
/// CI, a review, commands and the merge, and ran doctor, is an operation the
/// contract describes (with only its declared query parameters) or one of
/// [`OPS`]' documented ones, with only documented body attributes.
#[test]
fn every_request_afk_makes_on_gitlab_is_described() {
    let c = contract();
    let sb = Sandbox::start_in(
        Dialect::Gitlab,
        json!({"repos": [repo("acme/api", json!([
            {"number": 1, "title": "blocker", "state": "closed"},
            {"number": 2, "title": "t", "body": "Blocked by #1", "labels": ["ready-for-agent"], "labeled_by": "alice", "depends_on": [1]},
            {"number": 3, "title": "u", "labels": ["ready-for-agent"], "labeled_by": "mallory"},
        ]))]}),
    );
    // afk's own workspace (the default): afk pushes and opens the merge
    // request, the agent only commits
    let afk = Afk::agent_in_afks_workspace(&sb, "pr", "");
    play(&sb, &afk);
    let reqs = sb.requests();
    assert!(reqs.len() > 40, "{}", reqs.len());
    let mut problems: Vec<String> = reqs.iter().flat_map(|q| problems_of(&c, q)).collect();
    problems.sort();
    problems.dedup();
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    // what the scenario reached: the contract's operations and the others
    let used = |m: &str, t: &str| {
        reqs.iter()
            .any(|q| q["method"] == m && fits(t, q["path"].as_str().unwrap()))
    };
    for (m, t) in [
        ("POST", "/projects/{id}/merge_requests"),
        ("GET", "/projects/{id}/merge_requests/{merge_request_iid}"),
        ("GET", "/projects/{id}/members/all/{user_id}"),
        (
            "GET",
            "/projects/{id}/merge_requests/{merge_request_iid}/discussions",
        ),
        (
            "GET",
            "/projects/{id}/issues/{issue_iid}/resource_label_events",
        ),
        ("PUT", "/projects/{id}/issues/{issue_iid}"),
        (
            "POST",
            "/projects/{id}/merge_requests/{merge_request_iid}/notes/{note_id}/award_emoji",
        ),
    ] {
        assert!(used(m, t), "the scenario never sent {m} {t}");
    }
}

/// The rest of the conversation's wire: a retest note on a red head, named
/// CI contexts (the sandbox's pipelines are of commit statuses, `external`:
/// afk reads the head's statuses, no jobs), a conflict and GitLab's rebase (refused
/// later: a conflict turn); every request held to the contract or [`OPS`]
/// as above. Here the agent opens its merge request itself (`workspace =
/// "agent"`), as `contrib/agent-image` does: its request is checked too.
#[test]
fn every_request_of_a_retest_named_ci_and_a_rebase_on_gitlab_is_described() {
    let c = contract();
    let sb = Sandbox::start_in(
        Dialect::Gitlab,
        json!({"repos": [repo("acme/api", json!([ready(1, "alice")]))]}),
    );
    let afk = Afk::agent(
        &sb,
        "pr",
        "retest_comment = \"/retest\"\nci_contexts = [\"ci/test\"]\nfix_forward_max = 1",
        "",
    );
    let (code, r, err) = afk.poll();
    assert_eq!(code, 0, "{err} {r}");
    afk.wait_agent(1);
    let watch = |want: (&str, Option<&str>)| {
        let (code, r, err) = afk.watch();
        assert_eq!(code, 0, "{err} {r}");
        let got = action_of(&r, 1);
        assert_eq!((got.0.as_str(), got.1.as_deref()), want, "{r}");
    };
    sb.status("acme/api", "afk/issue-1", "ci/test", "failure");
    watch(("retest", Some("ci-red")));
    sb.status("acme/api", "afk/issue-1", "ci/test", "success");
    watch(("wait", Some("awaiting-merge")));
    for (k, v) in [("mergeable", json!(false)), ("outcome", json!("conflict"))] {
        let path = if k == "mergeable" {
            "/mergeable"
        } else {
            "/branch_update"
        };
        sb.admin(
            "POST",
            path,
            Some(json!({"repo": "acme/api", "pr": 1, k: v})),
        );
    }
    watch(("update_branch", Some("conflict")));
    watch(("corrective_turn", Some("conflict")));
    let reqs = sb.requests();
    let mut problems: Vec<String> = reqs.iter().flat_map(|q| problems_of(&c, q)).collect();
    problems.sort();
    problems.dedup();
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    let used = |m: &str, t: &str| {
        reqs.iter()
            .any(|q| q["method"] == m && fits(t, q["path"].as_str().unwrap()))
    };
    for (m, t) in [
        (
            "PUT",
            "/projects/{id}/merge_requests/{merge_request_iid}/rebase",
        ),
        (
            "POST",
            "/projects/{id}/merge_requests/{merge_request_iid}/notes",
        ),
        (
            "GET",
            "/projects/{id}/merge_requests/{merge_request_iid}/pipelines",
        ),
        ("POST", "/projects/{id}/merge_requests"),
    ] {
        assert!(used(m, t), "the scenario never sent {m} {t}");
    }
}
