//! Nothing afk writes carries a secret (docs/security.md#nothing-afk-writes-carries-a-secret):
//! an agent that prints a key afk holds (a `runner.secret_env` value it was
//! handed, plain and base64-encoded) and fails gets its log's end quoted in
//! the escalation, in `afk runs show` and its `--log`: each says
//! `[redacted]`, never the key.

use crate::support::*;
use serde_json::json;

const KEY: &str = "sk-ant-test-4f9a1c7e2b8d6035";

#[test]
fn an_agent_that_prints_a_secret_and_fails_gets_it_redacted_everywhere_afk_writes() {
    let sb = Sandbox::start(json!({"repos": [repo("acme/api", json!([ready(1, "alice")]))]}));
    let text = format!(
        "state_path = \"state/afk.db\"\n\n[forge]\n{forge}timeout = \"5s\"\nretries = 1\n\n\
         [poll]\nenabled = true\nallowlist = [\"acme/api\"]\n\n\
         [runner]\nworkspace = \"afk\"\nagent = \"custom\"\nsecret_env = [\"AFK_TEST_MODEL_KEY\"]\n\
         command = [\"sh\", \"-c\", \"echo \\\"my key is $AFK_TEST_MODEL_KEY\\\"; printf %s \\\"$AFK_TEST_MODEL_KEY\\\" | base64; echo \\\"$AFK_TEST_MODEL_KEY\\\" | base64; exit 3\"]\n",
        forge = sb.forge_keys(),
    );
    let mut afk = Afk::with_text(&text);
    afk.env.push(("AFK_TEST_MODEL_KEY".into(), KEY.into()));
    let (code, _, err) = afk.poll();
    assert_eq!(code, 0, "{err}");
    assert_eq!(afk.wait_agent(1), 3);
    let log = std::fs::read_to_string(afk.scratch.path("state/runs/1/agent.log")).unwrap();
    assert!(log.contains(KEY), "the agent did print it: {log}");
    let (_, r, err) = afk.watch();
    assert_eq!(
        action_of(&r, 1),
        ("escalate".into(), Some("agent-failed".into())),
        "{r} {err}"
    );
    let comments = sb.api("/repos/acme/api/issues/1/comments").1.to_string();
    let b64 = |s: &str| {
        let out = std::process::Command::new("sh")
            .args(["-c", &format!("printf %s '{s}' | base64")])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    let forms = [KEY.to_string(), b64(KEY), b64(&format!("{KEY}\n"))];
    let (_, shown, _) = afk.json(&["runs", "show", "1"]);
    let out = afk
        .cmd()
        .args(["runs", "show", "1", "--log"])
        .output()
        .unwrap();
    let raw_log = String::from_utf8_lossy(&out.stdout).to_string();
    for (what, text) in [
        ("the escalation", comments.as_str()),
        ("runs show", &shown.to_string()),
        ("runs show --log", raw_log.as_str()),
    ] {
        assert!(text.contains("[redacted]"), "{what}: {text}");
        for f in &forms {
            assert!(!text.contains(f.as_str()), "{what} carries {f}: {text}");
        }
    }
}
