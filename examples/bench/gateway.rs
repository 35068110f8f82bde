//! The model gateway (docs/kubernetes.md#the-model-gateway)
//! against the byte relay, on loopback: `afk workspace gateway` as a process
//! (the Kubernetes sidecar, the keeper's own `Gateway` over TCP), its key in
//! a file as the pod's Secret mount gives it, beside a relay thread that
//! copies bytes both ways as the box's forwarder does.
//!
//! - time to first byte: `REQUESTS` streamed requests to the sandbox's
//!   keyed scripted model (a text answer of 6 SSE events), one connection
//!   each, from before the connect to the answer's first byte: direct, through
//!   the relay, through the gateway;
//! - per-event delay: the scripted model's answer replayed event by event,
//!   `GAP` apart, by a bench-side upstream that stamps each event as it
//!   writes it; the delay is the client's read of the event's end less that
//!   stamp (one process, one monotonic clock), through the relay and through
//!   the gateway.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const REQUESTS: usize = 200;
const PACED: usize = 50;
const GAP: Duration = Duration::from_millis(5);

pub fn gateway_bench(dir: &Path, afk: &Path) {
    let root = dir.join("gateway");
    std::fs::create_dir_all(&root).unwrap();
    let key = format!("bench-model-key-{}", std::process::id());
    let text = "the scripted model's answer, streamed ".repeat(8);
    let seed: afk::sandbox::Seed = serde_json::from_value(serde_json::json!({
        "model_key": key,
        "repos": [{"name": "acme/api", "collaborators": {"alice": "write"},
                   "issues": [{"number": 1, "title": "bench", "labels": [],
                               "script": [{"text": text}]}]}]
    }))
    .unwrap();
    let sb = afk::sandbox::start("127.0.0.1:0", Some(seed), Some(root.join("forge"))).unwrap();
    let model = sb.model_url.trim_start_matches("http://").to_string();
    let key_file = root.join("model-key");
    afk::store::private_write(&key_file, key.as_bytes()).unwrap();

    // time to first byte
    let relay_at = relay(&model);
    let gw = Gateway::start(
        afk,
        &root,
        &key_file,
        &format!("{}/model/anthropic", sb.model_url),
    );
    let direct_req = request(&model, "/model/anthropic/v1/messages", &key);
    let relay_req = request(&model, "/model/anthropic/v1/messages", &key);
    let gw_req = request(&gw.addr, "/v1/messages", "placeholder");
    for (addr, req) in [
        (&model, &direct_req),
        (&relay_at, &relay_req),
        (&gw.addr, &gw_req),
    ] {
        let first = ask(addr, req);
        assert!(first.head.starts_with("HTTP/1.1 200"), "{}", first.head);
        assert_eq!(first.events.len(), 6, "{}", first.head);
    }
    let (mut direct, mut relayed, mut gated) = (vec![], vec![], vec![]);
    for _ in 0..REQUESTS {
        // interleaved, so a busy moment of the machine falls on all three
        direct.push(ask(&model, &direct_req).ttfb);
        relayed.push(ask(&relay_at, &relay_req).ttfb);
        gated.push(ask(&gw.addr, &gw_req).ttfb);
    }
    drop(gw);
    println!(
        "model gateway: time to first byte of a streamed answer (sandbox's keyed scripted model, 6 events), {REQUESTS} requests, one connection each"
    );
    let (d50, d90) = p50_90(direct);
    let (r50, r90) = p50_90(relayed);
    let (g50, g90) = p50_90(gated);
    println!(
        "  direct               {:>7.2} ms median  {:>7.2} ms p90",
        ms(d50),
        ms(d90)
    );
    println!(
        "  byte relay           {:>7.2} ms median  {:>7.2} ms p90",
        ms(r50),
        ms(r90)
    );
    println!(
        "  gateway              {:>7.2} ms median  {:>7.2} ms p90   (afk workspace gateway)",
        ms(g50),
        ms(g90)
    );
    let added = ms(g50) - ms(r50);
    println!(
        "  added                {:>+7.2} ms median              ({:.2} of the 2 ms goal, docs/benchmarks.md)",
        added,
        added / 2.0
    );

    // per-event delay: the answer's events replayed GAP apart
    let body = ask(&model, &direct_req).body;
    let events: Vec<Vec<u8>> = split_events(&body);
    let paced = Paced::start(events.clone());
    let relay_at = relay(&paced.addr);
    let gw = Gateway::start(afk, &root, &key_file, &format!("http://{}", paced.addr));
    let paced_req = request(&paced.addr, "/v1/messages", &key);
    let gw_req = request(&gw.addr, "/v1/messages", "placeholder");
    let (mut relayed, mut gated) = (vec![], vec![]);
    for _ in 0..PACED {
        relayed.extend(paced.delays(&relay_at, &paced_req, events.len()));
        gated.extend(paced.delays(&gw.addr, &gw_req, events.len()));
    }
    drop(gw);
    println!(
        "model gateway: per-event delay, model's write to client's read, {} events {} ms apart x {PACED} answers",
        events.len(),
        GAP.as_millis()
    );
    let (r50, r90) = p50_90(relayed);
    let (g50, g90) = p50_90(gated);
    println!(
        "  byte relay           {:>7.3} ms median  {:>7.3} ms p90",
        ms(r50),
        ms(r90)
    );
    println!(
        "  gateway              {:>7.3} ms median  {:>7.3} ms p90",
        ms(g50),
        ms(g90)
    );
    let added = ms(g50) - ms(r50);
    println!(
        "  added                {:>+7.3} ms median              ({:.2} of the 1 ms goal, docs/benchmarks.md; gateway p90 {:.2} of it)\n",
        added,
        added / 1.0,
        ms(g90)
    );
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn p50_90(mut v: Vec<Duration>) -> (Duration, Duration) {
    v.sort();
    (v[v.len() / 2], v[v.len() * 9 / 10])
}

/// A streamed Messages request to `host` at `path` carrying `key`.
fn request(host: &str, path: &str, key: &str) -> Vec<u8> {
    let body = serde_json::json!({"model": "claude-bench", "max_tokens": 64, "stream": true,
        "tools": [{"name": "Bash"}],
        "messages": [{"role": "user", "content": "Repository: acme/api\nIssue: #1"}]})
    .to_string();
    format!(
        "POST {path} HTTP/1.1\r\nHost: {host}\r\nx-api-key: {key}\r\nanthropic-version: 2023-06-01\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

struct Answer {
    head: String,
    body: Vec<u8>,
    ttfb: Duration,
    /// when each SSE event's end (`\n\n`) was read
    events: Vec<Instant>,
}

/// One request on a connection of its own, its answer read to its end.
fn ask(addr: &str, req: &[u8]) -> Answer {
    let t0 = Instant::now();
    let mut c = TcpStream::connect(addr).unwrap();
    c.set_nodelay(true).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    c.write_all(req).unwrap();
    let mut buf = vec![];
    let mut chunk = vec![0u8; 64 << 10];
    let mut ttfb = None;
    let mut events = vec![];
    let mut head_end: Option<usize> = None;
    let mut scanned = 0;
    loop {
        let n = c.read(&mut chunk).unwrap();
        let at = Instant::now();
        if n == 0 {
            break;
        }
        ttfb.get_or_insert(at - t0);
        buf.extend_from_slice(&chunk[..n]);
        if head_end.is_none() {
            head_end = buf.windows(4).position(|w| w == b"\r\n\r\n").map(|p| p + 4);
            scanned = head_end.unwrap_or(0);
        }
        let Some(he) = head_end else { continue };
        while let Some(p) = buf[scanned..].windows(2).position(|w| w == b"\n\n") {
            events.push(at);
            scanned += p + 2;
        }
        let head = String::from_utf8_lossy(&buf[..he]).to_ascii_lowercase();
        let body = &buf[he..];
        let done = match head.lines().find_map(|l| l.strip_prefix("content-length:")) {
            Some(len) => body.len() >= len.trim().parse::<usize>().unwrap(),
            None => body.ends_with(b"0\r\n\r\n"),
        };
        if done {
            break;
        }
    }
    let he = head_end.expect("an answer's head");
    let _ = c.shutdown(Shutdown::Both);
    Answer {
        head: String::from_utf8_lossy(&buf[..he]).into_owned(),
        body: buf[he..].to_vec(),
        ttfb: ttfb.unwrap(),
        events,
    }
}

fn split_events(body: &[u8]) -> Vec<Vec<u8>> {
    let mut out = vec![];
    let mut from = 0;
    while let Some(p) = body[from..].windows(2).position(|w| w == b"\n\n") {
        out.push(body[from..from + p + 2].to_vec());
        from += p + 2;
    }
    out
}

/// A byte relay on loopback to `upstream`: per connection, one thread per
/// direction copying bytes as they come (the box's forwarder).
fn relay(upstream: &str) -> String {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap().to_string();
    let upstream = upstream.to_string();
    std::thread::spawn(move || {
        for c in l.incoming().flatten() {
            let Ok(u) = TcpStream::connect(&upstream) else {
                continue;
            };
            let _ = c.set_nodelay(true);
            let _ = u.set_nodelay(true);
            let (c2, u2) = (c.try_clone().unwrap(), u.try_clone().unwrap());
            std::thread::spawn(move || pipe(c, u));
            std::thread::spawn(move || pipe(u2, c2));
        }
    });
    addr
}

fn pipe(mut from: TcpStream, mut to: TcpStream) {
    let mut buf = vec![0u8; 16 << 10];
    loop {
        match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if to.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
        }
    }
    let _ = to.shutdown(Shutdown::Write);
}

/// `afk workspace gateway` on a loopback port of its own, sending to
/// `upstream`, its key read from `key_file` (the pod's Secret mount).
struct Gateway {
    child: Child,
    addr: String,
}

impl Gateway {
    fn start(afk: &Path, root: &Path, key_file: &Path, upstream: &str) -> Gateway {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let addr = format!("127.0.0.1:{port}");
        let spec = serde_json::json!({
            "api": "anthropic", "key_env": "ANTHROPIC_API_KEY", "upstream": upstream,
            "hosts": [addr, format!("localhost:{port}")], "port": port,
            "models": {"claude-bench": {"input": 3.0, "cached_input": 0.3, "cache_write": 3.75, "output": 15.0}},
            "flat": {"input": 0.0, "cached_input": 0.0, "cache_write": 0.0, "output": 0.0},
            "gate": null, "metered": "/dev/stdout"
        });
        let log = std::fs::File::create(root.join(format!("gateway-{port}.log"))).unwrap();
        let child = Command::new(afk)
            .args(["workspace", "gateway"])
            .env("AFK_GATEWAY_SPEC", spec.to_string())
            .env("AFK_GATEWAY_KEY_FILE", key_file)
            .current_dir(root)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        let until = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(&addr).is_err() {
            assert!(
                Instant::now() < until,
                "the gateway did not listen: {}",
                std::fs::read_to_string(root.join(format!("gateway-{port}.log")))
                    .unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        Gateway { child, addr }
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An upstream that answers every request with `events`, `GAP` apart,
/// stamping each as it writes it.
struct Paced {
    addr: String,
    stamps: Arc<Mutex<Vec<Instant>>>,
}

impl Paced {
    fn start(events: Vec<Vec<u8>>) -> Paced {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap().to_string();
        let stamps = Arc::new(Mutex::new(vec![]));
        let out = stamps.clone();
        std::thread::spawn(move || {
            for c in l.incoming().flatten() {
                let (events, out) = (events.clone(), out.clone());
                std::thread::spawn(move || serve_paced(c, &events, &out));
            }
        });
        Paced { addr, stamps }
    }

    /// One answer through `addr`: each event's delay.
    fn delays(&self, addr: &str, req: &[u8], n: usize) -> Vec<Duration> {
        self.stamps.lock().unwrap().clear();
        let a = ask(addr, req);
        let stamps = self.stamps.lock().unwrap().clone();
        assert_eq!(a.events.len(), n, "{}", a.head);
        assert_eq!(stamps.len(), n);
        a.events
            .iter()
            .zip(&stamps)
            .map(|(read, wrote)| read.saturating_duration_since(*wrote))
            .collect()
    }
}

/// One connection's requests: each answered with the events, paced.
fn serve_paced(c: TcpStream, events: &[Vec<u8>], stamps: &Mutex<Vec<Instant>>) {
    use std::io::BufRead;
    let _ = c.set_nodelay(true);
    let mut r = std::io::BufReader::new(c.try_clone().unwrap());
    let mut w = c;
    let len: usize = events.iter().map(Vec::len).sum();
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut body = 0usize;
        loop {
            let mut h = String::new();
            if r.read_line(&mut h).unwrap_or(0) == 0 {
                return;
            }
            let h = h.trim_end().to_ascii_lowercase();
            if h.is_empty() {
                break;
            }
            if let Some(v) = h.strip_prefix("content-length:") {
                body = v.trim().parse().unwrap_or(0);
            }
        }
        let mut b = vec![0; body];
        if r.read_exact(&mut b).is_err() {
            return;
        }
        let head = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\ncontent-length: {len}\r\n\r\n"
        );
        if w.write_all(head.as_bytes()).is_err() {
            return;
        }
        for e in events {
            std::thread::sleep(GAP);
            stamps.lock().unwrap().push(Instant::now());
            if w.write_all(e).is_err() {
                return;
            }
        }
    }
}
