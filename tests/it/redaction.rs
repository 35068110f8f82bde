//! Nothing afk writes carries a secret (docs/security.md#nothing-afk-writes-carries-a-secret):
//! an agent that prints a key afk holds (a `runner.secret_env` value it was
//! handed, plain and base64-encoded) and fails gets its log's end quoted in
//! the escalation, in `afk runs show` and its `--log`: each says
//! `[redacted]`, never the key.

use crate::support::*;
use serde_json::{Value, json};

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
    let comments = sb
        .api(&sb.dialect.issue_comments_path("acme/api", 1))
        .1
        .to_string();
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

/// A key holding `_`, as a model's keys do: afk's markdown escape makes
/// `Qf9\_x2Lm7\_…` of it.
const UNDERSCORED: &str = "sk-ant-api03-Qf9_x2Lm7_vB8kR4eT2wXc";

/// Standard base64, wrapped at `width` columns as `base64(1)` does.
fn base64_wrapped(bytes: &[u8], width: usize) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for c in bytes.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(c.get(1).copied().unwrap_or(0)) << 8)
            | u32::from(c.get(2).copied().unwrap_or(0));
        for i in 0..4 {
            out.push(if i <= c.len() {
                T[((n >> (18 - 6 * i)) & 63) as usize] as char
            } else {
                '='
            });
        }
    }
    let chars: Vec<char> = out.chars().collect();
    chars
        .chunks(width)
        .map(|l| l.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join("\n")
}

/// What an attacking agent makes of the key: each escape and encoding
/// afk's writers (or the agent) could put it in, as printed and the part of
/// it that is the key's alone (a base64 run's edges hold its neighbours'
/// bits). The wrapped base64 holds the key across a line break.
fn attackers_forms(key: &str) -> Vec<(&'static str, String, String)> {
    let md_all: String = key
        .chars()
        .map(|c| {
            if c.is_ascii_punctuation() {
                format!("\\{c}")
            } else {
                c.to_string()
            }
        })
        .collect();
    let header = format!("Authorization: Bearer {key}\n");
    let before = 30 + "Authorization: Bearer ".len();
    let b64 = base64_wrapped(format!("{}{header}", "x".repeat(30)).as_bytes(), 76);
    let run: String =
        b64.replace('\n', "")[(8 * before).div_ceil(6)..8 * (before + key.len()) / 6].into();
    assert!(!b64.contains(&run), "the key's run crosses a line: {b64}");
    let same = |what, f: String| (what, f.clone(), f);
    vec![
        same("markdown-escaped", key.replace('_', "\\_")),
        same("markdown-escaped, every punctuation char", md_all),
        same(
            "every byte percent-encoded",
            key.bytes().map(|b| format!("%{b:02X}")).collect(),
        ),
        same(
            "every byte percent-encoded, lower case",
            key.bytes().map(|b| format!("%{b:02x}")).collect(),
        ),
        same("hex", key.bytes().map(|b| format!("{b:02x}")).collect()),
        same("reversed", key.chars().rev().collect()),
        ("base64 wrapped at 76 columns", b64, run),
    ]
}

/// Every string in `v`, one a line (keys too), as a reader of it sees them.
fn strings_of(v: &Value) -> String {
    match v {
        Value::String(s) => format!("{s}\n"),
        Value::Array(a) => a.iter().map(strings_of).collect(),
        Value::Object(m) => m
            .iter()
            .map(|(k, v)| format!("{k}\n{}", strings_of(v)))
            .collect(),
        other => format!("{other}\n"),
    }
}

/// Whether `text` carries any 16 characters of `form` in a row (line
/// breaks and spaces aside, as a reader would join them).
fn carries(text: &str, form: &str) -> bool {
    let squeeze = |s: &str| s.replace(['\n', '\r', ' '], "").replace("\\n", "");
    let (text, form) = (squeeze(text), squeeze(form));
    let form: Vec<char> = form.chars().collect();
    form.windows(16)
        .any(|w| text.contains(&w.iter().collect::<String>()))
}

/// An agent run by a custom command that reads its `AFK_TEST_MODEL_KEY`
/// (a `runner.secret_env` value afk holds), with notifications on.
fn an_agent_that_runs(sb: &Sandbox, script: &str) -> Afk {
    let mut afk = Afk::with_text("");
    let script = afk.scratch.write("attacker.sh", script);
    let text = format!(
        "state_path = \"state/afk.db\"\n\n[forge]\n{forge}timeout = \"5s\"\nretries = 1\n\n\
         [poll]\nenabled = true\nallowlist = [\"acme/api\"]\n\n\
         [runner]\nworkspace = \"afk\"\nagent = \"custom\"\nsecret_env = [\"AFK_TEST_MODEL_KEY\"]\n\
         command = [\"sh\", \"{script}\"]\n\n\
         [notify]\nwebhook_env = \"AFK_TEST_WEBHOOK\"\nslack_webhook_env = \"AFK_TEST_SLACK\"\n",
        forge = sb.forge_keys(),
        script = script.display(),
    );
    std::fs::write(&afk.config, text).unwrap();
    afk.hooks = Some(sb.url.clone());
    afk.env
        .push(("AFK_TEST_MODEL_KEY".into(), UNDERSCORED.into()));
    afk
}

/// Everything afk wrote where others read it: every request it sent the
/// forge, the notifications, and its own output of the ticks and `afk runs
/// show` (with `--log`), all must carry no form of the key.
fn assert_nothing_carries_the_key(sb: &Sandbox, afk: &Afk, outputs: &[String]) {
    let (_, shown, err) = afk.json(&["runs", "show", "1"]);
    let log = afk
        .cmd()
        .args(["runs", "show", "1", "--log"])
        .output()
        .unwrap();
    let mut places = vec![
        ("the forge's writes", strings_of(&Value::Array(sb.writes()))),
        ("the notifications", strings_of(&Value::Array(sb.hooks()))),
        ("runs show", format!("{} {err}", strings_of(&shown))),
        (
            "runs show --log",
            format!(
                "{}{}",
                String::from_utf8_lossy(&log.stdout),
                String::from_utf8_lossy(&log.stderr)
            ),
        ),
    ];
    for o in outputs {
        places.push(("a tick's output", o.clone()));
    }
    let mut forms = attackers_forms(UNDERSCORED);
    forms.push(("plain", UNDERSCORED.into(), UNDERSCORED.into()));
    for (place, text) in &places {
        for (what, _, form) in &forms {
            assert!(
                !carries(text, form),
                "{place} carries the key {what}: {text}"
            );
        }
    }
}

#[test]
fn a_blocked_report_quoting_a_secret_in_escaped_and_encoded_forms_reaches_nobody() {
    let sb = Sandbox::start(json!({"repos": [repo("acme/api", json!([ready(1, "alice")]))]}));
    let forms = attackers_forms(UNDERSCORED);
    let questions: Vec<String> = forms
        .iter()
        .map(|(what, f, _)| format!("is it {what}: {f}?"))
        .collect();
    let report = json!({
        "status": "blocked",
        "reason": format!("I was given {UNDERSCORED}, which is {}", forms[0].1),
        "questions": questions,
    });
    // the script holds what it writes: the agent's box shows it no other file
    let afk = an_agent_that_runs(
        &sb,
        &format!("cat >> \"$AFK_PROGRESS_FILE\" <<'AFK_END'\n{report}\nAFK_END\nexit 0\n"),
    );
    let (code, r, err) = afk.poll();
    assert_eq!(code, 0, "{err}");
    assert_eq!(afk.wait_agent(1), 0);
    let (code, w, werr) = afk.watch();
    assert_eq!(code, 0, "{werr}");
    assert_eq!(
        action_of(&w, 1),
        ("escalate".into(), Some("blocked".into())),
        "{w} {werr}"
    );
    let comments = sb
        .api(&sb.dialect.issue_comments_path("acme/api", 1))
        .1
        .to_string();
    assert!(
        comments.contains("question: is it hex"),
        "the questions are quoted: {comments}"
    );
    // redacted before it was escaped: the comment shows `\[redacted\]`
    assert!(comments.contains("\\\\[redacted\\\\]"), "{comments}");
    let outputs = [
        format!("{} {err}", strings_of(&r)),
        format!("{} {werr}", strings_of(&w)),
    ];
    assert_nothing_carries_the_key(&sb, &afk, &outputs);
}

#[test]
fn a_failing_agents_log_printing_a_secret_in_escaped_and_encoded_forms_reaches_nobody() {
    let sb = Sandbox::start(json!({"repos": [repo("acme/api", json!([ready(1, "alice")]))]}));
    let forms = attackers_forms(UNDERSCORED);
    let text: String = forms
        .iter()
        .map(|(what, f, _)| format!("{what}:\n{f}\n"))
        .collect();
    let afk = an_agent_that_runs(&sb, &format!("cat <<'AFK_END'\n{text}AFK_END\nexit 3\n"));
    let (code, r, err) = afk.poll();
    assert_eq!(code, 0, "{err}");
    assert_eq!(afk.wait_agent(1), 3);
    let log = std::fs::read_to_string(afk.scratch.path("state/runs/1/agent.log")).unwrap();
    assert!(log.contains(&forms[0].1), "the agent did print it: {log}");
    let (_, w, werr) = afk.watch();
    assert_eq!(
        action_of(&w, 1),
        ("escalate".into(), Some("agent-failed".into())),
        "{w} {werr}"
    );
    let comments = sb
        .api(&sb.dialect.issue_comments_path("acme/api", 1))
        .1
        .to_string();
    assert!(
        comments.contains("hex:"),
        "the log's end is quoted: {comments}"
    );
    let outputs = [
        format!("{} {err}", strings_of(&r)),
        format!("{} {werr}", strings_of(&w)),
    ];
    assert_nothing_carries_the_key(&sb, &afk, &outputs);
}

/// `upgrade verdict` prints its build link on a line of its own for a
/// script (`BUILD=…`): a CI status whose link carries a secret afk holds
/// (the forge token in its query, any escape of it) prints it redacted.
#[test]
fn upgrade_verdicts_build_line_carries_no_secret() {
    use crate::upgrade::{COMPOSE, MIRROR, pr_of, setup};
    let s = setup(COMPOSE, "push", "");
    let (_, r, _) = s.upgrade(&[]);
    let pr = pr_of(&r)["number"].as_u64().unwrap().to_string();
    let escaped: String = TOKEN.bytes().map(|b| format!("%{b:02x}")).collect();
    s.sb.admin(
        "POST",
        "/status",
        Some(json!({"repo": MIRROR, "branch": "afk/upgrade-nginx-1.26.0", "context": "cc-ci/testme",
                    "state": "failure", "target_url": format!("http://ci.invalid/b?t={TOKEN}&e={escaped}")})),
    );
    let out = s
        .afk
        .cmd()
        .args(["upgrade", "verdict", MIRROR, &pr])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        stdout,
        "VERDICT=RED\nBUILD=http://ci.invalid/b?t=[redacted]&e=[redacted]\n",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The Kubernetes runner's own client sends the turn's prompt (the issue's
/// text) in a ConfigMap: a secret afk holds that the issue quotes, in any
/// escape, goes out redacted, as every forge request body does.
#[test]
fn a_kubernetes_turns_prompt_carries_no_secret_the_issue_quoted() {
    let (sb, afk) = crate::kubernetes::setup(1, "echo hi", "");
    let escaped: String = TOKEN.bytes().map(|b| format!("%{b:02X}")).collect();
    sb.admin(
        "POST",
        "/edit",
        Some(json!({"repo": "acme/api", "issue": 1,
                    "body": format!("use {TOKEN} (or {escaped}) please")})),
    );
    // a trusted person re-arms it after the edit
    for add in [false, true] {
        sb.admin(
            "POST",
            "/label",
            Some(json!({"repo": "acme/api", "issue": 1, "label": "ready-for-agent", "by": "alice", "add": add})),
        );
    }
    let (code, r, err) = afk.poll();
    assert_eq!(code, 0, "{err}");
    assert_eq!(r["dispatched"].as_array().map(Vec::len), Some(1), "{r}");
    let sent = serde_json::to_string(&sb.admin("GET", "/k8s/state", None)).unwrap();
    assert!(
        sent.contains("[redacted] (or [redacted]) please"),
        "the issue is in the prompt: {sent}"
    );
    assert!(!sent.contains(TOKEN) && !sent.contains(&escaped), "{sent}");
}

/// A repository anyone reads (the forge says `private: false`): an
/// attacking agent's failing turn prints what it wants published, and the
/// escalation says where its log is and quotes none of it; the log itself
/// is still afk's to show on its host.
#[test]
fn a_public_repositorys_escalation_quotes_none_of_the_agents_log() {
    let mut api = repo("acme/api", json!([ready(1, "alice")]));
    api["private"] = json!(false);
    let sb = Sandbox::start(json!({ "repos": [api] }));
    let said = "published-by-the-agent 7c1e: what it read on the way";
    let afk = an_agent_that_runs(
        &sb,
        &format!("echo 'step one'\necho '{said}'\necho 'closing line z9'\nexit 3\n"),
    );
    let (code, _, err) = afk.poll();
    assert_eq!(code, 0, "{err}");
    assert_eq!(afk.wait_agent(1), 3);
    let (_, w, werr) = afk.watch();
    assert_eq!(
        action_of(&w, 1),
        ("escalate".into(), Some("agent-failed".into())),
        "{w} {werr}"
    );
    let comments = sb
        .api(&sb.dialect.issue_comments_path("acme/api", 1))
        .1
        .to_string();
    assert!(comments.contains("afk needs a human"), "{comments}");
    assert!(comments.contains("afk runs show 1 --log"), "{comments}");
    for quoted in [
        "published-by-the-agent",
        "7c1e",
        "step one",
        "closing line z9",
    ] {
        assert!(!comments.contains(quoted), "{quoted}: {comments}");
    }
    let out = afk
        .cmd()
        .args(["runs", "show", "1", "--log"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains(said));
}

/// Hardening V, item 1: the webhook URLs, each tick's heartbeat URL and the
/// registry's `user:token` are held as secrets from the config's load on:
/// none of them (nor the heartbeat URL a tick pings, `{tick}` replaced)
/// appears in anything afk writes, `afk doctor` and `--json` included, nor
/// in its errors when those hosts cannot be reached; the agent, which
/// prints its whole environment, is handed none of them.
#[test]
fn the_webhook_heartbeat_and_registry_secrets_appear_in_nothing_afk_writes() {
    const MARK: &str = "s3cret-hv1-7f3a9c";
    let sb = Sandbox::start(json!({"repos": [repo("acme/api", json!([ready(1, "alice")]))]}));
    let mut afk = Afk::with_text("");
    let script = afk.scratch.write("agent.sh", "env\nexit 3\n");
    let status_page = afk.scratch.path("page.html");
    let metrics = afk.scratch.path("afk.prom");
    let text = format!(
        "state_path = \"state/afk.db\"\nstatus_page = \"{page}\"\nmetrics_file = \"{metrics}\"\n\n\
         [forge]\n{forge}timeout = \"5s\"\nretries = 1\n\n\
         [poll]\nenabled = true\nallowlist = [\"acme/api\"]\n\n\
         [runner]\nworkspace = \"afk\"\nagent = \"custom\"\ncommand = [\"sh\", \"{script}\"]\n\n\
         [notify]\nwebhook_env = \"AFK_TEST_WEBHOOK\"\nslack_webhook_env = \"AFK_TEST_SLACK\"\n\
         heartbeat_env = \"AFK_TEST_HEARTBEAT\"\n\n\
         [upgrade]\nregistry_auth_env = \"AFK_TEST_REGISTRY\"\nregistry_auth_host = \"registry.example.org\"\n",
        page = status_page.display(),
        metrics = metrics.display(),
        forge = sb.forge_keys(),
        script = script.display(),
    );
    std::fs::write(&afk.config, text).unwrap();
    // nothing listens on port 9 of the loopback: every send fails
    let values = [
        (
            "AFK_TEST_WEBHOOK",
            format!("http://127.0.0.1:9/hooks/wh-{MARK}"),
        ),
        (
            "AFK_TEST_SLACK",
            format!("http://127.0.0.1:9/services/sl-{MARK}"),
        ),
        (
            "AFK_TEST_HEARTBEAT",
            format!("http://127.0.0.1:9/ping/hb-{MARK}/{{tick}}"),
        ),
        ("AFK_TEST_REGISTRY", format!("robot:rg-{MARK}")),
    ];
    for (k, v) in &values {
        afk.env.push((k.to_string(), v.clone()));
    }
    let mut outputs = vec![];
    for args in [
        &["doctor"][..],
        &["--json", "doctor"],
        &["-v", "--json", "poll"],
    ] {
        let out = afk.cmd().args(args).output().unwrap();
        outputs.push(format!(
            "afk {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let exit = afk.wait_agent(1);
    assert_ne!(exit, 0, "the agent fails, so its log is quoted");
    for args in [
        &["-v", "--json", "watch"][..],
        &["runs", "show", "1", "--log"],
    ] {
        let out = afk.cmd().args(args).output().unwrap();
        outputs.push(format!(
            "afk {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let log = std::fs::read_to_string(afk.scratch.path("state/runs/1/agent.log")).unwrap();
    assert!(
        log.contains("AFK_RUN_ID"),
        "the agent printed its env: {log}"
    );
    outputs.push(format!("the agent's log: {log}"));
    outputs.push(format!(
        "the forge's writes: {}",
        strings_of(&Value::Array(sb.writes()))
    ));
    for f in [&status_page, &metrics] {
        outputs.push(format!(
            "{}: {}",
            f.display(),
            std::fs::read_to_string(f).unwrap()
        ));
    }
    for o in &outputs {
        assert!(!o.contains(MARK), "a secret the config names shows: {o}");
    }
}

#[test]
fn an_issue_that_quotes_a_secret_afk_holds_writes_no_prompt_file_with_it() {
    let mut issue = ready(1, "alice");
    issue["body"] = json!(format!("please use the token {TOKEN} to deploy"));
    let sb = Sandbox::start(json!({"repos": [repo("acme/api", json!([issue]))]}));
    let text = format!(
        "state_path = \"state/afk.db\"\n\n[forge]\n{forge}timeout = \"5s\"\nretries = 1\n\n\
         [poll]\nenabled = true\nallowlist = [\"acme/api\"]\n\n\
         [runner]\nworkspace = \"afk\"\nagent = \"custom\"\nconfine = \"none\"\ncommand = [\"true\"]\n",
        forge = sb.forge_keys(),
    );
    let afk = Afk::with_text(&text);
    let (code, _, err) = afk.poll();
    assert_eq!(code, 0, "{err}");
    let prompt = std::fs::read_to_string(afk.scratch.path("state/runs/1/prompt-1.md")).unwrap();
    assert!(prompt.contains("please use the token"), "{prompt}");
    assert!(!prompt.contains(TOKEN), "{prompt}");
    assert!(prompt.contains("[redacted]"), "{prompt}");
}
