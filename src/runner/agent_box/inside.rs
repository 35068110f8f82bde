//! The box's network (network = model): a user and a network namespace the
//! keeper makes before the box, with the box's listeners already in it (the
//! loopback entries, the model gateway's port, the HTTP proxy), so nothing
//! runs inside the box but the agent; bubblewrap joins them
//! (`keeper::before_bwrap`). The keeper serves each listener from outside:
//! a connection made inside is relayed to its forwarder, which lets it out
//! or refuses it.
//!
//! The namespaces are made by a child the keeper forks while it is still
//! one thread: afk as root, it becomes the box's host user first, so the
//! namespaces (and the box in them) are that unprivileged user's; its user
//! namespace's root is that user outside (`core::agent_box::netns_maps`).

use super::keeper::relay;
use super::said::say;
use crate::core::agent_box::{self as rules, HostPort, Inside};
use crate::types::Invalid;
use anyhow::{Context, Result, bail};
use std::io::{BufRead, BufReader, Read, Write};
use std::os::fd::{AsRawFd, OwnedFd};

/// What a listener of the box is for.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Kind {
    /// A loopback `host:port` of `runner.box.allow`, relayed as it is.
    Target(HostPort),
    /// The model gateway's port (SPEC 5.8).
    Gateway,
    /// The HTTP proxy (CONNECT and absolute-form requests).
    Proxy,
}

/// The box's network: its namespaces (for bubblewrap to join) and the
/// listeners made in them.
pub(super) struct Netns {
    pub user: OwnedFd,
    pub net: OwnedFd,
    pub listeners: Vec<(std::net::TcpListener, Kind)>,
}

/// What the box listens on, and where.
fn wanted(inside: &Inside) -> Vec<(String, Kind)> {
    let mut w: Vec<(String, Kind)> = inside
        .listen
        .iter()
        .map(|hp| (listen_addr(hp), Kind::Target(hp.clone())))
        .collect();
    if let Some(port) = inside.gateway {
        w.push((format!("127.0.0.1:{port}"), Kind::Gateway));
    }
    if let Some(port) = inside.proxy {
        w.push((format!("127.0.0.1:{port}"), Kind::Proxy));
    }
    w
}

/// The message tags on the child's channel: the two namespaces, then
/// listener `i` as `LISTENER + i`.
const USER_NS: u8 = 0;
const NET_NS: u8 = 1;
const LISTENER: u8 = 2;

/// Make the box's namespaces and listeners. `host`: the ids the namespaces'
/// root is outside; `become_host`: afk is root, the child becomes `host`
/// first. The child takes no lock the parent's other threads may hold (it
/// says what it has to say on a pipe the parent reads), so a tick of many
/// threads may ask it too ([`can_make`]).
pub(super) fn make(inside: &Inside, host: (u32, u32), become_host: bool) -> Result<Netns> {
    let wanted = wanted(inside);
    let (ours, theirs) =
        super::pass::pair(libc::SOCK_SEQPACKET).context("cannot make the box's network channel")?;
    let (mut said_r, said_w) = std::io::pipe().context("cannot make the box's network channel")?;
    // SAFETY: fork(2) of a process of one thread: the child may do anything
    // the parent could, and ends with _exit
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        bail!(
            "cannot make the box's network: {}",
            std::io::Error::last_os_error()
        );
    }
    if pid == 0 {
        let said = said_w.as_raw_fd();
        let code = match in_child(theirs.as_raw_fd(), said, &wanted, host, become_host) {
            Ok(()) => 0,
            Err(why) => {
                tell(said, &why.0);
                1
            }
        };
        // SAFETY: the child ends here, running nothing of the parent's
        unsafe { libc::_exit(code) }
    }
    drop((theirs, said_w));
    let (mut user, mut net) = (None, None);
    let mut listeners = vec![];
    loop {
        match super::pass::receive(ours.as_raw_fd()) {
            Ok(super::pass::Got::Conn(tag, fd)) => match tag {
                USER_NS => user = Some(fd),
                NET_NS => net = Some(fd),
                t => {
                    if let Some((_, kind)) = wanted.get((t - LISTENER) as usize) {
                        listeners.push((std::net::TcpListener::from(fd), kind.clone()));
                    }
                }
            },
            Ok(super::pass::Got::Nothing) => continue,
            Ok(super::pass::Got::End) => break,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e).context("cannot make the box's network"),
        }
    }
    let mut status = 0;
    // SAFETY: waitpid(2) on the child forked above
    unsafe { libc::waitpid(pid, &mut status, 0) };
    let mut text = String::new();
    let _ = (&mut said_r).take(4096).read_to_string(&mut text);
    let lines: Vec<&str> = text.lines().collect();
    match (user, net) {
        (Some(user), Some(net)) if status == 0 => {
            for l in lines {
                say(l);
            }
            Ok(Netns {
                user,
                net,
                listeners,
            })
        }
        _ => bail!(
            "{}",
            lines
                .last()
                .unwrap_or(&"cannot make the box's network namespace")
        ),
    }
}

/// A line on the child's pipe (write(2): no lock of the parent's).
fn tell(fd: i32, line: &str) {
    let line = format!("{line}\n");
    // SAFETY: write(2) of this buffer to the child's end of the pipe
    unsafe {
        libc::write(fd, line.as_ptr().cast(), line.len());
    }
}

/// The child: (afk as root) become `host`; a user namespace whose root is
/// `host` outside and a network namespace, its loopback up; the listeners;
/// each sent to the keeper. Err: why, one line.
fn in_child(
    channel: i32,
    said: i32,
    wanted: &[(String, Kind)],
    (uid, gid): (u32, u32),
    become_host: bool,
) -> std::result::Result<(), Invalid> {
    let os = |what: &str| Invalid(format!("{what}: {}", std::io::Error::last_os_error()));
    // SAFETY: setgroups, setresgid, setresuid, prctl and unshare on this
    // process of one thread
    unsafe {
        if become_host
            && (libc::setgroups(0, std::ptr::null()) != 0
                || libc::setresgid(gid, gid, gid) != 0
                || libc::setresuid(uid, uid, uid) != 0
                || libc::prctl(libc::PR_SET_DUMPABLE, 1) != 0)
        {
            return Err(os(&format!("cannot become the box's host user {uid}")));
        }
        if libc::unshare(libc::CLONE_NEWUSER | libc::CLONE_NEWNET) != 0 {
            return Err(os("cannot make the box's user and network namespaces"));
        }
    }
    for (file, text) in [
        ("/proc/self/setgroups", "deny".to_string()),
        ("/proc/self/uid_map", rules::netns_maps(uid)),
        ("/proc/self/gid_map", rules::netns_maps(gid)),
    ] {
        std::fs::write(file, text).map_err(|e| Invalid(format!("cannot write {file}: {e}")))?;
    }
    loopback_up().map_err(|e| Invalid(format!("cannot bring the box's loopback up: {e}")))?;
    for (tag, ns) in [
        (USER_NS, "/proc/self/ns/user"),
        (NET_NS, "/proc/self/ns/net"),
    ] {
        let f = std::fs::File::open(ns).map_err(|e| Invalid(format!("cannot open {ns}: {e}")))?;
        super::pass::send(channel, tag, &OwnedFd::from(f)).map_err(|e| Invalid(e.to_string()))?;
    }
    for (i, (addr, _)) in wanted.iter().enumerate() {
        match std::net::TcpListener::bind(addr.as_str()) {
            Ok(l) => super::pass::send(channel, LISTENER + i as u8, &OwnedFd::from(l))
                .map_err(|e| Invalid(e.to_string()))?,
            Err(e) => tell(said, &format!("cannot listen on {addr} in the box: {e}")),
        }
    }
    Ok(())
}

/// Bring the namespace's loopback up (the kernel gives it 127.0.0.1 and
/// ::1 as it does).
fn loopback_up() -> std::io::Result<()> {
    // SAFETY: a datagram socket for ioctl(2), closed at the end; the ifreq
    // names "lo" and is read, then written with IFF_UP added
    unsafe {
        let s = libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0);
        if s < 0 {
            return Err(std::io::Error::last_os_error());
        }
        let mut req: libc::ifreq = std::mem::zeroed();
        for (i, b) in b"lo".iter().enumerate() {
            req.ifr_name[i] = *b as libc::c_char;
        }
        let up = libc::ioctl(s, libc::SIOCGIFFLAGS, &mut req) == 0 && {
            req.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short;
            libc::ioctl(s, libc::SIOCSIFFLAGS, &req) == 0
        };
        let err = std::io::Error::last_os_error();
        libc::close(s);
        if !up {
            return Err(err);
        }
    }
    Ok(())
}

/// Whether afk can make a box's network here (doctor, and the tick before
/// its first boxed start): the namespaces made and dropped. Err: why.
pub fn can_make() -> std::result::Result<(), Invalid> {
    let inside = Inside {
        listen: vec![],
        proxy: None,
        argv: vec![],
        gateway: None,
    };
    // SAFETY: geteuid(2) and getegid(2) cannot fail
    let ids = unsafe { (libc::geteuid(), libc::getegid()) };
    make(&inside, ids, false)
        .map(|_| ())
        .map_err(|e| Invalid(format!("{e:#}")))
}

/// A turn's listeners served from the keeper: each connection in a thread
/// of its own, relayed through `out` (the forwarder).
pub(super) fn serve(listeners: Vec<(std::net::TcpListener, Kind)>, out: Out) {
    let out = std::sync::Arc::new(out);
    for (l, kind) in listeners {
        let out = out.clone();
        std::thread::spawn(move || {
            for c in l.incoming().flatten() {
                let (out, kind) = (out.clone(), kind.clone());
                std::thread::spawn(move || match &kind {
                    Kind::Target(hp) => {
                        out.relay_out(c, &hp.to_string(), &[]);
                    }
                    Kind::Gateway => {
                        out.relay_out(c, super::gateway::LINE, &[]);
                    }
                    Kind::Proxy => out.proxy_one(c),
                });
            }
        });
    }
}

/// The way out of the box: the forwarder, asked for one connection at a time.
pub(super) struct Out {
    /// Asks the forwarder for `target` on one end of a new pair (the other
    /// end is the forwarder's, on a thread of its own).
    pub ask: Box<dyn Fn(std::os::unix::net::UnixStream) + Send + Sync>,
}

impl Out {
    /// Ask the forwarder for `target`: a connection of its own (one end of a
    /// new pair, the other the forwarder's) and its answer (`ok`, `refused`,
    /// `failed`); None when it cannot be asked.
    fn ask_keeper(&self, target: &str) -> Option<(std::os::unix::net::UnixStream, Vec<u8>)> {
        let (mut up, theirs) = std::os::unix::net::UnixStream::pair().ok()?;
        (self.ask)(theirs);
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
    fn relay_out(&self, mut c: std::net::TcpStream, target: &str, first: &[u8]) -> bool {
        let Some((mut up, answer)) = self.ask_keeper(target) else {
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
    fn proxy_one(&self, mut c: std::net::TcpStream) {
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
            Asked::Connect(hp) => connect(self, c, &hp),
            Asked::Origin(hp, rewritten) => {
                let Ok(mut c2) = c.try_clone() else { return };
                if !self.relay_out(c, &hp.to_string(), rewritten.as_bytes()) {
                    let _ = c2.write_all(
                        b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                    );
                }
            }
        }
    }
}

/// Where the box listens for one of the model's loopback `host:port`s.
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
fn connect(out: &Out, c: std::net::TcpStream, hp: &HostPort) {
    let Ok(mut c2) = c.try_clone() else { return };
    let ok = {
        // the reply comes first, then the tunnel
        let Some((up, answer)) = out.ask_keeper(&hp.to_string()) else {
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
    fn the_boxs_listeners_are_made_in_a_network_of_its_own() {
        let inside = Inside {
            listen: vec![hp("127.0.0.1:9")],
            proxy: Some(3128),
            argv: vec![],
            gateway: Some(47001),
        };
        // SAFETY: geteuid(2) and getegid(2) cannot fail
        let ids = unsafe { (libc::geteuid(), libc::getegid()) };
        let net = make(&inside, ids, false).expect("the box's network");
        let kinds: Vec<Kind> = net.listeners.iter().map(|(_, k)| k.clone()).collect();
        assert_eq!(
            kinds,
            [Kind::Target(hp("127.0.0.1:9")), Kind::Gateway, Kind::Proxy]
        );
        // bound inside (a privileged port too, whoever afk is), not on
        // the host's loopback
        for (l, _) in &net.listeners {
            let at = l.local_addr().unwrap();
            assert!(at.ip().is_loopback(), "{at}");
            if at.port() >= 1024 || ids.0 == 0 {
                let host = std::net::TcpListener::bind(at).expect("free on the host");
                drop(host);
            }
        }
    }

    #[test]
    fn the_box_listens_where_the_model_is_named() {
        let cases = [
            ("localhost:8080", "127.0.0.1:8080"),
            ("127.0.0.1:11434", "127.0.0.1:11434"),
            ("[::1]:8080", "[::1]:8080"),
        ];
        for (named, want) in cases {
            assert_eq!(listen_addr(&hp(named)), want, "{named}");
        }
    }
}
