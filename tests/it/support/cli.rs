//! afk run by the tests: a setup ([`Afk`]: a scratch directory, a config
//! pointing at a sandbox, the state inside) and its commands, what their
//! reports say, the demos, and a run's peak memory ([`run_sampled`]).

use super::{Plays, Sandbox, Scratch, TOKEN, afk_bin, assert_success};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// `afk <args>` (a demo) without a forge token, given `secs` at most; its
/// output, once it exited 0.
pub fn demo(args: &[&str], secs: u64) -> std::process::Output {
    let out = assert_cmd::Command::new(afk_bin())
        .args(args)
        .env_remove("AFK_FORGE_TOKEN")
        .timeout(std::time::Duration::from_secs(secs))
        .output()
        .unwrap();
    assert_success(&out);
    out
}

pub fn demo_agent() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/demo-agent.sh")
}

/// afk's knob for the watch a turn's end starts (`off`: none).
pub const TURN_END_WATCH: &str = "AFK_TURN_END_WATCH";

/// An afk setup: scratch dir, config pointing at the sandbox, state inside.
pub struct Afk {
    pub scratch: Scratch,
    pub config: PathBuf,
    /// the sandbox URL whose `/_hooks/slack` and `/_hooks/webhook` receive notifications
    pub hooks: Option<String>,
    /// `AFK_NOW` for every later command: the clock, pinned (see `later`)
    pub now: std::cell::RefCell<Option<String>>,
    /// more environment for every later command (the real agents' model, PATH, HOME)
    pub env: Vec<(String, String)>,
    /// scratch folders the commands read from (an agent script, a program
    /// on PATH): removed with this afk, so a test leaves nothing behind
    pub held: Vec<Scratch>,
}

impl Afk {
    /// Pin afk's clock at `t` for every later command, the way a tick that
    /// runs then sees it.
    pub fn at(&self, t: time::OffsetDateTime) {
        let text = t
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap();
        *self.now.borrow_mut() = Some(text);
    }

    /// Pin afk's clock `hours` from the real now (see [`Afk::at`]).
    pub fn later(&self, hours: i64) {
        self.at(time::OffsetDateTime::now_utc() + time::Duration::hours(hours));
    }

    /// `extra` is appended to a config with [forge] filled in (with the
    /// tables the sandbox's dialect needs for the allowlist: Azure DevOps's
    /// area paths); it may add keys to [poll] because [poll] is written
    /// last when `poll` is given.
    pub fn new(sb: &Sandbox, poll: &str, extra: &str) -> Afk {
        let text = format!(
            "state_path = \"state/afk.db\"\n\n[forge]\n{}\ntimeout = \"5s\"\nretries = 2\n\n\
             [runner]\nworkspace = \"agent\"\ncommand = [\"sh\", \"{}\"]\n\n{extra}\n\n[poll]\n{poll}\n",
            sb.forge_keys(),
            demo_agent().display()
        );
        Afk::with_text(&with_forge_tables(sb, text))
    }

    /// [`Afk::with_text`] for a config of `sb`'s forge: the tables its
    /// dialect needs for the allowlist added (Azure DevOps' area paths).
    pub fn on(sb: &Sandbox, text: &str) -> Afk {
        Afk::with_text(&with_forge_tables(sb, text.to_string()))
    }

    pub fn with_text(text: &str) -> Afk {
        let scratch = Scratch::new();
        let config = scratch.write("afk.toml", text);
        Afk {
            scratch,
            config,
            hooks: None,
            now: Default::default(),
            env: vec![],
            held: vec![],
        }
    }

    pub fn cmd(&self) -> assert_cmd::Command {
        let mut c = assert_cmd::Command::from_std(self.std_cmd());
        c.timeout(std::time::Duration::from_secs(60));
        c
    }

    /// The same command as `cmd`, as a plain `std::process::Command` (for a
    /// test that chooses where stdout goes, or runs ticks side by side).
    pub fn std_cmd(&self) -> std::process::Command {
        let mut c = std::process::Command::new(afk_bin());
        // a config without state_path uses $XDG_STATE_HOME: the scratch's, never the machine's
        c.env("AFK_FORGE_TOKEN", TOKEN)
            // the tests run their watch ticks themselves; a test of the
            // turn's end sets it back ([`Afk::env`])
            .env(TURN_END_WATCH, "off")
            .env("XDG_STATE_HOME", self.scratch.path("xdg-state"))
            .env_remove("AFK_CONFIG")
            .arg("--config")
            .arg(&self.config);
        if let Some(h) = &self.hooks {
            c.env("AFK_TEST_SLACK", format!("{h}/_hooks/slack"))
                .env("AFK_TEST_WEBHOOK", format!("{h}/_hooks/webhook"));
        }
        match self.now.borrow().as_deref() {
            Some(t) => c.env("AFK_NOW", t),
            None => c.env_remove("AFK_NOW"),
        };
        for (k, v) in &self.env {
            c.env(k, v);
        }
        c
    }

    pub fn state(&self) -> PathBuf {
        self.scratch.path("state/afk.db")
    }

    /// Run `afk --json <args>` and return (exit code, report, stderr).
    pub fn json(&self, args: &[&str]) -> (i32, Value, String) {
        let out = self.cmd().arg("--json").args(args).output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).to_string();
        let report = serde_json::from_str(&stdout).unwrap_or(Value::Null);
        (
            out.status.code().unwrap_or(-1),
            report,
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    }

    /// Run `id`'s row as `afk --json runs` lists it.
    pub fn run_row(&self, id: i64) -> Value {
        let (code, r, err) = self.json(&["runs"]);
        assert_eq!(code, 0, "{err}");
        r["runs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["run_id"] == id)
            .cloned()
            .unwrap_or_else(|| panic!("no run {id} in {r}"))
    }

    pub fn poll(&self) -> (i32, Value, String) {
        self.json(&["poll"])
    }

    pub fn sql(&self, q: &str) {
        let c = rusqlite::Connection::open(self.state()).unwrap();
        c.execute_batch(q).unwrap();
    }

    pub fn sql_rows(&self, q: &str) -> Vec<Vec<String>> {
        let c = rusqlite::Connection::open(self.state()).unwrap();
        let mut st = c.prepare(q).unwrap();
        let n = st.column_count();
        st.query_map([], |r| {
            Ok((0..n)
                .map(|i| {
                    r.get::<_, rusqlite::types::Value>(i)
                        .map(|v| match v {
                            rusqlite::types::Value::Null => "NULL".to_string(),
                            rusqlite::types::Value::Integer(i) => i.to_string(),
                            rusqlite::types::Value::Text(t) => t,
                            other => format!("{other:?}"),
                        })
                        .unwrap()
                })
                .collect())
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
    }
}

/// The entries of the `allowlist = [...]` line of a `[poll]` text (none
/// when it has none): each a quoted name.
pub fn allowlist_in(poll: &str) -> Vec<String> {
    let Some(list) = poll
        .lines()
        .find_map(|l| l.trim().strip_prefix("allowlist"))
        .and_then(|l| l.trim_start().strip_prefix('='))
        .and_then(|l| l.split_once('[').map(|(_, rest)| rest))
        .and_then(|l| l.split_once(']').map(|(inside, _)| inside))
    else {
        return vec![];
    };
    list.split('"')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect()
}

/// The `[forge]` lines `repos` need on the sandbox's dialect
/// (`Dialect::repo_keys`: Azure DevOps's area path of each allowlisted
/// repository), each line ended; nothing on the other forges or without
/// repositories.
pub fn area_keys(sb: &Sandbox, repos: &[String]) -> String {
    let names: Vec<&str> = repos.iter().map(String::as_str).collect();
    let keys = sb.dialect.repo_keys(&names);
    match (names.is_empty(), keys.is_empty()) {
        (false, false) => format!("{keys}\n"),
        _ => String::new(),
    }
}

/// `(repo, issue)` pairs of a report list.
pub fn pairs(v: &Value) -> Vec<(String, u64)> {
    v.as_array()
        .map(|a| {
            a.iter()
                .map(|x| {
                    (
                        x["repo"].as_str().unwrap_or("").to_string(),
                        x["issue"].as_u64().unwrap_or(0),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// `text` (a config whose `[forge]` keys end where `[runner]` begins)
/// with the `[forge]` tables `sb`'s dialect needs for the repositories
/// `[poll] allowlist` names ([`Sandbox::forge_tables`]): the same text on
/// a dialect that needs none.
pub fn with_forge_tables(sb: &Sandbox, text: String) -> String {
    let tables = sb.forge_tables(&allowlist_of(&text));
    if tables.is_empty() {
        return text;
    }
    if !text.contains("\n[runner]\n") {
        return format!("{text}\n{tables}\n");
    }
    text.replacen("\n[runner]\n", &format!("\n{tables}\n[runner]\n"), 1)
}

/// The repositories a config's `[poll] allowlist` names (none when it does
/// not parse).
fn allowlist_of(text: &str) -> Vec<String> {
    let Ok(t) = text.parse::<toml::Table>() else {
        return vec![];
    };
    t.get("poll")
        .and_then(|p| p.get("allowlist"))
        .and_then(|a| a.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|r| r.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

pub fn reason_of(report: &Value, repo: &str, issue: u64) -> Option<String> {
    report["skipped"]
        .as_array()?
        .iter()
        .find(|s| s["repo"] == repo && s["issue"] == issue)
        .map(|s| s["reason"].as_str().unwrap().to_string())
}

impl Afk {
    /// A config for watch tests: the scripted agent works against the sandbox's
    /// git and API in `mode`; `watch` and `extra` add keys to [watch] and elsewhere.
    /// [forge] carries the tables the dialect needs for acme/api, as in [`Afk::new`].
    pub fn agent(sb: &Sandbox, mode: &str, watch: &str, extra: &str) -> Afk {
        let text = format!(
            "state_path = \"state/afk.db\"\n\n[forge]\n{forge}\ntimeout = \"5s\"\nretries = 1\n\n\
             [runner]\nworkspace = \"agent\"\ncommand = [\"env\", \"AFK_DEMO_GIT={git}\", \"AFK_DEMO_API={api}\", \"AFK_DEMO_FORGE={kind}\", \"AFK_DEMO_TOKEN={TOKEN}\", \"AFK_DEMO_MODE={mode}\", \"sh\", \"{agent}\"]\n\n\
             [poll]\nenabled = true\nallowlist = [\"acme/api\"]\n\n[watch]\n{watch}\n\n{extra}\n",
            forge = sb.forge_keys(),
            api = sb.api_url(),
            kind = sb.dialect.name(),
            // the agent does its own git over the forge's smart HTTP, as a
            // real one would (the forge is in its box's default allow)
            git = sb.url,
            agent = demo_agent().display(),
        );
        Afk {
            hooks: Some(sb.url.clone()),
            ..Afk::with_text(&with_forge_tables(sb, text))
        }
    }

    /// [`Afk::agent`] in afk's own workspace (the default): afk pushes and
    /// opens the pull request, the agent only commits, so every write the
    /// sandbox sees is afk's.
    pub fn agent_in_afks_workspace(sb: &Sandbox, mode: &str, watch: &str) -> Afk {
        let afk = Afk::agent(sb, mode, watch, "");
        let text = std::fs::read_to_string(&afk.config).unwrap();
        let git = format!("\"AFK_DEMO_GIT={}\", ", sb.url);
        assert!(text.contains(&git), "{text}");
        let text = text.replace(&git, "").replace(
            "workspace = \"agent\"",
            "workspace = \"afk\"\nconfine = \"none\"",
        );
        std::fs::write(&afk.config, text).unwrap();
        afk
    }

    /// The pid run `id`'s agent recorded as it started (`agent.pid`).
    pub fn agent_pid(&self, id: i64) -> i32 {
        std::fs::read_to_string(self.scratch.path(&format!("state/runs/{id}/agent.pid")))
            .unwrap()
            .split_whitespace()
            .next()
            .unwrap()
            .parse()
            .unwrap()
    }

    /// Wait (bounded) until run `id`'s agent has written its exit status.
    pub fn wait_agent(&self, id: i64) -> i32 {
        let p = self.scratch.path(&format!("state/runs/{id}/exit_status"));
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            if let Ok(s) = std::fs::read_to_string(&p) {
                return s.trim().parse().unwrap();
            }
            assert!(
                std::time::Instant::now() < deadline,
                "agent of run {id} did not finish; log: {}",
                std::fs::read_to_string(self.scratch.path(&format!("state/runs/{id}/agent.log")))
                    .unwrap_or_default()
            );
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }

    pub fn watch(&self) -> (i32, Value, String) {
        self.json(&["watch"])
    }
}

/// The `action` (and reason) watch reported for an issue.
pub fn action_of(report: &Value, issue: u64) -> (String, Option<String>) {
    let a = report["actions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["issue"] == issue)
        .unwrap_or_else(|| panic!("no action for #{issue} in {report}"));
    (
        a["action"].as_str().unwrap().to_string(),
        a["reason"].as_str().map(str::to_string),
    )
}

/// Runs `cmd` (afk) to its end: (exit code, stdout, its peak RSS in KiB).
/// The peak is afk's own high-water mark, VmHWM of its address space,
/// sampled while it runs. Not wait4's ru_maxrss: Linux's exec records the
/// spawning process's high-water RSS into the new program's, so a child of
/// this test binary reports the whole test process's peak (all tests at
/// once) whenever that is higher: it read 186 MiB once under a full suite.
#[expect(
    clippy::zombie_processes,
    reason = "the child is reaped by libc::wait4"
)]
pub fn run_sampled(mut cmd: std::process::Command) -> (i32, Vec<u8>, u64) {
    use std::io::Read;
    use std::process::Stdio;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let done = Arc::new(AtomicBool::new(false));
    let sampler = {
        let (done, status) = (done.clone(), format!("/proc/{}/status", child.id()));
        std::thread::spawn(move || {
            let (mut peak, mut samples) = (0u64, 0u32);
            while !done.load(Ordering::Relaxed) {
                let hwm = std::fs::read_to_string(&status).ok().and_then(|s| {
                    let line = s.lines().find(|l| l.starts_with("VmHWM:"))?.to_string();
                    line.split_whitespace().nth(1)?.parse::<u64>().ok()
                });
                if let Some(kib) = hwm {
                    peak = peak.max(kib);
                    samples += 1;
                }
                std::thread::sleep(std::time::Duration::from_millis(2));
            }
            (peak, samples)
        })
    };
    let mut out = vec![];
    child.stdout.take().unwrap().read_to_end(&mut out).unwrap();
    let mut status = 0;
    // SAFETY: waits for our own child, whose pid std gave us; status is valid
    // for writes, and a null rusage asks for none.
    let pid = unsafe {
        libc::wait4(
            child.id() as libc::pid_t,
            &mut status,
            0,
            std::ptr::null_mut(),
        )
    };
    done.store(true, Ordering::Relaxed);
    let (peak, samples) = sampler.join().unwrap();
    assert_eq!(pid, child.id() as libc::pid_t, "wait4");
    assert!(libc::WIFEXITED(status), "afk died: status {status:#x}");
    assert!(samples > 0 && peak > 0, "afk's memory was never sampled");
    (libc::WEXITSTATUS(status), out, peak)
}

/// Whether process `pid` is gone (or a zombie its parent has not reaped
/// yet), waited for a bounded while: a stopped agent's group gets SIGTERM,
/// then SIGKILL.
pub fn gone_in_time(pid: i32) -> bool {
    let gone = || {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        stat.is_empty()
            || stat
                .rsplit(')')
                .next()
                .is_some_and(|s| s.trim_start().starts_with('Z'))
    };
    let until = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !gone() && std::time::Instant::now() < until {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    gone()
}
