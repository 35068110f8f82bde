//! An image's `created` through the OCI distribution API, for
//! `upgrade.min_release_age` (docs/configuration.md): the tag's manifest (an
//! index → its `linux/amd64` manifest), then its config blob. At most three
//! requests (plus a token), each answer read up to [`MAX_BYTES`]; what the
//! answers mean is `core::upgrade::release_age`. A blob may be redirected to storage
//! (Docker Hub's CDN): that one hop is followed over HTTPS (plain HTTP on
//! loopback only) without the registry's credentials.

use crate::body::read_at_most;
use crate::core::upgrade::release_age::{self, Manifest};
use crate::error::{protocol, transport_kind};
use crate::origin::{Origin, resolve};
use crate::{Accept, ImageRef, OciRegistry, RegistryError};
use afk_http::Failure;

const MANIFEST: Accept = Accept(
    "application/vnd.oci.image.index.v1+json, \
     application/vnd.docker.distribution.manifest.list.v2+json, \
     application/vnd.oci.image.manifest.v1+json, \
     application/vnd.docker.distribution.manifest.v2+json",
    false,
);
const BLOB: Accept = Accept("application/json, application/octet-stream", true);
/// A manifest or image config read at most (a config is a few KiB).
pub const MAX_BYTES: u64 = 4 << 20;

impl OciRegistry {
    pub(crate) fn created_of(
        &self,
        image: &ImageRef,
        tag: &str,
    ) -> Result<Option<String>, RegistryError> {
        let (origin, repository) = self.endpoint(image)?;
        if !crate::core::upgrade::compose::is_image_tag(tag) {
            return Err(protocol(&origin, format!("`{tag}` is not a tag")));
        }
        let mut auth = None;
        let mut read = |path: String, accept: Accept| -> Result<Vec<u8>, RegistryError> {
            let url = format!("{}{path}", origin.base);
            let mut resp = self.get_authorized(&origin, &url, &mut auth, accept)?;
            if (300..400).contains(&resp.status()) {
                resp = self.follow(&origin, &url, &path, resp)?;
            }
            let body = read_at_most(resp, MAX_BYTES + 1);
            if body.len() as u64 > MAX_BYTES {
                return Err(protocol(
                    &origin,
                    format!("GET {path}: answer larger than {MAX_BYTES} bytes"),
                ));
            }
            Ok(body)
        };
        let bad =
            |path: &str, e: &dyn std::fmt::Display| protocol(&origin, format!("GET {path}: {e}"));
        let path = format!("/v2/{repository}/manifests/{tag}");
        let mut m = release_age::read_manifest(&read(path.clone(), MANIFEST)?)
            .map_err(|e| bad(&path, &e))?;
        if let Manifest::Index(d) = m {
            let Some(d) = d else { return Ok(None) };
            let path = format!("/v2/{repository}/manifests/{d}");
            m = release_age::read_manifest(&read(path.clone(), MANIFEST)?)
                .map_err(|e| bad(&path, &e))?;
        }
        match m {
            Manifest::Image(Some(cfg)) => {
                let path = format!("/v2/{repository}/blobs/{cfg}");
                release_age::created(&read(path.clone(), BLOB)?).map_err(|e| bad(&path, &e))
            }
            Manifest::Image(None) => Ok(None),
            Manifest::Index(_) => Err(bad(&path, &"an index inside an index")),
        }
    }

    /// One redirect of a blob, followed without credentials, to HTTPS (or
    /// plain HTTP on loopback).
    fn follow(
        &self,
        origin: &Origin,
        url: &str,
        path: &str,
        resp: afk_http::client::Response,
    ) -> Result<afk_http::client::Response, RegistryError> {
        let to = resp
            .header("Location")
            .map(|l| resolve(url, l))
            .unwrap_or_default();
        let safe = Origin::parse(&to).is_some_and(|o| {
            o.base.starts_with("https://")
                || crate::core::upgrade::is_loopback(&o.host())
                    && origin.base.starts_with("http://")
        });
        if !safe {
            return Err(protocol(
                origin,
                format!("GET {path}: redirected to a place afk does not follow"),
            ));
        }
        let storage = |kind, words: String| {
            RegistryError::http(
                kind,
                &origin.host(),
                format!("GET {path}: the blob's storage{words}"),
            )
        };
        match self.agent.get(&to).call() {
            Ok(r) if r.status() < 300 => Ok(r),
            Ok(r) => Err(storage(
                Failure::answered(r.status()),
                format!(" answered {}", r.status()),
            )),
            Err(afk_http::client::Error::Status(s, _)) => {
                Err(storage(Failure::answered(s), format!(": status {s}")))
            }
            // the kind alone, never the URL (it may carry a signed query)
            Err(afk_http::client::Error::Transport(t)) => {
                Err(storage(transport_kind(&t), format!(": {}", t.kind())))
            }
        }
    }
}
