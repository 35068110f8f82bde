//! The real Claude Code and Codex (pinned in `agents/package.json`) on work
//! armed in Linear or Jira beside the forge (docs/trackers.md): a trusted
//! person arms a tracker's issue, the real program works on it in afk's
//! checkout against the sandbox's scripted model, its commit reaches the
//! forge as afk's PR named by the issue's key, and on merge the tracker's
//! issue is done; the tracker's credential is in no agent's reach. Each
//! program with more than one model, and the ways a turn ends on this path:
//! the agent's own word (blocked), its own money limit, the model gateway
//! stopping it at the run's, time (a model that hangs, the agent stopped
//! by watch) and a kill from the tracker (afk's label taken off).

use crate::real_agents::{agent_log, assert_stopped, pick_model, setup_with};
use crate::support::*;
use crate::tracker_linear::{People, arm, issue, linear_issue, people, tracker_block};
use serde_json::{Value, json};

/// The scripted model's requests for the tracker's issue `key`: each names
/// the model it asked for.
fn models_asked(sb: &Sandbox, key: &str) -> Vec<String> {
    let n = afk::sandbox::model_api::tracker_key_number(key);
    (sb.admin("GET", "/model/requests", None)
        .as_array()
        .unwrap()
        .iter())
    .filter(|e| e["issue"].as_u64() == Some(n))
    .map(|e| e["model"].as_str().unwrap_or("").to_string())
    .collect()
}

/// A Linear world for the real `agent` with `extra` config: the sandbox,
/// afk, the people, and afk's Linear key; None when skipped.
fn linear_world(agent: &str, extra: &str) -> Option<(Sandbox, Afk, People, String)> {
    let seed = json!({"repos": [repo("acme/api", json!([]))]});
    let (sb, mut afk) = setup_with(agent, seed, extra)?;
    let p = people(&sb);
    let text = std::fs::read_to_string(&afk.config).unwrap();
    std::fs::write(&afk.config, text + &tracker_block(&sb)).unwrap();
    let creds = sb.admin("GET", "/linear/credentials", None);
    let secret = creds["key"].as_str().unwrap().to_string();
    afk.env.push(("AFK_TRACKER_TOKEN".into(), secret.clone()));
    Some((sb, afk, p, secret))
}

fn linear_lifecycle(agent: &str) {
    let Some((sb, afk, p, secret)) = linear_world(agent, "") else {
        return;
    };
    let key = issue(&sb, Some(&p.alice), &[]);
    arm(&sb, &key, Some(&p.alice));
    let (code, r, err) = afk.poll();
    assert_eq!(code, 0, "{err} {r}");
    assert_eq!(r["dispatched"][0]["run_id"], 1, "{r} {err}");
    assert_eq!(afk.wait_agent(1), 0, "{}", agent_log(&afk));
    let (code, r, err) = afk.watch();
    assert_eq!(code, 0, "{err} {r}\n{}", agent_log(&afk));
    let prs = sb.open_prs("acme/api");
    assert_eq!(prs.len(), 1, "{r}\n{}", agent_log(&afk));
    let branch = format!("afk/issue-{}", key.to_lowercase());
    assert_eq!(prs[0].head, branch);
    assert!(
        prs[0].body.starts_with(&format!("Tracker: {key} ")),
        "{}",
        prs[0].body
    );
    // the agent's own commit, made with the key it was given as AFK_ISSUE
    let log = git(
        &sb.git.join("acme/api.git"),
        &["log", "--format=%s", &format!("main..refs/heads/{branch}")],
    );
    assert_eq!(log, format!("Work on #{key} (turn 1)"));
    assert!(
        !agent_log(&afk).contains(&secret),
        "the tracker's key reached the agent"
    );
    sb.status("acme/api", &branch, "ci/build", "success");
    sb.merge("acme/api", prs[0].number);
    let (code, r, err) = afk.watch();
    assert_eq!(code, 0, "{err} {r}");
    assert_eq!(action_of(&r, 1).0, "succeed", "{r}");
    assert_eq!(linear_issue(&sb, &key)["state"]["type"], "completed");
}

#[test]
fn claude_code_works_a_linear_issue_to_done() {
    linear_lifecycle("claude");
}

#[test]
fn codex_works_a_linear_issue_to_done() {
    linear_lifecycle("codex");
}

/// A Jira world for the real `agent` with `extra` config: the sandbox, afk,
/// and a PLAT issue alice armed (its id); its key is `PLAT-1`.
fn jira_world(agent: &str, extra: &str) -> Option<(Sandbox, Afk, String, String)> {
    let seed = json!({"repos": [repo("acme/api", json!([]))]});
    let (sb, mut afk) = setup_with(agent, seed, extra)?;
    let (block, token) = crate::tracker_jira::jira_people_and_block(&sb);
    let text = std::fs::read_to_string(&afk.config).unwrap();
    std::fs::write(&afk.config, text + &block).unwrap();
    afk.env.push(("AFK_TRACKER_TOKEN".into(), token.clone()));
    let id = crate::tracker_jira::issue(&sb, "alice-1", &[]);
    crate::tracker_jira::arm(&sb, &id, "alice-1", Value::Null);
    Some((sb, afk, id, token))
}

/// The real `agent` with `model` on a Jira issue, to Done: its PR names the
/// key, every model request of the turn asked for `model`, the merge makes
/// the issue Done in Jira, and the Jira token is nowhere in the agent's log.
fn jira_lifecycle(agent: &str, model: &str) {
    let Some((sb, mut afk, id, token)) = jira_world(agent, "") else {
        return;
    };
    pick_model(&mut afk, agent, model);
    let (code, r, err) = afk.poll();
    assert_eq!(code, 0, "{err} {r}");
    assert_eq!(r["dispatched"][0]["run_id"], 1, "{r} {err}");
    assert_eq!(afk.wait_agent(1), 0, "{}", agent_log(&afk));
    let asked = models_asked(&sb, "PLAT-1");
    assert!(asked.len() >= 2, "the script's steps were asked: {asked:?}");
    assert!(
        asked.iter().all(|m| m.starts_with(model)),
        "{model}: {asked:?}"
    );
    let (code, r, err) = afk.watch();
    assert_eq!(code, 0, "{err} {r}\n{}", agent_log(&afk));
    let prs = sb.open_prs("acme/api");
    assert_eq!(prs.len(), 1, "{r}\n{}", agent_log(&afk));
    assert_eq!(prs[0].head, "afk/issue-plat-1");
    assert!(
        prs[0].body.starts_with("Tracker: PLAT-1 "),
        "{}",
        prs[0].body
    );
    assert!(
        !agent_log(&afk).contains(&token),
        "the Jira token reached the agent"
    );
    sb.status("acme/api", "afk/issue-plat-1", "ci/build", "success");
    sb.merge("acme/api", prs[0].number);
    let (code, r, err) = afk.watch();
    assert_eq!(code, 0, "{err} {r}");
    let n: u64 = id.parse().unwrap();
    assert_eq!(action_of(&r, n).0, "succeed", "{r}");
    assert_eq!(
        crate::tracker_jira::jira_issue(&sb, &id)["fields"]["status"]["statusCategory"]["key"],
        "done"
    );
}

#[test]
fn claude_code_with_opus_5_5_works_a_jira_issue_to_done() {
    jira_lifecycle("claude", "claude-opus-5-5");
}

#[test]
fn codex_with_a_codex_family_model_works_a_jira_issue_to_done() {
    jira_lifecycle("codex", "gpt-5-codex");
}

/// The turn ends by the agent's own word: Codex (its default model)
/// reports blocked on a Jira issue through its progress file, and
/// the run escalates there: afk's labels switched, its question in the
/// escalation only inside a code block.
#[test]
fn codex_blocked_on_a_jira_issue_escalates_it_in_jira() {
    let Some((sb, afk, id, _)) = jira_world("codex", "") else {
        return;
    };
    let steps = json!([
        {"shell": "printf '%s\\n' '{\"status\":\"blocked\",\"reason\":\"which database?\",\"questions\":[\"@alice PostgreSQL or SQLite?\"]}' >> \"$AFK_PROGRESS_FILE\""},
        {"text": "I am blocked: which database?"}
    ]);
    sb.admin(
        "POST",
        "/script",
        Some(json!({"repo": "acme/api", "issue": "PLAT-1", "steps": steps})),
    );
    assert_eq!(afk.poll().0, 0);
    assert_eq!(afk.wait_agent(1), 0, "{}", agent_log(&afk));
    let (_, r, err) = afk.watch();
    let n: u64 = id.parse().unwrap();
    assert_eq!(
        action_of(&r, n),
        ("escalate".into(), Some("blocked".into())),
        "{r} {err}\n{}",
        agent_log(&afk)
    );
    let issue = crate::tracker_jira::jira_issue(&sb, &id);
    let labels = crate::tracker_jira::jira_labels(&sb, &id);
    assert!(
        labels.contains(&"ready-for-human".to_string()),
        "{labels:?}"
    );
    let comments = issue["comments"].to_string();
    assert!(comments.contains("PostgreSQL or SQLite?"), "{comments}");
    // the question's @-name only in a codeBlock, never a text node of its own
    for c in issue["comments"].as_array().unwrap() {
        for node in c["body"]["content"].as_array().into_iter().flatten() {
            if node["type"] != "codeBlock" {
                assert!(!node.to_string().contains("@alice"), "{node}");
            }
        }
    }
}

/// The turn ends at a money limit, on a Linear issue: the real Claude Code
/// stops itself at its `--max-budget-usd` (what is left of `run_usd`), and
/// with `pause_for = "0s"` the run escalates over budget in Linear.
#[test]
fn claude_at_its_money_limit_on_a_linear_issue_escalates_over_budget() {
    let extra = "[budget]\npause_for = \"0s\"\nrun_usd = 1.0\n";
    let Some((sb, mut afk, p, _)) = linear_world("claude", extra) else {
        return;
    };
    pick_model(&mut afk, "claude", "claude-sonnet-4-5");
    let key = issue(&sb, Some(&p.alice), &[]);
    // an agent that goes round in circles: every answer reports 2M input tokens
    let steps = json!([{"shell": "true", "usage": {"input": 2000000, "output": 10, "cached": 0}}]);
    sb.admin(
        "POST",
        "/script",
        Some(json!({"repo": "acme/api", "issue": key, "steps": steps})),
    );
    arm(&sb, &key, Some(&p.alice));
    assert_eq!(afk.poll().0, 0);
    afk.wait_agent(1);
    assert!(
        agent_log(&afk).contains("\"subtype\":\"error_max_budget_usd\""),
        "Claude stopped itself: {}",
        agent_log(&afk)
    );
    let (_, r, err) = afk.watch();
    assert_eq!(
        action_of(&r, 1),
        ("escalate".into(), Some("over-budget".into())),
        "{r} {err}"
    );
    let labels = linear_issue(&sb, &key)["labels"].to_string();
    assert!(labels.contains("ready-for-human"), "{labels}");
}

/// The turn ends by time: a model that hangs leaves Codex stalled on a
/// Jira issue; watch, hours later, stops the agent and escalates the run
/// as stalled, in Jira by its labels.
#[test]
fn codex_stalled_on_a_jira_issue_is_stopped_and_escalated() {
    let Some((sb, afk, id, _)) = jira_world("codex", "") else {
        return;
    };
    sb.admin(
        "POST",
        "/script",
        Some(json!({"repo": "acme/api", "issue": "PLAT-1", "steps": [{"hang": true}]})),
    );
    let (code, r, err) = afk.poll();
    assert_eq!(code, 0, "{err} {r}");
    let n: u64 = id.parse().unwrap();
    let (_, r, _) = afk.watch();
    assert_eq!(action_of(&r, n).1.as_deref(), Some("agent-running"), "{r}");
    afk.later(4);
    let (_, r, err) = afk.watch();
    assert_eq!(
        action_of(&r, n),
        ("escalate".into(), Some("stalled".into())),
        "{r} {err}"
    );
    assert_stopped(afk.agent_pid(1));
    let labels = crate::tracker_jira::jira_labels(&sb, &id);
    assert!(
        labels.contains(&"ready-for-human".to_string()),
        "{labels:?}"
    );
}

/// `ready = "delegate"` with the real Claude Code: a team member delegates
/// a Linear issue to afk's app user; `afk hook` posts the session's first
/// thought and dispatches the real program from the delivery; its PR
/// merged, the session's last activity is afk's response naming the PR
/// and the issue is done.
#[test]
fn claude_code_works_a_linear_issue_delegated_to_afk() {
    use crate::tracker_linear_agents::{activities, created, delegate, to_delegation};
    let Some((sb, mut afk, p, _)) = linear_world("claude", "") else {
        return;
    };
    to_delegation(&sb, &mut afk);
    let key = issue(&sb, Some(&p.alice), &[]);
    let sid = delegate(&sb, &key, &p.alice, None);
    let (code, out, err) = created(&sb, &afk, &sid, &key, "d-real-1");
    assert_eq!(code, 0, "{out}{err}");
    let acts = activities(&sb, &sid);
    assert_eq!(acts[0].0, "thought", "{acts:?}");
    assert_eq!(afk.wait_agent(1), 0, "{}", agent_log(&afk));
    let (code, r, err) = afk.watch();
    assert_eq!(code, 0, "{err} {r}\n{}", agent_log(&afk));
    let prs = sb.open_prs("acme/api");
    assert_eq!(prs.len(), 1, "{r}\n{}", agent_log(&afk));
    sb.status("acme/api", &prs[0].head, "ci/build", "success");
    sb.merge("acme/api", prs[0].number);
    let (code, r, err) = afk.watch();
    assert_eq!(code, 0, "{err} {r}");
    assert_eq!(action_of(&r, 1).0, "succeed", "{r}");
    let last = activities(&sb, &sid).pop().unwrap();
    assert_eq!(last.0, "response", "{last:?}");
    assert_eq!(linear_issue(&sb, &key)["state"]["type"], "completed");
}

/// The turn ends at the gateway: the real Codex on `gpt-5-codex` works a
/// Jira issue whose first answer costs past `run_usd`; the model gateway
/// stops the turn, the run pauses, the pause comment on the Jira issue
/// sends its readers to the pull request, and a trusted `/afk budget +5`
/// there continues the run, which then ends its turn well.
#[test]
fn codex_stopped_by_the_gateway_on_a_jira_issue_continues_after_a_raise_on_its_pr() {
    let budget = "[budget]\npause_for = \"7d\"\nrun_usd = 0.1\nmax_run_usd = 10.0\n";
    let Some((sb, afk, id, _)) = jira_world("codex", budget) else {
        return;
    };
    let text = std::fs::read_to_string(&afk.config).unwrap().replace(
        "agent = \"codex\"\n",
        "agent = \"codex\"\ncommand = [\"-m\", \"gpt-5-codex\"]\n",
    );
    std::fs::write(&afk.config, text).unwrap();
    let steps = json!([
        {"shell": "echo wip >> f.txt && git add -A && git commit -qm wip",
         "usage": {"input": 100000, "output": 100}, "unless_prompt": "afk paused this run"},
        {"text": "Done.", "usage": {"input": 100, "output": 10}}
    ]);
    sb.admin(
        "POST",
        "/script",
        Some(json!({"repo": "acme/api", "issue": "PLAT-1", "steps": steps})),
    );
    assert_eq!(afk.poll().0, 0);
    afk.wait_agent(1);
    let ctx = || format!("--- agent.log:\n{}", agent_log(&afk));
    assert!(
        afk.scratch.path("state/runs/1/budget-stop.json").exists(),
        "the gateway stopped the turn: {}",
        ctx()
    );
    let n: u64 = id.parse().unwrap();
    let (_, r, err) = afk.watch();
    assert_eq!(
        action_of(&r, n),
        ("pause".into(), Some("run_usd".into())),
        "{r} {err}"
    );
    let prs = sb.open_prs("acme/api");
    assert_eq!(prs.len(), 1, "the work so far is on a PR: {r}\n{}", ctx());
    let said = crate::tracker_jira::jira_issue(&sb, &id)["comments"].to_string();
    assert!(
        said.contains("comments on #1 (afk hears commands on the pull request only"),
        "{said}"
    );
    sb.comment_on("acme/api", On::Pr(prs[0].number), "alice", "/afk budget +5");
    let (_, r, err) = afk.watch();
    assert_eq!(
        action_of(&r, n),
        ("continue".into(), Some("budget".into())),
        "{r} {err}"
    );
    assert_eq!(afk.wait_agent(1), 0, "{}", ctx());
    let (_, r, err) = afk.watch();
    assert_ne!(action_of(&r, n).0, "pause", "{r} {err}");
}

/// The turn ends by a kill from the tracker: the real Claude Code works a
/// Linear issue on a model that hangs; a team member takes afk's
/// in-progress label off in Linear, and watch abandons the run and stops
/// the agent, opening no pull request.
#[test]
fn claude_working_a_linear_issue_whose_label_a_person_removes_is_stopped() {
    let Some((sb, afk, p, _)) = linear_world("claude", "") else {
        return;
    };
    let key = issue(&sb, Some(&p.alice), &[]);
    sb.admin(
        "POST",
        "/script",
        Some(json!({"repo": "acme/api", "issue": key, "steps": [{"hang": true}]})),
    );
    arm(&sb, &key, Some(&p.alice));
    let (code, r, err) = afk.poll();
    assert_eq!(code, 0, "{err} {r}");
    let (_, r, _) = afk.watch();
    assert_eq!(action_of(&r, 1).1.as_deref(), Some("agent-running"), "{r}");
    sb.admin(
        "POST",
        "/linear/labels",
        Some(json!({"issue": key, "by": p.alice, "remove": ["agent-in-progress"]})),
    );
    let (_, r, err) = afk.watch();
    assert_eq!(action_of(&r, 1).0, "abandon", "{r} {err}");
    assert_stopped(afk.agent_pid(1));
    assert_eq!(sb.open_prs("acme/api").len(), 0);
}
