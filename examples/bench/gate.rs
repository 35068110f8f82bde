//! `bench gate` (README.md#benchmark): the change gate's advisories at
//! osv.dev's scale. 250,000 generated OSV records in four ecosystems, then:
//! the first watch tick after the folder changed (every record read, the
//! index by package kept beside the state file), an unchanged folder's
//! per-tick check (a walk of its folders, never a record), and judging one
//! turn of 1,000 changed paths whose lockfile moves 1,000 dependencies
//! (the protected paths, then each new version looked up in the index).

use afk::core::gate::deps::Ecosystem;
use afk::core::gate::{Commit, Did, NewDep, Policy, RunChange};
use std::path::Path;
use std::time::{Duration, Instant};

const RECORDS: usize = 250_000;
const PATHS: usize = 1_000;
const DEPS: usize = 1_000;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// RECORDS records, a thousand to a folder, the ecosystems in turn; every
/// 50th is malware, the rest HIGH or LOW ranges below a fixed version.
fn generate(osv: &Path) {
    let ecos = ["npm", "crates.io", "PyPI", "Go"];
    for i in 0..RECORDS {
        let eco = ecos[i % 4];
        let sub = osv.join(format!("{}/{:03}", eco.replace('.', "-"), i / 1000));
        if i % 1000 < 4 {
            std::fs::create_dir_all(&sub).unwrap();
        }
        let id = if i % 50 == 0 {
            format!("MAL-2026-{i}")
        } else {
            format!("GHSA-bench-{i}")
        };
        let severity = if i % 3 == 0 { "HIGH" } else { "LOW" };
        let record = format!(
            r#"{{"id":"{id}","modified":"2026-11-20T00:00:00Z","affected":[{{"package":{{"ecosystem":"{eco}","name":"pkg-{}"}},"ranges":[{{"type":"SEMVER","events":[{{"introduced":"0"}},{{"fixed":"1.{}.0"}}]}}]}}],"database_specific":{{"severity":"{severity}"}}}}"#,
            i / 4 % 60_000,
            i % 7
        );
        std::fs::write(sub.join(format!("{id}.json")), record).unwrap();
    }
}

pub fn gate_bench(dir: &Path) {
    let osv = dir.join("gate/osv");
    let state = dir.join("gate/state");
    std::fs::create_dir_all(&state).unwrap();
    let t = Instant::now();
    generate(&osv);
    println!(
        "gate: {RECORDS} OSV records written in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    // the first tick after the folder changed: every record read, the index kept
    let t = Instant::now();
    let print = afk::advisories::fingerprint(&osv).unwrap();
    let ix = afk::advisories::read(&osv).unwrap();
    afk::advisories::keep(&state.join(afk::advisories::INDEX), &print, &ix);
    let first = t.elapsed();
    drop(ix);
    // an unchanged folder: the check every watch tick makes
    let unchanged = median(
        (0..5)
            .map(|_| {
                let t = Instant::now();
                assert_eq!(afk::advisories::fingerprint(&osv).unwrap(), print);
                t.elapsed()
            })
            .collect(),
    );
    // one turn: 1,000 paths, 1,000 dependencies moved to new versions
    let changes: Vec<(Did, String)> = (0..PATHS)
        .map(|i| (Did::Modified, format!("src/m{:02}/file{i}.rs", i % 40)))
        .chain([(Did::Modified, "web/package-lock.json".to_string())])
        .collect();
    let commits = vec![Commit {
        short: "abc1234".into(),
        changes,
    }];
    let run = RunChange {
        paths: vec![],
        files: PATHS as u64 + 1,
        bytes: 4 << 20,
        largest: vec![],
    };
    let deps: Vec<NewDep> = (0..DEPS)
        .map(|i| NewDep {
            path: "web/package-lock.json".into(),
            ecosystem: Ecosystem::Npm,
            name: format!("pkg-{}", i * 59),
            version: "1.0.1".into(),
        })
        .collect();
    let t = Instant::now();
    let policy = Policy::of(&[], &[], 0, 0)
        .unwrap()
        .with_advisories(Some(afk::advisories::at(osv.clone(), &state)));
    let reasons = afk::core::gate::judge(&policy, &commits, &run, &deps);
    let judged = t.elapsed();
    println!(
        "gate: first tick after the folder changed (read whole, index kept): {:.2} s",
        first.as_secs_f64()
    );
    println!(
        "gate: an unchanged folder, per watch tick: {:.0} ms (median of 5)",
        unchanged.as_secs_f64() * 1000.0
    );
    println!(
        "gate: judging {PATHS} paths and {DEPS} new dependency versions from the index: {:.0} ms ({} refusals)",
        judged.as_secs_f64() * 1000.0,
        reasons.len()
    );
    // a turn touching 100 manifests of 50 dependencies each: each read at
    // both ends, what moved diffed, its exact pins and sources judged (git's
    // side is one `cat-file --batch` for all of them)
    let manifest = |v: &str| {
        let deps: Vec<String> = (0..50).map(|d| format!("\"pkg-{d}\": \"{v}\"")).collect();
        format!(
            "{{\"name\": \"app\", \"dependencies\": {{{}}}}}",
            deps.join(", ")
        )
    };
    let (before, after) = (manifest("^1.0.0"), manifest("1.0.1"));
    let kind = afk::core::gate::deps::Lockfile::of("web/package.json").unwrap();
    let t = Instant::now();
    let mut refused = 0;
    for m in 0..100 {
        let path = format!("m{m:03}/package.json");
        let moved = afk::core::gate::deps::diff(
            &afk::core::gate::deps::parse(kind, &before).unwrap(),
            &afk::core::gate::deps::parse(kind, &after).unwrap(),
        );
        let deps = afk::core::gate::new_deps(&path, kind, &moved);
        refused += afk::core::gate::judge(&policy, &[], &RunChange::default(), &deps).len();
        refused += afk::core::gate::foreign_sources(&policy, &path, kind, &moved).len();
    }
    println!(
        "gate: 100 manifests of 50 dependencies read, diffed and judged: {:.0} ms ({refused} refusals)",
        t.elapsed().as_secs_f64() * 1000.0
    );
}
