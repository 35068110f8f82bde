//! The container-registry adapter of `afk upgrade` (SPEC 8 step 2): list an
//! image's tags over the OCI distribution API.
//!
//! Owns: naming (`nginx` is `library/nginx` at `registry-1.docker.io`), where to
//! ask (`upgrade.registry_mirrors`; plain HTTP only to a loopback host, as Docker
//! does), paging through `Link: <…>; rel="next"`, the bearer-token flow on `401`,
//! and errors that name host, path and status but never a secret. Choosing a tag
//! is not done here (that is a pure decision for `core`).

use crate::core::upgrade::is_loopback;
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::Duration;

/// Docker Hub's registry host: what `nginx` or `docker.io/x/y` is fetched from.
pub const DOCKER_HUB_REGISTRY: &str = "registry-1.docker.io";
/// The name `upgrade.registry_mirrors` uses for Docker Hub.
pub const DOCKER_HUB: &str = "docker.io";
/// Pages of tags followed before giving up with an error (never truncating silently).
pub const MAX_PAGES: usize = 100;

/// An image as a compose file names it, reduced to what a tag lookup needs.
/// Docker Hub images have no `registry_host` and a `library/` prefix when
/// they are official (`nginx` → `library/nginx`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ImageRef {
    /// `ghcr.io`, `localhost:5000`; None for Docker Hub.
    pub registry_host: Option<String>,
    /// `library/nginx`, `bitnami/postgresql`
    pub repository: String,
    /// `latest` when the reference names none.
    pub tag: String,
}

impl ImageRef {
    /// Parse `name[:tag]` or `host[:port]/path[:tag]`. The first path component
    /// is a host when it holds a `.` or a `:`, is `localhost`, or has an upper-case
    /// letter (Docker's rule). None for a reference pinned by digest (`@sha256:…`:
    /// no tag to move) and for anything that is not an image name.
    pub fn parse(s: &str) -> Option<ImageRef> {
        let s = s.trim();
        if s.is_empty() || s.contains('@') || s.chars().any(char::is_whitespace) {
            return None;
        }
        let (host, rest) = match s.split_once('/') {
            Some((first, rest))
                if first.contains(['.', ':'])
                    || first == "localhost"
                    || first.chars().any(|c| c.is_ascii_uppercase()) =>
            {
                (Some(first.to_ascii_lowercase()), rest)
            }
            _ => (None, s),
        };
        let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
        let (path, tag) = match rest[last_slash..].rfind(':') {
            Some(i) => (&rest[..last_slash + i], &rest[last_slash + i + 1..]),
            None => (rest, "latest"),
        };
        if path.is_empty() || tag.is_empty() || path.split('/').any(str::is_empty) {
            return None;
        }
        let hub = host.as_deref().is_none_or(is_docker_hub);
        let repository = if hub && !path.contains('/') {
            format!("library/{path}")
        } else {
            path.to_string()
        };
        Some(ImageRef {
            registry_host: if hub { None } else { host },
            repository,
            tag: tag.to_string(),
        })
    }
}

impl std::fmt::Display for ImageRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.registry_host {
            Some(h) => write!(f, "{h}/{}:{}", self.repository, self.tag),
            None => write!(f, "{}:{}", self.repository, self.tag),
        }
    }
}

fn is_docker_hub(host: &str) -> bool {
    matches!(
        host,
        DOCKER_HUB | "index.docker.io" | DOCKER_HUB_REGISTRY | "registry.hub.docker.com"
    )
}

/// What went wrong, for the caller's decision. Every kind skips that recipe
/// this tick (SPEC 8: "a registry that rate-limits or fails"); the kind says
/// whether waiting helps (`Unavailable`) or a person must look.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegistryErrorKind {
    /// 429, 5xx, or no answer (connect, time-out, TLS): try again next tick.
    Unavailable,
    /// 404: no such repository (or it is private and the registry hides it).
    NotFound,
    /// 401/403 after the token flow: the image needs (other) credentials.
    Denied,
    /// An answer afk cannot use: malformed JSON, a redirect, too many pages.
    Protocol,
    /// The configuration cannot work: a mirror over plain HTTP to a remote
    /// host, a missing or malformed `registry_auth_env` secret.
    Config,
}

/// A failed tag lookup. `Display` is the one-line reason of the SKIPPED
/// recipe: host, what was asked, the status, Retry-After when given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryError {
    pub kind: RegistryErrorKind,
    /// The host asked (the mirror's, when one is configured); never userinfo.
    /// Empty for a configuration error that concerns every registry.
    pub host: String,
    pub status: Option<u16>,
    /// The `Retry-After` header of a 429/503, as sent (seconds or a date).
    pub retry_after: Option<String>,
    /// What happened, without the host: `GET /v2/x/tags/list returned 429 (rate limited)`.
    pub message: String,
}

impl std::fmt::Display for RegistryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.host.is_empty() {
            write!(f, "registry: {}", self.message)?;
        } else {
            write!(f, "registry {}: {}", self.host, self.message)?;
        }
        if let Some(ra) = &self.retry_after {
            write!(f, "; Retry-After {ra}")?;
        }
        Ok(())
    }
}
impl std::error::Error for RegistryError {}

impl RegistryError {
    fn new(kind: RegistryErrorKind, host: &str, message: String) -> RegistryError {
        RegistryError {
            kind,
            host: host.to_string(),
            status: None,
            retry_after: None,
            message,
        }
    }

    /// Whether asking again later may succeed (429, 5xx, no answer).
    pub fn is_transient(&self) -> bool {
        self.kind == RegistryErrorKind::Unavailable
    }
}

/// Lists an image's tags. `Sync` so one registry serves every lookup thread.
pub trait Registry: Sync {
    /// Every tag of `image`'s repository (its `tag` is not used), in the
    /// registry's order, all pages.
    fn tags(&self, image: &ImageRef) -> Result<Vec<String>, RegistryError>;
}

/// Look up the tags of every distinct image, at most `concurrency` at once.
/// One entry per distinct `ImageRef`, in first-seen order; images that differ
/// only in their tag share one request, as the tag list is the repository's.
pub fn lookup_all(
    reg: &dyn Registry,
    images: &[ImageRef],
    concurrency: usize,
) -> Vec<(ImageRef, Result<Vec<String>, RegistryError>)> {
    let mut distinct: Vec<ImageRef> = vec![];
    for i in images {
        if !distinct.contains(i) {
            distinct.push(i.clone());
        }
    }
    let mut repos: Vec<ImageRef> = vec![];
    for i in &distinct {
        if !repos.iter().any(|r| same_repository(r, i)) {
            repos.push(i.clone());
        }
    }
    let answers = crate::forge::fan_out(&repos, concurrency, |i| reg.tags(i));
    distinct
        .into_iter()
        .map(|i| {
            let at = repos.iter().position(|r| same_repository(r, &i));
            let answer = answers[at.expect("every image has its repository")].clone();
            (i, answer)
        })
        .collect()
}

fn same_repository(a: &ImageRef, b: &ImageRef) -> bool {
    a.registry_host == b.registry_host && a.repository == b.repository
}

/// The `user:token` secret; its `Debug` never shows it.
struct Secret(String);
impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// The OCI distribution registry client (Docker Hub, GHCR, Quay, distribution…).
pub struct OciRegistry {
    agent: ureq::Agent,
    /// `upgrade.registry_mirrors`: registry host → base URL asked instead.
    mirrors: BTreeMap<String, String>,
    basic: Option<Secret>,
    page_size: Option<usize>,
    /// Bearer tokens by (realm, scope), for this process only.
    tokens: Mutex<HashMap<(String, String), String>>,
}

impl OciRegistry {
    /// Anonymous, no mirrors, each request bounded by `timeout` (`forge.timeout`).
    pub fn new(timeout: Duration) -> OciRegistry {
        let agent = ureq::AgentBuilder::new()
            .timeout(timeout)
            // A redirect could carry the Authorization header elsewhere; none
            // of the calls made here should be redirected, so it is an error.
            .redirects(0)
            .user_agent(concat!("afk/", env!("CARGO_PKG_VERSION")))
            .build();
        OciRegistry {
            agent,
            mirrors: BTreeMap::new(),
            basic: None,
            page_size: None,
            tokens: Mutex::new(HashMap::new()),
        }
    }

    /// `upgrade.registry_mirrors`: keys are registry hosts (`docker.io` for
    /// Docker Hub), values base URLs (`https://mirror.example.org`,
    /// `http://127.0.0.1:5000`; without a scheme, the loopback rule picks it).
    pub fn with_mirrors(mut self, mirrors: BTreeMap<String, String>) -> OciRegistry {
        self.mirrors = mirrors
            .into_iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v))
            .collect();
        self
    }

    /// HTTP basic credentials (`user:token`) offered to token servers and to
    /// registries that challenge with `Basic`; never anywhere else.
    pub fn with_basic_auth(mut self, user_token: String) -> OciRegistry {
        self.basic = Some(Secret(user_token));
        self
    }

    /// Read the `user:token` secret from the environment variable named by
    /// `upgrade.registry_auth_env`; an empty name means anonymous.
    pub fn with_auth_env(self, var: &str) -> Result<OciRegistry, RegistryError> {
        if var.is_empty() {
            return Ok(self);
        }
        let config = |m: String| RegistryError::new(RegistryErrorKind::Config, "", m);
        match std::env::var(var) {
            Ok(v) if v.contains(':') && !v.trim().is_empty() => Ok(self.with_basic_auth(v)),
            Ok(v) if !v.is_empty() => Err(config(format!(
                "the secret in {var} (upgrade.registry_auth_env) is not of the form user:token"
            ))),
            _ => Err(config(format!(
                "the registry secret is missing: set the environment variable {var} (upgrade.registry_auth_env)"
            ))),
        }
    }

    /// Ask for `n` tags a page (`?n=`). Default: the registry's own page size.
    pub fn with_page_size(mut self, n: usize) -> OciRegistry {
        self.page_size = Some(n.max(1));
        self
    }

    /// The base URL to ask for `image` and the repository path to ask for.
    fn endpoint(&self, image: &ImageRef) -> Result<(Origin, String), RegistryError> {
        let (key, host) = match image.registry_host.as_deref() {
            Some(h) if !is_docker_hub(&h.to_ascii_lowercase()) => {
                (h.to_ascii_lowercase(), h.to_ascii_lowercase())
            }
            _ => (DOCKER_HUB.to_string(), DOCKER_HUB_REGISTRY.to_string()),
        };
        let repository = if key == DOCKER_HUB && !image.repository.contains('/') {
            format!("library/{}", image.repository)
        } else {
            image.repository.clone()
        };
        let mirror = self.mirrors.get(&key).or_else(|| {
            image
                .registry_host
                .as_ref()
                .and_then(|h| self.mirrors.get(&h.to_ascii_lowercase()))
        });
        let origin = match mirror {
            Some(url) => {
                let o = Origin::parse_or_host(url).ok_or_else(|| {
                    RegistryError::new(
                        RegistryErrorKind::Config,
                        &key,
                        "upgrade.registry_mirrors: the mirror's URL is not an http(s) URL".into(),
                    )
                })?;
                if o.scheme == "http" && !is_loopback(&o.authority) {
                    return Err(RegistryError::new(
                        RegistryErrorKind::Config,
                        &o.host(),
                        format!(
                            "upgrade.registry_mirrors.\"{key}\": plain HTTP is only spoken to a loopback host; use https"
                        ),
                    ));
                }
                o
            }
            None => Origin::for_host(&host),
        };
        Ok((origin, repository))
    }

    /// One GET. `Ok(Err(challenge))` is a 401 with its `WWW-Authenticate`.
    fn get(
        &self,
        origin: &Origin,
        url: &str,
        auth: Option<&str>,
    ) -> Result<Result<Page, String>, RegistryError> {
        let path = path_of(url);
        let mut req = self.agent.get(url).set("Accept", "application/json");
        if let Some(a) = auth {
            req = req.set("Authorization", a);
        }
        match req.call() {
            Ok(resp) if (300..400).contains(&resp.status()) => {
                Err(redirected(origin, &path, &resp))
            }
            Ok(resp) => {
                let links = resp.all("Link").iter().map(|s| s.to_string()).collect();
                let status = resp.status();
                let body = resp.into_string().map_err(|e| {
                    protocol(
                        origin,
                        format!("GET {path} returned {status}: reading the body: {e}"),
                    )
                })?;
                Ok(Ok(Page { links, body }))
            }
            Err(ureq::Error::Status(401, resp)) => Ok(Err(resp
                .header("WWW-Authenticate")
                .unwrap_or_default()
                .to_string())),
            Err(ureq::Error::Status(status, resp)) => Err(status_error(
                &origin.host(),
                "GET",
                &path,
                status,
                resp,
                auth,
            )),
            Err(ureq::Error::Transport(t)) => {
                Err(transport_error(&origin.host(), "GET", &path, &t))
            }
        }
    }

    /// GET `url`, answering a 401 once: a bearer token for its challenge (or
    /// basic auth for a `Basic` one). `auth` carries the header to later pages.
    fn get_authorized(
        &self,
        origin: &Origin,
        url: &str,
        auth: &mut Option<String>,
    ) -> Result<Page, RegistryError> {
        let challenge = match self.get(origin, url, auth.as_deref())? {
            Ok(page) => return Ok(page),
            Err(challenge) => challenge,
        };
        let stale = auth.is_some();
        *auth = Some(self.authorize(origin, url, &challenge, stale)?);
        match self.get(origin, url, auth.as_deref())? {
            Ok(page) => Ok(page),
            Err(_) => Err(self.denied(origin, &path_of(url), 401)),
        }
    }

    fn denied(&self, origin: &Origin, path: &str, status: u16) -> RegistryError {
        let hint = if self.basic.is_some() {
            "access denied; check the secret named by upgrade.registry_auth_env"
        } else {
            "access denied to anonymous requests; a private image needs upgrade.registry_auth_env"
        };
        RegistryError {
            status: Some(status),
            ..RegistryError::new(
                RegistryErrorKind::Denied,
                &origin.host(),
                format!("GET {path} returned {status}: {hint}"),
            )
        }
    }

    /// The Authorization header that answers `challenge`.
    fn authorize(
        &self,
        origin: &Origin,
        url: &str,
        challenge: &str,
        stale: bool,
    ) -> Result<String, RegistryError> {
        let path = path_of(url);
        let Some((scheme, params)) = parse_challenge(challenge) else {
            return Err(self.denied(origin, &path, 401));
        };
        if scheme.eq_ignore_ascii_case("basic") {
            return match &self.basic {
                Some(s) if !stale => Ok(format!("Basic {}", base64(s.0.as_bytes()))),
                _ => Err(self.denied(origin, &path, 401)),
            };
        }
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Err(self.denied(origin, &path, 401));
        }
        let get = |k: &str| params.get(k).cloned().unwrap_or_default();
        let (realm, service, scope) = (get("realm"), get("service"), get("scope"));
        let key = (realm.clone(), scope.clone());
        if !stale && let Some(t) = self.tokens.lock().unwrap().get(&key) {
            return Ok(format!("Bearer {t}"));
        }
        let token = self.fetch_token(origin, &realm, &service, &scope)?;
        self.tokens.lock().unwrap().insert(key, token.clone());
        Ok(format!("Bearer {token}"))
    }

    /// GET the token server `realm` with `service` and `scope`, with basic
    /// auth when a secret is configured; the answer's `token` or `access_token`.
    fn fetch_token(
        &self,
        origin: &Origin,
        realm: &str,
        service: &str,
        scope: &str,
    ) -> Result<String, RegistryError> {
        let Some(ro) = Origin::parse(realm) else {
            return Err(protocol(
                origin,
                "the 401 challenge names no usable token realm".into(),
            ));
        };
        if ro.scheme == "http" && !is_loopback(&ro.authority) {
            return Err(protocol(
                origin,
                format!(
                    "the token realm {} is plain HTTP to a remote host; refusing to ask it",
                    ro.host()
                ),
            ));
        }
        let path = path_of(realm);
        let mut req = self.agent.get(realm).set("Accept", "application/json");
        if !service.is_empty() {
            req = req.query("service", service);
        }
        if !scope.is_empty() {
            req = req.query("scope", scope);
        }
        if let Some(s) = &self.basic {
            req = req.set(
                "Authorization",
                &format!("Basic {}", base64(s.0.as_bytes())),
            );
        }
        let auth = self.basic.as_ref().map(|_| "");
        let resp = match req.call() {
            Ok(r) if (300..400).contains(&r.status()) => return Err(redirected(&ro, &path, &r)),
            Ok(r) => r,
            Err(ureq::Error::Status(status @ (401 | 403), _)) => {
                return Err(RegistryError {
                    status: Some(status),
                    ..RegistryError::new(
                        RegistryErrorKind::Denied,
                        &ro.host(),
                        format!(
                            "GET {path} (token for {scope}) returned {status}: {}",
                            if self.basic.is_some() {
                                "check the secret named by upgrade.registry_auth_env"
                            } else {
                                "the token server refuses anonymous requests; set upgrade.registry_auth_env"
                            }
                        ),
                    )
                });
            }
            Err(ureq::Error::Status(status, resp)) => {
                return Err(status_error(&ro.host(), "GET", &path, status, resp, auth));
            }
            Err(ureq::Error::Transport(t)) => {
                return Err(transport_error(&ro.host(), "GET", &path, &t));
            }
        };
        #[derive(Deserialize)]
        struct TokenAnswer {
            token: Option<String>,
            access_token: Option<String>,
        }
        let answer: Option<TokenAnswer> = resp
            .into_string()
            .ok()
            .and_then(|b| serde_json::from_str(&b).ok());
        answer
            .and_then(|a| a.token.or(a.access_token))
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                protocol(
                    &ro,
                    format!("GET {path}: the token server's answer holds no token"),
                )
            })
    }
}

impl Registry for OciRegistry {
    fn tags(&self, image: &ImageRef) -> Result<Vec<String>, RegistryError> {
        let (origin, repository) = self.endpoint(image)?;
        let path = format!("/v2/{repository}/tags/list");
        let mut url = format!("{}{path}", origin.base);
        if let Some(n) = self.page_size {
            url.push_str(&format!("?n={n}"));
        }
        let mut auth = None;
        let mut tags = vec![];
        for _ in 0..MAX_PAGES {
            let page = self.get_authorized(&origin, &url, &mut auth)?;
            #[derive(Deserialize)]
            struct TagList {
                tags: Option<Vec<String>>,
            }
            let list: TagList = serde_json::from_str(&page.body).map_err(|e| {
                protocol(
                    &origin,
                    format!("GET {path}: malformed tag list in the answer: {e}"),
                )
            })?;
            tags.extend(list.tags.unwrap_or_default());
            let Some(next) = page.links.iter().find_map(|l| next_link(l)) else {
                return Ok(tags);
            };
            let resolved = resolve(&url, &next);
            if Origin::parse(&resolved).map(|o| o.origin()) != Some(origin.origin()) {
                return Err(protocol(
                    &origin,
                    format!("GET {path}: the next page is on another host; not following it"),
                ));
            }
            url = resolved;
        }
        Err(protocol(
            &origin,
            format!(
                "GET {path}: more than {MAX_PAGES} pages of tags; giving up rather than using a partial list"
            ),
        ))
    }
}

struct Page {
    links: Vec<String>,
    body: String,
}

/// A base URL split into its parts: `scheme://authority[/prefix]`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Origin {
    scheme: String,
    /// `host[:port]`, userinfo removed
    authority: String,
    /// the whole base URL, without a trailing `/`
    base: String,
}

impl Origin {
    /// An `http(s)://` URL.
    fn parse(url: &str) -> Option<Origin> {
        let (scheme, rest) = url.split_once("://")?;
        let scheme = scheme.to_ascii_lowercase();
        if scheme != "http" && scheme != "https" {
            return None;
        }
        let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let authority = rest[..end].rsplit('@').next().unwrap_or("").to_string();
        if authority.is_empty() {
            return None;
        }
        let base = url.split(['?', '#']).next().unwrap_or(url);
        Some(Origin {
            scheme,
            authority: authority.to_ascii_lowercase(),
            base: base.trim_end_matches('/').to_string(),
        })
    }

    /// A URL, or a bare host (the scheme then follows the loopback rule).
    fn parse_or_host(url: &str) -> Option<Origin> {
        if url.contains("://") {
            Origin::parse(url)
        } else {
            Origin::parse(&format!("{}://{url}", scheme_for(url)))
        }
    }

    fn for_host(host: &str) -> Origin {
        let scheme = scheme_for(host);
        Origin {
            scheme: scheme.into(),
            authority: host.to_string(),
            base: format!("{scheme}://{host}"),
        }
    }

    fn host(&self) -> String {
        self.authority.clone()
    }

    fn origin(&self) -> String {
        format!("{}://{}", self.scheme, self.authority)
    }
}

/// Plain HTTP to a loopback host (as Docker does), HTTPS to every other.
fn scheme_for(authority: &str) -> &'static str {
    if is_loopback(authority) {
        "http"
    } else {
        "https"
    }
}

/// The path of a URL, without scheme, host or query (what errors show).
fn path_of(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let path = rest.find('/').map_or("/", |i| &rest[i..]);
    path.split(['?', '#']).next().unwrap_or(path).to_string()
}

/// The target of a `rel="next"` entry of one `Link` header value.
fn next_link(header: &str) -> Option<String> {
    header.split(',').find_map(|part| {
        let (target, params) = part.split_once(';')?;
        let target = target.trim().strip_prefix('<')?.strip_suffix('>')?;
        let next = params.split(';').any(|p| {
            let p = p.trim().to_ascii_lowercase().replace(' ', "");
            p == "rel=\"next\"" || p == "rel=next"
        });
        next.then(|| target.to_string())
    })
}

/// Resolve a link against the URL it came from: absolute, `//host/…`,
/// `/path`, `?query` or a path relative to the current directory.
fn resolve(current: &str, link: &str) -> String {
    if link.contains("://") {
        return link.to_string();
    }
    let (scheme, rest) = current.split_once("://").unwrap_or(("https", current));
    if let Some(l) = link.strip_prefix("//") {
        return format!("{scheme}://{l}");
    }
    let host_end = rest.find('/').unwrap_or(rest.len());
    let origin = format!("{scheme}://{}", &rest[..host_end]);
    let path = path_of(current);
    if link.starts_with('/') {
        format!("{origin}{link}")
    } else if link.starts_with('?') {
        format!("{origin}{path}{link}")
    } else {
        let dir = &path[..path.rfind('/').map_or(0, |i| i + 1)];
        format!("{origin}{dir}{link}")
    }
}

/// `Bearer realm="…",service="…",scope="…"` → ("Bearer", {realm, service, scope}).
/// Values may be quoted (and then hold commas) or bare tokens.
fn parse_challenge(header: &str) -> Option<(String, HashMap<String, String>)> {
    let header = header.trim();
    let (scheme, mut rest) = match header.split_once(char::is_whitespace) {
        Some((s, r)) => (s, r.trim_start()),
        None => (header, ""),
    };
    if scheme.is_empty() {
        return None;
    }
    let mut params = HashMap::new();
    while !rest.is_empty() {
        rest = rest.trim_start_matches([',', ' ', '\t']);
        let Some((key, after)) = rest.split_once('=') else {
            break;
        };
        let after = after.trim_start();
        let (value, tail) = if let Some(q) = after.strip_prefix('"') {
            let mut value = String::new();
            let mut chars = q.char_indices();
            let mut end = q.len();
            while let Some((i, c)) = chars.next() {
                match c {
                    '\\' => {
                        if let Some((_, e)) = chars.next() {
                            value.push(e);
                        }
                    }
                    '"' => {
                        end = i + 1;
                        break;
                    }
                    c => value.push(c),
                }
            }
            (value, &q[end.min(q.len())..])
        } else {
            let end = after.find(',').unwrap_or(after.len());
            (after[..end].trim().to_string(), &after[end..])
        };
        params.insert(key.trim().to_ascii_lowercase(), value);
        rest = tail;
    }
    Some((scheme.to_string(), params))
}

fn protocol(origin: &Origin, message: String) -> RegistryError {
    RegistryError::new(RegistryErrorKind::Protocol, &origin.host(), message)
}

fn redirected(origin: &Origin, path: &str, resp: &ureq::Response) -> RegistryError {
    let to = resp
        .header("Location")
        .and_then(|l| Origin::parse(&resolve(&format!("{}{path}", origin.base), l)))
        .map(|o| o.host())
        .unwrap_or_default();
    RegistryError {
        status: Some(resp.status()),
        ..protocol(
            origin,
            format!(
                "GET {path} returned {} (redirected to {to}); not following it",
                resp.status()
            ),
        )
    }
}

/// A non-401 error status. `auth` is only used to say whether we had credentials.
fn status_error(
    host: &str,
    method: &str,
    path: &str,
    status: u16,
    resp: ureq::Response,
    auth: Option<&str>,
) -> RegistryError {
    let retry_after = resp
        .header("Retry-After")
        .map(|v| short(v, 40))
        .filter(|v| !v.is_empty());
    let code = resp
        .into_string()
        .ok()
        .and_then(|b| serde_json::from_str::<serde_json::Value>(&b).ok())
        .and_then(|v| v["errors"][0]["code"].as_str().map(|c| short(c, 40)));
    let code = code.map(|c| format!(" {c}")).unwrap_or_default();
    let (kind, hint) = match status {
        429 => (RegistryErrorKind::Unavailable, "rate limited".to_string()),
        s if s >= 500 => (RegistryErrorKind::Unavailable, "the registry failed".into()),
        404 => (
            RegistryErrorKind::NotFound,
            format!(
                "no such repository{}",
                if auth.is_none() {
                    " (or it is private)"
                } else {
                    ""
                }
            ),
        ),
        403 => (RegistryErrorKind::Denied, "access denied".into()),
        _ => (RegistryErrorKind::Protocol, "unexpected answer".into()),
    };
    RegistryError {
        kind,
        host: host.to_string(),
        status: Some(status),
        retry_after,
        message: format!("{method} {path} returned {status}{code}: {hint}"),
    }
}

fn transport_error(host: &str, method: &str, path: &str, t: &ureq::Transport) -> RegistryError {
    let mut msg = t.kind().to_string();
    if let Some(m) = t.message() {
        msg.push_str(&format!(": {m}"));
    }
    if let Some(s) = std::error::Error::source(t) {
        msg.push_str(&format!(": {s}"));
    }
    RegistryError::new(
        RegistryErrorKind::Unavailable,
        host,
        format!("{method} {path} failed: {}", short(&msg, 160)),
    )
}

/// One line of at most `max` characters.
fn short(s: &str, max: usize) -> String {
    let one = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if one.chars().count() > max {
        one.chars().take(max).collect::<String>() + "…"
    } else {
        one
    }
}

/// Standard base64 with padding (HTTP basic auth).
fn base64(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(A[(n >> (18 - 6 * i)) as usize & 63] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn img(host: Option<&str>, repo: &str, tag: &str) -> ImageRef {
        ImageRef {
            registry_host: host.map(str::to_string),
            repository: repo.into(),
            tag: tag.into(),
        }
    }

    #[test]
    fn image_names_follow_dockers_rules() {
        let cases = [
            ("nginx", Some(img(None, "library/nginx", "latest"))),
            ("nginx:1.25", Some(img(None, "library/nginx", "1.25"))),
            (
                "bitnami/postgresql:15.4.0-debian-11-r10",
                Some(img(None, "bitnami/postgresql", "15.4.0-debian-11-r10")),
            ),
            ("docker.io/x/y:2", Some(img(None, "x/y", "2"))),
            ("docker.io/nginx:1", Some(img(None, "library/nginx", "1"))),
            (
                "index.docker.io/library/redis:7",
                Some(img(None, "library/redis", "7")),
            ),
            (
                "ghcr.io/o/app:v1.2",
                Some(img(Some("ghcr.io"), "o/app", "v1.2")),
            ),
            (
                "localhost:5000/a/b/c:3",
                Some(img(Some("localhost:5000"), "a/b/c", "3")),
            ),
            (
                "localhost/app",
                Some(img(Some("localhost"), "app", "latest")),
            ),
            (
                "127.0.0.1:5000/app:1",
                Some(img(Some("127.0.0.1:5000"), "app", "1")),
            ),
            (
                "[::1]:5000/app:1",
                Some(img(Some("[::1]:5000"), "app", "1")),
            ),
            ("Registry/app:1", Some(img(Some("registry"), "app", "1"))),
            (
                "quay.io:443/a/b",
                Some(img(Some("quay.io:443"), "a/b", "latest")),
            ),
        ];
        for (input, want) in cases {
            assert_eq!(ImageRef::parse(input), want, "case {input}");
        }
    }

    #[test]
    fn digests_and_non_names_are_skipped() {
        let cases = [
            "nginx@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
            "nginx:1.25@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
            "",
            "nginx:",
            "a//b:1",
            "ghcr.io/",
            "nginx 1.25",
        ];
        for input in cases {
            assert_eq!(ImageRef::parse(input), None, "case {input:?}");
        }
    }

    #[test]
    fn plain_http_only_to_loopback_hosts() {
        let cases = [
            ("localhost", true),
            ("localhost:5000", true),
            ("LOCALHOST:5000", true),
            ("127.0.0.1", true),
            ("127.8.9.10:5000", true),
            ("[::1]:5000", true),
            ("[::1]", true),
            ("128.0.0.1:5000", false),
            ("127.example.com", false),
            ("localhost.example.com", false),
            ("ghcr.io", false),
            ("[::2]:5000", false),
            ("10.0.0.1:5000", false),
        ];
        for (authority, loopback) in cases {
            assert_eq!(is_loopback(authority), loopback, "case {authority}");
            let scheme = if loopback { "http" } else { "https" };
            assert_eq!(scheme_for(authority), scheme, "case {authority}");
        }
    }

    #[test]
    fn where_an_image_is_asked() {
        let mirrors = BTreeMap::from([
            (
                "docker.io".to_string(),
                "http://127.0.0.1:5000/".to_string(),
            ),
            ("ghcr.io".to_string(), "mirror.example.org/ghcr".to_string()),
            (
                "quay.io".to_string(),
                "https://u:p@q.example.org".to_string(),
            ),
        ]);
        let reg = OciRegistry::new(Duration::from_secs(1)).with_mirrors(mirrors);
        let plain = OciRegistry::new(Duration::from_secs(1));
        let cases = [
            (
                &plain,
                "nginx",
                "https://registry-1.docker.io",
                "library/nginx",
            ),
            (
                &plain,
                "docker.io/x/y",
                "https://registry-1.docker.io",
                "x/y",
            ),
            (&plain, "ghcr.io/o/a", "https://ghcr.io", "o/a"),
            (&plain, "localhost:5000/a", "http://localhost:5000", "a"),
            (&plain, "127.0.0.1:5000/a", "http://127.0.0.1:5000", "a"),
            (&reg, "nginx", "http://127.0.0.1:5000", "library/nginx"),
            (&reg, "docker.io/x/y", "http://127.0.0.1:5000", "x/y"),
            (
                &reg,
                "ghcr.io/o/a",
                "https://mirror.example.org/ghcr",
                "o/a",
            ),
            (&reg, "quay.io/o/a", "https://u:p@q.example.org", "o/a"),
            (&reg, "gcr.io/o/a", "https://gcr.io", "o/a"),
        ];
        for (r, image, base, repo) in cases {
            let (o, got) = r.endpoint(&ImageRef::parse(image).unwrap()).unwrap();
            assert_eq!(
                (o.base.as_str(), got.as_str()),
                (base, repo),
                "case {image}"
            );
        }
        let (o, _) = reg
            .endpoint(&ImageRef::parse("quay.io/o/a").unwrap())
            .unwrap();
        assert_eq!(
            o.host(),
            "q.example.org",
            "errors name the host, never userinfo"
        );
    }

    #[test]
    fn a_mirror_over_plain_http_to_a_remote_host_is_refused() {
        let mirrors = BTreeMap::from([(
            "docker.io".to_string(),
            "http://mirror.example.org".to_string(),
        )]);
        let reg = OciRegistry::new(Duration::from_secs(1)).with_mirrors(mirrors);
        let e = reg
            .endpoint(&ImageRef::parse("nginx").unwrap())
            .unwrap_err();
        assert_eq!(e.kind, RegistryErrorKind::Config);
        assert!(e.to_string().contains("registry_mirrors"), "{e}");
    }

    #[test]
    fn next_links_are_found_and_resolved() {
        let base = "http://127.0.0.1:5000/v2/a/b/tags/list?n=10";
        let cases = [
            (
                "</v2/a/b/tags/list?n=10&last=x>; rel=\"next\"",
                Some("http://127.0.0.1:5000/v2/a/b/tags/list?n=10&last=x"),
            ),
            (
                "<http://127.0.0.1:5000/v2/a/b/tags/list?last=y>; rel=next",
                Some("http://127.0.0.1:5000/v2/a/b/tags/list?last=y"),
            ),
            (
                "<?last=z>; rel=\"next\"",
                Some("http://127.0.0.1:5000/v2/a/b/tags/list?last=z"),
            ),
            (
                "<list?last=w>; rel=\"next\"",
                Some("http://127.0.0.1:5000/v2/a/b/tags/list?last=w"),
            ),
            (
                "</first>; rel=\"prev\", </v2/next>; rel=\"next\"",
                Some("http://127.0.0.1:5000/v2/next"),
            ),
            ("</v2/x>; rel=\"prev\"", None),
            ("garbage", None),
        ];
        for (header, want) in cases {
            let got = next_link(header).map(|l| resolve(base, &l));
            assert_eq!(got.as_deref(), want, "case {header}");
        }
    }

    #[test]
    fn bearer_challenges_are_parsed_with_quoted_commas() {
        let (scheme, p) = parse_challenge(
            "Bearer realm=\"https://auth.docker.io/token\",service=\"registry.docker.io\",scope=\"repository:a/b:pull,push\"",
        )
        .unwrap();
        assert_eq!(scheme, "Bearer");
        assert_eq!(p["realm"], "https://auth.docker.io/token");
        assert_eq!(p["service"], "registry.docker.io");
        assert_eq!(p["scope"], "repository:a/b:pull,push");
        let (scheme, p) = parse_challenge("Basic realm=Registry").unwrap();
        assert_eq!(
            (scheme.as_str(), p["realm"].as_str()),
            ("Basic", "Registry")
        );
        assert_eq!(parse_challenge(""), None);
    }

    #[test]
    fn base64_matches_rfc_4648() {
        let cases = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("user:s3cret", "dXNlcjpzM2NyZXQ="),
        ];
        for (input, want) in cases {
            assert_eq!(base64(input.as_bytes()), want, "case {input}");
        }
    }

    #[test]
    fn errors_show_path_without_query() {
        let cases = [
            ("http://h:1/v2/a/tags/list?n=10&last=x", "/v2/a/tags/list"),
            ("https://auth.example.org/token?scope=x", "/token"),
            ("https://auth.example.org", "/"),
        ];
        for (url, want) in cases {
            assert_eq!(path_of(url), want, "case {url}");
        }
    }

    struct Counting {
        calls: AtomicUsize,
        live: AtomicUsize,
        peak: AtomicUsize,
    }
    impl Registry for Counting {
        fn tags(&self, image: &ImageRef) -> Result<Vec<String>, RegistryError> {
            let now = self.live.fetch_add(1, Ordering::SeqCst) + 1;
            self.peak.fetch_max(now, Ordering::SeqCst);
            self.calls.fetch_add(1, Ordering::SeqCst);
            std::thread::yield_now();
            self.live.fetch_sub(1, Ordering::SeqCst);
            if image.repository == "bad/one" {
                return Err(RegistryError::new(
                    RegistryErrorKind::NotFound,
                    "h",
                    "no".into(),
                ));
            }
            Ok(vec![format!("{}-tag", image.repository)])
        }
    }

    #[test]
    fn every_repository_is_asked_once_and_every_image_answered() {
        let reg = Counting {
            calls: AtomicUsize::new(0),
            live: AtomicUsize::new(0),
            peak: AtomicUsize::new(0),
        };
        let mut images = vec![];
        for i in 0..30 {
            images.push(img(None, &format!("r/{}", i % 10), "1"));
        }
        images.push(img(None, "r/0", "2"));
        images.push(img(Some("ghcr.io"), "r/0", "1"));
        images.push(img(None, "bad/one", "1"));
        let out = lookup_all(&reg, &images, 3);
        assert_eq!(
            reg.calls.load(Ordering::SeqCst),
            12,
            "10 + ghcr.io + bad/one"
        );
        assert!(reg.peak.load(Ordering::SeqCst) <= 3);
        assert_eq!(out.len(), 13, "10 + r/0:2 + ghcr.io + bad/one");
        assert_eq!(out[0].0, img(None, "r/0", "1"));
        assert_eq!(out[10].0, img(None, "r/0", "2"));
        assert_eq!(out[10].1, Ok(vec!["r/0-tag".to_string()]));
        assert_eq!(
            out[12].1.as_ref().unwrap_err().kind,
            RegistryErrorKind::NotFound
        );
    }
}
