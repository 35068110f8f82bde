//! The kubernetes runner (docs/runners.md#kubernetes-a-job-per-turn) against
//! the sandbox's Kubernetes API (`/k8s`), whose Jobs run as local processes:
//! dispatch, the Job's shape and what it must never carry, progress and spend
//! from the pod log, corrective turns as new Jobs, stall and stop, a pod that
//! cannot start, crash safety, the request count of a watch tick, doctor, dry
//! runs, refused API URLs.

use crate::support::*;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// A sandbox with `n` ready issues and afk configured for the kubernetes
/// runner, whose agent runs `script` (a `sh -c` script).
/// `n` > 1: one ready issue in each of `n` repositories (a repo runs one agent at a time).
pub(crate) fn setup(n: u64, script: &str, watch: &str) -> (Sandbox, Afk) {
    setup_in(n, script, watch, false)
}

/// As [`setup`]; `afks`: in afk's workspace (docs/kubernetes.md, the default
/// for the kind), the Job's git containers around the agent, else
/// `workspace = "agent"` (the agent does its own git).
pub(crate) fn setup_in(n: u64, script: &str, watch: &str, afks: bool) -> (Sandbox, Afk) {
    let repos: Vec<Value> = match n {
        1 => vec![repo("acme/api", json!([ready(1, "alice")]))],
        _ => (1..=n)
            .map(|i| repo(&format!("acme/r{i}"), json!([ready(1, "alice")])))
            .collect(),
    };
    let allow: Vec<String> = match n {
        1 => vec!["acme/api".into()],
        _ => (1..=n).map(|i| format!("acme/r{i}")).collect(),
    };
    let sb = Sandbox::start(json!({ "repos": repos }));
    let scratch = Scratch::new();
    let token = scratch.write("k8s-token", &format!("{K8S_TOKEN}\n"));
    std::fs::set_permissions(&token, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let text = format!(
        "state_path = \"state/afk.db\"\n[forge]\n{forge}timeout = \"5s\"\nretries = 1\n\
         [runner]\nkind = \"kubernetes\"\n{workspace}command = [\"sh\", \"-c\", '{script}']\n\
         [runner.kubernetes]\napi_url = \"{url}/k8s\"\ntoken_file = \"{token}\"\nnamespace = \"afk\"\n\
         {git}image = \"registry.example/agent:1\"\nenv_secret = \"agent-creds\"\nservice_account = \"agent-sa\"\ncpu = \"500m\"\nmemory = \"1Gi\"\n\
         [poll]\nenabled = true\nallowlist = {allow:?}\nmax_in_flight = {n}\nmax_per_tick = {n}\n\
         [watch]\n{watch}\n",
        forge = sb.forge_keys(),
        url = sb.url,
        token = token.display(),
        workspace = if afks { "" } else { "workspace = \"agent\"\n" },
        git = if afks {
            "git_image = \"afk\"\ngit_secret = \"afk-git\"\n"
        } else {
            ""
        },
    );
    let config = scratch.write("afk.toml", &text);
    let afk = Afk {
        scratch,
        config,
        hooks: None,
        now: Default::default(),
        env: vec![],
        held: vec![],
    };
    sb.admin(
        "POST",
        "/k8s/secret",
        Some(json!({"name": "agent-creds", "data": {"AGENT_KEY": "agent-own-key"}})),
    );
    (sb, afk)
}

/// The state file's instance id (made with the state file when it is not there yet).
pub(crate) fn instance(afk: &Afk) -> String {
    let state = afk.state();
    std::fs::create_dir_all(state.parent().unwrap()).unwrap();
    afk::store::Store::open(&state).unwrap().instance().unwrap()
}

/// The Job (and ConfigMap) name of `<run>-<turn>` for this state file.
pub(crate) fn n(afk: &Afk, run_turn: &str) -> String {
    format!("afk-{}-{run_turn}", instance(afk))
}

fn cluster(sb: &Sandbox) -> Value {
    sb.admin("GET", "/k8s/state", None)
}

fn jobs(sb: &Sandbox) -> Vec<Value> {
    cluster(sb)["jobs"].as_array().unwrap().clone()
}

fn job_names(sb: &Sandbox) -> Vec<String> {
    jobs(sb)
        .iter()
        .map(|j| j["metadata"]["name"].as_str().unwrap().to_string())
        .collect()
}

/// Wait (bounded) until the Job's pod has terminated.
pub(crate) fn wait_done(sb: &Sandbox, job: &str) {
    // bounded, and generous: a loaded machine starts a pod's containers slowly
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let c = cluster(sb);
        let done = c["pods"].as_array().unwrap().iter().any(|p| {
            p["metadata"]["labels"]["job-name"] == job
                && p["status"]["containerStatuses"][0]["state"]["terminated"].is_object()
        });
        if done {
            return;
        }
        if Instant::now() >= deadline {
            let logs: Vec<String> = c["pods"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|p| p["metadata"]["name"].as_str())
                .flat_map(|pod| {
                    ["checkout", "agent", "forward"].map(|ctr| {
                        let url = format!(
                            "{}/k8s/api/v1/namespaces/afk/pods/{pod}/log?container={ctr}",
                            sb.url
                        );
                        let text = ureq::get(&url)
                            .set("Authorization", &format!("Bearer {K8S_TOKEN}"))
                            .call()
                            .ok()
                            .and_then(|r| r.into_string().ok())
                            .unwrap_or_default();
                        format!("{pod}/{ctr}: {text}")
                    })
                })
                .collect();
            panic!("job {job} did not finish: {c}\nlogs: {logs:#?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn k8s_requests(sb: &Sandbox) -> Vec<Value> {
    sb.requests()
        .into_iter()
        .filter(|r| r["path"].as_str().is_some_and(|p| p.starts_with("/k8s/")))
        .collect()
}

#[test]
fn dispatch_creates_a_locked_down_job_and_its_prompt_config_map_without_secrets() {
    let (sb, afk) = setup(
        1,
        "head -n 1 \"$AFK_PROMPT_FILE\"; echo \"key=$AGENT_KEY\"",
        "",
    );
    let (code, r, err) = afk.poll();
    assert_eq!(code, 0, "{err}");
    assert_eq!(pairs(&r["dispatched"]), vec![("acme/api".into(), 1)]);
    let c = cluster(&sb);
    let job = &c["jobs"][0];
    assert_eq!(job["metadata"]["name"], n(&afk, "1-1"));
    let labels = &job["metadata"]["labels"];
    assert_eq!(labels["app.kubernetes.io/managed-by"], "afk");
    assert_eq!(labels["afk.dev/run-id"], "1");
    assert_eq!(labels["afk.dev/turn"], "1");
    let spec = &job["spec"];
    assert_eq!(spec["backoffLimit"], 0);
    assert_eq!(spec["activeDeadlineSeconds"], 6 * 3600);
    assert_eq!(spec["ttlSecondsAfterFinished"], 24 * 3600);
    let pod = &spec["template"]["spec"];
    assert_eq!(pod["serviceAccountName"], "agent-sa");
    assert_eq!(pod["automountServiceAccountToken"], false);
    assert_eq!(pod["restartPolicy"], "Never");
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    assert_eq!(
        pod["securityContext"]["seccompProfile"]["type"],
        "RuntimeDefault"
    );
    let ctr = &pod["containers"][0];
    assert_eq!(ctr["name"], "agent");
    assert_eq!(ctr["image"], "registry.example/agent:1");
    assert_eq!(ctr["securityContext"]["allowPrivilegeEscalation"], false);
    assert_eq!(
        ctr["securityContext"]["capabilities"]["drop"],
        json!(["ALL"])
    );
    assert_eq!(
        ctr["resources"]["requests"],
        json!({"cpu": "500m", "memory": "1Gi"})
    );
    assert_eq!(ctr["resources"]["limits"], ctr["resources"]["requests"]);
    assert_eq!(ctr["envFrom"][0]["secretRef"]["name"], "agent-creds");
    assert_eq!(ctr["volumeMounts"][0]["mountPath"], "/afk");
    assert_eq!(ctr["volumeMounts"][0]["readOnly"], true);
    let env: std::collections::BTreeMap<String, String> = ctr["env"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["name"].as_str().unwrap().to_string(),
                e["value"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    for (k, v) in [
        ("AFK_RUN_ID", "1"),
        ("AFK_REPO", "acme/api"),
        ("AFK_ISSUE", "1"),
        ("AFK_BRANCH", "afk/issue-1"),
        ("AFK_TURN", "1"),
        ("AFK_PROMPT_FILE", "/afk/prompt.md"),
        ("AFK_PROGRESS_FILE", "/dev/stdout"),
    ] {
        assert_eq!(env.get(k).map(String::as_str), Some(v), "{k}");
    }
    let cm = &c["configmaps"][0];
    assert_eq!(cm["metadata"]["name"], n(&afk, "1-1"));
    assert!(
        cm["data"]["prompt.md"]
            .as_str()
            .unwrap()
            .contains("Closes #1")
    );
    assert_eq!(
        cm["metadata"]["ownerReferences"][0]["uid"],
        job["metadata"]["uid"]
    );
    assert_eq!(cm["metadata"]["ownerReferences"][0]["kind"], "Job");
    // afk's own secrets reach neither object, nor any request body to the cluster
    let everything = format!("{c}{:?}", k8s_requests(&sb));
    for secret in [TOKEN, K8S_TOKEN] {
        assert!(
            !everything.contains(secret),
            "{secret} leaked into the cluster"
        );
    }
    assert_eq!(
        afk.sql_rows("SELECT runner_handle, runner_kind FROM runs"),
        vec![vec![
            format!("job:{}", n(&afk, "1-1")),
            "kubernetes".to_string()
        ]]
    );
    // the agent read the mounted prompt and got its own secret
    wait_done(&sb, &n(&afk, "1-1"));
    afk.watch();
    let log = std::fs::read_to_string(afk.scratch.path("state/runs/1/agent.log")).unwrap();
    assert!(log.contains("key=agent-own-key"), "{log}");
    assert!(!log.lines().next().unwrap_or("").is_empty(), "{log}");
}

#[test]
fn progress_and_spend_come_from_the_pod_log_and_a_corrective_turn_is_a_new_job() {
    let script = "echo \"{\\\"phase\\\":\\\"tests-red\\\"}\"; echo noise; echo \"{\\\"cost_usd\\\": 0.75}\"; echo \"turn $AFK_TURN\"";
    let (sb, afk) = setup(1, script, "fix_forward_max = 1");
    assert_eq!(afk.poll().0, 0);
    wait_done(&sb, &n(&afk, "1-1"));
    let (code, r, err) = afk.watch();
    assert_eq!(code, 0, "{err}");
    // exited without a PR: a corrective turn, as a second Job
    assert_eq!(action_of(&r, 1).0, "corrective_turn", "{r}");
    assert_eq!(job_names(&sb), vec![n(&afk, "1-1"), n(&afk, "1-2")]);
    let progress =
        std::fs::read_to_string(afk.scratch.path("state/runs/1/progress.jsonl")).unwrap();
    assert!(progress.contains("tests-red"), "{progress}");
    assert!(
        !progress.contains("noise"),
        "only JSON lines are progress: {progress}"
    );
    let spend = afk.sql_rows("SELECT spend_usd FROM runs");
    assert_eq!(spend[0][0], "Real(0.75)");
    assert_eq!(
        afk.sql_rows("SELECT runner_handle FROM runs")[0][0],
        format!("job:{}", n(&afk, "1-2"))
    );
    // the second turn's log is read from its own start, once
    wait_done(&sb, &n(&afk, "1-2"));
    sb.clear_requests();
    afk.watch();
    let log = std::fs::read_to_string(afk.scratch.path("state/runs/1/agent.log")).unwrap();
    assert_eq!(log.matches("turn 1").count(), 1, "{log}");
    assert_eq!(log.matches("turn 2").count(), 1, "{log}");
    assert_eq!(
        afk.sql_rows("SELECT spend_usd FROM runs")[0][0],
        "Real(1.5)"
    );
}

#[test]
fn a_stalled_agent_is_stopped_by_deleting_its_job_in_the_background() {
    let (sb, afk) = setup(
        1,
        "echo \"{\\\"phase\\\":\\\"working\\\"}\"; exec sleep 600",
        "",
    );
    assert_eq!(afk.poll().0, 0);
    let (_, r, _) = afk.watch();
    assert_eq!(
        action_of(&r, 1),
        ("wait".into(), Some("agent-running".into()))
    );
    afk.later(4);
    sb.clear_requests();
    let (code, r, err) = afk.watch();
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        action_of(&r, 1),
        ("escalate".into(), Some("stalled".into())),
        "{r}"
    );
    let del: Vec<Value> = k8s_requests(&sb)
        .into_iter()
        .filter(|q| q["method"] == "DELETE")
        .collect();
    assert_eq!(del.len(), 1, "{del:?}");
    assert!(
        del[0]["path"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/jobs/{}", n(&afk, "1-1"))),
        "{del:?}"
    );
    assert!(format!("{del:?}").contains("Background"), "{del:?}");
    let c = cluster(&sb);
    assert_eq!(c["jobs"], json!([]), "the Job is gone");
    assert_eq!(c["pods"], json!([]), "its pod with it");
    assert_eq!(
        c["configmaps"],
        json!([]),
        "and its ConfigMap (owned by the Job)"
    );
}

#[test]
fn a_pod_that_cannot_pull_its_image_escalates_with_the_reason() {
    let (sb, afk) = setup(1, "echo hi", "");
    sb.admin(
        "POST",
        "/k8s/bad_image",
        Some(json!({"image": "registry.example/agent:1"})),
    );
    assert_eq!(afk.poll().0, 0);
    let (code, r, err) = afk.watch();
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        action_of(&r, 1),
        ("escalate".into(), Some("agent-failed".into())),
        "{r}"
    );
    let st = sb.admin("GET", "/state", None);
    let escalation: Vec<&str> = st["repos"][0]["comments"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["body"].as_str())
        .filter(|b| b.starts_with("<!-- afk:escalation run=1 -->"))
        .collect();
    assert_eq!(escalation.len(), 1, "{st}");
    let c = escalation[0];
    assert!(c.contains("(`agent-failed`)"), "{c}");
    assert!(
        c.contains("the agent cannot start: ImagePullBackOff"),
        "the pod's reason: {c}"
    );
    assert!(
        !c.contains("the agent says"),
        "not an agent's own words: {c}"
    );
    assert_eq!(jobs(&sb), Vec::<Value>::new(), "the Job is deleted");
    assert_eq!(
        afk.sql_rows("SELECT state, end_reason FROM runs"),
        vec![vec!["escalated".to_string(), "agent-failed".into()]]
    );
    // the status page's open escalations give the pod's reason too
    let out = afk.cmd().args(["status", "--html"]).output().unwrap();
    assert_success(&out);
    let page = String::from_utf8(out.stdout).unwrap();
    assert!(page.contains("agent-failed: ImagePullBackOff"), "{page}");
    // the run is over: a second tick does nothing more
    let (code, r, err) = afk.watch();
    assert_eq!(code, 0, "{err}");
    assert_eq!(r["actions"], json!([]), "{r}");
}

#[test]
fn an_agent_failed_comment_posted_after_the_job_is_deleted_still_gives_the_pod_s_reason() {
    let (sb, afk) = setup(1, "echo hi", "");
    sb.admin(
        "POST",
        "/k8s/bad_image",
        Some(json!({"image": "registry.example/agent:1"})),
    );
    assert_eq!(afk.poll().0, 0);
    // the forge refuses the escalation comment once (403: a refusal to try
    // again next tick; a 422 would be given up): the tick decided and deleted
    // the Job, the next one posts the comment with no pod left to ask
    sb.faults(json!([{"method": "POST", "path": "/issues/1/comments", "status": 403, "times": 1}]));
    let (_, r, _) = afk.watch();
    assert_eq!(action_of(&r, 1).1.as_deref(), Some("agent-failed"), "{r}");
    assert_eq!(jobs(&sb), Vec::<Value>::new(), "the Job is deleted");
    assert_eq!(
        afk.sql_rows("SELECT state FROM runs"),
        vec![vec!["escalating".to_string()]]
    );
    let (code, r, err) = afk.watch();
    assert_eq!(code, 0, "{err}");
    assert_eq!(action_of(&r, 1).1.as_deref(), Some("agent-failed"), "{r}");
    let st = sb.admin("GET", "/state", None);
    let c = st["repos"][0]["comments"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["body"].as_str())
        .find(|b| b.starts_with("<!-- afk:escalation run=1 -->"))
        .unwrap_or_else(|| panic!("no escalation comment: {st}"));
    assert!(
        c.contains("the agent cannot start: ImagePullBackOff"),
        "{c}"
    );
    assert_eq!(
        afk.sql_rows("SELECT state, end_reason FROM runs"),
        vec![vec!["escalated".to_string(), "agent-failed".into()]]
    );
}

#[test]
fn a_job_that_exists_already_is_the_turn_started_never_a_second_one() {
    let (sb, afk) = setup(1, "echo hi", "");
    // a dead tick's create: the Job is there (409 on create), its ConfigMap not
    let name = n(&afk, "1-1");
    let job = json!({"apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": name, "labels": {"app.kubernetes.io/managed-by": "afk", "afk.dev/instance": instance(&afk)}},
        "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "agent", "image": "registry.example/agent:1", "command": ["sh", "-c", "echo from-the-first"]}],
            "volumes": [{"name": "prompt", "configMap": {"name": name}}]}}}});
    let resp = ureq::post(&format!("{}/k8s/apis/batch/v1/namespaces/afk/jobs", sb.url))
        .set("Authorization", &format!("Bearer {K8S_TOKEN}"))
        .send_json(job)
        .unwrap();
    assert_eq!(resp.status(), 201);
    sb.clear_requests();
    let (code, r, err) = afk.poll();
    assert_eq!(code, 0, "{err}");
    assert_eq!(pairs(&r["dispatched"]), vec![("acme/api".into(), 1)]);
    assert_eq!(job_names(&sb), vec![n(&afk, "1-1")]);
    let posts: Vec<Value> = k8s_requests(&sb)
        .into_iter()
        .filter(|q| q["method"] == "POST" && q["path"].as_str().unwrap().ends_with("/jobs"))
        .collect();
    assert_eq!(posts.len(), 1, "one create, answered 409");
    assert_eq!(cluster(&sb)["configmaps"].as_array().unwrap().len(), 1);
}

/// Kill poll at `point`, then run it again: one Job, tracked, complete.
fn crash_then_reconcile(point: &str) {
    let (sb, afk) = setup(1, "echo hi", "");
    let out = afk
        .cmd()
        .env("AFK_CRASH_AT", point)
        .args(["--json", "poll"])
        .output()
        .unwrap();
    assert!(!out.status.success(), "{point}: the tick died");
    assert_eq!(job_names(&sb), vec![n(&afk, "1-1")], "{point}");
    let (code, _, err) = afk.poll();
    assert_eq!(code, 0, "{point}: {err}");
    assert_eq!(
        job_names(&sb),
        vec![n(&afk, "1-1")],
        "{point}: never two Jobs"
    );
    assert_eq!(
        afk.sql_rows("SELECT id, state, runner_handle FROM runs"),
        vec![vec![
            "1".to_string(),
            "dispatched".into(),
            format!("job:{}", n(&afk, "1-1"))
        ]],
        "{point}: the Job is tracked"
    );
    let c = cluster(&sb);
    assert_eq!(c["configmaps"].as_array().unwrap().len(), 1, "{point}: {c}");
    assert!(
        sb.labels_of("acme/api", 1)
            .contains(&"agent-in-progress".to_string())
    );
}

#[test]
fn a_tick_killed_between_job_and_config_map_is_reconciled_by_the_next() {
    crash_then_reconcile("kubernetes:job-created");
}

#[test]
fn a_tick_killed_after_the_start_is_reconciled_by_the_next() {
    crash_then_reconcile("poll:started");
}

#[test]
fn a_watch_tick_over_many_jobs_lists_jobs_and_pods_once() {
    let n = 12;
    let (sb, afk) = setup(n, "exec sleep 600", "");
    let (code, r, err) = afk.poll();
    assert_eq!(code, 0, "{err}");
    assert_eq!(r["dispatched"].as_array().unwrap().len(), n as usize);
    sb.clear_requests();
    let (code, _, err) = afk.watch();
    assert_eq!(code, 0, "{err}");
    let reqs = k8s_requests(&sb);
    let lists = |kind: &str| {
        reqs.iter()
            .filter(|q| q["method"] == "GET" && q["path"].as_str().unwrap().ends_with(kind))
            .count()
    };
    assert_eq!(lists("/jobs"), 1, "{reqs:?}");
    assert_eq!(lists("/pods"), 1, "{reqs:?}");
    let per_job = reqs
        .iter()
        .filter(|q| q["path"].as_str().unwrap().contains("/jobs/"))
        .count();
    assert_eq!(per_job, 0, "no request per run for status: {reqs:?}");
    let logs = reqs
        .iter()
        .filter(|q| q["path"].as_str().unwrap().ends_with("/log"))
        .count();
    assert!(logs <= n as usize, "at most one log read per running pod");
    assert!(
        reqs.len() <= 2 + n as usize,
        "{} requests for {n} Jobs",
        reqs.len()
    );
    // the selector is afk's own label
    let q = format!("{:?}", reqs[0]["query"]);
    assert!(q.contains("managed-by"), "{q}");
}

#[test]
fn doctor_names_a_missing_verb_and_its_fix() {
    let (sb, afk) = setup(1, "echo hi", "");
    let runner_check = || {
        let (_, r, _) = afk.json(&["doctor"]);
        r["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["check"] == "runner")
            .cloned()
            .unwrap_or_else(|| panic!("{r}"))
    };
    let c = runner_check();
    assert_eq!(c["ok"], true, "{c}");
    sb.admin(
        "POST",
        "/k8s/deny",
        Some(json!({"verb": "get", "resource": "pods/log"})),
    );
    let c = runner_check();
    assert_eq!(c["ok"], false, "{c}");
    let detail = c["detail"].as_str().unwrap();
    assert!(detail.contains("get pods/log"), "{detail}");
    assert!(detail.contains("Role"), "the fix: {detail}");
    assert!(jobs(&sb).is_empty(), "doctor creates nothing");
}

/// A Role that may not read the namespace (a cluster-scoped object) leaves
/// doctor unable to say it exists: a WARN naming the status and the RBAC verb
/// and resource, never a silent ok.
#[test]
fn doctor_warns_when_the_namespace_cannot_be_read() {
    let (sb, afk) = setup(1, "echo hi", "");
    sb.admin(
        "POST",
        "/k8s/deny",
        Some(json!({"verb": "get", "resource": "namespaces"})),
    );
    let (code, r, err) = afk.json(&["doctor"]);
    assert_eq!(code, 0, "a WARN does not fail doctor: {err} {r}");
    let c = r["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["check"] == "runner")
        .cloned()
        .unwrap_or_else(|| panic!("{r}"));
    assert_eq!(c["level"], "warn", "{c}");
    let detail = c["detail"].as_str().unwrap();
    assert!(detail.contains("403"), "the status: {detail}");
    assert!(detail.contains("get namespaces"), "the RBAC verb: {detail}");
    assert!(!detail.contains("the API answers"), "not an ok: {detail}");
    // the verbs are still reviewed
    assert!(
        detail.contains("every verb the runner needs is allowed"),
        "{detail}"
    );
}

#[test]
fn a_dry_run_creates_nothing_in_the_cluster() {
    let (sb, afk) = setup(1, "exec sleep 600", "");
    let (code, _, err) = afk.json(&["--dry-run", "poll"]);
    assert_eq!(code, 0, "{err}");
    let writes: Vec<Value> = k8s_requests(&sb)
        .into_iter()
        .filter(|q| q["method"] != "GET")
        .collect();
    assert!(writes.is_empty(), "{writes:?}");
    assert!(jobs(&sb).is_empty());
    // a stalled run in a dry watch: reported, its Job left alone
    assert_eq!(afk.poll().0, 0);
    afk.later(4);
    sb.clear_requests();
    let (code, r, err) = afk.json(&["--dry-run", "watch"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        action_of(&r, 1),
        ("escalate".into(), Some("stalled".into())),
        "{r}"
    );
    let writes: Vec<Value> = k8s_requests(&sb)
        .into_iter()
        .filter(|q| q["method"] != "GET")
        .collect();
    assert!(writes.is_empty(), "{writes:?}");
    assert_eq!(job_names(&sb), vec![n(&afk, "1-1")]);
}

#[test]
fn config_refuses_plain_http_beyond_loopback_and_a_missing_image() {
    let (_sb, afk) = setup(1, "echo hi", "");
    let text = std::fs::read_to_string(&afk.config).unwrap();
    let base = text.clone();
    let bad = base.replace(
        "api_url = \"http://127.0.0.1",
        "api_url = \"http://10.1.2.3",
    );
    assert_ne!(bad, base);
    std::fs::write(&afk.config, &bad).unwrap();
    let (code, _, err) = afk.poll();
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("runner.kubernetes.api_url") && err.contains("https"),
        "{err}"
    );
    std::fs::write(
        &afk.config,
        base.replace("image = \"registry.example/agent:1\"\n", ""),
    )
    .unwrap();
    let (code, _, err) = afk.poll();
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("runner.kubernetes.image"), "{err}");
    std::fs::write(&afk.config, base.replace("memory = ", "memroy = ")).unwrap();
    let (code, _, err) = afk.poll();
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("did you mean \"memory\""), "{err}");
}

#[test]
fn a_claim_the_previous_version_left_finds_its_job_under_the_old_name() {
    let (sb, afk) = setup(1, "exec sleep 600", "");
    let out = afk
        .cmd()
        .env("AFK_CRASH_AT", "poll:started")
        .args(["--json", "poll"])
        .output()
        .unwrap();
    assert!(!out.status.success(), "the tick died after the start");
    // as the version before instance ids named it: afk-<run>-<turn>
    let api = format!("{}/k8s/apis/batch/v1/namespaces/afk/jobs", sb.url);
    let job = cluster(&sb)["jobs"][0].clone();
    let k8s = |m: &str, url: &str| {
        ureq::request(m, url).set("Authorization", &format!("Bearer {K8S_TOKEN}"))
    };
    k8s(
        "DELETE",
        &format!("{api}/{}?propagationPolicy=Background", n(&afk, "1-1")),
    )
    .call()
    .unwrap();
    let mut old = json!({"apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": "afk-1-1", "labels": job["metadata"]["labels"]},
        "spec": job["spec"]["template"].clone()});
    old["spec"] = json!({"backoffLimit": 0, "template": job["spec"]["template"]});
    k8s("POST", &api).send_json(old).unwrap();
    let (code, _, err) = afk.poll();
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        job_names(&sb),
        vec!["afk-1-1".to_string()],
        "never a second Job"
    );
    assert_eq!(
        afk.sql_rows("SELECT state, runner_handle FROM runs"),
        vec![vec!["dispatched".to_string(), "job:afk-1-1".to_string()]]
    );
}

#[test]
fn the_pod_log_mirrored_into_the_run_folder_passes_the_redacting_sink() {
    // the agent learned afk's forge token somewhere and prints it, plain
    // and inside a JSON progress line
    let script =
        format!("echo \"the token is {TOKEN}\"; echo \"{{\\\"phase\\\":\\\"{TOKEN}\\\"}}\"");
    let (sb, afk) = setup(1, &script, "");
    assert_eq!(afk.poll().0, 0);
    wait_done(&sb, &n(&afk, "1-1"));
    let (code, _, err) = afk.watch();
    assert_eq!(code, 0, "{err}");
    for file in ["agent.log", "progress.jsonl"] {
        let text = std::fs::read_to_string(afk.scratch.path(&format!("state/runs/1/{file}")))
            .unwrap_or_default();
        assert!(!text.contains(TOKEN), "{file}: {text}");
    }
    let log = std::fs::read_to_string(afk.scratch.path("state/runs/1/agent.log")).unwrap();
    assert!(log.contains("the token is [redacted]"), "{log}");
}
