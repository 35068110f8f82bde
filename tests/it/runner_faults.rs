//! The runners under faults and hostile agents (hardening III): for the
//! kubernetes runner an answer lost after the create landed, a pod that
//! vanishes, a silent agent judged by its log's clock, a log of many
//! megabytes, two afk instances in one namespace, the Role's verbs, and the
//! refusals of a config that would send the token where it must not go; for
//! the http runner, a `POST /threads` whose answer was lost.

use crate::kubernetes::{instance, n, setup, wait_done};
use crate::support::*;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

fn cluster(sb: &Sandbox) -> Value {
    sb.admin("GET", "/k8s/state", None)
}

fn names(sb: &Sandbox, kind: &str) -> Vec<String> {
    let mut v: Vec<String> = cluster(sb)[kind]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["metadata"]["name"].as_str().unwrap().to_string())
        .collect();
    v.sort();
    v
}

fn k8s_posts(sb: &Sandbox, kind: &str) -> usize {
    sb.requests()
        .iter()
        .filter(|r| r["method"] == "POST" && r["path"].as_str().unwrap_or("").ends_with(kind))
        .count()
}

/// Wait (bounded) until `cond` holds of the cluster.
fn wait_for(sb: &Sandbox, what: &str, cond: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let c = cluster(sb);
        if cond(&c) {
            return c;
        }
        assert!(Instant::now() < deadline, "{what}: {c}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The agent container's log as the API serves it (timestamps on).
fn pod_log(sb: &Sandbox, job: &str) -> String {
    let c = cluster(sb);
    let pod = c["pods"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["metadata"]["labels"]["job-name"] == job)
        .map(|p| p["metadata"]["name"].as_str().unwrap().to_string())
        .unwrap_or_else(|| panic!("no pod of {job}: {c}"));
    ureq::get(&format!(
        "{}/k8s/api/v1/namespaces/afk/pods/{pod}/log?container=agent&timestamps=true",
        sb.url
    ))
    .set("Authorization", &format!("Bearer {K8S_TOKEN}"))
    .call()
    .map(|r| {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut r.into_reader(), &mut text).unwrap();
        text
    })
    .unwrap()
}

#[test]
fn a_create_whose_answer_was_lost_is_looked_up_and_adopted_never_made_twice() {
    let (sb, afk) = setup(1, "exec sleep 600", "");
    // the Job and its ConfigMap are made, and each answer is lost
    sb.faults(json!([
        {"method": "POST", "path": "/jobs", "drop_after": true, "times": 1},
        {"method": "POST", "path": "/configmaps", "drop_after": true, "times": 1}
    ]));
    let (code, r, err) = afk.poll();
    assert_eq!(code, 0, "{err}");
    assert_eq!(pairs(&r["dispatched"]), vec![("acme/api".into(), 1)]);
    let job = n(&afk, "1-1");
    assert_eq!(names(&sb, "jobs"), vec![job.clone()], "one Job");
    assert_eq!(names(&sb, "configmaps"), vec![job.clone()], "one ConfigMap");
    assert_eq!(
        k8s_posts(&sb, "/jobs"),
        1,
        "the lost create was looked up, not sent again"
    );
    assert_eq!(
        afk.sql_rows("SELECT state, runner_handle FROM runs"),
        vec![vec!["dispatched".to_string(), format!("job:{job}")]],
        "one run, tracked"
    );
    assert!(
        sb.labels_of("acme/api", 1)
            .contains(&"agent-in-progress".to_string())
    );
    // the ConfigMap names the Job as its owner even though its answer was lost
    let c = cluster(&sb);
    assert_eq!(
        c["configmaps"][0]["metadata"]["ownerReferences"][0]["uid"],
        c["jobs"][0]["metadata"]["uid"]
    );
}

#[test]
fn a_create_whose_outcome_stays_unknown_keeps_the_claim_and_the_next_tick_adopts_it() {
    let (sb, afk) = setup(1, "exec sleep 600", "");
    // the create lands, its answer is lost, and so is every lookup this tick
    sb.faults(json!([
        {"method": "POST", "path": "/jobs", "drop_after": true, "times": 1},
        {"method": "GET", "path": "/jobs/", "drop": true, "times": 5}
    ]));
    let (code, r, err) = afk.poll();
    assert_ne!(code, 0, "the tick says something went wrong: {r}");
    assert!(
        err.contains("may have landed") || r.to_string().contains("may have landed"),
        "{err} {r}"
    );
    assert_eq!(r["dispatched"], json!([]), "{r}");
    assert_eq!(
        afk.sql_rows("SELECT state FROM runs"),
        vec![vec!["dispatching".to_string()]],
        "never recorded as a failed start"
    );
    assert!(
        !sb.labels_of("acme/api", 1)
            .contains(&"agent-in-progress".to_string()),
        "no label before the start is known"
    );
    sb.faults(json!([]));
    let (code, _, err) = afk.poll();
    assert_eq!(code, 0, "{err}");
    let job = n(&afk, "1-1");
    assert_eq!(names(&sb, "jobs"), vec![job.clone()], "one Job, one agent");
    assert_eq!(
        afk.sql_rows("SELECT id, state, runner_handle FROM runs"),
        vec![vec![
            "1".to_string(),
            "dispatched".into(),
            format!("job:{job}")
        ]],
        "the same run, tracked: no second dispatch"
    );
    assert!(
        sb.labels_of("acme/api", 1)
            .contains(&"agent-in-progress".to_string())
    );
}

#[test]
fn a_corrective_turn_whose_answer_was_lost_is_one_job_followed_by_the_next_tick() {
    // the first turn ends at once, every later one works on
    let (sb, afk) = setup(
        1,
        "echo turn-$AFK_TURN; [ $AFK_TURN = 1 ] || exec sleep 600",
        "fix_forward_max = 2",
    );
    assert_eq!(afk.poll().0, 0);
    let first = n(&afk, "1-1");
    wait_done(&sb, &first);
    sb.faults(json!([
        {"method": "POST", "path": "/jobs", "drop_after": true, "times": 1},
        {"method": "GET", "path": "/jobs/", "drop": true, "times": 5}
    ]));
    let (_, r, _) = afk.watch();
    assert_eq!(action_of(&r, 1).0, "corrective_turn", "{r}");
    let second = n(&afk, "1-2");
    assert_eq!(
        afk.sql_rows("SELECT runner_handle, turns FROM runs"),
        vec![vec![format!("job:{second}"), "2".to_string()]],
        "the turn is followed where it would be"
    );
    sb.faults(json!([]));
    let (code, _, err) = afk.watch();
    assert_eq!(code, 0, "{err}");
    assert_eq!(names(&sb, "jobs"), vec![first, second], "never a third Job");
    assert_eq!(k8s_posts(&sb, "/jobs"), 2);
}

#[test]
fn a_pod_that_vanishes_is_a_state_and_the_turn_is_judged_from_its_job() {
    let (sb, afk) = setup(
        2,
        "echo \"{\\\"phase\\\":\\\"working\\\"}\"; exec sleep 600",
        "",
    );
    assert_eq!(afk.poll().0, 0);
    let (code, _, err) = afk.watch();
    assert_eq!(code, 0, "{err}");
    // run 1's deadline passes: Kubernetes deletes its pod, the Job is Failed
    let job1 = n(&afk, "1-1");
    let r = sb.admin("POST", "/k8s/expire", Some(json!({"name": job1})));
    assert_eq!(r["ok"], true, "{r}");
    // run 2's pod is listed, then gone before its log is read (evicted)
    sb.faults(json!([{"method": "GET", "path": "/log", "status": 404, "times": 1}]));
    let (code, r, err) = afk.watch();
    assert_eq!(code, 0, "a vanished pod fails no tick: {err} {r}");
    assert_eq!(r["errors"], json!([]), "{r}");
    let repo1 = afk.sql_rows("SELECT repo FROM runs WHERE id = 1")[0][0].clone();
    let action = r["actions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["repo"] == repo1.as_str())
        .map(|a| a["action"].clone());
    assert!(
        action.is_some() && action != Some(json!("wait")),
        "run 1's turn ended with its deadline: {r}"
    );
    let deadline = cluster(&sb)["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|j| j["metadata"]["name"] == job1.as_str())
        .map(|j| j["status"]["conditions"][0]["reason"].clone());
    assert!(
        deadline.is_none() || deadline == Some(json!("DeadlineExceeded")),
        "{deadline:?}"
    );
}

#[test]
fn a_silent_agent_stalls_from_its_log_s_last_timestamp_not_from_afk_s_look() {
    let (sb, afk) = setup(1, "true", "");
    // the agent says one line, waits for the test's word, says one more, and is silent
    let gate = afk.scratch.path("gate");
    let script = format!(
        "echo \"{{\\\"phase\\\":\\\"a\\\"}}\"; while [ ! -e {g} ]; do sleep 0.05; done; \
         echo \"{{\\\"phase\\\":\\\"b\\\"}}\"; exec sleep 600",
        g = gate.display()
    );
    let text = std::fs::read_to_string(&afk.config).unwrap();
    std::fs::write(
        &afk.config,
        text.replace("'true'", &format!("'{script}'"))
            .replace("[runner]\n", "[runner]\nstall_after = \"1m\"\n"),
    )
    .unwrap();
    assert_eq!(afk.poll().0, 0);
    let job = n(&afk, "1-1");
    let stamp_of = |what: &str| {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let log = pod_log(&sb, &job);
            if let Some(line) = log.lines().find(|l| l.contains(what)) {
                let ts = line.split(' ').next().unwrap();
                return time::OffsetDateTime::parse(
                    ts,
                    &time::format_description::well_known::Rfc3339,
                )
                .unwrap();
            }
            assert!(
                Instant::now() < deadline,
                "the agent never said {what}: {log}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    let a = stamp_of("\"a\"");
    afk.at(a);
    let (code, _, err) = afk.watch();
    assert_eq!(code, 0, "{err}");
    std::fs::write(&gate, "").unwrap();
    let b = stamp_of("\"b\"");
    // 30 s after its last line afk reads it: progress, dated by the log
    afk.at(b + time::Duration::seconds(30));
    let (code, r, err) = afk.watch();
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        action_of(&r, 1),
        ("wait".into(), Some("agent-running".into())),
        "{r}"
    );
    // 65 s after its last line, 35 s after afk first saw it: stalled, by the log's clock
    afk.at(b + time::Duration::seconds(65));
    let (code, r, err) = afk.watch();
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        action_of(&r, 1),
        ("escalate".into(), Some("stalled".into())),
        "{r}"
    );
}

#[test]
fn a_log_of_many_megabytes_keeps_every_limit_in_bounded_memory() {
    // 12 MB of chatter in 1,000-byte lines, one line of 5 MB, then the spend
    let script = "head -c 12000000 /dev/zero | tr \"\\0\" x | fold -w 1000; \
                  head -c 5000000 /dev/zero | tr \"\\0\" y; echo; \
                  echo \"{\\\"cost_usd\\\": 5}\"; exec sleep 600";
    let (sb, afk) = setup(1, script, "");
    let text = std::fs::read_to_string(&afk.config).unwrap();
    std::fs::write(
        &afk.config,
        format!("{text}\n[budget]\npause_for = \"0s\"\nrun_usd = 1.0\n"),
    )
    .unwrap();
    assert_eq!(afk.poll().0, 0);
    let job = n(&afk, "1-1");
    let deadline = Instant::now() + Duration::from_secs(60);
    while !pod_log(&sb, &job).contains("cost_usd") {
        assert!(
            Instant::now() < deadline,
            "the agent never finished its log"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut cmd = afk.std_cmd();
    cmd.args(["--json", "watch"]);
    let (code, out, peak_kib) = run_sampled(cmd);
    let r: Value = serde_json::from_slice(&out).unwrap_or_default();
    assert_eq!(code, 0, "{r}");
    assert_eq!(
        action_of(&r, 1),
        ("escalate".into(), Some("over-budget".into())),
        "the spend after 17 MB of log is read in the same tick: {r}"
    );
    // the 5 MB line is passed over and said once; memory stays well under the log
    let log = std::fs::read_to_string(afk.scratch.path("state/runs/1/agent.log")).unwrap();
    assert_eq!(log.matches("passed over").count(), 1, "said once");
    assert!(!log.contains("yyyy"), "the long line is not copied");
    assert!(peak_kib < 48 * 1024, "watch's peak RSS {peak_kib} KiB");
}

#[test]
fn two_state_files_in_one_namespace_never_see_each_other_s_jobs() {
    let (sb, a) = setup(2, "echo \"{\\\"cost_usd\\\": 42}\"; exec sleep 600", "");
    // a second afk, its own state file, the other repository
    let text = std::fs::read_to_string(&a.config).unwrap();
    let one_repo = |t: &str, repo: &str| {
        t.replace(
            "allowlist = [\"acme/r1\", \"acme/r2\"]",
            &format!("allowlist = [\"{repo}\"]"),
        )
    };
    std::fs::write(&a.config, one_repo(&text, "acme/r1")).unwrap();
    let b = Afk::with_text(&one_repo(&text, "acme/r2"));
    assert_eq!(a.poll().0, 0);
    assert_eq!(b.poll().0, 0);
    assert_ne!(instance(&a), instance(&b));
    let (ja, jb) = (n(&a, "1-1"), n(&b, "1-1"));
    let mut both = vec![ja.clone(), jb.clone()];
    both.sort();
    assert_eq!(names(&sb, "jobs"), both, "each its own run 1");
    for afk in [&a, &b] {
        afk.later(4);
        let (code, r, err) = afk.watch();
        assert_eq!(code, 0, "{err}");
        assert_eq!(r["actions"].as_array().unwrap().len(), 1, "{r}");
    }
    // each stalled run stopped its own Job alone, and each run billed only its own agent
    assert!(names(&sb, "jobs").is_empty());
    for afk in [&a, &b] {
        assert_eq!(
            afk.sql_rows("SELECT spend_usd FROM runs"),
            vec![vec!["Real(42.0)".to_string()]]
        );
        let log =
            std::fs::read_to_string(afk.scratch.path("state/runs/1/agent.log")).unwrap_or_default();
        assert_eq!(log.matches("cost_usd").count(), 1, "{log}");
    }
}

#[test]
fn a_redirect_from_the_api_is_an_error_that_names_it() {
    let (sb, afk) = setup(1, "exec sleep 600", "");
    assert_eq!(afk.poll().0, 0);
    sb.faults(json!([{"method": "GET", "path": "/jobs", "status": 307}]));
    let (code, r, err) = afk.watch();
    assert_ne!(code, 0, "{r}");
    let all = format!("{err}{r}");
    assert!(all.contains("307") && all.contains("redirect"), "{all}");
}

#[test]
fn config_refuses_user_info_in_the_api_url_and_a_token_file_others_may_read() {
    let (_sb, afk) = setup(1, "true", "");
    let text = std::fs::read_to_string(&afk.config).unwrap();
    let api = text
        .lines()
        .find(|l| l.starts_with("api_url"))
        .unwrap()
        .to_string();
    std::fs::write(
        &afk.config,
        text.replace(&api, "api_url = \"http://localhost:x@0.0.0.0/k8s\""),
    )
    .unwrap();
    let (code, _, err) = afk.poll();
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("user info"), "{err}");
    assert!(
        !err.contains("localhost:x"),
        "the user info is not echoed: {err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    std::fs::write(&afk.config, &text).unwrap();
    let token = afk.scratch.path("k8s-token");
    std::fs::set_permissions(&token, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
    let (code, _, err) = afk.poll();
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("runner.kubernetes.token_file") && err.contains("chmod 600"),
        "{err}"
    );
}

/// The verb and resource RBAC sees for one request of afk's (None: not a
/// namespaced resource: the namespace read and access reviews, doctor's).
fn verb_of(method: &str, path: &str) -> Option<(String, String, String, String)> {
    let seg: Vec<&str> = path.trim_matches('/').split('/').collect();
    let (group, rest) = match seg.as_slice() {
        ["k8s", "apis", "batch", "v1", "namespaces", _, rest @ ..] => ("batch", rest),
        ["k8s", "api", "v1", "namespaces", _, rest @ ..] => ("", rest),
        _ => return None,
    };
    let (resource, sub, named) = match rest {
        [r] => (*r, "", false),
        [r, _] => (*r, "", true),
        [r, _, s] => (*r, *s, true),
        _ => return None,
    };
    let verb = match (method, named) {
        ("GET", true) => "get",
        ("GET", false) => "list",
        ("POST", _) => "create",
        ("DELETE", _) => "delete",
        (m, _) => m,
    };
    Some((group.into(), resource.into(), sub.into(), verb.into()))
}

#[test]
fn every_request_the_runner_sends_is_a_verb_the_role_grants() {
    let (sb, afk) = setup(1, "echo \"{\\\"phase\\\":\\\"a\\\"}\"; exec sleep 600", "");
    // a start with lost answers (the lookups), a watch with its log, a stop
    sb.faults(json!([
        {"method": "POST", "path": "/jobs", "drop_after": true, "times": 1},
        {"method": "POST", "path": "/configmaps", "drop_after": true, "times": 1}
    ]));
    assert_eq!(afk.poll().0, 0);
    sb.faults(json!([]));
    wait_for(&sb, "the agent logs", |_| {
        pod_log(&sb, &n(&afk, "1-1")).contains("phase")
    });
    assert_eq!(afk.watch().0, 0);
    assert_eq!(afk.watch().0, 0);
    afk.later(4);
    assert_eq!(afk.watch().0, 0);
    let granted: std::collections::BTreeSet<(String, String, String, String)> =
        afk::core::kube::VERBS
            .iter()
            .map(|(g, r, s, v)| (g.to_string(), r.to_string(), s.to_string(), v.to_string()))
            .collect();
    let mut used = std::collections::BTreeSet::new();
    for r in sb.requests() {
        let (m, p) = (r["method"].as_str().unwrap(), r["path"].as_str().unwrap());
        if let Some(v) = verb_of(m, p) {
            assert!(granted.contains(&v), "{m} {p}: {v:?} is not in the Role");
            used.insert(v);
        }
    }
    // and the Role grants nothing this lifecycle did not use
    assert_eq!(used, granted);
}

fn http_afk(sb: &Sandbox) -> Afk {
    Afk::with_text(&format!(
        "state_path = \"state/afk.db\"\n[forge]\n{forge}timeout = \"5s\"\nretries = 1\n\
         [runner]\nkind = \"http\"\nurl = \"{url}/agent\"\ntoken_env = \"AFK_AGENT_TOKEN\"\n\
         [poll]\nenabled = true\nallowlist = [\"acme/api\"]\n",
        url = sb.url,
        forge = sb.forge_keys()
    ))
}

fn http_poll(afk: &Afk) -> (i32, Value, String) {
    let out = afk
        .cmd()
        .env("AFK_AGENT_TOKEN", AGENT_TOKEN)
        .args(["--json", "poll"])
        .output()
        .unwrap();
    (
        out.status.code().unwrap(),
        serde_json::from_slice(&out.stdout).unwrap_or(Value::Null),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

fn thread_count(sb: &Sandbox) -> usize {
    sb.admin("GET", "/threads", None).as_array().unwrap().len()
}

#[test]
fn a_thread_start_whose_answer_was_lost_is_asked_again_with_its_key_never_made_twice() {
    let sb = Sandbox::start(json!({"repos": [repo("acme/api", json!([ready(1, "alice")]))]}));
    let afk = http_afk(&sb);
    sb.faults(
        json!([{"method": "POST", "path": "/agent/threads", "drop_after": true, "times": 1}]),
    );
    let (code, r, err) = http_poll(&afk);
    assert_eq!(code, 0, "{err}");
    assert_eq!(pairs(&r["dispatched"]), vec![("acme/api".into(), 1)]);
    assert_eq!(thread_count(&sb), 1, "one thread, one agent");
    let row = afk.sql_rows("SELECT state, runner_handle FROM runs");
    assert_eq!(row.len(), 1);
    assert_eq!(row[0][0], "dispatched");
    assert!(row[0][1].starts_with("thread:t"), "{row:?}");
}

#[test]
fn a_thread_start_still_unknown_waits_as_a_claim_and_the_next_tick_finds_its_thread() {
    let sb = Sandbox::start(json!({"repos": [repo("acme/api", json!([ready(1, "alice")]))]}));
    let afk = http_afk(&sb);
    // the start lands and its answer is lost, then the service is unreachable
    sb.faults(json!([
        {"method": "POST", "path": "/agent/threads", "drop_after": true, "times": 1},
        {"method": "POST", "path": "/agent/threads", "drop": true, "times": 1}
    ]));
    let (code, r, err) = http_poll(&afk);
    assert_ne!(code, 0, "{r}");
    assert!(format!("{err}{r}").contains("may have landed"), "{err} {r}");
    assert_eq!(
        afk.sql_rows("SELECT state FROM runs"),
        vec![vec!["dispatching".to_string()]]
    );
    assert!(
        !sb.labels_of("acme/api", 1)
            .contains(&"agent-in-progress".to_string())
    );
    let (code, _, err) = http_poll(&afk);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        thread_count(&sb),
        1,
        "the thread the lost answer made, found by its key"
    );
    let row = afk.sql_rows("SELECT id, state, runner_handle FROM runs");
    assert_eq!(row.len(), 1, "the same run: no second dispatch");
    assert_eq!(
        (row[0][0].as_str(), row[0][1].as_str()),
        ("1", "dispatched")
    );
    assert!(row[0][2].starts_with("thread:t"), "{row:?}");
    assert!(
        sb.labels_of("acme/api", 1)
            .contains(&"agent-in-progress".to_string())
    );
}

#[test]
fn a_turn_still_unknown_is_made_by_the_next_watch_and_never_by_a_dry_one() {
    let (sb, afk) = setup(
        1,
        "echo turn-$AFK_TURN; [ $AFK_TURN = 1 ] || exec sleep 600",
        "fix_forward_max = 2",
    );
    assert_eq!(afk.poll().0, 0);
    let first = n(&afk, "1-1");
    wait_done(&sb, &first);
    // the corrective turn's create never arrives, and no lookup is answered
    sb.faults(json!([
        {"method": "POST", "path": "/jobs", "drop": true, "times": 2},
        {"method": "GET", "path": "/jobs/", "drop": true, "times": 5}
    ]));
    let (_, r, _) = afk.watch();
    assert_eq!(action_of(&r, 1).0, "corrective_turn", "{r}");
    assert_eq!(names(&sb, "jobs"), vec![first.clone()], "nothing made yet");
    sb.faults(json!([]));
    sb.clear_requests();
    let (code, r, err) = afk.json(&["--dry-run", "watch"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        action_of(&r, 1),
        ("wait".into(), Some("agent-running".into())),
        "starting: {r}"
    );
    assert_eq!(k8s_posts(&sb, "/jobs"), 0, "a dry run makes no Job");
    let (code, _, err) = afk.watch();
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        names(&sb, "jobs"),
        vec![first, n(&afk, "1-2")],
        "made by the next watch, once"
    );
}

#[test]
fn a_job_made_before_instance_ids_is_followed_to_its_end_by_its_kept_name() {
    let (sb, afk) = setup(1, "exec sleep 600", "");
    assert_eq!(afk.poll().0, 0);
    // as an older afk left it: the run follows `afk-1-1`, a Job without the
    // instance label, whose agent said its spend
    let new = n(&afk, "1-1");
    let old = json!({"apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": "afk-1-1", "labels": {"app.kubernetes.io/managed-by": "afk", "afk.dev/run-id": "1", "afk.dev/turn": "1"}},
        "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "agent", "image": "x",
            "command": ["sh", "-c", "echo \"{\\\"cost_usd\\\": 3}\"; exec sleep 600"]}],
            "volumes": [{"name": "prompt", "configMap": {"name": "afk-1-1"}}]}}}});
    let post = |path: &str, body: Value| {
        ureq::post(&format!("{}/k8s/{path}", sb.url))
            .set("Authorization", &format!("Bearer {K8S_TOKEN}"))
            .send_json(body)
            .unwrap()
    };
    post("apis/batch/v1/namespaces/afk/jobs", old);
    post(
        "api/v1/namespaces/afk/configmaps",
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "afk-1-1"}, "data": {"prompt.md": "p"}}),
    );
    let db = rusqlite::Connection::open(afk.state()).unwrap();
    db.execute("UPDATE runs SET runner_handle = 'job:afk-1-1'", [])
        .unwrap();
    drop(db);
    wait_for(&sb, "the old Job's agent runs", |_| {
        pod_log(&sb, "afk-1-1").contains("cost_usd")
    });
    let (code, r, err) = afk.watch();
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        action_of(&r, 1),
        ("wait".into(), Some("agent-running".into())),
        "{r}"
    );
    assert_eq!(
        afk.sql_rows("SELECT spend_usd FROM runs"),
        vec![vec!["Real(3.0)".to_string()]]
    );
    // stalled: the old Job is the one stopped; the new instance's Job is not the run's
    afk.later(4);
    let (code, r, err) = afk.watch();
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        action_of(&r, 1),
        ("escalate".into(), Some("stalled".into())),
        "{r}"
    );
    assert_eq!(
        names(&sb, "jobs"),
        vec![new],
        "afk-1-1 deleted by its kept name"
    );
}
