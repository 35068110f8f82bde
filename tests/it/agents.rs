//! Named agents (docs/runners.md, named agents) with a stand-in program on
//! `PATH`: what afk runs, how it reads a Codex turn's spend and final message,
//! and how a corrective turn resumes the agent's own session.

use crate::support::*;
use serde_json::{Value, json};
use std::path::Path;

const THREAD: &str = "0199a213-81c0-7800-8aa1-bbab2a035a53";

/// A `codex` that records its arguments, reads its prompt, opens no PR and
/// prints what `codex exec --json` prints: its thread, a message, and the
/// thread's usage so far (1M input tokens a turn, cumulative as a resumed
/// thread reports it).
fn fake_codex(bin: &Path) {
    std::fs::create_dir_all(bin).unwrap();
    let script = format!(
        "#!/bin/sh\nprintf '%s\\n' \"$*\" > \"$AFK_RUN_DIR/args-$AFK_TURN\"\ncat > /dev/null\nn=$((AFK_TURN * 1000000))\n\
         printf '%s\\n' '{{\"type\":\"thread.started\",\"thread_id\":\"{THREAD}\"}}' '{{\"type\":\"turn.started\"}}'\n\
         printf '{{\"type\":\"item.completed\",\"item\":{{\"id\":\"item_0\",\"type\":\"agent_message\",\"text\":\"turn %s: nothing to push\"}}}}\\n' \"$AFK_TURN\"\n\
         printf '{{\"type\":\"turn.completed\",\"usage\":{{\"input_tokens\":%s,\"cached_input_tokens\":0,\"output_tokens\":0}}}}\\n' \"$n\"\n"
    );
    let p = bin.join("codex");
    std::fs::write(&p, script).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// `afk --json <args>` with `bin` first on PATH.
fn afk_with(afk: &Afk, bin: &Path, args: &[&str]) -> (i32, Value, String) {
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = afk
        .std_cmd()
        .env("PATH", path)
        .arg("--json")
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        serde_json::from_slice(&out.stdout).unwrap_or(Value::Null),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

#[test]
fn codex_is_priced_per_turn_resumed_in_its_own_thread_and_its_last_message_shown() {
    let sb = Sandbox::start(json!({"repos": [repo("acme/api", json!([ready(1, "alice")]))]}));
    let afk = Afk::with_text(&format!(
        "state_path = \"state/afk.db\"\n[forge]\n{}timeout = \"5s\"\nretries = 1\n\
         [runner]\nagent = \"codex\"\nworkspace = \"agent\"\nconfine = \"none\"\ncommand = [\"-m\", \"gpt-test\"]\n\
         [runner.prices]\ninput = 1.0\ncached_input = 0.1\noutput = 8.0\n\
         [poll]\nenabled = true\nallowlist = [\"acme/api\"]\n[watch]\nfix_forward_max = 1\n",
        sb.forge_keys()
    ));
    let bin = afk.scratch.path("bin");
    fake_codex(&bin);
    let (code, r, err) = afk_with(&afk, &bin, &["poll"]);
    assert_eq!(code, 0, "{err} {r}");
    assert_eq!(afk.wait_agent(1), 0);
    let args = |turn| {
        std::fs::read_to_string(afk.scratch.path(&format!("state/runs/1/args-{turn}"))).unwrap()
    };
    assert_eq!(
        args(1).trim(),
        "exec --json --dangerously-bypass-approvals-and-sandbox --skip-git-repo-check -m gpt-test -"
    );
    let (_, r, err) = afk_with(&afk, &bin, &["watch"]);
    assert_eq!(
        action_of(&r, 1),
        ("corrective_turn".into(), Some("no-pr".into())),
        "{err}"
    );
    assert_eq!(r["actions"][0]["spend_usd"], 1.0, "1M input tokens at $1");
    assert_eq!(afk.wait_agent(1), 0);
    // the corrective turn continues the thread the first one started
    assert_eq!(
        args(2).trim(),
        format!(
            "exec --json --dangerously-bypass-approvals-and-sandbox --skip-git-repo-check -m gpt-test resume {THREAD} -"
        )
    );
    let (_, r, _) = afk_with(&afk, &bin, &["watch"]);
    assert_eq!(action_of(&r, 1), ("escalate".into(), Some("no-pr".into())));
    let (code, shown, err) = afk_with(&afk, &bin, &["runs", "show", "1"]);
    assert_eq!(code, 0, "{err}");
    // the resumed thread reported 2M so far: 1M of it this turn's, not 2M more
    assert_eq!(shown["run"]["spend_usd"], 2.0, "{shown}");
    assert_eq!(
        shown["spend_sources"],
        json!([
            {"turn": 1, "usd": 1.0, "source": "codex-priced"},
            {"turn": 2, "usd": 1.0, "source": "codex-priced"},
        ])
    );
    assert_eq!(shown["final_message"], "turn 2: nothing to push");
    let out = afk.std_cmd().args(["runs", "show", "1"]).output().unwrap();
    let human = String::from_utf8_lossy(&out.stdout);
    assert!(
        human.contains("spend read from: turn 1 $1.00 (codex-priced), turn 2 $1.00 (codex-priced)"),
        "{human}"
    );
    assert!(
        human.contains(
            "final message (the agent's own words):\n```text\nturn 2: nothing to push\n```"
        ),
        "{human}"
    );
}

/// Issue 49: an agent run as another user (the box off, `sudo -u agent` or
/// here `setpriv`) keeps the progress protocol when `runner.progress_group`
/// names a group that user is in: the run folder lets the group through and
/// the progress file lets it append; nothing else of afk's opens. Without
/// the key the same agent cannot write it. Needs root (to switch users).
#[test]
fn an_agent_run_as_another_user_appends_to_its_progress_file_through_progress_group() {
    if unsafe { libc::geteuid() } != 0 || !std::path::Path::new("/usr/bin/setpriv").exists() {
        eprintln!("skipped: needs root and setpriv to run the agent as another user");
        return;
    }
    let script = "setpriv --reuid 65534 --regid 65534 --clear-groups sh -c '\
        printf \"%s\\\\n\" \"{\\\"phase\\\":\\\"green\\\"}\" >> \"$AFK_PROGRESS_FILE\" && echo wrote; \
        cat \"$AFK_RUN_DIR/prompt-1.md\" >/dev/null 2>&1 && echo read-the-prompt; exit 0'";
    for (group, wrote) in [("progress_group = \"nogroup\"\n", true), ("", false)] {
        let sb = Sandbox::start(json!({"repos": [repo("acme/api", json!([ready(1, "alice")]))]}));
        let afk = Afk::with_text(&format!(
            "state_path = \"state/afk.db\"\n[forge]\n{}timeout = \"5s\"\n\
             [runner]\nworkspace = \"agent\"\nconfine = \"none\"\n{group}command = [\"sh\", \"-c\", {script:?}]\n\
             [poll]\nenabled = true\nallowlist = [\"acme/api\"]\n",
            sb.forge_keys()
        ));
        let (code, r, err) = afk.poll();
        assert_eq!(code, 0, "{err} {r}");
        afk.wait_agent(1);
        let log = std::fs::read_to_string(afk.scratch.path("state/runs/1/agent.log")).unwrap();
        assert_eq!(log.contains("wrote"), wrote, "{group:?}: {log}");
        assert!(
            !log.contains("read-the-prompt"),
            "nothing else of afk's opens: {log}"
        );
        let (_, shown, _) = afk.json(&["runs", "show", "1"]);
        assert_eq!(
            shown.to_string().contains("\"green\""),
            wrote,
            "{group:?}: {shown}"
        );
    }
}
