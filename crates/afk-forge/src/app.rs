//! GitHub App authentication (`forge.app_id`, docs/github.md#as-a-github-app):
//! the app's private key (read once per tick, never printed) signs a JWT
//! (RS256) that is exchanged for an installation token at
//! `POST /app/installations/{id}/access_tokens`; the token is kept in the state
//! file and reused until 5 minutes before it expires (`core::app_token`). afk's
//! own account is the app's bot user, `<slug>[bot]` (`GET /app`). A dry run may
//! exchange a token and stores nothing.

use super::Diagnosis;
use super::http::{ApiStyle, ForgeError, Http, Refresher};
use crate::core::app_token;
use crate::types::{ConfigError, RepoName};
use afk_host::redact::Secret;
use anyhow::{Result, anyhow};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::rand::SystemRandom;
use ring::signature::{RSA_PKCS1_SHA256, RsaKeyPair};
use rustls_pki_types::PrivateKeyDer;
use rustls_pki_types::pem::PemObject;
use serde::Deserialize;
use std::path::Path;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;
use time::OffsetDateTime;

/// Where a refused JWT sends the operator.
const JWT_SOURCE: &str = "forge.app_id and forge.app_private_key_file (the app's JWT was refused: is the key this app's?)";

/// The app's RSA key from PEM text: PKCS#1 (`RSA PRIVATE KEY`) or PKCS#8
/// (`PRIVATE KEY`). Errors name the file, never its content.
pub fn key_from_pem(pem: &str, file: &Path) -> Result<RsaKeyPair> {
    let bad = |why: String| {
        anyhow::Error::new(ConfigError(format!(
            "config: forge.app_private_key_file {}: {why}",
            file.display()
        )))
    };
    let der = PrivateKeyDer::from_pem_slice(pem.as_bytes()).map_err(|_| {
        bad("not a PEM private key (\"RSA PRIVATE KEY\" or \"PRIVATE KEY\")".into())
    })?;
    let key = match &der {
        PrivateKeyDer::Pkcs1(k) => RsaKeyPair::from_der(k.secret_pkcs1_der()),
        PrivateKeyDer::Pkcs8(k) => RsaKeyPair::from_pkcs8(k.secret_pkcs8_der()),
        _ => return Err(bad("not an RSA key (a GitHub App's key is RSA)".into())),
    };
    key.map_err(|e| bad(format!("the RSA key is refused: {e}")))
}

/// A JWT (RS256) for app `app_id` at `now`: `iat` a minute back, `exp` 9
/// minutes on, `iss` the app id.
pub fn jwt(key: &RsaKeyPair, app_id: u64, now: OffsetDateTime) -> Result<String> {
    let (iat, exp) = app_token::jwt_window(now);
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"RS256","typ":"JWT"}"#);
    let claims = serde_json::json!({"iat": iat, "exp": exp, "iss": app_id.to_string()});
    let claims = URL_SAFE_NO_PAD.encode(claims.to_string());
    let signing_input = format!("{header}.{claims}");
    let mut sig = vec![0; key.public().modulus_len()];
    key.sign(
        &RSA_PKCS1_SHA256,
        &SystemRandom::new(),
        signing_input.as_bytes(),
        &mut sig,
    )
    .map_err(|_| anyhow!("forge: signing the GitHub App's JWT failed"))?;
    Ok(format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(sig)))
}

#[derive(Deserialize)]
struct Exchanged {
    token: String,
    expires_at: String,
}

/// Where an installation token is kept between ticks: the caller's (the
/// state file's `app_tokens` table, `store::app_tokens`), so the forge never
/// opens the store itself. A dry run's keeper reads and never writes.
pub trait TokenKeeper: Send + Sync {
    /// The kept token of this installation and when it expires.
    fn load(&self, app_id: u64, installation_id: u64) -> Option<(String, OffsetDateTime)>;
    /// Keep a freshly exchanged token (replacing the one before).
    fn save(&self, app_id: u64, installation_id: u64, token: &str, expires_at: OffsetDateTime);
}

/// What one tick's app is made of ([`App::new`]).
pub struct AppParts {
    pub app_id: u64,
    pub installation_id: u64,
    /// read by the caller, once per tick
    pub key: RsaKeyPair,
    /// the API root
    pub root: String,
    /// how the API is asked (the forge profile's `api`)
    pub api: ApiStyle,
    pub timeout: Duration,
    pub retries: u32,
    pub now: OffsetDateTime,
    /// where its installation token is kept between ticks; None: nothing is
    /// read or stored
    pub keeper: Option<Box<dyn TokenKeeper>>,
}

/// Why `GET /app` has no answer this tick, kept for the tick's later asks:
/// a failed call keeps its kind, anything else its words.
#[derive(Clone)]
enum Unread {
    Call(Box<ForgeError>),
    Other(String),
}

impl Unread {
    fn of(e: anyhow::Error) -> Unread {
        match e.downcast_ref::<ForgeError>() {
            Some(f) if e.chain().count() == 1 => Unread::Call(Box::new(f.clone())),
            _ => Unread::Other(e.to_string()),
        }
    }

    fn error(self) -> anyhow::Error {
        match self {
            Unread::Call(f) => anyhow::Error::new(*f),
            Unread::Other(s) => anyhow!(s),
        }
    }
}

/// One tick's GitHub App: the key, the ids, and where the token is kept.
pub struct App {
    app_id: u64,
    installation_id: u64,
    key: RsaKeyPair,
    root: String,
    api: ApiStyle,
    timeout: Duration,
    retries: u32,
    now: OffsetDateTime,
    /// where the installation token is kept between ticks (the state file's
    /// `app_tokens`, `store::app_tokens`); None: nothing is read or stored
    keeper: Option<Box<dyn TokenKeeper>>,
    /// the installation token's expiry as this tick knows it
    expires: Mutex<Option<OffsetDateTime>>,
    bot: OnceLock<std::result::Result<serde_json::Value, Unread>>,
}

impl App {
    /// One tick's app: its ids, its key (read by the caller, once per tick),
    /// the API root, and where its installation token is kept.
    pub fn new(parts: AppParts) -> App {
        let AppParts {
            app_id,
            installation_id,
            key,
            root,
            api,
            timeout,
            retries,
            now,
            keeper,
        } = parts;
        App {
            app_id,
            installation_id,
            key,
            root,
            api,
            timeout,
            retries,
            now,
            keeper,
            expires: Mutex::new(None),
            bot: OnceLock::new(),
        }
    }

    /// A client that speaks as the app itself (the JWT), for `/app/...`.
    fn as_app(&self) -> Result<Http> {
        let jwt = jwt(&self.key, self.app_id, self.now)?;
        Ok(Http::with_style(
            &self.api,
            &self.root,
            &jwt,
            JWT_SOURCE,
            self.timeout,
            self.retries,
        ))
    }

    /// The installation token for this tick: the stored one while more than
    /// 5 minutes of it are left, else a fresh exchange.
    pub fn token(&self) -> Result<Secret> {
        if let Some(keeper) = &self.keeper
            && let Some((token, at)) = keeper.load(self.app_id, self.installation_id)
            && app_token::reuse_stored(at, self.now)
        {
            *self.expires.lock().unwrap() = Some(at);
            return Ok(Secret::new(token));
        }
        self.exchange()
    }

    /// Exchange the JWT for a new installation token and keep it (not in a dry run).
    pub fn exchange(&self) -> Result<Secret> {
        let path = format!("/app/installations/{}/access_tokens", self.installation_id);
        let got: Exchanged = self.as_app()?.json("POST", &path, None)?;
        let at = crate::clock::parse(&got.expires_at).ok_or_else(|| {
            anyhow!("forge: POST {path}: the installation token's expires_at is not a time")
        })?;
        *self.expires.lock().unwrap() = Some(at);
        let token = Secret::new(got.token);
        if let Some(keeper) = &self.keeper {
            keeper.save(self.app_id, self.installation_id, token.expose(), at);
        }
        Ok(token)
    }

    /// `GET /app`, once per tick.
    fn app(&self) -> Result<serde_json::Value> {
        self.bot
            .get_or_init(|| {
                self.as_app()
                    .and_then(|h| h.json("GET", "/app", None))
                    .map_err(Unread::of)
            })
            .clone()
            .map_err(Unread::error)
    }

    /// afk's own login: the app's bot user, `<slug>[bot]`.
    pub fn bot_login(&self) -> Result<String> {
        let app = self.app()?;
        match app["slug"].as_str() {
            Some(s) if !s.is_empty() => Ok(format!("{s}[bot]")),
            _ => Err(anyhow!("forge: GET /app answered without the app's slug")),
        }
    }

    /// `afk doctor`'s lines: the app, the installation, the token's expiry
    /// and whether every allowlisted repo is in the installation.
    pub fn diagnose(&self, token_http: &Http, allowlist: &[RepoName]) -> Vec<Diagnosis> {
        let mut out = vec![];
        match self.app() {
            Ok(a) => out.push(Diagnosis::ok(
                "github app",
                format!(
                    "{} (id {}), afk writes as {}[bot]",
                    a["slug"].as_str().unwrap_or("?"),
                    self.app_id,
                    a["slug"].as_str().unwrap_or("?")
                ),
            )),
            Err(e) => out.push(Diagnosis::fail("github app", e.to_string())),
        }
        let inst = self.as_app().and_then(|h| {
            h.json::<serde_json::Value>(
                "GET",
                &format!("/app/installations/{}", self.installation_id),
                None,
            )
        });
        match inst {
            Ok(i) => out.push(Diagnosis::ok(
                "installation",
                format!(
                    "{} on {} (repository_selection: {})",
                    self.installation_id,
                    i["account"]["login"].as_str().unwrap_or("?"),
                    i["repository_selection"].as_str().unwrap_or("?")
                ),
            )),
            Err(e) => {
                // the token, its repos and every call made with it depend on
                // the installation: one FAIL, not one per dependent check
                out.push(Diagnosis::fail(
                    "installation",
                    format!("forge.app_installation_id {}: {e}", self.installation_id),
                ));
                return out;
            }
        }
        #[derive(Deserialize)]
        struct R {
            full_name: String,
        }
        let repos = token_http.get_all_in::<R>("/installation/repositories", "repositories");
        match *self.expires.lock().unwrap() {
            Some(at) => out.push(Diagnosis::ok(
                "installation token",
                format!("expires at {}", crate::clock::ts(at)),
            )),
            None => out.push(Diagnosis::fail("installation token", "none in hand".into())),
        }
        match repos {
            Ok(rs) => {
                let missing: Vec<&RepoName> = allowlist
                    .iter()
                    .filter(|a| !rs.iter().any(|r| r.full_name.eq_ignore_ascii_case(a)))
                    .collect();
                out.push(if missing.is_empty() {
                    Diagnosis::ok(
                        "installation repos",
                        format!(
                            "all {} allowlisted repos are in the installation",
                            allowlist.len()
                        ),
                    )
                } else {
                    Diagnosis::fail(
                        "installation repos",
                        format!(
                            "{NOT_IN_INSTALLATION}{}",
                            missing
                                .iter()
                                .map(|s| s.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    )
                });
            }
            Err(e) => out.push(Diagnosis::fail("installation repos", e.to_string())),
        }
        out
    }
}

/// How the "installation repos" line that names the allowlisted repos
/// missing from the installation starts (what to do about it is the
/// binary's: `afk doctor` adds the fix).
pub const NOT_IN_INSTALLATION: &str = "not in the installation: ";

impl Refresher for App {
    fn initial(&self) -> Result<Secret> {
        self.token()
    }

    fn refresh(&self) -> Result<Secret> {
        self.exchange()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ring::signature::{RSA_PKCS1_2048_8192_SHA256, UnparsedPublicKey};

    fn fixture(name: &str) -> String {
        std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../tests/fixtures")
                .join(name),
        )
        .unwrap()
    }

    #[test]
    fn pkcs1_and_pkcs8_keys_sign_a_jwt_the_public_key_verifies() {
        let now = time::macros::datetime!(2026-01-01 12:00:00 UTC);
        for name in ["test-app-key-pkcs1.pem", "test-app-key-pkcs8.pem"] {
            let key = key_from_pem(&fixture(name), Path::new(name)).unwrap();
            let t = jwt(&key, 42, now).unwrap();
            let parts: Vec<&str> = t.split('.').collect();
            assert_eq!(parts.len(), 3);
            let claims: serde_json::Value =
                serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
            assert_eq!(claims["iss"], "42");
            assert_eq!(claims["iat"], now.unix_timestamp() - 60);
            assert_eq!(claims["exp"], now.unix_timestamp() + 540);
            let sig = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
            UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, key.public().as_ref())
                .verify(format!("{}.{}", parts[0], parts[1]).as_bytes(), &sig)
                .unwrap();
        }
    }

    #[test]
    fn a_key_that_is_not_pem_is_refused_without_showing_it() {
        let e = key_from_pem("SECRETSTUFF", Path::new("/k.pem"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("/k.pem") && !e.contains("SECRETSTUFF"), "{e}");
    }
}
