//! Whether this machine can make a box, and doctor's probe run inside one.

use super::paths::{cannot_box_fix, find_bwrap};
use crate::core::agent_box::forwarder::HostPort;
use crate::types::Invalid;
use std::io::{BufRead, BufReader, Read, Write};

/// Whether this machine can make a box: bubblewrap is there and makes one
/// (a user, pid and network namespace), and afk makes a user and network
/// namespace of its own (the box's network, inside.rs); else the fix, in
/// one line. Afk as root asks both as the box's host user (the default
/// `runner.box.user` here), who makes them in a turn.
pub fn can_box() -> std::result::Result<(), Invalid> {
    // SAFETY: geteuid(2) cannot fail
    let root = unsafe { libc::geteuid() } == 0;
    let host = root
        .then(|| crate::config::Runner::default().boxed.host_user().ok())
        .flatten();
    can_box_here(host)
}

/// [`can_box`] as `host` (afk as root: the box's host user, `Boxer::host_user`).
pub fn can_box_here(host: Option<(u32, u32)>) -> std::result::Result<(), Invalid> {
    let afk =
        std::env::current_exe().map_err(|e| Invalid(cannot_box_fix(&afk_host::os_words(&e))))?;
    can_box_as(&afk, host)
}

/// [`can_box_here`], afk's own program being `afk` (the keeper's).
pub fn can_box_as(
    afk: &std::path::Path,
    host: Option<(u32, u32)>,
) -> std::result::Result<(), Invalid> {
    use std::os::unix::process::CommandExt;
    let bwrap = find_bwrap().ok_or_else(|| Invalid(cannot_box_fix("bwrap")))?;
    let mut cmd = std::process::Command::new(bwrap);
    if let Some((uid, gid)) = host {
        // std drops root's supplementary groups with the change of user
        cmd.uid(uid).gid(gid);
    }
    let out = cmd
        .args([
            "--unshare-all",
            "--uid",
            "1000",
            "--ro-bind",
            "/",
            "/",
            "--proc",
            "/proc",
            "--dev",
            "/dev",
            "--",
            "true",
        ])
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| Invalid(cannot_box_fix(&afk_host::os_words(&e))))?;
    // SAFETY: geteuid(2) cannot fail
    if out.status.success() {
        return match host.is_none() && unsafe { libc::geteuid() } == 0 {
            // root makes its own namespaces (no host user to become)
            true => Ok(()),
            false => afk_makes_a_network(afk, host),
        };
    }
    let err = String::from_utf8_lossy(&out.stderr);
    let first = err.lines().next().unwrap_or("bwrap failed").trim();
    Err(Invalid(cannot_box_fix(&crate::core::sanitize::one_line(
        first, 200,
    ))))
}

/// Whether afk's program makes a user and network namespace of its own
/// here (a machine may let only listed programs make them): asked of a
/// new process (`afk __box-probe network [as=UID:GID]`), for the tick's
/// own is not dumpable and so may not write a new namespace's maps. With
/// `host`, the probe (root) becomes that user first, as a turn's
/// bubblewrap process does (`keeper::before_bwrap`).
fn afk_makes_a_network(
    afk: &std::path::Path,
    host: Option<(u32, u32)>,
) -> std::result::Result<(), Invalid> {
    let mut args = vec![super::PROBE_CMD.to_string(), NETWORK.to_string()];
    if let Some((uid, gid)) = host {
        args.push(format!("{AS}{uid}:{gid}"));
    }
    let out = std::process::Command::new(afk)
        .args(&args)
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| Invalid(cannot_box_fix(&afk_host::os_words(&e))))?;
    if out.status.success() {
        return Ok(());
    }
    let err = String::from_utf8_lossy(&out.stderr);
    let first = err
        .lines()
        .next()
        .unwrap_or("afk cannot make a network namespace");
    Err(Invalid(cannot_box_fix(&crate::core::sanitize::one_line(
        first.trim(),
        200,
    ))))
}

/// The probe's argument that asks [`afk_makes_a_network`].
const NETWORK: &str = "network";
/// Its optional second argument: the host user to become first.
const AS: &str = "as=";

/// `network [as=UID:GID]`: whether afk makes a box's network here, as that
/// user when one is named (the probe is then root and becomes it).
fn network(args: &[String]) -> std::result::Result<(), Invalid> {
    match args {
        [_] => {}
        [_, who] => {
            let ids = who
                .strip_prefix(AS)
                .and_then(|w| w.split_once(':'))
                .and_then(|(u, g)| u.parse::<u32>().ok().zip(g.parse::<u32>().ok()))
                .ok_or_else(|| Invalid(format!("{who:?} is not as=UID:GID")))?;
            become_user(ids)?;
        }
        _ => return Err(Invalid("network takes at most as=UID:GID".into())),
    }
    super::inside::can_make()
}

/// This process becomes `uid:gid`, with no supplementary group.
fn become_user((uid, gid): (u32, u32)) -> std::result::Result<(), Invalid> {
    // SAFETY: each call changes only this process's credentials
    let ok = unsafe {
        libc::setgroups(0, std::ptr::null()) == 0
            && libc::setresgid(gid, gid, gid) == 0
            && libc::setresuid(uid, uid, uid) == 0
    };
    match ok {
        true => Ok(()),
        false => Err(Invalid(format!(
            "cannot become {uid}:{gid}: {}",
            afk_host::os_words(&std::io::Error::last_os_error())
        ))),
    }
}

/// Doctor's probe inside a box (`afk __box-probe state=STATE MODEL FORGE`): one
/// line each, whether afk's state file can be read and whether the model's
/// and the forge's `host:port` are let out (through the box's proxy).
pub fn probe(args: &[String]) -> i32 {
    if args.first().map(String::as_str) == Some(NETWORK) {
        return match network(args) {
            Ok(()) => 0,
            Err(why) => {
                super::said::say(&why.0);
                1
            }
        };
    }
    let asked = Asked::of(args);
    let state = if std::fs::File::open(asked.state).is_ok() {
        "readable"
    } else {
        "hidden"
    };
    afk_host::say::out(&format!("state={state}"));
    for f in &asked.reads {
        if std::fs::File::open(f).is_ok() {
            afk_host::say::out(&format!("env=readable {f}"));
        }
    }
    let proxy = std::env::var("HTTPS_PROXY")
        .ok()
        .and_then(|p| HostPort::of_url(&p))
        .map(|h| h.port);
    for (name, target) in [("model", asked.model), ("forge", asked.forge)] {
        let said = match (proxy, target.is_empty()) {
            (_, true) => "unknown".to_string(),
            (None, _) => "no-proxy".to_string(),
            (Some(port), false) => connect_through(port, target),
        };
        afk_host::say::out(&format!("{name}={said}"));
    }
    0
}

/// What doctor asks the probe: `state=STATE MODEL FORGE [read=FILE]...`
/// (an unknown model or forge is an empty argument).
#[derive(Debug, PartialEq)]
struct Asked<'a> {
    state: &'a str,
    model: &'a str,
    forge: &'a str,
    /// Files the box must not show (afk's environment files).
    reads: Vec<&'a str>,
}

impl<'a> Asked<'a> {
    fn of(args: &'a [String]) -> Asked<'a> {
        let get = |i: usize| args.get(i).map(String::as_str).unwrap_or("");
        Asked {
            state: get(0).strip_prefix("state=").unwrap_or(get(0)),
            model: get(1),
            forge: get(2),
            reads: args
                .iter()
                .filter_map(|a| a.strip_prefix("read="))
                .collect(),
        }
    }
}

fn connect_through(port: u16, target: &str) -> String {
    let Ok(mut c) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return "no-proxy".into();
    };
    let _ = c.set_read_timeout(Some(std::time::Duration::from_secs(15)));
    if c.write_all(format!("CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n").as_bytes())
        .is_err()
    {
        return "no-proxy".into();
    }
    let mut first = Vec::new();
    let _ = BufReader::new(&c).take(200).read_until(b'\n', &mut first);
    proxy_said(&String::from_utf8_lossy(&first))
}

/// The box's proxy's answer to `CONNECT`, in the probe's word.
fn proxy_said(status_line: &str) -> String {
    match status_line.split_whitespace().nth(1) {
        Some("200") => "reached".into(),
        Some("403") => "refused".into(),
        Some(code) => format!("failed ({code})"),
        None => "failed".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_probe_reads_what_doctor_asks() {
        let s = |v: &[&str]| v.iter().map(|a| a.to_string()).collect::<Vec<_>>();
        let cases: [(Vec<String>, Asked); 4] = [
            (
                s(&["state=/var/lib/afk/state.db", "api.x:443", "git.x:443"]),
                Asked {
                    state: "/var/lib/afk/state.db",
                    model: "api.x:443",
                    forge: "git.x:443",
                    reads: vec![],
                },
            ),
            (
                s(&["state=/s.db", "", "", "read=/etc/afk/env", "read=/e2"]),
                Asked {
                    state: "/s.db",
                    model: "",
                    forge: "",
                    reads: vec!["/etc/afk/env", "/e2"],
                },
            ),
            // a state without its prefix is the path itself
            (
                s(&["/s.db"]),
                Asked {
                    state: "/s.db",
                    model: "",
                    forge: "",
                    reads: vec![],
                },
            ),
            (
                vec![],
                Asked {
                    state: "",
                    model: "",
                    forge: "",
                    reads: vec![],
                },
            ),
        ];
        for (args, want) in cases {
            assert_eq!(Asked::of(&args), want, "{args:?}");
        }
    }

    #[test]
    fn the_proxys_answer_is_one_word() {
        let cases = [
            ("HTTP/1.1 200 Connection established\r\n", "reached"),
            ("HTTP/1.1 403 Forbidden\r\n", "refused"),
            ("HTTP/1.1 502 Bad Gateway\r\n", "failed (502)"),
            ("", "failed"),
        ];
        for (line, want) in cases {
            assert_eq!(proxy_said(line), want, "{line:?}");
        }
    }
}
