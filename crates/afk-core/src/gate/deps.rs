//! The dependencies a run changes (docs/security.md#the-change-gate): the
//! lockfiles afk reads, at any depth of the repository, read at the run's
//! base and at its head, and what moved: a name added, changed (old → new)
//! or removed. Pure: the files' texts come in, the PR body's lines go out.
//! A lockfile afk cannot parse is named as not read (and the gate refuses
//! a turn that touches one).

use super::Unreadable;

mod toml_locks;
use std::collections::{BTreeMap, BTreeSet};

/// Where a dependency comes from, as OSV names ecosystems.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Ecosystem {
    CratesIo,
    Npm,
    PyPi,
    Go,
}

impl Ecosystem {
    pub fn as_str(self) -> &'static str {
        match self {
            Ecosystem::CratesIo => "crates.io",
            Ecosystem::Npm => "npm",
            Ecosystem::PyPi => "PyPI",
            Ecosystem::Go => "Go",
        }
    }
}

/// The lockfile kinds afk reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lockfile {
    Cargo,
    NpmLock,
    Requirements,
    Poetry,
    Uv,
    GoSum,
    /// a manifest that declares dependencies (`afk_core::gate::manifests`)
    Manifest(crate::gate::manifests::Manifest),
}

impl Lockfile {
    /// The kind of the file at `path` (by its name, at any depth).
    pub fn of(path: &str) -> Option<Lockfile> {
        let name = path.rsplit('/').next().unwrap_or(path);
        match name {
            "Cargo.lock" => Some(Lockfile::Cargo),
            "package-lock.json" | "npm-shrinkwrap.json" => Some(Lockfile::NpmLock),
            "poetry.lock" => Some(Lockfile::Poetry),
            "uv.lock" => Some(Lockfile::Uv),
            "go.sum" => Some(Lockfile::GoSum),
            n if n.starts_with("requirements") && n.ends_with(".txt") => {
                Some(Lockfile::Requirements)
            }
            _ => crate::gate::manifests::Manifest::of(path).map(Lockfile::Manifest),
        }
    }

    pub fn ecosystem(self) -> Ecosystem {
        match self {
            Lockfile::Cargo => Ecosystem::CratesIo,
            Lockfile::NpmLock => Ecosystem::Npm,
            Lockfile::Requirements | Lockfile::Poetry | Lockfile::Uv => Ecosystem::PyPi,
            Lockfile::GoSum => Ecosystem::Go,
            Lockfile::Manifest(m) => match m {
                crate::gate::manifests::Manifest::PackageJson => Ecosystem::Npm,
                crate::gate::manifests::Manifest::Pyproject => Ecosystem::PyPi,
                crate::gate::manifests::Manifest::CargoToml => Ecosystem::CratesIo,
                crate::gate::manifests::Manifest::GoMod => Ecosystem::Go,
            },
        }
    }

    /// A manifest's: its specifiers are ranges, checked only where exact.
    pub fn manifest(self) -> Option<crate::gate::manifests::Manifest> {
        match self {
            Lockfile::Manifest(m) => Some(m),
            _ => None,
        }
    }
}

/// Each dependency's versions, by name.
pub type Locked = BTreeMap<String, BTreeSet<String>>;

pub(crate) use crate::gate::manifests::pypi_name;

/// The `[[package]]` entries of a TOML lockfile (Cargo.lock, poetry.lock,
/// uv.lock) as their tool installs them: each under its name (PyPI's
/// normalised for poetry and uv) at `<version>` or `<version> from
/// <source>`; a field the format does not name as one more pseudo-version
/// ([`UNKNOWN`]).
fn toml_lock(
    kind: Lockfile,
    text: &str,
    add: &mut dyn FnMut(&str, &str),
) -> Result<(), Unreadable> {
    let entries = match kind {
        Lockfile::Cargo => toml_locks::cargo(text),
        Lockfile::Poetry => toml_locks::poetry(text),
        _ => toml_locks::uv(text),
    }?;
    for e in entries {
        let name = match kind {
            Lockfile::Cargo => e.name.clone(),
            _ => pypi_name(&e.name),
        };
        if e.version.is_empty() {
            continue;
        }
        match e.from {
            None => add(&name, &e.version),
            Some(from) => add(&name, &format!("{}{FROM}{from}", e.version)),
        }
        if let Some(field) = unknown_field(&e.unread, &[]) {
            add(&name, &field);
        }
    }
    Ok(())
}

/// The dependencies a lockfile of `kind` locks; Err: why it does not read.
pub fn parse(kind: Lockfile, text: &str) -> Result<Locked, Unreadable> {
    let mut out = Locked::new();
    let mut add = |name: &str, version: &str| {
        if !name.is_empty() && !version.is_empty() {
            out.entry(name.to_string())
                .or_default()
                .insert(version.to_string());
        }
    };
    match kind {
        Lockfile::Manifest(m) => return crate::gate::manifests::parse(m, text),
        Lockfile::Cargo | Lockfile::Poetry | Lockfile::Uv => toml_lock(kind, text, &mut add)?,
        Lockfile::GoSum => {
            for line in text.lines() {
                let mut f = line.split_whitespace();
                let (Some(module), Some(version)) = (f.next(), f.next()) else {
                    continue;
                };
                if version.ends_with("/go.mod") {
                    continue;
                }
                add(module, version);
            }
        }
        Lockfile::Requirements => {
            for (name, version) in requirements(text)? {
                add(&name, &version);
            }
        }
        Lockfile::NpmLock => {
            let v: serde_json::Value =
                serde_json::from_str(text).map_err(|e| format!("not JSON ({e})"))?;
            match v["lockfileVersion"].as_u64() {
                Some(2 | 3) => {
                    let Some(pkgs) = v["packages"].as_object() else {
                        return Err("lockfileVersion 2/3 with no packages".into());
                    };
                    for (path, p) in pkgs {
                        if p["link"] == true {
                            continue;
                        }
                        let Some(at) = path.rfind("node_modules/") else {
                            continue;
                        };
                        let key = &path[at + "node_modules/".len()..];
                        let version = p["version"].as_str().unwrap_or("");
                        for (name, v) in
                            npm_entry(key, p["name"].as_str(), version, p["resolved"].as_str())
                        {
                            add(&name, &v);
                        }
                        if let Some(field) = unknown_field(p, NPM_ENTRY_FIELDS) {
                            add(key, &field);
                        }
                    }
                }
                Some(1) => {
                    fn walk(deps: &serde_json::Value, add: &mut dyn FnMut(&str, &str)) {
                        let Some(m) = deps.as_object() else { return };
                        for (key, d) in m {
                            // v1 says an alias in its version: `npm:<name>@<version>`
                            let version = d["version"].as_str().unwrap_or("");
                            let (name, version) = match version.strip_prefix("npm:") {
                                Some(alias) => match alias.rsplit_once('@') {
                                    Some((n, v)) if !n.is_empty() => (Some(n), v),
                                    _ => (Some(alias), ""),
                                },
                                None => (None, version),
                            };
                            for (n, v) in npm_entry(key, name, version, d["resolved"].as_str()) {
                                add(&n, &v);
                            }
                            if let Some(field) = unknown_field(d, NPM_V1_FIELDS) {
                                add(key, &field);
                            }
                            walk(&d["dependencies"], add);
                        }
                    }
                    walk(&v["dependencies"], &mut add);
                }
                other => {
                    return Err(format!(
                        "an unknown lockfileVersion ({})",
                        other.map_or("none".into(), |n| n.to_string())
                    )
                    .into());
                }
            }
        }
    }
    // a name or version no registry gives is not a dependency afk can
    // name, list or check
    if out.iter().any(|(n, vs)| {
        n.chars().any(char::is_control) || vs.iter().any(|v| v.chars().any(char::is_control))
    }) {
        return Err("a name or version with a control character".into());
    }
    Ok(out)
}

/// The fields of a lockfileVersion 2 or 3 `packages` entry npm writes
/// (`@npmcli/arborist`'s `lib/shrinkwrap.js`: its `pkgMetaKeys` without the
/// leading `_`, its `nodeMetaKeys`, and what it sets of the node itself).
/// Of them afk reads `name`, `version`, `resolved` and `link`; the rest
/// shape which platforms install it, what it needs and what it says.
const NPM_ENTRY_FIELDS: &[&str] = &[
    "name",
    "version",
    "resolved",
    "integrity",
    "link",
    "dev",
    "optional",
    "devOptional",
    "peer",
    "extraneous",
    "inBundle",
    "hasShrinkwrap",
    "hasInstallScript",
    "dependencies",
    "devDependencies",
    "peerDependencies",
    "peerDependenciesMeta",
    "optionalDependencies",
    "bundleDependencies",
    "acceptDependencies",
    "funding",
    "engines",
    "os",
    "cpu",
    "libc",
    "license",
    "bin",
    "deprecated",
    "workspaces",
];

/// The fields of a lockfileVersion 1 `dependencies` entry (npm 6's
/// `lib/shrinkwrap.js`).
const NPM_V1_FIELDS: &[&str] = &[
    "version",
    "resolved",
    "integrity",
    "bundled",
    "dev",
    "optional",
    "requires",
    "dependencies",
];

/// How a lockfile entry's pseudo-version says it holds a field afk does not
/// read (` with the field <name> #<digest of its value>`, beside its
/// versions, so a version bump of an entry that always had it is no
/// change of it): changed or
/// added by a turn, the file is not read ([`unread_field`]); the digest
/// makes a changed value a change.
const UNKNOWN: &str = " with the field ";

/// The first field of `entry` not in `known`, as a pseudo-version
/// ([`UNKNOWN`]); its name shown only where it is a plain identifier.
fn unknown_field(entry: &serde_json::Value, known: &[&str]) -> Option<String> {
    let (field, value) = entry
        .as_object()?
        .iter()
        .find(|(k, _)| !known.contains(&k.as_str()))?;
    let name = if !field.is_empty()
        && field.len() <= 40
        && field
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        format!("`{field}`")
    } else {
        "named otherwise".to_string()
    };
    // FNV-1a over the field and its value: a changed value is a change
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in field.bytes().chain(value.to_string().bytes()) {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    Some(format!("{UNKNOWN}{name} #{:08x}", h as u32))
}

/// Why a lockfile whose moves are `moved` is not read: a turn that adds or
/// changes an entry's field afk does not read (npm's `package-lock.json`)
/// changes what the package manager does in a way afk cannot judge.
pub fn unread_field(moved: &[(String, Moved)]) -> Option<Unreadable> {
    moved.iter().find_map(|(name, m)| {
        let v = m.new_versions().into_iter().find(|v| v.contains(UNKNOWN))?;
        let field = v.split(UNKNOWN).nth(1)?.rsplit_once(" #")?.0;
        Some(Unreadable(format!(
            "the entry of {} has a field {field} afk does not read",
            crate::sanitize::one_line(name, 100)
        )))
    })
}

/// How a version says its dependency comes from somewhere other than its
/// registry: `<version> from <source>`, the source in afk's own words, never
/// the file's text (the PR lists it so, and with `dependency_sources =
/// "registry"` the gate refuses it).
pub const FROM: &str = " from ";

/// The npm registry every tarball of an unaliased registry dependency is
/// resolved from (npm's default; a mirror is a source other than it).
const NPM_REGISTRY: &str = "https://registry.npmjs.org/";

/// One `package-lock.json` entry as npm installs it (npm's
/// `@npmcli/arborist`: the folder `node_modules/<key>` gets the package
/// named by the entry's `name` when present, fetched from `resolved` and
/// checked against `integrity`): the dependency under its folder's name at
/// its version, `<version> from <source>` where the source is not the
/// registry's tarball of that name and version (an alias, another
/// version's tarball, any other URL); an alias adds the installed package
/// under its own name too, so an advisory that lists it is found.
fn npm_entry(
    key: &str,
    name: Option<&str>,
    version: &str,
    resolved: Option<&str>,
) -> Vec<(String, String)> {
    if version.is_empty() {
        return vec![];
    }
    let installed = name.filter(|n| !n.is_empty()).unwrap_or(key);
    let base = installed.rsplit('/').next().unwrap_or(installed);
    let tarball = format!("{NPM_REGISTRY}{installed}/-/{base}-{version}.tgz");
    // afk's own words for the source, never the file's text (a URL the
    // agent wrote is no line of a comment)
    let registry_folder = format!("{NPM_REGISTRY}{installed}/-/");
    let source = match resolved {
        _ if installed != key => Some("an alias of another package"),
        Some(r) if r == tarball => None,
        Some(r) if r.starts_with(&registry_folder) => Some("another version's tarball"),
        Some(_) => Some("a URL other than the registry's tarball"),
        None => None,
    };
    match source {
        None => vec![(key.to_string(), version.to_string())],
        Some(from) => {
            let mut out = vec![(key.to_string(), format!("{version}{FROM}{from}"))];
            if installed != key {
                out.push((installed.to_string(), version.to_string()));
            }
            out
        }
    }
}

/// The options a requirements file may hold that only shape how pip
/// installs (no other source, nothing run): read and passed over.
const PIP_PLAIN_OPTIONS: &[&str] = &[
    "--hash",
    "--require-hashes",
    "--pre",
    "--prefer-binary",
    "--no-binary",
    "--only-binary",
    "--no-index",
];

/// The options that take a dependency from elsewhere than PyPI (an index,
/// a folder of archives, another file's requirements, an editable source):
/// each a source other than the registry.
const PIP_SOURCE_OPTIONS: &[&str] = &[
    "-i",
    "--index-url",
    "--extra-index-url",
    "-f",
    "--find-links",
    "--trusted-host",
    "-r",
    "--requirement",
    "-c",
    "--constraint",
    "-e",
    "--editable",
];

/// A requirements file as pip's own parser reads it (`pip/_internal/req/
/// req_file.py`): a line ending in `\` joined with the next, a comment a
/// `#` at the start or after whitespace, each line an option or a
/// requirement. Pinned requirements (`name==version`, `===`) are its
/// dependencies; a source option (`--extra-index-url`, `-r`, `-e`, ...) and
/// a direct reference (`name @ URL`) are sources other than the registry
/// (`<option> from <value>`); an option afk does not know refuses the file.
fn requirements(text: &str) -> Result<Vec<(String, String)>, Unreadable> {
    let mut lines: Vec<String> = vec![];
    let mut cur = String::new();
    for raw in text.lines() {
        match raw.strip_suffix('\\') {
            Some(head) => cur.push_str(head),
            None => {
                cur.push_str(raw);
                lines.push(std::mem::take(&mut cur));
            }
        }
    }
    if !cur.is_empty() {
        lines.push(cur);
    }
    let mut out = vec![];
    for line in &lines {
        // pip: `#` starts a comment at the line's start or after whitespace
        let mut l = line.as_str();
        if let Some(at) = l.char_indices().find_map(|(i, c)| {
            (c == '#' && (i == 0 || l[..i].ends_with(char::is_whitespace))).then_some(i)
        }) {
            l = &l[..at];
        }
        let l = l.trim();
        if l.is_empty() {
            continue;
        }
        if l.starts_with('-') {
            // the option's name (its value is the file's text: never shown)
            let opt = l
                .split(|c: char| c == '=' || c.is_whitespace())
                .next()
                .unwrap_or(l);
            if let Some(known) = PIP_SOURCE_OPTIONS.iter().find(|o| **o == opt) {
                out.push((known.to_string(), format!("an option{FROM}its {known}")));
                continue;
            }
            if PIP_PLAIN_OPTIONS.contains(&opt) {
                continue;
            }
            return Err(format!("an option pip reads that afk does not: {opt}").into());
        }
        let l = l.split(';').next().unwrap_or("").trim();
        let l = l.split(" --").next().unwrap_or("").trim();
        // a direct reference: `name @ URL`
        if let Some((name, _url)) =
            (l.split_once(" @ ")).or_else(|| l.split_once('@').filter(|(_, u)| u.contains("://")))
        {
            let name = name.split('[').next().unwrap_or("").trim();
            out.push((
                pypi_name(name),
                format!("a direct reference{FROM}a URL (name @ URL)"),
            ));
            continue;
        }
        let (name, version) = match l.split_once("===").or_else(|| l.split_once("==")) {
            Some((n, v)) => (n, v.trim()),
            None => continue,
        };
        let name = name.split('[').next().unwrap_or("").trim();
        out.push((pypi_name(name), version.to_string()));
    }
    Ok(out)
}

/// What moved for one name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Moved {
    Added(Vec<String>),
    Changed(Vec<String>, Vec<String>),
    Removed(Vec<String>),
}

impl Moved {
    /// The versions (or specifiers) new with this move: every one of an
    /// added name, those a changed one did not have before, none of a
    /// removed one.
    pub fn new_versions(&self) -> Vec<&String> {
        match self {
            Moved::Added(new) => new.iter().collect(),
            Moved::Changed(old, new) => new.iter().filter(|v| !old.contains(v)).collect(),
            Moved::Removed(_) => vec![],
        }
    }
}

/// What moved between two reads of one lockfile, by name; a name whose set
/// of versions is the same moved nothing.
pub fn diff(before: &Locked, after: &Locked) -> Vec<(String, Moved)> {
    let names: BTreeSet<&String> = before.keys().chain(after.keys()).collect();
    let v = |s: &BTreeSet<String>| s.iter().cloned().collect::<Vec<_>>();
    names
        .into_iter()
        .filter_map(|n| match (before.get(n), after.get(n)) {
            (None, Some(a)) => Some((n.clone(), Moved::Added(v(a)))),
            (Some(b), None) => Some((n.clone(), Moved::Removed(v(b)))),
            (Some(b), Some(a)) if a != b => Some((n.clone(), Moved::Changed(v(b), v(a)))),
            _ => None,
        })
        .collect()
}

/// What names the advisories listing a dependency's version (ecosystem,
/// name, version → each advisory's label), or nothing without a folder.
pub type Listed<'a> = dyn Fn(Ecosystem, &str, &str) -> Vec<String> + 'a;

/// No advisories folder: nothing listed (the tests' reader).
#[cfg(test)]
pub(crate) fn none_listed(_: Ecosystem, _: &str, _: &str) -> Vec<String> {
    vec![]
}

/// The most lines the PR body's dependency list has.
pub(crate) const LINES_MAX: usize = 200;

/// One lockfile as read for the PR body.
pub struct Read<'a> {
    pub path: &'a str,
    pub kind: Lockfile,
    /// what moved, or why it did not read
    pub moved: Result<Vec<(String, Moved)>, Unreadable>,
}

/// The PR body's dependency list: one line per dependency, removed ones
/// last, a lockfile that did not read named; bounded. Empty: nothing moved.
pub fn body_lines(reads: &[Read], advisories: &Listed) -> Vec<String> {
    let code = |s: &str| format!("`{}`", crate::sanitize::one_line(s, 200).replace('`', "'"));
    // the advisories that list a new version (`osv::Index::hits`' labels)
    let listed = |eco: Ecosystem, name: &str, new: &[String], old: &[String]| -> String {
        let mut ids: Vec<String> = vec![];
        for v in new.iter().filter(|v| !old.contains(v)) {
            for l in advisories(eco, name, v) {
                if !ids.contains(&l) {
                    ids.push(l);
                }
            }
        }
        if ids.is_empty() {
            String::new()
        } else {
            ids.truncate(10);
            format!(": {}", ids.join(", "))
        }
    };
    let (mut lines, mut removed, mut unread) = (vec![], vec![], vec![]);
    for r in reads {
        let eco = r.kind.ecosystem().as_str();
        match &r.moved {
            Err(why) => unread.push(format!(
                "- {}: not read ({}), its dependencies were not checked",
                code(r.path),
                crate::sanitize::one_line(&why.0, 200)
            )),
            Ok(moved) => {
                for (name, m) in moved {
                    let at = match r.kind.manifest() {
                        Some(_) => format!("({eco}, {}, manifest)", code(r.path)),
                        None => format!("({eco}, {})", code(r.path)),
                    };
                    // versions are the agent's text too: a code span each
                    // side, so none is live markup in the PR body
                    let v = |vs: &[String]| code(&vs.join(", "));
                    match m {
                        Moved::Added(new) => lines.push(format!(
                            "- {} {} {at}{}",
                            code(name),
                            v(new),
                            listed(r.kind.ecosystem(), name, new, &[])
                        )),
                        Moved::Changed(old, new) => lines.push(format!(
                            "- {} {} → {} {at}{}",
                            code(name),
                            v(old),
                            v(new),
                            listed(r.kind.ecosystem(), name, new, old)
                        )),
                        Moved::Removed(old) => {
                            removed.push(format!("- {} {} removed {at}", code(name), v(old)))
                        }
                    }
                }
            }
        }
    }
    lines.extend(removed);
    lines.extend(unread);
    if lines.len() > LINES_MAX {
        let more = lines.len() - LINES_MAX;
        lines.truncate(LINES_MAX);
        lines.push(format!("- … and {more} more"));
    }
    lines
}

#[cfg(test)]
mod tests;
