//! Azure DevOps beside `azure_devops.rs`, on the sandbox's dialect: a
//! repository named with a space (its `%20` paths, its area path, the tag
//! re-checked whole, WIQL asked again past a full answer of 20,000 ids and
//! read in batches of 200); auth hygiene (a refused PAT and a sign-in page
//! are the tick's error, the PAT only ever in its Basic header with an
//! empty user, an Entra token that expired or expires within the tick
//! refused before any request); edits after the arming; blockers; a tag
//! write that races a person's change; abandonment and the move to
//! `close_state`; a renamed repository.
//!
//! The sandbox tells how a credential was sent, never which (`auth` in its
//! request logs), makes work items in bulk (`/_admin/ado/bulk`) and lands
//! a person's change between afk's read and its write (`/_admin/ado/race`):
//! docs/sandbox.md.

use crate::support::*;
use serde_json::{Value, json};

const D: Dialect = Dialect::AzureDevops;

/// The repositories the tests poll: project `acme`, repository `api`, and
/// repository `web app` (its area path `acme\web app`).
const API: &str = "acme/api";
const WEB: &str = "acme/web app";

/// The tags (labels) the seeded repositories know: afk's own, one whose
/// text holds the ready tag's, and a person's own.
const LABELS: [&str; 6] = [
    "ready-for-agent",
    "agent-in-progress",
    "agent-paused",
    "ready-for-human",
    "ready-for-agent-2",
    "needs-design",
];

/// How many ids one WIQL answer holds at most, the `$top` afk asks.
const FULL: u64 = 20_000;

/// A repository's seed: alice may write, mallory read, root administers
/// (a Project Administrator, who holds "Bypass rules on work item updates").
fn ado_repo(name: &str, issues: Value) -> Value {
    json!({"name": name, "labels": LABELS,
        "collaborators": {"alice": "write", "mallory": "read", "root": "admin"},
        "issues": issues})
}

/// The [runner] of a poll-only afk: the scripted agent, which only reports
/// progress.
fn reporting_agent() -> String {
    format!(
        "workspace = \"agent\"\ncommand = [\"sh\", \"{}\"]",
        demo_agent().display()
    )
}

/// A config allowlisting `repos` (each under its area path, `[forge]`'s
/// `azure_devops.area_paths`): `forge` more `[forge]` lines (an
/// `azure_devops.*` key as a dotted key, as the area paths are), `runner`
/// the `[runner]` lines.
fn config(sb: &Sandbox, repos: &[&str], forge: &str, runner: &str) -> String {
    let owned: Vec<String> = repos.iter().map(|r| r.to_string()).collect();
    let list: Vec<String> = repos.iter().map(|r| format!("\"{r}\"")).collect();
    format!(
        "state_path = \"state/afk.db\"\n\n[forge]\n{keys}{areas}{forge}\ntimeout = \"5s\"\nretries = 1\n\n\
         [runner]\n{runner}\n\n[poll]\nenabled = true\nallowlist = [{list}]\n",
        keys = sb.forge_keys(),
        areas = area_keys(sb, &owned),
        list = list.join(", "),
    )
}

/// An afk polling `repos` with the scripted agent (see [`config`]).
fn poller(sb: &Sandbox, repos: &[&str], forge: &str) -> Afk {
    Afk::with_text(&config(sb, repos, forge, &reporting_agent()))
}

/// An afk whose agent commits once a turn in afk's own checkout
/// (workspace = "afk"): afk pushes over HTTPS and opens the pull request.
fn committer(sb: &Sandbox, repos: &[&str], forge: &str) -> Afk {
    let afk = Afk::with_text("");
    let agent = afk.scratch.write(
        "agent.sh",
        "set -eu\necho \"work of turn $AFK_TURN\" >> work.txt\ngit add -A\ngit commit -qm \"agent: turn $AFK_TURN\"\n",
    );
    let runner = format!(
        "workspace = \"afk\"\nagent = \"custom\"\ncommand = [\"sh\", \"{}\"]",
        agent.display()
    );
    std::fs::write(&afk.config, config(sb, repos, forge, &runner)).unwrap();
    afk
}

/// Poll once: run 1 dispatched for `repo`#`issue` and its agent done.
fn dispatch_and_finish(afk: &Afk, repo: &str, issue: u64) {
    let (code, r, err) = afk.poll();
    assert_eq!(code, 0, "poll: {err} {r}");
    assert_eq!(
        pairs(&r["dispatched"]),
        vec![(repo.to_string(), issue)],
        "{r}"
    );
    assert_eq!(afk.wait_agent(1), 0, "the agent's turn");
}

/// An API path of `repo` ([`api_path`]) as a request names it: with the
/// `api-version` every call needs, a space sent as `%20`.
fn versioned(repo: &str, rest: &str) -> String {
    let path = api_path(D, repo, rest).replace(' ', "%20");
    let sep = if path.contains('?') { '&' } else { '?' };
    format!("{path}{sep}api-version=7.1")
}

/// A GET through the API with afk's token: its JSON, answered 200.
fn get(sb: &Sandbox, repo: &str, rest: &str) -> Value {
    let path = versioned(repo, rest);
    let (code, v) = sb.api(&path);
    assert_eq!(code, 200, "GET {path}: {v}");
    v
}

/// Work item `id` as the API shows it (and the sandbox's work items
/// brought up to date with what people did, as before every answer).
fn work_item(sb: &Sandbox, repo: &str, id: u64) -> Value {
    get(sb, repo, &format!("wit/workitems/{id}"))
}

/// Its tags, as `System.Tags` lists them.
fn tags(sb: &Sandbox, repo: &str, id: u64) -> Vec<String> {
    work_item(sb, repo, id)["fields"]["System.Tags"]
        .as_str()
        .unwrap_or("")
        .split(';')
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
        .collect()
}

fn state(sb: &Sandbox, repo: &str, id: u64) -> String {
    work_item(sb, repo, id)["fields"]["System.State"]
        .as_str()
        .unwrap_or("")
        .to_string()
}

/// `repo`'s pull requests, every status.
fn pulls(sb: &Sandbox, repo: &str) -> Vec<Value> {
    get(sb, repo, "pullrequests?searchCriteria.status=all")["value"]
        .as_array()
        .unwrap()
        .clone()
}

/// A JSON Patch of work item `id` through the API as afk's own account
/// (its token), as a person with the web form would send one.
fn patch_as_afk(sb: &Sandbox, repo: &str, id: u64, ops: Value) {
    let (name, value) = auth_header(D, TOKEN);
    let url = format!(
        "{}{}",
        sb.api_url(),
        versioned(repo, &format!("wit/workitems/{id}"))
    );
    let answer = ureq::request("PATCH", &url)
        .set(name, &value)
        .set("X-TFS-FedAuthRedirect", "Suppress")
        .set("Content-Type", "application/json-patch+json")
        .send_json(ops);
    assert!(answer.is_ok(), "PATCH {url}: {answer:?}");
}

/// `rest`'s API path from its `/_apis` on: afk names a project by its id
/// after the first read, the tests by its name, so a logged path is matched
/// by its end.
fn tail(repo: &str, rest: &str) -> String {
    let p = api_path(D, repo, rest);
    p[p.find("/_apis").expect("an API path")..].to_lowercase()
}

/// The logged API requests of `method` whose path ends with `tail`.
fn logged(sb: &Sandbox, method: &str, tail: &str) -> Vec<Value> {
    sb.requests()
        .into_iter()
        .filter(|q| q["method"] == method)
        .filter(|q| {
            q["path"]
                .as_str()
                .is_some_and(|p| p.to_lowercase().ends_with(tail))
        })
        .collect()
}

/// The WIQL queries afk sent, in order.
fn wiql_queries(sb: &Sandbox) -> Vec<String> {
    logged(sb, "POST", &tail(API, "wit/wiql"))
        .iter()
        .map(|q| q["body"]["query"].as_str().unwrap_or("").to_string())
        .collect()
}

/// The ids of each batch read afk sent, in order.
fn batches(sb: &Sandbox) -> Vec<Vec<u64>> {
    logged(sb, "POST", &tail(API, "wit/workitemsbatch"))
        .iter()
        .map(|q| {
            q["body"]["ids"]
                .as_array()
                .map(|a| a.iter().filter_map(Value::as_u64).collect())
                .unwrap_or_default()
        })
        .collect()
}

/// The patches afk sent work item `id`: `(status, ops, query)`.
fn item_patches(sb: &Sandbox, repo: &str, id: u64) -> Vec<(Value, Value, String)> {
    logged(sb, "PATCH", &tail(repo, &format!("wit/workitems/{id}")))
        .into_iter()
        .map(|q| {
            (
                q["status"].clone(),
                q["body"].clone(),
                q["query"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

/// Whether a patch's ops set `field`.
fn sets(ops: &Value, field: &str) -> bool {
    let path = format!("/fields/{field}");
    ops.as_array()
        .is_some_and(|a| a.iter().any(|o| o["path"] == path.as_str()))
}

/// The credential header afk sends with a PAT: `Basic` and an empty user.
fn pat_auth() -> Value {
    json!({"scheme": "Basic", "user": ""})
}

/// What afk's tick said, its report and stderr as one text.
fn said(r: &Value, err: &str) -> String {
    format!("{r}\n{err}")
}

/// A JWT whose payload is `{"exp": exp}`, header and signature placeholders:
/// afk reads `exp` without verifying the token (Azure DevOps does).
fn jwt(exp: i64) -> String {
    use base64::Engine;
    let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
    format!(
        "{}.{}.{}",
        b64(r#"{"alg":"RS256","typ":"JWT"}"#),
        b64(&format!(r#"{{"exp":{exp}}}"#)),
        b64("not-a-signature")
    )
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

// ---- 1. names with spaces, the tag re-checked, WIQL pages --------------------------

#[test]
fn a_repository_named_with_a_space_is_polled_and_a_tag_that_holds_the_ready_tag_is_not_it() {
    with_dialect(D, || {
        let sb = Sandbox::start(json!({"repos": [ado_repo(WEB, json!([
            {"number": 1, "title": "Not this one", "body": "x", "labels": ["ready-for-agent-2"], "labeled_by": "alice"},
            ready(2, "alice"),
        ]))]}));
        let afk = poller(&sb, &[WEB], "");
        let (code, r, err) = afk.poll();
        assert_eq!(code, 0, "{err} {r}");
        assert_eq!(pairs(&r["dispatched"]), vec![(WEB.to_string(), 2)], "{r}");
        // the repository was read by its names, each percent-encoded as one
        // segment: the log keeps the path decoded (a space sent as it is
        // would not parse, a `+` would not decode to a space)
        let repo = api_path(D, WEB, "");
        assert!(
            sb.requests().iter().any(|q| q["path"] == repo.as_str()),
            "no GET of {repo}: {:?}",
            sb.requests()
        );
        // one query per project, no team segment, naming the repository's
        // area path and the tag
        let queries = logged(&sb, "POST", &tail(WEB, "wit/wiql"));
        assert!(!queries.is_empty());
        for q in &queries {
            let path = q["path"].as_str().unwrap();
            assert_eq!(
                path.split('/').count(),
                5,
                "/{{project}}/_apis/wit/wiql: {path}"
            );
        }
        let texts = wiql_queries(&sb);
        assert!(
            texts
                .iter()
                .any(|q| q.contains("[System.AreaPath] UNDER 'acme\\web app'")
                    && q.contains("[System.Tags] CONTAINS 'ready-for-agent'")
                    && q.ends_with("ORDER BY [System.Id]")),
            "{texts:#?}"
        );
        // the query's CONTAINS matched #1 as text and afk read it; its tags
        // re-checked whole, it is no ready work item: neither dispatched
        // nor skipped, and untouched
        assert!(batches(&sb).concat().contains(&1), "{:?}", batches(&sb));
        assert_eq!(reason_of(&r, WEB, 1), None, "{r}");
        assert_eq!(tags(&sb, WEB, 1), vec!["ready-for-agent-2".to_string()]);
        assert!(tags(&sb, WEB, 2).contains(&"agent-in-progress".to_string()));
    })
}

#[test]
fn a_repository_named_with_a_space_is_pushed_over_its_encoded_git_url_and_gets_its_pr() {
    with_dialect(D, || {
        let sb = Sandbox::start(json!({"repos": [ado_repo(WEB, json!([ready(1, "alice")]))]}));
        let afk = committer(&sb, &[WEB], "");
        dispatch_and_finish(&afk, WEB, 1);
        let (code, r, err) = afk.watch();
        assert_eq!(code, 0, "{err} {r}");
        // git reached `/sandbox/acme/_git/web%20app` (the sandbox routes it
        // by its decoded names)
        let git = sb.admin("GET", "/git", None);
        let pushes: Vec<&Value> = git
            .as_array()
            .unwrap()
            .iter()
            .filter(|g| g["service"] == "git-receive-pack" && g["method"] == "POST")
            .collect();
        assert!(!pushes.is_empty(), "no push: {git}");
        assert!(pushes.iter().all(|g| g["repo"] == WEB), "{git}");
        let prs = pulls(&sb, WEB);
        assert_eq!(prs.len(), 1, "{prs:?}");
        assert_eq!(prs[0]["sourceRefName"], "refs/heads/afk/issue-1");
        assert_eq!(prs[0]["repository"]["name"], "web app");
        let head = git_head(&sb, WEB, "afk/issue-1");
        assert_eq!(prs[0]["lastMergeSourceCommit"]["commitId"], head.as_str());
    })
}

/// The commit `branch` of `repo` points at in the sandbox's git.
fn git_head(sb: &Sandbox, repo: &str, branch: &str) -> String {
    git(
        &sb.git.join(format!("{repo}.git")),
        &["rev-parse", &format!("refs/heads/{branch}")],
    )
}

#[test]
fn wiql_is_asked_again_past_a_full_answer_and_read_in_batches_of_200() {
    with_dialect(D, || {
        let sb = Sandbox::start(json!({"repos": [ado_repo(WEB, json!([]))]}));
        // a full first answer: 20,000 work items whose tag holds the ready
        // tag's text (the query's CONTAINS matches them, afk's whole-tag
        // check does not); the one ready work item comes after them
        let made = sb.admin(
            "POST",
            "/ado/bulk",
            Some(json!({"repo": WEB, "count": FULL, "tags": ["ready-for-agent-2"], "first": 1})),
        );
        assert_eq!(
            (made["first"].as_u64(), made["last"].as_u64()),
            (Some(1), Some(FULL))
        );
        sb.admin(
            "POST",
            "/issues",
            Some(json!({"repo": WEB, "issue": ready(FULL + 1, "alice")})),
        );
        let afk = poller(&sb, &[WEB], "");
        let (code, r, err) = afk.poll();
        assert_eq!(code, 0, "{err}");
        assert_eq!(
            pairs(&r["dispatched"]),
            vec![(WEB.to_string(), FULL + 1)],
            "{}",
            r["errors"]
        );
        // asked again past the last id of the full answer, once
        let asked: Vec<String> = wiql_queries(&sb)
            .into_iter()
            .filter(|q| q.contains("CONTAINS 'ready-for-agent'"))
            .collect();
        assert_eq!(asked.len(), 2, "{asked:#?}");
        assert!(!asked[0].contains("[System.Id] >"), "{}", asked[0]);
        assert!(
            asked[1].contains(&format!("AND [System.Id] > {FULL} ORDER BY [System.Id]")),
            "{}",
            asked[1]
        );
        // every id read, in batches of at most 200
        let batches = batches(&sb);
        assert!(
            batches.iter().all(|b| !b.is_empty() && b.len() <= 200),
            "{:?}",
            batches.iter().map(Vec::len).collect::<Vec<_>>()
        );
        let mut read = batches.concat();
        read.sort_unstable();
        read.dedup();
        assert_eq!(read, (1..=FULL + 1).collect::<Vec<u64>>());
        // the whole-tag check left the 20,000 alone
        assert_eq!(reason_of(&r, WEB, 1), None);
        assert_eq!(reason_of(&r, WEB, FULL), None);
    })
}

/// The WIQL query and the batch read are POSTs that only read: a `503` or a
/// lost answer is asked again under `forge.retries`, as a GET is, and the
/// tick dispatches as if nothing happened; a write's POST never is.
#[test]
fn a_query_sent_as_a_post_is_asked_again_after_a_5xx_or_a_lost_answer() {
    with_dialect(D, || {
        let start =
            || Sandbox::start(json!({"repos": [ado_repo(API, json!([ready(1, "alice")]))]}));
        for (path, fault) in [
            ("/wit/wiql", json!({"status": 503})),
            ("/wit/workitemsbatch", json!({"drop": true})),
        ] {
            // how often a tick with no fault asks
            let calm = start();
            assert_eq!(poller(&calm, &[API], "").poll().0, 0);
            let once = logged(&calm, "POST", path).len();
            let sb = start();
            let mut f = fault.clone();
            f["method"] = json!("POST");
            f["path"] = json!(path);
            f["times"] = json!(1);
            sb.faults(json!([f]));
            let afk = poller(&sb, &[API], "");
            let (code, r, err) = afk.poll();
            assert_eq!(code, 0, "{path}: {err} {r}");
            assert_eq!(
                pairs(&r["dispatched"]),
                vec![(API.to_string(), 1)],
                "{path}: {r}"
            );
            let asked = logged(&sb, "POST", path).len();
            assert_eq!(
                asked,
                once + 1,
                "{path}: the refused try, then as a calm tick"
            );
        }
    })
}

/// afk's own account (`connectionData`, which the 7.1 files do not
/// describe) is asked with 7.1 as every request is; a service that holds
/// that resource to its preview versions and refuses 7.1 (`400`) is asked
/// once more with `7.1-preview.1`, and the tick goes on.
#[test]
fn afks_account_is_asked_again_in_preview_when_the_service_refuses_7_1_for_it() {
    with_dialect(D, || {
        let sb = Sandbox::start(json!({"repos": [ado_repo(API, json!([ready(1, "alice")]))]}));
        sb.faults(
            json!([{"method": "GET", "path": "/_apis/connectionData", "status": 400, "times": 1}]),
        );
        let (code, r, err) = poller(&sb, &[API], "").poll();
        assert_eq!(code, 0, "{err} {r}");
        assert_eq!(pairs(&r["dispatched"]), vec![(API.to_string(), 1)], "{r}");
        let asked: Vec<String> = (sb.requests().iter())
            .filter(|q| {
                (q["path"].as_str().unwrap_or("").to_ascii_lowercase())
                    .ends_with("/_apis/connectiondata")
            })
            .map(|q| q["query"].as_str().unwrap_or("").to_string())
            .collect();
        assert_eq!(asked, vec!["api-version=7.1", "api-version=7.1-preview.1"]);
    })
}

// ---- 4. auth hygiene ---------------------------------------------------------------

#[test]
fn a_refused_pat_is_the_ticks_error_naming_its_key_and_nothing_is_written() {
    const WRONG: &str = "not-the-pat-0123456789";
    with_dialect(D, || {
        let sb = Sandbox::start(json!({"repos": [ado_repo(API, json!([ready(1, "alice")]))]}));
        let mut afk = poller(&sb, &[API], "token_env = \"ADO_PAT\"");
        afk.env.push(("ADO_PAT".into(), WRONG.into()));
        let (code, r, err) = afk.poll();
        assert_ne!(code, 0, "{err} {r}");
        assert_eq!(r["dispatched"], json!([]), "{r}");
        let text = said(&r, &err);
        assert!(
            text.contains("forge.token_env") || text.contains("ADO_PAT"),
            "the error names where the PAT comes from: {text}"
        );
        assert!(!text.contains(WRONG), "{text}");
        // afk asked to be spared the sign-in page: every refusal a 401, no
        // 203 (the sandbox answers a wrong credential without
        // `X-TFS-FedAuthRedirect: Suppress` with its HTML page)
        let reqs = sb.requests();
        assert!(!reqs.is_empty());
        assert!(reqs.iter().all(|q| q["status"] == 401), "{reqs:#?}");
        assert!(reqs.iter().all(|q| q["auth"] == pat_auth()), "{reqs:#?}");
        assert!(sb.writes().is_empty());
    })
}

#[test]
fn a_sign_in_page_in_place_of_an_answer_is_the_ticks_error_never_data() {
    with_dialect(D, || {
        let sb = Sandbox::start(json!({"repos": [ado_repo(API, json!([ready(1, "alice")]))]}));
        // the batch read answered by the service's `203` sign-in page
        // (`text/html`): afk must not read it as an empty list, or as work
        sb.faults(json!([{"path": "/workitemsbatch", "sign_in": true}]));
        let afk = poller(&sb, &[API], "");
        let (code, r, err) = afk.poll();
        assert_ne!(code, 0, "{err} {r}");
        assert_eq!(r["dispatched"], json!([]), "{r}");
        let text = said(&r, &err);
        assert!(
            text.contains("forge.token_env") || text.contains("AFK_FORGE_TOKEN"),
            "the error names where the PAT comes from: {text}"
        );
        assert!(
            logged(&sb, "POST", &tail(API, "wit/workitemsbatch"))
                .iter()
                .all(|q| q["status"] == 203),
            "{:?}",
            sb.requests()
        );
        assert!(sb.writes().is_empty(), "{:?}", sb.writes());
    })
}

#[test]
fn the_pat_goes_only_in_its_basic_header_with_an_empty_user_never_a_url_file_or_output() {
    use base64::Engine;
    let header = base64::engine::general_purpose::STANDARD.encode(format!(":{TOKEN}"));
    let secrets = [TOKEN.to_string(), header];
    with_dialect(D, || {
        let sb = Sandbox::start(json!({"repos": [ado_repo(API, json!([ready(1, "alice")]))]}));
        let afk = committer(&sb, &[API], "");
        let (code, poll, poll_err) = afk.poll();
        assert_eq!(code, 0, "{poll_err} {poll}");
        assert_eq!(afk.wait_agent(1), 0);
        let (code, watch, watch_err) = afk.watch();
        assert_eq!(code, 0, "{watch_err} {watch}");
        assert_eq!(pulls(&sb, API).len(), 1, "afk opened its pull request");
        // each API request: Basic with an empty user name, the PAT in no
        // path and no query
        let reqs = sb.requests();
        assert!(reqs.len() > 5, "{reqs:?}");
        for q in &reqs {
            assert_eq!(q["auth"], pat_auth(), "{q}");
            let url = format!("{}?{}", q["path"], q["query"]);
            for s in &secrets {
                assert!(!url.contains(s.as_str()), "{url}");
            }
        }
        // git's pushes: the same header (an empty user); no URL carries it
        let git = sb.admin("GET", "/git", None);
        let pushes: Vec<&Value> = git
            .as_array()
            .unwrap()
            .iter()
            .filter(|g| g["service"] == "git-receive-pack" && g["method"] == "POST")
            .collect();
        assert!(!pushes.is_empty(), "{git}");
        assert!(pushes.iter().all(|g| g["auth"] == pat_auth()), "{git}");
        // the checkout's config keeps no credential (git had it for each
        // call only), nor does any file afk wrote: state, logs, run folders
        let config = afk.scratch.path("state/runs/1/work/.git/config");
        let text = std::fs::read_to_string(&config).unwrap().to_lowercase();
        assert!(
            !text.contains("extraheader") && !text.contains("authorization"),
            "{text}"
        );
        for s in &secrets {
            let found = crate::workspace::files_holding(&afk.scratch.dir, s);
            assert!(found.is_empty(), "{s:?} in {found:?}");
            for out in [
                poll.to_string(),
                poll_err.clone(),
                watch.to_string(),
                watch_err.clone(),
            ] {
                assert!(!out.contains(s.as_str()), "{out}");
            }
        }
    })
}

#[test]
fn an_entra_token_that_expired_or_expires_within_the_tick_is_refused_before_any_request() {
    // the tick's deadline is 10 minutes (`tick_timeout`): a token good for
    // one more minute would run out in the middle of it
    for (exp, what) in [(now() - 3600, "expired"), (now() + 60, "expiring")] {
        with_dialect(D, || {
            let token = jwt(exp);
            let sb = Sandbox::start(
                json!({"token": token, "repos": [ado_repo(API, json!([ready(1, "alice")]))]}),
            );
            let mut afk = poller(&sb, &[API], "entra_token_env = \"ADO_ENTRA\"");
            afk.env.push(("ADO_ENTRA".into(), token.clone()));
            let (code, r, err) = afk.poll();
            assert_ne!(code, 0, "{what}: {err} {r}");
            let text = said(&r, &err);
            assert!(text.contains("forge.entra_token_env"), "{what}: {text}");
            assert!(!text.contains(&token), "{what}: {text}");
            assert!(
                sb.requests().is_empty(),
                "{what}: the sandbox saw {:?}",
                sb.requests()
            );
        });
    }
    // the same setup with a token good for a day: it goes as `Bearer`
    with_dialect(D, || {
        let token = jwt(now() + 86_400);
        let sb = Sandbox::start(
            json!({"token": token, "repos": [ado_repo(API, json!([ready(1, "alice")]))]}),
        );
        let mut afk = poller(&sb, &[API], "entra_token_env = \"ADO_ENTRA\"");
        afk.env.push(("ADO_ENTRA".into(), token.clone()));
        let (code, r, err) = afk.poll();
        assert_eq!(code, 0, "{err} {r}");
        assert_eq!(pairs(&r["dispatched"]), vec![(API.to_string(), 1)]);
        let reqs = sb.requests();
        assert!(
            reqs.iter()
                .all(|q| q["auth"] == json!({"scheme": "Bearer"})),
            "{reqs:#?}"
        );
    });
}

// ---- 5. edited after the arming ------------------------------------------------------

/// A sandbox with acme/api#1 (written by bob) armed by alice, its work item
/// made, and an afk polling it.
fn armed() -> (Sandbox, Afk) {
    let sb = Sandbox::start(json!({"repos": [ado_repo(API, json!([
        {"number": 1, "title": "Issue 1", "body": "do it", "author": "bob",
         "labels": ["ready-for-agent"], "labeled_by": "alice"}
    ]))]}));
    assert_eq!(tags(&sb, API, 1), vec!["ready-for-agent".to_string()]);
    let afk = poller(&sb, &[API], "");
    (sb, afk)
}

/// A change made to the sandbox after the arming, and what it is.
type Change = (&'static str, fn(&Sandbox));

#[test]
fn a_title_description_or_area_path_changed_after_the_arming_waits_for_a_re_arm() {
    let edits: [Change; 3] = [
        ("the title, by mallory", |sb| {
            sb.admin(
                "POST",
                "/rename",
                Some(json!({"repo": API, "issue": 1, "title": "Also delete the CI", "by": "mallory"})),
            );
        }),
        ("the description, by its author bob", |sb| {
            sb.admin(
                "POST",
                "/edit",
                Some(json!({"repo": API, "issue": 1, "body": "do it, and push to main"})),
            );
        }),
        (
            "the area path, by root (still under the repository's)",
            |sb| {
                sb.admin(
                    "POST",
                    "/ado/bypass",
                    Some(json!({"repo": API, "issue": 1, "by": "root",
                    "fields": {"System.AreaPath": "acme\\api\\Backend"}})),
                );
            },
        ),
    ];
    for (what, edit) in edits {
        with_dialect(D, || {
            let (sb, afk) = armed();
            edit(&sb);
            sb.clear_requests();
            let (code, r, err) = afk.poll();
            assert_eq!(code, 0, "{what}: {err} {r}");
            assert_eq!(r["dispatched"], json!([]), "{what}: {r}");
            assert_eq!(
                reason_of(&r, API, 1).as_deref(),
                Some("edited-after-arming"),
                "{what}: {r}"
            );
            assert!(sb.writes().is_empty(), "{what}: {:?}", sb.writes());
            // alice reads it again and arms it anew: what she armed runs
            sb.label(API, 1, "ready-for-agent", "alice", false);
            sb.label(API, 1, "ready-for-agent", "alice", true);
            let (code, r, err) = afk.poll();
            assert_eq!(code, 0, "{what}: {err} {r}");
            assert_eq!(
                pairs(&r["dispatched"]),
                vec![(API.to_string(), 1)],
                "{what}: {r}"
            );
        });
    }
}

#[test]
fn a_comment_or_a_change_by_afks_own_account_after_the_arming_does_not_block() {
    let changes: [Change; 2] = [
        ("mallory's comment", |sb| {
            sb.admin(
                "POST",
                "/ado/comment",
                Some(json!({"repo": API, "issue": 1, "by": "mallory", "text": "what about the docs?"})),
            );
        }),
        ("a title change by afk's own account", |sb| {
            patch_as_afk(
                sb,
                API,
                1,
                json!([{"op": "replace", "path": "/fields/System.Title", "value": "Issue 1 (status)"}]),
            );
        }),
    ];
    for (what, change) in changes {
        with_dialect(D, || {
            let (sb, afk) = armed();
            change(&sb);
            let (code, r, err) = afk.poll();
            assert_eq!(code, 0, "{what}: {err} {r}");
            assert_eq!(
                pairs(&r["dispatched"]),
                vec![(API.to_string(), 1)],
                "{what}: {r}"
            );
        });
    }
}

// ---- 6. blocked ----------------------------------------------------------------------------

#[test]
fn a_predecessor_blocked_yes_a_blocked_by_line_or_an_unreadable_blocker_blocks() {
    with_dialect(D, || {
        let ready_with = |n: u64, extra: Value| {
            let mut i = ready(n, "alice");
            for (k, v) in extra.as_object().unwrap() {
                i[k] = v.clone();
            }
            i
        };
        let sb = Sandbox::start(json!({"repos": [
            ado_repo(API, json!([
                {"number": 1, "title": "the blocker", "body": "x"},
                ready_with(2, json!({"depends_on": [1]})),
                ready(3, "alice"),
                ready_with(4, json!({"body": "Context.\nBlocked by #1\n"})),
                ready(5, "alice"),
                ready(6, "alice"),
                ready(8, "alice"),
            ])),
            // another project, none of whose repositories afk may touch: its
            // work item is done, and still keeps #6 blocked
            ado_repo("other/lib", json!([{"number": 7, "title": "elsewhere", "body": "x", "state": "closed"}])),
        ]}));
        assert_eq!(state(&sb, "other/lib", 7), "Done");
        // #3: `Blocked = Yes`, set by root after the arming
        sb.admin(
            "POST",
            "/ado/bypass",
            Some(json!({"repo": API, "issue": 3, "by": "root",
                "fields": {"Microsoft.VSTS.CMMI.Blocked": "Yes"}})),
        );
        // #5: a Predecessor link to a work item nobody can read (there is
        // none: the batch read omits it); #6: to the other project's
        let link = |to: u64| {
            json!([{"op": "add", "path": "/relations/-", "value": {
                "rel": "System.LinkTypes.Dependency-Reverse",
                "url": format!("{}/_apis/wit/workItems/{to}", sb.api_url()),
                "attributes": {"name": "Predecessor"}}}])
        };
        patch_as_afk(&sb, API, 5, link(999));
        patch_as_afk(&sb, API, 6, link(7));
        let afk = poller(&sb, &[API], "");
        let (code, r, err) = afk.poll();
        assert_eq!(code, 0, "{err} {r}");
        for n in [2, 3, 4, 5, 6] {
            assert_eq!(
                reason_of(&r, API, n).as_deref(),
                Some("blocked"),
                "#{n}: {r}"
            );
        }
        assert_eq!(pairs(&r["dispatched"]), vec![(API.to_string(), 8)], "{r}");
    })
}

#[test]
fn a_done_predecessor_and_blocked_no_do_not_block() {
    with_dialect(D, || {
        let mut blocked_by_done = ready(2, "alice");
        blocked_by_done["depends_on"] = json!([1]);
        let sb = Sandbox::start(json!({"repos": [ado_repo(API, json!([
            {"number": 1, "title": "the blocker", "body": "x", "state": "closed"},
            blocked_by_done,
        ]))]}));
        assert_eq!(state(&sb, API, 1), "Done");
        sb.admin(
            "POST",
            "/ado/bypass",
            Some(json!({"repo": API, "issue": 2, "by": "root",
                "fields": {"Microsoft.VSTS.CMMI.Blocked": "No"}})),
        );
        let afk = poller(&sb, &[API], "");
        let (code, r, err) = afk.poll();
        assert_eq!(code, 0, "{err} {r}");
        assert_eq!(pairs(&r["dispatched"]), vec![(API.to_string(), 2)], "{r}");
    })
}

/// Work-item ids are organization-wide, so a predecessor may be in another
/// project. One with an allowlisted repository judges its work item by that
/// project's states: done, it blocks nothing; still open, it blocks.
#[test]
fn a_predecessor_in_another_allowlisted_project_blocks_only_while_open() {
    with_dialect(D, || {
        let sb = Sandbox::start(json!({"repos": [
            ado_repo(API, json!([ready(1, "alice"), ready(2, "alice")])),
            ado_repo("other/lib", json!([
                {"number": 3, "title": "done there", "body": "x", "state": "closed"},
                {"number": 4, "title": "open there", "body": "x"},
            ])),
        ]}));
        assert_eq!(state(&sb, "other/lib", 3), "Done");
        let link = |to: u64| {
            json!([{"op": "add", "path": "/relations/-", "value": {
                "rel": "System.LinkTypes.Dependency-Reverse",
                "url": format!("{}/_apis/wit/workItems/{to}", sb.api_url()),
                "attributes": {"name": "Predecessor"}}}])
        };
        patch_as_afk(&sb, API, 1, link(4));
        patch_as_afk(&sb, API, 2, link(3));
        let afk = poller(&sb, &[API, "other/lib"], "");
        let (code, r, err) = afk.poll();
        assert_eq!(code, 0, "{err} {r}");
        assert_eq!(
            reason_of(&r, API, 1).as_deref(),
            Some("blocked"),
            "#1 waits for other/lib's open #4: {r}"
        );
        assert_eq!(pairs(&r["dispatched"]), vec![(API.to_string(), 2)], "{r}");
    })
}

// ---- 7. tag writes under a concurrent change ------------------------------------------------

#[test]
fn a_tag_write_refused_for_a_persons_change_is_read_again_and_keeps_their_tag() {
    with_dialect(D, || {
        let sb = Sandbox::start(json!({"repos": [ado_repo(API, json!([ready(1, "alice")]))]}));
        assert_eq!(tags(&sb, API, 1), vec!["ready-for-agent".to_string()]);
        // alice tags it `needs-design` between afk's read and its write
        sb.admin(
            "POST",
            "/ado/race",
            Some(json!({"repo": API, "issue": 1, "by": "alice", "add_tags": ["needs-design"]})),
        );
        sb.clear_requests();
        let afk = poller(&sb, &[API], "");
        let (code, r, err) = afk.poll();
        assert_eq!(code, 0, "{err} {r}");
        assert_eq!(pairs(&r["dispatched"]), vec![(API.to_string(), 1)], "{r}");
        let mut kept = tags(&sb, API, 1);
        kept.sort();
        assert_eq!(
            kept,
            ["agent-in-progress", "needs-design", "ready-for-agent"],
            "no tag of a person's is lost"
        );
        // the patch at the revision afk read was refused; read again, the
        // next one carried her tag
        let patches = item_patches(&sb, API, 1);
        let statuses: Vec<&Value> = patches.iter().map(|(s, _, _)| s).collect();
        assert_eq!(statuses, [&json!(412), &json!(200)], "{patches:#?}");
        for (_, ops, query) in &patches {
            assert_eq!(ops[0]["op"], "test", "{ops}");
            assert_eq!(ops[0]["path"], "/rev", "{ops}");
            assert!(!query.to_lowercase().contains("bypassrules"), "{query}");
        }
        let (first, second) = (&patches[0].1, &patches[1].1);
        assert_eq!(
            second[0]["value"].as_u64(),
            first[0]["value"].as_u64().map(|r| r + 1),
            "the retry tests the revision the person's change made"
        );
        let written = second
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["path"] == "/fields/System.Tags")
            .map(|o| o["value"].as_str().unwrap_or("").to_string())
            .unwrap_or_default();
        assert!(written.contains("needs-design"), "{second}");
    })
}

// ---- 13. abandonment, and the move to close_state ---------------------------------------------

#[test]
fn a_persons_move_to_done_or_removal_of_the_in_progress_tag_abandons_the_run() {
    for how in ["moved to Done", "in-progress tag removed"] {
        with_dialect(D, || {
            let sb = Sandbox::start(json!({"repos": [ado_repo(API, json!([ready(1, "alice")]))]}));
            let afk = committer(&sb, &[API], "");
            dispatch_and_finish(&afk, API, 1);
            let (code, r, err) = afk.watch();
            assert_eq!(code, 0, "{how}: {err} {r}");
            assert_eq!(pulls(&sb, API).len(), 1, "{how}: afk's pull request");
            match how {
                // the item's author, alice, moves it to Done on the board
                "moved to Done" => {
                    sb.admin(
                        "POST",
                        "/issue_state",
                        Some(json!({"repo": API, "issue": 1, "state": "closed"})),
                    );
                    assert_eq!(state(&sb, API, 1), "Done");
                }
                _ => sb.label(API, 1, "agent-in-progress", "alice", false),
            }
            sb.clear_requests();
            let (code, r, err) = afk.watch();
            assert_eq!(code, 0, "{how}: {err} {r}");
            assert_eq!(action_of(&r, 1).0, "abandon", "{how}: {r}");
            assert_eq!(
                afk.sql_rows("SELECT state FROM runs WHERE id = 1"),
                vec![vec!["abandoned".to_string()]],
                "{how}"
            );
            // afk moved no state of the person's back or on
            assert!(
                item_patches(&sb, API, 1)
                    .iter()
                    .all(|(_, ops, _)| !sets(ops, "System.State")),
                "{how}: {:?}",
                item_patches(&sb, API, 1)
            );
        });
    }
}

#[test]
fn success_moves_the_work_item_to_close_state_only_while_it_is_still_open() {
    for person_closed_it in [false, true] {
        with_dialect(D, || {
            let sb = Sandbox::start(json!({"repos": [ado_repo(API, json!([ready(1, "alice")]))]}));
            let afk = committer(&sb, &[API], "azure_devops.close_state = \"Done\"");
            dispatch_and_finish(&afk, API, 1);
            let (code, r, err) = afk.watch();
            assert_eq!(code, 0, "{err} {r}");
            let prs = pulls(&sb, API);
            assert_eq!(prs.len(), 1, "{prs:?}");
            let pr = prs[0]["pullRequestId"].as_u64().unwrap();
            // alice completes the pull request; with "complete associated
            // work items" the service moves the linked work item to Done
            sb.admin(
                "POST",
                "/ado/complete",
                Some(json!({"pr": pr, "by": "alice", "close_items": person_closed_it})),
            );
            let before = if person_closed_it { "Done" } else { "To Do" };
            assert_eq!(
                state(&sb, API, 1),
                before,
                "the pull request links work item 1 (workItemRefs)"
            );
            sb.clear_requests();
            let (code, r, err) = afk.watch();
            assert_eq!(code, 0, "{err} {r}");
            assert_eq!(
                action_of(&r, 1).0,
                "succeed",
                "closed by the completion: {person_closed_it}: {r}"
            );
            assert_eq!(state(&sb, API, 1), "Done");
            let moves: Vec<(Value, Value, String)> = item_patches(&sb, API, 1)
                .into_iter()
                .filter(|(_, ops, _)| sets(ops, "System.State"))
                .collect();
            if person_closed_it {
                assert!(
                    moves.is_empty(),
                    "a closed work item is left alone: {moves:#?}"
                );
            } else {
                assert_eq!(moves.len(), 1, "{moves:#?}");
                let (status, ops, query) = &moves[0];
                assert_eq!(status, &json!(200), "{ops}");
                assert_eq!(ops[0]["op"], "test", "{ops}");
                assert_eq!(ops[0]["path"], "/rev", "{ops}");
                let to = ops
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|o| o["path"] == "/fields/System.State")
                    .unwrap();
                assert_eq!(to["value"], "Done", "{ops}");
                assert!(!query.to_lowercase().contains("bypassrules"), "{query}");
            }
        });
    }
}

// ---- 17. a renamed repository ------------------------------------------------------------------

#[test]
fn a_renamed_repository_is_not_allowlisted_under_its_new_name_and_nothing_is_written() {
    with_dialect(D, || {
        let old = "acme/old";
        let sb = Sandbox::start(json!({"repos": [ado_repo(old, json!([
            {"number": 1, "title": "Later", "body": "do it"}
        ]))]}));
        let afk = poller(&sb, &[old], "");
        // the first tick reads the repository (its id is afk's from now on)
        // and finds nothing ready
        let (code, r, err) = afk.poll();
        assert_eq!(code, 0, "{err} {r}");
        assert_eq!(r["dispatched"], json!([]));
        // alice arms #1; then someone renames the repository: it keeps its
        // id, and its name is `new`
        sb.label(old, 1, "ready-for-agent", "alice", true);
        assert_eq!(tags(&sb, old, 1), vec!["ready-for-agent".to_string()]);
        sb.admin(
            "POST",
            "/seed",
            Some(json!({"repos": [{"name": old, "renamed_to": "acme/new"}]})),
        );
        sb.clear_requests();
        let (_, r, err) = afk.poll();
        assert_eq!(r["dispatched"], json!([]), "{err} {r}");
        let skip = r["skipped"]
            .as_array()
            .and_then(|s| s.iter().find(|s| s["issue"] == 1).cloned())
            .unwrap_or_else(|| panic!("#1 is not skipped: {err} {r}"));
        assert_eq!(skip["reason"], "not-allowlisted", "{r}");
        assert!(
            skip.to_string().contains("acme/new"),
            "its new name: {skip}"
        );
        assert!(sb.writes().is_empty(), "{:?}", sb.writes());
    })
}

// ---- once a tick: a project's reads, and a tag write from this tick's read ---------------------

#[test]
fn a_projects_reads_are_asked_once_a_tick_however_many_repositories_ask_at_once() {
    with_dialect(D, || {
        // four repositories of one project (poll.max_in_flight's default), each with a ready work item:
        // afk examines them at once (forge.concurrency 8)
        let names: Vec<String> = (0..4).map(|r| format!("acme/r{r}")).collect();
        let repos: Vec<Value> = (names.iter().enumerate())
            .map(|(r, name)| ado_repo(name, json!([ready(r as u64 + 1, "alice")])))
            .collect();
        let sb = Sandbox::start(json!({ "repos": repos }));
        let list: Vec<&str> = names.iter().map(String::as_str).collect();
        let afk = poller(&sb, &list, "concurrency = 8");
        let (code, r, err) = afk.poll();
        assert_eq!(code, 0, "{err} {r}");
        assert_eq!(r["dispatched"].as_array().map(Vec::len), Some(4), "{r}");
        let asked = |method: &str, part: &str| -> Vec<String> {
            (sb.requests().into_iter())
                .filter(|q| q["method"] == method)
                .filter_map(|q| q["path"].as_str().map(str::to_lowercase))
                .filter(|p| p.contains(part))
                .collect()
        };
        // the project's work-item types' states, afk's account, each
        // security namespace: one request each, not one a repository
        for (part, what) in [
            ("/states", "a type's states"),
            ("/_apis/connectiondata", "afk's account"),
            ("/_apis/securitynamespaces/", "a security namespace"),
        ] {
            let paths = asked("GET", part);
            let distinct: std::collections::BTreeSet<&String> = paths.iter().collect();
            assert!(!paths.is_empty(), "{what} never read");
            assert_eq!(paths.len(), distinct.len(), "{what} read twice: {paths:#?}");
        }
        // each dispatched item read whole once (its relations: blocked?),
        // and its tag written from that read: one GET, one PATCH
        for n in 1..=4u64 {
            let read = asked("GET", &format!("/_apis/wit/workitems/{n}"));
            let read: Vec<&String> = read
                .iter()
                .filter(|p| {
                    !p.contains("/updates") && !p.contains("/revisions") && !p.contains("/comments")
                })
                .collect();
            assert_eq!(read.len(), 1, "#{n}: {read:#?}");
            let patches = asked("PATCH", &format!("/_apis/wit/workitems/{n}"));
            assert_eq!(patches.len(), 1, "#{n}: {patches:#?}");
        }
        for (r, name) in names.iter().enumerate() {
            let n = r as u64 + 1;
            assert!(
                tags(&sb, name, n).contains(&"agent-in-progress".to_string()),
                "{name}#{n}"
            );
        }
    })
}

/// A status work item whose description the team keeps as Markdown
/// (`multilineFieldsFormat`): afk writes the page's twin there as the
/// Markdown it is, never escaped HTML, and the field stays Markdown.
#[test]
fn a_markdown_status_work_item_is_written_as_markdown_and_stays_so() {
    with_dialect(D, || {
        let sb = Sandbox::start(json!({"repos": [ado_repo(API, json!([
            ready(1, "alice"),
            {"number": 2, "title": "afk status", "body": "the team's notes"},
        ]))]}));
        crate::azure_devops::ado(&sb, "markdown", json!({"repo": API, "issue": 2}));
        let afk = Afk::with_text(&format!(
            "status_issue = \"{API}#2\"\n{}",
            config(&sb, &[API], "", &reporting_agent())
        ));
        let (code, r, err) = afk.poll();
        assert_eq!(code, 0, "{err} {r}");
        let w = work_item(&sb, API, 2);
        let md = w["fields"]["System.Description"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(md.starts_with("<!-- afk:status-issue"), "{md}");
        assert!(!md.contains("&lt;") && !md.contains("<br>"), "{md}");
        assert!(
            w["multilineFieldsFormat"]["System.Description"]
                .as_str()
                .is_some_and(|f| f.eq_ignore_ascii_case("markdown")),
            "{w}"
        );
    });
}

/// The status issue is a work item (`"project/repository#N"`) whose
/// description afk keeps as the status page's twin: written as escaped HTML
/// (its marker and Markdown show as typed, none of it markup), with Azure
/// DevOps' own links (a work item's `_workitems/edit/N`, a repository's
/// `_git/{name}`, never another forge's `/issues/N`); a tick that changed
/// nothing of it asks nothing about it.
#[test]
fn the_status_work_item_is_written_as_escaped_html_with_azure_devops_links_and_never_by_an_idle_tick()
 {
    with_dialect(D, || {
        let sb = Sandbox::start(json!({"repos": [ado_repo(API, json!([
            ready(1, "mallory"),
            {"number": 2, "title": "afk status", "body": "the team's notes"},
        ]))]}));
        // one repository: its work items are numbered as seeded
        let (armed, status) = (1, 2);
        let afk = Afk::with_text(&format!(
            "status_issue = \"{API}#{status}\"\n{}",
            config(&sb, &[API], "", &reporting_agent())
        ));
        sb.clear_requests();
        let (code, r, err) = afk.poll();
        assert_eq!(code, 0, "{err} {r}");
        let writes = item_patches(&sb, API, status);
        assert_eq!(writes.len(), 1, "{writes:?}");
        assert!(sets(&writes[0].1, "System.Description"), "{:?}", writes[0]);
        let html = work_item(&sb, API, status)["fields"]["System.Description"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(html.starts_with("&lt;!-- afk:status-issue"), "{html}");
        assert!(
            !html.replace("<br>", "").contains('<'),
            "only line breaks are markup: {html}"
        );
        // mallory's arming is skipped as untrusted, linked where it is
        let item = format!("{}/acme/_workitems/edit/{armed}", sb.api_url());
        assert!(html.contains(&item), "{item} in {html}");
        assert!(!html.contains("/issues/"), "{html}");
        assert_eq!(
            reason_of(&r, API, armed).as_deref(),
            Some("untrusted"),
            "{r}"
        );
        // an idle tick: nothing read or written about it
        sb.clear_requests();
        let (code, _, err) = afk.poll();
        assert_eq!(code, 0, "{err}");
        let about: Vec<Value> = sb
            .requests()
            .into_iter()
            .filter(|q| {
                q["path"]
                    .as_str()
                    .is_some_and(|p| p.to_lowercase().ends_with(&format!("/workitems/{status}")))
            })
            .collect();
        assert_eq!(about, Vec::<Value>::new(), "an idle tick");
    })
}

/// Each project is asked with one WIQL query a tick, naming the areas of
/// all its allowlisted repositories, whichever repository asks first; each
/// repository's work items are the ones under its own area. (A second
/// query, for the in-progress tag, is asked only on a tick that could
/// dispatch in a repository afk's state shows idle: the forge's tag is the
/// check that no other run holds it.) Nothing else is asked twice either:
/// the armer's identity and the project's ACL, the same for both
/// repositories, are read once.
#[test]
fn a_project_is_asked_one_wiql_query_a_tick_for_all_its_repositories() {
    with_dialect(D, || {
        let sb = Sandbox::start(json!({"repos": [
            ado_repo(API, json!([ready(1, "alice")])),
            ado_repo(WEB, json!([ready(1, "alice")])),
        ]}));
        let afk = poller(&sb, &[API, WEB], "");
        sb.clear_requests();
        let (code, r, err) = afk.poll();
        assert_eq!(code, 0, "{err} {r}");
        let mut got = pairs(&r["dispatched"]);
        got.sort();
        assert_eq!(got.len(), 2, "one run in each repository: {r}");
        assert_eq!(got.iter().filter(|(repo, _)| repo == API).count(), 1, "{r}");
        assert_eq!(got.iter().filter(|(repo, _)| repo == WEB).count(), 1, "{r}");
        let ready: Vec<String> = wiql_queries(&sb)
            .into_iter()
            .filter(|q| q.contains("CONTAINS 'ready-for-agent'"))
            .collect();
        assert_eq!(ready.len(), 1, "{ready:#?}");
        assert!(
            ready[0].contains(
                "([System.AreaPath] UNDER 'acme\\api' OR [System.AreaPath] UNDER 'acme\\web app')"
            ),
            "{}",
            ready[0]
        );
        assert!(wiql_queries(&sb).len() <= 2, "{:#?}", wiql_queries(&sb));
        // one person armed both: who they are, and what they hold on the
        // project (BYPASS_RULES), are read once for the two repositories
        assert_eq!(
            super::azure_watch::asked_twice(&sb),
            vec![],
            "never a request twice in one tick"
        );
        // the next tick: both repositories busy, the ready tag's query alone
        sb.clear_requests();
        let (code, _, err) = afk.poll();
        assert_eq!(code, 0, "{err}");
        assert_eq!(wiql_queries(&sb).len(), 1, "{:#?}", wiql_queries(&sb));
    })
}

/// The in-progress tag's query is asked only after a ready query that found
/// something: a tick with nothing ready asks the one query.
#[test]
fn a_tick_with_nothing_ready_asks_no_in_progress_query() {
    with_dialect(D, || {
        let sb = Sandbox::start(json!({"repos": [ado_repo(API, json!([]))]}));
        let afk = poller(&sb, &[API], "");
        sb.clear_requests();
        let (code, r, err) = afk.poll();
        assert_eq!(code, 0, "{err} {r}");
        assert_eq!(pairs(&r["dispatched"]), vec![], "{r}");
        assert_eq!(wiql_queries(&sb).len(), 1, "{:#?}", wiql_queries(&sb));
    })
}
