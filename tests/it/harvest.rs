//! `afk harvest` and the template canary
//! (docs/how-it-works.md#afk-harvest-and-the-template-canary) through the
//! binary: outcomes per ended run, reverts read from the sandbox's git, each
//! checkpoint and decision once (racing processes, a kill between decision and
//! notification), dry run, stop file, and routing in poll (sample, seeded twin
//! worlds, the dry run's prediction, the prompt's text).

use crate::support::*;
use serde_json::{Value, json};
use std::process::Stdio;

const NOTIFY: &str =
    "[notify]\nslack_webhook_env = \"AFK_TEST_SLACK\"\nwebhook_env = \"AFK_TEST_WEBHOOK\"";

/// RFC 3339 (UTC, whole seconds) `min` minutes from the real now: runs ended
/// after the canary went live (it goes live at the real now).
fn t(min: i64) -> String {
    let t = time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .unwrap()
        + time::Duration::minutes(min);
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

/// acme/api#1 as a success merged 20 minutes ago as `sha` into main,
/// recorded as watch records it.
fn record_merged_success(afk: &Afk, sha: &str) {
    afk.sql(&format!(
        "INSERT INTO runs (repo, issue, state, template_name, template_version_id, template_version,
           created_at, updated_at, ended_at, merge_sha, base_branch, merged_at)
         VALUES ('acme/api', 1, 'succeeded', 'implementer', 1, 1, '{0}', '{1}', '{1}', '{sha}', 'main', '{1}');",
        t(-30),
        t(-20)
    ));
}

/// A world for harvest: the sandbox (for webhooks and git), a config with
/// `[harvest]` keys, `implementer@1` current and `implementer@2` the live canary.
fn world(harvest: &str) -> (Sandbox, Afk) {
    let sb = Sandbox::start(json!({"repos": [repo("acme/api", json!([]))]}));
    let mut afk = Afk::with_text(&format!(
        "state_path = \"state/afk.db\"\n[forge]\n{}timeout = \"5s\"\nretries = 1\n\
         [harvest]\ncanary = true\n{harvest}\n{NOTIFY}\n",
        sb.forge_keys()
    ));
    afk.hooks = Some(sb.url.clone());
    add(&afk, "v1.md", "implementer v1\n", false);
    add(&afk, "v2.md", "implementer v2 CANARY\n", true);
    (sb, afk)
}

fn add(afk: &Afk, file: &str, text: &str, canary: bool) {
    let f = afk.scratch.write(file, text);
    let mut c = afk.cmd();
    c.args(["template", "add", "implementer", "--file"]).arg(&f);
    if canary {
        c.arg("--canary");
    }
    let out = c.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Ended runs of version `v` (its id is its number here): `S` succeeded, `F`
/// escalated, `A` abandoned, `X` failed to start; the i-th ends at minute
/// `first + i * step` and was dispatched a minute before.
fn ended(afk: &Afk, v: i64, pattern: &str, first: i64, step: i64) {
    let mut sql = String::from("BEGIN;");
    for (i, c) in pattern.chars().enumerate() {
        let state = match c {
            'S' => "succeeded",
            'F' => "escalated",
            'A' => "abandoned",
            'X' => "failed",
            _ => panic!("pattern {c}"),
        };
        let end = first + i as i64 * step;
        sql.push_str(&format!(
            "INSERT INTO runs (repo, issue, state, template_name, template_version_id, template_version,
               template_hash, created_at, updated_at, ended_at)
             VALUES ('acme/api', {issue}, '{state}', 'implementer', {v}, {v}, 'h', '{d}', '{e}', '{e}');",
            issue = 1000 + i,
            d = t(end - 1),
            e = t(end),
        ));
    }
    sql.push_str("COMMIT;");
    afk.sql(&sql);
}

/// `n` outcomes repeating `unit` ("SSF": two successes, a failure, ...).
fn rep(unit: &str, n: usize) -> String {
    unit.chars().cycle().take(n).collect()
}

fn harvest(afk: &Afk) -> Value {
    let (code, r, err) = afk.json(&["harvest"]);
    assert_eq!(code, 0, "{err} {r}");
    r
}

fn statuses(afk: &Afk) -> Vec<String> {
    afk.sql_rows("SELECT status FROM template_versions ORDER BY version")
        .into_iter()
        .map(|r| r[0].clone())
        .collect()
}

fn count(afk: &Afk, q: &str) -> i64 {
    afk.sql_rows(q)[0][0].parse().unwrap()
}

fn webhooks(sb: &Sandbox, event: &str) -> Vec<Value> {
    sb.hooks()
        .into_iter()
        .filter(|h| h["hook"] == "webhook" && h["body"]["event"] == event)
        .collect()
}

fn results(r: &Value) -> Vec<(u64, String)> {
    r["checkpoints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["at"].as_u64().unwrap(),
                c["result"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

// ---- outcomes ---------------------------------------------------------------------

#[test]
fn every_ended_run_gets_one_outcome_of_its_version_and_abandoned_runs_none() {
    let (_sb, afk) = world("");
    ended(&afk, 1, "SFAX", 10, 1);
    ended(&afk, 2, "FS", 5, 10); // ends at 5 and 15
    // a run that has not ended yet, and one on the built-in preamble
    afk.sql(&format!(
        "INSERT INTO runs (repo, issue, state, created_at, updated_at) VALUES ('acme/api', 1, 'dispatched', '{0}', '{0}');
         INSERT INTO runs (repo, issue, state, template_name, created_at, updated_at, ended_at)
           VALUES ('acme/api', 2, 'succeeded', 'implementer', '{0}', '{0}', '{0}');",
        t(1)
    ));
    let r = harvest(&afk);
    let got: Vec<(i64, i64, String)> = r["outcomes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            assert_eq!(o["template"], "implementer");
            (
                o["run_id"].as_i64().unwrap(),
                o["version"].as_i64().unwrap(),
                o["outcome"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    // in end order: run 5 (min 5), run 1 (10), run 2 (11), run 6 (15)
    assert_eq!(
        got,
        vec![
            (5, 2, "failure".into()),
            (1, 1, "success".into()),
            (2, 1, "failure".into()),
            (6, 2, "success".into()),
        ]
    );
    // idempotent: the next tick records nothing, the table keeps one per run
    assert_eq!(harvest(&afk)["outcomes"], json!([]));
    assert_eq!(count(&afk, "SELECT COUNT(*) FROM outcomes"), 4);
    let (_, l, _) = afk.json(&["template", "list"]);
    let t = l["templates"].as_array().unwrap();
    assert_eq!(t[0]["outcomes"], json!({"success": 1, "failure": 1}));
    assert_eq!(t[0]["success_rate"], json!(0.5));
    assert_eq!(t[1]["outcomes"], json!({"success": 1, "failure": 1}));
    assert_eq!(t[1]["status"], "canary");
    assert!(t[1]["canary_since"].is_string());
    assert!(t[0].get("canary_since").is_none());
    for v in t {
        assert_eq!(v["sha256"].as_str().unwrap().len(), 64);
        assert!(v["created_at"].is_string());
    }
}

#[test]
fn a_version_without_outcomes_has_no_success_rate() {
    let (_sb, afk) = world("");
    let (_, l, _) = afk.json(&["template", "list", "implementer"]);
    let v = &l["templates"][1];
    assert_eq!(v["outcomes"], json!({"success": 0, "failure": 0}));
    assert!(v.get("success_rate").is_none(), "{v}");
}

// ---- decisions ----------------------------------------------------------------------

#[test]
fn a_regressing_canary_is_rolled_back_at_its_first_checkpoint_with_the_numbers() {
    let (sb, afk) = world("");
    ended(&afk, 1, &rep("SSSSSSSSF", 90), 2, 1); // ~89% over minutes 2..91
    ended(&afk, 2, &rep("SFFF", 20), 100, 1); // 25%, the 20th at minute 119
    let r = harvest(&afk);
    let keys: Vec<&str> = r.as_object().unwrap().keys().map(|k| k.as_str()).collect();
    let mut want = vec![
        "checkpoints",
        "decisions",
        "dry_run",
        "enabled",
        "errors",
        "events",
        "figures",
        "outcomes",
        "reverted",
        "survival",
        "tick",
    ];
    want.sort();
    assert_eq!(keys, want, "exactly docs/reports.md's harvest report shape");
    assert_eq!(
        (r["tick"].clone(), r["dry_run"].clone()),
        (json!("harvest"), json!(false))
    );
    let cp = &r["checkpoints"][0];
    assert_eq!(cp["template"], "implementer");
    assert_eq!(cp["version"], 2);
    assert_eq!(cp["at"], 20);
    assert_eq!(cp["canary"], json!({"success": 5, "failure": 15}));
    assert_eq!(cp["control"], json!({"success": 80, "failure": 10}));
    assert!(cp["p_worse"].as_f64().unwrap() >= 0.975);
    assert_eq!(cp["result"], "rolled_back");
    assert_eq!(
        r["decisions"],
        json!([{"template": "implementer", "version": 2, "decision": "rolled_back", "reason": "regression"}])
    );
    assert_eq!(r["events"][0]["event"], "candidate.rolled_back");
    assert_eq!(r["events"][0]["reason"], "regression");
    assert_eq!(statuses(&afk), vec!["current", "rejected"]);
    let hooks = webhooks(&sb, "candidate.rolled_back");
    assert_eq!(hooks.len(), 1, "{hooks:?}");
    assert_eq!(hooks[0]["body"]["reason"], "regression");
    assert!(
        hooks[0]["body"]["text"]
            .as_str()
            .unwrap()
            .contains("implementer@2 rolled back")
    );
    // the trail: `template show` explains it; nothing is decided twice
    let out = afk
        .cmd()
        .args(["template", "show", "implementer@2"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("implementer v2 CANARY\n"), "{text}");
    assert!(
        text.contains("P(WORSE)") && text.contains("5/15") && text.contains("80/10"),
        "{text}"
    );
    assert!(
        text.contains("decision: rolled_back (regression)"),
        "{text}"
    );
    let r = harvest(&afk);
    assert_eq!(
        (r["checkpoints"].clone(), r["events"].clone()),
        (json!([]), json!([]))
    );
    assert_eq!(count(&afk, "SELECT COUNT(*) FROM events"), 1);
    // the human table
    let out = afk.cmd().arg("harvest").output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("harvest: 0 outcomes recorded"));
}

#[test]
fn each_ending_of_a_canary_as_the_spec_decides_it() {
    // (name, [harvest] keys, control, canary, checkpoints, statuses, event, reason)
    let cases = [
        (
            "graduates early when clearly better",
            "",
            rep("SF", 80),
            rep("S", 20),
            vec![(20, "auto_promoted")],
            vec!["retired", "current"],
            "candidate.auto_promoted",
            None,
        ),
        (
            "graduates at max_samples when P(better) > graduate_at_max",
            "",
            rep("SSF", 120),
            rep("SSSF", 40),
            vec![(20, "continue"), (30, "continue"), (40, "auto_promoted")],
            vec!["retired", "current"],
            "candidate.auto_promoted",
            None,
        ),
        (
            "inconclusive at max_samples: the champion wins",
            "",
            rep("SSSF", 120),
            rep("SSSF", 40),
            vec![(20, "continue"), (30, "continue"), (40, "rejected")],
            vec!["current", "rejected"],
            "candidate.rolled_back",
            Some("inconclusive"),
        ),
        (
            "the early-failure breaker before min_samples",
            "",
            rep("SSSF", 40),
            rep("F", 5),
            vec![],
            vec!["current", "rejected"],
            "candidate.rolled_back",
            Some("early-failures"),
        ),
        (
            "check_every larger than the range: min_samples then max_samples",
            "check_every = 100\nmax_samples = 30",
            rep("SSSF", 120),
            rep("SSSF", 30),
            vec![(20, "continue"), (30, "rejected")],
            vec!["current", "rejected"],
            "candidate.rolled_back",
            Some("inconclusive"),
        ),
    ];
    for (name, keys, control, canary, want, want_status, event, reason) in cases {
        let (sb, afk) = world(keys);
        // the control ends over minutes 2.., the canary interleaved after it
        ended(&afk, 1, &control, 2, 1);
        ended(&afk, 2, &canary, 2, 1);
        let r = harvest(&afk);
        let want: Vec<(u64, String)> = want.into_iter().map(|(a, b)| (a, b.to_string())).collect();
        assert_eq!(results(&r), want, "{name}: {r}");
        assert_eq!(statuses(&afk), want_status, "{name}");
        assert_eq!(r["events"].as_array().unwrap().len(), 1, "{name}: {r}");
        assert_eq!(r["events"][0]["event"], event, "{name}");
        assert_eq!(r["decisions"][0]["reason"], json!(reason), "{name}");
        assert_eq!(webhooks(&sb, event).len(), 1, "{name}");
    }
}

#[test]
fn checkpoints_are_evaluated_only_when_reached_and_only_once() {
    let (_sb, afk) = world("");
    ended(&afk, 1, &rep("SSSF", 80), 2, 2);
    ended(&afk, 2, &rep("SSSF", 19), 3, 2);
    let r = harvest(&afk);
    assert_eq!(results(&r), vec![], "19 outcomes: no checkpoint yet");
    ended(&afk, 2, "S", 40, 1);
    assert_eq!(results(&harvest(&afk)), vec![(20, "continue".into())]);
    ended(&afk, 2, &rep("SSSF", 9), 41, 1);
    assert_eq!(
        results(&harvest(&afk)),
        vec![],
        "29 outcomes: the next is 30"
    );
    assert_eq!(count(&afk, "SELECT COUNT(*) FROM canary_checkpoints"), 1);
    // status shows the live canary and its next checkpoint
    let (_, s, _) = afk.json(&["status"]);
    assert_eq!(
        s["canaries"][0],
        json!({"template": "implementer", "version": 2, "canary_since": s["canaries"][0]["canary_since"],
               "outcomes": {"success": 23, "failure": 6}, "next_checkpoint": 30, "sample": 0.2,
               "routing": true})
    );
    let out = afk.cmd().arg("status").output().unwrap();
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .contains("implementer@2 is the live canary: 29 outcomes (23 success, 6 failure), next checkpoint at 30"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn the_control_is_runs_dispatched_since_the_canary_and_ended_by_the_checkpoint() {
    let (_sb, afk) = world("");
    // dispatched before the canary went live: never control
    afk.sql(&format!(
        "INSERT INTO runs (repo, issue, state, template_name, template_version_id, template_version,
           created_at, updated_at, ended_at)
         VALUES ('acme/api', 1, 'succeeded', 'implementer', 1, 1, '{0}', '{1}', '{1}');",
        t(-60),
        t(5)
    ));
    ended(&afk, 1, &rep("SF", 10), 2, 1); // control inside the window: 5/5
    ended(&afk, 2, &rep("SF", 20), 20, 1); // the 20th canary outcome at minute 39
    ended(&afk, 1, &rep("F", 30), 40, 1); // ended after it: not in checkpoint 20
    let r = harvest(&afk);
    assert_eq!(
        r["checkpoints"][0]["control"],
        json!({"success": 5, "failure": 5})
    );
    assert_eq!(
        r["checkpoints"][0]["canary"],
        json!({"success": 10, "failure": 10})
    );
}

#[test]
fn eight_racing_harvests_decide_once_and_notify_once() {
    let (sb, afk) = world("");
    ended(&afk, 1, &rep("SSSSSSSSF", 90), 2, 1);
    ended(&afk, 2, &rep("SFFF", 20), 100, 1);
    let children: Vec<_> = (0..8)
        .map(|_| {
            let mut c = std::process::Command::new(afk_bin());
            c.env("AFK_FORGE_TOKEN", TOKEN)
                .env("AFK_TEST_WEBHOOK", format!("{}/_hooks/webhook", sb.url))
                .env("AFK_TEST_SLACK", format!("{}/_hooks/slack", sb.url))
                .env_remove("AFK_NOW")
                .arg("--config")
                .arg(&afk.config)
                .args(["--json", "harvest"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped());
            c.spawn().unwrap()
        })
        .collect();
    let mut decided = 0;
    for ch in children {
        let out = ch.wait_with_output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let r: Value = serde_json::from_slice(&out.stdout).unwrap();
        decided += r["decisions"].as_array().unwrap().len();
    }
    assert_eq!(decided, 1, "one process decided");
    assert_eq!(statuses(&afk), vec!["current", "rejected"]);
    assert_eq!(
        count(
            &afk,
            "SELECT COUNT(*) FROM events WHERE kind = 'candidate.rolled_back'"
        ),
        1
    );
    assert_eq!(count(&afk, "SELECT COUNT(*) FROM canary_checkpoints"), 1);
    assert_eq!(webhooks(&sb, "candidate.rolled_back").len(), 1);
    // and a later tick changes nothing
    harvest(&afk);
    assert_eq!(webhooks(&sb, "candidate.rolled_back").len(), 1);
}

#[test]
fn a_harvest_killed_after_deciding_leaves_one_notification_to_the_next_tick() {
    let (sb, afk) = world("");
    ended(&afk, 1, &rep("SSSSSSSSF", 90), 2, 1);
    ended(&afk, 2, &rep("SFFF", 20), 100, 1);
    let out = afk
        .cmd()
        .env("AFK_TEST_EXIT_AFTER", "decision")
        .args(["--json", "harvest"])
        .output()
        .unwrap();
    assert!(out.stdout.is_empty(), "it died before reporting");
    assert_eq!(
        statuses(&afk),
        vec!["current", "rejected"],
        "the decision committed"
    );
    assert_eq!(
        afk.sql_rows("SELECT kind, sent_at IS NULL FROM events"),
        vec![vec!["candidate.rolled_back".to_string(), "1".into()]]
    );
    assert!(sb.hooks().is_empty(), "nothing was notified");
    let r = harvest(&afk);
    assert_eq!(r["decisions"], json!([]), "not decided again");
    assert_eq!(webhooks(&sb, "candidate.rolled_back").len(), 1);
    harvest(&afk);
    assert_eq!(webhooks(&sb, "candidate.rolled_back").len(), 1);
    assert_eq!(count(&afk, "SELECT COUNT(*) FROM events"), 1);
}

#[test]
fn dry_run_decides_and_reports_but_writes_and_notifies_nothing() {
    let (sb, afk) = world("");
    ended(&afk, 1, &rep("SSSSSSSSF", 90), 2, 1);
    ended(&afk, 2, &rep("SFFF", 20), 100, 1);
    let before = afk.sql_rows("SELECT COUNT(*) FROM runs WHERE harvested = 0");
    let (code, r, err) = afk.json(&["--dry-run", "harvest"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(r["dry_run"], true);
    assert_eq!(r["outcomes"].as_array().unwrap().len(), 110);
    assert_eq!(results(&r), vec![(20, "rolled_back".into())]);
    assert_eq!(r["events"][0]["event"], "candidate.rolled_back");
    assert_eq!(statuses(&afk), vec!["current", "canary"]);
    assert_eq!(count(&afk, "SELECT COUNT(*) FROM outcomes"), 0);
    assert_eq!(count(&afk, "SELECT COUNT(*) FROM canary_checkpoints"), 0);
    assert_eq!(count(&afk, "SELECT COUNT(*) FROM events"), 0);
    assert_eq!(
        afk.sql_rows("SELECT COUNT(*) FROM runs WHERE harvested = 0"),
        before
    );
    assert!(sb.hooks().is_empty());
    // the real tick then does what the dry run said
    let real = harvest(&afk);
    assert_eq!(real["checkpoints"], r["checkpoints"]);
    assert_eq!(real["decisions"], r["decisions"]);
}

#[test]
fn the_stop_file_stops_harvest() {
    let (_sb, afk) = world("");
    ended(&afk, 2, "FFFFF", 2, 1);
    afk.scratch.write("state/STOP", "");
    let r = harvest(&afk);
    assert_eq!(r["enabled"], false);
    assert!(r["reason"].as_str().unwrap().contains("stop file"), "{r}");
    assert_eq!(count(&afk, "SELECT COUNT(*) FROM outcomes"), 0);
    assert_eq!(statuses(&afk), vec!["current", "canary"]);
}

#[test]
fn a_live_canary_is_still_decided_after_routing_is_turned_off() {
    let (sb, afk) = world("");
    ended(&afk, 2, "FFFFF", 2, 1);
    let text = std::fs::read_to_string(&afk.config)
        .unwrap()
        .replace("canary = true", "canary = false");
    std::fs::write(&afk.config, text).unwrap();
    let r = harvest(&afk);
    assert_eq!(r["decisions"][0]["reason"], "early-failures");
    assert_eq!(statuses(&afk), vec!["current", "rejected"]);
    assert_eq!(webhooks(&sb, "candidate.rolled_back").len(), 1);
}

// ---- reverts ------------------------------------------------------------------------

const REPOS: usize = 12;

/// `REPOS` repos with one ready issue each, v1 current and v2 the live canary.
fn routing_world(sample: &str) -> (Sandbox, Afk) {
    let repos: Vec<Value> = (0..REPOS)
        .map(|i| repo(&format!("acme/r{i:02}"), json!([ready(1, "alice")])))
        .collect();
    let sb = Sandbox::start(json!({ "repos": repos }));
    let allow: Vec<String> = (0..REPOS).map(|i| format!("\"acme/r{i:02}\"")).collect();
    let afk = Afk::new(
        &sb,
        &format!(
            "enabled = true\nallowlist = [{}]\nmax_in_flight = 50\nmax_per_tick = 50",
            allow.join(", ")
        ),
        &format!("[harvest]\ncanary = true\nsample = {sample}"),
    );
    add(&afk, "v1.md", "implementer v1\n", false);
    add(&afk, "v2.md", "implementer v2 CANARY\n", true);
    (sb, afk)
}

fn poll_seeded(afk: &Afk, seed: &str, dry: bool) -> Value {
    let mut c = afk.cmd();
    c.env("AFK_CANARY_SEED", seed).arg("--json");
    if dry {
        c.arg("--dry-run");
    }
    let out = c.arg("poll").output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// (repo, version) per dispatch, sorted.
fn routed(r: &Value) -> Vec<(String, i64)> {
    let mut v: Vec<(String, i64)> = r["dispatched"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["repo"].as_str().unwrap().to_string(),
                d["template_version"].as_i64().unwrap(),
            )
        })
        .collect();
    v.sort();
    v
}

#[test]
fn the_demo_rolls_its_canary_back_once_with_the_numbers() {
    let out = assert_cmd::Command::new(afk_bin())
        .arg("demo")
        .env_remove("AFK_FORGE_TOKEN")
        .env_remove("AFK_CANARY_SEED")
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(text.matches("candidate.rolled_back").count(), 1, "{text}");
    assert!(
        text.contains("event: candidate.rolled_back implementer@2 rolled back (regression)"),
        "{text}"
    );
    assert!(
        text.contains("CANARY S/F  CONTROL S/F  P(WORSE)  P(BETTER)  RESULT"),
        "{text}"
    );
    assert!(
        text.contains("implementer@1 current, implementer@2 rejected"),
        "{text}"
    );
}

// The cases that reach the forge (the commits list, poll) run on both dialects.
both_dialects! {
/// The whole chain on the sandbox: poll routes to a version, the agent opens a
/// PR, CI goes green, a person merges, watch succeeds and records the merge,
/// harvest records the success; a person reverts the merge and the next
/// harvest turns it into a failure, once.
#[test]
fn a_reverted_merge_turns_its_success_into_a_failure_once() {
    let sb = Sandbox::start(json!({"repos": [repo("acme/api", json!([ready(1, "alice")]))]}));
    let afk = Afk::agent(
        &sb,
        "pr",
        "",
        &format!("{NOTIFY}\n[harvest]\nrevert_window = \"7d\""),
    );
    // the metrics file counts the forge requests harvest makes for reverts
    let text = std::fs::read_to_string(&afk.config).unwrap();
    std::fs::write(
        &afk.config,
        format!("metrics_file = \"metrics/afk.prom\"\n{text}"),
    )
    .unwrap();
    std::fs::create_dir_all(afk.scratch.path("metrics")).unwrap();
    add(&afk, "v1.md", "implementer v1\n", false);
    let (code, r, err) = afk.poll();
    assert_eq!(code, 0, "{err}");
    assert_eq!(r["dispatched"][0]["template_version"], 1);
    afk.wait_agent(1);
    afk.watch();
    sb.status("acme/api", "afk/issue-1", "ci/build", "success");
    afk.watch();
    let prs = sb.open_prs("acme/api");
    let merge = sb.merge("acme/api", prs[0].number);
    let (_, w, _) = afk.watch();
    assert_eq!(action_of(&w, 1).0, "succeed");
    assert_eq!(
        afk.sql_rows("SELECT merge_sha, base_branch FROM runs WHERE id = 1"),
        vec![vec![merge.clone(), "main".to_string()]]
    );
    sb.clear_requests();
    let r = harvest(&afk);
    assert_eq!(
        r["outcomes"],
        json!([{"run_id": 1, "template": "implementer", "version": 1, "outcome": "success"}])
    );
    assert_eq!(r["reverted"], json!([]));
    let listings = |sb: &Sandbox| {
        sb.requests()
            .into_iter()
            .filter(|q| q["path"] == sb.path("acme/api", sb.dialect.commits_rest()))
            .count()
    };
    assert_eq!(listings(&sb), 1, "one listing per repo per tick");
    let metrics = std::fs::read_to_string(afk.scratch.path("metrics/afk.prom")).unwrap();
    let harvest_requests: usize = metrics
        .lines()
        .find_map(|l| l.strip_prefix("afk_tick_requests{tick=\"harvest\"} "))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{metrics}"));
    assert_eq!(harvest_requests, sb.requests().len(), "{metrics}");

    let revert = sb.admin(
        "POST",
        "/revert",
        Some(json!({"repo": "acme/api", "sha": merge})),
    )["sha"]
        .as_str()
        .unwrap()
        .to_string();
    let r = harvest(&afk);
    assert_eq!(r["reverted"], json!([{"run_id": 1, "reverted_by": revert}]));
    assert_eq!(
        afk.sql_rows("SELECT outcome, reverted_by FROM outcomes"),
        vec![vec!["failure".to_string(), revert.clone()]]
    );
    let (_, l, _) = afk.json(&["template", "list"]);
    assert_eq!(
        l["templates"][0]["outcomes"],
        json!({"success": 0, "failure": 1})
    );
    // once: no success left to watch, so no listing either
    sb.clear_requests();
    assert_eq!(harvest(&afk)["reverted"], json!([]));
    assert_eq!(listings(&sb), 0);
}

#[test]
fn reverts_are_looked_for_only_inside_the_window() {
    let sb = Sandbox::start(
        json!({"repos": [repo("acme/api", json!([])), repo("acme/web", json!([]))]}),
    );
    let afk = Afk::agent(&sb, "pr", "", "[harvest]\nrevert_window = \"1d\"");
    add(&afk, "v1.md", "implementer v1\n", false);
    let sha = sb.push_commit("acme/api", "feature", "f.txt");
    let revert_msg = format!("Revert\n\nThis reverts commit {sha}.\n");
    sb.admin(
        "POST",
        "/revert",
        Some(json!({"repo": "acme/api", "sha": sha, "branch": "main", "message": revert_msg})),
    );
    // a success merged in acme/api, recorded as watch records it
    record_merged_success(&afk, &sha);
    // two days later the window has closed: no listing, no flip
    afk.later(48);
    sb.clear_requests();
    let r = harvest(&afk);
    assert_eq!(r["outcomes"][0]["outcome"], "success");
    assert_eq!(r["reverted"], json!([]));
    // the leaderboard figures still fetch a merge of the last 30 days (git,
    // and the account git fetches as): nothing of the repository is asked
    assert_eq!(repo_paths(&sb), Vec::<String>::new());
}

/// The message alone is not proof
/// (docs/security.md#only-afks-own-writing-counts). Mallory (read) writes `This
/// reverts commit <merge>` into two README-only commits and a maintainer merges
/// them: the success stays a success, and her permission is looked up once. The
/// same message on alice's commit (write) counts.
#[test]
fn a_revert_message_flips_a_success_only_from_a_trusted_author() {
    let (sb, afk, merge) = merged_success(repo("acme/api", json!([])));
    sb.clear_requests();
    assert_eq!(harvest(&afk)["reverted"], json!([]));
    assert_eq!(
        repo_paths(&sb),
        vec![sb.path("acme/api", sb.dialect.commits_rest())],
        "no commit names the merge: the listing is all"
    );
    let msg = format!("Revert \"Merge pull request #1\"\n\nThis reverts commit {merge}.\n");
    for text in ["# acme/api\n\ntypo\n", "# acme/api\n\ntypos\n"] {
        sb.commit_as(
            "acme/api",
            "mallory/readme",
            "mallory",
            &[("README.md", text)],
            &msg,
        );
    }
    let pr = sb.open_pr("acme/api", "mallory/readme", "fix typos");
    sb.merge_by("acme/api", pr, "alice");
    sb.clear_requests();
    let r = harvest(&afk);
    assert_eq!(r["reverted"], json!([]), "{r}");
    assert_eq!(
        afk.sql_rows("SELECT outcome, reverted_by FROM outcomes"),
        vec![vec!["success".to_string(), "NULL".to_string()]]
    );
    let asked = paths(&sb)
        .iter()
        .filter(|p| p.ends_with("/collaborators/mallory/permission"))
        .count();
    // GitLab's commits name no account (a name and an e-mail only): only a
    // true revert counts there, and nobody is looked up
    let accounts = sb.dialect.differs().commit_accounts;
    assert_eq!(asked, usize::from(accounts), "one lookup per login per tick");

    let by_alice = sb.commit_as(
        "acme/api",
        "main",
        "alice",
        &[("README.md", "# acme/api\n\nreverted by hand\n")],
        &msg,
    );
    let r = harvest(&afk);
    if !accounts {
        assert_eq!(r["reverted"], json!([]), "{r}");
        assert!(!paths(&sb).iter().any(|p| p.contains("/members/")), "{:?}", paths(&sb));
        return;
    }
    assert_eq!(r["reverted"], json!([{"run_id": 1, "reverted_by": by_alice}]));
    assert_eq!(
        afk.sql_rows("SELECT outcome, reverted_by FROM outcomes"),
        vec![vec!["failure".to_string(), by_alice]]
    );
}

/// When the forge refuses to say who may write (afk's account is not an
/// admin), a message-only commit is not a revert, and the tick says why.
#[test]
fn a_refused_permission_lookup_counts_nobody_and_is_reported() {
    let mut seed = repo("acme/api", json!([]));
    seed["permission_lookup"] = json!(false);
    let (sb, afk, merge) = merged_success(seed);
    let msg = format!("Revert\n\nThis reverts commit {merge}.\n");
    sb.commit_as(
        "acme/api",
        "main",
        "alice",
        &[("README.md", "# acme/api\n\nhand-made\n")],
        &msg,
    );
    let (code, r, err) = afk.json(&["harvest"]);
    assert_eq!(r["reverted"], json!([]));
    if sb.dialect.differs().commit_accounts {
        assert_eq!(code, 1, "{err} {r}");
        assert!(err.contains("alice"), "{err}");
    } else {
        // GitLab: the commit names no account, so nobody is looked up
        assert_eq!(code, 0, "{err} {r}");
    }
    assert_eq!(
        afk.sql_rows("SELECT outcome FROM outcomes"),
        vec![vec!["success".to_string()]]
    );
}

// ---- routing --------------------------------------------------------------------------

#[test]
fn sample_zero_and_one_route_everything_one_way() {
    for (sample, want) in [("0.0", 1), ("1.0", 2)] {
        let (_sb, afk) = routing_world(sample);
        let (code, r, err) = afk.poll();
        assert_eq!(code, 0, "{err}");
        let got = routed(&r);
        assert_eq!(got.len(), REPOS);
        assert!(
            got.iter().all(|(_, v)| *v == want),
            "sample {sample}: {got:?}"
        );
    }
}

#[test]
fn a_seeded_draw_routes_as_the_hash_says_and_the_dry_run_predicts_the_tick() {
    let (_sb, afk) = routing_world("0.5");
    let dry = poll_seeded(&afk, "42", true);
    assert_eq!(count(&afk, "SELECT COUNT(*) FROM runs"), 0);
    let real = poll_seeded(&afk, "42", false);
    assert_eq!(routed(&dry), routed(&real), "the dry run predicts the tick");
    // each run is routed by the stable hash of (seed, repo, issue, ready event)
    let rows = afk.sql_rows(
        "SELECT repo, issue, ready_event_id, template_version_id, template_version, template_hash, id FROM runs",
    );
    let mut canaries = 0;
    for r in &rows {
        let u = afk::core::routing::seeded_draw(
            42,
            &r[0],
            r[1].parse().unwrap(),
            r[2].parse().unwrap(),
        );
        let want = if u < 0.5 { "2" } else { "1" };
        assert_eq!(r[3], want, "{r:?} u = {u}");
        assert_eq!(r[4], want);
        let body = if want == "2" {
            "implementer v2 CANARY\n"
        } else {
            "implementer v1\n"
        };
        assert_eq!(r[5], afk::store::templates::content_hash(body));
        // the prompt is built from exactly the routed text
        let prompt = std::fs::read_to_string(
            afk.scratch
                .path(&format!("state/runs/{}/prompt-1.md", r[6])),
        )
        .unwrap();
        assert!(prompt.starts_with(body.trim_end()), "{prompt}");
        canaries += (want == "2") as usize;
    }
    assert!(
        canaries > 0 && canaries < REPOS,
        "a mix: {canaries} of {REPOS}"
    );
}

#[test]
fn seeded_twin_worlds_route_alike() {
    let (_a_sb, a) = routing_world("0.5");
    let (_b_sb, b) = routing_world("0.5");
    assert_eq!(
        routed(&poll_seeded(&a, "7", false)),
        routed(&poll_seeded(&b, "7", false))
    );
}

#[test]
fn routing_stops_when_harvest_canary_is_off() {
    let (_sb, afk) = routing_world("1.0");
    let text = std::fs::read_to_string(&afk.config).unwrap();
    std::fs::write(&afk.config, text.replace("canary = true", "canary = false")).unwrap();
    let (_, r, _) = afk.poll();
    assert!(routed(&r).iter().all(|(_, v)| *v == 1), "{r}");
}

#[test]
fn a_bad_seed_is_a_usage_error() {
    let (_sb, afk) = routing_world("0.5");
    let out = afk
        .cmd()
        .env("AFK_CANARY_SEED", "many")
        .arg("poll")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("AFK_CANARY_SEED"));
    assert_eq!(count(&afk, "SELECT COUNT(*) FROM runs"), 0);
}
}

/// The reverts every forge proves, Azure DevOps too.
mod proven {
    use super::*;

    both_dialects! {
        azure_devops_plays;

        /// `git revert -m 1` of the merge counts whoever made it (mallory, read
        /// only), also after a later commit moved the lines it touches three lines
        /// down: the diff is the proof, and no permission is looked up. On Azure
        /// DevOps, whose diffs name the files without their lines, the two diffs
        /// are read from afk's git cache.
        #[test]
        fn a_true_revert_of_the_merge_counts_whoever_made_it() {
            let (sb, afk, merge) = merged_success(repo("acme/api", json!([])));
            let moved = format!("a\nb\nc\n{}", app(Some("fifteen, fixed")));
            sb.commit_as("acme/api", "main", "root", &[("app.txt", &moved)], "three lines on top");
            let revert = sb.work_as("acme/api", "mallory/revert", |w| {
                git_as(w, "mallory", &["revert", "-m", "1", "--no-edit", &merge]);
            });
            let pr = sb.open_pr("acme/api", "mallory/revert", "revert");
            sb.merge_by("acme/api", pr, "alice");
            sb.clear_requests();
            let r = harvest(&afk);
            assert_eq!(r["reverted"], json!([{"run_id": 1, "reverted_by": revert}]), "{r}");
            // no one's permission is read: neither a collaborator's nor an ACL
            assert!(
                !paths(&sb)
                    .iter()
                    .any(|p| p.contains("/collaborators/") || p.contains("accesscontrollists")),
                "{:?}",
                paths(&sb)
            );
        }
    }
}

/// `app.txt` as main has it before the run: twenty numbered lines, the
/// fifteenth replaced by `fifteenth` when given.
fn app(fifteenth: Option<&str>) -> String {
    (1..=20)
        .map(|i| match (i, fifteenth) {
            (15, Some(t)) => format!("{t}\n"),
            _ => format!("line {i}\n"),
        })
        .collect()
}

/// The paths of the API requests the sandbox received since it was last cleared.
/// The paths of [`paths`] under acme/api.
fn repo_paths(sb: &Sandbox) -> Vec<String> {
    let under = sb.path("acme/api", "");
    paths(sb)
        .into_iter()
        .filter(|p| p.starts_with(under.trim_end_matches('/')))
        .collect()
}

fn paths(sb: &Sandbox) -> Vec<String> {
    sb.requests()
        .iter()
        .map(|q| q["path"].as_str().unwrap().to_string())
        .collect()
}

/// A world with one recorded success: `app.txt` on main (by root), the run's
/// PR (by afk-bot) fixes its fifteenth line and adds `feature.txt`, alice
/// merges it, and the run is stored as watch stores a success; the first
/// harvest records the outcome. Returns the sandbox, afk and the merge.
fn merged_success(seed_repo: Value) -> (Sandbox, Afk, String) {
    let sb = Sandbox::start(json!({ "repos": [seed_repo] }));
    let afk = Afk::agent(&sb, "pr", "", "[harvest]\nrevert_window = \"7d\"");
    add(&afk, "v1.md", "implementer v1\n", false);
    sb.commit_as(
        "acme/api",
        "main",
        "root",
        &[("app.txt", &app(None))],
        "app",
    );
    sb.commit_as(
        "acme/api",
        "afk/issue-1",
        "afk-bot",
        &[
            ("app.txt", &app(Some("fifteen, fixed"))),
            ("feature.txt", "new\n"),
        ],
        "fix line 15",
    );
    let pr = sb.open_pr("acme/api", "afk/issue-1", "");
    let merge = sb.merge_by("acme/api", pr, "alice");
    record_merged_success(&afk, &merge);
    let r = harvest(&afk);
    assert_eq!(r["outcomes"][0]["outcome"], "success", "{r}");
    (sb, afk, merge)
}
