//! The demo's hook act (`afk hook`, docs/hook.md): the sandbox
//! posts its signed webhooks to a loopback listener in the demo's process,
//! which hands each connection to one `afk hook` (the connection as its
//! standard input and output, as a systemd socket unit with `Accept=yes`
//! does); a trusted person labels an issue ready, and its agent starts
//! within a second or so of the label, with no cron tick in between.

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

/// Play the act; how long after the label the agent started (ms).
pub(super) fn act(sb: &sandbox::Sandbox, dir: &Path, show: &mut Show) -> Result<u64> {
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
        "   {REPO} #1 is not ready yet; no afk poll or cron tick runs in this act: only the forge's events start ticks\n"
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
    let t0 = now_ns();
    let label = json!({"repo": REPO, "issue": 1, "label": "ready-for-agent", "by": "alice"});
    let armed = super::review::admin(sb, "/label", label);
    let waited = armed.and_then(|_| wait_started(&started, &config));
    // the forge sends no more; the hooks started already end before the act does
    let off = seed_sandbox(
        sb,
        sandbox::Seed {
            hook_url: Some(String::new()),
            ..Default::default()
        },
    );
    reap(&children);
    let at = waited?;
    off?;
    let ms = (at.saturating_sub(t0) / 1_000_000) as u64;
    show.say(&format!(
        "   alice labels {REPO} #1 ready-for-agent; the forge's issue-label webhook reaches afk hook, which verifies its\n   signature, answers 202 and runs a poll of {REPO} alone: the agent started {:.2} s after the label\n   (measured; cron's poll, the safety net, runs every 5 minutes)\n",
        ms as f64 / 1e3
    ));
    Ok(ms)
}

/// `acme/hooked` with one issue not yet ready; the act's config, whose
/// agent writes the time it started to `started`.
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
         command = [\"sh\", \"-c\", 'date +%s%N > \"{started}\"']\n\
         [watch]\nci_contexts = []\n\
         [hook]\nsecret_env = \"{SECRET_ENV}\"\n",
        forge = sb.forge_keys(),
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

/// When the agent started (ns since the epoch), waited for (bounded).
fn wait_started(started: &Path, config: &Path) -> Result<u128> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let text = std::fs::read_to_string(started).unwrap_or_default();
        if let Ok(at) = text.trim().parse() {
            return Ok(at);
        }
        if Instant::now() > deadline {
            let log = std::fs::read_to_string(config.with_extension("log")).unwrap_or_default();
            bail!(
                "demo: the hook act's agent did not start within 30 s of its label; afk hook's log:\n{log}"
            );
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}
