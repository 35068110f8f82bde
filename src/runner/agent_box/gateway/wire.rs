//! The model gateway's wire: reading a request's head and body from the box,
//! and passing the answer back.

use super::*;

/// Append `bytes` to the metered record (0600, made when missing).
pub(super) fn append(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    if path == std::path::Path::new(STDOUT) {
        // the Kubernetes pod's gateway container: its log is the record,
        // each line through the redacting sink
        for line in String::from_utf8_lossy(bytes).lines() {
            afk_host::say::out(line);
        }
        return Ok(());
    }
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)?;
    f.write_all(bytes)
}

/// The upstream's answer passed to the agent as it arrives: its status and
/// headers unchanged (hop-by-hop ones aside), its body chunk by chunk, each
/// fed to the usage reader, and `on_chunk` told the usage so far, whether
/// the answer's end has arrived, and the chunk's size (before the agent gets
/// the chunk). (status, whether the whole body passed, usage.)
pub(super) fn pass_answer(
    api: Api,
    resp: crate::client::Response,
    w: &mut impl Write,
    on_chunk: impl Fn(Option<usage::Usage>, bool, u64),
) -> (u16, bool, usage::Read) {
    let status = resp.status();
    let framing = usage::Framing::of_content_type(resp.header("content-type"));
    let mut reader = usage::UsageReader::new(api, framing);
    let length: Option<u64> = resp
        .header("content-length")
        .and_then(|v| v.trim().parse().ok());
    let mut head = format!(
        "HTTP/1.1 {status} {}\r\n",
        crate::core::sanitize::one_line(resp.status_text(), 100)
    );
    for name in resp.headers_names() {
        if HOP_BY_HOP.iter().any(|h| h.eq_ignore_ascii_case(&name))
            || name.eq_ignore_ascii_case("content-length")
        {
            continue;
        }
        for v in resp.all(&name) {
            head.push_str(&format!("{name}: {v}\r\n"));
        }
    }
    match length {
        Some(n) => head.push_str(&format!("content-length: {n}\r\n")),
        None => head.push_str("transfer-encoding: chunked\r\n"),
    }
    head.push_str("\r\n");
    if w.write_all(head.as_bytes()).is_err() {
        return (status, false, reader.finish());
    }
    let mut body = resp.into_reader();
    let mut buf = vec![0u8; 16 << 10];
    let mut to_agent = true;
    let mut whole = false;
    let mut n_sent: u64 = 0;
    loop {
        let n = match body.read(&mut buf) {
            Ok(0) => {
                whole = length.is_none_or(|l| n_sent == l);
                break;
            }
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => break,
        };
        let chunk = &buf[..n];
        reader.feed(chunk);
        on_chunk(reader.so_far(), reader.ended(), n as u64);
        n_sent += n as u64;
        if to_agent {
            let wrote = match length {
                Some(_) => w.write_all(chunk),
                None => w
                    .write_all(format!("{n:x}\r\n").as_bytes())
                    .and_then(|()| w.write_all(chunk))
                    .and_then(|()| w.write_all(b"\r\n")),
            };
            to_agent = wrote.and_then(|()| w.flush()).is_ok();
        }
    }
    if whole && to_agent && length.is_none() {
        to_agent = w.write_all(b"0\r\n\r\n").and_then(|()| w.flush()).is_ok();
    }
    (status, whole && to_agent, reader.finish())
}

pub(super) const HOP_BY_HOP: [&str; 8] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authenticate",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// A small answer of the gateway's own (closing the connection).
pub(super) fn answer(w: &mut impl Write, status: u16, body: &str) {
    let reason = match status {
        403 => "Forbidden",
        413 => "Payload Too Large",
        429 => "Too Many Requests",
        502 => "Bad Gateway",
        _ => "Error",
    };
    let _ = write!(
        w,
        "HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = w.flush();
}

/// A request's head.
pub(super) struct Req {
    pub(super) method: String,
    pub(super) target: String,
    pub(super) headers: Vec<(String, String)>,
}

impl Req {
    pub(super) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub(super) fn path(&self) -> &str {
        self.target.split(['?', '#']).next().unwrap_or("")
    }

    pub(super) fn content_length(&self) -> Option<u64> {
        self.header("content-length")
            .and_then(|v| v.trim().parse().ok())
    }
}

/// The next request's head (at most [`MAX_HEAD`] bytes); None: the
/// connection ended, or what came is no request.
pub(super) fn read_head<R: BufRead>(r: &mut R) -> Option<Req> {
    let mut lines: Vec<String> = vec![];
    let mut total = 0usize;
    loop {
        let mut line = Vec::new();
        let n = r
            .take((MAX_HEAD - total) as u64 + 1)
            .read_until(b'\n', &mut line)
            .ok()?;
        if n == 0 || !line.ends_with(b"\n") {
            return None;
        }
        total += n;
        if total > MAX_HEAD {
            return None;
        }
        let text = String::from_utf8_lossy(&line).trim_end().to_string();
        if text.is_empty() {
            if lines.is_empty() {
                continue;
            }
            break;
        }
        lines.push(text);
    }
    let mut first = lines[0].split_whitespace();
    let (method, target) = (first.next()?.to_string(), first.next()?.to_string());
    let headers = lines[1..]
        .iter()
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    Some(Req {
        method,
        target,
        headers,
    })
}

pub(super) enum BodyError {
    TooLarge,
    Cut,
}

/// The request's body: by its `Content-Length`, or chunked, at most
/// [`MAX_BODY`] bytes.
pub(super) fn read_body<R: BufRead>(
    r: &mut R,
    chunked: bool,
    length: Option<u64>,
) -> std::result::Result<Vec<u8>, BodyError> {
    if !chunked {
        let n = length.unwrap_or(0);
        if n > MAX_BODY {
            return Err(BodyError::TooLarge);
        }
        let mut body = vec![0u8; n as usize];
        r.read_exact(&mut body).map_err(|_| BodyError::Cut)?;
        return Ok(body);
    }
    let mut body = vec![];
    loop {
        let mut size = Vec::new();
        r.take(1024)
            .read_until(b'\n', &mut size)
            .map_err(|_| BodyError::Cut)?;
        let text = String::from_utf8_lossy(&size);
        let hex = text.split(';').next().unwrap_or("").trim();
        let n = u64::from_str_radix(hex, 16).map_err(|_| BodyError::Cut)?;
        if n == 0 {
            // trailers, to the blank line
            loop {
                let mut t = Vec::new();
                r.take(8192)
                    .read_until(b'\n', &mut t)
                    .map_err(|_| BodyError::Cut)?;
                if t.trim_ascii().is_empty() {
                    return Ok(body);
                }
            }
        }
        if body.len() as u64 + n > MAX_BODY {
            return Err(BodyError::TooLarge);
        }
        let start = body.len();
        body.resize(start + n as usize, 0);
        r.read_exact(&mut body[start..])
            .map_err(|_| BodyError::Cut)?;
        let mut crlf = [0u8; 2];
        r.read_exact(&mut crlf).map_err(|_| BodyError::Cut)?;
    }
}

// ---- the tick's side: whether the gateway is on, and what the box gets ----
