//! The manifests that move dependencies beside the lockfiles
//! (docs/security.md#the-change-gate): `package.json`, `pyproject.toml`,
//! `Cargo.toml`, `go.mod`, read at any depth. Each dependency a manifest
//! declares is a name and its specifier as written; a specifier that
//! names exactly one version is checked against the advisories as a
//! lockfile's version is, and one whose source is not the ecosystem's
//! registry (a git URL, an archive, a path outside the repository, a
//! `replace` or `[patch]`, an npm alias, a PEP 508 direct reference)
//! refuses the turn unless `dependency_sources = "any"`. Pure: the file's
//! text comes in, what it declares goes out.

use super::Unreadable;
use std::collections::{BTreeMap, BTreeSet};

/// Each dependency's specifiers, by name (`deps::Locked`'s shape).
pub type Locked = BTreeMap<String, BTreeSet<String>>;

/// A PyPI name as PEP 503 compares it: lower case, every run of `-`, `_`
/// and `.` one `-`.
pub(crate) fn pypi_name(name: &str) -> String {
    let mut out = String::new();
    let mut sep = false;
    for c in name.trim().chars() {
        if matches!(c, '-' | '_' | '.') {
            sep = true;
            continue;
        }
        if sep && !out.is_empty() {
            out.push('-');
        }
        sep = false;
        out.extend(c.to_lowercase());
    }
    out
}

/// The manifest kinds afk reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Manifest {
    PackageJson,
    Pyproject,
    CargoToml,
    GoMod,
}

impl Manifest {
    /// The kind of the file at `path` (by its name, at any depth).
    pub fn of(path: &str) -> Option<Manifest> {
        match path.rsplit('/').next().unwrap_or(path) {
            "package.json" => Some(Manifest::PackageJson),
            "pyproject.toml" => Some(Manifest::Pyproject),
            "Cargo.toml" => Some(Manifest::CargoToml),
            // go.work's `replace` is go.mod's (its `use` blocks name the
            // workspace's own modules): read the same way
            "go.mod" | "go.work" => Some(Manifest::GoMod),
            _ => None,
        }
    }
}

/// The prefix of a specifier afk writes for an entry that replaces or
/// patches where a dependency comes from (Cargo's `[patch]`/`[replace]`,
/// go.mod's `replace`): never the registry's.
const REPLACED: &str = "replaced by ";

/// The most entries of `overrides` afk walks into (npm's are nested).
const NESTING_MAX: usize = 32;

/// The dependencies a manifest of `kind` declares, name → specifiers as
/// written; Err: why it does not read.
pub fn parse(kind: Manifest, text: &str) -> Result<Locked, Unreadable> {
    let mut out = Locked::new();
    let mut add = |name: &str, spec: &str| {
        let name = name.trim();
        if !name.is_empty() {
            out.entry(name.to_string())
                .or_default()
                .insert(spec.trim().to_string());
        }
    };
    match kind {
        Manifest::PackageJson => package_json(text, &mut add)?,
        Manifest::Pyproject => pyproject(text, &mut add)?,
        Manifest::CargoToml => cargo_toml(text, &mut add)?,
        Manifest::GoMod => go_mod(text, &mut add)?,
    }
    if out.iter().any(|(n, specs)| {
        n.chars().any(char::is_control) || specs.iter().any(|s| s.chars().any(char::is_control))
    }) {
        return Err("a name or specifier with a control character".into());
    }
    Ok(out)
}

fn package_json(text: &str, add: &mut dyn FnMut(&str, &str)) -> Result<(), Unreadable> {
    let v: serde_json::Value = serde_json::from_str(text).map_err(|e| format!("not JSON ({e})"))?;
    let Some(top) = v.as_object() else {
        return Err("not a JSON object".into());
    };
    for section in [
        "dependencies",
        "devDependencies",
        "optionalDependencies",
        "peerDependencies",
    ] {
        match top.get(section) {
            None | Some(serde_json::Value::Null) => {}
            Some(serde_json::Value::Object(m)) => {
                for (name, spec) in m {
                    let spec = spec
                        .as_str()
                        .ok_or_else(|| format!("{section}.{name} is not a string"))?;
                    add(name, spec);
                }
            }
            Some(_) => return Err(format!("{section} is not an object").into()),
        }
    }
    // overrides nest: `{"a": {"b": "1.0.0", ".": "2.0.0"}}`, and a key may
    // carry a range (`"a@^1"`)
    fn overrides(
        m: &serde_json::Map<String, serde_json::Value>,
        parent: Option<&str>,
        depth: usize,
        add: &mut dyn FnMut(&str, &str),
    ) -> Result<(), Unreadable> {
        if depth > NESTING_MAX {
            return Err(format!("overrides nested deeper than {NESTING_MAX}").into());
        }
        for (key, v) in m {
            let name = match key.as_str() {
                "." => parent.unwrap_or("").to_string(),
                k => npm_key_name(k),
            };
            match v {
                serde_json::Value::String(spec) => add(&name, spec),
                serde_json::Value::Object(inner) => overrides(inner, Some(&name), depth + 1, add)?,
                _ => {
                    return Err(format!("overrides.{key} is neither a string nor an object").into());
                }
            }
        }
        Ok(())
    }
    match top.get("overrides") {
        None | Some(serde_json::Value::Null) => {}
        Some(serde_json::Value::Object(m)) => overrides(m, None, 0, add)?,
        Some(_) => return Err("overrides is not an object".into()),
    }
    // yarn's resolutions: the key is a path of names (`a/**/b`), the last
    // one the dependency's
    match top.get("resolutions") {
        None | Some(serde_json::Value::Null) => {}
        Some(serde_json::Value::Object(m)) => {
            for (key, spec) in m {
                let spec = spec
                    .as_str()
                    .ok_or_else(|| format!("resolutions.{key} is not a string"))?;
                let last = resolution_name(key);
                add(&last, spec);
            }
        }
        Some(_) => return Err("resolutions is not an object".into()),
    }
    Ok(())
}

/// `"name@range"` or `"@scope/name@range"` as the name it overrides.
fn npm_key_name(key: &str) -> String {
    let (scoped, rest) = match key.strip_prefix('@') {
        Some(r) => (true, r),
        None => (false, key),
    };
    let name = rest.split('@').next().unwrap_or(rest);
    if scoped {
        format!("@{name}")
    } else {
        name.to_string()
    }
}

/// The dependency a yarn resolution's key names: its last package.
fn resolution_name(key: &str) -> String {
    let parts: Vec<&str> = key.split('/').filter(|p| *p != "**").collect();
    match parts.as_slice() {
        [.., scope, name] if scope.starts_with('@') => npm_key_name(&format!("{scope}/{name}")),
        [.., name] => npm_key_name(name),
        [] => String::new(),
    }
}

fn toml_table(text: &str) -> Result<toml::Table, Unreadable> {
    text.parse::<toml::Table>().map_err(|e| {
        Unreadable(format!(
            "not TOML ({})",
            crate::sanitize::one_line(&e.to_string(), 120)
        ))
    })
}

fn pyproject(text: &str, add: &mut dyn FnMut(&str, &str)) -> Result<(), Unreadable> {
    let t = toml_table(text)?;
    let pep508 = |list: &toml::Value, at: &str, add: &mut dyn FnMut(&str, &str)| {
        let Some(items) = list.as_array() else {
            return Err(format!("{at} is not a list").into());
        };
        for item in items {
            match item {
                toml::Value::String(s) => {
                    let (name, spec) = pep508_split(s);
                    add(&pypi_name(&name), &spec);
                }
                // `{include-group = "..."}` in a dependency group
                toml::Value::Table(_) => {}
                _ => return Err(format!("{at} holds a value that is not a string").into()),
            }
        }
        Ok::<(), Unreadable>(())
    };
    if let Some(project) = t.get("project") {
        if let Some(deps) = project.get("dependencies") {
            pep508(deps, "project.dependencies", add)?;
        }
        if let Some(opt) = project.get("optional-dependencies") {
            let Some(opt) = opt.as_table() else {
                return Err("project.optional-dependencies is not a table".into());
            };
            for (extra, list) in opt {
                pep508(list, &format!("project.optional-dependencies.{extra}"), add)?;
            }
        }
    }
    if let Some(groups) = t.get("dependency-groups") {
        let Some(groups) = groups.as_table() else {
            return Err("dependency-groups is not a table".into());
        };
        for (g, list) in groups {
            pep508(list, &format!("dependency-groups.{g}"), add)?;
        }
    }
    // uv's `[tool.uv.sources]`: where uv takes a dependency from instead of
    // the index (a git URL, a URL, a path, another index, the workspace)
    if let Some(sources) = t
        .get("tool")
        .and_then(|t| t.get("uv"))
        .and_then(|u| u.get("sources"))
    {
        let Some(sources) = sources.as_table() else {
            return Err("tool.uv.sources is not a table".into());
        };
        for (name, v) in sources {
            let tables: Vec<&toml::Table> = match v {
                toml::Value::Table(t) => vec![t],
                toml::Value::Array(items) => {
                    items.iter().filter_map(toml::Value::as_table).collect()
                }
                _ => {
                    return Err(
                        format!("tool.uv.sources.{name} is neither a table nor a list").into(),
                    );
                }
            };
            for t in tables {
                add(&pypi_name(name), &table_spec(t));
            }
        }
    }
    if let Some(poetry) = t.get("tool").and_then(|t| t.get("poetry")) {
        let mut tables: Vec<(String, &toml::Value)> = vec![];
        if let Some(d) = poetry.get("dependencies") {
            tables.push(("tool.poetry.dependencies".into(), d));
        }
        if let Some(d) = poetry.get("dev-dependencies") {
            tables.push(("tool.poetry.dev-dependencies".into(), d));
        }
        if let Some(groups) = poetry.get("group").and_then(toml::Value::as_table) {
            for (g, v) in groups {
                if let Some(d) = v.get("dependencies") {
                    tables.push((format!("tool.poetry.group.{g}.dependencies"), d));
                }
            }
        }
        for (at, d) in tables {
            let Some(d) = d.as_table() else {
                return Err(format!("{at} is not a table").into());
            };
            for (name, spec) in d {
                if name == "python" {
                    continue;
                }
                add(&pypi_name(name), &poetry_spec(spec));
            }
        }
    }
    Ok(())
}

/// A PEP 508 requirement as its name and the rest (extras dropped, the
/// marker dropped): `"requests[socks] >=2 ; python_version>'3'"` →
/// (`requests`, `>=2`); a direct reference keeps its `@ URL`.
fn pep508_split(req: &str) -> (String, String) {
    let req = req.trim();
    let end = req
        .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
        .unwrap_or(req.len());
    let (name, mut rest) = req.split_at(end);
    rest = rest.trim_start();
    if let Some(r) = rest.strip_prefix('[') {
        rest = r
            .split_once(']')
            .map_or("", |(_, after)| after)
            .trim_start();
    }
    let spec = match rest.trim_start().starts_with('@') {
        // a URL may hold `;` only after a space, as PEP 508 says
        true => rest.split(" ;").next().unwrap_or(rest),
        false => rest.split(';').next().unwrap_or(rest),
    };
    (name.to_string(), spec.trim().to_string())
}

/// A Poetry dependency's value as one specifier: a string as written, a
/// table as its keys (`git = …`, `path = …`, `url = …`, `version = …`).
fn poetry_spec(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => s.clone(),
        toml::Value::Table(t) => table_spec(t),
        toml::Value::Array(items) => items
            .iter()
            .map(poetry_spec)
            .collect::<Vec<_>>()
            .join(" | "),
        other => other.to_string(),
    }
}

/// A table specifier in a stable order: `key=value, …` (toml's tables are
/// sorted by key).
fn table_spec(t: &toml::Table) -> String {
    t.iter()
        .map(|(k, v)| match v {
            toml::Value::String(s) => format!("{k}={s}"),
            other => format!("{k}={other}"),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn cargo_toml(text: &str, add: &mut dyn FnMut(&str, &str)) -> Result<(), Unreadable> {
    let t = toml_table(text)?;
    let sections = ["dependencies", "dev-dependencies", "build-dependencies"];
    let mut tables: Vec<&toml::Value> = vec![];
    for s in sections {
        tables.extend(t.get(s));
    }
    if let Some(targets) = t.get("target").and_then(toml::Value::as_table) {
        for (_, target) in targets {
            for s in sections {
                tables.extend(target.get(s));
            }
        }
    }
    tables.extend(t.get("workspace").and_then(|w| w.get("dependencies")));
    for table in tables {
        let Some(table) = table.as_table() else {
            return Err("a dependencies section is not a table".into());
        };
        for (key, spec) in table {
            // `foo = { package = "bar", … }`: the crate is bar
            let name = spec
                .get("package")
                .and_then(toml::Value::as_str)
                .unwrap_or(key);
            let spec = match spec {
                toml::Value::String(s) => s.clone(),
                toml::Value::Table(t) => {
                    let mut t = t.clone();
                    t.remove("package");
                    t.remove("features");
                    t.remove("default-features");
                    t.remove("default_features");
                    t.remove("optional");
                    // `version = "1"` alone is the registry's, said as its range
                    match (t.len(), t.get("version").and_then(toml::Value::as_str)) {
                        (1, Some(v)) => v.to_string(),
                        _ => table_spec(&t),
                    }
                }
                _ => return Err(format!("dependency {key} is neither a string nor a table").into()),
            };
            add(name, &spec);
        }
    }
    // every entry of [patch.*] and [replace] takes a crate from elsewhere
    if let Some(patches) = t.get("patch").and_then(toml::Value::as_table) {
        for (registry, entries) in patches {
            let Some(entries) = entries.as_table() else {
                return Err(format!("patch.{registry} is not a table").into());
            };
            for (key, spec) in entries {
                let name = spec
                    .get("package")
                    .and_then(toml::Value::as_str)
                    .unwrap_or(key);
                add(
                    name,
                    &format!("{REPLACED}[patch.{registry}] {}", value_spec(spec)),
                );
            }
        }
    }
    if let Some(replace) = t.get("replace").and_then(toml::Value::as_table) {
        for (key, spec) in replace {
            let name = key.split(':').next().unwrap_or(key);
            add(name, &format!("{REPLACED}[replace] {}", value_spec(spec)));
        }
    }
    Ok(())
}

fn value_spec(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => s.clone(),
        toml::Value::Table(t) => table_spec(t),
        other => other.to_string(),
    }
}

fn go_mod(text: &str, add: &mut dyn FnMut(&str, &str)) -> Result<(), Unreadable> {
    let mut block: Option<&str> = None;
    for line in text.lines() {
        let l = line.split("//").next().unwrap_or("").trim();
        if l.is_empty() {
            continue;
        }
        if block.is_some() {
            if l == ")" {
                block = None;
                continue;
            }
        } else {
            let (verb, rest) = l.split_once(char::is_whitespace).unwrap_or((l, ""));
            match (verb, rest.trim()) {
                ("require" | "replace", "(") => {
                    block = Some(if verb == "require" {
                        "require"
                    } else {
                        "replace"
                    });
                    continue;
                }
                // another block (go.work's `use`, `exclude`, `retract`,
                // `godebug`, `tool`): no dependency's source, passed over
                (_, "(") => {
                    block = Some("other");
                    continue;
                }
                ("require", r) => go_line("require", r, add)?,
                ("replace", r) => go_line("replace", r, add)?,
                _ => {}
            }
            continue;
        }
        match block.unwrap_or("require") {
            "other" => {}
            verb => go_line(verb, l, add)?,
        }
    }
    Ok(())
}

fn go_line(verb: &str, l: &str, add: &mut dyn FnMut(&str, &str)) -> Result<(), Unreadable> {
    let l = l.trim();
    match verb {
        "require" => {
            let mut f = l.split_whitespace();
            let (Some(module), Some(version)) = (f.next(), f.next()) else {
                return Err(format!(
                    "a require line without a version: {}",
                    crate::sanitize::one_line(l, 80)
                )
                .into());
            };
            add(unquote(module), unquote(version));
        }
        _ => {
            let Some((from, to)) = l.split_once("=>") else {
                return Err(format!(
                    "a replace line without =>: {}",
                    crate::sanitize::one_line(l, 80)
                )
                .into());
            };
            let module = from.split_whitespace().next().unwrap_or("");
            let to: Vec<&str> = to.split_whitespace().map(unquote).collect();
            add(unquote(module), &format!("{REPLACED}{}", to.join(" ")));
        }
    }
    Ok(())
}

fn unquote(s: &str) -> &str {
    s.trim_matches('"').trim_matches('`')
}

/// The one version a specifier names, as its own ecosystem reads it: npm
/// `1.3.1` or `=1.3.1`; PEP 440 `==1.3.1` or `===1.3.1`; Cargo `=1.3.1` (a
/// bare `1.3.1` is Cargo's `^1.3.1`); a go.mod version. None: a range, or
/// not the registry's.
pub fn exact(kind: Manifest, spec: &str) -> Option<String> {
    let spec = spec.trim();
    // SemVer's one version: three numbers, a pre-release and build after
    let semver = |v: &str| -> Option<String> {
        let core = v.split(['-', '+']).next().unwrap_or("");
        let parts: Vec<&str> = core.split('.').collect();
        let ok = parts.len() == 3
            && parts
                .iter()
                .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()))
            && v.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '+'));
        ok.then(|| v.to_string())
    };
    match kind {
        Manifest::PackageJson => semver(spec.strip_prefix('=').unwrap_or(spec)),
        Manifest::Pyproject => {
            let v = spec
                .strip_prefix("===")
                .or_else(|| spec.strip_prefix("=="))?
                .trim();
            // PEP 440's one version: no wildcard, no second clause
            let ok = v.chars().next().is_some_and(|c| c.is_ascii_digit())
                && v.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '+' | '!' | '_'));
            ok.then(|| v.to_string())
        }
        Manifest::CargoToml => semver(spec.strip_prefix('=')?.trim()),
        Manifest::GoMod => spec
            .strip_prefix('v')
            .and_then(semver)
            .map(|_| spec.to_string()),
    }
}

/// Why a specifier in manifest `path` takes its dependency from somewhere
/// other than the ecosystem's registry; None: the registry's (or a path
/// inside the repository).
pub(crate) fn foreign_source(kind: Manifest, path: &str, name: &str, spec: &str) -> Option<String> {
    let spec = spec.trim();
    if let Some(rest) = spec.strip_prefix(REPLACED) {
        return match kind {
            // go.mod: the same module at another version is the registry's;
            // a path inside the repository is the repository's own code
            Manifest::GoMod => {
                let target = rest.split_whitespace().next().unwrap_or("");
                if target.starts_with('.') || target.starts_with('/') {
                    outside(path, target)
                        .then(|| "a replace to a path outside the repository".to_string())
                } else if target != name {
                    Some("a replace to another module".into())
                } else {
                    None
                }
            }
            _ => Some(
                rest.split(']')
                    .next()
                    .map(|s| format!("a {s}] entry", s = s))
                    .unwrap_or_else(|| "a replacement".into()),
            ),
        };
    }
    match kind {
        Manifest::PackageJson => npm_source(path, spec),
        Manifest::Pyproject => {
            if spec.starts_with('@') {
                return Some("a PEP 508 direct reference (name @ URL)".into());
            }
            // a Poetry table
            table_source(path, spec)
        }
        Manifest::CargoToml => {
            if spec.contains("registry=") || spec.contains("registry-index=") {
                return Some("another registry".into());
            }
            table_source(path, spec)
        }
        Manifest::GoMod => None,
    }
}

/// An npm specifier's source: a range or a tag is the registry's.
fn npm_source(path: &str, spec: &str) -> Option<String> {
    let lower = spec.to_ascii_lowercase();
    if lower.starts_with("npm:") {
        return Some("an npm alias to another package (npm:…)".into());
    }
    for local in ["file:", "link:", "portal:"] {
        if let Some(p) = lower.strip_prefix(local) {
            return outside(path, p).then(|| "a path outside the repository".into());
        }
    }
    if lower.starts_with("workspace:") {
        return None;
    }
    for git in ["git+", "git:", "github:", "gitlab:", "bitbucket:", "gist:"] {
        if lower.starts_with(git) {
            return Some("a git URL".into());
        }
    }
    if lower.starts_with("http:") || lower.starts_with("https:") {
        return Some("a URL to an archive".into());
    }
    if spec.starts_with('.') || spec.starts_with('/') || spec.starts_with('~') {
        return outside(path, spec).then(|| "a path outside the repository".into());
    }
    // `owner/repo` or `owner/repo#ref`: GitHub's shorthand; no registry
    // range holds a `/` or a `:`
    if spec.contains('/') || spec.contains(':') {
        return Some("a git URL (owner/repo shorthand)".into());
    }
    None
}

/// A table specifier's source (`git=…`, `url=…`, `path=…`, uv's
/// `index=…`).
fn table_source(path: &str, spec: &str) -> Option<String> {
    for part in spec.split(", ") {
        let Some((k, v)) = part.split_once('=') else {
            continue;
        };
        match k.trim() {
            "git" => return Some("a git URL".into()),
            "url" => return Some("a URL to an archive".into()),
            "index" => return Some("another index".into()),
            "path" if outside(path, v.trim().trim_matches('"')) => {
                return Some("a path outside the repository".into());
            }
            _ => {}
        }
    }
    None
}

/// Whether `target`, relative to manifest `path`'s folder (or absolute),
/// leaves the repository.
fn outside(path: &str, target: &str) -> bool {
    if target.starts_with('/') || target.starts_with('~') {
        return true;
    }
    let mut depth: i64 = path.matches('/').count() as i64;
    for seg in target.split('/') {
        match seg {
            "" | "." => {}
            ".." => depth -= 1,
            _ => depth += 1,
        }
        if depth < 0 {
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests;
