//! The OCI distribution client: where to ask, the bearer-token flow, the
//! secret only where `core::registry_auth` lets it go, and the tag list's pages.

use crate::core::registry_auth::{self, Asking, is_docker_hub};
use crate::core::upgrade::is_loopback;
use crate::error::{
    RegistryError, RegistryErrorKind, protocol, redirected, status_error, transport_error,
};
use crate::origin::{Origin, base64, parse_challenge, path_of, resolve, target_of};
use crate::tags::{PageError, TagsRead, read_page};
use crate::{
    Accept, DEFAULT_MAX_TAGS, DOCKER_HUB, DOCKER_HUB_REGISTRY, ImageRef, JSON, MAX_PAGES, Registry,
};
use afk_http::Failure;
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::Duration;

/// A 401's `WWW-Authenticate` challenge: the registry asks for a token.
struct Challenge(String);

/// The most of a token service's answer read (tokens are JWTs of a few KiB).
pub(crate) const TOKEN_BYTES: u64 = 1 << 20;

/// The `user:token` secret: afk's one secret type (registered for
/// redaction when made; its `Debug` shows none of it).
pub use afk_host::redact::Secret;

/// `upgrade.registry_auth_env`'s secret and `upgrade.registry_auth_host`, the
/// one registry host it belongs to (`core::registry_auth` says where it goes).
#[derive(Debug)]
pub(crate) struct Credentials {
    secret: Secret,
    host: String,
}

/// The OCI distribution registry client (Docker Hub, GHCR, Quay, distribution…).
pub struct OciRegistry {
    pub(crate) agent: afk_http::client::Agent,
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
    pub fn with_basic_auth(mut self, user_token: Secret, host: &str) -> OciRegistry {
        self.credentials = Some(Credentials {
            secret: user_token,
            host: host.trim().to_ascii_lowercase(),
        });
        self
    }

    /// The `user:token` secret the config read from the variable `var`
    /// (`upgrade.registry_auth_env`, named in errors), for the registry
    /// `host` (`upgrade.registry_auth_host`); an empty `var` means anonymous.
    pub fn with_auth(
        self,
        var: &str,
        secret: Option<&Secret>,
        host: &str,
    ) -> Result<OciRegistry, RegistryError> {
        if var.is_empty() {
            return Ok(self);
        }
        let config = |m: String| RegistryError::new(RegistryErrorKind::Config, "", m);
        if !registry_auth::is_registry_host(host) {
            return Err(config(
                "upgrade.registry_auth_env needs upgrade.registry_auth_host, the one registry host it is sent to".into(),
            ));
        }
        match secret {
            Some(s) if s.expose().contains(':') => Ok(self.with_basic_auth(s.clone(), host)),
            Some(_) => Err(config(format!(
                "the secret in {var} (upgrade.registry_auth_env) is not of the form user:token"
            ))),
            None => Err(config(format!(
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
        Ok((url, answer.err().map(|c| c.0)))
    }

    /// The base URL to ask for `image` and the repository path to ask for.
    pub(crate) fn endpoint(&self, image: &ImageRef) -> Result<(Origin, String), RegistryError> {
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

    /// Why no secret went with a refused request; None when it did (the
    /// error's `secret_refused`, which the binary's advice names).
    fn unsent(&self, sent: bool) -> Option<String> {
        match &self.credentials {
            Some(_) if sent => None,
            Some(c) => Some(format!(
                "anonymous requests are refused, and upgrade.registry_auth_env is only sent to upgrade.registry_auth_host ({})",
                c.host
            )),
            None => Some(
                "anonymous requests are refused; a private image needs upgrade.registry_auth_env"
                    .into(),
            ),
        }
    }

    /// A refusal (401, 403): its words (`GET /v2/…`) and what stands
    /// before why no secret went with it, or the one sent was refused.
    fn refusal(
        &self,
        host: &str,
        (head, sep): (String, &str),
        status: u16,
        sent: bool,
    ) -> RegistryError {
        let unsent = self.unsent(sent);
        RegistryError {
            status: Some(status),
            secret_refused: unsent.is_none(),
            ..RegistryError::http(
                Failure::answered(status),
                host,
                match unsent {
                    Some(why) => format!("{head}{sep}{why}"),
                    None => head,
                },
            )
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
    ) -> Result<Result<afk_http::client::Response, Challenge>, RegistryError> {
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
            Err(afk_http::client::Error::Status(401, resp)) => Ok(Err(Challenge(
                resp.header("WWW-Authenticate")
                    .unwrap_or_default()
                    .to_string(),
            ))),
            Err(afk_http::client::Error::Status(status, resp)) => Err(status_error(
                &origin.host(),
                "GET",
                &path,
                status,
                resp,
                auth,
            )),
            Err(afk_http::client::Error::Transport(t)) => {
                Err(transport_error(&origin.host(), "GET", &path, &t))
            }
        }
    }

    /// GET `url`, answering a 401 once: a bearer token for its challenge (or
    /// basic auth for a `Basic` one). `auth` carries the header to later pages.
    pub(crate) fn get_authorized(
        &self,
        origin: &Origin,
        url: &str,
        auth: &mut Option<String>,
        accept: Accept,
    ) -> Result<afk_http::client::Response, RegistryError> {
        let challenge = match self.get(origin, url, auth.as_deref(), accept)? {
            Ok(resp) => return Ok(resp),
            Err(Challenge(challenge)) => challenge,
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
        let head = format!("GET {path} returned {status}: access denied");
        self.refusal(&origin.host(), (head, "; "), status, sent)
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
                Some(s) if !stale => Ok((format!("Basic {}", base64(s.expose().as_bytes())), true)),
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
                &format!("Basic {}", base64(s.expose().as_bytes())),
            );
        }
        let auth = secret.map(|_| "");
        let started = std::time::Instant::now();
        let res = req.call();
        log_request(&shown, started, &res);
        let resp = match res {
            Ok(r) if (300..400).contains(&r.status()) => return Err(redirected(ro, &path, &r)),
            Ok(r) => r,
            Err(afk_http::client::Error::Status(status @ (401 | 403), _)) => {
                let head = format!("GET {path} (token for {scope}) returned {status}");
                return Err(self.refusal(&ro.host(), (head, ": "), status, secret.is_some()));
            }
            Err(afk_http::client::Error::Status(status, resp)) => {
                return Err(status_error(&ro.host(), "GET", &path, status, resp, auth));
            }
            Err(afk_http::client::Error::Transport(t)) => {
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
                    PageError::Unreadable(_) => RegistryErrorKind::Http(Failure::NoAnswer),
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
pub(crate) fn log_request(
    shown: &str,
    started: std::time::Instant,
    res: &Result<afk_http::client::Response, afk_http::client::Error>,
) {
    let status = match res {
        Ok(r) => Some(r.status()),
        Err(afk_http::client::Error::Status(s, _)) => Some(*s),
        Err(_) => None,
    };
    crate::log::request("GET", shown, status, started.elapsed());
}

pub(crate) use crate::body::read_at_most;

#[cfg(test)]
mod tests {
    use super::*;

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
}
