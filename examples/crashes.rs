//! Random kills of a busy poll tick: `cargo run --release --example crashes [N] [kubernetes [drops] | workspace]`.
//!
//! Each round starts a fresh sandbox (4 repos × 3 ready issues, 25 ms injected
//! per request), starts `afk poll`, kills it with SIGKILL after a random delay
//! within the tick's duration, then runs one more `afk poll` to completion and
//! checks the three things a dead tick must never leave:
//! - a double start (an issue whose agent started twice),
//! - an agent afk does not track (started, but no run in `dispatched` with the
//!   in-progress label on its issue),
//! - a label without an agent (the in-progress label on an issue no agent started for).
//!
//! The agent is a one-line script that appends "repo issue run" to a log.
//!
//! `crashes N kubernetes` runs the same rounds with `runner.kind =
//! "kubernetes"` against the sandbox's cluster: a start is a Job (counted in
//! the cluster, whatever its process did), and a Job whose run afk does not
//! track as `dispatched` with the label is an untracked agent.
//!
//! `crashes N workspace` kills the watch tick instead
//! (docs/how-it-works.md#the-workspace): every agent commits in afk's checkout,
//! poll runs to its end, then a watch tick that forwards the turns and opens
//! afk's PRs is killed at a random point and the next ones run to their end;
//! for each issue: one PR of afk's, and the branch holding the agent's commit
//! and afk's leftover commit once each (no second PR, no lost commit, no
//! half-made commit pushed).
//!
//! `crashes N kubernetes drops` also loses answers in the killed tick: up to
//! two Job creates and two ConfigMap creates land and their answers are
//! dropped, and up to two lookups of a Job by name get no answer at all
//! (drawn per round); the next tick runs with the network back.

use afk::sandbox::{self, Seed};

/// The forge token the harness seeds its sandbox with (a sandbox draws its own otherwise).
const TOKEN: &str = "crash-forge-token";
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const REPOS: usize = 4;
const ISSUES: u64 = 3;
const LATENCY_MS: u64 = 25;

fn release_afk() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let bin = exe.parent().unwrap().parent().unwrap().join("afk");
    let status = Command::new(env!("CARGO"))
        .args(["build", "--release", "--bin", "afk", "--quiet"])
        .status()
        .expect("cargo build");
    assert!(status.success());
    bin
}

/// A small deterministic generator (splitmix64): the same N gives the same kill points.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

struct World {
    _sb: sandbox::Sandbox,
    url: String,
    dir: PathBuf,
    config: PathBuf,
    kube: bool,
}

fn kube() -> bool {
    std::env::args().nth(2).as_deref() == Some("kubernetes")
}

fn workspace_mode() -> bool {
    std::env::args().nth(2).as_deref() == Some("workspace")
}

fn drops() -> bool {
    kube() && std::env::args().nth(3).as_deref() == Some("drops")
}

/// The faults of a killed tick in `drops` mode (none otherwise), then none.
fn faults(w: &World, rng: Option<&mut Rng>) {
    let faults = match rng {
        Some(rng) => json!([
            {"method": "POST", "path": "/jobs", "drop_after": true, "times": rng.next() % 3},
            {"method": "POST", "path": "/configmaps", "drop_after": true, "times": rng.next() % 3},
            {"method": "GET", "path": "/jobs/", "drop": true, "times": rng.next() % 3}
        ]),
        None => json!([]),
    };
    ureq::post(&format!("{}/_admin/faults", w.url))
        .send_json(json!({"faults": faults, "latency_ms": LATENCY_MS}))
        .unwrap();
}

fn world(root: &Path, round: usize) -> World {
    let dir = root.join(format!("r{round}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let repos: Vec<_> = (0..REPOS)
        .map(|r| {
            json!({"name": format!("acme/r{r}"), "collaborators": {"alice": "write"},
                   "issues": (1..=ISSUES).map(|n| json!({"number": n, "title": format!("t{n}"),
                       "labels": ["ready-for-agent"], "labeled_by": "alice"})).collect::<Vec<_>>()})
        })
        .collect();
    let seed: Seed = serde_json::from_value(json!({"repos": repos, "token": TOKEN})).unwrap();
    let sb = sandbox::start("127.0.0.1:0", Some(seed), Some(dir.join("git"))).unwrap();
    let url = sb.url.clone();
    ureq::post(&format!("{url}/_admin/faults"))
        .send_json(json!({"faults": [], "latency_ms": LATENCY_MS}))
        .unwrap();
    let allow: Vec<String> = (0..REPOS).map(|r| format!("\"acme/r{r}\"")).collect();
    // the agents' own log of their starts, in a folder shown to their boxes
    let log = starts_log(&dir);
    std::fs::create_dir_all(log.parent().unwrap()).unwrap();
    // afk as root boxes its agents as an unprivileged host user
    // (runner.box.user): the folder the boxes append to lets every user write
    {
        use std::os::unix::fs::PermissionsExt;
        let open = std::fs::Permissions::from_mode(0o1777);
        std::fs::set_permissions(log.parent().unwrap(), open).unwrap();
    }
    let config = dir.join("afk.toml");
    let kube = kube();
    afk::store::private_write(&dir.join("k8s-token"), sb.k8s_token().as_bytes()).unwrap();
    let cluster = if kube {
        format!(
            "kind = \"kubernetes\"\nworkspace = \"agent\"\n[runner.kubernetes]\napi_url = \"{url}/k8s\"\ntoken_file = \"{}\"\nnamespace = \"afk\"\nimage = \"crash/agent:1\"\n",
            dir.join("k8s-token").display()
        )
    } else {
        String::new()
    };
    std::fs::write(
        &config,
        format!(
            "state_path = \"state/afk.db\"\n[forge]\nurl = \"{url}\"\nconcurrency = 8\n\
             [runner]\ncommand = [\"sh\", \"-c\", \"echo \\\"$AFK_REPO $AFK_ISSUE $AFK_RUN_ID\\\" >> {}{commit}\"]\n{cluster}\
             [runner.box]\nread_write = [\"{}\"]\n\
             [poll]\nenabled = true\nmax_in_flight = 8\nmax_per_tick = 8\nallowlist = [{}]\n",
            log.display(),
            log.parent().unwrap().display(),
            allow.join(", "),
            commit = if workspace_mode() {
                // the agent commits once and leaves a change uncommitted
                "; echo work > work.txt; git add -A; git commit -qm agent; echo left > left.txt"
            } else {
                ""
            },
        ),
    )
    .unwrap();
    World {
        _sb: sb,
        url,
        dir,
        config,
        kube,
    }
}

fn tick(afk: &Path, w: &World, kind: &str) -> std::process::Child {
    Command::new(afk)
        .env("AFK_FORGE_TOKEN", TOKEN)
        .args(["--config"])
        .arg(&w.config)
        .arg(kind)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// What a killed watch may leave: for each issue, afk's PRs and the commits
/// of its branch since main, as subjects. None is good: one PR, "left over"
/// then "agent" once each.
fn check_forwarded(w: &World, round: usize) -> usize {
    let mut bad = 0;
    let db = rusqlite::Connection::open(w.dir.join("state/afk.db")).unwrap();
    let runs: Vec<(String, i64)> = db
        .prepare("SELECT repo, issue FROM runs")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .filter_map(Result::ok)
        .collect();
    for r in 0..REPOS {
        let repo = format!("acme/r{r}");
        let pulls: serde_json::Value =
            ureq::get(&format!("{}/api/v1/repos/{repo}/pulls?state=all", w.url))
                .set("Authorization", &format!("token {TOKEN}"))
                .call()
                .unwrap()
                .into_json()
                .unwrap();
        // one agent per repo: the issues it dispatched
        for n in (1..=ISSUES).filter(|n| runs.contains(&(repo.clone(), *n as i64))) {
            let branch = format!("afk/issue-{n}");
            let prs = pulls
                .as_array()
                .unwrap()
                .iter()
                .filter(|p| p["head"]["ref"] == branch.as_str())
                .count();
            let git = w.dir.join(format!("git/{repo}.git"));
            let out = Command::new("git")
                .args(["log", "--format=%s", &format!("main..{branch}")])
                .current_dir(&git)
                .output()
                .unwrap();
            let log = String::from_utf8_lossy(&out.stdout).trim().to_string();
            let want = "Uncommitted changes left by turn 1\nagent";
            if prs != 1 || log != want {
                bad += 1;
                println!("round {round}: {repo}#{n}: {prs} PRs, commits {log:?}");
            }
        }
    }
    bad
}

/// The workspace rounds: poll to the end, the agents' turns over, a watch
/// killed at a random point, then watches to the end.
fn workspace_rounds(afk: &Path, root: &Path, rounds: usize) {
    let ended = |w: &World| {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let runs = w.dir.join("state/runs");
            let all = std::fs::read_dir(&runs).map(|d| d.count()).unwrap_or(0);
            let done = std::fs::read_dir(&runs)
                .map(|d| {
                    d.filter(|e| {
                        e.as_ref()
                            .is_ok_and(|e| e.path().join("exit_status").exists())
                    })
                    .count()
                })
                .unwrap_or(0);
            if (all > 0 && done == all) || Instant::now() > deadline {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    let w = world(root, 0);
    assert!(tick(afk, &w, "poll").wait().unwrap().success());
    ended(&w);
    let t0 = Instant::now();
    assert!(tick(afk, &w, "watch").wait().unwrap().success());
    let window = t0.elapsed();
    drop(w);
    println!(
        "a watch tick forwarding {REPOS} turns (one agent in each of {REPOS} repos, {LATENCY_MS} ms per request) takes {} ms; killing at random points within it",
        window.as_millis()
    );
    let mut rng = Rng(7);
    let (mut bad, mut killed_mid) = (0, 0);
    for round in 1..=rounds {
        let w = world(root, round);
        assert!(tick(afk, &w, "poll").wait().unwrap().success());
        ended(&w);
        let at = Duration::from_micros(rng.next() % (window.as_micros() as u64 + 1));
        let mut child = tick(afk, &w, "watch");
        std::thread::sleep(at);
        // SAFETY: kill(2) on our own child process
        unsafe {
            libc::kill(child.id() as i32, libc::SIGKILL);
        }
        let status = child.wait().unwrap();
        if status.code().is_none() {
            killed_mid += 1;
        }
        for _ in 0..2 {
            let _ = tick(afk, &w, "watch").wait_with_output().unwrap();
        }
        bad += check_forwarded(&w, round);
        let _ = std::fs::remove_dir_all(&w.dir);
    }
    println!(
        "{rounds} watch ticks killed at random ({killed_mid} before they ended): issues with a second PR, a lost or doubled commit: {bad}"
    );
}

fn poll(afk: &Path, w: &World) -> std::process::Child {
    Command::new(afk)
        .env("AFK_FORGE_TOKEN", TOKEN)
        .args(["--config"])
        .arg(&w.config)
        .arg("poll")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

#[derive(Default)]
struct Tally {
    double_starts: usize,
    untracked: usize,
    label_without_agent: usize,
    rounds_with_a_start_before_the_kill: usize,
}

/// The cluster's Jobs as starts: (repo, issue) from each Job's environment,
/// and the runs they belong to.
fn jobs(w: &World) -> (Vec<(String, u64)>, Vec<String>) {
    let c: serde_json::Value = ureq::get(&format!("{}/_admin/k8s/state", w.url))
        .call()
        .unwrap()
        .into_json()
        .unwrap();
    let mut starts = vec![];
    let mut runs = vec![];
    for j in c["jobs"].as_array().unwrap() {
        let env = &j["spec"]["template"]["spec"]["containers"][0]["env"];
        let var = |k: &str| {
            env.as_array()
                .unwrap()
                .iter()
                .find(|e| e["name"] == k)
                .and_then(|e| e["value"].as_str())
                .unwrap_or("")
                .to_string()
        };
        starts.push((var("AFK_REPO"), var("AFK_ISSUE").parse().unwrap_or(0)));
        runs.push(var("AFK_RUN_ID"));
    }
    (starts, runs)
}

fn check(w: &World, t: &mut Tally, round: usize, second: &std::process::Output) {
    if w.kube {
        // one Job per (repo, issue) and that run tracked: a Job of a run
        // that is not the issue's one tracked run shows as a double start
        let (starts, _) = jobs(w);
        return check_starts(w, t, round, second, starts);
    }
    // agents write their line as they start; give the last ones a moment to land
    let starts = logged_starts(w);
    check_starts(w, t, round, second, starts)
}

/// Where the round's agents log their starts.
fn starts_log(dir: &std::path::Path) -> std::path::PathBuf {
    dir.join("agents").join("starts.log")
}

fn logged_starts(w: &World) -> Vec<(String, u64)> {
    let log = starts_log(&w.dir);
    let mut starts: Vec<(String, u64)> = vec![];
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        starts = text
            .lines()
            .filter_map(|l| {
                let mut it = l.split_whitespace();
                Some((it.next()?.to_string(), it.next()?.parse().ok()?))
            })
            .collect();
        let pids = walk_pids(&w.dir.join("state/runs"));
        if starts.len() >= pids || Instant::now() > deadline {
            break;
        }
        std::thread::yield_now();
    }
    starts
}

fn check_starts(
    w: &World,
    t: &mut Tally,
    round: usize,
    second: &std::process::Output,
    starts: Vec<(String, u64)>,
) {
    let state: serde_json::Value = ureq::get(&format!("{}/_admin/state", w.url))
        .call()
        .unwrap()
        .into_json()
        .unwrap();
    let db = rusqlite::Connection::open(w.dir.join("state/afk.db")).unwrap();
    for r in state["repos"].as_array().unwrap() {
        let repo = r["name"].as_str().unwrap();
        for i in r["issues"].as_array().unwrap() {
            let n = i["number"].as_u64().unwrap();
            let started = starts
                .iter()
                .filter(|(sr, sn)| sr == repo && *sn == n)
                .count();
            let labelled = i["labels"]
                .as_array()
                .unwrap()
                .iter()
                .any(|l| l["name"] == "agent-in-progress");
            let tracked: i64 = db
                .query_row(
                    "SELECT count(*) FROM runs WHERE repo = ?1 AND issue = ?2 AND state = 'dispatched'",
                    rusqlite::params![repo, n as i64],
                    |r| r.get(0),
                )
                .unwrap();
            let bad = if started > 1 {
                t.double_starts += 1;
                "double start"
            } else if started == 1 && (!labelled || tracked != 1) {
                t.untracked += 1;
                "untracked agent"
            } else if labelled && started == 0 {
                t.label_without_agent += 1;
                "label without an agent"
            } else {
                ""
            };
            if !bad.is_empty() {
                let runs: Vec<String> = db
                    .prepare("SELECT id, state, COALESCE(error, '') FROM runs WHERE repo = ?1 AND issue = ?2")
                    .unwrap()
                    .query_map(rusqlite::params![repo, n as i64], |r| {
                        Ok(format!("{}:{}:{}", r.get::<_, i64>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?))
                    })
                    .unwrap()
                    .filter_map(Result::ok)
                    .collect();
                println!(
                    "round {round}: {bad} on {repo}#{n}: starts {started}, labelled {labelled}, runs {runs:?}; second poll exit {:?}: {}",
                    second.status.code(),
                    String::from_utf8_lossy(&second.stderr).trim()
                );
            }
        }
    }
}

fn walk_pids(runs: &Path) -> usize {
    std::fs::read_dir(runs)
        .map(|d| {
            d.filter(|e| {
                e.as_ref()
                    .is_ok_and(|e| e.path().join("agent.pid").exists())
            })
            .count()
        })
        .unwrap_or(0)
}

fn main() {
    let rounds: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1000);
    let afk = release_afk();
    let root = std::env::temp_dir().join(format!("afk-crashes-{}", std::process::id()));
    std::fs::create_dir_all(&root).unwrap();
    if workspace_mode() {
        workspace_rounds(&afk, &root, rounds);
        let _ = std::fs::remove_dir_all(&root);
        return;
    }
    // how long an undisturbed tick takes, and when its first agent started:
    // every other kill falls anywhere in the tick, the others from that
    // first start on (where a start and its label could be torn apart)
    let w = world(&root, 0);
    let t0 = Instant::now();
    let mut undisturbed = poll(&afk, &w);
    let mut first_start = None;
    let status = loop {
        if first_start.is_none() && walk_pids(&w.dir.join("state/runs")) > 0 {
            first_start = Some(t0.elapsed());
        }
        if let Some(s) = undisturbed.try_wait().unwrap() {
            break s;
        }
        std::thread::sleep(Duration::from_millis(1));
    };
    assert!(status.success());
    let tick = t0.elapsed();
    let first_start = first_start.unwrap_or(tick).min(tick);
    drop(w);
    println!(
        "a busy tick ({REPOS} repos x {ISSUES} issues, {LATENCY_MS} ms per request) takes {} ms, its first agent starting at {} ms; killing at random points within it, every other kill within its start phase",
        tick.as_millis(),
        first_start.as_millis()
    );
    let mut rng = Rng(42);
    let mut t = Tally::default();
    for round in 1..=rounds {
        let w = world(&root, round);
        // every other round: within the start phase, counted from this
        // tick's own first start (its timing varies more than that phase lasts)
        let after_start = round % 2 == 0 && !w.kube;
        let span = if after_start {
            tick - first_start
        } else {
            tick
        };
        let at = Duration::from_micros(rng.next() % (span.as_micros() as u64 + 1));
        if drops() {
            faults(&w, Some(&mut rng));
        }
        let mut child = poll(&afk, &w);
        if after_start {
            let runs = w.dir.join("state/runs");
            while walk_pids(&runs) == 0 && child.try_wait().unwrap().is_none() {
                std::thread::sleep(Duration::from_millis(1));
            }
        }
        std::thread::sleep(at);
        // SAFETY: kill(2) on our own child process
        unsafe {
            libc::kill(child.id() as i32, libc::SIGKILL);
        }
        let _ = child.wait();
        if drops() {
            faults(&w, None);
        }
        // a start the killed tick made: its pid recorded in the run's folder
        // (a boxed agent may write its own line only after the kill)
        let started = walk_pids(&w.dir.join("state/runs")) > 0 || starts_log(&w.dir).exists();
        if started || (w.kube && !jobs(&w).0.is_empty()) {
            t.rounds_with_a_start_before_the_kill += 1;
        }
        let second = poll(&afk, &w).wait_with_output().unwrap();
        check(&w, &mut t, round, &second);
        let _ = std::fs::remove_dir_all(&w.dir);
        if round % 100 == 0 {
            println!(
                "{round} kills: double starts {}, untracked agents {}, labels without an agent {}",
                t.double_starts, t.untracked, t.label_without_agent
            );
        }
    }
    println!(
        "{rounds} random kills{} ({} after at least one agent had started): double starts {}, untracked agents {}, labels without an agent {}",
        if drops() { " with lost answers" } else { "" },
        t.rounds_with_a_start_before_the_kill,
        t.double_starts,
        t.untracked,
        t.label_without_agent
    );
    let _ = std::fs::remove_dir_all(&root);
}
