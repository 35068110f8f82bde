//! `bench hook`: label to agent start through `afk hook` on loopback
//! (docs/hook.md). The sandbox posts its signed webhooks to an accept loop
//! that runs `afk hook` once per connection, the connection as its standard
//! input and output (what a systemd socket unit with `Accept=yes` does);
//! the agent writes the time it started into its working folder. Each of
//! `EVENTS` issues (each in a repository of its own) is armed in turn, and the time from the label to its
//! agent's start is measured: p50 and p90, beside cron's interval.

use serde_json::json;
use std::net::TcpListener;
use std::os::fd::OwnedFd;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const EVENTS: u64 = 20;
const SECRET: &str = "bench-hook-secret-0123456789abcdef";

/// Run `afk hook` for every connection to `listener`, each with the
/// connection as its standard input and output, as a socket unit does.
pub fn accept_loop(listener: TcpListener, afk: &Path, config: &Path, secret_env: (&str, &str)) {
    let (afk, config) = (afk.to_path_buf(), config.to_path_buf());
    let (var, secret) = (secret_env.0.to_string(), secret_env.1.to_string());
    // every afk hook's log in one file beside the config
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(config.with_extension("log"))
        .unwrap();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(conn) = conn else { continue };
            let Ok(out) = conn.try_clone() else { continue };
            let child = Command::new(&afk)
                .arg("--config")
                .arg(&config)
                .arg("hook")
                .env(&var, &secret)
                .stdin(Stdio::from(OwnedFd::from(conn)))
                .stdout(Stdio::from(OwnedFd::from(out)))
                .stderr(log.try_clone().map_or_else(|_| Stdio::null(), Stdio::from))
                .spawn();
            // reaped on a thread of its own: the next connection is not kept waiting
            if let Ok(mut c) = child {
                std::thread::spawn(move || c.wait());
            }
        }
    });
}

fn now_ns() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos())
}

/// When issue `n`'s agent started (ns since the epoch), from the files the
/// agent writes under the state folder.
fn started(state: &Path, n: u64) -> Option<u128> {
    let mut stack = vec![state.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).ok()?.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.file_name().is_some_and(|f| f == "bench-started") {
                let text = std::fs::read_to_string(&p).unwrap_or_default();
                let mut w = text.split_whitespace();
                if w.next() == Some(&n.to_string()) {
                    return w.next().and_then(|t| t.parse().ok());
                }
            }
        }
    }
    None
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

pub fn hook_bench(dir: &Path, afk: &Path) {
    let dir = dir.join("hook");
    std::fs::create_dir_all(&dir).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let hook_url = format!("http://{}/afk-hook", listener.local_addr().unwrap());
    // a repository per event: a repository has one agent at a time
    let repos: Vec<_> = (1..=EVENTS)
        .map(|n| {
            json!({"name": format!("acme/hook{n}"), "collaborators": {"alice": "write"},
            "issues": [{"number": n, "title": format!("Task {n}"), "author": "alice"}]})
        })
        .collect();
    let allow: Vec<String> = (1..=EVENTS).map(|n| format!("\"acme/hook{n}\"")).collect();
    let seed: afk::sandbox::Seed = serde_json::from_value(json!({
        "hook_url": hook_url, "hook_secret": SECRET,
        "repos": repos}))
    .unwrap();
    let sb = afk::sandbox::start("127.0.0.1:0", Some(seed), Some(dir.join("forge"))).unwrap();
    let state = dir.join("state");
    let config = dir.join("afk.toml");
    std::fs::write(
        &config,
        format!(
            "state_path = \"{state}/afk.db\"\n\n[forge]\n{forge}\ntoken_env = \"AFK_FORGE_TOKEN\"\n\n\
             [runner]\nworkspace = \"agent\"\n\
             command = [\"sh\", \"-c\", 'echo \"$AFK_ISSUE $(date +%s%N)\" > bench-started']\n\n\
             [poll]\nenabled = true\nmax_in_flight = {EVENTS}\nallowlist = [{allow}]\n\n[watch]\nci_contexts = []\n\n\
             [hook]\nsecret_env = \"AFK_BENCH_HOOK_SECRET\"\n",
            state = state.display(),
            forge = sb.forge_keys(),
            allow = allow.join(", "),
        ),
    )
    .unwrap();
    // SAFETY: set before any thread this bench starts reads the environment
    unsafe { std::env::set_var("AFK_FORGE_TOKEN", sb.token()) };
    accept_loop(listener, afk, &config, ("AFK_BENCH_HOOK_SECRET", SECRET));
    let mut took = vec![];
    for n in 1..=EVENTS {
        let t0 = now_ns();
        super::admin(
            &sb.url,
            "POST",
            "/label",
            Some(
                json!({"repo": format!("acme/hook{n}"), "issue": n, "label": "ready-for-agent", "by": "alice"}),
            ),
        );
        let give_up = Instant::now() + Duration::from_secs(60);
        let at = loop {
            if let Some(at) = started(&state, n) {
                break at;
            }
            if Instant::now() > give_up {
                let sent = super::admin(&sb.url, "GET", "/webhooks", None);
                let log = std::fs::read_to_string(config.with_extension("log")).unwrap_or_default();
                panic!(
                    "issue {n}'s agent did not start within 60 s of its label\ndeliveries: {sent}\nafk hook's log:\n{log}"
                );
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        took.push(Duration::from_nanos(at.saturating_sub(t0) as u64));
    }
    took.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let sent = super::admin(&sb.url, "GET", "/webhooks", None);
    println!(
        "hook: label to agent start through `afk hook` on loopback, {EVENTS} events \
         ({} deliveries in all, afk's own labels and comments included): \
         p50 {:.0} ms, p90 {:.0} ms, max {:.0} ms; cron (contrib's timers, every 5 min): \
         up to 300 s, 150 s on average",
        sent.as_array().map_or(0, Vec::len),
        ms(pct(&took, 0.5)),
        ms(pct(&took, 0.9)),
        ms(*took.last().unwrap()),
    );
}

const LOOPS: u64 = 10;

/// When the sandbox received afk's request to open repository `repo`'s PR
/// (ms since the epoch), from its request log.
fn pr_opened_ms(url: &str, repo: &str) -> Option<u64> {
    let log = super::admin(url, "GET", "/requests", None);
    log.as_array()?.iter().find_map(|r| {
        let path = r["path"].as_str()?;
        let open = r["method"] == "POST"
            && path.contains(&format!("/{repo}/"))
            && (path.ends_with("/pulls") || path.ends_with("/merge_requests"))
            && r["status"].as_u64().is_some_and(|s| s < 300);
        open.then(|| r["at_ms"].as_u64()).flatten()
    })
}

/// When run `run`'s turn `turn` started (ns since the epoch), as its agent
/// wrote it into its progress file.
fn turn_started(state: &Path, run: u64, turn: u32) -> Option<u128> {
    let text = std::fs::read_to_string(state.join(format!("runs/{run}/progress.jsonl"))).ok()?;
    text.lines().find_map(|l| {
        let v: serde_json::Value = serde_json::from_str(l).ok()?;
        (v["phase"] == format!("t{turn}")).then(|| v["ns"].as_u64().map(u128::from))?
    })
}

/// When run `run`'s last turn ended (ns since the epoch): its exit record's
/// time, which the turn's keeper writes as the box ends.
fn turn_ended(state: &Path, run: u64) -> Option<u128> {
    let m = std::fs::metadata(state.join(format!("runs/{run}/exit_status"))).ok()?;
    m.modified()
        .ok()?
        .duration_since(UNIX_EPOCH)
        .ok()
        .map(|d| d.as_nanos())
}

/// Repository `repo`'s PR as the forge shows it: (number, head commit).
fn the_pr(url: &str, token: &str, repo: &str) -> Option<(u64, String)> {
    let prs: serde_json::Value = ureq::get(&format!("{url}/api/v1/repos/{repo}/pulls?state=all"))
        .set("Authorization", &format!("token {token}"))
        .call()
        .ok()?
        .into_json()
        .ok()?;
    let pr = prs.as_array()?.first()?;
    Some((
        pr["number"].as_u64()?,
        pr["head"]["sha"].as_str()?.to_string(),
    ))
}

/// Whether process `pid` is gone (or a zombie: ended, not yet reaped).
fn gone(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| s.get(s.rfind(')')? + 2..).map(|r| r.starts_with('Z')))
        .unwrap_or(true)
}

/// The pid of run `run`'s turn (its keeper's, which the stop signals with
/// the turn's group), from its start record.
fn turn_pid(state: &Path, run: u64) -> Option<u32> {
    std::fs::read_to_string(state.join(format!("runs/{run}/agent.pid")))
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// Whether repository `repo`'s event ticks are over: no watch or poll
/// tick running, its watch slot free and no trigger folded for it (its
/// edit graces and follow-ups done), so the next event is measured on an
/// idle loop, as a CI result minutes later meets it.
fn quiet(state: &Path, repo: &str) -> Option<()> {
    use afk::core::event_fold::{flag_name, slot_name};
    use afk::types::TickKind;
    let free = |name: &str| afk::lock::wait_free(state, name, Duration::ZERO).unwrap_or(false);
    let idle = !state.join(flag_name(TickKind::Watch, repo)).exists()
        && free(&slot_name(TickKind::Watch, repo))
        && free("watch")
        && free("poll");
    idle.then_some(())
}

fn wait_for<T>(what: &str, log: &Path, mut f: impl FnMut() -> Option<T>) -> T {
    let give_up = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(t) = f() {
            return t;
        }
        if Instant::now() > give_up {
            let log = std::fs::read_to_string(log).unwrap_or_default();
            panic!("{what} did not happen within 60 s\nafk hook's log:\n{log}");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// `bench hook`'s whole loop on events, no cron at all (docs/hook.md): afk's
/// workspace, the command runner, its box, a scripted agent of 1 s. Per
/// repository: label → PR open, a turn's end (its exit record) → PR open,
/// a red status → the corrective turn's start, a trusted change request
/// (once the corrective turn's work is on the PR) → the review turn's
/// start, the issue closed during that turn → its agent stopped; p50 and
/// p90 of each. The last three events come once the repository's ticks
/// are over ([`quiet`]), as a CI result or a person's review does.
pub fn loop_bench(dir: &Path, afk: &Path) {
    let dir = dir.join("hook-loop");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let hook_url = format!("http://{}/afk-hook", listener.local_addr().unwrap());
    let repos: Vec<_> = (1..=LOOPS)
        .map(|n| {
            json!({"name": format!("acme/loop{n}"), "collaborators": {"alice": "write"},
            "issues": [{"number": n, "title": format!("Task {n}"), "author": "alice"}]})
        })
        .collect();
    let allow: Vec<String> = (1..=LOOPS).map(|n| format!("\"acme/loop{n}\"")).collect();
    let seed: afk::sandbox::Seed = serde_json::from_value(json!({
        "hook_url": hook_url, "hook_secret": SECRET, "repos": repos}))
    .unwrap();
    let sb = afk::sandbox::start("127.0.0.1:0", Some(seed), Some(dir.join("forge"))).unwrap();
    let state = dir.join("state");
    let config = dir.join("afk.toml");
    let agent = dir.join("agent.sh");
    // each turn says when it started, works a second (the review turn,
    // which the close stops, longer), commits
    std::fs::write(
        &agent,
        "printf '{\"phase\":\"t%s\",\"ns\":%s}\\n' \"$AFK_TURN\" \"$(date +%s%N)\" >> \"$AFK_PROGRESS_FILE\"\n\
         if [ \"$AFK_TURN\" -ge 3 ]; then sleep 30; else sleep 1; fi\necho \"turn $AFK_TURN\" >> work.txt\ngit add -A\ngit commit -qm \"turn $AFK_TURN\"\n",
    )
    .unwrap();
    std::fs::write(
        &config,
        format!(
            "state_path = \"{state}/afk.db\"\n\n[forge]\n{forge}\ntoken_env = \"AFK_FORGE_TOKEN\"\n\n\
             [runner]\nworkspace = \"afk\"\nagent = \"custom\"\ncommand = [\"sh\", \"{agent}\"]\n\n\
             [poll]\nenabled = true\nmax_in_flight = {LOOPS}\nallowlist = [{allow}]\n\n\
             [watch]\nci_contexts = [\"ci/build\"]\n\n\
             [hook]\nsecret_env = \"AFK_BENCH_HOOK_SECRET\"\n",
            state = state.display(),
            forge = sb.forge_keys(),
            agent = agent.display(),
            allow = allow.join(", "),
        ),
    )
    .unwrap();
    // SAFETY: set before any thread this bench starts reads the environment
    unsafe { std::env::set_var("AFK_FORGE_TOKEN", sb.token()) };
    accept_loop(listener, afk, &config, ("AFK_BENCH_HOOK_SECRET", SECRET));
    let log = config.with_extension("log");
    let (mut to_pr, mut end_to_pr, mut red_to_turn) = (vec![], vec![], vec![]);
    let (mut asked_to_turn, mut closed_to_stop) = (vec![], vec![]);
    let token = sb.token();
    for n in 1..=LOOPS {
        let repo = format!("acme/loop{n}");
        let t0 = now_ns();
        super::admin(
            &sb.url,
            "POST",
            "/label",
            Some(json!({"repo": repo, "issue": n, "label": "ready-for-agent", "by": "alice"})),
        );
        let opened = wait_for(&format!("{repo}'s PR"), &log, || {
            pr_opened_ms(&sb.url, &repo)
        });
        let opened_ns = u128::from(opened) * 1_000_000;
        let ended = turn_ended(&state, n).expect("the turn's exit record");
        to_pr.push(Duration::from_nanos(opened_ns.saturating_sub(t0) as u64));
        end_to_pr.push(Duration::from_nanos(opened_ns.saturating_sub(ended) as u64));
        wait_for(&format!("{repo}'s ticks to end"), &log, || {
            quiet(&state, &repo)
        });
        let t1 = now_ns();
        super::admin(
            &sb.url,
            "POST",
            "/status",
            Some(
                json!({"repo": repo, "branch": format!("afk/issue-{n}"), "context": "ci/build", "state": "failure"}),
            ),
        );
        let started = wait_for(&format!("{repo}'s corrective turn"), &log, || {
            turn_started(&state, n, 2)
        });
        red_to_turn.push(Duration::from_nanos(started.saturating_sub(t1) as u64));
        // the corrective turn's work on the PR (the watch its end started
        // pushed it), then a trusted change request
        let (pr, first) = the_pr(&sb.url, &token, &repo).expect("the PR");
        wait_for(&format!("{repo}'s corrective push"), &log, || {
            the_pr(&sb.url, &token, &repo).filter(|(_, head)| *head != first)
        });
        wait_for(&format!("{repo}'s ticks to end"), &log, || {
            quiet(&state, &repo)
        });
        let t2 = now_ns();
        super::admin(
            &sb.url,
            "POST",
            "/review",
            Some(
                json!({"repo": repo, "pr": pr, "user": "alice", "state": "REQUEST_CHANGES", "body": "Name the file better."}),
            ),
        );
        let started = wait_for(&format!("{repo}'s review turn"), &log, || {
            turn_started(&state, n, 3)
        });
        asked_to_turn.push(Duration::from_nanos(started.saturating_sub(t2) as u64));
        // the issue closed while the review turn works: its agent stopped
        let pid = turn_pid(&state, n).expect("the review turn's start record");
        wait_for(&format!("{repo}'s ticks to end"), &log, || {
            quiet(&state, &repo)
        });
        let t3 = now_ns();
        super::admin(
            &sb.url,
            "POST",
            "/issue_state",
            Some(json!({"repo": repo, "issue": n, "state": "closed"})),
        );
        wait_for(&format!("{repo}'s agent stopped"), &log, || {
            gone(pid).then_some(())
        });
        closed_to_stop.push(Duration::from_nanos(now_ns().saturating_sub(t3) as u64));
    }
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let line = |name: &str, mut v: Vec<Duration>| {
        v.sort();
        format!(
            "{name} p50 {:.0} ms, p90 {:.0} ms",
            ms(pct(&v, 0.5)),
            ms(pct(&v, 0.9))
        )
    };
    println!(
        "hook loop: on events alone (no cron), afk's workspace, boxed agent of 1 s, {LOOPS} runs: {}; {}; {}; {}; {}; cron (contrib's timers, every 5 min): up to 300 s each",
        line("label → PR open", to_pr),
        line("turn end → PR open", end_to_pr),
        line("red CI → corrective turn start", red_to_turn),
        line("change request → review turn start", asked_to_turn),
        line("issue closed → agent stopped", closed_to_stop),
    );
}
