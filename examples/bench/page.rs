//! The status page over a large state file: 10,000 runs (in flight, ended,
//! escalated, over 30 days and 20 repos, with spend), 1,000,000 recorded
//! outcomes (a champion's long history, a live canary and its control),
//! 1,000 lessons, upgrade flows and freezes. Timed as `afk status --html`, the
//! process whole (open, read, render, print); the forge URL answers nothing,
//! so a request would fail the run.

use super::timed;
use rusqlite::params;
use std::time::Instant;

const RUNS: i64 = 10_000;
const OUTCOMES: i64 = 1_000_000;
const CANARY: i64 = 30;
const CONTROL: i64 = 60;

pub fn page_bench(dir: &std::path::Path, afk: &std::path::Path) {
    let dir = dir.join("page");
    std::fs::create_dir_all(&dir).unwrap();
    let cfg = dir.join("afk.toml");
    std::fs::write(
        &cfg,
        "state_path = \"state/afk.db\"\n[forge]\nurl = \"http://127.0.0.1:9\"\n\
         [budget]\nday_usd = 50\nrepo_day_usd = 10\n[harvest]\ncanary = true\n",
    )
    .unwrap();
    let cfg_s = cfg.to_str().unwrap();
    for (v, canary) in [("v1", false), ("v2", true)] {
        let f = dir.join(format!("{v}.md"));
        std::fs::write(&f, format!("implementer {v}\n")).unwrap();
        let mut args = vec![
            "--config",
            cfg_s,
            "template",
            "add",
            "implementer",
            "--file",
        ];
        args.push(f.to_str().unwrap());
        if canary {
            args.push("--canary");
        }
        timed(afk, &args, &[], 1, || {});
    }
    let t0 = Instant::now();
    fill(&dir.join("state/afk.db"));
    println!(
        "\nstatus page: {RUNS} runs, {OUTCOMES} outcomes ({CANARY} canary, {CONTROL} control), 1,000 lessons (setup {:.1} s)",
        t0.elapsed().as_secs_f64()
    );
    let (ms, out) = timed(
        afk,
        &["--config", cfg_s, "status", "--html"],
        &[],
        11,
        || {},
    );
    println!(
        "  {:<58} {ms:>7.1} ms  ({} KiB of HTML)",
        "afk status --html (the whole process, median of 11)",
        out.len() / 1024
    );
}

fn ts(base: time::OffsetDateTime, secs: i64) -> String {
    (base + time::Duration::seconds(secs))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

/// Runs over the last 30 days, outcomes, lessons, upgrades, freezes.
fn fill(db: &std::path::Path) {
    let mut c = rusqlite::Connection::open(db).unwrap();
    let now = time::OffsetDateTime::now_utc();
    let since: String = c
        .query_row(
            "SELECT canary_since FROM template_versions WHERE version = 2",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let base = time::OffsetDateTime::parse(&since, &time::format_description::well_known::Rfc3339)
        .unwrap();
    let tx = c.transaction().unwrap();
    {
        let mut run = tx
            .prepare(
                "INSERT INTO runs (id, repo, issue, state, end_reason, template_name, template_version_id,
                   template_version, created_at, updated_at, ended_at, pr_number, turns, spend_usd)
                 VALUES (?1, ?2, ?3, ?4, ?5, 'implementer', 1, 1, ?6, ?6, ?7, ?8, 1, ?9)",
            )
            .unwrap();
        for i in 0..RUNS {
            let created = ts(now, -(RUNS - i) * 259);
            let (state, reason, ended) = match i {
                _ if i >= RUNS - 20 => ("started", None, None),
                _ if i % 7 == 0 => (
                    "escalated",
                    Some("no-pr"),
                    Some(ts(now, -(RUNS - i) * 259 + 200)),
                ),
                _ => ("succeeded", None, Some(ts(now, -(RUNS - i) * 259 + 200))),
            };
            run.execute(params![
                i + 1,
                format!("acme/repo{}", i % 20),
                i + 1,
                state,
                reason,
                created,
                ended,
                (i % 3 == 0).then_some(i + 5000),
                (i % 5 != 0).then_some(0.25 + (i % 11) as f64 * 0.1),
            ])
            .unwrap();
        }
        let mut ins = tx
            .prepare(
                "INSERT INTO outcomes (run_id, template_version_id, outcome, dispatched_at, ended_at, recorded_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
            )
            .unwrap();
        let history = OUTCOMES - CONTROL - CANARY;
        for i in 0..history {
            let end = ts(base, -(history - i) * 10);
            let o = if i % 10 < 7 { "success" } else { "failure" };
            ins.execute(params![RUNS + i + 1, 1, o, end, end]).unwrap();
        }
        for i in 0..CONTROL {
            let (d, e) = (ts(base, i * 60 + 1), ts(base, i * 60 + 50));
            let o = if i % 10 < 7 { "success" } else { "failure" };
            ins.execute(params![RUNS + history + i + 1, 1, o, d, e])
                .unwrap();
        }
        for i in 0..CANARY {
            let (d, e) = (ts(base, i * 120 + 2), ts(base, i * 120 + 55));
            let o = if i % 10 < 6 { "success" } else { "failure" };
            ins.execute(params![RUNS + history + CONTROL + i + 1, 2, o, d, e])
                .unwrap();
        }
        let mut lesson = tx
            .prepare(
                "INSERT INTO lessons (created_at, lesson_type, source, status, repo)
                 VALUES (?1, ?2, 'auto', ?3, 'acme/repo1')",
            )
            .unwrap();
        for i in 0..1000 {
            let t = ["gate_failure", "transient_retry", "stall", "blocked"][i % 4];
            let s = if i % 3 == 0 { "open" } else { "resolved" };
            lesson.execute(params![ts(now, -(i as i64)), t, s]).unwrap();
        }
    }
    tx.execute_batch(
        "UPDATE template_versions SET
           successes = (SELECT COUNT(*) FROM outcomes o WHERE o.template_version_id = template_versions.id AND outcome = 'success'),
           failures = (SELECT COUNT(*) FROM outcomes o WHERE o.template_version_id = template_versions.id AND outcome = 'failure');
         INSERT INTO canary_checkpoints VALUES (2, 20, 12, 8, 28, 12, 0.8, 0.2, 'continue', '2026-01-01T00:00:00Z');
         INSERT INTO upgrades (mirror, pr, recipe, branch, image, from_tag, to_tag, created_at, updated_at, step, step_since, queue_place)
           VALUES ('acme/repo1', 9, 'web', 'b', 'nginx', '1.25', '1.27', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z', 'testing', '2026-01-01T00:00:00Z', 1);
         INSERT INTO upgrade_scans VALUES ('web', '2026-01-01T00:00:00Z');
         INSERT INTO frozen_repos (repo, reason, frozen_at) VALUES ('acme/repo3', 'deploy degraded', '2026-01-01T00:00:00Z');",
    )
    .unwrap();
    tx.commit().unwrap();
    c.execute_batch("PRAGMA wal_checkpoint(TRUNCATE); ANALYZE;")
        .unwrap();
}
