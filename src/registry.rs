//! The container-registry adapter of `afk upgrade` (SPEC 8 step 2): list an
//! image's tags over the OCI distribution API.
//!
//! Owns: naming (`nginx` is `library/nginx` at `registry-1.docker.io`), where to
//! ask (`upgrade.registry_mirrors`; plain HTTP only to a loopback host, as Docker
//! does), paging through `Link: <…>; rel="next"`, the bearer-token flow on `401`
//! (the secret only where `core::registry_auth` lets it go), reading answers
//! within bounds (`max_tags`, 100 pages, 8 MiB a page, streamed), a `-v` line
//! per request, and errors that name host, path and status but never a secret.
//! Choosing a tag is not done here (that is a pure decision for `core`).

use crate::core::registry_auth::{self, Asking, Dest, is_docker_hub};
use crate::core::upgrade::is_loopback;
use serde::Deserialize;
use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::sync::Mutex;
use std::time::Duration;

/// Docker Hub's registry host: what `nginx` or `docker.io/x/y` is fetched from.
pub const DOCKER_HUB_REGISTRY: &str = crate::core::registry_auth::DOCKER_HUB_API;
/// The name `upgrade.registry_mirrors` uses for Docker Hub.
pub const DOCKER_HUB: &str = "docker.io";
/// Pages of tags followed before giving up with an error (never truncating silently).
pub const MAX_PAGES: usize = 100;
/// The largest page of tags read; a larger one is an error (SPEC 8 step 2).
pub const MAX_PAGE_BYTES: u64 = 8 << 20;
/// Tags read per image when `upgrade.max_tags` says nothing.
pub const DEFAULT_MAX_TAGS: usize = 10_000;
/// The longest tag kept: an OCI tag has at most 128 characters.
const MAX_TAG_LEN: usize = 128;
/// The longest string read in a tag list (tags, the repository's name); a
/// longer one is an error.
const MAX_STRING_BYTES: usize = 16 << 10;
/// The most of a token service's answer read (tokens are JWTs of a few KiB).
const TOKEN_BYTES: u64 = 1 << 20;
/// The most of an error answer read (for its `errors[0].code`).
const ERROR_BYTES: u64 = 64 << 10;

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
    /// Parse `name[:tag]` or `host[:port]/path[:tag]` by the one image-name
    /// rule (`core::compose::parse_image`, Docker's). None for a reference
    /// pinned by digest (`@sha256:…`: no tag to move) and for anything that is
    /// not an image name.
    pub fn parse(s: &str) -> Option<ImageRef> {
        let s = s.trim();
        if s.is_empty() || s.contains('@') || s.chars().any(char::is_whitespace) {
            return None;
        }
        let written = crate::core::compose::parse_image(s);
        let tag = written.tag.unwrap_or_else(|| "latest".into());
        let path = &written.path;
        if path.is_empty() || tag.is_empty() || path.split('/').any(str::is_empty) {
            return None;
        }
        // `nginx:` is no tag at all, not `latest`
        if s.ends_with(':') {
            return None;
        }
        let host = written.registry.map(|h| h.to_ascii_lowercase());
        let hub = host.as_deref().is_none_or(is_docker_hub);
        Some(ImageRef {
            registry_host: if hub { None } else { host },
            repository: written.repository,
            tag,
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
    /// An answer afk cannot use: malformed JSON, a redirect, past a bound
    /// (pages, tags, bytes).
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
    /// The `created` of `tag`'s image config (`linux/amd64` of an index);
    /// `None` when the config has none (`min_release_age`, SPEC 8 step 3).
    fn created(&self, _image: &ImageRef, _tag: &str) -> Result<Option<String>, RegistryError> {
        Ok(None)
    }
}

/// What a GET accepts, and whether its answer may be a redirect (a blob's,
/// which the caller follows without credentials: `created.rs`).
#[derive(Clone, Copy)]
struct Accept(&'static str, bool);
const JSON: Accept = Accept("application/json", false);

#[path = "registry_created.rs"]
mod created;
#[path = "registry_once.rs"]
mod once;
pub use once::Once;

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

/// `upgrade.registry_auth_env`'s secret and `upgrade.registry_auth_host`, the
/// one registry host it belongs to (`core::registry_auth` says where it goes).
#[derive(Debug)]
struct Credentials {
    secret: Secret,
    host: String,
}

/// The OCI distribution registry client (Docker Hub, GHCR, Quay, distribution…).
pub struct OciRegistry {
    agent: ureq::Agent,
    /// `upgrade.registry_mirrors`: registry host → base URL asked instead.
    mirrors: BTreeMap<String, String>,
    credentials: Option<Credentials>,
    page_size: Option<usize>,
    /// `upgrade.max_tags`: tags read per image at most.
    max_tags: usize,
    /// Bearer tokens by (registry asked, realm, scope), for this process only:
    /// a token is only ever sent back to the registry whose challenge got it.
    tokens: Mutex<HashMap<(String, String, String), String>>,
}

impl OciRegistry {
    /// Anonymous, no mirrors, each request bounded by `timeout` (`forge.timeout`).
    pub fn new(timeout: Duration) -> OciRegistry {
        // A redirect could carry the Authorization header elsewhere; none of
        // the calls made here should be redirected, so it is an error.
        let agent = crate::client::builder(timeout).build();
        OciRegistry {
            agent,
            mirrors: BTreeMap::new(),
            credentials: None,
            page_size: None,
            max_tags: DEFAULT_MAX_TAGS,
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

    /// HTTP basic credentials (`user:token`) that belong to the registry
    /// `host` (`host[:port]`): sent when that registry challenges with
    /// `Basic`, and to the token service its own `Bearer` challenge names on
    /// its own site; never anywhere else ([`registry_auth::secret_may_go`]).
    pub fn with_basic_auth(mut self, user_token: String, host: &str) -> OciRegistry {
        self.credentials = Some(Credentials {
            secret: Secret(user_token),
            host: host.trim().to_ascii_lowercase(),
        });
        self
    }

    /// Read the `user:token` secret from the environment variable named by
    /// `upgrade.registry_auth_env`, for the registry `host`
    /// (`upgrade.registry_auth_host`); an empty name means anonymous.
    pub fn with_auth_env(self, var: &str, host: &str) -> Result<OciRegistry, RegistryError> {
        if var.is_empty() {
            return Ok(self);
        }
        let config = |m: String| RegistryError::new(RegistryErrorKind::Config, "", m);
        if !registry_auth::is_registry_host(host) {
            return Err(config(
                "upgrade.registry_auth_env needs upgrade.registry_auth_host, the one registry host it is sent to".into(),
            ));
        }
        match std::env::var(var) {
            Ok(v) if v.contains(':') && !v.trim().is_empty() => Ok(self.with_basic_auth(v, host)),
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

    /// `upgrade.max_tags`: more tags than this for one image is an error.
    pub fn with_max_tags(mut self, n: usize) -> OciRegistry {
        self.max_tags = n.max(1);
        self
    }

    /// `afk doctor`: GET the OCI base `/v2/` of the registry `host`
    /// (`docker.io`, `ghcr.io`; its mirror when one is configured), with no
    /// credentials. Ok((URL asked, None)): a 2xx; Ok((URL, Some(challenge))):
    /// a 401 and its `WWW-Authenticate`, which is how a registry that wants a
    /// token answers.
    pub fn ping(&self, host: &str) -> Result<(String, Option<String>), RegistryError> {
        let image = ImageRef {
            registry_host: (!is_docker_hub(&host.to_ascii_lowercase())).then(|| host.to_string()),
            repository: "library/afk-doctor".into(),
            tag: "latest".into(),
        };
        let (origin, _) = self.endpoint(&image)?;
        let url = format!("{}/v2/", origin.base);
        let answer = self.get(&origin, &url, None, JSON)?;
        Ok((url, answer.err()))
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

    /// The secret, when it may go to `origin` itself (its `Basic` challenge).
    fn secret_for_registry(&self, origin: &Origin) -> Option<&Secret> {
        let c = self.credentials.as_ref()?;
        registry_auth::secret_may_go(&c.host, Asking::Registry(origin.dest())).then_some(&c.secret)
    }

    /// The secret, when it may go to the token service `realm` that
    /// `origin`'s challenge named.
    fn secret_for_realm(&self, origin: &Origin, realm: &Origin) -> Option<&Secret> {
        let c = self.credentials.as_ref()?;
        let asking = Asking::Realm {
            registry: origin.dest(),
            realm: realm.dest(),
        };
        registry_auth::secret_may_go(&c.host, asking).then_some(&c.secret)
    }

    /// What to check after a refusal: the secret when it was sent, else why
    /// it was not.
    fn refusal_hint(&self, sent: bool) -> String {
        match &self.credentials {
            Some(_) if sent => "check the secret named by upgrade.registry_auth_env".into(),
            Some(c) => format!(
                "anonymous requests are refused, and upgrade.registry_auth_env is only sent to upgrade.registry_auth_host ({})",
                c.host
            ),
            None => {
                "anonymous requests are refused; a private image needs upgrade.registry_auth_env"
                    .into()
            }
        }
    }

    /// One GET. `Ok(Err(challenge))` is a 401 with its `WWW-Authenticate`;
    /// `Ok(Ok(response))` a 2xx whose body is still to be read.
    fn get(
        &self,
        origin: &Origin,
        url: &str,
        auth: Option<&str>,
        accept: Accept,
    ) -> Result<Result<ureq::Response, String>, RegistryError> {
        let path = path_of(url);
        let mut req = self.agent.get(url).set("Accept", accept.0);
        if let Some(a) = auth {
            req = req.set("Authorization", a);
        }
        let started = std::time::Instant::now();
        let res = req.call();
        log_request(
            &format!("{}{}", origin.host(), target_of(url)),
            started,
            &res,
        );
        match res {
            Ok(resp) if (300..400).contains(&resp.status()) && !accept.1 => {
                Err(redirected(origin, &path, &resp))
            }
            Ok(resp) => Ok(Ok(resp)),
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
        accept: Accept,
    ) -> Result<ureq::Response, RegistryError> {
        let challenge = match self.get(origin, url, auth.as_deref(), accept)? {
            Ok(resp) => return Ok(resp),
            Err(challenge) => challenge,
        };
        let stale = auth.is_some();
        let (header, sent) = self.authorize(origin, url, &challenge, stale)?;
        *auth = Some(header);
        match self.get(origin, url, auth.as_deref(), accept)? {
            Ok(resp) => Ok(resp),
            Err(_) => Err(self.denied(origin, &path_of(url), 401, sent)),
        }
    }

    fn denied(&self, origin: &Origin, path: &str, status: u16, sent: bool) -> RegistryError {
        RegistryError {
            status: Some(status),
            ..RegistryError::new(
                RegistryErrorKind::Denied,
                &origin.host(),
                format!(
                    "GET {path} returned {status}: access denied; {}",
                    self.refusal_hint(sent)
                ),
            )
        }
    }

    /// The Authorization header that answers `challenge`, and whether the
    /// secret went into it (or into the token request behind it).
    fn authorize(
        &self,
        origin: &Origin,
        url: &str,
        challenge: &str,
        stale: bool,
    ) -> Result<(String, bool), RegistryError> {
        let path = path_of(url);
        let Some((scheme, params)) = parse_challenge(challenge) else {
            return Err(self.denied(origin, &path, 401, false));
        };
        if scheme.eq_ignore_ascii_case("basic") {
            return match self.secret_for_registry(origin) {
                Some(s) if !stale => Ok((format!("Basic {}", base64(s.0.as_bytes())), true)),
                s => Err(self.denied(origin, &path, 401, s.is_some())),
            };
        }
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Err(self.denied(origin, &path, 401, false));
        }
        let get = |k: &str| params.get(k).cloned().unwrap_or_default();
        let (realm, service, scope) = (get("realm"), get("service"), get("scope"));
        let Some(ro) = Origin::parse(&realm) else {
            return Err(protocol(
                origin,
                "the 401 challenge names no usable token realm".into(),
            ));
        };
        let sent = self.secret_for_realm(origin, &ro).is_some();
        let key = (origin.origin(), realm.clone(), scope.clone());
        if !stale && let Some(t) = self.tokens.lock().unwrap().get(&key) {
            return Ok((format!("Bearer {t}"), sent));
        }
        let token = self.fetch_token(origin, &ro, &realm, &service, &scope)?;
        self.tokens.lock().unwrap().insert(key, token.clone());
        Ok((format!("Bearer {token}"), sent))
    }

    /// GET the token service `realm` (parsed: `ro`) that `origin`'s challenge
    /// named, with `service` and `scope`, and with basic auth only when the
    /// secret may go there; the answer's `token` or `access_token`.
    fn fetch_token(
        &self,
        origin: &Origin,
        ro: &Origin,
        realm: &str,
        service: &str,
        scope: &str,
    ) -> Result<String, RegistryError> {
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
        let mut shown = format!("{}{}", ro.host(), target_of(realm));
        for (k, v) in [("service", service), ("scope", scope)] {
            if !v.is_empty() {
                req = req.query(k, v);
                let sep = if shown.contains('?') { '&' } else { '?' };
                shown.push_str(&format!("{sep}{k}={v}"));
            }
        }
        let secret = self.secret_for_realm(origin, ro);
        if let Some(s) = secret {
            req = req.set(
                "Authorization",
                &format!("Basic {}", base64(s.0.as_bytes())),
            );
        }
        let auth = secret.map(|_| "");
        let started = std::time::Instant::now();
        let res = req.call();
        log_request(&shown, started, &res);
        let resp = match res {
            Ok(r) if (300..400).contains(&r.status()) => return Err(redirected(ro, &path, &r)),
            Ok(r) => r,
            Err(ureq::Error::Status(status @ (401 | 403), _)) => {
                return Err(RegistryError {
                    status: Some(status),
                    ..RegistryError::new(
                        RegistryErrorKind::Denied,
                        &ro.host(),
                        format!(
                            "GET {path} (token for {scope}) returned {status}: {}",
                            self.refusal_hint(secret.is_some())
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
        let answer: Option<TokenAnswer> =
            serde_json::from_slice(&read_at_most(resp, TOKEN_BYTES)).ok();
        answer
            .and_then(|a| a.token.or(a.access_token))
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                protocol(
                    ro,
                    format!("GET {path}: the token server's answer holds no token"),
                )
            })
    }
}

impl Registry for OciRegistry {
    fn created(&self, image: &ImageRef, tag: &str) -> Result<Option<String>, RegistryError> {
        self.created_of(image, tag)
    }

    fn tags(&self, image: &ImageRef) -> Result<Vec<String>, RegistryError> {
        let (origin, repository) = self.endpoint(image)?;
        let path = format!("/v2/{repository}/tags/list");
        let mut url = format!("{}{path}", origin.base);
        if let Some(n) = self.page_size {
            url.push_str(&format!("?n={n}"));
        }
        let mut auth = None;
        let mut read = TagsRead::new(self.max_tags);
        for _ in 0..MAX_PAGES {
            let resp = self.get_authorized(&origin, &url, &mut auth, JSON)?;
            let next = resp
                .all("Link")
                .iter()
                .find_map(|l| crate::link::next_link(l));
            read_page(resp.into_reader(), &mut read).map_err(|e| {
                let kind = match e {
                    PageError::Unreadable(_) => RegistryErrorKind::Unavailable,
                    _ => RegistryErrorKind::Protocol,
                };
                RegistryError::new(kind, &origin.host(), format!("GET {path}: {e}"))
            })?;
            let Some(next) = next else {
                return Ok(read.tags);
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

/// Log one answered (or failed) request at `-v`: `shown` is host, path and
/// query (the query only from `-vv`). Never a header: the secret is in one.
fn log_request(
    shown: &str,
    started: std::time::Instant,
    res: &Result<ureq::Response, ureq::Error>,
) {
    let status = match res {
        Ok(r) => Some(r.status()),
        Err(ureq::Error::Status(s, _)) => Some(*s),
        Err(_) => None,
    };
    crate::log::request("GET", shown, status, started.elapsed());
}

/// At most `max` bytes of a body (what is left unread is dropped with the
/// connection); a body that cannot be read is empty.
fn read_at_most(resp: ureq::Response, max: u64) -> Vec<u8> {
    let mut body = vec![];
    let _ = resp.into_reader().take(max).read_to_end(&mut body);
    body
}

// ---------------------------------------------------------------------------
// Tag lists, read within bounds (SPEC 8 step 2): a page is streamed through a
// reader that stops after MAX_PAGE_BYTES + 1 bytes, and parsed by a visitor
// that keeps tags as they come and stops past `max_tags`; no page is ever
// held whole, and no tag list grows past the bound.

/// What the pages of one image have given so far.
struct TagsRead {
    tags: Vec<String>,
    /// tags seen, kept or not (see MAX_TAG_LEN)
    seen: usize,
    max: usize,
    /// set when `seen` went past `max`
    over: bool,
}

impl TagsRead {
    fn new(max: usize) -> TagsRead {
        TagsRead {
            tags: vec![],
            seen: 0,
            max,
            over: false,
        }
    }
}

/// Why a page was not used.
#[derive(Debug, PartialEq, Eq)]
enum PageError {
    TooManyTags(usize),
    TooLarge,
    LongString,
    Malformed(String),
    /// the body could not be read (the connection broke, a time-out)
    Unreadable(String),
}

impl std::fmt::Display for PageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PageError::TooManyTags(max) => write!(
                f,
                "more than {max} tags (upgrade.max_tags); giving up rather than using a partial list"
            ),
            PageError::TooLarge => write!(
                f,
                "a page of more than {} MiB; giving up rather than reading on",
                MAX_PAGE_BYTES >> 20
            ),
            PageError::LongString => write!(
                f,
                "a string of more than {} KiB in the tag list; giving up rather than reading on",
                MAX_STRING_BYTES >> 10
            ),
            PageError::Malformed(e) => write!(f, "malformed tag list in the answer: {e}"),
            PageError::Unreadable(e) => write!(f, "reading the answer: {e}"),
        }
    }
}

/// Read one page (`{"tags": [...], ...}`) into `read`.
fn read_page(body: impl Read, read: &mut TagsRead) -> Result<(), PageError> {
    let mut limited = body.take(MAX_PAGE_BYTES + 1);
    let mut strings = ShortStrings::new(std::io::BufReader::new(&mut limited));
    let parsed = {
        let mut de = serde_json::Deserializer::from_reader(&mut strings);
        TagList(&mut *read)
            .deserialize(&mut de)
            .and_then(|()| de.end())
    };
    if read.over {
        return Err(PageError::TooManyTags(read.max));
    }
    if strings.too_long {
        return Err(PageError::LongString);
    }
    if limited.limit() == 0 {
        return Err(PageError::TooLarge);
    }
    parsed.map_err(|e| {
        let msg = short(&e.to_string(), 160);
        if e.is_io() {
            PageError::Unreadable(msg)
        } else {
            PageError::Malformed(msg)
        }
    })
}

/// A JSON text read through, failing once a string in it is longer than
/// MAX_STRING_BYTES: the JSON parser holds each string whole before it can
/// look at it, so without this one string of a page could take 8 MiB, in
/// each of the lookups running at once.
struct ShortStrings<R> {
    inner: R,
    /// bytes of the string being read; None between strings
    in_string: Option<usize>,
    /// the last byte was a backslash inside a string
    escaped: bool,
    too_long: bool,
}

impl<R: Read> ShortStrings<R> {
    fn new(inner: R) -> ShortStrings<R> {
        ShortStrings {
            inner,
            in_string: None,
            escaped: false,
            too_long: false,
        }
    }
}

impl<R: Read> Read for ShortStrings<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        for &b in &buf[..n] {
            self.in_string = match (self.in_string, b) {
                (None, b'"') => Some(0),
                (None, _) => None,
                (Some(_), b'"') if !self.escaped => None,
                (Some(len), _) => Some(len + 1),
            };
            self.escaped = self.in_string.is_some() && b == b'\\' && !self.escaped;
            if self.in_string.is_some_and(|len| len > MAX_STRING_BYTES) {
                self.too_long = true;
                return Err(std::io::Error::other("a string too long for a tag list"));
            }
        }
        Ok(n)
    }
}

/// The page object: its `tags` go into the `TagsRead`; every other member
/// is skipped unread.
struct TagList<'a>(&'a mut TagsRead);

impl<'de> DeserializeSeed<'de> for TagList<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for TagList<'_> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a tag list object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(is_tags) = map.next_key_seed(IsTags)? {
            if is_tags {
                map.next_value_seed(Tags(&mut *self.0))?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(())
    }
}

/// A member name: whether it is `tags`.
struct IsTags;

impl<'de> DeserializeSeed<'de> for IsTags {
    type Value = bool;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
        d.deserialize_str(self)
    }
}

impl Visitor<'_> for IsTags {
    type Value = bool;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a member name")
    }
    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<bool, E> {
        Ok(v == "tags")
    }
}

/// `tags`: an array of strings, or `null`.
struct Tags<'a>(&'a mut TagsRead);

impl<'de> DeserializeSeed<'de> for Tags<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_option(self)
    }
}

impl<'de> Visitor<'de> for Tags<'_> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an array of tags")
    }
    fn visit_none<E: serde::de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E: serde::de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let read = self.0;
        while let Some(tag) = seq.next_element_seed(OneTag)? {
            read.seen += 1;
            if read.seen > read.max {
                read.over = true;
                return Err(serde::de::Error::custom("too many tags"));
            }
            read.tags.extend(tag);
        }
        Ok(())
    }
}

/// One tag; None for a string longer than an OCI tag can be (it cannot
/// name an image, and keeping it would let a page of few tags fill memory).
struct OneTag;

impl<'de> DeserializeSeed<'de> for OneTag {
    type Value = Option<String>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Option<String>, D::Error> {
        d.deserialize_str(self)
    }
}

impl Visitor<'_> for OneTag {
    type Value = Option<String>;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a tag")
    }
    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Option<String>, E> {
        Ok((v.len() <= MAX_TAG_LEN).then(|| v.to_string()))
    }
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

    fn dest(&self) -> Dest<'_> {
        Dest {
            scheme: &self.scheme,
            authority: &self.authority,
        }
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

/// The path and query of a URL, without scheme or host (what `-v` shows).
fn target_of(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    rest.find(['/', '?']).map_or("/", |i| &rest[i..])
}

/// The path of a URL, without scheme, host or query (what errors show).
fn path_of(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let path = rest.find('/').map_or("/", |i| &rest[i..]);
    path.split(['?', '#']).next().unwrap_or(path).to_string()
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
    let code = serde_json::from_slice::<serde_json::Value>(&read_at_most(resp, ERROR_BYTES))
        .ok()
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

/// What an error holds of a registry's words (a header, an error code, a
/// parser's complaint): one escaped line of at most `max` characters, the
/// cut said (`sanitize::excerpt`).
fn short(s: &str, max: usize) -> String {
    crate::core::sanitize::excerpt(s, max)
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
    fn the_registry_and_the_compose_editor_read_an_image_name_alike() {
        for input in [
            "nginx:1",
            "Registry/app:1",
            "docker.io/x/y:2",
            "INDEX.DOCKER.IO/library/redis:7",
            "localhost:5000/a/b/c:3",
            "quay.io:443/a/b",
        ] {
            let written = crate::core::compose::parse_image(input);
            let asked = ImageRef::parse(input).unwrap();
            let host = written.api_host().to_ascii_lowercase();
            let asked_host = asked
                .registry_host
                .as_deref()
                .unwrap_or(DOCKER_HUB_REGISTRY);
            assert_eq!(host, asked_host, "host of {input}");
            assert_eq!(
                written.repository, asked.repository,
                "repository of {input}"
            );
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
            let got = crate::link::next_link(header).map(|l| resolve(base, &l));
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

    /// `head`, `n` times `piece`, then `tail`, as a reader that never holds
    /// the pieces.
    fn repeated(head: &str, piece: &'static str, n: u64, tail: &str) -> impl Read {
        std::io::Cursor::new(head.as_bytes().to_vec())
            .chain(Pieces { piece, left: n })
            .chain(std::io::Cursor::new(tail.as_bytes().to_vec()))
    }

    struct Pieces {
        piece: &'static str,
        left: u64,
    }
    impl Read for Pieces {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let p = self.piece.as_bytes();
            let mut n = 0;
            while self.left > 0 && buf.len() - n >= p.len() {
                buf[n..n + p.len()].copy_from_slice(p);
                n += p.len();
                self.left -= 1;
            }
            Ok(n)
        }
    }

    #[test]
    fn a_page_is_read_within_its_bounds() {
        let ok = |tags: &[&str]| Ok(tags.iter().map(|t| t.to_string()).collect::<Vec<_>>());
        let long = "x".repeat(MAX_TAG_LEN + 1);
        let big = "y".repeat(MAX_STRING_BYTES + 1);
        let max = MAX_STRING_BYTES;
        // (case, body, max_tags, the tags read or why not)
        type Case = (
            &'static str,
            Box<dyn Read>,
            usize,
            Result<Vec<String>, PageError>,
        );
        let cases: Vec<Case> = vec![
            (
                "a page",
                Box::new(&br#"{"name":"a/b","tags":["1","2"]}"#[..]),
                5,
                ok(&["1", "2"]),
            ),
            (
                "no tags",
                Box::new(&br#"{"name":"a/b","tags":null}"#[..]),
                5,
                ok(&[]),
            ),
            (
                "absent tags",
                Box::new(&br#"{"name":"a/b"}"#[..]),
                5,
                ok(&[]),
            ),
            (
                "other members skipped",
                Box::new(&br#"{"x":{"y":[1,{"z":"w"}]},"tags":["1"]}"#[..]),
                5,
                ok(&["1"]),
            ),
            (
                "escapes",
                Box::new(&br#"{"tags":["a\"b","c\\"]}"#[..]),
                5,
                ok(&["a\"b", "c\\"]),
            ),
            (
                "exactly max_tags",
                Box::new(&br#"{"tags":["1","2","3"]}"#[..]),
                3,
                ok(&["1", "2", "3"]),
            ),
            (
                "one past max_tags",
                Box::new(&br#"{"tags":["1","2","3","4"]}"#[..]),
                3,
                Err(PageError::TooManyTags(3)),
            ),
            (
                "too long to be a tag: dropped, counted",
                Box::new(std::io::Cursor::new(format!(
                    "{{\"tags\":[\"{long}\",\"1\"]}}"
                ))),
                2,
                ok(&["1"]),
            ),
            (
                "too long to be a tag: counted",
                Box::new(std::io::Cursor::new(format!(
                    "{{\"tags\":[\"{long}\",\"1\"]}}"
                ))),
                1,
                Err(PageError::TooManyTags(1)),
            ),
            (
                "a string past the string bound",
                Box::new(std::io::Cursor::new(format!(
                    "{{\"name\":\"{big}\",\"tags\":[]}}"
                ))),
                5,
                Err(PageError::LongString),
            ),
            (
                "a string at the string bound",
                Box::new(std::io::Cursor::new(format!(
                    "{{\"name\":\"{}\",\"tags\":[]}}",
                    "z".repeat(max)
                ))),
                5,
                ok(&[]),
            ),
            (
                "exactly 8 MiB",
                Box::new(repeated("{\"tags\":[\"1\"]", " ", MAX_PAGE_BYTES - 14, "}")),
                5,
                ok(&["1"]),
            ),
            (
                "one byte past 8 MiB",
                Box::new(repeated("{\"tags\":[\"1\"]", " ", MAX_PAGE_BYTES - 13, "}")),
                5,
                Err(PageError::TooLarge),
            ),
            (
                "endless short tags",
                Box::new(repeated("{\"tags\":[\"a\"", ",\"a\"", u64::MAX, "")),
                10_000,
                Err(PageError::TooManyTags(10_000)),
            ),
            (
                "not an object",
                Box::new(&b"[1]"[..]),
                5,
                Err(PageError::Malformed(String::new())),
            ),
            (
                "a number for a tag",
                Box::new(&br#"{"tags":[1]}"#[..]),
                5,
                Err(PageError::Malformed(String::new())),
            ),
            (
                "cut short",
                Box::new(&br#"{"tags":["1""#[..]),
                5,
                Err(PageError::Malformed(String::new())),
            ),
        ];
        for (case, body, max_tags, want) in cases {
            let mut read = TagsRead::new(max_tags);
            let got = read_page(body, &mut read).map(|()| read.tags);
            match (got, want) {
                (Err(PageError::Malformed(_)), Err(PageError::Malformed(_))) => {}
                (got, want) => assert_eq!(got, want, "case {case}"),
            }
        }
    }

    #[test]
    fn requests_are_logged_with_host_path_and_query() {
        let cases = [
            (
                "http://127.0.0.2:5000/v2/a/tags/list?n=10",
                "/v2/a/tags/list?n=10",
            ),
            (
                "https://mirror.example.org/ghcr/v2/a/tags/list",
                "/ghcr/v2/a/tags/list",
            ),
            ("https://auth.example.org", "/"),
            ("https://auth.example.org?x=1", "?x=1"),
        ];
        for (url, want) in cases {
            assert_eq!(target_of(url), want, "case {url}");
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
