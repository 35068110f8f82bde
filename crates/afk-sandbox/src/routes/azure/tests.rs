//! The Azure DevOps dialect through the sandbox's own request handler
//! (admin API included): auth and its `203`, `api-version`, WIQL, a
//! revision's three identities and a write with bypass, tag writes with
//! their `test` on `/rev`, effective permissions through a group and a
//! deny, doctor's ACL read of every entry and an area node's token,
//! comments paged by continuation token, and the routes against the
//! published contract.

use super::ROUTES;
use crate::http::{Reply, Request, decode};
use crate::model::Forge;
use crate::routes::Dialect;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};

struct Az {
    st: Arc<Mutex<Forge>>,
    dir: std::path::PathBuf,
    token: String,
}

impl Drop for Az {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn azure(name: &str, seed: Value) -> Az {
    let dir = std::env::temp_dir().join(format!("afk-az-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let mut f = Forge::new("http://127.0.0.1:1".into(), dir.clone());
    f.outbox.dialect = Dialect::AzureDevops.as_str();
    f.seed(serde_json::from_value(seed).unwrap()).unwrap();
    let token = f.token.clone();
    Az {
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

impl Az {
    fn send(&self, method: &str, target: &str, headers: &[(&str, &str)], body: Value) -> Answer {
        match crate::handle(
            &self.st,
            Dialect::AzureDevops,
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

    /// Basic with an empty user and the token as the password, as afk sends it.
    fn basic(&self) -> String {
        use base64::Engine;
        let b = base64::engine::general_purpose::STANDARD.encode(format!(":{}", self.token));
        format!("Basic {b}")
    }

    /// A call under the organization, `api-version` added when `path` has none.
    fn api(&self, method: &str, path: &str, body: Value) -> Answer {
        let auth = self.basic();
        let sep = if path.contains('?') { '&' } else { '?' };
        let target = if path.contains("api-version=") {
            format!("/sandbox{path}")
        } else {
            format!("/sandbox{path}{sep}api-version=7.1")
        };
        let ct = if method == "PATCH" && path.contains("/wit/workitems/") {
            "application/json-patch+json"
        } else {
            "application/json"
        };
        self.send(
            method,
            &target,
            &[
                ("Authorization", &auth),
                ("X-TFS-FedAuthRedirect", "Suppress"),
                ("Content-Type", ct),
            ],
            body,
        )
    }

    fn admin(&self, path: &str, body: Value) -> Value {
        let a = self.send("POST", &format!("/_admin{path}"), &[], body);
        assert!(a.status < 300, "{path}: {} {}", a.status, a.body);
        a.body
    }
}

/// `afk/issue-1` one commit ahead of main in `Fabrikam/web app`, for a
/// pull request.
fn branch_ahead(az: &Az) {
    let gd = az.st.lock().unwrap().git_dir("Fabrikam/web app");
    let git = |args: &[&str], stdin: Option<&str>| crate::git::git(&gd, args, stdin).unwrap();
    let blob = git(&["hash-object", "-w", "--stdin"], Some("work\n"));
    let tree = git(&["mktree"], Some(&format!("100644 blob {blob}\tWORK.md\n")));
    let commit = git(&["commit-tree", &tree, "-p", "main", "-m", "work"], None);
    git(&["update-ref", "refs/heads/afk/issue-1", &commit], None);
}

fn seeded(name: &str) -> Az {
    azure(
        name,
        json!({"repos": [{"name": "Fabrikam/web app",
        "labels": ["ready-for-agent", "agent-in-progress", "ready-for-human", "ready-for-agent-2"],
        "collaborators": {"alice": "write", "mallory": "admin", "rita": "read"},
        "issues": [
            {"number": 1, "title": "Fix it", "labels": ["ready-for-agent"], "labeled_by": "alice"},
            {"number": 2, "title": "Not this", "labels": ["ready-for-agent-2"], "labeled_by": "alice"}
        ]}]}),
    )
}

#[test]
fn a_refused_credential_is_a_sign_in_page_unless_suppressed_and_api_version_is_required() {
    let az = seeded("auth");
    let bad = "Basic Ondyb25n"; // ":wrong"
    let a = az.send(
        "GET",
        "/sandbox/_apis/connectionData?api-version=7.1",
        &[("Authorization", bad)],
        Value::Null,
    );
    assert_eq!(a.status, 203);
    assert!(
        a.headers
            .iter()
            .any(|(k, v)| k == "Content-Type" && v.starts_with("text/html"))
    );
    let a = az.send(
        "GET",
        "/sandbox/_apis/connectionData?api-version=7.1",
        &[
            ("Authorization", bad),
            ("X-TFS-FedAuthRedirect", "Suppress"),
        ],
        Value::Null,
    );
    assert_eq!(a.status, 401);
    let a = az.send(
        "GET",
        "/sandbox/_apis/connectionData?api-version=7.1",
        &[],
        Value::Null,
    );
    assert_eq!(a.status, 401);
    let a = az.api("GET", "/_apis/connectionData", Value::Null);
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(
        a.body["authenticatedUser"]["providerDisplayName"],
        "afk-bot"
    );
    let auth = az.basic();
    let a = az.send(
        "GET",
        "/sandbox/_apis/connectionData",
        &[("Authorization", &auth)],
        Value::Null,
    );
    assert_eq!(a.status, 400);
    assert_eq!(a.body["typeKey"], "VssVersionNotSpecifiedException");
    // a preview resource needs its -preview version
    let a = az.api(
        "GET",
        "/Fabrikam/_apis/wit/workItems/1/comments",
        Value::Null,
    );
    assert_eq!(a.status, 400, "{}", a.body);
    let a = az.api(
        "GET",
        "/Fabrikam/_apis/wit/workItems/1/comments?api-version=7.1-preview.4",
        Value::Null,
    );
    assert_eq!(a.status, 200, "{}", a.body);
}

#[test]
fn wiql_answers_the_query_afk_sends_and_refuses_another() {
    let az = seeded("wiql");
    let q = "SELECT [System.Id] FROM WorkItems WHERE [System.TeamProject] = @project AND [System.WorkItemType] IN ('Issue') AND ([System.AreaPath] UNDER 'Fabrikam\\web app') AND [System.Tags] CONTAINS 'ready-for-agent' AND [System.State] NOT IN ('Done', 'Removed') ORDER BY [System.Id]";
    let a = az.api("POST", "/Fabrikam/_apis/wit/wiql", json!({"query": q}));
    assert_eq!(a.status, 200, "{}", a.body);
    let ids: Vec<u64> = a.body["workItems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["id"].as_u64().unwrap())
        .collect();
    // CONTAINS is text: ready-for-agent-2 answers too, afk re-checks
    assert_eq!(ids, [1, 2]);
    let a = az.api(
        "POST",
        "/Fabrikam/_apis/wit/wiql",
        json!({"query": "SELECT [System.Title] FROM WorkItems"}),
    );
    assert_eq!(a.status, 400);
    let a = az.api(
        "POST",
        "/Fabrikam/_apis/wit/workitemsbatch",
        json!({"ids": [1, 99], "errorPolicy": "omit", "fields": ["System.Tags"]}),
    );
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(
        a.body["value"][0]["fields"]["System.Tags"],
        "ready-for-agent"
    );
    assert_eq!(a.body["value"][1], Value::Null);
}

/// A seed's `renamed_to` keeps the repository's id; its old name finds
/// nothing, its id answers the new name, and its work items stay the
/// project's.
#[test]
fn a_renamed_repository_keeps_its_id_and_answers_its_new_name_there() {
    let az = seeded("renamed");
    let old = "/Fabrikam/_apis/git/repositories/web%20app";
    let before = az.api("GET", old, Value::Null);
    assert_eq!(before.status, 200, "{}", before.body);
    let id = before.body["id"].as_str().unwrap().to_string();
    let project = before.body["project"]["id"].as_str().unwrap().to_string();
    az.admin(
        "/seed",
        json!({"repos": [{"name": "Fabrikam/web app", "renamed_to": "Fabrikam/web"}]}),
    );
    let gone = az.api("GET", old, Value::Null);
    assert_eq!(gone.status, 404, "{}", gone.body);
    let by_id = az.api(
        "GET",
        &format!("/{project}/_apis/git/repositories/{id}"),
        Value::Null,
    );
    assert_eq!(by_id.status, 200, "{}", by_id.body);
    assert_eq!(by_id.body["id"], json!(id));
    assert_eq!(by_id.body["name"], "web");
    assert_eq!(by_id.body["project"]["name"], "Fabrikam");
    let q = "SELECT [System.Id] FROM WorkItems WHERE [System.TeamProject] = @project AND [System.WorkItemType] IN ('Issue') AND ([System.AreaPath] UNDER 'Fabrikam\\web app') AND [System.Tags] CONTAINS 'ready-for-agent' AND [System.State] NOT IN ('Done', 'Removed') ORDER BY [System.Id]";
    let a = az.api(
        "POST",
        &format!("/{project}/_apis/wit/wiql"),
        json!({"query": q}),
    );
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.body["workItems"][0]["id"], 1, "{}", a.body);
}

#[test]
fn a_revision_names_its_writer_and_a_bypass_spoofs_only_changed_by() {
    let az = seeded("bypass");
    let a = az.api(
        "GET",
        "/Fabrikam/_apis/wit/workItems/1/updates",
        Value::Null,
    );
    assert_eq!(a.status, 200, "{}", a.body);
    let ups = a.body["value"].as_array().unwrap().clone();
    let arming = ups
        .iter()
        .rev()
        .find(|u| u["fields"]["System.Tags"]["newValue"].is_string())
        .unwrap();
    assert_eq!(arming["revisedBy"]["displayName"], "alice");
    assert_eq!(ups.last().unwrap()["revisedDate"], "9999-01-01T00:00:00Z");
    let rev = arming["rev"].as_u64().unwrap();
    let r = az.api(
        "GET",
        &format!("/Fabrikam/_apis/wit/workItems/1/revisions/{rev}"),
        Value::Null,
    );
    assert_eq!(r.body["fields"]["System.ChangedBy"]["displayName"], "alice");
    assert_eq!(
        r.body["fields"]["System.AuthorizedAs"]["displayName"],
        "alice"
    );
    // mallory, a project administrator, arms issue 2 in alice's name
    let b = az.admin(
        "/ado/bypass",
        json!({"repo": "Fabrikam/web app", "issue": 2, "by": "mallory", "as": "alice",
               "add_tags": ["ready-for-agent"]}),
    );
    let rev = b["rev"].as_u64().unwrap();
    let r = az.api(
        "GET",
        &format!("/Fabrikam/_apis/wit/workItems/2/revisions/{rev}"),
        Value::Null,
    );
    assert_eq!(r.body["fields"]["System.ChangedBy"]["displayName"], "alice");
    assert_eq!(
        r.body["fields"]["System.AuthorizedAs"]["displayName"],
        "mallory"
    );
    let u = az.api(
        "GET",
        "/Fabrikam/_apis/wit/workItems/2/updates",
        Value::Null,
    );
    let last = u.body["value"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["revisedBy"]["displayName"], "alice");
    // alice holds no bypass
    let a = az.send(
        "POST",
        "/_admin/ado/bypass",
        &[],
        json!({"repo": "Fabrikam/web app", "issue": 2, "by": "alice", "as": "rita", "add_tags": ["x"]}),
    );
    assert_eq!(a.status, 403);
}

#[test]
fn a_stale_test_on_rev_is_412_and_a_tag_write_reaches_the_shared_labels() {
    let az = seeded("patch");
    let w = az.api("GET", "/Fabrikam/_apis/wit/workitems/1", Value::Null);
    let rev = w.body["rev"].as_u64().unwrap();
    let patch = |r: u64| {
        json!([{"op": "test", "path": "/rev", "value": r},
               {"op": "replace", "path": "/fields/System.Tags", "value": "agent-in-progress; ready-for-agent"}])
    };
    let a = az.api("PATCH", "/Fabrikam/_apis/wit/workitems/1", patch(rev - 1));
    assert_eq!(a.status, 412, "{}", a.body);
    let a = az.api("PATCH", "/Fabrikam/_apis/wit/workitems/1", patch(rev));
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.body["rev"], json!(rev + 1));
    assert_eq!(
        a.body["fields"]["System.Tags"],
        "agent-in-progress; ready-for-agent"
    );
    assert_eq!(
        a.body["fields"]["System.AuthorizedAs"]["displayName"],
        "afk-bot"
    );
    let f = az.st.lock().unwrap();
    let i = &f.repos["Fabrikam/web app"].issues[&1];
    let names: Vec<&str> = i
        .labels
        .iter()
        .filter_map(|l| {
            f.repos["Fabrikam/web app"]
                .labels
                .iter()
                .find(|(id, _)| id == l)
                .map(|(_, n)| n.as_str())
        })
        .collect();
    assert!(names.contains(&"agent-in-progress"), "{names:?}");
}

#[test]
fn effective_permissions_come_through_groups_and_a_deny_wins() {
    let az = seeded("acl");
    let alice = az.admin("/ado/identity", json!({"name": "alice"}));
    let d = alice["descriptor"].as_str().unwrap().to_string();
    let token = crate::model::azure::repo_token("Fabrikam/web app");
    let read = |az: &Az| {
        let a = az.api(
            "GET",
            &format!(
                "/_apis/accesscontrollists/{}?token={}&descriptors={}&includeExtendedInfo=true",
                crate::model::azure::GIT_NS,
                crate::routes::enc(&token),
                crate::routes::enc(&d)
            ),
            Value::Null,
        );
        assert_eq!(a.status, 200, "{}", a.body);
        a.body["value"][0]["acesDictionary"][&d]["extendedInfo"].clone()
    };
    let info = read(&az);
    assert_eq!(info["effectiveAllow"].as_u64().unwrap() & 4, 4, "{info}");
    az.admin(
        "/ado/acl",
        json!({"repo": "Fabrikam/web app", "who": "alice", "deny": ["GenericContribute"]}),
    );
    let info = read(&az);
    assert_eq!(info["effectiveAllow"].as_u64().unwrap() & 4, 0, "{info}");
    assert_eq!(info["effectiveDeny"].as_u64().unwrap() & 4, 4, "{info}");
    // someone with no entry has none in the answer
    let nobody = az.admin("/ado/identity", json!({"name": "nobody"}));
    let nd = nobody["descriptor"].as_str().unwrap().to_string();
    let a = az.api(
        "GET",
        &format!(
            "/_apis/accesscontrollists/{}?token={}&descriptors={}&includeExtendedInfo=true",
            crate::model::azure::GIT_NS,
            crate::routes::enc(&token),
            crate::routes::enc(&nd)
        ),
        Value::Null,
    );
    assert!(a.body["value"][0]["acesDictionary"].get(&nd).is_none());
    // identities at the vssps path: null for an id it does not know
    let alice_id = alice["id"].as_str().unwrap();
    let a = az.api(
        "GET",
        &format!(
            "/_vssps/_apis/identities?identityIds={alice_id},00000000-0000-0000-0000-000000000000"
        ),
        Value::Null,
    );
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.body["value"][0]["isActive"], true);
    assert_eq!(a.body["value"][1], Value::Null);
}

#[test]
fn an_identity_is_found_by_its_exact_account_name_in_any_case() {
    let az = seeded("account-name");
    let alice = az.admin("/ado/identity", json!({"name": "alice"}));
    az.admin("/ado/identity", json!({"name": "alicia"}));
    let search = |filter: &str, value: &str| -> Vec<Value> {
        let a = az.api(
            "GET",
            &format!(
                "/_vssps/_apis/identities?searchFilter={filter}&filterValue={}",
                crate::routes::enc(value)
            ),
            Value::Null,
        );
        assert_eq!(a.status, 200, "{}", a.body);
        a.body["value"].as_array().cloned().unwrap_or_default()
    };
    let found = search("AccountName", "Alice@Sandbox.Invalid");
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0]["id"], alice["id"]);
    assert_eq!(
        found[0]["properties"]["Account"]["$value"],
        "alice@sandbox.invalid"
    );
    // exactly: never a part of it, never the display name
    assert!(search("AccountName", "alice@sandbox").is_empty());
    assert!(search("AccountName", "alice").is_empty());
    assert_eq!(search("General", "alice").len(), 1);
    let bad = az.api(
        "GET",
        "/_vssps/_apis/identities?searchFilter=Nope&filterValue=x",
        Value::Null,
    );
    assert_eq!(bad.status, 400, "{}", bad.body);
}

/// Doctor's reads: the project's ACL read without `descriptors` answers
/// every entry on its token (Project Administrators' with `BYPASS_RULES`,
/// and a person's given it), each holder named at the identity service by
/// its descriptor; afk's `WORK_ITEM_WRITE` on an area node's token (the
/// root area's identifier, then the node's) comes from Contributors' entry
/// on the root area, until a deny on the node.
#[test]
fn an_acl_read_without_descriptors_answers_every_entry_and_an_area_s_token_chains_its_nodes() {
    use crate::model::azure::{CSS_NS, PROJECT_NS, area_of, area_token, bit, project_token};
    let az = seeded("doctor-acl");
    az.admin(
        "/ado/acl",
        json!({"namespace": "project", "project": "Fabrikam", "who": "rita", "allow": ["BYPASS_RULES"]}),
    );
    let a = az.api(
        "GET",
        &format!(
            "/_apis/accesscontrollists/{PROJECT_NS}?token={}&includeExtendedInfo=true",
            crate::routes::enc(&project_token("Fabrikam"))
        ),
        Value::Null,
    );
    assert_eq!(a.status, 200, "{}", a.body);
    let bypass = bit(PROJECT_NS, "BYPASS_RULES");
    let aces = a.body["value"][0]["acesDictionary"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    assert!(
        aces.len() >= 4,
        "the three groups' entries and rita's: {aces:?}"
    );
    let holders: Vec<String> = aces
        .iter()
        .filter(|(_, e)| e["extendedInfo"]["effectiveAllow"].as_u64().unwrap_or(0) & bypass != 0)
        .map(|(d, _)| d.clone())
        .collect();
    let asked: Vec<String> = holders.iter().map(|d| crate::routes::enc(d)).collect();
    let named = az.api(
        "GET",
        &format!("/_vssps/_apis/identities?descriptors={}", asked.join(",")),
        Value::Null,
    );
    assert_eq!(named.status, 200, "{}", named.body);
    let mut names: Vec<String> = named.body["value"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|i| i["providerDisplayName"].as_str().unwrap_or("").to_string())
        .collect();
    names.sort();
    assert_eq!(names, ["[Fabrikam]\\Project Administrators", "rita"]);
    // the area's node token: the root area's identifier, then the node's
    let node = |path: &str| -> String {
        let a = az.api(
            "GET",
            &format!("/Fabrikam/_apis/wit/classificationnodes/Areas{path}"),
            Value::Null,
        );
        assert_eq!(a.status, 200, "{path}: {}", a.body);
        a.body["identifier"].as_str().unwrap_or("").to_string()
    };
    let token = format!(
        "vstfs:///Classification/Node/{}:vstfs:///Classification/Node/{}",
        node(""),
        node("/web%20app")
    );
    assert_eq!(token, area_token(&area_of("Fabrikam/web app")));
    let write = |az: &Az| -> Value {
        let a = az.api(
            "GET",
            &format!(
                "/_apis/permissions/{CSS_NS}/{}?tokens={}",
                bit(CSS_NS, "WORK_ITEM_WRITE"),
                crate::routes::enc(&token)
            ),
            Value::Null,
        );
        assert_eq!(a.status, 200, "{}", a.body);
        a.body["value"][0].clone()
    };
    assert_eq!(write(&az), json!(true));
    az.admin(
        "/ado/acl",
        json!({"namespace": "css", "repo": "Fabrikam/web app", "who": "afk-bot", "deny": ["WORK_ITEM_WRITE"]}),
    );
    assert_eq!(write(&az), json!(false));
}

#[test]
fn work_item_comments_page_by_a_continuation_token_in_the_body() {
    let az = seeded("comments");
    for i in 0..3 {
        az.admin(
            "/ado/comment",
            json!({"repo": "Fabrikam/web app", "issue": 1, "by": "alice", "text": format!("c{i}")}),
        );
    }
    az.admin("/ado/page_size", json!({"size": 2}));
    let path = "/Fabrikam/_apis/wit/workItems/1/comments?api-version=7.1-preview.4&order=asc";
    let a = az.api("GET", path, Value::Null);
    assert_eq!(a.body["count"], 2, "{}", a.body);
    let t = a.body["continuationToken"].as_str().unwrap().to_string();
    let b = az.api("GET", &format!("{path}&continuationToken={t}"), Value::Null);
    assert_eq!(b.body["count"], 1, "{}", b.body);
    assert_eq!(b.body["comments"][0]["text"], "c2");
    assert!(b.body.get("continuationToken").is_none());
}

#[test]
fn work_items_in_bulk_fill_a_wiql_answer_that_is_asked_again_past_its_last_id() {
    let az = seeded("bulk");
    let made = az.admin(
        "/ado/bulk",
        json!({"repo": "Fabrikam/web app", "count": 3, "tags": ["ready-for-agent"]}),
    );
    assert_eq!(made, json!({"first": 3, "last": 5}));
    let q = "SELECT [System.Id] FROM WorkItems WHERE [System.TeamProject] = @project AND [System.WorkItemType] IN ('Issue') AND ([System.AreaPath] UNDER 'Fabrikam\\web app') AND [System.Tags] CONTAINS 'ready-for-agent' AND [System.State] NOT IN ('Done')";
    let ids = |a: &Answer| -> Vec<u64> {
        a.body["workItems"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| w["id"].as_u64().unwrap())
            .collect()
    };
    let a = az.api(
        "POST",
        "/Fabrikam/_apis/wit/wiql?$top=2",
        json!({"query": format!("{q} ORDER BY [System.Id]")}),
    );
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(ids(&a), [1, 2]);
    let a = az.api(
        "POST",
        "/Fabrikam/_apis/wit/wiql?$top=2",
        json!({"query": format!("{q} AND [System.Id] > 2 ORDER BY [System.Id]")}),
    );
    assert_eq!(ids(&a), [3, 4]);
    let a = az.api(
        "POST",
        "/Fabrikam/_apis/wit/workitemsbatch",
        json!({"ids": [5], "fields": ["System.Tags", "System.AreaPath"]}),
    );
    assert_eq!(
        a.body["value"][0]["fields"]["System.Tags"],
        "ready-for-agent"
    );
    assert_eq!(
        a.body["value"][0]["fields"]["System.AreaPath"],
        "Fabrikam\\web app"
    );
    // the log keeps how the credential went, never the credential
    let f = az.st.lock().unwrap();
    assert_eq!(
        f.log.last().unwrap()["auth"],
        json!({"scheme": "Basic", "user": ""})
    );
    assert!(!f.log.last().unwrap().to_string().contains(&az.token));
}

#[test]
fn a_race_lands_a_persons_change_before_the_next_patch_whose_test_is_then_stale() {
    let az = seeded("race");
    let w = az.api("GET", "/Fabrikam/_apis/wit/workitems/1", Value::Null);
    let rev = w.body["rev"].as_u64().unwrap();
    az.admin(
        "/ado/race",
        json!({"repo": "Fabrikam/web app", "issue": 1, "by": "rita", "add_tags": ["needs-design"]}),
    );
    let patch = |r: u64| {
        json!([{"op": "test", "path": "/rev", "value": r},
               {"op": "replace", "path": "/fields/System.Tags", "value": "agent-in-progress; ready-for-agent"}])
    };
    let a = az.api("PATCH", "/Fabrikam/_apis/wit/workitems/1", patch(rev));
    assert_eq!(a.status, 412, "{}", a.body);
    let w = az.api("GET", "/Fabrikam/_apis/wit/workitems/1", Value::Null);
    assert_eq!(w.body["rev"], json!(rev + 1));
    assert_eq!(
        w.body["fields"]["System.Tags"],
        "ready-for-agent; needs-design"
    );
    assert_eq!(w.body["fields"]["System.ChangedBy"]["displayName"], "rita");
    // one race, one refusal: the next patch at the new revision lands
    let a = az.api("PATCH", "/Fabrikam/_apis/wit/workitems/1", patch(rev + 1));
    assert_eq!(a.status, 200, "{}", a.body);
}

/// The contract's operations as `(METHOD, path)`, its paths' `?…` tails cut.
fn contract_ops() -> Vec<(String, String)> {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/contracts/azure-devops-7.1-subset.json");
    let c: Value = serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
    let mut ops = vec![];
    for key in ["paths", "x-ms-paths"] {
        for (path, methods) in c[key].as_object().unwrap() {
            let path = path.split('?').next().unwrap().to_lowercase();
            for m in methods.as_object().unwrap().keys() {
                ops.push((m.to_ascii_uppercase(), path.clone()));
            }
        }
    }
    ops
}

#[test]
fn every_route_is_an_operation_of_the_contract_but_those_it_does_not_describe() {
    let ops = contract_ops();
    // connectionData is not in the 7.1 files; WIQL without a
    // team is the team-less form of the contract's
    let undescribed = [
        "/{organization}/_apis/connectiondata",
        "/{organization}/{project}/_apis/wit/wiql",
    ];
    for (m, p) in ROUTES {
        let p = p.to_lowercase();
        if undescribed.contains(&p.as_str()) {
            continue;
        }
        assert!(
            ops.iter().any(|(om, op)| om == m && *op == p),
            "{m} {p} is not in the contract"
        );
    }
    for (m, p) in &ops {
        assert!(
            ROUTES
                .iter()
                .any(|(rm, rp)| rm == m && rp.to_lowercase() == *p),
            "the contract's {m} {p} is not served"
        );
    }
}

/// The properties the contract gives definition `def`, its `allOf` parents' too.
fn props(c: &Value, def: &str) -> Vec<String> {
    let d = &c["definitions"][def];
    let mut out: Vec<String> = d["properties"]
        .as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default();
    for parent in d["allOf"].as_array().into_iter().flatten() {
        if let Some(r) = parent["$ref"].as_str() {
            out.extend(props(c, r.rsplit('/').next().unwrap_or("")));
        }
        if let Some(o) = parent["properties"].as_object() {
            out.extend(o.keys().cloned());
        }
    }
    out
}

#[test]
fn each_answer_has_only_the_fields_the_contract_gives() {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/contracts/azure-devops-7.1-subset.json");
    let c: Value = serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
    let az = seeded("shapes");
    branch_ahead(&az);
    let check = |v: &Value, def: &str| {
        let allowed = props(&c, def);
        assert!(!allowed.is_empty(), "no definition {def}");
        for k in v.as_object().unwrap_or_else(|| panic!("{def}: {v}")).keys() {
            assert!(allowed.contains(k), "{def} has no field {k}: {v}");
        }
    };
    let repo = "/Fabrikam/_apis/git/repositories/web%20app";
    let w = az.api(
        "GET",
        "/Fabrikam/_apis/wit/workitems/1?$expand=relations",
        Value::Null,
    );
    check(&w.body, "WorkItem");
    let u = az.api(
        "GET",
        "/Fabrikam/_apis/wit/workItems/1/updates",
        Value::Null,
    );
    check(&u.body["value"][0], "WorkItemUpdate");
    check(&u.body["value"][0]["revisedBy"], "IdentityReference");
    az.admin(
        "/ado/comment",
        json!({"repo": "Fabrikam/web app", "issue": 1, "by": "alice", "text": "hi"}),
    );
    let l = az.api(
        "GET",
        "/Fabrikam/_apis/wit/workItems/1/comments?api-version=7.1-preview.4",
        Value::Null,
    );
    check(&l.body, "CommentList");
    check(&l.body["comments"][0], "Comment");
    let r = az.api("GET", repo, Value::Null);
    check(&r.body, "GitRepository");
    let refs = az.api("GET", &format!("{repo}/refs?filter=heads/"), Value::Null);
    check(&refs.body["value"][0], "GitRef");
    let pr = az.api(
        "POST",
        &format!("{repo}/pullrequests"),
        json!({"sourceRefName": "refs/heads/afk/issue-1", "targetRefName": "refs/heads/main",
               "title": "Fix it", "description": "Closes #1", "workItemRefs": [{"id": "1"}], "isDraft": false}),
    );
    assert_eq!(pr.status, 201, "{}", pr.body);
    check(&pr.body, "GitPullRequest");
    let again = az.api(
        "POST",
        &format!("{repo}/pullrequests"),
        json!({"sourceRefName": "refs/heads/afk/issue-1", "targetRefName": "refs/heads/main", "title": "again"}),
    );
    assert_eq!(again.status, 409);
    let id = pr.body["pullRequestId"].as_u64().unwrap();
    let one = az.api("GET", &format!("{repo}/pullrequests/{id}"), Value::Null);
    assert_eq!(one.body["mergeStatus"], "queued");
    let one = az.api("GET", &format!("{repo}/pullrequests/{id}"), Value::Null);
    assert_eq!(one.body["mergeStatus"], "succeeded");
    az.admin("/ado/vote", json!({"pr": id, "by": "alice", "vote": -5}));
    let revs = az.api(
        "GET",
        &format!("{repo}/pullRequests/{id}/reviewers"),
        Value::Null,
    );
    check(&revs.body["value"][0], "IdentityRefWithVote");
    assert_eq!(revs.body["value"][0]["vote"], -5);
    let t = az.api(
        "POST",
        &format!("{repo}/pullRequests/{id}/threads"),
        json!({"comments": [{"parentCommentId": 0, "content": "retest", "commentType": "text"}]}),
    );
    check(&t.body, "GitPullRequestCommentThread");
    check(&t.body["comments"][0], "git.Comment");
    assert!(t.body.get("status").is_none(), "{}", t.body);
    let threads = az.api(
        "GET",
        &format!("{repo}/pullRequests/{id}/threads"),
        Value::Null,
    );
    let kinds: Vec<&str> = threads.body["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["comments"][0]["commentType"].as_str().unwrap())
        .collect();
    assert!(
        kinds.contains(&"system") && kinds.contains(&"text"),
        "{kinds:?}"
    );
    // the vote's thread says what it records
    let voted = threads.body["value"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["comments"][0]["commentType"] == "system")
        .unwrap();
    assert_eq!(
        voted["properties"]["CodeReviewThreadType"]["$value"], "VoteUpdate",
        "{voted}"
    );
    assert_eq!(voted["properties"]["CodeReviewVoteResult"]["$value"], "-5");
    let ev = az.admin(
        "/ado/evaluation",
        json!({"pr": id, "status": "rejected", "name": "CI", "expired": true}),
    );
    check(&ev, "PolicyEvaluationRecord");
    check(&ev["configuration"], "PolicyConfiguration");
    let project = crate::model::azure::project_id("Fabrikam");
    let evs = az.api(
        "GET",
        &format!(
            "/Fabrikam/_apis/policy/evaluations?artifactId=vstfs:///CodeReview/CodeReviewId/{project}/{id}&api-version=7.1-preview.1"
        ),
        Value::Null,
    );
    assert_eq!(
        evs.body["value"][0]["context"]["isExpired"], true,
        "{}",
        evs.body
    );
    let build = ev["context"]["buildId"].as_u64().unwrap();
    let b = az.api(
        "GET",
        &format!("/Fabrikam/_apis/build/builds/{build}"),
        Value::Null,
    );
    check(&b.body, "Build");
    assert_eq!(b.body["result"], "failed");
    // a compare-and-swap on a ref that moved
    let head = refs.body["value"][0]["objectId"]
        .as_str()
        .unwrap()
        .to_string();
    let stale = az.api(
        "POST",
        &format!("{repo}/refs"),
        json!([{"name": "refs/heads/afk/issue-1", "oldObjectId": "1111111111111111111111111111111111111111", "newObjectId": head}]),
    );
    check(&stale.body["value"][0], "GitRefUpdateResult");
    assert_eq!(stale.body["value"][0]["updateStatus"], "staleOldObjectId");
    let ns = az.api(
        "GET",
        &format!("/_apis/securitynamespaces/{}", crate::model::azure::GIT_NS),
        Value::Null,
    );
    check(&ns.body["value"][0], "SecurityNamespaceDescription");
    let alice = az.admin("/ado/identity", json!({"name": "alice"}));
    let ids = az.api(
        "GET",
        &format!(
            "/_vssps/_apis/identities?identityIds={}",
            alice["id"].as_str().unwrap()
        ),
        Value::Null,
    );
    check(&ids.body["value"][0], "Identity");
    let proj = az.api("GET", &format!("/_apis/projects/{project}"), Value::Null);
    check(&proj.body, "TeamProject");
}

#[test]
fn a_branch_s_commits_page_newest_first_and_a_diff_is_against_the_first_parent() {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/contracts/azure-devops-7.1-subset.json");
    let c: Value = serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
    let check = |v: &Value, def: &str| {
        let allowed = props(&c, def);
        for k in v.as_object().unwrap_or_else(|| panic!("{def}: {v}")).keys() {
            assert!(allowed.contains(k), "{def} has no field {k}: {v}");
        }
    };
    let az = seeded("history");
    // main, then one commit, then one that edits, renames and adds
    let (first, second) = {
        let gd = az.st.lock().unwrap().git_dir("Fabrikam/web app");
        let git = |args: &[&str], stdin: Option<&str>| crate::git::git(&gd, args, stdin).unwrap();
        let one = git(&["hash-object", "-w", "--stdin"], Some("one\n"));
        let two = git(&["hash-object", "-w", "--stdin"], Some("two\n"));
        let t1 = git(
            &["mktree"],
            Some(&format!(
                "100644 blob {one}\tA.md\n100644 blob {one}\tOLD.md\n"
            )),
        );
        let c1 = git(&["commit-tree", &t1, "-p", "main", "-m", "first"], None);
        let t2 = git(
            &["mktree"],
            Some(&format!(
                "100644 blob {two}\tA.md\n100644 blob {two}\tB.md\n100644 blob {one}\tNEW.md\n"
            )),
        );
        let c2 = git(
            &[
                "commit-tree",
                &t2,
                "-p",
                &c1,
                "-m",
                "second\n\nThis reverts commit 1234.",
            ],
            None,
        );
        git(&["update-ref", "refs/heads/main", &c2], None);
        (c1, c2)
    };
    let repo = "/Fabrikam/_apis/git/repositories/web%20app";
    let commits = |from: &str, skip: usize| {
        az.api(
            "GET",
            &format!(
                "{repo}/commits?searchCriteria.itemVersion.version=main&searchCriteria.itemVersion.versionType=branch&searchCriteria.fromDate={from}&searchCriteria.$top=1&searchCriteria.$skip={skip}"
            ),
            Value::Null,
        )
    };
    let newest = commits("2000-01-01T00%3A00%3A00Z", 0);
    assert_eq!(newest.status, 200, "{}", newest.body);
    assert_eq!(newest.body["count"], 1, "{}", newest.body);
    let top = &newest.body["value"][0];
    check(top, "GitCommitRef");
    check(&top["committer"], "GitUserDate");
    assert_eq!(top["commitId"], second.as_str());
    assert_eq!(top["comment"], "second\n\nThis reverts commit 1234.");
    assert!(top["committer"]["date"].as_str().is_some(), "{top}");
    let next = commits("2000-01-01T00%3A00%3A00Z", 1);
    assert_eq!(next.body["value"][0]["commitId"], first.as_str());
    // (git reads no date past 2099)
    let later = commits("2090-01-01T00%3A00%3A00Z", 0);
    assert_eq!(later.body["count"], 0, "{}", later.body);

    let diff = |top: usize, skip: usize| {
        az.api(
            "GET",
            &format!(
                "{repo}/diffs/commits?baseVersion={second}&baseVersionType=commit&baseVersionOptions=firstParent&targetVersion={second}&targetVersionType=commit&diffCommonCommit=false&$top={top}&$skip={skip}"
            ),
            Value::Null,
        )
    };
    let d = diff(100, 0);
    assert_eq!(d.status, 200, "{}", d.body);
    check(&d.body, "GitCommitDiffs");
    assert_eq!(d.body["baseCommit"], first.as_str());
    assert_eq!(d.body["allChangesIncluded"], true);
    let mut changes: Vec<(String, String, Option<String>)> = d.body["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            check(c, "GitChange");
            (
                c["changeType"].as_str().unwrap().to_string(),
                c["item"]["path"].as_str().unwrap().to_string(),
                c["originalPath"].as_str().map(str::to_string),
            )
        })
        .collect();
    changes.sort();
    assert_eq!(
        changes,
        vec![
            ("add".to_string(), "/B.md".to_string(), None),
            ("edit".to_string(), "/A.md".to_string(), None),
            (
                "rename".to_string(),
                "/NEW.md".to_string(),
                Some("/OLD.md".to_string())
            ),
        ]
    );
    let page = diff(2, 0);
    assert_eq!(page.body["changes"].as_array().unwrap().len(), 2);
    assert_eq!(page.body["allChangesIncluded"], false);
    let last = diff(2, 2);
    assert_eq!(last.body["changes"].as_array().unwrap().len(), 1);
    assert_eq!(last.body["allChangesIncluded"], true);
}

/// A completed pull request's `closedDate` is when it was completed, never
/// its `creationDate` (afk's time to merge and its line survival are read
/// from it), and its merge commit names it by its own id.
#[test]
fn a_completed_pull_requests_closed_date_is_its_completion() {
    let az = seeded("closed");
    branch_ahead(&az);
    let repo = "/Fabrikam/_apis/git/repositories/web%20app";
    let pr = az.api(
        "POST",
        &format!("{repo}/pullrequests"),
        json!({"sourceRefName": "refs/heads/afk/issue-1", "targetRefName": "refs/heads/main",
               "title": "Fix it", "description": "Closes #1"}),
    );
    assert_eq!(pr.status, 201, "{}", pr.body);
    let id = pr.body["pullRequestId"].as_u64().unwrap();
    assert!(pr.body.get("closedDate").is_none(), "{}", pr.body);
    az.admin("/ado/complete", json!({"pr": id, "by": "alice"}));
    let one = az.api("GET", &format!("{repo}/pullrequests/{id}"), Value::Null);
    assert_eq!(one.body["status"], "completed", "{}", one.body);
    let created = one.body["creationDate"].as_str().unwrap().to_string();
    let closed = one.body["closedDate"].as_str().unwrap().to_string();
    assert!(closed > created, "closed {closed}, created {created}");
    // the merge commit says the pull request by its own id, as the service's does
    let gd = az.st.lock().unwrap().git_dir("Fabrikam/web app");
    let subject = crate::git::git(&gd, &["log", "-1", "--format=%s", "main"], None).unwrap();
    assert_eq!(subject.trim(), format!("Merged PR {id}: Fix it"));
}
