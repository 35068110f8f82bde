//! Line survival in `afk harvest` (docs/reports.md#afk-report) through the
//! binary: merged runs recorded as watch records them, their default
//! branch's history scripted with known committer dates in the sandbox's
//! git; harvest counts each run once its `survival_window` ended, with one
//! fetch per repository that has a run due and none otherwise.

use crate::support::*;
use serde_json::{Value, json};
use time::OffsetDateTime;

/// RFC 3339 (UTC, whole seconds).
pub(crate) fn ts(t: OffsetDateTime) -> String {
    t.replace_nanosecond(0)
        .unwrap()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

/// A world: acme/api in the sandbox, `implementer@1`, `[harvest]` with
/// `survival_window = window`.
pub(crate) fn world(window: &str) -> (Sandbox, Afk) {
    let sb = Sandbox::start(json!({"repos": [repo("acme/api", json!([]))]}));
    let afk = Afk::agent(
        &sb,
        "pr",
        "",
        &format!("[harvest]\nsurvival_window = \"{window}\""),
    );
    let f = afk.scratch.write("v1.md", "implementer v1\n");
    let out = afk
        .cmd()
        .args(["template", "add", "implementer", "--file"])
        .arg(&f)
        .output()
        .unwrap();
    assert_success(&out);
    (sb, afk)
}

/// `files` (path, text) committed on acme/api's main with committer and
/// author date `at`, and pushed; the commit.
pub(crate) fn commit_at(
    sb: &Sandbox,
    at: OffsetDateTime,
    files: &[(&str, &str)],
    msg: &str,
) -> String {
    let (_s, w) = sb.clone_on("acme/api", "main", "origin/main");
    for (path, text) in files {
        std::fs::write(w.join(path), text).unwrap();
    }
    git(&w, &["add", "-A"]);
    let date = format!("@{} +0000", at.unix_timestamp());
    let out = std::process::Command::new("git")
        .args(["commit", "-q", "-m", msg])
        .current_dir(&w)
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@t.invalid")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@t.invalid")
        .env("GIT_AUTHOR_DATE", &date)
        .env("GIT_COMMITTER_DATE", &date)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    git(&w, &["push", "-q", "origin", "main"]);
    git(&w, &["rev-parse", "HEAD"])
}

/// Run `issue` of acme/api succeeded, merged as `sha` at `merged_at`,
/// recorded as watch records it (dispatched an hour before).
pub(crate) fn record_merged(afk: &Afk, issue: u64, sha: &str, merged_at: OffsetDateTime) {
    afk.sql(&format!(
        "INSERT INTO runs (repo, issue, state, template_name, template_version_id, template_version,
           created_at, updated_at, ended_at, merge_sha, base_branch, merged_at)
         VALUES ('acme/api', {issue}, 'succeeded', 'implementer', 1, 1, '{0}', '{1}', '{1}', '{sha}', 'main', '{1}');",
        ts(merged_at - time::Duration::hours(1)),
        ts(merged_at)
    ));
}

pub(crate) fn harvest(afk: &Afk) -> Value {
    let (code, r, err) = afk.json(&["harvest"]);
    assert_eq!(code, 0, "{err} {r}");
    r
}

/// Each run's (id, lines_added, lines_surviving) as recorded.
fn recorded(afk: &Afk) -> Vec<Vec<String>> {
    afk.sql_rows("SELECT id, lines_added, lines_surviving FROM runs ORDER BY id")
}

/// The fetches of acme/api's objects the sandbox's git served.
pub(crate) fn fetches(sb: &Sandbox) -> usize {
    sb.admin("GET", "/git", None)
        .as_array()
        .unwrap()
        .iter()
        // one advertisement (GET info/refs) per fetch, however many rounds
        .filter(|g| g["repo"] == "acme/api" && g["service"] == "git-upload-pack")
        .filter(|g| g["method"] == "GET")
        .count()
}

/// A squash merge (one commit on main) whose lines are partly rewritten
/// before the window's end counts what is left at the end: a rewrite after
/// it does not count. A run that added only blank lines has no figure
/// (`no_lines`). The report pools the lines and says the configured window.
#[test]
fn a_squash_merges_lines_rewritten_inside_the_window_do_not_survive_later_ones_do() {
    let (sb, afk) = world("1d");
    let t0 = OffsetDateTime::now_utc() - time::Duration::days(10);
    let hours = |h: i64| t0 + time::Duration::hours(h);
    let squash = commit_at(
        &sb,
        t0,
        &[("lib.rs", "fn a() {}\nfn b() {}\n\nfn c() {}\nfn d() {}\n")],
        "the run, squashed (#1)",
    );
    commit_at(
        &sb,
        hours(2),
        &[("lib.rs", "fn a() {}\nfn B() {}\n\nfn c() {}\nfn d() {}\n")],
        "b rewritten inside the window",
    );
    commit_at(
        &sb,
        hours(48),
        &[("lib.rs", "fn a() {}\nfn B() {}\n\nfn C() {}\nfn d() {}\n")],
        "c rewritten after the window",
    );
    let blank = commit_at(&sb, hours(72), &[("notes.txt", "\n  \n\n")], "blank (#2)");
    record_merged(&afk, 1, &squash, t0);
    record_merged(&afk, 2, &blank, hours(72));
    sb.clear_requests();
    let r = harvest(&afk);
    assert_eq!(r["errors"], json!([]), "{r}");
    assert_eq!(
        r["survival"],
        json!([
            {"run_id": 1, "repo": "acme/api", "lines_added": 4, "lines_surviving": 3},
            {"run_id": 2, "repo": "acme/api", "lines_added": 0, "lines_surviving": 0},
        ]),
        "{r}"
    );
    assert_eq!(
        recorded(&afk),
        vec![
            vec!["1".to_string(), "4".to_string(), "3".to_string()],
            vec!["2".to_string(), "0".to_string(), "0".to_string()],
        ]
    );
    let (code, report, err) = afk.json(&["report"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        report["overall"]["survival"],
        json!({"window": "1d", "runs": 1, "pending": 0, "no_lines": 1,
               "lines_added": 4, "lines_surviving": 3, "rate": 0.75})
    );
    // the version's figures, over all of its runs: no zero-touch verdict
    // was recorded (`unknown`), so no rate
    let (_, l, _) = afk.json(&["template", "list"]);
    assert_eq!(l["templates"][0]["survival_rate"], 0.75, "{l}");
    assert!(l["templates"][0].get("zero_touch_rate").is_none(), "{l}");
    let (_, s, _) = afk.json(&["template", "show", "implementer@1"]);
    let f = &s["template"]["figures"];
    assert_eq!(f["merged"], 2, "{s}");
    assert_eq!(f["zero_touch"]["unknown"], 2, "{s}");
    assert_eq!(
        f["survival"],
        json!({"window": "1d", "runs": 1, "pending": 0, "no_lines": 1,
               "lines_added": 4, "lines_surviving": 3, "rate": 0.75})
    );
    let out = afk
        .cmd()
        .args(["template", "show", "implementer@1"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("implementer@1: 2 merged, zero-touch none, survival 1d 75% of 4 lines"),
        "{text}"
    );
    // once: nothing is due for survival any more (the fetch that is still
    // made is the leaderboard figures', for merges of the last 30 days)
    assert_eq!(harvest(&afk)["survival"], json!([]));
    assert_eq!(recorded(&afk)[0], ["1", "4", "3"]);
}

/// A run whose window has not ended is pending: nothing recorded; the first
/// tick after its end counts it. The tick fetches the default branch once,
/// for the leaderboard figures and survival alike: a tick with both due
/// costs the same fetch as one with the figures alone.
#[test]
fn a_run_inside_its_window_is_pending_and_survival_shares_the_ticks_one_fetch() {
    let (sb, afk) = world("1d");
    let merged = OffsetDateTime::now_utc() - time::Duration::hours(1);
    let sha = commit_at(&sb, merged, &[("new.txt", "one\ntwo\n")], "the run (#1)");
    record_merged(&afk, 1, &sha, merged);
    let before = fetches(&sb);
    let r = harvest(&afk);
    assert_eq!(r["survival"], json!([]), "{r}");
    let figures_alone = fetches(&sb) - before;
    assert!(figures_alone > 0, "a merge of the last 30 days: fetched");
    assert_eq!(recorded(&afk)[0], ["1", "NULL", "NULL"]);
    let (_, report, _) = afk.json(&["report"]);
    assert_eq!(report["overall"]["survival"]["pending"], 1);
    assert_eq!(report["overall"]["survival"]["rate"], Value::Null);
    // two days on, the window has ended: counted, whole
    afk.later(48);
    let r = harvest(&afk);
    assert_eq!(
        r["survival"],
        json!([{"run_id": 1, "repo": "acme/api", "lines_added": 2, "lines_surviving": 2}]),
        "{r}"
    );
    let both = fetches(&sb) - before - figures_alone;
    assert_eq!(
        both, figures_alone,
        "survival and the figures share one fetch"
    );
}

/// A merge commit (the PR's commits and the merge, B its first parent): a
/// line a person rewrote afterwards, inside the window, does not survive.
#[test]
fn a_merge_commits_lines_are_blamed_on_the_prs_commits() {
    let (sb, afk) = world("1d");
    sb.commit_as(
        "acme/api",
        "afk/issue-1",
        "afk-bot",
        &[("feature.txt", "one\ntwo\nthree\n")],
        "the feature",
    );
    let pr = sb.open_pr("acme/api", "afk/issue-1", "");
    let merge = sb.merge_by("acme/api", pr, "alice");
    sb.commit_as(
        "acme/api",
        "main",
        "root",
        &[("feature.txt", "one\nTWO\nthree\n")],
        "two, better",
    );
    record_merged(&afk, 1, &merge, OffsetDateTime::now_utc());
    afk.later(48);
    let r = harvest(&afk);
    assert_eq!(r["errors"], json!([]), "{r}");
    assert_eq!(
        r["survival"],
        json!([{"run_id": 1, "repo": "acme/api", "lines_added": 3, "lines_surviving": 2}]),
        "{r}"
    );
}
