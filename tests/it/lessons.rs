//! `afk lessons` through the binary, the automatic `transient_retry` lesson from
//! poll, the observer rule (a failing journal never changes the tick), the kill
//! switch, and lessons fed back into the dispatch prompt.

use crate::support::*;
use serde_json::{Value, json};

fn journal() -> Afk {
    Afk::with_text("state_path = \"state/afk.db\"\n")
}

fn record(afk: &Afk, args: &[&str]) -> i64 {
    let mut a = vec!["lessons", "record"];
    a.extend_from_slice(args);
    let (code, r, err) = afk.json(&a);
    assert_eq!(code, 0, "{err}");
    r["id"].as_i64().unwrap()
}

fn list(afk: &Afk, args: &[&str]) -> Vec<Value> {
    let mut a = vec!["lessons", "list"];
    a.extend_from_slice(args);
    let (code, r, err) = afk.json(&a);
    assert_eq!(code, 0, "{err}");
    assert_eq!(r["enabled"], true);
    r["lessons"].as_array().unwrap().clone()
}

fn ids(v: &[Value]) -> Vec<i64> {
    v.iter().map(|l| l["id"].as_i64().unwrap()).collect()
}

#[test]
fn record_returns_the_id_and_list_is_newest_first_with_filters() {
    let afk = journal();
    let a = record(
        &afk,
        &[
            "--type",
            "flaky_test",
            "--repo",
            "acme/api",
            "--work-item",
            "acme/api#7",
            "--stage",
            "ci",
            "--root-cause",
            "a timing test",
            "--suggestion",
            "use a fake clock",
            "--attribution",
            "repo",
            "--target-domain",
            "reliability",
        ],
    );
    let b = record(&afk, &["--type", "gate_failure", "--repo", "acme/api"]);
    let c = record(&afk, &["--type", "gate_failure", "--repo", "acme/web"]);
    assert!(a < b && b < c);
    assert_eq!(ids(&list(&afk, &[])), vec![c, b, a]);
    assert_eq!(ids(&list(&afk, &["--type", "gate_failure"])), vec![c, b]);
    assert_eq!(ids(&list(&afk, &["--repo", "acme/api"])), vec![b, a]);
    assert_eq!(ids(&list(&afk, &["--work-item", "acme/api#7"])), vec![a]);
    assert_eq!(ids(&list(&afk, &["--limit", "1"])), vec![c]);
    let l = &list(&afk, &["--work-item", "acme/api#7"])[0];
    assert_eq!(l["source"], "manual");
    assert_eq!(l["status"], "new");
    assert_eq!(l["updated_at"], Value::Null);
    assert_eq!(l["target_domain"], "reliability");
    assert_eq!(l["attribution"], "repo");
    assert_eq!(l["related_item"], Value::Null);
    // manual lessons are never deduplicated
    let d = record(&afk, &["--type", "gate_failure", "--repo", "acme/web"]);
    assert!(d > c);
}

#[test]
fn update_stamps_updated_at_and_filters_by_status() {
    let afk = journal();
    let a = record(&afk, &["--type", "gate_failure", "--repo", "acme/api"]);
    let (code, r, _) = afk.json(&[
        "lessons",
        "update",
        &a.to_string(),
        "--status",
        "in_progress",
        "--related-item",
        "acme/api#9",
    ]);
    assert_eq!(code, 0);
    assert_eq!(r, json!({"id": a, "updated": true}));
    let l = &list(&afk, &[])[0];
    assert_eq!(l["status"], "in_progress");
    assert_eq!(l["related_item"], "acme/api#9");
    assert!(l["updated_at"].is_string());
    assert_eq!(ids(&list(&afk, &["--status", "in_progress"])), vec![a]);
    assert!(list(&afk, &["--status", "closed"]).is_empty());
}

#[test]
fn bad_updates_are_refused_and_change_nothing() {
    let afk = journal();
    let a = record(&afk, &["--type", "gate_failure"]);
    let before = list(&afk, &[]);
    // unknown id
    let out = afk
        .cmd()
        .args(["lessons", "update", "999", "--status", "closed"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    // one line (stamped with time and level when stderr is not a terminal)
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(
        err.trim().ends_with("lessons: no lesson with id 999"),
        "{err}"
    );
    // nothing to update
    let out = afk
        .cmd()
        .args(["lessons", "update", &a.to_string()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("nothing to update"));
    // enum values name the allowed ones
    let out = afk
        .cmd()
        .args(["lessons", "update", &a.to_string(), "--status", "done"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("\"done\" is not one of new, in_progress, closed")
    );
    let out = afk
        .cmd()
        .args([
            "lessons",
            "update",
            &a.to_string(),
            "--target-domain",
            "vibes",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("reliability, quality, speed, cost, security")
    );
    let out = afk
        .cmd()
        .args(["lessons", "record", "--type", "x", "--attribution", "me"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("platform, repo, both"));
    let out = afk
        .cmd()
        .args(["lessons", "record", "--type", "Not A Slug"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(list(&afk, &[]), before, "nothing changed");
}

#[test]
fn snapshot_totals() {
    let afk = journal();
    let (_, r, _) = afk.json(&["lessons", "snapshot"]);
    assert_eq!(
        r,
        json!({"enabled": true, "total": 0, "open": 0, "by_type": {}, "by_status": {}})
    );
    assert!(!afk.state().exists(), "reading creates no state file");
    let a = record(&afk, &["--type", "gate_failure"]);
    record(&afk, &["--type", "gate_failure"]);
    record(&afk, &["--type", "merge_hold"]);
    afk.json(&["lessons", "update", &a.to_string(), "--status", "closed"]);
    let (_, r, _) = afk.json(&["lessons", "snapshot"]);
    assert_eq!(
        r,
        json!({"enabled": true, "total": 3, "open": 2,
        "by_type": {"gate_failure": 2, "merge_hold": 1}, "by_status": {"closed": 1, "new": 2}})
    );
}

/// A status afk never writes (a row another program wrote) is not passed on
/// as text: reading that row fails, exit 1, with one line naming the lesson
/// and the value; reads that never touch it go on, and `update` repairs it.
#[test]
fn a_status_afk_does_not_know_is_named_and_update_repairs_it() {
    let afk = journal();
    let a = record(&afk, &["--type", "gate_failure"]);
    let b = record(&afk, &["--type", "merge_hold"]);
    afk.sql(&format!("UPDATE lessons SET status='wontfix' WHERE id={a}"));
    let named = format!(
        "lesson {a}: \"wontfix\" is not a lesson status (afk knows new, in_progress, closed)"
    );
    for args in [&["lessons", "list"][..], &["lessons", "snapshot"]] {
        let out = afk.cmd().args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.trim().lines().count(), 1, "{err}");
        assert!(err.contains("is not a lesson status"), "{args:?}: {err}");
    }
    let (code, r, _) = afk.json(&["lessons", "list"]);
    assert_eq!(code, 1);
    assert!(r["error"].as_str().unwrap().ends_with(&named), "{r}");
    assert_eq!(ids(&list(&afk, &["--status", "open"])), vec![b]);
    let (code, _, err) = afk.json(&["lessons", "update", &a.to_string(), "--status", "closed"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(ids(&list(&afk, &[])), vec![b, a]);
}

#[test]
fn disabled_journal_answers_enabled_false_and_never_opens_the_state_file() {
    let afk = Afk::with_text("state_path = \"state/afk.db\"\n[lessons]\nenabled = false\n");
    // a corrupt state file proves it is not opened
    std::fs::create_dir_all(afk.scratch.path("state")).unwrap();
    std::fs::write(afk.state(), "junk").unwrap();
    for args in [
        vec!["lessons", "record", "--type", "gate_failure"],
        vec!["lessons", "list"],
        vec!["lessons", "update", "1", "--status", "closed"],
        vec!["lessons", "snapshot"],
    ] {
        let (code, r, err) = afk.json(&args);
        assert_eq!(code, 0, "{args:?} {err}");
        // a list is a list, empty: a script reading `.lessons` needs no case
        let want = if args[1] == "list" {
            json!({"enabled": false, "lessons": []})
        } else {
            json!({"enabled": false})
        };
        assert_eq!(r, want, "{args:?}");
    }
    assert_eq!(std::fs::read_to_string(afk.state()).unwrap(), "junk");
}

#[test]
fn a_hundred_thousand_lessons_list_correctly_with_filters() {
    let afk = journal();
    record(&afk, &["--type", "seed"]); // creates the file with the schema
    {
        let mut c = rusqlite::Connection::open(afk.state()).unwrap();
        let tx = c.transaction().unwrap();
        {
            let mut st = tx
                .prepare(
                    "INSERT INTO lessons (created_at, lesson_type, source, status, repo, work_item)
                VALUES ('2026-01-01T00:00:00Z', ?1, 'manual', ?2, ?3, ?4)",
                )
                .unwrap();
            for i in 0..100_000 {
                let ty = [
                    "gate_failure",
                    "merge_hold",
                    "transient_retry",
                    "deploy_degraded",
                ][i % 4];
                let status = ["new", "in_progress", "closed"][i % 3];
                let repo = format!("acme/r{}", i % 50);
                st.execute(rusqlite::params![
                    ty,
                    status,
                    repo,
                    format!("{repo}#{}", i % 200)
                ])
                .unwrap();
            }
        }
        tx.commit().unwrap();
    }
    let got = list(
        &afk,
        &[
            "--type",
            "merge_hold",
            "--status",
            "closed",
            "--repo",
            "acme/r7",
            "--limit",
            "3",
        ],
    );
    assert_eq!(got.len(), 3);
    let ids = ids(&got);
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "newest first");
    for l in &got {
        assert_eq!(
            (
                l["lesson_type"].as_str(),
                l["status"].as_str(),
                l["repo"].as_str()
            ),
            (Some("merge_hold"), Some("closed"), Some("acme/r7"))
        );
    }
    // the newest match: row i with i%4==1, i%3==2, i%50==7, largest i < 100000
    let i = (0..100_000usize)
        .rev()
        .find(|i| i % 4 == 1 && i % 3 == 2 && i % 50 == 7)
        .unwrap();
    assert_eq!(
        ids[0],
        i as i64 + 2,
        "ids start at 1 and the seed lesson took id 1"
    );
    let (_, r, _) = afk.json(&["lessons", "snapshot"]);
    assert_eq!(r["total"], 100_001);
}

// ---- automatic lessons from poll, and the observer rule --------------------------------

fn failing_forge() -> (Sandbox, Afk) {
    let sb = Sandbox::start(json!({"repos": [repo("acme/api", json!([ready(1, "alice")]))]}));
    sb.faults(json!([{"path": "/issues", "status": 503}]));
    let afk = Afk::new(&sb, "enabled = true\nallowlist = [\"acme/api\"]", "");
    (sb, afk)
}

fn baseline() -> (i32, Value) {
    let (_sb, afk) = failing_forge();
    let (code, mut r, _) = afk.poll();
    r["requests"] = Value::Null;
    (code, r)
}

fn assert_tick_unchanged(code: i32, mut r: Value, err: &str) {
    r["requests"] = Value::Null;
    assert_eq!((code, r), baseline(), "the tick must not change");
    let warnings: Vec<&str> = err
        .lines()
        .filter(|l| l.contains("lessons: could not record"))
        .collect();
    assert_eq!(warnings.len(), 1, "one warning line: {err}");
}

#[test]
fn a_locked_journal_never_changes_the_tick() {
    let (_sb, afk) = failing_forge();
    afk.poll(); // creates the state file
    afk.sql("DELETE FROM lessons");
    let c = rusqlite::Connection::open(afk.state()).unwrap();
    c.execute_batch("BEGIN EXCLUSIVE").unwrap();
    let out = afk
        .cmd()
        .env("AFK_BUSY_TIMEOUT_MS", "50")
        .args(["--json", "poll"])
        .output()
        .unwrap();
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_tick_unchanged(
        out.status.code().unwrap(),
        r,
        &String::from_utf8_lossy(&out.stderr),
    );
    c.execute_batch("ROLLBACK").unwrap();
}

#[test]
fn a_corrupt_lessons_table_never_changes_the_tick() {
    let (_sb, afk) = failing_forge();
    afk.poll();
    afk.sql("DROP TABLE lessons; CREATE TABLE lessons (nonsense TEXT)");
    let (code, r, err) = afk.poll();
    assert_tick_unchanged(code, r, &err);
}

// ---- fed back into prompts ------------------------------------------------------

// The cases where a tick meets the forge run on both dialects.
both_dialects! {
#[test]
fn exhausted_forge_retries_record_one_transient_retry_lesson() {
    let (_sb, afk) = failing_forge();
    let (code, r, _) = afk.poll();
    assert_eq!(code, 1);
    assert!(r["errors"][0]["message"].as_str().unwrap().contains("503"));
    let ls = list(&afk, &["--type", "transient_retry"]);
    assert_eq!(ls.len(), 1);
    assert_eq!(ls[0]["source"], "auto");
    assert_eq!(ls[0]["repo"], "acme/api");
    assert_eq!(ls[0]["stage"], "poll");
    assert!(
        ls[0]["detail"]
            .as_str()
            .unwrap()
            .contains(&format!(
                "GET {} returned 503",
                api_path(dialect(), "acme/api", "issues")
            ))
    );
    // the next tick hits the same failure: deduplicated within the window
    afk.poll();
    assert_eq!(list(&afk, &["--type", "transient_retry"]).len(), 1);
}

#[test]
fn the_dedup_window_is_measured_on_afks_clock() {
    // the window (1h) is read on the same clock that stamps lessons, so a
    // pinned clock (AFK_NOW) dedups as the wall clock would
    let (_sb, afk) = failing_forge();
    afk.later(48);
    afk.poll();
    afk.poll();
    assert_eq!(
        list(&afk, &["--type", "transient_retry"]).len(),
        1,
        "the second failure is within the window"
    );
    afk.later(50);
    afk.poll();
    assert_eq!(
        list(&afk, &["--type", "transient_retry"]).len(),
        2,
        "two hours later the window has passed"
    );
}

#[test]
fn a_zero_dedup_window_records_every_time() {
    let (sb, _) = failing_forge();
    let afk = Afk::new(
        &sb,
        "enabled = true\nallowlist = [\"acme/api\"]",
        "[lessons]\ndedup_window = \"0s\"",
    );
    afk.poll();
    afk.poll();
    assert_eq!(list(&afk, &["--type", "transient_retry"]).len(), 2);
}

#[test]
fn a_disabled_journal_records_nothing_automatically() {
    let (sb, _) = failing_forge();
    let afk = Afk::new(
        &sb,
        "enabled = true\nallowlist = [\"acme/api\"]",
        "[lessons]\nenabled = false",
    );
    assert_eq!(afk.poll().0, 1);
    let c = rusqlite::Connection::open(afk.state()).unwrap();
    let n: i64 = c
        .query_row("SELECT count(*) FROM lessons", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 0);
}

/// The tick's outcome with a healthy journal, for comparison.

#[test]
fn open_lessons_of_the_repo_go_into_the_prompt_newest_first() {
    let sb = Sandbox::start(json!({"repos": [repo("acme/api", json!([ready(1, "alice")]))]}));
    let afk = Afk::new(
        &sb,
        "enabled = true\nallowlist = [\"acme/api\"]",
        "[lessons]\nin_prompt = 2",
    );
    record(
        &afk,
        &[
            "--type",
            "gate_failure",
            "--repo",
            "acme/api",
            "--root-cause",
            "OLDEST",
        ],
    );
    record(
        &afk,
        &[
            "--type",
            "gate_failure",
            "--repo",
            "acme/api",
            "--root-cause",
            "lint failed",
            "--suggestion",
            "run the linter",
        ],
    );
    let closed = record(
        &afk,
        &[
            "--type",
            "gate_failure",
            "--repo",
            "acme/api",
            "--root-cause",
            "CLOSED ONE",
        ],
    );
    afk.json(&[
        "lessons",
        "update",
        &closed.to_string(),
        "--status",
        "closed",
    ]);
    record(
        &afk,
        &[
            "--type",
            "gate_failure",
            "--repo",
            "acme/web",
            "--root-cause",
            "OTHER REPO",
        ],
    );
    record(
        &afk,
        &[
            "--type",
            "merge_hold",
            "--repo",
            "acme/api",
            "--root-cause",
            "newest <!-- hidden -->",
        ],
    );
    let (code, _, err) = afk.poll();
    assert_eq!(code, 0, "{err}");
    let prompt = std::fs::read_to_string(afk.scratch.path("state/runs/1/prompt-1.md")).unwrap();
    let section = prompt
        .split("## Lessons from earlier runs in this repo")
        .nth(1)
        .expect("the section");
    let a = section.find("[merge_hold] newest").expect("newest");
    let b = section
        .find("[gate_failure] lint failed — run the linter")
        .expect("second newest");
    assert!(a < b);
    for absent in ["OLDEST", "CLOSED ONE", "OTHER REPO", "hidden"] {
        assert!(!prompt.contains(absent), "{absent}");
    }
}

#[test]
fn in_prompt_zero_leaves_the_section_out() {
    let sb = Sandbox::start(json!({"repos": [repo("acme/api", json!([ready(1, "alice")]))]}));
    let afk = Afk::new(
        &sb,
        "enabled = true\nallowlist = [\"acme/api\"]",
        "[lessons]\nin_prompt = 0",
    );
    record(
        &afk,
        &[
            "--type",
            "gate_failure",
            "--repo",
            "acme/api",
            "--root-cause",
            "x",
        ],
    );
    afk.poll();
    let prompt = std::fs::read_to_string(afk.scratch.path("state/runs/1/prompt-1.md")).unwrap();
    assert!(!prompt.contains("Lessons from earlier runs"));
}
}

// watch shares a repo's pull list among its runs through a per-tick cache: an
// exhausted call must still be known as one when it comes out of that cache
mod watch_cache {
    use super::*;

    both_dialects! {
        azure_devops_plays;
    #[test]
    fn exhausted_retries_behind_watchs_shared_pull_list_record_a_transient_retry_lesson() {
        let sb = Sandbox::start(json!({"repos": [repo("acme/api", json!([ready(1, "alice")]))]}));
        let afk = Afk::agent(&sb, "pr", "", "");
        let (code, r, err) = afk.poll();
        assert_eq!(code, 0, "{err} {r}");
        afk.wait_agent(1);
        sb.faults(json!([{"path": sb.dialect.pulls_part(), "status": 503}]));
        let (code, r, _) = afk.watch();
        assert_eq!(code, 1);
        assert!(r["errors"][0]["message"].as_str().unwrap().contains("503"), "{r}");
        let ls = list(&afk, &["--type", "transient_retry"]);
        assert_eq!(ls.len(), 1, "{ls:?}");
        assert_eq!(ls[0]["stage"], "watch");
        assert_eq!(ls[0]["repo"], "acme/api");
        assert!(ls[0]["detail"].as_str().unwrap().contains("503"), "{ls:?}");
    }
    }
}

#[test]
fn record_links_a_lesson_to_a_run_that_exists() {
    let afk = journal();
    record(&afk, &["--type", "gate_failure"]);
    afk.sql(
        "INSERT INTO runs (repo, issue, state, created_at, updated_at) \
         VALUES ('acme/api', 1, 'dispatched', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')",
    );
    let run = afk.sql_rows("SELECT id FROM runs")[0][0].clone();
    let id = record(&afk, &["--type", "flaky_test", "--run-id", &run]);
    let got = list(&afk, &[]);
    let l = got.iter().find(|l| l["id"] == id).unwrap();
    assert_eq!(l["run_id"].to_string(), run, "{l}");
    let out = afk
        .cmd()
        .args(["lessons", "record", "--type", "x", "--run-id", "999"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("999") && err.contains("no run"), "{err}");
    assert_eq!(list(&afk, &[]).len(), 2, "nothing recorded");
}
