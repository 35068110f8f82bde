//! afk's workspace inside the turn's Kubernetes Job
//! (docs/kubernetes.md#3-the-agents-image-and-the-git-around-it), against the
//! sandbox's cluster (init containers in order, volumes as folders, termination
//! messages): the checkout container makes the agent's checkout, the agent runs
//! in it with no forge credential mounted or in its environment, the forward
//! container pushes only afk/issue-<N> (a failing agent's work too), and the
//! next watch tick opens afk's own PR.

use crate::kubernetes::{n, setup_in, wait_done};
use crate::support::*;
use crate::workspace::{files_holding, forge_head, forge_refs};
use serde_json::json;
use std::path::PathBuf;

/// The agent: says where it is, keeps its environment in its home, commits, pushes to `main`
/// and a tag in its local push repository, leaves a change uncommitted and
/// exits failing.
const AGENT: &str = "set -u; \
    echo \"where: $(pwd) on $(git rev-parse --abbrev-ref HEAD)\"; \
    env > \"$HOME/env\"; \
    echo \"work of turn $AFK_TURN\" >> work.txt; \
    git add -A && git commit -qm \"agent: turn $AFK_TURN\"; \
    git push -q origin HEAD:main HEAD:refs/tags/evil \"HEAD:$AFK_BRANCH\" && echo pushed-locally; \
    printf \"#!/bin/sh\\ntouch $HOME/pwned\\n\" > .git/hooks/pre-commit; chmod +x .git/hooks/pre-commit; \
    git config credential.helper \"!touch $HOME/pwned\"; \
    echo left > left.txt; \
    exit 3";

/// The pod folders of the sandbox's cluster.
fn pod_dirs(sb: &Sandbox) -> Vec<PathBuf> {
    std::fs::read_dir(sb.git.join("k8s/afk"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .collect()
}

fn pod_spec(sb: &Sandbox) -> serde_json::Value {
    sb.admin("GET", "/k8s/state", None)["jobs"][0]["spec"]["template"]["spec"].clone()
}

fn log(afk: &Afk) -> String {
    std::fs::read_to_string(afk.scratch.path("state/runs/1/agent.log")).unwrap_or_default()
}

fn mounts(c: &serde_json::Value) -> Vec<String> {
    c["volumeMounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn a_job_makes_the_checkout_runs_the_agent_without_the_credential_and_forwards_its_work() {
    let (sb, afk) = setup_in(1, AGENT, "", true);
    let main_before = forge_head(&sb, "main").unwrap();
    let (code, _, err) = afk.poll();
    assert_eq!(code, 0, "{err}");
    let spec = pod_spec(&sb);
    // checkout, then the agent, then forwarding; the credential is the git side's
    let agent = &spec["initContainers"][1];
    assert_eq!(spec["initContainers"][0]["name"], "checkout");
    assert_eq!(agent["name"], "agent");
    assert_eq!(spec["containers"][0]["name"], "forward");
    assert_eq!(mounts(agent), ["prompt", "work"]);
    assert_eq!(agent["envFrom"][0]["secretRef"]["name"], "agent-creds");
    for git in [&spec["initContainers"][0], &spec["containers"][0]] {
        assert!(mounts(git).contains(&"git-secret".to_string()));
        assert_eq!(git["command"], json!(["afk", "workspace", git["name"]]));
    }
    wait_done(&sb, &n(&afk, "1-1"));
    let (code, r, err) = afk.watch();
    assert_eq!(code, 0, "{err} {r}");
    let log = log(&afk);
    assert!(
        log.contains("on afk/issue-1"),
        "a checkout on its branch: {log}"
    );
    assert!(log.contains("/work on"), "{log}");
    assert!(log.contains("pushed-locally"), "its own push works: {log}");
    // the agent's commit and afk's commit of what it left, on the forge
    let head = forge_head(&sb, "afk/issue-1").expect("forwarded");
    let repo = sb.git.join("acme/api.git");
    let files = git(&repo, &["ls-tree", "-r", "--name-only", &head]);
    assert!(
        files.contains("work.txt") && files.contains("left.txt"),
        "{files}"
    );
    let subjects = git(
        &repo,
        &["log", "--format=%s", &format!("{main_before}..{head}")],
    );
    assert_eq!(
        subjects.lines().collect::<Vec<_>>(),
        ["Uncommitted changes left by turn 1", "agent: turn 1"]
    );
    // never main, never a tag; nothing of the agent's config or hooks ran
    assert_eq!(forge_head(&sb, "main").unwrap(), main_before);
    assert!(!forge_refs(&sb).contains("refs/tags/evil"));
    for d in pod_dirs(&sb) {
        // each container's home is its own folder of the pod's
        assert!(d.join("home/agent").is_dir(), "{}", d.display());
        assert!(
            !d.join("home/agent/pwned").exists() && !d.join("home/forward/pwned").exists(),
            "afk's git ran the agent's command"
        );
        // the agent's environment holds no forge credential (kept in a file:
        // the token in the agent's own command would be redacted out of the Job)
        let env = std::fs::read_to_string(d.join("home/agent/env")).expect("the agent's env");
        assert!(env.contains("AFK_BRANCH=afk/issue-1"), "{env}");
        assert!(!env.contains(TOKEN), "{env}");
        // the credential is in the git side's mount alone, never in the checkout's volume
        assert_eq!(
            files_holding(&d.join("volumes/work"), TOKEN),
            Vec::<PathBuf>::new()
        );
    }
    // the failing agent's work is forwarded; afk's account opens the PR
    let pulls = sb.api(&sb.dialect.prs_path("acme/api", Listed::Open)).1;
    assert_eq!(pulls.as_array().unwrap().len(), 1, "{pulls}");
    assert_eq!(pulls[0]["user"]["login"], "afk-bot");
    assert_eq!(pulls[0]["head"]["sha"], head.as_str());
    // a second tick opens nothing more
    afk.watch();
    let all = sb.api(&sb.dialect.prs_path("acme/api", Listed::All)).1;
    assert_eq!(all.as_array().unwrap().len(), 1, "{all}");
    // the Job's own push is journaled once, by the tick that read its record
    let pushes = afk.sql_rows("SELECT body FROM journal WHERE kind = 'git.push'");
    assert_eq!(pushes.len(), 1, "{pushes:?}");
    let push: serde_json::Value = serde_json::from_str(&pushes[0][0]).unwrap();
    assert_eq!(push["by"], "job", "{push}");
    assert_eq!(push["head"], head.as_str(), "{push}");
    assert_eq!(push["gate"], "passed", "{push}");
}

#[test]
fn a_checkout_that_fails_stops_the_pod_before_the_agent_and_escalates_with_its_reason() {
    let (sb, afk) = setup_in(1, "touch \"$HOME/agent-ran\"", "", true);
    // the credential without its token key: the checkout container cannot start the work
    sb.admin(
        "POST",
        "/k8s/secret",
        Some(json!({"name": "afk-git", "data": {"username": "afk-bot"}})),
    );
    assert_eq!(afk.poll().0, 0);
    wait_failed(&sb, &n(&afk, "1-1"));
    let (code, r, err) = afk.watch();
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        action_of(&r, 1),
        ("escalate".to_string(), Some("agent-failed".to_string())),
        "{r}"
    );
    let st = sb.admin("GET", "/state", None);
    let said = st["repos"][0]["comments"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["body"].as_str())
        .find(|b| b.starts_with("<!-- afk:escalation run=1 -->"))
        .unwrap_or_else(|| panic!("no escalation: {st}"));
    assert!(
        said.contains("the checkout failed") && said.contains("token"),
        "{said}"
    );
    for d in pod_dirs(&sb) {
        assert!(d.join("home/checkout").is_dir(), "{}", d.display());
        assert!(!d.join("home/agent/agent-ran").exists(), "the agent ran");
    }
    assert_eq!(forge_head(&sb, "afk/issue-1"), None);
}

/// Wait (bounded) until the Job's pod has failed.
fn wait_failed(sb: &Sandbox, job: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let c = sb.admin("GET", "/k8s/state", None);
        let failed = c["pods"].as_array().unwrap().iter().any(|p| {
            p["metadata"]["labels"]["job-name"] == job && p["status"]["phase"] == "Failed"
        });
        if failed {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{job} did not fail: {c}"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

#[test]
fn a_corrective_turn_is_a_new_job_whose_checkout_starts_from_the_forge_s_head() {
    let agent = "git log --format=%s | head -n 3 | sed \"s/^/history: /\"; \
        echo \"work of turn $AFK_TURN\" >> work.txt; git add -A; git commit -qm \"agent: turn $AFK_TURN\"";
    let (sb, afk) = setup_in(1, agent, "fix_forward_max = 2", true);
    assert_eq!(afk.poll().0, 0);
    wait_done(&sb, &n(&afk, "1-1"));
    let (code, r, err) = afk.watch();
    assert_eq!(code, 0, "{err} {r}");
    // a person pushes to the branch, then CI is red
    sb.commit_as(
        "acme/api",
        "afk/issue-1",
        "alice",
        &[("by-alice.txt", "hi")],
        "alice's fix",
    );
    sb.status("acme/api", "afk/issue-1", "ci/build", "failure");
    let (code, r, err) = afk.watch();
    assert_eq!(code, 0, "{err} {r}");
    assert_eq!(action_of(&r, 1).0, "corrective_turn", "{r}");
    wait_done(&sb, &n(&afk, "1-2"));
    let (code, r, err) = afk.watch();
    assert_eq!(code, 0, "{err} {r}");
    let log = log(&afk);
    assert!(
        log.contains("history: alice's fix\n") && log.contains("history: agent: turn 1"),
        "turn 2's checkout is the forge's head: {log}"
    );
    let head = forge_head(&sb, "afk/issue-1").unwrap();
    let repo = sb.git.join("acme/api.git");
    assert_eq!(
        git(&repo, &["log", "-1", "--format=%s", &head]),
        "agent: turn 2"
    );
    let all = sb.api(&sb.dialect.prs_path("acme/api", Listed::All)).1;
    assert_eq!(all.as_array().unwrap().len(), 1, "one PR: {all}");
}

/// Issue 47: the sandbox's cluster runs each container as its spec's user
/// (when it runs as root, as CI does) and mounts Secrets and ConfigMaps as the
/// kubelet does (keys as links through `..data`: a git container that read
/// them with `O_NOFOLLOW` started no turn on a cluster, hardening item 8a), so
/// the pod afk sends is tried as a cluster runs it; doctor checks that pod
/// against the kubelet's rule.
#[test]
fn containers_run_as_their_specs_user_and_doctor_checks_the_pod_afk_will_send() {
    let (sb, afk) = setup_in(1, "echo \"uid=$(id -u) groups=$(id -G)\"", "", true);
    let (_, r, err) = afk.json(&["doctor"]);
    let runner = r["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["check"] == "runner")
        .cloned()
        .unwrap_or_else(|| panic!("{r} {err}"));
    let detail = runner.to_string();
    assert!(
        detail.contains("pod spec: the git containers (checkout, forward) can read"),
        "{detail}"
    );
    assert_eq!(afk.poll().0, 0);
    wait_done(&sb, &n(&afk, "1-1"));
    afk.watch();
    // the Secret and the prompt are mounted as the kubelet's atomic writer
    // writes them: each key a link through ..data to a folder beside it, so
    // the git containers read afk's credential through those links
    for d in pod_dirs(&sb) {
        for (vol, key) in [("git-secret", "username"), ("prompt", "prompt.md")] {
            let v = d.join("volumes").join(vol);
            let link = std::fs::read_link(v.join(key)).unwrap();
            assert_eq!(link, PathBuf::from(format!("..data/{key}")), "{vol}");
            let data = std::fs::read_link(v.join("..data")).unwrap();
            assert!(data.to_string_lossy().starts_with(".."), "{data:?}");
            assert!(v.join(&data).join(key).is_file(), "{vol}");
        }
    }
    let state = sb.admin("GET", "/k8s/state", None);
    let checkout = &state["pods"][0]["status"]["initContainerStatuses"][0];
    assert_eq!(
        checkout["state"]["terminated"]["exitCode"], 0,
        "the checkout read the credential through the links: {checkout}"
    );
    let root = unsafe { libc::geteuid() } == 0;
    if root {
        let l = log(&afk);
        assert!(
            l.contains("uid=1000 groups=0 1000"),
            "the agent ran as the pod's user: {l}"
        );
    }
}

/// The change gate on Kubernetes: the Job's forwarding container applies
/// `[gate]`: a turn that edits CI pushes nothing, its reasons reach the tick,
/// which gives the one `gate` turn (a new Job, from the branch as the forge
/// has it); that turn's benign work is forwarded and afk opens the PR.
#[test]
fn the_forwarding_container_applies_the_gate_and_the_tick_gives_the_gate_turn() {
    let agent = "set -u; \
        if [ \"$AFK_TURN\" = 1 ]; then mkdir -p .github/workflows deploy; echo \"on: push\" > .github/workflows/ci.yml; echo x > deploy/prod.yml; \
        else printf \"version = 3\\n\\n[[package]]\\nname = \\\"bytes\\\"\\nversion = \\\"1.5.0\\\"\\nsource = \\\"registry+https://github.com/rust-lang/crates.io-index\\\"\\n\" > Cargo.lock; fi; \
        echo \"work of turn $AFK_TURN\" >> work.txt; \
        git add -A && git commit -qm \"agent: turn $AFK_TURN\"";
    let (sb, afk) = setup_in(1, agent, "[gate]\nprotected = [\"deploy/**\"]\n", true);
    let (code, _, err) = afk.poll();
    assert_eq!(code, 0, "{err}");
    let gate = pod_spec(&sb)["containers"][0]["env"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == "AFK_GATE")
        .map(|v| v["value"].as_str().unwrap().to_string());
    assert!(
        gate.is_some_and(|g| g.contains("deploy/**")),
        "[gate] reaches the forwarding container"
    );
    wait_done(&sb, &n(&afk, "1-1"));
    let (code, r, err) = afk.watch();
    assert_eq!(code, 0, "{err} {r}");
    assert_eq!(
        action_of(&r, 1),
        ("corrective_turn".into(), Some("gate".into())),
        "{r} {err}"
    );
    assert_eq!(forge_head(&sb, "afk/issue-1"), None, "nothing pushed");
    let prompt = std::fs::read_to_string(afk.scratch.path("state/runs/1/prompt-2.md")).unwrap();
    assert!(prompt.contains(".github/workflows/ci.yml"), "{prompt}");
    assert!(prompt.contains("deploy/prod.yml"), "{prompt}");
    assert!(!prompt.contains("on: push"), "no content quoted: {prompt}");
    wait_done(&sb, &n(&afk, "1-2"));
    let (code, r, err) = afk.watch();
    assert_eq!(code, 0, "{err} {r}");
    let head = forge_head(&sb, "afk/issue-1").expect("the gate turn's work forwarded");
    let files = git(
        &sb.git.join("acme/api.git"),
        &["ls-tree", "-r", "--name-only", &head],
    );
    assert!(
        files.contains("work.txt") && files.contains("Cargo.lock"),
        "{files}"
    );
    assert!(
        !files.contains(".github/workflows/ci.yml") && !files.contains("deploy/"),
        "{files}"
    );
    // the dependency list the forwarding container made, on afk's PR
    let pulls = sb.api(&sb.dialect.prs_path("acme/api", Listed::Open)).1;
    let body = pulls[0]["body"].as_str().unwrap_or_default();
    assert!(
        body.contains("### Dependencies") && body.contains("`bytes` `1.5.0`"),
        "{body}"
    );
}
