//! The TOML lockfiles (Cargo.lock, poetry.lock, uv.lock) read as TOML, each
//! package's source judged as its tool installs from it. A leaf: the
//! caller turns an [`Entry`] into versions (its `from` beside the version,
//! its unread fields as one more pseudo-version).

use serde_json::{Map, Value};

use crate::gate::Unreadable;

/// One `[[package]]` of a TOML lockfile.
pub(super) struct Entry {
    pub name: String,
    pub version: String,
    /// Where it comes from other than its registry, in afk's own words;
    /// None: the registry.
    pub from: Option<&'static str>,
    /// The fields its tool's lockfile format does not name, as JSON.
    pub unread: Value,
}

/// Where a package comes from, as its tool installs it.
enum Source {
    /// Built from the repository's own tree: not listed.
    Own,
    /// Its ecosystem's registry.
    Registry,
    /// Elsewhere, in afk's own words.
    From(&'static str),
}

/// crates.io's index, as Cargo.lock names it (git and sparse).
const CRATES_IO: &[&str] = &[
    "registry+https://github.com/rust-lang/crates.io-index",
    "sparse+https://index.crates.io/",
];

/// The fields cargo writes in a Cargo.lock `[[package]]` (cargo's
/// `core/resolver/encode.rs`, `EncodableDependency`).
const CARGO_FIELDS: &[&str] = &[
    "name",
    "version",
    "source",
    "checksum",
    "dependencies",
    "replace",
];

/// The fields poetry writes in a poetry.lock `[[package]]` (poetry's
/// `packages/locker.py`, `_dump_package`; `category` of lock-version 1).
const POETRY_FIELDS: &[&str] = &[
    "name",
    "version",
    "description",
    "optional",
    "python-versions",
    "groups",
    "markers",
    "files",
    "dependencies",
    "extras",
    "source",
    "develop",
    "category",
];

/// The fields uv writes in a uv.lock `[[package]]` (uv's
/// `uv-resolver/src/lock/mod.rs`, `PackageWire`).
const UV_FIELDS: &[&str] = &[
    "name",
    "version",
    "source",
    "sdist",
    "wheels",
    "resolution-markers",
    "dependencies",
    "optional-dependencies",
    "dev-dependencies",
    "dependency-groups",
    "metadata",
];

/// PyPI's simple index, as uv writes a registry source of it.
const PYPI_INDEX: &[&str] = &["https://pypi.org/simple", "https://pypi.org/simple/"];

/// Where PyPI serves every file of its packages.
const PYPI_FILES: &str = "https://files.pythonhosted.org/";

/// The `[[package]]` tables of a TOML lockfile, each read by `read`; Err:
/// why the file does not read.
fn packages(
    text: &str,
    known: &[&str],
    read: impl Fn(&toml::Table) -> Result<Source, Unreadable>,
) -> Result<Vec<Entry>, Unreadable> {
    let doc: toml::Table = text.parse().map_err(|e: toml::de::Error| {
        format!("not TOML ({})", e.message().lines().next().unwrap_or(""))
    })?;
    let Some(list) = doc.get("package") else {
        return Ok(vec![]);
    };
    let list = list.as_array().ok_or("`package` is not a list of tables")?;
    let mut out = vec![];
    for p in list {
        let p = p.as_table().ok_or("a package is not a table")?;
        let text = |k: &str| -> Result<String, Unreadable> {
            match p.get(k) {
                None => Ok(String::new()),
                Some(toml::Value::String(s)) => Ok(s.clone()),
                Some(_) => Err(format!("a package's {k} is not a string").into()),
            }
        };
        let (name, version) = (text("name")?, text("version")?);
        let unread: Map<String, Value> = p
            .iter()
            .filter(|(k, _)| !known.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), serde_json::to_value(v).unwrap_or(Value::Null)))
            .collect();
        let from = match read(p)? {
            Source::Own => continue,
            Source::Registry => None,
            Source::From(f) => Some(f),
        };
        out.push(Entry {
            name,
            version,
            from,
            unread: Value::Object(unread),
        });
    }
    Ok(out)
}

/// A path a lockfile names, read as leaving the repository: absolute, or
/// through `..` (afk does not resolve it against the lockfile's folder).
fn outside(path: &str) -> bool {
    path.starts_with('/') || path.contains(':') || path.split(['/', '\\']).any(|s| s == "..")
}

/// Cargo.lock as cargo reads it: a package with no `source` is the
/// workspace's own (a path dependency, which Cargo.toml names); crates.io's
/// index is the registry; a git URL, another registry or a `replace` is
/// another source.
pub(super) fn cargo(text: &str) -> Result<Vec<Entry>, Unreadable> {
    packages(text, CARGO_FIELDS, |p| {
        if p.contains_key("replace") {
            return Ok(Source::From("a [replace] entry"));
        }
        Ok(match p.get("source") {
            None => Source::Own,
            Some(toml::Value::String(s)) if CRATES_IO.contains(&s.as_str()) => Source::Registry,
            Some(toml::Value::String(s)) if s.starts_with("git+") => Source::From("a git URL"),
            Some(toml::Value::String(s))
                if s.starts_with("registry+") || s.starts_with("sparse+") =>
            {
                Source::From("another registry")
            }
            Some(_) => Source::From("a source afk does not know"),
        })
    })
}

/// poetry.lock as poetry installs from it: a package with no `source` comes
/// from PyPI (its `files` checked by hash); a `[package.source]` is a git
/// URL, a URL, an archive or folder outside the repository, or another
/// index (`legacy`); a folder inside the repository is its own tree.
pub(super) fn poetry(text: &str) -> Result<Vec<Entry>, Unreadable> {
    packages(text, POETRY_FIELDS, |p| {
        let Some(source) = p.get("source") else {
            return Ok(Source::Registry);
        };
        let source = source
            .as_table()
            .ok_or("a package's source is not a table")?;
        let url = source.get("url").and_then(|u| u.as_str()).unwrap_or("");
        Ok(Source::From(
            match source.get("type").and_then(|t| t.as_str()).unwrap_or("") {
                "git" => "a git URL",
                "url" => "a URL",
                "legacy" => "another index",
                "file" => "an archive file",
                "directory" if outside(url) => "a path outside the repository",
                "directory" => return Ok(Source::Own),
                _ => "a source afk does not know",
            },
        ))
    })
}

/// uv.lock as uv installs from it: a registry package comes from PyPI only
/// when its source is PyPI's index and every file it names (`sdist`,
/// `wheels`) is at PyPI's file host, since uv fetches the file its lock
/// names; git, a URL, an archive path or another index is another source;
/// a folder (`directory`, `editable`, `virtual`) inside the repository is
/// its own tree and not listed.
pub(super) fn uv(text: &str) -> Result<Vec<Entry>, Unreadable> {
    packages(text, UV_FIELDS, |p| {
        let source = p
            .get("source")
            .and_then(|s| s.as_table())
            .ok_or("a package's source is not a table")?;
        if let Some(index) = source.get("registry") {
            if !PYPI_INDEX.contains(&index.as_str().unwrap_or("")) {
                return Ok(Source::From("another index"));
            }
            return Ok(files_elsewhere(p).map_or(Source::Registry, Source::From));
        }
        for (key, from) in [
            ("git", "a git URL"),
            ("url", "a URL"),
            ("path", "an archive file"),
        ] {
            if source.contains_key(key) {
                return Ok(Source::From(from));
            }
        }
        for key in ["directory", "editable", "virtual"] {
            if let Some(path) = source.get(key).and_then(|v| v.as_str()) {
                return Ok(if outside(path) {
                    Source::From("a path outside the repository")
                } else {
                    Source::Own
                });
            }
        }
        Ok(Source::From("a source afk does not know"))
    })
}

/// Whether a uv registry package names a file anywhere but PyPI's file
/// host (a `url` elsewhere, or a `path` of a local registry).
fn files_elsewhere(p: &toml::Table) -> Option<&'static str> {
    let mut files: Vec<&toml::Table> = vec![];
    if let Some(s) = p.get("sdist").and_then(|s| s.as_table()) {
        files.push(s);
    }
    for w in p
        .get("wheels")
        .and_then(|w| w.as_array())
        .into_iter()
        .flatten()
    {
        if let Some(w) = w.as_table() {
            files.push(w);
        }
    }
    files.into_iter().find_map(|f| {
        if f.contains_key("path") {
            return Some("a file path of a local index");
        }
        match f.get("url").and_then(|u| u.as_str()) {
            Some(u) if u.starts_with(PYPI_FILES) => None,
            Some(_) => Some("a file URL other than PyPI's"),
            None => None,
        }
    })
}
