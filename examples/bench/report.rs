//! `afk report` over 10,000 runs of the window (docs/reports.md#afk-report),
//! the leaderboard figures among them: each run merged, three corrective
//! turns, a churn and every tenth a revert recorded; the process whole
//! (open, read, count, print), median of 5.

use super::timed;

const RUNS: i64 = 10_000;

pub fn report_bench(dir: &std::path::Path, afk: &std::path::Path) {
    let dir = dir.join("report");
    std::fs::create_dir_all(dir.join("state")).unwrap();
    let cfg = dir.join("afk.toml");
    std::fs::write(
        &cfg,
        "state_path = \"state/afk.db\"\n[forge]\nurl = \"http://127.0.0.1:9\"\n",
    )
    .unwrap();
    let db = dir.join("state/afk.db");
    drop(afk::store::Store::open(&db).unwrap());
    let mut c = rusqlite::Connection::open(&db).unwrap();
    let now = time::OffsetDateTime::now_utc();
    let at = |mins: i64| afk::clock::ts(now - time::Duration::minutes(mins));
    let tx = c.transaction().unwrap();
    for i in 1..=RUNS {
        let (d, m) = (at(i + 120), at(i + 60));
        tx.execute(
            "INSERT INTO runs (id, repo, issue, state, template_name, template_version_id,
               template_version, created_at, updated_at, ended_at, merge_sha, base_branch,
               merged_at, turns, spend_usd)
             VALUES (?1, ?2, ?1, 'succeeded', 'implementer', 1, 1, ?3, ?4, ?4, ?5, 'main', ?4, 4, 1.5)",
            rusqlite::params![i, format!("acme/r{}", i % 20), d, m, format!("{i:040x}")],
        )
        .unwrap();
        for (turn, reason) in [(2, "ci-red"), (3, "review"), (4, "asked")] {
            tx.execute(
                "INSERT INTO turns (run_id, turn, started_at, reason, why) VALUES (?1, ?2, ?3, ?4, '')",
                rusqlite::params![i, turn, d, reason],
            )
            .unwrap();
        }
        let revert = (i % 10 == 0).then(|| format!("{:040x}", i + 1_000_000));
        tx.execute(
            "INSERT INTO run_figures (run_id, reverted_sha, reverted_at, churn_files, churn_again,
               churn_by_afk) VALUES (?1, ?2, ?3, 4, 1, 0)",
            rusqlite::params![i, revert, m],
        )
        .unwrap();
    }
    tx.commit().unwrap();
    let cfg_s = cfg.to_str().unwrap();
    let (ms, out) = timed(afk, &["--config", cfg_s, "report", "--json"], &[], 5, || {});
    let r: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(r["overall"]["reverts"]["merged"], RUNS, "{r}");
    println!(
        "  {:<58} {ms:>7.1} ms  (goal < 1,000 ms)",
        "afk report, 10,000 runs (the whole process, median of 5)"
    );
}
