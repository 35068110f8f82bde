//! The benchmark: `cargo run --release --example bench` (everything), or
//! `cargo run --release --example bench -- github` (the GitHub section alone;
//! `-- gitea` likewise for Gitea's poll and watch).
//!
//! Measures, against the sandbox with injected latency per request:
//! - `afk poll` with the kill switch on (the real binary, median of 20 runs);
//! - one poll tick over 50 allowlisted repos x 20 ready issues each, then the
//!   tick after it: wall time, requests, the time if every request were made one
//!   after another, and the ratio to the critical-path limit
//!   max(longest dependent chain, requests / concurrency) x latency;
//! - the same poll and watch ticks on the sandbox's GitHub dialect, with the
//!   requests that cost rate limit (all but 304s) per tick: every GET is
//!   conditional, so an unchanged tick should cost (almost) nothing.

use afk::commands::{Ctx, poll};
use afk::config::Config;
use afk::sandbox::Dialect;
use serde_json::{Value, json};
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

const REPOS: usize = 50;
const ISSUES: u64 = 20;
const LATENCY_MS: u64 = 20;
const CONCURRENCY: usize = 8;
/// The longest chain of requests that depend on each other in one repo:
/// list ready, list in-progress, timeline, permission, dependencies, labels, add label.
const CHAIN: usize = 7;

fn release_afk() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    // target/release/examples/bench -> target/release/afk
    let bin = exe.parent().unwrap().parent().unwrap().join("afk");
    let status = Command::new(env!("CARGO"))
        .args(["build", "--release", "--bin", "afk", "--quiet"])
        .status()
        .expect("cargo build");
    assert!(status.success());
    bin
}

/// A call to the sandbox's admin API.
fn admin(url: &str, method: &str, path: &str, body: Option<Value>) -> Value {
    let r = ureq::request(method, &format!("{url}/_admin{path}"));
    match body {
        Some(b) => r.send_json(b),
        None => r.call(),
    }
    .unwrap()
    .into_json()
    .unwrap()
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let dir = std::env::temp_dir().join(format!("afk-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    // `-- github` or `-- gitea`: that forge's poll and watch sections alone
    let only: Vec<String> = std::env::args().skip(1).collect();
    if only.iter().any(|a| a == "github" || a == "gitea") {
        if only.iter().any(|a| a == "gitea") {
            poll_bench(&dir, Dialect::Gitea);
            watch_bench(&dir, Dialect::Gitea);
        }
        if only.iter().any(|a| a == "github") {
            github_section(&dir);
        }
        let _ = std::fs::remove_dir_all(&dir);
        return;
    }

    // 1. the kill switch, as cron runs it: a process that reads its config and exits
    let afk = release_afk();
    let off = dir.join("off.toml");
    std::fs::write(&off, "state_path = \"state/afk.db\"\n[forge]\nurl = \"http://127.0.0.1:9\"\n[poll]\nenabled = false\nallowlist = [\"a/b\"]\n").unwrap();
    let mut times = vec![];
    for _ in 0..20 {
        let t = Instant::now();
        let out = Command::new(&afk)
            .arg("--config")
            .arg(&off)
            .arg("poll")
            .output()
            .unwrap();
        times.push(t.elapsed());
        assert!(out.status.success());
    }
    assert!(
        !dir.join("state").exists(),
        "the kill switch created nothing"
    );
    let ks = median(times);
    println!(
        "afk bench: {LATENCY_MS} ms per request, forge.concurrency = {CONCURRENCY}\n\nkill switch on (`afk poll`, release, median of 20 processes): {:.2} ms",
        ks.as_secs_f64() * 1e3
    );

    // 2. a loaded forge with latency
    poll_bench(&dir, Dialect::Gitea);

    // 3. the lessons journal with 100,000 lessons, listed with filters by the real binary
    let lessons_cfg = dir.join("lessons.toml");
    std::fs::write(&lessons_cfg, "state_path = \"lessons/afk.db\"\n").unwrap();
    let lessons = |args: &[&str]| {
        let out = Command::new(&afk)
            .arg("--config")
            .arg(&lessons_cfg)
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    };
    lessons(&["lessons", "record", "--type", "seed"]);
    {
        let mut c = rusqlite::Connection::open(dir.join("lessons/afk.db")).unwrap();
        let tx = c.transaction().unwrap();
        {
            let mut st = tx
                .prepare(
                    "INSERT INTO lessons (created_at, lesson_type, source, status, repo, work_item) \
                     VALUES ('2026-01-01T00:00:00Z', ?1, 'auto', ?2, ?3, ?4)",
                )
                .unwrap();
            for i in 0..100_000usize {
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
    println!(
        "\nlessons journal with 100,000 lessons (`afk --json lessons ...`, release, median of 10 processes):"
    );
    for args in [
        vec!["--json", "lessons", "list", "--limit", "100"],
        vec![
            "--json",
            "lessons",
            "list",
            "--type",
            "merge_hold",
            "--status",
            "closed",
            "--repo",
            "acme/r7",
            "--limit",
            "20",
        ],
        vec!["--json", "lessons", "list", "--work-item", "acme/r7#107"],
        vec!["--json", "lessons", "snapshot"],
    ] {
        let mut times = vec![];
        for _ in 0..10 {
            let t = Instant::now();
            lessons(&args);
            times.push(t.elapsed());
        }
        println!(
            "  {:<82} {:>7.1} ms",
            args[1..].join(" "),
            median(times).as_secs_f64() * 1e3
        );
    }
    watch_bench(&dir, Dialect::Gitea);
    github_section(&dir);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Poll and watch on the GitHub dialect (`-- github` runs this alone).
fn github_section(dir: &std::path::Path) {
    println!(
        "\n== GitHub (the sandbox's GitHub dialect; costly: requests that used rate limit, all but 304s)"
    );
    poll_bench(dir, Dialect::Github);
    watch_bench(dir, Dialect::Github);
}

/// The `[forge]` keys for a sandbox speaking `dialect`.
fn forge_keys(sb: &afk::sandbox::Sandbox) -> String {
    match sb.dialect {
        Dialect::Gitea => format!("url = \"{}\"", sb.url),
        Dialect::Github => format!("kind = \"github\"\napi_url = \"{}\"", sb.api_url()),
    }
}

/// How many answers in the sandbox's request log were 304s.
fn not_modified(log: &[Value]) -> usize {
    log.iter().filter(|r| r["status"] == 304).count()
}

/// Poll ticks over 50 allowlisted repos x 20 ready issues each, with latency.
fn poll_bench(dir: &std::path::Path, dialect: Dialect) {
    let repos: Vec<Value> = (0..REPOS)
        .map(|r| {
            let issues: Vec<Value> = (1..=ISSUES)
                .map(|n| json!({"number": n, "title": format!("issue {n}"), "body": "work",
                    "labels": ["ready-for-agent", if n % 5 == 0 { "priority/high" } else { "priority/low" }],
                    "labeled_by": "alice"}))
                .collect();
            json!({"name": format!("bench/repo{r:02}"), "collaborators": {"alice": "write"}, "issues": issues})
        })
        .collect();
    let seed: afk::sandbox::Seed = serde_json::from_value(json!({"repos": repos})).unwrap();
    let dir = dir.join(format!("poll-{}", dialect.as_str()));
    let sb = afk::sandbox::start_with(dialect, "127.0.0.1:0", Some(seed), Some(dir.join("forge")))
        .unwrap();
    let admin = |m: &str, p: &str, body: Option<Value>| admin(&sb.url, m, p, body);
    admin(
        "POST",
        "/faults",
        Some(json!({"faults": [], "latency_ms": LATENCY_MS})),
    );
    std::fs::write(dir.join("token"), afk::sandbox::DEFAULT_TOKEN).unwrap();
    let allow: Vec<String> = (0..REPOS)
        .map(|r| format!("\"bench/repo{r:02}\""))
        .collect();
    let cfg_path = dir.join("afk.toml");
    std::fs::write(
        &cfg_path,
        format!(
            "state_path = \"state/afk.db\"\n[forge]\n{}\ntoken_file = \"token\"\nconcurrency = {CONCURRENCY}\n\
             [poll]\nenabled = true\nallowlist = [{}]\nmax_in_flight = {REPOS}\nmax_per_tick = {REPOS}\n\
             [runner]\ncommand = [\"true\"]\n",
            forge_keys(&sb),
            allow.join(", ")
        ),
    )
    .unwrap();
    let ctx = Ctx {
        config: Config::load(&cfg_path).unwrap(),
        config_path: cfg_path,
        state_flag: None,
        dry_run: false,
        json: true,
    };

    println!(
        "\npoll ({}): {REPOS} repos x {ISSUES} ready issues, {LATENCY_MS} ms per request, forge.concurrency = {CONCURRENCY}",
        dialect.as_str()
    );
    println!(
        "{:<34} {:>9} {:>9} {:>7} {:>7} {:>11} {:>11} {:>6}",
        "tick", "wall ms", "requests", "writes", "costly", "serial ms", "limit ms", "ratio"
    );
    for name in [
        "poll, first tick (50 dispatches)",
        "poll, second tick (all locked)",
        "poll, third tick (nothing changed)",
    ] {
        admin("DELETE", "/requests", None);
        let t = Instant::now();
        let tick = poll::tick(&ctx).unwrap().done();
        let wall = t.elapsed().as_secs_f64() * 1e3;
        assert_eq!(tick.code, 0, "{}", tick.report);
        let log = admin("GET", "/requests", None);
        let reqs = log.as_array().unwrap();
        let n = reqs.len();
        let writes = reqs.iter().filter(|r| r["method"] != "GET").count();
        let costly = tick.report["costly_requests"].as_u64().unwrap_or(0) as usize;
        assert_eq!(
            costly,
            n - not_modified(reqs),
            "the client counts what the forge saw"
        );
        let dispatched = tick.report["dispatched"].as_array().unwrap().len();
        let chain = if dispatched > 0 { CHAIN } else { 1 };
        let limit = (chain.max(n.div_ceil(CONCURRENCY)) as u64 * LATENCY_MS) as f64;
        let serial = (n as u64 * LATENCY_MS) as f64;
        println!(
            "{name:<34} {wall:>9.0} {n:>9} {writes:>7} {costly:>7} {serial:>11.0} {limit:>11.0} {:>6.2}",
            wall / limit
        );
    }
    println!(
        "serial ms: every request one after another; limit ms: max(chain, requests/concurrency) x latency."
    );
}

/// One watch tick over 200 runs in flight across 50 repos (4 each), every run
/// with a real branch, an open PR and a green status: the first tick writes the
/// checklists, the second must write nothing.
fn watch_bench(dir: &std::path::Path, dialect: Dialect) {
    const RUNS_PER_REPO: u64 = 4;
    let dir = dir.join(format!("watch-{}", dialect.as_str()));
    let repos: Vec<Value> = (0..REPOS)
        .map(|r| {
            let issues: Vec<Value> = (1..=RUNS_PER_REPO)
                .map(|n| json!({"number": n, "title": format!("issue {n}"),
                    "labels": ["ready-for-agent", "agent-in-progress"], "labeled_by": "alice"}))
                .collect();
            json!({"name": format!("bench/w{r:02}"), "collaborators": {"alice": "write"}, "issues": issues})
        })
        .collect();
    let seed: afk::sandbox::Seed = serde_json::from_value(json!({"repos": repos})).unwrap();
    let sb = afk::sandbox::start_with(dialect, "127.0.0.1:0", Some(seed), Some(dir.join("forge")))
        .unwrap();
    std::fs::write(dir.join("token"), afk::sandbox::DEFAULT_TOKEN).unwrap();
    let cfg_path = dir.join("afk.toml");
    std::fs::write(
        &cfg_path,
        format!(
            "state_path = \"state/afk.db\"\n[forge]\n{}\ntoken_file = \"token\"\nconcurrency = {CONCURRENCY}\n\
             [poll]\nenabled = true\n[runner]\ncommand = [\"true\"]\n",
            forge_keys(&sb)
        ),
    )
    .unwrap();
    let ctx = Ctx {
        config: Config::load(&cfg_path).unwrap(),
        config_path: cfg_path,
        state_flag: None,
        dry_run: false,
        json: true,
    };
    let store = afk::store::Store::open(&ctx.state_path()).unwrap();
    let agent = ureq::AgentBuilder::new().build();
    for r in 0..REPOS {
        let repo = format!("bench/w{r:02}");
        let gd = sb.dir.join(format!("{repo}.git"));
        for n in 1..=RUNS_PER_REPO {
            let g = |args: &[&str], input: Option<&str>| {
                afk::sandbox::git::git(&gd, args, input).unwrap()
            };
            let main = g(&["rev-parse", "refs/heads/main"], None);
            let blob = g(
                &["hash-object", "-w", "--stdin"],
                Some(&format!("fix {n}\n")),
            );
            let tree = g(&["mktree"], Some(&format!("100644 blob {blob}\tfix.txt\n")));
            let commit = g(&["commit-tree", &tree, "-p", &main, "-m", "fix"], None);
            g(
                &["update-ref", &format!("refs/heads/afk/issue-{n}"), &commit],
                None,
            );
            agent
                .post(&format!("{}/repos/{repo}/pulls", sb.api_url()))
                .set("Authorization", &format!("token {}", afk::sandbox::DEFAULT_TOKEN))
                .send_json(json!({"head": format!("afk/issue-{n}"), "base": "main", "title": "fix", "body": format!("Closes #{n}")}))
                .unwrap();
            agent
                .post(&format!("{}/_admin/status", sb.url))
                .send_json(
                    json!({"repo": repo, "sha": commit, "context": "ci", "state": "success"}),
                )
                .unwrap();
            let id = store
                .claim_run(&afk::store::runs::NewRun {
                    repo: &repo,
                    issue: n,
                    title: "fix",
                    url: "",
                    ready_event_id: Some(1),
                    template_name: "implementer",
                    template_version_id: None,
                    template_version: None,
                    template_hash: None,
                    runner_kind: "command",
                    branch: &format!("afk/issue-{n}"),
                })
                .unwrap();
            store
                .transition(
                    id,
                    afk::core::run_state::RunStatus::Dispatching,
                    afk::core::run_state::RunStatus::Dispatched,
                )
                .unwrap();
        }
    }
    let admin = |m: &str, p: &str, body: Option<Value>| admin(&sb.url, m, p, body);
    admin(
        "POST",
        "/faults",
        Some(json!({"faults": [], "latency_ms": LATENCY_MS})),
    );
    let runs = REPOS as u64 * RUNS_PER_REPO;
    println!(
        "\nwatch ({}): {runs} runs in flight across {REPOS} repos, each with an open PR and green CI, {LATENCY_MS} ms per request",
        dialect.as_str()
    );
    println!(
        "{:<34} {:>9} {:>9} {:>7} {:>7} {:>11} {:>11} {:>6}",
        "tick", "wall ms", "requests", "writes", "costly", "serial ms", "limit ms", "ratio"
    );
    for name in [
        "watch, first tick (checklists)",
        "watch, second tick (no change)",
        "watch, third tick (no change)",
    ] {
        admin("DELETE", "/requests", None);
        let t = Instant::now();
        let tick = afk::commands::watch::tick(&ctx).unwrap().done();
        let wall = t.elapsed().as_secs_f64() * 1e3;
        assert_eq!(tick.code, 0, "{}", tick.report);
        let log = admin("GET", "/requests", None);
        let reqs = log.as_array().unwrap();
        let n = reqs.len();
        let writes = reqs.iter().filter(|r| r["method"] != "GET").count();
        let costly = tick.report["costly_requests"].as_u64().unwrap_or(0) as usize;
        assert_eq!(
            costly,
            n - not_modified(reqs),
            "the client counts what the forge saw"
        );
        // chain: in-progress issues list, open PR list, status (+ comments list, comment post)
        let chain = if writes > 0 { 5 } else { 3 };
        let limit = (chain.max(n.div_ceil(CONCURRENCY)) as u64 * LATENCY_MS) as f64;
        let serial = (n as u64 * LATENCY_MS) as f64;
        println!(
            "{name:<34} {wall:>9.0} {n:>9} {writes:>7} {costly:>7} {serial:>11.0} {limit:>11.0} {:>6.2}",
            wall / limit
        );
    }
    if dialect == Dialect::Github {
        println!(
            "the second tick pays for each repo's issue list, which the first tick's checklist comments changed (GitHub counts comments there)"
        );
    }
}
