//! The demo's hook act (`afk hook`, docs/hook.md): the sandbox
//! posts its signed webhooks to a loopback listener in the demo's process,
//! which hands each connection to one `afk hook` (the connection as its
//! standard input and output, as a systemd socket unit with `Accept=yes`
//! does); then the whole loop on events, with no cron tick and no tick of
//! the demo's: a trusted person labels an issue ready and its agent starts;
//! the turn's end starts the watch that pushes and opens the PR; red CI
//! starts the corrective turn; green CI and a person's merge end the run.

use super::show::Show;
use super::world::seed_sandbox;
use crate::sandbox;
use anyhow::{Context, Result, bail};
use serde_json::json;
use std::net::TcpListener;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const SECRET_ENV: &str = "AFK_DEMO_HOOK_SECRET";
const REPO: &str = "acme/hooked";

/// What the act measured (ms): label → agent start, the turn's end → the
/// PR seen open, red CI → the corrective turn's start, the merge → the run
/// ended.
#[derive(Debug, Default, serde::Serialize)]
pub(super) struct Measured {
    pub agent_started_ms: u64,
    pub pr_open_ms: u64,
    pub corrective_turn_ms: u64,
    pub ended_ms: u64,
}

/// Play the act: what it measured; None where it cannot play yet.
pub(super) fn act(sb: &sandbox::Sandbox, dir: &Path, show: &mut Show) -> Result<Option<Measured>> {
    if super::world::azure(sb) {
        show.say(
            "== the hook act: skipped on Azure DevOps: the sandbox sends no service hook for a commit status, which the act waits on\n   (afk hook on Azure DevOps: docs/azure-devops.md)\n",
        );
        return Ok(None);
    }
    let afk = std::env::current_exe().context("demo: where is afk's own program")?;
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let url = format!("http://{}/afk-hook", listener.local_addr()?);
    let secret = format!("demo-hook-{}", std::process::id());
    let started = dir.join("hook-started");
    let config = world(sb, dir, &started)?;
    show.say(&format!(
        "== the hook act: the sandbox posts its signed webhooks to {url}, where each connection is handed to one\n   `afk hook` (the connection as its stdin and stdout, as a socket unit with Accept=yes does; {})",
        config.display()
    ));
    show.say(&format!(
        "   {REPO} #1 is not ready yet; no afk poll, watch or cron tick runs in this act: only the forge's events and\n   the ends of the agent's turns start ticks\n"
    ));
    let children = accept_loop(listener, &afk, &config, &secret);
    // from now on the forge posts its webhooks, signed with the act's secret
    seed_sandbox(
        sb,
        sandbox::Seed {
            hook_url: Some(url.clone()),
            hook_secret: Some(secret.clone()),
            ..Default::default()
        },
    )?;
    let played = the_loop(sb, dir, &started, &config, show);
    // the forge sends no more; the hooks started already end before the act does
    let off = seed_sandbox(
        sb,
        sandbox::Seed {
            hook_url: Some(String::new()),
            ..Default::default()
        },
    );
    reap(&children);
    let measured = played?;
    off?;
    Ok(Some(measured))
}

/// The loop, each step started by the forge's events or a turn's end alone.
fn the_loop(
    sb: &sandbox::Sandbox,
    dir: &Path,
    started: &Path,
    config: &Path,
    show: &mut Show,
) -> Result<Measured> {
    let ms = |from: u128, to: u128| (to.saturating_sub(from) / 1_000_000) as u64;
    let secs = |ms: u64| ms as f64 / 1e3;
    let mut m = Measured::default();
    let t0 = now_ns();
    let label = json!({"repo": REPO, "issue": 1, "label": "ready-for-agent", "by": "alice"});
    super::world::admin(sb, "/label", label)?;
    m.agent_started_ms = ms(t0, wait_started(started, config, 1)?);
    show.say(&format!(
        "   alice labels {REPO} #1 ready-for-agent; the forge's issue-label webhook reaches afk hook, which verifies its\n   signature, answers 202 and runs a poll of {REPO} alone: the agent started {:.2} s after the label\n   (measured; cron's poll, the safety net, runs every 5 minutes)",
        secs(m.agent_started_ms)
    ));
    let state = dir.join("hook.db");
    let (pr, head) = wait_run(&state, config, "its PR", |r| {
        Some((r.pr_number?, r.head_sha.clone()?))
    })?;
    m.pr_open_ms = ms(ended_at(&dir.join("hook-runs/1"))?, now_ns());
    let sigil = if sb.dialect == sandbox::Dialect::Gitlab {
        "!"
    } else {
        "#"
    };
    show.say(&format!(
        "   the agent commits and ends its turn; its keeper starts a watch of the run, which pushes afk/issue-1 and\n   opens PR {sigil}{pr}: {:.2} s after the turn's end",
        secs(m.pr_open_ms)
    ));
    // CI answers once the PR's own events are handled, as a real one does
    wait_quiet(dir, config)?;
    let t1 = now_ns();
    let red =
        json!({"repo": REPO, "branch": "afk/issue-1", "context": "ci/build", "state": "failure"});
    super::world::admin(sb, "/status", red)?;
    m.corrective_turn_ms = ms(t1, wait_started(started, config, 2)?);
    show.say(&format!(
        "   CI fails on the PR; its status webhook starts a watch, which starts the corrective turn {:.2} s later",
        secs(m.corrective_turn_ms)
    ));
    let fixed = wait_run(&state, config, "the corrective turn's push", |r| {
        r.head_sha.clone().filter(|h| *h != head)
    })?;
    let green = json!({"repo": REPO, "sha": fixed, "context": "ci/build", "state": "success"});
    super::world::admin(sb, "/status", green)?;
    let t2 = now_ns();
    super::world::admin(sb, "/merge", json!({"repo": REPO, "pr": pr.0}))?;
    let end = wait_run(&state, config, "the run's end", |r| {
        r.ended_at.as_ref().map(|_| r.state)
    })?;
    m.ended_ms = ms(t2, now_ns());
    show.say(&format!(
        "   the turn's end pushes the fix; CI goes green and a person merges the PR: its webhook ends the run ({})\n   {:.2} s after the merge, with no cron tick in the whole loop\n",
        end.as_str(),
        secs(m.ended_ms)
    ));
    Ok(m)
}

/// `acme/hooked` with one issue not yet ready; the act's config, whose
/// agent appends the time each turn started to `started`, then commits.
fn world(sb: &sandbox::Sandbox, dir: &Path, started: &Path) -> Result<PathBuf> {
    let mut seed = crate::example::armed_repo(REPO, &[(1, "Say hello in the README")]);
    for r in &mut seed.repos {
        for i in &mut r.issues {
            i.labels.clear();
        }
    }
    seed_sandbox(sb, seed)?;
    let config = dir.join("hook.toml");
    let text = format!(
        "state_path = \"hook.db\"\nruns_dir = \"hook-runs\"\n\
         [forge]\n{forge}\ntoken_file = \"token\"\ntimeout = \"5s\"\n\
         [poll]\nenabled = true\nallowlist = [\"{REPO}\"]\n\
         [runner]\nworkspace = \"afk\"\nconfine = \"none\"\n\
         command = [\"sh\", \"-c\", 'date +%s%N >> \"{started}\"; echo \"Hello (turn $AFK_TURN)\" >> README.md; git add -A; git commit -qm \"Say hello (turn $AFK_TURN)\"']\n\
         [watch]\nci_contexts = [\"ci/build\"]\n\
         [hook]\nsecret_env = \"{SECRET_ENV}\"\n",
        forge = super::world::forge_lines(sb, &[REPO]),
        started = started.display(),
    );
    std::fs::write(&config, text)?;
    Ok(config)
}

/// Run `afk hook` for every connection to `listener`, as a socket unit does;
/// the processes it started.
fn accept_loop(
    listener: TcpListener,
    afk: &Path,
    config: &Path,
    secret: &str,
) -> Arc<Mutex<Vec<Child>>> {
    let (afk, config, secret) = (afk.to_path_buf(), config.to_path_buf(), secret.to_string());
    let children = Arc::new(Mutex::new(vec![]));
    let kept = children.clone();
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(config.with_extension("log"));
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(conn) = conn else { continue };
            let Ok(out) = conn.try_clone() else { continue };
            let err = log
                .as_ref()
                .ok()
                .and_then(|l| l.try_clone().ok())
                .map_or_else(Stdio::null, Stdio::from);
            let child = Command::new(&afk)
                .arg("--config")
                .arg(&config)
                .arg("-q")
                .arg("hook")
                .env(SECRET_ENV, &secret)
                // the demo's other acts run their watch ticks themselves;
                // here a turn's end starts its own
                .env("AFK_TURN_END_WATCH", "on")
                .stdin(Stdio::from(OwnedFd::from(conn)))
                .stdout(Stdio::from(OwnedFd::from(out)))
                .stderr(err)
                .spawn();
            if let Ok(c) = child {
                kept.lock().unwrap().push(c);
            }
        }
    });
    children
}

/// Wait (bounded) for every `afk hook` started so far to end.
fn reap(children: &Mutex<Vec<Child>>) {
    // deliveries already queued may still arrive
    std::thread::sleep(Duration::from_millis(300));
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut all = std::mem::take(&mut *children.lock().unwrap());
    while !all.is_empty() && Instant::now() < deadline {
        all.retain_mut(|c| matches!(c.try_wait(), Ok(None)));
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn now_ns() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos())
}

/// When the agent's `turn`-th turn started (ns since the epoch), waited
/// for (bounded).
fn wait_started(started: &Path, config: &Path, turn: usize) -> Result<u128> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let text = std::fs::read_to_string(started).unwrap_or_default();
        if let Some(Ok(at)) = text.lines().nth(turn - 1).map(|l| l.trim().parse()) {
            return Ok(at);
        }
        if Instant::now() > deadline {
            bail!(
                "{}",
                not_in_time(&format!("turn {turn} of the agent"), config)
            );
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// What `seen` finds in run 1's row of the act's state file, waited for
/// (bounded).
fn wait_run<T>(
    state: &Path,
    config: &Path,
    what: &str,
    seen: impl Fn(&crate::store::runs::Run) -> Option<T>,
) -> Result<T> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let store = crate::store::Store::read_existing(state).ok().flatten();
        let run = store.and_then(|s| s.run(crate::types::RunId(1)).ok().flatten());
        if let Some(found) = run.as_ref().and_then(&seen) {
            return Ok(found);
        }
        if Instant::now() > deadline {
            bail!("{}", not_in_time(what, config));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Wait (bounded) until the act's repository has no event tick running or
/// waiting: its watch slot and lock free, no trigger folded.
fn wait_quiet(dir: &Path, config: &Path) -> Result<()> {
    use crate::core::event_fold::{flag_name, slot_name};
    use crate::types::TickKind;
    let free = |name: &str| crate::lock::wait_free(dir, name, Duration::ZERO).unwrap_or(false);
    let deadline = Instant::now() + Duration::from_secs(30);
    while dir.join(flag_name(TickKind::Watch, REPO)).exists()
        || !free(&slot_name(TickKind::Watch, REPO))
        || !free("watch")
    {
        if Instant::now() > deadline {
            bail!("{}", not_in_time("the PR's events to be handled", config));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    Ok(())
}

/// When the turn's exit record was written (ns since the epoch).
fn ended_at(run_dir: &Path) -> Result<u128> {
    let m = std::fs::metadata(run_dir.join(crate::runner::records::EXIT_RECORD))
        .context("demo: the hook act's turn left no exit record")?;
    Ok(m.modified()?
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos()))
}

/// The act's error when a step did not come within 30 s: with afk hook's log.
fn not_in_time(what: &str, config: &Path) -> String {
    let log = std::fs::read_to_string(config.with_extension("log")).unwrap_or_default();
    format!("demo: the hook act waited 30 s for {what}; afk hook's log:\n{log}")
}
