//! The registry adapter of `afk upgrade` (docs/how-it-works.md#afk-upgrade):
//! tag lists from a real registry (Debian's `docker-registry`, distribution
//! 2.8, on loopback), and the bearer-token flow, Link paging and 429/5xx
//! against canned answers on loopback, since that registry has no token server
//! and does not page tag lists.

use crate::support;

use crate::support::registry::{RealRegistry, TIMEOUT};
use afk::forge::Failure;
use afk::registry::{ImageRef, OciRegistry, Registry, RegistryErrorKind, lookup_all};
use serde_json::json;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

// A real registry: `support::registry::RealRegistry` (shared with tests/it/upgrade.rs).

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
    assert_eq!(e.kind, RegistryErrorKind::Http(Failure::NotFound));
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
fn a_registry_nobody_listens_at_is_unreachable_as_a_forge_is() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let client = OciRegistry::new(TIMEOUT);
    let e = client
        .tags(&ImageRef::parse(&format!("127.0.0.1:{port}/a/b")).unwrap())
        .unwrap_err();
    assert_eq!(e.kind, RegistryErrorKind::Http(Failure::Unreachable), "{e}");
    assert!(
        !e.is_transient(),
        "nobody listens: a configuration mistake, as for a forge"
    );
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

/// Writes a body of the length given with it, piece by piece, so that a
/// hostile answer of any size costs the test no memory.
type Stream = Box<dyn FnOnce(&mut TcpStream) -> std::io::Result<()> + Send>;

struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
    /// instead of `body`: its length and its writer
    stream: Option<(u64, Stream)>,
}

fn reply(status: u16, headers: &[(&str, &str)], body: &str) -> Reply {
    Reply {
        status,
        headers: headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        body: body.to_string(),
        stream: None,
    }
}

/// A 200 whose body is `head`, then `piece` `times` times, then `tail`.
fn streamed(headers: &[(&str, &str)], head: &str, piece: &str, times: u64, tail: &str) -> Reply {
    let len = head.len() as u64 + piece.len() as u64 * times + tail.len() as u64;
    let (head, piece, tail) = (head.to_string(), piece.repeat(4096), tail.to_string());
    let write: Stream = Box::new(move |s: &mut TcpStream| {
        s.write_all(head.as_bytes())?;
        let per = piece.len() as u64 / 4096;
        let mut left = times;
        while left > 0 {
            let n = left.min(4096);
            s.write_all(&piece.as_bytes()[..(n * per) as usize])?;
            left -= n;
        }
        s.write_all(tail.as_bytes())
    });
    Reply {
        stream: Some((len, write)),
        ..reply(200, headers, "")
    }
}

/// An HTTP/1.1 server on a loopback address answering each request with
/// `handler` (one request per connection) and recording them; stopped on drop.
struct Canned {
    url: String,
    requests: Arc<Mutex<Vec<Req>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Canned {
    fn start(handler: impl Fn(&Req, &str) -> Reply + Send + 'static) -> Canned {
        Canned::start_on("127.0.0.1", handler)
    }

    /// On `ip` (127.0.0.2, 127.0.0.3: other loopback hosts, so that afk sees
    /// registries on different hosts without leaving the machine).
    fn start_on(ip: &str, handler: impl Fn(&Req, &str) -> Reply + Send + 'static) -> Canned {
        let listener = TcpListener::bind((ip, 0)).unwrap();
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
                let len = r.stream.as_ref().map_or(r.body.len() as u64, |s| s.0);
                let mut head = format!(
                    "HTTP/1.1 {} Canned\r\nContent-Length: {len}\r\nConnection: close\r\n",
                    r.status,
                );
                for (k, v) in &r.headers {
                    head.push_str(&format!("{k}: {v}\r\n"));
                }
                head.push_str("\r\n");
                let _ = stream.write_all(head.as_bytes());
                match r.stream {
                    // the client may hang up early: that is what a bound does
                    Some((_, write)) => {
                        let _ = write(&mut stream);
                    }
                    None => {
                        let _ = stream.write_all(r.body.as_bytes());
                    }
                }
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
    let client =
        OciRegistry::new(TIMEOUT).with_basic_auth(afk::redact::Secret::new(SECRET), &server.host());
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
    let client = OciRegistry::new(TIMEOUT).with_basic_auth(
        afk::redact::Secret::new("robot:wrong-s3cret"),
        &server.host(),
    );
    let e = client.tags(&server.image("acme/app:1.0")).unwrap_err();
    assert_eq!(e.kind, RegistryErrorKind::Http(Failure::Unauthorized));
    assert!(e.secret_refused, "{e:?}");
    // the line a person reads names the secret's setting (the binary's hint)
    let line = afk::command_error::person_line(&anyhow::Error::new(e.clone()));
    let text = format!("{line} {e:?}");
    assert!(
        line.ends_with("; check the secret named by upgrade.registry_auth_env"),
        "{text}"
    );
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
    let with =
        OciRegistry::new(TIMEOUT).with_basic_auth(afk::redact::Secret::new(SECRET), &server.host());
    assert_eq!(
        with.tags(&server.image("acme/app:2")).unwrap(),
        strings(&["2"])
    );
    let e = OciRegistry::new(TIMEOUT)
        .tags(&server.image("acme/app:2"))
        .unwrap_err();
    assert_eq!(e.kind, RegistryErrorKind::Http(Failure::Unauthorized));
    // the secret of another registry host is not offered
    let before = server.requests().len();
    let other = OciRegistry::new(TIMEOUT)
        .with_basic_auth(afk::redact::Secret::new(SECRET), "registry.example.org");
    let e = other.tags(&server.image("acme/app:2")).unwrap_err();
    assert_eq!(e.kind, RegistryErrorKind::Http(Failure::Unauthorized));
    assert!(
        e.to_string()
            .contains("registry_auth_host (registry.example.org)"),
        "{e}"
    );
    let reqs = server.requests();
    assert_eq!(reqs.len(), before + 1, "asked once, anonymously: {reqs:?}");
    assert_eq!(reqs[before].authorization, None);
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
        let kind = match status {
            429 => Failure::RateLimited,
            s => Failure::Other(s),
        };
        assert_eq!(e.kind, RegistryErrorKind::Http(kind), "{case}");
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

// ---------------------------------------------------------------------------
// Through the binary: `afk upgrade` against hostile registries on other
// loopback hosts (127.0.0.2, 127.0.0.3), beside the sandbox forge.

/// A sandbox forge with a mirror `maint/<recipe>` per recipe and, on disk, an
/// upstream repository per recipe whose compose.yml names the images given
/// (space-separated); `upgrade` is added to `[upgrade]`, `mirrors` is the body
/// of `[upgrade.registry_mirrors]`.
struct Recipes {
    sb: support::Sandbox,
    afk: support::Afk,
}

impl Recipes {
    fn new(recipes: &[(&str, String)], upgrade: &str, mirrors: &str) -> Recipes {
        let repos: Vec<serde_json::Value> = recipes
            .iter()
            .map(|(r, _)| json!({"name": format!("maint/{r}")}))
            .collect();
        let sb = support::Sandbox::start(json!({"me": "afk-bot", "repos": repos}));
        let afk = support::Afk::with_text("");
        let up = afk.scratch.path("upstream");
        std::fs::create_dir_all(&up).unwrap();
        for (recipe, images) in recipes {
            let work = afk.scratch.path(&format!("upstream-work/{recipe}"));
            std::fs::create_dir_all(&work).unwrap();
            support::git(&work, &["init", "-q", "-b", "main"]);
            let services: String = images
                .split_whitespace()
                .enumerate()
                .map(|(i, image)| format!("  s{i}:\n    image: {image}\n"))
                .collect();
            std::fs::write(work.join("compose.yml"), format!("services:\n{services}")).unwrap();
            support::git(&work, &["add", "-A"]);
            support::git(&work, &["commit", "-q", "-m", "the recipe"]);
            let bare = up.join(format!("{recipe}.git"));
            support::git(
                &up,
                &[
                    "clone",
                    "-q",
                    "--bare",
                    work.to_str().unwrap(),
                    bare.to_str().unwrap(),
                ],
            );
        }
        let names: Vec<String> = recipes.iter().map(|(r, _)| format!("\"{r}\"")).collect();
        // one PR per image, as these registry scenarios count them
        let group = if upgrade.contains("group_by") {
            ""
        } else {
            "group_by = \"image\"\n"
        };
        let text = format!(
            "state_path = \"state/afk.db\"\n[forge]\n{forge}timeout = \"10s\"\nretries = 0\n\
             [runner]\ncommand = [\"true\"]\n\
             [upgrade]\nrecipes = [{names}]\nupstream = \"{up}/{{recipe}}.git\"\n\
             mirror = \"maint/{{recipe}}\"\nwork_dir = \"work\"\n{group}{upgrade}\n\
             [upgrade.registry_mirrors]\n{mirrors}\n",
            forge = sb.forge_keys(),
            names = names.join(", "),
            up = up.display(),
        );
        std::fs::write(&afk.config, text).unwrap();
        Recipes { sb, afk }
    }

    /// `afk <args>` with `env`: (exit code, the --json report, stderr).
    fn run(&self, env: &[(&str, &str)], args: &[&str]) -> (i32, serde_json::Value, String) {
        let mut cmd = self.afk.cmd();
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = cmd.args(args).output().unwrap();
        let report = serde_json::from_slice(&out.stdout).unwrap_or_default();
        (
            out.status.code().unwrap_or(-1),
            report,
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }
}

fn skipped(report: &serde_json::Value) -> BTreeMap<String, String> {
    report["skipped"]
        .as_array()
        .unwrap_or_else(|| panic!("a report: {report}"))
        .iter()
        .map(|s| {
            (
                s["recipe"].as_str().unwrap().to_string(),
                s["reason"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// (recipe, image, proposed) of every candidate.
fn proposed(report: &serde_json::Value) -> Vec<(String, String, String)> {
    let mut v: Vec<(String, String, String)> = report["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let s = |k: &str| c[k].as_str().unwrap().to_string();
            (s("recipe"), s("image"), s("proposed"))
        })
        .collect();
    v.sort();
    v
}

fn path_of(req: &Req) -> &str {
    req.target.split('?').next().unwrap()
}

fn bearer_challenge(realm: &str) -> Reply {
    let challenge =
        format!("Bearer realm=\"{realm}\",service=\"test\",scope=\"repository:x/y:pull\"");
    reply(401, &[("WWW-Authenticate", &challenge)], "")
}

#[test]
fn the_registry_secret_goes_only_to_the_auth_host_and_its_own_token_service() {
    // A registry that is not the auth host: a Basic challenge (answered with
    // tags to anyone who sends any credentials), an anonymous token service,
    // a token service that wants the secret, and a Docker Hub mirror.
    let foreign = Canned::start_on("127.0.0.2", |req, base| {
        let auth = req.authorization.as_deref();
        match path_of(req) {
            "/token" => reply(200, &[], "{\"token\":\"tok-foreign\"}"),
            "/token-wanting-the-secret" if auth == Some(SECRET_BASIC) => {
                reply(200, &[], "{\"token\":\"tok-stolen\"}")
            }
            "/token-wanting-the-secret" => reply(401, &[], ""),
            "/v2/evil/basic/tags/list" if auth.is_some() => {
                reply(200, &[], &tag_list("evil/basic", &["1.0", "1.1"]))
            }
            "/v2/evil/basic/tags/list" => {
                reply(401, &[("WWW-Authenticate", "Basic realm=\"evil\"")], "")
            }
            "/v2/evil/bearer/tags/list" if auth == Some("Bearer tok-foreign") => {
                reply(200, &[], &tag_list("evil/bearer", &["1.0", "1.2"]))
            }
            "/v2/library/nginx/tags/list" if auth == Some("Bearer tok-foreign") => {
                reply(200, &[], &tag_list("library/nginx", &["1.25.3", "1.26.0"]))
            }
            _ => bearer_challenge(&format!("{base}/token")),
        }
    });
    // The auth host: its own token service wants the secret; for one
    // repository it names the foreign token service instead.
    let foreign_realm = format!("{}/token-wanting-the-secret", foreign.url);
    let private = Canned::start_on("127.0.0.3", move |req, base| {
        let auth = req.authorization.as_deref();
        match path_of(req) {
            "/token" if auth == Some(SECRET_BASIC) => {
                reply(200, &[], "{\"token\":\"tok-private\"}")
            }
            "/token" => reply(401, &[], ""),
            "/v2/team/app/tags/list" if auth == Some("Bearer tok-private") => {
                reply(200, &[], &tag_list("team/app", &["1.0", "1.3"]))
            }
            "/v2/team/other/tags/list" if auth == Some("Bearer tok-stolen") => {
                reply(200, &[], &tag_list("team/other", &["1.0", "1.4"]))
            }
            "/v2/team/other/tags/list" => bearer_challenge(&foreign_realm),
            _ => bearer_challenge(&format!("{base}/token")),
        }
    });
    let (f, p) = (foreign.host(), private.host());
    let t = Recipes::new(
        &[
            ("private", format!("{p}/team/app:1.0")),
            ("anon", format!("nginx:1.25.3 {f}/evil/bearer:1.0")),
            ("basic", format!("{f}/evil/basic:1.0")),
            ("realm", format!("{p}/team/other:1.0")),
        ],
        &format!("registry_auth_env = \"AFK_TEST_REG\"\nregistry_auth_host = \"{p}\"\n"),
        &format!("\"docker.io\" = \"{}\"\n", foreign.url),
    );
    let env = [("AFK_TEST_REG", SECRET)];
    let (code, dry, stderr) = t.run(&env, &["-v", "--json", "--dry-run", "upgrade"]);
    let (real_code, real, _) = t.run(&env, &["--json", "upgrade"]);
    for (code, r) in [(code, &dry), (real_code, &real)] {
        assert_eq!(code, 1, "two recipes are skipped: {r}");
        let skipped = skipped(r);
        assert_eq!(
            skipped.keys().collect::<Vec<_>>(),
            ["basic", "realm"],
            "{r}"
        );
        for reason in skipped.values() {
            assert!(reason.contains("401"), "{reason}");
            assert!(reason.contains("registry_auth_host"), "{reason}");
            assert!(!reason.contains("s3cret"), "{reason}");
        }
        let row = |r: &str, i: &str, p: &str| (r.to_string(), i.to_string(), p.to_string());
        assert_eq!(
            proposed(r),
            [
                row("anon", "evil/bearer", "1.2"),
                row("anon", "library/nginx", "1.26.0"),
                row("private", "team/app", "1.3"),
            ],
            "anonymous token flows work, and the auth host gets its secret: {r}"
        );
    }
    let reqs = foreign.requests();
    assert!(
        reqs.iter()
            .any(|r| path_of(r) == "/token-wanting-the-secret"),
        "the foreign realm was asked (anonymously): {reqs:?}"
    );
    for r in &reqs {
        let auth = r.authorization.as_deref().unwrap_or("");
        assert!(
            !auth.starts_with("Basic") && !auth.contains("tok-private"),
            "the secret (or the auth host's token) went to a foreign registry: {r:?}"
        );
        if path_of(r).starts_with("/token") {
            assert_eq!(
                r.authorization, None,
                "a foreign realm is asked anonymously"
            );
        }
    }
    let reqs = private.requests();
    let tokens: Vec<&Req> = reqs.iter().filter(|r| path_of(r) == "/token").collect();
    assert!(!tokens.is_empty(), "{reqs:?}");
    for r in tokens {
        assert_eq!(r.authorization.as_deref(), Some(SECRET_BASIC), "{r:?}");
    }
    for r in reqs.iter().filter(|r| path_of(r) != "/token") {
        assert!(
            !r.authorization
                .as_deref()
                .unwrap_or("")
                .starts_with("Basic"),
            "a registry asking for a bearer token gets no Basic header: {r:?}"
        );
    }
    // -v shows each registry request, and never the secret
    for line in [
        format!("GET {p}/v2/team/app/tags/list 401"),
        format!("GET {p}/v2/team/app/tags/list 200"),
        format!("GET {p}/token 200"),
        format!("GET {f}/v2/evil/basic/tags/list 401"),
        format!("GET {f}/token-wanting-the-secret 401"),
    ] {
        assert!(stderr.contains(&line), "-v shows {line:?}:\n{stderr}");
    }
    assert!(
        !stderr.contains("s3cret") && !stderr.contains(SECRET_BASIC),
        "{stderr}"
    );
}

#[test]
fn the_registry_secret_and_its_host_come_together_or_not_at_all() {
    let cases = [
        (
            "registry_auth_env = \"AFK_TEST_REG\"\n",
            "upgrade.registry_auth_env at line",
        ),
        (
            "registry_auth_host = \"registry.example.org\"\n",
            "upgrade.registry_auth_host at line",
        ),
        (
            "registry_auth_env = \"AFK_TEST_REG\"\nregistry_auth_host = \"https://registry.example.org\"\n",
            "upgrade.registry_auth_host at line",
        ),
    ];
    for (keys, want) in cases {
        let t = Recipes::new(&[("app", "nginx:1.25.3".into())], keys, "");
        let (code, _, stderr) = t.run(&[("AFK_TEST_REG", SECRET)], &["--dry-run", "upgrade"]);
        assert_eq!(code, 2, "case {keys:?}: {stderr}");
        assert!(stderr.contains(want), "case {keys:?}: {stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr}");
        assert!(t.sb.requests().is_empty(), "case {keys:?}: nothing asked");
    }
}

/// Runs `afk` to its end and returns (exit code, its report, its peak RSS in KiB).
fn run_measured(t: &Recipes, args: &[&str]) -> (i32, serde_json::Value, u64) {
    let mut cmd = std::process::Command::new(support::afk_bin());
    cmd.env("AFK_FORGE_TOKEN", support::TOKEN)
        .env_remove("AFK_CONFIG")
        .env_remove("AFK_NOW")
        .arg("--config")
        .arg(&t.afk.config)
        .args(args);
    let (code, out, peak) = support::run_sampled(cmd);
    (code, serde_json::from_slice(&out).unwrap_or_default(), peak)
}

#[test]
fn a_hostile_tag_list_skips_its_recipe_in_bounded_memory_and_the_tick_goes_on() {
    let hostile = Canned::start_on("127.0.0.2", |req, _| match path_of(req) {
        // one page of about 8 MB of short tags: two million of them
        "/v2/h/many/tags/list" => streamed(&[], "{\"tags\":[\"a\"", ",\"a\"", 1_990_000, "]}"),
        // pages of 5,000 short tags, without end: the 33 pages
        "/v2/h/pages/tags/list" => streamed(
            &[("Link", "</v2/h/pages/tags/list?last=a>; rel=\"next\"")],
            "{\"tags\":[\"a\"",
            ",\"a\"",
            4_999,
            "]}",
        ),
        // one page of 64 MiB: a tag, then blanks
        "/v2/h/huge/tags/list" => streamed(&[], "{\"tags\":[\"1.1\"]", " ", 64 << 20, "}"),
        // one tag of 64 MiB, in each of eight images looked up at once
        p if p.starts_with("/v2/h/long") => streamed(&[], "{\"tags\":[\"", "a", 64 << 20, "\"]}"),
        // a tag a page, without end
        _ => reply(
            200,
            &[("Link", "</v2/h/endless/tags/list?last=a>; rel=\"next\"")],
            &tag_list("h/endless", &["a"]),
        ),
    });
    let h = hostile.host();
    let sandbox_mirror = |t: &Recipes| format!("\"docker.io\" = \"{}\"\n", t.sb.url);
    let t = Recipes::new(
        &[
            ("many", format!("{h}/h/many:1.0")),
            ("pages", format!("{h}/h/pages:1.0")),
            ("huge", format!("{h}/h/huge:1.0")),
            (
                "long",
                (0..8).map(|i| format!("{h}/h/long{i}:1.0 ")).collect(),
            ),
            ("endless", format!("{h}/h/endless:1.0")),
            ("fine", "nginx:1.25.3".to_string()),
        ],
        "",
        "",
    );
    let text = std::fs::read_to_string(&t.afk.config).unwrap() + &sandbox_mirror(&t);
    std::fs::write(&t.afk.config, text).unwrap();
    t.sb.admin(
        "POST",
        "/registry",
        Some(json!({"images": {"library/nginx": ["1.25.3", "1.26.0"]}})),
    );
    let (code, r, max_rss_kib) = run_measured(&t, &["--json", "upgrade"]);
    assert_eq!(code, 1, "skipped recipes: {r}");
    let skipped = skipped(&r);
    let want = [
        ("endless", "100 pages"),
        ("huge", "8 MiB"),
        ("long", "16 KiB"),
        ("many", "10000 tags"),
        ("pages", "10000 tags"),
    ];
    assert_eq!(
        skipped.keys().collect::<Vec<_>>(),
        want.iter().map(|(k, _)| k).collect::<Vec<_>>(),
        "{r}"
    );
    for (recipe, bound) in want {
        let reason = &skipped[recipe];
        assert!(reason.contains(bound), "{recipe}: {reason}");
        assert!(reason.contains(&h), "{recipe} names the registry: {reason}");
    }
    let acts: Vec<(String, String)> = r["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            let s = |k: &str| a[k].as_str().unwrap().to_string();
            (s("recipe"), s("action"))
        })
        .collect();
    assert!(
        acts.contains(&("fine".into(), "open_pr".into())),
        "the other recipe goes on: {r}"
    );
    assert!(
        max_rss_kib < 50 * 1024,
        "afk's peak RSS was {max_rss_kib} KiB"
    );
}
