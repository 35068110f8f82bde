//! What only GitHub has, through the binary against the sandbox's GitHub
//! dialect: the primary rate limit spent mid-tick, conditional requests
//! (ETag/304) kept in the state file, check runs in the CI verdict, the
//! maintain and triage roles, a renamed repo, closing with a reason, and
//! `init --create-labels` and `doctor` on GitHub.

use crate::support::*;
use serde_json::{Value, json};

const ON: &str = "enabled = true\nallowlist = [\"acme/api\"]";
/// 2026-01-01T12:00:00Z: where the sandbox's limit resets in these tests.
const RESET: u64 = 1_767_268_800;

fn github(seed: Value) -> Sandbox {
    Sandbox::start_in(Dialect::Github, seed)
}

/// One forge request at a time, so "after the limit was spent" is well defined.
fn one_at_a_time(afk: &Afk) {
    let text = std::fs::read_to_string(&afk.config)
        .unwrap()
        .replace("[forge]\n", "[forge]\nconcurrency = 1\n");
    std::fs::write(&afk.config, text).unwrap();
}

/// The status each logged request was answered with.
fn statuses(sb: &Sandbox) -> Vec<u64> {
    sb.requests()
        .iter()
        .map(|r| r["status"].as_u64().unwrap_or(0))
        .collect()
}

#[test]
fn a_spent_rate_limit_stops_the_tick_and_every_repo_says_until_when() {
    // (remaining when the tick starts, what a spent limit answers, requests that reach the forge)
    let cases = [(0, 403, 1), (0, 429, 1), (2, 403, 2)];
    for (remaining, status, sent) in cases {
        let repos: Vec<Value> = ["acme/a", "acme/b", "acme/c"]
            .iter()
            .map(|r| repo(r, json!([ready(1, "alice")])))
            .collect();
        let sb = github(json!({ "repos": repos }));
        sb.admin(
            "POST",
            "/rate_limit",
            Some(json!({"remaining": remaining, "reset": RESET, "status": status})),
        );
        let afk = Afk::new(
            &sb,
            "enabled = true\nallowlist = [\"acme/a\", \"acme/b\", \"acme/c\"]",
            "",
        );
        one_at_a_time(&afk);
        let (code, r, err) = afk.poll();
        let case = format!("remaining {remaining}, status {status}");
        assert_eq!(code, 1, "{case}: {err} {r}");
        assert_eq!(r["dispatched"], json!([]), "{case}");
        let errors = r["errors"].as_array().unwrap();
        let repos: Vec<&str> = errors.iter().map(|e| e["repo"].as_str().unwrap()).collect();
        assert_eq!(repos, vec!["acme/a", "acme/b", "acme/c"], "{case}: {r}");
        for e in errors {
            let m = e["message"].as_str().unwrap();
            assert!(
                m.contains("rate limit") && m.contains("until 2026-01-01T12:00:00Z"),
                "{case}: {m}"
            );
        }
        assert_eq!(sb.requests().len(), sent, "{case}: nothing after the limit");
        assert!(sb.writes().is_empty(), "{case}");
    }
}

#[test]
fn parallel_requests_never_outrun_what_the_limit_has_left() {
    let names: Vec<String> = (0..8).map(|i| format!("acme/r{i}")).collect();
    let repos: Vec<Value> = names
        .iter()
        .map(|r| repo(r, json!([ready(1, "alice")])))
        .collect();
    let sb = github(json!({ "repos": repos }));
    sb.admin(
        "POST",
        "/rate_limit",
        Some(json!({"remaining": 3, "reset": RESET})),
    );
    let allow: Vec<String> = names.iter().map(|n| format!("\"{n}\"")).collect();
    let afk = Afk::new(
        &sb,
        &format!("enabled = true\nallowlist = [{}]", allow.join(", ")),
        "",
    );
    let text = std::fs::read_to_string(&afk.config)
        .unwrap()
        .replace("[forge]\n", "[forge]\nconcurrency = 8\n");
    std::fs::write(&afk.config, text).unwrap();
    let (code, r, _) = afk.poll();
    assert_eq!(code, 1);
    assert_eq!(
        statuses(&sb),
        vec![200, 200, 200],
        "three left, three sent, none refused"
    );
    assert_eq!(r["errors"].as_array().unwrap().len(), 8, "{r}");
}

#[test]
fn a_spent_rate_limit_fails_each_watched_run_and_touches_nothing() {
    let sb = github(json!({"repos": [repo("acme/api", json!([ready(1, "alice")]))]}));
    let afk = Afk::agent(&sb, "pr", "", "");
    one_at_a_time(&afk);
    assert_eq!(afk.poll().0, 0);
    afk.wait_agent(1);
    sb.admin(
        "POST",
        "/rate_limit",
        Some(json!({"remaining": 0, "reset": RESET})),
    );
    sb.clear_requests();
    let (code, r, _) = afk.watch();
    assert_eq!(code, 1, "{r}");
    let m = r["errors"][0]["message"].as_str().unwrap();
    assert!(m.contains("until 2026-01-01T12:00:00Z"), "{m}");
    assert_eq!(statuses(&sb), vec![403], "one refused request, then none");
    assert_eq!(
        afk.sql_rows("SELECT state FROM runs")[0][0],
        "dispatched",
        "the run waits for the next tick"
    );
}

#[test]
fn a_secondary_rate_limit_is_waited_out_and_retried() {
    let sb = github(json!({"repos": [repo("acme/api", json!([ready(1, "alice")]))]}));
    sb.faults(json!([{"path": "/timeline", "status": 403, "retry_after": 0, "times": 1}]));
    let afk = Afk::new(&sb, ON, "");
    let (code, r, err) = afk.poll();
    assert_eq!(code, 0, "{err} {r}");
    assert_eq!(pairs(&r["dispatched"]), vec![("acme/api".into(), 1)]);
}

/// A secondary rate limit that outlasts the retries is a passing limit, not a
/// refusal: the permission lookup it hit is not read as "afk is no admin".
#[test]
fn a_secondary_rate_limit_that_outlasts_the_retries_is_no_permission_refusal() {
    let sb = github(json!({"repos": [repo("acme/api", json!([ready(1, "alice")]))]}));
    sb.faults(json!([{"path": "/permission", "status": 403, "retry_after": 0, "times": 50}]));
    let afk = Afk::new(&sb, ON, "");
    let (code, r, err) = afk.poll();
    assert_eq!(code, 1, "{err} {r}");
    let errors = r["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{r}");
    let msg = errors[0]["message"].as_str().unwrap();
    assert!(msg.contains("secondary rate limit"), "{msg}");
    assert!(!msg.contains("must be an admin"), "{msg}");
    // not skipped as untrusted: the issue waits for the next tick
    assert_eq!(r["skipped"], json!([]), "{r}");
    assert_eq!(r["dispatched"], json!([]), "{r}");
}

#[test]
fn unchanged_answers_are_304s_that_reuse_the_stored_body_and_cost_nothing() {
    let sb = github(json!({"repos": [repo("acme/api", json!([
        {"number": 1, "title": "armed by a reader", "labels": ["ready-for-agent"], "labeled_by": "mallory"},
    ]))]}));
    let afk = Afk::new(&sb, ON, "");
    let (code, first, _) = afk.poll();
    assert_eq!(code, 0);
    assert_eq!(
        reason_of(&first, "acme/api", 1).as_deref(),
        Some("untrusted")
    );
    let stored: i64 = afk.sql_rows("SELECT count(*) FROM etags")[0][0]
        .parse()
        .unwrap();
    assert!(stored >= 3, "lists, timeline, permission kept: {stored}");
    sb.clear_requests();
    let (code, second, _) = afk.poll();
    assert_eq!(code, 0);
    assert_eq!(second["skipped"], first["skipped"], "the same answer");
    let st = statuses(&sb);
    assert!(!st.is_empty() && st.iter().all(|s| *s == 304), "{st:?}");
    assert_eq!(second["costly_requests"], 0, "{second}");
    assert_eq!(second["requests"].as_u64(), Some(st.len() as u64));

    // a change is seen: the ETag no longer matches
    sb.admin(
        "POST",
        "/seed",
        Some(json!({"repos": [{"name": "acme/api", "collaborators": {"mallory": "write"}}]})),
    );
    sb.clear_requests();
    let (_, third, _) = afk.poll();
    assert_eq!(pairs(&third["dispatched"]), vec![("acme/api".into(), 1)]);
    assert!(statuses(&sb).contains(&200));
}

#[test]
fn a_dry_run_reads_the_stored_etags_and_writes_none() {
    let sb = github(json!({"repos": [repo("acme/api", json!([ready(1, "mallory")]))]}));
    let afk = Afk::new(&sb, ON, "");
    let (code, _, _) = afk.json(&["--dry-run", "poll"]);
    assert_eq!(code, 0);
    assert!(!afk.state().exists(), "a dry run creates no state");
    // a real tick (nothing to dispatch: mallory may not arm) stores the ETags
    assert_eq!(afk.poll().0, 0);
    let before = afk.sql_rows("SELECT url, etag, used_at FROM etags ORDER BY url");
    assert!(before.len() >= 3, "{before:?}");
    sb.admin(
        "POST",
        "/issues",
        Some(json!({"repo": "acme/api", "issue": ready(2, "mallory")})),
    );
    sb.clear_requests();
    let (code, _, _) = afk.json(&["--dry-run", "poll"]);
    assert_eq!(code, 0);
    let st = statuses(&sb);
    assert!(st.contains(&304) && st.contains(&200), "{st:?}");
    assert_eq!(
        afk.sql_rows("SELECT url, etag, used_at FROM etags ORDER BY url"),
        before,
        "the dry run wrote nothing"
    );
}

#[test]
fn an_idle_watch_tick_costs_no_rate_limit() {
    let sb = github(json!({"repos": [repo("acme/api", json!([ready(1, "alice")]))]}));
    let afk = Afk::agent(&sb, "pr", "", "");
    assert_eq!(afk.poll().0, 0);
    afk.wait_agent(1);
    sb.status("acme/api", "afk/issue-1", "ci/build", "success");
    let (code, r, err) = afk.watch();
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        action_of(&r, 1),
        ("wait".into(), Some("awaiting-merge".into()))
    );
    // the first idle tick is free already: the tick that edited the checklist
    // comment left valid validators for the lists its edit changed
    for tick in ["first idle tick", "second idle tick"] {
        sb.clear_requests();
        let (code, r, _) = afk.watch();
        assert_eq!(code, 0);
        assert_eq!(
            r["costly_requests"],
            0,
            "{tick}: {r} {:?}",
            sb.requests()
                .iter()
                .filter(|q| q["status"] != 304)
                .collect::<Vec<_>>()
        );
        let st = statuses(&sb);
        assert!(
            !st.is_empty() && st.iter().all(|s| *s == 304),
            "{tick}: {st:?}"
        );
    }
}

#[test]
fn check_runs_count_in_the_verdict_beside_statuses() {
    let sb = github(json!({"repos": [repo("acme/api", json!([ready(1, "alice")]))]}));
    let afk = Afk::agent(&sb, "pr", "ci_contexts = [\"ci/build\", \"test\"]", "");
    assert_eq!(afk.poll().0, 0);
    afk.wait_agent(1);
    let run = |name: &str, body: Value| {
        let mut b = json!({"repo": "acme/api", "branch": "afk/issue-1", "name": name});
        b.as_object_mut()
            .unwrap()
            .extend(body.as_object().unwrap().clone());
        sb.admin("POST", "/check_run", Some(b));
    };
    sb.status("acme/api", "afk/issue-1", "ci/build", "success");
    run("test", json!({"status": "in_progress"}));
    let (_, r, _) = afk.watch();
    assert_eq!(action_of(&r, 1), ("wait".into(), Some("ci-pending".into())));
    // a check run that fails (timed out) fails the run's CI, with its html_url
    run(
        "test",
        json!({"conclusion": "timed_out", "html_url": "http://ci.invalid/runs/7"}),
    );
    let (_, r, _) = afk.watch();
    assert_eq!(
        action_of(&r, 1),
        ("corrective_turn".into(), Some("ci-red".into()))
    );
    afk.wait_agent(1);
    let prompt = std::fs::read_to_string(afk.scratch.path("state/runs/1/prompt-2.md")).unwrap();
    assert!(
        prompt.contains("- test: http://ci.invalid/runs/7"),
        "{prompt}"
    );
    // on the new head: a skipped check and a successful status are green
    sb.status("acme/api", "afk/issue-1", "ci/build", "success");
    run("test", json!({"conclusion": "skipped"}));
    let (_, r, _) = afk.watch();
    assert_eq!(
        action_of(&r, 1),
        ("wait".into(), Some("awaiting-merge".into()))
    );
}

#[test]
fn a_missing_in_progress_label_is_created_by_adding_it() {
    let sb = github(
        json!({"repos": [{"name": "acme/api", "labels": ["ready-for-agent"],
        "collaborators": {"alice": "write"}, "issues": [ready(1, "alice")]}]}),
    );
    let afk = Afk::new(&sb, ON, "");
    let (code, r, err) = afk.poll();
    assert_eq!(code, 0, "{err} {r}");
    assert_eq!(pairs(&r["dispatched"]), vec![("acme/api".into(), 1)]);
    assert!(
        sb.labels_of("acme/api", 1)
            .contains(&"agent-in-progress".to_string())
    );
    assert!(
        sb.requests()
            .iter()
            .all(|q| q["path"] != sb.dialect.labels_path("acme/api")),
        "poll needs no label list on GitHub"
    );
}

#[test]
fn maintain_arms_like_write_and_triage_like_read() {
    let sb = github(json!({"repos": [{"name": "acme/api",
        "collaborators": {"mona": "maintain", "tri": "triage"},
        "issues": [ready(1, "tri"), ready(2, "mona")]}]}));
    let afk = Afk::new(&sb, ON, "");
    let (code, r, err) = afk.poll();
    assert_eq!(code, 0, "{err}");
    assert_eq!(pairs(&r["dispatched"]), vec![("acme/api".into(), 2)]);
    assert_eq!(reason_of(&r, "acme/api", 1).as_deref(), Some("untrusted"));
}

#[test]
fn a_renamed_repo_answers_301_and_nothing_follows_it() {
    let sb = github(json!({"repos": [
        repo("acme/new", json!([ready(1, "alice")])),
        {"name": "acme/old", "renamed_to": "acme/new"},
    ]}));
    let afk = Afk::new(&sb, "enabled = true\nallowlist = [\"acme/old\"]", "");
    let (code, r, _) = afk.poll();
    assert_eq!(code, 1);
    let m = r["errors"][0]["message"].as_str().unwrap();
    assert!(
        m.contains("returned 301") && m.contains("/repositories/") && m.contains("not followed"),
        "{m}"
    );
    let paths: Vec<String> = sb
        .requests()
        .iter()
        .map(|q| q["path"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        paths,
        vec![sb.dialect.issues_path("acme/old", "")],
        "not followed"
    );
    assert!(
        !sb.labels_of("acme/new", 1)
            .contains(&"agent-in-progress".into())
    );
}

#[test]
fn a_run_that_succeeds_closes_its_issue_as_completed() {
    let sb = github(json!({"repos": [repo("acme/api", json!([ready(1, "alice")]))]}));
    // the agent opens no PR; a person opens one on afk's branch that closes nothing
    let afk = Afk::agent(&sb, "nopr", "", "");
    assert_eq!(afk.poll().0, 0);
    afk.wait_agent(1);
    sb.push_commit("acme/api", "afk/issue-1", "fix.txt");
    let pr = sb.open_pr("acme/api", "afk/issue-1", "a fix");
    sb.status("acme/api", "afk/issue-1", "ci/build", "success");
    afk.watch();
    sb.merge("acme/api", pr);
    sb.clear_requests();
    let (code, r, err) = afk.watch();
    assert_eq!(code, 0, "{err}");
    assert_eq!(action_of(&r, 1).0, "succeed");
    let close: Vec<Value> = sb
        .writes()
        .into_iter()
        .filter(|w| w["method"] == "PATCH" && w["path"] == sb.dialect.issue_path("acme/api", 1))
        .collect();
    assert_eq!(close.len(), 1, "{close:?}");
    assert_eq!(
        close[0]["body"],
        json!({"state": "closed", "state_reason": "completed"})
    );
    let (_, issue) = sb.api(&sb.dialect.issue_path("acme/api", 1));
    assert_eq!(
        (issue["state"].as_str(), issue["state_reason"].as_str()),
        (Some("closed"), Some("completed"))
    );
}

/// GitHub compares label names without case: a repository whose labels
/// are spelled `Ready-For-Agent` and `Agent-In-Progress` is afk's
/// `ready-for-agent` and `agent-in-progress`. The issue armed in GitHub's
/// spelling is dispatched, the in-progress label GitHub attached in its own
/// spelling is afk's (no "removed by a person", no stop), and `init
/// --create-labels` creates only what the repository lacks.
#[test]
fn label_names_in_another_case_are_afks_own_on_github() {
    let mut issue = ready(1, "alice");
    issue["labels"] = json!(["Ready-For-Agent"]);
    let mut seeded = repo("acme/api", json!([issue]));
    seeded["labels"] = json!(["Ready-For-Agent", "Agent-In-Progress", "bug"]);
    let sb = github(json!({ "repos": [seeded] }));
    let afk = Afk::agent(&sb, "pr", "", "");
    let out = afk
        .cmd()
        .args(["init", "--create-labels"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let created: Vec<Value> = sb
        .writes()
        .into_iter()
        .map(|w| w["body"]["name"].clone())
        .collect();
    assert_eq!(
        created,
        vec![json!("ready-for-human"), json!("agent-paused")]
    );
    let (code, r, err) = afk.poll();
    assert_eq!(code, 0, "{err} {r}");
    assert_eq!(
        r["dispatched"][0]["run_id"], 1,
        "armed in GitHub's spelling: {r}"
    );
    afk.wait_agent(1);
    let (_, issue) = sb.api(&sb.dialect.issue_path("acme/api", 1));
    let names: Vec<&str> = issue["labels"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|l| l["name"].as_str())
        .collect();
    assert!(
        names.contains(&"Agent-In-Progress"),
        "GitHub attached its own spelling: {names:?}"
    );
    let (code, r, err) = afk.watch();
    assert_eq!(code, 0, "{err} {r}");
    let (action, reason) = action_of(&r, 1);
    assert_ne!(action, "abandon", "{r}");
    assert_ne!(reason.as_deref(), Some("stopped"), "{r}");
    let (_, issue) = sb.api(&sb.dialect.issue_path("acme/api", 1));
    assert!(
        issue["labels"].to_string().contains("Agent-In-Progress"),
        "kept: {issue}"
    );
}

#[test]
fn init_creates_labels_by_name_and_doctor_checks_the_token_and_limit() {
    let sb = github(json!({"repos": [{"name": "acme/api", "labels": ["bug"]}]}));
    let afk = Afk::new(&sb, ON, "");
    let out = afk
        .cmd()
        .args(["init", "--create-labels"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let created: Vec<Value> = sb
        .writes()
        .into_iter()
        .map(|w| w["body"]["name"].clone())
        .collect();
    assert_eq!(
        created,
        vec![
            json!("ready-for-agent"),
            json!("agent-in-progress"),
            json!("ready-for-human"),
            json!("agent-paused")
        ]
    );
    // doctor: a fine-grained token (no x-oauth-scopes) and the limit left
    let (code, r, err) = afk.json(&["doctor"]);
    assert_eq!(code, 0, "{err} {r}");
    let line = |name: &str| {
        r["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["check"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("no {name} in {r}"))
    };
    assert!(
        line("token")["detail"]
            .as_str()
            .unwrap()
            .contains("fine-grained")
    );
    assert!(
        line("rate limit")["detail"]
            .as_str()
            .unwrap()
            .contains("of 5000 requests left")
    );
    // a classic token without `repo`, and a spent limit, fail
    sb.admin(
        "POST",
        "/scopes",
        Some(json!({"scopes": "public_repo, read:org"})),
    );
    let (code, r, _) = afk.json(&["doctor"]);
    assert_eq!(code, 1);
    let token = r["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["check"] == "token")
        .unwrap()
        .clone();
    assert_eq!(token["ok"], false);
    assert!(
        token["detail"].as_str().unwrap().contains("\"repo\""),
        "{token}"
    );
    sb.admin("POST", "/scopes", Some(json!({"scopes": "repo"})));
    assert_eq!(afk.json(&["doctor"]).0, 0);
    assert!(sb.writes().len() == 4, "doctor wrote nothing");
    // GitHub Enterprise Server with rate limiting off answers 404 "Rate
    // limiting is not enabled.": no limit, never a FAIL
    sb.faults(json!([{"method": "GET", "path": "/rate_limit", "status": 404}]));
    let (code, r, err) = afk.json(&["doctor"]);
    assert_eq!(code, 0, "{err} {r}");
    let rate = r["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["check"] == "rate limit")
        .unwrap()
        .clone();
    assert_eq!(rate["ok"], true, "{rate}");
    assert!(
        rate["detail"].as_str().unwrap().contains("not enabled"),
        "{rate}"
    );
}

#[test]
fn the_demo_runs_every_act_on_the_github_dialect() {
    let out = demo(&["--json", "demo", "--forge", "github"], 120);
    let doc: Value = serde_json::from_slice(&out.stdout).expect("one JSON document");
    let ticks = doc["ticks"].as_array().unwrap();
    // poll, watch x3 (one of them unchanged: free), merged, again, poll, then
    // watch (afk pushes the agent's branch), red CI, watch (the fix pushed), green again
    assert_eq!(ticks.len(), 11);
    assert!(
        ticks[0]["dispatched"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["repo"] == "acme/api" && d["issue"] == 1)
    );
    assert_eq!(ticks[3]["costly_requests"], 0, "{}", ticks[3]);
    assert_eq!(ticks[4]["actions"][0]["action"], "succeed");
    // the review act: a review turn, a hold, the success
    let review: Vec<(String, Option<String>)> = doc["review"]["ticks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| action_of(t, 2))
        .collect();
    assert_eq!(
        review,
        [
            ("corrective_turn".into(), Some("review".into())),
            // afk pushes the review turn's commit; CI has not answered yet
            ("wait".into(), Some("ci-pending".into())),
            ("wait".into(), Some("held".into())),
            ("wait".into(), Some("awaiting-merge".into())),
            ("succeed".into(), None),
        ],
        "{}",
        doc["review"]
    );
    // harvest reads the commit list; upgrade opens, tests and fixes its PR
    let canary = doc["canary"]["ticks"].as_array().unwrap();
    assert!(
        canary.iter().all(|t| t["errors"] == json!([])),
        "{canary:?}"
    );
    let upgrade = doc["upgrade"].as_array().unwrap();
    assert!(
        upgrade.iter().all(|t| t["errors"] == json!([])),
        "{upgrade:?}"
    );
    assert!(
        upgrade.iter().any(|t| t.to_string().contains("GREEN")),
        "{upgrade:?}"
    );
}
