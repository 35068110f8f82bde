//! What afk WRITES from outside text is bounded (issue 29): comments, the
//! status page, `runs show`, error lines; a forge that refuses a comment gets
//! it shortened once, never every tick; one error line for a full stdout; no
//! user info in a configured URL.

use crate::support::*;
use serde_json::{Value, json};

fn bodies_by(sb: &Sandbox, who: &str) -> Vec<String> {
    let st = sb.admin("GET", "/state", None);
    st["repos"][0]["comments"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["user"] == who)
        .map(|c| c["body"].as_str().unwrap().to_string())
        .collect()
}

fn escalations(sb: &Sandbox) -> Vec<String> {
    bodies_by(sb, "afk-bot")
        .into_iter()
        .filter(|b| b.starts_with("<!-- afk:escalation run=1 -->"))
        .collect()
}

/// The agent of run 1 says it is blocked, at great length: a 1 MB reason and
/// `questions` questions of 200 characters.
fn a_huge_blocked_line(afk: &Afk, questions: usize) {
    let qs: Vec<String> = (0..questions)
        .map(|i| format!("question {i}: {}?", "x".repeat(200)))
        .collect();
    let line = json!({"status": "blocked", "reason": "why ".repeat(262_144), "questions": qs});
    let p = afk.scratch.path("state/runs/1/progress.jsonl");
    let mut text = std::fs::read_to_string(&p).unwrap_or_default();
    text.push_str(&format!("{line}\n"));
    std::fs::write(&p, text).unwrap();
}

/// The number in `… and N more questions`.
fn more_questions(body: &str) -> usize {
    let at = body
        .find(" more questions")
        .unwrap_or_else(|| panic!("no cut said: {}", &body[body.len() - 500..]));
    let digits: String = body[..at]
        .chars()
        .rev()
        .take_while(|c| c.is_ascii_digit() || *c == ',')
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .filter(char::is_ascii_digit)
        .collect();
    digits.parse().unwrap()
}

#[test]
fn a_huge_blocked_report_makes_a_bounded_comment_status_page_and_runs_show() {
    let sb = Sandbox::start(json!({"repos": [repo("acme/api", json!([ready(1, "alice")]))]}));
    let afk = Afk::agent(&sb, "blocked", "", "");
    let text = std::fs::read_to_string(&afk.config).unwrap();
    std::fs::write(
        &afk.config,
        format!("status_page = \"state/status.html\"\n{text}"),
    )
    .unwrap();
    afk.poll();
    afk.wait_agent(1);
    a_huge_blocked_line(&afk, 5_000);
    let (code, r, err) = afk.watch();
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        action_of(&r, 1),
        ("escalate".into(), Some("blocked".into()))
    );
    let esc = escalations(&sb);
    assert_eq!(esc.len(), 1, "one escalation comment");
    let body = &esc[0];
    let chars = body.chars().count();
    assert!(chars <= 65_536, "{chars} characters");
    assert!(body.len() <= 65_536, "{} bytes", body.len());
    let shown = body.matches("\n- question: ").count();
    assert!(shown > 0, "some questions are shown");
    assert_eq!(shown + more_questions(body), 5_000, "the cut is counted");
    assert!(body.contains("(cut: "), "the reason's cut is said");
    assert!(
        body.contains("afk leaves this issue alone until someone adds"),
        "the hand-back line survives"
    );

    let page = std::fs::metadata(afk.scratch.path("state/status.html"))
        .unwrap()
        .len();
    assert!(page < 100_000, "the status page is {page} bytes");
    let html = std::fs::read_to_string(afk.scratch.path("state/status.html")).unwrap();
    assert!(html.contains("more questions"), "the page says it cut");

    for json in [false, true] {
        let mut c = afk.cmd();
        if json {
            c.arg("--json");
        }
        let out = c.args(["runs", "show", "1", "--log"]).output().unwrap();
        assert_success(&out);
        assert!(
            out.stdout.len() < 100_000,
            "runs show (json {json}) printed {} bytes",
            out.stdout.len()
        );
    }
}

both_dialects! {
azure_devops_plays;
#[test]
fn the_sandbox_refuses_a_comment_over_githubs_limit() {
    let sb = Sandbox::start(json!({"repos": [repo("acme/api", json!([ready(1, "alice")]))]}));
    // a work item's comment is `{text}`, made with a 200 (Azure DevOps)
    let (field, made) = match dialect() {
        Dialect::AzureDevops => ("text", 200),
        _ => ("body", 201),
    };
    let post = |body: String| {
        let comments = sb.path("acme/api", sb.dialect.issue_comments(1).trim_start_matches('/'));
        sb.api_call("POST", &comments, Some(json!({ field: body }))).0
    };
    // characters, as GitHub counts them: 65,536 two-byte characters pass
    // (GitLab's and Azure DevOps' limits are their own; they refuse with a 400)
    let (max, refused) = sb.dialect.comment_limit();
    assert_eq!(post("é".repeat(max)), made);
    assert_eq!(post("x".repeat(max + 1)), refused);
}

#[test]
fn a_comment_the_forge_refuses_is_shortened_once_and_the_run_ends() {
    let sb = Sandbox::start(json!({"repos": [repo("acme/api", json!([ready(1, "alice")]))]}));
    let afk = Afk::agent(&sb, "blocked", "", "");
    afk.poll();
    afk.wait_agent(1);
    a_huge_blocked_line(&afk, 100);
    // a forge whose limit is far below GitHub's: the whole comment is refused,
    // the shortened one is taken
    sb.admin("POST", "/comment_max", Some(json!({"chars": 6_000})));
    let (code, r, err) = afk.watch();
    assert_eq!(code, 0, "{err}");
    assert_eq!(action_of(&r, 1), ("escalate".into(), Some("blocked".into())));
    let esc = escalations(&sb);
    assert_eq!(esc.len(), 1, "{esc:?}");
    assert!(esc[0].chars().count() <= 6_000);
    assert!(esc[0].contains("shortened"), "the cut is said: {}", esc[0]);
    let posts = |sb: &Sandbox| {
        sb.requests()
            .iter()
            .filter(|q| q["method"] == "POST" && q["path"].as_str().unwrap_or("").ends_with(&sb.dialect.issue_comments(1)))
            .count()
    };
    assert!(posts(&sb) <= 3, "the whole, the shortened, the checklist");
}

#[test]
fn a_comment_refused_even_shortened_is_given_up_and_the_run_ends() {
    let sb = Sandbox::start(json!({"repos": [repo("acme/api", json!([ready(1, "alice")]))]}));
    let afk = Afk::agent(&sb, "blocked", "", "");
    afk.poll();
    afk.wait_agent(1);
    a_huge_blocked_line(&afk, 100);
    sb.admin("POST", "/comment_max", Some(json!({"chars": 1_000})));
    sb.clear_requests();
    let (code, r, err) = afk.watch();
    assert_eq!(code, 0, "the run goes on: {err}");
    assert_eq!(action_of(&r, 1), ("escalate".into(), Some("blocked".into())));
    assert!(escalations(&sb).is_empty());
    let said = r.to_string();
    assert!(said.contains("refused"), "the report says it: {r}");
    let escalation_posts = |sb: &Sandbox| {
        sb.requests()
            .iter()
            .filter(|q| {
                q["method"] == "POST"
                    // a work item's comment is `{text}` (Azure DevOps)
                    && [&q["body"]["body"], &q["body"]["text"]]
                        .iter()
                        .any(|b| b.as_str().is_some_and(|b| b.starts_with("<!-- afk:escalation")))
            })
            .count()
    };
    assert_eq!(escalation_posts(&sb), 2, "the whole and the shortened, once each");
    let state = afk.sql_rows("SELECT state FROM runs WHERE id = 1");
    assert_eq!(state[0][0], "escalated");
    sb.clear_requests();
    let (code, _, err) = afk.watch();
    assert_eq!(code, 0, "{err}");
    assert_eq!(escalation_posts(&sb), 0, "never retried on later ticks");
}
}

#[test]
fn a_huge_thread_status_is_a_short_error_line() {
    let sb = Sandbox::start(json!({"repos": [repo("acme/api", json!([ready(1, "alice")]))]}));
    let afk = Afk::with_text(&format!(
        "state_path = \"state/afk.db\"\n[forge]\n{forge}timeout = \"5s\"\nretries = 1\n\
         [runner]\nkind = \"http\"\nurl = \"{url}/agent\"\ntoken_env = \"AFK_AGENT_TOKEN\"\n\
         [poll]\nenabled = true\nallowlist = [\"acme/api\"]\n",
        url = sb.url,
        forge = sb.forge_keys()
    ));
    let run = |cmd: &str| {
        let out = afk
            .cmd()
            .env("AFK_AGENT_TOKEN", AGENT_TOKEN)
            .args(["--json", cmd])
            .output()
            .unwrap();
        (
            out.status.code().unwrap(),
            serde_json::from_slice::<Value>(&out.stdout).unwrap_or(Value::Null),
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    };
    let (code, _, err) = run("poll");
    assert_eq!(code, 0, "{err}");
    let threads = sb.admin("GET", "/threads", None);
    let id = threads[0]["id"].as_str().unwrap().to_string();
    let status = format!("\u{1b}]0;pwned\u{7}\n{}", "s".repeat(300_000));
    sb.admin("POST", "/thread", Some(json!({"id": id, "status": status})));
    let (code, r, err) = run("watch");
    assert_eq!(code, 1, "{err}");
    let message = r["errors"][0]["message"]
        .as_str()
        .unwrap_or_else(|| panic!("{r}\n{err}"));
    assert!(message.chars().count() <= 400, "{message}");
    assert!(
        message.contains("more characters"),
        "the cut is said: {message}"
    );
    assert!(!message.contains('\u{1b}'), "{message}");
    for line in err.lines() {
        assert!(line.chars().count() <= 500, "{line}");
    }
}

/// `afk poll` with stdout on a full device: one error line for the one cause.
#[test]
fn a_full_stdout_is_one_error_line() {
    let sb = Sandbox::start(json!({"repos": [repo("acme/api", json!([ready(1, "alice")]))]}));
    let afk = Afk::new(&sb, "enabled = false", "");
    if !std::path::Path::new("/dev/full").exists() {
        return;
    }
    for json in [true, false] {
        let full = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap();
        let mut c = afk.std_cmd();
        if json {
            c.arg("--json");
        }
        let out = c.arg("poll").stdout(full).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "json {json}");
        let err = String::from_utf8_lossy(&out.stderr);
        let lines: Vec<&str> = err.lines().filter(|l| l.contains("ERROR")).collect();
        assert_eq!(lines.len(), 1, "json {json}: {err}");
        assert!(lines[0].contains("stdout"), "{err}");
    }
}

/// Every configured URL (and each URL a named variable holds) with user info
/// in it: exit 2, one line naming the key, the secret never shown.
#[test]
fn user_info_in_any_configured_url_is_a_config_error() {
    let sb = Sandbox::start(json!({"repos": [repo("acme/api", json!([ready(1, "alice")]))]}));
    let base = Afk::new(&sb, "enabled = true\nallowlist = [\"acme/api\"]", "");
    let text = std::fs::read_to_string(&base.config).unwrap();
    let forge_url = sb.forge_keys();
    let sneaky = "http://localhost:s3cret@0.0.0.0/x";
    let with_forge = |key: &str| {
        let mut out = vec![];
        for l in forge_url.lines() {
            if l.starts_with(&format!("{key} =")) {
                out.push(format!("{key} = \"{sneaky}\""));
            } else {
                out.push(l.to_string());
            }
        }
        text.replace(&forge_url, &(out.join("\n") + "\n"))
    };
    type Case<'a> = (String, Vec<(&'a str, String)>, &'a str);
    let cases: Vec<Case> = vec![
        (with_forge("url"), vec![], "forge.url"),
        (
            text.replace("[forge]\n", &format!("[forge]\napi_url = \"{sneaky}\"\n")),
            vec![],
            "forge.api_url",
        ),
        (
            text.replace("[runner]\n", &format!("[runner]\nurl = \"{sneaky}\"\n")),
            vec![],
            "runner.url",
        ),
        (
            format!(
                "{text}\n[runner.kubernetes]\napi_url = \"http://localhost:s3cret@0.0.0.0/k8s\"\n"
            ),
            vec![],
            "runner.kubernetes.api_url",
        ),
        (
            format!(
                "{text}\n[upgrade.registry_mirrors]\n\"docker.io\" = \"https://u:s3cret@mirror.example.org\"\n"
            ),
            vec![],
            "upgrade.registry_mirrors.docker.io",
        ),
        (
            format!(
                "{text}\n[upgrade]\nupstream = \"https://u:s3cret@git.example.org/{{recipe}}.git\"\n"
            ),
            vec![],
            "upgrade.upstream",
        ),
        (
            format!("{text}\n[notify]\nwebhook_env = \"AFK_HOOK\"\n"),
            vec![(
                "AFK_HOOK",
                "https://u:s3cret@hooks.example.org/x".to_string(),
            )],
            "notify.webhook_env",
        ),
        (
            format!("{text}\n[notify]\nslack_webhook_env = \"AFK_SLACK\"\n"),
            vec![(
                "AFK_SLACK",
                "https://u:s3cret@hooks.slack.com/x".to_string(),
            )],
            "notify.slack_webhook_env",
        ),
        (
            format!("{text}\n[notify]\nheartbeat_env = \"AFK_BEAT\"\n"),
            vec![("AFK_BEAT", "https://u:s3cret@hc.example.org/x".to_string())],
            "notify.heartbeat_env",
        ),
        (
            format!("{text}\n[notify.heartbeat]\nwatch = \"AFK_BEAT_WATCH\"\n"),
            vec![(
                "AFK_BEAT_WATCH",
                "https://s3cret@hc.example.org/x".to_string(),
            )],
            "notify.heartbeat.watch",
        ),
    ];
    for (config, env, key) in cases {
        std::fs::write(&base.config, &config).unwrap();
        let mut c = base.std_cmd();
        for (k, v) in &env {
            c.env(k, v);
        }
        let out = c.args(["--json", "poll"]).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr).to_string();
        assert_eq!(out.status.code(), Some(2), "{key}: {err}\n{config}");
        assert_eq!(err.lines().count(), 1, "{key}: {err}");
        assert!(err.contains(key), "{key}: {err}");
        assert!(err.contains("user info"), "{key}: {err}");
        let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(doc["exit"], 2);
        for shown in [err.as_str(), &doc.to_string()] {
            assert!(
                !shown.contains("s3cret"),
                "{key}: the secret is shown: {shown}"
            );
        }
    }
}
