//! The registry adapter of `afk upgrade` (SPEC 8 step 2): tag lists from a real
//! registry (Debian's `docker-registry`, distribution 2.8, on loopback), and the
//! bearer-token flow, Link paging and 429/5xx against canned answers on loopback,
//! since that registry has no token server and does not page tag lists.

mod support;

use afk::registry::{ImageRef, OciRegistry, Registry, RegistryErrorKind, lookup_all};
use serde_json::json;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use support::registry::{RealRegistry, TIMEOUT};

// A real registry: `support::registry::RealRegistry` (shared with tests/upgrade.rs).

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

#[test]
fn every_tag_comes_back_when_there_are_more_than_a_page() {
    let reg = RealRegistry::start();
    let tags: Vec<String> = (0..25).map(|i| format!("1.{i}.0")).collect();
    reg.push("acme/app", &tags);
    let client = OciRegistry::new(TIMEOUT).with_page_size(10);
    let image = ImageRef::parse(&format!("{}/acme/app:1.0.0", reg.host())).unwrap();
    // distribution 2.8 answers `?n=10` with the whole list (paging came with
    // 3.0); a registry that pages is followed through Link, pinned below.
    let got = client.tags(&image).unwrap();
    assert_eq!(sorted(got), sorted(tags));
}

#[test]
fn docker_hub_names_are_asked_at_the_mirror_with_their_slash() {
    let reg = RealRegistry::start();
    let pg = strings(&["15.4.0-debian-11-r10", "15.5.0-debian-11-r20", "16.1.0"]);
    reg.push("bitnami/postgresql", &pg);
    reg.push(
        "library/nginx",
        &strings(&["1.25.3", "1.25.3-alpine", "1.26.0"]),
    );
    let client = OciRegistry::new(TIMEOUT)
        .with_mirrors(BTreeMap::from([("docker.io".to_string(), reg.url.clone())]));
    let images: Vec<ImageRef> = [
        "bitnami/postgresql:15.4.0-debian-11-r10",
        "nginx:1.25.3",
        "docker.io/library/nginx:1.25.3",
        "docker.io/bitnami/postgresql:15.4.0-debian-11-r10",
        "nginx:1.25.3-alpine",
    ]
    .iter()
    .map(|s| ImageRef::parse(s).unwrap())
    .collect();
    let out = lookup_all(&client, &images, 4);
    let got: Vec<(String, Vec<String>)> = out
        .into_iter()
        .map(|(i, r)| (i.to_string(), sorted(r.unwrap())))
        .collect();
    let nginx = strings(&["1.25.3", "1.25.3-alpine", "1.26.0"]);
    assert_eq!(
        got,
        vec![
            (
                "bitnami/postgresql:15.4.0-debian-11-r10".to_string(),
                pg.clone()
            ),
            ("library/nginx:1.25.3".to_string(), nginx.clone()),
            ("library/nginx:1.25.3-alpine".to_string(), nginx),
        ],
        "docker.io/… names the same images; each distinct image answered once"
    );
}

#[test]
fn an_unknown_repository_is_a_clear_error() {
    let reg = RealRegistry::start();
    let client = OciRegistry::new(TIMEOUT);
    let image = ImageRef::parse(&format!("{}/nope/app:1", reg.host())).unwrap();
    let e = client.tags(&image).unwrap_err();
    assert_eq!(e.kind, RegistryErrorKind::NotFound);
    assert_eq!(e.status, Some(404));
    assert!(!e.is_transient());
    let text = e.to_string();
    for part in [
        reg.host().as_str(),
        "/v2/nope/app/tags/list",
        "404",
        "NAME_UNKNOWN",
    ] {
        assert!(text.contains(part), "{text:?} names {part}");
    }
}

#[test]
fn a_registry_that_does_not_answer_is_unavailable() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let client = OciRegistry::new(TIMEOUT);
    let e = client
        .tags(&ImageRef::parse(&format!("127.0.0.1:{port}/a/b")).unwrap())
        .unwrap_err();
    assert_eq!(e.kind, RegistryErrorKind::Unavailable, "{e}");
    assert!(e.to_string().contains(&format!("127.0.0.1:{port}")), "{e}");
}

// ---------------------------------------------------------------------------
// Canned answers on loopback

#[derive(Debug, Clone)]
struct Req {
    /// path and query, as sent
    target: String,
    authorization: Option<String>,
}

struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

fn reply(status: u16, headers: &[(&str, &str)], body: &str) -> Reply {
    Reply {
        status,
        headers: headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        body: body.to_string(),
    }
}

/// An HTTP/1.1 server on 127.0.0.1 answering each request with `handler`
/// (one request per connection) and recording them; stopped on drop.
struct Canned {
    url: String,
    requests: Arc<Mutex<Vec<Req>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Canned {
    fn start(handler: impl Fn(&Req, &str) -> Reply + Send + 'static) -> Canned {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let requests = Arc::new(Mutex::new(vec![]));
        let stop = Arc::new(AtomicBool::new(false));
        let (reqs, stopped, base) = (requests.clone(), stop.clone(), url.clone());
        let thread = std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stopped.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(mut stream) = stream else { continue };
                let Some(req) = read_request(&stream) else {
                    continue;
                };
                reqs.lock().unwrap().push(req.clone());
                let r = handler(&req, &base);
                let mut head = format!(
                    "HTTP/1.1 {} Canned\r\nContent-Length: {}\r\nConnection: close\r\n",
                    r.status,
                    r.body.len()
                );
                for (k, v) in &r.headers {
                    head.push_str(&format!("{k}: {v}\r\n"));
                }
                head.push_str("\r\n");
                let _ = stream.write_all(head.as_bytes());
                let _ = stream.write_all(r.body.as_bytes());
            }
        });
        Canned {
            url,
            requests,
            stop,
            thread: Some(thread),
        }
    }

    fn host(&self) -> String {
        self.url.trim_start_matches("http://").to_string()
    }

    fn requests(&self) -> Vec<Req> {
        self.requests.lock().unwrap().clone()
    }

    fn image(&self, path: &str) -> ImageRef {
        ImageRef::parse(&format!("{}/{path}", self.host())).unwrap()
    }
}

impl Drop for Canned {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.host());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn read_request(stream: &TcpStream) -> Option<Req> {
    let mut r = BufReader::new(stream);
    let mut line = String::new();
    r.read_line(&mut line).ok()?;
    let target = line.split_whitespace().nth(1)?.to_string();
    let mut authorization = None;
    loop {
        let mut h = String::new();
        if r.read_line(&mut h).ok()? == 0 || h.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':')
            && k.eq_ignore_ascii_case("authorization")
        {
            authorization = Some(v.trim().to_string());
        }
    }
    Some(Req {
        target,
        authorization,
    })
}

fn query_param(target: &str, key: &str) -> Option<String> {
    let q = target.split_once('?')?.1;
    q.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        (k == key).then(|| percent_decode(v))
    })
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = vec![];
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' if i + 2 < b.len() => {
                let hex = std::str::from_utf8(&b[i + 1..i + 3]).unwrap();
                out.push(u8::from_str_radix(hex, 16).unwrap());
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8(out).unwrap()
}

fn tag_list(name: &str, tags: &[&str]) -> String {
    json!({"name": name, "tags": tags}).to_string()
}

#[test]
fn link_pages_are_followed_relative_and_absolute() {
    let server = Canned::start(|req, base| {
        let last = query_param(&req.target, "last");
        assert_eq!(
            query_param(&req.target, "n").as_deref(),
            Some("2"),
            "{req:?}"
        );
        match last.as_deref() {
            None => reply(
                200,
                &[("Link", "</v2/acme/app/tags/list?n=2&last=b>; rel=\"next\"")],
                &tag_list("acme/app", &["a", "b"]),
            ),
            Some("b") => reply(
                200,
                &[(
                    "Link",
                    &format!("<{base}/v2/acme/app/tags/list?n=2&last=d>; rel=\"next\""),
                )],
                &tag_list("acme/app", &["c", "d"]),
            ),
            Some("d") => reply(200, &[], &tag_list("acme/app", &["e"])),
            other => panic!("unexpected page {other:?}"),
        }
    });
    let client = OciRegistry::new(TIMEOUT).with_page_size(2);
    let got = client.tags(&server.image("acme/app:a")).unwrap();
    assert_eq!(got, strings(&["a", "b", "c", "d", "e"]));
    assert_eq!(server.requests().len(), 3);
}

#[test]
fn endless_pages_are_an_error_not_a_truncated_list() {
    let server = Canned::start(|_, _| {
        reply(
            200,
            &[("Link", "</v2/acme/app/tags/list?last=x>; rel=\"next\"")],
            &tag_list("acme/app", &["x"]),
        )
    });
    let e = OciRegistry::new(TIMEOUT)
        .tags(&server.image("acme/app:x"))
        .unwrap_err();
    assert_eq!(e.kind, RegistryErrorKind::Protocol);
    assert!(e.to_string().contains("100 pages"), "{e}");
    assert_eq!(server.requests().len(), 100);
}

#[test]
fn a_next_page_on_another_host_is_not_followed() {
    let server = Canned::start(|_, _| {
        reply(
            200,
            &[(
                "Link",
                "<https://elsewhere.example.org/v2/a/b/tags/list?last=x>; rel=\"next\"",
            )],
            &tag_list("acme/app", &["x"]),
        )
    });
    let e = OciRegistry::new(TIMEOUT)
        .tags(&server.image("acme/app:x"))
        .unwrap_err();
    assert_eq!(e.kind, RegistryErrorKind::Protocol);
    assert!(e.to_string().contains("another host"), "{e}");
    assert_eq!(server.requests().len(), 1);
}

const SECRET: &str = "robot:s3cret-Token";
const SECRET_BASIC: &str = "Basic cm9ib3Q6czNjcmV0LVRva2Vu";

/// A registry whose tag list needs a bearer token from its own `/token`
/// realm; the token server wants `SECRET` when `need_basic`, answers under
/// `field` and grants `token`.
fn token_registry(need_basic: bool, field: &'static str) -> Canned {
    Canned::start(move |req, base| {
        if req.target.starts_with("/token") {
            if need_basic && req.authorization.as_deref() != Some(SECRET_BASIC) {
                return reply(401, &[], "{\"details\":\"bad credentials\"}");
            }
            return reply(
                200,
                &[],
                &json!({ field: "tok-1", "expires_in": 300 }).to_string(),
            );
        }
        if req.authorization.as_deref() == Some("Bearer tok-1") {
            return reply(200, &[], &tag_list("acme/app", &["1.0", "1.1"]));
        }
        let challenge = format!(
            "Bearer realm=\"{base}/token\",service=\"registry.test\",scope=\"repository:acme/app:pull\""
        );
        reply(
            401,
            &[("WWW-Authenticate", &challenge)],
            "{\"errors\":[{\"code\":\"UNAUTHORIZED\"}]}",
        )
    })
}

#[test]
fn a_bearer_challenge_is_answered_with_a_token_fetched_once() {
    let server = token_registry(true, "token");
    let client = OciRegistry::new(TIMEOUT).with_basic_auth(SECRET.to_string());
    let image = server.image("acme/app:1.0");
    assert_eq!(client.tags(&image).unwrap(), strings(&["1.0", "1.1"]));
    assert_eq!(client.tags(&image).unwrap(), strings(&["1.0", "1.1"]));
    let reqs = server.requests();
    let token_reqs: Vec<&Req> = reqs
        .iter()
        .filter(|r| r.target.starts_with("/token"))
        .collect();
    assert_eq!(
        token_reqs.len(),
        1,
        "the token is cached per realm and scope: {reqs:?}"
    );
    let t = token_reqs[0];
    assert_eq!(
        query_param(&t.target, "service").as_deref(),
        Some("registry.test")
    );
    assert_eq!(
        query_param(&t.target, "scope").as_deref(),
        Some("repository:acme/app:pull")
    );
    assert_eq!(t.authorization.as_deref(), Some(SECRET_BASIC));
    for r in &reqs {
        assert!(!r.target.contains("s3cret"), "no secret in a URL: {r:?}");
        if !r.target.starts_with("/token") {
            assert_ne!(
                r.authorization.as_deref(),
                Some(SECRET_BASIC),
                "the secret goes to the token server only"
            );
        }
    }
}

#[test]
fn an_anonymous_token_may_come_as_access_token() {
    let server = token_registry(false, "access_token");
    let client = OciRegistry::new(TIMEOUT);
    assert_eq!(
        client.tags(&server.image("acme/app:1.0")).unwrap(),
        strings(&["1.0", "1.1"])
    );
    let token_req = server
        .requests()
        .into_iter()
        .find(|r| r.target.starts_with("/token"))
        .unwrap();
    assert_eq!(token_req.authorization, None, "anonymous");
}

#[test]
fn a_refused_token_is_denied_without_showing_the_secret() {
    let server = token_registry(true, "token");
    let client = OciRegistry::new(TIMEOUT).with_basic_auth("robot:wrong-s3cret".to_string());
    let e = client.tags(&server.image("acme/app:1.0")).unwrap_err();
    assert_eq!(e.kind, RegistryErrorKind::Denied);
    let text = format!("{e} {e:?}");
    assert!(text.contains("registry_auth_env"), "{text}");
    for secret in ["wrong-s3cret", "cm9ib3Q6d3JvbmctczNjcmV0"] {
        assert!(!text.contains(secret), "no secret in {text}");
    }
}

#[test]
fn a_basic_challenge_is_answered_with_the_secret() {
    let server = Canned::start(|req, _| {
        if req.authorization.as_deref() == Some(SECRET_BASIC) {
            reply(200, &[], &tag_list("acme/app", &["2"]))
        } else {
            reply(401, &[("WWW-Authenticate", "Basic realm=\"Registry\"")], "")
        }
    });
    let with = OciRegistry::new(TIMEOUT).with_basic_auth(SECRET.to_string());
    assert_eq!(
        with.tags(&server.image("acme/app:2")).unwrap(),
        strings(&["2"])
    );
    let e = OciRegistry::new(TIMEOUT)
        .tags(&server.image("acme/app:2"))
        .unwrap_err();
    assert_eq!(e.kind, RegistryErrorKind::Denied);
}

#[test]
fn rate_limits_and_server_errors_skip_with_host_status_and_retry_after() {
    let cases = [
        (429, Some("30")),
        (429, None),
        (500, None),
        (502, Some("120")),
        (503, Some("Wed, 21 Oct 2026 07:28:00 GMT")),
    ];
    for (status, retry_after) in cases {
        let server = Canned::start(move |_, _| match retry_after {
            Some(ra) => reply(status, &[("Retry-After", ra)], "{\"errors\":[]}"),
            None => reply(status, &[], "boom"),
        });
        let e = OciRegistry::new(TIMEOUT)
            .tags(&server.image("acme/app:1"))
            .unwrap_err();
        let text = e.to_string();
        let case = format!("case {status} {retry_after:?}: {text}");
        assert_eq!(e.kind, RegistryErrorKind::Unavailable, "{case}");
        assert!(e.is_transient(), "{case}");
        assert_eq!(e.status, Some(status), "{case}");
        assert_eq!(e.retry_after.as_deref(), retry_after, "{case}");
        assert!(text.contains(&server.host()), "{case}");
        assert!(text.contains(&status.to_string()), "{case}");
        assert!(!text.contains('\n'), "one line: {case}");
        if let Some(ra) = retry_after {
            assert!(text.contains(&format!("Retry-After {ra}")), "{case}");
        }
        assert_eq!(
            server.requests().len(),
            1,
            "no retry within the tick: {case}"
        );
    }
}
