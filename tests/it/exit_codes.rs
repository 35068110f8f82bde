//! docs/exit-codes.md walked with `--json`: each code of the table provoked
//! through the binary, for every tick it applies to (poll, watch, harvest,
//! upgrade; `upgrade verdict` for 3 and 4), in a world where each tick has
//! work that goes to the forge: an issue to dispatch, a run in flight, a
//! merged success inside its revert window, a recipe with a bump. Each row
//! checks the documented code and that stdout is exactly one JSON document
//! (docs/reports.md), whatever the exit path: the report, a configuration
//! error, the deadline's watchdog, SIGTERM.

use crate::support::*;
use crate::upgrade::{COMPOSE, MIRROR, Setup, setup};
use serde_json::{Value, json};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const TICKS: &[&str] = &["poll", "watch", "harvest", "upgrade"];

/// A world where every tick calls the forge: acme/api#1 and acme/ops#1
/// dispatched on a template version (their agents ended: watch has runs to
/// follow), acme/web#1's run a success merged into main (harvest reads main
/// for its revert), acme/new#1 ready (poll has an issue to claim); upgrade's
/// nginx recipe with tags to bump.
fn world() -> Setup {
    let s = setup(COMPOSE, "nothing", "");
    let repos = json!({"repos": [
        repo("acme/api", json!([ready(1, "alice")])),
        repo("acme/ops", json!([ready(1, "alice")])),
        repo("acme/web", json!([ready(1, "alice")])),
        repo("acme/new", json!([])),
    ]});
    s.sb.admin("POST", "/seed", Some(repos));
    let text = std::fs::read_to_string(&s.afk.config).unwrap();
    let poll = "[poll]\nenabled = true\nallowlist = [\"acme/api\", \"acme/ops\", \"acme/web\", \"acme/new\"]\n";
    std::fs::write(&s.afk.config, format!("{text}\n{poll}")).unwrap();
    let v1 = s.afk.scratch.write("v1.md", "implementer v1\n");
    let out = s
        .afk
        .cmd()
        .args(["template", "add", "implementer", "--file"])
        .arg(&v1)
        .output()
        .unwrap();
    assert_success(&out);
    let (code, r, err) = s.afk.poll();
    assert_eq!(code, 0, "{err}\n{r}");
    assert_eq!(r["dispatched"].as_array().map(Vec::len), Some(3), "{r}");
    for id in [1, 2, 3] {
        s.afk.wait_agent(id);
    }
    let main = git(&s.sb.git.join("acme/web.git"), &["rev-parse", "main"]);
    let ago = |m: i64| {
        (time::OffsetDateTime::now_utc() - time::Duration::minutes(m))
            .replace_nanosecond(0)
            .unwrap()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap()
    };
    s.afk.sql(&format!(
        "UPDATE runs SET state = 'succeeded', merge_sha = '{main}', base_branch = 'main',
           merged_at = '{0}', ended_at = '{0}' WHERE repo = 'acme/web'",
        ago(20)
    ));
    let issue = json!({"repo": "acme/new", "issue": ready(1, "alice")});
    s.sb.admin("POST", "/issues", Some(issue));
    s
}

/// How a row provokes its code.
#[derive(Clone, Copy)]
enum Provoke {
    /// the tick, with nothing in its way
    Ran,
    DryRun,
    /// `poll.enabled = false`
    KillSwitch,
    StopFile,
    /// another process holds the tick's lock
    LockHeld,
    /// every forge and registry call fails with 500 on acme/ops and acme/web
    /// (and on postgres's tags: upgrade's one failing image of two)
    PartlyDown,
    /// every connection dropped
    Unreachable,
    /// the forge refuses the token
    TokenRefused,
    /// another process holds the state file's write lock past the busy wait
    BusyState,
    /// a flag clap does not know
    UnknownFlag,
    /// an unknown key in the config
    ConfigKey,
    /// no forge token in the environment
    NoToken,
    /// every call hangs past `tick_timeout`
    Deadline,
    /// SIGTERM while every call hangs
    Sigterm,
    /// SIGTERM while the tick waits for a busy state file, which ends in an
    /// error inside its grace
    SigtermBusy,
}

struct Row {
    name: &'static str,
    provoke: Provoke,
    /// (tick, documented code)
    expect: &'static [(&'static str, u8)],
}

const fn all(code: u8) -> [(&'static str, u8); 4] {
    [
        ("poll", code),
        ("watch", code),
        ("harvest", code),
        ("upgrade", code),
    ]
}

const ALL_0: [(&str, u8); 4] = all(0);
const ALL_1: [(&str, u8); 4] = all(1);
const ALL_2: [(&str, u8); 4] = all(2);
const ALL_143: [(&str, u8); 4] = all(143);

const ROWS: &[Row] = &[
    Row {
        name: "0: the tick ran",
        provoke: Provoke::Ran,
        expect: &ALL_0,
    },
    Row {
        name: "0: a dry run",
        provoke: Provoke::DryRun,
        expect: &ALL_0,
    },
    Row {
        name: "0: the kill switch",
        provoke: Provoke::KillSwitch,
        expect: &[("poll", 0)],
    },
    Row {
        name: "0: the stop file",
        provoke: Provoke::StopFile,
        expect: &ALL_0,
    },
    Row {
        name: "0: another tick holds the lock (stepped aside)",
        provoke: Provoke::LockHeld,
        expect: &ALL_0,
    },
    Row {
        name: "1: part of the tick failed",
        provoke: Provoke::PartlyDown,
        expect: &ALL_1,
    },
    Row {
        name: "1: the forge is unreachable",
        provoke: Provoke::Unreachable,
        expect: &ALL_1,
    },
    Row {
        name: "1: the forge refuses the token",
        provoke: Provoke::TokenRefused,
        expect: &ALL_1,
    },
    Row {
        name: "1: the state file is busy",
        provoke: Provoke::BusyState,
        expect: &ALL_1,
    },
    Row {
        name: "2: an unknown flag",
        provoke: Provoke::UnknownFlag,
        expect: &ALL_2,
    },
    Row {
        name: "2: an unknown config key",
        provoke: Provoke::ConfigKey,
        expect: &ALL_2,
    },
    // harvest asks for its forge only when a merged success is watched for
    // reverts: by then it recorded outcomes and decided canaries, so the
    // missing token is its error, exit 1, not "nothing was touched"
    Row {
        name: "2: no forge token",
        provoke: Provoke::NoToken,
        expect: &[("poll", 2), ("watch", 2), ("harvest", 1), ("upgrade", 2)],
    },
    // upgrade's deadline is at least an hour (`core::tick_deadline::timeout_for`)
    Row {
        name: "5: the deadline",
        provoke: Provoke::Deadline,
        expect: &[("poll", 5), ("watch", 5), ("harvest", 5)],
    },
    Row {
        name: "143: SIGTERM",
        provoke: Provoke::Sigterm,
        expect: &ALL_143,
    },
    Row {
        name: "143: SIGTERM, the state file busy",
        provoke: Provoke::SigtermBusy,
        expect: &[("watch", 143), ("harvest", 143)],
    },
];

/// What one afk process left: its exit code (128 + the signal that ended
/// it, as a shell says), stdout and stderr.
struct Ended {
    code: i32,
    stdout: String,
    stderr: String,
}

impl From<Output> for Ended {
    fn from(o: Output) -> Ended {
        use std::os::unix::process::ExitStatusExt;
        Ended {
            code: o
                .status
                .code()
                .unwrap_or_else(|| 128 + o.status.signal().unwrap_or(0)),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

/// stdout as JSON documents: exactly one, or the test fails saying what.
fn one_document(what: &str, e: &Ended) -> Value {
    let mut docs = serde_json::Deserializer::from_str(&e.stdout).into_iter::<Value>();
    let doc = match docs.next() {
        Some(Ok(d)) => d,
        other => panic!(
            "{what}: no JSON document ({other:?}): stdout {:?}\nstderr {}",
            e.stdout, e.stderr
        ),
    };
    let rest: Vec<_> = docs.collect();
    assert!(
        rest.is_empty(),
        "{what}: more than one document: {}\nstderr {}",
        e.stdout,
        e.stderr
    );
    doc
}

/// `afk --json [flags] <tick> [args]` in `s`'s world, with `env` added.
fn tick_cmd(s: &Setup, flags: &[&str], tick: &str, env: &[(&str, &str)]) -> Command {
    let mut c = s.afk.std_cmd();
    c.arg("--json").args(flags).arg(tick);
    for (k, v) in env {
        c.env(k, v);
    }
    c.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    c
}

fn run(mut c: Command) -> Ended {
    c.output().unwrap().into()
}

/// Put `line` at the top of the config (a top-level key).
fn config_top(s: &Setup, line: &str) {
    let text = std::fs::read_to_string(&s.afk.config).unwrap();
    std::fs::write(&s.afk.config, format!("{line}\n{text}")).unwrap();
}

/// A process holding `lock` by `flock`, as an operator's `flock(1)` wrapper
/// or another tick would, once it holds it.
fn lock_holder(lock: &std::path::Path) -> Child {
    use std::io::BufRead;
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(r#"exec 9>>"$1" && flock 9 && echo held && exec sleep 1000"#)
        .arg("sh")
        .arg(lock)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.as_mut().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line.trim(), "held");
    child
}

/// Whether `pid` handles SIGTERM (its handler is installed: the tick armed
/// its deadline), from `/proc/<pid>/status`'s `SigCgt` mask.
fn handles_sigterm(pid: u32) -> bool {
    let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) else {
        return false;
    };
    status
        .lines()
        .find_map(|l| l.strip_prefix("SigCgt:"))
        .and_then(|m| u64::from_str_radix(m.trim(), 16).ok())
        .is_some_and(|m| m & (1 << (libc::SIGTERM - 1)) != 0)
}

/// Each tick of `ticks` started at once, `each` done to every child, then
/// waited for, each read to its end by a thread of its own (bounded: a tick
/// that never ends is killed and fails the test).
fn side_by_side(
    s: &Setup,
    ticks: &[&str],
    env: &[(&str, &str)],
    each: impl Fn(&Child),
) -> Vec<Ended> {
    let children: Vec<Child> = ticks
        .iter()
        .map(|t| tick_cmd(s, &[], t, env).spawn().unwrap())
        .collect();
    for c in &children {
        each(c);
    }
    let pids: Vec<u32> = children.iter().map(Child::id).collect();
    let (tx, rx) = std::sync::mpsc::channel();
    for (i, c) in children.into_iter().enumerate() {
        let tx = tx.clone();
        std::thread::spawn(move || tx.send((i, c.wait_with_output().unwrap())));
    }
    let mut ended: Vec<Option<Ended>> = ticks.iter().map(|_| None).collect();
    for _ in ticks {
        match rx.recv_timeout(Duration::from_secs(90)) {
            Ok((i, out)) => ended[i] = Some(out.into()),
            Err(_) => {
                for (i, pid) in pids.iter().enumerate() {
                    if ended[i].is_none() {
                        // SAFETY: kill(2) on a child this test started, by its id
                        unsafe { libc::kill(*pid as i32, libc::SIGKILL) };
                    }
                }
                panic!("a tick did not end within 90 s");
            }
        }
    }
    ended.into_iter().map(Option::unwrap).collect()
}

/// The row's ticks run as it says, in a fresh world each.
fn provoke(row: &Row) -> Vec<(&'static str, Ended)> {
    let s = world();
    let ticks: Vec<&str> = row.expect.iter().map(|(t, _)| *t).collect();
    let each = |f: &dyn Fn(&str) -> Ended| ticks.iter().map(|t| (*t, f(t))).collect();
    match row.provoke {
        Provoke::Ran => each(&|t| run(tick_cmd(&s, &[], t, &[]))),
        Provoke::DryRun => each(&|t| run(tick_cmd(&s, &["--dry-run"], t, &[]))),
        Provoke::KillSwitch => {
            let text = std::fs::read_to_string(&s.afk.config).unwrap();
            let off = text.replace("enabled = true", "enabled = false");
            std::fs::write(&s.afk.config, off).unwrap();
            each(&|t| run(tick_cmd(&s, &[], t, &[])))
        }
        Provoke::StopFile => {
            s.afk.scratch.write("state/STOP", "");
            each(&|t| run(tick_cmd(&s, &[], t, &[])))
        }
        Provoke::LockHeld => each(&|t| {
            let mut holder = lock_holder(&s.afk.scratch.path(&format!("state/{t}.lock")));
            let e = run(tick_cmd(&s, &[], t, &[]));
            holder.kill().unwrap();
            holder.wait().unwrap();
            e
        }),
        Provoke::PartlyDown => {
            s.sb.faults(json!([
                {"path": "acme/ops", "status": 500},
                {"path": "acme/web", "status": 500},
                {"path": "library/postgres", "status": 500},
            ]));
            each(&|t| run(tick_cmd(&s, &[], t, &[])))
        }
        Provoke::Unreachable => {
            s.sb.faults(json!([{"drop": true}]));
            each(&|t| run(tick_cmd(&s, &[], t, &[])))
        }
        Provoke::TokenRefused => each(&|t| {
            run(tick_cmd(
                &s,
                &[],
                t,
                &[("AFK_FORGE_TOKEN", "not-the-token")],
            ))
        }),
        Provoke::BusyState => {
            let c = rusqlite::Connection::open(s.afk.state()).unwrap();
            c.execute_batch("BEGIN EXCLUSIVE").unwrap();
            let ended = each(&|t| run(tick_cmd(&s, &[], t, &[("AFK_BUSY_TIMEOUT_MS", "100")])));
            c.execute_batch("ROLLBACK").unwrap();
            ended
        }
        Provoke::UnknownFlag => each(&|t| {
            let mut c = tick_cmd(&s, &[], t, &[]);
            c.arg("--no-such-flag");
            run(c)
        }),
        Provoke::ConfigKey => {
            config_top(&s, "tick_timout = \"1m\"");
            each(&|t| run(tick_cmd(&s, &[], t, &[])))
        }
        Provoke::NoToken => each(&|t| {
            let mut c = tick_cmd(&s, &[], t, &[]);
            c.env_remove("AFK_FORGE_TOKEN");
            run(c)
        }),
        Provoke::Deadline => {
            config_top(&s, "tick_timeout = \"10s\"");
            s.sb.faults(json!([{"hang": true}]));
            let ended = poll_then_the_rest(&s, &ticks, |_| {});
            ticks.iter().copied().zip(ended).collect()
        }
        Provoke::Sigterm => {
            config_top(&s, "tick_timeout = \"10s\"");
            s.sb.faults(json!([{"hang": true}]));
            let ended = poll_then_the_rest(&s, &ticks, sigterm);
            ticks.iter().copied().zip(ended).collect()
        }
        // the busy wait (3 s) ends inside SIGTERM's grace (10 s)
        Provoke::SigtermBusy => {
            let env = [("AFK_BUSY_TIMEOUT_MS", "3000")];
            busy(&s, || side_by_side(&s, &ticks, &env, sigterm), &ticks)
        }
    }
}

/// `ticks` side by side, poll (first, where it is one) on its own before
/// the rest: a watch beside it may hold the poll lock for a moment (it
/// resolves claims a dead poll left) and poll would rightly step aside.
fn poll_then_the_rest(s: &Setup, ticks: &[&str], each: impl Fn(&Child) + Copy) -> Vec<Ended> {
    match ticks.split_first() {
        Some((&"poll", rest)) => {
            let mut ended = side_by_side(s, &["poll"], &[], each);
            ended.extend(side_by_side(s, rest, &[], each));
            ended
        }
        _ => side_by_side(s, ticks, &[], each),
    }
}

/// `f` run while this process holds the state file's write lock.
fn busy(
    s: &Setup,
    f: impl FnOnce() -> Vec<Ended>,
    ticks: &[&'static str],
) -> Vec<(&'static str, Ended)> {
    let c = rusqlite::Connection::open(s.afk.state()).unwrap();
    c.execute_batch("BEGIN EXCLUSIVE").unwrap();
    let ended = f();
    c.execute_batch("ROLLBACK").unwrap();
    ticks.iter().copied().zip(ended).collect()
}

/// SIGTERM to `c` once it handles it (the tick armed its deadline).
fn sigterm(c: &Child) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !handles_sigterm(c.id()) {
        assert!(Instant::now() < deadline, "the tick never armed");
        std::thread::yield_now();
    }
    // SAFETY: kill(2) on a child this test started, by its id
    unsafe { libc::kill(c.id() as i32, libc::SIGTERM) };
}

/// Every row of the table: the documented code and exactly one document.
#[test]
fn every_exit_code_of_every_tick_prints_exactly_one_json_document() {
    let mut wrong = vec![];
    for row in ROWS {
        for ((tick, e), (_, want)) in provoke(row).into_iter().zip(row.expect) {
            let what = format!("{} ({tick})", row.name);
            let doc = one_document(&what, &e);
            if e.code != i32::from(*want) {
                wrong.push(format!(
                    "{what}: exit {} (documented {want})\n  {doc}\n  stderr: {}",
                    e.code,
                    e.stderr.trim()
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// `upgrade verdict`'s own codes: 3 PENDING, 4 unreadable, 2 a usage error
/// found after parsing; one document each.
#[test]
fn upgrade_verdict_s_codes_print_exactly_one_json_document() {
    let s = setup(COMPOSE, "nothing", "");
    let (code, r, err) = s.afk.json(&["upgrade"]);
    assert_eq!(code, 0, "{err}\n{r}");
    let pr = crate::upgrade::pr_of(&r)["number"]
        .as_u64()
        .expect("a bump PR");
    let pr = pr.to_string();
    for (args, want) in [
        (vec!["upgrade", "verdict", MIRROR, &pr], 3),
        (vec!["upgrade", "verdict", MIRROR, "999"], 4),
        (vec!["upgrade", "verdict", "not-a-repo", "1"], 2),
    ] {
        let e = run({
            let mut c = s.afk.std_cmd();
            c.arg("--json").args(&args);
            c.stdout(Stdio::piped()).stderr(Stdio::piped());
            c
        });
        let doc = one_document(&format!("{args:?}"), &e);
        assert_eq!(e.code, want, "{args:?}: {doc}\n{}", e.stderr);
    }
}

/// 141: a stdout closed before the report is written ends the tick by
/// SIGPIPE (no document can be read there), for every tick.
#[test]
fn a_closed_stdout_ends_every_tick_with_141() {
    let s = world();
    for t in TICKS {
        let mut c = tick_cmd(&s, &[], t, &[]);
        let mut child = c.spawn().unwrap();
        drop(child.stdout.take());
        let e: Ended = child.wait_with_output().unwrap().into();
        assert_eq!(e.code, 141, "{t}: {}", e.stderr);
    }
}
