//! The container-registry adapter of `afk upgrade`
//! (docs/how-it-works.md#afk-upgrade): list an image's tags over the OCI
//! distribution API.
//!
//! Owns: naming (`nginx` is `library/nginx` at `registry-1.docker.io`), where to
//! ask (`upgrade.registry_mirrors`; plain HTTP only to a loopback host, as Docker
//! does), paging through `Link: <…>; rel="next"`, the bearer-token flow on `401`
//! (the secret only where `core::registry_auth` lets it go), reading answers
//! within bounds (`max_tags`, 100 pages, 8 MiB a page, streamed), a `-v` line
//! per request, and errors that name host, path and status but never a secret.
//! Choosing a tag is not done here (that is a pure decision for `core`).

//!
//! Its own crate (`afk-registry`): it names the core, the host's log and the
//! one HTTP client (afk-http), never a forge, the store, the config or a
//! command; the binary re-exports it as `afk::registry`.

// the paths these files name, as in the binary they came from
use afk_core as core;
use afk_host::log;
use afk_http::{client, link};

use crate::core::registry_auth::is_docker_hub;

mod body;
mod created;
mod error;
mod oci;
mod once;
mod origin;
mod tags;

pub use error::{RegistryError, RegistryErrorKind};
pub use oci::OciRegistry;
pub use once::Once;

/// Docker Hub's registry host: what `nginx` or `docker.io/x/y` is fetched from.
pub const DOCKER_HUB_REGISTRY: &str = crate::core::registry_auth::DOCKER_HUB_API;
/// The name `upgrade.registry_mirrors` uses for Docker Hub.
pub const DOCKER_HUB: &str = "docker.io";
/// Pages of tags followed before giving up with an error (never truncating silently).
pub const MAX_PAGES: usize = 100;
/// The largest page of tags read; a larger one is an error
/// (docs/configuration.md#bounds-on-a-registrys-answers).
pub const MAX_PAGE_BYTES: u64 = 8 << 20;
/// Tags read per image when `upgrade.max_tags` says nothing.
pub const DEFAULT_MAX_TAGS: usize = 10_000;

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
    /// rule (`core::upgrade::compose::parse_image`, Docker's). None for a reference
    /// pinned by digest (`@sha256:…`: no tag to move) and for anything that is
    /// not an image name.
    pub fn parse(s: &str) -> Option<ImageRef> {
        let s = s.trim();
        if s.is_empty() || s.contains('@') || s.chars().any(char::is_whitespace) {
            return None;
        }
        let written = crate::core::upgrade::compose::parse_image(s);
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

/// Lists an image's tags. `Sync` so one registry serves every lookup thread.
pub trait Registry: Sync {
    /// Every tag of `image`'s repository (its `tag` is not used), in the
    /// registry's order, all pages.
    fn tags(&self, image: &ImageRef) -> Result<Vec<String>, RegistryError>;
    /// The `created` of `tag`'s image config (`linux/amd64` of an index);
    /// `None` when the config has none (`min_release_age`).
    fn created(&self, _image: &ImageRef, _tag: &str) -> Result<Option<String>, RegistryError> {
        Ok(None)
    }
}

/// What a GET accepts, and whether its answer may be a redirect (a blob's,
/// which the caller follows without credentials: `created.rs`).
#[derive(Clone, Copy)]
pub(crate) struct Accept(&'static str, bool);
pub(crate) const JSON: Accept = Accept("application/json", false);

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
    let answers = afk_http::fan_out(&repos, concurrency, |i| reg.tags(i));
    distinct
        .into_iter()
        .map(|i| {
            let at = repos.iter().position(|r| same_repository(r, &i));
            let answer = answers[at.expect("every image has its repository")].clone();
            (i, answer)
        })
        .collect()
}

pub(crate) fn same_repository(a: &ImageRef, b: &ImageRef) -> bool {
    a.registry_host == b.registry_host && a.repository == b.repository
}

#[cfg(test)]
mod tests {
    use super::*;
    use afk_http::Failure;
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
            let written = crate::core::upgrade::compose::parse_image(input);
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
                return Err(RegistryError::http(Failure::NotFound, "h", "no".into()));
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
            RegistryErrorKind::Http(Failure::NotFound)
        );
    }
}
