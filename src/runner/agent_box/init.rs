//! The init: `afk __box-init JSON`, the box's pid 1: becomes the box's
//! user, listens inside and relays to the keeper, starts the agent, reaps.

use super::keeper::relay;
use super::said::say;
use crate::core::agent_box::{self as rules, HostPort, InitSpec};
use std::io::{BufRead, BufReader, Read, Write};

// ---- the init: `afk __box-init JSON`, the box's pid 1 ----

/// The box's pid 1: relays, the agent, reaping; exits with the agent's status.
pub fn init(json: &str) -> i32 {
    if let Err(code) = become_the_box_user() {
        return code;
    }
    // the forwarder's socket is the init's alone: no process it starts has it
    // SAFETY: fcntl(2) on a descriptor number (not open: nothing happens)
    unsafe {
        libc::fcntl(rules::NET_FD, libc::F_SETFD, libc::FD_CLOEXEC);
    }
    let spec: InitSpec = match serde_json::from_str(json) {
        Ok(s) => s,
        Err(e) => {
            say(&format!("the init's spec: {e}"));
            return 126;
        }
    };
    if let Some(dir) = &spec.chdir
        && let Err(e) = std::env::set_current_dir(dir)
    {
        say(&format!("cannot enter {}: {e}", dir.display()));
        return 126;
    }
    for hp in &spec.listen {
        match std::net::TcpListener::bind(listen_addr(hp)) {
            Ok(l) => {
                let target = hp.to_string();
                std::thread::spawn(move || {
                    for c in l.incoming().flatten() {
                        let target = target.clone();
                        std::thread::spawn(move || relay_out(c, &target, &[]));
                    }
                });
            }
            Err(e) => say(&format!("cannot listen on {hp} in the box: {e}")),
        }
    }
    if let Some(port) = spec.gateway {
        // the model gateway's port: each connection to the keeper's gateway
        match std::net::TcpListener::bind(("127.0.0.1", port)) {
            Ok(l) => {
                std::thread::spawn(move || {
                    for c in l.incoming().flatten() {
                        std::thread::spawn(move || relay_out(c, super::gateway::LINE, &[]));
                    }
                });
            }
            Err(e) => say(&format!(
                "cannot listen on the model gateway's port {port}: {e}"
            )),
        }
    }
    if let Some(port) = spec.proxy {
        match std::net::TcpListener::bind(("127.0.0.1", port)) {
            Ok(l) => {
                std::thread::spawn(move || {
                    for c in l.incoming().flatten() {
                        std::thread::spawn(move || proxy_one(c));
                    }
                });
            }
            Err(e) => say(&format!("cannot listen on the proxy's port {port}: {e}")),
        }
    }
    let Some((prog, args)) = spec.argv.split_first() else {
        say("no command");
        return 126;
    };
    let child = match std::process::Command::new(prog).args(args).spawn() {
        Ok(c) => c,
        Err(e) => {
            say(&format!("cannot start {prog}: {e}"));
            return 127;
        }
    };
    let agent = child.id() as libc::pid_t;
    loop {
        let mut status = 0;
        // SAFETY: waitpid on any child; pid 1 reaps every orphan of the box.
        let pid = unsafe { libc::waitpid(-1, &mut status, 0) };
        if pid == agent {
            return exit_of(status);
        }
        if pid == -1 && std::io::Error::last_os_error().raw_os_error() != Some(libc::EINTR) {
            return 126;
        }
    }
}

/// Where the init listens for one of the model's loopback `host:port`s.
fn listen_addr(hp: &HostPort) -> String {
    let addr = if hp.host == "localhost" {
        "127.0.0.1".to_string()
    } else if hp.host.contains(':') {
        format!("[{}]", hp.host)
    } else {
        hp.host.clone()
    };
    format!("{addr}:{}", hp.port)
}

/// The init's exit status for the agent's wait status: its own, or 128 +
/// the signal that ended it.
fn exit_of(status: libc::c_int) -> i32 {
    if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        128 + libc::WTERMSIG(status)
    }
}

/// afk as root: the box starts as its namespace's root (for bubblewrap's
/// mounts); before anything else, the init becomes the box's user, and
/// every capability goes with the change (no process of the box is root).
/// Err: the exit status when it cannot.
fn become_the_box_user() -> Result<(), i32> {
    // afk as root: the box starts as its namespace's root (for bubblewrap's
    // mounts); before anything else, the init becomes the box's user, and
    // every capability goes with the change (no process of the box is root)
    // SAFETY: geteuid, setgroups, setgid and setuid on this process
    if unsafe { libc::geteuid() } == 0 {
        let id = rules::BOX_UID;
        let dropped = unsafe {
            libc::setgroups(0, std::ptr::null()) == 0
                && libc::setgid(id) == 0
                && libc::setuid(id) == 0
        };
        if !dropped || unsafe { libc::geteuid() } == 0 {
            say(&format!(
                "cannot become the box's user: {}",
                std::io::Error::last_os_error()
            ));
            return Err(126);
        }
        // SAFETY: umask(2) cannot fail; prctl(2) re-arms what the change
        // of user cleared: the box dies with bubblewrap
        unsafe {
            libc::umask(0o077);
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
        }
    }
    Ok(())
}

/// Ask the keeper for `target`: a connection of its own (one end of a new
/// pair, the other sent to the keeper) and the keeper's answer (`ok`,
/// `refused`, `failed`); None when the keeper cannot be reached.
fn ask_keeper(target: &str) -> Option<(std::os::unix::net::UnixStream, Vec<u8>)> {
    let (mine, theirs) = super::pass::pair(libc::SOCK_STREAM).ok()?;
    super::pass::send(rules::NET_FD, &theirs).ok()?;
    drop(theirs);
    let mut up = std::os::unix::net::UnixStream::from(mine);
    up.write_all(format!("{target}\n").as_bytes()).ok()?;
    let mut answer = Vec::new();
    {
        let mut r = BufReader::new(&up);
        let _ = (&mut r).take(32).read_until(b'\n', &mut answer);
    }
    Some((up, answer))
}

/// One connection inside the box to the keeper's socket, for `target`;
/// `first` is what the client already sent.
fn relay_out(mut c: std::net::TcpStream, target: &str, first: &[u8]) -> bool {
    let Some((mut up, answer)) = ask_keeper(target) else {
        return false;
    };
    if answer != b"ok\n" {
        return false;
    }
    if !first.is_empty() && up.write_all(first).is_err() {
        return false;
    }
    let _ = c.flush();
    relay(c, up);
    true
}

/// The box's HTTP proxy: `CONNECT host:port`, or an absolute-form request
/// (`GET http://host:port/path`), relayed through the keeper.
fn proxy_one(mut c: std::net::TcpStream) {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    // the request head, byte by byte (nothing of the body is read), 16 KiB at most
    while head.len() < 16 << 10 && !head.ends_with(b"\r\n\r\n") {
        match c.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => return,
        }
    }
    let text = String::from_utf8_lossy(&head).to_string();
    match asked(&text) {
        Asked::Bad => {
            let _ = c.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n");
        }
        Asked::Connect(hp) => connect(c, &hp),
        Asked::Origin(hp, rewritten) => {
            let Ok(mut c2) = c.try_clone() else { return };
            if !relay_out(c, &hp.to_string(), rewritten.as_bytes()) {
                let _ = c2.write_all(
                    b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                );
            }
        }
    }
}

/// What a request to the box's proxy asks for.
#[derive(Debug, PartialEq)]
enum Asked {
    /// `CONNECT host:port`: a tunnel.
    Connect(HostPort),
    /// An absolute-form request (`GET http://host:port/path`): its head
    /// rewritten to origin form, for `host:port`.
    Origin(HostPort, String),
    /// Neither (answered 400).
    Bad,
}

/// What the request head `text` asks the box's proxy for.
fn asked(text: &str) -> Asked {
    let first = text.lines().next().unwrap_or("");
    let mut words = first.split_whitespace();
    let (method, target) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
    if method.eq_ignore_ascii_case("CONNECT") {
        return match HostPort::parse(target) {
            Ok(hp) => Asked::Connect(hp),
            Err(_) => Asked::Bad,
        };
    }
    // absolute form: rewrite the request line to origin form
    let Some(hp) = HostPort::of_url(target) else {
        return Asked::Bad;
    };
    let path_start = target
        .find("://")
        .and_then(|i| target[i + 3..].find('/').map(|j| i + 3 + j));
    let path = path_start.map(|i| &target[i..]).unwrap_or("/");
    let version = words.next().unwrap_or("HTTP/1.1");
    let rest = text.split_once("\r\n").map(|x| x.1).unwrap_or("");
    Asked::Origin(hp, format!("{method} {path} {version}\r\n{rest}"))
}

/// A `CONNECT` tunnel through the keeper: the reply first, then the relay.
fn connect(c: std::net::TcpStream, hp: &HostPort) {
    let Ok(mut c2) = c.try_clone() else { return };
    let ok = {
        // the reply comes first, then the tunnel
        let Some((up, answer)) = ask_keeper(&hp.to_string()) else {
            let _ = c2.write_all(b"HTTP/1.1 502 Bad Gateway\r\n\r\n");
            return;
        };
        if answer == b"ok\n" {
            let _ = c2.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n");
            relay(c, up);
            true
        } else if answer == b"failed\n" {
            let _ = c2.write_all(
                b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            );
            true
        } else {
            false
        }
    };
    if !ok {
        let _ = c2
            .write_all(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hp(s: &str) -> HostPort {
        HostPort::parse(s).unwrap()
    }

    #[test]
    fn the_boxs_proxy_reads_what_a_request_asks_for() {
        let cases = [
            (
                "CONNECT api.x:443 HTTP/1.1\r\nHost: api.x:443\r\n\r\n",
                Asked::Connect(hp("api.x:443")),
            ),
            (
                "connect api.x:443 HTTP/1.1\r\n\r\n",
                Asked::Connect(hp("api.x:443")),
            ),
            // no port: HTTPS's
            (
                "CONNECT api.x HTTP/1.1\r\n\r\n",
                Asked::Connect(hp("api.x:443")),
            ),
            ("CONNECT\r\n\r\n", Asked::Bad),
            (
                "GET http://api.x:8080/v1/m?q=1 HTTP/1.1\r\nHost: api.x:8080\r\n\r\n",
                Asked::Origin(
                    hp("api.x:8080"),
                    "GET /v1/m?q=1 HTTP/1.1\r\nHost: api.x:8080\r\n\r\n".into(),
                ),
            ),
            // no path: the root; no version: HTTP/1.1
            (
                "POST http://api.x:8080\r\n\r\n",
                Asked::Origin(hp("api.x:8080"), "POST / HTTP/1.1\r\n\r\n".into()),
            ),
            ("GET /v1/m HTTP/1.1\r\n\r\n", Asked::Bad),
            ("", Asked::Bad),
        ];
        for (head, want) in cases {
            assert_eq!(asked(head), want, "{head:?}");
        }
    }

    #[test]
    fn the_init_listens_where_the_model_is_named() {
        let cases = [
            ("localhost:8080", "127.0.0.1:8080"),
            ("127.0.0.1:11434", "127.0.0.1:11434"),
            ("[::1]:8080", "[::1]:8080"),
        ];
        for (named, want) in cases {
            assert_eq!(listen_addr(&hp(named)), want, "{named}");
        }
    }

    #[test]
    fn the_init_exits_with_the_agents_status() {
        // wait statuses as the kernel encodes them: exit code << 8, or the signal
        let cases = [(0, 0), (3 << 8, 3), (127 << 8, 127), (libc::SIGKILL, 137)];
        for (status, want) in cases {
            assert_eq!(exit_of(status), want, "{status:#x}");
        }
    }
}
