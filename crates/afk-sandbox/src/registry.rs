//! The sandbox's OCI registry: `GET /v2/<name>/tags/list` with `n`/`last`
//! paging and a `Link: <…>; rel="next"` header, as a distribution registry
//! answers it, and an optional bearer-token flow (`401` with
//! `WWW-Authenticate: Bearer realm=…,service=…,scope=…`, tokens from
//! `/v2/token`, optionally behind basic credentials). Images and tags are
//! seeded through `/_admin/registry`; 429s and 5xx come from the fault API.

use super::http::{Reply, Request};
use super::model::Forge;
use super::model::registry::Registry;
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// The token `/v2/token` hands out and `/v2/…` accepts.
const TOKEN: &str = "sandbox-registry-token";
const SERVICE: &str = "afk-sandbox-registry";

impl Forge {
    /// Add images and tags (`{images: {"library/nginx": ["1.25.3", …]}}`, tags
    /// appended to those already there) and set the registry's behaviour:
    /// `auth` (bearer-token flow), `credentials` (`user:password` for the token
    /// endpoint), `page_size` (tags per page when the client asks for no `n`).
    pub fn seed_registry(&mut self, body: &Value) -> Result<(), String> {
        let r = &mut self.registry;
        if let Some(images) = body.get("images") {
            let images: BTreeMap<String, Vec<String>> = serde_json::from_value(images.clone())
                .map_err(|e| format!("registry: images: {e}"))?;
            for (name, tags) in images {
                if name.is_empty() || name.split('/').any(str::is_empty) {
                    return Err(format!("registry: \"{name}\" is not a repository name"));
                }
                let have = r.images.entry(name).or_default();
                for t in tags {
                    if !have.contains(&t) {
                        have.push(t);
                    }
                }
            }
        }
        if let Some(a) = body["auth"].as_bool() {
            r.auth = a;
        }
        if let Some(c) = body.get("credentials") {
            r.credentials = c.as_str().map(str::to_string);
        }
        if let Some(n) = body["page_size"].as_u64() {
            r.page_size = n as usize;
        }
        if let Some(c) = body.get("created") {
            let c: BTreeMap<String, BTreeMap<String, Option<String>>> =
                serde_json::from_value(c.clone()).map_err(|e| format!("registry: created: {e}"))?;
            for (name, tags) in c {
                r.created.entry(name).or_default().extend(tags);
            }
        }
        if let Some(i) = body["indexes"].as_array() {
            r.indexes
                .extend(i.iter().filter_map(|v| v.as_str().map(str::to_string)));
        }
        Ok(())
    }
}

/// Distribution's error body.
fn error(status: u16, code: &str, message: &str) -> Reply {
    Reply::json(
        status,
        &json!({"errors": [{"code": code, "message": message, "detail": null}]}),
    )
}

/// Answer `/v2/…` (`path` is the whole path).
pub(super) fn serve(f: &Forge, req: &Request, path: &str) -> Reply {
    if req.method != "GET" && req.method != "HEAD" {
        return error(405, "UNSUPPORTED", "the sandbox registry only lists tags");
    }
    let r = &f.registry;
    if path == "/v2/token" {
        return token(r, req);
    }
    let name = path.strip_prefix("/v2/").and_then(|p| {
        p.strip_suffix("/tags/list")
            .or_else(|| p.split_once("/manifests/").map(|(n, _)| n))
            .or_else(|| p.split_once("/blobs/").map(|(n, _)| n))
    });
    if r.auth && req.header("authorization") != Some(&format!("Bearer {TOKEN}")) {
        let scope = name
            .map(|n| format!(",scope=\"repository:{n}:pull\""))
            .unwrap_or_default();
        return error(401, "UNAUTHORIZED", "authentication required").with_header(
            "WWW-Authenticate",
            &format!(
                "Bearer realm=\"{}/v2/token\",service=\"{SERVICE}\"{scope}",
                f.base
            ),
        );
    }
    if path == "/v2/" || path == "/v2" {
        return Reply::json(200, &json!({}));
    }
    let Some(name) = name else {
        return error(404, "NOT_FOUND", "not found");
    };
    let Some(tags) = r.images.get(name) else {
        return error(404, "NAME_UNKNOWN", "repository name not known to registry");
    };
    let rest = &path["/v2/".len() + name.len()..];
    if let Some(reference) = rest.strip_prefix("/manifests/") {
        return manifest(r, name, tags, reference);
    }
    if let Some(digest) = rest.strip_prefix("/blobs/") {
        return blob(r, name, tags, digest);
    }
    let mut sorted = tags.clone();
    sorted.sort();
    let n = req
        .q("n")
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(r.page_size);
    let after: Vec<String> = match req.q("last") {
        Some(last) => sorted.into_iter().filter(|t| t.as_str() > last).collect(),
        None => sorted,
    };
    if n == 0 || after.len() <= n {
        return Reply::json(200, &json!({"name": name, "tags": after}));
    }
    let page = &after[..n];
    Reply::json(200, &json!({"name": name, "tags": page})).with_header(
        "Link",
        &format!(
            "</v2/{name}/tags/list?last={}&n={n}>; rel=\"next\"",
            page[n - 1]
        ),
    )
}

/// `GET /v2/token?service=…&scope=…`: a token, when the basic credentials
/// (if any are required) are right.
fn token(r: &Registry, req: &Request) -> Reply {
    if let Some(want) = &r.credentials {
        let given = req
            .header("authorization")
            .and_then(|h| h.strip_prefix("Basic "))
            .and_then(|b| super::http::base64_decode(b.trim()));
        if given.as_deref() != Some(want.as_str()) {
            return error(401, "UNAUTHORIZED", "bad credentials");
        }
    }
    if req.q("service") != Some(SERVICE) {
        return error(400, "DENIED", "unknown service");
    }
    Reply::json(200, &json!({"token": TOKEN, "expires_in": 300}))
}

/// A digest the sandbox names things by: `sha256:` and 64 hex digits.
fn digest(what: &str) -> String {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    what.hash(&mut h);
    format!("sha256:{:064x}", h.finish())
}

/// `GET /v2/<name>/manifests/<tag or digest>`: an index for the repositories
/// seeded as `indexes`, else an image manifest whose config is the tag's.
fn manifest(r: &Registry, name: &str, tags: &[String], reference: &str) -> Reply {
    let image = |tag: &str| {
        json!({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": digest(&format!("{name}:{tag}:config")), "size": 100},
            "layers": []})
    };
    if let Some(tag) = tags.iter().find(|t| *t == reference) {
        if r.indexes.iter().any(|i| i == name) {
            let entry = |arch: &str| {
                json!({"mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "digest": digest(&format!("{name}:{tag}:{arch}")), "size": 500,
                    "platform": {"os": "linux", "architecture": arch}})
            };
            return Reply::json(
                200,
                &json!({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                    "manifests": [entry("arm64"), entry("amd64")]}),
            );
        }
        return Reply::json(200, &image(tag));
    }
    match tags
        .iter()
        .find(|t| digest(&format!("{name}:{t}:amd64")) == reference)
    {
        Some(tag) => Reply::json(200, &image(tag)),
        None => error(404, "MANIFEST_UNKNOWN", "manifest unknown"),
    }
}

/// `GET /v2/<name>/blobs/<digest>`: a tag's image config, with its seeded
/// `created` or without one.
fn blob(r: &Registry, name: &str, tags: &[String], d: &str) -> Reply {
    let Some(tag) = tags
        .iter()
        .find(|t| digest(&format!("{name}:{t}:config")) == d)
    else {
        return error(404, "BLOB_UNKNOWN", "blob unknown");
    };
    let mut config = json!({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": []}});
    if let Some(Some(c)) = r.created.get(name).and_then(|m| m.get(tag)) {
        config["created"] = json!(c);
    }
    Reply::json(200, &config)
}
