//! A minimal HTTP/1.1 server on std: one thread per connection, keep-alive,
//! Content-Length bodies. Enough for a loopback test forge, nothing more.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::time::Duration;

pub struct Request {
    pub method: String,
    /// the path, percent-decoded
    pub path: String,
    /// the path as sent (GitLab names a project by its full path encoded
    /// as one segment, `acme%2Fplatform%2Fsvc`, which decoding would split)
    pub raw_path: String,
    pub query: Vec<(String, String)>,
    pub raw_query: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    /// A positive whole number from the query string (`page`, `limit`, `per_page`).
    pub fn positive(&self, name: &str) -> Option<usize> {
        self.q(name)
            .and_then(|v| v.parse::<usize>().ok())
            .filter(|v| *v > 0)
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    pub fn q(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
    pub fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_slice(&self.body).ok()
    }
}

pub enum Reply {
    Send {
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    },
    /// Close the connection without answering.
    Drop,
    /// Announce the whole body (its `Content-Length`), send only its first
    /// `keep` bytes, then close the connection: an answer cut mid-stream.
    Cut {
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
        keep: usize,
    },
    /// Send the head and the body's first `keep` bytes, then hold the
    /// connection open for `hold` (the answer never finishes), then close
    /// it: an answer that stalls mid-stream, its client waiting.
    Stall {
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
        keep: usize,
        hold: std::time::Duration,
    },
}

impl Reply {
    pub fn json(status: u16, v: &serde_json::Value) -> Reply {
        Reply::Send {
            status,
            headers: vec![],
            body: serde_json::to_vec(v).unwrap_or_default(),
        }
    }
    pub fn with_header(mut self, k: &str, v: &str) -> Reply {
        if let Reply::Send { headers, .. } | Reply::Cut { headers, .. } = &mut self {
            headers.push((k.to_string(), v.to_string()));
        }
        self
    }
}

pub fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                match u8::from_str_radix(std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("zz"), 16)
                {
                    Ok(v) => {
                        out.push(v);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Standard base64 (with or without padding) to text; None when malformed.
pub(crate) fn base64_decode(s: &str) -> Option<String> {
    let val = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    let bytes: Vec<u8> = s.bytes().filter(|b| *b != b'=').collect();
    let mut out = Vec::with_capacity(bytes.len() * 3 / 4);
    for chunk in bytes.chunks(4) {
        if chunk.len() == 1 {
            return None;
        }
        let mut n = 0u32;
        for (i, c) in chunk.iter().enumerate() {
            n |= val(*c)? << (18 - 6 * i);
        }
        out.push((n >> 16) as u8);
        if chunk.len() > 2 {
            out.push((n >> 8) as u8);
        }
        if chunk.len() > 3 {
            out.push(n as u8);
        }
    }
    String::from_utf8(out).ok()
}

fn read_request(r: &mut BufReader<TcpStream>) -> Option<Request> {
    let mut line = String::new();
    if r.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_string();
    let target = parts.next()?.to_string();
    let mut headers = vec![];
    loop {
        let mut h = String::new();
        if r.read_line(&mut h).ok()? == 0 {
            return None;
        }
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    let header = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
    };
    // git (through curl) may ask before sending a large body
    if header("expect").is_some_and(|v| v.eq_ignore_ascii_case("100-continue")) {
        let mut w = r.get_ref();
        w.write_all(b"HTTP/1.1 100 Continue\r\n\r\n").ok()?;
    }
    let body = if header("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        read_chunked(r)?
    } else {
        let len: usize = header("content-length")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let mut body = vec![0; len];
        r.read_exact(&mut body).ok()?;
        body
    };
    let (path, raw_query) = match target.split_once('?') {
        Some((p, q)) => (p.to_string(), q.to_string()),
        None => (target.clone(), String::new()),
    };
    let query = raw_query
        .split('&')
        .filter(|s| !s.is_empty())
        .map(|kv| match kv.split_once('=') {
            Some((k, v)) => (decode(k), decode(v)),
            None => (decode(kv), String::new()),
        })
        .collect();
    Some(Request {
        method,
        path: decode(&path),
        raw_path: path,
        query,
        raw_query,
        headers,
        body,
    })
}

/// A `Transfer-Encoding: chunked` body (git sends large packs this way).
fn read_chunked(r: &mut BufReader<TcpStream>) -> Option<Vec<u8>> {
    let mut body = vec![];
    loop {
        let mut size = String::new();
        r.read_line(&mut size).ok()?;
        let size = size.trim().split(';').next()?;
        let n = usize::from_str_radix(size, 16).ok()?;
        if n == 0 {
            // trailers, up to the blank line
            loop {
                let mut t = String::new();
                if r.read_line(&mut t).ok()? == 0 || t.trim().is_empty() {
                    return Some(body);
                }
            }
        }
        let start = body.len();
        body.resize(start + n, 0);
        r.read_exact(&mut body[start..]).ok()?;
        let mut crlf = [0u8; 2];
        r.read_exact(&mut crlf).ok()?;
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        301 => "Moved Permanently",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        406 => "Not Acceptable",
        409 => "Conflict",
        415 => "Unsupported Media Type",
        421 => "Misdirected Request",
        422 => "Unprocessable Entity",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        529 => "Overloaded",
        _ => "Status",
    }
}

pub type Handler = Arc<dyn Fn(Request) -> Reply + Send + Sync>;

/// Serve forever on `listener`, one thread per connection. A request whose
/// `Host` is not the address and port it listens on (or `localhost:<port>`)
/// is refused before anything runs, on every route: a web page that
/// rebinds a name to 127.0.0.1 sends its own name (DNS rebinding).
pub fn serve(listener: TcpListener, handler: Handler) {
    let hosts: Arc<Vec<String>> = Arc::new(match listener.local_addr() {
        Ok(a) => {
            let port = a.port();
            vec![
                a.to_string(),
                format!("localhost:{port}"),
                format!("127.0.0.1:{port}"),
                format!("[::1]:{port}"),
            ]
        }
        Err(_) => vec![],
    });
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        let h = handler.clone();
        let hosts = hosts.clone();
        std::thread::spawn(move || connection(stream, h, &hosts));
    }
}

/// Whether `host` (the request's `Host` header) names this server.
pub fn host_allowed(host: Option<&str>, hosts: &[String]) -> bool {
    host.is_some_and(|h| hosts.iter().any(|a| a.eq_ignore_ascii_case(h.trim())))
}

fn connection(stream: TcpStream, handler: Handler, hosts: &[String]) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
    let _ = stream.set_nodelay(true);
    let Ok(mut w) = stream.try_clone() else {
        return;
    };
    let mut r = BufReader::new(stream);
    while let Some(req) = read_request(&mut r) {
        let close = req
            .header("connection")
            .is_some_and(|v| v.eq_ignore_ascii_case("close"));
        let reply = if host_allowed(req.header("host"), hosts) {
            handler(req)
        } else {
            Reply::json(
                421,
                &serde_json::json!({"message": "the sandbox answers only requests to its own address (Host)"}),
            )
        };
        let (status, headers, body, keep, stall) = match reply {
            Reply::Drop => return,
            Reply::Send {
                status,
                headers,
                body,
            } => (status, headers, body, None, None),
            Reply::Cut {
                status,
                headers,
                body,
                keep,
            } => (status, headers, body, Some(keep), None),
            Reply::Stall {
                status,
                headers,
                body,
                keep,
                hold,
            } => (status, headers, body, Some(keep), Some(hold)),
        };
        let mut head = format!(
            "HTTP/1.1 {status} {}\r\nContent-Length: {}\r\n",
            reason(status),
            body.len()
        );
        if !headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("content-type"))
        {
            head.push_str("Content-Type: application/json;charset=utf-8\r\n");
        }
        for (k, v) in &headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        if close {
            head.push_str("Connection: close\r\n");
        }
        head.push_str("\r\n");
        let sent = &body[..keep.unwrap_or(body.len()).min(body.len())];
        if w.write_all(head.as_bytes()).is_err() || w.write_all(sent).is_err() {
            return;
        }
        let _ = w.flush();
        if let Some(hold) = stall {
            std::thread::sleep(hold);
        }
        if close || keep.is_some() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_credentials_decode() {
        let cases = [
            ("YWZrOnMzY3JldA==", Some("afk:s3cret")),
            ("YWZrOnMzY3JldA", Some("afk:s3cret")),
            ("!!!", None),
        ];
        for (input, want) in cases {
            assert_eq!(base64_decode(input).as_deref(), want, "case {input}");
        }
    }
}
