//! The real Claude Code and Codex (pinned in `agents/package.json`) on work
//! armed in Linear beside the forge (docs/trackers.md#linear): a team
//! member labels a Linear issue, the real program works on it in afk's
//! checkout against the sandbox's scripted model, its commit reaches the
//! forge as afk's PR named by the issue's identifier, and on merge the
//! Linear issue is done; the tracker's key is in no agent's reach.

use crate::real_agents::{agent_log, setup_with};
use crate::support::*;
use crate::tracker_linear::{arm, issue, linear_issue, people, tracker_block};
use serde_json::json;

fn linear_lifecycle(agent: &str) {
    let seed = json!({"repos": [repo("acme/api", json!([]))]});
    let Some((sb, mut afk)) = setup_with(agent, seed, "") else {
        return;
    };
    let p = people(&sb);
    let text = std::fs::read_to_string(&afk.config).unwrap();
    std::fs::write(&afk.config, text + &tracker_block(&sb)).unwrap();
    let creds = sb.admin("GET", "/linear/credentials", None);
    let secret = creds["key"].as_str().unwrap().to_string();
    afk.env.push(("AFK_TRACKER_TOKEN".into(), secret.clone()));
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
