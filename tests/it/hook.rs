//! `afk hook` through the binary (docs/hook.md): with `--body`
//! and `--header`, and with a raw HTTP request on standard input. Forged,
//! unsigned, oversized and slow requests are refused and change nothing; a
//! signed issue event starts poll for its repository alone; a redelivery
//! starts nothing; a repository outside the allowlist is ignored.

use crate::support::*;
use serde_json::json;
use std::io::Write;
use std::process::{Command, Stdio};

pub(crate) const SECRET_VAR: &str = "AFK_TEST_HOOK_SECRET";
pub(crate) const SECRET: &str = "test-hook-secret";
pub(crate) const HOOK: &str = "[hook]\nsecret_env = \"AFK_TEST_HOOK_SECRET\"\n";
const TWO: &str = "enabled = true\nallowlist = [\"acme/api\", \"acme/web\"]";

fn two_repos() -> Sandbox {
    Sandbox::start(json!({"repos": [
        repo("acme/api", json!([ready(1, "alice")])),
        repo("acme/web", json!([ready(2, "alice")])),
    ]}))
}

pub(crate) fn hex_mac(secret: &str, body: &str) -> String {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret.as_bytes());
    ring::hmac::sign(&key, body.as_bytes())
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// An issue event's body for `repo`, in the running dialect's shape.
pub(crate) fn issue_body(repo: &str) -> String {
    // each event a forge sends differs from the last (its times, its
    // sender's state): one body sent twice is one delivery replayed
    let n = EVENTS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    match dialect() {
        Dialect::Gitlab => json!({"object_kind": "issue", "project": {"path_with_namespace": repo}, "event_seq": n}),
        _ => json!({"action": "label_updated", "repository": {"full_name": repo}, "label": {"name": "ready-for-agent"}, "event_seq": n}),
    }
    .to_string()
}

static EVENTS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// The headers of an issue event signed with `secret`, as the running
/// dialect sends them.
fn signed(body: &str, delivery: &str, secret: &str) -> Vec<String> {
    let mac = hex_mac(secret, body);
    match dialect() {
        Dialect::Gitea => vec![
            "X-Gitea-Event: issues".into(),
            format!("X-Gitea-Signature: {mac}"),
            format!("X-Gitea-Delivery: {delivery}"),
        ],
        Dialect::Github => vec![
            "X-GitHub-Event: issues".into(),
            format!("X-Hub-Signature-256: sha256={mac}"),
            format!("X-GitHub-Delivery: {delivery}"),
        ],
        Dialect::Gitlab => vec![
            "X-Gitlab-Event: Issue Hook".into(),
            format!("X-Gitlab-Token: {secret}"),
            format!("X-Gitlab-Event-UUID: {delivery}"),
        ],
        // no signature: Basic auth, the delivery's id in the body
        Dialect::AzureDevops => vec![basic_auth(secret)],
    }
}

/// A service hook's `Authorization: Basic` header with `secret` as its
/// password (Azure DevOps's only proof of a delivery), its user name the
/// sandbox's (non-empty; a PAT's empty user name is not this).
pub(crate) fn basic_auth(secret: &str) -> String {
    basic_as("sandbox", secret)
}

/// `Authorization: Basic` of `user` and `password`.
pub(crate) fn basic_as(user: &str, password: &str) -> String {
    use base64::Engine;
    format!(
        "Authorization: Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    )
}

/// `afk hook --body FILE --header …`: (exit, stdout, stderr).
pub(crate) fn hook(afk: &Afk, body: &str, headers: &[String]) -> (i32, String, String) {
    let file = afk.scratch.write("body.json", body);
    let mut c = afk.std_cmd();
    c.env(SECRET_VAR, SECRET)
        .arg("hook")
        .arg("--body")
        .arg(file);
    for h in headers {
        c.arg("--header").arg(h);
    }
    done(c.output().unwrap())
}

pub(crate) fn done(out: std::process::Output) -> (i32, String, String) {
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

/// A raw request as a socket activator hands it.
fn raw(body: &str, headers: &[String]) -> String {
    let mut r = format!(
        "POST /hook HTTP/1.1\r\nHost: afk.example.org\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
        body.len()
    );
    for h in headers {
        r.push_str(h);
        r.push_str("\r\n");
    }
    r.push_str("\r\n");
    r.push_str(body);
    r
}

/// `afk hook` with `request` on standard input, which is then closed.
fn hook_raw(afk: &Afk, request: &str) -> (i32, String, String) {
    let mut c = afk.std_cmd();
    c.env(SECRET_VAR, SECRET)
        .arg("hook")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = c.spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    // a refused request may be answered before all of it is written
    let _ = stdin.write_all(request.as_bytes());
    drop(stdin);
    done(child.wait_with_output().unwrap())
}

pub(crate) fn runs(afk: &Afk) -> Vec<(String, String)> {
    if !afk.state().exists() {
        return vec![];
    }
    afk.sql_rows("SELECT repo, issue FROM runs ORDER BY id")
        .into_iter()
        .map(|r| (r[0].clone(), r[1].clone()))
        .collect()
}

both_dialects! {
    #[test]
    fn a_forged_signature_is_401_and_nothing_else_happens() {
        let sb = two_repos();
        let afk = Afk::new(&sb, TWO, HOOK);
        let body = issue_body("acme/api");
        let mut forged = vec![
            signed(&body, "d-1", "not-the-secret"),
            // no signature at all
            signed(&body, "d-1", SECRET).into_iter().filter(|h| !h.contains("Signature") && !h.contains("Token")).collect(),
        ];
        // signed, then the body changed (GitLab's token signs no body)
        if dialect() != Dialect::Gitlab {
            forged.push(signed(&issue_body("acme/web"), "d-1", SECRET));
        }
        for headers in forged {
            let (code, out, err) = hook(&afk, &body, &headers);
            assert_eq!(code, 1, "{out}{err}");
            assert!(out.starts_with("HTTP/1.1 401 "), "{out}");
            assert_eq!(err.lines().filter(|l| l.contains("hook: 401")).count(), 1, "{err}");
            assert!(!err.contains("label_updated") && !err.contains("object_kind"), "the body is never logged: {err}");
        }
        let (code, out, _) = hook_raw(&afk, &raw(&body, &signed(&body, "d-1", "nope")));
        assert_eq!((code, out.starts_with("HTTP/1.1 401 ")), (1, true), "{out}");
        assert!(!afk.scratch.path("state").exists(), "no state file, no lock file");
        assert!(sb.requests().is_empty(), "no forge request");
    }

    #[test]
    fn without_a_secret_every_request_is_503_and_exit_2() {
        let sb = two_repos();
        let afk = Afk::new(&sb, TWO, "[hook]\nwait_lock = \"1s\"\n");
        let body = issue_body("acme/api");
        let (code, out, err) = hook(&afk, &body, &signed(&body, "d-1", SECRET));
        assert_eq!(code, 2, "{out}{err}");
        assert!(out.starts_with("HTTP/1.1 503 "), "{out}");
        assert!(err.contains("hook.secret_env"), "{err}");
        assert!(!afk.scratch.path("state").exists());
        // [hook] without a secret is no error for any other command
        let (code, _, err) = afk.json(&["status"]);
        assert_eq!(code, 0, "{err}");
    }

    #[test]
    fn an_oversized_request_is_413_before_its_body_is_read() {
        let sb = two_repos();
        let afk = Afk::new(&sb, TWO, &format!("{HOOK}max_body = \"1KiB\"\n"));
        let body = format!("{{\"repository\":{{\"full_name\":\"acme/api\"}},\"pad\":\"{}\"}}", "x".repeat(2000));
        let headers = signed(&body, "d-1", SECRET);
        let (code, out, _) = hook(&afk, &body, &headers);
        assert_eq!((code, out.starts_with("HTTP/1.1 413 ")), (1, true), "{out}");
        // a Content-Length over max_body is refused with the body unsent
        let head = "POST /hook HTTP/1.1\r\nContent-Length: 100000000\r\n\r\n";
        let (code, out, _) = hook_raw(&afk, head);
        assert_eq!((code, out.starts_with("HTTP/1.1 413 ")), (1, true), "{out}");
        assert!(!afk.scratch.path("state").exists());
        assert!(sb.requests().is_empty());
    }

    #[test]
    fn a_request_that_never_finishes_is_408_within_read_timeout() {
        let sb = two_repos();
        let afk = Afk::new(&sb, TWO, &format!("{HOOK}read_timeout = \"1s\"\n"));
        let body = issue_body("acme/api");
        let request = raw(&body, &signed(&body, "d-1", SECRET));
        let mut c: Command = afk.std_cmd();
        c.env(SECRET_VAR, SECRET)
            .arg("hook")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = c.spawn().unwrap();
        let mut stdin = child.stdin.take().unwrap();
        // all but the body's last byte, and the pipe held open
        stdin.write_all(&request.as_bytes()[..request.len() - 1]).unwrap();
        let started = std::time::Instant::now();
        let (code, out, _) = done(child.wait_with_output().unwrap());
        drop(stdin);
        assert_eq!((code, out.starts_with("HTTP/1.1 408 ")), (1, true), "{out}");
        assert!(started.elapsed() < std::time::Duration::from_secs(30));
        assert!(!afk.scratch.path("state").exists());
        assert!(sb.requests().is_empty());
    }

    #[test]
    fn a_signed_issue_event_starts_poll_for_its_repository_alone_and_once() {
        let sb = two_repos();
        let afk = Afk::new(&sb, TWO, HOOK);
        let body = issue_body("acme/api");
        let headers = signed(&body, "d-1", SECRET);
        let (code, out, err) = hook(&afk, &body, &headers);
        assert_eq!(code, 0, "{out}{err}");
        assert!(out.starts_with("HTTP/1.1 202 "), "{out}");
        assert!(out.ends_with("poll tick for acme/api\n"), "only the answer on stdout: {out}");
        assert_eq!(runs(&afk), [("acme/api".to_string(), "1".to_string())], "{err}");
        assert!(afk.scratch.path("state/runs/1").exists(), "the agent's run folder: {err}");
        // the same delivery again (a raw request this time): nothing
        let (code, out, err) = hook_raw(&afk, &raw(&body, &headers));
        assert_eq!(code, 0, "{out}{err}");
        assert!(out.contains("202 Accepted") && out.ends_with("delivery already handled\n"), "{out}");
        assert_eq!(runs(&afk).len(), 1);
        // the captured delivery replayed under a new id: nothing
        let (code, out, err) = hook(&afk, &body, &signed(&body, "d-2", SECRET));
        assert_eq!(code, 0, "{err}");
        assert!(out.ends_with("delivery already handled\n"), "{out}{err}");
        // a new event for the repository: its poll finds the claim
        let body = issue_body("acme/api");
        let (code, _, err) = hook(&afk, &body, &signed(&body, "d-3", SECRET));
        assert_eq!(code, 0, "{err}");
        assert_eq!(runs(&afk).len(), 1, "never two agents: {err}");
        // each issue event's poll is followed by watch: a run is in flight
        let counted = afk.sql_rows("SELECT kind, count FROM hook_ticks");
        assert_eq!(counted, [["poll".to_string(), "2".to_string()], ["watch".to_string(), "2".to_string()]]);
        // afk status counts them per kind
        let (code, status, err) = afk.json(&["status"]);
        assert_eq!(code, 0, "{err}");
        let poll = status["ticks"].as_array().unwrap().iter().find(|t| t["kind"] == "poll").unwrap().clone();
        assert_eq!(poll["by_events"]["ticks"], 2, "{status}");
        let out = afk.cmd().arg("status").output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("2 started by events (last"), "{text}");
        let html = afk.cmd().args(["status", "--html"]).output().unwrap();
        assert!(String::from_utf8_lossy(&html.stdout).contains("<th>started by events</th>"));
    }

    #[test]
    fn doctor_checks_the_hook_secret_where_hook_names_one() {
        let sb = two_repos();
        let doctor = |afk: &Afk, secret: Option<&str>| {
            let mut c = afk.std_cmd();
            c.env_remove(SECRET_VAR).args(["--json", "doctor"]);
            if let Some(s) = secret {
                c.env(SECRET_VAR, s);
            }
            let out = c.output().unwrap();
            let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
            v["checks"]
                .as_array()
                .unwrap()
                .iter()
                .find(|c| c["check"] == "hook")
                .cloned()
        };
        let afk = Afk::new(&sb, TWO, HOOK);
        let missing = doctor(&afk, None).expect("a hook check");
        assert!(missing.to_string().contains("503"), "{missing}");
        let set = doctor(&afk, Some("0123456789abcdef0123456789abcdef")).unwrap();
        assert_eq!(set["ok"], true, "{set}");
        assert!(!set.to_string().contains("0123456789abcdef"), "never the secret: {set}");
        let none = Afk::new(&sb, TWO, "");
        assert_eq!(doctor(&none, None), None, "no [hook] secret named: no check");
    }

    #[test]
    fn a_repository_outside_the_allowlist_is_202_and_ignored() {
        let sb = two_repos();
        let afk = Afk::new(&sb, "enabled = true\nallowlist = [\"acme/api\"]", HOOK);
        let body = issue_body("acme/web");
        let (code, out, err) = hook(&afk, &body, &signed(&body, "d-1", SECRET));
        assert_eq!(code, 0, "{out}{err}");
        assert!(out.starts_with("HTTP/1.1 202 ") && out.contains("ignored: acme/web is not in poll.allowlist"), "{out}");
        assert!(!afk.scratch.path("state").exists());
        assert!(sb.requests().is_empty());
    }

    #[test]
    fn the_kill_switch_and_the_stop_file_hold_for_every_event() {
        let sb = two_repos();
        // the kill switch: answered, nothing started, no state, no request
        let afk = Afk::new(&sb, "enabled = false\nallowlist = [\"acme/api\", \"acme/web\"]", HOOK);
        let body = issue_body("acme/api");
        let (code, out, err) = hook(&afk, &body, &signed(&body, "d-1", SECRET));
        assert_eq!(code, 0, "{out}{err}");
        assert!(out.starts_with("HTTP/1.1 202 ") && out.contains("kill switch is on"), "{out}");
        assert!(!afk.scratch.path("state").exists(), "no state file");
        assert!(sb.requests().is_empty(), "no forge request");
        // the stop file: the same, and the delivery is not recorded (cron's
        // ticks are the way back; a redelivery after the brake is lifted runs)
        let afk = Afk::new(&sb, TWO, HOOK);
        assert_eq!(afk.poll().0, 0, "the state file");
        sb.clear_requests();
        let stop = afk.scratch.path("state/STOP");
        std::fs::write(&stop, "").unwrap();
        let (code, out, err) = hook(&afk, &body, &signed(&body, "d-2", SECRET));
        assert_eq!(code, 0, "{out}{err}");
        assert!(out.contains("the stop file"), "{out}");
        assert!(sb.requests().is_empty(), "no forge request");
        assert!(afk.sql_rows("SELECT id FROM hook_deliveries").is_empty(), "not recorded");
        // and no slot taken, no due flag left: nothing queued for later
        let queued: Vec<_> = std::fs::read_dir(afk.scratch.path("state"))
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with("event-"))
            .collect();
        assert!(queued.is_empty(), "{queued:?}");
    }
}

/// acme/api with issue #1 armed, afk's state file made, and the poll lock
/// held by the returned file (as cron's poll holds it) until it is dropped.
fn armed_with_the_poll_lock_held(hook: &str) -> (Sandbox, Afk, std::fs::File) {
    let sb = Sandbox::start(json!({"repos": [repo("acme/api", json!([]))]}));
    let afk = Afk::new(&sb, "enabled = true\nallowlist = [\"acme/api\"]", hook);
    assert_eq!(afk.poll().0, 0, "the state file");
    sb.admin(
        "POST",
        "/issues",
        Some(json!({"repo": "acme/api", "issue": ready(1, "alice")})),
    );
    let lock = std::fs::File::options()
        .create(true)
        .append(true)
        .open(afk.scratch.path("state/poll.lock"))
        .unwrap();
    lock.lock().unwrap();
    (sb, afk, lock)
}

/// While a tick of its kind holds the lock past `wait_lock`
/// (docs/hook.md#what-it-answers), an event is answered 202 and left to the
/// next tick, and writes nothing to the state file: not its delivery (a
/// redelivery then starts the tick it never had), not a count. The event
/// writes the state file only under the tick's lock, so a cron tick holding
/// that lock never meets it there.
#[test]
fn an_event_left_to_the_next_tick_writes_nothing_outside_the_ticks_lock() {
    // cron's poll holds the poll lock
    let (_sb, afk, lock) = armed_with_the_poll_lock_held(&format!("{HOOK}wait_lock = \"0s\"\n"));
    let body = issue_body("acme/api");
    let headers = signed(&body, "d-held", SECRET);
    let (code, out, err) = hook(&afk, &body, &headers);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.starts_with("HTTP/1.1 202 ") && out.ends_with("poll tick for acme/api\n"),
        "{out}"
    );
    assert!(err.contains("left to the next tick"), "{err}");
    assert!(
        afk.sql_rows("SELECT id FROM hook_deliveries").is_empty(),
        "no delivery recorded: {err}"
    );
    assert!(
        afk.sql_rows("SELECT kind FROM hook_ticks").is_empty(),
        "no tick counted: {err}"
    );
    assert!(runs(&afk).is_empty());
    drop(lock);
    // the same delivery again, the lock free: its tick runs now, once
    let (code, out, err) = hook(&afk, &body, &headers);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.ends_with("poll tick for acme/api\n"), "{out}");
    assert_eq!(
        runs(&afk),
        [("acme/api".to_string(), "1".to_string())],
        "{err}"
    );
    let (_, out, _) = hook(&afk, &body, &headers);
    assert!(out.ends_with("delivery already handled\n"), "{out}");
    assert_eq!(
        afk.sql_rows("SELECT kind, count FROM hook_ticks"),
        // the poll that started the agent, then watch (a run in flight)
        [
            ["poll".to_string(), "1".to_string()],
            ["watch".to_string(), "1".to_string()]
        ]
    );
}

/// One delivery twice at once (a forge's retry while the first still waits
/// for the lock; docs/hook.md#what-it-answers): both answered before either
/// records it, and still one tick, counted once. The delivery is recorded by
/// the tick that holds the lock; the other's ends with nothing done or steps
/// aside.
#[test]
fn one_delivery_twice_at_once_starts_one_tick() {
    use std::io::Read;
    let (_sb, afk, lock) = armed_with_the_poll_lock_held(HOOK);
    let body = issue_body("acme/api");
    let file = afk.scratch.write("body.json", &body);
    let start = || {
        let mut c = afk.std_cmd();
        c.env(SECRET_VAR, SECRET)
            .arg("hook")
            .arg("--body")
            .arg(&file)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for h in signed(&body, "d-twice", SECRET) {
            c.arg("--header").arg(h);
        }
        c.spawn().unwrap()
    };
    let mut both = [start(), start()];
    // each answers and hangs up, then waits for the lock the test holds
    for h in &mut both {
        let mut answer = String::new();
        h.stdout
            .take()
            .unwrap()
            .read_to_string(&mut answer)
            .unwrap();
        assert!(answer.ends_with("poll tick for acme/api\n"), "{answer}");
    }
    drop(lock);
    let ended = both.map(|h| done(h.wait_with_output().unwrap()));
    for (code, _, err) in &ended {
        assert_eq!(*code, 0, "{err}");
    }
    let logs = format!("{}\n{}", ended[0].2, ended[1].2);
    assert_eq!(
        runs(&afk),
        [("acme/api".to_string(), "1".to_string())],
        "{logs}"
    );
    assert_eq!(
        afk.sql_rows("SELECT kind, count FROM hook_ticks"),
        // the poll that started the agent, then watch (a run in flight)
        [
            ["poll".to_string(), "1".to_string()],
            ["watch".to_string(), "1".to_string()]
        ],
        "{logs}"
    );
}

/// Cron's poll and an event's poll for the same armed issue, started at
/// once, again and again (docs/hook.md#what-it-answers): one agent each
/// time, never two, and never a label without one.
#[test]
fn a_cron_poll_and_an_events_poll_at_once_start_one_agent() {
    for round in 0..4 {
        let sb = Sandbox::start(json!({"repos": [repo("acme/api", json!([ready(1, "alice")]))]}));
        let afk = Afk::new(&sb, "enabled = true\nallowlist = [\"acme/api\"]", HOOK);
        let body = issue_body("acme/api");
        let file = afk.scratch.write("body.json", &body);
        let mut hook = afk.std_cmd();
        hook.env(SECRET_VAR, SECRET)
            .arg("hook")
            .arg("--body")
            .arg(&file)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for h in signed(&body, &format!("race-{round}"), SECRET) {
            hook.arg("--header").arg(h);
        }
        let mut cron = afk.std_cmd();
        cron.args(["-q", "poll"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        // the two started in either order
        let (a, b) = if round % 2 == 0 {
            (hook.spawn().unwrap(), cron.spawn().unwrap())
        } else {
            let c = cron.spawn().unwrap();
            (hook.spawn().unwrap(), c)
        };
        let (ha, hb) = (
            done(a.wait_with_output().unwrap()),
            done(b.wait_with_output().unwrap()),
        );
        assert_eq!(ha.0, 0, "hook: {}{}", ha.1, ha.2);
        // cron's poll either ran, or met the state file the hook was writing
        // (its delivery id) busy and said so in one line: never a second agent
        // the event writes the state file only inside its tick, under the
        // poll lock: cron's poll ran, or stepped aside, and never failed
        assert_eq!(hb.0, 0, "poll: {}\nhook: {}", hb.2, ha.2);
        assert_eq!(
            runs(&afk),
            [("acme/api".to_string(), "1".to_string())],
            "round {round}: one agent\nhook: {}\npoll: {}",
            ha.2,
            hb.2
        );
        let folders = std::fs::read_dir(afk.scratch.path("state/runs"))
            .unwrap()
            .count();
        assert_eq!(folders, 1, "round {round}: one agent started");
    }
}

/// `json` form-encoded as GitHub and Gitea send a `form` delivery:
/// `payload=` and the JSON as Go's `url.QueryEscape` writes it (a space
/// `+`, every byte but letters, digits and `-_.~` escaped).
pub(crate) fn form(json: &str) -> String {
    let mut out = String::from("payload=");
    for b in json.bytes() {
        match b {
            b' ' => out.push('+'),
            b if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) => out.push(b as char),
            b => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// The content type a form delivery is sent with.
const FORM: &str = "Content-Type: application/x-www-form-urlencoded";

/// GitHub's webhooks default to the `form` content type, signed over the
/// body as sent; Gitea's and Forgejo's form deliveries are signed over the
/// JSON they carry. Each, signed as its forge signs it, starts its tick;
/// signed the other forge's way, it is refused.
#[test]
fn a_form_delivery_is_read_as_each_forge_signs_it() {
    for (d, signs_the_json) in [(Dialect::Github, false), (Dialect::Gitea, true)] {
        with_dialect(d, || {
            let sb = two_repos();
            let afk = Afk::new(&sb, TWO, HOOK);
            let json = issue_body("acme/api");
            let body = form(&json);
            let (right, wrong) = if signs_the_json {
                (&json, &body)
            } else {
                (&body, &json)
            };
            let mut headers = signed(right, "f-1", SECRET);
            headers.push(FORM.into());
            let mut forged = signed(wrong, "f-0", SECRET);
            forged.push(FORM.into());
            let (code, out, _) = hook(&afk, &body, &forged);
            assert_eq!(code, 1, "{d:?}: signed over the wrong bytes: {out}");
            assert!(out.starts_with("HTTP/1.1 401 "), "{d:?}: {out}");
            assert!(runs(&afk).is_empty(), "{d:?}");
            let (code, out, err) = hook(&afk, &body, &headers);
            assert_eq!(code, 0, "{d:?}: {out}{err}");
            assert!(
                out.ends_with("poll tick for acme/api\n"),
                "{d:?}: {out}{err}"
            );
            assert_eq!(
                runs(&afk),
                [("acme/api".to_string(), "1".to_string())],
                "{d:?}: {err}"
            );
        });
    }
}

/// GitLab delivers an award on a note (a 👍 answering afk's question) as an
/// `Emoji Hook`: its watch starts at once, never left to cron.
#[test]
fn a_gitlab_emoji_delivery_starts_watch_for_its_project() {
    with_dialect(Dialect::Gitlab, || {
        let sb = two_repos();
        let afk = Afk::new(&sb, TWO, HOOK);
        let body = json!({"object_kind": "emoji", "event_type": "award",
            "user": {"username": "alice"}, "project": {"path_with_namespace": "acme/api"},
            "object_attributes": {"id": 5, "name": "thumbsup", "awardable_type": "Note",
                "awardable_id": 9, "action": "award"}})
        .to_string();
        let headers = vec![
            "X-Gitlab-Event: Emoji Hook".to_string(),
            format!("X-Gitlab-Token: {SECRET}"),
            "X-Gitlab-Event-UUID: e-1".to_string(),
        ];
        let (code, out, err) = hook(&afk, &body, &headers);
        assert_eq!(code, 0, "{out}{err}");
        assert!(out.ends_with("watch tick for acme/api\n"), "{out}{err}");
    });
}
