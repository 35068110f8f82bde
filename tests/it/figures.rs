//! The published leaderboards' figures (docs/reports.md#compared-with-published-figures)
//! through the binary: a history built on the sandbox's git with known
//! committer dates (merges, a revert 20 days after its merge, files edited
//! again within and after 7 days, another afk run's merge among them),
//! review rounds and spends recorded as watch records them; harvest finds
//! what git holds once, and `afk report` equals figures computed by hand.

use crate::support::*;
use crate::survival::{commit_at, fetches, harvest, record_merged, ts, world};
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};

#[test]
fn afk_report_sets_its_runs_beside_the_leaderboards_as_computed_by_hand() {
    let (sb, afk) = world("30d");
    let now = OffsetDateTime::now_utc();
    let day = Duration::days;
    let t1 = now - day(25);
    let t2 = now - day(20);
    commit_at(&sb, t1 - day(1), &[("seed.rs", "x\n")], "the start");
    // run 1: merged 25 days ago, reverted 20 days after (outside the
    // canary's 7-day revert_window: only the leaderboard finds it)
    let m1 = commit_at(&sb, t1, &[("seed.rs", "x\ny\n")], "run one (#1)");
    // run 2: merged 20 days ago, three files
    let m2 = commit_at(
        &sb,
        t2,
        &[("a.rs", "a\n"), ("b.rs", "b\n"), ("c.rs", "c\n")],
        "run two (#2)",
    );
    commit_at(
        &sb,
        t2 + day(2),
        &[("a.rs", "a\nA\n")],
        "a again within 7 days",
    );
    // run 4, another afk run, changes run 2's c.rs within its 7 days
    let m4 = commit_at(&sb, t2 + day(3), &[("c.rs", "c\nC\n")], "run four (#4)");
    commit_at(
        &sb,
        t2 + day(9),
        &[("b.rs", "b\nB\n")],
        "b again after 7 days",
    );
    let revert = commit_at(
        &sb,
        t1 + day(20),
        &[("seed.rs", "x\n")],
        &format!("Revert \"run one\"\n\nThis reverts commit {m1}."),
    );
    // run 3: merged an hour ago, its 7 days not passed
    let t3 = now - Duration::hours(1);
    let m3 = commit_at(&sb, t3, &[("d.rs", "d\n")], "run three (#3)");
    record_merged(&afk, 1, &m1, t1);
    record_merged(&afk, 2, &m2, t2);
    record_merged(&afk, 3, &m3, t3);
    record_merged(&afk, 4, &m4, t2 + day(3));
    // run 5 escalated: its spend counts in the cost of the kept runs
    afk.sql(&format!(
        "INSERT INTO runs (repo, issue, state, template_name, template_version_id, template_version,
           created_at, updated_at, ended_at, end_reason)
         VALUES ('acme/api', 5, 'escalated', 'implementer', 1, 1, '{0}', '{0}', '{0}', 'ci-red');
         UPDATE runs SET spend_usd = CASE id WHEN 1 THEN 2.0 WHEN 2 THEN 1.0 WHEN 3 THEN 1.0
                                            WHEN 4 THEN 0.5 ELSE 4.0 END;
         UPDATE runs SET turns = 4 WHERE id = 2;
         UPDATE runs SET turns = 2 WHERE id = 3;
         INSERT INTO turns (run_id, turn, started_at, reason, why) VALUES
           (2, 2, '{1}', 'review', 'changes requested by alice'),
           (2, 3, '{2}', 'ci-red', 'CI red'),
           (2, 4, '{3}', 'asked', '`fix` asked by alice'),
           (3, 2, '{4}', 'review', 'after the merge: no round');",
        ts(now - day(2)),
        ts(t2 - Duration::minutes(50)),
        ts(t2 - Duration::minutes(40)),
        ts(t2 - Duration::minutes(30)),
        ts(t3 + Duration::minutes(5)),
    ));

    sb.clear_requests();
    let before = fetches(&sb);
    let r = harvest(&afk);
    assert_eq!(r["errors"], json!([]), "{r}");
    assert!(fetches(&sb) > before, "merges of the last 30 days: fetched");
    let found: Vec<Value> = r["figures"].as_array().unwrap().clone();
    let of = |id: u64| found.iter().find(|f| f["run_id"] == id).cloned();
    assert_eq!(
        of(1),
        Some(
            json!({"run_id": 1, "repo": "acme/api", "reverted_by": revert,
                    "reverted_at": ts(t1 + day(20)),
                    "churn": {"files": 1, "changed_again": 0, "by_afk": 0}})
        ),
        "{r}"
    );
    assert_eq!(
        of(2).unwrap()["churn"],
        json!({"files": 3, "changed_again": 2, "by_afk": 1}),
        "a.rs by a person and c.rs by afk's run 4 within 7 days; b.rs after"
    );
    assert_eq!(
        of(3),
        None,
        "inside its 7 days and not reverted: nothing yet"
    );
    // the forge was asked for no commit or diff of theirs: the cache answered
    let asked: Vec<String> = sb
        .requests()
        .iter()
        .map(|q| format!("{} {}", q["path"], q["query"]))
        .filter(|p| {
            [&m1, &m2, &revert]
                .iter()
                .any(|sha| p.contains(sha.as_str()))
        })
        .collect();
    assert_eq!(asked, Vec::<String>::new());

    let (code, report, err) = afk.json(&["report"]);
    assert_eq!(code, 0, "{err}");
    let o = &report["overall"];
    assert_eq!(
        o["reverts"],
        json!({"count": 1, "merged": 4, "per_1000": 250.0,
               "runs": [{"run_id": 1, "sha": revert, "at": ts(t1 + day(20))}]})
    );
    assert_eq!(
        o["churn"],
        json!({"runs": 3, "files": 5, "changed_again": 2, "rate": 0.4,
               "pending": 1, "by_afk": 1})
    );
    assert_eq!(
        o["review_rounds"],
        json!({"runs": 4, "median": 0, "p90": 2, "zero": 3})
    );
    assert_eq!(
        o["cost"],
        json!({"spend_usd": 8.5, "kept": 3, "per_kept_usd": 2.833333, "kept_floor": 0.5})
    );
    assert_eq!(report["templates"][0]["reverts"]["per_1000"], 250.0);
    let out = afk.cmd().args(["report"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    for cell in [
        "REVERTS/1000",
        "CHURN 7D",
        "$/KEPT",
        "250.00",
        "40% of 5 files",
        "0 / 2",
        "$2.83",
    ] {
        assert!(text.contains(cell), "{cell}: {text}");
    }

    // each finding once: the next tick records nothing new
    let again = harvest(&afk);
    assert_eq!(again["figures"], json!([]), "{again}");
}

/// A whole lifecycle on every sandbox dialect (afk's PR merged by a
/// person), then, twenty days on by afk's clock, a person reverts the merge
/// with the forge's own revert: harvest finds it from afk's git cache, the
/// report counts 1 revert of 1 merged run (1000 per 1,000), the run is no
/// longer kept, and the run's churn is counted.
#[test]
fn a_merge_reverted_twenty_days_later_counts_on_every_dialect() {
    for d in Dialect::ALL {
        let sb = Sandbox::start_in(
            d,
            json!({"repos": [repo("acme/api", json!([ready(1, "alice")]))]}),
        );
        let afk = Afk::agent_in_afks_workspace(&sb, "pr", "");
        let (code, r, err) = afk.poll();
        assert_eq!(code, 0, "{d:?}: {err} {r}");
        assert_eq!(afk.wait_agent(1), 0);
        let (code, r, err) = afk.watch();
        assert_eq!(code, 0, "{d:?}: {err} {r}");
        let pr = sb.open_prs("acme/api")[0].number;
        sb.status("acme/api", "afk/issue-1", "ci/build", "success");
        afk.watch();
        sb.merge("acme/api", pr);
        let (_, r, _) = afk.watch();
        assert_eq!(action_of(&r, 1).0, "succeed", "{d:?}: {r}");
        let merge = afk.sql_rows("SELECT merge_sha FROM runs WHERE id = 1")[0][0].clone();
        afk.later(20 * 24);
        let revert = sb.admin(
            "POST",
            "/revert",
            Some(json!({"repo": "acme/api", "sha": merge, "by": "bob"})),
        )["sha"]
            .as_str()
            .unwrap()
            .to_string();
        let r = harvest(&afk);
        assert_eq!(r["errors"], json!([]), "{d:?}: {r}");
        let found = &r["figures"][0];
        assert_eq!(found["reverted_by"], json!(revert), "{d:?}: {r}");
        assert!(
            found["churn"]["files"].as_u64().unwrap_or(0) > 0,
            "{d:?}: {r}"
        );
        let (code, report, err) = afk.json(&["report"]);
        assert_eq!(code, 0, "{d:?}: {err}");
        let o = &report["overall"];
        assert_eq!(
            (
                &o["reverts"]["count"],
                &o["reverts"]["merged"],
                &o["reverts"]["per_1000"]
            ),
            (&json!(1), &json!(1), &json!(1000.0)),
            "{d:?}: {o}"
        );
        assert_eq!(
            o["cost"]["kept"], 0,
            "{d:?}: a reverted run is not kept: {o}"
        );
        assert_eq!(o["cost"]["per_kept_usd"], Value::Null, "{d:?}: {o}");
        assert_eq!(o["churn"]["pending"], 0, "{d:?}: {o}");
    }
}
