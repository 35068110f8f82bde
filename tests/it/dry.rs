//! A dry run is the real tick on dry edges (`src/edges/`): run on the same
//! sandbox world, a dry tick and the real tick after it make the same plan,
//! and the dry one wrote nothing (forge, state file, run folders, lessons,
//! notifications); what it would have written is in its report.

use crate::support::*;
use serde_json::{Value, json};
use std::path::Path;

const NOTIFY: &str =
    "[notify]\nslack_webhook_env = \"AFK_TEST_SLACK\"\nwebhook_env = \"AFK_TEST_WEBHOOK\"";

/// A poll report's plan: what it dispatched, on which template, and every
/// skip with its reason and why.
fn poll_plan(r: &Value) -> Vec<String> {
    let mut plan: Vec<String> = r["dispatched"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            format!(
                "dispatch {}#{} {}@{}",
                d["repo"], d["issue"], d["template"], d["template_version"]
            )
        })
        .collect();
    for s in r["skipped"].as_array().unwrap() {
        plan.push(format!(
            "skip {}#{} {} {}",
            s["repo"], s["issue"], s["reason"], s["detail"]
        ));
    }
    for k in r["reconciled"].as_array().unwrap() {
        plan.push(format!("reconcile {}#{}", k["repo"], k["issue"]));
    }
    plan
}

/// A watch report's plan: each run's action, reason and the why in words.
fn watch_plan(r: &Value) -> Vec<String> {
    r["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            format!(
                "{}#{} run {}: {} {} ({})",
                a["repo"], a["issue"], a["run_id"], a["action"], a["reason"], a["detail"]
            )
        })
        .collect()
}

/// Every file under `dir` (the state file's WAL side files left out: SQLite
/// may touch them on a read) with its contents.
fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = vec![];
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files(&p));
        } else if !p.to_string_lossy().ends_with("-shm") && !p.to_string_lossy().ends_with("-wal") {
            out.push((p.display().to_string(), std::fs::read(&p).unwrap()));
        }
    }
    out.sort();
    out
}

/// What the state file holds, table by table.
fn tables(afk: &Afk) -> Vec<Vec<Vec<String>>> {
    [
        "SELECT * FROM runs ORDER BY id",
        "SELECT * FROM events ORDER BY id",
        "SELECT * FROM lessons ORDER BY id",
        "SELECT * FROM pending_posts ORDER BY key",
        "SELECT * FROM frozen_repos ORDER BY repo",
    ]
    .iter()
    .map(|q| afk.sql_rows(q))
    .collect()
}

both_dialects! {
    azure_devops_plays;
    #[test]
    fn a_dry_poll_and_the_real_poll_make_the_same_plan() {
        let issues = json!([ready(1, "alice"), ready(2, "mallory"), ready(3, "alice")]);
        let sb = Sandbox::start(json!({"repos": [repo("acme/api", issues)]}));
        let afk = Afk::agent(&sb, "pr", "", NOTIFY);
        let (code, dry, err) = afk.json(&["--dry-run", "poll"]);
        assert_eq!(code, 0, "{err}");
        assert_eq!(dry["dry_run"], true);
        assert!(sb.writes().is_empty(), "{:?}", sb.writes());
        assert!(!afk.scratch.path("state").exists(), "no state, lock or run folder");
        let would: Vec<String> = serde_json::from_value(dry["writes"].clone()).unwrap();
        assert_eq!(
            would,
            vec![
                "acme/api#1: start an agent".to_string(),
                "acme/api#1: add label \"agent-in-progress\"".into()
            ]
        );

        let (code, real, err) = afk.poll();
        assert_eq!(code, 0, "{err}");
        assert_eq!(poll_plan(&dry), poll_plan(&real));
        assert_eq!(pairs(&real["dispatched"]), vec![("acme/api".into(), 1)]);
        assert!(real.get("writes").is_none(), "a real tick records none: {real}");
        assert!(!sb.writes().is_empty(), "the real tick wrote");
        afk.wait_agent(1);
    }

    #[test]
    fn a_dry_watch_and_the_real_watch_make_the_same_plan_and_the_dry_one_writes_nothing() {
        let sb = Sandbox::start(json!({"repos": [repo("acme/api", json!([ready(1, "alice")]))]}));
        let afk = Afk::agent(&sb, "pr", "fix_forward_max = 0", NOTIFY);
        assert_eq!(afk.poll().0, 0);
        afk.wait_agent(1);
        // a red CI with no corrective turn left: escalate (a decision in the
        // state file, labels, a comment, a notification, a lesson)
        sb.status("acme/api", "afk/issue-1", "ci/test", "failure");
        sb.clear_requests();
        let (state, before) = (tables(&afk), files(&afk.scratch.path("state")));

        let (code, dry, err) = afk.json(&["--dry-run", "watch"]);
        assert_eq!(code, 0, "{err}");
        assert_eq!(action_of(&dry, 1), ("escalate".into(), Some("ci-red".into())));
        assert!(sb.writes().is_empty(), "{:?}", sb.writes());
        assert!(sb.hooks().is_empty(), "no notification");
        assert_eq!(tables(&afk), state, "the state file is unchanged");
        assert_eq!(files(&afk.scratch.path("state")), before, "no file written");
        let would = dry["writes"].as_array().unwrap();
        assert!(
            would.iter().any(|w| w.as_str().unwrap().contains("add label")),
            "{dry}"
        );

        let (code, real, err) = afk.watch();
        assert_eq!(code, 0, "{err}");
        assert_eq!(watch_plan(&dry), watch_plan(&real));
        assert_eq!(
            sb.writes().len(),
            would.len(),
            "the dry run named each write the real tick made: {would:?} {:?}",
            sb.writes()
        );
        assert_eq!(real["events"]["sent"], 2, "{real}");
        assert_ne!(tables(&afk), state);
    }
}

#[test]
fn a_dry_template_add_and_lessons_record_name_what_the_real_ones_write() {
    let afk =
        Afk::with_text("state_path = \"state/afk.db\"\n[forge]\nurl = \"http://127.0.0.1:1\"\n");
    let tpl = afk.scratch.write("t.md", "You are the implementer.\n");
    let add = [
        "template",
        "add",
        "implementer",
        "--file",
        tpl.to_str().unwrap(),
    ];
    let (code, dry, err) = afk.json(&[&["--dry-run"][..], &add[..]].concat());
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        (dry["dry_run"].clone(), dry["version"].clone()),
        (json!(true), json!(1))
    );
    let (code, _, err) = afk.json(&["--dry-run", "lessons", "record", "--type", "flaky_test"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        !afk.scratch.path("state").exists(),
        "a dry run creates nothing"
    );

    let (code, real, err) = afk.json(&add);
    assert_eq!(code, 0, "{err}");
    assert_eq!(real["template"]["version"], dry["version"], "{real}");
    // a second dry add reads the real one from the state file and changes nothing
    let (_, again, _) = afk.json(&[&["--dry-run"][..], &add[..]].concat());
    assert_eq!(again["version"], 2);
    assert_eq!(
        afk.sql_rows("SELECT version FROM template_versions"),
        vec![vec!["1".to_string()]]
    );
    let (_, lesson, _) = afk.json(&["--dry-run", "lessons", "record", "--type", "flaky_test"]);
    assert_eq!(lesson["id"], Value::Null, "{lesson}");
    assert_eq!(
        afk.sql_rows("SELECT count(*) FROM lessons"),
        vec![vec!["0".to_string()]]
    );
}
