//! An operator's third week (issue 31): the sandbox's Kubernetes API is
//! discoverable (printed beside the forge's, answered to kubectl), doctor
//! checks what a tick needs, ticks have a deadline and a health line.

use crate::operator::sandbox_cli;
#[allow(unused_imports)]
use crate::support::*;
#[allow(unused_imports)]
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// The value of `KEY=value` among the sandbox's printed lines.
pub(crate) fn printed(lines: &[String], key: &str) -> String {
    lines
        .iter()
        .find_map(|l| l.strip_prefix(&format!("{key}=")))
        .unwrap_or_else(|| panic!("no {key}= in {lines:?}"))
        .to_string()
}

/// `kubectl` with only the sandbox's printed URL and token (no kubeconfig).
fn kubectl(scratch: &Scratch, server: &str, token: &str, args: &[&str]) -> (bool, String, String) {
    let out = std::process::Command::new("kubectl")
        .env("KUBECONFIG", scratch.path("no-kubeconfig"))
        .env("HOME", scratch.path("home"))
        .args(["--server", server, "--token", token, "--cache-dir"])
        .arg(scratch.path("kube-cache"))
        .args(["--request-timeout", "20s"])
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn kubectl_installed() -> bool {
    std::process::Command::new("kubectl")
        .args(["version", "--client"])
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn the_sandbox_prints_its_kubernetes_api_and_a_runner_block_that_dispatches_a_job() {
    let s = Scratch::new();
    let (_sb, lines) = sandbox_cli(&[
        "--example",
        "--kubernetes",
        "--dir",
        s.path("sb").to_str().unwrap(),
    ]);
    let url = printed(&lines, "AFK_SANDBOX_URL");
    let k8s = printed(&lines, "AFK_SANDBOX_K8S_URL");
    assert_eq!(k8s, format!("{url}/k8s"));
    let k8s_token = printed(&lines, "AFK_SANDBOX_K8S_TOKEN");
    assert!(
        k8s_token.starts_with("k8s-") && k8s_token.len() == 36,
        "{k8s_token}"
    );
    assert_eq!(printed(&lines, "AFK_SANDBOX_K8S_NAMESPACE"), "afk");
    let start = lines
        .iter()
        .position(|l| l.starts_with("# --- afk.toml"))
        .unwrap();
    let text = lines[start..].join("\n") + "\n";
    assert!(text.contains("kind = \"kubernetes\""), "{text}");
    assert!(text.contains(&format!("api_url = \"{k8s}\"")), "{text}");
    let config = s.write("afk.toml", &text);
    let out = assert_cmd::Command::new(afk_bin())
        .env("AFK_FORGE_TOKEN", printed(&lines, "AFK_SANDBOX_TOKEN"))
        .args(["--config", config.to_str().unwrap(), "--json", "poll"])
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    assert_success(&out);
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(!r["dispatched"].as_array().unwrap().is_empty(), "{r}");
    // the Job exists in the printed namespace
    let jobs: Value = ureq::get(&format!("{url}/_admin/k8s/state"))
        .call()
        .unwrap()
        .into_json()
        .unwrap();
    assert!(
        jobs["jobs"]
            .as_array()
            .unwrap()
            .iter()
            .any(|j| j["metadata"]["namespace"] == "afk"),
        "{jobs}"
    );
}

/// Issue 47: a sandbox's tokens are drawn at random and printed; the fixed
/// ones earlier versions documented open nothing, and no two sandboxes share one.
#[test]
fn the_sandbox_draws_its_tokens_and_the_old_fixed_ones_open_nothing() {
    let s = Scratch::new();
    let (_a, lines) = sandbox_cli(&["--example", "--dir", s.path("a").to_str().unwrap()]);
    let (_b, other) = sandbox_cli(&["--dir", s.path("b").to_str().unwrap()]);
    let url = printed(&lines, "AFK_SANDBOX_URL");
    let keys = [
        "AFK_SANDBOX_TOKEN",
        "AFK_SANDBOX_K8S_TOKEN",
        "AFK_SANDBOX_AGENT_TOKEN",
    ];
    for key in keys {
        assert_ne!(
            printed(&lines, key),
            printed(&other, key),
            "{key} drawn per sandbox"
        );
    }
    let status = |path: &str, auth: &str| match ureq::get(&format!("{url}{path}"))
        .set("Authorization", auth)
        .call()
    {
        Ok(r) => r.status(),
        Err(ureq::Error::Status(c, _)) => c,
        Err(e) => panic!("{e}"),
    };
    // the sandbox started without --dialect speaks its default
    let d = Dialect::default();
    let forge = format!("{}{}", d.prefix(), d.issue_comments_path("acme/api", 1));
    let forge = forge.as_str();
    let k8s = "/k8s/apis/batch/v1/namespaces/afk/jobs";
    let agent = "/agent/threads/1";
    for (path, old, new) in [
        (
            forge,
            "token sandbox-token".to_string(),
            format!("token {}", printed(&lines, keys[0])),
        ),
        (
            k8s,
            "Bearer k8s-sandbox-token".into(),
            format!("Bearer {}", printed(&lines, keys[1])),
        ),
        (
            agent,
            "Bearer agent-token".into(),
            format!("Bearer {}", printed(&lines, keys[2])),
        ),
    ] {
        assert_eq!(
            status(path, &old),
            401,
            "{path}: the old fixed token is refused"
        );
        assert_ne!(status(path, &new), 401, "{path}: the printed one is taken");
    }
    // the config's header says where the token is, not the token: a
    // newcomer saves from that line down into a file others may read
    let config = lines
        .iter()
        .find(|l| l.starts_with("# --- afk.toml"))
        .unwrap();
    assert!(config.contains("AFK_SANDBOX_TOKEN"), "{config}");
    assert!(!config.contains(&printed(&lines, keys[0])), "{config}");
}

#[test]
fn without_kubernetes_the_sandbox_still_prints_its_kubernetes_api() {
    let s = Scratch::new();
    let (_sb, lines) = sandbox_cli(&["--dir", s.path("sb").to_str().unwrap()]);
    let url = printed(&lines, "AFK_SANDBOX_URL");
    assert_eq!(printed(&lines, "AFK_SANDBOX_K8S_URL"), format!("{url}/k8s"));
    assert!(!lines.iter().any(|l| l.contains("kind = \"kubernetes\"")));
}

#[test]
fn the_sandbox_answers_kubernetes_discovery() {
    let sb = Sandbox::start(json!({"repos": []}));
    let get = |path: &str| -> (u16, Value) {
        let r = ureq::get(&format!("{}/k8s{path}", sb.url))
            .set("Authorization", &format!("Bearer {K8S_TOKEN}"))
            .call();
        match r {
            Ok(r) => (r.status(), r.into_json().unwrap()),
            Err(ureq::Error::Status(c, r)) => (c, r.into_json().unwrap_or(Value::Null)),
            Err(e) => panic!("{e}"),
        }
    };
    let (c, v) = get("/api");
    assert_eq!((c, v["kind"].as_str()), (200, Some("APIVersions")), "{v}");
    assert_eq!(v["versions"], json!(["v1"]));
    let (c, v) = get("/apis");
    assert_eq!((c, v["kind"].as_str()), (200, Some("APIGroupList")), "{v}");
    assert!(v["groups"].to_string().contains("batch/v1"), "{v}");
    let (c, v) = get("/version");
    assert_eq!(c, 200);
    assert!(v["gitVersion"].is_string(), "{v}");
    let (c, v) = get("/api/v1");
    assert_eq!(
        (c, v["kind"].as_str()),
        (200, Some("APIResourceList")),
        "{v}"
    );
    let names: Vec<&str> = v["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    for n in ["namespaces", "pods", "pods/log", "configmaps"] {
        assert!(names.contains(&n), "{n} missing from {v}");
    }
    // kubectl sends no token over plain http: anonymous reads, nothing more
    let anon = ureq::get(&format!("{}/k8s/apis/batch/v1/namespaces/afk/jobs", sb.url)).call();
    assert_eq!(anon.unwrap().status(), 200);
    let anon = ureq::post(&format!("{}/k8s/apis/batch/v1/namespaces/afk/jobs", sb.url))
        .send_json(json!({"metadata": {"name": "x"}}));
    assert!(matches!(anon, Err(ureq::Error::Status(403, _))), "{anon:?}");
    let wrong = ureq::get(&format!("{}/k8s/api", sb.url))
        .set("Authorization", "Bearer nope")
        .call();
    assert!(
        matches!(wrong, Err(ureq::Error::Status(401, _))),
        "{wrong:?}"
    );
    let (c, v) = get("/apis/batch/v1");
    assert_eq!(
        (c, v["resources"][0]["name"].as_str()),
        (200, Some("jobs")),
        "{v}"
    );
    assert_eq!(v["resources"][0]["namespaced"], true);
}

#[test]
fn kubectl_gets_the_jobs_and_reads_a_job_s_logs() {
    if !kubectl_installed() {
        eprintln!("skipped: kubectl is not installed (the discovery paths are tested without it)");
        return;
    }
    let (sb, afk) = crate::kubernetes::setup(1, "echo hello-from-the-pod", "");
    let (code, r, err) = afk.poll();
    assert_eq!(code, 0, "{err}");
    assert_eq!(r["dispatched"].as_array().unwrap().len(), 1, "{r}");
    let server = format!("{}/k8s", sb.url);
    let token = K8S_TOKEN;
    let deadline = Instant::now() + Duration::from_secs(30);
    let job = loop {
        let (ok, out, err) = kubectl(
            &afk.scratch,
            &server,
            token,
            &["get", "jobs", "-n", "afk", "-o", "name"],
        );
        assert!(ok, "kubectl get jobs: {err}");
        if let Some(j) = out.lines().find(|l| l.starts_with("job")) {
            break j.to_string();
        }
        assert!(Instant::now() < deadline, "no job listed: {out}");
        std::thread::sleep(Duration::from_millis(50));
    };
    let (ok, out, err) = kubectl(&afk.scratch, &server, token, &["get", "jobs", "-n", "afk"]);
    assert!(
        ok && out.contains(job.trim_start_matches("job.batch/")),
        "{out}{err}"
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (ok, out, err) = kubectl(&afk.scratch, &server, token, &["logs", "-n", "afk", &job]);
        if ok && out.contains("hello-from-the-pod") {
            break;
        }
        assert!(Instant::now() < deadline, "kubectl logs {job}: {out}{err}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `afk --json doctor` over a ready sandbox whose config gets `edit`; the
/// checks named `name`.
fn doctor_checks(edit: impl Fn(&str, &Scratch) -> String, name: &str) -> (i32, Vec<Value>) {
    let sb = Sandbox::start(json!({"repos": [repo("acme/api", json!([]))]}));
    let afk = Afk::new(&sb, "enabled = true\nallowlist = [\"acme/api\"]", "");
    let text = std::fs::read_to_string(&afk.config).unwrap();
    std::fs::write(&afk.config, edit(&text, &afk.scratch)).unwrap();
    let (code, r, err) = afk.json(&["doctor"]);
    let checks: Vec<Value> = r["checks"]
        .as_array()
        .unwrap_or_else(|| panic!("{err}"))
        .iter()
        .filter(|c| c["check"] == name)
        .cloned()
        .collect();
    (code, checks)
}

#[test]
fn doctor_fails_a_state_folder_whose_path_runs_through_a_file() {
    let (code, checks) = doctor_checks(
        |t, s| {
            s.write("blocker", "a file, not a folder\n");
            t.replace(
                "state_path = \"state/afk.db\"",
                "state_path = \"blocker/state/afk.db\"",
            )
        },
        "state folder",
    );
    assert_eq!(code, 1, "{checks:?}");
    let fail = checks
        .iter()
        .find(|c| c["level"] == "fail")
        .unwrap_or_else(|| panic!("{checks:?}"));
    let d = fail["detail"].as_str().unwrap();
    assert!(
        d.contains("blocker") && d.contains("Not a directory"),
        "{d}"
    );
}

#[test]
fn doctor_takes_the_lock_in_a_state_folder_and_leaves_nothing_behind() {
    let sb = Sandbox::start(json!({"repos": [repo("acme/api", json!([]))]}));
    let afk = Afk::new(&sb, "enabled = true\nallowlist = [\"acme/api\"]", "");
    let (code, r, err) = afk.json(&["doctor"]);
    assert_eq!(code, 0, "{err} {r}");
    let state = r["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["check"] == "state folder")
        .cloned()
        .unwrap_or_else(|| panic!("{r}"));
    assert!(
        state["detail"].as_str().unwrap().contains("lock"),
        "{state}"
    );
    assert!(
        !afk.state().parent().unwrap().exists(),
        "doctor removes the folder it made"
    );
}

#[test]
fn doctor_fails_a_runner_script_or_program_that_is_not_there_or_not_executable() {
    let cases: [(&str, &str); 3] = [
        (
            "[\"sh\", \"/nonexistent/agent.sh\"]",
            "not found at /nonexistent/agent.sh",
        ),
        (
            "[\"/nonexistent/agent\", \"-p\"]",
            "not found at /nonexistent/agent",
        ),
        ("[\"SCRIPT\", \"-p\"]", "not executable"),
    ];
    for (command, says) in cases {
        let (code, checks) = doctor_checks(
            |t, s| {
                let script = s.write("agent.sh", "#!/bin/sh\necho hi\n");
                let command = command.replace("SCRIPT", script.to_str().unwrap());
                let start = t.find("command = ").unwrap();
                let end = start + t[start..].find('\n').unwrap();
                format!("{}command = {command}{}", &t[..start], &t[end..])
            },
            "runner",
        );
        assert_eq!(code, 1, "{command}: {checks:?}");
        let fails: Vec<&Value> = checks.iter().filter(|c| c["level"] == "fail").collect();
        assert_eq!(
            fails.len(),
            1,
            "one FAIL for one missing program: {checks:?}"
        );
        assert!(
            fails[0]["detail"].as_str().unwrap().contains(says),
            "{command}: {checks:?}"
        );
    }
}

/// `afk --json doctor` with only `bin` on PATH: its checks named `name`.
fn doctor_on_path(afk: &Afk, bin: &std::path::Path, name: &str) -> Vec<Value> {
    let out = afk
        .std_cmd()
        .env("PATH", bin)
        .args(["--json", "doctor"])
        .output()
        .unwrap();
    let r: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    r["checks"]
        .as_array()
        .unwrap_or_else(|| panic!("{}", String::from_utf8_lossy(&out.stderr)))
        .iter()
        .filter(|c| c["check"] == name)
        .cloned()
        .collect()
}

/// The config as `Afk::new` wrote it, with its `command` line replaced by `runner`.
fn with_runner(afk: &Afk, original: &str, runner: &str) {
    let t = original;
    let start = t.find("command = ").unwrap();
    let end = start + t[start..].find('\n').unwrap();
    let text = format!("{}{runner}{}", &t[..start], &t[end..]);
    std::fs::write(&afk.config, text).unwrap();
}

#[test]
fn doctor_fails_a_named_agent_not_on_path_once_saying_how_to_install_it() {
    let sb = Sandbox::start(json!({"repos": [repo("acme/api", json!([]))]}));
    let afk = Afk::new(&sb, "enabled = true\nallowlist = [\"acme/api\"]", "");
    let original = std::fs::read_to_string(&afk.config).unwrap();
    let bin = afk.scratch.path("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let cases = [
        ("claude", "npm install -g @anthropic-ai/claude-code@2.1.331"),
        ("codex", "npm install -g @openai/codex@0.169.0"),
    ];
    for (agent, install) in cases {
        with_runner(
            &afk,
            &original,
            &format!("agent = \"{agent}\"\ncommand = [\"--model\", \"m\"]"),
        );
        let checks = doctor_on_path(&afk, &bin, "runner");
        let fails: Vec<&Value> = checks.iter().filter(|c| c["level"] == "fail").collect();
        assert_eq!(fails.len(), 1, "{checks:?}");
        let says = fails[0]["detail"].as_str().unwrap();
        assert!(
            says.contains(&format!("\"{agent}\" not found on PATH")) && says.contains(install),
            "{says}"
        );
    }
}

#[test]
fn doctor_warns_when_codex_has_no_prices_and_a_money_limit_is_set() {
    let sb = Sandbox::start(json!({"repos": [repo("acme/api", json!([]))]}));
    let afk = Afk::new(&sb, "enabled = true\nallowlist = [\"acme/api\"]", "");
    let original = std::fs::read_to_string(&afk.config).unwrap();
    let bin = afk.scratch.path("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let codex = bin.join("codex");
    std::fs::write(&codex, "#!/bin/sh\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&codex, std::fs::Permissions::from_mode(0o755)).unwrap();
    let cases = [
        ("", true),
        ("\n[runner.prices]\ninput = 1.25\noutput = 10.0", false),
    ];
    for (prices, warns) in cases {
        with_runner(
            &afk,
            &original,
            &format!("agent = \"codex\"{prices}\n[budget]\npause_for = \"0s\"\nrun_usd = 5.0"),
        );
        let checks = doctor_on_path(&afk, &bin, "budget");
        let warned = checks.iter().any(|c| {
            c["level"] == "warn"
                && c["detail"]
                    .as_str()
                    .unwrap()
                    .starts_with("codex reports tokens, not dollars: set [runner.prices]")
        });
        assert_eq!(warned, warns, "{prices}: {checks:?}");
        let runner = doctor_on_path(&afk, &bin, "runner");
        assert!(runner.iter().all(|c| c["level"] != "fail"), "{runner:?}");
    }
}

/// A poll tick over a forge that answers every request after `latency_ms`,
/// with `tick_timeout` and a heartbeat; the running child.
fn slow_poll(sb: &Sandbox, latency_ms: u64, tick_timeout: &str) -> (Afk, std::process::Child) {
    let afk = Afk::new(
        sb,
        "enabled = true\nallowlist = [\"acme/api\"]",
        "[notify]\nheartbeat_env = \"AFK_TEST_HB\"\n",
    );
    let text = std::fs::read_to_string(&afk.config).unwrap();
    std::fs::write(
        &afk.config,
        format!("tick_timeout = \"{tick_timeout}\"\n{text}"),
    )
    .unwrap();
    sb.faults(json!([{"latency_ms": latency_ms}]));
    let child = afk
        .std_cmd()
        .env("AFK_TEST_HB", format!("{}/_hooks/hb/", sb.url))
        .arg("poll")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    (afk, child)
}

/// The child's exit code and stderr, waited for at most `secs`.
fn ended(mut child: std::process::Child, secs: u64) -> (Option<i32>, String) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(st) = child.try_wait().unwrap() {
            let mut err = String::new();
            std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
            return (st.code(), err);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the tick did not end within {secs}s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn hooks_named(sb: &Sandbox) -> Vec<String> {
    sb.hooks()
        .iter()
        .map(|h| h["hook"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn with_json_a_tick_past_its_deadline_prints_exactly_one_document() {
    let sb = Sandbox::start(json!({"repos": [repo("acme/api", json!([ready(1, "alice")]))]}));
    let afk = Afk::new(&sb, "enabled = true\nallowlist = [\"acme/api\"]", "");
    let text = std::fs::read_to_string(&afk.config).unwrap();
    std::fs::write(&afk.config, format!("tick_timeout = \"10s\"\n{text}")).unwrap();
    sb.faults(json!([{"latency_ms": 4000}]));
    let out = afk
        .cmd()
        .timeout(Duration::from_secs(60))
        .args(["--json", "poll"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(5),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let mut docs = serde_json::Deserializer::from_str(&stdout).into_iter::<Value>();
    let doc = docs.next().expect("a document").expect("JSON");
    assert!(docs.next().is_none(), "exactly one document: {stdout}");
    assert_eq!(doc["tick"], "poll", "{doc}");
    assert_eq!(doc["timed_out"], true, "{doc}");
    assert_eq!(doc["exit"], 5, "{doc}");
    assert!(
        doc["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("tick_timeout"),
        "{doc}"
    );
}

#[test]
fn with_json_a_tick_stopped_by_sigterm_prints_exactly_one_document() {
    let sb = Sandbox::start(json!({"repos": [repo("acme/api", json!([ready(1, "alice")]))]}));
    let afk = Afk::new(&sb, "enabled = true\nallowlist = [\"acme/api\"]", "");
    sb.faults(json!([{"latency_ms": 3000}]));
    let child = afk
        .std_cmd()
        .args(["--json", "poll"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // the tick is waiting on the forge: the first request takes 3 s; the
    // sandbox's log says when it has arrived
    let deadline = Instant::now() + Duration::from_secs(30);
    while sb.requests().is_empty() {
        assert!(Instant::now() < deadline, "the tick never asked the forge");
        std::thread::yield_now();
    }
    // SAFETY: kill(2) on our own child process
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(143),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let mut docs = serde_json::Deserializer::from_str(&stdout).into_iter::<Value>();
    let doc = docs.next().expect("a document").expect("JSON");
    assert!(docs.next().is_none(), "exactly one document: {stdout}");
    assert_eq!(doc["terminated"], true, "{doc}");
    assert_eq!(doc["exit"], 143, "{doc}");
}

#[test]
fn a_tick_past_its_tick_timeout_stops_pings_fail_exits_5_and_frees_its_lock() {
    let sb = Sandbox::start(json!({"repos": [repo("acme/api", json!([ready(1, "alice")]))]}));
    let started = Instant::now();
    let (afk, child) = slow_poll(&sb, 4000, "10s");
    let (code, err) = ended(child, 40);
    assert_eq!(code, Some(5), "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );
    assert!(err.contains("tick_timeout"), "{err}");
    assert!(
        hooks_named(&sb).contains(&"hb/fail".to_string()),
        "{:?}",
        hooks_named(&sb)
    );
    // the next tick takes the lock and reconciles
    sb.faults(json!([]));
    let (code, r, err) = afk.poll();
    assert_eq!(code, 0, "{err} {r}");
}

#[test]
fn a_sigterm_ends_the_tick_with_a_report_a_fail_ping_and_exit_143() {
    let sb = Sandbox::start(json!({"repos": [repo("acme/api", json!([ready(1, "alice")]))]}));
    let (_afk, child) = slow_poll(&sb, 1500, "10m");
    let deadline = Instant::now() + Duration::from_secs(20);
    while sb.requests().is_empty() {
        assert!(Instant::now() < deadline, "the tick sent nothing");
        std::thread::sleep(Duration::from_millis(20));
    }
    // SAFETY: signalling a child this test started, by its id.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let (code, err) = ended(child, 30);
    assert_eq!(code, Some(143), "{err}");
    assert!(err.contains("SIGTERM"), "{err}");
    assert!(
        hooks_named(&sb).contains(&"hb/fail".to_string()),
        "{:?}",
        hooks_named(&sb)
    );
}

/// The codes of docs/exit-codes.md's table.
fn exit_code_table() -> std::collections::BTreeMap<u8, String> {
    let doc = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/exit-codes.md"),
    )
    .unwrap();
    doc.lines()
        .filter_map(|l| {
            let mut cells = l.trim().trim_matches('|').split('|');
            let code = cells.next()?.trim().parse().ok()?;
            Some((code, cells.next()?.trim().to_string()))
        })
        .collect()
}

/// Every `Exit status:` code of `cmd`'s long help and its subcommands'.
fn help_codes(cmd: &mut clap::Command, path: &str, out: &mut Vec<(String, u8)>) {
    let help = cmd.render_long_help().to_string();
    if let Some(block) = help.split("Exit status:\n").nth(1) {
        for l in block.lines().take_while(|l| !l.trim().is_empty()) {
            if let Some(code) = l
                .strip_prefix("  ")
                .and_then(|r| r.split_whitespace().next())
                .and_then(|w| w.parse().ok())
            {
                out.push((path.to_string(), code));
            }
        }
    }
    for sc in cmd.get_subcommands_mut() {
        let name = format!("{path} {}", sc.get_name());
        help_codes(sc, &name, out);
    }
}

#[test]
fn every_exit_code_of_help_man_and_code_is_in_the_one_table() {
    use afk::core::tick_deadline::Stop;
    let table = exit_code_table();
    // what the code returns
    for code in [
        0,
        1,
        2,
        3,
        4,
        afk::command_error::exit_code(afk::command_error::ErrorKind::Internal),
        141,
        Stop::Deadline.exit_code(),
        Stop::Term.exit_code(),
    ] {
        assert!(
            table.contains_key(&code),
            "docs/exit-codes.md lacks {code}: {table:?}"
        );
    }
    // what --help (and so every man page's EXIT STATUS) says
    let mut cmd = afk::cli::command();
    cmd.build();
    let mut codes = vec![];
    help_codes(&mut cmd, "afk", &mut codes);
    assert!(codes.len() > 40, "{codes:?}");
    let missing: Vec<_> = codes
        .iter()
        .filter(|(_, c)| !table.contains_key(c))
        .collect();
    assert!(
        missing.is_empty(),
        "help exit codes not in docs/exit-codes.md: {missing:?}"
    );
    // every tick command says the deadline's and SIGTERM's codes
    for tick in ["poll", "watch", "harvest"] {
        for code in [5, 143] {
            assert!(
                codes.contains(&(format!("afk {tick}"), code)),
                "afk {tick} --help lacks exit {code}"
            );
        }
    }
    let readme =
        std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
            .unwrap();
    assert!(
        readme.contains("docs/exit-codes.md"),
        "README points to the table"
    );
}

#[test]
fn status_shows_each_tick_kind_s_last_run_and_its_health() {
    let sb = Sandbox::start(json!({"repos": [repo("acme/api", json!([]))]}));
    let afk = Afk::new(&sb, "enabled = true\nallowlist = [\"acme/api\"]", "");
    let (code, _, err) = afk.poll();
    assert_eq!(code, 0, "{err}");
    let (code, r, err) = afk.json(&["status"]);
    assert_eq!(code, 0, "{err}");
    let ticks = r["ticks"].as_array().unwrap_or_else(|| panic!("{r}"));
    let poll = ticks.iter().find(|t| t["kind"] == "poll").unwrap();
    assert_eq!(poll["state"], "ok", "{poll}");
    assert_eq!(poll["exit"], 0, "{poll}");
    assert!(
        poll["started"].is_string() && poll["ended"].is_string(),
        "{poll}"
    );
    let watch = ticks.iter().find(|t| t["kind"] == "watch").unwrap();
    assert_eq!(watch["state"], "never", "{watch}");
    // a failing tick is FAILED; and much later, OVERDUE
    sb.faults(json!([{"status": 500}]));
    let (code, _, _) = afk.poll();
    assert_eq!(code, 1);
    let (_, r, _) = afk.json(&["status"]);
    let poll = r["ticks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["kind"] == "poll")
        .cloned()
        .unwrap();
    assert_eq!(
        (poll["state"].as_str(), poll["exit"].as_i64()),
        (Some("failed"), Some(1)),
        "{poll}"
    );
    afk.later(1);
    let out = afk.cmd().arg("status").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("poll     OVERDUE"), "{text}");
}
