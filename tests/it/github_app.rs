//! afk as a GitHub App's installation (docs/github.md#as-a-github-app, issue
//! #21), through the binary against the sandbox's GitHub dialect seeded with
//! the test app's key (`tests/fixtures/`, test-only keys): poll and watch on
//! app credentials alone, one token reused across ticks and exchanged again
//! near its expiry, a refused token exchanged once per tick, the bot's
//! identity, the keys' checks, and no secret anywhere it could leak.

use crate::support::*;
use serde_json::{Value, json};
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

const APP_ID: u64 = 4242;
const INSTALLATION: u64 = 77;
const BOT: &str = "afk-app[bot]";
/// base64url of `{"alg":"RS256","typ":"JWT"}`: how every JWT afk signs starts
const JWT_HEAD: &str = "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9";
/// how the sandbox's installation tokens start
pub(crate) const TOKEN_HEAD: &str = "ghs_sandbox";

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// A GitHub sandbox that knows the test app (its PKCS#1 key).
fn app_sandbox(seed: Value) -> Sandbox {
    let sb = Sandbox::start_in(Dialect::Github, seed);
    seed_app(&sb);
    sb
}

/// Seed the test app into a GitHub sandbox.
pub(crate) fn seed_app(sb: &Sandbox) {
    sb.admin(
        "POST",
        "/app",
        Some(
            json!({"id": APP_ID, "slug": "afk-app", "installation_id": INSTALLATION,
                    "account": "acme", "key_file": fixture("test-app-key-pkcs1.pem")}),
        ),
    );
}

/// Point `afk`'s config at the app: the key `key` copied in with `mode`.
pub(crate) fn use_app(afk: &Afk, key: &str, mode: u32) {
    let dest = afk.scratch.path("app.pem");
    std::fs::copy(fixture(key), &dest).unwrap();
    std::fs::set_permissions(&dest, std::fs::Permissions::from_mode(mode)).unwrap();
    let text = std::fs::read_to_string(&afk.config).unwrap().replacen(
        "[forge]\n",
        &format!(
            "[forge]\napp_id = {APP_ID}\napp_installation_id = {INSTALLATION}\napp_private_key_file = \"app.pem\"\n"
        ),
        1,
    );
    std::fs::write(&afk.config, text).unwrap();
}

/// `afk --json <args>` with no forge token in the environment:
/// (exit code, report, stdout, stderr).
fn run(afk: &Afk, args: &[&str]) -> (i32, Value, String, String) {
    let out = afk
        .cmd()
        .env_remove("AFK_FORGE_TOKEN")
        .arg("--json")
        .args(args)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    (
        out.status.code().unwrap_or(-1),
        serde_json::from_str(&stdout).unwrap_or(Value::Null),
        stdout,
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

pub(crate) fn exchanges(sb: &Sandbox) -> u64 {
    sb.admin("GET", "/app", None)["exchanges"].as_u64().unwrap()
}

/// Pin afk's clock `secs` from now, and the sandbox's the same way.
fn at(sb: &Sandbox, afk: &Afk, secs: i64) {
    let t = time::OffsetDateTime::now_utc() + time::Duration::seconds(secs);
    *afk.now.borrow_mut() = Some(
        t.format(&time::format_description::well_known::Rfc3339)
            .unwrap(),
    );
    sb.admin("POST", "/app", Some(json!({"clock_offset": secs})));
}

fn one_issue() -> Value {
    json!({"repos": [repo("acme/api", json!([ready(1, "alice")]))]})
}

fn comments(sb: &Sandbox) -> Vec<Value> {
    let st = sb.admin("GET", "/state", None);
    st["repos"][0]["comments"].as_array().unwrap().clone()
}

#[test]
fn poll_and_watch_run_on_app_credentials_alone_with_one_token() {
    let sb = app_sandbox(one_issue());
    let afk = Afk::agent(&sb, "pr", "", "");
    use_app(&afk, "test-app-key-pkcs1.pem", 0o600);
    let (code, r, _, err) = run(&afk, &["poll"]);
    assert_eq!(code, 0, "{err} {r}");
    assert_eq!(r["dispatched"][0]["run_id"], 1, "{r}");
    afk.wait_agent(1);
    for _ in 0..2 {
        let (code, r, _, err) = run(&afk, &["watch"]);
        assert_eq!(code, 0, "{err} {r}");
        assert_eq!(action_of(&r, 1), ("wait".into(), Some("ci-pending".into())));
    }
    let (code, _, _, err) = run(&afk, &["poll"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(exchanges(&sb), 1, "one token for four ticks");
    // afk wrote as the app's bot: its checklist, once
    let own: Vec<Value> = comments(&sb)
        .into_iter()
        .filter(|c| {
            c["body"]
                .as_str()
                .unwrap()
                .starts_with("<!-- afk:checklist -->")
        })
        .collect();
    assert_eq!(own.len(), 1, "{own:?}");
    assert_eq!(own[0]["user"], BOT);
    // the token is kept in the state file with its expiry
    let rows = afk.sql_rows("SELECT app_id, installation_id, expires_at FROM app_tokens");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0][0], APP_ID.to_string());
    assert_eq!(rows[0][1], INSTALLATION.to_string());
}

#[test]
fn a_stored_token_is_exchanged_again_within_five_minutes_of_its_expiry() {
    let sb = app_sandbox(json!({"repos": [repo("acme/api", json!([]))]}));
    let afk = Afk::new(&sb, "enabled = true\nallowlist = [\"acme/api\"]", "");
    use_app(&afk, "test-app-key-pkcs8.pem", 0o600);
    // (seconds later, exchanges so far): tokens live an hour
    for (later, want) in [
        (0, 1),
        (30 * 60, 1),
        (54 * 60, 1),
        (56 * 60, 2),
        (60 * 60, 2),
    ] {
        at(&sb, &afk, later);
        let (code, r, _, err) = run(&afk, &["poll"]);
        assert_eq!(code, 0, "+{later}s: {err} {r}");
        assert_eq!(exchanges(&sb), want, "+{later}s");
    }
    // a dry run may exchange a token but stores nothing
    let before = afk.sql_rows("SELECT token, expires_at FROM app_tokens");
    at(&sb, &afk, 2 * 3600);
    let (code, _, _, err) = run(&afk, &["--dry-run", "poll"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(exchanges(&sb), 3);
    assert_eq!(
        afk.sql_rows("SELECT token, expires_at FROM app_tokens"),
        before
    );
}

#[test]
fn a_refused_token_is_exchanged_once_per_tick_then_the_tick_fails() {
    let sb = app_sandbox(json!({"repos": [repo("acme/api", json!([]))]}));
    let afk = Afk::new(&sb, "enabled = true\nallowlist = [\"acme/api\"]", "");
    use_app(&afk, "test-app-key-pkcs1.pem", 0o600);
    assert_eq!(run(&afk, &["poll"]).0, 0);
    assert_eq!(exchanges(&sb), 1);
    // revoked early: refused (401), exchanged again, the tick goes on
    sb.admin("POST", "/app/revoke", None);
    let (code, r, _, err) = run(&afk, &["poll"]);
    assert_eq!(code, 0, "{err} {r}");
    assert_eq!(exchanges(&sb), 2);
    assert_eq!(run(&afk, &["poll"]).0, 0);
    assert_eq!(exchanges(&sb), 2, "the fresh token is kept");
    // refused again after the fresh exchange: one exchange, then the tick fails
    sb.admin("POST", "/app/revoke", None);
    sb.admin("POST", "/app", Some(json!({"lifetime": 0})));
    let (code, r, out, err) = run(&afk, &["poll"]);
    assert_eq!(code, 1, "{err} {r}");
    assert_eq!(exchanges(&sb), 3, "at most one exchange per tick");
    let all = format!("{out}{err}");
    assert!(
        all.contains("refused again after a fresh exchange"),
        "{all}"
    );
}

#[test]
fn only_the_bots_comments_are_afks() {
    let sb = app_sandbox(one_issue());
    let afk = Afk::agent(&sb, "pr", "", "");
    use_app(&afk, "test-app-key-pkcs1.pem", 0o600);
    assert_eq!(run(&afk, &["poll"]).0, 0);
    afk.wait_agent(1);
    // a person named like the app, and another app's bot, post afk's marker
    for who in ["afk-app", "other-app[bot]", "afk-bot"] {
        sb.admin(
            "POST",
            "/comment",
            Some(json!({"repo": "acme/api", "issue": 1, "user": who,
                        "body": "<!-- afk:checklist -->\nforged"})),
        );
    }
    let (code, r, _, err) = run(&afk, &["watch"]);
    assert_eq!(code, 0, "{err} {r}");
    let all = comments(&sb);
    let forged: Vec<&Value> = all
        .iter()
        .filter(|c| c["body"].as_str().unwrap().ends_with("forged"))
        .collect();
    assert_eq!(forged.len(), 3, "the imitations are left alone: {all:?}");
    let own: Vec<&Value> = all.iter().filter(|c| c["user"] == BOT).collect();
    assert_eq!(own.len(), 1, "afk posted its own checklist: {all:?}");
    assert!(own[0]["body"].as_str().unwrap().contains("CI green"));
}

#[test]
fn no_secret_reaches_output_state_or_the_agent() {
    let sb = app_sandbox(one_issue());
    let afk = Afk::agent(&sb, "pr", "", "");
    // an agent that writes down its environment and its parent's command line
    let text = std::fs::read_to_string(&afk.config).unwrap();
    let start = text.find("command = [").unwrap();
    let end = start + text[start..].find('\n').unwrap();
    let text = format!(
        "{}command = [\"sh\", \"-c\", \"env > $HOME/agent-env.txt; tr '\\\\0' ' ' < /proc/$PPID/cmdline > $HOME/parent-cmdline.txt\"]{}",
        &text[..start],
        &text[end..]
    );
    std::fs::write(&afk.config, text).unwrap();
    use_app(&afk, "test-app-key-pkcs1.pem", 0o600);
    let key = std::fs::read_to_string(fixture("test-app-key-pkcs1.pem")).unwrap();
    let key_line = key.lines().nth(3).unwrap().to_string();
    let mut seen = String::new();
    for args in [
        vec!["poll"],
        vec!["-v", "poll"],
        vec!["watch"],
        vec!["-v", "watch"],
        vec!["doctor"],
        vec!["status"],
    ] {
        let (_, _, out, err) = run(&afk, &args);
        seen.push_str(&out);
        seen.push_str(&err);
    }
    let run_dir = afk.scratch.path("state/runs/1");
    for f in [
        "home/agent-env.txt",
        "home/parent-cmdline.txt",
        "agent.log",
        "prompt.md",
    ] {
        seen.push_str(&std::fs::read_to_string(run_dir.join(f)).unwrap_or_default());
    }
    assert!(
        std::fs::read_to_string(run_dir.join("home/agent-env.txt")).is_ok(),
        "the agent ran"
    );
    // every table of the state file but the token's own column
    let tables = afk.sql_rows("SELECT name FROM sqlite_master WHERE type = 'table'");
    for t in tables {
        let q = if t[0] == "app_tokens" {
            "SELECT app_id, installation_id, expires_at FROM app_tokens".to_string()
        } else {
            format!("SELECT * FROM \"{}\"", t[0])
        };
        for row in afk.sql_rows(&q) {
            seen.push_str(&row.join(" "));
        }
    }
    assert!(!seen.contains(&key_line), "the private key leaked");
    assert!(!seen.contains("PRIVATE KEY"), "the private key leaked");
    assert!(!seen.contains(JWT_HEAD), "a JWT leaked");
    assert!(!seen.contains(TOKEN_HEAD), "the installation token leaked");
    // the token column holds it: that is where it is kept
    let tok = afk.sql_rows("SELECT token FROM app_tokens");
    assert!(tok[0][0].starts_with(TOKEN_HEAD));
}

#[test]
fn a_key_file_readable_by_others_is_refused() {
    let sb = app_sandbox(json!({"repos": [repo("acme/api", json!([]))]}));
    let afk = Afk::new(&sb, "enabled = true\nallowlist = [\"acme/api\"]", "");
    use_app(&afk, "test-app-key-pkcs1.pem", 0o644);
    let (code, _, out, err) = run(&afk, &["poll"]);
    assert_eq!(code, 2, "{out} {err}");
    assert!(err.contains("run chmod 600"), "{err}");
    assert!(err.contains("app.pem"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert_eq!(exchanges(&sb), 0);
}

#[test]
fn a_jwt_signed_by_another_key_gives_one_clear_line() {
    let sb = app_sandbox(json!({"repos": [repo("acme/api", json!([]))]}));
    let afk = Afk::new(&sb, "enabled = true\nallowlist = [\"acme/api\"]", "");
    use_app(&afk, "test-app-other-key.pem", 0o600);
    let (code, r, out, err) = run(&afk, &["poll"]);
    assert_ne!(code, 0, "{out} {err}");
    let all = format!("{out}\n{err}");
    assert!(
        all.contains("access_tokens returned 401") && all.contains("forge.app_private_key_file"),
        "{all} {r}"
    );
    assert!(!all.contains(JWT_HEAD));
    assert_eq!(exchanges(&sb), 0);
}

#[test]
fn pkcs1_and_pkcs8_keys_are_both_accepted() {
    for key in ["test-app-key-pkcs1.pem", "test-app-key-pkcs8.pem"] {
        let sb = app_sandbox(json!({"repos": [repo("acme/api", json!([]))]}));
        let afk = Afk::new(&sb, "enabled = true\nallowlist = [\"acme/api\"]", "");
        use_app(&afk, key, 0o400);
        let (code, r, _, err) = run(&afk, &["poll"]);
        assert_eq!(code, 0, "{key}: {err} {r}");
        assert_eq!(exchanges(&sb), 1, "{key}");
    }
}

#[test]
fn app_keys_are_checked_at_config_load() {
    let sb = app_sandbox(json!({"repos": [repo("acme/api", json!([]))]}));
    // (what the [forge] table gains, what the one line names)
    let cases = [
        ("token_env = \"AFK_FORGE_TOKEN\"\n", "forge.token_env"),
        ("token_file = \"tok\"\n", "forge.token_file"),
    ];
    for (extra, want) in cases {
        let afk = Afk::new(&sb, "enabled = true\nallowlist = [\"acme/api\"]", "");
        use_app(&afk, "test-app-key-pkcs1.pem", 0o600);
        let text = std::fs::read_to_string(&afk.config).unwrap().replacen(
            "[forge]\n",
            &format!("[forge]\n{extra}"),
            1,
        );
        std::fs::write(&afk.config, text).unwrap();
        let (code, _, _, err) = run(&afk, &["poll"]);
        assert_eq!(code, 2, "{extra}: {err}");
        assert!(err.contains(want) && err.contains("app_id"), "{err}");
        assert_eq!(err.trim().lines().count(), 1, "{err}");
    }
    // on Gitea, and without the installation or the key
    let gitea = "state_path = \"s.db\"\n[forge]\nurl = \"http://127.0.0.1:9\"\napp_id = 1\napp_installation_id = 2\napp_private_key_file = \"k.pem\"\n";
    let github = "state_path = \"s.db\"\n[forge]\nkind = \"github\"\napp_id = 1\n";
    let github_no_key =
        "state_path = \"s.db\"\n[forge]\nkind = \"github\"\napp_id = 1\napp_installation_id = 2\n";
    for (text, want) in [
        (gitea, "forge.kind = \"github\""),
        (github, "forge.app_installation_id"),
        (github_no_key, "forge.app_private_key_file"),
    ] {
        let afk = Afk::with_text(text);
        let (code, _, _, err) = run(&afk, &["doctor"]);
        assert_eq!(code, 2, "{text}: {err}");
        assert!(err.contains(want), "{want}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{err}");
    }
}

#[test]
fn doctor_shows_the_app_its_installation_the_token_and_missing_repos() {
    let sb =
        app_sandbox(json!({"repos": [repo("acme/api", json!([])), repo("acme/web", json!([]))]}));
    sb.admin("POST", "/app", Some(json!({"repos": ["acme/api"]})));
    let afk = Afk::new(
        &sb,
        "enabled = true\nallowlist = [\"acme/api\", \"acme/web\"]",
        "",
    );
    use_app(&afk, "test-app-key-pkcs1.pem", 0o600);
    let (code, r, _, err) = run(&afk, &["doctor"]);
    let line = |name: &str| {
        r["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["check"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("no {name} in {r} {err}"))
    };
    assert!(line("github app")["detail"].as_str().unwrap().contains(BOT));
    let inst = line("installation")["detail"].as_str().unwrap().to_string();
    assert!(inst.contains("acme") && inst.contains("selected"), "{inst}");
    assert!(
        line("installation token")["detail"]
            .as_str()
            .unwrap()
            .contains("expires at")
    );
    let repos = line("installation repos");
    assert_eq!(repos["ok"], false);
    let d = repos["detail"].as_str().unwrap();
    assert!(
        d.contains("acme/web") && !d.contains("acme/api") && d.contains("fix:"),
        "{d}"
    );
    assert_eq!(code, 1, "a failing check fails doctor");
    assert!(
        r["checks"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["check"] != "token"),
        "no GET /user: {r}"
    );
}

/// A call as the app (`jwt`) or its installation (`token`): (status, body).
fn call(sb: &Sandbox, method: &str, path: &str, bearer: &str) -> (u16, Value) {
    let req = ureq::AgentBuilder::new()
        .build()
        .request(method, &format!("{}{path}", sb.api_url()))
        .set("Authorization", &format!("Bearer {bearer}"))
        .set("Accept", "application/vnd.github+json")
        .set("X-GitHub-Api-Version", "2022-11-28");
    match req.call() {
        Ok(r) => (r.status(), r.into_json().unwrap_or(Value::Null)),
        Err(ureq::Error::Status(s, r)) => (s, r.into_json().unwrap_or(Value::Null)),
        Err(e) => panic!("{method} {path}: {e}"),
    }
}

#[test]
fn the_sandbox_app_routes_answer_in_githubs_published_shapes() {
    let p = fixture("../contracts/github-app-subset.json");
    let c: Value = serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap();
    let sb = app_sandbox(json!({"repos": [repo("acme/api", json!([]))]}));
    let key = afk::forge::app::key_from_pem(
        &std::fs::read_to_string(fixture("test-app-key-pkcs8.pem")).unwrap(),
        std::path::Path::new("k"),
    )
    .unwrap();
    let jwt = afk::forge::app::jwt(&key, APP_ID, time::OffsetDateTime::now_utc()).unwrap();
    let (s, token) = call(
        &sb,
        "POST",
        &format!("/app/installations/{INSTALLATION}/access_tokens"),
        &jwt,
    );
    assert_eq!(s, 201, "{token}");
    let tok = token["token"].as_str().unwrap().to_string();
    let cases = [
        ("GET", "/app", "/app".to_string(), &jwt, 200),
        (
            "GET",
            "/app/installations/{installation_id}",
            format!("/app/installations/{INSTALLATION}"),
            &jwt,
            200,
        ),
        (
            "GET",
            "/installation/repositories",
            "/installation/repositories".to_string(),
            &tok,
            200,
        ),
    ];
    let mut problems = vec![];
    let token_schema = &c["paths"]["/app/installations/{installation_id}/access_tokens"]["post"]["responses"]
        ["201"]["content"]["application/json"]["schema"];
    crate::contract::gh_check(&c, token_schema, &token, "access_tokens", &mut problems);
    for (method, template, path, bearer, status) in cases {
        let (s, body) = call(&sb, method, &path, bearer);
        assert_eq!(s, status, "{method} {path}: {body}");
        let schema = &c["paths"][template][method.to_ascii_lowercase()]["responses"]
            [status.to_string()]["content"]["application/json"]["schema"];
        assert!(
            schema.is_object(),
            "{method} {template} not in the contract"
        );
        crate::contract::gh_check(&c, schema, &body, &path, &mut problems);
    }
    assert!(problems.is_empty(), "{problems:#?}");
    // GitHub's refusals: an installation token on GET /user, a JWT by another key
    assert_eq!(call(&sb, "GET", "/user", &tok).0, 403);
    let other = afk::forge::app::key_from_pem(
        &std::fs::read_to_string(fixture("test-app-other-key.pem")).unwrap(),
        std::path::Path::new("k"),
    )
    .unwrap();
    let forged = afk::forge::app::jwt(&other, APP_ID, time::OffsetDateTime::now_utc()).unwrap();
    assert_eq!(call(&sb, "GET", "/app", &forged).0, 401);
    // iss of another app, and a JWT from the future
    let wrong_iss =
        afk::forge::app::jwt(&key, APP_ID + 1, time::OffsetDateTime::now_utc()).unwrap();
    assert_eq!(call(&sb, "GET", "/app", &wrong_iss).0, 401);
    let future = afk::forge::app::jwt(
        &key,
        APP_ID,
        time::OffsetDateTime::now_utc() + time::Duration::minutes(5),
    )
    .unwrap();
    assert_eq!(call(&sb, "GET", "/app", &future).0, 401);
}

#[test]
fn doctor_with_a_wrong_installation_id_fails_once_and_skips_what_depends_on_it() {
    let sb = app_sandbox(one_issue());
    let afk = Afk::new(&sb, "enabled = true\nallowlist = [\"acme/api\"]", "");
    use_app(&afk, "test-app-key-pkcs1.pem", 0o600);
    let text = std::fs::read_to_string(&afk.config).unwrap().replacen(
        &format!("app_installation_id = {INSTALLATION}"),
        "app_installation_id = 999999",
        1,
    );
    std::fs::write(&afk.config, text).unwrap();
    let (code, r, _, err) = run(&afk, &["doctor"]);
    assert_eq!(code, 1, "{r} {err}");
    let checks = r["checks"].as_array().unwrap_or_else(|| panic!("{err}"));
    let fails: Vec<&Value> = checks.iter().filter(|c| c["level"] == "fail").collect();
    assert_eq!(fails.len(), 1, "one FAIL: {fails:?}");
    assert_eq!(fails[0]["check"], "installation", "{fails:?}");
    assert!(
        fails[0]["detail"].as_str().unwrap().contains("999999"),
        "names the id: {fails:?}"
    );
    let skipped: Vec<&Value> = checks
        .iter()
        .filter(|c| c["detail"].as_str().unwrap_or("").contains("skipped"))
        .collect();
    assert_eq!(
        skipped.len(),
        1,
        "one line says what was skipped: {checks:?}"
    );
}
