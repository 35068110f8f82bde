//! Work taken from Jira beside the forge (docs/trackers.md), through the
//! binary against the sandbox's Jira (`/rest/api/3`, answered as
//! docs/fidelity/jira-cloud.md records Jira's answers) and its Gitea: who
//! armed an issue comes from Jira's changelog and Jira's groups, never
//! from what the caller wrote (`historyMetadata`) nor from an app account;
//! the run's pull request is the forge's and names the issue's key; on
//! success the Jira issue moves into Done and loses afk's labels.

use crate::support::*;
use crate::tracker_linear::deliver;
use serde_json::{Value, json};

/// The sandbox's Gitea with acme/api and no forge issue, its Jira with
/// alice (in the trusted group), mallory (in none), an app in the trusted
/// group and afk's own account; afk polling the PLAT project for acme/api.
pub(crate) fn world() -> (Sandbox, Afk) {
    world_in(Dialect::Gitea)
}

/// [`world`] beside the forge of `dialect`.
fn world_in(dialect: Dialect) -> (Sandbox, Afk) {
    let sb = Sandbox::start_in(dialect, json!({"repos": [repo("acme/api", json!([]))]}));
    for (id, kind, groups) in [
        ("alice-1", "atlassian", json!(["g-dev"])),
        ("mallory-1", "atlassian", json!([])),
        ("automation-1", "app", json!(["g-dev"])),
    ] {
        sb.admin(
            "POST",
            "/jira/account",
            Some(json!({"id": id, "kind": kind, "groups": groups})),
        );
    }
    let creds = sb.admin("GET", "/jira/credentials", None);
    let mut afk = Afk::agent_in_afks_workspace(&sb, "pr", "");
    let text = std::fs::read_to_string(&afk.config).unwrap();
    let tracker = format!(
        "\n[tracker]\nkind = \"jira\"\nurl = \"{}\"\nemail = \"{}\"\ntrusted_groups = [\"g-dev\"]\n\n\
         [[tracker.map]]\nproject = \"PLAT\"\nrepo = \"acme/api\"\n",
        sb.url,
        creds["email"].as_str().unwrap()
    );
    std::fs::write(&afk.config, text + &tracker).unwrap();
    afk.env.push((
        "AFK_TRACKER_TOKEN".into(),
        creds["token"].as_str().unwrap().into(),
    ));
    (sb, afk)
}

/// afk's Jira accounts beside `sb`'s forge, as [`world`] makes them: alice
/// (trusted, in g-dev) and mallory (not); and the `[tracker]` block that
/// maps PLAT to acme/api, with the API token's variable's value.
pub(crate) fn jira_people_and_block(sb: &Sandbox) -> (String, String) {
    for (id, groups) in [("alice-1", json!(["g-dev"])), ("mallory-1", json!([]))] {
        sb.admin(
            "POST",
            "/jira/account",
            Some(json!({"id": id, "kind": "atlassian", "groups": groups})),
        );
    }
    let creds = sb.admin("GET", "/jira/credentials", None);
    let block = format!(
        "\n[tracker]\nkind = \"jira\"\nurl = \"{}\"\nemail = \"{}\"\ntrusted_groups = [\"g-dev\"]\n\n\
         [[tracker.map]]\nproject = \"PLAT\"\nrepo = \"acme/api\"\n",
        sb.url,
        creds["email"].as_str().unwrap()
    );
    (block, creds["token"].as_str().unwrap().to_string())
}

/// A PLAT issue made by `creator` with `labels` at creation: its id.
pub(crate) fn issue(sb: &Sandbox, creator: &str, labels: &[&str]) -> String {
    let description = json!({"type": "doc", "version": 1, "content": [
        {"type": "paragraph", "content": [{"type": "text", "text": "parse() drops the last field"}]}
    ]});
    let made = sb.admin(
        "POST",
        "/jira/issue",
        Some(
            json!({"project": "PLAT", "summary": "Fix the parser", "description": description,
                    "creator": creator, "labels": labels}),
        ),
    );
    made["id"].as_str().unwrap().to_string()
}

/// A PLAT issue whose description is `text`: its id.
fn issue_saying(sb: &Sandbox, text: &str) -> String {
    let description = json!({"type": "doc", "version": 1, "content": [
        {"type": "paragraph", "content": [{"type": "text", "text": text}]}
    ]});
    let made = sb.admin(
        "POST",
        "/jira/issue",
        Some(
            json!({"project": "PLAT", "summary": "Fix it", "description": description,
                    "creator": "alice-1", "labels": []}),
        ),
    );
    made["id"].as_str().unwrap().to_string()
}

/// `by` adds `label` to issue `id`, the changelog saying whatever
/// `history_metadata` says beside it.
pub(crate) fn arm(sb: &Sandbox, id: &str, by: &str, history_metadata: Value) {
    sb.admin(
        "POST",
        "/jira/label",
        Some(json!({"issue": id, "by": by, "add": ["ready-for-agent"], "history_metadata": history_metadata})),
    );
}

pub(crate) fn jira_issue(sb: &Sandbox, id: &str) -> Value {
    sb.admin("GET", &format!("/jira/issue/{id}"), None)
}

pub(crate) fn jira_labels(sb: &Sandbox, id: &str) -> Vec<String> {
    jira_issue(sb, id)["fields"]["labels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap().to_string())
        .collect()
}

/// The skip reason poll gave for Jira issue `id`.
fn skipped(r: &Value, id: &str) -> String {
    reason_of(r, "acme/api", id.parse().unwrap()).unwrap_or_else(|| panic!("no skip for {id}: {r}"))
}

/// The attacker's cases first: none of these arms anything, and afk
/// writes nothing in Jira for them.
#[test]
fn an_arming_jira_does_not_trust_dispatches_nothing() {
    let (sb, afk) = world();
    // a forge login trusted by name is no Jira account: it trusts no one here
    crate::tracker_linear::config_with(
        &afk,
        "allowlist = [\"acme/api\"]",
        "allowlist = [\"acme/api\"]\ntrusted_users = [\"mallory-1\", \"automation-1\"]",
    );
    // mallory, in no trusted group, arms it; the API caller's
    // historyMetadata names alice as the actor
    let by_mallory = issue(&sb, "alice-1", &[]);
    arm(
        &sb,
        &by_mallory,
        "mallory-1",
        json!({"actor": {"id": "alice-1", "type": "user"}, "type": "myplugin:type"}),
    );
    // an app account, though its group is trusted
    let by_app = issue(&sb, "alice-1", &[]);
    arm(&sb, &by_app, "automation-1", Value::Null);
    // a portal customer and a deactivated person, both in the trusted group
    for (id, kind, active) in [
        ("customer-1", "customer", true),
        ("former-1", "atlassian", false),
    ] {
        sb.admin(
            "POST",
            "/jira/account",
            Some(json!({"id": id, "kind": kind, "active": active, "groups": ["g-dev"]})),
        );
    }
    let by_customer = issue(&sb, "alice-1", &[]);
    arm(&sb, &by_customer, "customer-1", Value::Null);
    let by_former = issue(&sb, "alice-1", &[]);
    arm(&sb, &by_former, "former-1", Value::Null);
    // the label given at creation by someone untrusted
    let created = issue(&sb, "mallory-1", &["ready-for-agent"]);
    // armed by alice, then its summary changed by mallory
    let edited = issue(&sb, "alice-1", &[]);
    arm(&sb, &edited, "alice-1", Value::Null);
    sb.admin(
        "POST",
        "/jira/edit",
        Some(json!({"issue": edited, "by": "mallory-1", "field": "summary", "to": "Push to main"})),
    );
    // armed by alice, but blocked by an open issue
    let blocker = issue(&sb, "alice-1", &[]);
    let blocked = issue(&sb, "alice-1", &[]);
    sb.admin(
        "POST",
        "/jira/link",
        Some(json!({"issue": blocked, "blocker": blocker})),
    );
    arm(&sb, &blocked, "alice-1", Value::Null);
    let (code, r, err) = afk.poll();
    assert_eq!(code, 0, "{err} {r}");
    assert_eq!(r["dispatched"], json!([]), "{r}");
    assert_eq!(skipped(&r, &blocked), "blocked", "{r}");
    let said = r["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["issue"] == json!(blocked.parse::<u64>().unwrap()))
        .map(|s| s["detail"].to_string())
        .unwrap();
    assert!(
        said.contains(&format!(
            "blocked by {}",
            jira_issue(&sb, &blocker)["key"].as_str().unwrap()
        )),
        "the blocker named by its key: {said}"
    );
    for id in [&by_mallory, &by_app, &by_customer, &by_former, &created] {
        assert_eq!(skipped(&r, id), "untrusted", "{id}: {r}");
    }
    assert_eq!(skipped(&r, &edited), "edited-after-arming", "{r}");
    // the why in the tracker rule's words
    let detail = |id: &str| {
        r["skipped"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["issue"] == json!(id.parse::<u64>().unwrap()))
            .map(|s| s["detail"].as_str().unwrap().to_string())
            .unwrap()
    };
    let cases = [
        (
            &by_mallory,
            "labelled by mallory-1: mallory-1 is in no group of tracker.trusted_groups",
        ),
        (
            &by_app,
            "labelled by automation-1: automation-1 is an app account, trusted only when named in tracker.trusted_accounts",
        ),
        (
            &by_customer,
            "labelled by customer-1: customer-1 is a customer account, trusted only when named in tracker.trusted_accounts",
        ),
        (
            &by_former,
            "labelled by former-1: former-1 is not an active account",
        ),
    ];
    for (id, want) in cases {
        assert!(detail(id).starts_with(want), "{}", detail(id));
    }
    // nothing written in Jira, nothing on the forge
    // the search and the comment list are POSTs that only read
    let reads = ["/rest/api/3/search/jql", "/rest/api/3/comment/list"];
    let jira_writes: Vec<Value> = sb
        .writes()
        .into_iter()
        .filter(|w| w["path"].as_str().unwrap_or("").starts_with("/rest/api/3"))
        .filter(|w| !reads.contains(&w["path"].as_str().unwrap_or("")))
        .collect();
    assert_eq!(jira_writes, Vec::<Value>::new());
    for id in [&by_mallory, &by_app, &created, &edited] {
        assert!(!jira_labels(&sb, id).contains(&"agent-in-progress".to_string()));
    }
}

/// A tracker credential afk cannot read is doctor's `tracker` line, never
/// the forge's: the API token's variable unset, and a service account's
/// client secret unset; nothing is asked of Jira.
#[test]
fn a_missing_tracker_credential_is_doctors_tracker_line_not_the_forges() {
    let (sb, mut afk) = world();
    afk.env.retain(|(k, _)| k != "AFK_TRACKER_TOKEN");
    sb.clear_requests();
    let said = |afk: &Afk| {
        let (_, r, err) = afk.json(&["doctor"]);
        (r["checks"]
            .as_array()
            .unwrap_or_else(|| panic!("{err}"))
            .iter())
        .filter(|c| c["level"] == "fail")
        .map(|c| {
            format!(
                "{} {}",
                c["check"].as_str().unwrap(),
                c["detail"].as_str().unwrap()
            )
        })
        .collect::<Vec<_>>()
    };
    let fails = said(&afk);
    assert!(
        fails
            .iter()
            .any(|l| l.starts_with("tracker ")
                && l.contains("AFK_TRACKER_TOKEN (tracker.token_env)")),
        "{fails:?}"
    );
    assert!(!fails.iter().any(|l| l.starts_with("forge ")), "{fails:?}");
    let email = sb.admin("GET", "/jira/credentials", None)["email"]
        .as_str()
        .unwrap()
        .to_string();
    crate::tracker_linear::config_with(
        &afk,
        &format!("email = \"{email}\"\n"),
        &format!(
            "auth = \"client_credentials\"\napi_url = \"{0}\"\ntoken_url = \"{0}/atlassian/oauth/token\"\n\
             client_id_env = \"AFK_JIRA_CLIENT_ID\"\nclient_secret_env = \"AFK_JIRA_CLIENT_SECRET\"\n",
            sb.url
        ),
    );
    afk.env
        .push(("AFK_JIRA_CLIENT_ID".into(), "client-id-7".into()));
    let fails = said(&afk);
    assert!(
        fails
            .iter()
            .any(|l| l.starts_with("tracker ") && l.contains("AFK_JIRA_CLIENT_SECRET")),
        "{fails:?}"
    );
    assert!(!fails.iter().any(|l| l.starts_with("forge ")), "{fails:?}");
    let asked: Vec<Value> = (sb.requests().into_iter())
        .filter(|q| {
            q["path"]
                .as_str()
                .is_some_and(|p| p.starts_with("/rest/api/3") || p.starts_with("/atlassian"))
        })
        .collect();
    assert_eq!(asked, Vec::<Value>::new(), "nothing asked of Jira");
}

/// afk's account without *Browse users and groups* cannot read an
/// armer's groups: Jira answers 403, the arming is the issue's error,
/// trusting no one (alice's as well as mallory's), nothing is written, and
/// doctor fails naming the permission.
#[test]
fn without_browse_users_and_groups_no_jira_arming_is_trusted_and_doctor_says_why() {
    let (sb, afk) = world();
    sb.admin(
        "POST",
        "/jira/permissions",
        Some(json!({"lacking": ["USER_PICKER"]})),
    );
    let id = issue(&sb, "alice-1", &[]);
    arm(&sb, &id, "alice-1", Value::Null);
    let (_, r, err) = afk.poll();
    assert_eq!(r["dispatched"], json!([]), "{err} {r}");
    let errors = r["errors"].to_string();
    assert!(
        errors.contains("needs the global permission Browse users and groups")
            && errors.contains("403")
            && !errors.contains("admin of acme/api"),
        "{r}"
    );
    let detail = r["skipped"][0]["detail"].as_str().unwrap_or("");
    assert!(
        detail.starts_with("labelled by alice-1: the tracker refused afk's account a read"),
        "{r}"
    );
    assert_eq!(jira_labels(&sb, &id), ["ready-for-agent"]);
    let said = crate::tracker_linear::doctor_said(&afk, "tracker");
    assert!(
        (said.iter()).any(|l| l.starts_with("fail ") && l.contains("Browse users and groups")),
        "{said:?}"
    );
}

/// An issue created already labelled is armed by its creator, never by
/// the reporter it names (a creator with *Modify Reporter* may name
/// anyone): mallory's, naming alice as reporter, is untrusted; alice's is
/// dispatched.
#[test]
fn a_jira_issue_created_labelled_is_its_creators_arming_never_its_reporters() {
    let (sb, afk) = world();
    let made = |creator: &str, reporter: &str| {
        sb.admin(
            "POST",
            "/jira/issue",
            Some(
                json!({"project": "PLAT", "summary": "Fix it", "creator": creator,
                        "reporter": reporter, "labels": ["ready-for-agent"]}),
            ),
        )["id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let by_mallory = made("mallory-1", "alice-1");
    assert_eq!(
        jira_issue(&sb, &by_mallory)["fields"]["reporter"]["accountId"],
        "alice-1"
    );
    let by_alice = made("alice-1", "mallory-1");
    let (code, r, err) = afk.poll();
    assert_eq!(code, 0, "{err} {r}");
    assert_eq!(skipped(&r, &by_mallory), "untrusted", "{r}");
    assert_eq!(
        r["dispatched"][0]["issue"],
        json!(by_alice.parse::<u64>().unwrap()),
        "{r}"
    );
}

/// An outsider who arms many issues costs one read of their account and
/// one of their groups a tick, not one of each per issue: Jira's rate limit
/// is what every other read and write of afk's spends too.
#[test]
fn an_outsider_arming_many_jira_issues_has_their_account_read_once_a_tick() {
    let (sb, afk) = world();
    for _ in 0..12 {
        let id = issue(&sb, "alice-1", &[]);
        arm(&sb, &id, "mallory-1", Value::Null);
    }
    sb.clear_requests();
    let (code, r, err) = afk.poll();
    assert_eq!(code, 0, "{err} {r}");
    assert_eq!(r["dispatched"], json!([]), "{r}");
    assert_eq!(r["skipped"].as_array().unwrap().len(), 12, "{r}");
    let asked = sb.requests();
    let about_mallory = |path: &str| {
        (asked.iter())
            .filter(|q| q["path"] == path)
            .filter(|q| q["query"].as_str().unwrap_or("").contains("mallory-1"))
            .count()
    };
    assert_eq!(about_mallory("/rest/api/3/user"), 1, "{asked:?}");
    assert_eq!(about_mallory("/rest/api/3/user/groups"), 1, "{asked:?}");
}

/// A Jira issue whose id is the number of the forge's status issue cannot
/// be told from that issue (afk reads and writes the status issue by its
/// number): it is skipped, and the skip says why, never "the status issue".
#[test]
fn a_jira_issue_whose_id_is_the_status_issues_number_is_skipped_and_said() {
    let (sb, afk) = world();
    let id = issue(&sb, "alice-1", &[]);
    arm(&sb, &id, "alice-1", Value::Null);
    let text = std::fs::read_to_string(&afk.config).unwrap();
    std::fs::write(
        &afk.config,
        format!("status_issue = \"acme/api#{id}\"\n{text}"),
    )
    .unwrap();
    let (code, r, err) = afk.poll();
    assert_eq!(code, 0, "{err} {r}");
    assert_eq!(r["dispatched"], json!([]), "{r}");
    let said = r["skipped"][0]["detail"].as_str().unwrap_or("");
    assert!(said.contains("cannot tell the two apart"), "{r}");
    assert!(!jira_labels(&sb, &id).contains(&"agent-in-progress".to_string()));
}

/// With the tracker's webhook secret set, doctor reads whether an admin
/// webhook sends Jira's issue events where afk may: without *Administer
/// Jira* (the sandbox's default, as on most sites) it cannot tell, a WARN;
/// with it, an enabled webhook sending `jira:issue_*` events is OK, and a
/// disabled one alone a WARN. No secret, no such read.
#[test]
fn doctor_reads_whether_an_admin_webhook_sends_jiras_issue_events_where_it_may() {
    let (sb, mut afk) = world();
    sb.admin("POST", "/jira/project", Some(json!({"key": "PLAT"})));
    let webhook = |afk: &Afk| crate::tracker_linear::doctor_said(afk, "tracker webhook");
    assert_eq!(webhook(&afk), Vec::<String>::new());
    assert!(
        !sb.requests()
            .iter()
            .any(|q| q["path"] == "/rest/webhooks/1.0/webhook")
    );
    crate::tracker_linear::config_with(
        &afk,
        "trusted_groups = [\"g-dev\"]",
        "trusted_groups = [\"g-dev\"]\nhook_secret_env = \"AFK_TEST_JIRA_HOOK\"",
    );
    afk.env
        .push(("AFK_TEST_JIRA_HOOK".into(), "jira-hook-secret-7c1d".into()));
    let said = webhook(&afk);
    assert_eq!(said.len(), 1, "{said:?}");
    assert!(said[0].starts_with("warn can't tell"), "{said:?}");
    assert!(said[0].contains("Administer Jira"), "{said:?}");
    let hook = |enabled: bool| {
        json!({"name": "afk", "url": "https://afk.example.org/hook", "enabled": enabled,
            "events": ["jira:issue_created", "jira:issue_updated", "jira:issue_deleted"],
            "filters": {"issue-related-events-section": "project in (PLAT)"}})
    };
    let registered = |hooks: Value| {
        sb.admin(
            "POST",
            "/jira/webhooks",
            Some(json!({"admin": true, "hooks": hooks})),
        );
    };
    registered(json!([hook(false)]));
    let said = webhook(&afk);
    assert!(
        said[0].starts_with("warn no enabled admin webhook"),
        "{said:?}"
    );
    // one sending deletions alone delivers no arming
    let deletions = json!({"name": "d", "url": "https://afk.example.org/hook", "enabled": true,
        "events": ["jira:issue_deleted"]});
    registered(json!([deletions]));
    let said = webhook(&afk);
    assert!(
        said[0].starts_with("warn no enabled admin webhook"),
        "{said:?}"
    );
    registered(json!([hook(false), hook(true)]));
    assert_eq!(
        webhook(&afk),
        [
            "ok 1 admin webhook(s) send jira:issue_updated (their address and JQL filter are not checked)"
        ]
    );
}

/// A description node afk does not know (a schema change, or a node
/// Atlassian added since) is never dropped: the prompt holds `[<type>]`
/// and the text inside it, and poll's report counts it
/// (`adf_unknown_nodes`).
#[test]
fn an_adf_node_afk_does_not_know_reaches_the_prompt_with_its_text_and_is_counted() {
    let (sb, afk) = world();
    let description = json!({"type": "doc", "version": 1, "content": [
        {"type": "paragraph", "content": [{"type": "text", "text": "parse() drops the last field"}]},
        {"type": "fooNode", "attrs": {"x": 1}, "content": [
            {"type": "paragraph", "content": [{"type": "text", "text": "inside the new node"}]}
        ]}
    ]});
    let made = sb.admin(
        "POST",
        "/jira/issue",
        Some(
            json!({"project": "PLAT", "summary": "Fix the parser", "description": description,
            "creator": "alice-1", "labels": []}),
        ),
    );
    let id = made["id"].as_str().unwrap().to_string();
    arm(&sb, &id, "alice-1", Value::Null);
    let (code, r, err) = afk.poll();
    assert_eq!(code, 0, "{err} {r}");
    assert_eq!(r["dispatched"][0]["adf_unknown_nodes"], json!(1), "{r}");
    let prompt = std::fs::read_to_string(afk.scratch.path("state/runs/1/prompt-1.md")).unwrap();
    assert!(prompt.contains("[fooNode]"), "{prompt}");
    assert!(prompt.contains("inside the new node"), "{prompt}");
}

/// One search a label a tick, however many repositories are allowlisted,
/// and each nominee read once: every repository's worker waits for the one
/// search (each once sent its own and read every nominee again, so three
/// repositories tripled an outsider's cost).
#[test]
fn the_ready_search_and_its_reads_are_made_once_a_tick_whatever_the_repositories() {
    let (sb, afk) = world();
    crate::tracker_linear::config_with(
        &afk,
        "allowlist = [\"acme/api\"]",
        "allowlist = [\"acme/api\", \"acme/web\", \"acme/docs\"]",
    );
    for _ in 0..5 {
        let id = issue(&sb, "mallory-1", &[]);
        arm(&sb, &id, "mallory-1", Value::Null);
    }
    sb.clear_requests();
    let (_, r, err) = afk.poll();
    assert_eq!(r["dispatched"], json!([]), "{err} {r}");
    let asked = sb.requests();
    let searches = (asked.iter())
        .filter(|q| q["path"] == "/rest/api/3/search/jql")
        .filter(|q| {
            q["body"]["jql"]
                .as_str()
                .is_some_and(|j| j.contains("ready-for-agent"))
        })
        .count();
    assert_eq!(searches, 1, "{asked:?}");
    assert_eq!(crate::azure_watch::asked_twice(&sb), vec![], "{asked:?}");
}

/// alice (in a trusted group) arms; poll starts the agent, then labels the
/// Jira issue; afk opens the forge PR named by the key and never closing a
/// forge issue; merged, the Jira issue moves into Done without afk's labels.
#[test]
fn a_jira_issue_a_trusted_person_armed_is_worked_on_the_forge_and_done_in_jira() {
    let (sb, afk) = world();
    let id = issue(&sb, "mallory-1", &[]);
    arm(&sb, &id, "alice-1", Value::Null);
    let n: u64 = id.parse().unwrap();
    let (code, r, err) = afk.poll();
    assert_eq!(code, 0, "{err} {r}");
    assert_eq!(r["dispatched"][0]["issue"], json!(n), "{r}");
    assert!(jira_labels(&sb, &id).contains(&"agent-in-progress".to_string()));
    // the prompt carries the description's text, fenced as data
    let prompt = std::fs::read_to_string(afk.scratch.path("state/runs/1/prompt-1.md")).unwrap();
    assert!(prompt.contains("parse() drops the last field"), "{prompt}");
    // named by its key, on the branch the run holds
    assert!(prompt.contains("- Issue: PLAT-1 ("), "{prompt}");
    assert!(
        prompt.contains("on the branch `afk/issue-plat-1`"),
        "{prompt}"
    );
    assert!(!prompt.contains("#10001"), "{prompt}");
    assert_eq!(afk.wait_agent(1), 0);
    let (code, r, err) = afk.watch();
    assert_eq!(code, 0, "{err} {r}");
    let prs = sb.open_prs("acme/api");
    assert_eq!(prs.len(), 1, "{r}");
    let pr = &prs[0];
    // the branch is the key's, never the id's (a forge issue's number)
    assert_eq!(pr.head, "afk/issue-plat-1");
    let (_, raw) = sb.api(&sb.path("acme/api", &format!("pulls/{}", pr.number)));
    assert_eq!(raw["title"], "Fix the parser (PLAT-1)", "{raw}");
    let browse = format!("Tracker: PLAT-1 {}/browse/PLAT-1", sb.url);
    assert!(pr.body.starts_with(&browse), "{}", pr.body);
    assert!(!pr.body.contains("Closes"), "{}", pr.body);
    // afk's checklist is afk's own Jira comment, marked by a property
    let j = jira_issue(&sb, &id);
    let comments = j["comments"].as_array().unwrap();
    assert_eq!(comments.len(), 1, "{j}");
    assert_eq!(comments[0]["properties"][0]["key"], "afk");
    let text = comments[0]["body"].to_string();
    assert!(!text.contains("<!--"), "{text}");
    // the Jira issue links to the PR, not merged yet
    let links = j["remote_links"].as_array().unwrap();
    assert_eq!(links.len(), 1, "{j}");
    assert_eq!(links[0]["relationship"], "pull request");
    assert_eq!(links[0]["object"]["url"], raw["html_url"], "{j}");
    assert_eq!(links[0]["object"]["status"]["resolved"], false);
    sb.status("acme/api", &pr.head, "ci/build", "success");
    let (code, r, err) = afk.watch();
    assert_eq!(code, 0, "{err} {r}");
    sb.merge("acme/api", pr.number);
    let (code, r, err) = afk.watch();
    assert_eq!(code, 0, "{err} {r}");
    assert_eq!(action_of(&r, n).0, "succeed", "{r}");
    let j = jira_issue(&sb, &id);
    assert_eq!(
        j["fields"]["status"]["statusCategory"]["key"], "done",
        "{j}"
    );
    let labels = jira_labels(&sb, &id);
    assert!(
        !labels.contains(&"agent-in-progress".to_string())
            && !labels.contains(&"ready-for-agent".to_string()),
        "{labels:?}"
    );
    // the link says merged, still one link (an upsert by its globalId)
    let links = j["remote_links"].as_array().unwrap();
    assert_eq!(links.len(), 1, "{j}");
    assert_eq!(links[0]["object"]["status"]["resolved"], true, "{j}");
    // one checklist comment still, edited in place
    assert_eq!(j["comments"].as_array().unwrap().len(), 1, "{j}");
    // no forge issue was written: the forge's issue paths afk wrote are
    // the pull request's own (its comments)
    let issues = sb.path("acme/api", "issues");
    let own = sb.path("acme/api", &format!("issues/{}/", pr.number));
    let writes = sb.writes();
    assert!(
        writes.iter().all(|w| {
            let p = w["path"].as_str().unwrap_or("");
            !p.starts_with(&issues) || p.starts_with(&own)
        }),
        "{writes:?}"
    );
}

/// A `Blocked by #N` line in a Jira description names no forge issue and
/// no Jira id: it is not read (the issue's links are), so an open Jira
/// issue whose id the line happens to name blocks nothing.
/// Jira's rate limit (`429` with `Retry-After`, any API:
/// developer.atlassian.com/cloud/jira/platform/rate-limiting): a wait past
/// what the tick may spend is that tick's error, said with the limit, and
/// nothing is written or dispatched; a tick before the wait is over sends
/// Jira nothing; the first after it works as before.
#[test]
fn a_jira_429_is_waited_out_by_the_next_tick_and_nothing_is_half_done() {
    let (sb, afk) = world();
    let id = issue(&sb, "mallory-1", &[]);
    arm(&sb, &id, "alice-1", Value::Null);
    sb.faults(
        json!([{"path": "/rest/api/3/search/jql", "status": 429, "retry_after": 3600, "times": 1}]),
    );
    let (code, r, err) = afk.poll();
    assert_eq!(code, 1, "{err} {r}");
    assert_eq!(r["dispatched"], json!([]), "{r}");
    let said = r["errors"].to_string();
    assert!(said.contains("rate limit") || said.contains("429"), "{r}");
    assert_eq!(r["errors"][0]["reason"], "tracker-unavailable", "{r}");
    assert!(
        !jira_labels(&sb, &id).contains(&"agent-in-progress".to_string()),
        "nothing written"
    );
    sb.clear_requests();
    let (_, r, err) = afk.poll();
    assert_eq!(r["dispatched"], json!([]), "{r}");
    assert!(
        (sb.requests().iter()).all(|q| !q["path"].as_str().unwrap().starts_with("/rest/api/3")),
        "nothing sent to Jira before its wait is over: {err}"
    );
    afk.later(2);
    let (code, r, err) = afk.poll();
    assert_eq!(code, 0, "{err} {r}");
    assert_eq!(
        r["dispatched"][0]["issue"],
        json!(id.parse::<u64>().unwrap()),
        "{r}"
    );
}

#[test]
fn a_blocked_by_number_line_in_a_jira_description_reads_nothing() {
    let (sb, afk) = world();
    let open = issue(&sb, "alice-1", &[]);
    let id = issue_saying(&sb, &format!("Blocked by #{open}"));
    arm(&sb, &id, "alice-1", Value::Null);
    let (code, r, err) = afk.poll();
    assert_eq!(code, 0, "{err} {r}");
    assert_eq!(
        r["dispatched"][0]["issue"],
        json!(id.parse::<u64>().unwrap()),
        "{r}"
    );
}

/// A Jira description's `Blocked by` / `Depends on` lines name blockers by
/// key or by the site's browse URL: a mapped project's issue that is not
/// done blocks until it is. One afk cannot read (Jira answers 404 for an
/// issue it hides) and one of a project outside the map block too; another
/// host's URL names nothing.
#[test]
fn a_blocked_by_key_line_in_a_jira_description_blocks_until_that_issue_is_done() {
    let (sb, afk) = world();
    let blocker = issue(&sb, "alice-1", &[]);
    let key = jira_issue(&sb, &blocker)["key"]
        .as_str()
        .unwrap()
        .to_string();
    let by_key = issue_saying(&sb, &format!("- Blocked by {key}, the lexer"));
    arm(&sb, &by_key, "alice-1", Value::Null);
    let (code, r, err) = afk.poll();
    assert_eq!(code, 0, "{err} {r}");
    assert_eq!(skipped(&r, &by_key), "blocked", "{r}");
    assert!(r["skipped"].to_string().contains(&key), "{r}");
    sb.admin(
        "POST",
        "/jira/edit",
        Some(json!({"issue": blocker, "by": "alice-1", "field": "status", "to": "done"})),
    );
    let (code, r, err) = afk.poll();
    assert_eq!(code, 0, "{err} {r}");
    assert_eq!(
        r["dispatched"][0]["issue"],
        json!(by_key.parse::<u64>().unwrap()),
        "{r}"
    );

    let (sb, afk) = world();
    let blocker = issue(&sb, "alice-1", &[]);
    let key = jira_issue(&sb, &blocker)["key"]
        .as_str()
        .unwrap()
        .to_string();
    let by_url = issue_saying(&sb, &format!("Depends on {}/browse/{key}", sb.url));
    let unseen = issue_saying(&sb, "Blocked by PLAT-999");
    let outside = issue_saying(&sb, "Blocked by OPS-3");
    let elsewhere = issue_saying(
        &sb,
        &format!("Blocked by https://other.example/browse/{key}"),
    );
    for id in [&by_url, &unseen, &outside, &elsewhere] {
        arm(&sb, id, "alice-1", Value::Null);
    }
    let (code, r, err) = afk.poll();
    assert_eq!(code, 0, "{err} {r}");
    for id in [&by_url, &unseen, &outside] {
        assert_eq!(skipped(&r, id), "blocked", "{id}: {r}");
    }
    assert_eq!(
        r["dispatched"][0]["issue"],
        json!(elsewhere.parse::<u64>().unwrap()),
        "{r}"
    );
}

/// An armed Jira issue the map places in no repository, or in several, is
/// worked on nowhere: poll's report says it (`unmapped`, or
/// `ambiguous-mapping` naming the entries that match), nothing is written
/// on it, and the issue the map places once is dispatched.
#[test]
fn a_jira_issue_the_map_places_nowhere_or_twice_is_a_skip_in_polls_report() {
    let (sb, afk) = world();
    let text = std::fs::read_to_string(&afk.config).unwrap().replace(
        "[[tracker.map]]\nproject = \"PLAT\"\nrepo = \"acme/api\"\n",
        "[[tracker.map]]\nproject = \"PLAT\"\nlabel = \"backend\"\nrepo = \"acme/api\"\n\n\
         [[tracker.map]]\nproject = \"PLAT\"\ncomponent = \"api\"\nrepo = \"acme/api\"\n",
    );
    std::fs::write(&afk.config, text).unwrap();
    let made = |labels: Value, components: Value| {
        sb.admin(
            "POST",
            "/jira/issue",
            Some(
                json!({"project": "PLAT", "summary": "Fix it", "creator": "alice-1",
                        "labels": labels, "components": components}),
            ),
        )["id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let nowhere = made(json!([]), json!([]));
    let twice = made(json!(["backend"]), json!(["api"]));
    let once = made(json!(["backend"]), json!([]));
    for id in [&nowhere, &twice, &once] {
        arm(&sb, id, "alice-1", Value::Null);
    }
    let (code, r, err) = afk.poll();
    assert_eq!(code, 0, "{err} {r}");
    let skip = |id: &str| {
        r["skipped"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["issue"] == json!(id.parse::<u64>().unwrap()))
            .cloned()
            .unwrap_or_else(|| panic!("no skip for {id}: {r}"))
    };
    let key = |id: &str| jira_issue(&sb, id)["key"].as_str().unwrap().to_string();
    let s = skip(&nowhere);
    assert_eq!(
        (&s["reason"], &s["repo"]),
        (&json!("unmapped"), &Value::Null),
        "{s}"
    );
    assert!(
        s["detail"].as_str().unwrap().starts_with(&key(&nowhere)),
        "{s}"
    );
    let s = skip(&twice);
    assert_eq!(s["reason"], json!("ambiguous-mapping"), "{s}");
    assert!(
        s["detail"].as_str().unwrap().contains("entries 1, 2"),
        "{s}"
    );
    assert_eq!(
        r["dispatched"][0]["issue"],
        json!(once.parse::<u64>().unwrap()),
        "{r}"
    );
    assert_eq!(
        jira_labels(&sb, &nowhere),
        ["ready-for-agent"],
        "nothing written on it"
    );
    assert_eq!(jira_labels(&sb, &twice), ["backend", "ready-for-agent"]);
}

/// `world` trusting by the project role `role` (a name or an id) alone,
/// with carol acting in the role "Developers" of PLAT as a user, dave
/// through his group g-ops, and mallory in neither.
fn world_of_roles(role: &str, administers: bool) -> (Sandbox, Afk) {
    let (sb, afk) = world();
    let text = std::fs::read_to_string(&afk.config).unwrap().replace(
        "trusted_groups = [\"g-dev\"]",
        &format!("trusted_roles = [\"{role}\"]"),
    );
    std::fs::write(&afk.config, text).unwrap();
    for (id, groups) in [("carol-1", json!([])), ("dave-1", json!(["g-ops"]))] {
        sb.admin(
            "POST",
            "/jira/account",
            Some(json!({"id": id, "kind": "atlassian", "groups": groups})),
        );
    }
    let role = sb.admin(
        "POST",
        "/jira/role",
        Some(json!({"project": "PLAT", "name": "Developers", "users": ["carol-1"], "groups": ["g-ops"]})),
    );
    assert_eq!(role["id"], json!(10002), "{role}");
    sb.admin(
        "POST",
        "/jira/administers",
        Some(json!({"on": administers})),
    );
    (sb, afk)
}

/// Trust through a project role (`trusted_roles`, by name or by id): an
/// account acting in the role in the issue's project, as a user or through
/// a group, arms; one that does not is untrusted. Where afk's account does
/// not administer the project, Jira answers the role reads 404: nothing is
/// dispatched and the issue's error says so, never "not an actor".
#[test]
fn a_jira_project_role_trusts_its_actors_and_a_role_afk_cannot_read_trusts_no_one() {
    let (sb, afk) = world_of_roles("Developers", false);
    let by_carol = issue(&sb, "carol-1", &[]);
    arm(&sb, &by_carol, "carol-1", Value::Null);
    let (code, r, err) = afk.poll();
    assert_eq!(code, 1, "{err} {r}");
    assert!(r["dispatched"].as_array().unwrap().is_empty(), "{r}");
    assert!(r["errors"].to_string().contains("404"), "{r}");
    assert!(
        jira_labels(&sb, &by_carol) == ["ready-for-agent"],
        "nothing written"
    );
    sb.admin("POST", "/jira/administers", Some(json!({"on": true})));
    let (code, r, err) = afk.poll();
    assert_eq!(code, 0, "{err} {r}");
    assert_eq!(
        r["dispatched"][0]["issue"],
        json!(by_carol.parse::<u64>().unwrap()),
        "{r}"
    );

    let (sb, afk) = world_of_roles("10002", true);
    let by_mallory = issue(&sb, "mallory-1", &[]);
    arm(&sb, &by_mallory, "mallory-1", Value::Null);
    let by_dave = issue(&sb, "dave-1", &[]);
    arm(&sb, &by_dave, "dave-1", Value::Null);
    let (code, r, err) = afk.poll();
    assert_eq!(code, 0, "{err} {r}");
    assert_eq!(skipped(&r, &by_mallory), "untrusted", "{r}");
    assert_eq!(
        r["dispatched"][0]["issue"],
        json!(by_dave.parse::<u64>().unwrap()),
        "{r}"
    );
}

/// A comment POST to Jira whose answer was lost may have landed: the next
/// tick finds afk's comment by its marker (the comment property) and posts
/// no second one.
#[test]
fn a_jira_comment_whose_answer_was_lost_is_found_by_its_marker_not_posted_twice() {
    let (sb, afk) = world();
    let id = issue(&sb, "mallory-1", &[]);
    arm(&sb, &id, "alice-1", Value::Null);
    let (code, r, err) = afk.poll();
    assert_eq!(code, 0, "{err} {r}");
    assert_eq!(afk.wait_agent(1), 0);
    sb.faults(
        json!([{"method": "POST", "path": format!("/rest/api/3/issue/{id}/comment"),
        "drop_after": true, "times": 1}]),
    );
    let (code, r, err) = afk.watch();
    assert_ne!(code, 0, "the comment's answer was lost: {err} {r}");
    let landed = jira_issue(&sb, &id)["comments"].as_array().unwrap().len();
    assert_eq!(landed, 1, "the POST landed, its answer lost");
    let (code, r, err) = afk.watch();
    assert_eq!(code, 0, "{err} {r}");
    let j = jira_issue(&sb, &id);
    assert_eq!(j["comments"].as_array().unwrap().len(), 1, "{j}");
}

/// A run whose Jira issue a person moves into Done, or to a project the
/// map sends nowhere, ends there: its agent is stopped and no PR opened;
/// the report says `moved` for the move (docs/trackers.md).
#[test]
fn a_run_whose_jira_issue_is_done_or_moved_away_is_abandoned() {
    // (field, its new value, the report's reason, its detail's start)
    for (field, to, reason, said) in [
        (
            "status",
            "done",
            None,
            "a person moved the tracker's issue into done",
        ),
        (
            "project",
            "OPS",
            Some("moved"),
            "moved: the map now sends the tracker's issue",
        ),
    ] {
        let (sb, afk) = world();
        let id = issue(&sb, "alice-1", &[]);
        arm(&sb, &id, "alice-1", Value::Null);
        let (code, r, err) = afk.poll();
        assert_eq!(code, 0, "{err} {r}");
        assert_eq!(r["dispatched"].as_array().unwrap().len(), 1, "{r}");
        assert_eq!(afk.wait_agent(1), 0);
        sb.admin(
            "POST",
            "/jira/edit",
            Some(json!({"issue": id, "by": "alice-1", "field": field, "to": to})),
        );
        let (code, r, err) = afk.watch();
        assert_eq!(code, 0, "{err} {r}");
        assert_eq!(
            action_of(&r, id.parse().unwrap()),
            ("abandon".into(), reason.map(String::from)),
            "{field}: {r}"
        );
        // said in the tracker's words, not a forge issue's
        let detail = r["actions"][0]["detail"].as_str().unwrap_or("");
        assert!(detail.starts_with(said), "{r}");
        assert_eq!(sb.open_prs("acme/api").len(), 0, "{field}");
    }
}

/// A Jira issue moved from PLAT to CORE, both mapped to acme/api, keeps
/// its run: the run's branch stays, the move (its key changed, its id
/// not) is no abandonment, and the pull request opens; reports name the
/// run by its branch's key.
#[test]
fn a_jira_issue_moved_between_two_mapped_projects_keeps_its_run() {
    let (sb, afk) = world();
    let text = std::fs::read_to_string(&afk.config).unwrap();
    let with = text.replace(
        "[[tracker.map]]\nproject = \"PLAT\"\nrepo = \"acme/api\"\n",
        "[[tracker.map]]\nproject = \"PLAT\"\nrepo = \"acme/api\"\n\n\
         [[tracker.map]]\nproject = \"CORE\"\nrepo = \"acme/api\"\n",
    );
    assert_ne!(with, text);
    std::fs::write(&afk.config, with).unwrap();
    let id = issue(&sb, "alice-1", &[]);
    arm(&sb, &id, "alice-1", Value::Null);
    let (code, r, err) = afk.poll();
    assert_eq!(code, 0, "{err} {r}");
    assert_eq!(r["dispatched"].as_array().unwrap().len(), 1, "{r}");
    assert_eq!(afk.wait_agent(1), 0);
    sb.admin(
        "POST",
        "/jira/edit",
        Some(json!({"issue": id, "by": "alice-1", "field": "project", "to": "CORE"})),
    );
    assert!(
        jira_issue(&sb, &id)["key"]
            .as_str()
            .unwrap()
            .starts_with("CORE-")
    );
    let (code, r, err) = afk.watch();
    assert_eq!(code, 0, "{err} {r}");
    let n: u64 = id.parse().unwrap();
    assert_ne!(action_of(&r, n).0, "abandon", "{r}");
    let prs = sb.open_prs("acme/api");
    assert_eq!(prs.len(), 1, "{r}");
    assert_eq!(prs[0].head, "afk/issue-plat-1", "the run's branch stays");
}

/// The POSTs of comments on Jira issue `id` the sandbox answered.
fn comment_posts(sb: &Sandbox, id: &str) -> usize {
    let path = format!("/rest/api/3/issue/{id}/comment");
    (sb.requests().iter())
        .filter(|q| q["method"] == "POST" && q["path"] == path)
        .count()
}

/// Jira caps an issue's comments and answers a new one `413`: a blocked
/// run's escalation comment refused so is said in the run's notes; the
/// run still escalates (afk's labels switched), its checklist is not
/// posted after it, and no later tick posts again.
#[test]
fn a_jira_issue_at_its_comment_limit_still_escalates_by_its_labels() {
    let (sb, afk) = world();
    let id = issue(&sb, "alice-1", &[]);
    arm(&sb, &id, "alice-1", Value::Null);
    crate::tracker_linear::agent_blocked_saying(&afk, "which database?");
    assert_eq!(afk.poll().0, 0);
    assert_eq!(afk.wait_agent(1), 0);
    sb.faults(
        json!([{"method": "POST", "path": format!("/rest/api/3/issue/{id}/comment"),
        "status": 413}]),
    );
    let (_, r, err) = afk.watch();
    let n: u64 = id.parse().unwrap();
    let said = format!("{err}{r}");
    assert!(
        said.contains("413") && said.contains("only edits its checklist"),
        "{said}"
    );
    assert_eq!(action_of(&r, n).0, "escalate", "{r}");
    let (_, r2, err2) = afk.watch();
    let labels = jira_labels(&sb, &id);
    assert!(
        labels.contains(&"ready-for-human".to_string()),
        "{labels:?} {r} {r2} {err2}"
    );
    assert_eq!(comment_posts(&sb, &id), 1, "{r} {r2}");
}

/// An issue that reached Jira's limit on comments after afk's checklist was
/// posted: the escalation a trusted `/afk stop` brings is refused (`413`),
/// the checklist is still edited to say the end, and nothing is posted
/// there again.
#[test]
fn at_the_comment_limit_afk_only_edits_its_jira_checklist() {
    let (sb, afk) = world();
    let id = issue(&sb, "alice-1", &[]);
    arm(&sb, &id, "alice-1", Value::Null);
    assert_eq!(afk.poll().0, 0);
    assert_eq!(afk.wait_agent(1), 0);
    let (code, r, err) = afk.watch();
    assert_eq!(code, 0, "{err} {r}");
    assert_eq!(comment_posts(&sb, &id), 1, "the checklist: {r}");
    let checklist_edits = || {
        (sb.requests().iter())
            .filter(|q| {
                q["method"] == "PUT"
                    && (q["path"].as_str().unwrap())
                        .starts_with(&format!("/rest/api/3/issue/{id}/comment/"))
            })
            .count()
    };
    let edits = checklist_edits();
    sb.faults(
        json!([{"method": "POST", "path": format!("/rest/api/3/issue/{id}/comment"),
        "status": 413}]),
    );
    let pr = On::Pr(sb.dialect.first_pr(0));
    sb.comment_on("acme/api", pr, "alice", "/afk stop");
    let (_, r, err) = afk.watch();
    let n: u64 = id.parse().unwrap();
    assert_eq!(
        action_of(&r, n),
        ("escalate".into(), Some("stopped".into())),
        "{r} {err}"
    );
    assert!(
        format!("{err}{r}").contains("only edits its checklist"),
        "{err} {r}"
    );
    assert_eq!(
        checklist_edits(),
        edits + 1,
        "the end said in the checklist: {r}"
    );
    let (_, r2, _) = afk.watch();
    assert_eq!(
        comment_posts(&sb, &id),
        2,
        "one refused escalation: {r} {r2}"
    );
    assert!(jira_labels(&sb, &id).contains(&"ready-for-human".to_string()));
}

/// Doctor says whom Jira answers as and whether afk may read groups, that
/// its API token's expiry cannot be read, that the site is Jira Cloud, and
/// that what the config names is on the site (each mapped project by its
/// key, its mapped components, afk's permissions in it, each trusted
/// group's id, each trusted role in each mapped project, the blocked-by
/// link type); a project Jira lacks or knows by another key, a component
/// it lacks, a permission afk lacks, an unknown group id (a group's name
/// where its id belongs), a role the project lacks and a link type the
/// site lacks are each a FAIL naming it; a token Jira refuses is a FAIL
/// naming where the token comes from.
#[test]
fn doctor_says_whom_jira_answers_as_and_fails_a_refused_token() {
    let (sb, mut afk) = world();
    let lines = crate::tracker_linear::doctor_lines;
    let absent = format!("{:?}", lines(&afk));
    assert!(
        absent.contains("Jira has no project PLAT that afk's account may browse"),
        "{absent}"
    );
    sb.admin(
        "POST",
        "/jira/project",
        Some(json!({"key": "PLAT", "components": ["api"]})),
    );
    let mut ok = lines(&afk);
    assert_eq!(ok.len(), 8, "{ok:?}");
    let (level, automation) = ok.pop().unwrap();
    assert_eq!(level, "warn");
    assert!(
        automation.contains("Automation rule as any person"),
        "{automation}"
    );
    assert!(ok.iter().all(|(level, _)| level == "ok"), "{ok:?}");
    assert!(
        ok[0]
            .1
            .contains("answers as 712020:afk-sandbox-0000 (atlassian account)"),
        "{ok:?}"
    );
    assert!(
        ok[2]
            .1
            .contains("an API token's expiry cannot be read with the token"),
        "{ok:?}"
    );
    assert!(ok[3].1.contains("is Jira Cloud"), "{ok:?}");
    assert!(
        ok[4]
            .1
            .contains("holds in Jira project PLAT each permission"),
        "{ok:?}"
    );
    assert!(ok[5].1.contains("Jira group g-dev"), "{ok:?}");
    assert!(ok[6].1.contains("link type \"Blocks\""), "{ok:?}");
    let base = std::fs::read_to_string(&afk.config).unwrap();
    sb.admin("POST", "/jira/administers", Some(json!({"on": true})));
    sb.admin(
        "POST",
        "/jira/permissions",
        Some(json!({"lacking": ["LINK_ISSUES"]})),
    );
    let broken = base
        .replace(
            "trusted_groups = [\"g-dev\"]",
            "trusted_groups = [\"g-dev\", \"developers\"]\ntrusted_roles = [\"Release managers\"]\nblocked_by_link = \"Depends\"",
        )
        + "\n[[tracker.map]]\nproject = \"PLAT\"\ncomponent = \"web\"\nrepo = \"acme/api\"\n\
           \n[[tracker.map]]\nproject = \"OPS\"\nrepo = \"acme/api\"\n\
           \n[[tracker.map]]\nproject = \"10000\"\nrepo = \"acme/api\"\n";
    assert!(broken.contains("Depends"), "{broken}");
    std::fs::write(&afk.config, &broken).unwrap();
    let said = format!("{:?}", lines(&afk));
    std::fs::write(&afk.config, &base).unwrap();
    for want in [
        "Jira project PLAT has no component web",
        "afk's account lacks in Jira project PLAT: LINK_ISSUES",
        "Jira has no project OPS that afk's account may browse",
        "tracker.map names Jira project 10000, which Jira knows by the key PLAT",
        "Jira has no group with id developers",
        "Jira project PLAT has no role Release managers",
        "Jira has no link type \\\"Depends\\\" (tracker.blocked_by_link",
    ] {
        assert!(said.contains(want), "{want}: {said}");
    }
    afk.env.retain(|(k, _)| k != "AFK_TRACKER_TOKEN");
    afk.env
        .push(("AFK_TRACKER_TOKEN".into(), "not-the-token".into()));
    let refused = lines(&afk);
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert_eq!(refused[0].0, "fail", "{refused:?}");
    assert!(
        refused[0].1.contains("401") && refused[0].1.contains("AFK_TRACKER_TOKEN"),
        "{refused:?}"
    );
    assert!(!refused[0].1.contains("not-the-token"), "{refused:?}");
    drop(sb);
}

/// Jira's admin webhook: a delivery signed `X-Hub-Signature: sha256=…` with
/// `tracker.hook_secret_env`'s secret starts poll for the map's
/// repositories; unsigned, signed otherwise, or also carrying a forge's
/// signature header, it starts nothing (401); the same delivery again
/// starts nothing either.
#[test]
fn a_signed_jira_delivery_polls_the_mapped_repositories_and_nothing_else_counts() {
    let (sb, mut afk) = world();
    crate::tracker_linear::config_with(
        &afk,
        "trusted_groups = [\"g-dev\"]",
        "trusted_groups = [\"g-dev\"]\nhook_secret_env = \"AFK_TEST_JIRA_HOOK\"",
    );
    let secret = "jira-hook-secret-7c1d";
    let hook_lines = |afk: &Afk| {
        let (_, r, _) = afk.json(&["doctor"]);
        (r["checks"].as_array().unwrap().iter())
            .filter(|c| c["check"] == "hook")
            .map(|c| {
                format!(
                    "{} {}",
                    c["level"].as_str().unwrap(),
                    c["detail"].as_str().unwrap()
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    let unset = hook_lines(&afk);
    assert!(
        unset.contains(
            "fail tracker.hook_secret_env names AFK_TEST_JIRA_HOOK, which is unset or empty"
        ),
        "{unset}"
    );
    afk.env.push(("AFK_TEST_JIRA_HOOK".into(), secret.into()));
    let set = hook_lines(&afk);
    assert!(
        set.contains("ok Jira's webhook secret is set ($AFK_TEST_JIRA_HOOK)"),
        "{set}"
    );
    // what doctor read is before this
    let read_before = sb.requests().len();
    let id = issue(&sb, "mallory-1", &[]);
    arm(&sb, &id, "alice-1", Value::Null);
    let body = json!({"timestamp": 1796000000000u64, "webhookEvent": "jira:issue_updated",
        "issue": {"id": id, "key": "PLAT-1", "fields": {"project": {"key": "PLAT"}}}})
    .to_string();
    let mac = crate::hook::hex_mac(secret, &body);
    let delivery = "X-Atlassian-Webhook-Identifier: 4f2c-1".to_string();
    let refused: Vec<(&str, Vec<String>)> = vec![
        ("unsigned", vec![delivery.clone()]),
        (
            "sha1",
            vec![format!("X-Hub-Signature: sha1={mac}"), delivery.clone()],
        ),
        (
            "bare",
            vec![format!("X-Hub-Signature: {mac}"), delivery.clone()],
        ),
        (
            "another secret",
            vec![
                format!(
                    "X-Hub-Signature: sha256={}",
                    crate::hook::hex_mac("guess", &body)
                ),
                delivery.clone(),
            ],
        ),
        (
            "a forge's header too",
            vec![
                format!("X-Hub-Signature: sha256={mac}"),
                format!("X-Gitea-Signature: {mac}"),
                delivery.clone(),
            ],
        ),
        // a Connect app's delivery is signed by a JWT of the app's shared
        // secret, not by this webhook's: afk holds no such secret, so it
        // proves nothing here
        (
            "a Connect app's JWT alone",
            vec![
                "Authorization: JWT eyJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJhdGxhc3NpYW4ifQ.c2ln".into(),
                delivery.clone(),
            ],
        ),
    ];
    for (name, headers) in refused {
        let (code, out, err) = deliver(&afk, &body, &headers);
        assert_eq!(
            (code, out.starts_with("HTTP/1.1 401 ")),
            (1, true),
            "{name}: {out}{err}"
        );
    }
    assert!(
        (sb.requests().iter().skip(read_before))
            .all(|q| !q["path"].as_str().unwrap_or("").starts_with("/rest/api/3")),
        "a refused delivery reads nothing of Jira"
    );
    assert!(!afk.scratch.path("state/runs/1").exists());
    let signed = vec![format!("X-Hub-Signature: sha256={mac}"), delivery.clone()];
    let (code, out, err) = deliver(&afk, &body, &signed);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.starts_with("HTTP/1.1 202 ") && out.ends_with("poll ticks for acme/api\n"),
        "{out}"
    );
    assert!(
        jira_labels(&sb, &id).contains(&"agent-in-progress".to_string()),
        "{err}"
    );
    // the same delivery again (a retry keeps its identifier): nothing
    let (code, out, err) = deliver(&afk, &body, &signed);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.ends_with("delivery already handled\n"), "{out}");
    // a comment's event ticks nothing: a tracker comment is never a command
    let comment = json!({"webhookEvent": "comment_created", "issue": {"id": id}}).to_string();
    let headers = vec![
        format!(
            "X-Hub-Signature: sha256={}",
            crate::hook::hex_mac(secret, &comment)
        ),
        "X-Atlassian-Webhook-Identifier: 4f2c-2".to_string(),
    ];
    let (code, out, _) = deliver(&afk, &comment, &headers);
    assert_eq!((code, out.starts_with("HTTP/1.1 202 ")), (0, true), "{out}");
    assert!(!out.contains("tick"), "{out}");
}

/// `auth = "bearer"`: an OAuth 2.0 access token goes as `Bearer` to the
/// API root `api_url` names (Atlassian's gateway; the sandbox stands in
/// for it), never as Basic; without `api_url` the config is refused; a
/// token Jira refuses is the tick's error naming where it comes from, and
/// nothing is dispatched.
#[test]
fn a_jira_oauth_token_goes_as_bearer_to_api_url_alone() {
    let (sb, mut afk) = world();
    let creds = sb.admin("GET", "/jira/credentials", None);
    let base = std::fs::read_to_string(&afk.config).unwrap();
    let with_email = base.replace("kind = \"jira\"\n", "kind = \"jira\"\nauth = \"bearer\"\n");
    assert_ne!(with_email, base);
    // an email is parsed and never read with a bearer token: refused
    std::fs::write(&afk.config, &with_email).unwrap();
    let out = afk.cmd().arg("poll").output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("tracker.email"), "{err}");
    let email = creds["email"].as_str().unwrap();
    let bearer = with_email.replace(&format!("email = \"{email}\"\n"), "");
    assert_ne!(bearer, with_email);
    std::fs::write(&afk.config, &bearer).unwrap();
    let out = afk.cmd().arg("poll").output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("tracker.api_url"), "{err}");

    let with_api = bearer.replace(
        "auth = \"bearer\"\n",
        &format!("auth = \"bearer\"\napi_url = \"{}\"\n", sb.url),
    );
    std::fs::write(&afk.config, &with_api).unwrap();
    let set_token = |afk: &mut Afk, token: &str| {
        for (k, v) in afk.env.iter_mut() {
            if k == "AFK_TRACKER_TOKEN" {
                *v = token.to_string();
            }
        }
    };
    // the API token where an OAuth token belongs: Jira refuses it
    set_token(&mut afk, creds["token"].as_str().unwrap());
    let id = issue(&sb, "alice-1", &[]);
    arm(&sb, &id, "alice-1", Value::Null);
    let (code, r, err) = afk.poll();
    assert_ne!(code, 0, "{err} {r}");
    assert!(
        r["dispatched"].as_array().is_none_or(|d| d.is_empty()),
        "{r}"
    );
    assert!(
        format!("{err}{r}").contains("AFK_TRACKER_TOKEN"),
        "{err} {r}"
    );

    set_token(&mut afk, creds["bearer"].as_str().unwrap());
    sb.clear_requests();
    let (code, r, err) = afk.poll();
    assert_eq!(code, 0, "{err} {r}");
    assert_eq!(
        r["dispatched"][0]["issue"],
        json!(id.parse::<u64>().unwrap()),
        "{r}"
    );
    let schemes: Vec<Value> = sb
        .requests()
        .iter()
        .filter(|q| {
            q["path"]
                .as_str()
                .is_some_and(|p| p.starts_with("/rest/api/3/"))
        })
        .map(|q| q["auth"]["scheme"].clone())
        .collect();
    assert!(!schemes.is_empty());
    assert!(schemes.iter().all(|s| s == "Bearer"), "{schemes:?}");
}

/// Beside every other forge dialect (GitHub, GitLab, Azure DevOps) a
/// Jira-armed issue is worked on that forge, its pull request naming the
/// issue and closing nothing there, and its merge moves the Jira issue
/// into Done with afk's labels off.
#[test]
fn a_jira_issue_is_worked_on_every_forge_dialect_and_done_in_jira() {
    for dialect in [Dialect::Github, Dialect::Gitlab, Dialect::AzureDevops] {
        let (sb, afk) = world_in(dialect);
        let id = issue(&sb, "alice-1", &[]);
        arm(&sb, &id, "alice-1", Value::Null);
        let n: u64 = id.parse().unwrap();
        let (code, r, err) = afk.poll();
        assert_eq!(code, 0, "{dialect:?}: {err} {r}");
        assert_eq!(r["dispatched"][0]["issue"], json!(n), "{dialect:?}: {r}");
        assert_eq!(afk.wait_agent(1), 0, "{dialect:?}");
        let (code, r, err) = afk.watch();
        assert_eq!(code, 0, "{dialect:?}: {err} {r}");
        let prs = sb.open_prs("acme/api");
        assert_eq!(prs.len(), 1, "{dialect:?}: {r}");
        let pr = &prs[0];
        assert!(
            pr.body.starts_with("Tracker: PLAT-1 "),
            "{dialect:?}: {}",
            pr.body
        );
        for closing in ["Closes", "Fixes", "Resolves", "AB#"] {
            assert!(!pr.body.contains(closing), "{dialect:?}: {}", pr.body);
        }
        sb.status("acme/api", &pr.head, "ci/build", "success");
        let (code, r, err) = afk.watch();
        assert_eq!(code, 0, "{dialect:?}: {err} {r}");
        sb.merge("acme/api", pr.number);
        let (code, r, err) = afk.watch();
        assert_eq!(code, 0, "{dialect:?}: {err} {r}");
        assert_eq!(action_of(&r, n).0, "succeed", "{dialect:?}: {r}");
        let j = jira_issue(&sb, &id);
        assert_eq!(
            j["fields"]["status"]["statusCategory"]["key"], "done",
            "{dialect:?}: {j}"
        );
        assert_eq!(jira_labels(&sb, &id), Vec::<String>::new(), "{dialect:?}");
    }
}

/// Jira's search pages by `nextPageToken` (the last page has none): 250
/// ready issues come back whole over pages, each later page asked with the
/// token the one before it gave, and the old `/rest/api/3/search` (which
/// Jira answers 410) is never asked; the first issue by key is the one
/// dispatched.
#[test]
fn two_hundred_and_fifty_ready_jira_issues_come_back_whole_over_pages() {
    let (sb, afk) = world();
    let ids: Vec<String> = (0..250)
        .map(|_| {
            let id = issue(&sb, "alice-1", &[]);
            arm(&sb, &id, "alice-1", Value::Null);
            id
        })
        .collect();
    sb.clear_requests();
    let (code, r, err) = afk.poll();
    assert_eq!(code, 0, "{err} {r}");
    assert_eq!(
        r["dispatched"][0]["issue"],
        json!(ids[0].parse::<u64>().unwrap()),
        "{r}"
    );
    let asked = sb.requests();
    let old = asked
        .iter()
        .filter(|q| q["path"] == "/rest/api/3/search")
        .count();
    assert_eq!(old, 0, "the removed search was asked");
    // the ready label's search (the in-progress label's is another)
    let pages: Vec<&Value> = asked
        .iter()
        .filter(|q| q["path"] == "/rest/api/3/search/jql")
        .filter(|q| {
            q["body"]["jql"]
                .as_str()
                .is_some_and(|j| j.contains("ready-for-agent"))
        })
        .collect();
    assert!(pages.len() >= 3, "{}", pages.len());
    assert!(
        pages[0]["body"].get("nextPageToken").is_none(),
        "{}",
        pages[0]
    );
    assert!(
        pages[1..]
            .iter()
            .all(|p| p["body"]["nextPageToken"].is_string()),
        "each later page carries its token"
    );
    // every one of the 250 was read after its search nominated it
    let read: std::collections::BTreeSet<&str> = asked
        .iter()
        .filter_map(|q| q["path"].as_str()?.strip_prefix("/rest/api/3/issue/"))
        .filter(|rest| !rest.contains('/'))
        .collect();
    for id in &ids {
        assert!(read.contains(id.as_str()), "issue {id} was not read");
    }
}

/// Jira's `429` with `X-RateLimit-Reset` alone (`yyyy-MM-ddTHH:mmZ`, no
/// seconds) and a reset further off than the tick may wait: the request is
/// not sent again (each try would be refused), the tick's error says how
/// long Jira asked to wait and its `RateLimit-Reason`, and nothing is
/// dispatched; the next tick, answered, dispatches. `X-RateLimit-NearLimit:
/// true` on an answer stops doctor's optional reads, said as a warning.
#[test]
fn a_jira_429_waits_for_its_minute_reset_and_a_near_limit_stops_optional_reads() {
    let (sb, afk) = world();
    let id = issue(&sb, "alice-1", &[]);
    arm(&sb, &id, "alice-1", Value::Null);
    let later = time::OffsetDateTime::now_utc() + time::Duration::minutes(30);
    let reset = format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}Z",
        later.year(),
        u8::from(later.month()),
        later.day(),
        later.hour(),
        later.minute()
    );
    sb.faults(json!([{"method": "POST", "path": "/rest/api/3/search/jql", "status": 429,
        "times": 1, "headers": {"X-RateLimit-Reset": reset, "RateLimit-Reason": "jira-burst-based"}}]));
    sb.clear_requests();
    let (code, r, err) = afk.poll();
    assert_ne!(code, 0, "{err} {r}");
    assert!(
        r["dispatched"].as_array().is_none_or(|d| d.is_empty()),
        "{r}"
    );
    let said = format!("{err}{r}");
    assert!(
        said.contains("RateLimit-Reason: jira-burst-based"),
        "{said}"
    );
    assert!(said.contains("asks to wait"), "{said}");
    let searched = sb
        .requests()
        .iter()
        .filter(|q| q["path"] == "/rest/api/3/search/jql")
        .count();
    assert_eq!(searched, 1, "not asked again within the tick");
    // the next tick after Jira's reset
    afk.later(1);
    let (code, r, err) = afk.poll();
    assert_eq!(code, 0, "{err} {r}");
    assert_eq!(r["dispatched"].as_array().unwrap().len(), 1, "{r}");

    sb.faults(
        json!([{"method": "GET", "path": "/rest/api/3/myself", "times": 1,
        "headers": {"X-RateLimit-NearLimit": "true"}}]),
    );
    let lines = crate::tracker_linear::doctor_lines(&afk);
    // whom Jira answers as and the groups' read, then the warning: no
    // group, role or link type is read, nor the Automation line
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert_eq!(lines[2].0, "warn", "{lines:?}");
    assert!(lines[2].1.contains("X-RateLimit-NearLimit"), "{lines:?}");
}

/// A Jira service account (`auth = "client_credentials"`): the client id
/// and secret go to the token endpoint alone, once a tick; the access token
/// it answers goes to `api_url` alone, as `Bearer`, and to nothing afk
/// writes (its state, the run's folder, its output, the agent's
/// environment); a secret the endpoint refuses is the tick's error naming
/// where the id comes from, one exchange tried and nothing dispatched. Its
/// keys are refused without that auth, and the auth without `api_url`.
#[test]
fn a_jira_service_account_exchanges_its_client_credentials_once_a_tick() {
    let (sb, mut afk) = world();
    let creds = sb.admin("GET", "/jira/credentials", None);
    let email = creds["email"].as_str().unwrap();
    let base = std::fs::read_to_string(&afk.config).unwrap();
    let refused = |afk: &Afk, text: &str, key: &str| {
        std::fs::write(&afk.config, text).unwrap();
        let out = afk.cmd().arg("poll").output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{key}: {err}");
        assert!(err.contains(&format!("tracker.{key}")), "{key}: {err}");
    };
    // a client key beside an API token is never read: refused
    refused(
        &afk,
        &base.replace(
            "kind = \"jira\"\n",
            "kind = \"jira\"\nclient_id_env = \"X\"\n",
        ),
        "client_id_env",
    );
    let service = base
        .replace(&format!("email = \"{email}\"\n"), "")
        .replace(
            "kind = \"jira\"\n",
            "kind = \"jira\"\nauth = \"client_credentials\"\n\
             client_id_env = \"AFK_JIRA_CLIENT_ID\"\nclient_secret_env = \"AFK_JIRA_CLIENT_SECRET\"\n",
        );
    refused(&afk, &service, "api_url");
    let service = service.replace(
        "auth = \"client_credentials\"\n",
        &format!(
            "auth = \"client_credentials\"\napi_url = \"{0}\"\ntoken_url = \"{0}/atlassian/oauth/token\"\n",
            sb.url
        ),
    );
    refused(
        &afk,
        &service.replace(
            "/atlassian/oauth/token\"",
            "/atlassian/oauth/token\"\nemail = \"a@b.c\"",
        ),
        "email",
    );
    std::fs::write(&afk.config, &service).unwrap();
    afk.env.retain(|(k, _)| k != "AFK_TRACKER_TOKEN");
    let id_value = creds["client_id"].as_str().unwrap().to_string();
    let secret = creds["client_secret"].as_str().unwrap().to_string();
    afk.env
        .push(("AFK_JIRA_CLIENT_ID".into(), id_value.clone()));
    afk.env
        .push(("AFK_JIRA_CLIENT_SECRET".into(), "not-the-secret".into()));
    let id = issue(&sb, "alice-1", &[]);
    arm(&sb, &id, "alice-1", Value::Null);
    let exchanges = |sb: &Sandbox| {
        sb.requests()
            .iter()
            .filter(|q| q["path"] == "/atlassian/oauth/token")
            .count()
    };
    // the attacker's case first: a secret the endpoint refuses
    sb.clear_requests();
    let (code, r, err) = afk.poll();
    assert_ne!(code, 0, "{err} {r}");
    assert!(
        r["dispatched"].as_array().is_none_or(|d| d.is_empty()),
        "{r}"
    );
    assert!(
        format!("{err}{r}").contains("AFK_JIRA_CLIENT_ID"),
        "{err} {r}"
    );
    assert_eq!(exchanges(&sb), 1, "one exchange, refused, and no other");
    assert!(
        !sb.requests().iter().any(|q| q["path"]
            .as_str()
            .is_some_and(|p| p.starts_with("/rest/api/3/"))),
        "nothing asked of Jira without a token"
    );

    for (k, v) in afk.env.iter_mut() {
        if k == "AFK_JIRA_CLIENT_SECRET" {
            *v = secret.clone();
        }
    }
    crate::tracker_linear::agent_reading_its_environment(&afk);
    sb.clear_requests();
    let (code, r, err) = afk.poll();
    assert_eq!(code, 0, "{err} {r}");
    assert_eq!(
        r["dispatched"][0]["issue"],
        json!(id.parse::<u64>().unwrap()),
        "{r}"
    );
    assert_eq!(exchanges(&sb), 1, "one exchange a tick");
    let asked = sb.requests();
    let exchange = asked
        .iter()
        .find(|q| q["path"] == "/atlassian/oauth/token")
        .unwrap();
    assert_eq!(
        exchange["body"]["grant_type"], "client_credentials",
        "{exchange}"
    );
    let jira: Vec<&Value> = asked
        .iter()
        .filter(|q| {
            q["path"]
                .as_str()
                .is_some_and(|p| p.starts_with("/rest/api/3/"))
        })
        .collect();
    assert!(!jira.is_empty());
    assert!(
        jira.iter().all(|q| q["auth"]["scheme"] == "Bearer"),
        "{jira:?}"
    );
    for q in asked
        .iter()
        .filter(|q| q["path"] != "/atlassian/oauth/token")
    {
        assert!(
            !q.to_string().contains(&secret),
            "the client secret went elsewhere: {q}"
        );
    }
    let access = sb.admin("GET", "/jira/access_tokens", None);
    let access = access.as_array().unwrap();
    assert_eq!(access.len(), 1, "{access:?}");
    let token = access[0].as_str().unwrap();
    assert_eq!(afk.wait_agent(1), 0);
    let seen = crate::tracker_linear::all_afk_wrote(&afk);
    for held in [token, secret.as_str()] {
        let at = (seen.find(held))
            .map(|i| &seen[i.saturating_sub(300)..(i + held.len() + 100).min(seen.len())]);
        assert!(
            at.is_none(),
            "a credential leaked into what afk wrote: {at:?}"
        );
    }
    let env = std::fs::read_to_string(afk.scratch.path("state/runs/1/agent-env.txt")).unwrap();
    assert!(!env.contains("AFK_JIRA_CLIENT"), "{env}");
}

/// `ready = "status"`: a trusted person moving the issue into the ready
/// status (named in the config by its id, or by its name) arms it; a move
/// by someone untrusted does not, nor does a real label of the ready
/// label's name. afk labels the started run in progress as ever.
#[test]
fn with_ready_status_a_trusted_move_into_that_status_arms_the_issue() {
    for ready in ["10100", "Ready for Dev"] {
        let (sb, afk) = world();
        let text = std::fs::read_to_string(&afk.config).unwrap().replace(
            "kind = \"jira\"\n",
            &format!("kind = \"jira\"\nready = \"status\"\nready_status = \"{ready}\"\n"),
        );
        std::fs::write(&afk.config, text).unwrap();
        let into_ready = |id: &str, by: &str| {
            sb.admin(
                "POST",
                "/jira/edit",
                Some(json!({"issue": id, "by": by, "field": "status",
                            "to": {"id": "10100", "name": "Ready for Dev", "category": "new"}})),
            );
        };
        // mallory's first: the lower number is looked at first
        let by_mallory = issue(&sb, "alice-1", &[]);
        into_ready(&by_mallory, "mallory-1");
        let by_alice = issue(&sb, "alice-1", &[]);
        into_ready(&by_alice, "alice-1");
        let labelled = issue(&sb, "alice-1", &[]);
        arm(&sb, &labelled, "alice-1", Value::Null);
        let (code, r, err) = afk.poll();
        assert_eq!(code, 0, "{ready}: {err} {r}");
        assert_eq!(
            r["dispatched"][0]["issue"],
            json!(by_alice.parse::<u64>().unwrap()),
            "{ready}: {r}"
        );
        assert_eq!(skipped(&r, &by_mallory), "untrusted", "{ready}: {r}");
        assert!(
            !r["skipped"].to_string().contains(&labelled),
            "a label arms nothing: {r}"
        );
        assert!(
            jira_labels(&sb, &by_alice).contains(&"agent-in-progress".to_string()),
            "{ready}"
        );
    }
}

/// A `[tracker]` afk would not act on is a load error naming the key.
#[test]
fn a_tracker_key_afk_does_not_take_yet_is_a_config_error() {
    let (sb, afk) = world();
    let base = std::fs::read_to_string(&afk.config).unwrap();
    let cases = [
        ("kind = \"jira\"", "kind = \"asana\"", "tracker.kind"),
        (
            "trusted_groups = [\"g-dev\"]",
            "trusted_groups = [\"g-dev\"]\nready = \"status\"",
            "tracker.ready_status",
        ),
        (
            "repo = \"acme/api\"",
            "repo = \"acme/web\"",
            "tracker.map[1]",
        ),
        (
            "kind = \"jira\"\nurl = \"http",
            "kind = \"jira\"\nurl = \"ftp",
            "tracker.url",
        ),
    ];
    crate::tracker_linear::each_a_load_error(&afk, &base, &cases);
    drop(sb);
}

/// Jira's Smart Commits act on `<KEY> #<command>` as the Jira user whose
/// email is the committer's, which the agent chooses: a commit saying
/// `PLAT-1 #done` (even the run's own issue), or naming a project afk does
/// not map (`HR-7 #comment`: the site's integration acts on it all the
/// same), is refused by the gate and named; nothing is pushed.
#[test]
fn a_jira_smart_commit_is_refused_by_the_gate() {
    let (sb, afk) = world();
    let id = issue(&sb, "alice-1", &[]);
    arm(&sb, &id, "alice-1", Value::Null);
    crate::tracker_linear::agent_committing(
        &afk,
        "Tidy the parser\n\nPLAT-1 #done\nHR-7 #comment raise it\n",
    );
    let (code, r, err) = afk.poll();
    assert_eq!(code, 0, "{err} {r}");
    assert_eq!(afk.wait_agent(1), 0);
    let (code, r, err) = afk.watch();
    assert_eq!(code, 0, "{err} {r}");
    let n: u64 = id.parse().unwrap();
    assert_eq!(
        action_of(&r, n),
        ("corrective_turn".into(), Some("gate".into())),
        "{r}"
    );
    assert_eq!(sb.open_prs("acme/api").len(), 0, "no PR");
    let prompt = std::fs::read_to_string(afk.scratch.path("state/runs/1/prompt-2.md")).unwrap();
    assert!(
        prompt.contains("acts in the tracker by its message on PLAT-1, HR-7: a Jira Smart Commit"),
        "{prompt}"
    );
}

/// The agent's words reach Jira only inside a `codeBlock`: an agent
/// blocked with an @-name, a Jira mention, a Smart Commit and a Linear
/// address as its reason, question and final message is escalated in a
/// comment whose every other node is afk's own text, none holding an `@`
/// or a `[~`, and which has no `mention`, `inlineCard` or mark at all.
#[test]
fn an_agents_mentions_reach_jira_only_in_a_code_block() {
    let (sb, afk) = world();
    let id = issue(&sb, "alice-1", &[]);
    arm(&sb, &id, "alice-1", Value::Null);
    let loud = crate::tracker_linear::LOUD;
    crate::tracker_linear::agent_blocked_saying(&afk, loud);
    assert_eq!(afk.poll().0, 0);
    assert_eq!(afk.wait_agent(1), 0);
    let (code, r, err) = afk.watch();
    assert_eq!(code, 0, "{err} {r}");
    let n: u64 = id.parse().unwrap();
    assert_eq!(action_of(&r, n).0, "escalate", "{r}");
    let j = jira_issue(&sb, &id);
    let mut coded = 0;
    for c in j["comments"].as_array().unwrap() {
        for block in c["body"]["content"].as_array().unwrap() {
            let text = block.to_string();
            match block["type"].as_str() {
                Some("codeBlock") => coded += usize::from(text.contains(loud)),
                _ => assert!(
                    !text.contains('@') && !text.contains("[~") && !text.contains("\"marks\""),
                    "outside a codeBlock: {block}"
                ),
            }
            for node in ["mention", "inlineCard", "emoji"] {
                assert!(!text.contains(&format!("\"{node}\"")), "{block}");
            }
        }
    }
    assert!(coded > 0, "the words stand whole in a codeBlock: {j}");
}

/// Jira's search is eventually consistent: an issue labelled a moment
/// before its delivery is not yet found by label. The delivery's poll asks
/// Jira to reconcile the issue it names (`reconcileIssues`), so it is
/// found and dispatched; a cron poll in the same moment, which names none,
/// does not find it (the sandbox's index lags by a minute here).
#[test]
fn a_jira_issue_armed_a_moment_before_its_delivery_is_found_by_reconciling_it() {
    let (sb, mut afk) = world();
    crate::tracker_linear::config_with(
        &afk,
        "trusted_groups = [\"g-dev\"]",
        "trusted_groups = [\"g-dev\"]\nhook_secret_env = \"AFK_TEST_JIRA_HOOK\"",
    );
    let secret = "jira-hook-secret-3e9a";
    afk.env.push(("AFK_TEST_JIRA_HOOK".into(), secret.into()));
    sb.admin("POST", "/jira/lag", Some(json!({"ms": 60_000})));
    let id = issue(&sb, "alice-1", &[]);
    arm(&sb, &id, "alice-1", Value::Null);
    let (code, r, err) = afk.poll();
    assert_eq!(code, 0, "{err} {r}");
    assert_eq!(r["dispatched"], json!([]), "the index lags: {r}");
    let body = json!({"timestamp": 1796000000000u64, "webhookEvent": "jira:issue_updated",
        "issue": {"id": id, "key": "PLAT-1", "fields": {"project": {"key": "PLAT"}}}})
    .to_string();
    let headers = vec![
        format!(
            "X-Hub-Signature: sha256={}",
            crate::hook::hex_mac(secret, &body)
        ),
        "X-Atlassian-Webhook-Identifier: 4f2c-9".to_string(),
    ];
    let (code, out, err) = deliver(&afk, &body, &headers);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        jira_labels(&sb, &id).contains(&"agent-in-progress".to_string()),
        "{err}"
    );
    let searched = sb
        .requests()
        .into_iter()
        .filter(|q| q["path"] == "/rest/api/3/search/jql")
        .filter(|q| q["body"]["reconcileIssues"] == json!([id.parse::<u64>().unwrap()]))
        .count();
    assert!(searched >= 1, "the delivery's search reconciled the issue");
}

/// Jira's limit on writes to one issue (`429`, `RateLimit-Reason:
/// jira-per-issue-on-write`) is that issue's error alone: it spends no
/// limit of the tick's or the next ticks' (the rate-limit guide), so the
/// next tick asks Jira at once and the issue gets its label.
#[test]
fn a_jira_per_issue_write_limit_holds_back_that_issue_alone() {
    let (sb, afk) = world();
    let id = issue(&sb, "alice-1", &[]);
    arm(&sb, &id, "alice-1", Value::Null);
    sb.faults(
        json!([{"method": "PUT", "path": format!("/rest/api/3/issue/{id}"),
        "status": 429, "retry_after": 3600, "times": 1,
        "headers": {"RateLimit-Reason": "jira-per-issue-on-write"}}]),
    );
    let (_, r, err) = afk.poll();
    assert!(
        format!("{err}{r}").contains("jira-per-issue-on-write"),
        "{err} {r}"
    );
    assert!(
        !jira_labels(&sb, &id).contains(&"agent-in-progress".to_string()),
        "{r}"
    );
    sb.clear_requests();
    let (_, r, err) = afk.poll();
    assert!(
        (sb.requests().iter()).any(|q| q["path"].as_str().unwrap().starts_with("/rest/api/3")),
        "Jira is asked again at once: {err} {r}"
    );
    let (_, w, werr) = afk.watch();
    assert!(
        jira_labels(&sb, &id).contains(&"agent-in-progress".to_string()),
        "{r} {err} {w} {werr}"
    );
}

/// A run paused at its money limit on a Jira issue: the pause comment, on
/// the Jira issue, sends its readers to the pull request (a tracker
/// comment is never a command), and a trusted `/afk budget +1` there
/// continues the run.
#[test]
fn a_paused_jira_run_says_commands_go_on_its_pull_request_and_one_there_continues_it() {
    let (sb, afk) = world();
    let text = std::fs::read_to_string(&afk.config).unwrap();
    std::fs::write(
        &afk.config,
        text + "\n[budget]\nrun_usd = 0.1\nmax_run_usd = 5.0\n",
    )
    .unwrap();
    let id = issue(&sb, "alice-1", &[]);
    arm(&sb, &id, "alice-1", Value::Null);
    assert_eq!(afk.poll().0, 0);
    assert_eq!(afk.wait_agent(1), 0);
    let (_, r, err) = afk.watch();
    let n: u64 = id.parse().unwrap();
    assert_eq!(action_of(&r, n).0, "pause", "{r} {err}");
    let pr = sb.open_prs("acme/api")[0].number;
    let said = jira_issue(&sb, &id)["comments"].to_string();
    assert!(
        said.contains(&format!(
            "To continue, a maintainer comments on {} (afk hears commands on the pull request only, never here)",
            sb.dialect.pr_ref(pr)
        )),
        "{said}"
    );
    sb.comment_on("acme/api", On::Pr(pr), "alice", "/afk budget +1");
    let (_, r, err) = afk.watch();
    assert_eq!(
        action_of(&r, n),
        ("continue".into(), Some("budget".into())),
        "{r} {err}"
    );
    // the pause and the continuation are notified naming the issue by its
    // key (its #N is afk's number, maybe another issue on the forge)
    let (_, shown, err) = afk.json(&["runs", "show", "1"]);
    let timeline = shown["timeline"].to_string();
    assert!(
        timeline.contains("afk paused acme/api PLAT-1")
            && timeline.contains("afk continued acme/api PLAT-1, paused at a limit")
            && !timeline.contains(&format!("acme/api#{n}")),
        "{err} {timeline}"
    );
}

/// `afk init --create-labels` beside Jira sends nothing anywhere: Jira
/// makes a label the first time one is added, so each of afk's is said to
/// need no making (exit 0), and no forge label is made either.
#[test]
fn init_create_labels_beside_jira_sends_nothing_and_says_jira_makes_them() {
    let (sb, afk) = world();
    sb.clear_requests();
    let (code, r, err) = afk.json(&["init", "--create-labels"]);
    assert_eq!(code, 0, "{err} {r}");
    let labels = r["labels"].as_array().unwrap();
    assert_eq!(labels.len(), 4, "{r}");
    for l in labels {
        assert_eq!(
            (l["tracker"].as_str(), l["action"].as_str()),
            (Some("jira"), Some("made_on_first_use")),
            "{l}"
        );
    }
    assert!(sb.requests().is_empty(), "{:?}", sb.requests());
}

/// An outsider's issue title reaches afk's pull request with no key a
/// tracker acts on: a forge may make the merge commit's message of the PR
/// title, and there `PLAT-9 #close` would be a Smart Commit and `Fixes
/// ENG-9` a Linear closing word, acting as whoever merged. Each key in the
/// title is written with a non-breaking hyphen; afk's own `(PLAT-1)` stays.
#[test]
fn an_outsiders_title_reaches_the_pull_request_with_no_key_a_tracker_acts_on() {
    let (sb, afk) = world();
    let made = sb.admin(
        "POST",
        "/jira/issue",
        Some(
            json!({"project": "PLAT", "summary": "Tidy logging; PLAT-9 #close done; Fixes ENG-9",
            "description": null, "creator": "mallory-1", "labels": []}),
        ),
    );
    let id = made["id"].as_str().unwrap().to_string();
    arm(&sb, &id, "alice-1", Value::Null);
    let (code, r, err) = afk.poll();
    assert_eq!(code, 0, "{err} {r}");
    assert_eq!(afk.wait_agent(1), 0);
    let (code, r, err) = afk.watch();
    assert_eq!(code, 0, "{err} {r}");
    let prs = sb.open_prs("acme/api");
    assert_eq!(prs.len(), 1, "{r}");
    let (_, raw) = sb.api(&sb.path("acme/api", &format!("pulls/{}", prs[0].number)));
    assert_eq!(
        raw["title"], "Tidy logging; PLAT\u{2011}9 #close done; Fixes ENG\u{2011}9 (PLAT-1)",
        "{raw}"
    );
    assert!(!prs[0].body.contains("PLAT-9"), "{}", prs[0].body);
}

/// A trusted person's PLAT issue worked to a merged pull request with
/// green CI, the watch that would end it not yet run: the issue's id.
fn merged_run(sb: &Sandbox, afk: &Afk) -> String {
    let id = issue(sb, "alice-1", &[]);
    arm(sb, &id, "alice-1", Value::Null);
    let (code, r, err) = afk.poll();
    assert_eq!(code, 0, "{err} {r}");
    assert_eq!(afk.wait_agent(1), 0);
    let (code, r, err) = afk.watch();
    assert_eq!(code, 0, "{err} {r}");
    let pr = sb
        .open_prs("acme/api")
        .pop()
        .unwrap_or_else(|| panic!("{r}"));
    sb.status("acme/api", &pr.head, "ci/build", "success");
    let (code, r, err) = afk.watch();
    assert_eq!(code, 0, "{err} {r}");
    sb.merge("acme/api", pr.number);
    id
}

/// The transitions afk asked to make on issue `id`: their ids.
fn transitions_made(sb: &Sandbox, id: &str) -> Vec<String> {
    let path = format!("/rest/api/3/issue/{id}/transitions");
    (sb.requests().iter())
        .filter(|q| q["method"] == "POST" && q["path"] == path)
        .map(|q| {
            q["body"]["transition"]["id"]
                .as_str()
                .unwrap_or("?")
                .to_string()
        })
        .collect()
}

/// On success the Jira issue moves into Done by the transition
/// `done_transition` names, else by the first available one into the
/// category Done (its screen asks nothing: afk sends the id alone). With
/// none afk may make (Jira's empty list when afk's account may not
/// transition issues), or one Jira refuses (a `400`: its screen requires a
/// field), the run still succeeds, its labels go, and the issue is left
/// for a person, said and never asked again. An issue a person finished
/// already is not moved.
#[test]
fn on_success_a_jira_issue_moves_into_done_by_its_transition_or_is_left_for_a_person() {
    let t = |id: &str, name: &str, to: &str, category: &str| json!({"id": id, "name": name, "to": to, "category": category});
    let start = t("21", "Start", "In Progress", "indeterminate");
    let mut resolve = t("71", "Resolve", "Resolved", "done");
    resolve["requires"] = json!("resolution");
    let mut locked = t("81", "Ship it", "Shipped", "done");
    locked["available"] = json!(false);
    // (case, done_transition, workflow, the transition made, the status after)
    let cases: Vec<(&str, &str, Value, Option<&str>, &str)> = vec![
        (
            "the first available into done",
            "",
            json!([
                start,
                locked,
                t("41", "Close", "Closed", "done"),
                t("31", "Done", "Done", "done")
            ]),
            Some("41"),
            "Closed",
        ),
        (
            "the one named",
            "Ship it",
            json!([
                t("31", "Done", "Done", "done"),
                t("51", "Ship it", "Shipped", "done")
            ]),
            Some("51"),
            "Shipped",
        ),
        ("none afk may make", "", json!([]), None, "To Do"),
        (
            "the one named is not afk's to make",
            "Ship it",
            json!([t("31", "Done", "Done", "done"), locked]),
            None,
            "To Do",
        ),
        ("Jira refuses it", "", json!([resolve]), Some("71"), "To Do"),
    ];
    for (case, named, workflow, made, after) in cases {
        let (sb, afk) = world();
        if !named.is_empty() {
            crate::tracker_linear::config_with(
                &afk,
                "trusted_groups = [\"g-dev\"]\n",
                &format!("trusted_groups = [\"g-dev\"]\ndone_transition = \"{named}\"\n"),
            );
        }
        sb.admin(
            "POST",
            "/jira/transitions",
            Some(json!({"transitions": workflow})),
        );
        let id = merged_run(&sb, &afk);
        sb.clear_requests();
        let (code, r, err) = afk.watch();
        assert_eq!(code, 0, "{case}: {err} {r}");
        let n: u64 = id.parse().unwrap();
        assert_eq!(action_of(&r, n).0, "succeed", "{case}: {r}");
        assert_eq!(
            transitions_made(&sb, &id),
            made.into_iter().map(String::from).collect::<Vec<_>>(),
            "{case}"
        );
        let j = jira_issue(&sb, &id);
        assert_eq!(j["fields"]["status"]["name"], after, "{case}: {j}");
        let labels = jira_labels(&sb, &id);
        assert!(
            !labels.contains(&"agent-in-progress".to_string()),
            "{case}: {labels:?}"
        );
        let runs = afk.sql_rows("SELECT state FROM runs");
        assert_eq!(runs, vec![vec!["succeeded".to_string()]], "{case}");
        if after == "To Do" {
            assert!(
                err.contains("PLAT-1 was not closed") && err.contains("left open for a person"),
                "{case}: {err}"
            );
            // and in the report, beside the success
            let notes = r["actions"][0]["notes"].to_string();
            assert!(notes.contains("PLAT-1 was not closed"), "{case}: {r}");
            match made {
                Some(_) => assert!(
                    err.contains("\"Resolve\" (71)") && err.contains("resolution"),
                    "{case}: {err}"
                ),
                None => assert!(
                    err.contains("it needs the permission to transition issues"),
                    "{case}: {err}"
                ),
            }
            // never asked again
            sb.clear_requests();
            let (code, r, err) = afk.watch();
            assert_eq!(code, 0, "{case}: {err} {r}");
            assert!(transitions_made(&sb, &id).is_empty(), "{case}");
        }
    }
    // finished by a person after the merge: succeeded, and not moved again
    let (sb, afk) = world();
    let id = merged_run(&sb, &afk);
    sb.admin(
        "POST",
        "/jira/edit",
        Some(json!({"issue": id, "by": "alice-1", "field": "status", "to": "done"})),
    );
    sb.clear_requests();
    let (code, r, err) = afk.watch();
    assert_eq!(code, 0, "{err} {r}");
    assert_eq!(action_of(&r, id.parse().unwrap()).0, "succeed", "{r}");
    let asked = |p: &str| {
        sb.requests()
            .iter()
            .any(|q| q["path"].as_str().unwrap_or("").ends_with(p))
    };
    assert!(!asked("/transitions"), "{:?}", sb.requests());
}

/// A delivery is a hint, never a fact: one signed with the webhook's secret
/// whose body says a trusted person armed the issue (its `user`, its
/// `changelog`), while Jira's changelog says mallory did, dispatches
/// nothing; poll reads who armed it from Jira.
#[test]
fn a_signed_jira_delivery_naming_a_trusted_armer_arms_nothing_jiras_changelog_does_not() {
    let (sb, mut afk) = world();
    crate::tracker_linear::config_with(
        &afk,
        "trusted_groups = [\"g-dev\"]",
        "trusted_groups = [\"g-dev\"]\nhook_secret_env = \"AFK_TEST_JIRA_HOOK\"",
    );
    let secret = "jira-hook-secret-9e2a";
    afk.env.push(("AFK_TEST_JIRA_HOOK".into(), secret.into()));
    let id = issue(&sb, "alice-1", &[]);
    arm(&sb, &id, "mallory-1", Value::Null);
    let body = json!({"timestamp": 1796000000000u64, "webhookEvent": "jira:issue_updated",
        "user": {"accountId": "alice-1", "accountType": "atlassian"},
        "changelog": {"id": "99", "items": [{"field": "labels", "fieldtype": "jira",
            "fieldId": "labels", "from": "", "fromString": "", "to": "", "toString": "ready-for-agent"}]},
        "issue": {"id": id, "key": "PLAT-1", "fields": {"project": {"key": "PLAT"},
            "labels": ["ready-for-agent"]}}})
    .to_string();
    let headers = vec![
        format!(
            "X-Hub-Signature: sha256={}",
            crate::hook::hex_mac(secret, &body)
        ),
        "X-Atlassian-Webhook-Identifier: 5a1e-1".to_string(),
    ];
    let (code, out, err) = deliver(&afk, &body, &headers);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.ends_with("poll ticks for acme/api\n"), "{out}");
    assert!(!afk.scratch.path("state/runs/1").exists(), "{err}");
    assert!(
        !jira_labels(&sb, &id).contains(&"agent-in-progress".to_string()),
        "{err}"
    );
    // what poll says of it: mallory's arming, not trusted
    let (code, r, err) = afk.poll();
    assert_eq!(code, 0, "{err} {r}");
    assert!(r["dispatched"].as_array().unwrap().is_empty(), "{r}");
    assert_eq!(skipped(&r, &id), "untrusted", "{r}");
}

/// A dry run and `afk runs show` name a tracker's issue by its key, as
/// every report does: never `acme/api#N`, which may be another issue on
/// the forge.
#[test]
fn a_dry_run_and_runs_show_name_the_jira_issue_by_its_key() {
    let (sb, afk) = world();
    let id = issue(&sb, "alice-1", &[]);
    arm(&sb, &id, "alice-1", Value::Null);
    let out = afk.cmd().args(["--dry-run", "poll"]).output().unwrap();
    let said =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{said}");
    assert!(said.contains("acme/api PLAT-1: start an agent"), "{said}");
    assert!(
        said.contains("acme/api PLAT-1: add label \"agent-in-progress\""),
        "{said}"
    );
    assert!(!said.contains(&format!("acme/api#{id}")), "{said}");
    assert!(!afk.scratch.path("state/runs/1").exists());
    // and so does `afk runs show` of the run the real poll starts
    let (code, r, err) = afk.poll();
    assert_eq!(code, 0, "{err} {r}");
    let out = afk.cmd().args(["runs", "show", "1"]).output().unwrap();
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(shown.starts_with("run 1: acme/api PLAT-1 \""), "{shown}");
}
