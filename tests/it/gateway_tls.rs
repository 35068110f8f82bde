//! The model gateway sends its key only to an upstream whose certificate
//! checks (issue 58, docs/runners.md#the-model-gateway-runnermodel): an
//! HTTPS model on loopback presenting a self-signed certificate for another
//! name gets a TLS ClientHello and nothing more, never the HTTP request with
//! the key; the agent gets a 502 saying why, and the run's log says it.

use crate::agent_box::{gateway_afk_to, gateway_key, run_log};
use crate::support::*;
use serde_json::json;
use std::io::{Read, Write};
use std::sync::{Arc, Mutex};

/// What reached the TLS model: every raw byte of every connection, and the
/// plain text of any request a completed handshake let through.
#[derive(Default)]
struct Seen {
    conns: usize,
    raw: Vec<u8>,
    plain: Vec<u8>,
}

/// A TCP stream that keeps a copy of every byte it reads.
struct Recording {
    tcp: std::net::TcpStream,
    seen: Arc<Mutex<Seen>>,
}

impl Read for Recording {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.tcp.read(buf)?;
        self.seen.lock().unwrap().raw.extend_from_slice(&buf[..n]);
        Ok(n)
    }
}

impl Write for Recording {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.tcp.write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.tcp.flush()
    }
}

/// A self-signed certificate for `model.example` and its key, made by
/// openssl in `dir`: (certificate PEM, key PEM).
fn self_signed(dir: &std::path::Path) -> (Vec<u8>, Vec<u8>) {
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    let out = std::process::Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        ])
        .args(["-subj", "/CN=model.example"])
        .args(["-addext", "subjectAltName=DNS:model.example"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("openssl is installed (scripts/test installs it)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (std::fs::read(cert).unwrap(), std::fs::read(key).unwrap())
}

/// An HTTPS model on loopback presenting `cert_pem`: whatever request a
/// completed handshake brings is kept and answered 200 with a usage.
fn tls_model(cert_pem: &[u8], key_pem: &[u8]) -> (String, Arc<Mutex<Seen>>) {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(cert_pem)
        .collect::<Result<_, _>>()
        .unwrap();
    let key = PrivateKeyDer::from_pem_slice(key_pem).unwrap();
    let config = Arc::new(
        rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap(),
    );
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("https://{}", l.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Seen::default()));
    let kept = seen.clone();
    std::thread::spawn(move || {
        for tcp in l.incoming().flatten() {
            let (config, seen) = (config.clone(), kept.clone());
            std::thread::spawn(move || {
                let _ = tcp.set_read_timeout(Some(std::time::Duration::from_secs(60)));
                seen.lock().unwrap().conns += 1;
                let conn = rustls::ServerConnection::new(config).unwrap();
                let rec = Recording {
                    tcp,
                    seen: seen.clone(),
                };
                let mut tls = rustls::StreamOwned::new(conn, rec);
                let mut head = vec![];
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") {
                    match tls.read(&mut byte) {
                        Ok(1) => head.push(byte[0]),
                        _ => break,
                    }
                }
                seen.lock().unwrap().plain.extend_from_slice(&head);
                if head.is_empty() {
                    return;
                }
                let body = r#"{"id":"msg_1","type":"message","role":"assistant","model":"claude-gw-test","content":[{"type":"text","text":"ok"}],"stop_reason":"end_turn","usage":{"input_tokens":1000,"output_tokens":100}}"#;
                let _ = write!(
                    tls,
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = tls.flush();
            });
        }
    });
    (url, seen)
}

#[test]
fn an_upstream_whose_certificate_does_not_check_gets_no_key() {
    let sb = Sandbox::start(json!({"repos": [repo("acme/api", json!([ready(1, "alice")]))]}));
    let key = gateway_key();
    let certs = Scratch::new();
    let (cert, private) = self_signed(&certs.dir);
    let (url, seen) = tls_model(&cert, &private);
    let script = r#"curl -s -m 30 -o ans.txt -w '%{http_code}' -H "x-api-key: $ANTHROPIC_API_KEY" -H 'content-type: application/json' -d '{"model":"claude-gw-test","max_tokens":5,"messages":[]}' "$ANTHROPIC_BASE_URL/v1/messages" > code.txt
git add ans.txt code.txt && git commit -qm answers"#;
    let afk = gateway_afk_to(&sb, &url, &key, script, "");
    let (code, r, err) = afk.poll();
    assert_eq!(code, 0, "poll: {err} {r}");
    afk.wait_agent(1);
    let log = run_log(&afk, 1);
    let work = afk.scratch.path("state/runs/1/work");
    let status = std::fs::read_to_string(work.join("code.txt")).unwrap_or_default();
    let body = std::fs::read_to_string(work.join("ans.txt")).unwrap_or_default();
    let seen = seen.lock().unwrap();
    let ctx = format!(
        "status {status}, body {body}\n--- the model's plain text:\n{}\n--- agent.log:\n{log}",
        String::from_utf8_lossy(&seen.plain)
    );
    // the gateway tried the model: a TLS handshake record arrived
    assert!(seen.conns >= 1, "the gateway reached the model: {ctx}");
    assert_eq!(seen.raw.first(), Some(&0x16), "a TLS ClientHello: {ctx}");
    // and stopped there: no request, no key
    assert!(seen.plain.is_empty(), "no request reached the model: {ctx}");
    assert!(
        !seen.raw.windows(key.len()).any(|w| w == key.as_bytes()),
        "{ctx}"
    );
    assert_eq!(status, "502", "{ctx}");
    let why = "its certificate does not check";
    assert!(body.contains(why), "the 502 says why: {ctx}");
    assert!(log.contains(why), "the run's log says why: {ctx}");
    assert!(!body.contains(&key) && !log.contains(&key), "{ctx}");
}
