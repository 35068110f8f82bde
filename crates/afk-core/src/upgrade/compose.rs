// One file: compose's finding and editing of images and labels (~560 lines) and the table tests that pin them, kept beside them as everywhere in core.
//! Images and the Co-op Cloud version label in a recipe's compose files
//! (docs/how-it-works.md#afk-upgrade): where they are, and edits that change
//! only their text.
//!
//! YAML is parsed only to *locate* things: yaml-rust2's event parser gives each
//! scalar's source position, and edits are splices at that position, so
//! comments, quoting, key order and CRLF line endings stay byte-for-byte as
//! they were. A value the parser had to unescape or fold (an escape in a
//! quoted string, a multi-line or block scalar) cannot be spliced safely and
//! is refused with an error instead of being rewritten.

use crate::registry_auth::{DOCKER_HUB_API, is_docker_hub};
use crate::upgrade::tags::UpdateType;
use std::ops::Range;
use yaml_rust2::parser::{Event, Parser};
use yaml_rust2::scanner::TScalarStyle;

/// An image reference as written in a compose file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRef {
    /// The registry host (with port) when the reference names one.
    pub registry: Option<String>,
    /// The path as written, without the registry host: `nginx`, `bitnami/postgresql`.
    pub path: String,
    /// The repository name for the registry API and reports: `library/nginx`.
    pub repository: String,
    pub tag: Option<String>,
    /// `sha256:…` when the image is pinned by digest.
    pub digest: Option<String>,
}

impl ImageRef {
    /// The host whose `/v2/` API lists this image's tags.
    pub fn api_host(&self) -> &str {
        match self.registry.as_deref() {
            Some(r) if !is_docker_hub(&r.to_ascii_lowercase()) => r,
            _ => DOCKER_HUB_API,
        }
    }
}

/// Splits `[host[:port]/]path[:tag][@digest]`. The first path component is a
/// host when it holds a `.` or a `:`, is `localhost`, or has an upper-case
/// letter, as Docker decides. The one image-name rule: the registry adapter's
/// `ImageRef::parse` is this plus its own refusals.
pub fn parse_image(s: &str) -> ImageRef {
    let (name_tag, digest) = match s.split_once('@') {
        Some((n, d)) => (n, Some(d.to_string())),
        None => (s, None),
    };
    let last = name_tag.rfind('/').map_or(0, |i| i + 1);
    let (name, tag) = match name_tag[last..].rfind(':') {
        Some(i) => (&name_tag[..last + i], &name_tag[last + i + 1..]),
        None => (name_tag, ""),
    };
    let (registry, path) = match name.split_once('/') {
        Some((host, rest)) if is_host_component(host) => (Some(host.to_string()), rest),
        _ => (None, name),
    };
    let on_hub = registry
        .as_deref()
        .is_none_or(|r| is_docker_hub(&r.to_ascii_lowercase()));
    let repository = if on_hub && !path.contains('/') {
        format!("library/{path}")
    } else {
        path.to_string()
    };
    ImageRef {
        registry,
        path: path.to_string(),
        repository,
        tag: (!tag.is_empty()).then(|| tag.to_string()),
        digest,
    }
}

/// Docker's rule for the first component of a reference: a registry host
/// when it holds a `.` or a `:`, is `localhost`, or has an upper-case letter.
fn is_host_component(first: &str) -> bool {
    first.contains(['.', ':'])
        || first == "localhost"
        || first.chars().any(|c| c.is_ascii_uppercase())
}

/// A service's image that afk can upgrade.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceImage {
    pub service: String,
    /// The `image:` value as written (unquoted).
    pub written: String,
    pub image: ImageRef,
}

/// `compose.yml` and its `compose.<name>.yml` overrides (`.yaml` too): the
/// name matches `compose(\.[A-Za-z0-9_-]+)*\.ya?ml`. Nothing else (a newline,
/// a tab, a space, a quote) is ever a compose file: the names are written
/// into git's input and into afk's commit.
pub fn is_compose_file(file_name: &str) -> bool {
    let Some(stem) = file_name
        .strip_suffix(".yml")
        .or_else(|| file_name.strip_suffix(".yaml"))
    else {
        return false;
    };
    let Some(rest) = stem.strip_prefix("compose") else {
        return false;
    };
    rest.is_empty()
        || rest.strip_prefix('.').is_some_and(|parts| {
            parts.split('.').all(|p| {
                !p.is_empty()
                    && p.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
            })
        })
}

/// The OCI name grammar (distribution's reference): path components
/// `[a-z0-9]+(?:(?:[._]|__|[-]*)[a-z0-9]+)*` separated by `/`, at most 255
/// characters. An image path becomes part of an upgrade branch's name, which
/// reaches agents: nothing else (`x;id>PWNED;`) ever does.
pub(crate) fn is_image_path(path: &str) -> bool {
    let alnum = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    let component = |c: &str| {
        let b = c.as_bytes();
        let mut i = 0;
        loop {
            let run = b[i..].iter().take_while(|x| alnum(x)).count();
            if run == 0 {
                return false;
            }
            i += run;
            if i == b.len() {
                return true;
            }
            let sep = b[i..].iter().take_while(|x| !alnum(x)).count();
            let s = &c[i..i + sep];
            if !(s == "." || s == "_" || s == "__" || s.bytes().all(|x| x == b'-')) {
                return false;
            }
            i += sep;
        }
    };
    !path.is_empty() && path.len() <= 255 && path.split('/').all(component)
}

/// A registry host as a reference names it: DNS labels (letters, digits,
/// inner `-`) joined by `.`, or a bracketed IPv6 address, and an optional
/// `:port`.
pub fn is_registry_host(host: &str) -> bool {
    let label = |l: &str| {
        !l.is_empty()
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    };
    // `[v6]:port` or `name:port`; a port is 1-5 digits
    let (name, port) = match host.strip_prefix('[') {
        Some(rest) => match rest.split_once(']') {
            Some((v6, "")) => (Err(v6), None),
            Some((v6, after)) => match after.strip_prefix(':') {
                Some(p) => (Err(v6), Some(p)),
                None => return false,
            },
            None => return false,
        },
        None => match host.split_once(':') {
            Some((n, p)) => (Ok(n), Some(p)),
            None => (Ok(host), None),
        },
    };
    let name_ok = match name {
        Ok(n) => n.split('.').all(label),
        Err(v6) => !v6.is_empty() && v6.bytes().all(|b| b.is_ascii_hexdigit() || b == b':'),
    };
    let port_ok =
        port.is_none_or(|p| (1..=5).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit()));
    name_ok && port_ok
}

/// Whether afk may upgrade an image written this way: host, path and tag all
/// in the OCI reference grammar.
pub(crate) fn is_upgradable(image: &ImageRef) -> bool {
    is_image_path(&image.path)
        && image.tag.as_deref().is_some_and(is_image_tag)
        && image.registry.as_deref().is_none_or(is_registry_host)
}

/// Why a compose text cannot be read or edited in place; `Display` is the
/// words people read (after the file's name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ComposeError {
    /// the YAML parser's complaint (or a collection left open)
    Yaml(String),
    NoService(String),
    /// a tag outside the OCI grammar: never spliced into the text
    BadTag(String),
    /// an alias or a collection where a value should be
    NotPlain,
    BlockScalar,
    /// a value with escapes or folding: its text is not where it is read
    NotVerbatim(String),
    /// `service` has no `image:`
    NoImage(String),
    /// (service, image as written)
    PinnedByDigest(String, String),
    /// (service, image as written)
    NoTag(String, String),
    /// a version label that is not `X.Y.Z[+APP]`
    NotVersion(String),
    /// what of `service` (`image`, `version label`) and why
    In {
        service: String,
        what: &'static str,
        why: Box<ComposeError>,
    },
}

impl std::fmt::Display for ComposeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ComposeError::Yaml(e) => write!(f, "not valid YAML: {e}"),
            ComposeError::NoService(s) => write!(f, "no service `{s}` in this file"),
            ComposeError::BadTag(t) => write!(f, "`{t}` is not a valid image tag"),
            ComposeError::NotPlain => f.write_str("is not a plain value"),
            ComposeError::BlockScalar => f.write_str("is a block scalar"),
            ComposeError::NotVerbatim(v) => write!(f, "`{v}` is not written verbatim on one line"),
            ComposeError::NoImage(s) => write!(f, "service `{s}` has no image"),
            ComposeError::PinnedByDigest(s, v) => {
                write!(f, "service `{s}` image `{v}` is pinned by digest")
            }
            ComposeError::NoTag(s, v) => write!(f, "service `{s}` image `{v}` has no tag"),
            ComposeError::NotVersion(v) => write!(f, "`{v}` is not X.Y.Z+APP"),
            ComposeError::In { service, what, why } => {
                write!(f, "service `{service}` {what}: {why}")
            }
        }
    }
}

impl std::error::Error for ComposeError {}

impl ComposeError {
    fn of(service: &str, what: &'static str) -> impl FnOnce(ComposeError) -> ComposeError {
        move |why| ComposeError::In {
            service: service.to_string(),
            what,
            why: Box::new(why),
        }
    }
}

/// Every service's image with a tag, in file order. Images that cannot move by
/// tag are left out: pinned by digest, without a tag (implicitly `latest`),
/// built from a variable (`${APP_IMAGE}`), or outside the OCI reference
/// grammar (`x;id>PWNED;:1.0`, which would become an upgrade branch).
pub fn find_images(text: &str) -> Result<Vec<ServiceImage>, ComposeError> {
    let root = load(text)?;
    let mut found = Vec::new();
    for (name, svc) in services(&root) {
        let Some(Node::Scalar { value, .. }) = get(svc, "image") else {
            continue;
        };
        let image = parse_image(value);
        if image.tag.is_none()
            || image.digest.is_some()
            || value.contains('$')
            || !is_upgradable(&image)
        {
            continue;
        }
        found.push(ServiceImage {
            service: name.to_string(),
            written: value.clone(),
            image,
        });
    }
    Ok(found)
}

/// Replaces the tag of `service`'s `image:` with `new_tag`, changing nothing else.
pub(crate) fn set_image_tag(
    text: &str,
    service: &str,
    new_tag: &str,
) -> Result<String, ComposeError> {
    if !is_image_tag(new_tag) {
        return Err(ComposeError::BadTag(new_tag.to_string()));
    }
    let root = load(text)?;
    let svc = service_node(&root, service)?;
    let node = get(svc, "image").ok_or_else(|| ComposeError::NoImage(service.to_string()))?;
    let span = span(text, node).map_err(ComposeError::of(service, "image"))?;
    let value = &text[span.clone()];
    let image = parse_image(value);
    if image.digest.is_some() {
        return Err(ComposeError::PinnedByDigest(
            service.to_string(),
            value.to_string(),
        ));
    }
    let tag = image
        .tag
        .ok_or_else(|| ComposeError::NoTag(service.to_string(), value.to_string()))?;
    Ok(splice(text, span.end - tag.len()..span.end, new_tag))
}

/// Bumps the `coop-cloud.${STACK_NAME}.version=X.Y.Z+APP` label of `service`
/// (under `deploy.labels` or `labels`, list or map form): a major or minor
/// image update bumps the minor and resets the patch, a patch or revision
/// update bumps the patch; `APP` becomes `new_app_tag`. A service without the
/// label is returned unchanged; a label that is not `X.Y.Z[+APP]` is an error.
pub(crate) fn bump_version_label(
    text: &str,
    service: &str,
    update_type: UpdateType,
    new_app_tag: &str,
) -> Result<String, ComposeError> {
    if !is_image_tag(new_app_tag) {
        return Err(ComposeError::BadTag(new_app_tag.to_string()));
    }
    let root = load(text)?;
    let svc = service_node(&root, service)?;
    let mut edits = Vec::new();
    let label_lists = [
        get(svc, "deploy").and_then(|d| get(d, "labels")),
        get(svc, "labels"),
    ];
    for labels in label_lists.into_iter().flatten() {
        for range in version_label_spans(text, labels)? {
            let bumped = bump(&text[range.clone()], update_type, new_app_tag)
                .map_err(ComposeError::of(service, "version label"))?;
            edits.push((range, bumped));
        }
    }
    edits.sort_by_key(|(r, _)| std::cmp::Reverse(r.start));
    Ok(edits
        .into_iter()
        .fold(text.to_string(), |t, (r, new)| splice(&t, r, &new)))
}

/// Every service's `coop-cloud.${STACK_NAME}.version` label value, in file
/// order: `(service, "X.Y.Z+APP")`.
pub(crate) fn version_labels(text: &str) -> Result<Vec<(String, String)>, ComposeError> {
    let root = load(text)?;
    let mut out = vec![];
    for (name, svc) in services(&root) {
        let label_lists = [
            get(svc, "deploy").and_then(|d| get(d, "labels")),
            get(svc, "labels"),
        ];
        for labels in label_lists.into_iter().flatten() {
            for range in version_label_spans(text, labels)? {
                out.push((name.to_string(), text[range].to_string()));
            }
        }
    }
    Ok(out)
}

/// The version a label `X.Y.Z[+APP]` becomes for an update of `update_type`
/// with the app at `app` (what [`bump_version_label`] writes).
pub(crate) fn next_version(
    value: &str,
    update_type: UpdateType,
    app: &str,
) -> Result<String, ComposeError> {
    if !is_image_tag(app) {
        return Err(ComposeError::BadTag(app.to_string()));
    }
    bump(value, update_type, app)
}

/// `afk/upgrade-<path with / as ->-<tag>`, the branch of an upgrade PR.
pub(crate) fn upgrade_branch(path: &str, tag: &str) -> String {
    format!("afk/upgrade-{}-{tag}", path.replace('/', "-"))
}

/// The byte ranges of the `X.Y.Z+APP` values of version labels in a labels node.
fn version_label_spans(text: &str, labels: &Node) -> Result<Vec<Range<usize>>, ComposeError> {
    let mut spans = Vec::new();
    match labels {
        Node::Seq(items) => {
            for item in items {
                let Node::Scalar { value, .. } = item else {
                    continue;
                };
                let Some((key, _)) = value.split_once('=') else {
                    continue;
                };
                if is_version_label(key) {
                    let s = span(text, item)?;
                    spans.push(s.start + key.len() + 1..s.end);
                }
            }
        }
        Node::Map(entries) => {
            for (k, v) in entries {
                if matches!(k, Node::Scalar { value, .. } if is_version_label(value)) {
                    spans.push(span(text, v)?);
                }
            }
        }
        _ => {}
    }
    Ok(spans)
}

/// `coop-cloud.<stack>.version`, the stack being `${STACK_NAME}` in recipes.
fn is_version_label(key: &str) -> bool {
    key.strip_prefix("coop-cloud.")
        .and_then(|k| k.strip_suffix(".version"))
        .is_some_and(|stack| !stack.is_empty() && !stack.contains('.'))
}

fn bump(value: &str, update_type: UpdateType, app: &str) -> Result<String, ComposeError> {
    let version = value.split_once('+').map_or(value, |(v, _)| v);
    let n: Vec<u64> = version
        .split('.')
        .map(|p| {
            p.parse()
                .ok()
                .filter(|_| p.bytes().all(|b| b.is_ascii_digit()))
        })
        .collect::<Option<_>>()
        .filter(|n: &Vec<u64>| n.len() == 3)
        .ok_or_else(|| ComposeError::NotVersion(value.to_string()))?;
    let (x, y, z) = match update_type {
        UpdateType::Major | UpdateType::Minor => (n[0], n[1] + 1, 0),
        UpdateType::Patch | UpdateType::Revision => (n[0], n[1], n[2] + 1),
    };
    Ok(format!("{x}.{y}.{z}+{app}"))
}

/// The OCI distribution spec's tag grammar: `[A-Za-z0-9_][A-Za-z0-9._-]{0,127}`.
/// Checked before splicing so a registry's answer can never inject YAML, and
/// before a tag becomes part of a branch name.
pub fn is_image_tag(tag: &str) -> bool {
    let b = tag.as_bytes();
    (1..=128).contains(&b.len())
        && (b[0].is_ascii_alphanumeric() || b[0] == b'_')
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-'))
}

fn splice(text: &str, range: Range<usize>, with: &str) -> String {
    let mut out = String::with_capacity(text.len() + with.len());
    out.push_str(&text[..range.start]);
    out.push_str(with);
    out.push_str(&text[range.end..]);
    out
}

/// The first document, as much of it as locating needs.
#[derive(Debug)]
enum Node {
    Scalar {
        value: String,
        style: TScalarStyle,
        /// Where the scalar starts (at its opening quote if quoted), in chars.
        at: usize,
    },
    Map(Vec<(Node, Node)>),
    Seq(Vec<Node>),
    /// An alias: its value lives elsewhere and cannot be edited here.
    Alias,
}

fn load(text: &str) -> Result<Node, ComposeError> {
    enum Frame {
        Map(Vec<(Node, Node)>, Option<Node>),
        Seq(Vec<Node>),
    }
    fn add(stack: &mut [Frame], root: &mut Option<Node>, node: Node) {
        match stack.last_mut() {
            None => *root = Some(node),
            Some(Frame::Seq(items)) => items.push(node),
            Some(Frame::Map(entries, key)) => match key.take() {
                None => *key = Some(node),
                Some(k) => entries.push((k, node)),
            },
        }
    }
    let mut parser = Parser::new_from_str(text);
    let mut stack: Vec<Frame> = Vec::new();
    let mut root = None;
    loop {
        let (event, mark) = parser
            .next_token()
            .map_err(|e| ComposeError::Yaml(e.to_string()))?;
        match event {
            Event::Scalar(value, style, ..) => {
                let node = Node::Scalar {
                    value,
                    style,
                    at: mark.index(),
                };
                add(&mut stack, &mut root, node);
            }
            Event::Alias(_) => add(&mut stack, &mut root, Node::Alias),
            Event::SequenceStart(..) => stack.push(Frame::Seq(Vec::new())),
            Event::MappingStart(..) => stack.push(Frame::Map(Vec::new(), None)),
            Event::SequenceEnd | Event::MappingEnd => {
                let node = match stack.pop() {
                    Some(Frame::Seq(items)) => Node::Seq(items),
                    Some(Frame::Map(entries, _)) => Node::Map(entries),
                    None => return Err(ComposeError::Yaml("unbalanced collection".into())),
                };
                add(&mut stack, &mut root, node);
            }
            Event::DocumentEnd | Event::StreamEnd => break,
            Event::Nothing | Event::StreamStart | Event::DocumentStart => {}
        }
    }
    Ok(root.unwrap_or(Node::Alias))
}

fn get<'n>(node: &'n Node, key: &str) -> Option<&'n Node> {
    let Node::Map(entries) = node else {
        return None;
    };
    entries.iter().find_map(|(k, v)| match k {
        Node::Scalar { value, .. } if value == key => Some(v),
        _ => None,
    })
}

fn services(root: &Node) -> impl Iterator<Item = (&str, &Node)> {
    let entries = match get(root, "services") {
        Some(Node::Map(entries)) => entries.as_slice(),
        _ => &[],
    };
    entries.iter().filter_map(|(k, v)| match k {
        Node::Scalar { value, .. } => Some((value.as_str(), v)),
        _ => None,
    })
}

fn service_node<'n>(root: &'n Node, service: &str) -> Result<&'n Node, ComposeError> {
    services(root)
        .find(|(name, _)| *name == service)
        .map(|(_, node)| node)
        .ok_or_else(|| ComposeError::NoService(service.to_string()))
}

/// The byte range of a scalar's text in the source, provided the text is the
/// value verbatim (no escapes, no folding); quotes are outside the range.
fn span(text: &str, node: &Node) -> Result<Range<usize>, ComposeError> {
    let Node::Scalar { value, style, at } = node else {
        return Err(ComposeError::NotPlain);
    };
    // yaml-rust2 counts positions in chars, not bytes.
    let start = text.char_indices().nth(*at).map_or(text.len(), |(b, _)| b);
    let start = match style {
        TScalarStyle::Plain => start,
        TScalarStyle::SingleQuoted | TScalarStyle::DoubleQuoted => start + 1,
        _ => return Err(ComposeError::BlockScalar),
    };
    match text.get(start..) {
        Some(rest) if rest.starts_with(value.as_str()) => Ok(start..start + value.len()),
        _ => Err(ComposeError::NotVerbatim(value.clone())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RECIPE: &str = r#"---
# A Co-op Cloud recipe, é and all.
version: "3.8"

services:
  app:
    image: "nginx:1.25.3" # pinned by hand
    networks:
      - proxy
    deploy:
      restart_policy:
        condition: on-failure
      labels:
        - "traefik.enable=true"
        - "coop-cloud.${STACK_NAME}.version=1.2.3+1.25.3"
  db:
    image: 'bitnami/postgresql:15.4.0-debian-11-r10'
    deploy:
      labels:
        coop-cloud.${STACK_NAME}.version: 0.4.9+15.4.0-debian-11-r10
  cache:
    image: registry.example.org:5000/team/redis:7.2   # a private registry
  pinned:
    image: nginx:1.25.3@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
  worker:
    image: ${WORKER_IMAGE}
  untagged:
    image: busybox
  built:
    build: .

networks:
  proxy:
    external: true
"#;

    fn crlf(s: &str) -> String {
        s.replace('\n', "\r\n")
    }

    #[test]
    fn image_references_split_into_registry_path_repository_tag() {
        let cases = [
            (
                "nginx:1.25",
                None,
                "nginx",
                "library/nginx",
                Some("1.25"),
                "registry-1.docker.io",
            ),
            (
                "nginx",
                None,
                "nginx",
                "library/nginx",
                None,
                "registry-1.docker.io",
            ),
            (
                "docker.io/nginx:1",
                Some("docker.io"),
                "nginx",
                "library/nginx",
                Some("1"),
                "registry-1.docker.io",
            ),
            (
                "docker.io/library/nginx:1",
                Some("docker.io"),
                "library/nginx",
                "library/nginx",
                Some("1"),
                "registry-1.docker.io",
            ),
            (
                "bitnami/postgresql:15.4.0-debian-11-r10",
                None,
                "bitnami/postgresql",
                "bitnami/postgresql",
                Some("15.4.0-debian-11-r10"),
                "registry-1.docker.io",
            ),
            (
                "ghcr.io/owner/app:v2.1.0",
                Some("ghcr.io"),
                "owner/app",
                "owner/app",
                Some("v2.1.0"),
                "ghcr.io",
            ),
            (
                "host:5000/a/b:tag",
                Some("host:5000"),
                "a/b",
                "a/b",
                Some("tag"),
                "host:5000",
            ),
            (
                "host:5000/a/b",
                Some("host:5000"),
                "a/b",
                "a/b",
                None,
                "host:5000",
            ),
            (
                "localhost/app:1",
                Some("localhost"),
                "app",
                "app",
                Some("1"),
                "localhost",
            ),
            (
                "127.0.0.1:5000/app:1.0",
                Some("127.0.0.1:5000"),
                "app",
                "app",
                Some("1.0"),
                "127.0.0.1:5000",
            ),
        ];
        for (s, registry, path, repository, tag, host) in cases {
            let r = parse_image(s);
            assert_eq!(r.registry.as_deref(), registry, "registry of {s}");
            assert_eq!(r.path, path, "path of {s}");
            assert_eq!(r.repository, repository, "repository of {s}");
            assert_eq!(r.tag.as_deref(), tag, "tag of {s}");
            assert_eq!(r.api_host(), host, "api host of {s}");
            assert_eq!(r.digest, None, "digest of {s}");
        }
        let pinned = parse_image("nginx:1.25@sha256:abc");
        assert_eq!(
            (pinned.tag.as_deref(), pinned.digest.as_deref()),
            (Some("1.25"), Some("sha256:abc"))
        );
    }

    #[test]
    fn finds_every_tagged_image_and_skips_digests_variables_and_untagged() {
        for text in [RECIPE.to_string(), crlf(RECIPE)] {
            let found: Vec<(String, String, Option<String>)> = find_images(&text)
                .unwrap()
                .into_iter()
                .map(|i| (i.service, i.image.path, i.image.tag))
                .collect();
            let want = [
                ("app", "nginx", "1.25.3"),
                ("db", "bitnami/postgresql", "15.4.0-debian-11-r10"),
                ("cache", "team/redis", "7.2"),
            ]
            .map(|(s, p, t)| (s.to_string(), p.to_string(), Some(t.to_string())));
            assert_eq!(found, want, "crlf: {}", text.contains('\r'));
        }
    }

    #[test]
    fn files_without_services_have_no_images_and_bad_yaml_is_an_error() {
        assert_eq!(find_images("").unwrap(), vec![]);
        assert_eq!(find_images("volumes:\n  data:\n").unwrap(), vec![]);
        assert_eq!(
            find_images("services:\n  web:\n    image: x:1\n")
                .unwrap()
                .len(),
            1
        );
        assert!(find_images("services:\n  web: [\n").is_err());
    }

    #[test]
    fn set_image_tag_changes_only_the_tag_text() {
        let cases = [
            (
                "app",
                "1.26.0",
                "\"nginx:1.25.3\" # pinned",
                "\"nginx:1.26.0\" # pinned",
            ),
            (
                "db",
                "15.5.0-debian-11-r20",
                "'bitnami/postgresql:15.4.0-debian-11-r10'",
                "'bitnami/postgresql:15.5.0-debian-11-r20'",
            ),
            ("cache", "7.4", "team/redis:7.2   #", "team/redis:7.4   #"),
        ];
        for (service, tag, old, new) in cases {
            for text in [RECIPE.to_string(), crlf(RECIPE)] {
                let out = set_image_tag(&text, service, tag).unwrap();
                assert_eq!(
                    out,
                    text.replacen(old, new, 1),
                    "{service}, crlf: {}",
                    text.contains('\r')
                );
            }
        }
    }

    #[test]
    fn a_compose_error_says_where_and_why_in_one_line() {
        use ComposeError::*;
        let s = || "app".to_string();
        let cases = [
            (Yaml("x".into()), "not valid YAML: x"),
            (NoService(s()), "no service `app` in this file"),
            (BadTag("a b".into()), "`a b` is not a valid image tag"),
            (NotPlain, "is not a plain value"),
            (BlockScalar, "is a block scalar"),
            (
                NotVerbatim("v".into()),
                "`v` is not written verbatim on one line",
            ),
            (NoImage(s()), "service `app` has no image"),
            (
                PinnedByDigest(s(), "n@sha256:1".into()),
                "service `app` image `n@sha256:1` is pinned by digest",
            ),
            (NoTag(s(), "n".into()), "service `app` image `n` has no tag"),
            (NotVersion("1.2".into()), "`1.2` is not X.Y.Z+APP"),
            (
                ComposeError::of("app", "image")(BlockScalar),
                "service `app` image: is a block scalar",
            ),
        ];
        for (e, words) in cases {
            assert_eq!(e.to_string(), words, "{e:?}");
        }
    }

    #[test]
    fn set_image_tag_refuses_what_it_cannot_edit_in_place() {
        let cases = [
            (RECIPE, "pinned", "1.26.0", "pinned by digest"),
            (RECIPE, "untagged", "1.26.0", "has no tag"),
            (RECIPE, "built", "1.26.0", "has no image"),
            (RECIPE, "nope", "1.26.0", "no service `nope`"),
            (
                RECIPE,
                "app",
                "1.26.0\n    evil: 1",
                "not a valid image tag",
            ),
            (RECIPE, "app", "", "not a valid image tag"),
            (
                "services:\n  a:\n    image: \"x:\\x31\"\n",
                "a",
                "2",
                "not written verbatim",
            ),
            (
                "services:\n  a:\n    image: >\n      x:1\n",
                "a",
                "2",
                "block scalar",
            ),
        ];
        for (text, service, tag, why) in cases {
            let err = set_image_tag(text, service, tag).unwrap_err().to_string();
            assert!(err.contains(why), "{service} -> {tag:?}: {err}");
        }
    }

    #[test]
    fn flow_style_services_are_edited_too() {
        let text = "services: {web: {image: nginx:1.25, ports: ['80:80']}}\n";
        assert_eq!(
            set_image_tag(text, "web", "1.26").unwrap(),
            "services: {web: {image: nginx:1.26, ports: ['80:80']}}\n"
        );
    }

    #[test]
    fn version_label_minor_for_minor_or_major_patch_for_patch_or_revision() {
        let cases = [
            (UpdateType::Minor, "1.26.0", "1.3.0+1.26.0"),
            (UpdateType::Major, "2.0.0", "1.3.0+2.0.0"),
            (UpdateType::Patch, "1.25.4", "1.2.4+1.25.4"),
            (UpdateType::Revision, "1.25.3", "1.2.4+1.25.3"),
        ];
        for (update, tag, label) in cases {
            for text in [RECIPE.to_string(), crlf(RECIPE)] {
                let out = bump_version_label(&text, "app", update, tag).unwrap();
                let want = text.replace("version=1.2.3+1.25.3", &format!("version={label}"));
                assert_eq!(out, want, "{update} to {tag}");
            }
        }
    }

    #[test]
    fn version_label_in_map_form_and_plain_list_items() {
        let out =
            bump_version_label(RECIPE, "db", UpdateType::Minor, "15.5.0-debian-11-r20").unwrap();
        assert_eq!(
            out,
            RECIPE.replace(
                "version: 0.4.9+15.4.0-debian-11-r10",
                "version: 0.5.0+15.5.0-debian-11-r20"
            )
        );
        let plain = "services:\n  app:\n    labels:\n      - coop-cloud.${STACK_NAME}.version=0.1.0+1 # why\n";
        assert_eq!(
            bump_version_label(plain, "app", UpdateType::Patch, "2").unwrap(),
            plain.replace("=0.1.0+1 ", "=0.1.1+2 ")
        );
    }

    #[test]
    fn version_label_absent_leaves_the_file_alone_and_malformed_is_an_error() {
        assert_eq!(
            bump_version_label(RECIPE, "cache", UpdateType::Minor, "7.4").unwrap(),
            RECIPE
        );
        let other = "services:\n  a:\n    deploy:\n      labels:\n        - coop-cloud.${STACK_NAME}.timeout=30\n        - coop-cloud.x.y.version=1\n";
        assert_eq!(
            bump_version_label(other, "a", UpdateType::Minor, "2").unwrap(),
            other
        );
        let bad = "services:\n  a:\n    deploy:\n      labels:\n        - coop-cloud.${STACK_NAME}.version=1.2+3\n";
        assert!(
            bump_version_label(bad, "a", UpdateType::Minor, "4")
                .unwrap_err()
                .to_string()
                .contains("not X.Y.Z+APP")
        );
        let bare = "services:\n  a:\n    deploy:\n      labels: [\"coop-cloud.${STACK_NAME}.version=1.2.3\"]\n";
        assert_eq!(
            bump_version_label(bare, "a", UpdateType::Patch, "4").unwrap(),
            bare.replace("1.2.3", "1.2.4+4")
        );
    }

    #[test]
    fn compose_files_are_compose_yml_and_its_overrides() {
        let cases = [
            ("compose.yml", true),
            ("compose.yaml", true),
            ("compose.smtp.yml", true),
            ("compose.mariadb.yaml", true),
            ("compose..yml", false),
            ("docker-compose.yml", false),
            ("compose.yml.bak", false),
            ("abra.sh", false),
            ("compose.a_b-c.d.yml", true),
            ("composer.yml", false),
            ("compose.yml.yml", true),
            (
                "compose.a\n100755 0123abcd\tabra.sh\n100644 0123abcd\tcompose.b.yml",
                false,
            ),
            ("compose.a\tb.yml", false),
            ("compose.a b.yml", false),
            ("compose.\"a\".yml", false),
            ("compose.ä.yml", false),
            ("compose/x.yml", false),
            (".compose.yml", false),
        ];
        for (name, expected) in cases {
            assert_eq!(is_compose_file(name), expected, "{name}");
        }
    }

    #[test]
    fn image_paths_follow_the_oci_name_grammar() {
        let cases = [
            ("nginx", true),
            ("bitnami/postgresql", true),
            ("team/sub/redis", true),
            ("a.b_c__d---e/f-g", true),
            ("0x/1", true),
            ("x;id>PWNED;", false),
            ("x$(id)", false),
            ("a b", false),
            ("Nginx", false),
            ("", false),
            ("a//b", false),
            ("/a", false),
            ("a/", false),
            ("-a", false),
            ("a-", false),
            ("a..b", false),
            ("a___b", false),
            ("a.-b", false),
            ("a\nb", false),
        ];
        for (path, want) in cases {
            assert_eq!(is_image_path(path), want, "case {path:?}");
        }
        assert!(is_image_path(&"a".repeat(255)));
        assert!(!is_image_path(&"a".repeat(256)));
    }

    #[test]
    fn tags_follow_the_oci_tag_grammar() {
        let cases = [
            ("1.26.0", true),
            ("15.5.0-debian-11-r20", true),
            ("_x", true),
            ("v1.0_RC.1", true),
            (".1", false),
            ("-1", false),
            ("1.0;id", false),
            ("1.0 ", false),
            ("", false),
        ];
        for (tag, want) in cases {
            assert_eq!(is_image_tag(tag), want, "case {tag:?}");
        }
        assert!(is_image_tag(&"a".repeat(128)));
        assert!(!is_image_tag(&"a".repeat(129)));
    }

    #[test]
    fn registry_hosts_are_dns_names_or_ipv6_with_an_optional_port() {
        let cases = [
            ("ghcr.io", true),
            ("registry.example.org:5000", true),
            ("localhost", true),
            ("127.0.0.1:5000", true),
            ("[::1]:5000", true),
            ("[::1]", true),
            ("a;b.io", false),
            ("-a.io", false),
            ("a..io", false),
            ("a.io:", false),
            ("a.io:x", false),
            ("a.io::5000", false),
            ("[::1]5000", false),
            ("[::1", false),
        ];
        for (host, want) in cases {
            assert_eq!(is_registry_host(host), want, "case {host:?}");
        }
    }

    #[test]
    fn only_references_in_the_oci_grammar_are_upgraded() {
        let text = "services:\n  a:\n    image: \"x;id>PWNED;:1.0\"\n  b:\n    image: \"a;b.io/x:1.0\"\n  c:\n    image: Nginx:1.0\n  d:\n    image: nginx:1.25.3\n";
        let found: Vec<String> = find_images(text)
            .unwrap()
            .into_iter()
            .map(|i| i.service)
            .collect();
        assert_eq!(found, ["d"]);
    }

    #[test]
    fn branch_is_the_path_with_dashes_and_the_tag() {
        let cases = [
            (
                "bitnami/postgresql",
                "15.5.0-debian-11-r20",
                "afk/upgrade-bitnami-postgresql-15.5.0-debian-11-r20",
            ),
            ("nginx", "1.26.0", "afk/upgrade-nginx-1.26.0"),
            ("team/sub/redis", "7.4", "afk/upgrade-team-sub-redis-7.4"),
        ];
        for (path, tag, expected) in cases {
            assert_eq!(upgrade_branch(path, tag), expected, "{path}:{tag}");
        }
    }
}
