//! GitHub Apps in the sandbox's GitHub dialect: an app seeded with its key
//! (`POST /_admin/app`), JWTs checked as GitHub checks them (RS256 signature
//! by the app's key, `iat` in the past, `exp` in the future and at most 10
//! minutes after `iat`, `iss` the app's id), expiring installation tokens
//! (lifetime, early revocation and an exchange count are admin knobs), and
//! `GET /app`, `GET /app/installations/{id}`, `POST
//! /app/installations/{id}/access_tokens`, `GET /installation/repositories`
//! in the shapes of `tests/contracts/github-app-subset.json` (checked by
//! `tests/it/github_app.rs`). An
//! installation token writes as the app's bot user `<slug>[bot]` and cannot
//! call `GET /user` (403, as on GitHub).

use super::{err, not_found, paged_in};
use crate::http::{Reply, Request};
use crate::model::Forge;
pub(crate) use crate::model::app::AppSide;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::signature::{RSA_PKCS1_2048_8192_SHA256, RsaKeyPair, UnparsedPublicKey};
use rustls_pki_types::PrivateKeyDer;
use rustls_pki_types::pem::PemObject;
use serde_json::{Value, json};

/// Who a request's `Authorization` speaks for.
pub(super) enum Caller {
    /// the sandbox's personal token
    Person,
    /// the app itself (a valid JWT)
    App,
    /// an installation token: writes as the bot
    Installation,
    Refused(&'static str),
}

fn now(a: &AppSide) -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp() + a.clock_offset
}

/// The caller of a request bearing `tok`.
pub(super) fn caller(f: &Forge, tok: &str) -> Caller {
    if tok == f.token {
        return Caller::Person;
    }
    let Some(a) = &f.gh.app else {
        return Caller::Refused("Bad credentials");
    };
    if let Some((_, exp, revoked)) = a.tokens.iter().find(|(t, _, _)| t == tok) {
        return if *revoked || *exp <= now(a) {
            Caller::Refused("Bad credentials")
        } else {
            Caller::Installation
        };
    }
    if tok.matches('.').count() == 2 {
        return match check_jwt(a, tok) {
            Ok(()) => Caller::App,
            Err(why) => Caller::Refused(why),
        };
    }
    Caller::Refused("Bad credentials")
}

fn check_jwt(a: &AppSide, tok: &str) -> Result<(), &'static str> {
    const UNDECODABLE: &str = "A JSON web token could not be decoded";
    let parts: Vec<&str> = tok.split('.').collect();
    let decode = |s: &str| URL_SAFE_NO_PAD.decode(s).map_err(|_| UNDECODABLE);
    let header: Value = serde_json::from_slice(&decode(parts[0])?).map_err(|_| UNDECODABLE)?;
    if header["alg"] != "RS256" {
        return Err(UNDECODABLE);
    }
    let sig = decode(parts[2])?;
    UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, &a.public_key)
        .verify(format!("{}.{}", parts[0], parts[1]).as_bytes(), &sig)
        .map_err(|_| UNDECODABLE)?;
    let c: Value = serde_json::from_slice(&decode(parts[1])?).map_err(|_| UNDECODABLE)?;
    let iss = c["iss"]
        .as_str()
        .map(str::to_string)
        .or_else(|| c["iss"].as_u64().map(|n| n.to_string()));
    if iss.as_deref() != Some(a.id.to_string().as_str()) {
        return Err("'Issuer' claim ('iss') must be an Integer");
    }
    let (Some(iat), Some(exp)) = (c["iat"].as_i64(), c["exp"].as_i64()) else {
        return Err(UNDECODABLE);
    };
    let t = now(a);
    if iat > t {
        return Err(
            "'Issued at' claim ('iat') must be an Integer representing a time in the past.",
        );
    }
    if exp <= t || exp - iat > 600 {
        return Err("'Expiration time' claim ('exp') is too far in the future");
    }
    Ok(())
}

fn permissions() -> Value {
    json!({"issues": "write", "pull_requests": "write", "contents": "write",
           "statuses": "read", "checks": "read", "metadata": "read"})
}

fn selection(a: &AppSide) -> &'static str {
    if a.repos.is_some() { "selected" } else { "all" }
}

/// `installation`
fn installation(f: &Forge, a: &AppSide) -> Value {
    let api = super::shapes::api(f);
    json!({
        "id": a.installation_id,
        "account": super::shapes::user(f, &a.account),
        "repository_selection": selection(a),
        "access_tokens_url": format!("{api}/app/installations/{}/access_tokens", a.installation_id),
        "repositories_url": format!("{api}/installation/repositories"),
        "html_url": format!("{}/organizations/{}/settings/installations/{}", f.base, a.account, a.installation_id),
        "app_id": a.id, "client_id": format!("Iv1.{}", a.id), "app_slug": a.slug,
        "target_id": 9000, "target_type": "Organization",
        "permissions": permissions(), "events": [],
        "created_at": "2026-01-01T12:00:00Z", "updated_at": "2026-01-01T12:00:00Z",
        "single_file_name": null, "suspended_by": null, "suspended_at": null,
    })
}

/// `integration` (the app itself)
fn integration(f: &Forge, a: &AppSide) -> Value {
    json!({
        "id": a.id, "slug": a.slug, "node_id": format!("A_{}", a.id), "client_id": format!("Iv1.{}", a.id),
        "owner": super::shapes::user(f, &a.account), "name": a.slug, "description": null,
        "external_url": f.base, "html_url": format!("{}/apps/{}", f.base, a.slug),
        "created_at": "2026-01-01T12:00:00Z", "updated_at": "2026-01-01T12:00:00Z",
        "permissions": permissions(), "events": [], "installations_count": 1,
    })
}

/// The routes a JWT may call (`/app...`).
pub(super) fn as_app(f: &mut Forge, req: &Request, seg: &[&str]) -> Reply {
    let Some(a) = f.gh.app.as_mut() else {
        return not_found();
    };
    let inst = a.installation_id.to_string();
    match (req.method.as_str(), seg) {
        ("GET", ["app"]) => {
            let a = f.gh.app.as_ref().unwrap();
            Reply::json(200, &integration(f, a))
        }
        ("GET", ["app", "installations", id]) if *id == inst => {
            let a = f.gh.app.as_ref().unwrap();
            Reply::json(200, &installation(f, a))
        }
        ("POST", ["app", "installations", id, "access_tokens"]) if *id == inst => {
            a.exchanges += 1;
            let token = format!("ghs_sandbox{:04}x{}", a.exchanges, std::process::id());
            let exp = now(a) + a.lifetime;
            a.tokens.push((token.clone(), exp, false));
            let at = time::OffsetDateTime::from_unix_timestamp(exp)
                .map(afk_model::stamp::ts)
                .unwrap_or_default();
            Reply::json(
                201,
                &json!({"token": token, "expires_at": at, "permissions": permissions(),
                        "repository_selection": selection(a)}),
            )
        }
        ("GET", ["app", "installations", _])
        | ("POST", ["app", "installations", _, "access_tokens"]) => not_found(),
        _ => err(401, "A JSON web token could not be decoded"),
    }
}

/// `GET /installation/repositories` with an installation token.
pub(super) fn repositories(f: &Forge, req: &Request) -> Reply {
    let Some(a) = &f.gh.app else {
        return not_found();
    };
    let items: Vec<Value> = f
        .repos
        .values()
        .filter(|r| {
            a.repos
                .as_ref()
                .is_none_or(|v| v.iter().any(|n| n.eq_ignore_ascii_case(&r.full_name)))
        })
        .map(|r| super::shapes::repo(f, r, super::shapes::RepoShape::Repository))
        .collect();
    let total = items.len();
    let selection = selection(a);
    paged_in(
        f,
        req,
        items,
        (30, 100),
        |page| json!({"total_count": total, "repository_selection": selection, "repositories": page}),
    )
}

/// The bot's login when `caller` is an installation.
pub(super) fn bot(f: &Forge) -> Option<String> {
    f.gh.app.as_ref().map(|a| format!("{}[bot]", a.slug))
}

/// Whether `password` is a live installation token (git over HTTPS as `x-access-token`).
pub(crate) fn live_token(f: &Forge, password: &str) -> bool {
    matches!(caller(f, password), Caller::Installation)
}

/// `/_admin/app`: `POST {id, slug, installation_id, account = "acme", key_file,
/// lifetime = 3600, clock_offset = 0, repos?}` seeds or changes the app (fields
/// given replace, others stay); `POST /revoke` revokes every token handed out;
/// `GET` answers `{exchanges, tokens}`.
pub(crate) fn admin(f: &mut Forge, req: &Request, tail: &str) -> Reply {
    let b = req.json().unwrap_or(Value::Null);
    match (req.method.as_str(), tail) {
        ("GET", "") => match &f.gh.app {
            Some(a) => Reply::json(
                200,
                &json!({"exchanges": a.exchanges, "tokens": a.tokens.len()}),
            ),
            None => err(404, "no app seeded"),
        },
        ("POST", "/revoke") => match f.gh.app.as_mut() {
            Some(a) => {
                for t in &mut a.tokens {
                    t.2 = true;
                }
                Reply::json(200, &json!({"ok": true}))
            }
            None => err(404, "no app seeded"),
        },
        ("POST", "") => {
            let key = match b["key_file"].as_str() {
                Some(p) => match public_key(p) {
                    Ok(k) => Some(k),
                    Err(e) => return err(400, &e),
                },
                None => None,
            };
            let a = match f.gh.app.as_mut() {
                Some(a) => a,
                None => {
                    let Some(k) = key.clone() else {
                        return err(400, "a new app needs key_file");
                    };
                    f.gh.app.insert(AppSide {
                        id: 1,
                        slug: "afk-app".into(),
                        installation_id: 1,
                        account: "acme".into(),
                        public_key: k,
                        lifetime: 3600,
                        clock_offset: 0,
                        repos: None,
                        tokens: vec![],
                        exchanges: 0,
                    })
                }
            };
            if let Some(k) = key {
                a.public_key = k;
            }
            if let Some(v) = b["id"].as_u64() {
                a.id = v;
            }
            if let Some(v) = b["slug"].as_str() {
                a.slug = v.into();
            }
            if let Some(v) = b["installation_id"].as_u64() {
                a.installation_id = v;
            }
            if let Some(v) = b["account"].as_str() {
                a.account = v.into();
            }
            if let Some(v) = b["lifetime"].as_i64() {
                a.lifetime = v;
            }
            if let Some(v) = b["clock_offset"].as_i64() {
                a.clock_offset = v;
            }
            if let Some(v) = b["repos"].as_array() {
                a.repos = Some(
                    v.iter()
                        .filter_map(|x| x.as_str().map(str::to_string))
                        .collect(),
                );
            }
            Reply::json(200, &json!({"ok": true}))
        }
        _ => err(404, "unknown admin call"),
    }
}

/// The public key of the RSA private key in PEM file `path` (PKCS#1 or #8).
fn public_key(path: &str) -> Result<Vec<u8>, String> {
    let pem = std::fs::read_to_string(path).map_err(|e| format!("key_file {path}: {e}"))?;
    let der = PrivateKeyDer::from_pem_slice(pem.as_bytes())
        .map_err(|_| format!("key_file {path}: not a PEM private key"))?;
    let key = match &der {
        PrivateKeyDer::Pkcs1(k) => RsaKeyPair::from_der(k.secret_pkcs1_der()),
        PrivateKeyDer::Pkcs8(k) => RsaKeyPair::from_pkcs8(k.secret_pkcs8_der()),
        _ => return Err(format!("key_file {path}: not an RSA key")),
    }
    .map_err(|e| format!("key_file {path}: the RSA key is refused: {e}"))?;
    Ok(key.public().as_ref().to_vec())
}
