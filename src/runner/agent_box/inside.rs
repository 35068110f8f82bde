//! The box's network (network = model): a user and a network namespace made
//! for the box before bubblewrap runs, with the box's listeners in it (the
//! loopback entries, the model gateway's port, the HTTP proxy), so nothing
//! runs inside the box but the agent; bubblewrap joins them
//! (`keeper::before_bwrap`). The keeper serves each listener from outside:
//! a connection made inside is relayed to its forwarder, which lets it out
//! or refuses it.
//!
//! The namespaces are made in bubblewrap's own process before it runs
//! bubblewrap, once that process is the box's host user (afk as root: an
//! unprivileged one), so they (and the box in them) are that user's; its
//! user namespace's root is that user outside
//! (`core::agent_box::ids::netns_maps`).

use super::relay::relay;
use super::said::say;
use crate::core::agent_box::{
    self as rules,
    forwarder::{HostPort, Inside},
};
use crate::types::Invalid;
use anyhow::{Context, Result, bail};
use std::io::{BufRead, BufReader, Read, Write};
use std::os::fd::{AsRawFd, OwnedFd};

/// What a listener of the box is for.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Kind {
    /// A loopback `host:port` of `runner.box.allow`, relayed as it is.
    Target(HostPort),
    /// The model gateway's port (docs/runners.md#the-model-gateway-runnermodel).
    Gateway,
    /// The HTTP proxy (CONNECT and absolute-form requests).
    Proxy,
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

/// The box's network as the keeper plans it before bubblewrap starts:
/// what bubblewrap's own process makes of it ([`Plan::make`], in the child
/// before it runs bubblewrap) and how its listeners come back to the keeper
/// ([`Plan::listeners`]).
pub(super) struct Plan {
    wanted: Vec<(String, Kind)>,
    /// The ids the namespaces' root is outside.
    host: (u32, u32),
    /// The child's ends: the listeners go back on `channel`, what it has to
    /// say on `said` (each closed on exec).
    channel: OwnedFd,
    said: std::io::PipeWriter,
    ours: OwnedFd,
    said_r: std::io::PipeReader,
}

impl Plan {
    pub(super) fn new(inside: &Inside, host: (u32, u32)) -> Result<Plan> {
        let (ours, channel) = super::pass::pair(libc::SOCK_SEQPACKET)
            .context("cannot make the box's network channel")?;
        let (said_r, said) = std::io::pipe().context("cannot make the box's network channel")?;
        Ok(Plan {
            wanted: wanted(inside),
            host,
            channel,
            said,
            ours,
            said_r,
        })
    }

    /// What bubblewrap's process makes of the plan (its descriptors valid
    /// while the plan is kept).
    pub(super) fn child(&self) -> Child {
        Child {
            wanted: self.wanted.iter().map(|(a, _)| a.clone()).collect(),
            host: self.host,
            channel: self.channel.as_raw_fd(),
            said: self.said.as_raw_fd(),
        }
    }

    /// The keeper, once bubblewrap started (or could not): the listeners
    /// made, and what the child said (each line in the run's log). Err: the
    /// child's last line.
    pub(super) fn listeners(self, started: bool) -> Result<Vec<(std::net::TcpListener, Kind)>> {
        let Plan {
            wanted,
            channel,
            said,
            ours,
            mut said_r,
            ..
        } = self;
        drop((channel, said));
        let mut listeners = vec![];
        loop {
            match super::pass::receive(ours.as_raw_fd()) {
                Ok(super::pass::Got::Conn(tag, fd)) => {
                    if let Some((_, kind)) = wanted.get(tag as usize) {
                        listeners.push((std::net::TcpListener::from(fd), kind.clone()));
                    }
                }
                Ok(super::pass::Got::Nothing) => continue,
                Ok(super::pass::Got::End) => break,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e).context("cannot make the box's network"),
            }
        }
        let mut text = String::new();
        let _ = (&mut said_r).take(4096).read_to_string(&mut text);
        let lines: Vec<&str> = text.lines().collect();
        if !started {
            // what the child said last, if anything: the keeper says it
            // beside bubblewrap's own failure to start
            match lines.last() {
                Some(last) => bail!("{last}"),
                None => return Ok(listeners),
            }
        }
        for l in lines {
            say(l);
        }
        Ok(listeners)
    }
}

/// The plan's side in bubblewrap's process.
pub(super) struct Child {
    wanted: Vec<String>,
    host: (u32, u32),
    channel: i32,
    said: i32,
}

impl Child {
    /// In bubblewrap's process before it starts, once it is the box's host
    /// user: a user namespace whose root is that user outside and a network
    /// namespace, its loopback up; the listeners, each sent to the keeper.
    /// The keeper has one thread when it starts bubblewrap (its listeners'
    /// and the forwarder's threads come after), so no lock is held across
    /// the fork and allocating here is safe; what it says goes on a pipe.
    /// Every address it binds is a literal (`127.0.0.1:N`): no name is
    /// looked up.
    pub(super) fn make(&self) -> std::io::Result<()> {
        match make_here(self.channel, self.said, &self.wanted, self.host) {
            Ok(()) => Ok(()),
            Err(why) => {
                tell(self.said, &why.0);
                Err(std::io::Error::other(why.0))
            }
        }
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

/// A user namespace whose root is `host` outside and a network namespace,
/// its loopback up; the listeners, each sent on `channel` tagged with its
/// place in `wanted`. This process: one thread. Err: why, one line.
fn make_here(
    channel: i32,
    said: i32,
    wanted: &[String],
    (uid, gid): (u32, u32),
) -> std::result::Result<(), Invalid> {
    let os = |what: &str| {
        Invalid(format!(
            "{what}: {}",
            afk_host::os_words(&std::io::Error::last_os_error())
        ))
    };
    // SAFETY: prctl and unshare on this process of one thread; dumpable
    // (as an exec would make it) so it may write its new namespace's maps
    unsafe {
        if libc::prctl(libc::PR_SET_DUMPABLE, 1) != 0 {
            return Err(os("cannot make the box's namespaces"));
        }
        if libc::unshare(libc::CLONE_NEWUSER | libc::CLONE_NEWNET) != 0 {
            return Err(os("cannot make the box's user and network namespaces"));
        }
    }
    for (file, text) in [
        ("/proc/self/setgroups", "deny".to_string()),
        ("/proc/self/uid_map", rules::ids::netns_maps(uid)),
        ("/proc/self/gid_map", rules::ids::netns_maps(gid)),
    ] {
        std::fs::write(file, text)
            .map_err(|e| Invalid(format!("cannot write {file}: {}", afk_host::os_words(&e))))?;
    }
    // not dumpable again once the maps are written: until bubblewrap starts
    // (its exec makes it dumpable as its own), no process of the host user
    // reads this one's memory or environment (the keeper's)
    // SAFETY: prctl(2) on this process
    if unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 0) } != 0 {
        return Err(os("cannot make the box's namespaces"));
    }
    loopback_up().map_err(|e| {
        Invalid(format!(
            "cannot bring the box's loopback up: {}",
            afk_host::os_words(&e)
        ))
    })?;
    for (i, addr) in wanted.iter().enumerate() {
        match std::net::TcpListener::bind(addr.as_str()) {
            Ok(l) => super::pass::send(channel, i as u8, &OwnedFd::from(l))
                .map_err(|e| Invalid(e.to_string()))?,
            Err(e) => tell(
                said,
                &format!(
                    "cannot listen on {addr} in the box: {}",
                    afk_host::os_words(&e)
                ),
            ),
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

/// Whether afk can make a box's network here (`afk __box-probe network`,
/// a process of one thread that ends after: the namespaces are made in it
/// and dropped with it). Err: why.
pub fn can_make() -> std::result::Result<(), Invalid> {
    // SAFETY: geteuid(2) and getegid(2) cannot fail
    let ids = unsafe { (libc::geteuid(), libc::getegid()) };
    let (a, _b) = super::pass::pair(libc::SOCK_SEQPACKET).map_err(|e| Invalid(e.to_string()))?;
    make_here(a.as_raw_fd(), 2, &[], ids)
}

/// A turn's listeners served from the keeper: each connection in a thread
/// of its own, relayed through `out` (the forwarder); at most `most` at
/// once, each one more closed as it comes (the agent's connections cost
/// the keeper threads, outside the box's own limits).
pub(super) fn serve(listeners: Vec<(std::net::TcpListener, Kind)>, out: Out, most: usize) {
    use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
    let out = std::sync::Arc::new(out);
    let open = std::sync::Arc::new(AtomicUsize::new(0));
    for (l, kind) in listeners {
        let (out, open) = (out.clone(), open.clone());
        super::relay::thread(move || {
            for c in l.incoming().flatten() {
                if open.fetch_add(1, SeqCst) >= most {
                    open.fetch_sub(1, SeqCst);
                    drop(c);
                    continue;
                }
                let (out, kind, done) = (out.clone(), kind.clone(), open.clone());
                let served = super::relay::thread(move || {
                    match &kind {
                        Kind::Target(hp) => {
                            out.relay_out(c, &hp.to_string(), &[]);
                        }
                        Kind::Gateway => {
                            out.relay_out(c, super::gateway::LINE, &[]);
                        }
                        Kind::Proxy => out.proxy_one(c),
                    }
                    done.fetch_sub(1, SeqCst);
                });
                if !served {
                    open.fetch_sub(1, SeqCst);
                }
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
        let plan = Plan::new(&inside, ids).unwrap();
        // as bubblewrap's process does it: in a child, before an exec
        let mut cmd = std::process::Command::new("true");
        let child = plan.child();
        // SAFETY: the plan (its descriptors) outlives the spawn below
        unsafe {
            use std::os::unix::process::CommandExt;
            cmd.pre_exec(move || child.make());
        }
        let status = cmd.status().expect("the child");
        assert!(status.success());
        let listeners = plan.listeners(true).expect("the box's listeners");
        let kinds: Vec<Kind> = listeners.iter().map(|(_, k)| k.clone()).collect();
        assert_eq!(
            kinds,
            [Kind::Target(hp("127.0.0.1:9")), Kind::Gateway, Kind::Proxy]
        );
        // bound inside (a privileged port too, whoever afk is), not on
        // the host's loopback
        for (l, _) in &listeners {
            let at = l.local_addr().unwrap();
            assert!(at.ip().is_loopback(), "{at}");
            if at.port() >= 1024 || ids.0 == 0 {
                let host = std::net::TcpListener::bind(at).expect("free on the host");
                drop(host);
            }
        }
    }

    #[test]
    fn the_keeper_serves_at_most_so_many_of_the_boxs_connections_at_once() {
        use std::io::Read;
        use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let at = l.local_addr().unwrap();
        // a forwarder that never answers: each connection stays in service
        let asked = std::sync::Arc::new(AtomicUsize::new(0));
        let held = std::sync::Arc::new(std::sync::Mutex::new(vec![]));
        let (a, h) = (asked.clone(), held.clone());
        let out = Out {
            ask: Box::new(move |conn| {
                h.lock().unwrap().push(conn);
                a.fetch_add(1, SeqCst);
            }),
        };
        serve(vec![(l, Kind::Target(hp("127.0.0.1:9")))], out, 2);
        let mut kept = vec![];
        for n in 1..=2 {
            kept.push(std::net::TcpStream::connect(at).unwrap());
            while asked.load(SeqCst) < n {
                std::thread::yield_now();
            }
        }
        // one more each is closed, never served (a guard against a hang,
        // not a timing)
        for _ in 0..3 {
            let mut c = std::net::TcpStream::connect(at).unwrap();
            c.set_read_timeout(Some(std::time::Duration::from_secs(30)))
                .unwrap();
            assert_eq!(c.read(&mut [0u8; 8]).unwrap(), 0);
        }
        assert_eq!(asked.load(SeqCst), 2);
        drop(kept);
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
