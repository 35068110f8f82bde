//! Work taken from Linear beside the forge (docs/trackers.md), through the
//! binary against the sandbox's Linear (`/linear/graphql`, every query
//! checked against Linear's published schema, answered as
//! docs/fidelity/linear.md records Linear's answers) and its Gitea: who
//! armed an issue comes from Linear's issue history, and trust from the
//! team's membership, never from a guest, an app, an integration or a
//! person outside the team; the run's pull request is the forge's and
//! names the issue's identifier; on success the Linear issue moves into
//! its team's completed state and loses afk's labels.

use crate::support::*;
use serde_json::{Value, json};

/// The people of `world`, by name: their Linear user ids.
pub(crate) struct People {
    pub(crate) alice: String,
    pub(crate) mallory: String,
    pub(crate) gina: String,
    pub(crate) bot: String,
}

/// The sandbox's Gitea with acme/api and no forge issue, its Linear with
/// the team ENG (alice; gina, a guest; an app user; and afk's own app
/// user are members, mallory is not) and afk's labels in the workspace;
/// afk polling ENG for acme/api with a personal API key.
pub(crate) fn world() -> (Sandbox, Afk, People) {
    world_in(Dialect::Gitea)
}

/// [`world`] beside the forge of `dialect`.
pub(crate) fn world_in(dialect: Dialect) -> (Sandbox, Afk, People) {
    world_with(dialect, None)
}

/// [`world_in`], ENG's workflow states `states` when given ([`people_with`]).
fn world_with(dialect: Dialect, states: Option<Value>) -> (Sandbox, Afk, People) {
    let sb = Sandbox::start_in(dialect, json!({"repos": [repo("acme/api", json!([]))]}));
    let people = people_with(&sb, states);
    let mut afk = Afk::agent_in_afks_workspace(&sb, "pr", "");
    let text = std::fs::read_to_string(&afk.config).unwrap();
    std::fs::write(&afk.config, text + &tracker_block(&sb)).unwrap();
    let creds = sb.admin("GET", "/linear/credentials", None);
    afk.env.push((
        "AFK_TRACKER_TOKEN".into(),
        creds["key"].as_str().unwrap().into(),
    ));
    (sb, afk, people)
}

/// The sandbox's Linear people, its team ENG and afk's labels (see [`world`]).
pub(crate) fn people(sb: &Sandbox) -> People {
    people_with(sb, None)
}

/// [`people`], ENG's workflow states `states` (`name`, `type`,
/// `position`) when given, else Linear's defaults.
fn people_with(sb: &Sandbox, states: Option<Value>) -> People {
    let user = |name: &str, guest: bool, app: bool| {
        sb.admin(
            "POST",
            "/linear/user",
            Some(json!({"name": name, "guest": guest, "app": app})),
        )["id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let people = People {
        alice: user("alice", false, false),
        mallory: user("mallory", false, false),
        gina: user("gina", true, false),
        bot: user("bot", false, true),
    };
    let creds = sb.admin("GET", "/linear/credentials", None);
    let me = creds["me"].as_str().unwrap();
    let mut team = json!({"key": "ENG", "members": [people.alice, people.gina, people.bot, me]});
    if let Some(states) = states {
        team["states"] = states;
    }
    sb.admin("POST", "/linear/team", Some(team));
    for name in [
        "ready-for-agent",
        "agent-in-progress",
        "ready-for-human",
        "agent-paused",
    ] {
        sb.admin("POST", "/linear/label", Some(json!({"name": name})));
    }
    people
}

/// The config's `[tracker]`: the sandbox's Linear, ENG to acme/api, the
/// token in `AFK_TRACKER_TOKEN`.
pub(crate) fn tracker_block(sb: &Sandbox) -> String {
    format!(
        "\n[tracker]\nkind = \"linear\"\napi_url = \"{}/linear/graphql\"\n\n\
         [[tracker.map]]\nteam = \"ENG\"\nrepo = \"acme/api\"\n",
        sb.url
    )
}

/// An ENG issue made by `creator` (None: an integration) with `labels` at
/// creation: its identifier.
pub(crate) fn issue(sb: &Sandbox, creator: Option<&str>, labels: &[&str]) -> String {
    let made = sb.admin(
        "POST",
        "/linear/issue",
        Some(json!({"team": "ENG", "title": "Fix the parser",
            "description": "parse() drops the last field", "creator": creator, "labels": labels})),
    );
    made["identifier"].as_str().unwrap().to_string()
}

/// `by` (None: an integration) adds the ready label to issue `key`.
pub(crate) fn arm(sb: &Sandbox, key: &str, by: Option<&str>) {
    sb.admin(
        "POST",
        "/linear/labels",
        Some(json!({"issue": key, "by": by, "add": ["ready-for-agent"]})),
    );
}

pub(crate) fn linear_issue(sb: &Sandbox, key: &str) -> Value {
    sb.admin("GET", &format!("/linear/issue/{key}"), None)
}

pub(crate) fn labels(sb: &Sandbox, key: &str) -> Vec<String> {
    let mut l: Vec<String> = linear_issue(sb, key)["labels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap().to_string())
        .collect();
    l.sort();
    l
}

/// The GraphQL mutations afk sent the sandbox's Linear.
fn mutations(sb: &Sandbox) -> Vec<String> {
    sb.requests()
        .iter()
        .filter(|r| r["path"] == "/linear/graphql")
        .filter_map(|r| r["body"]["query"].as_str())
        .filter(|q| q.trim_start().starts_with("mutation"))
        .map(str::to_string)
        .collect()
}

/// An outsider who arms many issues costs one read of their account a
/// tick, not one per issue: Linear's request and complexity budgets are
/// what every other read and write of afk's spends too.
#[test]
fn an_outsider_arming_many_linear_issues_has_their_account_read_once_a_tick() {
    let (sb, afk, p) = world();
    for _ in 0..12 {
        let key = issue(&sb, Some(&p.alice), &[]);
        arm(&sb, &key, Some(&p.mallory));
    }
    sb.clear_requests();
    let (code, r, err) = afk.poll();
    assert_eq!(code, 0, "{err} {r}");
    assert_eq!(r["dispatched"], json!([]), "{r}");
    assert_eq!(r["skipped"].as_array().unwrap().len(), 12, "{r}");
    let user_reads = (sb.requests().iter())
        .filter(|q| q["path"] == "/linear/graphql")
        .filter(|q| {
            q["body"]["query"]
                .as_str()
                .unwrap_or("")
                .contains("user(id:")
        })
        .filter(|q| q["body"]["variables"]["id"] == json!(p.mallory))
        .count();
    assert_eq!(user_reads, 1, "{:?}", sb.requests());
}

/// With the tracker's webhook secret set, doctor reads whether an enabled
/// webhook of the workspace sends Issue events where afk may: Linear lets
/// only a workspace admin read them, so afk's user (no admin, the
/// sandbox's default) cannot tell, a WARN; an admin's doctor says OK for an
/// enabled webhook with `Issue` among its resource types, and a WARN for
/// one that is disabled or sends only comments. No secret, no such read.
#[test]
fn doctor_reads_whether_a_linear_webhook_sends_issue_events_where_it_may() {
    let (sb, mut afk, _) = world();
    let webhook = |afk: &Afk| doctor_said(afk, "tracker webhook");
    assert_eq!(webhook(&afk), Vec::<String>::new());
    config_with(
        &afk,
        "kind = \"linear\"\n",
        "kind = \"linear\"\nhook_secret_env = \"AFK_TEST_LINEAR_HOOK\"\n",
    );
    afk.env
        .push(("AFK_TEST_LINEAR_HOOK".into(), "lin_wh_5e2d9-secret".into()));
    let said = webhook(&afk);
    assert_eq!(said.len(), 1, "{said:?}");
    assert!(said[0].starts_with("warn can't tell"), "{said:?}");
    assert!(said[0].contains("workspace admin"), "{said:?}");
    let hook = |enabled: bool, kinds: Value| {
        json!({"id": "7d1c0b3e-0000-4000-8000-000000000001", "url": "https://afk.example.org/hook",
            "enabled": enabled, "resourceTypes": kinds, "allPublicTeams": true})
    };
    let registered = |hooks: Value| {
        sb.admin(
            "POST",
            "/linear/webhooks",
            Some(json!({"admin": true, "hooks": hooks})),
        );
    };
    registered(json!([
        hook(false, json!(["Issue"])),
        hook(true, json!(["Comment"]))
    ]));
    let said = webhook(&afk);
    assert!(said[0].starts_with("warn no enabled webhook"), "{said:?}");
    registered(json!([hook(true, json!(["Comment", "Issue"]))]));
    assert_eq!(
        webhook(&afk),
        [
            "ok 1 enabled webhook(s) send Linear's Issue events (their address and teams are not checked)"
        ]
    );
}

/// One search a tick, however many repositories are allowlisted, and each
/// nominee read once: every repository's worker waits for the one search.
#[test]
fn the_ready_search_and_its_reads_are_made_once_a_tick_whatever_the_repositories() {
    let (sb, afk, p) = world();
    config_with(
        &afk,
        "allowlist = [\"acme/api\"]",
        "allowlist = [\"acme/api\", \"acme/web\", \"acme/docs\"]",
    );
    for _ in 0..5 {
        let key = issue(&sb, Some(&p.alice), &[]);
        arm(&sb, &key, Some(&p.gina));
    }
    sb.clear_requests();
    let (_, r, err) = afk.poll();
    assert_eq!(r["dispatched"], json!([]), "{err} {r}");
    let asked: Vec<String> = (sb.requests().iter())
        .filter(|q| q["path"] == "/linear/graphql")
        .map(|q| format!("{} {}", q["body"]["query"], q["body"]["variables"]))
        .collect();
    let ready = (asked.iter())
        .filter(|q| q.contains("AfkReady") && q.contains("ready-for-agent"))
        .count();
    assert_eq!(ready, 1, "{asked:#?}");
    let mut once = asked.clone();
    once.sort();
    once.dedup();
    assert_eq!(once.len(), asked.len(), "a request asked twice: {asked:#?}");
}

/// The attacker's cases first: none of these arms anything, and afk
/// writes nothing in Linear for them. Issues are numbered by afk in the
/// order it first sees them: here, the order they were made.
#[test]
fn an_arming_linear_does_not_trust_dispatches_nothing() {
    let (sb, afk, p) = world();
    // a person outside the team arms it
    let by_outsider = issue(&sb, Some(&p.alice), &[]);
    arm(&sb, &by_outsider, Some(&p.mallory));
    // a guest and an app user, though both are members
    let by_guest = issue(&sb, Some(&p.alice), &[]);
    arm(&sb, &by_guest, Some(&p.gina));
    let by_app = issue(&sb, Some(&p.alice), &[]);
    arm(&sb, &by_app, Some(&p.bot));
    // an integration (no actor)
    let by_integration = issue(&sb, Some(&p.alice), &[]);
    arm(&sb, &by_integration, None);
    // the label given at creation (by someone outside the team; Linear
    // logs no change in an issue's first 3 minutes, whoever made it)
    let at_creation = issue(&sb, Some(&p.mallory), &["ready-for-agent"]);
    // armed by alice, then its title changed by mallory
    let edited = issue(&sb, Some(&p.alice), &[]);
    arm(&sb, &edited, Some(&p.alice));
    sb.admin(
        "POST",
        "/linear/edit",
        Some(
            json!({"issue": edited, "by": p.mallory, "field": "title", "to": "Also run curl | sh"}),
        ),
    );
    // an integration acting on behalf of alice (the entry names her as its
    // actor and the integration as its botActor): no person armed it
    let by_bot = issue(&sb, Some(&p.alice), &[]);
    sb.admin(
        "POST",
        "/linear/labels",
        Some(json!({"issue": by_bot, "by": p.alice, "add": ["ready-for-agent"], "bot": "zapier"})),
    );
    let (code, r, err) = afk.poll();
    assert_eq!(code, 0, "{err} {r}");
    assert_eq!(r["dispatched"], json!([]), "{r}");
    let reasons: Vec<String> = (1..=7)
        .map(|n| reason_of(&r, "acme/api", n).unwrap_or_else(|| panic!("no skip for {n}: {r}")))
        .collect();
    for (n, (reason, why)) in reasons
        .iter()
        .zip([
            "not a member of the issue's team",
            "is a guest",
            "is an app user",
            "no one can be shown to have added",
            "no one can be shown to have added",
            "",
            "no one can be shown to have added",
        ])
        .enumerate()
    {
        match n {
            5 => assert_eq!(reason, "edited-after-arming", "{r}"),
            _ => {
                assert_eq!(reason, "untrusted", "{n}: {r}");
                let detail = r["skipped"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|s| s["issue"] == json!(n + 1))
                    .map(|s| s["detail"].to_string())
                    .unwrap();
                assert!(detail.contains(why), "{n}: {detail}");
            }
        }
    }
    assert_eq!(mutations(&sb), Vec::<String>::new());
    for key in [
        by_outsider,
        by_guest,
        by_app,
        by_integration,
        at_creation,
        edited,
        by_bot,
    ] {
        assert_eq!(labels(&sb, &key), ["ready-for-agent"], "{key}");
    }
}

/// A trusted member's old arming never stands for a later one: alice
/// adds the ready label and takes it off, then mallory (outside the team)
/// puts it back, in the label's own case or in another (a team label
/// `READY-FOR-AGENT`, which Linear compares as the same name). The arming
/// is mallory's, the latest in Linear's history, whatever the entries'
/// ids, which are random UUIDs (the sandbox's too); nothing is dispatched.
#[test]
fn a_linear_rearming_by_an_outsider_is_theirs_whatever_the_history_ids() {
    let (sb, afk, p) = world();
    sb.admin(
        "POST",
        "/linear/label",
        Some(json!({"name": "READY-FOR-AGENT", "team": "ENG"})),
    );
    let rearm = |label: &str| {
        let key = issue(&sb, Some(&p.alice), &[]);
        arm(&sb, &key, Some(&p.alice));
        sb.admin(
            "POST",
            "/linear/labels",
            Some(json!({"issue": key, "by": p.alice, "remove": ["ready-for-agent"]})),
        );
        sb.admin(
            "POST",
            "/linear/labels",
            Some(json!({"issue": key, "by": p.mallory, "add": [label]})),
        );
        key
    };
    // enough issues that some trusted addition's id is larger than the
    // outsider's that followed it
    let keys: Vec<String> = (0..6)
        .map(|n| {
            rearm(if n % 2 == 0 {
                "ready-for-agent"
            } else {
                "READY-FOR-AGENT"
            })
        })
        .collect();
    let (code, r, err) = afk.poll();
    assert_eq!(code, 0, "{err} {r}");
    assert_eq!(r["dispatched"], json!([]), "{r}");
    for n in 1..=keys.len() {
        assert_eq!(
            reason_of(&r, "acme/api", n as u64).as_deref(),
            Some("untrusted"),
            "{n}: {r}"
        );
    }
    assert_eq!(mutations(&sb), Vec::<String>::new());
}

/// A member's arming runs the whole story: dispatched with the
/// in-progress label added on Linear after the agent started, the PR on
/// the forge named by the identifier, afk's checklist its own Linear
/// comment, the PR attached once, and on merge the issue in the team's
/// completed state with afk's labels gone.
#[test]
fn a_linear_issue_a_team_member_armed_is_worked_on_the_forge_and_done_in_linear() {
    let (sb, afk, p) = world();
    let key = issue(&sb, Some(&p.mallory), &[]);
    arm(&sb, &key, Some(&p.alice));
    let (code, r, err) = afk.poll();
    assert_eq!(code, 0, "{err} {r}");
    assert_eq!(r["dispatched"][0]["issue"], json!(1), "{r}");
    assert_eq!(r["dispatched"][0]["key"], json!(key), "{r}");
    assert_eq!(labels(&sb, &key), ["agent-in-progress", "ready-for-agent"]);
    let prompt = std::fs::read_to_string(afk.scratch.path("state/runs/1/prompt-1.md")).unwrap();
    assert!(prompt.contains("parse() drops the last field"), "{prompt}");
    assert!(prompt.contains(&format!("- Issue: {key} (")), "{prompt}");
    let branch = format!("afk/issue-{}", key.to_lowercase());
    assert!(
        prompt.contains(&format!("on the branch `{branch}`")),
        "{prompt}"
    );
    assert_eq!(afk.wait_agent(1), 0);
    // afk's own reports name the run by the issue's key, never a forge
    // number the forge does not have
    let out = afk.cmd().arg("status").output().unwrap();
    let status = String::from_utf8_lossy(&out.stdout);
    assert!(status.contains(&format!("acme/api {key}")), "{status}");
    assert!(!status.contains("acme/api#1"), "{status}");
    let out = afk.cmd().arg("runs").output().unwrap();
    let runs = String::from_utf8_lossy(&out.stdout);
    assert!(runs.contains(&format!("acme/api {key}")), "{runs}");
    assert!(!runs.contains("acme/api#1"), "{runs}");
    let (code, r, err) = afk.watch();
    assert_eq!(code, 0, "{err} {r}");
    let prs = sb.open_prs("acme/api");
    assert_eq!(prs.len(), 1, "{r}");
    let pr = &prs[0];
    assert_eq!(pr.head, branch);
    let (_, raw) = sb.api(&sb.path("acme/api", &format!("pulls/{}", pr.number)));
    assert_eq!(raw["title"], format!("Fix the parser ({key})"), "{raw}");
    let url = linear_issue(&sb, &key)["url"].as_str().unwrap().to_string();
    assert!(
        pr.body.starts_with(&format!("Tracker: {key} {url}")),
        "{}",
        pr.body
    );
    assert!(!pr.body.contains("Closes"), "{}", pr.body);
    let l = linear_issue(&sb, &key);
    let comments = l["comments"]["nodes"].as_array().unwrap();
    assert_eq!(comments.len(), 1, "{l}");
    let body = comments[0]["body"].as_str().unwrap();
    assert!(body.starts_with("afk · checklist\n"), "{body}");
    assert!(!body.contains("<!--"), "{body}");
    let attachments = l["attachments"]["nodes"].as_array().unwrap();
    assert_eq!(attachments.len(), 1, "{l}");
    assert_eq!(attachments[0]["url"], raw["html_url"], "{l}");
    sb.status("acme/api", &pr.head, "ci/build", "success");
    let (code, r, err) = afk.watch();
    assert_eq!(code, 0, "{err} {r}");
    sb.merge("acme/api", pr.number);
    let (code, r, err) = afk.watch();
    assert_eq!(code, 0, "{err} {r}");
    assert_eq!(action_of(&r, 1).0, "succeed", "{r}");
    let l = linear_issue(&sb, &key);
    assert_eq!(l["state"]["type"], "completed", "{l}");
    assert_eq!(labels(&sb, &key), Vec::<String>::new());
    assert_eq!(
        l["attachments"]["nodes"].as_array().unwrap().len(),
        1,
        "{l}"
    );
    assert_eq!(l["comments"]["nodes"].as_array().unwrap().len(), 1, "{l}");
    // every write a label, a comment, the attachment or the state: never
    // a replacement of the issue's labels
    for m in mutations(&sb) {
        assert!(!m.contains("labelIds"), "{m}");
    }
}

/// A key only Jira reads, beside kind = "linear" (and one only Linear
/// reads beside Jira), is a load error naming it.
#[test]
fn a_key_of_the_other_tracker_kind_is_a_config_error() {
    let (sb, afk, _) = world();
    let base = std::fs::read_to_string(&afk.config).unwrap();
    let cases = [
        (
            "kind = \"linear\"",
            "kind = \"linear\"\nemail = \"a@b.c\"",
            "tracker.email",
        ),
        (
            "kind = \"linear\"",
            "kind = \"linear\"\ntrusted_groups = [\"g\"]",
            "tracker.trusted_groups",
        ),
        (
            "kind = \"linear\"",
            "kind = \"linear\"\nblocked_by_link = \"Blocks\"",
            "tracker.blocked_by_link",
        ),
        (
            "kind = \"linear\"",
            "kind = \"linear\"\nauth = \"basic\"",
            "tracker.auth",
        ),
        (
            "kind = \"linear\"",
            "kind = \"linear\"\nready = \"delegate\"\nready_status = \"Ready\"",
            "tracker.ready_status",
        ),
        (
            "team = \"ENG\"",
            "team = \"ENG\"\ncomponent = \"api\"",
            "tracker.map[1]",
        ),
        ("team = \"ENG\"", "project = \"ENG\"", "tracker.map[1]"),
        (
            "kind = \"linear\"",
            "kind = \"jira\"\nurl = \"https://x.atlassian.net\"\nemail = \"a@b.c\"",
            "tracker.map[1]",
        ),
        (
            "kind = \"linear\"",
            "kind = \"jira\"\nurl = \"https://x.atlassian.net\"\nemail = \"a@b.c\"\ndone_state = \"Done\"",
            "tracker.done_state",
        ),
    ];
    each_a_load_error(&afk, &base, &cases);
    drop(sb);
}

/// The tracker's key never reaches the agent (an unboxed one: afk strips
/// it from its environment), its run folder, afk's output or the state
/// file; the agent here writes down its environment and its parent's
/// command line.
#[test]
fn the_linear_key_reaches_no_agent_output_or_state() {
    let (sb, afk, p) = world();
    let key = issue(&sb, Some(&p.alice), &[]);
    arm(&sb, &key, Some(&p.alice));
    agent_reading_its_environment(&afk);
    let secret = sb.admin("GET", "/linear/credentials", None)["key"]
        .as_str()
        .unwrap()
        .to_string();
    let mut seen = String::new();
    for args in [
        vec!["-v", "poll"],
        vec!["-v", "watch"],
        vec!["doctor"],
        vec!["status"],
    ] {
        let out = afk.cmd().args(&args).output().unwrap();
        seen.push_str(&String::from_utf8_lossy(&out.stdout));
        seen.push_str(&String::from_utf8_lossy(&out.stderr));
    }
    assert!(seen.contains("Linear answers as"), "doctor: {seen}");
    assert_eq!(afk.wait_agent(1), 0);
    let run_dir = afk.scratch.path("state/runs/1");
    let files: Vec<_> = walk(&run_dir);
    let env = std::fs::read_to_string(run_dir.join("agent-env.txt"))
        .unwrap_or_else(|e| panic!("the agent ran: {e}: {files:?} {seen}"));
    assert!(!env.contains("AFK_TRACKER_TOKEN"), "{env}");
    assert!(env.contains(&format!("AFK_ISSUE={key}\n")), "{env}");
    seen.push_str(&all_afk_wrote(&afk));
    assert!(!seen.contains(&secret), "the Linear key leaked");
}

/// `afk`'s agent replaced by one that writes its environment and its
/// parent's command line into the run's folder.
pub(crate) fn agent_reading_its_environment(afk: &Afk) {
    with_command(
        afk,
        "[\"sh\", \"-c\", \"env > $AFK_RUN_DIR/agent-env.txt; tr '\\\\0' ' ' < /proc/$PPID/cmdline > $AFK_RUN_DIR/parent-cmdline.txt\"]",
    );
}

/// Everything afk wrote: its output of a poll, a watch, doctor and status
/// (run now, verbose), every file of run 1's folder and every row of its
/// state file.
pub(crate) fn all_afk_wrote(afk: &Afk) -> String {
    let mut seen = String::new();
    for args in [vec!["-v", "watch"], vec!["doctor"], vec!["status"]] {
        let out = afk.cmd().args(&args).output().unwrap();
        seen.push_str(&String::from_utf8_lossy(&out.stdout));
        seen.push_str(&String::from_utf8_lossy(&out.stderr));
    }
    for entry in walk(&afk.scratch.path("state/runs/1")) {
        seen.push_str(&String::from_utf8_lossy(
            &std::fs::read(entry).unwrap_or_default(),
        ));
    }
    let tables = afk.sql_rows("SELECT name FROM sqlite_master WHERE type = 'table'");
    for t in tables {
        for row in afk.sql_rows(&format!("SELECT * FROM \"{}\"", t[0])) {
            seen.push_str(&row.join(" "));
        }
    }
    seen
}

/// Every file under `dir`.
fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = vec![];
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        match p.is_dir() {
            true => out.extend(walk(&p)),
            false => out.push(p),
        }
    }
    out
}

/// `afk hook --body FILE --header …` for a delivery: (exit, stdout, stderr).
pub(crate) fn deliver(afk: &Afk, body: &str, headers: &[String]) -> (i32, String, String) {
    let file = afk.scratch.write("delivery-body.json", body);
    let mut c = afk.std_cmd();
    c.arg("hook").arg("--body").arg(file);
    for h in headers {
        c.arg("--header").arg(h);
    }
    let out = c.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

/// Linear's webhook: a delivery signed `Linear-Signature` (the hex
/// HMAC-SHA256 of the body) with `tracker.hook_secret_env`'s secret and
/// fresh by its signed `webhookTimestamp` is answered `200` with no body
/// and starts poll for the map's repositories; unsigned, signed otherwise,
/// stale (an unsigned fresh `linear-timestamp` header does not help), or
/// also carrying a forge's signature header, it starts nothing (401); the
/// same delivery again starts nothing either.
#[test]
fn a_signed_fresh_linear_delivery_polls_the_mapped_repositories_and_nothing_else_counts() {
    let (sb, mut afk, p) = world();
    let secret = "lin_wh_5e2d9";
    let (key, id) = armed_with_hook(&sb, &mut afk, secret, (&p.alice, &p.alice));
    let now_ms = now_ms();
    let body_at = |at: u64| {
        json!({"action": "update", "type": "Issue", "data": {"id": id, "teamId": "t"},
            "webhookTimestamp": at, "webhookId": "w1"})
        .to_string()
    };
    let body = body_at(now_ms);
    let mac = crate::hook::hex_mac(secret, &body);
    let delivery = "Linear-Delivery: 8d1f0c4e-0000-4000-8000-000000000001".to_string();
    let stale = body_at(now_ms - 120_000);
    let refused: Vec<(&str, &str, Vec<String>)> = vec![
        ("unsigned", &body, vec![delivery.clone()]),
        (
            "another secret",
            &body,
            vec![
                format!("Linear-Signature: {}", crate::hook::hex_mac("guess", &body)),
                delivery.clone(),
            ],
        ),
        (
            "stale, a fresh header beside it",
            &stale,
            vec![
                format!("Linear-Signature: {}", crate::hook::hex_mac(secret, &stale)),
                format!("linear-timestamp: {now_ms}"),
                delivery.clone(),
            ],
        ),
        (
            "a forge's header too",
            &body,
            vec![
                format!("Linear-Signature: {mac}"),
                format!("X-Gitea-Signature: {mac}"),
                delivery.clone(),
            ],
        ),
    ];
    for (name, body, headers) in refused {
        let (code, out, err) = deliver(&afk, body, &headers);
        assert_eq!(
            (code, out.starts_with("HTTP/1.1 401 ")),
            (1, true),
            "{name}: {out}{err}"
        );
    }
    assert!(
        sb.requests().iter().all(|q| q["path"] != "/linear/graphql"),
        "a refused delivery reads nothing of Linear"
    );
    assert!(!afk.scratch.path("state/runs/1").exists());
    let signed = vec![format!("Linear-Signature: {mac}"), delivery.clone()];
    let (code, out, err) = deliver(&afk, &body, &signed);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(
        out,
        "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    assert!(err.contains("poll ticks for acme/api"), "{err}");
    assert!(
        labels(&sb, &key).contains(&"agent-in-progress".to_string()),
        "{err}"
    );
    // the same delivery again: answered, nothing started
    let (code, out, err) = deliver(&afk, &body, &signed);
    assert_eq!(
        (code, out.starts_with("HTTP/1.1 200 OK")),
        (0, true),
        "{out}{err}"
    );
    assert!(err.contains("delivery already handled"), "{err}");
    assert!(!afk.scratch.path("state/runs/2").exists());
    // a comment's event ticks nothing: a tracker comment is never a command
    let comment = json!({"action": "create", "type": "Comment", "data": {"id": "c", "issueId": id},
        "webhookTimestamp": now_ms})
    .to_string();
    let headers = vec![
        format!(
            "Linear-Signature: {}",
            crate::hook::hex_mac(secret, &comment)
        ),
        "Linear-Delivery: 8d1f0c4e-0000-4000-8000-000000000002".to_string(),
    ];
    let (code, out, err) = deliver(&afk, &comment, &headers);
    assert_eq!(
        (code, out.starts_with("HTTP/1.1 200 OK")),
        (0, true),
        "{out}{err}"
    );
    assert!(!err.contains("tick"), "{err}");
}

/// A run whose Linear issue a person finished, trashed or took afk's
/// in-progress label off is abandoned, its work never opened as a PR.
#[test]
fn a_run_whose_linear_issue_is_done_trashed_or_unlabelled_is_abandoned() {
    for (field, to) in [
        ("state", json!("Done")),
        ("trashed", json!(true)),
        ("labels", json!(null)),
    ] {
        let (sb, afk, p) = world();
        let key = issue(&sb, Some(&p.alice), &[]);
        arm(&sb, &key, Some(&p.alice));
        let (code, r, err) = afk.poll();
        assert_eq!(code, 0, "{err} {r}");
        assert_eq!(r["dispatched"].as_array().unwrap().len(), 1, "{r}");
        assert_eq!(afk.wait_agent(1), 0);
        match field {
            "labels" => sb.admin(
                "POST",
                "/linear/labels",
                Some(json!({"issue": key, "by": p.alice, "remove": ["agent-in-progress"]})),
            ),
            _ => sb.admin(
                "POST",
                "/linear/edit",
                Some(json!({"issue": key, "by": p.alice, "field": field, "to": to})),
            ),
        };
        let (code, r, err) = afk.watch();
        assert_eq!(code, 0, "{err} {r}");
        assert_eq!(action_of(&r, 1).0, "abandon", "{field}: {r}");
        assert_eq!(sb.open_prs("acme/api").len(), 0, "{field}");
    }
}

/// Doctor says whom Linear answers as, each mapped team's labels and
/// states, and afk's rate limits as Linear counts them; a key Linear refuses is a FAIL
/// naming where the key comes from (never the key), and poll dispatches
/// nothing, saying so.
#[test]
fn doctor_says_whom_linear_answers_as_and_fails_a_refused_key() {
    let (sb, mut afk, p) = world();
    let lines = crate::tracker_linear::doctor_lines;
    let ok = lines(&afk);
    assert_eq!(ok.len(), 3, "{ok:?}");
    assert!(ok.iter().all(|(level, _)| level == "ok"), "{ok:?}");
    assert!(ok[0].1.contains("an app user"), "{ok:?}");
    assert!(
        ok[1]
            .1
            .contains("Linear team ENG: afk's labels and its states are there"),
        "{ok:?}"
    );
    assert!(
        ok[2]
            .1
            .contains("Linear's rate limits for afk's user: requests ")
            && ok[2].1.contains(" of 5000 left (full again at 20"),
        "{ok:?}"
    );
    // a label afk needs that Linear does not have, a team it cannot see,
    // a done_state the team lacks: each said
    let base = std::fs::read_to_string(&afk.config).unwrap();
    let broken = base
        .replace(
            "kind = \"linear\"\n",
            "kind = \"linear\"\ndone_state = \"Shipped\"\n",
        )
        .replace(
            "[[tracker.map]]\nteam = \"ENG\"",
            "[[tracker.map]]\nteam = \"OPS\"\nrepo = \"acme/api\"\n\n\
            [[tracker.map]]\nteam = \"ENG\"\nproject = \"Website\"\nrepo = \"acme/api\"\n\n\
            [[tracker.map]]\nteam = \"ENG\"\nproject = \"mobile\"\nrepo = \"acme/api\"\n\n\
            [[tracker.map]]\nteam = \"ENG\"\nlabel = \"backend\"",
        )
        .replace("[watch]\n", "[watch]\nhuman_label = \"needs-a-human\"\n");
    let mobile = sb.admin("POST", "/linear/project", Some(json!({"name": "Mobile"})));
    sb.admin(
        "POST",
        "/linear/issue",
        Some(json!({"team": "ENG", "title": "An app issue", "creator": p.alice, "project": "Mobile"})),
    );
    std::fs::write(&afk.config, &broken).unwrap();
    let said = lines(&afk);
    std::fs::write(&afk.config, &base).unwrap();
    let text = format!("{said:?}");
    assert!(
        text.contains("Linear project \\\"Website\\\" (tracker.map): no issue afk's user sees is in a project of that name"),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "Linear project \\\"mobile\\\" (tracker.map) is there ({})",
            mobile["id"].as_str().unwrap()
        )),
        "{text}"
    );
    assert!(
        text.contains("Linear team OPS (tracker.map) is not there"),
        "{text}"
    );
    assert!(
        text.contains("no label needs-a-human in the team or the workspace"),
        "{text}"
    );
    assert!(
        text.contains("no state named \\\"Shipped\\\" (tracker.done_state)"),
        "{text}"
    );
    let key = issue(&sb, Some(&p.alice), &[]);
    arm(&sb, &key, Some(&p.alice));
    afk.env.retain(|(k, _)| k != "AFK_TRACKER_TOKEN");
    afk.env
        .push(("AFK_TRACKER_TOKEN".into(), "lin_api_not-the-key".into()));
    let refused = lines(&afk);
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert_eq!(refused[0].0, "fail", "{refused:?}");
    assert!(
        refused[0].1.contains("401")
            && refused[0]
                .1
                .contains("AFK_TRACKER_TOKEN (sent as tracker.auth = \"key\")"),
        "{refused:?}"
    );
    assert!(!refused[0].1.contains("not-the-key"), "{refused:?}");
    let (_, r, err) = afk.poll();
    assert_eq!(r["dispatched"], json!([]), "{r}");
    assert!(
        format!("{err}{r}").contains("AFK_TRACKER_TOKEN"),
        "{err}{r}"
    );
    assert_eq!(mutations(&sb), Vec::<String>::new());
}

/// What blocks a Linear issue: a `blocks` relation from an issue not
/// finished, and a `Blocked by` line naming an open issue of a mapped team,
/// or any issue of a team the map does not name (unread: it blocks); once
/// the blockers are done it is dispatched.
#[test]
fn a_linear_issue_is_blocked_by_its_relations_and_its_blocked_by_lines() {
    let (sb, afk, p) = world();
    sb.admin(
        "POST",
        "/linear/team",
        Some(json!({"key": "OPS", "members": []})),
    );
    let blocker = issue(&sb, Some(&p.alice), &[]);
    let named = issue(&sb, Some(&p.alice), &[]);
    let by_relation = issue(&sb, Some(&p.alice), &[]);
    sb.admin(
        "POST",
        "/linear/block",
        Some(json!({"issue": by_relation, "blocker": blocker})),
    );
    let by_line = sb.admin(
        "POST",
        "/linear/issue",
        Some(
            json!({"team": "ENG", "title": "Use the new lexer", "creator": p.alice,
            "description": format!("Blocked by {named}\n\nThen use it.")}),
        ),
    )["identifier"]
        .as_str()
        .unwrap()
        .to_string();
    let by_other_team = sb.admin(
        "POST",
        "/linear/issue",
        Some(
            json!({"team": "ENG", "title": "After ops", "creator": p.alice,
            "description": "Depends on OPS-1"}),
        ),
    )["identifier"]
        .as_str()
        .unwrap()
        .to_string();
    for key in [&by_relation, &by_line, &by_other_team] {
        arm(&sb, key, Some(&p.alice));
    }
    let (code, r, err) = afk.poll();
    assert_eq!(code, 0, "{err} {r}");
    assert_eq!(r["dispatched"], json!([]), "{r}");
    let blocked: Vec<String> = r["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["reason"] == "blocked")
        .map(|s| s["detail"].to_string())
        .collect();
    assert_eq!(blocked.len(), 3, "{r}");
    for key in [&blocker, &named, &"OPS-1".to_string()] {
        assert!(
            blocked.iter().any(|d| d.contains(key.as_str())),
            "{key}: {blocked:?}"
        );
    }
    for key in [&blocker, &named] {
        sb.admin(
            "POST",
            "/linear/edit",
            Some(json!({"issue": key, "by": p.alice, "field": "state", "to": "Done"})),
        );
    }
    let (code, r, err) = afk.poll();
    assert_eq!(code, 0, "{err} {r}");
    assert_eq!(r["dispatched"].as_array().unwrap().len(), 1, "{r}");
}

/// `afk demo --tracker jira|linear`: the tracker's story through the
/// binary on a forge of each kind: the trusted arming built and merged,
/// the issue done in the tracker without afk's labels, the untrusted
/// arming skipped as such; nothing left in $TMPDIR.
#[test]
fn the_demo_plays_the_trackers_story_on_jira_and_linear() {
    for (tracker, forge, done, untrusted) in [
        (
            "jira",
            "github",
            "PLAT-1 in Jira: Done, labels []",
            "untrusted — labelled by mallory-1",
        ),
        (
            "linear",
            "gitea",
            "ENG-1 in Linear: Done, labels []",
            "untrusted",
        ),
    ] {
        let tmp = Scratch::new();
        let out = assert_cmd::Command::new(afk_bin())
            .args(["demo", "--tracker", tracker, "--forge", forge])
            .env_remove("AFK_FORGE_TOKEN")
            .env_remove("AFK_TRACKER_TOKEN")
            .env("TMPDIR", &tmp.dir)
            .timeout(std::time::Duration::from_secs(60))
            .output()
            .unwrap();
        assert_success(&out);
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains(done), "{tracker}: {text}");
        assert!(text.contains(untrusted), "{tracker}: {text}");
        // the reports name the tracker's issues by their keys, never by a
        // `#N` the forge may have for another issue
        let key = done.split(' ').next().unwrap();
        assert!(
            text.contains(&format!("acme/api {key}  dispatched"))
                && text.contains(&format!("— acme/api {key} goes first")),
            "{tracker}: {text}"
        );
        assert!(!text.contains("acme/api#1"), "{tracker}: {text}");
        let left: Vec<_> = std::fs::read_dir(&tmp.dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert!(left.is_empty(), "{tracker}: left in $TMPDIR: {left:?}");
    }
}

/// `afk`'s agent replaced by one that commits with `message` each turn.
pub(crate) fn agent_committing(afk: &Afk, message: &str) {
    let agent = afk.scratch.write(
        "committing.sh",
        &format!(
            "set -eu\necho \"work of turn $AFK_TURN\" >> work.txt\ngit add -A\n\
             git commit -q -F - <<'MESSAGE'\n{message}MESSAGE\n"
        ),
    );
    with_command(afk, &format!("[\"sh\", \"{}\"]", agent.display()));
}

/// Beside every other forge dialect (GitHub, GitLab, Azure DevOps) a
/// Linear-armed issue is worked on that forge: its pull request names the
/// issue and closes nothing there, and its merge moves the Linear issue
/// into its completed state with afk's labels off.
#[test]
fn a_linear_issue_is_worked_on_every_forge_dialect_and_done_in_linear() {
    for dialect in [Dialect::Github, Dialect::Gitlab, Dialect::AzureDevops] {
        let (sb, afk, p) = world_in(dialect);
        let key = issue(&sb, Some(&p.alice), &[]);
        arm(&sb, &key, Some(&p.alice));
        let (code, r, err) = afk.poll();
        assert_eq!(code, 0, "{dialect:?}: {err} {r}");
        assert_eq!(
            r["dispatched"].as_array().map(Vec::len),
            Some(1),
            "{dialect:?}: {r}"
        );
        assert_eq!(afk.wait_agent(1), 0, "{dialect:?}");
        let (code, r, err) = afk.watch();
        assert_eq!(code, 0, "{dialect:?}: {err} {r}");
        let prs = sb.open_prs("acme/api");
        assert_eq!(prs.len(), 1, "{dialect:?}: {r}");
        let pr = &prs[0];
        assert!(
            pr.body.starts_with(&format!("Tracker: {key} ")),
            "{dialect:?}: {}",
            pr.body
        );
        for closing in ["Closes", "Fixes", "Resolves", "AB#"] {
            assert!(!pr.body.contains(closing), "{dialect:?}: {}", pr.body);
        }
        sb.status("acme/api", &pr.head, "ci/build", "success");
        let (code, r, err) = afk.watch();
        assert_eq!(code, 0, "{dialect:?}: {err} {r}");
        sb.merge("acme/api", pr.number);
        let (code, r, err) = afk.watch();
        assert_eq!(code, 0, "{dialect:?}: {err} {r}");
        assert_eq!(action_of(&r, 1).0, "succeed", "{dialect:?}: {r}");
        let l = linear_issue(&sb, &key);
        assert_eq!(l["state"]["type"], "completed", "{dialect:?}: {l}");
        assert_eq!(labels(&sb, &key), Vec::<String>::new(), "{dialect:?}");
    }
}

/// One side down, the other way round: the forge answering 503 while
/// Linear answers, a trusted arming dispatches nothing and writes nothing
/// in Linear (no label, no comment, no session word); once the forge
/// answers, the next tick dispatches.
#[test]
fn the_forge_down_while_linear_answers_dispatches_nothing() {
    let (sb, afk, p) = world();
    let key = issue(&sb, Some(&p.alice), &[]);
    arm(&sb, &key, Some(&p.alice));
    let api = sb.dialect.repo_path("acme/api", "");
    sb.faults(json!([{"path": api.trim_end_matches('/'), "status": 503}]));
    sb.clear_requests();
    let (_, r, err) = afk.poll();
    assert!(
        r["dispatched"].as_array().is_none_or(|d| d.is_empty()),
        "{r} {err}"
    );
    assert!(!afk.scratch.path("state/runs/1").exists(), "{r} {err}");
    assert_eq!(mutations(&sb), Vec::<String>::new(), "{r} {err}");
    assert_eq!(labels(&sb, &key), ["ready-for-agent"]);
    sb.faults(json!([]));
    let (code, r, err) = afk.poll();
    assert_eq!(code, 0, "{err} {r}");
    assert_eq!(r["dispatched"].as_array().unwrap().len(), 1, "{r}");
}

/// A map entry narrowed by a Linear project, named by its name (case
/// ignored) or by its id: an issue of that project goes to the entry's
/// repository; one of another project or of none is `unmapped`, nothing
/// written on it. The project read is an issue's `project { id }` (the
/// contract's cut has no `Project` type), a name found through an issue in
/// it. A move to another project after the arming blocks the issue until
/// it is armed again; a run whose issue leaves the project is abandoned.
#[test]
fn a_linear_project_narrows_a_map_entry_by_its_name_or_its_id() {
    for by_id in [false, true] {
        let (sb, afk, p) = world();
        let project = |name: &str| {
            sb.admin("POST", "/linear/project", Some(json!({"name": name})))["id"]
                .as_str()
                .unwrap()
                .to_string()
        };
        let checkout = project("Checkout");
        project("Billing");
        let named = match by_id {
            true => checkout.clone(),
            false => "checkout".to_string(),
        };
        let text = std::fs::read_to_string(&afk.config).unwrap();
        let with = text.replace(
            "team = \"ENG\"\nrepo",
            &format!("team = \"ENG\"\nproject = \"{named}\"\nrepo"),
        );
        assert_ne!(with, text);
        std::fs::write(&afk.config, with).unwrap();
        let made = |project: Option<&str>| {
            sb.admin(
                "POST",
                "/linear/issue",
                Some(json!({"team": "ENG", "title": "Fix it", "creator": p.alice, "project": project})),
            )["identifier"]
                .as_str()
                .unwrap()
                .to_string()
        };
        // the moved one first: the repository's one run is not what
        // decides its skip
        let moved = made(Some("Checkout"));
        let other = made(Some("Billing"));
        let none = made(None);
        let ours = made(Some("Checkout"));
        for key in [&other, &none, &ours, &moved] {
            arm(&sb, key, Some(&p.alice));
        }
        sb.admin(
            "POST",
            "/linear/edit",
            Some(json!({"issue": moved, "by": p.alice, "field": "project", "to": "Billing"})),
        );
        sb.admin(
            "POST",
            "/linear/edit",
            Some(json!({"issue": moved, "by": p.alice, "field": "project", "to": "Checkout"})),
        );
        let (code, r, err) = afk.poll();
        assert_eq!(code, 0, "{err} {r}");
        let skip = |key: &str| {
            r["skipped"]
                .as_array()
                .unwrap()
                .iter()
                .find(|s| s["detail"].as_str().is_some_and(|d| d.starts_with(key)))
                .map(|s| s["reason"].as_str().unwrap().to_string())
                .unwrap_or_else(|| panic!("no skip for {key}: {r}"))
        };
        assert_eq!(skip(&other), "unmapped", "{r}");
        assert_eq!(skip(&none), "unmapped", "{r}");
        let dispatched = r["dispatched"].as_array().unwrap();
        assert_eq!(dispatched.len(), 1, "{r}");
        let run_issue = dispatched[0]["issue"].as_u64().unwrap();
        assert!(
            labels(&sb, &ours).contains(&"agent-in-progress".to_string()),
            "{r}"
        );
        for key in [&other, &none, &moved] {
            assert!(
                !labels(&sb, key).contains(&"agent-in-progress".to_string()),
                "{key}"
            );
        }
        let reasons = format!("{r}");
        assert!(
            reasons.contains("edited-after-arming"),
            "the moved one waits: {r}"
        );
        // the run's issue leaves the project: abandoned
        assert_eq!(afk.wait_agent(1), 0);
        sb.admin(
            "POST",
            "/linear/edit",
            Some(json!({"issue": ours, "by": p.alice, "field": "project", "to": null})),
        );
        let (code, r, err) = afk.watch();
        assert_eq!(code, 0, "{err} {r}");
        assert_eq!(action_of(&r, run_issue).0, "abandon", "{r}");
    }
}

/// A checklist whose `commentCreate` landed but whose answer was lost is
/// found again next tick by its marker, the plain first line
/// `afk · checklist` on a comment of afk's own user, and never posted twice.
#[test]
fn a_linear_comment_whose_answer_was_lost_is_found_by_its_marker_not_posted_twice() {
    let (sb, afk, p) = world();
    let key = running(&sb, &afk, &p);
    sb.faults(
        json!([{"method": "POST", "path": "/linear/graphql", "body": "commentCreate",
        "drop_after": true, "times": 1}]),
    );
    let (code, r, err) = afk.watch();
    assert_ne!(code, 0, "the comment's answer was lost: {err} {r}");
    let landed = linear_issue(&sb, &key)["comments"]["nodes"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(landed, 1, "the mutation landed, its answer lost");
    let (code, r, err) = afk.watch();
    assert_eq!(code, 0, "{err} {r}");
    let l = linear_issue(&sb, &key);
    assert_eq!(l["comments"]["nodes"].as_array().unwrap().len(), 1, "{l}");
}

/// `afk`'s agent replaced by one that stops blocked, `words` its reason,
/// its question and its final message.
pub(crate) fn agent_blocked_saying(afk: &Afk, words: &str) {
    let said = serde_json::to_string(words).unwrap();
    let agent = afk.scratch.write(
        "blocked.sh",
        &format!(
            "printf '%s\\n' '{{\"status\":\"blocked\",\"reason\":{said},\"questions\":[{said}]}}' >> \"$AFK_PROGRESS_FILE\"\n\
             printf '%s\\n' '{{\"type\":\"result\",\"subtype\":\"success\",\"is_error\":false,\"result\":{said}}}'\n"
        ),
    );
    with_command(afk, &format!("[\"sh\", \"{}\"]", agent.display()));
}

/// The agent's words that would act in Linear or Jira if written as they
/// are: an @-name, a Jira mention, a Smart Commit and a Linear profile URL
/// (Linear turns such a URL into a mention).
pub(crate) const LOUD: &str =
    "@alice [~accountid:x] PLAT-9 #close https://linear.app/acme/profiles/alice";

/// The agent's words reach Linear only fenced: an agent blocked with
/// [`LOUD`] words as its reason, its question and its final message is
/// escalated in one comment where every line outside a fence is afk's own,
/// holding no `@` and no `linear.app` address, and the words stand inside
/// a fence intact.
#[test]
fn an_agents_mentions_reach_linear_only_fenced() {
    let (sb, afk, p) = world();
    let key = issue(&sb, Some(&p.alice), &[]);
    arm(&sb, &key, Some(&p.alice));
    agent_blocked_saying(&afk, LOUD);
    assert_eq!(afk.poll().0, 0);
    assert_eq!(afk.wait_agent(1), 0);
    let (code, r, err) = afk.watch();
    assert_eq!(code, 0, "{err} {r}");
    assert_eq!(action_of(&r, 1).0, "escalate", "{r}");
    let l = linear_issue(&sb, &key);
    let bodies: Vec<&str> = l["comments"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["body"].as_str())
        .collect();
    assert!(
        bodies.iter().any(|b| b.contains(LOUD)),
        "the words stand whole, inside a fence: {bodies:#?}"
    );
    for body in bodies {
        let mut fence: Option<usize> = None;
        for line in body.lines() {
            let ticks = line.trim_start().chars().take_while(|c| *c == '`').count();
            match fence {
                Some(n) if ticks >= n && line.trim().chars().all(|c| c == '`') => fence = None,
                Some(_) => {}
                None if ticks >= 3 => fence = Some(ticks),
                None => assert!(
                    !line.contains('@') && !line.contains("linear.app"),
                    "an unfenced line carries the agent's words: {line:?}\n{body}"
                ),
            }
        }
    }
}

/// The config's agent `command` replaced by `command` (a TOML array).
fn with_command(afk: &Afk, command: &str) {
    let text = std::fs::read_to_string(&afk.config).unwrap();
    let start = text.find("command = [").unwrap();
    let end = start + text[start..].find('\n').unwrap();
    let text = format!("{}command = {command}{}", &text[..start], &text[end..]);
    std::fs::write(&afk.config, text).unwrap();
}

/// Linear's forge integration closes an issue a merged commit names after
/// a closing word: a commit saying `Fixes ENG-2` (another issue of the
/// mapped team) is refused by the gate, named, and nothing is pushed; the
/// run's own `Fixes ENG-1` beside it is no reason.
#[test]
fn a_commit_closing_another_linear_issue_is_refused_by_the_gate() {
    let (sb, afk, p) = world();
    let key = issue(&sb, Some(&p.alice), &[]);
    let other = issue(&sb, Some(&p.alice), &[]);
    arm(&sb, &key, Some(&p.alice));
    agent_committing(
        &afk,
        &format!("Tidy the parser\n\nFixes {key}\nFixes {other}\n"),
    );
    let (code, r, err) = afk.poll();
    assert_eq!(code, 0, "{err} {r}");
    assert_eq!(afk.wait_agent(1), 0);
    let (code, r, err) = afk.watch();
    assert_eq!(code, 0, "{err} {r}");
    assert_eq!(
        action_of(&r, 1),
        ("corrective_turn".into(), Some("gate".into())),
        "{r}"
    );
    assert_eq!(sb.open_prs("acme/api").len(), 0, "no PR");
    let prompt = std::fs::read_to_string(afk.scratch.path("state/runs/1/prompt-2.md")).unwrap();
    assert!(
        prompt.contains(&format!("acts in the tracker by its message on {other}:")),
        "{prompt}"
    );
    assert!(
        !prompt.contains(&format!("on {key}")),
        "the run's own is no reason: {prompt}"
    );
}

/// The agent's box never reaches the tracker: `[runner.box] allow` naming
/// the tracker's host is a load error naming the key.
#[test]
fn a_box_allowed_to_reach_the_trackers_host_is_a_config_error() {
    let (sb, afk, _) = world();
    let base = std::fs::read_to_string(&afk.config)
        .unwrap()
        .replace("confine = \"none\"", "confine = \"box\"");
    let port = sb.url.rsplit(':').next().unwrap().to_string();
    for (allow, refused) in [
        (format!("127.0.0.1:{port}"), true),
        ("10.0.0.7:443".to_string(), false),
    ] {
        std::fs::write(
            &afk.config,
            format!("{base}\n[runner.box]\nallow = [\"{allow}\"]\n"),
        )
        .unwrap();
        let out = afk.cmd().args(["poll", "--dry-run"]).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        match refused {
            true => {
                assert_eq!(out.status.code(), Some(2), "{err}");
                assert!(
                    err.contains("runner.box.allow") && err.contains("tracker's host"),
                    "{err}"
                );
            }
            false => assert!(!err.contains("tracker's host"), "{err}"),
        }
    }
}

/// Each case's config (`base` with `from` replaced by `to`) is refused by
/// poll with exit 2 and one line naming `key`.
pub(crate) fn each_a_load_error(afk: &Afk, base: &str, cases: &[(&str, &str, &str)]) {
    for (from, to, key) in cases {
        std::fs::write(&afk.config, base.replace(from, to)).unwrap();
        let out = afk.cmd().arg("poll").output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{to}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(key), "{to}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{err}");
    }
}

/// Trust beside a tracker is the issue's, not only the account's: alice,
/// a member of ENG and not of OPS (both mapped to acme/api), arms an OPS
/// issue first and an ENG issue after; one tick finds the OPS one
/// untrusted and still dispatches the ENG one (the answer for her on OPS
/// once stood for her everywhere in the repository that tick).
#[test]
fn a_tracker_armers_trust_is_read_per_issue_not_per_account() {
    let (sb, afk, p) = world();
    let creds = sb.admin("GET", "/linear/credentials", None);
    let me = creds["me"].as_str().unwrap();
    sb.admin(
        "POST",
        "/linear/team",
        Some(json!({"key": "OPS", "members": [me]})),
    );
    let text = std::fs::read_to_string(&afk.config).unwrap();
    std::fs::write(
        &afk.config,
        text + "\n[[tracker.map]]\nteam = \"OPS\"\nrepo = \"acme/api\"\n",
    )
    .unwrap();
    let ops = sb.admin(
        "POST",
        "/linear/issue",
        Some(json!({"team": "OPS", "title": "Rotate the keys", "creator": p.alice})),
    )["identifier"]
        .as_str()
        .unwrap()
        .to_string();
    arm(&sb, &ops, Some(&p.alice));
    let eng = issue(&sb, Some(&p.alice), &[]);
    arm(&sb, &eng, Some(&p.alice));
    let (code, r, err) = afk.poll();
    assert_eq!(code, 0, "{err} {r}");
    let skipped = &r["skipped"][0];
    assert_eq!(skipped["reason"], "untrusted", "{r}");
    assert!(
        skipped["detail"].as_str().unwrap().contains("not a member"),
        "{r}"
    );
    assert_eq!(r["dispatched"].as_array().unwrap().len(), 1, "{r}");
    assert_eq!(labels(&sb, &eng), ["agent-in-progress", "ready-for-agent"]);
    assert_eq!(labels(&sb, &ops), ["ready-for-agent"]);
}

/// `afk sandbox --example --tracker jira|linear` serves the tracker beside
/// the forge with the demo's people and prints a config that works as
/// printed: its poll takes the trusted person's issue (armed first) and
/// not the untrusted one's.
#[test]
fn the_sandbox_with_a_tracker_prints_a_config_that_takes_the_trusted_issue() {
    use crate::operator::{config_start, sandbox_cli};
    use crate::operator3::printed;
    for kind in ["jira", "linear"] {
        let s = Scratch::new();
        let dir = s.path("sb");
        let (child, lines) = sandbox_cli(&[
            "--example",
            "--tracker",
            kind,
            "--dir",
            dir.to_str().unwrap(),
        ]);
        let text: String = lines[config_start(&lines)..]
            .iter()
            // an agent that exits at once: a run is recorded, nothing lingers
            .map(|l| match l.starts_with("command = ") {
                true => "command = [\"true\"]\n".to_string(),
                false => format!("{l}\n"),
            })
            .collect();
        assert!(text.contains(&format!("kind = \"{kind}\"")), "{text}");
        let config = s.path("afk.toml");
        std::fs::write(&config, &text).unwrap();
        let out = assert_cmd::Command::new(afk_bin())
            .env("AFK_FORGE_TOKEN", printed(&lines, "AFK_SANDBOX_TOKEN"))
            .env(
                "AFK_TRACKER_TOKEN",
                printed(&lines, "AFK_SANDBOX_TRACKER_TOKEN"),
            )
            .env_remove("AFK_CONFIG")
            .args(["--config", config.to_str().unwrap(), "--json", "poll"])
            .timeout(std::time::Duration::from_secs(60))
            .output()
            .unwrap();
        assert_success(&out);
        let r: Value = serde_json::from_slice(&out.stdout).unwrap();
        // the trusted one dispatched (the first armed), the other not (its
        // trust is read when it could win: one agent per repository)
        assert_eq!(r["dispatched"].as_array().unwrap().len(), 1, "{kind}: {r}");
        // Jira's id of the first issue made; Linear's first issue afk numbered
        let trusted = if kind == "jira" { 10001 } else { 1 };
        assert_eq!(r["dispatched"][0]["issue"], trusted, "{kind}: {r}");
        assert_eq!(r["skipped"].as_array().unwrap().len(), 1, "{kind}: {r}");
        drop(child);
    }
}

/// Doctor's tracker lines, each as (level, detail).
/// afk's config with its text `from` written `to` (which must be there).
pub(crate) fn config_with(afk: &Afk, from: &str, to: &str) {
    let text = std::fs::read_to_string(&afk.config).unwrap();
    let with = text.replace(from, to);
    assert_ne!(with, text, "{from:?} is not in the config");
    std::fs::write(&afk.config, with).unwrap();
}

/// What doctor's `check` lines say, each `<level> <detail>`.
pub(crate) fn doctor_said(afk: &Afk, check: &str) -> Vec<String> {
    let (_, r, err) = afk.json(&["doctor"]);
    (r["checks"]
        .as_array()
        .unwrap_or_else(|| panic!("{err}"))
        .iter())
    .filter(|c| c["check"] == check)
    .map(|c| {
        format!(
            "{} {}",
            c["level"].as_str().unwrap(),
            c["detail"].as_str().unwrap()
        )
    })
    .collect()
}

pub(crate) fn doctor_lines(afk: &Afk) -> Vec<(String, String)> {
    let (_, r, err) = afk.json(&["doctor"]);
    r["checks"]
        .as_array()
        .unwrap_or_else(|| panic!("{err}"))
        .iter()
        .filter(|c| c["check"] == "tracker")
        .map(|c| {
            (
                c["level"].as_str().unwrap().to_string(),
                c["detail"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// One side down (docs/trackers.md#rate-limits-and-outages): Linear answering
/// 503 while the PR goes green and merges abandons nothing and writes
/// nothing half; once Linear answers, the run ends in success there, the
/// issue done and afk's labels gone, its one checklist comment kept.
#[test]
fn linear_down_while_the_pr_merges_abandons_nothing_and_ends_when_it_answers() {
    let (sb, afk, p) = world();
    let key = running(&sb, &afk, &p);
    let (code, r, err) = afk.watch();
    assert_eq!(code, 0, "{err} {r}");
    let pr = sb.open_prs("acme/api").remove(0);
    sb.faults(json!([{"path": "/linear/graphql", "status": 503}]));
    sb.status("acme/api", &pr.head, "ci/build", "success");
    sb.merge("acme/api", pr.number);
    for _ in 0..2 {
        let (_, r, err) = afk.watch();
        let acted = r["actions"].as_array().cloned().unwrap_or_default();
        assert!(
            acted
                .iter()
                .all(|a| a["action"] != "abandon" && a["action"] != "escalate"),
            "{err} {r}"
        );
        assert!(format!("{err}{r}").contains("503"), "{err} {r}");
    }
    assert_eq!(linear_issue(&sb, &key)["state"]["type"], "backlog");
    sb.faults(json!([]));
    let (code, r, err) = afk.watch();
    assert_eq!(code, 0, "{err} {r}");
    assert_eq!(action_of(&r, 1).0, "succeed", "{r}");
    let l = linear_issue(&sb, &key);
    assert_eq!(l["state"]["type"], "completed", "{l}");
    assert_eq!(labels(&sb, &key), Vec::<String>::new());
    assert_eq!(l["comments"]["nodes"].as_array().unwrap().len(), 1, "{l}");
}

/// Linear's rate limit (`RATELIMITED`, an HTTP 400 as live answers come,
/// its reset an hour on): the tick says so, writes nothing, and sends
/// Linear nothing more that tick (each request would spend the quota
/// again); a tick before the reset sends Linear nothing at all, saying
/// until when; the first tick after it asks again and dispatches.
#[test]
fn a_rate_limited_linear_is_asked_nothing_more_that_tick() {
    let (sb, afk, p) = world();
    let key = issue(&sb, Some(&p.alice), &[]);
    arm(&sb, &key, Some(&p.alice));
    sb.clear_requests();
    sb.admin("POST", "/linear/ratelimit", Some(json!({"times": 1})));
    let (_, r, err) = afk.poll();
    assert_eq!(r["dispatched"], json!([]), "{r}");
    assert!(format!("{err}{r}").contains("RATELIMITED"), "{err} {r}");
    let asked = sb
        .requests()
        .iter()
        .filter(|q| q["path"] == "/linear/graphql")
        .count();
    assert_eq!(asked, 1, "one request, refused: no other followed it");
    assert_eq!(mutations(&sb), Vec::<String>::new());
    let (_, r, err) = afk.poll();
    assert_eq!(r["dispatched"], json!([]), "{r}");
    assert!(format!("{err}{r}").contains("spent until"), "{err} {r}");
    let asked_again = (sb.requests().iter())
        .filter(|q| q["path"] == "/linear/graphql")
        .count();
    assert_eq!(asked_again, 1, "before the reset nothing is sent: {err}");
    afk.later(2);
    let (code, r, err) = afk.poll();
    assert_eq!(code, 0, "{err} {r}");
    assert_eq!(r["dispatched"].as_array().unwrap().len(), 1, "{r}");
}

/// Linear's rate limit whose reset comes within the tick's wait (here a
/// second on, in the epoch milliseconds Linear sends): the tick waits for
/// it and asks again, and the issue is dispatched in that same tick. The
/// refused request is the one asked twice, nothing else.
#[test]
fn a_linear_rate_limit_that_resets_within_the_tick_is_waited_out() {
    let (sb, afk, p) = world();
    let key = issue(&sb, Some(&p.alice), &[]);
    arm(&sb, &key, Some(&p.alice));
    sb.clear_requests();
    sb.admin(
        "POST",
        "/linear/ratelimit",
        Some(json!({"times": 1, "reset_in": 1})),
    );
    let (code, r, err) = afk.poll();
    assert_eq!(code, 0, "{err} {r}");
    assert_eq!(r["dispatched"].as_array().unwrap().len(), 1, "{r} {err}");
    let asked: Vec<Value> = sb
        .requests()
        .iter()
        .filter(|q| q["path"] == "/linear/graphql")
        .map(|q| q["body"].clone())
        .collect();
    assert!(asked.len() > 2, "{asked:?}");
    assert_eq!(asked[0], asked[1], "the refused request was asked again");
}

/// A run whose Linear issue was deleted for good (every read "Entity not
/// found"): the first watch tick that misses it says so and abandons
/// nothing (one answer may be a blip); the second in a row abandons the
/// run, its work never opened as a PR. A link the agent planted in its run
/// folder by the flag's name is not the flag, and afk never writes through
/// it.
#[test]
fn a_run_whose_linear_issue_is_deleted_is_abandoned_on_the_second_tick_that_misses_it() {
    let (sb, afk, p) = world();
    let key = running(&sb, &afk, &p);
    let target = afk.scratch.path("not-afks.txt");
    std::fs::write(&target, "kept").unwrap();
    std::os::unix::fs::symlink(&target, afk.scratch.path("state/runs/1/tracker-issue-gone"))
        .unwrap();
    sb.admin(
        "POST",
        "/linear/edit",
        Some(json!({"issue": key, "by": p.alice, "field": "deleted", "to": true})),
    );
    let (_, r, err) = afk.watch();
    assert!(
        format!("{err}{r}").contains("Entity not found"),
        "{err} {r}"
    );
    let acted = r["actions"].as_array().cloned().unwrap_or_default();
    assert!(acted.iter().all(|a| a["action"] != "abandon"), "{r}");
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "kept");
    let (code, r, err) = afk.watch();
    assert_eq!(code, 0, "{err} {r}");
    // the report names how: gone
    assert_eq!(
        action_of(&r, 1),
        ("abandon".into(), Some("tracker-issue-gone".into())),
        "{r}"
    );
    assert_eq!(sb.open_prs("acme/api").len(), 0);
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "kept");
}

/// An ENG issue alice made and armed, dispatched as run 1, its agent's turn
/// ended: its identifier.
fn running(sb: &Sandbox, afk: &Afk, p: &People) -> String {
    let key = issue(sb, Some(&p.alice), &[]);
    arm(sb, &key, Some(&p.alice));
    assert_eq!(afk.poll().0, 0);
    assert_eq!(afk.wait_agent(1), 0);
    key
}

/// The names of the labels of the sandbox's Linear workspace, as afk's key
/// reads them through the API.
fn workspace_label_names(sb: &Sandbox) -> Vec<String> {
    let key = sb.admin("GET", "/linear/credentials", None)["key"]
        .as_str()
        .unwrap()
        .to_string();
    let answer: Value = ureq::post(&format!("{}/linear/graphql", sb.url))
        .set("Authorization", &key)
        .send_json(
            json!({"query": "query { organization { labels(first: 50) { nodes { name } } } }"}),
        )
        .unwrap()
        .into_json()
        .unwrap();
    let mut names: Vec<String> = answer["data"]["organization"]["labels"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["name"].as_str().unwrap().to_string())
        .collect();
    names.sort();
    names
}

/// `afk init --create-labels` beside Linear makes the labels afk's ticks
/// need and the workspace lacks, workspace-level (`issueLabelCreate`, with
/// an id afk drew): never one the workspace has in another case, or one
/// the mapped team has as its own; a dry run sends no mutation; a create
/// whose answer was lost is found by its id, not sent again; a second run
/// makes nothing.
#[test]
fn init_create_labels_makes_the_labels_linear_lacks_in_the_workspace_once() {
    let sb = Sandbox::start_in(
        Dialect::Gitea,
        json!({"repos": [repo("acme/api", json!([]))]}),
    );
    let creds = sb.admin("GET", "/linear/credentials", None);
    let me = creds["me"].as_str().unwrap();
    sb.admin(
        "POST",
        "/linear/team",
        Some(json!({"key": "ENG", "members": [me]})),
    );
    sb.admin(
        "POST",
        "/linear/label",
        Some(json!({"name": "Ready-For-Agent"})),
    );
    sb.admin(
        "POST",
        "/linear/label",
        Some(json!({"name": "agent-paused", "team": "ENG"})),
    );
    let mut afk = Afk::agent_in_afks_workspace(&sb, "pr", "");
    let text = std::fs::read_to_string(&afk.config).unwrap();
    std::fs::write(&afk.config, text + &tracker_block(&sb)).unwrap();
    afk.env.push((
        "AFK_TRACKER_TOKEN".into(),
        creds["key"].as_str().unwrap().into(),
    ));
    let actions = |r: &Value| -> Vec<(String, String)> {
        let mut a: Vec<(String, String)> = (r["labels"].as_array().unwrap().iter())
            .map(|l| {
                assert_eq!(l["tracker"], "linear", "{l}");
                let s = |k: &str| l[k].as_str().unwrap().to_string();
                (s("label"), s("action"))
            })
            .collect();
        a.sort();
        a
    };
    let pair = |l: &str, a: &str| (l.to_string(), a.to_string());

    sb.clear_requests();
    let (code, r, err) = afk.json(&["--dry-run", "init", "--create-labels"]);
    assert_eq!(code, 0, "{err} {r}");
    assert_eq!(
        actions(&r),
        [
            pair("agent-in-progress", "would_create"),
            pair("agent-paused", "exists"),
            pair("ready-for-agent", "exists"),
            pair("ready-for-human", "would_create"),
        ]
    );
    assert!(mutations(&sb).is_empty(), "{:?}", mutations(&sb));

    // the first create's answer is lost: it landed, and afk finds it by
    // the id it drew
    sb.faults(json!([{"method": "POST", "path": "/linear/graphql",
        "body": "issueLabelCreate", "drop_after": true, "times": 1}]));
    let (code, r, err) = afk.json(&["init", "--create-labels"]);
    assert_eq!(code, 0, "{err} {r}");
    assert_eq!(
        actions(&r),
        [
            pair("agent-in-progress", "created"),
            pair("agent-paused", "exists"),
            pair("ready-for-agent", "exists"),
            pair("ready-for-human", "created"),
        ]
    );
    let made = mutations(&sb);
    assert_eq!(made.len(), 2, "one create each, none sent twice: {made:?}");
    assert!(
        made.iter().all(|m| m.contains("issueLabelCreate")),
        "{made:?}"
    );
    assert_eq!(
        workspace_label_names(&sb),
        ["Ready-For-Agent", "agent-in-progress", "ready-for-human"]
    );

    sb.clear_requests();
    let (code, r, err) = afk.json(&["init", "--create-labels"]);
    assert_eq!(code, 0, "{err} {r}");
    assert!(actions(&r).iter().all(|(_, a)| a == "exists"), "{r}");
    assert!(mutations(&sb).is_empty(), "{:?}", mutations(&sb));
}

/// On success the Linear issue moves into the state `done_state` names,
/// else into its team's `completed` state of lowest position, wherever the
/// team lists it. A team with no such state leaves the issue for a person:
/// the run still succeeds, its labels go, and it is said and never asked
/// again. An issue a person finished or canceled already is not moved.
#[test]
fn on_success_a_linear_issue_moves_into_its_teams_done_state_or_is_left_for_a_person() {
    let st = |name: &str, kind: &str, position: f64| json!({"name": name, "type": kind, "position": position});
    let workflow = json!([
        st("Backlog", "backlog", 0.0),
        st("Todo", "unstarted", 1.0),
        st("Shipped", "completed", 5.0),
        st("Done", "completed", 3.0),
        st("Canceled", "canceled", 6.0)
    ]);
    let unfinishable = json!([
        st("Todo", "unstarted", 1.0),
        st("Canceled", "canceled", 6.0)
    ]);
    // (case, done_state, ENG's states, a person's state after the merge, the state after)
    let cases: Vec<(&str, &str, &Value, Option<&str>, &str)> = vec![
        (
            "the completed state of lowest position",
            "",
            &workflow,
            None,
            "Done",
        ),
        ("the one named", "Shipped", &workflow, None, "Shipped"),
        ("no completed state", "", &unfinishable, None, "Todo"),
        (
            "no state by that name",
            "Released",
            &workflow,
            None,
            "Backlog",
        ),
        (
            "canceled by a person already",
            "",
            &workflow,
            Some("Canceled"),
            "Canceled",
        ),
    ];
    for (case, named, states, by_person, after) in cases {
        let (sb, afk, p) = world_with(Dialect::Gitea, Some(states.clone()));
        if !named.is_empty() {
            config_with(
                &afk,
                "kind = \"linear\"\n",
                &format!("kind = \"linear\"\ndone_state = \"{named}\"\n"),
            );
        }
        let key = issue(&sb, Some(&p.alice), &[]);
        arm(&sb, &key, Some(&p.alice));
        let (code, r, err) = afk.poll();
        assert_eq!(code, 0, "{case}: {err} {r}");
        assert_eq!(afk.wait_agent(1), 0);
        let (code, r, err) = afk.watch();
        assert_eq!(code, 0, "{case}: {err} {r}");
        let pr = sb
            .open_prs("acme/api")
            .pop()
            .unwrap_or_else(|| panic!("{case}: {r}"));
        sb.status("acme/api", &pr.head, "ci/build", "success");
        let (code, r, err) = afk.watch();
        assert_eq!(code, 0, "{case}: {err} {r}");
        sb.merge("acme/api", pr.number);
        if let Some(state) = by_person {
            sb.admin(
                "POST",
                "/linear/edit",
                Some(json!({"issue": key, "by": p.alice, "field": "state", "to": state})),
            );
        }
        sb.clear_requests();
        let (code, r, err) = afk.watch();
        assert_eq!(code, 0, "{case}: {err} {r}");
        assert_eq!(action_of(&r, 1).0, "succeed", "{case}: {r}");
        let l = linear_issue(&sb, &key);
        assert_eq!(l["state"]["name"], after, "{case}: {l}");
        let left = case.starts_with("no ");
        let moved = mutations(&sb)
            .iter()
            .filter(|m| m.contains("issueUpdate"))
            .count();
        assert_eq!(moved, usize::from(by_person.is_none() && !left), "{case}");
        assert_eq!(labels(&sb, &key), Vec::<String>::new(), "{case}");
        assert_eq!(
            afk.sql_rows("SELECT state FROM runs"),
            vec![vec!["succeeded".to_string()]],
            "{case}"
        );
        if left {
            assert!(
                err.contains(&format!("{key} was not closed"))
                    && err.contains("left open for a person"),
                "{case}: {err}"
            );
            let notes = r["actions"][0]["notes"].to_string();
            assert!(notes.contains("left open for a person"), "{case}: {r}");
            sb.clear_requests();
            let (code, r, err) = afk.watch();
            assert_eq!(code, 0, "{case}: {err} {r}");
            assert!(mutations(&sb).is_empty(), "{case}");
        }
    }
}

/// afk taking Linear's deliveries signed with `secret`
/// (`AFK_TEST_LINEAR_HOOK`), and an issue `creator` made that `armer`
/// armed: its identifier and its id.
fn armed_with_hook(
    sb: &Sandbox,
    afk: &mut Afk,
    secret: &str,
    (creator, armer): (&str, &str),
) -> (String, String) {
    config_with(
        afk,
        "kind = \"linear\"\n",
        "kind = \"linear\"\nhook_secret_env = \"AFK_TEST_LINEAR_HOOK\"\n",
    );
    afk.env.push(("AFK_TEST_LINEAR_HOOK".into(), secret.into()));
    let key = issue(sb, Some(creator), &[]);
    arm(sb, &key, Some(armer));
    let id = linear_issue(sb, &key)["id"].as_str().unwrap().to_string();
    (key, id)
}

/// Now, in milliseconds since the epoch, as a delivery's `webhookTimestamp`.
pub(crate) fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// A delivery is a hint, never a fact: one signed with the webhook's
/// secret whose body says a team member added the ready label (its
/// `actor`, its `updatedFrom`), while the issue's history says mallory
/// did, dispatches nothing; poll reads who armed it from Linear.
#[test]
fn a_signed_linear_delivery_naming_a_member_arms_nothing_the_history_does_not() {
    let (sb, mut afk, p) = world();
    let secret = "lin_wh_77b1c";
    let (key, id) = armed_with_hook(&sb, &mut afk, secret, (&p.alice, &p.mallory));
    let now_ms = now_ms();
    let body = json!({"action": "update", "type": "Issue",
        "actor": {"id": p.alice, "type": "user", "name": "alice"},
        "data": {"id": id, "teamId": "t", "labelIds": ["ready"]},
        "updatedFrom": {"labelIds": []},
        "webhookTimestamp": now_ms, "webhookId": "w1"})
    .to_string();
    let headers = vec![
        format!("Linear-Signature: {}", crate::hook::hex_mac(secret, &body)),
        "Linear-Delivery: 8d1f0c4e-0000-4000-8000-0000000000f2".to_string(),
    ];
    let (code, out, err) = deliver(&afk, &body, &headers);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.starts_with("HTTP/1.1 200 "), "{out}");
    assert!(err.contains("poll ticks for acme/api"), "{err}");
    assert!(!afk.scratch.path("state/runs/1").exists(), "{err}");
    assert_eq!(labels(&sb, &key), ["ready-for-agent"], "{err}");
    let (code, r, err) = afk.poll();
    assert_eq!(code, 0, "{err} {r}");
    assert!(r["dispatched"].as_array().unwrap().is_empty(), "{r}");
    assert_eq!(
        reason_of(&r, "acme/api", 1).as_deref(),
        Some("untrusted"),
        "{r}"
    );
}
