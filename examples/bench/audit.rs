//! The journal (docs/audit.md): what one entry adds to a write (1,000
//! appends through the tick's `JournalFile`, each its own transaction, as a
//! forge write's is), and `afk audit verify` over 100,000 entries, the
//! process whole (open, read, recompute every hash, print).

use super::timed;
use std::time::Instant;

const ENTRIES: u64 = 100_000;
const APPENDS: u64 = 1_000;

pub fn audit_bench(dir: &std::path::Path, afk: &std::path::Path) {
    let dir = dir.join("audit");
    std::fs::create_dir_all(dir.join("state")).unwrap();
    let cfg = dir.join("afk.toml");
    std::fs::write(
        &cfg,
        "state_path = \"state/afk.db\"\n[forge]\nurl = \"http://127.0.0.1:9\"\n",
    )
    .unwrap();
    let db = dir.join("state/afk.db");
    drop(afk::store::Store::open(&db).unwrap());
    let j = afk::store::journal::JournalFile::open(&db)
        .unwrap()
        .unwrap();
    let body = serde_json::json!({"method": "POST", "path": "/repos/acme/api/issues/1/comments", "status": 201});
    let t = Instant::now();
    for _ in 0..APPENDS {
        j.append("2026-11-29T12:00:00Z", Some(1), "forge.write", &body)
            .unwrap();
    }
    let per = t.elapsed().as_secs_f64() * 1e3 / APPENDS as f64;
    println!(
        "  {:<58} {per:>7.3} ms  (goal ≤ 1 ms)",
        "one journal entry, its own transaction (mean of 1,000)"
    );
    drop(j);
    // the rest of the chain, written in one transaction
    let mut c = rusqlite::Connection::open(&db).unwrap();
    let (mut prev, mut seq): (String, u64) = c
        .query_row(
            "SELECT hash, seq FROM journal ORDER BY seq DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get::<_, i64>(1)? as u64)),
        )
        .unwrap();
    let tx = c.transaction().unwrap();
    while seq < ENTRIES {
        let e = afk::core::journal::next(
            &prev,
            seq,
            "2026-11-29T12:00:00Z",
            Some(1),
            "forge.write",
            &body,
        );
        tx.execute(
            "INSERT INTO journal (seq, at, run, kind, body, hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            rusqlite::params![e.seq as i64, e.at, e.run, e.kind, e.body, e.hash],
        )
        .unwrap();
        prev = e.hash;
        seq = e.seq;
    }
    tx.commit().unwrap();
    let cfg_s = cfg.to_str().unwrap();
    let (ms, out) = timed(afk, &["--config", cfg_s, "audit", "verify"], &[], 5, || {});
    let said = String::from_utf8_lossy(&out);
    assert!(said.starts_with("journal intact: 100000 entries"), "{said}");
    println!(
        "  {:<58} {ms:>7.1} ms  (goal < 1,000 ms)",
        "afk audit verify, 100,000 entries (the whole process, median of 5)"
    );
}
