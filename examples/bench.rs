//! The benchmark: `cargo run --release --example bench [poll|lessons|watch|harvest|upgrade|page|github|gitlab|azure-devops|kubernetes|workspace|box|hook|gateway|telemetry]`
//! (no argument: every section).
//!
//! Measures, against the sandbox with injected latency per request (a round
//! trip: the sandbox's own work on a request is inside it, as a remote
//! forge's is, never added to afk's tick on the machine they share):
//! - `afk poll` with the kill switch on (the real binary, median of 20 runs);
//! - one poll tick over 50 allowlisted repos x 20 ready issues each, then the
//!   tick after it: wall time, requests, the time if every request were made one
//!   after another, and the ratio to the critical-path limit
//!   max(longest dependent chain, requests / concurrency) x latency;
//! - the lessons journal with 100,000 lessons and a watch tick over 200 runs
//!   (open PRs awaiting merge or CI, each with reviews and comments to read);
//! - harvest: a tick over 1,000,000 recorded outcomes (decision + report) and
//!   `template list` over the same, as processes; poll with canary routing on
//!   and off, as processes (`--dry-run`, so every run does the same work).
//!
//! The afk binary measured is the one of the bench's own profile (release
//! under `--release`).
//! - `afk upgrade --dry-run` over 13 recipes (14 images, ~130 tags) with a
//!   warm work dir, as cron runs it (the real binary, median of 11 runs);
//! - github: the same poll and watch ticks on the sandbox's GitHub dialect,
//!   with the requests that cost rate limit (all but 304s) per tick: every
//!   GET is conditional, so an unchanged tick should cost (almost) nothing.
//! - gitlab: the same poll and watch ticks on the sandbox's GitLab dialect
//!   (merge requests numbered apart, notes, discussions and reviewers read).
//! - azure-devops: the same poll and watch ticks on the sandbox's Azure
//!   DevOps dialect (work items found by WIQL under one area path per repo,
//!   trust read from the ACLs, votes, threads and build validation).
//! - page: `afk status --html` over 10,000 runs and 1,000,000 outcomes
//!   (examples/bench/page.rs).
//! - kubernetes: a watch tick over 200 agents in flight as Jobs on the
//!   sandbox's cluster: one Job list, one pod list, one log read per running pod.
//! - workspace: a run's checkout of 20,000 files and ~200 MB of history against
//!   `git worktree add` (the floor) and a fresh clone (examples/bench/workspace.rs).
//! - box: a turn in the agent's box against one without, and bubblewrap alone
//!   (examples/bench/agent_box.rs).
//! - hook: label to agent start through `afk hook` on loopback, the
//!   sandbox's signed webhooks into an accept loop that runs `afk hook` per
//!   connection as a socket unit does (examples/bench/hook.rs), beside
//!   cron's interval.
//! - gateway: the model gateway (`afk workspace gateway`) against a byte
//!   relay on loopback, before the sandbox's keyed scripted model: time to
//!   first byte and each streamed event's delay (examples/bench/gateway.rs).
//! - telemetry: making, encoding and exporting 10,000 spans to the sandbox's
//!   OTLP receiver on loopback, in the keeper's batches of 512: ms per span
//!   (examples/bench/telemetry.rs).

#[path = "bench/agent_box.rs"]
mod agent_box;
#[path = "bench/audit.rs"]
mod audit;
#[path = "bench/gate.rs"]
mod gate;
#[path = "bench/gateway.rs"]
mod gateway;
#[path = "bench/hook.rs"]
mod hook;
#[path = "bench/page.rs"]
mod page;
#[path = "bench/report.rs"]
mod report;
#[path = "bench/telemetry.rs"]
mod telemetry;
#[path = "bench/workspace.rs"]
mod workspace;

use afk::ops::poll;
use afk::sandbox::Dialect;
use afk::session::Session;
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
/// Azure DevOps' list of a repo's work items with a tag, one request after
/// another: the states of the five default work-item types (read at once;
/// the closed ones are left out of the query), the WIQL query (the
/// project's, once a tick for all its repositories), the batch reads of
/// what it found (at once). The repository is read beside them: the query
/// names the project without it.
const AZURE_LIST_CHAIN: usize = 1 + 1 + 1;
/// A dispatch's chain on Azure DevOps: the ready list, then the in-progress
/// query (nothing found: no batch read), the item's updates, afk's account
/// (`connectionData`), the revisions that added a tag (who armed it: read at
/// once), trust (the identity, then the Project and Git Repositories
/// namespaces' actions and their ACLs, the two namespaces at once: three),
/// the item with its relations (blocked), and the tag written (a `PATCH`
/// whose `test` on `/rev` is that read's).
const AZURE_CHAIN: usize = AZURE_LIST_CHAIN + 1 + 1 + 1 + 1 + 3 + 1 + 1;

fn release_afk() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    // target/<profile>/examples/bench -> target/<profile>/afk
    let bin = exe.parent().unwrap().parent().unwrap().join("afk");
    let mut cmd = Command::new(env!("CARGO"));
    cmd.args(["build", "--bin", "afk", "--quiet"]);
    if !cfg!(debug_assertions) {
        cmd.arg("--release");
    }
    let status = cmd.status().expect("cargo build");
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
    let only = std::env::args().nth(1);
    let want = |section: &str| only.as_deref().is_none_or(|o| o == section);
    if matches!(
        only.as_deref(),
        Some("github" | "gitlab" | "azure-devops" | "watch" | "telemetry")
    ) {
        // these sections alone need no afk binary: their ticks run in-process
        match only.as_deref() {
            Some("watch") => watch_bench(&dir, Dialect::Gitea),
            Some("telemetry") => telemetry::telemetry_bench(),
            Some("gitlab") => gitlab_section(&dir),
            Some("azure-devops") => azure_devops_section(&dir),
            _ => github_section(&dir),
        }
        let _ = std::fs::remove_dir_all(&dir);
        return;
    }
    let afk = release_afk();
    if !cfg!(debug_assertions) {
        println!("afk bench: release build\n");
    } else {
        println!("afk bench: DEBUG build (use --release for real numbers)\n");
    }
    if want("poll") {
        poll_bench(&dir, &afk);
    }
    if want("lessons") {
        lessons_bench(&dir, &afk);
    }
    if want("watch") {
        watch_bench(&dir, Dialect::Gitea);
    }
    if want("harvest") {
        harvest_bench(&dir, &afk);
        routing_bench(&dir, &afk);
    }
    if want("upgrade") {
        upgrade_bench(&dir, &afk);
    }
    if want("audit") {
        audit::audit_bench(&dir, &afk);
    }
    if want("report") {
        report::report_bench(&dir, &afk);
    }
    if want("page") {
        page::page_bench(&dir, &afk);
    }
    if want("github") {
        github_section(&dir);
    }
    if want("gitlab") {
        gitlab_section(&dir);
    }
    if want("azure-devops") {
        azure_devops_section(&dir);
    }
    if want("kubernetes") {
        kubernetes_bench(&dir);
    }
    if want("workspace") {
        workspace::workspace_bench(&dir);
    }
    if want("box") {
        agent_box::box_bench(&dir, &afk);
    }
    if want("hook") {
        hook::hook_bench(&dir, &afk);
        hook::loop_bench(&dir, &afk);
    }
    if want("gateway") {
        gateway::gateway_bench(&dir, &afk);
    }
    if want("gate") {
        gate::gate_bench(&dir);
    }
    if want("telemetry") {
        telemetry::telemetry_bench();
    }
    if std::env::var_os("AFK_BENCH_KEEP").is_none() {
        let _ = std::fs::remove_dir_all(&dir);
    }
}

/// A watch tick over 200 agents in flight as Kubernetes Jobs (the sandbox's
/// cluster, each Job a local `sleep`): one Job list and one pod list for all,
/// plus one log read per running pod, beside the forge's per-repo lists.
fn kubernetes_bench(dir: &std::path::Path) {
    use afk::runner::Runner;
    const K_REPOS: usize = 50;
    const RUNS_PER_REPO: u64 = 4;
    let dir = dir.join("watch-kubernetes");
    let repos: Vec<Value> = (0..K_REPOS)
        .map(|r| {
            let issues: Vec<Value> = (1..=RUNS_PER_REPO)
                .map(|n| json!({"number": n, "title": format!("issue {n}"),
                    "labels": ["ready-for-agent", "agent-in-progress"], "labeled_by": "alice"}))
                .collect();
            json!({"name": format!("bench/k{r:02}"), "collaborators": {"alice": "write"}, "issues": issues})
        })
        .collect();
    let seed: afk::sandbox::Seed = serde_json::from_value(json!({"repos": repos})).unwrap();
    let sb = afk::sandbox::start_with(
        Dialect::Gitea,
        "127.0.0.1:0",
        Some(seed),
        Some(dir.join("forge")),
    )
    .unwrap();
    afk::store::private_write(&dir.join("token"), sb.token().as_bytes()).unwrap();
    afk::store::private_write(&dir.join("k8s-token"), sb.k8s_token().as_bytes()).unwrap();
    let cfg_path = dir.join("afk.toml");
    std::fs::write(
        &cfg_path,
        format!(
            "state_path = \"state/afk.db\"\n[forge]\n{}\ntoken_file = \"token\"\nconcurrency = {CONCURRENCY}\n\
             [poll]\nenabled = true\n[runner]\nkind = \"kubernetes\"\nworkspace = \"agent\"\ncommand = [\"sleep\", \"600\"]\n\
             [runner.kubernetes]\napi_url = \"{}/k8s\"\ntoken_file = \"k8s-token\"\nnamespace = \"afk\"\nimage = \"bench/agent:1\"\n",
            sb.forge_keys(),
            sb.url
        ),
    )
    .unwrap();
    let ctx = Session::on_file(&cfg_path, false, true).unwrap();
    let runner = afk::runner::kubernetes::KubernetesRunner::new(ctx.config()).unwrap();
    let store = afk::store::Store::open(ctx.state_path()).unwrap();
    runner.bind_instance(&store.instance().unwrap());
    let mut handles = vec![];
    for r in 0..K_REPOS {
        let repo = format!("bench/k{r:02}");
        for n in 1..=RUNS_PER_REPO {
            let branch = format!("afk/issue-{n}");
            let id = claim(&store, &repo, n, afk::config::RunnerKind::Kubernetes);
            let run_dir = ctx.runs_dir().join(id.to_string());
            let h = runner
                .start(&afk::runner::Turn {
                    run_id: afk::runner::TurnOf::Run(id),
                    repo: &repo.parse().unwrap(),
                    issue: afk::types::IssueNumber(n),
                    title: "fix",
                    branch: &branch,
                    prompt: "fix it",
                    run_dir: &run_dir,
                    turn: 1,
                    env: &[],
                    budget_usd: None,
                    gate: None,
                })
                .unwrap();
            store
                .mark_started(id, &run_dir.to_string_lossy(), &h)
                .unwrap();
            store
                .transition(
                    id,
                    afk::core::run_state::RunStatus::Started,
                    afk::core::run_state::RunStatus::Dispatched,
                )
                .unwrap();
            handles.push(h);
        }
    }
    let admin = |m: &str, p: &str, body: Option<Value>| admin(&sb.url, m, p, body);
    admin(
        "POST",
        "/faults",
        Some(json!({"faults": [], "latency_ms": LATENCY_MS})),
    );
    let runs = handles.len();
    println!(
        "\nwatch (kubernetes): {runs} Jobs in flight across {K_REPOS} repos, {LATENCY_MS} ms per request"
    );
    println!(
        "{:<34} {:>9} {:>9} {:>9} {:>9} {:>11} {:>11} {:>6}",
        "tick", "wall ms", "requests", "k8s list", "k8s logs", "serial ms", "limit ms", "ratio"
    );
    for name in ["watch, first tick", "watch, second tick"] {
        admin("DELETE", "/requests", None);
        let t = Instant::now();
        let tick = afk::ops::watch::tick(&ctx, &afk::ops::Scope::All)
            .unwrap()
            .done();
        let wall = t.elapsed().as_secs_f64() * 1e3;
        assert_eq!(tick.code, 0, "{}", tick.report);
        let log = admin("GET", "/requests", None);
        let reqs = log.as_array().unwrap();
        let n = reqs.len();
        let k8s = |end: &str| {
            reqs.iter()
                .filter(|r| {
                    let p = r["path"].as_str().unwrap_or("");
                    p.starts_with("/k8s/") && p.ends_with(end)
                })
                .count()
        };
        let (lists, logs) = (k8s("/jobs") + k8s("/pods"), k8s("/log"));
        assert_eq!(lists, 2, "one Job list and one pod list per tick");
        assert!(logs <= runs, "at most one log read per running pod");
        // chain: the lists (forge and cluster), then a run's log read
        let limit = (3.max(n.div_ceil(CONCURRENCY)) as u64 * LATENCY_MS) as f64;
        let serial = (n as u64 * LATENCY_MS) as f64;
        println!(
            "{name:<34} {wall:>9.0} {n:>9} {lists:>9} {logs:>9} {serial:>11.0} {limit:>11.0} {:>6.2}",
            wall / limit
        );
    }
    admin(
        "POST",
        "/faults",
        Some(json!({"faults": [], "latency_ms": 0})),
    );
    for h in &handles {
        runner.stop(h);
    }
}

/// Poll and watch on the GitHub dialect (`-- github` runs this alone).
fn github_section(dir: &std::path::Path) {
    println!(
        "\n== GitHub (the sandbox's GitHub dialect; costly: requests that used rate limit, all but 304s)"
    );
    poll_ticks(dir, Dialect::Github);
    watch_bench(dir, Dialect::Github);
}

/// Poll and watch on the GitLab dialect (`-- gitlab` runs this alone).
fn gitlab_section(dir: &std::path::Path) {
    println!("\n== GitLab (the sandbox's GitLab dialect)");
    poll_ticks(dir, Dialect::Gitlab);
    watch_bench(dir, Dialect::Gitlab);
}

/// Poll and watch on the Azure DevOps dialect (`-- azure-devops` runs this
/// alone): one project, `bench`, its repositories each under an area path
/// of their own.
fn azure_devops_section(dir: &std::path::Path) {
    println!(
        "\n== Azure DevOps (the sandbox's Azure DevOps dialect: work items by WIQL, trust by ACL; the five default work-item types)"
    );
    // while the kind is refused at load, a whole run goes on without it
    let kind = afk::forge::ForgeKind::AzureDevops;
    if let Some(why) = afk::forge::profile::of(kind).not_yet {
        println!("skipped: {why}");
        return;
    }
    poll_ticks(dir, Dialect::AzureDevops);
    watch_bench(dir, Dialect::AzureDevops);
}

/// The number of issue `i` (from 1) of the `r`th repo, each with `per_repo`:
/// `i`, but on Azure DevOps, whose work-item ids are the organization's,
/// numbered across the repos, so each work item's id is its issue's number
/// (the sandbox gives an item its issue's number when no other has it) and
/// a run claimed for issue N is work item N's.
fn issue_number(dialect: Dialect, r: usize, per_repo: u64, i: u64) -> u64 {
    match dialect {
        Dialect::AzureDevops => r as u64 * per_repo + i,
        _ => i,
    }
}

/// What Azure DevOps needs of the config beside the sandbox's `[forge]`
/// keys: one area path per allowlisted repo (the sandbox files the work
/// items of `project/repo` under `project\repo`), as the table's lines;
/// nothing on the other kinds.
fn area_paths(dialect: Dialect, repos: &[String]) -> String {
    if dialect != Dialect::AzureDevops {
        return String::new();
    }
    let mut table = String::from("[forge.azure_devops.area_paths]\n");
    for r in repos {
        table.push_str(&format!("\"{r}\" = '{}'\n", r.replace('/', "\\")));
    }
    table
}

/// The longest chain of requests that depend on each other in one repo's
/// poll tick: a dispatch's, or the ready list's alone.
fn poll_chain(dialect: Dialect, dispatched: bool) -> usize {
    match (dialect, dispatched) {
        (Dialect::AzureDevops, true) => AZURE_CHAIN,
        (Dialect::AzureDevops, false) => AZURE_LIST_CHAIN,
        (_, true) => CHAIN,
        (_, false) => 1,
    }
}

/// A watch tick's lists of one repo (its in-progress issues, its open PRs):
/// how many requests they are, and the longest chain among them. One
/// request each, but on Azure DevOps the repository, the WIQL query and the
/// batch read (both the project's, once a tick), and the active PRs (the
/// types' states are the project's, read once), the query's chain being
/// [`AZURE_LIST_CHAIN`].
fn watch_lists(dialect: Dialect) -> (usize, usize) {
    match dialect {
        Dialect::AzureDevops => (4, AZURE_LIST_CHAIN),
        _ => (2, 1),
    }
}

/// Whether a logged request changed anything: any method but GET, except
/// Azure DevOps' reads that are POSTs (a WIQL query, a batch read of work
/// items).
fn is_write(q: &Value) -> bool {
    let path = q["path"].as_str().unwrap_or("").to_ascii_lowercase();
    q["method"] != "GET" && !path.ends_with("/wiql") && !path.ends_with("/workitemsbatch")
}

/// A logged request's kind: its method and its path's last word of letters
/// (no number, name or id).
fn kind(q: &Value) -> String {
    let path = q["path"].as_str().unwrap_or("");
    let word = path
        .rsplit('/')
        .find(|w| !w.is_empty() && w.chars().all(|c| c.is_ascii_alphabetic() || c == '_'))
        .unwrap_or("");
    format!("{} {word}", q["method"].as_str().unwrap_or(""))
}

/// With `AFK_BENCH_TRACE` set, what a tick asked, by [`kind`]; set to
/// `when`, also each request's arrival in ms from the first one's.
fn trace(reqs: &[Value]) {
    if std::env::var_os("AFK_BENCH_TRACE").is_none() {
        return;
    }
    let mut kinds: std::collections::BTreeMap<String, usize> = Default::default();
    for q in reqs {
        *kinds.entry(kind(q)).or_default() += 1;
    }
    println!("  asked: {kinds:?}");
    if std::env::var_os("AFK_BENCH_TRACE").is_some_and(|v| v == "when") {
        let at = |q: &Value| q["at_ms"].as_u64().unwrap_or(0);
        let t0 = reqs.iter().map(at).min().unwrap_or(0);
        for q in reqs {
            println!("    {:>5} {}", at(q) - t0, kind(q));
        }
    }
}

/// GitLab's throttle (the sandbox's, as GitLab.com's: every request counts)
/// would stop the third tick of 2,000 requests: each tick starts with room,
/// as on an instance whose limit is sized for afk.
fn unlimited(admin: &dyn Fn(&str, &str, Option<Value>) -> Value, dialect: Dialect) {
    if dialect == Dialect::Gitlab {
        admin("POST", "/rate_limit", Some(json!({"remaining": 1_000_000})));
    }
}

/// How many answers in the sandbox's request log were 304s.
fn not_modified(log: &[Value]) -> usize {
    log.iter().filter(|r| r["status"] == 304).count()
}

/// The kill switch as cron runs it, then a loaded forge with latency.
fn poll_bench(dir: &std::path::Path, afk: &std::path::Path) {
    // 1. the kill switch, as cron runs it: a process that reads its config and exits
    let off = dir.join("off.toml");
    std::fs::write(&off, "state_path = \"state/afk.db\"\n[forge]\nurl = \"http://127.0.0.1:9\"\n[poll]\nenabled = false\nallowlist = [\"a/b\"]\n").unwrap();
    // paired with /bin/true, run for run, so the machine's moment counts alike
    let (mut times, mut trues) = (vec![], vec![]);
    for _ in 0..20 {
        let t = Instant::now();
        let out = Command::new(afk)
            .arg("--config")
            .arg(&off)
            .arg("poll")
            .output()
            .unwrap();
        times.push(t.elapsed());
        assert!(out.status.success());
        let t = Instant::now();
        assert!(Command::new("true").output().unwrap().status.success());
        trues.push(t.elapsed());
    }
    assert!(
        !dir.join("state").exists(),
        "the kill switch created nothing"
    );
    let (ks, tr) = (median(times), median(trues));
    println!(
        "kill switch on (`afk poll`, release, median of 20 processes): {:.2} ms; `true` paired with it {:.2} ms: {:.2}x",
        ks.as_secs_f64() * 1e3,
        tr.as_secs_f64() * 1e3,
        ks.as_secs_f64() / tr.as_secs_f64()
    );

    // 2. a loaded forge with latency
    poll_ticks(dir, Dialect::Gitea);
}

/// Poll ticks over 50 allowlisted repos x 20 ready issues each, with latency.
fn poll_ticks(dir: &std::path::Path, dialect: Dialect) {
    let names: Vec<String> = (0..REPOS).map(|r| format!("bench/repo{r:02}")).collect();
    let repos: Vec<Value> = names
        .iter()
        .enumerate()
        .map(|(r, name)| {
            let issues: Vec<Value> = (1..=ISSUES)
                .map(|n| json!({"number": issue_number(dialect, r, ISSUES, n), "title": format!("issue {n}"), "body": "work",
                    "labels": ["ready-for-agent", if n % 5 == 0 { "priority/high" } else { "priority/low" }],
                    "labeled_by": "alice"}))
                .collect();
            json!({"name": name, "collaborators": {"alice": "write"}, "issues": issues})
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
    afk::store::private_write(&dir.join("token"), sb.token().as_bytes()).unwrap();
    let allow: Vec<String> = names.iter().map(|r| format!("\"{r}\"")).collect();
    let cfg_path = dir.join("afk.toml");
    // the rows measure the tick's round trips: each start runs `true`
    // outside the agent's box (its own cost is `bench box`, about 14 ms a turn)
    std::fs::write(
        &cfg_path,
        format!(
            "state_path = \"state/afk.db\"\n[forge]\n{}\ntoken_file = \"token\"\nconcurrency = {CONCURRENCY}\n\
             [poll]\nenabled = true\nallowlist = [{}]\nmax_in_flight = {REPOS}\nmax_per_tick = {REPOS}\n\
             [runner]\nworkspace = \"agent\"\nconfine = \"none\"\ncommand = [\"true\"]\n{}",
            sb.forge_keys(),
            allow.join(", "),
            area_paths(dialect, &names)
        ),
    )
    .unwrap();
    let ctx = Session::on_file(&cfg_path, false, true).unwrap();
    // the state file as an operator's busy tick finds it: made and migrated
    // by an earlier tick (about 35 ms once), not by the tick measured
    drop(afk::store::Store::open(ctx.state_path()).unwrap());

    println!(
        "\npoll ({}): {REPOS} repos x {ISSUES} ready issues, {LATENCY_MS} ms per request, forge.concurrency = {CONCURRENCY}",
        dialect.as_str()
    );
    println!(
        "{:<34} {:>9} {:>9} {:>8} {:>7} {:>7} {:>11} {:>11} {:>6}",
        "tick",
        "wall ms",
        "requests",
        "per repo",
        "writes",
        "costly",
        "serial ms",
        "limit ms",
        "ratio"
    );
    for name in [
        "poll, first tick (50 dispatches)",
        "poll, second tick (all locked)",
        "poll, third tick (nothing changed)",
    ] {
        admin("DELETE", "/requests", None);
        unlimited(&admin, dialect);
        let t = Instant::now();
        let epoch = || {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as u64)
        };
        // this process's CPU (the tick's and the sandbox's threads, and
        // the children waited for), in clock ticks of 10 ms
        let cpu = || {
            let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
            let after = stat.rsplit_once(')').map_or("", |(_, r)| r);
            let f: Vec<u64> = after
                .split_whitespace()
                .filter_map(|x| x.parse().ok())
                .collect();
            // fields 14-17 (utime stime cutime cstime), counted from the state
            f.get(10..14).map_or(0, |v| v.iter().sum::<u64>()) * 10
        };
        let cpu0 = cpu();
        let began = epoch();
        let tick = poll::tick(&ctx, &afk::ops::Scope::All).unwrap().done();
        let wall = t.elapsed().as_secs_f64() * 1e3;
        let ended = epoch();
        assert_eq!(tick.code, 0, "{}", tick.report);
        let log = admin("GET", "/requests", None);
        let reqs = log.as_array().unwrap();
        if std::env::var_os("AFK_BENCH_TRACE").is_some_and(|v| v == "when") {
            let at = reqs.iter().filter_map(|q| q["at_ms"].as_u64());
            let (first, last) = (at.clone().min().unwrap_or(began), at.max().unwrap_or(ended));
            println!(
                "  before the first request {} ms; after the last one's answer {} ms; CPU {} ms",
                first - began,
                ended.saturating_sub(last + LATENCY_MS),
                cpu() - cpu0
            );
        }
        let n = reqs.len();
        let writes = reqs.iter().filter(|r| is_write(r)).count();
        let costly = tick.report["costly_requests"].as_u64().unwrap_or(0) as usize;
        assert_eq!(
            costly,
            n - not_modified(reqs),
            "the client counts what the forge saw"
        );
        let dispatched = tick.report["dispatched"].as_array().unwrap().len();
        trace(reqs);
        let chain = poll_chain(dialect, dispatched > 0);
        let limit = (chain.max(n.div_ceil(CONCURRENCY)) as u64 * LATENCY_MS) as f64;
        let serial = (n as u64 * LATENCY_MS) as f64;
        let each = n as f64 / REPOS as f64;
        println!(
            "{name:<34} {wall:>9.0} {n:>9} {each:>8.1} {writes:>7} {costly:>7} {serial:>11.0} {limit:>11.0} {:>6.2}",
            wall / limit
        );
    }
    println!(
        "per repo: requests / {REPOS} repos (with a dispatch: one run each); serial ms: every request one after another; \
         limit ms: max(chain, requests/concurrency) x latency, the chain {} requests with a dispatch, {} without.",
        poll_chain(dialect, true),
        poll_chain(dialect, false)
    );
}

/// The lessons journal with 100,000 lessons, listed by the real binary.
fn lessons_bench(dir: &std::path::Path, afk: &std::path::Path) {
    // 3. the lessons journal with 100,000 lessons, listed with filters by the real binary
    let lessons_cfg = dir.join("lessons.toml");
    std::fs::write(&lessons_cfg, "state_path = \"lessons/afk.db\"\n").unwrap();
    let lessons = |args: &[&str]| {
        let out = Command::new(afk)
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
}

/// One watch tick over 200 runs in flight across 50 repos (4 each), every run
/// with a real branch and an open PR: three of four green (awaiting merge),
/// one pending (awaiting CI); each PR with a conversation to read and nothing
/// in it to act on (alice's approval and her comment on the PR, a comment on
/// the issue, and on one PR per repo mallory's request for changes, which is
/// untrusted). The first tick writes the checklists, the second and third
/// must write nothing; on GitHub the second must cost no rate limit. On
/// Azure DevOps the same world in its words ([`azure_pr_world`]).
fn watch_bench(dir: &std::path::Path, dialect: Dialect) {
    const RUNS_PER_REPO: u64 = 4;
    let dir = dir.join(format!("watch-{}", dialect.as_str()));
    let names: Vec<String> = (0..REPOS).map(|r| format!("bench/w{r:02}")).collect();
    let repos: Vec<Value> = names
        .iter()
        .enumerate()
        .map(|(r, name)| {
            let issues: Vec<Value> = (1..=RUNS_PER_REPO)
                .map(|n| json!({"number": issue_number(dialect, r, RUNS_PER_REPO, n), "title": format!("issue {n}"),
                    "labels": ["ready-for-agent", "agent-in-progress"], "labeled_by": "alice"}))
                .collect();
            json!({"name": name, "collaborators": {"alice": "write"}, "issues": issues})
        })
        .collect();
    let seed: afk::sandbox::Seed = serde_json::from_value(json!({"repos": repos})).unwrap();
    let sb = afk::sandbox::start_with(dialect, "127.0.0.1:0", Some(seed), Some(dir.join("forge")))
        .unwrap();
    afk::store::private_write(&dir.join("token"), sb.token().as_bytes()).unwrap();
    let cfg_path = dir.join("afk.toml");
    // Azure DevOps lists a repo's work items under its area path, which
    // only an allowlisted repo may have
    let allowlist = match dialect {
        Dialect::AzureDevops => {
            let quoted: Vec<String> = names.iter().map(|r| format!("\"{r}\"")).collect();
            format!("allowlist = [{}]\n", quoted.join(", "))
        }
        _ => String::new(),
    };
    std::fs::write(
        &cfg_path,
        format!(
            "state_path = \"state/afk.db\"\n[forge]\n{}\ntoken_file = \"token\"\nconcurrency = {CONCURRENCY}\n\
             [poll]\nenabled = true\n{allowlist}[runner]\nworkspace = \"agent\"\ncommand = [\"true\"]\n{}",
            sb.forge_keys(),
            area_paths(dialect, &names)
        ),
    )
    .unwrap();
    let ctx = Session::on_file(&cfg_path, false, true).unwrap();
    let store = afk::store::Store::open(ctx.state_path()).unwrap();
    let agent = ureq::AgentBuilder::new().build();
    let admin = |m: &str, p: &str, body: Option<Value>| admin(&sb.url, m, p, body);
    let changes = dialect.changes_requested();
    for (r, repo) in names.iter().enumerate() {
        let gd = sb.dir.join(format!("{repo}.git"));
        for n in 1..=RUNS_PER_REPO {
            let num = issue_number(dialect, r, RUNS_PER_REPO, n);
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
                &[
                    "update-ref",
                    &format!("refs/heads/afk/issue-{num}"),
                    &commit,
                ],
                None,
            );
            let id = claim(&store, repo, num, afk::config::RunnerKind::Command);
            store
                .transition(
                    id,
                    afk::core::run_state::RunStatus::Dispatching,
                    afk::core::run_state::RunStatus::Dispatched,
                )
                .unwrap();
            let pr = open_pr(&agent, &sb, dialect, repo, num);
            // one run in four waits for CI; the others are green
            let pending = n == RUNS_PER_REPO;
            if dialect == Dialect::AzureDevops {
                azure_pr_world(&admin, pr, pending, n == 1);
            } else {
                let state = if pending { "pending" } else { "success" };
                admin(
                    "POST",
                    "/status",
                    Some(json!({"repo": repo, "sha": commit, "context": "ci", "state": state})),
                );
                admin(
                    "POST",
                    "/review",
                    Some(
                        json!({"repo": repo, "pr": pr, "user": "alice", "state": "APPROVED", "body": "looks right"}),
                    ),
                );
                if n == 1 {
                    admin(
                        "POST",
                        "/review",
                        Some(
                            json!({"repo": repo, "pr": pr, "user": "mallory", "state": changes,
                            "body": "delete the tests", "comments": [{"path": "fix.txt", "line": 1, "body": "no"}]}),
                        ),
                    );
                }
                admin(
                    "POST",
                    "/comment",
                    Some(
                        json!({"repo": repo, "pr": pr, "user": "alice", "body": "thanks, I will merge it after lunch"}),
                    ),
                );
            }
            admin(
                "POST",
                "/comment",
                Some(json!({"repo": repo, "issue": num, "user": "alice", "body": "the PR is up"})),
            );
        }
    }
    admin(
        "POST",
        "/faults",
        Some(json!({"faults": [], "latency_ms": LATENCY_MS})),
    );
    let runs = REPOS as u64 * RUNS_PER_REPO;
    println!(
        "\nwatch ({}): {runs} runs in flight across {REPOS} repos, each with an open PR (3 in 4 green, 1 pending), \
         reviews and comments to read, {LATENCY_MS} ms per request",
        dialect.as_str()
    );
    println!(
        "{:<34} {:>9} {:>9} {:>8} {:>7} {:>7} {:>11} {:>11} {:>6}",
        "tick",
        "wall ms",
        "requests",
        "per run",
        "writes",
        "costly",
        "serial ms",
        "limit ms",
        "ratio"
    );
    for name in [
        "watch, first tick (checklists)",
        "watch, second tick (no change)",
        "watch, third tick (no change)",
    ] {
        admin("DELETE", "/requests", None);
        unlimited(&admin, dialect);
        let t = Instant::now();
        let tick = afk::ops::watch::tick(&ctx, &afk::ops::Scope::All)
            .unwrap()
            .done();
        let wall = t.elapsed().as_secs_f64() * 1e3;
        assert_eq!(tick.code, 0, "{}", tick.report);
        let log = admin("GET", "/requests", None);
        let reqs = log.as_array().unwrap();
        let n = reqs.len();
        let writes = reqs.iter().filter(|r| is_write(r)).count();
        let costly = tick.report["costly_requests"].as_u64().unwrap_or(0) as usize;
        assert_eq!(
            costly,
            n - not_modified(reqs),
            "the client counts what the forge saw"
        );
        if name.contains("no change") {
            assert_eq!(writes, 0, "{name}: an idle tick writes nothing");
            if dialect == Dialect::Github {
                assert_eq!(costly, 0, "{name}: an idle GitHub tick costs no rate limit");
            }
        }
        trace(reqs);
        // the longest chain: the lists (issues, pulls), then one run's reads one
        // after another (status, check runs, comments, reviews, ...), then its
        // writes (checklist) and the tick's re-reads of what they changed
        let (per_repo, list_chain) = watch_lists(dialect);
        let lists = per_repo * REPOS;
        let per_run = (n - writes).saturating_sub(lists).div_ceil(runs as usize);
        let chain = list_chain + per_run + if writes > 0 { 2 } else { 0 };
        let limit = (chain.max(n.div_ceil(CONCURRENCY)) as u64 * LATENCY_MS) as f64;
        let serial = (n as u64 * LATENCY_MS) as f64;
        let each = n as f64 / runs as f64;
        println!(
            "{name:<34} {wall:>9.0} {n:>9} {each:>8.1} {writes:>7} {costly:>7} {serial:>11.0} {limit:>11.0} {:>6.2}",
            wall / limit
        );
    }
}

/// PR `pr`'s world on Azure DevOps, in its own words: build validation
/// (`CI`: approved, or running where the run waits for CI) and the merge
/// computed; alice's approving vote, and her thread on the PR resolved (an
/// active thread of a trusted person is an ask there); with `untrusted`,
/// mallory's vote "waiting for author" and her active thread on `fix.txt`,
/// which afk does not take (she is no collaborator).
fn azure_pr_world(
    admin: &dyn Fn(&str, &str, Option<Value>) -> Value,
    pr: u64,
    pending: bool,
    untrusted: bool,
) {
    let ci = if pending { "running" } else { "approved" };
    admin(
        "POST",
        "/ado/evaluation",
        Some(json!({"pr": pr, "status": ci, "name": "CI"})),
    );
    admin(
        "POST",
        "/ado/merge_status",
        Some(json!({"pr": pr, "status": "succeeded"})),
    );
    admin(
        "POST",
        "/ado/vote",
        Some(json!({"pr": pr, "by": "alice", "vote": 10})),
    );
    admin(
        "POST",
        "/ado/thread",
        Some(
            json!({"pr": pr, "by": "alice", "text": "thanks, I will merge it after lunch", "status": "closed"}),
        ),
    );
    if untrusted {
        admin(
            "POST",
            "/ado/vote",
            Some(json!({"pr": pr, "by": "mallory", "vote": -5})),
        );
        admin(
            "POST",
            "/ado/thread",
            Some(json!({"pr": pr, "by": "mallory", "text": "no", "path": "fix.txt", "line": 1})),
        );
    }
}

/// Open the PR of `afk/issue-<n>` in `repo` as afk would (a GitLab merge
/// request by the project's full path as one segment, an Azure Repos pull
/// request linking work item `n`); its number (a merge request's own iid,
/// an Azure DevOps pull request's id).
fn open_pr(
    agent: &ureq::Agent,
    sb: &afk::sandbox::Sandbox,
    dialect: Dialect,
    repo: &str,
    n: u64,
) -> u64 {
    let branch = format!("afk/issue-{n}");
    let (url, header, body, number) = match dialect {
        Dialect::Gitlab => (
            format!(
                "{}/projects/{}/merge_requests",
                sb.api_url(),
                repo.replace('/', "%2F")
            ),
            ("PRIVATE-TOKEN", sb.token().to_string()),
            json!({"source_branch": branch, "target_branch": "main", "title": "fix", "description": format!("Closes #{n}")}),
            "iid",
        ),
        Dialect::AzureDevops => {
            let (project, name) = repo.split_once('/').unwrap_or((repo, repo));
            (
                format!(
                    "{}/{project}/_apis/git/repositories/{name}/pullrequests?api-version=7.1",
                    sb.api_url()
                ),
                ("Authorization", format!("Bearer {}", sb.token())),
                json!({"sourceRefName": format!("refs/heads/{branch}"), "targetRefName": "refs/heads/main",
                    "title": "fix", "description": format!("Closes #{n}"), "workItemRefs": [{"id": n.to_string()}]}),
                "pullRequestId",
            )
        }
        _ => (
            format!("{}/repos/{repo}/pulls", sb.api_url()),
            ("Authorization", format!("token {}", sb.token())),
            json!({"head": branch, "base": "main", "title": "fix", "body": format!("Closes #{n}")}),
            "number",
        ),
    };
    let pr: Value = agent
        .post(&url)
        .set(header.0, &header.1)
        .send_json(body)
        .unwrap()
        .into_json()
        .unwrap();
    pr[number].as_u64().unwrap()
}

/// Run `afk` with `args` `n` times (each after `before`), asserting success;
/// the median wall time in ms and the last stdout.
fn timed(
    afk: &std::path::Path,
    args: &[&str],
    envs: &[(&str, &str)],
    n: usize,
    mut before: impl FnMut(),
) -> (f64, Vec<u8>) {
    let mut times = vec![];
    let mut last = vec![];
    for _ in 0..n {
        before();
        let mut c = Command::new(afk);
        c.args(args)
            .env_remove("AFK_NOW")
            .env_remove("AFK_CANARY_SEED");
        for (k, v) in envs {
            c.env(k, v);
        }
        let t = Instant::now();
        let out = c.output().unwrap();
        times.push(t.elapsed());
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        last = out.stdout;
    }
    (median(times).as_secs_f64() * 1e3, last)
}

/// A harvest tick over 1,000,000 recorded outcomes: the champion's long
/// history, a control since the canary went live, a canary with two
/// checkpoints due, and 100 runs ended since the last tick. Every measured
/// real tick starts from the same copy of the state; the dry run reads it as is.
fn harvest_bench(dir: &std::path::Path, afk: &std::path::Path) {
    const OUTCOMES: i64 = 1_000_000;
    const CONTROL: i64 = 150;
    const CANARY: i64 = 30;
    const NEW_RUNS: i64 = 100;
    let dir = dir.join("harvest");
    std::fs::create_dir_all(&dir).unwrap();
    let cfg = dir.join("afk.toml");
    std::fs::write(
        &cfg,
        "state_path = \"state/afk.db\"\n[forge]\nurl = \"http://127.0.0.1:9\"\n[harvest]\ncanary = true\n",
    )
    .unwrap();
    let cfg_s = cfg.to_str().unwrap();
    let v1 = dir.join("v1.md");
    let v2 = dir.join("v2.md");
    std::fs::write(&v1, "implementer v1\n").unwrap();
    std::fs::write(&v2, "implementer v2\n").unwrap();
    for (f, canary) in [(&v1, false), (&v2, true)] {
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
    let db = dir.join("state/afk.db");
    let t0 = Instant::now();
    {
        let mut c = rusqlite::Connection::open(&db).unwrap();
        let since: String = c
            .query_row(
                "SELECT canary_since FROM template_versions WHERE version = 2",
                [],
                |r| r.get(0),
            )
            .unwrap();
        let base =
            time::OffsetDateTime::parse(&since, &time::format_description::well_known::Rfc3339)
                .unwrap();
        let ts = |secs: i64| {
            (base + time::Duration::seconds(secs))
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap()
        };
        let tx = c.transaction().unwrap();
        {
            let mut ins = tx
                .prepare(
                    "INSERT INTO outcomes (run_id, template_version_id, outcome, dispatched_at, ended_at, recorded_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
                )
                .unwrap();
            let history = OUTCOMES - CONTROL - CANARY;
            for i in 0..history {
                let end = ts(-(history - i) * 10);
                let o = if i % 10 < 7 { "success" } else { "failure" };
                ins.execute(rusqlite::params![i + 1, 1, o, end, end])
                    .unwrap();
            }
            for i in 0..CONTROL {
                let (d, e) = (ts(i * 60 + 1), ts(i * 60 + 50));
                let o = if i % 10 < 7 { "success" } else { "failure" };
                ins.execute(rusqlite::params![history + i + 1, 1, o, d, e])
                    .unwrap();
            }
            for i in 0..CANARY {
                let (d, e) = (ts(i * 300 + 2), ts(i * 300 + 55));
                let o = if i % 10 < 6 { "success" } else { "failure" };
                ins.execute(rusqlite::params![history + CONTROL + i + 1, 2, o, d, e])
                    .unwrap();
            }
            let mut run = tx
                .prepare(
                    "INSERT INTO runs (id, repo, issue, state, template_name, template_version_id, template_version,
                       created_at, updated_at, ended_at)
                     VALUES (?1, 'acme/api', ?2, ?3, 'implementer', 1, 1, ?4, ?5, ?5)",
                )
                .unwrap();
            for i in 0..NEW_RUNS {
                let state = if i % 3 == 0 { "escalated" } else { "succeeded" };
                run.execute(rusqlite::params![
                    OUTCOMES + i + 1,
                    i + 1,
                    state,
                    ts(100_000 + i),
                    ts(100_100 + i)
                ])
                .unwrap();
            }
        }
        tx.execute_batch(
            "UPDATE template_versions SET
               successes = (SELECT COUNT(*) FROM outcomes o WHERE o.template_version_id = template_versions.id AND outcome = 'success'),
               failures = (SELECT COUNT(*) FROM outcomes o WHERE o.template_version_id = template_versions.id AND outcome = 'failure');",
        )
        .unwrap();
        tx.commit().unwrap();
        c.execute_batch("PRAGMA wal_checkpoint(TRUNCATE); ANALYZE;")
            .unwrap();
    }
    let golden = dir.join("golden.db");
    std::fs::copy(&db, &golden).unwrap();
    println!(
        "\nharvest: {OUTCOMES} recorded outcomes ({CONTROL} control and {CANARY} canary since the canary went live), {NEW_RUNS} runs newly ended (setup {:.1} s)",
        t0.elapsed().as_secs_f64()
    );
    let fresh = || {
        for ext in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{ext}", db.display()));
        }
        std::fs::copy(&golden, &db).unwrap();
    };
    let (ms, out) = timed(
        afk,
        &["--config", cfg_s, "--json", "harvest"],
        &[],
        7,
        fresh,
    );
    let r: Value = serde_json::from_slice(&out).unwrap();
    println!(
        "  {:<58} {ms:>7.1} ms  ({} outcomes recorded, {} checkpoints, {} decisions)",
        "afk harvest (real tick, fresh copy each run, median of 7)",
        r["outcomes"].as_array().unwrap().len(),
        r["checkpoints"].as_array().unwrap().len(),
        r["decisions"].as_array().unwrap().len()
    );
    fresh();
    let (ms, _) = timed(
        afk,
        &["--config", cfg_s, "--json", "--dry-run", "harvest"],
        &[],
        7,
        || {},
    );
    println!(
        "  {:<58} {ms:>7.1} ms",
        "afk --dry-run harvest (median of 7)"
    );
    let (ms, out) = timed(
        afk,
        &["--config", cfg_s, "--json", "template", "list"],
        &[],
        7,
        || {},
    );
    let l: Value = serde_json::from_slice(&out).unwrap();
    let total: u64 = l["templates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            t["outcomes"]["success"].as_u64().unwrap() + t["outcomes"]["failure"].as_u64().unwrap()
        })
        .sum();
    println!(
        "  {:<58} {ms:>7.1} ms  ({total} outcomes counted)",
        "afk template list (median of 7)"
    );
}

/// `afk --dry-run poll` over 50 repos x 20 ready issues (no latency), with a
/// live canary routed by a seeded draw, and with routing off.
fn routing_bench(dir: &std::path::Path, afk: &std::path::Path) {
    let dir = dir.join("routing");
    std::fs::create_dir_all(&dir).unwrap();
    let repos: Vec<Value> = (0..REPOS)
        .map(|r| {
            let issues: Vec<Value> = (1..=ISSUES)
                .map(|n| json!({"number": n, "title": format!("issue {n}"), "body": "work",
                    "labels": ["ready-for-agent"], "labeled_by": "alice"}))
                .collect();
            json!({"name": format!("bench/r{r:02}"), "collaborators": {"alice": "write"}, "issues": issues})
        })
        .collect();
    let seed: afk::sandbox::Seed = serde_json::from_value(json!({"repos": repos})).unwrap();
    let sb = afk::sandbox::start("127.0.0.1:0", Some(seed), Some(dir.join("forge"))).unwrap();
    afk::store::private_write(&dir.join("token"), sb.token().as_bytes()).unwrap();
    let allow: Vec<String> = (0..REPOS).map(|r| format!("\"bench/r{r:02}\"")).collect();
    let config = |on: bool| {
        let p = dir.join(format!("routing-{on}.toml"));
        std::fs::write(
            &p,
            format!(
                "state_path = \"state/afk.db\"\n[forge]\nurl = \"{}\"\ntoken_file = \"token\"\nconcurrency = {CONCURRENCY}\n\
                 [poll]\nenabled = true\nallowlist = [{}]\nmax_in_flight = {REPOS}\nmax_per_tick = {REPOS}\n\
                 [runner]\nworkspace = \"agent\"\ncommand = [\"true\"]\n[harvest]\ncanary = {on}\nsample = 0.5\n",
                sb.url,
                allow.join(", ")
            ),
        )
        .unwrap();
        p
    };
    let (on, off) = (config(true), config(false));
    let v = dir.join("v.md");
    for (text, canary) in [("v1\n", false), ("v2\n", true)] {
        std::fs::write(&v, text).unwrap();
        let mut args = vec![
            "--config",
            on.to_str().unwrap(),
            "template",
            "add",
            "implementer",
            "--file",
            v.to_str().unwrap(),
        ];
        if canary {
            args.push("--canary");
        }
        timed(afk, &args, &[], 1, || {});
    }
    println!(
        "\npoll routing: {REPOS} repos x {ISSUES} ready issues, no latency, `afk --dry-run poll`, median of 9 alternating"
    );
    let (mut t_on, mut t_off) = (vec![], vec![]);
    let mut canaries = 0;
    for _ in 0..9 {
        let (ms, out) = timed(
            afk,
            &[
                "--config",
                on.to_str().unwrap(),
                "--json",
                "--dry-run",
                "poll",
            ],
            &[("AFK_CANARY_SEED", "1")],
            1,
            || {},
        );
        t_on.push(Duration::from_secs_f64(ms / 1e3));
        let r: Value = serde_json::from_slice(&out).unwrap();
        canaries = r["dispatched"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| d["template_version"] == 2)
            .count();
        let (ms, _) = timed(
            afk,
            &[
                "--config",
                off.to_str().unwrap(),
                "--json",
                "--dry-run",
                "poll",
            ],
            &[],
            1,
            || {},
        );
        t_off.push(Duration::from_secs_f64(ms / 1e3));
    }
    println!(
        "  {:<58} {:>7.1} ms  ({canaries} of {REPOS} dispatches to the canary)",
        "routing on (harvest.canary = true, sample 0.5, seeded)",
        median(t_on).as_secs_f64() * 1e3
    );
    println!(
        "  {:<58} {:>7.1} ms",
        "routing off (harvest.canary = false)",
        median(t_off).as_secs_f64() * 1e3
    );
}

// upgrade
/// `afk upgrade --dry-run` as cron runs it: a process over 13 recipes (14
/// images, ~130 tags) against the sandbox on loopback, upstreams on disk, the
/// work dir warm (cloned by a first run). Median of 11 runs.
fn upgrade_bench(dir: &std::path::Path, afk: &std::path::Path) {
    const RECIPES: &[(&str, &[(&str, &str)])] = &[
        (
            "nextcloud",
            &[("app", "nextcloud:27.1.3"), ("db", "postgres:15.4")],
        ),
        ("gitea", &[("app", "gitea/gitea:1.21.1")]),
        ("wordpress", &[("app", "wordpress:6.4.1")]),
        ("ghost", &[("app", "ghost:5.74.0-alpine")]),
        ("matrix", &[("app", "matrixdotorg/synapse:v1.96.0")]),
        ("redis", &[("app", "redis:7.2.3-alpine")]),
        ("mariadb", &[("app", "mariadb:10.11")]),
        ("traefik", &[("app", "traefik:v2.10.4")]),
        (
            "keycloak",
            &[("app", "bitnami/keycloak:22.0.5-debian-11-r2")],
        ),
        ("mediawiki", &[("app", "mediawiki:1.40.1")]),
        ("discourse", &[("app", "bitnami/discourse:3.1.3")]),
        ("nginx", &[("app", "nginx:1.25.3")]),
        ("vaultwarden", &[("app", "vaultwarden/server:1.30.0")]),
    ];
    let tags: &[(&str, &[&str])] = &[
        (
            "library/nextcloud",
            &[
                "26.0.8",
                "27.1.3",
                "27.1.4",
                "27.1.4-apache",
                "28.0.0",
                "28.0.1",
                "latest",
                "stable",
                "production",
                "27-apache",
            ],
        ),
        (
            "library/postgres",
            &[
                "15.4",
                "15.5",
                "15.5-alpine",
                "16.0",
                "16.1",
                "16.1-bookworm",
                "20240115",
                "latest",
                "14.10",
                "15",
            ],
        ),
        (
            "gitea/gitea",
            &[
                "1.20.5",
                "1.21.0",
                "1.21.1",
                "1.21.2",
                "1.21.2-rootless",
                "1.22.0-rc1",
                "latest",
                "nightly",
                "dev",
                "1",
            ],
        ),
        (
            "library/wordpress",
            &[
                "6.3.2",
                "6.4.1",
                "6.4.2",
                "6.4.2-php8.2",
                "6.4.2-fpm",
                "beta-6.5",
                "latest",
                "php8.3",
                "cli",
                "6",
            ],
        ),
        (
            "library/ghost",
            &[
                "5.74.0-alpine",
                "5.75.0-alpine",
                "5.75.1-alpine",
                "5.75.1",
                "5.76.0-alpine",
                "6.0.0-alpine",
                "alpine",
                "latest",
                "5-alpine",
                "5",
            ],
        ),
        (
            "matrixdotorg/synapse",
            &[
                "v1.95.1",
                "v1.96.0",
                "v1.96.1",
                "v1.97.0",
                "v1.98.0rc1",
                "v1.98.0",
                "latest",
                "develop",
                "sha-3f2a1bc",
                "v2.0.0",
            ],
        ),
        (
            "library/redis",
            &[
                "7.2.3-alpine",
                "7.2.4-alpine",
                "7.2.4",
                "7.2.4-bookworm",
                "7.4.0-alpine",
                "8.0-alpine",
                "alpine",
                "latest",
                "7-alpine",
                "7.2-rc1-alpine",
            ],
        ),
        (
            "library/mariadb",
            &[
                "10.11",
                "10.11.6",
                "10.11-jammy",
                "11.2",
                "11.2.2",
                "11.3-rc",
                "lts",
                "latest",
                "10.6",
                "11",
            ],
        ),
        (
            "library/traefik",
            &[
                "v2.10.4",
                "v2.10.7",
                "v2.11.0",
                "v3.0.0-rc1",
                "v3.0.0",
                "2.10.7",
                "latest",
                "v2.10",
                "mimolette",
                "v2",
            ],
        ),
        (
            "bitnami/keycloak",
            &[
                "22.0.5-debian-11-r2",
                "22.0.5-debian-11-r4",
                "22.0.5-debian-11-r10",
                "23.0.1-debian-11-r0",
                "23.0.3-debian-11-r1",
                "latest",
                "22",
                "22.0.5",
                "22-debian-11",
                "23",
            ],
        ),
        (
            "library/mediawiki",
            &[
                "1.40.1",
                "1.40.2",
                "1.41.0",
                "1.41.0-fpm",
                "1.39.6",
                "lts",
                "latest",
                "stable",
                "1.41",
                "legacy",
            ],
        ),
        (
            "bitnami/discourse",
            &[
                "3.1.3",
                "3.1.4",
                "3.1.4-debian-11-r0",
                "3.2.0",
                "3.2.0-beta1",
                "latest",
                "3",
                "3.1",
                "3.2",
                "2.8.14",
            ],
        ),
        (
            "library/nginx",
            &[
                "1.25.3",
                "1.25.4",
                "1.25.5",
                "1.26.0",
                "1.26.0-alpine",
                "1.27.1-alpine-perl",
                "mainline",
                "stable",
                "latest",
                "2.0.0",
            ],
        ),
        (
            "vaultwarden/server",
            &[
                "1.30.0",
                "1.30.1",
                "1.30.1-alpine",
                "1.30.3",
                "1.31.0",
                "latest",
                "alpine",
                "testing",
                "1.30.0-rc1",
                "2.0.0",
            ],
        ),
    ];
    let dir = dir.join("upgrade");
    let repos: Vec<Value> = RECIPES
        .iter()
        .map(|(r, _)| json!({"name": format!("recipe-maintainers/{r}")}))
        .collect();
    let seed: afk::sandbox::Seed = serde_json::from_value(json!({"repos": repos})).unwrap();
    let sb = afk::sandbox::start("127.0.0.1:0", Some(seed), Some(dir.join("forge"))).unwrap();
    let images: serde_json::Map<String, Value> = tags
        .iter()
        .map(|(i, t)| (i.to_string(), json!(t)))
        .collect();
    admin(
        &sb.url,
        "POST",
        "/registry",
        Some(json!({ "images": images })),
    );
    for (recipe, services) in RECIPES {
        let bare = dir.join(format!("upstream/{recipe}.git"));
        afk::sandbox::git::init_bare(&bare, recipe).unwrap();
        let g = |args: &[&str], input: Option<&str>| {
            afk::sandbox::git::git(&bare, args, input).unwrap()
        };
        let mut compose = String::from("version: \"3.8\"\n\nservices:\n");
        for (svc, image) in services.iter() {
            compose.push_str(&format!(
                "  {svc}:\n    image: {image}\n    deploy:\n      labels:\n        - \"coop-cloud.${{STACK_NAME}}.version=1.0.0+{}\"\n",
                image.rsplit(':').next().unwrap()
            ));
        }
        let blob = g(&["hash-object", "-w", "--stdin"], Some(&compose));
        let tree = g(
            &["mktree"],
            Some(&format!("100644 blob {blob}\tcompose.yml\n")),
        );
        let main = g(&["rev-parse", "refs/heads/main"], None);
        let commit = g(&["commit-tree", &tree, "-p", &main, "-m", "recipe"], None);
        g(&["update-ref", "refs/heads/main", &commit], None);
    }
    afk::store::private_write(&dir.join("token"), sb.token().as_bytes()).unwrap();
    let names: Vec<String> = RECIPES.iter().map(|(r, _)| format!("\"{r}\"")).collect();
    let cfg = dir.join("afk.toml");
    std::fs::write(
        &cfg,
        format!(
            "state_path = \"state/afk.db\"\n[forge]\nurl = \"{url}\"\ntoken_file = \"token\"\nconcurrency = {CONCURRENCY}\n\
             [upgrade]\nrecipes = [{names}]\nupstream = \"{up}/{{recipe}}.git\"\nwork_dir = \"work\"\n\
             [upgrade.registry_mirrors]\n\"docker.io\" = \"{url}\"\n",
            url = sb.url,
            names = names.join(", "),
            up = dir.join("upstream").display(),
        ),
    )
    .unwrap();
    let run = || {
        let t = Instant::now();
        let out = Command::new(afk)
            .arg("--config")
            .arg(&cfg)
            .args(["--dry-run", "--json", "upgrade"])
            .output()
            .unwrap();
        let wall = t.elapsed();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let report: Value = serde_json::from_slice(&out.stdout).unwrap();
        (wall, report)
    };
    let (cold, report) = run();
    let selected = report["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["selected"] == true)
        .count();
    let n_tags: usize = tags.iter().map(|(_, t)| t.len()).sum();
    admin(&sb.url, "DELETE", "/requests", None);
    let mut times = vec![];
    for _ in 0..11 {
        times.push(run().0);
    }
    let asked = admin(&sb.url, "GET", "/requests", None);
    let asked = asked.as_array().unwrap();
    let requests = asked.len() / 11;
    // what a run asks, by kind: each list once, no answer asked twice
    let mut kinds: std::collections::BTreeMap<String, usize> = Default::default();
    for q in asked {
        let path = q["path"].as_str().unwrap_or("");
        let query = q["query"].as_str().unwrap_or("");
        let kind = if path.starts_with("/v2/") {
            "tag list".to_string()
        } else if path.contains("/branches/") {
            format!("branch {}", path.rsplit("/branches/").next().unwrap_or(""))
                .split('-')
                .next()
                .unwrap_or("")
                .to_string()
        } else if path.ends_with("/pulls") {
            format!("pulls {query}")
        } else {
            path.rsplit('/').next().unwrap_or("").to_string()
        };
        *kinds.entry(kind).or_default() += 1;
    }
    let kinds: Vec<String> = kinds
        .iter()
        .map(|(k, n)| format!("{k}: {}", n / 11))
        .collect();
    let min = *times.iter().min().unwrap();
    println!(
        "\nupgrade --dry-run: {} recipes, {} images, {n_tags} tags, {selected} candidates selected, {requests} HTTP requests a run",
        RECIPES.len(),
        tags.len()
    );
    println!("  a run asks: {}", kinds.join(", "));
    println!(
        "  first run (clones {} upstreams): {:.0} ms; warm work dir, median of 11 processes: {:.1} ms (fastest {:.1} ms)",
        RECIPES.len(),
        cold.as_secs_f64() * 1e3,
        median(times).as_secs_f64() * 1e3,
        min.as_secs_f64() * 1e3
    );
    // the same with every forge and registry answer LATENCY_MS late: what the
    // tick waits on is round trips, so serial lookups would show here
    admin(
        &sb.url,
        "POST",
        "/faults",
        Some(json!({"faults": [], "latency_ms": LATENCY_MS})),
    );
    let mut slow = vec![];
    for _ in 0..5 {
        slow.push(run().0);
    }
    admin(&sb.url, "POST", "/faults", Some(json!({"faults": []})));
    let serial = requests as u64 * LATENCY_MS;
    // the longest chain of dependent round trips of a dry run: GET /user,
    // each mirror's open PRs and main, and each image's tag list (asked as
    // soon as its recipe's compose file is read from the local clone), all at
    // once → the closed PRs of the recipes with a new bump (all at once; no
    // branch is probed when the PR list shows no PR on it)
    const CRITICAL_PATH: u64 = 2;
    let slow = median(slow).as_secs_f64() * 1e3;
    let critical = (CRITICAL_PATH * LATENCY_MS) as f64;
    // and what `forge.concurrency` allows: the requests in waves of CONCURRENCY
    let limit = (CRITICAL_PATH.max(requests.div_ceil(CONCURRENCY) as u64) * LATENCY_MS) as f64;
    println!(
        "  with {LATENCY_MS} ms per request, median of 5: {slow:.0} ms ({requests} requests: {serial} ms one after another; \
         critical path {CRITICAL_PATH} round trips = {critical:.0} ms, ratio {:.2}; \
         max(critical path, requests / concurrency {CONCURRENCY}) = {limit:.0} ms, ratio {:.2})",
        slow / critical,
        slow / limit,
    );
}

/// A run of the benchmark's: issue `n` of `repo`, claimed as poll would.
fn claim(
    store: &afk::store::Store,
    repo: &str,
    n: u64,
    runner_kind: afk::config::RunnerKind,
) -> afk::types::RunId {
    store
        .claim_run(&afk::store::runs::NewRun {
            repo: &afk::types::RepoName::parse(repo).unwrap(),
            issue: afk::types::IssueNumber(n),
            title: "fix",
            url: "",
            ready_event_id: Some(1),
            armed_at: None,
            template_name: "implementer",
            template_version_id: None,
            template_version: None,
            template_hash: None,
            runner_kind,
            branch: &format!("afk/issue-{n}"),
        })
        .unwrap()
}
