//! The agent's box (docs/runners.md#the-agents-box): on the command runner
//! every turn runs in a box of its own. These tests look from inside, with
//! a probe the agent runs (the scripted agent here; the real Claude Code and
//! Codex in `real_agents.rs`): afk's token file, state file, config and
//! another run's folder cannot be read, the forge's port cannot be reached
//! while the model's can, the agent is not root and cannot gain privileges,
//! and a process it detached is gone when its turn ends.

use crate::support::*;
use serde_json::json;
use std::path::Path;

/// A unique argument of the process the probe detaches, to find it on the host.
/// The sleep a probe detaches: its own per test (from its scratch
/// folder), so a box of another test still running is never taken for
/// this one's.
pub fn detached(afk: &Afk) -> String {
    let h = afk
        .scratch
        .path("")
        .to_string_lossy()
        .bytes()
        .fold(7u64, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(b)));
    format!("4242.{}", h % 1_000_000_000)
}

/// The probe, as shell text: one `name=value` line per check into
/// `box-probe.txt` in the checkout, which it commits.
pub fn probe(afk: &Afk, sb: &Sandbox) -> String {
    let s = |p: &str| afk.scratch.path(p).display().to_string();
    format!(
        r#"o=box-probe.txt; : > $o
echo "uid=$(id -u)" >> $o
grep -q '^NoNewPrivs:[[:space:]]*1' /proc/self/status && echo nnp=1 >> $o || echo nnp=0 >> $o
for f in {state} {token} {config} {other}; do if cat "$f" >/dev/null 2>&1; then echo "read=LEAK $f" >> $o; fi; done
if ls {others} >/dev/null 2>&1; then echo "list=LEAK" >> $o; fi
echo "procs=$(ls /proc | grep -c '^[0-9]')" >> $o
p=$(cat /proc/sys/kernel/core_pattern); if printf '%s\n' "$p" > /proc/sys/kernel/core_pattern 2>/dev/null; then echo "sysctl=LEAK" >> $o; fi
for f in /etc/shadow /etc/sudoers /etc/apt /etc/crontab {env}; do if [ -e "$f" ]; then echo "etc=LEAK $f" >> $o; fi; done
: > "$HOME/made-by-agent.txt"
cp /usr/bin/id "$HOME/suid-id" && chmod 4755 "$HOME/suid-id"
if (echo LEAK >&9) 2>/dev/null; then echo "fd=LEAK" >> $o; fi
case "$(uname -m)" in x86_64) keyctl=250 ;; aarch64) keyctl=219 ;; *) keyctl=0 ;; esac
echo "keyring=$(perl -e 'my $r = syscall('$keyctl', 0, -3, 0); print $r < 0 ? $!+0 : "LEAK"')" >> $o
echo "tiocsti=$(perl -e 'my $c = "x"; ioctl(STDIN, 0x5412, $c) ? print "LEAK" : print $!+0')" >> $o
echo "io_uring=$(perl -e 'my $p = "\0" x 120; my $r = syscall(425, 4, $p); print $r < 0 ? $!+0 : "LEAK"')" >> $o
echo "model=$(curl -s -m 10 -o /dev/null -w '%{{http_code}}' {model}/model/anthropic/v1/models)" >> $o
echo "model_as_another_host=$(curl -s -m 10 -o /dev/null -w '%{{http_code}}' -H 'Host: forge.internal' {model}/model/anthropic/v1/models)" >> $o
echo "answers_on_one_connection=$(perl -MIO::Socket::INET -e '$s = IO::Socket::INET->new(PeerAddr => "{model_hp}", Timeout => 10) or do {{ print "none"; exit }}; print $s "GET /model/anthropic/v1/models HTTP/1.1\r\nHost: {model_hp}\r\n\r\nGET /model/anthropic/v1/models HTTP/1.1\r\nHost: forge.internal\r\n\r\n"; local $/; $r = <$s>; $n = () = $r =~ m{{HTTP/1\.1 \d{{3}}}}g; print $n')" >> $o
gw="${{ANTHROPIC_BASE_URL:-}}"; [ -n "$gw" ] || gw=$(sed -n 's#^base_url *= *"\(http://127\.0\.0\.1:[0-9]*\)/v1".*#\1#p' "${{CODEX_HOME:-/nonexistent}}/config.toml" 2>/dev/null | head -1)
case "$gw" in http://127.0.0.1:*) echo "gateway=$(curl -s -m 10 -o /dev/null -w '%{{http_code}}' $gw/v1/models)" >> $o ;; esac
if curl -s -m 5 -o /dev/null --noproxy '*' {forge_api}/version; then echo forge=LEAK >> $o; else echo forge=no >> $o; fi
echo "forge_proxied=$(env -u NO_PROXY -u no_proxy curl -s -m 5 -o /dev/null -w '%{{http_code}}' -x http://127.0.0.1:3128 {forge_api}/version)" >> $o
setsid sh -c 'exec sleep {detached}' </dev/null >/dev/null 2>&1 &
git add $o && git commit -qm "box probe""#,
        detached = detached(afk),
        state = s("state/afk.db"),
        token = s("token"),
        config = s("afk.toml"),
        other = s("state/runs/99/prompt-1.md"),
        env = s("env"),
        others = s("state/runs/99"),
        model = sb.model_url,
        model_hp = sb
            .model_url
            .trim_start_matches("http://")
            .trim_end_matches('/'),
        forge_api = sb.api_url(),
    )
}

/// The probe's findings, from the checkout of run 1.
pub fn findings(afk: &Afk) -> String {
    std::fs::read_to_string(afk.scratch.path("state/runs/1/work/box-probe.txt"))
        .unwrap_or_else(|e| format!("no probe output: {e}"))
}

/// Whether a process the probe detached is still alive anywhere on the host.
pub fn detached_alive(marker: &str) -> bool {
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| std::fs::read(e.path().join("cmdline")).ok())
        .any(|c| c.split(|b| *b == 0).any(|w| w == marker.as_bytes()))
}

/// What every probe must find: nothing of afk's, the model only, not root.
pub fn assert_boxed(found: &str, log: &str, detached: &str) {
    let ctx = format!("{found}\n--- agent.log:\n{log}");
    assert!(found.contains("uid=1000\n"), "not root: {ctx}");
    assert!(found.contains("nnp=1\n"), "no_new_privs: {ctx}");
    // the keyrings and terminal injection are refused by the box's filter (EPERM)
    assert!(found.contains("keyring=1\n"), "no keyring call: {ctx}");
    assert!(found.contains("tiocsti=1\n"), "no TIOCSTI: {ctx}");
    // io_uring's ring would run calls past the filter: none is made (EPERM)
    assert!(found.contains("io_uring=1\n"), "no io_uring: {ctx}");
    assert!(!found.contains("LEAK"), "nothing of afk's: {ctx}");
    // the model answers: through the byte relay, or (the model gateway) only
    // through the loopback gateway, its host out of the box's reach
    let gateway = found
        .lines()
        .find_map(|l| l.strip_prefix("gateway="))
        .filter(|code| *code != "000");
    assert!(
        found.contains("model=200\n") || (found.contains("model=000\n") && gateway.is_some()),
        "the model answers: {ctx}"
    );
    assert!(
        !found.contains("model_as_another_host=200"),
        "the model's port asked for another host is refused: {ctx}"
    );
    // a second request behind the first on one connection (another Host) is
    // never answered: the forwarder judged only the first head
    let answers = found
        .lines()
        .find_map(|l| l.strip_prefix("answers_on_one_connection="));
    assert!(
        // (none: the model's own address is out of the box's reach, the
        // gateway its one way to the model)
        matches!(answers, Some("0" | "1" | "none")),
        "one request per forwarded connection: {ctx}"
    );
    assert!(
        found.contains("forge=no\n"),
        "the forge is not reached: {ctx}"
    );
    assert!(
        found.contains("forge_proxied=403\n"),
        "the forwarder refuses the forge: {ctx}"
    );
    let procs: usize = found
        .lines()
        .find_map(|l| l.strip_prefix("procs="))
        .and_then(|n| n.parse().ok())
        .unwrap_or(usize::MAX);
    assert!(procs < 20, "only the box's own processes: {ctx}");
    assert!(
        log.contains("afk box: refused a connection to 127.0.0.1:"),
        "the refusal is in the run's log: {log}"
    );
    assert!(
        !detached_alive(detached),
        "the detached process ended with the turn"
    );
}

/// What the agent made belongs to an unprivileged host user, whoever runs
/// afk: as root, `runner.box.user`'s (default: `afk-agent`, else the first
/// id from 1,900,000,000 that is nobody's).
pub fn assert_made_by_no_root(afk: &Afk) {
    use std::os::unix::fs::MetadataExt;
    let made = afk.scratch.path("state/runs/1/home/made-by-agent.txt");
    let m = std::fs::metadata(&made).expect("the probe made a file in its home");
    // SAFETY: geteuid(2) cannot fail
    let me = unsafe { libc::geteuid() };
    assert_ne!(m.uid(), 0, "the agent's file is root's outside the box");
    // a set-user-ID copy it made runs as that user, never as root
    let suid = std::fs::metadata(afk.scratch.path("state/runs/1/home/suid-id"));
    assert!(
        suid.is_ok_and(|s| s.uid() == m.uid()),
        "the set-user-ID copy is the agent's"
    );
    if me == 0 {
        assert!(
            m.uid() >= 1_900_000_000,
            "runner.box.user's default, nobody's: {}",
            m.uid()
        );
    } else {
        assert_eq!(m.uid(), me);
    }
}

/// A config whose agent runs in afk's workspace with `runner` (given the
/// scratch folder), its token in a file, and another run's folder to hide.
fn boxed_afk(sb: &Sandbox, runner: impl Fn(&Path) -> String) -> Afk {
    let text = |dir: &Path| {
        format!(
            "state_path = \"state/afk.db\"\n\n[forge]\n{forge}token_file = \"token\"\ntimeout = \"5s\"\nretries = 1\n\n\
             [poll]\nenabled = true\nallowlist = [\"acme/api\"]\n\n[runner]\nworkspace = \"afk\"\n{runner}\n",
            forge = sb.forge_keys(),
            runner = runner(dir),
        )
    };
    let afk = Afk::with_text("");
    let dir = afk.scratch.path("");
    afk.scratch.write("afk.toml", &text(&dir));
    let token = afk.scratch.write("token", TOKEN);
    // an env file beside the config, as /etc/afk/env is beside /etc/afk/afk.toml
    afk.scratch
        .write("env", &format!("AFK_FORGE_TOKEN={TOKEN}\n"));
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&token, std::fs::Permissions::from_mode(0o600)).unwrap();
    std::fs::create_dir_all(afk.scratch.path("state/runs/99")).unwrap();
    afk.scratch
        .write("state/runs/99/prompt-1.md", "another run's prompt");
    afk
}

pub(crate) fn run_log(afk: &Afk, id: i64) -> String {
    std::fs::read_to_string(afk.scratch.path(&format!("state/runs/{id}/agent.log")))
        .unwrap_or_default()
}

/// `afk ARGS` as text: (exit code, stdout, stderr).
fn text(afk: &Afk, args: &[&str]) -> (i32, String, String) {
    let out = afk.cmd().args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

#[test]
fn a_boxed_agent_sees_nothing_of_afks_reaches_only_its_model_and_its_processes_end_with_the_turn() {
    let sb = Sandbox::start(json!({"repos": [repo("acme/api", json!([ready(1, "alice")]))]}));
    let model = sb.model_url.trim_start_matches("http://").to_string();
    // the scripted agent runs the probe; its model is allowed as a named agent's would be
    let afk = boxed_afk(&sb, |dir| {
        format!(
            "agent = \"custom\"\ncommand = [\"sh\", \"{}\"]\n[runner.box]\nallow = [\"{model}\"]",
            dir.join("probe.sh").display()
        )
    });
    afk.scratch.write("probe.sh", &probe(&afk, &sb));
    // afk started with a descriptor open beyond 0-2, as under cron's flock
    let inherited = afk.scratch.write("lock", "");
    let lock = std::fs::OpenOptions::new()
        .append(true)
        .open(&inherited)
        .unwrap();
    let out = {
        use std::os::fd::AsRawFd;
        use std::os::unix::process::CommandExt;
        let fd = lock.as_raw_fd();
        let mut cmd = afk.std_cmd();
        cmd.args(["--json", "poll"]);
        // SAFETY: dup2(2) in the child before exec
        unsafe {
            cmd.pre_exec(move || {
                if libc::dup2(fd, 9) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        cmd.output().unwrap()
    };
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(afk.wait_agent(1), 0, "{}", run_log(&afk, 1));
    assert_boxed(&findings(&afk), &run_log(&afk, 1), &detached(&afk));
    assert_eq!(
        std::fs::read_to_string(&inherited).unwrap(),
        "",
        "fd 9 reached the box"
    );
    assert_made_by_no_root(&afk);
    // the probe's commit still becomes afk's PR, whose body says what the
    // box refused (the forge's port) and the key that lets one out
    let (_, r, err) = afk.watch();
    assert_eq!(
        action_of(&r, 1).1.as_deref(),
        Some("ci-pending"),
        "{r} {err}"
    );
    let (_, prs) = sb.api(&sb.dialect.prs_path("acme/api", Listed::Open));
    let body = prs[0]["body"].as_str().unwrap_or("").to_string();
    let forge_port = sb.url.rsplit(':').next().unwrap();
    assert!(
        body.contains(&format!("`127.0.0.1:{forge_port}`"))
            && body.contains("`runner.box.allow`")
            && body.contains("The agent's box refused"),
        "{body}"
    );
}

#[test]
fn unconfined_agents_are_said_in_the_log_and_by_doctor() {
    let sb = Sandbox::start(json!({"repos": [repo("acme/api", json!([ready(1, "alice")]))]}));
    let afk = boxed_afk(&sb, |_| {
        "agent = \"custom\"\nconfine = \"none\"\ncommand = [\"sh\", \"-c\", \"id -u > uid.txt\"]"
            .into()
    });
    let (code, _, err) = afk.poll();
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("the agent runs unconfined as afk's user (runner.confine = \"none\")"),
        "{err}"
    );
    assert_eq!(afk.wait_agent(1), 0);
    let (_, out, err) = text(&afk, &["doctor"]);
    assert!(
        out.contains("unconfined") || err.contains("unconfined"),
        "{out}{err}"
    );
    // the gateway off: the key in the agent's reach, the spend its word
    let all = format!("{out}{err}");
    assert!(
        all.lines().any(|l| l.contains("model gateway is off")
            && l.contains("in the agent's reach")
            && l.contains("the agent's word")),
        "{all}"
    );
}

#[test]
fn box_keys_are_checked_at_load_with_one_clear_line() {
    let cases = [
        (
            "[runner.box]\nallow = [\"https://api.anthropic.com\"]\n",
            "runner.box.allow at line 2: \"https://api.anthropic.com\" is not host:port",
        ),
        (
            "[runner.box]\nread_write = [\"/no/such/afk/path\"]\n",
            "runner.box.read_write at line 2: /no/such/afk/path does not exist",
        ),
        (
            "[runner.box]\nmemory = \"lots\"\n",
            "runner.box.memory at line 2: \"lots\" is not a size",
        ),
        (
            "[runner]\nkind = \"http\"\nurl = \"http://127.0.0.1:1\"\nconfine = \"box\"\n",
            "runner.confine at line 4: \"box\" is for the command runner",
        ),
    ];
    for (config, want) in cases {
        let afk = Afk::with_text(config);
        let (code, _, err) = text(&afk, &["doctor"]);
        assert_eq!(code, 2, "{config}: {err}");
        assert!(err.contains(want), "{config}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    }
}

/// Stopping an agent stops its box: a boxed agent that detached a process
/// and never ends is stopped by `budget.run_time`; neither it nor what it
/// detached is left on the machine.
#[test]
fn the_other_networks_box_the_agent_as_the_model_one_does() {
    // (runner.box.network, whether the box reaches the forge's port)
    for (network, reaches) in [("none", false), ("open", true)] {
        let sb = Sandbox::start(json!({"repos": [repo("acme/api", json!([ready(1, "alice")]))]}));
        let port = sb
            .url
            .rsplit(':')
            .next()
            .unwrap()
            .trim_end_matches('/')
            .to_string();
        let afk = boxed_afk(&sb, |_| {
            format!(
                "agent = \"custom\"\ncommand = [\"sh\", \"-c\", \"id -u > uid.txt; (exec 3<>/dev/tcp/127.0.0.1/{port}) 2>/dev/null && echo yes > net.txt || echo no > net.txt\"]\n[runner.box]\nnetwork = \"{network}\""
            )
        });
        // bash's /dev/tcp: the box's sh may be dash, so run the probe in bash
        let cfg = afk.scratch.path("afk.toml");
        let text = std::fs::read_to_string(&cfg)
            .unwrap()
            .replace("[\"sh\", \"-c\"", "[\"bash\", \"-c\"");
        std::fs::write(&cfg, text).unwrap();
        let (code, _, err) = afk.poll();
        assert_eq!(code, 0, "{network}: {err}");
        assert_eq!(afk.wait_agent(1), 0, "{network}: {}", run_log(&afk, 1));
        let read = |f: &str| {
            std::fs::read_to_string(afk.scratch.path(&format!("state/runs/1/work/{f}")))
                .unwrap_or_default()
                .trim()
                .to_string()
        };
        // the box's own unprivileged user, whoever runs afk
        assert_eq!(read("uid.txt"), "1000", "{network}: {}", run_log(&afk, 1));
        assert_eq!(
            read("net.txt"),
            if reaches { "yes" } else { "no" },
            "{network}"
        );
        // and what it made is its host user's, never root's
        use std::os::unix::fs::MetadataExt;
        let made = std::fs::metadata(afk.scratch.path("state/runs/1/work/uid.txt")).unwrap();
        // SAFETY: geteuid(2) cannot fail
        let me = unsafe { libc::geteuid() };
        match me {
            0 => assert!(made.uid() >= 1_900_000_000, "{network}: {}", made.uid()),
            _ => assert_eq!(made.uid(), me, "{network}"),
        }
    }
}

#[test]
fn stopping_a_boxed_agent_ends_everything_in_its_box() {
    let sb = Sandbox::start(json!({"repos": [repo("acme/api", json!([ready(1, "alice")]))]}));
    let afk = boxed_afk(&sb, |_| {
        "agent = \"custom\"\ncommand = [\"sh\", \"-c\", \"setsid sh -c 'exec sleep 4343.5' </dev/null >/dev/null 2>&1 & echo started > started.txt; exec sleep 4343.6\"]\n[budget]\npause_for = \"0s\"\nrun_time = \"1h\""
            .into()
    });
    let alive = |arg: &str| {
        std::fs::read_dir("/proc")
            .unwrap()
            .flatten()
            .filter_map(|e| std::fs::read(e.path().join("cmdline")).ok())
            .any(|c| c.split(|b| *b == 0).any(|w| w == arg.as_bytes()))
    };
    let (code, _, err) = afk.poll();
    assert_eq!(code, 0, "{err}");
    let started = afk.scratch.path("state/runs/1/work/started.txt");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !(started.exists() && alive("4343.5") && alive("4343.6")) {
        assert!(
            std::time::Instant::now() < deadline,
            "the agent never started: {}",
            run_log(&afk, 1)
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    afk.later(2);
    let (_, r, err) = afk.watch();
    assert_eq!(
        action_of(&r, 1),
        ("escalate".into(), Some("timeout".into())),
        "{r} {err}"
    );
    // the kernel ends a box's processes as its pid 1 dies: bounded, not timed
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while alive("4343.6") || alive("4343.5") {
        assert!(
            std::time::Instant::now() < deadline,
            "still alive after the stop: agent {}, detached {}",
            alive("4343.6"),
            alive("4343.5")
        );
        std::thread::yield_now();
    }
}

#[test]
fn doctor_s_box_probe_passes_after_a_tick_made_the_state_file() {
    let sb = Sandbox::start(json!({"repos": [repo("acme/api", json!([ready(1, "alice")]))]}));
    let model = sb.model_url.trim_start_matches("http://").to_string();
    let afk = boxed_afk(&sb, |_| {
        format!(
            "agent = \"custom\"\ncommand = [\"sh\", \"-c\", \"exit 0\"]\n[runner.box]\nallow = [\"{model}\"]"
        )
    });
    let (code, _, err) = afk.poll();
    assert_eq!(code, 0, "{err}");
    assert_eq!(afk.wait_agent(1), 0, "{}", run_log(&afk, 1));
    assert!(afk.scratch.path("state/afk.db").is_file());
    let (_, out, err) = text(&afk, &["doctor"]);
    let boxed: Vec<&str> = out.lines().filter(|l| l.contains("box")).collect();
    assert!(
        boxed
            .iter()
            .any(|l| l.contains("cannot read afk's state file")),
        "{out}{err}"
    );
    assert!(
        !boxed.iter().any(|l| l.starts_with("FAIL")),
        "doctor fails the box after a tick: {out}{err}"
    );
    // a toolchain on afk's PATH the box does not show is named
    let tools = afk.scratch.path("tools/bin");
    std::fs::create_dir_all(&tools).unwrap();
    let path = format!("{}:{}", tools.display(), std::env::var("PATH").unwrap());
    let out = afk.cmd().env("PATH", &path).arg("doctor").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let warned = text
        .lines()
        .find(|l| l.contains("does not show these folders of afk's PATH"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(warned.contains(&tools.display().to_string()), "{warned}");
    assert!(!warned.contains("/usr/bin"), "{warned}");
}

/// A `bwrap` that cannot make a box, as on a machine with user namespaces
/// off; the folder to put first on PATH.
fn broken_bwrap(afk: &Afk) -> String {
    let bin = afk.scratch.path("nobox");
    std::fs::create_dir_all(&bin).unwrap();
    let f = afk.scratch.write(
        "nobox/bwrap",
        "#!/bin/sh\necho 'bwrap: setting up uid map: Permission denied' >&2\nexit 1\n",
    );
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o755)).unwrap();
    format!("{}:{}", bin.display(), std::env::var("PATH").unwrap())
}

#[test]
fn a_machine_that_cannot_make_a_box_dispatches_nothing_and_labels_nothing() {
    let sb = Sandbox::start(json!({"repos": [repo("acme/api", json!([ready(1, "alice")]))]}));
    let afk = boxed_afk(&sb, |_| {
        "agent = \"custom\"\ncommand = [\"sh\", \"-c\", \"touch ran.txt\"]".into()
    });
    let path = broken_bwrap(&afk);
    let out = afk
        .cmd()
        .env("PATH", &path)
        .args(["--json", "poll"])
        .output()
        .unwrap();
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{r} {err}");
    assert_eq!(r["dispatched"], json!([]), "{r}");
    let msg = r["errors"][0]["message"].as_str().unwrap_or("").to_string();
    assert!(
        msg.contains("this machine cannot make a box") && msg.contains("uid map"),
        "doctor's line: {r}"
    );
    assert!(
        !sb.labels_of("acme/api", 1)
            .contains(&"agent-in-progress".to_string()),
        "nothing labelled"
    );
    assert!(!afk.scratch.path("state/runs/1/work/ran.txt").exists());
    // nothing to escalate: the next watch has no run in flight
    let out = afk
        .cmd()
        .env("PATH", &path)
        .args(["--json", "watch"])
        .output()
        .unwrap();
    let w: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    assert!(
        !w.to_string().contains("escalate"),
        "nothing escalated: {w}"
    );
    let (_, comments) = sb.api(&sb.dialect.issue_comments_path("acme/api", 1));
    assert_eq!(comments, json!([]), "no comment");
}

/// A cgroup limit that is set is in force or no turn starts: where afk's
/// cgroup cannot take a turn's (no delegated cgroup v2, as in most
/// containers), poll starts nothing, labels nothing and says which keys;
/// where it can, the turn starts in its cgroup.
#[test]
fn a_box_limit_the_host_cannot_apply_starts_no_turn() {
    let sb = Sandbox::start(json!({"repos": [repo("acme/api", json!([ready(1, "alice")]))]}));
    let afk = boxed_afk(&sb, |_| {
        "agent = \"custom\"\ncommand = [\"sh\", \"-c\", \"touch ran.txt\"]\n\n[runner.box]\nmemory = \"1GiB\"\ntasks = 512"
            .into()
    });
    let (code, r, err) = afk.poll();
    let in_force = afk::runner::agent_box::limits_in_force();
    let labelled = sb
        .labels_of("acme/api", 1)
        .contains(&"agent-in-progress".to_string());
    match in_force {
        Ok(()) => {
            assert_eq!(code, 0, "{r} {err}");
            assert!(labelled, "started in its cgroup: {r}");
        }
        Err(why) => {
            assert_eq!(code, 1, "{r} {err}");
            assert_eq!(r["dispatched"], json!([]), "{r}");
            let msg = r["errors"][0]["message"].as_str().unwrap_or("");
            assert!(
                msg.contains("runner.box.memory") && msg.contains("cannot apply"),
                "names the keys: {r} ({why:?})"
            );
            assert!(!labelled, "nothing labelled: {r}");
            assert!(!afk.scratch.path("state/runs/1/work/ran.txt").exists());
        }
    }
    let (_, out, _) = text(&afk, &["doctor"]);
    let says = out
        .lines()
        .find(|l| l.contains("runner.box.memory and tasks"))
        .unwrap_or("");
    assert_eq!(
        says.contains("FAIL"),
        afk::runner::agent_box::limits_in_force().is_err(),
        "{out}"
    );
}

/// `runner.box.user` names the box's host user when afk runs as root;
/// set where afk is an ordinary user, it could not be in force (the box's
/// user is afk's own): no turn starts, nothing is labelled, doctor FAILs
/// it. As root the same config starts no refusal of that kind.
#[test]
fn a_box_user_set_where_afk_is_not_root_starts_no_turn() {
    let sb = Sandbox::start(json!({"repos": [repo("acme/api", json!([ready(1, "alice")]))]}));
    let afk = boxed_afk(&sb, |_| {
        "agent = \"custom\"\ncommand = [\"sh\", \"-c\", \"touch ran.txt\"]\n\n[runner.box]\nuser = \"nobody\""
            .into()
    });
    let (code, r, err) = afk.poll();
    // SAFETY: geteuid(2) cannot fail
    let root = unsafe { libc::geteuid() } == 0;
    let said = r["errors"].to_string();
    let (_, out, _) = text(&afk, &["doctor"]);
    if root {
        assert!(!said.contains("does not run as root"), "{r} {err}");
        assert!(!out.contains("does not run as root"), "{out}");
        return;
    }
    assert_eq!(code, 1, "{r} {err}");
    assert_eq!(r["dispatched"], json!([]), "{r}");
    assert!(
        said.contains("runner.box.user") && said.contains("does not run as root"),
        "{r}"
    );
    assert!(
        !sb.labels_of("acme/api", 1)
            .contains(&"agent-in-progress".to_string()),
        "nothing labelled"
    );
    assert!(!afk.scratch.path("state/runs/1/work/ran.txt").exists());
    assert!(
        out.lines()
            .any(|l| l.contains("FAIL") && l.contains("runner.box.user")),
        "{out}"
    );
}

#[test]
fn a_programs_settings_folder_reaches_a_turn_as_a_copy_of_its_login_and_what_the_agent_writes_there_stays_in_its_run()
 {
    let sb = Sandbox::start(json!({"repos": [repo("acme/api", json!([ready(1, "alice")]))]}));
    let script = "cat \"$CODEX_HOME/auth.json\" > seen.txt; \
                  cat \"$CODEX_HOME/history.jsonl\" > history.txt 2>&1; \
                  echo '{\"hooks\": 1}' > \"$CODEX_HOME/hooks.json\"; \
                  echo tampered >> \"$CODEX_HOME/auth.json\"; \
                  echo \"$CODEX_HOME\" > where.txt";
    let afk = boxed_afk(&sb, |_| {
        format!("agent = \"custom\"\ncommand = [\"sh\", \"-c\", {script:?}]")
    });
    let home = afk.scratch.path("codex-home");
    std::fs::create_dir_all(&home).unwrap();
    afk.scratch
        .write("codex-home/auth.json", "{\"OPENAI_API_KEY\": \"login\"}\n");
    afk.scratch
        .write("codex-home/history.jsonl", "another run's prompt\n");
    let out = afk
        .cmd()
        .env("CODEX_HOME", &home)
        .args(["--json", "poll"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(afk.wait_agent(1), 0, "{}", run_log(&afk, 1));
    let work = |f: &str| {
        std::fs::read_to_string(afk.scratch.path(&format!("state/runs/1/work/{f}")))
            .unwrap_or_default()
    };
    assert_eq!(
        work("seen.txt"),
        "{\"OPENAI_API_KEY\": \"login\"}\n",
        "the login reaches the box"
    );
    assert!(
        !work("history.txt").contains("another run"),
        "{}",
        work("history.txt")
    );
    assert!(
        work("where.txt").contains("state/runs/1/home/"),
        "{}",
        work("where.txt")
    );
    // the operator's folder is as it was
    assert!(
        !home.join("hooks.json").exists(),
        "a hook reached the shared folder"
    );
    assert_eq!(
        std::fs::read_to_string(home.join("auth.json")).unwrap(),
        "{\"OPENAI_API_KEY\": \"login\"}\n"
    );
}

#[test]
fn doctor_fails_a_box_that_could_read_an_env_file_of_afks_secrets() {
    let sb = Sandbox::start(json!({"repos": [repo("acme/api", json!([]))]}));
    let model = sb.model_url.trim_start_matches("http://").to_string();
    let shared = |afk: &Afk| afk.scratch.path("shared");
    let afk = boxed_afk(&sb, |dir| {
        format!(
            "agent = \"custom\"\ncommand = [\"sh\", \"-c\", \"exit 0\"]\n[runner.box]\nallow = [\"{model}\"]\nread_only = [\"{}\"]",
            dir.join("shared").display()
        )
    });
    std::fs::create_dir_all(shared(&afk)).unwrap();
    let env = afk
        .scratch
        .write("shared/secrets.env", &format!("AFK_FORGE_TOKEN={TOKEN}\n"));
    let unit = afk.scratch.write(
        "afk-poll.service",
        &format!(
            "[Service]\nEnvironmentFile=-{}\nExecStart=/usr/local/bin/afk --config {} poll\n",
            env.display(),
            afk.config.display()
        ),
    );
    let (code, out, err) = text(&afk, &["doctor", "--unit", &unit.display().to_string()]);
    assert_ne!(code, 0, "{out}{err}");
    let line = out
        .lines()
        .find(|l| l.contains("where afk's secrets are kept"))
        .unwrap_or_else(|| panic!("{out}{err}"));
    assert!(line.starts_with("FAIL"), "{line}");
    assert!(line.contains(&env.display().to_string()), "{line}");
    assert!(!out.contains(TOKEN) && !err.contains(TOKEN));
}

// ---- the model gateway on the command runner ----

/// The key afk holds for the model, built so no file of the test holds it whole.
pub(crate) fn gateway_key() -> String {
    format!("gw-key-{}-{}", "5d1e9a", std::process::id())
}

/// A model on loopback that answers `POST /v1/messages` with a usage of
/// 1000 input and 100 output tokens when the request carries `key` in
/// `x-api-key`, and 401 otherwise; what it was asked (path, key header),
/// and every byte of every request it received (`raw`).
pub(crate) struct Upstream {
    pub(crate) url: String,
    asked: std::sync::Arc<std::sync::Mutex<Vec<(String, String)>>>,
    pub(crate) raw: std::sync::Arc<std::sync::Mutex<Vec<u8>>>,
}

impl Upstream {
    pub(crate) fn start(key: String) -> Upstream {
        use std::io::{BufRead, BufReader, Read, Write};
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", l.local_addr().unwrap());
        let asked = std::sync::Arc::new(std::sync::Mutex::new(vec![]));
        let seen = asked.clone();
        let raw = std::sync::Arc::new(std::sync::Mutex::new(vec![]));
        let bytes = raw.clone();
        std::thread::spawn(move || {
            for c in l.incoming().flatten() {
                let (key, seen, bytes) = (key.clone(), seen.clone(), bytes.clone());
                std::thread::spawn(move || {
                    let mut r = BufReader::new(c.try_clone().unwrap());
                    let mut w = c;
                    loop {
                        let mut first = String::new();
                        if r.read_line(&mut first).unwrap_or(0) == 0 {
                            return;
                        }
                        bytes.lock().unwrap().extend_from_slice(first.as_bytes());
                        let (mut len, mut got) = (0usize, String::new());
                        loop {
                            let mut h = String::new();
                            r.read_line(&mut h).unwrap();
                            bytes.lock().unwrap().extend_from_slice(h.as_bytes());
                            let h = h.trim_end();
                            if h.is_empty() {
                                break;
                            }
                            let (k, v) = h.split_once(':').unwrap();
                            match k.to_ascii_lowercase().as_str() {
                                "content-length" => len = v.trim().parse().unwrap(),
                                "x-api-key" => got = v.trim().to_string(),
                                _ => {}
                            }
                        }
                        let mut body = vec![0; len];
                        r.read_exact(&mut body).unwrap();
                        bytes.lock().unwrap().extend_from_slice(&body);
                        let path = first.split_whitespace().nth(1).unwrap_or("").to_string();
                        seen.lock().unwrap().push((path.clone(), got.clone()));
                        let (status, answer) = if got != key {
                            (401, r#"{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"}}"#.to_string())
                        } else {
                            (200, r#"{"id":"msg_1","type":"message","role":"assistant","model":"claude-gw-test","content":[{"type":"text","text":"ok"}],"stop_reason":"end_turn","usage":{"input_tokens":1000,"output_tokens":100,"cache_read_input_tokens":0,"cache_creation_input_tokens":0}}"#.to_string())
                        };
                        let _ = write!(
                            w,
                            "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{answer}",
                            answer.len()
                        );
                    }
                });
            }
        });
        Upstream { url, asked, raw }
    }
}

/// A named agent `claude` that is a shell script (`script`, its own
/// folder on PATH), in a box whose model gateway sends to `up`.
pub(crate) fn gateway_afk(
    sb: &Sandbox,
    up: &Upstream,
    key: &str,
    script: &str,
    extra: &str,
) -> Afk {
    gateway_afk_to(sb, &up.url, key, script, extra)
}

/// As [`gateway_afk`], the gateway sending to `up_url`.
pub(crate) fn gateway_afk_to(
    sb: &Sandbox,
    up_url: &str,
    key: &str,
    script: &str,
    extra: &str,
) -> Afk {
    gateway_afk_as(
        sb,
        ("claude", "ANTHROPIC_API_KEY"),
        up_url,
        key,
        script,
        extra,
    )
}

/// As [`gateway_afk_to`], the named agent `agent` (a shell script) whose
/// API key is in `key_var`.
fn gateway_afk_as(
    sb: &Sandbox,
    (agent, key_var): (&str, &str),
    up_url: &str,
    key: &str,
    script: &str,
    extra: &str,
) -> Afk {
    // removed with the afk that holds it
    let held = Scratch::new();
    let bin = held.dir.clone();
    std::fs::create_dir_all(bin.join("bin")).unwrap();
    let program = bin.join("bin").join(agent);
    std::fs::write(&program, format!("#!/bin/sh\n{script}\n")).unwrap();
    use std::os::unix::fs::PermissionsExt;
    for (p, m) in [(&bin, 0o755), (&bin.join("bin"), 0o755), (&program, 0o755)] {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(m)).unwrap();
    }
    let up_url = up_url.to_string();
    let mut afk = boxed_afk(sb, |_| {
        format!(
            "agent = \"{agent}\"\n[runner.model]\nupstream = \"{up_url}\"\n\
             [runner.prices.models.\"claude-gw-test\"]\ninput = 3.0\ncached_input = 0.3\ncache_write = 3.75\noutput = 15.0\n{extra}"
        )
    });
    let path = std::env::var("PATH").unwrap_or_default();
    afk.env = vec![
        (
            "PATH".into(),
            format!("{}:{path}", bin.join("bin").display()),
        ),
        (key_var.into(), key.to_string()),
    ];
    afk.held.push(held);
    afk
}

/// With the model gateway on, Codex's settings folder in the box's home is
/// afk's to write (its `config.toml` names the gateway): a turn that
/// leaves a link in its place makes afk, at the next turn, write and
/// delete in a real folder of the run's own, never through the link.
#[test]
fn with_the_gateway_a_link_left_where_codexs_settings_folder_goes_is_never_followed() {
    let sb = Sandbox::start(json!({"repos": [repo("acme/api", json!([ready(1, "alice")]))]}));
    let victim = Scratch::new();
    let files = ["AGENTS.md", "instructions.md", "auth.json", "config.toml"];
    for f in files {
        victim.write(f, "the victim's own\n");
    }
    // turn 1 plants the link and edits a workflow, so a gate turn follows
    let script = format!(
        "if [ \"$AFK_TURN\" = 1 ]; then\n\
         rm -rf \"$HOME/.afk-codex_home\"\nln -s '{}' \"$HOME/.afk-codex_home\"\n\
         mkdir -p .github/workflows && printf 'on: push\\n' > .github/workflows/ci.yml\n\
         git add -A && git commit -qm 'agent: a workflow'\n\
         else cat \"$CODEX_HOME/config.toml\" > seen-config.txt || true; fi",
        victim.dir.display()
    );
    let afk = gateway_afk_as(
        &sb,
        ("codex", "OPENAI_API_KEY"),
        "http://127.0.0.1:9/v1",
        "sk-gw-test-key",
        &script,
        "[runner.prices]\ninput = 1.0\noutput = 1.0\n",
    );
    let (code, r, err) = afk.poll();
    assert_eq!(code, 0, "{r} {err}");
    assert_eq!(afk.wait_agent(1), 0, "{}", run_log(&afk, 1));
    let (code, r, err) = afk.watch();
    assert_eq!(code, 0, "{r} {err}");
    assert_eq!(
        action_of(&r, 1),
        ("corrective_turn".into(), Some("gate".into())),
        "{r}"
    );
    assert_eq!(afk.wait_agent(1), 0, "{}", run_log(&afk, 1));
    let mut names: Vec<String> = std::fs::read_dir(&victim.dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().to_string())
        .collect();
    names.sort();
    let mut want: Vec<String> = files.iter().map(|f| f.to_string()).collect();
    want.sort();
    assert_eq!(names, want, "nothing added or deleted");
    for f in files {
        assert_eq!(
            std::fs::read_to_string(victim.path(f)).unwrap(),
            "the victim's own\n",
            "{f}"
        );
    }
    let home = afk.scratch.path("state/runs/1/home/.afk-codex_home");
    assert!(
        std::fs::symlink_metadata(&home).unwrap().is_dir(),
        "a real folder again"
    );
    let seen = std::fs::read_to_string(afk.scratch.path("state/runs/1/work/seen-config.txt"))
        .unwrap_or_default();
    assert!(
        seen.contains("127.0.0.1"),
        "turn 2's Codex names the gateway: {seen}"
    );
}

/// One request to the gateway from inside the box, as shell text: its status.
const ASK: &str = r#"curl -s -m 30 -o /dev/null -w '%{http_code}' -H "x-api-key: $ANTHROPIC_API_KEY" -H 'content-type: application/json' -d '{"model":"claude-gw-test","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}' "$ANTHROPIC_BASE_URL/v1/messages""#;

#[test]
fn the_model_gateway_holds_the_key_outside_passes_the_api_only_and_meters_each_request() {
    let sb = Sandbox::start(json!({"repos": [repo("acme/api", json!([ready(1, "alice")]))]}));
    let key = gateway_key();
    let up = Upstream::start(key.clone());
    // the probe searches for the key without holding it whole
    let (head, tail) = key.split_at(6);
    let script = format!(
        r#"o=gw-probe.txt; : > $o; k="{head}""{tail}"
echo "base=$ANTHROPIC_BASE_URL" >> $o
echo "messages=$({ASK})" >> $o
echo "other=$(curl -s -m 30 -o /dev/null -w '%{{http_code}}' "$ANTHROPIC_BASE_URL/v1/files")" >> $o
if env | grep -qF "$k"; then echo env=LEAK >> $o; fi
if grep -rqsF "$k" "$HOME" . /tmp /run 2>/dev/null; then echo file=LEAK >> $o; fi
for f in /proc/[0-9]*/environ /proc/[0-9]*/cmdline; do if grep -qsF "$k" "$f"; then echo "proc=LEAK $f" >> $o; fi; done
echo "procs_read=$(cat /proc/1/environ 2>/dev/null | tr '\0' '\n' | grep -c .)" >> $o
git add $o && git commit -qm "gateway probe""#
    );
    let afk = gateway_afk(&sb, &up, &key, &script, "");
    let (_, out, err) = text(&afk, &["doctor"]);
    let line = out
        .lines()
        .chain(err.lines())
        .find(|l| l.contains("model gateway is on"))
        .unwrap_or_else(|| panic!("doctor says the gateway is on: {out}{err}"));
    assert!(
        line.starts_with("ok") && line.contains("$ANTHROPIC_API_KEY") && line.contains("metered"),
        "{line}"
    );
    let (code, r, err) = afk.poll();
    assert_eq!(code, 0, "poll: {err} {r}");
    assert_eq!(afk.wait_agent(1), 0, "{}", run_log(&afk, 1));
    let found = std::fs::read_to_string(afk.scratch.path("state/runs/1/work/gw-probe.txt"))
        .unwrap_or_default();
    let log = run_log(&afk, 1);
    let ctx = format!("{found}\n--- agent.log:\n{log}");
    assert!(found.contains("base=http://127.0.0.1:"), "{ctx}");
    assert!(
        found.contains("messages=200\n"),
        "the request passed with the key: {ctx}"
    );
    assert!(
        found.contains("other=403\n"),
        "another path is refused: {ctx}"
    );
    assert!(
        !found.contains("LEAK"),
        "the key is nowhere in the box: {ctx}"
    );
    assert!(
        log.contains("the model gateway refused GET /v1/files"),
        "the refusal is in the run's log: {ctx}"
    );
    // the model was asked once by the agent, with the key the keeper set
    // (and once by doctor's key check, with the same key)
    let asked = up.asked.lock().unwrap().clone();
    assert_eq!(
        asked,
        vec![
            ("/v1/models".to_string(), key.clone()),
            ("/v1/messages".to_string(), key.clone())
        ]
    );
    // one metered line: 1000 input at $3 and 100 output at $15 per million
    let metered = std::fs::read_to_string(afk.scratch.path("state/runs/1/metered.jsonl")).unwrap();
    let lines: Vec<serde_json::Value> = metered
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 1, "{metered}");
    assert_eq!(lines[0]["micro_usd"], 1000 * 3 + 100 * 15, "{metered}");
    assert_eq!(lines[0]["model"], "claude-gw-test");
    assert_eq!(lines[0]["status"], 200);
    assert_eq!(lines[0]["complete"], true);
    // the key is not in the turn's spec nor anywhere in the run's folder
    for e in walk(&afk.scratch.path("state/runs/1")) {
        let bytes = std::fs::read(&e).unwrap_or_default();
        assert!(
            !bytes.windows(key.len()).any(|w| w == key.as_bytes()),
            "{} holds the key",
            e.display()
        );
    }
}

/// Every file under `dir`.
fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = vec![];
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        match std::fs::symlink_metadata(&p) {
            Ok(m) if m.is_dir() => out.extend(walk(&p)),
            Ok(m) if m.is_file() => out.push(p),
            _ => {}
        }
    }
    out
}

#[test]
fn at_its_budget_the_model_gateway_answers_429_and_ends_the_turn() {
    let sb = Sandbox::start(json!({"repos": [repo("acme/api", json!([ready(1, "alice")]))]}));
    let key = gateway_key();
    let up = Upstream::start(key.clone());
    // each request costs $0.0045; the run may spend $0.005: two pass, the third is 429
    let script = format!(
        "for i in 1 2 3 4; do echo \"ask $i: $({ASK})\"; done\nsleep 300\necho finished > finished.txt"
    );
    let afk = gateway_afk(
        &sb,
        &up,
        &key,
        &script,
        "\n[budget]\npause_for = \"0s\"\nrun_usd = 0.005\n",
    );
    let (code, r, err) = afk.poll();
    assert_eq!(code, 0, "poll: {err} {r}");
    let status = afk.wait_agent(1);
    let log = run_log(&afk, 1);
    assert_ne!(status, 0, "the turn was ended: {log}");
    assert!(
        log.contains("ask 1: 200") && log.contains("ask 2: 200"),
        "{log}"
    );
    assert!(
        log.contains("budget.run_usd"),
        "the stop is in the run's log: {log}"
    );
    assert!(
        !afk.scratch.path("state/runs/1/work/finished.txt").exists(),
        "the agent did not go on"
    );
    assert_eq!(
        up.asked.lock().unwrap().len(),
        2,
        "nothing passed after the limit"
    );
    let metered = std::fs::read_to_string(afk.scratch.path("state/runs/1/metered.jsonl")).unwrap();
    assert_eq!(metered.lines().count(), 2, "{metered}");
    let stop = std::fs::read_to_string(afk.scratch.path("state/runs/1/budget-stop.json")).unwrap();
    let stop: serde_json::Value = serde_json::from_str(&stop).unwrap();
    assert_eq!(stop["limit"], "run_usd", "{stop}");
    assert_eq!(stop["spend_usd"], 0.009, "{stop}");
}

#[test]
fn gateway_on_without_its_key_starts_no_turn_and_labels_nothing() {
    let sb = Sandbox::start(json!({"repos": [repo("acme/api", json!([ready(1, "alice")]))]}));
    let up = Upstream::start(gateway_key());
    let mut afk = gateway_afk(&sb, &up, "", "true", "");
    afk.env.retain(|(k, _)| k != "ANTHROPIC_API_KEY");
    let config = std::fs::read_to_string(&afk.config).unwrap().replace(
        "[runner.model]\n",
        "[runner.model]\ngateway = \"on\"\nkey_env = \"AFK_GW_TEST_KEY\"\n",
    );
    std::fs::write(&afk.config, config).unwrap();
    // doctor: a FAIL naming key_env
    let (code, out, err) = text(&afk, &["doctor"]);
    let line = out
        .lines()
        .chain(err.lines())
        .find(|l| l.contains("gateway") && l.contains("AFK_GW_TEST_KEY"))
        .unwrap_or_else(|| panic!("{out}{err}"));
    assert!(line.starts_with("FAIL"), "{line}");
    assert_ne!(code, 0, "{out}{err}");
    let (_, r, err) = afk.poll();
    let all = format!("{r} {err}");
    assert!(
        all.contains("AFK_GW_TEST_KEY"),
        "the error names key_env: {all}"
    );
    assert!(
        r["dispatched"].as_array().is_none_or(|d| d.is_empty()),
        "{all}"
    );
    let (_, issue) = sb.api(&sb.dialect.issue_path("acme/api", 1));
    let labels: Vec<&str> = issue["labels"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|l| l["name"].as_str())
        .collect();
    assert!(!labels.iter().any(|l| l.contains("progress")), "{labels:?}");
}

#[test]
fn a_gateway_stop_names_the_day_limit_it_hit_with_its_figures() {
    let sb = Sandbox::start(json!({"repos": [repo("acme/api", json!([ready(1, "alice")]))]}));
    let key = gateway_key();
    let up = Upstream::start(key.clone());
    // each request costs $0.0045; no run limit, the repository's day $0.005
    let script = format!("for i in 1 2 3 4; do echo \"ask $i: $({ASK})\"; done");
    let afk = gateway_afk(
        &sb,
        &up,
        &key,
        &script,
        "\n[budget]\npause_for = \"0s\"\nday_usd = 1.0\nrepo_day_usd = 0.005\n",
    );
    let (code, r, err) = afk.poll();
    assert_eq!(code, 0, "poll: {err} {r}");
    afk.wait_agent(1);
    let log = run_log(&afk, 1);
    assert!(log.contains("budget.repo_day_usd $0.0050 reached"), "{log}");
    assert_eq!(up.asked.lock().unwrap().len(), 2, "{log}");
    let stop = std::fs::read_to_string(afk.scratch.path("state/runs/1/budget-stop.json")).unwrap();
    let stop: serde_json::Value = serde_json::from_str(&stop).unwrap();
    assert_eq!(stop["limit"], "repo_day_usd", "{stop}");
    assert_eq!(stop["limit_usd"], 0.005, "{stop}");
    assert_eq!(stop["spend_usd"], 0.009, "{stop}");
}

/// Issue 82 item 2: a key the model refuses ends the turn at once (its box
/// killed), and the escalation and `afk runs show` lead with afk's own
/// line saying so, before the exit status and before the agent's output
/// (here a stand-in for Claude Code's start-up records, which say nothing
/// of it).
#[test]
fn a_key_the_model_refuses_leads_the_escalation_and_runs_show_with_afks_reason() {
    let sb = Sandbox::start(json!({"repos": [repo("acme/api", json!([ready(1, "alice")]))]}));
    let up = Upstream::start(gateway_key());
    let wrong = format!("{}-not-this-one", gateway_key());
    let script = format!(
        "i=0; while [ $i -lt 30 ]; do i=$((i+1)); echo '{{\"type\":\"system\",\"subtype\":\"init\",\"n\":'$i'}}'; done\necho \"ask: $({ASK})\"\nsleep 300\necho finished > finished.txt"
    );
    let afk = gateway_afk(&sb, &up, &wrong, &script, "");
    let (code, r, err) = afk.poll();
    assert_eq!(code, 0, "poll: {err} {r}");
    let status = afk.wait_agent(1);
    let log = run_log(&afk, 1);
    assert_ne!(status, 0, "the turn was ended: {log}");
    assert!(log.contains("afk box: turn 1 starts"), "{log}");
    assert!(
        log.contains("afk box: the turn ends: the model refused afk's key"),
        "{log}"
    );
    assert!(
        !afk.scratch.path("state/runs/1/work/finished.txt").exists(),
        "the agent did not go on: {log}"
    );
    let (code, r, err) = afk.watch();
    assert_eq!(code, 0, "{r} {err}");
    assert_eq!(
        action_of(&r, 1),
        ("escalate".into(), Some("agent-failed".into())),
        "{r}\n{log}"
    );
    // the escalation: afk's reason, then the exit status, then the log's end
    let st = sb.admin("GET", "/state", None);
    let esc = st["repos"][0]["comments"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["body"].as_str())
        .find(|b| b.contains("afk:escalation"))
        .unwrap_or_else(|| panic!("an escalation: {st}"))
        .to_string();
    let at = |what: &str| {
        esc.find(what)
            .unwrap_or_else(|| panic!("{what:?} in {esc}"))
    };
    let reason =
        at("(`agent-failed`): afk's box ended the agent's last turn: the model refused afk's key");
    let exit = at(&format!("; the agent exited with status {status} without"));
    let tail = at("the end of its log");
    assert!(reason < exit && exit < tail, "{esc}");
    assert!(!esc.contains(&wrong), "the key is never said: {esc}");
    // `afk runs show`: the reason before the exit status
    let (code, out, err) = text(&afk, &["runs", "show", "1"]);
    assert_eq!(code, 0, "{err}");
    let reason = out
        .find("afk's box ended the agent's last turn: the model refused afk's key")
        .unwrap_or_else(|| panic!("{out}"));
    let exit = out
        .find(&format!("agent exited with status {status}"))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(reason < exit, "{out}");
    let (code, shown, err) = afk.json(&["runs", "show", "1"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        shown["box_said"]
            .as_str()
            .is_some_and(|s| s.starts_with("the model refused afk's key")),
        "{shown}"
    );
    assert!(!shown.to_string().contains(&wrong), "the key is never said");
}

/// Issue 68 item 3: doctor asks the model API once with the gateway's key
/// (`GET /v1/models`, free): a key the API refuses is a FAIL before any
/// turn spends its retries on it; the key it takes, an OK.
#[test]
fn doctor_fails_a_model_key_the_api_refuses_and_passes_the_one_it_takes() {
    let key = gateway_key();
    let sb = Sandbox::start(
        json!({"model_key": key, "repos": [repo("acme/api", json!([ready(1, "alice")]))]}),
    );
    let up = format!("{}/model/anthropic", sb.model_url);
    let line = |afk: &Afk| {
        let out = afk.cmd().args(["--json", "doctor"]).output().unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let c = v["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["check"] == "model key")
            .cloned()
            .unwrap_or_else(|| panic!("no model key line: {v}"));
        (
            out.status.code(),
            c["level"].as_str().unwrap().to_string(),
            c["detail"].to_string(),
        )
    };
    let (_, level, detail) = line(&gateway_afk_to(&sb, &up, &key, "true", ""));
    assert_eq!(level, "ok", "{detail}");
    let wrong = format!("{key}-not-this-one");
    let (code, level, detail) = line(&gateway_afk_to(&sb, &up, &wrong, "true", ""));
    assert_eq!((code, level.as_str()), (Some(1), "fail"), "{detail}");
    assert!(
        detail.contains("refused the key") && detail.contains("401"),
        "{detail}"
    );
    assert!(!detail.contains(&wrong), "the key is never said: {detail}");
}

/// One request to the gateway naming acme/api's issue `n` (whose script
/// answers), its answer's head and body kept in `ans-<n>-<i>.txt`: shell text.
fn ask_issue(n: u32, i: u32, stream: bool) -> String {
    format!(
        r#"curl -s -m 30 -i -o ans-{n}-{i}.txt -H "x-api-key: $ANTHROPIC_API_KEY" -H 'content-type: application/json' -d '{{"model":"claude-gw-test","max_tokens":5,"stream":{stream},"tools":[{{"name":"Bash"}}],"messages":[{{"role":"user","content":"Repository: acme/api\nIssue: #{n}"}}]}}' "$ANTHROPIC_BASE_URL/v1/messages"; echo "ask {n}.{i}: $?""#
    )
}

#[test]
fn upstream_faults_pass_back_unchanged_and_a_cut_stream_is_priced_by_what_arrived() {
    let key = gateway_key();
    let issue = |n: u32, step: serde_json::Value| json!({"number": n, "title": format!("fault {n}"), "labels": [], "script": [step]});
    let usage = json!({"input": 1200, "output": 300, "cached": 50, "cache_write": 20});
    let sb = Sandbox::start(json!({"model_key": key, "repos": [repo("acme/api", json!([
        ready(1, "alice"),
        issue(2, json!({"text": "ok", "status": 429, "retry_after": 7, "times": 1, "usage": usage})),
        issue(3, json!({"text": "ok", "status": 503, "times": 1, "usage": usage})),
        issue(4, json!({"text": "ok", "cut_after": 2, "usage": usage})),
    ]))]}));
    let script = [
        ask_issue(2, 1, false),
        ask_issue(2, 2, false),
        ask_issue(3, 1, false),
        ask_issue(3, 2, false),
        ask_issue(4, 1, true),
        "git add ans-*.txt && git commit -qm answers".into(),
    ]
    .join("\n");
    let up = format!("{}/model/anthropic", sb.model_url);
    let afk = gateway_afk_to(&sb, &up, &key, &script, "");
    let (code, r, err) = afk.poll();
    assert_eq!(code, 0, "poll: {err} {r}");
    afk.wait_agent(1);
    let log = run_log(&afk, 1);
    let ans = |n: u32, i: u32| {
        std::fs::read_to_string(
            afk.scratch
                .path(&format!("state/runs/1/work/ans-{n}-{i}.txt")),
        )
        .unwrap_or_else(|_| panic!("ans-{n}-{i}: {log}"))
    };
    // a 429 with Retry-After reaches the agent unchanged; its retry goes through
    let a = ans(2, 1).to_ascii_lowercase();
    assert!(a.starts_with("http/1.1 429"), "{a}");
    assert!(a.contains("retry-after: 7"), "{a}");
    assert!(a.contains("rate_limit_error"), "{a}");
    assert!(ans(2, 2).starts_with("HTTP/1.1 200"), "{}", ans(2, 2));
    // a 5xx passes back unchanged
    let a = ans(3, 1);
    assert!(a.starts_with("HTTP/1.1 503"), "{a}");
    assert!(ans(3, 2).starts_with("HTTP/1.1 200"), "{}", ans(3, 2));
    // the model's log: every request with the key afk holds
    let asked = sb.admin("GET", "/model/requests", None);
    let asked = asked.as_array().unwrap();
    assert_eq!(asked.len(), 5, "{asked:?}");
    assert!(asked.iter().all(|e| e["key"] == "matched"), "{asked:?}");
    // the metered lines: one per request, each the model log's usage times
    // the prices, the cut one incomplete
    let metered = std::fs::read_to_string(afk.scratch.path("state/runs/1/metered.jsonl")).unwrap();
    let lines: Vec<serde_json::Value> = metered
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 5, "{metered}");
    let n = |v: &serde_json::Value, k: &str| v[k].as_u64().unwrap_or(0);
    let mut want_total = 0u64;
    for (line, entry) in lines.iter().zip(asked) {
        let u = &entry["usage"];
        // $ per million tokens = micro-dollars per token
        let want = n(u, "input") * 3
            + n(u, "output") * 15
            + n(u, "cached") * 3 / 10
            + n(u, "cache_write") * 375 / 100;
        assert_eq!(line["micro_usd"].as_u64(), Some(want), "{line} {entry}");
        assert_eq!(line["status"], entry["status"], "{line} {entry}");
        want_total += want;
    }
    let cut = &lines[4];
    assert_eq!(cut["complete"], false, "{cut}");
    assert_eq!(asked[4]["cut_after"], 2, "{:?}", asked[4]);
    assert!(n(&asked[4]["usage"], "input") > 0, "{:?}", asked[4]);
    assert!(
        lines[..4].iter().all(|l| l["complete"] == true),
        "{metered}"
    );
    let total: u64 = lines.iter().map(|l| n(l, "micro_usd")).sum();
    assert_eq!(total, want_total, "{metered}");
}

#[test]
fn an_unreachable_upstream_is_a_502_that_says_why() {
    let sb = Sandbox::start(json!({"repos": [repo("acme/api", json!([ready(1, "alice")]))]}));
    let key = gateway_key();
    // a loopback port nothing listens on
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let script = (r#"curl -s -m 30 -o ans.txt -w '%{http_code}' -H 'content-type: application/json' -d '{"model":"claude-gw-test","max_tokens":5,"messages":[]}' "$ANTHROPIC_BASE_URL/v1/messages" > code.txt
git add ans.txt code.txt && git commit -qm answers"#)
        .to_string();
    let afk = gateway_afk_to(&sb, &format!("http://127.0.0.1:{port}"), &key, &script, "");
    let (code, r, err) = afk.poll();
    assert_eq!(code, 0, "poll: {err} {r}");
    afk.wait_agent(1);
    let log = run_log(&afk, 1);
    let work = afk.scratch.path("state/runs/1/work");
    let status = std::fs::read_to_string(work.join("code.txt")).unwrap_or_default();
    let body = std::fs::read_to_string(work.join("ans.txt")).unwrap_or_default();
    assert_eq!(status, "502", "{body} {log}");
    assert!(body.contains("cannot reach its upstream"), "{body}");
    assert!(log.contains("cannot reach its upstream"), "{log}");
}

/// Whether afk can make the box's network is asked as the user who makes
/// it in a turn: afk as root names the box's host user
/// (`__box-probe network as=UID:GID`), and the probe becomes it first; what
/// is not such a request is one line and a non-zero exit.
#[test]
fn the_network_probe_runs_as_the_named_host_user_and_refuses_what_is_not_one() {
    // SAFETY: geteuid(2) cannot fail
    let root = unsafe { libc::geteuid() } == 0;
    let who = match root {
        // an unprivileged host user becomes it; root alone may
        true => ("as=65534:65534", 0, ""),
        false => ("as=0:0", 1, "cannot become 0:0"),
    };
    // (rule, arguments, exit, its one line)
    let cases = [
        ("afk's own user", vec!["network"], 0, ""),
        ("a named user", vec!["network", who.0], who.1, who.2),
        (
            "not a user",
            vec!["network", "as=x"],
            1,
            "\"as=x\" is not as=UID:GID",
        ),
        (
            "one more word",
            vec!["network", "as=1:1", "more"],
            1,
            "network takes at most as=UID:GID",
        ),
    ];
    for (rule, args, code, line) in cases {
        let out = std::process::Command::new(afk_bin())
            .arg("__box-probe")
            .args(&args)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "{rule}: {err}");
        assert_eq!(err.lines().count(), usize::from(code != 0), "{rule}: {err}");
        assert!(err.contains(line), "{rule}: {err}");
    }
}

#[test]
fn as_root_doctor_fails_a_box_user_whose_uid_an_account_has() {
    // SAFETY: geteuid(2) cannot fail
    if unsafe { libc::geteuid() } != 0 {
        return; // the box's host user is afk's own when afk is not root
    }
    let sb = Sandbox::start(json!({"repos": [repo("acme/api", json!([]))]}));
    // 65534 is nobody's account: its processes are not afk's
    let afk = boxed_afk(&sb, |_| {
        "command = [\"true\"]\n[runner.box]\nuser = \"65534:65534\"\n".into()
    });
    let (_, out, err) = text(&afk, &["doctor"]);
    let line = out
        .lines()
        .chain(err.lines())
        .find(|l| l.contains("the box's user is host uid 65534"))
        .unwrap_or_else(|| panic!("{out}{err}"));
    assert!(
        line.starts_with("FAIL") && line.contains("is an account's"),
        "{line}"
    );
    // the default: ids nobody has
    let afk = boxed_afk(&sb, |_| "command = [\"true\"]\n".into());
    let (_, out, err) = text(&afk, &["doctor"]);
    let line = out
        .lines()
        .chain(err.lines())
        .find(|l| l.contains("the box's user is host uid"))
        .unwrap_or_else(|| panic!("{out}{err}"));
    assert!(line.starts_with("ok"), "{line}");
}

/// The tracker's token never reaches the agent (docs/security.md):
/// a boxed agent working a Jira issue finds it nowhere (its environment,
/// its files and the checkout's git config, any process's environment or
/// command line) and cannot reach the tracker's API, directly or through
/// the box's forwarder; and afk writes it nowhere of the run's (its
/// folder, its rows, its log, what watch, doctor and status print).
#[test]
fn a_boxed_agent_on_a_jira_issue_holds_no_tracker_token_and_cannot_reach_the_tracker() {
    let sb = Sandbox::start(json!({"repos": [repo("acme/api", json!([]))]}));
    // the sandbox's model shares the tracker's host, which `runner.box.allow`
    // may not name: this agent is let out to nothing
    let mut afk = boxed_afk(&sb, |dir| {
        format!(
            "agent = \"custom\"\ncommand = [\"sh\", \"{}\"]",
            dir.join("probe.sh").display()
        )
    });
    let (block, token) = crate::tracker_jira::jira_people_and_block(&sb);
    let cfg = afk.scratch.path("afk.toml");
    let text = std::fs::read_to_string(&cfg).unwrap();
    // spans go to the sandbox's collector, to be searched too
    let spans = format!("\n[telemetry]\nenabled = true\nendpoint = \"{}\"\n", sb.url);
    std::fs::write(&cfg, text + &block + &spans).unwrap();
    afk.env.push(("AFK_TRACKER_TOKEN".into(), token.clone()));
    // the probe searches for the token without holding it whole
    let (head, tail) = token.split_at(6);
    let tracker = format!("{}/rest/api/3/myself", sb.url.trim_end_matches('/'));
    let extra = format!(
        r#"k="{head}""{tail}"
if env | grep -qF "$k"; then echo tracker_env=LEAK >> $o; fi
if grep -rqsF "$k" "$HOME" . /tmp /run 2>/dev/null; then echo tracker_file=LEAK >> $o; fi
if git config --list --show-origin 2>/dev/null | grep -qF "$k"; then echo tracker_git=LEAK >> $o; fi
for f in /proc/[0-9]*/environ /proc/[0-9]*/cmdline; do if grep -qsF "$k" "$f"; then echo "tracker_proc=LEAK $f" >> $o; fi; done
if curl -s -m 5 -o /dev/null --noproxy '*' {tracker}; then echo tracker=LEAK >> $o; else echo tracker=no >> $o; fi
echo "tracker_proxied=$(env -u NO_PROXY -u no_proxy curl -s -m 5 -o /dev/null -w '%{{http_code}}' -x http://127.0.0.1:3128 {tracker})" >> $o
git add $o"#
    );
    let script = probe(&afk, &sb).replace("git add $o", &extra);
    assert_ne!(script, probe(&afk, &sb));
    afk.scratch.write("probe.sh", &script);
    let id = crate::tracker_jira::issue(&sb, "alice-1", &[]);
    crate::tracker_jira::arm(&sb, &id, "alice-1", serde_json::Value::Null);
    let (code, r, err) = afk.poll();
    assert_eq!(code, 0, "{err} {r}");
    assert_eq!(r["dispatched"].as_array().map(Vec::len), Some(1), "{r}");
    assert_eq!(afk.wait_agent(1), 0, "{}", run_log(&afk, 1));
    let found = findings(&afk);
    assert!(!found.contains("LEAK"), "{found}");
    assert!(found.contains("tracker=no\n"), "{found}");
    assert!(found.contains("tracker_proxied=403\n"), "{found}");
    // the checkout's commit became the pull request, and then nothing of
    // afk's (its output, the run's folder, its rows) holds the token
    let seen = crate::tracker_linear::all_afk_wrote(&afk);
    assert_eq!(sb.open_prs("acme/api").len(), 1, "{seen}");
    assert!(
        !seen.contains(&token),
        "the Jira token is in what afk wrote"
    );
    // nor any file of afk's state (the state file, the journal, every
    // run's folder), nor a span the collector received
    for f in walk(&afk.scratch.path("state")) {
        let bytes = std::fs::read(&f).unwrap_or_default();
        assert!(
            !bytes.windows(token.len()).any(|w| w == token.as_bytes()),
            "{} holds the Jira token",
            f.display()
        );
    }
    let received = sb.admin("GET", "/otlp", None)["requests"].to_string();
    assert!(received.contains("afk.poll"), "spans were sent: {received}");
    assert!(!received.contains(&token), "a span holds the Jira token");
}
