//! Own branches kept current (issue #33 item 3,
//! docs/how-it-works.md#afk-upgrade): when the mirror's `main` moves so that an
//! open afk upgrade PR no longer applies, afk re-makes the same edit on the new
//! `main` and force-pushes its own branch once, with a lease; the flow goes on
//! with the next test run. A move that does not conflict leaves the branch as
//! it is (Renovate's default); a branch someone else pushed to is left alone
//! and said; a dry run says what it would do and writes nothing. Real git, the
//! sandbox, a real registry.

use crate::support::git;
use crate::upgrade::{COMPOSE, MIRROR, Setup, actions, git_shim, pr_of, setup};
use serde_json::Value;

const BRANCH: &str = "afk/upgrade-nginx-1.26.0";

/// Upstream moves the version label afk's commit also changes: a conflict.
fn conflicting() -> String {
    COMPOSE.replace("1.2.3+1.25.3", "1.2.4+1.25.3")
}

/// A tick with a `git` that logs its arguments; the report and the log.
fn logged_tick(s: &Setup) -> (Value, String) {
    let (shim, log) = git_shim(&s.afk.scratch);
    let _ = std::fs::remove_file(&log);
    let path = format!("{}:{}", shim.display(), std::env::var("PATH").unwrap());
    let out = s
        .afk
        .cmd()
        .env("PATH", &path)
        .args(["--json", "upgrade"])
        .output()
        .unwrap();
    let r: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{r} {err}");
    (r, std::fs::read_to_string(&log).unwrap_or_default())
}

fn opened(s: &Setup) -> u64 {
    let (code, r, err) = s.upgrade(&[]);
    assert_eq!(code, 0, "{r} {err}");
    pr_of(&r)["number"].as_u64().unwrap()
}

#[test]
fn an_own_branch_is_remade_on_a_main_it_no_longer_applies_to_and_tested_again() {
    let s = setup(COMPOSE, "push", "");
    let n = opened(&s);
    let first = s.head(BRANCH);
    // CI says GREEN of the first head
    s.ci(BRANCH, "success");

    // upstream moves without touching afk's lines: the branch still applies
    // and is kept as it is, with its verdict (no test run spent)
    s.upstream.commit(
        &[("compose.yml", COMPOSE), ("README.md", "the recipe\n")],
        "a readme",
    );
    let (code, r, err) = s.upgrade(&[]);
    assert_eq!(code, 0, "{r} {err}");
    assert_eq!(actions(&r), ["reconcile"], "{r}");
    assert_eq!(s.head(BRANCH), first, "kept");
    assert_eq!(pr_of(&r)["result"], "SUCCESS", "{r}");

    // upstream changes the version label afk's commit changes too
    let moved = conflicting();
    let main = s
        .upstream
        .commit(&[("compose.yml", &moved)], "release 1.2.4");

    // a dry run says it would re-make the branch (its push recorded, not
    // sent) and test the new head next, as the tick does, and writes nothing
    s.sb.clear_requests();
    let mirror_main = s.head("main");
    let (code, r, err) = s.upgrade(&["--dry-run"]);
    assert_eq!(code, 0, "{r} {err}");
    assert_eq!(actions(&r), ["reconcile", "reconcile", "testme"], "{r}");
    assert_eq!(r["actions"][1]["pr"], n, "{r}");
    let why = r["actions"][1]["reason"].as_str().unwrap();
    assert!(
        why.contains(BRANCH) && why.contains("re-made on main"),
        "{why}"
    );
    assert!(s.sb.writes().is_empty(), "{:?}", s.sb.writes());
    assert_eq!(s.head(BRANCH), first, "nothing pushed");
    assert_eq!(s.head("main"), mirror_main, "nothing pushed");

    // the tick: re-made on the new main, force-pushed once, the next test run
    let (r, argv) = logged_tick(&s);
    assert_eq!(actions(&r), ["reconcile", "reconcile", "testme"], "{r}");
    let pushes: Vec<&str> = argv
        .lines()
        .filter(|l| l.contains("push") && l.contains(BRANCH))
        .collect();
    assert_eq!(pushes.len(), 1, "{argv}");
    assert!(
        pushes[0].contains(&format!("--force-with-lease=refs/heads/{BRANCH}:{first}")),
        "the lease is the head afk read: {argv}"
    );
    let second = s.head(BRANCH);
    assert_ne!(second, first);
    let parent = git(&s.mirror_git(), &["rev-parse", &format!("{second}^")]);
    assert_eq!(parent, main, "made on the new main");
    // the same edit on the new text: the tag, and the label bumped from 1.2.4
    let want = moved
        .replace("nginx:1.25.3", "nginx:1.26.0")
        .replace("1.2.4+1.25.3", "1.3.0+1.26.0");
    assert_eq!(s.show(BRANCH, "compose.yml"), want.trim_end());
    let log = git(&s.mirror_git(), &["log", "-1", "--format=%ce", BRANCH]);
    assert_eq!(log, "afk@afk.invalid");
    let pr = pr_of(&r);
    assert_eq!(
        (pr["result"].as_str(), pr["test_runs"].as_u64()),
        (Some("PENDING"), Some(2)),
        "the old head's GREEN is not the new head's: {r}"
    );
    assert_eq!(s.comments(n).len(), 2, "one more test comment");

    // idempotent: the next tick re-makes nothing and pushes nothing
    s.sb.clear_requests();
    let (r, argv) = logged_tick(&s);
    assert_eq!(actions(&r), ["wait"], "{r}");
    assert!(!argv.lines().any(|l| l.contains("push")), "{argv}");
    assert!(s.sb.writes().is_empty(), "{:?}", s.sb.writes());
    assert_eq!(s.head(BRANCH), second);

    // the flow goes on: GREEN of the new head is SUCCESS
    s.ci(BRANCH, "success");
    let (code, r, _) = s.upgrade(&[]);
    assert_eq!(code, 0, "{r}");
    assert_eq!(pr_of(&r)["result"], "SUCCESS", "{r}");
    assert_eq!(s.comments(n).len(), 2);
}

#[test]
fn a_branch_someone_else_pushed_to_is_left_alone_and_said() {
    let s = setup(COMPOSE, "push", "");
    let n = opened(&s);
    // a person adds a commit to afk's branch
    let work = s.afk.scratch.path("person");
    git(
        s.afk.scratch.dir.as_path(),
        &[
            "clone",
            "-q",
            "--branch",
            BRANCH,
            s.mirror_git().to_str().unwrap(),
            work.to_str().unwrap(),
        ],
    );
    std::fs::write(work.join("NOTES"), "a note\n").unwrap();
    git(&work, &["add", "NOTES"]);
    git(&work, &["commit", "-q", "-m", "a note of mine"]);
    git(&work, &["push", "-q", "origin", &format!("HEAD:{BRANCH}")]);
    let theirs = s.head(BRANCH);

    s.upstream
        .commit(&[("compose.yml", &conflicting())], "release 1.2.4");
    let (r, argv) = logged_tick(&s);
    let act = r["actions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["pr"] == n && a["action"] == "wait")
        .unwrap_or_else(|| panic!("said: {r}"));
    assert_eq!(
        act["reason"],
        format!("{BRANCH} no longer applies to main and was pushed to by someone else: left alone")
    );
    assert!(
        !argv
            .lines()
            .any(|l| l.contains("push") && l.contains(BRANCH)),
        "{argv}"
    );
    assert_eq!(s.head(BRANCH), theirs, "left alone");
    // and so on every tick, never pushed over
    let (r, _) = logged_tick(&s);
    assert!(
        r["actions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["pr"] == n && a["reason"].as_str().unwrap_or("").contains("left alone")),
        "{r}"
    );
    assert_eq!(s.head(BRANCH), theirs);
    assert!(MIRROR.ends_with("nginx"));
}

/// No branch is probed for a new bump when no open PR is on it (the PR list is
/// the earlier answer): the push leases on the branch's absence. A branch afk
/// pushed but whose PR was never opened (the forge failed) is found by that
/// refused push, read once, and pushed over since its head is afk's; one that
/// holds someone else's commit is never pushed over.
#[test]
fn a_branch_no_pr_is_on_is_leased_as_absent_and_asked_for_only_when_refused() {
    use serde_json::json;
    let s = setup(COMPOSE, "push", "");
    let branch_reads = |s: &Setup| {
        s.sb.requests()
            .iter()
            .filter(|q| {
                q["method"] == "GET" && q["path"].as_str().unwrap().contains("/branches/afk")
            })
            .count()
    };
    // the first tick pushes the branch, and the forge fails to open its PR
    s.sb.faults(json!([{"method": "POST", "path": "/pulls", "status": 500}]));
    let (code, r, _) = s.upgrade(&[]);
    assert_eq!(code, 1, "{r}");
    assert_eq!(branch_reads(&s), 0, "no PR on it: not probed");
    let pushed = s.head(BRANCH);
    // upstream moves, so afk's next commit differs from the one on the branch
    let main = s.upstream.commit(
        &[("compose.yml", COMPOSE), ("README.md", "the recipe\n")],
        "a readme",
    );
    // the next: the push leased on absence is refused, the branch read once,
    // afk's own head pushed over, the PR opened
    s.sb.faults(json!([]));
    s.sb.clear_requests();
    let (code, r, err) = s.upgrade(&[]);
    assert_eq!(code, 0, "{r} {err}");
    assert_eq!(branch_reads(&s), 1);
    let n = pr_of(&r)["number"].as_u64().unwrap();
    assert!(n > 0);
    let log = git(&s.mirror_git(), &["log", "-1", "--format=%ce", BRANCH]);
    assert_eq!(log, "afk@afk.invalid");
    assert_ne!(s.head(BRANCH), pushed, "afk's new commit over afk's own");
    let parent = git(&s.mirror_git(), &["rev-parse", &format!("{BRANCH}^")]);
    assert_eq!(parent, main);
}

#[test]
fn a_strangers_branch_no_pr_is_on_is_never_pushed_over() {
    let s = setup(COMPOSE, "push", "");
    s.sb.push_commit(MIRROR, BRANCH, "evil.txt");
    let theirs = s.head(BRANCH);
    let (code, r, _) = s.upgrade(&[]);
    assert_eq!(code, 1, "{r}");
    assert!(r["prs"].as_array().unwrap().is_empty(), "{r}");
    let e = r["errors"][0]["message"].as_str().unwrap();
    assert!(e.contains("afk did not make"), "{e}");
    assert_eq!(s.head(BRANCH), theirs, "never pushed over");
}
