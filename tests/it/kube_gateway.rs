//! The model gateway on Kubernetes (docs/kubernetes.md#the-model-gateway)
//! against the sandbox's cluster and its scripted model, which requires its
//! key: the turn's pod runs afk's gateway as a sidecar that alone mounts the
//! key's Secret; a scripted `claude` in the agent's container reaches the
//! model only through it (the key is in no variable of the agent's), and the
//! run's spend is what the gateway metered, read from its container's log,
//! whatever the agent reports. At the budget the gateway refuses every
//! request (429) and answers the agent's liveness probe 503: the kubelet
//! ends the looping agent's container at once (its pod fails), and the next
//! watch tick escalates `over-budget` with the gateway's figures. In afk's
//! workspace, whose agent is an init container (no probe there), the
//! agent's process 1 is afk's watchdog, which ends it as soon as the
//! gateway marks the turn stopped in a volume they share.

use crate::kubernetes::{n, wait_done};
use crate::support::*;
use crate::workspace::forge_head;
use serde_json::{Value, json};

const KEY: &str = "sk-sandbox-kube-gw-7c21e0";

/// A `claude` that asks the model once, keeps its environment, and lies
/// about its cost.
const CLAUDE: &str = r#"#!/bin/sh
env > "$HOME/env"
cat > /dev/null
curl -s -o "$HOME/answer" -w '%{http_code}' \
  -H "x-api-key: $ANTHROPIC_API_KEY" -H 'anthropic-version: 2023-06-01' \
  -H 'content-type: application/json' \
  -d '{"model":"claude-sonnet-4-5","max_tokens":64,"messages":[{"role":"user","content":"- Repository: acme/api\n- Issue: #1\n"}]}' \
  "$ANTHROPIC_BASE_URL/v1/messages" > "$HOME/status"
echo '{"type":"result","subtype":"success","is_error":false,"total_cost_usd":0.0001,"result":"done"}'
"#;

fn pod(sb: &Sandbox) -> Value {
    sb.admin("GET", "/k8s/state", None)["jobs"][0]["spec"]["template"]["spec"].clone()
}

fn mounts(c: &Value) -> Vec<String> {
    c["volumeMounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap().to_string())
        .collect()
}

/// afk on the sandbox's cluster with the model gateway as the pod's
/// sidecar (the key in the Secret `model-key`), its agent `claude` the
/// script `claude` (found on PATH through the agent's own Secret, which
/// also holds `env` and a stale copy of the key the gateway overrides);
/// `extra`: more of the config, at its end.
pub(crate) fn kube_afk(sb: &Sandbox, claude: &str, extra: &str, env: &[(&str, &str)]) -> Afk {
    kube_afk_in(sb, claude, extra, env, false)
}

/// As [`kube_afk`]; `afks`: in afk's workspace (the kind's default: the
/// Job's git containers around the agent, which is an init container),
/// else `workspace = "agent"`.
pub(crate) fn kube_afk_in(
    sb: &Sandbox,
    claude: &str,
    extra: &str,
    env: &[(&str, &str)],
    afks: bool,
) -> Afk {
    let scratch = Scratch::new();
    let bin = scratch.path("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let program = bin.join("claude");
    std::fs::write(&program, claude).unwrap();
    std::fs::set_permissions(
        &program,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let token = scratch.write("k8s-token", &format!("{K8S_TOKEN}\n"));
    std::fs::set_permissions(&token, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let text = format!(
        "state_path = \"state/afk.db\"\n[forge]\n{forge}timeout = \"5s\"\nretries = 1\n\
         [runner]\nkind = \"kubernetes\"\nagent = \"claude\"\n{workspace}\
         [runner.model]\nupstream = \"{model}/model/anthropic\"\n\
         [runner.kubernetes]\napi_url = \"{url}/k8s\"\ntoken_file = \"{token}\"\nnamespace = \"afk\"\n\
         image = \"registry.example/agent:1\"\nenv_secret = \"agent-env\"\ngit_image = \"afk\"\n\
         model_secret = \"model-key\"\n{git}\
         [poll]\nenabled = true\nallowlist = [\"acme/api\"]\n{extra}",
        forge = sb.forge_keys(),
        url = sb.url,
        model = sb.model_url,
        token = token.display(),
        workspace = if afks { "" } else { "workspace = \"agent\"\n" },
        // the sandbox's cluster holds afk's forge credential as `afk-git`
        git = if afks {
            "git_secret = \"afk-git\"\n"
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
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut data = json!({"PATH": path, "ANTHROPIC_API_KEY": KEY});
    for (k, v) in env {
        data[*k] = json!(v);
    }
    sb.admin(
        "POST",
        "/k8s/secret",
        Some(json!({"name": "agent-env", "data": data})),
    );
    sb.admin(
        "POST",
        "/k8s/secret",
        Some(json!({"name": "model-key", "data": {"ANTHROPIC_API_KEY": KEY}})),
    );
    afk
}

#[test]
fn a_turn_reaches_its_model_through_the_pod_s_gateway_and_spends_the_metered_figure() {
    let script = json!([{"text": "Done.", "usage": {"input": 1200, "output": 340}}]);
    let mut issue = ready(1, "alice");
    issue["script"] = script;
    let mut seed = json!({"model_key": KEY, "repos": [repo("acme/api", json!([issue]))]});
    seed["model_key"] = json!(KEY);
    let sb = Sandbox::start(seed);
    let afk = kube_afk(&sb, CLAUDE, "", &[]);

    let (code, r, err) = afk.poll();
    assert_eq!(code, 0, "{err} {r}");
    let spec = pod(&sb);
    let gateway = &spec["initContainers"][0];
    assert_eq!(gateway["name"], "gateway", "{spec}");
    assert_eq!(gateway["restartPolicy"], "Always");
    assert_eq!(gateway["command"], json!(["afk", "workspace", "gateway"]));
    assert_eq!(mounts(gateway), ["model-key"]);
    let agent = &spec["containers"][0];
    assert_eq!(agent["name"], "agent");
    assert!(!mounts(agent).contains(&"model-key".to_string()));
    assert!(!spec.to_string().contains(KEY), "the key is in no manifest");

    wait_done(&sb, &n(&afk, "1-1"));
    let (code, r, err) = afk.watch();
    assert_eq!(code, 0, "{err} {r}");

    // the agent's pod folder: what its container ran with, and what it got
    let pods: Vec<std::path::PathBuf> = std::fs::read_dir(sb.git.join("k8s/afk"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    let home = pods
        .iter()
        .map(|p| p.join("home/agent"))
        .find(|h| h.is_dir())
        .expect("the agent's home");
    let agent_log =
        std::fs::read_to_string(afk.scratch.path("state/runs/1/agent.log")).unwrap_or_default();
    let env = std::fs::read_to_string(home.join("env"))
        .unwrap_or_else(|e| panic!("the agent's env: {e} ({pods:?}) {agent_log}"));
    assert!(!env.contains(KEY), "the key in the agent's env: {env}");
    assert!(
        env.contains("ANTHROPIC_API_KEY=afk-gateway-holds-the-key"),
        "{env}"
    );
    assert!(
        env.contains("ANTHROPIC_BASE_URL=http://127.0.0.1:"),
        "{env}"
    );
    let status = std::fs::read_to_string(home.join("status")).unwrap_or_default();
    let answer = std::fs::read_to_string(home.join("answer")).unwrap_or_default();
    assert_eq!(
        status, "200",
        "the model answered through the gateway: {answer}"
    );

    // the model saw the key on the one request, which the gateway sent
    let log = sb.admin("GET", "/model/requests", None);
    let seen = log.as_array().unwrap();
    assert_eq!(seen.len(), 1, "{log}");
    assert_eq!(seen[0]["status"], 200, "{log}");

    // the run's metered record: the gateway's line, mirrored from its log
    let metered = std::fs::read_to_string(afk.scratch.path("state/runs/1/metered.jsonl"))
        .expect("the metered record");
    let lines: Vec<Value> = metered
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 1, "{metered}");
    let line = &lines[0];
    assert_eq!(line["model"], "claude-sonnet-4-5", "{line}");
    let usd = line["micro_usd"].as_f64().expect("a priced line") / 1e6;
    assert!(usd > 0.0, "{line}");

    let (_, shown, _) = afk.json(&["runs", "show", "1"]);
    assert_eq!(shown["run"]["spend_usd"].as_f64(), Some(usd), "{shown}");
    assert_eq!(shown["run"]["reported_usd"], 0.0001, "{shown}");
}

/// A `claude` that says its pid in `$MARK.pid`, asks the gateway's health
/// port (its gateway's port less 10000) how the turn is (`$MARK.health`)
/// and for the model (`$MARK.health.model`), then asks the model again
/// and again (each status in `$MARK.<i>`, each answer in `$MARK.body.<i>`)
/// and never ends on its own: a looping agent.
const LOOPING: &str = r#"#!/bin/sh
cat > /dev/null
echo "$$" > "$MARK.pid"
hp=$((${ANTHROPIC_BASE_URL##*:} - 10000))
curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$hp/afk-turn" > "$MARK.health"
curl -s -o /dev/null -w '%{http_code}' -H 'content-type: application/json' -d '{}' \
  "http://127.0.0.1:$hp/v1/messages" > "$MARK.health.model"
i=0
while :; do
  i=$((i + 1))
  curl -s -m 30 -o "$MARK.body.$i" -w '%{http_code}' \
    -H "x-api-key: $ANTHROPIC_API_KEY" -H 'anthropic-version: 2023-06-01' \
    -H 'content-type: application/json' \
    -d '{"model":"claude-gw-test","max_tokens":64,"tools":[{"name":"Bash"}],"messages":[{"role":"user","content":"- Repository: acme/api\n- Issue: #1\n"}]}' \
    "$ANTHROPIC_BASE_URL/v1/messages" > "$MARK.$i"
  [ "$(cat "$MARK.$i")" = 200 ] || sleep 1
done
"#;

#[test]
fn at_its_budget_the_pod_s_gateway_fails_the_agent_s_liveness_probe_and_the_turn_ends_before_any_tick()
 {
    let (sb, marks, afk) = looping_turn(false);
    // the agent's container is watched by the kubelet through the gateway's
    // health port, on the pod's address, every second
    let spec = pod(&sb);
    let probe = &spec["containers"][0]["livenessProbe"];
    assert_eq!(probe["periodSeconds"], 1, "{spec}");
    assert_eq!(probe["failureThreshold"], 1, "{spec}");
    assert!(probe["httpGet"]["port"].is_u64(), "{spec}");
    assert!(
        probe["httpGet"].get("host").is_none(),
        "the pod's address: {spec}"
    );
    // no watch tick from here: the sandbox's cluster moves on as it is
    // asked, its kubelet probes on its own; the agent's container ends
    // (bounded wait on its status)
    let job = n(&afk, "1-1");
    wait_done(&sb, &job);
    let cluster = sb.admin("GET", "/k8s/state", None);
    let pod = &cluster["pods"][0];
    assert_eq!(pod["status"]["phase"], "Failed", "{cluster}");
    let ended = &pod["status"]["containerStatuses"][0]["state"]["terminated"];
    assert_eq!(ended["reason"], "Error", "killed by the kubelet: {ended}");
    // its SIGTERM, or the SIGKILL after its grace
    assert!(
        [json!(143), json!(137)].contains(&ended["exitCode"]),
        "{ended}"
    );
    assert_eq!(cluster["jobs"][0]["status"]["failed"], 1, "{cluster}");
    assert!(
        !alive(&marks),
        "the looping agent's process is gone with its container"
    );
    // the health port said the turn went on, and served no model
    let said = |f: &str| std::fs::read_to_string(marks.path(f)).unwrap_or_default();
    assert_eq!(said("asked.health"), "200");
    assert_eq!(said("asked.health.model"), "404");
    two_passed_then_refused(&sb, &marks);
    // the next watch tick reads the gateway's stop from its log and
    // escalates the run over-budget with its figures (not agent-failed)
    escalated_over_budget(&sb, &afk);
    // the Job had ended already: left to ttl_after_finished like any
    // finished turn's, no container of its running
    let cluster = sb.admin("GET", "/k8s/state", None);
    assert_eq!(cluster["jobs"][0]["status"]["active"], 0, "{cluster}");
    let statuses = &cluster["pods"][0]["status"];
    for c in ["containerStatuses", "initContainerStatuses"]
        .iter()
        .flat_map(|k| statuses[*k].as_array().unwrap())
    {
        assert!(c["state"]["terminated"].is_object(), "{c}");
    }
}

/// The next watch tick reads the gateway's stop from its log and escalates
/// the run `over-budget` with its figures ($0.0090 spent of $0.0050), not
/// `agent-failed`.
fn escalated_over_budget(sb: &Sandbox, afk: &Afk) {
    let (_, r, err) = afk.watch();
    assert_eq!(
        action_of(&r, 1),
        ("escalate".into(), Some("over-budget".into())),
        "{r} {err}"
    );
    let stop = std::fs::read_to_string(afk.scratch.path("state/runs/1/budget-stop.json"))
        .expect("the gateway's stop, mirrored from its log");
    let stop: Value = serde_json::from_str(&stop).unwrap();
    assert_eq!(stop["limit"], "run_usd", "{stop}");
    assert_eq!(stop["spend_usd"], 0.009, "{stop}");
    let esc = sb.admin("GET", "/state", None)["repos"][0]["comments"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["body"].as_str())
        .find(|c| c.contains("afk:escalation"))
        .map(str::to_string)
        .expect("the escalation comment");
    assert!(
        esc.contains("`over-budget`")
            && esc.contains("budget.run_usd")
            && esc.contains("$0.0050")
            && esc.contains("$0.0090"),
        "{esc}"
    );
}

/// What the looping agent was answered: two requests passed; every later
/// one was refused with a 429 naming the budget (the last one may have
/// been cut by the stop), and nothing reached the model after the stop.
fn two_passed_then_refused(sb: &Sandbox, marks: &Scratch) {
    let asked = |i: u32| std::fs::read_to_string(marks.path(&format!("asked.{i}"))).ok();
    assert_eq!(asked(1).as_deref(), Some("200"));
    assert_eq!(asked(2).as_deref(), Some("200"));
    assert_eq!(asked(3).as_deref(), Some("429"));
    let later: Vec<String> = (4..).map_while(asked).filter(|s| !s.is_empty()).collect();
    assert!(later.iter().all(|s| s == "429"), "{later:?}");
    let body = std::fs::read_to_string(marks.path("asked.body.3")).unwrap_or_default();
    assert!(body.contains("budget.run_usd"), "{body}");
    assert_eq!(
        sb.admin("GET", "/model/requests", None)
            .as_array()
            .unwrap()
            .len(),
        2,
        "nothing reached the model after the stop"
    );
}

/// Whether the process `pid` (a pid the agent wrote in `$MARK.pid`) is
/// still there, a zombie not counted.
fn alive(marks: &Scratch) -> bool {
    let pid: i32 = std::fs::read_to_string(marks.path("asked.pid"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    !stat.is_empty() && !stat.contains(") Z ")
}

/// The looping agent's turn at a budget of $0.005 a run, two answers of
/// $0.0045 passing: the sandbox, the scratch folder its marks go to, and
/// afk (`afks`: in afk's workspace) after the poll that started the turn.
/// acme/api#1 armed, its model answering `usage` each time, and a folder
/// the pod's user writes its marks in (its `asked` mark's path).
fn marked_sandbox(usage: Value) -> (Sandbox, Scratch, String) {
    let mut issue = ready(1, "alice");
    issue["script"] = json!([{"text": "Done.", "usage": usage}]);
    let sb = Sandbox::start(json!({"model_key": KEY, "repos": [repo("acme/api", json!([issue]))]}));
    let marks = Scratch::new();
    std::fs::set_permissions(
        &marks.dir,
        std::os::unix::fs::PermissionsExt::from_mode(0o777),
    )
    .unwrap();
    let mark_s = marks.path("asked").display().to_string();
    (sb, marks, mark_s)
}

fn looping_turn(afks: bool) -> (Sandbox, Scratch, Afk) {
    // each answer is 1000 input and 100 output tokens at $3 and $15 a
    // million: $0.0045; the run may spend $0.005, so two pass
    let (sb, marks, mark_s) = marked_sandbox(json!({"input": 1000, "output": 100}));
    let prices = "[runner.prices.models.\"claude-gw-test\"]\ninput = 3.0\ncached_input = 0.3\ncache_write = 3.75\noutput = 15.0\n\
                  [budget]\npause_for = \"0s\"\nrun_usd = 0.005\n";
    let afk = kube_afk_in(&sb, LOOPING, prices, &[("MARK", &mark_s)], afks);
    let (code, r, err) = afk.poll();
    assert_eq!(code, 0, "{err} {r}");
    (sb, marks, afk)
}

#[test]
fn in_afk_s_workspace_at_its_budget_the_agent_s_watchdog_ends_the_turn_before_any_tick() {
    let (sb, marks, afk) = looping_turn(true);
    // the agent is an init container (no probe there): its process 1 is
    // afk's watchdog, which reads the gateway's stop from a volume only
    // the gateway writes (the agent's mount of it is read-only)
    let spec = pod(&sb);
    let inits = spec["initContainers"].as_array().unwrap();
    let agent = inits
        .iter()
        .find(|c| c["name"] == "agent")
        .unwrap_or_else(|| panic!("{spec}"));
    let gateway = inits
        .iter()
        .find(|c| c["name"] == "gateway")
        .unwrap_or_else(|| panic!("{spec}"));
    assert!(agent.get("livenessProbe").is_none(), "{agent}");
    assert_eq!(agent["command"][0], "/bin/sh", "{agent}");
    let turn = |c: &Value| {
        c["volumeMounts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["name"] == "turn")
            .cloned()
            .unwrap_or_else(|| panic!("{c}"))
    };
    assert_eq!(turn(agent)["readOnly"], true, "{agent}");
    assert_ne!(turn(gateway)["readOnly"], true, "{gateway}");
    assert_eq!(spec["containers"][0]["name"], "forward", "{spec}");
    // no watch tick from here: the sandbox's cluster moves on as it is
    // asked; the pod fails once the watchdog ended the agent (bounded
    // wait on its phase and its Job's)
    let job = n(&afk, "1-1");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(90);
    let cluster = loop {
        let c = sb.admin("GET", "/k8s/state", None);
        // the pod's phase, and the Job's count of it (the Job's status
        // follows its pod's)
        if c["pods"][0]["status"]["phase"] == "Failed" && c["jobs"][0]["status"]["failed"] == 1 {
            break c;
        }
        assert!(std::time::Instant::now() < deadline, "{job}: {c}");
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    let status = &cluster["pods"][0]["status"];
    let ended = status["initContainerStatuses"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "agent")
        .map(|c| c["state"]["terminated"].clone())
        .unwrap();
    assert_eq!(
        ended["reason"], "Error",
        "the watchdog failed it: {cluster}"
    );
    assert_ne!(ended["exitCode"], 0, "{ended}");
    assert!(
        status["containerStatuses"][0]["state"]["waiting"].is_object(),
        "nothing of a stopped turn is forwarded: {cluster}"
    );
    assert_eq!(cluster["jobs"][0]["status"]["failed"], 1, "{cluster}");
    assert!(
        !alive(&marks),
        "the looping agent's process is gone with its container"
    );
    two_passed_then_refused(&sb, &marks);
    escalated_over_budget(&sb, &afk);
    assert_eq!(forge_head(&sb, "afk/issue-1"), None, "nothing pushed");
}

/// A `claude` in afk's workspace that asks the model once, leaves a
/// change in its checkout, says how many arguments it was given and the
/// last of them in `$MARK.argv`, and fails with status 3.
const WORKING: &str = r#"#!/bin/sh
cat > /dev/null
curl -s -o /dev/null -w '%{http_code}' \
  -H "x-api-key: $ANTHROPIC_API_KEY" -H 'anthropic-version: 2023-06-01' \
  -H 'content-type: application/json' \
  -d '{"model":"claude-gw-test","max_tokens":64,"messages":[{"role":"user","content":"- Repository: acme/api\n- Issue: #1\n"}]}' \
  "$ANTHROPIC_BASE_URL/v1/messages" > "$MARK.asked"
echo "the agent's work" > work.txt
for a in "$@"; do last=$a; done
printf '%s %s' "$#" "$last" > "$MARK.argv"
exit 3
"#;

#[test]
fn in_afk_s_workspace_the_watchdog_passes_the_agent_s_argv_status_and_work_through_unchanged() {
    let (sb, marks, mark_s) = marked_sandbox(json!({"input": 10, "output": 10}));
    let prices = "[runner.prices.models.\"claude-gw-test\"]\ninput = 3.0\ncached_input = 0.3\ncache_write = 3.75\noutput = 15.0\n";
    let afk = kube_afk_in(&sb, WORKING, prices, &[("MARK", &mark_s)], true);
    let (code, r, err) = afk.poll();
    assert_eq!(code, 0, "{err} {r}");
    let spec = pod(&sb);
    let agent = spec["initContainers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "agent")
        .cloned()
        .unwrap();
    assert!(
        agent["command"][2]
            .as_str()
            .unwrap()
            .contains("AFK_TURN_STOP_MARK"),
        "under the watchdog: {agent}"
    );
    // the forwarding container ends the pod (bounded wait)
    wait_done(&sb, &n(&afk, "1-1"));
    let said = |f: &str| std::fs::read_to_string(marks.path(f)).unwrap_or_default();
    assert_eq!(said("asked.asked"), "200", "the model answered");
    // the agent's argv reached it whole: afk's `sh -c` line for `claude`
    // (quotes, `${...}` and `"$@"` in it) ran as it does without the
    // watchdog, and gave `claude` its five arguments
    assert_eq!(said("asked.argv"), "5 --dangerously-skip-permissions");
    let cluster = sb.admin("GET", "/k8s/state", None);
    let status = &cluster["pods"][0]["status"];
    let ended = |list: &str, name: &str| {
        status[list]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .map(|c| c["state"]["terminated"].clone())
            .unwrap_or_else(|| panic!("{cluster}"))
    };
    // the watchdog ended well, the agent's 3 kept for the forwarding
    // container, which exits with it
    assert_eq!(
        ended("initContainerStatuses", "agent")["exitCode"],
        0,
        "{cluster}"
    );
    let forward = ended("containerStatuses", "forward");
    assert_eq!(forward["exitCode"], 3, "the agent's status: {forward}");
    assert!(
        forward["message"]
            .as_str()
            .is_some_and(|m| m.contains("\"pushed\"")),
        "{forward}"
    );
    assert!(
        forge_head(&sb, "afk/issue-1").is_some(),
        "its work forwarded"
    );
}
